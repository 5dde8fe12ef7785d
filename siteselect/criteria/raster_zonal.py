"""``raster_zonal``: a statistic of a raster over each whole candidate polygon.

The candidates are reprojected to the raster's CRS (the grid itself is never
resampled) and every cell the polygon covers counts: ``max`` is the worst
shaking anywhere on the parcel, not the value at its centroid. See
:mod:`siteselect.study.zonal` for the exact-coverage rules and ``docs/seismic.md``.

Coverage policy (``coverage:``): parcels partly or wholly outside the raster or
over nodata get a ``coverage`` flag column and are

* ``exclude``: excluded when less than ``min_fraction`` of their area has data;
* ``worst``: given the worst value observed over all candidates when less than
  ``min_fraction`` has data (``worse: higher`` or ``lower`` says which end is
  worse), and flagged;
* ``ignore``: measured on the covered part only (excluded only with no data).

Site amplification (``amplification: {vs30_layer: ...}``): the raster is a
rock-site (Vs30 = 760 m/s) PGA in g; the value becomes PGA_M = F_PGA x PGA
with the ASCE 7-16 site coefficient (:mod:`siteselect.criteria.seismic`). Per cell when
the Vs30 raster shares the PGA raster's grid; otherwise per parcel, with the
largest F_PGA over the site classes the parcel's Vs30 range spans.
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import re
from typing import TYPE_CHECKING, Annotated, ClassVar, Literal

import numpy as np
import rasterio
import rasterio.warp
import rasterio.windows
from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from siteselect._errors import CriterionError, LayerError
from siteselect.config.bands import BandRef
from siteselect.criteria import seismic
from siteselect.criteria.base import KindSpec, Measurement, register
from siteselect.geo import geometries_in
from siteselect.study.hygiene import candidate_labels
from siteselect.study.rasters import (
    ValueUnit,
    band_index,
    check_plausible,
    open_raster,
    unit_record,
    value_unit,
)
from siteselect.study.zonal import Grid, ValueReader, ZonalResult, raster_reader, zonal_stats_grid
from siteselect.units import (
    ELEVATION,
    PGA,
    VS30,
    Plausible,
    Unit,
    base_unit,
    conversion_factor,
    parse_unit,
    validate_unit,
)

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
    vs30_band: BandRef | None = Field(
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
    band: BandRef | None = Field(
        default=None, description="Band index or band name; default: the layer's band."
    )
    coverage: CoverageSpec = Field(
        default_factory=CoverageSpec, description="Policy for parcels without full data."
    )
    amplification: AmplificationSpec | None = Field(
        default=None, description="Apply ASCE 7-16 F_PGA from a Vs30 raster (PGA in g)."
    )
    units: Annotated[str | None, AfterValidator(validate_unit)] = Field(
        default=None,
        description="Unit of the raw values, the transform and min/max (converted from the "
        "layer's); default: the layer's unit (g with amplification).",
    )
    min: float | None = Field(default=None, description="Constraint: lower bound (raw unit).")
    max: float | None = Field(default=None, description="Constraint: upper bound (raw unit).")

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


G = parse_unit("g")
M_PER_S = parse_unit("m/s")

_ELEVATION_WORDS = re.compile(r"elev|altitude|\b(dem|dtm|dsm)\b|gmted|srtm|topo")


def _where(study: Study, layer: str, *key: str) -> str:
    return study.config.where(("layers", layer, *key))


def _factor_to(
    unit: ValueUnit, target: Unit, study: Study, layer: str, need: str, file_name: str
) -> float:
    """Factor from the layer's declared unit to ``target``; a LayerError when impossible."""
    examples = {"acceleration": "g, %g, cm/s2 or m/s2", "velocity": "m/s, km/s or ft/s"}
    hint = examples.get(target.quantity, target.name)
    if unit.unit is None:
        declared = f"declares the unknown unit {unit.label!r}" if unit.label else "declares no unit"
        raise LayerError(
            f"{_where(study, layer, 'units')}: {file_name}: {need}, and the layer {declared}; "
            f"set units: ({hint})"
        )
    if unit.unit.quantity != target.quantity:
        raise LayerError(
            f"{_where(study, layer, 'units')}: {file_name}: {need}, but its units "
            f"{unit.label!r} measure {unit.unit.quantity}; set units: ({hint})"
        )
    return conversion_factor(unit.unit, target)


def _check_and_record(
    study: Study,
    layer: str,
    rule: Plausible | None,
    unit: ValueUnit,
    sampled: np.ndarray,
    target: Unit | None,
    factor: float,
) -> None:
    """Check ``sampled`` (the layer's unit, times ``factor`` = ``target``) and record it.

    The check runs in the rule's base unit; ``study.diagnostics["units"]`` gets
    the unit, who declared it, the conversion and the range sampled.
    """
    file_name = study.layer_spec(layer).source.name
    if rule is not None and unit.unit is not None:
        to_base = conversion_factor(unit.unit, base_unit(rule.quantity))
        check_plausible(
            rule,
            sampled * to_base,
            unit,
            _where(study, layer, "units"),
            f"{file_name} under the candidates",
        )
    converted = None if target is None or factor == 1.0 else target.name
    if converted is not None:
        logger.info(
            "layers.%s: values in %s converted to %s (x %g)", layer, unit.label, converted, factor
        )
    study.diagnostics.setdefault("units", {})[f"layers.{layer}"] = unit_record(
        unit, sampled * factor, converted, factor, rule
    )


def _scaled(read: ValueReader, factor: float) -> ValueReader:
    if factor == 1.0:
        return read
    return lambda window: read(window) * factor


def _extremes(result: ZonalResult) -> np.ndarray:
    return np.concatenate([result.min, result.max])


def _amplified(
    spec: RasterZonalSpec,
    study: Study,
    pga_src: rasterio.io.DatasetReader,
    pga_band: int,
    pga_unit: ValueUnit,
    base: ZonalResult,
    geoms: np.ndarray,
) -> tuple[np.ndarray, dict[str, np.ndarray], np.ndarray, np.ndarray]:
    """PGA_M statistic per parcel (g), the site columns, and the covered and inside fractions.

    The PGA is converted to g and Vs30 to m/s before F_PGA is looked up, and
    both are checked for plausibility on the values sampled under the
    candidates. A cell needs both PGA and Vs30 to count, so the coverage is
    that of PGA_M.
    """
    assert spec.amplification is not None
    amp = spec.amplification
    pga_file = study.layer_spec(spec.layer).source.name
    need_g = "amplification needs the PGA in an acceleration unit (F_PGA is tabulated in g)"
    pga_to_g = _factor_to(pga_unit, G, study, spec.layer, need_g, pga_file)
    _check_and_record(study, spec.layer, PGA, pga_unit, _extremes(base), G, pga_to_g)
    vs_layer = study.layer_spec(amp.vs30_layer)
    measured = amp.vs30_measured
    with open_raster(vs_layer.source, f"layers.{amp.vs30_layer}") as vs_src:
        vs_band = band_index(
            vs_src,
            amp.vs30_band if amp.vs30_band is not None else vs_layer.band,
            f"layers.{amp.vs30_layer}",
        )
        vs_unit = value_unit(
            vs_src, vs_band, vs_layer.units, _where(study, amp.vs30_layer, "units")
        )
        need_m_s = "amplification needs Vs30 in a velocity unit (site classes are in m/s)"
        vs_to_m_s = _factor_to(
            vs_unit, M_PER_S, study, amp.vs30_layer, need_m_s, vs_layer.source.name
        )
        read_vs = _scaled(raster_reader(vs_src, vs_band), vs_to_m_s)
        same_grid = _same_grid(pga_src, vs_src)
        if same_grid:
            grid = Grid(pga_src.transform, pga_src.width, pga_src.height)
            vs30 = zonal_stats_grid(geoms, grid, read_vs)
        else:
            vs_geoms = geometries_in(study.candidates.geometry, vs_src.crs)
            vs30 = zonal_stats_grid(
                vs_geoms, Grid(vs_src.transform, vs_src.width, vs_src.height), read_vs
            )
        _check_and_record(
            study, amp.vs30_layer, VS30, vs_unit, _extremes(vs30) / vs_to_m_s, M_PER_S, vs_to_m_s
        )
        pga = base.stat(spec.stat) * pga_to_g
        if same_grid:
            read_pga = _scaled(raster_reader(pga_src, pga_band), pga_to_g)

            def read_pga_m(window: rasterio.windows.Window) -> np.ndarray:
                return seismic.amplified_pga(read_pga(window), read_vs(window), measured)

            pga_m = zonal_stats_grid(geoms, grid, read_pga_m, spec.percentiles())
            values = pga_m.stat(spec.stat)
            covered, inside = pga_m.covered_fraction, pga_m.inside_fraction
            mode = "per cell"
            with np.errstate(invalid="ignore", divide="ignore"):
                factor = values / pga
        else:
            factor = seismic.envelope_f_pga(vs30.min, vs30.max, pga, measured)
            values = factor * pga
            covered = np.minimum(base.covered_fraction, vs30.covered_fraction)
            inside = np.minimum(base.inside_fraction, vs30.inside_fraction)
            mode = "per parcel (grids differ)"
    logger.info(
        "%s: site amplification %s from %s (PGA x %g to g, Vs30 x %g to m/s)",
        spec.layer,
        mode,
        amp.vs30_layer,
        pga_to_g,
        vs_to_m_s,
    )
    columns = {
        "vs30_min_m_s": np.round(vs30.min, 1),
        "site_class": seismic.site_class(vs30.min),
        "f_pga": np.round(factor, 4),
    }
    return values, columns, covered, inside


def plausibility_rule(unit: Unit | None, names: str) -> Plausible | None:
    """The plausible range a raster's values must respect, by unit and name.

    Any acceleration is a ground-motion value (PGA range); a velocity is Vs30
    when the layer's name or band description says ``vs30``; a length is an
    elevation when they say elevation, DEM, DTM, DSM, GMTED, SRTM or topo.

    >>> plausibility_rule(parse_unit("%g"), "shakemap").what
    'PGA'
    >>> plausibility_rule(parse_unit("cm/s"), "pgv") is None
    True
    >>> plausibility_rule(parse_unit("ft"), "dem 1/3 arc-second").what
    'ground elevation'
    >>> plausibility_rule(parse_unit("m"), "demand") is None
    True
    """
    if unit is None:
        return None
    names = names.lower()
    if unit.quantity == "acceleration":
        return PGA
    if unit.quantity == "velocity" and "vs30" in names:
        return VS30
    if unit.quantity == "length" and _ELEVATION_WORDS.search(names):
        return ELEVATION
    return None


def _raster_extent(src: rasterio.io.DatasetReader) -> str:
    """``raster lon ..., lat ... in its CRS ...`` for messages."""
    west, south, east, north = rasterio.warp.transform_bounds(src.crs, "EPSG:4326", *src.bounds)
    return (
        f"raster lon {west:.3f}..{east:.3f}, lat {south:.3f}..{north:.3f} in its CRS "
        f"{src.crs.to_string()}"
    )


def _finish(
    spec: RasterZonalSpec, raster_extent: str, measurement: Measurement, study: Study
) -> Measurement:
    """``finish``, over every candidate at once: refuse a raster that covers none of them
    (wrong CRS or extent), then apply the coverage policy (``worst`` uses the worst
    value observed over all candidates)."""
    layer = study.layer_spec(spec.layer)
    inside_base = measurement.scratch["inside_base"]
    if not layer.allow_outside and len(inside_base) and not (inside_base > 0).any():
        lon0, lat0, lon1, lat1 = study.candidates.geometry.to_crs("EPSG:4326").total_bounds
        raise LayerError(
            f"{_where(study, spec.layer)}: {layer.source.name}: covers none of the "
            f"{len(inside_base)} candidates ({raster_extent}; candidates lon "
            f"{lon0:.3f}..{lon1:.3f}, lat {lat0:.3f}..{lat1:.3f}); check the raster's CRS and "
            "extent, or set allow_outside: true to let coverage: decide"
        )
    covered = measurement.scratch["covered"]
    values, flags = apply_coverage(
        measurement.values, covered, measurement.extra_columns["coverage"], spec.coverage
    )
    flagged = int((flags != "").sum())
    if flagged:
        logger.warning(
            "%s: %d candidate(s) not fully on data (policy %s)",
            spec.layer,
            flagged,
            spec.coverage.policy,
        )
    return dataclasses.replace(
        measurement, values=values, extra_columns={**measurement.extra_columns, "coverage": flags}
    )


def _report_factor(spec: RasterZonalSpec, unit: ValueUnit) -> tuple[Unit | None, float]:
    """The criterion's ``units:`` (None: as measured) and the factor to it."""
    if spec.units is None:
        return None, 1.0
    target = parse_unit(spec.units)
    if unit.unit is None:
        raise CriterionError(
            f"units: {spec.units!r} needs the unit of layers.{spec.layer}; "
            "set units: on the layer (or remove it here)"
        )
    try:
        return target, conversion_factor(unit.unit, target)
    except ValueError as exc:
        raise CriterionError(f"units: {exc}") from None


@register(RasterZonalSpec)
def measure(spec: RasterZonalSpec, study: Study) -> Measurement:
    """The statistic of the raster over each candidate polygon, after the coverage policy.

    Values are in the layer's unit (g with amplification), or in the
    criterion's ``units:`` when it sets one.
    """
    layer = study.layer_spec(spec.layer)
    with open_raster(layer.source, f"layers.{spec.layer}") as src:
        band = band_index(
            src, spec.band if spec.band is not None else layer.band, f"layers.{spec.layer}"
        )
        unit = value_unit(src, band, layer.units, _where(study, spec.layer, "units"))
        description = src.descriptions[band - 1] or spec.layer
        geoms = geometries_in(study.candidates.geometry, src.crs)
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
        raster_extent = _raster_extent(src)
        inside_base = zonal.inside_fraction
        values = zonal.stat(spec.stat)
        covered, inside = zonal.covered_fraction, zonal.inside_fraction
        extra: dict[str, np.ndarray] = {}
        data = spec.layer
        rule: Plausible | None = None
        if spec.amplification is not None:
            values, extra, covered, inside = _amplified(spec, study, src, band, unit, zonal, geoms)
            unit = ValueUnit(G, "g", "amplification")
            description = f"{description} x F_PGA (ASCE 7-16)"
            data = f"{spec.layer} and {spec.amplification.vs30_layer}"
        else:
            rule = plausibility_rule(unit.unit, f"{spec.layer} {description}")
    target, factor = _report_factor(spec, unit)
    if spec.amplification is None:
        _check_and_record(study, spec.layer, rule, unit, _extremes(zonal), target, factor)
    values = values * factor
    unit_label = unit.label if target is None else target.name
    flags = coverage_flags(covered, inside)
    if spec.coverage.policy == "exclude":
        missing = (
            f"less than {spec.coverage.min_fraction:.0%} of the parcel has {data} data "
            "(outside the raster or on nodata)"
        )
    else:
        missing = f"no {data} data over the parcel (outside the raster or on nodata)"
    return Measurement(
        values=values,
        unit=unit_label,
        label=spec.label or f"{spec.stat.capitalize()} {description} over the parcel",
        extra_columns={
            "covered_fraction": np.round(covered, 4),
            "coverage": flags,
            **extra,
        },
        missing_reason=missing,
        phrase_low=f"{spec.stat} {spec.layer} over the parcel is {{value}}",
        phrase_high=f"{spec.stat} {spec.layer} over the parcel is {{value}}",
        scratch={"covered": covered, "inside_base": inside_base},
        finish=functools.partial(_finish, spec, raster_extent),
    )
