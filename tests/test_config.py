"""Config loading: validation, path resolution, one-line errors with YAML lines."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from siteselect._errors import ConfigError
from siteselect.config import config_schema, load_config
from tests._lines import line_of
from tests._world import WORLD_CONFIG


def _variant(world_config: Path, name: str, old: str, new: str) -> Path:
    text = WORLD_CONFIG
    assert old in text, old
    path = world_config.parent / f"{name}.yaml"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return path


def test_valid_config_resolves_paths(world_config: Path) -> None:
    config = load_config(world_config)
    assert config.candidates.source == world_config.parent / "parcels.gpkg"
    assert config.layers["hazard"].units == "g"
    assert config.outputs.dir == world_config.parent / "out"
    assert list(config.criteria) == ["freeway_access", "seismic", "members", "competition"]


def test_negative_weight_names_file_line_and_field(world_config: Path) -> None:
    path = _variant(world_config, "neg", "    weight: 2\n  members", "    weight: -1\n  members")
    with pytest.raises(ConfigError) as info:
        load_config(path)
    line = line_of(path, "weight: -1")
    assert str(info.value).endswith(
        f"neg.yaml:{line}: criteria.seismic.weight: must be >= 0 (got -1)"
    )


def test_typo_key_suggests_the_right_one(world_config: Path) -> None:
    path = _variant(world_config, "typo", "    weight: 3\n", "    wieght: 3\n")
    with pytest.raises(ConfigError) as info:
        load_config(path)
    message = str(info.value)
    assert f"typo.yaml:{line_of(path, 'wieght')}: criteria.freeway_access.wieght" in message
    assert "did you mean 'weight'" in message


def test_missing_layer_file(world_config: Path) -> None:
    path = _variant(world_config, "missing", "source: hazard.tif", "source: nowhere.tif")
    with pytest.raises(ConfigError) as info:
        load_config(path)
    message = str(info.value)
    assert (
        f"missing.yaml:{line_of(path, 'hazard:')}: layers.hazard.source: file not found" in message
    )
    assert "nowhere.tif" in message


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ("layer: hazard\n", "layer: hazzard\n", "criteria.seismic.layer: unknown layer 'hazzard'"),
        (
            "kind: raster_zonal",
            "kind: raster_zone",
            "criteria.seismic.kind: unknown kind 'raster_zone'; did you mean 'raster_zonal'?",
        ),
        (
            "    transform: {fn: linear, best: 0.3, worst: 0.9}\n",
            "",
            "criteria.seismic: missing 'transform'",
        ),
        ("max_minutes: 5", "label: x", "constraints.far_from_freeway: a constraint needs"),
        (
            "best: 0.3, worst: 0.9",
            "best: 0.3, worst: 0.3",
            "criteria.seismic.transform: best and worst must differ",
        ),
        ("fn: minmax", "fn: sigmoid", "criteria.members.transform.fn: unknown fn 'sigmoid'"),
        ("top_n: 5", "top_n: 0", "outputs.top_n: must be >= 1"),
        ("name: Tiny world\n", "", "bad.yaml: name: required field is missing"),
    ],
)
def test_config_errors(world_config: Path, old: str, new: str, expected: str) -> None:
    path = _variant(world_config, "bad", old, new)
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert expected in str(info.value)
    assert "\n" not in str(info.value)


def test_invalid_yaml_gives_line(tmp_path: Path) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text("name: x\ncriteria: [a\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"broken.yaml:\d+: invalid YAML"):
        load_config(path)


def test_schema_is_json_with_every_kind() -> None:
    schema = json.loads(json.dumps(config_schema()))
    kinds = set(schema["$defs"])
    assert {
        "NetworkTimeSpec",
        "ZonesSpec",
        "RasterZonalSpec",
        "AccessibilitySpec",
        "DistanceSpec",
    } <= kinds
    assert "source_path" not in schema["properties"]


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "siteselect", *args], capture_output=True, text=True, check=False
    )


def test_cli_bad_config_is_one_line_exit_2(world_config: Path) -> None:
    path = _variant(world_config, "cli_bad", "    weight: 1\n", "    weight: -3\n")
    result = _cli("validate", str(path))
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert (
        lines[0].startswith("error: ") and "criteria.competition.weight: must be >= 0" in lines[0]
    )
    assert "Traceback" not in result.stderr


def test_cli_debug_shows_traceback(world_config: Path) -> None:
    path = _variant(world_config, "cli_debug", "    weight: 1\n", "    weight: -3\n")
    result = _cli("--debug", "validate", str(path))
    assert result.returncode != 0
    assert "Traceback" in result.stderr


def test_cli_validate_ok(world_config: Path) -> None:
    result = _cli("validate", str(world_config))
    assert result.returncode == 0, result.stderr
    assert "hazard" in result.stdout and "raster" in result.stdout


def test_cli_schema_prints_json() -> None:
    result = _cli("schema")
    assert result.returncode == 0
    assert json.loads(result.stdout)["title"] == "siteselect configuration"
