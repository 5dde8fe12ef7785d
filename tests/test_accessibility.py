"""Accessibility: demand points, travel models, gravity / catchment / E2SFCA vs naive oracles."""

from __future__ import annotations

import math
from pathlib import Path

import geopandas as gpd
import numpy as np
import pyproj
import pytest
import shapely
from pydantic import ValidationError
from scipy.sparse.csgraph import dijkstra

from siteselect._errors import CriterionError
from siteselect.config import load_config
from siteselect.criteria.accessibility import AccessibilitySpec, DecaySpec
from siteselect.criteria.accessibility import measure as measure_access
from siteselect.criteria.market import e2sfca_unmet, gravity, gravity_reducer
from siteselect.network import build_road_graph, read_graph_file
from siteselect.network.traveltime import NetworkTravel, StraightLineTravel, resolve_mode
from siteselect.study import Study, load_study
from siteselect.study.demand import area_points, interior_points, zone_population
from siteselect.study.facilities import FacilitiesSpec
from tests._world import UTM, X0, Y0, build_network

DECAYS = [
    DecaySpec(fn="gaussian", half_min=7),
    DecaySpec(fn="exponential", half_min=5),
    DecaySpec(fn="power", beta=1.5, min_minutes=2),
    DecaySpec(fn="step", minutes=12),
    DecaySpec(fn="zones", breaks=[5, 10, 20], weights=[1, 0.68, 0.22]),
]


def naive_decay(spec: DecaySpec, t: float) -> float:
    """f(t) written out case by case."""
    if spec.fn == "gaussian":
        return math.exp(-math.log(2) * (t / spec.half_min) ** 2)
    if spec.fn == "exponential":
        return math.exp(-math.log(2) * t / spec.half_min)
    if spec.fn == "power":
        return 1.0 if t <= spec.min_minutes else (t / spec.min_minutes) ** -spec.beta
    if spec.fn == "step":
        return 1.0 if t <= spec.minutes else 0.0
    for upper, weight in zip(spec.breaks, spec.weights, strict=True):
        if t <= upper:
            return weight
    return 0.0


def random_case(seed: int, n_zones: int = 30, n_sites: int = 25, n_fac: int = 6):
    rng = np.random.default_rng(seed)
    zones = rng.uniform(0, 20_000, (n_zones, 2))
    sites = rng.uniform(0, 20_000, (n_sites, 2))
    facilities = rng.uniform(0, 20_000, (n_fac, 2))
    population = rng.uniform(0, 5000, n_zones)
    beds = rng.uniform(20, 600, n_fac)
    return zones, sites, facilities, population, beds


def minutes_between(a: np.ndarray, b: np.ndarray, travel: StraightLineTravel) -> float:
    return math.dist(a, b) * travel.minutes_per_m


@pytest.mark.parametrize("decay", DECAYS, ids=lambda d: d.fn)
@pytest.mark.parametrize("seed", [1, 2])
def test_gravity_equals_naive(decay: DecaySpec, seed: int) -> None:
    zones, sites, _, population, _ = random_case(seed)
    travel = StraightLineTravel(speed_kmh=50, circuity=1.2)
    origins, dests = travel.locate(*zones.T), travel.locate(*sites.T)
    max_minutes = 25.0
    got = gravity(
        travel.iter_pairs(origins, dests, max_minutes), population, decay.weights_at, len(sites)
    )
    for c, site in enumerate(sites):
        want = 0.0
        for zone, pop in zip(zones, population, strict=True):
            t = minutes_between(zone, site, travel)
            if t <= max_minutes:
                want += pop * naive_decay(decay, t)
        assert got[c] == pytest.approx(want, rel=1e-9, abs=1e-9)


def test_catchment_equals_naive_count() -> None:
    zones, sites, _, population, _ = random_case(3)
    travel = StraightLineTravel(speed_kmh=30)
    origins, dests = travel.locate(*zones.T), travel.locate(*sites.T)
    got = gravity(travel.iter_pairs(origins, dests, 15.0), population, np.ones_like, len(sites))
    for c, site in enumerate(sites):
        want = sum(
            pop
            for zone, pop in zip(zones, population, strict=True)
            if minutes_between(zone, site, travel) <= 15.0
        )
        assert got[c] == pytest.approx(want)


@pytest.mark.parametrize("decay", DECAYS, ids=lambda d: d.fn)
def test_e2sfca_equals_naive(decay: DecaySpec) -> None:
    zones, sites, facilities, population, beds = random_case(4)
    travel = StraightLineTravel(speed_kmh=40)
    max_minutes, rho = 20.0, 30 / 1000
    origins = travel.locate(*zones.T)
    matrix = travel.matrix(origins, travel.locate(*facilities.T), max_minutes)
    unmet, ratio, access = e2sfca_unmet(population, matrix, beds, decay.weights_at, rho)
    got = gravity(
        travel.iter_pairs(origins, travel.locate(*sites.T), max_minutes),
        unmet,
        decay.weights_at,
        len(sites),
    )

    def w(a: np.ndarray, b: np.ndarray) -> float:
        t = minutes_between(a, b, travel)
        return naive_decay(decay, t) if t <= max_minutes else 0.0

    naive_ratio = []
    for fac, supply in zip(facilities, beds, strict=True):
        demand = sum(pop * w(zone, fac) for zone, pop in zip(zones, population, strict=True))
        naive_ratio.append(supply / demand if demand > 0 else 0.0)
    naive_access = [
        sum(r * w(zone, fac) for fac, r in zip(facilities, naive_ratio, strict=True))
        for zone in zones
    ]
    naive_unmet = [
        pop * min(1.0, max(0.0, 1.0 - a / rho))
        for pop, a in zip(population, naive_access, strict=True)
    ]
    assert ratio == pytest.approx(naive_ratio)
    assert access == pytest.approx(naive_access)
    assert unmet == pytest.approx(naive_unmet)
    assert 0 < unmet.sum() < population.sum()  # partly served: neither clip dominates
    for c, site in enumerate(sites):
        want = sum(u * w(zone, site) for zone, u in zip(zones, naive_unmet, strict=True))
        assert got[c] == pytest.approx(want, rel=1e-9, abs=1e-9)


def test_e2sfca_more_supply_never_raises_unmet_demand() -> None:
    zones, _, facilities, population, beds = random_case(5)
    travel = StraightLineTravel(speed_kmh=40)
    decay = DecaySpec(fn="gaussian", half_min=10).weights_at
    matrix = travel.matrix(travel.locate(*zones.T), travel.locate(*facilities.T), 30.0)
    before, _, _ = e2sfca_unmet(population, matrix, beds, decay, 0.03)
    after, _, _ = e2sfca_unmet(population, matrix, beds * 2, decay, 0.03)
    assert (after <= before + 1e-9).all()
    assert after.sum() < before.sum()


@pytest.fixture(scope="module")
def graph(tmp_path_factory: pytest.TempPathFactory):
    path = build_network().write(tmp_path_factory.mktemp("net") / "roads.osm")
    return build_road_graph(read_graph_file(path), pyproj.CRS(UTM))


def test_network_pairs_equal_per_origin_dijkstra(graph) -> None:
    rng = np.random.default_rng(7)
    zones = rng.uniform([X0 - 300, Y0 - 300], [X0 + 2700, Y0 + 2700], (9, 2))
    sites = rng.uniform([X0, Y0], [X0 + 2400, Y0 + 2400], (40, 2))
    sites[5] = (X0 - 5000, Y0)  # off network: no pair
    travel = NetworkTravel(graph, connector_speed_kmh=20, max_snap_m=800)
    origins, dests = travel.locate(*zones.T), travel.locate(*sites.T)
    assert dests.far.tolist() == [i == 5 for i in range(40)]
    max_minutes = 3.0
    got = np.full((len(zones), len(sites)), np.inf)
    for block in travel.iter_pairs(origins, dests, max_minutes):
        got[block.origin, block.destination] = block.minutes
    for i in range(len(zones)):
        seconds = dijkstra(graph.matrix, directed=True, indices=int(origins.node[i]))
        for c in range(len(sites)):
            t = seconds[dests.node[c]] / 60 + origins.connector_min[i] + dests.connector_min[c]
            want = t if (t <= max_minutes and not dests.far[c]) else np.inf
            assert got[i, c] == pytest.approx(want)
    assert np.isfinite(got).sum() > 20
    dense = travel.matrix(origins, dests, max_minutes)
    assert dense == pytest.approx(got)


def test_network_nearest_equals_naive(graph) -> None:
    rng = np.random.default_rng(8)
    sites = rng.uniform([X0, Y0], [X0 + 2400, Y0 + 2400], (30, 2))
    targets = rng.uniform([X0, Y0], [X0 + 2400, Y0 + 2400], (4, 2))
    travel = NetworkTravel(graph, connector_speed_kmh=20, max_snap_m=800)
    origins = travel.locate(*sites.T, direction="depart")
    goals = travel.locate(*targets.T, direction="arrive")
    assert (goals.connector_min > 0).all()
    minutes, index = travel.nearest(origins, goals)
    for c in range(len(sites)):
        seconds = dijkstra(graph.matrix, indices=int(origins.node[c]))[goals.node]
        total = seconds / 60 + goals.connector_min  # each target's own connector counts
        want = total.min() + origins.connector_min[c]
        assert minutes[c] == pytest.approx(want)
        assert total[index[c]] == pytest.approx(total.min())


def squares() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"pop": [1000.0, 300.0, 7.0], "other": [1.0, 2.0, np.nan]},
        geometry=[
            shapely.box(0, 0, 4000, 2000),
            shapely.Polygon([(4000, 0), (8000, 0), (8000, 4000), (4000, 0)]),
            shapely.box(9000, 9000, 9100, 9100),  # smaller than a cell
        ],
        crs=UTM,
    )


def test_area_spread_conserves_population_inside_zones() -> None:
    zones = squares()
    population = zones["pop"].to_numpy()
    points = area_points(zones, population, cell_m=500)
    assert points.population.sum() == pytest.approx(population.sum())
    inside = shapely.intersects_xy(zones.geometry.to_numpy()[points.zone], points.x, points.y)
    assert inside.all()
    counts = np.bincount(points.zone)
    assert counts[0] == 32  # 4000 x 2000 m at 500 m: 8 x 4 cell centres
    assert counts[2] == 1  # the tiny zone keeps its interior point
    for zone in range(3):
        shares = points.population[points.zone == zone]
        assert shares == pytest.approx(np.full(len(shares), population[zone] / len(shares)))
    one = interior_points(zones, population)
    assert shapely.contains_xy(zones.geometry.to_numpy(), one.x, one.y).all()


def test_zone_population_expression_and_errors() -> None:
    zones = squares()
    assert zone_population(zones, "pop * 0.5 + other", "t").tolist() == [501.0, 152.0, 0.0]
    with pytest.raises(CriterionError, match=r"layers\.tracts: population"):
        zone_population(zones, "pop + popp", "layers.tracts")
    with pytest.raises(CriterionError, match="negative"):
        zone_population(zones, "other - pop", "layers.tracts")


def test_spec_validation() -> None:
    with pytest.raises(ValidationError, match="e2sfca needs 'competitors"):
        AccessibilitySpec(kind="accessibility", layer="t", population="p", method="e2sfca")
    with pytest.raises(ValidationError, match="straight_line only"):
        AccessibilitySpec(
            kind="accessibility", layer="t", population="p", travel="network", speed_kmh=30
        )
    with pytest.raises(ValidationError, match="same length"):
        DecaySpec(fn="zones", breaks=[5, 10], weights=[1])
    with pytest.raises(ValidationError, match="increase"):
        DecaySpec(fn="zones", breaks=[10, 5], weights=[1, 0.5])
    assert resolve_mode(None, has_network=True, straight_set=False) == "network"
    assert resolve_mode(None, has_network=True, straight_set=True) == "straight_line"
    assert resolve_mode(None, has_network=False, straight_set=False) == "straight_line"
    assert resolve_mode("straight_line", has_network=True, straight_set=False) == "straight_line"


@pytest.fixture(scope="module")
def study(world_config: Path) -> Study:
    return load_study(load_config(world_config))


def test_measure_network_gravity_logs_and_equals_pairs(
    study: Study, caplog: pytest.LogCaptureFixture
) -> None:
    spec = AccessibilitySpec(
        kind="accessibility",
        layer="tracts",
        population="pop_total_population",
        decay=DecaySpec(fn="exponential", half_min=2),
        max_minutes=10,
    )
    with caplog.at_level("INFO"):
        got = measure_access(spec, study)
    assert "drive times over the road network" in caplog.text
    graph = study.road_graph()
    tracts = study.vector("tracts")
    travel = NetworkTravel(graph, 20.0, 1000.0)
    one = interior_points(tracts, tracts["pop_total_population"].to_numpy(float))
    origins = travel.locate(one.x, one.y)
    for c, geom in enumerate(study.candidates.geometry):
        point = shapely.point_on_surface(geom)
        site = travel.locate(np.array([point.x]), np.array([point.y]))
        want = 0.0
        for i in range(len(one)):
            seconds = dijkstra(graph.matrix, indices=int(origins.node[i]))[site.node[0]]
            t = seconds / 60 + origins.connector_min[i] + site.connector_min[0]
            if t <= 10:
                want += one.population[i] * 0.5 ** (t / 2)
        assert got.values[c] == pytest.approx(want)
    assert set(got.extra_columns) == {"snap_m", "off_network"}


def test_measure_e2sfca_and_area_spread(study: Study) -> None:
    common = {
        "kind": "accessibility",
        "layer": "tracts",
        "population": "pop_total_population",
        "decay": DecaySpec(fn="gaussian", half_min=3),
        "speed_kmh": 30,
    }
    e2sfca = AccessibilitySpec(
        **common,
        method="e2sfca",
        competitors=FacilitiesSpec(layer="hospitals", type_column=None),
        target_beds_per_1000=100,
    )
    gravity_values = measure_access(AccessibilitySpec(**common), study).values
    got = measure_access(e2sfca, study)
    assert (got.values > 0).all()
    assert (got.values < gravity_values).all()  # unmet demand is part of the demand
    zones_overlay = got.overlays[0].gdf
    assert (zones_overlay["unmet_demand"] <= zones_overlay["target_population"]).all()
    spread = measure_access(AccessibilitySpec(**common, spread="area", cell_m=200), study)
    assert spread.overlays[0].gdf["target_population"].sum() == pytest.approx(10_000)
    assert not np.allclose(spread.values, gravity_values)


def test_threaded_network_reduction_equals_serial(graph) -> None:
    rng = np.random.default_rng(9)
    zones = rng.uniform([X0, Y0], [X0 + 2400, Y0 + 2400], (11, 2))
    sites = rng.uniform([X0 - 100, Y0 - 100], [X0 + 2500, Y0 + 2500], (300, 2))
    weight = rng.uniform(0, 100, len(zones))
    reducer = gravity_reducer(weight, DECAYS[0].weights_at, len(sites))
    serial = NetworkTravel(graph, 20, 800, workers=1)
    threaded = NetworkTravel(graph, 20, 800, workers=3)
    origins, dests = serial.locate(*zones.T), serial.locate(*sites.T)
    (want,) = serial.reduce(origins, dests, 4.0, reducer)
    (got,) = threaded.reduce(origins, dests, 4.0, reducer)
    assert got == pytest.approx(want)
    assert (want > 0).sum() > 100
    assert want == pytest.approx(
        gravity(serial.iter_pairs(origins, dests, 4.0), weight, DECAYS[0].weights_at, len(sites))
    )


@pytest.mark.parametrize("seed", [11, 12, 13])
def test_network_pairs_on_shape_points_equal_full_graph_dijkstra(seed: int) -> None:
    """Searches over the contracted core, read at shape nodes, several sites per node."""
    from tests.test_contract import street_graph

    graph = street_graph(seed, 12, 40, 0.3)
    rng = np.random.default_rng(seed)
    zones = rng.uniform(0, 1000, (7, 2))
    sites = rng.uniform(-50, 1050, (150, 2))
    sites = np.concatenate([sites, sites[:40] + rng.normal(0, 5, (40, 2))])  # crowded nodes
    travel = NetworkTravel(graph, connector_speed_kmh=20, max_snap_m=120)
    origins, dests = travel.locate(*zones.T), travel.locate(*sites.T)
    contraction = travel.contraction(origins.node)
    assert len(contraction.core) < 0.8 * graph.n_nodes
    assert (contraction.position[dests.node] < 0).any()  # some sites sit on shape points
    assert np.bincount(dests.node).max() >= 3
    max_minutes = 2.5
    got = np.full((len(zones), len(sites)), np.inf)
    for block in travel.iter_pairs(origins, dests, max_minutes):
        assert np.isinf(got[block.origin, block.destination]).all()  # each pair once
        got[block.origin, block.destination] = block.minutes
    want = np.full_like(got, np.inf)
    for i in range(len(zones)):
        seconds = dijkstra(graph.matrix, directed=True, indices=int(origins.node[i]))
        t = seconds[dests.node] / 60 + origins.connector_min[i] + dests.connector_min
        want[i] = np.where((t <= max_minutes) & ~dests.far, t, np.inf)
    assert np.isinf(got).tolist() == np.isinf(want).tolist()
    assert got[np.isfinite(want)] == pytest.approx(want[np.isfinite(want)], rel=1e-12)
    assert 0.1 < np.isfinite(want).mean() < 0.9  # the cut-off bites
    weight = rng.uniform(0, 100, len(zones))
    reducer = gravity_reducer(weight, DECAYS[0].weights_at, len(sites))
    (reduced,) = travel.reduce(origins, dests, max_minutes, reducer)
    naive = [
        sum(weight[i] * naive_decay(DECAYS[0], want[i, c]) for i in range(len(zones)))
        for c in range(len(sites))
    ]
    assert reduced == pytest.approx(naive, rel=1e-9, abs=1e-12)
