"""How the criterion scores of a candidate combine into its total score.

With criterion weights ``w`` normalised to sum 1 and scores ``s_i`` in [0, 1]:

``weighted_sum``
    ``S = sum_i w_i s_i`` (compensatory: a high score makes up for a low one).
``weighted_product``
    ``S = prod_i s_i ** w_i``; ``S = 0`` when any ``s_i = 0`` with ``w_i > 0``
    (a criterion with weight 0 does not count, even at score 0).
``owa`` (ordered weighted average; Yager 1988, with criterion weights as in
Eastman's TerrSet)
    Sort a candidate's criteria by score, descending, ``s_(1) >= ... >= s_(n)``
    (ties in config order), with order weights ``v_1..v_n`` (sum 1; ``v_1``
    applies to the highest score): ``u_j = w_(j) v_j / sum_k w_(k) v_k`` and
    ``S = sum_j u_j s_(j)``; ``S = 0`` when ``sum_k w_(k) v_k = 0``. Order
    weights from a risk attitude ``alpha`` (Yager's quantifier):
    ``v_j = (j/n)**alpha - ((j-1)/n)**alpha``: ``alpha < 1`` optimistic
    (OR-like), ``alpha = 1`` the weighted sum, ``alpha > 1`` pessimistic (AND-like).

``contrib_<criterion>`` adds up to ``S`` under every method: ``w_i s_i`` for the
weighted sum; ``u_j s_(j)`` (the criterion's ordered share) for owa; for the
weighted product, the criterion's weighted-sum share of ``S``,
``S * w_i s_i / sum_k w_k s_k`` (0 when that sum is 0).

A missing score (NaN) counts as 0 in ``S`` and leaves its ``contrib`` NaN: such
a candidate is excluded anyway (:mod:`siteselect.decision.scoring`).
The map's what-if script implements the same formulas (outputs/map).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from siteselect.config.aggregation import AggregationSpec

METHODS = ("weighted_sum", "weighted_product", "owa")


@dataclass(frozen=True)
class Aggregation:
    """A resolved aggregation: the method and, for owa, the order weights ``v_1..v_n``."""

    method: str = "weighted_sum"
    order_weights: tuple[float, ...] = field(default=())
    alpha: float | None = None

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise ValueError(f"unknown aggregation {self.method!r}; use one of {METHODS}")

    def to_json(self) -> dict[str, object]:
        """``RunResult.aggregation``: the method and, for owa, the resolved order weights."""
        out: dict[str, object] = {"method": self.method}
        if self.method == "owa":
            out["order_weights"] = list(self.order_weights)
            if self.alpha is not None:
                out["alpha"] = self.alpha
        return out


def quantifier_weights(n: int, alpha: float) -> np.ndarray:
    """Yager's order weights ``v_j = (j/n)**alpha - ((j-1)/n)**alpha``, j = 1..n.

    >>> quantifier_weights(4, 1.0).tolist()
    [0.25, 0.25, 0.25, 0.25]
    >>> quantifier_weights(2, 2.0).round(4).tolist()
    [0.25, 0.75]
    """
    j = np.arange(n + 1, dtype="float64") / n
    return np.diff(j**alpha)


def resolve(
    method: str, n: int, order_weights: list[float] | None = None, alpha: float | None = None
) -> Aggregation:
    """An :class:`Aggregation` for ``n`` criteria (owa order weights from ``alpha`` if given)."""
    if method != "owa":
        return Aggregation(method)
    if order_weights is None:
        if alpha is None:
            raise ValueError("owa needs order_weights or alpha")
        order_weights = quantifier_weights(n, alpha).tolist()
    if len(order_weights) != n:
        raise ValueError(f"{len(order_weights)} order weights for {n} criteria")
    return Aggregation("owa", tuple(float(v) for v in order_weights), alpha)


def from_config(spec: AggregationSpec, n: int) -> Aggregation:
    """The config's ``aggregation`` resolved for ``n`` criteria."""
    return resolve(spec.method, n, spec.order_weights, spec.alpha)


def aggregate(
    scores: np.ndarray, weights: np.ndarray, aggregation: Aggregation
) -> tuple[np.ndarray, np.ndarray]:
    """Total scores and per-criterion contributions.

    Parameters
    ----------
    scores : numpy.ndarray
        ``(candidates, criteria)`` scores in [0, 1]; NaN where missing.
    weights : numpy.ndarray
        ``(criteria,)`` weights summing to 1.
    aggregation : Aggregation

    Returns
    -------
    total, contrib : numpy.ndarray
        ``(candidates,)`` and ``(candidates, criteria)``; ``contrib`` sums to ``total``.
    """
    scores = np.asarray(scores, dtype="float64")
    weights = np.asarray(weights, dtype="float64")
    missing = np.isnan(scores)
    filled = np.where(missing, 0.0, scores)
    if aggregation.method == "weighted_sum":
        contrib = filled * weights
        total = contrib.sum(axis=1)
    elif aggregation.method == "weighted_product":
        total = weighted_product(filled, weights)
        contrib = filled * weights
        linear = contrib.sum(axis=1)
        share = np.divide(total, linear, out=np.zeros_like(total), where=linear > 0)
        contrib = contrib * share[:, None]
    else:
        total, contrib = owa(filled, weights, np.asarray(aggregation.order_weights))
    contrib[missing] = np.nan
    return total, contrib


def weighted_product(scores: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """``prod_i s_i ** w_i`` per row; 0 when a weighted score is 0."""
    used = weights > 0
    with np.errstate(divide="ignore"):
        logs = np.log(scores[:, used])
    return np.exp(logs @ weights[used])


def owa(
    scores: np.ndarray, weights: np.ndarray, order_weights: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Ordered weighted average with criterion weights (module docstring): total, contrib."""
    order = np.argsort(-scores, axis=1, kind="stable")  # descending, ties in config order
    ranked = np.take_along_axis(scores, order, axis=1)
    u = weights[order] * order_weights[None, :]
    norm = u.sum(axis=1)
    u = np.divide(u, norm[:, None], out=np.zeros_like(u), where=norm[:, None] > 0)
    parts = u * ranked
    contrib = np.empty_like(parts)
    np.put_along_axis(contrib, order, parts, axis=1)
    return parts.sum(axis=1), contrib


def aggregate_draws(scores: np.ndarray, draws: np.ndarray, aggregation: Aggregation) -> np.ndarray:
    """Total scores under many weight vectors: ``(draws, candidates)``.

    ``draws`` is ``(draws, criteria)``, each row summing to 1. Missing scores count as 0.
    """
    filled = np.nan_to_num(np.asarray(scores, dtype="float64"), nan=0.0)
    if aggregation.method == "weighted_sum":
        return draws @ filled.T
    if aggregation.method == "weighted_product":
        with np.errstate(divide="ignore", invalid="ignore"):
            logs = np.log(filled)
        out = np.empty((len(draws), len(filled)))
        for d, w in enumerate(draws):
            out[d] = np.exp(logs[:, w > 0] @ w[w > 0])
        return out
    v = np.asarray(aggregation.order_weights)
    return np.stack([owa(filled, w, v)[0] for w in draws])
