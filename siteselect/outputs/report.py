"""Executive summary of a scoring run: ``report.html``, one self-contained file.

:func:`build_report` returns the HTML; :func:`write_report` writes it. The page
answers, in reading order: what was asked (the config's name, with the date, tool
version and config file), what the answer is (the #1 site), why it beats #2
(:mod:`siteselect.outputs.report_why`), the criterion contributions of the top
sites, a map thumbnail, the top sites, the assumptions, the criteria and weights,
what the hard constraints removed, and the data sources with their SHA-256
(:mod:`siteselect.outputs.report_sources`). Everything is named in plain words by
:mod:`siteselect.outputs.labels`. Figures are PNGs drawn with matplotlib
(:mod:`siteselect.outputs.figures`) and embedded as ``data:`` URIs; there is no
script and no external reference.

Every value from the input data or the config is HTML-escaped
(:func:`siteselect.outputs.map.popup.esc`).

No PDF: the maintained HTML-to-PDF libraries (WeasyPrint) need system Pango and
Cairo libraries, which the project does not otherwise install; the print
stylesheet makes any browser's "Print to PDF" give a clean 3-page document for
the demo (tests/test_report_pdf.py prints it with headless Chromium).
"""

from __future__ import annotations

import logging
import pathlib
import re
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from siteselect.decision.exclusions import ExclusionCause
from siteselect.decision.results import CriterionInfo, RunResult
from siteselect.decision.scoring import weight_shares
from siteselect.outputs.figures import contributions_chart, map_thumbnail, png_data_uri
from siteselect.outputs.labels import (
    constraint_label,
    constraint_rule,
    criterion_heading,
    has_name,
    plain_text,
    scoring_words,
    site_label,
)
from siteselect.outputs.map.popup import esc, format_number, format_score
from siteselect.outputs.report_sources import assumptions_section, meta_line, sources_section
from siteselect.outputs.report_why import why_section

LOG = logging.getLogger(__name__)

REPORT_CSS = """
body { font-family: "Helvetica Neue", Arial, sans-serif; color: #1f2937; margin: 0;
  background: #f3f4f6; }
main { max-width: 1000px; margin: 0 auto; padding: 24px 32px 40px; background: #fff; }
h1 { font-size: 24px; margin: 0 0 4px; }
h2 { font-size: 17px; margin: 24px 0 8px; border-bottom: 2px solid #fed7aa; padding-bottom: 3px; }
p { line-height: 1.45; }
.subtitle { color: #4b5563; margin: 0 0 4px; }
.meta { color: #6b7280; font-size: 12px; margin: 0 0 12px; }
.answer { background: #fff7ed; border-left: 4px solid #c2410c; padding: 10px 14px;
  font-size: 15px; line-height: 1.45; }
.sure { background: #f0f9ff; border-left: 4px solid #0369a1; padding: 6px 12px; }
figure { margin: 0 0 12px; }
figcaption { font-size: 12px; color: #6b7280; margin-top: 4px; }
img { max-width: 100%; border: 1px solid #e5e7eb; }
table { border-collapse: collapse; font-size: 13px; width: 100%; }
th { text-align: left; color: #6b7280; font-weight: 600; border-bottom: 1px solid #d1d5db;
  padding: 4px 8px 4px 0; vertical-align: bottom; }
td { padding: 4px 8px 4px 0; border-bottom: 1px solid #f3f4f6; vertical-align: top; }
tr.noted td { border-bottom: none; padding-bottom: 0; }
tr.note td { padding-top: 0; }
table.weights td:first-child { width: 46%; }
table.why tr:not(.note) td:first-child { width: 46%; }
table.top th { font-size: 11px; line-height: 1.25; }
.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
table.top th.num { white-space: normal; }
.rank { display: inline-block; min-width: 20px; height: 20px; border-radius: 10px;
  background: #c2410c; color: #fff; font-weight: 700; text-align: center; line-height: 20px; }
.muted { color: #6b7280; font-size: 12px; }
.hash code { font-size: 10px; word-break: break-all; }
.stats { display: flex; gap: 24px; margin: 8px 0 0; }
.stat b { display: block; font-size: 22px; }
@page { size: letter; margin: 12mm 12mm 14mm; }
@media print {
  body { background: #fff; font-size: 12px; -webkit-print-color-adjust: exact;
    print-color-adjust: exact; }
  main { max-width: none; padding: 0; }
  h1 { font-size: 20px; }
  h2 { font-size: 14px; margin: 12px 0 5px; break-after: avoid; page-break-after: avoid; }
  p, figcaption { orphans: 3; widows: 3; }
  .answer { font-size: 13px; padding: 8px 12px; }
  .stats { gap: 18px; margin: 4px 0 0; }
  .stat b { display: inline; font-size: 15px; margin-right: 4px; }
  table { font-size: 10.5px; }
  td { padding: 3px 8px 3px 0; }
  table.sources { font-size: 9.5px; }
  table.sources td { padding: 1.5px 8px 1.5px 0; }
  table.top th { font-size: 9px; }
  .muted { font-size: 10px; }
  thead { display: table-header-group; }
  tr, figure, .keep, .answer, .sure { break-inside: avoid; page-break-inside: avoid; }
  .figure-map img { max-height: 72mm; width: auto; }
  table.top td.site { min-width: 38mm; }
  .figure-chart img { max-height: 64mm; width: auto; }
  .screen-only { display: none; }
}
"""


def build_report(result: RunResult) -> str:
    """The executive summary of ``result`` as one HTML document.

    Parameters
    ----------
    result : RunResult
        A finished run.

    Returns
    -------
    str
        A complete HTML page with its figures embedded.
    """
    top = result.top()
    sections = [
        _header(result),
        _answer(result, top),
        why_section(result, top),
        _chart_figure(result, top),
        _map_figure(result),
        _top_table(top, result.criteria),
        assumptions_section(result),
        _weights(result),
        _constraints(result),
        sources_section(result),
        '<p class="muted screen-only">The interactive map (<code>map.html</code>, same folder) '
        "shows every site, the exclusion zones and the reasons, and lets you change the "
        "weights.</p>",
    ]
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{esc(result.title)} \u2014 executive summary</title>"
        f"<style>{REPORT_CSS}</style></head><body><main>"
        + "\n".join(s for s in sections if s)
        + "</main></body></html>\n"
    )


def write_report(result: RunResult, path: pathlib.Path) -> None:
    """Write :func:`build_report` of ``result`` to ``path`` (UTF-8)."""
    pathlib.Path(path).write_text(build_report(result), encoding="utf-8")
    LOG.info("wrote report %s (%.2f MB)", path, pathlib.Path(path).stat().st_size / 1e6)


def _counts(result: RunResult) -> tuple[int, int, int]:
    """(candidates, excluded, ranked)."""
    cands = result.candidates
    excluded = int(cands["excluded"].fillna(False).astype(bool).sum()) if len(cands) else 0
    return len(cands), excluded, int(cands["rank"].notna().sum())


def _header(result: RunResult) -> str:
    total, excluded, ranked = _counts(result)
    stats = "".join(
        f'<div class="stat"><b>{value:,}</b><span class="muted">{label}</span></div>'
        for value, label in (
            (total, "candidate parcels"),
            (excluded, "excluded"),
            (ranked, "ranked"),
            (len(result.criteria), "weighted criteria"),
        )
    )
    meta = meta_line(result)
    return (
        f"<h1>{esc(result.title)}</h1>"
        '<p class="subtitle">Executive summary of the site-selection run: where to build, '
        "and why.</p>"
        + (f'<p class="meta">{meta}</p>' if meta else "")
        + f'<div class="stats">{stats}</div>'
    )


def site_cell(row: pd.Series) -> str:
    """Escaped site name, with the parcel id below it when the site has a name."""
    if has_name(row):
        return f'{esc(site_label(row))}<br><span class="muted">{esc(row["candidate_id"])}</span>'
    return esc(row["candidate_id"])


def _named(row: pd.Series) -> str:
    """``<b>Name</b> (parcel 123)`` or ``<b>Site 123</b>``, escaped."""
    if has_name(row):
        return f"<b>{esc(site_label(row))}</b> (parcel {esc(row['candidate_id'])})"
    return f"<b>{esc(site_label(row))}</b>"


def _answer(result: RunResult, top: pd.DataFrame) -> str:
    """One paragraph: the #1 site, its score, and its lead over #2."""
    if top.empty:
        return '<h2>Answer</h2><p class="answer">No candidate passes every hard constraint.</p>'
    best = top.iloc[0]
    text = (
        f"{_named(best)} ranks first with a total score of "
        f"<b>{format_score(best['total_score'])}</b> of 1 "
        f"({format_number(best.get('area_acres'))} acres)."
    )
    if len(top) > 1:
        second = top.iloc[1]
        gap = float(best["total_score"]) - float(second["total_score"])
        lead = _leading_criteria(best, second, result.criteria)
        margin = f"by {gap:.3f}" if gap >= 0.001 else "by less than 0.001 (a near tie)"
        text += f" It leads {_named(second)}, #2, {margin}" + (
            f", mainly on {lead}." if lead else "."
        )
        text += _distinct_note(result, second)
    return f'<h2>Answer</h2><p class="answer">{text}</p>'


def _distinct_note(result: RunResult, second: pd.Series) -> str:
    """Why "#2" is not rank 2, when the sites between lie next to a better one (distinct sites)."""
    rank = second.get("rank")
    if rank is None or pd.isna(rank) or int(rank) == 2:
        return ""
    separation = result.manifest.get("diagnostics", {}).get("separation", {})
    distance = separation.get("min_separation_m")
    within = f"within {format_number(distance)} metres of" if distance else "next to"
    between = (
        f"the site ranked 2 lies {within} #1"
        if int(rank) == 3
        else f"the sites ranked 2 to {int(rank) - 1} lie {within} a better one"
    )
    return f" (#2 is the next distinct site, ranked {int(rank)}: {between}; sites.csv lists them.)"


def _leading_criteria(best: pd.Series, second: pd.Series, criteria: Sequence[CriterionInfo]) -> str:
    """Escaped phrase naming the (up to two) criteria where #1 gains most over #2."""
    gains = []
    for c in criteria:
        diff = float(best.get(f"contrib_{c.name}", np.nan)) - float(
            second.get(f"contrib_{c.name}", np.nan)
        )
        if np.isfinite(diff) and diff > 0:
            gains.append((diff, c))
    gains.sort(key=lambda item: -item[0])
    parts = [f"{esc(lower_first(criterion_heading(c)))} (+{diff:.3f})" for diff, c in gains[:2]]
    return " and ".join(parts)


def lower_first(text: str) -> str:
    """``text`` with its first letter in lower case (mid-sentence use), acronyms kept."""
    if len(text) > 1 and text[1].isupper():
        return text
    return text[:1].lower() + text[1:]


def _map_figure(result: RunResult) -> str:
    thumbnail = png_data_uri(map_thumbnail(result))
    return (
        '<section class="keep"><h2>Where</h2>'
        f'<figure class="figure-map"><img alt="Map of the candidate sites" src="{thumbnail}">'
        "<figcaption>The candidate sites by total score, the top sites numbered by rank."
        "</figcaption></figure>"
        "</section>"
    )


def _chart_figure(result: RunResult, top: pd.DataFrame) -> str:
    if top.empty:
        return ""
    chart = png_data_uri(contributions_chart(result))
    return (
        '<figure class="figure-chart keep">'
        f'<img alt="Score contributions of the top sites" src="{chart}">'
        "<figcaption>What each criterion adds to the total score of the top "
        "sites.</figcaption></figure>"
    )


def _top_table(top: pd.DataFrame, criteria: Sequence[CriterionInfo]) -> str:
    """Ranked table: total, then per criterion the measured value and its contribution."""
    heads = "".join(
        f'<th class="num" title="{esc(c.transform)}">{esc(criterion_heading(c))}</th>'
        for c in criteria
    )
    rows = []
    for _, row in top.iterrows():
        cells = "".join(
            f'<td class="num">{format_number(row.get(f"raw_{c.name}"))} '
            f'<span class="muted">+{format_score(row.get(f"contrib_{c.name}"))}</span></td>'
            for c in criteria
        )
        rows.append(
            f'<tr><td><span class="rank">{int(row["rank"])}</span></td>'
            f'<td class="site">{site_cell(row)}</td>'
            f'<td class="num"><b>{format_score(row["total_score"])}</b></td>'
            f'<td class="num">{format_number(row.get("area_acres"))}</td>{cells}</tr>'
        )
    return (
        f'<section class="keep"><h2>Top {len(top)} sites</h2>'
        '<p class="muted">Each criterion shows the measured value and, after it in grey, its '
        "contribution to the total score (0 to 1).</p>"
        '<table class="top"><thead><tr><th>#</th><th>Site</th>'
        '<th class="num">Total score</th><th class="num">Area, in acres</th>'
        f"{heads}</tr></thead><tbody>{''.join(rows)}</tbody></table></section>"
    )


def _config_entry(result: RunResult, section: str, name: str) -> dict[str, Any]:
    """A config entry as run.json records it (empty for hand-built results)."""
    entry = ((result.manifest or {}).get("config") or {}).get(section, {}).get(name)
    return entry if isinstance(entry, dict) else {}


def _constraint_unit(result: RunResult, entry: dict[str, Any]) -> str:
    """Unit of a constraint's plain ``min``/``max`` bound, from its config entry."""
    if entry.get("unit"):
        return str(entry["unit"])
    if entry.get("kind") == "visibility":
        return f"{entry.get('count', 'vehicles')}/day"
    layer = ((result.manifest or {}).get("config") or {}).get("layers", {}).get(entry.get("layer"))
    return str(layer.get("units") or "") if isinstance(layer, dict) else ""


def _constraint_words(result: RunResult) -> dict[str, tuple[str, str]]:
    """Constraint name -> (what it measures, its rule), in plain words."""
    words = {}
    for c in result.constraints:
        entry = _config_entry(result, "constraints", c.name)
        unit = _constraint_unit(result, entry)
        words[c.name] = (
            constraint_label(c.description),
            constraint_rule(c.description, c.kind, entry, unit),
        )
    return words


def _constraints(result: RunResult) -> str:
    """What each hard constraint and each missing value excluded, adding up to the total."""
    total, excluded, _ = _counts(result)
    account = result.exclusions
    if account is None:
        return _constraints_without_account(result, total, excluded)
    heading = "<h2>Hard constraints and missing values</h2>"
    if not account.causes:
        return heading + "<p>No hard constraint was applied and no value was missing.</p>"
    words = _constraint_words(result)

    def name_of(cause: ExclusionCause) -> str:
        if cause.kind == "constraint":
            return words.get(cause.key, (plain_text(cause.description), ""))[0]
        return "No value: " + plain_text(cause.description)

    def rule_of(cause: ExclusionCause) -> str:
        if cause.kind == "constraint":
            return words.get(cause.key, ("", plain_text(cause.description)))[1]
        return "a parcel without a value cannot be scored"

    def share(count: int) -> str:
        return f"{100 * count / total if total else 0:.1f}%"

    rows = "".join(
        f"<tr><td>{esc(name_of(c))}</td><td>{esc(rule_of(c))}</td>"
        f'<td class="num">{c.fails:,}</td><td class="num">{c.only:,}</td>'
        f'<td class="num">{share(c.fails)}</td></tr>'
        for c in account.causes
    )
    plain = {c.short: name_of(c) for c in account.causes}
    combos = "; ".join(
        " + ".join(plain.get(part, plain_text(part)) for part in combo.split(" + "))
        + f": {count:,}"
        for combo, count in account.combinations.items()
    )
    rows += (
        f'<tr><td>Several causes</td><td class="muted">{esc(combos) or "none"}</td>'
        f'<td class="num"></td><td class="num">{account.by_several_causes:,}</td>'
        f'<td class="num">{share(account.by_several_causes)}</td></tr>'
        f'<tr><td><b>Total excluded</b></td><td></td><td class="num"></td>'
        f'<td class="num"><b>{account.excluded:,}</b></td>'
        f'<td class="num"><b>{share(account.excluded)}</b></td></tr>'
    )
    return (
        '<section class="keep">' + heading + f"<p>{excluded:,} of {total:,} parcels are excluded. "
        "<i>Excludes</i> counts every parcel a cause excludes, <i>Only this</i> those it alone "
        "excludes; parcels with several causes are counted once, so <i>Only this</i> adds up to "
        "the total.</p>"
        '<table><thead><tr><th>What is measured</th><th>Rule</th><th class="num">Excludes</th>'
        '<th class="num">Only this</th><th class="num">Share</th></tr></thead>'
        f"<tbody>{rows}</tbody></table>{_airports(result)}</section>"
    )


def _constraints_without_account(result: RunResult, total: int, excluded: int) -> str:
    """The constraint table of a hand-built result (no exclusion account)."""
    if not result.constraints:
        return "<h2>Hard constraints</h2><p>No hard constraint was applied.</p>"
    words = _constraint_words(result)
    rows = "".join(
        f"<tr><td>{esc(words[c.name][0])}</td><td>{esc(words[c.name][1])}</td>"
        f'<td class="num">{c.excluded_count:,}</td>'
        f'<td class="num">{100 * c.excluded_count / total if total else 0:.1f}%</td></tr>'
        for c in result.constraints
    )
    return (
        '<section class="keep"><h2>Hard constraints</h2>'
        f"<p>{excluded:,} of {total:,} parcels are excluded. A parcel failing several "
        "constraints counts under each, and parcels missing a criterion value are excluded "
        "too, so the rows need not add up to the total.</p>"
        '<table><thead><tr><th>What is measured</th><th>Rule</th><th class="num">Parcels removed'
        f'</th><th class="num">Share</th></tr></thead><tbody>{rows}</tbody></table>'
        f"{_airports(result)}</section>"
    )


def _airports(result: RunResult) -> str:
    """The airports whose Part 77 / UFC height limits were applied, and those left out and why."""
    selections = (result.manifest or {}).get("diagnostics", {}).get("airports") or []
    parts = []
    for selection in selections:
        applied = [f"{esc(a['name'])} ({esc(a['ident'])})" for a in selection["applied"]]
        left_out = [
            f"{esc(a['name'])} ({esc(a['ident'])}: {esc(airport_reason(a['reason']))})"
            for a in selection["left_out"]
        ]
        text = (
            f"<b>Airspace:</b> the height limits around {len(applied):,} airport(s) apply: "
            f"{'; '.join(applied)}."
            if applied
            else "<b>Airspace:</b> the height limits of no airport apply."
        )
        text += f" Left out: {'; '.join(left_out)}." if left_out else " No airport was left out."
        parts.append(f"<p>{text}</p>")
    return "".join(parts)


#: The airport filter's reasons (config words) in plain words, in the order applied.
_AIRPORT_REASONS = (
    (r" ?\(add it to airports_filter\.types to apply it\)", ", a type not applied by default"),
    (r"not in airports_filter\.types", "not among the types applied"),
    (r" ?\(airports_filter\.\w+\)", ""),
    (r"^airports_filter\.exclude$", "left out by the configuration"),
    (r"^airports_filter\.include$", "included by the configuration"),
    (r"_", " "),
)


def airport_reason(reason: object) -> str:
    """Why an airport's height limits apply or not, without the filter's config keys."""
    text = str(reason)
    for pattern, replacement in _AIRPORT_REASONS:
        text = re.sub(pattern, replacement, text)
    return text


def _weights(result: RunResult) -> str:
    criteria = result.criteria
    shares = weight_shares([c.weight for c in criteria]) if criteria else []
    rows = "".join(
        f"<tr><td>{esc(criterion_heading(c))}</td><td>{esc(_scoring(result, c))}</td>"
        f'<td class="num">{esc(f"{c.weight:g}")}</td>'
        f'<td class="num">{100 * share:.0f}%</td></tr>'
        for c, share in zip(criteria, shares, strict=True)
    )
    return (
        '<section class="keep"><h2>Criteria and weights</h2>'
        "<p>Each criterion's value becomes a score from 0 (worst) to 1 (best); the total "
        "is the weighted average of the scores.</p>"
        '<table class="weights"><thead><tr><th>Criterion</th><th>Scoring</th>'
        '<th class="num">Weight</th><th class="num">Share</th></tr></thead>'
        f"<tbody>{rows}</tbody></table></section>"
    )


def _scoring(result: RunResult, criterion: CriterionInfo) -> str:
    """How the criterion is scored, in words (from its configured transform)."""
    transform = _config_entry(result, "criteria", criterion.name).get("transform")
    return scoring_words(
        transform if isinstance(transform, dict) else None, criterion.unit, criterion.transform
    )
