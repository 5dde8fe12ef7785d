"""Exact contraction of degree-2 chains for faster bounded searches.

Most nodes of an OSM road network are shape points: a node in the middle of a
street with exactly two neighbours. A shortest path that enters such a chain
of shape points leaves it at the other end (weights are positive), so the
chain can be replaced by one edge between its two ends with the sum of its
weights, and every shortest-path time between the remaining **core** nodes is
unchanged. A shape node's time from any source is then the smaller of
"time to the chain end it is entered from + the chain's time from that end to
it" over its (one or two) entry directions, which :meth:`Contraction.seconds_at`
computes from a search over the core.

A node is contracted when it is not *protected* (search sources must stay in
the core) and either

* two-way: its two distinct neighbours a, b are linked to it in both
  directions (a <-> s <-> b), or
* one-way through: one in-edge from a and one out-edge to b, a != b.

Anything else (junctions, dead ends, mixed one-way/two-way) stays in the core.
Chain sums are formed by pointer doubling over the edges (vectorised); a ring
made only of shape nodes keeps its nodes in the core.

The result is exact: times differ from a search over the full graph only by
floating-point summation order (~1e-15 relative).

The core is numbered along a Z-order (Morton) curve of the node coordinates,
so nodes near each other on the map are near each other in memory: a search
then touches few cache lines (on a road graph numbered by OSM id, 2x faster
than the input order). Times do not depend on the numbering.

:func:`shared_contraction` keeps one contraction per road graph (on the
graph) for every criterion: it is rebuilt only when a search needs a source
its core does not keep, then protecting the sources of both.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.sparse import csr_matrix

from siteselect.network.graph import RoadGraph, fastest_matrix

logger = logging.getLogger(__name__)

MIN_SHARE = 0.0
"""Contract only when at least this share of the nodes would go (by default always)."""
MORTON_BITS = 16
"""Bits per axis of the Z-order key the core is numbered by."""


@dataclass(frozen=True)
class Contraction:
    """A road graph with its degree-2 chains contracted.

    Attributes
    ----------
    graph : RoadGraph
        The core graph (its ``matrix`` over core positions); searches run on it.
    core : numpy.ndarray of int64
        Original node index of each core position.
    position : numpy.ndarray of int64
        Core position of each original node (-1 where contracted).
    via : numpy.ndarray of int64, shape (2, n_nodes)
        Core positions each original node is entered from (a core node: itself twice;
        a one-way shape node: the same chain start twice).
    via_s : numpy.ndarray of float64, shape (2, n_nodes)
        Seconds from ``via`` to the node along its chain (0 for core nodes).
    two_way : numpy.ndarray of bool
        Contracted nodes entered from both directions of their chain.
    protected : numpy.ndarray of int64
        Sorted original nodes that were kept in the core on request.
    """

    graph: RoadGraph
    core: np.ndarray
    position: np.ndarray
    via: np.ndarray
    via_s: np.ndarray
    two_way: np.ndarray
    protected: np.ndarray

    def covers(self, nodes: np.ndarray) -> bool:
        """Whether every node is in the core (so it can be a search source)."""
        return bool((self.position[np.asarray(nodes, dtype=np.int64)] >= 0).all())

    def entries(self, nodes: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Where each of ``nodes`` is read in the core: (core position, index into nodes, seconds).

        One entry per node (its own position, or its chain's start for a
        one-way shape node) and a second one for two-way shape nodes (the
        other end of the chain); a node's time is the smallest of its entries'
        core time + seconds (see :class:`NodeTimes`).
        """
        nodes = np.asarray(nodes, dtype=np.int64)
        index = np.arange(len(nodes))
        both = np.flatnonzero(self.two_way[nodes])
        return (
            np.concatenate([self.via[0, nodes], self.via[1, nodes[both]]]),
            np.concatenate([index, both]),
            np.concatenate([self.via_s[0, nodes], self.via_s[1, nodes[both]]]),
        )

    def node_times(self, nodes: np.ndarray) -> NodeTimes:
        """How to read the times at original nodes from searches over the core."""
        nodes = np.asarray(nodes, dtype=np.int64)
        first, first_s = self.via[0, nodes], self.via_s[0, nodes]
        two_way = self.two_way[nodes]
        if not two_way.any():
            return NodeTimes(first, first_s if first_s.any() else None, None, None)
        return NodeTimes(first, first_s, self.via[1, nodes], self.via_s[1, nodes])

    def seconds_at(self, seconds: np.ndarray, nodes: np.ndarray) -> np.ndarray:
        """Times at original nodes from a batch of searches over the core.

        Parameters
        ----------
        seconds : numpy.ndarray
            (searches, core nodes) seconds from :meth:`RoadGraph.iter_seconds` of
            :attr:`graph` (forward searches: the times are *to* the nodes).
        nodes : numpy.ndarray of int
            Original node indices.

        Returns
        -------
        numpy.ndarray
            (searches, len(nodes)) seconds, inf where beyond the search's limit.
        """
        return self.node_times(nodes).read(seconds)


@dataclass(frozen=True)
class NodeTimes:
    """Where each of some original nodes is entered from in the core, and how long after.

    Attributes
    ----------
    first, second : numpy.ndarray of int64 or None
        Core positions of the one or two chain ends a node is entered from
        (``second`` None when no node is a two-way shape node).
    first_s, second_s : numpy.ndarray or None
        Seconds from them to the node (``first_s`` None when all are 0).
    """

    first: np.ndarray
    first_s: np.ndarray | None
    second: np.ndarray | None
    second_s: np.ndarray | None

    def read(self, seconds: np.ndarray) -> np.ndarray:
        """(searches, nodes) times from (searches, core nodes) times."""
        out = np.take(seconds, self.first, axis=1)
        if self.first_s is not None:
            out += self.first_s
        if self.second is not None:
            assert self.second_s is not None
            other = np.take(seconds, self.second, axis=1)
            other += self.second_s
            np.minimum(out, other, out=out)
        return out


def _removable(matrix: csr_matrix, protected: np.ndarray) -> np.ndarray:
    """Nodes that are two-way or one-way-through shape points and not protected."""
    n = matrix.shape[0]
    pattern = csr_matrix((np.ones(matrix.nnz), matrix.indices, matrix.indptr), shape=(n, n))
    out_degree = np.diff(pattern.indptr)
    in_degree = np.bincount(matrix.indices, minlength=n)
    neighbours = np.diff((pattern + pattern.T).tocsr().indptr)
    two_way = (neighbours == 2) & (in_degree == 2) & (out_degree == 2)
    one_way = (neighbours == 2) & (in_degree == 1) & (out_degree == 1)
    removable = two_way | one_way
    removable[protected] = False
    return removable


def _chain_sums(
    u: np.ndarray, v: np.ndarray, seconds: np.ndarray, removable: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per edge: the core node its chain starts at and the seconds from there to its head.

    Returns
    -------
    (start, total_s, unresolved)
        ``unresolved`` marks edges on rings of shape nodes (no core start).
    """
    n_edges = len(u)
    in_order = np.argsort(v, kind="stable")
    in_first = np.searchsorted(v[in_order], np.arange(len(removable)))
    previous = np.full(n_edges, -1, dtype=np.int64)
    inner = np.flatnonzero(removable[u])  # edges leaving a shape node
    tail, head = u[inner], v[inner]
    first = in_order[in_first[tail]]
    second = in_order[np.minimum(in_first[tail] + 1, n_edges - 1)]
    previous[inner] = np.where(u[first] != head, first, second)
    total_s = seconds.astype("float64").copy()
    root = np.arange(n_edges)
    rounds = int(np.ceil(np.log2(max(n_edges, 2)))) + 2
    for _ in range(rounds):
        active = np.flatnonzero(previous >= 0)
        if active.size == 0:
            break
        back = previous[active]
        total_s[active] = total_s[active] + total_s[back]
        root[active] = root[back]
        previous[active] = previous[back]
    return u[root], total_s, previous >= 0


def contract(
    graph: RoadGraph, protected: np.ndarray | None = None, *, min_share: float = MIN_SHARE
) -> Contraction:
    """Contract the degree-2 chains of a road graph (exact for shortest-path times).

    Parameters
    ----------
    graph : RoadGraph
        The full graph.
    protected : numpy.ndarray of int, optional
        Nodes to keep in the core whatever their degree (search sources).
    min_share : float
        Contract only when at least this share of the nodes goes (else the core
        is the whole graph, searched as it is).

    Returns
    -------
    Contraction
    """
    n = graph.n_nodes
    protected = np.unique(np.asarray(protected if protected is not None else [], dtype=np.int64))
    coo = graph.matrix.tocoo()
    u, v = coo.row.astype(np.int64), coo.col.astype(np.int64)
    seconds = np.asarray(coo.data, dtype="float64")
    removable = _removable(graph.matrix, protected)
    if removable.sum() < min_share * n:  # not worth a second graph: keep every node
        removable[:] = False
    start, total_s, unresolved = _chain_sums(u, v, seconds, removable)
    if unresolved.any():  # rings of shape nodes: keep them in the core
        removable[u[unresolved]] = False
        start, total_s, unresolved = _chain_sums(u, v, seconds, removable)
    core = np.flatnonzero(~removable)
    core = core[np.argsort(morton_key(graph.x[core], graph.y[core]), kind="stable")]
    position = np.full(n, -1, dtype=np.int64)
    position[core] = np.arange(len(core))
    ends = np.flatnonzero(~removable[v])
    matrix = fastest_matrix(position[start[ends]], position[v[ends]], total_s[ends], len(core))
    via = np.repeat(position[None, :], 2, axis=0)
    via_s = np.zeros((2, n))
    entering = np.flatnonzero(removable[v])  # edges into shape nodes, grouped by head below
    entering = entering[np.argsort(v[entering], kind="stable")]
    heads = v[entering]
    second = np.zeros(len(heads), dtype=bool)
    second[1:] = heads[1:] == heads[:-1]
    for row, pick in ((0, ~second), (1, second)):
        via[row, heads[pick]] = position[start[entering[pick]]]
        via_s[row, heads[pick]] = total_s[entering[pick]]
    two_way = np.bincount(heads, minlength=n) == 2
    one_way = removable & ~two_way
    via[1, one_way], via_s[1, one_way] = via[0, one_way], via_s[0, one_way]
    core_graph = RoadGraph(
        node_ids=graph.node_ids[core],
        lon=graph.lon[core],
        lat=graph.lat[core],
        x=graph.x[core],
        y=graph.y[core],
        edges=pd.DataFrame({"u": np.empty(0, np.int64), "v": np.empty(0, np.int64)}),
        matrix=matrix,
        in_main=graph.in_main[core],
        crs=graph.crs,
    )
    logger.info(
        "contracted degree-2 chains: %d of %d nodes in the core (%d protected), %d edges",
        len(core),
        n,
        len(protected),
        matrix.nnz,
    )
    return Contraction(core_graph, core, position, via, via_s, two_way, protected)


def morton_key(x: np.ndarray, y: np.ndarray, bits: int = MORTON_BITS) -> np.ndarray:
    """Z-order key of points: ``bits`` bits per axis over their bounding box, interleaved."""
    key = np.zeros(len(x), dtype=np.uint64)
    for values, shift in ((np.asarray(x, "float64"), 0), (np.asarray(y, "float64"), 1)):
        if len(values) == 0:
            continue
        finite = np.where(np.isfinite(values), values, 0.0)
        low, span = finite.min(), np.ptp(finite)
        scaled = (finite - low) / span * (2**bits - 1) if span > 0 else np.zeros(len(finite))
        cells = scaled.astype(np.uint64)
        for bit in range(bits):
            key |= ((cells >> np.uint64(bit)) & np.uint64(1)) << np.uint64(2 * bit + shift)
    return key


def shared_contraction(
    graph: RoadGraph, sources: np.ndarray, *, min_share: float = MIN_SHARE
) -> Contraction:
    """The contraction of ``graph`` every search shares, with ``sources`` in its core.

    Kept on the graph: built on first use, reused while its core keeps the
    sources asked for, else rebuilt protecting the sources of the old one
    and the new ones (so a run builds it once when its searches are planned
    together, see :mod:`siteselect.network.demand_searches`). ``min_share=inf`` keeps
    the whole graph as the core (a separate cache entry).
    """
    sources = np.asarray(sources, dtype=np.int64)
    cache = graph.contractions
    old = cache.get(min_share)
    if old is not None and old.covers(sources):
        return old
    protected = sources if old is None else np.concatenate([old.protected, sources])
    cache[min_share] = contract(graph, protected, min_share=min_share)
    return cache[min_share]
