"""Provenance of a run: what went in, with which software, how long it took.

:func:`build_manifest` makes the in-memory record (``RunResult.manifest``, with
absolute paths, read by the report); :func:`finished_manifest` turns it into
``run.json`` once every other output is written: every path relative to the
folder holding run.json (never absolute), the SHA-256 of every output and the
time spent writing them. ``siteselect run OUTDIR/run.json`` re-runs the stored
config (:mod:`siteselect.config.rerun`).
"""

from __future__ import annotations

import copy
import datetime as dt
import functools
import importlib.metadata
import os
import platform
import subprocess
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

import siteselect
from siteselect.hashing import sha256_file

if TYPE_CHECKING:
    from siteselect.config import Config
    from siteselect.study import Study

PACKAGES = (
    "siteselect",
    "numpy",
    "pandas",
    "geopandas",
    "shapely",
    "pyproj",
    "pyogrio",
    "pyarrow",
    "rasterio",
    "osmnx",
    "networkx",
    "scipy",
    "folium",
    "pydantic",
    "PyYAML",
    "click",
    "rich",
)


def package_versions() -> dict[str, str]:
    """Installed versions of the packages that shape results, plus GDAL and PROJ."""
    versions: dict[str, str] = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = "not installed"
    try:
        import pyogrio
        import pyproj

        versions["GDAL (pyogrio)"] = pyogrio.__gdal_version_string__
        versions["PROJ"] = pyproj.proj_version_str
    except ImportError:  # pragma: no cover
        pass
    return versions


def input_files(config: Config) -> dict[str, Path]:
    """Every input file of the run, keyed by its config location."""
    files: dict[str, Path] = {}
    if config.source_path is not None:
        files["config"] = config.source_path
    if config.candidates.source is not None:  # None: a generated grid
        files["candidates"] = config.candidates.source
    if config.study_area is not None:
        files["study_area"] = config.study_area.source
    if config.network is not None:
        files["network"] = config.network.source
    files.update({f"layers.{k}": v.source for k, v in config.layers.items()})
    return files


FORMAT = 2
"""``siteselect_run`` of the run.json written: 2 has relative paths and output hashes."""
PATHS_NOTE = "every path in this file is relative to the folder holding it"
SELF_HASH_NOTE = "a file cannot hold its own SHA-256: hash run.json yourself to check a copy of it"
TIMINGS_NOTE = (
    "seconds per step; 'write outputs' covers every file but run.json, which is written "
    "last (after the hashes and these times), before the output folder is swapped in"
)


@functools.lru_cache(maxsize=1)
def tool_provenance() -> dict[str, Any]:
    """siteselect's version and, when it runs from a git checkout, the commit.

    ``git_commit`` and ``git_dirty`` (uncommitted changes to tracked files) are
    None when the package is not in a checkout of its own (an installed wheel)
    or git is not available: never an error.
    """
    try:
        version = importlib.metadata.version("siteselect")
    except importlib.metadata.PackageNotFoundError:
        version = None
    root = Path(siteselect.__file__).resolve().parent.parent
    commit = dirty = None
    if (root / ".git").exists():
        commit = _git(root, "rev-parse", "HEAD")
        if commit is not None:
            status = _git(root, "status", "--porcelain", "--untracked-files=no")
            dirty = None if status is None else status != ""
    return {"version": version, "git_commit": commit, "git_dirty": dirty}


def _git(root: Path, *args: str) -> str | None:
    try:
        done = subprocess.run(
            ["git", "-C", str(root), *args],
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def path_fields(value: Any, loc: tuple[str | int, ...] = ()) -> list[list[str | int]]:
    """Locations (key lists) of every path in a config's ``exclude_unset`` JSON dump."""
    if isinstance(value, Path):
        return [list(loc)]
    found: list[list[str | int]] = []
    if isinstance(value, BaseModel):
        for name, field in type(value).model_fields.items():
            if not field.exclude and name in value.model_fields_set:
                found += path_fields(getattr(value, name), (*loc, name))
    elif isinstance(value, dict):
        for key, item in value.items():
            found += path_fields(item, (*loc, str(key)))
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            found += path_fields(item, (*loc, index))
    return found


def build_manifest(
    config: Config, study: Study, counts: dict[str, Any], timings_s: dict[str, float]
) -> dict[str, Any]:
    """The run's record (JSON-serialisable; paths absolute until :func:`finished_manifest`)."""
    inputs = {
        name: {"path": str(path), "bytes": path.stat().st_size, "sha256": sha256_file(path)}
        for name, path in input_files(config).items()
        if path.is_file()
    }
    return {
        "siteselect_run": FORMAT,
        "name": config.name,
        "created_utc": dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat(),
        "command_line": None,
        "siteselect": dict(tool_provenance()),
        "paths": PATHS_NOTE,
        "config": config.model_dump(mode="json", exclude_unset=True),
        "config_path_fields": path_fields(config),
        "working_crs": {"name": study.crs.name, "epsg": study.crs.to_epsg()},
        "inputs": inputs,
        "versions": package_versions(),
        "counts": counts,
        "diagnostics": study.diagnostics,
        "timings_s": timings_s,
    }


def relative_path(path: str, folder: Path) -> str:
    """``path`` relative to ``folder`` (``/`` separators); a relative one is kept as it is."""
    if not os.path.isabs(path):
        return path
    return Path(os.path.relpath(path, folder)).as_posix()


def _set_in(data: Any, loc: list[str | int], convert: Any) -> None:
    for key in loc[:-1]:
        data = data[key]
    if data[loc[-1]] is not None:
        data[loc[-1]] = convert(data[loc[-1]])


def relative_manifest(manifest: dict[str, Any], folder: Path) -> dict[str, Any]:
    """A copy of ``manifest`` whose paths are relative to ``folder`` (where run.json goes)."""
    out = copy.deepcopy(manifest)

    def convert(path: str) -> str:
        return relative_path(path, folder)

    for loc in out.get("config_path_fields", []):
        try:
            _set_in(out["config"], loc, convert)
        except (KeyError, IndexError, TypeError):
            continue
    for entry in out.get("inputs", {}).values():
        entry["path"] = convert(entry["path"])
    if isinstance(out.get("rerun_of"), dict) and "run_json" in out["rerun_of"]:
        out["rerun_of"]["run_json"] = convert(out["rerun_of"]["run_json"])
    cache = out.get("diagnostics", {}).get("criteria_cache")
    if isinstance(cache, dict) and isinstance(cache.get("folder"), str):
        cache["folder"] = convert(cache["folder"])
    return out


def finished_manifest(
    manifest: dict[str, Any],
    folder: Path,
    files: dict[str, Path],
    write_seconds: dict[str, float],
    manifest_name: str = "run.json",
) -> dict[str, Any]:
    """What ``run.json`` holds, once the other outputs are written.

    Parameters
    ----------
    manifest : dict
        The run's record (:func:`build_manifest`, plus what the CLI adds).
    folder : Path
        The output folder run.json is read from (paths are made relative to it).
    files : dict of str to Path
        The outputs already written (name -> where they are now, maybe a staging folder).
    write_seconds : dict of str to float
        Seconds spent writing each of them.
    """
    out = relative_manifest(manifest, folder)
    outputs_spec = out.get("config", {}).get("outputs")
    if isinstance(outputs_spec, dict):
        outputs_spec["dir"] = "."  # this folder: re-running run.json writes here again
    out["outputs"] = {
        name: {"bytes": path.stat().st_size, "sha256": sha256_file(path)}
        for name, path in files.items()
    } | {manifest_name: {"sha256": None, "note": SELF_HASH_NOTE}}
    timings = dict(out.get("timings_s", {}))
    timings.update({f"write {name}": seconds for name, seconds in write_seconds.items()})
    timings["write outputs"] = round(sum(write_seconds.values()), 3)
    out["timings_s"] = timings
    out["timings_note"] = TIMINGS_NOTE
    return out
