"""Every exclusion accounted for: counts by cause add up to the headline."""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from siteselect.config import load_config
from siteselect.decision.exclusions import ExclusionLedger, account_exclusions, off_network_cause
from siteselect.outputs import write_outputs
from siteselect.outputs.report import build_report
from siteselect.pipeline import run
from tests._world import UTM, X0, Y0, parcels, write_world


def _naive(masks: list[np.ndarray]) -> tuple[list[int], list[int], int, dict[frozenset, int]]:
    """Per candidate loop: fails, only, several and the combinations."""
    n = len(masks[0])
    fails = [0] * len(masks)
    only = [0] * len(masks)
    several = 0
    combos: dict[frozenset, int] = {}
    for i in range(n):
        hit = [j for j, mask in enumerate(masks) if mask[i]]
        for j in hit:
            fails[j] += 1
        if len(hit) == 1:
            only[hit[0]] += 1
        elif len(hit) > 1:
            several += 1
            combos[frozenset(hit)] = combos.get(frozenset(hit), 0) + 1
    return fails, only, several, combos


@pytest.mark.parametrize("seed", range(6))
def test_account_matches_naive_loop(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n, k = 200, int(rng.integers(1, 6))
    masks = [rng.random(n) < rng.uniform(0.05, 0.5) for _ in range(k)]
    causes = [(f"c{j}", "constraint", f"rule {j}", (), m) for j, m in enumerate(masks)]
    account = account_exclusions(causes, n, max_combinations=100)  # type: ignore[arg-type]
    fails, only, several, combos = _naive(masks)
    assert [c.fails for c in account.causes] == fails
    assert [c.only for c in account.causes] == only
    assert account.by_several_causes == several
    assert account.excluded == int(np.any(masks, axis=0).sum())
    assert account.excluded == sum(only) + several == account.by_one_cause + several
    expected = {" + ".join(f"c{j}" for j in sorted(c)): v for c, v in combos.items()}
    assert account.combinations == expected


def test_combinations_beyond_the_limit_still_add_up() -> None:
    n = 64
    masks = [np.array([(i >> b) & 1 == 1 for i in range(n)]) for b in range(6)]
    causes = [(f"c{j}", "constraint", "", (), m) for j, m in enumerate(masks)]
    account = account_exclusions(causes, n, max_combinations=5)  # type: ignore[arg-type]
    assert len(account.combinations) == 6 and "other combinations" in account.combinations
    assert sum(account.combinations.values()) == account.by_several_causes == 64 - 1 - 6


def test_summary_sentence_adds_up() -> None:
    a = np.array([True, True, False, False, False])
    b = np.array([False, True, True, True, False])
    account = account_exclusions(
        [("airspace", "constraint", "", (), a), ("no value: x", "missing value", "x", (), b)], 5
    )
    assert account.summary() == (
        "4 excluded: 1 only by airspace, 2 only without a value (x), "
        "1 by several causes (airspace + x: 1)"
    )


def _measurement(values, **extra):
    from siteselect.criteria.base import Measurement

    return Measurement(
        values=np.asarray(values, float), unit="min", label="t", missing_reason="no route", **extra
    )


def test_shared_missing_cause_is_counted_once() -> None:
    """Two entries lacking a value for the same reason share one cause."""
    ledger = ExclusionLedger(4, max_snap_m=800)
    far = np.array([True, False, False, False])
    ledger.missing(
        "criteria.a", _measurement([np.nan, 1, np.nan, 2], extra_columns={"off_network": far})
    )
    ledger.missing(
        "criteria.b", _measurement([np.nan, 1, 3, 2], extra_columns={"off_network": far})
    )
    account = ledger.account()
    by_key = {c.key: c for c in account.causes}
    off = by_key[f"no value: {off_network_cause(800)}"]
    assert (off.fails, off.only, off.entries) == (1, 1, ("criteria.a", "criteria.b"))
    assert by_key["no value: no route"].fails == 1
    assert account.excluded == 2 and account.by_several_causes == 0


# --- end to end: a world where constraints overlap and values are missing -----------------


def _extra_parcels() -> gpd.GeoDataFrame:
    """Parcels beyond the grid: off the network, outside the raster, or in the runway zone."""
    boxes = {
        # 3 km north of the grid: no road within 800 m, no raster data
        "FAR1": shapely.box(X0 + 400, Y0 + 5400, X0 + 700, Y0 + 5700),
        "FAR2": shapely.box(X0 + 1000, Y0 + 5400, X0 + 1300, Y0 + 5700),
        # just north of the grid: near a road, outside the raster (which stops at +2600)
        "NORTH1": shapely.box(X0 + 1300, Y0 + 2650, X0 + 1600, Y0 + 2950),
        # north of the runway: in its zone (buffer 250 m) and mostly outside the raster
        "RUNWAY_N": shapely.box(X0 + 200, Y0 + 2500, X0 + 500, Y0 + 2900),
    }
    return gpd.GeoDataFrame(
        {"apn": list(boxes), "name": list(boxes)}, geometry=list(boxes.values()), crs=UTM
    )


@pytest.fixture(scope="module")
def messy_world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("messy")
    config = write_world(folder)
    frame = pd.concat([parcels(), _extra_parcels()], ignore_index=True)
    gpd.GeoDataFrame(frame, crs=UTM).to_crs("EPSG:2230").to_file(
        folder / "parcels.gpkg", layer="parcels"
    )
    text = config.read_text().replace(
        "network: {source: roads.osm}", "network: {source: roads.osm, max_snap_m: 800}"
    )
    config.write_text(text)
    return config


@pytest.fixture(scope="module")
def messy_result(messy_world: Path):
    return run(load_config(messy_world))


def test_world_exclusions_add_up(messy_result) -> None:
    table = messy_result.candidates.set_index("candidate_id")
    counts = messy_result.manifest["counts"]
    excluded_by = counts["excluded_by"]
    causes = excluded_by["causes"]
    off_key = f"no value: {off_network_cause(800)}"
    raster_keys = [k for k in causes if "hazard data" in k]
    assert set(causes) == {"runway_zone", "far_from_freeway", off_key, *raster_keys}
    assert len(raster_keys) == 1
    # oracle from the candidate table, candidate by candidate
    masks = {
        "runway_zone": table["exclusion_reason"].str.contains("runway_zone: ").to_numpy(),
        "far_from_freeway": (table["raw_freeway_access"] > 5).to_numpy(),
        off_key: table["freeway_access_off_network"].to_numpy(dtype=bool),
        raster_keys[0]: table["raw_seismic"].isna().to_numpy(),
    }
    fails, only, several, _ = _naive(list(masks.values()))
    for key, f, o in zip(masks, fails, only, strict=True):
        assert (causes[key]["fails"], causes[key]["only"]) == (f, o), key
    assert excluded_by["by_several_causes"] == several
    assert counts["excluded"] == int(table["excluded"].sum())
    assert counts["excluded"] == sum(c["only"] for c in causes.values()) + several
    assert several == sum(excluded_by["combinations"].values())
    # the cases built for it
    assert masks[off_key][table.index.get_indexer(["FAR1", "FAR2"])].all()
    assert causes[off_key]["fails"] == 2 and causes[off_key]["only"] == 0
    assert set(causes[off_key]["entries"]) == {
        "constraints.far_from_freeway",
        "criteria.freeway_access",
        "criteria.members",
    }
    assert (
        excluded_by["combinations"][
            f"{off_network_cause(800)} + {causes[raster_keys[0]]['description']}"
        ]
        == 2
    )
    assert table.loc["NORTH1", "excluded"] and causes[raster_keys[0]]["only"] >= 1
    assert "runway_zone + " in " ".join(excluded_by["combinations"])
    summary = excluded_by["summary"]
    assert summary.startswith(f"{counts['excluded']} excluded: ")
    numbers = [int(x) for x in pytest.importorskip("re").findall(r"(\d+) only ", summary)]
    assert sum(numbers) + several == counts["excluded"]


def test_constraint_counts_exclude_missing_values(messy_result) -> None:
    """A constraint's own count is its failures; missing values go to their cause."""
    by = {c.name: c.excluded_count for c in messy_result.constraints}
    table = messy_result.candidates
    assert by["far_from_freeway"] == int((table["raw_freeway_access"] > 5).sum())


def test_report_and_run_json_show_the_same_account(messy_result, tmp_path: Path) -> None:
    html = build_report(messy_result)
    account = messy_result.exclusions
    assert account is not None
    for cause in account.causes:
        assert f"{cause.only:,}" in html
    section = html[html.index("<h2>Hard constraints and missing values") :]
    assert f'<td class="num">{account.by_several_causes:,}</td>' in section
    assert f'<td class="num"><b>{account.excluded:,}</b></td>' in section
    write_outputs(messy_result, tmp_path / "out")
    manifest = json.loads((tmp_path / "out" / "run.json").read_text())
    assert manifest["counts"]["excluded_by"] == account.to_json()
