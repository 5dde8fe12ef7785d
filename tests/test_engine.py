"""The Dask engine: partitions along the Hilbert curve, merges, and the same results.

Oracles: the local engine (one measurement of every candidate) for every kind
measured on partitions, in-process and on a 2-worker ``LocalCluster`` through
the CLI (``sites.csv`` byte for byte); plain Python for the merges.
"""

from __future__ import annotations

import json
import pickle
import re
import subprocess
import sys
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

from siteselect._errors import ConfigError, EngineError
from siteselect.config import load_config
from siteselect.criteria.base import REGISTRY, Measurement
from siteselect.criteria.overlay import Overlay
from siteselect.engine import EngineOptions
from siteselect.engine.partitions import (
    hilbert_partitions,
    merge_diagnostics,
    merge_measurements,
    merge_overlays,
)
from siteselect.engine.worker import measure_partition, shell_of
from siteselect.measuring import Measurer
from siteselect.study import load_study

ROOT = Path(__file__).resolve().parents[1]
CONFIGS = ROOT / "configs"


def _config_copy(folder: Path, name: str) -> Path:
    """configs/<name> with absolute layer paths and no criteria cache (every entry measured)."""
    text = (CONFIGS / name).read_text(encoding="utf-8").replace("../layers/", f"{ROOT / 'layers'}/")
    path = folder / name
    folder.mkdir(parents=True, exist_ok=True)
    path.write_text(text + "\ncache: {enabled: false}\n", encoding="utf-8")
    return path


def siteselect(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "siteselect", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=600,
    )


# --- partitions -------------------------------------------------------------------


def _squares(n: int, seed: int = 0) -> gpd.GeoSeries:
    rng = np.random.default_rng(seed)
    x, y = rng.uniform(0, 50_000, n), rng.uniform(0, 30_000, n)
    return gpd.GeoSeries(shapely.box(x, y, x + 100, y + 100), crs=32611)


@pytest.mark.parametrize("count", [1, 2, 7, 50])
def test_partitions_hold_every_candidate_once(count: int) -> None:
    geoms = _squares(50)
    parts = hilbert_partitions(geoms, count)
    assert len(parts) == min(count, 50)
    together = np.sort(np.concatenate(parts))
    assert np.array_equal(together, np.arange(50))
    sizes = [len(p) for p in parts]
    assert max(sizes) - min(sizes) <= 1


def test_partitions_are_compact_areas() -> None:
    """Along the curve, 8 partitions of 4,000 squares have small bounding boxes."""
    geoms = _squares(4000)
    parts = hilbert_partitions(geoms, 8)
    total = shapely.area(shapely.box(*geoms.total_bounds))
    covered = sum(shapely.area(shapely.box(*geoms.iloc[p].total_bounds)) for p in parts)
    scattered = np.array_split(np.random.default_rng(0).permutation(4000), 8)
    random = sum(shapely.area(shapely.box(*geoms.iloc[p].total_bounds)) for p in scattered)
    assert random > 7 * total  # each random part spans nearly the whole extent
    assert covered < 2 * total  # curve segments: compact, a few bounding boxes overlap


def test_partitions_put_missing_geometries_last_and_are_deterministic() -> None:
    geoms = _squares(20)
    geoms.iloc[3] = None
    geoms.iloc[11] = shapely.Polygon()
    parts = hilbert_partitions(geoms, 4)
    assert {3, 11} <= set(parts[-1].tolist())
    again = hilbert_partitions(geoms, 4)
    assert all(np.array_equal(a, b) for a, b in zip(parts, again, strict=True))
    assert hilbert_partitions(geoms.iloc[:0], 3) == []


# --- merges -----------------------------------------------------------------------


def _measurement(n: int, rng: np.random.Generator) -> Measurement:
    values = rng.normal(size=n)
    values[rng.random(n) < 0.2] = np.nan
    return Measurement(
        values=values,
        unit="m",
        label="Distance",
        feature=np.array([f"f{i % 3}" for i in range(n)], dtype=object),
        extra_columns={
            "snap_m": rng.random(n),
            "off_network": rng.random(n) < 0.5,
            "name": np.array([f"n{i}" for i in range(n)], dtype=object),
        },
        missing_reasons=np.array(["" if i % 2 else "far" for i in range(n)], dtype=object),
    )


def _take(m: Measurement, rows: np.ndarray) -> Measurement:
    return Measurement(
        values=m.values[rows],
        unit=m.unit,
        label=m.label,
        feature=None if m.feature is None else m.feature[rows],
        extra_columns={k: v[rows] for k, v in m.extra_columns.items()},
        missing_reasons=None if m.missing_reasons is None else m.missing_reasons[rows],
    )


@settings(max_examples=60, deadline=None)
@given(n=st.integers(1, 60), parts=st.integers(1, 8), seed=st.integers(0, 2**16))
def test_merge_of_any_partitioning_is_the_whole(n: int, parts: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    whole = _measurement(n, rng)
    positions = [np.sort(p) for p in np.array_split(rng.permutation(n), min(parts, n))]
    merged = merge_measurements([_take(whole, p) for p in positions], positions)
    np.testing.assert_array_equal(merged.values, whole.values)
    assert merged.feature is not None and whole.feature is not None
    assert list(merged.feature) == list(whole.feature)
    assert list(merged.missing_reasons) == list(whole.missing_reasons)  # type: ignore[arg-type]
    for name, column in whole.extra_columns.items():
        np.testing.assert_array_equal(merged.extra_columns[name], column)


def test_merge_fills_a_field_one_partition_left_out() -> None:
    a = Measurement(np.array([1.0]), "m", "x", reasons=np.array(["near"], dtype=object))
    b = Measurement(np.array([2.0, 3.0]), "m", "x", extra_columns={"k": np.array([1.0, 2.0])})
    merged = merge_measurements([a, b], [np.array([1]), np.array([0, 2])])
    assert list(merged.reasons) == ["", "near", ""]  # type: ignore[arg-type]
    np.testing.assert_array_equal(merged.values, [2.0, 1.0, 3.0])
    np.testing.assert_array_equal(merged.extra_columns["k"], [1.0, np.nan, 2.0])


def _points(xs: list[float], labels: list[str]) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"label": labels}, geometry=shapely.points(xs, [0.0] * len(xs)), crs=32611
    )


def test_overlays_drawn_alike_are_kept_once_and_others_joined() -> None:
    same = [Overlay("Hospitals", "points", _points([1, 2], ["a", "b"]), "label") for _ in range(3)]
    (kept,) = merge_overlays([[o] for o in same])
    assert kept is same[0]
    parts = [
        [Overlay("Around", "points", _points([1, 2], ["a", "b"]), "label")],
        [Overlay("Around", "points", _points([2, 3], ["b", "c"]), "label")],
    ]
    (joined,) = merge_overlays(parts)
    assert joined.gdf["label"].tolist() == ["a", "b", "c"]
    squares = [
        [
            Overlay(
                "Vis",
                "polygons",
                gpd.GeoDataFrame({"label": ["hi"]}, geometry=[shapely.box(0, 0, 1, 1)]),
                "label",
            )
        ],
        [
            Overlay(
                "Vis",
                "polygons",
                gpd.GeoDataFrame({"label": ["hi"]}, geometry=[shapely.box(1, 0, 2, 1)]),
                "label",
            )
        ],
    ]
    (dissolved,) = merge_overlays(squares)
    assert len(dissolved.gdf) == 1 and dissolved.gdf.geometry.iloc[0].area == pytest.approx(2.0)


def test_diagnostics_merge_sums_counts_and_keeps_extremes() -> None:
    a = {
        "snapping": {
            "candidates": {
                "points": 10,
                "snapped": 9,
                "largest_m": 120.0,
                "p95_m": 80.0,
                "used_by": ["x"],
                "max_snap_m": 800,
            }
        }
    }
    b = {
        "snapping": {
            "candidates": {
                "points": 5,
                "snapped": 5,
                "largest_m": 300.0,
                "p95_m": 60.0,
                "used_by": ["x", "y"],
                "max_snap_m": 800,
            }
        }
    }
    merged = merge_diagnostics([a, b])["snapping"]["candidates"]
    assert merged == {
        "points": 15,
        "snapped": 14,
        "largest_m": 300.0,
        "p95_m": 80.0,
        "used_by": ["x", "y"],
        "max_snap_m": 800,
    }


# --- options ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"name": "local", "scheduler": "tcp://h:8786"}, "--scheduler: only with --engine dask"),
        ({"name": "local", "partitions": 4}, "--partitions: only with --engine dask"),
        ({"name": "dask", "workers": 0}, "--workers: 0"),
        ({"name": "dask", "partitions": 0}, "--partitions: 0 must be at least 1"),
        ({"name": "dask", "scheduler": "tcp://h:8786", "workers": 2}, "cluster's own workers"),
    ],
)
def test_engine_options_refuse_what_cannot_apply(kwargs: dict, fragment: str) -> None:
    with pytest.raises(ConfigError, match=fragment.replace("(", r"\(")):
        EngineOptions(**kwargs)


def test_a_missing_dask_is_named_before_any_work(monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "distributed" else real(name)
    )
    with pytest.raises(ConfigError, match=r"pip install 'siteselect\[dask\]'"):
        EngineOptions("dask").require()
    EngineOptions("local").require()  # the local engine needs nothing more


def test_partition_count_defaults() -> None:
    dask = EngineOptions("dask")
    assert dask.partition_count(363, 2) == 4  # two per worker
    assert dask.partition_count(1_000_000, 2) == 10  # at most 100,000 each
    assert dask.partition_count(3, 2) == 3
    assert EngineOptions("dask", partitions=50).partition_count(10, 2) == 10


def test_cli_refuses_an_option_without_its_engine_in_one_line(tmp_path: Path) -> None:
    result = siteselect(
        "run", str(CONFIGS / "demo.yaml"), "--out", str(tmp_path / "o"), "--partitions", "3"
    )
    assert result.returncode == 2
    assert result.stderr.strip() == "error: --partitions: only with --engine dask"
    assert not (tmp_path / "o").exists()


def test_unreachable_scheduler_is_one_clear_error() -> None:
    pytest.importorskip("distributed")
    from siteselect.engine.cluster import connected

    options = EngineOptions("dask", scheduler="tcp://127.0.0.1:9", connect_timeout_s=1.0)
    with (
        pytest.raises(
            EngineError, match=r"--scheduler tcp://127.0.0.1:9: cannot reach the Dask scheduler"
        ),
        connected(options),
    ):
        pass


# --- the same values, partition by partition --------------------------------------


def _partitioned_equals_whole(config_path: Path, split: str) -> None:
    config = load_config(config_path)
    study = load_study(config)
    measurer = Measurer(study)
    measurer.plan(measurer.planned(config))
    entries = measurer.workers_entries(config)
    assert {e[2].kind for e in entries} >= {"airspace", "distance", "network_time", "raster_zonal"}
    whole = [REGISTRY[spec.kind].measure(spec, study) for _, _, spec in entries]
    n = len(study.candidates)
    if split == "hilbert":
        positions = hilbert_partitions(study.candidates.geometry, 5)
    else:  # any subsets: a value must not depend on the other candidates
        rng = np.random.default_rng(3)
        positions = [np.sort(p) for p in np.array_split(rng.permutation(n), 3)]
    shell = pickle.loads(pickle.dumps(shell_of(study)))  # as broadcast
    results = [measure_partition(study.candidates.iloc[p], shell, entries) for p in positions]
    for i, (section, name, spec) in enumerate(entries):
        merged = merge_measurements([r.measurements[i] for r in results], positions)
        merged = merged.finished(study, spec.kind)
        expected = whole[i].finished(study, spec.kind)
        where = f"{section}.{name}"
        np.testing.assert_array_equal(merged.values, expected.values, err_msg=where)
        for field in ("feature", "missing_reasons", "reasons", "exclusions"):
            a, b = getattr(merged, field), getattr(expected, field)
            if b is None:
                assert a is None or not any(str(v) for v in a), f"{where}.{field}"
            else:
                assert [str(v) for v in a] == [str(v) for v in b], f"{where}.{field}"
        assert list(merged.extra_columns) == list(expected.extra_columns), where
        for column, values in expected.extra_columns.items():
            got = pd.Series(merged.extra_columns[column]).astype(str).tolist()
            assert got == pd.Series(values).astype(str).tolist(), f"{where}.{column}"


@pytest.mark.parametrize("split", ["hilbert", "random"])
def test_demo_partitions_measure_what_the_whole_measures(tmp_path: Path, split: str) -> None:
    _partitioned_equals_whole(_config_copy(tmp_path, "demo.yaml"), split)


def test_demo_grid_partitions_measure_what_the_whole_measures(tmp_path: Path) -> None:
    _partitioned_equals_whole(_config_copy(tmp_path, "demo_grid.yaml"), "hilbert")


def test_dask_engine_on_two_workers_writes_the_local_sites_csv(tmp_path: Path) -> None:
    """The acceptance test: a 2-worker LocalCluster, sites.csv byte for byte."""
    pytest.importorskip("distributed")
    config = _config_copy(tmp_path, "demo.yaml")
    local = siteselect("-q", "run", str(config), "--out", str(tmp_path / "local"))
    assert local.returncode == 0, local.stderr
    dask = siteselect(
        "-q",
        "run",
        str(config),
        "--out",
        str(tmp_path / "dask"),
        "--engine",
        "dask",
        "--workers",
        "2",
    )
    assert dask.returncode == 0, dask.stderr
    assert "distributed" not in dask.stderr  # the cluster's own logs stay out of the console
    a = (tmp_path / "local" / "sites.csv").read_bytes()
    b = (tmp_path / "dask" / "sites.csv").read_bytes()
    assert a == b
    run = json.loads((tmp_path / "dask" / "run.json").read_text())
    engine = run["diagnostics"]["engine"]
    assert engine["workers"] == 2 and engine["partitions"] == 4
    assert sum(engine["partition_candidates"]) == run["counts"]["candidates"]
    assert "criteria.members" not in engine["measured_on_workers"]  # read from the searches
    assert "constraints.airspace" in engine["measured_on_workers"]
    snapping = run["diagnostics"]["snapping"]["candidates"]
    assert snapping["points"] == run["counts"]["candidates"]


def test_a_worker_that_cannot_read_an_input_is_named() -> None:
    distributed = pytest.importorskip("distributed")
    from siteselect.engine.cluster import check_worker_inputs, unreadable

    here = str(Path(__file__))
    assert unreadable([here, "/no/such/pga.tif"]) == ["/no/such/pga.tif"]
    with (
        distributed.LocalCluster(n_workers=1, processes=False, dashboard_address=":0") as cluster,
        distributed.Client(cluster, set_as_default=False) as client,
    ):
        check_worker_inputs(client, [here])
        with pytest.raises(EngineError, match=r"cannot read /no/such/pga.tif; the workers open"):
            check_worker_inputs(client, [here, "/no/such/pga.tif"])


def test_an_error_in_a_partition_reaches_the_user_located_and_the_rest_is_cancelled(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A kind failing on one partition's candidates: its error, at the entry's YAML line,
    from the first failing partition (threads of this process: the patched kind runs)."""
    import dataclasses

    distributed = pytest.importorskip("distributed")
    from siteselect._errors import CriterionError
    from siteselect.engine.cluster import measure_on_cluster

    config = load_config(_config_copy(tmp_path, "demo.yaml"))
    study = load_study(config)
    bad = set(study.candidates["candidate_id"].iloc[::50])

    def fails(spec: object, partition_study: object) -> Measurement:
        ids = set(partition_study.candidates["candidate_id"])  # type: ignore[attr-defined]
        raise CriterionError(f"cannot measure {sorted(ids & bad)[0]}")

    handler = REGISTRY["airspace"]
    monkeypatch.setitem(REGISTRY, "airspace", dataclasses.replace(handler, measure=fails))
    entries = [("constraints", "airspace", config.constraints["airspace"])]
    with distributed.LocalCluster(n_workers=2, processes=False, dashboard_address=":0") as cluster:
        options = EngineOptions("dask", scheduler=cluster.scheduler_address, partitions=4)
        with pytest.raises(CriterionError) as raised:
            measure_on_cluster(study, entries, options)
    message = str(raised.value)
    assert re.match(r".*demo\.yaml:39: constraints\.airspace: cannot measure \S+$", message)
    first = hilbert_partitions(study.candidates.geometry, 4)[0]
    first_bad = sorted(set(study.candidates["candidate_id"].iloc[first]) & bad)[0]
    assert message.endswith(f"cannot measure {first_bad}")
