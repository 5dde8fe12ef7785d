"""Per-geometry accumulation of zonal statistics (extremes, weighted mean, percentiles).

The coverage kernel in :mod:`siteselect.study.zonal` yields (geometry, cell value,
covered fraction) triples in batches; :class:`Accumulator` folds them into a
:class:`ZonalResult` without keeping the cells, except when percentiles are
asked for.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

PERCENTILE_TIE_TOLERANCE = 1e-9
"""Share of a geometry's covered area within which a cumulative share reaches ``p`` %.

Coverage fractions carry rounding noise (about 1e-12 of a cell, more on
geographic grids), so a parcel split exactly in half between two values
computes a cumulative share of 0.5 plus or minus noise; without a tolerance
``p50`` would flip between the two values with the arithmetic's order. It is
far above that noise and far below any share a real parcel is designed to
have (1e-9 of a 30 m cell is 0.9 mm2).
"""


def weighted_percentile(values: np.ndarray, weights: np.ndarray, p: float) -> float:
    """Coverage-weighted percentile: the definition the vectorised code implements.

    With W the total weight and C(v) the weight of the values at or below v,
    ``p``'s percentile is the smallest value v with
    ``C(v) >= (p / 100 - PERCENTILE_TIE_TOLERANCE) * W``, for 0 < p < 100;
    ``p = 0`` is the minimum and ``p = 100`` the maximum. There is no
    interpolation: the result is a value that occurs on the parcel. A share
    that reaches p % exactly (a tie, e.g. half the parcel on each of two values
    for ``p50``) takes the lower value, whatever the rounding of the weights.

    >>> weighted_percentile(np.array([1.0, 0.0]), np.array([0.5, 0.5 + 1e-13]), 50)
    0.0
    >>> weighted_percentile(np.array([0.0, 1.0, 2.0]), np.array([0.2, 0.2, 0.6]), 50)
    2.0
    """
    order = np.argsort(values, kind="stable")
    ordered, cumulative = values[order], np.cumsum(weights[order])
    if p >= 100:
        return float(ordered[-1])
    target = (p / 100.0 - PERCENTILE_TIE_TOLERANCE) * cumulative[-1]
    return float(ordered[np.argmax(cumulative >= target)])


@dataclass
class ZonalResult:
    """Per-geometry statistics (NaN where no valid cell is covered).

    Attributes
    ----------
    max, min : numpy.ndarray
        Extremes over the cells the geometry covers.
    mean : numpy.ndarray
        Mean weighted by the covered fraction of each cell.
    covered_fraction : numpy.ndarray
        Share of the geometry's area over valid cells, 0..1 (points: share of
        points on valid cells).
    inside_fraction : numpy.ndarray
        Share of the geometry's area inside the raster extent, valid or nodata.
    percentiles : dict
        ``{p: values}``: the coverage-weighted percentile of
        :func:`weighted_percentile` (``p=0`` is ``min``, ``p=100`` is ``max``).
    """

    max: np.ndarray
    min: np.ndarray
    mean: np.ndarray
    covered_fraction: np.ndarray
    inside_fraction: np.ndarray
    percentiles: dict[float, np.ndarray] = field(default_factory=dict)

    def stat(self, name: str) -> np.ndarray:
        """Values of ``max``, ``min``, ``mean``, ``covered_fraction`` or ``p<N>``."""
        if name.startswith("p") and name[1:].replace(".", "", 1).isdigit():
            return self.percentiles[float(name[1:])]
        return getattr(self, name)


# --- accumulation -------------------------------------------------------------------------


class Accumulator:
    """Per-geometry running extremes, weighted sums and (for percentiles) the cells."""

    def __init__(self, n: int, percentiles: Sequence[float]) -> None:
        self.maxima = np.full(n, -np.inf)
        self.minima = np.full(n, np.inf)
        self.weight = np.zeros(n)
        self.weighted = np.zeros(n)
        self.inside = np.zeros(n)
        self.percentiles = tuple(percentiles)
        self.kept: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []

    def add(self, geom: np.ndarray, values: np.ndarray, coverage: np.ndarray) -> None:
        np.add.at(self.inside, geom, coverage)
        ok = np.isfinite(values)
        geom, values, coverage = geom[ok], values[ok], coverage[ok]
        np.maximum.at(self.maxima, geom, values)
        np.minimum.at(self.minima, geom, values)
        np.add.at(self.weight, geom, coverage)
        np.add.at(self.weighted, geom, values * coverage)
        if self.percentiles:
            self.kept.append((geom, values, coverage))

    def result(self, area_cells: np.ndarray, point_count: np.ndarray) -> ZonalResult:
        n = len(self.weight)
        has = self.weight > 0
        out = ZonalResult(*(np.full(n, np.nan) for _ in range(5)))
        out.max[has], out.min[has] = self.maxima[has], self.minima[has]
        out.mean[has] = self.weighted[has] / self.weight[has]
        areal = area_cells > 0
        for target, source in (
            (out.covered_fraction, self.weight),
            (out.inside_fraction, self.inside),
        ):
            target[:] = 0.0
            target[areal] = np.clip(source[areal] / area_cells[areal], 0.0, 1.0)
            points = point_count > 0
            target[points] = source[points] / point_count[points]
        if self.percentiles:
            out.percentiles = self._percentiles(n)
        return out

    def _percentiles(self, n: int) -> dict[float, np.ndarray]:
        geom = np.concatenate([k[0] for k in self.kept] or [np.zeros(0, np.int64)])
        values = np.concatenate([k[1] for k in self.kept] or [np.zeros(0)])
        weights = np.concatenate([k[2] for k in self.kept] or [np.zeros(0)])
        if len(geom) == 0:
            return {float(p): np.full(n, np.nan) for p in self.percentiles}
        order = np.lexsort((values, geom))
        geom, values, weights = geom[order], values[order], weights[order]
        starts = np.flatnonzero(np.r_[True, geom[1:] != geom[:-1]])[: len(geom)]
        within = _segmented_cumsum(weights, starts, np.diff(np.append(starts, len(geom))))
        ends = np.append(starts[1:], len(geom)) - 1
        total = np.repeat(within[ends], ends - starts + 1)  # each segment's own final sum
        out: dict[float, np.ndarray] = {}
        for p in self.percentiles:
            result = np.full(n, np.nan)
            if p >= 100:  # the maximum, even a sliver cell's (see weighted_percentile)
                result[geom[ends]] = values[ends]
            else:
                reached = np.flatnonzero(within >= (p / 100.0 - PERCENTILE_TIE_TOLERANCE) * total)
                new_geom = np.r_[True, geom[reached][1:] != geom[reached][:-1]]
                first = reached[new_geom[: len(reached)]]
                result[geom[first]] = values[first]
            out[float(p)] = result
        return out


def _segmented_cumsum(values: np.ndarray, starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """Cumulative sums restarting at each segment, exact per segment (no running carry-over).

    Segments are grouped by length (powers of two) and summed as rows of a padded matrix.
    """
    out = np.zeros(len(values))
    if len(values) == 0:
        return out
    bucket = np.ceil(np.log2(np.maximum(lengths, 1))).astype(np.int64)
    for b in np.unique(bucket):
        chosen = np.flatnonzero(bucket == b)
        width = 1 << int(b)
        position = starts[chosen][:, None] + np.arange(width)[None, :]
        valid = np.arange(width)[None, :] < lengths[chosen][:, None]
        matrix = np.where(valid, values[np.where(valid, position, 0)], 0.0)
        out[position[valid]] = np.cumsum(matrix, axis=1)[valid]
    return out
