"""Minimal, deterministic OSM XML 0.6 writer for the synthetic road network."""

from __future__ import annotations

import logging
from pathlib import Path
from xml.sax.saxutils import quoteattr

import numpy as np

from siteselect.demo.common import work_to_lonlat
from siteselect.demo.network import RoadNetwork

log = logging.getLogger(__name__)

GENERATOR = "siteselect demo-data"


def write_osm(
    net: RoadNetwork, path: Path, bounds: tuple[float, float, float, float]
) -> tuple[int, int]:
    """Write the network as OSM XML 0.6.

    Node ids are 1-based positions in ``net``; way ids are 1-based way
    positions. Coordinates have 7 decimals; tags are sorted by key.

    Parameters
    ----------
    net
        Road network in the working CRS.
    path
        Output ``.osm`` file.
    bounds
        ``(west, south, east, north)`` in degrees for the ``<bounds>`` element.

    Returns
    -------
    tuple of int
        ``(n_nodes, n_ways)`` written.
    """
    lon, lat = work_to_lonlat(np.asarray(net.xs), np.asarray(net.ys))
    west, south, east, north = bounds
    lines = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        f'<osm version="0.6" generator="{GENERATOR}">',
        f' <bounds minlat="{south:.7f}" minlon="{west:.7f}" maxlat="{north:.7f}" '
        f'maxlon="{east:.7f}"/>',
    ]
    lines.extend(
        f' <node id="{k + 1}" lat="{la:.7f}" lon="{lo:.7f}"/>'
        for k, (la, lo) in enumerate(zip(lat.tolist(), lon.tolist(), strict=True))
    )
    for k, way in enumerate(net.ways):
        lines.append(f' <way id="{k + 1}">')
        lines.extend(f'  <nd ref="{n + 1}"/>' for n in way.nodes)
        lines.extend(
            f"  <tag k={quoteattr(key)} v={quoteattr(way.tags[key])}/>" for key in sorted(way.tags)
        )
        lines.append(" </way>")
    lines.append("</osm>")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    log.info("wrote %s: %d nodes, %d ways", path.name, len(lon), len(net.ways))
    return len(lon), len(net.ways)
