"""Square-grid aggregation of very many candidates, so a 1M-parcel map stays light.

Beyond a few tens of thousands of candidates, drawing each one (even as a point)
makes a map of tens of megabytes that stalls the browser. :func:`grid_cells`
bins the candidates' centroids (in the metric working CRS) into square cells and
keeps, per cell, the count of ranked and excluded candidates, the best and mean
total score of the ranked ones and the most frequent exclusion reason.
"""

from __future__ import annotations

import logging
import math

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

LOG = logging.getLogger(__name__)

#: Target number of occupied cells at most (the cell size grows until it fits).
MAX_CELLS = 6000
#: Cell sizes (m) tried, smallest first.
CELL_SIZES_M = (100, 200, 250, 500, 1000, 2000, 2500, 5000, 10_000, 20_000, 50_000, 100_000)


def choose_cell_size_m(x_m: np.ndarray, y_m: np.ndarray, max_cells: int = MAX_CELLS) -> float:
    """Smallest size of :data:`CELL_SIZES_M` with at most ``max_cells`` occupied cells.

    Parameters
    ----------
    x_m, y_m : numpy.ndarray
        Candidate coordinates in a metric CRS.
    max_cells : int
        Upper bound on occupied cells.

    Returns
    -------
    float
        Cell side in metres (the largest listed size when none fits).
    """
    for size in CELL_SIZES_M:
        keys = _cell_keys(x_m, y_m, size)
        if len(np.unique(keys)) <= max_cells:
            return float(size)
    return float(CELL_SIZES_M[-1])


def _cell_keys(x_m: np.ndarray, y_m: np.ndarray, size_m: float) -> np.ndarray:
    """One int64 key per point: its cell's (column, row) packed together."""
    col = np.floor(x_m / size_m).astype(np.int64)
    row = np.floor(y_m / size_m).astype(np.int64)
    return col * 2**32 + (row + 2**31)


def grid_cells(
    candidates: gpd.GeoDataFrame, excluded: np.ndarray, cell_size_m: float | None = None
) -> gpd.GeoDataFrame:
    """Aggregate candidates into square cells of the working CRS.

    Parameters
    ----------
    candidates : geopandas.GeoDataFrame
        In a projected (metric) CRS, with ``total_score`` and optionally
        ``exclusion_reason``.
    excluded : numpy.ndarray of bool
        Per candidate, whether it is excluded.
    cell_size_m : float, optional
        Cell side in metres; default :func:`choose_cell_size_m`.

    Returns
    -------
    geopandas.GeoDataFrame
        One square per occupied cell with ``ranked``, ``excluded`` (counts),
        ``best_score``, ``mean_score`` (NaN without ranked candidates) and
        ``top_reason`` (most frequent exclusion reason, "" without exclusions);
        attribute ``cell_size_m`` in ``.attrs``.
    """
    if candidates.crs is None or not candidates.crs.is_projected:
        raise ValueError("grid_cells needs candidates in a projected (metric) CRS")
    geoms = candidates.geometry.to_numpy()
    present = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
    centroids = shapely.centroid(geoms[present])
    x_m, y_m = shapely.get_x(centroids), shapely.get_y(centroids)
    size = cell_size_m or choose_cell_size_m(x_m, y_m)
    table = pd.DataFrame(
        {
            "key": _cell_keys(x_m, y_m, size),
            "excluded": np.asarray(excluded, dtype=bool)[present],
            "score": candidates["total_score"].to_numpy(float)[present],
        }
    )
    table["ranked_score"] = table["score"].where(~table["excluded"])
    table["is_ranked"] = ~table["excluded"]
    cells = table.groupby("key").agg(
        ranked=("is_ranked", "sum"),
        excluded=("excluded", "sum"),
        best_score=("ranked_score", "max"),
        mean_score=("ranked_score", "mean"),
    )
    cells["top_reason"] = _top_reasons(candidates, present, table)
    cells["top_reason"] = cells["top_reason"].fillna("")
    col = (cells.index.to_numpy() // 2**32).astype(float)
    row = (cells.index.to_numpy() % 2**32 - 2**31).astype(float)
    squares = shapely.box(col * size, row * size, (col + 1) * size, (row + 1) * size)
    out = gpd.GeoDataFrame(cells.reset_index(drop=True), geometry=squares, crs=candidates.crs)
    out["excluded"] = out["excluded"].astype(int)
    out.attrs["cell_size_m"] = size
    LOG.info("aggregated %d candidates into %d cells of %g m", int(present.sum()), len(out), size)
    return out


def _top_reasons(
    candidates: gpd.GeoDataFrame, present: np.ndarray, table: pd.DataFrame
) -> pd.Series:
    """Most frequent first-listed exclusion reason per cell key."""
    if "exclusion_reason" not in candidates or not table["excluded"].any():
        return pd.Series(dtype=object)
    reasons = candidates["exclusion_reason"].fillna("").astype(str).to_numpy()[present]
    first = pd.Series(reasons).str.split("; ", n=1).str[0]
    frame = pd.DataFrame({"key": table["key"], "reason": first})[table["excluded"].to_numpy()]
    counts = frame.groupby(["key", "reason"]).size().reset_index(name="n")
    best = counts.sort_values(["key", "n", "reason"], ascending=[True, False, True])
    return best.drop_duplicates("key").set_index("key")["reason"]


def cell_label(size_m: float) -> str:
    """``"500 m"`` or ``"2 km"`` for a cell side."""
    return (
        f"{size_m / 1000:g} km"
        if size_m >= 1000 and math.isclose(size_m % 1000, 0)
        else f"{size_m:g} m"
    )
