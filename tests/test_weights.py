"""Weights: only finite numbers, and totals that no weight can overflow."""

from __future__ import annotations

import math
import re
from pathlib import Path

import branca.colormap
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
from tests._node import run_js
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
    # the panel lists the distinct top sites, as RunResult.top() (shadowed ones skipped)
    assert listed == result.top(len(listed))["candidate_id"].tolist()


# --------------------------------------------------------------------------- the map's arithmetic


def _random_case(
    rng: np.random.Generator,
) -> tuple[list[float], list[list[float | None]], list[float]]:
    """Weights (some 0), scores (some 0, 1, missing, ties) and order weights of one case."""
    k, n = int(rng.integers(1, 8)), int(rng.integers(1, 25))
    weights = [0.0 if rng.random() < 0.2 else float(rng.uniform(0.05, 10)) for _ in range(k)]
    if not any(weights):
        weights[0] = 1.0
    levels = np.array([0.0, 0.25, 0.5, 1.0])
    scores: list[list[float | None]] = []
    for _ in range(k):
        column = rng.uniform(0, 1, n)
        tied = rng.random(n) < 0.3
        column[tied] = levels[rng.integers(0, len(levels), int(tied.sum()))]
        missing = rng.random(n) < 0.05
        scores.append([None if m else float(v) for v, m in zip(column, missing, strict=True)])
    order = [0.0 if rng.random() < 0.2 else float(rng.uniform(0, 1)) for _ in range(k)]
    if not any(order):
        order[-1] = 1.0
    return weights, scores, order


def aggregation_oracle(
    method: str, weights: list[float], scores: list[list[float | None]], order: list[float]
) -> list[float]:
    """The three aggregations written naively from their formulas (missing scores count 0)."""
    total_w = sum(weights)
    w = [x / total_w for x in weights]
    k, n = len(weights), len(scores[0])
    out = []
    for i in range(n):
        s = [0.0 if scores[j][i] is None else scores[j][i] for j in range(k)]
        if method == "weighted_sum":
            out.append(sum(w[j] * s[j] for j in range(k)))
        elif method == "weighted_product":
            if any(s[j] == 0 and w[j] > 0 for j in range(k)):
                out.append(0.0)
            else:
                out.append(math.prod(s[j] ** w[j] for j in range(k) if w[j] > 0))
        else:  # owa, Eastman: sort by score descending, ties in criterion order
            ranked = sorted(range(k), key=lambda j: (-s[j], j))
            denominator = sum(w[ranked[p]] * order[p] for p in range(k))
            if denominator <= 0:
                out.append(0.0)
                continue
            out.append(sum(w[ranked[p]] * order[p] / denominator * s[ranked[p]] for p in range(k)))
    return out


def _run_totals(weights: list[float], scores: list[list[float | None]]) -> list[float]:
    """Totals by siteselect.decision.scoring.score_table (the run), identity transforms."""
    identity = Linear(fn="linear", best=1.0, worst=0.0)
    n = len(scores[0])
    weighted = [
        WeightedCriterion(
            f"c{j}",
            Measurement(
                values=np.array([np.nan if v is None else v for v in column], dtype=float),
                unit="",
                label=f"c{j}",
            ),
            identity,
            w,
        )
        for j, (column, w) in enumerate(zip(scores, weights, strict=True))
    ]
    return score_table(weighted, n)["total_score"].tolist()


@pytest.mark.parametrize("method", ["weighted_sum", "weighted_product", "owa"])
def test_map_aggregation_matches_python_oracle(method: str) -> None:
    """web/aggregate.js gives the formulas' totals on 300 random cases (ties, zeros, missing)."""
    rng = np.random.default_rng({"weighted_sum": 1, "weighted_product": 2, "owa": 3}[method])
    cases = [_random_case(rng) for _ in range(300)]
    js = run_js(["aggregate.js"], "ssAggregate", [[method, w, s, o] for w, s, o in cases])
    for (weights, scores, order), totals in zip(cases, js, strict=True):
        expected = aggregation_oracle(method, weights, scores, order)
        assert totals == pytest.approx(expected, rel=1e-12, abs=1e-15), (weights, scores, order)
        if method == "weighted_sum":
            # bit for bit the run's arithmetic (missing scores: the run counts them 0 too)
            assert totals == _run_totals(weights, scores)


def test_map_aggregation_refuses_all_zero_weights() -> None:
    assert run_js(["aggregate.js"], "ssAggregate", [["owa", [0, 0], [[0.5], [0.2]], [1, 0]]]) == [
        None
    ]


def test_map_ranking_breaks_ties_by_candidate_id() -> None:
    """ssRankOrder ranks like siteselect.decision.scoring.rank on random totals with ties."""
    rng = np.random.default_rng(4)
    cases = []
    for _ in range(100):
        n = int(rng.integers(1, 30))
        totals = rng.choice([0.1, 0.5, 0.9, float(rng.uniform())], n).tolist()
        ids = [f"{int(x):04d}" for x in rng.permutation(10_000)[:n]]
        order = np.empty(n, dtype=int)
        order[np.argsort(ids, kind="stable")] = np.arange(n)
        cases.append((totals, ids, order.tolist()))
    js = run_js(["aggregate.js"], "ssRankOrder", [[t, o] for t, _, o in cases])
    for (totals, ids, _), positions in zip(cases, js, strict=True):
        ranks = rank(np.array(totals), np.zeros(len(totals), dtype=bool), np.array(ids)).to_numpy()
        assert positions == np.argsort(ranks).tolist()


def test_map_colours_match_the_run() -> None:
    """ssColour draws a score as build._quantized_color does (branca, 64 levels)."""
    rng = np.random.default_rng(5)
    cases = []
    for _ in range(40):
        vmin = float(rng.uniform(0, 0.6))
        vmax = vmin + float(rng.uniform(1e-6, 0.4))
        colormap = branca.colormap.LinearColormap(webmap.SCORE_COLORS, vmin=vmin, vmax=vmax)
        values = [*rng.uniform(vmin - 0.1, vmax + 0.1, 20).tolist(), vmin, vmax, float("nan")]
        cases.append((vmin, vmax, values, [webmap._quantized_color(colormap, v) for v in values]))
    args = [
        [v if math.isfinite(v) else None, lo, hi, list(webmap.SCORE_COLORS), webmap.COLOR_STEPS,
         webmap.NO_SCORE_FILL]
        for lo, hi, values, _ in cases
        for v in values
    ]  # fmt: skip
    js = run_js(["aggregate.js"], "ssColour", args)
    assert js == [colour for *_, colours in cases for colour in colours]


@pytest.mark.parametrize("method", ["weighted_product", "owa"])
def test_map_aggregation_equals_the_run_aggregation(method: str) -> None:
    """The sliders' JS and siteselect.decision.aggregation (what `run` ranks by) agree."""
    from siteselect.decision.aggregation import aggregate, resolve

    rng = np.random.default_rng({"weighted_product": 5, "owa": 6}[method])
    cases = [_random_case(rng) for _ in range(200)]
    js = run_js(["aggregate.js"], "ssAggregate", [[method, w, s, o] for w, s, o in cases])
    for (weights, scores, order), totals in zip(cases, js, strict=True):
        table = np.array([[np.nan if v is None else v for v in col] for col in scores]).T
        shares = np.array(weights) / sum(weights)
        run_totals, _ = aggregate(table, shares, resolve(method, len(weights), order))
        assert totals == pytest.approx(run_totals.tolist(), rel=1e-12, abs=1e-15), (
            weights,
            scores,
            order,
        )
