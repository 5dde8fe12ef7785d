"""The routing engine: one CSR matrix, multi-source searches, snapping.

A :class:`RoadGraph` holds the drivable network as a compressed sparse row
matrix of travel times in seconds (parallel edges keep the fastest), node
coordinates in the working CRS, and the edge table. Searches use
``scipy.sparse.csgraph.dijkstra`` with ``min_only=True``: the time from every
node to the *nearest* of many targets is ONE search over the reversed graph,
never one search per candidate.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import networkx as nx
import numpy as np
import pandas as pd
import pyproj
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import connected_components, dijkstra
from scipy.spatial import cKDTree

from siteselect._errors import NetworkError
from siteselect.network.speeds import edge_speeds_kmh, highway_class

logger = logging.getLogger(__name__)

MIN_EDGE_SECONDS = 1e-3
"""csgraph ignores explicit zeros in sparse input; zero-length edges get this time."""


@dataclass
class RoadGraph:
    """A drivable road network ready for vectorised shortest-path searches.

    Attributes
    ----------
    node_ids : numpy.ndarray
        OSM node id per matrix index.
    x, y : numpy.ndarray
        Node coordinates in the working CRS (metres).
    edges : pandas.DataFrame
        One row per directed edge: ``u``, ``v`` (matrix indices), ``highway``,
        ``length_m``, ``speed_kmh``, ``travel_s``, ``name``, ``ref``.
    matrix : scipy.sparse.csr_matrix
        ``matrix[u, v]`` = fastest travel time in seconds from u to v.
    in_main : numpy.ndarray of bool
        Nodes of the largest strongly connected component.
    crs : pyproj.CRS
        Working CRS of ``x``/``y``.
    """

    node_ids: np.ndarray
    x: np.ndarray
    y: np.ndarray
    edges: pd.DataFrame
    matrix: csr_matrix
    in_main: np.ndarray
    crs: pyproj.CRS
    _reverse: csr_matrix | None = field(default=None, repr=False)
    _tree: cKDTree | None = field(default=None, repr=False)

    @property
    def n_nodes(self) -> int:
        """Number of nodes."""
        return len(self.node_ids)

    @property
    def reverse(self) -> csr_matrix:
        """The transposed matrix (travel times along reversed edges), built once."""
        if self._reverse is None:
            self._reverse = self.matrix.T.tocsr()
        return self._reverse

    def snap(self, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Nearest node of the main component for each point (KD-tree).

        Returns
        -------
        (node_index, distance_m)
        """
        main = np.flatnonzero(self.in_main)
        if self._tree is None:
            self._tree = cKDTree(np.column_stack([self.x[main], self.y[main]]))
        distance, position = self._tree.query(np.column_stack([x, y]), k=1)
        return main[position], distance

    def seconds_to_nearest(self, targets: np.ndarray) -> np.ndarray:
        """Travel time (s) from every node to its nearest target (inf if unreachable).

        One multi-source Dijkstra over the reversed graph.
        """
        targets = np.unique(np.asarray(targets, dtype=np.int64))
        if targets.size == 0:
            raise NetworkError("no target nodes to route to")
        return dijkstra(self.reverse, directed=True, indices=targets, min_only=True)

    def seconds_from_nearest(self, sources: np.ndarray) -> np.ndarray:
        """Travel time (s) to every node from its nearest source (inf if unreachable)."""
        sources = np.unique(np.asarray(sources, dtype=np.int64))
        if sources.size == 0:
            raise NetworkError("no source nodes to route from")
        return dijkstra(self.matrix, directed=True, indices=sources, min_only=True)


def _edge_table(graph: nx.MultiDiGraph, index: dict[int, int]) -> pd.DataFrame:
    rows = list(graph.edges(data=True))
    u = np.fromiter((index[a] for a, _, _ in rows), dtype=np.int64, count=len(rows))
    v = np.fromiter((index[b] for _, b, _ in rows), dtype=np.int64, count=len(rows))

    def column(key: str) -> list[object]:
        return [d.get(key) for _, _, d in rows]

    highway = [highway_class(h) for h in column("highway")]
    length = np.array([float(d.get("length", 0.0) or 0.0) for _, _, d in rows])
    return pd.DataFrame(
        {
            "u": u,
            "v": v,
            "highway": highway,
            "length_m": length,
            "maxspeed": column("maxspeed"),
            "name": [str(n) if n is not None else "" for n in column("name")],
            "ref": [str(r) if r is not None else "" for r in column("ref")],
        }
    )


def build_road_graph(
    graph: nx.MultiDiGraph, crs: pyproj.CRS, speeds_kmh: dict[str, float] | None = None
) -> RoadGraph:
    """Turn an osmnx MultiDiGraph (EPSG:4326 node x/y) into a :class:`RoadGraph`.

    Parameters
    ----------
    graph : networkx.MultiDiGraph
        Unsimplified or simplified osmnx graph, unprojected.
    crs : pyproj.CRS
        Working CRS for node coordinates.
    speeds_kmh : dict, optional
        Per-highway-class default speeds overriding the built-in ones.
    """
    nodes = list(graph.nodes)
    if not nodes:
        raise NetworkError("the road network has no nodes")
    index = {n: i for i, n in enumerate(nodes)}
    lon = np.array([graph.nodes[n]["x"] for n in nodes], dtype="float64")
    lat = np.array([graph.nodes[n]["y"] for n in nodes], dtype="float64")
    to_crs = pyproj.Transformer.from_crs("EPSG:4326", crs, always_xy=True)
    x, y = to_crs.transform(lon, lat)
    edges = _edge_table(graph, index)
    edges["speed_kmh"] = edge_speeds_kmh(edges["maxspeed"], edges["highway"], speeds_kmh)
    edges["travel_s"] = np.maximum(edges["length_m"] / (edges["speed_kmh"] / 3.6), MIN_EDGE_SECONDS)
    edges = edges.drop(columns="maxspeed")
    fastest = edges.sort_values("travel_s", kind="stable").drop_duplicates(["u", "v"])
    n = len(nodes)
    matrix = csr_matrix(
        (fastest["travel_s"].to_numpy(), (fastest["u"].to_numpy(), fastest["v"].to_numpy())),
        shape=(n, n),
    )
    _, labels = connected_components(matrix, directed=True, connection="strong")
    largest = np.bincount(labels).argmax()
    in_main = labels == largest
    logger.info(
        "routing graph: %d nodes, %d edges; largest strongly connected component %d nodes (%.1f%%)",
        n,
        len(fastest),
        int(in_main.sum()),
        100.0 * in_main.mean(),
    )
    return RoadGraph(
        node_ids=np.asarray(nodes, dtype=np.int64),
        x=np.asarray(x),
        y=np.asarray(y),
        edges=edges.reset_index(drop=True),
        matrix=matrix,
        in_main=in_main,
        crs=crs,
    )
