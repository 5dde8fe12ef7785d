"""Plain-language labels (siteselect.outputs.labels): units, model names, scoring, rules, sites."""

from __future__ import annotations

import pandas as pd
import pytest

from siteselect.decision.results import CriterionInfo
from siteselect.outputs.labels import (
    constraint_label,
    constraint_rule,
    criterion_heading,
    differs,
    format_amount,
    plain_text,
    scoring_words,
    site_label,
    split_description,
    unit_words,
)


@pytest.mark.parametrize(
    ("text", "plain"),
    [
        (
            "Max PGA (g), 2% in 50 years over the parcel",
            "Highest peak ground acceleration, 2% in 50 years over the parcel",
        ),
        (
            "Target households expected to choose the site (Huff)",
            "Target households expected to choose the site (Huff model)",
        ),
        ("Expected patients captured (Huff model)", "Expected patients captured (Huff model)"),
        ("Huff capture", "Huff model capture"),
        (
            "Target households reached (drive time, gravity, 15 min half-life)",
            "Target households reached (drive time, gravity, 15-minute half-life)",
        ),
        (
            "Vehicles a day that see a 160 ft building (within 3 km)",
            "Vehicles a day that see a 160-foot building (within 3 kilometres)",
        ),
        ("Margin under the surfaces for 180 ft", "Margin under the surfaces for 180 feet"),
        ("Distance to nearest faults", "Distance to the nearest fault"),
        ("Drive time to nearest freeway on-ramp", "Drive time to the nearest freeway on-ramp"),
        (
            "off-network (more than 800 m from the nearest road, network.max_snap_m)",
            "off-network (more than 800 metres from the nearest road)",
        ),
        ("Mean slope", "Average slope"),
    ],
)  # fmt: skip
def test_plain_text(text: str, plain: str) -> None:
    assert plain_text(text) == plain


def test_unit_words() -> None:
    assert [unit_words(u) for u in ("min", "m", "ft", "km", "%", "g", "households")] == [
        "minutes", "metres", "feet", "kilometres", "percent", "g", "households",
    ]  # fmt: skip
    assert unit_words("vehicles/day") == "vehicles a day"
    assert unit_words("people/day") == "people a day"
    assert unit_words("vehicle-s/day") == "vehicle-seconds of view a day"
    assert unit_words("") == ""


def _info(label: str, unit: str) -> CriterionInfo:
    return CriterionInfo("x", "kind", label, unit, 1.0, "")


def test_criterion_heading_writes_the_unit_once() -> None:
    assert criterion_heading(_info("Drive time to nearest on-ramp", "min")) == (
        "Drive time to the nearest on-ramp, in minutes"
    )
    assert criterion_heading(_info("Max PGA (g) over the parcel", "g")) == (
        "Highest peak ground acceleration over the parcel, in g"
    )
    # the label already counts households / vehicles: no ", in households"
    assert criterion_heading(_info("Target households reached", "households")) == (
        "Target households reached"
    )
    assert criterion_heading(_info("Vehicles a day that see it", "vehicles/day")) == (
        "Vehicles a day that see it"
    )
    assert criterion_heading(_info("Slope", "")) == "Slope"


def test_format_amount() -> None:
    assert format_amount(1.4249, "min") == "1.42 minutes"
    assert format_amount(27389.2, "m") == "27,389 metres"
    assert format_amount(12.5, "%") == "12.5%"
    assert format_amount(float("nan"), "m") == "n/a"
    assert format_amount(3, "<b>") == "3.00 &lt;b&gt;"


@pytest.mark.parametrize(
    ("transform", "unit", "words"),
    [
        ({"fn": "linear", "best": 2, "worst": 15}, "min",
         "full score at 2 minutes or less, none at 15 or more"),
        ({"fn": "linear", "best": 20000, "worst": 5000}, "m",
         "full score at 20,000 metres or more, none at 5,000 or less"),
        ({"fn": "minmax", "better": "higher"}, "households",
         "relative: full score for the highest value among the candidates, none for the lowest"),
        ({"fn": "minmax", "better": "lower"}, "min",
         "relative: full score for the lowest value among the candidates, none for the highest"),
        ({"fn": "logistic", "midpoint": 10, "scale": 2, "better": "lower"}, "min",
         "S-curve: half score at 10 minutes, lower values score better"),
        ({"fn": "gaussian", "ideal": 30, "sd": 5}, "acres",
         "full score at 30 acres, less the farther from it (standard deviation 5 acres)"),
        ({"fn": "step", "breaks": [1, 2], "scores": [1, 0.5, 0]}, "km",
         "in steps: up to 1 kilometres: 1, up to 2 kilometres: 0.5, above: 0"),
    ],
)  # fmt: skip
def test_scoring_words(transform: dict, unit: str, words: str) -> None:
    assert scoring_words(transform, unit) == words


def test_scoring_words_falls_back_to_the_description() -> None:
    assert scoring_words(None, "min", "linear: 2 min -> 1") == "linear: 2 minutes -> 1"
    assert scoring_words({"fn": "linear"}, "min", "broken") == "broken"


@pytest.mark.parametrize(
    ("description", "kind", "entry", "unit", "label", "rule"),
    [
        ("Margin under the airspace surfaces for 180 ft: min_margin_ft 0.0", "airspace",
         {"exclude_aicuz": True}, "", "Margin under the airspace surfaces for 180 feet",
         "at least 0 feet, and outside military clear zones and accident potential zones"),
        ("Margin under the airspace surfaces for 180 ft: min_margin_ft 0.0", "airspace",
         {"exclude_aicuz": False}, "", "Margin under the airspace surfaces for 180 feet",
         "at least 0 feet"),
        ("Distance to nearest faults: min_m 150.0", "distance", None, "",
         "Distance to the nearest fault", "at least 150 metres"),
        ("Drive time to nearest freeway on-ramp: max_minutes 20.0", "network_time", None, "",
         "Drive time to the nearest freeway on-ramp", "at most 20 minutes"),
        ("Max PGA (g) over the parcel: min 0.1, max 0.6", "raster_zonal", None, "g",
         "Highest peak ground acceleration over the parcel", "between 0.1 g and 0.6 g"),
        ("Share inside flood zones: max_overlap_pct 5.0", "zones", None, "",
         "Share inside flood zones", "at most 5%"),
        ("Vehicles a day: min 20000.0", "visibility", None, "vehicles/day",
         "Vehicles a day", "at least 20,000 vehicles a day"),
        ("Not in a flood zone", "zones", None, "", "Not in a flood zone", "Not in a flood zone"),
        ("Ratio: 3 to 1", "x", None, "", "Ratio: 3 to 1", "Ratio: 3 to 1"),
    ],
)  # fmt: skip
def test_constraint_label_and_rule(
    description: str, kind: str, entry: dict | None, unit: str, label: str, rule: str
) -> None:
    assert constraint_label(description) == label
    assert constraint_rule(description, kind, entry, unit) == rule
    assert "_" not in rule and "_" not in label


def test_split_description_only_takes_bound_fields() -> None:
    assert split_description("A: b: min_m 1.5, max_m 2e3") == ("A: b", "min_m 1.5, max_m 2e3")
    assert split_description("Zones: flood") == ("Zones: flood", "")


def test_site_label_prefers_a_non_empty_name() -> None:
    assert site_label(pd.Series({"candidate_id": "42", "site_name": "Mesa Campus"})) == (
        "Mesa Campus"
    )
    assert site_label(pd.Series({"candidate_id": "42", "site_name": "  "})) == "Site 42"
    assert site_label(pd.Series({"candidate_id": "42", "site_name": None})) == "Site 42"
    assert site_label(pd.Series({"candidate_id": "42", "site_name": float("nan")})) == "Site 42"
    assert site_label(pd.Series({"candidate_id": "42"})) == "Site 42"


def test_differs_is_relative_and_handles_missing() -> None:
    assert differs(100, 103) and not differs(100, 101)
    assert not differs(0, 0) and differs(0, 1)
    assert differs(float("nan"), 1) and not differs(float("nan"), None)
    assert differs("a", None) and not differs(None, None)
