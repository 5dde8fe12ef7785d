"""Civil imaginary surfaces: 14 CFR 77.19 (airports) and 77.23 (heliports).

77.19 — civil airport imaginary surfaces (all dimensions in feet)
-----------------------------------------------------------------
* (c) **Primary surface**: longitudinally centred on the runway; extends 200 ft
  beyond each end of a hard-surfaced runway (to the ends otherwise); its
  elevation is that of the nearest point of the runway centre line. Width, by
  the most precise approach at either end:

  ======================================================  =====
  utility runway, visual approaches only                    250
  utility runway, non-precision instrument approaches       500
  other than utility, visual only                           500
  other than utility, non-precision, visibility > 3/4 mi    500
  non-precision with visibility as low as 3/4 mi            1000
  precision instrument                                      1000
  ======================================================  =====

* (a) **Horizontal surface**: 150 ft above the established airport elevation,
  bounded by arcs of 5,000 ft (ends of utility or visual runways) or 10,000 ft
  (all others) about the centre of each primary-surface end, joined by tangents
  (see :mod:`siteselect.airspace.hull`).
* (b) **Conical surface**: 20:1 outward from the horizontal surface's edge for
  4,000 ft: ``h = elev + 150 + d / 20``.
* (d) **Approach surface** beyond each primary-surface end, as wide as the
  primary surface at its start, widening uniformly to:
  1,250 (utility visual), 1,500 (other visual), 2,000 (utility non-precision),
  3,500 (non-precision), 4,000 (non-precision 3/4 mi) or 16,000 ft (precision);
  slope and length: 20:1 for 5,000 ft (utility and visual), 34:1 for 10,000 ft
  (non-precision other than utility), 50:1 for 10,000 ft then 40:1 for another
  40,000 ft (precision). Height: ``h = end elevation + rise(u)``, ``u`` = distance
  beyond the primary surface end, so 1 statute mile beyond a precision
  runway's end the surface stands (5,280 - 200) / 50 = 101.6 ft above the end.
* (e) **Transitional surfaces**: 7:1 outward from the sides of the primary and
  approach surfaces, measured at right angles to the runway centre line:
  ``h = (primary or approach height at the same s) + offset / 7``, up to the
  horizontal/conical surfaces (the lower envelope takes care of that) and, where
  a precision approach projects beyond the conical surface, 5,000 ft out from
  the approach edge (applied everywhere: inside the conical area the limit is
  never the lowest surface).

77.23 — heliport imaginary surfaces
-----------------------------------
* (a) Primary surface = the take-off and landing area (the "runway" of the
  data, no extension), at the heliport elevation.
* (b) Approach: from each end, as wide as the primary surface, widening to
  500 ft at 4,000 ft, at 8:1.
* (c) Transitional: 2:1 from the sides of the primary and approach surfaces,
  out to 250 ft from their centre line.
"""

from __future__ import annotations

import numpy as np

from siteselect.airspace.hull import disc_hull
from siteselect.airspace.runways import Airport, Category, Runway
from siteselect.airspace.surfaces import AirportSurfaces, ApproachSurface, RunwaySurfaces
from siteselect.geo import M_PER_FT

PRIMARY_EXTENSION_FT = 200.0
HORIZONTAL_ABOVE_FT = 150.0
HORIZONTAL_RADIUS_SMALL_FT = 5_000.0
HORIZONTAL_RADIUS_LARGE_FT = 10_000.0
CONICAL_SLOPE = 20.0
CONICAL_LENGTH_FT = 4_000.0
TRANSITIONAL_SLOPE = 7.0
TRANSITIONAL_BEYOND_EDGE_FT = 5_000.0

HELIPORT_APPROACH_SLOPE = 8.0
HELIPORT_APPROACH_LENGTH_FT = 4_000.0
HELIPORT_APPROACH_OUTER_WIDTH_FT = 500.0
HELIPORT_TRANSITIONAL_SLOPE = 2.0
HELIPORT_TRANSITIONAL_REACH_FT = 250.0


def primary_width_ft(category: Category, utility: bool) -> float:
    """77.19(c) primary surface width for one end's approach category.

    >>> primary_width_ft("visual", True), primary_width_ft("precision", False)
    (250.0, 1000.0)
    """
    if category in ("non_precision_low", "precision"):
        return 1000.0
    if category == "visual" and utility:
        return 250.0
    return 500.0


def approach_surface(category: Category, utility: bool, inner_width_ft: float) -> ApproachSurface:
    """77.19(d) approach surface for one end.

    >>> a = approach_surface("precision", False, 1000.0)
    >>> a.outer_width_ft, a.lengths_ft, a.slopes
    (16000.0, (10000.0, 40000.0), (50.0, 40.0))
    """
    if category == "precision":
        return ApproachSurface(
            "approach", inner_width_ft, 16_000.0, (10_000.0, 40_000.0), (50.0, 40.0)
        )
    if category == "visual" or utility:
        # 77.19(d)(2): 1,250 ft utility visual, 1,500 other visual, 2,000 utility non-precision
        outer = (1_250.0 if utility else 1_500.0) if category == "visual" else 2_000.0
        return ApproachSurface("approach", inner_width_ft, outer, (5_000.0,), (20.0,))
    outer = 4_000.0 if category == "non_precision_low" else 3_500.0
    return ApproachSurface("approach", inner_width_ft, outer, (10_000.0,), (34.0,))


def horizontal_radius_ft(category: Category, utility: bool) -> float:
    """77.19(a): 5,000 ft about ends of utility or visual runways, 10,000 ft otherwise."""
    return (
        HORIZONTAL_RADIUS_SMALL_FT
        if utility or category == "visual"
        else HORIZONTAL_RADIUS_LARGE_FT
    )


def civil_runway_surfaces(runway: Runway, airport: Airport) -> RunwaySurfaces:
    """Primary, approach and transitional surfaces (77.19) of a civil runway."""
    if runway.heliport:
        return heliport_surfaces(runway, airport)
    categories = (runway.le_category, runway.he_category)
    # the width is that of the most precise approach at either end (77.19(c))
    width = max(primary_width_ft(c, runway.utility) for c in categories)
    approaches = tuple(approach_surface(c, runway.utility, width) for c in categories)
    return RunwaySurfaces(
        runway=runway,
        family="civil",
        airport_elevation_ft=airport.elevation_ft,
        primary_half_width_ft=width / 2.0,
        primary_extension_ft=PRIMARY_EXTENSION_FT if runway.hard_surface else 0.0,
        approaches=(approaches[0], approaches[1]),
        transitional_slope=TRANSITIONAL_SLOPE,
        transitional_max_offset_ft=TRANSITIONAL_BEYOND_EDGE_FT,
        horizontal_radii_ft=(
            horizontal_radius_ft(categories[0], runway.utility),
            horizontal_radius_ft(categories[1], runway.utility),
        ),
    )


def heliport_surfaces(runway: Runway, airport: Airport) -> RunwaySurfaces:
    """77.23 heliport primary, approach (8:1) and transitional (2:1) surfaces."""
    approach = ApproachSurface(
        "approach",
        runway.width_ft,
        max(HELIPORT_APPROACH_OUTER_WIDTH_FT, runway.width_ft),
        (HELIPORT_APPROACH_LENGTH_FT,),
        (HELIPORT_APPROACH_SLOPE,),
    )
    return RunwaySurfaces(
        runway=runway,
        family="heliport",
        airport_elevation_ft=airport.elevation_ft,
        primary_half_width_ft=runway.width_ft / 2.0,
        primary_extension_ft=0.0,
        approaches=(approach, approach),
        transitional_slope=HELIPORT_TRANSITIONAL_SLOPE,
        transitional_max_from_centreline_ft=HELIPORT_TRANSITIONAL_REACH_FT,
    )


def civil_airport_surfaces(
    airport: Airport, runways: list[RunwaySurfaces]
) -> AirportSurfaces | None:
    """Horizontal and conical surfaces (77.19(a), (b)); None for a heliport-only airport."""
    centres: list[tuple[float, float]] = []
    radii_m: list[float] = []
    for surfaces in runways:
        if surfaces.horizontal_radii_ft is None:
            continue
        for end in (0, 1):
            centres.append(surfaces.primary_end_xy(end))
            radii_m.append(surfaces.horizontal_radii_ft[end] * M_PER_FT)
    if not centres:
        return None
    return AirportSurfaces(
        airport=airport,
        family="civil",
        hull=disc_hull(np.asarray(centres), np.asarray(radii_m)),
        horizontal_above_ft=HORIZONTAL_ABOVE_FT,
        conical_slope=CONICAL_SLOPE,
        conical_length_ft=CONICAL_LENGTH_FT,
    )
