"""Why #1 beats #2: every criterion and flag where they differ, read from the candidate table.

Small results built in code, with the values of #1 and #2 set by hand, so each
difference (and each equality) is known.
"""

from __future__ import annotations

from html.parser import HTMLParser

import numpy as np
import pytest

from siteselect.decision.results import RunResult
from siteselect.outputs.report import build_report
from siteselect.outputs.report_why import criterion_differences, flag_differences, why_section
from tests.test_webmap import XSS, make_run_result


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []

    def handle_data(self, data: str) -> None:
        self.parts.append(data)


def visible(html: str) -> str:
    parser = _Text()
    parser.feed(html)
    return "".join(parser.parts)


def _set(result: RunResult, rank: int, **values: object) -> None:
    cands = result.candidates
    index = cands.index[cands["rank"] == rank][0]
    for column, value in values.items():
        if column not in cands.columns:
            cands[column] = np.nan if isinstance(value, float | int) else ""
            if isinstance(value, bool):
                cands[column] = False
        cands.loc[index, column] = value


@pytest.fixture
def result() -> RunResult:
    """#1 gains on population, loses on slope; same on freeway access; same score but other
    distance on competitor_distance; every flag differs."""
    result = make_run_result(40, top_n=5, seed=11)
    common = {
        "raw_freeway_access": 4.0, "contrib_freeway_access": 0.2,
        "raw_competitor_distance": 9000.0, "contrib_competitor_distance": 0.2,
        "raw_population": 300_000.0, "contrib_population": 0.30,
        "raw_slope": 3.0, "contrib_slope": 0.08,
    }  # fmt: skip
    _set(result, 1, **common)
    _set(result, 2, **common)
    _set(result, 1, raw_population=340_000.0, contrib_population=0.32, raw_slope=5.0,
         contrib_slope=0.075)  # fmt: skip
    _set(result, 2, raw_competitor_distance=12_000.0)  # beyond "best": same score
    _set(result, 1, site_name="Mesa Campus")
    _set(result, 2, site_name="")
    _set(result, 1, tower_faa_notice_required=True, market_cannibalised=2840.0)
    _set(result, 2, tower_faa_notice_required=False, market_cannibalised=1972.0)
    seen1 = "seen from about 3.2 km of I-15, roughly 140,000 vehicles a day"
    seen2 = "seen from about 1.1 km of SR-52, roughly 90,000 vehicles a day"
    _set(result, 1, buildable_acres=14.2, seen_vehicles_per_day=140_000.0, seen_seen_from=seen1)
    _set(result, 2, buildable_acres=11.0, seen_vehicles_per_day=90_000.0, seen_seen_from=seen2)
    result.manifest = {
        "config": {"criteria": {}, "constraints": {"market": {"unit": "households"}}}
    }
    return result


def test_every_criterion_that_differs_materially_is_named(result: RunResult) -> None:
    top = result.top()
    found = criterion_differences(top.iloc[0], top.iloc[1], result.criteria)
    labels = [d.label for d in found]
    # largest effect first; equal raw and contribution (freeway access) left out
    assert labels == [
        "Residents within 15 minutes",
        "Average slope, in percent",
        "Distance to the nearest competing hospital, in metres",
    ]
    assert [d.effect for d in found] == ["+0.020", "\u22120.005", "none (same score)"]
    assert (found[0].first, found[0].second) == ("340,000 people", "300,000 people")
    assert found[0].sentence == "gains 0.020 on residents within 15 minutes"
    text = visible(why_section(result, top))
    assert "Residents within 15 minutes340,000 people300,000 people+0.020" in text
    assert "Average slope, in percent5.00%3.00%\u22120.005" in text
    assert "freeway" not in text.lower()


def test_every_differing_flag_is_named_with_both_values(result: RunResult) -> None:
    text = visible(why_section(result, result.top()))
    assert "#1 needs an FAA notice of proposed construction and #2 does not" in text
    assert "#1 takes 2,840 households from the owner's own hospitals, #2 1,972" in text
    assert "#1 has 14.2 buildable acres, #2 11.0" in text
    assert "#1 is seen by about 140,000 vehicles a day, #2 by 90,000" in text
    assert "seen from about 3.2 kilometres of I-15" in text  # the kind's words, units written out
    for row in ("FAA notice of proposed construction (Form 7460-1)requirednot required",
                "Households taken from the owner's own hospitals2,840 households1,972 households",
                "Buildable acres14.2 acres11.0 acres"):  # fmt: skip
        assert row in text


def test_flags_that_do_not_differ_are_not_named(result: RunResult) -> None:
    _set(result, 2, tower_faa_notice_required=True, market_cannibalised=2850.0,
         buildable_acres=14.2, seen_vehicles_per_day=139_000.0)  # fmt: skip
    top = result.top()
    assert flag_differences(result, top.iloc[0], top.iloc[1]) == []
    text = visible(why_section(result, top))
    assert "FAA" not in text and "owner's own" not in text and "buildable" not in text


def test_the_reverse_faa_case_and_the_default_unit(result: RunResult) -> None:
    _set(result, 1, tower_faa_notice_required=False)
    _set(result, 2, tower_faa_notice_required=True)
    result.manifest = {}
    text = visible(why_section(result, result.top()))
    assert "#2 needs an FAA notice of proposed construction and #1 does not" in text
    assert "#1 takes 2,840 patients from the owner's own hospitals, #2 1,972" in text


def test_exposure_already_shown_by_a_criterion_is_not_repeated(result: RunResult) -> None:
    top = result.top()
    for rank, value in ((1, 140_000.0), (2, 90_000.0)):
        _set(result, rank, population_vehicles_per_day=value, raw_population=value)
    top = result.top()
    labels = [d.label for d in flag_differences(result, top.iloc[0], top.iloc[1])]
    assert labels.count("Vehicles a day that see the building") == 1  # the "seen" entry only


def test_sensitivity_statement_in_plain_words_or_nothing(result: RunResult) -> None:
    assert "How sure" not in build_report(result)
    result.sensitivity = {
        "statement": "#1 stays first in 49% of plausible weightings; #2 leads if the seismic "
        "weight rises from 2 to 2.3",
        "p_rank1": {},
        "critical": [],
    }
    text = visible(build_report(result))
    assert "How sure: #1 stays first in 49% of plausible weightings; #2 leads if" in text
    best, second = result.top().iloc[0], result.top().iloc[1]
    result.sensitivity = {
        "p_rank1": {best["candidate_id"]: 0.62},
        "critical": [
            {"criterion": "slope", "label": "Average slope", "weight": 1.0,
             "decrease_to_flip": None, "increase_to_flip": 0.35,
             "new_leader": second["candidate_id"]},
        ],
    }  # fmt: skip
    text = visible(build_report(result))
    assert (
        "How sure: #1 stays first in 62% of plausible weightings; "
        f"Site {second['candidate_id']} leads if the weight of average slope rises by 35%."
    ) in text


def test_sites_by_name_where_present(result: RunResult) -> None:
    top = result.top()
    html = build_report(result)
    text = visible(html)
    assert f"Mesa Campus (parcel {top.iloc[0]['candidate_id']}) ranks first" in text
    assert f"It leads Site {top.iloc[1]['candidate_id']}, #2," in text
    table = html[html.index("<h2>Top 5 sites") :]
    assert f'Mesa Campus<br><span class="muted">{top.iloc[0]["candidate_id"]}</span>' in table


def test_hostile_site_names_are_escaped(result: RunResult) -> None:
    _set(result, 1, site_name=XSS)
    html = build_report(result)
    assert XSS not in html and XSS in visible(html)


def test_no_comparison_with_a_single_ranked_site() -> None:
    result = make_run_result(12, top_n=5, seed=2)
    cands = result.candidates
    cands.loc[cands["rank"] > 1, "excluded"] = True
    cands.loc[cands["rank"] > 1, "rank"] = None
    assert why_section(result, result.top()) == ""
    assert "Why #1 beats #2" not in build_report(result)
