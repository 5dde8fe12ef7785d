"""YAML safety: alias bombs, recursion, depth, duplicate keys and tabs give one clear line."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
import tracemalloc
from pathlib import Path

import pytest

from siteselect._errors import ConfigError
from siteselect.config import load_config
from siteselect.config.yaml_doc import MAX_DEPTH, MAX_NODES, parse_yaml
from tests._lines import line_of
from tests._world import WORLD_CONFIG


def billion_laughs(levels: int = 10, fan_out: int = 9) -> str:
    """The classic alias bomb: ``fan_out ** levels`` strings from a few hundred bytes."""
    lines = ["a0: &a0 [" + ", ".join(['"lol"'] * fan_out) + "]"]
    for level in range(1, levels):
        refs = ", ".join([f"*a{level - 1}"] * fan_out)
        lines.append(f"a{level}: &a{level} [{refs}]")
    return "\n".join(lines) + "\n"


def _write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def test_billion_laughs_fails_fast_with_little_memory(tmp_path: Path) -> None:
    path = _write(tmp_path, "bomb.yaml", WORLD_CONFIG + billion_laughs())
    tracemalloc.start()
    start = time.perf_counter()
    with pytest.raises(ConfigError) as info:
        load_config(path, check_files=False)
    seconds = time.perf_counter() - start
    _, peak_bytes = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    message = str(info.value)
    assert seconds < 1.0, seconds
    assert peak_bytes < 20_000_000, peak_bytes
    assert "bomb.yaml:" in message and "alias bomb" in message
    assert f"more than {MAX_NODES:,} values" in message
    assert "\n" not in message


_MEASURED_CHILD = (
    # A child of pytest starts with pytest's peak RSS (inherited at exec): fork the CLI from
    # this small launcher instead, and report the CLI's own peak (kB) on stdout.
    "import os, sys\n"
    "pid = os.fork()\n"
    "if pid == 0:\n"
    "    os.execv(sys.executable, [sys.executable, *sys.argv[1:]])\n"
    "_, status, usage = os.wait4(pid, 0)\n"
    "print(usage.ru_maxrss)\n"
    "sys.exit(os.waitstatus_to_exitcode(status))\n"
)


@pytest.mark.parametrize("command", ["validate", "run"])
def test_billion_laughs_in_the_cli_is_one_line_exit_2(tmp_path: Path, command: str) -> None:
    """The CLI stops at once with one line, and its peak memory stays that of a normal start."""
    path = _write(tmp_path, "bomb.yaml", WORLD_CONFIG + billion_laughs())
    process = subprocess.Popen(
        [sys.executable, "-c", _MEASURED_CHILD, "-m", "siteselect", command, str(path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    # unbounded expansion runs for hours
    watchdog = threading.Timer(120, lambda: os.killpg(process.pid, signal.SIGKILL))
    watchdog.start()
    try:
        stdout, stderr = process.communicate()
    finally:
        watchdog.cancel()
    assert process.returncode == 2, stderr
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "alias bomb" in lines[0]
    assert "Traceback" not in stderr
    peak_kb = int(stdout.strip().splitlines()[-1])
    assert peak_kb < 600_000, peak_kb  # kB: imports only, no expansion


def test_a_few_aliases_are_fine() -> None:
    text = "base: &b {x: 1, y: [1, 2]}\nd:\n  <<: *b\n  x: 2\ne: *b\n"
    document = parse_yaml(text, "ok.yaml")
    assert document.data == {
        "base": {"x": 1, "y": [1, 2]},
        "d": {"x": 2, "y": [1, 2]},
        "e": {"x": 1, "y": [1, 2]},
    }
    assert document.lines[("d", "x")] == 4


def test_just_under_the_node_limit_is_accepted() -> None:
    # 9**5 = 59,049 strings plus their lists: under MAX_NODES
    document = parse_yaml(billion_laughs(levels=5), "ok.yaml")
    assert len(document.data["a4"]) == 9


def test_recursive_alias_is_refused() -> None:
    with pytest.raises(ConfigError, match=r"^self.yaml:2: loop\[0\]: .*recursive alias"):
        parse_yaml("name: x\nloop: &a [*a]\n", "self.yaml")


def test_deep_nesting_is_refused_without_recursion_error() -> None:
    for text in ("x: " + "[" * 5000 + "]" * 5000, "x: " + "{a: " * 3000 + "1" + "}" * 3000):
        start = time.perf_counter()
        with pytest.raises(ConfigError, match=f"nested more than {MAX_DEPTH} levels"):
            parse_yaml(text, "deep.yaml")
        assert time.perf_counter() - start < 1.0


@pytest.mark.parametrize(
    ("old", "new", "needle", "loc"),
    [
        ("name: Tiny world\n", "name: Tiny world\nname: Other\n", "name:", "name"),
        (
            "    weight: 3\n",
            "    weight: 3\n    weight: 30\n",
            "weight: 3",
            "criteria.freeway_access.weight",
        ),
        (
            "  seismic:\n",
            "  seismic:\n    label: a\n    label: b\n",
            "label:",
            "criteria.seismic.label",
        ),
        (
            "layers:\n",
            "layers:\n  hazard: {source: other.tif}\n",
            "hazard:",
            "layers.hazard",
        ),
    ],
)
def test_duplicate_key_names_both_lines(
    tmp_path: Path, old: str, new: str, needle: str, loc: str
) -> None:
    assert old in WORLD_CONFIG
    path = _write(tmp_path, "dup.yaml", WORLD_CONFIG.replace(old, new, 1))
    first, second = line_of(path, needle, 1), line_of(path, needle, 2)
    key = loc.rsplit(".", 1)[-1]
    with pytest.raises(ConfigError) as info:
        load_config(path, check_files=False)
    assert str(info.value) == (
        f"{path}:{second}: {loc}: key {key!r} is given twice (lines {first} and {second}); keep one"
    )


def test_tab_indentation_names_line_and_fix(tmp_path: Path) -> None:
    path = _write(
        tmp_path, "tabs.yaml", WORLD_CONFIG.replace("    weight: 2\n", "\tweight: 2\n", 1)
    )
    with pytest.raises(ConfigError) as info:
        load_config(path, check_files=False)
    line = line_of(path, "\tweight")
    assert str(info.value) == (
        f"{path}:{line}: YAML does not allow tabs for indentation (a tab at column 1); use spaces"
    )


def test_tab_between_items_names_line(tmp_path: Path) -> None:
    path = _write(tmp_path, "tabs.yaml", "name: x\nlist: [1,\t2]\n")
    with pytest.raises(ConfigError, match=r"tabs.yaml:2: YAML does not allow tabs between items"):
        load_config(path, check_files=False)


def test_duplicate_key_in_a_flow_mapping_and_merge_override() -> None:
    with pytest.raises(
        ConfigError, match=r"^f.yaml:2: a.b: key 'b' is given twice \(lines 2 and 2\)"
    ):
        parse_yaml("name: x\na: {b: 1, c: 2, b: 3}\n", "f.yaml")
    # overriding a merged key is what merge keys are for, not a duplicate
    assert parse_yaml("base: &b {x: 1}\nd: {<<: *b, x: 2}\n", "m.yaml").data["d"] == {"x": 2}
