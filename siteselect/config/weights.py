"""The top-level ``weights:`` section: criterion weights from AHP pairwise judgements.

Direct weights stay on each criterion (``weight: 3``). Instead, a config may
give pairwise judgements on Saaty's 1-9 scale, one line per criterion, each
pair once (reciprocals implied)::

    weights:
      ahp:
        members: {seismic: 3, competition: 5}   # members is 3x as important as seismic
        freeway_access: {members: 1/2, seismic: 2, competition: 3}
        seismic: {competition: 2}
      allow_inconsistent: false                 # refuse a consistency ratio > 0.1

The two forms are mutually exclusive. :func:`apply_weights` computes the AHP
weights (:mod:`siteselect.decision.weights`) when the config loads and sets
each criterion's ``weight`` to its share, so that everything downstream reads
``spec.weight`` alike.
"""

from __future__ import annotations

import logging
from fractions import Fraction
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, field_validator

from siteselect.decision.weights import AhpError, AhpResult, ahp_weights, inconsistency_message

if TYPE_CHECKING:
    from siteselect.config.kinds import KindSpec
    from siteselect.config.yaml_doc import YamlDocument

logger = logging.getLogger(__name__)


def _judgement(value: Any) -> float:
    """A YAML number or a fraction written as text (``1/3``)."""
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not a judgement; write a number such as 3 or 1/3")
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(Fraction(value.strip()))
        except (ValueError, ZeroDivisionError):
            pass
    raise ValueError(f"{value!r} is not a judgement; write a number such as 3 or 1/3")


class WeightsSpec(BaseModel):
    """Criterion weights from AHP pairwise judgements (instead of each criterion's ``weight``)."""

    model_config = ConfigDict(extra="forbid")

    ahp: dict[str, dict[str, Any]] = Field(
        description="Pairwise judgements on Saaty's 1-9 scale: {a: {b: 3}} means a is 3 times "
        "as important as b (1/3: a third as important); each pair once, reciprocals implied."
    )
    allow_inconsistent: bool = Field(
        default=False,
        description="Accept judgements whose consistency ratio exceeds max_consistency_ratio.",
    )
    max_consistency_ratio: float = Field(
        default=0.1, gt=0, description="Largest consistency ratio accepted (Saaty: 0.1)."
    )
    _result: AhpResult | None = PrivateAttr(default=None)

    @field_validator("ahp")
    @classmethod
    def _numbers(cls, value: dict[str, dict[str, Any]]) -> dict[str, dict[str, float]]:
        return {row: {col: _judgement(v) for col, v in cols.items()} for row, cols in value.items()}

    @property
    def result(self) -> AhpResult | None:
        """The AHP weights, once :func:`apply_weights` has run."""
        return self._result


def apply_weights(
    spec: WeightsSpec | None, criteria: dict[str, KindSpec], doc: YamlDocument
) -> None:
    """Set each criterion's ``weight`` from the AHP judgements (no-op without ``weights:``).

    Raises
    ------
    ConfigError
        A criterion that also has its own ``weight``; judgements that cannot be
        read (:class:`~siteselect.decision.weights.AhpError`, at the entry's
        line); a consistency ratio above the limit without ``allow_inconsistent``,
        at the line of the most inconsistent judgement.
    """
    if spec is None:
        return
    for name, criterion in criteria.items():
        if criterion.weight is not None:
            raise doc.error(
                ("criteria", name, "weight"),
                "give weights either on each criterion ('weight:') or as 'weights: {ahp: ...}', "
                "not both; remove this weight or the weights section",
            )
    try:
        result = ahp_weights(list(criteria), spec.ahp)
    except AhpError as exc:
        raise doc.error(("weights", "ahp", *exc.loc), str(exc)) from None
    if result.cr > spec.max_consistency_ratio and result.worst is not None:
        if not spec.allow_inconsistent:
            loc = ("weights", "ahp", result.worst.row, result.worst.column)
            raise doc.error(loc, inconsistency_message(result, spec.max_consistency_ratio))
        logger.warning(
            "AHP consistency ratio %.3f > %g accepted (allow_inconsistent); most inconsistent: "
            "%s vs %s",
            result.cr,
            spec.max_consistency_ratio,
            result.worst.row,
            result.worst.column,
        )
    for name, weight in zip(result.names, result.weights, strict=True):
        criteria[name].weight = float(weight)
    spec._result = result
    logger.info(
        "AHP weights (CR %.3f): %s",
        result.cr,
        ", ".join(f"{n} {w:.3f}" for n, w in zip(result.names, result.weights, strict=True)),
    )
