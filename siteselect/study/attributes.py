"""The parcels' own columns: the ``where:`` condition, the attributes carried, the site names.

* ``candidates.where: "land_use in ('VACANT', 'AGRICULTURAL') and assessed_usd /
  acres < 2000000"`` keeps the parcels where the condition holds
  (:mod:`siteselect.config.expressions`; a ``{column: value}`` mapping works
  as for any layer).
* Every column of the parcel file is kept on the candidates as
  ``attr_<column>`` (:data:`ATTRIBUTE_PREFIX`: never colliding with
  siteselect's own columns), so the ``attribute`` kind can score any of them;
  ``candidates.attributes`` (``all``, the default; ``none``; or a list) chooses
  which go to the output files. The ``id`` column is not repeated: it is
  ``candidate_id``.
* ``candidates.name_column`` fills ``site_name`` ("" where the parcel has none,
  and for grid cells), which the map, the report, the CSV and the console use.
"""

from __future__ import annotations

import difflib
import logging
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from siteselect._errors import LayerError
from siteselect.config import CandidatesSpec
from siteselect.config.expressions import (
    DivisionByZeroError,
    ExpressionError,
    columns_of,
    condition,
)
from siteselect.study.hygiene import source_rows
from siteselect.study.layers import apply_where

logger = logging.getLogger(__name__)

ATTRIBUTE_PREFIX = "attr_"
"""Prefix of the parcel columns on the candidates and in the outputs."""


def source_name(spec: CandidatesSpec) -> str:
    """The parcel file's name for messages ("the grid" for generated candidates)."""
    return spec.source.name if spec.source is not None else "the grid"


def _geometry_name(frame: pd.DataFrame) -> str | None:
    return frame.geometry.name if isinstance(frame, gpd.GeoDataFrame) else None


def _columns(frame: pd.DataFrame) -> list[str]:
    return [str(c) for c in frame.columns if c != _geometry_name(frame)]


def filter_where(frame: pd.DataFrame, spec: CandidatesSpec) -> pd.DataFrame:
    """The parcels that pass ``candidates.where`` (a condition, or a column mapping).

    Raises
    ------
    LayerError
        A column the file lacks (naming the columns it has), a division by 0,
        or no parcel left (with what the condition's columns hold).
    """
    where = spec.where
    if where is None:
        return frame
    if not isinstance(where, str):
        return apply_where(frame, where, f"candidates: {source_name(spec)}")  # type: ignore[arg-type]
    try:
        keep = condition(where, pd.DataFrame(frame[_columns(frame)]))
    except DivisionByZeroError as exc:
        rows = source_rows(frame)[exc.rows]
        listed = ", ".join(map(str, rows[:5])) + (", ..." if len(rows) > 5 else "")
        raise LayerError(
            f"candidates.where: {source_name(spec)}: {exc.divisor} is 0 for {len(rows)} parcel(s) "
            f'(rows {listed}); guard the division, e.g. "acres > 0 and ..."'
        ) from None
    except ExpressionError as exc:
        raise LayerError(f"candidates.where: {source_name(spec)}: {exc}") from None
    kept = frame[keep]
    logger.info("candidates: 'where' kept %d of %d parcels", len(kept), len(frame))
    if len(kept) == 0:
        raise LayerError(
            f"candidates.where: no parcel of {source_name(spec)} satisfies {where!r} "
            f"({_values_present(frame, where)}); check the values' spelling and case"
        )
    return kept


def _values_present(frame: pd.DataFrame, where: str, most: int = 6) -> str:
    """What the condition's columns hold: their commonest values, or their range."""
    parts = []
    for column in sorted(columns_of(where)):
        values = frame[column]
        numbers = pd.to_numeric(values, errors="coerce")
        if numbers.notna().any() and numbers.notna().sum() >= values.notna().sum() * 0.9:
            parts.append(f"{column} {numbers.min():,.6g}..{numbers.max():,.6g}")
            continue
        common = values.dropna().astype(str).value_counts().index[:most].tolist()
        more = ", ..." if values.nunique() > most else ""
        parts.append(f"{column} has {', '.join(map(repr, common)) or 'no values'}{more}")
    return "; ".join(parts)


def check_columns(frame: gpd.GeoDataFrame, spec: CandidatesSpec) -> None:
    """``name_column`` and the listed ``attributes`` must be columns of the file."""
    columns = _columns(frame)
    wanted: list[tuple[str, str]] = []
    if spec.name_column is not None:
        wanted.append(("name_column", spec.name_column))
    if isinstance(spec.attributes, list):
        wanted += [("attributes", c) for c in spec.attributes]
    for key, column in wanted:
        if column not in columns:
            raise LayerError(
                f"candidates.{key}: column {column!r} not in {source_name(spec)} (columns: "
                f"{', '.join(columns[:30])}{', ...' if len(columns) > 30 else ''})"
            )


def keep_attributes(frame: gpd.GeoDataFrame, spec: CandidatesSpec) -> gpd.GeoDataFrame:
    """The parcel columns renamed ``attr_<column>`` and ``site_name`` added.

    Call before siteselect adds columns of its own.
    """
    check_columns(frame, spec)
    columns = _columns(frame)
    names = site_names(frame, spec)
    renamed = frame.rename(columns={c: f"{ATTRIBUTE_PREFIX}{c}" for c in columns})
    return renamed.assign(site_name=names)


def site_names(frame: pd.DataFrame, spec: CandidatesSpec) -> np.ndarray:
    """``name_column`` as text, stripped, "" where missing (all "" without a name column)."""
    if spec.name_column is None:
        return np.full(len(frame), "", dtype=object)
    names = frame[spec.name_column].astype("string").str.strip().fillna("")
    return names.to_numpy(dtype=object)


def output_attributes(candidates: pd.DataFrame, spec: CandidatesSpec) -> list[str]:
    """The ``attr_`` columns of ``candidates`` that go to the output files, in file order."""
    present = [c for c in candidates.columns if str(c).startswith(ATTRIBUTE_PREFIX)]
    if spec.attributes == "none":
        return []
    if spec.attributes == "all":
        skip = {f"{ATTRIBUTE_PREFIX}{spec.id}"} if spec.id is not None else set()
        return [c for c in present if c not in skip]
    wanted = [f"{ATTRIBUTE_PREFIX}{c}" for c in spec.attributes]
    return [c for c in wanted if c in present]


def attribute_column(candidates: pd.DataFrame, column: str) -> pd.Series:
    """A parcel column of the candidates (``column`` as named in the parcel file).

    Raises
    ------
    LayerError
        The candidates have no such column (or are grid cells), naming the
        columns they have.
    """
    name = f"{ATTRIBUTE_PREFIX}{column}"
    if name in candidates.columns:
        return candidates[name]
    have = [
        str(c)[len(ATTRIBUTE_PREFIX) :]
        for c in candidates.columns
        if str(c).startswith(ATTRIBUTE_PREFIX)
    ]
    if not have:
        raise LayerError(
            "the candidates have no columns of their own (a generated grid); "
            "score a parcel file's column"
        )
    close = difflib.get_close_matches(column, have, n=3)
    hint = f"; did you mean {', '.join(close)}?" if close else ""
    raise LayerError(
        f"the candidates have no column {column!r}{hint} (columns: "
        f"{', '.join(have[:30])}{', ...' if len(have) > 30 else ''})"
    )


def empty_attributes(n: int) -> dict[str, Any]:
    """The columns a generated candidate set has in place of the parcel attributes."""
    return {"site_name": np.full(n, "", dtype=object)}
