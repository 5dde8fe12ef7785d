"""Vectorised evaluation: the lowest imaginary surface above many points.

For ``N`` points (metres, working CRS) and all runways, :func:`evaluate`
returns the height (ft MSL) of the lowest surface above each point and which
surface it is. Points are processed in chunks; within a chunk the runway-local
coordinates of every (point, runway) pair come from one broadcast
(``chunk x R`` arrays, metres converted to feet with ``M_PER_FT``), a local
bounding box keeps the pairs a runway's surfaces can reach, and each runway's
surfaces are evaluated on its kept pairs only. Airport-level surfaces
(horizontal, conical, outer horizontal) use the signed distance to the
horizontal surface's outline (:mod:`siteselect.airspace.hull`), for points
inside the airport's reach box only. "No surface" is ``+inf``.

The formulas are in :mod:`siteselect.airspace.civil` and
:mod:`siteselect.airspace.military`; :mod:`siteselect.airspace.reference` is
the slow per-point, per-surface oracle the tests compare against.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from siteselect.airspace.breaklines import notice_reach
from siteselect.airspace.model import (
    APPROACH_HE,
    APPROACH_LE,
    CONICAL,
    HORIZONTAL,
    OUTER_HORIZONTAL,
    PRIMARY,
    TRANSITIONAL,
    AirspaceModel,
)
from siteselect.airspace.surfaces import AirportSurfaces, RunwaySurfaces
from siteselect.geo import M_PER_FT

DEFAULT_CHUNK = 32_768


@dataclass(frozen=True)
class HeightResult:
    """Lowest surface per point.

    Attributes
    ----------
    height_ft : numpy.ndarray
        Height MSL of the lowest surface above each point, ft; ``inf`` where no
        surface lies above it.
    code : numpy.ndarray
        Index into ``names`` of that surface; -1 where none.
    names : tuple of str
        Surface names (from the model).
    """

    height_ft: np.ndarray
    code: np.ndarray
    names: tuple[str, ...]

    @property
    def height_m(self) -> np.ndarray:
        """Height MSL in metres (``ft * 0.3048``)."""
        return self.height_ft * M_PER_FT

    def surface_names(self) -> np.ndarray:
        """Name of the controlling surface per point ("" where none)."""
        table = np.asarray([*self.names, ""], dtype=object)
        return table[np.where(self.code >= 0, self.code, len(self.names))]


def _take_lower(
    best_h: np.ndarray, best_c: np.ndarray, index: np.ndarray, h: np.ndarray, code: int
) -> None:
    lower = h < best_h[index]
    chosen = index[lower]
    best_h[chosen] = h[lower]
    best_c[chosen] = code


def approach_height_ft(surfaces: RunwaySurfaces, end: int, u_ft: np.ndarray) -> np.ndarray:
    """Height MSL of an approach surface at ``u_ft`` beyond the primary end (no width test)."""
    approach = surfaces.approaches[end]
    height = surfaces.end_elevation_ft(end) + approach.rise_ft(u_ft)
    if approach.cap_above_airport_ft is not None:
        height = np.minimum(height, surfaces.airport_elevation_ft + approach.cap_above_airport_ft)
    return height


def _transitional_valid(
    surfaces: RunwaySurfaces, height: np.ndarray, offset: np.ndarray, t_abs: np.ndarray
) -> np.ndarray:
    valid = offset > 0
    if surfaces.transitional_max_offset_ft is not None:
        valid &= offset <= surfaces.transitional_max_offset_ft
    if surfaces.transitional_max_from_centreline_ft is not None:
        valid &= t_abs <= surfaces.transitional_max_from_centreline_ft
    if surfaces.transitional_cap_above_airport_ft is not None:
        cap = surfaces.airport_elevation_ft + surfaces.transitional_cap_above_airport_ft
        valid &= height <= cap
    return valid


def runway_surface_heights(
    surfaces: RunwaySurfaces, s_ft: np.ndarray, t_ft: np.ndarray
) -> dict[int, np.ndarray]:
    """Height MSL (ft) of each runway surface at local (s, t); ``inf`` outside it.

    Returns
    -------
    dict
        Slot (``PRIMARY``, ``TRANSITIONAL``, ``APPROACH_LE``, ``APPROACH_HE``) to heights.
    """
    t_abs = np.abs(t_ft)
    e = surfaces.primary_extension_ft
    length = surfaces.length_ft
    half = surfaces.primary_half_width_ft
    slope = surfaces.transitional_slope
    along = (s_ft >= -e) & (s_ft <= length + e)
    base = surfaces.centreline_elevation_ft(s_ft)
    primary = np.where(along & (t_abs <= half), base, np.inf)
    offset = t_abs - half
    side = base + offset / slope
    transitional = np.where(
        along & _transitional_valid(surfaces, side, offset, t_abs), side, np.inf
    )
    heights = {PRIMARY: primary}
    for end, slot in ((0, APPROACH_LE), (1, APPROACH_HE)):
        approach = surfaces.approaches[end]
        u = -s_ft - e if end == 0 else s_ft - length - e
        within = (u >= 0) & (u <= approach.length_ft)
        h_app = approach_height_ft(surfaces, end, u)
        half_w = approach.half_width_ft(u)
        heights[slot] = np.where(within & (t_abs <= half_w), h_app, np.inf)
        offset = t_abs - half_w
        side = h_app + offset / slope
        ok = within & _transitional_valid(surfaces, side, offset, t_abs)
        transitional = np.where(ok, np.minimum(transitional, side), transitional)
    heights[TRANSITIONAL] = transitional
    return heights


def airport_surface_heights(
    surfaces: AirportSurfaces, distance_ft: np.ndarray
) -> dict[int, np.ndarray]:
    """Heights MSL (ft) of the horizontal, conical and outer horizontal surfaces.

    ``distance_ft`` is the signed distance to the horizontal surface's outline
    (negative inside).
    """
    elev = surfaces.airport.elevation_ft
    d = np.asarray(distance_ft, dtype="float64")
    top = elev + surfaces.horizontal_above_ft
    heights = {
        HORIZONTAL: np.where(d <= 0, top, np.inf),
        CONICAL: np.where(
            (d > 0) & (d <= surfaces.conical_length_ft), top + d / surfaces.conical_slope, np.inf
        ),
    }
    if surfaces.outer_above_ft is not None and surfaces.outer_length_ft is not None:
        outer = (d > surfaces.conical_length_ft) & (d <= surfaces.reach_ft)
        heights[OUTER_HORIZONTAL] = np.where(outer, elev + surfaces.outer_above_ft, np.inf)
    return heights


def _runway_arrays(model: AirspaceModel) -> tuple[np.ndarray, ...]:
    origin = np.array([s.runway.le_xy for s in model.runways], dtype="float64").reshape(-1, 2)
    axis = np.array([s.axis for s in model.runways], dtype="float64").reshape(-1, 2)
    reach = np.array([s.reach_ft() for s in model.runways], dtype="float64").reshape(-1, 3)
    return origin, axis, reach


def local_coordinates_ft(
    model: AirspaceModel, x_m: np.ndarray, y_m: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """(n, R) along/across coordinates in feet of points against every runway (one broadcast)."""
    origin, axis, _ = _runway_arrays(model)
    dx = x_m[:, None] - origin[None, :, 0]
    dy = y_m[:, None] - origin[None, :, 1]
    s = (dx * axis[None, :, 0] + dy * axis[None, :, 1]) / M_PER_FT
    t = (dy * axis[None, :, 0] - dx * axis[None, :, 1]) / M_PER_FT
    return s, t


def _evaluate_chunk(
    model: AirspaceModel, x: np.ndarray, y: np.ndarray, best_h: np.ndarray, best_c: np.ndarray
) -> None:
    if model.runways:
        _, _, reach = _runway_arrays(model)
        s, t = local_coordinates_ft(model, x, y)
        near = (
            (s >= reach[None, :, 0]) & (s <= reach[None, :, 1]) & (np.abs(t) <= reach[None, :, 2])
        )
        for r in np.flatnonzero(near.any(axis=0)):
            index = np.flatnonzero(near[:, r])
            heights = runway_surface_heights(model.runways[r], s[index, r], t[index, r])
            for slot, h in heights.items():
                _take_lower(best_h, best_c, index, h, int(model.runway_codes[r, slot]))
    for a, surfaces in enumerate(model.airports):
        xmin, ymin, xmax, ymax = surfaces.hull.bounds
        pad = surfaces.reach_ft * M_PER_FT
        index = np.flatnonzero(
            (x >= xmin - pad) & (x <= xmax + pad) & (y >= ymin - pad) & (y <= ymax + pad)
        )
        if index.size == 0:
            continue
        distance_ft = surfaces.hull.signed_distance(x[index], y[index]) / M_PER_FT
        for slot, h in airport_surface_heights(surfaces, distance_ft).items():
            _take_lower(best_h, best_c, index, h, int(model.airport_codes[a, slot]))


def evaluate(
    model: AirspaceModel, x_m: np.ndarray, y_m: np.ndarray, chunk: int = DEFAULT_CHUNK
) -> HeightResult:
    """Lowest surface height MSL (ft) above each point, and which surface it is.

    Parameters
    ----------
    model : AirspaceModel
    x_m, y_m : numpy.ndarray
        Point coordinates in the working CRS, metres.
    chunk : int
        Points per broadcast chunk (memory ~ ``chunk * R * 8`` bytes per array).

    Returns
    -------
    HeightResult
    """
    x_m = np.asarray(x_m, dtype="float64").ravel()
    y_m = np.asarray(y_m, dtype="float64").ravel()
    height = np.full(x_m.shape, np.inf)
    code = np.full(x_m.shape, -1, dtype=np.int32)
    for start in range(0, len(x_m), chunk):
        stop = min(start + chunk, len(x_m))
        h_view, c_view = height[start:stop], code[start:stop]
        _evaluate_chunk(model, x_m[start:stop], y_m[start:stop], h_view, c_view)
    return HeightResult(height_ft=height, code=code, names=tuple(model.names))


def evaluate_reached(
    model: AirspaceModel,
    x_m: np.ndarray,
    y_m: np.ndarray,
    runway_points: list[np.ndarray],
    airport_points: list[np.ndarray],
    airport_flat_ft: list[np.ndarray] | None = None,
) -> tuple[HeightResult, np.ndarray]:
    """:func:`evaluate`, each runway and airport on the points it may reach only.

    ``runway_points[r]`` / ``airport_points[a]`` index the points that runway
    ``r``'s / airport ``a``'s surfaces may lie over (a superset is fine: the
    surfaces are ``inf`` elsewhere). ``airport_flat_ft[a]``, aligned with
    ``airport_points[a]``, may give a distance to the horizontal surface's
    outline with the same heights as the point's own (a level zone), NaN
    where it must be computed. Surfaces are taken in the same order as
    :func:`evaluate` (runways, then airports), so ties name the same surface
    and the heights are the same to the last bit.

    Returns
    -------
    (HeightResult, numpy.ndarray)
        The lowest surface per point, and the least height of any surface above
        its own airport's elevation (ft; ``inf`` where none): where this is
        below the lowest surface minus its airport's elevation, a surface of an
        airport of another elevation lies over the point.
    """
    x_m = np.asarray(x_m, dtype="float64").ravel()
    y_m = np.asarray(y_m, dtype="float64").ravel()
    height = np.full(x_m.shape, np.inf)
    code = np.full(x_m.shape, -1, dtype=np.int32)
    above = np.full(x_m.shape, np.inf)

    def take(index: np.ndarray, h: np.ndarray, surface: int) -> None:
        _take_lower(height, code, index, h, surface)
        above[index] = np.minimum(above[index], h - model.airport_elevation_ft[surface])

    for r, index in enumerate(runway_points):
        if index.size == 0:
            continue
        surfaces = model.runways[r]
        s, t = surfaces.local_ft(x_m[index], y_m[index])
        for slot, h in runway_surface_heights(surfaces, s, t).items():
            take(index, h, int(model.runway_codes[r, slot]))
    for a, index in enumerate(airport_points):
        if index.size == 0:
            continue
        surfaces = model.airports[a]
        if airport_flat_ft is None:
            distance_ft = np.full(index.size, np.nan)
        else:
            distance_ft = airport_flat_ft[a].copy()
        unknown = np.flatnonzero(np.isnan(distance_ft))
        distance_ft[unknown] = (
            surfaces.hull.signed_distance(x_m[index[unknown]], y_m[index[unknown]]) / M_PER_FT
        )
        for slot, h in airport_surface_heights(surfaces, distance_ft).items():
            take(index, h, int(model.airport_codes[a, slot]))
    return HeightResult(height_ft=height, code=code, names=tuple(model.names)), above


def aicuz_at(model: AirspaceModel, x_m: np.ndarray, y_m: np.ndarray) -> np.ndarray:
    """Index into ``model.zones`` of the most severe AICUZ zone at each point; -1 outside.

    A point on a zone's boundary is inside it.
    """
    x_m = np.asarray(x_m, dtype="float64").ravel()
    y_m = np.asarray(y_m, dtype="float64").ravel()
    best = np.full(x_m.shape, -1, dtype=np.int32)
    severity = np.zeros(x_m.shape, dtype=np.int32)
    for z, zone in enumerate(model.zones):
        surfaces = model.runways[zone.runway_index]
        s, t = surfaces.local_ft(x_m, y_m)
        u = -s if zone.end == 0 else s - surfaces.length_ft
        inside = (u >= zone.start_ft) & (u <= zone.stop_ft) & (np.abs(t) <= zone.half_width_ft)
        worse = inside & (zone.severity > severity)
        best[worse] = z
        severity[worse] = zone.severity
    return best


def notice_required(
    model: AirspaceModel,
    x_m: np.ndarray,
    y_m: np.ndarray,
    ground_ft: np.ndarray,
    structure_ft: float,
    runway_points: list[np.ndarray] | None = None,
) -> np.ndarray:
    """Whether 14 CFR 77.9 asks for FAA notice (Form 7460-1) of a structure at each point.

    Notice is required for a structure more than 200 ft above ground level, or
    whose top exceeds an imaginary surface rising from the nearest point of the
    nearest runway at 100:1 for 20,000 ft (runways over 3,200 ft long), 50:1
    for 10,000 ft (shorter runways) or 25:1 for 5,000 ft (heliports).

    Parameters
    ----------
    ground_ft : numpy.ndarray
        Ground elevation at each point, ft MSL; NaN where unknown, in which case
        the ground is taken level with the nearest runway point (flat terrain).
    structure_ft : float
        Structure height above ground (including rooftop allowances), ft.
    runway_points : list of numpy.ndarray, optional
        Per runway, the points within its notice reach (a superset is fine);
        default: every point against every runway.
    """
    x_m = np.asarray(x_m, dtype="float64").ravel()
    y_m = np.asarray(y_m, dtype="float64").ravel()
    ground_ft = np.asarray(ground_ft, dtype="float64").ravel()
    required = np.full(ground_ft.shape, structure_ft > 200.0)
    if structure_ft > 200.0:
        return required
    for r, surfaces in enumerate(model.runways):
        index = np.arange(len(x_m)) if runway_points is None else runway_points[r]
        if index.size == 0:
            continue
        slope, reach = notice_reach(surfaces)
        s, t = surfaces.local_ft(x_m[index], y_m[index])
        beyond = np.maximum(np.maximum(-s, s - surfaces.length_ft), 0.0)
        distance = np.hypot(beyond, t)
        runway_ft = surfaces.centreline_elevation_ft(s)
        ground = ground_ft[index]
        top = np.where(np.isnan(ground), runway_ft, ground) + structure_ft
        required[index] |= (distance <= reach) & (top > runway_ft + distance / slope)
    return required
