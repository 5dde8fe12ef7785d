"""Interactive Folium map of a scoring run, for executives: one self-contained HTML file.

:func:`build_map` turns a :class:`~siteselect.decision.results.RunResult` into a
:class:`folium.Map`; :func:`write_map` saves it as a single HTML file.

The map shows every candidate coloured by ``total_score`` (polygons; small
circles above ``max_polygons`` candidates; a square grid of best scores plus the
best candidates as points above ``max_points``), the excluded candidates in a
grey layer with their reason, the run's overlays as toggleable layers (zones,
choropleths, facilities sized by a column, context drawn as a basemap substitute
when tiles cannot load), listed under the headings sites / constraints / context
in a collapsed layer control, a legend derived from the layers drawn
(:mod:`siteselect.outputs.map.legend`), a title box, and a left panel with the
ranked top sites and one weight slider per criterion: the top-N numbered markers
(fanned out where they would overlap), their breakdown popups, the list and the
candidates' colours follow the sliders (:mod:`siteselect.outputs.map.whatif`).
Leaflet and the map's scripts are inlined (:mod:`siteselect.outputs.map.assets`),
so the file opens offline.

Geometry is simplified in the working (metric) CRS, reprojected to EPSG:4326 and
rounded to :data:`COORD_DECIMALS` decimals, and only the columns a tooltip needs
are embedded, so a map of a few thousand parcels stays around a megabyte.
Every value read from the input data is HTML-escaped (see
:func:`siteselect.outputs.map.popup.esc`).
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import math
import pathlib
from collections.abc import Iterator, Sequence
from typing import Any

import branca.colormap
import branca.element
import folium
import folium.plugins
import geopandas as gpd
import numpy as np
import pandas as pd

from siteselect.decision.results import RunResult
from siteselect.decision.separation import neighbours_within
from siteselect.geo import extent_4326
from siteselect.outputs.map.assets import use_assets
from siteselect.outputs.map.geo import (
    Feature,
    StyleFunction,
    _feature_collection,
    _geojson_layer,
    _points_wgs84,
    _to_wgs84,
    _with_crs,
)
from siteselect.outputs.map.grid import cell_label, grid_cells
from siteselect.outputs.map.legend import LayerEntry, layer_groups_js, legend_html
from siteselect.outputs.map.overlays import _add_overlay
from siteselect.outputs.map.popup import (
    TitleBox,
    esc,
    format_number,
    format_rank,
    format_score,
    is_missing,
    title_html,
)
from siteselect.outputs.map.whatif import (
    WHATIF_MAX_SITES,
    SiteMap,
    panel_html,
    whatif_payload,
    whatif_rows,
)

LOG = logging.getLogger(__name__)

#: Above this many candidates they are drawn as circles at representative points.
MAX_POLYGONS = 5000
#: Above this many candidates they are aggregated into a square grid.
MAX_POINTS = 20_000
#: In the grid mode, this many best candidates are still drawn as points.
BEST_POINTS = 2000
#: Number of distinct fill colours of the score choropleth.
COLOR_STEPS = 64

SCORE_COLORS = ("#ffffcc", "#d9f0a3", "#addd8e", "#78c679", "#31a354", "#006837")
EXCLUDED_FILL = "#9ca3af"
NO_SCORE_FILL = "#e5e7eb"


def build_map(
    result: RunResult,
    *,
    max_polygons: int = MAX_POLYGONS,
    max_points: int = MAX_POINTS,
    inline_assets: bool = True,
) -> folium.Map:
    """Build the interactive map of a scoring run.

    Parameters
    ----------
    result : RunResult
        The run; its GeoDataFrames are in ``result.crs`` (metric).
    max_polygons : int, default :data:`MAX_POLYGONS`
        Above this many candidates, candidates are drawn as small circles at their
        representative points instead of polygons, to keep the page light.
    max_points : int, default :data:`MAX_POINTS`
        Above this many candidates, they are aggregated into a square grid (best
        score per cell; excluded counts and their most frequent reason) and only
        the :data:`BEST_POINTS` best are drawn individually, as points.
    inline_assets : bool, default True
        Put Leaflet and the fullscreen plugin inside the page (works offline);
        False links them on jsDelivr instead.

    Returns
    -------
    folium.Map
        The map, ready for :meth:`folium.Map.save`.
    """
    candidates = _with_crs(result.candidates, result)
    mode = "polygons" if len(candidates) <= max_polygons else "points"
    if len(candidates) > max_points:
        mode = "grid"
    if mode != "polygons":
        LOG.info("%d candidates > %d: drawing them as %s", len(candidates), max_polygons, mode)
    bounds = _bounds_wgs84(candidates)
    fmap, fullscreen, tiles = _base_map(result.title, bounds)
    use_assets(fmap, fullscreen, inline=inline_assets)
    colormap = _score_colormap(candidates)
    layers = _Layers()
    # Drawing order is hover priority on the shared canvas: areas and lines below
    # the candidates, facilities (points) above them.
    below = [o for o in result.overlays if o.kind != "points"]
    above = [o for o in result.overlays if o.kind == "points"]
    for overlay in below:
        layers.add(_add_overlay(fmap, overlay, result))
    if mode == "grid":
        _add_grid_layers(fmap, candidates, colormap, layers)
    else:
        _add_candidate_layer(fmap, candidates, colormap, mode == "points", layers)
        _add_excluded_layer(fmap, candidates, mode == "points", layers)
    for overlay in above:
        layers.add(_add_overlay(fmap, overlay, result))
    layers.add(LayerEntry("context", "Street map (OpenStreetMap, needs internet)", tiles, ""))
    _add_site_map(fmap, result, candidates, layers, colormap, mode, bounds)
    TitleBox(title_html(result.title, _subtitle(result))).add_to(fmap)
    return fmap


class _Layers:
    """The layers drawn, in order, and the GeoJSON layers holding candidates."""

    def __init__(self) -> None:
        self.entries: list[LayerEntry] = []
        self.candidate_layers: list[str] = []

    def add(self, entry: LayerEntry) -> None:
        self.entries.append(entry)


def write_map(result: RunResult, path: pathlib.Path, *, inline_assets: bool = True) -> None:
    """Build the map of ``result`` and write it as one HTML file.

    Parameters
    ----------
    result : RunResult
        The run to draw.
    path : pathlib.Path
        Destination; written in place (the caller makes the write atomic by
        passing a temporary path and renaming it).
    inline_assets : bool, default True
        See :func:`build_map`.
    """
    with _sequential_element_ids():
        fmap = build_map(result, inline_assets=inline_assets)
        fmap.save(str(path))
    LOG.info("wrote map %s (%.2f MB)", path, pathlib.Path(path).stat().st_size / 1e6)


@contextlib.contextmanager
def _sequential_element_ids() -> Iterator[None]:
    """Give folium/branca elements sequential ids instead of random ones.

    branca names every element ``<kind>_<32 random hex digits>``; with a counter
    instead, the same run writes the same ``map.html`` byte for byte (the ids only
    need to be unique within one page).
    """
    counter = itertools.count(1)
    original = branca.element.Element.__dict__["_generate_id"]
    branca.element.Element._generate_id = classmethod(  # type: ignore[method-assign]
        lambda cls: f"{next(counter):032x}"
    )
    try:
        yield
    finally:
        branca.element.Element._generate_id = original  # type: ignore[method-assign]


# --------------------------------------------------------------------------- base map


def _base_map(
    title: str, bounds: list[list[float]] | None
) -> tuple[folium.Map, folium.plugins.Fullscreen, folium.TileLayer]:
    """OpenStreetMap base map, scale bar bottom left, zoom and fullscreen top right."""
    center = (32.7157, -117.1611) if bounds is None else _center(bounds)
    fmap = folium.Map(
        location=center,
        zoom_start=11,
        tiles=None,
        control_scale=True,
        prefer_canvas=True,
        zoom_control="topright",
    )
    tiles = folium.TileLayer("OpenStreetMap", name="Street map (OpenStreetMap)", control=False)
    tiles.add_to(fmap)
    fmap.get_root().title = esc(title)
    fullscreen = folium.plugins.Fullscreen(position="topright")
    fullscreen.add_to(fmap)
    # No fit_bounds here: its animated zoom would end after, and undo, the page's
    # own first view (web/layout.js ssFitDefault, which keeps the top sites clear of panels).
    return fmap, fullscreen, tiles


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
    # the extent transformed (edges densified), not a million outlines reprojected
    west, south, east, north = extent_4326(geoms).total_bounds
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


def _site_label(row: Any) -> str:
    """Escaped ``Name (parcel id)`` where the parcel has a name, else ``parcel id``."""
    name = getattr(row, "site_name", None)
    if isinstance(name, str) and name.strip():
        return f"{esc(name.strip())} (parcel {esc(row.candidate_id)})"
    return f"parcel {esc(row.candidate_id)}"


def _add_candidate_layer(
    fmap: folium.Map,
    candidates: gpd.GeoDataFrame,
    colormap: branca.colormap.LinearColormap,
    as_points: bool,
    layers: _Layers,
    name: str | None = None,
    legend: bool = True,
) -> None:
    """Ranked candidates coloured by total score, with a site/rank/score/area tooltip."""
    ranked = candidates[~_excluded_mask(candidates)]
    name = name or f"Candidate sites ({len(ranked):,})"
    group = folium.FeatureGroup(name=name, show=True, control=False)
    group.add_to(fmap)
    layers.add(LayerEntry("sites", name, group, _score_legend(colormap) if legend else ""))
    if ranked.empty:
        return
    geoms = _points_wgs84(ranked.geometry) if as_points else _to_wgs84(ranked.geometry)
    props = [
        {
            "id": esc(row.candidate_id),
            "site": _site_label(row),
            "rank": format_rank(row.rank),
            "score": format_score(row.total_score),
            "acres": format_number(getattr(row, "area_acres", None)),
        }
        for row in ranked.itertuples(index=False)
    ]
    fills = [_quantized_color(colormap, v) for v in ranked["total_score"]]
    tooltip = folium.GeoJsonTooltip(
        fields=["site", "rank", "score", "acres"],
        aliases=["Site", "Rank", "Total score (0 to 1)", "Area (acres)"],
        sticky=True,
    )
    data = _feature_collection(geoms, props)
    if data["features"]:
        layer = _geojson_layer(data, _candidate_style(fills, as_points), tooltip, as_points)
        layer.add_to(group)
        layers.candidate_layers.append(layer.get_name())


def _excluded_mask(candidates: gpd.GeoDataFrame) -> pd.Series:
    """Boolean mask of excluded candidates (missing ``excluded`` counts as not excluded)."""
    if "excluded" not in candidates:
        return pd.Series(False, index=candidates.index)
    return candidates["excluded"].fillna(False).astype(bool)


def _add_excluded_layer(
    fmap: folium.Map, candidates: gpd.GeoDataFrame, as_points: bool, layers: _Layers
) -> None:
    """Excluded candidates in grey, with the exclusion reason in the tooltip."""
    excluded = candidates[_excluded_mask(candidates)]
    if excluded.empty:
        return
    name = f"Excluded sites ({len(excluded):,})"
    group = folium.FeatureGroup(name=name, show=True, control=False)
    group.add_to(fmap)
    layers.add(LayerEntry("sites", name, group, _EXCLUDED_LEGEND))
    geoms = _points_wgs84(excluded.geometry) if as_points else _to_wgs84(excluded.geometry)
    props = [
        {
            "id": _site_label(row),
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

    data = _feature_collection(geoms, props)
    if data["features"]:
        _geojson_layer(data, _excluded_style, tooltip, as_points).add_to(group)


def _excluded_style(feature: Feature) -> dict[str, Any]:
    """Grey fill of excluded candidates (and of grid cells holding only those)."""
    return {
        "fill": True,
        "fillColor": EXCLUDED_FILL,
        "color": "#6b7280",
        "weight": 0.4,
        "fillOpacity": 0.45,
    }


_EXCLUDED_LEGEND = (
    '<span class="ss-swatch ss-swatch-excluded"></span>'
    "<span>Excluded by a hard constraint (hover for why)</span>"
)


def _score_legend(colormap: branca.colormap.LinearColormap, what: str = "Total score") -> str:
    """Legend row of the score colours: gradient and three ticks (updated by the sliders)."""
    steps = _legend_steps(colormap)
    ticks = "".join(
        f'<span class="ss-score-tick">{value:.2f}</span>'
        for value in (colormap.vmin, (colormap.vmin + colormap.vmax) / 2, colormap.vmax)
    )
    return (
        f'<div class="ss-legend-name">{esc(what)} (0 to 1, higher is better)</div>'
        f'<div class="ss-legend-name"><div class="ss-gradient" '
        f'style="background:linear-gradient(to right,{",".join(steps)})"></div>'
        f'<div class="ss-ticks">{ticks}</div></div>'
    )


def _add_site_map(
    fmap: folium.Map,
    result: RunResult,
    candidates: gpd.GeoDataFrame,
    layers: _Layers,
    colormap: branca.colormap.LinearColormap,
    mode: str,
    bounds: list[list[float]] | None,
) -> None:
    """Top-N markers, ranked list, weight sliders, legend and grouped layer list."""
    ranked = candidates[candidates["rank"].notna()].sort_values("rank")
    rows = whatif_rows(ranked, result.criteria, WHATIF_MAX_SITES)
    embedded = ranked.iloc[rows]
    top_n = min(result.top_n, len(ranked))
    name = f"Top {top_n} sites"
    group = folium.FeatureGroup(name=name, show=True, control=False)
    group.add_to(fmap)
    badge = (
        '<div class="ss-legend-class"><span class="ss-rank-badge">1</span>'
        "<span>Top site by rank (click for the breakdown)</span></div>"
        '<div class="ss-legend-class"><span class="ss-swatch ss-leader-swatch"></span>'
        "<span>Line to the site where markers are fanned out</span></div>"
    )
    layers.entries.insert(0, LayerEntry("sites", name, group, badge))
    recolour = mode != "grid" and len(embedded) == len(ranked)
    payload = whatif_payload(
        embedded,
        _points_wgs84(embedded.geometry),
        result.criteria,
        top_n,
        len(ranked),
        aggregation=getattr(result, "aggregation", None),
        sensitivity=getattr(result, "sensitivity", None),
        near=_neighbours(result, embedded),
        colours={
            "stops": list(SCORE_COLORS),
            "steps": COLOR_STEPS,
            "vmin": colormap.vmin,
            "vmax": colormap.vmax,
            "missing": NO_SCORE_FILL,
            "recolour": recolour,
        },
    )
    if len(embedded) == len(ranked):
        note = f"All {len(ranked):,} ranked sites are re-ranked in your browser."
    else:
        note = (
            f"Re-ranks the {len(embedded):,} sites that lead on the total or on one "
            f"criterion (of {len(ranked):,} ranked)."
        )
    if recolour:
        note += " The candidates' colours follow your weights."
        colour_note = (
            '<div class="ss-hint" id="ss-colour-note" style="display:none">'
            "Colours show the scores with your weights.</div>"
        )
    else:
        note += " Colours on the map keep the study's weights (too many sites to recolour)."
        colour_note = ""
    panel = panel_html(result.criteria, top_n, note, payload["sensitivity"])
    SiteMap(
        payload,
        panel,
        legend_html(layers.entries, colour_note),
        layer_groups_js(layers.entries),
        fmap.get_name(),
        group.get_name(),
        layers.candidate_layers if recolour else [],
        bounds,
    ).add_to(fmap)


def _legend_steps(colormap: branca.colormap.LinearColormap) -> list[str]:
    """Colours of the legend gradient, low to high."""
    return [colormap.rgb_hex_str(v) for v in np.linspace(colormap.vmin, colormap.vmax, 6)]


# --------------------------------------------------------------------------- grid


def _add_grid_layers(
    fmap: folium.Map,
    candidates: gpd.GeoDataFrame,
    colormap: branca.colormap.LinearColormap,
    layers: _Layers,
) -> None:
    """Very many candidates: a grid of best scores, a grid of exclusions, the best as points."""
    excluded = _excluded_mask(candidates).to_numpy()
    cells = grid_cells(candidates, excluded)
    size = cell_label(cells.attrs["cell_size_m"])
    scored = cells[cells["ranked"] > 0]
    name = f"Candidate sites ({int((~excluded).sum()):,}, best score per {size} cell)"
    group = folium.FeatureGroup(name=name, show=True, control=False)
    group.add_to(fmap)
    layers.add(
        LayerEntry("sites", name, group, _score_legend(colormap, "Best total score in cell"))
    )
    props = [
        {
            "best": format_score(row.best_score),
            "mean": format_score(row.mean_score),
            "ranked": f"{int(row.ranked):,}",
            "excluded": f"{int(row.excluded):,}",
        }
        for row in scored.itertuples(index=False)
    ]
    fills = [_quantized_color(colormap, v) for v in scored["best_score"]]
    tooltip = folium.GeoJsonTooltip(
        fields=["best", "mean", "ranked", "excluded"],
        aliases=["Best score in cell", "Mean score", "Ranked sites", "Excluded sites"],
        sticky=True,
    )
    data = _feature_collection(_to_wgs84(scored.geometry, simplify_m=0), props)
    if data["features"]:
        _geojson_layer(data, _candidate_style(fills, False), tooltip, False).add_to(group)
    blocked = cells[(cells["ranked"] == 0) & (cells["excluded"] > 0)]
    if not blocked.empty:
        name = f"Excluded sites ({int(excluded.sum()):,}, cells with no allowed site)"
        group = folium.FeatureGroup(name=name, show=True, control=False)
        group.add_to(fmap)
        layers.add(LayerEntry("sites", name, group, _EXCLUDED_LEGEND))
        props = [
            {"excluded": f"{int(row.excluded):,}", "reason": esc(row.top_reason)}
            for row in blocked.itertuples(index=False)
        ]
        tooltip = folium.GeoJsonTooltip(
            fields=["excluded", "reason"],
            aliases=["Excluded sites", "Most frequent reason"],
            sticky=True,
        )
        data = _feature_collection(_to_wgs84(blocked.geometry, simplify_m=0), props)
        _geojson_layer(data, _excluded_style, tooltip, False).add_to(group)
    best = candidates[~excluded].nlargest(BEST_POINTS, "total_score")
    best = best[best["rank"].notna()]
    if not best.empty:
        _add_candidate_layer(
            fmap,
            best,
            colormap,
            True,
            layers,
            name=f"Best {len(best):,} sites (points)",
            legend=False,
        )


def _neighbours(result: RunResult, embedded: gpd.GeoDataFrame) -> list[list[int]]:
    """Per embedded site, the embedded sites within the run's ``min_separation_m``."""
    separation = result.manifest.get("diagnostics", {}).get("separation", {})
    offsets, near = neighbours_within(
        embedded.geometry.to_numpy(), separation.get("min_separation_m") or None
    )
    return [near[a:b].tolist() for a, b in itertools.pairwise(offsets)]
