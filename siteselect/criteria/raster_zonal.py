"""``raster_zonal``: a statistic of a raster over each whole candidate polygon.

The candidates are reprojected to the raster's CRS (the grid itself is never
resampled) and every cell the polygon covers counts: ``max`` is the worst
shaking anywhere on the parcel, not the value at its centroid. See
:mod:`siteselect.zonal` for the exact-coverage rules and ``docs/seismic.md``.

Coverage policy (``coverage:``): parcels partly or wholly outside the raster or
over nodata get a ``coverage`` flag column and are

* ``exclude``: excluded when less than ``min_fraction`` of their area has data;
* ``worst``: given the worst value observed over all candidates when less than
  ``min_fraction`` has data (``worse: higher`` or ``lower`` says which end is
  worse), and flagged;
* ``ignore``: measured on the covered part only (excluded only with no data).

Site amplification (``amplification: {vs30_layer: ...}``): the raster is a
rock-site (Vs30 = 760 m/s) PGA in g; the value becomes PGA_M = F_PGA x PGA
with the ASCE 7-16 site coefficient (:mod:`siteselect.seismic`). Per cell when
the Vs30 raster shares the PGA raster's grid; otherwise per parcel, with the
largest F_PGA over the site classes the parcel's Vs30 range spans.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, ClassVar, Literal

import numpy as np
import rasterio
import rasterio.windows
from pydantic import BaseModel, ConfigDict, Field

from siteselect import seismic
from siteselect.criteria.base import KindSpec, Measurement, register
from siteselect.geometry_hygiene import candidate_labels
from siteselect.rasters import open_raster
from siteselect.zonal import Grid, ZonalResult, band_index, raster_reader, zonal_stats_grid

if TYPE_CHECKING:
    from siteselect.study import Study

logger = logging.getLogger(__name__)

FULL_COVER = 1 - 1e-6
"""Covered fraction counted as complete (floating-point margin)."""


class CoverageSpec(BaseModel):
    """What to do with parcels that are partly or wholly without raster data."""

    model_config = ConfigDict(extra="forbid")

    policy: Literal["exclude", "worst", "ignore"] = Field(
        default="exclude",
        description="exclude: drop parcels under min_fraction; worst: give them the worst "
        "observed value; ignore: use the covered part only.",
    )
    min_fraction: float = Field(
        default=0.5, ge=0, le=1, description="Share of the parcel's area that must have data."
    )
    worse: Literal["higher", "lower"] = Field(
        default="higher", description="Which end of the raster's values is worse (policy worst)."
    )


class AmplificationSpec(BaseModel):
    """Site amplification of a rock PGA raster by a Vs30 raster (ASCE 7-16)."""

    model_config = ConfigDict(extra="forbid")

    vs30_layer: str = Field(description="Name of the Vs30 raster (m/s) under 'layers:'.")
    vs30_band: int | str | None = Field(
        default=None, description="Band index or name of Vs30; default: the layer's band."
    )
    vs30_measured: bool = Field(
        default=False,
        description="Vs30 from site measurements (Site Class B then uses F_PGA 0.9, else 1.0).",
    )


class RasterZonalSpec(KindSpec):
    """Zonal statistic of a raster layer over each candidate, in the raster's units."""

    kind: Literal["raster_zonal"]
    layer: str = Field(description="Name of a raster entry under 'layers:'.")
    stat: str = Field(
        default="max",
        pattern=r"^(max|min|mean|p(100|[1-9]?[0-9])(\.[0-9]+)?)$",
        description="Statistic per candidate: max, min, mean (area-weighted) or a "
        "coverage-weighted percentile p0..p100 (e.g. p90).",
    )
    band: int | str | None = Field(
        default=None, description="Band index or band name; default: the layer's band."
    )
    coverage: CoverageSpec = Field(
        default_factory=CoverageSpec, description="Policy for parcels without full data."
    )
    amplification: AmplificationSpec | None = Field(
        default=None, description="Apply ASCE 7-16 F_PGA from a Vs30 raster (PGA in g)."
    )
    min: float | None = Field(default=None, description="Constraint: lower bound (raster units).")
    max: float | None = Field(default=None, description="Constraint: upper bound (raster units).")

    bound_fields: ClassVar[tuple[str, ...]] = ("min", "max")

    def bounds(self) -> tuple[float | None, float | None]:
        return (self.min, self.max)

    def layer_names(self) -> list[str]:
        extra = [self.amplification.vs30_layer] if self.amplification else []
        return [self.layer, *extra]

    def percentiles(self) -> tuple[float, ...]:
        """The percentile the statistic asks for, if any."""
        return (float(self.stat[1:]),) if self.stat.startswith("p") else ()


def coverage_flags(covered: np.ndarray, inside: np.ndarray) -> np.ndarray:
    """Per parcel: ``""`` when fully on data, else what is missing.

    >>> coverage_flags(np.array([1.0, 0.0, 0.0, 0.4, 0.6]), np.array([1.0, 0.0, 1.0, 0.4, 1.0]))
    ... # doctest: +NORMALIZE_WHITESPACE
    array(['', 'outside the raster', 'on nodata', '40% covered (part outside the raster)',
           '60% covered (part on nodata)'], dtype=object)
    """
    flags = np.full(len(covered), "", dtype=object)
    for i in np.flatnonzero(covered < FULL_COVER):
        if inside[i] <= 0:
            flags[i] = "outside the raster"
        elif covered[i] <= 0:
            flags[i] = "on nodata"
        else:
            where = "part outside the raster" if inside[i] < FULL_COVER else "part on nodata"
            flags[i] = f"{covered[i]:.0%} covered ({where})"
    return flags


def apply_coverage(
    values: np.ndarray, covered: np.ndarray, flags: np.ndarray, policy: CoverageSpec
) -> tuple[np.ndarray, np.ndarray]:
    """Values and flags after the coverage policy (NaN = to exclude)."""
    values = values.copy()
    flags = flags.copy()
    short = (covered < policy.min_fraction) | np.isnan(values)
    if policy.policy == "exclude":
        values[short] = np.nan
    elif policy.policy == "worst":
        observed = values[~short & np.isfinite(values)]
        if len(observed):
            worst = observed.max() if policy.worse == "higher" else observed.min()
            values[short] = worst
            flags[short] = [f"{f}; worst observed value used".lstrip("; ") for f in flags[short]]
    return values, flags


def _same_grid(a: rasterio.io.DatasetReader, b: rasterio.io.DatasetReader) -> bool:
    return (
        a.crs == b.crs
        and (a.width, a.height) == (b.width, b.height)
        and a.transform.almost_equals(b.transform, precision=1e-9 * max(abs(a.transform.a), 1))
    )


def _amplified(
    spec: RasterZonalSpec,
    study: Study,
    pga_src: rasterio.io.DatasetReader,
    pga_band: int,
    base: ZonalResult,
    geoms: np.ndarray,
) -> tuple[np.ndarray, dict[str, np.ndarray], np.ndarray, np.ndarray]:
    """PGA_M statistic per parcel, the site columns, and the covered and inside fractions.

    A cell needs both PGA and Vs30 to count, so the coverage is that of PGA_M.
    """
    assert spec.amplification is not None
    amp = spec.amplification
    vs_layer = study.layer_spec(amp.vs30_layer)
    measured = amp.vs30_measured
    with open_raster(vs_layer.source, f"layers.{amp.vs30_layer}") as vs_src:
        vs_band = band_index(
            vs_src, amp.vs30_band if amp.vs30_band is not None else vs_layer.band, amp.vs30_layer
        )
        read_vs = raster_reader(vs_src, vs_band)
        if _same_grid(pga_src, vs_src):
            read_pga = raster_reader(pga_src, pga_band)

            def read_pga_m(window: rasterio.windows.Window) -> np.ndarray:
                return seismic.amplified_pga(read_pga(window), read_vs(window), measured)

            grid = Grid(pga_src.transform, pga_src.width, pga_src.height)
            vs30 = zonal_stats_grid(geoms, grid, read_vs)
            pga_m = zonal_stats_grid(geoms, grid, read_pga_m, spec.percentiles())
            values = pga_m.stat(spec.stat)
            covered, inside = pga_m.covered_fraction, pga_m.inside_fraction
            mode = "per cell"
            with np.errstate(invalid="ignore", divide="ignore"):
                factor = values / base.stat(spec.stat)
        else:
            vs_geoms = study.candidates.geometry.to_crs(vs_src.crs).to_numpy()
            vs_grid = Grid(vs_src.transform, vs_src.width, vs_src.height)
            vs30 = zonal_stats_grid(vs_geoms, vs_grid, read_vs)
            pga = base.stat(spec.stat)
            factor = seismic.envelope_f_pga(vs30.min, vs30.max, pga, measured)
            values = factor * pga
            covered = np.minimum(base.covered_fraction, vs30.covered_fraction)
            inside = np.minimum(base.inside_fraction, vs30.inside_fraction)
            mode = "per parcel (grids differ)"
    logger.info("%s: site amplification %s from %s", spec.layer, mode, amp.vs30_layer)
    columns = {
        "vs30_min_m_s": np.round(vs30.min, 1),
        "site_class": seismic.site_class(vs30.min),
        "f_pga": np.round(factor, 4),
    }
    return values, columns, covered, inside


@register(RasterZonalSpec)
def measure(spec: RasterZonalSpec, study: Study) -> Measurement:
    """The statistic of the raster over each candidate polygon, after the coverage policy."""
    layer = study.layer_spec(spec.layer)
    with open_raster(layer.source, f"layers.{spec.layer}") as src:
        band = band_index(src, spec.band if spec.band is not None else layer.band, spec.layer)
        unit = layer.units or (src.units[band - 1] if src.units else "") or ""
        description = src.descriptions[band - 1] or spec.layer
        geoms = study.candidates.geometry.to_crs(src.crs).to_numpy()
        logger.info(
            "%s: sampling %d candidates in the raster's CRS %s",
            spec.layer,
            len(geoms),
            src.crs.to_string(),
        )
        grid = Grid(src.transform, src.width, src.height)
        zonal = zonal_stats_grid(
            geoms,
            grid,
            raster_reader(src, band),
            spec.percentiles(),
            labels=candidate_labels(study.candidates),
        )
        values = zonal.stat(spec.stat)
        covered, inside = zonal.covered_fraction, zonal.inside_fraction
        extra: dict[str, np.ndarray] = {}
        data = spec.layer
        if spec.amplification is not None:
            values, extra, covered, inside = _amplified(spec, study, src, band, zonal, geoms)
            unit = unit or "g"
            description = f"{description} x F_PGA (ASCE 7-16)"
            data = f"{spec.layer} and {spec.amplification.vs30_layer}"
    flags = coverage_flags(covered, inside)
    values, flags = apply_coverage(values, covered, flags, spec.coverage)
    flagged = int((flags != "").sum())
    if flagged:
        logger.warning(
            "%s: %d candidate(s) not fully on data (policy %s)",
            spec.layer,
            flagged,
            spec.coverage.policy,
        )
    if spec.coverage.policy == "exclude":
        missing = (
            f"less than {spec.coverage.min_fraction:.0%} of the parcel has {data} data "
            "(outside the raster or on nodata)"
        )
    else:
        missing = f"no {data} data over the parcel (outside the raster or on nodata)"
    return Measurement(
        values=values,
        unit=unit,
        label=spec.label or f"{spec.stat.capitalize()} {description} over the parcel",
        extra_columns={
            "covered_fraction": np.round(covered, 4),
            "coverage": flags,
            **extra,
        },
        missing_reason=missing,
        phrase_low=f"{spec.stat} {spec.layer} over the parcel is {{value}}",
        phrase_high=f"{spec.stat} {spec.layer} over the parcel is {{value}}",
    )
