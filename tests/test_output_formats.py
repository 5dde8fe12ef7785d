"""What each table output holds: GeoParquet, GeoPackage through Arrow, the capped CSV."""

from __future__ import annotations

import dataclasses
import json
import logging
import sqlite3
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pyogrio
import pytest

from siteselect.config import load_config
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


def test_csv_under_the_limit_has_every_candidate_in_order(result, tmp_path: Path) -> None:
    assert csv_rows(dataclasses.replace(result, csv_max_rows=len(result.candidates))) is None
    path = tmp_path / "sites.csv"
    write_csv(result, path)
    table = pd.read_csv(path, dtype={"candidate_id": str})
    assert table["candidate_id"].tolist() == result.candidates["candidate_id"].tolist()


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
    assert "outputs" not in json.loads((tmp_path / "out" / "run.json").read_text())


def test_csv_max_rows_config_key(world_config: Path) -> None:
    from siteselect._errors import ConfigError

    assert load_config(world_config).outputs.csv_max_rows == 200_000
    text = world_config.read_text()
    assert "outputs: {dir: out, top_n: 5}" in text
    for value, expected in (("null", None), ("5", 5)):
        config = world_config.with_name(f"csv-{value}.yaml")
        config.write_text(text.replace("top_n: 5}", f"top_n: 5, csv_max_rows: {value}}}"))
        assert load_config(config).outputs.csv_max_rows == expected
    config.write_text(text.replace("top_n: 5}", "top_n: 5, csv_max_rows: 0}"))
    with pytest.raises(ConfigError, match="csv_max_rows"):
        load_config(config)
