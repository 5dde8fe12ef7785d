"""Freeway entrances and exits, respecting one-way direction.

An *entrance* is a node where an on-ramp joins the freeway: it has an incoming
ramp edge (``motorway_link``) and an outgoing freeway edge (``motorway``). A
diverge node (freeway in, ramp out) is an *exit*. Because edges are directed,
an off-ramp is never mistaken for a way onto the freeway.
"""

from __future__ import annotations

import numpy as np

from siteselect.network.graph import RoadGraph

FREEWAY = ("motorway",)
RAMP = ("motorway_link",)


def freeway_entrances(
    graph: RoadGraph, freeway: tuple[str, ...] = FREEWAY, ramp: tuple[str, ...] = RAMP
) -> np.ndarray:
    """Matrix indices of nodes where a ramp edge enters and a freeway edge leaves."""
    edges = graph.edges
    ramp_in = np.unique(edges.loc[edges["highway"].isin(ramp), "v"].to_numpy())
    freeway_out = np.unique(edges.loc[edges["highway"].isin(freeway), "u"].to_numpy())
    return np.intersect1d(ramp_in, freeway_out)


def freeway_exits(
    graph: RoadGraph, freeway: tuple[str, ...] = FREEWAY, ramp: tuple[str, ...] = RAMP
) -> np.ndarray:
    """Matrix indices of nodes where a freeway edge enters and a ramp edge leaves."""
    edges = graph.edges
    freeway_in = np.unique(edges.loc[edges["highway"].isin(freeway), "v"].to_numpy())
    ramp_out = np.unique(edges.loc[edges["highway"].isin(ramp), "u"].to_numpy())
    return np.intersect1d(freeway_in, ramp_out)
