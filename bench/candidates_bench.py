"""Candidate sources at county scale: grids, the where condition, distinct top sites.

``python -m bench.candidates_bench [--area-km2 10000] [--parcels 1000000]`` times,
in one run, each product function and a plainly written competent baseline on
the same inputs, and prints the ratio:

* ``generate_grid``: 250 m squares and hexagons over a round study area of
  ``--area-km2`` with a bay cut out (``water:``), against building each cell and
  clipping it one by one (shapely, per cell);
* ``condition`` (the ``where:`` language) over ``--parcels`` rows, against the
  same mask written by hand in pandas;
* the ``attribute`` kind scoring a zoning column with ``categories`` over
  ``--parcels`` parcels, against a pandas ``map`` of the same scores;
* ``shadowed_by`` (``outputs.min_separation_m``: 500 m, top 10) over
  ``--parcels`` ranked parcels, against a greedy walk that measures each
  candidate against the top sites kept (shapely, per candidate) and then marks
  the neighbours of each top site with a full distance array.

Wall and CPU seconds are printed with the load average: on a shared machine,
read the ratios, not the absolute times.
"""

from __future__ import annotations

import argparse
import math
import os
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import shapely

from siteselect.config.expressions import condition
from siteselect.decision.separation import shadowed_by
from siteselect.study.grid import generate_grid


def _timed(fn: Callable[[], Any]) -> tuple[Any, float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    out = fn()
    return out, time.perf_counter() - wall, time.process_time() - cpu


def _report(name: str, product: tuple[float, float], baseline: tuple[float, float]) -> None:
    ratio = baseline[0] / product[0] if product[0] else float("inf")
    print(
        f"{name:<34} product {product[0]:7.2f} s wall {product[1]:7.2f} s CPU | "
        f"baseline {baseline[0]:8.2f} s wall {baseline[1]:8.2f} s CPU | {ratio:6.1f}x"
    )


def _naive_grid(area: shapely.Geometry, water: shapely.Geometry, cell_m: float) -> int:
    xmin, ymin, xmax, ymax = area.bounds
    shapely.prepare(area)
    kept = 0
    for y in np.arange(math.floor(ymin / cell_m) * cell_m, ymax, cell_m):
        for x in np.arange(math.floor(xmin / cell_m) * cell_m, xmax, cell_m):
            cell = shapely.box(x, y, x + cell_m, y + cell_m)
            if not area.intersects(cell):
                continue
            piece = cell.intersection(area).difference(water)
            if piece.area >= 0.25 * cell_m * cell_m:
                kept += 1
    return kept


def bench_grid(area_km2: float) -> None:
    radius = math.sqrt(area_km2 * 1e6 / math.pi)
    area = shapely.Point(0, 0).buffer(radius, quad_segs=256)
    bay = shapely.Point(radius * 0.8, 0).buffer(radius * 0.35, quad_segs=64)
    for shape in ("square", "hex"):
        cells, wall, cpu = _timed(
            lambda shape=shape: generate_grid(area, 250.0, shape, water=np.array([bay]))
        )
        print(f"grid {shape}: {len(cells.ids):,} cells of 250 m over {area_km2:,.0f} km2")
        if shape == "square":
            count, b_wall, b_cpu = _timed(lambda: _naive_grid(area, bay, 250.0))
            assert abs(count - len(cells.ids)) <= len(cells.ids) * 0.001, (count, len(cells.ids))
            _report("generate_grid square", (wall, cpu), (b_wall, b_cpu))
        else:
            print(f"{'generate_grid hex':<34} product {wall:7.2f} s wall {cpu:7.2f} s CPU")


def bench_where(parcels: int) -> None:
    rng = np.random.default_rng(14)
    uses = np.array(["VACANT", "AGRICULTURAL", "RESIDENTIAL", "COMMERCIAL", "INDUSTRIAL"])
    table = pd.DataFrame(
        {
            "land_use": uses[rng.integers(0, len(uses), parcels)],
            "assessed_usd": rng.lognormal(13, 1.5, parcels),
            "acres": rng.uniform(0.1, 80, parcels),
        }
    )
    text = "land_use in ('VACANT', 'AGRICULTURAL') and assessed_usd / acres < 2000000"
    keep, wall, cpu = _timed(lambda: condition(text, table))
    want, b_wall, b_cpu = _timed(
        lambda: (
            table["land_use"].isin(["VACANT", "AGRICULTURAL"])
            & (table["assessed_usd"] / table["acres"] < 2_000_000)
        ).to_numpy()
    )
    assert np.array_equal(keep, want)
    print(f"where over {parcels:,} parcels keeps {int(keep.sum()):,}")
    _report("condition (where:)", (wall, cpu), (b_wall, b_cpu))


def bench_attribute(parcels: int) -> None:
    from types import SimpleNamespace

    from siteselect.criteria.attribute import AttributeSpec, measure

    rng = np.random.default_rng(16)
    codes = np.array(["R1", "R2", "C1", "M1", "A70", "OS"], dtype=object)
    zoning = codes[rng.integers(0, len(codes), parcels)]
    zoning[rng.random(parcels) < 0.01] = None
    study = SimpleNamespace(candidates=pd.DataFrame({"attr_zoning": zoning}))
    scores = {"C1": 1.0, "M1": 0.8, "R2": 0.5, "A70": 0.4}
    spec = AttributeSpec.model_validate(
        {
            "kind": "attribute",
            "column": "zoning",
            "transform": {"fn": "categories", "scores": scores, "default": 0.0},
            "weight": 1,
        }
    )
    got, wall, cpu = _timed(lambda: measure(spec, study))  # type: ignore[arg-type]
    want, b_wall, b_cpu = _timed(
        lambda: (
            pd.Series(zoning)
            .map(lambda z: scores.get(z, 0.0) if isinstance(z, str) else np.nan)
            .to_numpy()
        )
    )
    assert np.array_equal(got.values, want.astype(float), equal_nan=True)
    _report("attribute (categories)", (wall, cpu), (b_wall, b_cpu))


def _naive_shadow(geoms: np.ndarray, order: np.ndarray, ids: np.ndarray, sep: float, top_n: int):
    out = np.full(len(geoms), "", dtype=object)
    tops: list[int] = []
    for i in order:
        if any(geoms[t].distance(geoms[i]) <= sep for t in tops):
            continue
        tops.append(int(i))
        if len(tops) == top_n:
            break
    position = np.empty(len(geoms), dtype=np.int64)
    position[order] = np.arange(len(order))
    for t in tops:
        near = (shapely.distance(geoms, geoms[t]) <= sep) & (position > position[t]) & (out == "")
        near &= ~np.isin(np.arange(len(geoms)), tops)
        out[near] = ids[t]
    return out


def bench_separation(parcels: int) -> None:
    rng = np.random.default_rng(15)
    side = math.sqrt(parcels) * 120.0
    x, y = rng.uniform(0, side, parcels), rng.uniform(0, side, parcels)
    geoms = shapely.box(x, y, x + 100, y + 100)
    # scores clustered around a few hot spots, as real suitability is
    spots = rng.uniform(0, side, (5, 2))
    score = np.max(
        np.exp(-((x[:, None] - spots[:, 0]) ** 2 + (y[:, None] - spots[:, 1]) ** 2) / 4e6), axis=1
    )
    order = np.lexsort((np.arange(parcels), -score))
    ranks = np.empty(parcels, dtype=np.int64)
    ranks[order] = np.arange(1, parcels + 1)
    ids = np.array([f"P{i:07d}" for i in range(parcels)], dtype=object)
    got, wall, cpu = _timed(lambda: shadowed_by(geoms, ranks, ids, 500.0, 10))
    want, b_wall, b_cpu = _timed(lambda: _naive_shadow(geoms, order, ids, 500.0, 10))
    assert np.array_equal(got, want)
    print(f"separation over {parcels:,} parcels: {int((got != '').sum()):,} shadowed")
    _report("shadowed_by (500 m, top 10)", (wall, cpu), (b_wall, b_cpu))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--area-km2", type=float, default=10_000.0)
    parser.add_argument("--parcels", type=int, default=1_000_000)
    args = parser.parse_args()
    print(f"load average {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f}, {os.cpu_count()} CPUs")
    bench_grid(args.area_km2)
    bench_where(args.parcels)
    bench_attribute(args.parcels)
    bench_separation(args.parcels)
    print(f"load average {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f}")


if __name__ == "__main__":
    main()
