"""Constraints, transforms, weighted aggregation and ranking.

Pure table operations on measured raw values: no I/O, no geometry. A candidate
is excluded when any constraint fails or when a criterion has no value for it
(never a silent NaN in the ranking); its reasons are joined with ``"; "``.
"""

from __future__ import annotations

import string
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from siteselect.criteria.base import Measurement
from siteselect.decision.aggregation import Aggregation, aggregate
from siteselect.decision.transforms import _Transform


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


_THOUSANDS = r"\B(?=(\d{3})+(?!\d))"


def format_values(values: np.ndarray, unit: str) -> np.ndarray:
    """:func:`format_value` over an array, vectorised: an object array of the same texts.

    >>> format_values(np.array([148.26, 0.6234, 1234567.5, np.nan]), "m").tolist()
    ['148 m', '0.623 m', '1,234,568 m', 'n/a']
    """
    texts, codes = formatted_codes(values, unit)
    return texts[codes]


def formatted_codes(values: np.ndarray, unit: str) -> tuple[np.ndarray, np.ndarray]:
    """Distinct texts of :func:`format_value` and, per value, the position of its text.

    Each distinct text is made once: values of 100 and more are rounded to whole
    numbers first (``np.rint`` rounds half to even, as ``format`` does), then
    formatted with numpy's ``%``-formatting (which rounds like ``format``) and a
    vectorised regex for the thousands separators.
    """
    values = np.asarray(values, dtype="float64")
    large = np.abs(values) >= 100  # NaN and inf compare False / True: fixed below
    keys = np.where(large & np.isfinite(values), np.rint(values), values)
    bits, codes = np.unique(keys.view(np.uint64), return_inverse=True)  # bits keep -0.0
    distinct = bits.view(np.float64)
    text = np.full(len(distinct), "n/a", dtype=object)
    finite = np.isfinite(distinct)
    small = finite & (np.abs(distinct) < 100)
    large = finite & ~small
    text[small] = np.char.mod("%.3g", distinct[small])
    if large.any():
        whole = pd.Series(np.char.mod("%.0f", distinct[large]), dtype=object)
        text[large] = whole.str.replace(_THOUSANDS, ",", regex=True).to_numpy()
    suffix = "%" if unit == "%" else (" " + unit).rstrip()
    text[finite] = text[finite] + suffix
    return text, codes.reshape(-1)


def _blank_falsy(texts: np.ndarray | None, n: int) -> np.ndarray:
    """``texts`` as an object array with "" for every false value (None, ""), as `or` sees them."""
    if texts is None:
        return np.full(n, "", dtype=object)
    texts = np.asarray(texts, dtype=object)
    return np.where(texts.astype(bool), texts, "").astype(object)


def _text_codes(texts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distinct objects of ``texts`` (hashable) and, per element, the position of its own."""
    codes, distinct = pd.factorize(pd.Series(texts, dtype=object), use_na_sentinel=False)
    return np.asarray(distinct, dtype=object), codes


def fill_template(template: str, **fields: np.ndarray | str) -> np.ndarray:
    """``template.format(**fields)`` per element, vectorised over equal-length arrays.

    Fields are arrays of texts (object) or plain strings (the same for all).

    >>> fill_template("{a} of {b}", a=np.array(["1", "2"], dtype=object), b="x").tolist()
    ['1 of x', '2 of x']
    """
    lengths = {len(v) for v in fields.values() if not isinstance(v, str)}
    n = lengths.pop() if lengths else 1
    out = np.full(n, "", dtype=object)
    for literal, field, spec, conversion in string.Formatter().parse(template):
        out = out + literal
        if field is None:
            continue
        value = fields[field]
        if spec or conversion:
            one = (
                "{0" + (f"!{conversion}" if conversion else "") + (f":{spec}" if spec else "") + "}"
            )
            if isinstance(value, str):
                value = one.format(value)
            else:  # each distinct text once
                distinct, inverse = np.unique(np.asarray(value, dtype=str), return_inverse=True)
                value = np.array([one.format(v) for v in distinct], dtype=object)[inverse]
        out = out + value
    return out


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
    accounted as missing values (:mod:`siteselect.decision.exclusions`).
    """
    failed = violations(measurement.values, lower, upper)
    if measurement.exclusions is not None:
        failed |= measurement.exclusions != ""
    return failed


def constraint_reasons(
    name: str, measurement: Measurement, lower: float | None, upper: float | None
) -> np.ndarray:
    """Per candidate: "" when it passes, else a sentence saying why it is excluded.

    A candidate without a value gets ``<name>: <missing_reason>``. Built without a
    loop over candidates: each distinct (value text, feature, own phrase) of the
    failing candidates is worded once (:func:`fill_template`), then spread by index.
    """
    values = np.asarray(measurement.values, dtype="float64")
    n = len(values)
    reasons = np.full(n, "", dtype=object)
    feature = _blank_falsy(measurement.feature, n)
    own = _blank_falsy(measurement.reasons, n)
    for mask, template, word, limit in (
        (violations(values, lower, None), measurement.phrase_low, "minimum", lower),
        (violations(values, None, upper), measurement.phrase_high, "maximum", upper),
    ):
        if not mask.any():
            continue
        # one text per distinct (value text, feature, own phrase): no loop per candidate
        value_texts, value_codes = formatted_codes(values[mask], measurement.unit)
        feature_names, feature_codes = _text_codes(feature[mask])
        own_texts, own_codes = _text_codes(own[mask])
        key = (value_codes * len(feature_names) + feature_codes) * len(own_texts) + own_codes
        distinct, inverse = np.unique(key, return_inverse=True)
        own_of = own_texts[distinct % len(own_texts)]
        feature_of = feature_names[distinct // len(own_texts) % len(feature_names)]
        named = feature_of.astype(bool)  # truthiness, as `feature or ...` tests it
        phrase = fill_template(
            template,
            value=value_texts[distinct // len(own_texts) // len(feature_names)],
            feature=np.where(named, feature_of.astype(str), "the nearest feature").astype(object),
            label=measurement.label,
        )
        specific = own_of.astype(bool)
        phrase[specific] = own_of[specific].astype(str).astype(object)
        bound = format_value(float(limit), measurement.unit)  # type: ignore[arg-type]
        reasons[mask] = (f"{name}: " + phrase + f" ({word} {bound})")[inverse.reshape(-1)]
    missing = np.isnan(values)
    reasons[missing] = missing_value_reasons(name, measurement)[missing]
    if measurement.exclusions is not None:
        excluded = np.asarray(measurement.exclusions, dtype=object) != ""
        prefix = f"{name}: " + np.asarray(measurement.exclusions, dtype=object)[excluded]
        previous = reasons[excluded]
        reasons[excluded] = np.where(previous != "", prefix + "; " + previous, prefix)
    return reasons


def missing_value_reasons(name: str, measurement: Measurement) -> np.ndarray:
    """Per candidate: "" when it has a value, else ``"<name>: <why not>"``.

    The per-candidate ``missing_reasons`` where given, else ``missing_reason``.
    """
    missing = np.flatnonzero(np.isnan(measurement.values))
    out = np.full(len(measurement.values), "", dtype=object)  # one "" object, not n strings
    out[missing] = f"{name}: {measurement.missing_reason}"
    own = measurement.missing_reasons
    if own is not None:
        own_missing = np.asarray(own, dtype=object)[missing]
        specific = own_missing != ""
        out[missing[specific]] = f"{name}: " + own_missing[specific].astype(str).astype(object)
    return out


def join_reasons(columns: list[np.ndarray], n: int) -> np.ndarray:
    """Join per-constraint reason arrays into one ``"; "``-separated string each."""
    joined = np.full(n, "", dtype=object)
    filled = np.zeros(n, dtype=bool)  # joined != "", kept as a mask: no string comparison
    for column in columns:
        has = column != ""
        both = has & filled
        joined[both] = joined[both] + "; " + column[both]
        only = has & ~filled
        joined[only] = column[only]
        filled |= has
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


def score_table(
    criteria: list[WeightedCriterion], n: int, *, aggregation: Aggregation | None = None
) -> pd.DataFrame:
    """raw_/score_/contrib_ columns and ``total_score`` for ``n`` candidates.

    Weighted sum (the default): ``contrib_<name>`` is ``score * v / V`` with
    ``v`` the criterion's weight divided by the largest weight and ``V`` the sum
    of those (:func:`scaled_weights`): the weighted mean ``Σ w·score / Σ w``
    without overflow. ``total_score`` is the sum of the contributions, in [0, 1].
    Other methods: :func:`siteselect.decision.aggregation.aggregate`.
    """
    if aggregation is not None and aggregation.method != "weighted_sum" and criteria:
        return _aggregated_table(criteria, n, aggregation)
    scaled, scaled_sum = (
        scaled_weights([c.weight for c in criteria]) if criteria else (np.zeros(0), 1.0)
    )
    columns: dict[str, np.ndarray] = {}
    total = np.zeros(n)
    for criterion, weight in zip(criteria, scaled, strict=True):
        raw = np.asarray(criterion.measurement.values, dtype="float64")
        score = criterion.transform.apply(raw)
        contribution = score * weight / scaled_sum
        columns[f"raw_{criterion.name}"] = raw.copy()  # the table never shares the measurement's
        columns[f"score_{criterion.name}"] = score
        columns[f"contrib_{criterion.name}"] = contribution
        total += np.nan_to_num(contribution, nan=0.0)
    columns["total_score"] = total
    return pd.DataFrame(columns, copy=False)  # fresh arrays: no copy into one 2-D block


def _aggregated_table(
    criteria: list[WeightedCriterion], n: int, aggregation: Aggregation
) -> pd.DataFrame:
    """:func:`score_table` for a weighted product or an owa."""
    raw = [np.asarray(c.measurement.values, dtype="float64") for c in criteria]
    scores = np.column_stack([c.transform.apply(r) for c, r in zip(criteria, raw, strict=True)])
    total, contrib = aggregate(scores, weight_shares([c.weight for c in criteria]), aggregation)
    columns: dict[str, np.ndarray] = {}
    for i, criterion in enumerate(criteria):
        columns[f"raw_{criterion.name}"] = raw[i]
        columns[f"score_{criterion.name}"] = scores[:, i]
        columns[f"contrib_{criterion.name}"] = contrib[:, i]
    columns["total_score"] = total
    return pd.DataFrame(columns, index=range(n))


def constraint_raw_columns(
    values: dict[str, np.ndarray], criteria: Iterable[str]
) -> dict[str, np.ndarray]:
    """``raw_<constraint>``: each constraint's measured value, in its measurement's unit.

    The distance to the fault, the minutes to the on-ramp: what the bound was
    compared with (NaN where there is no value). A constraint named like a
    criterion gets ``raw_<name>_constraint`` so that neither column hides the other.

    >>> constraint_raw_columns({"fault": np.array([150.0]), "time": np.array([9.0])}, ["time"])
    {'raw_fault': array([150.]), 'raw_time_constraint': array([9.])}
    """
    taken = set(criteria)
    return {
        f"raw_{name}_constraint" if name in taken else f"raw_{name}": np.asarray(
            column, dtype="float64"
        )
        for name, column in values.items()
    }


def rank(total_score: np.ndarray, excluded: np.ndarray, ids: np.ndarray) -> pd.Series:
    """1 = best non-excluded total; ties broken by id; ``<NA>`` for excluded.

    >>> rank(np.array([0.5, 0.9, 0.9, 0.1]), np.array([False, False, False, True]),
    ...      np.array(["a", "c", "b", "d"])).tolist()
    [3, 2, 1, <NA>]
    """
    key = -np.nan_to_num(total_score, nan=-np.inf)
    in_id_order = _ascending(ids)  # the pipeline's candidates are: a stable sort keeps ties so
    order = np.argsort(key, kind="stable") if in_id_order else np.lexsort((ids, key))
    order = order[~excluded[order]]
    ranks = pd.Series(pd.NA, index=range(len(total_score)), dtype="Int64")
    ranks.iloc[order] = np.arange(1, len(order) + 1)
    return ranks


def _ascending(ids: np.ndarray) -> bool:
    """Whether ``ids`` are in increasing order (then a stable sort breaks ties by id)."""
    ids = np.asarray(ids)
    try:
        return bool((ids[:-1] <= ids[1:]).all())
    except TypeError:  # ids that do not compare (mixed types): lexsort decides
        return False
