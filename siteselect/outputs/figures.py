"""Static PNG figures of the executive report, drawn with matplotlib (no browser).

Each function returns PNG bytes; :func:`png_data_uri` turns them into a
``data:`` URI so the report is a single file. Figures use the object-oriented
API (:class:`matplotlib.figure.Figure` with the Agg canvas), never pyplot's
global state, and write no timestamp, so the same run gives the same bytes.
"""

from __future__ import annotations

import base64
import io
import logging
import textwrap
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.cm import ScalarMappable
from matplotlib.colors import LinearSegmentedColormap, Normalize
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Circle, Patch, Rectangle

from siteselect.decision.results import RunResult
from siteselect.outputs.labels import criterion_heading, plain_text, site_label

LOG = logging.getLogger(__name__)

#: Same ramp as the map's score colours.
SCORE_CMAP = LinearSegmentedColormap.from_list(
    "siteselect_score", ("#ffffcc", "#d9f0a3", "#addd8e", "#78c679", "#31a354", "#006837")
)
#: One colour per criterion in the contribution chart (cycled).
CRITERION_COLORS = ("#c2410c", "#2563eb", "#16a34a", "#7c3aed", "#0891b2", "#ca8a04", "#db2777")
EXCLUDED_COLOR = "#9ca3af"
RANK_COLOR = "#c2410c"
#: Above this many candidates the thumbnail draws centroids, not polygons.
MAX_THUMBNAIL_POLYGONS = 5000
#: Share of the thumbnail's width taken by the map (the legend takes the rest).
MAP_SHARE = 0.7
ZONE_COLOR = "#dc2626"
#: Font size of the thumbnail's legend, scale bar and north arrow (points).
LEGEND_FONT = 9
DPI = 110


def png_data_uri(png: bytes) -> str:
    """``data:image/png;base64,...`` for ``png``."""
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def _png(fig: Figure) -> bytes:
    """Render ``fig`` to PNG bytes (no metadata, so output is reproducible)."""
    FigureCanvasAgg(fig)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=DPI, metadata={"Software": None})
    return buffer.getvalue()


def map_thumbnail(result: RunResult, width_in: float = 7.5) -> bytes:
    """The PNG of :func:`thumbnail_figure`."""
    return _png(thumbnail_figure(result, width_in))


def thumbnail_figure(result: RunResult, width_in: float = 7.5) -> Figure:
    """Overview map with a legend, a scale bar and a north arrow.

    Context overlays, candidates coloured by score, excluded grey, top N
    numbered; beside the map a legend naming every layer drawn and the score
    ramp. The scale bar measures ground distance and the north arrow points to
    true north at the map's centre, both computed in ``result.crs`` (so they stay
    right in any projected CRS, whatever its unit and grid convergence).

    Parameters
    ----------
    result : RunResult
        The run; geometries in ``result.crs`` (projected).
    width_in : float
        Figure width in inches (map plus legend); the height follows the
        candidates' extent.

    Returns
    -------
    matplotlib.figure.Figure
        The map axes first, then the colour bar and the legend axes.
    """
    cands = result.candidates
    map_width = width_in * MAP_SHARE
    height = map_width * _aspect(cands)
    fig = Figure(figsize=(width_in, height))
    ax = fig.add_axes((0, 0, MAP_SHARE, 1))
    ax.set_facecolor("#dfe9f1")
    excluded = cands["excluded"].fillna(False).astype(bool).to_numpy()
    drawn = []
    for overlay in result.overlays:
        if overlay.show and not overlay.gdf.empty:  # the layers the map shows when it opens
            _draw_context(ax, overlay.gdf, overlay.kind, overlay.color, overlay.fill)
            drawn.append(overlay)
    scores = cands["total_score"].to_numpy(float)
    allowed = scores[~excluded & np.isfinite(scores)]
    norm = Normalize(*(allowed.min(), allowed.max()) if allowed.size else (0.0, 1.0))
    if len(cands) <= MAX_THUMBNAIL_POLYGONS:
        if excluded.any():
            cands[excluded].plot(ax=ax, color=EXCLUDED_COLOR, edgecolor="#6b7280", linewidth=0.2)
        if (~excluded).any():
            cands[~excluded].plot(
                ax=ax, column="total_score", cmap=SCORE_CMAP, norm=norm, edgecolor="#4b5563",
                linewidth=0.2,
            )  # fmt: skip
    else:
        points = cands.geometry.centroid
        ax.scatter(points.x[excluded], points.y[excluded], s=0.3, c=EXCLUDED_COLOR, linewidths=0)
        ax.scatter(
            points.x[~excluded], points.y[~excluded], s=0.5, c=scores[~excluded], cmap=SCORE_CMAP,
            norm=norm, linewidths=0,
        )  # fmt: skip
    _draw_ranks(ax, result)
    _fit(ax, cands)
    ax.set_axis_off()
    draw_scale_bar(ax, result.crs)
    draw_north_arrow(ax, result.crs)
    _legend(fig, drawn, norm, excluded.any(), not result.top().empty)
    return fig


def _aspect(cands: gpd.GeoDataFrame) -> float:
    """Height/width of the candidates' extent, kept between 0.55 and 1.1."""
    geoms = cands.geometry[~(cands.geometry.isna() | cands.geometry.is_empty)]
    if geoms.empty:
        return 0.75
    west, south, east, north = geoms.total_bounds
    return float(np.clip((north - south) / max(east - west, 1.0), 0.55, 1.1))


def _draw_context(
    ax: object, gdf: gpd.GeoDataFrame, kind: str, color: str, fill: str | None
) -> None:
    """One overlay as thin context (zones translucent red, land filled)."""
    if gdf.empty:
        return
    geoms = gdf.geometry
    if kind == "points":
        points = geoms.centroid
        ax.scatter(  # type: ignore[attr-defined]
            points.x, points.y, s=14, c=color, edgecolors="white", linewidths=0.5, zorder=3
        )
    elif kind == "zones":
        geoms.plot(ax=ax, color=ZONE_COLOR, alpha=0.18, edgecolor=ZONE_COLOR, linewidth=0.4)
    elif kind == "polygons" and fill is not None:
        geoms.plot(ax=ax, color=fill, edgecolor=color, linewidth=0.6)
    elif kind == "polygons":
        geoms.boundary.plot(ax=ax, color=color, linewidth=0.5, alpha=0.7)
    else:
        geoms.plot(ax=ax, color=color, linewidth=0.6, alpha=0.8)


def _draw_ranks(ax: object, result: RunResult) -> None:
    """Numbered discs at the top sites."""
    top = result.top()
    if top.empty:
        return
    points = top.geometry.representative_point()
    for (_, row), point in zip(top.iterrows(), points, strict=True):
        if point is None or point.is_empty:
            continue
        ax.annotate(  # type: ignore[attr-defined]
            str(int(row["rank"])), (point.x, point.y), ha="center", va="center", fontsize=7,
            fontweight="bold", color="white", zorder=5,
            bbox={"boxstyle": "circle,pad=0.25", "fc": RANK_COLOR, "ec": "white", "lw": 0.8},
        )  # fmt: skip


def _fit(ax: object, cands: gpd.GeoDataFrame) -> None:
    """Zoom to the candidates with a 5 % margin, equal aspect (metres)."""
    geoms = cands.geometry[~(cands.geometry.isna() | cands.geometry.is_empty)]
    if geoms.empty:
        return
    west, south, east, north = geoms.total_bounds
    pad = 0.05 * max(east - west, north - south, 1.0)
    ax.set_xlim(west - pad, east + pad)  # type: ignore[attr-defined]
    ax.set_ylim(south - pad, north + pad)  # type: ignore[attr-defined]
    ax.set_aspect("equal")  # type: ignore[attr-defined]


# --------------------------------------------------------------------------- map furniture


def ground_scale(crs: pyproj.CRS, x: float, y: float) -> float:
    """Ground metres per CRS unit along the x axis at ``(x, y)`` (geodesic on the ellipsoid).

    1.0 in a true-scale metric CRS; ~0.3048 in a US-feet CRS; the unit's metres
    divided by the projection's scale factor otherwise (1 / 0.9996 on a UTM
    central meridian, where the map is 0.04 % short).
    """
    geographic = crs.geodetic_crs or pyproj.CRS("EPSG:4326")
    to_geo = pyproj.Transformer.from_crs(crs, geographic, always_xy=True)
    half = 500.0 / _unit_metres(crs)  # about 1 km either way
    lon, lat = to_geo.transform([x - half, x + half], [y, y])
    geod = geographic.get_geod() or pyproj.Geod(ellps="WGS84")
    _, _, metres = geod.inv(lon[0], lat[0], lon[1], lat[1])
    return float(metres) / (2 * half)


def _unit_metres(crs: pyproj.CRS) -> float:
    """Metres in one unit of the CRS's first axis (1 when unknown)."""
    axes = crs.axis_info
    factor = axes[0].unit_conversion_factor if axes else None
    return float(factor) if factor else 1.0


def north_angle_deg(crs: pyproj.CRS, x: float, y: float) -> float:
    """Angle of true north at ``(x, y)``, in degrees clockwise from the map's up (grid north).

    The opposite of the meridian convergence's sign convention in most texts:
    here a positive angle means the arrow leans to the right (east).
    """
    geographic = crs.geodetic_crs or pyproj.CRS("EPSG:4326")
    to_geo = pyproj.Transformer.from_crs(crs, geographic, always_xy=True)
    to_map = pyproj.Transformer.from_crs(geographic, crs, always_xy=True)
    lon, lat = to_geo.transform(x, y)
    step = 0.01 if lat < 89.9 else -0.01
    nx, ny = to_map.transform(lon, lat + step)
    dx, dy = (nx - x) * np.sign(step), (ny - y) * np.sign(step)
    return float(np.degrees(np.arctan2(dx, dy)))


def nice_length(metres: float) -> float:
    """The largest 1, 2 or 5 x 10^k metres not above ``metres`` (at least 1 m)."""
    if not np.isfinite(metres) or metres < 1:
        return 1.0
    power = 10 ** np.floor(np.log10(metres))
    return float(max(m * power for m in (1, 2, 5) if m * power <= metres))


def _distance_text(metres: float) -> str:
    return f"{metres / 1000:g} km" if metres >= 1000 else f"{metres:g} m"


def draw_scale_bar(ax: Any, crs: pyproj.CRS, share: float = 0.25) -> float | None:
    """A two-segment scale bar at the lower left; returns its ground length in metres.

    Nothing is drawn (None) for a geographic CRS, where one length cannot hold
    across the map.
    """
    if not crs.is_projected:
        LOG.info("thumbnail: no scale bar for the geographic CRS %s", crs.name)
        return None
    (x0, x1), (y0, y1) = ax.get_xlim(), ax.get_ylim()
    metres_per_unit = ground_scale(crs, (x0 + x1) / 2, (y0 + y1) / 2)
    length_m = nice_length((x1 - x0) * share * metres_per_unit)
    length = length_m / metres_per_unit
    left, bottom, tall = x0 + 0.04 * (x1 - x0), y0 + 0.04 * (y1 - y0), 0.008 * (y1 - y0)
    ax.add_patch(
        Rectangle((left - 0.015 * (x1 - x0), bottom - 0.022 * (y1 - y0)), length + 0.03 * (x1 - x0),
                  0.075 * (y1 - y0), facecolor="white", alpha=0.85, edgecolor="none", zorder=6)
    )  # fmt: skip
    for i, colour in enumerate(("#111827", "white")):
        ax.add_patch(
            Rectangle((left + i * length / 2, bottom), length / 2, tall, facecolor=colour,
                      edgecolor="#111827", linewidth=0.8, zorder=7)
        )  # fmt: skip
    for at, text in ((0.0, "0"), (length / 2, ""), (length, _distance_text(length_m))):
        if text:
            ax.text(left + at, bottom + 1.8 * tall, text, ha="center", va="bottom",
                    fontsize=LEGEND_FONT, color="#111827", zorder=7)  # fmt: skip
    return length_m


def draw_north_arrow(ax: Any, crs: pyproj.CRS) -> float | None:
    """An arrow labelled N pointing to true north, at the upper right; returns its angle.

    Nothing is drawn (None) when the CRS has no geodetic datum to refer to.
    """
    try:
        (x0, x1), (y0, y1) = ax.get_xlim(), ax.get_ylim()
        angle = north_angle_deg(crs, (x0 + x1) / 2, (y0 + y1) / 2)
    except pyproj.exceptions.ProjError:  # pragma: no cover - engineering CRS
        LOG.info("thumbnail: no north arrow for %s", crs.name)
        return None
    size = 0.06 * (y1 - y0)
    cx, cy = x1 - 0.07 * (x1 - x0), y1 - 0.13 * (y1 - y0)
    dx, dy = size * np.sin(np.radians(angle)), size * np.cos(np.radians(angle))
    ax.add_patch(Circle((cx, cy), 0.85 * size, facecolor="white", alpha=0.85, edgecolor="none",
                        zorder=6))  # fmt: skip
    ax.annotate(
        "", xy=(cx + dx / 2, cy + dy / 2), xytext=(cx - dx / 2, cy - dy / 2), zorder=7,
        arrowprops={"arrowstyle": "-|>,head_width=0.35,head_length=0.8", "color": "#111827",
                    "lw": 1.4},
    )  # fmt: skip
    ax.text(cx + 0.75 * dx, cy + 0.75 * dy, "N", ha="center", va="center", fontsize=LEGEND_FONT,
            fontweight="bold", color="#111827", zorder=7)  # fmt: skip
    return angle


def _legend(fig: Figure, drawn: list[Any], norm: Normalize, excluded: bool, ranked: bool) -> None:
    """The legend column: score ramp, then one entry per symbol drawn on the map."""
    bar = fig.add_axes((MAP_SHARE + 0.03, 0.88, 1 - MAP_SHARE - 0.06, 0.025))
    fig.colorbar(ScalarMappable(norm=norm, cmap=SCORE_CMAP), cax=bar, orientation="horizontal")
    bar.tick_params(labelsize=LEGEND_FONT, length=2)
    bar.set_title("Total score of a site\n(0 to 1, higher is better)", fontsize=LEGEND_FONT + 1,
                  loc="left")  # fmt: skip
    handles: list[Any] = []
    if excluded:
        handles.append(Patch(facecolor=EXCLUDED_COLOR, edgecolor="#6b7280",
                             label="Excluded by a hard\nconstraint"))  # fmt: skip
    if ranked:
        handles.append(Line2D([], [], marker="o", linestyle="none", markersize=8,
                              markerfacecolor=RANK_COLOR, markeredgecolor="white",
                              label="Top site, by rank"))  # fmt: skip
    for overlay in drawn:
        handles.append(_legend_handle(overlay))
    legend_ax = fig.add_axes((MAP_SHARE + 0.01, 0.0, 1 - MAP_SHARE - 0.01, 0.8))
    legend_ax.set_axis_off()
    legend_ax.legend(handles=handles, loc="upper left", fontsize=LEGEND_FONT, frameon=False,
                     handlelength=1.8, borderaxespad=0.4, labelspacing=0.7)  # fmt: skip


def _legend_handle(overlay: Any) -> Any:
    """The legend symbol of one overlay, drawn as :func:`_draw_context` draws it."""
    label = textwrap.fill(plain_text(overlay.name), 24)
    if overlay.kind == "points":
        return Line2D([], [], marker="o", linestyle="none", markersize=5, label=label,
                      markerfacecolor=overlay.color, markeredgecolor="white")  # fmt: skip
    if overlay.kind == "zones":
        return Patch(facecolor=ZONE_COLOR, alpha=0.3, edgecolor=ZONE_COLOR, label=label)
    if overlay.kind == "polygons" and overlay.fill is not None:
        return Patch(facecolor=overlay.fill, edgecolor=overlay.color, label=label)
    if overlay.kind == "polygons":
        return Patch(facecolor="none", edgecolor=overlay.color, label=label)
    return Line2D([], [], color=overlay.color, linewidth=1.2, label=label)


def contributions_chart(result: RunResult) -> bytes:
    """Horizontal stacked bars: each top site's total split into criterion contributions.

    Returns
    -------
    bytes
        A PNG; rank 1 at the top.
    """
    top = result.top()
    labels = [
        f"#{int(row['rank'])}  {textwrap.shorten(site_label(row), 28, placeholder='...')}"
        for _, row in top.iterrows()
    ]
    names = [textwrap.fill(criterion_heading(c), 36) for c in result.criteria]
    legend_lines = sum(name.count("\n") + 1.6 for name in names)
    height = max(0.9 + 0.3 * max(len(top), 1), 0.6 + 0.15 * legend_lines)
    fig = Figure(figsize=(9.0, height))
    ax = fig.add_axes((0.2, 0.75 / height, 0.44, 1 - 1.0 / height))
    y = np.arange(len(top))[::-1]
    left = np.zeros(len(top))
    for j, criterion in enumerate(result.criteria):
        column = f"contrib_{criterion.name}"
        values = pd.to_numeric(top.get(column, pd.Series(np.nan, index=top.index)), errors="coerce")
        values = np.nan_to_num(values.to_numpy(float))
        ax.barh(
            y, values, left=left, color=CRITERION_COLORS[j % len(CRITERION_COLORS)],
            label=names[j], height=0.7, edgecolor="white",
            linewidth=0.5,
        )  # fmt: skip
        left += values
    ax.set_yticks(y, labels, fontsize=9)
    ax.set_xlim(0, max(1.0, float(left.max()) if len(left) else 1.0))
    ax.set_xlabel("Total score (0 to 1) = sum of weighted criterion scores", fontsize=9)
    ax.tick_params(axis="x", labelsize=9)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    ax.legend(loc="center left", bbox_to_anchor=(1.02, 0.5), fontsize=9, frameon=False)
    return _png(fig)
