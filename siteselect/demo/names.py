"""Street names and per-way tag variety of the synthetic network.

Arterial names are borrowed from real San Diego arterials, assigned in a rough
south-to-north / west-to-east order; they do not follow the real alignments.
"""

from __future__ import annotations

from typing import Final

import numpy as np

# fmt: off
_ARTERIALS_EW: Final[tuple[str, ...]] = (
    "Airway Road", "Otay Mesa Road", "Palm Avenue", "Main Street", "Orange Avenue",
    "Telegraph Canyon Road", "H Street", "E Street", "Plaza Boulevard", "Paradise Valley Road",
    "Imperial Avenue", "Market Street", "Broadway", "University Avenue", "El Cajon Boulevard",
    "Adams Avenue", "Friars Road", "Aero Drive", "Tierrasanta Boulevard", "Balboa Avenue",
    "Clairemont Mesa Boulevard", "Governor Drive", "Nobel Drive", "Miramar Road",
    "Mira Mesa Boulevard", "Carroll Canyon Road", "Scripps Poway Parkway",
    "Carmel Mountain Road", "Del Mar Heights Road", "Carmel Valley Road", "Ted Williams Parkway",
)
_ARTERIALS_NS: Final[tuple[str, ...]] = (
    "La Jolla Boulevard", "Mission Boulevard", "Sunset Cliffs Boulevard", "Rosecrans Street",
    "Morena Boulevard", "Genesee Avenue", "Linda Vista Road", "Convoy Street", "Park Boulevard",
    "Texas Street", "Fairmount Avenue", "Euclid Avenue", "College Avenue", "Santo Road",
    "Lake Murray Boulevard", "Jackson Drive", "Sweetwater Road", "Magnolia Avenue",
    "Mollison Avenue", "Second Street", "Greenfield Drive", "Jamacha Road", "Lake Jennings Road",
)
_TREES: Final[tuple[str, ...]] = (
    "Ash", "Beech", "Cedar", "Date", "Elm", "Fir", "Grape", "Hawthorn", "Ivy", "Juniper",
    "Kalmia", "Laurel", "Maple", "Nutmeg", "Olive", "Palm", "Quince", "Redwood", "Sassafras",
    "Thorn", "Upas", "Vine", "Walnut", "Willow", "Acacia", "Birch", "Cypress", "Dogwood",
    "Eucalyptus", "Fig", "Gardenia", "Hibiscus", "Iris", "Jacaranda", "Lemon", "Magnolia",
    "Orange", "Pepper", "Rose", "Sage", "Tamarind", "Verbena", "Wisteria", "Yucca", "Zinnia",
    "Alder", "Bayberry", "Chestnut", "Darwin", "Eastgate", "Fairfield", "Glenhaven",
)
_SUFFIXES: Final[tuple[str, ...]] = ("Street", "Avenue", "Drive", "Way", "Place")
# fmt: on

# Where one-way couplets are drawn: (lon, lat) of downtown, Chula Vista, El Cajon.
COUPLET_CENTRES: Final[tuple[tuple[float, float], ...]] = (
    (-117.158, 32.718),
    (-117.080, 32.638),
    (-116.962, 32.797),
)


def _ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def arterial_ew(k: int) -> str:
    """Name of the ``k``-th east-west arterial from the south."""
    base = _ARTERIALS_EW[k % len(_ARTERIALS_EW)]
    return base if k < len(_ARTERIALS_EW) else f"North {base}"


def arterial_ns(k: int) -> str:
    """Name of the ``k``-th north-south arterial from the west."""
    base = _ARTERIALS_NS[k % len(_ARTERIALS_NS)]
    return base if k < len(_ARTERIALS_NS) else f"East {base}"


def local_ns(i: int) -> str:
    """Name of north-south local street ``i`` (numbered streets)."""
    return f"{_ordinal(i + 1)} Street"


def local_ew(j: int) -> str:
    """Name of east-west local street ``j``."""
    return f"{_TREES[j % len(_TREES)]} {_SUFFIXES[(j // len(_TREES)) % len(_SUFFIXES)]}"


def vary_tags(tags: dict[str, str], rng: np.random.Generator) -> None:
    """Add realistic, varied ``maxspeed``/``lanes`` tags and drop a few names, in place.

    ``maxspeed`` mixes "25 mph" style values, plain km/h numbers ("50") and
    missing values, as real OSM data does.

    Parameters
    ----------
    tags
        Way tags with at least ``highway``; modified in place.
    rng
        Random generator (one draw sequence per way, so output is stable).
    """
    u = rng.random(3)
    hw = tags["highway"]
    if hw == "residential":
        if u[0] < 0.30:
            tags["maxspeed"] = "25 mph"
        if u[1] < 0.15:
            tags["lanes"] = "2"
        if u[2] < 0.04:
            tags.pop("name", None)
    elif hw == "tertiary":
        if u[0] < 0.55:
            tags["maxspeed"] = "35 mph"
        elif u[0] < 0.62:
            tags["maxspeed"] = "30 mph"
        tags["lanes"] = "2"
    elif hw == "secondary":
        if u[0] < 0.40:
            tags["maxspeed"] = "40 mph"
        elif u[0] < 0.65:
            tags["maxspeed"] = "45 mph"
        elif u[0] < 0.72:
            tags["maxspeed"] = "50"
        tags["lanes"] = "4"
    elif hw == "primary":
        if u[0] < 0.50:
            tags["maxspeed"] = "45 mph"
        elif u[0] < 0.70:
            tags["maxspeed"] = "50 mph"
        elif u[0] < 0.76:
            tags["maxspeed"] = "60"
        tags["lanes"] = "6" if u[1] < 0.4 else "4"
