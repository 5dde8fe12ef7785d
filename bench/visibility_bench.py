"""County-scale visibility: the pipeline's ``visibility`` criterion vs naive per-site sight lines.

Run::

    .venv/bin/python -m bench.visibility_bench                    # 1M parcels, 4,000 x 4,000 DEM
    .venv/bin/python -m bench.visibility_bench --parcels 100000 --dem 2000

Generates (fixed seed, in ``.cache/bench/visibility``): a 4,000 x 4,000 DEM of
30 m cells (120 km square, mesas cut by meandering canyons, EPSG:32611); 1M
square parcels of 60 m (a 1,000 x 1,000 block, 60 km square, in the middle)
as GeoParquet; a road network as OSM XML with ~500 km of counted road: four
divided freeways (two one-way carriageways each) and four primary arterials
crossing the parcels, plus a local street. Then it runs the product path
(:func:`siteselect.pipeline.run` on a config whose only criterion is
``visibility``: load, sample roads, volumes, terrain, kernel, zonal max,
sentences) and prints the time of each step, the kernel's share, the peak RSS,
and the naive baseline: :func:`siteselect.visibility.naive.site_exposure`
(one numpy sight line per sample and cell, per site) timed on a random sample
of parcels, extrapolated to all of them, and compared with the pipeline's
values for those parcels (they must be equal).
"""

from __future__ import annotations

import argparse
import logging
import math
import resource
import time
from pathlib import Path

import geopandas as gpd
import numba
import numpy as np
import osmium
import pyproj
import rasterio
import shapely
import yaml
from rasterio.transform import from_origin
from scipy.ndimage import gaussian_filter, zoom

from siteselect.config import load_config
from siteselect.pipeline import run
from siteselect.visibility import exposure as grid
from siteselect.visibility.naive import site_exposure
from siteselect.visibility.roads import sample_roads
from siteselect.visibility.terrain import Terrain, burn_buildings, read_ground
from siteselect.visibility.traffic import DEFAULT_AADT, sample_volumes

DATA = Path(__file__).resolve().parents[1] / ".cache" / "bench" / "visibility"
SEED = 20261130
CELL_M = 30.0
X0, Y1 = 440_000.0, 3_700_000.0
CRS = "EPSG:32611"
PARCEL_M = 60.0
HEIGHT_FT = 160.0


def make_dem(path: Path, size: int) -> None:
    """Mesas rising east, cut by meandering canyons 50 m deep, float32 metres."""
    rng = np.random.default_rng(SEED)
    coarse = rng.normal(size=(size // 64 + 4, size // 64 + 4))
    field = gaussian_filter(zoom(coarse, 64, order=3)[:size, :size], 4.0)
    field /= field.std()
    canyon = np.clip(1.0 - np.abs(field) / 0.15, 0.0, 1.0)
    hills = gaussian_filter(zoom(rng.normal(size=(size // 256 + 4,) * 2), 256, order=3), 8.0)
    x = np.linspace(0.0, 1.0, size, dtype=np.float32)
    z = 60.0 + 150.0 * x[None, :] + 60.0 * hills[:size, :size] - 50.0 * canyon**0.5
    with rasterio.open(
        path,
        "w",
        driver="GTiff",
        width=size,
        height=size,
        count=1,
        dtype="float32",
        crs=CRS,
        transform=from_origin(X0, Y1, CELL_M, CELL_M),
        tiled=True,
        blockxsize=256,
        blockysize=256,
    ) as dst:
        dst.write(np.round(z, 1).astype("float32"), 1)
        dst.update_tags(1, units="m")


def parcel_block(size: int, n_parcels: int) -> tuple[float, float, int]:
    """West and north edges of the parcel block and its side in parcels (centred on the DEM)."""
    side = math.isqrt(n_parcels)
    span = side * PARCEL_M
    centre_x = X0 + size * CELL_M / 2
    centre_y = Y1 - size * CELL_M / 2
    return centre_x - span / 2, centre_y + span / 2, side


def make_parcels(path: Path, size: int, n_parcels: int) -> None:
    west, north, side = parcel_block(size, n_parcels)
    i, j = np.meshgrid(np.arange(side), np.arange(side))
    x = west + i.ravel() * PARCEL_M
    y = north - (j.ravel() + 1) * PARCEL_M
    boxes = shapely.box(x + 2.0, y + 2.0, x + PARCEL_M - 2.0, y + PARCEL_M - 2.0)
    frame = gpd.GeoDataFrame(
        {"apn": [f"P{k:07d}" for k in range(len(boxes))]}, geometry=boxes, crs=CRS
    )
    frame.to_parquet(path)


class _Osm:
    def __init__(self, path: Path) -> None:
        path.unlink(missing_ok=True)
        self.writer = osmium.SimpleWriter(str(path))
        self.to_ll = pyproj.Transformer.from_crs(CRS, "EPSG:4326", always_xy=True)
        self.next_node = 1
        self.next_way = 1
        self.km = 0.0

    def line(self, xy: np.ndarray, **tags: str) -> None:
        lon, lat = self.to_ll.transform(xy[:, 0], xy[:, 1])
        ids = list(range(self.next_node, self.next_node + len(xy)))
        for node_id, a, b in zip(ids, lon, lat, strict=True):
            self.writer.add_node(osmium.osm.mutable.Node(id=node_id, location=(a, b)))
        self.next_node += len(xy)
        self.writer.add_way(osmium.osm.mutable.Way(id=self.next_way, nodes=ids, tags=tags))
        self.next_way += 1
        self.km += float(np.hypot(*np.diff(xy, axis=0).T).sum()) / 1000.0

    def close(self) -> None:
        self.writer.close()


def make_roads(path: Path, size: int, n_parcels: int) -> float:
    """Four divided freeways and four primaries across the parcels; km of counted road."""
    rng = np.random.default_rng(SEED + 1)
    west, north, side = parcel_block(size, n_parcels)
    span = side * PARCEL_M
    osm = _Osm(path)
    counted = 0.0
    t = np.linspace(0.0, 1.0, int(span * 1.2 / 100.0))
    for k in range(4):
        vertical = k % 2 == 0
        offset = (k // 2 + 1) / 3.0 * span
        wiggle = 1500.0 * np.sin(2 * np.pi * (t * rng.uniform(0.5, 1.5) + rng.uniform()))
        along = -0.1 * span + 1.2 * span * t
        if vertical:
            centre = np.column_stack([west + offset + wiggle, north - along])
        else:
            centre = np.column_stack([west + along, north - offset + wiggle])
        normal = np.gradient(centre, axis=0)[:, ::-1] * np.array([1.0, -1.0])
        normal /= np.hypot(normal[:, 0], normal[:, 1])[:, None]
        ref = f"I {5 + 10 * k}"
        osm.line(centre + 12.0 * normal, highway="motorway", oneway="yes", ref=ref)
        osm.line((centre - 12.0 * normal)[::-1], highway="motorway", oneway="yes", ref=ref)
        counted += float(np.hypot(*np.diff(centre, axis=0).T).sum()) / 1000.0
    for k in range(4):
        at = (k // 2 + 0.5) / 2.0 * span + 300.0
        xs = np.arange(0.0, span + 1.0, 100.0)
        if k % 2 == 0:
            xy = np.column_stack([west + xs, np.full(len(xs), north - at)])
        else:
            xy = np.column_stack([np.full(len(xs), west + at), north - xs])
        osm.line(xy, highway="primary", name=f"Arterial {k + 1}")
        counted += span / 1000.0
    xs = np.arange(0.0, span + 1.0, 200.0)
    osm.line(
        np.column_stack([west + xs, np.full(len(xs), north - span / 2)]), highway="residential"
    )
    osm.close()
    return counted


def write_config(folder: Path, cell_m: float | None) -> Path:
    config = {
        "name": "visibility bench",
        "crs": CRS,
        "candidates": {"source": "parcels.parquet", "id": "apn"},
        "network": {"source": "roads.osm"},
        "layers": {"dem": {"source": "dem.tif", "units": "m"}},
        "criteria": {
            "visibility": {
                "kind": "visibility",
                "ground": "dem",
                "roads": ["motorway", "primary"],
                "building_height_ft": HEIGHT_FT,
                **({"cell_m": cell_m} if cell_m else {}),
                "transform": {"fn": "minmax", "better": "higher"},
                "weight": 1,
            }
        },
        "outputs": {"dir": "out"},
    }
    path = folder / f"visibility-{cell_m or CELL_M:g}m.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    return path


def naive_baseline(config: Path, raw: dict[str, float], n_sites: int) -> tuple[float, int, int]:
    """Seconds per site of naive per-site sight lines, and how many sites agree / were checked."""
    cfg = load_config(config)
    spec = cfg.criteria["visibility"]
    from siteselect.study import load_study

    study = load_study(cfg)
    geoms = study.candidates.geometry.to_numpy()
    max_m = spec.max_km * 1000.0
    region = grid.bounds_around(geoms, max_m)
    samples = sample_roads(study.road_graph(), tuple(spec.roads), spec.spacing_m)
    xmin, ymin, xmax, ymax = region
    inside = (samples.x >= xmin) & (samples.x <= xmax) & (samples.y >= ymin) & (samples.y <= ymax)
    samples = samples.select(inside)
    volumes = sample_volumes(samples, dict(DEFAULT_AADT))
    bounds = (xmin - max_m, ymin - max_m, xmax + max_m, ymax + max_m)
    ground, transform = read_ground(
        str(cfg.layers["dem"].source), 1, 1.0, study.crs, bounds, spec.cell_m, "layers.dem"
    )
    surface = burn_buildings(ground, transform, np.zeros(0, dtype=object), np.zeros(0))
    terrain = Terrain(ground=ground, surface=surface, transform=transform, crs=study.crs)
    kernel_samples, _ = grid.kernel_samples(terrain, samples, volumes.aadt, spec.eye_height_m)
    rng = np.random.default_rng(SEED + 2)
    picks = rng.choice(len(geoms), size=min(n_sites, len(geoms)), replace=False)
    height_m = HEIGHT_FT * 0.3048
    agree = 0
    started = time.perf_counter()
    for k in picks:
        targets = grid.candidate_targets(terrain, geoms[k : k + 1], 0)
        cells = [(int(r), int(c)) for r, c in zip(targets.row, targets.col, strict=True)]
        cells = [
            rc
            for rc in cells
            if shapely.intersection(geoms[k], _cell_box(transform, *rc)).area > 1e-6
        ]
        value = site_exposure(
            surface, ground, cells, height_m, kernel_samples, max_m, terrain.dx, terrain.dy
        )
        agree += bool(np.isclose(value, raw[study.candidates["candidate_id"].iloc[k]]))
    return (time.perf_counter() - started) / len(picks), agree, len(picks)


def _cell_box(transform: rasterio.Affine, row: int, col: int) -> shapely.Polygon:
    x0, y0 = transform * (col, row)
    x1, y1 = transform * (col + 1, row + 1)
    return shapely.box(min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--parcels", type=int, default=1_000_000)
    parser.add_argument("--dem", type=int, default=4000, help="DEM side in cells")
    parser.add_argument("--naive-sites", type=int, default=20)
    parser.add_argument("--cell-m", type=float, default=None, help="analysis cell (default 30)")
    parser.add_argument("--out", type=Path, default=DATA)
    args = parser.parse_args()
    folder = args.out / f"p{args.parcels}-d{args.dem}"
    folder.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    if not (folder / "dem.tif").exists():
        make_dem(folder / "dem.tif", args.dem)
    if not (folder / "parcels.parquet").exists():
        make_parcels(folder / "parcels.parquet", args.dem, args.parcels)
    road_km = make_roads(folder / "roads.osm", args.dem, args.parcels)
    config = write_config(folder, args.cell_m)
    print(f"inputs ready in {time.perf_counter() - started:.1f} s: {folder}")
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    logging.getLogger("siteselect").setLevel(logging.INFO)
    started = time.perf_counter()
    result = run(load_config(config))
    total = time.perf_counter() - started
    steps = result.manifest.get("timings_s", {})
    record = result.manifest["diagnostics"]["visibility"][0]
    table = result.candidates
    raw = dict(zip(table["candidate_id"], table["raw_visibility"], strict=True))
    peak_gb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6
    per_site, agree, checked = naive_baseline(config, raw, args.naive_sites)
    print()
    cell = f"{args.cell_m or CELL_M:g} m analysis cells"
    print(f"| visibility bench | {args.parcels:,} parcels, DEM {args.dem:,}^2 x 30 m, {cell} |")
    print("|---|---|")
    print(f"| threads (numba) | {numba.get_num_threads()} |")
    print(
        f"| counted road | {road_km:,.0f} km ({record['road_km']:,.0f} km of carriageway sampled) |"
    )
    merged = f"{record['road_samples']:,} / {record['kernel_samples']:,}"
    print(f"| road samples / after merging | {merged} |")
    print(f"| target cells | {record['target_cells']:,} |")
    for name, seconds in steps.items():
        print(f"| step {name} | {seconds:.1f} s |")
    print(f"| pipeline total (load + visibility + scoring) | {total:.1f} s |")
    print(f"| peak RSS | {peak_gb:.2f} GB |")
    hours = per_site * args.parcels / 3600
    print(f"| naive per-site sight lines | {per_site:.2f} s per site -> {hours:,.1f} h for all |")
    print(f"| naive == pipeline | {agree} of {checked} sites |")
    exposure = table["raw_visibility"].to_numpy()
    summary = f"median {np.nanmedian(exposure):,.0f}, max {np.nanmax(exposure):,.0f}"
    print(f"| exposure (vehicles/day) | {summary} |")


if __name__ == "__main__":
    main()
