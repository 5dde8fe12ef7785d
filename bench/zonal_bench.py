"""Exact zonal max over many small parcels: ours vs exactextract, rasterize, rasterstats.

Run::

    .venv/bin/python -m bench.zonal_bench                 # 1,000,000 parcels, 4,000 x 4,000 raster
    .venv/bin/python -m bench.zonal_bench --parcels 100000 --skip-exactextract

The raster (float32, 30 m cells, EPSG:32611, tiled GeoTIFF) and the parcels (rotated
rectangles of 10-60 m a side, i.e. 0.3-2 cells, so many are smaller than a cell) are
generated with a fixed seed in a temporary folder. Every method is timed in the same
run; rasterstats is timed on a sample and extrapolated linearly. Results are checked
against exactextract (the reference exact implementation): parcels whose max differs
are counted (only sub-tolerance slivers may differ, see ``siteselect.study.zonal``).
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import rasterio
import rasterio.features
import rasterio.windows
import shapely
from rasterio.transform import from_origin

from siteselect.study.zonal import zonal_stats

SEED = 20240605
SIZE = 4000
CELL_M = 30.0
X0, Y0 = 480_000.0, 3_640_000.0
CRS = "EPSG:32611"


def make_raster(path: Path, size: int = SIZE) -> Path:
    """A smooth random hazard-like field plus noise, float32, with a nodata strip."""
    rng = np.random.default_rng(SEED)
    y, x = np.mgrid[0:size, 0:size].astype(np.float32) / size
    values = 0.4 + 0.3 * np.sin(6 * x) * np.cos(4 * y) + rng.normal(0, 0.05, (size, size))
    values = values.astype(np.float32)
    values[:, : size // 100] = -9999.0  # a nodata coast on the west edge
    with rasterio.open(
        path,
        "w",
        driver="GTiff",
        width=size,
        height=size,
        count=1,
        dtype="float32",
        crs=CRS,
        transform=from_origin(X0, Y0, CELL_M, CELL_M),
        nodata=-9999.0,
        tiled=True,
        blockxsize=256,
        blockysize=256,
    ) as dst:
        dst.write(values, 1)
    return path


def make_parcels(n: int, size: int = SIZE) -> np.ndarray:
    """``n`` rotated rectangles, 10-60 m a side, anywhere on the raster (some over its edge)."""
    rng = np.random.default_rng(SEED + 1)
    cx = X0 + rng.uniform(-0.005, 1.005, n) * size * CELL_M
    cy = Y0 - rng.uniform(-0.005, 1.005, n) * size * CELL_M
    half_w = rng.uniform(5, 30, n)
    half_h = rng.uniform(5, 30, n)
    angle = rng.uniform(0, np.pi, n)
    corners = np.array([[-1, -1], [1, -1], [1, 1], [-1, 1], [-1, -1]], dtype=float)
    dx = corners[None, :, 0] * half_w[:, None]
    dy = corners[None, :, 1] * half_h[:, None]
    cos, sin = np.cos(angle)[:, None], np.sin(angle)[:, None]
    x = cx[:, None] + dx * cos - dy * sin
    y = cy[:, None] + dx * sin + dy * cos
    return shapely.polygons(np.stack([x, y], axis=-1))


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    start = time.perf_counter()
    out = fn()
    return time.perf_counter() - start, out


def ours(geoms: np.ndarray, raster: Path) -> np.ndarray:
    return zonal_stats(geoms, raster).max


def with_exactextract(geoms: np.ndarray, raster: Path) -> np.ndarray:
    import geopandas as gpd
    from exactextract import exact_extract

    frame = gpd.GeoDataFrame(geometry=geoms, crs=CRS)
    table = exact_extract(str(raster), frame, ["max"], output="pandas")
    return table["max"].astype(float).to_numpy()


def with_rasterize(geoms: np.ndarray, raster: Path) -> np.ndarray:
    """Burn parcel ids at cell centres, then a per-id max: loses parcels without a centre."""
    with rasterio.open(raster) as src:
        values = src.read(1, masked=True).astype("float64").filled(np.nan)
        ids = rasterio.features.rasterize(
            zip(geoms, range(1, len(geoms) + 1), strict=True),
            out_shape=values.shape,
            transform=src.transform,
            fill=0,
            dtype="int32",
        )
    burned = (ids > 0) & np.isfinite(values)
    out = np.full(len(geoms) + 1, -np.inf)
    np.maximum.at(out, ids[burned], values[burned])
    out[np.isinf(out)] = np.nan
    return out[1:]


def with_rasterstats(geoms: np.ndarray, raster: Path) -> np.ndarray:
    from rasterstats import zonal_stats as rs_zonal_stats

    stats = rs_zonal_stats(list(geoms), str(raster), stats=["max"], all_touched=True)
    return np.array([np.nan if s["max"] is None else s["max"] for s in stats], dtype=float)


def explain_differences(
    geoms: np.ndarray, raster: Path, ours_max: np.ndarray, theirs_max: np.ndarray
) -> tuple[int, float]:
    """Check each parcel whose max differs with shapely, cell by cell.

    Returns how many differ only because of a sliver below the coverage tolerance
    (exactextract counts any area > 0) and the largest such sliver, as a share of a cell.
    """
    explained, largest = 0, 0.0
    with rasterio.open(raster) as src:
        for i in np.flatnonzero(~np.isclose(theirs_max, ours_max, equal_nan=True)):
            geom = geoms[i]
            minx, miny, maxx, maxy = geom.bounds
            col0 = max(int(np.floor((minx - X0) / CELL_M)), 0)
            row0 = max(int(np.floor((Y0 - maxy) / CELL_M)), 0)
            col1 = min(int(np.ceil((maxx - X0) / CELL_M)), src.width)
            row1 = min(int(np.ceil((Y0 - miny) / CELL_M)), src.height)
            window = rasterio.windows.Window(col0, row0, col1 - col0, row1 - row0)
            cells = src.read(1, window=window, masked=True).astype(float).filled(np.nan)
            transform = src.window_transform(window)
            boxes = [
                (r, c, shapely.box(*rasterio.windows.bounds(((r, r + 1), (c, c + 1)), transform)))
                for r in range(cells.shape[0])
                for c in range(cells.shape[1])
            ]
            area = {(r, c): geom.intersection(b).area / CELL_M**2 for r, c, b in boxes}
            slivers = [
                a for (r, c), a in area.items() if 0 < a <= 1e-9 and cells[r, c] == theirs_max[i]
            ]
            if slivers:
                explained += 1
                largest = max(largest, max(slivers))
    return explained, largest


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--parcels", type=int, default=1_000_000)
    parser.add_argument("--rasterstats-sample", type=int, default=2_000)
    parser.add_argument("--skip-exactextract", action="store_true")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="zonal_bench_") as folder:
        raster = make_raster(Path(folder) / "hazard.tif")
        geoms = make_parcels(args.parcels)
        print(f"{args.parcels:,} parcels (rotated rectangles 10-60 m), raster {SIZE} x {SIZE}")
        rows: list[tuple[str, float, str]] = []
        t_ours, our_max = timed(lambda: ours(geoms, raster))
        tracemalloc.start()  # numpy reports its buffers to tracemalloc
        ours(geoms, raster)
        ours_peak_mb = tracemalloc.get_traced_memory()[1] / 2**20
        tracemalloc.stop()
        rows.append(("siteselect exact (this)", t_ours, "exact"))
        t_raster, raster_max = timed(lambda: with_rasterize(geoms, raster))
        lost = int((np.isnan(raster_max) & ~np.isnan(our_max)).sum())
        rows.append(("rasterize + max.at", t_raster, f"loses {lost:,} parcels"))
        sample = geoms[: args.rasterstats_sample]
        t_rs, rs_max = timed(lambda: with_rasterstats(sample, raster))
        t_rs_all = t_rs * len(geoms) / len(sample)
        rs_diff = int((~np.isclose(rs_max, our_max[: len(sample)], equal_nan=True)).sum())
        rows.append(
            (
                f"rasterstats all_touched (x{len(geoms) // len(sample)} of a sample)",
                t_rs_all,
                f"{rs_diff} of {len(sample)} sampled maxima differ",
            )
        )
        if not args.skip_exactextract:
            t_ee, ee_max = timed(lambda: with_exactextract(geoms, raster))
            differ = int((~np.isclose(ee_max, our_max, equal_nan=True)).sum())
            explained, largest = explain_differences(geoms, raster, our_max, ee_max)
            note = (
                f"{differ:,} maxima differ: {explained:,} only by a sliver cell "
                f"<= {largest:.1e} of a cell (ours ignores < 1e-9)"
            )
            rows.append(("exactextract 0.3 (C++)", t_ee, note))
        peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"{'method':<44} {'seconds':>9} {'x ours':>8}  note")
        for name, seconds, note in rows:
            print(f"{name:<44} {seconds:9.2f} {seconds / t_ours:8.1f}  {note}")
        print(
            f"ours: peak array memory {ours_peak_mb:,.0f} MB (tracemalloc, second run); "
            f"whole run peak RSS {peak_mb:,.0f} MB (raster generation, rasterize, exactextract)"
        )


if __name__ == "__main__":
    main()
