"""The airspace model of a set of airports: every surface and zone, with names.

:func:`build_model` turns :mod:`~siteselect.airspace.runways` records into
surface parameters (civil or military by airport kind) and numbers every
surface: the evaluator reports the controlling surface as an index into
:attr:`AirspaceModel.names`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import numpy as np

from siteselect.airspace.civil import civil_airport_surfaces, civil_runway_surfaces
from siteselect.airspace.military import (
    aicuz_zones,
    military_airport_surfaces,
    military_runway_surfaces,
)
from siteselect.airspace.runways import Airport, Runway
from siteselect.airspace.surfaces import AicuzZone, AirportSurfaces, RunwaySurfaces

logger = logging.getLogger(__name__)

# per-runway surface slots
PRIMARY, TRANSITIONAL, APPROACH_LE, APPROACH_HE = range(4)
# per-airport surface slots
HORIZONTAL, CONICAL, OUTER_HORIZONTAL = range(3)


@dataclass
class AirspaceModel:
    """Surfaces of all runways and airports, and the AICUZ zones.

    Attributes
    ----------
    runways : list of RunwaySurfaces
    airports : list of AirportSurfaces
    zones : list of AicuzZone
    names : list of str
        Surface name per code (``KSAN RWY 27 approach surface``).
    runway_codes : numpy.ndarray
        (R, 4) codes of primary, transitional, ``le`` approach, ``he`` approach.
    airport_codes : numpy.ndarray
        (A, 3) codes of horizontal, conical, outer horizontal (-1 when absent).
    airport_elevation_ft : numpy.ndarray
        (len(names),) established elevation of each surface's airport, ft MSL.
    """

    runways: list[RunwaySurfaces]
    airports: list[AirportSurfaces]
    zones: list[AicuzZone] = field(default_factory=list)
    names: list[str] = field(default_factory=list)
    runway_codes: np.ndarray = field(default_factory=lambda: np.zeros((0, 4), dtype=int))
    airport_codes: np.ndarray = field(default_factory=lambda: np.zeros((0, 3), dtype=int))
    airport_elevation_ft: np.ndarray = field(default_factory=lambda: np.zeros(0))

    def __post_init__(self) -> None:
        names: list[str] = []
        elevations: list[float] = []

        def add(name: str, elevation: float) -> int:
            names.append(name)
            elevations.append(elevation)
            return len(names) - 1

        runway_codes = np.full((len(self.runways), 4), -1, dtype=int)
        for r, surfaces in enumerate(self.runways):
            runway, elev = surfaces.runway, surfaces.airport_elevation_ft
            prefix = "heliport " if surfaces.family == "heliport" else ""
            runway_codes[r, PRIMARY] = add(f"{runway.name} {prefix}primary surface", elev)
            runway_codes[r, TRANSITIONAL] = add(f"{runway.name} {prefix}transitional surface", elev)
            for end, slot in ((0, APPROACH_LE), (1, APPROACH_HE)):
                kind = surfaces.approaches[end].name
                runway_codes[r, slot] = add(f"{runway.end_name(end)} {prefix}{kind} surface", elev)
        airport_codes = np.full((len(self.airports), 3), -1, dtype=int)
        for a, surfaces in enumerate(self.airports):
            ident, elev = surfaces.airport.ident, surfaces.airport.elevation_ft
            airport_codes[a, HORIZONTAL] = add(f"{ident} {surfaces.horizontal_name} surface", elev)
            airport_codes[a, CONICAL] = add(f"{ident} conical surface", elev)
            if surfaces.outer_above_ft is not None:
                airport_codes[a, OUTER_HORIZONTAL] = add(f"{ident} outer horizontal surface", elev)
        self.names = names
        self.runway_codes = runway_codes
        self.airport_codes = airport_codes
        self.airport_elevation_ft = np.asarray(elevations, dtype="float64")

    def zone_labels(self) -> list[str]:
        """``KNKX RWY 24R APZ I`` per zone."""
        return [zone.label(self.runways) for zone in self.zones]


def build_model(airports: dict[str, Airport], runways: list[Runway]) -> AirspaceModel:
    """Surfaces and AICUZ zones of ``runways``, by their airports' kind.

    Parameters
    ----------
    airports : dict
        Airports by ident (from :func:`~siteselect.airspace.runways.read_runways`).
    runways : list of Runway

    Returns
    -------
    AirspaceModel
    """
    runway_surfaces: list[RunwaySurfaces] = []
    airport_surfaces: list[AirportSurfaces] = []
    zones: list[AicuzZone] = []
    for ident in sorted({r.airport for r in runways}):
        airport = airports[ident]
        mine: list[RunwaySurfaces] = []
        for runway in (r for r in runways if r.airport == ident):
            if airport.kind == "military" and not runway.heliport:
                surfaces = military_runway_surfaces(runway, airport)
            else:
                surfaces = civil_runway_surfaces(runway, airport)
            zones.extend(aicuz_zones(len(runway_surfaces), surfaces))
            runway_surfaces.append(surfaces)
            mine.append(surfaces)
        builder = (
            military_airport_surfaces if airport.kind == "military" else civil_airport_surfaces
        )
        airport_level = builder(airport, mine)
        if airport_level is not None:
            airport_surfaces.append(airport_level)
    model = AirspaceModel(runways=runway_surfaces, airports=airport_surfaces, zones=zones)
    logger.info(
        "airspace model: %d runways, %d airports, %d surfaces, %d AICUZ zones",
        len(runway_surfaces),
        len(airport_surfaces),
        len(model.names),
        len(zones),
    )
    return model
