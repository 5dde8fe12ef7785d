"""HTML fragments of the Folium map: escaping, number formatting, popups, panels.

The functions return plain strings and :class:`TitleBox` places the title;
:mod:`siteselect.outputs.map.build` puts everything on the map (the stylesheet is
``web/map.css``). :func:`popup_html` is the static breakdown table (the executive report
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


# --------------------------------------------------------------------------- map elements


class TitleBox(MacroElement):
    """Fixed title box over the top centre of the map (already-escaped HTML)."""

    _template = Template("{% macro html(this, kwargs) %}{{ this.content }}{% endmacro %}")

    def __init__(self, content: str) -> None:
        super().__init__()
        self._name = "TitleBox"
        self.content = content
