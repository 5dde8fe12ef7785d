"""Which candidates each runway's and airport's surfaces can reach: one vectorised prefilter.

Each candidate is reduced to the circle around its bounding box (centre and
half diagonal, metres). A runway *reaches* it when that circle meets the
runway's local box holding all its surfaces (:meth:`RunwaySurfaces.reach_ft`);
its 77.9 notice area when the circle meets the box of the notice reach
(20,000 ft about a long runway); an airport when the circle's centre lies
within the horizontal surface's outline grown by the conical and outer
horizontal surfaces (signed distance to the hull, :mod:`siteselect.airspace.hull`)
plus the radius. The tests are conservative (a circle, a box): a candidate
reached here may still lie outside every surface, and gets the same values as
one that is not (no surface). Candidates reached by nothing cost nothing more.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import shapely

from siteselect.airspace.breaklines import notice_reach
from siteselect.airspace.model import AirspaceModel
from siteselect.airspace.surfaces import AirportSurfaces, RunwaySurfaces
from siteselect.geo import M_PER_FT


@dataclass(frozen=True)
class Reach:
    """Candidate indices reached by each runway, notice area and airport.

    Attributes
    ----------
    cx, cy, radius_m : numpy.ndarray
        Centre and half diagonal of each candidate's bounding box (NaN: empty).
    runway : list of numpy.ndarray
        Per runway, the candidates its surfaces may lie over.
    notice : list of numpy.ndarray
        Per runway, the candidates within its 77.9 notice reach.
    airport : list of numpy.ndarray
        Per airport, the candidates its horizontal/conical/outer surfaces may lie over.
    airport_distance_m : list of numpy.ndarray
        Per airport, the signed distance (m) of those candidates' centres to the
        horizontal surface's outline (negative inside).
    airport_flat_ft : list of numpy.ndarray
        Per airport and reached candidate: a distance (ft) to the horizontal
        surface's outline that gives the airport's surfaces the same height
        everywhere in the candidate (wholly inside the horizontal surface, or
        wholly under the outer horizontal one), else NaN (evaluate per point).
    reached : numpy.ndarray
        Per candidate, whether anything reaches it.
    """

    cx: np.ndarray
    cy: np.ndarray
    radius_m: np.ndarray
    runway: list[np.ndarray]
    notice: list[np.ndarray]
    airport: list[np.ndarray]
    airport_distance_m: list[np.ndarray]
    airport_flat_ft: list[np.ndarray]
    reached: np.ndarray

    def near(self) -> np.ndarray:
        """Sorted indices of the candidates reached by anything."""
        return np.flatnonzero(self.reached)


def _in_local_box(
    model: AirspaceModel,
    r: int,
    box_ft: tuple[float, float, float],
    cx: np.ndarray,
    cy: np.ndarray,
    radius_ft: np.ndarray,
    footprint: bool = False,
) -> np.ndarray:
    """Candidates whose circle meets the local box ``box_ft`` (s_min, s_max, |t| max);
    with ``footprint``, only where the runway's surfaces are wide enough at that ``s``."""
    surfaces = model.runways[r]
    s_min, s_max, lateral = box_ft
    # first the axis-aligned bounds of the (rotated) box, grown by the largest radius
    ax, ay = surfaces.axis
    corners_s = np.array([s_min, s_min, s_max, s_max]) * M_PER_FT
    corners_t = np.array([-lateral, lateral, -lateral, lateral]) * M_PER_FT
    x0, y0 = surfaces.runway.le_xy
    xs, ys = x0 + corners_s * ax - corners_t * ay, y0 + corners_s * ay + corners_t * ax
    pad = float(np.nanmax(radius_ft, initial=0.0)) * M_PER_FT
    box = np.flatnonzero(
        (cx >= xs.min() - pad)
        & (cx <= xs.max() + pad)
        & (cy >= ys.min() - pad)
        & (cy <= ys.max() + pad)
    )
    s, t = surfaces.local_ft(cx[box], cy[box])
    radius = radius_ft[box]
    if footprint:
        lateral = _footprint_lateral_ft(surfaces, s, radius)
    return box[(s >= s_min - radius) & (s <= s_max + radius) & (np.abs(t) <= lateral + radius)]


def _footprint_lateral_ft(
    surfaces: RunwaySurfaces, s_ft: np.ndarray, radius_ft: np.ndarray
) -> np.ndarray:
    """Largest ``|t|`` (ft) any surface of the runway reaches within ``radius`` of ``s``.

    The primary or approach surface's half width there (the approach widens
    with ``u``: taken at ``u + radius``), plus how far the transitional
    surfaces reach beyond it (:meth:`RunwaySurfaces.reach_ft`'s margin).
    """
    e, length = surfaces.primary_extension_ft, surfaces.length_ft
    widest = np.where(
        (s_ft + radius_ft >= -e) & (s_ft - radius_ft <= length + e),
        surfaces.primary_half_width_ft,
        0.0,
    )
    for end, u in ((0, -s_ft - e), (1, s_ft - length - e)):
        approach = surfaces.approaches[end]
        inside = (u + radius_ft >= 0) & (u - radius_ft <= approach.length_ft)
        far_u = np.clip(u + radius_ft, 0.0, approach.length_ft)
        widest = np.maximum(widest, np.where(inside, approach.half_width_ft(far_u), 0.0))
    if surfaces.transitional_max_from_centreline_ft is not None:  # heliports
        return np.maximum(widest, surfaces.transitional_max_from_centreline_ft)
    # the transitional surfaces' reach beyond the edge, as in reach_ft
    _, _, lateral = surfaces.reach_ft()
    widest_anywhere = max(
        surfaces.primary_half_width_ft, *(a.outer_width_ft / 2 for a in surfaces.approaches)
    )
    return widest + (lateral - widest_anywhere)


def reach(model: AirspaceModel, geoms: np.ndarray) -> Reach:
    """Which candidates each runway, notice area and airport reaches (see the module docstring)."""
    bounds = shapely.bounds(geoms)
    cx = (bounds[:, 0] + bounds[:, 2]) / 2
    cy = (bounds[:, 1] + bounds[:, 3]) / 2
    radius = np.hypot(bounds[:, 2] - bounds[:, 0], bounds[:, 3] - bounds[:, 1]) / 2
    radius_ft = radius / M_PER_FT
    runway, notice = [], []
    for r, surfaces in enumerate(model.runways):
        runway.append(_in_local_box(model, r, surfaces.reach_ft(), cx, cy, radius_ft, True))
        _, reach_ft = notice_reach(surfaces)
        box = (-reach_ft, surfaces.length_ft + reach_ft, reach_ft)
        notice.append(_in_local_box(model, r, box, cx, cy, radius_ft))
    airport, distance, flat = [], [], []
    for surfaces in model.airports:
        xmin, ymin, xmax, ymax = surfaces.hull.bounds
        pad = surfaces.reach_ft * M_PER_FT
        box = np.flatnonzero(
            (cx + radius >= xmin - pad)
            & (cx - radius <= xmax + pad)
            & (cy + radius >= ymin - pad)
            & (cy - radius <= ymax + pad)
        )
        d = surfaces.hull.signed_distance(cx[box], cy[box])
        keep = d - radius[box] <= pad
        airport.append(box[keep])
        distance.append(d[keep])
        flat.append(_flat_distance_ft(surfaces, d[keep], radius[box[keep]]))
    reached = np.zeros(len(geoms), dtype=bool)
    for index in (*runway, *notice, *airport):
        reached[index] = True
    return Reach(cx, cy, radius, runway, notice, airport, distance, flat, reached)


_FLAT_MARGIN_M = 1e-3
"""Margin beyond the bounding circle for the flat zones (points lie within it up to nudges)."""


def _flat_distance_ft(
    surfaces: AirportSurfaces, distance_m: np.ndarray, radius_m: np.ndarray
) -> np.ndarray:
    """The candidate centre's distance where the whole candidate lies in a level zone, else NaN.

    Signed distance is 1-Lipschitz: every point of a candidate is within its
    radius of the centre, so ``d + radius < 0`` puts it wholly inside the
    horizontal surface, ``conical < d - radius`` and ``d + radius < reach``
    wholly under the outer horizontal surface; any distance in the zone gives
    the same heights.
    """
    near, far = distance_m - radius_m, distance_m + radius_m
    inside = far < -_FLAT_MARGIN_M
    level = inside.copy()
    if surfaces.outer_above_ft is not None:
        conical_m = surfaces.conical_length_ft * M_PER_FT
        reach_m = surfaces.reach_ft * M_PER_FT
        level |= (near > conical_m + _FLAT_MARGIN_M) & (far < reach_m - _FLAT_MARGIN_M)
    return np.where(level, distance_m / M_PER_FT, np.nan)
