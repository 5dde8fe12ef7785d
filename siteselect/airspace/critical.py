"""The points of a parcel where its lowest surface can be lowest: exactly, not by sampling.

Why these points
----------------
Every surface falls towards its runway or airport: a transitional surface
towards the primary or approach edge, an approach surface towards the runway
end (and is level across), the primary surface along the centre line towards
the lower end, the conical surface towards the horizontal surface, which is
level. From any point of a parcel one can walk downhill on the lowest surface
(to the edge it falls to, then along it) without the lowest surface ever
rising, until the walk leaves the parcel; so the parcel's minimum lies on its
outline, unless the parcel holds a runway end or the middle of a horizontal
surface (the lowest points of the primary and horizontal surfaces). Along one
edge of the outline each surface is linear between the places where the edge
crosses one of the surface's break lines
(:mod:`siteselect.airspace.breaklines`), except the conical surface, whose
height grows with the distance to the horizontal surface's outline (a convex,
smooth function: lowest at the foot of the perpendicular from an arc centre,
:mod:`siteselect.airspace.hull`). The minimum over the parcel is therefore
attained at one of:

1. the parcel's vertices;
2. the crossings of its edges with every break line of every runway that
   reaches it, each taken a hair (``NUDGE_M``) to both sides of the line, so
   that a surface ending there (a jump up to "no surface") is seen on its own
   side whatever the rounding;
3. the crossings with the horizontal surface's outline and with its offsets
   at the conical and outer horizontal surfaces' ends (circles about the arc
   centres, tangent lines), both sides alike; the feet of the perpendiculars
   from the arc centres;
4. the runway ends and arc centres that the parcel covers;
5. for the 77.9 notice test: the crossings with the runway-end lines and the
   centre line, with the sides and end arcs of the notice reach, and the feet
   from the runway ends (together with 1, the parcel's nearest points to the
   runway).

With flat ground at the airport elevation the allowable height is the lowest
surface minus a constant, so the same points give its minimum. Where surfaces
of airports of *different* elevations meet, the allowable height jumps (the
ground is the controlling airport's elevation): see ``docs/airspace.md`` and
:mod:`siteselect.airspace.crossings`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import shapely

from siteselect.airspace.breaklines import notice_lines, notice_reach, runway_lines
from siteselect.airspace.edges import Outline, cross_circle, cross_line, feet, outline, ranges
from siteselect.airspace.model import AirspaceModel
from siteselect.airspace.reach import Reach
from siteselect.airspace.surfaces import AirportSurfaces, RunwaySurfaces
from siteselect.geo import M_PER_FT

NUDGE_M = 1e-6
"""Distance to each side of a break line at which a crossing is evaluated (m)."""


@dataclass(frozen=True)
class ParcelPoints:
    """Points to evaluate, grouped by candidate (each candidate's vertices first).

    Attributes
    ----------
    x, y, owner : numpy.ndarray
        Coordinates (m) and candidate index, sorted by candidate.
    offsets : numpy.ndarray
        (n + 1,) candidate ``i``'s points are ``offsets[i]:offsets[i + 1]``.
    runway, notice, airport : list of numpy.ndarray
        Per runway / notice area / airport: the indices of the points of the
        candidates it reaches (:class:`~siteselect.airspace.reach.Reach`).
    airport_flat_ft : list of numpy.ndarray
        Per airport, aligned with ``airport``: a distance (ft) to the
        horizontal surface's outline giving the same heights as the point's
        own (its candidate lies in a level zone), or NaN (compute it).
    """

    x: np.ndarray
    y: np.ndarray
    owner: np.ndarray
    offsets: np.ndarray
    runway: list[np.ndarray]
    notice: list[np.ndarray]
    airport: list[np.ndarray]
    airport_flat_ft: list[np.ndarray]


class _Collector:
    """Points found on the outlines of the reached candidates (``sub`` indices)."""

    def __init__(self, edges: Outline) -> None:
        self.edges = edges
        self.x: list[np.ndarray] = [edges.vx]
        self.y: list[np.ndarray] = [edges.vy]
        self.owner: list[np.ndarray] = [edges.v_owner]
        self.key: list[np.ndarray] = [edges.v_key]

    def add(self, x: np.ndarray, y: np.ndarray, owner: np.ndarray, key: np.ndarray) -> None:
        """Points of candidates ``owner`` (``sub`` indices) at ``key`` along their outline."""
        self.x.append(x)
        self.y.append(y)
        self.owner.append(owner)
        self.key.append(key)

    def add_on_edges(
        self, x: np.ndarray, y: np.ndarray, edges: np.ndarray, tau: np.ndarray
    ) -> None:
        self.add(x, y, self.edges.e_owner[edges], edges + tau)

    def edges_of(self, candidates: np.ndarray) -> np.ndarray:
        return ranges(self.edges.e_offsets, candidates)

    def on_lines(
        self, candidates: np.ndarray, origin: tuple[float, float], lines_m: np.ndarray
    ) -> None:
        """Crossings with lines ``a * (x - x0) + b * (y - y0) = c`` (unit normals), both sides."""
        e = self.edges_of(candidates)
        if e.size == 0:
            return
        ox, oy = origin
        ex0, ey0 = self.edges.x0[e] - ox, self.edges.y0[e] - oy
        ex1, ey1 = self.edges.x1[e] - ox, self.edges.y1[e] - oy
        for a, b, c in lines_m:
            x, y, hit, tau = cross_line(ex0, ey0, ex1, ey1, a, b, c)
            for side in (-NUDGE_M, NUDGE_M):
                self.add_on_edges(x + ox + side * a, y + oy + side * b, e[hit], tau)

    def on_circle(self, candidates: np.ndarray, centre: np.ndarray, radius: float) -> None:
        """Crossings with a circle, both sides."""
        e = self.edges_of(candidates)
        if e.size == 0:
            return
        cx, cy = float(centre[0]), float(centre[1])
        x, y, hit, tau = cross_circle(
            self.edges.x0[e], self.edges.y0[e], self.edges.x1[e], self.edges.y1[e], cx, cy, radius
        )
        length = np.maximum(np.hypot(x - cx, y - cy), 1e-300)
        ux, uy = (x - cx) / length, (y - cy) / length
        for side in (-NUDGE_M, NUDGE_M):
            self.add_on_edges(x + side * ux, y + side * uy, e[hit], tau)

    def feet_from(self, candidates: np.ndarray, px: float, py: float) -> None:
        e = self.edges_of(candidates)
        if e.size == 0:
            return
        x, y, hit, tau = feet(
            self.edges.x0[e], self.edges.y0[e], self.edges.x1[e], self.edges.y1[e], px, py
        )
        self.add_on_edges(x, y, e[hit], tau)


def _lines_in_metres(surfaces: RunwaySurfaces, lines_ft: np.ndarray) -> np.ndarray:
    """Local-feet lines ``a_s s + a_t t = b`` as unit-normal lines about the ``le`` end (m)."""
    ax, ay = surfaces.axis
    a_s, a_t, b = lines_ft[:, 0], lines_ft[:, 1], lines_ft[:, 2]
    a = a_s * ax - a_t * ay
    c = a_s * ay + a_t * ax
    norm = np.hypot(a_s, a_t)
    return np.column_stack([a / norm, c / norm, b * M_PER_FT / norm])


def _crossing(
    lines_m: np.ndarray,
    origin: tuple[float, float],
    candidates: np.ndarray,
    cx: np.ndarray,
    cy: np.ndarray,
    radius: np.ndarray,
) -> np.ndarray:
    """Per line, the candidates whose bounding circle the line meets (a boolean (k, m) array)."""
    dx, dy = cx[candidates] - origin[0], cy[candidates] - origin[1]
    value = lines_m[:, :1] * dx + lines_m[:, 1:2] * dy - lines_m[:, 2:]
    return np.abs(value) <= radius[candidates] + 1e-6


def _add_lines(
    collect: _Collector,
    lines_m: np.ndarray,
    origin: tuple[float, float],
    reached: np.ndarray,
    sub: np.ndarray,
    reach: Reach,
) -> None:
    if reached.size == 0 or len(lines_m) == 0:
        return
    meets = _crossing(lines_m, origin, reached, reach.cx, reach.cy, reach.radius_m)
    for k in np.flatnonzero(meets.any(axis=1)):
        collect.on_lines(sub[reached[meets[k]]], origin, lines_m[k : k + 1])


def _runway_points(
    collect: _Collector, model: AirspaceModel, reach: Reach, sub: np.ndarray, structure_ft: float
) -> None:
    for r, surfaces in enumerate(model.runways):
        origin = surfaces.runway.le_xy
        lines = _lines_in_metres(surfaces, runway_lines(surfaces))
        _add_lines(collect, lines, origin, reach.runway[r], sub, reach)
        if structure_ft > 200.0:
            continue  # notice is required everywhere: no need for its points
        reached = reach.notice[r]
        _add_lines(
            collect, _lines_in_metres(surfaces, notice_lines(surfaces)), origin, reached, sub, reach
        )
        _, reach_ft = notice_reach(surfaces)
        s, _ = surfaces.local_ft(reach.cx[reached], reach.cy[reached])
        radius_ft = reach.radius_m[reached] / M_PER_FT
        for end, end_xy in enumerate((surfaces.runway.le_xy, surfaces.runway.he_xy)):
            beyond = (s - radius_ft < 0) if end == 0 else (s + radius_ft > surfaces.length_ft)
            centre = np.asarray(end_xy)
            candidates = reached[beyond]
            distance = np.hypot(reach.cx[candidates] - centre[0], reach.cy[candidates] - centre[1])
            ring = np.abs(distance - reach_ft * M_PER_FT) <= reach.radius_m[candidates]
            collect.on_circle(sub[candidates[ring]], centre, reach_ft * M_PER_FT)
            collect.feet_from(sub[candidates], *end_xy)


def _airport_points(
    collect: _Collector,
    surfaces: AirportSurfaces,
    reached: np.ndarray,
    d_m: np.ndarray,
    reach: Reach,
    sub: np.ndarray,
) -> None:
    hull = surfaces.hull
    radius = reach.radius_m[reached]
    conical_m = surfaces.conical_length_ft * M_PER_FT
    sloped = reached[(d_m + radius > 0) & (d_m - radius < conical_m)]
    discs = np.unique(hull.arc_disc)
    for i in discs:
        collect.feet_from(sub[sloped], *hull.centres[i])
    finite = np.isfinite(hull.seg_offset)
    for offset in sorted({0.0, conical_m, surfaces.reach_ft * M_PER_FT}):
        near = reached[np.abs(d_m - offset) <= radius]
        if near.size == 0:
            continue
        for i in discs:
            collect.on_circle(sub[near], hull.centres[i], hull.radii[i] + offset)
        lines = np.column_stack([hull.seg_normal[finite], hull.seg_offset[finite] + offset])
        collect.on_lines(sub[near], (0.0, 0.0), lines)


def _covered(collect: _Collector, geoms: np.ndarray, near: np.ndarray, points: np.ndarray) -> None:
    """Special points (runway ends, arc centres) inside reached candidates."""
    if len(points) == 0 or near.size == 0:
        return
    tree = shapely.STRtree(shapely.points(points))
    candidate, point = tree.query(geoms[near], predicate="intersects")
    key = collect.edges.e_offsets[candidate + 1] - 0.25  # after the candidate's outline points
    collect.add(points[point, 0], points[point, 1], candidate, key)


def critical_points(
    model: AirspaceModel, geoms: np.ndarray, reach: Reach, structure_ft: float
) -> ParcelPoints:
    """The points of each reached candidate that hold its minimum (module docstring).

    Parameters
    ----------
    model : AirspaceModel
    geoms : numpy.ndarray of shapely geometries
        All candidates (working CRS).
    reach : Reach
        :func:`siteselect.airspace.reach.reach` of ``geoms``.
    structure_ft : float
        Planned height above ground; above 200 ft 77.9 asks for notice anyway
        and the notice test's own points are skipped.

    Returns
    -------
    ParcelPoints
        The points of the reached candidates, and the first vertex of the others
        (no surface lies over them: that vertex is where their ground is read).
    """
    n = len(geoms)
    near = reach.near()
    sub = np.full(n, -1, dtype=np.int64)
    sub[near] = np.arange(near.size)
    collect = _Collector(outline(geoms[near]))
    _runway_points(collect, model, reach, sub, structure_ft)
    for a, surfaces in enumerate(model.airports):
        _airport_points(
            collect, surfaces, reach.airport[a], reach.airport_distance_m[a], reach, sub
        )
    special = [xy for s in model.runways for xy in (s.runway.le_xy, s.runway.he_xy)]
    special += [
        tuple(a.hull.centres[i]) for a in model.airports for i in np.unique(a.hull.arc_disc)
    ]
    _covered(collect, geoms, near, np.asarray(special, dtype="float64").reshape(-1, 2))
    # the others are under no surface: their first vertex stands for them (ground raster)
    far = np.flatnonzero(sub < 0)
    coords, index = shapely.get_coordinates(geoms[far], return_index=True)
    _, first = np.unique(index, return_index=True)
    x = np.concatenate([*collect.x, coords[first, 0]])
    y = np.concatenate([*collect.y, coords[first, 1]])
    owner = np.concatenate(
        [near[np.concatenate(collect.owner).astype(np.int64)], far[index[first]]]
    )
    key = np.concatenate([*collect.key, np.zeros(first.size)])
    return group_points(x, y, owner, reach, n, key)


def group_points(
    x: np.ndarray,
    y: np.ndarray,
    owner: np.ndarray,
    reach: Reach,
    n: int,
    key: np.ndarray | None = None,
) -> ParcelPoints:
    """Sort points by candidate, then ``key`` (their place along the outline; stable), and
    index them per runway and airport."""
    if key is None:
        order = np.argsort(owner, kind="stable")
    else:
        # by key, then (stably) by candidate: the keys of a candidate's outline
        # points rise with the candidate, so both sorts mostly meet sorted runs
        by_key = np.argsort(key, kind="stable")
        order = by_key[np.argsort(owner[by_key], kind="stable")]
    owner = owner[order]
    offsets = np.r_[0, np.cumsum(np.bincount(owner, minlength=n))].astype(np.int64)

    counts = np.diff(offsets)

    def points_of(candidates: np.ndarray) -> np.ndarray:
        return ranges(offsets, candidates)

    return ParcelPoints(
        x=x[order],
        y=y[order],
        owner=owner,
        offsets=offsets,
        runway=[points_of(c) for c in reach.runway],
        notice=[points_of(c) for c in reach.notice],
        airport=[points_of(c) for c in reach.airport],
        airport_flat_ft=[
            np.repeat(flat, counts[c])
            for c, flat in zip(reach.airport, reach.airport_flat_ft, strict=True)
        ],
    )
