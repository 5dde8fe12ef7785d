"""Criterion kinds, registered by name (see :mod:`siteselect.criteria.base`)."""

from siteselect.criteria import (
    accessibility,
    airspace,
    attribute,
    competition,
    distance,
    network_time,
    raster_zonal,
    visibility,
    zones,
)
from siteselect.criteria.base import REGISTRY, KindHandler, KindSpec, Measurement, register

__all__ = [
    "REGISTRY",
    "KindHandler",
    "KindSpec",
    "Measurement",
    "accessibility",
    "airspace",
    "attribute",
    "competition",
    "distance",
    "network_time",
    "raster_zonal",
    "register",
    "visibility",
    "zones",
]
