"""Why #1 beats #2, and how sure #1 is: the report's comparison, read from the candidate table.

:func:`compare` reads the two best rows of ``RunResult.candidates`` and returns
every material difference, generically for any criterion set:

- each criterion whose contribution to the total differs by at least
  :data:`MATERIAL_SCORE` (or whose measured value differs by more than
  :data:`MATERIAL_RELATIVE` without changing the score, e.g. both beyond the
  value that scores 1);
- each flag column a kind writes that differs between the two (:data:`FLAGS`):
  ``<airspace entry>_faa_notice_required``, ``<competition entry>_cannibalised``
  (households or patients taken from the owner's own hospitals),
  ``buildable_acres`` and ``<visibility entry>_vehicles_per_day`` (or
  ``_people_per_day``) when no criterion already shows it.

:func:`why_section` renders them as a sentence and a table;
:func:`sensitivity_sentence` states ``RunResult.sensitivity`` in words (nothing
when the run did not compute it).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from siteselect.decision.results import CriterionInfo, RunResult
from siteselect.outputs.labels import (
    criterion_heading,
    differs,
    format_amount,
    plain_text,
    site_label,
    unit_words,
)
from siteselect.outputs.map.popup import esc, format_number, is_missing

#: Smallest difference in contribution (score points of the 0..1 total) named.
MATERIAL_SCORE = 0.001
#: Smallest relative difference of two measured values (or flag amounts) named.
MATERIAL_RELATIVE = 0.02
MINUS = "\u2212"


@dataclass(frozen=True)
class Difference:
    """One way #1 and #2 differ.

    Attributes
    ----------
    label : str
        What differs (plain words, unescaped).
    first, second : str
        The two sites' values (escaped HTML).
    effect : str
        Escaped HTML: the score points gained or lost by #1 (criteria), or empty.
    sentence : str
        Escaped HTML sentence for the summary paragraph (may be empty).
    note : str
        Escaped HTML detail (e.g. where the building is seen from), may be empty.
    """

    label: str
    first: str
    second: str
    effect: str = ""
    sentence: str = ""
    note: str = ""


def _number(value: Any) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return math.nan
    return number


def criterion_differences(
    best: pd.Series, second: pd.Series, criteria: Sequence[CriterionInfo]
) -> list[Difference]:
    """Criteria where #1 and #2 differ materially, largest effect on the total first."""
    found: list[tuple[float, Difference]] = []
    for c in criteria:
        gain = _number(best.get(f"contrib_{c.name}")) - _number(second.get(f"contrib_{c.name}"))
        raw1, raw2 = best.get(f"raw_{c.name}"), second.get(f"raw_{c.name}")
        scored = math.isfinite(gain) and abs(gain) >= MATERIAL_SCORE
        if not scored and not differs(raw1, raw2, MATERIAL_RELATIVE):
            continue
        heading = criterion_heading(c)
        if scored:
            effect = ("+" if gain > 0 else MINUS) + f"{abs(gain):.3f}"
            side = "gains" if gain > 0 else "loses"
            sentence = f"{side} {abs(gain):.3f} on {esc(heading[:1].lower() + heading[1:])}"
        else:
            effect, sentence = "none (same score)", ""
        seen = [best.get(f"{c.name}_seen_from"), second.get(f"{c.name}_seen_from")]
        note = ""
        if all(isinstance(s, str) and s for s in seen):
            note = f"#1 {esc(plain_text(seen[0]))}; #2 {esc(plain_text(seen[1]))}"
        found.append(
            (
                abs(gain) if scored else -1.0,
                Difference(
                    heading,
                    format_amount(raw1, c.unit),
                    format_amount(raw2, c.unit),
                    effect,
                    sentence,
                    note,
                ),
            )
        )
    found.sort(key=lambda item: -item[0])
    return [d for _, d in found]


def _entry_unit(result: RunResult, entry: str, default: str) -> str:
    """The unit a config entry counts in: its criterion's unit, its ``unit`` key, or ``default``."""
    for c in result.criteria:
        if c.name == entry:
            return c.unit
    config = result.manifest.get("config") or {}
    for section in ("criteria", "constraints"):
        spec = (config.get(section) or {}).get(entry)
        if isinstance(spec, dict) and spec.get("unit"):
            return str(spec["unit"])
    return default


def _faa(result: RunResult, column: str, best: pd.Series, second: pd.Series) -> Difference | None:
    first, other = best.get(column), second.get(column)
    if is_missing(first) or is_missing(other) or bool(first) == bool(other):
        return None
    yes_no = {True: "required", False: "not required"}
    needs, without = ("#1", "#2") if bool(first) else ("#2", "#1")
    return Difference(
        "FAA notice of proposed construction (Form 7460-1)",
        yes_no[bool(first)],
        yes_no[bool(other)],
        sentence=f"{needs} needs an FAA notice of proposed construction and {without} does not",
    )


def _cannibalised(
    result: RunResult, column: str, best: pd.Series, second: pd.Series
) -> Difference | None:
    first, other = best.get(column), second.get(column)
    if not differs(first, other, MATERIAL_RELATIVE):
        return None
    unit = unit_words(_entry_unit(result, column.removesuffix("_cannibalised"), "patients"))
    return Difference(
        f"{unit.capitalize()} taken from the owner's own hospitals",
        format_amount(first, unit),
        format_amount(other, unit),
        sentence=(
            f"#1 takes {format_number(first)} {esc(unit)} from the owner's own hospitals, "
            f"#2 {format_number(other)}"
        ),
    )


def _buildable(
    result: RunResult, column: str, best: pd.Series, second: pd.Series
) -> Difference | None:
    first, other = best.get(column), second.get(column)
    if not differs(first, other, MATERIAL_RELATIVE):
        return None
    return Difference(
        "Buildable acres",
        format_amount(first, "acres"),
        format_amount(other, "acres"),
        sentence=f"#1 has {format_number(first)} buildable acres, #2 {format_number(other)}",
    )


def _exposure(
    result: RunResult, column: str, best: pd.Series, second: pd.Series
) -> Difference | None:
    what = "people" if column.endswith("_people_per_day") else "vehicles"
    entry = column[: -len(f"_{what}_per_day")]
    first, other = best.get(column), second.get(column)
    if not differs(first, other, MATERIAL_RELATIVE):
        return None
    for c in result.criteria:  # already a criterion row when its raw value is this count
        raw = f"raw_{c.name}"
        if c.name == entry and not differs(best.get(raw), first, 1e-6):
            return None
    seen = [best.get(f"{entry}_seen_from"), second.get(f"{entry}_seen_from")]
    note = ""
    if all(isinstance(s, str) and s for s in seen):
        note = f"#1 {esc(plain_text(seen[0]))}; #2 {esc(plain_text(seen[1]))}"
    unit = f"{what} a day"
    return Difference(
        f"{what.capitalize()} a day that see the building",
        format_amount(first, unit),
        format_amount(other, unit),
        sentence=(
            f"#1 is seen by about {format_number(first)} {what} a day, #2 by {format_number(other)}"
        ),
        note=note,
    )


Reader = Callable[[RunResult, str, pd.Series, pd.Series], Difference | None]

#: Flag columns (regular expression on the column name) and how each is compared.
FLAGS: tuple[tuple[str, Reader], ...] = (
    (r".+_faa_notice_required$", _faa),
    (r".+_cannibalised$", _cannibalised),
    (r"^buildable_acres$", _buildable),
    (r".+_(vehicles|people)_per_day$", _exposure),
)


def flag_differences(result: RunResult, best: pd.Series, second: pd.Series) -> list[Difference]:
    """Every flag column of the candidate table on which #1 and #2 differ."""
    found = []
    for column in result.candidates.columns:
        for pattern, reader in FLAGS:
            if re.match(pattern, str(column)):
                difference = reader(result, str(column), best, second)
                if difference is not None:
                    found.append(difference)
                break
    return found


def sensitivity_sentence(result: RunResult, best: pd.Series) -> str:
    """How sure #1 is, as escaped HTML; empty when the run did not compute it.

    Uses ``sensitivity["statement"]`` when present; otherwise composes one from
    ``p_rank1`` (the share of plausible weightings in which #1 stays first) and
    the first entry of ``critical`` (the smallest weight change that changes #1).
    """
    sensitivity = result.sensitivity
    if not sensitivity:
        return ""
    statement = sensitivity.get("statement")
    if isinstance(statement, str) and statement.strip():
        return esc(statement.strip())
    parts = []
    share = (sensitivity.get("p_rank1") or {}).get(str(best.get("candidate_id")))
    if share is not None and not is_missing(share):
        parts.append(f"#1 stays first in {100 * float(share):.0f}% of plausible weightings")
    critical = sensitivity.get("critical") or []
    if critical and isinstance(critical[0], dict):
        parts.append(_critical_words(result, critical[0]))
    return esc("; ".join(p for p in parts if p) + ".") if any(parts) else ""


def _critical_words(result: RunResult, item: dict[str, Any]) -> str:
    """``another site leads if the <label> weight rises by 15%``."""
    name = str(item.get("criterion", ""))
    label = item.get("label") or next(
        (criterion_heading(c) for c in result.criteria if c.name == name), name
    )
    leader_id = item.get("new_leader")
    leader = "another site"
    if leader_id is not None:
        rows = result.candidates[result.candidates["candidate_id"].astype(str) == str(leader_id)]
        leader = site_label(rows.iloc[0]) if len(rows) else f"Site {leader_id}"
    up, down = _number(item.get("increase_to_flip")), _number(item.get("decrease_to_flip"))
    changes = []
    if math.isfinite(up):
        changes.append(f"rises by {100 * up:.0f}%")
    if math.isfinite(down):
        changes.append(f"falls by {100 * down:.0f}%")
    if not changes:
        return ""
    return f"{leader} leads if the weight of {label[:1].lower() + label[1:]} " + " or ".join(
        changes
    )


def why_section(result: RunResult, top: pd.DataFrame) -> str:
    """The "Why #1 beats #2" section: a summary sentence and the table of differences."""
    if len(top) < 2:
        return ""
    best, second = top.iloc[0], top.iloc[1]
    criteria = criterion_differences(best, second, result.criteria)
    flags = flag_differences(result, best, second)
    sentences = [d.sentence for d in flags if d.sentence]
    rows = "".join(
        f"<tr{' class=noted' if d.note else ''}><td>{esc(d.label)}</td>"
        f'<td class="num">{d.first}</td><td class="num">{d.second}</td>'
        f'<td class="num">{esc(d.effect)}</td></tr>'
        + (f'<tr class="note"><td colspan="4" class="muted">{d.note}</td></tr>' if d.note else "")
        for d in [*criteria, *flags]
    )
    table = (
        '<table class="why"><thead><tr><th>What differs</th><th class="num">#1</th>'
        '<th class="num">#2</th><th class="num">Effect on #1\'s score</th></tr></thead>'
        f"<tbody>{rows}</tbody></table>"
        if rows
        else "<p>The two sites do not differ materially on any criterion or flag.</p>"
    )
    sure = sensitivity_sentence(result, best)
    return (
        '<section class="keep"><h2>Why #1 beats #2</h2>'
        + (f"<p>{'. '.join(sentences)}.</p>" if sentences else "")
        + (f'<p class="sure"><b>How sure:</b> {sure}</p>' if sure else "")
        + table
        + "</section>"
    )
