/* siteselect map: the run's aggregation of criterion scores, in the browser.
 *
 * One function, ssAggregate, re-computes every candidate's total score from its
 * per-criterion scores with the arithmetic of the run (the three methods of
 * siteselect.decision.aggregation); ssRankOrder ranks like
 * siteselect.decision.scoring.rank (best total first, ties by candidate id).
 * Missing scores (null) count as 0. Tested against a Python oracle under node
 * (tests/test_weights.py).
 */
"use strict";

/* Weights divided by the largest (no sum overflows), then by their sum: they add up to 1. */
function ssNormalisedWeights(weights) {
  var k = weights.length, m = 0, total = 0, j;
  for (j = 0; j < k; j++) { if (weights[j] > m) { m = weights[j]; } }
  var v = weights.map(function (x) { return m > 0 && x > 0 ? x / m : 0; });
  for (j = 0; j < k; j++) { total += v[j]; }
  return {scaled: v, sum: total};
}

/* Totals of n candidates.
 *
 * method: "weighted_sum" (default), "weighted_product" or "owa".
 * weights: k criterion weights (any positive scale; normalised to sum 1).
 * scores: k arrays of n scores in [0, 1] (null = missing = 0).
 * orderWeights: for "owa", k order weights v_1..v_k (v_1 applies to the highest score).
 *
 * weighted_sum     S = sum_i w_i s_i, accumulated in criterion order as
 *                  s_i * (w_i / max w) / sum_j (w_j / max w) (the run's arithmetic);
 * weighted_product S = prod_i s_i ^ w_i, 0 when some s_i = 0 has w_i > 0;
 * owa              scores sorted descending (ties keep criterion order),
 *                  u_j = w_(j) v_j / sum_k w_(k) v_k, S = sum_j u_j s_(j) (0 when the sum is 0).
 * Returns a Float64Array of n totals, or null when no weight is above 0.
 */
function ssAggregate(method, weights, scores, orderWeights) {
  var k = weights.length, n = k ? scores[0].length : 0, i, j;
  var norm = ssNormalisedWeights(weights);
  if (!(norm.sum > 0)) { return null; }
  var v = norm.scaled, W = norm.sum, t = new Float64Array(n);
  var score = function (j, i) { var s = scores[j][i]; return s === null || s !== s ? 0 : s; };
  if (method === "weighted_product") {
    var w = v.map(function (x) { return x / W; });
    for (i = 0; i < n; i++) {
      var p = 1;
      for (j = 0; j < k; j++) {
        if (w[j] > 0) { p *= Math.pow(score(j, i), w[j]); }
      }
      t[i] = p;
    }
    return t;
  }
  if (method === "owa") {
    var wn = v.map(function (x) { return x / W; }), order = [], s = new Float64Array(k);
    for (j = 0; j < k; j++) { order.push(j); }
    for (i = 0; i < n; i++) {
      for (j = 0; j < k; j++) { s[j] = score(j, i); }
      var sorted = order.slice().sort(function (a, b) { return s[b] - s[a] || a - b; });
      var denominator = 0, numerator = 0;
      for (j = 0; j < k; j++) { denominator += wn[sorted[j]] * orderWeights[j]; }
      if (!(denominator > 0)) { t[i] = 0; continue; }
      for (j = 0; j < k; j++) {
        numerator += (wn[sorted[j]] * orderWeights[j] / denominator) * s[sorted[j]];
      }
      t[i] = numerator;
    }
    return t;
  }
  for (j = 0; j < k; j++) {
    var column = scores[j];
    for (i = 0; i < n; i++) {
      var c = column[i] * v[j] / W;
      if (column[i] !== null && c === c) { t[i] += c; }
    }
  }
  return t;
}

/* Candidate positions best first: higher total first, ties by idOrder (position in id order). */
function ssRankOrder(totals, idOrder) {
  var idx = [], n = totals.length;
  for (var i = 0; i < n; i++) { idx.push(i); }
  idx.sort(function (a, b) {
    if (totals[a] !== totals[b]) { return totals[b] - totals[a]; }
    return idOrder[a] - idOrder[b];
  });
  return idx;
}

/* The score colour of `value`: branca's LinearColormap over `stops` (hex colours spread
 * evenly over [vmin, vmax]) at the value snapped to `steps` levels, as
 * siteselect.outputs.map.build._quantized_color draws it; `missing` for null/NaN. */
function ssColour(value, vmin, vmax, stops, steps, missing) {
  if (value === null || !isFinite(value)) { return missing; }
  var rgbStops = stops.map(function (hex) {
    return [1, 3, 5].map(function (p) { return parseInt(hex.substr(p, 2), 16) / 255; });
  });
  var span = vmax - vmin;
  var fraction = Math.min(1, Math.max(0, (value - vmin) / span));
  var x = vmin + ssRoundHalfEven(fraction * (steps - 1)) / (steps - 1) * span;
  var m = rgbStops.length, index = [], j;
  for (j = 0; j < m; j++) { index.push(vmin + (vmax - vmin) * j * 1.0 / (m - 1)); }
  var rgb;
  if (x <= index[0]) { rgb = rgbStops[0]; } else if (x >= index[m - 1]) { rgb = rgbStops[m - 1]; } else {
    var i = index.filter(function (u) { return u < x; }).length;
    var p = index[i - 1] < index[i] ? (x - index[i - 1]) * 1.0 / (index[i] - index[i - 1]) : 1;
    rgb = [0, 1, 2].map(function (c) { return (1 - p) * rgbStops[i - 1][c] + p * rgbStops[i][c]; });
  }
  return "#" + rgb.map(function (u) {
    var b = Math.floor(u * 255.9999);
    return (b < 16 ? "0" : "") + b.toString(16);
  }).join("");
}

/* Python's round(): halves to the even neighbour. */
function ssRoundHalfEven(x) {
  var r = Math.round(x);
  return (Math.abs(x % 1) === 0.5 && r % 2 !== 0) ? r - 1 : r;
}

if (typeof module !== "undefined") {
  module.exports = {ssAggregate: ssAggregate, ssRankOrder: ssRankOrder,
                    ssNormalisedWeights: ssNormalisedWeights, ssColour: ssColour};
}
