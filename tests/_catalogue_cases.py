"""The bad inputs of the catalogue, by topic (see :mod:`tests._catalogue`).

``expect`` words are matched case-insensitively; ``{line:needle}`` becomes
``world.yaml:<line>`` of the first config line containing ``needle``.
"""

from __future__ import annotations

import shutil

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from tests._catalogue import (
    Case,
    World,
    hazard_values,
    points_gdf,
    write_raster,
    write_study_area,
    write_tracts,
)
from tests._world import UTM, X0, Y0, OsmWriter, build_network

# ----------------------------------------------------------------------------- YAML and config


def _text(text: str):
    def setup(w: World) -> None:
        w.text = text

    return setup


def _replace(old: str, new: str):
    def setup(w: World) -> None:
        w.replace(old, new)

    return setup


def _yaml_syntax(w: World) -> None:
    w.replace("outputs: {dir: out, top_n: 5}", "outputs: {dir: out, top_n: 5")


def _tabs(w: World) -> None:
    w.replace("    weight: 3\n", "\tweight: 3\n")


def _duplicate_key(w: World) -> None:
    w.replace("    weight: 3\n", "    weight: 3\n    weight: 5\n")


def _alias_bomb(w: World) -> None:
    lines = ['a0: &a0 ["x","x","x","x","x","x","x","x","x","x"]']
    for k in range(1, 9):
        prev = f"*a{k - 1}"
        lines.append(f"a{k}: &a{k} [{', '.join([prev] * 10)}]")
    w.text = w.text + "\n".join(lines) + "\n"


def _latin1_config(w: World) -> None:
    w.replace("name: Tiny world", "name: Tiny world caf\u00e9")
    w.write()
    assert w.text is not None
    w.config.write_bytes(w.text.encode("latin-1"))
    w.text = None  # written


def _all_weights_zero(w: World) -> None:
    for weight in (3, 2, 2, 1):
        w.replace(f"    weight: {weight}\n", "    weight: 0\n")


YAML_CASES = [
    Case("yaml-syntax", _yaml_syntax, ("world.yaml", "invalid yaml")),
    Case("yaml-alias-bomb", _alias_bomb, ("world.yaml", "alias")),
    Case("yaml-tabs", _tabs, ("{line:\tweight}", "tab", "spaces")),
    Case("yaml-duplicate-key", _duplicate_key, ("{line:weight: 5}", "weight", "twice")),
    Case("yaml-not-utf8", _latin1_config, ("world.yaml", "utf-8")),
    Case("yaml-empty", _text(""), ("world.yaml", "empty")),
    Case("yaml-a-list", _text("- a\n- b\n"), ("world.yaml", "mapping")),
    Case("config-typo-top-level", _replace("criteria:\n", "critera:\n"), ("{line:critera}",)),
    Case(
        "config-typo-key",
        _replace("    weight: 3\n", "    wieght: 3\n"),
        ("{line:wieght}", "criteria.freeway_access", "did you mean 'weight'"),
    ),
    Case(
        "config-unknown-kind",
        _replace("kind: raster_zonal", "kind: raster_zone"),
        ("{line:raster_zone}", "raster_zonal"),
    ),
    Case(
        "config-unknown-layer",
        _replace("layer: hazard\n", "layer: hazzard\n"),
        ("{line:hazzard}", "criteria.seismic.layer", "hazzard"),
    ),
    Case(
        "config-unknown-transform",
        _replace("fn: linear, best: 1", "fn: linaer, best: 1"),
        ("{line:linaer}", "linear"),
    ),
    Case(
        "weight-negative",
        _replace("    weight: 3\n", "    weight: -1\n"),
        ("{line:weight: -1}", "criteria.freeway_access.weight", ">= 0"),
    ),
    Case(
        "weight-inf",
        _replace("    weight: 3\n", "    weight: .inf\n"),
        ("{line:weight: .inf}", "criteria.freeway_access.weight", "finite"),
    ),
    Case(
        "weight-nan",
        _replace("    weight: 3\n", "    weight: .nan\n"),
        ("{line:weight: .nan}", "criteria.freeway_access.weight"),
    ),
    Case(
        "weight-string",
        _replace("    weight: 3\n", "    weight: high\n"),
        ("{line:weight: high}", "criteria.freeway_access.weight", "number"),
    ),
    Case(
        "weight-all-zero",
        _all_weights_zero,
        ("world.yaml", "criteria", "all weights are 0"),
    ),
    Case(
        "criterion-without-transform",
        _replace("    transform: {fn: linear, best: 0.3, worst: 0.9}\n", ""),
        ("{line:  seismic:}", "criteria.seismic", "transform"),
    ),
    Case(
        "constraint-without-bound",
        _replace(", max_overlap_pct: 0}", "}"),
        ("{line:runway_zone}", "constraints.runway_zone", "max_overlap_pct"),
    ),
    Case(
        "crs-geographic",
        _replace("name: Tiny world\n", "name: Tiny world\ncrs: EPSG:4326\n"),
        ("{line:crs:}", "crs", "degrees"),
    ),
    Case(
        "crs-invalid",
        _replace("name: Tiny world\n", "name: Tiny world\ncrs: EPSG:99999999\n"),
        ("{line:crs:}", "crs"),
    ),
    Case(
        "crs-us-feet",
        _replace("name: Tiny world\n", "name: Tiny world\ncrs: EPSG:2230\n"),
        ("{line:crs:}", "crs", "feet"),
    ),
    Case(
        "crs-geographic-validate",
        _replace("name: Tiny world\n", "name: Tiny world\ncrs: EPSG:4326\n"),
        ("{line:crs:}", "crs"),
        command="validate",
    ),
    Case(
        "file-not-found",
        _replace("source: hazard.tif", "source: nowhere.tif"),
        ("{line:nowhere.tif}", "layers.hazard.source", "nowhere.tif", "not found"),
    ),
    Case(
        "context-layer-unknown",
        _replace(
            "outputs: {dir: out, top_n: 5}",
            "outputs: {dir: out, top_n: 5, context_layers: [coast]}",
        ),
        ("{line:context_layers}", "coast"),
    ),
]

# ----------------------------------------------------------------------------- expressions


def _population(expr: str):
    def setup(w: World) -> None:
        w.replace("population: pop_total_population * 0.5", f"population: {expr}")

    return setup


def _zero_division(w: World) -> None:
    write_tracts(
        w.folder,
        pd.DataFrame({"GEOID": ["A", "B", "C"], "pop": [10.0, 20.0, 30.0], "hh": [4.0, 0.0, 5.0]}),
    )
    w.replace("population: pop_total_population * 0.5", "population: pop / hh")


EXPRESSION_CASES = [
    Case(
        "expr-code",
        _population("\"__import__('os').system('true')\""),
        ("{line:population}", "criteria.members.population"),
    ),
    Case(
        "expr-unknown-column",
        _population("pop_total"),
        ("{line:population}", "pop_total", "tracts"),
    ),
    Case("expr-divide-by-zero", _zero_division, ("tracts", "zero", "pop / hh", "B")),
    Case(
        "expr-deep-nesting",
        _population('"' + "(" * 5000 + "pop_total_population" + ")" * 5000 + '"'),
        ("{line:population}", "nest"),
    ),
    Case(
        "expr-syntax",
        _population('"pop_total_population * "'),
        ("{line:population}", "criteria.members.population"),
    ),
]

# ----------------------------------------------------------------------------- vector layers


def _hospitals(frame: gpd.GeoDataFrame, name: str = "hospitals.geojson", **kwargs):
    def setup(w: World) -> None:
        path = w.folder / name
        path.unlink(missing_ok=True)
        frame.to_file(path, **kwargs)
        if name != "hospitals.geojson":
            w.replace("source: hospitals.geojson", f"source: {name}")

    return setup


_HOSP_XY = [(X0 + 200, Y0 + 1200)]


def _no_features(w: World) -> None:
    (w.folder / "hospitals.geojson").write_text(
        '{"type": "FeatureCollection", "features": []}', encoding="utf-8"
    )


def _truncated_geojson(w: World) -> None:
    text = (w.folder / "hospitals.geojson").read_text()
    (w.folder / "hospitals.geojson").write_text(text[: len(text) // 2], encoding="utf-8")


def _corrupt_gpkg(w: World) -> None:
    (w.folder / "tracts.gpkg").write_bytes(b"SQLite format 3\x00" + b"\x07" * 3000)


def _gpkg_no_crs(w: World) -> None:
    path = w.folder / "tracts.gpkg"
    frame = gpd.read_file(path).to_crs(UTM)
    path.unlink()
    frame.set_crs(None, allow_override=True).to_file(path, layer="tracts")


def _shapefile_no_prj(w: World) -> None:
    frame = points_gdf(_HOSP_XY, NAME=["West Hospital"], BEDS=[300], STATUS=["OPEN"])
    frame.to_file(w.folder / "hosp.shp")
    (w.folder / "hosp.prj").unlink()
    w.replace("source: hospitals.geojson", "source: hosp.shp")


def _degrees_under_projected(w: World) -> None:
    frame = points_gdf(
        [(-117.16, 32.72)], crs=None, NAME=["West Hospital"], BEDS=[300], STATUS=["OPEN"]
    ).set_crs(UTM)
    frame.to_file(w.folder / "hosp.gpkg", layer="hosp")
    w.replace("source: hospitals.geojson", "source: hosp.gpkg")


def _metres_as_degrees(w: World) -> None:
    frame = points_gdf(_HOSP_XY, crs=None, NAME=["West Hospital"], BEDS=[300], STATUS=["OPEN"])
    (w.folder / "hospitals.geojson").unlink()
    frame.set_crs("EPSG:4326").to_file(w.folder / "hospitals.geojson")


def _csv(text: str, entry: str = "{source: hosp.csv, where: {STATUS: OPEN}}"):
    def setup(w: World) -> None:
        (w.folder / "hosp.csv").write_text(text, encoding="utf-8")
        w.replace(
            "hospitals: {source: hospitals.geojson, where: {STATUS: OPEN}}", f"hospitals: {entry}"
        )

    return setup


def _outside_study_area(w: World) -> None:
    write_study_area(w.folder, (X0 - 100, Y0 - 100, X0 + 2500, Y0 + 2500))
    far = points_gdf([(X0 + 80_000, Y0 + 90_000)], NAME=["Far"], BEDS=[100], STATUS=["OPEN"])
    (w.folder / "hospitals.geojson").unlink()
    far.to_crs("EPSG:4326").to_file(w.folder / "hospitals.geojson")
    w.replace("candidates:", "study_area: study.geojson\ncandidates:")


def _candidates(frame: gpd.GeoDataFrame, entry: str | None = None):
    def setup(w: World) -> None:
        path = w.folder / "parcels.gpkg"
        path.unlink()
        frame.to_file(path, layer="parcels")
        if entry is not None:
            w.replace("candidates: {source: parcels.gpkg, layer: parcels, id: apn}", entry)

    return setup


def _parcel_frame(ids: list[str | None]) -> gpd.GeoDataFrame:
    boxes = [
        shapely.box(X0 + 415 * k + 15, Y0 + 15, X0 + 415 * k + 385, Y0 + 385)
        for k in range(len(ids))
    ]
    return gpd.GeoDataFrame({"apn": ids}, geometry=boxes, crs=UTM)


def _runways_missing_column(w: World) -> None:
    (w.folder / "runways.csv").write_text(
        "airport_ident,he_ident,le_latitude_deg,le_longitude_deg,he_latitude_deg,he_longitude_deg,"
        "le_elevation_ft,he_elevation_ft,length_ft,width_ft,surface\n"
        "KXYZ,27,32.71,-117.17,32.71,-117.15,15,15,6000,150,ASP\n",
        encoding="utf-8",
    )
    w.add_layer("runways: runways.csv")
    w.add_constraint(
        "airspace: {kind: airspace, layer: runways, building_height_ft: 160, min_margin_ft: 0}"
    )


VECTOR_CASES = [
    Case(
        "layer-no-features", _no_features, ("layers.hospitals", "hospitals.geojson", "no features")
    ),
    Case("layer-truncated-geojson", _truncated_geojson, ("layers.hospitals", "hospitals.geojson")),
    Case("layer-corrupt-gpkg", _corrupt_gpkg, ("layers.tracts", "tracts.gpkg")),
    Case("layer-gpkg-no-crs", _gpkg_no_crs, ("layers.tracts", "tracts.gpkg", "crs")),
    Case("layer-shapefile-no-prj", _shapefile_no_prj, ("layers.hospitals", "hosp.shp", "crs")),
    Case(
        "layer-degrees-under-projected-crs",
        _degrees_under_projected,
        ("layers.hospitals", "hosp.gpkg", "degrees"),
    ),
    Case(
        "layer-metres-declared-as-degrees",
        _metres_as_degrees,
        ("layers.hospitals", "hospitals.geojson", "EPSG:32611"),
    ),
    Case(
        "csv-lon-lat-swapped",
        _csv("NAME,BEDS,STATUS,lon,lat\nWest,300,OPEN,32.72,-117.16\n"),
        ("layers.hospitals", "hosp.csv", "swapped"),
    ),
    Case(
        "csv-no-coordinate-columns",
        _csv("NAME,BEDS,STATUS,easting,northing\nWest,300,OPEN,485200,3621200\n"),
        ("layers.hospitals", "hosp.csv", "x:"),
    ),
    Case(
        "layer-outside-study-area",
        _outside_study_area,
        ("layers.hospitals", "outside the study area"),
    ),
    Case(
        "layer-where-unknown-column",
        _replace("where: {STATUS: OPEN}", "where: {STAT: OPEN}"),
        ("layers.hospitals", "STAT", "hospitals.geojson"),
    ),
    Case(
        "layer-where-matches-nothing",
        _replace("where: {STATUS: OPEN}", "where: {STATUS: OPN}"),
        ("layers.hospitals", "hospitals.geojson", "OPN"),
    ),
    Case(
        "layer-name-column-missing",
        _replace("where: {STATUS: OPEN}}", "where: {STATUS: OPEN}, name_column: TITLE}"),
        ("layers.hospitals", "TITLE"),
    ),
    Case(
        "candidates-id-missing",
        _replace("id: apn}", "id: parcel_id}"),
        ("candidates.id", "parcel_id", "parcels.gpkg"),
    ),
    Case(
        "candidates-id-not-unique",
        _candidates(_parcel_frame(["A", "B", "A"])),
        ("candidates.id", "apn", "'A'"),
    ),
    Case(
        "candidates-id-null",
        _candidates(_parcel_frame(["A", None, "C"])),
        ("candidates.id", "apn", "parcels.gpkg"),
    ),
    Case(
        "candidates-area-filter-leaves-none",
        _replace("id: apn}", "id: apn, min_area_acres: 5000}"),
        ("candidates", "min_area_acres"),
    ),
    Case(
        "candidates-only-lines",
        _candidates(
            gpd.GeoDataFrame(
                {"apn": ["L1", "L2"]},
                geometry=[shapely.LineString([(X0, Y0), (X0 + 300, Y0)])] * 2,
                crs=UTM,
            )
        ),
        ("candidates", "parcels.gpkg", "polygon"),
    ),
    Case(
        "runways-missing-column",
        _runways_missing_column,
        ("layers.runways", "runways.csv", "le_ident"),
    ),
]

# ----------------------------------------------------------------------------- rasters


def _raster(**kwargs):
    def setup(w: World) -> None:
        (w.folder / "hazard.tif").unlink()
        values = kwargs.pop("values", None)
        write_raster(
            w.folder / "hazard.tif", hazard_values() if values is None else values, **kwargs
        )

    return setup


def _corrupt_tiff(w: World) -> None:
    data = (w.folder / "hazard.tif").read_bytes()
    (w.folder / "hazard.tif").write_bytes(data[:300])


def _amplification(w: World, vs30: float) -> None:
    write_raster(w.folder / "vs30.tif", np.full((30, 40), vs30))
    w.add_layer("vs30: {source: vs30.tif, units: m/s}")
    w.replace("    layer: hazard\n", "    layer: hazard\n    amplification: {vs30_layer: vs30}\n")


def _band_name_unknown(w: World) -> None:
    _raster(descriptions=("PGA",))(w)
    w.replace("    layer: hazard\n", "    layer: hazard\n    band: SA10\n")


def _pga_in_percent_declared_g(w: World) -> None:
    _raster(values=hazard_values(100.0))(w)
    _amplification(w, 400.0)


RASTER_CASES = [
    Case("raster-corrupt", _corrupt_tiff, ("layers.hazard", "hazard.tif")),
    Case("raster-no-crs", _raster(crs=None), ("layers.hazard", "hazard.tif", "crs")),
    Case(
        "raster-not-covering",
        _raster(origin=(X0 + 90_000, Y0 + 90_000)),
        ("layers.hazard", "hazard.tif", "cover"),
    ),
    Case(
        "raster-band-out-of-range",
        _replace(
            "hazard: {source: hazard.tif, units: g}",
            "hazard: {source: hazard.tif, units: g, band: 3}",
        ),
        ("layers.hazard", "hazard.tif", "band"),
    ),
    Case(
        "raster-band-name-unknown",
        _band_name_unknown,
        ("hazard.tif", "SA10", "PGA"),
    ),
    Case(
        "raster-units-unknown",
        _replace("units: g}", "units: gees}"),
        ("{line:gees}", "layers.hazard.units", "gees"),
    ),
    Case(
        "raster-pga-implausible",
        _pga_in_percent_declared_g,
        ("layers.hazard", "hazard.tif", "units"),
    ),
    Case(
        "raster-vs30-implausible",
        lambda w: _amplification(w, 40_000.0),
        ("layers.vs30", "vs30.tif", "vs30"),
    ),
]

# ----------------------------------------------------------------------------- road network


def _network(osm: OsmWriter):
    def setup(w: World) -> None:
        osm.write(w.folder / "roads.osm")

    return setup


def _far_network() -> OsmWriter:
    osm = build_network()
    osm.nodes = {k: (x + 200_000, y + 150_000) for k, (x, y) in osm.nodes.items()}
    return osm


def _garbage_network(w: World) -> None:
    (w.folder / "roads.osm").write_text("<osm><node id='1' lat='x'", encoding="utf-8")


def _no_drivable(w: World) -> None:
    osm = OsmWriter()
    osm.node(1, X0, Y0)
    osm.node(2, X0 + 100, Y0)
    osm.way([1, 2], highway="footway")
    osm.write(w.folder / "roads.osm")


def _network_extension(w: World) -> None:
    shutil.copy(w.folder / "roads.osm", w.folder / "roads.txt")
    w.replace("network: {source: roads.osm}", "network: {source: roads.txt}")


NETWORK_CASES = [
    Case("network-garbage", _garbage_network, ("roads.osm",)),
    Case("network-no-drivable-way", _no_drivable, ("roads.osm", "drivable")),
    Case(
        "network-no-freeway", _network(build_network(with_freeway=False)), ("roads.osm", "freeway")
    ),
    Case("network-far-away", _network(_far_network()), ("roads.osm", "cover")),
    Case("network-unknown-format", _network_extension, ("roads.txt", "network.source")),
    Case(
        "network-missing-section",
        _replace("network: {source: roads.osm}\n", ""),
        ("criteria.freeway_access", "network"),
    ),
]

# ----------------------------------------------------------------------------- outputs


def _out_is_file(w: World) -> None:
    target = w.folder / "a_file"
    target.write_text("not a folder", encoding="utf-8")
    w.extra_args = ["--out", str(target)]


def _folder_in_the_way(w: World) -> None:
    assert w.out is not None
    (w.out / "sites.csv").unlink()
    (w.out / "sites.csv").mkdir()
    (w.out / "sites.csv" / "keep.txt").write_text("user file", encoding="utf-8")


def _out_not_writable(w: World) -> None:
    w.extra_args = ["--out", "/proc/siteselect-out"]


OUTPUT_CASES = [
    Case("out-is-a-file", _out_is_file, ("a_file", "--out")),
    Case("out-folder-in-the-way", _folder_in_the_way, ("sites.csv",)),
    Case("out-not-writable", _out_not_writable, ("/proc/siteselect-out", "writ")),
]

CASES: list[Case] = (
    YAML_CASES + EXPRESSION_CASES + VECTOR_CASES + RASTER_CASES + NETWORK_CASES + OUTPUT_CASES
)
