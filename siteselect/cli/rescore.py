"""``siteselect rescore CONFIG``: new weights, scored from the criteria cache in seconds."""

from __future__ import annotations

from pathlib import Path

import click

from siteselect.cli._common import ConsoleReporter, display_path, handle_errors, out_option, stdout
from siteselect.cli.run import _exclusion_table, _top_table


@click.command("rescore")
@click.argument("config", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--weight",
    "weight_options",
    multiple=True,
    metavar="NAME=VALUE",
    help="A criterion's weight (repeatable); overrides the config and --weights-file.",
)
@click.option(
    "--weights-file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="YAML file 'weights: {criterion: number, ...}' (the map's 'copy weights as YAML').",
)
@out_option("Output folder (default: the config's outputs.dir); replaced as a whole.")
@click.pass_context
@handle_errors
def rescore_command(
    ctx: click.Context,
    config: Path,
    weight_options: tuple[str, ...],
    weights_file: Path | None,
    out_dir: Path | None,
) -> None:
    """Re-score from the criteria cache of a previous 'siteselect run CONFIG' with new weights.

    Transforms, constraint bounds, weights and ranking are applied again; nothing
    is measured. Writes the same files as 'run'.
    """
    from siteselect.config import load_config
    from siteselect.outputs import write_outputs
    from siteselect.outputs.files import check_output_folder
    from siteselect.rescore import (
        describe_weights,
        parse_weight_options,
        read_weights_file,
        rescore,
    )

    quiet = ctx.obj["quiet"]
    loaded = load_config(config)
    weights = read_weights_file(weights_file, loaded) if weights_file is not None else {}
    weights.update(parse_weight_options(weight_options, loaded))
    target = out_dir or loaded.outputs.dir
    assert target is not None
    check_output_folder(target, "--out" if out_dir is not None else None)
    reporter = ConsoleReporter(quiet)
    where = "--weights-file" if weights_file is not None and not weight_options else "--weight"
    result = rescore(loaded, weights, reporter, where)
    with reporter.step("write outputs"):
        files = write_outputs(result, target)
    if not quiet:
        stdout.print(f"weights: {describe_weights(loaded, weights)}", highlight=False)
        stdout.print(_top_table(result))
        exclusions = _exclusion_table(result)
        if exclusions is not None:
            stdout.print(exclusions)
        for path in files:
            stdout.print(f"wrote {display_path(path)}", highlight=False)
