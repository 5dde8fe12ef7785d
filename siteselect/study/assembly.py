"""Land assembly: neighbouring candidates combined into sites large enough for a campus.

``assemble: {min_acres: 20, max_parcels: 8, max_gap_m: 30}`` grows regions
from seeds, as Esri's *Locate Regions* does for cells, without enumerating
combinations:

1. **Pool**: the candidates that passed the candidate filters (``where``,
   geometry hygiene) and are polygons smaller than ``min_acres`` (a parcel that
   is large enough alone needs no assembly) and not larger than
   ``candidates.max_area_acres``.
2. **Neighbours**: two pool parcels are neighbours when they touch or lie within
   ``max_gap_m`` of each other (one ``STRtree`` ``dwithin`` query), e.g. across
   a local street.
3. **Growth**: seeds are taken largest first (ties by id): the score is not
   known before the criteria are measured, and a large seed reaches the
   acreage with the fewest parcels. From a seed, the neighbour of the region
   nearest to the region's area-weighted centroid (the most compact growth;
   ties by id) is added, one at a time, until the region reaches ``min_acres``
   (the sum of its parcels' areas) or ``max_parcels``. A region that reaches the
   acreage becomes a site and its parcels leave the pool; one that does not is
   released (its parcels stay available to later seeds). Each parcel belongs to
   at most one assembled site. The growth is a compiled loop (numba).
4. **Site**: id ``A-<seed id>``, ``parcel_ids`` the ``;``-joined ids of its
   parcels in the order they were added (seed first), geometry the union of its
   parcels and, with ``max_gap_m > 0``, of the strips bridging the gaps between
   them (the street to be vacated: :func:`site_geometries`), so that a site is
   one contiguous piece of land; ``area_acres`` is the area of that geometry
   (streets included). ``source_row`` is the seed's.

The assembled sites join the candidates *before* the area filter
(``min_area_acres``/``max_area_acres``), which then applies to single parcels
and assembled sites alike. Single parcels stay candidates in their own right
when they pass it (their ``parcel_ids`` is their own id), so an assembled site
and a large parcel inside it may both rank; every site is measured, scored and
constrained as one polygon (zonal statistics over the union, its worst point
for distances and airspace).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from siteselect.config.land import AssembleSpec
from siteselect.geo import m2_to_acres
from siteselect.network.dijkstra import configure_cache

configure_cache()

import numba  # noqa: E402  (after the cache directory is settled)

logger = logging.getLogger(__name__)

PARCEL_IDS = "parcel_ids"
"""Column listing the parcels of a site (``;``-joined ids)."""


@numba.njit(cache=True)
def _grow(
    indptr: np.ndarray,
    indices: np.ndarray,
    acres: np.ndarray,
    x: np.ndarray,
    y: np.ndarray,
    seeds: np.ndarray,
    min_acres: float,
    max_parcels: int,
) -> tuple[np.ndarray, np.ndarray]:  # pragma: no cover - compiled (tested through grow_regions)
    """Greedy region growth; returns (site of each parcel or -1, order of addition)."""
    n = acres.size
    site = np.full(n, -1, dtype=np.int64)
    order = np.full(n, -1, dtype=np.int64)
    stamp = np.full(n, -1, dtype=np.int64)  # seed that last put the parcel in its region/frontier
    region = np.empty(max_parcels, dtype=np.int64)
    frontier = np.empty(n if n < 4096 else 4096, dtype=np.int64)
    for seed in seeds:
        if site[seed] >= 0:
            continue
        size, count, total, sx, sy = 0, 0, 0.0, 0.0, 0.0
        stamp[seed] = seed
        j = seed
        while True:  # add parcel j, then choose the next
            region[size] = j
            size += 1
            total += acres[j]
            sx += x[j] * acres[j]
            sy += y[j] * acres[j]
            for k in range(indptr[j], indptr[j + 1]):
                m = indices[k]
                if site[m] < 0 and stamp[m] != seed and count < frontier.size:
                    stamp[m] = seed
                    frontier[count] = m
                    count += 1
            if total >= min_acres or size >= max_parcels or count == 0:
                break
            cx, cy = sx / total, sy / total
            best, best_d = 0, np.inf
            for f in range(count):  # the frontier parcel nearest the region's centroid
                d = (x[frontier[f]] - cx) ** 2 + (y[frontier[f]] - cy) ** 2
                if d < best_d or (d == best_d and frontier[f] < frontier[best]):
                    best, best_d = f, d
            j = frontier[best]
            count -= 1
            frontier[best] = frontier[count]
        if total >= min_acres:
            for r in range(size):
                site[region[r]] = seed
                order[region[r]] = r
    return site, order


@dataclass
class Regions:
    """Assembled sites over a pool of parcels (positions into the pool).

    Attributes
    ----------
    seeds : numpy.ndarray
        Pool position of each site's seed, in the order the sites were formed.
    members : list of numpy.ndarray
        Per site, the pool positions of its parcels in the order added (seed first).
    """

    seeds: np.ndarray
    members: list[np.ndarray]


def neighbours(geoms: np.ndarray, max_gap_m: float) -> tuple[np.ndarray, np.ndarray]:
    """CSR (indptr, indices) of the parcels within ``max_gap_m`` of each other (not itself).

    The index is queried with the parcels' boxes grown by the gap (cheap), then the
    exact distance is tested on those pairs in one vectorised ``dwithin`` (30%
    less work than the index's own ``dwithin`` predicate, which tests the same
    pairs one query at a time).
    """
    tree = shapely.STRtree(geoms)
    if max_gap_m > 0:
        xmin, ymin, xmax, ymax = shapely.bounds(geoms).T
        a, b = tree.query(
            shapely.box(xmin - max_gap_m, ymin - max_gap_m, xmax + max_gap_m, ymax + max_gap_m)
        )
        keep = a != b
        a, b = a[keep], b[keep]
        near = shapely.dwithin(geoms[a], geoms[b], max_gap_m)
        a, b = a[near], b[near]
    else:
        a, b = tree.query(geoms, predicate="intersects")
        keep = a != b
        a, b = a[keep], b[keep]
    order = np.lexsort((b, a))
    a, b = a[order], b[order]
    indptr = np.zeros(len(geoms) + 1, dtype=np.int64)
    np.cumsum(np.bincount(a, minlength=len(geoms)), out=indptr[1:])
    return indptr, b.astype(np.int64)


def grow_regions(
    geoms: np.ndarray, acres: np.ndarray, spec: AssembleSpec, rank: np.ndarray | None = None
) -> Regions:
    """Sites of ``spec.min_acres`` grown from seeds over ``geoms`` (see the module docstring).

    Parameters
    ----------
    geoms : numpy.ndarray of shapely polygons
        The pool (working CRS, metres), in id order.
    acres : numpy.ndarray
        Area of each, acres.
    spec : AssembleSpec
    rank : numpy.ndarray, optional
        Seed order (positions into ``geoms``); default largest first, ties by position.
    """
    n = len(geoms)
    if n == 0:
        return Regions(np.zeros(0, dtype=np.int64), [])
    indptr, indices = neighbours(geoms, spec.max_gap_m)
    centre = shapely.centroid(geoms)
    if rank is None:
        rank = np.lexsort((np.arange(n), -acres))
    site, order = _grow(
        indptr,
        indices,
        np.asarray(acres, dtype="float64"),
        shapely.get_x(centre),
        shapely.get_y(centre),
        np.asarray(rank, dtype=np.int64),
        float(spec.min_acres),
        int(spec.max_parcels),
    )
    members_at = np.flatnonzero(site >= 0)
    if members_at.size == 0:
        return Regions(np.zeros(0, dtype=np.int64), [])
    by = np.lexsort((order[members_at], site[members_at]))
    members_at = members_at[by]
    starts = np.flatnonzero(np.r_[True, site[members_at][1:] != site[members_at][:-1]])
    groups = np.split(members_at, starts[1:])
    seeds = site[members_at[starts]]
    position = {int(s): i for i, s in enumerate(rank)}
    formed = sorted(range(len(seeds)), key=lambda g: position[int(seeds[g])])
    return Regions(seeds[formed], [groups[g] for g in formed])


def member_matrix(members: list[np.ndarray]) -> np.ndarray:
    """Sites x most members matrix of pool positions, -1 where a site has fewer."""
    width = max((len(m) for m in members), default=0)
    matrix = np.full((len(members), width), -1, dtype=np.int64)
    for k, m in enumerate(members):
        matrix[k, : len(m)] = m
    return matrix


def site_geometries(geoms: np.ndarray, members: list[np.ndarray], max_gap_m: float) -> np.ndarray:
    """Per site, the union of its parcels and of the strips bridging the gaps between them.

    The bridge between two member parcels within ``max_gap_m`` of each other is
    the part of their pair's convex hull within ``max_gap_m`` of both (the street
    between them, to be vacated), so that the site is one contiguous piece of
    land; touching parcels need none. Vectorised over the sites: a sites x
    (members + pairs) matrix of pieces (None where absent) united along its rows.
    """
    if not members:
        return np.zeros(0, dtype=object)
    matrix = member_matrix(members)
    parts = np.where(matrix >= 0, geoms[np.maximum(matrix, 0)], None)
    sites = shapely.union_all(parts, axis=1)
    apart_sites = np.flatnonzero(shapely.get_num_geometries(sites) > 1)
    if max_gap_m > 0 and apart_sites.size:  # bridges only where the parcels do not touch
        i, j = np.triu_indices(matrix.shape[1], 1)
        a, b = parts[apart_sites][:, i], parts[apart_sites][:, j]
        gap = shapely.distance(a, b)
        apart = (gap > 0) & (gap <= max_gap_m)  # NaN (a missing member) is neither
        a, b = np.where(apart, a, None), np.where(apart, b, None)
        reach = max_gap_m + 1e-6
        hull = shapely.convex_hull(shapely.union(a, b))
        near_both = shapely.intersection(shapely.buffer(a, reach), shapely.buffer(b, reach))
        bridges = shapely.intersection(hull, near_both)
        sites[apart_sites] = shapely.union_all(
            np.hstack([sites[apart_sites, None], bridges]), axis=1
        )
    return sites


def assemble_candidates(
    frame: gpd.GeoDataFrame,
    spec: AssembleSpec,
    max_area_acres: float | None = None,
    diagnostics: dict[str, Any] | None = None,
) -> gpd.GeoDataFrame:
    """``frame`` (candidates with ``candidate_id``, ``area_acres``) plus its assembled sites.

    Every row gets ``parcel_ids`` (its own id for single parcels); assembled
    sites are appended after the single parcels. A record (pool, sites, parcels
    used) goes to ``diagnostics["assembly"]`` when a dict is given.
    """
    frame = frame.assign(**{PARCEL_IDS: frame["candidate_id"].astype(str).to_numpy()})
    geoms = frame.geometry.to_numpy()
    acres = frame["area_acres"].to_numpy(dtype="float64")
    polygonal = shapely.get_type_id(geoms) >= 3
    limit = np.inf if max_area_acres is None else max_area_acres
    pool = np.flatnonzero(polygonal & (acres < spec.min_acres) & (acres <= limit))
    regions = grow_regions(geoms[pool], acres[pool], spec)
    ids = frame["candidate_id"].astype(str).to_numpy()
    shapes = site_geometries(geoms[pool], regions.members, spec.max_gap_m)
    matrix = member_matrix(regions.members)
    at = np.where(matrix >= 0, pool[np.maximum(matrix, 0)], -1)
    repaired = frame["geometry_repaired"].to_numpy(dtype=bool)
    sites = gpd.GeoDataFrame(
        {
            "candidate_id": [f"A-{ids[pool[seed]]}" for seed in regions.seeds],
            PARCEL_IDS: [";".join(ids[pool[m]]) for m in regions.members],
            "source_row": frame["source_row"].to_numpy()[pool[regions.seeds]],
            "geometry_repaired": (repaired[np.maximum(at, 0)] & (at >= 0)).any(axis=1),
            "area_before_repair_acres": np.nan,
            "duplicate_of": "",
        },
        geometry=shapes,
        crs=frame.crs,
    )
    used = int(sum(len(m) for m in regions.members))
    record = {
        "min_acres": spec.min_acres,
        "max_parcels": spec.max_parcels,
        "max_gap_m": spec.max_gap_m,
        "pool": int(pool.size),
        "sites": len(sites),
        "parcels_used": used,
    }
    if diagnostics is not None:
        diagnostics["assembly"] = record
    logger.info(
        "assembly: %d site(s) of at least %g acres from %d of %d small parcel(s)",
        len(sites),
        spec.min_acres,
        used,
        pool.size,
    )
    if not len(sites):
        return frame
    sites["area_acres"] = m2_to_acres(shapely.area(sites.geometry.to_numpy()))
    # the source index has served (source_row is a column): the caller re-sorts by id
    return pd.concat([frame, sites], ignore_index=True)
