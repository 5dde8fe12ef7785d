"""Candidate sources: generated grids, the where condition, parcel attributes and site names."""

from __future__ import annotations

import math
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import shapely

from siteselect._errors import ConfigError, LayerError, SiteSelectError
from siteselect.config import load_config
from siteselect.pipeline import run
from siteselect.preflight import preflight
from siteselect.study import load_study
from siteselect.study.grid import MAX_CELLS, generate_grid

UTM = "EPSG:32611"
X0, Y0 = 480_000.0, 3_610_000.0


# --- the grid itself ------------------------------------------------------------------------


def test_square_grid_cells_ids_and_clipping() -> None:
    area = shapely.box(X0 + 10, Y0 + 10, X0 + 1010, Y0 + 760)  # 1,000 x 750 m, off the lattice
    cells = generate_grid(area, 250.0, "square", min_fraction=0.0)
    # 5 columns x 4 rows touch it (x 480000..481250, y 3610000..3611000)
    assert len(cells.ids) == 20
    assert cells.ids[0] == "g0_0" and cells.ids[-1] == "g3_4"
    assert list(cells.ids) == sorted(cells.ids)  # reading order: north row first
    assert shapely.area(cells.geometry).sum() == pytest.approx(area.area)
    assert shapely.within(cells.geometry, area.buffer(1e-6)).all()
    # the north-west cell is clipped to the area; an inner one is whole
    assert shapely.area(cells.geometry[0]) == pytest.approx(240 * 10)  # y 3610750..760
    whole = dict(zip(cells.ids, shapely.area(cells.geometry), strict=True))["g1_1"]
    assert whole == pytest.approx(250 * 250)
    again = generate_grid(area, 250.0, "square", min_fraction=0.0)
    assert list(again.ids) == list(cells.ids)  # deterministic ids
    # min_fraction drops the slivers along the edges
    kept = generate_grid(area, 250.0, "square", min_fraction=0.5)
    assert (shapely.area(kept.geometry) >= 0.5 * 250 * 250).all() and len(kept.ids) < 20


def test_hex_grid_tiles_the_area_without_overlap() -> None:
    area = shapely.Point(X0, Y0).buffer(2_000)
    cells = generate_grid(area, 300.0, "hex", min_fraction=0.0)
    assert all(i.startswith("h") for i in cells.ids)
    assert cells.cell_area_m2 == pytest.approx(300**2 * math.sqrt(3) / 2)
    assert shapely.area(cells.geometry).sum() == pytest.approx(area.area, rel=1e-9)
    assert shapely.area(shapely.union_all(cells.geometry)) == pytest.approx(area.area, rel=1e-9)
    whole = np.isclose(shapely.area(cells.geometry), cells.cell_area_m2)
    centres = shapely.get_coordinates(shapely.centroid(cells.geometry[whole]))
    row = cells.row[whole]
    # neighbours in a row are cell_m apart; odd rows are shifted by half a cell
    for r in np.unique(row)[:3]:
        xs = np.sort(centres[row == r, 0])
        assert np.allclose(np.diff(xs), 300.0)
    shift = (centres[row == row[0], 0][0] - centres[row == row[0] + 1, 0][0]) % 300.0
    assert shift == pytest.approx(150.0)


def test_grid_over_a_bay_puts_no_cell_on_water() -> None:
    area = shapely.box(X0, Y0, X0 + 6_000, Y0 + 4_000)
    bay = shapely.Polygon(
        [(X0 - 100, Y0 + 1_000), (X0 + 2_600, Y0 + 1_400), (X0 + 3_100, Y0 + 2_900),
         (X0 + 900, Y0 + 3_300), (X0 - 100, Y0 + 2_800)]
    )  # fmt: skip
    island = shapely.Point(X0 + 1_300, Y0 + 2_100).buffer(300)  # land inside the bay
    water = np.array([bay.difference(island)], dtype=object)
    for shape in ("square", "hex"):
        cells = generate_grid(area, 250.0, shape, water=water, min_fraction=0.25)
        overlap = shapely.area(shapely.intersection(cells.geometry, water[0]))
        assert overlap.max() < 1e-6, shape
        # every bit of land is covered except the slivers dropped along the shore
        covered = shapely.area(shapely.union_all(cells.geometry))
        land = area.difference(water[0]).area
        assert land * 0.97 < covered <= land + 1e-3
        assert (shapely.area(cells.geometry) >= 0.25 * cells.cell_area_m2 - 1e-6).all()
        assert (cells.record["cells"], cells.record["after_water"]) != (0, 0)
    land_only = generate_grid(area, 250.0, "square", land=np.array([area.difference(bay)]))
    assert shapely.area(shapely.intersection(land_only.geometry, bay)).max() < 1e-6


def test_grid_limits_and_errors() -> None:
    with pytest.raises(LayerError, match=f"at most {MAX_CELLS:,}"):
        generate_grid(shapely.box(0, 0, 1e6, 1e6), 10.0)
    line = np.array([shapely.LineString([(X0, Y0), (X0 + 10, Y0)])], dtype=object)
    with pytest.raises(LayerError, match="has no polygons"):
        generate_grid(shapely.box(X0, Y0, X0 + 500, Y0 + 500), 100.0, water=line)
    with pytest.raises(LayerError, match="no cell of 100 m is left"):
        generate_grid(
            shapely.box(X0, Y0, X0 + 500, Y0 + 500),
            100.0,
            water=np.array([shapely.box(X0 - 1, Y0 - 1, X0 + 501, Y0 + 501)]),
        )


# --- configs: a grid study and a parcel study -------------------------------------------------


def _write_layers(folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    area = shapely.box(X0, Y0, X0 + 3_000, Y0 + 2_000)
    gpd.GeoDataFrame({"name": ["area"]}, geometry=[area], crs=UTM).to_crs(4326).to_file(
        folder / "area.geojson"
    )
    bay = shapely.box(X0 - 10, Y0 - 10, X0 + 1_000, Y0 + 800)
    gpd.GeoDataFrame({"name": ["bay"]}, geometry=[bay], crs=UTM).to_file(folder / "water.gpkg")
    point = shapely.Point(X0 + 2_900, Y0 + 1_900)
    gpd.GeoDataFrame({"name": ["clinic"]}, geometry=[point], crs=UTM).to_file(
        folder / "clinic.geojson"
    )
    boxes = [
        shapely.box(X0 + 300 * i + 10, Y0 + 1_000, X0 + 300 * i + 290, Y0 + 1_300) for i in range(8)
    ]
    parcels = gpd.GeoDataFrame(
        {
            "apn": [f"A{i}" for i in range(8)],
            "land_use": ["VACANT", "VACANT", "AGRICULTURAL", "HOME", None, "VACANT", "VACANT",
                         "AGRICULTURAL"],
            "assessed_usd": [1e6, 9e7, 2e6, 1e6, 1e6, 3e6, np.nan, 4e6],
            "acres": [20.0, 20.0, 20.0, 20.0, 20.0, 0.0, 20.0, 20.0],
            "name": ["Mesa Ranch", None, "  ", "Home", None, "Zero", "Gap", "Farm"],
            "rank": [1, 2, 3, 4, 5, 6, 7, 8],  # collides with siteselect's own column
        },
        geometry=boxes,
        crs=UTM,
    )  # fmt: skip
    parcels.to_file(folder / "parcels.gpkg", layer="parcels")


CRITERIA = """\
layers:
  clinic: clinic.geojson
  water: water.gpkg
criteria:
  near_clinic:
    {kind: distance, layer: clinic, transform: {fn: linear, best: 0, worst: 5000}, weight: 1}
"""


def _config(folder: Path, candidates: str, extra: str = "") -> Path:
    _write_layers(folder)
    path = folder / "study.yaml"
    path.write_text(
        f"name: test\nstudy_area: area.geojson\ncandidates: {candidates}\n{CRITERIA}{extra}",
        encoding="utf-8",
    )
    return path


def test_grid_config_runs_without_a_parcel_file(tmp_path: Path) -> None:
    config = load_config(_config(tmp_path, "{grid: {cell_m: 250, water: water}}"))
    assert config.candidates.source is None
    checks = preflight(config, tmp_path / "out")
    assert "square grid of 250 m cells over area.geojson" in checks[0].detail
    result = run(config)
    table = result.candidates
    assert table["candidate_id"].str.fullmatch(r"g\d\d_\d\d").all()  # one width: 00..11
    assert (table["site_name"] == "").all()
    assert not any(c.startswith("attr_") for c in table.columns)
    bay = shapely.box(X0 - 10, Y0 - 10, X0 + 1_000, Y0 + 800)
    assert shapely.area(shapely.intersection(table.geometry.to_numpy(), bay)).max() < 1e-6
    assert len(table) == 12 * 8 - 4 * 3  # minus the cells wholly in the bay
    assert result.manifest["diagnostics"]["candidates"]["grid"]["cells"] == len(table)
    assert "candidates" not in result.manifest["inputs"]


def test_grid_config_errors(tmp_path: Path) -> None:
    path = _config(tmp_path, "{grid: {cell_m: 250}}")
    path.write_text(path.read_text().replace("study_area: area.geojson\n", ""))
    with pytest.raises(
        ConfigError, match=r"study\.yaml:2: candidates\.grid: a grid needs a study area"
    ):
        load_config(path)
    for candidates, message in (
        ("{grid: {cell_m: 250, water: lake}}", r"candidates\.grid\.water: unknown layer 'lake'"),
        ("{grid: {cell_m: 0}}", r"candidates\.grid\.cell_m: must be > 0 \(got 0\)"),
        ("{grid: {cell_m: 250, shape: round}}", r"shape"),
        ("{grid: {cell_m: 250}, id: apn}", r"id applies to a parcel file, not to a grid"),
        ("{layer: parcels}", r"set either 'source' \(a parcel file\) or 'grid'"),
        (
            '{source: parcels.gpkg, where: "land_use = \'VACANT"}',
            r"study\.yaml:3: candidates\.where: .*unclosed '",
        ),
    ):
        with pytest.raises(ConfigError, match=message):
            load_config(_config(tmp_path, candidates))


PARCELS = "{source: parcels.gpkg, layer: parcels, id: apn, name_column: name, where: %s}"


def test_where_condition_keeps_the_matching_parcels(tmp_path: Path) -> None:
    where = (
        "\"land_use in ('VACANT', 'AGRICULTURAL') and acres > 0 "
        'and assessed_usd / acres < 2000000"'
    )
    config = load_config(_config(tmp_path, PARCELS % where))
    preflight(config, tmp_path / "out")
    study = load_study(config)
    # A1 too dear, A3 a home, A4 no land use, A5 no acres, A6 no value, A7 4M/20 acres passes
    assert study.candidates["candidate_id"].tolist() == ["A0", "A2", "A7"]
    result = run(config)
    table = result.candidates.set_index("candidate_id")
    assert table.loc["A0", "site_name"] == "Mesa Ranch"
    assert table.loc["A2", "site_name"] == ""  # blank name
    # every parcel column travels, prefixed; the id column is candidate_id
    assert {"attr_land_use", "attr_assessed_usd", "attr_acres", "attr_name", "attr_rank"} <= set(
        table.columns
    )
    assert "attr_apn" not in table.columns
    assert table["attr_rank"].tolist() == [1, 3, 8]  # the file's column, beside siteselect's
    assert table.loc["A7", "attr_land_use"] == "AGRICULTURAL"


def test_attributes_list_and_none(tmp_path: Path) -> None:
    listed = PARCELS.replace("}", ", attributes: [land_use]}") % "\"land_use = 'VACANT'\""
    table = run(load_config(_config(tmp_path, listed))).candidates
    assert [c for c in table.columns if c.startswith("attr_")] == ["attr_land_use"]
    none = PARCELS.replace("}", ", attributes: none}") % "\"land_use = 'VACANT'\""
    table = run(load_config(_config(tmp_path, none))).candidates
    assert not [c for c in table.columns if c.startswith("attr_")]
    assert table["site_name"].tolist() == ["Mesa Ranch", "", "Zero", "Gap"]  # A0, A1, A5, A6


def test_where_and_column_errors_name_the_line_and_the_columns(tmp_path: Path) -> None:
    cases = {
        "\"land_uses = 'VACANT'\"": r"study\.yaml:3: candidates\.where: .*'land_uses'.*"
        r"\(columns: apn, land_use, assessed_usd",
        "\"land_use = 'PARKING'\"": r"candidates\.where: no parcel of parcels\.gpkg satisfies "
        r".*land_use has 'VACANT'",
        '"assessed_usd / acres < 5"': r"acres is 0 for 1 parcel\(s\) \(rows 6\)",
    }
    for where, message in cases.items():
        config = load_config(_config(tmp_path, PARCELS % where))
        with pytest.raises(SiteSelectError, match=message):
            preflight(config, tmp_path / "out")
        with pytest.raises(SiteSelectError, match=message):
            load_study(config)
    bad_name = PARCELS.replace("name_column: name", "name_column: title") % '"acres > 0"'
    config = load_config(_config(tmp_path, bad_name))
    with pytest.raises(LayerError, match=r"candidates\.name_column: column 'title' not in"):
        preflight(config, tmp_path / "out")
    with pytest.raises(LayerError, match=r"candidates.*name_column: column 'title' not in"):
        load_study(config)


def test_mapping_where_still_works(tmp_path: Path) -> None:
    config = load_config(_config(tmp_path, PARCELS % "{land_use: [HOME, AGRICULTURAL]}"))
    preflight(config, tmp_path / "out")
    ids = load_study(config).candidates["candidate_id"].tolist()
    assert ids == ["A2", "A3", "A7"]
