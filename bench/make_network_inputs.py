"""Generate the county-scale network benchmark inputs (deterministic).

Writes into ``.cache/bench/`` (git-ignored; ~160 MB with ``--xml``):

* ``county_roads.osm.pbf``: a synthetic OSM network of about 1M nodes: a
  1000 x 1000 street grid at 100 m spacing (100 km x 100 km, the size of San
  Diego County) cut into ways of 10 blocks, every 10th street secondary and
  every 50th primary, with OSM-like maxspeed tags, plus two freeways (north-south
  and east-west; one-way carriageways 30 m either side of the centre line) with
  an on- and an off-ramp per direction every 3 km;
* ``county_parcels.npz``: 1M candidate parcel points (x, y in metres of the
  local grid, and lon/lat), uniform over the grid, fixed seed.

Run: ``.venv/bin/python -m bench.make_network_inputs [--size 1000]``.
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path

import numpy as np
import osmium

DATA = Path(__file__).resolve().parents[1] / ".cache" / "bench"
LAT0, LON0 = 32.6, -117.3
M_PER_DEG_LAT = 111_320.0
SPACING_M = 100.0
SEED = 20240601


def to_lonlat(x: np.ndarray | float, y: np.ndarray | float) -> tuple[np.ndarray, np.ndarray]:
    """Local metres -> degrees (equirectangular around LAT0, LON0)."""
    lat = LAT0 + np.asarray(y) / M_PER_DEG_LAT
    lon = LON0 + np.asarray(x) / (M_PER_DEG_LAT * math.cos(math.radians(LAT0)))
    return lon, lat


class _Writer:
    def __init__(self, path: Path) -> None:
        path.unlink(missing_ok=True)
        self.writer = osmium.SimpleWriter(str(path))
        self.next_way = 1

    def node(self, node_id: int, x: float, y: float) -> None:
        lon, lat = to_lonlat(x, y)
        self.writer.add_node(osmium.osm.mutable.Node(id=node_id, location=(float(lon), float(lat))))

    def way(self, refs: list[int], **tags: str) -> None:
        self.writer.add_way(osmium.osm.mutable.Way(id=self.next_way, nodes=refs, tags=tags))
        self.next_way += 1

    def close(self) -> None:
        self.writer.close()


def grid_id(i: int, j: int, size: int) -> int:
    """OSM id of grid node column i, row j."""
    return 1 + j * size + i


def _street_tags(index: int) -> dict[str, str]:
    if index % 50 == 0:
        return {"highway": "primary", "maxspeed": "45 mph", "name": f"Primary {index}"}
    if index % 10 == 0:
        return {"highway": "secondary", "maxspeed": "35 mph", "name": f"Avenue {index}"}
    return {"highway": "residential", "name": f"Street {index}"}


def write_roads(path: Path, size: int) -> int:
    """Write the synthetic network; return its node count."""
    out = _Writer(path)
    for j in range(size):
        for i in range(size):
            out.node(grid_id(i, j, size), i * SPACING_M, j * SPACING_M)
    n_nodes = size * size
    for j in range(size):  # east-west streets, ways of 10 blocks
        for start in range(0, size - 1, 10):
            refs = [grid_id(i, j, size) for i in range(start, min(start + 11, size))]
            out.way(refs, **_street_tags(j))
    for i in range(size):  # north-south streets
        for start in range(0, size - 1, 10):
            refs = [grid_id(i, j, size) for j in range(start, min(start + 11, size))]
            out.way(refs, **_street_tags(i))
    next_id = size * size + 1
    centre = size // 2 + 5
    step = int(500 / SPACING_M)
    ramp_every = 6  # freeway nodes every 500 m, interchanges every 3 km
    for axis in ("ns", "ew"):
        ids: dict[str, list[int]] = {"a": [], "b": []}
        for k in range(0, size, step):
            for side, offset in (("a", 30.0), ("b", -30.0)):
                along = k * SPACING_M
                across = centre * SPACING_M + offset
                x, y = (across, along) if axis == "ns" else (along, across)
                out.node(next_id, x, y)
                ids[side].append(next_id)
                next_id += 1
        n_nodes += len(ids["a"]) + len(ids["b"])
        ref = "I 15" if axis == "ns" else "CA 52"
        tags = {"highway": "motorway", "oneway": "yes", "maxspeed": "65 mph", "ref": ref}
        out.way(ids["a"], **tags)  # increasing direction
        out.way(list(reversed(ids["b"])), **tags)  # decreasing direction
        link = {"highway": "motorway_link", "oneway": "yes"}
        for m in range(3, len(ids["a"]) - 3, ramp_every):
            k = m * step
            street = grid_id(centre, k, size) if axis == "ns" else grid_id(k, centre, size)
            out.way([street, ids["a"][m + 1]], **link)  # on-ramp, increasing
            out.way([ids["a"][m - 1], street], **link)  # off-ramp, increasing
            out.way([street, ids["b"][m - 1]], **link)  # on-ramp, decreasing
            out.way([ids["b"][m + 1], street], **link)  # off-ramp, decreasing
    out.close()
    return n_nodes


def write_parcels(path: Path, size: int, n_parcels: int) -> None:
    """Uniform random parcel points over the grid (fixed seed)."""
    rng = np.random.default_rng(SEED)
    extent = (size - 1) * SPACING_M
    x = rng.uniform(0, extent, n_parcels)
    y = rng.uniform(0, extent, n_parcels)
    lon, lat = to_lonlat(x, y)
    np.savez(path, x=x, y=y, lon=lon, lat=lat)


def main() -> None:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=1000, help="grid side (nodes)")
    parser.add_argument("--parcels", type=int, default=1_000_000)
    parser.add_argument("--xml", action="store_true", help="also write the OSM XML form")
    args = parser.parse_args()
    DATA.mkdir(parents=True, exist_ok=True)
    pbf = DATA / "county_roads.osm.pbf"
    n_nodes = write_roads(pbf, args.size)
    print(f"wrote {pbf} ({n_nodes:,} nodes, {pbf.stat().st_size / 1e6:.0f} MB)")
    if args.xml:
        xml = DATA / "county_roads.osm"
        write_roads(xml, args.size)
        print(f"wrote {xml} ({xml.stat().st_size / 1e6:.0f} MB)")
    parcels = DATA / "county_parcels.npz"
    write_parcels(parcels, args.size, args.parcels)
    print(f"wrote {parcels} ({args.parcels:,} parcels)")


if __name__ == "__main__":
    main()
