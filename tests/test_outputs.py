"""Outputs replaced all at once: injected failures at every step of the folder swap."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import pytest

from siteselect._errors import OutputError
from siteselect.config import load_config
from siteselect.outputs import OUTPUT_FILES, WRITERS, check_output_folder, write_outputs
from siteselect.pipeline import run


@pytest.fixture(scope="module")
def result(world_config: Path):
    return run(load_config(world_config))


def snapshot(folder: Path) -> dict[str, bytes]:
    """Every file under ``folder`` (relative path -> bytes)."""
    return {
        str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()
    }


def leftovers(parent: Path, keep: str = "out") -> list[str]:
    return sorted(p.name for p in parent.iterdir() if p.name != keep)


@pytest.fixture
def fast_writers(monkeypatch) -> None:
    """Writers that write a numbered line each: the swap, not the content, is under test."""
    calls = iter(range(1_000_000))
    for name in OUTPUT_FILES:
        monkeypatch.setitem(
            WRITERS, name, lambda result, path: path.write_text(f"{result.title} {next(calls)}\n")
        )


@pytest.fixture
def previous(result, tmp_path: Path) -> tuple[Path, dict[str, bytes]]:
    """An output folder holding a previous run plus a user's files, and its snapshot."""
    out = tmp_path / "out"
    write_outputs(result, out)
    (out / "notes.txt").write_text("my notes\n")
    (out / "analysis").mkdir()
    (out / "analysis" / "chart.png").write_bytes(b"\x89PNG fake")
    (out / "run.json").write_text('{"previous": true}\n')  # to tell old from new
    return out, snapshot(out)


class _FailingRename:
    """os.rename that fails on its ``fail_on``-th call (1-based) or on every call >= it."""

    def __init__(self, fail_on: set[int]) -> None:
        self.fail_on = fail_on
        self.calls: list[tuple[str, str]] = []
        self.real = os.rename

    def __call__(self, src, dst) -> None:
        self.calls.append((str(src), str(dst)))
        if len(self.calls) in self.fail_on:
            raise PermissionError(13, "Permission denied (injected)")
        self.real(src, dst)


def test_user_files_are_carried_over(result, previous) -> None:
    out, before = previous
    write_outputs(result, out)
    after = snapshot(out)
    assert after["notes.txt"] == before["notes.txt"]
    assert after["analysis/chart.png"] == before["analysis/chart.png"]
    assert after["run.json"] != before["run.json"]  # ours were replaced
    assert set(after) == set(OUTPUT_FILES) | {"notes.txt", "analysis/chart.png"}
    assert leftovers(out.parent) == []


def test_moving_the_old_folder_aside_fails(result, fast_writers, previous, monkeypatch) -> None:
    out, before = previous
    rename = _FailingRename({1})
    monkeypatch.setattr(os, "rename", rename)
    with pytest.raises(OutputError, match="previous results are unchanged"):
        write_outputs(result, out)
    assert snapshot(out) == before
    assert leftovers(out.parent) == []
    assert len(rename.calls) == 1


def test_moving_the_new_folder_in_fails_and_is_undone(
    result, fast_writers, previous, monkeypatch
) -> None:
    out, before = previous
    rename = _FailingRename({2})
    monkeypatch.setattr(os, "rename", rename)
    with pytest.raises(OutputError, match=r"moving the new results in failed.*unchanged"):
        write_outputs(result, out)
    assert snapshot(out) == before
    assert leftovers(out.parent) == []
    assert rename.calls[2] == (rename.calls[0][1], str(out))  # the undo


def test_undo_failing_too_names_where_the_previous_results_are(
    result, fast_writers, previous, monkeypatch
) -> None:
    out, before = previous
    monkeypatch.setattr(os, "rename", _FailingRename({2, 3}))
    with pytest.raises(OutputError, match=r"nor restore it .*previous results are in .*\.out\.old"):
        write_outputs(result, out)
    monkeypatch.undo()
    (old,) = [p for p in out.parent.iterdir() if p.name.startswith(".out.old.")]
    assert snapshot(old) == before
    assert not out.exists()
    assert leftovers(out.parent, keep=old.name) == []  # the staging folder is gone


def test_deleting_the_old_folder_fails_leaves_new_results(
    result, fast_writers, previous, monkeypatch, caplog
) -> None:
    out, before = previous
    import shutil

    real_rmtree = shutil.rmtree

    def rmtree(path, *args, **kwargs):
        if ".out.old." in str(path) and not kwargs.get("ignore_errors"):
            raise OSError(16, "Device or resource busy (injected)")
        real_rmtree(path, *args, **kwargs)

    monkeypatch.setattr(shutil, "rmtree", rmtree)
    with caplog.at_level(logging.WARNING, logger="siteselect"):
        write_outputs(result, out)
    assert "could not be deleted" in caplog.text
    after = snapshot(out)
    assert after["run.json"] != before["run.json"] and after["notes.txt"] == before["notes.txt"]


@pytest.mark.parametrize("failing", ["sites.gpkg", "report.html", "run.json"])
def test_a_failing_writer_leaves_previous_results(
    result, fast_writers, previous, monkeypatch, failing
) -> None:
    out, before = previous

    def broken(result, path):
        path.write_text("half")
        raise RuntimeError("disk full")

    monkeypatch.setitem(WRITERS, failing, broken)
    with pytest.raises(OutputError, match="disk full"):
        write_outputs(result, out)
    assert snapshot(out) == before
    assert leftovers(out.parent) == []


def test_interrupt_while_writing_removes_staging(
    result, fast_writers, previous, monkeypatch
) -> None:
    out, before = previous

    def interrupted(result, path):
        path.write_text("half")
        raise KeyboardInterrupt

    monkeypatch.setitem(WRITERS, "map.html", interrupted)
    with pytest.raises(KeyboardInterrupt):
        write_outputs(result, out)
    assert snapshot(out) == before
    assert leftovers(out.parent) == []


def test_first_write_creates_the_folder(result, fast_writers, tmp_path: Path) -> None:
    out = tmp_path / "a" / "b" / "out"
    files = write_outputs(result, out)
    assert [f.name for f in files] == list(OUTPUT_FILES)
    assert sorted(p.name for p in out.iterdir()) == sorted(OUTPUT_FILES)
    assert leftovers(out.parent) == []


def test_symlinked_output_folder_stays_a_link(result, fast_writers, previous) -> None:
    out, _ = previous
    link = out.parent / "latest"
    link.symlink_to(out, target_is_directory=True)
    write_outputs(result, link)
    assert link.is_symlink() and (link / "notes.txt").read_text() == "my notes\n"
    assert (out / "run.json").read_text() != '{"previous": true}\n'


def test_output_folder_checks(tmp_path: Path) -> None:
    a_file = tmp_path / "file.txt"
    a_file.write_text("x")
    with pytest.raises(OutputError, match=r"^--out: .*file\.txt is a file, not a folder"):
        check_output_folder(a_file, "--out")
    with pytest.raises(OutputError, match=r"cannot create .*: .*file\.txt is a file"):
        check_output_folder(a_file / "sub" / "out", "--out")
    blocked = tmp_path / "blocked"
    (blocked / "map.html").mkdir(parents=True)
    with pytest.raises(OutputError, match=r"map\.html is a folder where siteselect writes a file"):
        check_output_folder(blocked)
    assert check_output_folder(tmp_path / "new" / "out") == (tmp_path / "new" / "out").resolve()
    assert not (tmp_path / "new").exists()  # checking creates nothing
    with pytest.raises(OutputError, match="mount point"):
        check_output_folder(Path("/"))
