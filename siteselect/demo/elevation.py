"""Synthetic ground elevation: mesas cut by the demo's canyons, Mission Valley, hills.

San Diego's terrain is a staircase of marine terraces (mesas) rising inland,
cut by steep canyons and river valleys, with a few peaks. The generator builds
it from the region's own geography, so that the DEM agrees with the other
layers:

* a mesa surface rising from ~10 m at the shore to ~190 m 15 km inland, plus
  smooth noise;
* peaks (Gaussian hills) at Mount Soledad, Cowles Mountain, Fortuna, Mount
  Helix, San Miguel Mountain and the Otay hills;
* every canyon of the open space (the named canyons and the procedural canyon
  network of :mod:`siteselect.demo.terrain`) carved 45-70 m deep with ~90 m
  walls: the open-space parcels lie on canyon floors, the parcels around them
  on the mesa;
* Mission Valley along I-8, a 1 km wide floor at 10-45 m between mesas;
* freeways graded across canyons (a fill or a bridge): along each corridor the
  ground is the closing of its profile over 750 m, so drivers are not put at
  the bottom of the canyons they cross.

Written in EPSG:32611 (WGS 84 / UTM 11N) from NAD83 / UTM 11N coordinates (the
~1 m datum shift is far below the data's accuracy), float32 metres rounded
to 0.1 m, 30 m cells. Purely synthetic.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import rasterio
import rasterio.features
import shapely
from rasterio.transform import from_origin
from scipy.ndimage import (
    distance_transform_edt,
    gaussian_filter,
    grey_closing,
    map_coordinates,
    uniform_filter,
    zoom,
)
from shapely.geometry import LineString

from siteselect.demo import corridors, places
from siteselect.demo.common import lonlat_to_work, to_work
from siteselect.demo.geography import CANYON_NAME, Geography

log = logging.getLogger(__name__)

CELL_M = 30.0
MARGIN_M = 600.0
DESCRIPTION = "Ground elevation (m)"
CRS = "EPSG:32611"
# (lon, lat, height m, sigma m)
PEAKS = (
    (-117.2515, 32.8395, 170.0, 700.0),  # Mount Soledad
    (-117.0310, 32.8130, 300.0, 900.0),  # Cowles Mountain (Mission Trails)
    (-117.0700, 32.8350, 170.0, 800.0),  # Fortuna Mountain
    (-116.9820, 32.7670, 220.0, 700.0),  # Mount Helix
    (-116.9300, 32.6950, 420.0, 1500.0),  # San Miguel Mountain
    (-116.9300, 32.6000, 140.0, 2000.0),  # Otay hills
)
CANYON_WALL_M = 90.0
NAMED_CANYON_DEPTH_M = 65.0
CANYON_DEPTH_M = 45.0
# Mission Valley: I-8 between these longitudes, floor half-width, wall width
VALLEY_LON = (-117.215, -117.075)
VALLEY_FLOOR_HALF_M = 500.0
VALLEY_WALL_M = 250.0
VALLEY_FLOOR_M = (10.0, 45.0)  # west, east
FILL_WINDOW_M = 750.0
FILL_HALF_WIDTH_M = 40.0


def _grid(geo: Geography) -> tuple[np.ndarray, np.ndarray, rasterio.Affine]:
    xmin, ymin, xmax, ymax = geo.region.bounds
    x0 = np.floor((xmin - MARGIN_M) / CELL_M) * CELL_M
    y1 = np.ceil((ymax + MARGIN_M) / CELL_M) * CELL_M
    cols = int(np.ceil((xmax + MARGIN_M - x0) / CELL_M))
    rows = int(np.ceil((y1 - (ymin - MARGIN_M)) / CELL_M))
    x = x0 + (np.arange(cols) + 0.5) * CELL_M
    y = y1 - (np.arange(rows) + 0.5) * CELL_M
    return x, y, from_origin(x0, y1, CELL_M, CELL_M)


def _mask(geoms: list[shapely.Geometry], shape: tuple[int, int], transform: object) -> np.ndarray:
    geoms = [g for g in geoms if g is not None and not g.is_empty]
    if not geoms:
        return np.zeros(shape, dtype=bool)
    burnt = rasterio.features.rasterize(
        ((g, 1) for g in geoms), out_shape=shape, transform=transform, fill=0, dtype="uint8"
    )
    return burnt.astype(bool)


def _mesa(
    geo: Geography, x: np.ndarray, y: np.ndarray, transform: object, rng: np.random.Generator
) -> np.ndarray:
    shape = (len(y), len(x))
    water = _mask([geo.ocean, geo.san_diego_bay, geo.mission_bay], shape, transform)
    coast_m = distance_transform_edt(~water) * CELL_M
    gx, gy = np.meshgrid(x, y)
    z = 8.0 + 180.0 * (1.0 - np.exp(-coast_m / 5500.0))
    noise = zoom(rng.normal(size=(shape[0] // 40 + 4, shape[1] // 40 + 4)), 40, order=3)
    z += 12.0 * gaussian_filter(noise[: shape[0], : shape[1]], 2.0)
    for lon, lat, height, sigma in PEAKS:
        px, py = lonlat_to_work(np.array([lon]), np.array([lat]))
        z += height * np.exp(-((gx - px[0]) ** 2 + (gy - py[0]) ** 2) / (2.0 * sigma**2))
    z[water] = 0.0
    return z


def _carve(z: np.ndarray, mask: np.ndarray, depth_m: float) -> np.ndarray:
    """Lower ``mask`` by up to ``depth_m``, reached ``CANYON_WALL_M`` inside its edge."""
    inside = distance_transform_edt(mask) * CELL_M
    t = np.clip(inside / CANYON_WALL_M, 0.0, 1.0)
    return z - depth_m * t * t * (3.0 - 2.0 * t)


def _valley(z: np.ndarray, x: np.ndarray, y: np.ndarray, transform: object) -> np.ndarray:
    i8 = next(c for c in corridors.CORRIDORS if c.key == "I8")
    line = to_work(LineString(i8.line))
    west, east = VALLEY_LON
    lon_cut = to_work(shapely.box(west, 32.70, east, 32.85))
    reach = line.intersection(lon_cut)
    shape = z.shape
    on_line = _mask([reach.buffer(CELL_M)], shape, transform)
    away_m = distance_transform_edt(~on_line) * CELL_M
    xw = lonlat_to_work(np.array([west, east]), np.array([32.76, 32.78]))[0]
    gx = np.broadcast_to(x, shape)
    floor = np.interp(gx, xw, VALLEY_FLOOR_M)
    t = np.clip((away_m - VALLEY_FLOOR_HALF_M) / VALLEY_WALL_M, 0.0, 1.0)
    blend = t * t * (3.0 - 2.0 * t)
    within = away_m < VALLEY_FLOOR_HALF_M + VALLEY_WALL_M
    return np.where(within, np.minimum(z, floor + (z - floor) * blend), z)


def _grade_freeways(z: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Fill the canyons under each freeway: the closing of its profile over 750 m."""
    out = z.copy()
    rows, cols = z.shape
    x0, y1 = x[0] - CELL_M / 2, y[0] + CELL_M / 2
    for corridor in corridors.CORRIDORS:
        line = shapely.segmentize(to_work(LineString(corridor.line)), CELL_M / 2)
        dense = shapely.line_interpolate_point(line, np.arange(0.0, line.length, CELL_M / 2))
        px, py = shapely.get_x(dense), shapely.get_y(dense)
        fc = (px - x0) / CELL_M - 0.5
        fr = (y1 - py) / CELL_M - 0.5
        profile = map_coordinates(z, [fr, fc], order=1, mode="nearest")
        window = int(FILL_WINDOW_M / (CELL_M / 2))
        graded = uniform_filter(grey_closing(profile, size=window), size=9, mode="nearest")
        reach = int(np.ceil(FILL_HALF_WIDTH_M / CELL_M))
        for dr in range(-reach, reach + 1):
            for dc in range(-reach, reach + 1):
                r = np.round(fr).astype(int) + dr
                c = np.round(fc).astype(int) + dc
                near = (r >= 0) & (r < rows) & (c >= 0) & (c < cols)
                cx = x0 + (c + 0.5) * CELL_M
                cy = y1 - (r + 0.5) * CELL_M
                near &= np.hypot(cx - px, cy - py) <= FILL_HALF_WIDTH_M
                out[r[near], c[near]] = np.maximum(out[r[near], c[near]], graded[near])
    return out


def elevation_grid(geo: Geography, rng: np.random.Generator) -> tuple[np.ndarray, rasterio.Affine]:
    """Ground elevation (m, float32 rounded to 0.1 m) and its transform (working CRS)."""
    x, y, transform = _grid(geo)
    z = _mesa(geo, x, y, transform, rng)
    shape = z.shape
    named = {name for name, _, _ in places.CANYONS}
    named_mask = _mask([g for n, g in geo.open_space if n in named], shape, transform)
    network = _mask([g for n, g in geo.open_space if n == CANYON_NAME], shape, transform)
    z = _carve(z, named_mask, NAMED_CANYON_DEPTH_M)
    z = _carve(z, network & ~named_mask, CANYON_DEPTH_M)
    z = _valley(z, x, y, transform)
    z = _grade_freeways(z, x, y)
    water = _mask([geo.ocean, geo.san_diego_bay, geo.mission_bay], shape, transform)
    z[water] = 0.0
    return np.round(np.maximum(z, 0.0), 1).astype(np.float32), transform


def write_dem(path: Path, geo: Geography, rng: np.random.Generator) -> tuple[int, int]:
    """Write the DEM GeoTIFF (float32, EPSG:32611, DEFLATE, tiled, no timestamps).

    Returns
    -------
    tuple of int
        ``(rows, cols)``.
    """
    data, transform = elevation_grid(geo, rng)
    profile = {
        "driver": "GTiff",
        "width": data.shape[1],
        "height": data.shape[0],
        "count": 1,
        "dtype": "float32",
        "crs": CRS,
        "transform": transform,
        "compress": "deflate",
        "predictor": 3,
        "zlevel": 9,
        "tiled": True,
        "blockxsize": 256,
        "blockysize": 256,
    }
    with rasterio.Env(GDAL_PAM_ENABLED="NO"), rasterio.open(path, "w", **profile) as dst:
        dst.write(data, 1)
        dst.set_band_description(1, DESCRIPTION)
        dst.set_band_unit(1, "m")
        dst.update_tags(1, units="m")
    log.info("wrote %s: %d x %d, %.0f-%.0f m", path.name, *data.shape, data.min(), data.max())
    return data.shape
