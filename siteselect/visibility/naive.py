"""The naive reference: one sight line at a time, one site at a time, in plain numpy.

The same model as :mod:`siteselect.visibility.kernel` (its docstring defines
it), written independently and without any sharing between sight lines: for
a site, every cell it covers is tested against every road sample within reach
and the per-route, per-road bookkeeping is done with dictionaries. The tests
check the compiled kernel against it, and ``bench/visibility_bench.py`` uses
it as the per-site baseline.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from siteselect.visibility.model import CURVATURE, Samples


def within_reach(dr: int, dc: int, dx: float, dy: float, max_m: float) -> bool:
    """Whether a cell offset (rows, cols) lies within ``max_m`` (the kernel's disc rule)."""
    if abs(dr) > int(max_m / dy):
        return False
    off_y = dr * dy
    rest = max_m * max_m - off_y * off_y
    if rest < 0.0:
        return False
    return dc == 0 or abs(dc) * dx * (abs(dc) * dx) <= rest


def sees(
    surface: np.ndarray,
    orow: int,
    ocol: int,
    eye: float,
    trow: int,
    tcol: int,
    target: float,
    dx: float,
    dy: float,
) -> bool:
    """Whether the target elevation ``target`` (m) in cell (trow, tcol) is seen from the eye."""
    dr, dc = trow - orow, tcol - ocol
    n = max(abs(dr), abs(dc))
    if n <= 1:
        return True
    d2 = (dr * dy) ** 2 + (dc * dx) ** 2
    rise = target - CURVATURE * d2 - eye
    step2 = CURVATURE * d2 / (n * n)
    i = np.arange(1, n, dtype=np.int64)
    rows_at = orow + i * (dr / n)
    cols_at = ocol + i * (dc / n)
    r0 = np.floor(rows_at).astype(np.int64)
    c0 = np.floor(cols_at).astype(np.int64)
    fr, fc = rows_at - r0, cols_at - c0
    z = surface[r0, c0].astype(np.float64)
    below = surface[np.minimum(r0 + 1, surface.shape[0] - 1), c0].astype(np.float64)
    right = surface[r0, np.minimum(c0 + 1, surface.shape[1] - 1)].astype(np.float64)
    z = np.where(fr > 0.0, z + fr * (below - z), np.where(fc > 0.0, z + fc * (right - z), z))
    z = z - step2 * (i * i)
    return not bool(np.any((z - eye) * n > i * rise))


@dataclass(frozen=True)
class CellExposure:
    """What one target cell sees (the kernel's quantities for one cell)."""

    vehicles: float
    view_seconds: float
    road_m: float
    top_road: int
    top_vehicles: float
    top_road_m: float


def cell_exposure(
    surface: np.ndarray,
    row: int,
    col: int,
    target: float,
    samples: Samples,
    max_m: float,
    dx: float,
    dy: float,
) -> CellExposure:
    """Exposure of one cell with a building top at ``target`` m, sample by sample."""
    best: dict[int, float] = {}
    route_road: dict[int, int] = {}
    road_len: dict[int, float] = {}
    view_seconds = 0.0
    road_m = 0.0
    for s in range(len(samples)):
        r0, c0 = int(samples.row[s]), int(samples.col[s])
        if not within_reach(row - r0, col - c0, dx, dy, max_m):
            continue
        if not sees(surface, r0, c0, float(samples.eye[s]), row, col, target, dx, dy):
            continue
        route, road = int(samples.route[s]), int(samples.road[s])
        best[route] = max(best.get(route, 0.0), float(samples.vehicles[s]))
        route_road[route] = road
        view_seconds += float(samples.view_seconds[s])
        road_m += float(samples.road_m[s])
        road_len[road] = road_len.get(road, 0.0) + float(samples.road_m[s])
    per_road: dict[int, float] = {}
    for route, vehicles in best.items():
        per_road[route_road[route]] = per_road.get(route_road[route], 0.0) + vehicles
    top, top_vehicles = -1, 0.0
    for road in sorted(per_road):
        if per_road[road] > top_vehicles:
            top, top_vehicles = road, per_road[road]
    return CellExposure(
        vehicles=math.fsum(best.values()),
        view_seconds=view_seconds,
        road_m=road_m,
        top_road=top,
        top_vehicles=top_vehicles,
        top_road_m=road_len.get(top, 0.0),
    )


def site_exposure(
    surface: np.ndarray,
    ground: np.ndarray,
    cells: list[tuple[int, int]],
    height_m: float,
    samples: Samples,
    max_m: float,
    dx: float,
    dy: float,
) -> float:
    """Daily vehicles seeing a site at its best cell (NaN when no cell has ground)."""
    values = [
        cell_exposure(
            surface, r, c, float(ground[r, c]) + height_m, samples, max_m, dx, dy
        ).vehicles
        for r, c in cells
        if np.isfinite(ground[r, c])
    ]
    return max(values) if values else math.nan
