"""Everything ``run`` checks before computing; ``validate`` runs the same checks.

:func:`preflight` stops, with one line naming the config line and the fix, on
what would otherwise fail after minutes of computing:

* the working CRS (``crs:`` is parsed when the config loads; ``auto`` is
  resolved here from the candidates' extent);
* the candidate layer: readable, has a CRS, has the ``id`` column (and the
  ``where`` columns), and the ids are present and unique (only those columns are
  read, not the geometries);
* rasters: every raster layer opens and has a CRS; every band asked for (the
  layer's ``band``, a criterion's ``band``, ``amplification.vs30_band``) exists,
  by index or by name; layers a raster kind needs are rasters;
* the output folder: not a file nor a mount point, creatable and writable, and
  not a folder holding the config or its inputs (the whole folder is replaced).
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import pyogrio
import shapely

from siteselect._errors import LayerError, OutputError
from siteselect.config.crs import is_auto, parse_working_crs
from siteselect.config.expressions import columns_of
from siteselect.config.yaml_doc import PathKey, display_path
from siteselect.outputs import OUTPUT_FILES, check_output_folder
from siteselect.outputs.manifest import input_files
from siteselect.study.attributes import filter_where
from siteselect.study.layers import layer_columns, read_attributes
from siteselect.study.rasters import open_raster
from siteselect.study.zonal import band_index

if TYPE_CHECKING:
    from siteselect.config import Config, LayerSpec

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Check:
    """One passed check, for ``siteselect validate``'s table."""

    what: str
    detail: str


def preflight(
    config: Config, out_dir: Path | None = None, out_option: str | None = None
) -> list[Check]:
    """Run every check ``run`` would otherwise only fail after computing.

    Parameters
    ----------
    config : Config
        A loaded config.
    out_dir : Path, optional
        The output folder (default: the config's ``outputs.dir``).
    out_option : str, optional
        How the user named ``out_dir`` when not through the config (``--out``).

    Returns
    -------
    list of Check
        What was checked, in order.

    Raises
    ------
    siteselect._errors.SiteSelectError
        The first problem, one line with the config location.
    """
    checks = [_candidates(config)]
    checks.append(_working_crs(config, checks[0]))
    checks += _rasters(config)
    checks.append(_outputs(config, out_dir, out_option))
    for check in checks:
        logger.debug("preflight: %s: %s", check.what, check.detail)
    return checks


# --- candidates and the working CRS ----------------------------------------------------


@dataclass(frozen=True)
class _CandidateCheck(Check):
    bounds_4326: tuple[float, float, float, float] | None = None


def _grid_check(config: Config) -> _CandidateCheck:
    """A generated grid: its extent is the study area's."""
    grid, area = config.candidates.grid, config.study_area
    assert grid is not None and area is not None  # load_config requires a study area
    try:
        crs = layer_columns(area)[1]
    except Exception:  # pyogrio/GDAL raise many types; the run reports the read error
        crs = None
    detail = f"a {grid.shape} grid of {grid.cell_m:g} m cells over {area.source.name}"
    return _CandidateCheck("candidates", detail, _bounds_4326(area, crs))


def _where_columns(where: object) -> list[str]:
    """The columns a ``where:`` (a condition or a column mapping) reads."""
    if isinstance(where, str):
        return sorted(columns_of(where))
    return list(where or {})  # type: ignore[call-overload]


def _candidates(config: Config) -> _CandidateCheck:
    spec = config.candidates
    if spec.source is None:
        return _grid_check(config)
    name = spec.source.name
    if spec.is_raster:
        raise config.error(
            ("candidates", "source"), f"{name} is a raster; candidates must be polygons or points"
        )
    try:
        columns, crs = layer_columns(spec)
    except Exception as exc:  # pyogrio/GDAL raise many types
        raise config.error(
            ("candidates", "source"), f"cannot read {name}: {exc}", LayerError
        ) from None
    if crs is None and spec.crs is None:
        raise config.error(
            ("candidates", "source"),
            f"{name} has no CRS; add 'crs: EPSG:....' (the CRS its coordinates are in) "
            "under candidates",
            LayerError,
        )
    where = _where_columns(spec.where)
    listed = spec.attributes if isinstance(spec.attributes, list) else []
    wanted = [c for c in [spec.id, *where, spec.name_column, *listed] if c is not None]
    for column in dict.fromkeys(wanted):
        if column not in columns:
            loc: PathKey = (
                ("candidates", "id")
                if column == spec.id
                else ("candidates", "name_column")
                if column == spec.name_column
                else ("candidates", "where")
                if isinstance(spec.where, str)
                else ("candidates", "where", column)
                if column in where
                else ("candidates", "attributes")
            )
            raise config.error(
                loc,
                f"column {column!r} not in {name} (columns: {', '.join(columns[:20])}"
                f"{', ...' if len(columns) > 20 else ''})",
                LayerError,
            )
    detail = f"{name}: columns present"
    if spec.id is not None:
        detail = _check_ids(config, list(dict.fromkeys(wanted)))
    return _CandidateCheck("candidates", detail, _bounds_4326(spec, crs))


def _check_ids(config: Config, columns: list[str]) -> str:
    spec = config.candidates
    assert spec.id is not None
    name = spec.source.name
    try:
        frame = read_attributes(spec, columns)
    except Exception as exc:  # pyogrio/GDAL raise many types
        raise config.error(
            ("candidates", "source"), f"cannot read {name}: {exc}", LayerError
        ) from None
    frame = frame.assign(_row=np.arange(1, len(frame) + 1))
    try:
        frame = filter_where(frame, spec)
    except LayerError as exc:
        raise config.locate(exc, ("candidates", "where")) from None
    ids = frame[spec.id].astype("string").str.strip()
    blank = ids.isna() | (ids == "")
    if blank.any():
        rows = ", ".join(map(str, frame["_row"][blank.to_numpy()].head(5)))
        raise config.error(
            ("candidates", "id"),
            f"{name}: {int(blank.sum())} candidate(s) have no {spec.id} (rows {rows}, "
            "counted from 1 in file order); fill them in or omit 'id:' (row numbers)",
            LayerError,
        )
    repeated = ids.duplicated(keep=False).to_numpy()
    if repeated.any():
        first = ids[repeated].iloc[0]
        rows = frame["_row"][(ids == first).to_numpy()].head(5).tolist()
        values = int(ids[repeated].nunique())
        more = f" (and {values - 1} more repeated value(s))" if values > 1 else ""
        raise config.error(
            ("candidates", "id"),
            f"{name}: {spec.id} is not unique: {first!r} is on rows "
            f"{', '.join(map(str, rows))}{more}; choose a unique column or omit 'id:'",
            LayerError,
        )
    return f"{name}: {len(ids):,} candidates, {spec.id} unique"


def _bounds_4326(spec: LayerSpec, crs: Any) -> tuple[float, float, float, float] | None:
    """The layer's extent in lon/lat (None where the format has no cheap extent)."""
    try:
        bounds = pyogrio.read_info(spec.source, layer=spec.layer, force_total_bounds=True).get(
            "total_bounds"
        )
        source = crs if crs is not None else spec.crs
        if bounds is None or source is None or not np.all(np.isfinite(bounds)):
            return None
        box = gpd.GeoSeries([shapely.box(*bounds)], crs=source).to_crs("EPSG:4326")
        values = tuple(float(v) for v in box.total_bounds)
        return values if np.all(np.isfinite(values)) else None  # type: ignore[return-value]
    except Exception:  # not every format reports an extent; the run will compute it
        return None


def _working_crs(config: Config, candidates: _CandidateCheck) -> Check:
    try:
        crs = parse_working_crs(config.crs)
    except ValueError as exc:
        raise config.error(("crs",), str(exc)) from None
    if crs is not None:
        return Check("working CRS", f"{crs.name} (EPSG:{crs.to_epsg()})")
    assert is_auto(config.crs)
    if candidates.bounds_4326 is None:
        return Check("working CRS", "auto: the local UTM zone, picked when the run starts")
    lon0, lat0, lon1, lat1 = candidates.bounds_4326
    if not (-180 <= lon0 <= lon1 <= 180 and -90 <= lat0 <= lat1 <= 90):
        source = config.candidates.source or getattr(config.study_area, "source", None)
        raise config.error(
            ("candidates", "source") if config.candidates.source else ("study_area", "source"),
            f"{getattr(source, 'name', '?')}: its extent is not on the Earth in its CRS "
            f"(lon {lon0:.4g}..{lon1:.4g}, lat {lat0:.4g}..{lat1:.4g}); check its CRS",
            LayerError,
        )
    try:
        crs = gpd.GeoSeries(
            [shapely.box(lon0, lat0, lon1, lat1)], crs="EPSG:4326"
        ).estimate_utm_crs(datum_name="WGS 84")
    except RuntimeError:
        raise config.error(
            ("crs",), "no UTM zone found for the candidates' extent; set 'crs:' explicitly"
        ) from None
    return Check("working CRS", f"auto: {crs.name} (EPSG:{crs.to_epsg()})")


# --- rasters and bands -----------------------------------------------------------------


def _band_uses(config: Config) -> list[tuple[PathKey, str, int | str]]:
    """(config location, raster layer, band) of every band a run will read."""
    uses: list[tuple[PathKey, str, int | str]] = []
    for section in ("constraints", "criteria"):
        for entry, spec in getattr(config, section).items():
            band = getattr(spec, "band", None)
            layer = getattr(spec, "layer", None)
            if band is not None and isinstance(layer, str):
                uses.append(((section, entry, "band"), layer, band))
            amplification = getattr(spec, "amplification", None)
            vs30_band = getattr(amplification, "vs30_band", None)
            if vs30_band is not None:
                uses.append(
                    (
                        (section, entry, "amplification", "vs30_band"),
                        amplification.vs30_layer,
                        vs30_band,
                    )
                )
    return uses


def _raster_needs(config: Config) -> list[tuple[PathKey, str]]:
    """(config location, layer) of every layer a kind reads as a raster."""
    needs: list[tuple[PathKey, str]] = []
    for section in ("constraints", "criteria"):
        for entry, spec in getattr(config, section).items():
            if "band" in type(spec).model_fields and isinstance(getattr(spec, "layer", None), str):
                needs.append(((section, entry, "layer"), spec.layer))
            amplification = getattr(spec, "amplification", None)
            if amplification is not None:
                needs.append(
                    ((section, entry, "amplification", "vs30_layer"), amplification.vs30_layer)
                )
            ground = getattr(spec, "ground", None)
            if isinstance(ground, str):
                needs.append(((section, entry, "ground"), ground))
    return needs


def _rasters(config: Config) -> list[Check]:
    for loc, layer in _raster_needs(config):
        spec = config.layers.get(layer)
        if spec is not None and not spec.is_raster:
            raise config.error(
                loc,
                f"layer {layer!r} ({spec.source.name}) is not a raster; this needs a GeoTIFF "
                "or another GDAL raster",
            )
    checks: list[Check] = []
    extra = _band_uses(config)
    for name, spec in config.layers.items():
        if not spec.is_raster:
            continue
        with open_raster(spec.source, f"{config.where(('layers', name, 'source'))}") as src:
            bands = [(("layers", name, "band"), spec.band)]
            bands += [(loc, band) for loc, layer, band in extra if layer == name]
            for loc, band in bands:
                try:
                    band_index(src, band, spec.source.name)
                except LayerError as exc:
                    raise config.error(loc, str(exc), LayerError) from None
            checks.append(
                Check(
                    f"layers.{name}",
                    f"{spec.source.name}: {src.count} band(s), band {spec.band} readable",
                )
            )
    return checks


# --- the output folder -------------------------------------------------------------------


def _contains(folder: Path, path: Path) -> bool:
    try:
        path.resolve().relative_to(folder)
    except ValueError:
        return False
    return True


def _own_run_json(folder: Path, path: Path) -> bool:
    """The folder's own run.json (``siteselect run OUTDIR/run.json``): read before the
    folder is replaced, so it may be the config."""
    return path.resolve() == folder / "run.json"


def _outputs(config: Config, out_dir: Path | None, out_option: str | None) -> Check:
    if out_dir is None:
        out_dir = config.outputs.dir
        where = config.where(("outputs", "dir"))
    else:
        where = out_option or "output folder"
    assert out_dir is not None
    folder = check_output_folder(out_dir, where)
    protected = {"the config": config.source_path, "the working directory": Path.cwd()}
    protected.update({f"input {k}": v for k, v in input_files(config).items() if v is not None})
    for what, path in protected.items():
        if path is not None and _contains(folder, path) and not _own_run_json(folder, path):
            raise OutputError(
                f"{where}: {display_path(out_dir)} holds {what} ({display_path(path)}); "
                "siteselect replaces the whole output folder: choose a folder of its own "
                "(e.g. outputs/<study>)"
            )
    state = "exists; our files will be replaced" if folder.is_dir() else "will be created"
    if folder.is_dir():
        others = [e.name for e in os.scandir(folder) if e.name not in OUTPUT_FILES]
        if others:
            state += f", {len(others)} other entr{'y' if len(others) == 1 else 'ies'} kept"
    return Check("outputs", f"{display_path(out_dir)}: writable, {state}")
