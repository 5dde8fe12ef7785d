"""Which OSM ways are drivable, and in which direction.

The rules reproduce osmnx's online behaviour so that a file read here gives
the network ``osmnx.graph_from_place(..., network_type=...)`` would download:

* the Overpass filters of osmnx 2.x (``osmnx._overpass._get_network_filter``)
  for ``drive`` and ``drive_service``, as unanchored regular expressions on the
  tag values, exactly as Overpass evaluates ``["key"!~"regex"]``;
* the one-way rules of ``osmnx.graph._add_paths``: ``oneway`` in
  ``yes/true/1/-1/reverse/T/F`` is one-way, ``-1/reverse/T`` reversed, and
  ``junction=roundabout`` is one-way. In addition ``highway=motorway`` is
  one-way unless tagged ``oneway=no`` (the OSM default; osmnx leaves an
  untagged motorway two-way, which would let a car drive against the traffic
  of a carriageway).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Literal

NetworkType = Literal["drive", "drive_service"]

_BLOCKED_HIGHWAYS = (
    "abandoned|bridleway|bus_guideway|construction|corridor|cycleway|elevator|escalator|"
    "footway|no|path|pedestrian|planned|platform|proposed|raceway|razed|rest_area|{service}"
    "services|steps|track"
)
_EXCLUDE: dict[NetworkType, dict[str, str]] = {
    "drive": {
        "area": "yes",
        "access": "private",
        "highway": _BLOCKED_HIGHWAYS.format(service="service|"),
        "motor_vehicle": "no",
        "motorcar": "no",
        "service": "alley|driveway|emergency_access|parking|parking_aisle|private",
    },
    "drive_service": {
        "area": "yes",
        "access": "private",
        "highway": _BLOCKED_HIGHWAYS.format(service=""),
        "motor_vehicle": "no",
        "motorcar": "no",
        "service": "emergency_access|parking|parking_aisle|private",
    },
}
"""Per network type: tag key -> regex; a way whose tag value matches is dropped."""

FILTER_TAGS = ("highway", "area", "access", "motor_vehicle", "motorcar", "service")
"""Tags the drivable filter reads."""

ONEWAY_VALUES = frozenset({"yes", "true", "1", "-1", "reverse", "T", "F"})
REVERSED_VALUES = frozenset({"-1", "reverse", "T"})
TWO_WAY_VALUES = frozenset({"no", "false", "0"})
IMPLIED_ONEWAY_HIGHWAYS = frozenset({"motorway"})


def drivable_predicate(network_type: NetworkType = "drive") -> Callable[[Mapping[str, str]], bool]:
    """A function ``tags -> bool``: whether a way with these tags is kept.

    Parameters
    ----------
    network_type : {"drive", "drive_service"}
        osmnx's network type: ``drive`` leaves out ``highway=service`` roads,
        ``drive_service`` keeps them (minus parking aisles and the like).
    """
    patterns = [(key, re.compile(regex)) for key, regex in _EXCLUDE[network_type].items()]

    def keep(tags: Mapping[str, str]) -> bool:
        if tags.get("highway") is None:
            return False
        for key, pattern in patterns:
            value = tags.get(key)
            if value is not None and pattern.search(str(value)):
                return False
        return True

    return keep


def travel_directions(tags: Mapping[str, str]) -> tuple[bool, bool]:
    """Whether a way can be driven (forward, backward) along its node order."""
    oneway = tags.get("oneway")
    if oneway in ONEWAY_VALUES:
        reverse = oneway in REVERSED_VALUES
        return (not reverse, reverse)
    if tags.get("junction") == "roundabout":
        return (True, False)
    if oneway not in TWO_WAY_VALUES and tags.get("highway") in IMPLIED_ONEWAY_HIGHWAYS:
        return (True, False)
    return (True, True)
