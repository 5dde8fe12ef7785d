"""Net buildable area: each candidate minus what partial exclusions remove.

Config (:class:`siteselect.config.land.BuildableSpec`)::

    buildable:
      min_acres: 20
      max_slope_pct: 15
      dem: dem
      water: water
      setbacks_from: [fault_setback]
      zones_from: [exclusion_zones, airspace]

What is removed from a candidate, and the words its reason uses:

* ``setbacks_from``: a ``distance`` constraint with ``min_m``: the buffer of its
  layer's features by ``min_m`` (``fault setback``: the constraint's name);
* ``zones_from``: a ``zones`` constraint: its (buffered) zones; an ``airspace``
  constraint: the AICUZ clear zones and APZs (``AICUZ clear zone/APZ``, with
  ``exclude_aicuz``) and the area where the planned height leaves less than
  ``min_margin_ft`` under a surface (``airspace height limit``, sampled:
  :mod:`siteselect.criteria.penetration`);
* ``water``: the polygons of a layer (``water``);
* ``max_slope_pct`` with ``dem``: the DEM cells steeper than the limit
  (``slope > 15%``, :mod:`siteselect.criteria.slope`).

A partial constraint does **not** exclude the whole parcel any more: the
buildable area takes over. The largest contiguous piece left is the
candidate's buildable area (``buildable_acres``, ``buildable_pct`` of the
candidate's area, ``buildable_removed_by``); the candidate is excluded, as the
constraint ``buildable``, when no piece is left (``buildable: no buildable
area (fault setback)``) or the piece is smaller than ``min_acres`` (``buildable:
only 12.3 buildable acres of 40.1 (fault setback, slope > 15%)``): the cause's
name first, as every constraint's reason. Missing values of a partial
constraint (an airspace value that cannot be computed) still exclude.

Why here (``criteria/``): the buildable area consumes the geometry the kinds
define (zones, setback layers, the airspace model, DEM rasters through the
study) and the measurements of the constraints (which parcels each fails), so it
sits after the kinds and before ``decision/``, which imports no study.

Vectorised: each removal is tested only against the candidates its constraint
fails (a ``distance`` below ``min_m``, a share inside zones above 0, an airspace
failure); the removal polygons are indexed once (``STRtree``), clipped to each
candidate's box and subtracted in rounds (round *k* subtracts every candidate's
*k*-th removal in one ``shapely.difference`` call).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import shapely

from siteselect.config.land import BuildableSpec
from siteselect.criteria.base import KindSpec, Measurement
from siteselect.criteria.overlay import Overlay
from siteselect.criteria.penetration import aicuz_polygons, penetration_polygons
from siteselect.criteria.slope import steep_polygons
from siteselect.criteria.zones import zone_polygons
from siteselect.geo import m2_to_acres

if TYPE_CHECKING:
    from siteselect.study import Study

logger = logging.getLogger(__name__)

AREA_EPS_M2 = 0.01
"""A removal counts as a cause when it takes more than this from the candidate."""

OVERLAY_MAX = 200
"""Most buildable pieces drawn on the map (the best ranked candidates)."""


@dataclass
class Removals:
    """Polygons to subtract, each for some candidates, with a cause code.

    ``pairs_c[k]`` is a candidate and ``pairs_g[k]`` the polygon removed from it;
    ``codes[k]`` indexes ``causes``.
    """

    pairs_c: list[np.ndarray]
    pairs_g: list[np.ndarray]
    codes: list[np.ndarray]
    causes: list[str]

    def add_shared(
        self, polygons: np.ndarray, cause: str, candidates: np.ndarray, geoms: np.ndarray
    ) -> None:
        """``polygons`` (e.g. a layer) removed from the ``candidates`` they intersect."""
        polygons = polygons[shapely.get_type_id(polygons) >= 3] if polygons.size else polygons
        if polygons.size == 0 or candidates.size == 0:
            return
        c, g = shapely.STRtree(polygons).query(geoms[candidates], predicate="intersects")
        self.add_pairs(candidates[c], polygons[g], cause)

    def add_pairs(self, candidates: np.ndarray, polygons: np.ndarray, cause: str) -> None:
        """``polygons[k]`` removed from candidate ``candidates[k]``."""
        if cause not in self.causes:
            self.causes.append(cause)
        self.pairs_c.append(np.asarray(candidates, dtype=np.int64))
        self.pairs_g.append(np.asarray(polygons, dtype=object))
        self.codes.append(np.full(len(candidates), self.causes.index(cause), dtype=np.int64))


def subtract(
    geoms: np.ndarray, cand: np.ndarray, polygons: np.ndarray, code: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Each candidate minus its polygons, and the bit set of the codes that removed something.

    Round *k* subtracts the *k*-th polygon of every candidate that has one (one
    vectorised call); each polygon is first clipped to its candidate's box.
    """
    out = geoms.copy()
    removed_by = np.zeros(len(geoms), dtype=np.int64)
    if cand.size == 0:
        return out, removed_by
    order = np.argsort(cand, kind="stable")
    cand, polygons, code = cand[order], polygons[order], code[order]
    starts = np.flatnonzero(np.r_[True, cand[1:] != cand[:-1]])
    rank = np.arange(cand.size) - np.repeat(starts, np.diff(np.r_[starts, cand.size]))
    box = shapely.bounds(geoms[cand])
    clipped = shapely.intersection(
        polygons, shapely.box(box[:, 0] - 1, box[:, 1] - 1, box[:, 2] + 1, box[:, 3] + 1)
    )
    for k in range(int(rank.max()) + 1):
        at = np.flatnonzero(rank == k)
        c = cand[at]
        before = out[c]
        after = shapely.difference(before, clipped[at])
        took = (shapely.area(before) - shapely.area(after) > AREA_EPS_M2) | (
            ~shapely.is_empty(before) & shapely.is_empty(after)
        )
        removed_by[c[took]] |= np.left_shift(1, code[at][took])
        out[c] = after
    return out, removed_by


def largest_pieces(geoms: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The largest polygon part of each geometry (points stay), and its area (m²).

    An empty geometry gives an empty polygon and 0.
    """
    n = len(geoms)
    piece = np.asarray([shapely.Polygon()] * n, dtype=object)
    area = np.zeros(n)
    parts, owner = shapely.get_parts(geoms, return_index=True)
    if parts.size == 0:
        return piece, area
    areas = shapely.area(parts)
    polygonal = shapely.get_type_id(parts) == 3
    keep = (areas > 0) & polygonal | ~polygonal & ~shapely.is_empty(parts)
    parts, owner, areas = parts[keep], owner[keep], areas[keep]
    order = np.lexsort((-areas, owner))
    first = order[np.r_[True, owner[order][1:] != owner[order][:-1]]]
    piece[owner[first]] = parts[first]
    area[owner[first]] = areas[first]
    return piece, area


@dataclass
class Buildable:
    """The buildable area of every candidate.

    Attributes
    ----------
    piece : numpy.ndarray of shapely geometries
        Largest contiguous buildable piece (empty polygon: none; points stay points).
    acres, pct : numpy.ndarray
        Its area (acres; NaN for point candidates) and share of the candidate (%).
    removed_by : numpy.ndarray of str
        Causes that removed area, ``", "``-joined, in config order ("" = none).
    failed : numpy.ndarray of bool
        No piece left, or less than ``min_acres``.
    reasons : numpy.ndarray of str
        The exclusion reason of the failing candidates ("" elsewhere).
    description : str
        The constraint as the report lists it.
    """

    piece: np.ndarray
    acres: np.ndarray
    pct: np.ndarray
    removed_by: np.ndarray
    failed: np.ndarray
    reasons: np.ndarray
    description: str

    def columns(self) -> dict[str, np.ndarray]:
        """Output columns: ``buildable_acres``, ``buildable_pct``, ``buildable_removed_by``."""
        return {
            "buildable_acres": np.round(self.acres, 2),
            "buildable_pct": np.round(self.pct, 1),
            "buildable_removed_by": self.removed_by,
        }

    def record(self) -> dict[str, Any]:
        """JSON summary for run.json ``diagnostics.buildable``."""
        some = self.removed_by != ""
        return {
            "candidates_with_area_removed": int(some.sum()),
            "without_buildable_area": int((self.piece_empty()).sum()),
            "failed": int(self.failed.sum()),
            "description": self.description,
        }

    def piece_empty(self) -> np.ndarray:
        """Candidates with no buildable piece."""
        return shapely.is_empty(self.piece)


def _label(name: str) -> str:
    return name.replace("_", " ")


def _failing(measurement: Measurement, lower: float | None, upper: float | None) -> np.ndarray:
    values = np.asarray(measurement.values, dtype="float64")
    bad = np.zeros(values.shape, dtype=bool)
    if lower is not None:
        bad |= values < lower
    if upper is not None:
        bad |= values > upper
    return np.flatnonzero(bad)


def collect_removals(
    spec: BuildableSpec, study: Study, partial: dict[str, tuple[KindSpec, Measurement]]
) -> Removals:
    """Every polygon to remove, paired with the candidates it may touch."""
    geoms = study.candidates.geometry.to_numpy()
    every = np.arange(len(geoms))
    removals = Removals([], [], [], [])
    for name in spec.setbacks_from:
        entry, measurement = partial[name]
        near = _failing(measurement, entry.bounds()[0], None)
        features = study.vector(entry.layer).geometry.to_numpy()  # type: ignore[attr-defined]
        buffers = shapely.buffer(features, float(entry.min_m), quad_segs=8)  # type: ignore[attr-defined]
        removals.add_shared(buffers, _label(name), near, geoms)
    for name in spec.zones_from:
        entry, measurement = partial[name]
        if entry.kind == "zones":
            near = np.flatnonzero(np.nan_to_num(measurement.values, nan=0.0) > 0)
            zones = zone_polygons(entry, study).geometry.to_numpy()  # type: ignore[arg-type]
            removals.add_shared(zones, _label(name), near, geoms)
            continue
        if measurement.exclusions is not None:
            polygons, _ = aicuz_polygons(entry, study)  # type: ignore[arg-type]
            near = np.flatnonzero(measurement.exclusions != "")
            removals.add_shared(polygons, "AICUZ clear zone/APZ", near, geoms)
        failing = _failing(measurement, entry.bounds()[0], None)
        rects, owners = penetration_polygons(entry, study, failing, spec.airspace_sample_m)  # type: ignore[arg-type]
        if rects.size:
            removals.add_pairs(owners, rects, "airspace height limit")
    if spec.water is not None:
        water = study.vector(spec.water).geometry.to_numpy()
        removals.add_shared(water, "water", every, geoms)
    if spec.dem is not None and spec.max_slope_pct is not None:
        steep = steep_polygons(study, spec.dem, spec.max_slope_pct, geoms)
        removals.add_shared(steep, f"slope > {spec.max_slope_pct:g}%", every, geoms)
    return removals


def _reasons(
    acres: np.ndarray, total: np.ndarray, causes: np.ndarray, failed: np.ndarray, empty: np.ndarray
) -> np.ndarray:
    reasons = np.full(len(acres), "", dtype=object)
    for i in np.flatnonzero(failed):
        why = f" ({causes[i]})" if causes[i] else ""
        if empty[i]:
            reasons[i] = f"buildable: no buildable area{why}"
        else:
            reasons[i] = f"buildable: only {acres[i]:,.1f} buildable acres of {total[i]:,.1f}{why}"
    return reasons


def net_buildable(
    spec: BuildableSpec, study: Study, partial: dict[str, tuple[KindSpec, Measurement]]
) -> Buildable:
    """The buildable area of every candidate (see the module docstring).

    Parameters
    ----------
    spec : BuildableSpec
    study : Study
    partial : dict
        The partial constraints by name: their spec and measurement.
    """
    geoms = study.candidates.geometry.to_numpy()
    removals = collect_removals(spec, study, partial)
    if removals.pairs_c:
        cand = np.concatenate(removals.pairs_c)
        polygons = np.concatenate(removals.pairs_g)
        codes = np.concatenate(removals.codes)
    else:
        cand, polygons, codes = (np.zeros(0, dtype=np.int64),) * 3
    left, removed_by = subtract(geoms, cand, polygons, codes)
    piece, area_m2 = largest_pieces(left)
    points = shapely.get_type_id(geoms) < 3
    total_m2 = shapely.area(geoms)
    acres = np.where(points, np.nan, m2_to_acres(area_m2))
    with np.errstate(divide="ignore", invalid="ignore"):
        pct = np.where(points | (total_m2 <= 0), np.nan, 100.0 * area_m2 / total_m2)
    names = np.asarray(removals.causes, dtype=object)
    removed = _cause_texts(removed_by, names)
    empty = shapely.is_empty(piece)
    failed = empty.copy()
    if spec.min_acres is not None:
        failed |= ~points & (acres < spec.min_acres)
    reasons = _reasons(acres, m2_to_acres(total_m2), removed, failed, empty)
    sources = ", ".join(removals.causes) or "nothing to remove"
    bound = f"min_acres {spec.min_acres:g}" if spec.min_acres is not None else "some area left"
    description = f"Net buildable area (after {sources}): {bound}"
    logger.info(
        "buildable: %d of %d candidates lose area (%s); %d fail (%s)",
        int((removed != "").sum()),
        len(geoms),
        sources,
        int(failed.sum()),
        bound,
    )
    return Buildable(piece, acres, pct, removed, failed, reasons, description)


def _cause_texts(bits: np.ndarray, names: np.ndarray) -> np.ndarray:
    """``"fault setback, slope > 15%"`` per candidate from its bit set (one text per set)."""
    distinct, inverse = np.unique(bits, return_inverse=True)
    texts = np.asarray(
        [", ".join(str(names[k]) for k in range(len(names)) if b >> k & 1) for b in distinct],
        dtype=object,
    )
    return texts[inverse.ravel()] if bits.size else np.zeros(0, dtype=object)


def buildable_overlay(
    buildable: Buildable, ids: np.ndarray, rank: np.ndarray, crs: Any, limit: int = OVERLAY_MAX
) -> Overlay | None:
    """The buildable pieces of the best ranked candidates that lost area, for the map."""
    ranked = np.flatnonzero(~np.isnan(rank) & (buildable.removed_by != ""))
    ranked = ranked[np.argsort(rank[ranked], kind="stable")][:limit]
    if ranked.size == 0:
        return None
    labels = [
        f"{ids[i]}: {buildable.acres[i]:,.1f} buildable acres ({buildable.pct[i]:.0f}%), "
        f"without {buildable.removed_by[i]}"
        for i in ranked
    ]
    frame = gpd.GeoDataFrame({"feature_name": labels}, geometry=buildable.piece[ranked], crs=crs)
    return Overlay(
        "Buildable area (best sites)",
        "polygons",
        frame,
        "feature_name",
        color="#1a9850",
        fill="#a6d96a",
    )
