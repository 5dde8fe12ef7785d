"""Content hashes of files (run.json, the network cache, the criteria cache).

A file's hash is remembered by its path, size, mtime, ctime and inode, so that
a run hashing the same unchanged file twice (run.json and a cache key) reads it
once; :func:`load_remembered` and :func:`remembered_hashes` carry the memory
across runs (the criteria cache keeps it in ``file_hashes.json``).
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

_REMEMBERED: dict[str, dict[str, Any]] = {}


def _stamp(stat: os.stat_result) -> list[int]:
    return [stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns, stat.st_ino]


def sha256_file(path: Path, chunk_bytes: int = 1 << 20) -> str:
    """Hex SHA-256 of a file, read in chunks (remembered while the file is unchanged)."""
    key = str(Path(path).resolve())
    stamp = _stamp(os.stat(path))
    known = _REMEMBERED.get(key)
    if known is not None and known.get("stamp") == stamp:
        return str(known["sha256"])
    digest = hashlib.sha256()
    with Path(path).open("rb") as handle:
        while block := handle.read(chunk_bytes):
            digest.update(block)
    if _stamp(os.stat(path)) == stamp:  # not changed while being read
        _REMEMBERED[key] = {"stamp": stamp, "sha256": digest.hexdigest()}
    return digest.hexdigest()


def remembered_hashes() -> dict[str, dict[str, Any]]:
    """The remembered hashes of files that still exist unchanged (JSON-serialisable)."""
    out = {}
    for key, known in _REMEMBERED.items():
        try:
            if _stamp(os.stat(key)) == known["stamp"]:
                out[key] = known
        except OSError:
            continue
    return out


def load_remembered(path: Path) -> None:
    """Add the hashes saved in ``path`` (from :func:`remembered_hashes`); ignore a bad file."""
    try:
        saved = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return
    if not isinstance(saved, dict):
        return
    for key, known in saved.items():
        if (
            isinstance(known, dict)
            and isinstance(known.get("sha256"), str)
            and isinstance(known.get("stamp"), list)
        ):
            _REMEMBERED.setdefault(key, {"stamp": known["stamp"], "sha256": known["sha256"]})
