"""Unit tests of siteselect.outputs.map.build: layers, markers, popups, escaping, file size."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import pytest
from shapely.geometry import LineString, Point, Polygon, box

from siteselect.decision.results import ConstraintInfo, CriterionInfo, Overlay, RunResult
from siteselect.outputs.map import build as webmap
from siteselect.outputs.map import geo as _webmap_geo
from siteselect.outputs.map import overlays as _webmap_overlays
from siteselect.outputs.map.assets import SCRIPTS
from siteselect.outputs.map.grid import grid_cells
from siteselect.outputs.map.popup import esc, format_number, format_value, popup_html
from siteselect.outputs.map.whatif import whatif_rows
from tests._node import run_js

UTM11 = pyproj.CRS("EPSG:32611")
#: Downtown San Diego in UTM zone 11N.
ORIGIN = (485_000.0, 3_619_000.0)
XSS = "<script>alert(1)</script>"
TEMPLATE_XSS = "${alert(2)}`\\u"

CRITERIA = [
    CriterionInfo(
        "freeway_access", "network_time", "Drive time to nearest freeway on-ramp", "min", 3.0,
        "linear: 2 min -> 1, 15 min -> 0",
    ),
    CriterionInfo(
        "competitor_distance", "distance", "Distance to nearest competing hospital", "m", 2.0,
        "linear: 1000 m -> 0, 8000 m -> 1",
    ),
    CriterionInfo(
        "population", "population", "Residents within 15 minutes", "people", 4.0,
        "linear: 50000 -> 0, 400000 -> 1",
    ),
    CriterionInfo("slope", "raster_mean", "Mean slope", "%", 1.0, "linear: 2 -> 1, 15 -> 0"),
]  # fmt: skip


def _parcel(x: float, y: float, rng: np.random.Generator, size: float) -> Polygon:
    """An irregular ~16-vertex parcel centred on (x, y)."""
    angles = np.sort(rng.uniform(0, 2 * math.pi, 16))
    radii = size * rng.uniform(0.75, 1.0, 16)
    return Polygon(zip(x + radii * np.cos(angles), y + radii * np.sin(angles), strict=True))


def make_candidates(n: int, seed: int = 0, excluded_share: float = 0.15) -> gpd.GeoDataFrame:
    """``n`` synthetic candidates on a grid around downtown San Diego, fully scored."""
    rng = np.random.default_rng(seed)
    side = math.ceil(math.sqrt(n))
    spacing = 260.0
    geoms = [
        _parcel(ORIGIN[0] + (i % side) * spacing, ORIGIN[1] + (i // side) * spacing, rng, 110.0)
        for i in range(n)
    ]
    df = pd.DataFrame({"candidate_id": [f"APN-{i:06d}" for i in range(n)]})
    df["area_acres"] = [g.area / 4046.8564224 for g in geoms]
    raws = {
        "freeway_access": rng.uniform(1, 20, n),
        "competitor_distance": rng.uniform(300, 12000, n),
        "population": rng.uniform(20_000, 500_000, n),
        "slope": rng.uniform(0, 25, n),
    }
    total_weight = sum(c.weight for c in CRITERIA)
    df["total_score"] = 0.0
    for crit in CRITERIA:
        score = rng.uniform(0, 1, n)
        df["raw_" + crit.name] = raws[crit.name]
        df["score_" + crit.name] = score
        df["contrib_" + crit.name] = score * crit.weight / total_weight
        df["total_score"] += df["contrib_" + crit.name]
    excluded = rng.uniform(0, 1, n) < excluded_share
    df["excluded"] = excluded
    df["exclusion_reason"] = np.where(excluded, "inside flood zone; slope > 15 %", "")
    order = df.loc[~excluded, "total_score"].rank(ascending=False, method="first")
    df["rank"] = pd.array([pd.NA] * n, dtype="Int64")
    df.loc[~excluded, "rank"] = order.astype(int).to_numpy()
    return gpd.GeoDataFrame(df, geometry=geoms, crs=UTM11)


def make_overlays(hostile_name: str = "Scripps Mercy") -> list[Overlay]:
    """One overlay of each kind near the synthetic candidates."""
    x0, y0 = ORIGIN
    zones = gpd.GeoDataFrame(
        {"reason": ["FEMA flood zone A", "Airport noise > 65 dB"]},
        geometry=[
            box(x0 - 500, y0 - 500, x0 + 800, y0 + 600),
            box(x0 + 3000, y0, x0 + 4000, y0 + 900),
        ],
        crs=UTM11,
    )
    hospitals = gpd.GeoDataFrame(
        {"name": [hostile_name, "UCSD Hillcrest", "Sharp Memorial"], "beds": [700, 450, 0]},
        geometry=[
            Point(x0 + 1200, y0 + 2500),
            Point(x0 - 900, y0 + 4000),
            Point(x0 + 5000, y0 + 100),
        ],
        crs=UTM11,
    )
    freeways = gpd.GeoDataFrame(
        {"ref": ["I-5", "I-8"]},
        geometry=[
            LineString([(x0 - 1000, y0 - 2000), (x0 + 500, y0 + 9000)]),
            LineString([(x0 - 2000, y0 + 4000), (x0 + 9000, y0 + 4200)]),
        ],
        crs=UTM11,
    )
    city = gpd.GeoDataFrame(
        {"name": ["City of San Diego"]},
        geometry=[box(x0 - 3000, y0 - 3000, x0 + 12000, y0 + 12000)],
        crs=UTM11,
    )
    return [
        Overlay("Exclusion zones", "zones", zones, label_column="reason"),
        Overlay("Competing hospitals", "points", hospitals, "name", "beds", color="#7c3aed"),
        Overlay("Freeways", "lines", freeways, "ref", color="#f59e0b"),
        Overlay("City limits", "polygons", city, "name", color="#111827", show=False),
    ]


def make_run_result(
    n: int = 60, *, top_n: int = 10, hostile: bool = False, seed: int = 0
) -> RunResult:
    """A complete synthetic :class:`RunResult`.

    With ``hostile=True`` the rank-1 candidate id and one overlay feature name are
    ``<script>alert(1)</script>`` and another candidate id is a template-literal
    injection attempt.
    """
    candidates = make_candidates(n, seed=seed)
    if hostile:
        best = candidates.index[candidates["rank"] == 1][0]
        second = candidates.index[candidates["rank"] == 2][0]
        candidates.loc[best, "candidate_id"] = XSS
        candidates.loc[second, "candidate_id"] = TEMPLATE_XSS
        excluded = candidates.index[candidates["excluded"]]
        if len(excluded):
            candidates.loc[excluded[0], "exclusion_reason"] = XSS
    return RunResult(
        title=XSS if hostile else "400-bed hospital site selection \u2014 San Diego",
        crs=UTM11,
        candidates=candidates,
        criteria=list(CRITERIA),
        constraints=[ConstraintInfo("flood", "exclude_within", "Not in a flood zone", 3)],
        overlays=make_overlays(XSS if hostile else "Scripps Mercy"),
        top_n=top_n,
    )


def render(result: RunResult, **kwargs: object) -> str:
    """The full HTML of the map of ``result``."""
    return webmap.build_map(result, **kwargs).get_root().render()


def geojson_payloads(html: str) -> list[dict]:
    """Every GeoJSON FeatureCollection embedded in the page."""
    return [json.loads(m) for m in re.findall(r"_add\((\{\"features\": .*?\})\);\n", html)]


def control_html(html: str, element_id: str) -> str:
    """The HTML of the map control whose markup contains ``id="<element_id>"``."""
    for text in re.findall(r'control\("\w+", "[\w-]+", (".*?"), (?:sites\.wire|null)\);', html):
        markup = json.loads(text)
        if f'id="{element_id}"' in markup:
            return markup
    raise AssertionError(f"no control with #{element_id}")


def whatif_data(html: str) -> dict:
    """The what-if payload (criteria, sites, top_n) embedded in the page."""
    return json.loads(re.search(r"var D = (\{.*?\});\n", html).group(1))


@pytest.fixture(scope="module")
def result() -> RunResult:
    return make_run_result(80, top_n=10)


@pytest.fixture(scope="module")
def page(result: RunResult) -> str:
    return render(result)


def test_whatif_payload_holds_ranked_sites_in_rank_order(page: str, result: RunResult) -> None:
    data = whatif_data(page)
    ranked = result.candidates[result.candidates["rank"].notna()].sort_values("rank")
    assert data["top_n"] == 10 and data["total_ranked"] == len(ranked)
    assert data["sites"]["id"] == list(ranked["candidate_id"])
    assert [c["name"] for c in data["criteria"]] == [c.name for c in result.criteria]
    assert [c["weight"] for c in data["criteria"]] == [c.weight for c in result.criteria]
    for j, crit in enumerate(result.criteria):
        assert data["sites"]["score"][j] == ranked["score_" + crit.name].tolist()  # exact floats
        assert data["sites"]["raw"][j][0] == format_value(
            ranked.iloc[0]["raw_" + crit.name], crit.unit
        )
    ids = ranked["candidate_id"].to_numpy()
    order = data["sites"]["order"]
    assert [ids[i] for i in np.argsort(order)] == sorted(ids)
    panel = control_html(page, "ss-ranking")
    assert panel.count('class="ss-weight-input"') == len(result.criteria)
    assert 'id="ss-reset"' in panel and 'id="ss-ranking-body"' in panel


def test_whatif_rows_keeps_leaders_of_every_criterion() -> None:
    ranked = make_candidates(400, seed=4)
    ranked = ranked[ranked["rank"].notna()].sort_values("rank").reset_index(drop=True)
    rows = whatif_rows(ranked, CRITERIA, limit=50)
    assert len(rows) <= 50 and list(rows) == sorted(rows)
    assert 0 in rows  # the rank-1 site
    for crit in CRITERIA:
        assert int(ranked["score_" + crit.name].idxmax()) in rows
    assert list(whatif_rows(ranked, CRITERIA, limit=1000)) == list(range(len(ranked)))


def test_popup_has_breakdown_for_every_criterion(result: RunResult) -> None:
    best = result.top(1).iloc[0]
    popup = popup_html(best, result.criteria)
    assert popup.startswith('<div class="ss-popup" id="ss-popup-1"')
    assert best["candidate_id"] in popup
    assert f"{best['total_score']:.3f}" in popup
    for crit in result.criteria:
        assert crit.label in popup
        assert f'data-criterion="{crit.name}"' in popup
        assert format_value(best["raw_" + crit.name], crit.unit) in popup
        assert f"{best['contrib_' + crit.name]:.3f}" in popup
    assert popup.count('class="ss-bar"') == len(result.criteria)
    assert "<script" not in popup


def test_map_is_self_contained(page: str) -> None:
    assert "<script src=" not in page
    assert not re.search(r"<link[^>]+href=\"https?:", page)
    assert "jquery" not in page.lower() and "bootstrap" not in page.lower()
    assert "Leaflet 1.9.3" in page and "leaflet.fullscreen" in page


def test_cdn_option_links_leaflet_only(result: RunResult) -> None:
    html = render(result, inline_assets=False)
    scripts = re.findall(r'<script src="([^"]+)"', html)
    assert scripts == [url for _, url in SCRIPTS]
    assert "jquery" not in html.lower() and "d3.min.js" not in html


def test_layers_controls_and_title(page: str, result: RunResult) -> None:
    assert result.title in page
    for name in ["Candidate sites", "Excluded sites", "Top 10 sites"] + [
        o.name for o in result.overlays
    ]:
        assert name in page
    groups = layer_groups(page)
    assert [g["label"] for g in groups] == ["Sites", "Constraints", "Context"]
    assert "ssLayout(" in page and "collapsed: true" in page  # web/layout.js: collapsed list
    assert "L.control.scale" in page
    assert "L.control.fullscreen" in page
    assert "tile.openstreetmap.org" in page
    assert "higher is better)" in control_html(page, "ss-legend")  # score legend
    assert "Excluded by a hard constraint" in control_html(page, "ss-legend")


def test_candidates_and_excluded_in_separate_layers(page: str, result: RunResult) -> None:
    payloads = geojson_payloads(page)
    by_keys = {tuple(sorted(p["features"][0]["properties"])): p for p in payloads if p["features"]}
    ranked = by_keys[("acres", "id", "rank", "score", "site")]
    excluded = by_keys[("id", "reason", "score")]
    n_excluded = int(result.candidates["excluded"].sum())
    assert len(ranked["features"]) == len(result.candidates) - n_excluded
    assert len(excluded["features"]) == n_excluded
    assert all("flood zone" in f["properties"]["reason"] for f in excluded["features"])
    assert ranked["features"][0]["geometry"]["type"] == "Polygon"


def _coordinates(geometry: dict) -> list[list[float]]:
    """Flat list of the positions of a GeoJSON geometry."""
    coords = np.asarray(geometry["coordinates"], dtype=object)
    flat: list = [coords.tolist()]
    while flat and isinstance(flat[0][0], list):
        flat = [item for part in flat for item in part]
    return flat


def test_coordinates_in_wgs84_and_rounded(page: str) -> None:
    features = [f for p in geojson_payloads(page) for f in p["features"]]
    assert features
    for feature in features:
        for lon, lat in _coordinates(feature["geometry"]):
            assert -118 < lon < -116.5 and 32 < lat < 33.5
            assert round(lon, _webmap_geo.COORD_DECIMALS) == lon
            assert round(lat, _webmap_geo.COORD_DECIMALS) == lat


def test_overlays_styles(page: str) -> None:
    assert '"fillColor": "#dc2626"' in page  # zones drawn red
    assert '"fill": false' in page  # context polygons not filled
    assert '"radius": 14.0' in page  # biggest hospital
    assert '"radius": 4.0' in page  # zero beds


def layer_groups(page: str) -> list[dict]:
    """The grouped layer list the page builds: ``[{label, layers: [{id, name}]}]``."""
    groups = []
    for label, body in re.findall(r'\{label: (".*?"), layers: \[(.*?)\]\}', page, re.S):
        layers = [
            {"id": var, "name": json.loads(name)}
            for var, name in re.findall(r'\{layer: (\w+), id: "\w+", name: (".*?")\}', body)
        ]
        groups.append({"label": json.loads(label), "layers": layers})
    return groups


def _layer_var(page: str, name: str) -> str:
    for group in layer_groups(page):
        for layer in group["layers"]:
            if layer["name"] == name:
                return layer["id"]
    raise AssertionError(f"no layer {name!r}")


def test_overlay_show_flag_respected(page: str) -> None:
    hidden = _layer_var(page, "City limits")
    shown = _layer_var(page, "Freeways")
    assert f"{hidden}.addTo(map_" not in page
    assert f"{shown}.addTo(map_" in page


def test_escaping_of_hostile_values() -> None:
    html = render(make_run_result(40, hostile=True))
    assert XSS not in html
    assert "alert(1)</script>" not in html
    assert "${alert(2)}" not in html
    assert esc(XSS) in html or json.dumps(esc(XSS))[1:-1] in html
    # The title box, the ranked list and the popup show the escaped text.
    assert f"<h1>{esc(XSS)}</h1>" in html
    assert f"<title>{esc(XSS)}</title>" in html


def test_esc_neutralises_html_and_template_literals() -> None:
    assert esc(XSS) == "&lt;script&gt;alert(1)&lt;/script&gt;"
    assert esc(TEMPLATE_XSS) == "&#36;{alert(2)}&#96;&#92;u"
    assert esc("a\"b'c") == "a&quot;b&#x27;c"
    assert esc(None) == "n/a" and esc(float("nan")) == "n/a"


@pytest.mark.parametrize(
    ("value", "unit", "expected"),
    [
        (4.2567, "min", "4.26 min"),
        (12.345, "%", "12.3 %"),
        (2345.6, "m", "2,346 m"),
        (183_402.2, "people", "183,402 people"),
        (float("nan"), "m", "n/a"),
        (None, "m", "n/a"),
    ],
)
def test_format_value(value: object, unit: str, expected: str) -> None:
    assert format_value(value, unit) == expected


def test_format_number_rejects_text() -> None:
    assert format_number("abc") == "n/a"


def test_write_map_writes_html(tmp_path: Path, result: RunResult) -> None:
    out = tmp_path / "map.html"
    webmap.write_map(result, out)
    text = out.read_text(encoding="utf-8")
    assert text.startswith("<!DOCTYPE html>")
    assert "ss-rank-marker" in text


def test_size_of_2000_polygons(tmp_path: Path) -> None:
    result = make_run_result(2000, seed=1)
    out = tmp_path / "map.html"
    webmap.write_map(result, out)
    size = out.stat().st_size
    assert size < 3_000_000, f"map.html is {size / 1e6:.2f} MB for 2,000 polygons"
    html = out.read_text(encoding="utf-8")
    assert '"type": "Polygon"' in html
    assert "raw_population" not in html  # only tooltip columns are embedded


def test_many_candidates_drawn_as_points(tmp_path: Path) -> None:
    result = make_run_result(5200, seed=2, top_n=5)
    out = tmp_path / "map.html"
    webmap.write_map(result, out)
    html = out.read_text(encoding="utf-8")
    candidate_layers = [
        p
        for p in geojson_payloads(html)
        if p["features"] and "score" in p["features"][0]["properties"]
    ]
    assert len(candidate_layers) == 2  # ranked and excluded
    assert {f["geometry"]["type"] for p in candidate_layers for f in p["features"]} == {"Point"}
    assert "_pointToLayer" in html
    assert out.stat().st_size < 3_000_000
    assert whatif_data(html)["top_n"] == 5


def test_max_polygons_threshold_is_configurable(result: RunResult) -> None:
    html = render(result, max_polygons=10)
    payloads = [p for p in geojson_payloads(html) if p["features"]]
    candidates = [p for p in payloads if "acres" in p["features"][0]["properties"]]
    assert candidates[0]["features"][0]["geometry"]["type"] == "Point"


def test_empty_run_still_renders() -> None:
    result = make_run_result(5)
    result.candidates = result.candidates.iloc[0:0]
    result.overlays = []
    html = render(result)
    assert "Top 0 sites" in html
    assert whatif_data(html)["sites"]["id"] == []


def test_all_excluded_or_equal_scores() -> None:
    result = make_run_result(6)
    result.candidates["total_score"] = 0.5
    html = render(result)
    assert len(whatif_data(html)["sites"]["id"]) == int(result.candidates["rank"].notna().sum())


def test_unknown_label_column_is_reported() -> None:
    result = make_run_result(10)
    result.overlays = [Overlay("Bad", "zones", result.overlays[0].gdf, label_column="nope")]
    with pytest.raises(ValueError, match="'nope'"):
        webmap.build_map(result)


def test_missing_geometry_and_crs_are_tolerated() -> None:
    result = make_run_result(12)
    cands = result.candidates.copy()
    cands.loc[cands.index[-1], "geometry"] = None
    result.candidates = gpd.GeoDataFrame(cands, geometry="geometry", crs=None)
    data = whatif_data(render(result))
    assert None in data["sites"]["lat"] or cands["rank"].iloc[-1] is pd.NA


def _naive_cells(cands: gpd.GeoDataFrame, size_m: float) -> dict[tuple[int, int], list[int]]:
    """Oracle: cell (col, row) -> [ranked count, excluded count], one candidate at a time."""
    cells: dict[tuple[int, int], list[int]] = {}
    for geom, excluded in zip(cands.geometry, cands["excluded"], strict=True):
        c = geom.centroid
        key = (math.floor(c.x / size_m), math.floor(c.y / size_m))
        counts = cells.setdefault(key, [0, 0])
        counts[1 if excluded else 0] += 1
    return cells


def test_grid_cells_match_naive_binning() -> None:
    cands = make_candidates(300, seed=6)
    cells = grid_cells(cands, cands["excluded"].to_numpy(), cell_size_m=1000)
    naive = _naive_cells(cands, 1000)
    assert len(cells) == len(naive)
    for row in cells.itertuples(index=False):
        x0, y0 = row.geometry.bounds[:2]
        key = (round(x0 / 1000), round(y0 / 1000))
        assert [row.ranked, row.excluded] == naive[key]
        inside = cands[cands.geometry.centroid.within(row.geometry) & ~cands["excluded"]]
        if len(inside):
            assert row.best_score == pytest.approx(inside["total_score"].max())
    assert cells["ranked"].sum() + cells["excluded"].sum() == len(cands)
    assert set(cells.loc[cells["excluded"] > 0, "top_reason"]) == {"inside flood zone"}


def test_grid_mode_beyond_max_points(result: RunResult) -> None:
    html = render(result, max_polygons=10, max_points=40)
    assert "best score per" in html and "Best " in html
    assert "Best total score in cell" in control_html(html, "ss-legend")
    payloads = [p for p in geojson_payloads(html) if p["features"]]
    cells = [p for p in payloads if "best" in p["features"][0]["properties"]]
    assert cells and cells[0]["features"][0]["geometry"]["type"] == "Polygon"
    assert whatif_data(html)["top_n"] == 10


def test_polygons_with_size_column_drawn_as_choropleth() -> None:
    result = make_run_result(20)
    x0, y0 = ORIGIN
    tracts = gpd.GeoDataFrame(
        {"name": ["A", "B", "C"], "target_population": [10.0, 500.0, 9000.0]},
        geometry=[box(x0 + i * 1000, y0, x0 + (i + 1) * 1000, y0 + 1000) for i in range(3)],
        crs=UTM11,
    )
    result.overlays = [
        Overlay("Target households", "polygons", tracts, "name", "target_population"),
        Overlay("Study area", "polygons", tracts.dissolve(), None, fill="#f7f4ec"),
    ]
    html = render(result)
    assert f'"fillColor": "{_webmap_overlays.CHOROPLETH_COLORS[0]}"' in html
    assert f'"fillColor": "{_webmap_overlays.CHOROPLETH_COLORS[-1]}"' in html
    assert '"fillColor": "#f7f4ec"' in html  # study area drawn as land


def test_distance_constraint_setback_drawn_as_zone(world_config: Path) -> None:
    from siteselect.config import load_config
    from siteselect.criteria.distance import DistanceSpec
    from siteselect.pipeline import run

    config = load_config(world_config)
    config.constraints["near_hospital"] = DistanceSpec(
        kind="distance", layer="hospitals", min_m=300
    )
    overlays = {o.name: o for o in run(config).overlays}
    setback = overlays["Near hospital (300 m)"]
    assert setback.kind == "zones"
    assert setback.gdf.geometry.area.min() == pytest.approx(math.pi * 300**2, rel=0.02)
    assert setback.gdf["feature_name"].str.startswith("Within 300 m of ").all()


def test_declutter_leaves_no_icon_over_another() -> None:
    """web/declutter.js on 200 random layouts: no two icon boxes overlap (with the gap),
    icons far from every other stay put, and nothing moves further than the whole group needs."""
    rng = np.random.default_rng(7)
    gap = 4.0
    cases = []
    for _ in range(200):
        n = int(rng.integers(1, 16))
        spread = float(rng.choice([0.0, 10.0, 60.0, 300.0, 5000.0]))
        items = [
            {"x": float(x), "y": float(y), "w": s, "h": s}
            for x, y, s in zip(
                rng.uniform(0, spread, n),
                rng.uniform(0, spread, n),
                rng.choice([28.0, 34.0], n),
                strict=True,
            )
        ]
        cases.append([items, gap])
    for (items, _), placed in zip(
        cases, run_js(["declutter.js"], "ssDeclutter", cases), strict=True
    ):
        for a in range(len(items)):
            for b in range(a + 1, len(items)):
                reach_x = (items[a]["w"] + items[b]["w"]) / 2 + gap
                reach_y = (items[a]["h"] + items[b]["h"]) / 2 + gap
                dx = abs(placed[a]["x"] - placed[b]["x"])
                dy = abs(placed[a]["y"] - placed[b]["y"])
                assert dx >= reach_x - 1e-9 or dy >= reach_y - 1e-9, (items, placed)
            alone = all(
                abs(items[a]["x"] - items[b]["x"]) >= 2 * 34 + 2 * gap + 400
                or abs(items[a]["y"] - items[b]["y"]) >= 2 * 34 + 2 * gap + 400
                for b in range(len(items))
                if b != a
            )
            if alone:
                assert placed[a] == {"x": items[a]["x"], "y": items[a]["y"]}
            moved = math.hypot(placed[a]["x"] - items[a]["x"], placed[a]["y"] - items[a]["y"])
            assert moved <= 30 * len(items) + 400
    assert run_js(["declutter.js"], "ssDeclutter", cases[:5]) == run_js(
        ["declutter.js"], "ssDeclutter", cases[:5]
    )


def test_aggregation_read_from_the_run() -> None:
    from siteselect.outputs.map.whatif import aggregation_spec

    assert aggregation_spec(None, 3) == {"method": "weighted_sum", "order_weights": []}
    assert aggregation_spec({"method": "weighted_product"}, 3)["method"] == "weighted_product"
    owa = aggregation_spec({"method": "owa", "order_weights": [0.5, 0.3, 0.2]}, 3)
    assert owa == {"method": "owa", "order_weights": [0.5, 0.3, 0.2]}
    with pytest.raises(ValueError, match="'median' cannot be drawn"):
        aggregation_spec({"method": "median"}, 3)
    with pytest.raises(ValueError, match="needs 3 non-negative order weights"):
        aggregation_spec({"method": "owa", "order_weights": [1, 0]}, 3)
    with pytest.raises(ValueError, match="needs 3 non-negative order weights"):
        aggregation_spec({"method": "owa", "order_weights": [1, -1, float("nan")]}, 3)


def test_payload_names_sites_and_says_exposure_in_words() -> None:
    result = make_run_result(30, top_n=5)
    cands = result.candidates
    cands["site_name"] = ["" if i % 2 else f"Site <{i}>" for i in range(len(cands))]
    cands["population_seen_from"] = "seen from about 3.2 km of I-15, roughly 140,000 vehicles a day"
    data = whatif_data(render(result))
    ranked = cands[cands["rank"].notna()].sort_values("rank")
    expected = ["" if not n else esc(n) for n in ranked["site_name"]]
    assert data["sites"]["name"] == expected
    notes = data["sites"]["notes"]
    population = [c.name for c in CRITERIA].index("population")
    assert all(n is None for j, n in enumerate(notes) if j != population)
    assert notes[population][0] == (
        "Seen from about 3.2 km of I-15, roughly 140,000 vehicles a day."
    )
    assert data["sensitivity"] is None and data["sites"]["p1"] == [None] * len(ranked)
    assert data["aggregation"]["method"] == "weighted_sum"


def test_plain_units() -> None:
    from siteselect.outputs.map.whatif import plain_unit

    assert plain_unit("vehicles/day") == "vehicles a day"
    assert plain_unit("min") == "min"


def test_no_config_words_in_tooltips(page: str) -> None:
    payloads = geojson_payloads(page)
    tips = [f["properties"].get("tip", "") for p in payloads for f in p["features"]]
    assert any(tips) and not any("feature_name" in t for t in tips)
    aliases = re.findall(r"let aliases = (\[.*?\]);", page)
    assert aliases and not any("feature_name" in a for a in aliases)
