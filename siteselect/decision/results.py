"""The result of a scoring run: what every output writer reads.

A :class:`RunResult` is the single hand-over between the pipeline (which
computes) and the writers (GeoPackage/CSV/JSON in :mod:`siteselect.outputs`,
the Folium map in :mod:`siteselect.outputs.map.build`). Writers never recompute scores.

Candidate table columns (``RunResult.candidates``, one row per candidate, in
the working CRS):

``candidate_id`` (str)
    The candidate's identifier (from the config's ``candidates.id`` column).
``area_acres`` (float)
    Planar area in the working (metric) CRS, in acres.
``raw_<criterion>`` (float)
    The criterion's measured value, in ``CriterionInfo.unit``.
``score_<criterion>`` (float in [0, 1])
    The transformed value; 1 is best.
``contrib_<criterion>`` (float)
    The criterion's share of ``total_score`` (the contributions add up to it):
    ``score * weight / sum(weights)`` for the weighted sum; see
    :mod:`siteselect.decision.aggregation` for the weighted product and owa.
``excluded`` (bool), ``exclusion_reason`` (str, "" when not excluded)
    Hard constraints; several reasons are joined with ``"; "``.
``total_score`` (float in [0, 1])
    The scores combined by ``RunResult.aggregation`` (weighted sum by default;
    computed for excluded candidates too, so an analyst can see what they would
    have scored).
``rank`` (nullable Int64)
    1 = best among the non-excluded candidates; ``<NA>`` when excluded.
``shadowed_by`` (str, optional)
    The id of the better-ranked top site within ``outputs.min_separation_m``
    of the candidate ("" when none): :meth:`RunResult.top` skips shadowed
    candidates, which keep their rank (:mod:`siteselect.decision.separation`).
``attr_<column>``
    The parcel file's own columns (``candidates.attributes``).
``site_name`` (str, optional)
    The site's name from the config's ``candidates.name_column`` ("" where the
    parcel has none); the map, the report, the CSV and the console name sites
    by it where present, by ``candidate_id`` otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import pyproj

from siteselect.criteria.overlay import Overlay
from siteselect.decision.separation import distinct_top

if TYPE_CHECKING:
    from siteselect.decision.exclusions import ExclusionAccount

__all__ = ["ConstraintInfo", "CriterionInfo", "Overlay", "RunResult"]


PARTIAL_NOTE = " (partial: removed from the buildable area)"
"""Appended to ``ConstraintInfo.description`` of a constraint the buildable area handles."""


@dataclass(frozen=True)
class CriterionInfo:
    """What a reader needs to understand one criterion's column.

    Attributes
    ----------
    name : str
        Config key of the criterion (``freeway_access``); column suffix.
    kind : str
        Registered kind (``network_time``, ``distance``...).
    label : str
        Human description of the raw value (``Drive time to nearest freeway on-ramp``).
    unit : str
        Unit of the raw value (``min``, ``m``, ``g``, ``people``).
    weight : float
        The configured weight (not normalised).
    transform : str
        Human description of the transform (``linear: 2 min -> 1, 15 min -> 0``).
    """

    name: str
    kind: str
    label: str
    unit: str
    weight: float
    transform: str


@dataclass(frozen=True)
class ConstraintInfo:
    """One hard constraint and how many candidates it removed.

    ``excluded_count`` counts every candidate the constraint fails (a value outside
    its bounds, or the kind's own exclusion), whether or not another cause also
    excludes it; candidates without a value are accounted as missing values in
    :attr:`RunResult.exclusions`.
    """

    name: str
    kind: str
    description: str
    excluded_count: int


@dataclass
class RunResult:
    """Everything a scoring run produced.

    Attributes
    ----------
    title : str
        The config's ``name``.
    crs : pyproj.CRS
        Working (projected, metric) CRS of every GeoDataFrame here.
    candidates : geopandas.GeoDataFrame
        The candidate table (see module docstring for columns).
    criteria : list of CriterionInfo
        In config order.
    constraints : list of ConstraintInfo
        In config order.
    overlays : list of Overlay
        Extra map layers, drawn in this order.
    top_n : int
        Number of top sites to highlight.
    manifest : dict
        Provenance (config as loaded, input hashes, versions, counts, timings);
        written as ``run.json``.
    exclusions : ExclusionAccount or None
        The excluded candidates counted by cause (constraints and missing
        values), adding up to the number excluded; None for results built by hand.
    csv_max_rows : int or None
        Most rows written to ``sites.csv`` (``outputs.csv_max_rows``); None: all.
    sensitivity : dict or None
        How sure the ranking is, when the run computed it (JSON-serialisable;
        None otherwise). Keys the map and the report read: ``draws`` (int),
        ``spread_pct`` (float), ``seed`` (int), ``p_rank1`` and ``p_top3``
        (``{candidate_id: probability}`` for the top sites), ``statement`` (one
        plain sentence, e.g. "#1 stays first in 49% of plausible weightings;
        #2 leads if the seismic weight rises from 2 to 2.3"), and ``critical``
        (a list of ``{criterion, label, weight, decrease_to_flip,
        increase_to_flip, new_leader}``, the smallest relative weight changes
        that change the #1 site).
    aggregation : dict
        How the scores were combined: ``{"method": "weighted_sum" |
        "weighted_product" | "owa"}``, for owa also ``"order_weights"`` (the
        resolved ``v_1..v_n``, ``v_1`` for each candidate's highest score).
    """

    title: str
    crs: pyproj.CRS
    candidates: gpd.GeoDataFrame
    criteria: list[CriterionInfo]
    constraints: list[ConstraintInfo]
    overlays: list[Overlay] = field(default_factory=list)
    top_n: int = 10
    manifest: dict[str, Any] = field(default_factory=dict)
    exclusions: ExclusionAccount | None = None
    csv_max_rows: int | None = None
    sensitivity: dict[str, Any] | None = None
    aggregation: dict[str, Any] = field(default_factory=lambda: {"method": "weighted_sum"})

    def top(self, n: int | None = None) -> gpd.GeoDataFrame:
        """Return the ``n`` (default ``top_n``) best distinct sites, in rank order.

        Non-excluded candidates that no better top site shadows (``shadowed_by``
        is "", see :mod:`siteselect.decision.separation`).
        """
        return distinct_top(self.candidates, self.top_n if n is None else n)
