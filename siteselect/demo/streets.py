"""Synthetic surface streets: a jittered, gently warped grid on land, plus named roads.

Local streets (``highway=residential``) run every ~400 m; every fourth grid line
is an arterial (``tertiary``/``secondary``/``primary``, ~1.6 km apart). Streets
stay on land and off airfields; local streets stop at parks, canyons and
freeways (arterials cross them on bridges, without a shared node).
"""

from __future__ import annotations

import itertools
import logging
from dataclasses import dataclass, field

import numpy as np
import shapely
from scipy.spatial import cKDTree
from shapely.geometry import LineString

from siteselect.demo import names
from siteselect.demo.common import to_work
from siteselect.demo.corridors import SURFACE_ROADS
from siteselect.demo.geography import Geography, urbanity
from siteselect.demo.network import RoadNetwork

log = logging.getLogger(__name__)

SPACING_M = 400.0
ARTERIAL_EVERY = 4
JITTER_M = 30.0
WARP_M = 70.0
FREEWAY_CLEAR_M = 35.0
RURAL_URBANITY = 0.12
RURAL_DROP_P = 0.25
MAX_WAY_EDGES = 8
H_OFFSET = 100_000  # line id offset of east-west lines
ARTERIAL_CLASSES = ("primary", "secondary", "tertiary")


@dataclass
class SurfaceGrid:
    """The surface street grid before it is written as ways.

    Attributes
    ----------
    net
        Network holding the grid nodes (and, later, everything else).
    eu, ev
        Edge end nodes, ``eu`` at the lower position along the line.
    line, pos
        Grid line id of each edge (``i`` north-south, ``H_OFFSET + j``
        east-west) and its position along that line.
    cls
        ``highway`` class of each edge.
    oneway
        0 two-way, +1 one-way in increasing position, -1 in decreasing position.
    splits
        Nodes inserted into an edge (ordered from ``eu`` to ``ev``), e.g. ramp
        terminals.
    line_tags
        Base tags of each grid line.
    """

    net: RoadNetwork
    eu: np.ndarray
    ev: np.ndarray
    line: np.ndarray
    pos: np.ndarray
    cls: np.ndarray
    oneway: np.ndarray
    line_tags: dict[int, dict[str, str]]
    splits: dict[int, list[int]] = field(default_factory=dict)

    def edge_lines(self, idx: np.ndarray) -> np.ndarray:
        """Straight segments of the given edges (working CRS)."""
        xy = self.net.coords()
        coords = np.stack([xy[self.eu[idx]], xy[self.ev[idx]]], axis=1)
        return shapely.linestrings(coords)

    def used_nodes(self) -> np.ndarray:
        """Indices of grid nodes that have at least one edge."""
        return np.unique(np.concatenate([self.eu, self.ev]))


def _warp(x: np.ndarray, y: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Smooth displacement field (metres) that bends the grid into gentle curves."""
    ph = rng.uniform(0.0, 2.0 * np.pi, size=4)
    wx = WARP_M * (
        0.6 * np.sin(2 * np.pi * y / 7000.0 + ph[0])
        + 0.4 * np.sin(2 * np.pi * (x / 11000.0 + y / 9000.0) + ph[1])
    )
    wy = WARP_M * (
        0.6 * np.sin(2 * np.pi * x / 8000.0 + ph[2])
        + 0.4 * np.sin(2 * np.pi * (x / 9500.0 - y / 12000.0) + ph[3])
    )
    return wx, wy


def _line_class(k: int) -> str:
    """Class of the arterial with ordinal ``k`` along its axis."""
    return ARTERIAL_CLASSES[k % 3]


def _line_tags(n_x: int, n_y: int) -> dict[int, dict[str, str]]:
    tags: dict[int, dict[str, str]] = {}
    for i in range(n_x):
        if i % ARTERIAL_EVERY == 0:
            k = i // ARTERIAL_EVERY
            tags[i] = {"highway": _line_class(k), "name": names.arterial_ns(k)}
        else:
            tags[i] = {"highway": "residential", "name": names.local_ns(i)}
    for j in range(n_y):
        if j % ARTERIAL_EVERY == 0:
            k = j // ARTERIAL_EVERY
            tags[H_OFFSET + j] = {"highway": _line_class(k + 1), "name": names.arterial_ew(k)}
        else:
            tags[H_OFFSET + j] = {"highway": "residential", "name": names.local_ew(j)}
    return tags


def build_grid(geo: Geography, freeways: np.ndarray, rng: np.random.Generator) -> SurfaceGrid:
    """Build the surface street grid of the region.

    Parameters
    ----------
    geo
        Region geography (working CRS).
    freeways
        Freeway centre lines (working CRS); local streets do not cross them.
    rng
        Random generator of the street stream.

    Returns
    -------
    SurfaceGrid
        Grid nodes and kept edges.
    """
    xmin, ymin, xmax, ymax = geo.region.bounds
    n_x = int(np.ceil((xmax - xmin) / SPACING_M)) + 1
    n_y = int(np.ceil((ymax - ymin) / SPACING_M)) + 1
    ii, jj = np.meshgrid(np.arange(n_x), np.arange(n_y), indexing="ij")
    bx = xmin + 150.0 + ii * SPACING_M
    by = ymin + 150.0 + jj * SPACING_M
    wx, wy = _warp(bx, by, rng)
    jx = np.clip(rng.normal(0.0, JITTER_M / 2, size=bx.shape), -JITTER_M, JITTER_M)
    jy = np.clip(rng.normal(0.0, JITTER_M / 2, size=bx.shape), -JITTER_M, JITTER_M)
    jx[ii % ARTERIAL_EVERY == 0] = 0.0  # arterials stay straighter
    jy[jj % ARTERIAL_EVERY == 0] = 0.0
    gx, gy = bx + wx + jx, by + wy + jy

    street_land = geo.land.difference(geo.airfield)
    open_space = shapely.union_all([g for _, g in geo.open_space])
    shapely.prepare(street_land)
    shapely.prepare(open_space)
    arterial_node = (ii % ARTERIAL_EVERY == 0) | (jj % ARTERIAL_EVERY == 0)
    valid = shapely.contains_xy(street_land, gx, gy)
    valid &= arterial_node | ~shapely.contains_xy(open_space, gx, gy)

    net = RoadNetwork()
    ids = net.add_nodes(gx.ravel(), gy.ravel()).reshape(gx.shape)

    # Candidate edges: east-west (i, j)-(i+1, j) and north-south (i, j)-(i, j+1).
    ew_u, ew_v = ids[:-1, :].ravel(), ids[1:, :].ravel()
    ew_ok = (valid[:-1, :] & valid[1:, :]).ravel()
    ew_line = (H_OFFSET + jj[:-1, :]).ravel()
    ew_pos = ii[:-1, :].ravel()
    ew_art = (jj[:-1, :] % ARTERIAL_EVERY == 0).ravel()
    ns_u, ns_v = ids[:, :-1].ravel(), ids[:, 1:].ravel()
    ns_ok = (valid[:, :-1] & valid[:, 1:]).ravel()
    ns_line = ii[:, :-1].ravel()
    ns_pos = jj[:, :-1].ravel()
    ns_art = (ii[:, :-1] % ARTERIAL_EVERY == 0).ravel()

    eu = np.concatenate([ew_u, ns_u])[np.concatenate([ew_ok, ns_ok])]
    ev = np.concatenate([ew_v, ns_v])[np.concatenate([ew_ok, ns_ok])]
    line = np.concatenate([ew_line, ns_line])[np.concatenate([ew_ok, ns_ok])]
    pos = np.concatenate([ew_pos, ns_pos])[np.concatenate([ew_ok, ns_ok])]
    art = np.concatenate([ew_art, ns_art])[np.concatenate([ew_ok, ns_ok])]

    xy = net.coords()
    segs = shapely.linestrings(np.stack([xy[eu], xy[ev]], axis=1))
    keep = shapely.covered_by(segs, street_land)
    fw_zone = shapely.union_all(shapely.buffer(freeways, FREEWAY_CLEAR_M, quad_segs=2))
    shapely.prepare(fw_zone)
    local = ~art
    keep &= ~(local & shapely.intersects(segs, open_space))
    keep &= ~(local & shapely.intersects(segs, fw_zone))
    mid = (xy[eu] + xy[ev]) / 2.0
    rural = urbanity(mid[:, 0], mid[:, 1]) < RURAL_URBANITY
    keep &= ~(local & rural & (rng.random(len(eu)) < RURAL_DROP_P))

    line_tags = _line_tags(n_x, n_y)
    classes = np.array([line_tags[int(k)]["highway"] for k in line[keep]], dtype=object)
    grid = SurfaceGrid(
        net=net,
        eu=eu[keep],
        ev=ev[keep],
        line=line[keep],
        pos=pos[keep],
        cls=classes,
        oneway=np.zeros(int(keep.sum()), dtype=np.int8),
        line_tags=line_tags,
    )
    _mark_couplets(grid, geo)
    log.info("street grid: %d x %d lines, %d edges kept", n_x, n_y, len(grid.eu))
    return grid


def _mark_couplets(grid: SurfaceGrid, geo: Geography) -> None:
    """Make a few pairs of parallel local streets one-way in opposite directions."""
    xy = grid.net.coords()
    xmin, ymin, _, _ = geo.region.bounds
    centres = to_work(shapely.points(names.COUPLET_CENTRES))
    for centre in shapely.get_coordinates(centres):
        i0 = round((centre[0] - xmin - 150.0) / SPACING_M)
        j0 = round((centre[1] - ymin - 150.0) / SPACING_M)
        lines = [i for i in range(i0 - 1, i0 + 3) if i % ARTERIAL_EVERY][:2]
        lines_h = [H_OFFSET + j for j in range(j0 - 1, j0 + 3) if j % ARTERIAL_EVERY][:2]
        mid = (xy[grid.eu] + xy[grid.ev]) / 2.0
        near = np.hypot(mid[:, 0] - centre[0], mid[:, 1] - centre[1]) < 1300.0
        for direction, ln in zip((1, -1, 1, -1), (*lines, *lines_h), strict=False):
            grid.oneway[near & (grid.line == ln)] = direction


def add_surface_roads(grid: SurfaceGrid, geo: Geography) -> None:
    """Add the hand-placed roads (Coronado Bridge, Silver Strand, ...) and join them to the grid.

    Parameters
    ----------
    grid
        Surface grid; the roads are appended to ``grid.net`` as ways.
    geo
        Region geography.
    """
    net = grid.net
    used = grid.used_nodes()
    xy = net.coords()
    tree = cKDTree(xy[used])
    for road in SURFACE_ROADS:
        line = shapely.segmentize(to_work(LineString(road.line)), 150.0)
        coords = shapely.get_coordinates(line)
        node_ids = net.add_nodes(coords[:, 0], coords[:, 1]).tolist()
        net.add_way(node_ids, road.tags)
        along = np.concatenate([[0.0], np.cumsum(np.hypot(*np.diff(coords, axis=0).T))])
        joins = {0, len(coords) - 1}
        if road.join_every_m > 0:
            marks = np.arange(road.join_every_m, along[-1], road.join_every_m)
            joins |= set(np.searchsorted(along, marks).tolist())
        for k in sorted(joins):
            _join(net, tree, used, xy, node_ids[k], coords[k], geo, road.tags["highway"])


def _join(
    net: RoadNetwork,
    tree: cKDTree,
    used: np.ndarray,
    xy: np.ndarray,
    node: int,
    at: np.ndarray,
    geo: Geography,
    highway: str,
) -> None:
    """Link ``node`` to the nearest grid node whose link stays on land."""
    dist, idx = tree.query(at, k=6, distance_upper_bound=900.0)
    for d, k in zip(np.atleast_1d(dist), np.atleast_1d(idx), strict=True):
        if not np.isfinite(d):
            break
        target = int(used[k])
        seg = LineString([tuple(at), tuple(xy[target])])
        if d < 1.0 or seg.covered_by(geo.land):
            net.add_way([node, target], {"highway": highway})
            return
    log.warning("surface road node at %s could not be joined to the grid", at.round(0))


def _shape_nodes(grid: SurfaceGrid) -> dict[int, list[int]]:
    """Mid-block shape nodes on arterial edges (as mapped streets have), keyed by edge."""
    edges = np.flatnonzero(grid.cls != "residential")
    edges = edges[~np.isin(edges, np.fromiter(grid.splits, dtype=int, count=len(grid.splits)))]
    xy = grid.net.coords()
    mid = (xy[grid.eu[edges]] + xy[grid.ev[edges]]) / 2.0
    ids = grid.net.add_nodes(mid[:, 0], mid[:, 1])
    return {int(e): [int(n)] for e, n in zip(edges, ids, strict=True)}


def grid_ways(grid: SurfaceGrid, rng: np.random.Generator) -> None:
    """Write the grid edges as OSM ways into ``grid.net`` (after ramps split them).

    Parameters
    ----------
    grid
        Grid with its final splits.
    rng
        Random generator for per-way tag variety (maxspeed, lanes, names).
    """
    shape_node = _shape_nodes(grid)
    order = np.lexsort((grid.pos, grid.line))
    line, pos, ow = grid.line[order], grid.pos[order], grid.oneway[order]
    brk = np.ones(len(order), dtype=bool)
    brk[1:] = (line[1:] != line[:-1]) | (pos[1:] != pos[:-1] + 1) | (ow[1:] != ow[:-1])
    starts = [*np.flatnonzero(brk).tolist(), len(order)]
    for a, b in itertools.pairwise(starts):
        for c in range(a, b, MAX_WAY_EDGES):
            edges = order[c : min(c + MAX_WAY_EDGES, b)]
            nodes: list[int] = [int(grid.eu[edges[0]])]
            for e in edges:
                nodes.extend(grid.splits.get(int(e), shape_node.get(int(e), [])))
                nodes.append(int(grid.ev[e]))
            tags = dict(grid.line_tags[int(line[c])])
            if ow[c] != 0:
                tags["oneway"] = "yes"
                if ow[c] < 0:
                    nodes.reverse()
            names.vary_tags(tags, rng)
            grid.net.add_way(nodes, tags)
