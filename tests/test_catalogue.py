"""Every bad input of the catalogue gets one clear line, exit code 2, and loses nothing.

For each case of :mod:`tests._catalogue_cases`: a copy of the tiny world with
its previous good results in ``out/``; one thing broken; the real CLI
(in-process, ``-q`` so that only errors reach stderr). Asserted: exit code 2,
exactly one stderr line starting ``error:``, no traceback, the words the case
names (the file, the YAML line, the field, the fix), and ``out/`` byte-identical.
"""

from __future__ import annotations

import logging
import re
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from siteselect.cli import cli
from tests._catalogue import World
from tests._catalogue_cases import CASES
from tests._world import write_world


def _snapshot(folder: Path) -> dict[str, bytes | None]:
    """Every file (bytes) and folder (None) below ``folder``, by relative path."""
    if not folder.exists():
        return {}
    return {
        str(p.relative_to(folder)): (p.read_bytes() if p.is_file() else None)
        for p in sorted(folder.rglob("*"))
    }


def _invoke(*args: str):
    """The CLI in-process; the logging set-up it does (levels, handlers, -q) is undone after."""
    root, ours = logging.getLogger(), logging.getLogger("siteselect")
    saved = (root.handlers[:], root.level, ours.level)
    try:
        return CliRunner().invoke(cli, list(args), obj={}, catch_exceptions=True)
    finally:
        root.handlers[:] = saved[0]
        root.setLevel(saved[1])
        ours.setLevel(saved[2])
        logging.captureWarnings(False)


@pytest.fixture(scope="module")
def good_world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny world with the results of a good run in ``out/`` (and its network cache)."""
    folder = tmp_path_factory.mktemp("catalogue") / "world"
    config = write_world(folder)
    result = _invoke("-q", "run", str(config))
    assert result.exit_code == 0, result.output + str(result.exception)
    assert (folder / "out" / "sites.csv").is_file()
    return folder


def _expected(word: str, world: World) -> str:
    match = re.fullmatch(r"\{line:(.*)\}", word, flags=re.S)
    if match is None:
        return word
    return f"world.yaml:{world.line_of(match.group(1))}:"


def test_catalogue_is_large_enough() -> None:
    assert len(CASES) >= 60
    assert len({case.id for case in CASES}) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_bad_input_gets_one_clear_line(case, good_world: Path, tmp_path: Path) -> None:
    folder = tmp_path / "world"
    shutil.copytree(good_world, folder, symlinks=True)
    world = World(folder, out=folder / "out")
    case.setup(world)
    world.write()
    before = _snapshot(folder / "out")

    result = _invoke("-q", case.command, str(world.config), *world.extra_args)

    stderr = result.stderr
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert result.exit_code == 2, f"exit {result.exit_code}: {stderr}{result.exception!r}"
    assert "Traceback" not in stderr
    assert len(lines) == 1, stderr
    line = lines[0]
    assert line.startswith("error: "), line
    assert "internal error" not in line, line
    for word in case.expect:
        assert _expected(word, world).lower() in line.lower(), f"{word!r} not in: {line}"
    assert _snapshot(folder / "out") == before, "the previous results changed"
