"""What each table output holds: GeoParquet, the GeoPackage (version, names, QGIS style),
the CSV (order, BOM, cap), integer columns."""

from __future__ import annotations

import contextlib
import dataclasses
import itertools
import json
import logging
import os
import re
import shutil
import sqlite3
import subprocess
import warnings
import xml.etree.ElementTree as ET
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pyogrio
import pyproj
import pytest
import shapely

from siteselect.config import load_config
from siteselect.decision.scoring import constraint_raw_columns
from siteselect.outputs.files import (
    OUTPUT_FILES,
    candidate_table,
    csv_rows,
    write_csv,
    write_geopackage,
    write_geoparquet,
    write_manifest,
    write_outputs,
)
from siteselect.outputs.gpkg import MAX_LAYER_NAME, layer_names
from siteselect.outputs.qgis_style import CLASSES, EXCLUDED_COLOR, candidates_qml, score_classes
from siteselect.pipeline import run


@pytest.fixture(scope="module")
def result(world_config: Path):
    out = run(load_config(world_config))
    assert out.candidates["rank"].isna().any() and out.candidates["rank"].notna().sum() >= 3
    return out


def test_geoparquet_holds_the_candidates_with_geo_metadata(result, tmp_path: Path) -> None:
    path = tmp_path / "sites.parquet"
    write_geoparquet(result, path)
    geo = json.loads(pq.read_schema(path).metadata[b"geo"])
    assert geo["primary_column"] == "geometry"
    assert geo["columns"]["geometry"]["encoding"] == "WKB"
    assert pq.read_schema(path).field("rank").type == "int64"
    back = gpd.read_parquet(path)
    assert back.crs == result.crs
    pd.testing.assert_frame_equal(
        pd.DataFrame(back.drop(columns="geometry")),
        pd.DataFrame(result.candidates.drop(columns="geometry")),
        check_dtype=False,
    )
    assert back["rank"].isna().tolist() == result.candidates["rank"].isna().tolist()
    assert back.geometry.geom_equals_exact(result.candidates.geometry, 0).all()
    again = tmp_path / "again.parquet"
    write_geoparquet(result, again)
    assert again.read_bytes() == path.read_bytes()


def test_geopackage_rank_is_an_integer_field_null_when_excluded(result, tmp_path: Path) -> None:
    path = tmp_path / "sites.gpkg"
    write_geopackage(result, path)
    with sqlite3.connect(path) as db:
        declared = {r[1]: r[2] for r in db.execute('pragma table_info("candidates")')}
        kinds = db.execute('select typeof("rank"), count(*) from candidates group by 1').fetchall()
    assert declared["rank"] in ("INTEGER", "MEDIUMINT", "BIGINT")
    ranked = int(result.candidates["rank"].notna().sum())
    assert dict(kinds) == {"integer": ranked, "null": len(result.candidates) - ranked}
    back = pyogrio.read_dataframe(path, layer="candidates", use_arrow=True)
    assert back["total_score"].tolist() == result.candidates["total_score"].tolist()
    assert back["exclusion_reason"].tolist() == result.candidates["exclusion_reason"].tolist()
    assert any(name.startswith("overlay_") for name, _ in pyogrio.list_layers(path))
    assert pyogrio.get_gdal_config_option("OGR_SQLITE_SYNCHRONOUS") is None  # restored


def test_csv_under_the_limit_is_in_rank_order_excluded_last(result, tmp_path: Path) -> None:
    assert csv_rows(dataclasses.replace(result, csv_max_rows=len(result.candidates))) is None
    path = tmp_path / "sites.csv"
    write_csv(result, path)
    table = pd.read_csv(path, dtype={"candidate_id": str})
    # naive oracle: ranked by rank, then excluded by score (highest first), then id
    rows = result.candidates.to_dict("records")
    ranked = sorted((r for r in rows if not pd.isna(r["rank"])), key=lambda r: r["rank"])
    excluded = sorted(
        (r for r in rows if pd.isna(r["rank"])),
        key=lambda r: (-r["total_score"], r["candidate_id"]),
    )
    assert table["candidate_id"].tolist() == [r["candidate_id"] for r in ranked + excluded]
    assert table["excluded"].tolist() == sorted(table["excluded"].tolist())  # excluded last
    assert not path.read_bytes().startswith(b"\xef\xbb\xbf")
    again = tmp_path / "again.csv"
    shuffled = result.candidates.sample(frac=1.0, random_state=3).reset_index(drop=True)
    write_csv(dataclasses.replace(result, candidates=shuffled), again)
    assert again.read_bytes() == path.read_bytes()  # the input order does not matter


def test_csv_excluded_ties_are_ordered_by_id(result, tmp_path: Path) -> None:
    tied = result.candidates.copy()
    tied.loc[tied["rank"].isna(), "total_score"] = 0.5
    tied.loc[tied.index[tied["rank"].isna()][:1], "total_score"] = np.nan
    write_csv(dataclasses.replace(result, candidates=tied), tmp_path / "sites.csv")
    table = pd.read_csv(tmp_path / "sites.csv", dtype={"candidate_id": str})
    tail = table[table["rank"].isna()]
    scored = tail[tail["total_score"].notna()]["candidate_id"].tolist()
    assert scored == sorted(scored)
    assert tail["total_score"].isna().tolist()[-1]  # no score: last


def test_csv_bom_for_excel(result, tmp_path: Path) -> None:
    with_bom = dataclasses.replace(
        result, manifest={**result.manifest, "config": {"outputs": {"csv_bom": True}}}
    )
    write_csv(with_bom, tmp_path / "bom.csv")
    write_csv(result, tmp_path / "plain.csv")
    bom, plain = (tmp_path / "bom.csv").read_bytes(), (tmp_path / "plain.csv").read_bytes()
    assert bom == b"\xef\xbb\xbf" + plain
    assert pd.read_csv(tmp_path / "bom.csv", encoding="utf-8-sig").columns[0] == "candidate_id"


def test_csv_over_the_limit_holds_the_best_ranked(result, tmp_path: Path, caplog) -> None:
    capped = dataclasses.replace(result, csv_max_rows=3)
    with caplog.at_level(logging.INFO, logger="siteselect.outputs"):
        write_csv(capped, tmp_path / "sites.csv")
    table = pd.read_csv(tmp_path / "sites.csv", dtype={"candidate_id": str})
    best = result.candidates.dropna(subset=["rank"]).sort_values("rank").head(3)
    assert table["candidate_id"].tolist() == best["candidate_id"].tolist()
    assert table["rank"].tolist() == [1, 2, 3]
    assert f"best 3 ranked of {len(result.candidates)} candidates" in caplog.text
    # the same rows and values as the uncut table
    full = candidate_table(result).set_index("candidate_id").loc[table["candidate_id"]]
    assert np.allclose(table["lon"], full["lon"]) and np.allclose(
        table["total_score"], full["total_score"]
    )
    write_manifest(capped, tmp_path / "run.json")
    note = json.loads((tmp_path / "run.json").read_text())["outputs"]["sites.csv"]
    assert note["rows"] == 3 and note["candidates"] == len(result.candidates)


def test_csv_limit_larger_than_the_ranked_candidates(result) -> None:
    ranked = int(result.candidates["rank"].notna().sum())
    capped = dataclasses.replace(result, csv_max_rows=len(result.candidates) - 1)
    rows = csv_rows(capped)
    assert rows is not None and len(rows) == min(ranked, len(result.candidates) - 1)
    assert result.candidates["rank"].iloc[rows].tolist() == list(range(1, len(rows) + 1))


def test_every_output_written_at_once(result, tmp_path: Path) -> None:
    written = write_outputs(result, tmp_path / "out")
    assert "sites.parquet" in OUTPUT_FILES
    assert [p.name for p in written] == list(OUTPUT_FILES)
    assert all(p.is_file() for p in written)
    outputs = json.loads((tmp_path / "out" / "run.json").read_text())["outputs"]
    assert "rows" not in outputs["sites.csv"]  # not cut


def test_csv_max_rows_config_key(world_config: Path) -> None:
    from siteselect._errors import ConfigError

    assert load_config(world_config).outputs.csv_max_rows == 200_000
    text = world_config.read_text()
    assert "outputs: {dir: out, top_n: 5}" in text
    for value, expected in (("null", None), ("5", 5)):
        config = world_config.with_name(f"csv-{value}.yaml")
        config.write_text(text.replace("top_n: 5}", f"top_n: 5, csv_max_rows: {value}}}"))
        assert load_config(config).outputs.csv_max_rows == expected
    assert load_config(world_config).outputs.csv_bom is False
    config = world_config.with_name("csv-bom.yaml")
    config.write_text(text.replace("top_n: 5}", "top_n: 5, csv_bom: true}"))
    assert load_config(config).outputs.csv_bom is True
    config.write_text(text.replace("top_n: 5}", "top_n: 5, csv_bom: maybe}"))
    with pytest.raises(ConfigError, match="csv_bom"):
        load_config(config)
    config.write_text(text.replace("top_n: 5}", "top_n: 5, csv_max_rows: 0}"))
    with pytest.raises(ConfigError, match="csv_max_rows"):
        load_config(config)


# --- GeoParquet, integer columns ---------------------------------------------------------


def test_geoparquet_is_valid_geoparquet(result, tmp_path: Path) -> None:
    """The ``geo`` metadata as the GeoParquet 1.x spec requires it, the CRS as PROJJSON."""
    path = tmp_path / "sites.parquet"
    write_geoparquet(result, path)
    geo = json.loads(pq.read_schema(path).metadata[b"geo"])
    assert re.fullmatch(r"1\.\d+\.\d+", geo["version"])
    column = geo["columns"][geo["primary_column"]]
    assert column["encoding"] == "WKB"
    assert set(column["geometry_types"]) <= {"Polygon", "MultiPolygon"}
    assert isinstance(column["crs"], dict) and column["crs"]["type"].endswith("CRS")
    assert pyproj.CRS.from_json_dict(column["crs"]) == result.crs
    west, south, east, north = result.candidates.total_bounds
    assert column["bbox"] == pytest.approx([west, south, east, north])
    assert pq.read_schema(path).field(geo["primary_column"]).type == "binary"


def test_integer_columns_are_integers_in_every_file(result, tmp_path: Path) -> None:
    integers = [
        c for c in result.candidates.columns if pd.api.types.is_integer_dtype(result.candidates[c])
    ]
    assert {"rank", "source_row"} <= set(integers)
    write_geopackage(result, tmp_path / "sites.gpkg")
    write_geoparquet(result, tmp_path / "sites.parquet")
    write_csv(result, tmp_path / "sites.csv")
    with sqlite3.connect(tmp_path / "sites.gpkg") as db:
        declared = {r[1]: r[2] for r in db.execute('pragma table_info("candidates")')}
    schema = pq.read_schema(tmp_path / "sites.parquet")
    text = pd.read_csv(tmp_path / "sites.csv", dtype=str, keep_default_na=False)
    for column in integers:
        assert declared[column] in ("INTEGER", "MEDIUMINT", "BIGINT"), column
        assert pa.types.is_integer(schema.field(column).type), column
        assert text[column].str.fullmatch(r"-?\d*").all(), column  # "3", never "3.0"
    assert schema.field("rank").nullable
    assert (text["rank"] == "").sum() == result.candidates["rank"].isna().sum()


# --- GeoPackage: version, layer names, QGIS style ----------------------------------------


def _header(path: Path) -> tuple[bytes, int]:
    """(application_id, user_version) from the SQLite header (big-endian, offsets 68 and 60)."""
    head = path.read_bytes()[:100]
    return head[68:72], int.from_bytes(head[60:64], "big")


def _open_warnings(path: Path) -> list[str]:
    """GDAL warnings (pyogrio turns them into Python warnings) on opening every layer."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for name, _ in pyogrio.list_layers(path):
            pyogrio.read_info(path, layer=name)
    return [str(w.message) for w in caught]


@pytest.fixture(scope="module")
def gpkg(result, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("gpkg") / "sites.gpkg"
    write_geopackage(result, path)
    return path


def test_geopackage_1_2_opens_without_a_warning(gpkg: Path, tmp_path: Path) -> None:
    application_id, user_version = _header(gpkg)
    assert application_id == b"GPKG"
    assert user_version in (10200, 10300)
    assert _open_warnings(gpkg) == []
    # the check sees GDAL's warning on a version it does not know (here 1.5)
    future = tmp_path / "future.gpkg"
    shutil.copy(gpkg, future)
    with contextlib.closing(sqlite3.connect(future)) as db:
        db.execute("pragma user_version = 10500")
        db.commit()
    assert any("user_version" in w for w in _open_warnings(future))
    ogrinfo = shutil.which("ogrinfo")  # Debian bookworm's GDAL 3.6, where installed
    if ogrinfo is not None:
        for path, clean in ((gpkg, True), (future, False)):
            shown = subprocess.run(
                [ogrinfo, "-ro", "-so", str(path)], capture_output=True, text=True, check=True
            )
            assert ("Warning" not in shown.stdout + shown.stderr) is clean, shown.stderr


def test_layer_names_are_short_with_a_title(result, gpkg: Path) -> None:
    layers = [name for name, _ in pyogrio.list_layers(gpkg)]
    assert all(len(name) <= MAX_LAYER_NAME for name in layers), layers
    with sqlite3.connect(gpkg) as db:
        contents = dict(db.execute("select table_name, identifier from gpkg_contents"))
        described = dict(db.execute("select table_name, description from gpkg_contents"))
    overlays = {o.name for o in result.overlays if not o.gdf.empty}
    assert overlays <= set(contents.values())  # the full name is the layer's title
    assert contents["candidates"].startswith("Candidate sites: ")
    assert "rank" in described["candidates"]


def test_layer_names_from_long_and_clashing_overlay_names() -> None:
    long = "Target households reached (drive time, gravity, 15 min half-life)"
    names = layer_names([long, long + " again", long, "Study area", "x" * 80, "-- !"])
    assert names[long] == "overlay_target_households_reached_drive"
    assert names[long + " again"] == "overlay_target_households_reached_driv_2"
    assert names["Study area"] == "overlay_study_area"
    assert len(names) == 5 and len(set(names.values())) == 5
    assert all(len(v) <= MAX_LAYER_NAME for v in names.values())
    assert names["-- !"] == "overlay_layer"


QGIS_STYLE_COLUMNS = [
    "id",
    "f_table_catalog",
    "f_table_schema",
    "f_table_name",
    "f_geometry_column",
    "styleName",
    "styleQML",
    "styleSLD",
    "useAsDefault",
    "description",
    "owner",
    "ui",
    "update_time",
]


def _classes(qml: ET.Element) -> list[tuple[str, float, float, tuple[int, ...]]]:
    """(lower operator, lower, upper, fill RGBA) of each graduated class of the QML."""
    fills = {
        s.get("name"): tuple(
            int(v)
            for v in s.find("layer/prop[@k='color']").get("v").split(",")  # type: ignore[union-attr]
        )
        for s in qml.iter("symbol")
    }
    (ranked,) = [r for r in qml.iter("rule") if r.get("filter") == 'NOT "excluded"']
    out = []
    for rule in ranked.findall("rule"):
        match = re.fullmatch(
            r'"total_score" (>=|>) ([\d.e-]+) AND "total_score" <= ([\d.e-]+)',
            rule.get("filter", ""),
        )
        assert match, rule.get("filter")
        out.append((match[1], float(match[2]), float(match[3]), fills[rule.get("symbol")]))
    return out


def test_layer_styles_holds_the_candidates_qgis_style(result, gpkg: Path) -> None:
    with contextlib.closing(sqlite3.connect(gpkg)) as db:
        db.row_factory = sqlite3.Row
        columns = [r[1] for r in db.execute('pragma table_info("layer_styles")')]
        (registered,) = db.execute(
            "select data_type from gpkg_contents where table_name = 'layer_styles'"
        ).fetchone()
        geometry = db.execute(
            "select column_name from gpkg_geometry_columns where table_name = 'candidates'"
        ).fetchone()[0]
        (style,) = db.execute("select * from layer_styles").fetchall()
    assert columns == QGIS_STYLE_COLUMNS  # the table QGIS's "save style in database" creates
    assert registered == "attributes"
    assert (style["f_table_schema"], style["f_table_name"]) == ("", "candidates")
    assert style["f_geometry_column"] == geometry and style["useAsDefault"] == 1
    qml = ET.fromstring(style["styleQML"].split("\n", 1)[1])  # after the DOCTYPE line
    assert qml.tag == "qgis"
    renderer = qml.find("renderer-v2")
    assert renderer is not None and renderer.get("type") == "RuleRenderer"
    (excluded,) = [r for r in qml.iter("rule") if r.get("filter") == '"excluded"']
    grey = qml.find(f"renderer-v2/symbols/symbol[@name='{excluded.get('symbol')}']")
    red, green, blue, _ = (int(v) for v in grey.find("layer/prop[@k='color']").get("v").split(","))  # type: ignore[union-attr]
    assert max(red, green, blue) - min(red, green, blue) < 30  # grey: no hue
    classes = _classes(qml)
    assert len(classes) == CLASSES
    assert classes[0][0] == ">=" and all(c[0] == ">" for c in classes[1:])
    assert all(a[2] == b[1] for a, b in itertools.pairwise(classes))  # contiguous
    assert sum(classes[-1][3][:3]) < sum(classes[0][3][:3])  # darker = better
    # every ranked candidate falls in exactly one class (the filters, evaluated naively)
    ranked = result.candidates.loc[~result.candidates["excluded"], "total_score"]
    for score in ranked:
        hits = [
            (score >= low if op == ">=" else score > low) and score <= high
            for op, low, high, _ in classes
        ]
        assert sum(hits) == 1, score
    sld = ET.fromstring(style["styleSLD"].split("\n", 1)[1])
    rules = list(sld.iter("{http://www.opengis.net/se}Rule"))
    assert len(rules) == CLASSES + 1


def test_style_of_a_run_without_ranked_sites() -> None:
    none_ranked = score_classes(pd.Series([0.4, 0.6]), pd.Series([True, True]))
    assert none_ranked == []
    qml = ET.fromstring(candidates_qml(none_ranked).split("\n", 1)[1])
    assert [r.get("filter") for r in qml.iter("rule")] == ['"excluded"']
    (one,) = score_classes(pd.Series([0.5, 0.5]), pd.Series([False, False]))
    assert one.lower <= 0.5 <= one.upper


# --- constraint measurements ---------------------------------------------------------------


def test_constraint_measurements_are_raw_columns_in_every_output(
    result, world_config: Path, tmp_path: Path
) -> None:
    """raw_<constraint> holds what the bound is compared with (naive oracles)."""
    candidates = result.candidates
    # the runway zone: the share of each parcel inside the 250 m buffer around the runway, in %
    runway = gpd.read_file(world_config.parent / "runway.geojson").to_crs(result.crs)
    zone = shapely.union_all(shapely.buffer(runway.geometry.to_numpy(), 250, quad_segs=16))
    parcels = candidates.geometry.to_numpy()
    expected = shapely.area(shapely.intersection(parcels, zone)) / shapely.area(parcels) * 100
    assert np.allclose(candidates["raw_runway_zone"], expected, atol=1e-6)
    assert (candidates["raw_runway_zone"] > 0).any()
    # drive minutes to the freeway: the criterion measures the same thing
    minutes = candidates["raw_far_from_freeway"].to_numpy()
    assert np.array_equal(minutes, candidates["raw_freeway_access"].to_numpy(), equal_nan=True)
    failed = candidates["exclusion_reason"].str.contains("far_from_freeway: ")
    assert failed.tolist() == ((minutes > 5) | np.isnan(minutes)).tolist()
    assert (minutes > 5).any()
    write_geopackage(result, tmp_path / "sites.gpkg")
    write_geoparquet(result, tmp_path / "sites.parquet")
    write_csv(result, tmp_path / "sites.csv")
    columns = {
        "gpkg": pyogrio.read_info(tmp_path / "sites.gpkg", layer="candidates")["fields"],
        "parquet": pq.read_schema(tmp_path / "sites.parquet").names,
        "csv": pd.read_csv(tmp_path / "sites.csv", nrows=1).columns,
    }
    for name, fields in columns.items():
        assert {"raw_runway_zone", "raw_far_from_freeway"} <= set(fields), name


def test_constraint_named_like_a_criterion_keeps_both_columns() -> None:
    columns = constraint_raw_columns(
        {"access": np.array([7.0]), "zone": np.array([1.0])}, ["access"]
    )
    assert list(columns) == ["raw_access_constraint", "raw_zone"]


QGIS_SCRIPT = """
import json, os, sys
from qgis.core import QgsApplication, QgsRenderContext, QgsVectorLayer
QgsApplication.setPrefixPath("/usr", True)
app = QgsApplication([], False)
app.initQgis()
layer = QgsVectorLayer(sys.argv[1] + "|layername=candidates", "candidates", "ogr")
renderer = layer.renderer()
context = QgsRenderContext()
renderer.startRender(context, layer.fields())
colours = {}
for feature in layer.getFeatures():
    names = [s.color().name() for s in renderer.symbolsForFeature(feature, context)]
    colours[str(feature["candidate_id"])] = names
renderer.stopRender(context)
print(json.dumps({"valid": layer.isValid(), "renderer": renderer.type(), "colours": colours}))
sys.stdout.flush()
os._exit(0)  # QGIS 3.22 may crash while tearing down; the answer is out
"""


def _qgis_python() -> str | None:
    """A Python with QGIS's bindings (Debian's python3-qgis), or None."""
    for python in ("/usr/bin/python3", shutil.which("python3")):
        if python and Path(python).is_file():
            probe = subprocess.run(
                [python, "-c", "import qgis.core"], capture_output=True, check=False
            )
            if probe.returncode == 0:
                return python
    return None


def test_qgis_opens_the_candidates_styled(result, gpkg: Path) -> None:
    """Where QGIS is installed: the layer opens with the stored style, grey = excluded."""
    python = _qgis_python()
    if python is None:
        pytest.skip("QGIS's Python bindings are not installed (apt-get install python3-qgis)")
    done = subprocess.run(
        [python, "-c", QGIS_SCRIPT, str(gpkg)],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "QT_QPA_PLATFORM": "offscreen"},
        timeout=120,
    )
    shown = json.loads(done.stdout.strip().splitlines()[-1])
    assert shown["valid"] and shown["renderer"] == "RuleRenderer"
    grey = EXCLUDED_COLOR.lower()
    for candidate_id, excluded in zip(
        result.candidates["candidate_id"], result.candidates["excluded"], strict=True
    ):
        colours = shown["colours"][str(candidate_id)]
        assert len(colours) == 1, candidate_id  # exactly one class each
        assert (colours[0] == grey) == bool(excluded), candidate_id


def test_layer_names_that_fit_are_kept_whole() -> None:
    names = layer_names(
        ["AICUZ clear zones and APZs", "Airspace: primary and transitional surfaces"]
    )
    assert names["AICUZ clear zones and APZs"] == "overlay_aicuz_clear_zones_and_apzs"
    assert names["Airspace: primary and transitional surfaces"] == (
        "overlay_airspace_primary_transitional"
    )
