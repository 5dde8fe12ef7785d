"""Road network: OSM reading, drivable filter, speeds, ramps, and the routing engine."""

from __future__ import annotations

import math
from pathlib import Path

import networkx as nx
import numpy as np
import pyproj
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from siteselect._errors import NetworkError
from siteselect.network import build_road_graph, freeway_entrances, freeway_exits, read_graph_file
from siteselect.network.speeds import parse_maxspeed
from tests._world import UTM, build_network, grid_node

CRS = pyproj.CRS(UTM)


@pytest.fixture(scope="module")
def world_graph(tmp_path_factory: pytest.TempPathFactory):
    path = build_network().write(tmp_path_factory.mktemp("net") / "roads.osm")
    return build_road_graph(read_graph_file(path), CRS)


@pytest.mark.parametrize(
    ("raw", "kmh"),
    [
        ("65 mph", 65 * 1.609344),
        ("50", 50.0),
        ("50 km/h", 50.0),
        ("40;50", 40.0),
        (["30 mph", "25 mph"], 25 * 1.609344),
        ("20 knots", 20 * 1.852),
        ("signals", math.nan),
        ("none", math.nan),
        ("walk", math.nan),
        (None, math.nan),
        ("0", math.nan),
    ],
)
def test_parse_maxspeed(raw: object, kmh: float) -> None:
    got = parse_maxspeed(raw)
    assert (math.isnan(got) and math.isnan(kmh)) or got == pytest.approx(kmh)


def test_footway_is_filtered_out(world_graph) -> None:
    assert "footway" not in set(world_graph.edges["highway"])
    assert grid_node(0, 0) + 500 not in set(world_graph.node_ids)


def test_entrances_and_exits_respect_direction(world_graph) -> None:
    ids = set(world_graph.node_ids[freeway_entrances(world_graph)])
    exits = set(world_graph.node_ids[freeway_exits(world_graph)])
    # on-ramps merge at northbound node 5007 and southbound node 6005
    assert ids == {5007, 6005}
    assert exits == {5005, 6007}


def test_time_to_entrance_matches_hand_computation(world_graph) -> None:
    seconds = world_graph.seconds_to_nearest(freeway_entrances(world_graph))
    index = {n: i for i, n in enumerate(world_graph.node_ids)}
    assert seconds[index[5007]] == 0.0
    ramp = world_graph.edges
    mid = index[grid_node(6, 3)]
    ramp_s = ramp[(ramp.u == mid) & (ramp.highway == "motorway_link")]["travel_s"].min()
    assert seconds[mid] == pytest.approx(ramp_s)
    # one block west on the secondary street (35 mph) then the ramp
    west = index[grid_node(5, 3)]
    block = ramp[(ramp.u == west) & (ramp.v == mid)]["travel_s"].min()
    assert block == pytest.approx(400 / (35 * 1.609344 / 3.6), rel=0.01)
    assert seconds[west] == pytest.approx(block + ramp_s)


def test_no_freeway_is_a_clear_error(tmp_path: Path) -> None:
    from siteselect.criteria.network_time import NetworkTimeSpec, _target_nodes

    path = build_network(with_freeway=False).write(tmp_path / "roads.osm")
    graph = build_road_graph(read_graph_file(path), CRS)
    with pytest.raises(NetworkError, match="no freeway entrance"):
        _target_nodes(NetworkTimeSpec(kind="network_time"), graph, None)  # type: ignore[arg-type]


def test_empty_and_unsupported_files(tmp_path: Path) -> None:
    empty = tmp_path / "empty.osm"
    empty.write_text("")
    with pytest.raises(NetworkError, match="empty"):
        read_graph_file(empty)
    odd = tmp_path / "roads.shp"
    odd.write_text("x")
    with pytest.raises(NetworkError, match="unsupported format"):
        read_graph_file(odd)


@st.composite
def random_digraph(draw):
    n = draw(st.integers(2, 25))
    edges = draw(
        st.lists(
            st.tuples(st.integers(0, n - 1), st.integers(0, n - 1), st.floats(0.5, 100.0)),
            min_size=1,
            max_size=80,
        )
    )
    targets = draw(st.lists(st.integers(0, n - 1), min_size=1, max_size=4, unique=True))
    return n, edges, targets


@settings(max_examples=60, deadline=None)
@given(random_digraph())
def test_multi_source_search_equals_networkx(case) -> None:
    """Oracle: csgraph multi-source time-to-nearest equals per-node networkx searches."""
    n, edges, targets = case
    multi = nx.MultiDiGraph()
    for i in range(n):
        multi.add_node(i, x=-117.0 + i * 1e-3, y=32.7)
    for u, v, seconds in edges:
        if u != v:
            multi.add_edge(u, v, length=seconds * 10.0, highway="residential", maxspeed="36")
    graph = build_road_graph(multi, CRS)
    got = graph.seconds_to_nearest(np.array(targets))
    simple = nx.DiGraph()
    simple.add_nodes_from(range(n))
    for u, v, data in multi.edges(data=True):
        w = data["length"] / 10.0
        if not simple.has_edge(u, v) or simple[u][v]["w"] > w:
            simple.add_edge(u, v, w=w)
    for node in range(n):
        best = math.inf
        lengths = nx.single_source_dijkstra_path_length(simple, node, weight="w")
        for target in targets:
            best = min(best, lengths.get(target, math.inf))
        index = list(graph.node_ids).index(node)
        assert got[index] == pytest.approx(best, rel=1e-9, abs=1e-6)
