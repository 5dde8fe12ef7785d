"""``siteselect fetch CONFIG``: download the road network once, for offline runs."""

from __future__ import annotations

from pathlib import Path

import click

from siteselect.cli._common import ConsoleReporter, handle_errors, stdout


@click.command("fetch")
@click.argument("config", type=click.Path(dir_okay=False, path_type=Path))
@click.pass_context
@handle_errors
def fetch_command(ctx: click.Context, config: Path) -> None:
    """Download the config's road network (network.place or the study area) for offline runs."""
    from siteselect._errors import ConfigError
    from siteselect.config import load_config
    from siteselect.network import fetch_network
    from siteselect.study import load_study

    loaded = load_config(config)
    spec = loaded.network
    if spec is None or not spec.is_online:
        raise ConfigError(
            f"{config}: network: fetch needs 'place' or 'polygon_from_study_area: true' "
            "(a 'source' file is already offline)"
        )
    study = load_study(loaded) if spec.polygon_from_study_area else None
    area = None
    if study is not None and study.study_area is not None:
        area = study.study_area.geometry.union_all()
    with ConsoleReporter(ctx.obj["quiet"]).step("download road network"):
        path = fetch_network(spec, None if study is None else study.crs, area)
    if not ctx.obj["quiet"]:
        stdout.print(f"wrote {path}", highlight=False)
