"""Measure a child process: wall time, CPU time and peak memory, per step and in total.

:func:`run_measured` starts a command, samples the memory of its process tree
every ``interval_s`` (20 ms) from a thread of *this* process (so the sampling
never waits for the child's GIL), waits for it with ``os.wait4`` (its exact
own peak RSS and CPU time, workers included) and lines the samples up with the
step events the child wrote (:mod:`bench._steps`).

Memory of the tree: the RSS of the process alone; while it has children
(forked workers), the sum of the *proportional* set sizes (``Pss`` in
``/proc/<pid>/smaps_rollup``) of the process and its descendants, because a
forked worker shares its parent's pages and summing RSS would count them twice.
A step's peak is the largest of its samples and of the kernel's exact
high-water mark of the main process during the step.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from bench._steps import read_events

PROC = Path("/proc")
_GAP_ROW_S = 1.0
"""Gaps between steps shorter than this are folded into one row."""


def _read_kb(path: Path, field_name: str) -> int | None:
    """A ``kB`` field of a /proc file, in bytes (None when the process is gone)."""
    try:
        with open(path) as stream:
            for line in stream:
                if line.startswith(field_name):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


def descendants(pid: int) -> list[int]:
    """Process ids of every descendant of ``pid`` (scans ``/proc/*/stat``)."""
    parents: dict[int, int] = {}
    for entry in PROC.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rfind(")") + 2 :].split()
        parents[int(entry.name)] = int(fields[1])
    found, frontier = [], [pid]
    while frontier:
        parent = frontier.pop()
        children = [p for p, pp in parents.items() if pp == parent]
        found.extend(children)
        frontier.extend(children)
    return found


def tree_memory(pid: int, children: list[int]) -> int | None:
    """Memory of ``pid`` and ``children`` (bytes): RSS alone, PSS summed with children."""
    if not children:
        return _read_kb(PROC / str(pid) / "status", "VmRSS:")
    total = 0
    for member in (pid, *children):
        pss = _read_kb(PROC / str(member) / "smaps_rollup", "Pss:")
        total += pss or 0
    return total or None


class TreeSampler(threading.Thread):
    """Samples the memory of a process tree until stopped.

    Parameters
    ----------
    pid : int
    interval_s : float
        Time between samples.
    rescan_every : int
        Look for new children every this many samples.
    min_available_bytes : int
        Memory guard: when the machine's available memory (``MemAvailable``)
        falls below this, the process is stopped (SIGTERM, then SIGKILL after
        10 s) so that a run gone wrong cannot take a shared machine down.
    """

    def __init__(
        self,
        pid: int,
        interval_s: float = 0.02,
        rescan_every: int = 5,
        min_available_bytes: int = 0,
    ) -> None:
        super().__init__(daemon=True)
        self.pid = pid
        self.interval_s = interval_s
        self.rescan_every = rescan_every
        self.min_available_bytes = min_available_bytes
        self.samples: list[tuple[float, int]] = []
        self.max_children = 0
        self.stopped_at: float | None = None
        self._halt = threading.Event()

    def _guard(self) -> None:
        """Stop the process when the machine runs out of memory."""
        available = _read_kb(PROC / "meminfo", "MemAvailable:")
        if self.stopped_at is not None or available is None:
            return
        if available < self.min_available_bytes:
            self.stopped_at = time.monotonic()
            os.kill(self.pid, signal.SIGTERM)
            timer = threading.Timer(10.0, self._kill)
            timer.daemon = True
            timer.start()

    def _kill(self) -> None:
        if self._halt.is_set():  # it has exited and been waited for: the pid is not ours
            return
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.pid, signal.SIGKILL)

    def run(self) -> None:
        children: list[int] = []
        count = 0
        while not self._halt.is_set():
            if count % self.rescan_every == 0:
                children = descendants(self.pid)
                self.max_children = max(self.max_children, len(children))
            memory = tree_memory(self.pid, children)
            if memory is not None:
                self.samples.append((time.monotonic(), memory))
            if self.min_available_bytes:
                self._guard()
            count += 1
            self._halt.wait(self.interval_s)

    def stop(self) -> None:
        """Stop sampling and wait for the thread."""
        self._halt.set()
        self.join()


@dataclass
class StepFigure:
    """One row of the measured table.

    Attributes
    ----------
    name : str
    depth : int
        0 for a top-level step; nested steps are shown, not summed.
    seconds : float
        Wall time.
    cpu_s : float or None
        CPU time of the process and the children it waited for (None: not recorded).
    peak_bytes : int or None
        Peak memory of the process tree during the row.
    """

    name: str
    depth: int
    seconds: float
    cpu_s: float | None
    peak_bytes: int | None


@dataclass
class MeasuredRun:
    """What :func:`run_measured` found.

    Attributes
    ----------
    command : list of str
    exit_code : int
    wall_s, cpu_s : float
        Whole process: wall time from start to exit; CPU time with its children.
    peak_bytes : int
        Peak memory of the tree: the largest sample or step high-water mark.
        (Not ``ru_maxrss``: a child started by a large parent inherits the
        parent's high-water mark at exec.)
    steps : list of StepFigure
        Start-up, each step, gaps between steps, and the exit, in order.
    max_children : int
        Most child processes seen at once.
    log : str
        Where the child's output went.
    stopped_low_memory : bool
        Whether the memory guard stopped it.
    """

    command: list[str]
    exit_code: int
    wall_s: float
    cpu_s: float
    peak_bytes: int
    steps: list[StepFigure] = field(default_factory=list)
    max_children: int = 0
    log: str = ""
    stopped_low_memory: bool = False

    def to_json(self) -> dict[str, object]:
        """JSON-serialisable form."""
        return asdict(self)


def _peak(samples: list[tuple[float, int]], start: float, end: float) -> int | None:
    inside = [m for t, m in samples if start <= t <= end]
    return max(inside) if inside else None


def _rows(
    events: list[dict[str, Any]], samples: list[tuple[float, int]], start: float, end: float
) -> list[StepFigure]:
    """Table rows: start-up, the steps in order, the exit; gaps between steps folded.

    Gaps between top-level steps of at least ``_GAP_ROW_S`` are rows of their
    own ("between steps"); shorter ones are summed into one last row, so that
    the rows add up to the whole run.
    """
    rows: list[StepFigure] = []
    top = sorted((e for e in events if e["depth"] == 0), key=lambda e: e["start"])
    short_s, short_peak = 0.0, 0
    cursor = start
    for number, event in enumerate(top):
        name = "start-up (interpreter, imports, config)" if number == 0 else "between steps"
        peak = _peak(samples, cursor, event["start"])
        if number == 0 or event["start"] - cursor >= _GAP_ROW_S:
            rows.append(StepFigure(name, 0, event["start"] - cursor, None, peak))
        else:
            short_s += event["start"] - cursor
            short_peak = max(short_peak, peak or 0)
        rows.append(_step(event, samples))
        nested = [
            e for e in events if e["depth"] > 0 and event["start"] <= e["start"] <= event["end"]
        ]
        rows += [_step(e, samples) for e in sorted(nested, key=lambda e: e["start"])]
        cursor = event["end"]
    rows.append(
        StepFigure(
            "after the steps (summary, exit)" if top else "whole run",
            0,
            end - cursor,
            None,
            _peak(samples, cursor, end),
        )
    )
    if short_s >= 0.005:
        rows.append(StepFigure("short gaps between steps", 0, short_s, None, short_peak or None))
    return rows


def _step(event: dict[str, Any], samples: list[tuple[float, int]]) -> StepFigure:
    """The row of one step: its peak is the larger of its samples and its high-water mark."""
    peaks = [p for p in (_peak(samples, event["start"], event["end"]), event["hwm_bytes"]) if p]
    return StepFigure(
        str(event["step"]),
        int(event["depth"]),
        event["end"] - event["start"],
        event["cpu_s"],
        max(peaks) if peaks else None,
    )


def run_measured(
    command: list[str],
    events: Path,
    log: Path,
    cwd: Path | None = None,
    env: dict[str, str] | None = None,
    interval_s: float = 0.02,
    min_available_bytes: int = 0,
) -> MeasuredRun:
    """Run ``command`` to its end, measuring it.

    Parameters
    ----------
    command : list of str
        The child; it may write step events to ``events`` (:mod:`bench._steps`).
    events : Path
        Step events file (emptied first).
    log : Path
        Receives the child's stdout and stderr.
    cwd : Path, optional
    env : dict, optional
    interval_s : float
        Memory sampling interval.
    min_available_bytes : int
        Stop the child when the machine's available memory falls below this
        (0: no guard); see :class:`TreeSampler`.

    Returns
    -------
    MeasuredRun
    """
    events.unlink(missing_ok=True)
    with open(log, "w") as output:
        start = time.monotonic()
        process = subprocess.Popen(
            command, stdout=output, stderr=subprocess.STDOUT, cwd=cwd, env=env
        )
        sampler = TreeSampler(process.pid, interval_s, min_available_bytes=min_available_bytes)
        sampler.start()
        try:
            _, status, usage = os.wait4(process.pid, 0)
        except BaseException:
            process.kill()
            process.wait()
            raise
        finally:
            sampler.stop()
        end = time.monotonic()
        process.returncode = os.waitstatus_to_exitcode(status)
    recorded = read_events(events)
    rows = _rows(recorded, sampler.samples, start, end)
    candidates = [0, *(m for _, m in sampler.samples), *(r.peak_bytes or 0 for r in rows)]
    return MeasuredRun(
        command=command,
        exit_code=process.returncode,
        wall_s=end - start,
        cpu_s=usage.ru_utime + usage.ru_stime,
        peak_bytes=max(candidates),
        steps=rows,
        max_children=sampler.max_children,
        log=str(log),
        stopped_low_memory=sampler.stopped_at is not None,
    )
