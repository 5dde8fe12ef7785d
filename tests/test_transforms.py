"""Transforms, expressions and scoring: invariants and hand-checked values."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from siteselect._errors import CriterionError
from siteselect.config.expressions import (
    MAX_NESTING,
    DivisionByZeroError,
    ExpressionError,
    evaluate,
)
from siteselect.criteria.base import Measurement
from siteselect.decision.scoring import (
    WeightedCriterion,
    constraint_reasons,
    join_reasons,
    rank,
    score_table,
)
from siteselect.decision.transforms import Gaussian, Linear, Logistic, MinMax, Step
from siteselect.study.demand import zone_population

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


def test_expression_nesting_is_limited_not_a_recursion_error() -> None:
    table = pd.DataFrame({"a": [1.0, 2.0]})
    deep = "(" * 5000 + "a" + ")" * 5000
    with pytest.raises(ExpressionError, match=f"nested more than {MAX_NESTING} levels deep"):
        evaluate(deep, table)
    fine = "(" * MAX_NESTING + "a" + ")" * MAX_NESTING
    assert evaluate(fine, table).tolist() == [1.0, 2.0]
    # long chains are loops, not recursion: thousands of terms and signs are fine
    assert evaluate(" + ".join(["a"] * 5000), table).tolist() == [5000.0, 10000.0]
    assert evaluate("-" * 5001 + "a", table).tolist() == [-1.0, -2.0]
    assert evaluate(" / ".join(["a"] * 3000), table).tolist() == pytest.approx([1.0, 2.0**-2998])


def test_division_by_zero_is_an_error_with_rows_and_divisor() -> None:
    table = pd.DataFrame({"a": [1.0, 0.0, 3.0, np.nan], "b": [2.0, 0.0, 0.0, 1.0]})
    with pytest.raises(DivisionByZeroError) as info:
        evaluate("a * 2 / (b - 0) + 1", table)
    assert info.value.rows.tolist() == [1, 2]  # 0/0 too; a NaN numerator is not hidden
    assert info.value.divisor == "(b - 0)"
    with pytest.raises(DivisionByZeroError, match=r"divides by zero \(0 is 0\) in 4 row"):
        evaluate("a / 0", table)
    # a missing input is a missing value (NaN), not a division by zero
    result = evaluate("b / (a + 1)", table)
    assert result[:3].tolist() == [1.0, 0.0, 0.0] and np.isnan(result[3])


@settings(derandomize=True, max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.floats(-100, 100), st.floats(-100, 100)), min_size=1, max_size=20))
def test_division_matches_python_or_raises(rows) -> None:
    table = pd.DataFrame(rows, columns=["x", "y"])
    if (table["y"] == 0).any():
        with pytest.raises(DivisionByZeroError) as info:
            evaluate("x / y", table)
        assert info.value.rows.tolist() == np.flatnonzero(table["y"] == 0).tolist()
    else:
        np.testing.assert_allclose(evaluate("x / y", table), (table["x"] / table["y"]).to_numpy())


def _zones(**columns: list[float]) -> gpd.GeoDataFrame:
    n = len(next(iter(columns.values())))
    geoms = [shapely.box(i, 0, i + 1, 1) for i in range(n)]
    frame = gpd.GeoDataFrame(columns, geometry=geoms, crs="EPSG:32611")
    frame.index = pd.RangeIndex(10, 10 + n)  # as read: the feature's position in the file
    return frame.assign(feature_name=[f"06073{i:06d}" for i in range(n)])


def test_zone_population_division_by_zero_names_zone_row_and_expression() -> None:
    zones = _zones(pop=[10.0, 0.0, 5.0], seniors=[2.0, 0.0, 1.0])
    with pytest.raises(CriterionError) as info:
        zone_population(zones, "seniors / pop * 100", "layers.tracts")
    assert str(info.value) == (
        "layers.tracts: population 'seniors / pop * 100' divides by zero (pop is 0) for 1 "
        "zone(s): '06073000001' (row 12); change the expression or leave those zones out "
        "of the layer"
    )


def test_zone_population_missing_counts_as_zero_with_warning(caplog) -> None:
    zones = _zones(pop=[10.0, np.nan, 5.0])
    population = zone_population(zones, "pop * 2", "layers.tracts")
    assert population.tolist() == [20.0, 0.0, 10.0]
    assert "missing input for 1 zone(s) ('06073000001' (row 12)); counted as 0" in caplog.text
    with pytest.raises(CriterionError, match="missing input for every zone"):
        zone_population(_zones(pop=[np.nan, np.nan]), "pop", "layers.tracts")
    with pytest.raises(CriterionError, match=r"is negative for 1 zone\(s\), e.g. '06073000000'"):
        zone_population(_zones(pop=[-1.0, 2.0]), "pop", "layers.tracts")
    with pytest.raises(CriterionError, match=r"not a finite number for '06073000001' \(row 12\)"):
        zone_population(_zones(pop=[1.0, 1e308]), "pop * 10", "layers.tracts")


def test_transforms_do_not_overflow_at_extreme_bounds() -> None:
    linear = Linear(fn="linear", best=1.5e308, worst=-1.5e308)
    scores = linear.apply(np.array([-1.5e308, 0.0, 1.5e308, np.inf, np.nan]))
    assert scores[:4].tolist() == [0.0, 0.5, 1.0, 1.0] and np.isnan(scores[4])
    minmax = MinMax(fn="minmax", better="higher").apply(np.array([-1e308, 0.0, 1e308]))
    assert minmax.tolist() == [0.0, 0.5, 1.0]
    with np.errstate(all="raise"):  # no overflow warning escapes either
        Gaussian(fn="gaussian", ideal=0, sd=1e-300).apply(np.array([1e300]))
        Logistic(fn="logistic", midpoint=0, scale=1e-300).apply(np.array([1e300]))
