"""Where the surfaces' formulas change: break lines in runway-local coordinates.

Every runway surface (:mod:`siteselect.airspace.heights`) is, in the runway's
local ``(s, t)`` feet (:mod:`siteselect.airspace.model`), a planar function
over regions bounded by straight lines: the primary surface's ends and sides,
the runway ends (where the centre-line elevation stops following ``s``), the
approach surfaces' start, section changes, level-off (UFC cap), outer end and
widening sides, and the transitional surfaces' outer limits (77.19(e) 5,000 ft
beyond the edge, 77.23(c) 250 ft from the centre line, the UFC 500 ft cap
which is a line per planar piece). Inside one region a surface is linear in
``(s, t)``, hence in ``(x, y)``, and its minimum over a polygon lies at a
vertex of the polygon clipped to that region.

:func:`runway_lines` returns these lines as rows ``(a_s, a_t, b)`` meaning
``a_s * s + a_t * t = b`` (feet). More lines than strictly needed is harmless
(each only adds evaluated points); a missing one would lose a minimum, which
the oracle tests of ``tests/test_airspace_exact.py`` would see.

:func:`notice_lines` gives the lines of the 14 CFR 77.9 test: the runway ends
and the centre line (where the distance to the runway changes formula) and the
sides of its reach; the reach's arcs about the ends are circles, handled with
the airports' arcs (:mod:`siteselect.airspace.critical`).
"""

from __future__ import annotations

import numpy as np

from siteselect.airspace.surfaces import ApproachSurface, RunwaySurfaces


def notice_reach(surfaces: RunwaySurfaces) -> tuple[float, float]:
    """(slope, reach ft) of the 77.9(b) notice surface of a runway.

    100:1 for 20,000 ft from runways over 3,200 ft long, 50:1 for 10,000 ft
    from shorter ones, 25:1 for 5,000 ft from heliports.
    """
    if surfaces.family == "heliport":
        return 25.0, 5_000.0
    if surfaces.length_ft > 3_200.0:
        return 100.0, 20_000.0
    return 50.0, 10_000.0


def _lateral(alpha: float, beta: float) -> list[tuple[float, float, float]]:
    """The two lines ``|t| = alpha + beta * s``."""
    return [(-beta, 1.0, alpha), (-beta, -1.0, alpha)]


def _end_frame(surfaces: RunwaySurfaces, end: int) -> tuple[float, float]:
    """(sign, offset) with ``u = sign * s + offset`` beyond the primary end of ``end``."""
    e = surfaces.primary_extension_ft
    return (-1.0, -e) if end == 0 else (1.0, -surfaces.length_ft - e)


def _lateral_in_u(
    surfaces: RunwaySurfaces, end: int, c0: float, c1: float
) -> list[tuple[float, float, float]]:
    """The two lines ``|t| = c0 + c1 * u`` beyond ``end``, in ``(s, t)``."""
    sign, offset = _end_frame(surfaces, end)
    return _lateral(c0 + c1 * offset, c1 * sign)


def _section_starts(approach: ApproachSurface) -> tuple[np.ndarray, np.ndarray]:
    """Start ``u`` and rise at the start of every section of an approach surface."""
    lengths = np.asarray(approach.lengths_ft, dtype="float64")
    slopes = np.asarray(approach.slopes, dtype="float64")
    starts = np.r_[0.0, np.cumsum(lengths)[:-1]]
    rises = np.r_[0.0, np.cumsum(lengths / slopes)[:-1]]
    return starts, rises


def level_off_ft(surfaces: RunwaySurfaces, end: int) -> float | None:
    """``u`` where a capped approach surface levels off (None: uncapped or never)."""
    approach = surfaces.approaches[end]
    if approach.cap_above_airport_ft is None:
        return None
    need = (
        surfaces.airport_elevation_ft
        + approach.cap_above_airport_ft
        - surfaces.end_elevation_ft(end)
    )
    if need <= 0:
        return 0.0
    starts, rises = _section_starts(approach)
    for start, rise, length, slope in zip(
        starts, rises, approach.lengths_ft, approach.slopes, strict=True
    ):
        if need <= rise + length / slope:
            return float(start + (need - rise) * slope)
    return None


def _approach_lines(surfaces: RunwaySurfaces, end: int) -> list[tuple[float, float, float]]:
    approach = surfaces.approaches[end]
    sign, offset = _end_frame(surfaces, end)
    starts, rises = _section_starts(approach)
    cap_u = level_off_ft(surfaces, end)
    across_u = [*starts, approach.length_ft] + ([cap_u] if cap_u is not None else [])
    lines = [(sign, 0.0, u - offset) for u in across_u]
    growth = (approach.outer_width_ft - approach.inner_width_ft) / approach.length_ft
    c0, c1 = 0.5 * approach.inner_width_ft, 0.5 * growth
    lines += _lateral_in_u(surfaces, end, c0, c1)  # the approach surface's sides
    if surfaces.transitional_max_offset_ft is not None:
        lines += _lateral_in_u(surfaces, end, c0 + surfaces.transitional_max_offset_ft, c1)
    if surfaces.transitional_cap_above_airport_ft is not None:
        # transitional beside the approach: h_app(u) + (|t| - half(u)) / slope = cap, per section
        cap = surfaces.airport_elevation_ft + surfaces.transitional_cap_above_airport_ft
        k = surfaces.transitional_slope
        base = surfaces.end_elevation_ft(end)
        for start, rise, slope in zip(starts, rises, approach.slopes, strict=True):
            c0_cap = c0 + k * (cap - base - rise + start / slope)
            lines += _lateral_in_u(surfaces, end, c0_cap, c1 - k / slope)
    return lines


def _transitional_side_lines(surfaces: RunwaySurfaces) -> list[tuple[float, float, float]]:
    """Outer limits of the transitional surfaces beside the primary surface."""
    half = surfaces.primary_half_width_ft
    lines: list[tuple[float, float, float]] = []
    if surfaces.transitional_max_offset_ft is not None:
        lines += _lateral(half + surfaces.transitional_max_offset_ft, 0.0)
    if surfaces.transitional_max_from_centreline_ft is not None:
        lines += _lateral(surfaces.transitional_max_from_centreline_ft, 0.0)
    if surfaces.transitional_cap_above_airport_ft is not None:
        cap = surfaces.airport_elevation_ft + surfaces.transitional_cap_above_airport_ft
        k = surfaces.transitional_slope
        le, he = surfaces.runway.le_elevation_ft, surfaces.runway.he_elevation_ft
        lines += _lateral(half + k * (cap - le), 0.0)  # s < 0: level with the le end
        lines += _lateral(half + k * (cap - he), 0.0)  # s > L
        lines += _lateral(half + k * (cap - le), -k * (he - le) / surfaces.length_ft)
    return lines


def runway_lines(surfaces: RunwaySurfaces) -> np.ndarray:
    """Break lines of one runway's primary, approach and transitional surfaces.

    Returns
    -------
    numpy.ndarray
        (k, 3) rows ``(a_s, a_t, b)``: the line ``a_s * s + a_t * t = b`` in feet.
    """
    e, length = surfaces.primary_extension_ft, surfaces.length_ft
    half = surfaces.primary_half_width_ft
    lines = [(1.0, 0.0, -e), (1.0, 0.0, 0.0), (1.0, 0.0, length), (1.0, 0.0, length + e)]
    lines += _lateral(half, 0.0)
    lines += _transitional_side_lines(surfaces)
    for end in (0, 1):
        lines += _approach_lines(surfaces, end)
    return _unique_rows(lines)


def notice_lines(surfaces: RunwaySurfaces) -> np.ndarray:
    """Break lines of the 77.9 test: runway ends, centre line, sides of the reach."""
    _, reach = notice_reach(surfaces)
    lines = [(1.0, 0.0, 0.0), (1.0, 0.0, surfaces.length_ft), (0.0, 1.0, 0.0)]
    lines += _lateral(reach, 0.0)
    return _unique_rows(lines)


def _unique_rows(lines: list[tuple[float, float, float]]) -> np.ndarray:
    rows = np.asarray(lines, dtype="float64").reshape(-1, 3)
    return np.unique(rows, axis=0)
