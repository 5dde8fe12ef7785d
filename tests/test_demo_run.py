"""The demo as a new user runs it: `siteselect run configs/demo.yaml`, end to end.

Runs the real CLI in a subprocess on the committed demo region, checks the four
outputs, compares the top 10 with a golden file, checks determinism, the
one-line errors for broken configs, and opens the map in headless Chromium.

Golden file: tests/data/golden/demo_top10.csv; regenerate it after an
intended change with ``SITESELECT_UPDATE_GOLDEN=1 pytest tests/test_demo_run.py``.
"""

from __future__ import annotations

import json
import os
import re
import sqlite3
import subprocess
import sys
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pytest
import shapely
import yaml

from tests._browser import open_map, require_browser

REPO = Path(__file__).resolve().parents[1]
DEMO = REPO / "configs" / "demo.yaml"
GOLDEN = REPO / "tests" / "data" / "golden" / "demo_top10.csv"
OUTPUTS = ("sites.gpkg", "sites.parquet", "sites.csv", "map.html", "report.html", "run.json")


def siteselect(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run the CLI as a user would, from the repository root (``env`` adds variables)."""
    return subprocess.run(
        [sys.executable, "-m", "siteselect", *args],
        cwd=REPO,
        env=None if env is None else {**os.environ, **env},
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )


@pytest.fixture(scope="module")
def demo_out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("demo") / "a"
    result = siteselect("run", str(DEMO), "--out", str(out), env={"PYTHONHASHSEED": "1"})
    assert result.returncode == 0, result.stderr
    return out


@pytest.fixture(scope="module")
def sites(demo_out: Path) -> pd.DataFrame:
    return pd.read_csv(demo_out / "sites.csv", dtype={"candidate_id": str, "shadowed_by": str})


def test_four_outputs_written(demo_out: Path) -> None:
    assert sorted(p.name for p in demo_out.iterdir()) == sorted(OUTPUTS)
    assert (demo_out / "map.html").stat().st_size < 3_000_000


def test_demo_config_covers_every_concern() -> None:
    config = yaml.safe_load(DEMO.read_text())
    kinds = {
        entry["kind"]
        for section in ("criteria", "constraints")
        for entry in config[section].values()
    }
    assert {"airspace", "network_time", "accessibility", "distance", "raster_zonal"} <= kinds
    layers = {
        entry.get("layer")
        for section in ("criteria", "constraints")
        for entry in config[section].values()
    }
    assert {"runways", "hospitals", "border", "faults", "hazard", "tracts"} <= layers


def test_candidate_columns_and_invariants(sites: pd.DataFrame) -> None:
    config = yaml.safe_load(DEMO.read_text())
    for name in config["criteria"]:
        assert {f"raw_{name}", f"score_{name}"} <= set(sites.columns)
    assert {"excluded", "exclusion_reason", "total_score", "rank", "lon", "lat"} <= set(
        sites.columns
    )
    excluded = sites["excluded"].astype(bool)
    assert excluded.any() and (~excluded).any()
    assert sites.loc[excluded, "exclusion_reason"].fillna("").str.len().gt(0).all()
    assert sites.loc[excluded, "rank"].isna().all()
    ranks = sites.loc[~excluded, "rank"].astype(int).sort_values().tolist()
    assert ranks == list(range(1, len(ranks) + 1))
    first = sites[sites["rank"] == 1].iloc[0]
    assert not first["excluded"]
    assert first["total_score"] == sites.loc[~excluded, "total_score"].max()


def test_exclusions_name_their_cause(sites: pd.DataFrame) -> None:
    reasons = sites["exclusion_reason"].dropna()
    # the demo's airspace and fault setback are partial: the buildable area names them
    assert reasons.str.contains(r"buildable: no buildable area \(airspace height limit\)").any()
    assert reasons.str.contains(r"buildable: no buildable area \(AICUZ clear zone/APZ\)").any()
    assert reasons.str.contains(r"buildable: only .* buildable acres of .*slope > 15%").any()
    assert reasons.str.contains(r"\(fault setback").any()


def test_geopackage_and_manifest(demo_out: Path, sites: pd.DataFrame) -> None:
    layers = dict(pyogrio.list_layers(demo_out / "sites.gpkg"))
    assert "candidates" in layers and any(name.startswith("overlay_") for name in layers)
    assert len(pyogrio.read_dataframe(demo_out / "sites.gpkg", layer="candidates")) == len(sites)
    manifest = json.loads((demo_out / "run.json").read_text())
    assert manifest["counts"]["candidates"] == len(sites)
    assert manifest["working_crs"]["epsg"] == 32611
    assert {"network", "candidates", "layers.hazard"} <= set(manifest["inputs"])


def test_top10_matches_golden(sites: pd.DataFrame) -> None:
    """The ten distinct top sites (shadowed ones skipped, as on the map), with their names."""
    distinct = sites["rank"].notna() & sites["shadowed_by"].fillna("").eq("")
    top = sites[distinct].sort_values("rank").head(10)
    table = pd.DataFrame(
        {
            "rank": top["rank"].astype(int),
            "candidate_id": top["candidate_id"],
            "site_name": top["site_name"].fillna(""),
            "total_score": top["total_score"].round(4),
        }
    )
    if os.environ.get("SITESELECT_UPDATE_GOLDEN") == "1":
        table.to_csv(GOLDEN, index=False, lineterminator="\n")
    golden = pd.read_csv(GOLDEN, dtype={"candidate_id": str}, keep_default_na=False)
    assert table["candidate_id"].tolist() == golden["candidate_id"].tolist()
    assert table["site_name"].tolist() == golden["site_name"].tolist()
    assert table["total_score"].tolist() == pytest.approx(golden["total_score"].tolist(), abs=2e-4)


def test_top10_sites_are_distinct(demo_out: Path) -> None:
    """Issue 14: the top-10 markers are at least outputs.min_separation_m apart."""
    separation = yaml.safe_load(DEMO.read_text())["outputs"]["min_separation_m"]
    sites = gpd.read_file(demo_out / "sites.gpkg", layer="candidates")
    shadowed = sites["shadowed_by"].fillna("") != ""
    top = sites[sites["rank"].notna() & ~shadowed].sort_values("rank").head(10)
    assert len(top) == 10
    geoms = top.geometry.to_numpy()
    gaps = shapely.distance(geoms[:, None], geoms[None, :])
    np.fill_diagonal(gaps, np.inf)
    assert gaps.min() >= separation
    # each shadowed site is ranked below, and within the separation of, its top site
    assert shadowed.any()
    by_id = sites.set_index("candidate_id")
    for _, row in sites[shadowed].iterrows():
        top_site = by_id.loc[row["shadowed_by"]]
        assert top_site["rank"] < row["rank"] and top_site["shadowed_by"] in (None, "")
        assert row.geometry.distance(top_site.geometry) <= separation
    named = top["site_name"].fillna("") != ""
    assert named.sum() >= 5  # the demo parcels have owner and landmark names


VOLATILE_MANIFEST_KEYS = ("created_utc", "timings_s", "command_line")
"""run.json keys that may differ between two runs of the same inputs (declared time stamps,
the command line naming another output folder); sites.gpkg's hash too (its time stamps)."""
#: The run's date in report.html (from created_utc).
REPORT_DATE = re.compile(r"Run on \d{1,2} \w+ \d{4}, \d\d:\d\d UTC")


def _gpkg_dump(path: Path) -> list[tuple]:
    """Every row of every table of a GeoPackage, without its time stamps (the layers'
    last_change, the QGIS style's update_time)."""
    with sqlite3.connect(path) as db:
        tables = [r[0] for r in db.execute("select name from sqlite_master where type='table'")]
        rows: list[tuple] = []
        for table in sorted(tables):
            columns = [r[1] for r in db.execute(f'pragma table_info("{table}")')]
            kept = [c for c in columns if c not in ("last_change", "update_time")]
            select = ", ".join(f'"{c}"' for c in kept)
            rows += [(table, *r) for r in db.execute(f'select {select} from "{table}" order by 1')]
    return rows


def test_second_run_is_identical_under_another_hash_seed(demo_out: Path, tmp_path: Path) -> None:
    """Same inputs, another PYTHONHASHSEED: sites.csv, sites.parquet, map.html and report.html
    byte for byte (the report apart from the run's date), run.json apart from its declared
    time stamps, sites.gpkg apart from its time stamps."""
    result = siteselect(
        "-q", "run", str(DEMO), "--out", str(tmp_path / "b"), env={"PYTHONHASHSEED": "4242"}
    )
    assert result.returncode == 0, result.stderr
    second = tmp_path / "b"
    for name in ("sites.csv", "sites.parquet", "map.html"):
        assert (second / name).read_bytes() == (demo_out / name).read_bytes(), name
    reports = [(d / "report.html").read_text(encoding="utf-8") for d in (demo_out, second)]
    assert all(REPORT_DATE.search(r) for r in reports)
    undated = [REPORT_DATE.sub("Run on DATE", r) for r in reports]
    assert undated[0] == undated[1], "report.html"
    manifests = [json.loads((d / "run.json").read_text()) for d in (demo_out, second)]
    for manifest in manifests:
        for key in VOLATILE_MANIFEST_KEYS:
            manifest.pop(key)
        manifest["diagnostics"].pop("criteria_cache")  # which entries each run reused
        manifest["outputs"].pop("sites.gpkg")
        manifest["outputs"].pop("report.html")  # states the run's date (compared above without it)
    assert manifests[0] == manifests[1]
    assert _gpkg_dump(second / "sites.gpkg") == _gpkg_dump(demo_out / "sites.gpkg")


def test_run_json_reruns_the_demo_byte_for_byte(demo_out: Path, tmp_path: Path) -> None:
    """`siteselect run OUTDIR/run.json` runs that config again: the same sites.csv."""
    again = tmp_path / "again"
    result = siteselect("-q", "run", str(demo_out / "run.json"), "--out", str(again))
    assert result.returncode == 0, result.stderr
    assert (again / "sites.csv").read_bytes() == (demo_out / "sites.csv").read_bytes()
    first, second = (json.loads((d / "run.json").read_text()) for d in (demo_out, again))
    assert second["config"] == first["config"]
    assert second["rerun_of"]["changed_inputs"] == []
    assert second["outputs"]["sites.csv"] == first["outputs"]["sites.csv"]


def test_validate_demo() -> None:
    result = siteselect("validate", str(DEMO))
    assert result.returncode == 0, result.stderr


def _broken_demo(tmp_path: Path, old: str, new: str) -> Path:
    text = DEMO.read_text().replace("../layers/", f"{REPO}/layers/")
    assert old in text
    path = tmp_path / "broken.yaml"
    path.write_text(text.replace(old, new, 1))
    return path


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ("    weight: 2\n", "    weight: -2\n", "criteria.seismic.weight: must be >= 0"),
        ("    weight: 3\n", "    wieght: 3\n", "unknown key 'wieght' (did you mean 'weight'?)"),
        ("pga_2pct50yr.tif", "pga_missing.tif", "layers.hazard.source: file not found"),
    ],
)
def test_broken_demo_configs_exit_2_with_one_line(
    tmp_path: Path, old: str, new: str, expected: str
) -> None:
    path = _broken_demo(tmp_path, old, new)
    for command in ("validate", "run"):
        result = (
            siteselect(command, str(path), "--out", str(tmp_path / "out"))
            if command == "run"
            else siteselect(command, str(path))
        )
        assert result.returncode == 2
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: ") and expected in lines[0], lines
        assert "broken.yaml:" in lines[0]
    assert not (tmp_path / "out").exists()


@pytest.mark.browser
def test_demo_map_in_chromium(demo_out: Path, sites: pd.DataFrame) -> None:
    require_browser()
    with open_map(demo_out / "map.html") as session:
        page = session.page
        markers = page.locator(".ss-rank-marker")
        markers.first.wait_for()
        assert markers.count() == 10
        page.locator('.ss-rank-marker[data-rank="1"]').click()
        popup = page.locator("#ss-popup-1")
        popup.wait_for(state="visible")
        best = sites[sites["rank"] == 1].iloc[0]
        text = popup.inner_text()
        assert str(best["candidate_id"]) in text
        assert "Drive time to nearest freeway on-ramp" in text
        page.wait_for_timeout(500)  # let the popup finish fading in
        session.screenshot("demo_map.png")
        session.assert_clean()
