"""The imaginary-surface model: one parameter record per runway and per airport.

Everything a height evaluation needs, as plain numbers, built by
:mod:`siteselect.airspace.civil` (14 CFR 77.19 / 77.23) and
:mod:`siteselect.airspace.military` (UFC 3-260-01, AICUZ).

Runway-local coordinates
------------------------
For a runway with ends ``le`` and ``he`` (metres, working CRS), a point ``p``
has ``s`` = distance along the axis from ``le`` towards ``he`` and ``t`` =
signed distance across it (left positive). Both are converted to **feet**
(``/ M_PER_FT``) before any surface formula: runway data and all Part 77 / UFC
dimensions are in feet, heights in ft MSL. The primary surface spans
``-e <= s <= L + e`` (``e`` = extension beyond the ends, ``L`` = length); the
approach surface of the ``le`` end starts at ``s = -e`` and runs towards
``-inf`` (``u = -s - e`` beyond the primary end), that of ``he`` at ``L + e``
(``u = s - L - e``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from siteselect.airspace.hull import DiscHull
from siteselect.airspace.runways import Airport, Runway
from siteselect.geo import M_PER_FT

Family = Literal["civil", "military", "heliport"]


@dataclass(frozen=True)
class ApproachSurface:
    """An approach (or approach-departure) surface beyond one end of a primary surface.

    Attributes
    ----------
    name : str
        ``approach`` or ``approach-departure``.
    inner_width_ft, outer_width_ft : float
        Width at its start (= primary width) and at its outer end.
    lengths_ft, slopes : tuple of float
        Consecutive sections: horizontal length and slope as run per unit rise
        (``(10000, 40000)``, ``(50, 40)`` for a precision approach).
    cap_above_airport_ft : float or None
        Where the surface levels off above the airport elevation (UFC: 500 ft).
    """

    name: str
    inner_width_ft: float
    outer_width_ft: float
    lengths_ft: tuple[float, ...]
    slopes: tuple[float, ...]
    cap_above_airport_ft: float | None = None

    @property
    def length_ft(self) -> float:
        """Total horizontal length."""
        return float(sum(self.lengths_ft))

    def rise_ft(self, u_ft: np.ndarray) -> np.ndarray:
        """Height above the start of the surface at ``u_ft`` beyond it (no cap)."""
        u = np.asarray(u_ft, dtype="float64")
        rise = np.zeros_like(u)
        start = 0.0
        for length, slope in zip(self.lengths_ft, self.slopes, strict=True):
            rise += np.clip(u - start, 0.0, length) / slope
            start += length
        return rise

    def half_width_ft(self, u_ft: np.ndarray) -> np.ndarray:
        """Half width at ``u_ft`` beyond the start (widens uniformly)."""
        u = np.asarray(u_ft, dtype="float64")
        growth = (self.outer_width_ft - self.inner_width_ft) / self.length_ft
        return 0.5 * (self.inner_width_ft + growth * u)


@dataclass(frozen=True)
class RunwaySurfaces:
    """Primary, approach and transitional surfaces of one runway.

    Attributes
    ----------
    runway : Runway
    family : {"civil", "military", "heliport"}
    airport_elevation_ft : float
        Established airport (airfield) elevation, ft MSL.
    primary_half_width_ft, primary_extension_ft : float
        Half the primary surface width; its extension beyond each runway end.
    approaches : (ApproachSurface, ApproachSurface)
        Beyond the ``le`` end and beyond the ``he`` end.
    transitional_slope : float
        Run per unit rise, measured at right angles to the runway centre line.
    transitional_max_offset_ft : float or None
        Civil: farthest lateral reach beyond the primary/approach edge (5,000 ft).
    transitional_max_from_centreline_ft : float or None
        Heliports: the transitional surfaces end 250 ft from the centre line.
    transitional_cap_above_airport_ft : float or None
        Military: the transitional surfaces end at the outer horizontal (500 ft).
    horizontal_radii_ft : (float, float) or None
        Horizontal-surface arc radius about the centre of each primary end.
    """

    runway: Runway
    family: Family
    airport_elevation_ft: float
    primary_half_width_ft: float
    primary_extension_ft: float
    approaches: tuple[ApproachSurface, ApproachSurface]
    transitional_slope: float
    transitional_max_offset_ft: float | None = None
    transitional_max_from_centreline_ft: float | None = None
    transitional_cap_above_airport_ft: float | None = None
    horizontal_radii_ft: tuple[float, float] | None = None

    @property
    def length_ft(self) -> float:
        """Runway length, ft."""
        return self.runway.length_ft

    @property
    def axis(self) -> tuple[float, float]:
        """Unit vector from the ``le`` end to the ``he`` end (working CRS)."""
        (x0, y0), (x1, y1) = self.runway.le_xy, self.runway.he_xy
        length = float(np.hypot(x1 - x0, y1 - y0))
        return ((x1 - x0) / length, (y1 - y0) / length)

    def end_elevation_ft(self, end: int) -> float:
        """Elevation of end 0 (``le``) or 1 (``he``), ft MSL."""
        return self.runway.le_elevation_ft if end == 0 else self.runway.he_elevation_ft

    def centreline_elevation_ft(self, s_ft: np.ndarray) -> np.ndarray:
        """Elevation of the nearest runway centre-line point (clamped to the ends), ft MSL.

        The primary surface takes this elevation (77.19(c), UFC 3-260-01).
        """
        fraction = np.clip(np.asarray(s_ft, dtype="float64") / self.length_ft, 0.0, 1.0)
        le, he = self.runway.le_elevation_ft, self.runway.he_elevation_ft
        return le + (he - le) * fraction

    def local_ft(self, x_m: np.ndarray, y_m: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Runway-local (along, across) coordinates in feet of points in metres."""
        ax, ay = self.axis
        dx = np.asarray(x_m, dtype="float64") - self.runway.le_xy[0]
        dy = np.asarray(y_m, dtype="float64") - self.runway.le_xy[1]
        return (dx * ax + dy * ay) / M_PER_FT, (dy * ax - dx * ay) / M_PER_FT

    def primary_end_xy(self, end: int) -> tuple[float, float]:
        """Centre of the ``le`` (0) or ``he`` (1) end of the primary surface (m)."""
        ax, ay = self.axis
        e_m = self.primary_extension_ft * M_PER_FT
        if end == 0:
            x, y = self.runway.le_xy
            return (x - ax * e_m, y - ay * e_m)
        x, y = self.runway.he_xy
        return (x + ax * e_m, y + ay * e_m)

    def reach_ft(self) -> tuple[float, float, float]:
        """A local box (s_min, s_max, |t| max) that contains every runway surface, ft."""
        e = self.primary_extension_ft
        le, he = self.approaches
        widest = max(le.outer_width_ft, he.outer_width_ft, 2 * self.primary_half_width_ft) / 2
        if self.transitional_max_from_centreline_ft is not None:
            lateral = max(widest, self.transitional_max_from_centreline_ft)
        elif self.transitional_max_offset_ft is not None:
            lateral = widest + self.transitional_max_offset_ft
        else:
            low = min(self.runway.le_elevation_ft, self.runway.he_elevation_ft)
            cap = (self.transitional_cap_above_airport_ft or 0.0) + self.airport_elevation_ft
            lateral = widest + self.transitional_slope * max(cap - low, 0.0)
        return (-e - le.length_ft, self.length_ft + e + he.length_ft, lateral)


@dataclass(frozen=True)
class AirportSurfaces:
    """Horizontal, conical and (military) outer horizontal surfaces of one airport.

    Attributes
    ----------
    airport : Airport
    family : {"civil", "military"}
    hull : DiscHull
        Outline of the (inner) horizontal surface, in metres.
    horizontal_above_ft : float
        150 ft (77.19(a); UFC inner horizontal).
    conical_slope, conical_length_ft : float
        20:1 for 4,000 ft (civil) or 7,000 ft (military).
    outer_above_ft, outer_length_ft : float or None
        UFC outer horizontal: 500 ft, 30,000 ft beyond the conical surface.
    """

    airport: Airport
    family: Family
    hull: DiscHull
    horizontal_above_ft: float
    conical_slope: float
    conical_length_ft: float
    outer_above_ft: float | None = None
    outer_length_ft: float | None = None

    @property
    def horizontal_name(self) -> str:
        """``inner horizontal`` on military airfields, else ``horizontal``."""
        return "inner horizontal" if self.family == "military" else "horizontal"

    @property
    def reach_ft(self) -> float:
        """Farthest distance from the horizontal outline that any surface reaches, ft."""
        return self.conical_length_ft + (self.outer_length_ft or 0.0)


@dataclass(frozen=True)
class AicuzZone:
    """One AICUZ zone beyond one runway end (OPNAVINST 11010.36 / AFI 32-7063).

    Distances are measured from the runway end (not the primary surface end)
    along the extended centre line; the zone is ``2 * half_width_ft`` wide.
    """

    runway_index: int
    end: int
    name: str
    start_ft: float
    stop_ft: float
    half_width_ft: float
    severity: int

    def label(self, runways: list[RunwaySurfaces]) -> str:
        """``KNKX RWY 24R APZ I``."""
        return f"{runways[self.runway_index].runway.end_name(self.end)} {self.name}"
