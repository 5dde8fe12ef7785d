"""``accessibility``: target population within reach of each candidate.

Each zone (census tract) contributes its target population, evaluated from a
safe arithmetic expression over its columns, at an interior point or spread
over its area (:mod:`siteselect.study.demand`). Travel is over the road network or
straight-line (:mod:`siteselect.network.traveltime`; the log says which). Methods
(formulas in :mod:`siteselect.criteria.market` and docs/demographics.md):

* ``gravity``: sum of population x decay(minutes);
* ``catchment``: population within ``max_minutes``;
* ``e2sfca``: enhanced two-step floating catchment with the existing
  facilities' beds as supply: the unmet demand a new site would serve.

Pairs farther apart than ``max_minutes`` never count, whatever the decay.
The drive-time pairs come from the demand searches the run shares with the
other criteria routing from the same demand points
(:mod:`siteselect.network.demand_searches`).
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

from siteselect._errors import CriterionError
from siteselect.criteria.base import KindSpec, Measurement, register
from siteselect.criteria.market import Decay, e2sfca_unmet, gravity_reducer
from siteselect.criteria.overlay import Overlay
from siteselect.network.demand_searches import searches_of
from siteselect.network.placement import (
    candidate_reasons,
    place_candidates,
    place_demand,
    place_facilities,
)
from siteselect.network.traveltime import Located, Travel, TravelMode, make_travel
from siteselect.study.demand import DemandPoints, Spread, demand_points, zone_population
from siteselect.study.facilities import Facilities, FacilitiesSpec, load_facilities

if TYPE_CHECKING:
    import geopandas as gpd

    from siteselect.network.demand_searches import SearchRequest
    from siteselect.study import Study

logger = logging.getLogger(__name__)

STRAIGHT_LINE_FIELDS = frozenset({"speed_kmh", "circuity"})


class DecaySpec(BaseModel):
    """Distance decay f(t) for t in minutes; f(0) = 1.

    ``gaussian``: exp(-ln2 (t/half_min)^2); ``exponential``: exp(-ln2 t/half_min);
    ``power``: min(1, (t/min_minutes)^-beta); ``step``: 1 if t <= minutes else 0;
    ``zones``: weights[k] in the k-th travel-time zone (t <= breaks[k]), 0 beyond
    the last (the E2SFCA zones, e.g. breaks [10, 20, 30], weights [1, 0.68, 0.22]).
    """

    model_config = ConfigDict(extra="forbid")

    fn: Literal["gaussian", "exponential", "power", "step", "zones"] = "gaussian"
    half_min: float | None = Field(default=None, gt=0, description="Minutes at which f = 0.5.")
    beta: float | None = Field(default=None, gt=0, description="Power decay exponent.")
    min_minutes: float = Field(default=1.0, gt=0, description="Power decay: f = 1 below this.")
    minutes: float | None = Field(default=None, gt=0, description="Step decay threshold.")
    breaks: list[float] | None = Field(
        default=None, description="Zones decay: upper bound (minutes) of each zone, increasing."
    )
    weights: list[float] | None = Field(
        default=None, description="Zones decay: weight of each zone, in [0, 1]."
    )

    @model_validator(mode="after")
    def _check_zones(self) -> DecaySpec:
        if self.fn != "zones":
            return self
        if not self.breaks or self.weights is None or len(self.breaks) != len(self.weights):
            raise ValueError("decay fn 'zones' needs 'breaks' and 'weights' of the same length")
        if any(b <= a for a, b in zip(self.breaks, self.breaks[1:], strict=False)):
            raise ValueError("decay 'breaks' must increase")
        if any(not 0 <= w <= 1 for w in self.weights):
            raise ValueError("decay 'weights' must lie in [0, 1]")
        return self

    def weights_at(self, minutes: np.ndarray) -> np.ndarray:
        """f(t) for an array of minutes."""
        minutes = np.asarray(minutes, dtype="float64")
        if self.fn == "gaussian":
            return np.exp(-math.log(2) * (minutes / self._need("half_min")) ** 2)
        if self.fn == "exponential":
            return np.exp(-math.log(2) * minutes / self._need("half_min"))
        if self.fn == "power":
            beta = self._need("beta")
            return np.minimum(1.0, (np.maximum(minutes, 1e-9) / self.min_minutes) ** -beta)
        if self.fn == "zones":
            assert self.breaks is not None and self.weights is not None
            zone = np.searchsorted(np.asarray(self.breaks), minutes, side="left")
            return np.append(np.asarray(self.weights, dtype="float64"), 0.0)[zone]
        return (minutes <= self._need("minutes")).astype("float64")

    def _need(self, field: str) -> float:
        value = getattr(self, field)
        if value is None:
            raise CriterionError(f"decay fn {self.fn!r} needs '{field}'")
        return float(value)


class AccessibilitySpec(KindSpec):
    """Target population reachable from the candidate (people, decay-weighted)."""

    kind: Literal["accessibility"]
    layer: str = Field(description="Zones with population columns (census tracts).")
    population: str = Field(
        description="Arithmetic over columns, e.g. 'hh_income_100K_149K * 2.6'."
    )
    method: Literal["gravity", "catchment", "e2sfca"] = "gravity"
    decay: DecaySpec = Field(default_factory=DecaySpec)
    max_minutes: float = Field(default=60.0, gt=0, description="Ignore zones farther than this.")
    travel: TravelMode | None = Field(
        default=None,
        description="network or straight_line; default network when the config has a "
        "network and speed_kmh/circuity are not set.",
    )
    speed_kmh: float = Field(default=40.0, gt=0, description="Straight-line travel speed.")
    circuity: float = Field(
        default=1.0, ge=1, description="Road distance / straight-line distance."
    )
    spread: Spread = Field(
        default="points", description="points: one interior point per zone; area: a grid."
    )
    cell_m: float = Field(default=1000.0, gt=0, description="spread: area grid spacing.")
    competitors: FacilitiesSpec | None = Field(
        default=None, description="e2sfca: the existing facilities (supply = beds)."
    )
    target_beds_per_1000: float = Field(
        default=2.4, gt=0, description="e2sfca: beds per 1000 people that count as served."
    )
    unit: str = Field(default="people", description="What the population expression counts.")
    min: float | None = Field(default=None, ge=0, description="Constraint: minimum people.")

    bound_fields: ClassVar[tuple[str, ...]] = ("min",)

    def bounds(self) -> tuple[float | None, float | None]:
        return (self.min, None)

    @model_validator(mode="after")
    def _check_method(self) -> AccessibilitySpec:
        if self.method == "e2sfca" and self.competitors is None:
            raise ValueError("method e2sfca needs 'competitors: {layer: ...}' (the supply)")
        if self.travel == "network" and self.model_fields_set & STRAIGHT_LINE_FIELDS:
            raise ValueError("speed_kmh and circuity apply to travel: straight_line only")
        return self

    def layer_names(self) -> list[str]:
        return [self.layer] + ([self.competitors.layer] if self.competitors else [])

    def uses_network(self) -> bool:
        return self.travel == "network"

    def decay_fn(self) -> Decay:
        """The weight function of the method (catchment: 1 within the cut-off)."""
        if self.method == "catchment":
            return np.ones_like
        return self.decay.weights_at


def spec_travel(spec: AccessibilitySpec, study: Study, what: str) -> Travel:
    """The travel model an accessibility entry asks for."""
    return make_travel(
        study,
        spec.travel,
        spec.speed_kmh,
        spec.circuity,
        bool(spec.model_fields_set & STRAIGHT_LINE_FIELDS),
        what,
    )


def network_columns(sites: Located) -> dict[str, np.ndarray]:
    """snap_m / off_network output columns for network travel (none for straight-line)."""
    if sites.node is None:
        return {}
    return {"snap_m": np.round(sites.snap_m, 1), "off_network": sites.far}


def zones_overlay(
    name: str, zones: gpd.GeoDataFrame, demand: DemandPoints, unmet: np.ndarray | None
) -> Overlay:
    """The zones with their target population (and unmet demand) for the map."""
    n = len(zones)
    columns = {"target_population": np.round(np.bincount(demand.zone, demand.population, n))}
    if unmet is not None:
        columns["unmet_demand"] = np.round(np.bincount(demand.zone, unmet, n))
    return Overlay(
        name=name,
        kind="polygons",
        gdf=zones[["feature_name", "geometry"]].assign(**columns),
        label_column="feature_name",
        size_column="target_population",
        color="#238b45",
        show=False,
    )


def facilities_overlay(name: str, facilities: Facilities) -> Overlay:
    """The facilities with beds (imputed or not) and owner flag for the map."""
    frame = facilities.frame[["feature_name", "beds", "imputed_beds", "owner", "geometry"]]
    return Overlay(
        name=name,
        kind="points",
        gdf=frame,
        label_column="feature_name",
        size_column="beds",
        color="#7b3294",
    )


def _label(spec: AccessibilitySpec) -> str:
    if spec.label:
        return spec.label
    return {
        "gravity": "Target population reached",
        "catchment": f"Target population within {spec.max_minutes:g} min",
        "e2sfca": "Unmet demand within reach (E2SFCA)",
    }[spec.method]


@dataclass(frozen=True)
class _Prepared:
    """An accessibility entry ready for its shared demand searches."""

    zones: gpd.GeoDataFrame
    demand: DemandPoints
    sites: Located
    unmet: np.ndarray | None
    overlays: list[Overlay]
    request: SearchRequest


def _prepare(spec: AccessibilitySpec, study: Study) -> _Prepared:
    """Demand points, candidates and weights placed; the reduction requested."""
    what = f"accessibility ({spec.layer}, {spec.method})"
    zones = study.vector(spec.layer)
    population = zone_population(zones, spec.population, f"layers.{spec.layer}")
    demand = demand_points(zones, population, spec.spread, spec.cell_m)
    travel = spec_travel(spec, study, what)
    demand, origins = place_demand(
        travel, study, demand, zones["feature_name"].to_numpy(), spec.layer, spec.unit, what
    )
    sites = place_candidates(travel, study, "arrive", what)
    decay = spec.decay_fn()
    weight = demand.population
    unmet = None
    overlays: list[Overlay] = []
    if spec.method == "e2sfca":
        assert spec.competitors is not None
        facilities = load_facilities(spec.competitors, study, what)
        facilities, located = place_facilities(
            travel, study, facilities, spec.competitors.layer, what
        )
        minutes = travel.matrix(origins, located, spec.max_minutes)
        unmet, _, _ = e2sfca_unmet(
            demand.population, minutes, facilities.beds, decay, spec.target_beds_per_1000 / 1000
        )
        logger.info(
            "%s: %d facilities, %.0f beds; unmet demand %.0f of %.0f %s",
            what,
            len(facilities),
            facilities.beds.sum(),
            unmet.sum(),
            demand.population.sum(),
            spec.unit,
        )
        weight = unmet
        overlays.append(facilities_overlay(f"{spec.competitors.layer.capitalize()}", facilities))
    request = searches_of(study).request(
        travel, origins, sites, spec.max_minutes, gravity_reducer(weight, decay, len(sites)), what
    )
    return _Prepared(zones, demand, sites, unmet, overlays, request)


def plan(spec: AccessibilitySpec, study: Study) -> None:
    """Register the entry's demand searches, shared with the other criteria's."""
    searches_of(study).plan(spec, _prepare, study)


@register(AccessibilitySpec, plan=plan)
def measure(spec: AccessibilitySpec, study: Study) -> Measurement:
    """Gravity, catchment or E2SFCA accessibility of every candidate."""
    prepared = searches_of(study).planned(spec, _prepare, study)
    (values,) = prepared.request.values()
    sites = prepared.sites
    values[sites.far] = np.nan
    zones = zones_overlay(
        spec.label or "Target population", prepared.zones, prepared.demand, prepared.unmet
    )
    return Measurement(
        values=values,
        unit=spec.unit,
        label=_label(spec),
        extra_columns=network_columns(sites),
        missing_reason="farther than network.max_snap_m from a connected road",
        missing_reasons=candidate_reasons(sites),
        overlays=[zones, *prepared.overlays],
    )
