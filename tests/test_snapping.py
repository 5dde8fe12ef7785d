"""One snapping policy: routable nodes, connectors, the distance limit, reasons, records."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import pyproj
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.sparse.csgraph import dijkstra

from siteselect.config import load_config
from siteselect.criteria.accessibility import AccessibilitySpec, DecaySpec
from siteselect.criteria.accessibility import measure as measure_access
from siteselect.network import build_road_graph
from siteselect.network.graph import RoadGraph
from siteselect.network.osm import read_osm_table
from siteselect.network.snapping import off_network_reasons, snap_points
from siteselect.network.traveltime import NetworkTravel
from siteselect.outputs import write_outputs
from siteselect.pipeline import run
from siteselect.study import load_study
from siteselect.study.demand import interior_points
from tests._world import UTM, X0, Y0, build_network, parcels, write_world
from tests.test_contract import networkx_seconds, street_graph

# ---------------------------------------------------------------- oracles


def naive_routable(graph: RoadGraph) -> dict[str, np.ndarray]:
    """Per direction, the nodes allowed, from networkx reachability (by definition)."""
    g = nx.DiGraph()
    g.add_nodes_from(range(graph.n_nodes))
    coo = graph.matrix.tocoo()
    g.add_edges_from(zip(coo.row.tolist(), coo.col.tolist(), strict=True))
    components = list(nx.strongly_connected_components(g))
    main = set(np.flatnonzero(graph.in_main).tolist())
    assert main in components and len(main) == max(len(c) for c in components)
    seed = next(iter(main))
    reached = nx.descendants(g, seed) | {seed}
    reaches = nx.ancestors(g, seed) | {seed}
    mask = np.zeros((3, graph.n_nodes), dtype=bool)
    for row, nodes in enumerate((reaches, reached, reaches & reached)):
        mask[row, list(nodes)] = True
    return {"depart": mask[0], "arrive": mask[1], "both": mask[2]}


def naive_snap(graph: RoadGraph, allowed: np.ndarray, x: float, y: float) -> float:
    """Distance to the nearest allowed node, by brute force."""
    return float(np.hypot(graph.x[allowed] - x, graph.y[allowed] - y).min())


# ------------------------------------------------- routable nodes and snapping


@settings(max_examples=40, deadline=None, derandomize=True)
@given(
    seed=st.integers(0, 2**32 - 1),
    n_streets=st.integers(3, 30),
    one_way_share=st.floats(0.0, 0.9),
)
def test_routable_nodes_and_snaps_equal_networkx(
    seed: int, n_streets: int, one_way_share: float
) -> None:
    """Oracle: reachability from networkx, nearest node by brute force, per direction."""
    graph = street_graph(seed, 10, n_streets, one_way_share)
    want = naive_routable(graph)
    rng = np.random.default_rng(seed)
    px, py = rng.uniform(-100, 1100, 25), rng.uniform(-100, 1100, 25)
    for direction, allowed in want.items():
        np.testing.assert_array_equal(graph.routable(direction), allowed)
        snap = snap_points(graph, px, py, direction, max_snap_m=60.0)
        assert allowed[snap.node].all()
        for i in range(len(px)):
            assert snap.snap_m[i] == pytest.approx(naive_snap(graph, allowed, px[i], py[i]))
            everything = np.ones(graph.n_nodes, dtype=bool)
            nearest_road = naive_snap(graph, everything, px[i], py[i])
            if snap.beyond[i]:
                assert snap.road_m[i] == pytest.approx(nearest_road)
                assert bool(snap.cut_off[i]) == (nearest_road <= 60.0)
    # every departing node reaches every arriving node: snapping never strands a route
    depart, arrive = np.flatnonzero(want["depart"]), np.flatnonzero(want["arrive"])
    for source in depart[:5]:
        assert np.isfinite(networkx_seconds(graph, int(source))[arrive]).all()


def fragment_graph() -> RoadGraph:
    """A two-way street grid plus a detached two-way fragment and two one-way tails."""
    osm = build_network(with_freeway=False)
    fragment = [osm.node(9000 + k, X0 - 3000, Y0 + 1200 + 200 * k) for k in range(3)]
    osm.way(fragment, highway="residential")
    # a one-way street leaving the grid westwards (reached from it, no way back)
    out_tail = [osm.node(9100 + k, X0 - 100 * k, Y0 + 2400) for k in range(1, 8)]
    osm.way([1000 + 6, *out_tail], highway="residential", oneway="yes")  # grid node (0, 6)
    # a one-way street entering the grid from the south (reaches it, never reached)
    in_tail = [osm.node(9200 + k, X0 + 1200, Y0 - 100 * k) for k in range(7, 0, -1)]
    osm.way([*in_tail, 1000 + 3 * 7], highway="residential", oneway="yes")  # grid node (3, 0)
    return osm


@pytest.fixture(scope="module")
def fragment_roads(tmp_path_factory: pytest.TempPathFactory) -> RoadGraph:
    path = fragment_graph().write(tmp_path_factory.mktemp("frag") / "roads.osm")
    return build_road_graph(read_osm_table(path), pyproj.CRS(UTM))


def test_reasons_say_which_case_applies(fragment_roads: RoadGraph) -> None:
    points = np.array(
        [
            (X0 + 200, Y0 + 210),  # between streets: on the network
            (X0 - 3000 + 0.1, Y0 + 1400),  # on the detached fragment
            (X0 - 700, Y0 + 2400 + 5),  # on the one-way tail leaving the grid
            (X0 + 1200 + 3, Y0 - 700),  # on the one-way tail entering the grid
            (X0 - 9000, Y0 - 9000),  # nowhere near a road
        ]
    )
    depart = snap_points(fragment_roads, *points.T, "depart", 400.0)
    arrive = snap_points(fragment_roads, *points.T, "arrive", 400.0)
    assert depart.beyond.tolist() == [False, True, True, False, True]
    assert arrive.beyond.tolist() == [False, True, False, True, True]
    reasons = off_network_reasons(depart)
    assert reasons[0] == "" and reasons[3] == ""
    grid_corner = np.hypot(3000, 200)  # to grid node (0, 3) or (0, 4)
    assert reasons[1] == (
        "nearest road 0 m away is not connected to the main network; nearest connected "
        f"road {grid_corner:,.0f} m (network.max_snap_m 400 m)"
    )
    assert reasons[2].startswith(
        "nearest road 5 m away has no route back into the main network (one-way); "
        "nearest connected road 700 m"
    )
    nowhere = naive_snap(fragment_roads, np.ones(fragment_roads.n_nodes, bool), *points[4])
    assert nowhere == pytest.approx(np.hypot(6000, 10_200), abs=0.5)  # the fragment
    assert reasons[4] == f"no road within 400 m (nearest road {nowhere:,.0f} m; network.max_snap_m)"
    assert off_network_reasons(arrive)[3].startswith(
        "nearest road 3 m away cannot be reached from the main network (one-way)"
    )


def test_target_connectors_count_in_the_nearest_target(fragment_roads: RoadGraph) -> None:
    """Oracle: per-node minimum over targets of (Dijkstra to the target's node + its offset)."""
    rng = np.random.default_rng(3)
    targets = rng.choice(np.flatnonzero(fragment_roads.in_main), 5, replace=False)
    offset_s = rng.uniform(0, 300, 5)
    seconds, which = fragment_roads.nearest_target(targets, offset_s)
    to_target = dijkstra(fragment_roads.matrix)[:, targets]  # all pairs: node -> target
    want = (to_target + offset_s).min(axis=1)
    np.testing.assert_allclose(seconds, want, rtol=1e-12, atol=2e-3)
    found = np.isfinite(want)
    assert (which[~found] == -1).all()
    picked = (to_target + offset_s)[np.flatnonzero(found), which[found]]
    np.testing.assert_allclose(picked, want[found], rtol=1e-12, atol=2e-3)
    np.testing.assert_allclose(
        fragment_roads.seconds_to_nearest(targets, offset_s), seconds, rtol=0, atol=0
    )


# ------------------------------------------------------------ a snapping world

FAR_X, FAR_Y = X0 - 3000 + 10, Y0 + 1400  # a parcel 10 m from the detached fragment

SNAP_CONFIG = """\
name: Snapping world
candidates: {source: parcels.gpkg, layer: parcels, id: apn}
network: {source: roads.osm, max_snap_m: 1000__NETWORK__}
layers:
  hospitals: {source: __HOSPITALS__, name_column: NAME}
  tracts: {source: __TRACTS__, name_column: GEOID}
constraints:
  far_from_freeway: {kind: network_time, max_minutes: 15}
criteria:
  members:
    kind: accessibility
    layer: tracts
    population: pop_total_population
    decay: {fn: gaussian, half_min: 5}
    transform: {fn: minmax, better: higher}
    weight: 1
  huff:
    kind: competition
    model: huff
    layer: hospitals
    type_column: null
    demand: {layer: tracts, population: pop_total_population}
    transform: {fn: minmax, better: higher}
    weight: 1
outputs: {dir: out}
"""

HOSPITALS = {
    "West Hospital": (X0 + 200, Y0 + 1200, 300),
    "East Hospital": (X0 + 2200, Y0 + 2200, 100),
    "Desert Hospital": (X0 + 50_000, Y0 + 1200, 200),  # 50 km east of every road
    "Ridge Hospital": (X0 + 4600, Y0 + 400, 250),  # 1.6 km east of the freeway
}


def write_hospitals(folder: Path, names: list[str]) -> str:
    frame = gpd.GeoDataFrame(
        {"NAME": names, "BEDS": [HOSPITALS[n][2] for n in names]},
        geometry=[shapely.Point(*HOSPITALS[n][:2]) for n in names],
        crs=UTM,
    )
    name = "hospitals-" + "-".join(n.split()[0].lower() for n in names) + ".geojson"
    frame.to_crs("EPSG:4326").to_file(folder / name)
    return name


def write_tracts(folder: Path, with_far: bool) -> str:
    ids, pops = ["A", "B"], [1000.0, 9000.0]
    boxes = [
        shapely.box(X0, Y0, X0 + 1200, Y0 + 2400),
        shapely.box(X0 + 1200, Y0, X0 + 2400, Y0 + 2400),
    ]
    if with_far:  # its interior point lies ~5 km west of every road
        ids.append("C")
        pops.append(500.0)
        boxes.append(shapely.box(X0 - 6000, Y0 - 500, X0 - 5000, Y0 + 500))
    name = f"tracts_{len(ids)}.gpkg"
    frame = gpd.GeoDataFrame({"GEOID": ids, "pop_total_population": pops}, geometry=boxes, crs=UTM)
    frame.to_file(folder / name, layer="tracts")
    return name


@pytest.fixture(scope="module")
def snap_world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("snapworld")
    write_world(folder)
    osm = build_network()
    fragment = [osm.node(9000 + k, X0 - 3000, Y0 + 1200 + 200 * k) for k in range(3)]
    osm.way(fragment, highway="residential")
    osm.write(folder / "roads.osm")
    grid = parcels()
    far = gpd.GeoDataFrame(
        {"apn": ["PFAR"], "name": ["PFAR"]},
        geometry=[shapely.box(FAR_X - 30, FAR_Y - 30, FAR_X + 30, FAR_Y + 30)],
        crs=UTM,
    )
    pd.concat([grid, far]).to_crs("EPSG:2230").to_file(folder / "parcels.gpkg", layer="parcels")
    return folder


def snap_config(
    folder: Path, hospitals: list[str], *, far_tract: bool = False, network: str = ""
) -> Path:
    text = (
        SNAP_CONFIG.replace("__HOSPITALS__", write_hospitals(folder, hospitals))
        .replace("__TRACTS__", write_tracts(folder, far_tract))
        .replace("__NETWORK__", network)
    )
    tag = "-".join([*(n.split()[0].lower() for n in hospitals), str(far_tract)])
    tag += "".join(c for c in network if c.isalnum())
    path = folder / f"snap-{tag}.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def by_id(result) -> pd.DataFrame:
    return result.candidates.set_index("candidate_id")


def test_competitor_50km_away_warns_and_leaves_the_choice_set(
    snap_world: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Acceptance: the run warns naming it; Huff capture equals a run without it."""
    with caplog.at_level(logging.WARNING):
        got = run(
            load_config(
                snap_config(snap_world, ["West Hospital", "East Hospital", "Desert Hospital"])
            )
        )
    warned = [r.getMessage() for r in caplog.records if "facilities: hospitals" in r.getMessage()]
    assert len(warned) == 1 and "Desert Hospital (" in warned[0] and "left out" in warned[0]
    assert "West Hospital" not in warned[0]
    without = run(load_config(snap_config(snap_world, ["West Hospital", "East Hospital"])))
    np.testing.assert_array_equal(by_id(got)["huff_captured"], by_id(without)["huff_captured"])
    np.testing.assert_array_equal(by_id(got)["raw_huff"], by_id(without)["raw_huff"])
    record = got.manifest["diagnostics"]["snapping"]["facilities: hospitals"]
    assert (record["points"], record["snapped"], record["beyond_limit"]) == (3, 2, 1)
    assert record["beyond_limit_features"][0]["name"] == "Desert Hospital"
    assert record["beyond_limit_features"][0]["snap_m"] > 45_000


def test_candidate_next_to_a_disconnected_road_says_so(snap_world: Path) -> None:
    """Acceptance: the reason names the fragment's distance and the connected road's."""
    result = run(load_config(snap_config(snap_world, ["West Hospital", "East Hospital"])))
    row = by_id(result).loc["PFAR"]
    assert row["excluded"]
    connected = np.hypot(3000 - 10, 200)  # to grid node (0, 3) or (0, 4)
    phrase = (
        "nearest road 10 m away is not connected to the main network; nearest connected "
        f"road {connected:,.0f} m (network.max_snap_m 1,000 m)"
    )
    for name in ("far_from_freeway", "members", "huff"):
        assert f"{name}: {phrase}" in row["exclusion_reason"]
    assert "more than" not in row["exclusion_reason"]
    assert not by_id(result).drop(index="PFAR")["exclusion_reason"].str.contains("road").any()


def test_far_facility_kept_with_its_connector(snap_world: Path) -> None:
    """far_facilities: keep: the hospital 1.6 km off the roads stays, with its connector."""
    names = ["West Hospital", "Ridge Hospital"]
    kept = run(load_config(snap_config(snap_world, names, network=", far_facilities: keep")))
    dropped = run(load_config(snap_config(snap_world, names)))
    alone = run(load_config(snap_config(snap_world, ["West Hospital"])))
    np.testing.assert_array_equal(by_id(dropped)["huff_captured"], by_id(alone)["huff_captured"])
    ranked = ~by_id(kept)["excluded"]
    assert (by_id(kept)["huff_captured"][ranked] < by_id(alone)["huff_captured"][ranked]).all()
    record = kept.manifest["diagnostics"]["snapping"]["facilities: hospitals"]
    assert record["beyond_limit"] == 1 and record["beyond_limit_action"].startswith("kept")
    # the kept hospital's travel time includes its connector (oracle: Dijkstra + connectors)
    study = load_study(
        load_config(snap_config(snap_world, names, network=", far_facilities: keep"))
    )
    graph = study.road_graph()
    travel = NetworkTravel(graph, 20.0, 1000.0)
    ridge = travel.locate(
        np.array([X0 + 4600.0]), np.array([Y0 + 400.0]), direction="arrive", keep_far=True
    )
    origin = travel.locate(np.array([X0 + 600.0]), np.array([Y0 + 600.0]), direction="depart")
    seconds = dijkstra(graph.matrix, indices=int(origin.node[0]))[ridge.node[0]]
    want = seconds / 60 + origin.connector_min[0] + ridge.connector_min[0]
    assert ridge.connector_min[0] == pytest.approx(ridge.snap_m[0] / (20 / 3.6) / 60)
    assert ridge.snap_m[0] > 1000
    assert travel.matrix(origin, ridge, 60.0)[0, 0] == pytest.approx(want)


@pytest.mark.parametrize("policy", ["keep", "drop"])
def test_far_demand_reported_and_kept_or_dropped(snap_world: Path, policy: str) -> None:
    """Oracle: drop = a run without the far tract; keep = that plus its Dijkstra term."""
    hospitals = ["West Hospital", "East Hospital"]
    config = snap_config(snap_world, hospitals, far_tract=True, network=f", far_demand: {policy}")
    study = load_study(load_config(config))
    spec = AccessibilitySpec(
        kind="accessibility",
        layer="tracts",
        population="pop_total_population",
        decay=DecaySpec(fn="gaussian", half_min=20),
        max_minutes=60,
    )
    got = measure_access(spec, study).values
    record = study.diagnostics["snapping"]["demand: tracts"]
    assert (record["points"], record["beyond_limit"]) == (3, 1)
    assert (record["total"], record["beyond_limit_total"]) == (10_500, 500)
    assert record["used_total"] == (10_500 if policy == "keep" else 10_000)
    assert record["beyond_limit_features"][0]["name"] == "C"
    near_only = load_study(load_config(snap_config(snap_world, hospitals)))
    base = measure_access(spec, near_only).values
    if policy == "drop":
        np.testing.assert_array_equal(got, base)
        return
    tracts = study.vector("tracts")
    far = interior_points(tracts, tracts["pop_total_population"].to_numpy(float))
    graph = study.road_graph()
    travel = NetworkTravel(graph, 20.0, 1000.0)
    origin = travel.locate(far.x[2:], far.y[2:], direction="depart", keep_far=True)
    assert origin.snap_m[0] > 4500 and not origin.far[0]
    sites = travel.locate(*study.representative_xy(), direction="arrive")
    seconds = dijkstra(graph.matrix, indices=int(origin.node[0]))[sites.node]
    t = seconds / 60 + origin.connector_min[0] + sites.connector_min
    term = np.where(t <= 60, 500 * 0.5 ** ((t / 20) ** 2), 0.0)
    on = ~sites.far
    assert term[on].min() > 100  # the far tract counts, its 16.5 min connector included
    np.testing.assert_allclose(got[on], base[on] + term[on], rtol=1e-9)


def test_snap_statistics_in_run_json(snap_world: Path, tmp_path: Path) -> None:
    """Oracle: largest and 95th-percentile snap distances by brute force over routable nodes."""
    config = load_config(
        snap_config(snap_world, ["West Hospital", "East Hospital", "Desert Hospital"])
    )
    write_outputs(run(config), tmp_path / "out")
    snapping = json.loads((tmp_path / "out" / "run.json").read_text())["diagnostics"]["snapping"]
    assert {"candidates", "demand: tracts", "facilities: hospitals"} <= set(snapping)
    study = load_study(config)
    graph = study.road_graph()
    x, y = study.representative_xy()
    record = snapping["candidates"]
    # same result both ways: one record (the shared searches are planned first: arrive first)
    assert sorted(record["directions"]) == ["arrive", "depart"]
    allowed = graph.routable("depart")
    distances = np.array([naive_snap(graph, allowed, a, b) for a, b in zip(x, y, strict=True)])
    assert record["points"] == len(x) == 37
    assert record["snapped"] == int((distances <= 1000).sum()) == 36
    assert record["largest_m"] == pytest.approx(distances.max(), abs=0.05)
    assert record["p95_m"] == pytest.approx(np.percentile(distances, 95), abs=0.05)
    assert record["median_m"] == pytest.approx(np.median(distances), abs=0.05)
    assert record["beyond_limit_road_not_connected"] == 1
    assert [f["name"] for f in record["beyond_limit_features"]] == ["PFAR"]
    assert len(record["used_by"]) == 3  # network_time, accessibility, competition
    hospitals = snapping["facilities: hospitals"]
    assert hospitals["beyond_limit_action"] == "left out"
    assert hospitals["directions"] == ["arrive"]


@pytest.mark.shared_data
def test_mountain_view_routable_shares_and_no_wrong_times(shared_data: Path) -> None:
    """Real OSM: what each rule keeps, and every snappable node has a true time."""
    from siteselect.network import freeway_entrances, freeway_exits

    graph = build_road_graph(
        read_osm_table(shared_data / "osm" / "mountain_view_2017.osm"), pyproj.CRS("EPSG:32610")
    )
    shares = {d: round(100 * graph.routable(d).mean(), 1) for d in ("both", "depart", "arrive")}
    assert shares == {"both": 90.9, "depart": 94.5, "arrive": 94.4}
    to_entrance = graph.seconds_to_nearest(freeway_entrances(graph))
    from_exit = graph.seconds_from_nearest(freeway_exits(graph))
    assert np.isfinite(to_entrance[graph.routable("depart")]).all()
    assert np.isfinite(from_exit[graph.routable("arrive")]).all()
    assert not np.isfinite(to_entrance[~graph.routable("depart")]).all()  # some cannot


def test_no_facility_within_the_limit_is_one_clear_error(snap_world: Path) -> None:
    from siteselect._errors import CriterionError

    config = load_config(snap_config(snap_world, ["Desert Hospital"]))
    with pytest.raises(CriterionError) as caught:
        run(config)
    assert str(caught.value).endswith(
        ": layers.hospitals: hospitals-desert.geojson: every facility lies "
        "farther than network.max_snap_m (1000 m) from a connected road; use a network "
        "extract that covers them, raise network.max_snap_m or set network.far_facilities: keep"
    )
    assert ".yaml:" in str(caught.value)  # pinned to the layer's line of the config


def test_network_time_to_a_layer_counts_target_connectors_and_drops_far_ones(
    snap_world: Path,
) -> None:
    """Oracle: min over kept hospitals of (Dijkstra to its node + its connector) + own connector."""
    from siteselect.criteria.network_time import NetworkTimeSpec
    from siteselect.criteria.network_time import measure as measure_time

    names = ["West Hospital", "East Hospital", "Desert Hospital"]
    study = load_study(load_config(snap_config(snap_world, names)))
    got = measure_time(NetworkTimeSpec(kind="network_time", to="hospitals"), study)
    record = study.diagnostics["snapping"]["targets: hospitals"]
    assert (record["beyond_limit"], record["beyond_limit_features"][0]["name"]) == (
        1,
        "Desert Hospital",
    )
    graph = study.road_graph()
    travel = NetworkTravel(graph, 20.0, 1000.0)
    hospitals = travel.locate(
        np.array([HOSPITALS[n][0] for n in names[:2]]),
        np.array([HOSPITALS[n][1] for n in names[:2]]),
        direction="arrive",
    )
    sites = travel.locate(*study.representative_xy(), direction="depart")
    all_pairs = dijkstra(graph.matrix, indices=np.unique(sites.node))
    row = np.searchsorted(np.unique(sites.node), sites.node)
    want = (all_pairs[row][:, hospitals.node] / 60 + hospitals.connector_min).min(axis=1)
    want += sites.connector_min
    want[sites.far] = np.nan
    np.testing.assert_allclose(got.values, want, rtol=1e-9)
    assert got.missing_reasons is not None and "not connected" in got.missing_reasons[-1]
