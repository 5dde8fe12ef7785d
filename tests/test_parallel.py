"""Work split over threads gives exactly the one-call result."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
import shapely

from siteselect import parallel
from siteselect.criteria.distance import nearest_features
from siteselect.geo import extent_4326, geometries_in


@pytest.fixture
def threads(monkeypatch: pytest.MonkeyPatch):
    """Set the thread count, with chunks of any size."""
    monkeypatch.setattr(parallel, "MIN_CHUNK", 1)

    def use(n: int) -> None:
        monkeypatch.setenv("SITESELECT_THREADS", str(n))

    return use


def test_chunks_cover_the_range_in_order(threads) -> None:
    threads(3)
    assert parallel.chunk_bounds(10) == [(0, 3), (3, 6), (6, 10)]
    assert parallel.chunk_bounds(2) == [(0, 1), (1, 2)]
    assert parallel.chunk_bounds(0) == [(0, 0)]
    threads(1)
    assert parallel.chunk_bounds(10) == [(0, 10)]


def test_map_chunks_keeps_order_and_raises(threads) -> None:
    threads(4)
    assert parallel.map_chunks(lambda a, b: list(range(a, b)), 9) == [
        [0, 1],
        [2, 3],
        [4, 5],
        [6, 7, 8],
    ]

    def fail(start: int, stop: int) -> None:
        if start > 0:
            raise ValueError(f"chunk {start}")

    with pytest.raises(ValueError, match="chunk"):
        parallel.map_chunks(fail, 8)


def _scene(seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    xy = rng.uniform(0, 5000, size=(300, 2))
    parcels = shapely.box(xy[:, 0], xy[:, 1], xy[:, 0] + rng.uniform(10, 200, 300), xy[:, 1] + 80)
    parcels[::17] = shapely.Point(1000, 1000).buffer(30)  # duplicates: ties
    parcels[5] = shapely.Polygon()
    lines = shapely.linestrings(rng.uniform(0, 5000, size=(6, 4, 2)))
    zones = shapely.Point(2500, 2500).buffer(400)
    return parcels, np.concatenate([lines, [zones]])


@pytest.mark.parametrize("seed", [1, 2, 3])
@pytest.mark.parametrize("max_distance_m", [None, 250.0])
def test_distance_in_threads_equals_one_call_and_the_naive_oracle(
    threads, seed: int, max_distance_m: float | None
) -> None:
    parcels, features = _scene(seed)
    threads(1)
    one_d, one_f = nearest_features(parcels, features, max_distance_m)
    threads(4)
    many_d, many_f = nearest_features(parcels, features, max_distance_m)
    np.testing.assert_array_equal(one_d, many_d)
    np.testing.assert_array_equal(one_f, many_f)
    for i, parcel in enumerate(parcels):  # the definition, one parcel at a time
        if parcel.is_empty:
            assert np.isnan(many_d[i])
            continue
        distances = shapely.distance(parcel, features)
        want = distances.min()
        if max_distance_m is not None and want > max_distance_m:
            assert many_d[i] == np.inf and many_f[i] == -1
            continue
        assert many_d[i] == pytest.approx(want, abs=1e-6)
        assert many_f[i] == np.flatnonzero(distances <= want + 1e-9)[0]


def test_reprojection_in_threads_equals_geopandas(threads) -> None:
    threads(3)
    rng = np.random.default_rng(7)
    x, y = rng.uniform(480_000, 520_000, 50), rng.uniform(3_600_000, 3_640_000, 50)
    series = gpd.GeoSeries(shapely.box(x, y, x + 100, y + 60), crs="EPSG:32611")
    got = geometries_in(series, "EPSG:4326")
    want = series.to_crs("EPSG:4326").to_numpy()
    assert shapely.equals_exact(got, want, tolerance=1e-12).all()
    same = geometries_in(series, "+proj=utm +zone=11 +datum=WGS84 +units=m +no_defs")
    assert same is series.to_numpy() or shapely.equals_exact(same, series.to_numpy(), 0).all()


def test_extent_box_picks_the_same_utm_zone() -> None:
    series = gpd.GeoSeries([shapely.box(480_000, 3_600_000, 520_000, 3_640_000)], crs="EPSG:32611")
    box = extent_4326(series)
    assert box.crs.to_epsg() == 4326
    assert box.estimate_utm_crs().to_epsg() == series.to_crs(4326).estimate_utm_crs().to_epsg()
    west, south, east, north = box.total_bounds
    assert -117.3 < west < east < -116.7 and 32.5 < south < north < 33.0


def test_in_order_yields_every_result_in_input_order(threads) -> None:
    import time

    threads(3)

    def slow_first(i: int) -> int:
        time.sleep(0.02 if i % 4 == 0 else 0.0)  # later items finish first
        return i * i

    assert list(parallel.in_order(slow_first, range(23))) == [i * i for i in range(23)]
    threads(1)
    assert list(parallel.in_order(slow_first, iter(range(5)))) == [0, 1, 4, 9, 16]


def test_airspace_worst_points_in_threads_equal_one_call(threads) -> None:
    from siteselect.airspace.worst import flat_ground, parcel_worst
    from tests.test_airspace import RX, RY, _model, _runway

    model = _model(_runway(length_ft=6_000.0))
    rng = np.random.default_rng(11)
    x = RX + rng.uniform(-8_000, 8_000, 200)
    y = RY + rng.uniform(-4_000, 4_000, 200)
    geoms = shapely.box(x, y, x + rng.uniform(20, 300, 200), y + 90)
    threads(1)
    one = parcel_worst(model, geoms, flat_ground, 180.0, 5.0, False)
    threads(4)
    many = parcel_worst(model, geoms, flat_ground, 180.0, 5.0, False)
    assert one.code.max() >= 0  # some parcels are under a surface
    for name, values in vars(one).items():
        np.testing.assert_array_equal(values, getattr(many, name), err_msg=name)
