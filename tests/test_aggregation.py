"""Aggregation methods against naive per-candidate implementations of their formulas."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from siteselect._errors import ConfigError
from siteselect.config import load_config
from siteselect.decision.aggregation import (
    Aggregation,
    aggregate,
    aggregate_draws,
    quantifier_weights,
    resolve,
)
from tests._lines import line_of
from tests._world import WORLD_CONFIG


def naive_sum(s: list[float], w: list[float]) -> float:
    return sum(wi * si for wi, si in zip(w, s, strict=True))


def naive_product(s: list[float], w: list[float]) -> float:
    out = 1.0
    for wi, si in zip(w, s, strict=True):
        if wi > 0:
            out *= si**wi
    return out


def naive_owa(s: list[float], w: list[float], v: list[float]) -> float:
    order = sorted(range(len(s)), key=lambda i: (-s[i], i))  # descending, ties in config order
    u = [w[i] * v[j] for j, i in enumerate(order)]
    total = sum(u)
    if total == 0:
        return 0.0
    return sum(u[j] / total * s[i] for j, i in enumerate(order))


unit = st.floats(0, 1, allow_nan=False)
cases = st.integers(1, 6).flatmap(
    lambda m: st.tuples(
        arrays(np.float64, st.tuples(st.integers(1, 8), st.just(m)), elements=unit),
        arrays(np.float64, (m,), elements=st.floats(0, 10, allow_nan=False)).filter(
            lambda w: w.sum() > 1e-3
        ),
        arrays(np.float64, (m,), elements=st.floats(0, 1, allow_nan=False)).filter(
            lambda v: v.sum() > 1e-3
        ),
    )
)


@settings(max_examples=150)
@given(cases)
def test_methods_match_their_formulas(case: tuple[np.ndarray, np.ndarray, np.ndarray]) -> None:
    scores, raw, v = case
    w = raw / raw.sum()
    v = v / v.sum()
    for method, naive in (
        (Aggregation("weighted_sum"), lambda s: naive_sum(s, w.tolist())),
        (Aggregation("weighted_product"), lambda s: naive_product(s, w.tolist())),
        (Aggregation("owa", tuple(v.tolist())), lambda s: naive_owa(s, w.tolist(), v.tolist())),
    ):
        total, contrib = aggregate(scores, w, method)
        expected = [naive(row.tolist()) for row in scores]
        assert np.allclose(total, expected, atol=1e-12), method
        assert np.allclose(contrib.sum(axis=1), total, atol=1e-12), method
        draws = aggregate_draws(scores, np.vstack([w, w]), method)
        assert np.allclose(draws, np.vstack([expected, expected]), atol=1e-12), method


def test_owa_with_alpha_1_is_the_weighted_sum() -> None:
    rng = np.random.default_rng(1)
    scores, w = rng.random((50, 5)), rng.dirichlet(np.ones(5))
    owa = resolve("owa", 5, alpha=1.0)
    assert np.allclose(aggregate(scores, w, owa)[0], scores @ w)


def test_quantifier_risk_attitude() -> None:
    assert quantifier_weights(3, 1.0) == pytest.approx([1 / 3] * 3)
    optimistic, pessimistic = quantifier_weights(4, 0.5), quantifier_weights(4, 2.0)
    assert optimistic[0] > optimistic[-1] and pessimistic[0] < pessimistic[-1]
    assert optimistic.sum() == pytest.approx(1.0) and pessimistic.sum() == pytest.approx(1.0)
    scores, w = np.array([[1.0, 0.2, 0.6]]), np.array([0.5, 0.3, 0.2])
    totals = [aggregate(scores, w, resolve("owa", 3, alpha=a))[0][0] for a in (0.3, 1.0, 3.0)]
    assert totals[0] > totals[1] > totals[2]  # OR-like above the weighted sum, AND-like below


def test_weighted_product_zero_score() -> None:
    scores = np.array([[0.0, 1.0], [0.0, 0.5]])
    total, _ = aggregate(scores, np.array([0.6, 0.4]), Aggregation("weighted_product"))
    assert total.tolist() == [0.0, 0.0]
    total, _ = aggregate(scores, np.array([0.0, 1.0]), Aggregation("weighted_product"))
    assert total.tolist() == [1.0, 0.5]  # a weight of 0 does not count, even at score 0


def test_missing_scores_count_as_zero_and_leave_contrib_nan() -> None:
    scores = np.array([[np.nan, 1.0]])
    for method in (Aggregation("weighted_sum"), resolve("owa", 2, alpha=2.0)):
        total, contrib = aggregate(scores, np.array([0.5, 0.5]), method)
        assert math.isnan(contrib[0, 0]) and total[0] == pytest.approx(contrib[0, 1])


def _variant(folder: Path, aggregation: str) -> Path:
    path = folder / "agg.yaml"
    path.write_text(WORLD_CONFIG.replace("outputs:", aggregation + "\noutputs:"), encoding="utf-8")
    return path


def test_config_forms(tmp_path: Path) -> None:
    spec = load_config(_variant(tmp_path, "aggregation: weighted_product"), check_files=False)
    assert spec.aggregation.method == "weighted_product"
    spec = load_config(
        _variant(tmp_path, "aggregation: {method: owa, alpha: 2}"), check_files=False
    )
    assert spec.aggregation.alpha == 2.0
    form = "aggregation: {method: owa, order_weights: [0.4, 0.3, 0.2, 0.1]}"
    assert load_config(_variant(tmp_path, form), check_files=False).aggregation.order_weights


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("aggregation: {method: owa}", "owa needs exactly one of order_weights"),
        ("aggregation: {method: owa, alpha: 2, order_weights: [1, 0, 0, 0]}", "exactly one"),
        ("aggregation: {method: weighted_sum, alpha: 2}", "belong to method owa"),
        ("aggregation: {method: owa, order_weights: [0.5, 0.2, 0.2, 0.2]}", "must sum to 1"),
        ("aggregation: median", "aggregation.method"),
    ],
)
def test_config_errors(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_config(_variant(tmp_path, text), check_files=False)


def test_order_weights_one_per_criterion(tmp_path: Path) -> None:
    path = _variant(tmp_path, "aggregation:\n  method: owa\n  order_weights: [0.5, 0.5]")
    with pytest.raises(ConfigError) as info:
        load_config(path, check_files=False)
    line = line_of(path, "order_weights")
    assert str(info.value).startswith(
        f"{path}:{line}: aggregation.order_weights: order_weights has 2 entries for 4 criteria"
    )


def test_doctests() -> None:
    import doctest

    from siteselect.decision import aggregation, sensitivity, weights

    for module in (aggregation, sensitivity, weights):
        assert doctest.testmod(module).failed == 0


@pytest.mark.parametrize("form", ["weighted_product", "{method: owa, alpha: 2}"])
def test_pipeline_scores_with_the_configured_method(world_config: Path, form: str) -> None:
    from siteselect.pipeline import run

    path = world_config.parent / "method.yaml"
    path.write_text(world_config.read_text().replace("outputs:", f"aggregation: {form}\noutputs:"))
    result = run(load_config(path))
    names = [c.name for c in result.criteria]
    weights = np.array([c.weight for c in result.criteria])
    w = (weights / weights.sum()).tolist()
    table = result.candidates
    for _, row in table.iterrows():
        s = [0.0 if np.isnan(row[f"score_{n}"]) else row[f"score_{n}"] for n in names]
        if form == "weighted_product":
            expected = naive_product(s, w)
        else:
            expected = naive_owa(s, w, quantifier_weights(len(s), 2.0).tolist())
        assert row["total_score"] == pytest.approx(expected, abs=1e-12)
    contrib = table[[f"contrib_{n}" for n in names]].sum(axis=1, min_count=1)
    ranked = table["rank"].notna()
    assert np.allclose(contrib[ranked], table["total_score"][ranked])
    assert result.aggregation["method"] == ("owa" if "owa" in form else "weighted_product")
    if "owa" in form:
        assert result.aggregation["order_weights"] == pytest.approx(
            quantifier_weights(4, 2.0).tolist()
        )
    assert result.sensitivity is not None
    assert bool(result.sensitivity["critical"]) == (form == "weighted_product")
