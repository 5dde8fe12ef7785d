"""Where the planned building would penetrate an airspace surface, as polygons per parcel.

The ``airspace`` kind finds each parcel's worst point exactly; the buildable
area needs the *region* of the parcel where the planned height (building plus
helipad allowance) leaves less than ``min_margin_ft`` under the lowest surface.
That region is sampled: the allowable height (the lowest surface, from the same
vectorised evaluator :func:`siteselect.airspace.heights.evaluate`, minus the
ground from the same ground function as the constraint: the ground raster, else
the controlling airport's elevation) is evaluated at the centres of a square
grid of ``airspace_sample_m`` over the parcels the constraint fails, and each
failing cell (a square of that side, merged along rows) is removed. The
boundary of the region is therefore known to half a cell. Only the parcels the
constraint fails are sampled: the others have no such region.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import numpy as np
import shapely

from siteselect.airspace.heights import evaluate
from siteselect.airspace.polygons import zone_polygons
from siteselect.criteria.airspace import AirspaceSpec, _ground_function, airspace_model

if TYPE_CHECKING:
    from siteselect.study import Study

logger = logging.getLogger(__name__)

_MAX_POINTS = 4_000_000
"""Sample points evaluated per batch (memory: a few arrays of this length)."""


def grid_points(
    geoms: np.ndarray, spacing_m: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Cell centres of a ``spacing_m`` grid (aligned on multiples of it) near each geometry.

    Returns (x, y, owner, row) with the centres whose cell may overlap the
    geometry (within half a cell diagonal of it); ``row`` numbers the grid row.
    """
    bounds = shapely.bounds(geoms)
    c0 = np.floor(bounds[:, 0] / spacing_m).astype(np.int64)
    c1 = np.floor(bounds[:, 2] / spacing_m).astype(np.int64)
    r0 = np.floor(bounds[:, 1] / spacing_m).astype(np.int64)
    r1 = np.floor(bounds[:, 3] / spacing_m).astype(np.int64)
    ncols, nrows = c1 - c0 + 1, r1 - r0 + 1
    counts = ncols * nrows
    owner = np.repeat(np.arange(len(geoms)), counts)
    local = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
    col = c0[owner] + local % ncols[owner]
    row = r0[owner] + local // ncols[owner]
    x, y = (col + 0.5) * spacing_m, (row + 0.5) * spacing_m
    near = shapely.dwithin(geoms[owner], shapely.points(x, y), spacing_m * 0.7072)
    return x[near], y[near], owner[near], row[near]


def row_rectangles(
    x: np.ndarray, y: np.ndarray, owner: np.ndarray, row: np.ndarray, spacing_m: float
) -> tuple[np.ndarray, np.ndarray]:
    """Cells (centres ``x, y``) merged into one rectangle per run along a row; (rects, owner)."""
    if x.size == 0:
        return np.zeros(0, dtype=object), np.zeros(0, dtype=np.int64)
    order = np.lexsort((x, row, owner))
    x, y, owner, row = x[order], y[order], owner[order], row[order]
    new = np.r_[True, (owner[1:] != owner[:-1]) | (row[1:] != row[:-1])]
    new[1:] |= ~np.isclose(x[1:] - x[:-1], spacing_m)
    starts = np.flatnonzero(new)
    ends = np.r_[starts[1:], x.size] - 1
    half = spacing_m / 2.0
    rects = shapely.box(x[starts] - half, y[starts] - half, x[ends] + half, y[starts] + half)
    return rects, owner[starts]


def penetration_polygons(
    spec: AirspaceSpec, study: Study, failing: np.ndarray, spacing_m: float
) -> tuple[np.ndarray, np.ndarray]:
    """(polygons, candidate index) of where the planned height fails ``min_margin_ft``.

    ``failing`` indexes the candidates whose worst margin fails the constraint.
    """
    if failing.size == 0:
        return np.zeros(0, dtype=object), np.zeros(0, dtype=np.int64)
    model = airspace_model(spec, study)
    ground_of = _ground_function(spec, study)
    planned = spec.building_height_ft + spec.helipad_allowance_ft
    limit = spec.min_margin_ft if spec.min_margin_ft is not None else 0.0
    geoms = study.candidates.geometry.to_numpy()[failing]
    rects_all, owners_all = [], []
    per = max(1, len(geoms) // max(1, _batches(geoms, spacing_m)))
    for start in range(0, len(geoms), per):
        part = geoms[start : start + per]
        x, y, owner, row = grid_points(part, spacing_m)
        heights = evaluate(model, x, y)
        has = heights.code >= 0
        elevation = np.where(has, model.airport_elevation_ft[np.maximum(heights.code, 0)], np.nan)
        ground, _ = ground_of(x, y, elevation)
        margin = np.where(has, heights.height_ft - ground, np.inf) - planned
        bad = margin < limit
        rects, owners = row_rectangles(x[bad], y[bad], owner[bad], row[bad], spacing_m)
        rects_all.append(rects)
        owners_all.append(failing[start + owners])
    rects = np.concatenate(rects_all)
    owners = np.concatenate(owners_all)
    logger.info(
        "buildable: airspace height sampled every %g m over %d parcel(s): %d failing strip(s)",
        spacing_m,
        failing.size,
        rects.size,
    )
    return rects, owners


def _batches(geoms: np.ndarray, spacing_m: float) -> int:
    """Number of batches keeping the grid points per batch under :data:`_MAX_POINTS`."""
    bounds = shapely.bounds(geoms)
    cells = ((bounds[:, 2] - bounds[:, 0]) / spacing_m + 2) * (
        (bounds[:, 3] - bounds[:, 1]) / spacing_m + 2
    )
    return int(np.ceil(cells.sum() / _MAX_POINTS))


def aicuz_polygons(spec: AirspaceSpec, study: Study) -> tuple[np.ndarray, np.ndarray]:
    """(polygons, names) of the AICUZ clear zones and APZs of the constraint's runways."""
    if not spec.exclude_aicuz:
        return np.zeros(0, dtype=object), np.zeros(0, dtype=object)
    model = airspace_model(spec, study)
    if not model.zones:
        return np.zeros(0, dtype=object), np.zeros(0, dtype=object)
    zones = zone_polygons(model, study.crs)
    return zones.geometry.to_numpy(), zones["feature_name"].to_numpy()
