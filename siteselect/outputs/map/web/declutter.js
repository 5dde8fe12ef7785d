/* siteselect map: fan out marker icons that would overlap at the current zoom.
 *
 * ssDeclutter takes the true pixel positions of the icons (Leaflet layer points)
 * with their sizes and returns display positions where no two icon boxes overlap
 * (closer than `gap` px). Icons that clash are grouped; each group is laid out on
 * a circle around the mean of its true positions, in the angular order of those
 * positions, its radius grown until no two of its boxes overlap; groups whose new
 * circles clash with another group are merged and laid out again, until no box
 * overlaps another (at worst one circle holds every icon). Icons that clash with
 * nothing stay where they are. Pure and deterministic (tested under node).
 */
"use strict";

function ssDeclutter(items, gap) {
  var n = items.length, i, a, b;
  var pos = items.map(function (p) { return {x: p.x, y: p.y}; });
  var parent = items.map(function (_, j) { return j; });
  function find(j) { while (parent[j] !== j) { parent[j] = parent[parent[j]]; j = parent[j]; } return j; }
  function clash(p, q, ia, ib) {
    return Math.abs(p.x - q.x) < (items[ia].w + items[ib].w) / 2 + gap &&
      Math.abs(p.y - q.y) < (items[ia].h + items[ib].h) / 2 + gap;
  }
  function layout(members) {
    var m = members.length, cx = 0, cy = 0;
    members.forEach(function (j) { cx += items[j].x; cy += items[j].y; });
    cx /= m; cy /= m;
    var angle = function (j) {
      var dx = items[j].x - cx, dy = items[j].y - cy;
      return (dx === 0 && dy === 0) ? -Math.PI / 2 : Math.atan2(dy, dx);
    };
    var sorted = members.slice().sort(function (p, q) { return angle(p) - angle(q) || p - q; });
    var size = 0;
    members.forEach(function (j) { size = Math.max(size, items[j].w, items[j].h); });
    var start = angle(sorted[0]), radius = (size + gap) / (2 * Math.sin(Math.PI / m));
    for (var tries = 0; tries < 200; tries++) {
      var placed = sorted.map(function (j, s) {
        var t = start + 2 * Math.PI * s / m;
        return {x: cx + radius * Math.cos(t), y: cy + radius * Math.sin(t)};
      });
      var ok = true;
      for (var s = 0; s < m && ok; s++) {
        for (var u = s + 1; u < m && ok; u++) {
          if (clash(placed[s], placed[u], sorted[s], sorted[u])) { ok = false; }
        }
      }
      if (ok) { break; }
      radius *= 1.08;
    }
    sorted.forEach(function (j, s) { pos[j] = placed[s]; });
  }
  for (var round = 0; round <= n; round++) {
    var merged = false;
    for (a = 0; a < n; a++) {
      for (b = a + 1; b < n; b++) {
        if (find(a) !== find(b) && clash(pos[a], pos[b], a, b)) {
          parent[find(b)] = find(a);
          merged = true;
        }
      }
    }
    if (!merged) { break; }
    var groups = {};
    for (i = 0; i < n; i++) { (groups[find(i)] = groups[find(i)] || []).push(i); }
    Object.keys(groups).forEach(function (root) {
      if (groups[root].length > 1) { layout(groups[root]); }
    });
  }
  return pos;
}

if (typeof module !== "undefined") { module.exports = {ssDeclutter: ssDeclutter}; }
