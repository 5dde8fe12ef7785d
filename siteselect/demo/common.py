"""Shared constants and helpers of the demo generator: seed, CRSs, transforms."""

from __future__ import annotations

import zlib
from functools import lru_cache
from typing import Final, TypeVar

import numpy as np
import shapely
from pyproj import Transformer

SEED: Final[int] = 20261123

# Geographic CRS of the constants (NAD83). WGS84 outputs reuse the same numbers:
# the datum shift (~1 m) is far below the accuracy of the synthetic data, and
# skipping it keeps the output independent of PROJ grid availability.
GEO_CRS: Final[str] = "EPSG:4269"
# Working CRS for all geometry: NAD83 / UTM zone 11N, metres.
WORK_CRS: Final[str] = "EPSG:26911"
# Parcel CRS: NAD83 / California zone 6 (US survey feet), as the assessor ships.
PARCEL_CRS: Final[str] = "EPSG:2230"

ACRE_M2: Final[float] = 4046.8564224

G = TypeVar("G", bound=shapely.Geometry)


def make_rng(stream: str) -> np.random.Generator:
    """Return an independent, reproducible random generator for one concern.

    Parameters
    ----------
    stream
        Name of the concern ("streets", "parcels", ...). Each name gets its own
        stream derived from :data:`SEED`, so changing one module's draws does
        not shift the others.

    Returns
    -------
    numpy.random.Generator
        A PCG64 generator seeded with ``[SEED, crc32(stream)]``.
    """
    return np.random.default_rng([SEED, zlib.crc32(stream.encode("ascii"))])


@lru_cache(maxsize=8)
def _transformer(src: str, dst: str) -> Transformer:
    return Transformer.from_crs(src, dst, always_xy=True)


def lonlat_to_work(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Project NAD83 longitude/latitude arrays to the working CRS (metres)."""
    x, y = _transformer(GEO_CRS, WORK_CRS).transform(np.asarray(lon), np.asarray(lat))
    return np.asarray(x, dtype=float), np.asarray(y, dtype=float)


def work_to_lonlat(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Unproject working-CRS arrays (metres) to NAD83 longitude/latitude."""
    lon, lat = _transformer(WORK_CRS, GEO_CRS).transform(np.asarray(x), np.asarray(y))
    return np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)


def _reproject(geom: G, src: str, dst: str) -> G:
    tr = _transformer(src, dst)

    def fn(coords: np.ndarray) -> np.ndarray:
        x, y = tr.transform(coords[:, 0], coords[:, 1])
        return np.column_stack([x, y])

    return shapely.transform(geom, fn)


def to_work(geom: G) -> G:
    """Reproject geometry (or array of geometries) from NAD83 lon/lat to the working CRS."""
    return _reproject(geom, GEO_CRS, WORK_CRS)


def to_geo(geom: G) -> G:
    """Reproject geometry (or array of geometries) from the working CRS to NAD83 lon/lat."""
    return _reproject(geom, WORK_CRS, GEO_CRS)


def to_parcel_crs(geom: G) -> G:
    """Reproject geometry (or array of geometries) from the working CRS to EPSG:2230."""
    return _reproject(geom, WORK_CRS, PARCEL_CRS)


def kernel_sum(
    x: np.ndarray, y: np.ndarray, centres: np.ndarray, sigma_m: np.ndarray, weight: np.ndarray
) -> np.ndarray:
    """Sum of Gaussian bumps ``weight * exp(-d^2 / 2 sigma^2)`` at points (x, y).

    Parameters
    ----------
    x, y
        Query coordinates in the working CRS, any matching shapes.
    centres
        ``(k, 2)`` bump centres in the working CRS.
    sigma_m, weight
        ``(k,)`` bump widths in metres and heights.

    Returns
    -------
    numpy.ndarray
        Array shaped like ``x``.
    """
    xf = np.asarray(x, dtype=float).reshape(-1, 1)
    yf = np.asarray(y, dtype=float).reshape(-1, 1)
    d2 = (xf - centres[:, 0]) ** 2 + (yf - centres[:, 1]) ** 2
    out = (weight * np.exp(-d2 / (2.0 * sigma_m**2))).sum(axis=1)
    return out.reshape(np.shape(x))
