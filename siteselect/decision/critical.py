"""The smallest change of one weight that changes the #1 site, in closed form.

For the weighted sum (Triantaphyllou and Sanchez, "A sensitivity analysis
approach for some deterministic multi-criteria decision-making methods",
Decision Sciences 28(1), 1997, pp. 151-194), and the weighted product on
``log s`` (:func:`siteselect.decision.sensitivity.critical_values`). Convention: one weight ``a_k``
changes by a relative amount ``r`` (``a_k -> a_k (1 + r)``) while the other
configured weights are held; then all are normalised, which is the same as
rescaling the others proportionally. With ``N_i = sum_j a_j s_ij``, candidate
``i`` scores ``S_i(r) = (N_i + r a_k s_ik) / (A + r a_k)`` (``A = sum_j a_j``),
so the leader ``L`` and another candidate ``B`` swap exactly where

    ``(N_L - N_B) + r a_k (s_Lk - s_Bk) = 0``,  ``r_B = -(N_L - N_B) / (a_k (s_Lk - s_Bk))``.

A candidate scoring higher than ``L`` on criterion ``k`` overtakes it when the
weight rises by ``r_B > 0``; one scoring lower, when it falls by ``-r_B``
(possible while ``r_B >= -1``: a weight cannot go below 0). The smallest such
change over all candidates is the critical change; the candidate reaching it
first is the new leader (at the threshold itself the two tie and the ranking's
tie rule, the smaller id, decides).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class CriticalChange:
    """The smallest relative changes of one criterion's weight that change #1.

    ``decrease_to_flip`` and ``increase_to_flip`` are fractions of the configured
    weight (0.25: 25% lower / higher), None when no change in that direction
    changes the #1 site. ``new_leader_*``: the candidate id that leads past it.
    """

    criterion: str
    weight: float
    decrease_to_flip: float | None
    increase_to_flip: float | None
    new_leader_decrease: str | None
    new_leader_increase: str | None

    @property
    def nearest(self) -> tuple[float, str, str] | None:
        """The smaller of the two changes: (relative change, "decrease"/"increase", new leader)."""
        options = []
        if self.decrease_to_flip is not None:
            options.append((self.decrease_to_flip, "decrease", self.new_leader_decrease or ""))
        if self.increase_to_flip is not None:
            options.append((self.increase_to_flip, "increase", self.new_leader_increase or ""))
        return min(options, key=lambda o: o[0]) if options else None


def critical_changes(
    scores: np.ndarray,
    eligible: np.ndarray,
    ids: np.ndarray,
    leader: int,
    weights: np.ndarray,
    names: list[str],
) -> list[CriticalChange]:
    """One :class:`CriticalChange` per criterion, for the weighted sum.

    Parameters
    ----------
    scores : numpy.ndarray
        ``(candidates, criteria)`` scores (NaN counts as 0, as in the total).
    eligible : numpy.ndarray
        Boolean mask of the ranked (not excluded) candidates.
    ids : numpy.ndarray
        Candidate ids (strings).
    leader : int
        Position of the #1 site.
    weights : numpy.ndarray
        Configured weights (any positive scale).
    names : list of str
        Criterion keys.
    """
    weights = np.asarray(weights, dtype="float64")
    a = weights / weights.max()  # relative changes do not depend on the scale
    filled = filled_scores(scores)
    others = np.flatnonzero(eligible)
    others = others[others != leader]
    lead = filled[leader]
    ahead = lead - filled[others]  # s_L - s_B per criterion
    raw_gap = ahead @ a  # N_L - N_B; differences first: exact where the scores agree
    gap = np.maximum(raw_gap, 0.0)  # rounding: the leader is never behind
    out = []
    for k, name in enumerate(names):
        decrease = increase = None
        down_leader = up_leader = None
        if a[k] > 0 and len(others):
            slope = a[k] * ahead[:, k]  # g_B
            with np.errstate(divide="ignore", invalid="ignore"):
                flip = -gap / slope
            up = slope < 0
            if up.any():
                best = _first(flip, up, -slope, ids, others)
                increase, up_leader = float(flip[best]), str(ids[others[best]])
            # reachable before the weight is 0? The sign of the gap at weight 0 (exactly 0
            # where the other scores agree): a tie there goes to the smaller id
            at_zero = raw_gap - slope
            reach = at_zero < 0
            tied = np.flatnonzero(at_zero == 0)
            if len(tied):
                reach[tied] = ids[others[tied]] < ids[leader]
            down = (slope > 0) & reach
            flip = np.where(down, np.maximum(flip, -1.0), flip)
            if down.any():
                best = _first(-flip, down, slope, ids, others)
                decrease, down_leader = float(-flip[best]), str(ids[others[best]])
        out.append(
            CriticalChange(name, float(weights[k]), decrease, increase, down_leader, up_leader)
        )
    return out


def _first(
    change: np.ndarray, mask: np.ndarray, speed: np.ndarray, ids: np.ndarray, others: np.ndarray
) -> int:
    """Position of the smallest ``change`` in ``mask``; ties (to rounding): the fastest
    to overtake, the one leading just past the threshold; then the smaller id."""
    masked = np.where(mask, change, np.inf)
    least = masked.min()
    tied = np.flatnonzero(masked <= least + 1e-12 * max(1.0, abs(least)))
    fastest = tied[speed[tied] == speed[tied].max()]
    return int(fastest[np.argmin(ids[others[fastest]])]) if len(fastest) > 1 else int(fastest[0])


def filled_scores(scores: np.ndarray) -> np.ndarray:
    """``scores`` as float64 with NaN as 0 (the array itself when it has no NaN)."""
    scores = np.asarray(scores, dtype="float64")
    return np.where(np.isnan(scores), 0.0, scores) if np.isnan(scores).any() else scores


def leader_of(totals: np.ndarray, eligible: np.ndarray, ids: np.ndarray) -> int:
    """Position of the best eligible total (ties: the smaller id), as the ranking does."""
    positions = np.flatnonzero(eligible)
    order = np.lexsort((ids[positions], -totals[positions]))
    return int(positions[order[0]])
