"""The demo map as an executive sees it, at 1400x900, 1280x720 and on a 390x844 phone.

Acceptance tests of the map's layout (headless Chromium; skipped without it unless
SITESELECT_REQUIRE_BROWSER=1): from the elements' bounding boxes, no panel overlaps
another or a map control (zoom, scale, layer list, fullscreen, attribution), every
top-10 marker lies inside the viewport at the first view and is what a click at its
centre hits, and no two marker icons overlap, also after zooming out and in. Every
check saves a screenshot in a temporary folder and names it in its failure message.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from siteselect.config import load_config
from siteselect.decision.results import RunResult
from siteselect.outputs.map import build as webmap
from siteselect.pipeline import run
from tests._browser import hover_feature, open_map, require_browser

pytestmark = pytest.mark.browser

DEMO = Path(__file__).resolve().parents[1] / "configs" / "demo.yaml"
SIZES = [(1400, 900), (1280, 720), (390, 844)]
PANELS = {"left panel": ".ss-panel-control", "legend": ".ss-legend-control", "title": "#ss-title"}
CONTROLS = {
    "zoom": ".leaflet-control-zoom",
    "scale": ".leaflet-control-scale",
    "layer list": ".leaflet-control-layers",
    "fullscreen": ".leaflet-control-zoom-fullscreen",
    "attribution": ".leaflet-control-attribution",
}

_BOXES_JS = """
(selectors) => Object.fromEntries(Object.entries(selectors).map(([name, sel]) => {
  const el = document.querySelector(sel);
  if (!el) { return [name, null]; }
  const r = el.getBoundingClientRect();
  return [name, r.width > 0 && r.height > 0 ? [r.left, r.top, r.right, r.bottom] : null];
}))
"""

_MARKERS_JS = """
() => Array.from(document.querySelectorAll(".ss-rank-marker")).map((el) => {
  const r = el.getBoundingClientRect();
  const hit = document.elementFromPoint((r.left + r.right) / 2, (r.top + r.bottom) / 2);
  return {rank: Number(el.dataset.rank), box: [r.left, r.top, r.right, r.bottom],
          hit: hit ? (hit.closest(".ss-rank-marker") === el ? "marker"
                      : (hit.className || hit.tagName).toString()) : "nothing"};
})
"""


def _overlap(a: list[float], b: list[float]) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


@pytest.fixture(scope="module")
def demo_result() -> RunResult:
    return run(load_config(DEMO))


@pytest.fixture(scope="module")
def demo_map(tmp_path_factory: pytest.TempPathFactory, demo_result: RunResult) -> Path:
    require_browser()
    path = tmp_path_factory.mktemp("demo_map") / "map.html"
    webmap.write_map(demo_result, path)
    return path


@pytest.fixture(scope="module")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("screenshots")


def _ready(page: Any) -> None:
    page.wait_for_selector("html[data-ss-ready]")
    page.wait_for_timeout(150)


def _layout_problems(page: Any) -> list[str]:
    """Every panel overlapping another panel or a control, and controls overlapping each other."""
    panels = {k: v for k, v in page.evaluate(_BOXES_JS, PANELS).items() if v}
    controls = {k: v for k, v in page.evaluate(_BOXES_JS, CONTROLS).items() if v}
    width, height = page.viewport_size["width"], page.viewport_size["height"]
    problems = []
    names = list(panels) + list(controls)
    boxes = {**panels, **controls}
    for i, a in enumerate(names):
        box = boxes[a]
        if box[0] < -0.5 or box[1] < -0.5 or box[2] > width + 0.5 or box[3] > height + 0.5:
            problems.append(f"{a} {box} runs off the {width}x{height} window")
        for b in names[i + 1 :]:
            if a in controls and b in controls and {a, b} <= {"zoom", "fullscreen"}:
                continue  # the fullscreen button may share the zoom bar
            if _overlap(box, boxes[b]):
                problems.append(f"{a} {box} overlaps {b} {boxes[b]}")
    return problems


_CLIPPED_JS = """
() => Array.from(document.querySelectorAll(
    ".ss-weight label, .ss-legend-row span, .ss-head-title, .ss-title h1, .ss-hint"))
  .filter((el) => el.offsetParent !== null && el.scrollWidth > el.clientWidth + 1)
  .map((el) => el.textContent.trim().slice(0, 60))
"""


def _marker_problems(page: Any, expect: int) -> list[str]:
    markers = page.evaluate(_MARKERS_JS)
    width, height = page.viewport_size["width"], page.viewport_size["height"]
    problems = [] if len(markers) == expect else [f"{len(markers)} markers, expected {expect}"]
    for m in markers:
        left, top, right, bottom = m["box"]
        if left < 0 or top < 0 or right > width or bottom > height:
            problems.append(f"marker #{m['rank']} {m['box']} outside the viewport")
        elif m["hit"] != "marker":
            problems.append(f"a click on marker #{m['rank']} hits {m['hit']!r}")
    for i, a in enumerate(markers):
        for b in markers[i + 1 :]:
            if _overlap(a["box"], b["box"]):
                problems.append(f"markers #{a['rank']} and #{b['rank']} overlap")
    return problems


@pytest.mark.parametrize("size", SIZES, ids=[f"{w}x{h}" for w, h in SIZES])
def test_demo_map_layout(demo_map: Path, shots: Path, size: tuple[int, int]) -> None:
    """First view: panels clear of each other and of the controls, top 10 visible and clickable."""
    with open_map(demo_map, viewport=size) as session:
        page = session.page
        _ready(page)
        shot = shots / f"demo_{size[0]}x{size[1]}.png"
        page.screenshot(path=str(shot))
        problems = _layout_problems(page) + _marker_problems(page, 10)
        assert not problems, f"{shot}:\n  " + "\n  ".join(problems)
        # Open every collapsible panel in turn (a phone keeps one open at a time).
        heads = page.locator(".ss-section-head")
        for i in range(heads.count()):
            head = heads.nth(i)
            if head.get_attribute("aria-expanded") == "false":
                head.click()
            page.wait_for_timeout(100)
            shot = shots / f"demo_{size[0]}x{size[1]}_open{i}.png"
            page.screenshot(path=str(shot))
            problems = _layout_problems(page)
            problems += [f"label cut: {text!r}" for text in page.evaluate(_CLIPPED_JS)]
            assert not problems, f"{shot}:\n  " + "\n  ".join(problems)
        session.assert_clean()


def test_demo_markers_fan_out_at_every_zoom(demo_map: Path, shots: Path) -> None:
    """Zoomed out the top 10 crowd together: they fan out (leader lines) and never overlap."""
    with open_map(demo_map, viewport=(1400, 900)) as session:
        page = session.page
        _ready(page)
        map_js = "window[document.querySelector('.folium-map').id]"
        moved_js = "Object.values(ssWhatIf.markers()).filter((m) => m.ssMoved).length"
        for zoom in (9, 10, 11, 13, 16):
            page.evaluate(f"() => {{ {map_js}.setZoom({zoom}, {{animate: false}}); }}")
            page.wait_for_timeout(100)
            markers = page.evaluate(_MARKERS_JS)
            overlapping = [
                (a["rank"], b["rank"])
                for i, a in enumerate(markers)
                for b in markers[i + 1 :]
                if _overlap(a["box"], b["box"])
            ]
            shot = shots / f"demo_zoom{zoom}.png"
            page.screenshot(path=str(shot))
            assert not overlapping, f"{shot}: zoom {zoom}: overlapping {overlapping}"
            if zoom == 9:
                assert page.evaluate(moved_js) > 0, f"{shot}: nothing fanned out at zoom 9"
        session.assert_clean()


def test_demo_list_row_zooms_to_its_site_and_popup_says_exposure(demo_map: Path) -> None:
    with open_map(demo_map, viewport=(1280, 720)) as session:
        page = session.page
        _ready(page)
        page.locator('#ss-ranking .ss-rank-row[data-rank="1"]').click()
        popup = page.locator("#ss-popup-1")
        popup.wait_for(state="visible")
        zoom = page.evaluate("window[document.querySelector('.folium-map').id].getZoom()")
        assert zoom >= 15
        text = popup.inner_text()
        assert "vehicles a day" in text  # the visibility criterion in words
        assert "feature_name" not in text and "None" not in text
        session.assert_clean()


def test_demo_legend_follows_the_layer_list(demo_map: Path, demo_result: RunResult) -> None:
    """A legend row per layer drawn, shown while its layer is on, hidden when switched off."""
    with open_map(demo_map, viewport=(1400, 900)) as session:
        page = session.page
        _ready(page)
        rows = page.evaluate(
            "Array.from(document.querySelectorAll('.ss-legend-row')).map((r) => "
            "[r.innerText, getComputedStyle(r).display !== 'none'])"
        )
        legend_text = " ".join(text for text, _ in rows)
        for overlay in demo_result.overlays:
            assert overlay.name in legend_text, f"no legend row for {overlay.name}"
        visible = {text.split("\n")[0]: shown for text, shown in rows}
        shown = [o.name for o in demo_result.overlays if o.show]
        hidden = [o.name for o in demo_result.overlays if not o.show]
        for name in shown:
            assert any(name in text and on for text, on in visible.items()), name
        for name in hidden:
            assert not any(name in text and on for text, on in visible.items()), name
        # The layer list: collapsed, grouped; switching Freeways off hides its legend row.
        layers = page.locator(".leaflet-control-layers")
        assert "leaflet-control-layers-expanded" not in (layers.get_attribute("class") or "")
        layers.hover()
        headings = page.locator(".ss-layer-group").all_inner_texts()
        assert [h.strip().lower() for h in headings] == ["sites", "constraints", "context"]
        page.get_by_label("Freeways", exact=True).uncheck()
        row = page.locator(".ss-legend-row", has_text="Freeways").first
        assert not row.is_visible()
        session.assert_clean()


def test_demo_tooltips_in_plain_words(demo_map: Path) -> None:
    with open_map(demo_map, viewport=(1400, 900)) as session:
        page = session.page
        _ready(page)
        study = page.evaluate(
            """() => { const map = window[document.querySelector('.folium-map').id];
            let out = null;
            map.eachLayer((l) => { if (l.feature && l.feature.properties.label === 'Study area') {
              out = {interactive: l.options.interactive !== false, tooltip: !!l.getTooltip()}; } });
            return out; }"""
        )
        assert study == {"interactive": False, "tooltip": False}
        text = hover_feature(page, "label", "SHARP")
        assert "SHARP" in text and "feature_name" not in text
        assert "Beds" in text
        session.assert_clean()


def test_demo_weights_copy_as_yaml(demo_map: Path, demo_result: RunResult) -> None:
    with open_map(demo_map, viewport=(1400, 900)) as session:
        page = session.page
        _ready(page)
        page.evaluate("ssWhatIf.setWeights(ssWhatIf.weights().map((w, j) => j === 1 ? 2.5 : w))")
        page.locator("#ss-copy-yaml").click()
        text = page.locator("#ss-yaml").input_value()
        expected = {c.name: c.weight for c in demo_result.criteria}
        expected[demo_result.criteria[1].name] = 2.5
        assert yaml.safe_load(text) == {"weights": expected}
        assert text.startswith("weights:\n  ")
        session.assert_clean()


@pytest.mark.parametrize("size", SIZES, ids=[f"{w}x{h}" for w, h in SIZES])
def test_demo_popup_clear_of_panels(demo_map: Path, shots: Path, size: tuple[int, int]) -> None:
    """A marker's popup pans the map so that no panel or control covers it."""
    with open_map(demo_map, viewport=size) as session:
        page = session.page
        _ready(page)
        # the second top site (ranks keep their numbers: a shadowed rank is skipped)
        rank = page.locator("#ss-ranking .ss-rank-row").nth(1).get_attribute("data-rank")
        page.locator(f'.ss-rank-marker[data-rank="{rank}"]').click()
        page.locator(f"#ss-popup-{rank}").wait_for(state="visible")
        page.wait_for_timeout(400)  # the auto-pan
        shot = shots / f"demo_popup_{size[0]}x{size[1]}.png"
        page.screenshot(path=str(shot))
        popup = page.evaluate(_BOXES_JS, {"popup": ".leaflet-popup-content-wrapper"})["popup"]
        boxes = {**page.evaluate(_BOXES_JS, PANELS), **page.evaluate(_BOXES_JS, CONTROLS)}
        covered = [f"{k} {v}" for k, v in boxes.items() if v and _overlap(popup, v)]
        assert not covered, f"{shot}: popup {popup} under " + ", ".join(covered)
        session.assert_clean()
