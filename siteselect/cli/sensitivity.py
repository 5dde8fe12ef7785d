"""``siteselect sensitivity CONFIG``: how sure the #1 site is under other plausible weights."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click
from rich.table import Table

from siteselect.cli._common import ConsoleReporter, display_path, handle_errors, out_option, stdout

if TYPE_CHECKING:
    from siteselect.decision.sensitivity import SensitivityResult


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value:.1%}"


def _tables(result: SensitivityResult, top_n: int) -> list[Table]:
    acceptability = Table(title="Rank acceptability", title_justify="left")
    for column in ("rank", "candidate", "P(#1)", "P(top 3)", "P(top 10)"):
        acceptability.add_column(column, justify="left" if column == "candidate" else "right")
    for row in result.table_rows()[:top_n]:
        acceptability.add_row(
            "-" if row["rank"] is None else str(row["rank"]),
            str(row["candidate_id"]),
            _pct(row["p_rank1"]),
            _pct(row["p_top3"]),
            _pct(row["p_top10"]),
        )
    tables = [acceptability]
    if result.critical:
        critical = Table(
            title="Smallest change of one weight (others held) that changes #1",
            title_justify="left",
        )
        for column in ("criterion", "weight", "decrease", "increase", "new #1"):
            critical.add_column(
                column, justify="left" if column in ("criterion", "new #1") else "right"
            )
        for change, label in zip(result.critical, result.labels, strict=True):
            nearest = change.nearest
            critical.add_row(
                label,
                f"{change.weight:.3g}",
                _pct(change.decrease_to_flip),
                _pct(change.increase_to_flip),
                "-" if nearest is None else nearest[2],
            )
        tables.append(critical)
    return tables


@click.command("sensitivity")
@click.argument("config", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--draws",
    type=click.IntRange(10, 1_000_000),
    default=2000,
    show_default=True,
    help="Monte Carlo weight draws.",
)
@click.option(
    "--spread",
    "spread_pct",
    type=click.FloatRange(0, 100, min_open=True, max_open=True),
    help="Each weight within +/- PCT percent (default: the config's sensitivity.spread_pct).",
)
@click.option("--seed", type=click.IntRange(min=0), help="Random seed (default: the config's).")
@click.option(
    "--distribution",
    type=click.Choice(["uniform", "dirichlet"]),
    help="Weight draws (default: the config's sensitivity.distribution).",
)
@out_option("Folder for the files (default: the config's outputs.dir).", folder=True)
@click.pass_context
@handle_errors
def sensitivity_command(
    ctx: click.Context,
    config: Path,
    draws: int,
    spread_pct: float | None,
    seed: int | None,
    distribution: str | None,
    out_dir: Path | None,
) -> None:
    """Rank acceptability, critical weights and a tornado chart (CSV and PNG files)."""
    from siteselect._errors import OutputError
    from siteselect.config import load_config
    from siteselect.decision.aggregation import from_config
    from siteselect.decision.sensitivity import Settings, analyse_table
    from siteselect.outputs.sensitivity_files import write_sensitivity_files
    from siteselect.pipeline import run as run_pipeline
    from siteselect.preflight import preflight

    quiet = ctx.obj["quiet"]
    loaded = load_config(config)
    spec = loaded.sensitivity
    settings = Settings(
        draws,
        spread_pct if spread_pct is not None else spec.spread_pct,
        seed if seed is not None else spec.seed,
        distribution or spec.distribution,
    )
    loaded.sensitivity.enabled = False  # the full analysis replaces the quick one
    target = out_dir or loaded.outputs.dir
    assert target is not None
    reporter = ConsoleReporter(quiet)
    with reporter.step("check inputs"):
        preflight(loaded, None, "--out")
    result = run_pipeline(loaded, reporter)
    aggregation = from_config(loaded.aggregation, len(result.criteria))
    with reporter.step(f"weight sensitivity ({settings.draws} draws)"):
        analysis = analyse_table(
            result.candidates, result.criteria, aggregation, settings, with_sweep=True
        )
    if analysis is None:
        raise OutputError(f"{display_path(config)}: every candidate is excluded; nothing to rank")
    with reporter.step("write sensitivity files"):
        try:
            paths = write_sensitivity_files(analysis, target, result.top_n)
        except OSError as exc:
            raise OutputError(f"{target}: cannot write the sensitivity files ({exc})") from None
    if quiet:
        return
    for table in _tables(analysis, result.top_n):
        stdout.print(table)
    stdout.print(analysis.statement, highlight=False, markup=False)
    for path in paths:
        stdout.print(f"wrote {display_path(path)}", highlight=False)
