"""Which airports' surfaces apply: the config's ``airports_filter`` and the record of it.

Real airport layers list every strip: OurAirports' San Diego extract has 175
entries, among them closed fields, heliports on hospital roofs, private ranch
strips and gliderports. Part 77 protects public-use airports (and the FAA
studies private ones only on request), so surfaces drawn around a private
glider strip exclude land for nothing. The config says which airports count::

    airports_filter:
      types: [large_airport, medium_airport, small_airport]  # default: all but closed
      exclude: [CL35, CA84]        # idents left out whatever their type
      include: [L18]               # idents kept whatever their type or name
      exclude_names: [glider, private]     # name or keywords containing one (any case)
      exclude_where: {FACILITY_USE_CODE: PR}   # a column of the airports layer

Rules, in order: ``exclude`` (left out), ``include`` (applied), then the type
(``types``; by default every type but ``closed``), ``exclude_names`` and
``exclude_where``. Types, names, keywords and columns come from the airports
layer; an airport missing from it has an unknown type and is applied (the
conservative choice: its surfaces may matter), which the record says.

Private use: OurAirports has no such column. FAA data does (NASR
``FACILITY_USE_CODE`` PU/PR, the FAA ADDS airports layer's ``PRIVATEUSE`` 0/1):
use ``exclude_where``. With OurAirports, leave private strips out by ident or
by name (``Private``, ``Ranch``, ``Gliderport``).
"""

from __future__ import annotations

import difflib
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, model_validator

from siteselect._errors import ConfigError

FilterValue = str | int | float | bool
DEFAULT_LEFT_OUT_TYPES = ("closed",)


class AirportsFilter(BaseModel):
    """Which airports' surfaces apply (see the module docstring)."""

    model_config = ConfigDict(extra="forbid")

    include: list[str] = Field(
        default_factory=list, description="Idents whose surfaces always apply."
    )
    exclude: list[str] = Field(
        default_factory=list, description="Idents whose surfaces never apply."
    )
    types: list[str] | None = Field(
        default=None,
        description="Airport types (airports layer 'type') whose surfaces apply; "
        "default: every type except closed.",
    )
    exclude_names: list[str] = Field(
        default_factory=list,
        description="Leave out airports whose name or keywords contain one of these (any case).",
    )
    exclude_where: dict[str, FilterValue | list[FilterValue]] = Field(
        default_factory=dict,
        description="Leave out airports whose column (airports layer) has one of the values, "
        "e.g. {FACILITY_USE_CODE: PR}.",
    )

    @model_validator(mode="after")
    def _no_ident_twice(self) -> AirportsFilter:
        both = {i.upper() for i in self.include} & {i.upper() for i in self.exclude}
        if both:
            raise ValueError(f"{', '.join(sorted(both))} both included and excluded")
        return self

    @property
    def needs_airports_layer(self) -> bool:
        """Whether the filter reads the airports layer (types, names, columns)."""
        return bool(self.types or self.exclude_names or self.exclude_where)


@dataclass(frozen=True)
class AirportChoice:
    """One airport of the runway layer and whether its surfaces apply, and why."""

    ident: str
    name: str
    type: str
    runways: int
    applied: bool
    reason: str

    def as_json(self) -> dict[str, Any]:
        """JSON-serialisable record (run.json diagnostics)."""
        return asdict(self)

    def describe(self) -> str:
        """``CL35 (Warner Springs Gliderport Airport, small_airport, 1 runway)``."""
        runways = f"{self.runways} runway{'s' if self.runways != 1 else ''}"
        return f"{self.ident} ({self.name}, {self.type or 'type unknown'}, {runways})"


def _text(info: dict[str, object] | None, key: str) -> str:
    value = info.get(key) if info else None
    if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NA:
        return ""
    return str(value)


def _matches(value: object, wanted: FilterValue | list[FilterValue]) -> bool:
    values = wanted if isinstance(wanted, list) else [wanted]
    text = "" if value is None or (isinstance(value, float) and np.isnan(value)) else str(value)
    return any(text.strip().lower() == str(v).strip().lower() for v in values)


def check_filter(
    flt: AirportsFilter, idents: list[str], columns: list[str] | None, what: str
) -> None:
    """Raise when the filter names idents or columns the layers do not have.

    Parameters
    ----------
    idents : list of str
        Airport idents of the runway layer (upper case).
    columns : list of str or None
        Columns of the airports layer; None when there is no airports layer.
    what : str
        Config location for messages (``airports_filter``).
    """
    known = set(idents)
    for key in ("include", "exclude"):
        for ident in getattr(flt, key):
            if ident.upper() not in known:
                close = difflib.get_close_matches(ident.upper(), sorted(known), n=1)
                hint = f" (did you mean {close[0]!r}?)" if close else ""
                raise ConfigError(
                    f"{what}.{key}: no airport {ident!r} in the runway layer{hint}; "
                    f"its airports: {', '.join(sorted(known)[:15])}"
                    f"{', ...' if len(known) > 15 else ''}"
                )
    if columns is None:
        if flt.needs_airports_layer:
            raise ConfigError(
                f"{what}: types, exclude_names and exclude_where read the airports layer; "
                "add 'airports: <layer>' (OurAirports airports.csv or FAA airports)"
            )
        return
    needed = [c for c in flt.exclude_where] + (["type"] if flt.types else [])
    for column in needed:
        if column not in columns:
            raise ConfigError(
                f"{what}: the airports layer has no column {column!r} "
                f"(columns: {', '.join(columns[:20])})"
            )


def choose(
    flt: AirportsFilter, ident: str, info: dict[str, object] | None, has_layer: bool = True
) -> tuple[bool, str]:
    """(applied, why) for one airport.

    ``info`` is its airports-layer row (None if absent); ``has_layer`` whether
    there is an airports layer at all.
    """
    include = {i.upper() for i in flt.include}
    exclude = {i.upper() for i in flt.exclude}
    if ident in exclude:
        return False, "airports_filter.exclude"
    if ident in include:
        return True, "airports_filter.include"
    if info is None:
        if has_layer:
            return True, "not in the airports layer: type unknown, applied"
        return True, "in the runway layer (no airports layer)"
    kind = _text(info, "type")
    if flt.types is not None:
        if kind.lower() not in {t.lower() for t in flt.types}:
            return False, f"type {kind or 'unknown'} not in airports_filter.types"
    elif kind.lower() in DEFAULT_LEFT_OUT_TYPES:
        return False, f"type {kind} (add it to airports_filter.types to apply it)"
    words = f"{_text(info, 'name')} {_text(info, 'keywords')}".lower()
    for fragment in flt.exclude_names:
        if fragment.lower() in words:
            return False, f"name or keywords contain {fragment!r} (airports_filter.exclude_names)"
    for column, wanted in flt.exclude_where.items():
        if _matches(info.get(column), wanted):
            return False, f"{column} = {info.get(column)} (airports_filter.exclude_where)"
    return True, f"type {kind}" if kind else "in the airports layer"


def selection_record(
    choices: list[AirportChoice], runway_layer: str, airports_layer: str | None, flt: AirportsFilter
) -> dict[str, Any]:
    """The ``diagnostics["airports"]`` entry of one airspace model."""
    return {
        "runways_layer": runway_layer,
        "airports_layer": airports_layer,
        "filter": flt.model_dump(mode="json"),
        "applied": [c.as_json() for c in choices if c.applied],
        "left_out": [c.as_json() for c in choices if not c.applied],
    }
