"""The county scenario's road network, written as an OSM ``.osm.pbf`` with pyosmium.

Two layouts over the same square county (origin and CRS in :mod:`bench._scenario_geo`):

* **county-like** (the default): a grid of junctions (500 x 500 at ~200 m over
  100 km) whose blocks carry OSM-like *shape points* (degree-2 nodes where a
  real street bends; 750,000 of them, 0-7 per block, drawn at random, each set
  off the straight line by a few metres), so that ~75% of the nodes are shape
  points, the share measured on real OSM extracts;
* **stress grid** (``--stress``): 1000 x 1000 junctions at ~100 m, no shape
  points: every node is a junction, four times the junction density.

Both carry the same six freeways (three north-south, three east-west; two
one-way carriageways 30 m either side of a street, 100 nodes each) with ten
interchanges each (an on- and an off-ramp per direction: 240 ramps), so both
have 1,001,200 nodes. Streets are ``residential`` (``maxspeed`` on some ways, as
in OSM), every ~1 km ``secondary`` and every ~5 km ``primary``; a few ways carry
the messy values real OSM has (``"45 mph;35 mph"``, ``"signals"``). Streets are
split into ways of 10 blocks; node ids are sparse (odd numbers from 10^8), as
in a real extract.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import osmium

from bench._scenario_geo import to_lonlat

FREEWAY_REFS = ("I 5", "I 15", "I 805", "CA 52", "CA 56", "CA 78")
CARRIAGEWAY_OFFSET_M = 30.0
NODE_ID_BASE = 100_000_000
WAY_ID_BASE = 10_000_000
BLOCKS_PER_WAY = 10


@dataclass(frozen=True)
class RoadParams:
    """Everything that determines a generated road network (its cache key).

    Attributes
    ----------
    extent_m : float
        Side of the square county, metres.
    junctions_per_side : int
        Street grid junctions per side.
    shape_points : int
        Degree-2 shape points spread over the blocks (0: none).
    freeways_ns, freeways_ew : tuple of float
        Positions of the north-south / east-west freeways as fractions of the extent.
    freeway_nodes : int
        Nodes per carriageway (evenly spaced over the extent).
    interchanges : int
        Interchanges per freeway (4 ramps each).
    seed : int
        Random seed.
    """

    extent_m: float
    junctions_per_side: int
    shape_points: int
    freeways_ns: tuple[float, ...] = (0.2, 0.5, 0.8)
    freeways_ew: tuple[float, ...] = (0.25, 0.55, 0.85)
    freeway_nodes: int = 100
    interchanges: int = 10
    seed: int = 20250111

    @property
    def n_freeways(self) -> int:
        """Number of freeways."""
        return len(self.freeways_ns) + len(self.freeways_ew)

    @property
    def n_nodes(self) -> int:
        """Total node count of the network."""
        freeway = self.n_freeways * 2 * self.freeway_nodes
        return self.junctions_per_side**2 + self.shape_points + freeway

    @property
    def n_ramps(self) -> int:
        """Total number of ramps (``motorway_link`` ways)."""
        return self.n_freeways * self.interchanges * 4

    def as_dict(self) -> dict[str, object]:
        """JSON-serialisable parameters."""
        return asdict(self)


def _street_class(line: int, spacing_m: float) -> str:
    """``highway`` class of grid line ``line``: primary every ~5 km, secondary every ~1 km."""
    if line % max(1, round(5_000 / spacing_m)) == 0:
        return "primary"
    if line % max(1, round(1_000 / spacing_m)) == 0:
        return "secondary"
    return "residential"


def _street_tags(highway: str, line: int, way_index: int, direction: str) -> dict[str, str]:
    """OSM tags of one street way, with the maxspeed habits of real data."""
    name = f"{'Avenue' if direction == 'ns' else 'Street'} {line}"
    tags = {"highway": highway, "name": name}
    pick = (line * 7919 + way_index * 104_729) % 100
    if highway == "primary":
        tags["maxspeed"] = "45 mph;35 mph" if pick < 5 else "45 mph"
    elif highway == "secondary":
        tags["maxspeed"] = "signals" if pick < 3 else "40 mph"
    elif pick < 30:
        tags["maxspeed"] = "25 mph"
    elif pick < 33:
        tags["maxspeed"] = "40"  # km/h, OSM's default unit
    return tags


class _Grid:
    """Node coordinates and block node sequences of the street grid."""

    def __init__(self, params: RoadParams, rng: np.random.Generator) -> None:
        n = params.junctions_per_side
        self.n = n
        self.spacing_m = params.extent_m / (n - 1)
        index = np.arange(n * n).reshape(n, n)  # [row j, column i]
        self.junction = index
        x = (index % n).ravel() * self.spacing_m
        y = (index // n).ravel() * self.spacing_m
        # blocks: horizontal ones row by row, then vertical ones column by column
        start = np.concatenate([index[:, :-1].ravel(), index[:-1, :].T.ravel()])
        end = np.concatenate([index[:, 1:].ravel(), index[1:, :].T.ravel()])
        n_blocks = len(start)
        counts = np.bincount(rng.integers(0, n_blocks, params.shape_points), minlength=n_blocks)
        block = np.repeat(np.arange(n_blocks), counts)
        first = np.concatenate([[0], np.cumsum(counts)[:-1]])
        rank = np.arange(len(block)) - first[block] + 1  # 1..k along its block
        fraction = rank / (counts[block] + 1)
        sx = x[start[block]] + fraction * (x[end[block]] - x[start[block]])
        sy = y[start[block]] + fraction * (y[end[block]] - y[start[block]])
        wobble = rng.normal(0.0, 0.04 * self.spacing_m, len(block))
        horizontal = block < n * (n - 1)
        sy = sy + np.where(horizontal, wobble, 0.0)
        sx = sx + np.where(horizontal, 0.0, wobble)
        self.x = np.concatenate([x, sx])
        self.y = np.concatenate([y, sy])
        # one sequence per block: its start junction then its shape points
        self.sequence = np.empty(n_blocks + len(block), dtype=np.int64)
        seq_start = np.arange(n_blocks) + np.concatenate([[0], np.cumsum(counts)[:-1]])
        self.sequence[seq_start] = start
        inner = np.ones(len(self.sequence), dtype=bool)
        inner[seq_start] = False
        self.sequence[inner] = n * n + np.arange(len(block))
        self.seq_start = np.append(seq_start, len(self.sequence))
        self.block_end = end

    def way_refs(self, first_block: int, last_block: int) -> list[int]:
        """Node indices of the way over blocks ``first_block..last_block`` (inclusive)."""
        refs = self.sequence[self.seq_start[first_block] : self.seq_start[last_block + 1]]
        return [*refs.tolist(), int(self.block_end[last_block])]


def _freeways(
    params: RoadParams, grid: _Grid, first_node: int
) -> tuple[np.ndarray, np.ndarray, list[tuple[list[int], dict[str, str]]]]:
    """Freeway node coordinates and the freeway and ramp ways (node indices, tags)."""
    xs: list[np.ndarray] = []
    ys: list[np.ndarray] = []
    ways: list[tuple[list[int], dict[str, str]]] = []
    m_nodes = params.freeway_nodes
    along = np.linspace(0.0, params.extent_m, m_nodes)
    step = m_nodes // params.interchanges
    positions = [("ns", f) for f in params.freeways_ns] + [("ew", f) for f in params.freeways_ew]
    next_node = first_node
    for number, (axis, fraction) in enumerate(positions):
        line = round(fraction * (grid.n - 1))
        across = line * grid.spacing_m
        ids = {}
        for side, offset in (("a", CARRIAGEWAY_OFFSET_M), ("b", -CARRIAGEWAY_OFFSET_M)):
            ids[side] = np.arange(next_node, next_node + m_nodes)
            next_node += m_nodes
            xs.append(np.full(m_nodes, across + offset) if axis == "ns" else along)
            ys.append(along if axis == "ns" else np.full(m_nodes, across + offset))
        tags = {
            "highway": "motorway",
            "oneway": "yes",
            "maxspeed": "65 mph",
            "ref": FREEWAY_REFS[number % len(FREEWAY_REFS)],
        }
        for k in range(0, m_nodes - 1, BLOCKS_PER_WAY):
            stop = min(k + BLOCKS_PER_WAY, m_nodes - 1)
            ways.append((ids["a"][k : stop + 1].tolist(), tags))  # increasing direction
            ways.append((ids["b"][k : stop + 1][::-1].tolist(), tags))  # decreasing
        link = {"highway": "motorway_link", "oneway": "yes"}
        for m in range(step // 2, m_nodes, step)[: params.interchanges]:
            m = min(max(m, 1), m_nodes - 2)
            cross = round(along[m] / grid.spacing_m)
            junction = int(
                grid.junction[cross, line] if axis == "ns" else grid.junction[line, cross]
            )
            ways.append(([junction, int(ids["a"][m + 1])], link))  # on-ramp, increasing
            ways.append(([int(ids["a"][m - 1]), junction], link))  # off-ramp, increasing
            ways.append(([junction, int(ids["b"][m - 1])], link))  # on-ramp, decreasing
            ways.append(([int(ids["b"][m + 1]), junction], link))  # off-ramp, decreasing
    return np.concatenate(xs), np.concatenate(ys), ways


def write_roads(params: RoadParams, path: Path) -> dict[str, int]:
    """Write the network of ``params`` to ``path`` (``.osm.pbf``); return its counts.

    Parameters
    ----------
    params : RoadParams
    path : Path
        Output file; its suffix chooses the format (``.osm.pbf``, ``.osm``).

    Returns
    -------
    dict
        ``nodes``, ``ways``, ``ramps``, ``shape_points``.
    """
    rng = np.random.default_rng(params.seed)
    grid = _Grid(params, rng)
    fx, fy, freeway_ways = _freeways(params, grid, len(grid.x))
    x = np.concatenate([grid.x, fx])
    y = np.concatenate([grid.y, fy])
    lon, lat = to_lonlat(x, y)
    osm_id = NODE_ID_BASE + 2 * np.arange(len(x)) + 1
    path.unlink(missing_ok=True)
    writer = osmium.SimpleWriter(str(path))
    node = osmium.osm.mutable.Node
    try:
        for node_id, lon_deg, lat_deg in zip(
            osm_id.tolist(), lon.tolist(), lat.tolist(), strict=True
        ):
            writer.add_node(node(id=node_id, location=(lon_deg, lat_deg)))
        way_id = WAY_ID_BASE
        n, blocks_per_line = grid.n, grid.n - 1
        for direction, offset in (("ew", 0), ("ns", n * blocks_per_line)):
            for line in range(n):
                highway = _street_class(line, grid.spacing_m)
                for k, first in enumerate(range(0, blocks_per_line, BLOCKS_PER_WAY)):
                    last = min(first + BLOCKS_PER_WAY, blocks_per_line) - 1
                    base = offset + line * blocks_per_line
                    refs = osm_id[grid.way_refs(base + first, base + last)].tolist()
                    tags = _street_tags(highway, line, k, direction)
                    writer.add_way(osmium.osm.mutable.Way(id=way_id, nodes=refs, tags=tags))
                    way_id += 1
        for refs, tags in freeway_ways:
            ids = osm_id[refs].tolist()
            writer.add_way(osmium.osm.mutable.Way(id=way_id, nodes=ids, tags=tags))
            way_id += 1
    finally:
        writer.close()
    return {
        "nodes": len(x),
        "ways": way_id - WAY_ID_BASE,
        "ramps": sum(1 for _, t in freeway_ways if t["highway"] == "motorway_link"),
        "shape_points": params.shape_points,
    }


def check_roads(path: Path, params: RoadParams) -> dict[str, int]:
    """Read ``path`` back through siteselect's reader and check its counts.

    Raises
    ------
    RuntimeError
        When the reader finds another node or ramp count than generated.
    """
    from siteselect.network.osm import read_road_table

    table = read_road_table(path, "drive")
    ramps = int(np.sum(table.way_highway == "motorway_link"))
    freeway_ways = int(np.sum(table.way_highway == "motorway"))
    if table.n_nodes != params.n_nodes or ramps != params.n_ramps:
        raise RuntimeError(
            f"{path}: siteselect read {table.n_nodes:,} nodes and {ramps} ramps; "
            f"generated {params.n_nodes:,} and {params.n_ramps}"
        )
    return {
        "nodes": table.n_nodes,
        "directed_edges": table.n_edges,
        "ramps": ramps,
        "freeway_ways": freeway_ways,
    }
