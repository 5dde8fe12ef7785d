"""From evaluated points to each candidate's worst point: margin, surface, ground, notice.

The points of a candidate are grouped (:class:`~siteselect.airspace.critical.ParcelPoints`);
its worst point is the one with the smallest margin (allowable height minus the
planned structure), the first of equals along the outline. :func:`combine`
merges the result of a second, smaller point set (parcels sampled along the
outline, see :mod:`siteselect.criteria.airspace`) without re-sorting anything.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from siteselect.airspace.critical import ParcelPoints, critical_points
from siteselect.airspace.edges import ranges
from siteselect.airspace.heights import (
    airport_surface_heights,
    evaluate_reached,
    notice_required,
    runway_surface_heights,
)
from siteselect.airspace.model import AirspaceModel
from siteselect.airspace.reach import reach
from siteselect.airspace.sampling import sampled_points, with_outline_samples
from siteselect.geo import M_PER_FT
from siteselect.parallel import map_chunks

logger = logging.getLogger(__name__)

GroundFn = Callable[[np.ndarray, np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]
"""``(x, y, airport_elevation_ft) -> (ground_ft, from_raster)`` per point."""


@dataclass
class Worst:
    """Per candidate: its worst point's values (``inf``/``NaN``/-1 where it has no surface).

    Attributes
    ----------
    margin_ft, allowable_ft : numpy.ndarray
        Allowable height above ground minus the planned structure, and the
        allowable height (``inf``: no surface over the candidate).
    code : numpy.ndarray
        Controlling surface (index into the model's names; -1: none).
    ground_ft : numpy.ndarray
        Ground elevation at the worst point (NaN: unknown).
    from_raster : numpy.ndarray
        Whether that ground came from the ground raster.
    notice : numpy.ndarray
        Whether 77.9 asks for notice at any evaluated point.
    uncertain : numpy.ndarray
        Without a ground raster: whether the critical points could not certify
        the candidate's minimum (:func:`worst_points`, :func:`certified`); after
        :func:`parcel_worst`, the candidates that were also sampled.
    """

    margin_ft: np.ndarray
    allowable_ft: np.ndarray
    code: np.ndarray
    ground_ft: np.ndarray
    from_raster: np.ndarray
    notice: np.ndarray
    uncertain: np.ndarray


def _first_lowest(offsets: np.ndarray, margin: np.ndarray) -> np.ndarray:
    """Index of the smallest-margin point of each candidate (the first of equals; -1: none).

    ``margin`` is grouped by candidate (``offsets``, CSR) and never NaN.
    """
    n = len(offsets) - 1
    worst = np.full(n, -1, dtype=np.int64)
    counts = np.diff(offsets)
    has = np.flatnonzero(counts > 0)
    if has.size == 0:
        return worst
    lowest = np.minimum.reduceat(margin, offsets[has])
    owner = np.repeat(np.arange(n), counts)
    at_lowest = np.flatnonzero(margin == np.repeat(lowest, counts[has]))
    first = np.r_[True, owner[at_lowest][1:] != owner[at_lowest][:-1]]
    worst[owner[at_lowest][first]] = at_lowest[first]
    return worst


def _reduce(
    offsets: np.ndarray, values: np.ndarray, ufunc: np.ufunc, empty: float | bool
) -> np.ndarray:
    """``ufunc.reduceat`` per candidate, ``empty`` for candidates without points."""
    counts = np.diff(offsets)
    out = np.full(len(counts), empty, dtype=values.dtype)
    has = np.flatnonzero(counts > 0)
    if has.size:
        out[has] = ufunc.reduceat(values, offsets[has])
    return out


def worst_points(
    model: AirspaceModel, points: ParcelPoints, ground_of: GroundFn, structure_ft: float
) -> Worst:
    """Evaluate ``points`` and reduce them to each candidate's worst point.

    Certificate: with flat ground, the allowable height at a point is the
    lowest surface minus *its* airport's elevation, never less than the least
    height of any surface above its own airport (``above``). The least of the
    latter over the parcel is attained at the critical points (each airport's
    surfaces fall towards it: :mod:`siteselect.airspace.critical`), so when the
    worst allowable height found equals it, it is the parcel's minimum. Where
    it does not (surfaces of airports of different elevations meet inside the
    parcel: the ground jumps where the controlling airport changes, and the
    minimum can lie on that seam), the candidate is ``uncertain``.

    Parameters
    ----------
    model : AirspaceModel
    points : ParcelPoints
    ground_of : callable
        Ground elevation (ft MSL) and whether it came from a raster, per point,
        given the elevation of the controlling surface's airport (NaN: none).
    structure_ft : float
        Planned height above ground, ft.
    """
    heights, above = evaluate_reached(
        model, points.x, points.y, points.runway, points.airport, points.airport_flat_ft
    )
    has_surface = heights.code >= 0
    airport_elev = np.where(has_surface, model.airport_elevation_ft[heights.code], np.nan)
    ground, from_raster = ground_of(points.x, points.y, airport_elev)
    allowable = np.where(has_surface, heights.height_ft - ground, np.inf)
    worst = _first_lowest(points.offsets, allowable - structure_ft)
    found = worst >= 0
    take = np.where(found, worst, 0)
    notice = notice_required(model, points.x, points.y, ground, structure_ft, points.notice)
    allowable_c = np.where(found, allowable[take], np.inf)
    least_above = _reduce(points.offsets, above, np.minimum, np.inf)
    return Worst(
        margin_ft=allowable_c - structure_ft,
        allowable_ft=allowable_c,
        code=np.where(found, heights.code[take], -1),
        ground_ft=np.where(found, ground[take], np.nan),
        from_raster=found & from_raster[take],
        notice=_reduce(points.offsets, notice, np.logical_or, structure_ft > 200.0),
        uncertain=least_above < allowable_c,
    )


def combine(first: Worst, second: Worst, which: np.ndarray) -> Worst:
    """``first`` where ``second`` (evaluated for candidates ``which`` only) is not lower.

    ``second``'s arrays have one entry per candidate of ``which``; ties keep
    ``first``'s point. Notice is required when either says so.
    """
    lower = np.zeros(len(first.margin_ft), dtype=bool)
    lower[which] = second.margin_ft < first.margin_ft[which]
    picked = lower[which]
    out = Worst(**{k: v.copy() for k, v in vars(first).items()})
    for name in ("margin_ft", "allowable_ft", "code", "ground_ft", "from_raster"):
        getattr(out, name)[which[picked]] = getattr(second, name)[picked]
    out.notice[which] |= second.notice
    return out


def _airport_groups(model: AirspaceModel) -> list[tuple[float, list[int], int | None]]:
    """Per airport: (elevation ft, its runway indices, its airport-surfaces index or None)."""
    groups: dict[str, tuple[float, list[int], int | None]] = {}
    for r, surfaces in enumerate(model.runways):
        ident = surfaces.runway.airport
        elevation, runways, _ = groups.get(ident, (surfaces.airport_elevation_ft, [], None))
        groups[ident] = (elevation, [*runways, r], None)
    for a, surfaces in enumerate(model.airports):
        elevation, runways, _ = groups[surfaces.airport.ident]
        groups[surfaces.airport.ident] = (elevation, runways, a)
    return list(groups.values())


def certified(
    model: AirspaceModel, points: ParcelPoints, worst: Worst, candidates: np.ndarray
) -> np.ndarray:
    """Which of the uncertain ``candidates`` are certain after all (a sharper bound).

    Where airports of different elevations reach a parcel, the allowable height
    is at least, over the airports ``j`` that can control somewhere in it, the
    lowest of ``j``'s surfaces over the parcel (exact at the critical points)
    minus ``j``'s elevation. Airport ``j`` controls nowhere in the parcel when
    another airport's horizontal, conical or outer horizontal surface lies
    entirely below ``j``'s lowest point there: those surfaces grow with the
    distance to the horizontal surface's outline, a convex function, so their
    highest point over the parcel is at one of its vertices (all among the
    critical points). When the worst allowable height found equals the bound,
    it is the parcel's minimum.
    """
    index = ranges(points.offsets, candidates)
    offsets = np.r_[0, np.cumsum(np.diff(points.offsets)[candidates])]
    x, y = points.x[index], points.y[index]
    groups = _airport_groups(model)
    lowest = np.full((len(groups), candidates.size), np.inf)
    ceiling = np.full((len(groups), candidates.size), np.inf)
    for g, (_, runways, a) in enumerate(groups):
        env = np.full(x.shape, np.inf)
        for r in runways:
            surfaces = model.runways[r]
            s, t = surfaces.local_ft(x, y)
            s_min, s_max, lateral = surfaces.reach_ft()
            near = np.flatnonzero((s >= s_min) & (s <= s_max) & (np.abs(t) <= lateral))
            for h in runway_surface_heights(surfaces, s[near], t[near]).values():
                env[near] = np.minimum(env[near], h)
        if a is not None:
            surfaces = model.airports[a]
            level = np.full(x.shape, np.inf)
            xmin, ymin, xmax, ymax = surfaces.hull.bounds
            pad = surfaces.reach_ft * M_PER_FT
            near = np.flatnonzero(
                (x >= xmin - pad) & (x <= xmax + pad) & (y >= ymin - pad) & (y <= ymax + pad)
            )
            distance_ft = surfaces.hull.signed_distance(x[near], y[near]) / M_PER_FT
            for h in airport_surface_heights(surfaces, distance_ft).values():
                level[near] = np.minimum(level[near], h)
            np.minimum(env, level, out=env)
            ceiling[g] = np.maximum.reduceat(level, offsets[:-1])
        lowest[g] = np.minimum.reduceat(env, offsets[:-1])
    controls = lowest <= ceiling.min(axis=0)[None, :]
    elevation = np.array([e for e, _, _ in groups])[:, None]
    bound = np.where(controls & np.isfinite(lowest), lowest - elevation, np.inf).min(axis=0)
    return worst.allowable_ft[candidates] <= bound + 1e-9


def flat_ground(
    x: np.ndarray, y: np.ndarray, airport_elev: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """:data:`GroundFn` without a raster: the controlling surface's airport elevation."""
    return airport_elev, np.zeros(len(x), dtype=bool)


def parcel_worst(
    model: AirspaceModel,
    geoms: np.ndarray,
    ground_of: GroundFn,
    structure_ft: float,
    spacing_m: float,
    ground_raster: bool,
) -> Worst:
    """Each candidate's worst point: the exact critical points, outline samples where needed.

    Parameters
    ----------
    model : AirspaceModel
    geoms : numpy.ndarray of shapely geometries
        The candidates (working CRS).
    ground_of : callable
        Ground per point (:data:`GroundFn`, e.g. :func:`flat_ground`).
    structure_ft : float
        Planned height above ground, ft.
    spacing_m : float
        Outline sample spacing (``sample_spacing_m``) where samples are added:
        with a ground raster, every reached candidate (the raster is read at the
        evaluated points); without, the candidates whose minimum the critical
        points cannot certify (:func:`certified`).
    ground_raster : bool
        Whether ``ground_of`` reads a raster (then one thread: a raster is not
        read from two threads; otherwise chunks of candidates run on every core).
    """

    def chunk(start: int, stop: int) -> tuple[Worst, np.ndarray]:
        return _worst_of(
            model, geoms[start:stop], ground_of, structure_ft, spacing_m, ground_raster
        )

    parts = [chunk(0, len(geoms))] if ground_raster else map_chunks(chunk, len(geoms))
    counts = np.sum([c for _, c in parts], axis=0)
    logger.info(
        "airspace: %d points on %d candidates (%d within reach of a runway or airport); "
        "%d where airports of different elevations meet, also sampled every %g m",
        counts[0],
        len(geoms),
        counts[1],
        counts[2],
        spacing_m,
    )
    if len(parts) == 1:
        return parts[0][0]
    return Worst(
        **{name: np.concatenate([getattr(w, name) for w, _ in parts]) for name in vars(parts[0][0])}
    )


def _worst_of(
    model: AirspaceModel,
    geoms: np.ndarray,
    ground_of: GroundFn,
    structure_ft: float,
    spacing_m: float,
    ground_raster: bool,
) -> tuple[Worst, np.ndarray]:
    """:func:`parcel_worst` for some candidates, with (points, reached, sampled) counts."""
    reached = reach(model, geoms)
    points = critical_points(model, geoms, reached, structure_ft)
    if ground_raster:
        points = with_outline_samples(points, geoms, reached, spacing_m)
    worst = worst_points(model, points, ground_of, structure_ft)
    sample = np.zeros(0, dtype=np.int64)
    if not ground_raster:
        uncertain = np.flatnonzero(worst.uncertain)
        sample = uncertain[~certified(model, points, worst, uncertain)]
    counts = np.array([len(points.x), reached.near().size, sample.size])
    worst.uncertain = np.zeros(len(geoms), dtype=bool)
    worst.uncertain[sample] = True
    if sample.size == 0:
        return worst, counts
    sampled = sampled_points(geoms[sample], model, spacing_m)
    return combine(worst, worst_points(model, sampled, ground_of, structure_ft), sample), counts
