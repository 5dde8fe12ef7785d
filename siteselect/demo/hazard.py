"""Synthetic peak-ground-acceleration raster (2% in 50 years, rock).

PGA falls smoothly with the distance (metres, working CRS) to the real NSHM23
traces of the Rose Canyon and Coronado Bank faults, over a background of about
0.35-0.42 g that decreases inland, plus faint smooth noise. Ocean cells more
than 2 km offshore are nodata. Synthetic values, plausible magnitudes only.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import rasterio
import shapely
from rasterio.transform import from_origin
from scipy.ndimage import zoom
from shapely.geometry import LineString

from siteselect.demo import facts
from siteselect.demo.common import lonlat_to_work, to_work
from siteselect.demo.geography import Geography

log = logging.getLogger(__name__)

CELL_DEG = 0.0025
EXTENT = (-117.315, 32.505, -116.875, 32.985)  # west, south, east, north
NODATA = -9999.0
OFFSHORE_NODATA_M = 2000.0
DESCRIPTION = "PGA (g), 2% in 50 years"
# (fault name, peak PGA on the trace in g, distance scale in m)
FAULT_TERMS = (("Rose Canyon", 0.96, 4000.0), ("Coronado Bank", 0.62, 3500.0))


def pga_grid(geo: Geography, rng: np.random.Generator) -> np.ndarray:
    """PGA (g) on the raster grid, nodata far offshore.

    Parameters
    ----------
    geo
        Region geography (for the land/ocean mask).
    rng
        Random generator of the hazard stream (smooth noise).

    Returns
    -------
    numpy.ndarray
        ``(rows, cols)`` float32, north-up.
    """
    west, south, east, north = EXTENT
    ncol = round((east - west) / CELL_DEG)
    nrow = round((north - south) / CELL_DEG)
    lon = west + (np.arange(ncol) + 0.5) * CELL_DEG
    lat = north - (np.arange(nrow) + 0.5) * CELL_DEG
    glon, glat = np.meshgrid(lon, lat)
    x, y = lonlat_to_work(glon.ravel(), glat.ravel())
    pts = shapely.points(x, y)
    inland = np.clip((glon.ravel() - west) / (east - west), 0.0, 1.0)
    background = 0.42 - 0.07 * inland
    pga = background.copy()
    traces = {f.FaultName: to_work(LineString(f.trace)) for f in facts.FAULTS}
    for name, peak, scale in FAULT_TERMS:
        d = shapely.distance(pts, traces[name])
        pga = np.maximum(pga, background + (peak - background) / (1.0 + (d / scale) ** 2))
    noise = zoom(rng.normal(0.0, 1.0, (nrow // 16 + 3, ncol // 16 + 3)), 16, order=3)
    pga = pga + 0.015 * noise[:nrow, :ncol].ravel()
    offshore = shapely.contains_xy(geo.ocean, x, y) & (
        shapely.distance(pts, geo.land_any) > OFFSHORE_NODATA_M
    )
    out = np.round(pga, 3).astype(np.float32)
    out[offshore] = NODATA
    return out.reshape(nrow, ncol)


def write_pga(path: Path, geo: Geography, rng: np.random.Generator) -> tuple[int, int]:
    """Write the PGA GeoTIFF (float32, EPSG:4326, DEFLATE, tiled, no timestamps).

    Parameters
    ----------
    path
        Output ``.tif``.
    geo
        Region geography.
    rng
        Random generator of the hazard stream.

    Returns
    -------
    tuple of int
        ``(rows, cols)``.
    """
    data = pga_grid(geo, rng)
    west, _, _, north = EXTENT
    profile = {
        "driver": "GTiff",
        "width": data.shape[1],
        "height": data.shape[0],
        "count": 1,
        "dtype": "float32",
        "crs": "EPSG:4326",
        "transform": from_origin(west, north, CELL_DEG, CELL_DEG),
        "nodata": NODATA,
        "compress": "deflate",
        "predictor": 3,
        "tiled": True,
        "blockxsize": 64,
        "blockysize": 64,
    }
    with rasterio.Env(GDAL_PAM_ENABLED="NO"), rasterio.open(path, "w", **profile) as dst:
        dst.write(data, 1)
        dst.set_band_description(1, DESCRIPTION)
        dst.set_band_unit(1, "g")
        dst.update_tags(1, units="g")
    valid = data[data != NODATA]
    log.info("wrote %s: %d x %d, PGA %.2f-%.2f g", path.name, *data.shape, valid.min(), valid.max())
    return data.shape
