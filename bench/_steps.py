"""Step events written by a measured process (the product probe and the baseline).

A measured process wraps each step in :meth:`StepRecorder.step`; the recorder
appends one JSON line per finished step to a file the parent reads afterwards::

    {"step": "criterion members", "depth": 0, "start": 123.4, "end": 130.1,
     "cpu_s": 12.9, "hwm_bytes": 2147483648}

``start``/``end`` are ``time.monotonic()`` (one clock for every process of the
machine, so the parent lines them up with its memory samples). ``cpu_s`` is the
user + system time of the process and of its children waited for during the
step. ``hwm_bytes`` is the process's own peak RSS during the step, exact: the
kernel's high-water mark (``VmHWM``) is reset at every step boundary by writing
``5`` to ``/proc/self/clear_refs``; where that is not allowed it is None and
the parent's samples alone give the peak. Steps may nest (``depth``).
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

_STATUS = Path("/proc/self/status")
_CLEAR_REFS = Path("/proc/self/clear_refs")


def _status_bytes(field: str) -> int | None:
    """A ``kB`` field of ``/proc/self/status`` in bytes (None off Linux)."""
    try:
        for line in _STATUS.read_text().splitlines():
            if line.startswith(f"{field}:"):
                return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


def _reset_peak() -> bool:
    """Reset this process's ``VmHWM`` to its current RSS; False where not allowed."""
    try:
        _CLEAR_REFS.write_text("5")
    except OSError:
        return False
    return True


def _cpu_s() -> float:
    times = os.times()
    return times.user + times.system + times.children_user + times.children_system


class StepRecorder:
    """Records the wall time, CPU time and own peak RSS of named steps.

    Parameters
    ----------
    path : Path or None
        JSON-lines file to append to; None records nothing (plain runs).
    """

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self._open: list[dict[str, object]] = []
        self._exact = _reset_peak() if path is not None else False

    def _note_peak(self) -> None:
        """Fold the current high-water mark into every open step."""
        hwm = _status_bytes("VmHWM") if self._exact else None
        for event in self._open:
            if hwm is not None:
                event["hwm_bytes"] = max(int(event["hwm_bytes"] or 0), hwm)  # type: ignore[call-overload]

    @contextlib.contextmanager
    def step(self, name: str) -> Iterator[None]:
        """Context manager around one step."""
        if self.path is None:
            yield
            return
        self._note_peak()
        self._exact = self._exact and _reset_peak()
        event: dict[str, object] = {
            "step": name,
            "depth": len(self._open),
            "start": time.monotonic(),
            "hwm_bytes": _status_bytes("VmRSS") if self._exact else None,
        }
        cpu = _cpu_s()
        self._open.append(event)
        try:
            yield
        finally:
            self._note_peak()
            self._open.pop()
            event["end"] = time.monotonic()
            event["cpu_s"] = round(_cpu_s() - cpu, 3)
            if not self._exact:
                event["hwm_bytes"] = None
            with open(self.path, "a") as stream:
                stream.write(json.dumps(event) + "\n")


def read_events(path: Path) -> list[dict[str, Any]]:
    """The events a measured process wrote (none when it wrote none)."""
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
