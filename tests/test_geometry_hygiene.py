"""Geometry hygiene: repairs keep the drawn area; collections, degenerate and duplicate parcels."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st
from rasterio.transform import from_origin
from shapely import LineString, Point, Polygon

from siteselect._errors import CriterionError, LayerError
from siteselect.config import CandidatesSpec, LayerSpec, load_config
from siteselect.geo import m2_to_acres
from siteselect.pipeline import run
from siteselect.study import CANDIDATE_COLUMNS, load_candidates
from siteselect.study.hygiene import (
    area_as_drawn,
    clean_geometries,
    duplicate_groups,
    highest_dimension_part,
    repair_polygonal,
)
from siteselect.study.layers import read_vector
from siteselect.study.zonal import Grid, zonal_stats_grid
from tests._world import write_world

UTM = "EPSG:32611"
X0, Y0 = 485_000.0, 3_620_000.0
M2_PER_ACRE = 4046.8564224


def _square(x: float, y: float, side: float) -> list[tuple[float, float]]:
    return [(x, y), (x + side, y), (x + side, y + side), (x, y + side)]


def _hole_outside_parcel() -> Polygon:
    """A 632 m2 parcel whose hole (130 acres) was drawn outside it, as in the county file."""
    side = 632**0.5
    hole_side = (130 * M2_PER_ACRE) ** 0.5
    return Polygon(_square(X0, Y0, side), [_square(X0 + 100, Y0, hole_side)])


# --- the repair ------------------------------------------------------------------------------


def test_hole_outside_shell_keeps_the_parcel_area_unlike_geos() -> None:
    parcel = _hole_outside_parcel()
    assert shapely.is_valid_reason(parcel).startswith("Hole lies outside shell")
    repaired = repair_polygonal(np.array([parcel]))[0]
    assert repaired.is_valid and repaired.area == pytest.approx(632.0)
    assert repaired.equals(Polygon(parcel.exterior))
    # GEOS' repairs both turn the hole into a second polygon: the 130-acre candidate
    for method in ("linework", "structure"):
        geos = shapely.make_valid(parcel, method=method)
        assert m2_to_acres(geos.area) > 130


def test_known_repairs() -> None:
    bowtie = Polygon([(0, 0), (10, 10), (10, 0), (0, 10)])
    overlapping_hole = Polygon(_square(0, 0, 10), [_square(5, 5, 10)])
    touching_holes = Polygon(_square(0, 0, 10), [_square(1, 1, 4), _square(3, 3, 4)])
    multi = shapely.MultiPolygon([Polygon(_square(0, 0, 10)), Polygon(_square(5, 0, 10))])
    got = repair_polygonal(np.array([bowtie, overlapping_hole, touching_holes, multi]))
    assert [g.area for g in got] == pytest.approx([50.0, 75.0, 100 - 28, 150.0])
    assert all(g.is_valid for g in got)


def _faces_area(ring: np.ndarray) -> shapely.Geometry:
    """Everything a ring encloses, from its noded linework (independent of make_valid)."""
    line = LineString(np.vstack([ring, ring[:1]]))
    faces = shapely.get_parts(shapely.polygonize(shapely.get_parts(shapely.node(line))))
    return shapely.union_all(faces) if len(faces) else Polygon()


coordinate = st.integers(-20, 120).map(float)
GRID_X, GRID_Y = (
    a.ravel() for a in np.meshgrid(np.arange(-20, 120, 0.5), np.arange(-20, 120, 0.5))
)
ring = st.lists(st.tuples(coordinate, coordinate), min_size=3, max_size=7).map(np.array)
simple_ring = ring.filter(lambda r: Polygon(r).is_valid and Polygon(r).area > 0)
"""A hole drawn as a proper ring, wherever it lies (inside, across or outside the shell)."""


@settings(derandomize=True, max_examples=150, deadline=None)
@given(ring, st.lists(simple_ring, max_size=3))
def test_repair_never_adds_area_and_never_covers_a_hole(
    shell: np.ndarray, holes: list[np.ndarray]
) -> None:
    """Any shell (self-intersecting too) and simple holes anywhere: shells bound, holes remove."""
    polygon = Polygon(shell, holes)
    repaired = repair_polygonal(np.array([polygon]))[0]
    assert repaired.is_valid
    assert repaired.is_empty or repaired.geom_type in ("Polygon", "MultiPolygon")
    enclosed = _faces_area(shell)
    assert repaired.area <= enclosed.area + 1e-6 * max(1.0, enclosed.area)
    # point-in-polygon on a grid (overlay on near-collinear slivers is not exact enough):
    # points well inside the repair lie inside the shell, and never well inside a hole
    inside = shapely.contains_xy(repaired.buffer(-0.01), GRID_X, GRID_Y)
    assert shapely.contains_xy(enclosed, GRID_X[inside], GRID_Y[inside]).all()
    for hole in holes:
        in_hole = shapely.contains_xy(Polygon(hole).buffer(-0.01), GRID_X, GRID_Y)
        assert not shapely.contains_xy(repaired, GRID_X[in_hole], GRID_Y[in_hole]).any()
    if polygon.is_valid:
        assert repaired.area == pytest.approx(polygon.area)


@settings(derandomize=True, max_examples=100, deadline=None)
@given(st.lists(ring, min_size=1, max_size=4))
def test_clean_geometries_leaves_valid_ones_alone_and_reports_each(shells) -> None:
    geoms = np.array([Polygon(s) for s in shells], dtype=object)
    hygiene = clean_geometries(geoms)
    valid = shapely.is_valid(geoms)
    assert (hygiene.status[valid] == "").all()
    assert all(hygiene.geometry[i] is geoms[i] for i in np.flatnonzero(valid))
    assert set(hygiene.status[~valid]) <= {"repaired", "degenerate"}
    kept = ~hygiene.dropped
    assert shapely.is_valid(hygiene.geometry[kept]).all()
    degenerate = hygiene.status == "degenerate"
    assert (hygiene.area_after[degenerate] == 0).all()


def test_collections_zero_area_and_lines() -> None:
    gc = shapely.GeometryCollection(
        [shapely.box(0, 0, 1, 1), LineString([(0, 0), (5, 5)]), shapely.box(0.5, 0, 2, 1)]
    )
    assert highest_dimension_part(gc).area == pytest.approx(2.0)
    lines_and_points = shapely.GeometryCollection([LineString([(0, 0), (1, 1)]), Point(3, 3)])
    assert highest_dimension_part(lines_and_points).geom_type == "LineString"
    flat = Polygon([(0, 0), (10, 0), (20, 0), (0, 0)])
    hygiene = clean_geometries(np.array([gc, flat, None, LineString([(1, 1), (1, 1)])]))
    assert hygiene.status.tolist() == ["reduced", "degenerate", "missing", "degenerate"]
    assert hygiene.geometry[1] is None and hygiene.geometry[3] is None
    assert area_as_drawn(np.array([_hole_outside_parcel()]))[0] == 0.0  # negative, floored
    # flat but valid (what a reprojected flat polygon becomes), and a thin real strip
    nearly_flat = Polygon([(0, 0), (50, 1e-9), (100, 0)])
    strip = shapely.box(0, 0, 10_000, 0.05)
    assert nearly_flat.is_valid and nearly_flat.area > 0
    hygiene = clean_geometries(np.array([nearly_flat, strip]))
    assert hygiene.status.tolist() == ["degenerate", ""]
    assert hygiene.reason[0] == "zero area (its vertices lie on a line)"


def test_duplicates_ignore_ring_start_and_orientation() -> None:
    a = Polygon(_square(0, 0, 10))
    b = Polygon([(10, 10), (10, 0), (0, 0), (0, 10)])  # other start, other orientation
    first, duplicate = duplicate_groups(np.array([Point(1, 1), a, shapely.box(0, 0, 10, 11), b]))
    assert first.tolist() == [0, 1, 2, 1] and duplicate.tolist() == [False, False, False, True]


# --- the candidates --------------------------------------------------------------------------


def _candidate_file(folder: Path) -> Path:
    """Parcels with every kind of geometry trouble, in file order (rows 1..n)."""
    box = Polygon(_square(X0 + 5000, Y0, 200))
    same_box_other_start = Polygon([*_square(X0 + 5000, Y0, 200)[1:], (X0 + 5000, Y0)])
    rows = [
        ("K", shapely.box(X0 + 3000, Y0, X0 + 3300, Y0 + 300)),  # row 1: fine
        ("A", _hole_outside_parcel()),  # row 2: hole outside shell
        ("Z", box),  # row 3: duplicate of G (later id)
        ("B", Polygon([(X0, Y0 + 900), (X0 + 90, Y0 + 990), (X0 + 90, Y0 + 900), (X0, Y0 + 990)])),
        ("C", Polygon([(X0, Y0), (X0 + 10, Y0), (X0 + 20, Y0), (X0, Y0)])),  # row 5: flat
        ("D", LineString([(X0, Y0 + 2000), (X0 + 500, Y0 + 2000)])),  # row 6: a line
        (
            "E",
            shapely.GeometryCollection(
                [shapely.box(X0 + 4000, Y0, X0 + 4100, Y0 + 100), Point(X0 + 4500, Y0)]
            ),
        ),
        ("F", None),  # row 8: no geometry
        ("G", box),  # row 9
        ("H", same_box_other_start),  # row 10: duplicate of G
        ("P", Point(X0 + 6000, Y0 + 6000)),  # row 11: a point candidate
    ]
    frame = gpd.GeoDataFrame({"apn": [r[0] for r in rows]}, geometry=[r[1] for r in rows], crs=UTM)
    path = folder / "messy.gpkg"
    pyogrio.write_dataframe(frame, path, layer="parcels", geometry_type="Unknown")
    return path


def test_candidates_flag_repairs_drop_degenerate_and_report_duplicates(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    spec = CandidatesSpec(source=_candidate_file(tmp_path), id="apn")
    diagnostics: dict = {}
    with caplog.at_level(logging.WARNING):
        frame, _ = load_candidates(spec, "auto", diagnostics)
    assert frame["candidate_id"].tolist() == ["A", "B", "E", "G", "H", "K", "P", "Z"]
    assert set(CANDIDATE_COLUMNS) <= set(frame.columns)
    by_id = frame.set_index("candidate_id")
    # the 632 m2 parcel stays 632 m2, flagged, with the area as drawn
    assert by_id.loc["A", "area_acres"] == pytest.approx(m2_to_acres(632.0), rel=1e-3)
    assert by_id.loc["A", "geometry_repaired"] and by_id.loc["A", "source_row"] == 2
    assert by_id.loc["A", "area_before_repair_acres"] == 0.0
    assert by_id.loc["B", "geometry_repaired"]  # bowtie: both lobes
    assert by_id.loc["B", "area_acres"] == pytest.approx(m2_to_acres(2 * 45 * 90 / 2), rel=1e-3)
    assert by_id.loc["E", "geometry_repaired"] and by_id.loc["E", "area_acres"] == pytest.approx(
        m2_to_acres(100 * 100), rel=1e-3
    )
    assert not by_id.loc["K", "geometry_repaired"]
    assert np.isnan(by_id.loc["K", "area_before_repair_acres"])
    assert by_id.loc["P"].geometry.geom_type == "Point"
    assert by_id["duplicate_of"].to_dict() == {
        "A": "",
        "B": "",
        "E": "",
        "G": "",
        "H": "G",
        "K": "",
        "P": "",
        "Z": "G",
    }
    log = caplog.text
    assert "1 candidate(s) of messy.gpkg have no geometry and are dropped: 'F' (row 8)" in log
    assert "have no area (a degenerate polygon) and are dropped: 'C' (row 5)" in (log)
    assert "1 candidate(s) of messy.gpkg are lines, not parcels or points and are dropped: " in log
    assert "'D' (row 6)" in log
    # the bowtie's lobes cancel in the ring formula: 0 as drawn, both lobes once repaired
    assert "repair changed the area of 2 candidate(s) by more than 10%" in log
    assert "'A' (row 2), Hole lies outside shell" in log and "0 -> 0.156 acres" in log
    assert "2 candidate(s) of messy.gpkg repeat the exact geometry of another" in log
    assert "'H' = 'G'" in log and "set 'candidates: {dedupe: true}'" in log
    record = diagnostics["candidates"]
    assert record["missing"]["count"] == 1 and record["degenerate"]["count"] == 1
    assert record["lines"] == {"count": 1, "features": ["'D' (row 6)"]}
    assert record["repaired"]["count"] == 2 and record["reduced"]["count"] == 1
    assert record["area_changed_over_10pct"] == 2
    assert record["duplicates"]["examples"] == [{"kept": "G", "duplicates": ["H", "Z"]}]
    assert record["duplicates"]["dropped_ids"] == []
    hole = next(f for f in record["repaired"]["features"] if f["feature"] == "'A' (row 2)")
    assert hole["area_before_acres"] == 0.0 and hole["area_after_acres"] == pytest.approx(0.1562)


def test_dedupe_keeps_the_first_by_id_and_records_the_dropped(tmp_path: Path) -> None:
    spec = CandidatesSpec(source=_candidate_file(tmp_path), id="apn", dedupe=True)
    diagnostics: dict = {}
    frame, _ = load_candidates(spec, "auto", diagnostics)
    assert "G" in frame["candidate_id"].tolist()
    assert not {"H", "Z"} & set(frame["candidate_id"])
    assert diagnostics["candidates"]["duplicates"]["dropped_ids"] == ["H", "Z"]
    assert diagnostics["candidates"]["duplicates"]["dedupe"] is True


def test_default_ids_are_source_rows(tmp_path: Path) -> None:
    spec = CandidatesSpec(source=_candidate_file(tmp_path))
    frame, _ = load_candidates(spec, "auto")
    ids = dict(zip(frame["candidate_id"], frame["source_row"], strict=True))
    assert ids["C000002"] == 2 and ids["C000011"] == 11
    assert "C000008" not in ids  # row 8 had no geometry


def test_where_filter_keeps_source_rows(tmp_path: Path) -> None:
    path = _candidate_file(tmp_path)
    spec = CandidatesSpec(source=path, id="apn", where={"apn": ["G", "H", "P"]})
    frame, _ = load_candidates(spec, "auto")
    assert frame.set_index("candidate_id")["source_row"].to_dict() == {"G": 9, "H": 10, "P": 11}


def test_only_lines_is_an_error(tmp_path: Path) -> None:
    frame = gpd.GeoDataFrame(
        {"apn": ["R1", "R2"]},
        geometry=[LineString([(X0, Y0), (X0 + 9, Y0)]), Polygon([(X0, Y0), (X0 + 5, Y0)] * 2)],
        crs=UTM,
    )
    path = tmp_path / "roads.gpkg"
    pyogrio.write_dataframe(frame, path, geometry_type="Unknown")
    with pytest.raises(LayerError, match=r"roads.gpkg has no polygon or point left .*1 lines"):
        load_candidates(CandidatesSpec(source=path, id="apn"), "auto")


def test_every_layer_gets_the_same_hygiene(tmp_path: Path, caplog) -> None:
    zones = gpd.GeoDataFrame(
        {"GEOID": ["a", "b", "c"]},
        geometry=[_hole_outside_parcel(), shapely.box(X0, Y0, X0 + 9, Y0 + 9), None],
        crs=UTM,
    )
    path = tmp_path / "zones.gpkg"
    pyogrio.write_dataframe(zones, path)
    diagnostics: dict = {}
    with caplog.at_level(logging.WARNING):
        frame = read_vector(LayerSpec(source=path), "layers.zones", diagnostics=diagnostics)
    assert frame.index.tolist() == [0, 1]
    assert frame.geometry.area.tolist() == pytest.approx([632.0, 81.0])
    assert "layers.zones: 1 feature(s) without geometry skipped (row 3)" in caplog.text
    assert "repaired 1 invalid geometry (first: row 1, Hole lies outside shell" in caplog.text
    assert "changed the area of 1 feature(s) by more than 10% (row 1: from 0 as drawn)" in (
        caplog.text
    )
    assert diagnostics["layers.zones"]["repaired"]["count"] == 1


def test_zonal_message_names_the_candidate_not_an_internal_index(tmp_path: Path) -> None:
    grid = Grid(from_origin(0, 10, 1, 1), 10, 10)
    line = LineString([(0, 0), (5, 5)])
    with pytest.raises(CriterionError) as info:
        zonal_stats_grid(
            np.array([Point(1, 1), line]),
            grid,
            lambda window: np.ones((int(window.height), int(window.width))),
            labels=["'P1' (row 7)", "'P2' (row 504)"],
        )
    message = str(info.value)
    assert "candidate 'P2' (row 504) is a LineString" in message
    assert "buffer lines" not in message


def test_run_on_messy_parcels_flags_and_records(tmp_path: Path) -> None:
    """End to end: a zero-area parcel (once 'feature 503 is a MultiLineString') is dropped
    by name, a repaired parcel is flagged in sites.csv and run.json records everything."""
    config_path = write_world(tmp_path / "world")
    parcels = gpd.read_file(tmp_path / "world" / "parcels.gpkg", layer="parcels").to_crs(UTM)
    p22 = parcels.loc[parcels["apn"] == "P22", "geometry"].iloc[0]
    x, y = p22.bounds[0], p22.bounds[1]
    extra = gpd.GeoDataFrame(
        {"apn": ["PZ", "P22dup"], "name": ["flat", "copy"]},
        geometry=[Polygon([(x, y), (x + 50, y), (x + 100, y), (x, y)]), p22],
        crs=UTM,
    )
    messy = pd.concat([parcels, extra], ignore_index=True)
    p33 = messy["apn"] == "P33"
    shell = messy.loc[p33, "geometry"].iloc[0].exterior
    hole = _square(shell.bounds[2] + 20, shell.bounds[1], 300)
    messy.loc[p33, "geometry"] = Polygon(shell, [hole])
    pyogrio.write_dataframe(
        messy.to_crs("EPSG:2230"), tmp_path / "world" / "parcels.gpkg", layer="parcels"
    )
    result = run(load_config(config_path))
    table = result.candidates.set_index("candidate_id")
    assert "PZ" not in table.index
    assert table.loc["P22dup", "duplicate_of"] == "P22"
    assert table.loc["P33", "geometry_repaired"]
    assert table.loc["P33", "area_acres"] == pytest.approx(table.loc["P32", "area_acres"])
    assert table.loc["P33", "source_row"] == parcels.index[parcels["apn"] == "P33"][0] + 1
    geometry = result.manifest["diagnostics"]["geometry"]
    json.dumps(geometry)  # JSON-serialisable
    degenerate = geometry["candidates"]["degenerate"]["features"]
    assert [f["feature"] for f in degenerate] == [f"'PZ' (row {len(parcels) + 1})"]
    assert geometry["candidates"]["duplicates"]["examples"] == [
        {"kept": "P22", "duplicates": ["P22dup"]}
    ]
    assert "shells minus holes" in geometry["repair_method"]


def test_missing_ids_name_their_rows(tmp_path: Path) -> None:
    frame = gpd.GeoDataFrame(
        {"apn": ["A", None, "C", None]},
        geometry=[shapely.box(X0 + i * 100, Y0, X0 + i * 100 + 50, Y0 + 50) for i in range(4)],
        crs=UTM,
    )
    path = tmp_path / "ids.gpkg"
    pyogrio.write_dataframe(frame, path)
    with pytest.raises(LayerError) as info:
        load_candidates(CandidatesSpec(source=path, id="apn"), "auto")
    assert str(info.value) == (
        "candidates.id: 2 candidate(s) have no apn (rows 2, 4); fill them in or omit 'id:'"
    )
