"""Travel times between demand points, facilities and candidates.

Two interchangeable travel models with the same three operations:

* :meth:`iter_pairs` streams every (origin, destination, minutes) pair within
  a cut-off in blocks, so a reduction over 1M candidates x 736 tracts never
  holds the whole matrix;
* :meth:`matrix` gives a small dense matrix (tracts x hospitals);
* :meth:`nearest` gives each origin's time to its nearest target and which.

:class:`NetworkTravel` drives over the shared :class:`~siteselect.network.RoadGraph`:
one bounded Dijkstra per distinct origin node (stopped at the cut-off) over the
graph with its degree-2 chains (shape points) contracted, exactly
(:mod:`siteselect.network.contract`, one contraction per graph), read at the
destinations' nodes and expanded to the destinations there, by the compiled
kernel of :mod:`siteselect.network.dijkstra` from one thread per CPU; every point
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

import functools
import logging
import os
import threading
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal, Protocol

import numpy as np
from scipy.spatial import cKDTree

from siteselect._errors import ConfigError
from siteselect.network.contract import MIN_SHARE, Contraction, shared_contraction
from siteselect.network.graph import Direction
from siteselect.network.snapping import Snap, snap_points

if TYPE_CHECKING:
    from siteselect.network import RoadGraph
    from siteselect.network.dijkstra import SearchGraph, Sources, Targets
    from siteselect.study import Study

logger = logging.getLogger(__name__)

TravelMode = Literal["network", "straight_line"]
PAIR_CELLS = 8_000_000
"""Origin x destination cells examined per block (bounds the memory of a block)."""
BLOCK_PAIRS = 2**21
"""Network pairs per block handed to a reducer (a block ends with the search that fills it)."""
MAX_THREADS = 8
"""Search threads by default at most: each holds its own work arrays, pair blocks and
per-candidate sums (~130 MB on a 1M-node graph with 1M candidates)."""


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
    """Destinations on the network grouped by road node, in the order of the core.

    Attributes
    ----------
    order : numpy.ndarray
        Destination positions, node by node (far ones left out); a destination's
        *rank* is its place here.
    nodes : numpy.ndarray
        Distinct nodes of the destinations, ordered by where they are read in
        the core (its Z-order numbering: nearby sites get nearby ranks).
    first, count : numpy.ndarray of int64
        Per entry of ``nodes``: the rank of its first destination, and how many.
    connector_min : numpy.ndarray
        Connector minutes by rank.
    size : int
        Number of destinations (with the far ones).
    """

    order: np.ndarray
    nodes: np.ndarray
    first: np.ndarray
    count: np.ndarray
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
    """What the accessibility and competition criteria need from a travel model.

    ``key`` tells travel models apart: two with the same key give the same
    times (:mod:`siteselect.network.demand_searches` shares searches by it).
    """

    description: str
    key: tuple

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
        self.key = ("straight_line", self.minutes_per_m)
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
    contracted (:mod:`siteselect.network.contract`, exact; one contraction per
    graph, shared), unless ``contract_chains`` is False, with the compiled
    kernel of :mod:`siteselect.network.dijkstra` from ``workers`` threads
    (default: the CPUs available, at most ``MAX_THREADS``), which search
    without holding the GIL.
    """

    def __init__(
        self,
        graph: RoadGraph,
        connector_speed_kmh: float,
        max_snap_m: float,
        name: str = "",
        *,
        workers: int | None = None,
        contract_chains: bool = True,
    ) -> None:
        self.graph = graph
        self.workers = workers if workers is not None else min(available_cpus(), MAX_THREADS)
        self.contract_chains = contract_chains
        self.connector_min_per_m = 1.0 / (connector_speed_kmh / 3.6) / 60.0
        self.max_snap_m = max_snap_m
        self.key = ("network", id(graph), connector_speed_kmh, max_snap_m, contract_chains)
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

    def contraction(self, sources: np.ndarray) -> Contraction:
        """The graph's shared contraction, ``sources`` kept in its core (built once per graph)."""
        min_share = MIN_SHARE if self.contract_chains else np.inf
        return shared_contraction(self.graph, sources, min_share=min_share)

    def site_index(self, destinations: Located, contraction: Contraction) -> SiteIndex:
        """Destinations on the network grouped by node (the far ones left out)."""
        assert destinations.node is not None
        valid = np.flatnonzero(~destinations.far)
        node = destinations.node[valid]
        order = valid[np.lexsort((node, contraction.via[0, node]))]
        by_rank = destinations.node[order]
        first = np.flatnonzero(np.r_[True, by_rank[1:] != by_rank[:-1]]) if len(order) else order
        return SiteIndex(
            order=order,
            nodes=by_rank[first],
            first=first.astype(np.int64),
            count=np.diff(np.r_[first, len(order)]).astype(np.int64),
            connector_min=destinations.connector_min[order],
            size=len(destinations),
        )

    def searches(
        self, origins: Located, destinations: Located
    ) -> tuple[SiteIndex, SearchGraph, Sources, Targets]:
        """What the kernel needs to search from the origins and read at the destinations."""
        from siteselect.network.dijkstra import SearchGraph, Sources, Targets  # numba: on use

        assert origins.node is not None
        contraction = self.contraction(origins.node)
        sites = self.site_index(destinations, contraction)
        core, target, seconds = contraction.entries(sites.nodes)
        targets = Targets.of(
            contraction.graph.n_nodes,
            core,
            target,
            seconds,
            sites.first,
            sites.count,
            sites.connector_min,
        )
        sources = Sources.of(contraction.position[origins.node], origins.connector_min)
        return sites, SearchGraph.of(contraction.graph.matrix), sources, targets

    def iter_pairs(
        self, origins: Located, destinations: Located, max_minutes: float
    ) -> Iterator[PairBlock]:
        """Pairs within the cut-off from searches in this thread, in blocks."""
        from siteselect.network.dijkstra import search_blocks

        sites, graph, sources, targets = self.searches(origins, destinations)
        for origin, rank, minutes in search_blocks(graph, sources, targets, max_minutes):
            yield PairBlock(origin, sites.order[rank], minutes)

    def reduce(
        self, origins: Located, destinations: Located, max_minutes: float, reducer: Reducer
    ) -> tuple[np.ndarray, ...]:
        """Sum ``reducer`` over the pairs, the searches split over ``workers`` threads.

        Thread k searches from the distinct origin nodes k, k + workers, ... and
        sums the reducer over its own blocks; the threads' sums are added in
        thread order, so the result does not depend on their timing (it may
        differ from a one-thread run in the last digits: floating-point sums
        in another order). When a thread fails or the run is interrupted, the
        others stop after their current block (at most ``MAX_SEARCHES``
        searches). The reducer sees destinations as ranks (see
        :class:`SiteIndex`) and may run in several threads at once: it must not
        change shared state. Its per-destination results are put back in the
        destinations' order.
        """
        from siteselect.network.dijkstra import search_blocks

        sites, graph, sources, targets = self.searches(origins, destinations)
        lanes = max(1, min(self.workers, len(sources)))
        stop = threading.Event()

        def lane(order: np.ndarray) -> tuple[np.ndarray, ...]:
            def blocks() -> Iterator[PairBlock]:
                for block in search_blocks(
                    graph, sources, targets, max_minutes, order, BLOCK_PAIRS
                ):
                    if stop.is_set():  # the run is stopping (an error, Ctrl-C, SIGTERM)
                        return
                    yield PairBlock(*block)

            return reduce_blocks(blocks(), reducer)

        orders = [np.arange(k, len(sources), lanes) for k in range(lanes)]
        if lanes == 1:
            ranked = lane(orders[0])
        else:
            pool = ThreadPoolExecutor(lanes, thread_name_prefix="siteselect-search")
            futures = [pool.submit(lane, order) for order in orders]
            try:
                wait(futures, return_when=FIRST_EXCEPTION)
                for future in futures:
                    if future.done() and future.exception() is not None:
                        raise future.exception()
                parts = [future.result() for future in futures]
            except BaseException:
                stop.set()  # the other threads stop after their current block
                raise
            finally:
                pool.shutdown(wait=True)
            ranked = tuple(functools.reduce(np.add, arrays) for arrays in zip(*parts, strict=True))
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


def available_cpus() -> int:
    """CPUs this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


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
