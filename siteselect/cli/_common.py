"""What every command shares: the console, logging, one-line errors, signals.

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

from siteselect._errors import SiteSelectError
from siteselect.config.yaml_doc import display_path

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


def setup_logging(verbose: int, quiet: bool, debug: bool) -> None:
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


def handle_errors(command: F) -> F:
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


class OneLineGroup(click.Group):
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


def out_option(help: str, folder: bool = False) -> Callable[[F], F]:
    """The ``--out DIR`` option of the commands that write a folder (``out_dir``)."""
    return click.option(
        "--out",
        "out_dir",
        type=click.Path(file_okay=not folder, path_type=Path),
        help=help,
    )
