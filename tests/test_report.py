"""The executive summary report.html: content, figures, escaping, one file."""

from __future__ import annotations

import base64
import re
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from siteselect.decision.exclusions import account_exclusions
from siteselect.decision.results import ConstraintInfo, RunResult
from siteselect.outputs import WRITERS
from siteselect.outputs.figures import contributions_chart, map_thumbnail
from siteselect.outputs.labels import plain_text
from siteselect.outputs.map.popup import esc
from siteselect.outputs.report import build_report, write_report
from tests.test_webmap import TEMPLATE_XSS, XSS, make_run_result

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


class _Collector(HTMLParser):
    """Tags, attributes and visible text of a page."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def parse(html: str) -> _Collector:
    collector = _Collector()
    collector.feed(html)
    return collector


@pytest.fixture(scope="module")
def result() -> RunResult:
    result = make_run_result(120, top_n=8, seed=7)
    result.constraints = [
        ConstraintInfo("flood", "zones", "Not in a FEMA flood zone", 14),
        ConstraintInfo("airspace", "airspace", "Below the Part 77 surfaces", 5),
    ]
    return result


@pytest.fixture(scope="module")
def report(result: RunResult) -> str:
    return build_report(result)


def test_report_answers_the_question(report: str, result: RunResult) -> None:
    text = "".join(parse(report).text)
    top = result.top()
    best, second = top.iloc[0], top.iloc[1]
    assert result.title in text
    assert f"Site {best['candidate_id']} ranks first" in text
    assert f"{best['total_score']:.3f}" in text
    assert f"It leads Site {second['candidate_id']}, #2, by" in text


def test_top_table_lists_the_top_sites_with_breakdown(report: str, result: RunResult) -> None:
    table = report[report.index("<h2>Top 8 sites</h2>") : report.index("<h2>Criteria and weights")]
    rows = re.findall(
        r"<tr><td><span class=\"rank\">(\d+)</span></td><td class=\"site\">([^<]+)</td>", table
    )
    top = result.top()
    assert [int(r) for r, _ in rows] == list(range(1, 9))
    assert [cid for _, cid in rows] == list(top["candidate_id"])
    best = top.iloc[0]
    for crit in result.criteria:
        assert f"+{best['contrib_' + crit.name]:.3f}" in table


def test_constraints_and_weights_sections(report: str, result: RunResult) -> None:
    text = "".join(parse(report).text)
    excluded = int(result.candidates["excluded"].sum())
    assert f"{excluded:,} of {len(result.candidates):,} parcels are excluded" in text
    assert "Not in a FEMA flood zone" in text and "Below the Part 77 surfaces" in text
    constraints = report[report.index("<h2>Hard constraints") :]
    assert re.search(r'<td class="num">14</td><td class="num">11.7%</td>', constraints)
    total_weight = sum(c.weight for c in result.criteria)
    for crit in result.criteria:  # no transform config in a hand-built result: its description
        assert plain_text(crit.transform) in text
        assert f"{100 * crit.weight / total_weight:.0f}%" in text


def test_report_is_one_file_with_embedded_pngs(report: str) -> None:
    tags = parse(report).tags
    images = [attrs["src"] for tag, attrs in tags if tag == "img"]
    assert len(images) == 2
    for src in images:
        assert src is not None and src.startswith("data:image/png;base64,")
        assert base64.b64decode(src.split(",", 1)[1]).startswith(PNG_MAGIC)
    assert not [tag for tag, _ in tags if tag in ("script", "link", "iframe")]
    assert "http://" not in report and "https://" not in report


def test_figures_are_reproducible_pngs(result: RunResult) -> None:
    first = map_thumbnail(result)
    assert first.startswith(PNG_MAGIC) and first == map_thumbnail(result)
    assert contributions_chart(result).startswith(PNG_MAGIC)


def test_hostile_values_are_escaped_in_the_report() -> None:
    hostile = make_run_result(60, top_n=5, hostile=True, seed=8)
    hostile.constraints = [ConstraintInfo(XSS, "zones", f"rule {XSS}", 3)]
    html = build_report(hostile)
    assert XSS not in html and "<script" not in html
    assert esc(XSS) in html
    collector = parse(html)
    assert not [tag for tag, _ in collector.tags if tag == "script"]
    visible = " ".join(collector.text)
    assert XSS in visible  # shown literally, as text
    assert TEMPLATE_XSS in visible


def test_hostile_causes_and_airports_are_escaped() -> None:
    hostile = make_run_result(40, top_n=5, seed=9)
    excluded = hostile.candidates["excluded"].to_numpy()
    half = excluded.copy()
    half[np.flatnonzero(excluded)[::2]] = False
    hostile.exclusions = account_exclusions(
        [
            (XSS, "constraint", f"rule {TEMPLATE_XSS}", (f"constraints.{XSS}",), excluded),
            (f"no value: {XSS}", "missing value", XSS, ("criteria.x",), half),
        ],
        len(excluded),
    )
    airport = {"ident": XSS, "name": TEMPLATE_XSS, "type": XSS, "runways": 1, "reason": XSS}
    hostile.manifest = {
        "diagnostics": {
            "airports": [{"runways_layer": XSS, "applied": [airport], "left_out": [dict(airport)]}]
        }
    }
    html = build_report(hostile)
    assert XSS not in html and "<script" not in html and TEMPLATE_XSS not in html
    visible = " ".join(parse(html).text)
    assert XSS in visible and TEMPLATE_XSS in visible
    assert f"{hostile.exclusions.excluded:,} of 40 parcels are excluded" in visible


def test_run_without_ranked_sites_still_reports() -> None:
    result = make_run_result(10)
    result.candidates["excluded"] = True
    result.candidates["rank"] = pd.array([pd.NA] * len(result.candidates), dtype="Int64")
    html = build_report(result)
    assert "No candidate passes every hard constraint" in html


def test_outputs_write_the_report(tmp_path: Path, result: RunResult) -> None:
    assert "report.html" in WRITERS
    path = tmp_path / "report.html"
    write_report(result, path)
    assert path.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")


def test_provenance_line_and_sources_from_the_manifest() -> None:
    result = make_run_result(20, top_n=3, seed=5)
    assert 'class="meta"' not in build_report(result)  # nothing recorded: nothing said
    assert "Data sources" not in build_report(result)
    digest = "ab" * 32
    result.manifest = {
        "created_utc": "2026-11-30T11:07:55+00:00",
        "versions": {"siteselect": "0.0.9"},  # the record of run.json's "siteselect" wins
        "siteselect": {"version": "0.1.0", "git_commit": "0123456789abcdef", "git_dirty": False},
        "inputs": {
            "config": {"path": "/x/configs/county.yaml", "bytes": 4543, "sha256": digest},
            "layers.hazard": {"path": "../layers/pga.tif", "bytes": 2_838_528, "sha256": "c" * 64},
        },
    }
    html = build_report(result)
    text = "".join(parse(html).text)
    assert (
        "Run on 30 November 2026, 11:07 UTC · siteselect 0.1.0 (commit 0123456789) · "
        "configuration county.yaml"
    ) in text
    assert digest in html and "c" * 64 in html
    assert "Configuration" in text and "Data layer" in text and "2.8 MB" in text
    assert "pga.tif" in html and "/x/configs" not in html and "hazard" not in text


def _volumes(**volumes: object) -> dict:
    return {"diagnostics": {"visibility": [{"volumes": volumes}]}}


def test_traffic_volume_assumptions_are_stated() -> None:
    result = make_run_result(20, top_n=3, seed=5)
    assert "Assumptions" not in build_report(result)
    defaults = {"motorway": 105000.0, "primary": 15000.0, "living_street": 500.0}
    result.manifest = _volumes(
        defaults_per_day=defaults, road_km_default={"primary": 518.94}, defaults_source="FHWA"
    )
    text = re.sub(r"\s+", " ", "".join(parse(build_report(result)).text))
    assert (
        "Visibility: no traffic counts were supplied, so default volumes per road class are "
        "assumed: freeways 105,000 vehicles a day, primary roads 15,000 vehicles a day (used on "
        "519 kilometres), living street roads 500 vehicles a day (source: FHWA)."
    ) in text
    result.manifest = {
        **_volumes(layer="aadt", road_km_counted=543.5, defaults_per_day={"primary": 15000.0}),
        "inputs": {"layers.aadt": {"path": "data/aadt_2024.geojson", "sha256": "d" * 64}},
    }
    text = re.sub(r"\s+", " ", "".join(parse(build_report(result)).text))
    assert (
        "traffic volumes are the counts supplied (aadt_2024.geojson) on 544 kilometres of road; "
        "elsewhere, default volumes per road class are assumed: primary roads 15,000 vehicles a day"
    ) in text
