"""A tiny synthetic study, built in code, for fast end-to-end and unit tests.

Layout (EPSG:32611, around 485000 E, 3620000 N near San Diego): a 7 x 7 grid
of residential streets 400 m apart; a north-south freeway (two one-way
carriageways) east of the grid with one interchange at the middle row: an
on-ramp and an off-ramp per direction; 6 x 6 square parcels between the
streets; a 2-band raster rising to the east; two hospitals; two tracts.
"""

from __future__ import annotations

from pathlib import Path
from xml.sax.saxutils import quoteattr

import geopandas as gpd
import numpy as np
import pyproj
import rasterio
import shapely
from rasterio.transform import from_origin

UTM = "EPSG:32611"
X0, Y0, STEP, N = 485_000.0, 3_620_000.0, 400.0, 7
FREEWAY_X = X0 + (N - 1) * STEP + 600.0
_to_ll = pyproj.Transformer.from_crs(UTM, "EPSG:4326", always_xy=True)


class OsmWriter:
    """Minimal OSM XML 0.6 writer for test networks."""

    def __init__(self) -> None:
        self.nodes: dict[int, tuple[float, float]] = {}
        self.ways: list[tuple[list[int], dict[str, str]]] = []

    def node(self, node_id: int, x: float, y: float) -> int:
        self.nodes[node_id] = (x, y)
        return node_id

    def way(self, refs: list[int], **tags: str) -> None:
        self.ways.append((refs, tags))

    def write(self, path: Path) -> Path:
        lines = ['<?xml version="1.0" encoding="UTF-8"?>', '<osm version="0.6" generator="tests">']
        for node_id, (x, y) in sorted(self.nodes.items()):
            lon, lat = _to_ll.transform(x, y)
            lines.append(f'  <node id="{node_id}" lat="{lat:.7f}" lon="{lon:.7f}"/>')
        for index, (refs, tags) in enumerate(self.ways, start=1):
            lines.append(f'  <way id="{index}">')
            lines += [f'    <nd ref="{r}"/>' for r in refs]
            lines += [f"    <tag k={quoteattr(k)} v={quoteattr(v)}/>" for k, v in tags.items()]
            lines.append("  </way>")
        lines.append("</osm>")
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        return path


def grid_node(i: int, j: int) -> int:
    """OSM id of the street-grid node at column i, row j."""
    return 1000 + i * N + j


def build_network(with_freeway: bool = True) -> OsmWriter:
    """The street grid, optionally with the freeway and one interchange."""
    osm = OsmWriter()
    for i in range(N):
        for j in range(N):
            osm.node(grid_node(i, j), X0 + i * STEP, Y0 + j * STEP)
    for i in range(N):
        osm.way([grid_node(i, j) for j in range(N)], highway="residential", maxspeed="25 mph")
    for j in range(N):
        cls = "secondary" if j == N // 2 else "residential"
        osm.way([grid_node(i, j) for i in range(N)], highway=cls, maxspeed="35 mph")
    osm.way([grid_node(0, 0), grid_node(0, 0) + 500], highway="footway")
    osm.node(grid_node(0, 0) + 500, X0 - 300, Y0 - 300)
    if not with_freeway:
        return osm
    ys = [Y0 - 2000 + k * 500 for k in range(13)]
    north = [osm.node(5000 + k, FREEWAY_X + 15, y) for k, y in enumerate(ys)]
    south = [osm.node(6000 + k, FREEWAY_X - 15, y) for k, y in enumerate(ys)]
    osm.way(north, highway="motorway", oneway="yes", ref="I 5", maxspeed="65 mph")
    osm.way(list(reversed(south)), highway="motorway", oneway="yes", ref="I 5", maxspeed="65 mph")
    mid = grid_node(N - 1, N // 2)
    k_on = next(k for k, y in enumerate(ys) if y > Y0 + (N // 2) * STEP)  # merge north of it
    osm.way([mid, north[k_on]], highway="motorway_link", oneway="yes")  # on-ramp northbound
    osm.way([north[k_on - 2], mid], highway="motorway_link", oneway="yes")  # off-ramp northbound
    osm.way([mid, south[k_on - 2]], highway="motorway_link", oneway="yes")  # on-ramp southbound
    osm.way([south[k_on], mid], highway="motorway_link", oneway="yes")  # off-ramp southbound
    return osm


def parcels() -> gpd.GeoDataFrame:
    """6 x 6 parcels filling the blocks (15 m street setback), ids P00..P35."""
    boxes, ids = [], []
    for i in range(N - 1):
        for j in range(N - 1):
            x, y = X0 + i * STEP, Y0 + j * STEP
            boxes.append(shapely.box(x + 15, y + 15, x + STEP - 15, y + STEP - 15))
            ids.append(f"P{i}{j}")
    return gpd.GeoDataFrame({"apn": ids, "name": ids}, geometry=boxes, crs=UTM)


def write_raster(path: Path) -> Path:
    """100 m cells over the grid; band 1 rises west to east (0.3..0.9 g)."""
    width, height = 40, 30
    transform = from_origin(X0 - 200, Y0 + 2600, 100, 100)
    cols = np.arange(width)
    values = np.tile(0.3 + 0.6 * cols / (width - 1), (height, 1)).astype("float32")
    values[:2, :2] = -9999.0
    with rasterio.open(
        path,
        "w",
        driver="GTiff",
        width=width,
        height=height,
        count=1,
        dtype="float32",
        crs=UTM,
        transform=transform,
        nodata=-9999.0,
    ) as dst:
        dst.write(values, 1)
    return path


def write_world(folder: Path) -> Path:
    """Write every layer and a config using all criterion kinds; return the config."""
    folder.mkdir(parents=True, exist_ok=True)
    build_network().write(folder / "roads.osm")
    parcels().to_crs("EPSG:2230").to_file(folder / "parcels.gpkg", layer="parcels")
    write_raster(folder / "hazard.tif")
    hospitals = gpd.GeoDataFrame(
        {
            "NAME": ["West Hospital", "Closed Hospital"],
            "BEDS": [300, 100],
            "STATUS": ["OPEN", "CLOSED"],
        },
        geometry=[shapely.Point(X0 + 200, Y0 + 1200), shapely.Point(X0 + 2200, Y0 + 2200)],
        crs=UTM,
    ).to_crs("EPSG:4326")
    hospitals.to_file(folder / "hospitals.geojson")
    tracts = gpd.GeoDataFrame(
        {"GEOID": ["A", "B"], "pop_total_population": [1000, 9000]},
        geometry=[
            shapely.box(X0, Y0, X0 + 1200, Y0 + 2400),
            shapely.box(X0 + 1200, Y0, X0 + 2400, Y0 + 2400),
        ],
        crs=UTM,
    ).to_crs("EPSG:4269")
    tracts.to_file(folder / "tracts.gpkg", layer="tracts")
    zones = gpd.GeoDataFrame(
        {"name": ["Runway 1"]},
        geometry=[shapely.LineString([(X0 + 100, Y0 + 2300), (X0 + 700, Y0 + 2300)])],
        crs=UTM,
    )
    zones.to_crs("EPSG:4326").to_file(folder / "runway.geojson")
    config = folder / "world.yaml"
    config.write_text(WORLD_CONFIG, encoding="utf-8")
    return config


WORLD_CONFIG = """\
name: Tiny world
candidates: {source: parcels.gpkg, layer: parcels, id: apn}
network: {source: roads.osm}
layers:
  hazard: {source: hazard.tif, units: g}
  hospitals: {source: hospitals.geojson, where: {STATUS: OPEN}}
  tracts: {source: tracts.gpkg}
  runway: runway.geojson
constraints:
  runway_zone: {kind: zones, layer: runway, buffer_m: 250, max_overlap_pct: 0}
  far_from_freeway: {kind: network_time, max_minutes: 5}
criteria:
  freeway_access:
    kind: network_time
    transform: {fn: linear, best: 1, worst: 6}
    weight: 3
  seismic:
    kind: raster_zonal
    layer: hazard
    transform: {fn: linear, best: 0.3, worst: 0.9}
    weight: 2
  members:
    kind: accessibility
    layer: tracts
    population: pop_total_population * 0.5
    decay: {fn: gaussian, half_min: 3}
    transform: {fn: minmax, better: higher}
    weight: 2
  competition:
    kind: distance
    layer: hospitals
    size_column: BEDS
    transform: {fn: linear, best: 2000, worst: 200}
    weight: 1
outputs: {dir: out, top_n: 5}
"""
