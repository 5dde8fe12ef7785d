"""Huff market share and gravity accessibility: 1M candidates x 736 tracts x 40 hospitals.

One command, inputs generated in this script from a fixed seed::

    .venv/bin/python -m bench.access_bench [--size 500] [--spacing 200] [--shape-points 1.5]
        [--max-minutes 30] [--uncontracted]

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
three towns, 1,000,000 candidate points are uniform.

Timed side by side in the same run:

1. **ours**: Huff expected patients + cannibalisation, and gravity
   accessibility, for every candidate over the network
   (:class:`siteselect.traveltime.NetworkTravel`: snap, contract the degree-2
   chains (exact), 736 bounded Dijkstra searches from the tracts over the
   core read at the candidates' nodes, the tract denominators once,
   reductions with ``np.bincount``; the tracts are split over one forked
   process per CPU, since scipy's Dijkstra holds the GIL);
2. with ``--uncontracted``: the same with the searches over the full graph
   (``contract_chains=False``), results checked equal;
3. **straightforward per-candidate** implementation: for each candidate one
   bounded Dijkstra from it (reversed graph) to the tracts, then Python loops
   over tracts and hospitals for the Huff shares; timed on a sample and
   extrapolated to 1M; its results are checked against ours on the sample.

Target: ours < 20 s on 2 cores. The machine is shared: wall times are noisy.
"""

from __future__ import annotations

import argparse
import os
import resource
import time

import numpy as np
import pandas as pd
import pyproj
from scipy.sparse.csgraph import dijkstra

from siteselect.market import gravity_reducer, huff_denominators, huff_reducer
from siteselect.network.graph import RoadGraph, fastest_matrix, main_component
from siteselect.traveltime import NetworkTravel, PairBlock

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


def ours(graph, tracts, population, hospitals, beds, owner, candidates, max_minutes, contract=True):
    """Huff + gravity for every candidate; returns results and step times."""
    times: dict[str, float] = {}
    start = time.perf_counter()
    travel = NetworkTravel(graph, CONNECTOR_KMH, MAX_SNAP_M, contract_chains=contract)
    origins = travel.locate(*tracts.T, direction="depart")
    sites = travel.locate(*candidates.T, direction="arrive")
    located = travel.locate(*hospitals.T, direction="arrive")
    times["snap"] = time.perf_counter() - start
    mark = time.perf_counter()
    minutes = travel.matrix(origins, located, max_minutes)
    denominator, owner_part = huff_denominators(minutes, beds, owner, ALPHA, BETA, MIN_MINUTES)
    times["tract x hospital matrix + denominators"] = time.perf_counter() - mark
    huff = huff_reducer(
        population,
        denominator,
        owner_part,
        CANDIDATE_BEDS**ALPHA,
        BETA,
        MIN_MINUTES,
        len(candidates),
    )
    access = gravity_reducer(population, gaussian_15, len(candidates))

    def both(block: PairBlock) -> tuple[np.ndarray, ...]:
        pairs = np.bincount(block.destination, minlength=len(candidates)).astype(float)
        return (*huff(block), *access(block), pairs)

    mark = time.perf_counter()
    capture, cannibalised, reached, n_pairs = travel.reduce(origins, sites, max_minutes, both)
    times[f"{len(tracts)} bounded searches + reductions"] = time.perf_counter() - mark
    times["total"] = time.perf_counter() - start
    return (capture, cannibalised, reached), times, (travel, origins, sites, minutes, n_pairs.sum())


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
    parser.add_argument(
        "--uncontracted", action="store_true", help="also time searches over the full graph"
    )
    parser.add_argument("--max-minutes", type=float, default=30.0, help="travel cut-off")
    parser.add_argument("--candidates", type=int, default=N_CANDIDATES)
    parser.add_argument("--naive-sample", type=int, default=20)
    args = parser.parse_args()
    rng = np.random.default_rng(SEED)
    start = time.perf_counter()
    graph = grid_graph(args.size, args.spacing, rng, args.shape_points)
    extent = (args.size - 1) * args.spacing
    tracts = clustered(rng, N_TRACTS, extent)
    population = rng.uniform(500, 4000, N_TRACTS)
    hospitals = clustered(rng, N_HOSPITALS, extent)
    beds = rng.uniform(50, 650, N_HOSPITALS).round()
    owner = np.arange(N_HOSPITALS) % 10 == 0
    candidates = rng.uniform(0, extent, (args.candidates, 2))
    print(
        f"inputs: grid {args.size} x {args.size} at {args.spacing:g} m, "
        f"{args.shape_points:g} shape points per block = {graph.n_nodes:,} nodes, "
        f"{graph.matrix.nnz:,} edges ({extent / 1000:.0f} km square), {args.candidates:,} "
        f"candidates x {N_TRACTS} tracts x {N_HOSPITALS} hospitals, cut-off "
        f"{args.max_minutes:g} min (generated in {time.perf_counter() - start:.1f} s)"
    )
    cpu_before = os.times()
    results, times, state = ours(
        graph, tracts, population, hospitals, beds, owner, candidates, args.max_minutes
    )
    travel, origins, sites, minutes, n_pairs = state
    capture, cannibalised, _ = results
    print(
        f"\nours ({n_pairs:,.0f} tract-candidate pairs within the cut-off, "
        f"{travel.workers} worker processes):"
    )
    for step, seconds in times.items():
        print(f"  {step:<40} {seconds:7.2f} s")
    cpu_after = os.times()
    cpu_s = sum(
        getattr(cpu_after, f) - getattr(cpu_before, f)
        for f in ("user", "system", "children_user", "children_system")
    )
    print(f"  {'CPU time, this process + workers':<40} {cpu_s:7.2f} s")
    print(f"  target < 20 s wall on 2 cores: {'met' if times['total'] < 20 else 'NOT met'}")
    core = travel.contraction(origins.node).graph.n_nodes
    print(f"  searched core: {core:,} of {graph.n_nodes:,} nodes ({core / graph.n_nodes:.0%})")
    if args.uncontracted:
        full, full_times, _ = ours(
            graph,
            tracts,
            population,
            hospitals,
            beds,
            owner,
            candidates,
            args.max_minutes,
            contract=False,
        )
        for a, b in zip(results, full, strict=True):
            assert np.allclose(a, b, rtol=1e-9, atol=1e-9), "contracted and full differ"
        full_search_s = full_times[f"{N_TRACTS} bounded searches + reductions"]
        print(
            f"\nsame over the full graph (no contraction, same results): "
            f"{full_times['total']:.2f} s ({full_search_s:.2f} s searches + reductions); "
            f"contraction speed-up {full_times['total'] / times['total']:.2f}x"
        )
    sample = rng.choice(args.candidates, size=args.naive_sample, replace=False)
    mark = time.perf_counter()
    naive = [
        naive_one(
            graph, travel, origins, sites, c, minutes, population, beds, owner, args.max_minutes
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
