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


def naive_buildable(
    parcel: shapely.Geometry,
    removals: np.ndarray,
    tree: shapely.STRtree,
    dem: DatasetReader,
    max_slope_pct: float,
) -> float:
    """One parcel's largest buildable piece (m²): its removals unioned and subtracted.

    ``removals`` are the setback buffers, zones and water (indexed by ``tree``);
    the slope is computed on the DEM window around the parcel (one cell of margin),
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
    )
    z = dem.read(1, window=window, boundless=True).astype("float64")
    slope = np.zeros_like(z)
    padded = np.pad(z, 1, mode="reflect", reflect_type="odd")
    for r in range(z.shape[0]):
        for c in range(z.shape[1]):
            w = padded[r : r + 3, c : c + 3]
            dzdx = ((w[0, 2] + 2 * w[1, 2] + w[2, 2]) - (w[0, 0] + 2 * w[1, 0] + w[2, 0])) / (
                8 * cell
            )
            dzdy = ((w[2, 0] + 2 * w[2, 1] + w[2, 2]) - (w[0, 0] + 2 * w[0, 1] + w[0, 2])) / (
                8 * cell
            )
            slope[r, c] = 100.0 * (dzdx**2 + dzdy**2) ** 0.5
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
