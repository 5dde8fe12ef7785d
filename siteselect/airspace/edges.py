"""Candidate outlines as flat arrays of vertices and edges, and where edges meet lines.

:func:`outline` turns candidate geometries (polygons with holes,
multipolygons, lines, points) into one array of vertices and one of edges
(segments of the rings), each with its candidate, grouped by candidate with
offsets (CSR), so that a subset of candidates selects its edges without a
Python loop (:func:`take`). The crossing functions return points on the edges:
where an edge crosses a straight line or a circle, and the foot of the
perpendicular from a point. All in the working CRS (metres).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import shapely


@dataclass(frozen=True)
class Outline:
    """Vertices and edges of candidates, grouped by candidate.

    Attributes
    ----------
    vx, vy, v_owner, v_key : numpy.ndarray
        Every vertex (ring closing points once), its candidate and its place
        along the outline (``e + tau``: edge ``e``, fraction ``tau`` along it);
        grouped by candidate in candidate order, each candidate's first vertex
        first.
    x0, y0, x1, y1, e_owner : numpy.ndarray
        Every edge of the rings and lines, and its candidate (grouped alike).
    e_offsets : numpy.ndarray
        (n + 1,) candidate ``i``'s edges are ``e_offsets[i]:e_offsets[i + 1]``.
    """

    vx: np.ndarray
    vy: np.ndarray
    v_owner: np.ndarray
    v_key: np.ndarray
    x0: np.ndarray
    y0: np.ndarray
    x1: np.ndarray
    y1: np.ndarray
    e_owner: np.ndarray
    e_offsets: np.ndarray


def _paths(geoms: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Coordinates of every ring and line: (coords, path index, path's candidate, is ring).

    Polygons without holes (most parcels) are read directly, one ring each;
    holes, multi-part geometries and lines are split into parts and rings.
    Points are left out (:func:`_points`).
    """
    kind = shapely.get_type_id(geoms)
    simple = np.flatnonzero((kind == 3) & (shapely.get_num_interior_rings(geoms) == 0))
    coords, path = shapely.get_coordinates(geoms[simple], return_index=True)
    other = np.flatnonzero((kind != 3) | (shapely.get_num_interior_rings(geoms) != 0))
    if other.size == 0:
        return coords, path, simple, np.ones(simple.size, dtype=bool)
    parts, part_owner = shapely.get_parts(geoms[other], return_index=True)
    part_kind = shapely.get_type_id(parts)
    polygonal = part_kind == 3
    linear = (part_kind == 1) | (part_kind == 2)
    rings, ring_part = shapely.get_rings(parts[polygonal], return_index=True)
    more = np.concatenate([rings, parts[linear]])
    more_owner = other[np.concatenate([part_owner[polygonal][ring_part], part_owner[linear]])]
    more_coords, more_path = shapely.get_coordinates(more, return_index=True)
    return (
        np.concatenate([coords, more_coords]),
        np.concatenate([path, more_path + simple.size]),
        np.concatenate([simple, more_owner]),
        np.r_[np.ones(simple.size + len(rings), dtype=bool), np.zeros(linear.sum(), dtype=bool)],
    )


def outline(geoms: np.ndarray) -> Outline:
    """Vertices and edges of ``geoms`` (shapely geometries; empty ones have none)."""
    n = len(geoms)
    coords, path, path_owner, is_ring = _paths(geoms)
    start = np.flatnonzero(path[:-1] == path[1:])  # edge k: coords[start[k]] -> [start[k] + 1]
    e_owner = path_owner[path[start]].astype(np.int64)
    if e_owner.size and (np.diff(e_owner) < 0).any():
        # regroup by candidate, stably (a polygon's exterior ring first)
        order = np.argsort(e_owner, kind="stable")
        start, e_owner = start[order], e_owner[order]
    x0, y0 = coords[start, 0], coords[start, 1]
    x1, y1 = coords[start + 1, 0], coords[start + 1, 1]
    e_offsets = np.r_[0, np.cumsum(np.bincount(e_owner, minlength=n))].astype(np.int64)
    # vertices: the start of every edge (closed rings: each vertex once), keyed by
    # its place on the outline; then the last points of open lines, and points
    vx, vy, v_owner = x0, y0, e_owner
    v_key = np.arange(e_owner.size, dtype="float64")
    point_index = np.flatnonzero(shapely.get_type_id(geoms) == 0)
    if not is_ring.all() or point_index.size:
        last = np.flatnonzero(np.r_[path[1:] != path[:-1], True] & ~is_ring[path])
        edge_at = np.full(len(coords), -1, dtype=np.int64)
        edge_at[start + 1] = np.arange(start.size)  # the edge ending at each coordinate
        point_xy = shapely.get_coordinates(geoms[point_index]).reshape(-1, 2)
        vx = np.concatenate([vx, coords[last, 0], point_xy[:, 0]])
        vy = np.concatenate([vy, coords[last, 1], point_xy[:, 1]])
        v_owner = np.concatenate([v_owner, path_owner[path[last]], point_index])
        v_key = np.concatenate([v_key, edge_at[last] + 0.999, e_offsets[point_index] - 0.5])
        v_order = np.lexsort((v_key, v_owner))
        vx, vy, v_owner, v_key = vx[v_order], vy[v_order], v_owner[v_order], v_key[v_order]
    return Outline(
        vx=vx,
        vy=vy,
        v_owner=v_owner.astype(np.int64),
        v_key=v_key,
        x0=x0,
        y0=y0,
        x1=x1,
        y1=y1,
        e_owner=e_owner,
        e_offsets=e_offsets,
    )


def ranges(offsets: np.ndarray, which: np.ndarray) -> np.ndarray:
    """Concatenated ``offsets[i]:offsets[i + 1]`` for each ``i`` in ``which`` (CSR take)."""
    starts = offsets[which]
    lengths = offsets[which + 1] - starts
    heads = np.cumsum(lengths) - lengths
    return np.arange(int(lengths.sum()), dtype=np.int64) + np.repeat(starts - heads, lengths)


def cross_line(
    x0: np.ndarray, y0: np.ndarray, x1: np.ndarray, y1: np.ndarray, a: float, b: float, c: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Where edges cross the line ``a * x + b * y = c``.

    Returns
    -------
    (x, y, index, tau)
        Crossing points, the index of their edge and the fraction along it; an
        edge starting on the line counts, one ending on it does not (the next
        edge starts there).
    """
    v0 = a * x0 + b * y0 - c
    v1 = a * x1 + b * y1 - c
    e = np.flatnonzero((v0 <= 0) != (v1 <= 0))
    tau = v0[e] / (v0[e] - v1[e])
    return x0[e] + tau * (x1[e] - x0[e]), y0[e] + tau * (y1[e] - y0[e]), e, tau


def cross_circle(
    x0: np.ndarray, y0: np.ndarray, x1: np.ndarray, y1: np.ndarray, cx: float, cy: float, r: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Where edges cross the circle of centre ``(cx, cy)`` and radius ``r``.

    Returns
    -------
    (x, y, index, tau)
        Crossing points (up to two per edge), the index of their edge and the
        fraction along it.
    """
    dx, dy = x1 - x0, y1 - y0
    fx, fy = x0 - cx, y0 - cy
    qa = dx * dx + dy * dy
    qb = 2.0 * (fx * dx + fy * dy)
    qc = fx * fx + fy * fy - r * r
    disc = qb * qb - 4.0 * qa * qc
    ok = np.flatnonzero((disc >= 0) & (qa > 0))
    root = np.sqrt(disc[ok])
    taus = [(-qb[ok] + sign * root) / (2.0 * qa[ok]) for sign in (-1.0, 1.0)]
    tau = np.concatenate(taus)
    e = np.r_[ok, ok]
    inside = (tau >= 0.0) & (tau <= 1.0)
    e, tau = e[inside], tau[inside]
    return x0[e] + tau * dx[e], y0[e] + tau * dy[e], e, tau


def feet(
    x0: np.ndarray, y0: np.ndarray, x1: np.ndarray, y1: np.ndarray, px: float, py: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Feet of the perpendiculars from ``(px, py)`` that fall strictly inside the edges.

    (A foot outside an edge would be clamped to one of its ends: a vertex.)

    Returns
    -------
    (x, y, index, tau)
        As :func:`cross_line`.
    """
    dx, dy = x1 - x0, y1 - y0
    qa = dx * dx + dy * dy
    with np.errstate(invalid="ignore", divide="ignore"):
        tau = ((px - x0) * dx + (py - y0) * dy) / qa
    e = np.flatnonzero((tau > 0.0) & (tau < 1.0))
    return x0[e] + tau[e] * dx[e], y0[e] + tau[e] * dy[e], e, tau[e]
