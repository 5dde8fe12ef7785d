"""The ``siteselect`` command line (the console belongs here, nowhere else).

Errors a user can fix print ONE line, ``error: <what, where, how to fix>``, on
stderr and exit with code 2; ``--debug`` shows the traceback instead. Usage
errors (an unknown option, a missing argument) are one line with exit code 2
too, without click's usage block. SIGTERM (``timeout``, docker stop, CI
cancellation) is handled like Ctrl-C: the staging folder is removed, the
previous results stay, one line, exit code 143 (130 for SIGINT).
"""

from __future__ import annotations

import contextlib
import functools
import json
import logging
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import click
from rich.console import Console
from rich.logging import RichHandler
from rich.table import Table

from siteselect import __version__
from siteselect._errors import SiteSelectError
from siteselect._yaml import display_path

F = TypeVar("F", bound=Callable[..., Any])
EXIT_USER_ERROR = 2
EXIT_INTERNAL_ERROR = 1

stdout = Console()
stderr = Console(stderr=True)


class ConsoleReporter:
    """Shows each pipeline step with a spinner and its time."""

    def __init__(self, quiet: bool) -> None:
        self.quiet = quiet

    @contextlib.contextmanager
    def step(self, name: str) -> Iterator[None]:
        if self.quiet:
            yield
            return
        start = time.perf_counter()
        with stderr.status(f"{name}..."):
            yield
        stderr.print(f"[green]✓[/] {name} [dim]({time.perf_counter() - start:.1f} s)[/]")


def _setup_logging(verbose: int, quiet: bool, debug: bool) -> None:
    level = logging.WARNING
    if verbose == 1:
        level = logging.INFO
    if verbose >= 2 or debug:
        level = logging.DEBUG
    if quiet:
        level = logging.ERROR
    handler = RichHandler(console=stderr, show_path=debug, show_time=False, markup=False)
    # Other libraries (GDAL through rasterio/pyogrio, osmnx) log warnings too: shown
    # normally, silenced by -q like ours, so that -q leaves errors alone on stderr.
    logging.basicConfig(
        level=logging.ERROR if quiet else logging.WARNING,
        handlers=[handler],
        format="%(message)s",
        force=True,
    )
    logging.getLogger("siteselect").setLevel(level)
    logging.captureWarnings(True)  # Python warnings (pyogrio's RuntimeWarning...) as log lines


class Terminated(KeyboardInterrupt):
    """Raised by the SIGTERM handler so that cleanup runs as for Ctrl-C."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


def _raise_terminated(signum: int, frame: object) -> None:
    raise Terminated(signum)


@contextlib.contextmanager
def _sigterm_as_interrupt() -> Iterator[None]:
    """Turn SIGTERM into :class:`Terminated` while a command runs (main thread only)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, _raise_terminated)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _interrupted(exc: KeyboardInterrupt) -> None:
    """One line on stderr and exit 128 + the signal number."""
    signum = getattr(exc, "signum", signal.SIGINT)
    name = signal.Signals(signum).name
    written = getattr(exc, "results_written", None)
    if written is not None:
        what = f"after the new results were written to {display_path(Path(written))}"
    else:
        what = "the previous results, if any, are unchanged"
    stderr.print(f"interrupted by {name}; {what}", markup=False, highlight=False, soft_wrap=True)
    sys.exit(128 + int(signum))


def _handle_errors(command: F) -> F:
    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        debug = click.get_current_context().obj.get("debug", False)
        try:
            with _sigterm_as_interrupt():
                return command(*args, **kwargs)
        except SiteSelectError as exc:
            if debug:
                for message in getattr(exc, "all_messages", [])[1:]:
                    stderr.print(f"error: {message}", markup=False, highlight=False)
                raise
            stderr.print(f"error: {exc}", markup=False, highlight=False, soft_wrap=True)
            sys.exit(EXIT_USER_ERROR)
        except KeyboardInterrupt as exc:
            _interrupted(exc)
        except Exception as exc:
            if debug:
                raise
            stderr.print(
                f"error: internal error: {type(exc).__name__}: {exc} "
                "(rerun with --debug for the traceback and please report it)",
                markup=False,
                highlight=False,
                soft_wrap=True,
            )
            sys.exit(EXIT_INTERNAL_ERROR)

    return wrapper  # type: ignore[return-value]


class _OneLineGroup(click.Group):
    """A click group whose usage errors are one ``error:`` line with exit code 2."""

    def main(self, *args: Any, standalone_mode: bool = True, **kwargs: Any) -> Any:
        if not standalone_mode:
            return super().main(*args, standalone_mode=False, **kwargs)
        try:
            code = super().main(*args, standalone_mode=False, **kwargs)
        except click.exceptions.NoArgsIsHelpError as exc:  # bare `siteselect`: the help
            exc.show()
            sys.exit(exc.exit_code)
        except click.ClickException as exc:
            stderr.print(
                f"error: {_usage_message(exc)}", markup=False, highlight=False, soft_wrap=True
            )
            sys.exit(exc.exit_code)
        except click.Abort:
            stderr.print("interrupted by SIGINT", markup=False, highlight=False)
            sys.exit(130)
        sys.exit(code if isinstance(code, int) else 0)


def _usage_message(exc: click.ClickException) -> str:
    """``Missing argument 'CONFIG' (see 'siteselect run --help')`` on one line."""
    message = " ".join(exc.format_message().split()).rstrip(".")
    if isinstance(exc, click.UsageError):
        command = exc.ctx.command_path if exc.ctx is not None else "siteselect"
        message += f" (see '{command} --help')"
    return message


@click.group(cls=_OneLineGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="siteselect")
@click.option("-v", "--verbose", count=True, help="More log output (-vv for debug logs).")
@click.option("-q", "--quiet", is_flag=True, help="Only errors.")
@click.option("--debug", is_flag=True, help="Show tracebacks and debug logs.")
@click.pass_context
def cli(ctx: click.Context, verbose: int, quiet: bool, debug: bool) -> None:
    """Score candidate sites (parcels) for a new hospital against weighted GIS criteria."""
    ctx.ensure_object(dict)
    ctx.obj.update(debug=debug, quiet=quiet)
    _setup_logging(verbose, quiet, debug)


def _top_table(result: Any) -> Table:
    """Top sites with their total and their three largest weighted contributions."""
    table = Table(title=f"Top {result.top_n}: {result.title}", title_justify="left")
    table.add_column("rank", justify="right")
    table.add_column("candidate", no_wrap=True)
    table.add_column("score", justify="right")
    table.add_column("acres", justify="right")
    table.add_column("largest contributions")
    for _, row in result.top().iterrows():
        parts = sorted(((row[f"contrib_{c.name}"], c.name) for c in result.criteria), reverse=True)[
            :3
        ]
        drivers = ", ".join(f"{name} {value:.2f}" for value, name in parts)
        table.add_row(
            str(row["rank"]),
            str(row["candidate_id"]),
            f"{row['total_score']:.3f}",
            f"{row['area_acres']:.1f}",
            drivers,
        )
    return table


def _exclusion_table(result: Any) -> Table | None:
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


@cli.command()
@click.argument("config", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--out",
    "out_dir",
    type=click.Path(path_type=Path),
    help="Output folder (default: the config's outputs.dir); replaced as a whole.",
)
@click.pass_context
@_handle_errors
def run(ctx: click.Context, config: Path, out_dir: Path | None) -> None:
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


@cli.command()
@click.argument("config", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--out",
    "out_dir",
    type=click.Path(path_type=Path),
    help="Check this output folder instead of the config's outputs.dir.",
)
@click.pass_context
@_handle_errors
def validate(ctx: click.Context, config: Path, out_dir: Path | None) -> None:
    """Check the config, what run checks before computing, and open every layer."""
    from siteselect.config import load_config
    from siteselect.layers import probe_layer
    from siteselect.network import read_road_table
    from siteselect.preflight import preflight

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


@cli.command()
@_handle_errors
def schema() -> None:
    """Print the JSON schema of the config file."""
    from siteselect.config import config_schema

    click.echo(json.dumps(config_schema(), indent=2))


@cli.command("demo-data")
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("layers/demo"),
    show_default=True,
    help="Folder to write.",
)
@click.pass_context
@_handle_errors
def demo_data(ctx: click.Context, out_dir: Path) -> None:
    """Generate the embedded San Diego-modelled demo region (deterministic)."""
    from siteselect.demo import generate

    with ConsoleReporter(ctx.obj["quiet"]).step("generate demo region"):
        files = generate(out_dir)
    if not ctx.obj["quiet"]:
        for path in files:
            stdout.print(f"wrote {path}", highlight=False)


@cli.command()
@click.argument("config", type=click.Path(dir_okay=False, path_type=Path))
@click.pass_context
@_handle_errors
def fetch(ctx: click.Context, config: Path) -> None:
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


def main() -> None:
    """Console-script entry point."""
    cli(obj={})


if __name__ == "__main__":  # pragma: no cover
    main()
