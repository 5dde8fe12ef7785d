"""Constraints, transforms, weighted aggregation and ranking.

Pure table operations on measured raw values: no I/O, no geometry. A candidate
is excluded when any constraint fails or when a criterion has no value for it
(never a silent NaN in the ranking); its reasons are joined with ``"; "``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from siteselect.criteria.base import Measurement
from siteselect.transforms import _Transform


def format_value(value: float, unit: str) -> str:
    """Round for humans: ``12.3 min``, ``148 m``, ``0.62 g``, ``35%``.

    >>> format_value(148.26, "m"), format_value(0.6234, "g"), format_value(35.0, "%")
    ('148 m', '0.623 g', '35%')
    """
    if not np.isfinite(value):
        return "n/a"
    magnitude = abs(value)
    text = f"{value:,.0f}" if magnitude >= 100 else f"{value:.3g}"
    if unit == "%":
        return f"{text}%"
    return f"{text} {unit}".strip()


def violations(values: np.ndarray, lower: float | None, upper: float | None) -> np.ndarray:
    """Boolean mask of values outside [lower, upper] (NaN is not a violation here).

    >>> violations(np.array([1.0, 5.0, 9.0, np.nan]), 2.0, 8.0).tolist()
    [True, False, True, False]
    """
    out = np.zeros(len(values), dtype=bool)
    with np.errstate(invalid="ignore"):
        if lower is not None:
            out |= values < lower
        if upper is not None:
            out |= values > upper
    return out


def constraint_failures(
    measurement: Measurement, lower: float | None, upper: float | None
) -> np.ndarray:
    """Candidates the constraint itself fails: a value outside the bounds or the kind's
    own exclusion (an AICUZ zone). Missing values are not failures here: they are
    accounted as missing values (:mod:`siteselect.exclusions`).
    """
    failed = violations(measurement.values, lower, upper)
    if measurement.exclusions is not None:
        failed |= measurement.exclusions != ""
    return failed


def constraint_reasons(
    name: str, measurement: Measurement, lower: float | None, upper: float | None
) -> np.ndarray:
    """Per candidate: "" when it passes, else a sentence saying why it is excluded.

    A candidate without a value gets ``<name>: <missing_reason>``.
    """
    values = measurement.values
    reasons = np.full(len(values), "", dtype=object)
    unit = measurement.unit
    feature = measurement.feature
    for mask, template, word, limit in (
        (violations(values, lower, None), measurement.phrase_low, "minimum", lower),
        (violations(values, None, upper), measurement.phrase_high, "maximum", upper),
    ):
        for i in np.flatnonzero(mask):
            name_of = (
                str(feature[i]) if feature is not None and feature[i] else "the nearest feature"
            )
            phrase = template.format(
                value=format_value(values[i], unit), feature=name_of, label=measurement.label
            )
            if measurement.reasons is not None and measurement.reasons[i]:
                phrase = str(measurement.reasons[i])
            reasons[i] = f"{name}: {phrase} ({word} {format_value(float(limit), unit)})"  # type: ignore[arg-type]
    missing = np.isnan(values)
    reasons[missing] = missing_value_reasons(name, measurement)[missing]
    if measurement.exclusions is not None:
        for i in np.flatnonzero(measurement.exclusions != ""):
            own = f"{name}: {measurement.exclusions[i]}"
            reasons[i] = f"{own}; {reasons[i]}" if reasons[i] else own
    return reasons


def missing_value_reasons(name: str, measurement: Measurement) -> np.ndarray:
    """Per candidate: "" when it has a value, else ``"<name>: <why not>"``.

    The per-candidate ``missing_reasons`` where given, else ``missing_reason``.
    """
    missing = np.isnan(measurement.values)
    out = np.where(missing, f"{name}: {measurement.missing_reason}", "").astype(object)
    own = measurement.missing_reasons
    if own is not None:
        specific = missing & (own != "")
        out[specific] = f"{name}: " + own[specific].astype(str).astype(object)
    return out


def join_reasons(columns: list[np.ndarray], n: int) -> np.ndarray:
    """Join per-constraint reason arrays into one ``"; "``-separated string each."""
    joined = np.full(n, "", dtype=object)
    for column in columns:
        has = column != ""
        both = has & (joined != "")
        joined[both] = joined[both] + "; " + column[both]
        only = has & (joined == "")
        joined[only] = column[only]
    return joined


@dataclass(frozen=True)
class WeightedCriterion:
    """A measured criterion ready to score."""

    name: str
    measurement: Measurement
    transform: _Transform
    weight: float


def scaled_weights(weights: list[float] | np.ndarray) -> tuple[np.ndarray, float]:
    """The weights divided by the largest, and their sum: no weight can overflow.

    Every scaled weight is in [0, 1] and their sum at most their count, so
    ``[1e308, 1e308]`` scales to ``[1, 1]`` exactly as ``[1, 1]`` does; scaling
    every weight by a power of two leaves the result bit-for-bit identical.
    The sum is taken left to right (as the map's what-if script does).

    >>> scaled_weights([1e308, 1e308]), scaled_weights([3.0, 1.0])[1]
    ((array([1., 1.]), 2.0), 1.3333333333333333)

    Raises
    ------
    ValueError
        A weight that is negative or not finite, or every weight 0 (the config
        refuses all three; this guards calls from code).
    """
    values = np.asarray(weights, dtype="float64")
    if not np.isfinite(values).all() or (values < 0).any():
        raise ValueError(f"weights must be finite and >= 0, got {values.tolist()}")
    top = values.max(initial=0.0)
    if top == 0:
        raise ValueError("every weight is 0; give at least one criterion a weight > 0")
    scaled = values / top
    return scaled, float(sum(scaled.tolist()))


def weight_shares(weights: list[float] | np.ndarray) -> np.ndarray:
    """Each weight's share of their sum (:func:`scaled_weights`, so never overflowing).

    >>> weight_shares([1e308, 1e308]).tolist(), weight_shares([3.0, 1.0]).tolist()
    ([0.5, 0.5], [0.75, 0.25])
    """
    scaled, total = scaled_weights(weights)
    return scaled / total


def score_table(criteria: list[WeightedCriterion], n: int) -> pd.DataFrame:
    """raw_/score_/contrib_ columns and ``total_score`` for ``n`` candidates.

    ``contrib_<name>`` is ``score * v / V`` with ``v`` the criterion's weight
    divided by the largest weight and ``V`` the sum of those
    (:func:`scaled_weights`): the weighted mean ``Σ w·score / Σ w`` without
    overflow. ``total_score`` is the sum of the contributions, in [0, 1].
    """
    scaled, scaled_sum = (
        scaled_weights([c.weight for c in criteria]) if criteria else (np.zeros(0), 1.0)
    )
    columns: dict[str, np.ndarray] = {}
    total = np.zeros(n)
    for criterion, weight in zip(criteria, scaled, strict=True):
        raw = np.asarray(criterion.measurement.values, dtype="float64")
        score = criterion.transform.apply(raw)
        contribution = score * weight / scaled_sum
        columns[f"raw_{criterion.name}"] = raw
        columns[f"score_{criterion.name}"] = score
        columns[f"contrib_{criterion.name}"] = contribution
        total += np.nan_to_num(contribution, nan=0.0)
    columns["total_score"] = total
    return pd.DataFrame(columns)


def rank(total_score: np.ndarray, excluded: np.ndarray, ids: np.ndarray) -> pd.Series:
    """1 = best non-excluded total; ties broken by id; ``<NA>`` for excluded.

    >>> rank(np.array([0.5, 0.9, 0.9, 0.1]), np.array([False, False, False, True]),
    ...      np.array(["a", "c", "b", "d"])).tolist()
    [3, 2, 1, <NA>]
    """
    order = np.lexsort((ids, -np.nan_to_num(total_score, nan=-np.inf)))
    order = order[~excluded[order]]
    ranks = pd.Series(pd.NA, index=range(len(total_score)), dtype="Int64")
    ranks.iloc[order] = np.arange(1, len(order) + 1)
    return ranks
