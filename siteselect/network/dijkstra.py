"""Bounded many-to-many searches compiled with numba, run without the GIL.

The demand searches of the accessibility and competition criteria are a few
hundred bounded Dijkstra searches (one per distinct demand-point node) over
the contracted road graph (:mod:`siteselect.network.contract`), read at the
nodes of up to a million candidates. ``scipy.sparse.csgraph.dijkstra`` does
them, but it holds the GIL, fills a dense (searches x nodes) array and then
needs numpy passes to read it. :func:`search_blocks` does the whole step in
compiled loops that release the GIL (``nogil=True``), so threads keep every
core busy over the same graph in the same memory:

* a 4-ary-heap Dijkstra from each source (lazy deletion; only the nodes a
  search touched are reset after it, so a search costs what it reaches, not
  the graph's size), relaxing only within ``limit_s``;
* as each core node is settled, the *targets* entered from it (a target node
  itself when it is in the core, else the one or two ends of its degree-2
  chain, plus the seconds along the chain) get ``seconds + offset`` if within
  the limit, the smaller when a target is entered from two ends;
* then every (origin at the source, site at a reached target) pair gets
  ``(seconds / 60 + origin connector) + site connector`` minutes and is kept
  when within ``max_minutes`` (in target order, so in candidate rank order,
  when the search reached many targets).

The arithmetic is the same, in the same order, as the scipy path
(``NodeTimes.read`` and ``NetworkTravel.ordered_pairs`` of earlier versions),
and Dijkstra's distances do not depend on the order nodes are settled in (the
shortest of the float sums wins), so the minutes are bit-identical to
scipy's; ``tests/test_dijkstra.py`` checks it on random graphs.

Compiled code is cached on disk (``cache=True``): the first run on a machine
compiles it (4-8 s on the busy 2-core development machine) and later runs load
it (~0.5 s). The cache goes where
numba puts it (next to this file, else the user's cache directory); when
neither is writable (a read-only install, no home directory),
:func:`configure_cache` points ``NUMBA_CACHE_DIR`` at a directory under the
system temporary directory before numba is imported.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy.sparse import csr_matrix

CACHE_ENV = "NUMBA_CACHE_DIR"


def _writable(directory: Path) -> bool:
    """Whether files can be created in ``directory`` (created if missing)."""
    try:
        directory.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=directory):
            pass
    except OSError:
        return False
    return True


def configure_cache(package_dir: Path | None = None) -> str | None:
    """Give numba a writable cache directory; return the one set (None if numba's own works).

    numba caches next to the source file (``__pycache__``), else under the
    user's cache directory. When neither is writable, ``NUMBA_CACHE_DIR`` is set
    to ``<tmp>/siteselect-numba-<uid>``. A ``NUMBA_CACHE_DIR`` set by the user is
    left as it is.
    """
    if os.environ.get(CACHE_ENV):
        return None
    here = package_dir if package_dir is not None else Path(__file__).parent
    user_cache = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "numba"
    if _writable(here / "__pycache__") or _writable(user_cache):
        return None
    uid = os.getuid() if hasattr(os, "getuid") else "user"
    fallback = Path(tempfile.gettempdir()) / f"siteselect-numba-{uid}"
    os.environ[CACHE_ENV] = str(fallback)
    return str(fallback)


configure_cache()

import numba  # noqa: E402  (after the cache directory is settled)

INF = np.inf
HEAP_ARITY = 4
SCAN_SHARE = 16
"""A search reaching over 1/16 of the targets lists them by a scan in target (and so
candidate rank) order: sequential memory, and pairs sorted for the reducers' sums."""
MAX_SEARCHES = 32
"""Searches per kernel call at most (a block then returns to Python)."""
"""A 4-ary heap: fewer levels than a binary one; measured ~30% faster on road graphs."""


@numba.njit(nogil=True, cache=True, error_model="numpy")
def _search(indptr, indices, weights, source, limit_s, entry_ptr, entry_target, entry_s, work):
    """One bounded search from ``source``; fills ``best`` at the reached targets.

    Returns the number of reached targets, listed in ``reached``. ``dist`` and
    the heap are left clean (only the touched nodes are reset).
    """
    dist, touched, heap_s, heap_node, best, reached = work
    dist[source] = 0.0
    touched[0] = source
    n_touched = 1
    n_reached = 0
    heap_s[0] = 0.0
    heap_node[0] = source
    size = 1
    while size > 0:
        d = heap_s[0]
        node = heap_node[0]
        size -= 1  # pop: sift the last entry down from the root
        last_s = heap_s[size]
        last_node = heap_node[size]
        i = 0
        while True:
            child = (i << 2) + 1  # HEAP_ARITY children: 4i + 1 .. 4i + 4
            if child >= size:
                break
            smallest = child
            smallest_s = heap_s[child]
            end = child + HEAP_ARITY if child + HEAP_ARITY < size else size
            for j in range(child + 1, end):
                if heap_s[j] < smallest_s:
                    smallest = j
                    smallest_s = heap_s[j]
            if smallest_s >= last_s:
                break
            heap_s[i] = smallest_s
            heap_node[i] = heap_node[smallest]
            i = smallest
        if size > 0:
            heap_s[i] = last_s
            heap_node[i] = last_node
        if d > dist[node]:
            continue  # stale entry (lazy deletion)
        for e in range(entry_ptr[node], entry_ptr[node + 1]):
            t = d + entry_s[e]
            if t <= limit_s:
                target = entry_target[e]
                if best[target] == INF:
                    reached[n_reached] = target
                    n_reached += 1
                if t < best[target]:
                    best[target] = t
        for k in range(indptr[node], indptr[node + 1]):
            nd = d + weights[k]
            if nd <= limit_s:
                other = indices[k]
                if nd < dist[other]:
                    if dist[other] == INF:
                        touched[n_touched] = other
                        n_touched += 1
                    dist[other] = nd
                    i = size  # push: sift up
                    size += 1
                    while i > 0:
                        parent = (i - 1) >> 2
                        if heap_s[parent] <= nd:
                            break
                        heap_s[i] = heap_s[parent]
                        heap_node[i] = heap_node[parent]
                        i = parent
                    heap_s[i] = nd
                    heap_node[i] = other
    for k in range(n_touched):
        dist[touched[k]] = INF
    return n_reached


@numba.njit(nogil=True, cache=True, error_model="numpy")
def _grown(values, n, capacity):
    """A copy of ``values[:n]`` in a new array of ``capacity`` entries.

    (An explicit loop: slice assignment makes the kernel compile seconds longer.)
    """
    out = np.empty(capacity, values.dtype)
    for i in range(n):
        out[i] = values[i]
    return out


@numba.njit(nogil=True, cache=True, error_model="numpy")
def _search_pairs(
    indptr,
    indices,
    weights,
    limit_s,
    sources,
    origin_ptr,
    origin_ids,
    origin_min,
    entry_ptr,
    entry_target,
    entry_s,
    target_first,
    target_count,
    site_min,
    max_minutes,
    order,
    start,
    min_pairs,
    max_searches,
    work,
    out_origin,
    out_rank,
    out_minutes,
):
    """Searches from ``sources[order[start:]]`` until ``min_pairs`` pairs or ``max_searches``.

    The pairs are written to ``out_*`` (grown when a search needs more room).
    Returns ``(next_start, n, origin, rank, minutes)``: the first ``n`` entries of
    the three (possibly new) arrays are the pairs (see :func:`search_blocks`).
    """
    best = work[4]
    reached = work[5]
    capacity = len(out_minutes)
    n = 0
    k = start
    while k < len(order) and n < min_pairs and k - start < max_searches:
        s = order[k]
        k += 1
        n_reached = _search(
            indptr, indices, weights, sources[s], limit_s, entry_ptr, entry_target, entry_s, work
        )
        most = 0
        for r in range(n_reached):
            most += target_count[reached[r]]
        most *= origin_ptr[s + 1] - origin_ptr[s]
        if n + most > capacity:
            capacity = max(2 * capacity, n + most)
            out_origin = _grown(out_origin, n, capacity)
            out_rank = _grown(out_rank, n, capacity)
            out_minutes = _grown(out_minutes, n, capacity)
        if n_reached * SCAN_SHARE > len(target_count):  # many: in target order, sequentially
            n_reached = 0
            for target in range(len(target_count)):
                if best[target] < INF:
                    reached[n_reached] = target
                    n_reached += 1
        for o in range(origin_ptr[s], origin_ptr[s + 1]):
            origin = origin_ids[o]
            connector = origin_min[origin]
            for r in range(n_reached):
                target = reached[r]
                base = best[target] / 60.0 + connector  # the order of the numpy path
                first = target_first[target]
                for rank in range(first, first + target_count[target]):
                    minutes = base + site_min[rank]
                    if minutes <= max_minutes:
                        out_origin[n] = origin
                        out_rank[n] = rank
                        out_minutes[n] = minutes
                        n += 1
        for r in range(n_reached):
            best[reached[r]] = INF
    return k, n, out_origin, out_rank, out_minutes


@dataclass(frozen=True)
class SearchGraph:
    """A CSR graph of seconds in the dtypes the kernel is compiled for."""

    indptr: np.ndarray
    indices: np.ndarray
    weights: np.ndarray

    @classmethod
    def of(cls, matrix: csr_matrix) -> SearchGraph:
        """The kernel's view of a CSR matrix (``matrix[u, v]`` = seconds from u to v)."""
        return cls(
            np.asarray(matrix.indptr, dtype=np.int64),
            np.asarray(matrix.indices, dtype=np.int32),
            np.asarray(matrix.data, dtype=np.float64),
        )

    @property
    def n_nodes(self) -> int:
        """Number of nodes."""
        return len(self.indptr) - 1

    def work(self, n_targets: int) -> tuple[np.ndarray, ...]:
        """Work arrays of one thread: dist, touched, heap seconds and nodes, best, reached."""
        n_edges = len(self.indices)
        return (
            np.full(self.n_nodes, np.inf),
            np.empty(self.n_nodes, np.int32),
            np.empty(n_edges + 1, np.float64),  # each settled node pushes at most its edges
            np.empty(n_edges + 1, np.int32),
            np.full(max(n_targets, 1), np.inf),
            np.empty(max(n_targets, 1), np.int32),
        )


@dataclass(frozen=True)
class Sources:
    """Distinct search sources and the origins at each.

    Attributes
    ----------
    nodes : numpy.ndarray of int32
        Distinct graph nodes searched from.
    origin_ptr, origin_ids : numpy.ndarray of int64
        The origins at ``nodes[s]``: ``origin_ids[origin_ptr[s]:origin_ptr[s + 1]]``.
    origin_min : numpy.ndarray of float64
        Connector minutes of every origin.
    """

    nodes: np.ndarray
    origin_ptr: np.ndarray
    origin_ids: np.ndarray
    origin_min: np.ndarray

    @classmethod
    def of(cls, node: np.ndarray, connector_min: np.ndarray) -> Sources:
        """Group origins (their graph node and connector minutes) by node."""
        nodes, inverse = np.unique(np.asarray(node, dtype=np.int64), return_inverse=True)
        return cls(
            nodes.astype(np.int32),
            np.concatenate([[0], np.cumsum(np.bincount(inverse, minlength=len(nodes)))]).astype(
                np.int64
            ),
            np.argsort(inverse, kind="stable").astype(np.int64),
            np.asarray(connector_min, dtype=np.float64),
        )

    def __len__(self) -> int:
        return len(self.nodes)


@dataclass(frozen=True)
class Targets:
    """Where searches are read, and the sites each reached target stands for.

    Attributes
    ----------
    entry_ptr : numpy.ndarray of int64
        Per graph node, its entries ``entry_ptr[v]:entry_ptr[v + 1]``.
    entry_target : numpy.ndarray of int32
        The target reached when the entry's node is settled.
    entry_s : numpy.ndarray of float64
        Seconds from the node to the target (0 for a target on the node).
    first, count : numpy.ndarray of int64
        The sites of target j are the ranks ``first[j] .. first[j] + count[j] - 1``.
    site_min : numpy.ndarray of float64
        Connector minutes of each site, by rank.
    """

    entry_ptr: np.ndarray
    entry_target: np.ndarray
    entry_s: np.ndarray
    first: np.ndarray
    count: np.ndarray
    site_min: np.ndarray

    @classmethod
    def of(
        cls,
        n_nodes: int,
        node: np.ndarray,
        target: np.ndarray,
        seconds: np.ndarray,
        first: np.ndarray,
        count: np.ndarray,
        site_min: np.ndarray,
    ) -> Targets:
        """Targets from (graph node, target, seconds) entries in any order."""
        order = np.argsort(node, kind="stable")
        return cls(
            np.concatenate([[0], np.cumsum(np.bincount(node, minlength=n_nodes))]).astype(np.int64),
            np.asarray(target, dtype=np.int32)[order],
            np.asarray(seconds, dtype=np.float64)[order],
            np.asarray(first, dtype=np.int64),
            np.asarray(count, dtype=np.int64),
            np.asarray(site_min, dtype=np.float64),
        )

    def __len__(self) -> int:
        return len(self.first)


def search_blocks(
    graph: SearchGraph,
    sources: Sources,
    targets: Targets,
    max_minutes: float,
    order: np.ndarray | None = None,
    block_pairs: int = 2**21,
    max_searches: int = MAX_SEARCHES,
    reuse: bool = False,
) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Bounded searches (limit ``max_minutes``) from the sources, as blocks of site pairs.

    Runs in the calling thread without holding the GIL while it searches.

    Parameters
    ----------
    graph, sources, targets
        See the classes.
    max_minutes : float
        Cut-off: searches stop at ``max_minutes * 60`` seconds, pairs above
        ``max_minutes`` (connectors included) are dropped.
    order : numpy.ndarray, optional
        Which sources (positions into ``sources``), in which order; default all.
    block_pairs : int
        A block ends after the search that brings it to this many pairs...
    max_searches : int
        ...or after this many searches (control comes back to Python between
        blocks, e.g. to stop on a signal).
    reuse : bool
        Write every block into the same arrays (no page faults for fresh
        memory): only for a consumer done with a block before asking for the
        next one, such as :func:`~siteselect.network.traveltime.reduce_blocks`.

    Yields
    ------
    (origin, rank, minutes)
        Origin positions, site ranks and minutes of each pair within the cut-off;
        each pair exactly once.
    """
    order = np.arange(len(sources), dtype=np.int64) if order is None else order
    order = np.asarray(order, dtype=np.int64)
    work = graph.work(len(targets))
    room = block_pairs + block_pairs // 4
    out = (np.empty(room, np.int64), np.empty(room, np.int64), np.empty(room, np.float64))
    start = 0
    while start < len(order):
        start, n, *grown = _search_pairs(
            graph.indptr,
            graph.indices,
            graph.weights,
            float(max_minutes) * 60.0,
            sources.nodes,
            sources.origin_ptr,
            sources.origin_ids,
            sources.origin_min,
            targets.entry_ptr,
            targets.entry_target,
            targets.entry_s,
            targets.first,
            targets.count,
            targets.site_min,
            float(max_minutes),
            order,
            start,
            block_pairs,
            max_searches,
            work,
            *out,
        )
        out = tuple(grown) if reuse else tuple(np.empty(len(a), a.dtype) for a in grown)
        if n:
            yield grown[0][:n], grown[1][:n], grown[2][:n]
