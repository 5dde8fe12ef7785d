"""Units of raster values: a known list, aliases, conversion and plausibility ranges.

A raster's ``units:`` (or the unit the file declares, GDAL's band unit) is
parsed into a :class:`Unit`: its canonical spelling, the physical quantity it
measures and the factor to that quantity's base unit (g for accelerations,
m/s for velocities, m for lengths). Conversions are pure scale factors (no
offsets), so every zonal statistic (max, min, mean, percentiles) commutes
with them.

Where a value must be in one unit (F_PGA needs PGA in g and Vs30 in m/s; the
airspace ground in ft), it is converted here; where a value can only be
meaningful in a range (PGA, Vs30, ground elevation), :func:`check_plausible`
stops with the range found and the unit that would explain it.

No config or study imports: safe everywhere.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

import numpy as np

from siteselect.geo import M_PER_FT

STANDARD_GRAVITY_M_S2 = 9.80665
"""1 g in m/s² (the standard acceleration of gravity, exact by definition)."""
M_PER_US_FT = 1200 / 3937
"""US survey foot in metres (State Plane feet)."""


@dataclass(frozen=True)
class Unit:
    """A unit siteselect knows.

    Attributes
    ----------
    name : str
        Canonical spelling (``"%g"``, ``"cm/s2"``).
    quantity : str
        ``acceleration``, ``velocity``, ``length``, ``percent``, ``angle`` or
        ``dimensionless``.
    to_base : float
        Multiply a value in this unit by ``to_base`` to get the quantity's base
        unit (:data:`BASE_UNITS`).
    """

    name: str
    quantity: str
    to_base: float

    def __str__(self) -> str:
        return self.name


_UNITS: dict[str, tuple[Unit, tuple[str, ...]]] = {
    unit.name: (unit, aliases)
    for unit, aliases in (
        (
            Unit("g", "acceleration", 1.0),
            ("g", "g0", "gn", "gravity", "standard gravity", "fraction of g", "fraction g"),
        ),
        (
            Unit("%g", "acceleration", 0.01),
            ("%g", "% g", "percent g", "percent of g", "pct g", "pct of g", "percentg"),
        ),
        (
            Unit("cm/s2", "acceleration", 0.01 / STANDARD_GRAVITY_M_S2),
            ("cm/s2", "cm s-2", "cm/s/s", "gal", "gals", "galileo"),
        ),
        (
            Unit("m/s2", "acceleration", 1.0 / STANDARD_GRAVITY_M_S2),
            ("m/s2", "m s-2", "m/s/s", "mps2"),
        ),
        (
            Unit("m/s", "velocity", 1.0),
            ("m/s", "m s-1", "mps", "meters per second", "metres per second"),
        ),
        (Unit("cm/s", "velocity", 0.01), ("cm/s", "cm s-1", "centimeters per second")),
        (Unit("km/s", "velocity", 1000.0), ("km/s", "km s-1", "kilometers per second")),
        (Unit("ft/s", "velocity", M_PER_FT), ("ft/s", "ft s-1", "fps", "feet per second")),
        (Unit("m", "length", 1.0), ("m", "meter", "meters", "metre", "metres")),
        (Unit("ft", "length", M_PER_FT), ("ft", "foot", "feet", "international foot")),
        (
            Unit("us-ft", "length", M_PER_US_FT),
            ("us-ft", "us ft", "ftus", "us survey foot", "us survey feet", "survey foot"),
        ),
        (
            Unit("km", "length", 1000.0),
            ("km", "kilometer", "kilometers", "kilometre", "kilometres"),
        ),
        (Unit("mi", "length", 1609.344), ("mi", "mile", "miles")),
        (Unit("cm", "length", 0.01), ("cm", "centimeter", "centimeters", "centimetre")),
        (Unit("%", "percent", 1.0), ("%", "percent", "pct", "per cent")),
        (Unit("degrees", "angle", 1.0), ("degrees", "degree", "deg", "°")),
        (Unit("1", "dimensionless", 1.0), ("1", "unitless", "dimensionless", "none", "-")),
    )
}

BASE_UNITS = {
    "acceleration": "g",
    "velocity": "m/s",
    "length": "m",
    "percent": "%",
    "angle": "degrees",
    "dimensionless": "1",
}
"""The unit every value of a quantity is converted to for checks and tables."""

ACCEPTED = (
    "g, %g, cm/s2 (gal), m/s2, m/s, cm/s, km/s, ft/s, m, ft, us-ft, km, mi, cm, %, degrees, "
    "1 (unitless)"
)
"""The accepted units, as listed in error messages."""


def _normalise(text: str) -> str:
    text = text.strip().lower().replace("²", "2").replace("**", "").replace("^", "")
    text = re.sub(r"\bsec\b", "s", text)
    return re.sub(r"\s+", " ", text)


_ALIASES: dict[str, Unit] = {}
for _unit, _names in _UNITS.values():
    for _name in _names:
        _ALIASES[_normalise(_name)] = _unit
        _ALIASES.setdefault(_normalise(_name).replace(" ", ""), _unit)


def find_unit(text: str) -> Unit | None:
    """The :class:`Unit` ``text`` names (any listed alias, any case), or None.

    >>> find_unit("Percent g").name, find_unit("GAL").name, find_unit("m/s^2").name
    ('%g', 'cm/s2', 'm/s2')
    >>> find_unit("furlongs") is None
    True
    """
    key = _normalise(text)
    return _ALIASES.get(key) or _ALIASES.get(key.replace(" ", ""))


def parse_unit(text: str) -> Unit:
    """The :class:`Unit` ``text`` names.

    Raises
    ------
    ValueError
        One line naming the accepted units.

    >>> parse_unit("pct g")
    Unit(name='%g', quantity='acceleration', to_base=0.01)
    """
    unit = find_unit(text)
    if unit is None:
        raise ValueError(f"unknown unit {text!r}; use one of {ACCEPTED}")
    return unit


def validate_unit(text: str | None) -> str | None:
    """Pydantic validator: ``text`` unchanged when it names a known unit (None passes)."""
    if text is not None:
        parse_unit(text)
    return text


def conversion_factor(source: Unit, target: Unit) -> float:
    """Factor turning a value in ``source`` into ``target`` (same quantity).

    >>> conversion_factor(parse_unit("%g"), parse_unit("g"))
    0.01
    >>> round(conversion_factor(parse_unit("m"), parse_unit("ft")), 6)
    3.28084

    Raises
    ------
    ValueError
        The units measure different quantities.
    """
    if source.quantity != target.quantity:
        raise ValueError(
            f"cannot convert {source.name} ({source.quantity}) to {target.name} ({target.quantity})"
        )
    if source == target:
        return 1.0
    return source.to_base / target.to_base


def base_unit(quantity: str) -> Unit:
    """The base unit of ``quantity`` (:data:`BASE_UNITS`)."""
    return parse_unit(BASE_UNITS[quantity])


# --- plausibility -------------------------------------------------------------------------


@dataclass(frozen=True)
class Plausible:
    """The range a kind of value can take, in the base unit of its quantity."""

    what: str
    quantity: str
    low: float
    high: float


PGA = Plausible("PGA", "acceleration", 0.0, 5.0)
"""Peak ground acceleration: recorded maxima are about 3-4 g; a hazard map above 5 g is wrong."""
VS30 = Plausible("Vs30", "velocity", 100.0, 3000.0)
"""Shear-wave velocity of the top 30 m: the softest soils ~100 m/s, hard rock ~3,000 m/s."""
ELEVATION = Plausible("ground elevation", "length", -500.0, 9000.0)
"""Land elevations: Dead Sea shore -430 m, Everest 8,849 m."""

_NODATA_LIKE = (-32768.0, -32767.0, -9999.0, -3.4028234663852886e38, 3.4028234663852886e38)


def observed_range(*arrays: np.ndarray) -> tuple[float, float] | None:
    """(min, max) over the finite values of ``arrays``; None when there is none."""
    finite = [a[np.isfinite(a)] for a in (np.asarray(x, dtype=float).ravel() for x in arrays)]
    finite = [a for a in finite if a.size]
    if not finite:
        return None
    return float(min(a.min() for a in finite)), float(max(a.max() for a in finite))


def implausible(
    rule: Plausible, low: float, high: float, declared: Unit | None
) -> tuple[str, str] | None:
    """What is wrong and the likely cause, when [low, high] (base unit) breaks ``rule``.

    Returns None when the range is plausible, else ``(problem, cause)``: the
    cause names another unit of the same quantity that would make the values
    plausible, an undeclared nodata value, or the layer itself.

    >>> problem, cause = implausible(PGA, 5.9, 59.0, parse_unit("g"))
    >>> problem
    'PGA of 5.9..59 g is not plausible (expected 0..5 g)'
    >>> cause
    'the values look like %g or cm/s2: set units: "%g" or "cm/s2"'
    >>> implausible(VS30, 0.18, 0.76, parse_unit("m/s"))[1]
    'the values look like km/s: set units: "km/s"'
    >>> implausible(VS30, 180.0, 760.0, parse_unit("m/s")) is None
    True
    """
    if rule.low <= low and high <= rule.high:
        return None
    base = BASE_UNITS[rule.quantity]
    problem = (
        f"{rule.what} of {_fmt(low)}..{_fmt(high)} {base} is not plausible "
        f"(expected {_fmt(rule.low)}..{_fmt(rule.high)} {base})"
    )
    declared_factor = declared.to_base if declared is not None else 1.0
    raw = [v / declared_factor for v in (low, high)]
    if any(math.isclose(v, s, rel_tol=1e-6) for v in raw for s in _NODATA_LIKE):
        sentinel = next(
            v for v in raw if any(math.isclose(v, s, rel_tol=1e-6) for s in _NODATA_LIKE)
        )
        return problem, (
            f"{_fmt(sentinel)} looks like a nodata value the raster does not declare: "
            "set it (gdal_edit.py -a_nodata)"
        )
    fits = [
        unit.name
        for unit, _ in _UNITS.values()
        if unit.quantity == rule.quantity
        and unit != declared
        and rule.low <= low * unit.to_base / declared_factor
        and high * unit.to_base / declared_factor <= rule.high
    ]
    if fits:
        choices = " or ".join(f'"{name}"' for name in fits)
        return problem, f"the values look like {' or '.join(fits)}: set units: {choices}"
    return problem, "check the layer and its units:"


def _fmt(value: float) -> str:
    """Compact number for messages.

    >>> _fmt(0.0), _fmt(59.04), _fmt(3000.0), _fmt(-32768.0), _fmt(0.0123456), _fmt(3.4e38)
    ('0', '59.04', '3000', '-32768', '0.01235', '3.4e+38')
    """
    if float(value).is_integer() and abs(value) < 1e9:
        return str(int(value))
    return f"{value:.4g}"
