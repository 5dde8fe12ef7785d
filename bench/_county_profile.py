"""Profile the product run with py-spy and summarise where the time goes.

``python -m bench.county --profile FILE`` runs the product once more, untimed,
under ``py-spy record --format raw --idle --subprocesses`` (thread time,
forked workers included), writes the collapsed stacks to ``FILE`` (readable by
flamegraph.pl and speedscope) and prints the top functions:

* **own**: samples where the function is the innermost frame (where the time is spent);
* **total**: samples where the function is anywhere on the stack (what it costs
  with everything it calls), the entry points (runpy, click, the CLI, the
  probe) left out.

Functions are keyed by name and file (line numbers dropped); shares are of the
samples kept: every thread of the run and of its workers, idle or not, except
the console spinner's refresh thread (``rich/live.py``, idle all run long). py-spy
is a development tool: ``pip install py-spy`` in the venv.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

_FRAME = re.compile(r"^(?P<name>.*) \((?P<file>[^()]*?)(?::\d+)?\)$")
_ROOTS = ("site-packages/", "/siteselect/", "/bench/", "lib/python3")
_SPINNER = "_RefreshThread.run (rich/live.py"
_WRAPPERS = ("(<frozen runpy>)", "(click/", "(bench/_county_probe.py)", "(siteselect/cli/")
"""Entry-point frames on nearly every stack, left out of the total-time table."""


def py_spy() -> str:
    """The py-spy executable (beside this Python first, then on PATH)."""
    local = Path(sys.executable).with_name("py-spy")
    found = str(local) if local.exists() else shutil.which("py-spy")
    if found is None:
        raise SystemExit("error: --profile needs py-spy: pip install py-spy (in the venv)")
    return found


def frame_key(frame: str) -> str:
    """``evaluate (siteselect/airspace/heights.py)`` from a raw py-spy frame."""
    match = _FRAME.match(frame.strip())
    if match is None:
        return frame.strip()
    file = match.group("file")
    for root in _ROOTS:
        if root in file:
            file = file.split(root, 1)[1]
            if root in ("/siteselect/", "/bench/"):
                file = root.strip("/") + "/" + file
            break
    return f"{match.group('name')} ({file})"


def summarise(raw: Path, top: int = 15) -> dict[str, Any]:
    """The top functions of a raw (collapsed-stack) py-spy profile.

    Returns
    -------
    dict
        ``samples`` and ``own`` / ``total``: lists of [function, samples, share].
    """
    own: Counter[str] = Counter()
    total: Counter[str] = Counter()
    samples = 0
    for line in raw.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        if _SPINNER in stack:
            continue
        frames = [frame_key(f) for f in stack.split(";") if f and not f.startswith("process ")]
        if not frames:
            continue
        samples += count
        own[frames[-1]] += count
        for name in set(frames):
            if not name.endswith(_WRAPPERS) and not any(w[:-1] in name for w in _WRAPPERS):
                total[name] += count

    def ranked(counter: Counter[str]) -> list[list[Any]]:
        return [[name, n, round(n / samples, 4)] for name, n in counter.most_common(top)]

    return {"samples": samples, "own": ranked(own), "total": ranked(total)}


def render(summary: dict[str, Any]) -> str:
    """Two tables: top functions by own time and by total time."""
    lines = [
        f"py-spy profile: {summary['samples']:,} samples "
        "(thread time, idle included, console spinner thread left out)"
    ]
    for kind in ("own", "total"):
        lines.append(f"top {len(summary[kind])} by {kind} time:")
        lines += [f"  {share:6.1%}  {name}" for name, _, share in summary[kind]]
    return "\n".join(lines)


def profile(command: list[str], raw: Path, log: Path, cwd: Path, env: dict[str, str]) -> float:
    """Run ``command`` under py-spy, collapsed stacks to ``raw``; return its wall seconds."""
    import time

    spy = [py_spy(), "record", "--format", "raw", "--idle", "--subprocesses"]
    start = time.monotonic()
    with open(log, "w") as output:
        subprocess.run(
            [*spy, "-o", str(raw), "--", *command],
            cwd=cwd,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            check=True,
        )
    return time.monotonic() - start
