"""Tests of the embedded demo-region generator (``siteselect demo-data``)."""

from __future__ import annotations

import hashlib
import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable
from pathlib import Path

import geopandas as gpd
import networkx as nx
import numpy as np
import osmnx as ox
import pandas as pd
import pyogrio
import pyproj
import pytest
import rasterio
import shapely

from siteselect.demo import generate

REPO = Path(__file__).resolve().parents[1]
COMMITTED = REPO / "layers" / "demo"
FILES = (
    "README.md",
    "airports.csv",
    "border.geojson",
    "coastline.geojson",
    "dem.tif",
    "faults.geojson",
    "hospitals.geojson",
    "parcels.gpkg",
    "pga_2pct50yr.tif",
    "roads.osm",
    "runways.csv",
    "study_area.geojson",
    "tracts.gpkg",
    "traffic_counts.geojson",
)
FREEWAY_REFS = ("I 5", "I 8", "I 15", "I 805", "CA 163", "CA 52", "CA 94")
BORDER_WEST, BORDER_EAST = (-117.1241, 32.5343), (-114.7196, 32.7186)
ACRE_FT2 = 43560.0
M_TO_FT = 3.280833333


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def fresh(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One fresh generation of the demo region."""
    out = tmp_path_factory.mktemp("demo") / "demo"
    written = generate(out)
    assert sorted(p.name for p in written) == sorted(FILES)
    return out


@pytest.fixture(scope="module")
def graph(fresh: Path) -> nx.MultiDiGraph:
    """The street network as osmnx loads it."""
    return ox.graph_from_xml(fresh / "roads.osm", simplify=True, retain_all=False)


@pytest.fixture(scope="module")
def parcels(fresh: Path) -> gpd.GeoDataFrame:
    return gpd.read_file(fresh / "parcels.gpkg", layer="parcels")


@pytest.fixture(scope="module")
def study_area(fresh: Path) -> gpd.GeoDataFrame:
    return gpd.read_file(fresh / "study_area.geojson")


# --- determinism --------------------------------------------------------------------------


def test_generation_is_byte_identical(fresh: Path, tmp_path: Path) -> None:
    again = generate(tmp_path / "again")
    assert [p.name for p in again] == sorted(FILES)
    for name in FILES:
        assert _sha256(fresh / name) == _sha256(tmp_path / "again" / name), name


def test_no_temporary_files_left(fresh: Path) -> None:
    assert not [p for p in fresh.parent.iterdir() if p.name.startswith(".demo-data-")]
    assert sorted(p.name for p in fresh.iterdir()) == sorted(FILES)


def _geojson_features(path: Path) -> list[dict]:
    return json.loads(path.read_text(encoding="utf-8"))["features"]


def _same_content(a: Path, b: Path) -> bool:
    """Content equality that tolerates library-version differences in encoding."""
    if a.suffix == ".geojson":
        return _geojson_features(a) == _geojson_features(b)
    if a.suffix == ".gpkg":
        da, db = pyogrio.read_dataframe(a), pyogrio.read_dataframe(b)
        return (
            da.crs == db.crs
            and da.drop(columns="geometry").equals(db.drop(columns="geometry"))
            and bool(da.geometry.geom_equals_exact(db.geometry, tolerance=1e-6).all())
        )
    if a.suffix == ".tif":
        with rasterio.open(a) as ra, rasterio.open(b) as rb:
            return (
                ra.crs == rb.crs
                and ra.transform == rb.transform
                and ra.nodata == rb.nodata
                and np.array_equal(ra.read(), rb.read())
            )
    return a.read_bytes() == b.read_bytes()


def test_committed_layers_match_a_fresh_generation(fresh: Path) -> None:
    missing = [n for n in FILES if not (COMMITTED / n).is_file()]
    assert not missing, f"layers/demo lacks {missing}: run `siteselect demo-data`"
    stale = [
        n
        for n in FILES
        if _sha256(COMMITTED / n) != _sha256(fresh / n)
        and not _same_content(COMMITTED / n, fresh / n)
    ]
    assert not stale, f"layers/demo is stale ({stale}): run `siteselect demo-data`"


def test_sizes(fresh: Path) -> None:
    sizes = {n: (fresh / n).stat().st_size for n in FILES}
    assert sum(sizes.values()) < 8_000_000
    assert sizes["dem.tif"] < 2_500_000
    assert sizes["roads.osm"] < 3_000_000
    assert sizes["parcels.gpkg"] < 3_200_000


# --- roads.osm ----------------------------------------------------------------------------


def test_osm_xml_structure(fresh: Path) -> None:
    root = ET.parse(fresh / "roads.osm").getroot()
    assert root.tag == "osm"
    assert root.get("version") == "0.6"
    assert root.get("generator") == "siteselect demo-data"
    assert root.find("bounds") is not None
    nodes = root.findall("node")
    ways = root.findall("way")
    assert 10_000 <= len(nodes) <= 20_000
    ids = {int(n.get("id", "0")) for n in nodes}
    assert min(ids) > 0 and len(ids) == len(nodes)
    assert all(re.fullmatch(r"-?\d+\.\d{7}", n.get("lat", "")) for n in nodes[:500])
    assert all(re.fullmatch(r"-?\d+\.\d{7}", n.get("lon", "")) for n in nodes[:500])
    refs = {int(nd.get("ref", "0")) for w in ways for nd in w.findall("nd")}
    assert refs <= ids
    tags = [{t.get("k"): t.get("v") for t in w.findall("tag")} for w in ways]
    assert all("highway" in t for t in tags)
    speeds = [t.get("maxspeed") for t in tags]
    assert {"25 mph", "35 mph", "45 mph", "65 mph"} <= set(speeds)
    assert any(s is not None and s.isdigit() for s in speeds), "no plain km/h maxspeed"
    assert speeds.count(None) > len(speeds) / 4, "maxspeed should be missing on many ways"
    assert any(t.get("name") == "San Diego-Coronado Bridge" for t in tags)
    couplets = [t for t in tags if t["highway"] == "residential" and t.get("oneway") == "yes"]
    assert couplets, "no one-way street couplets"


def _has(value: object, wanted: str) -> bool:
    values: Iterable[object] = value if isinstance(value, list) else [value]
    return wanted in values


def test_graph_loads_with_motorways(graph: nx.MultiDiGraph) -> None:
    kinds = [d["highway"] for _, _, d in graph.edges(data=True)]
    assert any(_has(k, "motorway") for k in kinds)
    assert any(_has(k, "motorway_link") for k in kinds)


def test_every_freeway_has_on_ramps(graph: nx.MultiDiGraph) -> None:
    """A one-way motorway_link edge ending where a motorway edge of the freeway starts."""
    ramps: dict[str, int] = dict.fromkeys(FREEWAY_REFS, 0)
    for _, v, d in graph.edges(data=True):
        if not (_has(d["highway"], "motorway_link") and d.get("oneway")):
            continue
        for _, _, out in graph.out_edges(v, data=True):
            if _has(out["highway"], "motorway"):
                for ref in FREEWAY_REFS:
                    if _has(out.get("ref"), ref):
                        ramps[ref] += 1
    assert all(n >= 3 for n in ramps.values()), ramps


def test_graph_is_strongly_connected(graph: nx.MultiDiGraph) -> None:
    largest = max(nx.strongly_connected_components(graph), key=len)
    assert len(largest) > 0.9 * len(graph)


# --- parcels.gpkg -------------------------------------------------------------------------


def test_parcels_schema(fresh: Path, parcels: gpd.GeoDataFrame) -> None:
    assert pyogrio.list_layers(fresh / "parcels.gpkg")[:, 0].tolist() == ["parcels"]
    assert parcels.crs.to_epsg() == 2230
    assert set(parcels.geom_type) == {"Polygon"}
    assert list(parcels.columns) == [
        "apn",
        "land_use",
        "vacant",
        "situs_name",
        "zoning",
        "name",
        "geometry",
    ]
    assert 8_000 <= len(parcels) <= 15_000
    assert parcels["apn"].str.fullmatch(r"\d{10}").all()
    assert parcels["apn"].is_unique
    assert set(parcels["land_use"]) == {
        "residential", "commercial", "industrial", "institutional", "vacant", "open_space",
    }  # fmt: skip
    assert parcels["vacant"].dtype == bool
    assert (parcels["vacant"] == (parcels["land_use"] == "vacant")).all()
    assert parcels["situs_name"].str.fullmatch(r"[A-Za-z][A-Za-z .'-]* lot \d+").all()
    assert parcels["zoning"].str.fullmatch(r"[A-Z]{2}-\d-\d{1,2}").all()


def test_parcels_are_valid_and_do_not_overlap(parcels: gpd.GeoDataFrame) -> None:
    geoms = parcels.geometry.values
    assert shapely.is_valid(geoms).all()
    union = shapely.union_all(geoms)
    assert shapely.area(geoms).sum() == pytest.approx(union.area, rel=1e-6)


def test_parcels_stay_on_land_north_of_the_border(
    parcels: gpd.GeoDataFrame, study_area: gpd.GeoDataFrame
) -> None:
    # The study area is land minus ocean and bays, north of the border; allow for
    # its 7-decimal GeoJSON rounding (about 1 cm) with a 2 ft buffer.
    land = study_area.to_crs(2230).geometry.iloc[0].buffer(2.0)
    outside = shapely.difference(shapely.union_all(parcels.geometry.values), land)
    assert outside.area < 100.0
    xy = shapely.get_coordinates(parcels.to_crs(4326).geometry.values)
    (x0, y0), (x1, y1) = BORDER_WEST, BORDER_EAST
    border_lat = y0 + (xy[:, 0] - x0) * (y1 - y0) / (x1 - x0)
    assert (xy[:, 1] > border_lat - 1e-6).all()


def test_no_parcels_next_to_runways(fresh: Path, parcels: gpd.GeoDataFrame) -> None:
    rw = pd.read_csv(fresh / "runways.csv")
    lines = gpd.GeoSeries(
        shapely.linestrings(
            np.stack(
                [
                    rw[["le_longitude_deg", "le_latitude_deg"]],
                    rw[["he_longitude_deg", "he_latitude_deg"]],
                ],
                axis=1,
            )
        ),
        crs=4326,
    ).to_crs(2230)
    dist = parcels.distance(lines.union_all())
    assert dist.min() > 580.0 * M_TO_FT


def test_large_vacant_lots(parcels: gpd.GeoDataFrame) -> None:
    acres = parcels.area / ACRE_FT2
    large = parcels[(acres >= 15) & (acres <= 80) & parcels["vacant"]]
    assert len(large) >= 150
    assert large["situs_name"].str.contains("Otay Mesa").any()


# --- tracts.gpkg --------------------------------------------------------------------------


def test_tracts_schema_and_values(fresh: Path) -> None:
    tr = gpd.read_file(fresh / "tracts.gpkg", layer="tracts")
    assert tr.crs.to_epsg() == 4269
    assert set(tr.geom_type) == {"MultiPolygon"}
    bins = [
        "hh_income_less_30K",
        "hh_income_30K_74K",
        "hh_income_75K_99K",
        "hh_income_100K_149K",
        "hh_income_150K_199K",
        "hh_income_200K_plus",
    ]
    expected = ["GEOID", "pop_total_population", "hh_income_base", *bins]
    assert list(tr.columns) == [*expected, "age_65_plus", "home_value_median", "geometry"]
    assert 250 <= len(tr) <= 400
    assert tr["GEOID"].str.fullmatch(r"06073\d{6}").all() and tr["GEOID"].is_unique
    for col in tr.columns[1:-1]:
        assert tr[col].dtype == np.int64, col
    assert (tr[bins].sum(axis=1) == tr["hh_income_base"]).all()
    assert (tr["age_65_plus"] <= tr["pop_total_population"]).all()
    empty = tr["pop_total_population"] == 0
    assert empty.sum() >= 3  # airfields
    assert (tr.loc[empty, "home_value_median"] == -666666666).all()
    assert tr["pop_total_population"].median() == pytest.approx(4500, rel=0.4)


def test_tracts_tile_the_study_area(fresh: Path, study_area: gpd.GeoDataFrame) -> None:
    tr = gpd.read_file(fresh / "tracts.gpkg").to_crs(26911)
    land = study_area.to_crs(26911).geometry.iloc[0]
    union = shapely.union_all(tr.geometry.values)
    assert tr.area.sum() == pytest.approx(union.area, rel=1e-6)
    assert union.area == pytest.approx(land.area, rel=5e-3)


# --- hazard raster ------------------------------------------------------------------------


def test_pga_raster(fresh: Path) -> None:
    with rasterio.open(fresh / "pga_2pct50yr.tif") as src:
        assert src.crs.to_epsg() == 4326
        assert src.dtypes == ("float32",)
        assert src.res == pytest.approx((0.0025, 0.0025))
        assert src.nodata == -9999
        assert src.compression.name.lower() == "deflate"
        assert src.descriptions == ("PGA (g), 2% in 50 years",)
        assert src.units == ("g",)
        assert src.tags(1).get("units") == "g"
        assert "TIFFTAG_DATETIME" not in src.tags()
        b = src.bounds
        assert b.left < -117.29 and b.right > -116.90 and b.bottom < 32.534 and b.top > 32.96
        data = src.read(1)
        # On the Rose Canyon trace in Old Town, and far east in El Cajon.
        on_fault = data[src.index(-117.1976, 32.75951)]
        far = data[src.index(-116.92, 32.80)]
    valid = data[data != -9999]
    assert (data == -9999).any()
    assert valid.min() >= 0.3 and valid.max() <= 1.05
    assert on_fault >= 0.9
    assert 0.3 <= far <= 0.45


def test_dem_has_mesas_canyons_and_graded_freeways(fresh: Path, parcels: gpd.GeoDataFrame) -> None:
    with rasterio.open(fresh / "dem.tif") as src:
        assert src.crs.to_epsg() == 32611
        assert src.res == pytest.approx((30.0, 30.0))
        assert src.units == ("m",)
        data = src.read(1)
        frame = parcels.to_crs(src.crs)
        heights = {}
        for use in ("open_space", "vacant"):
            points = frame[frame["land_use"] == use].geometry.representative_point()
            xy = zip(points.x, points.y, strict=True)
            heights[use] = np.median([v[0] for v in src.sample(xy)])
        x, y = pyproj.Transformer.from_crs("EPSG:4326", src.crs, always_xy=True).transform(
            -117.15, 32.7645
        )
        valley_floor = data[src.index(x, y)]
    assert data.min() >= 0.0 and data.max() < 900.0
    # open space (canyons) lies well below the vacant mesa-top lots
    assert heights["open_space"] < heights["vacant"] - 20.0
    # Mission Valley floor along I-8, low between the mesas
    assert valley_floor < 60.0


def test_traffic_counts(fresh: Path) -> None:
    counts = gpd.read_file(fresh / "traffic_counts.geojson")
    assert {"ROUTE", "POSTMILE", "AHEAD_AADT"} <= set(counts.columns)
    assert set(FREEWAY_REFS) <= set(counts["ROUTE"])
    assert counts["AHEAD_AADT"].between(30_000, 260_000).all()


# --- tables and small layers --------------------------------------------------------------


def test_runways_and_airports_csv(fresh: Path) -> None:
    rw = pd.read_csv(fresh / "runways.csv", keep_default_na=False)
    assert list(rw.columns) == [
        "id", "airport_ref", "airport_ident", "length_ft", "width_ft", "surface", "lighted",
        "closed", "le_ident", "le_latitude_deg", "le_longitude_deg", "le_elevation_ft",
        "le_heading_degT", "le_displaced_threshold_ft", "he_ident", "he_latitude_deg",
        "he_longitude_deg", "he_elevation_ft", "he_heading_degT", "he_displaced_threshold_ft",
    ]  # fmt: skip
    assert set(rw["airport_ident"]) == {"KSAN", "KNKX", "KNZY", "KMYF", "KSDM"}
    ksan = rw[rw["airport_ident"] == "KSAN"].iloc[0]
    assert ksan["length_ft"] == 9401 and ksan["le_ident"] == "09"
    assert (rw["closed"] == 1).sum() == 1
    ap = pd.read_csv(fresh / "airports.csv", keep_default_na=False)
    assert list(ap.columns[:4]) == ["id", "ident", "type", "name"] and len(ap.columns) == 15
    assert set(ap["ident"]) == {"KSAN", "KNKX", "KNZY", "KMYF", "KSDM"}


def test_geojson_layers(fresh: Path) -> None:
    h = gpd.read_file(fresh / "hospitals.geojson")
    assert h.crs.to_epsg() == 4326 and set(h.geom_type) == {"Point"}
    assert list(h.columns[:-1]) == [
        "NAME", "ADDRESS", "CITY", "TYPE", "STATUS", "BEDS", "OWNER", "TRAUMA", "HELIPAD",
        "LATITUDE", "LONGITUDE",
    ]  # fmt: skip
    assert 10 <= len(h) <= 12
    assert (h["BEDS"] == -999).any() and (h["BEDS"] == 414).any()
    f = gpd.read_file(fresh / "faults.geojson")
    assert "Rose Canyon" in set(f["FaultName"])
    assert list(f.columns[:-1]) == ["FaultID", "FaultName", "DipDeg", "Rake", "LowDepth", "UpDepth"]
    border = gpd.read_file(fresh / "border.geojson")
    assert set(border.geom_type) == {"LineString"} and "name" in border.columns
    coast = gpd.read_file(fresh / "coastline.geojson")
    assert set(coast.geom_type) <= {"LineString", "MultiLineString"}
    assert any("Pacific" in n for n in coast["name"])
    sa = gpd.read_file(fresh / "study_area.geojson")
    assert len(sa) == 1 and sa["name"].iloc[0] == "Demo region (San Diego-modelled)"
    assert set(sa.geom_type) <= {"Polygon", "MultiPolygon"}
    for name in ("hospitals", "faults", "border", "coastline", "study_area"):
        text = (fresh / f"{name}.geojson").read_text(encoding="utf-8")
        assert '"crs"' not in text  # RFC 7946
        coords = re.findall(r"-?\d+\.(\d+)", text.split('"features"', 1)[1])
        assert coords
