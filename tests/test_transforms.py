"""Transforms, expressions and scoring: invariants and hand-checked values."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from siteselect.criteria.base import Measurement
from siteselect.expressions import ExpressionError, evaluate
from siteselect.scoring import (
    WeightedCriterion,
    constraint_reasons,
    join_reasons,
    rank,
    score_table,
)
from siteselect.transforms import Gaussian, Linear, Logistic, MinMax, Step

finite = st.floats(-1e6, 1e6, allow_nan=False)
arrays = st.lists(finite, min_size=1, max_size=50).map(np.array)


@given(arrays, finite, finite)
def test_linear_in_unit_interval_and_monotone(
    values: np.ndarray, best: float, worst: float
) -> None:
    assume(abs(best - worst) > 1e-6)
    transform = Linear(fn="linear", best=best, worst=worst)
    scores = transform.apply(np.sort(values))
    assert ((scores >= 0) & (scores <= 1)).all()
    diffs = np.diff(scores)
    assert (diffs >= -1e-12).all() if best > worst else (diffs <= 1e-12).all()


@given(arrays, finite, st.floats(1e-3, 1e5))
def test_logistic_and_gaussian_in_unit_interval(values, centre, scale) -> None:
    for transform in (
        Logistic(fn="logistic", midpoint=centre, scale=scale, better="lower"),
        Gaussian(fn="gaussian", ideal=centre, sd=scale),
    ):
        scores = transform.apply(values)
        assert ((scores >= 0) & (scores <= 1)).all()


def test_step_and_minmax_and_nan() -> None:
    step = Step(fn="step", breaks=[2, 5], scores=[1.0, 0.4, 0.0])
    assert step.apply(np.array([1, 2, 3, 5, 6, np.nan])).tolist()[:5] == [1.0, 1.0, 0.4, 0.4, 0.0]
    assert np.isnan(step.apply(np.array([np.nan]))[0])
    minmax = MinMax(fn="minmax", better="lower")
    assert minmax.apply(np.array([10.0, 20.0, 15.0, np.nan])).tolist()[:3] == [1.0, 0.0, 0.5]
    assert np.isnan(Linear(fn="linear", best=0, worst=1).apply(np.array([np.nan]))[0])
    with pytest.raises(ValueError, match="scores needs 3 entries"):
        Step(fn="step", breaks=[1, 2], scores=[1.0])


def test_expressions() -> None:
    table = pd.DataFrame({"a": [1.0, 2.0], "b_1": [4.0, 8.0], "c+d": [1.0, 1.0]})
    assert evaluate("-(a + b_1) / 2 * 3", table).tolist() == [-7.5, -15.0]
    assert evaluate("`c+d` + 1e1", table).tolist() == [11.0, 11.0]
    with pytest.raises(ExpressionError, match=r"unknown column 'b1'.*b_1"):
        evaluate("a + b1", table)
    for bad in ("a +", "(a", "a b", "__import__('os')", "a ** 2", ""):
        with pytest.raises(ExpressionError):
            evaluate(bad, table)


@given(st.lists(st.tuples(st.floats(-100, 100), st.floats(-100, 100)), min_size=1, max_size=20))
def test_expression_matches_python_arithmetic(rows) -> None:
    table = pd.DataFrame(rows, columns=["x", "y"])
    got = evaluate("x * 2 - (y + 3) * 0.5", table)
    want = table["x"] * 2 - (table["y"] + 3) * 0.5
    np.testing.assert_allclose(got, want.to_numpy())


def test_weighted_sum_rank_and_reasons() -> None:
    distance = Measurement(
        values=np.array([100.0, 500.0, np.nan]),
        unit="m",
        label="Distance to fault",
        feature=np.array(["Rose Canyon", "Rose Canyon", ""], dtype=object),
        phrase_low="within {value} of {feature}",
    )
    minutes = Measurement(values=np.array([5.0, 10.0, 2.0]), unit="min", label="Drive time")
    criteria = [
        WeightedCriterion("dist", distance, Linear(fn="linear", best=1000, worst=0), 1.0),
        WeightedCriterion("drive", minutes, Linear(fn="linear", best=0, worst=10), 3.0),
    ]
    table = score_table(criteria, 3)
    assert table["contrib_drive"].tolist() == pytest.approx([0.375, 0.0, 0.6])
    assert table["total_score"].tolist() == pytest.approx([0.4, 0.125, 0.6])
    reasons = constraint_reasons("fault_setback", distance, 150.0, None)
    assert reasons[0] == "fault_setback: within 100 m of Rose Canyon (minimum 150 m)"
    assert reasons[1] == "" and reasons[2] == "fault_setback: no value"
    joined = join_reasons([reasons, np.array(["", "", "y"], dtype=object)], 3)
    assert joined.tolist() == [reasons[0], "", "fault_setback: no value; y"]
    ranks = rank(table["total_score"].to_numpy(), joined != "", np.array(["a", "b", "c"]))
    assert ranks.iloc[1] == 1 and ranks.iloc[[0, 2]].isna().all()
