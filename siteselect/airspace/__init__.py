"""Airspace: FAA Part 77 imaginary surfaces, UFC 3-260-01 military surfaces and AICUZ zones.

Modules, one concern each:

* :mod:`~siteselect.airspace.runways`: runway and airport records, kind and
  approach-category inference with documented defaults, config overrides;
* :mod:`~siteselect.airspace.selection`: which airports' surfaces apply
  (``airports_filter``) and the record of every airport's choice;
* :mod:`~siteselect.airspace.civil`: 14 CFR 77.19 / 77.23 surface dimensions;
* :mod:`~siteselect.airspace.military`: UFC 3-260-01 surfaces and AICUZ zones;
* :mod:`~siteselect.airspace.hull`: the horizontal surfaces' outline (hull of discs);
* :mod:`~siteselect.airspace.surfaces` / :mod:`~siteselect.airspace.model`: the
  parameter records and the named model of every surface;
* :mod:`~siteselect.airspace.heights`: vectorised lowest-surface evaluation,
  AICUZ lookup, 77.9 notice test;
* :mod:`~siteselect.airspace.polygons`: surfaces and zones as polygons for maps;
* :mod:`~siteselect.airspace.reach`: which parcels each runway and airport can
  reach (one vectorised prefilter);
* :mod:`~siteselect.airspace.breaklines`: where the surfaces' formulas change,
  in runway coordinates;
* :mod:`~siteselect.airspace.edges`: parcel outlines as arrays of edges, and
  their crossings with lines and circles;
* :mod:`~siteselect.airspace.critical`: the points of a parcel that hold its
  exact minimum;
* :mod:`~siteselect.airspace.worst`: each parcel's worst point, its
  certificate, and the outline samples where it cannot be certified;
* :mod:`~siteselect.airspace.sampling`: outline samples, the ground raster
  under points, and the 5 m sampling the exact method replaced (reference);
* :mod:`~siteselect.airspace.reference`: the slow oracle for tests and benchmarks.
"""

from siteselect.airspace.heights import HeightResult, aicuz_at, evaluate, notice_required
from siteselect.airspace.model import AirspaceModel, build_model
from siteselect.airspace.runways import Airport, Override, Runway, read_runways, select_runways
from siteselect.airspace.selection import AirportChoice, AirportsFilter

__all__ = [
    "Airport",
    "AirportChoice",
    "AirportsFilter",
    "AirspaceModel",
    "HeightResult",
    "Override",
    "Runway",
    "aicuz_at",
    "build_model",
    "evaluate",
    "notice_required",
    "read_runways",
    "select_runways",
]
