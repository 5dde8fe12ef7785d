"""Opening rasters with errors a user can act on: bands by index or name, declared units.

No config imports: safe everywhere.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np
import rasterio
import rasterio.errors

from siteselect._errors import CriterionError, LayerError
from siteselect.units import (
    BASE_UNITS,
    Plausible,
    Unit,
    conversion_factor,
    find_unit,
    implausible,
    parse_unit,
)

logger = logging.getLogger(__name__)


class _RasterLayer(Protocol):
    """The fields of a LayerSpec read here (no config import: no cycle)."""

    source: Path
    band: int | str
    units: str | None


_DAMAGE_SIGNS = ("IO error", "Failed to read", "Read error", "Cannot read", "truncated")
"""Words of GDAL warnings that mean the file's bytes are not all there."""


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage().split(": ", 1)[-1])


@contextlib.contextmanager
def _gdal_warnings() -> Iterator[list[str]]:
    """Collect the warnings GDAL reports (through rasterio's logger) instead of printing them."""
    gdal_logger = logging.getLogger("rasterio._env")
    handler = _Collect()
    propagate, level = gdal_logger.propagate, gdal_logger.level
    gdal_logger.addHandler(handler)
    gdal_logger.propagate = False
    gdal_logger.setLevel(logging.WARNING)  # even when the CLI is quiet (-q sets ERROR)
    try:
        yield handler.messages
    finally:
        gdal_logger.removeHandler(handler)
        gdal_logger.propagate = propagate
        gdal_logger.setLevel(level)


@contextlib.contextmanager
def open_raster(path: Path, name: str) -> Iterator[rasterio.io.DatasetReader]:
    """Open a raster with rasterio, turning failures into one-line :class:`LayerError`.

    Raises
    ------
    LayerError
        Unreadable or unrecognised file, or a raster without a CRS.
    """
    with _gdal_warnings() as warnings:
        try:
            src = rasterio.open(path)
        except rasterio.errors.RasterioIOError as exc:
            raise LayerError(f"{name}: cannot open raster {path}: {exc}") from None
    damaged = [w for w in warnings if any(s in w for s in _DAMAGE_SIGNS)]
    if damaged:
        src.close()
        raise LayerError(
            f"{name}: {Path(path).name} is damaged or truncated (GDAL: {damaged[0]}); "
            "copy or download it again"
        )
    for warning in warnings:
        logger.warning("%s: %s", name, warning)
    with src:
        if src.crs is None:
            raise LayerError(
                f"{name}: {Path(path).name} has no CRS; assign one (e.g. gdal_edit.py -a_srs)"
            )
        yield src


def _band_labels(src: rasterio.io.DatasetReader, index: int) -> list[str]:
    tags = src.tags(index)
    candidates = [src.descriptions[index - 1], tags.get("name"), tags.get("NAME")]
    return [c for c in candidates if c]


def band_index(src: rasterio.io.DatasetReader, band: int | str, name: str = "raster") -> int:
    """1-based index of ``band``: an index, or a band description / ``name`` tag (any case).

    A name made of digits that names no band is read as an index (YAML ``band: "2"``).

    Raises
    ------
    LayerError
        No such band; the message lists the bands with their names.
    """
    if isinstance(band, str):
        labels = [_band_labels(src, index) for index in range(1, src.count + 1)]
        for index, names in enumerate(labels, start=1):
            if any(label.lower() == band.strip().lower() for label in names):
                return index
        if not band.strip().isdigit():
            known = ", ".join(
                f"{i + 1}: {'/'.join(names) or '(unnamed)'}" for i, names in enumerate(labels)
            )
            raise LayerError(f"{name}: no band named {band!r}; bands are {known}")
        band = int(band)
    if not 1 <= band <= src.count:
        raise LayerError(f"{name}: band {band} requested but the raster has {src.count}")
    return band


def file_unit(src: rasterio.io.DatasetReader, band: int) -> str:
    """The unit the file declares for ``band``: GDAL's band unit, else a ``units`` tag; "" if none.

    Only these two are read: netCDF ``long_name`` tags (GMT writes ``meters``
    there for any variable) are descriptions, not units.
    """
    declared = (src.units[band - 1] if src.units else None) or ""
    if not declared.strip():
        tags = {k.lower(): v for k, v in src.tags(band).items()}
        declared = tags.get("units") or tags.get("unit") or ""
    return declared.strip()


@dataclass(frozen=True)
class ValueUnit:
    """The unit of a raster band's values and who declared it.

    Attributes
    ----------
    unit : Unit or None
        The parsed unit; None when nothing declares one or the file's is unknown.
    label : str
        As declared (``""`` when nothing declares a unit), for tables.
    declared_by : str
        ``"config"``, ``"file"`` or ``""``.
    """

    unit: Unit | None
    label: str
    declared_by: str

    def factor_to(self, target: Unit) -> float:
        """Factor to ``target``; raises ValueError when unknown or another quantity."""
        if self.unit is None:
            raise ValueError("no unit declared")
        return conversion_factor(self.unit, target)


def value_unit(
    src: rasterio.io.DatasetReader, band: int, configured: str | None, where: str
) -> ValueUnit:
    """Resolve the unit of ``band``: the config's ``units:``, else the file's declaration.

    Parameters
    ----------
    src, band : the open raster and the 1-based band.
    configured : str or None
        The layer's ``units:`` (already checked against the known list at load).
    where : str
        Message prefix (``configs/x.yaml:12: layers.hazard.units``).

    Raises
    ------
    LayerError
        Both declare a unit and they differ.
    """
    declared = file_unit(src, band)
    in_file = find_unit(declared) if declared else None
    if configured is not None:
        unit = parse_unit(configured)
        if in_file is not None and in_file != unit:
            raise LayerError(
                f"{where}: {Path(src.name).name}: units: {configured!r} contradicts the unit the "
                f"file declares for band {band} ({declared!r}); correct whichever is wrong "
                "(or remove units: to use the file's)"
            )
        return ValueUnit(unit, configured, "config")
    if in_file is not None:
        return ValueUnit(in_file, declared, "file")
    return ValueUnit(None, declared, "")


def check_plausible(
    rule: Plausible, values_base: np.ndarray, unit: ValueUnit, where: str, what: str
) -> None:
    """Raise when the finite ``values_base`` (in the rule's base unit) break ``rule``.

    Parameters
    ----------
    rule : Plausible
        :data:`~siteselect.units.PGA`, :data:`~siteselect.units.VS30`...
    values_base : numpy.ndarray
        Values actually sampled, converted to the base unit.
    unit : ValueUnit
        The declared unit (for the likely cause).
    where, what : str
        Message prefix and the evidence's scope (``"pga.tif under the candidates"``).
    """
    finite = np.asarray(values_base, dtype=float)
    finite = finite[np.isfinite(finite)]
    if finite.size == 0:
        return
    found = implausible(rule, float(finite.min()), float(finite.max()), unit.unit)
    if found is None:
        return
    problem, cause = found
    declared = (
        f"units {unit.label!r} from the {unit.declared_by}" if unit.declared_by else "no unit"
    )
    raise LayerError(f"{where}: {what}: {problem}, with {declared}; {cause}")


class _Where(Protocol):
    def where(self, loc: tuple[str, ...]) -> str: ...


def ground_unit(
    ground_units: str | None, layer: _RasterLayer, name: str, config: _Where
) -> tuple[int, float, ValueUnit]:
    """Band, factor to metres and unit of a ground-elevation raster.

    The unit is the criterion's ``ground_units``, else the layer's (its
    ``units:`` or its file's), else metres; the two must agree when both are
    given, and it must be a length.

    Raises
    ------
    CriterionError
        ``ground_units`` contradicts the layer's unit.
    LayerError
        The unit is not a length.
    """
    where = config.where(("layers", name, "units"))
    with open_raster(layer.source, f"layers.{name}") as src:
        band = band_index(src, layer.band, f"layers.{name}")
        unit = value_unit(src, band, layer.units, where)
    if ground_units is not None:
        chosen = parse_unit(ground_units)
        if unit.unit is not None and unit.unit != chosen:
            raise CriterionError(
                f"ground_units: {ground_units!r} contradicts the unit of layers.{name} "
                f"({unit.label!r}, from the {unit.declared_by}); keep one of them"
            )
        unit = ValueUnit(chosen, ground_units, "config")
    elif unit.unit is None:
        if unit.label:
            logger.warning(
                "layers.%s: unknown unit %r in %s; reading metres (set units:)",
                name,
                unit.label,
                layer.source.name,
            )
        unit = ValueUnit(parse_unit("m"), "m", "default")
    assert unit.unit is not None
    if unit.unit.quantity != "length":
        raise LayerError(
            f"{where}: {layer.source.name}: a ground elevation needs a length unit "
            f"(m, ft, us-ft), not {unit.label!r}"
        )
    return band, conversion_factor(unit.unit, parse_unit("m")), unit


def unit_record(
    unit: ValueUnit,
    values: np.ndarray,
    converted_to: str | None = None,
    factor: float = 1.0,
    rule: Plausible | None = None,
) -> dict[str, object]:
    """What a run did with a layer's unit, for ``study.diagnostics["units"]`` (JSON-ready).

    ``values`` are the sampled values after the conversion (``factor`` to
    ``converted_to``); their finite range is recorded.
    """
    finite = np.asarray(values, dtype=float)
    finite = finite[np.isfinite(finite)]
    record: dict[str, object] = {
        "unit": unit.label or None,
        "declared_by": unit.declared_by or None,
        "converted_to": converted_to,
        "factor": factor,
        "sampled_range": (
            [float(f"{finite.min():.6g}"), float(f"{finite.max():.6g}")] if finite.size else None
        ),
    }
    if rule is not None:
        record["checked_as"] = f"{rule.what}: {rule.low:g}..{rule.high:g} {rule_unit(rule)}"
    return record


def rule_unit(rule: Plausible) -> str:
    """The base unit a plausibility rule is written in (``g``, ``m/s``, ``m``)."""
    return BASE_UNITS[rule.quantity]
