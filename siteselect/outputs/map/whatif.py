"""What-if weights: the top sites, their popups and the ranked list, re-ranked in the browser.

:func:`whatif_payload` embeds, for the ranked candidates (all of them up to
:data:`WHATIF_MAX_SITES`, else those leading on the total or on a single
criterion), the per-criterion scores and the pre-formatted values of the
popups. :class:`SiteMap` adds the script (``web/sites.js`` and ``web/layout.js``)
that

* draws the numbered markers of the top N sites with their breakdown popups,
  fanned out where they would overlap (``web/declutter.js``),
* fills the ranked list (clicking a row zooms to the site and opens it), and
* re-ranks and recolours live when a weight slider moves, with the run's
  aggregation (``web/aggregate.js``: ``weighted_sum``, ``weighted_product`` or
  ``owa``, read from ``RunResult.aggregation``) and the ranking of
  :func:`siteselect.decision.scoring.rank`: best total first, ties broken by
  candidate id. Excluded candidates are never embedded, so they stay excluded.

Every string of the payload is escaped with :func:`siteselect.outputs.map.popup.esc`
before it is embedded (the script inserts them as HTML), except ``criteria[].key``,
the raw criterion name the "copy weights as YAML" button writes as text.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
from branca.element import MacroElement
from folium.template import Template

from siteselect.decision.results import CriterionInfo
from siteselect.outputs.map.popup import esc, format_number, format_value

#: Ranked candidates embedded with their scores; above this, a subset (see
#: :func:`whatif_rows`).
WHATIF_MAX_SITES = 5000
#: Aggregation methods the browser reproduces, and how the popups name them.
METHODS = {
    "weighted_sum": "weighted sum",
    "weighted_product": "weighted product",
    "owa": "ordered weighted average",
}


def whatif_rows(ranked: pd.DataFrame, criteria: Sequence[CriterionInfo], limit: int) -> np.ndarray:
    """Positions (in ``ranked``) of the candidates the browser can re-rank.

    All of them when there are at most ``limit``; otherwise the union of the best
    by total score and the best on each criterion alone (``limit // (k + 1)``
    each), the candidates most likely to reach the top under other weights.

    Parameters
    ----------
    ranked : pandas.DataFrame
        Non-excluded candidates with ``total_score`` and ``score_<name>`` columns.
    criteria : sequence of CriterionInfo
    limit : int
        Largest number of candidates to embed.

    Returns
    -------
    numpy.ndarray
        Sorted integer positions.
    """
    n = len(ranked)
    if n <= limit:
        return np.arange(n)
    per_list = max(1, limit // (len(criteria) + 1))
    columns = ["total_score"] + [f"score_{c.name}" for c in criteria]
    chosen: set[int] = set()
    for column in columns:
        values = np.nan_to_num(ranked[column].to_numpy(float), nan=-np.inf)
        best = np.argpartition(-values, per_list - 1)[:per_list]
        chosen.update(int(i) for i in best)
    return np.array(sorted(chosen), dtype=int)


def plain_unit(unit: str) -> str:
    """A unit as said aloud where it reads better: ``vehicles/day`` -> ``vehicles a day``."""
    return unit[: -len("/day")] + " a day" if unit.endswith("/day") else unit


def _json_number(value: Any) -> float | None:
    """A finite float, or None (JSON null) for missing values."""
    number = float(value)
    return number if math.isfinite(number) else None


def aggregation_spec(aggregation: Mapping[str, Any] | None, k: int) -> dict[str, Any]:
    """The run's aggregation as the page needs it: ``{method, order_weights}``.

    Parameters
    ----------
    aggregation : mapping or None
        ``RunResult.aggregation``: ``{"method": ..., "order_weights": [...]}`` (the
        latter for ``owa``); None means ``weighted_sum``.
    k : int
        Number of criteria.

    Raises
    ------
    ValueError
        An unknown method, or ``owa`` without ``k`` finite, non-negative order
        weights of positive sum.
    """
    method = "weighted_sum" if not aggregation else str(aggregation.get("method", "weighted_sum"))
    if method not in METHODS:
        raise ValueError(
            f"aggregation method {method!r} cannot be drawn on the map "
            f"(known: {', '.join(METHODS)})"
        )
    order: list[float] = []
    if method == "owa":
        raw = list((aggregation or {}).get("order_weights") or [])
        order = [float(v) for v in raw]
        if (
            len(order) != k
            or not all(math.isfinite(v) and v >= 0 for v in order)
            or not sum(order) > 0
        ):
            raise ValueError(
                f"owa aggregation needs {k} non-negative order weights of positive sum "
                f"(one per criterion), got {raw!r}"
            )
    return {"method": method, "order_weights": order}


def _site_names(ranked: pd.DataFrame) -> list[str]:
    """Escaped ``site_name`` per site, "" where the parcel has none (or no such column)."""
    if "site_name" not in ranked:
        return [""] * len(ranked)
    return [
        "" if not isinstance(v, str) or not v.strip() else esc(v.strip())
        for v in ranked["site_name"]
    ]


def _notes(ranked: pd.DataFrame, criteria: Sequence[CriterionInfo]) -> list[list[str] | None]:
    """Per criterion, a sentence per site under its popup row (``<name>_seen_from``), or None."""
    notes: list[list[str] | None] = []
    for c in criteria:
        column = f"{c.name}_seen_from"
        if column not in ranked:
            notes.append(None)
            continue
        notes.append(
            [
                "" if not isinstance(v, str) or not v else esc(v[:1].upper() + v[1:] + ".")
                for v in ranked[column]
            ]
        )
    return notes


def _rank1_probabilities(
    ids: np.ndarray, sensitivity: Mapping[str, Any] | None
) -> list[float | None]:
    """``sensitivity["p_rank1"]`` per site (None where not given)."""
    table = (sensitivity or {}).get("p_rank1") or {}
    lookup = {str(key): value for key, value in table.items()}
    out: list[float | None] = []
    for site in ids:
        value = lookup.get(str(site))
        out.append(None if value is None else _json_number(value))
    return out


def _sensitivity_summary(sensitivity: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """Draws, spread and the plain sentence of the run's sensitivity (escaped), or None."""
    if not sensitivity or not sensitivity.get("p_rank1"):
        return None
    spread = sensitivity.get("spread_pct")
    return {
        "draws": int(sensitivity.get("draws", 0)),
        "spread_pct": "?" if spread is None else f"{float(spread):g}",
        "statement": esc(sensitivity.get("statement", "")) if sensitivity.get("statement") else "",
    }


def whatif_payload(
    ranked: gpd.GeoDataFrame,
    points_wgs84: gpd.GeoSeries,
    criteria: Sequence[CriterionInfo],
    top_n: int,
    total_ranked: int,
    *,
    aggregation: Mapping[str, Any] | None = None,
    sensitivity: Mapping[str, Any] | None = None,
    colours: Mapping[str, Any] | None = None,
    near: list[list[int]] | None = None,
) -> dict[str, Any]:
    """The data the what-if script needs, JSON-serialisable, strings escaped.

    Parameters
    ----------
    ranked : geopandas.GeoDataFrame
        The embedded (non-excluded) candidates.
    points_wgs84 : geopandas.GeoSeries
        One representative point per row of ``ranked``, in EPSG:4326.
    criteria : sequence of CriterionInfo
    top_n : int
        Number of numbered sites.
    total_ranked : int
        Number of ranked candidates in the run (``len(ranked)`` when all are embedded).
    aggregation : mapping, optional
        ``RunResult.aggregation`` (see :func:`aggregation_spec`).
    sensitivity : mapping, optional
        ``RunResult.sensitivity``: ``p_rank1`` is shown per top site.
    colours : mapping, optional
        The score colour scale (``stops``, ``steps``, ``vmin``, ``vmax``, ``missing``)
        and ``recolour`` (whether every candidate drawn is embedded, so the map
        can be recoloured when the weights change).
    near : list of list of int, optional
        Per site, the positions in ``ranked`` of the sites within the run's
        ``min_separation_m`` (:func:`siteselect.decision.separation.neighbours_within`):
        the script keeps its top sites distinct with them, at any weights.

    Returns
    -------
    dict
        ``criteria`` (key, name, label, unit, weight, transform), ``sites``
        (columns: ``id``, ``name``, ``order`` = position in candidate-id order,
        ``lat``, ``lon``, ``acres``, ``raw``, ``score`` and ``notes`` = one list
        per criterion, ``p1``), ``aggregation``, ``method_label``,
        ``sensitivity``, ``colours``, ``recolour``, ``top_n``, ``total_ranked``.
    """
    ids = ranked["candidate_id"].astype(str).to_numpy()
    id_order = np.empty(len(ids), dtype=int)
    id_order[np.argsort(ids, kind="stable")] = np.arange(len(ids))
    valid = [p is not None and not p.is_empty for p in points_wgs84]
    spec = aggregation_spec(aggregation, len(criteria))
    colours = dict(colours or {})
    recolour = bool(colours.pop("recolour", False))
    return {
        "criteria": [
            {
                "key": str(c.name),
                "name": esc(c.name),
                "label": esc(c.label),
                "unit": esc(c.unit),
                "weight": float(c.weight),
                "transform": esc(c.transform),
            }
            for c in criteria
        ],
        "sites": {
            "id": [esc(i) for i in ids],
            "name": _site_names(ranked),
            "order": id_order.tolist(),
            "lat": [
                round(p.y, 6) if ok else None for p, ok in zip(points_wgs84, valid, strict=True)
            ],
            "lon": [
                round(p.x, 6) if ok else None for p, ok in zip(points_wgs84, valid, strict=True)
            ],
            "acres": [format_number(v) for v in ranked.get("area_acres", [math.nan] * len(ids))],
            "raw": [
                [format_value(v, plain_unit(c.unit)) for v in ranked[f"raw_{c.name}"]]
                if f"raw_{c.name}" in ranked
                else ["n/a"] * len(ids)
                for c in criteria
            ],
            "score": [
                [_json_number(v) for v in ranked[f"score_{c.name}"]]
                if f"score_{c.name}" in ranked
                else [None] * len(ids)
                for c in criteria
            ],
            "notes": _notes(ranked, criteria),
            "p1": _rank1_probabilities(ids, sensitivity),
            "near": near if near is not None else [[] for _ in ids],
        },
        "aggregation": spec,
        "method_label": METHODS[spec["method"]],
        "sensitivity": _sensitivity_summary(sensitivity),
        "colours": colours,
        "recolour": recolour,
        "top_n": int(top_n),
        "total_ranked": int(total_ranked),
    }


def panel_html(
    criteria: Sequence[CriterionInfo], top_n: int, note: str, sensitivity: Mapping[str, Any] | None
) -> str:
    """The left panel: the (script-filled) ranked list and one weight slider per criterion.

    Parameters
    ----------
    criteria : sequence of CriterionInfo
    top_n : int
        Number of ranked sites listed.
    note : str
        Already-escaped sentence under the sliders (what is re-ranked).
    sensitivity : mapping or None
        From :func:`_sensitivity_summary`: adds the "first in" column and the sentence.

    Returns
    -------
    str
        Two collapsible sections, ``#ss-ranking`` (with ``#ss-ranking-body``) and
        ``#ss-whatif`` (sliders, reset, copy as YAML).
    """
    top_weight = max((c.weight for c in criteria), default=1.0)
    slider_max = max(10.0, 2 * top_weight)
    sliders = "".join(
        f'<div class="ss-weight" title="{esc(c.label)} ({esc(c.transform)})">'
        f'<label for="ss-w-{j}">{esc(c.label)}</label>'
        f'<div class="ss-weight-row"><input type="range" class="ss-weight-input" id="ss-w-{j}" '
        f'data-index="{j}" data-criterion="{esc(c.name)}" min="0" max="{slider_max:g}" '
        f'step="any" value="{c.weight!r}">'
        f'<span class="ss-num ss-w-value" id="ss-w-value-{j}"></span>'
        f'<span class="ss-num ss-w-share" id="ss-w-share-{j}"></span></div></div>'
        for j, c in enumerate(criteria)
    )
    sure_head, sure_note = "", ""
    if sensitivity:
        sure_head = (
            '<th class="ss-num" title="Share of plausible weightings in which the site is first">'
            "First in</th>"
        )
        statement = sensitivity["statement"] or (
            f"First in: share of {sensitivity['draws']:,} weightings (each weight varied "
            f"\u00b1{sensitivity['spread_pct']}%) in which the site ranks first."
        )
        sure_note = f'<div class="ss-hint" id="ss-sure-note">{statement}</div>'
    return (
        '<div class="ss-ranking ss-collapsible" id="ss-ranking">'
        '<button type="button" class="ss-section-head" aria-expanded="true">'
        f'<span class="ss-head-title">Top {top_n} sites</span><span class="ss-chevron"></span>'
        '</button><div class="ss-section-body">'
        '<table><thead><tr><th>#</th><th>Site</th><th class="ss-num">Score</th>'
        f'{sure_head}<th class="ss-num">Acres</th><th></th></tr>'
        '</thead><tbody id="ss-ranking-body"></tbody></table>'
        f"{sure_note}"
        '<div class="ss-hint">Click a row or a numbered marker for the score breakdown. '
        "Markers that would overlap are fanned out, a thin line leading to the site.</div>"
        "</div></div>"
        '<div class="ss-whatif ss-collapsible" id="ss-whatif">'
        '<button type="button" class="ss-section-head" aria-expanded="true">'
        '<span class="ss-head-title">What if? Weights</span><span class="ss-chevron"></span>'
        '</button><div class="ss-section-body">'
        f"{sliders}"
        '<div class="ss-buttons">'
        '<button type="button" class="ss-button" id="ss-reset">Reset</button>'
        '<button type="button" class="ss-button" id="ss-copy-yaml">Copy weights as YAML</button>'
        "</div>"
        '<textarea id="ss-yaml" readonly aria-label="Weights as YAML"></textarea>'
        '<div class="ss-hint" id="ss-yaml-status"></div>'
        '<div class="ss-hint" id="ss-whatif-note"></div>'
        f'<div class="ss-hint">{note}</div></div></div>'
    )


_SCRIPT = r"""
(function () {
  var map = {{ this.map_name }};
  var D = {{ this.payload|tojson }};
  var sites = ssSites({map: map, group: {{ this.group_name }}, payload: D,
                       candidateLayers: [
                         {% for name in this.candidate_layers %}{{ name }}, {% endfor %}]});
  function control(position, className, html, wire) {
    var c = L.control({position: position});
    c.onAdd = function () {
      var div = L.DomUtil.create("div", className);
      div.innerHTML = html;
      L.DomEvent.disableClickPropagation(div);
      L.DomEvent.disableScrollPropagation(div);
      if (wire) { wire(div); }
      return div;
    };
    return c.addTo(map);
  }
  control("topleft", "ss-panel-control", {{ this.panel_html|tojson }}, sites.wire);
  control("bottomright", "ss-legend-control", {{ this.legend_html|tojson }}, null);
  ssLayout({map: map, groups: [
    {% for g in this.groups %}{label: {{ g.label|tojson }}, layers: [
      {% for e in g.layers %}{layer: {{ e.id }}, id: {{ e.id|tojson }}, name: {{ e.name|tojson }}},
      {% endfor %}]},
    {% endfor %}]});
  sites.update();
  ssFitDefault(map, {{ this.bounds|tojson }}, sites);
  window.ssWhatIf = sites;
  document.documentElement.setAttribute("data-ss-ready", "1");
})();
"""


class SiteMap(MacroElement):
    """The panels (ranked list + weights, legend), the grouped layer list and the top sites.

    Parameters
    ----------
    payload : dict
        From :func:`whatif_payload`.
    panel : str
        From :func:`panel_html`.
    legend : str
        From :func:`siteselect.outputs.map.legend.legend_html`.
    groups : list of dict
        From :func:`siteselect.outputs.map.legend.layer_groups_js`.
    map_name, group_name : str
        JavaScript names of the folium map and of the FeatureGroup that receives
        the numbered markers.
    candidate_layers : list of str
        JavaScript names of the GeoJSON layers of candidates (recoloured by the sliders).
    bounds : list or None
        ``[[south, west], [north, east]]`` fitted at first view.
    """

    _template = Template("{% macro script(this, kwargs) %}" + _SCRIPT + "{% endmacro %}")

    def __init__(
        self,
        payload: dict[str, Any],
        panel: str,
        legend: str,
        groups: list[dict[str, Any]],
        map_name: str,
        group_name: str,
        candidate_layers: list[str],
        bounds: list[list[float]] | None,
    ) -> None:
        super().__init__()
        self._name = "SiteMap"
        self.payload = payload
        self.panel_html = panel
        self.legend_html = legend
        self.groups = groups
        self.map_name = map_name
        self.group_name = group_name
        self.candidate_layers = candidate_layers
        self.bounds = bounds
