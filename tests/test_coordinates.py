"""Coordinates that cannot be right stop the run (exit 2) with the likely cause named."""

from __future__ import annotations

import doctest
import subprocess
import sys
from pathlib import Path

import geopandas as gpd
import numpy as np
import pyproj
import pytest
import shapely

from siteselect._errors import LayerError
from siteselect.config import LayerSpec, load_config
from siteselect.pipeline import run
from siteselect.study import coordinates, load_study
from siteselect.study.coordinates import CoordinateError, check_coordinates

UTM = "EPSG:32611"
X0, Y0 = 485_000.0, 3_620_000.0
SITE_UTM = (X0 + 300.0, Y0 + 700.0)
SITE_LON, SITE_LAT = pyproj.Transformer.from_crs(UTM, "EPSG:4326", always_xy=True).transform(
    *SITE_UTM
)


def test_doctests() -> None:
    assert doctest.testmod(coordinates).failed == 0


def _parcels() -> gpd.GeoDataFrame:
    boxes = [shapely.box(X0 + 400 * i, Y0, X0 + 400 * i + 300, Y0 + 300) for i in range(4)]
    return gpd.GeoDataFrame({"apn": [f"P{i}" for i in range(4)]}, geometry=boxes, crs=UTM)


def _write(folder: Path, layer_entry: str, candidates: str = "{source: parcels.gpkg, id: apn}"):
    config = folder / "coords.yaml"
    config.write_text(
        "name: coordinates\n"
        "study_area: area.geojson\n"
        f"candidates: {candidates}\n"
        "layers:\n"
        f"  sites: {layer_entry}\n"
        "criteria:\n"
        "  near:\n"
        "    kind: distance\n"
        "    layer: sites\n"
        "    transform: {fn: linear, best: 0, worst: 5000}\n"
        "    weight: 1\n",
        encoding="utf-8",
    )
    return config


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    _parcels().to_file(tmp_path / "parcels.gpkg", layer="parcels")
    area = shapely.box(X0 - 2000, Y0 - 2000, X0 + 3600, Y0 + 2300)
    gpd.GeoDataFrame(geometry=[area], crs=UTM).to_crs("EPSG:4326").to_file(
        tmp_path / "area.geojson"
    )
    return tmp_path


def _site(crs: str) -> tuple[float, float]:
    """The site's coordinates in ``crs``."""
    return pyproj.Transformer.from_crs(UTM, crs, always_xy=True).transform(*SITE_UTM)


def _csv(folder: Path, x: float, y: float, names: tuple[str, str] = ("lon", "lat")) -> None:
    text = f"NAME,{names[0]},{names[1]}\nSite,{x!r},{y!r}\n"
    (folder / "sites.csv").write_text(text, encoding="utf-8")


def _error(config: Path) -> str:
    with pytest.raises(LayerError) as caught:
        run(load_config(config))
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith(f"{config}:5: layers.sites: "), message
    return message


# --- impossible for the CRS -----------------------------------------------------------------


def test_swapped_lon_lat_in_a_csv(folder: Path) -> None:
    _csv(folder, SITE_LAT, SITE_LON)
    message = _error(_write(folder, "{source: sites.csv}"))
    assert "sites.csv: coordinates beyond ±180° longitude or ±90° latitude" in message
    assert f"x {SITE_LAT:.6g}..{SITE_LAT:.6g}, y {SITE_LON:.6g}" in message
    assert message.endswith("x and y look swapped: set x: lat and y: lon")


def test_utm_metres_in_a_csv_without_crs_name_the_zone(folder: Path) -> None:
    _csv(folder, *SITE_UTM, names=("x", "y"))
    message = _error(_write(folder, "{source: sites.csv}"))
    assert "(x 485300..485300, y 3620700..3620700 under EPSG:4326)" in message
    assert message.endswith(
        "they look like EPSG:32611 (WGS 84 / UTM zone 11N) coordinates: "
        "set crs: EPSG:32611 for this layer"
    )


@pytest.mark.filterwarnings("ignore:'crs' was not provided")
def test_utm_metres_in_a_file_without_crs_given_epsg_4326(folder: Path) -> None:
    frame = gpd.GeoDataFrame({"NAME": ["Site"]}, geometry=[shapely.Point(*SITE_UTM)])
    frame.to_file(folder / "sites.shp")  # no .prj: the file has no CRS
    message = _error(_write(folder, "{source: sites.shp, crs: 'EPSG:4326'}"))
    assert "sites.shp: coordinates beyond ±180° longitude" in message
    assert message.endswith("set crs: EPSG:32611 for this layer")


def test_degrees_under_a_projected_crs(folder: Path) -> None:
    _csv(folder, SITE_LON, SITE_LAT)
    message = _error(_write(folder, "{source: sites.csv, crs: 'EPSG:32611'}"))
    assert "coordinates look like degrees (x -117.15" in message
    assert "but WGS 84 / UTM zone 11N is projected" in message
    assert message.endswith("they are longitudes/latitudes: set crs: EPSG:4326 for this layer")


# --- far from the study area: the likely alternative ----------------------------------------


def test_neighbouring_utm_zone(folder: Path) -> None:
    _csv(folder, *_site("EPSG:32610"), names=("x", "y"))
    message = _error(_write(folder, "{source: sites.csv, crs: 'EPSG:32611'}"))
    assert "sites.csv: lies entirely outside the study area (no feature within 50 km" in message
    assert (
        "they look like EPSG:32610 (WGS 84 / UTM zone 10N) coordinates: set crs: EPSG:32610"
    ) in message
    assert message.endswith("(or set allow_outside: true if it belongs there)")


def test_state_plane_feet_in_a_file_that_declares_metres(folder: Path) -> None:
    x, y = _site("EPSG:2230")  # NAD83 / California zone 6 (ftUS)
    frame = gpd.GeoDataFrame({"NAME": ["Site"]}, geometry=[shapely.Point(x, y)], crs="EPSG:26946")
    frame.to_file(folder / "sites.geojson")
    message = _error(_write(folder, "{source: sites.geojson}"))
    assert "lies entirely outside the study area" in message
    assert (
        "they look like EPSG:2230 (NAD83 / California zone 6 (ftUS)) coordinates: the file "
        "declares NAD83 / California zone 6: assign EPSG:2230 instead "
        "(ogr2ogr -a_srs EPSG:2230 fixed.geojson sites.geojson)"
    ) in message


def test_dropped_minus_sign_and_allow_outside(folder: Path) -> None:
    _csv(folder, -SITE_LON, SITE_LAT)
    message = _error(_write(folder, "{source: sites.csv}"))
    assert "longitudes lack their minus sign (west of Greenwich): negate them" in message
    table = run(load_config(_write(folder, "{source: sites.csv, allow_outside: true}")))
    assert (table.candidates["raw_near"] > 10_000_000).all()  # the other side of the Earth
    diagnostics = table.manifest["diagnostics"]["coordinates"]
    assert diagnostics == {"allowed_outside": ["layers.sites"]}


def test_a_layer_just_outside_the_study_area_is_fine(folder: Path) -> None:
    _csv(folder, *_site_offset(30_000), names=("x", "y"))
    table = run(load_config(_write(folder, "{source: sites.csv, crs: 'EPSG:32611'}")))
    assert (table.candidates["raw_near"] > 25_000).all()


def _site_offset(dx_m: float) -> tuple[float, float]:
    return SITE_UTM[0] + dx_m, SITE_UTM[1]


def test_cli_exit_2_one_line(folder: Path) -> None:
    _csv(folder, SITE_LAT, SITE_LON)
    config = _write(folder, "{source: sites.csv}")
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "siteselect",
            "-q",
            "run",
            str(config),
            "--out",
            str(folder / "out"),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    assert "layers.sites: sites.csv: coordinates beyond" in lines[0]
    assert "x and y look swapped" in lines[0]
    assert not (folder / "out").exists()


# --- candidates and the study area ----------------------------------------------------------


def _study_error(folder: Path, candidates: str) -> tuple[Path, str]:
    """The config and load_study's one-line error, with a well-placed sites layer."""
    _csv(folder, SITE_LON, SITE_LAT)
    config = _write(folder, "{source: sites.csv}", candidates)
    with pytest.raises(LayerError) as caught:
        load_study(load_config(config))
    assert "\n" not in str(caught.value)
    return config, str(caught.value)


def test_candidates_in_the_wrong_zone_are_named(folder: Path) -> None:
    moved = _parcels().to_crs("EPSG:32610").set_crs(UTM, allow_override=True)
    moved.to_file(folder / "moved.gpkg", layer="parcels")
    config, message = _study_error(folder, "{source: moved.gpkg, id: apn}")
    assert message.startswith(f"{config}:3: candidates: moved.gpkg: none of the 4 candidates")
    assert "lies inside the study area area.geojson (candidates lon " in message
    assert "the candidates: they look like EPSG:32610 (WGS 84 / UTM zone 10N)" in message
    assert "the file declares WGS 84 / UTM zone 11N: assign EPSG:32610 instead" in message
    assert "either" not in message  # the study area is where it belongs


def test_study_area_in_the_wrong_zone_may_be_either(folder: Path) -> None:
    area = gpd.read_file(folder / "area.geojson").to_crs(UTM).set_crs(
        "EPSG:32610", allow_override=True
    )  # fmt: skip
    area.to_file(folder / "area.geojson")
    _, message = _study_error(folder, "{source: parcels.gpkg, id: apn}")
    assert "none of the 4 candidates lies inside the study area" in message
    assert "either the candidates: they look like EPSG:32610" in message
    assert " or the study area: they look like EPSG:32611 (WGS 84 / UTM zone 11N)" in message


def test_candidates_csv_in_metres_without_crs(folder: Path) -> None:
    points = _parcels().geometry.centroid
    text = "apn,x,y\n" + "".join(f"P{i},{p.x},{p.y}\n" for i, p in enumerate(points))
    (folder / "points.csv").write_text(text, encoding="utf-8")
    config, message = _study_error(folder, "{source: points.csv, id: apn}")
    assert message.startswith(f"{config}:3: candidates: points.csv: coordinates beyond ±180°")
    assert message.endswith("set crs: EPSG:32611 for this layer")


def test_study_area_in_degrees_under_a_projected_crs(folder: Path) -> None:
    area = gpd.read_file(folder / "area.geojson").set_crs(UTM, allow_override=True)
    area.to_file(folder / "area.gpkg")
    config = _write(folder, "{source: sites.csv}")
    config.write_text(config.read_text().replace("area.geojson", "area.gpkg"), encoding="utf-8")
    _csv(folder, SITE_LON, SITE_LAT)
    with pytest.raises(LayerError) as caught:
        load_study(load_config(config))
    message = str(caught.value)
    assert message.startswith(f"{config}:2: study_area: area.gpkg: coordinates look like degrees")
    assert message.endswith(
        "they are longitudes/latitudes: the file declares WGS 84 / UTM zone 11N: assign "
        "EPSG:4326 instead (ogr2ogr -a_srs EPSG:4326 fixed.gpkg area.gpkg)"
    )


# --- the checks on their own ------------------------------------------------------------------


def _frame(x: list[float], y: list[float], crs: str) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(geometry=gpd.points_from_xy(x, y), crs=crs)


def test_check_coordinates_causes_from_the_values_alone(tmp_path: Path) -> None:
    spec = LayerSpec(source=tmp_path / "x.gpkg")
    check_coordinates(_frame([-117.2, 179.9], [32.7, -89.9], "EPSG:4326"), spec, "layers.x")
    with pytest.raises(CoordinateError, match=r"longitudes look like 0\.\.360: subtract 360"):
        check_coordinates(_frame([242.8, 243.0], [32.7, 32.8], "EPSG:4326"), spec, "layers.x")
    with pytest.raises(CoordinateError, match="under a wrong CRS in the file: assign the right"):
        check_coordinates(_frame([485_000], [3_620_000], "EPSG:4326"), spec, "layers.x")
    with pytest.raises(CoordinateError, match="x and y look swapped: the file stores y before x"):
        check_coordinates(_frame([32.7], [-117.2], "EPSG:4326"), spec, "layers.x")
    degrees = _frame([-117.2, -117.1], [32.7, 32.8], UTM)
    with pytest.raises(CoordinateError, match="look like degrees"):
        check_coordinates(degrees, spec, "layers.x")
    check_coordinates(_frame([485_000.0], [3_620_000.0], UTM), spec, "layers.x")
    empty = gpd.GeoDataFrame(geometry=[None], crs=UTM)
    check_coordinates(empty, spec, "layers.x")


def test_allow_outside_skips_heuristics_but_not_impossible_coordinates(tmp_path: Path) -> None:
    spec = LayerSpec(source=tmp_path / "x.gpkg", allow_outside=True)
    check_coordinates(_frame([-117.2], [32.7], UTM), spec, "layers.x")  # a local grid: allowed
    with pytest.raises(CoordinateError, match="beyond ±180° longitude"):
        check_coordinates(_frame([485_000.0], [3_620_000.0], "EPSG:4326"), spec, "layers.x")


def test_diagnose_needs_most_points_to_land_in_the_region() -> None:
    region = gpd.GeoDataFrame(geometry=[shapely.box(X0, Y0, X0 + 3000, Y0 + 3000)], crs=UTM)
    reference = coordinates.Reference.from_frame(region, 0.0, "the study area")
    spec = LayerSpec(source=Path("x.csv"))
    lon, lat = SITE_LON, SITE_LAT
    swapped = _frame([lat, lat, 10.0], [lon, lon, 10.0], "EPSG:4326")
    assert coordinates.diagnose(swapped, spec, reference) == (
        "x and y look swapped: swap the columns named by x: and y:"
    )
    mostly_random = _frame([lat, 5.0, 10.0], [lon, 5.0, 10.0], "EPSG:4326")
    assert coordinates.diagnose(mostly_random, spec, reference) is None
    assert np.isclose(reference.share_inside(np.array([lon]), np.array([lat]), "EPSG:4326"), 1)
