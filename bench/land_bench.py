"""Net buildable area and land assembly over a county of parcels, against per-parcel loops.

Run::

    .venv/bin/python -m bench.land_bench                      # 1,000,000 parcels
    .venv/bin/python -m bench.land_bench --parcels 100000 --sample 1000

**Scenario** (generated once into ``bench/.data/land-<n>/``, git-ignored): the
county bench's Voronoi parcels (:func:`bench._scenario_layers.parcel_universe`:
small lots around four towns, larger rural parcels, all touching) over 100 km,
its 8 faults (400 vertices each) and 20 exclusion zones, 20 lakes (the same
zone generator, another seed) as ``water``, and a 4,000 x 4,000 DEM of 25 m cells
(rolling hills, about a fifth of the ground steeper than 15%).

**Product path**, timed (wall and CPU seconds): ``load_study`` of the config the
bench writes (reported, not compared), then
:func:`siteselect.criteria.buildable.net_buildable` (150 m fault setback,
zones, water and slope > 15% removed; largest piece, acres, reasons) and
:func:`siteselect.study.assembly.assemble_candidates` (``min_acres: 20,
max_parcels: 8, max_gap_m: 30``). The constraint measurements the buildable
area reads (which parcels are within 150 m of a fault, which touch a zone) are
computed by an STRtree stand-in inside the timed step: the distance and zones
kinds themselves are timed by ``bench.county``. The airspace height limit is
not part of this bench (it samples only parcels failing the airspace
constraint: see ``bench.airspace_bench`` for the evaluator).

**Baselines**, the same run, on samples, **extrapolated linearly** (and said so):
:func:`bench.land_naive.naive_buildable` per parcel (spatial index query,
union, difference, a numpy Horn slope over the DEM window of the parcel,
polygonised) on ``--sample`` random parcels; :func:`bench.land_naive.naive_regions`
(the same greedy rules, one seed at a time, an index query per parcel added)
on the parcels of a square holding about ``--assembly-sample`` of them. Both
samples are also checked against the product's answers.
"""

from __future__ import annotations

import argparse
import os
import resource
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import rasterio
import shapely
from rasterio.transform import from_origin

from bench._scenario_geo import CRS, ORIGIN_E, ORIGIN_N
from bench._scenario_layers import (
    LayerParams,
    ParcelParams,
    fault_chords,
    parcel_universe,
    write_lines,
    write_zones,
)
from bench.land_naive import naive_buildable, naive_regions, naive_site
from siteselect.config import load_config
from siteselect.config.land import AssembleSpec
from siteselect.criteria.base import Measurement
from siteselect.criteria.buildable import net_buildable
from siteselect.study import load_study
from siteselect.study.assembly import assemble_candidates, grow_regions

EXTENT_M = 100_000.0
DEM_CELLS = 4_000
SETBACK_M = 150.0
MAX_SLOPE_PCT = 15.0
ASSEMBLE = AssembleSpec(min_acres=20, max_parcels=8, max_gap_m=30)
WORKDIR = Path(__file__).resolve().parent / ".data"

CONFIG = """\
name: Land bench
crs: EPSG:32611
candidates: {{source: parcels.parquet, id: apn}}
layers:
  faults: {{source: faults.geojson, name_column: FaultName}}
  zones: {{source: zones.gpkg, layer: zones}}
  water: {{source: water.gpkg, layer: zones}}
  dem: {{source: dem.tif, units: m}}
constraints:
  fault_setback: {{kind: distance, layer: faults, min_m: {setback}}}
  exclusion_zones: {{kind: zones, layer: zones, max_overlap_pct: 0}}
criteria:
  near_fault:
    {{kind: distance, layer: faults, transform: {{fn: linear, best: 0, worst: 1}}, weight: 1}}
buildable:
  max_slope_pct: {slope}
  dem: dem
  water: water
  min_acres: 2
  setbacks_from: [fault_setback]
  zones_from: [exclusion_zones]
"""


def _dem(path: Path) -> None:
    """Rolling hills (metres): steepest slopes about 35%, a fifth of the ground above 15%."""
    cell = EXTENT_M / DEM_CELLS
    y, x = np.mgrid[0:DEM_CELLS, 0:DEM_CELLS].astype(np.float32) * np.float32(cell)
    z = 300 + 120 * np.sin(x / 700.0) * np.cos(y / 900.0) + 60 * np.sin((x + y) / 2_300.0)
    with rasterio.open(
        path,
        "w",
        driver="GTiff",
        width=DEM_CELLS,
        height=DEM_CELLS,
        count=1,
        dtype="float32",
        crs=CRS,
        transform=from_origin(ORIGIN_E, ORIGIN_N + EXTENT_M, cell, cell),
        tiled=True,
    ) as dst:
        dst.write(z.astype(np.float32), 1)


def scenario(n: int, workdir: Path) -> Path:
    """Write (once) the parcels, layers, DEM and config; return the config path."""
    folder = workdir / f"land-{n}"
    config = folder / "land.yaml"
    if config.exists():
        return config
    folder.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    universe = parcel_universe(ParcelParams(EXTENT_M, universe=n, n_parcels=n))
    geoms = shapely.transform(universe, lambda xy: xy + np.array([ORIGIN_E, ORIGIN_N]))
    ids = [f"{k:07d}" for k in range(len(geoms))]
    gpd.GeoDataFrame({"apn": ids}, geometry=geoms, crs=CRS).to_parquet(folder / "parcels.parquet")
    layers = LayerParams(EXTENT_M)
    rng = np.random.default_rng(layers.seed)
    write_lines(
        layers, rng, fault_chords(layers, rng), folder / "faults.geojson", folder / "border.geojson"
    )
    write_zones(layers, rng, folder / "zones.gpkg")
    write_zones(layers, np.random.default_rng(layers.seed + 7), folder / "water.gpkg")
    _dem(folder / "dem.tif")
    config.write_text(CONFIG.format(setback=SETBACK_M, slope=MAX_SLOPE_PCT), encoding="utf-8")
    print(f"scenario written to {folder} in {time.perf_counter() - start:.1f} s")
    return config


def timed(label: str, fn: Callable[[], Any]) -> tuple[Any, float, float]:
    """Run ``fn``; print and return (result, wall s, CPU s)."""
    wall, cpu = time.perf_counter(), time.process_time()
    out = fn()
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    print(f"  {label:<46} {wall:9.2f} s wall {cpu:9.2f} s CPU")
    return out, wall, cpu


def stand_in_measurements(study: Any) -> dict[str, tuple[Any, Measurement]]:
    """Which parcels the two partial constraints fail, by STRtree queries."""
    geoms = study.candidates.geometry.to_numpy()
    config = study.config
    faults = study.vector("faults").geometry.to_numpy()
    near, _ = shapely.STRtree(faults).query(geoms, predicate="dwithin", distance=SETBACK_M)
    distance = np.full(len(geoms), np.inf)
    distance[near] = 0.0
    zones = study.vector("zones").geometry.to_numpy()
    inside, _ = shapely.STRtree(zones).query(geoms, predicate="intersects")
    share = np.zeros(len(geoms))
    share[inside] = 100.0
    return {
        "fault_setback": (config.constraints["fault_setback"], Measurement(distance, "m", "")),
        "exclusion_zones": (config.constraints["exclusion_zones"], Measurement(share, "%", "")),
    }


def removal_polygons(study: Any) -> np.ndarray:
    """The baseline's removal layers: fault buffers, zones and water (working CRS)."""
    faults = study.vector("faults").geometry.to_numpy()
    return np.concatenate(
        [
            shapely.buffer(faults, SETBACK_M, quad_segs=8),
            study.vector("zones").geometry.to_numpy(),
            study.vector("water").geometry.to_numpy(),
        ]
    )


def naive_assembly(geoms: np.ndarray, acres: np.ndarray) -> list[tuple[list[int], Any]]:
    """The baseline: regions one seed at a time, then each site's geometry."""
    regions = naive_regions(
        geoms, acres, ASSEMBLE.min_acres, ASSEMBLE.max_parcels, ASSEMBLE.max_gap_m
    )
    return [(m, naive_site([geoms[k] for k in m], ASSEMBLE.max_gap_m)) for m in regions]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--parcels", type=int, default=1_000_000)
    parser.add_argument("--sample", type=int, default=2_000, help="baseline buildable sample")
    parser.add_argument("--assembly-sample", type=int, default=5_000, help="baseline pool size")
    parser.add_argument("--workdir", type=Path, default=WORKDIR)
    args = parser.parse_args()
    print(f"load average before: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")
    config = load_config(scenario(args.parcels, args.workdir))
    print(f"{args.parcels:,} parcels; product path:")
    study, _, _ = timed("load_study (not compared)", lambda: load_study(config))
    assert config.buildable is not None
    spec = config.buildable

    def buildable() -> Any:
        return net_buildable(spec, study, stand_in_measurements(study))

    result, b_wall, b_cpu = timed("net buildable area", buildable)
    frame = study.candidates
    assembled, a_wall, a_cpu = timed(
        "assembly (min 20 acres, 8 parcels, 30 m gap)", lambda: assemble_candidates(frame, ASSEMBLE)
    )
    sites = assembled["candidate_id"].str.startswith("A-")
    print(
        f"  -> {int((result.removed_by != '').sum()):,} parcels lose area, "
        f"{int(result.failed.sum()):,} fail min_acres 2; {int(sites.sum()):,} assembled sites"
    )

    print("baselines (per parcel, on samples, extrapolated linearly):")
    rng = np.random.default_rng(5)
    geoms = frame.geometry.to_numpy()
    sample = np.sort(rng.choice(len(geoms), min(args.sample, len(geoms)), replace=False))
    removals = removal_polygons(study)
    tree = shapely.STRtree(removals)
    with rasterio.open(config.layers["dem"].source) as dem:
        naive, n_wall, n_cpu = timed(
            f"naive buildable on {sample.size:,} parcels",
            lambda: np.array(
                [naive_buildable(geoms[i], removals, tree, dem, MAX_SLOPE_PCT) for i in sample]
            ),
        )
    product_acres = np.nan_to_num(result.acres[sample]) * 4046.8564224
    worst = np.abs(naive - product_acres).max()
    scale = len(geoms) / sample.size
    print(f"  -> sample agrees with the product within {worst:.3f} m2 (largest difference)")

    acres = frame["area_acres"].to_numpy()
    pool = np.flatnonzero(acres < ASSEMBLE.min_acres)
    centre = shapely.centroid(geoms[pool])
    cx, cy = shapely.get_x(centre), shapely.get_y(centre)
    half = EXTENT_M * 0.5 * np.sqrt(args.assembly_sample / max(len(pool), 1))
    mx, my = np.median(cx), np.median(cy)
    square = pool[(np.abs(cx - mx) <= half) & (np.abs(cy - my) <= half)]
    slow, s_wall, s_cpu = timed(
        f"naive assembly on {square.size:,} pool parcels",
        lambda: naive_assembly(geoms[square], acres[square]),
    )
    fast = grow_regions(geoms[square], acres[square], ASSEMBLE)
    same = [list(m) for m in fast.members] == [m for m, _ in slow]
    print(f"  -> the same {len(slow):,} sites as the product's growth on that square: {same}")
    a_scale = len(pool) / max(square.size, 1)

    print("summary:")
    print("  (ratios on CPU seconds: the machine is shared, wall time depends on its load)")
    for label, wall, cpu, naive_wall, naive_cpu in (
        ("net buildable area", b_wall, b_cpu, n_wall * scale, n_cpu * scale),
        ("assembly", a_wall, a_cpu, s_wall * a_scale, s_cpu * a_scale),
    ):
        print(
            f"  {label:<20} product {wall:8.2f} s wall {cpu:8.2f} s CPU; "
            f"naive ~{naive_wall:9.1f} s wall ~{naive_cpu:9.1f} s CPU (extrapolated); "
            "naive / product "
            f"{naive_cpu / max(cpu, 1e-9):,.1f}x CPU"
        )
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2
    load = " ".join(f"{v:.2f}" for v in os.getloadavg())
    print(f"peak RSS {peak:.2f} GB; load average after: {load}")


if __name__ == "__main__":
    main()
