"""Context layers for the map: what makes it readable without basemap tiles.

The study area drawn as land, the freeways of the road graph (when a criterion
loaded it), the layers listed in ``outputs.context_layers`` (coastline,
border) and, for each ``distance`` constraint with ``min_m``, the setback band
around its features (e.g. 150 m either side of a fault trace).
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import shapely

from siteselect.criteria.overlay import Overlay
from siteselect.network import RoadGraph
from siteselect.network.freeway import FREEWAY, freeway_edge_labels
from siteselect.study import Study


def context_overlays(study: Study) -> list[Overlay]:
    """Study area (as land), freeways, ``outputs.context_layers`` and fault setback zones."""
    overlays: list[Overlay] = []
    if study.study_area is not None:
        frame = study.study_area[["geometry"]].assign(feature_name="Study area")
        overlays.append(
            Overlay(
                "Study area", "polygons", frame, "feature_name", color="#333333", fill="#f7f4ec"
            )
        )
    if study.loaded_road_graph is not None:
        overlays += _freeway_overlay(study, study.loaded_road_graph)
    for name in study.config.outputs.context_layers:
        frame = study.vector(name)[["feature_name", "geometry"]]
        overlays.append(
            Overlay(
                name.replace("_", " ").capitalize(), "lines", frame, "feature_name", color="#2b8cbe"
            )
        )
    return overlays + _setback_overlays(study)


def _freeway_overlay(study: Study, graph: RoadGraph) -> list[Overlay]:
    """The freeways (``network.freeway_classes``) labelled by ref, else name, else "freeway"."""
    classes = study.config.network.freeway_classes if study.config.network else list(FREEWAY)
    mask, labels = freeway_edge_labels(graph.edges, classes)
    if not mask.any():
        return []
    u = graph.edges["u"].to_numpy()[mask]
    v = graph.edges["v"].to_numpy()[mask]
    ends = np.stack(
        [np.column_stack([graph.x[u], graph.y[u]]), np.column_stack([graph.x[v], graph.y[v]])],
        axis=1,
    )
    frame = gpd.GeoDataFrame(
        {"feature_name": labels}, geometry=shapely.linestrings(ends), crs=study.crs
    ).dissolve(by="feature_name", as_index=False)
    return [Overlay("Freeways", "lines", frame, "feature_name", color="#e6550d")]


def _setback_overlays(study: Study) -> list[Overlay]:
    """One zone overlay per ``distance`` constraint with ``min_m``: its layer buffered by it."""
    overlays: list[Overlay] = []
    for name, spec in study.config.constraints.items():
        min_m = getattr(spec, "min_m", None)
        if spec.kind != "distance" or not min_m:
            continue
        layer = study.vector(spec.layer)  # type: ignore[attr-defined]
        buffered = layer.geometry.buffer(float(min_m))  # metres: working CRS is projected
        frame = gpd.GeoDataFrame(
            {"feature_name": [f"Within {min_m:g} m of {n}" for n in layer["feature_name"]]},
            geometry=buffered.to_numpy(),
            crs=study.crs,
        ).dissolve(by="feature_name", as_index=False)
        title = f"{name.replace('_', ' ').capitalize()} ({min_m:g} m)"
        overlays.append(Overlay(title, "zones", frame, "feature_name", color="#b91c1c"))
    return overlays
