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


def outline(geoms: np.ndarray) -> Outline:
    """Vertices and edges of ``geoms`` (shapely geometries; empty ones have none)."""
    n = len(geoms)
    parts, part_owner = shapely.get_parts(geoms, return_index=True)
    kind = shapely.get_type_id(parts)
    polygonal = kind == 3
    rings, ring_part = shapely.get_rings(parts[polygonal], return_index=True)
    linear = (kind == 1) | (kind == 2)
    paths = np.concatenate([rings, parts[linear]])
    path_owner = np.concatenate([part_owner[polygonal][ring_part], part_owner[linear]]).astype(
        np.int64
    )
    coords, path = shapely.get_coordinates(paths, return_index=True)
    owner = path_owner[path]
    same = path[:-1] == path[1:]
    # stable sort by candidate: rings of a candidate keep their order (exterior first)
    order = np.argsort(owner[:-1][same], kind="stable")
    x0 = coords[:-1, 0][same][order]
    y0 = coords[:-1, 1][same][order]
    x1 = coords[1:, 0][same][order]
    y1 = coords[1:, 1][same][order]
    e_owner = owner[:-1][same][order].astype(np.int64)
    counts = np.bincount(e_owner, minlength=n)
    e_offsets = np.r_[0, np.cumsum(counts)].astype(np.int64)
    edge_of_start = np.empty(len(order), dtype=np.int64)
    edge_of_start[order] = np.arange(len(order))
    # vertices: the start of every edge (closed rings: each vertex once), the
    # last points of open lines, and points; keyed by their place on the outline
    last = np.r_[~same, True]
    ring_path = np.zeros(len(paths), dtype=bool)
    ring_path[: len(rings)] = True
    open_end = np.flatnonzero(last & ~ring_path[path])
    # an open line's last point: just past the end of its last edge
    open_key = _after_last_edge(same, edge_of_start, open_end)
    points = np.flatnonzero(kind == 0)
    point_xy = shapely.get_coordinates(parts[points]).reshape(-1, 2)
    point_owner = part_owner[points].astype(np.int64)
    vx = np.concatenate([coords[:-1, 0][same], coords[open_end, 0], point_xy[:, 0]])
    vy = np.concatenate([coords[:-1, 1][same], coords[open_end, 1], point_xy[:, 1]])
    v_owner = np.concatenate([owner[:-1][same], owner[open_end], point_owner]).astype(np.int64)
    v_key = np.concatenate(
        [edge_of_start.astype("float64"), open_key, e_offsets[point_owner] - 0.5]
    )
    v_order = np.lexsort((v_key, v_owner))
    return Outline(
        vx=vx[v_order],
        vy=vy[v_order],
        v_owner=v_owner[v_order],
        v_key=v_key[v_order],
        x0=x0,
        y0=y0,
        x1=x1,
        y1=y1,
        e_owner=e_owner,
        e_offsets=e_offsets,
    )


def _after_last_edge(
    same: np.ndarray, edge_of_start: np.ndarray, open_end: np.ndarray
) -> np.ndarray:
    """Key of an open line's last coordinate: its last edge's index plus 0.999."""
    edge_number = np.cumsum(same) - 1  # edge index (unsorted) ending at coordinate i + 1
    return edge_of_start[edge_number[np.maximum(open_end - 1, 0)]] + 0.999


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
