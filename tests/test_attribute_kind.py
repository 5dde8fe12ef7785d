"""The ``attribute`` kind and the ``categories`` transform: a candidate's own column scored."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from siteselect._errors import ConfigError, SiteSelectError
from siteselect.config import load_config
from siteselect.decision.transforms import Categories, UnknownCategoriesError
from siteselect.pipeline import run
from tests.test_candidates import _write_layers

ZONING = ["CC-3-5", "IL-2-1", "RS-1-7", None, "CC-3-5", "IL-2-1", "AR-1-1", "RS-1-7"]


def _study(folder: Path, entries: str) -> Path:
    """The parcels of test_candidates with a zoning column, and ``entries`` as criteria."""
    import geopandas as gpd

    _write_layers(folder)
    parcels = gpd.read_file(folder / "parcels.gpkg", layer="parcels")
    parcels["zoning"] = ZONING
    parcels["zone_code"] = [100, 200, 300, 100, 200, 300, 100, 200]
    parcels["frontage_ft"] = ["120", "80", "", "300", "95", "150", "60", "n/a"]
    parcels.to_file(folder / "parcels.gpkg", layer="parcels")
    path = folder / "study.yaml"
    path.write_text(
        "name: t\nstudy_area: area.geojson\n"
        "candidates: {source: parcels.gpkg, layer: parcels, id: apn}\n"
        "layers: {clinic: clinic.geojson}\n" + entries,
        encoding="utf-8",
    )
    return path


def test_categories_transform_scores_and_unknowns() -> None:
    zoning = Categories(fn="categories", scores={"CC-3-5": 1.0, "IL-2-1": 0.6}, default=0)
    values = np.array(ZONING, dtype=object)
    assert zoning.score_categories(values)[[0, 1, 2, 4, 6]].tolist() == [1.0, 0.6, 0.0, 1.0, 0.0]
    assert np.isnan(zoning.score_categories(values)[3])  # no zoning: a missing value
    assert zoning.describe() == "categories: CC-3-5 -> 1, IL-2-1 -> 0.6, other -> 0"
    strict = Categories(fn="categories", scores={"CC-3-5": 1.0, "IL-2-1": 0.6})
    with pytest.raises(UnknownCategoriesError) as info:
        strict.score_categories(values)
    assert info.value.unknown == {"RS-1-7": 2, "AR-1-1": 1}
    assert "'RS-1-7' (2), 'AR-1-1' (1)" in str(info.value) and "set a default" in str(info.value)
    numeric = Categories.model_validate({"fn": "categories", "scores": {100: 1.0, 200: 0.5}})
    assert numeric.score_categories(np.array([100.0, 200, "100"], dtype=object)).tolist() == [
        1.0, 0.5, 1.0,
    ]  # fmt: skip


def test_categories_score_a_zoning_column_end_to_end(tmp_path: Path) -> None:
    config = load_config(
        _study(
            tmp_path,
            "criteria:\n"
            "  zoning:\n"
            "    kind: attribute\n"
            "    column: zoning\n"
            "    transform: {fn: categories, scores: {CC-3-5: 1.0, IL-2-1: 0.6}, default: 0}\n"
            "    weight: 1\n",
        )
    )
    table = run(config).candidates.set_index("candidate_id")
    assert table["raw_zoning"].tolist()[:3] == [1.0, 0.6, 0.0]
    assert table["score_zoning"].tolist()[:3] == [1.0, 0.6, 0.0]
    assert table["zoning_category"].tolist() == [z or "" for z in ZONING]
    assert table.loc["A3", "exclusion_reason"] == "zoning: no zoning value"
    assert table.loc["A0", "rank"] == 1 and table.loc["A4", "rank"] == 2  # CC-3-5 first, by id


def test_unknown_categories_without_default_is_an_error_naming_them(tmp_path: Path) -> None:
    config = load_config(
        _study(
            tmp_path,
            "criteria:\n"
            "  zoning:\n"
            "    kind: attribute\n"
            "    column: zoning\n"
            "    transform: {fn: categories, scores: {CC-3-5: 1.0, IL-2-1: 0.6}}\n"
            "    weight: 1\n",
        )
    )
    with pytest.raises(
        SiteSelectError,
        match=r"study\.yaml:9: criteria\.zoning\.transform: "
        r"column 'zoning': 2 categories not in scores: 'RS-1-7' \(2\), 'AR-1-1' \(1\)",
    ):
        run(config)


def test_allowed_min_max_constraints_and_numeric_criterion(tmp_path: Path) -> None:
    config = load_config(
        _study(
            tmp_path,
            "constraints:\n"
            "  zoned: {kind: attribute, column: zone_code, allowed: [100, 200]}\n"
            "  value: {kind: attribute, column: assessed_usd, unit: usd, max: 5000000}\n"
            "criteria:\n"
            "  cheap:\n"
            "    kind: attribute\n"
            "    column: assessed_usd\n"
            "    unit: usd\n"
            "    transform: {fn: linear, best: 1000000, worst: 5000000}\n"
            "    weight: 1\n",
        )
    )
    result = run(config)
    table = result.candidates.set_index("candidate_id")
    assert table.loc["A2", "exclusion_reason"] == "zoned: zone code is 300 (allowed: 100, 200)"
    assert table.loc["A1", "exclusion_reason"] == (
        "value: assessed usd is 90,000,000 usd (maximum 5,000,000 usd)"
    )
    assert "cheap: no assessed_usd value" in table.loc["A6", "exclusion_reason"]
    assert table.loc["A0", "score_cheap"] == 1.0 and table.loc["A7", "score_cheap"] == 0.25
    ranked = table[table["rank"].notna()].index.tolist()
    assert sorted(ranked) == ["A0", "A3", "A4", "A7"]
    by = {c.name: c.excluded_count for c in result.constraints}
    assert by == {"zoned": 2, "value": 1}


def test_attribute_errors(tmp_path: Path) -> None:
    text = "criteria:\n  front: {kind: attribute, column: frontage_ft, %s weight: 1}\n"
    config = load_config(_study(tmp_path, text % "transform: {fn: linear, best: 300, worst: 0},"))
    with pytest.raises(
        SiteSelectError,
        match=r"column 'frontage_ft' is not numeric: 1 value\(s\) "
        r"are not numbers \('n/a' \(1\)\); score categories",
    ):
        run(config)
    config = load_config(
        _study(
            tmp_path,
            text.replace("frontage_ft", "zonning") % "transform: {fn: linear, "
            "best: 300, worst: 0},",
        )
    )
    with pytest.raises(
        SiteSelectError,
        match=r"criteria\.front\.column: the candidates have no "
        r"column 'zonning'; did you mean zoning\?",
    ):
        run(config)
    with pytest.raises(ConfigError, match=r"categories scores a candidate's own column"):
        load_config(
            _study(
                tmp_path,
                "criteria:\n  d: {kind: distance, layer: clinic, weight: 1,\n"
                "     transform: {fn: categories, scores: {a: 1}}}\n",
            )
        )
    with pytest.raises(ConfigError, match=r"a constraint needs min or max"):
        load_config(
            _study(
                tmp_path,
                "constraints:\n  z: {kind: attribute, column: zoning}\n"
                "criteria:\n  d: {kind: distance, layer: clinic, weight: 1,\n"
                "     transform: {fn: linear, best: 0, worst: 9000}}\n",
            )
        )
