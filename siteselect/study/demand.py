"""Demand points: where the target population of each zone (census tract) lives.

A zone's target population comes from a safe arithmetic expression over its
columns (:mod:`siteselect.config.expressions`). It is placed either

* ``spread: points`` (default): all of it at one interior point of the zone
  (``shapely.point_on_surface``, which lies inside even a C-shaped tract,
  unlike the centroid); or
* ``spread: area``: spread evenly over the zone's area. A square grid of
  ``cell_m`` spacing (aligned on the working CRS origin, so reproducible) is
  laid over the study; every grid point inside a zone (or on its edge: the
  first zone takes it) carries an equal share of its population, i.e. each
  point stands for one ``cell_m`` x ``cell_m`` cell and a zone's population
  is split in proportion to area. A zone too
  small to contain a grid point keeps its interior point. Large rural tracts
  then pull demand from across their whole area instead of from one point.

Demand points carry the index of their zone, so per-zone quantities (unmet
demand, Huff denominators) can be spread the same way.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Literal

import geopandas as gpd
import numpy as np
import shapely

from siteselect._errors import CriterionError
from siteselect.config.expressions import DivisionByZeroError, ExpressionError, evaluate

logger = logging.getLogger(__name__)

Spread = Literal["points", "area"]
MAX_GRID_POINTS = 5_000_000
"""Refuse grids larger than this (a too-small ``cell_m`` for the study extent)."""


@dataclass(frozen=True)
class DemandPoints:
    """Target population at points in the working CRS.

    Attributes
    ----------
    x, y : numpy.ndarray
        Coordinates (metres, working CRS).
    population : numpy.ndarray
        Target population carried by each point (float64, >= 0).
    zone : numpy.ndarray of int64
        Row of the zone each point belongs to.
    """

    x: np.ndarray
    y: np.ndarray
    population: np.ndarray
    zone: np.ndarray

    def __len__(self) -> int:
        return len(self.x)

    def take(self, keep: np.ndarray) -> DemandPoints:
        """The points where ``keep`` (a boolean mask) is True (e.g. those on the network)."""
        keep = np.asarray(keep, dtype=bool)
        return DemandPoints(self.x[keep], self.y[keep], self.population[keep], self.zone[keep])


def zone_label(zones: gpd.GeoDataFrame, position: int) -> str:
    """``'06073000100' (row 12)``: the zone's name and its row in the source file.

    The name is the layer's ``feature_name`` (its ``name_column``); the row is
    1-based, from the index :func:`siteselect.study.layers.read_vector` keeps (the
    feature's position in the file).
    """
    label = f"zone #{position + 1}"
    if "feature_name" in zones.columns:
        label = repr(str(zones["feature_name"].iloc[position]))
    index = zones.index[position]
    if isinstance(index, (int, np.integer)):
        label += f" (row {int(index) + 1})"
    return label


def _examples(zones: gpd.GeoDataFrame, rows: np.ndarray, limit: int = 3) -> str:
    text = ", ".join(zone_label(zones, int(i)) for i in rows[:limit])
    return text + (", ..." if len(rows) > limit else "")


def zone_population(zones: gpd.GeoDataFrame, expression: str, what: str) -> np.ndarray:
    """Evaluate the target-population expression for every zone.

    * a missing input (an empty or non-numeric cell) makes that zone's population
      missing: it counts as 0 people, with a warning naming how many zones and
      which (a census table leaves suppressed or empty cells; no people is the
      conservative reading);
    * dividing by 0 is an error naming the zones and the divisor: the expression
      has no meaning there and no number would be right;
    * a missing input in every zone, or a negative or infinite result, is an
      error naming the zone.

    Parameters
    ----------
    zones : geopandas.GeoDataFrame
        The zone layer (with ``feature_name`` when read through the study).
    expression : str
        E.g. ``hh_income_100K_149K + hh_income_150K_199K``.
    what : str
        Config location for messages (``layers.tracts``).

    Raises
    ------
    CriterionError
        Malformed expression, unknown column, division by zero, or a negative or
        infinite population.
    """
    try:
        population = np.asarray(evaluate(expression, zones), dtype="float64")
    except DivisionByZeroError as exc:
        raise CriterionError(
            f"{what}: population {expression!r} divides by zero ({exc.divisor} is 0) for "
            f"{len(exc.rows)} zone(s): {_examples(zones, exc.rows)}; change the expression "
            "or leave those zones out of the layer",
            field="population",
        ) from None
    except ExpressionError as exc:
        raise CriterionError(f"{what}: population: {exc}", field="population") from None
    missing = np.isnan(population)
    if len(population) and missing.all():
        raise CriterionError(
            f"{what}: population {expression!r} has a missing input for every zone "
            f"(e.g. {_examples(zones, np.arange(len(population)))}); check that its columns "
            "hold numbers"
        )
    if missing.any():
        rows = np.flatnonzero(missing)
        logger.warning(
            "%s: population %r has a missing input for %d zone(s) (%s); counted as 0",
            what,
            expression,
            len(rows),
            _examples(zones, rows),
        )
        population = np.where(missing, 0.0, population)
    infinite = np.flatnonzero(np.isinf(population))
    if len(infinite):
        raise CriterionError(
            f"{what}: population {expression!r} is not a finite number for "
            f"{_examples(zones, infinite)}; check the columns' values"
        )
    negative = np.flatnonzero(population < 0)
    if len(negative):
        row = int(negative[0])
        raise CriterionError(
            f"{what}: population {expression!r} is negative for {len(negative)} zone(s), "
            f"e.g. {zone_label(zones, row)} ({population[row]:g}); check the expression"
        )
    return population


def interior_points(zones: gpd.GeoDataFrame, population: np.ndarray) -> DemandPoints:
    """One demand point per zone, at a point guaranteed inside it."""
    points = shapely.point_on_surface(zones.geometry.to_numpy())
    return DemandPoints(
        x=shapely.get_x(points),
        y=shapely.get_y(points),
        population=np.asarray(population, dtype="float64"),
        zone=np.arange(len(zones), dtype=np.int64),
    )


def area_points(zones: gpd.GeoDataFrame, population: np.ndarray, cell_m: float) -> DemandPoints:
    """Each zone's population split evenly over the grid points inside it.

    Parameters
    ----------
    zones : geopandas.GeoDataFrame
        Zone polygons in a projected metric CRS.
    population : numpy.ndarray
        Target population per zone.
    cell_m : float
        Grid spacing in metres.
    """
    xmin, ymin, xmax, ymax = zones.total_bounds
    xs = np.arange(np.floor(xmin / cell_m), np.ceil(xmax / cell_m) + 1) * cell_m + cell_m / 2
    ys = np.arange(np.floor(ymin / cell_m), np.ceil(ymax / cell_m) + 1) * cell_m + cell_m / 2
    if len(xs) * len(ys) > MAX_GRID_POINTS:
        raise CriterionError(
            f"spread: area with cell_m {cell_m:g} lays {len(xs) * len(ys):,} grid points over "
            f"the zones; use a larger cell_m"
        )
    gx, gy = (a.ravel() for a in np.meshgrid(xs, ys))
    grid = shapely.points(gx, gy)
    point_index, zone_index = zones.sindex.query(grid, predicate="intersects")
    # a point on a shared edge belongs to the first zone only
    point_index, first = np.unique(point_index, return_index=True)
    zone_index = zone_index[first]
    counts = np.bincount(zone_index, minlength=len(zones))
    empty = np.flatnonzero(counts == 0)
    interior = interior_points(zones.iloc[empty], population[empty])
    x = np.concatenate([gx[point_index], interior.x])
    y = np.concatenate([gy[point_index], interior.y])
    zone = np.concatenate([zone_index, empty]).astype(np.int64)
    share = np.concatenate([1.0 / counts[zone_index], np.ones(len(empty))])
    logger.info(
        "demand spread over %d grid points (%g m cells); %d zone(s) smaller than a cell "
        "kept at an interior point",
        len(point_index),
        cell_m,
        len(empty),
    )
    return DemandPoints(x=x, y=y, population=population[zone] * share, zone=zone)


def demand_points(
    zones: gpd.GeoDataFrame, population: np.ndarray, spread: Spread, cell_m: float
) -> DemandPoints:
    """Demand points of the zones by the chosen spreading (see the module docstring)."""
    if spread == "area":
        return area_points(zones, population, cell_m)
    return interior_points(zones, population)
