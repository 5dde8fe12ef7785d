"""Travel times between demand points, facilities and candidates.

Two interchangeable travel models with the same three operations:

* :meth:`iter_pairs` streams every (origin, destination, minutes) pair within
  a cut-off in blocks, so a reduction over 1M candidates x 736 tracts never
  holds the whole matrix;
* :meth:`matrix` gives a small dense matrix (tracts x hospitals);
* :meth:`nearest` gives each origin's time to its nearest target and which.

:class:`NetworkTravel` drives over the shared :class:`~siteselect.network.RoadGraph`:
one bounded Dijkstra per origin (``limit=`` the cut-off, batched through
``RoadGraph.iter_seconds``) over the graph with its degree-2 chains (shape
points) contracted, exactly (:mod:`siteselect.network.contract`), read at the
destinations' nodes and expanded to the destinations there; every point
is placed by the one snapping policy (:mod:`siteselect.network.snapping`):
the nearest node it can drive from (origins) or be reached at
(destinations), plus a straight connector at ``network.connector_speed_kmh``
(facilities too). :class:`StraightLineTravel` uses straight-line distance x
``circuity`` at ``speed_kmh``.

``travel:`` in a criterion chooses: ``network`` or ``straight_line``; unset, it
is ``network`` when the config has a ``network:`` section and the entry sets
neither ``speed_kmh`` nor ``circuity`` (they only mean something for
straight-line travel), else ``straight_line``. The log says which.
"""

from __future__ import annotations

import itertools
import logging
import multiprocessing
import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal, Protocol

import numpy as np
from scipy.spatial import cKDTree

from siteselect._errors import ConfigError
from siteselect.network.contract import Contraction, contract
from siteselect.network.graph import Direction
from siteselect.network.snapping import Snap, snap_points

if TYPE_CHECKING:
    from siteselect.network import RoadGraph
    from siteselect.study import Study

logger = logging.getLogger(__name__)

TravelMode = Literal["network", "straight_line"]
PAIR_CELLS = 8_000_000
"""Origin x destination cells examined per block (bounds the memory of a block)."""
SEARCH_CELLS = 2**21
"""Dense Dijkstra results (batch x nodes) kept at once: 16 MB, so the per-batch arrays
stay small enough to be reused by the allocator rather than page-faulted in afresh."""
BLOCK_PAIRS = 2**21
"""Network pairs per block handed to a reducer (small batches are merged up to this)."""
PARALLEL_MIN_CELLS = 50_000_000
"""Network reductions over more origin x destination cells than this fork worker processes."""


@dataclass(frozen=True)
class Located:
    """Points placed for a travel model.

    Attributes
    ----------
    x, y : numpy.ndarray
        Coordinates (metres, working CRS).
    node : numpy.ndarray or None
        Road node of each point (network travel only).
    connector_min : numpy.ndarray
        Minutes from the point to its node (0 for straight-line travel).
    snap_m : numpy.ndarray
        Distance to the node (0 for straight-line travel).
    far : numpy.ndarray of bool
        Left off the network: no travel time (beyond ``network.max_snap_m``
        unless the set keeps such points).
    snap : Snap or None
        The snapping details (network travel only), for reasons and records.
    """

    x: np.ndarray
    y: np.ndarray
    node: np.ndarray | None
    connector_min: np.ndarray
    snap_m: np.ndarray
    far: np.ndarray
    snap: Snap | None = None

    def __len__(self) -> int:
        return len(self.x)

    def take(self, index: np.ndarray | slice) -> Located:
        """The points ``index`` (positions, a mask or a slice)."""
        return Located(
            self.x[index],
            self.y[index],
            None if self.node is None else self.node[index],
            self.connector_min[index],
            self.snap_m[index],
            self.far[index],
            None if self.snap is None else self.snap.take(index),
        )

    def slice(self, start: int, stop: int) -> Located:
        """The points start..stop-1."""
        return self.take(slice(start, stop))


@dataclass(frozen=True)
class PairBlock:
    """Pairs within the cut-off: positions into the origins / destinations, and minutes."""

    origin: np.ndarray
    destination: np.ndarray
    minutes: np.ndarray


@dataclass(frozen=True)
class SiteIndex:
    """Destinations grouped by road node, the nodes with the most destinations first.

    The k-th destination of every node with more than k of them is then the
    rank ``first[j] + k`` for the node positions ``j < slot_end[k]``: a prefix,
    so the (origin, node) times are expanded to the destinations slot by slot
    with slices, without repeating them.

    Attributes
    ----------
    order : numpy.ndarray
        Destination positions, node by node (far ones left out); a destination's
        *rank* is its place here.
    nodes : numpy.ndarray
        Nodes with at least one destination, by decreasing count.
    first : numpy.ndarray
        Per entry of ``nodes``: the rank of its first destination.
    slot_end : numpy.ndarray
        ``slot_end[k]``: how many nodes have more than k destinations.
    connector_min : numpy.ndarray
        Connector minutes by rank.
    size : int
        Number of destinations (with the far ones).
    """

    order: np.ndarray
    nodes: np.ndarray
    first: np.ndarray
    slot_end: np.ndarray
    connector_min: np.ndarray
    size: int


EMPTY_BLOCK = PairBlock(np.empty(0, np.int64), np.empty(0, np.int64), np.empty(0))

Reducer = Callable[[PairBlock], tuple[np.ndarray, ...]]
"""Per-destination sums of one block of pairs (e.g. np.bincount by destination)."""


def reduce_blocks(blocks: Iterable[PairBlock], reducer: Reducer) -> tuple[np.ndarray, ...]:
    """Sum ``reducer(block)`` over the blocks (``reducer(EMPTY_BLOCK)`` when there are none)."""
    total = [np.array(part, dtype="float64") for part in reducer(EMPTY_BLOCK)]
    for block in blocks:
        if block.minutes.size:
            for accumulated, part in zip(total, reducer(block), strict=True):
                accumulated += part
    return tuple(total)


class Travel(Protocol):
    """What the accessibility and competition criteria need from a travel model."""

    description: str

    def locate(
        self,
        x: np.ndarray,
        y: np.ndarray,
        *,
        direction: Direction = "both",
        keep_far: bool = False,
    ) -> Located:
        """Place points on the model (snap them to the network, see NetworkTravel.locate)."""
        ...

    def iter_pairs(
        self, origins: Located, destinations: Located, max_minutes: float
    ) -> Iterator[PairBlock]:
        """Every origin -> destination pair within ``max_minutes``, in blocks."""
        ...

    def reduce(
        self, origins: Located, destinations: Located, max_minutes: float, reducer: Reducer
    ) -> tuple[np.ndarray, ...]:
        """``reducer`` summed over every pair within ``max_minutes``."""
        ...

    def matrix(self, origins: Located, destinations: Located, max_minutes: float) -> np.ndarray:
        """Dense origin x destination minutes, inf beyond ``max_minutes``."""
        ...

    def nearest(self, origins: Located, targets: Located) -> tuple[np.ndarray, np.ndarray]:
        """Minutes from each origin to its nearest target (NaN if none) and that target."""
        ...


def _rows_per_block(n_destinations: int) -> int:
    return max(1, PAIR_CELLS // max(n_destinations, 1))


class StraightLineTravel:
    """Straight-line distance x circuity at a constant speed."""

    def __init__(self, speed_kmh: float, circuity: float = 1.0) -> None:
        self.minutes_per_m = circuity / (speed_kmh / 3.6) / 60.0
        self.description = f"straight-line travel at {speed_kmh:g} km/h (circuity {circuity:g})"

    def locate(
        self,
        x: np.ndarray,
        y: np.ndarray,
        *,
        direction: Direction = "both",
        keep_far: bool = False,
    ) -> Located:
        zeros = np.zeros(len(x))
        return Located(
            np.asarray(x, "float64"), np.asarray(y, "float64"), None, zeros, zeros, zeros > 0
        )

    def iter_pairs(
        self, origins: Located, destinations: Located, max_minutes: float
    ) -> Iterator[PairBlock]:
        rows = _rows_per_block(len(destinations))
        for start in range(0, len(origins), rows):
            stop = min(start + rows, len(origins))
            minutes = (
                np.hypot(
                    origins.x[start:stop, None] - destinations.x[None, :],
                    origins.y[start:stop, None] - destinations.y[None, :],
                )
                * self.minutes_per_m
            )
            row, column = np.nonzero(minutes <= max_minutes)
            yield PairBlock(row + start, column, minutes[row, column])

    def reduce(
        self, origins: Located, destinations: Located, max_minutes: float, reducer: Reducer
    ) -> tuple[np.ndarray, ...]:
        return reduce_blocks(self.iter_pairs(origins, destinations, max_minutes), reducer)

    def matrix(self, origins: Located, destinations: Located, max_minutes: float) -> np.ndarray:
        minutes = (
            np.hypot(origins.x[:, None] - destinations.x, origins.y[:, None] - destinations.y)
            * self.minutes_per_m
        )
        return np.where(minutes <= max_minutes, minutes, np.inf)

    def nearest(self, origins: Located, targets: Located) -> tuple[np.ndarray, np.ndarray]:
        tree = cKDTree(np.column_stack([targets.x, targets.y]))
        distance, index = tree.query(np.column_stack([origins.x, origins.y]), k=1)
        return distance * self.minutes_per_m, np.asarray(index, dtype=np.int64)


class NetworkTravel:
    """Drive times over the road graph (see the module docstring).

    Many-to-many searches run over the graph with its degree-2 chains
    contracted (:mod:`siteselect.network.contract`, exact), unless
    ``contract_chains`` is False; ``workers`` processes (default: the CPUs
    available) share reductions over more than ``parallel_min_cells``
    origin x destination cells.
    """

    def __init__(
        self,
        graph: RoadGraph,
        connector_speed_kmh: float,
        max_snap_m: float,
        name: str = "",
        *,
        workers: int | None = None,
        parallel_min_cells: int = PARALLEL_MIN_CELLS,
        contract_chains: bool = True,
    ) -> None:
        self.graph = graph
        self.workers = workers if workers is not None else available_cpus()
        self.parallel_min_cells = parallel_min_cells
        self.contract_chains = contract_chains
        self.connector_min_per_m = 1.0 / (connector_speed_kmh / 3.6) / 60.0
        self.max_snap_m = max_snap_m
        self._contractions: list[Contraction] = []
        self.description = (
            f"drive times over the road network{f' {name}' if name else ''} "
            f"(connectors at {connector_speed_kmh:g} km/h)"
        )

    def locate(
        self,
        x: np.ndarray,
        y: np.ndarray,
        *,
        direction: Direction = "both",
        keep_far: bool = False,
    ) -> Located:
        """Snap points by the snapping policy (:mod:`siteselect.network.snapping`).

        Parameters
        ----------
        x, y : numpy.ndarray
            Points in the working CRS.
        direction : {"depart", "arrive", "both"}
            ``depart`` for origins, ``arrive`` for destinations, ``both`` for
            points that are both.
        keep_far : bool
            Points beyond ``network.max_snap_m`` keep their connector time
            (else they are ``far``: no travel time).
        """
        snap = snap_points(self.graph, x, y, direction, self.max_snap_m)
        return Located(
            np.asarray(x, "float64"),
            np.asarray(y, "float64"),
            snap.node,
            snap.snap_m * self.connector_min_per_m,
            snap.snap_m,
            snap.beyond & (not keep_far),
            snap,
        )

    def site_index(self, destinations: Located) -> SiteIndex:
        """Destinations on the network grouped by node (the far ones left out)."""
        assert destinations.node is not None
        valid = np.flatnonzero(~destinations.far)
        node = destinations.node[valid]
        per_node = np.bincount(node, minlength=self.graph.n_nodes)
        order = valid[np.lexsort((node, -per_node[node]))]  # most crowded nodes first
        nodes = np.flatnonzero(per_node)
        nodes = nodes[np.argsort(-per_node[nodes], kind="stable")]
        counts = per_node[nodes]
        first = np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.int64)
        largest = int(counts.max()) if len(counts) else 0
        slot_end = np.searchsorted(-counts, -np.arange(largest), side="left")
        return SiteIndex(
            order=order,
            nodes=nodes,
            first=first,
            slot_end=slot_end,
            connector_min=destinations.connector_min[order],
            size=len(destinations),
        )

    def contraction(self, sources: np.ndarray) -> Contraction:
        """The graph with its degree-2 chains contracted, ``sources`` kept in the core.

        Built once per set of sources (a cached contraction keeping a superset
        of them in its core is reused).
        """
        for contraction in self._contractions:
            if contraction.covers(sources):
                return contraction
        if self.contract_chains:
            contraction = contract(self.graph, sources)
        else:  # the whole graph as the core
            contraction = contract(self.graph, sources, min_share=np.inf)
        self._contractions.append(contraction)
        return contraction

    def ordered_pairs(
        self, origins: Located, sites: SiteIndex, max_minutes: float
    ) -> Iterator[PairBlock]:
        """Pairs whose ``destination`` is a rank in ``sites.order``.

        Batches of bounded searches from the origins over the contracted graph,
        times read at the sites' nodes, each (origin, node) time expanded to the
        sites at that node slot by slot (see :class:`SiteIndex`); blocks of
        about ``BLOCK_PAIRS`` pairs.
        """
        assert origins.node is not None
        contraction = self.contraction(origins.node)
        core = contraction.graph
        rows = max(1, SEARCH_CELLS // max(core.n_nodes, len(sites.nodes), 1))
        limit_s = max_minutes * 60.0
        node_times = contraction.node_times(sites.nodes)
        pending: list[PairBlock] = []
        n_pending = 0
        for positions, seconds in core.iter_seconds(
            contraction.position[origins.node],
            reverse=False,
            max_minutes=max_minutes,
            batch_size=rows,
        ):
            at = node_times.read(seconds)
            del seconds
            column, row = np.nonzero(limit_s >= at.T)  # by node position, then origin
            base = at[row, column]
            del at
            base /= 60.0
            base += origins.connector_min[positions][row]
            origin = positions[row]
            # slot k: the k-th site of the nodes j < slot_end[k], i.e. the pairs [:end_k]
            ends = np.searchsorted(column, sites.slot_end)
            offsets = np.concatenate([[0], np.cumsum(ends)])
            pair_origin = np.empty(offsets[-1], dtype=np.int64)
            rank = np.empty(offsets[-1], dtype=np.int64)
            minutes = np.empty(offsets[-1])
            for slot, (end, at_pair) in enumerate(zip(ends, offsets[:-1], strict=True)):
                part = slice(at_pair, at_pair + end)
                pair_origin[part] = origin[:end]
                np.add(sites.first[column[:end]], slot, out=rank[part])
                np.add(base[:end], sites.connector_min[rank[part]], out=minutes[part])
            keep = minutes <= max_minutes
            pending.append(PairBlock(pair_origin[keep], rank[keep], minutes[keep]))
            n_pending += len(pending[-1].minutes)
            if n_pending >= BLOCK_PAIRS:
                yield _merged(pending)
                pending, n_pending = [], 0
        if pending:
            yield _merged(pending)

    def iter_pairs(
        self, origins: Located, destinations: Located, max_minutes: float
    ) -> Iterator[PairBlock]:
        sites = self.site_index(destinations)
        for block in self.ordered_pairs(origins, sites, max_minutes):
            yield PairBlock(block.origin, sites.order[block.destination], block.minutes)

    def reduce(
        self, origins: Located, destinations: Located, max_minutes: float, reducer: Reducer
    ) -> tuple[np.ndarray, ...]:
        """Sum ``reducer`` over the pairs; large jobs split the origins over worker processes.

        The reducer sees destinations as ranks in node order (sums land in
        nearby memory) and its per-destination results are put back in the
        destinations' order. Searches hold the GIL, so the parallel path forks
        ``workers`` processes (they inherit the graph; only the
        per-destination sums come back), where the platform can fork and the
        job exceeds ``parallel_min_cells``.
        """
        sites = self.site_index(destinations)
        cells = len(origins) * len(destinations)
        workers = min(self.workers, len(origins))
        if workers < 2 or cells < self.parallel_min_cells or not _can_fork():
            ranked = reduce_blocks(self.ordered_pairs(origins, sites, max_minutes), reducer)
        else:
            edges = np.linspace(0, len(origins), 2 * workers + 1).astype(int)
            chunks = [(int(a), int(b)) for a, b in itertools.pairwise(edges) if b > a]
            logger.info("network reduction: %d origins over %d processes", len(origins), workers)
            assert origins.node is not None
            self.contraction(origins.node)  # built once, inherited by the workers
            _FORKED["job"] = (self, origins, sites, max_minutes, reducer)
            try:
                with multiprocessing.get_context("fork").Pool(workers) as pool:
                    parts = pool.map(_reduce_chunk, chunks)
            finally:
                _FORKED.clear()
            ranked = tuple(np.sum(arrays, axis=0) for arrays in zip(*parts, strict=True))
        out = []
        for values in ranked:
            restored = np.zeros(sites.size)
            restored[sites.order] = values[: len(sites.order)]
            out.append(restored)
        return tuple(out)

    def matrix(self, origins: Located, destinations: Located, max_minutes: float) -> np.ndarray:
        assert origins.node is not None and destinations.node is not None
        contraction = self.contraction(np.concatenate([origins.node, destinations.node]))
        minutes = contraction.graph.travel_minutes(
            contraction.position[origins.node], contraction.position[destinations.node], max_minutes
        ).to_dense()
        minutes = minutes + origins.connector_min[:, None] + destinations.connector_min[None, :]
        minutes[destinations.far[None, :] | (minutes > max_minutes)] = np.inf
        return minutes

    def nearest(self, origins: Located, targets: Located) -> tuple[np.ndarray, np.ndarray]:
        """Minutes to the nearest target (its connector included) and which; NaN if none.

        Targets that are ``far`` are left out; one multi-source search.
        """
        assert origins.node is not None and targets.node is not None
        usable = np.flatnonzero(~targets.far)
        if usable.size == 0:
            return np.full(len(origins), np.nan), np.full(len(origins), -1, dtype=np.int64)
        seconds, which = self.graph.nearest_target(
            targets.node[usable], targets.connector_min[usable] * 60.0
        )
        minutes = seconds[origins.node] / 60.0 + origins.connector_min
        found = which[origins.node]
        index = np.where(found >= 0, usable[np.maximum(found, 0)], -1)
        minutes[~np.isfinite(minutes) | origins.far] = np.nan
        return minutes, index


def _merged(blocks: list[PairBlock]) -> PairBlock:
    """One block of the pairs of several."""
    if len(blocks) == 1:
        return blocks[0]
    return PairBlock(
        np.concatenate([b.origin for b in blocks]),
        np.concatenate([b.destination for b in blocks]),
        np.concatenate([b.minutes for b in blocks]),
    )


_FORKED: dict[str, tuple] = {}
"""The job a forked worker reads (set by the parent just before forking)."""


def _can_fork() -> bool:
    return "fork" in multiprocessing.get_all_start_methods()


def available_cpus() -> int:
    """CPUs this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def _reduce_chunk(bounds: tuple[int, int]) -> tuple[np.ndarray, ...]:
    """Worker: the reduction over origins start..stop-1 of the forked job."""
    travel, origins, sites, max_minutes, reducer = _FORKED["job"]
    start, stop = bounds

    def shifted() -> Iterator[PairBlock]:
        for block in travel.ordered_pairs(origins.slice(start, stop), sites, max_minutes):
            yield PairBlock(block.origin + start, block.destination, block.minutes)

    return reduce_blocks(shifted(), reducer)


def resolve_mode(requested: TravelMode | None, has_network: bool, straight_set: bool) -> TravelMode:
    """The travel mode of an entry (see the module docstring for the default)."""
    if requested is not None:
        return requested
    return "network" if has_network and not straight_set else "straight_line"


def make_travel(
    study: Study,
    requested: TravelMode | None,
    speed_kmh: float,
    circuity: float,
    straight_set: bool,
    what: str,
) -> Travel:
    """The travel model of a criterion entry, logged.

    Parameters
    ----------
    study : Study
        Gives the network (loaded on first use) and its settings.
    requested : {"network", "straight_line"} or None
        The entry's ``travel:``.
    speed_kmh, circuity : float
        Straight-line settings.
    straight_set : bool
        Whether the entry set ``speed_kmh`` or ``circuity`` itself.
    what : str
        Name for the log (``criteria.members``).
    """
    network = study.config.network
    mode = resolve_mode(requested, network is not None, straight_set)
    travel: Travel
    if mode == "network":
        if network is None:
            raise ConfigError(f"{what}: travel: network needs a 'network:' section in the config")
        name = network.source.name if network.source is not None else ""
        travel = NetworkTravel(
            study.road_graph(), network.connector_speed_kmh, network.max_snap_m, name
        )
    else:
        travel = StraightLineTravel(speed_kmh, circuity)
    logger.info("%s: %s", what, travel.description)
    return travel
