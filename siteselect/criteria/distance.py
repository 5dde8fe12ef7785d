"""``distance``: metres from each candidate to the nearest feature of a layer.

Measured from the candidate's outline (0 when it touches or overlaps the
feature) with the layer's spatial index (STRtree nearest), in the working CRS.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar, Literal

import numpy as np
from pydantic import Field

from siteselect.criteria.base import KindSpec, Measurement, register
from siteselect.results import Overlay

if TYPE_CHECKING:
    from siteselect.study import Study


class DistanceSpec(KindSpec):
    """Straight-line distance to the nearest feature of ``layer``, in metres."""

    kind: Literal["distance"]
    layer: str = Field(description="Name of an entry under 'layers:'.")
    min_m: float | None = Field(default=None, ge=0, description="Constraint: minimum distance.")
    max_m: float | None = Field(default=None, ge=0, description="Constraint: maximum distance.")
    size_column: str | None = Field(
        default=None, description="Map: numeric column sizing the layer's markers (e.g. BEDS)."
    )

    bound_fields: ClassVar[tuple[str, ...]] = ("min_m", "max_m")

    def bounds(self) -> tuple[float | None, float | None]:
        return (self.min_m, self.max_m)


def _overlay(spec: DistanceSpec, study: Study) -> Overlay:
    frame = study.vector(spec.layer)
    kinds = set(frame.geom_type)
    kind = (
        "points"
        if kinds <= {"Point", "MultiPoint"}
        else ("lines" if kinds <= {"LineString", "MultiLineString"} else "polygons")
    )
    columns = ["feature_name", "geometry"]
    if spec.size_column and spec.size_column in frame.columns:
        columns.insert(1, spec.size_column)
    return Overlay(
        name=spec.label or spec.layer.replace("_", " ").capitalize(),
        kind=kind,
        gdf=frame[columns],
        label_column="feature_name",
        size_column=spec.size_column if spec.size_column in frame.columns else None,
        color="#7b3294" if kind == "points" else "#b35806",
    )


@register(DistanceSpec)
def measure(spec: DistanceSpec, study: Study) -> Measurement:
    """Distance (m) from each candidate to its nearest feature, and that feature's name."""
    features = study.vector(spec.layer)
    candidates = study.candidates.geometry
    (cand_index, feature_index), distance = features.sindex.nearest(
        candidates, return_all=False, return_distance=True
    )
    values = np.full(len(candidates), np.nan)
    nearest = np.full(len(candidates), "", dtype=object)
    values[cand_index] = distance
    nearest[cand_index] = features["feature_name"].to_numpy()[feature_index]
    touching = values == 0
    reasons = np.where(touching, "touches or crosses " + nearest.astype(str), "")
    return Measurement(
        values=values,
        reasons=reasons if touching.any() else None,
        unit="m",
        label=spec.label or f"Distance to nearest {spec.layer.replace('_', ' ')}",
        feature=nearest,
        overlays=[_overlay(spec, study)],
        phrase_low="within {value} of {feature}",
        phrase_high="{value} from the nearest, {feature}",
    )
