"""Map overlays: exclusion zones, facilities sized by a column, choropleths, context.

Each overlay becomes a toggleable FeatureGroup with plain-word tooltips (the
feature's name, then e.g. ``Beds: 700``; none on background polygons such as the
study area, which are not interactive) and a legend row drawn with its colours
(:mod:`siteselect.outputs.map.legend`).
"""

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
from siteselect.outputs.map.legend import (
    LayerEntry,
    choropleth_classes,
    humanise,
    overlay_group,
    overlay_legend,
)
from siteselect.outputs.map.popup import esc, format_number

LOG = logging.getLogger("siteselect.outputs.map.build")

ZONE_COLOR = "#dc2626"
NO_SCORE_FILL = "#e5e7eb"
#: Quintile fills of choropleth overlays (e.g. target population), light to dark.
CHOROPLETH_COLORS = ("#f2f0f7", "#cbc9e2", "#9e9ac8", "#756bb1", "#54278f")
_DEFAULT_OVERLAY_COLOR = next(f.default for f in dataclasses.fields(Overlay) if f.name == "color")


def _add_overlay(fmap: folium.Map, overlay: Overlay, result: RunResult) -> LayerEntry:
    """Draw one overlay as a toggleable FeatureGroup; its layer-list entry and legend row."""
    gdf = _with_crs(overlay.gdf, result)
    for column in (overlay.label_column, overlay.size_column):
        if column is not None and column not in gdf.columns:
            raise ValueError(
                f"overlay {overlay.name!r}: column {column!r} not in its table "
                f"(columns: {', '.join(map(str, gdf.columns))})"
            )
    group = folium.FeatureGroup(name=esc(overlay.name), show=overlay.show, control=False)
    group.add_to(fmap)
    entry = LayerEntry(overlay_group(overlay), esc(overlay.name), group, "")
    if gdf.empty:
        LOG.info("overlay %r has no features", overlay.name)
        return entry
    if overlay.kind == "points":
        layer = _points_overlay(gdf, overlay)
        entry.legend = overlay_legend(overlay)
    else:
        layer, entry.legend = _shapes_overlay(gdf, overlay)
    if layer is not None:
        layer.add_to(group)
    return entry


def _is_background(overlay: Overlay) -> bool:
    """Filled context polygons (land under the study area): drawn, never hovered."""
    return overlay.kind == "polygons" and overlay.fill is not None and overlay.size_column is None


def _overlay_tooltip(overlay: Overlay) -> folium.GeoJsonTooltip | None:
    """The feature's name then ``Size column: value`` in plain words; none on backgrounds."""
    if _is_background(overlay):
        return None
    return folium.GeoJsonTooltip(fields=["tip"], labels=False, sticky=True)


def _labels(gdf: gpd.GeoDataFrame, overlay: Overlay) -> list[dict[str, Any]]:
    """Escaped properties of each overlay feature: label, size and the tooltip text ``tip``."""
    props: list[dict[str, Any]] = [{} for _ in range(len(gdf))]
    if overlay.label_column is not None:
        for prop, value in zip(props, gdf[overlay.label_column], strict=True):
            prop["label"] = esc(value)
    if overlay.size_column is not None:
        for prop, value in zip(props, gdf[overlay.size_column], strict=True):
            prop["size"] = format_number(value)
    size_name = humanise(overlay.size_column) if overlay.size_column else ""
    for prop in props:
        parts = [f"<b>{prop['label']}</b>"] if "label" in prop else [esc(overlay.name)]
        if "size" in prop and overlay.kind == "points":
            parts.append(f"{size_name}: {prop['size']}")
        prop["tip"] = "<br>".join(parts)
    return props


def _shapes_overlay(gdf: gpd.GeoDataFrame, overlay: Overlay) -> tuple[folium.GeoJson | None, str]:
    """Zones (translucent red), choropleths (polygons with a size column) or context shapes.

    Returns the layer (None when no feature has a geometry) and its legend row.
    """
    props = _labels(gdf, overlay)
    data = _feature_collection(_to_wgs84(gdf.geometry), props)
    if not data["features"]:
        return None, ""
    tooltip = _overlay_tooltip(overlay)
    if overlay.kind == "polygons" and overlay.size_column is not None:
        fills = _choropleth_fills(gdf[overlay.size_column])

        def choropleth(feature: Feature) -> dict[str, Any]:
            return {
                "color": "#ffffff",
                "weight": 0.5,
                "fillColor": fills[feature["id"]],
                "fillOpacity": 0.55,
            }

        values = pd.to_numeric(gdf[overlay.size_column], errors="coerce").tolist()
        labels = [p["label"] for p in props] if overlay.label_column else None
        classes = choropleth_classes(fills, values, labels, humanise(overlay.size_column).lower())
        legend = overlay_legend(overlay, classes)
        return _geojson_layer(data, choropleth, tooltip, False, highlight=False), legend
    color = overlay.color
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
    if _is_background(overlay):
        style["interactive"] = False
    layer = _geojson_layer(data, lambda feature: style, tooltip, False, highlight=False)
    return layer, overlay_legend(overlay, fill=color)


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
