"""HTML fragments of the Folium map: escaping, number formatting, popups, panels.

The functions return plain strings and the small folium elements at the end place
them (stylesheet, title box, legend); :mod:`siteselect.outputs.map.build` puts everything on
the map. :func:`popup_html` is the static breakdown table (the executive report
uses it; the map's popups are rebuilt in the browser with the same markup by
:mod:`siteselect.outputs.map.whatif`).

Every value that comes from input data passes through :func:`esc` before it is
put into markup, because folium inserts popup and tooltip HTML verbatim (inside
JavaScript template literals) and Leaflet renders layer names and GeoJSON tooltip
cells with ``innerHTML``.
"""

from __future__ import annotations

import html
import math
from collections.abc import Sequence
from typing import Any

import pandas as pd
from branca.element import MacroElement
from folium.template import Template

from siteselect.decision.results import CriterionInfo
from siteselect.decision.scoring import weight_shares

#: Characters that :func:`html.escape` leaves alone but that matter inside the
#: JavaScript template literals folium wraps popups and tooltips in.
_TEMPLATE_LITERAL_ENTITIES = {"`": "&#96;", "$": "&#36;", "\\": "&#92;"}

NOT_AVAILABLE = "n/a"

#: Stylesheet of every element this module produces (placed once in <head>).
MAP_CSS = """
.ss-rank-icon { background: none; border: none; }
.ss-rank-marker {
  width: 28px; height: 28px; border-radius: 50%; box-sizing: border-box;
  background: #c2410c; color: #fff; border: 2px solid #fff;
  font: 700 13px/24px "Helvetica Neue", Arial, sans-serif; text-align: center;
  box-shadow: 0 1px 4px rgba(0, 0, 0, .55); cursor: pointer;
}
.ss-rank-marker[data-rank="1"] {
  width: 34px; height: 34px; line-height: 30px; font-size: 16px;
  margin: -3px 0 0 -3px; background: #9a3412;
}
.ss-title-band {
  position: fixed; top: 10px; left: 60px; right: 300px; z-index: 1000;
  display: flex; justify-content: center; pointer-events: none;
}
.ss-title {
  pointer-events: auto; padding: 8px 16px; border-radius: 6px; text-align: center;
  background: rgba(255, 255, 255, .95); box-shadow: 0 1px 6px rgba(0, 0, 0, .35);
  font-family: "Helvetica Neue", Arial, sans-serif; color: #1f2937;
}
.ss-title h1 { margin: 0; font-size: 18px; font-weight: 700; line-height: 1.25; }
.ss-title p { margin: 2px 0 0; font-size: 12px; color: #4b5563; }
.folium-map.leaflet-container { background: #dfe9f1; }
.ss-panel-control {
  width: 300px; max-height: calc(100vh - 150px); overflow-y: auto;
  background: rgba(255, 255, 255, .96); border-radius: 6px;
  box-shadow: 0 1px 6px rgba(0, 0, 0, .35);
  font-family: "Helvetica Neue", Arial, sans-serif; font-size: 12px; color: #1f2937;
}
.ss-ranking, .ss-whatif { padding: 8px 10px; }
.ss-whatif { border-top: 1px solid #e5e7eb; }
.ss-whatif-head { display: flex; justify-content: space-between; align-items: center; }
.ss-whatif h2 { margin: 0; font-size: 13px; font-weight: 700; }
.ss-whatif button {
  font: 600 11px "Helvetica Neue", Arial, sans-serif; color: #9a3412; cursor: pointer;
  background: #fff7ed; border: 1px solid #fdba74; border-radius: 4px; padding: 2px 8px;
}
.ss-weight { margin-top: 5px; }
.ss-weight label {
  display: block; color: #374151; white-space: nowrap; overflow: hidden;
  text-overflow: ellipsis;
}
.ss-weight-row { display: flex; align-items: center; gap: 6px; }
.ss-weight-input { flex: 1; margin: 0; accent-color: #c2410c; }
.ss-w-value { width: 28px; font-weight: 700; }
.ss-w-share { width: 32px; color: #6b7280; }
.ss-move { font-size: 11px; font-weight: 700; }
.ss-up { color: #15803d; } .ss-down { color: #b91c1c; } .ss-same { color: #9ca3af; }
.ss-warn { color: #b91c1c !important; font-weight: 700; }
.ss-legend-control {
  background: rgba(255, 255, 255, .95); padding: 6px 10px; border-radius: 6px;
  box-shadow: 0 1px 6px rgba(0, 0, 0, .35); width: 250px;
  font-family: "Helvetica Neue", Arial, sans-serif; font-size: 11px; color: #374151;
}
.ss-legend-title { font-weight: 700; font-size: 12px; color: #1f2937; margin-bottom: 3px; }
.ss-gradient { height: 10px; border-radius: 2px; border: 1px solid #d1d5db; }
.ss-ticks { display: flex; justify-content: space-between; margin-bottom: 4px; }
.ss-legend-row { display: flex; align-items: center; gap: 6px; margin-top: 3px; }
.ss-swatch { display: inline-block; width: 16px; height: 12px; border-radius: 2px; }
.ss-swatch-excluded { background: #9ca3af; border: 1px solid #6b7280; }
.ss-swatch-zone { background: rgba(220, 38, 38, .25); border: 1px dashed #dc2626; }
.leaflet-control-layers-expanded {
  font: 12px/1.35 "Helvetica Neue", Arial, sans-serif; color: #1f2937;
  max-width: 270px; max-height: calc(100vh - 60px); overflow-y: auto;
}
.leaflet-control-layers-overlays label span { display: inline; }
.ss-ranking h2 { margin: 0 0 4px; font-size: 13px; font-weight: 700; }
.ss-ranking table { border-collapse: collapse; width: 100%; }
.ss-ranking th {
  text-align: left; font-weight: 600; color: #6b7280; padding: 1px 6px 3px 0;
  border-bottom: 1px solid #e5e7eb;
}
.ss-rank-row { cursor: pointer; }
.ss-rank-row:hover { background: #fff7ed; }
.ss-rank-row td { padding: 2px 6px 2px 0; white-space: nowrap; }
.ss-rank-row .ss-site { max-width: 150px; overflow: hidden; text-overflow: ellipsis; }
.ss-rank-badge {
  display: inline-block; min-width: 18px; height: 18px; border-radius: 9px;
  background: #c2410c; color: #fff; font-weight: 700; text-align: center; line-height: 18px;
}
.ss-hint { margin-top: 4px; color: #6b7280; font-size: 11px; }
.ss-num { text-align: right; font-variant-numeric: tabular-nums; }
.ss-popup { font-family: "Helvetica Neue", Arial, sans-serif; font-size: 12px; color: #1f2937; }
.ss-popup-head { font-size: 15px; font-weight: 700; margin-bottom: 2px; }
.ss-popup-rank { color: #c2410c; margin-right: 4px; }
.ss-popup-total { margin-bottom: 6px; color: #374151; }
.ss-breakdown { border-collapse: collapse; width: 100%; }
.ss-breakdown th {
  text-align: left; font-weight: 600; color: #6b7280; padding: 2px 6px 3px 0;
  border-bottom: 1px solid #e5e7eb; white-space: nowrap;
}
.ss-breakdown td {
  padding: 3px 6px 3px 0; border-bottom: 1px solid #f3f4f6; vertical-align: middle;
}
.ss-breakdown tfoot td { font-weight: 700; border-bottom: none; }
.ss-bar-cell { width: 90px; }
.ss-bar-track { height: 8px; background: #e5e7eb; border-radius: 4px; }
.ss-bar { height: 8px; background: #c2410c; border-radius: 4px; }
"""


def esc(value: Any) -> str:
    """Escape ``value`` for HTML text or attribute context inside a JS template literal.

    Parameters
    ----------
    value : Any
        Anything; ``None`` and NaN become ``"n/a"``.

    Returns
    -------
    str
        ``html.escape(str(value))`` with backtick, dollar and backslash also
        replaced by character references, so the result is inert both as HTML and
        inside the backtick strings folium generates.
    """
    if is_missing(value):
        return NOT_AVAILABLE
    text = html.escape(str(value), quote=True)
    for char, entity in _TEMPLATE_LITERAL_ENTITIES.items():
        text = text.replace(char, entity)
    return text


def is_missing(value: Any) -> bool:
    """Return whether ``value`` is None, NaN or pandas' NA."""
    if value is None or value is pd.NA:
        return True
    return isinstance(value, float) and math.isnan(value)


def format_number(value: Any) -> str:
    """Format a measured value with precision that suits its magnitude.

    Parameters
    ----------
    value : Any
        A number (or missing).

    Returns
    -------
    str
        ``"12,345"`` for values of 100 or more, one decimal from 10, two below,
        ``"n/a"`` when missing or not numeric.
    """
    try:
        number = float(value)
    except (TypeError, ValueError):
        return NOT_AVAILABLE
    if math.isnan(number):
        return NOT_AVAILABLE
    magnitude = abs(number)
    if magnitude >= 100:
        return f"{number:,.0f}"
    if magnitude >= 10:
        return f"{number:.1f}"
    return f"{number:.2f}"


def format_value(value: Any, unit: str) -> str:
    """Format ``value`` followed by its (escaped) unit, e.g. ``"4.25 min"``."""
    text = format_number(value)
    if text == NOT_AVAILABLE or not unit:
        return text
    return f"{text} {esc(unit)}"


def format_score(value: Any) -> str:
    """Format a score or contribution in [0, 1] with three decimals."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return NOT_AVAILABLE
    return NOT_AVAILABLE if math.isnan(number) else f"{number:.3f}"


def format_rank(value: Any) -> str:
    """Format a nullable rank: ``"3"``, or an em dash when the candidate is excluded."""
    return "\u2014" if is_missing(value) else str(int(value))


def _bar(contribution: Any, max_share: float, share: float) -> str:
    """Inline bullet bar: grey track = the criterion's maximum share, fill = contribution."""
    try:
        filled = float(contribution)
    except (TypeError, ValueError):
        filled = 0.0
    if math.isnan(filled) or max_share <= 0:
        filled = 0.0
    track_pct = 100.0 * share / max_share if max_share > 0 else 0.0
    fill_pct = min(100.0, max(0.0, 100.0 * filled / share)) if share > 0 else 0.0
    return (
        f'<div class="ss-bar-track" style="width:{track_pct:.0f}%">'
        f'<div class="ss-bar" style="width:{fill_pct:.0f}%"></div></div>'
    )


def popup_html(row: pd.Series, criteria: Sequence[CriterionInfo]) -> str:
    """Build the popup of one ranked candidate.

    Parameters
    ----------
    row : pandas.Series
        One row of ``RunResult.candidates``.
    criteria : sequence of CriterionInfo
        The run's criteria, in table order.

    Returns
    -------
    str
        A single ``<div class="ss-popup" id="ss-popup-<rank>" data-rank="<rank>">``
        element: heading, total score and area, and a table with one row per
        criterion (label, raw value with unit, score, weight, contribution, bar).
    """
    rank = format_rank(row.get("rank"))
    shares = weight_shares([c.weight for c in criteria]) if criteria else []
    max_share = float(max(shares, default=0.0))
    rows = "".join(
        _breakdown_row(row, c, float(share), max_share)
        for c, share in zip(criteria, shares, strict=True)
    )
    return (
        f'<div class="ss-popup" id="ss-popup-{rank}" data-rank="{rank}">'
        f'<div class="ss-popup-head"><span class="ss-popup-rank">#{rank}</span>'
        f'<span class="ss-popup-id">{esc(row.get("candidate_id"))}</span></div>'
        f'<div class="ss-popup-total">Total score <b>{format_score(row.get("total_score"))}</b>'
        f" of 1 &middot; {format_number(row.get('area_acres'))} acres</div>"
        '<table class="ss-breakdown"><thead><tr><th>Criterion</th><th>Value</th>'
        "<th>Score</th><th>Weight</th><th>Contribution</th><th></th></tr></thead>"
        f"<tbody>{rows}</tbody>"
        f'<tfoot><tr><td colspan="4">Total</td>'
        f'<td class="ss-num">{format_score(row.get("total_score"))}</td><td></td></tr></tfoot>'
        "</table></div>"
    )


def _breakdown_row(
    row: pd.Series,
    criterion: CriterionInfo,
    share: float,
    max_share: float,
) -> str:
    """One ``<tr>`` of the breakdown: label, value, score, weight, contribution, bar.

    ``share`` is the criterion's normalised weight and ``max_share`` the largest:
    the bar track of that criterion spans the whole cell, the others
    proportionally less.
    """
    contribution = row.get("contrib_" + criterion.name)
    return (
        f'<tr class="ss-criterion" data-criterion="{esc(criterion.name)}">'
        f'<td title="{esc(criterion.transform)}">{esc(criterion.label)}</td>'
        f'<td class="ss-num">{format_value(row.get("raw_" + criterion.name), criterion.unit)}</td>'
        f'<td class="ss-num">{format_score(row.get("score_" + criterion.name))}</td>'
        f'<td class="ss-num">{esc(f"{criterion.weight:g}")}</td>'
        f'<td class="ss-num">{format_score(contribution)}</td>'
        f'<td class="ss-bar-cell">{_bar(contribution, max_share, share)}</td></tr>'
    )


def title_html(title: str, subtitle: str) -> str:
    """The fixed title box shown at the top centre of the map."""
    return (
        '<div class="ss-title-band"><div class="ss-title" id="ss-title">'
        f"<h1>{esc(title)}</h1><p>{esc(subtitle)}</p></div></div>"
    )


def legend_html(colormap: Any, steps: Sequence[str], mode: str) -> str:
    """The map legend: score gradient, excluded swatch, top-site badge.

    Parameters
    ----------
    colormap : branca.colormap.LinearColormap
        Gives the score range (``vmin``, ``vmax``).
    steps : sequence of str
        Gradient colours, low to high.
    mode : {"polygons", "points", "grid"}
        How candidates are drawn (the grid shows the best score per cell).

    Returns
    -------
    str
        A ``<div class="ss-legend" id="ss-legend">``.
    """
    ticks = "".join(
        f"<span>{value:.2f}</span>"
        for value in (colormap.vmin, (colormap.vmin + colormap.vmax) / 2, colormap.vmax)
    )
    what = "Best total score in cell" if mode == "grid" else "Total score"
    return (
        '<div class="ss-legend" id="ss-legend">'
        f'<div class="ss-legend-title">{what} (higher is better)</div>'
        f'<div class="ss-gradient" style="background:linear-gradient(to right,{",".join(steps)})">'
        f'</div><div class="ss-ticks">{ticks}</div>'
        '<div class="ss-legend-row"><span class="ss-swatch ss-swatch-excluded"></span>'
        "Excluded by a hard constraint (hover for why)</div>"
        '<div class="ss-legend-row"><span class="ss-swatch ss-swatch-zone"></span>'
        "Exclusion zone or setback</div>"
        '<div class="ss-legend-row"><span class="ss-rank-badge">1</span>'
        "Top site by rank (click for the breakdown)</div></div>"
    )


# --------------------------------------------------------------------------- map elements


class StyleSheet(MacroElement):
    """Put a stylesheet in the page's ``<head>``."""

    _template = Template(
        "{% macro header(this, kwargs) %}<style>{{ this.css }}</style>{% endmacro %}"
    )

    def __init__(self, css: str) -> None:
        super().__init__()
        self._name = "StyleSheet"
        self.css = css


class TitleBox(MacroElement):
    """Fixed title box over the top centre of the map (already-escaped HTML)."""

    _template = Template("{% macro html(this, kwargs) %}{{ this.content }}{% endmacro %}")

    def __init__(self, content: str) -> None:
        super().__init__()
        self._name = "TitleBox"
        self.content = content


class LegendControl(MacroElement):
    """A Leaflet control showing already-escaped HTML (the legend), bottom right."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        (function () {
            var control = L.control({position: "bottomright"});
            control.onAdd = function () {
                var div = L.DomUtil.create("div", "ss-legend-control");
                div.innerHTML = {{ this.content|tojson }};
                return div;
            };
            control.addTo({{ this._parent.get_name() }});
        })();
        {% endmacro %}
        """
    )

    def __init__(self, content: str) -> None:
        super().__init__()
        self._name = "LegendControl"
        self.content = content
