"""Synthetic traffic counts on the demo freeways, in the shape of state AADT count files.

One count station every 4 km along each freeway corridor's centre line, with
a two-way annual average daily traffic (AADT) that varies smoothly around the
corridor's level. The levels are rounded magnitudes of the kind Caltrans
publishes for San Diego's freeways (I-805 and I-5 near 200,000 vehicles a
day, SR-905 near 55,000): synthetic values, not real counts.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import shapely
from shapely.geometry import LineString

from siteselect.demo import corridors
from siteselect.demo.common import to_geo, to_work

STATION_SPACING_M = 4000.0
M_PER_MILE = 1609.344
# Two-way AADT level per corridor key (vehicles per day), rounded magnitudes.
AADT_LEVEL: dict[str, int] = {
    "I5": 190_000,
    "I8": 180_000,
    "I15": 150_000,
    "I805": 200_000,
    "SR163": 120_000,
    "SR52": 100_000,
    "SR94": 130_000,
    "SR125": 70_000,
    "SR905": 55_000,
    "SR54": 90_000,
}


def count_stations(rng: np.random.Generator) -> gpd.GeoDataFrame:
    """Count points (lon/lat, EPSG:4326) with ROUTE, POSTMILE and AHEAD_AADT columns."""
    rows: list[dict[str, object]] = []
    points: list[shapely.Point] = []
    for corridor in corridors.CORRIDORS:
        line = to_work(LineString(corridor.line))
        at = np.arange(STATION_SPACING_M / 2, line.length, STATION_SPACING_M)
        phase = rng.uniform(0.0, 2.0 * np.pi)
        swing = 1.0 + 0.12 * np.sin(phase + at / 6000.0)
        level = AADT_LEVEL[corridor.key]
        for distance, factor in zip(at, swing, strict=True):
            rows.append(
                {
                    "ROUTE": corridor.ref,
                    "POSTMILE": round(float(distance) / M_PER_MILE, 2),
                    "AHEAD_AADT": int(round(level * factor, -2)),
                }
            )
            points.append(line.interpolate(float(distance)))
    geometry = to_geo(np.array(points, dtype=object))
    return gpd.GeoDataFrame(rows, geometry=list(geometry), crs="EPSG:4326")
