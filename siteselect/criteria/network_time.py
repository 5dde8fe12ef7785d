"""``network_time``: drive minutes between each candidate and the nearest target.

Targets are the freeway (``to: freeway`` with ``mode``: ``on_ramp`` = to the
nearest entrance, ``off_ramp`` = from the nearest exit, as an arriving
ambulance drives, ``worst`` = the larger of both; ``freeway_entrances`` and
``freeway_exits`` are shorthands for the first two) or the features of a layer
(e.g. hospitals, drive time to them). One multi-source Dijkstra gives every
node's time to (or from) its nearest target; each candidate adds its
connector (:mod:`siteselect.network.snapping`, the one snapping policy: the
nearest node it can drive from, for ``on_ramp`` and layer targets, or be
reached at, for ``off_ramp``, or both, for ``worst``; the straight line at
``network.connector_speed_kmh``). Layer targets snap the same way (the
nearest node reachable from the main network) with their own connector, and
those beyond ``network.max_snap_m`` follow ``network.far_facilities``.

Candidates farther than ``network.max_snap_m`` from a connected road are
flagged in the ``off_network`` column and get NO value (NaN), with a reason
that says which case applies: "no road within 800 m (nearest road 1,950 m)" or
"nearest road 0 m away is not connected to the main network; nearest
connected road 1,423 m". A constraint on this kind excludes them with that
reason, and a criterion leaves them unscored rather than pretending the
connector line is a road. ``snap_m`` carries each candidate's distance.
"""

from __future__ import annotations

import functools
import logging
from typing import TYPE_CHECKING, ClassVar, Literal

import geopandas as gpd
import numpy as np
import shapely
from pydantic import Field, model_validator

from siteselect._errors import NetworkError
from siteselect.criteria.base import KindSpec, Measurement, register
from siteselect.criteria.overlay import Overlay
from siteselect.network import RoadGraph, freeway_entrances, freeway_exits
from siteselect.network.graph import Direction
from siteselect.network.placement import BEYOND_ACTION
from siteselect.network.snapping import (
    far_keep_mask,
    off_network_reasons,
    record_snapping,
    snap_points,
    snap_record,
)

if TYPE_CHECKING:
    from siteselect.study import Study

logger = logging.getLogger(__name__)

FREEWAY_TARGETS = ("freeway", "freeway_entrances", "freeway_exits")
FreewayMode = Literal["on_ramp", "off_ramp", "worst"]
_SHORTHAND_MODE: dict[str, FreewayMode] = {
    "freeway_entrances": "on_ramp",
    "freeway_exits": "off_ramp",
}


class NetworkTimeSpec(KindSpec):
    """Drive time over the road network to the nearest target, in minutes."""

    kind: Literal["network_time"]
    to: str = Field(
        default="freeway_entrances",
        description="freeway (see mode), freeway_entrances, freeway_exits, or a layer name.",
    )
    mode: FreewayMode | None = Field(
        default=None,
        description="With to: freeway: on_ramp (to the nearest entrance, default), off_ramp "
        "(from the nearest exit) or worst (the larger of both).",
    )
    min_minutes: float | None = Field(default=None, ge=0, description="Constraint: lower bound.")
    max_minutes: float | None = Field(default=None, ge=0, description="Constraint: upper bound.")

    bound_fields: ClassVar[tuple[str, ...]] = ("min_minutes", "max_minutes")

    def bounds(self) -> tuple[float | None, float | None]:
        return (self.min_minutes, self.max_minutes)

    @model_validator(mode="after")
    def _check_mode(self) -> NetworkTimeSpec:
        if self.mode is None:
            return self
        if self.to not in FREEWAY_TARGETS:
            raise ValueError(f"'mode' applies to 'to: freeway' only, not to layer {self.to!r}")
        implied = _SHORTHAND_MODE.get(self.to)
        if implied is not None and self.mode != implied:
            raise ValueError(f"'to: {self.to}' means mode {implied}; use 'to: freeway' instead")
        return self

    @property
    def freeway_mode(self) -> FreewayMode:
        """The freeway mode of a freeway target."""
        return self.mode or _SHORTHAND_MODE.get(self.to, "on_ramp")

    @property
    def direction(self) -> Direction:
        """How candidates drive: to the targets (depart), from them (arrive), or both."""
        if self.to not in FREEWAY_TARGETS:
            return "depart"
        return {"on_ramp": "depart", "off_ramp": "arrive", "worst": "both"}[self.freeway_mode]

    def layer_names(self) -> list[str]:
        return [] if self.to in FREEWAY_TARGETS else [self.to]

    def uses_network(self) -> bool:
        return True


def _classes(study: Study | None) -> tuple[list[str], list[str]]:
    spec = None if study is None else study.config.network
    if spec is None:
        return ["motorway"], ["motorway_link"]
    return spec.freeway_classes, spec.ramp_classes


def _source_name(study: Study | None) -> str:
    spec = None if study is None else study.config.network
    return spec.source.name if spec is not None and spec.source is not None else "the network"


def freeway_targets(
    spec: NetworkTimeSpec, graph: RoadGraph, study: Study | None
) -> dict[str, np.ndarray]:
    """Entrance and/or exit nodes the spec's mode needs, keyed by "entrances"/"exits".

    Raises
    ------
    NetworkError
        The network has no entrance (or exit) at all.
    """
    freeway, ramp = _classes(study)
    mode = spec.freeway_mode
    wanted: dict[str, np.ndarray] = {}
    if mode in ("on_ramp", "worst"):
        wanted["entrances"] = freeway_entrances(graph, freeway, ramp)
    if mode in ("off_ramp", "worst"):
        wanted["exits"] = freeway_exits(graph, freeway, ramp)
    for what, nodes in wanted.items():
        if nodes.size == 0:
            joins = "joining" if what == "entrances" else "leaving"
            raise NetworkError(
                f"network.source: {_source_name(study)} has no freeway "
                f"{what[:-1]} (a {'/'.join(ramp)} {joins} a {'/'.join(freeway)}); "
                "use an extract that covers the study area and its freeways, or add "
                "trunk/trunk_link to network.freeway_classes/ramp_classes"
            )
        logger.info("freeway %s: %d node(s)", what, nodes.size)
    return wanted


def _layer_targets(
    spec: NetworkTimeSpec, graph: RoadGraph, study: Study
) -> tuple[np.ndarray, np.ndarray]:
    """Road nodes of the layer's features and their connector seconds (snapping policy)."""
    frame = study.vector(spec.to)
    if len(frame) == 0:
        raise NetworkError(f"layers.{spec.to}: no feature to drive to")
    network = study.config.network
    assert network is not None
    points = shapely.point_on_surface(frame.geometry.to_numpy())
    snap = snap_points(
        graph, shapely.get_x(points), shapely.get_y(points), "arrive", network.max_snap_m
    )
    keep = far_keep_mask(snap, network.far_facilities)
    record = snap_record(
        snap,
        BEYOND_ACTION[network.far_facilities],
        names=frame["feature_name"].to_numpy(),
        kept_beyond=network.far_facilities == "keep",
    )
    record_snapping(study.diagnostics, f"targets: {spec.to}", record, f"network_time ({spec.to})")
    if not keep.any():
        raise NetworkError(
            f"layers.{spec.to}: {study.layer_spec(spec.to).source.name}: every feature lies "
            f"farther than network.max_snap_m ({network.max_snap_m:g} m) from a connected road "
            f"(nearest {snap.snap_m.min():,.0f} m); use a network extract that covers them, "
            "raise network.max_snap_m or set network.far_facilities: keep"
        )
    connector_s = snap.snap_m / (network.connector_speed_kmh / 3.6)
    return snap.node[keep], connector_s[keep]


def _target_overlay(name: str, graph: RoadGraph, nodes: np.ndarray) -> Overlay:
    frame = gpd.GeoDataFrame(
        {"feature_name": [f"{name[:-1].lower()} (OSM node {graph.node_ids[i]})" for i in nodes]},
        geometry=shapely.points(graph.x[nodes], graph.y[nodes]),
        crs=graph.crs,
    )
    return Overlay(
        name=name,
        kind="points",
        gdf=frame,
        label_column="feature_name",
        color="#1f6feb",
        show=False,
    )


def node_seconds(
    spec: NetworkTimeSpec, graph: RoadGraph, study: Study
) -> tuple[np.ndarray, list[Overlay]]:
    """Seconds between every node and its nearest target, and the targets' map overlays."""
    if spec.to not in FREEWAY_TARGETS:
        nodes, connector_s = _layer_targets(spec, graph, study)
        return graph.seconds_to_nearest(nodes, connector_s), []
    targets = freeway_targets(spec, graph, study)
    parts: list[np.ndarray] = []
    overlays: list[Overlay] = []
    if "entrances" in targets:
        parts.append(graph.seconds_to_nearest(targets["entrances"]))
        overlays.append(_target_overlay("Freeway entrances", graph, targets["entrances"]))
    if "exits" in targets:
        parts.append(graph.seconds_from_nearest(targets["exits"]))
        overlays.append(_target_overlay("Freeway exits", graph, targets["exits"]))
    return np.maximum.reduce(parts), overlays


def _label(spec: NetworkTimeSpec) -> str:
    if spec.label:
        return spec.label
    if spec.to not in FREEWAY_TARGETS:
        return f"Drive time to nearest {spec.to}"
    return {
        "on_ramp": "Drive time to nearest freeway on-ramp",
        "off_ramp": "Drive time from nearest freeway off-ramp",
        "worst": "Drive time to/from the freeway (worse of on- and off-ramp)",
    }[spec.freeway_mode]


def _target_text(spec: NetworkTimeSpec) -> str:
    if spec.to not in FREEWAY_TARGETS:
        return f"any feature of {spec.to}"
    return {
        "on_ramp": "any freeway entrance",
        "off_ramp": "the site from any freeway exit",
        "worst": "and from the freeway",
    }[spec.freeway_mode]


def _targets_key(spec: NetworkTimeSpec) -> str:
    """What the node times depend on: the targets and the way to them (not the bounds)."""
    return f"{spec.to}|{spec.freeway_mode}|{spec.direction}"


def prepare(spec: NetworkTimeSpec, study: Study) -> None:
    """Every node's time to (or from) the targets, computed once per run and kept in
    ``study.shared["node_seconds"]`` (the Dask engine broadcasts it to the partitions)."""
    cached_node_seconds(spec, study)


def cached_node_seconds(spec: NetworkTimeSpec, study: Study) -> tuple[np.ndarray, list[Overlay]]:
    """:func:`node_seconds` for ``spec``'s targets, computed on first use."""
    memo = study.shared.setdefault("node_seconds", {})
    key = _targets_key(spec)
    if key not in memo:
        memo[key] = node_seconds(spec, study.road_graph(), study)
    return memo[key]


def _some_route(target: str, measurement: Measurement, study: Study) -> Measurement:
    """``finish``: raise when no candidate at all has a route (checked on every candidate)."""
    if len(measurement.values) == 0 or not np.isnan(measurement.values).all():
        return measurement
    far = np.asarray(measurement.extra_columns["off_network"], dtype=bool)
    unreachable = np.isnan(measurement.values) & ~far
    raise NetworkError(
        f"network.source: no candidate has a road route to {target.replace('_', ' ')} "
        f"({int(far.sum())} beyond network.max_snap_m, {int(unreachable.sum())} "
        "unreachable); check that the network covers the study area"
    )


@register(NetworkTimeSpec, prepare=prepare)
def measure(spec: NetworkTimeSpec, study: Study) -> Measurement:
    """Minutes between each candidate and its nearest target over the road network."""
    graph = study.road_graph()
    network_spec = study.config.network
    assert network_spec is not None  # checked when the config was loaded
    seconds, overlays = cached_node_seconds(spec, study)
    x, y = study.representative_xy()
    snap = snap_points(graph, x, y, spec.direction, network_spec.max_snap_m)
    record_snapping(
        study.diagnostics,
        "candidates",
        snap_record(snap, BEYOND_ACTION["none"], names=study.candidates["candidate_id"].to_numpy()),
        f"network_time ({spec.to})",
    )
    connector_s = snap.snap_m / (network_spec.connector_speed_kmh / 3.6)
    minutes = (seconds[snap.node] + connector_s) / 60.0
    far = snap.beyond
    unreachable = ~np.isfinite(minutes) & ~far
    minutes[unreachable | far] = np.nan
    reasons = off_network_reasons(snap)
    reasons[unreachable] = f"no road route to {_target_text(spec)}"
    label = _label(spec)
    phrase = "{value} " + (label[:1].lower() + label[1:]).replace("{", "{{").replace("}", "}}")
    return Measurement(
        values=minutes,
        unit="min",
        label=label,
        extra_columns={"snap_m": np.round(snap.snap_m, 1), "off_network": far},
        missing_reason="farther than network.max_snap_m from a connected road, "
        "or no road route to a target",
        missing_reasons=reasons,
        phrase_low=phrase,
        phrase_high=phrase,
        overlays=overlays,
        finish=functools.partial(_some_route, spec.to),
    )
