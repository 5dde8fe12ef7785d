"""Which OSM ways are drivable, and in which direction.

The rules reproduce osmnx's online behaviour so that a file read here gives
the network ``osmnx.graph_from_place(..., network_type=...)`` would download:

* the Overpass filters of osmnx 2.x (``osmnx._overpass._get_network_filter``)
  for ``drive`` and ``drive_service``, as unanchored regular expressions on the
  tag values, exactly as Overpass evaluates ``["key"!~"regex"]``;
* the one-way rules of ``osmnx.graph._add_paths`` (osmnx 2.x): ``oneway`` in
  ``yes/true/1/-1/reverse/T/F`` is one-way, ``-1/reverse/T`` against the node
  order (``T``/``F`` are Geofabrik's codes), and ``junction=roundabout`` is
  one-way whatever its ``oneway`` says (as in osmnx). Every other value is
  two-way in osmnx, and so here:
  ``no/false/0``; ``reversible`` (lanes whose direction changes by time of
  day) and ``alternating`` (traffic takes turns, e.g. a one-lane bridge), which
  both carry traffic both ways over a day; and junk (``yes;no``, ``unknown``,
  an empty value), counted in the reader's diagnostics. Values are compared
  after trimming spaces and, except ``T``/``F``, ignoring case (osmnx compares
  exactly; ``"Yes"`` is a typo for ``yes``, not a two-way road). In addition
  ``highway=motorway`` is one-way unless ``oneway`` says otherwise (no/false/0,
  reversible, alternating): the OSM default; osmnx leaves an untagged motorway
  two-way, which would let a car drive against the traffic of a carriageway.
* a way whose ``highway`` value is empty is not a road (osmnx's Overpass
  query only asks that the key exists).
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

FORWARD_VALUES = frozenset({"yes", "true", "1", "F"})
"""``oneway`` values for one-way along the node order."""
REVERSED_VALUES = frozenset({"-1", "reverse", "T"})
"""``oneway`` values for one-way against the node order."""
ONEWAY_VALUES = FORWARD_VALUES | REVERSED_VALUES
TWO_WAY_VALUES = frozenset({"no", "false", "0", "reversible", "alternating"})
"""``oneway`` values for two-way roads, also on a motorway."""
IMPLIED_ONEWAY_HIGHWAYS = frozenset({"motorway"})


def oneway_value(tags: Mapping[str, object]) -> str | None:
    """The ``oneway`` tag trimmed, lower-cased except Geofabrik's ``T``/``F``; None if absent."""
    value = tags.get("oneway")
    if value is None:
        return None
    text = str(value).strip()
    return text if text in ("T", "F") else text.lower()


def oneway_understood(tags: Mapping[str, object]) -> bool:
    """Whether the way's ``oneway`` tag is absent or one of the values with a meaning."""
    value = oneway_value(tags)
    return value is None or value in ONEWAY_VALUES or value in TWO_WAY_VALUES


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
        highway = tags.get("highway")
        if highway is None or not str(highway).strip():
            return False
        for key, pattern in patterns:
            value = tags.get(key)
            if value is not None and pattern.search(str(value)):
                return False
        return True

    return keep


def travel_directions(tags: Mapping[str, object]) -> tuple[bool, bool]:
    """Whether a way can be driven (forward, backward) along its node order.

    >>> travel_directions({"highway": "residential", "oneway": "-1"})
    (False, True)
    >>> travel_directions({"highway": "motorway"})
    (True, False)
    >>> travel_directions({"highway": "motorway", "oneway": "reversible"})
    (True, True)
    >>> travel_directions({"highway": "primary", "oneway": "yes;no"})
    (True, True)
    """
    oneway = oneway_value(tags)
    if oneway in ONEWAY_VALUES:
        reverse = oneway in REVERSED_VALUES
        return (not reverse, reverse)
    if str(tags.get("junction", "")).strip().lower() == "roundabout":
        return (True, False)
    if oneway in TWO_WAY_VALUES:
        return (True, True)
    if str(tags.get("highway", "")).strip().lower() in IMPLIED_ONEWAY_HIGHWAYS:
        return (True, False)
    return (True, True)
