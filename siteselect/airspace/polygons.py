"""Surfaces and AICUZ zones as polygons with their heights, for maps and sites.gpkg.

Each feature carries ``feature_name`` (a label with its height range),
``surface``, ``airport``, ``runway``, and its lowest and highest height MSL in
feet and metres. Sloped surfaces are drawn over their full extent: the
transitional surfaces out to where they reach the horizontal surface's height
(the UFC outer horizontal's for military approach sides is not drawn), the
approach surfaces over their whole length. Polygons are in the working CRS.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pyproj
import shapely

from siteselect.airspace.heights import approach_height_ft
from siteselect.airspace.model import AirspaceModel
from siteselect.airspace.surfaces import AirportSurfaces, RunwaySurfaces
from siteselect.geo import M_PER_FT

_COLUMNS = [
    "feature_name",
    "surface",
    "airport",
    "runway",
    "min_height_ft",
    "max_height_ft",
    "min_height_m",
    "max_height_m",
]


def _to_xy(surfaces: RunwaySurfaces, s_ft: np.ndarray, t_ft: np.ndarray) -> np.ndarray:
    ax, ay = surfaces.axis
    x0, y0 = surfaces.runway.le_xy
    s_m, t_m = np.asarray(s_ft) * M_PER_FT, np.asarray(t_ft) * M_PER_FT
    return np.column_stack([x0 + s_m * ax - t_m * ay, y0 + s_m * ay + t_m * ax])


def _row(
    geometry: shapely.Geometry, surface: str, airport: str, runway: str, low: float, high: float
) -> dict[str, object]:
    if abs(high - low) < 0.5:
        label = f"{surface}: {low:,.0f} ft MSL"
    else:
        label = f"{surface}: {low:,.0f} to {high:,.0f} ft MSL"
    return {
        "feature_name": label,
        "surface": surface,
        "airport": airport,
        "runway": runway,
        "min_height_ft": round(low, 1),
        "max_height_ft": round(high, 1),
        "min_height_m": round(low * M_PER_FT, 2),
        "max_height_m": round(high * M_PER_FT, 2),
        "geometry": geometry,
    }


def _end_u(surfaces: RunwaySurfaces, end: int, u_ft: np.ndarray) -> np.ndarray:
    """Local ``s`` of points ``u_ft`` beyond the primary end of ``end``."""
    e = surfaces.primary_extension_ft
    return -e - u_ft if end == 0 else surfaces.length_ft + e + u_ft


def _approach_rows(surfaces: RunwaySurfaces) -> list[dict[str, object]]:
    rows = []
    runway = surfaces.runway
    for end in (0, 1):
        approach = surfaces.approaches[end]
        start = 0.0
        for length, slope in zip(approach.lengths_ft, approach.slopes, strict=True):
            u = np.array([start, start + length])
            s = _end_u(surfaces, end, u)
            half = approach.half_width_ft(u)
            ring = _to_xy(surfaces, np.r_[s, s[::-1]], np.r_[-half, half[::-1]])
            heights = approach_height_ft(surfaces, end, u)
            name = f"{runway.end_name(end)} {approach.name} ({slope:g}:1)"
            rows.append(
                _row(shapely.Polygon(ring), name, runway.airport, runway.name, *heights.tolist())
            )
            start += length
    return rows


def _primary_row(surfaces: RunwaySurfaces) -> dict[str, object]:
    runway = surfaces.runway
    e, half = surfaces.primary_extension_ft, surfaces.primary_half_width_ft
    s = np.array([-e, surfaces.length_ft + e, surfaces.length_ft + e, -e])
    ring = _to_xy(surfaces, s, np.array([-half, -half, half, half]))
    low = min(runway.le_elevation_ft, runway.he_elevation_ft)
    high = max(runway.le_elevation_ft, runway.he_elevation_ft)
    return _row(
        shapely.Polygon(ring), f"{runway.name} primary", runway.airport, runway.name, low, high
    )


def _transitional_rows(surfaces: RunwaySurfaces, top_ft: float) -> list[dict[str, object]]:
    """Both sides, from the primary/approach edges out to height ``top_ft``."""
    runway = surfaces.runway
    e = surfaces.primary_extension_ft
    slope = surfaces.transitional_slope
    s_parts, edge_parts, base_parts = [], [], []
    for end in (0, 1):
        approach = surfaces.approaches[end]
        u = np.linspace(0.0, approach.length_ft, 200)
        base = approach_height_ft(surfaces, end, u)
        keep = base < top_ft
        s_parts.append(_end_u(surfaces, end, u[keep]))
        edge_parts.append(approach.half_width_ft(u[keep]))
        base_parts.append(base[keep])
    s_mid = np.linspace(-e, surfaces.length_ft + e, 50)
    s_all = np.r_[s_parts[0][::-1], s_mid, s_parts[1]]
    edge = np.r_[
        edge_parts[0][::-1], np.full(s_mid.size, surfaces.primary_half_width_ft), edge_parts[1]
    ]
    base = np.r_[base_parts[0][::-1], surfaces.centreline_elevation_ft(s_mid), base_parts[1]]
    outer = edge + np.maximum(top_ft - base, 0.0) * slope
    if surfaces.transitional_max_from_centreline_ft is not None:
        outer = np.minimum(outer, np.maximum(edge, surfaces.transitional_max_from_centreline_ft))
    rows = []
    for sign in (-1.0, 1.0):
        ring = _to_xy(surfaces, np.r_[s_all, s_all[::-1]], sign * np.r_[edge, outer[::-1]])
        polygon = shapely.make_valid(shapely.Polygon(ring))
        name = f"{runway.name} transitional ({slope:g}:1)"
        rows.append(_row(polygon, name, runway.airport, runway.name, float(base.min()), top_ft))
    return rows


def _airport_rows(surfaces: AirportSurfaces) -> list[dict[str, object]]:
    ident, elev = surfaces.airport.ident, surfaces.airport.elevation_ft
    outline = surfaces.hull.polygon()
    top = elev + surfaces.horizontal_above_ft
    conical_edge = outline.buffer(surfaces.conical_length_ft * M_PER_FT, quad_segs=64)
    rows = [
        _row(outline, f"{ident} {surfaces.horizontal_name}", ident, "", top, top),
        _row(
            conical_edge.difference(outline),
            f"{ident} conical ({surfaces.conical_slope:g}:1)",
            ident,
            "",
            top,
            top + surfaces.conical_length_ft / surfaces.conical_slope,
        ),
    ]
    if surfaces.outer_above_ft is not None:
        outer_edge = outline.buffer(surfaces.reach_ft * M_PER_FT, quad_segs=64)
        level = elev + surfaces.outer_above_ft
        rows.append(
            _row(
                outer_edge.difference(conical_edge),
                f"{ident} outer horizontal",
                ident,
                "",
                level,
                level,
            )
        )
    return rows


def _frame(rows: list[dict[str, object]], crs: pyproj.CRS) -> gpd.GeoDataFrame:
    if not rows:
        return gpd.GeoDataFrame({c: [] for c in _COLUMNS}, geometry=[], crs=crs)
    return gpd.GeoDataFrame(rows, geometry="geometry", crs=crs)


def surface_polygons(model: AirspaceModel, crs: pyproj.CRS) -> dict[str, gpd.GeoDataFrame]:
    """Surface polygons grouped for map layers.

    Returns
    -------
    dict
        ``approach`` (approach and approach-departure surfaces), ``primary``
        (primary and transitional surfaces), ``horizontal`` (horizontal,
        conical and outer horizontal surfaces): GeoDataFrames in ``crs``.
    """
    approach: list[dict[str, object]] = []
    primary: list[dict[str, object]] = []
    tops = {s.airport.ident: s.airport.elevation_ft + s.horizontal_above_ft for s in model.airports}
    for surfaces in model.runways:
        approach.extend(_approach_rows(surfaces))
        primary.append(_primary_row(surfaces))
        top = tops.get(surfaces.runway.airport, surfaces.airport_elevation_ft + 150.0)
        if surfaces.family == "heliport":
            top = max(surfaces.runway.le_elevation_ft, surfaces.runway.he_elevation_ft) + 250.0
        primary.extend(_transitional_rows(surfaces, top))
    horizontal = [row for s in model.airports for row in _airport_rows(s)]
    return {
        "approach": _frame(approach, crs),
        "primary": _frame(primary, crs),
        "horizontal": _frame(horizontal, crs),
    }


def zone_polygons(model: AirspaceModel, crs: pyproj.CRS) -> gpd.GeoDataFrame:
    """AICUZ clear zones and APZs as rectangles, labelled ``KNKX RWY 24R APZ I``."""
    rows = []
    for zone, label in zip(model.zones, model.zone_labels(), strict=True):
        surfaces = model.runways[zone.runway_index]
        u = np.array([zone.start_ft, zone.stop_ft])
        s = -u if zone.end == 0 else surfaces.length_ft + u
        half = zone.half_width_ft
        ring = _to_xy(surfaces, np.r_[s, s[::-1]], np.array([-half, -half, half, half]))
        rows.append(
            {
                "feature_name": label,
                "zone": zone.name,
                "airport": surfaces.runway.airport,
                "runway_end": surfaces.runway.end_name(zone.end),
                "from_end_ft": zone.start_ft,
                "to_end_ft": zone.stop_ft,
                "geometry": shapely.Polygon(ring),
            }
        )
    if not rows:
        columns = ["feature_name", "zone", "airport", "runway_end", "from_end_ft", "to_end_ft"]
        return gpd.GeoDataFrame({c: [] for c in columns}, geometry=[], crs=crs)
    return gpd.GeoDataFrame(rows, geometry="geometry", crs=crs)
