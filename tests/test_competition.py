"""Competition: facilities (filters, bed imputation, owner), Huff vs naive, nearest, real data."""

from __future__ import annotations

import math
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from siteselect._errors import CriterionError
from siteselect.config import load_config
from siteselect.criteria.competition import CompetitionSpec
from siteselect.criteria.competition import measure as measure_competition
from siteselect.criteria.market import huff_capture, huff_denominators, huff_shares
from siteselect.network.traveltime import StraightLineTravel
from siteselect.pipeline import run
from siteselect.study import Study, load_study
from siteselect.study.facilities import FacilitiesSpec, OwnerSpec, impute_beds, select_facilities
from tests._world import UTM, X0, Y0


def naive_huff(
    zones: np.ndarray,
    population: np.ndarray,
    facilities: np.ndarray,
    beds: np.ndarray,
    owner: np.ndarray,
    site: np.ndarray,
    site_beds: float,
    alpha: float,
    beta: float,
    min_minutes: float,
    max_minutes: float,
    minutes_per_m: float,
) -> tuple[float, float]:
    """Expected patients of one site and the owner's loss, by the definition (before/after)."""

    def attraction(a: np.ndarray, b: np.ndarray, size: float) -> float:
        t = math.dist(a, b) * minutes_per_m
        return 0.0 if t > max_minutes else size**alpha * max(t, min_minutes) ** -beta

    capture = loss = 0.0
    for zone, pop in zip(zones, population, strict=True):
        existing = [attraction(zone, f, s) for f, s in zip(facilities, beds, strict=True)]
        mine = attraction(zone, site, site_beds)
        owned = sum(a for a, o in zip(existing, owner, strict=True) if o)
        before = owned / sum(existing) if sum(existing) > 0 else 0.0
        after_total = sum(existing) + mine
        if after_total > 0:
            capture += pop * mine / after_total
            loss += pop * (before - owned / after_total)
    return capture, loss


def huff_case(seed: int, n_zones: int = 25, n_sites: int = 20, n_fac: int = 7):
    rng = np.random.default_rng(seed)
    return (
        rng.uniform(0, 30_000, (n_zones, 2)),
        rng.uniform(0, 5000, n_zones),
        rng.uniform(0, 30_000, (n_fac, 2)),
        rng.uniform(30, 700, n_fac),
        rng.random(n_fac) < 0.3,
        rng.uniform(0, 30_000, (n_sites, 2)),
    )


def vectorised_huff(case, site_beds, alpha, beta, min_minutes, max_minutes, speed_kmh=40.0):
    zones, population, facilities, beds, owner, sites = case
    travel = StraightLineTravel(speed_kmh)
    origins = travel.locate(*zones.T)
    minutes = travel.matrix(origins, travel.locate(*facilities.T), max_minutes)
    denominator, owner_part = huff_denominators(minutes, beds, owner, alpha, beta, min_minutes)
    return huff_capture(
        travel.iter_pairs(origins, travel.locate(*sites.T), max_minutes),
        population,
        denominator,
        owner_part,
        site_beds**alpha,
        beta,
        min_minutes,
        len(sites),
    ), travel


@pytest.mark.parametrize(
    ("seed", "alpha", "beta", "max_minutes"),
    [(1, 1.0, 2.0, 60.0), (2, 0.7, 1.5, 25.0), (3, 1.3, 3.0, 15.0)],
)
def test_huff_capture_and_cannibalisation_equal_naive(
    seed: int, alpha: float, beta: float, max_minutes: float
) -> None:
    case = huff_case(seed)
    (capture, cannibalised), travel = vectorised_huff(case, 400, alpha, beta, 1.0, max_minutes)
    zones, population, facilities, beds, owner, sites = case
    assert owner.any()
    for c, site in enumerate(sites):
        want = naive_huff(
            zones,
            population,
            facilities,
            beds,
            owner,
            site,
            400,
            alpha,
            beta,
            1.0,
            max_minutes,
            travel.minutes_per_m,
        )
        assert capture[c] == pytest.approx(want[0], rel=1e-9, abs=1e-9)
        assert cannibalised[c] == pytest.approx(want[1], rel=1e-9, abs=1e-9)
    assert (cannibalised <= capture + 1e-9).all()
    assert cannibalised.max() > 0


def test_huff_shares_sum_to_one_and_match_capture() -> None:
    zones, population, facilities, beds, owner, sites = huff_case(4)
    travel = StraightLineTravel(40)
    origins = travel.locate(*zones.T)
    site = sites[:1]
    columns = np.vstack([facilities, site])
    minutes = travel.matrix(origins, travel.locate(*columns.T), 30.0)
    shares = huff_shares(minutes, np.append(beds, 400.0), 2.0, 1.0)
    reach = np.isfinite(minutes).any(axis=1)
    assert shares.sum(axis=1)[reach] == pytest.approx(np.ones(reach.sum()))
    assert (shares.sum(axis=1)[~reach] == 0).all()
    (capture, _), _ = vectorised_huff(
        (zones, population, facilities, beds, owner, site), 400, 1.0, 2.0, 1.0, 30.0
    )
    assert capture[0] == pytest.approx(population @ shares[:, -1])


def test_min_travel_minutes_guards_zero_distance() -> None:
    zones = np.array([[0.0, 0.0]])
    case = (
        zones,
        np.array([100.0]),
        np.array([[0.0, 0.0]]),
        np.array([400.0]),
        np.array([False]),
        zones.copy(),
    )
    (capture, _), _ = vectorised_huff(case, 400, 1.0, 2.0, 1.0, 60.0)
    assert capture[0] == pytest.approx(50.0)  # both at t = 0 -> clipped equal: half each


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    x=st.floats(0, 30_000),
    y=st.floats(0, 30_000),
    new_beds=st.floats(1, 2000),
    beta=st.floats(0.5, 3.0),
)
def test_adding_a_competitor_never_increases_capture(
    seed: int, x: float, y: float, new_beds: float, beta: float
) -> None:
    case = huff_case(seed, n_zones=12, n_sites=10, n_fac=4)
    zones, population, facilities, beds, owner, sites = case
    (before, _), _ = vectorised_huff(case, 400, 1.0, beta, 1.0, 40.0)
    more = (
        zones,
        population,
        np.vstack([facilities, [[x, y]]]),
        np.append(beds, new_beds),
        np.append(owner, False),
        sites,
    )
    (after, _), _ = vectorised_huff(more, 400, 1.0, beta, 1.0, 40.0)
    assert (after <= before * (1 + 1e-12) + 1e-12).all()


def hospitals() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {
            "NAME": ["Kaiser A", "B General", "C Psych", "D Navy", "E General", "F Closed"],
            "TYPE": [
                "GENERAL ACUTE CARE",
                "general acute care ",
                "PSYCHIATRIC",
                "MILITARY",
                "GENERAL ACUTE CARE",
                "GENERAL ACUTE CARE",
            ],
            "STATUS": ["OPEN", "OPEN", "OPEN", "OPEN", "OPEN", "CLOSED"],
            "BEDS": [400, -999, 80, -999, 100, None],
        },
        geometry=shapely.points(np.arange(6) * 1000.0, np.zeros(6)),
        crs=UTM,
    ).assign(feature_name=lambda f: f["NAME"])


def test_impute_beds_by_type_median() -> None:
    beds, imputed = impute_beds(
        np.array([400, -999, 80, np.nan, 100, 0, 300.0]),
        np.array(["G", "G", "P", "M", "G", "G", "G"], dtype=object),
    )
    assert imputed.tolist() == [False, True, False, True, False, True, False]
    assert beds.tolist() == [400, 300, 80, 200, 100, 300, 300]  # M: overall median of known
    with pytest.raises(CriterionError, match="no facility has a known bed count"):
        impute_beds(np.array([-999.0, 0.0]), None)


def test_select_facilities_filters_owner_and_imputation(
    caplog: pytest.LogCaptureFixture,
) -> None:
    spec = FacilitiesSpec(
        layer="hospitals",
        where={"TYPE": ["general acute care", "MILITARY"], "STATUS": "open"},
        exclude={"NAME": "E GENERAL"},
        owner=OwnerSpec(column="NAME", contains="kaiser"),
    )
    with caplog.at_level("INFO"):
        got = select_facilities(hospitals(), spec, "criteria.competition")
    assert got.frame["NAME"].tolist() == ["Kaiser A", "B General", "D Navy"]
    assert got.beds.tolist() == [400, 400, 400]  # B: type median; D: no known MILITARY -> all
    assert got.frame["imputed_beds"].tolist() == [False, True, True]
    assert got.owner.tolist() == [True, False, False]
    assert "imputed unknown beds for 2 of 3" in caplog.text
    assert "no known bed count of this type" in caplog.text
    small = FacilitiesSpec(layer="hospitals", min_beds=90, where={"STATUS": "OPEN"})
    assert select_facilities(hospitals(), small, "c").frame["NAME"].tolist() == [
        "Kaiser A",
        "B General",
        "D Navy",
        "E General",
    ]
    with pytest.raises(CriterionError, match="column 'KIND'"):
        select_facilities(hospitals(), FacilitiesSpec(layer="h", where={"KIND": "x"}), "c")
    with pytest.raises(CriterionError, match="passes the filters"):
        select_facilities(hospitals(), FacilitiesSpec(layer="h", where={"TYPE": "x"}), "c")
    with pytest.raises(ValidationError, match="exactly one of"):
        OwnerSpec(column="NAME")


@pytest.fixture(scope="module")
def study(world_config: Path) -> Study:
    return load_study(load_config(world_config))


def test_nearest_model_straight_line_and_network(study: Study) -> None:
    base = {"kind": "competition", "model": "nearest", "layer": "hospitals", "type_column": None}
    straight = measure_competition(
        CompetitionSpec(**base, travel="straight_line", speed_kmh=30), study
    )
    hospital = shapely.Point(X0 + 200, Y0 + 1200)  # the open one
    for geom, value, name in zip(
        study.candidates.geometry, straight.values, straight.feature, strict=True
    ):
        assert value == pytest.approx(shapely.point_on_surface(geom).distance(hospital) / 500)
        assert name == "West Hospital"
    network = measure_competition(CompetitionSpec(**base), study)
    assert np.isfinite(network.values).all()
    assert (network.values > straight.values * 30 / 60).all()  # roads are slower than 60 km/h
    assert np.corrcoef(network.values, straight.values)[0, 1] > 0.8


def test_huff_measure_reports_cannibalisation(study: Study) -> None:
    spec = CompetitionSpec(
        kind="competition",
        layer="hospitals",
        type_column=None,
        owner={"column": "NAME", "equals": "west hospital"},
        demand={"layer": "tracts", "population": "pop_total_population"},
        max_minutes=30,
    )
    got = measure_competition(spec, study)
    captured = got.extra_columns["captured"]
    assert got.values == pytest.approx(captured, abs=0.06)
    assert (got.extra_columns["cannibalised"] == captured).all()  # the only facility is ours
    assert (captured > 0).all() and (captured < 10_000).all()
    net = measure_competition(spec.model_copy(update={"net_of_cannibalisation": True}), study)
    assert net.values == pytest.approx(0.0, abs=1e-6)
    with pytest.raises(ValidationError, match="huff needs 'demand"):
        CompetitionSpec(kind="competition", layer="hospitals")


SD_CONFIG = """\
name: San Diego real data
candidates: {{source: sites.gpkg, layer: sites, id: site}}
layers:
  tracts: {{source: {census}, layer: tracts, name_column: GEOID}}
  hospitals: {{source: {hospitals}, name_column: NAME}}
criteria:
  members:
    kind: accessibility
    layer: tracts
    population: hh_income_75K_99K + hh_income_100K_149K + hh_income_150K_199K
    decay: {{fn: gaussian, half_min: 15}}
    speed_kmh: 50
    circuity: 1.3
    transform: {{fn: minmax, better: higher}}
    weight: 1
  unmet:
    kind: accessibility
    layer: tracts
    population: pop_total_population
    method: e2sfca
    competitors: {{layer: hospitals, where: {{STATUS: OPEN, TYPE: [GENERAL ACUTE CARE, MILITARY]}}}}
    decay: {{fn: zones, breaks: [10, 20, 30], weights: [1, 0.68, 0.22]}}
    max_minutes: 30
    speed_kmh: 50
    circuity: 1.3
    transform: {{fn: minmax, better: higher}}
    weight: 1
  competition:
    kind: competition
    model: huff
    layer: hospitals
    where: {{STATUS: OPEN, TYPE: [GENERAL ACUTE CARE, MILITARY]}}
    owner: {{column: NAME, contains: KAISER}}
    demand:
      layer: tracts
      population: hh_income_75K_99K + hh_income_100K_149K + hh_income_150K_199K
    max_minutes: 45
    speed_kmh: 50
    circuity: 1.3
    transform: {{fn: minmax, better: higher}}
    weight: 1
outputs: {{dir: out, top_n: 2}}
"""


def test_real_san_diego_ranks_dense_middle_income_above_east_county(
    shared_data: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # Mira Mesa (dense, middle income) and the desert near Ocotillo Wells (east county)
    sites = gpd.GeoDataFrame(
        {"site": ["mira_mesa", "east_county"]},
        geometry=gpd.points_from_xy([-117.143, -116.20], [32.915, 33.10]),
        crs="EPSG:4326",
    ).to_crs("EPSG:32611")
    sites["geometry"] = sites.buffer(150, cap_style="square")
    sites.to_file(tmp_path / "sites.gpkg", layer="sites")
    config = tmp_path / "sd.yaml"
    config.write_text(
        SD_CONFIG.format(
            census=shared_data / "census" / "san_diego_tracts_acs2020_2024.gpkg",
            hospitals=shared_data / "hospitals" / "hifld_san_diego.geojson",
        )
    )
    with caplog.at_level("INFO"):
        result = run(load_config(config))
    assert "straight-line travel at 50 km/h" in caplog.text  # no SD road network in shared data
    # HIFLD marks 3 open military hospitals' beds -999: imputed (no known MILITARY -> overall)
    assert "imputed unknown beds for 3 of 27 facilities" in caplog.text
    table = result.candidates.set_index("candidate_id")
    assert table.loc["mira_mesa", "rank"] == 1
    assert table.loc["east_county", "rank"] == 2
    for name in ("members", "competition"):
        assert table.loc["mira_mesa", f"raw_{name}"] > 10 * table.loc["east_county", f"raw_{name}"]
    assert (table["raw_unmet"] >= 0).all()
    assert "unmet demand" in caplog.text
    assert table.loc["mira_mesa", "competition_cannibalised"] > 0
