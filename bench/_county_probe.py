"""Run the ``siteselect`` command line in this process, recording its steps.

Used by :mod:`bench.county` as the measured child process::

    python -m bench._county_probe EVENTS.jsonl run CONFIG --out DIR
    python -m bench._county_probe EVENTS.jsonl --build-graph CONFIG

The first form is exactly ``siteselect run CONFIG --out DIR`` (the console
entry point :func:`siteselect.cli.main`, config file, preflight, pipeline,
writers), except that the CLI's :class:`~siteselect.cli._common.ConsoleReporter` is
replaced by a subclass that also records each step through
:class:`bench._steps.StepRecorder` (the pipeline's ``Reporter.step`` hook: no
change to siteselect). The second builds the config's road graph into its cache
(what the first run on a network does), as one recorded step.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from pathlib import Path

from bench._steps import StepRecorder


def _install_recorder(recorder: StepRecorder) -> None:
    """Make the CLI's reporter record every step it shows."""
    import siteselect.cli._common as common
    import siteselect.cli.run as run_command

    class RecordingReporter(common.ConsoleReporter):
        """The console reporter, also recording each step's time and memory."""

        @contextlib.contextmanager
        def step(self, name: str) -> Iterator[None]:
            with recorder.step(name), super().step(name):
                yield

    run_command.ConsoleReporter = RecordingReporter  # type: ignore[misc]


def build_graph(config_path: Path, recorder: StepRecorder) -> None:
    """Build (or load) the road graph of ``config_path`` into its cache."""
    import pyproj

    from siteselect.config import load_config
    from siteselect.network.load import load_road_graph

    config = load_config(config_path)
    assert config.network is not None
    with recorder.step("build road graph"):
        graph = load_road_graph(config.network, pyproj.CRS(config.crs))
    print(f"road graph: {graph.n_nodes:,} nodes, {graph.matrix.nnz:,} edges")


def main(argv: list[str] | None = None) -> None:
    """Entry point: ``EVENTS run CONFIG --out DIR`` or ``EVENTS --build-graph CONFIG``."""
    args = list(sys.argv[1:] if argv is None else argv)
    recorder = StepRecorder(Path(args[0]))
    if args[1] == "--build-graph":
        build_graph(Path(args[2]), recorder)
        return
    import siteselect.cli as cli

    _install_recorder(recorder)
    sys.argv = ["siteselect", *args[1:]]
    cli.main()


if __name__ == "__main__":
    main()
