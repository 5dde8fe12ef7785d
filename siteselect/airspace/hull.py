"""The convex hull of discs: the outline of horizontal surfaces, exactly.

14 CFR 77.19(a) and UFC 3-260-01 build the (inner) horizontal surface by
"swinging arcs" of a given radius about the centre of each end of each primary
surface and "connecting the adjacent arcs by lines tangent to those arcs": the
convex hull of a set of discs. Its boundary is a cycle of circular arcs and
tangent segments; the conical and outer horizontal surfaces are measured as a
horizontal distance from that boundary.

:class:`DiscHull` keeps the boundary exactly (tangent points solved
analytically) and evaluates the *signed* distance of many points to it in one
vectorised pass, using the support-function identity for a convex set ``K``::

    d(p, K) = max over unit u of (u . p - h_K(u)),     h_K(u) = max_i (u . c_i + r_i)

which is the distance for points outside ``K`` and minus the distance to the
boundary for points inside. Over the normals of one arc of disc ``i`` the
maximum is ``|p - c_i| - r_i`` when the direction of ``p - c_i`` falls within
the arc, otherwise it is reached at a tangent segment's normal; hence
``d = max(segment terms, arc terms in range)``.

All lengths here are in the unit of the coordinates given (metres of the
working CRS in siteselect).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import shapely
from scipy.spatial import cKDTree

_TWO_PI = 2.0 * np.pi
_POLYGON_VERTICES_PER_DISC = 2048


@dataclass(frozen=True)
class DiscHull:
    """Convex hull of discs, as boundary arcs and tangent segments.

    Attributes
    ----------
    centres : numpy.ndarray
        (k, 2) disc centres.
    radii : numpy.ndarray
        (k,) disc radii, same unit as the centres.
    arc_disc : numpy.ndarray
        (m,) index of the disc of each boundary arc, counter-clockwise order.
    arc_start, arc_sweep : numpy.ndarray
        (m,) start angle (radians, from +x) and counter-clockwise sweep of each arc.
    seg_normal : numpy.ndarray
        (m, 2) outward unit normal of the tangent segment leaving each arc.
    seg_offset : numpy.ndarray
        (m,) ``normal . point`` for any point of that segment (support value).
    """

    centres: np.ndarray
    radii: np.ndarray
    arc_disc: np.ndarray
    arc_start: np.ndarray
    arc_sweep: np.ndarray
    seg_normal: np.ndarray
    seg_offset: np.ndarray

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        """(xmin, ymin, xmax, ymax) of the hull."""
        c, r = self.centres, self.radii
        return (
            float(np.min(c[:, 0] - r)),
            float(np.min(c[:, 1] - r)),
            float(np.max(c[:, 0] + r)),
            float(np.max(c[:, 1] + r)),
        )

    def signed_distance(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Distance outside the hull (> 0), minus the distance to its boundary inside (<= 0).

        Parameters
        ----------
        x, y : numpy.ndarray
            Point coordinates, same unit as the discs.

        Returns
        -------
        numpy.ndarray
            float64, one per point.
        """
        x = np.asarray(x, dtype="float64")
        y = np.asarray(y, dtype="float64")
        best = np.full(x.shape, -np.inf)
        for k in range(len(self.arc_disc)):
            normal = self.seg_normal[k]
            if np.isfinite(self.seg_offset[k]):
                np.maximum(best, normal[0] * x + normal[1] * y - self.seg_offset[k], out=best)
            i = self.arc_disc[k]
            dx = x - self.centres[i, 0]
            dy = y - self.centres[i, 1]
            arc_term = np.hypot(dx, dy) - self.radii[i]
            if self.arc_sweep[k] < _TWO_PI - 1e-12:
                arc_term[~self._in_arc(k, dx, dy)] = -np.inf
            np.maximum(best, arc_term, out=best)
        return best

    def _in_arc(self, k: int, dx: np.ndarray, dy: np.ndarray) -> np.ndarray:
        """Whether directions ``(dx, dy)`` from arc ``k``'s centre fall within its sweep.

        Half-plane tests against the arc's end normals (no arctangent): within
        a sweep up to a half turn a direction must be left of the start and
        right of the end; beyond, it must not lie strictly in the gap between.
        """
        a0, sweep = self.arc_start[k], self.arc_sweep[k]
        c0, s0 = np.cos(a0), np.sin(a0)
        c1, s1 = np.cos(a0 + sweep), np.sin(a0 + sweep)
        after_start = c0 * dy - s0 * dx
        before_end = dx * s1 - dy * c1
        if sweep <= np.pi:
            return (after_start >= 0) & (before_end >= 0)
        return ~((after_start < 0) & (before_end < 0))

    def polygon(self, vertices_per_turn: int = 720) -> shapely.Polygon:
        """The hull as a polygon, arcs sampled every ``360 / vertices_per_turn`` degrees."""
        points: list[np.ndarray] = []
        for k in range(len(self.arc_disc)):
            i = self.arc_disc[k]
            steps = max(2, int(np.ceil(self.arc_sweep[k] / _TWO_PI * vertices_per_turn)) + 1)
            angles = self.arc_start[k] + np.linspace(0.0, self.arc_sweep[k], steps)
            arc = self.centres[i] + self.radii[i] * np.column_stack(
                [np.cos(angles), np.sin(angles)]
            )
            points.append(arc)
        return shapely.Polygon(np.vstack(points)).buffer(0)


def _drop_contained(centres: np.ndarray, radii: np.ndarray) -> np.ndarray:
    """Indices of the discs not inside another disc."""
    keep: list[int] = []
    for i in range(len(radii)):
        inside = False
        for j in range(len(radii)):
            if i == j:
                continue
            gap = np.hypot(*(centres[i] - centres[j]))
            if gap + radii[i] <= radii[j] + 1e-9 and (radii[i] < radii[j] or j < i):
                inside = True
                break
        if not inside:
            keep.append(i)
    return np.asarray(keep, dtype=int)


def _hull_order(centres: np.ndarray, radii: np.ndarray) -> list[int]:
    """Discs met walking the hull boundary counter-clockwise (a disc may recur)."""
    angles = np.linspace(0.0, _TWO_PI, _POLYGON_VERTICES_PER_DISC, endpoint=False)
    ring = np.column_stack([np.cos(angles), np.sin(angles)])
    coords = np.vstack([c + r * ring for c, r in zip(centres, radii, strict=True)])
    owner = np.repeat(np.arange(len(radii)), len(angles))
    hull = shapely.convex_hull(shapely.multipoints(coords))
    hull = shapely.orient_polygons(hull, exterior_cw=False)
    vertices = np.asarray(hull.exterior.coords)[:-1]
    # which disc each hull vertex came from: nearest generated point
    _, nearest = cKDTree(coords).query(vertices)
    sequence = owner[nearest].tolist()
    runs = [d for k, d in enumerate(sequence) if k == 0 or d != sequence[k - 1]]
    while len(runs) > 1 and runs[0] == runs[-1]:
        runs.pop()
    return runs


def _outward_tangent_normal(
    ci: np.ndarray, ri: float, cj: np.ndarray, rj: float
) -> np.ndarray | None:
    """Outward normal of the tangent from disc i to disc j along a counter-clockwise hull."""
    d = cj - ci
    length = float(np.hypot(*d))
    if length <= 0 or abs(ri - rj) >= length:
        return None
    e = d / length
    right = np.array([e[1], -e[0]])
    alpha = (ri - rj) / length
    return alpha * e + np.sqrt(1.0 - alpha * alpha) * right


def disc_hull(centres: np.ndarray, radii: np.ndarray) -> DiscHull:
    """Build the convex hull of discs.

    Parameters
    ----------
    centres : numpy.ndarray
        (k, 2) disc centres.
    radii : numpy.ndarray
        (k,) radii (> 0), same unit.

    Returns
    -------
    DiscHull
    """
    centres = np.asarray(centres, dtype="float64").reshape(-1, 2)
    radii = np.asarray(radii, dtype="float64").reshape(-1)
    if len(radii) == 0 or (radii <= 0).any():
        raise ValueError("disc_hull needs at least one disc with a positive radius")
    keep = _drop_contained(centres, radii)
    centres, radii = centres[keep], radii[keep]
    order = [0] if len(radii) == 1 else _hull_order(centres, radii)
    m = len(order)
    if m == 1:
        return DiscHull(
            centres=centres,
            radii=radii,
            arc_disc=np.array(order),
            arc_start=np.zeros(1),
            arc_sweep=np.array([_TWO_PI]),
            seg_normal=np.zeros((1, 2)),
            seg_offset=np.array([np.inf]),
        )
    normals = np.zeros((m, 2))
    for k in range(m):
        i, j = order[k], order[(k + 1) % m]
        normal = _outward_tangent_normal(centres[i], radii[i], centres[j], radii[j])
        if normal is None:  # pragma: no cover - excluded by _drop_contained
            raise ValueError("degenerate disc hull")
        normals[k] = normal
    offsets = np.array(
        [normals[k] @ centres[order[k]] + radii[order[k]] for k in range(m)], dtype="float64"
    )
    normal_angles = np.arctan2(normals[:, 1], normals[:, 0])
    # the arc of disc order[k] runs from the normal of the incoming segment (k-1) to that of k
    starts = np.roll(normal_angles, 1)
    sweeps = np.mod(normal_angles - starts, _TWO_PI)
    return DiscHull(
        centres=centres,
        radii=radii,
        arc_disc=np.asarray(order, dtype=int),
        arc_start=starts,
        arc_sweep=sweeps,
        seg_normal=normals,
        seg_offset=offsets,
    )
