"""Outline samples where the exact points are not enough, and the ground raster under points.

The airspace kind evaluates each parcel at its critical points
(:mod:`siteselect.airspace.critical`), which hold its exact minimum under flat
ground. Two cases add points along the outline, every ``sample_spacing_m``
(``shapely.segmentize``), as the kind did before it had the exact method:

* a **ground raster** is read at the evaluated points (the cell under each):
  :func:`with_outline_samples` adds the outline samples of every reached
  parcel, so that the raster is read where it was read before;
* parcels where surfaces of **airports of different elevations** meet (the
  flat ground, the controlling airport's elevation, jumps there, and the
  minimum can lie on that seam between two critical points): :func:`sampled_points`.

:func:`parcel_points` is the method before the exact one (outline every
``spacing_m``, centre-line crossings, nearest points, covered runway ends),
kept as the reference that the exact method must never be above
(``tests/test_airspace_exact.py``, ``bench/airspace_bench.py``). Between two
samples the lowest surface can dip below both by up to ``slope * spacing / 2``:
1.2 ft for the 7:1 transitional surfaces at 5 m.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pyproj
import rasterio
import shapely
from rasterio.windows import Window

from siteselect.airspace.critical import ParcelPoints, group_points
from siteselect.airspace.model import AirspaceModel
from siteselect.airspace.reach import Reach, reach
from siteselect.geo import M_PER_FT
from siteselect.study.rasters import open_raster

logger = logging.getLogger(__name__)


def _centreline(model: AirspaceModel, r: int) -> shapely.LineString:
    """The runway axis, extended over the whole reach of its surfaces (m)."""
    surfaces = model.runways[r]
    s_min, s_max, _ = surfaces.reach_ft()
    ax, ay = surfaces.axis
    x0, y0 = surfaces.runway.le_xy
    a, b = s_min * M_PER_FT, s_max * M_PER_FT
    return shapely.LineString([(x0 + ax * a, y0 + ay * a), (x0 + ax * b, y0 + ay * b)])


def _reach_polygon(model: AirspaceModel, r: int) -> shapely.Polygon:
    surfaces = model.runways[r]
    _, _, lateral = surfaces.reach_ft()
    return shapely.buffer(_centreline(model, r), lateral * M_PER_FT, cap_style="flat")


def parcel_points(
    geoms: np.ndarray, model: AirspaceModel, spacing_m: float = 5.0
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The points the kind evaluated before the exact method (reference; module docstring).

    Every outline vertex after densifying to ``spacing_m``; where the runway's
    extended centre line crosses the parcel, the ends of the crossing; the
    parcel's nearest point to each runway segment; the runway ends it covers.

    Parameters
    ----------
    geoms : numpy.ndarray of shapely geometries
        Candidates in the working CRS (polygons or points).
    model : AirspaceModel
    spacing_m : float
        Largest gap between boundary samples, metres.

    Returns
    -------
    (x, y, owner)
        Coordinates (m) and the candidate index of each point, sorted by owner.
    """
    dense = shapely.segmentize(geoms, spacing_m)
    coords, owner = shapely.get_coordinates(dense, return_index=True)
    xs, ys, owners = [coords[:, 0]], [coords[:, 1]], [owner]
    tree = shapely.STRtree(geoms)
    for r, surfaces in enumerate(model.runways):
        near = tree.query(_reach_polygon(model, r), predicate="intersects")
        if near.size == 0:
            continue
        crossing = shapely.intersection(geoms[near], _centreline(model, r))
        cross_xy, cross_index = shapely.get_coordinates(crossing, return_index=True)
        xs.append(cross_xy[:, 0])
        ys.append(cross_xy[:, 1])
        owners.append(near[cross_index])
        segment = shapely.LineString([surfaces.runway.le_xy, surfaces.runway.he_xy])
        nearest = shapely.get_coordinates(shapely.shortest_line(geoms[near], segment))[::2]
        xs.append(nearest[:, 0])
        ys.append(nearest[:, 1])
        owners.append(near)
        for end_xy in (surfaces.runway.le_xy, surfaces.runway.he_xy):
            covered = near[shapely.covers(geoms[near], shapely.Point(end_xy))]
            xs.append(np.full(covered.size, end_xy[0]))
            ys.append(np.full(covered.size, end_xy[1]))
            owners.append(covered)
    x, y, who = np.concatenate(xs), np.concatenate(ys), np.concatenate(owners)
    order = np.argsort(who, kind="stable")
    return x[order], y[order], who[order]


def outline_samples(
    geoms: np.ndarray, spacing_m: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Outline vertices of ``geoms`` densified to ``spacing_m``: (x, y, candidate index)."""
    coords, owner = shapely.get_coordinates(shapely.segmentize(geoms, spacing_m), return_index=True)
    return coords[:, 0], coords[:, 1], owner.astype(np.int64)


def with_outline_samples(
    points: ParcelPoints, geoms: np.ndarray, reached: Reach, spacing_m: float
) -> ParcelPoints:
    """``points`` plus the outline samples of every reached candidate (ground raster runs)."""
    near = reached.near()
    if near.size == 0:
        return points
    x, y, owner = outline_samples(geoms[near], spacing_m)
    return group_points(
        np.r_[points.x, x],
        np.r_[points.y, y],
        np.r_[points.owner, near[owner]],
        reached,
        len(geoms),
    )


def sampled_points(geoms: np.ndarray, model: AirspaceModel, spacing_m: float) -> ParcelPoints:
    """The outline samples of ``geoms`` as :class:`ParcelPoints` (indexed like ``geoms``)."""
    x, y, owner = outline_samples(geoms, spacing_m)
    return group_points(x, y, owner, reach(model, geoms), len(geoms))


def sample_raster(
    path: Path, band: int, x_m: np.ndarray, y_m: np.ndarray, crs: pyproj.CRS
) -> np.ndarray:
    """Value of the raster cell under each point (NaN outside the raster or on nodata).

    The points (working CRS) are transformed to the raster's CRS; the raster is
    never resampled. Only the window covering the points is read.
    """
    values = np.full(len(x_m), np.nan)
    with open_raster(path, "airspace ground raster") as src:
        to_raster = pyproj.Transformer.from_crs(crs, src.crs, always_xy=True)
        rx, ry = to_raster.transform(x_m, y_m)
        rows, cols = rasterio.transform.rowcol(src.transform, rx, ry)
        rows, cols = np.asarray(rows), np.asarray(cols)
        inside = (rows >= 0) & (rows < src.height) & (cols >= 0) & (cols < src.width)
        if not inside.any():
            return values
        r0, r1 = int(rows[inside].min()), int(rows[inside].max())
        c0, c1 = int(cols[inside].min()), int(cols[inside].max())
        window = Window(c0, r0, c1 - c0 + 1, r1 - r0 + 1)
        data = src.read(band, window=window, masked=True).astype("float64").filled(np.nan)
        values[inside] = data[rows[inside] - r0, cols[inside] - c0]
    return values
