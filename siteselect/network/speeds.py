"""Travel speeds from OSM tags.

``maxspeed`` is parsed as it occurs in real OSM data: ``"65 mph"``, ``"50"``
(km/h), ``"50 km/h"``, ``"30 knots"``, lists ``"40;50"`` (the lowest applies,
conservatively), and words such as ``"signals"``, ``"walk"`` or ``"none"`` that
carry no number (the highway class default applies). Defaults per class are
US-flavoured urban values and can be overridden in the config
(``network.speeds_kmh``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

import numpy as np

MPH_TO_KMH = 1.609344
KNOT_TO_KMH = 1.852

DEFAULT_SPEEDS_KMH: dict[str, float] = {
    "motorway": 105.0,  # 65 mph
    "motorway_link": 56.0,  # 35 mph
    "trunk": 88.0,  # 55 mph
    "trunk_link": 48.0,
    "primary": 72.0,  # 45 mph
    "primary_link": 48.0,
    "secondary": 64.0,  # 40 mph
    "secondary_link": 40.0,
    "tertiary": 56.0,  # 35 mph
    "tertiary_link": 40.0,
    "unclassified": 48.0,
    "residential": 40.0,  # 25 mph
    "living_street": 16.0,
    "service": 24.0,
    "road": 40.0,
}
"""Speed (km/h) by ``highway`` class where ``maxspeed`` is missing or unusable."""

FALLBACK_SPEED_KMH = 40.0
"""Speed for highway classes that have no default."""

_NUMBER = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(mph|km/h|kmh|kph|knots)?\s*$", re.IGNORECASE)


def parse_maxspeed(value: object) -> float:
    """Parse one OSM ``maxspeed`` value to km/h; NaN when it holds no number.

    >>> parse_maxspeed("65 mph")
    104.60736
    >>> parse_maxspeed("50")
    50.0
    >>> parse_maxspeed("40;50")
    40.0
    >>> import math; math.isnan(parse_maxspeed("signals"))
    True
    """
    if value is None:
        return float("nan")
    if isinstance(value, (int, float)):
        return float(value) if value > 0 else float("nan")
    if isinstance(value, (list, tuple)):
        parsed = [parse_maxspeed(v) for v in value]
        finite = [p for p in parsed if np.isfinite(p)]
        return min(finite) if finite else float("nan")
    text = str(value).strip()
    if ";" in text or "|" in text:
        return parse_maxspeed(re.split(r"[;|]", text))
    match = _NUMBER.match(text)
    if match is None:
        return float("nan")
    number = float(match.group(1))
    unit = (match.group(2) or "km/h").lower()
    if number <= 0:
        return float("nan")
    if unit == "mph":
        return number * MPH_TO_KMH
    if unit == "knots":
        return number * KNOT_TO_KMH
    return number


def highway_class(value: object) -> str:
    """The highway class of an edge; the first entry of a list."""
    if isinstance(value, (list, tuple)):
        return str(value[0]) if value else "road"
    return str(value) if value is not None else "road"


def edge_speeds_kmh(
    maxspeeds: Iterable[object],
    highways: Iterable[str],
    overrides: Mapping[str, float] | None = None,
) -> np.ndarray:
    """Speed per edge: parsed ``maxspeed``, else the highway class default.

    Each distinct ``maxspeed`` value is parsed once (a county has a few
    hundred distinct values for hundreds of thousands of ways).

    Parameters
    ----------
    maxspeeds : iterable
        Raw ``maxspeed`` tag per edge (None where absent).
    highways : iterable of str
        Highway class per edge.
    overrides : mapping, optional
        Per-class defaults from the config, replacing :data:`DEFAULT_SPEEDS_KMH`.
    """
    defaults = {**DEFAULT_SPEEDS_KMH, **(overrides or {})}
    parsed_by_value: dict[object, float] = {}

    def parsed(value: object) -> float:
        key = tuple(value) if isinstance(value, list) else value
        if key not in parsed_by_value:
            parsed_by_value[key] = parse_maxspeed(value)
        return parsed_by_value[key]

    limits = np.array([parsed(v) for v in maxspeeds], dtype="float64")
    fallback = np.array([defaults.get(h, FALLBACK_SPEED_KMH) for h in highways], dtype="float64")
    return np.where(np.isfinite(limits), limits, fallback)
