"""Reading road network files into a :class:`~siteselect.network.table.RoadTable`.

* OSM XML (``.osm``, ``.osm.bz2``, ``.osm.gz``, ``.xml``) and PBF (``.osm.pbf``,
  ``.pbf``) are read with pyosmium (the ``osmium`` package: maintained Python
  bindings of libosmium, with wheels for every platform; it parses both formats
  in C++ and resolves way node locations in C++, so only the drivable ways
  reach Python). The drivable filter and one-way rules are those osmnx applies
  to online downloads (:mod:`siteselect.network.filters`), since a file holds
  every way.
* GraphML written by osmnx (or ``siteselect fetch``) is read with
  ``osmnx.load_graphml`` and filtered the same way.

Every problem raises :class:`~siteselect._errors.NetworkError` naming the file
and what to do.
"""

from __future__ import annotations

import logging
from collections import Counter
from pathlib import Path

import networkx as nx
import numpy as np
import osmium
import osmnx as ox

from siteselect._errors import NetworkError
from siteselect.network.filters import (
    FILTER_TAGS,
    NetworkType,
    drivable_predicate,
    oneway_understood,
    travel_directions,
)
from siteselect.network.table import (
    RoadTable,
    great_circle_m,
    table_from_networkx,
    table_to_networkx,
    tag_values,
)

logger = logging.getLogger(__name__)

OSM_SUFFIXES = (".osm", ".osm.bz2", ".osm.gz", ".xml", ".xml.bz2", ".osm.pbf", ".pbf")
GRAPHML_SUFFIXES = (".graphml",)
SUPPORTED = ".osm, .osm.bz2, .osm.pbf or .graphml"


def _suffix(path: Path) -> str:
    return "".join(path.suffixes[-2:]).lower()


def check_network_file(path: Path) -> None:
    """Raise NetworkError unless ``path`` is an existing, non-empty file of a supported format."""
    if not path.exists():
        raise NetworkError(f"network.source: file not found: {path}")
    if path.stat().st_size == 0:
        raise NetworkError(f"network.source: {path.name} is empty; re-export or re-download it")
    if not _suffix(path).endswith(OSM_SUFFIXES + GRAPHML_SUFFIXES):
        raise NetworkError(f"network.source: {path.name}: unsupported format; use {SUPPORTED}")


def _as_object(values: list[object]) -> np.ndarray:
    out = np.empty(len(values), dtype=object)
    out[:] = values
    return out


class _WayCollector:
    """Accumulates the node references and tags of drivable ways."""

    def __init__(self) -> None:
        self.ref_id: list[int] = []
        self.ref_lon: list[float] = []
        self.ref_lat: list[float] = []
        self.ref_way: list[int] = []
        self.forward: list[bool] = []
        self.backward: list[bool] = []
        self.tags: dict[str, list[object]] = {k: [] for k in ("highway", "maxspeed", "name", "ref")}
        self.oneway_junk: Counter[str] = Counter()

    def add(self, way: osmium.osm.Way, tags: dict[str, str]) -> None:
        index = len(self.forward)
        forward, backward = travel_directions(tags)
        if not oneway_understood(tags):
            self.oneway_junk[tags["oneway"]] += 1
        self.forward.append(forward)
        self.backward.append(backward)
        for key, values in self.tags.items():
            values.append(tags.get(key))
        nan = float("nan")
        for node in way.nodes:
            location = node.location
            valid = location.valid()
            self.ref_id.append(node.ref)
            self.ref_lon.append(location.lon if valid else nan)
            self.ref_lat.append(location.lat if valid else nan)
            self.ref_way.append(index)

    def unlocated_negative_ids(self) -> set[int]:
        """Ids below zero (JOSM's unsaved objects) whose location libosmium's index lacks."""
        ref_id = np.asarray(self.ref_id, dtype=np.int64)
        return set(ref_id[(ref_id < 0) & ~np.isfinite(self.ref_lon)].tolist())

    def locate(self, locations: dict[int, tuple[float, float]]) -> None:
        """Fill in the (lon, lat) of node references the first pass could not locate."""
        for position, node_id in enumerate(self.ref_id):
            if node_id in locations:
                self.ref_lon[position], self.ref_lat[position] = locations[node_id]

    def table(self) -> RoadTable:
        ref_id = np.asarray(self.ref_id, dtype=np.int64)
        ref_lon = np.asarray(self.ref_lon, dtype="float64")
        ref_lat = np.asarray(self.ref_lat, dtype="float64")
        ref_way = np.asarray(self.ref_way, dtype=np.int64)
        located = np.isfinite(ref_lon)
        segment = (
            (ref_way[:-1] == ref_way[1:]) & located[:-1] & located[1:] & (ref_id[:-1] != ref_id[1:])
        )
        a = np.flatnonzero(segment)
        b = a + 1
        seg_way = ref_way[a]
        fwd = np.asarray(self.forward, dtype=bool)[seg_way]
        bwd = np.asarray(self.backward, dtype=bool)[seg_way]
        u_pos = np.concatenate([a[fwd], b[bwd]])
        v_pos = np.concatenate([b[fwd], a[bwd]])
        way = np.concatenate([seg_way[fwd], seg_way[bwd]])
        used = np.concatenate([a, b])
        node_ids, first = np.unique(ref_id[used], return_index=True)
        first_pos = used[first]
        u = np.searchsorted(node_ids, ref_id[u_pos])
        v = np.searchsorted(node_ids, ref_id[v_pos])
        length = great_circle_m(ref_lat[u_pos], ref_lon[u_pos], ref_lat[v_pos], ref_lon[v_pos])
        order = np.lexsort((v, u))
        n_ways = len(self.forward)
        missing = np.unique(ref_id[~located])
        diagnostics: dict[str, object] = {
            "drivable_ways": n_ways,
            "ways_without_edges": n_ways - np.unique(seg_way).size,
            "missing_node_refs": int(missing.size),
        }
        if self.oneway_junk:
            diagnostics["oneway_not_understood_ways"] = sum(self.oneway_junk.values())
            diagnostics["oneway_not_understood_values"] = dict(self.oneway_junk.most_common(10))
        return RoadTable(
            node_ids=node_ids,
            lon=ref_lon[first_pos],
            lat=ref_lat[first_pos],
            u=u[order],
            v=v[order],
            length_m=length[order],
            way=way[order],
            way_highway=_as_object(self.tags["highway"]),
            way_maxspeed=_as_object(self.tags["maxspeed"]),
            way_name=_as_object(self.tags["name"]),
            way_ref=_as_object(self.tags["ref"]),
            diagnostics=diagnostics,
        )


def read_osm_table(path: Path, network_type: NetworkType = "drive") -> RoadTable:
    """Read the drivable ways of an OSM XML or PBF file with pyosmium.

    Parameters
    ----------
    path : Path
        ``.osm``, ``.osm.bz2``, ``.osm.gz`` or ``.osm.pbf`` file.
    network_type : {"drive", "drive_service"}
        osmnx network type whose filter is applied.

    Returns
    -------
    RoadTable
        Unsimplified: one directed edge per consecutive node pair of a way
        (two for a two-way road); references to nodes missing from the file
        (clipped extracts) split the way there.

    Raises
    ------
    NetworkError
        Unreadable file, or no (drivable) road in it.
    """
    check_network_file(path)
    keep = drivable_predicate(network_type)
    collector = _WayCollector()
    n_highway_ways = 0
    try:
        processor = (
            osmium.FileProcessor(str(path), osmium.osm.NODE | osmium.osm.WAY)
            .with_locations()
            .with_filter(osmium.filter.EntityFilter(osmium.osm.WAY))
            .with_filter(osmium.filter.KeyFilter("highway"))
        )
        for way in processor:
            n_highway_ways += 1
            tags = {tag.k: tag.v for tag in way.tags}
            if keep(tags):
                collector.add(way, tags)
        negative = collector.unlocated_negative_ids()
        if negative:
            collector.locate(_negative_node_locations(path, negative))
    except Exception as exc:  # libosmium raises RuntimeError subclasses for bad input
        raise NetworkError(
            f"network.source: cannot read {path.name} as OSM data ({exc}); "
            "check that it is a complete .osm/.osm.pbf file"
        ) from None
    if n_highway_ways == 0:
        raise NetworkError(
            f"network.source: {path.name} contains no roads (no way tagged highway); "
            "is it an OSM extract of the study area?"
        )
    n_drivable = len(collector.forward)
    if n_drivable == 0:
        raise NetworkError(
            f"network.source: {path.name} contains no drivable roads "
            f"({n_highway_ways} highway ways, none open to cars under network_type "
            f"{network_type!r}); use an extract with streets, or network_type drive_service"
        )
    table = collector.table()
    table.diagnostics["highway_ways"] = n_highway_ways
    if table.n_edges == 0:
        raise NetworkError(
            f"network.source: {path.name} has {n_drivable} drivable ways but no road segment "
            f"between two nodes located in the file ({table.diagnostics['missing_node_refs']} "
            "referenced nodes are missing); re-export the extract with its nodes "
            "(e.g. osmium extract --strategy complete_ways)"
        )
    logger.info(
        "%s: %d of %d highway ways drivable -> %d nodes, %d directed edges",
        path.name,
        n_drivable,
        n_highway_ways,
        table.n_nodes,
        table.n_edges,
    )
    return table


def _negative_node_locations(path: Path, wanted: set[int]) -> dict[int, tuple[float, float]]:
    """(lon, lat) of nodes with negative ids, which libosmium's location index skips.

    A second pass over the nodes in Python: files with negative ids are JOSM
    drafts, small, so this costs little where it happens at all.
    """
    found: dict[int, tuple[float, float]] = {}
    for node in osmium.FileProcessor(str(path), osmium.osm.NODE):
        if node.id in wanted and node.location.valid():
            found[node.id] = (node.location.lon, node.location.lat)
    return found


def drivable_subgraph(
    graph: nx.MultiDiGraph, network_type: NetworkType = "drive"
) -> nx.MultiDiGraph:
    """Drop an osmnx graph's non-drivable edges and the nodes they leave isolated.

    List-valued tags (simplified graphs, or their GraphML text
    ``"['residential', 'service']"``) are judged by their first value.
    """
    keep = drivable_predicate(network_type)

    def tags(data: dict[str, object]) -> dict[str, str]:
        first = {key: tag_values(data.get(key))[:1] for key in FILTER_TAGS}
        return {key: values[0] for key, values in first.items() if values}

    drop = [(u, v, k) for u, v, k, d in graph.edges(keys=True, data=True) if not keep(tags(d))]
    graph = graph.copy()
    graph.remove_edges_from(drop)
    graph.remove_nodes_from([n for n in list(graph.nodes) if graph.degree(n) == 0])
    logger.info("drivable filter removed %d of %d edges", len(drop), len(drop) + len(graph.edges))
    return graph


def _lenient_float(value: object) -> float:
    """A GraphML number; NaN instead of an error for junk (the reader checks lengths)."""
    try:
        return float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return float("nan")


_GRAPHML_EDGE_DTYPES = {
    **dict.fromkeys(
        ("bearing", "grade", "grade_abs", "length", "speed_kph", "travel_time"), _lenient_float
    ),
    **dict.fromkeys(("oneway", "reversed", "osmid"), str),
}
"""osmnx's edge attribute converters made lenient: values the routing does not
use (``oneway`` from ``all_oneway`` graphs, odd ``osmid``) stay text instead of
failing the whole file; numbers that are junk become NaN."""


def read_graphml_table(path: Path, network_type: NetworkType = "drive") -> RoadTable:
    """Read an osmnx GraphML file (unprojected) into a drivable :class:`RoadTable`."""
    check_network_file(path)
    try:
        graph = ox.load_graphml(path, edge_dtypes=_GRAPHML_EDGE_DTYPES)
    except Exception as exc:  # networkx/lxml raise many kinds
        raise NetworkError(
            f"network.source: cannot read {path.name} as osmnx GraphML ({exc}); "
            "re-create it with 'siteselect fetch' or osmnx.save_graphml"
        ) from None
    crs = str(graph.graph.get("crs", "epsg:4326")).lower()
    if crs not in ("epsg:4326", "wgs84", "+proj=longlat +datum=wgs84 +no_defs"):
        raise NetworkError(
            f"network.source: {path.name} is projected ({crs}); save the unprojected graph"
        )
    graph = drivable_subgraph(graph, network_type)
    if graph.number_of_edges() == 0:
        raise NetworkError(
            f"network.source: {path.name} contains no drivable roads (under network_type "
            f"{network_type!r}); download the area again with 'siteselect fetch'"
        )
    table = table_from_networkx(graph)
    if table.n_edges == 0:
        raise NetworkError(
            f"network.source: {path.name}: no drivable road has both end nodes with x/y "
            "coordinates; re-create it with 'siteselect fetch' or osmnx.save_graphml"
        )
    return table


def read_road_table(path: Path, network_type: NetworkType = "drive") -> RoadTable:
    """Read any supported network file (by extension) into a drivable :class:`RoadTable`."""
    check_network_file(path)
    if _suffix(path).endswith(GRAPHML_SUFFIXES):
        return read_graphml_table(path, network_type)
    return read_osm_table(path, network_type)


def read_graph_file(path: Path, network_type: NetworkType = "drive") -> nx.MultiDiGraph:
    """Read any supported network file into an unsimplified, drivable osmnx MultiDiGraph.

    Convenient for inspection and checks; routing goes through
    :func:`read_road_table`, which does not build a networkx graph.
    """
    return table_to_networkx(read_road_table(path, network_type))
