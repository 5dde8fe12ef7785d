"""How sure the #1 site is: Monte Carlo weights, one-at-a-time sweeps, critical changes.

Rank acceptability (as in SMAA, Lahdelma and Salminen 2001): draw weight
vectors around the configured ones and count how often each candidate ranks
first, in the top 3 and in the top 10. Two distributions:

``uniform``
    each weight ``a_k * U(1 - p, 1 + p)`` (``p = spread_pct / 100``), then the
    vector normalised to sum 1;
``dirichlet``
    ``Dirichlet(c w)`` around the normalised weights ``w``, with the
    concentration ``c = 3 (m - 1) / p**2 - 1`` chosen so that an average weight
    (``1/m`` of ``m`` weighted criteria) has the relative standard deviation of
    the uniform draw, ``p / sqrt(3)``.

Weights of 0 stay 0. Only candidates that can reach the top 10 under some draw
are scored per draw: each candidate's total is bounded below and above over all
the draws (:func:`score_bounds`); a candidate whose upper bound is below the
10th best lower bound can never enter the top 10 and is left out, exactly. At a
million candidates the check costs two matrix-vector products.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from siteselect.decision.aggregation import Aggregation, aggregate_draws
from siteselect.decision.critical import (
    CriticalChange,
    critical_changes,
    filled_scores,
    leader_of,
)
from siteselect.decision.results import CriterionInfo

logger = logging.getLogger(__name__)

TOP = (1, 3, 10)


@dataclass(frozen=True)
class Settings:
    """What to draw: number of draws, spread (percent), seed, distribution."""

    draws: int = 300
    spread_pct: float = 50.0
    seed: int = 0
    distribution: str = "uniform"


@dataclass
class Acceptability:
    """Per tracked candidate (``positions`` in the table): P(rank 1), P(top 3), P(top 10)."""

    positions: np.ndarray
    p_rank1: np.ndarray
    p_top3: np.ndarray
    p_top10: np.ndarray
    kept: int


@dataclass
class Sweep:
    """One-at-a-time sweep: per criterion, the #1 site's margin over the best other site.

    ``changes`` are the relative weight changes swept (-p..+p); ``margins`` is
    ``(criteria, changes)``; a negative margin means #1 is no longer first.
    """

    changes: np.ndarray
    margins: np.ndarray
    base_margin: float


@dataclass
class SensitivityResult:
    """Everything ``siteselect sensitivity`` writes and ``RunResult.sensitivity`` summarises."""

    settings: Settings
    ids: np.ndarray
    ranks: np.ndarray
    acceptability: Acceptability
    critical: list[CriticalChange]
    sweep: Sweep | None
    names: list[str]
    labels: list[str]
    statement: str
    exact_critical: bool = True
    extra: dict[str, Any] = field(default_factory=dict)

    def table_rows(self) -> list[dict[str, Any]]:
        """``sensitivity.csv`` rows: every candidate that reaches the top 10 in some draw,
        and the ranked top, by rank."""
        acc = self.acceptability
        rows = []
        for i, pos in enumerate(acc.positions):
            rank = self.ranks[pos]
            if acc.p_top10[i] == 0 and not (rank <= 10):
                continue
            rows.append(
                {
                    "candidate_id": str(self.ids[pos]),
                    "rank": int(rank) if np.isfinite(rank) else None,
                    "p_rank1": float(acc.p_rank1[i]),
                    "p_top3": float(acc.p_top3[i]),
                    "p_top10": float(acc.p_top10[i]),
                }
            )
        rows.sort(key=lambda r: (r["rank"] is None, r["rank"] or 0, r["candidate_id"]))
        return rows

    def _probabilities(
        self, values: np.ndarray, top: list[int], top_ids: list[str] | None
    ) -> dict[str, float]:
        """``{id: probability}`` of ``top`` (positions in the acceptability; -1: pruned, 0)."""
        positions = self.acceptability.positions
        ids = [str(self.ids[positions[i]]) for i in top] if top_ids is None else top_ids
        return {str(k): float(values[i]) if i >= 0 else 0.0 for k, i in zip(ids, top, strict=True)}

    def contract(self, top_n: int, top_ids: list[str] | None = None) -> dict[str, Any]:
        """``RunResult.sensitivity`` (see its docstring): JSON-serialisable.

        ``p_rank1`` and ``p_top3`` cover the ``top_n`` best ranked candidates, or
        ``top_ids`` when given (the distinct top sites the map and report show,
        :meth:`RunResult.top`), in that order.
        """
        acc = self.acceptability
        by_rank = np.argsort(
            np.where(np.isfinite(self.ranks[acc.positions]), self.ranks[acc.positions], np.inf),
            kind="stable",
        )
        if top_ids is None:
            top = [i for i in by_rank if self.ranks[acc.positions[i]] <= top_n]
        else:
            where = {str(self.ids[acc.positions[i]]): i for i in by_rank}
            top = [where.get(k, -1) for k in map(str, top_ids)]
        return {
            "draws": self.settings.draws,
            "spread_pct": self.settings.spread_pct,
            "seed": self.settings.seed,
            # a site pruned as unable to reach the top in any draw has probability 0
            "p_rank1": self._probabilities(acc.p_rank1, top, top_ids),
            "p_top3": self._probabilities(acc.p_top3, top, top_ids),
            "statement": self.statement,
            "critical": [
                critical_json(c, self.labels[self.names.index(c.criterion)]) for c in self.critical
            ],
        }


def critical_json(change: CriticalChange, label: str) -> dict[str, Any]:
    """One ``critical`` entry: the nearer flip's new leader."""
    nearest = change.nearest
    return {
        "criterion": change.criterion,
        "label": label,
        "weight": change.weight,
        "decrease_to_flip": change.decrease_to_flip,
        "increase_to_flip": change.increase_to_flip,
        "new_leader": None if nearest is None else nearest[2],
    }


def draw_weights(weights: np.ndarray, settings: Settings) -> np.ndarray:
    """``(draws, criteria)`` weight vectors, each summing to 1 (module docstring)."""
    weights = np.asarray(weights, dtype="float64")
    scaled = weights / weights.max()  # no overflow, whatever the weights' scale
    w = scaled / scaled.sum()
    rng = np.random.default_rng(settings.seed)
    p = settings.spread_pct / 100.0
    used = w > 0
    out = np.zeros((settings.draws, len(w)))
    if settings.distribution == "dirichlet" and used.sum() > 1:
        c = max(3.0 * (used.sum() - 1) / p**2 - 1.0, 1e-6)
        out[:, used] = rng.dirichlet(w[used] * c, size=settings.draws)
    else:
        out[:, used] = w[used] * rng.uniform(1 - p, 1 + p, size=(settings.draws, used.sum()))
    return out / out.sum(axis=1, keepdims=True)


def score_bounds(
    scores: np.ndarray, draws: np.ndarray, aggregation: Aggregation
) -> tuple[np.ndarray, np.ndarray]:
    """Per candidate, a lower and an upper bound of its total over every row of ``draws``.

    Weighted sum: ``s . min_d W`` and ``s . max_d W``. Weighted product: the same
    on ``log s`` (``<= 0``, so the bounds swap). Owa: the total is a weighted mean
    of the scores with coefficients ``w_k v_pos(k)`` each between its smallest and
    largest value over the draws, so it lies within ``sum lo s / sum hi`` and
    ``sum hi s / sum lo`` (clipped to the scores' range).
    """
    filled = filled_scores(scores)
    lo, hi = draws.min(axis=0), draws.max(axis=0)
    if aggregation.method == "weighted_sum":
        return simplex_bounds(filled, lo, hi)
    if aggregation.method == "weighted_product":
        with np.errstate(divide="ignore"):
            logs = np.maximum(np.log(filled), -1e300)  # log 0: a finite stand-in, exp gives 0
        low, high = simplex_bounds(logs, lo, hi)
        return np.exp(low), np.exp(high)
    v = np.asarray(aggregation.order_weights)
    position = np.argsort(np.argsort(-filled, axis=1, kind="stable"), axis=1)
    vp = v[position]
    a_lo, a_hi = lo * vp, hi * vp
    with np.errstate(divide="ignore", invalid="ignore"):
        low = (a_lo * filled).sum(axis=1) / a_hi.sum(axis=1)
        high = (a_hi * filled).sum(axis=1) / a_lo.sum(axis=1)
    used = hi > 0
    smin = np.where(used, filled, np.inf).min(axis=1)
    smax = np.where(used, filled, -np.inf).max(axis=1)
    low = np.nan_to_num(np.maximum(low, smin), nan=0.0, neginf=0.0)
    high = np.nan_to_num(np.minimum(high, smax), nan=1.0, posinf=1.0)
    return np.minimum(low, high), high


def simplex_bounds(
    values: np.ndarray, lo: np.ndarray, hi: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Least and greatest ``w . x`` per row over weights ``lo <= w <= hi`` summing to 1.

    Every draw lies in that polytope, so these bound the row's total under every
    draw. A fractional knapsack, in closed form: start from ``lo`` and give the
    remaining mass ``1 - sum lo`` to the row's largest values first (greatest)
    or its smallest first (least), each up to ``hi - lo``.
    """
    order = np.argsort(values, axis=1)  # ascending
    ranked = np.take_along_axis(values, order, axis=1)
    room = (hi - lo)[order]
    spare = 1.0 - lo.sum()
    base = values @ lo
    out = []
    for ranked_x, room_x in ((ranked, room), (ranked[:, ::-1], room[:, ::-1])):
        before = np.cumsum(room_x, axis=1) - room_x
        given = np.clip(spare - before, 0.0, room_x)
        out.append(base + (given * ranked_x).sum(axis=1))
    return out[0], out[1]


def contenders(
    scores: np.ndarray, eligible: np.ndarray, draws: np.ndarray, aggregation: Aggregation, k: int
) -> np.ndarray:
    """Positions of the eligible candidates that can rank in the top ``k`` under some draw.

    Exact tests, cheapest first; each drops a candidate that cannot enter the
    top ``k``: (1) its upper bound is below the ``k``-th best lower bound, with
    the cheap bounds of :func:`centred_bounds` over all candidates, then (2)
    with the tight ones of :func:`score_bounds` over those left; (3) each of
    ``k`` reference candidates (the best lower bounds) beats it under every
    draw. For the weighted sum (and the weighted product, on ``log s``), ``j``
    beats ``i`` under every draw when ``sum_k max(lo_k x_k, hi_k x_k) < 0`` with
    ``x = s_i - s_j``: the bound on the difference cancels what the two have in
    common, so it is much tighter than comparing the two candidates' own bounds.
    """
    positions = np.flatnonzero(eligible)
    if len(positions) <= k:
        return positions
    if aggregation.method != "owa":
        positions = _above_kth(positions, *centred_bounds(scores[positions], draws, aggregation), k)
    low, high = score_bounds(scores[positions], draws, aggregation)
    keep = _above_kth(np.arange(len(positions)), low, high, k)
    positions, low = positions[keep], low[keep]
    if len(positions) <= k or aggregation.method == "owa":
        return positions
    values = filled_scores(scores[positions])
    if aggregation.method == "weighted_product":
        with np.errstate(divide="ignore"):
            values = np.log(values)
        if not np.isfinite(values).all():  # a zero score: keep to the first tests
            return positions
    lo, hi = draws.min(axis=0), draws.max(axis=0)
    references = np.argpartition(-low, k - 1)[:k]
    beaten = np.zeros(len(positions), dtype=np.int64)
    for ref in references:
        x = values - values[ref]
        best_case = np.maximum(x * lo, x * hi).sum(axis=1)
        beaten += best_case < -1e-12
    return positions[beaten < k]


def _above_kth(positions: np.ndarray, low: np.ndarray, high: np.ndarray, k: int) -> np.ndarray:
    """The positions whose ``high`` reaches the ``k``-th largest ``low`` (a hair of slack)."""
    if len(positions) <= k:
        return positions
    kth = np.partition(low, len(low) - k)[len(low) - k]
    return positions[high >= kth - 1e-12 * max(abs(kth), 1.0)]


def centred_bounds(
    scores: np.ndarray, draws: np.ndarray, aggregation: Aggregation
) -> tuple[np.ndarray, np.ndarray]:
    """Cheap bounds of each total over the draws: two matrix-vector products.

    Weighted sum: every draw ``W_d`` and the mean draw ``w`` sum to 1, so
    ``(W_d - w) . s = (W_d - w) . (s - c)`` for any constant ``c``, and
    ``|S_d - S_w| <= sum_k delta_k |s_k - 1/2|`` with ``delta_k = max_d |W_dk - w_k|``.
    Weighted product: the same on ``log s`` with ``c = 0``, through ``exp``.
    """
    filled = filled_scores(scores)
    centre = draws.mean(axis=0)
    delta = np.abs(draws - centre).max(axis=0)
    if aggregation.method == "weighted_product":
        with np.errstate(divide="ignore"):
            logs = np.maximum(np.log(filled), -1e300)
        middle, reach = logs @ centre, -(logs @ delta)
        return np.exp(middle - reach), np.exp(middle + reach)
    middle, reach = filled @ centre, np.abs(filled - 0.5) @ delta
    return middle - reach, middle + reach


def rank_acceptability(
    scores: np.ndarray,
    eligible: np.ndarray,
    ids: np.ndarray,
    draws: np.ndarray,
    aggregation: Aggregation,
) -> Acceptability:
    """Probabilities of rank 1, top 3 and top 10 over ``draws`` (ties: the smaller id)."""
    kept = contenders(scores, eligible, draws, aggregation, max(TOP))
    kept = kept[np.argsort(ids[kept], kind="stable")]  # a stable sort then breaks ties by id
    counts = {t: np.zeros(len(kept)) for t in TOP}
    for start in range(0, len(draws), 64):  # bounded memory on large contender sets
        totals = aggregate_draws(scores[kept], draws[start : start + 64], aggregation)
        order = np.argsort(-totals, axis=1, kind="stable")
        for t in TOP:
            counts[t] += np.bincount(order[:, :t].ravel(), minlength=len(kept))
    n = len(draws)
    logger.debug("rank acceptability: %d contenders of %d ranked", len(kept), int(eligible.sum()))
    return Acceptability(kept, counts[1] / n, counts[3] / n, counts[10] / n, len(kept))


def sweep(
    scores: np.ndarray,
    eligible: np.ndarray,
    ids: np.ndarray,
    weights: np.ndarray,
    aggregation: Aggregation,
    spread_pct: float,
    steps: int = 21,
) -> Sweep:
    """Each weight alone from ``-spread`` to ``+spread`` (others held): #1's margin."""
    weights = np.asarray(weights, dtype="float64")
    weights = weights / weights.max()  # no overflow, whatever the scale
    changes = np.linspace(-spread_pct / 100, spread_pct / 100, steps)
    vectors = []
    for k in range(len(weights)):
        for r in changes:
            a = weights.copy()
            a[k] *= 1 + r
            vectors.append(a / a.sum())
    grid = np.array(vectors)
    base = weights / weights.sum()
    kept = contenders(scores, eligible, np.vstack([grid, base]), aggregation, 2)
    totals = aggregate_draws(scores[kept], np.vstack([grid, base]), aggregation)
    leader = leader_of(totals[-1], np.ones(len(kept), bool), ids[kept])
    rest = np.delete(totals, leader, axis=1)
    best_other = rest.max(axis=1) if rest.shape[1] else np.zeros(len(totals))
    margin = totals[:, leader] - best_other
    return Sweep(changes, margin[:-1].reshape(len(weights), steps), float(margin[-1]))


def statement(
    p_first: float,
    critical: list[CriticalChange],
    labels: list[str],
    ranks_of: dict[str, int],
) -> str:
    """One plain sentence: how often #1 stays first, and the nearest single-weight flip."""
    text = f"#1 stays first in {p_first:.0%} of plausible weightings"
    options = [(c.nearest, c, label) for c, label in zip(critical, labels, strict=True)]
    options = [o for o in options if o[0] is not None]
    if not options:
        return text + "; no change of a single weight makes another site first."
    (change, direction, leader), crit, label = min(options, key=lambda o: o[0][0])  # type: ignore[index]
    sign = -1 if direction == "decrease" else 1
    new = crit.weight * (1 + sign * change)
    verb = "falls" if direction == "decrease" else "rises"
    who = f"#{ranks_of[leader]} ({leader})" if leader in ranks_of else str(leader)
    return (
        f"{text}; {who} leads if the {short_label(label)} weight {verb} from "
        f"{crit.weight:.3g} to {new:.3g}."
    )


def short_label(label: str) -> str:
    """A label inside a sentence: without its parenthesis, first letter lower case.

    >>> short_label("Target households reached (drive time, gravity)"), short_label("PGA (g)")
    ('target households reached', 'PGA')
    """
    text = re.sub(r"\s*\([^)]*\)", "", label).strip() or label
    if len(text) > 1 and text[0].isupper() and not text[1].isupper():
        text = text[0].lower() + text[1:]
    return text


LOG_ZERO = -1e6
"""``log 0`` in the weighted product's critical changes: a zero score weighs
``-1e6`` times its weight in ``log S`` (the total is ``exp`` of it: 0), and
nothing once its weight is 0, as in the product itself."""


def critical_values(scores: np.ndarray, aggregation: Aggregation) -> np.ndarray:
    """What the critical-change formula is linear in: the scores, or their logs.

    The weighted product ranks by ``log S = sum_j w_j log s_j``, the weighted
    sum's form over ``log s``, so the same closed form applies.
    """
    if aggregation.method != "weighted_product":
        return scores
    with np.errstate(divide="ignore"):
        return np.maximum(np.log(scores), LOG_ZERO)


def analyse(
    scores: np.ndarray,
    eligible: np.ndarray,
    ids: np.ndarray,
    ranks: np.ndarray,
    weights: np.ndarray,
    names: list[str],
    labels: list[str],
    aggregation: Aggregation,
    settings: Settings,
    with_sweep: bool = False,
) -> SensitivityResult | None:
    """Rank acceptability, critical weight changes and (optionally) the sweep.

    Returns None when no candidate is ranked. Critical changes are exact for the
    weighted sum and, on ``log s``, the weighted product
    (:mod:`siteselect.decision.critical`); for owa the list is empty.
    """
    if not eligible.any():
        return None
    ids = np.asarray(ids)  # strings (or objects that are strings): compared, never converted
    scores = filled_scores(scores)  # NaN counts as 0, as in the totals: once here
    draws = draw_weights(weights, settings)
    acceptability = rank_acceptability(scores, eligible, ids, draws, aggregation)
    exact = aggregation.method in ("weighted_sum", "weighted_product")
    leader = int(np.nanargmin(np.where(eligible, ranks, np.inf)))
    critical = (
        critical_changes(
            critical_values(scores, aggregation), eligible, ids, leader, weights, names
        )
        if exact
        else []
    )
    in_table = acceptability.positions == leader
    p_first = float(acceptability.p_rank1[in_table][0]) if in_table.any() else 0.0
    ranked = np.flatnonzero(eligible & (ranks <= 1000))
    ranks_of = {str(ids[i]): int(ranks[i]) for i in ranked}
    text = (
        statement(p_first, critical, labels, ranks_of)
        if exact
        else f"#1 stays first in {p_first:.0%} of plausible weightings."
    )
    swept = (
        sweep(scores, eligible, ids, weights, aggregation, settings.spread_pct)
        if with_sweep
        else None
    )
    return SensitivityResult(
        settings, ids, ranks, acceptability, critical, swept, names, labels, text, exact
    )


def analyse_table(
    candidates: pd.DataFrame,
    criteria: Sequence[CriterionInfo],
    aggregation: Aggregation,
    settings: Settings,
    with_sweep: bool = False,
) -> SensitivityResult | None:
    """:func:`analyse` on a scored candidate table (``score_<name>``, ``excluded``,
    ``candidate_id``, ``rank`` columns; :class:`~siteselect.decision.results.RunResult`)."""
    names = [c.name for c in criteria]
    return analyse(
        candidates[[f"score_{n}" for n in names]].to_numpy(dtype="float64"),
        ~candidates["excluded"].to_numpy(dtype=bool),
        candidates["candidate_id"].to_numpy(),
        candidates["rank"].to_numpy(dtype="float64", na_value=np.nan),
        np.array([c.weight for c in criteria], dtype="float64"),
        names,
        [c.label for c in criteria],
        aggregation,
        settings,
        with_sweep,
    )
