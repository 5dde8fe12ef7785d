"""The ``siteselect`` command line: one module per command, as rasterio's ``rio``.

The console belongs here and nowhere else: the library logs, and
:mod:`siteselect.cli._common` turns errors into one line (exit code 2),
signals into a clean stop, and steps into spinners with their times.
"""

from __future__ import annotations

import click

from siteselect import __version__
from siteselect.cli._common import OneLineGroup, setup_logging
from siteselect.cli.compare import compare_command
from siteselect.cli.demo_data import demo_data_command
from siteselect.cli.fetch import fetch_command
from siteselect.cli.rescore import rescore_command
from siteselect.cli.run import run_command
from siteselect.cli.schema import schema_command
from siteselect.cli.sensitivity import sensitivity_command
from siteselect.cli.validate import validate_command
from siteselect.cli.weights import weights_command

__all__ = ["cli", "main"]


@click.group(cls=OneLineGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="siteselect")
@click.option("-v", "--verbose", count=True, help="More log output (-vv for debug logs).")
@click.option("-q", "--quiet", is_flag=True, help="Only errors.")
@click.option("--debug", is_flag=True, help="Show tracebacks and debug logs.")
@click.pass_context
def cli(ctx: click.Context, verbose: int, quiet: bool, debug: bool) -> None:
    """Score candidate sites (parcels) for a new hospital against weighted GIS criteria."""
    ctx.ensure_object(dict)
    ctx.obj.update(debug=debug, quiet=quiet)
    setup_logging(verbose, quiet, debug)


for _command in (
    run_command,
    validate_command,
    schema_command,
    demo_data_command,
    fetch_command,
    weights_command,
    sensitivity_command,
    compare_command,
    rescore_command,
):
    cli.add_command(_command)


def main() -> None:
    """Console-script entry point."""
    cli(obj={})
