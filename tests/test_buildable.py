"""Net buildable area: partial exclusions removed from each parcel, the largest piece kept.

A small world built in code (EPSG:32611): a military runway with its AICUZ
zones, a fault, an exclusion zone and a DEM with one 30% ramp; one parcel per
situation, each with a known answer.
"""

from __future__ import annotations

import re
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import pytest
import rasterio
import rasterio.features
import shapely
from rasterio.transform import from_origin

from siteselect._errors import ConfigError
from siteselect.config import load_config
from siteselect.criteria.buildable import largest_pieces, subtract
from siteselect.criteria.slope import cell_size_m, horn_slope_pct, tiled_shapes, under_boxes
from siteselect.geo import M_PER_FT, m2_to_acres
from siteselect.pipeline import run

UTM = "EPSG:32611"
X0, Y0 = 480_000.0, 3_620_000.0
RUNWAY_M = 2_000.0
HALF_WIDTH_M = 1_500 * M_PER_FT  # AICUZ zones are 3,000 ft wide
APZ_X = X0 + RUNWAY_M + 5_500 * M_PER_FT  # in APZ I (3,000-8,000 ft past the runway end)
SIDE = 200.0


def _square(cx: float, cy: float, side: float = SIDE) -> shapely.Polygon:
    return shapely.box(cx - side / 2, cy - side / 2, cx + side / 2, cy + side / 2)


FAULT_X = X0 + 150.0  # a north-south fault trace 150 m east of P_FAULT's west edge
PARCELS = {
    # half inside APZ I: its centre on the zone's northern edge
    "P_APZ": _square(APZ_X, Y0 + HALF_WIDTH_M),
    # 400 x 200 m, the fault crossing 150 m from the west edge: pieces of 130 and 230 m
    "P_FAULT": shapely.box(X0, Y0 + 3_000, X0 + 400, Y0 + 3_200),
    # west half on a 30% ramp
    "P_SLOPE": _square(X0 + 3_000, Y0 + 3_100),
    # half inside the exclusion zone
    "P_ZONE": _square(X0 + 1_000, Y0 + 3_100),
    # untouched
    "P_CLEAN": _square(X0 + 2_000, Y0 + 3_100),
}
RAMP = (X0 + 2_900 - 100, X0 + 3_000)  # x range of the 30% ramp (covers P_SLOPE's west half)


def _lonlat(x: float, y: float) -> tuple[float, float]:
    lon, lat = pyproj.Transformer.from_crs(UTM, "EPSG:4326", always_xy=True).transform(x, y)
    return lon, lat


def write_world(folder: Path, buildable: str) -> Path:
    """Layers and a config whose ``buildable:`` section is ``buildable``."""
    gpd.GeoDataFrame({"apn": list(PARCELS)}, geometry=list(PARCELS.values()), crs=UTM).to_file(
        folder / "parcels.gpkg", layer="parcels"
    )
    gpd.GeoDataFrame(
        {"name": ["Test fault"]},
        geometry=[shapely.LineString([(FAULT_X, Y0 + 2_500), (FAULT_X, Y0 + 3_700)])],
        crs=UTM,
    ).to_file(folder / "faults.geojson")
    gpd.GeoDataFrame(
        {"name": ["Wetland"]},
        geometry=[shapely.box(X0 + 1_000, Y0 + 3_000, X0 + 1_300, Y0 + 3_300)],
        crs=UTM,
    ).to_file(folder / "zones.geojson")
    (le_lon, le_lat), (he_lon, he_lat) = _lonlat(X0, Y0), _lonlat(X0 + RUNWAY_M, Y0)
    (folder / "airports.csv").write_text(
        "id,ident,type,name,latitude_deg,longitude_deg,elevation_ft\n"
        f'1,KTST,medium_airport,"Test Naval Air Station",{le_lat},{le_lon},100\n'
    )
    (folder / "runways.csv").write_text(
        "id,airport_ref,airport_ident,length_ft,width_ft,surface,lighted,closed,le_ident,"
        "le_latitude_deg,le_longitude_deg,le_elevation_ft,le_heading_degT,"
        "le_displaced_threshold_ft,he_ident,he_latitude_deg,he_longitude_deg,"
        "he_elevation_ft,he_heading_degT,he_displaced_threshold_ft\n"
        f"1,1,KTST,{RUNWAY_M / M_PER_FT:.0f},200,ASP,1,0,09,{le_lat},{le_lon},100,90,,"
        f"27,{he_lat},{he_lon},100,270,\n"
    )
    cell = 10.0
    west, north = X0 - 500, Y0 + 4_000
    cols, rows = 500, 500
    x = west + (np.arange(cols) + 0.5) * cell
    z = 100.0 + 0.3 * np.clip(x - RAMP[0], 0, RAMP[1] - RAMP[0])
    with rasterio.open(
        folder / "dem.tif",
        "w",
        driver="GTiff",
        width=cols,
        height=rows,
        count=1,
        dtype="float32",
        crs=UTM,
        transform=from_origin(west, north, cell, cell),
    ) as dst:
        dst.write(np.tile(z, (rows, 1)).astype("float32"), 1)
    config = folder / "land.yaml"
    config.write_text(
        f"""\
name: Buildable world
crs: {UTM}
candidates: {{source: parcels.gpkg, layer: parcels, id: apn}}
layers:
  runways: runways.csv
  airports: airports.csv
  faults: faults.geojson
  zones: zones.geojson
  dem: {{source: dem.tif, units: m}}
constraints:
  airspace:
    kind: airspace
    layer: runways
    airports: airports
    building_height_ft: 10
    min_margin_ft: 0
  fault_setback: {{kind: distance, layer: faults, min_m: 20}}
  exclusion_zones: {{kind: zones, layer: zones, max_overlap_pct: 0}}
criteria:
  fault_distance:
    kind: distance
    layer: faults
    transform: {{fn: linear, best: 3000, worst: 0}}
    weight: 1
outputs: {{dir: out, top_n: 3}}
{buildable}""",
        encoding="utf-8",
    )
    return config


BUILDABLE = """\
buildable:
  max_slope_pct: 15
  dem: dem
  setbacks_from: [fault_setback]
  zones_from: [exclusion_zones, airspace]
"""


@pytest.fixture(scope="module")
def result(tmp_path_factory: pytest.TempPathFactory) -> pd.DataFrame:
    config = load_config(write_world(tmp_path_factory.mktemp("land"), BUILDABLE))
    frame = run(config).candidates
    return frame.set_index("candidate_id")


def test_a_parcel_half_inside_an_apz_keeps_half_its_area(result: pd.DataFrame) -> None:
    row = result.loc["P_APZ"]
    assert row["buildable_pct"] == pytest.approx(50.0, abs=0.1)
    assert row["buildable_acres"] == pytest.approx(m2_to_acres(SIDE * SIDE / 2), abs=0.01)
    assert row["buildable_removed_by"] == "AICUZ clear zone/APZ"
    assert not row["excluded"]  # the buildable area takes over from the airspace constraint


def test_a_fault_through_the_middle_leaves_the_larger_piece(result: pd.DataFrame) -> None:
    row = result.loc["P_FAULT"]
    east = (400.0 - 150.0 - 20.0) * 200.0  # 230 m x 200 m east of the 40 m setback strip
    assert row["buildable_acres"] == pytest.approx(m2_to_acres(east), abs=0.01)
    assert row["buildable_removed_by"] == "fault setback"


def test_the_steep_half_of_a_ramp_is_removed(result: pd.DataFrame) -> None:
    row = result.loc["P_SLOPE"]
    # the west half lies on the 30% ramp; Horn's 3 x 3 window blurs the break by a cell
    assert row["buildable_pct"] == pytest.approx(50.0, abs=10.0 / SIDE * 100)
    assert row["buildable_removed_by"] == "slope > 15%"


def test_zones_and_untouched_parcels(result: pd.DataFrame) -> None:
    assert result.loc["P_ZONE", "buildable_pct"] == pytest.approx(50.0, abs=0.1)
    assert result.loc["P_ZONE", "buildable_removed_by"] == "exclusion zones"
    assert result.loc["P_CLEAN", "buildable_pct"] == pytest.approx(100.0)
    assert result.loc["P_CLEAN", "buildable_removed_by"] == ""
    assert not result["excluded"].any()


def test_without_buildable_the_same_constraints_exclude_whole_parcels(tmp_path: Path) -> None:
    frame = run(load_config(write_world(tmp_path, ""))).candidates.set_index("candidate_id")
    assert frame.loc[["P_APZ", "P_FAULT", "P_ZONE"], "excluded"].all()
    assert "buildable_acres" not in frame.columns


def test_min_acres_excludes_with_the_causes(tmp_path: Path) -> None:
    config = load_config(write_world(tmp_path, BUILDABLE + "  min_acres: 12\n"))
    result = run(config)
    frame = result.candidates.set_index("candidate_id")
    acres = frame.loc["P_FAULT", "buildable_acres"]
    total = frame.loc["P_FAULT", "area_acres"]
    assert frame.loc["P_FAULT", "exclusion_reason"] == (
        f"buildable: only {acres:.1f} buildable acres of {total:.1f} (fault setback)"
    )
    assert frame.loc["P_CLEAN", "exclusion_reason"] == "buildable: only 9.9 buildable acres of 9.9"
    assert result.exclusions.to_json()["causes"]["buildable"]["fails"] == 5
    drawn = [o for o in result.overlays if o.name.startswith("Buildable")]
    assert not drawn  # nothing is ranked, nothing to draw


def test_the_buildable_pieces_of_ranked_sites_are_drawn(tmp_path: Path) -> None:
    result = run(load_config(write_world(tmp_path, BUILDABLE)))
    (drawn,) = [o for o in result.overlays if o.name.startswith("Buildable")]
    assert len(drawn.gdf) == 4  # every ranked site that lost area, P_CLEAN did not
    assert drawn.gdf.geometry.area.min() > 0


@pytest.mark.parametrize(
    ("section", "message"),
    [
        (
            "  setbacks_from: [fault_setbak]\n",
            ":27: buildable.setbacks_from[0]: unknown constraint",
        ),
        ("  setbacks_from: [airspace]\n", "is of kind airspace; setbacks_from takes distance"),
        ("  zones_from: [fault_setback]\n", "zones_from takes zones or airspace"),
        ("  max_slope_pct: 15\n  dem: zones\n", "buildable.dem: layer 'zones' is not a raster"),
        ("  max_slope_pct: 15\n", "max_slope_pct needs 'dem: <raster layer>'"),
        ("  min_acre: 3\n", "unknown key 'min_acre' (did you mean 'min_acres'?)"),
    ],
)
def test_the_section_is_validated_with_its_line(tmp_path: Path, section: str, message: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(message)):
        load_config(write_world(tmp_path, "buildable:\n" + section))


def test_slope_of_a_plane_is_its_gradient_everywhere() -> None:
    rows, cols, cell = 7, 9, 30.0
    y, x = np.mgrid[0:rows, 0:cols] * cell
    z = 0.12 * x - 0.05 * y + 300.0
    slope = horn_slope_pct(z, cell, cell)
    assert np.allclose(slope, 100 * np.hypot(0.12, 0.05))  # borders included


def test_slope_converts_feet_and_degrees_to_metres() -> None:
    feet = pyproj.CRS("EPSG:2230")  # California zone 6, US survey feet
    dx, dy = cell_size_m(feet, from_origin(0, 0, 100.0, 100.0), 3)
    assert dy == pytest.approx(100 * 1200 / 3937)
    assert np.allclose(dx, 100 * 1200 / 3937)
    # a DEM in degrees at 32.7 N: a degree of longitude is ~93.8 km there
    dx, dy = cell_size_m(pyproj.CRS("EPSG:4326"), from_origin(-117.0, 32.75, 0.001, 0.001), 100)
    assert dx[50] == pytest.approx(93.8, rel=0.01)
    assert dy == pytest.approx(110.9, rel=0.01)
    lon_deg = np.arange(9) * 0.001
    z = 0.1 * lon_deg[None, :] * dx[:7, None] / 0.001 * np.ones((7, 1))
    assert horn_slope_pct(z, dx[:7], dy)[3, 4] == pytest.approx(10.0, rel=1e-3)


def test_subtract_matches_a_per_parcel_union_and_difference() -> None:
    rng = np.random.default_rng(7)
    parcels = shapely.box(*rng.uniform(0, 50, (2, 40)), *(rng.uniform(60, 120, (2, 40))))
    holes = shapely.buffer(shapely.points(rng.uniform(0, 120, (60, 2))), rng.uniform(3, 25, 60))
    cand, hole = shapely.STRtree(holes).query(parcels, predicate="intersects")
    codes = hole % 3
    left, bits = subtract(parcels, cand, holes[hole], codes)
    for i, parcel in enumerate(parcels):
        expected = parcel.difference(shapely.union_all(holes[hole[cand == i]]))
        assert left[i].symmetric_difference(expected).area < 1e-6
        present = sum(1 << int(c) for c in set(codes[cand == i]))
        assert bits[i] & ~present == 0  # only the codes of its own holes...
        assert (bits[i] != 0) == (left[i].area < parcel.area - 0.01)  # ...when area went
    piece, area = largest_pieces(left)
    for i, geometry in enumerate(left):
        parts = shapely.get_parts(geometry)
        assert area[i] == pytest.approx(max((p.area for p in parts), default=0.0))
        assert piece[i].area == pytest.approx(area[i])


def test_steep_cells_are_polygonised_in_tiles_that_cover_them_exactly() -> None:
    rng = np.random.default_rng(3)
    mask = rng.random((70, 90)) < 0.4
    transform = from_origin(1000.0, 5000.0, 10.0, 10.0)
    polygons = tiled_shapes(mask, transform, tile=16)
    assert sum(p.area for p in polygons) == pytest.approx(mask.sum() * 100.0)
    assert max(shapely.bounds(polygons)[:, 2] - shapely.bounds(polygons)[:, 0]) <= 160.0
    whole = shapely.union_all(tiled_shapes(mask, transform, tile=1000))
    assert shapely.union_all(polygons).symmetric_difference(whole).area < 1e-6


def test_under_boxes_marks_every_cell_a_candidate_touches() -> None:
    transform = from_origin(0.0, 1000.0, 10.0, 10.0)
    geoms = np.array([shapely.box(105, 205, 142, 231), shapely.Point(505, 905).buffer(12)])
    same = pyproj.Transformer.from_crs(UTM, UTM, always_xy=True)
    marked = under_boxes(geoms, same, transform, (100, 100))
    touched = rasterio.features.rasterize(
        ((g, 1) for g in geoms), out_shape=(100, 100), transform=transform, all_touched=True
    ).astype(bool)
    assert marked[touched].all()
    assert marked.sum() <= 2 * touched.sum() + 40  # boxes and a cell of margin, not the window
