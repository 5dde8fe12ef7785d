"""Road networks: reading OSM/GraphML, travel speeds, freeway ramps, routing."""

from siteselect.network.freeway import freeway_entrances, freeway_exits
from siteselect.network.graph import RoadGraph, build_road_graph
from siteselect.network.osm import read_graph_file

__all__ = [
    "RoadGraph",
    "build_road_graph",
    "freeway_entrances",
    "freeway_exits",
    "read_graph_file",
]
