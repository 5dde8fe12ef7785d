"""Land assembly: neighbouring small parcels grown into sites of ``min_acres``."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import shapely

from bench.land_naive import naive_regions
from siteselect.config import load_config
from siteselect.config.land import AssembleSpec
from siteselect.geo import m2_to_acres
from siteselect.pipeline import run
from siteselect.study.assembly import assemble_candidates, grow_regions, site_geometries

ACRE_M2 = 4046.8564224
SIDE = (3 * ACRE_M2) ** 0.5  # a 3-acre square
UTM = "EPSG:32611"
X0, Y0 = 485_000.0, 3_620_000.0


def block(street_m: float = 0.0, rows: int = 3, cols: int = 3) -> gpd.GeoDataFrame:
    """``rows x cols`` 3-acre squares, ``street_m`` apart, ids B00..B22 (row, column)."""
    step = SIDE + street_m
    boxes = [
        shapely.box(X0 + c * step, Y0 + r * step, X0 + c * step + SIDE, Y0 + r * step + SIDE)
        for r in range(rows)
        for c in range(cols)
    ]
    ids = [f"B{r}{c}" for r in range(rows) for c in range(cols)]
    return gpd.GeoDataFrame(
        {
            "candidate_id": ids,
            "source_row": np.arange(1, len(ids) + 1),
            "geometry_repaired": False,
            "area_before_repair_acres": np.nan,
            "duplicate_of": "",
            "area_acres": m2_to_acres(shapely.area(np.asarray(boxes))),
        },
        geometry=boxes,
        crs=UTM,
    )


@pytest.mark.parametrize(("max_parcels", "sites"), [(8, 1), (7, 1), (6, 0), (2, 0)])
def test_a_3x3_block_of_3_acre_parcels_makes_one_20_acre_site_only_if_max_parcels_allows(
    max_parcels: int, sites: int
) -> None:
    spec = AssembleSpec(min_acres=20, max_parcels=max_parcels)
    frame = assemble_candidates(block(), spec)
    assembled = frame[frame["candidate_id"].str.startswith("A-")]
    assert len(assembled) == sites
    if sites:
        (row,) = assembled.itertuples()
        members = row.parcel_ids.split(";")
        assert len(members) == 7  # 7 x 3 = 21 acres: the first count to reach 20
        assert row.candidate_id == f"A-{members[0]}"
        assert row.area_acres == pytest.approx(21.0)
        assert row.geometry.geom_type == "Polygon"  # touching parcels: one piece
    singles = frame[~frame["candidate_id"].str.startswith("A-")]
    assert (singles["parcel_ids"] == singles["candidate_id"]).all()


def test_across_a_street_only_within_max_gap_and_the_site_is_one_piece() -> None:
    parcels = block(street_m=20.0)
    none = assemble_candidates(parcels, AssembleSpec(min_acres=20, max_gap_m=10))
    assert not none["candidate_id"].str.startswith("A-").any()
    some = assemble_candidates(parcels, AssembleSpec(min_acres=20, max_gap_m=30))
    (site,) = some[some["candidate_id"].str.startswith("A-")].itertuples()
    assert site.geometry.geom_type == "Polygon"  # the streets between are bridged
    members = parcels.set_index("candidate_id").loc[site.parcel_ids.split(";")]
    assert site.geometry.contains(members.geometry.union_all())
    # the bridges are the streets between members, not the world around them
    hull = members.geometry.union_all().convex_hull
    assert site.geometry.difference(hull).area < 1e-6


def test_the_region_grows_compactly_from_the_largest_seed() -> None:
    parcels = block()
    acres = parcels["area_acres"].to_numpy().copy()
    acres[4] = 5.0  # the centre parcel is the largest: the seed
    geoms = parcels.geometry.to_numpy()
    regions = grow_regions(geoms, acres, AssembleSpec(min_acres=13.5))
    members = regions.members[0]  # the first site formed grows from the largest seed
    assert members[0] == 4
    # 5 + 3 x 3 acres: the seed and three parcels making a 2 x 2 block (the most compact)
    assert len(members) == 4
    union = shapely.union_all(geoms[members])
    assert union.convex_hull.area == pytest.approx(union.area)


def test_growth_matches_the_plainly_written_rules() -> None:
    rng = np.random.default_rng(11)
    formed = 0
    for trial in range(6):
        n = 30
        xy = rng.uniform(0, 1_000, (n, 2))
        size = rng.uniform(40, 140, n)
        geoms = shapely.box(xy[:, 0], xy[:, 1], xy[:, 0] + size, xy[:, 1] + size * 0.8)
        acres = m2_to_acres(shapely.area(geoms))
        spec = AssembleSpec(
            min_acres=float(rng.uniform(3, 10)), max_parcels=4 + trial, max_gap_m=25
        )
        fast = grow_regions(geoms, acres, spec)
        slow = naive_regions(geoms, acres, spec.min_acres, spec.max_parcels, spec.max_gap_m)
        assert [list(m) for m in fast.members] == slow
        formed += len(slow)
    assert formed >= 6  # the trials do assemble sites


def test_site_geometries_without_gap_is_the_union() -> None:
    parcels = block()
    geoms = parcels.geometry.to_numpy()
    (site,) = site_geometries(geoms, [np.array([0, 1, 3])], 0.0)
    assert site.equals(shapely.union_all(geoms[[0, 1, 3]]))


def test_assembled_sites_are_candidates_of_a_run(tmp_path: Path) -> None:
    parcels = block(street_m=20.0).rename(columns={"candidate_id": "apn"})
    parcels[["apn", "geometry"]].to_file(tmp_path / "parcels.gpkg", layer="parcels")
    gpd.GeoDataFrame(
        {"name": ["Hospital"]}, geometry=[shapely.Point(X0 - 500, Y0)], crs=UTM
    ).to_file(tmp_path / "hospitals.geojson")
    (tmp_path / "a.yaml").write_text(
        f"""\
name: Assembly
crs: {UTM}
candidates: {{source: parcels.gpkg, layer: parcels, id: apn, min_area_acres: 15}}
layers: {{hospitals: hospitals.geojson}}
criteria:
  near:
    kind: distance
    layer: hospitals
    transform: {{fn: linear, best: 0, worst: 5000}}
    weight: 1
outputs: {{dir: out}}
assemble: {{min_acres: 20, max_parcels: 8, max_gap_m: 30}}
""",
        encoding="utf-8",
    )
    result = run(load_config(tmp_path / "a.yaml"))
    frame = result.candidates
    # the 3-acre singles fall to min_area_acres; the assembled site passes it
    assert frame["candidate_id"].tolist() == ["A-B00"]
    assert len(frame["parcel_ids"].iloc[0].split(";")) == 7
    assert result.manifest["diagnostics"]["assembly"]["sites"] == 1
