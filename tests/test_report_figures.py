"""The report's map thumbnail: legend, scale bar and north arrow, right in the working CRS."""

from __future__ import annotations

import numpy as np
import pyproj
import pytest
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from siteselect.outputs.figures import (
    draw_north_arrow,
    draw_scale_bar,
    ground_scale,
    nice_length,
    north_angle_deg,
    thumbnail_figure,
)
from tests.test_webmap import make_run_result

UTM11 = pyproj.CRS("EPSG:32611")
#: NAD83 / California zone 6 in US survey feet.
CA6_FT = pyproj.CRS("EPSG:2230")


def _xy(crs: pyproj.CRS, lon: float, lat: float) -> tuple[float, float]:
    return pyproj.Transformer.from_crs("EPSG:4326", crs, always_xy=True).transform(lon, lat)


@pytest.mark.parametrize(
    ("crs", "lon", "lat"),
    [(UTM11, -117.0, 32.7), (UTM11, -114.2, 34.0), (UTM11, -119.8, 36.5), (CA6_FT, -116.2, 33.1)],
)
def test_north_arrow_follows_the_meridian_convergence(
    crs: pyproj.CRS, lon: float, lat: float
) -> None:
    """True north leans west of grid north east of the central meridian, east of it west."""
    x, y = _xy(crs, lon, lat)
    convergence = pyproj.Proj(crs).get_factors(lon, lat).meridian_convergence
    assert north_angle_deg(crs, x, y) == pytest.approx(-convergence, abs=0.01)


def test_north_arrow_in_utm_leans_the_expected_way() -> None:
    east = north_angle_deg(UTM11, *_xy(UTM11, -114.5, 34.0))
    west = north_angle_deg(UTM11, *_xy(UTM11, -119.5, 34.0))
    assert -2.0 < east < -1.0 and 1.0 < west < 2.0  # about (lon - lon0) * sin(lat)


@pytest.mark.parametrize(
    ("crs", "lon", "lat", "expected"),
    [
        (UTM11, -117.0, 33.0, 1 / 0.9996),  # the UTM scale factor on the central meridian
        (CA6_FT, -116.25, 33.0, 1200 / 3937),  # a US survey foot, near true scale
    ],
)
def test_ground_scale(crs: pyproj.CRS, lon: float, lat: float, expected: float) -> None:
    x, y = _xy(crs, lon, lat)
    factor = pyproj.Proj(crs).get_factors(lon, lat).parallel_scale
    unit = crs.axis_info[0].unit_conversion_factor
    assert ground_scale(crs, x, y) == pytest.approx(unit / factor, rel=1e-6)
    assert ground_scale(crs, x, y) == pytest.approx(expected, rel=3e-4)


def test_nice_length() -> None:
    assert [nice_length(m) for m in (0.3, 1, 7, 19_999, 20_000, 4_321, 999_000)] == [
        1.0, 1.0, 5.0, 10_000.0, 20_000.0, 2_000.0, 500_000.0,
    ]  # fmt: skip


@pytest.mark.parametrize("crs", [UTM11, CA6_FT])
def test_scale_bar_measures_ground_metres(crs: pyproj.CRS) -> None:
    x, y = _xy(crs, -116.9, 32.8)
    unit = crs.axis_info[0].unit_conversion_factor
    span = 30_000 / unit  # 30 km wide in CRS units
    ax = Figure().add_subplot()
    ax.set_xlim(x - span / 2, x + span / 2)
    ax.set_ylim(y - span / 2, y + span / 2)
    length_m = draw_scale_bar(ax, crs)
    assert length_m == 5_000.0  # a quarter of 30 km, rounded down to 1, 2 or 5 x 10^k
    segments = [p for p in ax.patches if isinstance(p, Rectangle) and p.get_edgecolor()[3] > 0]
    drawn = sum(p.get_width() for p in segments) * ground_scale(crs, x, y)
    assert drawn == pytest.approx(length_m, rel=1e-9)
    assert "5 km" in [t.get_text() for t in ax.texts]


def test_no_scale_bar_in_a_geographic_crs() -> None:
    ax = Figure().add_subplot()
    ax.set_xlim(-117.2, -116.8)
    ax.set_ylim(32.6, 33.0)
    assert draw_scale_bar(ax, pyproj.CRS("EPSG:4326")) is None
    assert not ax.patches


def test_north_arrow_is_drawn_at_its_angle() -> None:
    ax = Figure().add_subplot()
    x, y = _xy(UTM11, -114.5, 34.0)
    ax.set_xlim(x - 10_000, x + 10_000)
    ax.set_ylim(y - 10_000, y + 10_000)
    angle = draw_north_arrow(ax, UTM11)
    (arrow,) = [t for t in ax.texts if t.get_text() == ""]
    (tip_x, tip_y), (tail_x, tail_y) = arrow.xy, arrow.xyann
    drawn = np.degrees(np.arctan2(tip_x - tail_x, tip_y - tail_y))
    assert drawn == pytest.approx(angle) and angle < -1.0
    assert "N" in [t.get_text() for t in ax.texts]


def test_thumbnail_has_a_legend_for_every_layer_drawn() -> None:
    result = make_run_result(60, top_n=5, seed=4)
    fig = thumbnail_figure(result)
    texts = [t.get_text() for ax in fig.axes for t in ax.texts]
    assert "N" in texts and any(t.endswith(" m") or t.endswith(" km") for t in texts)
    (legend,) = [ax.get_legend() for ax in fig.axes if ax.get_legend() is not None]
    labels = [t.get_text().replace("\n", " ") for t in legend.get_texts()]
    shown = [o.name for o in result.overlays if o.show and not o.gdf.empty]
    assert labels == ["Excluded by a hard constraint", "Top site, by rank", *shown]
    titles = [ax.get_title(loc="left") for ax in fig.axes]
    assert "Total score of a site\n(0 to 1, higher is better)" in titles
