"""Freeway entrances and exits, respecting one-way direction.

An *entrance* is a node where an on-ramp joins the freeway: it has an incoming
ramp edge (``motorway_link``; optionally ``trunk_link``) and an outgoing
freeway edge (``motorway``; optionally ``trunk``). A diverge node (freeway in,
ramp out) is an *exit*. Because edges are directed (one-way ramps and
carriageways are single edges), an off-ramp is never mistaken for a way onto
the freeway.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from siteselect.network.graph import RoadGraph
from siteselect.network.table import highway_text

FREEWAY = ("motorway",)
RAMP = ("motorway_link",)


def _is_class(edges: pd.DataFrame, classes: Sequence[str]) -> np.ndarray:
    """Edges whose ``highway`` class is one of ``classes`` (compared as the tables store it)."""
    wanted = [highway_text(c) for c in classes]
    return edges["highway"].isin([c for c in wanted if c is not None]).to_numpy()


def _nodes(graph: RoadGraph, classes: Sequence[str], end: str) -> np.ndarray:
    edges = graph.edges
    return np.unique(edges[end].to_numpy()[_is_class(edges, classes)])


def freeway_edge_labels(
    edges: pd.DataFrame, freeway: Sequence[str] = FREEWAY
) -> tuple[np.ndarray, np.ndarray]:
    """The freeway edges of an edge table and a label for each.

    The label is the way's ``ref`` (``I 5``; ``I 5; I 8`` for a list), else
    its ``name``, else ``"freeway"``: real OSM has motorways without either.

    Returns
    -------
    (mask, labels)
        Boolean mask over ``edges``; object array of labels of the masked rows.
    """
    mask = _is_class(edges, freeway)
    ref = edges["ref"].to_numpy(dtype=object)[mask]
    name = edges["name"].to_numpy(dtype=object)[mask]
    labels = np.where(ref != "", ref, np.where(name != "", name, "freeway")).astype(object)
    return mask, labels


def freeway_entrances(
    graph: RoadGraph, freeway: Sequence[str] = FREEWAY, ramp: Sequence[str] = RAMP
) -> np.ndarray:
    """Matrix indices of nodes where a ramp edge enters and a freeway edge leaves.

    Parameters
    ----------
    graph : RoadGraph
    freeway, ramp : sequence of str
        OSM ``highway`` classes of the freeway and of its ramps.
    """
    return np.intersect1d(_nodes(graph, ramp, "v"), _nodes(graph, freeway, "u"))


def freeway_exits(
    graph: RoadGraph, freeway: Sequence[str] = FREEWAY, ramp: Sequence[str] = RAMP
) -> np.ndarray:
    """Matrix indices of nodes where a freeway edge enters and a ramp edge leaves."""
    return np.intersect1d(_nodes(graph, freeway, "v"), _nodes(graph, ramp, "u"))


def freeway_access_seconds(
    graph: RoadGraph,
    mode: str = "on_ramp",
    freeway: Sequence[str] = FREEWAY,
    ramp: Sequence[str] = RAMP,
) -> np.ndarray:
    """Seconds between every node and the freeway (inf where not connected).

    Parameters
    ----------
    graph : RoadGraph
    mode : {"on_ramp", "off_ramp", "worst"}
        ``on_ramp``: from the node to its nearest entrance; ``off_ramp``: from
        the nearest exit to the node (an ambulance arriving); ``worst``: the
        larger of the two.
    freeway, ramp : sequence of str
        OSM ``highway`` classes of the freeway and of its ramps.

    Raises
    ------
    siteselect._errors.NetworkError
        Through the searches, when there is no entrance/exit (callers check
        first to word the error for the user).
    """
    if mode not in ("on_ramp", "off_ramp", "worst"):
        raise ValueError(f"mode must be on_ramp, off_ramp or worst, not {mode!r}")
    seconds: list[np.ndarray] = []
    if mode in ("on_ramp", "worst"):
        seconds.append(graph.seconds_to_nearest(freeway_entrances(graph, freeway, ramp)))
    if mode in ("off_ramp", "worst"):
        seconds.append(graph.seconds_from_nearest(freeway_exits(graph, freeway, ramp)))
    return np.maximum.reduce(seconds)
