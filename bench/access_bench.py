"""Huff market share and gravity accessibility: 1M candidates x 736 tracts x 40 hospitals.

One command, inputs generated in this script from a fixed seed::

    .venv/bin/python -m bench.access_bench [--size 500] [--spacing 200] [--shape-points 1.5]
        [--max-minutes 30] [--candidates 1000000] [--engines] [--separate] [--uncontracted]

The road network is a synthetic county: a ``size`` x ``size`` street grid at
``spacing`` m (default 500 x 500 at 200 m = 250,000 intersections over
100 km x 100 km, the extent of San Diego County) with local streets at
30-50 km/h, every 5th street an arterial at 55 km/h and every 50th an
expressway at 90 km/h (10 km apart at the default spacing). Like OSM, each
block also carries shape points (degree-2 nodes where a real street bends):
0-3 per block, 1.5 on average by default, so ~75% of the ~1,000,000 nodes are
shape points -- the share measured on the real Mountain View OSM extract of
``../shared/data`` (10,250 drivable nodes, 2,358 left after contracting the
degree-2 chains: 77% shape points). ``--shape-points 0`` gives the bare
250,000-node grid; ``--size 1000 --spacing 100 --shape-points 0`` the
1M-intersection grid of ``bench/network_bench`` (every node a junction, no
shape point: 4x the junction density of the default, a worst case).
736 tract points and 40 hospitals (one in ten the owner's) cluster around
three towns, the candidate points are uniform.

Timed side by side in the same run:

1. **ours**: Huff expected patients + cannibalisation (``competition``) and
   gravity accessibility (``members``) for every candidate over the network,
   the way ``siteselect run`` does them: snap, one contraction of the degree-2
   chains (exact), the tract x hospital matrix and Huff denominators, then ONE
   shared pass of 736 bounded searches (:mod:`siteselect.network.demand_searches`) by
   the compiled kernel (:mod:`siteselect.network.dijkstra`) on one thread per
   CPU, both criteria's reducers applied to each block of pairs;
2. with ``--separate``: the same two criteria each with its own pass (as
   before the searches were shared), results checked equal;
3. with ``--engines``: the searches alone (searches + times read at the
   candidates' nodes), scipy's ``csgraph.dijkstra`` (batched, ``limit=``;
   it holds the GIL) vs the compiled kernel on 1 thread and on every CPU,
   results checked identical; igraph and networkit (when installed: they
   have no search bound, so they search the whole core) on a sample of
   sources, extrapolated;
4. with ``--uncontracted``: ours with the searches over the full graph
   (``contract_chains=False``), results checked equal;
5. **straightforward per-candidate** implementation: for each candidate one
   bounded Dijkstra from it (reversed graph) to the tracts, then Python loops
   over tracts and hospitals for the Huff shares; timed on a sample and
   extrapolated; its results are checked against ours on the sample.

The kernel's compile-or-load time (first call in this process) is printed.
The machine is shared: wall times are noisy; CPU times are printed too.
"""

from __future__ import annotations

import argparse
import os
import resource
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pandas as pd
import pyproj
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import dijkstra

from siteselect.criteria.market import gravity_reducer, huff_denominators, huff_reducer
from siteselect.network.demand_searches import DemandSearches
from siteselect.network.dijkstra import SearchGraph, Sources, Targets, search_blocks
from siteselect.network.graph import RoadGraph, fastest_matrix, main_component
from siteselect.network.traveltime import NetworkTravel, available_cpus

SEED = 20240606
CRS = pyproj.CRS("EPSG:32611")
N_CANDIDATES, N_TRACTS, N_HOSPITALS = 1_000_000, 736, 40
CONNECTOR_KMH, MAX_SNAP_M = 20.0, 1000.0
ALPHA, BETA, MIN_MINUTES, CANDIDATE_BEDS = 1.0, 2.0, 1.0, 400.0


def grid_graph(
    size: int, spacing_m: float, rng: np.random.Generator, shape_points: float = 0.0
) -> RoadGraph:
    """A size x size street grid with three road classes, as a RoadGraph.

    ``shape_points``: mean number of shape points (degree-2 nodes, as OSM
    draws a street's curves) on each block, 0 to 2 x the mean, evenly spaced.
    """
    index = np.arange(size * size).reshape(size, size)  # [row j, column i]
    street_kmh = rng.uniform(30, 50, size)
    street_kmh[::5] = 55.0
    street_kmh[::50] = 90.0
    east_u, east_v = index[:, :-1].ravel(), index[:, 1:].ravel()  # along rows
    north_u, north_v = index[:-1, :].ravel(), index[1:, :].ravel()  # along columns
    a = np.concatenate([east_u, north_u])
    b = np.concatenate([east_v, north_v])
    block_kmh = np.concatenate([np.repeat(street_kmh, size - 1), np.tile(street_kmh, size - 1)])
    x = ((index % size).ravel() * spacing_m).astype("float64")
    y = ((index // size).ravel() * spacing_m).astype("float64")
    n_blocks = len(a)
    points = (
        rng.integers(0, round(2 * shape_points) + 1, n_blocks)
        if shape_points > 0
        else np.zeros(n_blocks, dtype=np.int64)
    )
    # each block a -> p1 .. pk -> b, laid out as one sequence per block
    length = points + 2
    start = np.concatenate([[0], np.cumsum(length)[:-1]])
    block = np.repeat(np.arange(n_blocks), length)
    step = np.arange(len(block)) - start[block]  # 0 .. k+1 along the block
    sequence = np.empty(len(block), dtype=np.int64)
    inner = (step > 0) & (step < length[block] - 1)
    n = size * size
    sequence[inner] = n + np.arange(int(inner.sum()))
    sequence[step == 0] = a
    sequence[step == length[block] - 1] = b
    fraction = step[inner] / (length[block[inner]] - 1)
    x = np.concatenate([x, x[a[block[inner]]] + fraction * (x[b] - x[a])[block[inner]]])
    y = np.concatenate([y, y[a[block[inner]]] + fraction * (y[b] - y[a])[block[inner]]])
    n = len(x)
    link = step[:-1] < length[block[:-1]] - 1  # consecutive nodes of one block
    u0, v0 = sequence[:-1][link], sequence[1:][link]
    seconds0 = spacing_m / (length[block[:-1][link]] - 1) / (block_kmh[block[:-1][link]] / 3.6)
    u = np.concatenate([u0, v0])
    v = np.concatenate([v0, u0])
    seconds = np.concatenate([seconds0, seconds0])
    matrix = fastest_matrix(u, v, seconds, n)
    edges = pd.DataFrame({"u": u, "v": v, "travel_s": seconds})
    return RoadGraph(
        node_ids=np.arange(n, dtype=np.int64),
        lon=np.zeros(n),
        lat=np.zeros(n),
        x=x,
        y=y,
        edges=edges,
        matrix=matrix,
        in_main=main_component(matrix),
        crs=CRS,
    )


def clustered(rng: np.random.Generator, n: int, extent_m: float) -> np.ndarray:
    """Points around three towns (80%) and scattered (20%)."""
    towns = np.array([[0.3, 0.3], [0.6, 0.55], [0.35, 0.75]]) * extent_m
    which = rng.integers(0, 3, n)
    points = towns[which] + rng.normal(0, extent_m * 0.06, (n, 2))
    scattered = rng.random(n) < 0.2
    points[scattered] = rng.uniform(0, extent_m, (int(scattered.sum()), 2))
    return np.clip(points, 0, extent_m)


def gaussian_15(minutes: np.ndarray) -> np.ndarray:
    """Gaussian decay with a 15-minute half-life."""
    return np.exp(-np.log(2) * (minutes / 15.0) ** 2)


class Scenario:
    """The generated inputs."""

    def __init__(self, args: argparse.Namespace) -> None:
        rng = np.random.default_rng(SEED)
        self.graph = grid_graph(args.size, args.spacing, rng, args.shape_points)
        self.extent = (args.size - 1) * args.spacing
        self.tracts = clustered(rng, N_TRACTS, self.extent)
        self.population = rng.uniform(500, 4000, N_TRACTS)
        self.hospitals = clustered(rng, N_HOSPITALS, self.extent)
        self.beds = rng.uniform(50, 650, N_HOSPITALS).round()
        self.owner = np.arange(N_HOSPITALS) % 10 == 0
        self.candidates = rng.uniform(0, self.extent, (args.candidates, 2))
        self.max_minutes = args.max_minutes
        self.rng = rng


def ours(case: Scenario, contract: bool = True, shared: bool = True):
    """Huff + gravity for every candidate as the pipeline does; results and step times."""
    case.graph.contractions.clear()  # a fresh run builds its contraction
    times: dict[str, float] = {}
    start = time.perf_counter()
    travel = NetworkTravel(case.graph, CONNECTOR_KMH, MAX_SNAP_M, contract_chains=contract)
    origins = travel.locate(*case.tracts.T, direction="depart")
    sites = travel.locate(*case.candidates.T, direction="arrive")
    located = travel.locate(*case.hospitals.T, direction="arrive")
    times["snap"] = time.perf_counter() - start
    mark = time.perf_counter()
    minutes = travel.matrix(origins, located, case.max_minutes)
    denominator, owner_part = huff_denominators(
        minutes, case.beds, case.owner, ALPHA, BETA, MIN_MINUTES
    )
    times["contraction + tract x hospital matrix"] = time.perf_counter() - mark
    n = len(case.candidates)
    huff = huff_reducer(
        case.population, denominator, owner_part, CANDIDATE_BEDS**ALPHA, BETA, MIN_MINUTES, n
    )
    access = gravity_reducer(case.population, gaussian_15, n)
    mark = time.perf_counter()
    if shared:
        searches = DemandSearches()
        competition = searches.request(travel, origins, sites, case.max_minutes, huff, "huff")
        members = searches.request(travel, origins, sites, case.max_minutes, access, "gravity")
        searches.run()
        capture, cannibalised = competition.values()
        (reached,) = members.values()
        times[f"{N_TRACTS} bounded searches, shared pass"] = time.perf_counter() - mark
    else:
        capture, cannibalised = travel.reduce(origins, sites, case.max_minutes, huff)
        (reached,) = travel.reduce(origins, sites, case.max_minutes, access)
        times[f"{N_TRACTS} bounded searches x 2, separate passes"] = time.perf_counter() - mark
    times["total"] = time.perf_counter() - start
    return (capture, cannibalised, reached), times, (travel, origins, sites, minutes)


def kernel_first_call_s() -> float:
    """Seconds of the kernel's first call here: compiling it, or loading it from numba's cache."""
    start = time.perf_counter()
    graph = SearchGraph.of(csr_matrix((np.ones(1), ([0], [1])), shape=(2, 2)))
    one = np.ones(1, np.int64)
    targets = Targets.of(2, one, np.zeros(1), np.zeros(1), np.zeros(1), one, np.zeros(1))
    list(search_blocks(graph, Sources.of(np.zeros(1), np.zeros(1)), targets, 1.0))
    return time.perf_counter() - start


def node_targets(contraction, nodes: np.ndarray) -> Targets:
    """Each node a target with one site and no connector (the searches alone)."""
    core, target, seconds = contraction.entries(nodes)
    n = len(nodes)
    return Targets.of(
        contraction.graph.n_nodes, core, target, seconds, np.arange(n), np.ones(n), np.zeros(n)
    )


def engines(case: Scenario, travel: NetworkTravel, origins, sites) -> None:
    """The searches alone, read at the candidates' nodes: scipy vs the kernel (vs others)."""
    contraction = travel.contraction(origins.node)
    nodes = np.unique(sites.node[~sites.far])
    distinct = np.unique(contraction.position[origins.node])
    sources = Sources.of(distinct, np.zeros(len(distinct)))  # one origin per search
    limit_s = case.max_minutes * 60.0
    print(f"\nsearch engines ({len(sources)} searches read at {len(nodes):,} candidate nodes):")
    cpu, mark = time.process_time(), time.perf_counter()
    reader = contraction.node_times(nodes)
    batch = max(1, 2**21 // contraction.graph.n_nodes)
    scipy_pairs, scipy_sum = 0, 0.0
    for start in range(0, len(sources), batch):
        seconds = dijkstra(
            contraction.graph.matrix, indices=sources.nodes[start : start + batch], limit=limit_s
        )
        at = reader.read(seconds)
        within = at[at <= limit_s]
        scipy_pairs, scipy_sum = scipy_pairs + within.size, scipy_sum + within.sum()
    rows = [
        (
            "scipy csgraph.dijkstra (holds the GIL)",
            time.perf_counter() - mark,
            time.process_time() - cpu,
        )
    ]
    graph, targets = SearchGraph.of(contraction.graph.matrix), node_targets(contraction, nodes)
    for threads in sorted({1, travel.workers}):
        cpu, mark = time.process_time(), time.perf_counter()
        orders = [np.arange(k, len(sources), threads) for k in range(threads)]

        def lane(order: np.ndarray) -> tuple[int, float]:
            blocks = list(search_blocks(graph, sources, targets, case.max_minutes, order))
            return sum(len(b[2]) for b in blocks), sum(float((b[2] * 60).sum()) for b in blocks)

        with ThreadPoolExecutor(threads) as pool:
            parts = list(pool.map(lane, orders))
        wall, cpu_s = time.perf_counter() - mark, time.process_time() - cpu
        rows.append((f"numba kernel, {threads} thread(s)", wall, cpu_s))
        assert sum(p[0] for p in parts) == scipy_pairs, "kernel and scipy differ"
        assert np.isclose(sum(p[1] for p in parts), scipy_sum, rtol=1e-9)
    rows += other_libraries(contraction, sources, len(sources))
    for name, wall, cpu_s in rows:
        cpu_text = "" if cpu_s is None else f", CPU {cpu_s:6.2f} s"
        print(f"  {name:<52} {wall:7.2f} s wall{cpu_text}")
    print(f"  same {scipy_pairs:,} (tract, candidate node) times within the cut-off from each")


def other_libraries(contraction, sources: Sources, n_searches: int) -> list:
    """igraph and networkit, when installed: whole-core searches (no bound), extrapolated."""
    rows: list = []
    sample = sources.nodes[: min(20, len(sources))].tolist()
    coo = contraction.graph.matrix.tocoo()
    try:
        import igraph
    except ImportError:
        rows.append(("igraph: not installed", float("nan"), None))
    else:
        g = igraph.Graph(
            n=contraction.graph.n_nodes, edges=np.column_stack([coo.row, coo.col]), directed=True
        )
        mark = time.perf_counter()
        g.distances(source=sample, weights=coo.data, mode="out")
        wall = (time.perf_counter() - mark) / len(sample) * n_searches
        rows.append(("igraph distances (no bound), extrapolated", wall, None))
    try:
        import networkit
    except ImportError:
        rows.append(("networkit: not installed", float("nan"), None))
    else:
        g = networkit.Graph(contraction.graph.n_nodes, weighted=True, directed=True)
        g.addEdges((coo.data, (coo.row, coo.col)))
        mark = time.perf_counter()
        networkit.distance.SPSP(g, sample).run()  # OpenMP threads
        wall = (time.perf_counter() - mark) / len(sample) * n_searches
        rows.append(("networkit SPSP (no bound, threads), extrapolated", wall, None))
    return rows


def naive_one(graph, travel, origins, sites, c, minutes, population, beds, owner, max_minutes):
    """Straightforward Huff of one candidate: one search from it, Python loops."""
    seconds = dijkstra(graph.reverse, indices=int(sites.node[c]), limit=max_minutes * 60)
    capture = cannibalised = 0.0
    for i in range(len(population)):
        t = seconds[origins.node[i]] / 60 + origins.connector_min[i] + sites.connector_min[c]
        if not t <= max_minutes:
            continue
        mine = CANDIDATE_BEDS**ALPHA / max(t, MIN_MINUTES) ** BETA
        total = owned = 0.0
        for j in range(len(beds)):
            if np.isfinite(minutes[i, j]):
                a = beds[j] ** ALPHA / max(minutes[i, j], MIN_MINUTES) ** BETA
                total += a
                owned += a if owner[j] else 0.0
        capture += population[i] * mine / (mine + total)
        if total > 0:
            cannibalised += population[i] * (owned / total - owned / (total + mine))
    return capture, cannibalised


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=500, help="grid nodes per side")
    parser.add_argument("--spacing", type=float, default=200.0, help="grid spacing (m)")
    parser.add_argument(
        "--shape-points", type=float, default=1.5, help="mean shape points per block"
    )
    parser.add_argument("--max-minutes", type=float, default=30.0, help="travel cut-off")
    parser.add_argument("--candidates", type=int, default=N_CANDIDATES)
    parser.add_argument("--separate", action="store_true", help="also time one pass each")
    parser.add_argument("--engines", action="store_true", help="compare search engines")
    parser.add_argument(
        "--uncontracted", action="store_true", help="also time searches over the full graph"
    )
    parser.add_argument("--naive-sample", type=int, default=20)
    args = parser.parse_args()
    start = time.perf_counter()
    case = Scenario(args)
    graph = case.graph
    print(
        f"inputs: grid {args.size} x {args.size} at {args.spacing:g} m, "
        f"{args.shape_points:g} shape points per block = {graph.n_nodes:,} nodes, "
        f"{graph.matrix.nnz:,} edges ({case.extent / 1000:.0f} km square), {args.candidates:,} "
        f"candidates x {N_TRACTS} tracts x {N_HOSPITALS} hospitals, cut-off "
        f"{args.max_minutes:g} min (generated in {time.perf_counter() - start:.1f} s); "
        f"load average {os.getloadavg()[0]:.1f} on {available_cpus()} CPUs"
    )
    print(f"kernel compile or cache load (first call): {kernel_first_call_s():.2f} s")
    cpu_before = time.process_time()
    results, times, (travel, origins, sites, minutes) = ours(case)
    cpu_s = time.process_time() - cpu_before
    capture, cannibalised, _ = results
    print(f"\nours ({travel.workers} search threads):")
    for step, seconds in times.items():
        print(f"  {step:<45} {seconds:7.2f} s")
    print(f"  {'CPU time (all threads)':<45} {cpu_s:7.2f} s")
    core = travel.contraction(origins.node).graph.n_nodes
    print(f"  searched core: {core:,} of {graph.n_nodes:,} nodes ({core / graph.n_nodes:.0%})")
    for flag, label, kwargs in (
        (args.separate, "separate passes (before sharing)", {"shared": False}),
        (args.uncontracted, "searches over the full graph", {"contract": False}),
    ):
        if flag:
            other, other_times, _ = ours(case, **kwargs)
            for a, b in zip(results, other, strict=True):
                assert np.allclose(a, b, rtol=1e-9, atol=1e-9), f"{label}: results differ"
            print(
                f"\n{label} (same results): {other_times['total']:.2f} s, "
                f"{other_times['total'] / times['total']:.2f}x ours"
            )
    if args.engines:
        engines(case, travel, origins, sites)
    sample = case.rng.choice(args.candidates, size=args.naive_sample, replace=False)
    mark = time.perf_counter()
    naive = [
        naive_one(
            graph,
            travel,
            origins,
            sites,
            c,
            minutes,
            case.population,
            case.beds,
            case.owner,
            args.max_minutes,
        )
        for c in sample
    ]
    naive_s = time.perf_counter() - mark
    per_candidate = naive_s / len(sample)
    extrapolated = per_candidate * args.candidates
    got = np.column_stack([capture[sample], cannibalised[sample]])
    assert np.allclose(got, np.array(naive), rtol=1e-6, atol=1e-6), "naive and ours differ"
    print(
        f"\nstraightforward per-candidate Huff: {per_candidate * 1000:.1f} ms per candidate "
        f"({len(sample)} sampled, same results), x {args.candidates:,} = "
        f"{extrapolated:,.0f} s ({extrapolated / 3600:.1f} h) extrapolated"
    )
    print(f"ratio: ours is {extrapolated / times['total']:,.0f}x faster")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS {peak:,.0f} MB")


if __name__ == "__main__":
    main()
