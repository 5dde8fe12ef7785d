"""``siteselect rescore`` at county scale: 1M candidates re-scored from the criteria cache.

Run::

    .venv/bin/python -m bench.rescore_bench                  # 1,000,000 candidates
    .venv/bin/python -m bench.rescore_bench --candidates 100000 --profile

Generates (fixed seed, EPSG:32611, 40 x 40 km) the parcels as GeoParquet, three
faults, a border, 20 protected zones, 40 hospitals and two small rasters, and a
config with two constraints (a ``distance`` fault setback of 150 m, a ``zones``
constraint) and four criteria (``raster_zonal`` seismic and population,
``distance`` to the border and to the nearest hospital). It then fills the
criteria cache as ``siteselect run`` would, without measuring (that takes
minutes): the candidates as ``load_candidates`` returns them and, per entry, a
synthetic measurement with the columns the real kinds give (values with a few
NaN, the nearest feature's name, per-candidate missing reasons, zone
exclusions, ``off_network`` and ``snap_m`` extra columns).

Timed, in the same run:

* **scoring**: the pipeline's own steps once the measurements are loaded
  (``constraint *``, ``criterion *``, ``score and rank``: transforms, bounds,
  exclusion reasons and their accounting, weights, ranking) as
  :func:`siteselect.rescore.rescore` runs them;
* **rescore minus writing**: the whole :func:`siteselect.rescore.rescore` call
  (staleness check with remembered file hashes, the cached candidates and
  measurements read, context layers, scoring, run.json content);
* **writing**: :func:`siteselect.outputs.write_outputs` (``--write``; slow);
* **baseline**: plain numpy doing the arithmetic of the scoring (linear
  transforms, weighted sum, bounds, NaN exclusion, ranking by score then id),
  without reasons, accounting or tables.

Prints wall and CPU seconds, the ratio scoring / baseline, and the load average
(the machine may be shared).
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import os
import pstats
import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import geopandas as gpd
import numpy as np
import rasterio
import shapely
from rasterio.transform import from_origin

from bench.outputs_bench import CRS, SIDE_M, X0, Y0, make_parcels, meander

SEED = 20261201
SCORING_STEPS = ("constraint ", "criterion ", "score and rank")

CONFIG = """name: Rescore bench, {n:,} candidates
crs: {crs}
candidates: {{source: parcels.parquet, id: apn}}
layers:
  faults: {{source: faults.gpkg, name_column: FaultName}}
  border: border.gpkg
  zones: {{source: zones.gpkg, name_column: name}}
  hospitals: {{source: hospitals.gpkg, name_column: name}}
  hazard: {{source: hazard.tif, units: g}}
  population: {{source: population.tif, units: "1"}}
constraints:
  fault_setback: {{kind: distance, layer: faults, min_m: 150}}
  protected: {{kind: zones, layer: zones, buffer_m: 100, zone_label: protected area,
              max_overlap_pct: 0}}
criteria:
  seismic: {{kind: raster_zonal, layer: hazard, stat: max, weight: 2,
            transform: {{fn: linear, best: 0.4, worst: 0.9}}}}
  members: {{kind: raster_zonal, layer: population, stat: mean, weight: 4,
            transform: {{fn: minmax, better: higher}}}}
  border: {{kind: distance, layer: border, weight: 1,
           transform: {{fn: linear, best: 25000, worst: 5000}}}}
  competition: {{kind: distance, layer: hospitals, weight: 3,
                transform: {{fn: linear, best: 8000, worst: 1000}}}}
outputs: {{dir: out, top_n: 10, context_layers: [border]}}
cache: {{dir: cache}}
"""


def _raster(path: Path, values: np.ndarray) -> None:
    """A one-band float32 GeoTIFF over the county (nodata -1)."""
    cell = SIDE_M / values.shape[0]
    profile = {"driver": "GTiff", "count": 1, "dtype": "float32", "crs": CRS, "nodata": -1.0}
    profile.update(height=values.shape[0], width=values.shape[1])
    profile["transform"] = from_origin(X0, Y0 + SIDE_M, cell, cell)
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(values.astype("float32"), 1)


def make_inputs(folder: Path, n: int) -> gpd.GeoDataFrame:
    """Write the layers and the config; return the parcels as written."""
    rng = np.random.default_rng(SEED)
    parcels = make_parcels(n, rng)
    parcels.to_parquet(folder / "parcels.parquet")
    faults = [
        meander((X0 - 2000, Y0 + 5000), (X0 + SIDE_M + 2000, Y0 + 30000), 200, 3000, rng),
        meander((X0 + 8000, Y0 - 2000), (X0 + 20000, Y0 + SIDE_M + 2000), 200, 2500, rng),
        meander((X0 + 25000, Y0 + 12000), (X0 + SIDE_M + 3000, Y0 - 1000), 200, 1500, rng),
    ]
    layers = {
        "faults": ({"FaultName": ["Rose Canyon", "Elsinore", "San Jacinto"]}, faults),
        "border": (
            {"name": ["US-Mexico border"]},
            [meander((X0 - 5000, Y0 - 3000), (X0 + SIDE_M + 5000, Y0 - 4000), 300, 2000, rng)],
        ),
        "zones": (
            {"name": [f"Zone {i + 1}" for i in range(20)]},
            shapely.buffer(
                shapely.points(rng.uniform([X0, Y0], [X0 + SIDE_M, Y0 + SIDE_M], (20, 2))),
                rng.uniform(300, 1500, 20),
            ),
        ),
        "hospitals": (
            {"name": [f"Hospital {i + 1}" for i in range(40)]},
            shapely.points(rng.uniform([X0, Y0], [X0 + SIDE_M, Y0 + SIDE_M], (40, 2))),
        ),
    }
    for name, (columns, geometry) in layers.items():
        gpd.GeoDataFrame(columns, geometry=list(geometry), crs=CRS).to_file(folder / f"{name}.gpkg")
    _raster(folder / "hazard.tif", rng.uniform(0.3, 1.0, (200, 200)))
    _raster(folder / "population.tif", rng.lognormal(3, 1, (200, 200)))
    (folder / "county.yaml").write_text(CONFIG.format(n=n, crs=CRS), encoding="utf-8")
    return parcels


def _names(rng: np.random.Generator, names: list[str], n: int) -> np.ndarray:
    return np.asarray(names, dtype=object)[rng.integers(0, len(names), n)]


def synthetic_measurements(n: int, rng: np.random.Generator) -> dict:
    """Per config entry, a measurement shaped as the real kind's (see the module docstring)."""
    from siteselect.criteria.base import Measurement

    def holes(values: np.ndarray, share: float) -> np.ndarray:
        values[rng.random(n) < share] = np.nan
        return values

    faults = ["Rose Canyon", "Elsinore", "San Jacinto"]
    zone = np.where(rng.random(n) < 0.02, rng.uniform(1, 100, n), 0.0)
    zone_names = np.where(zone > 0, _names(rng, [f"Zone {i + 1}" for i in range(20)], n), "")
    snap = rng.gamma(2, 60, n).astype("float32")
    off = snap > 700
    people = holes(rng.lognormal(8, 1.2, n), 0.0)
    people[off] = np.nan
    missing = np.where(off, "no road within 800 m", "").astype(object)
    return {
        "fault_setback": Measurement(
            values=rng.gamma(2, 3000, n),
            unit="m",
            label="Distance to nearest faults",
            feature=_names(rng, faults, n),
            phrase_low="within {value} of {feature}",
            phrase_high="{value} from the nearest, {feature}",
        ),
        "protected": Measurement(
            values=zone,
            unit="%",
            label="Share of the parcel in protected area",
            feature=zone_names.astype(object),
            phrase_high="{value} of the parcel in {feature}",
        ),
        "seismic": Measurement(
            values=holes(rng.uniform(0.3, 1.0, n), 0.003),
            unit="g",
            label="Max PGA (g), 2% in 50 years over the parcel",
            missing_reason="less than 50% of the parcel has hazard data",
            extra_columns={"covered_fraction": rng.uniform(0.5, 1.0, n)},
        ),
        "members": Measurement(
            values=people,
            unit="people",
            label="People within reach",
            missing_reason="farther than network.max_snap_m from a connected road",
            missing_reasons=missing,
            extra_columns={"snap_m": snap, "off_network": off},
        ),
        "border": Measurement(
            values=rng.uniform(0, 40000, n),
            unit="m",
            label="Distance to the US-Mexico border",
            feature=np.full(n, "US-Mexico border", dtype=object),
        ),
        "competition": Measurement(
            values=rng.gamma(2, 2500, n),
            unit="m",
            label="Distance to the nearest hospital",
            feature=_names(rng, [f"Hospital {i + 1}" for i in range(40)], n),
        ),
    }


def fill_cache(folder: Path, parcels: gpd.GeoDataFrame) -> None:
    """Store the candidates and the measurements as ``siteselect run`` does."""
    from siteselect.config import load_config
    from siteselect.criteria.cache import CriteriaCache, geometry_hash, key_of
    from siteselect.geo import m2_to_acres
    from siteselect.study import Study

    config = load_config(folder / "county.yaml")
    candidates = parcels.assign(
        candidate_id=parcels["apn"].to_numpy(),
        source_row=np.arange(1, len(parcels) + 1),
        geometry_repaired=False,
        area_before_repair_acres=np.nan,
        duplicate_of="",
        area_acres=m2_to_acres(parcels.geometry.area.to_numpy()),
    )
    candidates = candidates.sort_values("candidate_id", kind="stable").reset_index(drop=True)
    study = Study(config=config, crs=candidates.crs, candidates=candidates, study_area=None)
    cache = CriteriaCache(config)
    components = cache.candidates_components()
    candidates_key = key_of(components)
    geometry = geometry_hash(candidates)
    cache.store_study(candidates_key, study, geometry)
    measured = synthetic_measurements(len(candidates), np.random.default_rng(SEED + 1))
    for section in (config.constraints, config.criteria):
        for name, spec in section.items():
            entry = cache.entry_components(spec, candidates_key, geometry, study.crs)
            cache.store_entry(key_of(entry), measured[name], {"components": entry})


def baseline(config, raw: dict[str, np.ndarray], ids_sorted: bool) -> np.ndarray:
    """Plain numpy: linear/minmax transforms, weighted sum, bounds, rank by score then id."""
    n = len(next(iter(raw.values())))
    weights = np.array([spec.weight for spec in config.criteria.values()], dtype="float64")
    total = np.zeros(n)
    excluded = np.zeros(n, dtype=bool)
    for (name, spec), weight in zip(config.criteria.items(), weights / weights.sum(), strict=True):
        values = raw[name]
        t = spec.transform
        if t.fn == "linear":
            score = np.clip((values - t.worst) / (t.best - t.worst), 0.0, 1.0)
        else:
            lo, hi = np.nanmin(values), np.nanmax(values)
            score = (values - lo) / (hi - lo)
        excluded |= np.isnan(score)
        total += weight * np.nan_to_num(score)
    for name, spec in config.constraints.items():
        lower, upper = spec.bounds()
        values = raw[name]
        with np.errstate(invalid="ignore"):
            if lower is not None:
                excluded |= values < lower
            if upper is not None:
                excluded |= values > upper
        excluded |= np.isnan(values)
    assert ids_sorted  # candidates are in id order: a stable sort breaks ties by id
    order = np.argsort(-total, kind="stable")
    order = order[~excluded[order]]
    rank = np.zeros(n, dtype=np.int64)
    rank[order] = np.arange(1, len(order) + 1)
    return rank


class CpuReporter:
    """The pipeline's progress hook, recording each step's CPU seconds (this process)."""

    def __init__(self) -> None:
        self.cpu: dict[str, float] = {}

    @contextlib.contextmanager
    def step(self, name: str) -> Iterator[None]:
        start = time.process_time()
        yield
        self.cpu[name] = time.process_time() - start


def _timed(fn, *args, **kwargs):
    wall, cpu = time.perf_counter(), time.process_time()
    out = fn(*args, **kwargs)
    return out, time.perf_counter() - wall, time.process_time() - cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--candidates", type=int, default=1_000_000)
    parser.add_argument("--keep", type=Path, help="folder to generate into and keep")
    parser.add_argument("--repeat", type=int, default=2, help="rescore runs (the best is kept)")
    parser.add_argument("--write", action="store_true", help="also time write_outputs (slow)")
    parser.add_argument("--profile", action="store_true", help="cProfile one rescore")
    args = parser.parse_args()

    from siteselect.config import load_config
    from siteselect.criteria.cache import CacheError
    from siteselect.outputs import write_outputs
    from siteselect.rescore import rescore

    folder = args.keep or Path(tempfile.mkdtemp(prefix="siteselect-rescore-bench-"))
    folder.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    if not (folder / "parcels.parquet").exists():
        make_inputs(folder, args.candidates)
    config = load_config(folder / "county.yaml")
    try:
        rescore(config)
    except CacheError:  # none yet, or siteselect's code changed since: fill it again
        shutil.rmtree(folder / "cache", ignore_errors=True)
        fill_cache(folder, gpd.read_parquet(folder / "parcels.parquet"))
        print(f"generated the inputs and the cache in {time.perf_counter() - start:.1f} s")
    print(f"folder: {folder}")
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")

    best: dict[str, tuple[float, float]] = {}
    result = None
    cpu_steps: dict[str, float] = {}
    for _ in range(args.repeat):
        reporter = CpuReporter()
        result, wall, cpu = _timed(rescore, config, {"members": 6.0}, reporter)
        steps = result.manifest["timings_s"]
        scoring = (
            sum(s for name, s in steps.items() if name.startswith(SCORING_STEPS)),
            sum(s for name, s in reporter.cpu.items() if name.startswith(SCORING_STEPS)),
        )
        for label, value in (("rescore minus writing", (wall, cpu)), ("scoring", scoring)):
            if label not in best or value[1] < best[label][1]:
                best[label] = value
                if label == "scoring":
                    cpu_steps = reporter.cpu
    assert result is not None
    n = len(result.candidates)
    raw = {name: result.candidates[f"raw_{name}"].to_numpy() for name in config.criteria}
    from siteselect.criteria.cache import CriteriaCache, key_of

    cache = CriteriaCache(config)
    study_key = key_of(cache.candidates_components())
    record = result.manifest["diagnostics"]["criteria_cache"]
    assert not record["recomputed"], record
    loaded = cache.load_study(study_key)
    assert loaded is not None
    study, geometry = loaded
    for name, spec in config.constraints.items():
        entry = cache.entry_components(spec, study_key, geometry, study.crs)
        found = cache.load_entry(key_of(entry), n)
        assert found is not None
        raw[name] = found[0].values
    ids = result.candidates["candidate_id"].to_numpy()
    ids_sorted = bool((ids[1:] >= ids[:-1]).all())
    base_times = []
    weighted = config.model_copy(
        update={
            "criteria": {
                k: v.model_copy(update={"weight": 6.0}) if k == "members" else v
                for k, v in config.criteria.items()
            }
        }
    )
    for _ in range(max(args.repeat, 3)):
        rank, wall, cpu = _timed(baseline, weighted, raw, ids_sorted)
        base_times.append((wall, cpu))
    base_wall, base_cpu = min(base_times)
    ours = result.candidates["rank"].to_numpy(dtype="float64", na_value=0).astype(np.int64)
    print(f"candidates: {n:,} ({int((ours > 0).sum()):,} ranked)")
    agree = bool((rank == ours).all())
    print(f"baseline ranks equal rescore's: {agree}")
    for step, seconds in cpu_steps.items():
        print(f"  step {step:<28} {seconds:7.3f} s CPU")
    scoring, scoring_cpu = best["scoring"]
    whole_wall, whole_cpu = best["rescore minus writing"]
    print(f"scoring (pipeline steps)      {scoring:7.3f} s wall, {scoring_cpu:7.3f} s CPU")
    print(f"rescore minus writing         {whole_wall:7.3f} s wall, {whole_cpu:7.3f} s CPU")
    print(f"baseline (plain numpy)        {base_wall:7.3f} s wall, {base_cpu:7.3f} s CPU")
    print(
        f"ratio scoring / baseline      {scoring / base_wall:7.1f}x wall, "
        f"{scoring_cpu / base_cpu:.1f}x CPU"
    )
    if args.write:
        _, wall, cpu = _timed(write_outputs, result, folder / "out")
        print(f"writing the outputs           {wall:7.3f} s wall, {cpu:7.3f} s CPU")
    if args.profile:
        profiler = cProfile.Profile()
        profiler.enable()
        rescore(config, {"members": 6.0})
        profiler.disable()
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(35)
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
