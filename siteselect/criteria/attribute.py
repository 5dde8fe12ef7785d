"""``attribute``: a candidate's own column (zoning, land use, assessed value...).

The column is one of the parcel file's (``column: zoning``, as named in the
file; it travels on the candidates as ``attr_zoning``, see
:mod:`siteselect.study.attributes`).

* **Numeric** (``column: assessed_usd``): the raw value is the number, scored by
  any transform (``linear``, ``step``...); as a constraint, ``min`` and
  ``max``. Text that is not a number is an error naming it (a categorical
  column needs ``categories``); an empty cell is a missing value (the
  candidate is excluded with ``no assessed_usd value``).
* **Categorical** (``transform: {fn: categories, scores: {CC-3-5: 1.0, IL-2-1:
  0.6}, default: 0}``): the raw value is the category's score
  (:class:`siteselect.decision.transforms.Categories`) and the category itself
  goes to the outputs as ``<entry>_category``. As a constraint, ``allowed:
  [CC-3-5, IL-2-1]`` excludes every other category, with the category in the
  reason. Categories are compared as text (a number by its digits).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar, Literal

import numpy as np
import pandas as pd
from pydantic import Field

from siteselect._errors import CriterionError, LayerError
from siteselect.config.categories import Categories, UnknownCategoriesError, category_text
from siteselect.criteria.base import KindSpec, Measurement, register
from siteselect.study.attributes import attribute_column

if TYPE_CHECKING:
    from siteselect.study import Study


class AttributeSpec(KindSpec):
    """A column of the candidates' own file, numeric or categorical."""

    kind: Literal["attribute"]
    column: str = Field(description="Column of the parcel file (as named in the file).")
    unit: str = Field(default="", description="Unit of a numeric column (usd, acres...).")
    allowed: list[str | float] | None = Field(
        default=None,
        min_length=1,
        description="Constraint: the categories allowed (any other is excluded).",
    )
    min: float | None = Field(default=None, description="Constraint: smallest value allowed.")
    max: float | None = Field(default=None, description="Constraint: largest value allowed.")

    bound_fields: ClassVar[tuple[str, ...]] = ("min", "max")
    measured_fields: ClassVar[tuple[str, ...]] = ("transform",)
    """Fields of the measurement itself (a categorical transform scores when measuring)."""

    def bounds(self) -> tuple[float | None, float | None]:
        return (self.min, self.max)

    @property
    def excludes_by_itself(self) -> bool:
        """A constraint with ``allowed`` needs no ``min``/``max``."""
        return self.allowed is not None

    @property
    def categorical(self) -> bool:
        """Whether the column is read as categories (``categories`` or ``allowed``)."""
        return isinstance(self.transform, Categories) or self.allowed is not None


def _categories(series: pd.Series) -> np.ndarray:
    """Each value as category text; None where missing or blank (each distinct value once)."""
    codes, uniques = pd.factorize(series, use_na_sentinel=True)
    texts = np.array([category_text(v) for v in uniques], dtype=object)
    texts[texts == ""] = None
    out = np.full(len(series), None, dtype=object)
    present = codes >= 0
    out[present] = texts[codes[present]]
    return out


def _numbers(series: pd.Series, spec: AttributeSpec) -> np.ndarray:
    """The column as float64; text that is not a number is an error naming it."""
    values = pd.to_numeric(series, errors="coerce")
    blank = series.isna() | (series.astype("string").str.strip() == "")
    bad = values.isna() & ~blank
    if bad.any():
        counts = series[bad].astype(str).value_counts()
        shown = ", ".join(f"{k!r} ({n})" for k, n in list(counts.items())[:8])
        raise CriterionError(
            f"column {spec.column!r} is not numeric: {int(bad.sum())} value(s) are not "
            f"numbers ({shown}); score categories with transform: {{fn: categories, "
            f"scores: {{...}}, default: 0}}, or constrain them with allowed: [...]"
        )
    return values.to_numpy(dtype="float64", na_value=np.nan)


@register(AttributeSpec, partitioned=False)  # a column read: on the client, whole-column checks
def measure(spec: AttributeSpec, study: Study) -> Measurement:
    """The column's values (numbers), or its categories' scores (categorical)."""
    try:
        series = attribute_column(study.candidates, spec.column)
    except LayerError as exc:
        raise CriterionError(str(exc), field="column") from None
    label = spec.label or spec.column.replace("_", " ")
    missing = f"no {spec.column} value"
    if not spec.categorical:
        return Measurement(
            values=_numbers(series, spec),
            unit=spec.unit,
            label=label,
            missing_reason=missing,
            phrase_low="{label} is {value}",
            phrase_high="{label} is {value}",
        )
    categories = _categories(series)
    values = np.where(pd.isna(categories), np.nan, 0.0)
    if isinstance(spec.transform, Categories):
        try:
            values = spec.transform.score_categories(categories)
        except UnknownCategoriesError as exc:
            raise CriterionError(f"column {spec.column!r}: {exc}", field="transform") from None
    exclusions = None
    if spec.allowed is not None:
        allowed = {category_text(v) for v in spec.allowed}
        present = ~pd.isna(categories)
        refused = present & ~pd.Series(categories).isin(allowed).to_numpy()
        exclusions = np.full(len(categories), "", dtype=object)
        listed = ", ".join(sorted(allowed))
        exclusions[refused] = f"{label} is " + categories[refused] + f" (allowed: {listed})"
        label = f"{label} (allowed: {listed})"
    return Measurement(
        values=values,
        unit="score" if isinstance(spec.transform, Categories) else "",
        label=label,
        missing_reason=missing,
        extra_columns={"category": np.where(pd.isna(categories), "", categories).astype(object)},
        exclusions=exclusions,
    )
