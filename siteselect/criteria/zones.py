"""``zones``: how much of each candidate lies inside exclusion zones.

Zones are the features of a layer, optionally buffered (``buffer_m``): a
runway centre line buffered by 1,500 m is a simple airspace exclusion until
the full FAA Part 77 model is used. The raw value is the percentage of the
candidate's area inside the union of the zones (for point candidates 0 or 100).
As a constraint, ``max_overlap_pct: 0`` excludes any candidate touching a zone.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar, Literal

import geopandas as gpd
import numpy as np
import shapely
from pydantic import Field

from siteselect.criteria.base import KindSpec, Measurement, register
from siteselect.results import Overlay

if TYPE_CHECKING:
    from siteselect.study import Study


class ZonesSpec(KindSpec):
    """Share of the candidate inside the (buffered) features of ``layer``, in %."""

    kind: Literal["zones"]
    layer: str = Field(description="Name of an entry under 'layers:'.")
    buffer_m: float = Field(default=0.0, ge=0, description="Buffer around each feature, metres.")
    zone_label: str = Field(
        default="zone", description="What a zone is, for reasons ('runway buffer')."
    )
    max_overlap_pct: float | None = Field(
        default=None, ge=0, le=100, description="Constraint: largest share allowed inside, %."
    )

    bound_fields: ClassVar[tuple[str, ...]] = ("max_overlap_pct",)

    def bounds(self) -> tuple[float | None, float | None]:
        return (None, self.max_overlap_pct)


def zone_polygons(spec: ZonesSpec, study: Study) -> gpd.GeoDataFrame:
    """The zones as polygons (buffered), with a human name per zone."""
    features = study.vector(spec.layer)
    geoms = features.geometry.to_numpy()
    if spec.buffer_m > 0:
        geoms = shapely.buffer(geoms, spec.buffer_m, quad_segs=16)
    names = features["feature_name"].to_numpy()
    suffix = f" ({spec.buffer_m:g} m)" if spec.buffer_m > 0 else ""
    labels = [f"{spec.zone_label} {name}{suffix}" for name in names]
    return gpd.GeoDataFrame({"feature_name": labels}, geometry=geoms, crs=study.crs)


@register(ZonesSpec)
def measure(spec: ZonesSpec, study: Study) -> Measurement:
    """Percentage of each candidate inside the zones, and the first zone entered."""
    zones = zone_polygons(spec, study)
    zones = zones[shapely.get_type_id(zones.geometry.to_numpy()) >= 3]
    candidates = study.candidates.geometry.to_numpy()
    cand_index, zone_index = zones.sindex.query(candidates, predicate="intersects")
    pct = np.zeros(len(candidates))
    first = np.full(len(candidates), "", dtype=object)
    if cand_index.size:
        pieces = shapely.intersection(candidates[cand_index], zones.geometry.to_numpy()[zone_index])
        merged = gpd.GeoDataFrame({"c": cand_index}, geometry=pieces).dissolve(by="c")
        areas = shapely.area(candidates[merged.index.to_numpy()])
        inside = shapely.area(merged.geometry.to_numpy())
        with np.errstate(divide="ignore", invalid="ignore"):
            share = np.where(areas > 0, 100.0 * inside / areas, 100.0)
        pct[merged.index.to_numpy()] = np.clip(share, 0.0, 100.0)
        order = np.lexsort((zone_index, cand_index))
        cand_sorted, zone_sorted = cand_index[order], zone_index[order]
        firsts = np.r_[True, cand_sorted[1:] != cand_sorted[:-1]]
        first[cand_sorted[firsts]] = zones["feature_name"].to_numpy()[zone_sorted[firsts]]
    overlay = Overlay(
        name=spec.label or f"{spec.zone_label.capitalize()}s",
        kind="zones",
        gdf=zones,
        label_column="feature_name",
        color="#d7301f",
    )
    return Measurement(
        values=pct,
        unit="%",
        label=spec.label or f"Share inside {spec.zone_label}s",
        feature=first,
        overlays=[overlay],
        phrase_high="{value} of the parcel inside {feature}",
    )
