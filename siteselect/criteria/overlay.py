"""A map layer a criterion (or the map's context) hands to the outputs."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import geopandas as gpd

OverlayKind = Literal["zones", "points", "lines", "polygons"]


@dataclass
class Overlay:
    """A map layer drawn beside the candidates (exclusion zones, competitors...).

    Attributes
    ----------
    name : str
        Layer name shown in the layer control.
    kind : {"zones", "points", "lines", "polygons"}
        ``zones`` are exclusion areas (drawn red, hatched feel); ``points`` are
        facilities (competitors), ``lines``/``polygons`` are context.
    gdf : geopandas.GeoDataFrame
        Features in the working CRS.
    label_column : str or None
        Column shown in tooltips (feature name or exclusion reason).
    size_column : str or None
        For points: numeric column that scales the marker (e.g. beds).
    color : str
        CSS colour.
    show : bool
        Whether the layer is visible when the map opens.
    fill : str or None
        For context ``polygons``: CSS fill colour (e.g. land under the study area,
        so the map reads without basemap tiles); None draws the outline only.
    group : {"constraints", "context"} or None
        Heading of the map's layer list; None: ``constraints`` for ``zones``,
        ``context`` otherwise (the pipeline sets ``constraints`` on the layers of
        hard constraints).
    """

    name: str
    kind: OverlayKind
    gdf: gpd.GeoDataFrame
    label_column: str | None = None
    size_column: str | None = None
    color: str = "#555555"
    show: bool = True
    fill: str | None = None
    group: str | None = None
