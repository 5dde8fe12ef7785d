"""Military airfield surfaces (UFC 3-260-01) and AICUZ accident potential zones.

UFC 3-260-01 (Airfield and Heliport Planning and Design), Class B fixed-wing
runways, imaginary surfaces (chapter 3, table 3-7; all dimensions in feet):

* **Primary surface**: 2,000 ft wide (1,000 ft each side of the centre line),
  extending 200 ft beyond each runway end, at the elevation of the nearest
  centre-line point.
* **Approach-departure clearance surface**: starts at the end of the primary
  surface, 2,000 ft wide, widening uniformly to 16,000 ft at 50,000 ft; rises
  at 50:1 until 500 ft above the established airfield elevation, then level to
  50,000 ft: ``h = min(end elevation + u / 50, elev + 500)``.
* **Inner horizontal surface**: 150 ft above the airfield elevation, inside
  arcs of 7,500 ft about the centre of each primary-surface end joined by
  tangents.
* **Conical surface**: 20:1 outward from the inner horizontal for 7,000 ft
  (up to 500 ft above the airfield): ``h = elev + 150 + d / 20``.
* **Outer horizontal surface**: 500 ft above the airfield elevation, for
  30,000 ft beyond the conical surface's outer edge.
* **Transitional surfaces**: 7:1 outward from the sides of the primary and
  approach-departure surfaces, at right angles to the centre line, up to the
  outer horizontal height (500 ft above the airfield).

All military fixed-wing runways are treated as Class B (the larger surfaces);
Class A runways and rotary-wing surfaces are not modelled (helipads get the
civil 77.23 surfaces, see :mod:`siteselect.airspace.civil`).

AICUZ (Air Installations Compatible Use Zones, OPNAVINST 11010.36 and
DoDI 4165.57) beyond each runway end, measured from the runway end along the
extended centre line, 3,000 ft wide (the Air Force rectangle; the Navy's
flared clear zone is not modelled):

======== ==================== ===============
zone     from the runway end  land use
======== ==================== ===============
CZ       0 - 3,000 ft         no structures
APZ I    3,000 - 8,000 ft     no people-intensive use
APZ II   8,000 - 15,000 ft    low density only
======== ==================== ===============

Hospitals are incompatible in all three.
"""

from __future__ import annotations

import numpy as np

from siteselect.airspace.hull import disc_hull
from siteselect.airspace.runways import Airport, Runway
from siteselect.airspace.surfaces import (
    AicuzZone,
    AirportSurfaces,
    ApproachSurface,
    RunwaySurfaces,
)
from siteselect.geo import M_PER_FT

PRIMARY_WIDTH_FT = 2_000.0
PRIMARY_EXTENSION_FT = 200.0
APPROACH_OUTER_WIDTH_FT = 16_000.0
APPROACH_LENGTH_FT = 50_000.0
APPROACH_SLOPE = 50.0
APPROACH_CAP_ABOVE_FT = 500.0
INNER_HORIZONTAL_ABOVE_FT = 150.0
INNER_HORIZONTAL_RADIUS_FT = 7_500.0
CONICAL_SLOPE = 20.0
CONICAL_LENGTH_FT = 7_000.0
OUTER_HORIZONTAL_ABOVE_FT = 500.0
OUTER_HORIZONTAL_LENGTH_FT = 30_000.0
TRANSITIONAL_SLOPE = 7.0

AICUZ_HALF_WIDTH_FT = 1_500.0
AICUZ_ZONES: tuple[tuple[str, float, float, int], ...] = (
    ("clear zone", 0.0, 3_000.0, 3),
    ("APZ I", 3_000.0, 8_000.0, 2),
    ("APZ II", 8_000.0, 15_000.0, 1),
)
"""(name, start ft, stop ft, severity) from the runway end."""


def military_runway_surfaces(runway: Runway, airport: Airport) -> RunwaySurfaces:
    """UFC 3-260-01 Class B primary, approach-departure and transitional surfaces."""
    approach = ApproachSurface(
        "approach-departure",
        PRIMARY_WIDTH_FT,
        APPROACH_OUTER_WIDTH_FT,
        (APPROACH_LENGTH_FT,),
        (APPROACH_SLOPE,),
        cap_above_airport_ft=APPROACH_CAP_ABOVE_FT,
    )
    return RunwaySurfaces(
        runway=runway,
        family="military",
        airport_elevation_ft=airport.elevation_ft,
        primary_half_width_ft=PRIMARY_WIDTH_FT / 2.0,
        primary_extension_ft=PRIMARY_EXTENSION_FT,
        approaches=(approach, approach),
        transitional_slope=TRANSITIONAL_SLOPE,
        transitional_cap_above_airport_ft=OUTER_HORIZONTAL_ABOVE_FT,
        horizontal_radii_ft=(INNER_HORIZONTAL_RADIUS_FT, INNER_HORIZONTAL_RADIUS_FT),
    )


def military_airport_surfaces(
    airport: Airport, runways: list[RunwaySurfaces]
) -> AirportSurfaces | None:
    """Inner horizontal, conical and outer horizontal surfaces; None without fixed-wing runways."""
    centres = [s.primary_end_xy(end) for s in runways if s.family == "military" for end in (0, 1)]
    if not centres:
        return None
    radii_m = np.full(len(centres), INNER_HORIZONTAL_RADIUS_FT * M_PER_FT)
    return AirportSurfaces(
        airport=airport,
        family="military",
        hull=disc_hull(np.asarray(centres), radii_m),
        horizontal_above_ft=INNER_HORIZONTAL_ABOVE_FT,
        conical_slope=CONICAL_SLOPE,
        conical_length_ft=CONICAL_LENGTH_FT,
        outer_above_ft=OUTER_HORIZONTAL_ABOVE_FT,
        outer_length_ft=OUTER_HORIZONTAL_LENGTH_FT,
    )


def aicuz_zones(runway_index: int, surfaces: RunwaySurfaces) -> list[AicuzZone]:
    """Clear zone, APZ I and APZ II beyond both ends of a military fixed-wing runway."""
    if surfaces.family != "military" or not surfaces.runway.aicuz:
        return []
    return [
        AicuzZone(runway_index, end, name, start, stop, AICUZ_HALF_WIDTH_FT, severity)
        for end in (0, 1)
        for name, start, stop, severity in AICUZ_ZONES
    ]
