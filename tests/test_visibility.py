"""The ``visibility`` kind: cumulative traffic-weighted viewshed, checked against naive sight lines.

A small world built in code (EPSG:32611): a north-south freeway (two one-way
carriageways, ``I 15``) at x = 500 m, a DEM of 10 m cells, parcels east of the
freeway; variants put a ridge between them or count one carriageway only.
"""

from __future__ import annotations

import itertools
import math
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import rasterio
import shapely
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from rasterio.transform import from_origin

from siteselect._errors import CriterionError, LayerError
from siteselect.config import load_config
from siteselect.pipeline import run
from siteselect.visibility.describe import describe_exposure, round_people
from siteselect.visibility.exposure import best_targets, candidate_targets, run_kernel
from siteselect.visibility.kernel import accumulate
from siteselect.visibility.model import Samples
from siteselect.visibility.naive import cell_exposure, site_exposure
from siteselect.visibility.terrain import Terrain, parse_height_m
from tests._world import UTM, OsmWriter

X0, Y0 = 480_000.0, 3_600_000.0
CELL = 10.0
WIDTH, HEIGHT = 500, 1000  # 5 km x 10 km
FREEWAY_X = X0 + 500.0
GROUND_M = 100.0


def _freeway(
    carriageways: int = 2, extra_primary: bool = False, offsets_m: tuple[float, ...] = ()
) -> OsmWriter:
    """The freeway, a local street through the parcels, optionally a far primary road."""
    osm = OsmWriter()
    if offsets_m:
        street = [osm.node(900 + k, FREEWAY_X + d, Y0 + 5000) for k, d in enumerate(offsets_m)]
        osm.way([*street, osm.node(899, X0 + 4990, Y0 + 5000)], highway="residential")
    ys = [Y0 + 200 + k * 200 for k in range(49)]
    north = [osm.node(100 + k, FREEWAY_X + 12, y) for k, y in enumerate(ys)]
    osm.way(north, highway="motorway", oneway="yes", ref="I 15", maxspeed="65 mph")
    if carriageways == 2:
        south = [osm.node(300 + k, FREEWAY_X - 12, y) for k, y in enumerate(ys)]
        osm.way(list(reversed(south)), highway="motorway", oneway="yes", ref="I 15")
    if extra_primary:
        xs = [X0 + 200 + k * 250 for k in range(18)]
        street = [osm.node(500 + k, x, Y0 + 7000) for k, x in enumerate(xs)]
        osm.way(street, highway="primary", name="Far Road", maxspeed="40 mph")
    return osm


def _dem(path: Path, ridge_m: float = 0.0, units: str = "m") -> Path:
    """Flat ground at 100 m; optionally a north-south ridge at x = 1,000 m."""
    values = np.full((HEIGHT, WIDTH), GROUND_M, dtype="float32")
    if ridge_m:
        x = (np.arange(WIDTH) + 0.5) * CELL
        values += (ridge_m * np.clip(1 - np.abs(x - 1000.0) / 150.0, 0, 1)).astype("float32")
    with rasterio.open(
        path,
        "w",
        driver="GTiff",
        width=WIDTH,
        height=HEIGHT,
        count=1,
        dtype="float32",
        crs=UTM,
        transform=from_origin(X0, Y0 + HEIGHT * CELL, CELL, CELL),
        nodata=-9999.0,
    ) as dst:
        dst.write(values, 1)
        dst.update_tags(1, units=units)
    return path


def _parcels(offsets_m: list[float], size_m: float = 60.0) -> gpd.GeoDataFrame:
    """Square parcels centred ``offset`` m east of the freeway, mid-way along its 10 km."""
    boxes = [
        shapely.box(
            FREEWAY_X + d - size_m / 2,
            Y0 + 5000 - size_m / 2,
            FREEWAY_X + d + size_m / 2,
            Y0 + 5000 + size_m / 2,
        )
        for d in offsets_m
    ]
    ids = [f"D{int(d):05d}" for d in offsets_m]
    return gpd.GeoDataFrame({"apn": ids}, geometry=boxes, crs=UTM)


def _config(
    folder: Path,
    *,
    offsets_m: list[float],
    ridge_m: float = 0.0,
    carriageways: int = 2,
    extra_primary: bool = False,
    entry: dict | None = None,
    layers: dict | None = None,
) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    _freeway(carriageways, extra_primary, tuple(offsets_m)).write(folder / "roads.osm")
    _dem(folder / "dem.tif", ridge_m)
    _parcels(offsets_m).to_file(folder / "parcels.gpkg", layer="parcels")
    visibility = {
        "kind": "visibility",
        "ground": "dem",
        "roads": ["motorway", "primary"],
        "building_height_ft": 40,
        "map_cell_m": 0,
        "transform": {"fn": "linear", "best": 100000, "worst": 0},
        "weight": 1,
        **(entry or {}),
    }
    config = {
        "name": "visibility world",
        "crs": UTM,
        "candidates": {"source": "parcels.gpkg", "layer": "parcels", "id": "apn"},
        "network": {"source": "roads.osm"},
        "layers": {"dem": {"source": "dem.tif", "units": "m"}, **(layers or {})},
        "criteria": {"visibility": visibility},
        "outputs": {"dir": "out"},
    }
    path = folder / "visibility.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    return path


def _raw(config: Path) -> dict[str, float]:
    result = run(load_config(config))
    table = result.candidates
    return dict(zip(table["candidate_id"], table["raw_visibility"], strict=True))


def _result(config: Path):
    return run(load_config(config))


# --- acceptance: the ridge ---------------------------------------------------------------


def test_ridge_hides_a_low_building_not_a_tall_one(tmp_path: Path) -> None:
    offsets = [1050.0]
    low = _raw(_config(tmp_path / "low", offsets_m=offsets, ridge_m=30.0))
    tall = _raw(
        _config(
            tmp_path / "tall", offsets_m=offsets, ridge_m=30.0, entry={"building_height_ft": 300}
        )
    )
    assert low["D01050"] == 0.0
    assert tall["D01050"] > 0.0
    # default volume of a motorway, one carriageway each way: the whole AADT
    assert tall["D01050"] == pytest.approx(105_000.0)


def test_flat_ground_exposure_falls_with_distance(tmp_path: Path) -> None:
    offsets = [150.0, 800.0, 1600.0, 2600.0, 3400.0]
    config = _config(tmp_path, offsets_m=offsets, entry={"time_in_view": True})
    seconds = _raw(config)
    values = [seconds[f"D{int(d):05d}"] for d in offsets]
    assert all(a > b for a, b in itertools.pairwise(values))
    assert values[-1] == 0.0  # beyond max_km = 3 km
    vehicles = _result(_config(tmp_path / "v", offsets_m=offsets)).candidates
    per_day = vehicles.set_index("candidate_id")["raw_visibility"]
    assert per_day["D00150"] == per_day["D02600"] == pytest.approx(105_000.0)
    assert per_day["D03400"] == 0.0


def test_fewer_counted_lanes_less_exposure(tmp_path: Path) -> None:
    offsets = [300.0, 1200.0]
    both = _raw(_config(tmp_path / "both", offsets_m=offsets, entry={"time_in_view": True}))
    one = _raw(
        _config(tmp_path / "one", offsets_m=offsets, carriageways=1, entry={"time_in_view": True})
    )
    for key in both:
        assert one[key] == pytest.approx(both[key] / 2, rel=0.02)
    per_day_one = _raw(_config(tmp_path / "one_v", offsets_m=offsets, carriageways=1))
    assert per_day_one["D00300"] == pytest.approx(52_500.0)  # one carriageway: half the AADT


def test_more_counted_classes_more_exposure(tmp_path: Path) -> None:
    offsets = [1500.0]
    only = _raw(_config(tmp_path / "a", offsets_m=offsets, entry={"roads": ["motorway"]}))
    more = _raw(_config(tmp_path / "b", offsets_m=offsets, extra_primary=True))
    assert more["D01500"] == pytest.approx(only["D01500"] + 15_000.0)


# --- the sentence and columns ------------------------------------------------------------


def test_columns_and_sentence_say_vehicles_per_day(tmp_path: Path) -> None:
    result = _result(_config(tmp_path, offsets_m=[400.0, 3400.0]))
    row = result.candidates.set_index("candidate_id")
    near = row.loc["D00400"]
    assert near["visibility_main_road"] == "I-15"
    assert near["visibility_vehicles_per_day"] == 105_000
    assert near["visibility_seen_from"].startswith("seen from about ")
    assert near["visibility_seen_from"].endswith("km of I-15, roughly 110,000 vehicles a day")
    # the chord of the 3 km circle along the freeway: 2 x sqrt(3000^2 - 370^2) m
    assert near["visibility_road_km_seen"] == pytest.approx(5.95, abs=0.06)
    assert row.loc["D03400", "visibility_seen_from"] == (
        "not seen from the counted roads within 3 km"
    )
    info = next(c for c in result.criteria if c.name == "visibility")
    assert info.unit == "vehicles/day"
    record = result.manifest["diagnostics"]["visibility"][0]
    assert record["volumes"]["defaults_per_day"] == {"motorway": 105_000.0}
    assert "FHWA" in record["volumes"]["defaults_source"]


def test_describe_exposure_rounds_like_a_person() -> None:
    assert round_people(143_512) == "140,000"
    assert describe_exposure(143_512, 3200, "I-15", 3200) == (
        "seen from about 3.2 km of I-15, roughly 140,000 vehicles a day"
    )
    assert "people a day" in describe_exposure(2e5, 1000, "I-5", 900, what="people")


# --- properties of the kernel ------------------------------------------------------------


def _random_case(seed: int, rows: int, cols: int, n: int) -> tuple[np.ndarray, Samples]:
    rng = np.random.default_rng(seed)
    surface = (rng.random((rows, cols)) * 40.0).astype(np.float32)
    row = rng.integers(0, rows, n)
    col = rng.integers(0, cols, n)
    route = np.sort(rng.integers(0, 5, n))
    road = route // 2
    return surface, Samples(
        row=row,
        col=col,
        eye=surface[row, col].astype(float) + 1.1,
        route=route.astype(np.int32),
        road=road.astype(np.int32),
        vehicles=np.round(rng.random(n) * 1000.0),
        view_seconds=rng.random(n) * 10.0,
        road_m=rng.random(n) * 50.0,
    )


@settings(max_examples=25)
@given(
    seed=st.integers(0, 10_000),
    rows=st.integers(3, 18),
    cols=st.integers(3, 18),
    n=st.integers(1, 12),
    low=st.floats(0.0, 30.0),
    extra=st.floats(0.0, 60.0),
)
def test_taller_building_is_never_less_visible(
    seed: int, rows: int, cols: int, n: int, low: float, extra: float
) -> None:
    surface, samples = _random_case(seed, rows, cols, n)
    index = np.arange(rows * cols, dtype=np.int32).reshape(rows, cols)
    ground = surface.ravel().astype(float)
    short = accumulate(surface, ground + low, index, samples, 400.0, 30.0, 30.0)
    tall = accumulate(surface, ground + low + extra, index, samples, 400.0, 30.0, 30.0)
    assert np.all(tall.vehicles >= short.vehicles - 1e-9)
    assert np.all(tall.road_m >= short.road_m - 1e-9)


@settings(max_examples=30)
@given(
    seed=st.integers(0, 10_000),
    rows=st.integers(3, 16),
    cols=st.integers(3, 16),
    n=st.integers(1, 10),
    height=st.floats(0.0, 50.0),
    max_m=st.floats(30.0, 500.0),
    dx=st.sampled_from([10.0, 25.0, 30.0]),
    dy=st.sampled_from([10.0, 25.0, 30.0]),
)
def test_kernel_equals_naive_sight_lines_cell_by_cell(
    seed: int, rows: int, cols: int, n: int, height: float, max_m: float, dx: float, dy: float
) -> None:
    surface, samples = _random_case(seed, rows, cols, n)
    index = np.arange(rows * cols, dtype=np.int32).reshape(rows, cols)
    target = surface.ravel().astype(float) + height
    seen = accumulate(surface, target, index, samples, max_m, dx, dy)
    for r in range(rows):
        for c in range(cols):
            k = index[r, c]
            naive = cell_exposure(surface, r, c, float(target[k]), samples, max_m, dx, dy)
            assert seen.vehicles[k] == pytest.approx(naive.vehicles, abs=1e-6)
            assert seen.view_seconds[k] == pytest.approx(naive.view_seconds, abs=1e-6)
            assert seen.road_m[k] == pytest.approx(naive.road_m, abs=1e-6)
            assert seen.top_road[k] == naive.top_road
            assert seen.top_road_m[k] == pytest.approx(naive.top_road_m, abs=1e-6)


def _covered_cells(polygon: shapely.Polygon, terrain: Terrain) -> list[tuple[int, int]]:
    """Cells a polygon covers (any positive area), found with shapely boxes."""
    rows, cols = terrain.shape
    t = terrain.transform
    out = []
    for r in range(rows):
        for c in range(cols):
            cell = shapely.box(
                t.c + c * t.a, t.f + (r + 1) * t.e, t.c + (c + 1) * t.a, t.f + r * t.e
            )
            if polygon.intersection(cell).area > 1e-6 * cell.area:
                out.append((r, c))
    return out


@settings(max_examples=20)
@given(
    seed=st.integers(0, 10_000),
    n_sites=st.integers(1, 4),
    height=st.floats(5.0, 60.0),
)
def test_cumulative_equals_naive_per_site(seed: int, n_sites: int, height: float) -> None:
    """Grid once + zonal max over each parcel == per-site sight lines from every sample."""
    rows, cols, cell = 14, 16, 20.0
    surface, samples = _random_case(seed, rows, cols, 8)
    ground = surface.copy()
    ground[0, :3] = np.nan  # a corner of unknown ground
    surface = np.where(np.isnan(ground), -1e6, surface).astype(np.float32)
    transform = from_origin(0.0, rows * cell, cell, cell)
    terrain = Terrain(ground=ground, surface=surface, transform=transform, crs=UTM)
    rng = np.random.default_rng(seed + 1)
    sites = []
    for _ in range(n_sites):
        x, y = rng.uniform(0, cols * cell - 50), rng.uniform(0, rows * cell - 50)
        w, h = rng.uniform(5, 50), rng.uniform(5, 50)
        sites.append(shapely.box(x, y, x + w, y + h).buffer(rng.uniform(0, 4)))
    geoms = np.array(sites, dtype=object)
    targets = candidate_targets(terrain, geoms, 0)
    seen = run_kernel(terrain, targets, samples, height, 250.0)
    best = best_targets(terrain, targets, seen.vehicles, geoms)
    for site, b in zip(sites, best, strict=True):
        cells = _covered_cells(site, terrain)
        naive = site_exposure(surface, ground, cells, height, samples, 250.0, cell, cell)
        if math.isnan(naive):
            assert b == -1
        else:
            assert seen.vehicles[b] == pytest.approx(naive, abs=1e-6)


def test_kernel_is_the_same_for_any_thread_count() -> None:
    import numba

    surface, samples = _random_case(7, 30, 30, 20)
    index = np.arange(900, dtype=np.int32).reshape(30, 30)
    target = surface.ravel().astype(float) + 15.0
    before = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        one = accumulate(surface, target, index, samples, 600.0, 20.0, 20.0)
    finally:
        numba.set_num_threads(before)
    many = accumulate(surface, target, index, samples, 600.0, 20.0, 20.0)
    assert np.array_equal(one.vehicles, many.vehicles)
    assert np.array_equal(one.top_road, many.top_road)


# --- inputs and messages -----------------------------------------------------------------


def test_height_is_shared_with_airspace(tmp_path: Path) -> None:
    config = _config(tmp_path, offsets_m=[500.0], entry={"building_height_ft": None})
    with pytest.raises(CriterionError, match="no airspace entry to share it with"):
        run(load_config(config))


def test_counts_layer_sets_the_volume(tmp_path: Path) -> None:
    counts = gpd.GeoDataFrame(
        {"AADT": [180_000, None], "station": ["a", "b"]},
        geometry=[shapely.Point(FREEWAY_X + 30, Y0 + 4500), shapely.Point(X0 + 4000, Y0 + 100)],
        crs=UTM,
    )
    folder = tmp_path / "c"
    folder.mkdir()
    counts.to_file(folder / "aadt.geojson")
    config = _config(
        folder,
        offsets_m=[400.0],
        entry={"traffic": "aadt"},
        layers={"aadt": {"source": "aadt.geojson"}},
    )
    result = _result(config)
    assert result.candidates["raw_visibility"].iloc[0] == pytest.approx(180_000.0)
    volumes = result.manifest["diagnostics"]["visibility"][0]["volumes"]
    assert volumes["counts_joined"] == 1 and volumes["counts_without_value"] == 1
    assert volumes["road_km_default"] == {}


def test_counts_with_text_name_the_row(tmp_path: Path) -> None:
    counts = gpd.GeoDataFrame(
        {"AADT": ["180000", "lots"]},
        geometry=[shapely.Point(FREEWAY_X, Y0 + 1500), shapely.Point(FREEWAY_X, Y0 + 900)],
        crs=UTM,
    )
    folder = tmp_path / "t"
    folder.mkdir()
    counts.to_file(folder / "aadt.geojson")
    config = _config(
        folder, offsets_m=[400.0], entry={"traffic": "aadt"}, layers={"aadt": "aadt.geojson"}
    )
    with pytest.raises(LayerError, match=r"aadt.geojson: AADT is not a number on row 2 \('lots'"):
        run(load_config(config))


def test_class_without_default_is_an_error(tmp_path: Path) -> None:
    config = _config(tmp_path, offsets_m=[400.0], entry={"roads": ["motorway", "motorway_link"]})
    with pytest.raises(CriterionError, match="no default daily volume for motorway_link"):
        run(load_config(config))


def test_buildings_block_the_view(tmp_path: Path) -> None:
    wall = gpd.GeoDataFrame(
        {"height": ["40 m"], "building:levels": [None]},
        geometry=[shapely.box(FREEWAY_X + 100, Y0 + 0, FREEWAY_X + 140, Y0 + 10000)],
        crs=UTM,
    )
    folder = tmp_path / "b"
    folder.mkdir()
    wall.to_file(folder / "buildings.geojson")
    open_view = _raw(_config(tmp_path / "open", offsets_m=[600.0]))
    walled = _raw(
        _config(
            folder,
            offsets_m=[600.0],
            entry={"buildings": {"layer": "buildings"}},
            layers={"buildings": "buildings.geojson"},
        )
    )
    assert open_view["D00600"] > 0 and walled["D00600"] == 0.0


def test_osm_heights_parse() -> None:
    assert parse_height_m("12") == 12.0
    assert parse_height_m("40 ft") == pytest.approx(12.192)
    assert math.isnan(parse_height_m("tall"))


def test_constraint_min_exposure_says_why(tmp_path: Path) -> None:
    config = _config(tmp_path, offsets_m=[400.0, 1200.0, 3400.0])
    data = yaml.safe_load(config.read_text())
    data["constraints"] = {
        "visibility": {
            "kind": "visibility",
            "ground": "dem",
            "building_height_ft": 40,
            "map_cell_m": 0,
            "min": 50_000,
        }
    }
    config.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    table = _result(config).candidates.set_index("candidate_id")
    assert not table.loc["D00400", "excluded"]
    reason = table.loc["D03400", "exclusion_reason"]
    assert reason == (
        "visibility: not seen from the counted roads within 3 km (minimum 50,000 vehicles/day)"
    )


def test_roads_are_cut_into_equal_pieces_per_carriageway(tmp_path: Path) -> None:
    from siteselect.study import load_study
    from siteselect.visibility.roads import sample_roads

    study = load_study(load_config(_config(tmp_path, offsets_m=[400.0], extra_primary=True)))
    samples = sample_roads(study.road_graph(), ("motorway", "primary"), 100.0)
    labels = list(samples.labels)
    assert labels == ["Far Road", "I 15"]
    freeway = samples.road == labels.index("I 15")
    assert len(np.unique(samples.route[freeway])) == 2  # two carriageways
    assert samples.oneway[freeway].all() and not samples.oneway[~freeway].any()
    assert samples.length_m[freeway].sum() == pytest.approx(2 * 9600.0, rel=1e-3)
    assert samples.length_m.max() <= 100.0 + 1e-9
    assert freeway.sum() == 2 * 96  # 9.6 km in pieces of at most 100 m
    # grouped by road, then route (the kernel relies on it)
    key = samples.road * 1000 + samples.route
    assert (np.diff(samples.road) >= 0).all() and len(np.unique(key)) == len(
        np.flatnonzero(np.r_[True, np.diff(key) != 0])
    )


def test_parcel_off_the_dem_has_no_value_with_a_reason(tmp_path: Path) -> None:
    config = _config(tmp_path, offsets_m=[400.0, 5200.0])  # the DEM ends 4.5 km east
    table = _result(config).candidates.set_index("candidate_id")
    assert np.isnan(table.loc["D05200", "raw_visibility"])
    assert table.loc["D05200", "exclusion_reason"] == (
        "visibility: no ground elevation under the parcel in dem (outside the DEM or on nodata)"
    )
    assert table.loc["D00400", "raw_visibility"] > 0


def test_dem_in_degrees_is_warped_to_the_working_crs(tmp_path: Path) -> None:
    from rasterio.warp import Resampling, calculate_default_transform, reproject

    config = _config(tmp_path, offsets_m=[1050.0], ridge_m=30.0)
    metric = tmp_path / "dem.tif"
    with rasterio.open(metric) as src:
        transform, width, height = calculate_default_transform(
            src.crs, "EPSG:4326", src.width, src.height, *src.bounds
        )
        profile = {**src.profile, "crs": "EPSG:4326", "transform": transform}
        profile.update(width=width, height=height)
        data = src.read(1)
    degrees = tmp_path / "dem_degrees.tif"
    with rasterio.open(degrees, "w", **profile) as dst:
        out = np.full((height, width), -9999.0, dtype="float32")
        reproject(
            data,
            out,
            src_transform=src.transform,
            src_crs=UTM,
            dst_transform=transform,
            dst_crs="EPSG:4326",
            resampling=Resampling.bilinear,
            dst_nodata=-9999.0,
        )
        dst.write(out, 1)
    text = config.read_text().replace("source: dem.tif", "source: dem_degrees.tif")
    config.write_text(text, encoding="utf-8")
    low = _raw(config)
    config.write_text(text.replace("building_height_ft: 40", "building_height_ft: 300"))
    tall = _raw(config)
    assert low["D01050"] == 0.0 and tall["D01050"] == pytest.approx(105_000.0)


def test_sentences_vectorised_equal_one_by_one() -> None:
    from siteselect.visibility.describe import describe_all

    rng = np.random.default_rng(3)
    n = 400
    exposure = np.round(rng.uniform(0, 3e5, n) * (rng.random(n) > 0.1), 0)
    exposure[:5] = np.nan
    road_m = rng.uniform(0, 9000, n) * (rng.random(n) > 0.1)
    main_m = road_m * rng.uniform(0.2, 1.0, n)
    main_road = np.array(rng.choice(["I-15", "CA-52", "Main Street"], n), dtype=object)
    view_s = rng.uniform(0, 1e7, n)
    for seconds in (None, view_s):
        vector = describe_all(exposure, road_m, main_road, main_m, view_seconds=seconds)
        for i in range(n):
            expected = (
                ""
                if np.isnan(exposure[i])
                else describe_exposure(
                    exposure[i],
                    road_m[i],
                    main_road[i],
                    main_m[i],
                    view_seconds=None if seconds is None else seconds[i],
                )
            )
            assert vector[i] == expected


def test_map_layer_of_exposure_classes(tmp_path: Path) -> None:
    result = _result(_config(tmp_path, offsets_m=[400.0], entry={"map_cell_m": 300}))
    (overlay,) = [o for o in result.overlays if o.name.startswith("Visibility:")]
    assert overlay.name == "Visibility: vehicles a day that see the building"
    assert overlay.kind == "polygons" and not overlay.show
    assert set(overlay.gdf["label"]) <= {
        "1,000-10,000 vehicles a day",
        "10,000-50,000 vehicles a day",
        "50,000-100,000 vehicles a day",
        "100,000-200,000 vehicles a day",
        "200,000+ vehicles a day",
    }
    assert "100,000-200,000 vehicles a day" in set(overlay.gdf["label"])
