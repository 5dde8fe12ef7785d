"""Distinct top sites: the best candidate of each neighbourhood, not one place ten times.

``outputs.min_separation_m`` (500 m by default): going down the ranking, a
candidate becomes a *top site* unless it lies within ``min_separation_m`` of a
top site already chosen (outline to outline, in the working CRS), in which case
it is *shadowed* by the best-ranked such top site. The choice stops once
``top_n`` top sites are found; every ranked candidate within
``min_separation_m`` of one of them (and ranked below it) is then marked with
its id in ``shadowed_by``. Shadowed candidates keep their rank in the files;
:meth:`siteselect.decision.results.RunResult.top` skips them, so the map's
markers and the report's top sites are at least ``min_separation_m`` apart.

The work is one STRtree query per top site (``dwithin``), whatever the number
of candidates: ``top_n`` queries and numpy masks, deterministic (the ranking
is, ties broken by id).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import shapely


def shadowed_by(
    geometry: np.ndarray,
    ranks: pd.Series | np.ndarray,
    ids: np.ndarray,
    min_separation_m: float | None,
    top_n: int,
) -> np.ndarray:
    """Per candidate, the id of the top site that shadows it ("" when none).

    Parameters
    ----------
    geometry : numpy.ndarray of shapely geometries
        Candidates in a metric CRS.
    ranks : array-like of nullable int
        1 = best; missing (excluded) candidates are never top sites nor shadowed.
    ids : numpy.ndarray
        Candidate ids.
    min_separation_m : float or None
        Separation; 0 or None: nothing is shadowed.
    top_n : int
        Number of distinct top sites to find.

    Returns
    -------
    numpy.ndarray of str (object)
    """
    n = len(geometry)
    out = np.full(n, "", dtype=object)
    if not min_separation_m or n == 0:
        return out
    rank = pd.array(ranks, dtype="Int64")
    ranked = np.flatnonzero(~np.asarray(rank.isna()))
    order = ranked[np.argsort(np.asarray(rank[ranked], dtype=np.int64), kind="stable")]
    position = np.full(n, -1, dtype=np.int64)  # place in the ranking, -1: excluded
    position[order] = np.arange(len(order))
    tree = shapely.STRtree(geometry)
    free = np.ones(len(order), dtype=bool)  # neither a top site nor shadowed yet
    found = cursor = 0
    while found < top_n:
        while cursor < len(order) and not free[cursor]:
            cursor += 1
        if cursor == len(order):
            break
        top = order[cursor]
        free[cursor] = False
        found += 1
        near = tree.query(geometry[top], predicate="dwithin", distance=min_separation_m)
        near = near[position[near] > position[top]]
        near = near[free[position[near]]]
        out[near] = str(ids[top])
        free[position[near]] = False
    return out


def neighbours_within(
    geometry: np.ndarray, min_separation_m: float | None
) -> tuple[np.ndarray, np.ndarray]:
    """For each geometry, the others within ``min_separation_m`` (outline to outline).

    What a client that re-ranks (the map's weight sliders) needs to keep its top
    sites distinct with the rule of :func:`shadowed_by`: walking its own
    ranking, it skips a site whose neighbours include a top site already kept.

    Returns
    -------
    (offsets, neighbours) : numpy.ndarray of int
        Compressed rows: the neighbours of ``i`` are
        ``neighbours[offsets[i]:offsets[i + 1]]``, sorted; none when the
        separation is 0 or None.
    """
    n = len(geometry)
    if not min_separation_m or n == 0:
        return np.zeros(n + 1, dtype=np.int64), np.zeros(0, dtype=np.int64)
    tree = shapely.STRtree(geometry)
    left, right = tree.query(geometry, predicate="dwithin", distance=min_separation_m)
    other = left != right
    left, right = left[other], right[other]
    order = np.lexsort((right, left))
    left, right = left[order], right[order]
    offsets = np.zeros(n + 1, dtype=np.int64)
    np.add.at(offsets, left + 1, 1)
    return np.cumsum(offsets), right.astype(np.int64)


def distinct_top(frame: pd.DataFrame, n: int) -> pd.DataFrame:
    """The ``n`` best ranked rows of ``frame`` that no top site shadows, in rank order."""
    ranked = frame[frame["rank"].notna()]
    if "shadowed_by" in ranked.columns:
        ranked = ranked[ranked["shadowed_by"].fillna("") == ""]
    return ranked.sort_values("rank").head(n)
