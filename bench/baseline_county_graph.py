"""The expert baseline's road graph: OSM PBF -> CSR matrix of seconds (its own cache).

Part of the expert baseline (:mod:`bench.baseline_county`): no siteselect
imports. What an expert writes once and caches, as siteselect caches its graph:
pyosmium reads the drivable ways with node locations, nodes are projected to
the working CRS (pyproj), each edge gets the way's ``maxspeed`` (``"65 mph"``,
``"40"``; the lowest of a ``;`` list) or a per-class default, one-way ways go
one way, parallel edges keep the fastest; then the largest strongly connected
component and the freeway entrances (nodes where a ``motorway_link`` edge ends
and a ``motorway`` edge starts) are stored with the CSR arrays in one ``.npz``.

Run: ``python -m bench.baseline_county_graph ROADS.osm.pbf OUT.npz [--crs EPSG:32611]``.
"""

from __future__ import annotations

import argparse
import itertools
import re
from pathlib import Path

import numpy as np
import osmium
import pyproj
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import connected_components

DRIVABLE = {
    "motorway", "motorway_link", "trunk", "trunk_link", "primary", "primary_link",
    "secondary", "secondary_link", "tertiary", "tertiary_link", "unclassified",
    "residential", "living_street", "road",
}  # fmt: skip
DEFAULT_KMH = {
    "motorway": 105, "motorway_link": 56, "trunk": 88, "trunk_link": 48, "primary": 72,
    "primary_link": 48, "secondary": 64, "secondary_link": 40, "tertiary": 56,
    "tertiary_link": 40, "unclassified": 48, "residential": 40, "living_street": 16, "road": 40,
}  # fmt: skip
CLASSES = sorted(DRIVABLE)
_SPEED = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(mph)?\s*$")


def speed_kmh(maxspeed: str | None, highway: str) -> float:
    """``maxspeed`` in km/h (lowest of a list), else the class default."""
    speeds = []
    for part in (maxspeed or "").split(";"):
        match = _SPEED.match(part)
        if match:
            value = float(match.group(1)) * (1.609344 if match.group(2) else 1.0)
            if 0 < value <= 200:
                speeds.append(value)
    return min(speeds) if speeds else float(DEFAULT_KMH.get(highway, 40))


def read_ways(path: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Directed edges of the drivable ways, and the nodes they use.

    Returns
    -------
    (osm_u, osm_v, kmh, highway_code, nodes)
        OSM node ids of both ends, speed (km/h) and class (index into
        :data:`CLASSES`) per edge; ``nodes`` rows of (OSM id, lon, lat).
    """
    us, vs, kmh, codes = [], [], [], []
    nodes: dict[int, tuple[float, float]] = {}
    for way in osmium.FileProcessor(str(path)).with_locations():
        if not way.is_way():
            continue
        highway = way.tags.get("highway")
        if highway not in DRIVABLE:
            continue
        refs = [n.ref for n in way.nodes]
        for n in way.nodes:
            nodes[n.ref] = (n.lon, n.lat)
        oneway = way.tags.get("oneway", "yes" if highway == "motorway" else "no")
        speed = speed_kmh(way.tags.get("maxspeed"), highway)
        pairs = list(itertools.pairwise(refs))
        if oneway == "-1":
            pairs = [(b, a) for a, b in pairs]
        elif oneway not in ("yes", "true", "1"):
            pairs += [(b, a) for a, b in pairs]
        for a, b in pairs:
            us.append(a)
            vs.append(b)
        kmh.extend([speed] * len(pairs))
        codes.extend([CLASSES.index(highway)] * len(pairs))
    table = np.array([(k, lon, lat) for k, (lon, lat) in nodes.items()], dtype="float64")
    return np.array(us), np.array(vs), np.array(kmh), np.array(codes, dtype=np.int8), table


def build(path: Path, out: Path, crs: str = "EPSG:32611") -> dict[str, int]:
    """Read ``path``, build the graph and write it to ``out`` (``.npz``)."""
    osm_u, osm_v, kmh, codes, table = read_ways(path)
    node_ids = table[:, 0].astype(np.int64)
    order = np.argsort(node_ids)
    node_ids = node_ids[order]
    to_xy = pyproj.Transformer.from_crs("EPSG:4326", crs, always_xy=True)
    x, y = to_xy.transform(table[order, 1], table[order, 2])
    u = np.searchsorted(node_ids, osm_u)
    v = np.searchsorted(node_ids, osm_v)
    seconds = np.hypot(x[u] - x[v], y[u] - y[v]) / (kmh / 3.6)
    fastest = np.lexsort((seconds, v, u))  # per (u, v) the fastest first
    keep = fastest[np.r_[True, (np.diff(u[fastest]) != 0) | (np.diff(v[fastest]) != 0)]]
    n = len(node_ids)
    graph = csr_matrix((seconds[keep], (u[keep], v[keep])), shape=(n, n))
    _, labels = connected_components(graph, directed=True, connection="strong")
    main = labels == np.bincount(labels).argmax()
    ramp_end = v[codes == CLASSES.index("motorway_link")]
    freeway_start = u[codes == CLASSES.index("motorway")]
    entrances = np.intersect1d(ramp_end, freeway_start)
    np.savez(
        out, x=x, y=y, main=main, entrances=entrances,
        indptr=graph.indptr, indices=graph.indices, data=graph.data,
    )  # fmt: skip
    return {"nodes": n, "edges": int(graph.nnz), "entrances": len(entrances)}


def main() -> None:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("roads", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("--crs", default="EPSG:32611")
    args = parser.parse_args()
    print(build(args.roads, args.out, args.crs))


if __name__ == "__main__":
    main()
