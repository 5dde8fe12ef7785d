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
from siteselect.criteria.distance import names_at
from siteselect.criteria.overlay import Overlay

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


def share_inside(candidates: np.ndarray, zones: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Percentage of each candidate's area inside the union of ``zones``, and the first zone.

    Only candidate/zone pairs whose outlines intersect (an STRtree query) are
    measured; a candidate inside a zone (a prepared ``contains`` test) is 100%
    without an overlay; one partly inside a single zone gets the area of its
    intersection with that zone; only candidates partly inside several zones have
    their pieces unioned (zones may overlap).

    Returns
    -------
    pct : numpy.ndarray of float
        In [0, 100]; 0 outside every zone; 100 for a zero-area candidate (a point)
        touching a zone.
    first_zone : numpy.ndarray of int
        Position in ``zones`` of the first zone (in order) the candidate
        intersects; -1 when none.
    """
    n = len(candidates)
    pct = np.zeros(n)
    first_zone = np.full(n, -1, dtype=np.int64)
    cand_index, zone_index = shapely.STRtree(zones).query(candidates, predicate="intersects")
    if cand_index.size == 0:
        return pct, first_zone
    order = np.lexsort((zone_index, cand_index))
    cand_index, zone_index = cand_index[order], zone_index[order]
    firsts = np.r_[True, cand_index[1:] != cand_index[:-1]]
    first_zone[cand_index[firsts]] = zone_index[firsts]
    shapely.prepare(zones)
    inside = shapely.contains(zones[zone_index], candidates[cand_index])
    whole = np.zeros(n, dtype=bool)
    whole[cand_index[inside]] = True
    partial = ~whole[cand_index]
    cand_index, zone_index = cand_index[partial], zone_index[partial]
    pieces = shapely.intersection(candidates[cand_index], zones[zone_index])
    counts = np.bincount(cand_index, minlength=n)
    single = counts[cand_index] == 1
    inside_m2 = np.zeros(n)
    inside_m2[cand_index[single]] = shapely.area(pieces[single])
    if not single.all():
        merged = gpd.GeoDataFrame({"c": cand_index[~single]}, geometry=pieces[~single]).dissolve(
            by="c"
        )
        inside_m2[merged.index.to_numpy()] = shapely.area(merged.geometry.to_numpy())
    measured = np.flatnonzero(counts > 0)
    areas = shapely.area(candidates[measured])
    with np.errstate(divide="ignore", invalid="ignore"):
        share = np.where(areas > 0, 100.0 * inside_m2[measured] / areas, 100.0)
    pct[measured] = np.clip(share, 0.0, 100.0)
    pct[whole] = 100.0
    return pct, first_zone


@register(ZonesSpec)
def measure(spec: ZonesSpec, study: Study) -> Measurement:
    """Percentage of each candidate inside the zones, and the first zone entered."""
    zones = zone_polygons(spec, study)
    zones = zones[shapely.get_type_id(zones.geometry.to_numpy()) >= 3]
    pct, first_zone = share_inside(study.candidates.geometry.to_numpy(), zones.geometry.to_numpy())
    first = names_at(zones["feature_name"].to_numpy(), first_zone)
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
