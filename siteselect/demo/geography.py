"""Static geography of the demo region in the working CRS (NAD83 / UTM 11N, metres).

Builds the region, water bodies, land, border, airfields and open space from the
constants in :mod:`facts`, :mod:`shoreline` and :mod:`places`, and provides the
smooth location fields (urbanity, community names, demography) the synthetic
layers are drawn from.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import shapely
from shapely.geometry import LineString, MultiPolygon, Polygon

from siteselect.demo import facts, places, shoreline
from siteselect.demo.common import kernel_sum, lonlat_to_work, make_rng, to_work
from siteselect.demo.terrain import canyon_network

log = logging.getLogger(__name__)

# Digitising box of the shoreline constants: (west, south, east, north), degrees.
DIGITISED_BOX: tuple[float, float, float, float] = (-117.32, 32.50, -116.87, 32.99)
RUNWAY_AIRFIELD_M = 400.0  # streets stop this far from a runway centre line
RUNWAY_NO_PARCEL_M = 600.0  # parcels stop this far from a runway centre line


@dataclass(frozen=True)
class Geography:
    """Geometries of the demo region, all in the working CRS.

    Attributes
    ----------
    region
        The region's lon/lat bounding box (edges follow parallels/meridians).
    box
        The larger digitising box (covers the hazard raster's margin).
    ocean, san_diego_bay, mission_bay, lakes
        Water bodies clipped to ``box``.
    mexico
        The box south of the border.
    land
        Region minus water, north of the border: the study area.
    land_any
        Box minus the ocean and bays, Mexico included (for the raster mask).
    border
        The US-Mexico border clipped to the region.
    runways
        Runway centre lines (all five airports).
    airfield
        Airport and military land: no streets (census-tract outlines of MCAS
        Miramar, NAS North Island and KSAN plus 400 m runway buffers).
    no_parcels
        ``airfield`` plus 600 m runway buffers: no parcels.
    open_space
        ``(name, polygon)`` parks, reserves and canyons on land.
    """

    region: Polygon
    box: Polygon
    ocean: MultiPolygon
    san_diego_bay: MultiPolygon
    mission_bay: MultiPolygon
    lakes: MultiPolygon
    mexico: Polygon
    land: MultiPolygon
    land_any: MultiPolygon
    border: LineString
    runways: np.ndarray
    airfield: MultiPolygon
    no_parcels: MultiPolygon
    open_space: tuple[tuple[str, MultiPolygon], ...]


def _lonlat_box(west: float, south: float, east: float, north: float) -> Polygon:
    """A lon/lat rectangle, densified so its projected edges follow the graticule."""
    return shapely.segmentize(shapely.box(west, south, east, north), 0.002)


def _spec_polygon(spec: shoreline.PolygonSpec) -> Polygon:
    exterior, holes = spec
    return Polygon(exterior, list(holes))


def _multi(geom: shapely.Geometry) -> MultiPolygon:
    """Keep the polygonal parts of ``geom`` as a MultiPolygon."""
    parts = shapely.get_parts(geom)
    polys: list[Polygon] = []
    for part in parts:
        if isinstance(part, Polygon) and not part.is_empty:
            polys.append(part)
        elif isinstance(part, MultiPolygon):
            polys.extend(part.geoms)
        elif part.geom_type == "GeometryCollection":
            polys.extend(_multi(part).geoms)
    return MultiPolygon(polys)


def border_latitude(lon: np.ndarray | float) -> np.ndarray:
    """Latitude of the (straight) US-Mexico border line at the given longitudes.

    Parameters
    ----------
    lon
        Longitude(s), degrees.

    Returns
    -------
    numpy.ndarray
        Latitude(s) of the 1848 treaty line, degrees.
    """
    (x0, y0), (x1, y1) = facts.BORDER_PACIFIC, facts.BORDER_COLORADO
    return y0 + (np.asarray(lon, dtype=float) - x0) * (y1 - y0) / (x1 - x0)


def _mexico_lonlat() -> Polygon:
    west, south, east, _ = DIGITISED_BOX
    lats = border_latitude(np.array([west, east]))
    line = shapely.segmentize(LineString([(west, lats[0]), (east, lats[1])]), 0.002)
    return Polygon([*line.coords, (east, south - 0.01), (west, south - 0.01)])


def _runway_lines() -> np.ndarray:
    ends = np.array(facts.runway_ends())
    x0, y0 = lonlat_to_work(ends[:, 0], ends[:, 1])
    x1, y1 = lonlat_to_work(ends[:, 2], ends[:, 3])
    coords = np.stack([np.column_stack([x0, y0]), np.column_stack([x1, y1])], axis=1)
    return shapely.linestrings(coords)


# Name given to the procedural canyons (parcels label them "<community> Canyon").
CANYON_NAME = "canyon"


def _open_space(
    land: MultiPolygon, airfield: MultiPolygon, water: shapely.Geometry
) -> tuple[tuple[str, MultiPolygon], ...]:
    out: list[tuple[str, MultiPolygon]] = []
    for name, ring in places.OPEN_SPACE_AREAS:
        poly = to_work(Polygon(ring))
        out.append((name, _multi(poly.intersection(land))))
    for name, line, width in places.CANYONS:
        poly = to_work(LineString(line)).buffer(width / 2.0, quad_segs=4)
        out.append((name, _multi(poly.intersection(land))))
    named = shapely.union_all([g for _, g in out])
    free = land.difference(airfield).difference(named)
    out.append((CANYON_NAME, canyon_network(free, water, make_rng("canyons"))))
    return tuple((n, g) for n, g in out if not g.is_empty)


@lru_cache(maxsize=1)
def build_geography() -> Geography:
    """Build (once) the static geography of the demo region.

    Returns
    -------
    Geography
        All geometries in the working CRS.
    """
    box = to_work(_lonlat_box(*DIGITISED_BOX))
    region = to_work(_lonlat_box(*facts.REGION_BBOX))
    ocean = _multi(to_work(MultiPolygon([_spec_polygon(s) for s in shoreline.OCEAN])))
    sdb = _multi(to_work(MultiPolygon([_spec_polygon(s) for s in shoreline.SAN_DIEGO_BAY])))
    mb = _multi(to_work(MultiPolygon([_spec_polygon(s) for s in shoreline.MISSION_BAY])))
    lakes = _multi(to_work(MultiPolygon([Polygon(r) for r in shoreline.LAKES.values()])))
    mexico = to_work(_mexico_lonlat())
    water = shapely.union_all([ocean, sdb, mb, lakes])
    land = _multi(shapely.make_valid(region.difference(water).difference(mexico)))
    land_any = _multi(box.difference(shapely.union_all([ocean, sdb, mb])))

    east = facts.REGION_BBOX[2]
    lats = border_latitude(np.array([facts.BORDER_PACIFIC[0], east]))
    border_ll = LineString([(facts.BORDER_PACIFIC[0], lats[0]), (east, lats[1])])
    border = to_work(shapely.segmentize(border_ll, 0.002))

    runways = _runway_lines()
    tracts = [
        _spec_polygon(s)
        for s in (
            *shoreline.MIRAMAR_TRACT,
            *shoreline.NORTH_ISLAND_TRACT,
            *shoreline.SAN_AIRPORT_TRACT,
        )
    ]
    runway_zone = shapely.union_all(shapely.buffer(runways, RUNWAY_AIRFIELD_M, quad_segs=4))
    airfield = _multi(
        shapely.union_all([to_work(MultiPolygon(tracts)), runway_zone]).intersection(land)
    )
    no_fly = shapely.union_all(shapely.buffer(runways, RUNWAY_NO_PARCEL_M, quad_segs=4))
    no_parcels = _multi(shapely.union_all([airfield, no_fly.intersection(land)]))
    geo = Geography(
        region=region,
        box=box,
        ocean=ocean,
        san_diego_bay=sdb,
        mission_bay=mb,
        lakes=lakes,
        mexico=mexico,
        land=land,
        land_any=land_any,
        border=border,
        runways=runways,
        airfield=airfield,
        no_parcels=no_parcels,
        open_space=_open_space(land, airfield, shapely.union_all([ocean, sdb, mb])),
    )
    log.debug("land %.0f km2, airfield %.0f km2", land.area / 1e6, airfield.area / 1e6)
    return geo


def _work_points(points: tuple[tuple[float, float], ...]) -> np.ndarray:
    x, y = lonlat_to_work(np.array([p[0] for p in points]), np.array([p[1] for p in points]))
    return np.column_stack([x, y])


def urbanity(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Urban intensity in [0, 1] at working-CRS points (1 = dense urban core).

    Parameters
    ----------
    x, y
        Working-CRS coordinates.

    Returns
    -------
    numpy.ndarray
        ``1 - prod(1 - w_k exp(-d_k^2 / 2 sigma_k^2))`` over :data:`places.URBAN_CENTRES`.
    """
    spec = np.array(places.URBAN_CENTRES)
    centres = _work_points(tuple((r[0], r[1]) for r in spec))
    xf = np.asarray(x, dtype=float).reshape(-1, 1)
    yf = np.asarray(y, dtype=float).reshape(-1, 1)
    d2 = (xf - centres[:, 0]) ** 2 + (yf - centres[:, 1]) ** 2
    bump = spec[:, 3] * np.exp(-d2 / (2.0 * (spec[:, 2] * 1000.0) ** 2))
    return (1.0 - np.prod(1.0 - bump, axis=1)).reshape(np.shape(x))


def vacancy_score(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Propensity for large vacant land at working-CRS points (sum of hotspot bumps)."""
    spec = places.VACANT_HOTSPOTS
    centres = _work_points(tuple((r[0], r[1]) for r in spec))
    sigma = np.array([r[2] for r in spec]) * 1000.0
    weight = np.array([r[3] for r in spec])
    return kernel_sum(x, y, centres, sigma, weight)


def in_industrial_zone(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Boolean mask: points inside one of :data:`places.INDUSTRIAL_ZONES`."""
    spec = places.INDUSTRIAL_ZONES
    centres = _work_points(tuple((r[0], r[1]) for r in spec))
    radius = np.array([r[2] for r in spec]) * 1000.0
    xf = np.asarray(x, dtype=float).reshape(-1, 1)
    yf = np.asarray(y, dtype=float).reshape(-1, 1)
    d = np.hypot(xf - centres[:, 0], yf - centres[:, 1])
    return (d < radius).any(axis=1).reshape(np.shape(x))


def community_names(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Name of the nearest community centre for each working-CRS point."""
    centres = _work_points(tuple((c[1], c[2]) for c in places.COMMUNITIES))
    names = np.array([c[0] for c in places.COMMUNITIES], dtype=object)
    xf = np.asarray(x, dtype=float).reshape(-1, 1)
    yf = np.asarray(y, dtype=float).reshape(-1, 1)
    d2 = (xf - centres[:, 0]) ** 2 + (yf - centres[:, 1]) ** 2
    return names[np.argmin(d2, axis=1)]


def demography(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Median household income ($), share aged 65+, and household size at points.

    Inverse-distance (power 4) interpolation of :data:`places.DEMOGRAPHY_ANCHORS`.

    Parameters
    ----------
    x, y
        Working-CRS coordinates (1-D arrays).

    Returns
    -------
    tuple of numpy.ndarray
        ``(median_income_usd, share_65_plus, persons_per_household)``.
    """
    spec = places.DEMOGRAPHY_ANCHORS
    centres = _work_points(tuple((a[1], a[2]) for a in spec))
    values = np.array([[a[3] * 1000.0, a[4], a[5]] for a in spec])
    xf = np.asarray(x, dtype=float).reshape(-1, 1)
    yf = np.asarray(y, dtype=float).reshape(-1, 1)
    d2 = (xf - centres[:, 0]) ** 2 + (yf - centres[:, 1]) ** 2 + 300.0**2
    w = 1.0 / d2**2
    w /= w.sum(axis=1, keepdims=True)
    est = w @ values
    return est[:, 0], est[:, 1], est[:, 2]
