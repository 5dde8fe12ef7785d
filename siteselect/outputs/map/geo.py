"""Geometry helpers of the web map: EPSG:4326 conversion, GeoJSON, Leaflet layers."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any

import folium
import geopandas as gpd
import numpy as np
import shapely

from siteselect.decision.results import RunResult

LOG = logging.getLogger("siteselect.outputs.map.build")

WGS84 = "EPSG:4326"
#: Decimals kept in longitude/latitude (6 decimals is about 0.1 m).
COORD_DECIMALS = 6
#: Douglas-Peucker tolerance, in metres of the working CRS, applied before reprojection.
SIMPLIFY_TOLERANCE_M = 2.0

Feature = dict[str, Any]
StyleFunction = Callable[[Feature], dict[str, Any]]


def _with_crs(gdf: gpd.GeoDataFrame, result: RunResult) -> gpd.GeoDataFrame:
    """``gdf`` with its CRS set to the run's working CRS when it has none."""
    return gdf.set_crs(result.crs) if gdf.crs is None else gdf


def _to_wgs84(geoms: gpd.GeoSeries, simplify_m: float = SIMPLIFY_TOLERANCE_M) -> gpd.GeoSeries:
    """Simplify in the metric CRS, reproject to EPSG:4326 and round coordinates."""
    if simplify_m > 0 and geoms.crs is not None and geoms.crs.is_projected:
        geoms = geoms.simplify(simplify_m, preserve_topology=True)
    projected = geoms.to_crs(WGS84)
    rounded = shapely.transform(
        np.asarray(projected.values), lambda xy: np.round(xy, COORD_DECIMALS)
    )
    return gpd.GeoSeries(rounded, index=projected.index, crs=WGS84)


def _points_wgs84(geoms: gpd.GeoSeries) -> gpd.GeoSeries:
    """Representative points of ``geoms`` (computed in the metric CRS), in EPSG:4326."""
    points = geoms.copy()
    not_point = ~geoms.isna() & (geoms.geom_type != "Point")
    points[not_point] = geoms[not_point].representative_point()
    return _to_wgs84(points, simplify_m=0)


def _feature_collection(geoms: gpd.GeoSeries, properties: Sequence[dict[str, Any]]) -> dict:
    """GeoJSON FeatureCollection with integer ids; missing or empty geometries dropped."""
    features = []
    for ident, (geom, props) in enumerate(zip(geoms, properties, strict=True)):
        if geom is None or geom.is_empty:
            continue
        features.append(
            {
                "type": "Feature",
                "id": ident,
                "properties": props,
                "geometry": shapely.geometry.mapping(geom),
            }
        )
    dropped = len(properties) - len(features)
    if dropped:
        LOG.warning("%d feature(s) without geometry left off the map", dropped)
    return {"type": "FeatureCollection", "features": features}


def _highlight(feature: Feature) -> dict[str, Any]:
    """Outline a feature under the mouse."""
    return {"color": "#111827", "weight": 2.5}


def _geojson_layer(
    data: dict,
    style: StyleFunction,
    tooltip: folium.GeoJsonTooltip | folium.Tooltip | None,
    as_points: bool,
    highlight: bool = True,
) -> folium.GeoJson:
    """A GeoJson layer (not in the layer control; its FeatureGroup is)."""
    return folium.GeoJson(
        data,
        style_function=style,
        highlight_function=_highlight if highlight else None,
        tooltip=tooltip,
        marker=folium.CircleMarker(radius=4) if as_points else None,
        control=False,
    )
