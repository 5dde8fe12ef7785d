"""Daily traffic volumes (AADT) of the road samples: counts from a layer, else defaults.

Volumes are two-way annual average daily traffic (AADT), what state DOTs
publish per count station or road section. A two-way street carries its AADT;
each carriageway of a divided road (a one-way edge) carries half of it.

With a count layer (points, e.g. Caltrans' AADT count stations, or lines,
e.g. HPMS sections, densified every 100 m), each count is joined to the
nearest road sample within ``max_snap_m`` and takes that sample's road label
(``I 15``); a count farther from every counted road is left out and listed.
Each sample then takes the volume of the nearest count on the same road
(same label) within ``max_gap_km``, so a count station stands for its stretch
of freeway, both carriageways; samples with no such count take their class's
default.

Default volumes per class (two-way AADT, vehicles/day) are urban
mid-range values, stated in the report as an assumption; override them with
``volumes_per_day:`` or give a count layer:

============  ========  =====================================================
class         AADT      where it comes from
============  ========  =====================================================
motorway      105,000   FHWA Highway Statistics chart TC-201C: about 13,100
                        vehicles per lane per day on urban Interstates
                        (2010-2013), times 8 lanes (4 per direction)
trunk         62,000    same chart: about 10,400 vehicles per lane on other
                        urban freeways and expressways, times 6 lanes
primary       15,000    FHWA Highway Functional Classification (2013),
                        typical urban "other principal arterial" AADT
                        (7,000-27,000), mid-range
secondary     8,000     same, urban minor arterial (3,000-14,000)
tertiary      3,500     same, urban major collector (1,100-6,300)
unclassified  400       same, urban local road (80-700)
residential   400       same, urban local road (80-700)
============  ========  =====================================================

Ramps (``motorway_link``, ``trunk_link``) and other classes have no default:
counting them needs a count layer or ``volumes_per_day``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from scipy.spatial import cKDTree

from siteselect._errors import CriterionError, LayerError
from siteselect.study.hygiene import source_rows
from siteselect.visibility.roads import RoadSamples

logger = logging.getLogger(__name__)

DEFAULT_AADT: dict[str, float] = {
    "motorway": 105_000.0,
    "trunk": 62_000.0,
    "primary": 15_000.0,
    "secondary": 8_000.0,
    "tertiary": 3_500.0,
    "unclassified": 400.0,
    "residential": 400.0,
}
"""Two-way AADT per OSM class when no count applies (see the module docstring)."""

DEFAULTS_SOURCE = (
    "FHWA Highway Statistics chart TC-201C (vehicles per lane on urban Interstates and "
    "freeways, x 8 and 6 lanes) and FHWA Highway Functional Classification (2013) typical "
    "urban AADT ranges, mid-range"
)
LINE_STEP_M = 100.0
"""Spacing of the points a count line is read as."""


@dataclass
class Volumes:
    """Two-way AADT per sample and where it came from.

    Attributes
    ----------
    aadt : numpy.ndarray
        Vehicles per day, both directions, of the sample's road.
    counted : numpy.ndarray of bool
        The volume comes from a count (else from the class default).
    record : dict
        JSON-ready account for ``study.diagnostics["visibility"]["volumes"]``.
    """

    aadt: np.ndarray
    counted: np.ndarray
    record: dict[str, Any] = field(default_factory=dict)

    def select(self, keep: np.ndarray) -> Volumes:
        """The volumes of the samples ``keep`` selects (the record is the whole set's)."""
        return Volumes(self.aadt[keep], self.counted[keep], self.record)


def class_defaults(overrides: dict[str, float]) -> dict[str, float]:
    """The default AADT per class with the config's ``volumes_per_day`` applied."""
    return {**DEFAULT_AADT, **overrides}


def check_defaults(classes: tuple[str, ...], defaults: dict[str, float]) -> None:
    """Raise when a counted class has no default volume."""
    missing = [c for c in classes if c not in defaults]
    if missing:
        raise CriterionError(
            f"roads: no default daily volume for {', '.join(missing)}; give one under "
            f"volumes_per_day (e.g. {{{missing[0]}: 10000}}) or leave the class out"
        )


def _count_points(
    layer: gpd.GeoDataFrame, column: str, name: str, file_name: str
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, int]:
    """x, y, AADT and source row of every count point; lines become points every 100 m."""
    if column not in layer.columns:
        columns = ", ".join(str(c) for c in layer.columns if c not in ("geometry", "feature_name"))
        raise LayerError(
            f"layers.{name}: {file_name}: no column {column!r} for the daily volumes "
            f"(columns: {columns}); set volume_column"
        )
    raw = layer[column]
    values = pd.to_numeric(raw, errors="coerce").to_numpy(dtype=float)
    rows = source_rows(layer)
    text = raw.notna() & raw.astype(str).str.strip().ne("") & np.isnan(values)
    if text.any():
        first = int(np.flatnonzero(text.to_numpy())[0])
        raise LayerError(
            f"layers.{name}: {file_name}: {column} is not a number on row {rows[first]} "
            f"({raw.iloc[first]!r}; {int(text.sum())} such row(s)); give vehicles per day"
        )
    negative = values < 0
    if negative.any():
        first = int(np.flatnonzero(negative)[0])
        raise LayerError(
            f"layers.{name}: {file_name}: {column} is negative on row {rows[first]} "
            f"({values[first]:g}); give vehicles per day (>= 0)"
        )
    blank = np.isnan(values)
    geoms = layer.geometry.to_numpy()
    kind = shapely.get_type_id(geoms)
    polygonal = np.isin(kind, (3, 6))
    if polygonal.any():
        first = int(np.flatnonzero(polygonal)[0])
        raise LayerError(
            f"layers.{name}: {file_name}: row {rows[first]} is a polygon; traffic counts "
            "are points (count stations) or lines (road sections)"
        )
    keep = ~blank
    dense = shapely.segmentize(geoms[keep], LINE_STEP_M)
    xy, owner = shapely.get_coordinates(dense, return_index=True)
    kept = np.flatnonzero(keep)[owner]
    return xy[:, 0], xy[:, 1], values[kept], rows[kept], int(blank.sum())


def sample_volumes(
    samples: RoadSamples,
    defaults: dict[str, float],
    counts: gpd.GeoDataFrame | None = None,
    *,
    column: str = "AADT",
    name: str = "traffic",
    file_name: str = "",
    max_snap_m: float = 100.0,
    max_gap_m: float = 10_000.0,
) -> Volumes:
    """Two-way AADT of every sample, from the nearest count on its road or its class default.

    Parameters
    ----------
    samples : RoadSamples
        The counted roads' samples.
    defaults : dict
        AADT per class (:func:`class_defaults`); every counted class must have one.
    counts : geopandas.GeoDataFrame, optional
        Count points or lines in the working CRS, with ``column``.
    column, name, file_name : str
        The volume column, the layer's config name and file (for messages).
    max_snap_m : float
        A count farther than this from every counted road is left out.
    max_gap_m : float
        A count stands for its road up to this far.
    """
    aadt = np.array([defaults[h] for h in samples.highway], dtype=float)
    counted = np.zeros(len(samples), dtype=bool)
    record: dict[str, Any] = {
        "defaults_per_day": {c: defaults[c] for c in sorted(set(samples.highway))},
        "defaults_source": DEFAULTS_SOURCE,
    }
    if counts is not None and len(samples):
        x, y, values, rows, blank = _count_points(counts, column, name, file_name)
        tree = cKDTree(np.column_stack([samples.x, samples.y]))
        distance, nearest = tree.query(np.column_stack([x, y])) if len(x) else ([], [])
        distance = np.asarray(distance, dtype=float)
        nearest = np.asarray(nearest, dtype=np.int64)
        near = distance <= max_snap_m
        far_rows = sorted(set(rows[~near].tolist()))
        road = samples.road[nearest[near]]
        for label in np.unique(road):
            mine = samples.road == label
            stations = near.nonzero()[0][road == label]
            gap, which = cKDTree(np.column_stack([x[stations], y[stations]])).query(
                np.column_stack([samples.x[mine], samples.y[mine]])
            )
            use = gap <= max_gap_m
            index = np.flatnonzero(mine)[use]
            aadt[index] = values[stations[which[use]]]
            counted[index] = True
        record.update(
            layer=name,
            column=column,
            counts_read=len(set(rows.tolist())),
            counts_without_value=blank,
            counts_joined=len(set(rows[near].tolist())),
            counts_left_out=len(far_rows),
            counts_left_out_rows=far_rows[:20],
            max_snap_m=max_snap_m,
            max_gap_km=max_gap_m / 1000.0,
        )
        if far_rows:
            logger.warning(
                "layers.%s: %d count(s) farther than %g m from every counted road left out "
                "(rows %s)",
                name,
                len(far_rows),
                max_snap_m,
                ", ".join(map(str, far_rows[:5])) + (", ..." if len(far_rows) > 5 else ""),
            )
    km = samples.length_m / 1000.0
    record["road_km_counted"] = round(float(km[counted].sum()), 2)
    record["road_km_default"] = {
        c: round(float(km[(samples.highway == c) & ~counted].sum()), 2)
        for c in sorted(set(samples.highway[~counted]))
    }
    return Volumes(aadt=aadt, counted=counted, record=record)
