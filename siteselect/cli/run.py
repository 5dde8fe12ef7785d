"""``siteselect run CONFIG``: score, rank and write the outputs."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click
from rich.table import Table

from siteselect.cli._common import ConsoleReporter, display_path, handle_errors, stdout

if TYPE_CHECKING:
    import pandas as pd

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


@click.command("run")
@click.argument("config", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--out",
    "out_dir",
    type=click.Path(path_type=Path),
    help="Output folder (default: the config's outputs.dir); replaced as a whole.",
)
@click.pass_context
@handle_errors
def run_command(ctx: click.Context, config: Path, out_dir: Path | None) -> None:
    """Score, rank and write sites.gpkg, sites.csv, map.html, report.html and run.json."""
    from siteselect.config import load_config
    from siteselect.outputs import write_outputs
    from siteselect.pipeline import run as run_pipeline
    from siteselect.preflight import preflight

    quiet = ctx.obj["quiet"]
    loaded = load_config(config)
    target = out_dir or loaded.outputs.dir
    assert target is not None
    reporter = ConsoleReporter(quiet)
    with reporter.step("check inputs and output folder"):
        preflight(loaded, out_dir, "--out")
    result = run_pipeline(loaded, reporter)
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
        for path in files:
            stdout.print(f"wrote {display_path(path)}", highlight=False)
