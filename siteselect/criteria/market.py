"""Spatial interaction models, vectorised over candidates.

Demand points i carry a target population P_i; candidates c and existing
facilities j are reached in t minutes (pairs beyond the cut-off ``max_minutes``
do not interact). Every candidate-side quantity is a reduction over the sparse
(demand point, candidate, minutes) pairs streamed by a travel model
(:mod:`siteselect.network.traveltime`): ``np.bincount`` by candidate, never a Python
loop over candidates. Per-demand-point terms that do not depend on the
candidate (the Huff denominator of the existing facilities, the unmet demand
of E2SFCA) are computed once from the small demand x facility matrix.

* gravity: G_c = sum_i P_i f(t_ic)
* catchment: C_c = sum_i P_i [t_ic <= T]
* E2SFCA (Luo & Qi 2009, the existing facilities' beds S_j as supply, the
  same decay f in both steps): R_j = S_j / sum_i P_i f(t_ij) (beds per
  weighted person), A_i = sum_j R_j f(t_ij) (beds per person reachable from
  i), unmet demand U_i = P_i max(0, 1 - A_i / rho) with rho the target beds
  per person; the candidate's score E_c = sum_i U_i f(t_ic), the unmet demand
  it would serve.
* Huff: attraction a_ij = A_j^alpha max(t_ij, t_min)^-beta with A_j the beds;
  D_i = sum_j a_ij over the existing facilities (the owner's included);
  P(i chooses c) = a_ic / (a_ic + D_i); expected patients H_c = sum_i P_i a_ic /
  (a_ic + D_i); the owner's loss K_c = sum_i P_i (O_i / D_i) a_ic / (a_ic + D_i)
  with O_i the owner's part of D_i (its patients before minus after).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import numpy as np

from siteselect.network.traveltime import PairBlock, Reducer, reduce_blocks

Decay = Callable[[np.ndarray], np.ndarray]


def gravity_reducer(weight: np.ndarray, decay: Decay, n_sites: int) -> Reducer:
    """Per block: (sum_i weight_i decay(t_ic) by site,)."""

    def reduce(block: PairBlock) -> tuple[np.ndarray, ...]:
        terms = weight[block.origin]  # a fresh array: scaled in place
        terms *= decay(block.minutes)
        return (np.bincount(block.destination, weights=terms, minlength=n_sites),)

    return reduce


def gravity(
    pairs: Iterable[PairBlock], weight: np.ndarray, decay: Decay, n_sites: int
) -> np.ndarray:
    """sum_i weight_i decay(t_ic) for every site c (0 where no pair).

    Parameters
    ----------
    pairs : iterable of PairBlock
        Demand point (origin) -> site (destination) pairs within the cut-off.
    weight : numpy.ndarray
        Per demand point (population, or unmet demand).
    decay : callable
        Minutes -> weight in [0, 1].
    n_sites : int
        Number of sites.
    """
    return reduce_blocks(pairs, gravity_reducer(weight, decay, n_sites))[0]


def decay_matrix(minutes: np.ndarray, decay: Decay) -> np.ndarray:
    """decay(t) of a dense matrix, 0 where t is inf (beyond the cut-off)."""
    reach = np.isfinite(minutes)
    out = np.zeros(minutes.shape)
    out[reach] = decay(minutes[reach])
    return out


def e2sfca_unmet(
    population: np.ndarray,
    facility_minutes: np.ndarray,
    beds: np.ndarray,
    decay: Decay,
    beds_per_person: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The two E2SFCA steps over the existing facilities, and the unmet demand.

    Parameters
    ----------
    population : numpy.ndarray
        P_i per demand point.
    facility_minutes : numpy.ndarray
        (demand points, facilities) minutes, inf beyond the cut-off.
    beds : numpy.ndarray
        S_j per facility.
    decay : callable
        f(t).
    beds_per_person : float
        Target rho.

    Returns
    -------
    (unmet U_i, supply ratio R_j, accessibility A_i)
        A facility with no demand in reach has R_j = 0.
    """
    weights = decay_matrix(facility_minutes, decay)
    weighted_demand = weights.T @ population
    ratio = np.divide(beds, weighted_demand, out=np.zeros(len(beds)), where=weighted_demand > 0)
    access = weights @ ratio
    unmet = population * np.clip(1.0 - access / beds_per_person, 0.0, 1.0)
    return unmet, ratio, access


def huff_attraction(
    minutes: np.ndarray, attractiveness: np.ndarray | float, beta: float, min_minutes: float
) -> np.ndarray:
    """A max(t, t_min)^-beta; 0 where t is inf (beyond the cut-off)."""
    clipped = np.maximum(minutes, min_minutes)
    return np.where(np.isfinite(clipped), attractiveness / clipped**beta, 0.0)


def huff_denominators(
    facility_minutes: np.ndarray,
    beds: np.ndarray,
    owner: np.ndarray,
    alpha: float,
    beta: float,
    min_minutes: float,
) -> tuple[np.ndarray, np.ndarray]:
    """Per demand point: D_i (all existing facilities) and O_i (the owner's part of it)."""
    attraction = huff_attraction(facility_minutes, beds[None, :] ** alpha, beta, min_minutes)
    return attraction.sum(axis=1), attraction[:, owner].sum(axis=1)


def huff_reducer(
    population: np.ndarray,
    denominator: np.ndarray,
    owner_part: np.ndarray,
    candidate_attractiveness: float,
    beta: float,
    min_minutes: float,
    n_sites: int,
) -> Reducer:
    """Per block: (expected patients, owner's loss) by site.

    The candidate's share of demand point i is a/(a + D_i) = A/(A + D_i t^beta).
    """
    owner_coef = np.divide(
        population * owner_part,
        denominator,
        out=np.zeros(len(population)),
        where=denominator > 0,
    )

    def reduce(block: PairBlock) -> tuple[np.ndarray, ...]:
        # in place on fresh arrays (blocks hold millions of pairs)
        share = np.maximum(block.minutes, min_minutes)
        if beta == 2.0:
            np.square(share, out=share)
        else:
            np.power(share, beta, out=share)
        share *= denominator[block.origin]
        share += candidate_attractiveness
        np.divide(candidate_attractiveness, share, out=share)
        patients = population[block.origin]
        patients *= share
        lost = owner_coef[block.origin]
        lost *= share
        return (
            np.bincount(block.destination, weights=patients, minlength=n_sites),
            np.bincount(block.destination, weights=lost, minlength=n_sites),
        )

    return reduce


def huff_capture(
    pairs: Iterable[PairBlock],
    population: np.ndarray,
    denominator: np.ndarray,
    owner_part: np.ndarray,
    candidate_attractiveness: float,
    beta: float,
    min_minutes: float,
    n_sites: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Expected patients H_c and the owner's loss K_c of every candidate (see the module doc).

    Returns
    -------
    (capture, cannibalised)
    """
    capture, cannibalised = reduce_blocks(
        pairs,
        huff_reducer(
            population,
            denominator,
            owner_part,
            candidate_attractiveness,
            beta,
            min_minutes,
            n_sites,
        ),
    )
    return capture, cannibalised


def huff_shares(
    facility_minutes: np.ndarray,
    attractiveness: np.ndarray,
    beta: float,
    min_minutes: float,
) -> np.ndarray:
    """Probability that each demand point chooses each facility (rows sum to 1 or 0).

    Parameters
    ----------
    facility_minutes : numpy.ndarray
        (demand points, facilities) minutes, inf beyond the cut-off; include the
        candidate as a column to see its share.
    attractiveness : numpy.ndarray
        A_j^alpha per facility.
    """
    attraction = huff_attraction(facility_minutes, attractiveness[None, :], beta, min_minutes)
    total = attraction.sum(axis=1, keepdims=True)
    return np.divide(attraction, total, out=np.zeros(attraction.shape), where=total > 0)
