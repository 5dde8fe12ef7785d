"""Road network on real OSM extracts (../shared/data/osm; skipped where absent)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import osmnx as ox
import pyproj
import pytest

from siteselect._errors import NetworkError
from siteselect.criteria.network_time import NetworkTimeSpec, freeway_targets
from siteselect.network import build_road_graph, freeway_entrances, freeway_exits
from siteselect.network.osm import drivable_subgraph, read_osm_table

pytestmark = pytest.mark.shared_data
UTM10 = pyproj.CRS("EPSG:32610")
TO_UTM10 = pyproj.Transformer.from_crs("EPSG:4326", UTM10, always_xy=True)


@pytest.fixture
def mountain_view(shared_data: Path):
    return build_road_graph(read_osm_table(shared_data / "osm" / "mountain_view_2017.osm"), UTM10)


def test_pyosmium_reader_equals_osmnx_reader_with_drive_filter(shared_data: Path) -> None:
    """Oracle: the fast reader gives osmnx's graph_from_xml edges after the same filter."""
    path = shared_data / "osm" / "mountain_view_2017.osm"
    table = read_osm_table(path)
    oracle = drivable_subgraph(ox.graph_from_xml(path, simplify=False, retain_all=True))
    ours = {
        (int(table.node_ids[u]), int(table.node_ids[v])): length
        for u, v, length in zip(table.u, table.v, table.length_m, strict=True)
    }
    theirs = {(u, v): d["length"] for u, v, d in oracle.edges(data=True)}
    assert set(ours) == set(theirs)
    assert table.n_edges == oracle.number_of_edges()
    for key, length in theirs.items():
        assert ours[key] == pytest.approx(length, abs=0.01)


def test_mountain_view_entrances_are_on_ramps_onto_i280(mountain_view) -> None:
    entrances = freeway_entrances(mountain_view)
    edges = mountain_view.edges
    leaving = edges[edges["u"].isin(entrances) & (edges["highway"] == "motorway")]
    entering = edges[edges["v"].isin(entrances) & (edges["highway"] == "motorway_link")]
    # this 2017 extract holds I-280 as its only motorway (US-101 lies north of its box
    # and CA-85's carriageways are not in it): every entrance is an I-280 on-ramp merge
    assert len(entrances) >= 4
    assert set(leaving["ref"]) == {"I 280"}
    assert set(entering["v"]) == set(entrances)
    # diverges are exits, never entrances
    assert not set(freeway_exits(mountain_view)) & set(entrances)


def test_mountain_view_trunk_option_adds_expressway_entrances(mountain_view) -> None:
    motorway_only = freeway_entrances(mountain_view)
    with_trunk = freeway_entrances(
        mountain_view, ("motorway", "trunk"), ("motorway_link", "trunk_link")
    )
    edges = mountain_view.edges
    refs = set(edges[edges["u"].isin(with_trunk) & edges["highway"].isin(["trunk"])]["ref"])
    assert set(motorway_only) < set(with_trunk)
    assert "G5" in refs  # Foothill Expressway


def test_mountain_view_drive_times_are_plausible(mountain_view) -> None:
    entrances = freeway_entrances(mountain_view)
    minutes = mountain_view.seconds_to_nearest(entrances) / 60.0
    assert np.all(minutes[entrances] == 0.0)
    main = minutes[mountain_view.in_main]
    assert np.isfinite(main).all()
    assert 1.0 < np.median(main) < 10.0  # minutes, not hours
    assert main.max() < 30.0
    # Los Altos village (San Antonio Rd / Main St) is a few minutes from I-280
    x, y = TO_UTM10.transform(-122.1141, 37.3852)
    node, snap_m = mountain_view.snap(np.array([x]), np.array([y]))
    assert snap_m[0] < 100
    assert 1.0 < minutes[node[0]] < 8.0
    # arriving from an off-ramp is also minutes, and worst-of-both is at least each
    exits = freeway_exits(mountain_view)
    arriving = mountain_view.seconds_from_nearest(exits)[node[0]] / 60.0
    assert 1.0 < arriving < 10.0


def test_kouvola_pbf_loads_with_its_motorway(shared_data: Path) -> None:
    table = read_osm_table(shared_data / "osm" / "kouvola_test.osm.pbf")
    graph = build_road_graph(table, pyproj.CRS("EPSG:32635"))
    counts = graph.edges["highway"].value_counts()
    assert counts["motorway"] > 0 and counts["motorway_link"] > 0
    assert "footway" not in counts.index or counts["footway"] == 0
    assert len(freeway_entrances(graph)) > 0
    assert 60.0 < graph.lat.mean() < 61.5  # Kouvola, Finland


def test_west_oakland_has_no_freeway_clear_error(shared_data: Path) -> None:
    table = read_osm_table(shared_data / "osm" / "west_oakland.osm.bz2")
    graph = build_road_graph(table, UTM10)
    with pytest.raises(NetworkError, match=r"has no freeway entrance .*use an extract"):
        freeway_targets(NetworkTimeSpec(kind="network_time"), graph, None)


def test_wrong_region_pbf_is_a_clear_error(shared_data: Path, world_config: Path) -> None:
    """A Finnish extract for a Californian study: one line naming both extents."""
    from siteselect._errors import LayerError
    from siteselect.config import load_config
    from siteselect.study import load_study

    config = load_config(world_config)
    assert config.network is not None
    config.network.source = shared_data / "osm" / "kouvola_test.osm.pbf"
    config.network.cache = False
    with pytest.raises(LayerError, match=r"kouvola_test.osm.pbf does not cover the candidates"):
        load_study(config).road_graph()
