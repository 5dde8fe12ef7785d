"""Distance and zones kinds, exclusion reasons and output writing at county scale.

Run::

    .venv/bin/python -m bench.outputs_bench --parcels 100000
    .venv/bin/python -m bench.outputs_bench --parcels 1000000 --keep /tmp/county1m

Generates (fixed seed) a county-like set in EPSG:32611: parcels as GeoParquet
(irregular 5-9 vertex polygons on a jittered grid over 40 x 40 km), three
meandering fault lines of 1,000 vertices, a 3,000-vertex border line and 20
exclusion zones; writes a config using a ``distance`` constraint (fault setback,
``min_m: 150``), a ``distance`` criterion (border, ``linear best 25000 worst
5000``) and a ``zones`` constraint (``--fault-criterion`` adds a criterion on
the fault distance); then runs the real pipeline (:func:`siteselect.pipeline.run`)
and writes the outputs (:func:`siteselect.outputs.write_outputs`), printing wall
time per step and per writer, the write step's RSS before and at its peak
(sampled every 20 ms) and each output's size.
"""

from __future__ import annotations

import argparse
import os
import resource
import tempfile
import threading
import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import shapely

SEED = 20261130
CRS = "EPSG:32611"
X0, Y0, SIDE_M = 480_000.0, 3_600_000.0, 40_000.0


def make_parcels(n: int, rng: np.random.Generator) -> gpd.GeoDataFrame:
    """``n`` irregular polygons (5-9 vertices) on a jittered grid covering the county."""
    per_side = int(np.ceil(np.sqrt(n)))
    cell = SIDE_M / per_side
    k = np.arange(n)
    cx = X0 + (k % per_side + 0.5) * cell + rng.uniform(-0.1, 0.1, n) * cell
    cy = Y0 + (k // per_side + 0.5) * cell + rng.uniform(-0.1, 0.1, n) * cell
    sides = rng.integers(5, 10, n)
    max_sides = 9
    angles = np.sort(rng.uniform(0, 2 * np.pi, (n, max_sides)), axis=1)
    radii = rng.uniform(0.25, 0.45, (n, max_sides)) * cell
    xs = cx[:, None] + radii * np.cos(angles)
    ys = cy[:, None] + radii * np.sin(angles)
    used = np.arange(max_sides)[None, :] < sides[:, None]
    coords = np.stack([xs[used], ys[used]], axis=1)
    ring_index = np.repeat(k, sides)
    rings = shapely.linearrings(coords, indices=ring_index)
    polygons = shapely.polygons(rings)
    return gpd.GeoDataFrame(
        {"apn": np.char.add("P", np.char.zfill(k.astype(str), 7)), "vacant": True},
        geometry=polygons,
        crs=CRS,
    )


def meander(start, end, vertices: int, amplitude_m: float, rng: np.random.Generator):
    """A line of ``vertices`` points from ``start`` to ``end`` with a random wiggle."""
    t = np.linspace(0, 1, vertices)
    x = start[0] + (end[0] - start[0]) * t
    y = start[1] + (end[1] - start[1]) * t
    wiggle = np.cumsum(rng.normal(0, 1, vertices))
    wiggle = (wiggle - np.linspace(wiggle[0], wiggle[-1], vertices)) / max(np.ptp(wiggle), 1e-9)
    nx, ny = -(end[1] - start[1]), end[0] - start[0]
    norm = np.hypot(nx, ny)
    return shapely.linestrings(
        x + amplitude_m * wiggle * nx / norm, y + amplitude_m * wiggle * ny / norm
    )


def make_layers(folder: Path, n: int) -> Path:
    """Write parcels, faults, border, zones and the config; return the config path."""
    rng = np.random.default_rng(SEED)
    make_parcels(n, rng).to_parquet(folder / "parcels.parquet")
    faults = [
        meander((X0 - 2000, Y0 + 5000), (X0 + SIDE_M + 2000, Y0 + 30000), 1000, 3000, rng),
        meander((X0 + 8000, Y0 - 2000), (X0 + 20000, Y0 + SIDE_M + 2000), 1000, 2500, rng),
        meander((X0 + 25000, Y0 + 12000), (X0 + SIDE_M + 3000, Y0 - 1000), 1000, 1500, rng),
    ]
    gpd.GeoDataFrame(
        {"FaultName": ["Rose Canyon", "Elsinore", "San Jacinto"]}, geometry=faults, crs=CRS
    ).to_file(folder / "faults.gpkg")
    border = meander((X0 - 5000, Y0 - 3000), (X0 + SIDE_M + 5000, Y0 - 4000), 3000, 2000, rng)
    gpd.GeoDataFrame({"name": ["US-Mexico border"]}, geometry=[border], crs=CRS).to_file(
        folder / "border.gpkg"
    )
    centres = rng.uniform([X0, Y0], [X0 + SIDE_M, Y0 + SIDE_M], (20, 2))
    zones = shapely.buffer(shapely.points(centres), rng.uniform(300, 1500, 20), quad_segs=16)
    gpd.GeoDataFrame(
        {"name": [f"Zone {i + 1}" for i in range(20)]}, geometry=zones, crs=CRS
    ).to_file(folder / "zones.gpkg")
    return write_config(folder, n, fault_criterion=False)


def write_config(folder: Path, n: int, fault_criterion: bool) -> Path:
    """The bench config: a fault setback, a protected-zones constraint, the border criterion.

    ``fault_criterion`` adds a criterion scoring the distance to the faults, so the
    fault distances are measured for every candidate (not only up to the setback).
    """
    faults = (
        "  faults: {kind: distance, layer: faults, weight: 1,\n"
        "           transform: {fn: linear, best: 5000, worst: 150}}\n"
        if fault_criterion
        else ""
    )
    config = folder / "county.yaml"
    config.write_text(
        f"""name: Outputs bench, {n:,} parcels
crs: {CRS}
candidates: {{source: parcels.parquet, id: apn}}
layers:
  faults: {{source: faults.gpkg, name_column: FaultName}}
  border: border.gpkg
  zones: {{source: zones.gpkg, name_column: name}}
constraints:
  fault_setback: {{kind: distance, layer: faults, min_m: 150}}
  protected: {{kind: zones, layer: zones, buffer_m: 100, zone_label: protected area,
              max_overlap_pct: 0}}
criteria:
  border: {{kind: distance, layer: border, weight: 1,
           transform: {{fn: linear, best: 25000, worst: 5000}}}}
{faults}outputs:
  dir: out
  context_layers: [border]
""",
        encoding="utf-8",
    )
    return config


def rss_bytes() -> int:
    """Resident set size of this process now (Linux ``/proc``)."""
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


class PeakRss:
    """Samples the resident set size every 20 ms while in the ``with`` block."""

    def __enter__(self) -> PeakRss:
        self.start = self.peak = rss_bytes()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def _sample(self) -> None:
        while not self._stop.wait(0.02):
            self.peak = max(self.peak, rss_bytes())

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, rss_bytes())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--parcels", type=int, default=100_000)
    parser.add_argument("--keep", type=Path, help="folder to generate into and keep")
    parser.add_argument("--no-write", action="store_true", help="skip writing the outputs")
    parser.add_argument(
        "--fault-criterion",
        action="store_true",
        help="also score the distance to the faults (measured everywhere, not up to 150 m)",
    )
    args = parser.parse_args()

    import logging

    from siteselect.config import load_config
    from siteselect.outputs import OUTPUT_FILES, write_outputs
    from siteselect.pipeline import run

    logging.basicConfig(level=logging.INFO, format="%(relativeCreated)8.0f ms %(message)s")
    folder = args.keep or Path(tempfile.mkdtemp(prefix="siteselect-outputs-bench-"))
    folder.mkdir(parents=True, exist_ok=True)
    config_path = folder / "county.yaml"
    if not (folder / "parcels.parquet").exists():
        start = time.perf_counter()
        make_layers(folder, args.parcels)
        print(f"generated in {time.perf_counter() - start:.1f} s: {folder}")
    write_config(folder, args.parcels, args.fault_criterion)
    config = load_config(config_path)
    start = time.perf_counter()
    result = run(config)
    print(f"pipeline {time.perf_counter() - start:.2f} s")
    for step, seconds in result.manifest.get("timings_s", {}).items():
        print(f"  {step:<28} {seconds:8.2f} s")
    if args.no_write:
        return
    out = folder / "out"
    from siteselect import outputs

    for name, writer in list(outputs.WRITERS.items()):  # time each writer

        def timed(result, path, writer=writer, name=name):
            start, cpu = time.perf_counter(), time.process_time()
            with PeakRss() as rss:
                writer(result, path)
            print(
                f"  {name:<14} {time.perf_counter() - start:8.2f} s "
                f"({time.process_time() - cpu:.2f} s CPU), "
                f"RSS +{(rss.peak - rss.start) / 2**20:,.0f} MiB at its peak"
            )

        outputs.WRITERS[name] = timed
    with PeakRss() as rss:
        start = time.perf_counter()
        write_outputs(result, out)
        seconds = time.perf_counter() - start
    print(
        f"write {seconds:.2f} s, RSS {rss.start / 2**30:.2f} GiB before, "
        f"peak {rss.peak / 2**30:.2f} GiB (+{(rss.peak - rss.start) / 2**20:,.0f} MiB)"
    )
    for name in OUTPUT_FILES:
        path = out / name
        if path.exists():
            print(f"  {name:<14} {path.stat().st_size / 2**20:10.1f} MiB")
    print(f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20:.2f} GiB")


if __name__ == "__main__":
    main()
