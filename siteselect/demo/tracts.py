"""Synthetic census tracts with ACS-style columns.

Tracts are Voronoi cells of seed points drawn where people live (so each holds
a few thousand people), clipped to land; airfields are tracts of their own with
no population. Columns are named exactly like the real ACS 2020-2024 extract
(``GEOID``, ``pop_total_population``, ``hh_income_*``, ``age_65_plus``,
``home_value_median``), with the ACS "not computed" sentinel -666666666 for
the median home value of tracts without households.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import shapely
from scipy.special import ndtr
from shapely.geometry import MultiPoint, MultiPolygon, Polygon

from siteselect.demo.common import lonlat_to_work
from siteselect.demo.geography import Geography, demography
from siteselect.demo.parcels import ParcelTable

log = logging.getLogger(__name__)

N_SEEDS = 320
MIN_AIRFIELD_TRACT_M2 = 3e5
ACS_NOT_COMPUTED = -666666666
INCOME_EDGES = np.array([30_000.0, 75_000.0, 100_000.0, 150_000.0, 200_000.0])
INCOME_SIGMA = 0.85  # log-normal spread of household incomes within a tract
INCOME_COLUMNS = (
    "hh_income_less_30K",
    "hh_income_30K_74K",
    "hh_income_75K_99K",
    "hh_income_100K_149K",
    "hh_income_150K_199K",
    "hh_income_200K_plus",
)
COLUMNS = (
    "GEOID",
    "pop_total_population",
    "hh_income_base",
    *INCOME_COLUMNS,
    "age_65_plus",
    "home_value_median",
)
DOWNTOWN = (-117.160, 32.716)


@dataclass(frozen=True)
class TractTable:
    """Tract geometries (working CRS, MultiPolygons) and ACS-style columns."""

    geometry: np.ndarray
    columns: dict[str, np.ndarray]


def residents(parcels: ParcelTable) -> np.ndarray:
    """People living on each parcel: residential area times a density rising with urbanity."""
    ha = shapely.area(parcels.geometry) / 1e4
    density = 4.0 + 70.0 * parcels.urbanity**1.5  # persons per hectare
    share = np.select(
        [parcels.land_use == "residential", parcels.land_use == "commercial"], [1.0, 0.15], 0.0
    )
    return ha * density * share


def _cells(
    geo: Geography, parcels: ParcelTable, people: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """Voronoi cells of population-weighted seeds, clipped to non-airfield land."""
    pts = shapely.point_on_surface(parcels.geometry)
    pick = rng.choice(len(pts), size=N_SEEDS, replace=False, p=people / people.sum())
    seeds = shapely.get_coordinates(pts[np.sort(pick)])
    seeds += rng.uniform(-60.0, 60.0, seeds.shape)
    vor = shapely.voronoi_polygons(MultiPoint(seeds), extend_to=geo.box, ordered=True)
    airfields = _airfield_parts(geo)
    land = geo.land.difference(shapely.union_all(airfields))
    cells = shapely.intersection(shapely.get_parts(vor), land)
    return cells[~shapely.is_empty(cells)]


def _airfield_parts(geo: Geography) -> np.ndarray:
    parts = shapely.get_parts(geo.airfield)
    return parts[shapely.area(parts) >= MIN_AIRFIELD_TRACT_M2]


def _as_multi(geoms: np.ndarray) -> np.ndarray:
    out = []
    for g in geoms:
        polys = [p for p in shapely.get_parts(g) if isinstance(p, Polygon) and p.area > 1.0]
        out.append(MultiPolygon(polys))
    return np.array(out, dtype=object)


def _geoids(geoms: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """GEOIDs numbered outwards from downtown, and the matching row order."""
    c = shapely.get_coordinates(shapely.point_on_surface(geoms))
    dx, dy = lonlat_to_work(np.array([DOWNTOWN[0]]), np.array([DOWNTOWN[1]]))
    order = np.argsort(np.hypot(c[:, 0] - dx[0], c[:, 1] - dy[0]), kind="stable")
    suffix = rng.choice([0, 1, 2], size=len(geoms), p=[0.6, 0.25, 0.15])
    codes = (np.arange(len(geoms)) + 1) * 100 + suffix
    return np.array([f"06073{code:06d}" for code in codes]), order


def _attributes(
    geo: Geography, geoms: np.ndarray, pop: np.ndarray, rng: np.random.Generator
) -> dict[str, np.ndarray]:
    """Households by income bin, age 65+ and median home value of each tract."""
    c = shapely.get_coordinates(shapely.point_on_surface(geoms))
    income, old, hh_size = demography(c[:, 0], c[:, 1])
    income = income * np.exp(rng.normal(0.0, 0.12, len(pop)))
    old = np.clip(old * np.exp(rng.normal(0.0, 0.12, len(pop))), 0.02, 0.6)
    households = np.round(pop / hh_size).astype(np.int64)
    cdf = ndtr((np.log(INCOME_EDGES)[None, :] - np.log(income)[:, None]) / INCOME_SIGMA)
    probs = np.diff(np.column_stack([np.zeros(len(pop)), cdf, np.ones(len(pop))]), axis=1)
    bins = rng.multinomial(households, probs)
    coast_km = shapely.distance(shapely.points(c), geo.ocean) / 1000.0
    ratio = 7.0 + 7.0 * np.exp(-coast_km / 4.0)  # coastal premium
    value = np.clip(np.round(income * ratio, -2), 150_000, 2_000_001).astype(np.int64)
    value[households < 10] = ACS_NOT_COMPUTED
    cols = {"pop_total_population": pop, "hh_income_base": households}
    cols.update({name: bins[:, k].astype(np.int64) for k, name in enumerate(INCOME_COLUMNS)})
    cols["age_65_plus"] = rng.binomial(pop, old).astype(np.int64)
    cols["home_value_median"] = value
    return cols


def build_tracts(geo: Geography, parcels: ParcelTable, rng: np.random.Generator) -> TractTable:
    """Build the synthetic census tracts.

    Parameters
    ----------
    geo
        Region geography.
    parcels
        Parcels (their residential area places the population).
    rng
        Random generator of the tract stream.

    Returns
    -------
    TractTable
        Tracts ordered by GEOID, geometries in the working CRS.
    """
    people = residents(parcels)
    cells = _cells(geo, parcels, people, rng)
    geoms = _as_multi(np.concatenate([cells, _airfield_parts(geo)]))
    pts = shapely.point_on_surface(parcels.geometry)
    tract_of = np.full(len(pts), -1)
    pt_idx, tr_idx = shapely.STRtree(geoms).query(pts, predicate="intersects")
    tract_of[pt_idx] = tr_idx
    inside = tract_of >= 0
    pop = np.round(np.bincount(tract_of[inside], people[inside], minlength=len(geoms)))
    pop = pop.astype(np.int64)
    n_air = len(geoms) - len(cells)
    pop[len(cells) :] = 0  # airfields: nobody lives there
    geoid, order = _geoids(geoms, rng)
    geoms, pop = geoms[order], pop[order]
    cols = {"GEOID": geoid}
    cols.update(_attributes(geo, geoms, pop, rng))
    log.info(
        "tracts: %d (%d airfield), population %d, median %d per tract",
        len(geoms), n_air, int(pop.sum()), int(np.median(pop)),
    )  # fmt: skip
    return TractTable(geometry=geoms, columns={k: cols[k] for k in COLUMNS})
