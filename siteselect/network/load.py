"""From the ``network:`` config section to a :class:`RoadGraph`, with caching.

The one entry point the study uses: resolve the input (a file, or a download
stored as GraphML), then return the built graph from the on-disk cache or
build it (pyosmium reader -> numpy edge arrays -> CSR) and store it.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

import pyproj
from shapely.geometry.base import BaseGeometry

from siteselect.network.cache import cached_graph
from siteselect.network.graph import RoadGraph, build_road_graph
from siteselect.network.online import download_graph, store_graphml, study_polygon_wgs84
from siteselect.network.osm import check_network_file, read_road_table

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
        return build_road_graph(read_road_table(path, spec.network_type), crs, spec.speeds_kmh)

    if not spec.cache:
        return build()
    settings = {
        "network_type": spec.network_type,
        "speeds_kmh": dict(sorted(spec.speeds_kmh.items())),
    }
    return cached_graph(path, spec.cache_dir, settings, crs, build)
