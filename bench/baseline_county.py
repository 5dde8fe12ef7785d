"""The expert baseline: the county scenario's class of work as a plain script.

What a competent GIS developer writes in an afternoon with the fastest library
calls, to answer the same question as the scenario's config (no siteselect
imports; parameters read from the same YAML config)::

    python -m bench.baseline_county CONFIG --out DIR [--events FILE]
    python -m bench.baseline_county CONFIG --prepare   # build its graph cache, untimed

Steps (each recorded for ``bench.county``):

1. **read**: parcels (GeoParquet), the other layers, the cached graph
   (:mod:`bench.baseline_county_graph`: CSR matrix of seconds built from the PBF
   once, like siteselect's graph cache);
2. **snap**: parcel centroids, tract points and hospitals to the nearest node of
   the largest strongly connected component (``scipy.spatial.cKDTree``), plus a
   straight connector at ``network.connector_speed_kmh``; beyond
   ``max_snap_m``: off the network;
3. **freeway**: one multi-source Dijkstra from the freeway entrances over the
   reversed graph (``scipy.sparse.csgraph.dijkstra(min_only=True)``);
4. **airspace**: 14 CFR 77.19 primary, horizontal, conical and approach surfaces
   of each open runway, at the parcel *vertices* (vectorised in runway
   coordinates; vertices pre-selected per runway by a sorted-x window); no
   transitional surfaces, no military (UFC) surfaces or AICUZ zones, no 77.9
   notice: a simplification an afternoon allows;
5. **fault setback** and **border**: polygon-to-line distance with an
   ``STRtree`` over the lines cut into segments (``query_nearest``);
6. **exclusion zones**: ``STRtree.query(predicate="intersects")`` and the
   intersection areas of the pairs;
7. **seismic**: zonal max by ``rasterio.features.rasterize`` of the parcel ids
   and ``np.maximum.at``; parcels that own no cell centre take the cell under
   their centroid;
8. **demand**: bounded Dijkstra from the tracts' nodes (``limit`` =
   ``max_minutes``), 16 tracts at a time, read at the candidates' and the
   hospitals' nodes: the gravity accessibility and the Huff expected patients
   in one pass over the same searches;
9. **score**: linear / min-max transforms, weighted sum, exclusions, rank,
   GeoParquet write.

One process, one core for the searches (scipy's Dijkstra holds the GIL).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import rasterio
import rasterio.features
import rasterio.transform
import shapely
import yaml
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import dijkstra
from scipy.spatial import cKDTree

from bench._steps import StepRecorder
from bench.baseline_county_graph import build as build_graph

FT = 0.3048
CHUNK = 16


class Inputs:
    """The config and its layers, read once."""

    def __init__(self, config_path: Path) -> None:
        self.config = yaml.safe_load(config_path.read_text())
        self.base = config_path.resolve().parent
        self.crs = self.config["crs"]
        self.roads = self.path(self.config["network"]["source"])
        self.graph_file = self.roads.with_name("baseline-graph.npz")

    def path(self, relative: str) -> Path:
        """A config path, resolved against the config's folder."""
        return (self.base / relative).resolve()

    def layer(self, name: str) -> dict[str, Any]:
        """A ``layers:`` entry as a dict."""
        entry = self.config["layers"][name]
        return {"source": entry} if isinstance(entry, str) else entry

    def vector(self, name: str) -> gpd.GeoDataFrame:
        """A vector layer, in the working CRS."""
        entry = self.layer(name)
        frame = gpd.read_file(self.path(entry["source"]), layer=entry.get("layer"))
        for column, wanted in (entry.get("where") or {}).items():
            frame = frame[frame[column].isin(wanted if isinstance(wanted, list) else [wanted])]
        return frame.to_crs(self.crs)


def load_graph(path: Path) -> dict[str, Any]:
    """The cached graph: CSR matrix, its transpose, node coordinates, entrances."""
    with np.load(path) as stored:
        n = len(stored["x"])
        matrix = csr_matrix((stored["data"], stored["indices"], stored["indptr"]), shape=(n, n))
        main = stored["main"]
        return {
            "matrix": matrix,
            "xy": np.column_stack([stored["x"], stored["y"]]),
            "main": np.flatnonzero(main),
            "entrances": stored["entrances"][main[stored["entrances"]]],
        }


def snap(
    graph: dict[str, Any], tree: cKDTree, xy: np.ndarray, kmh: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Nearest main-component node, connector minutes and distance (m) of each point."""
    distance, nearest = tree.query(xy)
    return graph["main"][nearest], distance / (kmh / 3.6) / 60.0, distance


def linear(values: np.ndarray, best: float, worst: float) -> np.ndarray:
    """1 at ``best``, 0 at ``worst``, linear between, clipped."""
    return np.clip((values - worst) / (best - worst), 0.0, 1.0)


def minmax(values: np.ndarray) -> np.ndarray:
    """0..1 over the values' own range (higher is better)."""
    lo, hi = np.nanmin(values), np.nanmax(values)
    return np.ones_like(values) if hi == lo else (values - lo) / (hi - lo)


def line_distance(parcels: np.ndarray, lines: gpd.GeoSeries) -> np.ndarray:
    """Distance (m) from each parcel to the nearest line, lines indexed by segment."""
    coords, which = shapely.get_coordinates(lines.to_numpy(), return_index=True)
    same = which[:-1] == which[1:]
    segments = shapely.linestrings(np.stack([coords[:-1][same], coords[1:][same]], axis=1))
    pairs, distance = shapely.STRtree(segments).query_nearest(parcels, return_distance=True)
    result = np.full(len(parcels), np.inf)
    np.minimum.at(result, pairs[0], distance)
    return result


def zone_overlap_pct(parcels: np.ndarray, zones: gpd.GeoSeries) -> np.ndarray:
    """Share (%) of each parcel inside the union of the zones."""
    parts = shapely.get_parts(shapely.union_all(zones.to_numpy()))
    pairs = shapely.STRtree(parts).query(parcels, predicate="intersects")
    inside = np.zeros(len(parcels))
    overlap = shapely.area(shapely.intersection(parcels[pairs[0]], parts[pairs[1]]))
    np.add.at(inside, pairs[0], overlap)
    return 100.0 * inside / shapely.area(parcels)


def zonal_max(parcels: np.ndarray, centroids: np.ndarray, raster_path: Path) -> np.ndarray:
    """Max of the raster over each parcel (cells whose centre it holds, else its centroid's)."""
    with rasterio.open(raster_path) as src:
        values = src.read(1)
        usable = values != src.nodata if src.nodata is not None else np.ones(values.shape, bool)
        owner = rasterio.features.rasterize(
            zip(parcels, range(len(parcels)), strict=True),
            out_shape=values.shape,
            transform=src.transform,
            fill=-1,
            dtype="int32",
        )
        result = np.full(len(parcels), -np.inf)
        valid = (owner >= 0) & usable
        np.maximum.at(result, owner[valid], values[valid])
        empty = np.flatnonzero(~np.isfinite(result))
        rows, cols = rasterio.transform.rowcol(src.transform, *centroids[empty].T)
        rows = np.clip(np.asarray(rows), 0, values.shape[0] - 1)
        cols = np.clip(np.asarray(cols), 0, values.shape[1] - 1)
        result[empty] = values[rows, cols]
    return result


def _category(runway: pd.Series) -> tuple[float, float, float, float, float]:
    """(primary half-width, horizontal radius, approach slope, length, end half-width), ft."""
    paved = str(runway["surface"]).upper().split("-")[0] in {"ASP", "ASPH", "CON", "CONC", "PEM"}
    if not paved or runway["length_ft"] < 3_200:
        return 125.0, 5_000.0, 20.0, 5_000.0, 625.0
    if runway["lighted"] and runway["length_ft"] >= 4_500:
        return 500.0, 10_000.0, 50.0, 50_000.0, 8_000.0
    return 250.0, 10_000.0, 34.0, 10_000.0, 1_750.0


def runway_lines(runways: pd.DataFrame, crs: str) -> gpd.GeoDataFrame:
    """OurAirports runways as lines from the low to the high end, in ``crs``."""
    ends = [
        gpd.GeoSeries.from_xy(runways[f"{e}_longitude_deg"], runways[f"{e}_latitude_deg"], crs=4326)
        for e in ("le", "he")
    ]
    le, he = (shapely.get_coordinates(end.to_crs(crs).to_numpy()) for end in ends)
    return gpd.GeoDataFrame(
        runways, geometry=shapely.linestrings(np.stack([le, he], axis=1)), crs=crs
    )


def airspace_margin_ft(
    parcels: np.ndarray, runways: gpd.GeoDataFrame, height_ft: float
) -> np.ndarray:
    """Smallest margin (ft) between the surfaces and the building over each parcel's vertices.

    The ground is taken at the airport's elevation (no terrain layer), so the
    allowable height is the surface's height above the airport.
    """
    xy, owner = shapely.get_coordinates(parcels, return_index=True)
    order = np.argsort(xy[:, 0])
    sorted_x = xy[order, 0]
    lowest = np.full(len(xy), np.inf)  # lowest surface above ground, ft
    for _, runway in runways[runways["closed"] == 0].iterrows():
        (x0, y0), (x1, y1) = shapely.get_coordinates(runway.geometry)[[0, -1]]
        half_w, radius, slope, app_len, app_half = _category(runway)
        reach = (radius + 4_000.0 + app_len) * FT
        lo, hi = np.searchsorted(sorted_x, [min(x0, x1) - reach, max(x0, x1) + reach])
        idx = order[lo:hi]
        near = np.abs(xy[idx, 1] - (y0 + y1) / 2) <= reach + abs(y1 - y0) / 2
        idx = idx[near]
        length = np.hypot(x1 - x0, y1 - y0)
        ux, uy = (x1 - x0) / length, (y1 - y0) / length
        along = ((xy[idx, 0] - x0) * ux + (xy[idx, 1] - y0) * uy) / FT
        across = np.abs((xy[idx, 0] - x0) * -uy + (xy[idx, 1] - y0) * ux) / FT
        run = length / FT
        beyond = np.maximum(np.maximum(-200.0 - along, along - run - 200.0), 0.0)
        d = np.hypot(np.maximum(np.maximum(-along, along - run), 0.0), across)
        surface = np.where(d <= radius, 150.0, np.inf)
        conical = (d > radius) & (d <= radius + 4_000.0)
        surface[conical] = 150.0 + (d[conical] - radius) / 20.0
        in_primary = (beyond == 0.0) & (across <= half_w)
        surface[in_primary] = 0.0
        spread = half_w + beyond * (app_half - half_w) / app_len
        approach = (beyond > 0) & (beyond <= app_len) & (across <= spread)
        surface[approach] = np.minimum(surface[approach], beyond[approach] / slope)
        lowest[idx] = np.minimum(lowest[idx], surface)  # ft above the airport (= ground)
    margin = np.full(len(parcels), np.inf)
    np.minimum.at(margin, owner, lowest - height_ft)
    return np.minimum(margin, 1_000.0)


def demand(
    graph: dict[str, Any],
    tract_nodes: np.ndarray,
    tract_min: np.ndarray,
    population: np.ndarray,
    cand_nodes: np.ndarray,
    cand_min: np.ndarray,
    hosp_nodes: np.ndarray,
    hosp_min: np.ndarray,
    beds: np.ndarray,
    members: dict[str, Any],
    huff: dict[str, Any],
) -> tuple[np.ndarray, np.ndarray]:
    """Gravity accessibility and Huff expected patients from bounded tract searches."""
    cut = float(max(members["max_minutes"], huff["max_minutes"]))
    half = float(members["decay"]["half_min"])
    beta, floor = float(huff.get("beta", 2)), float(huff.get("min_travel_minutes", 1.0))
    alpha = float(huff.get("alpha", 1))
    mine = float(huff.get("candidate_beds", 400)) ** alpha
    gravity = np.zeros(len(cand_nodes))
    patients = np.zeros(len(cand_nodes))
    for start in range(0, len(tract_nodes), CHUNK):
        rows = slice(start, start + CHUNK)
        seconds = dijkstra(graph["matrix"], indices=tract_nodes[rows], limit=cut * 60)
        to_hosp = seconds[:, hosp_nodes] / 60 + tract_min[rows, None] + hosp_min[None]
        rivals = np.where(
            to_hosp <= huff["max_minutes"], beds**alpha / np.maximum(to_hosp, floor) ** beta, 0
        ).sum(axis=1)
        t = seconds[:, cand_nodes] / 60 + tract_min[rows, None] + cand_min[None]
        del seconds
        pop = population[rows, None]
        reach = t <= members["max_minutes"]
        gravity += np.where(reach, pop * np.exp(-np.log(2) * (t / half) ** 2), 0).sum(axis=0)
        attract = mine / np.maximum(t, floor) ** beta
        with np.errstate(invalid="ignore"):  # NaN / inf times: out of reach, share 0
            share = np.where(t <= huff["max_minutes"], attract / (attract + rivals[:, None]), 0)
        patients += (pop * share).sum(axis=0)
    return gravity, patients


def competitors(hospitals: gpd.GeoDataFrame, huff: dict[str, Any]) -> tuple[np.ndarray, np.ndarray]:
    """The Huff choice set: filtered hospitals and their beds (unknown: the type's median)."""
    keep = np.ones(len(hospitals), dtype=bool)
    for column, wanted in (huff.get("where") or {}).items():
        keep &= hospitals[column].isin(wanted if isinstance(wanted, list) else [wanted]).to_numpy()
    chosen = hospitals[keep]
    beds = chosen["BEDS"].astype(float).where(chosen["BEDS"] > 0)
    beds = beds.fillna(beds.groupby(chosen["TYPE"]).transform("median")).fillna(beds.median())
    return shapely.get_coordinates(chosen.geometry.to_numpy()), beds.to_numpy()


def score(
    cfg: dict[str, Any], ids: np.ndarray, raw: dict[str, np.ndarray], limits: dict[str, np.ndarray]
) -> pd.DataFrame:
    """Transforms, weighted sum, exclusions and rank (ties broken by id)."""
    criteria, constraints = cfg["criteria"], cfg["constraints"]
    table = pd.DataFrame({"candidate_id": ids})
    total = np.zeros(len(ids))
    for name, values in raw.items():
        transform = criteria[name]["transform"]
        if transform["fn"] == "linear":
            points = linear(values, transform["best"], transform["worst"])
        else:
            points = minmax(values)
        table[f"raw_{name}"] = values
        table[f"score_{name}"] = points
        total += criteria[name]["weight"] * points
    table["total_score"] = total / sum(criteria[name]["weight"] for name in raw)
    excluded = (
        (limits["airspace_margin_ft"] < constraints["airspace"]["min_margin_ft"])
        | (limits["fault_distance_m"] < constraints["fault_setback"]["min_m"])
        | (limits["zone_overlap_pct"] > constraints["exclusion_zones"]["max_overlap_pct"])
        | ~(raw["freeway_access"] <= constraints["freeway_reach"]["max_minutes"])
        | np.isnan(table["total_score"].to_numpy())
    )
    for name, values in limits.items():
        table[name] = values
    table["excluded"] = excluded
    ranked = table.loc[~excluded].sort_values(
        ["total_score", "candidate_id"], ascending=[False, True]
    )
    table["rank"] = pd.Series(np.arange(1, len(ranked) + 1), index=ranked.index).astype("Int64")
    return table


def run(config_path: Path, out: Path, recorder: StepRecorder) -> gpd.GeoDataFrame:
    """The whole baseline; returns the scored parcels (also written to ``out``)."""
    with recorder.step("read inputs"):
        inputs = Inputs(config_path)
        cfg = inputs.config
        id_column = cfg["candidates"]["id"]
        frame = gpd.read_parquet(
            inputs.path(cfg["candidates"]["source"]), columns=[id_column, "geometry"]
        ).to_crs(inputs.crs)
        parcels = frame.geometry.to_numpy()
        graph = load_graph(inputs.graph_file)
        tracts = inputs.vector("tracts")
        hospitals = inputs.vector(cfg["criteria"]["competition"]["layer"])
        runways = runway_lines(
            pd.read_csv(inputs.path(inputs.layer("runways")["source"])), inputs.crs
        )
    with recorder.step("snap to the network"):
        kmh = float(cfg["network"]["connector_speed_kmh"])
        max_snap_m = float(cfg["network"]["max_snap_m"])
        tree = cKDTree(graph["xy"][graph["main"]])
        centroids = shapely.get_coordinates(shapely.centroid(parcels))
        cand_nodes, cand_min, cand_m = snap(graph, tree, centroids, kmh)
        cand_min[cand_m > max_snap_m] = np.nan  # off the network: no value
    with recorder.step("freeway access"):
        to_ramp = dijkstra(graph["matrix"].T.tocsr(), indices=graph["entrances"], min_only=True)
        freeway_min = to_ramp[cand_nodes] / 60 + cand_min
    with recorder.step("airspace"):
        spec = cfg["constraints"]["airspace"]
        height_ft = spec["building_height_ft"] + spec.get("helipad_allowance_ft", 0)
        margin = airspace_margin_ft(parcels, runways, height_ft)
    with recorder.step("fault setback"):
        fault_m = line_distance(parcels, inputs.vector("faults").geometry)
    with recorder.step("exclusion zones"):
        zone_pct = zone_overlap_pct(parcels, inputs.vector("zones").geometry)
    with recorder.step("seismic zonal max"):
        layer = cfg["criteria"]["seismic"]["layer"]
        pga = zonal_max(parcels, centroids, inputs.path(inputs.layer(layer)["source"]))
    with recorder.step("border distance"):
        border_m = line_distance(parcels, inputs.vector("border").geometry)
    with recorder.step("demand searches (gravity + Huff)"):
        members, huff = cfg["criteria"]["members"], cfg["criteria"]["competition"]
        points = shapely.get_coordinates(tracts.geometry.representative_point().to_numpy())
        tract_nodes, tract_min, _ = snap(graph, tree, points, kmh)  # far tracts keep connectors
        population = tracts[members["population"]].to_numpy(dtype=float)
        hosp_xy, beds = competitors(hospitals, huff)
        hosp_nodes, hosp_min, hosp_m = snap(graph, tree, hosp_xy, kmh)
        near = hosp_m <= max_snap_m  # far hospitals leave the choice set
        gravity, patients = demand(
            graph, tract_nodes, tract_min, population, cand_nodes, cand_min,
            hosp_nodes[near], hosp_min[near], beds[near], members, huff,
        )  # fmt: skip
    with recorder.step("score, rank and write"):
        raw = {
            "freeway_access": freeway_min,
            "seismic": pga,
            "members": gravity,
            "competition": patients,
            "border": border_m,
        }
        limits = {
            "airspace_margin_ft": margin,
            "fault_distance_m": fault_m,
            "zone_overlap_pct": zone_pct,
        }
        table = score(cfg, frame[id_column].to_numpy(), raw, limits)
        result = gpd.GeoDataFrame(table, geometry=parcels, crs=inputs.crs)
        out.mkdir(parents=True, exist_ok=True)
        result.to_parquet(out / "sites.parquet")
    return result


def prepare(config_path: Path) -> Path:
    """Build the baseline's graph cache for ``config_path`` (untimed set-up)."""
    inputs = Inputs(config_path)
    facts = build_graph(inputs.roads, inputs.graph_file, inputs.crs)
    print(f"baseline graph: {facts}")
    return inputs.graph_file


def main() -> None:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("config", type=Path)
    parser.add_argument("--out", type=Path, help="output folder (sites.parquet)")
    parser.add_argument("--events", type=Path, help="step events file (bench.county)")
    parser.add_argument("--prepare", action="store_true", help="build the graph cache only")
    args = parser.parse_args()
    if args.prepare:
        prepare(args.config)
        return
    start = time.perf_counter()
    result = run(args.config, args.out or Path("baseline-out"), StepRecorder(args.events))
    ranked = int((~result["excluded"]).sum())
    print(f"{len(result):,} candidates, {ranked:,} ranked, {time.perf_counter() - start:.1f} s")


if __name__ == "__main__":
    main()
