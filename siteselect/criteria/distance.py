"""``distance``: metres from each candidate to the nearest feature of a layer.

Measured from the candidate's outline (0 when it touches or overlaps the
feature), in the working CRS. The raw value is the exact planar distance for
every candidate (not a bound, whatever the transform or the constraint bounds),
so a later re-scoring from the written raw values is exact.

It is fast because the index holds *segments*, not whole features: lines and
polygon outlines are split into their 2-point segments, so a nearest-neighbour
query (``STRtree.query_nearest``) measures a parcel against the few segments
near it instead of against whole 1,000-vertex fault traces (5x faster at county
scale). A candidate that overlaps a polygon feature is at 0 m from it (found by
an ``intersects`` query on the polygons); otherwise its distance to a polygon is
its distance to the polygon's outline. Where several features are equally near,
the first in the layer's order is named.

One exception: a layer read only by setback constraints (``min_m``, no
``max_m``, no criterion on it) is searched only up to the largest ``min_m``
(:func:`setback_search_m`): farther candidates pass whatever their distance, get
+inf, and no constraint value is written to the outputs (25x faster for a
150 m fault setback over a county).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar, Literal

import numpy as np
import shapely
from pydantic import Field

from siteselect.criteria.base import KindSpec, Measurement, register
from siteselect.criteria.overlay import Overlay
from siteselect.parallel import concat, map_chunks, ready_tree

if TYPE_CHECKING:
    from siteselect.study import Study


class DistanceSpec(KindSpec):
    """Straight-line distance to the nearest feature of ``layer``, in metres."""

    kind: Literal["distance"]
    layer: str = Field(description="Name of an entry under 'layers:'.")
    min_m: float | None = Field(default=None, ge=0, description="Constraint: minimum distance.")
    max_m: float | None = Field(default=None, ge=0, description="Constraint: maximum distance.")
    size_column: str | None = Field(
        default=None, description="Map: numeric column sizing the layer's markers (e.g. BEDS)."
    )

    bound_fields: ClassVar[tuple[str, ...]] = ("min_m", "max_m")

    def bounds(self) -> tuple[float | None, float | None]:
        return (self.min_m, self.max_m)


def _overlay(spec: DistanceSpec, study: Study) -> Overlay:
    frame = study.vector(spec.layer)
    kinds = set(frame.geom_type)
    kind = (
        "points"
        if kinds <= {"Point", "MultiPoint"}
        else ("lines" if kinds <= {"LineString", "MultiLineString"} else "polygons")
    )
    columns = ["feature_name", "geometry"]
    if spec.size_column and spec.size_column in frame.columns:
        columns.insert(1, spec.size_column)
    return Overlay(
        name=spec.label or spec.layer.replace("_", " ").capitalize(),
        kind=kind,
        gdf=frame[columns],
        label_column="feature_name",
        size_column=spec.size_column if spec.size_column in frame.columns else None,
        color="#7b3294" if kind == "points" else "#b35806",
    )


_MULTI_TYPES = (
    shapely.GeometryType.MULTIPOINT,
    shapely.GeometryType.MULTILINESTRING,
    shapely.GeometryType.MULTIPOLYGON,
    shapely.GeometryType.GEOMETRYCOLLECTION,
)


_AREAL_TYPES = (shapely.GeometryType.POLYGON, shapely.GeometryType.MULTIPOLYGON)


def feature_segments(features: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Split features into what the nearest-neighbour index holds, with each piece's owner.

    Lines and polygon outlines become their 2-point segments; points stay points.

    Parameters
    ----------
    features : numpy.ndarray of shapely geometries
        The layer's geometries (any type; empty ones contribute nothing).

    Returns
    -------
    pieces : numpy.ndarray of shapely geometries
        Points and 2-point line segments.
    owner : numpy.ndarray of int
        For each piece, the position of its feature in ``features``.
    polygons : numpy.ndarray of int
        Positions of the features with a polygon part (a candidate overlapping one
        is at 0 m from it, which its outline's segments do not tell).
    """
    parts, part_owner = np.asarray(features, dtype=object), np.arange(len(features))
    while True:  # collections may nest: flatten to single parts
        parts_type = shapely.get_type_id(parts)
        if not np.isin(parts_type, _MULTI_TYPES).any():
            break
        parts, part_index = shapely.get_parts(parts, return_index=True)
        part_owner = part_owner[part_index]
    is_point = (parts_type == shapely.GeometryType.POINT) & ~shapely.is_empty(parts)
    is_polygon = parts_type == shapely.GeometryType.POLYGON
    is_line = np.isin(
        parts_type, (shapely.GeometryType.LINESTRING, shapely.GeometryType.LINEARRING)
    )
    rings, ring_part = shapely.get_rings(parts[is_polygon], return_index=True)
    lines = np.concatenate([parts[is_line], rings])
    line_owner = np.concatenate([part_owner[is_line], part_owner[is_polygon][ring_part]])
    coords, vertex_line = shapely.get_coordinates(lines, return_index=True)
    same_line = vertex_line[1:] == vertex_line[:-1]
    segments = shapely.linestrings(
        np.stack([coords[:-1][same_line], coords[1:][same_line]], axis=1)
    )
    pieces = np.concatenate([parts[is_point], segments])
    owner = np.concatenate([part_owner[is_point], line_owner[vertex_line[:-1][same_line]]])
    return pieces, owner, np.unique(part_owner[is_polygon])


def nearest_features(
    candidates: np.ndarray, features: np.ndarray, max_distance_m: float | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Exact distance from each candidate to the nearest feature, and that feature.

    Parameters
    ----------
    candidates : numpy.ndarray of shapely geometries
        Candidate outlines (or points), working CRS.
    features : numpy.ndarray of shapely geometries
        The layer's geometries, working CRS.
    max_distance_m : float, optional
        Search no farther: candidates without a feature within it get +inf.

    Returns
    -------
    distance_m : numpy.ndarray of float
        ``shapely.distance(candidate, nearest feature)``; NaN for an empty
        candidate or when the layer has no geometry; +inf beyond ``max_distance_m``.
    feature_index : numpy.ndarray of int
        Position in ``features`` of the nearest feature (the first in order among
        equally near ones); -1 where the distance is NaN or +inf.
    """
    candidates = np.asarray(candidates, dtype=object)
    n = len(candidates)
    distance_m = np.full(n, np.nan)
    feature_index = np.full(n, -1, dtype=np.int64)
    pieces, owner, polygons = feature_segments(features)
    if pieces.size == 0 or n == 0:
        return distance_m, feature_index
    # a polygon's distance to what it does not touch is its outline's: measuring from
    # the outline skips GEOS's point-in-polygon test per segment (15% faster); the
    # segments a parcel touches or contains are found by an intersects query. The
    # candidates are split into chunks measured on every core (GEOS releases the GIL).
    tree = ready_tree(shapely.STRtree(pieces))

    def chunk(start: int, stop: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        part = candidates[start:stop]
        areal = np.isin(shapely.get_type_id(part), _AREAL_TYPES)
        outlines = part.copy()
        outlines[areal] = shapely.boundary(part[areal])
        (near, piece), distance = tree.query_nearest(
            outlines, max_distance=max_distance_m, return_distance=True, all_matches=True
        )
        touch, touch_piece = tree.query(part[areal], predicate="intersects")
        near = np.concatenate([near, np.flatnonzero(areal)[touch]]) + start
        return (
            near,
            np.concatenate([piece, touch_piece]),
            np.concatenate([distance, np.zeros(touch.size)]),
        )

    found = map_chunks(chunk, n)
    cand, piece, distance = (concat([f[k] for f in found]) for k in range(3))
    if max_distance_m is not None:
        distance_m[~shapely.is_empty(candidates)] = np.inf
    feature = owner[piece]
    if polygons.size:
        overlap_tree = ready_tree(shapely.STRtree(features[polygons]))
        overlaps = map_chunks(
            lambda start, stop: (
                overlap_tree.query(candidates[start:stop], predicate="intersects")
                + np.array([[start], [0]])
            ),
            n,
        )
        overlap_cand, overlap_polygon = (
            concat([o[0] for o in overlaps]),
            concat([o[1] for o in overlaps]),
        )
        cand = np.concatenate([cand, overlap_cand])
        distance = np.concatenate([distance, np.zeros(overlap_cand.size)])
        feature = np.concatenate([feature, polygons[overlap_polygon]])
    if cand.size == 0:
        return distance_m, feature_index
    order = np.lexsort((feature, distance, cand))
    first = order[np.r_[True, cand[order][1:] != cand[order][:-1]]]
    distance_m[cand[first]] = distance[first]
    feature_index[cand[first]] = feature[first]
    return distance_m, feature_index


def setback_search_m(spec: DistanceSpec, study: Study) -> float | None:
    """How far to search when only setbacks read the layer's distances; None: everywhere.

    Every config entry measuring distances to ``spec.layer`` shares one
    measurement. When all of them are constraints with ``min_m`` and no ``max_m``,
    only distances under the largest ``min_m`` decide anything (a failure and its
    reason); farther candidates pass whatever their distance, and constraint
    values are not written to the outputs, so they are not measured (+inf).
    """
    config = study.config
    entries = [
        entry
        for entry in (*config.criteria.values(), *config.constraints.values())
        if isinstance(entry, DistanceSpec) and entry.layer == spec.layer
    ]
    if all(e.transform is None and e.max_m is None and e.min_m is not None for e in entries):
        return max(float(e.min_m) for e in entries)  # type: ignore[arg-type]
    return None


def names_at(names: np.ndarray, index: np.ndarray) -> np.ndarray:
    """``names[index]`` as an object array, "" where ``index`` is -1.

    >>> names_at(np.array(["a", "b"]), np.array([1, -1, 0])).tolist()
    ['b', '', 'a']
    """
    out = np.full(len(index), "", dtype=object)
    found = index >= 0
    out[found] = np.asarray(names, dtype=object)[index[found]]
    return out


@register(DistanceSpec)
def measure(spec: DistanceSpec, study: Study) -> Measurement:
    """Distance (m) from each candidate to its nearest feature, and that feature's name."""
    features = study.vector(spec.layer)
    values, feature_index = nearest_features(
        study.candidates.geometry.to_numpy(),
        features.geometry.to_numpy(),
        max_distance_m=setback_search_m(spec, study),
    )
    nearest = names_at(features["feature_name"].to_numpy(), feature_index)
    touching = values == 0
    reasons = np.where(touching, "touches or crosses " + nearest.astype(str), "")
    return Measurement(
        values=values,
        reasons=reasons if touching.any() else None,
        unit="m",
        label=spec.label or f"Distance to nearest {spec.layer.replace('_', ' ')}",
        feature=nearest,
        overlays=[_overlay(spec, study)],
        phrase_low="within {value} of {feature}",
        phrase_high="{value} from the nearest, {feature}",
    )
