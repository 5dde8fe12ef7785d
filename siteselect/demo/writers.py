"""Deterministic writers: RFC 7946 GeoJSON, GeoPackage, OurAirports-style CSV."""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import geopandas as gpd
import numpy as np
import pyogrio
import shapely

log = logging.getLogger(__name__)

# GeoPackage stamps gpkg_contents.last_change with the current time unless told.
FIXED_DATE = "2026-01-01T00:00:00Z"


@contextmanager
def gdal_config(**options: str) -> Iterator[None]:
    """Set GDAL config options for the duration of the block, then restore them."""
    old = {k: pyogrio.get_gdal_config_option(k) for k in options}
    pyogrio.set_gdal_config_options(options)
    try:
        yield
    finally:
        pyogrio.set_gdal_config_options(old)


def ensure_valid(gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Repair geometries made invalid by reprojection or rounding (polygons stay polygons).

    Reprojecting a valid polygon can create sub-centimetre self-intersections;
    the demo must ship valid geometries, so they are repaired here, before
    writing, with ``make_valid`` keeping only the polygonal parts.
    """
    geoms = gdf.geometry.to_numpy()
    invalid = ~shapely.is_valid(geoms)
    if not invalid.any():
        return gdf
    fixed = geoms.copy()
    for i in np.flatnonzero(invalid):
        repaired = shapely.make_valid(geoms[i])
        if geoms[i].geom_type in ("Polygon", "MultiPolygon"):
            parts = [p for p in shapely.get_parts(repaired) if p.geom_type == "Polygon"]
            repaired = (
                shapely.MultiPolygon(parts)
                if geoms[i].geom_type == "MultiPolygon"
                else (max(parts, key=lambda p: p.area))
            )
        fixed[i] = repaired
    log.info("repaired %d geometries made invalid by reprojection", int(invalid.sum()))
    return gdf.set_geometry(gpd.GeoSeries(fixed, index=gdf.index, crs=gdf.crs))


def write_geojson(gdf: gpd.GeoDataFrame, path: Path) -> None:
    """Write RFC 7946 GeoJSON with 7-decimal coordinates.

    Parameters
    ----------
    gdf
        Data in EPSG:4326.
    path
        Output ``.geojson``.
    """
    pyogrio.write_dataframe(
        ensure_valid(gdf),
        path,
        driver="GeoJSON",
        layer_options={"RFC7946": "YES", "COORDINATE_PRECISION": "7", "WRITE_NAME": "NO"},
    )
    log.info("wrote %s: %d features", path.name, len(gdf))


def write_gpkg(gdf: gpd.GeoDataFrame, path: Path, layer: str, spatial_index: bool = True) -> None:
    """Write a one-layer GeoPackage with a fixed timestamp (byte-reproducible).

    Parameters
    ----------
    gdf
        Data with its CRS set.
    path
        Output ``.gpkg``.
    layer
        Layer name.
    spatial_index
        Whether to write the R-tree index (about 70 bytes per feature).
    """
    with gdal_config(OGR_CURRENT_DATE=FIXED_DATE):
        pyogrio.write_dataframe(
            ensure_valid(gdf),
            path,
            layer=layer,
            driver="GPKG",
            layer_options={"SPATIAL_INDEX": "YES" if spatial_index else "NO"},
        )
    log.info("wrote %s: %d features", path.name, len(gdf))


def _cell(value: str | None, text: bool) -> str:
    if value is None:
        return ""
    if text:
        return '"' + value.replace('"', '""') + '"'
    return value


def write_ourairports_csv(
    rows: Sequence[dict[str, str | None]],
    columns: Sequence[str],
    text_columns: frozenset[str],
    path: Path,
) -> None:
    """Write rows the way OurAirports CSV files are written.

    Header names are quoted, text values are quoted, numbers are bare and
    missing values are empty.

    Parameters
    ----------
    rows
        Records with string values (``None`` for empty).
    columns
        Column order.
    text_columns
        Columns whose values are quoted.
    path
        Output ``.csv``.
    """
    lines = [",".join(f'"{c}"' for c in columns)]
    lines += [",".join(_cell(r[c], c in text_columns) for c in columns) for r in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    log.info("wrote %s: %d rows", path.name, len(rows))
