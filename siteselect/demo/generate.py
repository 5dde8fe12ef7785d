"""Orchestration of ``siteselect demo-data``: build every layer, write, move into place."""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import shapely

from siteselect.demo import facts, freeways, readme, streets, traffic, vectors
from siteselect.demo.common import ACRE_M2, make_rng
from siteselect.demo.elevation import write_dem
from siteselect.demo.geography import Geography, build_geography
from siteselect.demo.hazard import write_pga
from siteselect.demo.network import RoadNetwork
from siteselect.demo.osm_xml import write_osm
from siteselect.demo.parcels import build_parcels
from siteselect.demo.tracts import build_tracts
from siteselect.demo.writers import write_geojson, write_gpkg, write_ourairports_csv

log = logging.getLogger(__name__)


@dataclass
class Stats:
    """Counts reported in the README and the log."""

    values: dict[str, int | float | str] = field(default_factory=dict)


def _write_network(out: Path, stats: Stats) -> tuple[Geography, RoadNetwork]:
    geo = build_geography()
    rng = make_rng("streets")
    fws = freeways.centre_lines(geo)
    junctions = freeways.find_junctions(fws)
    grid = streets.build_grid(geo, np.array([f.line for f in fws], dtype=object), rng)
    streets.add_surface_roads(grid, geo)
    ics = freeways.build_freeways(fws, junctions, grid, make_rng("freeways"))
    streets.grid_ways(grid, rng)
    net = grid.net
    net.prune_to_largest_component()
    n_nodes, n_ways = write_osm(net, out / "roads.osm", facts.REGION_BBOX)
    kinds = [w.tags["highway"] for w in net.ways]
    stats.values.update(
        osm_nodes=n_nodes,
        osm_ways=n_ways,
        motorway_ways=kinds.count("motorway"),
        motorway_link_ways=kinds.count("motorway_link"),
        interchanges=len(ics),
        freeway_junctions=len(junctions),
        strong_share=round(net.strong_share(), 4),
    )
    return geo, net


def _write_layers(out: Path, stats: Stats) -> None:
    geo, net = _write_network(out, stats)
    parcel_table = build_parcels(geo, net, make_rng("parcels"))
    write_gpkg(vectors.parcels(parcel_table), out / "parcels.gpkg", "parcels", spatial_index=False)
    acres = shapely.area(parcel_table.geometry) / ACRE_M2
    large = (acres >= 15) & (acres <= 80) & parcel_table.vacant
    tract_table = build_tracts(geo, parcel_table, make_rng("tracts"))
    write_gpkg(vectors.tracts(tract_table), out / "tracts.gpkg", "tracts")
    rows, cols = write_pga(out / "pga_2pct50yr.tif", geo, make_rng("hazard"))
    dem_rows, dem_cols = write_dem(out / "dem.tif", geo, make_rng("elevation"))
    counts = traffic.count_stations(make_rng("traffic"))
    write_geojson(counts, out / "traffic_counts.geojson")
    write_ourairports_csv(
        facts.RUNWAYS, facts.RUNWAY_COLUMNS, facts.RUNWAY_TEXT_COLUMNS, out / "runways.csv"
    )
    write_ourairports_csv(
        facts.AIRPORTS, facts.AIRPORT_COLUMNS, facts.AIRPORT_TEXT_COLUMNS, out / "airports.csv"
    )
    write_geojson(vectors.hospitals(), out / "hospitals.geojson")
    write_geojson(vectors.faults(), out / "faults.geojson")
    write_geojson(vectors.border(geo), out / "border.geojson")
    write_geojson(vectors.coastline(geo), out / "coastline.geojson")
    write_geojson(vectors.study_area(geo), out / "study_area.geojson")
    stats.values.update(
        parcels=len(acres),
        large_vacant=int(large.sum()),
        vacant=int(parcel_table.vacant.sum()),
        tracts=len(tract_table.geometry),
        population=int(tract_table.columns["pop_total_population"].sum()),
        raster=f"{cols} x {rows}",
        dem=f"{dem_cols} x {dem_rows}",
        count_stations=len(counts),
        runways=len(facts.RUNWAYS),
        hospitals=len(facts.HOSPITALS),
    )
    readme.write_readme(out / "README.md", stats.values)


def generate(out_dir: Path) -> list[Path]:
    """Generate the embedded San Diego-modelled demo region.

    Every run writes byte-identical files (fixed seeds, stable ordering, no
    timestamps). Files are written into a temporary folder beside ``out_dir``
    and then moved into place one by one.

    Parameters
    ----------
    out_dir
        Folder to write (created if missing). Files of the same names are
        replaced; other files are left alone.

    Returns
    -------
    list of pathlib.Path
        The files written, sorted by name.
    """
    start = time.perf_counter()
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".demo-data-", dir=out_dir.parent))
    try:
        stats = Stats()
        _write_layers(tmp, stats)
        written = sorted(p.name for p in tmp.iterdir())
        for name in written:
            os.replace(tmp / name, out_dir / name)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    log.info(
        "demo region written to %s: %d files in %.1f s",
        out_dir,
        len(written),
        time.perf_counter() - start,
    )
    return [out_dir / name for name in written]
