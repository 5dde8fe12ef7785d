"""A state-size run simulated on a local Dask cluster, partition by partition.

::

    python -m bench.state [--parcels 12m] [--partition-size 100k] [--workers 2]
        [--workdir DIR] [--json FILE]

California has over twelve million parcels. This bench measures what the
``dask`` engine (:mod:`siteselect.engine`) costs per partition and per worker
at that size without holding twelve million parcels anywhere:

1. the county scenario of :mod:`bench.county` (1M parcels, its 1,001,200-node
   network and layers) is generated if needed; the client loads the study of
   its 10k config (the same region, network and layers), and does the
   graph-wide work once as the engine does (layers, road graph, every kind's
   ``prepare``); the study shell is broadcast to the workers;
2. each of the ``--parcels / --partition-size`` partitions is generated *on its
   worker*: 100,000 consecutive parcels of the 1M county file (read with a
   window, ``skip_features``/``max_features``), shifted by a few metres for
   each further copy of the county (partition 10 is partition 0 moved 7 m east
   and north, and so on), so twelve million distinct parcels pass through;
3. the worker measures its partition with the engine's own
   :func:`siteselect.engine.worker.measure_partition` (every kind the engine
   sends to the workers: airspace, distances, zones, drive times, the hazard
   raster) and returns only float32 values, its time and its process's peak
   memory; the client keeps at most ``2 x workers`` partitions in flight;
4. the client ranks all candidates globally with the product's scoring
   (:func:`siteselect.decision.scoring.score_table`) over the values.

Not simulated: reading and cleaning twelve million parcels on the client (the
product's ``load_study`` is global; a partitioned reader is future work) and
the demand searches (accessibility, competition: run once on the client over
the graph, their cost grows with the demand points and the network, not with
the partitions). Both are stated in the README's extrapolation.

Prints one table; ``--json`` writes every figure.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]
SIZES = {"200k": 200_000, "1m": 1_000_000, "2m": 2_000_000, "12m": 12_000_000}
PARTITION_SIZES = {"50k": 50_000, "100k": 100_000, "250k": 250_000}
COPY_SHIFT_M = 7.0
"""Each further copy of the county's parcels is shifted this far east and north."""


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), env.get("PYTHONPATH")) if p)
    return env


def generate_partition(parcels: str, county_parcels: int, index: int, size: int, crs: Any) -> Any:
    """Partition ``index``: ``size`` parcels of the county file, shifted per copy, as candidates."""
    import geopandas as gpd
    import pyogrio
    import shapely

    per_copy = county_parcels // size
    copy, slot = divmod(index, per_copy)
    frame = pyogrio.read_dataframe(
        parcels, skip_features=slot * size, max_features=size, use_arrow=True
    )
    geometry = frame.geometry.to_crs(crs).to_numpy()
    if copy:
        geometry = shapely.transform(geometry, lambda xy: xy + COPY_SHIFT_M * copy)
    area_acres = shapely.area(geometry) / 4046.8564224
    return gpd.GeoDataFrame(
        {
            "candidate_id": [f"S{index:04d}-{apn}" for apn in frame["apn"]],
            "area_acres": area_acres,
        },
        geometry=geometry,
        crs=crs,
    )


def simulate_partition(
    index: int, shell: Any, entries: list[Any], parcels: str, county_parcels: int, size: int
) -> dict[str, Any]:
    """On a worker: generate partition ``index``, measure it, return compact values."""
    from siteselect.engine.worker import measure_partition, peak_rss_mb

    start = time.perf_counter()
    candidates = generate_partition(parcels, county_parcels, index, size, shell.crs)
    generated_s = time.perf_counter() - start
    result = measure_partition(candidates, shell, entries)
    return {
        "index": index,
        "values": [m.values.astype(np.float32) for m in result.measurements],
        "candidates": result.candidates,
        "generate_s": generated_s,
        "measure_s": result.seconds,
        "peak_rss_mb": peak_rss_mb(),
        "worker": result.worker,
    }


def prepare_client(config_path: Path) -> tuple[Any, list[Any], dict[str, float]]:
    """The study shell and the entries the workers measure, prepared as the engine does."""
    from siteselect.config import load_config
    from siteselect.engine.worker import shell_of
    from siteselect.measuring import Measurer
    from siteselect.study import load_study

    times: dict[str, float] = {}
    start = time.perf_counter()
    config = load_config(config_path)
    measurer = Measurer(load_study(config))
    entries = measurer.workers_entries(config)
    times["load seed study"] = time.perf_counter() - start
    start = time.perf_counter()
    measurer.prepare_shared(config, entries)
    times["graph-wide work (prepare)"] = time.perf_counter() - start
    return shell_of(measurer.study), entries, times


def rank_globally(values: list[np.ndarray], entries: list[Any]) -> dict[str, Any]:
    """Constraints and scores over every candidate (the product's scoring), top 10."""
    from siteselect.criteria.base import Measurement
    from siteselect.decision.scoring import WeightedCriterion, constraint_failures, score_table

    n = len(values[0])
    failed = np.zeros(n, dtype=bool)
    weighted = []
    for (section, name, spec), column in zip(entries, values, strict=True):
        measured = Measurement(values=column.astype(np.float64), unit="", label=name)
        if section == "constraints":  # out of bounds, or missing (excluded too)
            failed |= constraint_failures(measured, *spec.bounds()) | np.isnan(measured.values)
        else:
            weighted.append(WeightedCriterion(name, measured, spec.transform, spec.weight))
    scores = score_table(weighted, n)["total_score"].to_numpy()
    scores = np.where(failed, -np.inf, scores)
    top = np.argsort(-scores, kind="stable")[:10]
    return {"excluded": int(failed.sum()), "top_rows": top.tolist()}


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Run the simulation; print the table; return the figures."""
    parser = argparse.ArgumentParser(
        prog="python -m bench.state", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--parcels", choices=sorted(SIZES), default="12m")
    parser.add_argument("--partition-size", choices=sorted(PARTITION_SIZES), default="100k")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--workdir", type=Path, default=REPO / "bench" / ".data")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)

    from bench._scenario import ensure_scenario

    for size in ("1m", "10k"):
        command = [sys.executable, "-m", "bench._scenario", "--parcels", size]
        subprocess.run([*command, "--workdir", str(args.workdir)], check=True, env=_env())
    county = ensure_scenario("1m", False, args.workdir, "parquet")
    seed = ensure_scenario("10k", False, args.workdir, "parquet")
    parcels = str(county.parcels / "parcels.gpkg")
    county_parcels = county.preset.parcels.n_parcels
    size = PARTITION_SIZES[args.partition_size]
    total = SIZES[args.parcels]
    count = total // size

    started = time.perf_counter()
    shell, entries, client_s = prepare_client(seed.config)
    os.environ.setdefault("DASK_LOGGING__DISTRIBUTED", "warning")
    from distributed import as_completed

    from siteselect.engine import EngineOptions
    from siteselect.engine.cluster import connected

    values = [np.empty(total, dtype=np.float32) for _ in entries]
    records: list[dict[str, Any]] = []
    with connected(EngineOptions("dask", workers=args.workers)) as client:
        start = time.perf_counter()
        shell_future = client.scatter(shell, broadcast=True, hash=False)
        client_s["broadcast"] = time.perf_counter() - start

        def submit(index: int) -> Any:
            return client.submit(
                simulate_partition, index, shell_future, entries, parcels, county_parcels, size,
                pure=False,
            )  # fmt: skip

        measuring = time.perf_counter()
        window = min(2 * args.workers, count)
        queue = as_completed([submit(i) for i in range(window)], loop=client.loop)
        sent = window
        for future in queue:
            part = future.result()
            at = part["index"] * size
            for column, got in zip(values, part.pop("values"), strict=True):
                column[at : at + len(got)] = got
            records.append(part)
            if len(records) % 10 == 0 or len(records) == count:
                seconds = time.perf_counter() - measuring
                print(f"  {len(records)}/{count} partitions, {seconds:.0f} s", flush=True)
            if sent < count:
                queue.add(submit(sent))
                sent += 1
            future.release()
        client_s["partitions (wall)"] = time.perf_counter() - measuring
    start = time.perf_counter()
    ranking = rank_globally(values, entries)
    client_s["global scoring and ranking"] = time.perf_counter() - start
    wall_s = time.perf_counter() - started

    measure = [r["measure_s"] for r in records]
    generate = [r["generate_s"] for r in records]
    by_worker: dict[str, list[float]] = {}
    for r in sorted(records, key=lambda r: r["index"]):
        by_worker.setdefault(r["worker"], []).append(r["peak_rss_mb"])
    result = {
        "bench": "state",
        "parcels": total,
        "partitions": count,
        "partition_size": size,
        "workers": args.workers,
        "entries_on_workers": [f"{s}.{n}" for s, n, _ in entries],
        "client_s": {k: round(v, 2) for k, v in client_s.items()},
        "wall_s": round(wall_s, 1),
        "measure_s_per_partition": {
            "min": round(min(measure), 2),
            "median": round(statistics.median(measure), 2),
            "max": round(max(measure), 2),
        },
        "generate_s_per_partition_median": round(statistics.median(generate), 2),
        "peak_rss_mb_by_worker": {
            w: {
                "after_first": round(v[0], 0),
                "after_last": round(v[-1], 0),
                "partitions": len(v),
                "after_partition": {str(k): round(v[k - 1], 0) for k in _milestones(len(v))},
            }
            for w, v in by_worker.items()
        },
        "client_values_mb": round(sum(v.nbytes for v in values) / 1e6, 1),
        "ranking": ranking,
        "loadavg": Path("/proc/loadavg").read_text().split()[:3],
    }
    print(render(result))
    if args.json is not None:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=2))
    return result


def _milestones(n: int) -> list[int]:
    """1, 2, 5, 10, 20, 50... up to ``n`` (and ``n``): where to show a worker's memory."""
    marks = [m for m in (1, 2, 5, 10, 20, 30, 40, 50, 60, 80, 100, 150, 200) if m < n]
    return [*marks, n]


def render(result: dict[str, Any]) -> str:
    """The table the bench prints."""
    per = result["measure_s_per_partition"]
    lines = [
        f"State-size simulation: {result['parcels']:,} parcels in {result['partitions']} "
        f"partitions of {result['partition_size']:,} on {result['workers']} local Dask workers",
        f"measured on the workers: {', '.join(result['entries_on_workers'])}",
    ]
    lines += [
        f"  client: {name:<32} {seconds:8.1f} s" for name, seconds in result["client_s"].items()
    ]
    lines.append(
        f"  per partition: measure {per['min']:.1f}-{per['max']:.1f} s "
        f"(median {per['median']:.1f} s), "
        f"generate {result['generate_s_per_partition_median']:.1f} s"
    )
    for worker, memory in result["peak_rss_mb_by_worker"].items():
        lines.append(
            f"  worker {worker}: {memory['partitions']} partitions, peak RSS "
            f"{memory['after_first']:,.0f} MB after its first, "
            f"{memory['after_last']:,.0f} MB after its last"
        )
        curve = ", ".join(f"{k}: {v:,.0f}" for k, v in memory["after_partition"].items())
        lines.append(f"    peak MB after partition {curve}")
    lines.append(
        f"  total {result['wall_s']:.1f} s; the client holds "
        f"{result['client_values_mb']:,.0f} MB of values; "
        f"{result['ranking']['excluded']:,} excluded"
    )
    return "\n".join(lines)


if __name__ == "__main__":
    main()
