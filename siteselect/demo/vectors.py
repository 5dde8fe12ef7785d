"""GeoDataFrames of the demo region's vector layers, ready to write."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from shapely.geometry import LineString, MultiLineString, MultiPolygon, Point

from siteselect.demo import facts
from siteselect.demo.common import PARCEL_CRS, to_geo, to_parcel_crs
from siteselect.demo.geography import Geography
from siteselect.demo.parcels import ParcelTable
from siteselect.demo.tracts import TractTable

WGS84 = "EPSG:4326"
NAD83 = "EPSG:4269"


def hospitals() -> gpd.GeoDataFrame:
    """HIFLD hospitals (real) as points, EPSG:4326."""
    df = pd.DataFrame(list(facts.HOSPITALS), columns=list(facts.HOSPITAL_COLUMNS))
    df["BEDS"] = df["BEDS"].astype("int32")
    geom = [Point(lon, lat) for lon, lat in zip(df["LONGITUDE"], df["LATITUDE"], strict=True)]
    return gpd.GeoDataFrame(df, geometry=geom, crs=WGS84)


def faults() -> gpd.GeoDataFrame:
    """NSHM23 fault traces (real) clipped to the region plus a margin, EPSG:4326."""
    west, south, east, north = facts.REGION_BBOX
    m = facts.FAULT_CLIP_MARGIN_DEG
    clip = shapely.box(west - m, south - m, east + m, north + m)
    rows, geoms = [], []
    for f in facts.FAULTS:
        g = LineString(f.trace).intersection(clip)
        if g.is_empty:
            continue
        rows.append(f.attributes())
        geoms.append(shapely.line_merge(g))
    df = pd.DataFrame(rows, columns=list(facts.FAULT_COLUMNS))
    for col in ("FaultID", "DipDeg", "Rake"):
        df[col] = df[col].astype("int32")
    return gpd.GeoDataFrame(df, geometry=geoms, crs=WGS84)


def border(geo: Geography) -> gpd.GeoDataFrame:
    """The US-Mexico border line inside the region.

    Parameters
    ----------
    geo
        Region geography.

    Returns
    -------
    geopandas.GeoDataFrame
        One LineString with ``name``, EPSG:4326.
    """
    line = shapely.simplify(to_geo(geo.border), 1e-7)
    return gpd.GeoDataFrame({"name": ["United States-Mexico border"]}, geometry=[line], crs=WGS84)


def coastline(geo: Geography) -> gpd.GeoDataFrame:
    """Shorelines of the Pacific, San Diego Bay and Mission Bay inside the region.

    Parameters
    ----------
    geo
        Region geography.

    Returns
    -------
    geopandas.GeoDataFrame
        One MultiLineString per water body with ``name``, EPSG:4326.
    """
    inner = geo.region.buffer(-1.0)
    bodies = (
        ("Pacific Ocean shoreline", geo.ocean),
        ("San Diego Bay shoreline", geo.san_diego_bay),
        ("Mission Bay shoreline", geo.mission_bay),
    )
    names, geoms = [], []
    for name, body in bodies:
        others = shapely.union_all([b for n, b in bodies if n != name]).buffer(1.0)
        line = body.boundary.intersection(inner).difference(others).difference(geo.mexico)
        merged = shapely.line_merge(line)
        parts = [p for p in shapely.get_parts(merged) if p.length > 50.0]
        names.append(name)
        geoms.append(to_geo(MultiLineString(parts)))
    return gpd.GeoDataFrame({"name": names}, geometry=geoms, crs=WGS84)


def study_area(geo: Geography) -> gpd.GeoDataFrame:
    """The land part of the region north of the border.

    Parameters
    ----------
    geo
        Region geography.

    Returns
    -------
    geopandas.GeoDataFrame
        One MultiPolygon with ``name``, EPSG:4326.
    """
    land = to_geo(MultiPolygon(list(shapely.get_parts(geo.land))))
    return gpd.GeoDataFrame({"name": [facts.REGION_NAME]}, geometry=[land], crs=WGS84)


def parcels(table: ParcelTable) -> gpd.GeoDataFrame:
    """Parcels with the assessor-style columns.

    Parameters
    ----------
    table
        Parcels in the working CRS.

    Returns
    -------
    geopandas.GeoDataFrame
        Polygons in EPSG:2230 (US survey feet); columns apn, land_use, vacant,
        situs_name, zoning, name (None where the parcel has no name).
    """
    df = pd.DataFrame(
        {
            "apn": table.apn.astype(str),
            "land_use": table.land_use.astype(str),
            "vacant": table.vacant.astype(bool),
            "situs_name": table.situs_name.astype(str),
            "zoning": table.zoning.astype(str),
            "name": table.name,
        }
    )
    geom = to_parcel_crs(table.geometry)
    bad = np.flatnonzero(~shapely.is_valid(geom))
    for k in bad:  # rare: reprojection made a near-degenerate ring self-touch
        parts = shapely.get_parts(shapely.make_valid(geom[k]))
        polys = parts[shapely.get_type_id(parts) == 3]
        geom[k] = polys[np.argmax(shapely.area(polys))]
    return gpd.GeoDataFrame(df, geometry=geom, crs=PARCEL_CRS)


def tracts(table: TractTable) -> gpd.GeoDataFrame:
    """Tracts with their ACS-style columns.

    Parameters
    ----------
    table
        Tracts in the working CRS.

    Returns
    -------
    geopandas.GeoDataFrame
        MultiPolygons in EPSG:4269 (NAD83, as TIGER ships them).
    """
    df = pd.DataFrame(table.columns)
    for col in df.columns[1:]:
        df[col] = df[col].astype(np.int64)
    return gpd.GeoDataFrame(df, geometry=to_geo(table.geometry), crs=NAD83)
