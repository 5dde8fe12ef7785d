"""Point sets put on a travel model by the snapping policy, one function per set.

Every point set a criterion routes (candidates, demand points, facilities)
goes through :func:`place`, which snaps it (:mod:`siteselect.network.snapping`),
applies what the config says about the points beyond ``network.max_snap_m``,
and records the set in the log and ``study.diagnostics["snapping"]``:

* candidates (:func:`place_candidates`): beyond the limit they get no value,
  with a per-candidate reason (:func:`candidate_reasons`);
* demand points (:func:`place_demand`): ``network.far_demand``: ``keep``
  (default) counts them with their connector time, ``drop`` leaves them out;
  the record gives the population within, beyond and used;
* facilities (:func:`place_facilities`): ``network.far_facilities``: ``drop``
  (default) takes them out of the choice set with a warning naming them,
  ``keep`` keeps them with their connector time.

Straight-line travel snaps nothing: the sets pass through unchanged.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

import numpy as np

from siteselect._errors import CriterionError
from siteselect.network.graph import Direction
from siteselect.network.snapping import (
    FarPolicy,
    far_keep_mask,
    off_network_reasons,
    record_snapping,
    snap_record,
)

if TYPE_CHECKING:
    from siteselect.network.traveltime import Located, Travel
    from siteselect.study import Study
    from siteselect.study.demand import DemandPoints
    from siteselect.study.facilities import Facilities

BEYOND_ACTION = {
    "none": "no value (off_network; excluded with the reason)",
    "keep": "kept with their connector time",
    "drop": "left out",
}


def place(
    travel: Travel,
    study: Study,
    x: np.ndarray,
    y: np.ndarray,
    *,
    name: str,
    what: str,
    direction: Direction,
    policy: FarPolicy | Literal["none"],
    names: np.ndarray | None = None,
    weights: np.ndarray | None = None,
    weight_unit: str = "",
) -> tuple[np.ndarray, Located]:
    """Snap one point set, apply its policy beyond the limit, log and record it.

    Parameters
    ----------
    travel : Travel
        The travel model (straight-line travel places every point as it is).
    study : Study
        Its config gives the policies; its ``diagnostics`` gets the record.
    x, y : numpy.ndarray
        The points (working CRS).
    name : str
        The set in the record (``candidates``, ``demand: tracts``...).
    what : str
        The criterion, for the log and the record's ``used_by``.
    direction : {"depart", "arrive", "both"}
        The way the points drive (see :meth:`RoadGraph.routable`).
    policy : {"none", "keep", "drop"}
        Beyond the limit: ``none`` = no travel time (``far``), ``keep`` = travel
        with the connector, ``drop`` = removed from the set.
    names, weights, weight_unit
        For the record (see :func:`~siteselect.network.snapping.snap_record`).

    Returns
    -------
    (keep, located)
        Mask of the points kept, and the kept points placed.
    """
    located = travel.locate(x, y, direction=direction, keep_far=policy == "keep")
    everything = np.ones(len(located), dtype=bool)
    if located.snap is None:
        return everything, located
    keep = everything if policy == "none" else far_keep_mask(located.snap, policy)
    record = snap_record(
        located.snap,
        BEYOND_ACTION[policy],
        names=names,
        weights=weights,
        weight_unit=weight_unit,
        kept_beyond=policy != "drop",
    )
    record_snapping(study.diagnostics, name, record, what)
    return keep, located if keep.all() else located.take(keep)


def place_candidates(travel: Travel, study: Study, direction: Direction, what: str) -> Located:
    """The candidates placed (beyond the limit: ``far``, no value)."""
    x, y = study.representative_xy()
    _, sites = place(
        travel,
        study,
        x,
        y,
        name="candidates",
        what=what,
        direction=direction,
        policy="none",
        names=study.candidates["candidate_id"].to_numpy(),
    )
    return sites


def candidate_reasons(sites: Located) -> np.ndarray | None:
    """Per candidate: why it is off the network ("" when it is not); None for straight lines."""
    return None if sites.snap is None else off_network_reasons(sites.snap)


def place_demand(
    travel: Travel,
    study: Study,
    demand: DemandPoints,
    zone_names: np.ndarray,
    layer: str,
    unit: str,
    what: str,
) -> tuple[DemandPoints, Located]:
    """Demand points placed as origins, under ``network.far_demand``.

    Raises
    ------
    CriterionError
        ``far_demand: drop`` leaves no demand point.
    """
    keep, origins = place(
        travel,
        study,
        demand.x,
        demand.y,
        name=f"demand: {layer}",
        what=what,
        direction="depart",
        policy=_policy(study, "far_demand"),
        names=np.asarray(zone_names, dtype=object)[demand.zone],
        weights=demand.population,
        weight_unit=unit,
    )
    if not keep.any():
        raise _nothing_left(study, layer, "every demand point", "far_demand")
    return (demand if keep.all() else demand.take(keep)), origins


def place_facilities(
    travel: Travel, study: Study, facilities: Facilities, layer: str, what: str
) -> tuple[Facilities, Located]:
    """Facilities placed as destinations, under ``network.far_facilities``.

    Raises
    ------
    CriterionError
        ``far_facilities: drop`` leaves no facility.
    """
    keep, located = place(
        travel,
        study,
        facilities.x,
        facilities.y,
        name=f"facilities: {layer}",
        what=what,
        direction="arrive",
        policy=_policy(study, "far_facilities"),
        names=facilities.frame["feature_name"].to_numpy(),
    )
    if not keep.any():
        raise _nothing_left(study, layer, "every facility", "far_facilities")
    return (facilities if keep.all() else facilities.take(keep)), located


def _policy(study: Study, key: Literal["far_demand", "far_facilities"]) -> FarPolicy:
    spec = study.config.network
    if spec is None:  # straight-line travel: nothing is snapped
        return "keep"
    return spec.far_demand if key == "far_demand" else spec.far_facilities


def _nothing_left(study: Study, layer: str, subject: str, key: str) -> CriterionError:
    spec = study.config.network
    limit = spec.max_snap_m if spec is not None else float("nan")
    return CriterionError(
        f"layers.{layer}: {study.layer_spec(layer).source.name}: {subject} lies farther than "
        f"network.max_snap_m ({limit:g} m) from a connected road; use a network extract that "
        f"covers them, raise network.max_snap_m or set network.{key}: keep"
    )
