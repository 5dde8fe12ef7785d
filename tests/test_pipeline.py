"""End to end on the tiny world: outputs, invariants, determinism, atomic writes."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pyogrio
import pytest

from siteselect._errors import OutputError
from siteselect.config import load_config
from siteselect.outputs import OUTPUT_FILES, WRITERS, write_outputs
from siteselect.pipeline import run


@pytest.fixture(scope="module")
def result(world_config: Path):
    return run(load_config(world_config))


def test_candidate_table_invariants(result) -> None:
    table = result.candidates
    names = [c.name for c in result.criteria]
    for name in names:
        assert {f"raw_{name}", f"score_{name}", f"contrib_{name}"} <= set(table.columns)
        scores = table[f"score_{name}"]
        assert ((scores >= 0) & (scores <= 1)).all()
    contributions = table[[f"contrib_{n}" for n in names]].sum(axis=1)
    assert contributions.to_numpy() == pytest.approx(table["total_score"].to_numpy())
    excluded = table["excluded"]
    assert (table.loc[excluded, "exclusion_reason"] != "").all()
    assert (table.loc[~excluded, "exclusion_reason"] == "").all()
    assert table.loc[excluded, "rank"].isna().all()
    ranks = table.loc[~excluded, "rank"].astype(int).sort_values()
    assert ranks.tolist() == list(range(1, len(ranks) + 1))
    best = table.loc[~excluded, "total_score"].max()
    assert table.loc[table["rank"] == 1, "total_score"].iloc[0] == best


def test_constraints_exclude_with_reasons(result) -> None:
    table = result.candidates
    by = {c.name: c.excluded_count for c in result.constraints}
    assert by["runway_zone"] >= 2 and by["far_from_freeway"] >= 1
    runway = table["exclusion_reason"].str.contains("runway_zone: ")
    assert runway.sum() == by["runway_zone"]
    assert table.loc[runway, "exclusion_reason"].str.contains("zone Runway 1").all()


def test_freeway_access_is_monotone_westward(result) -> None:
    """Parcels nearer the interchange (east, middle rows) drive less."""
    table = result.candidates.set_index("candidate_id")
    assert table.loc["P52", "raw_freeway_access"] < table.loc["P02", "raw_freeway_access"]
    assert table.loc["P52", "raw_freeway_access"] < table.loc["P50", "raw_freeway_access"]


def test_outputs_written_and_consistent(result, tmp_path: Path) -> None:
    files = write_outputs(result, tmp_path / "out")
    assert [f.name for f in files] == list(OUTPUT_FILES)
    csv = pd.read_csv(tmp_path / "out" / "sites.csv")
    assert {
        "candidate_id",
        "total_score",
        "rank",
        "excluded",
        "exclusion_reason",
        "lon",
        "lat",
    } <= set(csv.columns)
    assert csv["lon"].between(-118, -116).all() and csv["lat"].between(32, 34).all()
    layers = dict(pyogrio.list_layers(tmp_path / "out" / "sites.gpkg"))
    assert "candidates" in layers
    gpkg = pyogrio.read_dataframe(tmp_path / "out" / "sites.gpkg", layer="candidates")
    assert len(gpkg) == len(csv)
    manifest = json.loads((tmp_path / "out" / "run.json").read_text())
    assert set(manifest["inputs"]) >= {"config", "candidates", "network", "layers.hazard"}
    assert all(len(entry["sha256"]) == 64 for entry in manifest["inputs"].values())
    assert manifest["counts"]["candidates"] == len(csv)
    assert "criterion freeway_access" in manifest["timings_s"]


def test_failed_write_leaves_previous_outputs(result, tmp_path: Path, monkeypatch) -> None:
    out = tmp_path / "out"
    write_outputs(result, out)
    before = {name: (out / name).read_bytes() for name in OUTPUT_FILES}

    def broken(result, path):
        path.write_text("half")
        raise RuntimeError("disk full")

    monkeypatch.setitem(WRITERS, "map.html", broken)
    with pytest.raises(OutputError, match="disk full"):
        write_outputs(result, out)
    assert {name: (out / name).read_bytes() for name in OUTPUT_FILES} == before
    assert [p.name for p in tmp_path.iterdir()] == ["out"]  # no staging folder left


def test_two_runs_give_identical_csv(world_config: Path, tmp_path: Path) -> None:
    config = load_config(world_config)
    for name in ("a", "b"):
        write_outputs(run(config), tmp_path / name)
    assert (tmp_path / "a" / "sites.csv").read_bytes() == (
        tmp_path / "b" / "sites.csv"
    ).read_bytes()


def test_unreadable_raster_is_a_layer_error(world_config: Path, tmp_path: Path) -> None:
    from siteselect._errors import LayerError

    broken = world_config.parent / "broken.tif"
    broken.write_text("not a GeoTIFF")
    path = world_config.parent / "broken_raster.yaml"
    path.write_text(world_config.read_text().replace("source: hazard.tif", "source: broken.tif"))
    with pytest.raises(LayerError, match=r"layers\.hazard: cannot open raster .*broken\.tif"):
        run(load_config(path))
