"""The generated map in headless Chromium: it loads offline, markers, popups and what-if work.

Skipped when /usr/bin/chromium or tests/webassets/node_modules is missing, unless
SITESELECT_REQUIRE_BROWSER=1 (CI), which turns the skip into a failure.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import branca.colormap
import numpy as np
import pandas as pd
import pytest

from siteselect.criteria.base import Measurement
from siteselect.decision.results import CriterionInfo, RunResult
from siteselect.decision.scoring import WeightedCriterion, rank, score_table
from siteselect.decision.transforms import Linear
from siteselect.outputs.map import build as webmap
from siteselect.outputs.map.popup import esc
from tests._browser import ARTIFACTS, asset_map, hover_feature, open_map, require_browser
from tests.test_webmap import XSS, make_run_result
from tests.test_weights import aggregation_oracle as oracle

pytestmark = pytest.mark.browser

TOP_N = 10


def python_order(
    candidates: pd.DataFrame, criteria: list[CriterionInfo], weights: list[float]
) -> list[str]:
    """Non-excluded candidate ids, best first, by siteselect.decision.scoring with ``weights``.

    The stored ``score_<name>`` columns go through ``score_table`` with an identity
    transform (linear 0 -> 0, 1 -> 1), then ``rank`` breaks ties by id.
    """
    ranked = candidates[~candidates["excluded"].astype(bool)]
    identity = Linear(fn="linear", best=1.0, worst=0.0)
    weighted = [
        WeightedCriterion(
            c.name,
            Measurement(values=ranked[f"score_{c.name}"].to_numpy(float), unit="", label=c.label),
            identity,
            w,
        )
        for c, w in zip(criteria, weights, strict=True)
    ]
    total = score_table(weighted, len(ranked))["total_score"].to_numpy()
    ids = ranked["candidate_id"].to_numpy()
    ranks = rank(total, np.zeros(len(ranked), dtype=bool), ids).to_numpy()
    return list(ids[np.argsort(ranks)])


@pytest.fixture(scope="module")
def hostile_result() -> RunResult:
    """A run whose best site id and one hospital name are ``<script>`` tags.

    Two non-excluded candidates get identical scores on every criterion, so they
    tie under any weights and the id breaks the tie.
    """
    result = make_run_result(400, top_n=TOP_N, hostile=True, seed=3)
    cands = result.candidates
    allowed = cands.index[~cands["excluded"]]
    score_columns = [f"score_{c.name}" for c in result.criteria]
    cands.loc[allowed[5], score_columns] = cands.loc[allowed[4], score_columns].to_numpy()
    return result


@pytest.fixture(scope="module")
def map_html(tmp_path_factory: pytest.TempPathFactory, hostile_result: RunResult) -> Path:
    require_browser()
    path = tmp_path_factory.mktemp("browser") / "map.html"
    webmap.write_map(hostile_result, path)
    return path


def test_map_loads_and_top_site_popup_shows_breakdown(
    map_html: Path, hostile_result: RunResult
) -> None:
    with open_map(map_html) as session:
        page = session.page
        markers = page.locator(".ss-rank-marker")
        markers.first.wait_for()
        assert markers.count() == TOP_N
        ranks = sorted(int(markers.nth(i).get_attribute("data-rank")) for i in range(TOP_N))
        assert ranks == list(range(1, TOP_N + 1))

        # The ranked list is visible without clicking anything.
        rows = page.locator("#ss-ranking .ss-rank-row")
        assert rows.count() == TOP_N
        assert rows.first.inner_text().split()[1] == XSS  # escaped text, shown literally
        assert page.locator("#ss-title").is_visible()
        assert page.locator(".leaflet-control-layers-overlays label").count() >= 6
        assert page.locator("#ss-legend").is_visible()
        assert page.locator(".ss-weight-input").count() == len(hostile_result.criteria)

        page.locator('.ss-rank-marker[data-rank="1"]').click()
        popup = page.locator("#ss-popup-1")
        popup.wait_for(state="visible")
        text = popup.inner_text()
        best = hostile_result.top(1).iloc[0]
        for criterion in hostile_result.criteria:
            assert criterion.label in text
            assert f"{best['contrib_' + criterion.name]:.3f}" in text
        assert f"{best['total_score']:.3f}" in text
        assert XSS in text  # shown as text, not executed
        assert popup.locator(".ss-criterion").count() == len(hostile_result.criteria)
        assert popup.locator(".ss-bar").count() == len(hostile_result.criteria)

        page.wait_for_timeout(300)  # let the popup's auto-pan settle
        session.screenshot("map.png")
        assert (ARTIFACTS / "map.png").stat().st_size > 10_000
        assert session.router.served == []  # everything came from the page itself
        session.assert_clean()


def _listed_sites(page: object) -> list[str]:
    rows = page.locator("#ss-ranking .ss-rank-row")  # type: ignore[attr-defined]
    return [rows.nth(i).get_attribute("data-site") for i in range(rows.count())]


def test_weight_slider_reranks_as_python_predicts(
    map_html: Path, hostile_result: RunResult
) -> None:
    cands, criteria = hostile_result.candidates, hostile_result.criteria
    defaults = [c.weight for c in criteria]
    with open_map(map_html) as session:
        page = session.page
        page.locator("#ss-ranking .ss-rank-row").first.wait_for()
        before = _listed_sites(page)
        # data-site attributes read back decoded: the raw ids.
        assert before == python_order(cands, criteria, defaults)[:TOP_N]

        # An executive drags the last criterion's weight to 10.
        page.locator(f"#ss-w-{len(criteria) - 1}").fill("10")
        weights = [*defaults[:-1], 10.0]
        expected = python_order(cands, criteria, weights)
        after = _listed_sites(page)
        assert after != before, "this weight change must reorder the top sites"
        assert after == expected[:TOP_N]
        assert page.evaluate("window.ssWhatIf.ranking()") == [esc(i) for i in expected]
        markers = page.locator(".ss-rank-marker")
        assert markers.count() == TOP_N
        assert page.locator(".ss-move").count() == TOP_N  # places gained or lost
        page.wait_for_timeout(200)
        session.screenshot("map_whatif.png")

        # Several weights at once, including a zero, still agree to the last place.
        for weights in ([0.0, 1.0, 1.0, 5.0], [2.5, 0.5, 0.0, 0.0], [1.0, 1.0, 1.0, 1.0]):
            page.evaluate("(w) => window.ssWhatIf.setWeights(w)", weights)
            expected = [esc(i) for i in python_order(cands, criteria, weights)]
            assert page.evaluate("window.ssWhatIf.ranking()") == expected

        # The two candidates with identical scores tie: the smaller id goes first.
        allowed = cands[~cands["excluded"]]
        tied = sorted(allowed["candidate_id"].iloc[[4, 5]])
        order = page.evaluate("window.ssWhatIf.ranking()")
        assert order.index(esc(tied[1])) == order.index(esc(tied[0])) + 1

        # All weights at zero: the ranking stays and the panel says why.
        listed = _listed_sites(page)
        page.evaluate("window.ssWhatIf.setWeights([0, 0, 0, 0])")
        assert "at least one" in page.locator("#ss-whatif-note").inner_text()
        assert _listed_sites(page) == listed

        page.locator("#ss-reset").click()
        assert _listed_sites(page) == before
        assert page.locator(".ss-move").count() == 0
        session.assert_clean()


def test_hostile_overlay_and_exclusion_tooltips_show_text(map_html: Path) -> None:
    with open_map(map_html) as session:
        hospital = hover_feature(session.page, "label", "script")
        assert XSS in hospital and "700" in hospital
        excluded = hover_feature(session.page, "reason", "script")
        assert XSS in excluded
        session.assert_clean()


def test_ranking_row_opens_its_popup(map_html: Path) -> None:
    with open_map(map_html) as session:
        page = session.page
        page.locator('#ss-ranking .ss-rank-row[data-rank="3"]').click()
        page.locator("#ss-popup-3").wait_for(state="visible")
        session.assert_clean()


def test_cdn_variant_loads_from_local_copies(tmp_path: Path, hostile_result: RunResult) -> None:
    require_browser()
    path = tmp_path / "map_cdn.html"
    webmap.write_map(hostile_result, path, inline_assets=False)
    mapping = asset_map(path.read_text(encoding="utf-8"))
    assert len(mapping) == 4 and all(p.exists() for p in mapping.values())
    with open_map(path) as session:
        session.page.locator(".ss-rank-marker").first.wait_for()
        assert session.page.locator(".ss-rank-marker").count() == TOP_N
        assert len(session.router.served) >= 4
        session.assert_clean()


# ------------------------------------------------------------------ names, sensitivity, owa


@pytest.fixture(scope="module")
def named_result() -> RunResult:
    """A run whose sites have names (one hostile), a sensitivity, and an OWA aggregation."""
    result = make_run_result(150, top_n=TOP_N, seed=11)
    cands = result.candidates
    top = result.top(3)
    cands["site_name"] = ""
    cands.loc[top.index[0], "site_name"] = "Mission Valley campus"
    cands.loc[top.index[1], "site_name"] = XSS
    ids = top["candidate_id"].tolist()
    result.sensitivity = {
        "draws": 500,
        "spread_pct": 50.0,
        "seed": 1,
        "p_rank1": {ids[0]: 0.49, ids[1]: 0.44, ids[2]: 0.07},
        "p_top3": {ids[0]: 1.0, ids[1]: 1.0, ids[2]: 0.9},
        "statement": "#1 stays first in 49% of plausible weightings.",
        "critical": [],
    }
    return result


def _map_of(tmp_path: Path, result: RunResult, aggregation: dict | None = None) -> Path:
    if aggregation is not None:
        result = dataclasses.replace(result)
        result.aggregation = aggregation  # type: ignore[attr-defined]  # RunResult.aggregation
    path = tmp_path / "map.html"
    webmap.write_map(result, path)
    return path


def test_sites_named_and_how_sure_first_is(tmp_path: Path, named_result: RunResult) -> None:
    require_browser()
    with open_map(_map_of(tmp_path, named_result)) as session:
        page = session.page
        rows = page.locator("#ss-ranking .ss-rank-row")
        rows.first.wait_for()
        first, second, third = (rows.nth(i).inner_text() for i in range(3))
        assert "Mission Valley campus" in first and "49%" in first
        assert XSS in second and "44%" in second  # shown as text
        assert "7%" in third
        assert "stays first in 49%" in page.locator("#ss-sure-note").inner_text()
        page.locator('.ss-rank-marker[data-rank="1"]').click()
        popup = page.locator("#ss-popup-1")
        popup.wait_for(state="visible")
        text = popup.inner_text()
        best_id = named_result.top(1)["candidate_id"].iloc[0]
        assert "Mission Valley campus" in text and f"parcel {best_id}" in text
        assert "First in 49% of 500 plausible weightings" in text
        # With other weights the probabilities no longer apply: they are not shown.
        page.evaluate("ssWhatIf.setWeights([1, 1, 1, 1])")
        assert "%" not in page.locator("#ss-ranking .ss-sure").first.inner_text()
        assert not page.locator("#ss-sure-note").is_visible()
        session.assert_clean()


def test_owa_sliders_rank_like_the_formula(tmp_path: Path, named_result: RunResult) -> None:
    """With RunResult.aggregation = owa, the sliders re-rank by Eastman's OWA."""
    require_browser()
    order = [0.4, 0.3, 0.2, 0.1]
    path = _map_of(tmp_path, named_result, {"method": "owa", "order_weights": order})
    cands, criteria = named_result.candidates, named_result.criteria
    allowed = cands[~cands["excluded"].astype(bool)]
    scores = [allowed[f"score_{c.name}"].tolist() for c in criteria]
    ids = allowed["candidate_id"].tolist()
    with open_map(path) as session:
        page = session.page
        page.locator("#ss-ranking .ss-rank-row").first.wait_for()
        for weights in ([c.weight for c in criteria], [0.0, 1.0, 1.0, 5.0], [2.5, 0.5, 0.0, 1.0]):
            page.evaluate("(w) => ssWhatIf.setWeights(w)", weights)
            totals = oracle("owa", weights, scores, order)
            expected = [ids[i] for i in sorted(range(len(ids)), key=lambda i: (-totals[i], ids[i]))]
            assert page.evaluate("ssWhatIf.ranking()") == [esc(i) for i in expected]
        assert "ordered weighted average" in page.locator(".ss-rank-row").first.evaluate(
            "(row) => { row.click(); return document.querySelector('#ss-popup-1').innerText; }"
        )
        session.assert_clean()


_FILLS_JS = """
() => { const out = {};
  window[document.querySelector('.folium-map').id].eachLayer((l) => {
    const p = l.feature && l.feature.properties;
    if (p && p.rank !== undefined && l.options.fillColor) { out[p.id] = l.options.fillColor; } });
  return out; }
"""


def test_candidate_colours_follow_the_sliders(tmp_path: Path, hostile_result: RunResult) -> None:
    """A weight change recolours every candidate as Python colours the same totals; Reset undoes."""
    require_browser()
    cands, criteria = hostile_result.candidates, hostile_result.criteria
    allowed = cands[~cands["excluded"].astype(bool)]
    with open_map(_map_of(tmp_path, hostile_result)) as session:
        page = session.page
        page.wait_for_selector("html[data-ss-ready]")
        before = page.evaluate(_FILLS_JS)
        colormap = webmap._score_colormap(cands)
        assert before == {
            esc(i): webmap._quantized_color(colormap, t)
            for i, t in zip(allowed["candidate_id"], allowed["total_score"], strict=True)
        }
        weights = [0.0, 1.0, 1.0, 5.0]
        page.evaluate("(w) => ssWhatIf.setWeights(w)", weights)
        totals = oracle(
            "weighted_sum", weights, [allowed[f"score_{c.name}"].tolist() for c in criteria], []
        )
        recoloured = branca.colormap.LinearColormap(
            webmap.SCORE_COLORS, vmin=min(totals), vmax=max(totals)
        )
        expected = {
            esc(i): webmap._quantized_color(recoloured, t)
            for i, t in zip(allowed["candidate_id"], totals, strict=True)
        }
        after = page.evaluate(_FILLS_JS)
        assert after != before
        differing = [i for i in expected if after[i] != expected[i]]
        assert len(differing) <= len(expected) // 100, differing  # last-ulp ties of a level
        page.locator("#ss-reset").click()
        assert page.evaluate(_FILLS_JS) == before
        session.assert_clean()


def test_grid_mode_map_runs_and_keeps_colours(tmp_path: Path, hostile_result: RunResult) -> None:
    """Many candidates (a grid of cells): markers and sliders work, the colours say they stay."""
    require_browser()
    path = tmp_path / "grid.html"
    with webmap._sequential_element_ids():
        webmap.build_map(hostile_result, max_polygons=50, max_points=100).save(str(path))
    with open_map(path) as session:
        page = session.page
        page.wait_for_selector("html[data-ss-ready]")
        assert page.locator(".ss-rank-marker").count() == TOP_N
        before = page.evaluate(_FILLS_JS)
        page.evaluate("ssWhatIf.setWeights([0, 1, 1, 5])")
        assert page.evaluate(_FILLS_JS) == before
        assert "keep the study's weights" in page.locator("#ss-whatif").inner_text()
        session.assert_clean()
