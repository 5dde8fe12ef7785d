"""Criterion weights: direct (normalised to sum 1) or from AHP pairwise judgements.

Pure numpy: no config, no I/O. :mod:`siteselect.config.weights` reads the YAML
form and calls :func:`ahp_weights`; the pipeline logs the normalised weights.

AHP (Saaty 1980, *The Analytic Hierarchy Process*, McGraw-Hill): the judgement
``a_ij`` on Saaty's 1-9 scale says how many times more important criterion
``i`` is than ``j``; ``a_ji = 1 / a_ij`` and ``a_ii = 1``. The weights are the
principal (Perron) eigenvector of the matrix, scaled to sum 1; its eigenvalue
``lambda_max >= n`` measures the inconsistency: ``CI = (lambda_max - n) /
(n - 1)`` and the consistency ratio ``CR = CI / RI(n)`` with Saaty's random
index ``RI`` (:data:`RANDOM_INDEX`). Saaty's rule: revise the judgements when
``CR > 0.1``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

RANDOM_INDEX: dict[int, float] = {
    1: 0.0,
    2: 0.0,
    3: 0.58,
    4: 0.90,
    5: 1.12,
    6: 1.24,
    7: 1.32,
    8: 1.41,
    9: 1.45,
    10: 1.49,
}
"""Saaty's random consistency index by matrix size (Saaty 1980, Table 1.3; the
mean CI of random reciprocal matrices on the 1-9 scale). Also in Saaty (1990),
"How to make a decision: the Analytic Hierarchy Process", EJOR 48, 9-26."""

SAATY_MIN, SAATY_MAX = 1.0 / 9.0, 9.0


class AhpError(ValueError):
    """A judgement set that cannot be read; ``loc`` is its place under ``ahp:``."""

    def __init__(self, message: str, loc: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.loc = loc


@dataclass(frozen=True)
class Judgement:
    """One pairwise judgement as written: ``row`` is ``value`` times as important as ``column``."""

    row: str
    column: str
    value: float


@dataclass(frozen=True)
class AhpResult:
    """AHP weights and how consistent the judgements behind them are.

    Attributes
    ----------
    names : tuple of str
        Criteria, in matrix order.
    matrix : numpy.ndarray
        The full reciprocal matrix.
    weights : numpy.ndarray
        Principal eigenvector, summing to 1.
    lambda_max, ci, cr : float
        Principal eigenvalue, consistency index and consistency ratio (0 for n <= 2).
    worst : Judgement or None
        The judgement whose ratio deviates most from ``w_row / w_column`` (None for n <= 2).
    implied : float
        ``w_row / w_column`` for ``worst``: what the other judgements imply.
    """

    names: tuple[str, ...]
    matrix: np.ndarray
    weights: np.ndarray
    lambda_max: float
    ci: float
    cr: float
    worst: Judgement | None
    implied: float

    def as_dict(self) -> dict[str, object]:
        """JSON-serialisable summary (run.json, the ``weights`` command)."""
        return {
            "method": "ahp",
            "weights": {n: float(w) for n, w in zip(self.names, self.weights, strict=True)},
            "lambda_max": self.lambda_max,
            "consistency_index": self.ci,
            "consistency_ratio": self.cr,
            "most_inconsistent": None
            if self.worst is None
            else {
                "row": self.worst.row,
                "column": self.worst.column,
                "judgement": self.worst.value,
                "implied_by_weights": self.implied,
            },
        }


def pairwise_matrix(
    names: Sequence[str], judgements: Mapping[str, Mapping[str, float]]
) -> tuple[np.ndarray, list[Judgement]]:
    """The reciprocal matrix of ``judgements`` (``{row: {column: value}}``) over ``names``.

    Each unordered pair must be judged exactly once, in either direction;
    reciprocals are implied.

    Raises
    ------
    AhpError
        An unknown criterion, a value off Saaty's scale (1/9..9), a pair judged
        twice or against itself, or missing pairs (all named).
    """
    index = {name: i for i, name in enumerate(names)}
    n = len(names)
    matrix = np.ones((n, n))
    given: dict[frozenset[str], Judgement] = {}
    for row, columns in judgements.items():
        if row not in index:
            raise AhpError(f"{row!r} is not a criterion (criteria: {', '.join(names)})", (row,))
        for column, value in columns.items():
            loc = (row, column)
            if column not in index:
                known = ", ".join(names)
                raise AhpError(f"{column!r} is not a criterion (criteria: {known})", loc)
            if column == row:
                raise AhpError("a criterion is not compared with itself; remove this entry", loc)
            if not (math.isfinite(value) and SAATY_MIN - 1e-12 <= value <= SAATY_MAX + 1e-12):
                raise AhpError(
                    f"{value:g} is off Saaty's 1-9 scale; use 1..9 (or 1/9..1 for less important)",
                    loc,
                )
            pair = frozenset(loc)
            if pair in given:
                first = given[pair]
                raise AhpError(
                    f"{row} vs {column} is judged twice (also {first.row}: {{{first.column}: "
                    f"{first.value:g}}}); give each pair once, the reciprocal is implied",
                    loc,
                )
            given[pair] = Judgement(row, column, float(value))
            matrix[index[row], index[column]] = value
            matrix[index[column], index[row]] = 1.0 / value
    missing = [
        f"{a} vs {b}"
        for i, a in enumerate(names)
        for b in names[i + 1 :]
        if frozenset((a, b)) not in given
    ]
    if missing:
        raise AhpError(
            f"missing judgement(s): {', '.join(missing)}; every pair of criteria needs one "
            "(e.g. 'members: {seismic: 3}' = members is 3 times as important as seismic)"
        )
    return matrix, list(given.values())


def principal_eigenvector(matrix: np.ndarray) -> tuple[np.ndarray, float]:
    """The Perron eigenvector (positive, summing to 1) and its eigenvalue."""
    values, vectors = np.linalg.eig(matrix)
    top = int(np.argmax(values.real))
    vector = np.abs(vectors[:, top].real)
    return vector / vector.sum(), float(values[top].real)


def ahp_weights(names: Sequence[str], judgements: Mapping[str, Mapping[str, float]]) -> AhpResult:
    """AHP weights, consistency ratio and the most inconsistent judgement.

    The most inconsistent judgement is the one whose ratio deviates most, on a
    log scale (``|ln(a_ij w_j / w_i)|``, so that 3 vs 1 and 1/3 vs 1 count
    alike), from ``w_i / w_j``.

    Raises
    ------
    AhpError
        See :func:`pairwise_matrix`; more than 10 criteria (beyond Saaty's table).
    """
    n = len(names)
    if n > max(RANDOM_INDEX):
        raise AhpError(
            f"AHP takes at most {max(RANDOM_INDEX)} criteria (Saaty's random index table); "
            "give direct weights instead"
        )
    matrix, given = pairwise_matrix(names, judgements)
    weights, lambda_max = principal_eigenvector(matrix)
    lambda_max = max(lambda_max, float(n))  # rounding can leave it a hair below n
    ci = (lambda_max - n) / (n - 1) if n > 1 else 0.0
    cr = ci / RANDOM_INDEX[n] if RANDOM_INDEX[n] > 0 else 0.0
    index = {name: i for i, name in enumerate(names)}
    worst: Judgement | None = None
    implied = math.nan
    if n > 2:
        deviation = [
            abs(math.log(j.value * weights[index[j.column]] / weights[index[j.row]])) for j in given
        ]
        worst = given[int(np.argmax(deviation))]
        implied = float(weights[index[worst.row]] / weights[index[worst.column]])
    return AhpResult(tuple(names), matrix, weights, lambda_max, ci, cr, worst, implied)


def judgement_text(value: float) -> str:
    """A judgement as written on Saaty's scale: ``3``, ``1/3``, ``2.5``.

    >>> judgement_text(3.0), judgement_text(1 / 9), judgement_text(0.4)
    ('3', '1/9', '0.4')
    """
    if value < 1 and abs(1 / value - round(1 / value)) < 1e-9:
        return f"1/{round(1 / value)}"
    return f"{value:g}"


def inconsistency_message(result: AhpResult, limit: float) -> str:
    """The refusal of judgements with ``CR > limit``, naming the most inconsistent one."""
    worst = result.worst
    assert worst is not None
    return (
        f"the judgements are inconsistent (consistency ratio {result.cr:.3f} > {limit:g}); "
        f"the most inconsistent is {worst.row} vs {worst.column} = {judgement_text(worst.value)} "
        f"(the other judgements imply about {result.implied:.2g}): revise it, or set "
        "'allow_inconsistent: true' under weights"
    )
