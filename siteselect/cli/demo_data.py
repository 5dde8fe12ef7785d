"""``siteselect demo-data``: write the deterministic demo region."""

from __future__ import annotations

from pathlib import Path

import click

from siteselect.cli._common import ConsoleReporter, handle_errors, stdout


@click.command("demo-data")
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("layers/demo"),
    show_default=True,
    help="Folder to write.",
)
@click.pass_context
@handle_errors
def demo_data_command(ctx: click.Context, out_dir: Path) -> None:
    """Generate the embedded San Diego-modelled demo region (deterministic)."""
    from siteselect.demo import generate

    with ConsoleReporter(ctx.obj["quiet"]).step("generate demo region"):
        files = generate(out_dir)
    if not ctx.obj["quiet"]:
        for path in files:
            stdout.print(f"wrote {path}", highlight=False)
