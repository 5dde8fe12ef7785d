"""Travel speeds from OSM tags.

``maxspeed`` is parsed as it occurs in real OSM data: ``"65 mph"``, ``"65mph"``,
``"50"`` (km/h), ``"50 km/h"``, ``"30 knots"``, lists ``"40;50"`` (the lowest
applies, conservatively). Values that carry no usable number get the highway
class default: words (``none``, ``signals``, ``variable``, ``walk``), implicit
zone codes (``DE:urban``, ``US:rural``; their numbers differ by country and are
not guessed), junk (``"50,5"``, ``"fast"``), zero or negative numbers, and
numbers above :data:`MAX_PLAUSIBLE_KMH` (typing errors such as ``"1000"``, which
would make a road a teleporter). Defaults per class are US-flavoured urban
values and can be overridden in the config (``network.speeds_kmh``); an unknown
``highway`` class gets :data:`FALLBACK_SPEED_KMH`.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np

from siteselect.network.table import highway_text, tag_values

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

MAX_PLAUSIBLE_KMH = 200.0
"""Posted limits above this are typing errors; the class default applies."""

_NUMBER = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(mph|km/h|kmh|kph|knots)?\s*$", re.IGNORECASE)


def parse_maxspeed(value: object) -> float:
    """Parse one OSM ``maxspeed`` value to km/h; NaN when it holds no usable number.

    >>> parse_maxspeed("65 mph")
    104.60736
    >>> parse_maxspeed("50")
    50.0
    >>> parse_maxspeed("40;50")
    40.0
    >>> import math; math.isnan(parse_maxspeed("signals")), math.isnan(parse_maxspeed("DE:urban"))
    (True, True)
    """
    if isinstance(value, bool):
        return float("nan")
    if isinstance(value, (int, float)):
        number = float(value)
        return number if 0 < number <= MAX_PLAUSIBLE_KMH else float("nan")
    values = tag_values(value)
    if len(values) != 1:
        parsed = [parse_maxspeed(v) for v in values]
        finite = [p for p in parsed if np.isfinite(p)]
        return min(finite) if finite else float("nan")
    match = _NUMBER.match(values[0])
    if match is None:
        return float("nan")
    number = float(match.group(1))
    unit = (match.group(2) or "km/h").lower()
    if unit == "mph":
        number *= MPH_TO_KMH
    elif unit == "knots":
        number *= KNOT_TO_KMH
    return number if 0 < number <= MAX_PLAUSIBLE_KMH else float("nan")


def highway_class(value: object) -> str:
    """The highway class of an edge: the first value of a list, in lower case; "road" if none."""
    return highway_text(value) or "road"


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
        key = value if isinstance(value, str) or value is None else repr(value)
        if key not in parsed_by_value:
            parsed_by_value[key] = parse_maxspeed(value)
        return parsed_by_value[key]

    limits = np.array([parsed(v) for v in maxspeeds], dtype="float64")
    fallback = np.array([defaults.get(h, FALLBACK_SPEED_KMH) for h in highways], dtype="float64")
    return np.where(np.isfinite(limits), limits, fallback)


def speed_diagnostics(
    maxspeeds: Iterable[object],
    highways: Iterable[str],
    overrides: Mapping[str, float] | None = None,
) -> dict[str, Any]:
    """What the speed rules did with the ways' tags (JSON-serialisable).

    Returns
    -------
    dict
        ``maxspeed_unusable_ways`` (tagged, but the class default applied) with
        the most common such values, and ``unknown_highway_ways`` (classes
        without a default, at :data:`FALLBACK_SPEED_KMH`) with the classes.
    """
    known = {**DEFAULT_SPEEDS_KMH, **(overrides or {})}
    tagged = Counter(str(raw) for raw in maxspeeds if raw is not None)
    unusable = Counter({raw: n for raw, n in tagged.items() if np.isnan(parse_maxspeed(raw))})
    unknown = Counter(str(h) for h in highways if h not in known)
    out: dict[str, Any] = {}
    if unusable:
        out["maxspeed_unusable_ways"] = sum(unusable.values())
        out["maxspeed_unusable_values"] = dict(unusable.most_common(10))
    if unknown:
        out["unknown_highway_ways"] = sum(unknown.values())
        out["unknown_highway_classes"] = dict(unknown.most_common(10))
    return out
