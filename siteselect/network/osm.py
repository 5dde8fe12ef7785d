"""Reading road networks from files into an osmnx MultiDiGraph.

Supported: OSM XML (``.osm``, ``.osm.bz2``, ``.xml``) through osmnx's reader,
and GraphML written by osmnx (``.graphml``). The drivable filter that osmnx
applies to online downloads (``network_type="drive"``) is applied here to file
input too, since osmnx's XML reader keeps every way it finds.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from pathlib import Path

import networkx as nx
import osmnx as ox

from siteselect._errors import NetworkError

logger = logging.getLogger(__name__)

NOT_DRIVABLE_HIGHWAYS = frozenset(
    {
        "abandoned",
        "bridleway",
        "bus_guideway",
        "construction",
        "corridor",
        "cycleway",
        "elevator",
        "escalator",
        "footway",
        "no",
        "path",
        "pedestrian",
        "planned",
        "platform",
        "proposed",
        "raceway",
        "razed",
        "steps",
        "track",
        "via_ferrata",
        "bus_stop",
        "busway",
        "disused",
        "emergency_bay",
        "rest_area",
        "services",
    }
)
"""Highway classes osmnx's ``drive`` filter leaves out (plus a few non-roads)."""

NOT_DRIVABLE_SERVICE = frozenset(
    {"alley", "driveway", "emergency_access", "parking", "parking_aisle", "private"}
)
NO_ACCESS = frozenset({"no", "private"})

_EXTRA_WAY_TAGS = ("motor_vehicle", "motorcar", "vehicle", "area")


@contextlib.contextmanager
def _way_tags() -> Iterator[None]:
    """Temporarily make osmnx keep the tags the drivable filter needs."""
    saved = list(ox.settings.useful_tags_way)
    ox.settings.useful_tags_way = sorted({*saved, *_EXTRA_WAY_TAGS})
    try:
        yield
    finally:
        ox.settings.useful_tags_way = saved


def _first(value: object) -> object:
    return value[0] if isinstance(value, list) and value else value


def is_drivable(data: dict[str, object]) -> bool:
    """Whether an edge (its OSM tags) is open to private cars, like osmnx's drive filter."""
    highway = _first(data.get("highway"))
    if highway is None or highway in NOT_DRIVABLE_HIGHWAYS:
        return False
    if _first(data.get("area")) == "yes":
        return False
    if _first(data.get("service")) in NOT_DRIVABLE_SERVICE:
        return False
    for key in ("access", "motor_vehicle", "motorcar", "vehicle"):
        if _first(data.get(key)) in NO_ACCESS:
            return False
    return True


def drivable_subgraph(graph: nx.MultiDiGraph) -> nx.MultiDiGraph:
    """Drop non-drivable edges and the nodes they leave isolated."""
    drop = [(u, v, k) for u, v, k, d in graph.edges(keys=True, data=True) if not is_drivable(d)]
    graph = graph.copy()
    graph.remove_edges_from(drop)
    graph.remove_nodes_from([n for n in list(graph.nodes) if graph.degree(n) == 0])
    logger.info("drivable filter removed %d of %d edges", len(drop), len(drop) + len(graph.edges))
    return graph


def _suffixes(path: Path) -> str:
    return "".join(path.suffixes[-2:]).lower()


def read_graph_file(path: Path) -> nx.MultiDiGraph:
    """Read a road network file into an unsimplified, drivable MultiDiGraph (EPSG:4326).

    Raises
    ------
    NetworkError
        Unsupported extension, unreadable/empty file, or no drivable road in it.
    """
    suffix = _suffixes(path)
    if not path.exists():
        raise NetworkError(f"network.source: file not found: {path}")
    if path.stat().st_size == 0:
        raise NetworkError(f"network.source: {path.name} is empty")
    try:
        if suffix.endswith(".graphml"):
            graph = ox.load_graphml(path)
        elif suffix.endswith((".osm", ".osm.bz2", ".xml", ".xml.bz2")):
            with _way_tags():
                graph = ox.graph_from_xml(path, simplify=False, retain_all=True)
        else:
            raise NetworkError(
                f"network.source: {path.name}: unsupported format; use .osm, .osm.bz2 or .graphml"
            )
    except NetworkError:
        raise
    except Exception as exc:  # osmnx/xml raise many kinds
        raise NetworkError(f"network.source: cannot read {path.name}: {exc}") from None
    if graph.number_of_edges() == 0:
        raise NetworkError(f"network.source: {path.name} contains no roads")
    graph = drivable_subgraph(graph)
    if graph.number_of_edges() == 0:
        raise NetworkError(f"network.source: {path.name} contains no drivable roads")
    logger.info(
        "road network %s: %d nodes, %d drivable edges",
        path.name,
        graph.number_of_nodes(),
        graph.number_of_edges(),
    )
    return graph
