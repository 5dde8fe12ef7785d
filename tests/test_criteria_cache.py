"""The criteria cache: what a rerun reuses, what it measures again, and damage never trusted.

The oracle is a run without the cache (``cache: {enabled: false}``): whatever
the cache reuses, the results must equal it.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

import siteselect.hashing as hashing
from siteselect.config import load_config
from siteselect.criteria.base import Measurement
from siteselect.criteria.cache import CriteriaCache, explain, measurement_params
from siteselect.criteria.overlay import Overlay
from siteselect.outputs import write_outputs
from siteselect.pipeline import run
from tests._world import write_world

ENTRIES = [
    "constraints.runway_zone",
    "constraints.far_from_freeway",
    "criteria.freeway_access",
    "criteria.seismic",
    "criteria.members",
    "criteria.competition",
]


@pytest.fixture(scope="module")
def world_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_world(tmp_path_factory.mktemp("cache_world")).parent


@pytest.fixture
def world(world_template: Path, tmp_path: Path) -> Path:
    """A fresh copy of the tiny world (its own cache folder) for each test."""
    folder = tmp_path / "world"
    shutil.copytree(world_template, folder, ignore=shutil.ignore_patterns(".cache", "out"))
    return folder / "world.yaml"


def _edit(config: Path, old: str, new: str) -> None:
    text = config.read_text(encoding="utf-8")
    assert old in text
    config.write_text(text.replace(old, new), encoding="utf-8")


def _uncached(config: Path):
    """The oracle: a run that measures everything, without the cache."""
    loaded = load_config(config)
    loaded.cache.enabled = False
    return run(loaded)


def _cache_record(result) -> dict:
    return result.manifest["diagnostics"]["criteria_cache"]


def _same_candidates(a, b) -> None:
    pd.testing.assert_frame_equal(
        pd.DataFrame(a.candidates.drop(columns="geometry")),
        pd.DataFrame(b.candidates.drop(columns="geometry")),
    )
    assert a.candidates.geometry.geom_equals_exact(b.candidates.geometry, 0).all()


def test_second_run_reuses_every_entry_and_gives_the_same_results(world: Path) -> None:
    first = run(load_config(world))
    assert _cache_record(first)["reused"] == []
    assert list(_cache_record(first)["recomputed"]) == ENTRIES
    second = run(load_config(world))
    assert _cache_record(second)["reused"] == ENTRIES
    assert _cache_record(second)["recomputed"] == {}
    assert "shared demand searches" not in second.manifest["timings_s"]  # nothing to plan
    _same_candidates(first, second)
    assert [o.name for o in first.overlays] == [o.name for o in second.overlays]
    assert first.exclusions == second.exclusions
    diagnostics = {k: v for k, v in second.manifest["diagnostics"].items() if k != "criteria_cache"}
    assert diagnostics == {
        k: v for k, v in first.manifest["diagnostics"].items() if k != "criteria_cache"
    }


def test_a_changed_layer_file_recomputes_only_the_entries_reading_it(world: Path) -> None:
    run(load_config(world))
    hospitals = world.parent / "hospitals.geojson"
    frame = gpd.read_file(hospitals)
    frame["BEDS"] = [900, 100]
    frame.geometry = frame.geometry.translate(0.002, 0.0)  # about 200 m east
    frame.to_file(hospitals)
    second = run(load_config(world))
    assert list(_cache_record(second)["recomputed"]) == ["criteria.competition"]
    assert _cache_record(second)["recomputed"]["criteria.competition"] == (
        "input layers.hospitals changed"
    )
    assert _cache_record(second)["reused"] == [e for e in ENTRIES if e != "criteria.competition"]
    _same_candidates(second, _uncached(world))


def test_weights_transforms_and_bounds_reuse_the_measurements(world: Path) -> None:
    run(load_config(world))
    _edit(world, "weight: 3", "weight: 7")
    _edit(world, "best: 0.3, worst: 0.9", "best: 0.2, worst: 1.0")
    _edit(world, "max_minutes: 5}", "max_minutes: 4}")
    second = run(load_config(world))
    assert _cache_record(second)["reused"] == ENTRIES
    _same_candidates(second, _uncached(world))


def test_a_measurement_parameter_recomputes_that_entry(world: Path) -> None:
    run(load_config(world))
    _edit(world, "layer: hazard\n", "layer: hazard\n    stat: mean\n")
    second = run(load_config(world))
    assert _cache_record(second)["recomputed"] == {
        "criteria.seismic": "measurement parameters changed (stat)"
    }
    _same_candidates(second, _uncached(world))


def test_candidates_filters_recompute_everything(world: Path) -> None:
    run(load_config(world))
    _edit(world, "id: apn}", "id: apn, min_area_acres: 30}")
    second = run(load_config(world))
    assert second.manifest["counts"]["candidates"] < 60
    assert list(_cache_record(second)["recomputed"]) == ENTRIES
    assert "candidates changed" in _cache_record(second)["recomputed"]["criteria.seismic"]
    _same_candidates(second, _uncached(world))


@pytest.mark.parametrize("damage", ["garbage", "empty", "truncated", "no folder file", "foreign"])
def test_a_damaged_entry_is_measured_again_with_a_log_line(
    world: Path, damage: str, caplog: pytest.LogCaptureFixture
) -> None:
    first = run(load_config(world))
    folder = Path(_cache_record(first)["folder"]) / "entries"
    entries = sorted(p for p in folder.iterdir() if p.is_dir())
    arrow = entries[0] / "measurement.arrow"
    if damage == "garbage":
        arrow.write_bytes(b"not arrow at all" * 10)
    elif damage == "empty":
        arrow.write_bytes(b"")
    elif damage == "truncated":
        arrow.write_bytes(arrow.read_bytes()[: arrow.stat().st_size // 2])
    elif damage == "no folder file":
        arrow.unlink()
    else:  # another entry's file under this key
        shutil.copy(entries[1] / "measurement.arrow", arrow)
    with caplog.at_level(logging.WARNING, logger="siteselect"):
        second = run(load_config(world))
    assert any("cannot be read" in r.getMessage() for r in caplog.records)
    assert len(_cache_record(second)["recomputed"]) >= 1
    _same_candidates(second, first)
    third = run(load_config(world))  # the entry was rebuilt
    assert _cache_record(third)["reused"] == ENTRIES


def test_damaged_candidates_and_run_record_are_rebuilt(world: Path) -> None:
    first = run(load_config(world))
    folder = Path(_cache_record(first)["folder"])
    for meta in (folder / "candidates").glob("*/meta.json"):
        meta.write_text("{ not json")
    for record in (folder / "runs").glob("*.json"):
        record.write_text("[1, 2")
    (folder / "file_hashes.json").write_text("\x00\x01")
    second = run(load_config(world))
    _same_candidates(second, first)


def test_a_failed_write_leaves_no_entry_and_the_run_goes_on(
    world: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    import siteselect.criteria.cache as cache_module

    def no_rename(source, target):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(cache_module.os, "rename", no_rename)
    with caplog.at_level(logging.WARNING, logger="siteselect"):
        first = run(load_config(world))
    assert any("cannot store" in r.getMessage() for r in caplog.records)
    folder = Path(_cache_record(first)["folder"])
    assert not [p for p in folder.rglob("*") if p.name.startswith(".")]  # no partial folder
    assert not list((folder / "entries").glob("*"))
    monkeypatch.undo()
    second = run(load_config(world))
    assert _cache_record(second)["reused"] == []
    _same_candidates(second, first)


def test_the_cache_survives_the_output_folder_swap(world: Path, tmp_path: Path) -> None:
    first = run(load_config(world))
    write_outputs(first, tmp_path / "out")
    write_outputs(first, tmp_path / "out")  # replaced as a whole
    assert not (tmp_path / "out" / ".cache").exists()
    assert _cache_record(run(load_config(world)))["reused"] == ENTRIES


def test_cache_dir_setting_and_off_switch(world: Path, tmp_path: Path) -> None:
    _edit(world, "outputs:", f"cache: {{dir: {tmp_path / 'elsewhere'}}}\noutputs:")
    result = run(load_config(world))
    assert _cache_record(result)["folder"] == str(tmp_path / "elsewhere")
    assert list((tmp_path / "elsewhere" / "entries").iterdir())
    _edit(world, "cache: {dir:", "cache: {enabled: false, dir:")
    assert "criteria_cache" not in run(load_config(world)).manifest["diagnostics"]


def test_measurement_round_trip_keeps_every_field(tmp_path: Path, world: Path) -> None:
    n = 5
    overlay = Overlay(
        "Zones",
        "zones",
        gpd.GeoDataFrame(
            {"feature_name": ["a", "b"], "beds": [3, 4]},
            geometry=[shapely.box(0, 0, 1, 1), shapely.Point(2, 2)],
            crs="EPSG:32611",
        ),
        label_column="feature_name",
        size_column="beds",
        color="#123456",
        show=False,
        fill="#eeeeee",
    )
    measurement = Measurement(
        values=np.array([1.5, np.nan, -0.0, 1e308, 2.0]),
        unit="min",
        label="Drive time",
        feature=np.array(["A", None, "", "Ä ß", "A"], dtype=object),
        extra_columns={
            "off_network": np.array([False, True, False, False, True]),
            "snap_m": np.array([1.0, np.nan, 3.0, 4.0, 5.0], dtype="float32"),
            "count": np.arange(n, dtype="int32"),
            "nearest": np.array(["x", "y", None, "x", "z"], dtype=object),
        },
        missing_reason="off the road network",
        missing_reasons=np.array(["", "far", "", "", ""], dtype=object),
        phrase_low="within {value} of {feature}",
        phrase_high="{label} is {value}",
        overlays=[overlay],
        reasons=None,
        exclusions=np.array(["", "", "inside APZ I", "", ""], dtype=object),
    )
    cache = CriteriaCache(load_config(world), tmp_path / "c")
    cache.store_entry("k1", measurement, {"diagnostics": {}})
    loaded, meta = cache.load_entry("k1", n)
    assert meta["key"] == "k1"
    np.testing.assert_array_equal(loaded.values, measurement.values)
    assert np.signbit(loaded.values[2])
    for name in ("feature", "missing_reasons", "exclusions"):
        assert getattr(loaded, name).dtype == object
        assert getattr(loaded, name).tolist() == getattr(measurement, name).tolist()
    assert loaded.reasons is None
    for name, array in measurement.extra_columns.items():
        assert loaded.extra_columns[name].dtype == array.dtype, name
        np.testing.assert_array_equal(loaded.extra_columns[name], array)
    for field in ("unit", "label", "missing_reason", "phrase_low", "phrase_high"):
        assert getattr(loaded, field) == getattr(measurement, field)
    (back,) = loaded.overlays
    assert (back.name, back.kind, back.label_column, back.size_column) == (
        "Zones",
        "zones",
        "feature_name",
        "beds",
    )
    assert (back.color, back.show, back.fill) == ("#123456", False, "#eeeeee")
    pd.testing.assert_frame_equal(pd.DataFrame(back.gdf), pd.DataFrame(overlay.gdf))
    assert cache.load_entry("k1", n + 1) is None  # another candidate count: not trusted


def test_measurement_params_leave_out_weight_transform_label_and_bounds(world: Path) -> None:
    config = load_config(world)
    params = measurement_params(config.constraints["far_from_freeway"])
    assert "max_minutes" not in params and "weight" not in params
    assert params == measurement_params(config.criteria["freeway_access"])  # one shared entry
    assert "transform" not in measurement_params(config.criteria["seismic"])


def test_explain_names_what_changed() -> None:
    before = {"params": {"stat": "max"}, "layers.hazard file": "a", "code": "1"}
    now = {"params": {"stat": "mean"}, "layers.hazard file": "b", "code": "2"}
    assert explain(now, before) == (
        "siteselect changed; input layers.hazard changed; measurement parameters changed (stat)"
    )
    assert explain(now, None) == "not measured by the last run"


def test_file_hashes_are_remembered_until_the_file_changes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "layer.bin"
    path.write_bytes(b"a" * 1000)
    first = hashing.sha256_file(path)
    reads: list[Path] = []
    original = Path.open

    def counted(self, *args, **kwargs):
        reads.append(self)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(Path, "open", counted)
    assert hashing.sha256_file(path) == first
    assert reads == []  # remembered: not read again
    stat = path.stat()
    path.write_bytes(b"b" * 1000)  # same size
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))  # and the same mtime
    reads.clear()
    assert hashing.sha256_file(path) != first  # the ctime still tells
    assert reads == [path]
    saved = tmp_path / "hashes.json"
    saved.write_text(json.dumps(hashing.remembered_hashes()))
    hashing._REMEMBERED.clear()
    hashing.load_remembered(saved)
    reads.clear()
    hashing.sha256_file(path)
    assert reads == []  # carried across runs
