"""Slow reference evaluation: one point, one surface at a time, in plain Python.

The test oracle for :func:`siteselect.airspace.heights.evaluate` and the
baseline of ``bench/airspace_bench.py``. It shares only the parameter records
with the vectorised code: the formulas are written out again with ``math``,
and the horizontal surface's outline is a shapely polygon (convex hull of
finely buffered discs) instead of the analytic disc hull. Never used in a run.
"""

from __future__ import annotations

import math

import shapely

from siteselect.airspace.model import AirspaceModel
from siteselect.airspace.surfaces import AirportSurfaces, ApproachSurface, RunwaySurfaces
from siteselect.geo import M_PER_FT


def _rise(approach: ApproachSurface, u: float) -> float:
    rise, start = 0.0, 0.0
    for length, slope in zip(approach.lengths_ft, approach.slopes, strict=True):
        if u > start:
            rise += min(u - start, length) / slope
        start += length
    return rise


def _transitional_ok(rs: RunwaySurfaces, height: float, offset: float, t_abs: float) -> bool:
    if offset <= 0:
        return False
    if rs.transitional_max_offset_ft is not None and offset > rs.transitional_max_offset_ft:
        return False
    if (
        rs.transitional_max_from_centreline_ft is not None
        and t_abs > rs.transitional_max_from_centreline_ft
    ):
        return False
    cap = rs.transitional_cap_above_airport_ft
    return cap is None or height <= rs.airport_elevation_ft + cap


def runway_heights_naive(rs: RunwaySurfaces, x_m: float, y_m: float) -> list[tuple[float, str]]:
    """(height ft MSL, surface) of every surface of one runway above one point."""
    runway = rs.runway
    (x0, y0), (x1, y1) = runway.le_xy, runway.he_xy
    length_m = math.hypot(x1 - x0, y1 - y0)
    ax, ay = (x1 - x0) / length_m, (y1 - y0) / length_m
    s = ((x_m - x0) * ax + (y_m - y0) * ay) / M_PER_FT
    t_abs = abs((y_m - y0) * ax - (x_m - x0) * ay) / M_PER_FT
    length = length_m / M_PER_FT
    e = rs.primary_extension_ft
    out: list[tuple[float, str]] = []
    if -e <= s <= length + e:
        fraction = min(max(s / length, 0.0), 1.0)
        base = runway.le_elevation_ft + (runway.he_elevation_ft - runway.le_elevation_ft) * fraction
        if t_abs <= rs.primary_half_width_ft:
            out.append((base, "primary"))
        offset = t_abs - rs.primary_half_width_ft
        side = base + offset / rs.transitional_slope
        if _transitional_ok(rs, side, offset, t_abs):
            out.append((side, "transitional"))
    for end in (0, 1):
        approach = rs.approaches[end]
        u = -s - e if end == 0 else s - length - e
        if not 0 <= u <= approach.length_ft:
            continue
        elevation = runway.le_elevation_ft if end == 0 else runway.he_elevation_ft
        height = elevation + _rise(approach, u)
        if approach.cap_above_airport_ft is not None:
            height = min(height, rs.airport_elevation_ft + approach.cap_above_airport_ft)
        half = 0.5 * (
            approach.inner_width_ft
            + (approach.outer_width_ft - approach.inner_width_ft) * u / approach.length_ft
        )
        if t_abs <= half:
            out.append((height, f"approach {end}"))
        offset = t_abs - half
        side = height + offset / rs.transitional_slope
        if _transitional_ok(rs, side, offset, t_abs):
            out.append((side, "transitional"))
    return out


_OUTLINES: dict[int, tuple[AirportSurfaces, shapely.Polygon]] = {}


def _outline(surfaces: AirportSurfaces) -> shapely.Polygon:
    cached = _OUTLINES.get(id(surfaces))
    if cached is not None and cached[0] is surfaces:
        return cached[1]
    discs = [
        shapely.Point(cx, cy).buffer(r, quad_segs=1024)
        for (cx, cy), r in zip(surfaces.hull.centres, surfaces.hull.radii, strict=True)
    ]
    outline = shapely.convex_hull(shapely.MultiPolygon(discs))
    _OUTLINES[id(surfaces)] = (surfaces, outline)
    return outline


def airport_heights_naive(
    surfaces: AirportSurfaces, x_m: float, y_m: float
) -> list[tuple[float, str]]:
    """(height ft MSL, surface) of the horizontal/conical/outer surfaces above one point."""
    outline = _outline(surfaces)
    point = shapely.Point(x_m, y_m)
    if outline.covers(point):
        return [(surfaces.airport.elevation_ft + surfaces.horizontal_above_ft, "horizontal")]
    d = outline.distance(point) / M_PER_FT
    top = surfaces.airport.elevation_ft + surfaces.horizontal_above_ft
    if d <= surfaces.conical_length_ft:
        return [(top + d / surfaces.conical_slope, "conical")]
    if surfaces.outer_above_ft is not None and d <= surfaces.reach_ft:
        return [(surfaces.airport.elevation_ft + surfaces.outer_above_ft, "outer horizontal")]
    return []


def lowest_surface_naive(model: AirspaceModel, x_m: float, y_m: float) -> float:
    """Lowest surface height (ft MSL) above one point; ``inf`` where none."""
    best = math.inf
    for rs in model.runways:
        for height, _ in runway_heights_naive(rs, x_m, y_m):
            best = min(best, height)
    for surfaces in model.airports:
        for height, _ in airport_heights_naive(surfaces, x_m, y_m):
            best = min(best, height)
    return best
