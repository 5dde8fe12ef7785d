"""The distance and zones kinds' geometry against naive shapely oracles.

``nearest_features`` indexes line and polygon-outline *segments*; these tests
check it against ``min(shapely.distance(candidate, feature))`` over random
polygons, lines, points and polygons (overlapping, multi-part, with holes), and
``share_inside`` against the area of the intersection with the union of zones.
"""

from __future__ import annotations

import numpy as np
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

from siteselect.criteria.distance import feature_segments, nearest_features
from siteselect.criteria.zones import share_inside


def random_polygons(rng: np.random.Generator, n: int, spread: float, size: float) -> np.ndarray:
    """``n`` star-shaped polygons of 3-12 vertices (some concave) scattered over ``spread``."""
    out = []
    for _ in range(n):
        k = int(rng.integers(3, 13))
        angles = (np.arange(k) + rng.uniform(0, 0.9, k)) * 2 * np.pi / k  # gaps < pi: simple
        radii = rng.uniform(0.2, 1.0, k) * size
        centre = rng.uniform(0, spread, 2)
        out.append(
            shapely.Polygon(
                np.column_stack([np.cos(angles), np.sin(angles)]) * radii[:, None] + centre
            )
        )
    return np.array(out, dtype=object)


def random_lines(rng: np.random.Generator, n: int, spread: float, vertices: int) -> np.ndarray:
    """``n`` random walks of ``vertices`` vertices (they cross each other and themselves)."""
    out = []
    for _ in range(n):
        steps = rng.normal(0, spread / vertices * 3, (vertices, 2))
        out.append(shapely.LineString(rng.uniform(0, spread, 2) + np.cumsum(steps, axis=0)))
    return np.array(out, dtype=object)


def naive_nearest(candidates: np.ndarray, features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distance to every feature, one pair at a time; the first feature among the nearest."""
    table = np.array([[shapely.distance(c, f) for f in features] for c in candidates])
    return table.min(axis=1), table.argmin(axis=1)


def mixed_features(rng: np.random.Generator) -> np.ndarray:
    """Lines, a multi-line, points, a multi-point, polygons (one with a hole), a collection."""
    lines = random_lines(rng, 3, 1000, 60)
    polygons = random_polygons(rng, 3, 1000, 120)
    holed = shapely.Polygon(
        [(300, 300), (700, 300), (700, 700), (300, 700)],
        [[(400, 400), (600, 400), (600, 600), (400, 600)]],
    )
    return np.array(
        [
            *lines,
            shapely.MultiLineString(list(random_lines(rng, 2, 1000, 20))),
            shapely.Point(rng.uniform(0, 1000, 2)),
            shapely.MultiPoint(rng.uniform(0, 1000, (3, 2))),
            *polygons,
            holed,
            shapely.GeometryCollection([shapely.Point(900, 100), polygons[0].buffer(30)]),
        ],
        dtype=object,
    )


@settings(max_examples=25)
@given(seed=st.integers(0, 2**32 - 1))
def test_nearest_features_equals_naive(seed: int) -> None:
    rng = np.random.default_rng(seed)
    candidates = random_polygons(rng, 40, 1000, 40)
    features = mixed_features(rng)
    distance, index = nearest_features(candidates, features)
    want_distance, want_index = naive_nearest(candidates, features)
    np.testing.assert_allclose(distance, want_distance, rtol=1e-12, atol=1e-9)
    # the named feature is a nearest one, the first of those in layer order
    np.testing.assert_allclose(
        shapely.distance(candidates, features[index]), want_distance, rtol=1e-12, atol=1e-9
    )
    assert index.tolist() == want_index.tolist()


def test_ties_name_the_first_feature_in_layer_order() -> None:
    candidate = shapely.box(0, 0, 10, 10)
    features = np.array(
        [
            shapely.LineString([(20, -50), (20, 50)]),  # 10 m away
            shapely.LineString([(-10, -50), (-10, 50)]),  # 10 m away too
            shapely.box(5, 5, 30, 30),  # overlaps: 0 m
            shapely.LineString([(5, -5), (5, 15)]),  # crosses: 0 m
        ],
        dtype=object,
    )
    distance, index = nearest_features(np.array([candidate]), features)
    assert distance.tolist() == [0.0] and index.tolist() == [2]
    distance, index = nearest_features(np.array([candidate]), features[:2])
    assert distance.tolist() == [10.0] and index.tolist() == [0]


def test_candidate_inside_a_polygon_feature_is_at_zero() -> None:
    """Its outline's segments are 100 m away; the polygon itself is at 0 m."""
    features = np.array([shapely.box(-100, -100, 200, 200), shapely.Point(500, 500)])
    distance, index = nearest_features(np.array([shapely.box(0, 0, 10, 10)]), features)
    assert distance.tolist() == [0.0] and index.tolist() == [0]


def test_candidate_around_a_feature_is_at_zero_and_a_holed_one_measures_to_its_hole() -> None:
    """Measured from the candidate's outline, with what lies inside found apart."""
    inside = shapely.LineString([(4, 4), (5, 6), (6, 4)])  # wholly inside the first candidate
    in_hole = shapely.Point(1050, 50)  # in the second candidate's hole, 20 m from its rim
    candidates = np.array(
        [
            shapely.box(0, 0, 10, 10),
            shapely.Polygon(
                [(1000, 0), (1100, 0), (1100, 100), (1000, 100)],
                [[(1030, 30), (1070, 30), (1070, 70), (1030, 70)]],
            ),
            shapely.MultiPolygon([shapely.box(200, 0, 210, 10), shapely.box(4.5, 5, 5.5, 5.2)]),
        ]
    )
    features = np.array([in_hole, inside], dtype=object)
    distance, index = nearest_features(candidates, features)
    want, _ = naive_nearest(candidates, features)
    assert distance.tolist() == want.tolist() == [0.0, 20.0, 0.0]
    assert index.tolist() == [1, 0, 1]


def test_inside_a_hole_is_measured_to_the_hole() -> None:
    holed = shapely.Polygon(
        [(0, 0), (100, 0), (100, 100), (0, 100)], [[(20, 20), (80, 20), (80, 80), (20, 80)]]
    )
    distance, _ = nearest_features(np.array([shapely.box(45, 45, 55, 55)]), np.array([holed]))
    assert distance.tolist() == [25.0]


def test_empty_layer_and_empty_candidates_have_no_value() -> None:
    candidates = np.array([shapely.box(0, 0, 1, 1), shapely.Polygon()], dtype=object)
    distance, index = nearest_features(candidates, np.array([shapely.LineString()], dtype=object))
    assert np.isnan(distance).all() and (index == -1).all()
    distance, index = nearest_features(candidates, np.array([shapely.Point(3, 1)]))
    assert distance[0] == 2.0 and np.isnan(distance[1]) and index.tolist() == [0, -1]


def test_nothing_within_the_search_distance() -> None:
    candidates = np.array([shapely.box(0, 0, 1, 1), shapely.Polygon(), shapely.box(0, 5, 1, 6)])
    features = np.array([shapely.LineString([(10, 0), (10, 1)]), shapely.box(20, 0, 30, 30)])
    distance, index = nearest_features(candidates, features, max_distance_m=5)
    assert distance[[0, 2]].tolist() == [np.inf, np.inf] and np.isnan(distance[1])
    assert index.tolist() == [-1, -1, -1]
    distance, index = nearest_features(candidates, features, max_distance_m=9)
    assert distance[[0, 2]].tolist() == [9.0, np.inf] and index.tolist() == [0, -1, -1]


def test_segments_cover_every_line_and_ring_vertex() -> None:
    holed = shapely.Polygon([(0, 0), (9, 0), (9, 9)], [[(5, 1), (8, 1), (8, 4)]])
    line = shapely.LineString([(0, 0), (1, 0), (1, 1), (2, 5)])
    pieces, owner, polygons = feature_segments(np.array([line, shapely.Point(7, 7), holed]))
    assert sorted(shapely.get_num_points(pieces[owner == 0]).tolist()) == [2, 2, 2]
    assert shapely.get_type_id(pieces[owner == 1]).tolist() == [0]
    assert (owner == 2).sum() == 3 + 3  # two triangles' edges
    assert polygons.tolist() == [2]
    assert shapely.equals(shapely.union_all(pieces[owner == 0]), line)


def naive_share(candidates: np.ndarray, zones: np.ndarray) -> np.ndarray:
    union = shapely.union_all(zones)
    return np.array(
        [100 * shapely.area(shapely.intersection(c, union)) / shapely.area(c) for c in candidates]
    )


@settings(max_examples=25)
@given(seed=st.integers(0, 2**32 - 1))
def test_share_inside_equals_naive(seed: int) -> None:
    rng = np.random.default_rng(seed)
    candidates = random_polygons(rng, 60, 1000, 50)
    zones = np.concatenate(
        [
            shapely.buffer(random_lines(rng, 2, 1000, 10), 60, quad_segs=16),
            random_polygons(rng, 4, 1000, 250),  # overlapping each other and the buffers
        ]
    )
    zones = zones[shapely.get_type_id(zones) >= 3]
    pct, first = share_inside(candidates, zones)
    np.testing.assert_allclose(pct, naive_share(candidates, zones), rtol=1e-9, atol=1e-9)
    touching = [np.flatnonzero(shapely.intersects(c, zones)) for c in candidates]
    assert first.tolist() == [t[0] if t.size else -1 for t in touching]


def test_share_inside_points_and_whole_candidates() -> None:
    zone = shapely.box(0, 0, 100, 100)
    candidates = np.array(
        [
            shapely.Point(50, 50),
            shapely.Point(100, 50),
            shapely.Point(200, 0),
            shapely.box(10, 10, 20, 20),
            shapely.box(90, 0, 110, 10),
        ]
    )
    pct, first = share_inside(candidates, np.array([zone]))
    assert pct.tolist() == pytest.approx([100.0, 100.0, 0.0, 100.0, 50.0])
    assert first.tolist() == [0, 0, -1, 0, 0]


@pytest.fixture(scope="module")
def world_study(world_config):
    from siteselect.config import load_config
    from siteselect.study import load_study

    return load_study(load_config(world_config))


def _with_entries(study, constraints=None, criteria=None):
    import dataclasses

    update = {}
    if constraints is not None:
        update["constraints"] = constraints
    if criteria is not None:
        update["criteria"] = {**study.config.criteria, **criteria}
    return dataclasses.replace(study, config=study.config.model_copy(update=update))


def test_setback_only_layer_is_searched_up_to_min_m(world_study) -> None:
    from siteselect.criteria.distance import DistanceSpec, measure, setback_search_m
    from siteselect.decision.scoring import constraint_failures, constraint_reasons
    from siteselect.decision.transforms import Linear

    setback = DistanceSpec(kind="distance", layer="runway", min_m=600)
    wider = DistanceSpec(kind="distance", layer="runway", min_m=900)
    study = _with_entries(world_study, constraints={"a": setback, "b": wider})
    assert setback_search_m(setback, study) == 900
    banded = measure(setback, study)
    everywhere = _with_entries(
        world_study,
        constraints={"a": setback},
        criteria={
            "runway_distance": DistanceSpec(
                kind="distance",
                layer="runway",
                weight=1,
                transform=Linear(fn="linear", best=5000, worst=0),
            )
        },
    )
    assert setback_search_m(setback, everywhere) is None
    exact = measure(setback, everywhere)
    near = exact.values <= 900
    assert near.any() and (~near).any()
    assert banded.values[near].tolist() == exact.values[near].tolist()
    assert np.isposinf(banded.values[~near]).all()
    for spec in (setback, wider):
        lower, upper = spec.bounds()
        assert constraint_failures(banded, lower, upper).tolist() == (
            constraint_failures(exact, lower, upper).tolist()
        )
        assert constraint_reasons("s", banded, lower, upper).tolist() == (
            constraint_reasons("s", exact, lower, upper).tolist()
        )
    near_runway = DistanceSpec(kind="distance", layer="runway", max_m=2000)
    assert (
        setback_search_m(setback, _with_entries(world_study, {"a": setback, "b": near_runway}))
        is None
    )


def test_share_inside_without_zones() -> None:
    pct, first = share_inside(np.array([shapely.box(0, 0, 1, 1)]), np.array([], dtype=object))
    assert pct.tolist() == [0.0] and first.tolist() == [-1]
