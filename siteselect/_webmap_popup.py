"""HTML fragments of the Folium map: escaping, number formatting, popups, panels.

The functions return plain strings and the three small folium elements at the end
place them (stylesheet, title box, ranked-list control); :mod:`siteselect.webmap`
puts everything on the map.

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

import folium
import pandas as pd
from branca.element import MacroElement
from folium.template import Template

from siteselect.results import CriterionInfo

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
  position: fixed; top: 10px; left: 60px; right: 360px; z-index: 1000;
  display: flex; justify-content: center; pointer-events: none;
}
.ss-title {
  pointer-events: auto; padding: 8px 16px; border-radius: 6px; text-align: center;
  background: rgba(255, 255, 255, .95); box-shadow: 0 1px 6px rgba(0, 0, 0, .35);
  font-family: "Helvetica Neue", Arial, sans-serif; color: #1f2937;
}
.ss-title h1 { margin: 0; font-size: 18px; font-weight: 700; line-height: 1.25; }
.ss-title p { margin: 2px 0 0; font-size: 12px; color: #4b5563; }
.ss-ranking {
  background: rgba(255, 255, 255, .96); padding: 8px 10px; border-radius: 6px;
  box-shadow: 0 1px 6px rgba(0, 0, 0, .35); max-height: 60vh; overflow-y: auto;
  font-family: "Helvetica Neue", Arial, sans-serif; font-size: 12px; color: #1f2937;
}
.ss-ranking h2 { margin: 0 0 4px; font-size: 13px; font-weight: 700; }
.ss-ranking table { border-collapse: collapse; }
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
.ss-ranking .ss-hint { margin-top: 4px; color: #6b7280; font-size: 11px; }
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
.legend.leaflet-control {
  background: rgba(255, 255, 255, .92); padding: 2px 8px 0; border-radius: 6px;
  box-shadow: 0 1px 6px rgba(0, 0, 0, .35);
}
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
    total_weight = float(sum(c.weight for c in criteria))
    max_share = (
        max((c.weight for c in criteria), default=0.0) / total_weight if total_weight else 0.0
    )
    rows = "".join(_breakdown_row(row, c, total_weight, max_share) for c in criteria)
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
    total_weight: float,
    max_share: float,
) -> str:
    """One ``<tr>`` of the breakdown: label, value, score, weight, contribution, bar.

    ``max_share`` is the largest normalised weight: the bar track of that criterion
    spans the whole cell, the others proportionally less.
    """
    share = criterion.weight / total_weight if total_weight > 0 else 0.0
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


def ranking_html(top: pd.DataFrame) -> str:
    """The compact ranked list (rank, site id, total score) of the top candidates.

    Parameters
    ----------
    top : pandas.DataFrame
        ``RunResult.top()``: ranked candidates, best first.

    Returns
    -------
    str
        A ``<div id="ss-ranking">`` with one ``<tr class="ss-rank-row" data-rank>``
        per site; the map's script makes each row open that site's popup.
    """
    rows = "".join(
        f'<tr class="ss-rank-row" data-rank="{format_rank(r["rank"])}">'
        f'<td><span class="ss-rank-badge">{format_rank(r["rank"])}</span></td>'
        f'<td class="ss-site" title="{esc(r["candidate_id"])}">{esc(r["candidate_id"])}</td>'
        f'<td class="ss-num">{format_score(r["total_score"])}</td>'
        f'<td class="ss-num">{format_number(r.get("area_acres"))}</td></tr>'
        for _, r in top.iterrows()
    )
    return (
        f'<div class="ss-ranking" id="ss-ranking"><h2>Top {len(top)} sites</h2>'
        "<table><thead><tr><th>#</th><th>Site</th><th>Score</th><th>Acres</th></tr></thead>"
        f"<tbody>{rows}</tbody></table>"
        '<div class="ss-hint">Click a row or a numbered marker for the score breakdown.</div>'
        "</div>"
    )


def marker_html(rank: int) -> str:
    """HTML of a numbered top-site marker (a Leaflet DivIcon)."""
    return f'<div class="ss-rank-marker" data-rank="{rank}">{rank}</div>'


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


class RankingControl(MacroElement):
    """Leaflet control listing the top sites; a click on a row opens that site's popup.

    Parameters
    ----------
    content : str
        Escaped HTML of the panel (:func:`siteselect._webmap_popup.ranking_html`).
    markers : dict of int to folium.Marker
        The numbered markers, by rank.
    """

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        (function () {
            var markers = {
            {%- for rank, marker in this.markers.items() %}
                {{ rank|tojson }}: {{ marker.get_name() }},
            {%- endfor %}
            };
            var control = L.control({position: "topleft"});
            control.onAdd = function (map) {
                var div = L.DomUtil.create("div", "ss-ranking-control");
                div.innerHTML = {{ this.content|tojson }};
                L.DomEvent.disableClickPropagation(div);
                L.DomEvent.disableScrollPropagation(div);
                div.querySelectorAll(".ss-rank-row").forEach(function (row) {
                    row.addEventListener("click", function () {
                        var marker = markers[row.getAttribute("data-rank")];
                        if (!marker) { return; }
                        map.setView(marker.getLatLng(), Math.max(map.getZoom(), 15));
                        marker.openPopup();
                    });
                });
                return div;
            };
            control.addTo({{ this._parent.get_name() }});
        })();
        {% endmacro %}
        """
    )

    def __init__(self, content: str, markers: dict[int, folium.Marker]) -> None:
        super().__init__()
        self._name = "RankingControl"
        self.content = content
        self.markers = markers
