"""From roads, volumes and terrain to each candidate's exposure: grid once, then zonal max.

1. Road samples (:mod:`~siteselect.visibility.roads`) with their volumes
   (:mod:`~siteselect.visibility.traffic`) are put on the analysis grid: the
   eye at the centre of the sample's cell, ``eye_height_m`` above the ground
   there. Samples of one route in one cell are merged (same eye: the largest
   volume, summed lengths and view-seconds), which changes no result.
2. The *targets* are the grid cells under the candidates (a superset of the
   cells the zonal max reads), plus a lattice every ``map_cell_m`` for the map.
3. One pass of the compiled kernel (:mod:`~siteselect.visibility.kernel`)
   accumulates every sample's traffic into every target it sees.
4. Each candidate takes its best cell (exact zonal max, :mod:`siteselect.study.zonal`):
   where on the parcel the building would be seen most.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import rasterio.features
import rasterio.windows
import shapely

from siteselect.study.zonal import Grid, zonal_stats_grid
from siteselect.visibility.kernel import accumulate
from siteselect.visibility.model import Exposure, Samples
from siteselect.visibility.roads import RoadSamples
from siteselect.visibility.terrain import Terrain

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Targets:
    """Grid cells evaluated: their number per cell, their cells, and the lattice ones."""

    index: np.ndarray  # int32 (rows, cols), -1 where not a target
    row: np.ndarray
    col: np.ndarray
    lattice: np.ndarray  # bool per target: on the map lattice


def kernel_samples(
    terrain: Terrain, samples: RoadSamples, aadt: np.ndarray, eye_height_m: float
) -> tuple[Samples, np.ndarray]:
    """The kernel's samples (merged per cell and route) and which road samples had ground.

    A one-way sample (one carriageway) carries half its road's AADT and stands
    for half its length of road; view-seconds are its vehicles times its
    length over the speed.
    """
    row, col, inside = terrain.cells(samples.x, samples.y)
    ground = np.full(len(samples), np.nan)
    ground[inside] = terrain.ground[row[inside], col[inside]]
    usable = np.isfinite(ground)
    share = np.where(samples.oneway, 0.5, 1.0)
    vehicles = aadt * share
    view_s = vehicles * samples.length_m / np.maximum(samples.speed_kmh / 3.6, 0.1)
    road_m = samples.length_m * share
    keep = np.flatnonzero(usable)
    # merge samples of one route in one cell (input is grouped by road then route)
    key_route = samples.route[keep]
    cell = row[keep] * np.int64(terrain.shape[1]) + col[keep]
    order = np.lexsort((cell, key_route, samples.road[keep]))
    keep = keep[order]
    cell = cell[order]
    key_route = key_route[order]
    first = np.ones(len(keep), dtype=bool)
    first[1:] = (cell[1:] != cell[:-1]) | (key_route[1:] != key_route[:-1])
    group = np.cumsum(first) - 1
    n = int(first.sum())
    starts = keep[first]
    merged_vehicles = np.zeros(n)
    np.maximum.at(merged_vehicles, group, vehicles[keep])
    out = Samples(
        row=row[starts],
        col=col[starts],
        eye=ground[starts] + eye_height_m,
        route=samples.route[starts].astype(np.int32),
        road=samples.road[starts].astype(np.int32),
        vehicles=merged_vehicles,
        view_seconds=np.bincount(group, view_s[keep], minlength=n),
        road_m=np.bincount(group, road_m[keep], minlength=n),
    )
    return out, usable


def _touched_cells(terrain: Terrain, geoms: np.ndarray) -> np.ndarray:
    """Boolean grid of the cells each geometry may cover (a superset of the zonal cells).

    Compact geometries (and points) mark their bounding box of cells, vectorised;
    the few sprawling ones (bounding box over 4x their area and over 16 cells) are
    rasterised with ``all_touched``.
    """
    rows, cols = terrain.shape
    wanted = np.zeros((rows, cols), dtype=bool)
    present = np.flatnonzero(~(shapely.is_missing(geoms) | shapely.is_empty(geoms)))
    if len(present) == 0:
        return wanted
    geoms = geoms[present]
    t = terrain.transform
    xmin, ymin, xmax, ymax = shapely.bounds(geoms).T
    c0 = np.clip(np.floor((xmin - t.c) / t.a), 0, cols).astype(np.int64)
    c1 = np.clip(np.floor((xmax - t.c) / t.a) + 1, 0, cols).astype(np.int64)
    r0 = np.clip(np.floor((ymax - t.f) / t.e), 0, rows).astype(np.int64)
    r1 = np.clip(np.floor((ymin - t.f) / t.e) + 1, 0, rows).astype(np.int64)
    height, width = np.maximum(r1 - r0, 0), np.maximum(c1 - c0, 0)
    box_cells = height * width
    area_cells = shapely.area(geoms) / abs(t.a * t.e)
    sprawling = (box_cells > 16) & (box_cells > 4.0 * area_cells)
    compact = np.flatnonzero(~sprawling & (box_cells > 0))
    owner = np.repeat(compact, box_cells[compact])
    rank = np.arange(len(owner)) - np.repeat(
        np.cumsum(box_cells[compact]) - box_cells[compact], box_cells[compact]
    )
    wanted[r0[owner] + rank // width[owner], c0[owner] + rank % width[owner]] = True
    if sprawling.any():
        burnt = rasterio.features.rasterize(
            ((g, 1) for g in geoms[sprawling]),
            out_shape=(rows, cols),
            transform=t,
            fill=0,
            all_touched=True,
            dtype="uint8",
        )
        wanted |= burnt.astype(bool)
    return wanted


def candidate_targets(terrain: Terrain, geoms: np.ndarray, lattice_step: int) -> Targets:
    """Cells the candidates may cover, plus every ``lattice_step``-th cell, on known ground."""
    rows, cols = terrain.shape
    wanted = _touched_cells(terrain, np.asarray(geoms, dtype=object))
    lattice = np.zeros((rows, cols), dtype=bool)
    if lattice_step > 0:
        half = lattice_step // 2
        lattice[half::lattice_step, half::lattice_step] = True
    wanted |= lattice
    wanted &= np.isfinite(terrain.ground)
    row, col = np.nonzero(wanted)
    index = np.full((rows, cols), -1, dtype=np.int32)
    index[row, col] = np.arange(len(row), dtype=np.int32)
    return Targets(index=index, row=row, col=col, lattice=lattice[row, col])


def run_kernel(
    terrain: Terrain,
    targets: Targets,
    samples: Samples,
    building_height_m: float,
    max_m: float,
) -> Exposure:
    """The cumulative exposure of every target (building top = ground + height)."""
    target_z = terrain.ground[targets.row, targets.col].astype(np.float64) + building_height_m
    return accumulate(
        terrain.surface, target_z, targets.index, samples, max_m, terrain.dx, terrain.dy
    )


def best_targets(
    terrain: Terrain, targets: Targets, metric: np.ndarray, geoms: np.ndarray
) -> np.ndarray:
    """Per candidate, the target with the largest ``metric`` over the parcel (-1: none).

    The exact zonal max (:func:`siteselect.study.zonal.zonal_stats_grid`) runs over
    each target's *rank* (ties broken by target number), so the maximum names
    one cell, whose every other quantity can then be read.
    """
    order = np.lexsort((np.arange(len(metric)), metric))
    rank_of = np.empty(len(metric), dtype=np.float64)
    rank_of[order] = np.arange(len(metric), dtype=np.float64)
    ranks = np.full(terrain.shape, np.nan)
    ranks[targets.row, targets.col] = rank_of

    def read(window: rasterio.windows.Window) -> np.ndarray:
        r0, c0 = int(window.row_off), int(window.col_off)
        return ranks[r0 : r0 + int(window.height), c0 : c0 + int(window.width)]

    grid = Grid(terrain.transform, terrain.shape[1], terrain.shape[0])
    best_rank = zonal_stats_grid(np.asarray(geoms, dtype=object), grid, read).max
    best = np.full(len(geoms), -1, dtype=np.int64)
    found = np.isfinite(best_rank)
    best[found] = order[best_rank[found].astype(np.int64)]
    return best


def bounds_around(geoms: np.ndarray, reach_m: float) -> tuple[float, float, float, float]:
    """The candidates' extent grown by ``reach_m`` (the region sight lines can cross)."""
    xmin, ymin, xmax, ymax = shapely.total_bounds(geoms)
    return (xmin - reach_m, ymin - reach_m, xmax + reach_m, ymax + reach_m)
