"""The analysis grid: ground elevations in the working CRS, plus buildings as obstacles.

The DEM is read over the region the sight lines can cross (the candidates'
extent grown by ``max_km``): as it is when it is already in the working CRS
and no ``cell_m`` is asked for, else warped (bilinear) to a north-up grid of
the working CRS with square cells of ``cell_m`` metres (default: the DEM's own
resolution in metres). Nodata, and any part of the region the DEM does not
cover, is unknown ground: no target there, no obstacle, no eye.

Buildings (an optional layer of footprints with OSM ``height`` and/or
``building:levels``) are burnt into the *surface*, the grid sight lines are
tested against: a cell whose centre a footprint covers rises to the ground
plus the building's height. Targets and eyes stay on the bare ground.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import rasterio
import rasterio.features
import rasterio.warp
import rasterio.windows
from affine import Affine

from siteselect._errors import LayerError
from siteselect.study.rasters import open_raster
from siteselect.visibility.model import NO_GROUND

_HEIGHT = re.compile(r"^\s*([0-9]+(?:\.[0-9]+)?)\s*(m|metres|meters|ft|feet|')?\s*$", re.I)
_FT = 0.3048


@dataclass(frozen=True)
class Terrain:
    """Ground and obstacle surface on a north-up grid of the working CRS.

    Attributes
    ----------
    ground : numpy.ndarray of float32, (rows, cols)
        Bare-ground elevation (m); NaN where unknown.
    surface : numpy.ndarray of float32, (rows, cols)
        Ground plus obstacles (m); :data:`~siteselect.visibility.kernel.NO_GROUND`
        where unknown (never blocks).
    transform : affine.Affine
        Grid transform (working CRS, north-up).
    crs : pyproj.CRS
        The working CRS.
    """

    ground: np.ndarray
    surface: np.ndarray
    transform: Affine
    crs: pyproj.CRS

    @property
    def dx(self) -> float:
        return float(self.transform.a)

    @property
    def dy(self) -> float:
        return float(-self.transform.e)

    @property
    def shape(self) -> tuple[int, int]:
        return self.ground.shape  # type: ignore[return-value]

    def cells(self, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Row, column and inside-the-grid flag of working-CRS points."""
        col = np.floor((np.asarray(x) - self.transform.c) / self.dx).astype(np.int64)
        row = np.floor((self.transform.f - np.asarray(y)) / self.dy).astype(np.int64)
        rows, cols = self.shape
        inside = (row >= 0) & (row < rows) & (col >= 0) & (col < cols)
        return row, col, inside


def _native_cell_m(src: rasterio.io.DatasetReader, crs: pyproj.CRS) -> float:
    """The DEM's resolution in metres of the working CRS (the finer axis, 0.1 m)."""
    if pyproj.CRS.from_user_input(src.crs) == crs:
        return float(min(abs(src.transform.a), abs(src.transform.e)))
    transform, _, _ = rasterio.warp.calculate_default_transform(
        src.crs, crs, src.width, src.height, *src.bounds
    )
    return round(float(min(abs(transform.a), abs(transform.e))), 1)


def read_ground(
    path: str,
    band: int,
    to_m: float,
    crs: pyproj.CRS,
    bounds: tuple[float, float, float, float],
    cell_m: float | None,
    name: str,
) -> tuple[np.ndarray, Affine]:
    """Ground elevation (m, float32, NaN = unknown) over ``bounds`` of the working CRS.

    Parameters
    ----------
    path, band : str, int
        The DEM and its band.
    to_m : float
        Factor from the DEM's unit to metres.
    crs : pyproj.CRS
        Working CRS.
    bounds : tuple
        (xmin, ymin, xmax, ymax) to cover, working CRS.
    cell_m : float or None
        Cell size of the grid; None: the DEM's own.
    name : str
        ``layers.<name>`` for messages.
    """
    with open_raster(path, name) as src:
        if src.transform.b != 0 or src.transform.d != 0:
            raise LayerError(f"{name}: rotated rasters are not supported; warp it north-up first")
        native = _native_cell_m(src, crs)
        same_crs = pyproj.CRS.from_user_input(src.crs) == crs
        if same_crs and cell_m is None and abs(src.transform.a) == abs(src.transform.e):
            t = src.transform
            xmin, ymin, xmax, ymax = bounds
            col0 = math.floor((xmin - t.c) / t.a)
            row0 = math.floor((ymax - t.f) / t.e)
            window = rasterio.windows.Window(
                col0,
                row0,
                math.ceil((xmax - t.c) / t.a) - col0,
                math.ceil((ymin - t.f) / t.e) - row0,
            )
            data = src.read(band, window=window, boundless=True, masked=True, fill_value=0)
            values = np.ma.filled(data.astype("float64"), np.nan)
            transform = src.window_transform(window)
        else:
            cell = float(cell_m if cell_m is not None else native)
            xmin, ymin, xmax, ymax = bounds
            x0 = math.floor(xmin / cell) * cell
            y1 = math.ceil(ymax / cell) * cell
            width = math.ceil((xmax - x0) / cell)
            height = math.ceil((y1 - ymin) / cell)
            transform = Affine(cell, 0.0, x0, 0.0, -cell, y1)
            values = np.full((height, width), np.nan, dtype="float64")
            rasterio.warp.reproject(
                source=rasterio.band(src, band),
                destination=values,
                src_nodata=src.nodatavals[band - 1],
                dst_transform=transform,
                dst_crs=crs,
                dst_nodata=np.nan,
                resampling=rasterio.warp.Resampling.bilinear,
            )
    values[~np.isfinite(values)] = np.nan
    return (values * to_m).astype(np.float32), transform


def parse_height_m(value: object) -> float:
    """An OSM ``height`` in metres: ``12``, ``12.5 m``, ``40 ft``, ``40'``; NaN otherwise.

    >>> parse_height_m("12"), parse_height_m("40 ft"), parse_height_m("n/a")
    (12.0, 12.192, nan)
    """
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return math.nan
    match = _HEIGHT.match(str(value))
    if not match:
        return math.nan
    number = float(match.group(1))
    unit = (match.group(2) or "m").lower()
    return number * _FT if unit in ("ft", "feet", "'") else number


def building_heights(
    frame: gpd.GeoDataFrame, height_column: str, levels_column: str, m_per_level: float
) -> np.ndarray:
    """Height (m) of each footprint: its height, else levels x ``m_per_level``, else NaN."""
    height = np.full(len(frame), np.nan)
    if height_column in frame.columns:
        height = np.array([parse_height_m(v) for v in frame[height_column]], dtype=float)
    if levels_column in frame.columns:
        levels = pd.to_numeric(frame[levels_column], errors="coerce").to_numpy(dtype=float)
        height = np.where(np.isnan(height), levels * m_per_level, height)
    return height


def burn_buildings(
    ground: np.ndarray, transform: Affine, footprints: np.ndarray, heights_m: np.ndarray
) -> np.ndarray:
    """The obstacle surface: ground plus the tallest footprint over each cell centre."""
    surface = np.where(np.isnan(ground), NO_GROUND, ground).astype(np.float32)
    usable = np.isfinite(heights_m) & (heights_m > 0)
    if not usable.any():
        return surface
    order = np.argsort(heights_m[usable], kind="stable")
    shapes = zip(footprints[usable][order], heights_m[usable][order], strict=True)
    tops = rasterio.features.rasterize(
        shapes, out_shape=ground.shape, transform=transform, fill=0.0, dtype="float32"
    )
    raised = (tops > 0) & ~np.isnan(ground)
    surface[raised] = ground[raised] + tops[raised]
    return surface
