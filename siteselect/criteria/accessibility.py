"""``accessibility``: target population within reach of each candidate.

Each zone (census tract) contributes its target population, evaluated from a
safe arithmetic expression over its columns, at an interior point. Travel time
here is straight-line distance at ``speed_kmh`` (times ``circuity``);
network travel times are a later extension.

* ``gravity``: sum of population x decay(minutes);
* ``catchment``: population within ``max_minutes``.
"""

from __future__ import annotations

import logging
import math
from typing import TYPE_CHECKING, ClassVar, Literal

import numpy as np
import shapely
from pydantic import BaseModel, ConfigDict, Field

from siteselect._errors import CriterionError
from siteselect.criteria.base import KindSpec, Measurement, register
from siteselect.expressions import ExpressionError, evaluate
from siteselect.results import Overlay

if TYPE_CHECKING:
    from siteselect.study import Study

logger = logging.getLogger(__name__)

CHUNK_CELLS = 20_000_000


class DecaySpec(BaseModel):
    """Distance decay f(t) for t in minutes; f(0) = 1.

    ``gaussian``: exp(-ln2 (t/half_min)^2); ``exponential``: exp(-ln2 t/half_min);
    ``power``: min(1, (t/min_minutes)^-beta); ``step``: 1 if t <= minutes else 0.
    """

    model_config = ConfigDict(extra="forbid")

    fn: Literal["gaussian", "exponential", "power", "step"] = "gaussian"
    half_min: float | None = Field(default=None, gt=0, description="Minutes at which f = 0.5.")
    beta: float | None = Field(default=None, gt=0, description="Power decay exponent.")
    min_minutes: float = Field(default=1.0, gt=0, description="Power decay: f = 1 below this.")
    minutes: float | None = Field(default=None, gt=0, description="Step decay threshold.")

    def weights(self, minutes: np.ndarray) -> np.ndarray:
        """f(t) for an array of minutes."""
        if self.fn == "gaussian":
            return np.exp(-math.log(2) * (minutes / self._need("half_min")) ** 2)
        if self.fn == "exponential":
            return np.exp(-math.log(2) * minutes / self._need("half_min"))
        if self.fn == "power":
            beta = self._need("beta")
            return np.minimum(1.0, (np.maximum(minutes, 1e-9) / self.min_minutes) ** -beta)
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
    method: Literal["gravity", "catchment"] = "gravity"
    decay: DecaySpec = Field(default_factory=DecaySpec)
    max_minutes: float = Field(default=60.0, gt=0, description="Ignore zones farther than this.")
    speed_kmh: float = Field(default=40.0, gt=0, description="Straight-line travel speed.")
    circuity: float = Field(
        default=1.0, ge=1, description="Road distance / straight-line distance."
    )
    unit: str = Field(default="people", description="What the population expression counts.")
    min: float | None = Field(default=None, ge=0, description="Constraint: minimum people.")

    bound_fields: ClassVar[tuple[str, ...]] = ("min",)

    def bounds(self) -> tuple[float | None, float | None]:
        return (self.min, None)


def population_points(
    spec: AccessibilitySpec, study: Study
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(x, y, population) of each zone's interior point."""
    zones = study.vector(spec.layer)
    try:
        population = evaluate(spec.population, zones)
    except ExpressionError as exc:
        raise CriterionError(f"layers.{spec.layer}: population: {exc}") from None
    bad = ~np.isfinite(population)
    if bad.any():
        logger.warning(
            "%s: population is missing for %d zone(s); counted as 0", spec.layer, int(bad.sum())
        )
        population = np.where(bad, 0.0, population)
    points = shapely.point_on_surface(zones.geometry.to_numpy())
    return shapely.get_x(points), shapely.get_y(points), population


def reachable_population(
    cand_x: np.ndarray,
    cand_y: np.ndarray,
    zone_x: np.ndarray,
    zone_y: np.ndarray,
    population: np.ndarray,
    minutes_per_m: float,
    weight_fn,
    max_minutes: float,
) -> np.ndarray:
    """Sum over zones of population x weight_fn(minutes), chunked over candidates."""
    total = np.zeros(len(cand_x))
    chunk = max(1, CHUNK_CELLS // max(len(zone_x), 1))
    for start in range(0, len(cand_x), chunk):
        stop = start + chunk
        dx = cand_x[start:stop, None] - zone_x[None, :]
        dy = cand_y[start:stop, None] - zone_y[None, :]
        minutes = np.hypot(dx, dy) * minutes_per_m
        weight = np.where(minutes <= max_minutes, weight_fn(minutes), 0.0)
        total[start:stop] = weight @ population
    return total


@register(AccessibilitySpec)
def measure(spec: AccessibilitySpec, study: Study) -> Measurement:
    """Decay-weighted (gravity) or thresholded (catchment) target population."""
    zone_x, zone_y, population = population_points(spec, study)
    cand_x, cand_y = study.representative_xy()
    minutes_per_m = spec.circuity / (spec.speed_kmh / 3.6) / 60.0
    if spec.method == "catchment":

        def weight_fn(minutes: np.ndarray) -> np.ndarray:
            return np.ones_like(minutes)
    else:
        weight_fn = spec.decay.weights
    logger.info(
        "%s: straight-line travel at %g km/h (circuity %g), %s",
        spec.layer,
        spec.speed_kmh,
        spec.circuity,
        spec.method,
    )
    values = reachable_population(
        cand_x, cand_y, zone_x, zone_y, population, minutes_per_m, weight_fn, spec.max_minutes
    )
    zones = study.vector(spec.layer)
    overlay = Overlay(
        name=spec.label or "Target population",
        kind="polygons",
        gdf=zones[["feature_name", "geometry"]].assign(target_population=np.round(population)),
        label_column="feature_name",
        size_column="target_population",
        color="#238b45",
        show=False,
    )
    label = (
        "Target population reached"
        if spec.method == "gravity"
        else (f"Target population within {spec.max_minutes:g} min")
    )
    return Measurement(values=values, unit=spec.unit, label=spec.label or label, overlays=[overlay])
