"""Synthetic parcels: street blocks minus right-of-way, subdivided; large vacant lots.

Blocks are the land between streets (buffered by their right-of-way), outside
airfields, runway surroundings and water. Parks and canyons become open-space
parcels. A few hundred blocks in the hotspots of :data:`places.VACANT_HOTSPOTS`
stay whole as large vacant lots (15-80 acres); the others are cut into a grid of
lots whose size falls with urban intensity.
"""

from __future__ import annotations

import logging
import zlib
from dataclasses import dataclass

import numpy as np
import shapely

from siteselect.demo.common import ACRE_M2
from siteselect.demo.geography import (
    CANYON_NAME,
    Geography,
    community_names,
    in_industrial_zone,
    urbanity,
    vacancy_score,
)
from siteselect.demo.network import RoadNetwork

log = logging.getLogger(__name__)

# Half right-of-way width by highway class, metres.
ROW_HALF_M: dict[str, float] = {
    "motorway": 22.0,
    "motorway_link": 9.0,
    "primary": 16.0,
    "secondary": 13.0,
    "tertiary": 11.0,
    "residential": 8.0,
}
MIN_PART_M2 = 1000.0
FRAGMENT_SHARE = 0.3
GRID_M = 0.001
MIN_OPEN_SPACE_M2 = 4000.0  # smaller canyon scraps stay unparcelled
N_LARGE_VACANT = 180
LARGE_MIN_ACRES, LARGE_MAX_ACRES = 15.5, 79.0
# Target lot area (m2) by urban intensity (see :func:`geography.urbanity`).
TARGET_M2: dict[str, float] = {
    "core": 40_000.0,
    "urban": 90_000.0,
    "suburban": 150_000.0,
    "rural": 180_000.0,
    "industrial": 90_000.0,
}


@dataclass(frozen=True)
class ParcelTable:
    """Parcel geometries (working CRS) and attributes, row-aligned.

    Attributes
    ----------
    geometry
        Polygons, working CRS.
    land_use, zoning, situs_name, apn
        Attribute arrays (str).
    name
        The parcel's name where it has one (owner or landmark), else None.
    vacant
        Boolean array.
    urbanity
        Urban intensity at each parcel (used for tract populations).
    """

    geometry: np.ndarray
    land_use: np.ndarray
    zoning: np.ndarray
    situs_name: np.ndarray
    apn: np.ndarray
    vacant: np.ndarray
    urbanity: np.ndarray
    name: np.ndarray


def right_of_way(net: RoadNetwork) -> shapely.Geometry:
    """Union of all ways buffered by their class right-of-way (working CRS)."""
    lines = net.way_lines()
    half = np.array([ROW_HALF_M.get(w.tags["highway"], 8.0) for w in net.ways])
    bufs = shapely.buffer(lines, half, cap_style="square", join_style="mitre", mitre_limit=2.0)
    # Drop the clusters of near-duplicate corners where buffers meet (fewer vertices).
    return shapely.simplify(shapely.union_all(bufs), 1.0)


def _explode(geoms: np.ndarray, src: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Polygon parts of ``geoms`` (above :data:`MIN_PART_M2`) and their source index."""
    parts, idx = shapely.get_parts(geoms, return_index=True)
    poly = shapely.get_type_id(parts) == 3
    parts, idx = parts[poly], idx[poly]
    big = shapely.area(parts) >= MIN_PART_M2
    return parts[big], src[idx[big]]


def blocks(geo: Geography, net: RoadNetwork) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Split the parcel-able land into street blocks and open-space pieces.

    Parameters
    ----------
    geo
        Region geography.
    net
        Final road network.

    Returns
    -------
    tuple of numpy.ndarray
        ``(dev_blocks, os_pieces, os_name)``: developable blocks, open-space
        pieces and the open-space name of each piece.
    """
    land = geo.land.difference(geo.no_parcels).difference(right_of_way(net))
    parts = shapely.get_parts(shapely.make_valid(land))
    parts, _ = _explode(parts, np.arange(len(parts)))
    dev = parts
    os_pieces: list[np.ndarray] = []
    os_names: list[np.ndarray] = []
    for name, area in geo.open_space:
        tree = shapely.STRtree(dev)
        hit = tree.query(area, predicate="intersects")
        if len(hit) == 0:
            continue
        inside, _ = _explode(shapely.intersection(dev[hit], area), hit)
        inside = inside[shapely.area(inside) >= MIN_OPEN_SPACE_M2]
        outside, _ = _explode(shapely.difference(dev[hit], area), hit)
        os_pieces.append(inside)
        os_names.append(np.full(len(inside), name, dtype=object))
        keep = np.ones(len(dev), dtype=bool)
        keep[hit] = False
        dev = np.concatenate([dev[keep], outside])
    os_all = np.concatenate(os_pieces) if os_pieces else np.empty(0, dtype=object)
    names = np.concatenate(os_names) if os_names else np.empty(0, dtype=object)
    log.info("blocks: %d developable, %d open-space pieces", len(dev), len(os_all))
    return dev, os_all, names


def _pick_large_vacant(dev: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Boolean mask of blocks kept whole as large vacant lots."""
    acres = shapely.area(dev) / ACRE_M2
    c = shapely.get_coordinates(shapely.centroid(dev))
    compact = 4 * np.pi * shapely.area(dev) / shapely.length(dev) ** 2
    score = vacancy_score(c[:, 0], c[:, 1]) + rng.uniform(0.0, 0.12, len(dev))
    ok = (acres >= LARGE_MIN_ACRES) & (acres <= LARGE_MAX_ACRES) & (compact > 0.45)
    order = np.argsort(-np.where(ok, score, -np.inf), kind="stable")
    pick = np.zeros(len(dev), dtype=bool)
    pick[order[: min(N_LARGE_VACANT, int(ok.sum()))]] = True
    return pick


def _target_area(u: np.ndarray, industrial: np.ndarray) -> np.ndarray:
    """Target lot area (m2) by urban intensity and industrial zoning."""
    target = np.select(
        [u >= 0.65, u >= 0.40, u >= 0.20],
        [TARGET_M2["core"], TARGET_M2["urban"], TARGET_M2["suburban"]],
        default=TARGET_M2["rural"],
    )
    return np.where(industrial, TARGET_M2["industrial"], target)


def _cuts(counts: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Jittered cut fractions of each block along one axis, flattened.

    Returns
    -------
    tuple of numpy.ndarray
        ``(cuts, offset)``: block ``b``'s cut ``p`` (0..counts[b]) is
        ``cuts[offset[b] + p]``; the outer cuts overshoot the envelope slightly.
    """
    offset = np.cumsum(counts + 1) - (counts + 1)
    blk = np.repeat(np.arange(len(counts)), counts + 1)
    p = np.arange(int((counts + 1).sum())) - offset[blk]
    n = counts[blk]
    inner = (p + rng.uniform(-0.12, 0.12, len(p))) / n
    cuts = np.where(p == 0, -0.05, np.where(p == n, 1.05, inner))
    return cuts, offset


def subdivide(
    dev: np.ndarray, target: np.ndarray, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Cut each block into a jittered grid of lots of about ``target`` area.

    The grid is aligned with the block's minimum rotated rectangle; lots are the
    intersections of its cells with the block, so lots never overlap.

    Parameters
    ----------
    dev
        Block polygons (working CRS).
    target
        Target lot area per block, m2.
    rng
        Random generator for cut jitter.

    Returns
    -------
    tuple of numpy.ndarray
        ``(lots, block_index)``.
    """
    env = shapely.oriented_envelope(dev)
    ring = shapely.get_coordinates(shapely.get_exterior_ring(env)).reshape(len(dev), 5, 2)
    origin = ring[:, 0]
    e1, e2 = ring[:, 1] - ring[:, 0], ring[:, 3] - ring[:, 0]
    l1, l2 = np.linalg.norm(e1, axis=1), np.linalg.norm(e2, axis=1)
    n = np.maximum(1, np.round(shapely.area(dev) / target)).astype(int)
    n1 = np.maximum(1, np.round(np.sqrt(n * l1 / np.maximum(l2, 1.0)))).astype(int)
    n2 = np.maximum(1, np.ceil(n / n1 - 0.25)).astype(int)
    cut1, off1 = _cuts(n1, rng)
    cut2, off2 = _cuts(n2, rng)
    counts = n1 * n2
    blk = np.repeat(np.arange(len(dev)), counts)
    k = np.arange(int(counts.sum())) - np.repeat(np.cumsum(counts) - counts, counts)
    p, q = k // n2[blk], k % n2[blk]
    a0, a1 = cut1[off1[blk] + p][:, None], cut1[off1[blk] + p + 1][:, None]
    b0, b1 = cut2[off2[blk] + q][:, None], cut2[off2[blk] + q + 1][:, None]
    o, u, v = origin[blk], e1[blk], e2[blk]
    corners = np.stack(
        [o + u * a0 + v * b0, o + u * a1 + v * b0, o + u * a1 + v * b1, o + u * a0 + v * b1,
         o + u * a0 + v * b0],
        axis=1,
    )  # fmt: skip
    lots = shapely.intersection(shapely.polygons(corners), dev[blk])
    lots, src = _explode(lots, blk)
    return _merge_fragments(lots, src, target)


def _merge_fragments(
    lots: np.ndarray, src: np.ndarray, target: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Merge slivers (< 30% of the target area) into the largest touching lot of their block."""
    area = shapely.area(lots)
    frag = area < FRAGMENT_SHARE * target[src]
    tree = shapely.STRtree(lots)
    f_idx, n_idx = tree.query(lots[frag], predicate="intersects")
    f_idx = np.flatnonzero(frag)[f_idx]
    ok = (src[f_idx] == src[n_idx]) & ~frag[n_idx]
    f_idx, n_idx = f_idx[ok], n_idx[ok]
    # For each fragment, the largest qualifying neighbour (lexsort: last = largest).
    order = np.lexsort((area[n_idx], f_idx))
    f_idx, n_idx = f_idx[order], n_idx[order]
    last = np.r_[f_idx[1:] != f_idx[:-1], True]
    into = dict(zip(f_idx[last].tolist(), n_idx[last].tolist(), strict=True))
    groups: dict[int, list[int]] = {}
    for f, n in into.items():
        groups.setdefault(n, [n]).append(f)
    merged = lots.copy()
    for n, members in groups.items():
        merged[n] = shapely.union_all(lots[members])
    keep = np.ones(len(lots), dtype=bool)
    keep[list(into)] = False
    return _explode(merged[keep], src[keep])


def build_parcels(geo: Geography, net: RoadNetwork, rng: np.random.Generator) -> ParcelTable:
    """Build all parcels with their attributes.

    Parameters
    ----------
    geo
        Region geography.
    net
        Final road network (right-of-way is cut out of the blocks).
    rng
        Random generator of the parcel stream.

    Returns
    -------
    ParcelTable
        Parcels sorted by APN.
    """
    dev, os_pieces, os_names = blocks(geo, net)
    large = _pick_large_vacant(dev, rng)
    c = shapely.get_coordinates(shapely.centroid(dev))
    u_blk = urbanity(c[:, 0], c[:, 1])
    ind_blk = in_industrial_zone(c[:, 0], c[:, 1])
    rest = np.flatnonzero(~large)
    lots, _ = subdivide(dev[rest], _target_area(u_blk[rest], ind_blk[rest]), rng)
    kind = np.concatenate(
        [
            np.full(int(large.sum()), "large"),
            np.full(len(lots), "lot"),
            np.full(len(os_pieces), "os"),
        ]
    )
    os_label = np.concatenate([np.full(len(kind) - len(os_pieces), "", dtype=object), os_names])
    # Snap to a 1 mm grid: removes hair-thin spikes that turn invalid when reprojected.
    geoms = shapely.set_precision(np.concatenate([dev[large], lots, os_pieces]), GRID_M)
    geoms, src = _explode(geoms, np.arange(len(geoms)))
    kind, os_label = kind[src], os_label[src]
    pc = shapely.get_coordinates(shapely.centroid(geoms))
    u = urbanity(pc[:, 0], pc[:, 1])
    land_use, zoning, vacant = _land_use(geoms, kind, u, pc, net, rng)
    labels = community_names(pc[:, 0], pc[:, 1])
    is_os = kind == "os"
    labels[is_os] = np.where(
        os_label[is_os] == CANYON_NAME, labels[is_os].astype(object) + " Canyon", os_label[is_os]
    )
    apn = _apns(pc)
    order = np.argsort(apn, kind="stable")
    situs = _situs(labels[order])
    names = parcel_names(labels[order], land_use[order], shapely.area(geoms[order]), apn[order])
    log.info(
        "parcels: %d (%d large vacant, %d lots, %d open space)",
        len(geoms), int((kind == "large").sum()), int((kind == "lot").sum()), int(is_os.sum()),
    )  # fmt: skip
    return ParcelTable(
        geometry=geoms[order],
        land_use=land_use[order],
        zoning=zoning[order],
        situs_name=situs,
        apn=apn[order],
        vacant=vacant[order],
        urbanity=u[order],
        name=names,
    )


def _land_use(
    geoms: np.ndarray,
    kind: np.ndarray,
    u: np.ndarray,
    pc: np.ndarray,
    net: RoadNetwork,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Land use, zoning and vacancy of each parcel."""
    n = len(geoms)
    r = rng.random((n, 3))
    industrial = in_industrial_zone(pc[:, 0], pc[:, 1])
    major = [w for w in net.ways if w.tags["highway"] in ("primary", "secondary")]
    major_lines = shapely.union_all(net.way_lines(major))
    shapely.prepare(major_lines)
    near_major = shapely.dwithin(shapely.points(pc), major_lines, 160.0)
    use = np.full(n, "residential", dtype=object)
    use[near_major & (u > 0.25) & (r[:, 0] < 0.45)] = "commercial"
    use[industrial & (r[:, 0] < 0.85)] = "industrial"
    use[(r[:, 1] < 0.05) & (use == "residential")] = "institutional"
    small_vacant = (r[:, 2] < 0.03) & (kind == "lot")
    use[small_vacant] = "vacant"
    use[kind == "large"] = "vacant"
    use[kind == "os"] = "open_space"
    vacant = use == "vacant"
    zoning = np.full(n, "RS-1-7", dtype=object)
    zoning[(use == "residential") & (u >= 0.65)] = "RM-3-7"
    zoning[(use == "residential") & (u >= 0.40) & (u < 0.65)] = "RM-1-1"
    zoning[(use == "residential") & (u < 0.15)] = "RS-1-14"
    zoning[use == "commercial"] = np.where(u[use == "commercial"] >= 0.5, "CC-3-5", "CN-1-2")
    zoning[use == "industrial"] = np.where(r[use == "industrial", 2] < 0.5, "IL-2-1", "IP-2-1")
    zoning[(use == "vacant") & industrial] = "IL-3-1"
    zoning[(use == "vacant") & ~industrial & (u >= 0.3)] = "CC-3-5"
    zoning[(use == "vacant") & ~industrial & (u < 0.3)] = "AR-1-1"
    zoning[use == "open_space"] = "OP-1-1"
    return use.astype(str), zoning.astype(str), vacant


def _apns(pc: np.ndarray) -> np.ndarray:
    """10-digit APNs: 3-digit book (2 km cell), 2-digit page, 3-digit parcel, "00"."""
    cx = np.floor((pc[:, 0] - pc[:, 0].min()) / 2000.0).astype(int)
    cy = np.floor((pc[:, 1].max() - pc[:, 1]) / 2000.0).astype(int)
    book = 100 + cy * (cx.max() + 1) + cx
    order = np.lexsort((pc[:, 0], -pc[:, 1], book))
    rank = np.empty(len(pc), dtype=int)
    sorted_book = book[order]
    start = np.searchsorted(sorted_book, sorted_book, side="left")
    rank[order] = np.arange(len(pc)) - start
    page, parcel = 1 + rank // 60, 1 + rank % 60
    if book.max() > 999 or page.max() > 99:
        raise ValueError("APN book/page overflow; widen the book cells")
    return np.array(
        [f"{b:03d}{p:02d}{q:03d}00" for b, p, q in zip(book, page, parcel, strict=True)]
    )


def _situs(labels: np.ndarray) -> np.ndarray:
    """Situs names ``<label> lot <n>``, numbered per label in row order."""
    counter: dict[str, int] = {}
    out = []
    for lab in labels.tolist():
        counter[lab] = counter.get(lab, 0) + 1
        out.append(f"{lab} lot {counter[lab]}")
    return np.array(out)


# Owners and landmarks of the named parcels (fictional; typical of the region).
_OWNERS = (
    "Pardee Homes",
    "Caltrans surplus",
    "City of San Diego",
    "Hanson Aggregates",
    "Sweetwater Authority",
    "Pacific Gateway Partners",
    "Kilroy Realty",
    "San Diego Unified School District",
    "Navy surplus (former NTC)",
    "Baldwin & Sons",
)
_SITES = ("Ranch", "Mesa tract", "Business Park site", "Gateway site", "Commons", "Quarry (former)")
_SCHOOLS = ("Elementary School", "Middle School", "High School", "Library", "Community Center")


def parcel_names(
    labels: np.ndarray, land_use: np.ndarray, area_m2: np.ndarray, apn: np.ndarray
) -> np.ndarray:
    """A name for some parcels (None for the others), deterministic from the APN.

    Large vacant lots (10 acres and more) get an owner's or a landmark's name
    (``Hanson Aggregates, Otay Mesa``, ``Otay Mesa Ranch``), institutional lots
    a school or civic name, the largest piece of each canyon or park its name; a name given
    twice gets ``II``, ``III``... Uses no random stream (the other parcel
    attributes stay as they are).
    """
    key = np.array([zlib.crc32(a.encode()) for a in apn.tolist()], dtype=np.int64)
    names = np.full(len(apn), None, dtype=object)
    large = (land_use == "vacant") & (area_m2 >= 10 * ACRE_M2)
    for i in np.flatnonzero(large):
        if key[i] % 2 == 0:
            names[i] = f"{_OWNERS[key[i] // 2 % len(_OWNERS)]}, {labels[i]}"
        else:
            names[i] = f"{labels[i]} {_SITES[key[i] // 2 % len(_SITES)]}"
    civic = np.flatnonzero((land_use == "institutional") & (key % 3 == 0))
    for i in civic:
        names[i] = f"{labels[i]} {_SCHOOLS[key[i] // 3 % len(_SCHOOLS)]}"
    open_space = np.flatnonzero(land_use == "open_space")
    biggest = open_space[np.lexsort((-area_m2[open_space], labels[open_space].astype(str)))]
    first = np.r_[True, labels[biggest][1:] != labels[biggest][:-1]] if len(biggest) else []
    for i in biggest[first]:  # the largest piece of each canyon or park
        names[i] = str(labels[i])
    seen: dict[str, int] = {}
    for i in np.flatnonzero(names != None):  # noqa: E711 (elementwise)
        count = seen[names[i]] = seen.get(names[i], 0) + 1
        if count > 1:
            names[i] = f"{names[i]} {_roman(count)}"
    return names


def _roman(n: int) -> str:
    """2 -> II ... 39 -> XXXIX (duplicate names are numbered)."""
    out = ""
    for value, letters in ((10, "X"), (9, "IX"), (5, "V"), (4, "IV"), (1, "I")):
        count, n = divmod(n, value)
        out += letters * count
    return out
