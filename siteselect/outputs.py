"""Writing a run's results atomically.

Everything is written into a temporary folder beside the output folder, then
moved into place file by file with ``os.replace`` (atomic on one filesystem).
If any writer fails, the temporary folder is removed and the output folder is
left exactly as it was: no half-written results.

Files: ``sites.gpkg`` (layer ``candidates`` plus one layer per map overlay),
``sites.csv`` (same columns, no geometry, with centroid ``lon``/``lat``),
``map.html`` (Folium), ``report.html`` (executive summary) and ``run.json``
(provenance).
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pyogrio

from siteselect._errors import OutputError
from siteselect.results import RunResult

logger = logging.getLogger(__name__)

OUTPUT_FILES = ("sites.gpkg", "sites.csv", "map.html", "report.html", "run.json")


def candidate_table(result: RunResult) -> pd.DataFrame:
    """The candidate columns without geometry, plus WGS 84 centroid ``lon``/``lat``.

    Floats are rounded (6 decimals; 7 for coordinates) so that files are stable
    and readable.
    """
    frame = result.candidates
    centroids = frame.geometry.centroid.to_crs("EPSG:4326")
    table = pd.DataFrame(frame.drop(columns=frame.geometry.name))
    for column in table.columns:
        if pd.api.types.is_float_dtype(table[column]):
            table[column] = table[column].round(6)
    table["lon"] = np.round(centroids.x.to_numpy(), 7)
    table["lat"] = np.round(centroids.y.to_numpy(), 7)
    return table


def _layer_name(name: str) -> str:
    return "overlay_" + re.sub(r"[^0-9a-zA-Z]+", "_", name).strip("_").lower()


def write_geopackage(result: RunResult, path: Path) -> None:
    """``candidates`` layer and one layer per overlay, in the working CRS."""
    candidates = result.candidates.copy()
    candidates["rank"] = candidates["rank"].astype("float64")  # GPKG integers cannot be null here
    pyogrio.write_dataframe(candidates, path, layer="candidates", driver="GPKG")
    seen: set[str] = set()
    for overlay in result.overlays:
        layer = _layer_name(overlay.name)
        if layer in seen or overlay.gdf.empty:
            continue
        seen.add(layer)
        pyogrio.write_dataframe(overlay.gdf, path, layer=layer, driver="GPKG", append=False)


def write_csv(result: RunResult, path: Path) -> None:
    """The candidate table as CSV (UTF-8, ``rank`` empty when excluded)."""
    candidate_table(result).to_csv(path, index=False, lineterminator="\n")


def write_manifest(result: RunResult, path: Path) -> None:
    """``run.json``: provenance, counts and timings."""
    path.write_text(
        json.dumps(result.manifest, indent=2, sort_keys=False, default=str) + "\n", encoding="utf-8"
    )


def _write_map(result: RunResult, path: Path) -> None:
    from siteselect.webmap import write_map

    write_map(result, path)


def _write_report(result: RunResult, path: Path) -> None:
    from siteselect.report import write_report

    write_report(result, path)


WRITERS: dict[str, Callable[[RunResult, Path], None]] = {
    "sites.gpkg": write_geopackage,
    "sites.csv": write_csv,
    "map.html": _write_map,
    "report.html": _write_report,
    "run.json": write_manifest,
}


def write_outputs(result: RunResult, out_dir: Path) -> list[Path]:
    """Write every output file into ``out_dir`` atomically.

    Returns
    -------
    list of Path
        The files written, in :data:`OUTPUT_FILES` order.

    Raises
    ------
    OutputError
        If the folder cannot be created or a writer fails; ``out_dir`` is unchanged.
    """
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", dir=out_dir.parent))
    except OSError as exc:
        raise OutputError(f"cannot create output folder {out_dir}: {exc}") from None
    try:
        for name, writer in WRITERS.items():
            logger.info("writing %s", name)
            writer(result, staging / name)
        written = []
        for name in OUTPUT_FILES:
            target = out_dir / name
            os.replace(staging / name, target)
            written.append(target)
        return written
    except OutputError:
        raise
    except Exception as exc:
        raise OutputError(f"writing results to {out_dir} failed: {exc}") from exc
    finally:
        shutil.rmtree(staging, ignore_errors=True)
