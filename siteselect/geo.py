"""Coordinate reference systems and units.

Every distance and area in siteselect is computed in one projected, metric
*working CRS*: the config's ``crs``, or the UTM zone of the study area's centre
(pyproj's UTM query, WGS 84 datum). Layers are reprojected to it on load, with
a log line saying so.
"""

from __future__ import annotations

import logging
from typing import Any

import geopandas as gpd
import numpy as np
import pyproj
import shapely

from siteselect._errors import ConfigError, LayerError
from siteselect.parallel import concat, map_chunks

logger = logging.getLogger(__name__)

M_PER_FT = 0.3048
"""International foot in metres (FAA heights use the international foot)."""
M2_PER_ACRE = 4046.8564224
M2_PER_HECTARE = 10_000.0
SECONDS_PER_MINUTE = 60.0


def feet_to_m(feet: float) -> float:
    """Convert international feet to metres.

    >>> feet_to_m(100.0)
    30.48
    """
    return feet * M_PER_FT


def m_to_feet(metres: float) -> float:
    """Convert metres to international feet.

    >>> round(m_to_feet(30.48), 6)
    100.0
    """
    return metres / M_PER_FT


def m2_to_acres(square_metres: float) -> float:
    """Convert square metres to acres.

    >>> round(m2_to_acres(40468.564224), 6)
    10.0
    """
    return square_metres / M2_PER_ACRE


def kmh_to_m_per_s(kmh: float) -> float:
    """Convert km/h to m/s.

    >>> kmh_to_m_per_s(36.0)
    10.0
    """
    return kmh / 3.6


def working_crs(setting: str, frame_4326: gpd.GeoDataFrame | gpd.GeoSeries) -> pyproj.CRS:
    """Resolve the config's ``crs`` setting into a projected metric CRS.

    Parameters
    ----------
    setting : str
        ``"auto"`` or anything pyproj understands (``"EPSG:32611"``).
    frame_4326 : GeoDataFrame or GeoSeries
        Geometries in EPSG:4326 whose centre picks the UTM zone for ``"auto"``
        (geopandas' ``estimate_utm_crs``).

    >>> import geopandas, shapely
    >>> points = geopandas.GeoSeries([shapely.Point(-117.16, 32.72)], crs="EPSG:4326")
    >>> working_crs("auto", points).to_epsg()
    32611
    """
    if setting.strip().lower() == "auto":
        try:
            crs = frame_4326.estimate_utm_crs(datum_name="WGS 84")
        except RuntimeError:
            raise ConfigError(
                "crs: no UTM zone found for the candidates' extent; set 'crs:' explicitly"
            ) from None
        logger.info("working CRS: %s (EPSG:%s), the local UTM zone", crs.name, crs.to_epsg())
        return crs
    try:
        crs = pyproj.CRS.from_user_input(setting)
    except pyproj.exceptions.CRSError as exc:
        raise ConfigError(f"crs: cannot understand {setting!r}: {exc}") from None
    check_metric(crs, "crs")
    logger.info("working CRS: %s (from the config)", crs.name)
    return crs


def check_metric(crs: pyproj.CRS, what: str) -> None:
    """Raise unless ``crs`` is projected with metre units."""
    if not crs.is_projected:
        raise ConfigError(f"{what}: {crs.name} is not projected; use a metric CRS such as UTM")
    unit = crs.axis_info[0].unit_name.lower() if crs.axis_info else ""
    if unit not in ("metre", "meter"):
        raise ConfigError(f"{what}: {crs.name} has units of {unit!r}; use a CRS in metres")


def to_working(frame: gpd.GeoDataFrame, crs: pyproj.CRS, name: str) -> gpd.GeoDataFrame:
    """Reproject ``frame`` to the working CRS, logging the conversion.

    Raises
    ------
    LayerError
        If ``frame`` has no CRS.
    """
    if frame.crs is None:
        raise LayerError(f"{name}: layer has no CRS; set 'crs:' for it in the config")
    if pyproj.CRS(frame.crs).equals(crs):
        logger.info("%s: already in the working CRS", name)
        return frame
    logger.info("%s: reprojected from %s to %s", name, pyproj.CRS(frame.crs).name, crs.name)
    return frame.to_crs(crs)


def geometries_in(series: gpd.GeoSeries, crs: Any) -> np.ndarray:
    """The geometries of ``series`` in ``crs``, as an array, reprojected on every core.

    Returns them unchanged when the CRSs are the same (by meaning, not by
    spelling: an EPSG code and its WKT are equal). Otherwise each chunk of
    geometries is transformed in its own thread with its own
    :class:`pyproj.Transformer` (PROJ releases the GIL), in order, so the result
    equals ``series.to_crs(crs)``.
    """
    geoms = series.to_numpy()
    source = pyproj.CRS(series.crs)
    target = pyproj.CRS(crs)
    if source.equals(target):
        return geoms

    def chunk(start: int, stop: int) -> np.ndarray:
        transformer = pyproj.Transformer.from_crs(source, target, always_xy=True)
        return shapely.transform(
            geoms[start:stop], lambda xy: np.column_stack(transformer.transform(xy[:, 0], xy[:, 1]))
        )

    return concat(map_chunks(chunk, len(geoms)))


def extent_4326(series: gpd.GeoSeries) -> gpd.GeoSeries:
    """The extent of ``series`` as one lon/lat box (its bounds transformed, edges densified).

    What :func:`working_crs` needs to pick a UTM zone, without reprojecting
    every vertex of a million parcels.
    """
    bounds = series.total_bounds
    source = pyproj.CRS(series.crs) if series.crs is not None else pyproj.CRS("EPSG:4326")
    if not source.equals(pyproj.CRS("EPSG:4326")) and np.isfinite(bounds).all():
        transformer = pyproj.Transformer.from_crs(source, "EPSG:4326", always_xy=True)
        bounds = transformer.transform_bounds(*bounds, densify_pts=21)
    return gpd.GeoSeries([shapely.box(*bounds)], crs="EPSG:4326")
