"""Writing a run's results: all files replaced at once, or none.

Everything is written into a staging folder beside the output folder
(``outputs/.demo.XXXX``); then the folders are swapped: the previous output
folder is renamed aside (``outputs/.demo.old.XXXX``), the staging folder is
renamed into its place, and the previous one is deleted. Each rename is atomic
on one filesystem; if the second fails, the first is undone, so a failure at
any step leaves the previous results byte-identical (or, if even the undo
fails, intact in the ``.old`` folder the message names). SIGINT/SIGTERM are
held back during the swap so it cannot be cut in half.

Files in the output folder that siteselect does not write (notes, a user's
subfolder) are carried over into the new folder (hard links, or copies where
links are impossible): replacing the results never loses them. A folder
occupying one of the output file names, an output folder that is a file or a
mount point, or a parent that is not writable are refused up front
(:func:`check_output_folder`).

Files: ``sites.gpkg`` (layer ``candidates`` plus one layer per map overlay and
the QGIS style; see :mod:`siteselect.outputs.gpkg`), ``sites.parquet`` (the
candidates as GeoParquet), ``sites.csv`` (same columns, no geometry, with
centroid ``lon``/``lat``, in rank order with the excluded candidates last; at
most ``outputs.csv_max_rows`` rows, the best ranked first when there are more
candidates; a byte order mark with ``outputs.csv_bom``), ``map.html`` (Folium),
``report.html`` (executive summary) and ``run.json`` (provenance), written last:
it holds the SHA-256 of the others and the time spent writing them
(:func:`~siteselect.outputs.manifest.finished_manifest`), its paths relative to
the output folder.

The tables are written column-wise through Arrow (GeoPackage through pyogrio's
Arrow path, GeoParquet with pyarrow): no Python object per candidate.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import logging
import os
import shutil
import signal
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pandas as pd

from siteselect._errors import OutputError
from siteselect.decision.results import RunResult
from siteselect.outputs.gpkg import write_geopackage
from siteselect.outputs.manifest import finished_manifest, relative_manifest

logger = logging.getLogger(__name__)

MANIFEST = "run.json"
"""Written last: it holds the other files' hashes and the time spent writing them."""
OUTPUT_FILES = (
    "sites.gpkg",
    "sites.parquet",
    "sites.csv",
    "map.html",
    "report.html",
    "run.json",
)


def csv_order(result: RunResult) -> np.ndarray:
    """Positions of every candidate in ``sites.csv`` order.

    The ranked candidates by rank, then the excluded ones by total score
    (highest first: what they would have scored; no score last), ties by
    ``candidate_id``: the same table gives the same file.
    """
    candidates = result.candidates
    rank = candidates["rank"].to_numpy(dtype="float64", na_value=np.nan)
    score = candidates["total_score"].to_numpy(dtype="float64", na_value=np.nan)
    ids = candidates["candidate_id"].astype(str).to_numpy()
    ranked = ~np.isnan(rank)
    no_score = np.isnan(score)
    # np.lexsort sorts by the last key first
    return np.lexsort(
        (ids, np.where(no_score, 0.0, -score), no_score, np.where(ranked, rank, 0.0), ~ranked)
    )


def csv_rows(result: RunResult) -> np.ndarray | None:
    """Positions of the candidates written to ``sites.csv`` when it is cut; None: all of them.

    With more candidates than ``result.csv_max_rows``, the best ranked ones up
    to that number, in rank order (never an excluded one).
    """
    limit = result.csv_max_rows
    n = len(result.candidates)
    if limit is None or n <= limit:
        return None
    rank = result.candidates["rank"].to_numpy(dtype="float64", na_value=np.nan)
    ranked = np.flatnonzero(~np.isnan(rank))
    return ranked[np.argsort(rank[ranked], kind="stable")][:limit]


def csv_bom(result: RunResult) -> bool:
    """``outputs.csv_bom`` of the run's config (as the manifest records it); False when absent."""
    outputs = result.manifest.get("config", {}).get("outputs", {})
    return bool(outputs.get("csv_bom", False)) if isinstance(outputs, dict) else False


def candidate_table(result: RunResult, rows: np.ndarray | None = None) -> pd.DataFrame:
    """The candidate columns without geometry, plus WGS 84 centroid ``lon``/``lat``.

    Floats are rounded (6 decimals; 7 for coordinates) so that files are stable
    and readable. ``rows``: positions of the candidates to keep (default all).
    """
    frame = result.candidates if rows is None else result.candidates.iloc[rows]
    centroids = frame.geometry.centroid.to_crs("EPSG:4326")
    table = pd.DataFrame(frame.drop(columns=frame.geometry.name))
    for column in table.columns:
        if pd.api.types.is_float_dtype(table[column]):
            table[column] = table[column].round(6)
    table["lon"] = np.round(centroids.x.to_numpy(), 7)
    table["lat"] = np.round(centroids.y.to_numpy(), 7)
    return table


def write_geoparquet(result: RunResult, path: Path) -> None:
    """The candidates as GeoParquet (WKB geometry, working CRS in the ``geo`` metadata).

    Same columns and values as the GeoPackage's ``candidates`` layer (``rank``
    a nullable integer); zstd-compressed.
    """
    result.candidates.to_parquet(path, index=False, compression="zstd")


def write_csv(result: RunResult, path: Path) -> None:
    """The candidate table as CSV, in :func:`csv_order` (``rank`` empty when excluded).

    UTF-8, with a byte order mark when ``outputs.csv_bom`` is true (Excel then
    reads accents right). At most ``result.csv_max_rows`` rows (see
    :func:`csv_rows`); the cut is logged.
    """
    rows = csv_rows(result)
    if rows is not None:
        logger.info(
            "sites.csv holds the best %s ranked of %s candidates, in rank order "
            "(outputs.csv_max_rows); every candidate is in sites.gpkg and sites.parquet",
            f"{len(rows):,}",
            f"{len(result.candidates):,}",
        )
    else:
        rows = csv_order(result)
    encoding = "utf-8-sig" if csv_bom(result) else "utf-8"
    candidate_table(result, rows).to_csv(path, index=False, lineterminator="\n", encoding=encoding)


def write_manifest(result: RunResult, path: Path) -> None:
    """``run.json``: provenance, counts and timings (and how sites.csv was cut, if it was).

    Paths absolute in ``result.manifest`` are written relative to ``path``'s
    folder; :func:`write_outputs` hands over a manifest already finished by
    :func:`~siteselect.outputs.manifest.finished_manifest` (hashes, writing times).
    """
    manifest = relative_manifest(result.manifest, path.parent)
    rows = csv_rows(result)
    if rows is not None:
        outputs = manifest.setdefault("outputs", {})
        outputs["sites.csv"] = {
            **outputs.get("sites.csv", {}),
            "rows": len(rows),
            "candidates": len(result.candidates),
            "holds": "the best ranked candidates, in rank order (outputs.csv_max_rows)",
        }
    path.write_text(
        json.dumps(manifest, indent=2, sort_keys=False, default=str) + "\n", encoding="utf-8"
    )


def _write_map(result: RunResult, path: Path) -> None:
    from siteselect.outputs.map.build import write_map

    write_map(result, path)


def _write_report(result: RunResult, path: Path) -> None:
    from siteselect.outputs.report import write_report

    write_report(result, path)


WRITERS: dict[str, Callable[[RunResult, Path], None]] = {
    "sites.gpkg": write_geopackage,
    "sites.parquet": write_geoparquet,
    "sites.csv": write_csv,
    "map.html": _write_map,
    "report.html": _write_report,
    "run.json": write_manifest,
}


def _nearest_existing(path: Path) -> Path:
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def check_output_folder(out_dir: Path, where: str | None = None) -> Path:
    """Check that ``out_dir`` can be replaced as a whole; return it with symlinks resolved.

    Parameters
    ----------
    out_dir : Path
        The output folder (need not exist).
    where : str, optional
        Prefix naming the setting (``--out`` or ``configs/x.yaml:40: outputs.dir``).

    Raises
    ------
    OutputError
        ``out_dir`` is a file or a mount point, holds a folder where an output file
        goes, or its parent cannot be created or written.
    """
    shown = str(out_dir)
    prefix = f"{where}: " if where else ""
    folder = Path(os.path.abspath(out_dir)).resolve()
    if folder.exists() and not folder.is_dir():
        raise OutputError(f"{prefix}{shown} is a file, not a folder; give a folder path")
    if folder.is_dir() and (os.path.ismount(folder) or folder == folder.parent):
        raise OutputError(
            f"{prefix}{shown} is a mount point; siteselect replaces the whole output folder, "
            f"which a mount point cannot be: write to a subfolder (e.g. {shown}/results)"
        )
    if folder.is_dir():
        for name in OUTPUT_FILES:
            if (folder / name).is_dir():
                raise OutputError(
                    f"{prefix}{shown}: {name} is a folder where siteselect writes a file; "
                    "move or rename it"
                )
        if not os.access(folder, os.R_OK | os.W_OK | os.X_OK):
            raise OutputError(
                f"{prefix}{shown}: cannot read and write in the folder; check its permissions "
                "or choose another folder (--out DIR)"
            )
    existing = _nearest_existing(folder.parent)
    if not existing.is_dir():
        raise OutputError(f"{prefix}cannot create {shown}: {existing} is a file, not a folder")
    try:
        os.rmdir(tempfile.mkdtemp(prefix=f".{folder.name}.check.", dir=existing))
    except OSError as exc:
        raise OutputError(
            f"{prefix}cannot create {shown}: cannot write to {existing} "
            f"({exc.strerror or exc}); choose a folder you can write to (--out DIR)"
        ) from None
    return folder


@contextlib.contextmanager
def _signals_held() -> Iterator[None]:
    """Hold SIGINT and SIGTERM back (raised again on exit) so a swap is never cut in half.

    The handlers are swapped for one that only records the signal (masking with
    ``pthread_sigmask`` would not do: another thread may take the signal); on
    exit the previous handlers come back and a recorded signal is raised again,
    so it has its usual effect once the swap is complete.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    received: list[int] = []
    held = (signal.SIGINT, signal.SIGTERM)
    previous = {signum: signal.signal(signum, lambda s, f: received.append(s)) for signum in held}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        for signum in dict.fromkeys(received):
            signal.raise_signal(signum)


def _link_or_copy(source: str | Path, target: str | Path) -> None:
    try:
        os.link(source, target, follow_symlinks=False)
    except OSError:
        shutil.copy2(source, target, follow_symlinks=False)


def carry_over(old: Path, new: Path) -> list[str]:
    """Hard-link (or copy) every entry of ``old`` that siteselect does not write into ``new``."""
    if not old.is_dir():
        return []
    names = sorted(entry.name for entry in os.scandir(old) if entry.name not in OUTPUT_FILES)
    for name in names:
        source, target = old / name, new / name
        if source.is_symlink():
            os.symlink(os.readlink(source), target)
        elif source.is_dir():
            shutil.copytree(source, target, symlinks=True, copy_function=_link_or_copy)
        else:
            _link_or_copy(source, target)
    if names:
        shown = ", ".join(names[:5]) + (", ..." if len(names) > 5 else "")
        logger.info(
            "kept %d entr%s not written by siteselect: %s",
            len(names),
            "y" if len(names) == 1 else "ies",
            shown,
        )
    return names


def swap_folders(staging: Path, out_dir: Path) -> None:
    """Put ``staging`` in the place of ``out_dir`` (renames; undone on failure).

    Raises
    ------
    OutputError
        A rename failed; the message says where the previous results are (in
        place, unless even the undo failed).
    """
    old = None
    if out_dir.exists():
        old = out_dir.parent / f".{out_dir.name}.old.{os.getpid()}.{staging.name[-8:]}"
        try:
            os.rename(out_dir, old)
        except OSError as exc:
            raise OutputError(
                f"cannot replace {out_dir} (moving the previous results aside failed: "
                f"{exc.strerror or exc}); the previous results are unchanged"
            ) from None
    try:
        os.rename(staging, out_dir)
    except OSError as exc:
        if old is None:
            raise OutputError(f"cannot create {out_dir}: {exc.strerror or exc}") from None
        try:
            os.rename(old, out_dir)
        except OSError as undo:
            raise OutputError(
                f"cannot replace {out_dir} ({exc.strerror or exc}) nor restore it "
                f"({undo.strerror or undo}); the previous results are in {old}"
            ) from None
        raise OutputError(
            f"cannot replace {out_dir} (moving the new results in failed: "
            f"{exc.strerror or exc}); the previous results are unchanged"
        ) from None
    if old is not None:
        try:
            shutil.rmtree(old)
        except OSError as exc:
            logger.warning(
                "new results are in %s; the previous ones could not be deleted from %s (%s): "
                "delete that folder",
                out_dir,
                old,
                exc,
            )


def write_outputs(result: RunResult, out_dir: Path) -> list[Path]:
    """Write every output file and replace ``out_dir`` with them at once.

    Returns
    -------
    list of Path
        The files written, in :data:`OUTPUT_FILES` order.

    Raises
    ------
    OutputError
        If the folder cannot be written or replaced, or a writer fails; the
        previous results are then left as they were.
    KeyboardInterrupt
        On SIGINT (or SIGTERM through the CLI's handler); the staging folder is
        removed. If the signal came during the swap, it is raised once the swap is
        complete, with ``results_written`` set on the exception.
    """
    folder = check_output_folder(out_dir)
    try:
        folder.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", dir=folder.parent))
    except OSError as exc:
        raise OutputError(f"cannot create output folder {out_dir}: {exc}") from None
    swapped = False
    try:
        seconds: dict[str, float] = {}
        for name in OUTPUT_FILES:
            if name == MANIFEST:
                continue
            logger.info("writing %s", name)
            start = time.perf_counter()
            WRITERS[name](result, staging / name)
            seconds[name] = round(time.perf_counter() - start, 3)
        written = {name: staging / name for name in seconds}
        manifest = finished_manifest(result.manifest, folder, written, seconds, MANIFEST)
        logger.info("writing %s", MANIFEST)
        WRITERS[MANIFEST](dataclasses.replace(result, manifest=manifest), staging / MANIFEST)
        carry_over(folder, staging)
        with _signals_held():
            swap_folders(staging, folder)
            swapped = True
        return [out_dir / name for name in OUTPUT_FILES]
    except OutputError:
        raise
    except KeyboardInterrupt as exc:
        if swapped:
            exc.results_written = out_dir  # type: ignore[attr-defined]
        raise
    except Exception as exc:
        raise OutputError(f"writing results to {out_dir} failed: {exc}") from exc
    finally:
        if not swapped:
            shutil.rmtree(staging, ignore_errors=True)
