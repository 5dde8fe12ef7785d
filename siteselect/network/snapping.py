"""One snapping policy for every point set put on the road graph.

Candidates, demand points, facilities (competitors, the owner's hospitals)
and the target features of ``network_time`` (``to: <layer>``) all go on the
graph the same way:

1. **Nearest routable node.** Each point goes to the nearest node (KD-tree)
   from which it can drive the way it needs (:meth:`RoadGraph.snap`): an
   origin (``depart``: candidates driving to the freeway, demand points) to a
   node that reaches the *main network* (the largest strongly connected
   component), a destination (``arrive``: candidates patients drive to,
   facilities, targets) to a node the main network reaches, a point needing
   both (``to: freeway, mode: worst``) to the main network itself. Every
   departing node then reaches every arriving node, so snapping never makes a
   route up; searches run over the whole graph, so a time is always a true
   shortest path (or "unreachable").
2. **Connector.** The straight line to that node is driven at
   ``network.connector_speed_kmh``, for every set (a hospital 40 m off the
   road has 40 m of connector).
3. **Distance limit.** ``network.max_snap_m`` applies to every set; beyond
   it, candidates get no value with a reason that says which case applies
   (:func:`off_network_reasons`: no road within the limit, or a road nearby
   that is not connected to the main network), facilities and targets leave
   the choice set with a warning naming them unless ``network.far_facilities:
   keep``, demand points keep their connector time unless
   ``network.far_demand: drop``.
4. **Record.** Per set, the log and ``study.diagnostics["snapping"][<set>]``
   (run.json) give how many points snapped, the largest, 95th-percentile and
   median snap distance, how many lay beyond the limit, how many of those had
   a road nearby that is not connected, and what happened to them
   (:func:`snap_record`, :func:`record_snapping`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from siteselect.network.graph import Direction, RoadGraph

logger = logging.getLogger(__name__)

FarPolicy = Literal["keep", "drop"]
LISTED = 50
"""Points beyond the limit listed by name in a snapping record (the rest are counted)."""
LOGGED = 5
"""Of those, the ones named in the log line."""


@dataclass(frozen=True)
class Snap:
    """Where the points of one set went on the graph.

    Attributes
    ----------
    node : numpy.ndarray of int64
        Nearest routable node of each point (for ``direction``).
    snap_m : numpy.ndarray
        Distance to it (metres): the connector length.
    road_m : numpy.ndarray
        Distance to the nearest road node of any component, for points beyond
        the limit (elsewhere equal to ``snap_m``: not looked up).
    cut_off : numpy.ndarray of object
        Per point beyond the limit whose nearest road is within it: how that
        road is cut off from the main network ("" elsewhere).
    max_snap_m : float
        The limit (``network.max_snap_m``).
    direction : {"depart", "arrive", "both"}
        The way the points drive.
    """

    node: np.ndarray
    snap_m: np.ndarray
    road_m: np.ndarray
    cut_off: np.ndarray
    max_snap_m: float
    direction: Direction

    def __len__(self) -> int:
        return len(self.node)

    @property
    def beyond(self) -> np.ndarray:
        """Points farther than the limit from any routable node."""
        return self.snap_m > self.max_snap_m

    @property
    def disconnected(self) -> np.ndarray:
        """Points beyond the limit with a road within it that is not connected."""
        return self.beyond & (self.road_m <= self.max_snap_m)

    def take(self, index: np.ndarray | slice) -> Snap:
        """The points ``index`` (positions, a mask or a slice)."""
        return Snap(
            self.node[index],
            self.snap_m[index],
            self.road_m[index],
            self.cut_off[index],
            self.max_snap_m,
            self.direction,
        )


def snap_points(
    graph: RoadGraph, x: np.ndarray, y: np.ndarray, direction: Direction, max_snap_m: float
) -> Snap:
    """Snap points to the nearest routable node (see the module docstring).

    Only the points beyond the limit are looked up a second time, against
    every node, to tell "no road nearby" from "a road nearby that is not
    connected" (vectorised, two KD-tree queries at most).
    """
    x, y = np.asarray(x, dtype="float64"), np.asarray(y, dtype="float64")
    node, snap_m = graph.snap(x, y, direction)
    node = np.asarray(node, dtype=np.int64)
    road_m = snap_m.copy()
    cut_off = np.full(len(node), "", dtype=object)
    beyond = np.flatnonzero(snap_m > max_snap_m)
    if beyond.size:
        nearest, road_m[beyond] = graph.snap(x[beyond], y[beyond], "any")
        near = road_m[beyond] <= max_snap_m
        reaches, reached = graph.routable("depart"), graph.routable("arrive")
        at = nearest[near]
        cut_off[beyond[near]] = np.select(
            [reaches[at] & ~reached[at], reached[at] & ~reaches[at]],
            [
                "cannot be reached from the main network (one-way)",
                "has no route back into the main network (one-way)",
            ],
            default="is not connected to the main network",
        )
    return Snap(node, snap_m, road_m, cut_off, float(max_snap_m), direction)


def off_network_reasons(snap: Snap) -> np.ndarray:
    """Per point: "" within the limit, else why it is off the network.

    Either ``no road within 800 m (nearest road 1,950 m; network.max_snap_m)``
    or ``nearest road 0 m away is not connected to the main network; nearest
    connected road 1,423 m (network.max_snap_m 800 m)``.
    """
    reasons = np.full(len(snap), "", dtype=object)
    limit = f"{snap.max_snap_m:,.0f} m"
    for i in np.flatnonzero(snap.beyond):  # only the off-network points
        if snap.cut_off[i]:
            reasons[i] = (
                f"nearest road {snap.road_m[i]:,.0f} m away {snap.cut_off[i]}; nearest "
                f"connected road {snap.snap_m[i]:,.0f} m (network.max_snap_m {limit})"
            )
        else:
            reasons[i] = (
                f"no road within {limit} (nearest road {snap.road_m[i]:,.0f} m; network.max_snap_m)"
            )
    return reasons


def far_keep_mask(snap: Snap, policy: FarPolicy) -> np.ndarray:
    """Points a set keeps: all with ``keep``, those within the limit with ``drop``."""
    return np.ones(len(snap), dtype=bool) if policy == "keep" else ~snap.beyond


def snap_record(
    snap: Snap,
    beyond_action: str,
    *,
    names: np.ndarray | None = None,
    weights: np.ndarray | None = None,
    weight_unit: str = "",
    kept_beyond: bool = False,
) -> dict[str, Any]:
    """The JSON-serialisable summary of one set's snapping.

    Parameters
    ----------
    snap : Snap
        The set.
    beyond_action : str
        What happened to the points beyond the limit ("no value", "dropped",
        "kept with their connector time").
    names : numpy.ndarray, optional
        Feature names: the points beyond the limit are listed (up to
        :data:`LISTED`) with their distances.
    weights : numpy.ndarray, optional
        What each point carries (population): totals within and beyond.
    weight_unit : str
        Unit of ``weights`` (``people``, ``households``).
    kept_beyond : bool
        Whether the points beyond the limit were kept (for the weight totals).
    """
    beyond = snap.beyond
    distances = snap.snap_m

    def metres(values: np.ndarray, q: float) -> float | None:
        return round(float(np.percentile(values, q)), 1) if values.size else None

    record: dict[str, Any] = {
        "points": len(snap),
        "direction": snap.direction,
        "max_snap_m": snap.max_snap_m,
        "snapped": int((~beyond).sum()),
        "beyond_limit": int(beyond.sum()),
        "beyond_limit_road_not_connected": int(snap.disconnected.sum()),
        "largest_m": metres(distances, 100),
        "p95_m": metres(distances, 95),
        "median_m": metres(distances, 50),
        "beyond_limit_action": beyond_action,
    }
    if names is not None and beyond.any():
        far = np.flatnonzero(beyond)
        far = far[np.argsort(-distances[far], kind="stable")][:LISTED]
        record["beyond_limit_features"] = [
            {"name": str(names[i]), "snap_m": round(float(distances[i]), 1)} for i in far
        ]
    if weights is not None:
        weights = np.asarray(weights, dtype="float64")
        total, far_total = float(weights.sum()), float(weights[beyond].sum())
        record.update(
            {
                "unit": weight_unit,
                "total": round(total, 3),
                "beyond_limit_total": round(far_total, 3),
                "used_total": round(total if kept_beyond else total - far_total, 3),
            }
        )
    return record


def record_snapping(
    diagnostics: dict[str, Any], name: str, record: dict[str, Any], what: str
) -> str:
    """Log a set's snapping and store it in ``diagnostics["snapping"]``.

    The key is ``name`` (``candidates``, ``demand: tracts``...); a criterion
    snapping the same set with the same result adds itself to ``used_by`` (and
    its direction to ``directions``), a different result (another direction
    that snaps differently, other filters) gets its own key ``"<name> (<what>)"``.

    Returns
    -------
    str
        The key used.
    """
    sets = diagnostics.setdefault("snapping", {})
    merged = ("direction", "directions", "used_by")

    def result(entry: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in entry.items() if k not in merged}

    key = name
    existing = sets.get(key)
    if existing is not None and result(existing) != result(record):
        key = f"{name} ({what})"
        existing = sets.get(key)
    if existing is None:
        existing = sets[key] = {**result(record), "directions": [], "used_by": []}
    for field, value in (("directions", record["direction"]), ("used_by", what)):
        if value not in existing[field]:
            existing[field].append(value)
    logger.info(
        "%s: %s: %d of %d point(s) snapped within network.max_snap_m %g m "
        "(largest %s m, 95th percentile %s m)",
        what,
        name,
        record["snapped"],
        record["points"],
        record["max_snap_m"],
        record["largest_m"],
        record["p95_m"],
    )
    if record["beyond_limit"]:
        listed = record.get("beyond_limit_features")
        named = ""
        if listed:
            shown = ", ".join(f"{f['name']} ({f['snap_m']:,.0f} m)" for f in listed[:LOGGED])
            more = record["beyond_limit"] - min(len(listed), LOGGED)
            named = f": {shown}" + (
                f" and {more:,} more (run.json diagnostics.snapping)" if more > 0 else ""
            )
        share = ""
        if "total" in record and record["total"] > 0:
            share = (
                f" carrying {record['beyond_limit_total']:,.0f} of {record['total']:,.0f} "
                f"{record['unit']} ({100 * record['beyond_limit_total'] / record['total']:.1f}%)"
            )
        logger.warning(
            "%s: %s: %d point(s) farther than network.max_snap_m %g m from a connected road "
            "(%d with a road nearby that is not connected to the main network)%s: %s%s",
            what,
            name,
            record["beyond_limit"],
            record["max_snap_m"],
            record["beyond_limit_road_not_connected"],
            share,
            record["beyond_limit_action"],
            named,
        )
    return key
