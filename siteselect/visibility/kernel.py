"""The cumulative, traffic-weighted viewshed: one compiled pass over every road sample.

The line-of-sight model (the same in the compiled test ``_visible`` the
accumulating kernel applies, and in :mod:`siteselect.visibility.naive`):

* the terrain is a north-up grid of elevations at cell centres (``surface``:
  ground plus obstacles such as buildings), cells ``dx`` by ``dy`` metres;
* a driver's eye is at the centre of its road sample's cell, ``eye`` metres
  above sea level (ground there plus the eye height);
* the target is the centre of a grid cell, at its ground elevation plus the
  building height (the roofline, where a sign would be);
* the sight line is walked along its major axis, one column (or row) at a
  time; at step ``i`` of ``n`` the terrain is interpolated linearly between
  the two cells the line passes between, and lowered by the earth's curvature
  less refraction, ``CURVATURE * d**2`` at the distance ``d`` of that point
  (GDAL's viewshed uses the same coefficient, 0.85714 / (2 x 6,371 km));
* the target is hidden when, at some step, ``(z_i - eye) * n > i * rise``
  (``rise`` = target elevation, lowered by the curvature at its distance,
  minus the eye): the terrain rises above the straight line. A target in the
  eye's cell or a neighbouring one is always seen.

This is an exact per-pair line of sight (the "R3" of the viewshed literature),
not the approximated sweep of "R2": every target is walked to. Its cost per
road sample grows with the cube of ``max_km`` in cells, which
``bench/visibility_bench.py`` measures against a naive per-site computation.

What accumulates per target cell, with road samples grouped by *route* (one
carriageway of one road, :mod:`siteselect.visibility.roads`) and routes by
*road* (their label, ``I-15``):

* ``vehicles``: over routes, the largest daily volume among the route's
  samples that see the target. A vehicle passes every sample of its route, so
  it is counted once per route, not once per sample;
* ``view_seconds``: vehicle-seconds of view per day, the sum over visible
  samples of volume x (sample length / speed);
* ``road_m``: metres of road seen from (a carriageway of a divided road counts
  half, so both carriageways seen count as the road's length once);
* ``top_road``, ``top_vehicles``, ``top_road_m``: the road that brings the
  most vehicles, its vehicles and its metres seen.
"""

from __future__ import annotations

import math

import numba
import numpy as np

from siteselect.visibility.model import CURVATURE, Exposure, Samples


@numba.njit(cache=True, inline="always")
def _walk(
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
    """The sight line walked column by column (the caller ensures |dcol| >= |drow| >= 0)."""
    dr = trow - orow
    dc = tcol - ocol
    n = abs(dc)
    if n <= 1:
        return True
    d2 = (dr * dy) ** 2 + (dc * dx) ** 2
    rise = target - CURVATURE * d2 - eye
    step2 = CURVATURE * d2 / (n * n)
    slope = dr / n
    sc = 1 if dc > 0 else -1
    for i in range(1, n):
        rr = orow + i * slope
        r0 = math.floor(rr)
        f = rr - r0
        c = ocol + i * sc
        z = float(surface[r0, c])
        if f > 0.0:
            z = z + f * (float(surface[r0 + 1, c]) - z)
        z = z - step2 * (i * i)
        if (z - eye) * n > i * rise:
            return False
    return True


@numba.njit(cache=True, inline="always")
def _visible(
    surface: np.ndarray,
    surface_t: np.ndarray,
    orow: int,
    ocol: int,
    eye: float,
    trow: int,
    tcol: int,
    target: float,
    dx: float,
    dy: float,
) -> bool:
    """Whether the target (cell, elevation in m) is seen from the eye (see the module).

    Lines steeper than 45 degrees are walked in the transposed surface, so that
    every walk steps along the fast axis of a contiguous array.
    """
    if abs(tcol - ocol) >= abs(trow - orow):
        return _walk(surface, orow, ocol, eye, trow, tcol, target, dx, dy)
    return _walk(surface_t, ocol, orow, eye, tcol, trow, target, dy, dx)


@numba.njit(cache=True, parallel=True)
def _accumulate(
    surface,
    surface_t,
    target_z,
    target_index,
    row,
    col,
    eye,
    route,
    road,
    vehicles,
    view_seconds,
    road_m,
    max_m,
    dx,
    dy,
    n_parts,
    out_vehicles,
    out_view_seconds,
    out_road_m,
    out_top_road,
    out_top_vehicles,
    out_top_road_m,
):
    n_rows, n_cols = surface.shape
    n_targets = out_vehicles.shape[0]
    route_seen = np.full(n_targets, -1, dtype=np.int32)
    route_best = np.zeros(n_targets, dtype=np.float64)
    road_seen = np.full(n_targets, -1, dtype=np.int32)
    road_vehicles = np.zeros(n_targets, dtype=np.float64)
    road_len = np.zeros(n_targets, dtype=np.float64)
    max2 = max_m * max_m
    reach_rows = int(max_m / dy)
    for part in numba.prange(n_parts):
        for s in range(row.shape[0]):
            r0 = row[s]
            c0 = col[s]
            e = eye[s]
            first = max(r0 - reach_rows, 0)
            first += (part - first % n_parts) % n_parts
            for r in range(first, min(r0 + reach_rows + 1, n_rows), n_parts):
                off_y = (r - r0) * dy
                rest = max2 - off_y * off_y
                if rest < 0.0:
                    continue
                half = int(math.sqrt(rest) / dx)
                while (half + 1) * dx * ((half + 1) * dx) <= rest:
                    half += 1
                while half > 0 and half * dx * (half * dx) > rest:
                    half -= 1
                for c in range(max(c0 - half, 0), min(c0 + half + 1, n_cols)):
                    k = target_index[r, c]
                    if k < 0:
                        continue
                    if not _visible(surface, surface_t, r0, c0, e, r, c, target_z[k], dx, dy):
                        continue
                    # vehicles: the route's largest volume seen, summed over routes
                    if route_seen[k] != route[s]:
                        route_seen[k] = route[s]
                        route_best[k] = 0.0
                    if road_seen[k] != road[s]:
                        road_seen[k] = road[s]
                        road_vehicles[k] = 0.0
                        road_len[k] = 0.0
                    gain = vehicles[s] - route_best[k]
                    if gain > 0.0:
                        route_best[k] = vehicles[s]
                        out_vehicles[k] += gain
                        road_vehicles[k] += gain
                    out_view_seconds[k] += view_seconds[s]
                    out_road_m[k] += road_m[s]
                    road_len[k] += road_m[s]
                    if out_top_road[k] == road[s] or road_vehicles[k] > out_top_vehicles[k]:
                        out_top_road[k] = road[s]
                        out_top_vehicles[k] = road_vehicles[k]
                        out_top_road_m[k] = road_len[k]


def accumulate(
    surface: np.ndarray,
    target_z: np.ndarray,
    target_index: np.ndarray,
    samples: Samples,
    max_m: float,
    dx: float,
    dy: float,
) -> Exposure:
    """Exposure of every target cell to every road sample within ``max_m``.

    Parameters
    ----------
    surface : numpy.ndarray, (rows, cols)
        Elevations (m) that can block a sight line (ground plus obstacles;
        :data:`NO_GROUND` where unknown).
    target_z : numpy.ndarray of float64
        Per target, the elevation (m) of the building's top.
    target_index : numpy.ndarray of int32, (rows, cols)
        Target number of each cell, -1 for cells not evaluated.
    samples : Samples
        Road samples, grouped by road then route.
    max_m : float
        Largest distance between an eye and a target.
    dx, dy : float
        Cell width and height (m).

    Returns
    -------
    Exposure
        Per target. Deterministic: each target is updated by one thread, in
        sample order, whatever the number of threads.
    """
    n = len(target_z)
    out = Exposure(
        vehicles=np.zeros(n),
        view_seconds=np.zeros(n),
        road_m=np.zeros(n),
        top_road=np.full(n, -1, dtype=np.int32),
        top_vehicles=np.zeros(n),
        top_road_m=np.zeros(n),
    )
    if n == 0 or len(samples) == 0:
        return out
    surface = np.ascontiguousarray(surface, dtype=np.float32)
    _accumulate(
        surface,
        np.ascontiguousarray(surface.T),
        np.ascontiguousarray(target_z, dtype=np.float64),
        np.ascontiguousarray(target_index, dtype=np.int32),
        samples.row.astype(np.int64),
        samples.col.astype(np.int64),
        samples.eye.astype(np.float64),
        samples.route.astype(np.int32),
        samples.road.astype(np.int32),
        samples.vehicles.astype(np.float64),
        samples.view_seconds.astype(np.float64),
        samples.road_m.astype(np.float64),
        float(max_m),
        float(dx),
        float(dy),
        numba.get_num_threads(),
        out.vehicles,
        out.view_seconds,
        out.road_m,
        out.top_road,
        out.top_vehicles,
        out.top_road_m,
    )
    return out
