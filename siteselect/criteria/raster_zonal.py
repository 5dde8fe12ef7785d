"""``raster_zonal``: a statistic of a raster over each whole candidate polygon.

The candidates are reprojected to the raster's CRS (the grid itself is never
resampled) and every cell the polygon covers counts: ``max`` is the worst
shaking anywhere on the parcel, not the value at its centroid.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, ClassVar, Literal

import numpy as np
import rasterio
from pydantic import Field

from siteselect.criteria.base import KindSpec, Measurement, register
from siteselect.zonal import zonal_stats

if TYPE_CHECKING:
    from siteselect.study import Study

logger = logging.getLogger(__name__)


class RasterZonalSpec(KindSpec):
    """Zonal statistic of a raster layer over each candidate, in the raster's units."""

    kind: Literal["raster_zonal"]
    layer: str = Field(description="Name of a raster entry under 'layers:'.")
    stat: Literal["max", "min", "mean"] = Field(
        default="max", description="Statistic per candidate."
    )
    min: float | None = Field(default=None, description="Constraint: lower bound (raster units).")
    max: float | None = Field(default=None, description="Constraint: upper bound (raster units).")

    bound_fields: ClassVar[tuple[str, ...]] = ("min", "max")

    def bounds(self) -> tuple[float | None, float | None]:
        return (self.min, self.max)


@register(RasterZonalSpec)
def measure(spec: RasterZonalSpec, study: Study) -> Measurement:
    """The statistic of the raster over each candidate polygon."""
    layer = study.layer_spec(spec.layer)
    with rasterio.open(layer.source) as src:
        raster_crs = src.crs
        unit = layer.units or (src.units[layer.band - 1] if src.units else "") or ""
        description = (src.descriptions[layer.band - 1] if src.descriptions else None) or spec.layer
    geoms = study.candidates.geometry.to_crs(raster_crs).to_numpy()
    logger.info(
        "%s: sampling %d candidates in the raster's CRS %s",
        spec.layer,
        len(geoms),
        raster_crs.to_string(),
    )
    zonal = zonal_stats(geoms, layer.source, layer.band)
    values = getattr(zonal, spec.stat)
    missing = np.isnan(values)
    if missing.any():
        logger.warning(
            "%s: %d candidate(s) have no valid cell (outside the raster or nodata)",
            spec.layer,
            int(missing.sum()),
        )
    return Measurement(
        values=values,
        unit=unit,
        label=spec.label or f"{spec.stat.capitalize()} {description} over the parcel",
        extra_columns={"covered_fraction": np.round(zonal.covered_fraction, 4)},
        missing_reason=f"no {spec.layer} data over the parcel (outside the raster or nodata)",
        phrase_low=f"{spec.stat} {spec.layer} over the parcel is {{value}}",
        phrase_high=f"{spec.stat} {spec.layer} over the parcel is {{value}}",
    )
