"""``siteselect compare``: top-N changes and what differs between two run folders."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from siteselect._errors import OutputError
from siteselect.config import load_config
from siteselect.decision.compare import compare_runs, load_run, run_differences
from siteselect.outputs.files import write_outputs
from siteselect.pipeline import run
from tests.test_cli import invoke, one_line_error


def _folder(
    root: Path, name: str, ranks: dict[str, int | None], config: dict, inputs: dict
) -> Path:
    folder = root / name
    folder.mkdir()
    rows = [
        {"candidate_id": cid, "rank": rank, "total_score": 1 - (rank or 99) / 100}
        for cid, rank in ranks.items()
    ]
    pd.DataFrame(rows).astype({"rank": "Int64"}).to_csv(folder / "sites.csv", index=False)
    manifest = {"config": config, "inputs": inputs, "counts": {"candidates": len(ranks)}}
    (folder / "run.json").write_text(json.dumps(manifest))
    return folder


CONFIG_A = {
    "criteria": {"a": {"kind": "distance", "weight": 2}, "b": {"kind": "distance", "weight": 1}},
    "constraints": {"zone": {"kind": "zones", "max_overlap_pct": 0}},
    "aggregation": {"method": "weighted_sum"},
    "outputs": {"top_n": 2},
}


def test_entering_leaving_and_rank_changes(tmp_path: Path) -> None:
    config_b = json.loads(json.dumps(CONFIG_A))
    config_b["criteria"]["a"]["weight"] = 3
    config_b["criteria"]["c"] = {"kind": "raster_zonal", "weight": 1}
    config_b["constraints"]["zone"]["max_overlap_pct"] = 10
    a = _folder(
        tmp_path,
        "a",
        {"x": 1, "y": 2, "z": 3, "w": None},
        CONFIG_A,
        {"hazard": {"sha256": "1" * 64}},
    )
    b = _folder(
        tmp_path, "b", {"x": 2, "y": 3, "z": 1, "w": 4}, config_b, {"hazard": {"sha256": "2" * 64}}
    )
    ra, rb = load_run(a), load_run(b)
    table = compare_runs(ra, rb, rb.top_n)
    assert table["candidate_id"].tolist() == ["z", "x", "y"]
    assert table["status"].tolist() == ["entered", "stayed", "left"]
    assert table["rank_change"].tolist() == [2, -1, -1]
    differences = {what: (va, vb) for what, va, vb in run_differences(ra, rb)}
    assert differences["weight a"] == ("2", "3")
    assert differences["criterion c"] == ("absent", "added")
    assert "constraints.zone" in differences
    assert differences["input hazard (sha256)"] == ("1" * 12, "2" * 12)
    result = invoke("compare", str(a), str(b))
    assert result.exit_code == 0, result.output
    assert "1 entered and 1 left the top 2" in result.output
    written = pd.read_csv(b / "compare.csv", dtype={"candidate_id": str})
    assert written["status"].tolist() == ["entered", "stayed", "left"]


@pytest.mark.parametrize("missing", ["run.json", "sites.csv"])
def test_a_folder_without_run_files_is_one_line(tmp_path: Path, missing: str) -> None:
    good = _folder(tmp_path, "good", {"x": 1}, CONFIG_A, {})
    bad = _folder(tmp_path, "bad", {"x": 1}, CONFIG_A, {})
    (bad / missing).unlink()
    with pytest.raises(
        OutputError, match=f"no {missing}; give the output folder of 'siteselect run'"
    ):
        load_run(bad)
    result = invoke("compare", str(good), str(bad))
    assert one_line_error(result) == (
        f"error: {bad}: no {missing}; give the output folder of 'siteselect run'"
    )


def test_not_a_folder(tmp_path: Path) -> None:
    with pytest.raises(OutputError, match="not a folder"):
        load_run(tmp_path / "nowhere")


def test_two_real_runs_with_another_weight(world_config: Path, tmp_path: Path) -> None:
    write_outputs(run(load_config(world_config)), tmp_path / "a")
    heavier = world_config.parent / "heavier.yaml"
    heavier.write_text(world_config.read_text().replace("    weight: 1\n", "    weight: 9\n"))
    write_outputs(run(load_config(heavier)), tmp_path / "b")
    ra, rb = load_run(tmp_path / "a"), load_run(tmp_path / "b")
    differences = run_differences(ra, rb)
    assert ("weight competition", "1.0", "9.0") in differences
    assert [d[0] for d in differences if d[0].startswith("input")] == ["input config (sha256)"]
    out = tmp_path / "elsewhere"
    result = invoke(
        "compare", str(tmp_path / "a"), str(tmp_path / "b"), "--top", "3", "--out", str(out)
    )
    assert result.exit_code == 0, result.output
    table = pd.read_csv(out / "compare.csv")
    assert (table["rank_a"].le(3) | table["rank_b"].le(3)).all()


def test_the_same_inputs_seen_from_two_folders_do_not_differ(tmp_path: Path) -> None:
    """run.json stores paths relative to its folder: compare resolves them before comparing."""
    (tmp_path / "layers").mkdir()
    config = {**CONFIG_A, "layers": {"faults": {"source": "../layers/faults.geojson"}}}
    a = _folder(tmp_path, "a", {"P1": 1, "P2": 2}, config, {})
    deeper = tmp_path / "runs"
    deeper.mkdir()
    moved = {**CONFIG_A, "layers": {"faults": {"source": "../../layers/faults.geojson"}}}
    b = _folder(deeper, "b", {"P1": 1, "P2": 2}, moved, {})
    for folder in (a, b):
        manifest = json.loads((folder / "run.json").read_text())
        manifest["config_path_fields"] = [["layers", "faults", "source"]]
        (folder / "run.json").write_text(json.dumps(manifest))
    assert run_differences(load_run(a), load_run(b)) == []
    other = {**CONFIG_A, "layers": {"faults": {"source": "../layers/other.geojson"}}}
    c = _folder(tmp_path, "c", {"P1": 1, "P2": 2}, other, {})
    manifest = json.loads((c / "run.json").read_text())
    manifest["config_path_fields"] = [["layers", "faults", "source"]]
    (c / "run.json").write_text(json.dumps(manifest))
    assert [d[0] for d in run_differences(load_run(a), load_run(c))] == ["layers.faults"]
