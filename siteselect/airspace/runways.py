"""Runway and airport records for the airspace model, with documented defaults.

Input
-----
A line layer (already in the metric working CRS), one feature per runway, drawn
from the low-numbered end (``le``) to the high-numbered end (``he``): the
OurAirports ``runways.csv`` (which :mod:`siteselect.study.layers` turns into lines) or
any line layer with the same attribute names. Required: ``airport_ident``,
``le_ident``, ``he_ident``. Used when present: ``le_elevation_ft``,
``he_elevation_ft``, ``width_ft``, ``surface``, ``lighted``, ``closed``. The
runway ends are the first and last vertices of the line; the length is measured
on the line in the working CRS (``length_ft`` is only compared, with a log line
when they differ by more than 10 %).

An optional airports layer (OurAirports ``airports.csv``/GeoJSON: ``ident``,
``type``, ``name``, ``elevation_ft``, ``keywords``) gives names, types and the
established airport elevation.

Which airports count: every airport of the runway layer with an open runway
and an elevation, except those of type ``closed``, unless the config's
``airports_filter`` says otherwise (:mod:`siteselect.airspace.selection`);
:func:`select_runways` records every airport's choice and why.

Defaults (all overridable in the config, see :class:`Override`)
-----------------------------------------------------------------
* **Closed runways** (``closed`` = 1/true) are skipped.
* **Airport elevation** (ft MSL): the airports layer's ``elevation_ft``; else
  the highest runway end elevation of the airport (the FAA's "established
  airport elevation" is the highest point of its usable runways). A runway end
  without an elevation takes the airport elevation. Airports with neither are
  skipped with a warning.
* **Airport kind**: ``military`` when the airport name or keywords match
  :data:`MILITARY_PATTERN` (Naval, Navy, NAS, NOLF, NALF, MCAS, Marine Corps,
  Air Force Base, AFB, Army, AAF, Air National Guard, Air Reserve Base, Joint
  Base...), else ``civil``. Without an airports layer every airport is civil
  unless overridden.
* **Heliports**: runway idents ending in ``H`` (``06H``) or airports of type
  ``heliport`` get 14 CFR 77.23 heliport surfaces (also at military airfields:
  the UFC rotary-wing surfaces are not modelled).
* **Hard surface**: the first token of ``surface`` (split on ``-``) is one of
  :data:`HARD_SURFACES` (ASP, ASPH, CON, CONC, PEM, BIT...). Only hard-surfaced
  runways get a primary surface extending 200 ft beyond their ends (77.19(c)).
* **Approach category** of a civil runway (both ends alike):

  - ``visual`` and *utility* when unpaved or shorter than 3,200 ft;
  - ``precision`` when paved, lighted and at least 4,500 ft long (an ILS or
    LPV approach is usual at such runways; the precision surface is also the
    widest and flattest near the runway, i.e. the conservative choice);
  - ``non_precision`` otherwise.

  ``lighted`` is read from the layer; when absent, runways of ``large_airport``
  and ``medium_airport`` types count as lighted. Runways of ``large_airport``
  are never utility. ``non_precision_low`` (visibility minimums as low as
  3/4 statute mile, 77.19(c)(3)(iii)) is only set by an override.
* **Military runways** are all Class B (UFC 3-260-01), with AICUZ zones at both
  ends unless ``aicuz: false``.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import Literal

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pydantic import BaseModel, ConfigDict, Field

from siteselect._errors import ConfigError, LayerError
from siteselect.airspace.selection import AirportChoice, AirportsFilter, check_filter, choose
from siteselect.geo import M_PER_FT

logger = logging.getLogger(__name__)

AirportKind = Literal["civil", "military"]
Category = Literal["visual", "non_precision", "non_precision_low", "precision"]

MILITARY_PATTERN = re.compile(
    r"\b(naval|navy|nas|nolf|nalf|naas|mcas|mcb|marine corps|air force base|afb|army|aaf|"
    r"air national guard|ang base|air reserve base|arb|joint base|usaf|usmc|usn)\b",
    re.IGNORECASE,
)
"""Airport names/keywords that mark a military airfield."""

HARD_SURFACES = frozenset(
    {"ASP", "ASPH", "ASPHALT", "CON", "CONC", "CONCRETE", "PEM", "BIT", "BITUMINOUS", "TAR"}
    | {"TARMAC", "PAVED", "PAV", "PSP", "MAC"}
)
"""First tokens of OurAirports ``surface`` values that mean a hard surface."""

UTILITY_MAX_LENGTH_FT = 3200.0
PRECISION_MIN_LENGTH_FT = 4500.0
_REQUIRED = ("airport_ident", "le_ident", "he_ident")


class Override(BaseModel):
    """Config override for an airport (``KSAN``) or a runway end (``"KSAN 27"``)."""

    model_config = ConfigDict(extra="forbid")

    kind: AirportKind | None = Field(default=None, description="Airport only: civil or military.")
    elevation_ft: float | None = Field(
        default=None, description="Airport only: established airport elevation, ft MSL."
    )
    category: Category | None = Field(default=None, description="Approach category of the end(s).")
    utility: bool | None = Field(
        default=None, description="Utility runway (props of 12,500 lb or less), 77.2."
    )
    aicuz: bool | None = Field(
        default=None, description="Military: draw AICUZ zones at the end(s)."
    )


@dataclass(frozen=True)
class Airport:
    """One airport: identity, kind and established elevation (ft MSL)."""

    ident: str
    name: str
    kind: AirportKind
    elevation_ft: float
    type: str = ""


@dataclass(frozen=True)
class Runway:
    """One runway, its ends in the working CRS (m) and elevations in ft MSL.

    The ``le`` end is the first vertex of the line, the ``he`` end the last.
    """

    airport: str
    le_ident: str
    he_ident: str
    le_xy: tuple[float, float]
    he_xy: tuple[float, float]
    le_elevation_ft: float
    he_elevation_ft: float
    width_ft: float
    hard_surface: bool
    heliport: bool
    le_category: Category
    he_category: Category
    utility: bool
    aicuz: bool

    @property
    def length_ft(self) -> float:
        """Length between the two end points, in feet (the ends are in metres)."""
        length_m = np.hypot(self.he_xy[0] - self.le_xy[0], self.he_xy[1] - self.le_xy[1])
        return float(length_m) / M_PER_FT

    @property
    def name(self) -> str:
        """``KSAN RWY 09/27``."""
        return f"{self.airport} RWY {self.le_ident}/{self.he_ident}"

    def end_name(self, end: int) -> str:
        """``KSAN RWY 27`` for end 1 (``he``), ``KSAN RWY 09`` for end 0."""
        return f"{self.airport} RWY {(self.le_ident, self.he_ident)[end]}"


def infer_kind(name: str, keywords: str = "") -> AirportKind:
    """``military`` when the name or keywords look military, else ``civil``.

    >>> infer_kind("Miramar Marine Corps Air Station"), infer_kind("Gillespie Field")
    ('military', 'civil')
    """
    return "military" if MILITARY_PATTERN.search(f"{name} {keywords}") else "civil"


def is_hard_surface(surface: str) -> bool:
    """Whether an OurAirports surface code means a hard (paved) runway.

    >>> is_hard_surface("ASPH-G"), is_hard_surface("GRVL-DIRT"), is_hard_surface("concrete")
    (True, False, True)
    """
    token = re.split(r"[-/ ]", surface.strip().upper(), maxsplit=1)[0] if surface else ""
    return token in HARD_SURFACES


def infer_category(
    length_ft: float, hard: bool, lighted: bool, airport_type: str = ""
) -> tuple[Category, bool]:
    """Default (approach category, utility) of a civil runway; see the module docstring.

    >>> infer_category(9401, True, True, "large_airport")
    ('precision', False)
    >>> infer_category(2400, True, False), infer_category(4000, False, True)
    (('visual', True), ('visual', True))
    >>> infer_category(3400, True, True)
    ('non_precision', False)
    """
    large = airport_type == "large_airport"
    if not hard or (length_ft < UTILITY_MAX_LENGTH_FT and not large):
        return "visual", True
    if lighted and length_ft >= PRECISION_MIN_LENGTH_FT:
        return "precision", False
    return "non_precision", False


def _norm_end(ident: str) -> str:
    text = ident.strip().upper().removeprefix("RWY").strip()
    stripped = text.lstrip("0")
    return stripped or text


def _truthy(value: object) -> bool:
    if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NA:
        return False
    return str(value).strip().lower() in ("1", "true", "yes", "y", "t")


def _number(value: object) -> float:
    number = pd.to_numeric(pd.Series([value]), errors="coerce").iloc[0]
    return float(number) if pd.notna(number) else float("nan")


def _airport_table(airports: gpd.GeoDataFrame | None) -> dict[str, dict[str, object]]:
    if airports is None:
        return {}
    if "ident" not in airports.columns:
        raise LayerError("airports layer needs an 'ident' column (OurAirports airports.csv)")
    table: dict[str, dict[str, object]] = {}
    for row in airports.drop(columns=airports.geometry.name).to_dict("records"):
        table[str(row["ident"])] = row
    return table


def _end_xy(geometry: shapely.Geometry) -> tuple[tuple[float, float], tuple[float, float]]:
    coords = shapely.get_coordinates(geometry)
    return (float(coords[0, 0]), float(coords[0, 1])), (float(coords[-1, 0]), float(coords[-1, 1]))


@dataclass(frozen=True)
class _Keyed:
    airport: dict[str, Override]
    end: dict[tuple[str, str], Override]


def _split_overrides(overrides: dict[str, Override]) -> _Keyed:
    airport: dict[str, Override] = {}
    end: dict[tuple[str, str], Override] = {}
    for key, override in overrides.items():
        parts = key.split()
        if len(parts) == 1:
            airport[parts[0].upper()] = override
            continue
        if override.kind is not None or override.elevation_ft is not None:
            raise ConfigError(
                f"overrides.{key!r}: 'kind' and 'elevation_ft' apply to a whole airport; "
                f"use the key {parts[0]!r}"
            )
        ends = " ".join(p for p in parts[1:] if p.upper() != "RWY").split("/")
        for ident in ends:
            end[(parts[0].upper(), _norm_end(ident))] = override
    return _Keyed(airport, end)


def _merged(*overrides: Override | None) -> Override:
    """Later overrides win field by field."""
    values: dict[str, object] = {}
    for override in overrides:
        if override is not None:
            values.update(override.model_dump(exclude_none=True))
    return Override(**values)  # type: ignore[arg-type]


def _check_columns(frame: gpd.GeoDataFrame, what: str) -> None:
    missing = [c for c in _REQUIRED if c not in frame.columns]
    if missing:
        raise LayerError(
            f"{what}: runway layer lacks column(s) {', '.join(missing)}; it needs the "
            f"OurAirports runway columns airport_ident, le_ident, he_ident "
            f"(optional le_/he_elevation_ft, width_ft, surface, lighted, closed)"
        )


def _airport_record(
    ident: str,
    rows: pd.DataFrame,
    info: dict[str, object] | None,
    override: Override | None,
) -> Airport | None:
    name = str(info.get("name") or ident) if info else ident
    keywords = str(info.get("keywords") or "") if info else ""
    elevation = _number(info.get("elevation_ft")) if info else float("nan")
    if np.isnan(elevation):
        columns = [c for c in ("le_elevation_ft", "he_elevation_ft") if c in rows.columns]
        ends = pd.to_numeric(rows[columns].stack(), errors="coerce").dropna()
        elevation = float(ends.max()) if len(ends) else float("nan")
    kind: AirportKind = infer_kind(name, keywords)
    if override is not None:
        kind = override.kind or kind
        if override.elevation_ft is not None:
            elevation = override.elevation_ft
    if np.isnan(elevation):
        logger.warning(
            "airspace: airport %s has no elevation (runways or airports layer); skipped", ident
        )
        return None
    airport_type = str(info.get("type") or "") if info else ""
    return Airport(ident=ident, name=name, kind=kind, elevation_ft=elevation, type=airport_type)


@dataclass(frozen=True)
class RunwaySelection:
    """The airports and runways whose surfaces apply, and every airport's choice."""

    airports: dict[str, Airport]
    runways: list[Runway]
    choices: list[AirportChoice]


def read_runways(
    frame: gpd.GeoDataFrame,
    airports: gpd.GeoDataFrame | None = None,
    overrides: dict[str, Override] | None = None,
    what: str = "runways",
) -> tuple[dict[str, Airport], list[Runway]]:
    """Airports and open runways whose surfaces apply (default filter); see :func:`select_runways`.

    Returns
    -------
    (airports by ident, runways)
    """
    selection = select_runways(frame, airports, overrides, what)
    return selection.airports, selection.runways


def select_runways(
    frame: gpd.GeoDataFrame,
    airports: gpd.GeoDataFrame | None = None,
    overrides: dict[str, Override] | None = None,
    what: str = "runways",
    airports_filter: AirportsFilter | None = None,
) -> RunwaySelection:
    """Airports and open runways from a runway line layer in the working CRS.

    Parameters
    ----------
    frame : geopandas.GeoDataFrame
        Runway lines (low end to high end) with the OurAirports attribute names.
    airports : geopandas.GeoDataFrame, optional
        OurAirports airports (``ident``, ``name``, ``type``, ``elevation_ft``).
    overrides : dict, optional
        ``{"KNKX": Override(kind="military"), "KSAN 27": Override(category="precision")}``.
    what : str
        Layer name for messages.
    airports_filter : AirportsFilter, optional
        Which airports count (:mod:`siteselect.airspace.selection`); default: all
        but those of type ``closed``.

    Returns
    -------
    RunwaySelection
        Applied airports and their open runways, and per airport of the runway
        layer whether its surfaces apply and why (closed runways only, no
        elevation, or the filter).

    Raises
    ------
    LayerError
        Missing columns.
    ConfigError
        An override or the filter names an airport or runway end that is not in
        the layer, or the filter needs an airports layer or column that is missing.
    """
    _check_columns(frame, what)
    keyed = _split_overrides(overrides or {})
    info = _airport_table(airports)
    chooser = airports_filter or AirportsFilter()
    frame = frame.assign(airport_ident=frame["airport_ident"].astype("string").str.upper())
    closed = (
        frame["closed"].map(_truthy).astype(bool)
        if "closed" in frame.columns
        else pd.Series(False, index=frame.index)
    )
    idents = sorted(str(i) for i in frame["airport_ident"].dropna().unique())
    columns = None
    if airports is not None:
        hidden = {airports.geometry.name, "feature_name"}
        columns = [str(c) for c in airports.columns if c not in hidden]
    check_filter(chooser, idents, columns, "airports_filter")
    records: dict[str, Airport] = {}
    runways: list[Runway] = []
    choices: list[AirportChoice] = []
    for ident, rows in frame.groupby("airport_ident", sort=True):
        ident = str(ident)
        row_info = info.get(ident)
        open_rows = rows[~closed[rows.index].to_numpy()]
        applied, why = choose(chooser, ident, row_info, airports is not None)
        airport = None
        if applied and open_rows.empty:
            applied, why = False, "all its runways are closed"
        if applied:
            airport = _airport_record(ident, open_rows, row_info, keyed.airport.get(ident))
            if airport is None:
                applied, why = False, "no elevation in the runway or airports layer"
        name = str(row_info.get("name") or ident) if row_info else ident
        kind = str(row_info.get("type") or "") if row_info else ""
        choices.append(AirportChoice(ident, name, kind, len(open_rows), applied, why))
        if airport is None:
            continue
        records[airport.ident] = airport
        for row in open_rows.to_dict("records"):
            runways.append(_runway(row, rows.geometry.name, airport, keyed))
    left_out = {c.ident for c in choices if not c.applied}
    _check_override_keys(keyed, records, runways, left_out)
    _log_lengths(frame[~closed.to_numpy()], runways, what)
    logger.info(
        "%s: %d open runways at %d airports (%d military)",
        what,
        len(runways),
        len(records),
        sum(a.kind == "military" for a in records.values()),
    )
    return RunwaySelection(records, runways, choices)


def _runway(row: dict[str, object], geometry: str, airport: Airport, keyed: _Keyed) -> Runway:
    le_ident, he_ident = str(row["le_ident"]), str(row["he_ident"])
    le_xy, he_xy = _end_xy(row[geometry])  # type: ignore[arg-type]
    length_ft = float(np.hypot(he_xy[0] - le_xy[0], he_xy[1] - le_xy[1])) / M_PER_FT
    surface = str(row.get("surface") or "")
    hard = is_hard_surface(surface)
    lighted_value = row.get("lighted")
    lighted = (
        _truthy(lighted_value)
        if lighted_value is not None and not pd.isna(lighted_value)  # type: ignore[arg-type]
        else airport.type in ("large_airport", "medium_airport")
    )
    heliport = airport.type == "heliport" or (
        le_ident.upper().endswith("H") and he_ident.upper().endswith("H")
    )
    category, utility = infer_category(length_ft, hard, lighted, airport.type)
    base = _merged(keyed.airport.get(airport.ident))
    ends = [
        _merged(base, keyed.end.get((airport.ident, _norm_end(ident))))
        for ident in (le_ident, he_ident)
    ]
    elevations = [_number(row.get(f"{e}_elevation_ft")) for e in ("le", "he")]
    elevations = [airport.elevation_ft if np.isnan(v) else v for v in elevations]
    width = _number(row.get("width_ft"))
    return Runway(
        airport=airport.ident,
        le_ident=le_ident,
        he_ident=he_ident,
        le_xy=le_xy,
        he_xy=he_xy,
        le_elevation_ft=elevations[0],
        he_elevation_ft=elevations[1],
        width_ft=width if np.isfinite(width) and width > 0 else (100.0 if heliport else 150.0),
        hard_surface=hard,
        heliport=heliport,
        le_category=ends[0].category or category,
        he_category=ends[1].category or category,
        utility=next((e.utility for e in ends if e.utility is not None), utility),
        aicuz=all(e.aicuz is not False for e in ends) and airport.kind == "military",
    )


def _check_override_keys(
    keyed: _Keyed, airports: dict[str, Airport], runways: list[Runway], left_out: set[str]
) -> None:
    for ident in keyed.airport:
        if ident in left_out:
            logger.info("overrides: %s is left out (its surfaces do not apply); ignored", ident)
        elif ident not in airports:
            known = ", ".join(sorted(airports)[:12])
            raise ConfigError(
                f"overrides: no open runway of airport {ident!r} in the runway layer "
                f"(airports: {known}...)"
            )
    ends = {(r.airport, _norm_end(e)) for r in runways for e in (r.le_ident, r.he_ident)}
    for airport, end in keyed.end:
        if airport not in left_out and (airport, end) not in ends:
            mine = sorted(e for a, e in ends if a == airport)
            raise ConfigError(
                f"overrides: no runway end {end!r} at {airport!r} "
                f"(ends: {', '.join(mine) or 'none'})"
            )


def _log_lengths(frame: gpd.GeoDataFrame, runways: list[Runway], what: str) -> None:
    if "length_ft" not in frame.columns:
        return
    stated = pd.to_numeric(frame["length_ft"], errors="coerce").to_numpy()
    measured = shapely.length(frame.geometry.to_numpy()) / M_PER_FT
    with np.errstate(invalid="ignore", divide="ignore"):
        off = np.abs(measured - stated) > 0.1 * stated
    if off.any():
        logger.info(
            "%s: %d runway(s) measure more than 10%% off their length_ft; the line is used",
            what,
            int(off.sum()),
        )
