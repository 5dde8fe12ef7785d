"""Interactive Folium map of a scoring run, for executives.

:func:`build_map` turns a :class:`~siteselect.results.RunResult` into a
:class:`folium.Map`; :func:`write_map` saves it as a single HTML file.

The map shows every candidate coloured by ``total_score`` (polygons, or small
circles when there are more than ``max_polygons`` candidates), the excluded
candidates in a grey layer, the top sites as numbered markers whose popups break
the score down per criterion, the run's overlays as toggleable layers, a title
box and a ranked list of the top sites.

Geometry is simplified in the working (metric) CRS, reprojected to EPSG:4326 and
rounded to :data:`COORD_DECIMALS` decimals, and only the columns a tooltip needs
are embedded, so a map of a few thousand parcels stays around a megabyte.
Every value read from the input data is HTML-escaped (see
:func:`siteselect._webmap_popup.esc`).
"""

from __future__ import annotations

import dataclasses
import logging
import math
import pathlib
from collections.abc import Callable, Sequence
from typing import Any

import branca.colormap
import folium
import folium.plugins
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from siteselect._webmap_popup import (
    MAP_CSS,
    RankingControl,
    StyleSheet,
    TitleBox,
    esc,
    format_number,
    format_rank,
    format_score,
    is_missing,
    marker_html,
    popup_html,
    ranking_html,
    title_html,
)
from siteselect.results import Overlay, RunResult

LOG = logging.getLogger(__name__)

WGS84 = "EPSG:4326"
#: Decimals kept in longitude/latitude (6 decimals is about 0.1 m).
COORD_DECIMALS = 6
#: Douglas-Peucker tolerance, in metres of the working CRS, applied before reprojection.
SIMPLIFY_TOLERANCE_M = 2.0
#: Above this many candidates they are drawn as circles at representative points.
MAX_POLYGONS = 5000
#: Margins (px) popups are auto-panned clear of: the ranked list on the left,
#: the layer control on the right.
POPUP_PAD_LEFT = 330
POPUP_PAD_RIGHT = 270
#: Width of the colour legend (branca's default, 450 px, crowds the title box).
LEGEND_WIDTH_PX = 320
#: Number of distinct fill colours of the score choropleth.
COLOR_STEPS = 64

SCORE_COLORS = ("#ffffcc", "#d9f0a3", "#addd8e", "#78c679", "#31a354", "#006837")
EXCLUDED_FILL = "#9ca3af"
NO_SCORE_FILL = "#e5e7eb"
ZONE_COLOR = "#dc2626"
_DEFAULT_OVERLAY_COLOR = next(f.default for f in dataclasses.fields(Overlay) if f.name == "color")

Feature = dict[str, Any]
StyleFunction = Callable[[Feature], dict[str, Any]]


def build_map(result: RunResult, *, max_polygons: int = MAX_POLYGONS) -> folium.Map:
    """Build the interactive map of a scoring run.

    Parameters
    ----------
    result : RunResult
        The run; its GeoDataFrames are in ``result.crs`` (metric).
    max_polygons : int, default :data:`MAX_POLYGONS`
        Above this many candidates, candidates are drawn as small circles at their
        representative points instead of polygons, to keep the page light.

    Returns
    -------
    folium.Map
        The map, ready for :meth:`folium.Map.save`.
    """
    candidates = _with_crs(result.candidates, result)
    as_points = len(candidates) > max_polygons
    if as_points:
        LOG.info(
            "%d candidates > %d: drawing them as points instead of polygons",
            len(candidates),
            max_polygons,
        )
    fmap = _base_map(result.title, _bounds_wgs84(candidates))
    StyleSheet(MAP_CSS).add_to(fmap)
    colormap = _score_colormap(candidates)
    # Drawing order is hover priority on the shared canvas: areas and lines below
    # the candidates, facilities (points) above them.
    below = [o for o in result.overlays if o.kind != "points"]
    above = [o for o in result.overlays if o.kind == "points"]
    for overlay in below:
        _add_overlay(fmap, overlay, result)
    _add_candidate_layer(fmap, candidates, colormap, as_points)
    _add_excluded_layer(fmap, candidates, as_points)
    for overlay in above:
        _add_overlay(fmap, overlay, result)
    markers = _add_top_markers(fmap, result)
    colormap.add_to(fmap)
    TitleBox(title_html(result.title, _subtitle(result))).add_to(fmap)
    RankingControl(ranking_html(result.top()), markers).add_to(fmap)
    folium.LayerControl(collapsed=False, position="topright").add_to(fmap)
    return fmap


def write_map(result: RunResult, path: pathlib.Path) -> None:
    """Build the map of ``result`` and write it as one HTML file.

    Parameters
    ----------
    result : RunResult
        The run to draw.
    path : pathlib.Path
        Destination; written in place (the caller makes the write atomic by
        passing a temporary path and renaming it).
    """
    fmap = build_map(result)
    fmap.save(str(path))
    LOG.info("wrote map %s (%.2f MB)", path, pathlib.Path(path).stat().st_size / 1e6)


# --------------------------------------------------------------------------- base map


def _base_map(title: str, bounds: list[list[float]] | None) -> folium.Map:
    """OpenStreetMap base map with scale bar, fullscreen button, fitted to ``bounds``."""
    center = (32.7157, -117.1611) if bounds is None else _center(bounds)
    fmap = folium.Map(
        location=center,
        zoom_start=11,
        tiles=None,
        control_scale=True,
        prefer_canvas=True,
    )
    folium.TileLayer("OpenStreetMap", name="Street map (OpenStreetMap)").add_to(fmap)
    fmap.get_root().title = esc(title)
    folium.plugins.Fullscreen(position="topleft").add_to(fmap)
    if bounds is not None:
        fmap.fit_bounds(bounds, padding=(20, 20))
    return fmap


def _center(bounds: list[list[float]]) -> tuple[float, float]:
    """Centre ``(lat, lon)`` of ``[[south, west], [north, east]]``."""
    (south, west), (north, east) = bounds
    return ((south + north) / 2, (west + east) / 2)


def _bounds_wgs84(gdf: gpd.GeoDataFrame) -> list[list[float]] | None:
    """``[[south, west], [north, east]]`` of ``gdf`` in EPSG:4326, or None when empty."""
    geoms = gdf.geometry[~(gdf.geometry.isna() | gdf.geometry.is_empty)]
    if geoms.empty:
        LOG.warning("no candidate geometry: the map is not fitted to the candidates")
        return None
    west, south, east, north = geoms.to_crs(WGS84).total_bounds
    return [[float(south), float(west)], [float(north), float(east)]]


def _subtitle(result: RunResult) -> str:
    """One line summarising the run for the title box."""
    cands = result.candidates
    excluded = int(_excluded_mask(cands).sum())
    ranked = int(cands["rank"].notna().sum())
    shown = min(result.top_n, ranked)
    return (
        f"{ranked:,} candidate sites ranked \u00b7 {excluded:,} excluded by hard constraints"
        f" \u00b7 top {shown} numbered"
    )


# --------------------------------------------------------------------------- geometry


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


# --------------------------------------------------------------------------- candidates


def _score_colormap(candidates: gpd.GeoDataFrame) -> branca.colormap.LinearColormap:
    """Sequential colormap over the ranked candidates' score range."""
    ranked = candidates.loc[candidates["rank"].notna(), "total_score"].astype(float)
    ranked = ranked[np.isfinite(ranked)]
    vmin, vmax = (float(ranked.min()), float(ranked.max())) if len(ranked) else (0.0, 1.0)
    if not vmax - vmin > 1e-9:
        vmin, vmax = max(0.0, vmin - 0.05), min(1.0, vmax + 0.05)
    colormap = branca.colormap.LinearColormap(
        SCORE_COLORS,
        vmin=vmin,
        vmax=vmax,
        caption="Total score (higher is better)",
        tick_labels=[round(float(t), 2) for t in np.linspace(vmin, vmax, 5)],
    )
    colormap.width = LEGEND_WIDTH_PX
    return colormap


def _quantized_color(colormap: branca.colormap.LinearColormap, value: Any) -> str:
    """Colour of ``value``, snapped to :data:`COLOR_STEPS` levels (few distinct styles)."""
    if is_missing(value) or not math.isfinite(float(value)):
        return NO_SCORE_FILL
    span = colormap.vmax - colormap.vmin
    fraction = min(1.0, max(0.0, (float(value) - colormap.vmin) / span))
    step = round(fraction * (COLOR_STEPS - 1)) / (COLOR_STEPS - 1)
    return colormap.rgb_hex_str(colormap.vmin + step * span)


def _candidate_style(fills: Sequence[str], as_points: bool) -> StyleFunction:
    """Style function filling each candidate feature with its precomputed colour."""

    def style(feature: Feature) -> dict[str, Any]:
        fill = fills[feature["id"]]
        if as_points:
            return {
                "fill": True,
                "fillColor": fill,
                "color": "#374151",
                "weight": 0.4,
                "fillOpacity": 0.9,
            }
        return {
            "fill": True,
            "fillColor": fill,
            "color": "#4b5563",
            "weight": 0.5,
            "fillOpacity": 0.75,
        }

    return style


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


def _add_candidate_layer(
    fmap: folium.Map,
    candidates: gpd.GeoDataFrame,
    colormap: branca.colormap.LinearColormap,
    as_points: bool,
) -> None:
    """Ranked candidates coloured by total score, with an id/rank/score/area tooltip."""
    ranked = candidates[~_excluded_mask(candidates)]
    group = folium.FeatureGroup(name=f"Candidate sites ({len(ranked):,})", show=True)
    group.add_to(fmap)
    if ranked.empty:
        return
    geoms = _points_wgs84(ranked.geometry) if as_points else _to_wgs84(ranked.geometry)
    props = [
        {
            "id": esc(row.candidate_id),
            "rank": format_rank(row.rank),
            "score": format_score(row.total_score),
            "acres": format_number(getattr(row, "area_acres", None)),
        }
        for row in ranked.itertuples(index=False)
    ]
    fills = [_quantized_color(colormap, v) for v in ranked["total_score"]]
    tooltip = folium.GeoJsonTooltip(
        fields=["id", "rank", "score", "acres"],
        aliases=["Site", "Rank", "Total score", "Area (acres)"],
        sticky=True,
    )
    data = _feature_collection(geoms, props)
    if data["features"]:
        _geojson_layer(data, _candidate_style(fills, as_points), tooltip, as_points).add_to(group)


def _excluded_mask(candidates: gpd.GeoDataFrame) -> pd.Series:
    """Boolean mask of excluded candidates (missing ``excluded`` counts as not excluded)."""
    if "excluded" not in candidates:
        return pd.Series(False, index=candidates.index)
    return candidates["excluded"].fillna(False).astype(bool)


def _add_excluded_layer(fmap: folium.Map, candidates: gpd.GeoDataFrame, as_points: bool) -> None:
    """Excluded candidates in grey, with the exclusion reason in the tooltip."""
    excluded = candidates[_excluded_mask(candidates)]
    if excluded.empty:
        return
    group = folium.FeatureGroup(name=f"Excluded sites ({len(excluded):,})", show=True)
    group.add_to(fmap)
    geoms = _points_wgs84(excluded.geometry) if as_points else _to_wgs84(excluded.geometry)
    props = [
        {
            "id": esc(row.candidate_id),
            "reason": esc(getattr(row, "exclusion_reason", "") or "excluded"),
            "score": format_score(row.total_score),
        }
        for row in excluded.itertuples(index=False)
    ]
    tooltip = folium.GeoJsonTooltip(
        fields=["id", "reason", "score"],
        aliases=["Excluded site", "Reason", "Score if allowed"],
        sticky=True,
    )

    def style(feature: Feature) -> dict[str, Any]:
        return {
            "fill": True,
            "fillColor": EXCLUDED_FILL,
            "color": "#6b7280",
            "weight": 0.4,
            "fillOpacity": 0.45,
        }

    data = _feature_collection(geoms, props)
    if data["features"]:
        _geojson_layer(data, style, tooltip, as_points).add_to(group)


def _add_top_markers(fmap: folium.Map, result: RunResult) -> dict[int, folium.Marker]:
    """Numbered markers at the top sites, each with its score-breakdown popup."""
    top = result.top()
    group = folium.FeatureGroup(name=f"Top {len(top)} sites", show=True)
    group.add_to(fmap)
    if top.empty:
        return {}
    points = _points_wgs84(_with_crs(top, result).geometry)
    markers: dict[int, folium.Marker] = {}
    for (_, row), point in zip(top.iterrows(), points, strict=True):
        if point is None or point.is_empty:
            continue
        rank = int(row["rank"])
        markers[rank] = _rank_marker(row, rank, point, result, len(top))
        markers[rank].add_to(group)
    return markers


def _rank_marker(
    row: pd.Series, rank: int, point: shapely.Point, result: RunResult, count: int
) -> folium.Marker:
    """The DivIcon marker of one top site (higher ranks drawn above lower ones)."""
    size = 34 if rank == 1 else 28
    icon = folium.DivIcon(
        html=marker_html(rank),
        icon_size=(size, size),
        icon_anchor=(size // 2, size // 2),
        class_name="ss-rank-icon",
    )
    label = f"#{rank} {esc(row['candidate_id'])} \u00b7 score {format_score(row['total_score'])}"
    return folium.Marker(
        location=(point.y, point.x),
        icon=icon,
        popup=folium.Popup(
            popup_html(row, result.criteria),
            max_width=520,
            auto_pan_padding_top_left=(POPUP_PAD_LEFT, 90),
            auto_pan_padding_bottom_right=(POPUP_PAD_RIGHT, 20),
        ),
        tooltip=folium.Tooltip(label),
        z_index_offset=1000 + (count - rank) * 10,
    )


# --------------------------------------------------------------------------- overlays


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
    """Zones (translucent red) or context lines/polygons (thin outlines, no fill)."""
    data = _feature_collection(_to_wgs84(gdf.geometry), _labels(gdf, overlay))
    if not data["features"]:
        return None
    if overlay.kind == "zones":
        color = ZONE_COLOR if overlay.color == _DEFAULT_OVERLAY_COLOR else overlay.color
        style = {
            "color": color,
            "fillColor": color,
            "weight": 1,
            "fillOpacity": 0.22,
            "dashArray": "4 3",
        }
    else:
        style = {"color": overlay.color, "weight": 1.5, "opacity": 0.8, "fill": False}
    return _geojson_layer(
        data, lambda feature: style, _overlay_tooltip(overlay), False, highlight=False
    )


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
