"""``network_time``: drive minutes from each candidate to the nearest target.

Targets are the freeway entrances (on-ramps joining a freeway), the freeway
exits, or the features of a layer (e.g. hospitals). One multi-source Dijkstra
over the reversed road graph gives every node's time to its nearest target;
each candidate adds an off-network connector (straight line from a point
inside it to its nearest node of the main strongly connected component, at
``network.connector_speed_kmh``).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, ClassVar, Literal

import geopandas as gpd
import numpy as np
import shapely
from pydantic import Field

from siteselect._errors import NetworkError
from siteselect.criteria.base import KindSpec, Measurement, register
from siteselect.network import RoadGraph, freeway_entrances, freeway_exits
from siteselect.results import Overlay

if TYPE_CHECKING:
    from siteselect.study import Study

logger = logging.getLogger(__name__)

FREEWAY_TARGETS = ("freeway_entrances", "freeway_exits")


class NetworkTimeSpec(KindSpec):
    """Drive time over the road network to the nearest target, in minutes."""

    kind: Literal["network_time"]
    to: str = Field(
        default="freeway_entrances",
        description="freeway_entrances, freeway_exits, or the name of a layer.",
    )
    min_minutes: float | None = Field(default=None, ge=0, description="Constraint: lower bound.")
    max_minutes: float | None = Field(default=None, ge=0, description="Constraint: upper bound.")

    bound_fields: ClassVar[tuple[str, ...]] = ("min_minutes", "max_minutes")

    def bounds(self) -> tuple[float | None, float | None]:
        return (self.min_minutes, self.max_minutes)

    def layer_names(self) -> list[str]:
        return [] if self.to in FREEWAY_TARGETS else [self.to]

    def uses_network(self) -> bool:
        return True


def _target_nodes(spec: NetworkTimeSpec, graph: RoadGraph, study: Study) -> np.ndarray:
    if spec.to == "freeway_entrances":
        nodes = freeway_entrances(graph)
        what = "freeway entrance (a motorway_link joining a motorway)"
    elif spec.to == "freeway_exits":
        nodes = freeway_exits(graph)
        what = "freeway exit (a motorway_link leaving a motorway)"
    else:
        frame = study.vector(spec.to)
        points = shapely.point_on_surface(frame.geometry.to_numpy())
        nodes, _ = graph.snap(shapely.get_x(points), shapely.get_y(points))
        what = f"feature of layer {spec.to!r}"
    if nodes.size == 0:
        raise NetworkError(
            f"network.source: the road network has no {what}; "
            "check that it covers the study area and includes its freeways"
        )
    logger.info("%s: %d target node(s)", spec.to, nodes.size)
    return nodes


def _target_overlay(spec: NetworkTimeSpec, graph: RoadGraph, nodes: np.ndarray) -> Overlay:
    frame = gpd.GeoDataFrame(
        {
            "feature_name": [
                f"{spec.to.replace('_', ' ')[:-1]} (OSM node {graph.node_ids[i]})" for i in nodes
            ]
        },
        geometry=shapely.points(graph.x[nodes], graph.y[nodes]),
        crs=graph.crs,
    )
    return Overlay(
        name=spec.to.replace("_", " ").capitalize(),
        kind="points",
        gdf=frame,
        label_column="feature_name",
        color="#1f6feb",
        show=False,
    )


@register(NetworkTimeSpec)
def measure(spec: NetworkTimeSpec, study: Study) -> Measurement:
    """Minutes from each candidate to its nearest target over the road network."""
    graph = study.road_graph()
    targets = _target_nodes(spec, graph, study)
    seconds = graph.seconds_to_nearest(targets)
    x, y = study.representative_xy()
    nodes, snap_m = graph.snap(x, y)
    network_spec = study.config.network
    assert network_spec is not None  # checked when the config was loaded
    connector_s = snap_m / (network_spec.connector_speed_kmh / 3.6)
    minutes = (seconds[nodes] + connector_s) / 60.0
    minutes[~np.isfinite(minutes)] = np.nan
    far = snap_m > network_spec.max_snap_m
    if far.any():
        logger.warning(
            "%d candidate(s) more than %g m from any road", int(far.sum()), network_spec.max_snap_m
        )
    label = {
        "freeway_entrances": "Drive time to nearest freeway on-ramp",
        "freeway_exits": "Drive time from nearest freeway off-ramp",
    }.get(spec.to, f"Drive time to nearest {spec.to}")
    label = spec.label or label
    phrase = "{value} " + (label[:1].lower() + label[1:]).replace("{", "{{").replace("}", "}}")
    return Measurement(
        values=minutes,
        unit="min",
        label=label,
        extra_columns={"snap_m": np.round(snap_m, 1), "off_network": far},
        missing_reason="no road route to any target",
        phrase_low=phrase,
        phrase_high=phrase,
        overlays=[_target_overlay(spec, graph, targets)],
    )
