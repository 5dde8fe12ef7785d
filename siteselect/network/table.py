"""A road network as flat arrays: the common form of every input.

Readers (pyosmium for OSM XML/PBF, osmnx for GraphML and online downloads)
produce a :class:`RoadTable`; :func:`siteselect.network.graph.build_road_graph`
turns it into the routing matrix. Way-level tags (``highway``, ``maxspeed``,
``name``, ``ref``) are stored once per way and referenced by each of the way's
directed edges, which keeps a county-scale network in a few hundred megabytes.
"""

from __future__ import annotations

from dataclasses import dataclass

import networkx as nx
import numpy as np

EARTH_RADIUS_M = 6_371_009.0
"""Mean earth radius used by osmnx for edge lengths."""


@dataclass
class RoadTable:
    """Directed road edges between OSM nodes, unprojected (EPSG:4326).

    Attributes
    ----------
    node_ids : numpy.ndarray of int64
        OSM node id per node index.
    lon, lat : numpy.ndarray of float64
        Node coordinates in degrees.
    u, v : numpy.ndarray of int64
        Node indices of each directed edge (drivable from u to v).
    length_m : numpy.ndarray of float64
        Great-circle length of each edge in metres.
    way : numpy.ndarray of int64
        Index of each edge's way into the ``way_*`` arrays.
    way_highway, way_maxspeed, way_name, way_ref : numpy.ndarray of object
        Tags per way (None where absent; ``way_maxspeed`` raw as in OSM).
    """

    node_ids: np.ndarray
    lon: np.ndarray
    lat: np.ndarray
    u: np.ndarray
    v: np.ndarray
    length_m: np.ndarray
    way: np.ndarray
    way_highway: np.ndarray
    way_maxspeed: np.ndarray
    way_name: np.ndarray
    way_ref: np.ndarray

    @property
    def n_nodes(self) -> int:
        """Number of nodes."""
        return len(self.node_ids)

    @property
    def n_edges(self) -> int:
        """Number of directed edges."""
        return len(self.u)


def great_circle_m(
    lat1: np.ndarray, lon1: np.ndarray, lat2: np.ndarray, lon2: np.ndarray
) -> np.ndarray:
    """Haversine distance in metres (the formula osmnx uses for edge lengths)."""
    y1, y2 = np.deg2rad(lat1), np.deg2rad(lat2)
    d_lambda = np.deg2rad(np.asarray(lon2) - np.asarray(lon1))
    h = np.sin((y2 - y1) / 2) ** 2 + np.cos(y1) * np.cos(y2) * np.sin(d_lambda / 2) ** 2
    return 2 * np.arcsin(np.sqrt(np.minimum(1.0, h))) * EARTH_RADIUS_M


def _as_object(values: list[object]) -> np.ndarray:
    out = np.empty(len(values), dtype=object)
    out[:] = values
    return out


def table_from_networkx(graph: nx.MultiDiGraph) -> RoadTable:
    """Flatten an osmnx MultiDiGraph (node ``x``/``y`` in degrees) into a :class:`RoadTable`.

    Each edge becomes its own "way"; an edge without ``length`` gets its
    straight great-circle length.
    """
    nodes = list(graph.nodes)
    index = {n: i for i, n in enumerate(nodes)}
    lon = np.array([graph.nodes[n]["x"] for n in nodes], dtype="float64")
    lat = np.array([graph.nodes[n]["y"] for n in nodes], dtype="float64")
    rows = list(graph.edges(data=True))
    u = np.fromiter((index[a] for a, _, _ in rows), dtype=np.int64, count=len(rows))
    v = np.fromiter((index[b] for _, b, _ in rows), dtype=np.int64, count=len(rows))
    length = np.array([float(d.get("length", np.nan) or np.nan) for _, _, d in rows])
    straight = great_circle_m(lat[u], lon[u], lat[v], lon[v])
    length = np.where(np.isfinite(length), length, straight)

    def column(key: str) -> np.ndarray:
        return _as_object([d.get(key) for _, _, d in rows])

    return RoadTable(
        node_ids=np.asarray(nodes, dtype=np.int64),
        lon=lon,
        lat=lat,
        u=u,
        v=v,
        length_m=length,
        way=np.arange(len(rows), dtype=np.int64),
        way_highway=column("highway"),
        way_maxspeed=column("maxspeed"),
        way_name=column("name"),
        way_ref=column("ref"),
    )


def table_to_networkx(table: RoadTable) -> nx.MultiDiGraph:
    """An osmnx-style MultiDiGraph of a :class:`RoadTable` (for GraphML and checks)."""
    graph = nx.MultiDiGraph(crs="epsg:4326")
    graph.add_nodes_from(
        (int(n), {"x": float(x), "y": float(y)})
        for n, x, y in zip(table.node_ids, table.lon, table.lat, strict=True)
    )
    for u, v, length, way in zip(table.u, table.v, table.length_m, table.way, strict=True):
        data = {"length": float(length), "highway": table.way_highway[way]}
        for key, values in (
            ("maxspeed", table.way_maxspeed),
            ("name", table.way_name),
            ("ref", table.way_ref),
        ):
            if values[way] is not None:
                data[key] = values[way]
        graph.add_edge(int(table.node_ids[u]), int(table.node_ids[v]), **data)
    return graph
