"""Online download of the road network through osmnx, stored as GraphML.

``network: {place: "San Diego County, California, USA"}`` or
``network: {polygon_from_study_area: true}`` downloads the ``drive`` (or
``drive_service``) network with ``osmnx.graph_from_place`` /
``osmnx.graph_from_polygon`` (unsimplified, every component kept) using
osmnx's response cache, and stores it as GraphML at ``network.source``
(default ``layers/osm/<place>.graphml``). ``siteselect fetch CONFIG`` does
this once; later runs read the stored file and need no internet.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Iterator
from pathlib import Path

import networkx as nx
import osmnx as ox
import shapely
from shapely.geometry.base import BaseGeometry

from siteselect._errors import NetworkError

logger = logging.getLogger(__name__)


@contextlib.contextmanager
def _osmnx_cache(folder: Path) -> Iterator[None]:
    """Use osmnx's HTTP response cache in ``folder`` for the duration."""
    saved = (ox.settings.use_cache, ox.settings.cache_folder)
    folder.mkdir(parents=True, exist_ok=True)
    ox.settings.use_cache = True
    ox.settings.cache_folder = str(folder)
    try:
        yield
    finally:
        ox.settings.use_cache, ox.settings.cache_folder = saved


def download_graph(
    *,
    place: str | None,
    polygon_wgs84: BaseGeometry | None,
    network_type: str,
    cache_folder: Path,
) -> nx.MultiDiGraph:
    """Download the drivable network of a place name or a polygon (EPSG:4326).

    Raises
    ------
    NetworkError
        Nothing to download, or osmnx could not (no internet, unknown place).
    """
    if place is None and polygon_wgs84 is None:
        raise NetworkError("network: set 'source', 'place' or 'polygon_from_study_area'")
    what = f"place {place!r}" if place is not None else "the study area polygon"
    try:
        with _osmnx_cache(cache_folder):
            if place is not None:
                graph = ox.graph_from_place(
                    place, network_type=network_type, simplify=False, retain_all=True
                )
            else:
                graph = ox.graph_from_polygon(
                    polygon_wgs84, network_type=network_type, simplify=False, retain_all=True
                )
    except Exception as exc:  # requests/osmnx/geocoder errors
        raise NetworkError(
            f"network: cannot download the road network of {what} "
            f"({type(exc).__name__}: {exc}); check the internet connection and the place name, "
            "or set network.source to an .osm.pbf extract"
        ) from None
    if graph.number_of_edges() == 0:
        raise NetworkError(f"network: osmnx found no drivable road in {what}")
    logger.info(
        "downloaded %s: %d nodes, %d edges",
        what,
        graph.number_of_nodes(),
        graph.number_of_edges(),
    )
    return graph


def study_polygon_wgs84(area: BaseGeometry, crs: object, buffer_m: float) -> BaseGeometry:
    """The study area (working CRS) buffered by ``buffer_m`` metres, in EPSG:4326."""
    import geopandas as gpd

    buffered = shapely.buffer(area, buffer_m)
    return gpd.GeoSeries([buffered], crs=crs).to_crs("EPSG:4326").iloc[0]


def store_graphml(graph: nx.MultiDiGraph, target: Path) -> Path:
    """Save ``graph`` as GraphML at ``target`` atomically."""
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    ox.save_graphml(graph, partial)
    os.replace(partial, target)
    logger.info("stored the road network as %s", target)
    return target
