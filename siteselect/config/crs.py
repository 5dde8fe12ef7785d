"""The config's working ``crs:``, checked when the config is loaded.

Every distance and area is computed in the working CRS, so it must be projected
and in metres. ``crs: auto`` (the local UTM zone) is always fine; anything else
is parsed with pyproj here, so that ``validate`` and ``run`` stop before any
computing with the config line and a fix:

* geographic (``EPSG:4326``): in degrees; use UTM or ``auto``;
* in feet (a US State Plane ``(ftUS)`` zone): the same projection in metres is
  suggested where the EPSG/ESRI database has one (``EPSG:2230`` -> ``EPSG:26946``);
* Web (Pseudo-)Mercator: metres on paper, but distances are stretched by
  1/cos(latitude) (x1.19 at 33 deg N), so it is refused too;
* anything pyproj cannot parse.
"""

from __future__ import annotations

import functools
import re
import warnings

import pyproj
from pyproj.database import query_crs_info
from pyproj.enums import PJType

AUTO = "auto"
_FEET_SUFFIX = re.compile(
    r"(\s*\((ftUS|ft|ftIn|US survey foot|foot)\)|_Feet(_Intl|_US)?|_Ft_US|_US_Feet)\s*$",
    re.IGNORECASE,
)
_METRES = ("metre", "meter")


def is_auto(setting: str) -> bool:
    """Whether ``setting`` asks for the local UTM zone."""
    return setting.strip().lower() == AUTO


@functools.cache
def _projected_names(authority: str) -> dict[str, str]:
    infos = query_crs_info(auth_name=authority, pj_types=PJType.PROJECTED_CRS)
    return {info.name: f"{info.auth_name}:{info.code}" for info in infos}


def metre_equivalent(crs: pyproj.CRS) -> str | None:
    """The code of the same projection in metres (``EPSG:26946`` for ``EPSG:2230``), if any.

    >>> metre_equivalent(pyproj.CRS("EPSG:2230"))
    'EPSG:26946'
    """
    authority = crs.to_authority()
    base = _FEET_SUFFIX.sub("", crs.name)
    if base != crs.name:
        for auth in dict.fromkeys([authority[0] if authority else "EPSG", "EPSG", "ESRI"]):
            code = _projected_names(auth).get(base)
            if code is not None:
                return code
    # the same definition with metre units (PROJ's x_0/y_0 are in metres whatever +units)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        proj = crs.to_proj4()
    if not proj:
        return None
    metric = re.sub(r"\+(units|to_meter)=\S+", "", proj) + " +units=m"
    try:
        match = pyproj.CRS(metric).to_authority(min_confidence=70)
    except pyproj.exceptions.CRSError:
        return None
    return f"{match[0]}:{match[1]}" if match else None


def _unit(crs: pyproj.CRS) -> str:
    return crs.axis_info[0].unit_name if crs.axis_info else "unknown"


def _is_web_mercator(crs: pyproj.CRS) -> bool:
    operation = crs.coordinate_operation
    method = operation.method_name.lower() if operation is not None else ""
    return "pseudo mercator" in method or "popular visualisation" in method


def parse_working_crs(setting: str) -> pyproj.CRS | None:
    """The working CRS of a ``crs:`` setting (None for ``auto``).

    Raises
    ------
    ValueError
        With a one-line message saying what is wrong and what to use instead.

    >>> parse_working_crs("auto") is None, parse_working_crs("EPSG:32611").to_epsg()
    (True, 32611)
    """
    if is_auto(setting):
        return None
    try:
        crs = pyproj.CRS.from_user_input(setting)
    except pyproj.exceptions.CRSError as exc:
        reason = str(exc).rsplit("(Internal Proj Error: ", 1)[-1].rstrip(")")
        raise ValueError(
            f"cannot understand {setting!r} as a CRS ({reason}); use 'auto' (the local UTM "
            "zone) or a projected CRS in metres such as EPSG:32611"
        ) from None
    shown = f"{setting!r} ({crs.name})"
    if crs.is_geographic:
        raise ValueError(
            f"{shown} is geographic, in degrees; use a projected CRS such as UTM "
            "(e.g. EPSG:32611) or 'auto'"
        )
    if not crs.is_projected:
        raise ValueError(
            f"{shown} is a {crs.type_name}, not a projected CRS; use a projected CRS in metres "
            "such as UTM, or 'auto'"
        )
    unit = _unit(crs)
    if unit.lower() not in _METRES:
        equivalent = metre_equivalent(crs)
        fix = (
            f"use {equivalent} ({pyproj.CRS(equivalent).name}), the same projection in metres"
            if equivalent
            else "use a CRS in metres (e.g. the local UTM zone) or 'auto'"
        )
        raise ValueError(f"{shown} is in {unit.replace('foot', 'feet')}, not metres; {fix}")
    if _is_web_mercator(crs):
        raise ValueError(
            f"{shown} is Web Mercator: its metres stretch with latitude (x1.2 at 33 deg), so "
            "distances and areas would be wrong; use 'auto' (the local UTM zone)"
        )
    return crs
