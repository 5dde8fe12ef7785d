"""``competition``: how existing hospitals limit what a new site would attract.

* ``model: nearest``: minutes from the candidate to the nearest competitor
  (the owner's own facilities are not competitors), and its name;
* ``model: huff``: the candidate's expected patients under the Huff model,
  sum over demand points of target population x P(point chooses the
  candidate), P = A_c^a t^-b / (A_c^a t^-b + sum over existing facilities of
  A_j^a t^-b), with A = beds (``candidate_beds`` for the candidate), t clipped
  below at ``min_travel_minutes``, and only facilities within ``max_minutes``
  of a point in its choice set. The owner's facilities count as facilities;
  the patients the candidate takes from them are reported in the
  ``cannibalised`` column (and subtracted when ``net_of_cannibalisation``).

Each demand point's denominator over the existing facilities is computed once
from the small demand x facility matrix; the candidates' shares are reduced
over the streamed (demand point, candidate) pairs (:mod:`siteselect.criteria.market`)
of the demand searches the run shares with the other criteria routing from
the same demand points (:mod:`siteselect.network.demand_searches`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

from siteselect._errors import CriterionError
from siteselect.criteria.accessibility import (
    STRAIGHT_LINE_FIELDS,
    facilities_overlay,
    network_columns,
)
from siteselect.criteria.base import KindSpec, Measurement, register
from siteselect.criteria.market import huff_denominators, huff_reducer
from siteselect.network.demand_searches import searches_of
from siteselect.network.placement import (
    candidate_reasons,
    place_candidates,
    place_demand,
    place_facilities,
)
from siteselect.network.traveltime import Located, Travel, TravelMode, make_travel
from siteselect.study.demand import Spread, demand_points, zone_population
from siteselect.study.facilities import Facilities, FacilitiesSpec, load_facilities

if TYPE_CHECKING:
    from siteselect.network.demand_searches import SearchRequest
    from siteselect.study import Study

logger = logging.getLogger(__name__)


class DemandSpec(BaseModel):
    """Where the patients are: zones and a target-population expression."""

    model_config = ConfigDict(extra="forbid")

    layer: str = Field(description="Zones with population columns (census tracts).")
    population: str = Field(description="Arithmetic over columns (see accessibility).")
    spread: Spread = Field(default="points", description="points or area (see accessibility).")
    cell_m: float = Field(default=1000.0, gt=0, description="spread: area grid spacing.")


class CompetitionSpec(KindSpec, FacilitiesSpec):
    """Nearest competitor (minutes) or Huff expected patients.

    The facility fields (``layer``, ``where``, ``exclude``, ``beds_column``,
    ``type_column``, ``min_beds``, ``owner``) come from :class:`FacilitiesSpec`.
    """

    kind: Literal["competition"]
    model: Literal["nearest", "huff"] = "huff"
    demand: DemandSpec | None = Field(default=None, description="huff: the patients.")
    alpha: float = Field(default=1.0, gt=0, description="huff: exponent a of the beds.")
    beta: float = Field(default=2.0, gt=0, description="huff: exponent b of the travel time.")
    candidate_beds: float = Field(default=400.0, gt=0, description="huff: beds of the new site.")
    min_travel_minutes: float = Field(
        default=1.0, gt=0, description="huff: travel times below this count as this (t -> 0)."
    )
    max_minutes: float = Field(
        default=60.0, gt=0, description="huff: facilities farther from a point are not chosen."
    )
    net_of_cannibalisation: bool = Field(
        default=False, description="huff: score expected patients minus the owner's loss."
    )
    travel: TravelMode | None = Field(
        default=None, description="network or straight_line (see accessibility)."
    )
    speed_kmh: float = Field(default=40.0, gt=0, description="Straight-line travel speed.")
    circuity: float = Field(default=1.0, ge=1, description="Straight-line circuity.")
    unit: str = Field(default="people", description="huff: what the population counts.")
    min: float | None = Field(default=None, description="Constraint: lower bound (raw unit).")
    max: float | None = Field(default=None, description="Constraint: upper bound (raw unit).")

    bound_fields: ClassVar[tuple[str, ...]] = ("min", "max")

    def bounds(self) -> tuple[float | None, float | None]:
        return (self.min, self.max)

    @model_validator(mode="after")
    def _check_model(self) -> CompetitionSpec:
        if self.model == "huff" and self.demand is None:
            raise ValueError("model huff needs 'demand: {layer: ..., population: ...}'")
        if self.travel == "network" and self.model_fields_set & STRAIGHT_LINE_FIELDS:
            raise ValueError("speed_kmh and circuity apply to travel: straight_line only")
        return self

    def layer_names(self) -> list[str]:
        return [self.layer] + ([self.demand.layer] if self.demand else [])

    def facilities(self) -> FacilitiesSpec:
        """The facility settings of this entry."""
        fields = set(FacilitiesSpec.model_fields)
        # only the fields the config set, so that defaults stay recognisable as defaults
        return FacilitiesSpec(**self.model_dump(include=fields & self.model_fields_set))

    def uses_network(self) -> bool:
        return self.travel == "network"


def _travel(spec: CompetitionSpec, study: Study, what: str) -> Travel:
    straight_set = bool(spec.model_fields_set & STRAIGHT_LINE_FIELDS)
    return make_travel(study, spec.travel, spec.speed_kmh, spec.circuity, straight_set, what)


def _nearest(
    spec: CompetitionSpec, facilities: Facilities, travel: Travel, study: Study, what: str
) -> Measurement:
    rivals = facilities.take(~facilities.owner)
    if len(rivals) == 0:
        raise CriterionError("every facility belongs to the owner: no competitor left")
    rivals, targets = place_facilities(travel, study, rivals, spec.layer, what)
    sites = place_candidates(travel, study, "depart", what)
    minutes, index = travel.nearest(sites, targets)
    names = rivals.frame["feature_name"].to_numpy()
    nearest = np.where(index >= 0, names[np.maximum(index, 0)], "").astype(object)
    reasons = candidate_reasons(sites)
    if reasons is not None:
        no_route = np.isnan(minutes) & (reasons == "")
        reasons[no_route] = "no road route to any competitor"
    return Measurement(
        values=minutes,
        unit="min",
        label=spec.label or "Travel time to the nearest competitor",
        feature=nearest,
        extra_columns=network_columns(sites),
        missing_reason="no road route to a competitor, or far from any road",
        missing_reasons=reasons,
        phrase_low="{value} from {feature}",
        phrase_high="{value} from the nearest competitor, {feature}",
    )


@dataclass(frozen=True)
class _Huff:
    """A Huff entry ready for its shared demand searches."""

    facilities: Facilities
    sites: Located
    request: SearchRequest


def _prepare_huff(spec: CompetitionSpec, study: Study) -> _Huff:
    """Demand points, facilities and candidates placed, denominators found, reduction requested."""
    assert spec.demand is not None
    what = "competition (huff)"
    loaded = load_facilities(spec.facilities(), study, what)
    travel = _travel(spec, study, what)
    zones = study.vector(spec.demand.layer)
    population = zone_population(zones, spec.demand.population, f"layers.{spec.demand.layer}")
    demand = demand_points(zones, population, spec.demand.spread, spec.demand.cell_m)
    demand, origins = place_demand(
        travel, study, demand, zones["feature_name"].to_numpy(), spec.demand.layer, spec.unit, what
    )
    facilities, located = place_facilities(travel, study, loaded, spec.layer, what)
    sites = place_candidates(travel, study, "arrive", what)
    minutes = travel.matrix(origins, located, spec.max_minutes)
    denominator, owner_part = huff_denominators(
        minutes, facilities.beds, facilities.owner, spec.alpha, spec.beta, spec.min_travel_minutes
    )
    logger.info(
        "%s: %d facilities (%d owner's), %d demand points, %.0f %s; "
        "%d point(s) with no facility within %g min",
        what,
        len(facilities),
        int(facilities.owner.sum()),
        len(demand),
        demand.population.sum(),
        spec.unit,
        int((denominator == 0).sum()),
        spec.max_minutes,
    )
    reducer = huff_reducer(
        demand.population,
        denominator,
        owner_part,
        spec.candidate_beds**spec.alpha,
        spec.beta,
        spec.min_travel_minutes,
        len(sites),
    )
    request = searches_of(study).request(travel, origins, sites, spec.max_minutes, reducer, what)
    return _Huff(loaded, sites, request)


def _huff(spec: CompetitionSpec, huff: _Huff) -> Measurement:
    capture, cannibalised = huff.request.values()
    values = capture - cannibalised if spec.net_of_cannibalisation else capture
    values[huff.sites.far] = np.nan
    label = spec.label or (
        "Expected patients net of cannibalisation (Huff)"
        if spec.net_of_cannibalisation
        else "Expected patients captured (Huff)"
    )
    return Measurement(
        values=values,
        unit=spec.unit,
        label=label,
        extra_columns={
            "captured": np.round(capture, 1),
            "cannibalised": np.round(cannibalised, 1),
            **network_columns(huff.sites),
        },
        missing_reason="farther than network.max_snap_m from a connected road",
        missing_reasons=candidate_reasons(huff.sites),
    )


def plan(spec: CompetitionSpec, study: Study) -> None:
    """Register a Huff entry's demand searches, shared with the other criteria's."""
    if spec.model == "huff":
        searches_of(study).plan(spec, _prepare_huff, study)


@register(CompetitionSpec, plan=plan)
def measure(spec: CompetitionSpec, study: Study) -> Measurement:
    """Nearest-competitor minutes or Huff expected patients for every candidate."""
    if spec.model == "nearest":
        what = "competition (nearest)"
        facilities = load_facilities(spec.facilities(), study, what)
        measurement = _nearest(spec, facilities, _travel(spec, study, what), study, what)
    else:
        huff = searches_of(study).planned(spec, _prepare_huff, study)
        facilities = huff.facilities
        measurement = _huff(spec, huff)
    measurement.overlays = [facilities_overlay(f"Competitors ({spec.layer})", facilities)]
    return measurement
