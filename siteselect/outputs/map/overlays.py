"""Map overlays: exclusion zones, facilities sized by a column, choropleths, context."""

from __future__ import annotations

import dataclasses
import logging
from typing import Any

import folium
import geopandas as gpd
import numpy as np
import pandas as pd

from siteselect.criteria.overlay import Overlay
from siteselect.decision.results import RunResult
from siteselect.outputs.map.geo import (
    Feature,
    _feature_collection,
    _geojson_layer,
    _points_wgs84,
    _to_wgs84,
    _with_crs,
)
from siteselect.outputs.map.popup import esc, format_number

LOG = logging.getLogger("siteselect.outputs.map.build")

ZONE_COLOR = "#dc2626"
NO_SCORE_FILL = "#e5e7eb"
#: Quintile fills of choropleth overlays (e.g. target population), light to dark.
CHOROPLETH_COLORS = ("#f2f0f7", "#cbc9e2", "#9e9ac8", "#756bb1", "#54278f")
_DEFAULT_OVERLAY_COLOR = next(f.default for f in dataclasses.fields(Overlay) if f.name == "color")


def _add_overlay(fmap: folium.Map, overlay: Overlay, result: RunResult) -> None:
    """Draw one overlay as a toggleable FeatureGroup."""
    gdf = _with_crs(overlay.gdf, result)
    for column in (overlay.label_column, overlay.size_column):
        if column is not None and column not in gdf.columns:
            raise ValueError(
                f"overlay {overlay.name!r}: column {column!r} not in its table "
                f"(columns: {', '.join(map(str, gdf.columns))})"
            )
    group = folium.FeatureGroup(name=esc(overlay.name), show=overlay.show)
    group.add_to(fmap)
    if gdf.empty:
        LOG.info("overlay %r has no features", overlay.name)
        return
    if overlay.kind == "points":
        layer = _points_overlay(gdf, overlay)
    else:
        layer = _shapes_overlay(gdf, overlay)
    if layer is not None:
        layer.add_to(group)


def _overlay_tooltip(overlay: Overlay) -> folium.GeoJsonTooltip | folium.Tooltip:
    """Per-feature tooltip (label, size) when the overlay has those columns, else its name."""
    columns = {"label": overlay.label_column, "size": overlay.size_column}
    fields = [field for field, column in columns.items() if column is not None]
    if not fields:
        return folium.Tooltip(esc(overlay.name))
    aliases = [esc(columns[field]) for field in fields]
    return folium.GeoJsonTooltip(fields=fields, aliases=aliases, sticky=True)


def _labels(gdf: gpd.GeoDataFrame, overlay: Overlay) -> list[dict[str, Any]]:
    """Escaped tooltip properties (label, size) of each overlay feature."""
    props: list[dict[str, Any]] = [{} for _ in range(len(gdf))]
    if overlay.label_column is not None:
        for prop, value in zip(props, gdf[overlay.label_column], strict=True):
            prop["label"] = esc(value)
    if overlay.size_column is not None:
        for prop, value in zip(props, gdf[overlay.size_column], strict=True):
            prop["size"] = format_number(value)
    return props


def _shapes_overlay(gdf: gpd.GeoDataFrame, overlay: Overlay) -> folium.GeoJson | None:
    """Zones (translucent red), choropleths (polygons with a size column) or context shapes."""
    data = _feature_collection(_to_wgs84(gdf.geometry), _labels(gdf, overlay))
    if not data["features"]:
        return None
    if overlay.kind == "polygons" and overlay.size_column is not None:
        fills = _choropleth_fills(gdf[overlay.size_column])

        def choropleth(feature: Feature) -> dict[str, Any]:
            return {
                "color": "#ffffff",
                "weight": 0.5,
                "fillColor": fills[feature["id"]],
                "fillOpacity": 0.55,
            }

        return _geojson_layer(data, choropleth, _overlay_tooltip(overlay), False, highlight=False)
    if overlay.kind == "zones":
        color = ZONE_COLOR if overlay.color == _DEFAULT_OVERLAY_COLOR else overlay.color
        style = {
            "color": color,
            "fillColor": color,
            "weight": 1,
            "fillOpacity": 0.22,
            "dashArray": "4 3",
        }
    elif overlay.kind == "polygons" and overlay.fill is not None:
        style = {
            "color": overlay.color,
            "weight": 1.5,
            "opacity": 0.8,
            "fill": True,
            "fillColor": overlay.fill,
            "fillOpacity": 0.6,
        }
    else:
        style = {"color": overlay.color, "weight": 1.5, "opacity": 0.8, "fill": False}
    return _geojson_layer(
        data, lambda feature: style, _overlay_tooltip(overlay), False, highlight=False
    )


def _choropleth_fills(values: pd.Series) -> list[str]:
    """Purple sequential fill per feature by quintile of ``values`` (grey when missing)."""
    numbers = pd.to_numeric(values, errors="coerce").to_numpy(float)
    finite = numbers[np.isfinite(numbers)]
    if finite.size == 0:
        return [NO_SCORE_FILL] * len(numbers)
    edges = np.quantile(finite, np.linspace(0, 1, len(CHOROPLETH_COLORS) + 1)[1:-1])
    classes = np.searchsorted(edges, numbers, side="right")
    return [
        CHOROPLETH_COLORS[c] if np.isfinite(v) else NO_SCORE_FILL
        for c, v in zip(classes, numbers, strict=True)
    ]


def _points_overlay(gdf: gpd.GeoDataFrame, overlay: Overlay) -> folium.GeoJson | None:
    """Circle markers, radius scaled by the square root of ``size_column`` when given."""
    data = _feature_collection(_points_wgs84(gdf.geometry), _labels(gdf, overlay))
    if not data["features"]:
        return None
    radii = _radii(gdf, overlay.size_column)

    def style(feature: Feature) -> dict[str, Any]:
        return {
            "radius": radii[feature["id"]],
            "fill": True,
            "color": "#ffffff",
            "weight": 1,
            "fillColor": overlay.color,
            "fillOpacity": 0.85,
        }

    return _geojson_layer(data, style, _overlay_tooltip(overlay), True, highlight=False)


def _radii(gdf: gpd.GeoDataFrame, size_column: str | None) -> list[float]:
    """Marker radius per feature: 4 to 14 px by the square root of the size, else 6 px."""
    if size_column is None:
        return [6.0] * len(gdf)
    sizes = pd.to_numeric(gdf[size_column], errors="coerce").clip(lower=0).to_numpy(float)
    largest = np.nanmax(sizes) if np.isfinite(sizes).any() else 0.0
    if not largest > 0:
        return [6.0] * len(gdf)
    scaled = 4.0 + 10.0 * np.sqrt(np.nan_to_num(sizes, nan=0.0) / largest)
    return [round(float(r), 1) for r in scaled]
