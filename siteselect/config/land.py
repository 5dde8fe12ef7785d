"""The ``buildable:`` and ``assemble:`` sections: net buildable area and land assembly.

``buildable:`` turns some constraints into *partial* exclusions: instead of
excluding a whole parcel, the area they forbid is removed from it, and the
largest contiguous piece left is the parcel's net buildable area::

    buildable:
      min_acres: 20                 # constraint on buildable_acres
      max_slope_pct: 15             # slopes steeper than this are removed...
      dem: dem                      # ...computed from this elevation raster
      water: water                  # polygons of water removed
      setbacks_from: [fault_setback]          # distance constraints with min_m: their buffer
      zones_from: [exclusion_zones, airspace] # zones constraints; airspace: APZ/CZ + height

``assemble:`` combines neighbouring candidates into sites large enough::

    assemble: {min_acres: 20, max_parcels: 8, max_gap_m: 30}

Only the models and the cross-checks against ``constraints:`` and ``layers:``
live here; the work is in :mod:`siteselect.criteria.buildable` and
:mod:`siteselect.study.assembly`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from siteselect.config.yaml_doc import PathKey, YamlDocument

SETBACK_KINDS = ("distance",)
ZONE_KINDS = ("zones", "airspace")


class BuildableSpec(BaseModel):
    """Net buildable area: each candidate minus what partial exclusions remove."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    min_acres: float | None = Field(
        default=None,
        ge=0,
        description="Constraint: least net buildable area (the largest contiguous piece), "
        "acres. Without it, only candidates with no buildable piece are excluded.",
    )
    max_slope_pct: float | None = Field(
        default=None, gt=0, description="Remove ground steeper than this (percent rise), from dem."
    )
    dem: str | None = Field(
        default=None, description="Raster layer of ground elevation (its units: m, ft, us-ft)."
    )
    water: str | None = Field(default=None, description="Vector layer of water polygons removed.")
    setbacks_from: list[str] = Field(
        default_factory=list,
        description="Constraints of kind distance with min_m whose setback (the buffer of "
        "the layer's features) is removed instead of excluding the parcel.",
    )
    zones_from: list[str] = Field(
        default_factory=list,
        description="Constraints of kind zones (their zones) or airspace (AICUZ clear zones "
        "and APZs, and where the planned height penetrates a surface) removed instead of "
        "excluding the parcel.",
    )
    airspace_sample_m: float = Field(
        default=10.0,
        gt=0,
        description="Grid spacing, m, at which the area where the planned height penetrates "
        "an airspace surface is sampled.",
    )

    @model_validator(mode="after")
    def _slope_needs_dem(self) -> BuildableSpec:
        if self.max_slope_pct is not None and self.dem is None:
            raise ValueError("max_slope_pct needs 'dem: <raster layer>' to compute slopes from")
        if self.dem is not None and self.max_slope_pct is None:
            raise ValueError("dem is read only for max_slope_pct; add max_slope_pct (e.g. 15)")
        both = sorted(set(self.setbacks_from) & set(self.zones_from))
        if both:
            raise ValueError(f"{both[0]!r} is in both setbacks_from and zones_from; keep one")
        return self

    def partial_constraints(self) -> list[str]:
        """Names of the constraints handled by the buildable area, in config order."""
        return [*self.setbacks_from, *self.zones_from]


class AssembleSpec(BaseModel):
    """Land assembly: neighbouring candidates combined into sites of ``min_acres``."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    min_acres: float = Field(gt=0, description="Acreage an assembled site must reach.")
    max_parcels: int = Field(default=8, ge=2, description="Most parcels in one assembled site.")
    max_gap_m: float = Field(
        default=0.0,
        ge=0,
        description="Parcels this close are neighbours (0: touching only); e.g. 30 to "
        "assemble across a local street.",
    )


def _known(names: Any) -> str:
    return ", ".join(sorted(names)) or "none defined"


def check_buildable(
    spec: BuildableSpec,
    constraints: Mapping[str, Any],
    layers: Mapping[str, Any],
    doc: YamlDocument,
) -> None:
    """Cross-check ``buildable:`` against ``constraints:`` and ``layers:`` (YAML lines).

    Raises
    ------
    ConfigError
        An unknown constraint or layer, a constraint of the wrong kind, a setback
        without ``min_m`` (or with ``max_m``, which no area removal can stand
        for), a ``dem`` that is not a raster or a ``water`` layer that is one.
    """
    groups: tuple[tuple[str, list[str], tuple[str, ...]], ...] = (
        ("setbacks_from", spec.setbacks_from, SETBACK_KINDS),
        ("zones_from", spec.zones_from, ZONE_KINDS),
    )
    for field, names, kinds in groups:
        for index, name in enumerate(names):
            loc: PathKey = ("buildable", field, index)
            entry = constraints.get(name)
            if entry is None:
                raise doc.error(
                    loc, f"unknown constraint {name!r} (constraints: {_known(constraints)})"
                )
            if entry.kind not in kinds:
                raise doc.error(
                    loc,
                    f"constraint {name!r} is of kind {entry.kind}; {field} takes "
                    f"{' or '.join(kinds)} constraints",
                )
            if field == "setbacks_from" and (entry.min_m is None or entry.max_m is not None):
                raise doc.error(
                    loc,
                    f"constraint {name!r} needs min_m and no max_m to be a setback "
                    "(the buffer of its layer's features is removed)",
                )
    for field in ("dem", "water"):
        name = getattr(spec, field)
        if name is None:
            continue
        layer = layers.get(name)
        if layer is None:
            raise doc.error(
                ("buildable", field), f"unknown layer {name!r} (layers: {_known(layers)})"
            )
        if field == "dem" and not layer.is_raster:
            raise doc.error(("buildable", field), f"layer {name!r} is not a raster (GeoTIFF...)")
        if field == "water" and layer.is_raster:
            raise doc.error(
                ("buildable", field), f"layer {name!r} is a raster; give water polygons"
            )


__all__ = ["AssembleSpec", "BuildableSpec", "check_buildable"]
