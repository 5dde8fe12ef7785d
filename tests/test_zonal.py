"""Zonal statistics against a naive per-polygon, per-cell oracle."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import rasterio
import shapely
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rasterio.transform import from_origin

from siteselect.zonal import zonal_stats

NODATA = -9999.0


def _write(path: Path, values: np.ndarray, x0: float, y0: float, cell: float) -> Path:
    with rasterio.open(
        path,
        "w",
        driver="GTiff",
        width=values.shape[1],
        height=values.shape[0],
        count=1,
        dtype="float64",
        crs="EPSG:32611",
        transform=from_origin(x0, y0, cell, cell),
        nodata=NODATA,
    ) as dst:
        dst.write(values, 1)
    return path


def naive(geom, values: np.ndarray, x0: float, y0: float, cell: float):
    """Every cell, one at a time: covered area > 0 counts; weights = covered fraction."""
    found, weights = [], []
    for row in range(values.shape[0]):
        for col in range(values.shape[1]):
            box = shapely.box(
                x0 + col * cell, y0 - (row + 1) * cell, x0 + (col + 1) * cell, y0 - row * cell
            )
            if geom.geom_type == "Point":
                covered = 1.0 if shapely.intersects(geom, box) else 0.0
            else:
                covered = shapely.intersection(geom, box).area / cell**2
            if covered > 0 and values[row, col] != NODATA:
                found.append(values[row, col])
                weights.append(covered)
    if not found:
        return np.nan, np.nan, np.nan
    found, weights = np.array(found), np.array(weights)
    return found.max(), found.min(), float((found * weights).sum() / weights.sum())


@st.composite
def scenes(draw):
    rows, cols = draw(st.integers(1, 6)), draw(st.integers(1, 6))
    values = np.array(
        draw(st.lists(st.floats(0, 2), min_size=rows * cols, max_size=rows * cols))
    ).reshape(rows, cols)
    holes = draw(st.lists(st.booleans(), min_size=rows * cols, max_size=rows * cols))
    values[np.array(holes).reshape(rows, cols)] = NODATA
    geoms = []
    for _ in range(draw(st.integers(1, 6))):
        x = draw(st.floats(-15, 6 * 10 + 5))
        y = draw(st.floats(-6 * 10 - 5, 15))
        if draw(st.booleans()):
            w, h = draw(st.floats(0.5, 30)), draw(st.floats(0.5, 30))  # some smaller than a cell
            geoms.append(shapely.box(x, y, x + w, y + h))
        elif draw(st.booleans()):
            geoms.append(shapely.Point(x, y).buffer(draw(st.floats(0.5, 20)), 6))
        else:
            geoms.append(shapely.Point(x + 0.01, y + 0.01))
    return values, geoms


@settings(
    max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(scenes())
def test_zonal_equals_naive(tmp_path: Path, scene) -> None:
    values, geoms = scene
    path = _write(tmp_path / "r.tif", values, 0.0, 0.0, 10.0)
    result = zonal_stats(np.array(geoms, dtype=object), path)
    for i, geom in enumerate(geoms):
        want_max, want_min, want_mean = naive(geom, values, 0.0, 0.0, 10.0)
        np.testing.assert_allclose(
            [result.max[i], result.min[i], result.mean[i]],
            [want_max, want_min, want_mean],
            rtol=1e-9,
            atol=1e-9,
            equal_nan=True,
        )


def test_small_parcel_gets_its_cell_and_coverage(tmp_path: Path) -> None:
    values = np.array([[1.0, 2.0], [3.0, 4.0]])
    path = _write(tmp_path / "r.tif", values, 0.0, 20.0, 10.0)
    tiny = shapely.box(12, 12, 13, 13)  # inside the cell of value 2
    straddling = shapely.box(5, 5, 15, 15)  # quarter of each cell
    outside = shapely.box(100, 100, 110, 110)
    half_out = shapely.box(-10, 10, 10, 20)  # half outside the raster, over cell 1
    result = zonal_stats(np.array([tiny, straddling, outside, half_out]), path)
    assert result.max.tolist()[:2] == [2.0, 4.0]
    assert result.mean[1] == pytest.approx(2.5)
    assert np.isnan(result.max[2]) and result.covered_fraction[2] == 0.0
    assert result.max[3] == 1.0 and result.covered_fraction[3] == pytest.approx(0.5)
    assert result.covered_fraction[0] == pytest.approx(1.0)
