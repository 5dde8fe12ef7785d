"""Exclusion reasons built vectorised: the same text as formatting one candidate at a time."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from siteselect.criteria.base import Measurement
from siteselect.decision.scoring import (
    constraint_reasons,
    fill_template,
    format_value,
    format_values,
    missing_value_reasons,
)


def naive_reasons(name: str, m: Measurement, lower: float | None, upper: float | None):
    """The per-candidate loop siteselect used before (the reference)."""
    values = m.values
    out = np.full(len(values), "", dtype=object)
    for i, value in enumerate(values):
        for failed, template, word, limit in (
            (lower is not None and value < lower, m.phrase_low, "minimum", lower),
            (upper is not None and value > upper, m.phrase_high, "maximum", upper),
        ):
            if not failed:
                continue
            feature = m.feature[i] if m.feature is not None else None
            phrase = template.format(
                value=format_value(value, m.unit),
                feature=str(feature) if feature else "the nearest feature",
                label=m.label,
            )
            if m.reasons is not None and m.reasons[i]:
                phrase = str(m.reasons[i])
            out[i] = f"{name}: {phrase} ({word} {format_value(float(limit), m.unit)})"
    missing = np.isnan(values)
    out[missing] = missing_value_reasons(name, m)[missing]
    if m.exclusions is not None:
        for i in np.flatnonzero(m.exclusions != ""):
            own = f"{name}: {m.exclusions[i]}"
            out[i] = f"{own}; {out[i]}" if out[i] else own
    return out


@settings(max_examples=60)
@given(
    seed=st.integers(0, 2**32 - 1),
    unit=st.sampled_from(["m", "min", "%", "g", "", "people"]),
    lower=st.one_of(st.none(), st.floats(-1e6, 1e6)),
    upper=st.one_of(st.none(), st.floats(-1e6, 1e6)),
    with_feature=st.booleans(),
    with_reasons=st.booleans(),
    with_exclusions=st.booleans(),
)
def test_constraint_reasons_equal_the_per_candidate_loop(
    seed, unit, lower, upper, with_feature, with_reasons, with_exclusions
) -> None:
    rng = np.random.default_rng(seed)
    n = 300
    values = rng.normal(0, 1, n) * 10.0 ** rng.integers(-4, 7, n)
    values[rng.random(n) < 0.1] = np.nan
    values[:5] = np.nan if lower is None else lower  # on the bounds: not failures
    values[5:10] = np.nan if upper is None else upper
    values[10:15] = -0.0
    pick = rng.integers(0, 4, n)
    names = np.array(["Rose Canyon", "", "Elsinore {x}", "Ω fault"], dtype=object)
    m = Measurement(
        values=values,
        unit=unit,
        label="Distance to fault",
        feature=names[pick] if with_feature else None,
        phrase_low="within {value} of {feature}",
        phrase_high="{label} is {value} ({feature})",
        missing_reason="off the map",
        reasons=np.where(rng.random(n) < 0.2, "touches Rose Canyon", "") if with_reasons else None,
        exclusions=np.where(rng.random(n) < 0.2, "inside APZ I", "").astype(object)
        if with_exclusions
        else None,
    )
    got = constraint_reasons("setback", m, lower, upper)
    assert got.tolist() == naive_reasons("setback", m, lower, upper).tolist()


@pytest.mark.parametrize("unit", ["m", "%", "", "g"])
def test_format_values_equals_format_value(unit: str) -> None:
    rng = np.random.default_rng(7)
    values = np.concatenate(
        [
            rng.normal(0, 1, 5000) * 10.0 ** rng.integers(-9, 16, 5000),
            [0.0, -0.0, 99.95, 99.94999, 100.0, 999.5, 1000.5, -1234.5, np.inf, -np.inf, np.nan],
        ]
    )
    assert format_values(values, unit).tolist() == [format_value(v, unit) for v in values]


def test_fill_template_with_format_spec_and_conversion() -> None:
    value = np.array(["a", "bb"], dtype=object)
    assert fill_template("[{value:>3}] {label!r}", value=value, label="L").tolist() == [
        "[  a] 'L'",
        "[ bb] 'L'",
    ]
