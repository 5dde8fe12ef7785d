"""Exposure in words: "seen from about 3.2 km of I-15, roughly 140,000 vehicles a day".

No heavy imports: the map and the report can call :func:`describe_exposure`
on a candidate's columns.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np


def round_people(value: float) -> str:
    """A daily count as a person would say it: two significant figures, thousands grouped.

    >>> round_people(143_512), round_people(105_000), round_people(851), round_people(0.4)
    ('140,000', '110,000', '850', '0')
    """
    if not math.isfinite(value) or value < 1:
        return "0"
    digits = max(0, math.floor(math.log10(value)) - 1)
    rounded = math.floor(value / 10**digits + 0.5) * 10**digits
    return f"{rounded:,.0f}"


def _km(metres: float) -> str:
    """Kilometres to one decimal (from the metres rounded to 10 m; 0.1 at least)."""
    return f"{max(round(metres, -1), 50.0) / 1000.0:.1f}"


def describe_exposure(
    exposure: float,
    road_m: float,
    main_road: str,
    main_road_m: float,
    *,
    what: str = "vehicles",
    max_km: float = 3.0,
    view_seconds: float | None = None,
) -> str:
    """One sentence saying how many see the building and from where.

    Parameters
    ----------
    exposure : float
        Daily vehicles (or people) passing road stretches the building is seen from.
    road_m : float
        Metres of counted road it is seen from.
    main_road, main_road_m : str, float
        The road bringing the most of them (``I-15``) and its metres seen.
    what : str
        ``vehicles`` or ``people``.
    max_km : float
        The distance limit, for the sentence when nothing sees it.
    view_seconds : float, optional
        Vehicle- (person-) seconds of view per day, appended when given.

    >>> describe_exposure(143_512, 4300, "I-15", 3200)
    'seen from about 3.2 km of I-15 and 1.1 km of other roads, roughly 140,000 vehicles a day'
    >>> describe_exposure(0, 0, "", 0)
    'not seen from the counted roads within 3 km'
    """
    if not (math.isfinite(exposure) and exposure >= 1 and road_m > 0):
        return f"not seen from the counted roads within {max_km:g} km"
    other_m = road_m - main_road_m
    where = f"about {_km(main_road_m)} km of {main_road}"
    if other_m >= 50.0:
        where += f" and {_km(other_m)} km of other roads"
    sentence = f"seen from {where}, roughly {round_people(exposure)} {what} a day"
    if view_seconds is not None and math.isfinite(view_seconds) and view_seconds > 0:
        unit = "vehicle" if what == "vehicles" else "person"
        sentence += f" ({round_people(view_seconds / 3600.0)} {unit}-hours of view)"
    return sentence


def _formatted(values: np.ndarray, fmt: Callable[[float], str]) -> np.ndarray:
    """``fmt`` of each value, formatted once per distinct value."""
    unique, inverse = np.unique(values, return_inverse=True)
    return np.array([fmt(float(v)) for v in unique], dtype=str)[inverse.ravel()]


def describe_all(
    exposure: np.ndarray,
    road_m: np.ndarray,
    main_road: np.ndarray,
    main_road_m: np.ndarray,
    *,
    what: str = "vehicles",
    max_km: float = 3.0,
    view_seconds: np.ndarray | None = None,
) -> np.ndarray:
    """:func:`describe_exposure` per candidate ("" where the exposure is NaN), vectorised.

    Each distinct number is formatted once, so a million candidates take about a second.
    """
    n = len(exposure)
    out = np.full(n, "", dtype=object)
    finite = np.isfinite(exposure)
    seen = finite & (np.nan_to_num(exposure) >= 1) & (road_m > 0)
    out[finite & ~seen] = f"not seen from the counted roads within {max_km:g} km"
    index = np.flatnonzero(seen)
    if len(index) == 0:
        return out
    main_m = main_road_m[index]
    other_m = road_m[index] - main_m
    text = np.char.add("seen from about ", _formatted(np.round(main_m, -1), _km))
    text = np.char.add(np.char.add(text, " km of "), main_road[index].astype(str))
    others = np.char.add(
        np.char.add(" and ", _formatted(np.round(other_m, -1), _km)), " km of other roads"
    )
    text = np.char.add(text, np.where(other_m >= 50.0, others, ""))
    people = _formatted(exposure[index], round_people)
    text = np.char.add(np.char.add(text, ", roughly "), people)
    text = np.char.add(text, f" {what} a day")
    if view_seconds is not None:
        unit = "vehicle" if what == "vehicles" else "person"
        hours = _formatted(view_seconds[index] / 3600.0, round_people)
        extra = np.char.add(np.char.add(" (", hours), f" {unit}-hours of view)")
        text = np.char.add(text, np.where(view_seconds[index] > 0, extra, ""))
    out[index] = text.astype(object)
    return out
