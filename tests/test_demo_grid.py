"""Issue 14: a config with only ``candidates: {grid: {cell_m: 250}}`` runs on the demo region.

``configs/demo_grid.yaml`` is the demo without a parcel file: 250 m cells over
the study area, the demo's constraints and criteria (without visibility, which
takes minutes for 21,000 cells). Run through the CLI, as a user would.
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import shapely
import yaml

from tests.test_demo_run import REPO, siteselect

CONFIG = REPO / "configs" / "demo_grid.yaml"


@pytest.fixture(scope="module")
def grid_out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("demo_grid") / "out"
    result = siteselect("run", str(CONFIG), "--out", str(out))
    assert result.returncode == 0, result.stderr
    assert "Top 10" in result.stdout
    return out


def test_the_config_has_no_parcel_file() -> None:
    config = yaml.safe_load(CONFIG.read_text())
    assert config["candidates"] == {"grid": {"cell_m": 250}}


def test_grid_run_covers_the_study_area(grid_out: Path) -> None:
    sites = gpd.read_file(grid_out / "sites.gpkg", layer="candidates")
    assert len(sites) > 15_000
    assert sites["candidate_id"].str.fullmatch(r"g\d{3}_\d{3}").all()
    assert sites["candidate_id"].is_unique
    area = gpd.read_file(REPO / "layers" / "demo" / "study_area.geojson").to_crs(sites.crs)
    outline = shapely.union_all(area.geometry.to_numpy()).buffer(1.0)
    assert shapely.within(sites.geometry.to_numpy(), outline).all()
    whole = 250.0 * 250.0 / 4046.8564224
    assert sites["area_acres"].max() == pytest.approx(whole, rel=1e-6)
    assert (sites["area_acres"] >= 0.25 * whole - 1e-9).all()
    assert (sites["site_name"].fillna("") == "").all()
    assert not [c for c in sites.columns if c.startswith("attr_")]
    ranked = sites["rank"].notna()
    assert ranked.sum() > 10_000 and (~ranked).any()


def test_grid_top_sites_are_distinct(grid_out: Path) -> None:
    sites = gpd.read_file(grid_out / "sites.gpkg", layer="candidates")
    top = sites[sites["rank"].notna() & (sites["shadowed_by"].fillna("") == "")]
    top = top.sort_values("rank").head(10)
    geoms = top.geometry.to_numpy()
    gaps = shapely.distance(geoms[:, None], geoms[None, :])
    np.fill_diagonal(gaps, np.inf)
    assert gaps.min() >= 500.0
    assert (sites["shadowed_by"].fillna("") != "").sum() > 10  # neighbouring cells shadowed
