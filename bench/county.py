"""County scale through the real pipeline, against an expert baseline, in one command.

::

    python -m bench.county [--parcels 10k|100k|1m] [--stress] [--no-baseline]
        [--workdir DIR] [--json FILE] [--repeat N] [--cold] [--format parquet|gpkg]
        [--profile FILE] [--force] [--engine local|dask [--workers N] [--partitions P]]

1. Generates the county scenario once (deterministic; cached under
   ``bench/.data``, see :mod:`bench._scenario`): parcels as GeoParquet and
   GeoPackage, a 1,001,200-node road network as ``.osm.pbf`` (county-like with
   shape points, or the 1M-junction grid with ``--stress``), 736 tracts, 42
   hospitals, 38 runways at 27 airports, a 4,000 x 4,000 PGA raster, faults,
   the border, 20 exclusion zones, and a config using every criterion kind.
2. Builds the road-graph cache in an untimed first pass (its cold build time is
   reported on its own line; ``--cold`` forces a rebuild).
3. Runs the product exactly as a user does, ``siteselect run county.yaml --out
   DIR``, in a child process (:mod:`bench._county_probe`), and measures wall
   time, CPU time and peak memory per step and in total
   (:mod:`bench._county_measure`), and the size of every output file.
4. Runs the expert baseline (:mod:`bench.baseline_county`) in the same
   invocation, measured the same way, and prints the ratio.

With ``--engine dask`` the product also runs as ``siteselect run CONFIG --engine
dask --workers N`` (a ``LocalCluster``) right after the local engine, measured the
same way (the workers are children of the measured process): the table adds the
Dask run's steps, the time of every partition on its worker, each worker's peak
memory, the broadcast, and the speed-up over the local engine. Every product run
starts without a criteria cache (it is cleared first), as a first run does.

Prints one table and, with ``--json``, writes every figure (also written to
``<scenario>/last-run.json``). ``--profile FILE`` adds one more, untimed,
product run under py-spy (:mod:`bench._county_profile`). A 1m run needs a lot
of memory (20 GB before issue 11's work): it refuses to start when less than
10 GiB are available or another process holds more than 3 GB (``--force``
overrides), and every measured child is stopped if the machine falls below
1 GiB available (:data:`MIN_FREE_GIB`).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from bench._county_measure import MeasuredRun, run_measured
from bench._county_profile import profile, summarise
from bench._county_profile import render as render_profile
from bench._county_report import render, render_dask, render_steps
from bench._scenario import DEFAULT_WORKDIR, Scenario, ensure_scenario

REPO = Path(__file__).resolve().parents[1]
GIB = 1024**3
BIG_RUN_GIB = {"1m": 10.0}
"""Memory a size needs available before it starts (GiB)."""


def _git(*args: str) -> str:
    try:
        return subprocess.run(
            ["git", *args], cwd=REPO, capture_output=True, text=True, check=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return ""


def _meminfo() -> dict[str, int]:
    info: dict[str, int] = {}
    with open("/proc/meminfo") as stream:
        for line in stream:
            name, value = line.split(":", 1)
            info[name] = int(value.split()[0]) * 1024
    return info


def machine_state() -> dict[str, Any]:
    """Load, memory, CPU count, commit: the conditions of a measurement."""
    memory = _meminfo()
    return {
        "time_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "loadavg": Path("/proc/loadavg").read_text().split()[:3],
        "cpus": os.cpu_count(),
        "mem_total_gib": round(memory["MemTotal"] / GIB, 1),
        "mem_available_gib": round(memory["MemAvailable"] / GIB, 1),
        "commit": _git("rev-parse", "--short", "HEAD"),
        "dirty": bool(_git("status", "--porcelain", "--untracked-files=no")),
        "python": platform.python_version(),
    }


def _big_processes(limit_bytes: int) -> list[str]:
    """Other processes holding more than ``limit_bytes`` of RSS ("pid command rss")."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            status = dict(
                line.split(":", 1) for line in (entry / "status").read_text().splitlines()
            )
            rss = int(status.get("VmRSS", "0 kB").split()[0]) * 1024
        except (OSError, ValueError):
            continue
        if rss > limit_bytes:
            found.append(f"{entry.name} {status['Name'].strip()} {rss / GIB:.1f} GiB")
    return found


def check_memory(label: str, force: bool) -> None:
    """Refuse a big run when memory is short or another big run is going."""
    need = BIG_RUN_GIB.get(label)
    if need is None or force:
        return
    available = _meminfo()["MemAvailable"] / GIB
    others = _big_processes(3 * GIB)
    if available < need or others:
        print(
            f"error: --parcels {label} needs about {need:g} GiB available and no other big run "
            f"(available {available:.1f} GiB; processes over 3 GiB: {', '.join(others) or 'none'});"
            " wait for them to finish, or pass --force",
            file=sys.stderr,
        )
        sys.exit(2)


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), env.get("PYTHONPATH")) if p)
    return env


def _events(scenario: Scenario, name: str) -> Path:
    return scenario.folder / "logs" / f"{name}.events.jsonl"


MIN_FREE_GIB = 1.0
"""Memory guard: a measured process is stopped when less than this is available."""


def _measure(command: list[str], name: str, scenario: Scenario) -> MeasuredRun:
    """Run ``command`` measured; its events file is :func:`_events` of ``name``.

    A failed run, or one the memory guard stopped, prints the steps it got
    through and its log's tail, and ends the bench (exit code 1).
    """
    measured = run_measured(
        command,
        _events(scenario, name),
        scenario.folder / "logs" / f"{name}.log",
        cwd=scenario.folder,
        env=_env(),
        min_available_bytes=int(MIN_FREE_GIB * GIB),
    )
    if measured.exit_code != 0:
        tail = Path(measured.log).read_text().splitlines()[-15:]
        print("\n".join(tail), file=sys.stderr)
        print(render_steps(measured), file=sys.stderr)
        why = (
            f"stopped: less than {MIN_FREE_GIB:g} GiB of memory left on the machine"
            if measured.stopped_low_memory
            else f"exited with {measured.exit_code}"
        )
        print(f"error: {name} {why}; log: {measured.log}", file=sys.stderr)
        sys.exit(1)
    return measured


def _record(path: Path, measured: MeasuredRun | None, step: str) -> dict[str, Any] | None:
    """Store a cold-build measurement at ``path``, or read the one stored when it was built.

    ``seconds`` is the build step's time where the process recorded it (else
    the whole process's), ``process_s`` the process's wall time.
    """
    if measured is not None:
        steps = [s.seconds for s in measured.steps if s.name == step]
        record = {
            "seconds": round(steps[0] if steps else measured.wall_s, 2),
            "process_s": round(measured.wall_s, 2),
            "peak_bytes": measured.peak_bytes,
            "measured": machine_state(),
        }
        path.write_text(json.dumps(record, indent=2))
        return {**record, "built_now": True}
    if path.exists():
        return {**json.loads(path.read_text()), "built_now": False}
    return None


def prepare_graphs(scenario: Scenario, cold: bool, baseline: bool) -> dict[str, Any]:
    """Warm the product's graph cache and build the baseline's; measure cold builds.

    Returns
    -------
    dict
        ``product`` and ``baseline``: the cold build's seconds and peak (now or
        as recorded when it was built).
    """
    cache = scenario.graph_cache
    if cold:
        shutil.rmtree(cache, ignore_errors=True)
    before = {p.name: p.stat().st_mtime_ns for p in cache.glob("*.npz")}
    probe = [sys.executable, "-m", "bench._county_probe", str(_events(scenario, "graph-build"))]
    measured = _measure([*probe, "--build-graph", str(scenario.config)], "graph-build", scenario)
    after = {p.name: p.stat().st_mtime_ns for p in cache.glob("*.npz")}
    cache.mkdir(parents=True, exist_ok=True)
    built = measured if after != before else None
    figures = {"product": _record(cache / "cold-build.json", built, "build road graph")}
    if baseline:
        graph_file = scenario.roads / "baseline-graph.npz"
        built_baseline = None
        if cold or not graph_file.exists():
            prepare = [sys.executable, "-m", "bench.baseline_county", str(scenario.config)]
            built_baseline = _measure([*prepare, "--prepare"], "baseline-graph-build", scenario)
        figures["baseline"] = _record(
            scenario.roads / "baseline-graph.json", built_baseline, "build graph"
        )
    return figures


def _clear_criteria_cache(scenario: Scenario) -> None:
    """Remove the scenario's criteria cache: every measured run measures everything."""
    from siteselect.config import load_config
    from siteselect.criteria.cache import CriteriaCache

    shutil.rmtree(CriteriaCache(load_config(scenario.config)).folder, ignore_errors=True)


def run_product(scenario: Scenario, repeat: int, engine: list[str] | None = None) -> MeasuredRun:
    """One measured ``siteselect run`` of the scenario's config (``engine``: its options)."""
    tag = "dask-" if engine else ""
    name = f"product-{tag}{repeat}"
    _clear_criteria_cache(scenario)
    command = [sys.executable, "-m", "bench._county_probe", str(_events(scenario, name)), "run"]
    command += [
        str(scenario.config),
        "--out",
        str(scenario.folder / f"out{'-dask' if engine else ''}"),
    ]
    command += engine or []
    return _measure(command, name, scenario)


def dask_options(args: argparse.Namespace) -> list[str] | None:
    """The ``siteselect run`` options of ``--engine dask`` (None for the local engine)."""
    if args.engine != "dask":
        return None
    options = ["--engine", "dask", "--workers", str(args.workers)]
    return options + (["--partitions", str(args.partitions)] if args.partitions else [])


def dask_figures(
    scenario: Scenario, runs: list[MeasuredRun], local: list[MeasuredRun]
) -> dict[str, Any]:
    """The Dask runs: summary, speed-up over the local engine, partitions (from run.json)."""
    run_json = json.loads((scenario.folder / "out-dask" / "run.json").read_text())
    engine = run_json["diagnostics"]["engine"]
    fastest = min(runs, key=lambda r: r.wall_s)
    local_fastest = min(local, key=lambda r: r.wall_s)
    seconds = engine["partition_seconds"]
    sizes = engine["partition_candidates"]
    return {
        "runs": [r.to_json() for r in runs],
        "summary": summary(runs),
        "speedup_vs_local": round(local_fastest.wall_s / fastest.wall_s, 3),
        "engine": engine,
        "per_partition_s": {
            "min": min(seconds),
            "median": statistics.median(seconds),
            "max": max(seconds),
            "per_100k_candidates_s": round(100_000 * sum(seconds) / sum(sizes), 2),
        },
        "same_sites_csv": (scenario.folder / "out" / "sites.csv").read_bytes()
        == (scenario.folder / "out-dask" / "sites.csv").read_bytes(),
    }


def run_baseline(scenario: Scenario, repeat: int) -> MeasuredRun:
    """One measured run of the expert baseline."""
    name = f"baseline-{repeat}"
    command = [sys.executable, "-m", "bench.baseline_county", str(scenario.config)]
    command += ["--out", str(scenario.folder / "baseline-out")]
    command += ["--events", str(_events(scenario, name))]
    return _measure(command, name, scenario)


def run_profiled(scenario: Scenario, raw: Path) -> dict[str, Any]:
    """One more product run under py-spy; print and return its top functions."""
    command = [sys.executable, "-m", "bench._county_probe", str(_events(scenario, "profiled"))]
    command += ["run", str(scenario.config), "--out", str(scenario.folder / "out")]
    raw.parent.mkdir(parents=True, exist_ok=True)
    log = scenario.folder / "logs" / "profiled.log"
    wall_s = profile(command, raw.resolve(), log, scenario.folder, _env())
    summary = {"raw": str(raw), "wall_s": round(wall_s, 1), **summarise(raw)}
    print(f"\nprofiled run (py-spy, untimed): {wall_s:.1f} s; collapsed stacks: {raw}")
    print(render_profile(summary))
    return summary


def output_sizes(folder: Path) -> dict[str, int]:
    """Bytes of each file the run wrote."""
    return {p.name: p.stat().st_size for p in sorted(folder.iterdir()) if p.is_file()}


def summary(runs: list[MeasuredRun]) -> dict[str, float]:
    """Min and median wall and CPU time, and the largest peak, over repeated runs."""
    walls = [r.wall_s for r in runs]
    cpus = [r.cpu_s for r in runs]
    return {
        "wall_s_min": round(min(walls), 2),
        "wall_s_median": round(statistics.median(walls), 2),
        "cpu_s_min": round(min(cpus), 2),
        "cpu_s_median": round(statistics.median(cpus), 2),
        "peak_bytes_max": max(r.peak_bytes for r in runs),
        "runs": len(runs),
    }


def generate(args: argparse.Namespace) -> Scenario:
    """Generate the scenario in a child process (its memory is not kept), then open it."""
    command = [sys.executable, "-m", "bench._scenario", "--parcels", args.parcels]
    command += ["--workdir", str(args.workdir), "--format", args.format]
    command += ["--stress"] if args.stress else []
    subprocess.run(command, check=True, env=_env())
    return ensure_scenario(args.parcels, args.stress, args.workdir, args.format, log=print)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(
        prog="python -m bench.county", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--parcels", choices=["1k", "10k", "100k", "1m"], default="10k",
                        help="scenario size (1k: a small test county)")  # fmt: skip
    parser.add_argument("--stress", action="store_true", help="1M-junction grid network")
    parser.add_argument("--no-baseline", action="store_true", help="skip the expert baseline")
    parser.add_argument("--workdir", type=Path, default=DEFAULT_WORKDIR, help="data folder")
    parser.add_argument("--json", type=Path, help="write every figure to this JSON file")
    parser.add_argument("--repeat", type=int, default=1, help="timed runs of each (min, median)")
    parser.add_argument("--cold", action="store_true", help="rebuild the graph caches first")
    parser.add_argument("--format", choices=["parquet", "gpkg"], default="parquet",
                        help="parcel file the config reads")  # fmt: skip
    parser.add_argument("--force", action="store_true", help="skip the memory check")
    parser.add_argument("--engine", choices=["local", "dask"], default="local",
                        help="dask: also run on a LocalCluster, speed-up printed")  # fmt: skip
    parser.add_argument("--workers", type=int, default=2, help="--engine dask: cluster workers")
    parser.add_argument(
        "--partitions", type=int, help="--engine dask: partitions (default: the product's)"
    )
    parser.add_argument("--profile", type=Path, metavar="FILE",
                        help="then profile one more (untimed) product run with py-spy: "
                        "collapsed stacks to FILE, top 15 functions printed")  # fmt: skip
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Run the benchmark; print the table; return (and optionally write) the figures."""
    args = parse_args(argv)
    check_memory(args.parcels, args.force)
    start_state = machine_state()
    started = time.perf_counter()
    scenario = generate(args)
    (scenario.folder / "logs").mkdir(exist_ok=True)
    graphs = prepare_graphs(scenario, args.cold, not args.no_baseline)
    product: list[MeasuredRun] = []
    baseline: list[MeasuredRun] = []
    dask: list[MeasuredRun] = []
    engine = dask_options(args)
    for repeat in range(1, args.repeat + 1):
        product.append(run_product(scenario, repeat))
        if engine is not None:
            dask.append(run_product(scenario, repeat, engine))
        if not args.no_baseline:
            baseline.append(run_baseline(scenario, repeat))
    params = scenario.road_params
    result: dict[str, Any] = {
        "bench": "county",
        "parcels": args.parcels,
        "stress": args.stress,
        "candidates_format": args.format,
        "scenario": {
            "folder": str(scenario.folder),
            "config": str(scenario.config),
            "parcels": scenario.preset.parcels.n_parcels,
            "network_nodes": params.n_nodes,
            "shape_points": params.shape_points,
            "generation_s": {
                part: json.loads((folder / "manifest.json").read_text()).get("generated_s")
                for part, folder in (
                    ("roads", scenario.roads),
                    ("layers", scenario.layers),
                    ("parcels", scenario.parcels),
                )
            },
        },
        "machine_before": start_state,
        "machine_after": machine_state(),
        "graph_cold_build": graphs,
        "product": [r.to_json() for r in product],
        "baseline": [r.to_json() for r in baseline],
        "product_summary": summary(product),
        "baseline_summary": summary(baseline) if baseline else None,
        "outputs": output_sizes(scenario.folder / "out"),
        "bench_wall_s": round(time.perf_counter() - started, 1),
    }
    if dask:
        result["dask"] = dask_figures(scenario, dask, product)
    print(render(result, product, baseline))
    if dask:
        print(render_dask(result, dask))
    if args.profile is not None:
        result["profile"] = run_profiled(scenario, args.profile)
    text = json.dumps(result, indent=2)
    (scenario.folder / "last-run.json").write_text(text)
    if args.json is not None:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(text)
    return result


if __name__ == "__main__":
    main()
