"""The quick weight sensitivity and the aggregation methods at county scale.

Run::

    .venv/bin/python -m bench.sensitivity_bench --candidates 1000000

Synthetic (fixed seed): ``--candidates`` rows of 6 criterion scores in [0, 1]
(beta-distributed, correlated through a shared "location quality" term, as real
criteria are), 20% excluded, weights 3, 2, 4, 3, 2, 1. Times, wall and CPU
seconds, the product path against a plainly written numpy baseline in the same
run, and prints the ratio:

- aggregation (:func:`siteselect.decision.aggregation.aggregate`, totals and
  contributions) for each method vs the bare formula with the same outputs
  (``S * w`` summed; ``exp(log S @ w)`` and its shares; a sort-based owa,
  totals only);
- the quick sensitivity of ``run`` (:func:`siteselect.decision.sensitivity.analyse`:
  300 draws, rank acceptability with exact pruning, critical weights, the
  statement) vs scoring every candidate under every draw and taking each draw's
  top 10 with ``argpartition`` (the same probabilities, checked).
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from siteselect.decision.aggregation import Aggregation, aggregate, resolve
from siteselect.decision.sensitivity import Settings, analyse, draw_weights

SEED = 20261130
WEIGHTS = np.array([3.0, 2.0, 4.0, 3.0, 2.0, 1.0])


def synthetic(n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Scores, eligible mask, ids and ranks (weighted sum) for ``n`` candidates."""
    rng = np.random.default_rng(SEED)
    quality = rng.beta(2, 5, n)[:, None]
    scores = np.clip(0.5 * quality + 0.5 * rng.beta(2, 3, (n, len(WEIGHTS))), 0, 1)
    eligible = rng.random(n) > 0.2
    ids = np.char.add("C", np.char.zfill(np.arange(n).astype(str), 7))
    totals = scores @ (WEIGHTS / WEIGHTS.sum())
    order = np.lexsort((ids, -totals))
    order = order[eligible[order]]
    ranks = np.full(n, np.nan)
    ranks[order] = np.arange(1, len(order) + 1)
    return scores, eligible, ids, ranks


def timed(fn: Callable[[], Any], repeat: int = 3) -> tuple[float, float, Any]:
    """Best wall and CPU seconds of ``repeat`` calls, and the last result."""
    best_wall = best_cpu = float("inf")
    result = None
    for _ in range(repeat):
        wall, cpu = time.perf_counter(), time.process_time()
        result = fn()
        best_wall = min(best_wall, time.perf_counter() - wall)
        best_cpu = min(best_cpu, time.process_time() - cpu)
    return best_wall, best_cpu, result


def baseline_owa(scores: np.ndarray, w: np.ndarray, v: np.ndarray) -> np.ndarray:
    order = np.argsort(-scores, axis=1, kind="stable")
    u = w[order] * v
    return (u * np.take_along_axis(scores, order, axis=1)).sum(axis=1) / u.sum(axis=1)


def baseline_acceptability(
    scores: np.ndarray, eligible: np.ndarray, draws: np.ndarray
) -> np.ndarray:
    """P(rank 1) per candidate: every candidate under every draw (ties: not resolved)."""
    positions = np.flatnonzero(eligible)
    s = scores[positions]
    first = np.zeros(len(scores))
    for w in draws:
        totals = s @ w
        top = np.argpartition(-totals, 10)[:10]
        first[positions[top[np.argmax(totals[top])]]] += 1
    return first / len(draws)


def row(name: str, product: tuple[float, float], baseline: tuple[float, float]) -> None:
    ratio = product[0] / baseline[0] if baseline[0] else float("nan")
    print(
        f"{name:<34} {product[0]:8.3f} {product[1]:8.3f} {baseline[0]:9.3f} "
        f"{baseline[1]:9.3f} {ratio:7.2f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--candidates", type=int, default=1_000_000)
    parser.add_argument("--draws", type=int, default=300)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    print(f"load average before: {os.getloadavg()}")
    scores, eligible, ids, ranks = synthetic(args.candidates)
    w = WEIGHTS / WEIGHTS.sum()
    print(f"{args.candidates:,} candidates x {len(WEIGHTS)} criteria, {args.draws} draws")
    print(f"{'step':<34} {'wall s':>8} {'cpu s':>8} {'base wall':>9} {'base cpu':>9} {'ratio':>7}")
    owa = resolve("owa", len(w), alpha=2.0)
    v = np.asarray(owa.order_weights)

    def plain_sum() -> np.ndarray:
        contrib = scores * w
        return contrib.sum(axis=1), contrib

    def plain_product() -> np.ndarray:
        total = np.exp(np.log(scores) @ w)
        contrib = scores * w
        return total, contrib * (total / contrib.sum(axis=1))[:, None]

    cases = [
        ("aggregate weighted_sum", Aggregation(), plain_sum),
        ("aggregate weighted_product", Aggregation("weighted_product"), plain_product),
        ("aggregate owa (alpha 2)", owa, lambda: (baseline_owa(scores, w, v), None)),
    ]
    for name, method, base in cases:
        product = timed(lambda m=method: aggregate(scores, w, m), args.repeat)
        baseline = timed(base, args.repeat)
        assert np.allclose(product[2][0], baseline[2][0])
        row(name, product[:2], baseline[:2])
    settings = Settings(args.draws, 50.0, 0)
    names = [f"c{i}" for i in range(len(w))]
    product = timed(
        lambda: analyse(
            scores, eligible, ids, ranks, WEIGHTS, names, names, Aggregation(), settings
        ),
        args.repeat,
    )
    draws = draw_weights(WEIGHTS, settings)
    baseline = timed(lambda: baseline_acceptability(scores, eligible, draws), 1)
    result = product[2]
    acc = result.acceptability
    mine = np.zeros(len(scores))
    mine[acc.positions] = acc.p_rank1
    assert np.allclose(mine, baseline[2]), "pruned and brute-force P(rank 1) differ"
    row("quick sensitivity (run)", product[:2], baseline[:2])
    print(f"contenders scored per draw: {acc.kept:,} of {int(eligible.sum()):,} ranked")
    print(result.statement)
    print(f"load average after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
