"""Synthetic freeways: dual one-way carriageways, diamond interchanges, freeway links.

Each corridor of :mod:`corridors` becomes two ``highway=motorway`` one-way
carriageways 25 m apart (right-hand traffic). Where an arterial crosses, every
~1.5-3 km, a diamond interchange adds per direction an off-ramp (carriageway to
street) and an on-ramp (street to carriageway), all ``motorway_link`` one-way.
Freeway-to-freeway junctions get ``motorway_link`` connectors for every
movement; free freeway ends (region edge, border) are tied to the street grid.
Freeways share no node with streets except through these links.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from itertools import combinations, pairwise

import numpy as np
import shapely
from scipy.spatial import cKDTree
from shapely.geometry import LineString
from shapely.ops import substring

from siteselect.demo.common import to_work
from siteselect.demo.corridors import CORRIDORS, Corridor
from siteselect.demo.geography import Geography
from siteselect.demo.network import RoadNetwork
from siteselect.demo.streets import SurfaceGrid

log = logging.getLogger(__name__)

HALF_GAP_M = 12.5  # carriageway offset from the centre line
NODE_SPACING_M = 250.0
LINK_OFFSET_M = 380.0  # freeway-to-freeway links leave/join this far from the junction
RAMP_OFFSET_M = 320.0  # ramps leave/join this far from the crossing street
TERMINAL_M = 90.0  # ramp terminals on the crossing street, each side
MIN_GAP_M = 1500.0  # between interchanges
JUNCTION_CLEAR_M = 1000.0  # interchanges keep this far from freeway junctions
END_CLEAR_M = 700.0
T_REACH_M = 600.0  # a freeway end this close to another freeway joins it
LINK = {"highway": "motorway_link", "oneway": "yes"}


@dataclass
class Freeway:
    """One corridor's centre line and its carriageway nodes (by position ``s``)."""

    corridor: Corridor
    line: LineString
    required: list[float] = field(default_factory=list)
    s: np.ndarray = field(default_factory=lambda: np.zeros(0))
    fwd: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=int))
    bwd: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=int))

    @property
    def length(self) -> float:
        """Centre-line length in metres."""
        return float(self.line.length)

    def clamp(self, s: float) -> float:
        """Clamp a position to the line, keeping clear of the very ends."""
        return float(min(max(s, 15.0), self.length - 15.0))

    def frame(self, s: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Points and right-hand unit normals of the centre line at positions ``s``."""
        s = np.asarray(s, dtype=float)
        pts = shapely.get_coordinates(shapely.line_interpolate_point(self.line, s))
        ahead = shapely.get_coordinates(
            shapely.line_interpolate_point(self.line, np.minimum(s + 25.0, self.length))
        )
        behind = shapely.get_coordinates(
            shapely.line_interpolate_point(self.line, np.maximum(s - 25.0, 0.0))
        )
        tan = ahead - behind
        tan /= np.linalg.norm(tan, axis=1, keepdims=True)
        return pts, np.column_stack([tan[:, 1], -tan[:, 0]])

    def node(self, forward: bool, s: float) -> int:
        """Carriageway node at (or nearest to) position ``s``."""
        k = int(np.argmin(np.abs(self.s - s)))
        return int(self.fwd[k] if forward else self.bwd[k])


@dataclass(frozen=True)
class Junction:
    """A freeway-to-freeway junction: crossing (``X``) or end-on (``T``, ``a`` ends)."""

    kind: str
    a: int
    b: int
    sa: float
    sb: float
    at: tuple[float, float]


@dataclass(frozen=True)
class Interchange:
    """A diamond interchange of freeway ``fw`` with street edge ``edge`` at ``s``."""

    fw: int
    s: float
    edge: int
    at: tuple[float, float]


def centre_lines(geo: Geography) -> list[Freeway]:
    """Project and clip the corridors to the region, trimming end-on overlaps.

    Parameters
    ----------
    geo
        Region geography.

    Returns
    -------
    list of Freeway
        One per corridor, in :data:`corridors.CORRIDORS` order.
    """
    fws: list[Freeway] = []
    for c in CORRIDORS:
        clipped = to_work(LineString(c.line)).intersection(geo.region)
        parts = shapely.get_parts(shapely.line_merge(clipped))
        fws.append(Freeway(c, max(parts, key=lambda g: g.length)))
    for _ in range(2):
        for a, b in combinations(range(len(fws)), 2):
            for e, t in ((a, b), (b, a)):
                _trim_end_on(fws[e], fws[t])
    return fws


def _trim_end_on(e: Freeway, t: Freeway) -> None:
    """Cut ``e`` back where it crosses ``t`` just before its own end."""
    for p in shapely.get_parts(e.line.intersection(t.line)):
        if p.geom_type != "Point":
            continue
        s = e.line.project(p)
        if s < T_REACH_M:
            e.line = substring(e.line, s + 150.0, e.length)
        elif s > e.length - T_REACH_M:
            e.line = substring(e.line, 0.0, s - 150.0)


def find_junctions(fws: list[Freeway]) -> list[Junction]:
    """Find crossings and end-on junctions between freeways."""
    out: list[Junction] = []
    ends: dict[tuple[int, float], tuple[float, int]] = {}
    for a, b in combinations(range(len(fws)), 2):
        fa, fb = fws[a], fws[b]
        for p in shapely.get_parts(fa.line.intersection(fb.line)):
            if p.geom_type == "Point":
                out.append(Junction("X", a, b, fa.line.project(p), fb.line.project(p), (p.x, p.y)))
        for e, t in ((a, b), (b, a)):
            for s_end in (0.0, fws[e].length):
                end_pt = fws[e].line.interpolate(s_end)
                d = fws[t].line.distance(end_pt)
                if d < T_REACH_M and d < ends.get((e, s_end), (np.inf, -1))[0]:
                    ends[(e, s_end)] = (d, t)
    for (e, s_end), (_, t) in sorted(ends.items()):
        end_pt = fws[e].line.interpolate(s_end)
        out.append(Junction("T", e, t, s_end, fws[t].line.project(end_pt), (end_pt.x, end_pt.y)))
    log.info(
        "freeway junctions: %d crossings, %d end-on",
        sum(j.kind == "X" for j in out),
        sum(j.kind == "T" for j in out),
    )
    return out


def plan_interchanges(
    fws: list[Freeway], junctions: list[Junction], grid: SurfaceGrid
) -> list[Interchange]:
    """Choose arterial crossings that get a diamond interchange.

    Parameters
    ----------
    fws
        Freeways (centre lines final).
    junctions
        Freeway junctions (interchanges keep clear of them).
    grid
        Surface grid; only two-way arterial edges qualify.

    Returns
    -------
    list of Interchange
        Ordered by freeway, then position.
    """
    cand = np.flatnonzero((grid.cls != "residential") & (grid.oneway == 0))
    segs = grid.edge_lines(cand)
    tree = shapely.STRtree(segs)
    xy = grid.net.coords()
    used: set[int] = set()
    out: list[Interchange] = []
    for k, fw in enumerate(fws):
        blocked = [j.sa for j in junctions if j.a == k] + [j.sb for j in junctions if j.b == k]
        hits: list[tuple[float, int, tuple[float, float]]] = []
        for h in tree.query(fw.line, predicate="intersects"):
            e = int(cand[h])
            p = shapely.get_parts(segs[h].intersection(fw.line))[0]
            if p.geom_type != "Point":
                continue
            room = min(
                np.hypot(*(xy[grid.eu[e]] - (p.x, p.y))), np.hypot(*(xy[grid.ev[e]] - (p.x, p.y)))
            )
            if room > 55.0:
                hits.append((fw.line.project(p), e, (p.x, p.y)))
        last = -np.inf
        for s, e, at in sorted(hits):
            if s < END_CLEAR_M or s > fw.length - END_CLEAR_M or e in used:
                continue
            if s - last < MIN_GAP_M or any(abs(s - b) < JUNCTION_CLEAR_M for b in blocked):
                continue
            out.append(Interchange(k, s, e, at))
            used.add(e)
            last = s
    log.info("diamond interchanges: %d", len(out))
    return out


def _require(fws: list[Freeway], junctions: list[Junction], ics: list[Interchange]) -> None:
    for fw in fws:
        fw.required = [0.0, fw.length]
    for j in junctions:
        fa, fb = fws[j.a], fws[j.b]
        if j.kind == "X":
            fa.required += [fa.clamp(j.sa - LINK_OFFSET_M), fa.clamp(j.sa + LINK_OFFSET_M)]
        fb.required += [fb.clamp(j.sb - LINK_OFFSET_M), fb.clamp(j.sb + LINK_OFFSET_M)]
    for ic in ics:
        fw = fws[ic.fw]
        fw.required += [fw.clamp(ic.s - RAMP_OFFSET_M), fw.clamp(ic.s + RAMP_OFFSET_M)]


def _carriageways(fw: Freeway, net: RoadNetwork) -> None:
    """Create both carriageways' nodes and ways of one freeway."""
    req = np.unique(np.round(np.asarray(fw.required), 3))
    regular = np.arange(NODE_SPACING_M, fw.length, NODE_SPACING_M)
    near = np.abs(regular[:, None] - req[None, :]).min(axis=1) < 60.0
    fw.s = np.unique(np.concatenate([req, regular[~near]]))
    pts, nr = fw.frame(fw.s)
    fw.fwd = net.add_nodes(*(pts + nr * HALF_GAP_M).T)
    fw.bwd = net.add_nodes(*(pts - nr * HALF_GAP_M).T)
    c = fw.corridor
    tags = {"highway": "motorway", "oneway": "yes", "ref": c.ref, "maxspeed": c.maxspeed}
    tags["lanes"] = c.lanes
    if c.name:
        tags["name"] = c.name
    cut = np.flatnonzero(np.isin(np.round(fw.s, 3), req))
    for a, b in pairwise(cut):
        net.add_way(fw.fwd[a : b + 1].tolist(), tags)
    for a, b in zip(cut[::-1][:-1], cut[::-1][1:], strict=True):
        net.add_way(fw.bwd[b : a + 1][::-1].tolist(), tags)


def _link(net: RoadNetwork, src: int, dst: int, via: np.ndarray, tags: dict[str, str]) -> None:
    mid = net.add_node(*via)
    net.add_way([src, mid, dst], tags)


def _curve_point(net: RoadNetwork, src: int, dst: int, at: np.ndarray) -> np.ndarray:
    """A control point between ``src`` and ``dst``, pulled towards ``at``."""
    p = np.array([net.xs[src], net.ys[src]])
    q = np.array([net.xs[dst], net.ys[dst]])
    return at + 0.4 * (p - at) + 0.4 * (q - at)


def _junction_links(fws: list[Freeway], j: Junction, net: RoadNetwork) -> None:
    at = np.asarray(j.at)
    fa, fb = fws[j.a], fws[j.b]
    pairs: list[tuple[int, int]] = []
    if j.kind == "X":
        for c, d, sc, sd in ((fa, fb, j.sa, j.sb), (fb, fa, j.sb, j.sa)):
            for fwd_in in (True, False):
                src = c.node(fwd_in, sc - LINK_OFFSET_M if fwd_in else sc + LINK_OFFSET_M)
                for fwd_out in (True, False):
                    dst = d.node(fwd_out, sd + LINK_OFFSET_M if fwd_out else sd - LINK_OFFSET_M)
                    pairs.append((src, dst))
    else:
        at_end = j.sa > 0.0
        inbound = fa.node(at_end, j.sa)
        outbound = fa.node(not at_end, j.sa)
        pairs += [(inbound, fb.node(True, j.sb + LINK_OFFSET_M))]
        pairs += [(inbound, fb.node(False, j.sb - LINK_OFFSET_M))]
        pairs += [(fb.node(True, j.sb - LINK_OFFSET_M), outbound)]
        pairs += [(fb.node(False, j.sb + LINK_OFFSET_M), outbound)]
    for src, dst in pairs:
        _link(net, src, dst, _curve_point(net, src, dst, at), LINK)


def _diamond(fw: Freeway, ic: Interchange, grid: SurfaceGrid, rng: np.random.Generator) -> None:
    net = grid.net
    at = np.asarray(ic.at)
    u = np.array([net.xs[grid.eu[ic.edge]], net.ys[grid.eu[ic.edge]]])
    v = np.array([net.xs[grid.ev[ic.edge]], net.ys[grid.ev[ic.edge]]])
    direction = (v - u) / np.linalg.norm(v - u)
    d = min(TERMINAL_M, 0.45 * np.linalg.norm(at - u), 0.45 * np.linalg.norm(at - v))
    a = net.add_node(*(at - d * direction))
    b = net.add_node(*(at + d * direction))
    grid.splits[ic.edge] = [a, b]
    _, nr = fw.frame(np.array([ic.s]))
    right, left = (a, b) if float(np.dot(-direction, nr[0])) > 0 else (b, a)
    pts, _ = fw.frame(np.array([ic.s - 150.0, ic.s + 150.0]))
    before, after = pts[0], pts[1]
    tags = dict(LINK)
    if rng.random() < 0.3:
        tags["maxspeed"] = "35 mph"
    s0, s1 = ic.s - RAMP_OFFSET_M, ic.s + RAMP_OFFSET_M
    _link(net, fw.node(True, s0), right, before + nr[0] * 45.0, tags)  # NB/EB off
    _link(net, right, fw.node(True, s1), after + nr[0] * 45.0, tags)  # NB/EB on
    _link(net, fw.node(False, s1), left, after - nr[0] * 45.0, tags)  # SB/WB off
    _link(net, left, fw.node(False, s0), before - nr[0] * 45.0, tags)  # SB/WB on


def _free_ends(fws: list[Freeway], junctions: list[Junction], grid: SurfaceGrid) -> int:
    """Tie freeway ends that meet no other freeway to the nearest street node."""
    net = grid.net
    used = grid.used_nodes()
    tree = cKDTree(net.coords()[used])
    joined = {(j.a, j.sa) for j in junctions if j.kind == "T"}
    n = 0
    for k, fw in enumerate(fws):
        for s_end in (0.0, fw.length):
            if (k, s_end) in joined:
                continue
            at_end = s_end > 0.0
            inbound, outbound = fw.node(at_end, s_end), fw.node(not at_end, s_end)
            end_pt = np.array([net.xs[inbound], net.ys[inbound]])
            dist, idx = tree.query(end_pt, distance_upper_bound=2500.0)
            if not np.isfinite(dist):
                log.warning("freeway %s end has no street within 2.5 km", fw.corridor.ref)
                continue
            target = int(used[idx])
            net.add_way([inbound, target], LINK)
            net.add_way([target, outbound], LINK)
            n += 1
    return n


def build_freeways(
    fws: list[Freeway], junctions: list[Junction], grid: SurfaceGrid, rng: np.random.Generator
) -> list[Interchange]:
    """Add carriageways, interchanges, freeway links and end ties to ``grid.net``.

    Parameters
    ----------
    fws
        Freeways from :func:`centre_lines`.
    junctions
        From :func:`find_junctions`.
    grid
        Surface grid; crossing edges get ramp-terminal splits.
    rng
        Random generator for ramp tag variety.

    Returns
    -------
    list of Interchange
        The diamond interchanges built.
    """
    ics = plan_interchanges(fws, junctions, grid)
    _require(fws, junctions, ics)
    for fw in fws:
        _carriageways(fw, grid.net)
    for j in junctions:
        _junction_links(fws, j, grid.net)
    for ic in ics:
        _diamond(fws[ic.fw], ic, grid, rng)
    n_ends = _free_ends(fws, junctions, grid)
    log.info("freeways: %d corridors, %d free ends tied to streets", len(fws), n_ends)
    return ics
