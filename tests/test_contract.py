"""Degree-2 chain contraction: times over the core equal times over the full graph."""

from __future__ import annotations

import itertools

import networkx as nx
import numpy as np
import pandas as pd
import pyproj
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.sparse.csgraph import dijkstra

from siteselect.network.contract import contract
from siteselect.network.graph import RoadGraph, fastest_matrix, main_component


def street_graph(seed: int, n_junctions: int, n_streets: int, one_way_share: float) -> RoadGraph:
    """Junctions joined by streets of 0-4 shape points, some one-way, some rings."""
    rng = np.random.default_rng(seed)
    u: list[int] = []
    v: list[int] = []
    seconds: list[float] = []
    n = n_junctions

    def link(a: int, b: int, one_way: bool) -> None:
        s = float(rng.uniform(1, 60))
        u.append(a), v.append(b), seconds.append(s)
        if not one_way:
            u.append(b), v.append(a), seconds.append(s * rng.choice([1.0, rng.uniform(0.5, 2)]))

    for _ in range(n_streets):
        a, b = (int(x) for x in rng.integers(0, n_junctions, 2))  # a == b gives a ring
        one_way = bool(rng.random() < one_way_share)
        points = list(range(n, n + int(rng.integers(0, 5))))
        n += len(points)
        chain = [a, *points, b]
        for x, y in itertools.pairwise(chain):
            link(x, y, one_way)
    if rng.random() < 0.5:  # an isolated ring of shape points
        ring = list(range(n, n + 4))
        n += 4
        for x, y in zip(ring, ring[1:] + ring[:1], strict=True):
            link(x, y, False)
    uu, vv, ss = np.array(u, np.int64), np.array(v, np.int64), np.array(seconds)
    matrix = fastest_matrix(uu, vv, ss, n)
    return RoadGraph(
        node_ids=np.arange(n),
        lon=np.zeros(n),
        lat=np.zeros(n),
        x=rng.uniform(0, 1000, n),
        y=rng.uniform(0, 1000, n),
        edges=pd.DataFrame({"u": uu, "v": vv, "travel_s": ss}),
        matrix=matrix,
        in_main=main_component(matrix),
        crs=pyproj.CRS("EPSG:32611"),
    )


def networkx_seconds(graph: RoadGraph, source: int) -> np.ndarray:
    """Naive oracle: networkx Dijkstra over the full graph."""
    g = nx.DiGraph()
    g.add_nodes_from(range(graph.n_nodes))
    coo = graph.matrix.tocoo()
    g.add_weighted_edges_from(
        zip(coo.row.tolist(), coo.col.tolist(), coo.data.tolist(), strict=True)
    )
    out = np.full(graph.n_nodes, np.inf)
    for node, seconds in nx.single_source_dijkstra_path_length(g, source).items():
        out[node] = seconds
    return out


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    n_junctions=st.integers(2, 12),
    n_streets=st.integers(1, 25),
    one_way_share=st.sampled_from([0.0, 0.3, 1.0]),
    n_protected=st.integers(0, 5),
)
def test_contracted_times_equal_networkx(
    seed: int, n_junctions: int, n_streets: int, one_way_share: float, n_protected: int
) -> None:
    graph = street_graph(seed, n_junctions, n_streets, one_way_share)
    rng = np.random.default_rng(seed + 1)
    protected = rng.integers(0, graph.n_nodes, n_protected)
    contraction = contract(graph, protected, min_share=0.0)
    assert contraction.covers(protected)
    assert (contraction.position[contraction.core] == np.arange(len(contraction.core))).all()
    nodes = np.arange(graph.n_nodes)
    sources = contraction.core[: min(6, len(contraction.core))]
    seconds = dijkstra(
        contraction.graph.matrix, directed=True, indices=contraction.position[sources]
    )
    got = contraction.seconds_at(seconds, nodes)
    for row, source in enumerate(sources):
        want = networkx_seconds(graph, int(source))
        assert np.isinf(got[row]).tolist() == np.isinf(want).tolist()
        finite = np.isfinite(want)
        assert got[row][finite] == pytest.approx(want[finite], rel=1e-12)


def test_chains_shrink_the_core_and_limit_is_respected() -> None:
    graph = street_graph(3, 30, 80, 0.2)
    contraction = contract(graph)
    assert len(contraction.core) < graph.n_nodes * 0.6
    source = int(contraction.core[0])
    limit = 90.0
    seconds = dijkstra(
        contraction.graph.matrix, indices=contraction.position[[source]], limit=limit
    )
    got = contraction.seconds_at(seconds, np.arange(graph.n_nodes))[0]
    want = dijkstra(graph.matrix, indices=source)
    within = want <= limit
    assert got[within] == pytest.approx(want[within], rel=1e-12)
    assert (got[~within] > limit).all()
