"""The one table ``python -m bench.county`` prints.

Units: seconds of wall and CPU time; memory and file sizes in decimal units
(1 MB = 10^6 bytes, 1 GB = 10^9 bytes). CPU time counts the process and the
worker processes it waited for, so CPU > wall means more than one core worked.
"""

from __future__ import annotations

from typing import Any

from bench._county_measure import MeasuredRun, StepFigure

TARGETS = {
    ("1m", False): {"wall_s": 60.0, "peak_bytes": 6e9, "vs_baseline": 2.0},
    ("10k", False): {"wall_s": 15.0},
    ("1m", True): {"wall_s": 120.0},
}
"""Issue 11's targets on 2 cores, graph cached: (size, stress) -> limits."""

_WIDTH = 44


def size_text(n_bytes: float | None) -> str:
    """``539.0 MB``, ``8.10 GB`` (decimal units); ``-`` for None."""
    if n_bytes is None:
        return "-"
    if n_bytes >= 1e9:
        return f"{n_bytes / 1e9:.2f} GB"
    if n_bytes >= 1e6:
        return f"{n_bytes / 1e6:.1f} MB"
    return f"{n_bytes / 1e3:.0f} kB"


def _row(name: str, seconds: float | None, cpu: float | None, peak: float | None) -> str:
    wall = "-" if seconds is None else f"{seconds:8.2f}"
    cpu_text = "-" if cpu is None else f"{cpu:8.2f}"
    return f"{name[:_WIDTH]:<{_WIDTH}} {wall:>8} {cpu_text:>8} {size_text(peak):>10}"


def _step_row(step: StepFigure) -> str:
    name = "  " * step.depth + step.name
    return _row(name, step.seconds, step.cpu_s, step.peak_bytes)


def render_steps(run: MeasuredRun) -> str:
    """The step rows of one run (what a failed or stopped run got through)."""
    header = f"{'step':<{_WIDTH}} {'wall s':>8} {'CPU s':>8} {'peak RSS':>10}"
    return "\n".join([header, *(_step_row(step) for step in run.steps)])


def _over_runs(summary: dict[str, Any]) -> str:
    return (
        f"  over {summary['runs']} runs: wall min {summary['wall_s_min']:.2f} s, median "
        f"{summary['wall_s_median']:.2f} s; CPU min {summary['cpu_s_min']:.2f} s, median "
        f"{summary['cpu_s_median']:.2f} s"
    )


def _fastest(runs: list[MeasuredRun]) -> MeasuredRun:
    return min(runs, key=lambda r: r.wall_s)


def _targets(result: dict[str, Any], product: MeasuredRun, ratio: float | None) -> str | None:
    limits = TARGETS.get((result["parcels"], result["stress"]))
    if limits is None:
        return None
    checks = []
    if "wall_s" in limits:
        ok = product.wall_s <= limits["wall_s"]
        checks.append(f"total <= {limits['wall_s']:g} s: {'met' if ok else 'NOT met'}")
    if "peak_bytes" in limits:
        ok = product.peak_bytes <= limits["peak_bytes"]
        checks.append(f"peak <= {size_text(limits['peak_bytes'])}: {'met' if ok else 'NOT met'}")
    if "vs_baseline" in limits and ratio is not None:
        ok = ratio <= 1 / limits["vs_baseline"]
        checks.append(
            f">= {limits['vs_baseline']:g}x faster than the baseline: {'met' if ok else 'NOT met'}"
        )
    return "targets (issue 11): " + "; ".join(checks)


def _cold_build(name: str, record: dict[str, Any] | None) -> str:
    if record is None:
        return f"{name} not recorded (built outside the bench: use --cold to measure it)"
    when = "now" if record["built_now"] else f"recorded {record['measured']['time_utc'][:10]}"
    return f"{name} {record['seconds']:.1f} s, peak {size_text(record['peak_bytes'])} ({when})"


def render(result: dict[str, Any], product: list[MeasuredRun], baseline: list[MeasuredRun]) -> str:
    """The table: product steps, total, outputs, baseline, ratio, targets, cold builds."""
    scenario = result["scenario"]
    before, after = result["machine_before"], result["machine_after"]
    network = "stress grid" if result["stress"] else "county-like network"
    shape = scenario["shape_points"] / scenario["network_nodes"]
    lines = [
        f"County benchmark: {scenario['parcels']:,} parcels ({result['candidates_format']}), "
        f"{network} of {scenario['network_nodes']:,} nodes ({shape:.0%} shape points), "
        "graph cache warm",
        f"siteselect {before['commit']}{' + uncommitted changes' if before['dirty'] else ''}; "
        f"{before['cpus']} CPUs; load {' '.join(before['loadavg'])} before, "
        f"{' '.join(after['loadavg'])} after; {before['mem_available_gib']} GiB available",
        "",
        f"{'step (siteselect run CONFIG --out DIR)':<{_WIDTH}} {'wall s':>8} {'CPU s':>8} "
        f"{'peak RSS':>10}",
    ]
    best = _fastest(product)
    lines += [_step_row(step) for step in best.steps]
    lines.append(_row("total", best.wall_s, best.cpu_s, best.peak_bytes))
    if len(product) > 1:
        lines.append(_over_runs(result["product_summary"]))
    outputs = result["outputs"]
    files = ", ".join(f"{name} {size_text(size)}" for name, size in outputs.items())
    lines.append(f"outputs: {files} (total {size_text(sum(outputs.values()))})")
    ratio = None
    if baseline:
        fastest = _fastest(baseline)
        lines.append(_row("expert baseline (bench/baseline_county.py)", fastest.wall_s,
                          fastest.cpu_s, fastest.peak_bytes))  # fmt: skip
        if len(baseline) > 1:
            lines.append(_over_runs(result["baseline_summary"]))
        ratio = best.wall_s / fastest.wall_s
        memory = best.peak_bytes / fastest.peak_bytes
        cpu = best.cpu_s / fastest.cpu_s
        lines.append(
            f"siteselect / baseline: {ratio:.2f}x the wall time ({cpu:.2f}x the CPU time), "
            f"{memory:.2f}x the peak memory"
        )
    targets = _targets(result, best, ratio)
    if targets:
        lines.append(targets)
    builds = result["graph_cold_build"]
    cold = [_cold_build("siteselect graph cache, cold build", builds.get("product"))]
    if "baseline" in builds:
        cold.append(_cold_build("baseline graph", builds["baseline"]))
    lines.append("; ".join(cold))
    return "\n".join(lines)


def render_dask(result: dict[str, Any], runs: list[MeasuredRun]) -> str:
    """The Dask engine's run: steps, partitions, workers' memory, speed-up over local."""
    figures = result["dask"]
    engine = figures["engine"]
    best = _fastest(runs)
    lines = [
        "",
        f"{'step (--engine dask, ' + str(engine['workers']) + ' workers)':<{_WIDTH}} "
        f"{'wall s':>8} {'CPU s':>8} {'peak RSS':>10}",
    ]
    lines += [_step_row(step) for step in best.steps]
    lines.append(_row("total (client and workers)", best.wall_s, best.cpu_s, best.peak_bytes))
    if len(runs) > 1:
        lines.append(_over_runs(figures["summary"]))
    per = figures["per_partition_s"]
    sizes = engine["partition_candidates"]
    lines.append(
        f"partitions: {engine['partitions']} of {min(sizes):,}-{max(sizes):,} candidates; "
        f"measured in {per['min']:.2f}-{per['max']:.2f} s each (median {per['median']:.2f} s, "
        f"{per['per_100k_candidates_s']:.2f} s per 100,000 candidates on one worker); "
        f"study broadcast {engine['broadcast_s']:.2f} s"
    )
    memory = ", ".join(f"{w} {v:,.0f} MB" for w, v in engine["peak_rss_mb_by_worker"].items())
    lines.append(f"peak memory per worker: {memory}")
    lines.append(
        f"speed-up over the local engine: {figures['speedup_vs_local']:.2f}x; "
        f"sites.csv {'identical' if figures['same_sites_csv'] else 'DIFFERENT'} to the local run's"
    )
    return "\n".join(lines)
