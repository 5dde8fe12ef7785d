"""Cut the candidates into spatial partitions, and put the partitions' results together.

Partitions follow the Hilbert curve over the candidates' extent (geopandas'
``GeoSeries.hilbert_distance``, the key dask-geopandas' ``spatial_shuffle``
sorts by): consecutive candidates along the curve are near each other, so a
partition covers a compact area. The partitions are of equal size (one more
candidate in the first ones), cut from the sorted order; each keeps the
positions of its candidates in the study, so that the merged results are in
the study's order whatever the partitioning.
"""

from __future__ import annotations

import dataclasses
import logging
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from siteselect.criteria.base import Measurement
from siteselect.criteria.overlay import Overlay

logger = logging.getLogger(__name__)

HILBERT_LEVEL = 16
"""Cells per side of the Hilbert curve: 2**16 (65,536), ~10 m over a 600 km state."""


def hilbert_partitions(geometries: gpd.GeoSeries, count: int) -> list[np.ndarray]:
    """Positions of the candidates in each of ``count`` partitions along the Hilbert curve.

    Parameters
    ----------
    geometries : geopandas.GeoSeries
        The candidates' geometries (working CRS), in the study's order.
    count : int
        Number of partitions (at most the number of candidates).

    Returns
    -------
    list of numpy.ndarray
        Per partition, the positions (0-based, into ``geometries``) of its
        candidates, in curve order; together they are every position once.
    """
    n = len(geometries)
    if n == 0:
        return []
    count = max(1, min(count, n))
    geometries = geometries.reset_index(drop=True)
    present = ~(geometries.isna() | geometries.is_empty).to_numpy()
    distance = np.full(n, np.iinfo(np.int64).max, dtype=np.int64)  # no geometry: last
    if present.any():
        located = geometries[present]
        bounds = tuple(shapely.total_bounds(located.to_numpy()))
        distance[present] = located.hilbert_distance(
            total_bounds=bounds, level=HILBERT_LEVEL
        ).to_numpy(dtype=np.int64)
    order = np.lexsort((np.arange(n), distance))  # ties keep the study's order
    return [np.sort(part) for part in np.array_split(order, count)]


def merge_measurements(parts: list[Measurement], positions: list[np.ndarray]) -> Measurement:
    """One measurement of every candidate from the partitions' measurements.

    Per-candidate arrays are concatenated and put back in the study's order;
    the scalar fields (unit, label, phrases, ``finish``) come from the first
    partition; overlays are merged by name (:func:`merge_overlays`). The result
    is not finished: the pipeline applies ``finish`` to it, as to a local one.
    """
    order = np.concatenate(positions)
    inverse = np.empty(len(order), dtype=np.int64)
    inverse[order] = np.arange(len(order))
    sizes = [len(p) for p in positions]
    first = parts[0]
    for part in parts[1:]:
        if (part.unit, part.label) != (first.unit, first.label):
            logger.warning(
                "partitions disagree on the unit or label of %r: %r vs %r",
                first.label,
                (part.unit, part.label),
                (first.unit, first.label),
            )

    def joined(arrays: list[Any]) -> np.ndarray | None:
        if all(a is None for a in arrays):
            return None
        present = next(np.asarray(a) for a in arrays if a is not None)
        filled = [
            np.asarray(a) if a is not None else _blank(present.dtype, size)
            for a, size in zip(arrays, sizes, strict=True)
        ]
        return np.concatenate(filled)[inverse]

    def joined_dict(field: str) -> dict[str, np.ndarray]:
        out: dict[str, np.ndarray] = {}
        for name in dict.fromkeys(k for part in parts for k in getattr(part, field)):
            column = joined([getattr(part, field).get(name) for part in parts])
            assert column is not None
            out[name] = column
        return out

    values = joined([part.values for part in parts])
    assert values is not None
    return Measurement(
        values=values.astype(np.float64, copy=False),
        unit=first.unit,
        label=first.label,
        feature=joined([p.feature for p in parts]),
        extra_columns=joined_dict("extra_columns"),
        missing_reason=first.missing_reason,
        missing_reasons=joined([p.missing_reasons for p in parts]),
        phrase_low=first.phrase_low,
        phrase_high=first.phrase_high,
        overlays=merge_overlays([p.overlays for p in parts]),
        reasons=joined([p.reasons for p in parts]),
        exclusions=joined([p.exclusions for p in parts]),
        finish=first.finish,
        scratch=joined_dict("scratch"),
    )


def _blank(dtype: np.dtype, size: int) -> np.ndarray:
    """What a partition that left a field out stands for: "" (text), False, or NaN."""
    if dtype.kind in "OUS":
        return np.full(size, "", dtype=object)
    if dtype.kind == "b":
        return np.zeros(size, dtype=bool)
    return np.full(size, np.nan)


def _same_frame(a: gpd.GeoDataFrame, b: gpd.GeoDataFrame) -> bool:
    if len(a) != len(b) or list(a.columns) != list(b.columns):
        return False
    if not np.array_equal(
        shapely.to_wkb(a.geometry.to_numpy()), shapely.to_wkb(b.geometry.to_numpy())
    ):
        return False
    attributes = [c for c in a.columns if c != a.geometry.name]
    return bool(
        pd.DataFrame(a[attributes])
        .reset_index(drop=True)
        .equals(pd.DataFrame(b[attributes]).reset_index(drop=True))
    )


def merge_overlays(parts: list[list[Overlay]]) -> list[Overlay]:
    """The partitions' map layers merged by name.

    A layer every partition drew alike (zones, facilities, freeway entrances:
    they do not depend on the candidates) is kept once, as the local engine
    draws it. A layer that depends on the candidates (the visibility
    choropleth around them) is the union of the partitions' features: exact
    duplicates dropped, polygons of one class dissolved into one.
    """
    by_name: dict[str, list[Overlay]] = {}
    for overlays in parts:
        for overlay in overlays:
            by_name.setdefault(overlay.name, []).append(overlay)
    merged = []
    for drawn in by_name.values():
        first = drawn[0]
        if all(_same_frame(first.gdf, o.gdf) for o in drawn[1:]):
            merged.append(first)
            continue
        frame = pd.concat([o.gdf for o in drawn], ignore_index=True)
        frame = gpd.GeoDataFrame(frame, geometry=first.gdf.geometry.name, crs=first.gdf.crs)
        keys = [c for c in frame.columns if c != frame.geometry.name]
        if first.kind in ("polygons", "zones") and keys:
            frame = frame.dissolve(by=keys, as_index=False)
        else:
            wkb = pd.Series(shapely.to_wkb(frame.geometry.to_numpy()), index=frame.index)
            frame = frame[~pd.concat([frame[keys].astype(str), wkb], axis=1).duplicated()]
        merged.append(dataclasses.replace(first, gdf=frame.reset_index(drop=True)))
    return merged


EXTREME_KEYS = ("largest", "max", "p9", "p5", "p99", "worst")
SMALLEST_KEYS = ("smallest", "min", "nearest")


def merge_diagnostics(parts: list[dict[str, Any]]) -> dict[str, Any]:
    """The partitions' diagnostics (what each recorded while measuring) as one record.

    Values every partition recorded alike are kept once. Otherwise: counts are
    summed, the largest (``largest_m``, ``max_*``) and percentiles (``p95_m``)
    take the largest partition's (an upper bound of the whole set's
    percentile), the smallest take the smallest, lists are joined without
    repeats, dicts merged key by key, and other values are the first partition's.
    """
    merged: dict[str, Any] = {}
    for part in parts:
        for topic, value in part.items():
            merged[topic] = value if topic not in merged else _merged(merged[topic], value, topic)
    return merged


def _merged(a: Any, b: Any, key: str) -> Any:
    if a == b:
        return a
    if isinstance(a, dict) and isinstance(b, dict):
        out = dict(a)
        for k, v in b.items():
            out[k] = v if k not in out else _merged(out[k], v, str(k))
        return out
    if isinstance(a, list) and isinstance(b, list):
        return a + [v for v in b if v not in a]
    if isinstance(a, bool) or isinstance(b, bool):
        return bool(a) or bool(b)
    if isinstance(a, int | float) and isinstance(b, int | float):
        lowered = key.lower()
        if lowered.startswith(EXTREME_KEYS):
            return max(a, b)
        if lowered.startswith(SMALLEST_KEYS):
            return min(a, b)
        return a + b
    return a
