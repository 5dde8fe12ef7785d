"""Non-UTF-8 sources: GDAL's encoding detection, .cpg files and the ``encoding:`` key."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pyogrio
import pytest
import shapely

from siteselect._errors import ConfigError, LayerError
from siteselect.config import LayerSpec, load_config
from siteselect.pipeline import run
from siteselect.study.layers import read_attributes, read_vector
from tests._world import UTM, X0, Y0

NAMES = ["Peñasquitos", "Côte Ôrange", "Año Nuevo"]


def latin1_shapefile(folder: Path, stem: str, cpg: str | None) -> Path:
    """A shapefile whose .dbf text is Latin-1, with the given .cpg (None: no .cpg)."""
    frame = gpd.GeoDataFrame(
        {"apn": ["A1", "A2", "A3"], "name": NAMES},
        geometry=[shapely.box(X0 + i * 500, Y0, X0 + i * 500 + 300, Y0 + 300) for i in range(3)],
        crs=UTM,
    )
    path = folder / f"{stem}.shp"
    pyogrio.write_dataframe(frame, path, encoding="latin1")
    assert "ñ".encode("latin1") in path.with_suffix(".dbf").read_bytes()  # really Latin-1
    cpg_path = path.with_suffix(".cpg")
    cpg_path.unlink(missing_ok=True)
    if cpg is not None:
        cpg_path.write_text(cpg)
    return path


def latin1_geojson(folder: Path) -> Path:
    path = folder / "latin1.geojson"
    features = ",".join(
        f'{{"type":"Feature","properties":{{"name":"{name}"}},'
        f'"geometry":{{"type":"Point","coordinates":[-117.1,32.{i}]}}}}'
        for i, name in enumerate(NAMES)
    )
    path.write_bytes(f'{{"type":"FeatureCollection","features":[{features}]}}'.encode("latin1"))
    return path


@pytest.mark.parametrize("cpg", [None, "ANSI 1252", "8859_1", "LATIN1", "1252"])
def test_latin1_shapefile_reads_with_or_without_cpg(tmp_path: Path, cpg: str | None) -> None:
    path = latin1_shapefile(tmp_path, "parcels", cpg)
    frame = read_vector(LayerSpec(source=path), "candidates")
    assert frame["name"].tolist() == NAMES


def test_encoding_key_overrides_a_wrong_cpg(tmp_path: Path) -> None:
    path = latin1_shapefile(tmp_path, "lying", "UTF-8")
    with pytest.raises(LayerError) as info:
        read_vector(LayerSpec(source=path), "layers.parcels")
    message = str(info.value)
    assert message.startswith("layers.parcels: cannot read ") and "lying.shp" in message
    assert "not valid UTF-8 (byte 0xf1" in message and "its lying.cpg says 'UTF-8'" in message
    assert "set the layer's 'encoding:'" in message and "\n" not in message
    frame = read_vector(LayerSpec(source=path, encoding="latin1"), "layers.parcels")
    assert frame["name"].tolist() == NAMES


def test_latin1_geojson_needs_the_encoding_key(tmp_path: Path) -> None:
    path = latin1_geojson(tmp_path)
    with pytest.raises(LayerError, match=r"not valid UTF-8 \(byte 0xf1 .*encoding: latin1"):
        read_vector(LayerSpec(source=path), "layers.places")
    frame = read_vector(LayerSpec(source=path, encoding="cp1252"), "layers.places")
    assert frame["name"].tolist() == NAMES


def test_latin1_csv(tmp_path: Path) -> None:
    path = tmp_path / "places.csv"
    rows = "".join(f"{i},{name},-117.1,32.{i}\n" for i, name in enumerate(NAMES))
    path.write_bytes(("id,name,lon,lat\n" + rows).encode("latin1"))
    with pytest.raises(LayerError, match=r"not valid UTF-8.*'encoding:'"):
        read_vector(LayerSpec(source=path), "layers.places")
    frame = read_vector(LayerSpec(source=path, encoding="latin1"), "layers.places")
    assert frame["name"].tolist() == NAMES


def test_attributes_only_read_falls_back_too(tmp_path: Path) -> None:
    path = latin1_shapefile(tmp_path, "attrs", None)
    assert read_attributes(LayerSpec(source=path), ["name"])["name"].tolist() == NAMES


def test_unknown_encoding_is_a_config_error(world_config: Path) -> None:
    path = world_config.parent / "bad_encoding.yaml"
    path.write_text(
        world_config.read_text().replace(
            "tracts: {source: tracts.gpkg}", "tracts: {source: tracts.gpkg, encoding: latn1}"
        )
    )
    with pytest.raises(ConfigError, match=r"layers.tracts.encoding: unknown encoding 'latn1'"):
        load_config(path)


def test_latin1_candidates_run_end_to_end(world_config: Path) -> None:
    """The tiny world with its parcels as a Latin-1 shapefile (no .cpg) ranks as before."""
    from tests._world import parcels

    folder = world_config.parent
    frame = parcels()
    frame["name"] = [f"Parcela {i} Peñasquitos" for i in range(len(frame))]
    pyogrio.write_dataframe(frame, folder / "latin1_parcels.shp", encoding="latin1")
    (folder / "latin1_parcels.cpg").unlink(missing_ok=True)
    path = folder / "latin1_world.yaml"
    path.write_text(
        world_config.read_text().replace(
            "{source: parcels.gpkg, layer: parcels, id: apn}",
            "{source: latin1_parcels.shp, id: apn}",
        )
    )
    from siteselect.preflight import preflight

    preflight(load_config(path), folder / "latin1_out")
    result = run(load_config(path))
    reference = run(load_config(world_config))
    assert result.candidates["rank"].tolist() == reference.candidates["rank"].tolist()
