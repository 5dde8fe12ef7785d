"""Demand searches shared by the criteria: one pass per search set, the same values."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from siteselect.config import load_config
from siteselect.criteria.accessibility import AccessibilitySpec
from siteselect.criteria.accessibility import measure as measure_access
from siteselect.criteria.competition import CompetitionSpec
from siteselect.criteria.competition import measure as measure_competition
from siteselect.criteria.market import gravity_reducer
from siteselect.network.demand_searches import DemandSearches
from siteselect.network.traveltime import EMPTY_BLOCK, NetworkTravel, StraightLineTravel
from siteselect.pipeline import run
from siteselect.study import load_study

SHARED = """\
name: Shared searches
candidates: {source: parcels.gpkg, layer: parcels, id: apn}
network: {source: roads.osm}
layers:
  hospitals: {source: hospitals.geojson, where: {STATUS: OPEN}}
  tracts: {source: tracts.gpkg}
constraints:
  enough_people:
    kind: accessibility
    layer: tracts
    population: pop_total_population
    method: catchment
    max_minutes: 8
    min: 1
criteria:
  members:
    kind: accessibility
    layer: tracts
    population: pop_total_population * 0.5
    decay: {fn: gaussian, half_min: 3}
    max_minutes: 8
    transform: {fn: minmax, better: higher}
    weight: 2
  unmet:
    {kind: accessibility, layer: tracts, population: pop_total_population, method: e2sfca,
     competitors: {layer: hospitals, type_column: null}, decay: {fn: gaussian, half_min: 3},
     max_minutes: 8, transform: {fn: minmax, better: higher}, weight: 1}
  patients:
    kind: competition
    model: huff
    layer: hospitals
    type_column: null
    demand: {layer: tracts, population: pop_total_population}
    max_minutes: 8
    transform: {fn: minmax, better: higher}
    weight: 1
  nearby:
    kind: accessibility
    layer: tracts
    population: pop_total_population
    method: catchment
    max_minutes: 4
    transform: {fn: minmax, better: higher}
    weight: 1
outputs: {dir: out, top_n: 5}
"""


@pytest.fixture(scope="module")
def shared_config(world_config: Path) -> Path:
    path = world_config.parent / "shared.yaml"
    path.write_text(SHARED, encoding="utf-8")
    return path


def test_pipeline_runs_one_pass_per_search_set(shared_config: Path, monkeypatch) -> None:
    """Four entries at 8 min (one a constraint) share one pass; the 4-min one has its own."""
    passes: list[int] = []
    reduce = NetworkTravel.reduce

    def counted(self, origins, destinations, max_minutes, reducer):
        passes.append(len(reducer(EMPTY_BLOCK)))
        return reduce(self, origins, destinations, max_minutes, reducer)

    monkeypatch.setattr(NetworkTravel, "reduce", counted)
    result = run(load_config(shared_config))
    assert passes == [5, 1]  # catchment, gravity, e2sfca, Huff (2 sums) at 8 min; 4 min
    sets = result.manifest["diagnostics"]["demand_searches"]
    assert [s["max_minutes"] for s in sets] == [8.0, 4.0]
    assert sets[0]["used_by"] == [
        "accessibility (tracts, catchment)",
        "accessibility (tracts, gravity)",
        "accessibility (tracts, e2sfca)",
        "competition (huff)",
    ]
    assert "shared demand searches" in result.manifest["timings_s"]


def test_shared_values_equal_each_criterion_measured_alone(shared_config: Path) -> None:
    """Oracle: every entry measured on its own study (its own searches), bit for bit."""
    config = load_config(shared_config)
    table = run(config).candidates
    for name, spec in config.criteria.items():
        alone = load_study(config)  # nothing planned: the entry searches by itself
        if isinstance(spec, AccessibilitySpec):
            values = measure_access(spec, alone).values
        else:
            assert isinstance(spec, CompetitionSpec)
            values = measure_competition(spec, alone).values
        assert np.array_equal(table[f"raw_{name}"].to_numpy(), values, equal_nan=True), name
        assert np.isfinite(values).sum() >= 3, name


def test_requests_are_grouped_by_travel_points_and_cut_off() -> None:
    rng = np.random.default_rng(3)
    straight = StraightLineTravel(speed_kmh=30)
    origins = straight.locate(*rng.uniform(0, 5000, (6, 2)).T)
    sites = straight.locate(*rng.uniform(0, 5000, (50, 2)).T)
    other_origins = straight.locate(*rng.uniform(0, 5000, (6, 2)).T)
    weight = rng.uniform(1, 10, 6)
    searches = DemandSearches()
    calls: list[int] = []

    def reducer(scale: float):
        inner = gravity_reducer(weight * scale, np.ones_like, len(sites))

        def reduce(block):
            calls.append(len(block.minutes))
            return inner(block)

        return reduce

    first = searches.request(straight, origins, sites, 10.0, reducer(1.0), "a")
    second = searches.request(StraightLineTravel(30), origins, sites, 10.0, reducer(2.0), "b")
    third = searches.request(straight, other_origins, sites, 10.0, reducer(1.0), "c")
    fourth = searches.request(straight, origins, sites, 5.0, reducer(1.0), "d")
    searches.run()
    assert len(searches.diagnostics["demand_searches"]) == 3
    assert searches.diagnostics["demand_searches"][0]["used_by"] == ["a", "b"]
    (a,), (b,) = first.values(), second.values()
    np.testing.assert_array_equal(b, 2 * a)
    (alone,) = straight.reduce(origins, sites, 10.0, gravity_reducer(weight, np.ones_like, 50))
    np.testing.assert_array_equal(a, alone)
    assert not np.array_equal(third.values()[0], a)
    assert (fourth.values()[0] <= a).all()


def test_a_request_runs_its_set_when_asked_before_run() -> None:
    rng = np.random.default_rng(4)
    travel = StraightLineTravel(speed_kmh=30)
    origins = travel.locate(*rng.uniform(0, 5000, (4, 2)).T)
    sites = travel.locate(*rng.uniform(0, 5000, (20, 2)).T)
    searches = DemandSearches()
    request = searches.request(
        travel, origins, sites, 10.0, gravity_reducer(np.ones(4), np.ones_like, 20), "a"
    )
    (counts,) = request.values()
    minutes = travel.matrix(origins, sites, 10.0)
    np.testing.assert_array_equal(counts, np.isfinite(minutes).sum(axis=0))
    searches.run()  # nothing left to run
    assert len(searches.diagnostics["demand_searches"]) == 1
