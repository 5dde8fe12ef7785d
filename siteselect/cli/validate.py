"""``siteselect validate CONFIG``: check a config and open every layer, without computing."""

from __future__ import annotations

from pathlib import Path

import click
from rich.table import Table

from siteselect.cli._common import handle_errors, out_option, stdout


@click.command("validate")
@click.argument("config", type=click.Path(dir_okay=False, path_type=Path))
@out_option("Check this output folder instead of the config's outputs.dir.")
@click.pass_context
@handle_errors
def validate_command(ctx: click.Context, config: Path, out_dir: Path | None) -> None:
    """Check the config, what run checks before computing, and open every layer."""
    from siteselect.config import load_config
    from siteselect.network import read_road_table
    from siteselect.preflight import preflight
    from siteselect.study.layers import probe_layer

    loaded = load_config(config)
    checks = preflight(loaded, out_dir, "--out")
    if not ctx.obj["quiet"]:
        summary = Table(title=f"{config}: checks before a run", title_justify="left")
        summary.add_column("check")
        summary.add_column("result")
        for check in checks:
            summary.add_row(check.what, check.detail)
        stdout.print(summary)
    table = Table(title=f"{config}: valid", title_justify="left")
    for column in ("layer", "kind", "features/bands", "CRS", "detail"):
        table.add_column(column)
    for name, spec in loaded.all_layer_specs().items():
        info = probe_layer(spec, name)
        table.add_row(name, info.kind, str(info.count), info.crs, info.detail)
    network = loaded.network
    if network is not None and network.source is not None and network.source.exists():
        roads = read_road_table(network.source, network.network_type)
        detail = f"{network.source.name}, {roads.n_nodes} nodes"
        table.add_row("network", "roads", f"{roads.n_edges} edges", "EPSG:4326", detail)
    elif network is not None:
        table.add_row("network", "download", "-", "EPSG:4326", "fetched on first run")
    if not ctx.obj["quiet"]:
        stdout.print(table)
