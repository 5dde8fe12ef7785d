"""Which airports' surfaces apply: airports_filter, its record, and what it changes."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pytest

from siteselect._errors import ConfigError, CriterionError
from siteselect.airspace.runways import select_runways
from siteselect.airspace.selection import AirportsFilter, choose
from siteselect.config import load_config
from siteselect.outputs.report import build_report
from siteselect.pipeline import run
from tests._world import UTM, X0, Y0, write_world
from tests.test_airspace import RUNWAY_COLUMNS, _lonlat, runway_row

GLIDER = {"ident": "CL99", "type": "small_airport", "name": "Test Gliderport", "keywords": ""}


def test_rules_in_order() -> None:
    info = dict(GLIDER, FACILITY_USE_CODE="PR")
    assert choose(AirportsFilter(), "CL99", info) == (True, "type small_airport")
    assert choose(AirportsFilter(exclude=["cl99"]), "CL99", info) == (
        False,
        "airports_filter.exclude",
    )
    assert choose(AirportsFilter(include=["CL99"], types=["large_airport"]), "CL99", info)[0]
    assert choose(AirportsFilter(types=["large_airport"]), "CL99", info) == (
        False,
        "type small_airport not in airports_filter.types",
    )
    assert choose(AirportsFilter(exclude_names=["GLIDER"]), "CL99", info)[1].startswith(
        "name or keywords contain 'GLIDER'"
    )
    assert choose(AirportsFilter(exclude_where={"FACILITY_USE_CODE": ["PR"]}), "CL99", info) == (
        False,
        "FACILITY_USE_CODE = PR (airports_filter.exclude_where)",
    )
    closed = dict(GLIDER, type="closed")
    assert choose(AirportsFilter(), "CL99", closed)[0] is False
    assert choose(AirportsFilter(types=["closed"]), "CL99", closed)[0] is True
    assert choose(AirportsFilter(types=["large_airport"]), "XX", None) == (
        True,
        "not in the airports layer: type unknown, applied",
    )
    with pytest.raises(ValueError, match="CL99 both included and excluded"):
        AirportsFilter(include=["CL99"], exclude=["cl99"])


# --- a small world: a civil field north of the parcels, a glider strip in the middle -------


def _write_airports(folder: Path) -> None:
    civil = ((X0 + 200, Y0 + 3_400), (X0 + 2_200, Y0 + 3_400))
    glider = ((X0 + 800, Y0 + 1_000), (X0 + 1_400, Y0 + 1_000))  # unpaved, between parcels
    rows = [
        RUNWAY_COLUMNS,
        runway_row("KCIV", civil, ("09", "27"), 60, width_ft=60, lighted=0),
        runway_row("CL99", glider, ("08", "26"), 60, "GRS", 2000, width_ft=60, lighted=0),
    ]
    (folder / "runways.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    lon_c, lat_c = _lonlat(X0 + 1_000, Y0 + 3_400)
    lon_g, lat_g = _lonlat(X0 + 1_100, Y0 + 1_000)
    (folder / "airports.csv").write_text(
        "ident,type,name,elevation_ft,latitude_deg,longitude_deg,keywords\n"
        f"KCIV,medium_airport,Civil Field,60,{lat_c:.7f},{lon_c:.7f},\n"
        f"CL99,small_airport,Test Gliderport,60,{lat_g:.7f},{lon_g:.7f},private\n",
        encoding="utf-8",
    )


CONFIG = """name: Glider world
candidates: {{source: parcels.gpkg, layer: parcels, id: apn}}
layers:
  runways: runways.csv
  airports: airports.csv
  hazard: {{source: hazard.tif, units: g}}
constraints:
  airspace:
    kind: airspace
    layer: runways
    airports: airports
    building_height_ft: 60
    min_margin_ft: 0
    {filter}
criteria:
  seismic:
    kind: raster_zonal
    layer: hazard
    transform: {{fn: linear, best: 0.3, worst: 0.9}}
    weight: 1
outputs: {{dir: out, top_n: 3}}
"""


@pytest.fixture(scope="module")
def glider_world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("glider")
    write_world(folder)
    _write_airports(folder)
    return folder


def _run(folder: Path, name: str, airports_filter: str):
    path = folder / f"{name}.yaml"
    text = CONFIG.format(filter=f"airports_filter: {airports_filter}" if airports_filter else "")
    path.write_text(text, encoding="utf-8")
    return run(load_config(path))


@pytest.fixture(scope="module")
def with_glider(glider_world: Path):
    return _run(glider_world, "default", "")


def test_glider_strip_surfaces_exclude_cells_by_default(with_glider) -> None:
    table = with_glider.candidates.set_index("candidate_id")
    by_glider = table["airspace_controlling_surface"].str.startswith("CL99")
    assert (by_glider & table["excluded"]).sum() >= 4
    (selection,) = with_glider.manifest["diagnostics"]["airports"]
    assert [a["ident"] for a in selection["applied"]] == ["CL99", "KCIV"]
    assert selection["left_out"] == []


@pytest.mark.parametrize(
    "airports_filter",
    [
        "{exclude: [CL99]}",
        "{types: [large_airport, medium_airport]}",
        "{exclude_names: [glider]}",
        "{exclude_where: {keywords: private}}",
    ],
)
def test_leaving_the_glider_strip_out_frees_its_cells(
    glider_world: Path, with_glider, airports_filter: str
) -> None:
    before = with_glider.candidates.set_index("candidate_id")
    result = _run(glider_world, "filtered", airports_filter)
    after = result.candidates.set_index("candidate_id")
    only_glider = before["airspace_controlling_surface"].str.startswith("CL99") & before["excluded"]
    assert only_glider.sum() >= 4
    assert not after.loc[only_glider, "excluded"].any()
    assert not after["airspace_controlling_surface"].str.startswith("CL99").any()
    # cells the glider strip did not control are unchanged
    others = ~before["airspace_controlling_surface"].str.startswith("CL99")
    assert (after.loc[others, "excluded"] == before.loc[others, "excluded"]).all()
    (selection,) = result.manifest["diagnostics"]["airports"]
    assert [a["ident"] for a in selection["applied"]] == ["KCIV"]
    (left,) = selection["left_out"]
    assert (left["ident"], left["name"], left["type"], left["runways"]) == (
        "CL99",
        "Test Gliderport",
        "small_airport",
        1,
    )
    assert "airports_filter" in left["reason"]
    report = build_report(result)
    assert "height limits around 1 airport(s) apply" in report and "Test Gliderport" in report
    assert "Left out: " in report and "airports_filter" not in report


def test_filter_errors(glider_world: Path) -> None:
    with pytest.raises(
        CriterionError, match=r"airports_filter.exclude: no airport 'CL98' .*'CL99'"
    ):
        _run(glider_world, "typo", "{exclude: [CL98]}")
    path = glider_world / "no_airports.yaml"
    path.write_text(
        CONFIG.format(filter="airports_filter: {types: [small_airport]}").replace(
            "    airports: airports\n", ""
        )
    )
    with pytest.raises(
        ConfigError, match=r"no_airports.yaml:\d+: constraints.airspace: .*airports"
    ):
        load_config(path)
    with pytest.raises(CriterionError, match=r"no column 'USE'"):
        _run(glider_world, "no_column", "{exclude_where: {USE: PR}}")
    with pytest.raises(CriterionError, match=r"all left out"):
        _run(glider_world, "none_left", "{types: [heliport]}")


# --- real OurAirports data (../shared/data) --------------------------------------------------


@pytest.fixture
def real_layers(shared_data: Path) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    folder = shared_data / "airports"
    runways = gpd.read_file(folder / "san_diego_runways.geojson").to_crs(UTM)
    airports = gpd.read_file(folder / "san_diego_airports.geojson").to_crs(UTM)
    return runways, airports


@pytest.mark.shared_data
def test_real_san_diego_selection(real_layers) -> None:
    runways, airports = real_layers
    default = {c.ident: c for c in select_runways(runways, airports).choices}
    assert len(default) == runways["airport_ident"].nunique()
    assert default["KSAN"].applied and default["CL35"].applied
    assert default["CL35"].name == "Warner Springs Gliderport Airport"
    assert not default["US-10152"].applied and "closed" in default["US-10152"].reason
    assert default["US-12576"].reason.startswith("not in the airports layer")
    public = AirportsFilter(types=["large_airport", "medium_airport"], exclude_names=["glider"])
    chosen = select_runways(runways, airports, airports_filter=public)
    applied = {c.ident for c in chosen.choices if c.applied}
    assert {"KSAN", "KNKX", "KNZY", "KSDM", "KCRQ", "MMTJ"} <= applied
    assert not {"CL35", "CA84", "KMYF", "KSEE"} & applied
    assert {r.airport for r in chosen.runways} == applied
    gliders = select_runways(
        runways, airports, airports_filter=AirportsFilter(exclude_names=["glider"])
    )
    left = {c.ident for c in gliders.choices if not c.applied and "glider" in c.reason}
    assert left == {"CA84", "CL35"}  # the two gliderports with runways in the extract
