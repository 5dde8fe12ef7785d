"""The command line: one-line usage errors, checks before computing, SIGTERM like Ctrl-C."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from siteselect.cli import cli
from siteselect.outputs import OUTPUT_FILES

REPO = Path(__file__).resolve().parents[1]


def invoke(*args: str):
    """Run the CLI in this process, restoring the logging set-up it changes."""
    root, ours = logging.getLogger(), logging.getLogger("siteselect")
    saved = (root.level, list(root.handlers), ours.level)
    try:
        return CliRunner().invoke(cli, list(args), obj={})
    finally:
        root.setLevel(saved[0])
        root.handlers[:] = saved[1]
        ours.setLevel(saved[2])


def one_line_error(result, code: int = 2) -> str:
    """The single stderr line of a failed command (asserting there is one)."""
    assert result.exit_code == code, (result.exit_code, result.output)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: "), lines[0]
    assert "Usage:" not in result.output and "Traceback" not in result.output
    return lines[0]


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (("run",), "Missing argument 'CONFIG'"),
        (("run", "x.yaml", "--frobnicate"), "--frobnicate"),
        (("rnu", "x.yaml"), "No such command 'rnu'"),
        (("--verbose=3", "run", "x.yaml"), "--verbose"),
        (("run", "x.yaml", "--out"), "'--out' requires an argument"),
        (("run", str(REPO / "configs")), "is a directory"),  # click.BadParameter
    ],
)
def test_usage_errors_are_one_line_exit_2(args: tuple[str, ...], expected: str) -> None:
    line = one_line_error(invoke(*args))
    assert expected in line and "--help" in line


def test_help_and_version_still_work() -> None:
    result = invoke("run", "--help")
    assert result.exit_code == 0 and "Usage:" in result.output
    assert invoke("--version").exit_code == 0
    bare = invoke()
    assert "Usage:" in bare.output and "Commands:" in bare.output and "error:" not in bare.output


def test_out_is_a_file_is_one_line_before_computing(world_config: Path, tmp_path: Path) -> None:
    a_file = tmp_path / "results.txt"
    a_file.write_text("not a folder")
    start = time.perf_counter()
    line = one_line_error(invoke("-q", "run", str(world_config), "--out", str(a_file)))
    assert "--out: " in line and "results.txt is a file, not a folder" in line
    assert time.perf_counter() - start < 5  # stopped before the pipeline
    assert a_file.read_text() == "not a folder"


def test_out_under_a_file_is_one_line(world_config: Path, tmp_path: Path) -> None:
    a_file = tmp_path / "results.txt"
    a_file.write_text("x")
    line = one_line_error(invoke("-q", "validate", str(world_config), "--out", str(a_file / "o")))
    assert "cannot create" in line and "is a file, not a folder" in line


def test_out_holding_the_inputs_is_refused(world_config: Path) -> None:
    line = one_line_error(invoke("-q", "run", str(world_config), "--out", str(world_config.parent)))
    assert "holds the config" in line or "holds input" in line


@pytest.mark.skipif(os.geteuid() == 0, reason="root can write anywhere")
def test_out_not_writable(world_config: Path, tmp_path: Path) -> None:
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        line = one_line_error(invoke("-q", "run", str(world_config), "--out", str(locked / "o")))
    finally:
        locked.chmod(0o700)
    assert "cannot write to" in line


def test_validate_lists_the_checks(world_config: Path, tmp_path: Path) -> None:
    result = invoke("validate", str(world_config), "--out", str(tmp_path / "o"))
    assert result.exit_code == 0, result.output
    for what in ("candidates", "working CRS", "layers.hazard", "outputs", "apn unique"):
        assert what in result.stdout
    assert "UTM zone 11N" in result.stdout


def test_sigint_in_a_command_is_one_line_exit_130(monkeypatch, world_config: Path) -> None:
    import siteselect.pipeline

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(siteselect.pipeline, "run", interrupted)
    result = invoke("-q", "run", str(world_config), "--out", str(world_config.parent / "o130"))
    assert result.exit_code == 130
    assert result.stderr.strip().splitlines() == [
        "interrupted by SIGINT; the previous results, if any, are unchanged"
    ]


# --- SIGTERM in a real process ------------------------------------------------------------

_DRIVER = textwrap.dedent(
    """
    import sys, time, pathlib
    import siteselect.outputs.files as outputs
    from siteselect.cli import main

    where, marker, pause_s = sys.argv[1], pathlib.Path(sys.argv[2]), float(sys.argv[3])

    def pause():
        marker.write_text("now")
        time.sleep(pause_s)

    if where == "writer":
        def slow_map(result, path):
            path.write_text("half a map")
            pause()
        outputs.WRITERS["map.html"] = slow_map
    else:
        real_swap = outputs.swap_folders
        def slow_swap(staging, out_dir):
            pause()
            real_swap(staging, out_dir)
        outputs.swap_folders = slow_swap
    sys.argv = ["siteselect", "-q", "run", *sys.argv[4:]]
    main()
    """
)


def _previous(out: Path) -> dict[str, bytes]:
    out.mkdir()
    for name in OUTPUT_FILES:
        (out / name).write_text(f"previous {name}\n")
    (out / "notes.txt").write_text("mine\n")
    return {p.name: p.read_bytes() for p in out.iterdir()}


def _run_and_terminate(where: str, config: Path, out: Path, pause_s: float):
    marker = out.parent / f"marker-{where}"
    driver = [sys.executable, "-c", _DRIVER, where, str(marker), str(pause_s)]
    process = subprocess.Popen(
        [*driver, str(config), "--out", str(out)],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 180
    while not marker.exists():
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            pytest.fail(f"never reached the {where}: {process.communicate()}")
        time.sleep(0.1)
    process.send_signal(signal.SIGTERM)
    _, stderr = process.communicate(timeout=120)
    return process.returncode, stderr


def test_sigterm_while_writing_keeps_previous_results(world_config: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    before = _previous(out)
    code, stderr = _run_and_terminate("writer", world_config, out, pause_s=60)
    assert code == 143, stderr
    assert stderr.strip().splitlines() == [
        "interrupted by SIGTERM; the previous results, if any, are unchanged"
    ]
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["marker-writer", "out"]


def test_sigterm_during_the_swap_waits_for_it(world_config: Path, tmp_path: Path) -> None:
    """The signal is held while the folders are swapped, then handled: new results, whole."""
    out = tmp_path / "out"
    before = _previous(out)
    code, stderr = _run_and_terminate("swap", world_config, out, pause_s=2)
    assert code == 143, stderr
    (line,) = stderr.strip().splitlines()
    assert line.startswith("interrupted by SIGTERM; after the new results were written to")
    after = {p.name: p.read_bytes() for p in out.iterdir()}
    assert set(after) == set(before) and after["notes.txt"] == before["notes.txt"]
    assert all(after[name] != before[name] for name in OUTPUT_FILES)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["marker-swap", "out"]
