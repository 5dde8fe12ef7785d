"""The county scenario's vector and raster layers (everything but the roads).

All deterministic (fixed seeds). Formats as a county planner gets them:
parcels as GeoParquet and GeoPackage (EPSG:32611); census tracts as a
GeoPackage in EPSG:4326 with a population column; hospitals as GeoJSON with
HIFLD columns (``NAME``, ``TYPE``, ``STATUS``, ``BEDS`` with ``-999`` unknown);
runways and airports as OurAirports CSVs; a PGA hazard GeoTIFF (g); faults and
the border as GeoJSON lines; exclusion zones as a GeoPackage.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import rasterio
import shapely
from rasterio.transform import from_origin

from bench._scenario_geo import (
    CRS,
    ORIGIN_E,
    ORIGIN_N,
    TOWNS,
    clustered_points,
    ground_ft,
    to_lonlat,
    to_utm,
)

TOWN_NAMES = ("Oceanside", "Escondido", "El Cajon", "Chula Vista")
M_PER_FT = 0.3048


@dataclass(frozen=True)
class ParcelParams:
    """What determines the parcel layer: a fixed universe of Voronoi parcels and a subset.

    Attributes
    ----------
    extent_m : float
        Side of the county, metres.
    universe : int
        Parcels of the full tessellation (the largest scenario's count).
    n_parcels : int
        Parcels written: a fixed random subset of the universe (all when equal).
    town_share : float
        Share of the parcel seeds around the towns (small lots), the rest rural.
    seed : int
    """

    extent_m: float
    universe: int
    n_parcels: int
    town_share: float = 0.55
    seed: int = 20250112

    def as_dict(self) -> dict[str, object]:
        """JSON-serialisable parameters."""
        return asdict(self)


@dataclass(frozen=True)
class LayerParams:
    """What determines the other layers.

    Attributes
    ----------
    extent_m : float
    tracts, hospitals, airports, runways, faults, zones : int
        Feature counts.
    raster_cells : int
        Cells per side of the hazard raster.
    line_vertices : int
        Vertices per fault line (the border has 5 times as many).
    seed : int
    """

    extent_m: float
    tracts: int = 736
    hospitals: int = 42
    airports: int = 27
    runways: int = 38
    raster_cells: int = 4_000
    faults: int = 8
    zones: int = 20
    line_vertices: int = 400
    seed: int = 20250113

    def as_dict(self) -> dict[str, object]:
        """JSON-serialisable parameters."""
        return asdict(self)


def _voronoi(points: np.ndarray, extent_m: float) -> np.ndarray:
    """Voronoi cells of ``points`` (in their order), clipped to the county square."""
    box = shapely.box(0.0, 0.0, extent_m, extent_m)
    cells = shapely.get_parts(
        shapely.voronoi_polygons(shapely.multipoints(points), extend_to=box, ordered=True)
    )
    return shapely.clip_by_rect(cells, 0.0, 0.0, extent_m, extent_m)


def _to_utm_geometry(geometry: np.ndarray) -> np.ndarray:
    """Shift local-metre geometries to EPSG:32611 coordinates."""
    return shapely.transform(geometry, lambda xy: xy + np.array([ORIGIN_E, ORIGIN_N]))


def parcel_universe(params: ParcelParams) -> np.ndarray:
    """The full tessellation: ``params.universe`` Voronoi parcels (local metres)."""
    rng = np.random.default_rng(params.seed)
    seeds = clustered_points(rng, params.universe, params.extent_m, params.town_share)
    return _voronoi(seeds, params.extent_m)


def parcel_frame(params: ParcelParams, universe: np.ndarray) -> gpd.GeoDataFrame:
    """The scenario's parcels: a fixed subset of ``universe`` with assessor-like columns.

    Parameters
    ----------
    params : ParcelParams
    universe : numpy.ndarray of shapely.Polygon
        From :func:`parcel_universe` (local metres).
    """
    rng = np.random.default_rng(params.seed + 1)
    if params.n_parcels < len(universe):
        keep = np.sort(rng.choice(len(universe), params.n_parcels, replace=False))
    else:
        keep = np.arange(len(universe))
    number = 1_000_000_000 + rng.permutation(params.universe)[keep]
    use = rng.choice(
        ["RES", "COM", "IND", "AG", "VACANT"], len(keep), p=[0.6, 0.1, 0.05, 0.1, 0.15]
    )
    frame = gpd.GeoDataFrame(
        {
            "apn": pd.array([f"{n:010d}" for n in number.tolist()], dtype="string"),
            "use_code": use,
            "zoning": rng.choice(["R1", "R2", "C1", "M1", "A70"], len(keep)),
            "assessed_value": rng.integers(50_000, 5_000_000, len(keep)),
        },
        geometry=_to_utm_geometry(universe[keep]),
        crs=CRS,
    )
    return frame


def write_parcels(frame: gpd.GeoDataFrame, folder: Path) -> dict[str, Path]:
    """Write the parcels as GeoParquet and GeoPackage (layer ``parcels``)."""
    parquet = folder / "parcels.parquet"
    gpkg = folder / "parcels.gpkg"
    frame.to_parquet(parquet, index=False)
    pyogrio.write_dataframe(frame, gpkg, layer="parcels", use_arrow=True)
    return {"parquet": parquet, "gpkg": gpkg}


def _wgs84(frame: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    return frame.to_crs("EPSG:4326")


def _local_frame(data: dict[str, object], geometry: np.ndarray) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(data, geometry=_to_utm_geometry(geometry), crs=CRS)


def write_tracts(params: LayerParams, rng: np.random.Generator, path: Path) -> None:
    """Census tracts: Voronoi cells of clustered seeds, ``pop_total`` and ``households``."""
    seeds = clustered_points(rng, params.tracts, params.extent_m, town_share=0.7)
    population = rng.integers(1_200, 8_000, params.tracts)
    frame = _local_frame(
        {
            "GEOID": [f"06073{100_000 + i:06d}" for i in range(params.tracts)],
            "pop_total": population,
            "households": np.round(population / 2.8).astype(int),
        },
        _voronoi(seeds, params.extent_m),
    )
    pyogrio.write_dataframe(_wgs84(frame), path, layer="tracts")


def write_hospitals(params: LayerParams, rng: np.random.Generator, path: Path) -> None:
    """Hospitals with HIFLD columns: some owned by KAISER, some closed, some beds unknown."""
    n = params.hospitals
    points = clustered_points(rng, n, params.extent_m, town_share=0.8)
    town = np.argmin(
        np.linalg.norm(points[:, None, :] - TOWNS[None] * params.extent_m, axis=2), axis=1
    )
    kinds = np.array(["GENERAL ACUTE CARE"] * n, dtype=object)
    kinds[1::14] = "MILITARY"
    kinds[3::11] = "PSYCHIATRIC"
    kinds[5::20] = "CHILDREN"
    names = []
    for i in range(n):
        place = TOWN_NAMES[town[i]].upper()
        names.append(f"KAISER FND HOSP - {place} {i}" if i % 8 == 2 else f"{place} MEDICAL {i}")
    beds = rng.integers(40, 700, n)
    beds[7::10] = -999
    status = np.where(np.isin(np.arange(n), [4, n - 1]), "CLOSED", "OPEN")
    lon, lat = to_lonlat(points[:, 0], points[:, 1])
    frame = gpd.GeoDataFrame(
        {
            "NAME": names,
            "TYPE": kinds,
            "STATUS": status,
            "BEDS": beds,
            "OWNER": np.where(np.arange(n) % 8 == 2, "NON-PROFIT", "PROPRIETARY"),
            "LATITUDE": lat,
            "LONGITUDE": lon,
        },
        geometry=shapely.points(lon, lat),
        crs="EPSG:4326",
    )
    frame.to_file(path, driver="GeoJSON")


def _airport_sites(rng: np.random.Generator, n: int, extent_m: float) -> np.ndarray:
    """``n`` airport positions at least 6% of the extent apart (rejection sampling)."""
    sites: list[np.ndarray] = []
    while len(sites) < n:
        candidate = rng.uniform(0.08, 0.92, 2) * extent_m
        if all(np.hypot(*(candidate - s)) > 0.06 * extent_m for s in sites):
            sites.append(candidate)
    return np.array(sites)


def _airport_kinds(n: int) -> list[tuple[str, str]]:
    """(type, name) per airport: 2 large, 2 military, 3 medium, the rest small."""
    kinds = [("large_airport", "County Regional Airport"), ("large_airport", "Metro Airport")]
    kinds += [("medium_airport", "Naval Air Station Coronado Hills")]
    kinds += [("medium_airport", "Marine Corps Air Station Mesa")]
    kinds += [("medium_airport", f"{TOWN_NAMES[i % 4]} Municipal Airport") for i in range(3)]
    kinds += [("small_airport", f"Field {i + 1}") for i in range(max(0, n - len(kinds)))]
    return kinds[:n]


def _runway_counts(n_airports: int, n_runways: int) -> np.ndarray:
    """Runways per airport: one each, the extra ones to the larger airports first."""
    counts = np.ones(n_airports, dtype=int)
    order = [0, 0, *range(1, n_airports)]
    for k in range(n_runways - n_airports):
        counts[order[k % len(order)]] += 1
    return counts


def write_airports(
    params: LayerParams, rng: np.random.Generator, runways_csv: Path, airports_csv: Path
) -> None:
    """OurAirports-like ``airports.csv`` and ``runways.csv`` (one runway closed)."""
    sites = _airport_sites(rng, params.airports, params.extent_m)
    kinds = _airport_kinds(params.airports)
    counts = _runway_counts(params.airports, params.runways)
    airports, runways = [], []
    for a, ((kind, name), (x, y), count) in enumerate(zip(kinds, sites, counts, strict=True)):
        ident = f"KQ{chr(65 + a // 26)}{chr(65 + a % 26)}"
        heading = float(rng.uniform(1.0, 180.0))
        large = kind != "small_airport"
        ends_ft: list[float] = []
        for r in range(count):
            h = heading + 60.0 * max(0, r - 1)  # a parallel pair, then crossing runways
            if count == 1 or r >= 2:
                offset_m, side = 0.0, ("", "")
            else:  # runway 0 on the right (R at its low end), runway 1 on the left
                offset_m, side = (-175.0, ("R", "L")) if r == 0 else (175.0, ("L", "R"))
            length_ft = float(rng.uniform(7_000, 10_500) if large else rng.uniform(2_400, 4_400))
            rad = np.radians(h)
            direction = np.array([np.sin(rad), np.cos(rad)])
            left = np.array([-direction[1], direction[0]])
            centre = np.array([x, y]) + offset_m * left
            half = length_ft * M_PER_FT / 2
            ends = np.array([centre - half * direction, centre + half * direction])
            (le_lon, he_lon), (le_lat, he_lat) = to_lonlat(ends[:, 0], ends[:, 1])
            elevation = ground_ft(ends[:, 0], ends[:, 1]).round()
            ends_ft.extend(elevation.tolist())
            number = max(1, round(h / 10.0)) % 36 or 36
            surface = "ASP" if large or rng.random() < 0.7 else "TURF"
            runways.append(
                {
                    "id": 300_000 + len(runways),
                    "airport_ref": 20_000 + a,
                    "airport_ident": ident,
                    "length_ft": round(length_ft),
                    "width_ft": 150 if large else 75,
                    "surface": surface,
                    "lighted": int(large or rng.random() < 0.5),
                    "closed": int(len(runways) == params.runways - 1 and params.runways >= 10),
                    "le_ident": f"{number:02d}{side[0]}",
                    "le_latitude_deg": round(float(le_lat), 6),
                    "le_longitude_deg": round(float(le_lon), 6),
                    "le_elevation_ft": int(elevation[0]),
                    "le_heading_degT": round(h, 1),
                    "le_displaced_threshold_ft": None,
                    "he_ident": f"{(number + 18 - 1) % 36 + 1:02d}{side[1]}",
                    "he_latitude_deg": round(float(he_lat), 6),
                    "he_longitude_deg": round(float(he_lon), 6),
                    "he_elevation_ft": int(elevation[1]),
                    "he_heading_degT": round((h + 180.0) % 360.0, 1),
                    "he_displaced_threshold_ft": None,
                }
            )
        lon, lat = to_lonlat(np.array([x]), np.array([y]))
        airports.append(
            {
                "id": 20_000 + a,
                "ident": ident,
                "type": kind,
                "name": name,
                "latitude_deg": round(float(lat[0]), 6),
                "longitude_deg": round(float(lon[0]), 6),
                "elevation_ft": int(max(ends_ft)),
                "iso_country": "US",
                "iso_region": "US-CA",
                "municipality": TOWN_NAMES[a % 4],
                "scheduled_service": "yes" if kind == "large_airport" else "no",
                "gps_code": ident,
            }
        )
    pd.DataFrame(runways).to_csv(runways_csv, index=False)
    pd.DataFrame(airports).to_csv(airports_csv, index=False)


def _meander(rng: np.random.Generator, n: int, amplitude_m: float) -> np.ndarray:
    """A smooth random lateral offset of ``n`` vertices (about ``amplitude_m``)."""
    walk = np.cumsum(rng.normal(0.0, 1.0, n))
    walk -= np.linspace(walk[0], walk[-1], n)
    scale = np.abs(walk).max() or 1.0
    return walk / scale * amplitude_m


def fault_chords(params: LayerParams, rng: np.random.Generator) -> np.ndarray:
    """Straight chords of the faults, shape (faults, 2 ends, 2): NW-SE trending."""
    chords = []
    for _ in range(params.faults):
        start = rng.uniform(0.1, 0.9, 2) * params.extent_m
        azimuth = np.radians(rng.normal(-40.0, 15.0))
        length = rng.uniform(0.25, 0.7) * params.extent_m
        end = start + length * np.array([np.sin(azimuth), np.cos(azimuth)])
        chords.append([start, np.clip(end, 0.0, params.extent_m)])
    return np.array(chords)


def write_lines(
    params: LayerParams, rng: np.random.Generator, chords: np.ndarray, faults: Path, border: Path
) -> None:
    """Fault traces along ``chords`` and the international border near the south edge."""
    lines, names = [], []
    for k, (a, b) in enumerate(chords):
        t = np.linspace(0.0, 1.0, params.line_vertices)[:, None]
        along = a + t * (b - a)
        normal = np.array([-(b - a)[1], (b - a)[0]]) / (np.hypot(*(b - a)) or 1.0)
        offset = _meander(rng, params.line_vertices, 0.003 * params.extent_m)
        lines.append(shapely.linestrings(along + offset[:, None] * normal))
        names.append(f"{chr(65 + k)} Fault Zone")
    frame = _local_frame({"FaultName": names}, np.array(lines))
    _wgs84(frame).to_file(faults, driver="GeoJSON")
    n = params.line_vertices * 5
    x = np.linspace(0.0, params.extent_m, n)
    y = 0.015 * params.extent_m + _meander(rng, n, 0.004 * params.extent_m)
    line = _local_frame({"name": ["International border"]}, np.array([shapely.linestrings(x, y)]))
    _wgs84(line).to_file(border, driver="GeoJSON")


def write_zones(params: LayerParams, rng: np.random.Generator, path: Path) -> None:
    """Exclusion zones: irregular polygons of 64 vertices, 0.8-3% of the extent across."""
    polygons = []
    angle = np.linspace(0.0, 2 * np.pi, 64, endpoint=False)
    for _ in range(params.zones):
        centre = rng.uniform(0.05, 0.95, 2) * params.extent_m
        radius = rng.uniform(0.008, 0.03) * params.extent_m
        wobble = (
            1
            + 0.3 * np.sin(rng.integers(2, 6) * angle + rng.uniform(0, 6))
            + rng.normal(0, 0.05, 64)
        )
        ring = centre + (radius * wobble)[:, None] * np.column_stack([np.cos(angle), np.sin(angle)])
        polygons.append(shapely.make_valid(shapely.polygons(ring)))
    kinds = np.array(["conservation", "landfill", "military"])[np.arange(params.zones) % 3]
    frame = _local_frame(
        {"name": [f"Zone {k + 1}" for k in range(params.zones)], "zone_type": kinds},
        np.array(polygons),
    )
    pyogrio.write_dataframe(frame, path, layer="zones")


def write_hazard(params: LayerParams, chords: np.ndarray, path: Path) -> None:
    """PGA (g, 2% in 50 years): high along the faults, rising inland, float32 GeoTIFF."""
    cells = params.raster_cells
    cell_m = params.extent_m / cells
    profile = {
        "driver": "GTiff",
        "width": cells,
        "height": cells,
        "count": 1,
        "dtype": "float32",
        "crs": CRS,
        "transform": from_origin(ORIGIN_E, ORIGIN_N + params.extent_m, cell_m, cell_m),
        "nodata": -9999.0,
        "tiled": True,
        "blockxsize": 256,
        "blockysize": 256,
        "compress": "deflate",
        "predictor": 3,
    }
    x = (np.arange(cells) + 0.5) * cell_m
    with rasterio.open(path, "w", **profile) as dataset:
        for top in range(0, cells, 256):
            rows = np.arange(top, min(top + 256, cells))
            y = params.extent_m - (rows + 0.5) * cell_m
            px, py = np.meshgrid(x, y)
            pga = (
                0.25 + 0.15 * px / params.extent_m + 0.03 * np.sin(px / 2_300) * np.cos(py / 1_700)
            )
            for a, b in chords:
                d = _segment_distance(px, py, a, b)
                pga += 0.55 * np.exp(-((d / (0.04 * params.extent_m)) ** 2))
            window = rasterio.windows.Window(0, top, cells, len(rows))
            dataset.write(np.clip(pga, 0.05, 1.5).astype("float32"), 1, window=window)
        dataset.update_tags(1, units="g", quantity="PGA 2% in 50 years (synthetic)")


def _segment_distance(px: np.ndarray, py: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Distance from points (px, py) to the segment a-b (vectorised)."""
    ab = b - a
    t = ((px - a[0]) * ab[0] + (py - a[1]) * ab[1]) / max(float(ab @ ab), 1e-9)
    t = np.clip(t, 0.0, 1.0)
    return np.hypot(px - (a[0] + t * ab[0]), py - (a[1] + t * ab[1]))


def write_study_area(params: LayerParams, path: Path) -> None:
    """The county outline (a square), GeoPackage in EPSG:32611."""
    east, north = to_utm(np.array([0.0, params.extent_m]), np.array([0.0, params.extent_m]))
    frame = gpd.GeoDataFrame(
        {"name": ["County"]}, geometry=[shapely.box(east[0], north[0], east[1], north[1])], crs=CRS
    )
    pyogrio.write_dataframe(frame, path, layer="study_area")


def write_layers(params: LayerParams, folder: Path) -> dict[str, Path]:
    """Write every layer but the parcels and the roads into ``folder``.

    Returns
    -------
    dict
        Layer name -> file.
    """
    rng = np.random.default_rng(params.seed)
    files = {
        "study_area": folder / "study_area.gpkg",
        "tracts": folder / "tracts.gpkg",
        "hospitals": folder / "hospitals.geojson",
        "runways": folder / "runways.csv",
        "airports": folder / "airports.csv",
        "hazard": folder / "pga_2pct50yr.tif",
        "faults": folder / "faults.geojson",
        "border": folder / "border.geojson",
        "zones": folder / "zones.gpkg",
    }
    write_study_area(params, files["study_area"])
    write_tracts(params, rng, files["tracts"])
    write_hospitals(params, rng, files["hospitals"])
    write_airports(params, rng, files["runways"], files["airports"])
    chords = fault_chords(params, rng)
    write_lines(params, rng, chords, files["faults"], files["border"])
    write_zones(params, rng, files["zones"])
    write_hazard(params, chords, files["hazard"])
    return files
