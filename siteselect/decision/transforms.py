"""Value functions: map a criterion's raw values to scores in [0, 1] (1 = best).

Each transform is a small pydantic model (the YAML ``transform:`` block) with an
``apply`` method that is vectorised over a numpy array and a ``describe`` method
for reports. NaN in gives NaN out: the scoring step decides what a missing
value means, never the transform. Parameters must be finite (``.inf`` is a
config error) and no value, however large, makes a transform overflow.

>>> import numpy as np
>>> Linear(fn="linear", best=2, worst=15).apply(np.array([0.0, 2.0, 8.5, 15.0, 30.0]))
array([1. , 1. , 0.5, 0. , 0. ])
>>> float(Gaussian(fn="gaussian", ideal=10, sd=5).apply(np.array([10.0]))[0])
1.0
>>> Step(fn="step", breaks=[5, 10], scores=[1.0, 0.5, 0.0]).apply(np.array([5.0, 7.0, 11.0]))
array([1. , 0.5, 0. ])
>>> zoning = Categories(fn="categories", scores={"CC-3-5": 1.0, "IL-2-1": 0.6}, default=0)
>>> zoning.score_categories(np.array(["IL-2-1", "RS-1-7", None], dtype=object))
array([0.6, 0. , nan])
"""

from __future__ import annotations

import math
from typing import Annotated, Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, model_validator


class _Transform(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    def apply(self, values: np.ndarray) -> np.ndarray:  # pragma: no cover - abstract
        """Return scores in [0, 1] for ``values`` (NaN stays NaN)."""
        raise NotImplementedError

    def describe(self, unit: str = "") -> str:  # pragma: no cover - abstract
        """Return a one-line human description, e.g. ``linear: 2 min -> 1, 15 min -> 0``."""
        raise NotImplementedError

    def needs_data_range(self) -> bool:
        """Whether the transform is relative to the candidate set (min-max)."""
        return False


def _ramp(values: np.ndarray, zero_at: float, one_at: float) -> np.ndarray:
    """``(values - zero_at) / (one_at - zero_at)``, without overflow for huge bounds.

    When ``one_at - zero_at`` overflows (bounds near +-1.8e308), everything is
    first divided by the larger bound's magnitude; otherwise the plain formula
    (exact at the bounds) is used. An overflowing ``values - zero_at`` gives
    +-inf, which the callers clip or which is the right side of the ramp.
    """
    span = one_at - zero_at
    with np.errstate(over="ignore", invalid="ignore"):
        if math.isfinite(span):
            return (values - zero_at) / span
        scale = max(abs(zero_at), abs(one_at))
        return (values / scale - zero_at / scale) / (one_at / scale - zero_at / scale)


def _fmt(value: float, unit: str) -> str:
    text = f"{value:g}"
    return f"{text} {unit}".strip()


class Linear(_Transform):
    """Linear ramp from ``worst`` (score 0) to ``best`` (score 1), clipped.

    ``best`` may be below ``worst`` (lower is better, e.g. drive minutes) or above
    it (higher is better, e.g. metres from the border).
    """

    fn: Literal["linear"]
    best: float = Field(description="Raw value that scores 1 (and anything beyond it).")
    worst: float = Field(description="Raw value that scores 0 (and anything beyond it).")

    @model_validator(mode="after")
    def _distinct(self) -> Linear:
        if self.best == self.worst:
            raise ValueError("best and worst must differ")
        return self

    def apply(self, values: np.ndarray) -> np.ndarray:
        values = np.asarray(values, dtype="float64")
        # "+ 0.0" turns -0.0 into 0.0 so outputs print cleanly
        return np.clip(_ramp(values, self.worst, self.best), 0.0, 1.0) + 0.0

    def describe(self, unit: str = "") -> str:
        return f"linear: {_fmt(self.best, unit)} -> 1, {_fmt(self.worst, unit)} -> 0"


class Logistic(_Transform):
    """S-curve: 0.5 at ``midpoint``; ``scale`` (raw units) sets the steepness.

    ``better: lower`` mirrors the curve so that small values score high.
    """

    fn: Literal["logistic"]
    midpoint: float = Field(description="Raw value that scores 0.5.")
    scale: float = Field(gt=0, description="Raw distance from the midpoint to a score of ~0.73.")
    better: Literal["higher", "lower"] = "higher"

    def apply(self, values: np.ndarray) -> np.ndarray:
        values = np.asarray(values, dtype="float64")
        sign = 1.0 if self.better == "higher" else -1.0
        with np.errstate(over="ignore"):
            z = np.clip(sign * (values - self.midpoint) / self.scale, -700, 700)
        return 1.0 / (1.0 + np.exp(-z))

    def describe(self, unit: str = "") -> str:
        return (
            f"logistic: 0.5 at {_fmt(self.midpoint, unit)}, scale {_fmt(self.scale, unit)}, "
            f"{self.better} is better"
        )


class Gaussian(_Transform):
    """Bell curve: 1 at ``ideal``, falling with standard deviation ``sd``."""

    fn: Literal["gaussian"]
    ideal: float = Field(description="Raw value that scores 1.")
    sd: float = Field(gt=0, description="Standard deviation in raw units.")

    def apply(self, values: np.ndarray) -> np.ndarray:
        values = np.asarray(values, dtype="float64")
        with np.errstate(over="ignore"):
            return np.exp(-0.5 * ((values - self.ideal) / self.sd) ** 2)

    def describe(self, unit: str = "") -> str:
        return f"gaussian: 1 at {_fmt(self.ideal, unit)}, sd {_fmt(self.sd, unit)}"


class Step(_Transform):
    """Piecewise constant: ``scores[i]`` for ``breaks[i-1] < x <= breaks[i]``.

    ``scores`` has one more entry than ``breaks``; the last applies above the
    last break.
    """

    fn: Literal["step"]
    breaks: list[float] = Field(min_length=1, description="Increasing upper bounds.")
    scores: list[Annotated[float, Field(ge=0, le=1)]] = Field(
        description="Score of each interval; len(breaks) + 1 entries."
    )

    @model_validator(mode="after")
    def _shape(self) -> Step:
        if any(b >= a for a, b in zip(self.breaks[1:], self.breaks[:-1], strict=False)):
            raise ValueError("breaks must be strictly increasing")
        if len(self.scores) != len(self.breaks) + 1:
            raise ValueError(
                f"scores needs {len(self.breaks) + 1} entries (one more than breaks), "
                f"got {len(self.scores)}"
            )
        return self

    def apply(self, values: np.ndarray) -> np.ndarray:
        values = np.asarray(values, dtype="float64")
        index = np.searchsorted(np.asarray(self.breaks), values, side="left")
        out = np.asarray(self.scores, dtype="float64")[index]
        out[np.isnan(values)] = np.nan
        return out

    def describe(self, unit: str = "") -> str:
        parts = [
            f"<= {_fmt(b, unit)}: {s:g}" for b, s in zip(self.breaks, self.scores, strict=False)
        ]
        parts.append(f"above: {self.scores[-1]:g}")
        return "step: " + ", ".join(parts)


class MinMax(_Transform):
    """Linear over the candidates' own range (relative scoring).

    The best candidate scores 1 and the worst 0; scores change when the
    candidate set changes, which the report says.
    """

    fn: Literal["minmax"]
    better: Literal["higher", "lower"]

    def needs_data_range(self) -> bool:
        return True

    def apply(self, values: np.ndarray) -> np.ndarray:
        values = np.asarray(values, dtype="float64")
        finite = values[np.isfinite(values)]
        if finite.size == 0:
            return np.full_like(values, np.nan)
        lo, hi = float(finite.min()), float(finite.max())
        if math.isclose(lo, hi):
            out = np.ones_like(values)
            out[np.isnan(values)] = np.nan
            return out
        scaled = _ramp(values, lo, hi)
        return scaled if self.better == "higher" else 1.0 - scaled

    def describe(self, unit: str = "") -> str:
        return f"min-max over candidates, {self.better} is better"


def category_text(value: object) -> str:
    """A category as text: a whole number by its digits (``100.0`` -> ``"100"``), text stripped.

    >>> category_text(100.0), category_text(" CC-3-5 "), category_text(2.5)
    ('100', 'CC-3-5', '2.5')
    """
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int | float | np.integer | np.floating):
        number = float(value)
        if math.isfinite(number) and number == round(number) and abs(number) < 2**53:
            return str(int(number))
        return repr(number)
    return str(value).strip()


class UnknownCategoriesError(ValueError):
    """Categories found that ``scores`` does not list, and no ``default``.

    Attributes
    ----------
    unknown : dict
        ``{category: number of candidates}``, commonest first.
    """

    def __init__(self, unknown: dict[str, int], known: list[str]) -> None:
        shown = ", ".join(f"{k!r} ({n})" for k, n in list(unknown.items())[:10])
        more = f" and {len(unknown) - 10} more" if len(unknown) > 10 else ""
        super().__init__(
            f"{len(unknown)} categor{'y' if len(unknown) == 1 else 'ies'} not in scores: "
            f"{shown}{more} (scores lists {', '.join(map(repr, known[:10]))}"
            f"{', ...' if len(known) > 10 else ''}); add them to scores or set a default "
            "(e.g. default: 0)"
        )
        self.unknown = unknown


class Categories(_Transform):
    """A score per category: ``scores: {CC-3-5: 1.0, IL-2-1: 0.6}``, ``default`` for the rest.

    Categories are text (a zoning code, a land use; numbers are matched by their
    digits, ``100`` = ``100.0``), so the ``attribute`` kind looks each candidate's
    category up when it measures (:meth:`score_categories`) and its raw value is
    that score (the category itself goes to the outputs beside it); :meth:`apply`
    then passes the scores through. A category not in ``scores`` scores
    ``default``; without a default it is an error naming the unknown categories
    and how many candidates have each. Only the ``attribute`` kind accepts it.
    """

    fn: Literal["categories"]
    scores: dict[str, Annotated[float, Field(ge=0, le=1)]] = Field(
        min_length=1, description="Score (0..1) of each category."
    )
    default: Annotated[float, Field(ge=0, le=1)] | None = Field(
        default=None, description="Score of the categories not listed; none: they are an error."
    )

    @model_validator(mode="before")
    @classmethod
    def _text_keys(cls, data: object) -> object:
        """YAML reads ``100: 1.0`` with a number key: categories are matched as text."""
        if isinstance(data, dict) and isinstance(data.get("scores"), dict):
            scores = {category_text(k): v for k, v in data["scores"].items()}
            return {**data, "scores": scores}
        return data

    def score_categories(self, categories: np.ndarray) -> np.ndarray:
        """The score of each category (text, or None/"" for a missing one: NaN).

        Raises
        ------
        UnknownCategoriesError
            Categories not in ``scores`` when there is no ``default``.
        """
        codes, uniques = pd.factorize(pd.Series(np.asarray(categories, dtype=object)))
        texts = [category_text(v) for v in uniques]  # each distinct category once
        known = np.array([t in self.scores or t == "" for t in texts], dtype=bool)
        if not known.all() and self.default is None:
            counts = np.bincount(codes[codes >= 0], minlength=len(texts))
            unknown = sorted(
                ((texts[i], int(counts[i])) for i in np.flatnonzero(~known)),
                key=lambda item: (-item[1], item[0]),
            )
            raise UnknownCategoriesError(dict(unknown), list(self.scores))
        default = np.nan if self.default is None else self.default
        table = np.array(
            [np.nan if t == "" else self.scores.get(t, default) for t in texts], dtype="float64"
        )
        out = np.full(len(codes), np.nan)
        out[codes >= 0] = table[codes[codes >= 0]]
        return out

    def apply(self, values: np.ndarray) -> np.ndarray:
        values = np.asarray(values, dtype="float64")
        return np.clip(values, 0.0, 1.0)

    def describe(self, unit: str = "") -> str:
        parts = [f"{k} -> {v:g}" for k, v in self.scores.items()]
        if self.default is not None:
            parts.append(f"other -> {self.default:g}")
        return "categories: " + ", ".join(parts)


Transform = Annotated[
    Linear | Logistic | Gaussian | Step | MinMax | Categories,
    Field(discriminator="fn"),
]
"""Any transform; the YAML ``fn`` key selects the model."""
