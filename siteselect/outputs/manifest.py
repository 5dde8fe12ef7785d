"""Provenance of a run: what went in, with which software, how long it took."""

from __future__ import annotations

import datetime as dt
import importlib.metadata
import platform
from pathlib import Path
from typing import TYPE_CHECKING, Any

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


def build_manifest(
    config: Config, study: Study, counts: dict[str, Any], timings_s: dict[str, float]
) -> dict[str, Any]:
    """The ``run.json`` content (JSON-serialisable)."""
    inputs = {
        name: {"path": str(path), "bytes": path.stat().st_size, "sha256": sha256_file(path)}
        for name, path in input_files(config).items()
        if path.is_file()
    }
    return {
        "siteselect_run": 1,
        "name": config.name,
        "created_utc": dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat(),
        "config": config.model_dump(mode="json"),
        "working_crs": {"name": study.crs.name, "epsg": study.crs.to_epsg()},
        "inputs": inputs,
        "versions": package_versions(),
        "counts": counts,
        "diagnostics": study.diagnostics,
        "timings_s": timings_s,
    }
