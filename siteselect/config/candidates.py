"""Config pieces of the candidate sources: the generated grid and the ``where:`` condition.

:class:`GridSpec` is ``candidates.grid`` (see :mod:`siteselect.study.grid`);
:func:`check_condition` parses a ``where:`` condition when the config loads, so
that a typo is reported with its YAML line before anything is read;
:func:`check_grid` checks what a grid needs from the rest of the config.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from siteselect.config.expressions import ExpressionError, parse_condition
from siteselect.config.yaml_doc import YamlDocument


class GridSpec(BaseModel):
    """Generated candidates: a square or hexagonal grid over the study area."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    cell_m: float = Field(
        gt=0,
        description="Cell size in metres: a square's side, a hexagon's width across flats "
        "(the distance between neighbouring centres).",
    )
    shape: Literal["square", "hex"] = Field(default="square", description="square or hex.")
    land: str | None = Field(
        default=None,
        description="Layer (under 'layers:') of land polygons: cells are clipped to it.",
    )
    water: str | None = Field(
        default=None,
        description="Layer (under 'layers:') of water polygons (bays, lakes): removed from "
        "the cells.",
    )
    min_fraction: float = Field(
        default=0.25,
        ge=0,
        le=1,
        description="Drop cells left with less than this share of a whole cell after clipping "
        "(slivers along the shore and the study area's edge).",
    )


def check_condition(value: Any) -> Any:
    """A ``where:`` condition written as text must parse (columns are checked when read)."""
    if isinstance(value, str):
        try:
            parse_condition(value)
        except ExpressionError as exc:
            raise ValueError(
                f"{exc}; write a condition such as \"land_use in ('VACANT', 'AGRICULTURAL') "
                'and assessed_usd / acres < 2000000"'
            ) from None
    return value


def check_grid(
    grid: GridSpec | None, has_study_area: bool, layers: Mapping[str, Any], doc: YamlDocument
) -> None:
    """A grid needs a study area; its land and water layers must be defined."""
    if grid is None:
        return
    if not has_study_area:
        raise doc.error(
            ("candidates", "grid"),
            "a grid needs a study area to cover: add 'study_area:' (a polygon file)",
        )
    for key in ("land", "water"):
        layer = getattr(grid, key)
        if layer is not None and layer not in layers:
            known = ", ".join(sorted(layers)) or "none defined"
            raise doc.error(
                ("candidates", "grid", key),
                f"unknown layer {layer!r}; add it under 'layers:' (known: {known})",
            )
