"""``siteselect compare RUN_A RUN_B``: how the top sites and the inputs differ between two runs."""

from __future__ import annotations

from pathlib import Path

import click
from rich.table import Table

from siteselect.cli._common import display_path, handle_errors, out_option, stdout


@click.command("compare")
@click.argument("run_a", type=click.Path(path_type=Path))
@click.argument("run_b", type=click.Path(path_type=Path))
@click.option("--top", "top_n", type=click.IntRange(min=1), help="Top N (default: RUN_B's top_n).")
@out_option("Folder for compare.csv (default: RUN_B).", folder=True)
@click.pass_context
@handle_errors
def compare_command(
    ctx: click.Context, run_a: Path, run_b: Path, top_n: int | None, out_dir: Path | None
) -> None:
    """Sites entering and leaving the top N, rank changes, and what differs (compare.csv)."""
    from siteselect.decision.compare import (
        compare_runs,
        load_run,
        run_differences,
        write_compare_csv,
    )

    a, b = load_run(run_a), load_run(run_b)
    n = top_n or b.top_n
    table = compare_runs(a, b, n)
    differences = run_differences(a, b)
    path = (out_dir or run_b) / "compare.csv"
    write_compare_csv(table, path)
    if ctx.obj["quiet"]:
        return
    sites = Table(
        title=f"Top {n}: A = {display_path(run_a)}, B = {display_path(run_b)}", title_justify="left"
    )
    for column in ("site", "rank A", "rank B", "change", "status"):
        sites.add_column(
            column, justify="right" if column.startswith(("rank", "change")) else "left"
        )
    for row in table.itertuples(index=False):
        name = getattr(row, "site_name", "") or ""
        site = f"{row.candidate_id} {name}".strip()
        change = (
            ""
            if row.rank_change is None or str(row.rank_change) == "<NA>"
            else f"{int(row.rank_change):+d}"
        )
        sites.add_row(site, _rank(row.rank_a), _rank(row.rank_b), change, str(row.status))
    stdout.print(sites)
    if differences:
        diff = Table(title="What differs", title_justify="left")
        for column in ("what", "A", "B"):
            diff.add_column(column, overflow="fold")
        for what, va, vb in differences:
            diff.add_row(what, va, vb)
        stdout.print(diff)
    else:
        stdout.print("no difference in weights, criteria, constraints or inputs", highlight=False)
    entered = int((table["status"] == "entered").sum())
    left = int((table["status"] == "left").sum())
    stdout.print(f"{entered} entered and {left} left the top {n}", highlight=False)
    stdout.print(f"wrote {display_path(path)}", highlight=False)


def _rank(value: object) -> str:
    return "-" if value is None or str(value) == "<NA>" else str(value)
