"""The ``aggregation:`` and ``sensitivity:`` sections of the config.

``aggregation`` is a method name (``weighted_sum``, ``weighted_product``) or a
mapping (``{method: owa, order_weights: [...]}`` or ``{method: owa, alpha: 2}``);
the formulas are in :mod:`siteselect.decision.aggregation` and docs/decision.md.
``sensitivity`` sizes the quick weight-sensitivity check every ``run`` does.
"""

from __future__ import annotations

import math
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

Method = Literal["weighted_sum", "weighted_product", "owa"]


class AggregationSpec(BaseModel):
    """How the criterion scores of a candidate combine into its total score."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    method: Method = Field(
        default="weighted_sum",
        description="weighted_sum (compensatory), weighted_product (a zero score anywhere "
        "gives 0) or owa (ordered weighted average, Yager / TerrSet).",
    )
    order_weights: list[float] | None = Field(
        default=None,
        description="owa: one weight per criterion (>= 0, summing to 1); the first applies to "
        "each candidate's highest score.",
    )
    alpha: float | None = Field(
        default=None,
        gt=0,
        description="owa: risk attitude; order weights (j/n)^alpha - ((j-1)/n)^alpha. "
        "alpha < 1 optimistic (OR-like), 1 = weighted sum, > 1 pessimistic (AND-like).",
    )

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, data: Any) -> Any:
        return {"method": data} if isinstance(data, str) else data

    @model_validator(mode="after")
    def _owa_parameters(self) -> AggregationSpec:
        if self.method != "owa":
            if self.order_weights is not None or self.alpha is not None:
                raise ValueError(f"order_weights and alpha belong to method owa, not {self.method}")
            return self
        if (self.order_weights is None) == (self.alpha is None):
            raise ValueError("owa needs exactly one of order_weights (a list) or alpha (a number)")
        if self.order_weights is not None:
            if any(w < 0 for w in self.order_weights):
                raise ValueError("order_weights must be >= 0")
            if not math.isclose(sum(self.order_weights), 1.0, abs_tol=1e-6):
                raise ValueError(
                    f"order_weights must sum to 1 (they sum to {sum(self.order_weights):g})"
                )
        return self

    def to_json(self) -> dict[str, Any]:
        """``{"method": ...}`` plus the owa parameters given."""
        out: dict[str, Any] = {"method": self.method}
        if self.order_weights is not None:
            out["order_weights"] = list(self.order_weights)
        if self.alpha is not None:
            out["alpha"] = self.alpha
        return out


class SensitivitySpec(BaseModel):
    """The quick weight-sensitivity check of ``run`` (``siteselect sensitivity`` does more)."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    enabled: bool = Field(default=True, description="Run the quick check (false: skip it).")
    draws: int = Field(default=300, ge=10, le=100_000, description="Monte Carlo weight draws.")
    spread_pct: float = Field(
        default=50.0,
        gt=0,
        lt=100,
        description="Each weight varies within +/- this percentage of its configured value.",
    )
    seed: int = Field(default=0, ge=0, description="Random seed (the same seed, the same result).")
    distribution: Literal["uniform", "dirichlet"] = Field(
        default="uniform",
        description="uniform: each weight uniform in +/- spread, then normalised; dirichlet: "
        "Dirichlet around the configured weights with the same spread (standard deviation).",
    )


def check_order_weights(spec: AggregationSpec, n_criteria: int) -> str | None:
    """A problem with the owa order weights for ``n_criteria`` criteria, or None."""
    if spec.order_weights is not None and len(spec.order_weights) != n_criteria:
        return (
            f"order_weights has {len(spec.order_weights)} entries for {n_criteria} criteria; "
            "give one per criterion (the first applies to each candidate's highest score)"
        )
    return None
