"""Reading and checking input layers.

Vector layers are read with pyogrio (Arrow I/O where it works, else GDAL's
encoding detection: a Latin-1 shapefile with or without .cpg; a layer's
``encoding:`` forces one): GeoPackage,
Shapefile, GeoJSON, FlatGeobuf, CSV with coordinate columns, and GeoParquet
(through pyarrow, which pyogrio's GDAL build does not include). A CSV in the
OurAirports ``runways.csv`` format becomes runway centre lines. Rasters are
opened with rasterio.

Every reader checks what would otherwise fail later and obscurely: missing file,
no CRS, no features, null or invalid geometries (invalid ones are repaired and
collections reduced by :mod:`siteselect.study.hygiene`, with counts and rows
in the log, never dropped silently).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import rasterio
import shapely

from siteselect._errors import LayerError
from siteselect.config import LayerSpec
from siteselect.config.expressions import ExpressionError, columns_of, condition
from siteselect.study.coordinates import check_coordinates
from siteselect.study.hygiene import layer_hygiene
from siteselect.study.rasters import band_index, open_raster, value_unit

logger = logging.getLogger(__name__)

_LON_NAMES = ("lon", "longitude", "long", "x", "lng", "longitude_deg")
_LAT_NAMES = ("lat", "latitude", "y", "latitude_deg")
_RUNWAY_COLUMNS = ("le_latitude_deg", "le_longitude_deg", "he_latitude_deg", "he_longitude_deg")
_NAME_COLUMNS = (
    "runway_name",
    "name",
    "NAME",
    "Name",
    "FaultName",
    "situs_name",
    "ident",
    "airport_ident",
)


@dataclass(frozen=True)
class LayerInfo:
    """What ``siteselect validate`` reports for one layer."""

    name: str
    path: Path
    kind: str
    count: int
    crs: str
    detail: str


def _is_csv(path: Path) -> bool:
    return path.suffix.lower() in (".csv", ".tsv", ".txt")


def _is_parquet(path: Path) -> bool:
    return path.suffix.lower() in (".parquet", ".geoparquet", ".pq")


def _pick(columns: list[str], wanted: str | None, names: tuple[str, ...], what: str) -> str:
    if wanted is not None:
        if wanted not in columns:
            raise KeyError(f"column {wanted!r} not found for {what}")
        return wanted
    lowered = {c.lower(): c for c in columns}
    for name in names:
        if name in lowered:
            return lowered[name]
    raise KeyError(f"no {what} column (looked for {', '.join(names)}); set 'x:'/'y:'")


def _runway_lines(frame: pd.DataFrame) -> gpd.GeoDataFrame:
    """OurAirports runways: a line from the low end to the high end of each runway."""
    coords = frame[list(_RUNWAY_COLUMNS)].apply(pd.to_numeric, errors="coerce").to_numpy()
    ok = np.isfinite(coords).all(axis=1)
    lines = np.full(len(frame), None, dtype=object)
    pairs = np.stack([coords[ok][:, [1, 0]], coords[ok][:, [3, 2]]], axis=1)
    lines[ok] = shapely.linestrings(pairs)
    if (~ok).any():
        logger.warning(
            "%d runway(s) without both end coordinates kept without geometry", (~ok).sum()
        )

    def text(column: str) -> pd.Series:
        """A column as text, "?" where missing (or wholly absent: checked by the airspace kind)."""
        if column not in frame.columns:
            return pd.Series("?", index=frame.index, dtype="string")
        return frame[column].astype("string").fillna("?")

    frame = frame.assign(
        runway_name=text("airport_ident") + " RWY " + text("le_ident") + "/" + text("he_ident")
    )
    return gpd.GeoDataFrame(frame, geometry=lines, crs="EPSG:4326")


def _read_csv(spec: LayerSpec) -> gpd.GeoDataFrame:
    frame = pyogrio.read_dataframe(
        spec.source,
        read_geometry=False,
        encoding=spec.encoding,
        AUTODETECT_TYPE="YES",
        EMPTY_STRING_AS_NULL="YES",
    )
    frame = pd.DataFrame(frame)
    crs = spec.crs or "EPSG:4326"
    if spec.x is None and all(c in frame.columns for c in _RUNWAY_COLUMNS):
        return _runway_lines(frame)
    x_col = _pick(list(frame.columns), spec.x, _LON_NAMES, "x/longitude")
    y_col = _pick(list(frame.columns), spec.y, _LAT_NAMES, "y/latitude")
    x = pd.to_numeric(frame[x_col], errors="coerce").to_numpy()
    y = pd.to_numeric(frame[y_col], errors="coerce").to_numpy()
    points = shapely.points(x, y)
    points[~(np.isfinite(x) & np.isfinite(y))] = None
    out = gpd.GeoDataFrame(frame, geometry=points, crs=crs)
    out.attrs["xy_columns"] = (x_col, y_col)  # named by coordinate-check messages
    return out


def _assumed_encoding(spec: LayerSpec) -> str:
    """The text encoding GDAL reads ``spec.source`` with (its .cpg, LDID, or UTF-8)."""
    if spec.encoding is not None:
        return spec.encoding
    try:
        return str(pyogrio.read_info(spec.source, layer=spec.layer).get("encoding") or "UTF-8")
    except Exception:  # pyogrio/GDAL raise many types; the caller reports the read error
        return "UTF-8"


def _decoded(spec: LayerSpec, read: Callable[[], Any]) -> Any:
    """``read()``, with undecodable text turned into a message that says what to set."""
    try:
        return read()
    except UnicodeDecodeError as exc:
        byte = exc.object[exc.start : exc.start + 1].hex() if exc.object else "?"
        cpg = spec.source.with_suffix(".cpg")
        said = (
            f"; its {cpg.name} says {cpg.read_text(errors='replace').strip()!r}"
            if (cpg.is_file())
            else ""
        )
        raise ValueError(
            f"its text is not valid {_assumed_encoding(spec)} (byte 0x{byte} at position "
            f"{exc.start} of a value{said}); set the layer's 'encoding:' to the file's "
            "encoding (e.g. encoding: latin1 or cp1252) or save it as UTF-8"
        ) from None


def _read_ogr(spec: LayerSpec, **kwargs: Any) -> pd.DataFrame:
    """pyogrio read with GDAL's encoding detection.

    Arrow first (fast); when it fails (pyogrio's Arrow path cannot decode
    non-UTF-8 text, e.g. a Latin-1 shapefile without a .cpg or with
    ``ANSI 1252``), again without Arrow, where pyogrio decodes with the encoding
    GDAL detects. ``spec.encoding`` forces an encoding (read without Arrow).
    """
    if spec.layer is not None:
        kwargs["layer"] = spec.layer
    if spec.encoding is not None:
        encoding = spec.encoding
        return _decoded(
            spec,
            lambda: pyogrio.read_dataframe(
                spec.source, use_arrow=False, encoding=encoding, **kwargs
            ),
        )
    try:
        return _check_text(pyogrio.read_dataframe(spec.source, use_arrow=True, **kwargs))
    except Exception as exc:  # pyogrio/GDAL/Arrow raise many types
        logger.info(
            "%s: the Arrow reader failed (%s: %s); reading without Arrow (encoding %s)",
            spec.source.name,
            type(exc).__name__,
            exc,
            _assumed_encoding(spec),
        )
    return _decoded(spec, lambda: pyogrio.read_dataframe(spec.source, use_arrow=False, **kwargs))


def _check_text(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame``, after checking that its Arrow-backed text is valid UTF-8.

    pyogrio's Arrow path hands GDAL's bytes over undecoded: with pandas' Arrow
    strings a Latin-1 value only fails later, wherever it is first used
    (``ArrowException: Wrapping Pe?asquitos failed``). Raise here instead.
    """
    for column in frame.columns:
        array = frame[column].array
        if pd.api.types.is_string_dtype(frame[column].dtype) and hasattr(array, "__arrow_array__"):
            array.__arrow_array__().validate(full=True)
    return frame


def read_attributes(spec: LayerSpec, columns: list[str]) -> pd.DataFrame:
    """Some attribute columns of a vector layer, without geometry (fast checks)."""
    if _is_parquet(spec.source):
        return pd.read_parquet(spec.source, columns=columns)
    return pd.DataFrame(_read_ogr(spec, columns=columns, read_geometry=False))


def layer_columns(spec: LayerSpec) -> tuple[list[str], str | None]:
    """The attribute column names of a vector layer and its CRS (None when it has none)."""
    if _is_parquet(spec.source):
        return _parquet_columns(spec.source)
    info = pyogrio.read_info(spec.source, layer=spec.layer)
    crs = info.get("crs")
    if _is_csv(spec.source):
        crs = spec.crs or "EPSG:4326"
    return [str(c) for c in info["fields"]], crs


def _parquet_columns(path: Path) -> tuple[list[str], str | None]:
    """Columns and CRS of a GeoParquet file from its schema and ``geo`` metadata.

    Per the GeoParquet specification a geometry column without ``crs`` is in
    OGC:CRS84 (longitude/latitude); a file without ``geo`` metadata has no CRS.
    """
    import json

    import pyarrow.parquet
    import pyproj

    schema = pyarrow.parquet.read_schema(path)
    geo = json.loads((schema.metadata or {}).get(b"geo", b"null") or b"null")
    if not isinstance(geo, dict):
        return list(schema.names), None
    primary = geo.get("primary_column", "geometry")
    column = (geo.get("columns") or {}).get(primary) or {}
    if "crs" not in column:
        return list(schema.names), "OGC:CRS84"
    if column["crs"] is None:
        return list(schema.names), None
    return list(schema.names), pyproj.CRS.from_user_input(column["crs"]).to_string()


def _read_any(spec: LayerSpec) -> gpd.GeoDataFrame:
    if _is_csv(spec.source):
        return _decoded(spec, lambda: _read_csv(spec))
    if _is_parquet(spec.source):
        return gpd.read_parquet(spec.source)
    frame = _read_ogr(spec)
    if not isinstance(frame, gpd.GeoDataFrame):
        raise LayerError(f"{spec.source}: has no geometry column")
    return frame


def _gdal_reason(exc: Exception) -> str:
    """GDAL's reason for a failed read, in a few words, and what to do."""
    text = str(exc)
    if "not a database" in text:
        return (
            "not a valid GeoPackage or SQLite file (damaged, truncated or another format); "
            "export it again"
        )
    reason = "; ".join(dict.fromkeys(part.strip() for part in text.split("; ") if part.strip()))
    if len(reason) > 240:
        reason = reason[:240] + "..."
    return f"{reason}; check that it opens in QGIS or ogrinfo, or export it again"


def apply_where(
    frame: gpd.GeoDataFrame, where: dict[str, Any] | str | None, what: str
) -> gpd.GeoDataFrame:
    """Keep rows whose columns equal the given value(s), or where a condition holds.

    A text ``where`` is a condition of :mod:`siteselect.config.expressions` (the
    candidates' ``where:``); missing columns and other errors raise
    :class:`LayerError` naming the columns the layer has.
    """
    if not where:
        return frame
    if isinstance(where, str):
        try:
            return frame[
                condition(where, pd.DataFrame(frame.drop(columns="geometry", errors="ignore")))
            ]
        except ExpressionError as exc:
            raise LayerError(f"{what}: where: {exc}") from None
    mask = np.ones(len(frame), dtype=bool)
    for column, wanted in where.items():
        if column not in frame.columns:
            columns = ", ".join(map(str, [c for c in frame.columns if c != "geometry"][:20]))
            raise LayerError(
                f"{what}: 'where' names column {column!r}, which the layer does not have "
                f"(columns: {columns}); use one of them"
            )
        values = wanted if isinstance(wanted, list) else [wanted]
        mask &= frame[column].isin(values).to_numpy()
    kept = frame[mask]
    logger.info("%s: 'where' kept %d of %d features", what, len(kept), len(frame))
    return kept


def _values_present(frame: pd.DataFrame, where: dict[str, Any] | None, most: int = 8) -> str:
    """``STATUS has OPEN, CLOSED`` for the columns of a ``where`` filter (its commonest values)."""
    parts = []
    for column in sorted(columns_of(where)) if isinstance(where, str) else where or {}:
        values = frame[column].dropna().astype(str).value_counts().index[:most]
        more = ", ..." if frame[column].nunique() > most else ""
        parts.append(f"{column} has {', '.join(values) or 'no values'}{more}")
    return "; ".join(parts)


def repair_geometries(
    frame: gpd.GeoDataFrame, what: str, diagnostics: dict[str, Any] | None = None
) -> gpd.GeoDataFrame:
    """Geometry hygiene of a layer (see :mod:`siteselect.study.hygiene`).

    Features without geometry, or with nothing left after repair, are removed
    with a warning naming their rows; invalid geometries are repaired (shells
    minus holes for polygons) and collections reduced to their highest-dimension
    part, with counts, rows and area changes in the log. The record of what was
    done goes to ``diagnostics[what]`` when a dict is given.
    """
    frame, record = layer_hygiene(frame, what)
    if diagnostics is not None:
        diagnostics[what] = record
    return frame


def _positional_index(frame: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Index = the feature's 0-based position in the file (a named index becomes a column)."""
    index = frame.index
    if isinstance(index, pd.RangeIndex) and index.start == 0 and index.step == 1:
        return frame
    return frame.reset_index(drop=all(name is None for name in index.names))


def read_vector(
    spec: LayerSpec,
    name: str,
    *,
    repair: bool = True,
    diagnostics: dict[str, Any] | None = None,
) -> gpd.GeoDataFrame:
    """Read a vector layer, filter it and check it.

    The frame's index is each feature's 0-based position in the file (kept
    through the filter and the hygiene), so that messages can name the 1-based
    source row (:func:`siteselect.study.hygiene.source_rows`).

    Parameters
    ----------
    spec : LayerSpec
        Where and how to read.
    name : str
        Layer name for messages (``layers.hospitals``).
    repair : bool
        Apply the geometry hygiene (:func:`repair_geometries`); the candidates
        do theirs in the working CRS, with their ids.
    diagnostics : dict, optional
        Receives the hygiene record under ``name``.

    Raises
    ------
    LayerError
        Unreadable file, missing CRS, no features (before or after ``where``).
    """
    if spec.is_raster:
        raise LayerError(f"{name}: {spec.source.name} is a raster; this needs a vector layer")
    try:
        frame = _read_any(spec)
    except LayerError:
        raise
    except KeyError as exc:
        raise LayerError(f"{name}: {spec.source}: {exc.args[0]}") from None
    except Exception as exc:  # pyogrio/GDAL raise many types
        raise LayerError(f"{name}: cannot read {spec.source.name}: {_gdal_reason(exc)}") from None
    if frame.crs is None:
        if spec.crs is None:
            raise LayerError(
                f"{name}: {spec.source.name} has no CRS; add 'crs: EPSG:....' to its config entry"
            )
        frame = frame.set_crs(spec.crs)
    elif spec.crs is not None and not _is_csv(spec.source):
        logger.warning(
            "%s: %s declares its CRS (%s); ignoring the configured crs %s",
            name,
            spec.source.name,
            frame.crs.name,
            spec.crs,
        )
    check_coordinates(frame, spec, name)
    if len(frame) == 0:
        raise LayerError(f"{name}: {spec.source.name} has no features")
    unfiltered = _positional_index(frame)
    frame = apply_where(unfiltered, spec.where, f"{name}: {spec.source.name}")
    if len(frame) == 0:
        raise LayerError(
            f"{name}: no feature of {spec.source.name} matches 'where: {spec.where}' "
            f"({_values_present(unfiltered, spec.where)}); check the values' spelling and case"
        )
    if repair:
        frame = repair_geometries(frame, name, diagnostics)
    geoms = frame.geometry.to_numpy()
    if len(frame) == 0 or (shapely.is_missing(geoms) | shapely.is_empty(geoms)).all():
        raise LayerError(f"{name}: {spec.source.name} has no feature with a geometry")
    logger.info("%s: read %d features from %s", name, len(frame), spec.source.name)
    return frame


def feature_names(frame: gpd.GeoDataFrame, spec: LayerSpec, fallback: str) -> np.ndarray:
    """A readable name per feature: ``name_column``, a usual name column, or ``fallback #i``."""
    column = spec.name_column
    if column is None:
        column = next((c for c in _NAME_COLUMNS if c in frame.columns), None)
    elif column not in frame.columns:
        columns = ", ".join(map(str, [c for c in frame.columns if c != "geometry"][:20]))
        raise LayerError(
            f"layers.{fallback}: {spec.source.name}: name_column {column!r} is not a column of "
            f"the layer (columns: {columns}); use one of them or leave name_column out"
        )
    if column is None:
        return np.array([f"{fallback} #{i + 1}" for i in range(len(frame))], dtype=object)
    names = frame[column].astype("string").fillna("").to_numpy(dtype=object)
    blank = names == ""
    names[blank] = [f"{fallback} #{i + 1}" for i in np.flatnonzero(blank)]
    return names


def probe_raster(spec: LayerSpec, name: str) -> LayerInfo:
    """Open a raster and check CRS, band and size (without reading its cells)."""
    try:
        with open_raster(spec.source, name) as src:
            band = band_index(src, spec.band, f"{name}: {spec.source.name}")
            unit = value_unit(src, band, spec.units, f"{name}.units")
            if src.width == 0 or src.height == 0:
                raise LayerError(f"{name}: {spec.source.name} is empty")
            res = f"{src.res[0]:g} x {src.res[1]:g}"
            detail = f"{src.width} x {src.height} cells of {res}, nodata {src.nodata}"
            detail += f", band {band} in {unit.label or 'undeclared units'}"
            return LayerInfo(name, spec.source, "raster", src.count, src.crs.to_string(), detail)
    except rasterio.errors.RasterioIOError as exc:
        raise LayerError(f"{name}: cannot open raster {spec.source}: {exc}") from None


def probe_layer(spec: LayerSpec, name: str) -> LayerInfo:
    """Open a layer fully enough to prove it usable (for ``siteselect validate``)."""
    if spec.is_raster:
        return probe_raster(spec, name)
    frame = read_vector(spec, name)
    kinds = ", ".join(sorted(frame.geom_type.dropna().unique()))
    crs = frame.crs.to_string() if frame.crs is not None else "?"
    return LayerInfo(name, spec.source, "vector", len(frame), crs, kinds)
