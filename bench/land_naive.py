"""Plainly written per-parcel baselines of the net buildable area and the land assembly.

What a competent analyst would write without vectorising: a loop over parcels
with a spatial index for the candidates' neighbours (not a strawman scan of
every pair). They are the baselines of ``python -m bench.land_bench`` and the
oracles of ``tests/test_assembly.py`` and ``tests/test_buildable.py``: the
assembly follows the same rules as :mod:`siteselect.study.assembly` (seeds
largest first, the neighbour nearest the region's area-weighted centroid, ties
by position), written as the rules read.
"""

from __future__ import annotations

import numpy as np
import rasterio.features
import rasterio.windows
import shapely
from rasterio.io import DatasetReader


def naive_regions(
    geoms: np.ndarray, acres: np.ndarray, min_acres: float, max_parcels: int, max_gap_m: float
) -> list[list[int]]:
    """Assembled sites (positions into ``geoms``, in the order added), one seed at a time."""
    tree = shapely.STRtree(geoms)
    centre = [g.centroid for g in geoms]
    order = sorted(range(len(geoms)), key=lambda i: (-acres[i], i))
    used: set[int] = set()
    sites = []
    for seed in order:
        if seed in used:
            continue
        region, frontier = [seed], set()
        total, sx, sy = 0.0, 0.0, 0.0
        j = seed
        while True:
            total += acres[j]
            sx += centre[j].x * acres[j]
            sy += centre[j].y * acres[j]
            near = tree.query(geoms[j], predicate="dwithin", distance=max_gap_m)
            frontier |= {int(k) for k in near if k not in used and k not in region}
            if total >= min_acres or len(region) >= max_parcels or not frontier:
                break
            cx, cy = sx / total, sy / total
            j = min(frontier, key=lambda k: ((centre[k].x - cx) ** 2 + (centre[k].y - cy) ** 2, k))
            frontier.discard(j)
            region.append(j)
        if total >= min_acres:
            used.update(region)
            sites.append(region)
    return sites


def naive_site(parts: list[shapely.Geometry], max_gap_m: float) -> shapely.Geometry:
    """One assembled site: its parcels and the bridges over the gaps between each pair."""
    pieces = list(parts)
    for i, a in enumerate(parts):
        for b in parts[i + 1 :]:
            gap = a.distance(b)
            if 0 < gap <= max_gap_m:
                reach = max_gap_m + 1e-6
                hull = a.union(b).convex_hull
                pieces.append(hull.intersection(a.buffer(reach)).intersection(b.buffer(reach)))
    return shapely.union_all(pieces)


def naive_buildable(
    parcel: shapely.Geometry,
    removals: np.ndarray,
    tree: shapely.STRtree,
    dem: DatasetReader,
    max_slope_pct: float,
) -> float:
    """One parcel's largest buildable piece (m²): its removals unioned and subtracted.

    ``removals`` are the setback buffers, zones and water (indexed by ``tree``);
    the slope is computed on the DEM window around the parcel (two cells of margin),
    its steep cells polygonised and subtracted too. The DEM is in the parcels' CRS,
    in metres.
    """
    xmin, ymin, xmax, ymax = parcel.bounds
    cell = dem.transform.a
    window = (
        rasterio.windows.from_bounds(
            xmin - 2 * cell, ymin - 2 * cell, xmax + 2 * cell, ymax + 2 * cell, dem.transform
        )
        .round_offsets()
        .round_lengths()
        .intersection(rasterio.windows.Window(0, 0, dem.width, dem.height))
    )
    z = dem.read(1, window=window).astype("float64")
    p = np.pad(z, 1, mode="reflect", reflect_type="odd")
    dzdx = (
        p[:-2, 2:] + 2 * p[1:-1, 2:] + p[2:, 2:] - p[:-2, :-2] - 2 * p[1:-1, :-2] - p[2:, :-2]
    ) / (8 * cell)
    dzdy = (
        p[2:, :-2] + 2 * p[2:, 1:-1] + p[2:, 2:] - p[:-2, :-2] - 2 * p[:-2, 1:-1] - p[:-2, 2:]
    ) / (8 * cell)
    slope = 100.0 * np.sqrt(dzdx**2 + dzdy**2)
    steep = slope > max_slope_pct
    cut = [removals[k] for k in tree.query(parcel, predicate="intersects")]
    if steep.any():
        transform = dem.window_transform(window)
        cut += [
            shapely.geometry.shape(s)
            for s, _ in rasterio.features.shapes(
                steep.astype("uint8"), mask=steep, transform=transform, connectivity=4
            )
        ]
    left = parcel.difference(shapely.union_all(cut)) if cut else parcel
    return max((p.area for p in shapely.get_parts(left)), default=0.0)
