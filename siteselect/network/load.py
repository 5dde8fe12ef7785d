"""From the ``network:`` config section to a :class:`RoadGraph`, with caching.

The one entry point the study uses: resolve the input (a file, or a download
stored as GraphML), then return the built graph from the on-disk cache or
build it (pyosmium reader -> numpy edge arrays -> CSR) and store it.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyproj
from shapely.geometry.base import BaseGeometry

from siteselect.network.cache import cached_graph
from siteselect.network.graph import RoadGraph, build_road_graph
from siteselect.network.online import download_graph, store_graphml, study_polygon_wgs84
from siteselect.network.osm import check_network_file, read_road_table
from siteselect.network.speeds import FALLBACK_SPEED_KMH, highway_class, speed_diagnostics
from siteselect.network.table import RoadTable

if TYPE_CHECKING:
    from siteselect.config import NetworkSpec

logger = logging.getLogger(__name__)


def fetch_network(
    spec: NetworkSpec, crs: pyproj.CRS | None = None, study_area: BaseGeometry | None = None
) -> Path:
    """Download the configured network through osmnx and store it at ``spec.source``.

    Parameters
    ----------
    spec : NetworkSpec
        With ``place`` or ``polygon_from_study_area``.
    crs : pyproj.CRS, optional
        CRS of ``study_area`` (needed with ``polygon_from_study_area``).
    study_area : shapely geometry, optional
        The study area, buffered by ``max_snap_m`` before the download.

    Returns
    -------
    Path
        The GraphML file written.
    """
    from siteselect._errors import NetworkError

    assert spec.source is not None and spec.cache_dir is not None
    polygon = None
    if spec.polygon_from_study_area:
        if study_area is None or crs is None:
            raise NetworkError(
                "network.polygon_from_study_area: the config has no study_area; "
                "add one or use network.place"
            )
        polygon = study_polygon_wgs84(study_area, crs, spec.max_snap_m)
    graph = download_graph(
        place=spec.place,
        polygon_wgs84=polygon,
        network_type=spec.network_type,
        cache_folder=spec.cache_dir / "osmnx",
    )
    return store_graphml(graph, spec.source)


_FINDINGS = (
    ("missing_node_refs", None, "nodes referenced by ways are not in the file; ways cut there"),
    ("ways_without_edges", None, "drivable ways have < 2 distinct located nodes; left out"),
    (
        "oneway_not_understood_ways",
        "oneway_not_understood_values",
        "ways have a oneway value without a meaning, treated as untagged",
    ),
    (
        "maxspeed_unusable_ways",
        "maxspeed_unusable_values",
        "ways have a maxspeed without a usable number, class default used",
    ),
    (
        "unknown_highway_ways",
        "unknown_highway_classes",
        f"drivable ways have a highway class without a default speed ({FALLBACK_SPEED_KMH:g} km/h)",
    ),
)
"""(count key, examples key, what it means) of the diagnostics logged at INFO."""


def network_diagnostics(
    path: Path, table: RoadTable, speeds_kmh: dict[str, float] | None = None
) -> dict[str, Any]:
    """What reading ``path`` found and did (``study.diagnostics["network"]``, run.json).

    The reader's counts (drivable ways, missing node references, ways left
    out, ``oneway`` values without a meaning) and the speed rules' (``maxspeed``
    values that gave way to the class default, unknown ``highway`` classes).
    """
    highways = [highway_class(h) for h in table.way_highway]
    found = {
        "source": path.name,
        "nodes": table.n_nodes,
        "directed_edges": table.n_edges,
        **table.diagnostics,
        **speed_diagnostics(table.way_maxspeed, highways, speeds_kmh),
    }
    for count_key, values_key, what in _FINDINGS:
        if found.get(count_key):
            examples = f": {', '.join(map(repr, found[values_key]))}" if values_key else ""
            logger.info("%s: %d %s%s", path.name, found[count_key], what, examples)
    return found


def load_road_graph(
    spec: NetworkSpec, crs: pyproj.CRS, study_area: BaseGeometry | None = None
) -> RoadGraph:
    """The routing graph of the ``network:`` section (cached on disk).

    Parameters
    ----------
    spec : NetworkSpec
    crs : pyproj.CRS
        Working CRS.
    study_area : shapely geometry, optional
        In ``crs``; used by ``polygon_from_study_area`` downloads.
    """
    assert spec.source is not None and spec.cache_dir is not None
    path = spec.source
    if spec.is_online:
        if path.exists():
            logger.info("network: using the stored download %s (offline)", path)
        else:
            logger.warning(
                "network: %s not found; downloading now (run 'siteselect fetch CONFIG' "
                "once to store it for offline runs)",
                path,
            )
            fetch_network(spec, crs, study_area)
    check_network_file(path)

    def build() -> RoadGraph:
        table = read_road_table(path, spec.network_type)
        graph = build_road_graph(table, crs, spec.speeds_kmh)
        graph.diagnostics = network_diagnostics(path, table, spec.speeds_kmh)
        return graph

    if not spec.cache:
        return build()
    settings = {
        "network_type": spec.network_type,
        "speeds_kmh": dict(sorted(spec.speeds_kmh.items())),
    }
    return cached_graph(path, spec.cache_dir, settings, crs, build)
