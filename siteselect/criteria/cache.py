"""The criteria cache: raw measurements kept on disk, keyed by what produced them.

``siteselect run`` stores every measurement (a criterion's or constraint's raw
values with everything that explains them: the feature names, per-candidate
reasons and missing-value reasons, the extra columns, the map overlays) and the
loaded candidates. A later ``run`` measures again only the entries whose key
changed; ``siteselect rescore`` re-scores from the cache alone.

Keys
    An entry's key is the SHA-256 of its *components* (JSON): the cache format,
    the siteselect version and a digest of its source code, the entry's kind and
    measurement parameters (the spec without ``weight``, ``transform``,
    ``label`` and the bound fields), for each layer it reads the layer's
    settings and the SHA-256 of its files (sidecars included: ``.dbf``,
    ``.aux.xml``...), the network's settings and file when it uses the network,
    the study area's file, the candidates (their key: source file, filters and
    CRS setting, plus a hash of their ids and geometries) and the working CRS.
    File hashes are remembered by path, size, mtime, ctime and inode
    (:mod:`siteselect.hashing`), so a rerun does not rehash unchanged gigabytes.

Layout (``cache.dir``, default ``.cache/criteria`` beside ``configs/``, next to
the road-graph cache; outside the output folder, so the folder swap of
:mod:`siteselect.outputs.files` never touches it)::

    entries/<key>/measurement.arrow    Arrow IPC: values, reasons, extra columns; metadata
    entries/<key>/overlay_<i>.parquet  the measurement's map layers (GeoParquet)
    candidates/<key>/candidates.parquet, study_area.parquet, meta.json
    runs/<config id>.json              the keys and components of a config's last run
    file_hashes.json                   remembered input hashes

Every entry is written into a temporary folder, then renamed into place: a run
killed mid-write leaves no half entry. An entry that cannot be read or does not
fit (truncated, foreign, another format, wrong length) is never trusted: it is
logged, deleted and measured again (in ``rescore``: reported as missing).
"""

from __future__ import annotations

import contextlib
import copy
import functools
import hashlib
import json
import logging
import os
import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import pyarrow as pa
import pyproj
import shapely

from siteselect import __version__
from siteselect._errors import SiteSelectError
from siteselect.criteria.base import KindSpec, Measurement
from siteselect.criteria.overlay import Overlay
from siteselect.hashing import load_remembered, remembered_hashes, sha256_file

if TYPE_CHECKING:
    from siteselect.config import Config
    from siteselect.study import Study

logger = logging.getLogger(__name__)

CACHE_FORMAT = 1
"""Bump when the stored layout or its meaning changes."""

NOT_MEASUREMENT_FIELDS = ("weight", "transform", "label")
"""Spec fields that do not change a measurement (nor do a kind's bound fields)."""


class CacheError(SiteSelectError, LookupError):
    """The cache lacks an entry ``rescore`` needs (never measured, or stale)."""


@functools.cache
def code_version() -> str:
    """siteselect's version plus a digest of its source files (a code change is a new version)."""
    digest = hashlib.sha256()
    package = Path(__file__).resolve().parents[1]
    for path in sorted(package.rglob("*.py")):
        digest.update(str(path.relative_to(package)).encode())
        digest.update(path.read_bytes())
    return f"{__version__}+{digest.hexdigest()[:16]}"


def key_of(components: dict[str, Any]) -> str:
    """The cache key of ``components``: SHA-256 of their JSON (keys sorted)."""
    return _digest(components)


def _digest(payload: Any) -> str:
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()


def measurement_params(spec: KindSpec) -> dict[str, Any]:
    """The spec's fields that change its measurement (not weight, transform, label, bounds)."""
    fields = spec.model_dump(mode="json")
    for name in (*NOT_MEASUREMENT_FIELDS, *spec.bound_fields):
        fields.pop(name, None)
    return fields


def _string_values(value: Any) -> set[str]:
    if isinstance(value, str):
        return {value}
    if isinstance(value, dict):
        return set().union(*(_string_values(v) for v in value.values())) if value else set()
    if isinstance(value, list | tuple):
        return set().union(*(_string_values(v) for v in value)) if value else set()
    return set()


def layers_read(spec: KindSpec, config: Config) -> list[str]:
    """The layers a spec may read: its ``layer_names()`` and any field naming a layer."""
    named = set(spec.layer_names()) | (
        _string_values(spec.model_dump(mode="json")) & set(config.layers)
    )
    return sorted(named & set(config.layers))


def geometry_hash(candidates: gpd.GeoDataFrame) -> str:
    """SHA-256 of the candidates' ids and geometries (WKB), in their order."""
    digest = hashlib.sha256()
    ids = candidates["candidate_id"].astype(str).to_numpy()
    digest.update("\0".join(ids.tolist()).encode())
    wkb = [w or b"" for w in shapely.to_wkb(candidates.geometry.to_numpy(), hex=False)]
    digest.update(np.asarray([len(w) for w in wkb], dtype=np.int64).tobytes())
    digest.update(b"".join(wkb))
    return digest.hexdigest()


def default_dir(config: Config) -> Path:
    """``.cache/criteria`` beside ``configs/`` (as the road-graph cache), else beside the config."""
    spec = getattr(config, "cache", None)
    if spec is not None and spec.dir is not None:
        return Path(spec.dir)
    base = config.source_path.resolve().parent if config.source_path else Path.cwd()
    root = base.parent if base.name == "configs" else base
    return root / ".cache" / "criteria"


def explain(now: dict[str, Any], before: dict[str, Any] | None) -> str:
    """What differs between two key components, for humans ("layers.hazard (pga.tif) changed")."""
    if before is None:
        return "not measured by the last run"
    changed = []
    for name in sorted(set(now) | set(before)):
        if now.get(name) == before.get(name):
            continue
        if name == "params":
            fields = sorted(
                k
                for k in set(now["params"]) | set(before.get("params") or {})
                if now["params"].get(k) != (before.get("params") or {}).get(k)
            )
            changed.append(f"measurement parameters changed ({', '.join(fields)})")
        elif name == "code":
            changed.append("siteselect changed")
        elif name.endswith(" file"):
            changed.append(f"input {name[:-5]} changed")
        else:
            changed.append(f"{name} changed")
    return "; ".join(changed) or "the key changed"


# ---------------------------------------------------------------- array columns


def _encode(values: np.ndarray) -> pa.Array:
    """A numpy column as Arrow; text (object) columns dictionary-encoded."""
    values = np.asarray(values)
    if values.dtype == object:
        return pa.array(values.tolist()).dictionary_encode()
    return pa.array(values)


def _decode(column: pa.ChunkedArray, dtype: str) -> np.ndarray:
    array = column.combine_chunks()
    if isinstance(array, pa.DictionaryArray):
        distinct = np.empty(len(array.dictionary) + 1, dtype=object)
        distinct[:-1] = array.dictionary.to_pylist()
        distinct[-1] = None
        indices = array.indices.fill_null(len(array.dictionary)).to_numpy(zero_copy_only=False)
        return distinct[indices]
    if pa.types.is_null(array.type):
        return np.full(len(array), None, dtype=object)
    if dtype == "object":
        return np.asarray(array.to_pylist(), dtype=object)
    return np.asarray(array.to_numpy(zero_copy_only=False)).astype(dtype, copy=False)


_OPTIONAL_ARRAYS = ("feature", "missing_reasons", "reasons", "exclusions")
_TEXT_FIELDS = ("unit", "label", "missing_reason", "phrase_low", "phrase_high")
_OVERLAY_FIELDS = ("name", "kind", "label_column", "size_column", "color", "show", "fill")


def measurement_table(measurement: Measurement, meta: dict[str, Any]) -> pa.Table:
    """``measurement`` as one Arrow table; what is not per candidate goes in its metadata."""
    columns: dict[str, pa.Array] = {"values": pa.array(np.asarray(measurement.values, "float64"))}
    dtypes: dict[str, str] = {}
    for name in _OPTIONAL_ARRAYS:
        array = getattr(measurement, name)
        if array is not None:
            array = np.asarray(array)
            columns[name], dtypes[name] = _encode(array), str(array.dtype)
    for name, array in measurement.extra_columns.items():
        array = np.asarray(array)
        columns[f"extra:{name}"], dtypes[f"extra:{name}"] = _encode(array), str(array.dtype)
    meta = {
        **meta,
        "format": CACHE_FORMAT,
        "n": len(measurement.values),
        "dtypes": dtypes,
        "extra": list(measurement.extra_columns),
        "text": {f: getattr(measurement, f) for f in _TEXT_FIELDS},
        "overlays": [{f: getattr(o, f) for f in _OVERLAY_FIELDS} for o in measurement.overlays],
    }
    table = pa.table(columns)
    return table.replace_schema_metadata({"siteselect": json.dumps(meta, default=str)})


def table_measurement(table: pa.Table, folder: Path) -> tuple[Measurement, dict[str, Any]]:
    """The measurement of :func:`measurement_table` (overlays from ``folder``), its metadata."""
    meta = json.loads(table.schema.metadata[b"siteselect"])
    if meta.get("format") != CACHE_FORMAT or table.num_rows != meta["n"]:
        raise ValueError(f"format {meta.get('format')}, {table.num_rows} rows for {meta['n']}")
    dtypes = meta["dtypes"]
    arrays = {
        name: _decode(table.column(name), dtypes[name])
        for name in table.column_names
        if name != "values"
    }
    overlays = []
    for i, fields in enumerate(meta["overlays"]):
        gdf = gpd.read_parquet(folder / f"overlay_{i}.parquet")
        overlays.append(Overlay(gdf=gdf, **fields))
    measurement = Measurement(
        values=table.column("values").to_numpy(),
        extra_columns={name: arrays[f"extra:{name}"] for name in meta["extra"]},
        overlays=overlays,
        **{f: arrays.get(f) for f in _OPTIONAL_ARRAYS},
        **meta["text"],
    )
    return measurement, meta


def _write_folder(target: Path, write: Any) -> None:
    """Fill a temporary folder with ``write(folder)`` and rename it to ``target`` (atomic)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    try:
        umask = os.umask(0)
        os.umask(umask)
        partial.chmod(0o777 & ~umask)  # mkdtemp makes it private; entries are plain folders
        write(partial)
        for path in partial.iterdir():
            with open(path, "rb") as stream, contextlib.suppress(OSError):
                os.fsync(stream.fileno())
        try:
            os.rename(partial, target)
        except OSError:
            if not target.is_dir():  # else another run stored the same entry first
                raise
    finally:
        shutil.rmtree(partial, ignore_errors=True)


def _damaged(what: str, folder: Path, exc: Exception) -> None:
    logger.warning(
        "criteria cache: %s %s cannot be read (%s: %s); measuring it again",
        what,
        folder,
        type(exc).__name__,
        exc,
    )
    shutil.rmtree(folder, ignore_errors=True)


class CriteriaCache:
    """The criteria cache of one config (see the module docstring).

    Parameters
    ----------
    config : Config
        The run's configuration.
    folder : Path, optional
        The cache folder; default :func:`default_dir`.
    """

    def __init__(self, config: Config, folder: Path | None = None) -> None:
        self.config = config
        self.folder = Path(folder) if folder is not None else default_dir(config)
        self._files: dict[str, str] = {}
        load_remembered(self.folder / "file_hashes.json")

    # ------------------------------------------------------------ keys

    def file_hash(self, path: Path) -> str:
        """SHA-256 of an input file and its sidecars (same stem: ``.dbf``, ``.tif.aux.xml``)."""
        path = Path(path)
        text = str(path)
        if text not in self._files:
            if not path.exists():
                self._files[text] = "missing"
            else:
                siblings = sorted(
                    p
                    for p in path.parent.glob(f"{path.stem}.*")
                    if p.is_file() and p != path and not p.name.endswith((".tmp", "-journal"))
                )
                parts = [sha256_file(path)] if path.is_file() else ["folder"]
                parts += [f"{p.name}:{sha256_file(p)}" for p in siblings]
                self._files[text] = parts[0] if len(parts) == 1 else _digest(parts)
        return self._files[text]

    def _input(self, name: str, spec: Any) -> dict[str, Any]:
        settings = spec.model_dump(mode="json")
        source = settings.pop("source", None)
        settings.pop("cache_dir", None)
        settings.pop("cache", None)
        out = {f"{name} settings": settings}
        if source is not None:
            out[f"{name} file"] = self.file_hash(Path(source))
        return out

    def candidates_components(self) -> dict[str, Any]:
        """What the loaded candidates depend on."""
        config = self.config
        out: dict[str, Any] = {"format": CACHE_FORMAT, "code": code_version(), "crs": config.crs}
        out.update(self._input("candidates", config.candidates))
        if config.study_area is not None:
            out.update(self._input("study_area", config.study_area))
        return out

    def entry_components(
        self, spec: KindSpec, candidates_key: str, geometry: str, crs: pyproj.CRS
    ) -> dict[str, Any]:
        """What the measurement of ``spec`` depends on (see the module docstring)."""
        config = self.config
        out: dict[str, Any] = {
            "format": CACHE_FORMAT,
            "code": code_version(),
            "kind": spec.kind,
            "params": measurement_params(spec),
            "candidates": candidates_key,
            "candidates geometry": geometry,
            "working crs": crs.to_wkt(),
        }
        for name in layers_read(spec, config):
            out.update(self._input(f"layers.{name}", config.layers[name]))
        if spec.uses_network() and config.network is not None:
            out.update(self._input("network", config.network))
        if config.study_area is not None:
            out.update(self._input("study_area", config.study_area))
        return out

    # ------------------------------------------------------------ entries

    def load_entry(self, key: str, n: int) -> tuple[Measurement, dict[str, Any]] | None:
        """The stored measurement of ``key`` and its metadata; None when absent or damaged."""
        folder = self.folder / "entries" / key
        if not folder.is_dir():
            return None
        try:
            with pa.memory_map(str(folder / "measurement.arrow")) as source:
                table = pa.ipc.open_file(source).read_all()
            measurement, meta = table_measurement(table, folder)
            if meta.get("key") != key or len(measurement.values) != n:
                raise ValueError(f"entry of {meta.get('key')} for {meta['n']} candidates")
        except Exception as exc:  # any damage: never trusted, never fatal
            _damaged("entry", folder, exc)
            return None
        return measurement, meta

    def store_entry(self, key: str, measurement: Measurement, meta: dict[str, Any]) -> None:
        """Store ``measurement`` under ``key`` (atomically; a failure is logged, not raised)."""

        def write(folder: Path) -> None:
            table = measurement_table(measurement, {**meta, "key": key})
            path = str(folder / "measurement.arrow")
            with pa.OSFile(path, "wb") as sink, pa.ipc.new_file(sink, table.schema) as writer:
                writer.write_table(table)
            for i, overlay in enumerate(measurement.overlays):
                overlay.gdf.to_parquet(folder / f"overlay_{i}.parquet", index=False)

        try:
            _write_folder(self.folder / "entries" / key, write)
        except Exception as exc:
            logger.warning("criteria cache: cannot store %s (%s: %s)", key, type(exc).__name__, exc)

    def store_study(self, key: str, study: Study, geometry: str) -> None:
        """Store the loaded candidates and study area under ``key`` (atomic, failure logged)."""
        target = self.folder / "candidates" / key
        if target.is_dir():
            return

        def write(folder: Path) -> None:
            study.candidates.to_parquet(folder / "candidates.parquet", index=False)
            if study.study_area is not None:
                study.study_area.to_parquet(folder / "study_area.parquet", index=False)
            meta = {
                "format": CACHE_FORMAT,
                "key": key,
                "geometry": geometry,
                "n": len(study.candidates),
                "crs": study.crs.to_json(),
                "diagnostics": study.diagnostics,
            }
            (folder / "meta.json").write_text(json.dumps(meta, default=str), encoding="utf-8")

        try:
            _write_folder(target, write)
        except Exception as exc:
            logger.warning("criteria cache: cannot store the candidates (%s)", exc)

    def load_study(self, key: str) -> tuple[Study, str] | None:
        """The cached study of candidates ``key`` and its geometry hash; None: absent or damaged."""
        from siteselect.study import Study

        folder = self.folder / "candidates" / key
        if not folder.is_dir():
            return None
        try:
            meta = json.loads((folder / "meta.json").read_text(encoding="utf-8"))
            if meta.get("format") != CACHE_FORMAT or meta.get("key") != key:
                raise ValueError("another format or key")
            candidates = gpd.read_parquet(folder / "candidates.parquet")
            if len(candidates) != meta["n"]:
                raise ValueError(f"{len(candidates)} candidates for {meta['n']}")
            area_path = folder / "study_area.parquet"
            area = gpd.read_parquet(area_path) if area_path.exists() else None
            crs = pyproj.CRS.from_json(meta["crs"])
        except Exception as exc:
            _damaged("candidates", folder, exc)
            return None
        study = Study(
            config=self.config,
            crs=crs,
            candidates=candidates,
            study_area=area,
            diagnostics=copy.deepcopy(meta["diagnostics"]),
        )
        return study, meta["geometry"]

    # ------------------------------------------------------------ run records

    def _record_path(self) -> Path:
        source = self.config.source_path
        ident = _digest(str(source.resolve()) if source else "in-code config")[:24]
        return self.folder / "runs" / f"{ident}.json"

    def last_run(self) -> dict[str, Any]:
        """The keys and components of this config's last run ({} when none or unreadable)."""
        try:
            record = json.loads(self._record_path().read_text(encoding="utf-8"))
            return record if isinstance(record, dict) else {}
        except (OSError, ValueError):
            return {}

    def save_run(self, record: dict[str, Any]) -> None:
        """Remember this run's keys, drop entries no run refers to, save the file hashes."""
        try:
            target = self._record_path()
            target.parent.mkdir(parents=True, exist_ok=True)
            _atomic_text(target, json.dumps(record, default=str, sort_keys=True))
            self._prune()
            _atomic_text(
                self.folder / "file_hashes.json", json.dumps(remembered_hashes(), sort_keys=True)
            )
        except OSError as exc:
            logger.warning("criteria cache: cannot save the run record (%s)", exc)

    def _prune(self) -> None:
        """Delete entries and candidates no run record refers to."""
        used: set[str] = set()
        for path in (self.folder / "runs").glob("*.json"):
            try:
                record = json.loads(path.read_text(encoding="utf-8"))
                used.add(record["candidates"]["key"])
                used.update(entry["key"] for entry in record["entries"].values())
            except (OSError, ValueError, KeyError, TypeError):
                continue
        for sub in ("entries", "candidates"):
            for folder in (self.folder / sub).glob("*"):
                if folder.is_dir() and folder.name not in used and not folder.name.startswith("."):
                    shutil.rmtree(folder, ignore_errors=True)


def _atomic_text(target: Path, text: str) -> None:
    partial = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        partial.write_text(text, encoding="utf-8")
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)
