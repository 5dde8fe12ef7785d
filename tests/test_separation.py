"""Distinct top sites: shadowed_by against a naive greedy oracle; RunResult.top skips them."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

from siteselect.decision.results import RunResult
from siteselect.decision.separation import neighbours_within, shadowed_by


def _naive(geoms, ranks, ids, separation, top_n) -> list[str]:
    """Walk the ranking; keep a site unless a kept one is within ``separation``."""
    order = sorted((r, i) for i, r in enumerate(ranks) if r is not None)
    tops: list[int] = []
    out = [""] * len(geoms)
    for _, i in order:
        near = [t for t in tops if geoms[t].distance(geoms[i]) <= separation]
        if near:
            out[i] = ids[near[0]]
        elif len(tops) < top_n:
            tops.append(i)
    # below the last top site, only candidates near a top site are shadowed
    return out


def test_two_clusters_keep_one_site_each() -> None:
    boxes = [shapely.box(x, 0, x + 100, 100) for x in (0, 150, 300, 5000, 5200, 9000)]
    ranks = pd.array([1, 2, 3, 4, 5, None], dtype="Int64")
    ids = np.array(["a", "b", "c", "d", "e", "f"], dtype=object)
    got = shadowed_by(np.array(boxes), ranks, ids, 500.0, 10)
    assert got.tolist() == ["", "a", "a", "", "d", ""]
    assert shadowed_by(np.array(boxes), ranks, ids, 0, 10).tolist() == [""] * 6
    assert shadowed_by(np.array(boxes), ranks, ids, None, 10).tolist() == [""] * 6
    # only top_n top sites are chosen: with one, the second cluster is not shadowed
    assert shadowed_by(np.array(boxes), ranks, ids, 500.0, 1).tolist() == [
        "", "a", "a", "", "", "",
    ]  # fmt: skip


@settings(derandomize=True, max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(st.floats(0, 3000), st.floats(0, 3000), st.floats(10, 300), st.booleans()),
        min_size=1,
        max_size=40,
    ),
    st.sampled_from([0.0, 100.0, 500.0, 1200.0]),
    st.integers(1, 8),
)
def test_matches_the_naive_greedy_walk(rows, separation, top_n) -> None:
    geoms = [shapely.box(x, y, x + s, y + s) for x, y, s, _ in rows]
    ids = np.array([f"c{i:02d}" for i in range(len(rows))], dtype=object)
    ranked = [i for i, row in enumerate(rows) if not row[3]]
    ranks: list[int | None] = [None] * len(rows)
    for position, i in enumerate(ranked):
        ranks[i] = position + 1
    got = shadowed_by(np.array(geoms), pd.array(ranks, dtype="Int64"), ids, separation, top_n)
    want = _naive(geoms, ranks, ids, separation, top_n) if separation else [""] * len(rows)
    # the naive walk also shadows below the top_n-th site; so does the product: compare all
    assert got.tolist() == want


def test_run_result_top_skips_shadowed_sites() -> None:
    frame = gpd.GeoDataFrame(
        {
            "candidate_id": ["a", "b", "c", "d"],
            "rank": pd.array([1, 2, 3, None], dtype="Int64"),
            "shadowed_by": ["", "a", "", ""],
        },
        geometry=[shapely.box(i, 0, i + 1, 1) for i in range(4)],
        crs="EPSG:32611",
    )
    result = RunResult("t", pyproj.CRS("EPSG:32611"), frame, [], [], top_n=2)
    assert result.top()["candidate_id"].tolist() == ["a", "c"]
    assert result.top(5)["candidate_id"].tolist() == ["a", "c"]
    legacy = RunResult("t", pyproj.CRS("EPSG:32611"), frame.drop(columns="shadowed_by"), [], [])
    assert legacy.top(2)["candidate_id"].tolist() == ["a", "b"]


def test_neighbour_lists_match_brute_force_and_replay_the_rule() -> None:
    rng = np.random.default_rng(3)
    xy = rng.uniform(0, 3000, (60, 2))
    geoms = shapely.box(xy[:, 0], xy[:, 1], xy[:, 0] + 80, xy[:, 1] + 50)
    offsets, near = neighbours_within(geoms, 400.0)
    distance = shapely.distance(geoms[:, None], geoms[None, :])
    for i in range(len(geoms)):
        want = [j for j in range(len(geoms)) if j != i and distance[i, j] <= 400.0]
        assert near[offsets[i] : offsets[i + 1]].tolist() == want
    # a client replaying its ranking with the lists finds the same top sites
    ranks = rng.permutation(len(geoms)) + 1
    ids = np.array([f"s{i}" for i in range(len(geoms))], dtype=object)
    shadow = shadowed_by(geoms, ranks, ids, 400.0, 8)
    tops: list[int] = []
    for i in np.argsort(ranks):
        if not set(near[offsets[i] : offsets[i + 1]].tolist()) & set(tops):
            tops.append(int(i))
        if len(tops) == 8:
            break
    assert sorted(tops) == sorted(np.flatnonzero((shadow == "") & (ranks <= ranks[tops[-1]])))
    empty_offsets, empty = neighbours_within(geoms, 0)
    assert len(empty) == 0 and len(empty_offsets) == len(geoms) + 1
