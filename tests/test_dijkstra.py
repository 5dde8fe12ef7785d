"""The compiled bounded-search kernel: bit-identical to scipy's Dijkstra, threads, cache."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import dijkstra

from siteselect.criteria.market import gravity_reducer
from siteselect.network.dijkstra import (
    CACHE_ENV,
    SearchGraph,
    Sources,
    Targets,
    configure_cache,
    search_blocks,
)
from siteselect.network.graph import MIN_EDGE_SECONDS, fastest_matrix
from siteselect.network.traveltime import NetworkTravel
from tests.test_contract import street_graph

REPO = Path(__file__).resolve().parents[1]


def random_matrix(rng: np.random.Generator, n: int, n_edges: int) -> csr_matrix:
    """A directed graph with weights from MIN_EDGE_SECONDS to 120 s, ties and parallel edges."""
    u, v = rng.integers(0, n, n_edges), rng.integers(0, n, n_edges)
    seconds = rng.choice([MIN_EDGE_SECONDS, 1.0, 7.5, 30.0], n_edges)
    seconds = np.where(rng.random(n_edges) < 0.5, rng.uniform(0.1, 120, n_edges), seconds)
    return fastest_matrix(u, v, seconds, n)


def every_node(n: int, site_min: np.ndarray) -> Targets:
    """Each node its own target with one site, read at itself."""
    nodes = np.arange(n)
    return Targets.of(n, nodes, nodes, np.zeros(n), nodes, np.ones(n, np.int64), site_min)


def pairs_of(blocks) -> dict[tuple[int, int], float]:
    out: dict[tuple[int, int], float] = {}
    for origin, rank, minutes in blocks:
        keys = list(zip(origin.tolist(), rank.tolist(), strict=True))
        assert not out.keys() & set(keys) and len(set(keys)) == len(keys)  # each pair once
        out.update(zip(keys, minutes.tolist(), strict=True))
    return out


@settings(max_examples=60, deadline=None, derandomize=True)
@given(
    seed=st.integers(0, 2**32 - 1),
    n=st.integers(1, 40),
    density=st.floats(0.5, 4.0),
    n_origins=st.integers(1, 12),
    max_minutes=st.sampled_from([0.0, 0.05, 0.5, 2.0, 1e6]),
    block_pairs=st.sampled_from([1, 7, 2**21]),
)
def test_kernel_pairs_equal_scipy_bit_for_bit(
    seed: int, n: int, density: float, n_origins: int, max_minutes: float, block_pairs: int
) -> None:
    """Oracle: scipy's bounded Dijkstra, then (seconds / 60 + origin) + site minutes."""
    rng = np.random.default_rng(seed)
    matrix = random_matrix(rng, n, int(n * density) + 1)
    node = rng.integers(0, n, n_origins)  # repeats: several origins at one node
    origin_min = rng.choice([0.0, 0.01, 0.3], n_origins)
    site_min = rng.choice([0.0, 0.02, 0.2], n)
    got = pairs_of(
        search_blocks(
            SearchGraph.of(matrix),
            Sources.of(node, origin_min),
            every_node(n, site_min),
            max_minutes,
            block_pairs=block_pairs,
        )
    )
    seconds = dijkstra(matrix, directed=True, indices=node, limit=max_minutes * 60.0)
    want = {}
    for i in range(n_origins):
        minutes = seconds[i] / 60.0 + origin_min[i] + site_min
        for j in np.flatnonzero(minutes <= max_minutes):
            want[(i, int(j))] = float(minutes[j])
    assert got == want


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_contracted_pairs_equal_scipy_over_the_core_bit_for_bit(seed: int) -> None:
    """Sites on shape points, several per node: the kernel reads the chains as numpy did."""
    graph = street_graph(seed, 15, 50, 0.3)
    rng = np.random.default_rng(seed)
    travel = NetworkTravel(graph, connector_speed_kmh=20, max_snap_m=150, workers=1)
    origins = travel.locate(*rng.uniform(0, 1000, (9, 2)).T, direction="depart")
    sites_xy = rng.uniform(-50, 1050, (120, 2))
    sites_xy = np.concatenate([sites_xy, sites_xy[:30] + rng.normal(0, 3, (30, 2))])
    dests = travel.locate(*sites_xy.T, direction="arrive")
    contraction = travel.contraction(origins.node)
    assert (contraction.position[dests.node[~dests.far]] < 0).any()
    max_minutes = 2.0
    got = pairs_of(
        (b.origin, b.destination, b.minutes) for b in travel.iter_pairs(origins, dests, max_minutes)
    )
    seconds = dijkstra(
        contraction.graph.matrix,
        directed=True,
        indices=contraction.position[origins.node],
        limit=max_minutes * 60.0,
    )
    at = contraction.node_times(dests.node).read(seconds)  # the numpy read of earlier versions
    want = {}
    for i in range(len(origins)):
        minutes = np.where(at[i] <= max_minutes * 60.0, at[i], np.inf) / 60.0
        minutes = minutes + origins.connector_min[i] + dests.connector_min
        for c in np.flatnonzero((minutes <= max_minutes) & ~dests.far):
            want[(i, int(c))] = float(minutes[c])
    assert len(want) > 50
    assert got == want


def test_threads_are_deterministic_and_agree_with_one() -> None:
    graph = street_graph(5, 40, 150, 0.2)
    rng = np.random.default_rng(5)
    origins_xy, sites_xy = rng.uniform(0, 1000, (30, 2)), rng.uniform(0, 1000, (400, 2))
    weight = rng.uniform(0, 100, len(origins_xy))
    results = []
    for workers in (1, 2, 2, 3):
        travel = NetworkTravel(graph, 20, 150, workers=workers)
        origins = travel.locate(*origins_xy.T, direction="depart")
        dests = travel.locate(*sites_xy.T, direction="arrive")
        reducer = gravity_reducer(weight, lambda t: np.exp(-t), len(dests))
        results.append(travel.reduce(origins, dests, 3.0, reducer)[0])
    assert (results[0] > 0).sum() > 100
    assert np.array_equal(results[1], results[2])  # same threads: same sums, bit for bit
    np.testing.assert_allclose(results[1], results[0], rtol=1e-12)
    np.testing.assert_allclose(results[3], results[0], rtol=1e-12)


def test_one_contraction_per_graph_is_shared() -> None:
    graph = street_graph(7, 20, 60, 0.2)
    first = NetworkTravel(graph, 20, 150).contraction(np.array([0, 1]))
    again = NetworkTravel(graph, 30, 500).contraction(np.array([1]))
    assert again is first  # another travel model, a covered source: the same contraction
    grown = NetworkTravel(graph, 20, 150).contraction(np.array([5]))
    assert grown.covers(np.array([0, 1, 5]))  # rebuilt keeping the earlier sources
    assert NetworkTravel(graph, 20, 150).contraction(np.array([0])) is grown


def test_cache_falls_back_to_a_temporary_directory(tmp_path: Path, monkeypatch) -> None:
    """A read-only install with no usable home: numba's cache goes under the temp dir."""
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    monkeypatch.delenv(CACHE_ENV, raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocker / "cache"))  # cannot be created
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    chosen = configure_cache(blocker / "package")
    assert chosen is not None and chosen.startswith(str(tmp_path / "tmp"))
    assert os.environ[CACHE_ENV] == chosen
    monkeypatch.setenv(CACHE_ENV, "/somewhere/chosen")  # the user's choice stands
    assert configure_cache(blocker / "package") is None
    assert os.environ[CACHE_ENV] == "/somewhere/chosen"
    monkeypatch.delenv(CACHE_ENV)
    assert configure_cache(tmp_path / "writable") is None  # numba's own place works
    assert CACHE_ENV not in os.environ


def test_compiled_kernel_is_cached_in_numba_cache_dir(tmp_path: Path) -> None:
    """A fresh process compiles the kernel into NUMBA_CACHE_DIR (the read-only fallback)."""
    code = (
        "import numpy as np\n"
        "from scipy.sparse import csr_matrix\n"
        "from siteselect.network.dijkstra import SearchGraph, Sources, Targets, search_blocks\n"
        "m = csr_matrix((np.array([60.0]), ([0], [1])), shape=(2, 2))\n"
        "t = Targets.of(2, np.arange(2), np.arange(2), np.zeros(2), np.arange(2),"
        " np.ones(2, np.int64), np.zeros(2))\n"
        "blocks = list(search_blocks(SearchGraph.of(m), Sources.of(np.array([0]), np.zeros(1)),"
        " t, 5.0))\n"
        "print(blocks[0][2].tolist())\n"
    )
    env = {**os.environ, CACHE_ENV: str(tmp_path / "numba"), "PYTHONPATH": str(REPO)}
    result = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[0.0, 1.0]"
    cached = [p.name for p in (tmp_path / "numba").rglob("*.nbi")]
    assert any("dijkstra" in name for name in cached)


def test_a_failing_thread_stops_the_others_after_their_block() -> None:
    """An error (or Ctrl-C / SIGTERM in the main thread) does not wait for the whole pass."""
    graph = street_graph(9, 120, 400, 0.0)
    rng = np.random.default_rng(9)
    travel = NetworkTravel(graph, 20, 150, workers=2)
    origins = travel.locate(*rng.uniform(0, 1000, (400, 2)).T, direction="depart")
    dests = travel.locate(*rng.uniform(0, 1000, (100, 2)).T, direction="arrive")
    assert len(np.unique(origins.node)) > 4 * 32  # several blocks per thread
    raised = threading.Event()
    calls = {"first": 0}

    def reducer(block):
        if len(block.minutes) and threading.current_thread().name.endswith("_1"):
            raised.set()
            raise ValueError("broken reducer")
        if len(block.minutes):
            calls["first"] += 1
            raised.wait(10)
            time.sleep(0.2)  # the main thread sees the error and raises the stop flag
        return (np.zeros(len(dests)),)

    with pytest.raises(ValueError, match="broken reducer"):
        travel.reduce(origins, dests, 1e6, reducer)
    assert calls["first"] <= 1  # without the stop flag: its every block (4 or more)


def test_the_kernel_runs_without_the_gil() -> None:
    """Python code in another thread runs while one long kernel call searches.

    Holding the GIL through a native call, as scipy's Dijkstra does, lets no
    other Python thread run until it returns.
    """
    side = 300
    rng = np.random.default_rng(11)
    index = np.arange(side * side).reshape(side, side)
    u = np.concatenate([index[:, :-1].ravel(), index[:-1, :].ravel()])
    v = np.concatenate([index[:, 1:].ravel(), index[1:, :].ravel()])
    seconds = rng.uniform(5, 30, len(u))
    matrix = fastest_matrix(np.r_[u, v], np.r_[v, u], np.r_[seconds, seconds], side * side)
    sources = Sources.of(rng.integers(0, side * side, 40), np.zeros(40))
    n = side * side
    targets = Targets.of(n, np.arange(n), np.arange(n), np.zeros(n), np.zeros(n), np.zeros(n), [])
    graph = SearchGraph.of(matrix)
    list(search_blocks(graph, sources, targets, 1.0))  # compiled or loaded before timing
    stamps: list[float] = []
    stop = threading.Event()

    def spin() -> None:
        while not stop.is_set():
            stamps.append(time.perf_counter())

    spinner = threading.Thread(target=spin)
    spinner.start()
    start = time.perf_counter()
    blocks = search_blocks(graph, sources, targets, 1e6, block_pairs=1, max_searches=2**40)
    assert list(blocks) == []  # one kernel call: every search, no site to write pairs for
    end = time.perf_counter()
    stop.set()
    spinner.join()
    margin = (end - start) * 0.2
    during = [t for t in stamps if start + margin < t < end - margin]
    assert end - start > 0.05
    assert len(during) > 100
