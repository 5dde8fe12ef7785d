"""The ``airspace`` kind on a county of parcels: the product path, timed and profiled.

Run::

    .venv/bin/python -m bench.airspace_county --parcels 100k
    .venv/bin/python -m bench.airspace_county --parcels 1m --save /tmp/after.npz \
        --compare /tmp/before.npz

The scenario (deterministic, written once to ``--workdir``, default
``/tmp/siteselect-airspace-county-<n>``): the 38 real OurAirports runways at
27 San Diego County airports (``../shared/data/airports``, ``SITESELECT_SHARED_DATA``)
or, where that folder is absent, the 40 synthetic runways at 16 airports of
:mod:`bench.airspace_bench`; and ``n`` parcels as GeoParquet in EPSG:32611,
8 vertices each (jittered grids whose cells share corners and edge
midpoints): 80 % small lots over a 40 km x 40 km metro box (about 40 m across
at 1M), 20 % large rural parcels over the rest of the runways' extent plus
5 km (about 270 m across at 1M).

The run reads the config (an ``airspace`` constraint with the demo's settings:
160 ft building, 20 ft helipad, AICUZ exclusion, ``min_margin_ft: 0``), loads
the study (timed apart), then times the registered ``airspace`` kind itself,
``measure(spec, study)``, the code ``siteselect run`` calls. ``--save`` writes
its values and extra columns to an ``.npz``; ``--compare`` prints how they
differ from an earlier ``--save`` (run before a change to check it). Profile
with ``py-spy record -o prof.txt --format raw -- .venv/bin/python -m
bench.airspace_county ...``.
"""

from __future__ import annotations

import argparse
import math
import os
import resource
import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import pyproj
import shapely

from siteselect.config import load_config
from siteselect.criteria.base import REGISTRY, Measurement
from siteselect.study import load_study

UTM = "EPSG:32611"
SEED = 20250611
SIZES = {"10k": 10_000, "100k": 100_000, "1m": 1_000_000}
SHARED = Path(os.environ.get("SITESELECT_SHARED_DATA", "/work/shared/data")) / "airports"
RUNWAY_COLUMNS = (
    "id,airport_ref,airport_ident,length_ft,width_ft,surface,lighted,closed,le_ident,"
    "le_latitude_deg,le_longitude_deg,le_elevation_ft,he_ident,he_latitude_deg,"
    "he_longitude_deg,he_elevation_ft"
)
CONFIG = """name: Airspace county bench
crs: {crs}
candidates: {{source: parcels.parquet, id: apn}}
layers:
  runways: {runways}
  airports: {airports}
constraints:
  airspace:
    kind: airspace
    layer: runways
    airports: airports
    building_height_ft: 160
    helipad_allowance_ft: 20
    exclude_aicuz: true
    min_margin_ft: 0
criteria:
  margin:
    kind: airspace
    layer: runways
    airports: airports
    building_height_ft: 160
    helipad_allowance_ft: 20
    transform: {{fn: linear, best: 200, worst: 0}}
    weight: 1
outputs: {{dir: out}}
"""


def _synthetic_layers(folder: Path) -> tuple[Path, Path]:
    """runways.csv and airports.csv of :func:`bench.airspace_bench.make_model`."""
    from bench.airspace_bench import make_model

    model = make_model()
    to_lonlat = pyproj.Transformer.from_crs(UTM, "EPSG:4326", always_xy=True)
    rows = [RUNWAY_COLUMNS]
    for k, surfaces in enumerate(model.runways):
        r = surfaces.runway
        (lon0, lat0), (lon1, lat1) = (to_lonlat.transform(*xy) for xy in (r.le_xy, r.he_xy))
        rows.append(
            f"{k},{k},{r.airport},{r.length_ft:.0f},{r.width_ft:g},"
            f"{'ASP' if r.hard_surface else 'TURF'},1,0,{r.le_ident},{lat0:.7f},{lon0:.7f},"
            f"{r.le_elevation_ft:.1f},{r.he_ident},{lat1:.7f},{lon1:.7f},{r.he_elevation_ft:.1f}"
        )
    runways = folder / "runways.csv"
    runways.write_text("\n".join(rows) + "\n", encoding="utf-8")
    lines = ["ident,type,name,elevation_ft,latitude_deg,longitude_deg"]
    for a in model.airports:
        cx, cy = a.hull.centres.mean(axis=0)
        lon, lat = to_lonlat.transform(cx, cy)
        name = f"{a.airport.ident} Naval Air Station" if a.family == "military" else "Field"
        lines.append(
            f"{a.airport.ident},medium_airport,{name},{a.airport.elevation_ft:.1f},{lat:.7f},{lon:.7f}"
        )
    airports = folder / "airports.csv"
    airports.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return runways, airports


def _runway_layers(folder: Path) -> tuple[Path, Path]:
    runways, airports = SHARED / "san_diego_runways.geojson", SHARED / "san_diego_airports.geojson"
    if runways.is_file() and airports.is_file():
        return runways, airports
    return _synthetic_layers(folder)


def _grid_parcels(n: int, bounds: tuple[float, float, float, float], seed: int) -> np.ndarray:
    """About ``n`` parcels tiling ``bounds`` (metres): 8-vertex cells of a jittered grid.

    Neighbouring parcels share their corners and edge midpoints, as cadastral
    parcels do; the jitter (15 % of the pitch at corners, 10 % at midpoints) is
    seeded.
    """
    xmin, ymin, xmax, ymax = bounds
    pitch = math.sqrt((xmax - xmin) * (ymax - ymin) / n)
    nx = max(1, round((xmax - xmin) / pitch))
    ny = max(1, math.ceil(n / nx))
    rng = np.random.default_rng(seed)

    def jitter(shape: tuple[int, int], share: float) -> np.ndarray:
        return pitch * rng.uniform(-share, share, shape)

    gx = xmin + pitch * np.arange(nx + 1)[None, :] + jitter((ny + 1, nx + 1), 0.15)
    gy = ymin + pitch * np.arange(ny + 1)[:, None] + jitter((ny + 1, nx + 1), 0.15)
    # midpoints of the horizontal edges (ny + 1, nx) and of the vertical ones (ny, nx + 1)
    hx = (gx[:, :-1] + gx[:, 1:]) / 2 + jitter((ny + 1, nx), 0.1)
    hy = (gy[:, :-1] + gy[:, 1:]) / 2 + jitter((ny + 1, nx), 0.1)
    vx = (gx[:-1, :] + gx[1:, :]) / 2 + jitter((ny, nx + 1), 0.1)
    vy = (gy[:-1, :] + gy[1:, :]) / 2 + jitter((ny, nx + 1), 0.1)
    ring = [
        (gx[:-1, :-1], gy[:-1, :-1]),
        (hx[:-1], hy[:-1]),
        (gx[:-1, 1:], gy[:-1, 1:]),
        (vx[:, 1:], vy[:, 1:]),
        (gx[1:, 1:], gy[1:, 1:]),
        (hx[1:], hy[1:]),
        (gx[1:, :-1], gy[1:, :-1]),
        (vx[:, :-1], vy[:, :-1]),
    ]
    coords = np.stack([np.stack([x.ravel(), y.ravel()], axis=1) for x, y in ring], axis=1)[:n]
    return shapely.polygons(np.concatenate([coords, coords[:, :1]], axis=1))


def county_parcels(
    n: int, county: tuple[float, float, float, float], metro: tuple[float, float, float, float]
) -> np.ndarray:
    """``n`` parcels: 80 % small lots tiling the ``metro`` box, 20 % large ones around it.

    In the San Diego scenario the lots are about 40 m across (1,600 m2) over
    the 40 km x 40 km of the metro area (KSAN, KNZY, KNKX, KMYF, KSEE, KSDM,
    KNRS, MMTJ), the rural parcels about 270 m across over the rest of the county.
    """
    urban = _grid_parcels(int(n * 0.8), metro, SEED)
    x0, y0, x1, y1 = county
    m0, n0, m1, n1 = metro
    rural_area = (x1 - x0) * (y1 - y0) - (m1 - m0) * (n1 - n0)
    rural_n = n - len(urban)
    # tile the whole county as densely, then drop the cells over the metro box
    total = int(rural_n * (x1 - x0) * (y1 - y0) / rural_area)
    rural = _grid_parcels(total, county, SEED + 1)
    outside = ~shapely.intersects(rural, shapely.box(*metro))
    return np.concatenate([urban, rural[outside][:rural_n]])


def write_county(folder: Path, n: int) -> Path:
    """Write the scenario (once) and return its config path."""
    config = folder / "county.yaml"
    if config.is_file():
        return config
    folder.mkdir(parents=True, exist_ok=True)
    runways, airports = _runway_layers(folder)
    if runways.suffix != ".csv":
        xmin, ymin, xmax, ymax = gpd.read_file(runways).to_crs(UTM).total_bounds
        to_utm = pyproj.Transformer.from_crs("EPSG:4326", UTM, always_xy=True)
        mx0, my0 = to_utm.transform(-117.30, 32.55)
        metro = (mx0, my0, mx0 + 40_000.0, my0 + 40_000.0)
    else:
        from bench.airspace_bench import SIDE_M, X0, Y0

        xmin, ymin, xmax, ymax = X0, Y0, X0 + SIDE_M, Y0 + SIDE_M
        metro = (X0 + 20_000.0, Y0 + 20_000.0, X0 + 60_000.0, Y0 + 60_000.0)
    pad = 5_000.0
    geoms = county_parcels(n, (xmin - pad, ymin - pad, xmax + pad, ymax + pad), metro)
    parcels = gpd.GeoDataFrame(
        {"apn": [f"P{i:07d}" for i in range(len(geoms))]}, geometry=geoms, crs=UTM
    )
    parcels.to_parquet(folder / "parcels.parquet")
    config.write_text(CONFIG.format(crs=UTM, runways=runways, airports=airports), encoding="utf-8")
    return config


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _columns(measurement: Measurement) -> dict[str, np.ndarray]:
    out = {"values": np.asarray(measurement.values, dtype="float64")}
    for key, column in measurement.extra_columns.items():
        column = np.asarray(column)
        out[key] = column.astype(str) if column.dtype == object else column
    if measurement.exclusions is not None:
        out["exclusions"] = np.asarray(measurement.exclusions).astype(str)
    if measurement.reasons is not None:
        out["reasons"] = np.asarray(measurement.reasons).astype(str)
    return out


def compare(now: dict[str, np.ndarray], before_path: Path) -> None:
    """Print per column how many candidates differ from an earlier ``--save``."""
    before = np.load(before_path, allow_pickle=False)
    for key in before.files:
        old, new = before[key], now.get(key)
        if new is None or old.shape != new.shape:
            print(f"  {key:24s}: missing or different shape")
            continue
        if old.dtype.kind == "f":
            same = (old == new) | (np.isnan(old) & np.isnan(new))
            diff = np.where(same, 0.0, np.nan_to_num(new - old, nan=np.inf))
            changed = ~same
            text = f"{int(changed.sum()):,} differ"
            if changed.any():
                finite = np.isfinite(diff) & changed
                lower = int((diff[finite] < 0).sum())
                text += f" ({lower:,} lower, largest |diff| {np.abs(diff[finite]).max():.3f})"
        else:
            changed = old != new
            text = f"{int(changed.sum()):,} differ"
        print(f"  {key:24s}: {text}")


def main() -> None:
    """Generate (once), load, time the airspace kind, optionally save and compare."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--parcels", default="100k", help="10k, 100k, 1m or a number")
    parser.add_argument("--workdir", type=Path, default=None)
    parser.add_argument("--repeat", type=int, default=1, help="time the kind this many times")
    parser.add_argument("--save", type=Path, default=None, help="write the results (.npz)")
    parser.add_argument("--compare", type=Path, default=None, help="an earlier --save")
    args = parser.parse_args()
    n = SIZES.get(args.parcels.lower()) or int(args.parcels)
    folder = args.workdir or Path(f"/tmp/siteselect-airspace-county-{n}")

    start = time.perf_counter()
    config_path = write_county(folder, n)
    print(f"scenario   : {time.perf_counter() - start:8.2f} s  ({folder})")
    start = time.perf_counter()
    config = load_config(config_path)
    study = load_study(config)
    print(f"load       : {time.perf_counter() - start:8.2f} s  ({len(study.candidates):,} parcels)")
    spec = config.constraints["airspace"]
    times, cpu = [], []
    for _ in range(args.repeat):
        study.diagnostics.clear()
        start, start_cpu = time.perf_counter(), time.process_time()
        measurement = REGISTRY["airspace"].measure(spec, study)
        times.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    values = np.asarray(measurement.values)
    under = np.isfinite(np.asarray(measurement.extra_columns["allowable_height_ft"], dtype=float))
    print(
        f"airspace   : {min(times):8.2f} s min, {float(np.median(times)):.2f} s median of "
        f"{len(times)} (CPU {min(cpu):.2f} s min); peak RSS {_peak_rss_mb():,.0f} MB; "
        f"load {os.getloadavg()[0]:.1f}"
    )
    print(
        f"             {under.mean():.1%} under a surface, {(values < 0).mean():.1%} penetrate, "
        f"{np.asarray(measurement.extra_columns['faa_notice_required']).mean():.1%} notice, "
        f"{(np.asarray(measurement.exclusions) != '').mean():.1%} in AICUZ zones"
    )
    columns = _columns(measurement)
    if args.save:
        np.savez_compressed(args.save, **columns)
    if args.compare:
        compare(columns, args.compare)


if __name__ == "__main__":
    main()
