"""Road network: OSM reading, drivable filter, speeds, ramps, and the routing engine."""

from __future__ import annotations

import math
from pathlib import Path

import networkx as nx
import numpy as np
import pandas as pd
import pyproj
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from siteselect._errors import NetworkError
from siteselect.network import (
    build_road_graph,
    freeway_access_seconds,
    freeway_entrances,
    freeway_exits,
    read_graph_file,
    read_road_table,
)
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
    from siteselect.criteria.network_time import NetworkTimeSpec, freeway_targets

    path = build_network(with_freeway=False).write(tmp_path / "roads.osm")
    graph = build_road_graph(read_road_table(path), CRS)
    with pytest.raises(NetworkError, match="no freeway entrance"):
        freeway_targets(NetworkTimeSpec(kind="network_time"), graph, None)
    with pytest.raises(NetworkError, match="no freeway exit"):
        freeway_targets(NetworkTimeSpec(kind="network_time", to="freeway_exits"), graph, None)


def test_modes_on_ramp_off_ramp_worst(world_graph) -> None:
    on = freeway_access_seconds(world_graph, "on_ramp")
    off = freeway_access_seconds(world_graph, "off_ramp")
    worst = freeway_access_seconds(world_graph, "worst")
    np.testing.assert_array_equal(worst, np.maximum(on, off))
    index = {n: i for i, n in enumerate(world_graph.node_ids)}
    assert off[index[5005]] == 0.0 and on[index[5007]] == 0.0
    # from the interchange street node: up the on-ramp vs arriving down the off-ramp
    mid = index[grid_node(6, 3)]
    assert on[mid] > 0 and off[mid] > 0
    expected = world_graph.seconds_from_nearest(freeway_exits(world_graph))[mid]
    assert off[mid] == pytest.approx(expected)


def test_mode_config_validation() -> None:
    from pydantic import ValidationError

    from siteselect.criteria.network_time import NetworkTimeSpec

    assert NetworkTimeSpec(kind="network_time", to="freeway", mode="worst").freeway_mode == "worst"
    assert NetworkTimeSpec(kind="network_time", to="freeway_exits").freeway_mode == "off_ramp"
    with pytest.raises(ValidationError, match="applies to 'to: freeway' only"):
        NetworkTimeSpec(kind="network_time", to="hospitals", mode="worst")
    with pytest.raises(ValidationError, match="means mode on_ramp"):
        NetworkTimeSpec(kind="network_time", to="freeway_entrances", mode="off_ramp")


def test_network_spec_needs_one_input(tmp_path: Path) -> None:
    from pydantic import ValidationError

    from siteselect.config import NetworkSpec

    with pytest.raises(ValidationError, match="set 'source'"):
        NetworkSpec()
    with pytest.raises(ValidationError, match="not both"):
        NetworkSpec(place="X", polygon_from_study_area=True)
    spec = NetworkSpec.model_validate(
        {"place": "San Diego County, California"}, context={"base_dir": tmp_path / "configs"}
    )
    assert spec.source == tmp_path / "layers" / "osm" / "san-diego-county-california.graphml"
    assert spec.cache_dir == tmp_path / ".cache" / "network"


def test_cache_round_trip_and_hit(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    import logging

    from siteselect.config import NetworkSpec
    from siteselect.network import load_road_graph

    path = build_network().write(tmp_path / "roads.osm")
    spec = NetworkSpec(source=path, cache_dir=tmp_path / "cache")
    first = load_road_graph(spec, CRS)
    with caplog.at_level(logging.INFO, logger="siteselect.network"):
        second = load_road_graph(spec, CRS)
    assert "network cache hit" in caplog.text
    assert (first.matrix != second.matrix).nnz == 0
    np.testing.assert_array_equal(first.node_ids, second.node_ids)
    np.testing.assert_allclose(first.x, second.x)
    np.testing.assert_array_equal(first.in_main, second.in_main)
    as_text = {"highway": str, "name": str, "ref": str}
    pd.testing.assert_frame_equal(first.edges.astype(as_text), second.edges.astype(as_text))
    # another speed setting is another entry, with other travel times
    faster = NetworkSpec(
        source=path, cache_dir=tmp_path / "cache", speeds_kmh={"motorway_link": 20}
    )
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="siteselect.network"):
        third = load_road_graph(faster, CRS)
    assert "network cache miss" in caplog.text
    assert len(list((tmp_path / "cache").glob("*.npz"))) == 2
    assert third.matrix.sum() != first.matrix.sum()


def test_online_download_is_stored_then_offline(tmp_path: Path, monkeypatch) -> None:
    """osmnx's download is mocked: it is called once, then the stored GraphML serves."""
    import osmnx as ox

    from siteselect.config import NetworkSpec
    from siteselect.network import load_road_graph

    offline = read_graph_file(build_network().write(tmp_path / "roads.osm"))
    calls: list[tuple[object, dict[str, object]]] = []

    def fake_graph_from_place(query: object, **kwargs: object):
        calls.append((query, kwargs))
        assert ox.settings.use_cache is True
        return offline

    monkeypatch.setattr(ox, "graph_from_place", fake_graph_from_place)
    spec = NetworkSpec.model_validate(
        {"place": "Testville, CA"}, context={"base_dir": tmp_path / "configs"}
    )
    graph = load_road_graph(spec, CRS)
    assert spec.source is not None and spec.source.exists()
    assert calls == [
        ("Testville, CA", {"network_type": "drive", "simplify": False, "retain_all": True})
    ]
    again = load_road_graph(spec, CRS)
    assert len(calls) == 1
    assert (graph.matrix != again.matrix).nnz == 0
    assert set(again.node_ids[freeway_entrances(again)]) == {5007, 6005}


def test_failed_download_is_a_clear_error(tmp_path: Path, monkeypatch) -> None:
    import osmnx as ox

    from siteselect.config import NetworkSpec
    from siteselect.network import load_road_graph

    def offline(*args: object, **kwargs: object):
        raise ConnectionError("no route to host")

    monkeypatch.setattr(ox, "graph_from_place", offline)
    spec = NetworkSpec(place="Nowhere", source=tmp_path / "n.graphml", cache_dir=tmp_path)
    with pytest.raises(NetworkError, match=r"cannot download .*Nowhere.*network.source"):
        load_road_graph(spec, CRS)


def test_off_network_candidates_get_no_value_and_a_reason(world_graph) -> None:
    from types import SimpleNamespace

    from siteselect.config import NetworkSpec
    from siteselect.criteria.network_time import NetworkTimeSpec, measure

    corner = int(np.flatnonzero(world_graph.node_ids == grid_node(0, 0))[0])
    x0, y0 = world_graph.x[corner], world_graph.y[corner]
    xs = np.array([x0 + 410.0, x0 + 410.0, x0 - 5000.0])
    ys = np.array([y0 + 390.0, y0 + 810.0, y0 - 5000.0])
    study = SimpleNamespace(
        road_graph=lambda: world_graph,
        config=SimpleNamespace(network=NetworkSpec(source=Path("roads.osm"), max_snap_m=1000)),
        representative_xy=lambda: (xs, ys),
        candidates=pd.DataFrame({"candidate_id": ["a", "b", "c"]}),
        diagnostics={},
        shared={},
    )
    got = measure(NetworkTimeSpec(kind="network_time"), study)  # type: ignore[arg-type]
    assert np.isfinite(got.values[:2]).all() and np.isnan(got.values[2])
    assert got.extra_columns["off_network"].tolist() == [False, False, True]
    assert got.missing_reasons is not None
    assert got.missing_reasons[:2].tolist() == ["", ""]
    assert got.missing_reasons[2] == (
        "no road within 1,000 m (nearest road 7,071 m; network.max_snap_m)"
    )
    record = study.diagnostics["snapping"]["candidates"]
    assert (record["points"], record["snapped"], record["beyond_limit"]) == (3, 2, 1)
    seconds = world_graph.seconds_to_nearest(freeway_entrances(world_graph))
    nodes, snap_m = world_graph.snap(xs[:2], ys[:2], "depart")
    expected = (seconds[nodes] + snap_m / (20 / 3.6)) / 60
    np.testing.assert_allclose(got.values[:2], expected)


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


@settings(max_examples=40, deadline=None)
@given(random_digraph(), st.floats(0.0, 3.0), st.integers(1, 3))
def test_travel_minutes_equals_networkx(case, max_minutes: float, batch_size: int) -> None:
    """Oracle: many-to-many times within a cut-off equal networkx pairwise searches."""
    n, edges, targets = case
    multi = nx.MultiDiGraph()
    for i in range(n):
        multi.add_node(i, x=-117.0 + i * 1e-3, y=32.7)
    for u, v, seconds in edges:
        if u != v:
            multi.add_edge(u, v, length=seconds * 10.0, highway="residential", maxspeed="36")
    graph = build_road_graph(multi, CRS)
    index = {int(node): i for i, node in enumerate(graph.node_ids)}
    origins = np.array([index[i] for i in range(n)] + [index[0]])  # a repeated origin
    destinations = np.array([index[t] for t in targets])
    got = graph.travel_minutes(origins, destinations, max_minutes, batch_size=batch_size)
    assert got.shape == (n + 1, len(targets))
    dense = got.to_dense()
    for row, origin in enumerate([*range(n), 0]):
        lengths = nx.single_source_dijkstra_path_length(multi, origin, weight=_seconds)
        for column, target in enumerate(targets):
            expected = lengths.get(target, math.inf) / 60.0
            if expected <= max_minutes:
                assert dense[row, column] == pytest.approx(expected, rel=1e-6, abs=1e-6)
            else:
                assert dense[row, column] == math.inf


def _seconds(u: int, v: int, data: dict) -> float:
    return min(d["length"] / 10.0 for d in data.values())
