"""Existing facilities (competing hospitals): filters, bed imputation, the owner's own.

The model is the HIFLD "Hospitals" layer: ``NAME``, ``TYPE`` (``GENERAL ACUTE
CARE``, ``PSYCHIATRIC``, ``MILITARY``...), ``STATUS`` (``OPEN``/``CLOSED``),
``BEDS`` with -999 for unknown, ``OWNER``. Column names are configurable.

* ``where`` / ``exclude``: keep (drop) facilities whose column equals one of
  the values, case-insensitively and ignoring surrounding spaces (the layer's
  own ``where:`` is exact); ``min_beds`` drops small ones (after imputation).
* Unknown beds (null, negative such as HIFLD's -999, or 0) are imputed with
  the median of the known beds of the same ``type_column`` value, else of all
  facilities; the log lists the counts per type. An ``imputed_beds`` column
  says which.
* ``owner``: the facilities of the health system that builds the new site
  (``{column: NAME, contains: KAISER}`` or ``{column: NAME, equals: [...]}``).
  They stay facilities (patients still choose them) and the criteria report
  the patients a new site would take from them as cannibalisation.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from siteselect._errors import CriterionError

if TYPE_CHECKING:
    from siteselect.study import Study

logger = logging.getLogger(__name__)

Scalar = str | int | float | bool
ValueFilter = dict[str, Scalar | list[Scalar]]


def _as_list(value: object) -> object:
    return [value] if isinstance(value, str) else value


class OwnerSpec(BaseModel):
    """Which facilities belong to the owner of the new site (exactly one of equals/contains)."""

    model_config = ConfigDict(extra="forbid")

    column: str = Field(default="NAME", description="Column to match, e.g. NAME or OWNER.")
    equals: list[str] | None = Field(default=None, description="Exact values (case-insensitive).")
    contains: list[str] | None = Field(
        default=None, description="Substrings (case-insensitive), e.g. KAISER."
    )

    _listify = field_validator("equals", "contains", mode="before")(_as_list)

    @model_validator(mode="after")
    def _one_rule(self) -> OwnerSpec:
        if (self.equals is None) == (self.contains is None):
            raise ValueError("set exactly one of 'equals' or 'contains'")
        return self

    def matches(self, values: pd.Series) -> np.ndarray:
        """Boolean mask of the owner's facilities."""
        text = values.astype("string").fillna("").str.strip().str.upper()
        if self.equals is not None:
            return text.isin([v.strip().upper() for v in self.equals]).to_numpy(dtype=bool)
        pattern = [v.strip().upper() for v in self.contains or []]
        mask = np.zeros(len(text), dtype=bool)
        for part in pattern:
            mask |= text.str.contains(part, regex=False).to_numpy(dtype=bool)
        return mask


class FacilitiesSpec(BaseModel):
    """A layer of existing facilities and how to read their capacity."""

    model_config = ConfigDict(extra="forbid")

    layer: str = Field(description="Name of the facility layer under 'layers:' (hospitals).")
    where: ValueFilter | None = Field(
        default=None,
        description="Keep facilities whose column equals a value (case-insensitive), "
        "e.g. {TYPE: GENERAL ACUTE CARE, STATUS: OPEN}.",
    )
    exclude: ValueFilter | None = Field(
        default=None, description="Drop facilities whose column equals a value (case-insensitive)."
    )
    beds_column: str = Field(default="BEDS", description="Capacity column (beds).")
    type_column: str | None = Field(
        default="TYPE",
        description="Imputation groups: unknown beds get this type's median (the default "
        "TYPE is skipped when the layer has no such column; null: one group).",
    )
    min_beds: float | None = Field(
        default=None, ge=0, description="Drop facilities with fewer beds (after imputation)."
    )
    owner: OwnerSpec | None = Field(
        default=None, description="The owner's own facilities (reported as cannibalisation)."
    )


@dataclass(frozen=True)
class Facilities:
    """Facilities after filters and imputation, in the working CRS.

    Attributes
    ----------
    frame : geopandas.GeoDataFrame
        The kept rows with ``feature_name``, ``beds`` (imputed where unknown),
        ``imputed_beds`` and ``owner`` columns.
    x, y : numpy.ndarray
        A point of each facility (metres).
    beds : numpy.ndarray
        Beds (float64, > 0).
    owner : numpy.ndarray of bool
        The owner's facilities.
    """

    frame: gpd.GeoDataFrame
    x: np.ndarray
    y: np.ndarray
    beds: np.ndarray
    owner: np.ndarray

    def __len__(self) -> int:
        return len(self.x)

    def take(self, keep: np.ndarray) -> Facilities:
        """The facilities where ``keep`` (a boolean mask) is True."""
        keep = np.asarray(keep, dtype=bool)
        return Facilities(
            self.frame[keep], self.x[keep], self.y[keep], self.beds[keep], self.owner[keep]
        )


def value_mask(frame: pd.DataFrame, rules: ValueFilter | None, what: str) -> np.ndarray:
    """Rows where every column equals one of its values (case-insensitive text)."""
    mask = np.ones(len(frame), dtype=bool)
    for column, wanted in (rules or {}).items():
        if column not in frame.columns:
            raise CriterionError(
                f"{what} names column {column!r}, which the layer does not have "
                f"(columns: {', '.join(map(str, frame.columns[:20]))})"
            )
        values = wanted if isinstance(wanted, list) else [wanted]
        keys = {str(v).strip().upper() for v in values}
        text = frame[column].astype("string").fillna("").str.strip().str.upper()
        mask &= text.isin(keys).to_numpy(dtype=bool)
    return mask


def impute_beds(
    beds: np.ndarray, types: np.ndarray | None, what: str = "facilities"
) -> tuple[np.ndarray, np.ndarray]:
    """Replace unknown beds (NaN, negative such as -999, or 0) by the median of the same type.

    Parameters
    ----------
    beds : numpy.ndarray
        Beds as read (float).
    types : numpy.ndarray or None
        Type of each facility; None = one group.
    what : str
        Name for the log.

    Returns
    -------
    (beds, imputed)
        Beds with every unknown filled, and the mask of the filled ones.

    Raises
    ------
    CriterionError
        No facility has a known bed count.
    """
    beds = np.asarray(beds, dtype="float64")
    unknown = ~np.isfinite(beds) | (beds <= 0)
    if not unknown.any():
        return beds, unknown
    if unknown.all():
        raise CriterionError(f"{what}: no facility has a known bed count; cannot impute")
    groups = np.full(len(beds), "", dtype=object) if types is None else np.asarray(types, object)
    overall = float(np.median(beds[~unknown]))
    out = beds.copy()
    for group in pd.unique(groups[unknown]):
        in_group = groups == group
        known = beds[in_group & ~unknown]
        median = float(np.median(known)) if known.size else overall
        out[in_group & unknown] = median
        logger.info(
            "%s: %d facilit%s of type %r with unknown beds get %g (%s median of %d)",
            what,
            int((in_group & unknown).sum()),
            "y" if (in_group & unknown).sum() == 1 else "ies",
            group,
            median,
            "the type's" if known.size else "no known bed count of this type; the overall",
            known.size if known.size else int((~unknown).sum()),
        )
    logger.warning(
        "%s: imputed unknown beds for %d of %d facilities", what, unknown.sum(), len(out)
    )
    return out, unknown


def _numeric(frame: pd.DataFrame, column: str, what: str) -> np.ndarray:
    if column not in frame.columns:
        raise CriterionError(
            f"{what}: no column {column!r} (columns: {', '.join(map(str, frame.columns[:20]))})"
        )
    return pd.to_numeric(frame[column], errors="coerce").to_numpy(dtype="float64")


def select_facilities(layer: gpd.GeoDataFrame, spec: FacilitiesSpec, what: str) -> Facilities:
    """Filter a facility layer, impute unknown beds and mark the owner's facilities.

    Parameters
    ----------
    layer : geopandas.GeoDataFrame
        The layer in the working CRS, with ``feature_name``.
    spec : FacilitiesSpec
        Filters and columns.
    what : str
        Config location for messages (``criteria.competition``).
    """
    keep = value_mask(layer, spec.where, f"{what}: where")
    if spec.exclude:
        keep &= ~value_mask(layer, spec.exclude, f"{what}: exclude")
    frame = layer[keep]
    if len(frame) < len(layer):
        logger.info("%s: %d of %d facilities kept by the filters", what, len(frame), len(layer))
    if len(frame) == 0:
        raise CriterionError(f"{what}: no facility of layer {spec.layer!r} passes the filters")
    raw = _numeric(frame, spec.beds_column, f"{what}: beds_column")
    types = None
    if spec.type_column is not None and spec.type_column not in frame.columns:
        if "type_column" in spec.model_fields_set:
            columns = ", ".join(map(str, [c for c in frame.columns if c != "geometry"][:20]))
            raise CriterionError(
                f"{what}: type_column {spec.type_column!r} is not a column of layer "
                f"{spec.layer!r} (columns: {columns}); name one or set type_column: null"
            )
        logger.info(
            "%s: layer %r has no %s column: unknown beds take the median of all facilities",
            what,
            spec.layer,
            spec.type_column,
        )
    elif spec.type_column is not None:
        types = frame[spec.type_column].astype("string").fillna("").to_numpy(dtype=object)
    beds, imputed = impute_beds(raw, types, f"{what}, layer {spec.layer}")
    owner = (
        spec.owner.matches(_column(frame, spec.owner.column, f"{what}: owner"))
        if spec.owner
        else np.zeros(len(frame), dtype=bool)
    )
    if spec.owner is not None:
        logger.info(
            "%s: %d owner facilit%s: %s",
            what,
            owner.sum(),
            "y" if owner.sum() == 1 else "ies",
            ", ".join(frame["feature_name"].to_numpy()[owner][:10]) or "none",
        )
    frame = frame.assign(beds=beds, imputed_beds=imputed, owner=owner)
    if spec.min_beds is not None:
        frame = frame[frame["beds"] >= spec.min_beds]
        if len(frame) == 0:
            raise CriterionError(f"{what}: no facility has at least {spec.min_beds:g} beds")
    points = shapely.point_on_surface(frame.geometry.to_numpy())
    return Facilities(
        frame=frame,
        x=shapely.get_x(points),
        y=shapely.get_y(points),
        beds=frame["beds"].to_numpy(dtype="float64"),
        owner=frame["owner"].to_numpy(dtype=bool),
    )


def _column(frame: pd.DataFrame, column: str, what: str) -> pd.Series:
    if column not in frame.columns:
        raise CriterionError(f"{what}: no column {column!r} in the facility layer")
    return frame[column]


def load_facilities(spec: FacilitiesSpec, study: Study, what: str) -> Facilities:
    """:func:`select_facilities` on the study's layer ``spec.layer``."""
    return select_facilities(study.vector(spec.layer), spec, what)
