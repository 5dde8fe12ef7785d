"""Site class and F_PGA (ASCE 7-16), the raster_zonal coverage policy and amplification,
and the real-data acceptance checks (Vs30 of Southern California, NSHM fault traces)."""

from __future__ import annotations

import doctest
import re
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import rasterio
import shapely
from rasterio.transform import from_origin

from siteselect._errors import LayerError
from siteselect.config import LayerSpec, load_config
from siteselect.criteria import raster_zonal, seismic
from siteselect.criteria.base import Measurement
from siteselect.criteria.raster_zonal import (
    AmplificationSpec,
    CoverageSpec,
    RasterZonalSpec,
    apply_coverage,
    coverage_flags,
)
from siteselect.pipeline import run

UTM = "EPSG:32611"


@pytest.mark.parametrize("module", [seismic, raster_zonal])
def test_doctests(module) -> None:
    assert doctest.testmod(module).failed == 0


# --- ASCE 7-16 tables ---------------------------------------------------------------------


def test_site_class_boundaries_are_table_20_3_1_in_exact_metres() -> None:
    ft = 0.3048
    vs = np.array([5000 * ft + 1e-6, 5000 * ft, 2500 * ft, 1200 * ft, 600 * ft, 600 * ft - 1e-6])
    assert seismic.site_class(vs).tolist() == ["A", "B", "C", "D", "D", "E"]
    # the NSHM reference rock, 760 m/s, is just below the B/C boundary (762 m/s): class C
    assert seismic.site_class(np.array([760.0, np.nan])).tolist() == ["C", ""]


def test_f_pga_equals_table_11_8_1_at_the_columns_and_interpolates_between() -> None:
    for letter, row in seismic.F_PGA_TABLE.items():
        got = seismic.f_pga(np.full(6, letter), seismic.PGA_BINS_G, measured=True)
        np.testing.assert_allclose(got, row)
    # straight line between columns, constant beyond the ends
    assert seismic.f_pga(np.array(["E"]), np.array([0.15]))[0] == pytest.approx(2.15)
    assert seismic.f_pga(np.array(["D"]), np.array([0.01]))[0] == pytest.approx(1.6)
    assert seismic.f_pga(np.array(["D"]), np.array([1.5]))[0] == pytest.approx(1.1)
    # Section 11.4.3: Site Class B from an estimated (not measured) Vs30 uses 1.0
    assert seismic.f_pga(np.array(["B"]), np.array([0.3]))[0] == 1.0
    assert np.isnan(seismic.f_pga(np.array(["F"]), np.array([0.3]))[0])


def test_amplified_pga_is_monotone_in_pga_for_every_class() -> None:
    pga = np.linspace(0.0, 1.5, 301)
    for vs in (2000.0, 900.0, 500.0, 250.0, 150.0):
        pga_m = seismic.amplified_pga(pga, np.full_like(pga, vs))
        assert (np.diff(pga_m) >= -1e-12).all()


def test_envelope_takes_the_largest_factor_of_the_classes_spanned() -> None:
    pga = np.array([0.6, 0.6, 0.1])
    got = seismic.envelope_f_pga(
        np.array([300.0, 300.0, 150.0]), np.array([500.0, 300.0, 900.0]), pga
    )
    # C/D at 0.6 g: C (1.2) beats D (1.1); D alone: 1.1; B..E at 0.1 g: E (2.4)
    np.testing.assert_allclose(got, [1.2, 1.1, 2.4])


# --- coverage policy ------------------------------------------------------------------------


def test_coverage_policies() -> None:
    values = np.array([0.5, 0.7, np.nan, 0.9, 0.2])
    covered = np.array([1.0, 0.3, 0.0, 0.8, 0.6])
    inside = np.array([1.0, 0.3, 0.0, 1.0, 1.0])
    flags = coverage_flags(covered, inside)
    assert flags.tolist() == [
        "",
        "30% covered (part outside the raster)",
        "outside the raster",
        "80% covered (part on nodata)",
        "60% covered (part on nodata)",
    ]
    got, _ = apply_coverage(
        values, covered, flags, CoverageSpec(policy="exclude", min_fraction=0.5)
    )
    np.testing.assert_array_equal(got, [0.5, np.nan, np.nan, 0.9, 0.2])
    got, new_flags = apply_coverage(values, covered, flags, CoverageSpec(policy="worst"))
    np.testing.assert_array_equal(got, [0.5, 0.9, 0.9, 0.9, 0.2])
    assert new_flags[2] == "outside the raster; worst observed value used"
    got, _ = apply_coverage(values, covered, flags, CoverageSpec(policy="worst", worse="lower"))
    np.testing.assert_array_equal(got, [0.5, 0.2, 0.2, 0.9, 0.2])
    got, _ = apply_coverage(values, covered, flags, CoverageSpec(policy="ignore"))
    np.testing.assert_array_equal(got, values)  # NaN stays NaN: the pipeline excludes it


# --- the criterion on synthetic rasters -----------------------------------------------------


class _Config:
    """Config.where for a config built in code: the dotted location alone."""

    def where(self, loc: tuple[str, ...]) -> str:
        return ".".join(loc)


def _measure(spec: RasterZonalSpec, study: _Study) -> Measurement:
    """The kind's measurement of every candidate, finished as the pipeline does."""
    return raster_zonal.measure(spec, study).finished(study, "raster_zonal")  # type: ignore[arg-type]


class _Study:
    """What raster_zonal reads from a Study: candidates, layer specs, config.where."""

    def __init__(self, candidates: gpd.GeoDataFrame, layers: dict[str, Path | LayerSpec]) -> None:
        self.candidates = candidates
        self.crs = UTM
        self.config = _Config()
        self.diagnostics: dict[str, dict] = {}
        self.layers = {
            name: spec if isinstance(spec, LayerSpec) else LayerSpec(source=spec)
            for name, spec in layers.items()
        }

    def layer_spec(self, name: str) -> LayerSpec:
        return self.layers[name]


def _raster(
    path: Path,
    values: np.ndarray,
    transform,
    crs: str = UTM,
    unit: str | None = None,
    description: str | None = None,
) -> Path:
    """A one-band float64 GeoTIFF (nodata -1), with a band unit and description if given."""
    with rasterio.open(
        path,
        "w",
        driver="GTiff",
        width=values.shape[1],
        height=values.shape[0],
        count=1,
        dtype="float64",
        crs=crs,
        transform=transform,
        nodata=-1.0,
    ) as dst:
        dst.write(values, 1)
        if unit is not None:
            dst.set_band_unit(1, unit)
        if description is not None:
            dst.set_band_description(1, description)
    return path


@pytest.fixture
def grids(tmp_path: Path) -> dict[str, Path]:
    """PGA rising eastwards and Vs30 softening eastwards on a 10 x 10 grid of 100 m."""
    transform = from_origin(485_000, 3_621_000, 100, 100)
    cols = np.tile(np.arange(10.0), (10, 1))
    pga = 0.1 + 0.06 * cols
    pga[0, 0] = -1.0  # nodata
    vs30 = 800.0 - 70.0 * cols
    vs30[9, 9] = -1.0  # nodata under valid PGA
    return {
        "pga": _raster(tmp_path / "pga.tif", pga, transform),
        "vs30": _raster(tmp_path / "vs30.tif", vs30, transform),
    }


def _with_units(pga: Path, vs30: Path, pga_units: str = "g") -> dict[str, Path | LayerSpec]:
    """The PGA and Vs30 layers with their units declared (amplification needs them)."""
    return {
        "pga": LayerSpec(source=pga, units=pga_units),
        "vs30": LayerSpec(source=vs30, units="m/s"),
    }


def _parcels(*boxes: tuple[float, float, float, float]) -> gpd.GeoDataFrame:
    geoms = [
        shapely.box(485_000 + a, 3_620_000 + b, 485_000 + c, 3_620_000 + d) for a, b, c, d in boxes
    ]
    return gpd.GeoDataFrame(
        {"candidate_id": [f"C{i}" for i in range(len(geoms))]}, geometry=geoms, crs=UTM
    )


def test_amplification_per_cell_equals_naive(grids: dict[str, Path]) -> None:
    parcels = _parcels(
        (150, 150, 420, 380), (620, 10, 990, 90), (10, 910, 60, 990), (910, 10, 990, 90)
    )
    spec = RasterZonalSpec(
        kind="raster_zonal",
        layer="pga",
        amplification=AmplificationSpec(vs30_layer="vs30"),
        coverage=CoverageSpec(policy="ignore"),
    )
    got = _measure(spec, _Study(parcels, _with_units(grids["pga"], grids["vs30"])))
    with rasterio.open(grids["pga"]) as p, rasterio.open(grids["vs30"]) as v:
        pga, vs30 = p.read(1), v.read(1)
    for i, geom in enumerate(parcels.geometry):
        best = -np.inf
        for row in range(10):
            for col in range(10):
                x, y = 485_000 + col * 100, 3_621_000 - row * 100
                if (
                    geom.intersection(shapely.box(x, y - 100, x + 100, y)).area > 0
                    and pga[row, col] > 0
                    and vs30[row, col] > 0
                ):
                    best = max(best, float(seismic.amplified_pga(pga[row, col], vs30[row, col])))
        assert got.values[i] == pytest.approx(best if best > -np.inf else np.nan, nan_ok=True)
    assert got.unit == "g"
    assert got.extra_columns["site_class"].tolist() == ["C", "D", "B", ""]
    # PGA nodata, Vs30 nodata: either makes a cell count as nodata for PGA_M
    assert got.extra_columns["coverage"].tolist() == [
        "",
        "76% covered (part on nodata)",
        "on nodata",
        "on nodata",
    ]
    assert np.isnan(got.values[2]) and np.isnan(got.values[3])
    assert got.missing_reason.startswith("no pga and vs30 data over the parcel")


def test_amplification_per_parcel_when_grids_differ(grids: dict[str, Path], tmp_path: Path) -> None:
    """Vs30 on a geographic grid: envelope F_PGA of the parcel's Vs30 range x its PGA stat."""
    with rasterio.open(grids["vs30"]) as v:
        vs30 = v.read(1)
    lonlat = _raster(
        tmp_path / "vs30_ll.tif",
        np.full((50, 50), 300.0),
        from_origin(-117.5, 33.0, 0.01, 0.01),
        crs="EPSG:4326",
    )
    assert vs30.shape == (10, 10)
    parcels = _parcels((150, 150, 420, 380))
    spec = RasterZonalSpec(
        kind="raster_zonal", layer="pga", amplification=AmplificationSpec(vs30_layer="vs30")
    )
    got = _measure(spec, _Study(parcels, _with_units(grids["pga"], lonlat)))
    pga_max = 0.1 + 0.06 * 4
    assert got.values[0] == pytest.approx(
        seismic.f_pga(np.array(["D"]), np.array([pga_max]))[0] * pga_max
    )
    assert got.extra_columns["site_class"].tolist() == ["D"]


def test_percentile_stat_and_exclusion_of_uncovered(grids: dict[str, Path]) -> None:
    parcels = _parcels((0, 0, 1000, 100), (900, 0, 1300, 100))  # the second is 75% outside
    spec = RasterZonalSpec(kind="raster_zonal", layer="pga", stat="p90")
    got = _measure(spec, _Study(parcels, grids))
    # ten equal cells 0.10..0.64: 90% of the area is at or below the 9th value
    assert got.values[0] == pytest.approx(0.1 + 0.06 * 8)
    assert np.isnan(got.values[1])
    assert "less than 50% of the parcel has pga data" in got.missing_reason
    assert got.extra_columns["coverage"][1] == "25% covered (part outside the raster)"


def test_stat_pattern_rejects_bad_names() -> None:
    with pytest.raises(ValueError, match="stat"):
        RasterZonalSpec(kind="raster_zonal", layer="pga", stat="p900")


# --- real data acceptance -------------------------------------------------------------------


def _san_diego_parcels(shared_data: Path) -> tuple[gpd.GeoDataFrame, shapely.Point]:
    faults = gpd.read_file(shared_data / "faults" / "nshm23_fault_sections.geojson")
    rose = faults[faults["FaultName"] == "Rose Canyon"].to_crs(UTM).geometry.iloc[0]
    on_trace = rose.interpolate(0.45, normalized=True)  # in the city, north of 32.675 N
    boxes = [on_trace.buffer(100, cap_style="square")]  # straddles the trace
    boxes += [shapely.Point(on_trace.x + 100, on_trace.y).buffer(40, cap_style="square")]  # near
    boxes += [shapely.box(495_000, 3_600_000, 495_200, 3_600_200)]  # Otay Mesa: south of the raster
    boxes += [
        shapely.Point(on_trace.x + dx, on_trace.y).buffer(100, cap_style="square")
        for dx in (-3000, 3000, 6000)
    ]
    frame = gpd.GeoDataFrame({"apn": [f"P{i}" for i in range(len(boxes))]}, geometry=boxes, crs=UTM)
    return frame, on_trace


@pytest.mark.shared_data
def test_vs30_socal_sampled_for_utm_parcels_is_in_range(shared_data: Path) -> None:
    parcels, _ = _san_diego_parcels(shared_data)
    parcels = parcels[parcels["apn"] != "P2"]  # P2 lies south of the raster
    vs30 = shared_data / "rasters" / "vs30_socal.tif"
    for stat in ("min", "max", "mean", "p90"):
        spec = RasterZonalSpec(kind="raster_zonal", layer="vs30", stat=stat)
        got = _measure(spec, _Study(parcels.assign(candidate_id=parcels["apn"]), {"vs30": vs30}))
        assert np.isfinite(got.values).all()
        assert ((got.values >= 180) & (got.values <= 760)).all(), got.values
        assert (got.extra_columns["covered_fraction"] == 1.0).all()


@pytest.mark.shared_data
def test_rose_canyon_excludes_parcels_on_its_trace(shared_data: Path, tmp_path: Path) -> None:
    parcels, _ = _san_diego_parcels(shared_data)
    parcels.to_file(tmp_path / "parcels.gpkg", layer="parcels")
    config = tmp_path / "rose.yaml"
    faults = shared_data / "faults" / "nshm23_fault_sections.geojson"
    config.write_text(
        f"""\
name: Rose Canyon setback
candidates: {{source: parcels.gpkg, id: apn}}
layers:
  faults: {{source: {faults}, name_column: FaultName}}
  vs30: {{source: {shared_data / "rasters" / "vs30_socal.tif"}, units: m/s}}
constraints:
  fault_setback: {{kind: distance, layer: faults, min_m: 150}}
criteria:
  soft_soil:
    kind: raster_zonal
    layer: vs30
    stat: min
    coverage: {{policy: exclude, min_fraction: 0.9}}
    transform: {{fn: linear, best: 760, worst: 180}}
    weight: 1
  fault_distance:
    kind: distance
    layer: faults
    transform: {{fn: linear, best: 2000, worst: 150}}
    weight: 1
""",
        encoding="utf-8",
    )
    table = run(load_config(config)).candidates.set_index("candidate_id")
    on_trace, near = table.loc["P0"], table.loc["P1"]
    assert on_trace["excluded"] and near["excluded"]
    assert re.fullmatch(
        r"fault_setback: (within 0 m of|touches or crosses) Rose Canyon \(minimum 150 m\)",
        on_trace["exclusion_reason"],
    ), on_trace["exclusion_reason"]
    assert 0 < near["raw_fault_distance"] < 150
    assert re.fullmatch(
        r"fault_setback: within [\d.]+ m of Rose Canyon \(minimum 150 m\)", near["exclusion_reason"]
    ), near["exclusion_reason"]
    outside = table.loc["P2"]
    assert outside["excluded"] and outside["soft_soil_coverage"] == "outside the raster"
    assert (
        "soft_soil: less than 90% of the parcel has vs30 data (outside the raster or on nodata)"
        in outside["exclusion_reason"]
    )
    others = table.drop(index=["P0", "P1", "P2"])
    assert not others["excluded"].any(), others["exclusion_reason"].tolist()
    assert (others["raw_fault_distance"] > 150).all()
    assert ((others["raw_soft_soil"] >= 180) & (others["raw_soft_soil"] <= 760)).all()


def test_worst_coverage_and_the_overlap_check_see_every_partition(
    grids: dict[str, Path],
) -> None:
    """Measured in two partitions (the Dask engine) and finished once, a parcel outside
    the raster gets the worst value of the *whole* set, as measured all at once; a
    partition entirely outside the raster is no error when another one is covered."""
    from siteselect.engine.partitions import merge_measurements

    parcels = _parcels((0, 0, 1000, 100), (5000, 5000, 5100, 5100), (0, 0, 100, 100))
    spec = RasterZonalSpec(kind="raster_zonal", layer="pga", coverage={"policy": "worst"})
    whole = _measure(spec, _Study(parcels, grids))
    positions = [np.array([0, 2]), np.array([1])]
    parts = [raster_zonal.measure(spec, _Study(parcels.iloc[p], grids)) for p in positions]
    merged = merge_measurements(parts, positions).finished(
        _Study(parcels, grids),  # type: ignore[arg-type]
        "raster_zonal",
    )
    np.testing.assert_array_equal(merged.values, whole.values)
    assert merged.values[1] == whole.values[0]  # the worst value observed, from partition 1
    assert list(merged.extra_columns["coverage"]) == list(whole.extra_columns["coverage"])
    outside = _Study(parcels.iloc[[1]], grids)
    with pytest.raises(LayerError, match="covers none of the 1 candidates"):
        _measure(spec, outside)
