"""Airspace: Part 77 / UFC surfaces by hand, against a naive oracle, on real runways, end to end."""

from __future__ import annotations

import math
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pyproj
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

from siteselect._errors import ConfigError, CriterionError
from siteselect.airspace import Airport, Override, Runway, build_model, evaluate, read_runways
from siteselect.airspace.critical import critical_points
from siteselect.airspace.heights import aicuz_at, approach_height_ft, notice_required
from siteselect.airspace.hull import disc_hull
from siteselect.airspace.model import APPROACH_HE, AirspaceModel
from siteselect.airspace.polygons import surface_polygons, zone_polygons
from siteselect.airspace.reach import reach
from siteselect.airspace.reference import lowest_surface_naive
from siteselect.airspace.runways import infer_category, infer_kind
from siteselect.config import load_config
from siteselect.geo import M_PER_FT
from siteselect.outputs import write_outputs
from siteselect.pipeline import run
from tests._world import UTM, X0, Y0, write_world

SanDiego = tuple[dict[str, Airport], list[Runway], AirspaceModel]
RX, RY = 500_000.0, 3_600_000.0  # le end of the test runways (EPSG:32611 metres)
LENGTH_FT = 10_000.0


def _runway(
    airport: str = "KTST",
    length_ft: float = LENGTH_FT,
    elevations: tuple[float, float] = (100.0, 100.0),
    category: str = "precision",
    origin: tuple[float, float] = (RX, RY),
    heading_deg: float = 90.0,
    idents: tuple[str, str] = ("09", "27"),
    **changes: object,
) -> Runway:
    """A runway from ``origin`` along compass ``heading_deg`` (90 = east)."""
    angle = math.radians(90.0 - heading_deg)
    length_m = length_ft * M_PER_FT
    he = (origin[0] + length_m * math.cos(angle), origin[1] + length_m * math.sin(angle))
    fields: dict[str, object] = {
        "airport": airport,
        "le_ident": idents[0],
        "he_ident": idents[1],
        "le_xy": origin,
        "he_xy": he,
        "le_elevation_ft": elevations[0],
        "he_elevation_ft": elevations[1],
        "width_ft": 150.0,
        "hard_surface": True,
        "heliport": False,
        "le_category": category,
        "he_category": category,
        "utility": False,
        "aicuz": False,
    }
    fields.update(changes)
    return Runway(**fields)  # type: ignore[arg-type]


def _model(*runways: Runway, kind: str = "civil", elevation: float | None = None) -> AirspaceModel:
    idents = sorted({r.airport for r in runways})
    airports = {
        ident: Airport(
            ident,
            ident,
            kind,  # type: ignore[arg-type]
            elevation
            if elevation is not None
            else max(max(r.le_elevation_ft, r.he_elevation_ft) for r in runways),
        )
        for ident in idents
    }
    return build_model(airports, list(runways))


def _at(s_ft: float | np.ndarray, t_ft: float | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Points in local feet of an east-bound runway starting at (RX, RY), in metres."""
    s, t = np.broadcast_arrays(np.atleast_1d(s_ft), np.atleast_1d(t_ft))
    return RX + s * M_PER_FT, RY + t * M_PER_FT


def _height(model: AirspaceModel, s_ft: float, t_ft: float) -> tuple[float, str]:
    result = evaluate(model, *_at(s_ft, t_ft))
    return float(result.height_ft[0]), str(result.surface_names()[0])


# --- hand-computed heights, one precision runway 10,000 ft, ends at 100 ft, airport 100 ft ---

END = LENGTH_FT + 200.0  # he end of the primary surface
HAND_CASES = [
    # (s ft, t ft, height ft MSL, surface) - worked out from 14 CFR 77.19
    (END + 5_080.0, 0.0, 100 + 5_080 / 50, "KTST RWY 27 approach surface"),  # 1 mile past the end
    (END + 5_080.0, 1_000.0, 100 + 5_080 / 50, "KTST RWY 27 approach surface"),  # half width 1262
    (-200.0 - 20_000.0, 0.0, 100 + 10_000 / 50 + 10_000 / 40, "KTST RWY 09 approach surface"),
    (5_000.0, 850.0, 100 + 350 / 7, "KTST RWY 09/27 transitional surface"),  # beside primary
    (END + 2_000.0, 940.0, 100 + 2_000 / 50 + 140 / 7, "KTST RWY 09/27 transitional surface"),
    (5_000.0, 3_000.0, 250.0, "KTST horizontal surface"),  # transitional would be 457
    (5_000.0, 12_000.0, 250 + 2_000 / 20, "KTST conical surface"),  # 2,000 ft outside the arcs
    (END + 11_000 * math.cos(math.pi / 4), 11_000 * math.sin(math.pi / 4), 300.0,
     "KTST conical surface"),  # 1,000 ft beyond the 10,000 ft arc, off the approach
    (3_000.0, 0.0, 100.0, "KTST RWY 09/27 primary surface"),
    (5_000.0, 15_000.0, math.inf, ""),  # beyond the conical surface
]  # fmt: skip


@pytest.mark.parametrize(("s_ft", "t_ft", "want_ft", "surface"), HAND_CASES)
def test_hand_computed_heights(s_ft: float, t_ft: float, want_ft: float, surface: str) -> None:
    model = _model(_runway())
    got, name = _height(model, s_ft, t_ft)
    if math.isinf(want_ft):
        assert math.isinf(got) and name == ""
    else:
        assert got == pytest.approx(want_ft, abs=1.0)
        assert got == pytest.approx(want_ft, abs=0.05)  # the formulas are exact, not sampled
    assert name == surface


def test_sloped_runway_primary_and_transitional_follow_the_centre_line() -> None:
    model = _model(_runway(elevations=(100.0, 120.0)))
    assert _height(model, 3_000.0, 0.0)[0] == pytest.approx(106.0, abs=0.01)
    assert _height(model, 3_000.0, 850.0)[0] == pytest.approx(106.0 + 50.0, abs=0.01)
    # horizontal = established airport elevation (the highest end) + 150
    assert _height(model, 5_000.0, 3_000.0)[0] == pytest.approx(270.0, abs=0.01)
    # the 27 approach starts at the 27 end's elevation
    assert _height(model, END + 1_000.0, 0.0)[0] == pytest.approx(120.0 + 20.0, abs=0.01)


def test_feet_and_metres() -> None:
    model = _model(_runway())
    he_x = RX + LENGTH_FT * M_PER_FT
    result = evaluate(model, np.array([he_x + 1_609.344]), np.array([RY]))  # one statute mile
    assert result.height_ft[0] == pytest.approx(201.6, abs=1e-6)
    assert result.height_m[0] == pytest.approx(201.6 * 0.3048, abs=1e-6)
    assert M_PER_FT == 0.3048


def test_visual_utility_and_non_precision_dimensions() -> None:
    visual = _model(_runway(category="visual", utility=True, length_ft=3_000.0))
    end = 3_000.0 + 200.0
    assert _height(visual, end + 1_000.0, 0.0)[0] == pytest.approx(100 + 1_000 / 20, abs=0.01)
    assert _height(visual, 1_500.0, 125.0 + 70.0)[0] == pytest.approx(110.0, abs=0.01)  # 250 wide
    assert _height(visual, 1_500.0, 4_000.0)[0] == pytest.approx(250.0, abs=0.01)  # 5,000 ft arcs
    assert _height(visual, 1_500.0, 6_000.0)[0] == pytest.approx(250.0 + 50.0, abs=0.01)
    nonprecision = _model(_runway(category="non_precision"))
    assert _height(nonprecision, END + 3_400.0, 0.0)[0] == pytest.approx(200.0, abs=0.01)  # 34:1


def test_military_surfaces() -> None:
    model = _model(_runway(airport="KMIL", aicuz=True), kind="military")
    # approach-departure 50:1 from the end, level at 500 ft above the airfield
    assert _height(model, END + 10_000.0, 0.0) == pytest.approx(
        (300.0, "KMIL RWY 27 approach-departure surface")
    )
    assert _height(model, END + 40_000.0, 0.0)[0] == pytest.approx(600.0, abs=0.01)
    # inner horizontal 150 ft at 7,500 ft, conical 20:1 for 7,000 ft, outer horizontal 500 ft
    assert _height(model, 5_000.0, 5_000.0)[0] == pytest.approx(250.0, abs=0.01)
    assert _height(model, 5_000.0, 9_500.0) == pytest.approx((350.0, "KMIL conical surface"))
    assert _height(model, 5_000.0, 30_000.0) == pytest.approx(
        (600.0, "KMIL outer horizontal surface")
    )
    assert math.isinf(_height(model, 5_000.0, 45_000.0)[0])
    # primary surface 2,000 ft wide: transitional starts 1,000 ft from the centre line
    assert _height(model, 5_000.0, 1_070.0)[0] == pytest.approx(110.0, abs=0.01)


def test_aicuz_zones_from_the_runway_end() -> None:
    model = _model(_runway(airport="KMIL", aicuz=True), kind="military")
    labels = model.zone_labels()
    s = LENGTH_FT + np.array([1_000.0, 5_000.0, 10_000.0, 16_000.0, 5_000.0])
    t = np.array([0.0, 1_400.0, -1_000.0, 0.0, 1_600.0])
    zone = aicuz_at(model, RX + s * M_PER_FT, RY + t * M_PER_FT)
    names = [labels[z] if z >= 0 else "" for z in zone]
    assert names == ["KMIL RWY 27 clear zone", "KMIL RWY 27 APZ I", "KMIL RWY 27 APZ II", "", ""]
    x, y = _at(-4_000.0, 0.0)
    assert labels[aicuz_at(model, x, y)[0]] == "KMIL RWY 09 APZ I"
    civil = _model(_runway())
    assert civil.zones == []


def test_heliport_surfaces() -> None:
    pad = _runway(airport="KHEL", length_ft=100.0, category="visual", heliport=True, width_ft=100.0)
    model = _model(pad)
    assert _height(model, 100.0 + 800.0, 0.0)[0] == pytest.approx(200.0, abs=0.01)  # 8:1
    assert _height(model, 50.0, 50.0 + 100.0)[0] == pytest.approx(150.0, abs=0.01)  # 2:1
    assert math.isinf(_height(model, 50.0, 300.0)[0])  # transitional ends 250 ft out
    assert model.airports == []  # no horizontal surface at a heliport


def test_notice_required_77_9() -> None:
    model = _model(_runway())
    x, y = _at(5_000.0, np.array([15_000.0, 19_000.0, 25_000.0]))
    ground = np.full(3, 100.0)
    assert notice_required(model, x, y, ground, 180.0).tolist() == [True, False, False]
    assert notice_required(model, x, y, ground, 210.0).tolist() == [True, True, True]
    unknown = np.full(3, np.nan)  # flat ground at the runway's elevation
    assert notice_required(model, x, y, unknown, 180.0).tolist() == [True, False, False]
    assert notice_required(model, x, y, ground + 40.0, 160.0).tolist() == [True, True, False]


# --- properties and the naive oracle ---


@settings(max_examples=200, deadline=None)
@given(
    category=st.sampled_from(["visual", "non_precision", "non_precision_low", "precision"]),
    utility=st.booleans(),
    military=st.booleans(),
    elevation=st.floats(-100, 8_000),
    u1=st.floats(0, 60_000),
    u2=st.floats(0, 60_000),
)
def test_approach_height_never_decreases_with_distance(
    category: str, utility: bool, military: bool, elevation: float, u1: float, u2: float
) -> None:
    runway = _runway(category=category, utility=utility, elevations=(elevation, elevation))
    model = _model(runway, kind="military" if military else "civil")
    surfaces = model.runways[0]
    near, far = sorted((u1, u2))
    heights = approach_height_ft(surfaces, 1, np.array([near, far]))
    assert heights[0] <= heights[1] + 1e-9
    # and so does the lowest surface of all along the extended centre line
    s = LENGTH_FT + surfaces.primary_extension_ft + np.array([near, far])
    lowest = evaluate(model, RX + s * M_PER_FT, np.full(2, RY)).height_ft
    assert lowest[0] <= lowest[1] + 1e-9


def _mixed_model() -> AirspaceModel:
    """Civil airport with a precision and a crossing visual utility runway (unequal arcs),
    a military airfield with parallel runways and a helipad, 20 km apart."""
    civil = [
        _runway("KCIV", 9_000.0, (40.0, 55.0), "precision", heading_deg=100.0),
        _runway(
            "KCIV",
            3_000.0,
            (50.0, 48.0),
            "visual",
            origin=(RX + 600.0, RY - 900.0),
            heading_deg=20.0,
            idents=("02", "20"),
            utility=True,
            hard_surface=False,
        ),
    ]
    mil_origin = (RX + 20_000.0, RY + 6_000.0)
    military = [
        _runway("KMIL", 12_000.0, (420.0, 470.0), origin=mil_origin, heading_deg=75.0, aicuz=True),
        _runway(
            "KMIL",
            8_000.0,
            (430.0, 475.0),
            origin=(mil_origin[0] + 400.0, mil_origin[1] - 300.0),
            heading_deg=75.0,
            idents=("06R", "24L"),
            aicuz=True,
        ),
        _runway(
            "KMIL",
            1_000.0,
            (477.0, 477.0),
            "visual",
            origin=(mil_origin[0] + 1_500.0, mil_origin[1] - 1_500.0),
            heading_deg=75.0,
            idents=("06H", "24H"),
            heliport=True,
            width_ft=100.0,
        ),
    ]
    airports = {
        "KCIV": Airport("KCIV", "Civil Field", "civil", 55.0),
        "KMIL": Airport("KMIL", "Naval Air Station", "military", 477.0),
    }
    return build_model(airports, civil + military)


def test_vectorised_equals_naive_oracle() -> None:
    model = _mixed_model()
    rng = np.random.default_rng(7)
    n = 1_500
    x = rng.uniform(RX - 25_000, RX + 45_000, n)
    y = rng.uniform(RY - 20_000, RY + 25_000, n)
    # plus points close to the runways, where most surfaces meet
    for surfaces in model.runways:
        (x0, y0), (x1, y1) = surfaces.runway.le_xy, surfaces.runway.he_xy
        f = rng.uniform(-1.5, 2.5, 200)
        x = np.r_[x, x0 + f * (x1 - x0) + rng.normal(0, 400, 200)]
        y = np.r_[y, y0 + f * (y1 - y0) + rng.normal(0, 400, 200)]
    got = evaluate(model, x, y, chunk=257).height_ft
    want = np.array([lowest_surface_naive(model, xi, yi) for xi, yi in zip(x, y, strict=True)])
    assert (np.isinf(got) == np.isinf(want)).mean() > 0.998  # hull polygon vs exact arcs at edges
    both = np.isfinite(got) & np.isfinite(want)
    assert both.sum() > 1_000
    assert np.abs(got[both] - want[both]).max() < 0.5


def test_disc_hull_signed_distance_equals_shapely() -> None:
    rng = np.random.default_rng(3)
    centres = rng.uniform(0, 5_000, (5, 2))
    radii = rng.uniform(500, 3_000, 5)
    hull = disc_hull(centres, radii)
    outline = shapely.convex_hull(
        shapely.MultiPolygon(
            [
                shapely.Point(c).buffer(r, quad_segs=2048)
                for c, r in zip(centres, radii, strict=True)
            ]
        )
    )
    x, y = rng.uniform(-6_000, 11_000, (2, 500))
    got = hull.signed_distance(x, y)
    points = shapely.points(x, y)
    want = np.where(
        shapely.covers(outline, points),
        -shapely.distance(outline.exterior, points),
        shapely.distance(outline, points),
    )
    assert np.abs(got - want).max() < 0.05


def _parcel_minimum(model: AirspaceModel, parcel: shapely.Geometry) -> float:
    """Lowest surface (ft MSL) over the parcel's critical points (the kind's exact method)."""
    geoms = np.array([parcel])
    points = critical_points(model, geoms, reach(model, geoms), 180.0)
    return float(evaluate(model, points.x, points.y).height_ft.min())


def test_parcel_minimum_is_found_between_vertices() -> None:
    """A strip across the approach with its vertices far off the centre line."""
    model = _model(_runway())
    s0 = LENGTH_FT + 200.0 + 5_080.0
    strip = shapely.box(
        *(RX + s0 * M_PER_FT, RY - 3_000.0), *(RX + (s0 + 100) * M_PER_FT, RY + 3_000.0)
    )
    assert _parcel_minimum(model, strip) == pytest.approx(201.6, abs=1e-4)


@settings(max_examples=25, deadline=None)
@given(
    cx=st.floats(-8_000, 20_000),
    cy=st.floats(-6_000, 6_000),
    w=st.floats(50, 600),
    h=st.floats(50, 600),
    angle=st.floats(0, 180),
)
def test_parcel_minimum_not_above_dense_interior_grid(
    cx: float, cy: float, w: float, h: float, angle: float
) -> None:
    """The exact minimum is never above a dense search of the interior."""
    model = _model(_runway())
    box = shapely.box(-w / 2, -h / 2, w / 2, h / 2)
    parcel = shapely.affinity.translate(
        shapely.affinity.rotate(box, angle), RX + cx * M_PER_FT, RY + cy * M_PER_FT
    )
    found = _parcel_minimum(model, parcel)
    gx, gy = np.meshgrid(
        *[np.linspace(a, b, 120) for a, b in zip(parcel.bounds[:2], parcel.bounds[2:], strict=True)]
    )
    inside = shapely.contains_xy(parcel, gx, gy)
    dense = evaluate(model, gx[inside], gy[inside]).height_ft
    if inside.any() and np.isfinite(dense).any():
        assert found <= dense.min() + 1e-4


# --- inference and overrides ---


def test_inference_defaults() -> None:
    assert infer_kind("Miramar Marine Corps Air Station - Mitscher Field") == "military"
    assert infer_kind("North Island Naval Air Station-Halsey Field") == "military"
    assert infer_kind("Camp Pendleton MCAS (Munn Field) Airport") == "military"
    assert infer_kind("McClellan-Palomar Airport") == "civil"
    assert infer_category(9_401, True, True, "large_airport") == ("precision", False)
    assert infer_category(3_400, True, True) == ("non_precision", False)
    assert infer_category(2_000, True, True) == ("visual", True)
    assert infer_category(5_000, False, True) == ("visual", True)


def _runway_frame(**extra: object) -> gpd.GeoDataFrame:
    line = shapely.LineString([(RX, RY), (RX + 3_000.0, RY)])
    data = {
        "airport_ident": ["KTST"],
        "le_ident": ["09"],
        "he_ident": ["27"],
        "le_elevation_ft": [10.0],
        "he_elevation_ft": [12.0],
        "length_ft": [9_843.0],
        "surface": ["ASP"],
        "closed": [0],
    }
    data.update({k: [v] for k, v in extra.items()})
    return gpd.GeoDataFrame(data, geometry=[line], crs=UTM)


def test_overrides_per_airport_and_end() -> None:
    assert read_runways(_runway_frame())[1][0].le_category == "non_precision"  # unlighted
    frame = _runway_frame(lighted=1)
    airports, runways = read_runways(frame)
    assert airports["KTST"].kind == "civil" and airports["KTST"].elevation_ft == 12.0
    assert (runways[0].le_category, runways[0].he_category) == ("precision", "precision")
    airports, runways = read_runways(
        frame,
        overrides={"KTST": Override(kind="military"), "KTST 27": Override(category="visual")},
    )
    assert airports["KTST"].kind == "military"
    assert (runways[0].le_category, runways[0].he_category) == ("precision", "visual")
    with pytest.raises(ConfigError, match="no runway end '28'"):
        read_runways(frame, overrides={"KTST 28": Override(category="visual")})
    with pytest.raises(ConfigError, match="whole airport"):
        read_runways(frame, overrides={"KTST 27": Override(kind="military")})
    assert read_runways(_runway_frame(closed=1))[1] == []


def test_polygons_carry_heights() -> None:
    model = _model(_runway(airport="KMIL", aicuz=True), kind="military")
    crs = pyproj.CRS(UTM)
    groups = surface_polygons(model, crs)
    approach = groups["approach"]
    assert len(approach) == 2 and approach.geometry.is_valid.all()
    assert set(approach["max_height_ft"]) == {600.0}
    assert len(groups["horizontal"]) == 3  # inner horizontal, conical, outer horizontal
    zones = zone_polygons(model, crs)
    assert len(zones) == 6
    apz1 = zones[zones["feature_name"] == "KMIL RWY 27 APZ I"].geometry.iloc[0]
    assert apz1.area == pytest.approx(5_000 * 3_000 * M_PER_FT**2, rel=1e-9)


# --- real OurAirports runways (../shared/data) ---


@pytest.fixture
def san_diego(shared_data: Path) -> SanDiego:
    runways = gpd.read_file(shared_data / "airports" / "san_diego_runways.geojson").to_crs(UTM)
    airports = gpd.read_file(shared_data / "airports" / "san_diego_airports.geojson").to_crs(UTM)
    records, runway_list = read_runways(runways, airports)
    return records, runway_list, build_model(records, runway_list)


@pytest.mark.shared_data
def test_real_ksan_and_knkx_build(san_diego: SanDiego) -> None:
    airports, runways, model = san_diego
    assert airports["KNKX"].kind == "military" and airports["KSAN"].kind == "civil"
    assert airports["KNZY"].kind == "military"
    names = set(model.names)
    assert "KSAN RWY 27 approach surface" in names
    assert "KNKX RWY 24R approach-departure surface" in names
    assert "KNKX inner horizontal surface" in names
    assert not any(r.name == "KNKX RWY 10/28" for r in runways)  # closed
    heli = next(r for r in runways if r.name == "KNKX RWY 06H/24H")
    assert heli.heliport
    polygons = surface_polygons(model, pyproj.CRS(UTM))
    assert all(frame.geometry.is_valid.all() for frame in polygons.values())


@pytest.mark.shared_data
def test_real_ksan_one_mile_beyond_runway_27(san_diego: SanDiego) -> None:
    _, _, model = san_diego
    index = next(i for i, s in enumerate(model.runways) if s.runway.name == "KSAN RWY 09/27")
    surfaces = model.runways[index]
    assert surfaces.runway.he_category == "precision"
    ax, ay = surfaces.axis
    x1, y1 = surfaces.runway.he_xy
    mile_m = 5_280.0 * M_PER_FT
    x, y = np.array([x1 + ax * mile_m]), np.array([y1 + ay * mile_m])
    end_elevation = surfaces.runway.he_elevation_ft
    result = evaluate(model, x, y)
    assert result.height_ft[0] - end_elevation == pytest.approx((5_280 - 200) / 50, abs=0.01)
    assert result.surface_names()[0] == "KSAN RWY 27 approach surface"
    assert model.runway_codes[index, APPROACH_HE] == result.code[0]


def _square(x: float, y: float, half_m: float = 40.0) -> shapely.Polygon:
    return shapely.box(x - half_m, y - half_m, x + half_m, y + half_m)


@pytest.mark.shared_data
def test_real_miramar_apz_excluded(shared_data: Path, tmp_path: Path) -> None:
    runways = gpd.read_file(shared_data / "airports" / "san_diego_runways.geojson").to_crs(UTM)
    line = runways[(runways.airport_ident == "KNKX") & (runways.le_ident == "06L")].geometry.iloc[0]
    (x0, y0), (x1, y1) = line.coords
    length = math.hypot(x1 - x0, y1 - y0)
    ax, ay = (x1 - x0) / length, (y1 - y0) / length
    apz1 = 5_500.0 * M_PER_FT  # 5,500 ft beyond the 24R end: APZ I is 3,000 - 8,000 ft
    far = (x1 + ax * 60_000.0, y1 + ay * 60_000.0 + 25_000.0)
    parcels = gpd.GeoDataFrame(
        {"apn": ["APZ1", "FAR"]},
        geometry=[_square(x1 + ax * apz1, y1 + ay * apz1), _square(*far)],
        crs=UTM,
    )
    parcels.to_file(tmp_path / "parcels.geojson")
    config = tmp_path / "real.yaml"
    config.write_text(
        f"""name: Miramar
candidates: {{source: parcels.geojson, id: apn}}
layers:
  runways: {shared_data / "airports" / "san_diego_runways.geojson"}
  airports: {shared_data / "airports" / "san_diego_airports.geojson"}
constraints:
  airspace: {{kind: airspace, layer: runways, airports: airports, building_height_ft: 40,
              min_margin_ft: 0}}
criteria:
  margin: {{kind: airspace, layer: runways, airports: airports, building_height_ft: 40,
            transform: {{fn: linear, best: 300, worst: 0}}, weight: 1}}
outputs: {{dir: out}}
""",
        encoding="utf-8",
    )
    result = run(load_config(config))
    table = result.candidates.set_index("candidate_id")
    reason = table.loc["APZ1", "exclusion_reason"]
    assert reason.startswith("airspace: inside ") and "KNKX RWY 24R APZ I" in reason
    assert table.loc["APZ1", "margin_aicuz_zone"].endswith("APZ I")
    assert not table.loc["FAR", "excluded"]
    assert table.loc["FAR", "margin_controlling_surface"] == "none"
    assert table.loc["FAR", "raw_margin"] == 1_000.0


# --- end to end on the tiny world, with a runway CSV written here ---

RUNWAY_COLUMNS = (
    "id,airport_ref,airport_ident,length_ft,width_ft,surface,lighted,closed,le_ident,"
    "le_latitude_deg,le_longitude_deg,le_elevation_ft,he_ident,he_latitude_deg,"
    "he_longitude_deg,he_elevation_ft"
)


def _lonlat(x: float, y: float) -> tuple[float, float]:
    lon, lat = pyproj.Transformer.from_crs(UTM, "EPSG:4326", always_xy=True).transform(x, y)
    return float(lon), float(lat)


def runway_row(
    ident: str,
    ends_xy: tuple[tuple[float, float], tuple[float, float]],
    end_idents: tuple[str, str],
    elevation_ft: float,
    surface: str = "ASP",
    length_ft: float = 6500,
    width_ft: float = 150,
    lighted: int = 1,
) -> str:
    """One OurAirports runways.csv row (see RUNWAY_COLUMNS) from working-CRS end points."""
    (lon0, lat0), (lon1, lat1) = _lonlat(*ends_xy[0]), _lonlat(*ends_xy[1])
    return (
        f"1,1,{ident},{length_ft:g},{width_ft:g},{surface},{lighted},0,{end_idents[0]},"
        f"{lat0:.7f},{lon0:.7f},{elevation_ft:g},{end_idents[1]},{lat1:.7f},{lon1:.7f},"
        f"{elevation_ft:g}"
    )


def _runway_csv(folder: Path) -> None:
    """A civil precision runway north of the parcels; a Navy runway ending south of them."""
    rows = [
        RUNWAY_COLUMNS,
        runway_row("KCIV", ((X0 + 200, Y0 + 3_400), (X0 + 2_200, Y0 + 3_400)), ("09", "27"), 60),
        runway_row("KMIL", ((X0 + 1_000, Y0 - 4_000), (X0 + 1_000, Y0 - 1_500)), ("18", "36"), 90),
    ]
    (folder / "runways.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    lon_c, lat_c = _lonlat(X0 + 1_000, Y0 + 3_400)
    lon_m, lat_m = _lonlat(X0 + 1_000, Y0 - 2_700)
    (folder / "airports.csv").write_text(
        "ident,type,name,elevation_ft,latitude_deg,longitude_deg\n"
        f"KCIV,medium_airport,Civil Field,60,{lat_c:.7f},{lon_c:.7f}\n"
        f"KMIL,medium_airport,Test Naval Air Station,90,{lat_m:.7f},{lon_m:.7f}\n",
        encoding="utf-8",
    )


def test_end_to_end_tiny_world(tmp_path: Path) -> None:
    write_world(tmp_path)
    _runway_csv(tmp_path)
    config = tmp_path / "airspace.yaml"
    config.write_text(
        """name: Airspace world
candidates: {source: parcels.gpkg, layer: parcels, id: apn}
layers:
  runways: runways.csv
  airports: airports.csv
  hazard: {source: hazard.tif, units: g}
constraints:
  airspace: {kind: airspace, layer: runways, airports: airports, building_height_ft: 160,
             helipad_allowance_ft: 20, min_margin_ft: 0}
criteria:
  margin:
    kind: airspace
    layer: runways
    airports: airports
    building_height_ft: 160
    helipad_allowance_ft: 20
    transform: {fn: linear, best: 100, worst: -100}
    weight: 1
outputs: {dir: out, top_n: 3}
""",
        encoding="utf-8",
    )
    result = run(load_config(config))
    table = result.candidates.set_index("candidate_id")
    # column i = 1, 2 lie within 1,500 ft of the Navy runway's extended centre line
    apz = table.loc[["P10", "P20", "P11", "P21"], "exclusion_reason"]
    assert apz.str.contains("inside KMIL RWY 36 APZ I").all()
    assert not table.loc["P00", "margin_aicuz_zone"]
    # north row: under the civil runway's transitional/approach surfaces, penetrated by 180 ft
    north = table.loc["P05"]
    assert north["margin_controlling_surface"].startswith("KCIV")
    assert north["raw_margin"] < 0
    assert f"penetrates {north['margin_controlling_surface']} by" in north["exclusion_reason"]
    assert north["margin_allowable_height_m"] == pytest.approx(
        north["margin_allowable_height_ft"] * M_PER_FT, abs=0.01
    )
    assert table["margin_faa_notice_required"].dtype == bool
    assert (table["raw_margin"] <= 1_000.0).all()
    names = {o.name: o for o in result.overlays}
    assert names["AICUZ clear zones and APZs"].kind == "zones"
    assert not names["Airspace: horizontal and conical surfaces"].show
    written = write_outputs(result, tmp_path / "out")
    layers = {name for name, _ in pyogrio.list_layers(written[0])}
    assert "overlay_aicuz_clear_zones_and_apzs" in layers
    approach = gpd.read_file(written[0], layer="overlay_airspace_approach_surfaces")
    assert {"min_height_ft", "max_height_m"} <= set(approach.columns)
    csv = pd.read_csv(tmp_path / "out" / "sites.csv")
    assert "margin_controlling_surface" in csv.columns


def test_config_errors_name_the_field(tmp_path: Path) -> None:
    write_world(tmp_path)
    _runway_csv(tmp_path)
    base = """name: bad
candidates: {source: parcels.gpkg, layer: parcels, id: apn}
layers: {runways: runways.csv, hazard: hazard.tif}
criteria:
  margin:
    kind: airspace
    layer: runways
    building_height_ft: 160
    transform: {fn: linear, best: 100, worst: 0}
    weight: 1
"""
    bad = tmp_path / "bad.yaml"
    bad.write_text(base + "    overrides: {KCIV: {kind: navy}}\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"bad.yaml:\d+:.*kind"):
        load_config(bad)
    bad.write_text(base + "    overrides: {KXXX: {kind: military}}\n", encoding="utf-8")
    with pytest.raises(CriterionError, match=r"criteria\.margin: overrides: .*'KXXX'"):
        run(load_config(bad))
    bad.write_text(base + "    ground: runways\n", encoding="utf-8")
    with pytest.raises(CriterionError, match="not a raster"):
        run(load_config(bad))
