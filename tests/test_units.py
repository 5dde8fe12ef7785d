"""Raster units: the known list, conversion where a kind needs one unit, plausibility checks,
band names on layers, and the real Southern California rasters passing the checks."""

from __future__ import annotations

import doctest
import json
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import rasterio
import shapely
from rasterio.transform import from_origin

from siteselect import units
from siteselect._errors import ConfigError, CriterionError, LayerError
from siteselect.config import LayerSpec, load_config
from siteselect.criteria import raster_zonal
from siteselect.criteria.airspace import AirspaceSpec, _ground_function
from siteselect.criteria.raster_zonal import RasterZonalSpec
from siteselect.pipeline import run
from siteselect.study import rasters
from siteselect.units import parse_unit
from tests.test_seismic import _raster as seismic_raster
from tests.test_seismic import _Study

UTM = "EPSG:32611"
EMPTY = gpd.GeoDataFrame(geometry=[], crs=UTM)


def _ground_ft(spec, study, x, y, airport):
    """Ground elevation (ft) at points, as the airspace kind reads it."""
    return _ground_function(spec, study)(x, y, airport)


X0, Y0, CELL = 485_000.0, 3_621_000.0, 100.0


@pytest.mark.parametrize("module", [units, rasters, raster_zonal])
def test_doctests(module) -> None:
    assert doctest.testmod(module).failed == 0


# --- the list of units ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("g", "g"),
        ("G", "g"),
        ("%g", "%g"),
        ("% g", "%g"),
        ("percent g", "%g"),
        ("pct g", "%g"),
        ("Percent of g", "%g"),
        ("gal", "cm/s2"),
        ("cm/s^2", "cm/s2"),
        ("cm/s²", "cm/s2"),
        ("m/s**2", "m/s2"),
        ("m s-2", "m/s2"),
        ("m/s", "m/s"),
        ("m/sec", "m/s"),
        ("metres per second", "m/s"),
        ("cm/s", "cm/s"),
        ("km/s", "km/s"),
        ("ft/s", "ft/s"),
        ("metres", "m"),
        ("feet", "ft"),
        ("US survey foot", "us-ft"),
        ("km", "km"),
        ("miles", "mi"),
        ("percent", "%"),
        ("degrees", "degrees"),
        ("1", "1"),
        ("unitless", "1"),
    ],
)
def test_known_units_and_aliases(text: str, name: str) -> None:
    assert parse_unit(text).name == name


def test_conversion_factors_are_exact_definitions() -> None:
    g = parse_unit("g")
    assert units.conversion_factor(parse_unit("%g"), g) == pytest.approx(0.01)
    assert units.conversion_factor(parse_unit("gal"), g) == pytest.approx(1 / 980.665)
    assert units.conversion_factor(parse_unit("m/s2"), g) == pytest.approx(1 / 9.80665)
    assert units.conversion_factor(parse_unit("km/s"), parse_unit("m/s")) == 1000.0
    assert units.conversion_factor(parse_unit("ft"), parse_unit("m")) == 0.3048
    assert units.conversion_factor(parse_unit("us-ft"), parse_unit("m")) == pytest.approx(
        1200 / 3937
    )
    with pytest.raises(ValueError, match=r"cannot convert m/s \(velocity\) to g"):
        units.conversion_factor(parse_unit("m/s"), g)


def test_unknown_unit_is_an_error_at_config_load_with_line_and_list(tmp_path: Path) -> None:
    config = _config(tmp_path, pga_units="furlongs")
    with pytest.raises(ConfigError) as caught:
        load_config(config)
    message = str(caught.value)
    assert message.startswith(f"{config}:4: layers.pga.units: unknown unit 'furlongs'"), message
    assert "use one of g, %g, cm/s2 (gal), m/s2, m/s" in message
    assert "\n" not in message


# --- small rasters and configs written in code ---------------------------------------------


def _raster(path: Path, values: np.ndarray, unit: str | None = None) -> Path:
    return seismic_raster(
        path, values, from_origin(X0, Y0, CELL, CELL), unit=unit, description="PGA_2pct50yr"
    )


def _pga_g() -> np.ndarray:
    """PGA (g) rising eastwards 0.10..0.82 over a 10 x 10 grid of 100 m."""
    return np.tile(0.1 + 0.08 * np.arange(10.0), (10, 1))


def _vs30_m_s() -> np.ndarray:
    """Vs30 (m/s) softening eastwards 800..170 (site classes B..E)."""
    return np.tile(800.0 - 70.0 * np.arange(10.0), (10, 1))


def _parcels(path: Path) -> Path:
    boxes = [
        shapely.box(X0 + 20 + 100 * i, Y0 - 980 + 90 * i, X0 + 150 + 100 * i, Y0 - 860 + 90 * i)
        for i in range(8)
    ]
    frame = gpd.GeoDataFrame({"apn": [f"P{i}" for i in range(8)]}, geometry=boxes, crs=UTM)
    frame.to_file(path, layer="parcels")
    return path


def _config(
    folder: Path,
    pga_units: str | None = "%g",
    pga_file: str = "pga.tif",
    vs30_units: str | None = "m/s",
    amplification: bool = True,
    criterion_extra: str = "",
) -> Path:
    pga_entry = f"{{source: {pga_file}" + (f", units: '{pga_units}'" if pga_units else "") + "}"
    vs30_entry = "{source: vs30.tif" + (f", units: '{vs30_units}'" if vs30_units else "") + "}"
    amp = "    amplification: {vs30_layer: vs30}\n" if amplification else ""
    text = (
        "name: units\n"
        "candidates: {source: parcels.gpkg, id: apn}\n"
        "layers:\n"
        f"  pga: {pga_entry}\n"
        f"  vs30: {vs30_entry}\n"
        "criteria:\n"
        "  seismic:\n"
        "    kind: raster_zonal\n"
        "    layer: pga\n"
        f"{amp}{criterion_extra}"
        "    transform: {fn: linear, best: 0.3, worst: 0.9}\n"
        "    weight: 1\n"
    )
    path = folder / "units.yaml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    _parcels(tmp_path / "parcels.gpkg")
    _raster(tmp_path / "pga_g.tif", _pga_g())
    _raster(tmp_path / "pga.tif", 100 * _pga_g())  # a ShakeMap band in %g
    _raster(tmp_path / "vs30.tif", _vs30_m_s())
    return tmp_path


def _scores(config: Path) -> tuple[np.ndarray, np.ndarray]:
    table = run(load_config(config)).candidates.sort_values("candidate_id")
    return table["raw_seismic"].to_numpy(), table["score_seismic"].to_numpy()


# --- acceptance: %g with units: "%g" equals the raster / 100 with units: g -------------------


def test_percent_g_with_amplification_scores_as_the_raster_in_g(folder: Path) -> None:
    raw_pct, score_pct = _scores(_config(folder, pga_units="%g"))
    raw_g, score_g = _scores(_config(folder, pga_units="g", pga_file="pga_g.tif"))
    np.testing.assert_allclose(raw_pct, raw_g, rtol=1e-12)
    np.testing.assert_allclose(score_pct, score_g, rtol=1e-12)
    # meaningful: amplified PGA in g (F_PGA of about 1..2.4), scores spread over 0..1
    assert (raw_g > 0.1).all() and (raw_g < 2.0).all()
    assert score_g.max() == 1.0 and score_g.min() < 0.2 and len(np.unique(score_g)) >= 5


@pytest.mark.parametrize("alias", ["percent g", "pct g", "% g"])
def test_aliases_of_percent_g_give_the_same_scores(folder: Path, alias: str) -> None:
    _, reference = _scores(_config(folder, pga_units="g", pga_file="pga_g.tif"))
    _, scores = _scores(_config(folder, pga_units=alias))
    np.testing.assert_allclose(scores, reference, rtol=1e-12)


def test_conversions_are_recorded_in_run_json_diagnostics(folder: Path) -> None:
    result = run(load_config(_config(folder, pga_units="%g")))
    diagnostics = json.loads(json.dumps(result.manifest["diagnostics"]))
    pga, vs30 = diagnostics["units"]["layers.pga"], diagnostics["units"]["layers.vs30"]
    assert pga["unit"] == "%g" and pga["declared_by"] == "config"
    assert pga["converted_to"] == "g" and pga["factor"] == pytest.approx(0.01)
    assert pga["sampled_range"] == pytest.approx([0.1, 0.74])
    assert pga["checked_as"] == "PGA: 0..5 g"
    assert vs30["converted_to"] is None and vs30["sampled_range"] == pytest.approx([240, 800])
    assert vs30["checked_as"] == "Vs30: 100..3000 m/s"


def test_unit_declared_by_the_file_is_used_when_the_config_gives_none(folder: Path) -> None:
    _raster(folder / "pga.tif", 100 * _pga_g(), unit="%g")
    _, from_file = _scores(_config(folder, pga_units=None))
    _, reference = _scores(_config(folder, pga_units="g", pga_file="pga_g.tif"))
    np.testing.assert_allclose(from_file, reference, rtol=1e-12)


def test_config_and_file_units_that_disagree_stop_naming_both(folder: Path) -> None:
    _raster(folder / "pga.tif", 100 * _pga_g(), unit="%g")
    with pytest.raises(LayerError) as caught:
        run(load_config(_config(folder, pga_units="g")))
    message = str(caught.value)
    assert ":4: layers.pga.units: pga.tif: units: 'g' contradicts the unit the file" in message
    assert "declares for band 1 ('%g')" in message


def test_file_and_config_agreeing_through_an_alias_is_fine(folder: Path) -> None:
    _raster(folder / "pga.tif", 100 * _pga_g(), unit="percent g")
    _, scores = _scores(_config(folder, pga_units="%g"))
    assert np.isfinite(scores).all()


def test_amplification_needs_a_declared_acceleration_unit(folder: Path) -> None:
    with pytest.raises(LayerError, match=r"layers\.pga\.units: pga\.tif: amplification needs "):
        run(load_config(_config(folder, pga_units=None)))
    with pytest.raises(LayerError, match=r"but its units 'm/s' measure velocity"):
        run(load_config(_config(folder, pga_units="m/s")))
    with pytest.raises(LayerError, match=r"layers\.vs30\.units: vs30\.tif: amplification needs "):
        run(load_config(_config(folder, vs30_units=None)))


def test_vs30_in_km_per_s_is_converted(folder: Path) -> None:
    _, reference = _scores(_config(folder))
    _raster(folder / "vs30.tif", _vs30_m_s() / 1000)
    _, scores = _scores(_config(folder, vs30_units="km/s"))
    np.testing.assert_allclose(scores, reference, rtol=1e-12)


# --- plausibility -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("case", "expected"),
    [
        (
            {"pga_units": "g", "amplification": True},
            [
                ":4: layers.pga.units: pga.tif under the candidates: PGA of 10..74 g is not",
                "plausible (expected 0..5 g), with units 'g' from the config",
                'the values look like %g or cm/s2: set units: "%g" or "cm/s2"',
            ],
        ),
        (
            {"pga_units": "g", "amplification": False},
            [":4: layers.pga.units: pga.tif under the candidates: PGA of 10..74 g"],
        ),
        (
            {"vs30_units": "m/s", "vs30_scale": 1e-3},
            [
                ":5: layers.vs30.units: vs30.tif under the candidates: Vs30 of 0.24..0.8 m/s",
                'the values look like km/s: set units: "km/s"',
            ],
        ),
    ],
)
def test_implausible_values_stop_with_range_and_likely_unit(
    folder: Path, case: dict, expected: list[str]
) -> None:
    _raster(folder / "vs30.tif", _vs30_m_s() * case.pop("vs30_scale", 1.0))
    with pytest.raises(LayerError) as caught:
        run(load_config(_config(folder, **case)))
    for text in expected:
        assert text in str(caught.value)


def test_negative_pga_is_implausible(folder: Path) -> None:
    _raster(folder / "pga.tif", np.log(_pga_g()))  # ln(g), as some hazard grids store it
    with pytest.raises(LayerError, match=r"PGA of -2\.3.*not plausible.*check the layer"):
        run(load_config(_config(folder, pga_units="g", amplification=False)))


def test_elevation_checks_and_undeclared_nodata(tmp_path: Path) -> None:
    rule = raster_zonal.plausibility_rule(parse_unit("m"), "dem")
    assert rule is units.ELEVATION
    values = np.array([12.0, -32768.0, 340.0])
    unit = rasters.ValueUnit(parse_unit("m"), "m", "config")
    with pytest.raises(LayerError, match=r"-32768 looks like a nodata value the raster does not"):
        rasters.check_plausible(rule, values, unit, "layers.dem.units", "dem.tif")
    cm = rasters.ValueUnit(parse_unit("m"), "m", "file")
    with pytest.raises(LayerError, match=r"ground elevation of 1200..34000 m.*look like .*cm"):
        rasters.check_plausible(rule, np.array([1200.0, 34000.0]), cm, "x", "dem.tif")
    rasters.check_plausible(rule, np.array([-430.0, 8848.0, np.nan]), unit, "x", "dem.tif")


def test_criterion_units_convert_the_raw_values(folder: Path) -> None:
    config = _config(folder, amplification=False, criterion_extra="    units: g\n")
    raw, _ = _scores(config)
    np.testing.assert_allclose(raw, [0.1 + 0.08 * (i + 1) for i in range(8)], rtol=1e-9)
    loaded = load_config(config)
    assert run(loaded).criteria[0].unit == "g"
    bad = _config(folder, amplification=False, criterion_extra="    units: m/s\n")
    with pytest.raises(CriterionError, match=r"criteria\.seismic: units: cannot convert %g"):
        run(load_config(bad))


def test_without_criterion_units_values_stay_in_the_layer_unit(folder: Path) -> None:
    raw, _ = _scores(_config(folder, amplification=False))
    np.testing.assert_allclose(raw, [10 + 8 * (i + 1) for i in range(8)], rtol=1e-9)


# --- bands by name on layers --------------------------------------------------------------


def test_layer_band_accepts_a_name_and_lists_bands_when_unknown(folder: Path) -> None:
    config = _config(folder, pga_units="g", pga_file="pga_g.tif", amplification=False)
    named = config.read_text().replace(
        "{source: pga_g.tif, units: 'g'}", "{source: pga_g.tif, units: 'g', band: pga_2PCT50yr}"
    )
    config.write_text(named, encoding="utf-8")
    raw, _ = _scores(config)
    np.testing.assert_allclose(raw, [0.1 + 0.08 * (i + 1) for i in range(8)], rtol=1e-9)
    config.write_text(named.replace("band: pga_2PCT50yr", "band: pga50"), encoding="utf-8")
    with pytest.raises(LayerError, match=r"no band named 'pga50'; bands are 1: PGA_2pct50yr"):
        run(load_config(config))


def test_validate_reports_band_by_name_and_unit(folder: Path) -> None:
    from siteselect.study.layers import probe_layer

    spec = LayerSpec(source=folder / "pga_g.tif", band="PGA_2pct50yr", units="g")
    assert "band 1 in g" in probe_layer(spec, "layers.pga").detail
    with pytest.raises(LayerError, match="no band named 'x'"):
        probe_layer(LayerSpec(source=folder / "pga_g.tif", band="x"), "layers.pga")
    _raster(folder / "tagged.tif", _pga_g(), unit="g")
    with pytest.raises(LayerError, match=r"units: '%g' contradicts .* \('g'\)"):
        probe_layer(LayerSpec(source=folder / "tagged.tif", units="%g"), "layers.pga")


# --- raster covering no candidate ----------------------------------------------------------


def test_raster_that_covers_no_candidate_is_an_error_unless_allowed(folder: Path) -> None:
    far = folder / "far.tif"
    with rasterio.open(
        far,
        "w",
        driver="GTiff",
        width=10,
        height=10,
        count=1,
        dtype="float64",
        crs=UTM,
        transform=from_origin(X0 + 50_000, Y0, CELL, CELL),
    ) as dst:
        dst.write(_pga_g(), 1)
    config = _config(folder, pga_units="g", pga_file="far.tif", amplification=False)
    with pytest.raises(LayerError, match=r"layers\.pga: far\.tif: covers none of the 8 candid"):
        run(load_config(config))
    allowed = config.read_text().replace("units: 'g'}", "units: 'g', allow_outside: true}")
    config.write_text(allowed, encoding="utf-8")
    result = run(load_config(config))  # the coverage policy decides: all excluded
    assert result.candidates["excluded"].all()
    assert result.candidates["exclusion_reason"].str.contains("less than 50% of the parcel").all()


# --- airspace ground: units from the layer, ground_units, plausibility ----------------------


def _airspace(ground_units: str | None = None) -> AirspaceSpec:
    return AirspaceSpec(
        kind="airspace", layer="runways", ground="dem", ground_units=ground_units,
        building_height_ft=100,
    )  # fmt: skip


def test_ground_in_feet_or_metres_gives_the_same_feet(tmp_path: Path) -> None:
    x = np.array([X0 + 150.0, X0 + 550.0])
    y = np.array([Y0 - 150.0, Y0 - 550.0])
    airport = np.full(2, 20.0)
    metres = np.tile(np.arange(10.0) * 30 + 5, (10, 1))
    _raster(tmp_path / "dem.tif", metres)
    study = _Study(EMPTY, {"dem": LayerSpec(source=tmp_path / "dem.tif")})
    in_m, _ = _ground_ft(_airspace(), study, x, y, airport)  # no unit anywhere: metres
    _raster(tmp_path / "dem_ft.tif", metres / 0.3048, unit="ft")
    study_ft = _Study(EMPTY, {"dem": LayerSpec(source=tmp_path / "dem_ft.tif")})
    in_ft, _ = _ground_ft(_airspace(), study_ft, x, y, airport)  # the file says ft
    np.testing.assert_allclose(in_m, [35 / 0.3048, 155 / 0.3048])
    np.testing.assert_allclose(in_ft, in_m)
    with_option, _ = _ground_ft(_airspace("ft"), study_ft, x, y, airport)
    np.testing.assert_allclose(with_option, in_m)
    with pytest.raises(CriterionError, match=r"ground_units: 'm' contradicts the unit of layers"):
        _ground_ft(_airspace("m"), study_ft, x, y, airport)
    with pytest.raises(ValueError, match="unknown unit 'yards'"):
        _airspace("yards")


def test_ground_elevation_in_centimetres_declared_metres_stops(tmp_path: Path) -> None:
    _raster(tmp_path / "dem.tif", np.full((10, 10), 125_000.0))
    study = _Study(EMPTY, {"dem": LayerSpec(source=tmp_path / "dem.tif", units="m")})
    with pytest.raises(LayerError, match=r"ground elevation of 125000..125000 m is not plaus.*cm"):
        _ground_ft(_airspace(), study, np.array([X0 + 50]), np.array([Y0 - 50]), np.zeros(1))
    _raster(tmp_path / "dem.tif", np.full((10, 10), 4.0), unit="m/s")
    with pytest.raises(LayerError, match=r"needs a length unit \(m, ft, us-ft\), not 'm/s'"):
        _ground_ft(_airspace(), _Study(EMPTY, {"dem": LayerSpec(source=tmp_path / "dem.tif")}),
                   np.array([X0 + 50]), np.array([Y0 - 50]), np.zeros(1))  # fmt: skip


# --- real rasters still pass ----------------------------------------------------------------


def _socal_parcels() -> gpd.GeoDataFrame:
    """Parcels across San Diego, inland to the mountains (inside both real rasters)."""
    centres = [(-117.16, 32.72), (-117.05, 32.8), (-116.9, 32.85), (-116.75, 33.0), (-117.2, 33.1)]
    points = gpd.GeoSeries(gpd.points_from_xy(*zip(*centres, strict=True)), crs="EPSG:4326")
    boxes = points.to_crs(UTM).buffer(300, cap_style="square")
    return gpd.GeoDataFrame(
        {"candidate_id": [f"S{i}" for i in range(len(boxes))]}, geometry=boxes, crs=UTM
    )


@pytest.mark.shared_data
def test_real_vs30_and_elevation_pass_the_plausibility_checks(shared_data: Path) -> None:
    vs30 = shared_data / "rasters" / "vs30_socal.tif"
    dem = shared_data / "rasters" / "gmted_elevation_socal.tif"
    parcels = _socal_parcels()
    study = _Study(
        parcels,
        {"vs30": LayerSpec(source=vs30, units="m/s"), "dem": LayerSpec(source=dem, units="m")},
    )
    for layer, rule in (("vs30", units.VS30), ("dem", units.ELEVATION)):
        spec = RasterZonalSpec(kind="raster_zonal", layer=layer, stat="max")
        with rasterio.open(study.layers[layer].source) as src:
            description = src.descriptions[0] or layer
        assert raster_zonal.plausibility_rule(
            parse_unit(study.layers[layer].units or ""), f"{layer} {description}"
        ) is rule  # fmt: skip
        got = raster_zonal.measure(spec, study)  # the checks run inside: must not raise
        assert np.isfinite(got.values).all()
        low, high = np.nanmin(got.values), np.nanmax(got.values)
        assert rule.low <= low and high <= rule.high, (layer, low, high)
    # the whole rasters, not only the sampled parcels, lie in the plausible ranges
    for path, rule, unit in ((vs30, units.VS30, "m/s"), (dem, units.ELEVATION, "m")):
        with rasterio.open(path) as src:
            data = src.read(1, masked=True).astype(float).filled(np.nan)
        declared = rasters.ValueUnit(parse_unit(unit), unit, "config")
        rasters.check_plausible(rule, data, declared, path.name, "whole raster")
    # the airspace ground sampled from GMTED passes too
    x, y = (
        np.array([g.centroid.x for g in parcels.geometry]),
        np.array([g.centroid.y for g in parcels.geometry]),
    )
    feet, source = _ground_ft(_airspace(), study, x, y, np.zeros(len(x)))
    assert source.all() and (feet > -10).all() and (feet < 9000 / 0.3048).all()  # all from dem
