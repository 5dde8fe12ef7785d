"""Counted roads: sampled every few tens of metres, grouped into carriageways and roads.

The road graph's edges (:attr:`siteselect.network.RoadGraph.edges`: ``u``,
``v``, ``highway``, ``length_m``, ``speed_kmh``, ``name``, ``ref``; node
``x``/``y`` in the working CRS) of the counted classes are

* merged into physical segments: a two-way street appears as the edges u->v
  and v->u, kept once (``oneway`` False); a one-way edge is one carriageway
  of a divided road (freeway carriageways, one-way couplets: ``oneway`` True);
* labelled by their road: the ``ref`` (``I 15``, shown ``I-15``), else the
  ``name``, else ``unnamed <class>``;
* grouped into *routes*: connected runs of segments with the same label and
  the same one-way status (each carriageway of I-15 is one route, a named
  two-way arterial is one route). A vehicle passes every sample of its
  route, so the exposure counts it once per route;
* laid end to end per route (its segments in the network's order, drawn
  straight between their nodes: OSM XML/PBF keep every shape point; a
  simplified GraphML has straight edges between junctions) and cut into
  equal pieces of at most ``spacing_m``, each sampled at its middle, so that
  short OSM edges do not multiply the samples.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from siteselect.network import RoadGraph

_SHIELDS = re.compile(r"^([A-Z]{1,3})\s*[- ]?\s*(\d+[A-Z]?)$")


def display_ref(label: str) -> str:
    """How a road label reads in a sentence: ``I 15`` -> ``I-15``; lists keep the first.

    >>> display_ref("I 15"), display_ref("I 5; I 8"), display_ref("CA 163"), display_ref("Main St")
    ('I-15', 'I-5', 'CA-163', 'Main St')
    """
    first = label.split(";")[0].strip()
    match = _SHIELDS.match(first)
    return f"{match.group(1)}-{match.group(2)}" if match else first


@dataclass(frozen=True)
class RoadSamples:
    """Points along the counted roads, one per piece of at most ``spacing_m``.

    Attributes
    ----------
    x, y : numpy.ndarray
        Working-CRS coordinates of each piece's middle.
    length_m : numpy.ndarray
        Length of road each sample stands for (its piece).
    highway : numpy.ndarray of object
        Road class of the sample's edge.
    oneway : numpy.ndarray of bool
        The sample is on one carriageway of a divided road (or a one-way street).
    speed_kmh : numpy.ndarray
        Speed on the edge (the network's ``maxspeed`` or class default).
    route : numpy.ndarray of int64
        Carriageway id (connected run of one label and one-way status).
    road : numpy.ndarray of int64
        Index into ``labels``.
    labels : numpy.ndarray of object
        Label of each road (``I 15``, ``Mission Gorge Road``, ``unnamed primary``).
    """

    x: np.ndarray
    y: np.ndarray
    length_m: np.ndarray
    highway: np.ndarray
    oneway: np.ndarray
    speed_kmh: np.ndarray
    route: np.ndarray
    road: np.ndarray
    labels: np.ndarray

    def __len__(self) -> int:
        return len(self.x)

    def select(self, keep: np.ndarray) -> RoadSamples:
        """The samples where ``keep`` is True (routes and labels unchanged)."""
        return RoadSamples(
            self.x[keep],
            self.y[keep],
            self.length_m[keep],
            self.highway[keep],
            self.oneway[keep],
            self.speed_kmh[keep],
            self.route[keep],
            self.road[keep],
            self.labels,
        )


def _segments(graph: RoadGraph, classes: tuple[str, ...]) -> pd.DataFrame:
    """Counted edges as physical segments (two-way pairs kept once) with labels."""
    edges = graph.edges
    highway = edges["highway"].astype(object).to_numpy()
    counted = np.isin(highway, np.array(classes, dtype=object))
    u = edges["u"].to_numpy()[counted]
    v = edges["v"].to_numpy()[counted]
    frame = pd.DataFrame(
        {
            "u": u,
            "v": v,
            "highway": highway[counted],
            "speed_kmh": edges["speed_kmh"].to_numpy()[counted],
            "ref": edges["ref"].astype(object).to_numpy()[counted],
            "name": edges["name"].astype(object).to_numpy()[counted],
        }
    )
    frame = frame[frame["u"] != frame["v"]]
    low = np.minimum(frame["u"], frame["v"])
    high = np.maximum(frame["u"], frame["v"])
    frame = frame.assign(low=low, high=high)
    pair_count = frame.groupby(["low", "high"])["u"].transform("size")
    directions = frame.groupby(["low", "high"])["u"].transform("nunique")
    frame = frame.assign(oneway=~((pair_count >= 2) & (directions == 2)).to_numpy())
    frame = frame.drop_duplicates(["low", "high"], keep="first")
    label = np.where(
        frame["ref"] != "",
        frame["ref"],
        np.where(frame["name"] != "", frame["name"], "unnamed " + frame["highway"].astype(str)),
    )
    return frame.assign(label=label).reset_index(drop=True)


def _routes(frame: pd.DataFrame, n_nodes: int) -> np.ndarray:
    """Connected runs of segments sharing a label and a one-way status."""
    group = pd.factorize(pd.Series(list(zip(frame["label"], frame["oneway"], strict=True))))[0]
    a = group.astype(np.int64) * n_nodes + frame["low"].to_numpy()
    b = group.astype(np.int64) * n_nodes + frame["high"].to_numpy()
    keys, index = np.unique(np.concatenate([a, b]), return_inverse=True)
    m = len(frame)
    adjacency = coo_matrix((np.ones(m), (index[:m], index[m:])), shape=(len(keys), len(keys)))
    _, component = connected_components(adjacency, directed=False)
    return component[index[:m]]


def sample_roads(graph: RoadGraph, classes: tuple[str, ...], spacing_m: float) -> RoadSamples:
    """Samples every ``spacing_m`` (at most) along the counted classes of the graph.

    Parameters
    ----------
    graph : RoadGraph
        The study's road network (working CRS).
    classes : tuple of str
        OSM ``highway`` classes counted (``motorway``, ``trunk``, ``primary``).
    spacing_m : float
        Largest length of road one sample stands for.
    """
    frame = _segments(graph, classes)
    if frame.empty:
        empty = np.zeros(0)
        return RoadSamples(
            empty,
            empty,
            empty,
            np.zeros(0, dtype=object),
            np.zeros(0, dtype=bool),
            empty,
            np.zeros(0, dtype=np.int64),
            np.zeros(0, dtype=np.int64),
            np.zeros(0, dtype=object),
        )
    route = _routes(frame, graph.n_nodes)
    road, labels = pd.factorize(frame["label"], sort=True)
    x0 = graph.x[frame["u"].to_numpy()]
    y0 = graph.y[frame["u"].to_numpy()]
    x1 = graph.x[frame["v"].to_numpy()]
    y1 = graph.y[frame["v"].to_numpy()]
    length = np.hypot(x1 - x0, y1 - y0)
    # segments in sample order (road, route, table order), laid end to end per route
    order = np.lexsort((np.arange(len(frame)), route, road))
    order = order[length[order] > 0]
    seg_route = route[order]
    ends = np.cumsum(length[order])
    first = np.r_[True, seg_route[1:] != seg_route[:-1]]
    route_start = (ends - length[order])[first]
    route_total = np.diff(np.r_[route_start, ends[-1]])
    pieces = np.maximum(np.ceil(route_total / spacing_m - 1e-9).astype(np.int64), 1)
    owner = np.repeat(np.arange(len(pieces)), pieces)
    rank = np.arange(len(owner)) - np.repeat(np.cumsum(pieces) - pieces, pieces)
    piece_m = route_total / pieces
    at = route_start[owner] + (rank + 0.5) * piece_m[owner]
    position = np.minimum(np.searchsorted(ends, at, side="right"), len(ends) - 1)
    segment = order[position]
    t = np.clip((at - (ends[position] - length[segment])) / length[segment], 0.0, 1.0)
    return RoadSamples(
        x=x0[segment] + t * (x1 - x0)[segment],
        y=y0[segment] + t * (y1 - y0)[segment],
        length_m=piece_m[owner],
        highway=frame["highway"].to_numpy()[segment],
        oneway=frame["oneway"].to_numpy()[segment],
        speed_kmh=frame["speed_kmh"].to_numpy(dtype=float)[segment],
        route=route[segment].astype(np.int64),
        road=road[segment].astype(np.int64),
        labels=np.asarray(labels, dtype=object),
    )
