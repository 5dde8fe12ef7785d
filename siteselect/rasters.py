"""Opening rasters with errors a user can act on (no config imports: safe everywhere)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import rasterio
import rasterio.errors

from siteselect._errors import LayerError


@contextlib.contextmanager
def open_raster(path: Path, name: str) -> Iterator[rasterio.io.DatasetReader]:
    """Open a raster with rasterio, turning failures into one-line :class:`LayerError`.

    Raises
    ------
    LayerError
        Unreadable or unrecognised file, or a raster without a CRS.
    """
    try:
        src = rasterio.open(path)
    except rasterio.errors.RasterioIOError as exc:
        raise LayerError(f"{name}: cannot open raster {path}: {exc}") from None
    with src:
        if src.crs is None:
            raise LayerError(
                f"{name}: {Path(path).name} has no CRS; assign one (e.g. gdal_edit.py -a_srs)"
            )
        yield src
