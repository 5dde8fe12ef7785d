/* siteselect map: the top sites, their popups, the ranked list and the weight sliders.
 *
 * ssSites(opts) draws the numbered markers of the top N sites (fanned out with
 * ssDeclutter so none hides another, a thin leader line to the true location),
 * fills the ranked list, and re-ranks and recolours when a weight slider moves,
 * with ssAggregate (the run's arithmetic) and ssRankOrder (the run's ranking).
 * Every string of the payload D was HTML-escaped in Python; `key` and the YAML
 * only use raw criterion names through textContent / value.
 */
"use strict";

function ssSites(opts) {
  var map = opts.map, group = opts.group, D = opts.payload;
  var C = D.criteria, S = D.sites, n = S.id.length, k = C.length;
  var A = D.aggregation, method = A.method, orderWeights = A.order_weights;
  var defaults = C.map(function (c) { return c.weight; });
  var weights = defaults.slice();
  var markers = {}, shown = [], shownRank = [], totals = null, defaultRank = null;
  var leaders = L.layerGroup();
  var GAP = 4;

  function fixed3(x) { return (x === null || x === undefined || isNaN(x)) ? "n/a" : x.toFixed(3); }
  function fmtWeight(w) { return String(Math.round(w * 100) / 100); }
  function pct(p) { return Math.round(100 * p) + "%"; }
  function changed() {
    for (var j = 0; j < k; j++) { if (weights[j] !== defaults[j]) { return true; } }
    return false;
  }
  function siteName(i) { return S.name[i] || S.id[i]; }

  /* ---------------------------------------------------------------- colours */
  var colours = D.colours;
  function colourOf(value, vmin, vmax) {
    return ssColour(value, vmin, vmax, colours.stops, colours.steps, colours.missing);
  }
  var featureSites = [];  // per candidate layer: its features' site indices
  (opts.candidateLayers || []).forEach(function (layer) {
    var index = {}, byId = {}, pairs = [];
    S.id.forEach(function (id, i) { index[id] = i; });
    layer.eachLayer(function (l) {
      var i = index[l.feature.properties.id];
      if (i !== undefined) { pairs.push([l, i]); byId[l.feature.id] = i; }
    });
    featureSites.push({layer: layer, pairs: pairs, byId: byId, original: layer.options.style});
  });
  function recolour(t, order) {
    if (!D.recolour) { return; }
    var vmin = colours.vmin, vmax = colours.vmax, fills = null, ranks = null;
    if (changed()) {
      vmin = Infinity; vmax = -Infinity;
      for (var i = 0; i < n; i++) { vmin = Math.min(vmin, t[i]); vmax = Math.max(vmax, t[i]); }
      if (!(vmax - vmin > 1e-9)) { vmin = Math.max(0, vmin - 0.05); vmax = Math.min(1, vmax + 0.05); }
      fills = new Array(n);
      ranks = new Int32Array(n);
      for (i = 0; i < n; i++) { fills[i] = colourOf(t[i], vmin, vmax); }
      order.forEach(function (i, pos) { ranks[i] = pos + 1; });
    }
    featureSites.forEach(function (entry) {
      entry.layer.options.style = function (feature) {
        var style = entry.original(feature), i = entry.byId[feature.id];
        return (fills && i !== undefined) ? L.Util.extend({}, style, {fillColor: fills[i]}) : style;
      };
      entry.pairs.forEach(function (pair) {
        var l = pair[0], i = pair[1], props = l.feature.properties;
        if (props.baseScore === undefined) { props.baseScore = props.score; props.baseRank = props.rank; }
        props.score = fills ? fixed3(t[i]) : props.baseScore;
        props.rank = fills ? String(ranks[i]) : props.baseRank;
        var style = entry.original(l.feature);
        if (fills) { style = L.Util.extend({}, style, {fillColor: fills[i]}); }
        l.setStyle(style);
      });
    });
    var ticks = document.querySelectorAll(".ss-score-tick");
    [vmin, (vmin + vmax) / 2, vmax].forEach(function (v, j) {
      if (ticks[j]) { ticks[j].textContent = v.toFixed(2); }
    });
    var note = document.getElementById("ss-colour-note");
    if (note) { note.style.display = fills ? "" : "none"; }
  }

  /* ---------------------------------------------------------------- popups */
  function bar(part, share, maxShare) {
    var track = maxShare > 0 ? 100 * share / maxShare : 0;
    var fill = share > 0 ? Math.min(100, Math.max(0, 100 * (part || 0) / share)) : 0;
    return '<div class="ss-bar-track" style="width:' + track.toFixed(0) + '%">' +
      '<div class="ss-bar" style="width:' + fill.toFixed(0) + '%"></div></div>';
  }
  function sureLine(i) {
    if (!D.sensitivity || S.p1[i] === null || changed()) { return ""; }
    return '<div class="ss-popup-sure">First in <b>' + pct(S.p1[i]) + "</b> of " +
      D.sensitivity.draws + " plausible weightings (weights varied \u00b1" +
      D.sensitivity.spread_pct + "%)</div>";
  }
  function popupHtml(i, rank, total) {
    var W = 0, maxW = 0, j, rows = "", additive = method === "weighted_sum";
    for (j = 0; j < k; j++) { W += weights[j]; maxW = Math.max(maxW, weights[j]); }
    for (j = 0; j < k; j++) {
      var s = S.score[j][i], share = W > 0 ? weights[j] / W : 0;
      var part = additive ? (s === null ? null : s * weights[j] / W) : share;
      rows += '<tr class="ss-criterion" data-criterion="' + C[j].name + '">' +
        '<td title="' + C[j].transform + '">' + C[j].label + '</td>' +
        '<td class="ss-num">' + S.raw[j][i] + '</td>' +
        '<td class="ss-num">' + fixed3(s) + '</td>' +
        '<td class="ss-num">' + fmtWeight(weights[j]) + '</td>' +
        '<td class="ss-num">' + (additive ? fixed3(part) : pct(share)) + '</td>' +
        '<td class="ss-bar-cell">' + (additive ? bar(part, share, W > 0 ? maxW / W : 0)
                                              : bar(share, share, W > 0 ? maxW / W : 0)) +
        '</td></tr>';
      if (S.notes[j] && S.notes[j][i]) {
        rows += '<tr class="ss-note-row"><td colspan="6">' + S.notes[j][i] + "</td></tr>";
      }
    }
    var head = S.name[i]
      ? '<span class="ss-popup-id">' + S.name[i] + '</span><span class="ss-popup-parcel">parcel ' +
        S.id[i] + "</span>"
      : '<span class="ss-popup-id">parcel ' + S.id[i] + "</span>";
    return '<div class="ss-popup" id="ss-popup-' + rank + '" data-rank="' + rank + '">' +
      '<div class="ss-popup-head"><span class="ss-popup-rank">#' + rank + "</span>" + head +
      '</div><div class="ss-popup-total">Total score <b>' + fixed3(total) + "</b> of 1 (" +
      D.method_label + ") &middot; " + S.acres[i] + " acres</div>" + sureLine(i) +
      '<div class="ss-breakdown-wrap"><table class="ss-breakdown"><thead><tr>' +
      "<th>What is measured</th><th>Value</th><th>Score (0-1)</th><th>Weight</th><th>" +
      (additive ? "Adds to total" : "Weight share") + "</th><th></th></tr></thead><tbody>" +
      rows + '</tbody><tfoot><tr><td colspan="4">Total</td><td class="ss-num">' + fixed3(total) +
      "</td><td></td></tr></tfoot></table></div></div>";
  }

  /* ---------------------------------------------------------------- markers */
  function iconSize(rank) { return rank === 1 ? 34 : 28; }
  function markerFor(i, rank, total, count) {
    var size = iconSize(rank);
    var icon = L.divIcon({
      html: '<div class="ss-rank-marker" data-rank="' + rank + '">' + rank + "</div>",
      className: "ss-rank-icon", iconSize: [size, size], iconAnchor: [size / 2, size / 2]
    });
    var marker = L.marker([S.lat[i], S.lon[i]],
                          {icon: icon, zIndexOffset: 1000 + (count - rank) * 10,
                           riseOnHover: true, keyboard: true, title: ""});
    marker.ssTrue = L.latLng(S.lat[i], S.lon[i]);
    marker.ssRank = rank;
    marker.bindPopup(popupHtml(i, rank, total), {maxWidth: 520, autoPanPadding: [12, 12]});
    marker.on("preclick", function () { fitPopup(marker.getPopup()); });
    marker.bindTooltip("#" + rank + " " + siteName(i) + " \u00b7 score " + fixed3(total),
                       {direction: "top", offset: [0, -size / 2]});
    return marker;
  }
  /* Keep the popup clear of the panels and controls (they are drawn above it). */
  function fitPopup(popup) {
    if (typeof ssControlPadding !== "function") { return; }
    var pad = ssControlPadding(map), width = map.getSize().x;
    popup.options.autoPanPaddingTopLeft = [pad.l + 10, pad.t + 10];
    popup.options.autoPanPaddingBottomRight = [pad.r + 10, pad.b + 10];
    // the content's own margins (.leaflet-popup-content, map.css) come on top of maxWidth
    var margins = width < SS_NARROW_PX ? 26 : 46;
    popup.options.maxWidth = Math.max(200, Math.min(520, width - pad.l - pad.r - 20 - margins));
    popup.options.minWidth = Math.min(300, popup.options.maxWidth);
    // taller than the room between the panels: the popup scrolls (tip and margins: ~50 px)
    popup.options.maxHeight = Math.max(150, map.getSize().y - pad.t - pad.b - 20 - 50);
  }

  /* Fan out the icons that overlap at this zoom; leader lines to the true locations. */
  function declutter() {
    leaders.clearLayers();
    var ranks = Object.keys(markers).map(Number).sort(function (a, b) { return a - b; });
    var items = ranks.map(function (rank) {
      var p = map.latLngToLayerPoint(markers[rank].ssTrue), size = iconSize(rank);
      return {x: p.x, y: p.y, w: size, h: size};
    });
    var placed = ssDeclutter(items, GAP);
    ranks.forEach(function (rank, j) {
      var marker = markers[rank], item = items[j], p = placed[j];
      var moved = Math.abs(p.x - item.x) > 0.5 || Math.abs(p.y - item.y) > 0.5;
      var where = moved ? map.layerPointToLatLng(L.point(p.x, p.y)) : marker.ssTrue;
      marker.setLatLng(where);
      marker.ssMoved = moved;
      if (moved) {
        L.polyline([marker.ssTrue, where], {color: "#1f2937", weight: 1.2, opacity: 0.9,
                                            interactive: false, className: "ss-leader"})
          .addTo(leaders);
        L.circleMarker(marker.ssTrue, {radius: 3, color: "#fff", weight: 1, fillColor: "#1f2937",
                                       fillOpacity: 1, interactive: false})
          .addTo(leaders);
      }
    });
  }
  map.on("zoomend viewreset", declutter);

  /* ---------------------------------------------------------------- ranking */
  function movement(i, rank) {
    if (!changed()) { return ""; }
    var before = defaultRank[i];
    if (before === rank) { return '<span class="ss-move ss-same">=</span>'; }
    if (before > rank) { return '<span class="ss-move ss-up">\u25b2' + (before - rank) + "</span>"; }
    return '<span class="ss-move ss-down">\u25bc' + (rank - before) + "</span>";
  }
  function update() {
    var note = document.getElementById("ss-whatif-note");
    var t = ssAggregate(method, weights, S.score, orderWeights);
    if (t === null) {
      note.textContent = "Give at least one criterion a weight above 0.";
      note.classList.add("ss-warn");
      return;
    }
    note.classList.remove("ss-warn");
    note.innerHTML = changed()
      ? "Ranking and colours with <b>your</b> weights (\u25b2\u25bc = places gained or lost)."
      : "Ranking with the study's weights.";
    totals = t;
    var idx = ssRankOrder(t, S.order);
    if (defaultRank === null) {
      defaultRank = new Int32Array(n);
      idx.forEach(function (i, pos) { defaultRank[i] = pos + 1; });
    }
    // distinct top sites (decision/separation.py): walking the ranking, a site within
    // min_separation_m of a top site already kept is skipped; ranks keep their numbers
    shown = [];
    shownRank = [];
    var kept = new Uint8Array(n);
    for (var k = 0; k < idx.length && shown.length < D.top_n; k++) {
      var site = idx[k], near = S.near ? S.near[site] : [], hidden = false;
      if (S.lat[site] === null) { continue; }
      for (var q = 0; q < near.length && !hidden; q++) { hidden = kept[near[q]] === 1; }
      if (hidden) { continue; }
      kept[site] = 1;
      shown.push(site);
      shownRank.push(k + 1);
    }
    group.clearLayers();
    leaders.addTo(group);
    markers = {};
    var rows = "", sure = D.sensitivity && !changed();
    shown.forEach(function (i, pos) {
      var rank = shownRank[pos];
      markers[rank] = markerFor(i, rank, t[i], shownRank[shownRank.length - 1]).addTo(group);
      rows += '<tr class="ss-rank-row" data-rank="' + rank + '" data-site="' + S.id[i] +
        '" tabindex="0"><td><span class="ss-rank-badge">' + rank + "</span></td>" +
        '<td class="ss-site" title="' + (S.name[i] ? S.name[i] + " (parcel " + S.id[i] + ")"
                                                    : "parcel " + S.id[i]) + '">' + siteName(i) +
        '</td><td class="ss-num">' + fixed3(t[i]) + "</td>" +
        (D.sensitivity ? '<td class="ss-num ss-sure">' +
          (sure && S.p1[i] !== null ? pct(S.p1[i]) : "") + "</td>" : "") +
        '<td class="ss-num">' + S.acres[i] + "</td>" +
        '<td class="ss-num">' + movement(i, rank) + "</td></tr>";
    });
    document.getElementById("ss-ranking-body").innerHTML = rows;
    var sureNote = document.getElementById("ss-sure-note");
    if (sureNote) { sureNote.style.display = sure ? "" : "none"; }
    var norm = ssNormalisedWeights(weights);
    C.forEach(function (c, j) {
      document.getElementById("ss-w-value-" + j).textContent = fmtWeight(weights[j]);
      document.getElementById("ss-w-share-" + j).textContent =
        Math.round(100 * norm.scaled[j] / norm.sum) + "%";
    });
    recolour(t, idx);
    declutter();
  }
  function openRank(rank) {
    var marker = markers[rank];
    if (!marker) { return; }
    map.closePopup();
    map.setView(marker.ssTrue, Math.max(map.getZoom(), 15), {animate: false});
    declutter();
    fitPopup(markers[rank].getPopup());
    markers[rank].openPopup();
  }
  function yaml() {
    var lines = C.map(function (c, j) {
      var key = /^[A-Za-z_][A-Za-z0-9_-]*$/.test(c.key) ? c.key : JSON.stringify(c.key);
      return "  " + key + ": " + String(weights[j]);
    });
    return "weights:\n" + lines.join("\n") + "\n";
  }
  function copyYaml(div) {
    var box = div.querySelector("#ss-yaml"), status = div.querySelector("#ss-yaml-status");
    box.value = yaml();
    box.style.display = "block";
    box.select();
    var done = function () { status.textContent = "Copied. Paste into a file for siteselect rescore --weights-file."; };
    var manual = function () { status.textContent = "Select the text above and copy it (Ctrl+C)."; };
    try {
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(box.value).then(done, function () {
          (document.execCommand && document.execCommand("copy")) ? done() : manual();
        });
        return;
      }
      (document.execCommand && document.execCommand("copy")) ? done() : manual();
    } catch (err) { manual(); }
  }

  function wire(div) {
    div.querySelector("#ss-ranking-body").addEventListener("click", function (event) {
      var row = event.target.closest(".ss-rank-row");
      if (row) { openRank(Number(row.getAttribute("data-rank"))); }
    });
    div.querySelector("#ss-ranking-body").addEventListener("keydown", function (event) {
      var row = event.target.closest(".ss-rank-row");
      if (row && (event.key === "Enter" || event.key === " ")) {
        event.preventDefault();
        openRank(Number(row.getAttribute("data-rank")));
      }
    });
    div.querySelectorAll(".ss-weight-input").forEach(function (input) {
      input.addEventListener("input", function () {
        weights[Number(input.getAttribute("data-index"))] = Math.round(Number(input.value) * 20) / 20;
        update();
      });
    });
    div.querySelector("#ss-reset").addEventListener("click", function () {
      weights = defaults.slice();
      div.querySelectorAll(".ss-weight-input").forEach(function (input, j) { input.value = defaults[j]; });
      update();
    });
    div.querySelector("#ss-copy-yaml").addEventListener("click", function () { copyYaml(div); });
  }

  var api = {
    update: update,
    declutter: declutter,
    markers: function () { return markers; },
    wire: wire,
    setWeights: function (w) { weights = w.slice(); update(); },
    weights: function () { return weights.slice(); },
    totals: function () { return totals; },
    ranking: function () { return ssRankOrder(totals, S.order).map(function (i) { return S.id[i]; }); },
    yaml: yaml,
    colourOf: colourOf
  };
  return api;
}
