"""What-if weights: the top sites, their popups and the ranked list, re-ranked in the browser.

:func:`whatif_payload` embeds, for the ranked candidates (all of them up to
:data:`WHATIF_MAX_SITES`, else those leading on the total or on a single
criterion), the per-criterion scores and the pre-formatted values of the
popups. :class:`WhatIfPanel` adds the JavaScript that

* draws the numbered markers of the top N sites with their breakdown popups,
* fills the ranked list, and
* re-ranks live when a weight slider moves, with exactly the aggregation of
  :func:`siteselect.decision.scoring.score_table` and the ranking of
  :func:`siteselect.decision.scoring.rank`: ``total = sum_i (s_i * w_i / W)`` accumulated
  in criterion order with missing scores counting 0, ``W = sum_i w_i``; best
  total first, ties broken by candidate id. Excluded candidates are never
  embedded, so they stay excluded.

Every string of the payload is escaped with :func:`siteselect.outputs.map.popup.esc`
before it is embedded; the script inserts them as HTML.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
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
#: Popup auto-pan margins (px): the panel on the left, the layer control on the right.
POPUP_PAD_LEFT = 340
POPUP_PAD_RIGHT = 300


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


def _json_number(value: Any) -> float | None:
    """A finite float, or None (JSON null) for missing values."""
    number = float(value)
    return number if math.isfinite(number) else None


def whatif_payload(
    ranked: gpd.GeoDataFrame,
    points_wgs84: gpd.GeoSeries,
    criteria: Sequence[CriterionInfo],
    top_n: int,
    total_ranked: int,
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

    Returns
    -------
    dict
        ``criteria`` (name, label, unit, weight, transform), ``sites`` (columns:
        ``id``, ``order`` = position in candidate-id order, ``lat``, ``lon``,
        ``acres``, ``raw`` and ``score`` = one list per criterion), ``top_n``,
        ``total_ranked``.
    """
    ids = ranked["candidate_id"].astype(str).to_numpy()
    id_order = np.empty(len(ids), dtype=int)
    id_order[np.argsort(ids, kind="stable")] = np.arange(len(ids))
    valid = [p is not None and not p.is_empty for p in points_wgs84]
    return {
        "criteria": [
            {
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
            "order": id_order.tolist(),
            "lat": [
                round(p.y, 6) if ok else None for p, ok in zip(points_wgs84, valid, strict=True)
            ],
            "lon": [
                round(p.x, 6) if ok else None for p, ok in zip(points_wgs84, valid, strict=True)
            ],
            "acres": [format_number(v) for v in ranked.get("area_acres", [math.nan] * len(ids))],
            "raw": [
                [format_value(v, c.unit) for v in ranked[f"raw_{c.name}"]]
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
        },
        "top_n": int(top_n),
        "total_ranked": int(total_ranked),
    }


_SCRIPT = r"""
(function () {
  var map = {{ this.map_name }};
  var group = {{ this.group_name }};
  var D = {{ this.payload|tojson }};
  var C = D.criteria, S = D.sites, n = S.id.length, k = C.length;
  var defaults = C.map(function (c) { return c.weight; });
  var weights = defaults.slice();
  var markers = {};
  var defaultRank = null;

  function fixed3(x) { return (x === null || isNaN(x)) ? "n/a" : x.toFixed(3); }
  function fmtWeight(w) { return String(Math.round(w * 100) / 100); }

  // Same arithmetic as siteselect.decision.scoring.score_table: weights divided by the largest
  // (v = w / max w, so no sum overflows), contribution = s * v / V with V = sum of v,
  // accumulated in criterion order, missing scores count 0.
  function scaled(w) {
    var m = 0, j;
    for (j = 0; j < k; j++) { if (w[j] > m) { m = w[j]; } }
    return w.map(function (x) { return m > 0 ? x / m : 0; });
  }
  function totals(weights) {
    var w = scaled(weights), W = 0, j, i;
    for (j = 0; j < k; j++) { W += w[j]; }
    var t = new Float64Array(n);
    for (j = 0; j < k; j++) {
      var s = S.score[j];
      for (i = 0; i < n; i++) {
        var c = s[i] * w[j] / W;
        if (s[i] !== null && c === c) { t[i] += c; }
      }
    }
    return t;
  }
  // siteselect.decision.scoring.rank: best total first, ties by candidate id.
  function order(t) {
    var idx = [];
    for (var i = 0; i < n; i++) { idx.push(i); }
    idx.sort(function (a, b) {
      if (t[a] !== t[b]) { return t[b] - t[a]; }
      return S.order[a] - S.order[b];
    });
    return idx;
  }
  function bar(contribution, share, maxShare) {
    var track = maxShare > 0 ? 100 * share / maxShare : 0;
    var fill = share > 0 ? Math.min(100, Math.max(0, 100 * (contribution || 0) / share)) : 0;
    return '<div class="ss-bar-track" style="width:' + track.toFixed(0) + '%">' +
      '<div class="ss-bar" style="width:' + fill.toFixed(0) + '%"></div></div>';
  }
  function popupHtml(i, rank, total, w) {
    var W = 0, maxW = 0, j, rows = "";
    for (j = 0; j < k; j++) { W += w[j]; maxW = Math.max(maxW, w[j]); }
    for (j = 0; j < k; j++) {
      var s = S.score[j][i], share = W > 0 ? w[j] / W : 0;
      var contribution = s === null ? null : s * w[j] / W;
      rows += '<tr class="ss-criterion" data-criterion="' + C[j].name + '">' +
        '<td title="' + C[j].transform + '">' + C[j].label + '</td>' +
        '<td class="ss-num">' + S.raw[j][i] + '</td>' +
        '<td class="ss-num">' + fixed3(s) + '</td>' +
        '<td class="ss-num">' + fmtWeight(w[j]) + '</td>' +
        '<td class="ss-num">' + fixed3(contribution) + '</td>' +
        '<td class="ss-bar-cell">' + bar(contribution, share, W > 0 ? maxW / W : 0) +
        '</td></tr>';
    }
    return '<div class="ss-popup" id="ss-popup-' + rank + '" data-rank="' + rank + '">' +
      '<div class="ss-popup-head"><span class="ss-popup-rank">#' + rank + '</span>' +
      '<span class="ss-popup-id">' + S.id[i] + '</span></div>' +
      '<div class="ss-popup-total">Total score <b>' + fixed3(total) + '</b> of 1 &middot; ' +
      S.acres[i] + ' acres</div>' +
      '<table class="ss-breakdown"><thead><tr><th>Criterion</th><th>Value</th>' +
      '<th>Score</th><th>Weight</th><th>Contribution</th><th></th></tr></thead>' +
      '<tbody>' + rows + '</tbody><tfoot><tr><td colspan="4">Total</td>' +
      '<td class="ss-num">' + fixed3(total) + '</td><td></td></tr></tfoot></table></div>';
  }
  function markerFor(i, rank, total, w, count) {
    var size = rank === 1 ? 34 : 28;
    var icon = L.divIcon({
      html: '<div class="ss-rank-marker" data-rank="' + rank + '">' + rank + '</div>',
      className: "ss-rank-icon", iconSize: [size, size], iconAnchor: [size / 2, size / 2]
    });
    var marker = L.marker([S.lat[i], S.lon[i]],
                          {icon: icon, zIndexOffset: 1000 + (count - rank) * 10});
    marker.bindPopup(popupHtml(i, rank, total, w), {
      maxWidth: 520, autoPanPaddingTopLeft: [{{ this.pad_left }}, 90],
      autoPanPaddingBottomRight: [{{ this.pad_right }}, 20]
    });
    marker.bindTooltip('#' + rank + ' ' + S.id[i] + ' \u00b7 score ' + fixed3(total));
    return marker;
  }
  function changed(w) {
    for (var j = 0; j < k; j++) { if (w[j] !== defaults[j]) { return true; } }
    return false;
  }
  function movement(i, rank) {
    if (!changed(weights)) { return ""; }
    var before = defaultRank[i];
    if (before === rank) { return '<span class="ss-move ss-same">=</span>'; }
    if (before > rank) {
      return '<span class="ss-move ss-up">\u25b2' + (before - rank) + '</span>';
    }
    return '<span class="ss-move ss-down">\u25bc' + (rank - before) + '</span>';
  }
  function update() {
    var v = scaled(weights), W = 0;
    for (var j = 0; j < k; j++) { W += v[j]; }
    var note = document.getElementById("ss-whatif-note");
    if (!(W > 0)) {
      note.textContent = "Give at least one criterion a weight above 0.";
      note.classList.add("ss-warn");
      return;
    }
    note.classList.remove("ss-warn");
    note.innerHTML = changed(weights)
      ? "Ranking with <b>your</b> weights (\u25b2\u25bc = places gained or lost)."
      : "Ranking with the study's weights.";
    var t = totals(weights), idx = order(t);
    if (defaultRank === null) {
      defaultRank = new Int32Array(n);
      idx.forEach(function (i, pos) { defaultRank[i] = pos + 1; });
    }
    var top = idx.slice(0, D.top_n).filter(function (i) { return S.lat[i] !== null; });
    group.clearLayers();
    markers = {};
    var rows = "";
    top.forEach(function (i, pos) {
      var rank = pos + 1;
      markers[rank] = markerFor(i, rank, t[i], weights, top.length).addTo(group);
      rows += '<tr class="ss-rank-row" data-rank="' + rank + '" data-site="' + S.id[i] + '">' +
        '<td><span class="ss-rank-badge">' + rank + '</span></td>' +
        '<td class="ss-site" title="' + S.id[i] + '">' + S.id[i] + '</td>' +
        '<td class="ss-num">' + fixed3(t[i]) + '</td>' +
        '<td class="ss-num">' + S.acres[i] + '</td>' +
        '<td class="ss-num">' + movement(i, rank) + '</td></tr>';
    });
    document.getElementById("ss-ranking-body").innerHTML = rows;
    C.forEach(function (c, j) {
      document.getElementById("ss-w-value-" + j).textContent = fmtWeight(weights[j]);
      document.getElementById("ss-w-share-" + j).textContent =
        Math.round(100 * v[j] / W) + "%";
    });
  }
  function openRank(rank) {
    var marker = markers[rank];
    if (!marker) { return; }
    map.setView(marker.getLatLng(), Math.max(map.getZoom(), 15));
    marker.openPopup();
  }

  var control = L.control({position: "topleft"});
  control.onAdd = function () {
    var div = L.DomUtil.create("div", "ss-panel-control");
    div.innerHTML = {{ this.panel_html|tojson }};
    L.DomEvent.disableClickPropagation(div);
    L.DomEvent.disableScrollPropagation(div);
    div.querySelector("#ss-ranking-body").addEventListener("click", function (event) {
      var row = event.target.closest(".ss-rank-row");
      if (row) { openRank(row.getAttribute("data-rank")); }
    });
    div.querySelectorAll(".ss-weight-input").forEach(function (input) {
      input.addEventListener("input", function () {
        weights[Number(input.getAttribute("data-index"))] = Number(input.value);
        update();
      });
    });
    div.querySelector("#ss-reset").addEventListener("click", function () {
      weights = defaults.slice();
      div.querySelectorAll(".ss-weight-input").forEach(function (input, j) {
        input.value = defaults[j];
      });
      update();
    });
    return div;
  };
  control.addTo(map);
  update();
  window.ssWhatIf = {
    setWeights: function (w) { weights = w.slice(); update(); },
    ranking: function () {
      return order(totals(weights)).map(function (i) { return S.id[i]; });
    }
  };
})();
"""


def panel_html(criteria: Sequence[CriterionInfo], top_n: int, note: str) -> str:
    """The left panel: the (script-filled) ranked list and one weight slider per criterion.

    Parameters
    ----------
    criteria : sequence of CriterionInfo
    top_n : int
        Number of ranked sites listed.
    note : str
        Already-escaped sentence under the sliders (what is re-ranked).

    Returns
    -------
    str
        ``#ss-ranking`` (with ``#ss-ranking-body``) and ``#ss-whatif``.
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
    return (
        '<div class="ss-ranking" id="ss-ranking">'
        f"<h2>Top {top_n} sites</h2>"
        "<table><thead><tr><th>#</th><th>Site</th><th>Score</th><th>Acres</th><th></th></tr>"
        '</thead><tbody id="ss-ranking-body"></tbody></table>'
        '<div class="ss-hint">Click a row or a numbered marker for the score breakdown.</div>'
        "</div>"
        '<div class="ss-whatif" id="ss-whatif">'
        '<div class="ss-whatif-head"><h2>What if? Weights</h2>'
        '<button type="button" id="ss-reset">Reset</button></div>'
        f"{sliders}"
        f'<div class="ss-hint" id="ss-whatif-note"></div>'
        f'<div class="ss-hint">{note}</div></div>'
    )


class WhatIfPanel(MacroElement):
    """The left panel (ranked list + weight sliders) and the top-site markers.

    Parameters
    ----------
    payload : dict
        From :func:`whatif_payload`.
    panel : str
        From :func:`panel_html`.
    map_name, group_name : str
        JavaScript names of the folium map and of the FeatureGroup that receives
        the numbered markers.
    """

    _template = Template("{% macro script(this, kwargs) %}" + _SCRIPT + "{% endmacro %}")

    def __init__(self, payload: dict[str, Any], panel: str, map_name: str, group_name: str) -> None:
        super().__init__()
        self._name = "WhatIfPanel"
        self.payload = payload
        self.panel_html = panel
        self.map_name = map_name
        self.group_name = group_name
        self.pad_left = POPUP_PAD_LEFT
        self.pad_right = POPUP_PAD_RIGHT
