"""Site class from Vs30 and the ASCE 7-16 site coefficient F_PGA.

Sources
-------
* Site class: ASCE/SEI 7-16, *Minimum Design Loads and Associated Criteria for
  Buildings and Other Structures*, Table 20.3-1 (Site Classification), by the
  average shear-wave velocity of the top 100 ft (30 m), in ft/s: A > 5,000;
  B 2,500 to 5,000; C 1,200 to 2,500; D 600 to 1,200; E < 600. Converted
  exactly (1 ft = 0.3048 m): 1,524, 762, 365.76 and 182.88 m/s. A velocity on
  a boundary takes the softer class above 600 ft/s (B/C at 762 m/s -> C,
  C/D at 365.76 m/s -> D) and D at 600 ft/s, the convention of the table's
  closed "to" ranges read from the soft side. Site Class F (liquefiable,
  sensitive or very soft soils) cannot be derived from Vs30 and needs a
  site-specific study (Section 20.3.1); it is never assigned here.
* F_PGA: ASCE 7-16 Table 11.8-1 (Site Coefficient F_PGA), by the mapped MCE_G
  peak ground acceleration PGA (g) in columns 0.1, 0.2, 0.3, 0.4, 0.5, 0.6,
  with straight-line interpolation between columns (the table's note) and the
  end values beyond them. Cross-checked with the USGS design-maps web service
  tables (``earthquake-design-ws``, ``site-amplification.json``, key
  ``ASCE7-16`` / ``pga``).
* Site Class B: Section 11.4.3 of ASCE 7-16 requires F_PGA = 1.0 when Site
  Class B is selected without site-specific velocity measurements. A Vs30 map
  (estimated from slope or geology) is not a measurement, so B uses 1.0 unless
  ``measured=True`` (then the table's 0.9).

PGA_M = F_PGA x PGA (ASCE 7-16 Eq. 11.8-1).
"""

from __future__ import annotations

import numpy as np

from siteselect.geo import M_PER_FT

SITE_CLASSES = ("A", "B", "C", "D", "E")

VS30_UPPER_BOUNDS_M_S = {
    "E": 600 * M_PER_FT,  # below: E
    "D": 1200 * M_PER_FT,  # 600..1200 ft/s inclusive: D
    "C": 2500 * M_PER_FT,  # (1200, 2500]: C
    "B": 5000 * M_PER_FT,  # (2500, 5000]: B; above: A
}
"""Table 20.3-1 class boundaries in m/s (converted exactly from ft/s)."""

PGA_BINS_G = np.array([0.1, 0.2, 0.3, 0.4, 0.5, 0.6])
"""Column headings of ASCE 7-16 Table 11.8-1 (mapped MCE_G PGA, g)."""

F_PGA_TABLE = {
    "A": np.array([0.8, 0.8, 0.8, 0.8, 0.8, 0.8]),
    "B": np.array([0.9, 0.9, 0.9, 0.9, 0.9, 0.9]),
    "C": np.array([1.3, 1.2, 1.2, 1.2, 1.2, 1.2]),
    "D": np.array([1.6, 1.4, 1.3, 1.2, 1.1, 1.1]),
    "E": np.array([2.4, 1.9, 1.6, 1.4, 1.2, 1.1]),
}
"""ASCE 7-16 Table 11.8-1 rows (Site Class F: site-specific, not tabulated)."""

F_PGA_B_ESTIMATED = 1.0
"""ASCE 7-16 Section 11.4.3: Site Class B without measured velocities."""


def site_class_codes(vs30_m_s: np.ndarray) -> np.ndarray:
    """Index into :data:`SITE_CLASSES` (0 = A ... 4 = E) per Vs30; -1 where NaN.

    >>> site_class_codes(np.array([1600.0, 762.0, 760.0, 365.76, 200.0, 180.0, np.nan])).tolist()
    [0, 2, 2, 3, 3, 4, -1]
    """
    vs = np.asarray(vs30_m_s, dtype=float)
    codes = np.full(vs.shape, -1, dtype=np.int64)
    with np.errstate(invalid="ignore"):
        codes[vs > VS30_UPPER_BOUNDS_M_S["B"]] = 0
        codes[(vs > VS30_UPPER_BOUNDS_M_S["C"]) & (vs <= VS30_UPPER_BOUNDS_M_S["B"])] = 1
        codes[(vs > VS30_UPPER_BOUNDS_M_S["D"]) & (vs <= VS30_UPPER_BOUNDS_M_S["C"])] = 2
        codes[(vs >= VS30_UPPER_BOUNDS_M_S["E"]) & (vs <= VS30_UPPER_BOUNDS_M_S["D"])] = 3
        codes[vs < VS30_UPPER_BOUNDS_M_S["E"]] = 4
    return codes


def site_class(vs30_m_s: np.ndarray) -> np.ndarray:
    """Site class letter per Vs30 (m/s), ``""`` where Vs30 is NaN.

    >>> site_class(np.array([900.0, 400.0, 250.0, 150.0])).tolist()
    ['B', 'C', 'D', 'E']
    """
    letters = np.array([*SITE_CLASSES, ""], dtype=object)
    return letters[site_class_codes(vs30_m_s)]


def _table(measured: bool) -> np.ndarray:
    rows = np.stack([F_PGA_TABLE[c] for c in SITE_CLASSES])
    if not measured:
        rows[1] = F_PGA_B_ESTIMATED
    return rows


def f_pga_by_code(codes: np.ndarray, pga_g: np.ndarray, measured: bool = False) -> np.ndarray:
    """F_PGA per site-class code (see :func:`site_class_codes`) and PGA; NaN where unknown."""
    codes = np.asarray(codes)
    pga = np.asarray(pga_g, dtype=float)
    table = _table(measured)
    # the same interpolation weights for every class: F = row . weights(pga)
    position = np.interp(pga, PGA_BINS_G, np.arange(len(PGA_BINS_G)))
    low = np.clip(np.floor(np.nan_to_num(position)).astype(np.int64), 0, len(PGA_BINS_G) - 2)
    frac = position - low
    safe = np.clip(codes, 0, len(SITE_CLASSES) - 1)
    out = table[safe, low] * (1 - frac) + table[safe, low + 1] * frac
    return np.where((codes >= 0) & np.isfinite(pga), out, np.nan)


def f_pga(site_classes: np.ndarray, pga_g: np.ndarray, measured: bool = False) -> np.ndarray:
    """ASCE 7-16 Table 11.8-1 F_PGA, interpolated on PGA (g), per site class letter.

    >>> pga = np.array([0.05, 0.35, 0.45, 0.9, 0.3])
    >>> f_pga(np.array(["D", "D", "E", "C", "B"]), pga).round(6).tolist()
    [1.6, 1.25, 1.3, 1.2, 1.0]
    """
    lookup = {c: i for i, c in enumerate(SITE_CLASSES)}
    codes = np.array([lookup.get(str(c), -1) for c in np.ravel(site_classes)]).reshape(
        np.shape(site_classes)
    )
    return f_pga_by_code(codes, pga_g, measured)


def amplified_pga(pga_g: np.ndarray, vs30_m_s: np.ndarray, measured: bool = False) -> np.ndarray:
    """PGA_M = F_PGA(site class of Vs30, PGA) x PGA, element-wise (NaN where either is NaN).

    >>> amplified_pga(np.array([0.4, 0.4]), np.array([760.0, 250.0])).round(3).tolist()
    [0.48, 0.48]
    """
    pga = np.asarray(pga_g, dtype=float)
    return f_pga_by_code(site_class_codes(vs30_m_s), pga, measured) * pga


def envelope_f_pga(
    vs30_min_m_s: np.ndarray, vs30_max_m_s: np.ndarray, pga_g: np.ndarray, measured: bool = False
) -> np.ndarray:
    """Largest F_PGA over every site class a parcel's Vs30 range spans (conservative).

    F_PGA is not monotone in the site class at strong shaking (ASCE 7-16 gives
    C 1.2 but D 1.1 at PGA >= 0.5 g), so the softest class alone is not the
    worst case; the envelope over the classes between the parcel's stiffest and
    softest cells is.

    >>> envelope_f_pga(np.array([300.0]), np.array([500.0]), np.array([0.6])).tolist()
    [1.2]
    """
    soft = site_class_codes(vs30_min_m_s)
    stiff = site_class_codes(vs30_max_m_s)
    best = np.full(np.shape(pga_g), np.nan)
    for code in range(len(SITE_CLASSES)):
        spans = (stiff <= code) & (code <= soft) & (stiff >= 0)
        factor = f_pga_by_code(np.full(np.shape(pga_g), code), pga_g, measured)
        best = np.where(spans, np.fmax(best, factor), best)
    return best
