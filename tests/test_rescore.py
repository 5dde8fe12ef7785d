"""``siteselect rescore``: the same bytes as ``run``; with new weights, the same as a run with them.

Acceptance on the demo: rescoring with the config's own weights reproduces
``run``'s sites.csv byte for byte; with ``--weight seismic=6`` it equals a full
run (measuring everything, without the cache) whose config says ``weight: 6``.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from siteselect._errors import ConfigError
from siteselect.config import load_config
from siteselect.decision.scoring import join_reasons, rank
from siteselect.outputs import write_outputs
from siteselect.pipeline import run
from siteselect.rescore import parse_weight_options, read_weights_file, with_weights
from tests._world import write_world

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "configs" / "demo.yaml"
REPORT_DATE = re.compile(r"Run on \d{1,2} \w+ \d{4}, \d\d:\d\d UTC")
"""The run's date in report.html (as tests/test_demo_run.py)."""


def siteselect(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "siteselect", *args],
        capture_output=True,
        text=True,
        cwd=cwd or ROOT,
        timeout=600,
    )


def _demo_config(folder: Path, *, weight_seismic: int | None = None, cache: str = "") -> Path:
    """configs/demo.yaml with absolute layer paths, its own cache folder (or none)."""
    text = DEMO.read_text(encoding="utf-8").replace("../layers/", f"{ROOT / 'layers'}/")
    if weight_seismic is not None:
        text, count = re.subn(
            r"(  seismic:\n(?:    .*\n)*?    weight: )2\n", rf"\g<1>{weight_seismic}\n", text
        )
        assert count == 1
    setting = cache or f"dir: {folder / 'cache'}"
    text += f"\ncache: {{{setting}}}\n"
    path = folder / "demo.yaml"
    folder.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The demo run once (filling its cache): (config, output folder)."""
    folder = tmp_path_factory.mktemp("rescore_demo")
    config = _demo_config(folder)
    write_outputs(run(load_config(config)), folder / "run")
    return config, folder / "run"


def test_rescore_with_the_configs_weights_reproduces_run(
    demo_run: tuple[Path, Path], tmp_path: Path
) -> None:
    config, ran = demo_run
    result = siteselect("rescore", str(config), "--out", str(tmp_path / "r"))
    assert result.returncode == 0, result.stderr
    for name in ("sites.csv", "sites.parquet", "map.html"):
        assert (tmp_path / "r" / name).read_bytes() == (ran / name).read_bytes(), name
    # the report byte for byte apart from its run date (the two may straddle a minute)
    reports = [(d / "report.html").read_text(encoding="utf-8") for d in (tmp_path / "r", ran)]
    assert all(REPORT_DATE.search(r) for r in reports)
    assert REPORT_DATE.sub("DATE", reports[0]) == REPORT_DATE.sub("DATE", reports[1]), "report"
    assert "wrote" in result.stdout


def test_rescore_with_a_weight_equals_a_full_run_with_that_weight(
    demo_run: tuple[Path, Path], tmp_path: Path
) -> None:
    config, ran = demo_run
    result = siteselect(
        "rescore", str(config), "--weight", "seismic=6", "--out", str(tmp_path / "w")
    )
    assert result.returncode == 0, result.stderr
    assert "seismic 2 -> 6" in result.stdout
    oracle = _demo_config(tmp_path / "oracle", weight_seismic=6, cache="enabled: false")
    write_outputs(run(load_config(oracle)), tmp_path / "full")
    rescored = (tmp_path / "w" / "sites.csv").read_bytes()
    assert rescored == (tmp_path / "full" / "sites.csv").read_bytes()
    assert rescored != (ran / "sites.csv").read_bytes()  # the weight did change the ranking


def test_weights_file_then_weight_options(demo_run: tuple[Path, Path], tmp_path: Path) -> None:
    config, _ = demo_run
    weights = tmp_path / "weights.yaml"
    weights.write_text("weights: {seismic: 6, border: 0}\n", encoding="utf-8")
    result = siteselect(
        "rescore",
        str(config),
        "--weights-file",
        str(weights),
        "--weight",
        "border=1",
        "--out",
        str(tmp_path / "f"),
    )
    assert result.returncode == 0, result.stderr
    assert "seismic 2 -> 6" in result.stdout and "border" not in result.stdout.split("\n")[0]
    manifest = (tmp_path / "f" / "run.json").read_text(encoding="utf-8")
    assert '"weight": 6.0' in manifest


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "weights:\n  seismic: 6\n  sesmic: 2\n",
            r"weights\.yaml:3: weights\.sesmic: no criterion "
            r"named 'sesmic' \(did you mean 'seismic'\?",
        ),
        (
            "weights:\n  seismic: six\n",
            r"weights\.yaml:2: weights\.seismic: must be a finite "
            r"number >= 0 \(got 'six'\)",
        ),
        ("weights:\n  seismic: -1\n", r"weights\.yaml:2: weights\.seismic: must be a finite"),
        ("weights:\n  seismic: true\n", r"weights\.yaml:2: weights\.seismic: must be a finite"),
        ("seismic: 6\n", r"weights\.yaml:1: seismic: expected 'weights:'"),
        ("weights: {seismic: 6}\nother: 1\n", r"weights\.yaml:2: other: unknown key"),
    ],
)
def test_a_bad_weights_file_names_its_line(
    demo_run: tuple[Path, Path], tmp_path: Path, text: str, expected: str
) -> None:
    weights = tmp_path / "weights.yaml"
    weights.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        read_weights_file(weights, load_config(demo_run[0]))
    assert re.search(expected, str(caught.value)), caught.value


@pytest.mark.parametrize(
    ("option", "expected"),
    [
        ("members", "--weight members: expected NAME=VALUE"),
        ("membrs=3", "--weight membrs=3: no criterion named 'membrs' (did you mean 'members'?"),
        ("members=nan", "--weight members=nan: the weight must be a finite number >= 0"),
        ("members=-2", "--weight members=-2: the weight must be a finite number >= 0"),
        ("members=1e999", "--weight members=1e999: the weight must be a finite number >= 0"),
    ],
)
def test_a_bad_weight_option_names_it(
    demo_run: tuple[Path, Path], option: str, expected: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_weight_options((option,), load_config(demo_run[0]))
    assert str(caught.value).startswith(expected), caught.value


def test_bad_weights_on_the_command_line_are_one_line_exit_2(
    demo_run: tuple[Path, Path], tmp_path: Path
) -> None:
    weights = tmp_path / "weights.yaml"
    weights.write_text("weights:\n  seismic: 6\n  sesmic: 2\n", encoding="utf-8")
    for args in (["--weights-file", str(weights)], ["--weight", "membrs=3"]):
        result = siteselect("rescore", str(demo_run[0]), *args)
        assert result.returncode == 2
        assert len(result.stderr.strip().splitlines()) == 1, result.stderr
        assert result.stderr.startswith("error: ")


def test_every_weight_zero_is_refused(demo_run: tuple[Path, Path]) -> None:
    config = load_config(demo_run[0])
    with pytest.raises(ConfigError, match="every weight would be 0"):
        with_weights(config, dict.fromkeys(config.criteria, 0.0))


@pytest.fixture
def world(tmp_path: Path) -> Path:
    return write_world(tmp_path / "world")


def _rescore_error(config: Path) -> str:
    result = siteselect("-q", "rescore", str(config), "--out", str(config.parent / "r"))
    assert result.returncode == 2, result.stdout + result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert f"run 'siteselect run {config}' first" in lines[0] or "siteselect run" in lines[0]
    return lines[0]


def test_rescore_without_a_run_says_to_run_first(world: Path) -> None:
    line = _rescore_error(world)
    assert "has no candidates for this config" in line
    assert "siteselect run" in line and line.endswith("first")


def test_rescore_after_an_input_changed_names_the_stale_entry(world: Path) -> None:
    run(load_config(world))
    tif = world.parent / "hazard.tif"
    data = bytearray(tif.read_bytes())
    data[-100] ^= 0xFF  # one byte of the raster's pixels
    tif.write_bytes(bytes(data))
    line = _rescore_error(world)
    assert "no up-to-date measurement of criteria.seismic (input layers.hazard changed)" in line
    assert "competition" not in line


def test_rescore_after_a_measurement_parameter_changed(world: Path) -> None:
    run(load_config(world))
    text = world.read_text(encoding="utf-8")
    world.write_text(text.replace("buffer_m: 250", "buffer_m: 300"), encoding="utf-8")
    line = _rescore_error(world)
    assert "constraints.runway_zone (measurement parameters changed (buffer_m))" in line
    # a bound, a transform or a weight is no measurement parameter: rescore applies it
    world.write_text(text.replace("max_overlap_pct: 0", "max_overlap_pct: 10"), encoding="utf-8")
    result = siteselect("rescore", str(world), "--out", str(world.parent / "r"))
    assert result.returncode == 0, result.stderr


def test_rescore_with_the_cache_off_says_so(world: Path) -> None:
    run(load_config(world))
    text = world.read_text(encoding="utf-8")
    world.write_text(text + "cache: {enabled: false}\n", encoding="utf-8")
    line = _rescore_error(world)
    assert "cache.enabled: the criteria cache is off" in line


def test_rescore_leaves_the_previous_results_when_stale(world: Path) -> None:
    result = run(load_config(world))
    out = world.parent / "r"
    write_outputs(result, out)
    before = (out / "sites.csv").read_bytes()
    shutil.rmtree(world.parent / ".cache" / "criteria" / "entries")
    _rescore_error(world)
    assert (out / "sites.csv").read_bytes() == before


# The vectorised scoring (rank, joined reasons) against plainly written oracles.


@given(
    scores=st.lists(st.sampled_from([0.0, -0.0, 0.25, 0.5, 1.0, float("nan")]), max_size=30),
    data=st.data(),
)
def test_rank_is_score_then_id_whatever_the_order_of_the_ids(scores, data) -> None:
    n = len(scores)
    ids = data.draw(st.lists(st.text("abc", max_size=3), min_size=n, max_size=n, unique=True))
    if data.draw(st.booleans()):
        ids = sorted(ids)  # the pipeline's candidates are in id order
    excluded = data.draw(st.lists(st.booleans(), min_size=n, max_size=n))
    ranks = rank(np.array(scores), np.array(excluded, dtype=bool), np.array(ids, dtype=object))
    kept = sorted(
        (i for i in range(n) if not excluded[i]),
        key=lambda i: (-(scores[i] if scores[i] == scores[i] else -np.inf), ids[i]),
    )
    expected = [pd.NA] * n
    for position, i in enumerate(kept, start=1):
        expected[i] = position
    assert ranks.tolist() == expected


@given(st.lists(st.lists(st.sampled_from(["", "a", "b: x"]), min_size=4, max_size=4), max_size=5))
def test_join_reasons_joins_the_non_empty_ones(columns) -> None:
    arrays = [np.array(c, dtype=object) for c in columns]
    joined = join_reasons(arrays, 4)
    assert joined.tolist() == ["; ".join(c[i] for c in columns if c[i]) for i in range(4)]
