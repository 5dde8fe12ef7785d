"""A road network as flat arrays: the common form of every input.

Readers (pyosmium for OSM XML/PBF, osmnx for GraphML and online downloads)
produce a :class:`RoadTable`; :func:`siteselect.network.graph.build_road_graph`
turns it into the routing matrix. Way-level tags (``highway``, ``maxspeed``,
``name``, ``ref``) are stored once per way and referenced by each of the way's
directed edges, which keeps a county-scale network in a few hundred megabytes.

Tags are normalised when a table is made, whatever the reader, so consumers
see one form (:func:`tag_values`): a tag is either ``None`` (absent, empty,
blank or NaN) or non-empty text. Lists, whether an OSM ``;`` list
(``"I 5;I 8"``), a Python list from a simplified osmnx graph or its GraphML
text (``"['I 5', 'I 8']"``), become ``"I 5; I 8"`` (``;`` without spaces for
``maxspeed``, which :func:`~siteselect.network.speeds.parse_maxspeed` splits);
``highway`` becomes the first value in lower case (the class that sets the
speed and freeway detection).
"""

from __future__ import annotations

import ast
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import networkx as nx
import numpy as np

EARTH_RADIUS_M = 6_371_009.0
"""Mean earth radius used by osmnx for edge lengths."""


@dataclass
class RoadTable:
    """Directed road edges between OSM nodes, unprojected (EPSG:4326).

    Attributes
    ----------
    node_ids : numpy.ndarray of int64
        OSM node id per node index.
    lon, lat : numpy.ndarray of float64
        Node coordinates in degrees.
    u, v : numpy.ndarray of int64
        Node indices of each directed edge (drivable from u to v).
    length_m : numpy.ndarray of float64
        Great-circle length of each edge in metres.
    way : numpy.ndarray of int64
        Index of each edge's way into the ``way_*`` arrays.
    way_highway, way_maxspeed, way_name, way_ref : numpy.ndarray of object
        Tags per way, normalised on construction (see the module docstring):
        None where absent, else non-empty text; ``way_highway`` the class.
    diagnostics : dict
        What the reader found and did (JSON-serialisable counts and examples).
    """

    node_ids: np.ndarray
    lon: np.ndarray
    lat: np.ndarray
    u: np.ndarray
    v: np.ndarray
    length_m: np.ndarray
    way: np.ndarray
    way_highway: np.ndarray
    way_maxspeed: np.ndarray
    way_name: np.ndarray
    way_ref: np.ndarray
    diagnostics: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.way_highway = _normalised(self.way_highway, highway_text)
        self.way_maxspeed = _normalised(self.way_maxspeed, lambda v: tag_text(v, ";"))
        self.way_name = _normalised(self.way_name, tag_text)
        self.way_ref = _normalised(self.way_ref, tag_text)

    @property
    def n_nodes(self) -> int:
        """Number of nodes."""
        return len(self.node_ids)

    @property
    def n_edges(self) -> int:
        """Number of directed edges."""
        return len(self.u)


def great_circle_m(
    lat1: np.ndarray, lon1: np.ndarray, lat2: np.ndarray, lon2: np.ndarray
) -> np.ndarray:
    """Haversine distance in metres (the formula osmnx uses for edge lengths)."""
    y1, y2 = np.deg2rad(lat1), np.deg2rad(lat2)
    d_lambda = np.deg2rad(np.asarray(lon2) - np.asarray(lon1))
    h = np.sin((y2 - y1) / 2) ** 2 + np.cos(y1) * np.cos(y2) * np.sin(d_lambda / 2) ** 2
    return 2 * np.arcsin(np.sqrt(np.minimum(1.0, h))) * EARTH_RADIUS_M


MAX_LIST_TEXT = 10_000
"""Longest GraphML list text (``"['a', 'b']"``) parsed as a list."""


def _is_missing(value: object) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def _scalar_text(value: object) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def tag_values(value: object) -> list[str]:
    """The non-empty values of one OSM tag, in order, without repeats.

    >>> tag_values("I 5;I 8")
    ['I 5', 'I 8']
    >>> tag_values("['I 5', 'I 8']")  # a list as osmnx's GraphML stores it
    ['I 5', 'I 8']
    >>> tag_values(["motorway", "motorway_link", "motorway"])
    ['motorway', 'motorway_link']
    >>> tag_values(" "), tag_values(None), tag_values(float("nan"))
    ([], [], [])
    """
    if _is_missing(value):
        return []
    if isinstance(value, (list, tuple, set, frozenset, np.ndarray)):
        items = [item for v in value for item in tag_values(v)]
    else:
        text = _scalar_text(value)
        if text.startswith("[") and text.endswith("]") and len(text) <= MAX_LIST_TEXT:
            try:
                parsed = ast.literal_eval(text)
            except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
                parsed = None
            if isinstance(parsed, (list, tuple)):
                return tag_values(parsed)
        items = [part.strip() for part in text.split(";")]
    return list(dict.fromkeys(item for item in items if item))


def tag_text(value: object, separator: str = "; ") -> str | None:
    """One tag as text: its values joined by ``separator``; None when it has none."""
    return separator.join(tag_values(value)) or None


def highway_text(value: object) -> str | None:
    """The highway class of a tag value: its first value in lower case; None when absent."""
    values = tag_values(value)
    return values[0].lower() if values else None


def _normalised(values: object, normalise: Callable[[object], str | None]) -> np.ndarray:
    """``normalise`` applied to each value (once per distinct value), as an object array."""
    done: dict[object, str | None] = {}
    out: list[str | None] = []
    for value in values:  # type: ignore[attr-defined]
        key: object = (type(value), repr(value) if isinstance(value, float) else value)
        try:
            hash(key)
        except TypeError:  # lists from simplified osmnx graphs
            key = (type(value), repr(value))
        if key not in done:
            done[key] = normalise(value)
        out.append(done[key])
    return _as_object(out)


def _as_object(values: list[object]) -> np.ndarray:
    out = np.empty(len(values), dtype=object)
    out[:] = values
    return out


def _number(value: object) -> float:
    """``value`` as a float; NaN when it is not a number."""
    try:
        return float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return math.nan


def table_from_networkx(graph: nx.MultiDiGraph) -> RoadTable:
    """Flatten an osmnx MultiDiGraph (node ``x``/``y`` in degrees) into a :class:`RoadTable`.

    Each edge becomes its own "way". An edge without a usable ``length`` gets
    its straight great-circle length; nodes without usable coordinates are
    left out with their edges (counted in ``diagnostics``).
    """
    located = {n: (_number(d.get("x")), _number(d.get("y"))) for n, d in graph.nodes(data=True)}
    nodes = [
        n
        for n, (x, y) in located.items()
        if math.isfinite(x) and math.isfinite(y) and -180 <= x <= 180 and -90 <= y <= 90
    ]
    index = {n: i for i, n in enumerate(nodes)}
    lon = np.array([located[n][0] for n in nodes], dtype="float64")
    lat = np.array([located[n][1] for n in nodes], dtype="float64")
    all_rows = list(graph.edges(data=True))
    rows = [(a, b, d) for a, b, d in all_rows if a in index and b in index]
    u = np.fromiter((index[a] for a, _, _ in rows), dtype=np.int64, count=len(rows))
    v = np.fromiter((index[b] for _, b, _ in rows), dtype=np.int64, count=len(rows))
    length = np.array([_number(d.get("length")) for _, _, d in rows], dtype="float64")
    straight = great_circle_m(lat[u], lon[u], lat[v], lon[v])
    length = np.where(np.isfinite(length) & (length >= 0), length, straight)

    def column(key: str) -> np.ndarray:
        return _as_object([d.get(key) for _, _, d in rows])

    diagnostics: dict[str, Any] = {}
    if len(nodes) < len(located):
        diagnostics["nodes_without_coordinates"] = len(located) - len(nodes)
        diagnostics["edges_dropped_without_coordinates"] = len(all_rows) - len(rows)
    return RoadTable(
        node_ids=np.asarray(nodes, dtype=np.int64),
        lon=lon,
        lat=lat,
        u=u,
        v=v,
        length_m=length,
        way=np.arange(len(rows), dtype=np.int64),
        way_highway=column("highway"),
        way_maxspeed=column("maxspeed"),
        way_name=column("name"),
        way_ref=column("ref"),
        diagnostics=diagnostics,
    )


def table_to_networkx(table: RoadTable) -> nx.MultiDiGraph:
    """An osmnx-style MultiDiGraph of a :class:`RoadTable` (for GraphML and checks)."""
    graph = nx.MultiDiGraph(crs="epsg:4326")
    graph.add_nodes_from(
        (int(n), {"x": float(x), "y": float(y)})
        for n, x, y in zip(table.node_ids, table.lon, table.lat, strict=True)
    )
    for u, v, length, way in zip(table.u, table.v, table.length_m, table.way, strict=True):
        data = {"length": float(length), "highway": table.way_highway[way]}
        for key, values in (
            ("maxspeed", table.way_maxspeed),
            ("name", table.way_name),
            ("ref", table.way_ref),
        ):
            if values[way] is not None:
                data[key] = values[way]
        graph.add_edge(int(table.node_ids[u]), int(table.node_ids[v]), **data)
    return graph
