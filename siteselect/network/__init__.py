"""Road networks: reading OSM/GraphML/downloads, travel speeds, freeway ramps, routing."""

from siteselect.network.freeway import freeway_access_seconds, freeway_entrances, freeway_exits
from siteselect.network.graph import RoadGraph, TravelTimes, build_road_graph
from siteselect.network.load import fetch_network, load_road_graph
from siteselect.network.osm import read_graph_file, read_road_table
from siteselect.network.table import RoadTable

__all__ = [
    "RoadGraph",
    "RoadTable",
    "TravelTimes",
    "build_road_graph",
    "fetch_network",
    "freeway_access_seconds",
    "freeway_entrances",
    "freeway_exits",
    "load_road_graph",
    "read_graph_file",
    "read_road_table",
]
