/* siteselect map: panels that never cover one another, a grouped layer list, a live legend,
 * and a first view where every top site is visible and clickable.
 *
 * - Collapsible panels (.ss-collapsible: a header button toggles its body). On a narrow
 *   screen (< 700 px) every panel starts collapsed and opening one closes the others.
 * - ssGroupedLayers: Leaflet's layer control, collapsed, with a heading per group
 *   (sites / constraints / context).
 * - The legend shows a row per drawn layer, hidden while the layer is off.
 * - ssFitDefault fits the candidates, then widens the padding on the side of any
 *   panel or map control a top-site icon would fall under, until none does.
 */
"use strict";

var SS_NARROW_PX = 700;

function ssIsNarrow() { return window.innerWidth < SS_NARROW_PX; }

function ssSetOpen(section, open) {
  section.classList.toggle("ss-open", open);
  var head = section.querySelector(".ss-section-head");
  if (head) { head.setAttribute("aria-expanded", open ? "true" : "false"); }
}

function ssInitCollapsibles(root) {
  var sections = Array.prototype.slice.call(root.querySelectorAll(".ss-collapsible"));
  var narrow = ssIsNarrow();
  sections.forEach(function (section) {
    ssSetOpen(section, !narrow);
    section.querySelector(".ss-section-head").addEventListener("click", function () {
      var open = !section.classList.contains("ss-open");
      if (open && ssIsNarrow()) {
        sections.forEach(function (other) { if (other !== section) { ssSetOpen(other, false); } });
      }
      ssSetOpen(section, open);
    });
  });
}

/* Leaflet's layer control with group headings; layers listed in the order added. */
var SsGroupedLayers = L.Control.Layers.extend({
  initialize: function (groups, options) {
    L.Control.Layers.prototype.initialize.call(this, {}, {}, options);
    this._ssGroup = {};
    var self = this;
    groups.forEach(function (g) {
      g.layers.forEach(function (entry) {
        self._ssGroup[L.stamp(entry.layer)] = g.label;
        self.addOverlay(entry.layer, entry.name);
      });
    });
  },
  _update: function () {
    this._ssLast = null;
    return L.Control.Layers.prototype._update.call(this);
  },
  _addItem: function (obj) {
    var label = L.Control.Layers.prototype._addItem.call(this, obj);
    var group = this._ssGroup[L.stamp(obj.layer)];
    if (obj.overlay && group !== this._ssLast) {
      var head = L.DomUtil.create("div", "ss-layer-group");
      head.textContent = group;
      this._overlaysList.insertBefore(head, label);
      this._ssLast = group;
    }
    return label;
  }
});

function ssLegendSync(map, layersByName) {
  document.querySelectorAll(".ss-legend-row[data-layer]").forEach(function (row) {
    var layer = layersByName[row.getAttribute("data-layer")];
    row.style.display = layer && map.hasLayer(layer) ? "" : "none";
  });
}

/* Rectangles (client px) of everything drawn over the map: controls and the title. */
function ssOverlayRects() {
  var els = document.querySelectorAll(".leaflet-control, #ss-title");
  return Array.prototype.slice.call(els).map(function (el) { return el.getBoundingClientRect(); })
    .filter(function (r) { return r.width > 0 && r.height > 0; });
}

function ssIntersects(a, b, margin) {
  return a.left < b.right + margin && b.left < a.right + margin &&
    a.top < b.bottom + margin && b.top < a.bottom + margin;
}

/* The side of the map a control or panel is cheapest to keep clear of, and the padding
 * (px from that edge of `box`) that does it: [side, px], or null for a centred one. */
function ssCheapestSide(c, box) {
  var W = box.width, H = box.height, options = [];
  if (c.left - box.left < W / 2) { options.push(["l", c.right - box.left]); }
  if (box.right - c.right < W / 2) { options.push(["r", box.right - c.left]); }
  if (c.top - box.top < H / 2) { options.push(["t", c.bottom - box.top]); }
  if (box.bottom - c.bottom < H / 2) { options.push(["b", box.bottom - c.top]); }
  options.sort(function (a, b) { return a[1] - b[1]; });
  return options.length ? options[0] : null;
}

/* Padding that keeps a popup clear of every panel and control: {l, t, r, b} in px. */
function ssControlPadding(map) {
  var box = map.getContainer().getBoundingClientRect(), pad = {l: 0, t: 0, r: 0, b: 0};
  ssOverlayRects().forEach(function (c) {
    var side = ssCheapestSide(c, box);
    if (side) { pad[side[0]] = Math.max(pad[side[0]], side[1]); }
  });
  return pad;
}

/* First view: the top sites (all candidates when fewer than two), clear of every panel. */
function ssFitDefault(map, candidateBounds, sites) {
  var box = map.getContainer().getBoundingClientRect(), W = box.width, H = box.height;
  var pad = {l: 16, t: 16, r: 16, b: 16}, margin = 6, markers = sites.markers();
  var trueSites = Object.keys(markers).map(function (rank) { return markers[rank].ssTrue; });
  var bounds = trueSites.length >= 2 ? L.latLngBounds(trueSites) : candidateBounds;
  for (var round = 0; round < 8; round++) {
    if (bounds) {
      map.fitBounds(bounds, {paddingTopLeft: [pad.l, pad.t], paddingBottomRight: [pad.r, pad.b],
                             animate: false, maxZoom: 14});
    }
    sites.declutter();
    var rects = ssOverlayRects(), clash = false;
    Object.keys(markers).forEach(function (rank) {
      var el = markers[rank].getElement();
      if (!el) { return; }
      var m = el.getBoundingClientRect();
      var outside = m.left < box.left || m.top < box.top || m.right > box.right || m.bottom > box.bottom;
      rects.forEach(function (c) {
        if (!ssIntersects(m, c, margin)) { return; }
        clash = true;
        var side = ssCheapestSide(c, box);
        if (side) { pad[side[0]] = Math.max(pad[side[0]], side[1] + margin + 24); }
      });
      if (outside) {
        clash = true;
        ["l", "t", "r", "b"].forEach(function (side) { pad[side] += 16; });
      }
    });
    if (!clash) { return true; }
    if (pad.l + pad.r > W - 60 || pad.t + pad.b > H - 60) { break; }
  }
  return false;
}

/* Cap the height of the panels that grow (the left panel down, the legend up) so each
 * ends short of every other control in its column; they scroll inside. */
function ssSizePanels() {
  var gap = 8;
  var all = Array.prototype.slice.call(document.querySelectorAll(".leaflet-control"));
  function others(el) {
    var mine = el.getBoundingClientRect();
    return all.filter(function (o) { return o !== el; }).map(function (o) {
      return o.getBoundingClientRect();
    }).filter(function (r) {
      return r.width > 0 && r.height > 0 && r.left < mine.right && mine.left < r.right;
    });
  }
  var container = document.querySelector(".folium-map").getBoundingClientRect();
  var panel = document.querySelector(".ss-panel-control");
  if (panel) {
    var top = panel.getBoundingClientRect().top, limit = container.bottom;
    others(panel).forEach(function (r) { if (r.top > top) { limit = Math.min(limit, r.top); } });
    panel.style.maxHeight = Math.max(60, limit - top - gap) + "px";
  }
  var legend = document.querySelector(".ss-legend-control");
  if (legend) {
    var bottom = legend.getBoundingClientRect().bottom, above = container.top;
    var title = document.getElementById("ss-title");
    var rects = others(legend);
    if (title) {
      var t = title.getBoundingClientRect(), l = legend.getBoundingClientRect();
      if (t.left < l.right && l.left < t.right) { rects.push(t); }
    }
    rects.forEach(function (r) { if (r.bottom < bottom) { above = Math.max(above, r.bottom); } });
    legend.style.maxHeight = Math.max(40, bottom - above - gap) + "px";
  }
}

function ssLayout(opts) {
  var map = opts.map, root = document.documentElement;
  function titleOffset() {
    var title = document.getElementById("ss-title");
    var h = ssIsNarrow() && title ? title.getBoundingClientRect().bottom + 6 : 0;
    root.style.setProperty("--ss-top", h + "px");
  }
  titleOffset();
  if (ssIsNarrow() && map.attributionControl) { map.attributionControl.setPrefix(false); }
  var control = new SsGroupedLayers(opts.groups, {collapsed: true, position: "topright",
                                                  autoZIndex: false});
  control.addTo(map);
  var byName = {};
  opts.groups.forEach(function (g) {
    g.layers.forEach(function (entry) { byName[entry.id] = entry.layer; });
  });
  map.on("overlayadd overlayremove", function () { ssLegendSync(map, byName); });
  ssLegendSync(map, byName);
  ssInitCollapsibles(document);
  document.querySelectorAll(".ss-section-head").forEach(function (head) {
    head.addEventListener("click", ssSizePanels);
  });
  window.addEventListener("resize", function () { titleOffset(); ssSizePanels(); });
  ssSizePanels();
  return control;
}
