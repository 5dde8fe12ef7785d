"""Coordinates that cannot be right: the checks, and the likely cause of each failure.

Three checks stop a run with one line (exit 2) instead of ranking from
misplaced data:

* **impossible for the CRS** (:func:`check_coordinates`, on every vector layer
  as read): a geographic CRS with a longitude beyond ±180 or a latitude beyond
  ±90 (projected metres or feet without a CRS, or with EPSG:4326 set wrongly;
  swapped axes), or a projected CRS whose coordinates all lie within ±180/±90
  (degrees under a projected CRS);
* **far from the study** (:func:`check_near`): a layer with no feature within
  :data:`NEAR_STUDY_M` of the study area (of the candidates' extent without
  one);
* candidates outside the study area (``study.load_study``).

When a reference region is known, :func:`diagnose` tries the usual mistakes on
the layer's coordinates (swapped axes, a dropped minus sign, degrees read as
metres, the working UTM zone or its neighbours, the State Plane and other
NAD83 zones over the region, in metres or US feet) and names the one that
puts the layer where it belongs. ``allow_outside: true`` on a layer skips the
heuristic checks (degrees under a projected CRS, far from the study); the
impossible coordinates of a geographic CRS are always an error.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING

import geopandas as gpd
import numpy as np
import pyproj
import shapely
from pyproj.aoi import AreaOfInterest
from pyproj.database import query_crs_info
from pyproj.enums import PJType

from siteselect._errors import LayerError

logger = logging.getLogger(__name__)

if TYPE_CHECKING:
    from siteselect.config import LayerSpec

NEAR_STUDY_M = 50_000.0
"""A layer with no feature within this distance of the study area is misplaced."""

MIN_SHARE_INSIDE = 0.5
"""Share of a layer's sampled points an alternative must put near the study to be named."""

_SAMPLE_POINTS = 2000
_CSV_SUFFIXES = (".csv", ".tsv", ".txt")


class CoordinateError(LayerError):
    """Coordinates that cannot be right; carries the layer as read for a diagnosis.

    Attributes
    ----------
    name : str
        The layer's config location (``layers.hospitals``).
    problem, cause : str
        What is wrong (file, evidence) and the likely cause with the fix, as
        far as the values alone tell; :meth:`explained` names a better cause
        when a reference region is known.
    frame : geopandas.GeoDataFrame
        The layer as read, in its own CRS.
    """

    def __init__(self, name: str, problem: str, cause: str, frame: gpd.GeoDataFrame) -> None:
        super().__init__(f"{name}: {problem}; {cause}")
        self.name = name
        self.problem = problem
        self.cause = cause
        self.frame = frame

    def explained(self, spec: LayerSpec, reference: Reference | None, where: str) -> LayerError:
        """The error with ``where`` as its prefix and the diagnosis against ``reference``."""
        cause = diagnose(self.frame, spec, reference) if reference is not None else None
        return LayerError(f"{where}: {self.problem}; {cause or self.cause}")


def _span(values: np.ndarray) -> str:
    return f"{_num(values.min())}..{_num(values.max())}"


def _num(value: float) -> str:
    """Coordinates for messages: whole metres/feet, six digits of degrees.

    >>> _num(3621200.4), _num(-117.15834), _num(1.5e12)
    ('3621200', '-117.158', '1.5e+12')
    """
    if abs(value) >= 1e9:
        return f"{value:.3g}"
    return f"{value:.0f}" if abs(value) >= 1000 else f"{value:.6g}"


def _extremes(frame: gpd.GeoDataFrame) -> tuple[np.ndarray, np.ndarray] | None:
    """([xmin, xmax], [ymin, ymax]) over the layer's geometries; None without any."""
    bounds = shapely.bounds(frame.geometry.to_numpy())
    bounds = bounds[~np.isnan(bounds).any(axis=1)]
    if len(bounds) == 0:
        return None
    x = np.array([bounds[:, 0].min(), bounds[:, 2].max()])
    y = np.array([bounds[:, 1].min(), bounds[:, 3].max()])
    return x, y


def _sample(frame: gpd.GeoDataFrame) -> np.ndarray:
    """Finite vertex coordinates of up to :data:`_SAMPLE_POINTS` evenly chosen features, (n, 2)."""
    geoms = frame.geometry.to_numpy()
    if len(geoms) > _SAMPLE_POINTS:
        geoms = geoms[np.linspace(0, len(geoms) - 1, _SAMPLE_POINTS).astype(np.int64)]
    xy = shapely.get_coordinates(geoms)
    xy = xy[np.isfinite(xy).all(axis=1)]
    if len(xy) > _SAMPLE_POINTS:
        xy = xy[np.linspace(0, len(xy) - 1, _SAMPLE_POINTS).astype(np.int64)]
    return xy


def crs_origin(spec: LayerSpec, frame: gpd.GeoDataFrame) -> str:
    """Who set the layer's CRS: ``"default"`` (a CSV without crs:), ``"config"`` or ``"file"``."""
    is_csv = spec.source.suffix.lower() in _CSV_SUFFIXES
    if is_csv and spec.crs is None:
        return "default"
    if spec.crs is not None and (is_csv or pyproj.CRS(frame.crs).equals(pyproj.CRS(spec.crs))):
        return "config"
    return "file"


def _fix_crs(spec: LayerSpec, frame: gpd.GeoDataFrame, code: str) -> str:
    """What to do so the layer is read in ``code``."""
    origin = crs_origin(spec, frame)
    if origin == "file":
        return (
            f"the file declares {pyproj.CRS(frame.crs).name}: assign {code} instead "
            f"(ogr2ogr -a_srs {code} fixed{spec.source.suffix} {spec.source.name})"
        )
    return f"set crs: {code} for this layer"


def _swap_fix(spec: LayerSpec, frame: gpd.GeoDataFrame) -> str:
    """How to swap the axes back: the CSV columns to name, else the file."""
    columns = frame.attrs.get("xy_columns")
    if columns:
        return f"set x: {columns[1]} and y: {columns[0]}"
    if spec.source.suffix.lower() in _CSV_SUFFIXES:
        return "swap the columns named by x: and y:"
    return "the file stores y before x: flip its axes (e.g. SpatiaLite ST_FlipCoordinates)"


def check_coordinates(frame: gpd.GeoDataFrame, spec: LayerSpec, name: str) -> None:
    """Raise :class:`CoordinateError` when the coordinates cannot be right for the CRS.

    Parameters
    ----------
    frame : geopandas.GeoDataFrame
        The layer as read, with its CRS set.
    spec : LayerSpec
        Its config entry (``crs``, ``allow_outside``, CSV columns).
    name : str
        Its config location for messages (``layers.hospitals``).
    """
    if frame.crs is None or len(frame) == 0:
        return
    extremes = _extremes(frame)
    if extremes is None:
        return
    crs = pyproj.CRS(frame.crs)
    x, y = extremes
    evidence = f"x {_span(x)}, y {_span(y)} under {crs.to_string()}"
    file = spec.source.name
    if crs.is_geographic:
        if (np.abs(x) <= 180).all() and (np.abs(y) <= 90).all():
            return
        raise CoordinateError(
            name,
            f"{file}: coordinates beyond ±180° longitude or ±90° latitude ({evidence})",
            _geographic_cause(x, y, spec, frame),
            frame,
        )
    if spec.allow_outside:
        return
    if (np.abs(x) <= 180).all() and (np.abs(y) <= 90).all():
        raise CoordinateError(
            name,
            f"{file}: coordinates look like degrees ({evidence}) but {crs.name} is projected",
            f"they are probably longitudes/latitudes: {_fix_crs(spec, frame, 'EPSG:4326')}"
            " (or set allow_outside: true if they are right)",
            frame,
        )


def _geographic_cause(
    x: np.ndarray, y: np.ndarray, spec: LayerSpec, frame: gpd.GeoDataFrame
) -> str:
    """The likely cause of out-of-range longitudes/latitudes, from the values alone."""
    if (np.abs(y) <= 180).all() and (np.abs(x) <= 90).all():
        return f"x and y look swapped: {_swap_fix(spec, frame)}"
    if (x >= 0).all() and (x <= 360).all() and (np.abs(y) <= 90).all():
        return "longitudes look like 0..360: subtract 360 from those above 180"
    origin = crs_origin(spec, frame)
    if origin == "default":
        return (
            "they look like projected metres or feet, read as EPSG:4326 because the CSV "
            "layer sets no crs:; set crs: to their projected CRS (e.g. the UTM zone EPSG:326xx)"
        )
    if origin == "config":
        return (
            "they look like projected metres or feet: set the layer's crs: to their projected "
            "CRS (e.g. the UTM zone EPSG:326xx)"
        )
    return (
        "they look like projected metres or feet under a wrong CRS in the file: assign the "
        f"right one (ogr2ogr -a_srs EPSG:.... fixed{spec.source.suffix} {spec.source.name})"
    )


# --- the study's region and the diagnosis -------------------------------------------------


@dataclass(frozen=True)
class Reference:
    """Where a layer should lie: a region (EPSG:4326) and a margin (m) around it.

    Computations use the region's own UTM zone, so a working CRS derived from
    misplaced data does not distort them.
    """

    region_4326: shapely.Geometry
    margin_m: float
    what: str

    @classmethod
    def from_frame(cls, frame: gpd.GeoDataFrame, margin_m: float, what: str) -> Reference:
        """The union of ``frame``'s geometries (any CRS) as a reference."""
        geoms = frame.geometry.to_crs("EPSG:4326")
        return cls(shapely.make_valid(geoms.union_all()), margin_m, what)

    @classmethod
    def from_extent(cls, frame: gpd.GeoDataFrame, margin_m: float, what: str) -> Reference:
        """The bounding box of ``frame`` as a reference."""
        box = gpd.GeoSeries([shapely.box(*frame.total_bounds)], crs=frame.crs)
        return cls(box.to_crs("EPSG:4326").iloc[0], margin_m, what)

    @cached_property
    def utm(self) -> pyproj.CRS:
        """The UTM zone of the region (local metric CRS)."""
        series = gpd.GeoSeries([self.region_4326], crs="EPSG:4326")
        return series.estimate_utm_crs(datum_name="WGS 84")

    @cached_property
    def region_utm(self) -> shapely.Geometry:
        """The region in its UTM zone, buffered by the margin, prepared."""
        series = gpd.GeoSeries([self.region_4326], crs="EPSG:4326").to_crs(self.utm)
        region = series.iloc[0].buffer(self.margin_m) if self.margin_m > 0 else series.iloc[0]
        shapely.prepare(region)
        return region

    def region_in(self, crs: pyproj.CRS) -> shapely.Geometry:
        """The buffered region in ``crs`` (densified before reprojection)."""
        dense = shapely.segmentize(self.region_utm, max(self.margin_m, 1000.0) / 10)
        return gpd.GeoSeries([dense], crs=self.utm).to_crs(crs).iloc[0]

    def share_inside(self, x: np.ndarray, y: np.ndarray, crs: pyproj.CRS) -> float:
        """Share of the points (in ``crs``) inside the buffered region."""
        if len(x) == 0:
            return 0.0
        try:
            to_utm = pyproj.Transformer.from_crs(crs, self.utm, always_xy=True)
            with np.errstate(all="ignore"):
                ux, uy = to_utm.transform(x, y, errcheck=False)
        except pyproj.exceptions.ProjError:
            return 0.0
        ux, uy = np.asarray(ux, dtype=float), np.asarray(uy, dtype=float)
        ok = np.isfinite(ux) & np.isfinite(uy)
        inside = np.zeros(len(ux), dtype=bool)
        inside[ok] = shapely.contains_xy(self.region_utm, ux[ok], uy[ok])
        return float(inside.mean())

    def describe(self) -> str:
        """``lon -117.3..-116.9, lat 32.5..33.0`` of the region."""
        w, s, e, n = self.region_4326.bounds
        return f"lon {w:.3f}..{e:.3f}, lat {s:.3f}..{n:.3f}"


def _utm_code(zone: int, north: bool) -> str:
    return f"EPSG:{(32600 if north else 32700) + zone}"


def _utm_zone(crs: pyproj.CRS) -> tuple[int, bool] | None:
    epsg = crs.to_epsg() or 0
    if 32601 <= epsg <= 32660 or 32701 <= epsg <= 32760:
        return epsg % 100, epsg < 32700
    return None


def _nearby_crs(reference: Reference) -> list[str]:
    """Projected CRSs a layer near the region may really be in (codes, best guesses first)."""
    codes: list[str] = [reference.utm.to_string()]
    zone = _utm_zone(reference.utm)
    if zone is not None:
        codes += [_utm_code((zone[0] + d - 1) % 60 + 1, zone[1]) for d in (-1, 1)]
    w, s, e, n = reference.region_4326.bounds
    try:
        infos = query_crs_info(
            auth_name="EPSG",
            pj_types=PJType.PROJECTED_CRS,
            area_of_interest=AreaOfInterest(w, s, e, n),
            contains=False,
        )
    except (pyproj.exceptions.CRSError, ValueError):
        infos = []
    nad83 = sorted(
        (i for i in infos if i.name.startswith("NAD83 /") and not i.deprecated),
        key=lambda i: ("ftUS" not in i.name and "ft" not in i.name, i.name),
    )
    codes += [f"EPSG:{i.code}" for i in nad83[:20]]
    return list(dict.fromkeys(codes))


def diagnose(frame: gpd.GeoDataFrame, spec: LayerSpec, reference: Reference) -> str | None:
    """The likely mistake that puts ``frame`` (as read) away from ``reference``, or None.

    Tries, on a sample of the layer's coordinates: swapped axes; a dropped
    minus sign (geographic); longitudes/latitudes under a projected CRS; the
    region's UTM zone and its neighbours; the NAD83 zones over the region
    (State Plane in metres and US feet, UTM, Albers). Names the first that puts
    at least :data:`MIN_SHARE_INSIDE` of the points near the region.
    """
    if frame.crs is None:
        return None
    xy = _sample(frame)
    if len(xy) == 0:
        return None
    x, y = xy[:, 0], xy[:, 1]
    crs = pyproj.CRS(frame.crs)
    trials: list[tuple[str, np.ndarray, np.ndarray, pyproj.CRS]] = [
        (f"x and y look swapped: {_swap_fix(spec, frame)}", y, x, crs),
    ]
    if crs.is_geographic:
        trials += [
            ("longitudes lack their minus sign (west of Greenwich): negate them", -x, y, crs),
            ("latitudes lack their minus sign (south of the equator): negate them", x, -y, crs),
        ]
    else:
        wgs84 = pyproj.CRS("EPSG:4326")
        fix = _fix_crs(spec, frame, "EPSG:4326")
        trials += [
            (f"they are longitudes/latitudes: {fix}", x, y, wgs84),
            (f"they are latitudes/longitudes: swap x and y and {fix}", y, x, wgs84),
        ]
    for code in _nearby_crs(reference):
        candidate = pyproj.CRS(code)
        if candidate.equals(crs):
            continue
        label = (
            f"they look like {code} ({candidate.name}) coordinates: {_fix_crs(spec, frame, code)}"
        )
        trials.append((label, x, y, candidate))
    best, best_share = None, MIN_SHARE_INSIDE
    for label, tx, ty, trial_crs in trials:
        share = reference.share_inside(tx, ty, trial_crs)
        if share > best_share or (best is None and share >= best_share):
            best, best_share = label, share
        if share >= 0.999:
            break
    return best


def check_near(
    frame_raw: gpd.GeoDataFrame,
    frame: gpd.GeoDataFrame,
    spec: LayerSpec,
    reference: Reference,
    crs: pyproj.CRS,
    where: str,
) -> bool:
    """Raise when no feature of the layer lies near the reference region.

    Parameters
    ----------
    frame_raw, frame : the layer as read (own CRS) and in the working CRS ``crs``.
    spec : its config entry (``allow_outside`` turns the error into a warning).
    reference : the study area (or the candidates' extent) and the margin.
    where : message prefix (``configs/x.yaml:20: layers.hospitals``).

    Returns
    -------
    bool
        Whether the layer lies outside and ``allow_outside`` lets it.
    """
    if len(frame) == 0:
        return False
    region = reference.region_in(crs)
    if not np.isfinite(shapely.bounds(region)).all():
        return False  # the region does not project into the working CRS: nothing to compare
    hits = frame.sindex.query(region, predicate="intersects")
    if len(hits):
        return False
    if spec.allow_outside:
        logger.warning(
            "%s: %s lies entirely outside %s (allowed by allow_outside)",
            where,
            spec.source.name,
            reference.what,
        )
        return True
    bounds = frame_raw.total_bounds
    distance = shapely.distance(region, shapely.box(*frame.total_bounds))
    far = (
        f"{distance / 1000 + reference.margin_m / 1000:,.0f} km" if np.isfinite(distance) else "far"
    )
    cause = diagnose(frame_raw, spec, reference) or "check its CRS and coordinates"
    raise LayerError(
        f"{where}: {spec.source.name}: lies entirely outside {reference.what} (no feature "
        f"within {reference.margin_m / 1000:g} km; the nearest about {far} away; layer "
        f"x {_num(bounds[0])}..{_num(bounds[2])}, y {_num(bounds[1])}..{_num(bounds[3])} "
        f"under {pyproj.CRS(frame_raw.crs).to_string()}; {reference.what} "
        f"{reference.describe()}); {cause} (or set allow_outside: true if it belongs there)"
    )
