"""``visibility``: how many drivers will see the building, from the freeways and main roads.

Config (under ``criteria:``, or ``constraints:`` with ``min``)::

    visibility:
      kind: visibility
      ground: dem                  # raster layer of ground elevation (m, ft...)
      roads: [motorway, trunk, primary]
      building_height_ft: 160      # default: the airspace entry's
      eye_height_m: 1.1
      max_km: 3
      traffic: aadt                # optional layer of AADT counts (points or lines)
      volume_column: AADT
      transform: {fn: linear, best: 150000, worst: 0}
      weight: 2

Raw value: the **daily vehicles** (``count: people`` with an ``occupancy``:
people) passing road stretches within ``max_km`` from which the top of the
building is in line of sight, at the parcel's best point; with
``time_in_view: true``, the vehicle-seconds of view per day instead. Computed
once for all candidates as a cumulative, traffic-weighted viewshed
(:mod:`siteselect.visibility`), then the exact zonal max over each parcel.

Extra columns: ``vehicles_per_day``, ``road_km_seen``, ``main_road``,
``main_road_km_seen``, ``view_hours_per_day`` and ``seen_from``, the exposure
in words (``seen from about 3.2 km of I-15, roughly 140,000 vehicles a day``).
run.json ``diagnostics.visibility`` records the grid, the roads sampled, the
volumes used (counts joined, defaults by class and their source) and timings.
"""

from __future__ import annotations

import functools
import logging
import time
from typing import TYPE_CHECKING, Annotated, Any, ClassVar, Literal

import geopandas as gpd
import numpy as np
import shapely
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator
from rasterio.features import shapes

from siteselect._errors import CriterionError, LayerError
from siteselect.criteria.base import KindSpec, Measurement, register
from siteselect.criteria.overlay import Overlay
from siteselect.geo import M_PER_FT
from siteselect.study.rasters import check_plausible, ground_unit, unit_record
from siteselect.units import ELEVATION, validate_unit
from siteselect.visibility.describe import describe_all, round_people
from siteselect.visibility.model import Samples
from siteselect.visibility.roads import RoadSamples, display_ref, sample_roads
from siteselect.visibility.terrain import Terrain, building_heights, burn_buildings, read_ground
from siteselect.visibility.traffic import (
    Volumes,
    check_defaults,
    class_defaults,
    sample_volumes,
)

if TYPE_CHECKING:
    from siteselect.study import Study
    from siteselect.visibility.exposure import Targets

logger = logging.getLogger(__name__)

EXPOSURE_BREAKS = (1_000.0, 10_000.0, 50_000.0, 100_000.0, 200_000.0)
"""Class limits (vehicles or people a day) of the map layer."""


class BuildingsSpec(BaseModel):
    """Existing buildings as obstacles: footprints with OSM heights."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    layer: str = Field(description="Footprint polygons, under 'layers:'.")
    height_column: str = Field(
        default="height", description="Height (OSM 'height': 12, '12 m', '40 ft')."
    )
    levels_column: str = Field(
        default="building:levels", description="Storeys, used where the height is missing."
    )
    m_per_level: float = Field(default=3.0, gt=0, description="Metres per storey.")


class VisibilitySpec(KindSpec):
    """Daily vehicles (or people) that see the top of the planned building."""

    kind: Literal["visibility"]
    ground: str = Field(description="Raster layer of ground elevation, under 'layers:'.")
    ground_units: Annotated[str | None, AfterValidator(validate_unit)] = Field(
        default=None,
        description="Unit of the ground raster (m, ft, us-ft); default: the layer's units:, "
        "else its file's, else m.",
    )
    roads: list[str] = Field(
        default=["motorway", "trunk", "primary"],
        min_length=1,
        description="OSM highway classes whose traffic counts.",
    )
    building_height_ft: float | None = Field(
        default=None,
        gt=0,
        description="Height of the building's top above ground, ft; default: the airspace "
        "entry's building_height_ft.",
    )
    eye_height_m: float = Field(default=1.1, ge=0, description="Driver's eye above the road, m.")
    max_km: float = Field(default=3.0, gt=0, le=30, description="Farthest sight line, km.")
    spacing_m: float = Field(
        default=100.0, gt=0, description="Largest length of road one sample stands for, m."
    )
    count: Literal["vehicles", "people"] = Field(
        default="vehicles", description="Count vehicles, or people (vehicles x occupancy)."
    )
    occupancy: float | None = Field(
        default=None, gt=0, description="People per vehicle (count: people)."
    )
    time_in_view: bool = Field(
        default=False,
        description="Measure vehicle-seconds of view per day instead of vehicles per day.",
    )
    traffic: str | None = Field(
        default=None, description="Layer of traffic counts (AADT points or lines)."
    )
    volume_column: str = Field(default="AADT", description="Two-way AADT column of 'traffic'.")
    count_max_snap_m: float = Field(
        default=100.0, gt=0, description="A count farther from every counted road is left out."
    )
    count_max_gap_km: float = Field(
        default=10.0, gt=0, description="A count stands for its road up to this far, km."
    )
    volumes_per_day: dict[str, Annotated[float, Field(ge=0)]] = Field(
        default_factory=dict,
        description="Two-way AADT per class where no count applies (overrides the defaults).",
    )
    buildings: BuildingsSpec | None = Field(
        default=None, description="Existing buildings as obstacles."
    )
    cell_m: float | None = Field(
        default=None, gt=0, description="Analysis cell, m (default: the DEM's own)."
    )
    map_cell_m: float = Field(
        default=300.0, ge=0, description="Spacing of the map layer's lattice, m (0: none)."
    )
    min: float | None = Field(default=None, description="Constraint: least exposure.")

    bound_fields: ClassVar[tuple[str, ...]] = ("min",)

    def bounds(self) -> tuple[float | None, float | None]:
        return (self.min, None)

    def layer_names(self) -> list[str]:
        names = [self.ground, self.traffic, self.buildings.layer if self.buildings else None]
        return [n for n in names if n is not None]

    def uses_network(self) -> bool:
        return True

    @model_validator(mode="after")
    def _people_need_occupancy(self) -> VisibilitySpec:
        if self.count == "people" and self.occupancy is None:
            raise ValueError("count: people needs occupancy (people per vehicle, e.g. 1.5)")
        return self

    @property
    def unit(self) -> str:
        """Unit of the raw value."""
        who = "vehicle" if self.count == "vehicles" else "person"
        if self.time_in_view:
            return f"{who}-s/day"
        return f"{self.count}/day"


def building_height_ft(spec: VisibilitySpec, study: Study) -> float:
    """The entry's height, else the one the airspace entries share."""
    if spec.building_height_ft is not None:
        return spec.building_height_ft
    heights = {
        s.building_height_ft
        for section in (study.config.criteria, study.config.constraints)
        for s in section.values()
        if s.kind == "airspace"
    }
    if len(heights) == 1:
        return float(heights.pop())
    if not heights:
        raise CriterionError(
            "building_height_ft: not set, and no airspace entry to share it with; "
            "give the height of the building's top (ft)"
        )
    listed = ", ".join(f"{h:g}" for h in sorted(heights))
    raise CriterionError(
        f"building_height_ft: not set, and the airspace entries differ ({listed} ft); set it here"
    )


def _terrain(spec: VisibilitySpec, study: Study, bounds: tuple[float, ...]) -> Terrain:
    layer = study.layer_spec(spec.ground)
    if not layer.is_raster:
        raise CriterionError(f"ground: layer {spec.ground!r} is not a raster (GeoTIFF...)")
    band, to_m, unit = ground_unit(spec.ground_units, layer, spec.ground, study.config)
    ground, transform = read_ground(
        layer.source, band, to_m, study.crs, bounds, spec.cell_m, f"layers.{spec.ground}"
    )
    check_plausible(
        ELEVATION,
        ground,
        unit,
        study.config.where(("layers", spec.ground, "units")),
        f"{layer.source.name} around the candidates",
    )
    study.diagnostics.setdefault("units", {})[f"layers.{spec.ground}"] = unit_record(
        unit, ground, "m", to_m, ELEVATION
    )
    surface = burn_buildings(ground, transform, np.zeros(0, dtype=object), np.zeros(0))
    if spec.buildings is not None:
        frame = study.vector(spec.buildings.layer)
        heights = building_heights(
            frame,
            spec.buildings.height_column,
            spec.buildings.levels_column,
            spec.buildings.m_per_level,
        )
        surface = burn_buildings(ground, transform, frame.geometry.to_numpy(), heights)
        known = np.isfinite(heights)
        logger.info(
            "visibility: %d of %d buildings of %s have a height (others ignored)",
            int(known.sum()),
            len(frame),
            spec.buildings.layer,
        )
        study.diagnostics.setdefault("visibility_buildings", {})[spec.buildings.layer] = {
            "footprints": len(frame),
            "with_height": int(known.sum()),
            "without_height_ignored": int((~known).sum()),
        }
    return Terrain(ground=ground, surface=surface, transform=transform, crs=study.crs)


def _overlay(
    terrain: Terrain, targets: Targets, values: np.ndarray, spec: VisibilitySpec, step: int
) -> list[Overlay]:
    """The map layer: lattice exposure classes as polygons (a choropleth)."""
    lattice = targets.lattice & np.isfinite(values)
    if step <= 0 or not lattice.any():
        return []
    rows, cols = terrain.shape
    coarse = np.zeros((-(-rows // step), -(-cols // step)), dtype=np.int32)
    classes = np.searchsorted(EXPOSURE_BREAKS, values[lattice], side="right")
    coarse[targets.row[lattice] // step, targets.col[lattice] // step] = classes
    transform = terrain.transform * terrain.transform.scale(step, step)
    what = spec.count
    polygons, labels, lows = [], [], []
    for geometry, value in shapes(coarse, mask=coarse > 0, transform=transform):
        k = int(value)
        low = EXPOSURE_BREAKS[k - 1]
        high = EXPOSURE_BREAKS[k] if k < len(EXPOSURE_BREAKS) else None
        span = (
            f"{round_people(low)}+" if high is None else f"{round_people(low)}-{round_people(high)}"
        )
        labels.append(f"{span} {what} a day")
        lows.append(low)
        polygons.append(shapely.geometry.shape(geometry))
    if not polygons:
        return []
    frame = gpd.GeoDataFrame(
        {"label": labels, "exposure_per_day": lows}, geometry=polygons, crs=terrain.crs
    )
    frame = frame.dissolve(by=["label", "exposure_per_day"], as_index=False)
    name = f"Visibility: {what} a day that see the building"
    return [Overlay(name, "polygons", frame, "label", size_column="exposure_per_day", show=False)]


def _some_ground(message: str, measurement: Measurement, study: Study) -> Measurement:
    """``finish``: raise when no candidate at all has ground under it (every candidate)."""
    if len(measurement.values) and np.isnan(measurement.values).all():
        raise LayerError(message)
    return measurement


def _samples_key(spec: VisibilitySpec) -> str:
    """What the road samples and their volumes depend on (not the candidates)."""
    fields = ("roads", "spacing_m", "traffic", "volume_column", "volumes_per_day")
    fields += ("count_max_snap_m", "count_max_gap_km")
    return repr([(f, getattr(spec, f)) for f in fields])


def road_samples(spec: VisibilitySpec, study: Study) -> tuple[RoadSamples, Volumes]:
    """The counted roads' samples over the whole network and their volumes, computed once
    per run and kept in ``study.shared`` (the Dask engine broadcasts them).

    Counts join the nearest sampled road of the whole network, whatever the candidates.
    """
    memo = study.shared.setdefault("visibility_samples", {})
    key = _samples_key(spec)
    if key in memo:
        return memo[key]
    defaults = class_defaults(spec.volumes_per_day)
    classes = tuple(dict.fromkeys(spec.roads))
    check_defaults(classes, defaults)
    road_graph = study.road_graph()
    samples = sample_roads(road_graph, classes, spec.spacing_m)
    if len(samples) == 0:
        present = sorted(set(road_graph.edges["highway"].astype(object)))
        raise CriterionError(
            f"roads: the network has no road of class {', '.join(classes)} "
            f"(it has {', '.join(present[:12])}); count other classes"
        )
    counts = study.vector(spec.traffic) if spec.traffic is not None else None
    volumes = sample_volumes(
        samples,
        defaults,
        counts,
        column=spec.volume_column,
        name=spec.traffic or "",
        file_name=study.layer_spec(spec.traffic).source.name if spec.traffic else "",
        max_snap_m=spec.count_max_snap_m,
        max_gap_m=spec.count_max_gap_km * 1000.0,
    )
    memo[key] = (samples, volumes)
    return samples, volumes


def prepare(spec: VisibilitySpec, study: Study) -> None:
    """The road samples and volumes, once for the run (see :func:`road_samples`)."""
    road_samples(spec, study)


@register(VisibilitySpec, prepare=prepare)
def measure(spec: VisibilitySpec, study: Study) -> Measurement:
    """Daily exposure at each candidate's best cell, with the sentence saying it.

    A candidate's value depends on the candidate only, not on the others: the
    grid is aligned on the DEM (or on multiples of ``cell_m``), and every road
    sample whose cell may lie within ``max_km`` of a candidate cell is kept
    (two cells of margin), so that a subset of the candidates (a partition of
    the Dask engine) gets the same values.
    """
    # the compiled kernel (numba, ~100 MB) is imported only when a run measures visibility
    from siteselect.visibility import exposure as grid

    height_ft = building_height_ft(spec, study)
    max_m = spec.max_km * 1000.0
    geoms = study.candidates.geometry.to_numpy()
    every_sample, every_volume = road_samples(spec, study)
    xmin, ymin, xmax, ymax = grid.bounds_around(geoms, max_m)
    terrain = _terrain(spec, study, (xmin - max_m, ymin - max_m, xmax + max_m, ymax + max_m))
    margin = 2.0 * max(terrain.dx, terrain.dy)
    x, y = every_sample.x, every_sample.y
    near = (x >= xmin - margin) & (x <= xmax + margin) & (y >= ymin - margin) & (y <= ymax + margin)
    samples = every_sample.select(near)
    volumes = every_volume.select(near)
    kernel_samples, usable = grid.kernel_samples(terrain, samples, volumes.aadt, spec.eye_height_m)
    step = round(spec.map_cell_m / terrain.dx) if spec.map_cell_m > 0 else 0
    targets = grid.candidate_targets(terrain, geoms, max(step, 1) if step else 0)
    kernel_start = time.perf_counter()
    seen = grid.run_kernel(terrain, targets, kernel_samples, height_ft * M_PER_FT, max_m)
    kernel_s = time.perf_counter() - kernel_start
    factor = spec.occupancy if spec.count == "people" else 1.0
    assert factor is not None
    metric = (seen.view_seconds if spec.time_in_view else seen.vehicles) * factor
    best = grid.best_targets(terrain, targets, metric, geoms)
    found = best >= 0
    pick = np.where(found, best, 0)

    def at_best(values: np.ndarray) -> np.ndarray:
        return np.where(found, values[pick], np.nan) if len(values) else np.full(len(geoms), np.nan)

    values = at_best(metric)
    exposure = at_best(seen.vehicles * factor)
    road_m = at_best(seen.road_m)
    main_m = at_best(seen.top_road_m)
    top = seen.top_road[pick] if len(seen.top_road) else np.full(len(geoms), -1)
    names = np.array([display_ref(str(label)) for label in samples.labels] + [""], dtype=object)
    main_road = names[np.where(found & (top >= 0), top, len(names) - 1)]
    what = spec.count
    view_s = at_best(seen.view_seconds * factor)
    sentences = describe_all(
        exposure,
        road_m,
        main_road,
        main_m,
        what=what,
        max_km=spec.max_km,
        view_seconds=view_s if spec.time_in_view else None,
    )
    record = _record(
        spec, height_ft, terrain, samples, kernel_samples, usable, targets, volumes.record
    )
    recorded = study.diagnostics.setdefault("visibility", [])
    if record not in recorded:
        recorded.append(record)
    logger.info(
        "visibility: %d road samples (%d after merging per cell), %d target cells, "
        "kernel %.1f s; best candidate %s %s",
        len(samples),
        len(kernel_samples),
        len(targets.row),
        kernel_s,
        round_people(float(np.nanmax(values))) if found.any() else "n/a",
        spec.unit,
    )
    lattice_values = np.where(targets.lattice, seen.vehicles * factor, np.nan)
    return Measurement(
        values=values,
        unit=spec.unit,
        label=spec.label or _label(spec, height_ft),
        extra_columns={
            f"{what}_per_day": np.round(exposure, 0),
            "road_km_seen": np.round(road_m / 1000.0, 2),
            "main_road": main_road,
            "main_road_km_seen": np.round(main_m / 1000.0, 2),
            "view_hours_per_day": np.round(view_s / 3600.0, 1),
            "seen_from": sentences,
        },
        missing_reason=(
            f"no ground elevation under the parcel in {spec.ground} (outside the DEM or on nodata)"
        ),
        phrase_low="{label} is {value}",
        reasons=np.array(
            [
                "seen only from" + s.removeprefix("seen from") if s.startswith("seen from") else s
                for s in sentences
            ],
            dtype=object,
        ),
        overlays=_overlay(terrain, targets, lattice_values, spec, step),
        finish=functools.partial(
            _some_ground,
            f"{study.config.where(('layers', spec.ground))}: "
            f"{study.layer_spec(spec.ground).source.name}: no ground elevation under any "
            "candidate (nodata, or a raster of another region); check its extent and CRS",
        ),
    )


def _label(spec: VisibilitySpec, height_ft: float) -> str:
    who = "Vehicles" if spec.count == "vehicles" else "People"
    if spec.time_in_view:
        return f"{who}-seconds of view per day of a {height_ft:g} ft building"
    return f"{who} a day that see a {height_ft:g} ft building (within {spec.max_km:g} km)"


def _record(
    spec: VisibilitySpec,
    height_ft: float,
    terrain: Terrain,
    samples: RoadSamples,
    kernel_samples: Samples,
    usable: np.ndarray,
    targets: Targets,
    volumes: dict[str, Any],
) -> dict[str, Any]:
    rows, cols = terrain.shape
    return {
        "ground": spec.ground,
        "building_height_ft": height_ft,
        "building_height_source": "entry" if spec.building_height_ft is not None else "airspace",
        "eye_height_m": spec.eye_height_m,
        "max_km": spec.max_km,
        "grid": {"rows": rows, "cols": cols, "cell_m": [terrain.dx, terrain.dy]},
        "roads": list(dict.fromkeys(spec.roads)),
        "road_samples": len(samples),
        "road_samples_without_ground": int((~usable).sum()),
        "kernel_samples": len(kernel_samples),
        "road_km": round(float(samples.length_m.sum()) / 1000.0, 2),
        "target_cells": len(targets.row),
        "map_lattice_cells": int(targets.lattice.sum()),
        "volumes": volumes,
        "assumption": (
            "volumes from counts where joined, else per-class defaults "
            f"({volumes.get('defaults_source', '')})"
        ),
    }
