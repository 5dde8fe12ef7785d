"""Zonal statistics of a raster over whole polygons, with exact cell coverage.

Each polygon is compared with the raster cells its bounding box covers; a cell
counts when the polygon covers part of it (area > 0), weighted by the covered
fraction for the mean. A polygon smaller than a cell still gets that cell's
value; a point takes the cell it falls in. Cells equal to nodata (or NaN) are
ignored. The work is vectorised over (polygon, cell) pairs in chunks: each
raster cell under a polygon is visited once per polygon, with no per-polygon
Python loop.

Geometries must be in the raster's CRS (reproject the parcels, never the
hazard grid).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import rasterio
import rasterio.windows
import shapely

from siteselect._errors import LayerError

logger = logging.getLogger(__name__)

MAX_PAIRS_PER_CHUNK = 4_000_000


@dataclass
class ZonalResult:
    """Per-geometry statistics (NaN where no valid cell is covered)."""

    max: np.ndarray
    min: np.ndarray
    mean: np.ndarray
    covered_fraction: np.ndarray
    """Share of the geometry's area over valid (non-nodata) cells, 0..1 (1 for points on data)."""


def _cell_windows(
    bounds: np.ndarray, transform: rasterio.Affine, height: int, width: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    x0, dx, y0, dy = transform.c, transform.a, transform.f, -transform.e
    col0 = np.floor((bounds[:, 0] - x0) / dx).astype(np.int64)
    col1 = np.ceil((bounds[:, 2] - x0) / dx).astype(np.int64)
    row0 = np.floor((y0 - bounds[:, 3]) / dy).astype(np.int64)
    row1 = np.ceil((y0 - bounds[:, 1]) / dy).astype(np.int64)
    col1 = np.maximum(col1, col0 + 1)  # points and lines on a cell edge
    row1 = np.maximum(row1, row0 + 1)
    return (
        np.clip(row0, 0, height),
        np.clip(row1, 0, height),
        np.clip(col0, 0, width),
        np.clip(col1, 0, width),
    )


def _pairs(row0: np.ndarray, row1: np.ndarray, col0: np.ndarray, col1: np.ndarray):
    n_rows = row1 - row0
    n_cols = col1 - col0
    counts = n_rows * n_cols
    owner = np.repeat(np.arange(len(counts)), counts)
    starts = np.cumsum(counts) - counts
    local = np.arange(counts.sum()) - np.repeat(starts, counts)
    cols_per = np.repeat(n_cols, counts)
    rows = np.repeat(row0, counts) + local // np.maximum(cols_per, 1)
    cols = np.repeat(col0, counts) + local % np.maximum(cols_per, 1)
    return owner, rows, cols


def _coverage(geoms: np.ndarray, boxes: np.ndarray, cell_area: float) -> np.ndarray:
    """Covered fraction of each box by its geometry (1 for a point inside)."""
    coverage = np.zeros(len(boxes))
    is_areal = shapely.get_type_id(geoms) >= 3  # polygons and multipolygons (and collections)
    hits = shapely.intersects(geoms, boxes)
    full = hits & is_areal & shapely.contains_properly(geoms, boxes)
    coverage[full] = 1.0
    partial = hits & is_areal & ~full
    if partial.any():
        coverage[partial] = (
            shapely.area(shapely.intersection(geoms[partial], boxes[partial])) / cell_area
        )
    coverage[hits & ~is_areal] = 1.0
    return coverage


def zonal_stats(geoms: np.ndarray, raster: Path, band: int = 1) -> ZonalResult:
    """Max, min, coverage-weighted mean and covered fraction of ``raster`` per geometry.

    Parameters
    ----------
    geoms : numpy.ndarray of shapely geometries
        In the raster's CRS.
    raster : Path
        A single- or multi-band raster readable by rasterio (north-up).
    band : int
        1-based band index.
    """
    geoms = np.asarray(geoms, dtype=object)
    n = len(geoms)
    result = ZonalResult(*(np.full(n, np.nan) for _ in range(4)))
    with rasterio.open(raster) as src:
        if src.transform.b != 0 or src.transform.d != 0:
            raise LayerError(f"{raster.name}: rotated rasters are not supported; warp it north-up")
        bounds = shapely.bounds(geoms)
        row0, row1, col0, col1 = _cell_windows(bounds, src.transform, src.height, src.width)
        if n == 0 or (row1 <= row0).all() or (col1 <= col0).all():
            result.covered_fraction[:] = 0.0
            return result
        r_min, r_max = int(row0.min()), int(row1.max())
        c_min, c_max = int(col0.min()), int(col1.max())
        window = rasterio.windows.Window(c_min, r_min, c_max - c_min, r_max - r_min)
        data = src.read(band, window=window, masked=True).astype("float64")
        values = np.ma.filled(data, np.nan)
        transform = src.transform
        nodata = src.nodata
    if nodata is not None and np.isfinite(nodata):
        values[values == nodata] = np.nan
    cell_area = abs(transform.a * transform.e)
    shapely.prepare(geoms)
    areas = shapely.area(geoms)
    sums = np.zeros(n)
    weights = np.zeros(n)
    maxima = np.full(n, -np.inf)
    minima = np.full(n, np.inf)
    cumulative = np.cumsum((row1 - row0) * (col1 - col0))
    start = 0
    while start < n:
        done = cumulative[start - 1] if start else 0
        stop = max(int(np.searchsorted(cumulative, done + MAX_PAIRS_PER_CHUNK, "right")), start + 1)
        part = slice(start, stop)
        owner, rows, cols = _pairs(row0[part], row1[part], col0[part], col1[part])
        owner = owner + start
        x_left = transform.c + cols * transform.a
        y_top = transform.f + rows * transform.e
        boxes = shapely.box(x_left, y_top + transform.e, x_left + transform.a, y_top)
        coverage = _coverage(geoms[owner], boxes, cell_area)
        cell_values = values[rows - r_min, cols - c_min]
        ok = (coverage > 0) & np.isfinite(cell_values)
        owner, coverage, cell_values = owner[ok], coverage[ok], cell_values[ok]
        np.maximum.at(maxima, owner, cell_values)
        np.minimum.at(minima, owner, cell_values)
        np.add.at(sums, owner, cell_values * coverage)
        np.add.at(weights, owner, coverage)
        start = stop
    has = weights > 0
    result.max[has] = maxima[has]
    result.min[has] = minima[has]
    result.mean[has] = sums[has] / weights[has]
    areal = areas > 0
    result.covered_fraction[:] = np.where(has, 1.0, 0.0)
    result.covered_fraction[areal] = np.clip(weights[areal] * cell_area / areas[areal], 0.0, 1.0)
    return result
