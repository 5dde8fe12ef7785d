"""``siteselect schema``: the JSON schema of the config file."""

from __future__ import annotations

import json

import click

from siteselect.cli._common import handle_errors


@click.command("schema")
@handle_errors
def schema_command() -> None:
    """Print the JSON schema of the config file."""
    from siteselect.config import config_schema

    click.echo(json.dumps(config_schema(), indent=2))
