"""Reproducible runs: what run.json records, and ``siteselect run OUTDIR/run.json``.

On a copy of the tiny synthetic world: run the YAML, re-run from run.json into
another folder and compare sites.csv byte for byte; move the whole tree (inputs
and outputs) and re-run again; change an input and see the warning naming it;
damaged and foreign run.json files give one line and exit 2.
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
from pathlib import Path
from typing import Any

import pytest

from siteselect.config.rerun import load_rerun
from siteselect.hashing import sha256_file
from siteselect.outputs import OUTPUT_FILES
from siteselect.outputs.manifest import tool_provenance
from tests.test_cli import invoke, one_line_error


def strings(value: Any, where: str = "") -> list[tuple[str, str]]:
    """Every (location, string) in a JSON value."""
    if isinstance(value, dict):
        return [s for k, v in value.items() for s in strings(v, f"{where}.{k}")]
    if isinstance(value, list):
        return [s for i, v in enumerate(value) for s in strings(v, f"{where}[{i}]")]
    return [(where, value)] if isinstance(value, str) else []


@pytest.fixture(scope="module")
def tree(world_config: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the world (csv_bom on) with one run in out/a; returns the copy's folder."""
    folder = tmp_path_factory.mktemp("reproduce") / "tree"
    shutil.copytree(world_config.parent, folder, ignore=shutil.ignore_patterns("out*"))
    config = folder / "world.yaml"
    text = config.read_text()
    assert "top_n: 5}" in text
    config.write_text(text.replace("top_n: 5}", "top_n: 5, csv_bom: true}"))
    result = invoke("-q", "run", str(config), "--out", str(folder / "out" / "a"))
    assert result.exit_code == 0, result.output
    return folder


@pytest.fixture(scope="module")
def manifest(tree: Path) -> dict[str, Any]:
    return json.loads((tree / "out" / "a" / "run.json").read_text(encoding="utf-8"))


def test_run_json_paths_are_relative_to_it(tree: Path, manifest: dict[str, Any]) -> None:
    folder = tree / "out" / "a"
    absolute = [
        (where, text)
        for where, text in strings(manifest)
        if where != ".command_line" and (os.path.isabs(text) or str(tree) in text)
    ]
    assert absolute == []
    assert manifest["paths"].startswith("every path in this file is relative")
    assert manifest["config"]["candidates"]["source"] == "../../parcels.gpkg"
    assert manifest["config"]["outputs"]["dir"] == "."
    for name, entry in manifest["inputs"].items():
        path = folder / entry["path"]
        assert path.is_file() and sha256_file(path) == entry["sha256"], name
    assert {"config", "candidates", "network", "layers.hazard"} <= set(manifest["inputs"])


def test_run_json_records_command_version_hashes_and_times(
    tree: Path, manifest: dict[str, Any]
) -> None:
    folder = tree / "out" / "a"
    assert manifest["siteselect_run"] == 2
    assert manifest["command_line"].startswith("siteselect ")
    assert str(tree / "world.yaml") in manifest["command_line"]
    assert manifest["siteselect"]["version"] == manifest["versions"]["siteselect"]
    commit = manifest["siteselect"]["git_commit"]
    assert commit is None or re.fullmatch(r"[0-9a-f]{40}", commit)
    outputs = manifest["outputs"]
    assert set(outputs) == set(OUTPUT_FILES)
    for name in OUTPUT_FILES:
        if name == "run.json":
            assert outputs[name]["sha256"] is None and "own" in outputs[name]["note"]
            continue
        assert outputs[name]["sha256"] == sha256_file(folder / name), name
        assert outputs[name]["bytes"] == (folder / name).stat().st_size
    timings = manifest["timings_s"]
    assert next(iter(timings)) == "check inputs and output folder"
    writes = [f"write {name}" for name in OUTPUT_FILES if name != "run.json"]
    assert set(writes) <= set(timings) and "write outputs" in timings
    assert timings["write outputs"] == pytest.approx(sum(timings[w] for w in writes), abs=0.01)
    assert all(seconds >= 0 for seconds in timings.values())
    assert "run.json" in manifest["timings_note"]


def test_git_commit_is_none_outside_a_checkout(monkeypatch, tmp_path: Path) -> None:
    import siteselect

    fake = tmp_path / "site-packages" / "siteselect" / "__init__.py"
    fake.parent.mkdir(parents=True)
    fake.write_text("")
    tool_provenance.cache_clear()
    monkeypatch.setattr(siteselect, "__file__", str(fake))
    try:
        assert tool_provenance()["git_commit"] is None
        assert tool_provenance()["git_dirty"] is None
    finally:
        monkeypatch.undo()
        tool_provenance.cache_clear()


def test_rerun_from_run_json_reproduces_sites_csv(tree: Path, manifest: dict[str, Any]) -> None:
    first = tree / "out" / "a"
    result = invoke("-q", "run", str(first / "run.json"), "--out", str(tree / "out" / "b"))
    assert result.exit_code == 0, result.output
    again = tree / "out" / "b"
    assert (again / "sites.csv").read_bytes() == (first / "sites.csv").read_bytes()
    assert (first / "sites.csv").read_bytes().startswith(b"\xef\xbb\xbf")  # csv_bom kept
    for name in ("sites.parquet", "map.html"):
        assert (again / name).read_bytes() == (first / name).read_bytes(), name
    second = json.loads((again / "run.json").read_text(encoding="utf-8"))
    assert second["config"] == manifest["config"]
    assert second["rerun_of"] == {
        "run_json": "../a/run.json",
        "created_utc": manifest["created_utc"],
        "changed_inputs": [],
    }


def test_rerun_without_out_replaces_its_own_folder(tree: Path, tmp_path: Path) -> None:
    """`siteselect run outputs/demo/run.json`: the run.json's folder is written again."""
    copy = tmp_path / "tree"
    shutil.copytree(tree, copy)
    before = (copy / "out" / "a" / "sites.csv").read_bytes()
    (copy / "out" / "a" / "notes.txt").write_text("mine\n")
    result = invoke("-q", "run", str(copy / "out" / "a" / "run.json"))
    assert result.exit_code == 0, result.output
    assert (copy / "out" / "a" / "sites.csv").read_bytes() == before
    assert (copy / "out" / "a" / "notes.txt").read_text() == "mine\n"
    rerun = json.loads((copy / "out" / "a" / "run.json").read_text(encoding="utf-8"))
    assert rerun["rerun_of"]["run_json"] == "run.json"
    assert rerun["config"]["outputs"]["dir"] == "."


def test_moved_output_folder_reruns_with_its_inputs(tree: Path, tmp_path: Path) -> None:
    """The whole tree (inputs and outputs) moved elsewhere: run.json's relative paths hold."""
    moved = tmp_path / "elsewhere" / "deeper" / "tree"
    moved.parent.mkdir(parents=True)
    shutil.copytree(tree, moved)
    result = invoke("-q", "run", str(moved / "out" / "a" / "run.json"), "--out", str(moved / "c"))
    assert result.exit_code == 0, result.output
    assert (moved / "c" / "sites.csv").read_bytes() == (
        tree / "out" / "a" / "sites.csv"
    ).read_bytes()
    rerun = json.loads((moved / "c" / "run.json").read_text(encoding="utf-8"))
    assert rerun["inputs"]["candidates"]["path"] == "../parcels.gpkg"  # read from the moved tree
    # without the inputs beside it, one line naming the missing file
    lonely = tmp_path / "lonely"
    shutil.copytree(tree / "out" / "a", lonely)
    line = one_line_error(
        invoke("-q", "run", str(lonely / "run.json"), "--out", str(tmp_path / "d"))
    )
    assert "run.json" in line and "file not found" in line and "relative to its folder" in line


def test_changed_input_warns_naming_it(tree: Path, tmp_path: Path, caplog) -> None:
    copy = tmp_path / "tree"
    shutil.copytree(tree, copy)
    with (copy / "hospitals.geojson").open("a", encoding="utf-8") as handle:
        handle.write("\n")  # same features, other bytes
    with caplog.at_level(logging.WARNING, logger="siteselect"):
        rerun = load_rerun(copy / "out" / "a" / "run.json")
    assert rerun.changed_inputs == ["layers.hospitals (../../hospitals.geojson)"]
    (warning,) = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert "inputs changed since that run" in warning and "layers.hospitals" in warning
    result = invoke("-q", "run", str(copy / "out" / "a" / "run.json"), "--out", str(copy / "e"))
    assert result.exit_code == 0, result.output
    recorded = json.loads((copy / "e" / "run.json").read_text(encoding="utf-8"))
    assert recorded["rerun_of"]["changed_inputs"] == rerun.changed_inputs


def _damaged(tree: Path, tmp_path: Path, change: Any) -> Path:
    data = json.loads((tree / "out" / "a" / "run.json").read_text(encoding="utf-8"))
    path = tmp_path / "out" / "a" / "run.json"
    path.parent.mkdir(parents=True)
    text = change(data) if callable(change) else change
    path.write_text(text if isinstance(text, str) else json.dumps(text), encoding="utf-8")
    return path


def _set_weight(data: dict[str, Any]) -> dict[str, Any]:
    data["config"]["criteria"]["seismic"]["weight"] = -1
    return data


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ('{"siteselect_run": 2, "config": {', r"run\.json:1: not valid JSON"),
        ("[1, 2]", r"not a run\.json written by siteselect"),
        ({"name": "x"}, r"not a run\.json written by siteselect"),
        (lambda d: {**d, "siteselect_run": 99}, r"run\.json format 99 is not one"),
        (lambda d: {**d, "siteselect_run": 1}, r"run\.json format 1 is not one"),
        (_set_weight, r"run\.json: criteria\.seismic\.weight: .*>= 0"),
    ],
)
def test_damaged_or_foreign_run_json_is_one_line(
    tree: Path, tmp_path: Path, change: Any, expected: str
) -> None:
    path = _damaged(tree, tmp_path, change)
    line = one_line_error(invoke("-q", "run", str(path), "--out", str(tmp_path / "o")))
    assert re.search(expected, line), line
