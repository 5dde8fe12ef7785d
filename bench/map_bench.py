"""Size and build time of map.html (and report.html) for very large runs.

Run::

    .venv/bin/python -m bench.map_bench                      # 1,000,000 candidates
    .venv/bin/python -m bench.map_bench --candidates 200000 --baseline 50000

A synthetic :class:`~siteselect.decision.results.RunResult` is generated with a fixed seed:
square parcels of 40-70 m on a jittered grid around San Diego (UTM 11N), five
criteria whose scores follow smooth spatial trends plus noise, 15 % excluded.

Timed in the same run:

* ``grid``: :func:`siteselect.outputs.map.build.write_map` as shipped (above
  ``MAX_POINTS`` candidates: a grid of best scores, the 2,000 best as points,
  what-if scores for at most 5,000 sites), on all candidates;
* ``points`` (baseline): the previous approach, every candidate drawn as a
  point (``max_points`` raised above the count), on ``--baseline`` candidates
  only; its size is extrapolated linearly to all candidates for the ratio;
* ``report``: :func:`siteselect.outputs.report.write_report` on all candidates.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely

from siteselect.decision.results import ConstraintInfo, CriterionInfo, RunResult
from siteselect.decision.scoring import rank
from siteselect.outputs.map.build import build_map, write_map
from siteselect.outputs.report import write_report

ORIGIN_M = (470_000.0, 3_600_000.0)
SPACING_M = 80.0
CRITERIA = [
    CriterionInfo("freeway_access", "network_time", "Drive time to nearest on-ramp", "min", 3,
                  "linear: 2 min -> 1, 15 min -> 0"),
    CriterionInfo("seismic", "raster_zonal", "Max PGA over the parcel", "g", 2,
                  "linear: 0.4 g -> 1, 0.9 g -> 0"),
    CriterionInfo("members", "accessibility", "Target households reached", "households", 4,
                  "min-max, higher is better"),
    CriterionInfo("competition", "distance", "Distance to nearest competitor", "m", 3,
                  "linear: 8000 m -> 1, 1000 m -> 0"),
    CriterionInfo("border", "distance", "Distance to the border", "m", 1,
                  "linear: 20000 m -> 1, 5000 m -> 0"),
]  # fmt: skip


def synthetic_result(n: int, seed: int = 0) -> RunResult:
    """A complete run of ``n`` square parcels with smooth, noisy criterion scores."""
    rng = np.random.default_rng(seed)
    side = int(np.ceil(np.sqrt(n)))
    i = np.arange(n)
    x = ORIGIN_M[0] + (i % side) * SPACING_M + rng.uniform(-10, 10, n)
    y = ORIGIN_M[1] + (i // side) * SPACING_M + rng.uniform(-10, 10, n)
    half = rng.uniform(20, 35, n)
    geoms = shapely.box(x - half, y - half, x + half, y + half)
    u, v = (x - x.min()) / (np.ptp(x) or 1), (y - y.min()) / (np.ptp(y) or 1)
    trends = [u, 1 - v, np.sin(3 * u) * np.cos(2 * v), v * u, 1 - u]
    table = pd.DataFrame({"candidate_id": [f"P{k:07d}" for k in i]})
    table["area_acres"] = (2 * half) ** 2 / 4046.8564224
    total_weight = sum(c.weight for c in CRITERIA)
    total = np.zeros(n)
    for criterion, trend in zip(CRITERIA, trends, strict=True):
        score = np.clip(
            0.7 * (trend - trend.min()) / (np.ptp(trend) or 1) + rng.normal(0, 0.15, n), 0, 1
        )
        table[f"raw_{criterion.name}"] = 100 * (1 - score)
        table[f"score_{criterion.name}"] = score
        table[f"contrib_{criterion.name}"] = score * criterion.weight / total_weight
        total += table[f"contrib_{criterion.name}"].to_numpy()
    excluded = rng.uniform(0, 1, n) < 0.15
    table["excluded"] = excluded
    table["exclusion_reason"] = np.where(
        excluded, np.where(rng.uniform(0, 1, n) < 0.5, "airspace: penetrates", "fault setback"), ""
    )
    table["total_score"] = total
    table["rank"] = rank(total, excluded, table["candidate_id"].to_numpy()).array
    return RunResult(
        title=f"Synthetic benchmark, {n:,} parcels",
        crs=pyproj.CRS("EPSG:32611"),
        candidates=gpd.GeoDataFrame(table, geometry=geoms, crs="EPSG:32611"),
        criteria=list(CRITERIA),
        constraints=[ConstraintInfo("airspace", "airspace", "Below Part 77", int(excluded.sum()))],
        top_n=10,
    )


def _timed_map(result: RunResult, path: Path, **kwargs: int) -> tuple[float, int]:
    start = time.perf_counter()
    if kwargs:
        build_map(result, **kwargs).save(str(path))
    else:
        write_map(result, path)
    return time.perf_counter() - start, path.stat().st_size


def main() -> None:
    """Generate, write, print sizes, times and ratios."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--candidates", type=int, default=1_000_000)
    parser.add_argument("--baseline", type=int, default=100_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        start = time.perf_counter()
        result = synthetic_result(args.candidates)
        print(f"generated {args.candidates:,} candidates in {time.perf_counter() - start:.1f} s")

        grid_s, grid_bytes = _timed_map(result, folder / "map.html")
        print(f"grid map   : {grid_bytes / 1e6:7.2f} MB in {grid_s:6.1f} s "
              f"({args.candidates:,} candidates)")  # fmt: skip

        start = time.perf_counter()
        write_report(result, folder / "report.html")
        report_s = time.perf_counter() - start
        report_mb = (folder / "report.html").stat().st_size / 1e6
        print(f"report     : {report_mb:7.2f} MB in {report_s:6.1f} s")

        base = synthetic_result(min(args.baseline, args.candidates), seed=1)
        points_s, points_bytes = _timed_map(
            base, folder / "points.html", max_points=len(base.candidates) + 1, max_polygons=0
        )
        n_base = len(base.candidates)
        scale = args.candidates / n_base
        print(f"points map : {points_bytes / 1e6:7.2f} MB in {points_s:6.1f} s "
              f"({n_base:,} candidates; x{scale:g} = {points_bytes * scale / 1e6:.0f} MB, "
              f"{points_s * scale:.0f} s extrapolated)")  # fmt: skip
        print(
            f"ratio points/grid at {args.candidates:,}: size "
            f"{points_bytes * scale / grid_bytes:.0f}x, build time {points_s * scale / grid_s:.1f}x"
        )
        print(f"limit 10 MB: {'OK' if grid_bytes < 10e6 else 'EXCEEDED'}")


if __name__ == "__main__":
    main()
