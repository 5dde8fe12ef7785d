"""``airspace``: how tall may we build here? Margin under FAA Part 77 / UFC surfaces.

Config (under ``constraints:`` with ``min_margin_ft``, or ``criteria:``)::

    airspace:
      kind: airspace
      layer: runways              # OurAirports runways.csv or an equivalent line layer
      airports: airports          # optional: OurAirports airports (type, name, elevation_ft)
      ground: dem                 # optional raster layer of ground elevation...
      ground_units: m             # ...in m, ft, us-ft (default: the layer's units:, else m)
      building_height_ft: 160
      helipad_allowance_ft: 20    # rooftop helipad, antennas
      overrides: {KNKX: {kind: military}, "KSAN 27": {category: precision}}
      airports_filter: {exclude: [CL35], types: [large_airport, medium_airport, small_airport]}
      exclude_aicuz: true
      min_margin_ft: 0

Raw value: the **margin in feet** = allowable structure height minus the
planned height (``building_height_ft + helipad_allowance_ft``), at the parcel's
worst point. The allowable height at a point is the lowest imaginary surface
above it (ft MSL, :mod:`siteselect.airspace.heights`) minus the ground
elevation there (from ``ground``, else the elevation of that surface's
airport). The parcel's worst point is found exactly from its critical points
(vertices, crossings with the surfaces' break lines, feet of perpendiculars:
:mod:`siteselect.airspace.critical`), after one vectorised test skips the
parcels no surface can reach (:mod:`siteselect.airspace.reach`); the outline
is also sampled every ``sample_spacing_m`` with a ground raster and where
airports of different elevations meet (:mod:`siteselect.airspace.worst`,
``docs/airspace.md``). Where no surface lies above a parcel there is no Part
77 limit and the margin is reported as ``margin_cap_ft`` (1,000 ft by
default) so that it stays a finite number.

As a constraint: the parcel is excluded when the margin is below
``min_margin_ft`` (``penetrates KSAN RWY 27 approach surface by 85 ft``) and,
with ``exclude_aicuz`` (default), when it touches an AICUZ clear zone, APZ I or
APZ II of a military runway (``inside KNKX RWY 24R APZ I``), whatever its margin.

Extra columns: ``allowable_height_ft``/``_m`` (AGL; NaN where no surface),
``controlling_surface``, ``ground_elevation_ft``, ``ground_source``,
``aicuz_zone``, ``faa_notice_required`` (14 CFR 77.9).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Annotated, ClassVar, Literal

import geopandas as gpd
import numpy as np
import shapely
from pydantic import AfterValidator, Field, model_validator

from siteselect._errors import ConfigError, CriterionError
from siteselect.airspace.model import AirspaceModel, build_model
from siteselect.airspace.polygons import surface_polygons, zone_polygons
from siteselect.airspace.runways import Override, select_runways
from siteselect.airspace.sampling import sample_raster
from siteselect.airspace.selection import AirportChoice, AirportsFilter, selection_record
from siteselect.airspace.worst import GroundFn, flat_ground, parcel_worst
from siteselect.criteria.base import KindSpec, Measurement, register
from siteselect.criteria.overlay import Overlay
from siteselect.geo import M_PER_FT
from siteselect.study.rasters import check_plausible, ground_unit, unit_record
from siteselect.units import ELEVATION, validate_unit

if TYPE_CHECKING:
    from siteselect.study import Study

logger = logging.getLogger(__name__)

_MAP_MARGIN_M = 2_000.0


class AirspaceSpec(KindSpec):
    """Margin (ft) between the allowable structure height and the planned building."""

    kind: Literal["airspace"]
    layer: str = Field(description="Runway layer (OurAirports runways columns), under 'layers:'.")
    airports: str | None = Field(
        default=None, description="Optional airports layer (ident, type, name, elevation_ft)."
    )
    ground: str | None = Field(
        default=None,
        description="Optional raster layer of ground elevation; default: the airport elevation.",
    )
    ground_units: Annotated[str | None, AfterValidator(validate_unit)] = Field(
        default=None,
        description="Unit of the ground raster (m, ft, us-ft...); default: the layer's "
        "units:, else the unit its file declares, else m.",
    )
    building_height_ft: float = Field(gt=0, description="Planned building height above ground, ft.")
    helipad_allowance_ft: float = Field(
        default=0.0, ge=0, description="Rooftop helipad/antenna allowance added to the height, ft."
    )
    overrides: dict[str, Override] = Field(
        default_factory=dict,
        description='Per airport ("KNKX") or runway end ("KSAN 27"): kind, category, utility...',
    )
    airports_filter: AirportsFilter = Field(
        default_factory=AirportsFilter,
        description="Which airports' surfaces apply: include/exclude idents, types, "
        "exclude_names, exclude_where (default: every airport but type closed).",
    )
    exclude_aicuz: bool = Field(
        default=True, description="Constraint: exclude parcels in AICUZ clear zones and APZs."
    )
    min_margin_ft: float | None = Field(
        default=None, description="Constraint: smallest margin allowed under the surfaces, ft."
    )
    sample_spacing_m: float = Field(
        default=5.0,
        gt=0,
        description="Outline sample spacing, m, where the exact points are not enough: "
        "with a ground raster, and where airports of different elevations meet.",
    )
    margin_cap_ft: float = Field(
        default=1000.0, gt=0, description="Margin reported where no surface limits the height."
    )

    bound_fields: ClassVar[tuple[str, ...]] = ("min_margin_ft",)

    def bounds(self) -> tuple[float | None, float | None]:
        return (self.min_margin_ft, None)

    def layer_names(self) -> list[str]:
        return [name for name in (self.layer, self.airports, self.ground) if name is not None]

    @model_validator(mode="after")
    def _filter_needs_airports(self) -> AirspaceSpec:
        if self.airports is None and self.airports_filter.needs_airports_layer:
            raise ValueError(
                "airports_filter: types, exclude_names and exclude_where read the airports "
                "layer; add 'airports: <layer>' (OurAirports airports.csv or FAA airports)"
            )
        return self


def airspace_model(spec: AirspaceSpec, study: Study) -> AirspaceModel:
    """The surfaces of the configured runways (working CRS).

    Records which airports' surfaces apply, and why the others do not, in
    ``study.diagnostics["airports"]`` (a list: one entry per distinct selection).
    """
    runways = study.vector(spec.layer)
    airports = study.vector(spec.airports) if spec.airports else None
    try:
        selection = select_runways(
            runways, airports, spec.overrides, f"layers.{spec.layer}", spec.airports_filter
        )
    except ConfigError as exc:
        raise CriterionError(str(exc)) from None
    record = selection_record(selection.choices, spec.layer, spec.airports, spec.airports_filter)
    recorded = study.diagnostics.setdefault("airports", [])
    if record not in recorded:
        recorded.append(record)
        _log_selection(selection.choices)
    if not selection.runways:
        raise CriterionError(
            f"layers.{spec.layer}: no open runway with an elevation to model "
            f"({len(selection.choices)} airport(s), all left out: see airports_filter)"
        )
    return build_model(selection.airports, selection.runways)


def _log_selection(choices: list[AirportChoice]) -> None:
    applied = [c for c in choices if c.applied]
    left_out = [c for c in choices if not c.applied]
    logger.info(
        "airspace: surfaces of %d airport(s) applied: %s",
        len(applied),
        ", ".join(c.describe() for c in applied),
    )
    if left_out:
        logger.info(
            "airspace: %d airport(s) left out: %s",
            len(left_out),
            "; ".join(f"{c.describe()}: {c.reason}" for c in left_out),
        )


def _ground_function(spec: AirspaceSpec, study: Study) -> GroundFn:
    """Ground elevation (ft MSL) per point, and whether it came from the ground raster.

    Without ``ground``: the elevation of the controlling surface's airport. With
    it: the raster cell under the point, or that airport elevation where the
    point is outside the raster or on nodata (logged).
    """
    if spec.ground is None:
        return flat_ground
    layer = study.layer_spec(spec.ground)
    if not layer.is_raster:
        raise CriterionError(f"ground: layer {spec.ground!r} is not a raster (GeoTIFF...)")
    band, to_m, unit = ground_unit(spec.ground_units, layer, spec.ground, study.config)

    def ground_of(
        x: np.ndarray, y: np.ndarray, airport_elev: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        ground_m = sample_raster(layer.source, band, x, y, study.crs) * to_m
        check_plausible(
            ELEVATION,
            ground_m,
            unit,
            study.config.where(("layers", spec.ground, "units")),
            f"{layer.source.name} under the candidates",
        )
        study.diagnostics.setdefault("units", {})[f"layers.{spec.ground}"] = unit_record(
            unit, ground_m, "m", to_m, ELEVATION
        )
        ground = ground_m / M_PER_FT
        missing = np.isnan(ground)
        if missing.any():
            logger.warning(
                "airspace: %d of %d evaluated points lie outside %s or on nodata; "
                "the airport elevation stands in for the ground there",
                int(missing.sum()),
                len(x),
                spec.ground,
            )
        return np.where(missing, airport_elev, ground), ~missing

    return ground_of


def _margin_reasons(code: np.ndarray, names: np.ndarray, margin: np.ndarray) -> np.ndarray:
    """``penetrates <surface> by 85 ft`` / ``clears <surface> by only 12 ft`` per candidate.

    Formatted once per distinct (surface, whole feet, sign), then gathered;
    ``f"{x:,.0f}"`` rounds half to even like :func:`numpy.round`.
    """
    feet = np.round(np.abs(margin))
    negative = margin < 0
    # one integer key per (surface, whole feet, sign); feet below 2**40 ft
    key = (code.astype(np.int64) << 42) | (feet.astype(np.int64) << 1) | negative
    _, first, where = np.unique(key, return_index=True, return_inverse=True)
    texts = [
        f"penetrates {names[code[i]]} by {feet[i]:,.0f} ft"
        if negative[i]
        else f"clears {names[code[i]]} by only {feet[i]:,.0f} ft"
        for i in first
    ]
    return np.asarray(texts, dtype=object)[where.ravel()]


def _aicuz_reasons(model: AirspaceModel, study: Study) -> np.ndarray:
    """``inside KNKX RWY 24R APZ I`` for candidates touching a zone, else "".

    Only the most severe kind of zone touched is named (clear zone, then APZ I,
    then APZ II), every runway end's zone of that kind (parallel runways overlap).
    """
    reasons = np.full(len(study.candidates), "", dtype=object)
    if not model.zones:
        return reasons
    zones = zone_polygons(model, study.crs)
    severity = np.array([z.severity for z in model.zones])
    labels = zones["feature_name"].to_numpy()
    cand, zone = zones.sindex.query(study.candidates.geometry.to_numpy(), predicate="intersects")
    if cand.size == 0:  # no candidate touches a zone (reduceat needs at least one)
        return reasons
    order = np.lexsort((zone, cand))
    cand, zone = cand[order], zone[order]
    starts = np.flatnonzero(np.r_[True, cand[1:] != cand[:-1]])
    worst = np.repeat(
        np.maximum.reduceat(severity[zone], starts), np.diff(np.r_[starts, cand.size])
    )
    keep = severity[zone] == worst
    cand, zone = cand[keep], zone[keep]
    starts = np.flatnonzero(np.r_[True, cand[1:] != cand[:-1]])
    for first, zones_of in zip(starts, np.split(zone, starts[1:]), strict=True):
        reasons[cand[first]] = "inside " + ", ".join(sorted(str(x) for x in labels[zones_of]))
    return reasons


def _zone_names(reasons: np.ndarray) -> np.ndarray:
    """``KNKX RWY 24R APZ I`` from ``inside KNKX RWY 24R APZ I`` ("" stays "")."""
    names = np.full(len(reasons), "", dtype=object)
    inside = np.flatnonzero(reasons != "")
    names[inside] = [str(r).removeprefix("inside ") for r in reasons[inside]]
    return names


def _overlays(model: AirspaceModel, study: Study) -> list[Overlay]:
    xmin, ymin, xmax, ymax = study.candidates.total_bounds
    view = shapely.box(xmin, ymin, xmax, ymax).buffer(_MAP_MARGIN_M)

    def near(frame: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
        return frame[frame.intersects(view)].reset_index(drop=True)

    groups = surface_polygons(model, study.crs)
    layers = (
        ("Airspace: approach surfaces", "approach", "#6a51a3", True),
        ("Airspace: primary and transitional surfaces", "primary", "#9e9ac8", False),
        ("Airspace: horizontal and conical surfaces", "horizontal", "#bcbddc", False),
    )
    overlays = [
        Overlay(title, "polygons", near(groups[key]), "feature_name", color=color, show=show)
        for title, key, color, show in layers
    ]
    zones = near(zone_polygons(model, study.crs))
    if len(zones):
        overlays.append(
            Overlay("AICUZ clear zones and APZs", "zones", zones, "feature_name", color="#d7301f")
        )
    return [o for o in overlays if len(o.gdf)]


@register(AirspaceSpec)
def measure(spec: AirspaceSpec, study: Study) -> Measurement:
    """Margin (ft) under the lowest surface at each parcel's worst point, with reasons."""
    model = airspace_model(spec, study)
    planned = spec.building_height_ft + spec.helipad_allowance_ft
    worst = parcel_worst(
        model,
        study.candidates.geometry.to_numpy(),
        _ground_function(spec, study),
        planned,
        spec.sample_spacing_m,
        ground_raster=spec.ground is not None,
    )
    margin = np.minimum(worst.margin_ft, spec.margin_cap_ft)
    names = np.asarray([*model.names, ""], dtype=object)
    code = np.where(worst.code >= 0, worst.code, len(model.names))
    surface = names[code]
    allowable = worst.allowable_ft
    finite = np.isfinite(allowable)
    aicuz = _aicuz_reasons(model, study)
    logger.info(
        "airspace: %d of %d candidates under a surface, %d in AICUZ zones",
        int(finite.sum()),
        len(margin),
        int((aicuz != "").sum()),
    )
    return Measurement(
        values=margin,
        unit="ft",
        label=spec.label or f"Margin under the airspace surfaces for {planned:g} ft",
        feature=np.where(surface == "", "no surface", surface).astype(object),
        extra_columns={
            "allowable_height_ft": np.where(finite, np.round(allowable, 1), np.nan),
            "allowable_height_m": np.where(finite, np.round(allowable * M_PER_FT, 2), np.nan),
            "controlling_surface": np.where(surface == "", "none", surface).astype(object),
            "ground_elevation_ft": np.round(worst.ground_ft, 1),
            "ground_source": np.where(
                worst.from_raster, spec.ground or "", "airport elevation"
            ).astype(object),
            "aicuz_zone": _zone_names(aicuz),
            "faa_notice_required": worst.notice,
        },
        missing_reason="no airspace value",
        phrase_low="margin under {feature} is {value}",
        reasons=_margin_reasons(code, names, margin),
        exclusions=aicuz if spec.exclude_aicuz else None,
        overlays=_overlays(model, study),
    )
