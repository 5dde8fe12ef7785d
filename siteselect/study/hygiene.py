"""Geometry hygiene: repair, reduce, drop and de-duplicate geometries, and say so.

Real parcel and zone files hold invalid polygons, geometry collections, polygons
collapsed to a line and the same parcel twice. What happens to each, for every
vector layer (:func:`clean_geometries`) and, with ids and acres, for the
candidates (:func:`clean_candidates`):

* **missing or empty** geometries are dropped (named by row);
* **geometry collections** are reduced to their highest-dimension part: the
  polygons of a collection that has any, else its lines, else its points;
* **invalid polygons** are repaired by :func:`repair_polygonal`: *exterior rings
  bound the area, holes only remove area*. Each ring is made valid on its own
  (GEOS ``make_valid``, method ``structure``, collapsed parts dropped), the valid
  holes are subtracted from the valid shell of their polygon, and the parts are
  unioned. A hole lying outside its shell therefore removes nothing and adds
  nothing: the parcel keeps its drawn area. GEOS' own repairs do not: the
  default ``linework`` method keeps every edge and turns such a hole into a
  second polygon, and since GEOS 3.10 (JTS ``GeometryFixer``, locationtech/jts
  PR 772) ``structure`` converts "holes lying wholly outside shells" into
  polygons too; that is how a 632 m2 parcel became a 130-acre candidate. The
  repaired area never exceeds the area of the valid shells (a tested property);
* **invalid lines and points** are repaired with GEOS ``make_valid``;
* a geometry with **nothing left** after repair (a polygon collapsed to a line
  or a point, a line collapsed to a point), or a polygon with no area (area
  below :data:`ZERO_AREA_RATIO` times its perimeter squared: flat, yet valid
  once reprojected) is dropped and named.

The area *before repair* is the area as drawn, as a GIS computes it from the
rings (each polygon's exterior minus its holes by the shoelace formula, floored
at 0): what a ``Shape_Area`` attribute would say.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from siteselect._errors import LayerError
from siteselect.geo import m2_to_acres
from siteselect.parallel import chunked

logger = logging.getLogger(__name__)

REPAIR_METHOD = (
    "shells minus holes: each ring made valid with GEOS make_valid(method='structure', "
    "keep_collapsed=False), valid holes subtracted from the valid shell of their polygon "
    "(a hole outside its shell removes nothing); lines and points with make_valid"
)
"""How invalid geometries are repaired (recorded in ``diagnostics["geometry"]``)."""

ZERO_AREA_RATIO = 1e-7
"""A polygon whose area is below this times its perimeter squared has no area: its
vertices lie on a line. Reprojected, a flat polygon becomes valid with a rounding-noise
area (1e-7 m2 for a 100 m one: a ratio of 1e-12); a 10 km x 5 cm strip is 1.2e-6."""

AREA_CHANGE_WARN = 0.10
"""Warn when a repair changes an area by more than this fraction of the area as drawn."""

MAX_LISTED = 20
"""Examples kept per topic in the diagnostics (every dropped id is listed in full)."""

_POINT, _LINE, _POLYGON = 0, 1, 2
_COLLECTION = 7


@dataclass(frozen=True)
class Hygiene:
    """What :func:`clean_geometries` did, one entry per input geometry.

    Attributes
    ----------
    geometry : numpy.ndarray
        The cleaned geometries (None where dropped).
    status : numpy.ndarray of str
        ``""`` (untouched), ``"repaired"``, ``"reduced"`` (a collection reduced
        to one dimension), ``"missing"`` (no geometry) or ``"degenerate"``
        (nothing left after repair).
    reason : numpy.ndarray of str
        GEOS' validity reason of a repaired geometry, or the reduction done.
    area_before, area_after : numpy.ndarray
        Area as drawn and after cleaning (CRS units squared) of changed
        polygonal geometries; NaN elsewhere.
    """

    geometry: np.ndarray
    status: np.ndarray
    reason: np.ndarray
    area_before: np.ndarray
    area_after: np.ndarray

    @property
    def dropped(self) -> np.ndarray:
        """Mask of geometries that were missing or had nothing left."""
        return np.isin(self.status, ("missing", "degenerate"))

    @property
    def changed(self) -> np.ndarray:
        """Mask of geometries that were repaired or reduced."""
        return np.isin(self.status, ("repaired", "reduced"))

    @property
    def area_changed(self) -> np.ndarray:
        """Mask of changed geometries whose area moved by more than :data:`AREA_CHANGE_WARN`."""
        with np.errstate(invalid="ignore"):
            moved = np.abs(self.area_after - self.area_before) > AREA_CHANGE_WARN * np.abs(
                self.area_before
            )
        return self.changed & ~self.dropped & moved


def _dimension(geoms: np.ndarray) -> np.ndarray:
    """Topological dimension per geometry (0, 1, 2; -1 for missing or empty)."""
    dims = shapely.get_dimensions(geoms)
    return np.where(shapely.is_missing(geoms) | shapely.is_empty(geoms), -1, dims)


def _combine(parts: np.ndarray, dimension: int) -> Any:
    """One geometry from parts of one dimension (polygons unioned: they may overlap)."""
    if len(parts) == 0:
        return shapely.Polygon() if dimension == _POLYGON else None
    if len(parts) == 1:
        return parts[0]
    if dimension == _POLYGON:
        return shapely.union_all(parts)
    if dimension == _LINE:
        return shapely.multilinestrings(shapely.get_parts(parts))
    return shapely.multipoints(shapely.get_parts(parts))


def highest_dimension_part(geom: Any) -> Any:
    """The polygons of a collection that has any, else its lines, else its points.

    >>> gc = shapely.GeometryCollection([shapely.box(0, 0, 1, 1), shapely.Point(5, 5)])
    >>> highest_dimension_part(gc).wkt
    'POLYGON ((1 0, 1 1, 0 1, 0 0, 1 0))'
    """
    if geom is None or shapely.get_type_id(geom) != _COLLECTION:
        return geom
    parts = shapely.get_parts(geom)
    while (shapely.get_type_id(parts) == _COLLECTION).any():
        parts = shapely.get_parts(parts)
    dims = _dimension(parts)
    if len(parts) == 0 or dims.max() < 0:
        return shapely.GeometryCollection()
    top = int(dims.max())
    return _combine(parts[dims == top], top)


def polygonal_part(geoms: np.ndarray) -> np.ndarray:
    """Each geometry's polygonal part (an empty Polygon where it has none)."""
    out = np.empty(len(geoms), dtype=object)
    types = shapely.get_type_id(geoms)
    polygonal = np.isin(types, (3, 6))
    out[polygonal] = geoms[polygonal]
    for i in np.flatnonzero(~polygonal):
        parts = shapely.get_parts(geoms[i]) if types[i] == _COLLECTION else np.empty(0, object)
        out[i] = _combine(parts[np.isin(shapely.get_type_id(parts), (3, 6))], _POLYGON)
    return out


def _valid_polygons(polygons: np.ndarray) -> np.ndarray:
    fixed = shapely.make_valid(polygons, method="structure", keep_collapsed=False)
    return polygonal_part(np.asarray(fixed, dtype=object))


def _grouped_union(geoms: np.ndarray, group: np.ndarray, n: int) -> np.ndarray:
    """Union of ``geoms`` per group id in ``0..n-1`` (None for an empty group)."""
    out = np.full(n, None, dtype=object)
    order = np.argsort(group, kind="stable")
    bounds = np.searchsorted(group[order], np.arange(n + 1))
    for k in range(n):
        members = geoms[order[bounds[k] : bounds[k + 1]]]
        if len(members) == 1:
            out[k] = members[0]
        elif len(members) > 1:
            out[k] = shapely.union_all(members)
    return out


def repair_polygonal(geoms: np.ndarray) -> np.ndarray:
    """Repair (multi)polygons so that shells bound the area and holes only remove it.

    Parameters
    ----------
    geoms : numpy.ndarray of shapely Polygon or MultiPolygon
        Typically invalid ones; valid ones come back equal in area.

    Returns
    -------
    numpy.ndarray
        Valid Polygon/MultiPolygon per input, empty where no area is left.
    """
    geoms = np.asarray(geoms, dtype=object)
    parts, owner = shapely.get_parts(geoms, return_index=True)
    shells = _valid_polygons(shapely.polygons(shapely.get_exterior_ring(parts)))
    holes_per_part = shapely.get_num_interior_rings(parts)
    result_parts = shells
    if holes_per_part.sum():
        hole_part = np.repeat(np.arange(len(parts)), holes_per_part)
        first_hole = np.repeat(np.cumsum(holes_per_part) - holes_per_part, holes_per_part)
        rings = shapely.get_interior_ring(parts[hole_part], np.arange(len(hole_part)) - first_hole)
        holes = _grouped_union(_valid_polygons(shapely.polygons(rings)), hole_part, len(parts))
        has_holes = holes_per_part > 0
        result_parts = shells.copy()
        result_parts[has_holes] = shapely.difference(shells[has_holes], holes[has_holes])
    merged = _grouped_union(polygonal_part(result_parts), owner, len(geoms))
    merged[shapely.is_missing(merged)] = shapely.Polygon()
    return polygonal_part(merged)


def area_as_drawn(geoms: np.ndarray) -> np.ndarray:
    """Per geometry: the sum over its polygons of max(0, exterior - holes) by the ring formula.

    GEOS computes a polygon's area from its rings whether it is valid or not;
    a hole drawn outside its shell makes that negative, hence the floor at 0.
    """
    geoms = np.asarray(geoms, dtype=object)
    parts, owner = shapely.get_parts(geoms, return_index=True)
    polygonal = np.isin(shapely.get_type_id(parts), (3, 6))
    areas = np.where(polygonal, np.maximum(shapely.area(parts), 0.0), 0.0)
    return np.bincount(owner, weights=areas, minlength=len(geoms))


def clean_geometries(geoms: np.ndarray) -> Hygiene:
    """Reduce collections, repair invalid geometries, mark what is missing or left empty.

    See the module docstring for the rules. Valid, non-collection geometries are
    returned as they are (the same objects).
    """
    geoms = np.asarray(geoms, dtype=object)
    n = len(geoms)
    out = geoms.copy()
    status = np.full(n, "", dtype=object)
    reason = np.full(n, "", dtype=object)
    missing = shapely.is_missing(geoms) | shapely.is_empty(geoms)
    status[missing] = "missing"
    collection = (shapely.get_type_id(geoms) == _COLLECTION) & ~missing
    for i in np.flatnonzero(collection):
        out[i] = highest_dimension_part(geoms[i])
        status[i] = "reduced"
        reason[i] = f"GeometryCollection reduced to its {_dimension_name(out[i])} part"
    invalid = ~missing & ~chunked(shapely.is_valid, out)
    if invalid.any():
        reason[invalid] = shapely.is_valid_reason(out[invalid])
        status[invalid] = "repaired"
        polygonal = invalid & np.isin(shapely.get_type_id(out), (3, 6))
        if polygonal.any():
            out[polygonal] = repair_polygonal(out[polygonal])
        other = invalid & ~polygonal
        for i in np.flatnonzero(other):
            out[i] = highest_dimension_part(shapely.make_valid(out[i]))
    input_dimension = np.full(n, -1)
    input_dimension[~missing] = _dimension(geoms[~missing])
    changed = ~missing & (status != "")
    collapsed = changed & (_dimension(out) < input_dimension)
    collapsed |= changed & (shapely.is_missing(out) | shapely.is_empty(out))
    flat = ~missing & ~collapsed & (_dimension(out) == _POLYGON)
    flat[flat] = shapely.area(out[flat]) <= ZERO_AREA_RATIO * shapely.length(out[flat]) ** 2
    reason[flat] = [
        f"{r}; " * bool(r) + "zero area (its vertices lie on a line)" for r in reason[flat]
    ]
    collapsed |= flat
    status[collapsed] = "degenerate"
    out[missing | collapsed] = None
    area_before = np.full(n, np.nan)
    area_after = np.full(n, np.nan)
    measured = (changed | flat) & (input_dimension == _POLYGON)
    area_before[measured] = area_as_drawn(geoms[measured])
    area_after[measured] = np.where(collapsed[measured], 0.0, shapely.area(out[measured]))
    return Hygiene(out, status, reason, area_before, area_after)


def _dimension_name(geom: Any) -> str:
    dim = int(_dimension(np.array([geom], dtype=object))[0])
    return {-1: "empty", _POINT: "point", _LINE: "line", _POLYGON: "polygonal"}[dim]


def _listing(labels: np.ndarray, limit: int = 5) -> str:
    text = ", ".join(str(label) for label in labels[:limit])
    return text + (", ..." if len(labels) > limit else "")


def layer_hygiene(
    frame: gpd.GeoDataFrame, what: str, labels: np.ndarray | None = None
) -> tuple[gpd.GeoDataFrame, dict[str, Any]]:
    """Clean a layer's geometries, log what changed, and return it with a JSON record.

    Parameters
    ----------
    frame : geopandas.GeoDataFrame
        The layer as read.
    what : str
        The layer's config location for messages (``layers.tracts``).
    labels : numpy.ndarray, optional
        How to name each feature in messages; default ``row <n>`` (1-based
        position in the source file, from the frame's index).

    Returns
    -------
    (frame without dropped features, with cleaned geometries; record)
    """
    if labels is None:
        labels = np.array([f"row {r}" for r in source_rows(frame)], dtype=object)
    hygiene = clean_geometries(frame.geometry.to_numpy())
    record = hygiene_record(hygiene, labels)
    for status, verb in (
        ("missing", "without geometry skipped"),
        ("degenerate", "with no area or length (degenerate) skipped"),
    ):
        mask = hygiene.status == status
        if mask.any():
            logger.warning(
                "%s: %d feature(s) %s (%s)", what, mask.sum(), verb, _listing(labels[mask])
            )
    repaired = hygiene.status == "repaired"
    if repaired.any():
        first = int(np.flatnonzero(repaired)[0])
        logger.warning(
            "%s: repaired %d invalid geometr%s (first: %s, %s)",
            what,
            repaired.sum(),
            "y" if repaired.sum() == 1 else "ies",
            labels[first],
            hygiene.reason[first],
        )
    reduced = hygiene.status == "reduced"
    if reduced.any():
        logger.warning(
            "%s: %d geometry collection(s) reduced to their highest-dimension part (%s)",
            what,
            reduced.sum(),
            _listing(labels[reduced]),
        )
    moved = hygiene.area_changed
    if moved.any():
        logger.warning(
            "%s: cleaning changed the area of %d feature(s) by more than %d%% (%s); check them",
            what,
            moved.sum(),
            round(AREA_CHANGE_WARN * 100),
            _listing([f"{labels[i]}: {_relative(hygiene, i)}" for i in np.flatnonzero(moved)]),
        )
    keep = ~hygiene.dropped
    cleaned = frame.set_geometry(gpd.GeoSeries(hygiene.geometry, index=frame.index, crs=frame.crs))[
        keep
    ]
    return cleaned, record


def _relative(hygiene: Hygiene, i: int) -> str:
    before, after = hygiene.area_before[i], hygiene.area_after[i]
    if before == 0:
        return "from 0 as drawn"
    return f"{(after - before) / before:+.0%}"


def hygiene_record(hygiene: Hygiene, labels: np.ndarray, to_acres: bool = False) -> dict[str, Any]:
    """JSON-serialisable counts and examples of what :func:`clean_geometries` did."""

    def area(value: float) -> float | None:
        if not np.isfinite(value):
            return None
        return round(float(m2_to_acres(value)), 4) if to_acres else float(f"{value:.6g}")

    unit = "acres" if to_acres else "crs_units2"
    record: dict[str, Any] = {"checked": len(labels)}
    for status in ("missing", "degenerate", "repaired", "reduced"):
        index = np.flatnonzero(hygiene.status == status)
        listed = index if status in ("missing", "degenerate") else index[:MAX_LISTED]
        record[status] = {
            "count": len(index),
            "features": [
                {
                    "feature": str(labels[i]),
                    "reason": str(hygiene.reason[i]),
                    f"area_before_{unit}": area(hygiene.area_before[i]),
                    f"area_after_{unit}": area(hygiene.area_after[i]),
                }
                for i in listed
            ],
        }
    record["area_changed_over_10pct"] = int(hygiene.area_changed.sum())
    return record


def source_rows(frame: pd.DataFrame) -> np.ndarray:
    """1-based row of each feature in its source file.

    :func:`siteselect.study.layers.read_vector` keeps each feature's 0-based position
    in the file as the frame's index, through filters and drops.
    """
    index = frame.index
    if pd.api.types.is_integer_dtype(index.dtype):
        return np.asarray(index, dtype=np.int64) + 1
    return np.arange(1, len(frame) + 1, dtype=np.int64)


def candidate_labels(frame: pd.DataFrame) -> list[str]:
    """How messages name each candidate: ``'P17' (row 18)``, its id and source row."""
    ids = frame["candidate_id"] if "candidate_id" in frame.columns else frame.index
    rows = frame["source_row"] if "source_row" in frame.columns else source_rows(frame)
    ids, rows = np.asarray(ids, dtype=object), np.asarray(rows)
    return [f"'{i}' (row {r})" for i, r in zip(ids, rows, strict=True)]


def duplicate_groups(geoms: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Exact duplicates: the same vertices once normalised (ring start and orientation).

    Geometries are first grouped by cheap keys (bounds, area, vertex count);
    only those sharing them are compared by their normalised WKB.

    Returns
    -------
    (first, is_duplicate)
        ``first[i]`` is the position of the first geometry equal to geometry
        ``i`` (itself when it is the first); ``is_duplicate`` marks the others.
    """
    geoms = np.asarray(geoms, dtype=object)
    first = np.arange(len(geoms))
    cheap = pd.DataFrame(shapely.bounds(geoms), columns=["x0", "y0", "x1", "y1"]).assign(
        area=shapely.area(geoms), vertices=shapely.get_num_coordinates(geoms)
    )
    candidates = np.flatnonzero(cheap.duplicated(keep=False).to_numpy())
    if len(candidates):
        keys = shapely.to_wkb(shapely.normalize(geoms[candidates]))
        codes = pd.factorize(pd.Series(keys, dtype=object))[0]
        group_first = pd.Series(candidates).groupby(codes).transform("min").to_numpy()
        first[candidates] = group_first
    return first, first != np.arange(len(geoms))


def clean_candidates(
    frame: gpd.GeoDataFrame, source: str, dedupe: bool
) -> tuple[gpd.GeoDataFrame, dict[str, Any]]:
    """Geometry hygiene of the candidates (working CRS, sorted by ``candidate_id``).

    Adds ``geometry_repaired`` (bool), ``area_before_repair_acres`` (the area
    as drawn; NaN when not repaired) and ``duplicate_of`` (the first candidate,
    by id, with exactly the same geometry; "" when none). Candidates with no
    geometry, with no area left after repair, or that are lines are dropped
    with a warning naming their ids and rows (points remain candidates). With
    ``dedupe``, exact duplicates are dropped too, keeping the first by id.

    Raises
    ------
    LayerError
        When no candidate is left.
    """
    hygiene = clean_geometries(frame.geometry.to_numpy())
    lines = ~hygiene.dropped & (_dimension(hygiene.geometry) == _LINE)
    named = (hygiene.status != "") | lines  # only these are ever named (1M labels cost 3 s)
    labels = np.full(len(frame), "", dtype=object)
    labels[named] = candidate_labels(frame[named])
    record = hygiene_record(hygiene, labels, to_acres=True)
    record["source"] = source
    _warn_dropped(hygiene, labels, lines, source)
    record["lines"] = {"count": int(lines.sum()), "features": labels[lines].tolist()}
    _warn_changed(hygiene, labels, source)
    keep = ~hygiene.dropped & ~lines
    if not keep.any():
        raise LayerError(
            f"candidates: {source} has no polygon or point left after geometry checks "
            f"({int(hygiene.dropped.sum())} without geometry or area, {int(lines.sum())} "
            "lines); candidates must be parcels (polygons) or points"
        )
    frame = frame.set_geometry(gpd.GeoSeries(hygiene.geometry, index=frame.index, crs=frame.crs))
    frame = frame.assign(
        geometry_repaired=hygiene.changed,
        area_before_repair_acres=np.where(
            hygiene.changed, m2_to_acres(hygiene.area_before), np.nan
        ),
    )[keep]
    frame, record["duplicates"] = _duplicates(frame, source, dedupe)
    return frame, record


def _warn_dropped(hygiene: Hygiene, labels: np.ndarray, lines: np.ndarray, source: str) -> None:
    for mask, why in (
        (hygiene.status == "missing", "have no geometry"),
        (hygiene.status == "degenerate", "have no area (a degenerate polygon)"),
        (lines, "are lines, not parcels or points"),
    ):
        if mask.any():
            logger.warning(
                "candidates: %d candidate(s) of %s %s and are dropped: %s",
                mask.sum(),
                source,
                why,
                _listing(labels[mask], limit=10),
            )


def _warn_changed(hygiene: Hygiene, labels: np.ndarray, source: str) -> None:
    changed = hygiene.changed & ~hygiene.dropped
    if not changed.any():
        return
    first = int(np.flatnonzero(changed)[0])
    logger.warning(
        "candidates: %d geometr%s of %s repaired or reduced (first: %s, %s); see the "
        "geometry_repaired column",
        changed.sum(),
        "y" if changed.sum() == 1 else "ies",
        source,
        labels[first],
        hygiene.reason[first],
    )
    moved = np.flatnonzero(hygiene.area_changed)
    if len(moved):
        examples = [
            f"{labels[i]}, {hygiene.reason[i]}: {m2_to_acres(hygiene.area_before[i]):.3g} -> "
            f"{m2_to_acres(hygiene.area_after[i]):.3g} acres"
            for i in moved
        ]
        logger.warning(
            "candidates: repair changed the area of %d candidate(s) by more than %d%% of "
            "the area as drawn (%s); check them in %s",
            len(moved),
            round(AREA_CHANGE_WARN * 100),
            _listing(np.array(examples, dtype=object)),
            source,
        )


def _duplicates(
    frame: gpd.GeoDataFrame, source: str, dedupe: bool
) -> tuple[gpd.GeoDataFrame, dict[str, Any]]:
    ids = frame["candidate_id"].to_numpy(dtype=object)
    first, duplicate = duplicate_groups(frame.geometry.to_numpy())
    frame = frame.assign(duplicate_of=np.where(duplicate, ids[first], ""))
    groups = pd.Series(ids[duplicate]).groupby(ids[first][duplicate], sort=False).agg(list)
    record: dict[str, Any] = {
        "groups": len(groups),
        "duplicates": int(duplicate.sum()),
        "dedupe": dedupe,
        "kept": "the first by candidate_id",
        "examples": [
            {"kept": str(kept), "duplicates": [str(d) for d in others]}
            for kept, others in list(groups.items())[:MAX_LISTED]
        ],
        "dropped_ids": [str(i) for i in ids[duplicate]] if dedupe else [],
    }
    if duplicate.any():
        examples = ", ".join(
            f"{others[0]!r} = {kept!r}" for kept, others in list(groups.items())[:3]
        )
        action = (
            "dropped, keeping the first by id"
            if dedupe
            else "all ranked; set 'candidates: {dedupe: true}' to keep one of each"
        )
        logger.warning(
            "candidates: %d candidate(s) of %s repeat the exact geometry of another "
            "(%d group(s), e.g. %s): %s",
            duplicate.sum(),
            source,
            len(groups),
            examples,
            action,
        )
    if dedupe:
        frame = frame[~duplicate]
    return frame, record
