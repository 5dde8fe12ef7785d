"""``siteselect weights CONFIG``: the criterion weights a run will use (and the AHP consistency)."""

from __future__ import annotations

from pathlib import Path

import click
from rich.table import Table

from siteselect.cli._common import handle_errors, stdout


@click.command("weights")
@click.argument("config", type=click.Path(dir_okay=False, path_type=Path))
@click.pass_context
@handle_errors
def weights_command(ctx: click.Context, config: Path) -> None:
    """Print each criterion's weight, normalised to sum 1 (and AHP's consistency ratio)."""
    from siteselect.config import load_config
    from siteselect.decision.scoring import weight_shares
    from siteselect.decision.weights import judgement_text

    loaded = load_config(config, check_files=False)
    names = list(loaded.criteria)
    configured = [float(loaded.criteria[n].weight or 0.0) for n in names]
    shares = weight_shares(configured)
    spec = loaded.weights
    ahp = spec.result if spec is not None else None
    source = "AHP pairwise judgements" if ahp is not None else "each criterion's weight"
    table = Table(title=f"{config}: weights from {source}", title_justify="left")
    table.add_column("criterion")
    table.add_column("label")
    if ahp is None:
        table.add_column("weight", justify="right")
    table.add_column("normalised", justify="right")
    for name, weight, share in zip(names, configured, shares, strict=True):
        label = loaded.criteria[name].label or ""
        cells = [name, label] + ([] if ahp is not None else [f"{weight:g}"]) + [f"{share:.3f}"]
        table.add_row(*cells)
    stdout.print(table)
    aggregation = loaded.aggregation.method
    if ahp is not None and spec is not None:
        stdout.print(
            f"AHP: lambda_max {ahp.lambda_max:.3f}, CI {ahp.ci:.3f}, consistency ratio "
            f"{ahp.cr:.3f} (Saaty: revise above {spec.max_consistency_ratio:g})",
            highlight=False,
        )
        if ahp.worst is not None:
            stdout.print(
                f"most inconsistent judgement: {ahp.worst.row} vs {ahp.worst.column} = "
                f"{judgement_text(ahp.worst.value)} (the weights imply {ahp.implied:.2g})",
                highlight=False,
            )
    stdout.print(f"aggregation: {aggregation}", highlight=False)
