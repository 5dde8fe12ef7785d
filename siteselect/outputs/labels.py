"""Plain-language labels of the outputs: one place for what a criterion or constraint is called.

The report (and, later, the map) names a criterion by :func:`criterion_heading`
everywhere (column header, weights table, chart legend, "why #1 beats #2"), so
the same words always mean the same column. Everything here turns the
technical descriptions the kinds produce (``Max PGA (g) over the parcel``,
``min_margin_ft 0.0``, ``linear: 2 min -> 1, 15 min -> 0``) into words a reader
without the config understands:

- :func:`plain_text`: abbreviations and model names in words (``PGA`` ->
  ``peak ground acceleration``, ``(Huff)`` -> ``(Huff model)``, ``15 min`` ->
  ``15 minutes``);
- :func:`unit_words`: a unit written out (``min`` -> ``minutes``, ``m`` ->
  ``metres``, ``vehicles/day`` -> ``vehicles a day``);
- :func:`criterion_heading`: the label with its unit (``Drive time to nearest
  freeway on-ramp, in minutes``);
- :func:`scoring_words`: how a value becomes a score, from the transform config;
- :func:`constraint_label` / :func:`constraint_rule`: what a hard constraint
  measures and the bound it imposes (``at least 150 metres``);
- :func:`site_label`: a site by its name where the parcel has one, else its id.

Values are formatted with the map's rules (:func:`format_number`, imported from
:mod:`siteselect.outputs.map.popup`), so a number reads the same in both.
Nothing here escapes HTML except :func:`format_amount`, whose result is markup.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any

import pandas as pd

from siteselect.decision.results import PARTIAL_NOTE, CriterionInfo
from siteselect.outputs.map.popup import NOT_AVAILABLE, esc, format_number, is_missing

#: Unit symbols written out. Units not listed are shown as they are, with ``/day``
#: read as "a day" (``households`` stays ``households``).
UNIT_WORDS: dict[str, str] = {
    "s": "seconds",
    "min": "minutes",
    "minutes": "minutes",
    "h": "hours",
    "m": "metres",
    "km": "kilometres",
    "ft": "feet",
    "mi": "miles",
    "g": "g",
    "%g": "percent of g",
    "%": "percent",
    "m/s": "metres per second",
    "acres": "acres",
    "ha": "hectares",
    "vehicle-s/day": "vehicle-seconds of view a day",
    "person-s/day": "person-seconds of view a day",
}

#: Abbreviations and jargon in the kinds' labels, in the order they are replaced.
_PLAIN: tuple[tuple[str, str], ...] = (
    (r"^Max\b", "Highest"),
    (r"^Min\b", "Lowest"),
    (r"^Mean\b", "Average"),
    (r"\bx F_PGA\b", "with the site's soil amplification"),
    (r"\bF_PGA\b", "soil amplification factor"),
    (r"\bPGA \(g\)", "peak ground acceleration"),
    (r"\bPGA\b", "peak ground acceleration"),
    (r"\bAADT\b", "average daily traffic"),
    (r"\(Huff\)", "(Huff model)"),
    (r"\bHuff\b(?! model)", "Huff model"),
    (r"\b(\d+(?:\.\d+)?) min half-life\b", r"\1-minute half-life"),
    (r"\b(\d[\d,]*(?:\.\d+)?) ?min\b", r"\1 minutes"),
    (r"\b(\d[\d,]*(?:\.\d+)?) ?ft building\b", r"\1-foot building"),
    (r"\b(\d[\d,]*(?:\.\d+)?) ?ft\b", r"\1 feet"),
    (r"\b(\d[\d,]*(?:\.\d+)?) ?km\b", r"\1 kilometres"),
    (r"\b(\d[\d,]*(?:\.\d+)?) ?m\b", r"\1 metres"),
    (r"\bnearest faults\b", "the nearest fault"),
    (r"\bnearest ([a-z])", r"the nearest \1"),
    (r"\bthe the\b", "the"),
    (r",? *\b[a-z_]+(?:\.[a-z_]+)+\b(?=\))", ""),  # a config path, e.g. network.max_snap_m
)

#: Constraint bound field suffix -> unit of the bound (``min_margin_ft`` -> ft).
_BOUND_UNITS = {"ft": "ft", "m": "m", "km": "km", "minutes": "min", "pct": "%", "acres": "acres"}
_BOUND_TEXT = re.compile(r"^(?:(?:min|max)\w* -?[\d.]+(?:e[-+]?\d+)?(?:, )?)+$")

#: What a constraint kind excludes besides its bound (config flag -> words).
_KIND_EXTRAS: dict[str, tuple[tuple[str, str], ...]] = {
    "airspace": (
        ("exclude_aicuz", "and outside military clear zones and accident potential zones"),
    ),
}


def plain_text(text: str) -> str:
    """``text`` with abbreviations, units after numbers and model names in words.

    Examples
    --------
    >>> plain_text("Max PGA (g), 2% in 50 years over the parcel")
    'Highest peak ground acceleration, 2% in 50 years over the parcel'
    >>> plain_text("Target households expected to choose the site (Huff)")
    'Target households expected to choose the site (Huff model)'
    >>> plain_text("Distance to nearest faults")
    'Distance to the nearest fault'
    """
    out = str(text)
    for pattern, replacement in _PLAIN:
        out = re.sub(pattern, replacement, out)
    return out


def unit_words(unit: str) -> str:
    """A unit written out: ``min`` -> ``minutes``, ``vehicles/day`` -> ``vehicles a day``."""
    unit = str(unit or "").strip()
    if unit in UNIT_WORDS:
        return UNIT_WORDS[unit]
    return unit.replace("/day", " a day")


def criterion_label(criterion: CriterionInfo) -> str:
    """The criterion's label in plain words, without its unit."""
    return plain_text(criterion.label)


def criterion_heading(criterion: CriterionInfo) -> str:
    """The one name of a criterion in the outputs: its plain label and unit.

    The unit is appended (``, in minutes``) unless the label already says it
    (``Target households reached`` counts households).

    Examples
    --------
    >>> info = CriterionInfo("a", "network_time", "Drive time to nearest on-ramp", "min", 1, "")
    >>> criterion_heading(info)
    'Drive time to the nearest on-ramp, in minutes'
    """
    label = criterion_label(criterion)
    words = unit_words(criterion.unit)
    if not words or _says(label, words):
        return label
    return f"{label}, in {words}"


#: Words that, in a label, already say what a count unit counts.
_COUNTED_AS = {"people": ("people", "residents", "persons", "patients", "population", "members")}


def _says(label: str, words: str) -> bool:
    """Whether ``label`` already names the unit (its first word, singular or plural)."""
    first = words.split()[0].lower()
    names = _COUNTED_AS.get(first, (first.rstrip("s"),))
    return any(
        re.search(rf"\b{re.escape(name)}s?\b", label.lower()) is not None for name in names if name
    )


def format_amount(value: Any, unit: str) -> str:
    """A value with its unit in words, as escaped HTML text (``"1.42 minutes"``, ``"12%"``)."""
    text = format_number(value)
    if text == NOT_AVAILABLE or not unit:
        return text
    if unit.strip() == "%":
        return f"{text}%"
    return f"{text} {esc(unit_words(unit))}"


def _quantity(value: float, unit: str) -> str:
    """A bound or transform value with its unit in words (``"2 minutes"``), unescaped."""
    whole = math.isfinite(value) and value == int(value) and abs(value) < 1e15
    text = f"{int(value):,}" if whole else f"{value:g}"
    words = unit_words(unit)
    if not words:
        return text
    return f"{text}%" if unit.strip() == "%" else f"{text} {words}"


def scoring_words(transform: Mapping[str, Any] | None, unit: str, fallback: str = "") -> str:
    """How a raw value becomes a score from 0 to 1, in words.

    Parameters
    ----------
    transform : mapping or None
        The criterion's ``transform`` as configured (``{"fn": "linear", "best": 2,
        "worst": 15}``); None or an unknown ``fn`` gives ``plain_text(fallback)``.
    unit : str
        The raw value's unit.
    fallback : str
        The transform's own description (``CriterionInfo.transform``).

    Examples
    --------
    >>> scoring_words({"fn": "linear", "best": 2, "worst": 15}, "min")
    'full score at 2 minutes or less, none at 15 or more'
    """
    fn = (transform or {}).get("fn")
    t = transform or {}
    try:
        if fn == "linear":
            best, worst = float(t["best"]), float(t["worst"])
            good, bad = ("less", "more") if best < worst else ("more", "less")
            return (
                f"full score at {_quantity(best, unit)} or {good}, none at "
                f"{_quantity(worst, '')} or {bad}"
            )
        if fn == "minmax":
            high = t.get("better", "higher") == "higher"
            return (
                f"relative: full score for the {'highest' if high else 'lowest'} value among "
                f"the candidates, none for the {'lowest' if high else 'highest'}"
            )
        if fn == "logistic":
            return (
                f"S-curve: half score at {_quantity(float(t['midpoint']), unit)}, "
                f"{t.get('better', 'higher')} values score better"
            )
        if fn == "gaussian":
            return (
                f"full score at {_quantity(float(t['ideal']), unit)}, less the farther from it "
                f"(standard deviation {_quantity(float(t['sd']), unit)})"
            )
        if fn == "step":
            steps = [
                f"up to {_quantity(float(b), unit)}: {float(s):g}"
                for b, s in zip(t["breaks"], t["scores"], strict=False)
            ]
            return "in steps: " + ", ".join([*steps, f"above: {float(t['scores'][-1]):g}"])
    except (KeyError, TypeError, ValueError, IndexError):
        pass
    return plain_text(fallback)


PARTIAL = PARTIAL_NOTE
"""What the pipeline appends to a constraint the buildable area handles (``buildable:``)."""


def _without_partial(description: str) -> tuple[str, bool]:
    text = str(description)
    return (text[: -len(PARTIAL)], True) if text.endswith(PARTIAL) else (text, False)


def split_description(description: str) -> tuple[str, str]:
    """A constraint description ``"<label>: <bounds>"`` as (label, bounds text).

    The pipeline describes a constraint as its measurement's label followed by its
    bound fields (``Distance to nearest faults: min_m 150.0``), with
    :data:`PARTIAL` after it when the buildable area handles it; a description
    without such a tail is all label.
    """
    description, _ = _without_partial(description)
    label, sep, tail = str(description).rpartition(": ")
    if sep and _BOUND_TEXT.match(tail):
        return label, tail
    return str(description), ""


def constraint_label(description: str) -> str:
    """What a constraint measures, in plain words (``Distance to the nearest fault``)."""
    return plain_text(split_description(description)[0])


def constraint_rule(
    description: str, kind: str = "", entry: Mapping[str, Any] | None = None, unit: str = ""
) -> str:
    """The bound a constraint imposes, in words (``at least 150 metres``).

    Parameters
    ----------
    description : str
        ``ConstraintInfo.description`` (``<label>: <field> <value>, ...``).
    kind : str
        The constraint's kind (adds what the kind excludes besides the bound,
        e.g. airspace's military zones when ``entry`` sets ``exclude_aicuz``).
    entry : mapping, optional
        The constraint's config entry (as in run.json).
    unit : str
        Unit of bounds named plainly ``min``/``max`` (the measured value's unit).

    Returns
    -------
    str
        ``"at least 0 feet"``, ``"at most 20 minutes"``, ``"between 2 and 5 g"``;
        the plain description when it carries no bounds.
    """
    _, bounds = split_description(description)
    partial = _without_partial(description)[1]
    if not bounds:
        return plain_text(_without_partial(description)[0])
    lower = upper = None
    for part in bounds.split(", "):
        field, _, number = part.partition(" ")
        side, _, suffix = field.partition("_")
        value_unit = _BOUND_UNITS.get(suffix.rsplit("_", 1)[-1], unit) if suffix else unit
        quantity = _quantity(float(number), value_unit)
        if side == "min":
            lower = quantity
        else:
            upper = quantity
    if lower and upper:
        rule = f"between {lower} and {upper}"
    else:
        rule = f"at least {lower}" if lower else f"at most {upper}"
    for flag, words in _KIND_EXTRAS.get(kind, ()):
        if entry and entry.get(flag):
            rule += f", {words}"
    if partial:
        rule += "; where it fails, that part of the parcel is not counted as buildable"
    return rule


def site_label(row: Mapping[str, Any] | pd.Series) -> str:
    """A site's name where the parcel has one, else ``Site <id>`` (unescaped).

    Reads ``site_name`` (optional; see :mod:`siteselect.decision.results`) and
    ``candidate_id``.
    """
    name = row.get("site_name")
    if not is_missing(name) and str(name).strip():
        return str(name).strip()
    return f"Site {row.get('candidate_id')}"


def has_name(row: Mapping[str, Any] | pd.Series) -> bool:
    """Whether ``row`` carries a non-empty ``site_name``."""
    name = row.get("site_name")
    return not is_missing(name) and bool(str(name).strip())


def differs(a: Any, b: Any, relative: float = 0.02) -> bool:
    """Whether two numbers differ materially: by more than ``relative`` of the larger.

    Missing against present differs; two missing values do not.
    """
    try:
        x, y = float(a), float(b)
    except (TypeError, ValueError):
        return is_missing(a) != is_missing(b)
    if math.isnan(x) or math.isnan(y):
        return math.isnan(x) != math.isnan(y)
    scale = max(abs(x), abs(y))
    return scale > 0 and abs(x - y) > relative * scale
