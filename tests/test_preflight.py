"""Checks before computing: working CRS at load, candidates, bands, the output folder."""

from __future__ import annotations

import re
from pathlib import Path

import geopandas as gpd
import pytest
import rasterio

from siteselect._errors import ConfigError, LayerError, OutputError
from siteselect.config import load_config
from siteselect.config.crs import metre_equivalent, parse_working_crs
from siteselect.config.yaml_doc import display_path
from siteselect.preflight import preflight
from tests._world import parcels


def variant(world_config: Path, name: str, old: str, new: str) -> Path:
    text = world_config.read_text()
    assert old in text, old
    path = world_config.parent / f"{name}.yaml"
    path.write_text(text.replace(old, new, 1))
    return path


def line_of(path: Path, needle: str) -> int:
    return next(i for i, line in enumerate(path.read_text().splitlines(), 1) if needle in line)


@pytest.mark.parametrize(
    ("crs", "message"),
    [
        ("EPSG:4326", r"is geographic, in degrees; use a projected CRS such as UTM .* or 'auto'"),
        ("EPSG:99999", r"cannot understand 'EPSG:99999' as a CRS .*use 'auto'"),
        ("not a crs", r"cannot understand 'not a crs' as a CRS"),
        (
            "EPSG:2230",
            r"in US survey feet, not metres; use EPSG:26946 \(NAD83 / California zone 6\)",
        ),
        ("EPSG:6426", r"use EPSG:6425 \(NAD83\(2011\) / California zone 6\)"),
        ("ESRI:102646", r"in US survey feet, not metres; use EPSG:26946"),
        ("EPSG:3857", r"Web Mercator"),
        ("EPSG:4978", r"not a projected CRS"),
    ],
)
def test_bad_working_crs_fails_at_load_with_its_line(
    world_config: Path, crs: str, message: str
) -> None:
    path = variant(world_config, "crs", "name: Tiny world\n", f"name: Tiny world\ncrs: {crs}\n")
    with pytest.raises(ConfigError) as info:
        load_config(path)
    text = str(info.value)
    assert text.startswith(f"{display_path(path)}:2: crs: "), text
    assert re.search(message, text), text


def test_good_working_crs_passes() -> None:
    assert parse_working_crs("auto") is None
    assert parse_working_crs("EPSG:32611").to_epsg() == 32611
    assert parse_working_crs("EPSG:26946").to_epsg() == 26946
    assert metre_equivalent(__import__("pyproj").CRS("EPSG:2263")) == "EPSG:32118"


def test_preflight_passes_on_the_world(world_config: Path, tmp_path: Path) -> None:
    checks = {c.what: c.detail for c in preflight(load_config(world_config), tmp_path / "o")}
    assert checks["candidates"] == "parcels.gpkg: 36 candidates, apn unique"
    assert "EPSG:32611" in checks["working CRS"]
    assert "band 1 readable" in checks["layers.hazard"]
    assert "will be created" in checks["outputs"]


def _with_parcels(world_config: Path, name: str, frame: gpd.GeoDataFrame) -> Path:
    frame.to_file(world_config.parent / f"{name}.gpkg", layer="parcels")
    return variant(world_config, name, "source: parcels.gpkg", f"source: {name}.gpkg")


def test_duplicate_ids_name_the_rows(world_config: Path) -> None:
    frame = parcels()
    frame.loc[7, "apn"] = "P00"
    frame.loc[9, "apn"] = "P02"
    path = _with_parcels(world_config, "dup_ids", frame)
    with pytest.raises(LayerError) as info:
        preflight(load_config(path))
    assert str(info.value) == (
        f"{display_path(path)}:2: candidates.id: dup_ids.gpkg: apn is not unique: "
        "'P00' is on rows 1, 8 "
        "(and 1 more repeated value(s)); choose a unique column or omit 'id:'"
    )


def test_blank_ids_name_the_rows(world_config: Path) -> None:
    frame = parcels()
    frame["apn"] = frame["apn"].astype(object)
    frame.loc[3, "apn"] = None
    frame.loc[5, "apn"] = "  "
    path = _with_parcels(world_config, "blank_ids", frame)
    with pytest.raises(
        LayerError, match=r":2: candidates.id: .*2 candidate\(s\) have no apn \(rows 4, 6"
    ):
        preflight(load_config(path))


def test_missing_id_column_lists_the_columns(world_config: Path) -> None:
    path = variant(world_config, "no_id", "id: apn}", "id: parcel_no}")
    with pytest.raises(LayerError) as info:
        preflight(load_config(path))
    assert str(info.value).startswith(
        f"{display_path(path)}:2: candidates.id: column 'parcel_no' not in "
    )
    assert "apn" in str(info.value)


def test_missing_where_column(world_config: Path) -> None:
    path = variant(world_config, "no_where", "id: apn}", "id: apn, where: {vacant: true}}")
    with pytest.raises(LayerError, match=r"candidates.where.vacant: column 'vacant' not in"):
        preflight(load_config(path))


@pytest.mark.filterwarnings("ignore:'crs' was not provided")
def test_candidates_without_crs(world_config: Path) -> None:
    folder = world_config.parent
    frame = parcels().set_crs(None, allow_override=True)
    frame.to_file(folder / "nocrs.shp")
    (folder / "nocrs.prj").unlink(missing_ok=True)
    path = variant(
        world_config,
        "nocrs",
        "{source: parcels.gpkg, layer: parcels, id: apn}",
        "{source: nocrs.shp, id: apn}",
    )
    with pytest.raises(
        LayerError, match=r":2: candidates.source: nocrs.shp has no CRS; add 'crs: "
    ):
        preflight(load_config(path))


def test_band_out_of_range_and_unknown_name(world_config: Path) -> None:
    path = variant(
        world_config,
        "band3",
        "hazard: {source: hazard.tif, units: g}",
        "hazard: {source: hazard.tif, units: g, band: 3}",
    )
    line = line_of(path, "hazard: {source")
    with pytest.raises(LayerError) as info:
        preflight(load_config(path))
    assert str(info.value) == (
        f"{display_path(path)}:{line}: layers.hazard.band: "
        "hazard.tif: band 3 requested but the raster has 1"
    )
    path = variant(
        world_config, "bandname", "    layer: hazard\n", "    layer: hazard\n    band: PGA\n"
    )
    with pytest.raises(LayerError) as info:
        preflight(load_config(path))
    line = line_of(path, "band: PGA")
    assert str(info.value).startswith(
        f"{display_path(path)}:{line}: criteria.seismic.band: "
        "hazard.tif: no band named 'PGA'; bands are 1:"
    )


def test_band_by_name_passes(world_config: Path, tmp_path: Path) -> None:
    folder = world_config.parent
    with rasterio.open(folder / "hazard.tif") as src:
        profile, data = src.profile, src.read(1)
    with rasterio.open(folder / "named.tif", "w", **profile) as dst:
        dst.write(data, 1)
        dst.set_band_description(1, "PGA")
    path = variant(
        world_config, "named", "hazard: {source: hazard.tif", "hazard: {source: named.tif"
    )
    text = path.read_text().replace("    layer: hazard\n", "    layer: hazard\n    band: pga\n", 1)
    path.write_text(text)
    preflight(load_config(path), tmp_path / "o")


def test_raster_kind_on_a_vector_layer(world_config: Path) -> None:
    path = variant(world_config, "vector_raster", "    layer: hazard\n", "    layer: tracts\n")
    line = line_of(path, "layer: tracts")
    with pytest.raises(ConfigError) as info:
        preflight(load_config(path))
    assert str(info.value).startswith(
        f"{display_path(path)}:{line}: criteria.seismic.layer: "
        "layer 'tracts' (tracts.gpkg) is not a raster"
    )


def test_output_dir_from_the_config_points_at_its_line(world_config: Path) -> None:
    (world_config.parent / "taken").write_text("a file")
    path = variant(world_config, "out_file", "outputs: {dir: out,", "outputs: {dir: taken,")
    line = line_of(path, "outputs:")
    with pytest.raises(OutputError) as info:
        preflight(load_config(path))
    assert str(info.value).startswith(f"{display_path(path)}:{line}: outputs.dir: ")
    assert "taken is a file, not a folder; give a folder path" in str(info.value)


def test_output_dir_holding_the_inputs_is_refused(world_config: Path) -> None:
    with pytest.raises(OutputError, match="holds the config"):
        preflight(load_config(world_config), world_config.parent, "--out")


def test_run_checks_before_computing(world_config: Path, monkeypatch) -> None:
    """The CLI's run stops on a preflight error without calling the pipeline."""
    import siteselect.pipeline
    from tests.test_cli import invoke

    def must_not_run(*args, **kwargs):
        raise AssertionError("the pipeline ran")

    monkeypatch.setattr(siteselect.pipeline, "run", must_not_run)
    path = variant(
        world_config,
        "band9",
        "hazard: {source: hazard.tif, units: g}",
        "hazard: {source: hazard.tif, units: g, band: 9}",
    )
    result = invoke("-q", "run", str(path))
    assert result.exit_code == 2, result.output
    assert "layers.hazard.band: hazard.tif: band 9 requested" in result.stderr
