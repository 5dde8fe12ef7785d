"""The county scenario of ``python -m bench.county``: sizes, cached generation, the config.

A scenario is three cached parts plus a config written beside them, all under
one work folder (default ``bench/.data``, git-ignored)::

    roads-county-<key>/roads.osm.pbf     the road network (shared by every size)
    roads-grid-<key>/roads.osm.pbf       the --stress network
    layers-<key>/...                     tracts, hospitals, runways, raster, lines, zones
    parcels-1m-<key>/parcels.parquet     the parcels, GeoParquet and GeoPackage
    county-1m/county.yaml                the config (county-1m-stress/ with --stress)

Each part's folder name carries a hash of the parameters that made it, and a
``manifest.json`` written last records them: a part is reused when its
manifest matches, regenerated otherwise (into a temporary folder renamed into
place, so an interrupted generation leaves nothing half-written).

Sizes (``--parcels``): ``1m``, ``100k`` and ``10k`` share the county (100 km x
100 km), its network (1,001,200 nodes), its layers (736 tracts, 42 hospitals,
38 runways at 27 airports, a 4,000 x 4,000 raster, 8 faults, the border, 20
zones) and one tessellation of 1,000,000 Voronoi parcels; the smaller sizes
keep a fixed random subset of those parcels (**sparser**, same shapes, so the
work per parcel is the same and the cost of a size shows what grows with the
parcel count). ``1k`` is a small county (10 km) with a small network and few
features, for the test suite.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import yaml

from bench._scenario_geo import CRS
from bench._scenario_layers import (
    LayerParams,
    ParcelParams,
    parcel_frame,
    parcel_universe,
    write_layers,
    write_parcels,
)
from bench._scenario_roads import RoadParams, check_roads, write_roads

GENERATOR_VERSION = 1
"""Bump when a generator's output changes: every cached part is regenerated."""

DEFAULT_WORKDIR = Path(__file__).resolve().parent / ".data"


@dataclass(frozen=True)
class Preset:
    """The parameters of one ``--parcels`` size.

    Attributes
    ----------
    label : str
        ``1k``, ``10k``, ``100k`` or ``1m``.
    parcels : ParcelParams
    layers : LayerParams
    roads : RoadParams
        The county-like network.
    stress_roads : RoadParams
        The ``--stress`` grid.
    """

    label: str
    parcels: ParcelParams
    layers: LayerParams
    roads: RoadParams
    stress_roads: RoadParams


def _county(label: str, n_parcels: int) -> Preset:
    extent = 100_000.0
    return Preset(
        label,
        ParcelParams(extent, universe=1_000_000, n_parcels=n_parcels),
        LayerParams(extent),
        RoadParams(extent, junctions_per_side=500, shape_points=750_000),
        RoadParams(extent, junctions_per_side=1_000, shape_points=0),
    )


def _small_county() -> Preset:
    extent = 10_000.0
    small_freeways = {
        "freeways_ns": (0.3,),
        "freeways_ew": (0.6,),
        "freeway_nodes": 12,
        "interchanges": 2,
    }
    return Preset(
        "1k",
        ParcelParams(extent, universe=1_000, n_parcels=1_000),
        LayerParams(
            extent,
            tracts=40,
            hospitals=8,
            airports=3,
            runways=4,
            raster_cells=400,
            faults=2,
            zones=3,
            line_vertices=60,
        ),
        RoadParams(extent, junctions_per_side=30, shape_points=2_700, **small_freeways),
        RoadParams(extent, junctions_per_side=60, shape_points=0, **small_freeways),
    )


PRESETS: dict[str, Preset] = {
    "1k": _small_county(),
    "10k": _county("10k", 10_000),
    "100k": _county("100k", 100_000),
    "1m": _county("1m", 1_000_000),
}
"""The sizes of ``--parcels``."""


@dataclass(frozen=True)
class Scenario:
    """The files of a generated scenario.

    Attributes
    ----------
    preset : Preset
    stress : bool
        Whether the network is the stress grid.
    folder : Path
        The scenario folder (config, outputs).
    config : Path
        The YAML config.
    roads, layers, parcels : Path
        The cached parts' folders.
    generated_s : dict
        Seconds spent generating each part in this call (absent: reused).
    """

    preset: Preset
    stress: bool
    folder: Path
    config: Path
    roads: Path
    layers: Path
    parcels: Path
    generated_s: dict[str, float]

    @property
    def road_params(self) -> RoadParams:
        """The network's parameters."""
        return self.preset.stress_roads if self.stress else self.preset.roads

    @property
    def graph_cache(self) -> Path:
        """Folder of siteselect's built-graph cache for this network."""
        return self.roads / "graph-cache"


def _key(params: dict[str, Any]) -> str:
    text = json.dumps({"version": GENERATOR_VERSION, **params}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:8]


def _cached_part(
    folder: Path, params: dict[str, Any], build: Callable[[Path], dict[str, Any]]
) -> float | None:
    """Make ``folder`` with ``build(tmp_folder)`` unless its manifest matches ``params``.

    Returns
    -------
    float or None
        Seconds spent generating; None when the folder was reused.
    """
    manifest = folder / "manifest.json"
    wanted = json.loads(json.dumps({"version": GENERATOR_VERSION, "params": params}))
    if manifest.exists():
        stored = json.loads(manifest.read_text())
        if {k: stored.get(k) for k in wanted} == wanted:
            return None
    start = time.perf_counter()
    partial = folder.with_name(f".{folder.name}.{os.getpid()}.tmp")
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    try:
        facts = build(partial)
        seconds = round(time.perf_counter() - start, 1)
        record = {**wanted, "generated_s": seconds, "facts": facts}
        (partial / "manifest.json").write_text(json.dumps(record, indent=2, default=str))
        shutil.rmtree(folder, ignore_errors=True)
        partial.rename(folder)
    finally:
        shutil.rmtree(partial, ignore_errors=True)
    return seconds


def _build_roads(params: RoadParams) -> Callable[[Path], dict[str, Any]]:
    def build(folder: Path) -> dict[str, Any]:
        path = folder / "roads.osm.pbf"
        written = write_roads(params, path)
        read_back = check_roads(path, params)
        return {"written": written, "read_back": read_back, "bytes": path.stat().st_size}

    return build


def _build_layers(params: LayerParams) -> Callable[[Path], dict[str, Any]]:
    def build(folder: Path) -> dict[str, Any]:
        files = write_layers(params, folder)
        return {name: path.name for name, path in files.items()}

    return build


def _build_universe(params: ParcelParams) -> Callable[[Path], dict[str, Any]]:
    def build(folder: Path) -> dict[str, Any]:
        cells = parcel_universe(params)
        gpd.GeoDataFrame(geometry=cells).to_parquet(folder / "universe.parquet")
        return {"cells": len(cells)}

    return build


def _build_parcels(params: ParcelParams, universe: Path) -> Callable[[Path], dict[str, Any]]:
    def build(folder: Path) -> dict[str, Any]:
        cells = gpd.read_parquet(universe / "universe.parquet").geometry.to_numpy()
        frame = parcel_frame(params, cells)
        files = write_parcels(frame, folder)
        return {"parcels": len(frame), **{k: p.stat().st_size for k, p in files.items()}}

    return build


def ensure_scenario(
    label: str,
    stress: bool = False,
    workdir: Path = DEFAULT_WORKDIR,
    candidates_format: str = "parquet",
    log: Callable[[str], None] = print,
) -> Scenario:
    """Generate (or reuse) the scenario of size ``label`` and write its config.

    Parameters
    ----------
    label : {"1k", "10k", "100k", "1m"}
    stress : bool
        Use the 1M-junction grid instead of the county-like network.
    workdir : Path
        Where the cached parts and the scenario folder live.
    candidates_format : {"parquet", "gpkg"}
        Which parcel file the config reads.
    log : callable
        Receives one line per part generated.

    Returns
    -------
    Scenario
    """
    preset = PRESETS[label]
    road_params = preset.stress_roads if stress else preset.roads
    kind = "grid" if stress else "county"
    universe_params = {**preset.parcels.as_dict(), "n_parcels": preset.parcels.universe}
    parts = {
        "roads": (f"roads-{kind}-{_key(road_params.as_dict())}", road_params.as_dict()),
        "layers": (f"layers-{_key(preset.layers.as_dict())}", preset.layers.as_dict()),
        "universe": (f"parcel-universe-{_key(universe_params)}", universe_params),
        "parcels": (f"parcels-{label}-{_key(preset.parcels.as_dict())}", preset.parcels.as_dict()),
    }
    folders = {name: workdir / folder for name, (folder, _) in parts.items()}
    builders = {
        "roads": _build_roads(road_params),
        "layers": _build_layers(preset.layers),
        "universe": _build_universe(preset.parcels),
        "parcels": _build_parcels(preset.parcels, folders["universe"]),
    }
    generated: dict[str, float] = {}
    for name, (_, params) in parts.items():
        if name == "universe" and (folders["parcels"] / "manifest.json").exists():
            stored = json.loads((folders["parcels"] / "manifest.json").read_text())
            wanted = json.loads(json.dumps(parts["parcels"][1]))
            if stored.get("params") == wanted and stored.get("version") == GENERATOR_VERSION:
                continue  # the parcels exist: the universe is not needed
        seconds = _cached_part(folders[name], params, builders[name])
        if seconds is not None:
            generated[name] = seconds
            log(f"generated {folders[name].name} in {seconds:.1f} s")
    folder = workdir / f"county-{label}{'-stress' if stress else ''}"
    folder.mkdir(parents=True, exist_ok=True)
    scenario = Scenario(
        preset,
        stress,
        folder,
        folder / "county.yaml",
        folders["roads"],
        folders["layers"],
        folders["parcels"],
        generated,
    )
    write_config(scenario, candidates_format)
    return scenario


def _relative(path: Path, start: Path) -> str:
    return os.path.relpath(path, start)


def config_dict(scenario: Scenario, candidates_format: str = "parquet") -> dict[str, Any]:
    """The config of ``scenario``: every kind, as a county planner would write it."""
    here = scenario.folder

    def layer(name: str) -> str:
        return _relative(scenario.layers / name, here)

    candidates: dict[str, Any] = {"id": "apn"}
    if candidates_format == "gpkg":
        candidates.update(
            source=_relative(scenario.parcels / "parcels.gpkg", here), layer="parcels"
        )
    else:
        candidates.update(source=_relative(scenario.parcels / "parcels.parquet", here))
    demand = {"layer": "tracts", "population": "pop_total"}
    return {
        "name": f"County benchmark: {scenario.preset.label} parcels, "
        f"{'stress grid' if scenario.stress else 'county-like'} network",
        "crs": CRS,
        "study_area": {"source": layer("study_area.gpkg"), "layer": "study_area"},
        "candidates": {"source": candidates.pop("source"), **candidates},
        "network": {
            "source": _relative(scenario.roads / "roads.osm.pbf", here),
            "cache_dir": _relative(scenario.graph_cache, here),
            "connector_speed_kmh": 20,
            "max_snap_m": 1000,
        },
        "layers": {
            "runways": layer("runways.csv"),
            "airports": layer("airports.csv"),
            "hazard": {"source": layer("pga_2pct50yr.tif"), "units": "g"},
            "faults": {"source": layer("faults.geojson"), "name_column": "FaultName"},
            "border": {"source": layer("border.geojson"), "name_column": "name"},
            "zones": {"source": layer("zones.gpkg"), "layer": "zones", "name_column": "name"},
            "tracts": {"source": layer("tracts.gpkg"), "layer": "tracts", "name_column": "GEOID"},
            "hospitals": {
                "source": layer("hospitals.geojson"),
                "name_column": "NAME",
                "where": {"STATUS": "OPEN"},
            },
        },
        "constraints": {
            "airspace": {
                "kind": "airspace",
                "layer": "runways",
                "airports": "airports",
                "building_height_ft": 160,
                "helipad_allowance_ft": 20,
                "exclude_aicuz": True,
                "min_margin_ft": 0,
            },
            "fault_setback": {"kind": "distance", "layer": "faults", "min_m": 150},
            "exclusion_zones": {
                "kind": "zones",
                "layer": "zones",
                "zone_label": "exclusion zone",
                "max_overlap_pct": 10,
            },
            "freeway_reach": {"kind": "network_time", "to": "freeway_entrances", "max_minutes": 20},
        },
        "criteria": {
            "freeway_access": {
                "kind": "network_time",
                "to": "freeway_entrances",
                "transform": {"fn": "linear", "best": 2, "worst": 15},
                "weight": 3,
            },
            "seismic": {
                "kind": "raster_zonal",
                "layer": "hazard",
                "stat": "max",
                "transform": {"fn": "linear", "best": 0.4, "worst": 0.9},
                "weight": 2,
            },
            "members": {
                "kind": "accessibility",
                "layer": "tracts",
                "population": "pop_total",
                "method": "gravity",
                "decay": {"fn": "gaussian", "half_min": 15},
                "max_minutes": 30,
                "transform": {"fn": "minmax", "better": "higher"},
                "weight": 4,
            },
            "competition": {
                "kind": "competition",
                "model": "huff",
                "layer": "hospitals",
                "where": {"TYPE": ["GENERAL ACUTE CARE", "MILITARY"]},
                "owner": {"column": "NAME", "contains": ["KAISER"]},
                "demand": demand,
                "candidate_beds": 400,
                "alpha": 1,
                "beta": 2,
                "max_minutes": 30,
                "transform": {"fn": "minmax", "better": "higher"},
                "weight": 3,
            },
            "border": {
                "kind": "distance",
                "layer": "border",
                "transform": {"fn": "linear", "best": 20000, "worst": 5000},
                "weight": 1,
            },
        },
        "outputs": {"top_n": 10, "context_layers": ["border"]},
    }


def write_config(scenario: Scenario, candidates_format: str = "parquet") -> Path:
    """Write ``county.yaml`` into the scenario folder (unchanged bytes when unchanged)."""
    header = (
        "# Written by `python -m bench.county` (bench/_scenario.py): a county-scale\n"
        "# scenario using every criterion kind. Paths are relative to this file.\n"
    )
    text = header + yaml.safe_dump(
        config_dict(scenario, candidates_format), sort_keys=False, width=100
    )
    if not scenario.config.exists() or scenario.config.read_text() != text:
        scenario.config.write_text(text)
    return scenario.config


def main(argv: list[str] | None = None) -> None:
    """Generate a scenario (``bench.county`` runs this in a child process, to keep
    the generator's memory out of the measuring process)."""
    import argparse

    parser = argparse.ArgumentParser(description="Generate the county benchmark scenario.")
    parser.add_argument("--parcels", choices=sorted(PRESETS), default="10k")
    parser.add_argument("--stress", action="store_true")
    parser.add_argument("--workdir", type=Path, default=DEFAULT_WORKDIR)
    parser.add_argument("--format", choices=["parquet", "gpkg"], default="parquet")
    args = parser.parse_args(argv)
    scenario = ensure_scenario(
        args.parcels, args.stress, args.workdir, args.format, lambda line: print(line, flush=True)
    )
    print(f"scenario ready: {scenario.config}")


if __name__ == "__main__":
    main()
