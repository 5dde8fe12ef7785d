"""The generated map in headless Chromium: it loads cleanly, markers and popups work.

Skipped when /usr/bin/chromium or tests/webassets/node_modules is missing, unless
SITESELECT_REQUIRE_BROWSER=1 (CI), which turns the skip into a failure.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from siteselect import webmap
from siteselect.results import RunResult
from tests._browser import ARTIFACTS, asset_map, hover_feature, open_map, require_browser
from tests.test_webmap import XSS, make_run_result

pytestmark = pytest.mark.browser

TOP_N = 10


@pytest.fixture(scope="module")
def hostile_result() -> RunResult:
    """A run whose best site id and one hospital name are ``<script>`` tags."""
    return make_run_result(400, top_n=TOP_N, hostile=True, seed=3)


@pytest.fixture(scope="module")
def map_html(tmp_path_factory: pytest.TempPathFactory, hostile_result: RunResult) -> Path:
    require_browser()
    path = tmp_path_factory.mktemp("browser") / "map.html"
    webmap.write_map(hostile_result, path)
    return path


def test_every_page_asset_is_available_locally(map_html: Path) -> None:
    mapping = asset_map(map_html.read_text(encoding="utf-8"))
    assert any("leaflet" in url for url in mapping)
    assert all(path.exists() for path in mapping.values())


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
        assert page.locator(".legend.leaflet-control").count() == 1

        page.locator('.ss-rank-marker[data-rank="1"]').click()
        popup = page.locator("#ss-popup-1")
        popup.wait_for(state="visible")
        text = popup.inner_text()
        for criterion in hostile_result.criteria:
            assert criterion.label in text
        assert XSS in text  # shown as text, not executed
        assert popup.locator(".ss-criterion").count() == len(hostile_result.criteria)
        assert popup.locator(".ss-bar").count() == len(hostile_result.criteria)

        page.wait_for_timeout(300)  # let the popup's auto-pan settle
        session.screenshot("map.png")
        assert (ARTIFACTS / "map.png").stat().st_size > 10_000
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
