"""Procedural canyons: a meandering network of open-space strips.

San Diego's mesas are cut by steep canyons kept as open space. The generator
imitates them with "ridged" noise: a smooth random field is zero along
meandering curves, and land where the field is close to zero becomes canyon.
Purely synthetic.
"""

from __future__ import annotations

import numpy as np
import shapely
from rasterio.features import shapes
from rasterio.transform import from_origin
from scipy.ndimage import gaussian_filter, zoom
from shapely.geometry import MultiPolygon, shape

CELL_M = 100.0
COARSE_CELLS = 18  # noise lattice spacing in cells (1.8 km)
RIDGE = 0.15  # |field| below this (in standard deviations) is canyon
SMOOTH_M = 60.0
SHORE_CLEAR_M = 900.0  # flat beaches and the Silver Strand have no canyons


def canyon_network(
    land: shapely.Geometry, water: shapely.Geometry, rng: np.random.Generator
) -> MultiPolygon:
    """Meandering canyon polygons on ``land`` (working CRS).

    Parameters
    ----------
    land
        Land polygon(s) to cover.
    water
        Ocean and bays; canyons keep :data:`SHORE_CLEAR_M` from them.
    rng
        Random generator of the canyon stream.

    Returns
    -------
    shapely.MultiPolygon
        Canyon open space, clipped to land.
    """
    xmin, ymin, xmax, ymax = land.bounds
    nx = int(np.ceil((xmax - xmin) / CELL_M))
    ny = int(np.ceil((ymax - ymin) / CELL_M))
    coarse = rng.normal(size=(ny // COARSE_CELLS + 4, nx // COARSE_CELLS + 4))
    field = zoom(coarse, COARSE_CELLS, order=3)[:ny, :nx]
    field = gaussian_filter(field, 1.5)
    field /= field.std()
    mask = (np.abs(field) < RIDGE).astype(np.uint8)
    transform = from_origin(xmin, ymax, CELL_M, CELL_M)
    polys = [shape(g) for g, v in shapes(mask, mask=mask.astype(bool), transform=transform) if v]
    canyons = shapely.union_all(polys)
    canyons = canyons.buffer(SMOOTH_M, quad_segs=2).buffer(-SMOOTH_M, quad_segs=2)
    canyons = shapely.simplify(canyons, 25.0)
    canyons = canyons.difference(water.buffer(SHORE_CLEAR_M, quad_segs=4))
    out = shapely.make_valid(canyons.intersection(land))
    parts = [p for p in shapely.get_parts(out) if p.geom_type == "Polygon" and p.area > 2e4]
    return MultiPolygon(parts)
