"""The county benchmark (``python -m bench.county``) end to end on its small test county.

The bench is how issue 11's figures are measured: these tests keep it from
rotting. They generate the ``1k`` scenario (a 10 km county, a 3,648-node
network, 1,000 parcels) into ``tmp_path`` and run the whole bench: scenario,
graph cache, the real ``siteselect run`` in a measured child process, the
expert baseline, the table and the JSON.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from bench import county
from bench._county_measure import run_measured
from bench._scenario import PRESETS, ensure_scenario
from siteselect.criteria.base import REGISTRY

STEPS = {
    "check inputs and output folder",
    "load candidates",
    "constraint airspace",
    "constraint fault_setback",
    "constraint exclusion_zones",
    "constraint freeway_reach",
    "criterion freeway_access",
    "criterion seismic",
    "criterion members",
    "criterion competition",
    "criterion border",
    "score and rank",
    "write outputs",
}


@pytest.fixture(scope="module")
def bench_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict, Path]:
    """One whole bench run on the 1k scenario (shared by the tests of this module)."""
    workdir = tmp_path_factory.mktemp("county")
    figures = workdir / "figures.json"
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(county, "MIN_FREE_GIB", 0.0)  # no memory guard on a busy test machine
        result = county.main(
            ["--parcels", "1k", "--workdir", str(workdir), "--json", str(figures), "--cold"]
        )
    return result, workdir


def test_sizes_are_the_issues() -> None:
    """1m: 1,001,200 nodes with 6 freeways and 240 ramps, 75% shape points, on both networks."""
    preset = PRESETS["1m"]
    for roads in (preset.roads, preset.stress_roads):
        assert roads.n_nodes == 1_001_200
        assert roads.n_freeways == 6 and roads.n_ramps == 240
    assert preset.roads.shape_points / preset.roads.n_nodes == pytest.approx(0.75, abs=0.01)
    assert preset.stress_roads.shape_points == 0
    layers = preset.layers
    assert (layers.tracts, layers.hospitals, layers.runways, layers.airports) == (736, 42, 38, 27)
    assert (layers.raster_cells, layers.zones) == (4_000, 20)
    assert [PRESETS[k].parcels.n_parcels for k in ("10k", "100k", "1m")] == [
        10_000,
        100_000,
        1_000_000,
    ]


def test_bench_end_to_end(bench_run: tuple[dict, Path]) -> None:
    """Every pipeline step measured; the rows add up to the total; outputs and baseline there."""
    result, workdir = bench_run
    run = result["product"][0]
    names = [s["name"] for s in run["steps"]]
    assert set(names) >= STEPS
    assert sum(s["seconds"] for s in run["steps"] if s["depth"] == 0) == pytest.approx(
        run["wall_s"], rel=1e-6
    )
    assert all(
        s["peak_bytes"] is None or s["peak_bytes"] <= run["peak_bytes"] for s in run["steps"]
    )
    assert run["peak_bytes"] > 100e6  # a Python process with geopandas loaded
    assert {"sites.gpkg", "sites.csv", "map.html", "report.html", "run.json"} <= set(
        result["outputs"]
    )
    assert all(size > 0 for size in result["outputs"].values())
    manifest = json.loads((Path(result["scenario"]["folder"]) / "out" / "run.json").read_text())
    assert manifest["counts"]["candidates"] == 1_000
    assert result["baseline_summary"]["runs"] == 1
    assert result["graph_cold_build"]["product"]["built_now"] is True
    assert json.loads((workdir / "figures.json").read_text())["parcels"] == "1k"


OWN_BENCH_KINDS = {"visibility", "attribute"}  # attribute: bench.candidates_bench
"""Kinds measured at county scale by a bench of their own (bench.visibility_bench: it needs
a DEM and takes about a minute by itself), not part of the county scenario of issue 11."""


def test_config_uses_every_kind(bench_run: tuple[dict, Path]) -> None:
    """The scenario's config exercises every registered criterion kind (but OWN_BENCH_KINDS)."""
    result, _ = bench_run
    config = yaml.safe_load(Path(result["scenario"]["config"]).read_text())
    kinds = {e["kind"] for section in ("constraints", "criteria") for e in config[section].values()}
    assert kinds == set(REGISTRY) - OWN_BENCH_KINDS


def test_baseline_does_the_same_work(bench_run: tuple[dict, Path]) -> None:
    """The expert baseline answers the same question: its raw values track the product's."""
    result, _ = bench_run
    folder = Path(result["scenario"]["folder"])
    product = pd.read_csv(folder / "out" / "sites.csv", dtype={"candidate_id": str})
    baseline = pd.read_parquet(folder / "baseline-out" / "sites.parquet")
    both = product.merge(baseline, on="candidate_id", suffixes=("", "_baseline"))
    assert len(both) == 1_000
    for name, tolerance in (("border", 1e-6), ("seismic", 0.05), ("freeway_access", 1.0)):
        a, b = both[f"raw_{name}"], both[f"raw_{name}_baseline"]
        finite = np.isfinite(a) & np.isfinite(b)
        assert finite.mean() > 0.95
        assert np.median(np.abs(a[finite] - b[finite])) <= tolerance, name
    for name in ("members", "competition", "total_score"):
        column = name if name == "total_score" else f"raw_{name}"
        assert np.corrcoef(both[column], both[f"{column}_baseline"])[0, 1] > 0.9, name


def test_scenario_is_deterministic_and_cached(tmp_path: Path) -> None:
    """The same bytes in another folder; a second call regenerates nothing."""
    first = ensure_scenario("1k", workdir=tmp_path / "a", log=lambda _: None)
    again = ensure_scenario("1k", workdir=tmp_path / "a", log=lambda _: None)
    other = ensure_scenario("1k", workdir=tmp_path / "b", log=lambda _: None)
    assert again.generated_s == {}
    assert first.config.read_text() == other.config.read_text()

    def digest(path: Path) -> str:
        return hashlib.sha256(path.read_bytes()).hexdigest()

    for part, name in (
        ("roads", "roads.osm.pbf"),
        ("layers", "pga_2pct50yr.tif"),
        ("layers", "runways.csv"),
        ("parcels", "parcels.parquet"),
    ):
        assert digest(getattr(first, part) / name) == digest(getattr(other, part) / name), name
    facts = json.loads((first.roads / "manifest.json").read_text())["facts"]
    assert facts["read_back"]["nodes"] == PRESETS["1k"].roads.n_nodes
    assert facts["read_back"]["ramps"] == PRESETS["1k"].roads.n_ramps


def test_peak_memory_is_attributed_to_its_step(tmp_path: Path) -> None:
    """A step that allocates 300 MB shows it; the step after it does not."""
    child = tmp_path / "child.py"
    child.write_text(
        textwrap.dedent(
            """
            import sys
            import time
            import numpy as np
            from pathlib import Path
            from bench._steps import StepRecorder

            recorder = StepRecorder(Path(sys.argv[1]))
            with recorder.step("big"):
                block = np.ones(300 * 2**20 // 8)
                time.sleep(0.1)
                del block
            with recorder.step("small"):
                small = np.ones(1000)
            """
        )
    )
    events = tmp_path / "events.jsonl"
    run = run_measured(
        [sys.executable, str(child), str(events)],
        events,
        tmp_path / "log.txt",
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])},
    )
    assert run.exit_code == 0, Path(run.log).read_text()
    steps = {s.name: s for s in run.steps}
    assert steps["big"].peak_bytes >= 300 * 2**20
    assert steps["small"].peak_bytes < steps["big"].peak_bytes - 250 * 2**20
    assert run.peak_bytes >= steps["big"].peak_bytes


def test_profile_summary(tmp_path: Path) -> None:
    """Own time goes to the innermost frame, total to every frame once per stack."""
    from bench._county_profile import summarise

    raw = tmp_path / "raw.txt"
    raw.write_text(
        'process 1:"python";main (siteselect/cli/__init__.py:3);run (/x/siteselect/pipeline.py:9);'
        "f (/x/siteselect/a.py:1);g (/x/siteselect/a.py:5) 6\n"
        'process 1:"python";main (siteselect/cli/__init__.py:3);run (/x/siteselect/pipeline.py:9);'
        "f (/x/siteselect/a.py:2) 3\n"
        'process 1:"python";Thread._bootstrap (threading.py:1);'
        "_RefreshThread.run (rich/live.py:35);Condition.wait (threading.py:331) 50\n"
    )
    summary = summarise(raw)
    assert summary["samples"] == 9
    assert summary["own"][0] == ["g (siteselect/a.py)", 6, round(6 / 9, 4)]
    total = {name: n for name, n, _ in summary["total"]}
    assert total == {
        "run (siteselect/pipeline.py)": 9,
        "f (siteselect/a.py)": 9,
        "g (siteselect/a.py)": 6,
    }


def test_memory_guard_stops_the_child(tmp_path: Path) -> None:
    """Below the available-memory floor the measured child is stopped, and it says so."""
    events = tmp_path / "events.jsonl"
    run = run_measured(
        [sys.executable, "-c", "import time; time.sleep(30)"],
        events,
        tmp_path / "log.txt",
        min_available_bytes=2**62,  # more than any machine has: stop at once
    )
    assert run.stopped_low_memory
    assert run.exit_code != 0
    assert run.wall_s < 15


GOLDEN_COUNTY = Path(__file__).parent / "data" / "golden" / "county_1k_top100.csv"


def test_county_ranks_and_values_match_golden(bench_run: tuple[dict, Path]) -> None:
    """Regression on the generated 1k county: the 100 best sites, their ranks and raw values.

    Exclusion counts by cause too. Regenerate with ``SITESELECT_UPDATE_GOLDEN=1`` after an
    intended change (and say why in the commit).
    """
    result, _ = bench_run
    folder = Path(result["scenario"]["folder"]) / "out"
    sites = pd.read_csv(folder / "sites.csv", dtype={"candidate_id": str})
    ranked = sites[sites["rank"].notna()].sort_values("rank").head(100)
    raw = sorted(c for c in sites.columns if c.startswith("raw_"))
    columns = ["candidate_id", "rank", "total_score", *raw]
    table = ranked[columns].reset_index(drop=True)
    manifest = json.loads((folder / "run.json").read_text())
    causes = {k: v["fails"] for k, v in manifest["counts"]["excluded_by"]["causes"].items()}
    if os.environ.get("SITESELECT_UPDATE_GOLDEN") == "1":
        GOLDEN_COUNTY.write_text(
            f"# excluded by cause: {json.dumps(causes, sort_keys=True)}\n"
            + table.to_csv(index=False, float_format="%.9g")
        )
    lines = GOLDEN_COUNTY.read_text().splitlines()
    assert lines[0] == f"# excluded by cause: {json.dumps(causes, sort_keys=True)}"
    golden = pd.read_csv(GOLDEN_COUNTY, comment="#", dtype={"candidate_id": str})
    assert table["candidate_id"].tolist() == golden["candidate_id"].tolist()
    assert table["rank"].tolist() == golden["rank"].tolist()
    for column in columns[2:]:
        np.testing.assert_allclose(
            table[column].to_numpy(float),
            golden[column].to_numpy(float),
            rtol=1e-7,
            atol=1e-7,
            err_msg=column,
        )
