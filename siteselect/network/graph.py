"""The routing engine: one CSR matrix, multi-source searches, snapping.

A :class:`RoadGraph` holds the drivable network as a compressed sparse row
matrix of travel times in seconds (parallel edges keep the fastest), node
coordinates in the working CRS, and the edge table. Every network criterion
uses the same two searches of ``scipy.sparse.csgraph.dijkstra``:

* :meth:`RoadGraph.seconds_to_nearest` / :meth:`RoadGraph.seconds_from_nearest`:
  the time from every node to the *nearest* of many targets in ONE search
  (``min_only=True``; over the reversed matrix for "to"), never one search per
  candidate;
* :meth:`RoadGraph.travel_minutes`: many-to-many times within a cut-off,
  searching from the smaller side in batches (``indices=``, ``limit=``) and
  gathering at the other side's nodes, e.g. 1M candidates x 736 tracts is 736
  bounded searches, never a million.

Points are put on the graph by :meth:`RoadGraph.snap`: the nearest node that
can drive in the direction the point needs (see :func:`reach_masks` and
:mod:`siteselect.network.snapping`, the one snapping policy).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Literal

import networkx as nx
import numpy as np
import pandas as pd
import pyproj
from scipy.sparse import coo_matrix, csr_matrix
from scipy.sparse.csgraph import breadth_first_order, connected_components, dijkstra
from scipy.spatial import cKDTree

from siteselect._errors import NetworkError
from siteselect.network.speeds import edge_speeds_kmh, highway_class
from siteselect.network.table import RoadTable, table_from_networkx

logger = logging.getLogger(__name__)

MIN_EDGE_SECONDS = 1e-3
"""csgraph ignores explicit zeros in sparse input; zero-length edges get this time."""

BATCH_CELLS = 2**25
"""Dense search results kept at once by :meth:`RoadGraph.travel_minutes` (256 MB of float64)."""

Direction = Literal["depart", "arrive", "both"]
"""Which way a snapped point must drive: leave it (``depart``: an origin), be reached
at it (``arrive``: a destination) or both (``both``)."""


@dataclass(frozen=True)
class TravelTimes:
    """Drive times between origins and destinations within a cut-off, as sparse pairs.

    Pairs beyond the cut-off (or unreachable) are absent; a pair at the same
    node is present with 0 minutes. Reduce with e.g.
    ``np.bincount(t.origin, weights=pop[t.destination] * decay(t.minutes))``.

    Attributes
    ----------
    origin, destination : numpy.ndarray of int64
        Positions into the ``origins`` / ``destinations`` arrays given.
    minutes : numpy.ndarray of float32
        Drive time of each pair.
    shape : (int, int)
        ``(len(origins), len(destinations))``.
    """

    origin: np.ndarray
    destination: np.ndarray
    minutes: np.ndarray
    shape: tuple[int, int]

    def to_dense(self, fill: float = np.inf) -> np.ndarray:
        """A dense ``shape`` float64 array, ``fill`` where no pair is within the cut-off."""
        out = np.full(self.shape, fill, dtype="float64")
        out[self.origin, self.destination] = self.minutes
        return out


@dataclass
class RoadGraph:
    """A drivable road network ready for vectorised shortest-path searches.

    Attributes
    ----------
    node_ids : numpy.ndarray
        OSM node id per matrix index.
    lon, lat : numpy.ndarray
        Node coordinates in degrees (EPSG:4326).
    x, y : numpy.ndarray
        Node coordinates in the working CRS (metres).
    edges : pandas.DataFrame
        One row per directed edge: ``u``, ``v`` (matrix indices), ``highway``,
        ``length_m``, ``speed_kmh``, ``travel_s``, ``name``, ``ref``.
    matrix : scipy.sparse.csr_matrix
        ``matrix[u, v]`` = fastest travel time in seconds from u to v.
    in_main : numpy.ndarray of bool
        Nodes of the largest strongly connected component (the *main* network).
    crs : pyproj.CRS
        Working CRS of ``x``/``y``.
    diagnostics : dict
        What the reader found and did with the input (JSON-serialisable; set
        by :func:`siteselect.network.load.load_road_graph`, kept in the cache).
    """

    node_ids: np.ndarray
    lon: np.ndarray
    lat: np.ndarray
    x: np.ndarray
    y: np.ndarray
    edges: pd.DataFrame
    matrix: csr_matrix
    in_main: np.ndarray
    crs: pyproj.CRS
    diagnostics: dict[str, Any] = field(default_factory=dict, repr=False)
    _reverse: csr_matrix | None = field(default=None, repr=False)
    _trees: dict[str, tuple[np.ndarray, cKDTree]] = field(default_factory=dict, repr=False)
    _reach: dict[str, np.ndarray] = field(default_factory=dict, repr=False)
    contractions: dict[float, Any] = field(default_factory=dict, repr=False)
    """Contractions shared by every search over this graph (see
    :func:`siteselect.network.contract.shared_contraction`), by ``min_share``."""

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

    def routable(self, direction: Direction | Literal["any"] = "both") -> np.ndarray:
        """Boolean mask of the nodes a point needing ``direction`` may snap to.

        ``depart``: nodes that can reach the main network (so every ``arrive``
        node); ``arrive``: nodes the main network reaches; ``both``: the main
        network (largest strongly connected component) itself; ``any``: every
        node. See :func:`reach_masks`.
        """
        if direction == "both":
            return self.in_main
        if direction == "any":
            return np.ones(self.n_nodes, dtype=bool)
        if not self._reach:
            self._reach["depart"], self._reach["arrive"] = reach_masks(self.matrix, self.in_main)
        return self._reach[direction]

    def snap(
        self, x: np.ndarray, y: np.ndarray, direction: Direction | Literal["any"] = "both"
    ) -> tuple[np.ndarray, np.ndarray]:
        """Nearest node among :meth:`routable` ``(direction)`` for each point (KD-tree).

        Parameters
        ----------
        x, y : numpy.ndarray
            Points in the working CRS.
        direction : {"both", "depart", "arrive", "any"}
            Which nodes qualify (default: the main network).

        Returns
        -------
        (node_index, distance_m)
        """
        if direction not in self._trees:
            nodes = np.flatnonzero(self.routable(direction))
            self._trees[direction] = (
                nodes,
                cKDTree(np.column_stack([self.x[nodes], self.y[nodes]])),
            )
        nodes, tree = self._trees[direction]
        distance, position = tree.query(np.column_stack([x, y]), k=1, workers=-1)
        return nodes[position], distance

    def nearest_target(
        self, targets: np.ndarray, offset_s: np.ndarray | None = None, *, reverse: bool = True
    ) -> tuple[np.ndarray, np.ndarray]:
        """Travel time (s) between every node and its nearest target, and which target.

        One multi-source Dijkstra: over the reversed graph (times *to* the
        targets) unless ``reverse`` is False (times *from* them). With
        ``offset_s`` (a target's connector time) each target gets a virtual
        node joined to its road node by an edge of that time, so the nearest
        target counts its own connector exactly.

        Returns
        -------
        (seconds, target)
            ``target`` is a position into ``targets`` (-1 where unreachable).
        """
        targets = np.asarray(targets, dtype=np.int64)
        if targets.size == 0:
            raise NetworkError("no target nodes to route to")
        matrix = self.reverse if reverse else self.matrix
        if offset_s is None:
            unique = np.unique(targets)
            seconds, _, source = dijkstra(
                matrix, directed=True, indices=unique, min_only=True, return_predecessors=True
            )
            first = np.full(self.n_nodes, -1, dtype=np.int64)
            first[targets[::-1]] = np.arange(len(targets))[::-1]  # first target at a node wins
            which = np.where(source >= 0, first[np.maximum(source, 0)], -1)
            return seconds, which
        n, k = self.n_nodes, len(targets)
        joined = coo_matrix(
            (
                np.maximum(np.asarray(offset_s, dtype="float64"), MIN_EDGE_SECONDS),
                (np.arange(n, n + k), targets),
            ),
            shape=(n + k, n + k),
        )
        grown = coo_matrix(matrix)
        augmented = csr_matrix(
            (
                np.concatenate([grown.data, joined.data]),
                (np.concatenate([grown.row, joined.row]), np.concatenate([grown.col, joined.col])),
            ),
            shape=(n + k, n + k),
        )
        seconds, _, source = dijkstra(
            augmented,
            directed=True,
            indices=np.arange(n, n + k),
            min_only=True,
            return_predecessors=True,
        )
        return seconds[:n], np.where(source[:n] >= 0, source[:n] - n, -1)

    def seconds_to_nearest(
        self, targets: np.ndarray, offset_s: np.ndarray | None = None
    ) -> np.ndarray:
        """Travel time (s) from every node to its nearest target (inf if unreachable).

        One multi-source Dijkstra over the reversed graph; ``offset_s`` adds
        each target's own connector time (see :meth:`nearest_target`).
        """
        if offset_s is not None:
            return self.nearest_target(targets, offset_s)[0]
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

    def iter_seconds(
        self, sources: np.ndarray, *, reverse: bool, max_minutes: float, batch_size: int
    ) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """Bounded single-source searches in batches.

        Yields
        ------
        (positions, seconds)
            ``positions`` into ``sources``; ``seconds[k, n]`` is the time from
            ``sources[positions[k]]`` to node n (to it from n when ``reverse``),
            inf beyond ``max_minutes``.
        """
        matrix = self.reverse if reverse else self.matrix
        sources = np.asarray(sources, dtype=np.int64)
        for start in range(0, len(sources), batch_size):
            positions = np.arange(start, min(start + batch_size, len(sources)))
            unique, inverse = np.unique(sources[positions], return_inverse=True)
            seconds = dijkstra(matrix, directed=True, indices=unique, limit=max_minutes * 60.0)
            yield positions, seconds[inverse]

    def travel_minutes(
        self,
        origins: np.ndarray,
        destinations: np.ndarray,
        max_minutes: float,
        *,
        batch_size: int | None = None,
    ) -> TravelTimes:
        """Drive minutes from each origin node to each destination node within a cut-off.

        Searches run from whichever side has fewer distinct nodes (forward from
        origins, or over the reversed graph from destinations) in batches of
        ``batch_size`` bounded searches, and gather at the other side's nodes.

        Parameters
        ----------
        origins, destinations : numpy.ndarray of int
            Matrix indices (e.g. from :meth:`snap`); repeats allowed.
        max_minutes : float
            Cut-off: pairs farther apart are left out (and not searched beyond).
        batch_size : int, optional
            Searches per batch; default keeps a batch near 256 MB.

        Returns
        -------
        TravelTimes
        """
        origins = np.asarray(origins, dtype=np.int64)
        destinations = np.asarray(destinations, dtype=np.int64)
        if max_minutes < 0 or not np.isfinite(max_minutes):
            raise ValueError(f"max_minutes must be a finite number >= 0, got {max_minutes}")
        from_destinations = np.unique(destinations).size <= np.unique(origins).size
        sources, gather = (destinations, origins) if from_destinations else (origins, destinations)
        if batch_size is None:
            batch_size = max(1, BATCH_CELLS // max(self.n_nodes, len(gather), 1))
        parts: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
        for positions, seconds in self.iter_seconds(
            sources, reverse=from_destinations, max_minutes=max_minutes, batch_size=batch_size
        ):
            at = seconds[:, gather]
            row, column = np.nonzero(np.isfinite(at))
            parts.append((positions[row], column, (at[row, column] / 60.0).astype("float32")))
        source_pos = np.concatenate([p[0] for p in parts]) if parts else np.empty(0, np.int64)
        gather_pos = np.concatenate([p[1] for p in parts]) if parts else np.empty(0, np.int64)
        minutes = np.concatenate([p[2] for p in parts]) if parts else np.empty(0, np.float32)
        origin, destination = (
            (gather_pos, source_pos) if from_destinations else (source_pos, gather_pos)
        )
        return TravelTimes(
            origin=origin.astype(np.int64),
            destination=destination.astype(np.int64),
            minutes=minutes,
            shape=(len(origins), len(destinations)),
        )


def _categorical(way_values: np.ndarray, way: np.ndarray, fill: str) -> pd.Categorical:
    """Per-edge categorical of a way tag; ``fill`` where the way has none.

    The tags are normalised by :class:`RoadTable` (None or non-empty text), so
    ``fill`` marks exactly the absent ones. Consumers must not assign new
    values into these categoricals (pandas refuses new categories): convert
    with ``.astype(object)`` first.
    """
    text = np.array([fill if v is None else str(v) for v in way_values], dtype=object)
    codes, uniques = pd.factorize(text)
    return pd.Categorical.from_codes(codes[way], categories=pd.Index(uniques, dtype=object))


def edge_frame(table: RoadTable, speeds_kmh: dict[str, float] | None = None) -> pd.DataFrame:
    """The edge table of a :class:`RoadTable` with speeds and travel times.

    Speeds come from each way's ``maxspeed``, else the highway class default
    (:func:`~siteselect.network.speeds.edge_speeds_kmh`). ``highway``,
    ``name`` and ``ref`` are categoricals; ``name`` and ``ref`` are ``""``
    where the way has none (``highway`` is ``"road"``).
    """
    way_highway = np.array([highway_class(h) for h in table.way_highway], dtype=object)
    way_speed = edge_speeds_kmh(table.way_maxspeed, way_highway, speeds_kmh)
    speed = way_speed[table.way]
    travel_s = np.maximum(table.length_m / (speed / 3.6), MIN_EDGE_SECONDS)
    return pd.DataFrame(
        {
            "u": table.u,
            "v": table.v,
            "highway": _categorical(way_highway, table.way, "road"),
            "length_m": table.length_m,
            "speed_kmh": speed,
            "travel_s": travel_s,
            "name": _categorical(table.way_name, table.way, ""),
            "ref": _categorical(table.way_ref, table.way, ""),
        }
    )


def fastest_matrix(u: np.ndarray, v: np.ndarray, seconds: np.ndarray, n: int) -> csr_matrix:
    """CSR matrix of travel seconds; among parallel edges the fastest; no self-loops."""
    key = u * np.int64(n) + v
    order = np.lexsort((seconds, key))
    first = np.ones(len(order), dtype=bool)
    first[1:] = key[order][1:] != key[order][:-1]
    keep = order[first]
    keep = keep[u[keep] != v[keep]]
    return csr_matrix((seconds[keep], (u[keep], v[keep])), shape=(n, n))


def main_component(matrix: csr_matrix) -> np.ndarray:
    """Boolean mask of the largest strongly connected component."""
    _, labels = connected_components(matrix, directed=True, connection="strong")
    return labels == np.bincount(labels).argmax()


def reach_masks(matrix: csr_matrix, in_main: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Nodes that can reach the main component, and nodes it reaches.

    Two breadth-first searches from one node of the main (strongly connected)
    component, over the reversed and the forward graph. A node of the first
    set reaches every node of the second (through the main component), so an
    origin snapped to the first and a destination snapped to the second always
    have a route; their intersection is the main component.

    Returns
    -------
    (reaches_main, reached_from_main)
        Boolean masks.
    """
    n = matrix.shape[0]
    reaches, reached = np.zeros(n, dtype=bool), np.zeros(n, dtype=bool)
    main = np.flatnonzero(in_main)
    if main.size == 0:
        return reaches, reached
    seed = int(main[0])
    reached[breadth_first_order(matrix, seed, directed=True, return_predecessors=False)] = True
    backward = matrix.T.tocsr()
    reaches[breadth_first_order(backward, seed, directed=True, return_predecessors=False)] = True
    return reaches, reached


def assemble_graph(
    node_ids: np.ndarray,
    lon: np.ndarray,
    lat: np.ndarray,
    edges: pd.DataFrame,
    crs: pyproj.CRS,
    *,
    matrix: csr_matrix | None = None,
    in_main: np.ndarray | None = None,
) -> RoadGraph:
    """A :class:`RoadGraph` from node and edge arrays; matrix and component computed if absent."""
    n = len(node_ids)
    to_crs = pyproj.Transformer.from_crs("EPSG:4326", crs, always_xy=True)
    x, y = to_crs.transform(lon, lat)
    if matrix is None:
        matrix = fastest_matrix(
            edges["u"].to_numpy(), edges["v"].to_numpy(), edges["travel_s"].to_numpy(), n
        )
    if in_main is None:
        in_main = main_component(matrix)
    logger.info(
        "routing graph: %d nodes, %d edges; main network (largest strongly connected "
        "component) %d nodes (%.1f%%)",
        n,
        matrix.nnz,
        int(in_main.sum()),
        100.0 * in_main.mean(),
    )
    return RoadGraph(
        node_ids=np.asarray(node_ids, dtype=np.int64),
        lon=np.asarray(lon, dtype="float64"),
        lat=np.asarray(lat, dtype="float64"),
        x=np.asarray(x),
        y=np.asarray(y),
        edges=edges,
        matrix=matrix,
        in_main=in_main,
        crs=crs,
    )


def build_road_graph(
    source: RoadTable | nx.MultiDiGraph,
    crs: pyproj.CRS,
    speeds_kmh: dict[str, float] | None = None,
) -> RoadGraph:
    """Build the routing graph of a road network.

    Parameters
    ----------
    source : RoadTable or networkx.MultiDiGraph
        A table from the readers, or an osmnx graph (node x/y in degrees).
    crs : pyproj.CRS
        Working CRS for node coordinates.
    speeds_kmh : dict, optional
        Per-highway-class default speeds overriding the built-in ones.

    Raises
    ------
    NetworkError
        The network has no nodes.
    """
    table = table_from_networkx(source) if isinstance(source, nx.Graph) else source
    if table.n_nodes == 0:
        raise NetworkError("the road network has no nodes")
    edges = edge_frame(table, speeds_kmh)
    return assemble_graph(table.node_ids, table.lon, table.lat, edges, crs)
