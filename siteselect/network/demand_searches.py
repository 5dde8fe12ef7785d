"""Demand searches shared by every criterion that needs them.

Accessibility (gravity, catchment, E2SFCA) and Huff competition all reduce the
same thing: every (demand point, candidate) pair within a cut-off and its
travel minutes. On a county network those searches dominate a run, so they
are done once per *search set* -- the same travel model (:attr:`Travel.key`),
the same demand points placed on it, the same candidates and the same cut-off
-- and every criterion's reducer is applied to each block of pairs in that
one pass (:meth:`Travel.reduce` with the reducers side by side).

The protocol, for a criterion kind that routes from demand points:

1. its ``prepare(spec, study)`` builds what the reduction needs (demand
   points, placements, per-point weights, small facility matrices) and calls
   :meth:`DemandSearches.request` with its reducer; it returns the prepared
   state holding the :class:`SearchRequest`;
2. it registers ``plan=`` with :func:`~siteselect.criteria.base.register`, a
   function calling ``searches_of(study).plan(spec, prepare, study)``. The
   pipeline calls every kind's plan before the first measurement, then
   :meth:`DemandSearches.run`, so all requests are known when the searches
   start;
3. its ``measure`` takes the prepared state back with
   ``searches_of(study).planned(spec, prepare, study)`` (which prepares it then
   when nothing planned it: a criterion measured on its own still works) and
   reads :meth:`SearchRequest.values`.

Reducers may run in several threads at once (see
:meth:`siteselect.network.traveltime.NetworkTravel.reduce`); they must only read the
arrays they close over. Each search set is logged and recorded in
``study.diagnostics["demand_searches"]``.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np

from siteselect.network.traveltime import EMPTY_BLOCK

if TYPE_CHECKING:
    from siteselect.network.traveltime import Located, PairBlock, Reducer, Travel
    from siteselect.study import Study

logger = logging.getLogger(__name__)

Prepared = TypeVar("Prepared")
Spec = TypeVar("Spec")


def located_digest(points: Located) -> str:
    """A digest of where points are and how they are placed (nodes, connectors, far flags)."""
    digest = hashlib.blake2b(digest_size=16)
    for array in (points.x, points.y, points.node, points.connector_min, points.far):
        if array is not None:
            digest.update(np.ascontiguousarray(array).tobytes())
            digest.update(str(array.dtype).encode())
    return digest.hexdigest()


@dataclass
class SearchRequest:
    """One criterion's reduction over the pairs of a search set.

    Attributes
    ----------
    what : str
        The criterion, for the log and the record.
    reducer : Reducer
        Per block of pairs, per-candidate sums (see :mod:`siteselect.criteria.market`).
    """

    what: str
    reducer: Reducer
    _searches: DemandSearches = field(repr=False)
    _key: tuple = field(repr=False)
    _values: tuple[np.ndarray, ...] | None = field(default=None, repr=False)

    def values(self) -> tuple[np.ndarray, ...]:
        """The reducer's sums over every pair (the search set runs now if it has not)."""
        if self._values is None:
            self._searches.run_set(self._key)
        assert self._values is not None
        return self._values


@dataclass
class _SearchSet:
    travel: Travel
    origins: Located
    sites: Located
    max_minutes: float
    requests: list[SearchRequest] = field(default_factory=list)


class DemandSearches:
    """The run's search sets: requests grouped by set, each set searched once.

    Parameters
    ----------
    diagnostics : dict, optional
        Where each set is recorded (``diagnostics["demand_searches"]``).
    """

    def __init__(self, diagnostics: dict[str, Any] | None = None) -> None:
        self.diagnostics = diagnostics if diagnostics is not None else {}
        self._pending: dict[tuple, _SearchSet] = {}
        self._prepared: dict[int, tuple[object, Any]] = {}

    def request(
        self,
        travel: Travel,
        origins: Located,
        sites: Located,
        max_minutes: float,
        reducer: Reducer,
        what: str,
    ) -> SearchRequest:
        """Ask for ``reducer`` summed over the (origin, site) pairs within ``max_minutes``.

        Requests with the same travel key, origins, sites and cut-off share one
        set of searches.
        """
        key = (travel.key, located_digest(origins), located_digest(sites), float(max_minutes))
        search_set = self._pending.get(key)
        if search_set is None:
            search_set = self._pending[key] = _SearchSet(travel, origins, sites, max_minutes)
        request = SearchRequest(what, reducer, self, key)
        search_set.requests.append(request)
        return request

    def run(self) -> None:
        """Run every pending search set."""
        for key in list(self._pending):
            self.run_set(key)

    def run_set(self, key: tuple) -> None:
        """Run one search set: one pass over its pairs, every request's reducer on each block."""
        search_set = self._pending.pop(key)
        requests = search_set.requests
        sizes = [len(r.reducer(EMPTY_BLOCK)) for r in requests]

        def every(block: PairBlock) -> tuple[np.ndarray, ...]:
            return tuple(part for r in requests for part in r.reducer(block))

        start = time.perf_counter()
        values = search_set.travel.reduce(
            search_set.origins, search_set.sites, search_set.max_minutes, every
        )
        used_by = [r.what for r in requests]
        logger.info(
            "demand searches: %d demand points x %d candidates within %g min, %s; "
            "one pass for %s (%.2f s)",
            len(search_set.origins),
            len(search_set.sites),
            search_set.max_minutes,
            search_set.travel.description,
            ", ".join(used_by),
            time.perf_counter() - start,
        )
        self.diagnostics.setdefault("demand_searches", []).append(
            {
                "used_by": used_by,
                "travel": search_set.travel.description,
                "demand_points": len(search_set.origins),
                "candidates": len(search_set.sites),
                "max_minutes": float(search_set.max_minutes),
            }
        )
        at = 0
        for request, size in zip(requests, sizes, strict=True):
            request._values = values[at : at + size]
            at += size

    def plan(self, spec: Spec, prepare: Callable[[Spec, Study], Prepared], study: Study) -> None:
        """``prepare(spec, study)`` now (it registers its requests), kept for :meth:`planned`."""
        if id(spec) not in self._prepared:
            self._prepared[id(spec)] = (spec, prepare(spec, study))

    def planned(
        self, spec: Spec, prepare: Callable[[Spec, Study], Prepared], study: Study
    ) -> Prepared:
        """What :meth:`plan` prepared for ``spec`` (handed over once), else prepared now."""
        kept = self._prepared.pop(id(spec), None)
        return kept[1] if kept is not None else prepare(spec, study)


def searches_of(study: Study) -> DemandSearches:
    """The run's shared demand searches (one :class:`DemandSearches` per study)."""
    searches = study.shared.get("demand_searches")
    if searches is None:
        searches = study.shared["demand_searches"] = DemandSearches(study.diagnostics)
    return searches
