"""``siteselect run CONFIG``: score, rank and write the outputs."""

from __future__ import annotations

import os
import shlex
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

import click
from rich.table import Table

from siteselect.cli._common import ConsoleReporter, display_path, handle_errors, out_option, stdout

if TYPE_CHECKING:
    import pandas as pd

    from siteselect.config.rerun import Rerun
    from siteselect.decision.results import RunResult


def _top_table(result: RunResult) -> Table:
    """Top sites with their total and their three largest weighted contributions."""
    table = Table(title=f"Top {result.top_n}: {result.title}", title_justify="left")
    table.add_column("rank", justify="right", no_wrap=True)
    table.add_column("candidate", no_wrap=True, max_width=36, overflow="ellipsis")
    table.add_column("score", justify="right", no_wrap=True)
    table.add_column("acres", justify="right", no_wrap=True)
    table.add_column("largest contributions")
    for _, row in result.top().iterrows():
        parts = sorted(((row[f"contrib_{c.name}"], c.name) for c in result.criteria), reverse=True)[
            :3
        ]
        drivers = ", ".join(f"{name} {value:.2f}" for value, name in parts)
        table.add_row(
            str(row["rank"]),
            _site_label(row),
            f"{row['total_score']:.3f}",
            f"{row['area_acres']:.1f}",
            drivers,
        )
    return table


def _site_label(row: pd.Series) -> str:
    """``candidate_id site_name`` (the id first: a narrow console cuts the name's end)."""
    name = row.get("site_name", "")
    name = name.strip() if isinstance(name, str) else ""
    return f"{row['candidate_id']} {name}".strip()


def _exclusion_table(result: RunResult) -> Table | None:
    """Excluded candidates by cause; the 'only' column adds up to the total."""
    account = result.exclusions
    if account is None or account.excluded == 0:
        return None
    table = Table(
        title=f"Excluded: {account.excluded:,} of {account.candidates:,}", title_justify="left"
    )
    table.add_column("cause")
    table.add_column("excludes", justify="right")
    table.add_column("only this", justify="right")
    for cause in account.causes:
        table.add_row(cause.key, f"{cause.fails:,}", f"{cause.only:,}")
    table.add_row("several causes", "", f"{account.by_several_causes:,}")
    table.add_row("total", "", f"{account.excluded:,}", style="bold")
    return table


def _command_line(config: Path, out_dir: Path | None) -> str:
    """The command as typed (``siteselect ...``); rebuilt from the arguments when the
    process is not the siteselect command (a test runner calling the command)."""
    program = Path(sys.argv[0]) if sys.argv else Path()
    package_main = Path(__file__).resolve().parents[1] / "__main__.py"
    if program.name == "siteselect" or (program.is_file() and program.resolve() == package_main):
        return shlex.join(["siteselect", *sys.argv[1:]])
    return shlex.join(
        ["siteselect", "run", str(config), *(["--out", str(out_dir)] if out_dir else [])]
    )


@click.command("run")
@click.argument("config", type=click.Path(dir_okay=False, path_type=Path))
@out_option("Output folder (default: the config's outputs.dir); replaced as a whole.")
@click.option(
    "--engine",
    type=click.Choice(["local", "dask"]),
    default="local",
    show_default=True,
    help="Where to measure: this process, or partitioned over a Dask cluster.",
)
@click.option(
    "--scheduler",
    metavar="ADDRESS",
    default=None,
    help="With --engine dask: a running Dask scheduler (tcp://host:8786); "
    "default: a local cluster on this machine.",
)
@click.option(
    "--workers",
    type=int,
    default=None,
    help="With --engine dask and no --scheduler: workers of the local cluster "
    "(default: one per CPU).",
)
@click.option(
    "--partitions",
    type=int,
    default=None,
    help="With --engine dask: partitions of the candidates (default: at least two per "
    "worker, at most 100,000 candidates each).",
)
@click.pass_context
@handle_errors
def run_command(
    ctx: click.Context,
    config: Path,
    out_dir: Path | None,
    engine: str,
    scheduler: str | None,
    workers: int | None,
    partitions: int | None,
) -> None:
    """Score, rank and write sites.gpkg, sites.parquet, sites.csv, map.html, report.html
    and run.json.

    CONFIG is a YAML config, or the run.json of an earlier run: that run's config
    is run again (paths relative to the run.json), with a warning naming any
    input file that changed since.

    With --engine dask the candidates are cut into spatial partitions measured
    on the workers of a Dask cluster (pip install 'siteselect[dask]'); the
    results are the same as the local engine's.
    """
    from siteselect.config import load_config
    from siteselect.config.rerun import is_run_json, load_rerun
    from siteselect.engine import EngineOptions
    from siteselect.outputs import write_outputs
    from siteselect.pipeline import run as run_pipeline
    from siteselect.preflight import preflight

    quiet = ctx.obj["quiet"]
    engine_options = EngineOptions(engine, scheduler, workers, partitions)  # type: ignore[arg-type]
    engine_options.require()
    if engine_options.distributed and not ctx.obj.get("debug"):
        # Dask's scheduler and workers log every connection at INFO: the console shows
        # siteselect's steps, and Dask's warnings (read when distributed is imported)
        os.environ.setdefault("DASK_LOGGING__DISTRIBUTED", "warning")
    rerun = load_rerun(config) if is_run_json(config) else None
    loaded = rerun.config if rerun is not None else load_config(config)
    target = out_dir or loaded.outputs.dir
    assert target is not None
    reporter = ConsoleReporter(quiet)
    start = time.perf_counter()
    with reporter.step("check inputs and output folder"):
        preflight(loaded, out_dir, "--out")
    checked_s = round(time.perf_counter() - start, 3)
    result = run_pipeline(loaded, reporter, engine=engine_options)
    _record_invocation(result, _command_line(config, out_dir), checked_s, rerun)
    with reporter.step("write outputs"):
        files = write_outputs(result, target)
    if not quiet:
        counts = result.manifest["counts"]
        stdout.print(_top_table(result))
        exclusions = _exclusion_table(result)
        if exclusions is not None:
            stdout.print(exclusions)
        stdout.print(
            f"{counts['candidates']} candidates, {counts['excluded']} excluded, "
            f"{counts['ranked']} ranked",
            highlight=False,
        )
        if result.exclusions is not None and result.exclusions.excluded:
            stdout.print(result.exclusions.summary(), highlight=False, markup=False)
        if result.sensitivity and result.sensitivity.get("statement"):
            stdout.print(
                f"How sure: {result.sensitivity['statement']}", highlight=False, markup=False
            )
        for path in files:
            stdout.print(f"wrote {display_path(path)}", highlight=False)


def _record_invocation(
    result: RunResult, command_line: str, checked_s: float, rerun: Rerun | None
) -> None:
    """Put the command line, the checks' time and the re-run's origin into the manifest."""
    manifest = result.manifest
    manifest["command_line"] = command_line
    manifest["timings_s"] = {
        "check inputs and output folder": checked_s,
        **manifest.get("timings_s", {}),
    }
    if rerun is not None:
        manifest["rerun_of"] = rerun.record()
