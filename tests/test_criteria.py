"""Criterion kinds on the tiny world, each against a naive reference."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import shapely

from siteselect.config import load_config
from siteselect.criteria.accessibility import AccessibilitySpec, DecaySpec
from siteselect.criteria.accessibility import measure as measure_access
from siteselect.criteria.distance import DistanceSpec
from siteselect.criteria.distance import measure as measure_distance
from siteselect.criteria.raster_zonal import RasterZonalSpec
from siteselect.criteria.raster_zonal import measure as measure_raster
from siteselect.criteria.zones import ZonesSpec
from siteselect.criteria.zones import measure as measure_zones
from siteselect.study import Study, load_study


@pytest.fixture(scope="module")
def study(world_config: Path) -> Study:
    return load_study(load_config(world_config))


def test_candidates_reprojected_with_area(study: Study) -> None:
    assert study.crs.to_epsg() == 32611
    assert len(study.candidates) == 36
    # 370 m squares drawn in UTM, stored in California State Plane feet, read back
    assert study.candidates["area_acres"].to_numpy() == pytest.approx(
        370**2 / 4046.8564224, rel=1e-6
    )


def test_distance_equals_naive(study: Study) -> None:
    spec = DistanceSpec(kind="distance", layer="hospitals")
    got = measure_distance(spec, study)
    hospitals = study.vector("hospitals")
    assert list(hospitals["feature_name"]) == ["West Hospital"]  # where: STATUS OPEN
    for geom, value in zip(study.candidates.geometry, got.values, strict=True):
        assert value == pytest.approx(min(geom.distance(h) for h in hospitals.geometry))
    assert set(got.feature) == {"West Hospital"}


def test_zones_overlap_equals_naive(study: Study) -> None:
    spec = ZonesSpec(kind="zones", layer="runway", buffer_m=250)
    got = measure_zones(spec, study)
    zone = study.vector("runway").geometry.iloc[0].buffer(250, quad_segs=16)
    for geom, value in zip(study.candidates.geometry, got.values, strict=True):
        assert value == pytest.approx(100 * geom.intersection(zone).area / geom.area, abs=1e-9)
    assert (got.values > 0).sum() >= 2
    assert all(name.startswith("zone Runway 1") for name in got.feature[got.values > 0])


def test_raster_max_over_whole_parcel(study: Study) -> None:
    got = measure_raster(RasterZonalSpec(kind="raster_zonal", layer="hazard"), study)
    assert got.unit == "g"
    # the raster rises eastwards: the max sits at the parcel's east edge, above its centroid value
    mean = measure_raster(RasterZonalSpec(kind="raster_zonal", layer="hazard", stat="mean"), study)
    assert (got.values > mean.values).all()


def test_accessibility_gravity_equals_naive(study: Study) -> None:
    spec = AccessibilitySpec(
        kind="accessibility",
        layer="tracts",
        population="pop_total_population",
        decay=DecaySpec(fn="gaussian", half_min=3),
        speed_kmh=30,
    )
    got = measure_access(spec, study)
    tracts = study.vector("tracts")
    points = [t.representative_point() for t in tracts.geometry]
    for geom, value in zip(study.candidates.geometry, got.values, strict=True):
        origin = shapely.point_on_surface(geom)
        want = 0.0
        for point, pop in zip(points, tracts["pop_total_population"], strict=True):
            minutes = origin.distance(point) / (30 / 3.6) / 60
            want += pop * math.exp(-math.log(2) * (minutes / 3) ** 2)
        assert value == pytest.approx(want)


def test_catchment_counts_population_within_threshold(study: Study) -> None:
    spec = AccessibilitySpec(
        kind="accessibility",
        layer="tracts",
        population="pop_total_population",
        method="catchment",
        max_minutes=0.1,
        speed_kmh=30,
    )
    got = measure_access(spec, study)
    assert set(np.unique(got.values)) <= {0.0, 1000.0, 9000.0, 10000.0}
