"""Executive summary of a scoring run: ``report.html``, one self-contained file.

:func:`build_report` returns the HTML; :func:`write_report` writes it. The page
answers, in reading order: what was asked (the config's name), what the answer
is (the #1 site and why it beats #2), the top sites with each criterion's
contribution, a map thumbnail, which hard constraints removed how many parcels,
and the weights. Figures are PNGs drawn with matplotlib
(:mod:`siteselect.outputs.figures`) and embedded as ``data:`` URIs; there is no
script and no external reference.

Every value from the input data or the config is HTML-escaped
(:func:`siteselect.outputs.map.popup.esc`).

No PDF: the maintained HTML-to-PDF libraries (WeasyPrint) need system Pango and
Cairo libraries, which the project does not otherwise install; the report prints
cleanly to PDF from any browser (a print stylesheet is included).
"""

from __future__ import annotations

import logging
import pathlib
from collections.abc import Sequence

import numpy as np
import pandas as pd

from siteselect.decision.results import CriterionInfo, RunResult
from siteselect.decision.scoring import weight_shares
from siteselect.outputs.figures import contributions_chart, map_thumbnail, png_data_uri
from siteselect.outputs.map.popup import esc, format_number, format_score, format_value

LOG = logging.getLogger(__name__)

REPORT_CSS = """
body { font-family: "Helvetica Neue", Arial, sans-serif; color: #1f2937; margin: 0;
  background: #f3f4f6; }
main { max-width: 1000px; margin: 0 auto; padding: 24px 32px 40px; background: #fff; }
h1 { font-size: 24px; margin: 0 0 4px; }
h2 { font-size: 17px; margin: 28px 0 8px; border-bottom: 2px solid #fed7aa; padding-bottom: 3px; }
.subtitle { color: #4b5563; margin: 0 0 16px; }
.answer { background: #fff7ed; border-left: 4px solid #c2410c; padding: 10px 14px;
  font-size: 15px; line-height: 1.45; }
figure { margin: 0 0 16px; }
figcaption { font-size: 12px; color: #6b7280; margin-top: 4px; }
img { max-width: 100%; border: 1px solid #e5e7eb; }
table { border-collapse: collapse; font-size: 13px; width: 100%; }
th { text-align: left; color: #6b7280; font-weight: 600; border-bottom: 1px solid #d1d5db;
  padding: 4px 8px 4px 0; }
td { padding: 4px 8px 4px 0; border-bottom: 1px solid #f3f4f6; vertical-align: top; }
.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
.rank { display: inline-block; min-width: 20px; height: 20px; border-radius: 10px;
  background: #c2410c; color: #fff; font-weight: 700; text-align: center; line-height: 20px; }
.muted { color: #6b7280; font-size: 12px; }
.stats { display: flex; gap: 24px; margin: 8px 0 0; }
.stat b { display: block; font-size: 22px; }
@media print { body { background: #fff; } main { padding: 0; } h2 { break-after: avoid; }
  table, figure { break-inside: avoid; } }
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
        _figures(result, top),
        _top_table(top, result.criteria),
        _constraints(result),
        _airports(result),
        _weights(result.criteria),
        '<p class="muted">The interactive map (<code>map.html</code>, same folder) shows every '
        "site, the exclusion zones and the reasons, and lets you change the weights.</p>",
    ]
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{esc(result.title)} \u2014 executive summary</title>"
        f"<style>{REPORT_CSS}</style></head><body><main>"
        + "\n".join(sections)
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
    return (
        f"<h1>{esc(result.title)}</h1>"
        '<p class="subtitle">Executive summary of the site-selection run: where to build, '
        f'and why.</p><div class="stats">{stats}</div>'
    )


def _answer(result: RunResult, top: pd.DataFrame) -> str:
    """One paragraph: the #1 site, its score, and what sets it apart from #2."""
    if top.empty:
        return '<h2>Answer</h2><p class="answer">No candidate passes every hard constraint.</p>'
    best = top.iloc[0]
    text = (
        f"<b>Site {esc(best['candidate_id'])}</b> ranks first with a total score of "
        f"<b>{format_score(best['total_score'])}</b> of 1 "
        f"({format_number(best.get('area_acres'))} acres)."
    )
    if len(top) > 1:
        second = top.iloc[1]
        gap = float(best["total_score"]) - float(second["total_score"])
        lead = _leading_criteria(best, second, result.criteria)
        margin = f"by {gap:.3f}" if gap >= 0.001 else "by less than 0.001 (a near tie)"
        text += f" It leads site {esc(second['candidate_id'])} (#2) {margin}" + (
            f", mainly on {lead}." if lead else "."
        )
    return f'<h2>Answer</h2><p class="answer">{text}</p>'


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
    parts = [f"{esc(c.label)} (+{diff:.3f})" for diff, c in gains[:2]]
    return " and ".join(parts)


def _figures(result: RunResult, top: pd.DataFrame) -> str:
    thumbnail = png_data_uri(map_thumbnail(result))
    parts = [
        f'<figure><img alt="Map of the candidate sites" src="{thumbnail}">'
        "<figcaption>Candidate sites coloured by total score (darker green is better), "
        "excluded sites grey, exclusion zones red, top sites numbered.</figcaption></figure>"
    ]
    if not top.empty:
        chart = png_data_uri(contributions_chart(result))
        parts.append(
            f'<figure><img alt="Score contributions of the top sites" src="{chart}">'
            "<figcaption>What each criterion adds to the total score of the top "
            "sites.</figcaption></figure>"
        )
    return "<h2>Where</h2>" + "".join(parts)


def _top_table(top: pd.DataFrame, criteria: Sequence[CriterionInfo]) -> str:
    """Ranked table: total, then per criterion the raw value and its contribution."""
    heads = "".join(
        f'<th class="num" title="{esc(c.label)}: {esc(c.transform)}">{esc(short_name(c))}</th>'
        for c in criteria
    )
    rows = []
    for _, row in top.iterrows():
        cells = "".join(
            f'<td class="num">{format_value(row.get(f"raw_{c.name}"), c.unit)}<br>'
            f'<span class="muted">+{format_score(row.get(f"contrib_{c.name}"))}</span></td>'
            for c in criteria
        )
        rows.append(
            f'<tr><td><span class="rank">{int(row["rank"])}</span></td>'
            f"<td>{esc(row['candidate_id'])}</td>"
            f'<td class="num"><b>{format_score(row["total_score"])}</b></td>'
            f'<td class="num">{format_number(row.get("area_acres"))}</td>{cells}</tr>'
        )
    return (
        f"<h2>Top {len(top)} sites</h2>"
        '<p class="muted">Each criterion shows the measured value and, below it, its '
        "contribution to the total score.</p>"
        '<table><thead><tr><th>#</th><th>Site</th><th class="num">Score</th>'
        f'<th class="num">Acres</th>{heads}</tr></thead><tbody>{"".join(rows)}</tbody></table>'
    )


def short_name(criterion: CriterionInfo) -> str:
    """Column-header name of a criterion: its config key in words (``Freeway access``)."""
    return criterion.name.replace("_", " ").capitalize()


def _constraints(result: RunResult) -> str:
    """What each hard constraint and each missing value excluded, adding up to the total."""
    total, excluded, _ = _counts(result)
    account = result.exclusions
    if account is None:
        return _constraints_without_account(result, total, excluded)
    heading = "<h2>Hard constraints and missing values</h2>"
    if not account.causes:
        return heading + "<p>No hard constraint was applied and no value was missing.</p>"

    def share(count: int) -> str:
        return f"{100 * count / total if total else 0:.1f}%"

    rows = "".join(
        f"<tr><td>{esc(c.key if c.kind == 'constraint' else 'No value')}</td>"
        f"<td>{esc(c.description)}"
        + (
            f'<br><span class="muted">{esc(", ".join(c.entries))}</span>'
            if c.kind != "constraint"
            else ""
        )
        + f'</td><td class="num">{c.fails:,}</td><td class="num">{c.only:,}</td>'
        f'<td class="num">{share(c.fails)}</td></tr>'
        for c in account.causes
    )
    combos = "; ".join(f"{name}: {count:,}" for name, count in account.combinations.items())
    rows += (
        f'<tr><td>Several causes</td><td class="muted">{esc(combos) or "none"}</td>'
        f'<td class="num"></td><td class="num">{account.by_several_causes:,}</td>'
        f'<td class="num">{share(account.by_several_causes)}</td></tr>'
        f'<tr><td><b>Total excluded</b></td><td></td><td class="num"></td>'
        f'<td class="num"><b>{account.excluded:,}</b></td>'
        f'<td class="num"><b>{share(account.excluded)}</b></td></tr>'
    )
    return (
        heading + f"<p>{excluded:,} of {total:,} parcels are excluded. "
        "<i>Excludes</i> counts every parcel a cause excludes; <i>Only this</i> counts those "
        "it alone excludes. Parcels excluded for several causes are counted once, in "
        "<i>Several causes</i>, so the <i>Only this</i> column adds up to the total: "
        f"{esc(account.summary())}.</p>"
        '<table><thead><tr><th>Cause</th><th>Rule</th><th class="num">Excludes</th>'
        '<th class="num">Only this</th><th class="num">Share</th></tr></thead>'
        f"<tbody>{rows}</tbody></table>"
    )


def _constraints_without_account(result: RunResult, total: int, excluded: int) -> str:
    """The constraint table of a hand-built result (no exclusion account)."""
    if not result.constraints:
        return "<h2>Hard constraints</h2><p>No hard constraint was applied.</p>"
    rows = "".join(
        f"<tr><td>{esc(c.name)}</td><td>{esc(c.description)}</td>"
        f'<td class="num">{c.excluded_count:,}</td>'
        f'<td class="num">{100 * c.excluded_count / total if total else 0:.1f}%</td></tr>'
        for c in result.constraints
    )
    return (
        "<h2>Hard constraints</h2>"
        f"<p>{excluded:,} of {total:,} parcels are excluded. A parcel failing several "
        "constraints counts under each, and parcels missing a criterion value are excluded "
        "too, so the rows need not add up to the total.</p>"
        '<table><thead><tr><th>Constraint</th><th>Rule</th><th class="num">Parcels removed'
        f'</th><th class="num">Share</th></tr></thead><tbody>{rows}</tbody></table>'
    )


def _airports(result: RunResult) -> str:
    """The airports whose Part 77 / UFC surfaces were applied, and those left out and why."""
    selections = result.manifest.get("diagnostics", {}).get("airports") or []
    parts = []
    for selection in selections:
        rows = "".join(
            f"<tr><td>{esc(a['ident'])}</td><td>{esc(a['name'])}</td><td>{esc(a['type'])}</td>"
            f'<td class="num">{int(a["runways"])}</td>'
            f"<td>{'applied' if applied else 'left out'}: {esc(a['reason'])}</td></tr>"
            for applied, key in ((True, "applied"), (False, "left_out"))
            for a in selection[key]
        )
        parts.append(
            f"<p>Runway layer <code>{esc(selection['runways_layer'])}</code>: surfaces of "
            f"{len(selection['applied']):,} airport(s) applied, {len(selection['left_out']):,} "
            "left out (<code>airports_filter</code> in the config chooses).</p>"
            "<table><thead><tr><th>Airport</th><th>Name</th><th>Type</th>"
            f'<th class="num">Runways</th><th>Surfaces</th></tr></thead><tbody>{rows}'
            "</tbody></table>"
        )
    if not parts:
        return ""
    return "<h2>Airports whose surfaces apply</h2>" + "".join(parts)


def _weights(criteria: Sequence[CriterionInfo]) -> str:
    shares = weight_shares([c.weight for c in criteria]) if criteria else []
    rows = "".join(
        f"<tr><td>{esc(c.label)}</td><td>{esc(c.transform)}</td>"
        f'<td class="num">{esc(f"{c.weight:g}")}</td>'
        f'<td class="num">{100 * share:.0f}%</td></tr>'
        for c, share in zip(criteria, shares, strict=True)
    )
    return (
        "<h2>Criteria and weights</h2>"
        "<p>Each criterion's value is turned into a score from 0 (worst) to 1 (best); the "
        "total is the weighted average of the scores.</p>"
        '<table><thead><tr><th>Criterion</th><th>Scoring</th><th class="num">Weight</th>'
        f'<th class="num">Share</th></tr></thead><tbody>{rows}</tbody></table>'
    )
