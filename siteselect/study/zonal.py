"""Zonal statistics of a raster over whole polygons, with exact cell coverage.

For every polygon the area it covers in each raster cell is computed exactly,
vectorised over all polygons at once (no per-polygon or per-cell Python and no
shapely intersection per cell), with the scanline "signed area and cover"
accumulation used by font rasterisers:

* In cell units (``u`` = column, ``v`` = row, growing downwards) the area of a
  polygon inside cell ``(r, j)`` is, by Green's theorem, a sum over the ring
  edges clipped to the column strip ``j <= u <= j + 1`` of
  ``-s * integral clamp(r + 1 - v(u), 0, 1) du`` (``s`` = the edge's direction
  along ``u`` times the ring orientation). An edge entirely above the row adds
  ``-s * L`` (its clipped length), an edge below adds nothing.
* So each clipped edge is evaluated exactly only in the few rows it crosses;
  its constant contribution to all rows below is one "cover" entry that a
  per-column cumulative sum spreads downwards. The work is proportional to the
  polygon's perimeter in cells plus its bounding box, not to edges x cells.

A cell counts for ``max``/``min``/percentiles when the polygon covers more than
:data:`COVERAGE_TOLERANCE` of it (scaled down for polygons smaller than a cell):
a parcel smaller than a cell still gets that cell, a parcel that only touches a
cell along its boundary does not. Weights for ``mean`` and percentiles are the
covered fractions. A point takes the cell it falls in. Cells equal to nodata,
masked or NaN are ignored and lower the covered fraction.

Geometries must be in the raster's CRS (reproject the parcels, never the
hazard grid). The raster is read in windows, tile by tile (``tile`` cells
square plus the parcels' overhang), so memory stays bounded however large the
raster and only the parts under parcels are read.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import rasterio
import rasterio.windows
import shapely
from affine import Affine

from siteselect._errors import CriterionError, LayerError
from siteselect.parallel import in_order
from siteselect.study.rasters import band_index, open_raster
from siteselect.study.zonal_stats import Accumulator, ZonalResult

logger = logging.getLogger(__name__)

COVERAGE_TOLERANCE = 1e-9
"""Covered share of a cell below which a cell does not count (floating-point slivers)."""

TILE_CELLS = 2048
"""Side of the square raster tiles the work is grouped by (bounds each read)."""

MAX_BUFFER_CELLS = 500_000
"""Cells (bounding-box cells of a batch of polygons) processed per vectorised batch."""

_POINT, _POLYGON, _MULTIPOINT, _MULTIPOLYGON = 0, 3, 4, 6

ValueReader = Callable[[rasterio.windows.Window], np.ndarray]
"""Reads a window of the grid as float64, NaN where there is no data."""


@dataclass(frozen=True)
class Grid:
    """A north-up raster grid: affine transform and size in cells."""

    transform: Affine
    width: int
    height: int

    def __post_init__(self) -> None:
        if self.transform.b != 0 or self.transform.d != 0:
            raise LayerError("rotated rasters are not supported; warp the raster north-up first")


def covered_threshold(area_cells: np.ndarray) -> np.ndarray:
    """Smallest covered fraction of a cell that counts, per geometry area in cells."""
    return COVERAGE_TOLERANCE * np.clip(area_cells, 1e-3, 1.0)


# --- polygon edges in cell units ----------------------------------------------------------


@dataclass
class _Edges:
    geom: np.ndarray  # local geometry index of each edge, ascending
    u1: np.ndarray
    v1: np.ndarray
    u2: np.ndarray
    v2: np.ndarray
    sign: np.ndarray  # direction along u times ring orientation (0 for degenerate rings)
    area_cells: np.ndarray  # per local geometry


def _polygon_edges(
    geoms: np.ndarray, transform: Affine, origin_row: np.ndarray, origin_col: np.ndarray
) -> _Edges:
    """Ring edges of (multi)polygons in cell units from each one's origin cell, oriented.

    Coordinates are taken relative to the corner of the geometry's own origin cell
    (as the naive cell boxes are), so precision does not depend on the raster's size.
    """
    if (shapely.get_type_id(geoms) == _POLYGON).all():
        parts, part_geom = geoms, np.arange(len(geoms))
    else:
        parts, part_geom = shapely.get_parts(geoms, return_index=True)
    rings, ring_part = shapely.get_rings(parts, return_index=True)
    xy, vert_ring = shapely.get_coordinates(rings, return_index=True)
    vert_geom = part_geom[ring_part][vert_ring]
    x_origin = transform.c + origin_col[vert_geom] * transform.a
    y_origin = transform.f + origin_row[vert_geom] * transform.e
    u = (xy[:, 0] - x_origin) / transform.a
    v = (xy[:, 1] - y_origin) / transform.e
    start = np.flatnonzero(vert_ring[:-1] == vert_ring[1:])
    ring = vert_ring[start]
    n_rings = len(rings)
    first = np.searchsorted(vert_ring, np.arange(n_rings))
    u0, v0 = u[first][ring], v[first][ring]  # local origin per ring, for a precise shoelace
    u1, v1, u2, v2 = u[start], v[start], u[start + 1], v[start + 1]
    cross = (u1 - u0) * (v2 - v0) - (u2 - u0) * (v1 - v0)
    ring_area = 0.5 * np.bincount(ring, cross, minlength=n_rings)
    exterior = np.ones(n_rings, dtype=bool)
    exterior[1:] = ring_part[1:] != ring_part[:-1]
    hole_sign = np.where(exterior, 1.0, -1.0)
    # An exterior ring counter-clockwise on the map has a negative shoelace in (u, v).
    orientation = -np.sign(ring_area) * hole_sign
    ring_geom = part_geom[ring_part]
    return _Edges(
        geom=ring_geom[ring],
        u1=u1,
        v1=v1,
        u2=u2,
        v2=v2,
        sign=np.sign(u2 - u1) * orientation[ring],
        area_cells=np.bincount(ring_geom, np.abs(ring_area) * hole_sign, minlength=len(geoms)),
    )


def _positive_part_integral(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Integral over [0, 1] of max(f, 0) for f linear from a to b."""
    both = (a >= 0) & (b >= 0)
    mixed = (a > 0) != (b > 0)
    out = np.where(both, 0.5 * (a + b), 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        crossing = 0.5 * np.maximum(a, b) ** 2 / np.abs(a - b)
    return np.where(mixed & ~both, crossing, out)


def _expand(counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For ``counts`` per item: the item index and the 0-based rank of each expanded entry."""
    item = np.repeat(np.arange(len(counts)), counts)
    starts = np.cumsum(counts) - counts
    return item, np.arange(len(item)) - starts[item]


@dataclass
class _Tasks:
    """Windows to evaluate: one per polygon, or several tiles for a huge one.

    Rows and columns are relative to the geometry's origin cell inside
    :func:`_coverage`, absolute grid indices elsewhere.
    """

    geom: np.ndarray  # local geometry index
    r0: np.ndarray
    r1: np.ndarray  # exclusive
    c0: np.ndarray
    c1: np.ndarray  # exclusive


@dataclass
class _Cells:
    """Covered cells: the task's geometry, grid row and column, covered fraction."""

    geom: np.ndarray
    row: np.ndarray
    col: np.ndarray
    coverage: np.ndarray


def _coverage(edges: _Edges, tasks: _Tasks) -> _Cells:
    """Exact covered fraction of every cell of every task window (above the tolerance)."""
    n_tasks = len(tasks.geom)
    n_geoms = len(edges.area_cells)
    edge_start = np.searchsorted(edges.geom, np.arange(n_geoms))
    edge_count = np.diff(np.append(edge_start, len(edges.geom)))
    # (task, edge) pairs
    task, rank = _expand(edge_count[tasks.geom])
    edge = edge_start[tasks.geom][task] + rank
    u1, u2 = edges.u1[edge], edges.u2[edge]
    u_lo, u_hi = np.minimum(u1, u2), np.maximum(u1, u2)
    col_lo = np.maximum(np.floor(u_lo).astype(np.int64), tasks.c0[task])
    col_hi = np.minimum(np.ceil(u_hi).astype(np.int64), tasks.c1[task])
    # (task, edge, column) segments: the edge clipped to the column strip
    seg, rank = _expand(np.maximum(col_hi - col_lo, 0))
    task, edge, u1, u2 = task[seg], edge[seg], u1[seg], u2[seg]
    col = col_lo[seg] + rank
    u_a = np.maximum(np.minimum(u1, u2), col)
    u_b = np.minimum(np.maximum(u1, u2), col + 1)
    length = u_b - u_a
    keep = length > 0
    task, edge, col, u1, u2, u_a, u_b, length = (
        x[keep] for x in (task, edge, col, u1, u2, u_a, u_b, length)
    )
    v1, v2 = edges.v1[edge], edges.v2[edge]
    du = u2 - u1
    v_a = v1 + np.clip((u_a - u1) / du, 0.0, 1.0) * (v2 - v1)
    v_b = v1 + np.clip((u_b - u1) / du, 0.0, 1.0) * (v2 - v1)
    weight = -edges.sign[edge] * length
    # buffer: per task, its columns, each with (rows + 1) cells (the extra row closes the sum)
    rows = tasks.r1 - tasks.r0 + 1
    cols = tasks.c1 - tasks.c0
    offset = np.cumsum(rows * cols) - rows * cols
    size = int((rows * cols).sum())
    t_r0, t_r1 = tasks.r0[task], tasks.r1[task]
    column_base = offset[task] + (col - tasks.c0[task]) * rows[task]
    row_lo = np.floor(np.minimum(v_a, v_b)).astype(np.int64)
    row_cover = np.ceil(np.maximum(v_a, v_b)).astype(np.int64)
    cover_index = column_base + np.clip(row_cover, t_r0, t_r1) - t_r0
    cover = np.bincount(cover_index, weight, minlength=size)
    first = np.maximum(row_lo, t_r0)
    exact_seg, rank = _expand(np.maximum(np.minimum(row_cover, t_r1) - first, 0))
    row = first[exact_seg] + rank
    va, vb = v_a[exact_seg], v_b[exact_seg]
    band = _positive_part_integral(row + 1 - va, row + 1 - vb) - _positive_part_integral(
        row - va, row - vb
    )
    exact = np.bincount(
        column_base[exact_seg] + row - t_r0[exact_seg],
        weight[exact_seg] * band,
        minlength=size,
    )
    # cumulative cover down each column
    column_len = np.repeat(rows, cols)
    column_start = np.cumsum(column_len) - column_len
    running = np.cumsum(cover)
    before = running[column_start] - cover[column_start]
    fraction = exact + running - np.repeat(before, column_len)
    cell_task = np.repeat(np.arange(n_tasks), rows * cols)
    threshold = covered_threshold(edges.area_cells)[tasks.geom]
    index = np.flatnonzero(fraction > threshold[cell_task])
    cell_task = cell_task[index]
    local = index - offset[cell_task]
    local_row = local % rows[cell_task]
    inside = local_row < rows[cell_task] - 1
    index, cell_task, local, local_row = (
        index[inside],
        cell_task[inside],
        local[inside],
        local_row[inside],
    )
    return _Cells(
        geom=tasks.geom[cell_task],
        row=tasks.r0[cell_task] + local_row,
        col=tasks.c0[cell_task] + local // rows[cell_task],
        coverage=np.minimum(fraction[index], 1.0),
    )


# --- windows, tiles and batches -----------------------------------------------------------


def _cell_coordinates(
    x: np.ndarray, y: np.ndarray, transform: Affine
) -> tuple[np.ndarray, np.ndarray]:
    return (x - transform.c) / transform.a, (y - transform.f) / transform.e


def _origins(bounds: np.ndarray, grid: Grid) -> tuple[np.ndarray, np.ndarray]:
    """Row and column of the cell at each geometry's top-left bounds corner (unclipped)."""
    ua, va = _cell_coordinates(bounds[:, 0], bounds[:, 1], grid.transform)
    ub, vb = _cell_coordinates(bounds[:, 2], bounds[:, 3], grid.transform)
    limit = 2.0**52
    row = np.clip(np.floor(np.minimum(va, vb)), -limit, limit).astype(np.int64)
    col = np.clip(np.floor(np.minimum(ua, ub)), -limit, limit).astype(np.int64)
    return row, col


def _polygon_tasks(bounds: np.ndarray, grid: Grid, tile: int) -> _Tasks:
    """Clipped cell windows of the polygons' bounds, huge ones split into tiles."""
    ua, va = _cell_coordinates(bounds[:, 0], bounds[:, 1], grid.transform)
    ub, vb = _cell_coordinates(bounds[:, 2], bounds[:, 3], grid.transform)
    r0 = np.clip(np.floor(np.minimum(va, vb)), 0, grid.height).astype(np.int64)
    r1 = np.clip(np.ceil(np.maximum(va, vb)), 0, grid.height).astype(np.int64)
    c0 = np.clip(np.floor(np.minimum(ua, ub)), 0, grid.width).astype(np.int64)
    c1 = np.clip(np.ceil(np.maximum(ua, ub)), 0, grid.width).astype(np.int64)
    hit = np.flatnonzero((r1 > r0) & (c1 > c0))
    r0, r1, c0, c1 = r0[hit], r1[hit], c0[hit], c1[hit]
    tiles_down = -(-(r1 - r0) // tile)
    tiles_across = -(-(c1 - c0) // tile)
    owner, rank = _expand(tiles_down * tiles_across)
    t_r0 = r0[owner] + (rank // tiles_across[owner]) * tile
    t_c0 = c0[owner] + (rank % tiles_across[owner]) * tile
    return _Tasks(
        geom=hit[owner],
        r0=t_r0,
        r1=np.minimum(t_r0 + tile, r1[owner]),
        c0=t_c0,
        c1=np.minimum(t_c0 + tile, c1[owner]),
    )


def _batches(tasks: _Tasks, tile: int, max_cells: int) -> list[np.ndarray]:
    """Task indices grouped by raster tile, each group cut to ``max_cells`` buffer cells."""
    key = (tasks.r0 // tile) * (1 << 32) + tasks.c0 // tile
    order = np.lexsort((tasks.c0, tasks.r0, key))
    sizes = ((tasks.r1 - tasks.r0 + 1) * (tasks.c1 - tasks.c0))[order]
    key = key[order]
    batches: list[np.ndarray] = []
    group_edges = np.flatnonzero(np.diff(key)) + 1
    for group in np.split(np.arange(len(order)), group_edges):
        if len(group) == 0:
            continue
        running = np.cumsum(sizes[group])
        cut = np.searchsorted(running, np.arange(max_cells, running[-1], max_cells), "right")
        for piece in np.split(group, np.unique(np.maximum(cut, 1))):
            if len(piece):
                batches.append(order[piece])
    return batches


# --- entry points -------------------------------------------------------------------------


def _check_types(
    geoms: np.ndarray, labels: Sequence[str] | None = None
) -> tuple[np.ndarray, np.ndarray]:
    types = shapely.get_type_id(geoms)
    empty = shapely.is_missing(geoms) | shapely.is_empty(geoms)
    polygon = np.isin(types, (_POLYGON, _MULTIPOLYGON)) & ~empty
    point = np.isin(types, (_POINT, _MULTIPOINT)) & ~empty
    bad = ~(polygon | point | empty)
    if bad.any():
        where = np.flatnonzero(bad)
        first = int(where[0])
        name = f"candidate {labels[first]!s}" if labels is not None else f"geometry #{first + 1}"
        raise CriterionError(
            f"zonal statistics need polygons or points; {name} is a {geoms[first].geom_type} "
            f"({len(where)} such); give it an area (a polygon) or remove it from the layer"
        )
    return np.flatnonzero(polygon), np.flatnonzero(point)


def zonal_stats_grid(
    geoms: np.ndarray,
    grid: Grid,
    read: ValueReader,
    percentiles: Sequence[float] = (),
    tile: int = TILE_CELLS,
    max_cells: int = MAX_BUFFER_CELLS,
    labels: Sequence[str] | None = None,
) -> ZonalResult:
    """Zonal statistics of the values ``read`` returns on ``grid``, per geometry.

    Parameters
    ----------
    geoms : numpy.ndarray of shapely geometries
        Polygons, multipolygons, points or multipoints in the grid's CRS.
    grid : Grid
        Transform and size of the raster.
    read : callable
        ``read(window) -> float64 array`` (NaN = no data) for a window of the grid.
    percentiles : sequence of float
        Percentiles (0..100) to compute, coverage-weighted (see :class:`ZonalResult`).
    tile, max_cells : int
        Raster tile side and buffer cells per batch (memory bounds).
    labels : sequence of str, optional
        How messages name each geometry (candidate id and row).
    """
    geoms = np.asarray(geoms, dtype=object)
    n = len(geoms)
    accumulator = Accumulator(n, percentiles)
    area_cells = np.zeros(n)
    point_count = np.zeros(n)
    polygons, points = _check_types(geoms, labels)
    if len(polygons):
        bounds = shapely.bounds(geoms[polygons])
        origin_row, origin_col = _origins(bounds, grid)
        tasks = _polygon_tasks(bounds, grid, tile)
        locked = _locked(read)

        def batch_cells(batch: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
            local = np.unique(tasks.geom[batch])
            geom = np.searchsorted(local, tasks.geom[batch])
            o_row, o_col = origin_row[local], origin_col[local]
            relative = _Tasks(
                geom,
                tasks.r0[batch] - o_row[geom],
                tasks.r1[batch] - o_row[geom],
                tasks.c0[batch] - o_col[geom],
                tasks.c1[batch] - o_col[geom],
            )
            edges = _polygon_edges(geoms[polygons[local]], grid.transform, o_row, o_col)
            cells = _coverage(edges, relative)
            cells.row += o_row[cells.geom]
            cells.col += o_col[cells.geom]
            window = (tasks.r0[batch], tasks.r1[batch], tasks.c0[batch], tasks.c1[batch])
            values = _lookup(locked, window, cells)
            return polygons[local][cells.geom], values, cells.coverage

        # batches are measured on every core, and added in their order (same sums)
        for owner, values, coverage in in_order(batch_cells, _batches(tasks, tile, max_cells)):
            accumulator.add(owner, values, coverage)
        area_cells[polygons] = np.abs(shapely.area(geoms[polygons])) / abs(
            grid.transform.a * grid.transform.e
        )
    if len(points):
        _add_points(geoms, points, grid, read, accumulator, point_count)
    return accumulator.result(area_cells, point_count)


def _locked(read: ValueReader) -> ValueReader:
    """``read`` serialised: a raster dataset must not be read from two threads at once."""
    lock = threading.Lock()

    def read_locked(window: rasterio.windows.Window) -> np.ndarray:
        with lock:
            return read(window)

    return read_locked


def _lookup(
    read: ValueReader,
    window: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray],
    cells: _Cells,
) -> np.ndarray:
    """Values of ``cells`` from one read of the union of the task windows."""
    if len(cells.row) == 0:
        return np.zeros(0)
    r0, r1 = int(window[0].min()), int(window[1].max())
    c0, c1 = int(window[2].min()), int(window[3].max())
    window = rasterio.windows.Window(c0, r0, c1 - c0, r1 - r0)
    return read(window)[cells.row - r0, cells.col - c0]


def _add_points(
    geoms: np.ndarray,
    points: np.ndarray,
    grid: Grid,
    read: ValueReader,
    accumulator: Accumulator,
    point_count: np.ndarray,
) -> None:
    xy, owner = shapely.get_coordinates(geoms[points], return_index=True)
    owner = points[owner]
    np.add.at(point_count, owner, 1.0)
    u, v = _cell_coordinates(xy[:, 0], xy[:, 1], grid.transform)
    col, row = np.floor(u).astype(np.int64), np.floor(v).astype(np.int64)
    inside = (col >= 0) & (col < grid.width) & (row >= 0) & (row < grid.height)
    owner, row, col = owner[inside], row[inside], col[inside]
    values = np.zeros(0)
    if len(owner):
        window = rasterio.windows.Window(
            int(col.min()),
            int(row.min()),
            int(col.max() - col.min() + 1),
            int(row.max() - row.min() + 1),
        )
        values = read(window)[row - row.min(), col - col.min()]
    accumulator.add(owner, values, np.ones(len(owner)))


def raster_reader(src: rasterio.io.DatasetReader, band: int) -> ValueReader:
    """A :data:`ValueReader` of one band of an open dataset (nodata and masks -> NaN)."""

    def read(window: rasterio.windows.Window) -> np.ndarray:
        data = src.read(band, window=window, masked=True)
        values = np.ma.filled(data.astype("float64"), np.nan)
        values[~np.isfinite(values)] = np.nan
        return values

    return read


def zonal_stats(
    geoms: np.ndarray,
    raster: Path,
    band: int | str = 1,
    percentiles: Sequence[float] = (),
) -> ZonalResult:
    """Max, min, coverage-weighted mean, percentiles and covered fraction per geometry.

    Parameters
    ----------
    geoms : numpy.ndarray of shapely geometries
        In the raster's CRS.
    raster : Path
        A single- or multi-band raster readable by rasterio (north-up).
    band : int or str
        1-based band index or band description / name.
    percentiles : sequence of float
        Coverage-weighted percentiles to compute (0..100).
    """
    with open_raster(raster, Path(raster).name) as src:
        index = band_index(src, band, Path(raster).name)
        grid = Grid(src.transform, src.width, src.height)
        return zonal_stats_grid(geoms, grid, raster_reader(src, index), percentiles)
