"""Where the synthetic county lies: its CRS, origin, towns and terrain.

The county is a square of ``extent_m`` metres whose south-west corner is at
UTM zone 11N (EPSG:32611) easting 480 km, northing 3,600 km (near San Diego:
32.5 N, 117.2 W). Every generator draws in local metres (0..extent) and
converts with :func:`to_utm` or :func:`to_lonlat`.
"""

from __future__ import annotations

import numpy as np
import pyproj

CRS = "EPSG:32611"
ORIGIN_E, ORIGIN_N = 480_000.0, 3_600_000.0
TOWNS = np.array([[0.30, 0.30], [0.62, 0.55], [0.35, 0.75], [0.80, 0.22]])
"""Town centres as fractions of the extent (parcels, tracts and hospitals cluster there)."""
TOWN_SIGMA = 0.06
"""Spread of a town as a fraction of the extent (one standard deviation)."""

_TO_LONLAT = pyproj.Transformer.from_crs(CRS, "EPSG:4326", always_xy=True)


def to_utm(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Local metres to EPSG:32611 metres."""
    return np.asarray(x) + ORIGIN_E, np.asarray(y) + ORIGIN_N


def to_lonlat(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Local metres to longitude, latitude (EPSG:4326)."""
    east, north = to_utm(x, y)
    lon, lat = _TO_LONLAT.transform(east, north)
    return np.asarray(lon), np.asarray(lat)


def clustered_points(
    rng: np.random.Generator, n: int, extent_m: float, town_share: float
) -> np.ndarray:
    """``n`` points: ``town_share`` of them around the towns (Gaussian), the rest uniform.

    Returns
    -------
    numpy.ndarray
        Shape (n, 2), local metres, inside the county.
    """
    in_town = rng.random(n) < town_share
    points = rng.uniform(0.0, extent_m, (n, 2))
    which = rng.integers(0, len(TOWNS), int(in_town.sum()))
    near = TOWNS[which] * extent_m + rng.normal(0.0, TOWN_SIGMA * extent_m, (len(which), 2))
    points[in_town] = near
    return np.clip(points, 1.0, extent_m - 1.0)


def ground_ft(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Ground elevation (ft) at local metres: rising inland (east), with gentle hills."""
    u, v = np.asarray(x) / 100_000.0, np.asarray(y) / 100_000.0
    return 40.0 + 1_800.0 * u**1.5 + 150.0 * np.sin(7.0 * u) * np.cos(5.0 * v)
