"""Generated candidates: a square or hexagonal grid over the study area, clipped to land.

``candidates: {grid: {cell_m: 250, shape: square}}`` covers the study area with
cells instead of reading a parcel file. Everything is vectorised (shapely 2):
the cells are built as one array, the ones wholly inside the study area (and
wholly on land, clear of water) are kept as they are, and only the cells
crossing an edge are clipped, so a 250 m grid over 10,000 km2 (160,000 cells)
takes seconds.

Cells, in the working CRS:

* ``square``: ``cell_m`` on a side, aligned on multiples of ``cell_m``;
* ``hex``: pointy-top hexagons ``cell_m`` across the flats (the distance
  between neighbouring centres), odd rows shifted east by half a cell.

Ids are ``g<row>_<col>`` (squares) or ``h<row>_<col>`` (hexagons): row 0 is the
northernmost row of the study area's bounding box, column 0 the westernmost,
both zero-padded to the same width so that ids sort in reading order; the same
config gives the same ids. A cell is clipped to the study area, to the
``land`` layer's polygons when one is named, and loses the ``water`` layer's
polygons when one is named; cells left with less than ``min_fraction`` of a
whole cell (slivers on the shore) are dropped.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass

import numpy as np
import shapely

from siteselect._errors import LayerError

logger = logging.getLogger(__name__)

MAX_CELLS = 5_000_000
"""Most cells a grid's bounding box may hold (memory: about 1 KB a cell)."""

_SQRT3 = math.sqrt(3.0)


@dataclass(frozen=True)
class GridCells:
    """Cells of a generated grid.

    Attributes
    ----------
    geometry : numpy.ndarray
        Polygons (clipped), working CRS.
    ids : numpy.ndarray
        ``g<row>_<col>`` / ``h<row>_<col>`` (object).
    row, col : numpy.ndarray
        Each cell's row (0 = north) and column (0 = west).
    cell_area_m2 : float
        The area of a whole cell.
    record : dict
        What was generated and removed (JSON-serialisable, for run.json).
    """

    geometry: np.ndarray
    ids: np.ndarray
    row: np.ndarray
    col: np.ndarray
    cell_area_m2: float
    record: dict


def _layout(
    bounds: tuple[float, float, float, float], cell_m: float, shape: str
) -> tuple[float, float, float, int, int]:
    """(x0, y_top, row step, rows, cols) covering ``bounds``: the first centre or corner."""
    xmin, ymin, xmax, ymax = bounds
    if shape == "square":
        x0 = math.floor(xmin / cell_m) * cell_m
        top = math.ceil(ymax / cell_m) * cell_m
        cols = max(1, math.ceil((xmax - x0) / cell_m))
        rows = max(1, math.ceil((top - ymin) / cell_m))
        return x0, top, cell_m, rows, cols
    step = cell_m * _SQRT3 / 2.0
    radius = cell_m / _SQRT3
    # centres: first row at or above the top edge, first column half a cell west of it
    top = math.ceil((ymax + radius) / step) * step
    x0 = math.floor((xmin - cell_m) / cell_m) * cell_m
    rows = max(1, math.ceil((top - (ymin - radius)) / step) + 1)
    cols = max(1, math.ceil((xmax + cell_m - x0) / cell_m) + 1)
    return x0, top, step, rows, cols


def _cells(
    x0: float,
    top: float,
    step: float,
    rows: np.ndarray,
    cols: np.ndarray,
    cell_m: float,
    shape: str,
) -> np.ndarray:
    """The whole cells (rows[i], cols[i]) as polygons."""
    if shape == "square":
        left = x0 + cols * cell_m
        upper = top - rows * cell_m
        return shapely.box(left, upper - cell_m, left + cell_m, upper)
    cx = x0 + cols * cell_m + (rows % 2) * (cell_m / 2.0)
    cy = top - rows * step
    radius = cell_m / _SQRT3
    angles = np.deg2rad(np.arange(30.0, 390.0, 60.0))  # pointy top, closed ring
    angles = np.append(angles, angles[0])
    ring = np.stack(
        [cx[:, None] + radius * np.cos(angles), cy[:, None] + radius * np.sin(angles)], axis=2
    )
    return shapely.polygons(ring)


def _polygons_of(geometries: np.ndarray) -> shapely.Geometry | None:
    """The union of the polygon parts of ``geometries`` (None when there are none)."""
    parts = shapely.get_parts(np.asarray(geometries, dtype=object))
    polygons = parts[np.isin(shapely.get_type_id(parts), (3, 6))]
    if len(polygons) == 0:
        return None
    return shapely.union_all(shapely.make_valid(polygons))


def _clip(cells: np.ndarray, mask: shapely.Geometry, keep_inside: bool) -> np.ndarray:
    """``cells`` intersected with (or minus) ``mask``; only the cells crossing its edge change."""
    shapely.prepare(mask)
    touching = shapely.intersects(mask, cells)
    out = cells.copy()
    if keep_inside:
        inside = shapely.contains_properly(mask, cells)
        out[~touching] = None
        edge = touching & ~inside
        out[edge] = shapely.intersection(cells[edge], mask)
    else:
        covered = shapely.contains_properly(mask, cells)
        out[covered] = None
        edge = touching & ~covered
        out[edge] = shapely.difference(cells[edge], mask)
    return out


def generate_grid(
    area: shapely.Geometry,
    cell_m: float,
    shape: str = "square",
    *,
    land: np.ndarray | None = None,
    water: np.ndarray | None = None,
    min_fraction: float = 0.25,
    what: str = "candidates.grid",
) -> GridCells:
    """Cover ``area`` with cells of ``cell_m`` metres, clipped to it (and to land).

    Parameters
    ----------
    area : shapely.Geometry
        The study area (polygons, working CRS, metres).
    cell_m : float
        A square's side, a hexagon's width across flats.
    shape : {"square", "hex"}
    land, water : numpy.ndarray of geometries, optional
        Polygons the cells are clipped to (land) or lose (water), working CRS.
    min_fraction : float
        Cells left with less than this share of a whole cell are dropped.
    what : str
        Config location for messages.

    Raises
    ------
    LayerError
        Too many cells for the area, a land/water layer without polygons, or no
        cell left.
    """
    if area is None or shapely.is_empty(area) or shapely.area(area) == 0:
        raise LayerError(f"{what}: the study area has no area to cover with cells")
    x0, top, step, rows, cols = _layout(shapely.bounds(area).tolist(), cell_m, shape)
    if rows * cols > MAX_CELLS:
        raise LayerError(
            f"{what}: cell_m {cell_m:g} m makes {rows * cols:,} cells over the study area's "
            f"bounding box (at most {MAX_CELLS:,}); use a larger cell_m"
        )
    row, col = np.divmod(np.arange(rows * cols), cols)
    cells = _cells(x0, top, step, row, col, cell_m, shape)
    whole = float(shapely.area(cells[0]))
    record: dict = {"shape": shape, "cell_m": cell_m, "bounding_box_cells": int(rows * cols)}
    cells = _clip(cells, area, keep_inside=True)
    record["in_study_area"] = int((~shapely.is_missing(cells)).sum())
    for name, layer, keep_inside in (("land", land, True), ("water", water, False)):
        if layer is None:
            continue
        mask = _polygons_of(layer)
        if mask is None:
            raise LayerError(
                f"{what}.{name}: the layer has no polygons to clip the cells "
                f"{'to' if keep_inside else 'by'}; give a polygon layer"
            )
        present = ~shapely.is_missing(cells)
        cells[present] = _clip(cells[present], mask, keep_inside)
        record[f"after_{name}"] = int((~shapely.is_missing(cells)).sum())
    cells = _polygonal(cells)
    area_m2 = shapely.area(cells)
    kept = ~shapely.is_missing(cells) & (area_m2 > 0) & (area_m2 >= min_fraction * whole)
    record["slivers_dropped"] = int((~shapely.is_missing(cells) & ~kept).sum())
    record["cells"] = int(kept.sum())
    if not kept.any():
        raise LayerError(
            f"{what}: no cell of {cell_m:g} m is left in the study area"
            f"{' on land' if land is not None or water is not None else ''}; "
            "check the study area and the land/water layers, or use a smaller cell_m"
        )
    width = max(len(str(rows - 1)), len(str(cols - 1)))
    prefix = "g" if shape == "square" else "h"
    row, col = row[kept], col[kept]
    ids = np.char.add(
        np.char.add(prefix + np.char.zfill(row.astype(str), width), "_"),
        np.char.zfill(col.astype(str), width),
    ).astype(object)
    logger.info(
        "%s: %d %s cells of %g m (%d in the bounding box, %d slivers dropped)",
        what,
        record["cells"],
        shape,
        cell_m,
        record["bounding_box_cells"],
        record["slivers_dropped"],
    )
    return GridCells(cells[kept], ids, row, col, whole, record)


def _polygonal(cells: np.ndarray) -> np.ndarray:
    """Each clipped cell reduced to its polygon parts (a clip may leave lines or points)."""
    out = np.asarray(cells, dtype=object).copy()
    kinds = shapely.get_type_id(out)
    mixed = np.flatnonzero(~np.isin(kinds, (-1, 3, 6)))
    if len(mixed) == 0:
        return out
    parts, index = shapely.get_parts(out[mixed], return_index=True)
    polygon = shapely.get_type_id(parts) == 3
    out[mixed] = None
    if polygon.any():
        owners = np.unique(index[polygon])
        positions = np.searchsorted(owners, index[polygon])
        out[mixed[owners]] = shapely.multipolygons(parts[polygon], indices=positions)
    return out
