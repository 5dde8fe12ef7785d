"""The visibility model's constants and arrays, without the compiler (cheap to import).

See :mod:`siteselect.visibility.kernel` for the line-of-sight model.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

EARTH_RADIUS_M = 6_371_000.0
CURVATURE_COEFFICIENT = 0.85714
"""Share of the earth's curvature left after refraction (GDAL's default, 1 - 1/7)."""
CURVATURE = CURVATURE_COEFFICIENT / (2.0 * EARTH_RADIUS_M)
"""Metres of drop per square metre of distance: ``drop = CURVATURE * d**2``."""
NO_GROUND = -1.0e6
"""Surface value standing for nodata: never blocks a sight line."""


@dataclass(frozen=True)
class Samples:
    """Road samples, sorted by road then route (the kernel relies on it).

    Attributes
    ----------
    row, col : numpy.ndarray of int64
        Grid cell of each sample (its eye is at the cell centre).
    eye : numpy.ndarray of float64
        Eye elevation (m): ground at the cell plus the eye height.
    route, road : numpy.ndarray of int32
        Carriageway id and road (label) id; samples grouped by road, then route.
    vehicles : numpy.ndarray of float64
        Daily vehicles passing the sample (its carriageway's share of the AADT).
    view_seconds : numpy.ndarray of float64
        Vehicle-seconds per day spent on the sample's stretch.
    road_m : numpy.ndarray of float64
        Metres of road the sample stands for (half its length on a carriageway).
    """

    row: np.ndarray
    col: np.ndarray
    eye: np.ndarray
    route: np.ndarray
    road: np.ndarray
    vehicles: np.ndarray
    view_seconds: np.ndarray
    road_m: np.ndarray

    def __len__(self) -> int:
        return len(self.row)


@dataclass(frozen=True)
class Exposure:
    """What the targets see, one value per target (see the module docstring)."""

    vehicles: np.ndarray
    view_seconds: np.ndarray
    road_m: np.ndarray
    top_road: np.ndarray
    top_vehicles: np.ndarray
    top_road_m: np.ndarray
