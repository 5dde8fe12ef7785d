"""In-memory road network of the demo generator: nodes, OSM-like ways, pruning."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import numpy as np
import shapely
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Way:
    """An OSM way: ordered node indices and tags.

    Attributes
    ----------
    nodes
        Node indices into :attr:`RoadNetwork.x` / :attr:`RoadNetwork.y`, in
        drawing (and, for one-way ways, travel) order.
    tags
        OSM tags.
    """

    nodes: tuple[int, ...]
    tags: dict[str, str]

    @property
    def oneway(self) -> bool:
        """Whether the way is one-way in node order."""
        return self.tags.get("oneway") == "yes"


@dataclass
class RoadNetwork:
    """Nodes (working-CRS coordinates) and ways of the synthetic road network."""

    xs: list[float] = field(default_factory=list)
    ys: list[float] = field(default_factory=list)
    ways: list[Way] = field(default_factory=list)

    def add_node(self, x: float, y: float) -> int:
        """Append a node and return its index."""
        self.xs.append(float(x))
        self.ys.append(float(y))
        return len(self.xs) - 1

    def add_nodes(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Append many nodes; return their indices."""
        start = len(self.xs)
        self.xs.extend(np.asarray(x, dtype=float).tolist())
        self.ys.extend(np.asarray(y, dtype=float).tolist())
        return np.arange(start, len(self.xs))

    def add_way(self, nodes: list[int] | tuple[int, ...], tags: dict[str, str]) -> None:
        """Append a way (ignored if it has fewer than two distinct nodes)."""
        clean = [int(n) for i, n in enumerate(nodes) if i == 0 or n != nodes[i - 1]]
        if len(clean) >= 2:
            self.ways.append(Way(tuple(clean), dict(tags)))

    def coords(self) -> np.ndarray:
        """Node coordinates as an ``(n, 2)`` array."""
        return np.column_stack([np.asarray(self.xs), np.asarray(self.ys)])

    def way_lines(self, ways: list[Way] | None = None) -> np.ndarray:
        """LineStrings (working CRS) of the given ways (default: all)."""
        ways = self.ways if ways is None else ways
        idx = np.concatenate([np.asarray(w.nodes) for w in ways])
        which = np.repeat(np.arange(len(ways)), [len(w.nodes) for w in ways])
        return shapely.linestrings(self.coords()[idx], indices=which)

    def edge_arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Directed edges implied by the ways.

        Returns
        -------
        tuple of numpy.ndarray
            ``(src, dst, way_index)``; two-way ways contribute both directions.
        """
        src: list[int] = []
        dst: list[int] = []
        wid: list[int] = []
        for k, way in enumerate(self.ways):
            a = np.asarray(way.nodes[:-1])
            b = np.asarray(way.nodes[1:])
            src.extend(a.tolist())
            dst.extend(b.tolist())
            wid.extend([k] * len(a))
            if not way.oneway:
                src.extend(b.tolist())
                dst.extend(a.tolist())
                wid.extend([k] * len(a))
        return np.asarray(src), np.asarray(dst), np.asarray(wid)

    def components(self, strong: bool) -> np.ndarray:
        """Component label of every node (weak or strong connectivity)."""
        n = len(self.xs)
        src, dst, _ = self.edge_arrays()
        graph = coo_matrix((np.ones(len(src)), (src, dst)), shape=(n, n)).tocsr()
        _, labels = connected_components(
            graph, directed=True, connection="strong" if strong else "weak"
        )
        return labels

    def prune_to_largest_component(self) -> None:
        """Keep the ways of the largest weakly connected component, drop orphan nodes.

        Nodes are renumbered in their original order, so the result is stable.
        """
        used = np.zeros(len(self.xs), dtype=bool)
        for way in self.ways:
            used[list(way.nodes)] = True
        labels = self.components(strong=False)
        counts = np.bincount(labels[used])
        best = int(np.argmax(counts))
        keep_ways = [w for w in self.ways if labels[w.nodes[0]] == best]
        dropped = len(self.ways) - len(keep_ways)
        keep = np.zeros(len(self.xs), dtype=bool)
        for way in keep_ways:
            keep[list(way.nodes)] = True
        new_id = np.cumsum(keep) - 1
        self.xs = np.asarray(self.xs)[keep].tolist()
        self.ys = np.asarray(self.ys)[keep].tolist()
        self.ways = [Way(tuple(int(new_id[n]) for n in w.nodes), w.tags) for w in keep_ways]
        log.info(
            "network pruned to %d nodes, %d ways (dropped %d ways off the main component)",
            len(self.xs),
            len(self.ways),
            dropped,
        )

    def strong_share(self) -> float:
        """Share of nodes in the largest strongly connected component."""
        labels = self.components(strong=True)
        return float(np.bincount(labels).max() / max(len(labels), 1))
