"""Both cores busy: split a vectorised call over the candidates into chunks run in threads.

Shapely 2's vectorised functions and ``STRtree`` queries, pyproj's transforms
and numba kernels compiled ``nogil`` release the GIL while they work, so a
call over 1M candidates split into contiguous chunks runs on every core with
plain threads: no copies, no pickling, results concatenated in order (so they
are identical to the one-call result). Small inputs run in one call.

``SITESELECT_THREADS`` sets the number of threads (default: the CPUs this
process may use); ``1`` turns the splitting off.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

import numpy as np
import shapely

T = TypeVar("T")
R = TypeVar("R")

MIN_CHUNK = 20_000
"""Fewer items than this per thread are not worth a thread."""


def worker_threads() -> int:
    """Threads to use: ``SITESELECT_THREADS`` if set (>= 1), else the usable CPUs."""
    setting = os.environ.get("SITESELECT_THREADS", "").strip()
    if setting:
        try:
            return max(1, int(setting))
        except ValueError:
            return 1
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def chunk_bounds(n: int, min_chunk: int | None = None) -> list[tuple[int, int]]:
    """Contiguous ``(start, stop)`` ranges covering ``range(n)``, one per thread at most."""
    min_chunk = MIN_CHUNK if min_chunk is None else min_chunk
    chunks = max(1, min(worker_threads(), n // max(min_chunk, 1)))
    edges = np.linspace(0, n, chunks + 1).astype(np.int64)
    return [(int(a), int(b)) for a, b in itertools.pairwise(edges) if b > a] or [(0, n)]


def map_chunks(func: Callable[[int, int], T], n: int, min_chunk: int | None = None) -> list[T]:
    """``[func(start, stop) for each chunk]``, the chunks run in threads, results in order.

    ``func`` must only read shared inputs (each call gets its own slice) and
    should spend its time in code that releases the GIL; an exception in any
    chunk is raised here.
    """
    bounds = chunk_bounds(n, min_chunk)
    if len(bounds) == 1:
        return [func(*bounds[0])]
    with ThreadPoolExecutor(max_workers=len(bounds), thread_name_prefix="siteselect") as pool:
        futures = [pool.submit(func, start, stop) for start, stop in bounds]
        return [future.result() for future in futures]


def in_order(func: Callable[[T], R], items: Iterable[T]) -> Iterator[R]:
    """``func(item)`` for each item, computed in threads a few ahead, yielded in order.

    For a loop whose steps are independent but whose results must be combined
    in order (sums that must not depend on the thread timing). At most twice the
    number of threads results wait in memory.
    """
    threads = worker_threads()
    if threads == 1:
        yield from map(func, items)
        return
    with ThreadPoolExecutor(max_workers=threads, thread_name_prefix="siteselect") as pool:
        pending: list = []
        for item in items:
            pending.append(pool.submit(func, item))
            if len(pending) > 2 * threads:
                yield pending.pop(0).result()
        for future in pending:
            yield future.result()


def concat(parts: Sequence[np.ndarray]) -> np.ndarray:
    """Concatenate chunk results (a single part is returned as it is)."""
    return parts[0] if len(parts) == 1 else np.concatenate(parts)


def chunked(func: Callable[[np.ndarray], np.ndarray], values: np.ndarray) -> np.ndarray:
    """``func(values)`` computed chunk by chunk in threads (``func`` element-wise)."""
    return concat(map_chunks(lambda start, stop: func(values[start:stop]), len(values)))


def ready_tree(tree: shapely.STRtree) -> shapely.STRtree:
    """Build ``tree`` now, on this thread, so that queries from several threads only read it.

    GEOS builds an STRtree lazily on its first query; one empty query here
    makes the later concurrent queries read-only.
    """
    tree.query(shapely.Point(0.0, 0.0))
    return tree
