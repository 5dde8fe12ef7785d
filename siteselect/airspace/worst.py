"""From evaluated points to each candidate's worst point: margin, surface, ground, notice.

The points of a candidate are grouped (:class:`~siteselect.airspace.critical.ParcelPoints`);
its worst point is the one with the smallest margin (allowable height minus the
planned structure), the first of equals along the outline. :func:`combine`
merges the result of a second, smaller point set (parcels sampled along the
outline, see :mod:`siteselect.criteria.airspace`) without re-sorting anything.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from siteselect.airspace.critical import ParcelPoints
from siteselect.airspace.heights import evaluate_reached, notice_required
from siteselect.airspace.model import AirspaceModel

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
    mixed_ground : numpy.ndarray
        Whether the evaluated points lie under surfaces of airports of
        different elevations (the flat ground changes inside the candidate).
    """

    margin_ft: np.ndarray
    allowable_ft: np.ndarray
    code: np.ndarray
    ground_ft: np.ndarray
    from_raster: np.ndarray
    notice: np.ndarray
    mixed_ground: np.ndarray


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
    heights = evaluate_reached(model, points.x, points.y, points.runway, points.airport)
    has_surface = heights.code >= 0
    airport_elev = np.where(has_surface, model.airport_elevation_ft[heights.code], np.nan)
    ground, from_raster = ground_of(points.x, points.y, airport_elev)
    allowable = np.where(has_surface, heights.height_ft - ground, np.inf)
    worst = _first_lowest(points.offsets, allowable - structure_ft)
    found = worst >= 0
    take = np.where(found, worst, 0)
    notice = notice_required(model, points.x, points.y, ground, structure_ft, points.notice)
    low = _reduce(points.offsets, airport_elev, np.fmin, np.nan)
    high = _reduce(points.offsets, airport_elev, np.fmax, np.nan)
    allowable_c = np.where(found, allowable[take], np.inf)
    return Worst(
        margin_ft=allowable_c - structure_ft,
        allowable_ft=allowable_c,
        code=np.where(found, heights.code[take], -1),
        ground_ft=np.where(found, ground[take], np.nan),
        from_raster=found & from_raster[take],
        notice=_reduce(points.offsets, notice, np.logical_or, structure_ft > 200.0),
        mixed_ground=low < high,
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
