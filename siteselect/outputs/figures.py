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

import geopandas as gpd
import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import LinearSegmentedColormap, Normalize
from matplotlib.figure import Figure

from siteselect.decision.results import RunResult

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


def map_thumbnail(result: RunResult, width_in: float = 8.5) -> bytes:
    """Overview map: context, candidates coloured by score, excluded grey, top N numbered.

    Parameters
    ----------
    result : RunResult
        The run; geometries in ``result.crs`` (metric, so the axes are metres).
    width_in : float
        Figure width in inches; the height follows the candidates' extent.

    Returns
    -------
    bytes
        A PNG.
    """
    cands = result.candidates
    fig = Figure(figsize=(width_in, width_in * _aspect(cands)))
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_facecolor("#dfe9f1")
    excluded = cands["excluded"].fillna(False).astype(bool).to_numpy()
    for overlay in result.overlays:
        if overlay.show:  # the layers the map shows when it opens
            _draw_context(ax, overlay.gdf, overlay.kind, overlay.color, overlay.fill)
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
    return _png(fig)


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
        geoms.plot(ax=ax, color="#dc2626", alpha=0.18, edgecolor="#dc2626", linewidth=0.4)
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


def contributions_chart(result: RunResult) -> bytes:
    """Horizontal stacked bars: each top site's total split into criterion contributions.

    Returns
    -------
    bytes
        A PNG; rank 1 at the top.
    """
    top = result.top()
    labels = [f"#{int(r)}  {cid}" for r, cid in zip(top["rank"], top["candidate_id"], strict=True)]
    height = 0.9 + 0.3 * max(len(top), 1)
    fig = Figure(figsize=(8.5, height))
    ax = fig.add_axes((0.2, 0.75 / height, 0.58, 1 - 1.0 / height))
    y = np.arange(len(top))[::-1]
    left = np.zeros(len(top))
    for j, criterion in enumerate(result.criteria):
        column = f"contrib_{criterion.name}"
        values = pd.to_numeric(top.get(column, pd.Series(np.nan, index=top.index)), errors="coerce")
        values = np.nan_to_num(values.to_numpy(float))
        ax.barh(
            y, values, left=left, color=CRITERION_COLORS[j % len(CRITERION_COLORS)],
            label=criterion.name.replace("_", " ").capitalize(), height=0.7, edgecolor="white",
            linewidth=0.5,
        )  # fmt: skip
        left += values
    ax.set_yticks(y, labels, fontsize=8)
    ax.set_xlim(0, max(1.0, float(left.max()) if len(left) else 1.0))
    ax.set_xlabel("Total score (0 to 1) = sum of weighted criterion scores", fontsize=8)
    ax.tick_params(axis="x", labelsize=8)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    ax.legend(loc="center left", bbox_to_anchor=(1.02, 0.5), fontsize=8, frameon=False)
    return _png(fig)
