"""On-disk cache of built road graphs, so a re-run does not re-parse OSM.

A built graph (node arrays, the edge table with speeds and travel times, the
CSR matrix and the main-component mask) is stored as one uncompressed ``.npz``
file named by a key: the SHA-256 of the network file's bytes plus every
setting that changes the result (network type, speed overrides, the cache
format version). Coordinates are stored in degrees and projected to the
working CRS on load, so one entry serves any CRS.

Writes are atomic: the entry is written to a temporary file in the same
folder, flushed to disk, then renamed over the entry (``os.replace``), so a
run killed mid-write leaves the old entry or none, never a truncated one.
An entry that cannot be loaded for any reason (truncated, zero bytes, not an
``.npz``, another format version's layout, arrays that do not fit together)
is rebuilt and replaced, with one warning naming the file.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyproj
from scipy.sparse import csr_matrix

from siteselect.hashing import sha256_file
from siteselect.network.graph import RoadGraph, assemble_graph

logger = logging.getLogger(__name__)

CACHE_FORMAT = 2
"""Bump when the stored arrays or their meaning change (2: normalised tags, diagnostics)."""

_CATEGORICAL = ("highway", "name", "ref")
_NUMERIC = ("u", "v", "length_m", "speed_kmh", "travel_s")


def cache_key(path: Path, settings: dict[str, Any]) -> str:
    """Cache key of a network file built with ``settings`` (JSON-serialisable)."""
    payload = json.dumps(
        {"file": sha256_file(path), "settings": settings, "format": CACHE_FORMAT},
        sort_keys=True,
    )
    return hashlib.sha256(payload.encode()).hexdigest()[:32]


def save_graph(graph: RoadGraph, target: Path) -> Path:
    """Write ``graph`` to ``target`` (``.npz``) atomically (temporary file, fsync, rename)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    arrays: dict[str, np.ndarray] = {
        "format": np.asarray(CACHE_FORMAT),
        "diagnostics": np.asarray(json.dumps(graph.diagnostics, sort_keys=True)),
        "node_ids": graph.node_ids,
        "lon": graph.lon,
        "lat": graph.lat,
        "in_main": graph.in_main,
        "indptr": graph.matrix.indptr,
        "indices": graph.matrix.indices,
        "data": graph.matrix.data,
    }
    for column in _NUMERIC:
        arrays[f"edge_{column}"] = graph.edges[column].to_numpy()
    for column in _CATEGORICAL:
        values = graph.edges[column].cat
        arrays[f"edge_{column}_codes"] = values.codes.to_numpy()
        arrays[f"edge_{column}_categories"] = np.asarray(values.categories, dtype=str)
    partial = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        with open(partial, "wb") as stream:
            np.savez(stream, **arrays)
            stream.flush()
            with contextlib.suppress(OSError):  # file systems without fsync
                os.fsync(stream.fileno())
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)
    return target


def _checked(stored: Any) -> None:
    """Raise ValueError unless the arrays of an entry fit together."""
    if int(stored["format"]) != CACHE_FORMAT:
        raise ValueError(f"format {int(stored['format'])}, expected {CACHE_FORMAT}")
    n = len(stored["node_ids"])
    if not len(stored["lon"]) == len(stored["lat"]) == len(stored["in_main"]) == n:
        raise ValueError("node arrays differ in length")
    indptr, indices = stored["indptr"], stored["indices"]
    if len(indptr) != n + 1 or indptr[-1] != len(indices) or len(stored["data"]) != len(indices):
        raise ValueError("matrix arrays do not fit the nodes")
    if len(indices) and (indices.min() < 0 or indices.max() >= n):
        raise ValueError("matrix refers to nodes that do not exist")
    m = len(stored["edge_u"])
    for column in _NUMERIC:
        if len(stored[f"edge_{column}"]) != m:
            raise ValueError(f"edge column {column} differs in length")
    for end in ("u", "v"):
        values = stored[f"edge_{end}"]
        if m and (values.min() < 0 or values.max() >= n):
            raise ValueError(f"edge column {end} refers to nodes that do not exist")
    for column in _CATEGORICAL:
        codes = stored[f"edge_{column}_codes"]
        if len(codes) != m or (
            m and not 0 <= codes.min() <= codes.max() < len(stored[f"edge_{column}_categories"])
        ):
            raise ValueError(f"edge column {column} codes do not fit its categories")


def load_graph(source: Path, crs: pyproj.CRS) -> RoadGraph:
    """Read a graph written by :func:`save_graph`, projected to ``crs``.

    Raises
    ------
    Exception
        Whatever the file gives (``OSError``, ``ValueError``, ``KeyError``,
        ``zipfile.BadZipFile``, ``EOFError``...); :func:`cached_graph` rebuilds.
    """
    with np.load(source, allow_pickle=False) as stored:
        _checked(stored)
        n = len(stored["node_ids"])
        edges = pd.DataFrame({column: stored[f"edge_{column}"] for column in _NUMERIC})
        for column in _CATEGORICAL:
            edges[column] = pd.Categorical.from_codes(
                stored[f"edge_{column}_codes"],
                categories=pd.Index(stored[f"edge_{column}_categories"].astype(object)),
            )
        edges = edges[["u", "v", "highway", "length_m", "speed_kmh", "travel_s", "name", "ref"]]
        matrix = csr_matrix((stored["data"], stored["indices"], stored["indptr"]), shape=(n, n))
        graph = assemble_graph(
            stored["node_ids"],
            stored["lon"],
            stored["lat"],
            edges,
            crs,
            matrix=matrix,
            in_main=stored["in_main"].astype(bool),
        )
        graph.diagnostics = json.loads(str(stored["diagnostics"]))
        return graph


def cached_graph(
    path: Path, cache_dir: Path, settings: dict[str, Any], crs: pyproj.CRS, build: Any
) -> RoadGraph:
    """The graph of network file ``path``: from the cache, or built by ``build()`` and stored.

    Parameters
    ----------
    path : Path
        The network file (its bytes are hashed).
    cache_dir : Path
        Folder of cache entries.
    settings : dict
        Everything besides the file that changes the graph.
    crs : pyproj.CRS
        Working CRS.
    build : callable
        ``build() -> RoadGraph`` when the cache has no entry.
    """
    entry = cache_dir / f"{path.name}.{cache_key(path, settings)}.npz"
    if entry.exists():
        try:
            graph = load_graph(entry, crs)
        except Exception as exc:  # any damage: truncated, empty, foreign, inconsistent
            logger.warning(
                "network cache entry %s cannot be loaded (%s: %s); rebuilding it from %s",
                entry,
                type(exc).__name__,
                exc,
                path.name,
            )
        else:
            logger.info("network cache hit: %s", entry)
            return graph
    logger.info("network cache miss: building %s", path.name)
    graph = build()
    try:
        save_graph(graph, entry)
        logger.info("network cache stored: %s", entry)
    except OSError as exc:
        logger.warning("cannot write network cache %s (%s); continuing without it", entry, exc)
    return graph
