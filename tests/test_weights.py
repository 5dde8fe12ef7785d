"""Weights: only finite numbers, and totals that no weight can overflow."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from siteselect._errors import ConfigError
from siteselect.config import load_config
from siteselect.criteria.base import Measurement
from siteselect.decision.results import RunResult
from siteselect.decision.scoring import WeightedCriterion, rank, score_table, weight_shares
from siteselect.decision.transforms import Linear, MinMax
from siteselect.outputs.map import build as webmap
from siteselect.pipeline import run
from tests._browser import open_map, require_browser
from tests._lines import line_of
from tests._world import WORLD_CONFIG


def _variant(folder: Path, name: str, old: str, new: str) -> Path:
    assert old in WORLD_CONFIG, old
    path = folder / f"{name}.yaml"
    path.write_text(WORLD_CONFIG.replace(old, new, 1), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (".inf", "must be a finite number (got inf)"),
        ("-.inf", "must be a finite number (got -inf)"),
        (".nan", "must be a finite number (got nan)"),
        ("'2'", "must be a number (got '2')"),
        ("yes", "must be a number (got True)"),
        ("nan", "must be a number (got 'nan')"),
        ("1" + "0" * 400, "must be a number (got 1" + "0" * 36 + "...)"),
    ],
)
def test_weight_must_be_a_finite_number(tmp_path: Path, value: str, expected: str) -> None:
    path = _variant(tmp_path, "w", "    weight: 2\n  members", f"    weight: {value}\n  members")
    with pytest.raises(ConfigError) as info:
        load_config(path)
    line = line_of(path, f"weight: {value}")
    assert str(info.value) == f"{path}:{line}: criteria.seismic.weight: {expected}"


def test_transform_and_bound_must_be_finite(tmp_path: Path) -> None:
    path = _variant(tmp_path, "t", "best: 0.3, worst: 0.9", "best: 0.3, worst: .inf")
    with pytest.raises(ConfigError, match=r"criteria\.seismic\.transform\.worst: must be a finite"):
        load_config(path)
    path = _variant(tmp_path, "b", "max_minutes: 5", "max_minutes: .nan")
    with pytest.raises(ConfigError, match=r"far_from_freeway\.max_minutes: must be a finite"):
        load_config(path)


def test_exponent_numbers_are_numbers(tmp_path: Path) -> None:
    """YAML 1.1 reads ``1e3`` as a string; the config reads it as 1000 (YAML 1.2)."""
    path = _variant(tmp_path, "huge", "    weight: 3\n", "    weight: 1.7e308\n")
    assert load_config(path, check_files=False).criteria["freeway_access"].weight == 1.7e308
    path = _variant(tmp_path, "exp", "    weight: 3\n", "    weight: 1e3\n")
    assert load_config(path, check_files=False).criteria["freeway_access"].weight == 1000.0


def test_weight_shares_never_overflow() -> None:
    assert weight_shares([1e308, 1e308]).tolist() == [0.5, 0.5]
    assert weight_shares([1.7976931348623157e308, 0.0, 1e-320]).tolist()[:2] == [1.0, 0.0]
    assert weight_shares([5e-324, 5e-324]).tolist() == [0.5, 0.5]
    for bad in ([1.0, np.inf], [np.nan, 1.0], [-1.0, 2.0], [0.0, 0.0]):
        with pytest.raises(ValueError):
            weight_shares(bad)


def _criteria(values: np.ndarray, weights: list[float]) -> list[WeightedCriterion]:
    transforms = [Linear(fn="linear", best=1.0, worst=0.0), MinMax(fn="minmax", better="lower")]
    return [
        WeightedCriterion(
            f"c{i}",
            Measurement(values=values[:, i], unit="", label=f"c{i}"),
            transforms[i % 2],
            weight,
        )
        for i, weight in enumerate(weights)
    ]


def test_weights_1e308_rank_like_weights_1() -> None:
    rng = np.random.default_rng(7)
    values = rng.random((200, 2))
    ids = np.array([f"C{i:04d}" for i in range(200)])
    excluded = np.zeros(200, dtype=bool)
    small = score_table(_criteria(values, [1.0, 1.0]), 200)
    huge = score_table(_criteria(values, [1e308, 1e308]), 200)
    assert np.isfinite(huge["total_score"]).all()
    assert (huge["total_score"] == small["total_score"]).all()
    assert huge["total_score"].nunique() > 150  # not the all-zero totals of the overflow
    assert (
        rank(huge["total_score"].to_numpy(), excluded, ids)
        == rank(small["total_score"].to_numpy(), excluded, ids)
    ).all()


weights = st.lists(st.floats(0.0, 1e6, allow_nan=False), min_size=1, max_size=5).filter(
    lambda w: max(w) > 0
)


@settings(derandomize=True, max_examples=200, deadline=None)
@given(weights, st.integers(-1000, 1000), st.integers(0, 2**32 - 1))
def test_ranks_invariant_under_power_of_two_weight_scaling(
    base: list[float], exponent: int, seed: int
) -> None:
    """Scaling all weights by 2**k (even to near-overflow or subnormal) changes nothing."""
    scaled = [w * 2.0**exponent for w in base]
    if not all(np.isfinite(scaled)) or max(scaled) == 0:
        return
    # subnormal weights lose low bits; compare only where scaling is exact
    if any(w and (s / 2.0**exponent != w) for w, s in zip(base, scaled, strict=True)):
        return
    values = np.random.default_rng(seed).random((30, len(base)))
    ids = np.array([f"C{i:02d}" for i in range(30)])
    excluded = np.zeros(30, dtype=bool)
    plain = score_table(_criteria(values, base), 30)["total_score"].to_numpy()
    big = score_table(_criteria(values, scaled), 30)["total_score"].to_numpy()
    assert (plain == big).all()
    assert (rank(plain, excluded, ids) == rank(big, excluded, ids)).all()


@settings(derandomize=True, max_examples=200, deadline=None)
@given(weights, st.floats(1e-300, 1e300), st.integers(0, 2**32 - 1))
def test_totals_invariant_under_any_weight_scaling(
    base: list[float], factor: float, seed: int
) -> None:
    scaled = [w * factor for w in base]
    if max(scaled) == 0 or not all(np.isfinite(scaled)):
        return
    values = np.random.default_rng(seed).random((30, len(base)))
    plain = score_table(_criteria(values, base), 30)["total_score"].to_numpy()
    other = score_table(_criteria(values, scaled), 30)["total_score"].to_numpy()
    np.testing.assert_allclose(other, plain, rtol=1e-9, atol=1e-12)
    assert ((plain >= 0) & (plain <= 1 + 1e-12)).all()


@pytest.fixture(scope="module")
def huge_and_ones(world_config: Path) -> tuple[RunResult, RunResult]:
    """The tiny world run with four weights of 1e308 (their sum overflows) and of 1."""
    results = []
    for name, weight in (("huge", "1.0e+308"), ("ones", "1")):
        path = world_config.parent / f"weights_{name}.yaml"
        path.write_text(re.sub(r"weight: \d+", f"weight: {weight}", WORLD_CONFIG), encoding="utf-8")
        results.append(run(load_config(path)))
    return results[0], results[1]


def test_pipeline_with_weights_1e308_ranks_like_equal_weights(
    huge_and_ones: tuple[RunResult, RunResult],
) -> None:
    """End to end: four weights of 1e308 rank exactly like four weights of 1."""
    huge_table, ones_table = (result.candidates for result in huge_and_ones)
    assert huge_table["total_score"].tolist() == ones_table["total_score"].tolist()
    assert huge_table["rank"].tolist() == ones_table["rank"].tolist()
    ranked = huge_table[~huge_table["excluded"]]
    assert ranked["total_score"].max() > 0


def test_map_what_if_ranks_huge_weights_like_python(
    huge_and_ones: tuple[RunResult, RunResult], tmp_path: Path
) -> None:
    """The map re-ranks in the browser with the same overflow-free arithmetic."""
    require_browser()
    result = huge_and_ones[0]
    path = tmp_path / "map.html"
    webmap.write_map(result, path)
    with open_map(path) as session:
        rows = session.page.locator("#ss-ranking .ss-rank-row")
        rows.first.wait_for()
        listed = [rows.nth(i).get_attribute("data-site") for i in range(rows.count())]
        session.assert_clean()
    # the panel lists the ranking (RunResult.top() also skips the shadowed sites)
    ranking = result.candidates[result.candidates["rank"].notna()].sort_values("rank")
    assert listed == ranking["candidate_id"].head(len(listed)).tolist()
