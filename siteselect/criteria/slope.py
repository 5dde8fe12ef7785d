"""Slopes from a DEM, in percent rise, and the ground steeper than a limit as polygons.

Slope is the gradient magnitude by Horn's method (the 3 x 3 weighted finite
differences of GDAL ``gdaldem slope`` and ArcGIS), over the DEM's own grid
(never resampled), with both differences in metres:

* elevations are converted to metres from the layer's unit (``units:`` or the
  file's; m, ft, us-ft: :func:`siteselect.study.rasters.ground_unit`);
* horizontal cell sizes are converted to metres: by the CRS's linear unit for
  a projected DEM (a State Plane DEM in US feet has 3.28 ft per metre), and
  along the ellipsoid per row (WGS 84 geodesic, ``pyproj.Geod``) for a DEM in
  degrees, where a degree of longitude shrinks with the cosine of latitude.

Border cells are extrapolated linearly (a plane has the same slope everywhere,
to the edge); cells next to nodata have no slope (NaN, never steep). The cells
steeper than the limit are vectorised (``rasterio.features.shapes``) and
transformed to the working CRS, so a conformal projection (UTM, State Plane)
keeps the slope that was measured.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import numpy as np
import pyproj
import rasterio.features
import rasterio.windows
import shapely
from rasterio.transform import Affine

from siteselect._errors import LayerError
from siteselect.study.rasters import ground_unit, open_raster

if TYPE_CHECKING:
    from siteselect.study import Study

logger = logging.getLogger(__name__)

_GEOD = pyproj.Geod(ellps="WGS84")


def horn_slope_pct(z: np.ndarray, dx_m: np.ndarray | float, dy_m: float) -> np.ndarray:
    """Slope (percent rise) of each cell of ``z`` (metres), Horn's 3 x 3 method.

    Parameters
    ----------
    z : numpy.ndarray
        (rows, cols) elevations in metres; NaN = nodata.
    dx_m : float or numpy.ndarray
        Cell width in metres (one per row for a DEM in degrees).
    dy_m : float
        Cell height in metres.
    """
    padded = np.pad(z, 1, mode="reflect", reflect_type="odd")  # linear extrapolation
    a, b, c = padded[:-2, :-2], padded[:-2, 1:-1], padded[:-2, 2:]
    d, f = padded[1:-1, :-2], padded[1:-1, 2:]
    g, h, i = padded[2:, :-2], padded[2:, 1:-1], padded[2:, 2:]
    dx = np.asarray(dx_m, dtype="float64").reshape(-1, 1) if np.ndim(dx_m) else float(dx_m)
    dz_dx = ((c + 2 * f + i) - (a + 2 * d + g)) / (8.0 * dx)
    dz_dy = ((g + 2 * h + i) - (a + 2 * b + c)) / (8.0 * dy_m)
    return 100.0 * np.hypot(dz_dx, dz_dy)


def cell_size_m(crs: pyproj.CRS, transform: Affine, rows: int) -> tuple[np.ndarray, float]:
    """Cell width per row and cell height in metres for a north-up grid.

    Raises
    ------
    LayerError
        A rotated or sheared grid, or a CRS whose unit is neither a length nor degrees.
    """
    if transform.b != 0 or transform.d != 0:
        raise LayerError("the DEM grid is rotated; warp it north-up first (gdalwarp)")
    width, height = abs(transform.a), abs(transform.e)
    if crs.is_geographic:
        lat = transform.f + transform.e * (np.arange(rows) + 0.5)
        lon0 = np.zeros(rows)
        _, _, dx = _GEOD.inv(lon0, lat, lon0 + width, lat)
        _, _, dy = _GEOD.inv(
            0.0, float(np.mean(lat)) - height / 2, 0.0, float(np.mean(lat)) + height / 2
        )
        return np.asarray(dx, dtype="float64"), float(dy)
    factor = crs.axis_info[0].unit_conversion_factor if crs.axis_info else 1.0
    return np.full(rows, width * factor), height * factor


TILE = 32
"""Side of the tiles (cells) the steep cells are polygonised in: bounded polygons."""


def tiled_shapes(mask: np.ndarray, transform: Affine, tile: int = TILE) -> np.ndarray:
    """Polygons of the ``True`` cells of ``mask``, cut at a ``tile`` x ``tile`` cell grid.

    One polygon over a whole hillside would have tens of thousands of vertices
    and cost that much at every parcel it touches; cut into tiles, each parcel
    meets a few polygons of at most a few hundred vertices. One pass of
    ``rasterio.features.shapes`` over the tile numbers (a region of equal value
    never crosses a tile border).
    """
    if not mask.any():
        return np.zeros(0, dtype=object)
    rows, cols = mask.shape
    per_row = (cols + tile - 1) // tile
    tile_of = (np.arange(rows)[:, None] // tile) * per_row + np.arange(cols)[None, :] // tile
    shapes = rasterio.features.shapes(
        tile_of.astype(np.int32), mask=mask, transform=transform, connectivity=4
    )
    return np.asarray([shapely.geometry.shape(s) for s, _ in shapes], dtype=object)


def under_boxes(
    geoms: np.ndarray, to_dem: pyproj.Transformer, transform: Affine, shape: tuple[int, ...]
) -> np.ndarray:
    """Cells of the window within the bounding box of one of ``geoms`` (working CRS).

    A superset of the cells the candidates touch (only those matter: the pieces
    are subtracted from the candidates), marked in O(candidates + cells) with a
    2-D difference array.
    """
    rows, cols = shape[:2]
    box = shapely.bounds(geoms)
    xs = np.column_stack([box[:, 0], box[:, 0], box[:, 2], box[:, 2]])
    ys = np.column_stack([box[:, 1], box[:, 3], box[:, 1], box[:, 3]])
    dx, dy = to_dem.transform(xs.ravel(), ys.ravel())
    c, r = ~transform * (np.asarray(dx), np.asarray(dy))
    c, r = c.reshape(-1, 4), r.reshape(-1, 4)
    c0 = np.clip(np.floor(c.min(axis=1)).astype(np.int64) - 1, 0, cols)
    c1 = np.clip(np.floor(c.max(axis=1)).astype(np.int64) + 2, 0, cols)
    r0 = np.clip(np.floor(r.min(axis=1)).astype(np.int64) - 1, 0, rows)
    r1 = np.clip(np.floor(r.max(axis=1)).astype(np.int64) + 2, 0, rows)
    marks = np.zeros((rows + 1, cols + 1), dtype=np.int32)
    np.add.at(marks, (r0, c0), 1)
    np.add.at(marks, (r0, c1), -1)
    np.add.at(marks, (r1, c0), -1)
    np.add.at(marks, (r1, c1), 1)
    return np.cumsum(np.cumsum(marks, axis=0), axis=1)[:rows, :cols] > 0


def steep_polygons(
    study: Study, layer_name: str, max_slope_pct: float, near: np.ndarray
) -> np.ndarray:
    """Polygons (working CRS) of the DEM cells steeper than ``max_slope_pct`` around ``near``.

    Only the window of the DEM covering ``near`` (the candidates' geometries,
    working CRS) plus one cell is read.
    """
    layer = study.layer_spec(layer_name)
    band, to_m, unit = ground_unit(None, layer, layer_name, study.config)
    where = study.config.where(("layers", layer_name))
    xmin, ymin, xmax, ymax = shapely.total_bounds(near)
    with open_raster(layer.source, f"layers.{layer_name}") as src:
        to_dem = pyproj.Transformer.from_crs(study.crs, src.crs, always_xy=True)
        bx, by = to_dem.transform([xmin, xmin, xmax, xmax], [ymin, ymax, ymin, ymax])
        cols, rows = ~src.transform * (np.asarray(bx), np.asarray(by))
        c0, c1 = max(int(np.floor(cols.min())) - 1, 0), min(int(np.ceil(cols.max())) + 1, src.width)
        r0, r1 = (
            max(int(np.floor(rows.min())) - 1, 0),
            min(int(np.ceil(rows.max())) + 1, src.height),
        )
        if c0 >= c1 or r0 >= r1:
            logger.warning("buildable: %s does not cover the candidates; no slope removed", where)
            return np.zeros(0, dtype=object)
        window = rasterio.windows.Window(c0, r0, c1 - c0, r1 - r0)
        data = src.read(band, window=window, masked=True).astype("float64").filled(np.nan)
        transform = src.window_transform(window)
        crs = pyproj.CRS.from_user_input(src.crs)
    try:
        dx, dy = cell_size_m(crs, transform, data.shape[0])
    except LayerError as exc:
        raise LayerError(f"{where}: {layer.source.name}: {exc}") from None
    slope = horn_slope_pct(data * to_m, dx, dy)
    steep = np.nan_to_num(slope, nan=0.0) > max_slope_pct
    steep &= under_boxes(near, to_dem, transform, data.shape)  # only cells near candidates
    logger.info(
        "buildable: %s (%s): %d of %d cells steeper than %g%%",
        layer_name,
        unit.label,
        int(steep.sum()),
        steep.size,
        max_slope_pct,
    )
    if not steep.any():
        return np.zeros(0, dtype=object)
    polygons = tiled_shapes(steep, transform)
    if crs != study.crs:
        back = pyproj.Transformer.from_crs(crs, study.crs, always_xy=True)
        polygons = shapely.transform(polygons, lambda xy: np.column_stack(back.transform(*xy.T)))
    return shapely.make_valid(polygons)
