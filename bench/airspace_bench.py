"""Lowest imaginary surface over 1M parcels against 40 runways: vectorised vs naive loop.

Run::

    .venv/bin/python -m bench.airspace_bench                       # 1,000,000 parcel points
    .venv/bin/python -m bench.airspace_bench --parcels 200000 --polygons 20000

Inputs are generated with a fixed seed: 16 airports (4 military with AICUZ, 12
civil of mixed approach categories, one with a helipad) holding 40 runways in
an 80 km x 80 km square of EPSG:32611 around San Diego, and parcels as points
uniformly spread over the square (about half of them lie under some surface).
The vectorised evaluator (:func:`siteselect.airspace.heights.evaluate`) runs on
all of them; the naive per-parcel, per-surface Python loop
(:mod:`siteselect.airspace.reference`) runs on a sample and is extrapolated
linearly; both answers are compared on the sample. ``--polygons N`` also times the
per-parcel path of the ``airspace`` criterion on N square parcels (30-150 m
half sides) over the same square: the exact critical points
(:func:`siteselect.airspace.worst.parcel_worst`) against the 5 m outline
sampling it replaced, and checks that it is never above it. Target: under 10 s
for 1M parcel points. The kind on a county of parcels, through the study and
config: :mod:`bench.airspace_county`.
"""

from __future__ import annotations

import argparse
import math
import resource
import time

import numpy as np
import shapely

from siteselect.airspace.heights import evaluate
from siteselect.airspace.model import AirspaceModel, build_model
from siteselect.airspace.reference import lowest_surface_naive
from siteselect.airspace.runways import Airport, Category, Runway
from siteselect.airspace.sampling import parcel_points
from siteselect.airspace.worst import flat_ground, parcel_worst
from siteselect.geo import M_PER_FT

SEED = 20240607
X0, Y0, SIDE_M = 470_000.0, 3_590_000.0, 80_000.0
CATEGORIES: tuple[Category, ...] = ("visual", "non_precision", "precision")


def _runway(
    rng: np.random.Generator, ident: str, centre: tuple[float, float], heading: float
) -> tuple[Runway, float]:
    length_ft = float(rng.uniform(2_500, 12_000))
    length_m = length_ft * M_PER_FT
    angle = math.radians(90.0 - heading)
    dx, dy = math.cos(angle) * length_m / 2, math.sin(angle) * length_m / 2
    offset = rng.normal(0, 500, 2)
    cx, cy = centre[0] + offset[0], centre[1] + offset[1]
    elevation = float(rng.uniform(0, 600))
    category: Category = CATEGORIES[int(rng.integers(0, 3))] if length_ft > 3_200 else "visual"
    end = round(heading / 10) % 36 or 36
    runway = Runway(
        airport=ident,
        le_ident=f"{end:02d}",
        he_ident=f"{(end + 18 - 1) % 36 + 1:02d}",
        le_xy=(cx - dx, cy - dy),
        he_xy=(cx + dx, cy + dy),
        le_elevation_ft=elevation,
        he_elevation_ft=elevation + float(rng.uniform(-15, 15)),
        width_ft=150.0,
        hard_surface=bool(length_ft > 3_000),
        heliport=False,
        le_category=category,
        he_category=category,
        utility=length_ft < 3_200,
        aicuz=True,
    )
    return runway, max(runway.le_elevation_ft, runway.he_elevation_ft)


def make_model(n_runways: int = 40) -> AirspaceModel:
    """16 airports holding ``n_runways`` runways (deterministic)."""
    rng = np.random.default_rng(SEED)
    counts = np.full(16, n_runways // 16)
    counts[: n_runways % 16] += 1
    airports: dict[str, Airport] = {}
    runways: list[Runway] = []
    for a, count in enumerate(counts):
        ident = f"K{a:03d}"
        centre = (X0 + rng.uniform(5_000, SIDE_M - 5_000), Y0 + rng.uniform(5_000, SIDE_M - 5_000))
        heading = float(rng.uniform(0, 180))
        elevations = []
        for k in range(int(count)):
            runway, top = _runway(rng, ident, centre, heading + 60.0 * (k % 2))
            runways.append(runway)
            elevations.append(top)
        kind = "military" if a < 4 else "civil"
        airports[ident] = Airport(ident, ident, kind, max(elevations))  # type: ignore[arg-type]
    pad = runways[-1]
    (x, y) = pad.le_xy
    runways[-1] = Runway(
        **{
            **pad.__dict__,
            "le_ident": "06H",
            "he_ident": "24H",
            "he_xy": (x + 300.0, y),
            "heliport": True,
            "width_ft": 100.0,
        }
    )
    return build_model(airports, runways)


def make_points(n: int) -> tuple[np.ndarray, np.ndarray]:
    """``n`` parcel points uniformly over the square (deterministic)."""
    rng = np.random.default_rng(SEED + 1)
    return X0 + rng.uniform(0, SIDE_M, n), Y0 + rng.uniform(0, SIDE_M, n)


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def main() -> None:
    """Time both evaluators and print the figures and their ratio."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--parcels", type=int, default=1_000_000)
    parser.add_argument("--runways", type=int, default=40)
    parser.add_argument("--sample", type=int, default=2_000, help="naive loop sample size")
    parser.add_argument("--polygons", type=int, default=0, help="also time N square parcels")
    args = parser.parse_args()

    model = make_model(args.runways)
    x, y = make_points(args.parcels)
    print(
        f"{len(model.runways)} runways at {len({r.runway.airport for r in model.runways})} "
        f"airports ({sum(a.family == 'military' for a in model.airports)} military), "
        f"{len(model.names)} surfaces; {args.parcels:,} parcel points"
    )
    start = time.perf_counter()
    result = evaluate(model, x, y)
    vector_s = time.perf_counter() - start
    covered = np.isfinite(result.height_ft).mean()
    print(f"vectorised : {vector_s:8.2f} s  ({covered:.0%} of parcels under a surface)")

    sample = np.random.default_rng(SEED + 2).choice(args.parcels, args.sample, replace=False)
    lowest_surface_naive(model, float(x[0]), float(y[0]))  # build the cached outlines first
    start = time.perf_counter()
    naive = np.array([lowest_surface_naive(model, float(x[i]), float(y[i])) for i in sample])
    naive_s = (time.perf_counter() - start) * args.parcels / args.sample
    print(f"naive loop : {naive_s:8.2f} s  (extrapolated from {args.sample:,} parcels)")
    got = result.height_ft[sample]
    both = np.isfinite(got) & np.isfinite(naive)
    agree = (np.isinf(got) == np.isinf(naive)).mean()
    worst = float(np.abs(got[both] - naive[both]).max()) if both.any() else 0.0
    print(f"agreement  : {agree:.2%} same coverage, largest height difference {worst:.3f} ft")
    print(f"ratio      : naive / vectorised = {naive_s / vector_s:,.0f}x")
    verdict = "met" if vector_s < 10.0 * args.parcels / 1_000_000 else "NOT met"
    print(f"target     : < 10 s per 1M parcels: {verdict}; peak RSS {_peak_rss_mb():,.0f} MB")

    if args.polygons:
        _time_polygons(model, args.polygons)


def _time_polygons(model: AirspaceModel, n: int) -> None:
    """The kind's per-parcel minimum: exact critical points vs 5 m outline sampling."""
    rng = np.random.default_rng(SEED + 3)
    cx, cy = make_points(n)
    half = rng.uniform(30, 150, n)
    boxes = shapely.box(cx - half, cy - half, cx + half, cy + half)
    start = time.perf_counter()
    px, py, owner = parcel_points(boxes, model, spacing_m=5.0)
    result = evaluate(model, px, py)
    ground = model.airport_elevation_ft[np.maximum(result.code, 0)]
    sampled = np.full(n, np.inf)
    np.minimum.at(sampled, owner, np.where(result.code >= 0, result.height_ft - ground, np.inf))
    sampled_s = time.perf_counter() - start
    start = time.perf_counter()
    worst = parcel_worst(model, boxes, flat_ground, 180.0, 5.0, ground_raster=False)
    exact_s = time.perf_counter() - start
    lower = worst.allowable_ft < sampled - 1e-9
    print(
        f"polygons   : {n:,} square parcels: 5 m sampling {sampled_s:.2f} s "
        f"({len(px):,} points), exact {exact_s:.2f} s; exact lower on {int(lower.sum()):,} "
        f"(by up to {np.max(sampled[lower] - worst.allowable_ft[lower], initial=0.0):.2f} ft), "
        f"above on {int((worst.allowable_ft > sampled + 1e-9).sum())}"
    )


if __name__ == "__main__":
    main()
