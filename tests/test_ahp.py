"""AHP weights: a published example, the consistency check, and the YAML form."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from siteselect._errors import ConfigError
from siteselect.config import load_config
from siteselect.decision.weights import RANDOM_INDEX, AhpError, ahp_weights, pairwise_matrix
from tests._lines import line_of
from tests._world import WORLD_CONFIG
from tests.test_cli import invoke

# Saaty, T. L. (2008), "Decision making with the analytic hierarchy process",
# Int. J. Services Sciences 1(1), 83-98: "Which drink is consumed more in the
# U.S.?", the judgement matrix and the derived priorities (Table 2:
# coffee .177, wine .019, tea .042, beer .116, sodas .190, milk .129, water .327;
# C.R. = .022).
DRINKS = ("coffee", "wine", "tea", "beer", "soda", "milk", "water")
DRINKS_MATRIX = [
    [1, 9, 5, 2, 1, 1, 1 / 2],
    [1 / 9, 1, 1 / 3, 1 / 9, 1 / 9, 1 / 9, 1 / 9],
    [1 / 5, 3, 1, 1 / 3, 1 / 4, 1 / 3, 1 / 9],
    [1 / 2, 9, 3, 1, 1 / 2, 1, 1 / 3],
    [1, 9, 4, 2, 1, 2, 1 / 2],
    [1, 9, 3, 1, 1 / 2, 1, 1 / 3],
    [2, 9, 9, 3, 2, 3, 1],
]
DRINKS_WEIGHTS = (0.177, 0.019, 0.042, 0.116, 0.190, 0.129, 0.327)
DRINKS_CR = 0.022


def _upper(names: tuple[str, ...], matrix: list[list[float]]) -> dict[str, dict[str, float]]:
    """The judgements above the diagonal, as the YAML form writes them."""
    return {a: {b: matrix[i][j] for j, b in enumerate(names) if j > i} for i, a in enumerate(names)}


def test_saaty_2008_drinks_weights_and_consistency_ratio() -> None:
    result = ahp_weights(DRINKS, _upper(DRINKS, DRINKS_MATRIX))
    assert np.round(result.weights, 3).tolist() == list(DRINKS_WEIGHTS)
    assert round(result.cr, 3) == DRINKS_CR
    assert np.allclose(result.matrix, DRINKS_MATRIX)


def test_judgements_in_either_direction_give_the_same_weights() -> None:
    lower = {
        a: {b: DRINKS_MATRIX[i][j] for j, b in enumerate(DRINKS) if j < i}
        for i, a in enumerate(DRINKS)
    }
    upper = ahp_weights(DRINKS, _upper(DRINKS, DRINKS_MATRIX))
    assert np.allclose(ahp_weights(DRINKS, lower).weights, upper.weights)


def test_a_consistent_matrix_has_cr_zero_and_exact_weights() -> None:
    w = np.array([0.4, 0.3, 0.2, 0.1])
    names = ("a", "b", "c", "d")
    judgements = {names[i]: {names[j]: w[i] / w[j] for j in range(i + 1, 4)} for i in range(4)}
    result = ahp_weights(names, judgements)
    assert np.allclose(result.weights, w)
    assert result.cr == pytest.approx(0.0, abs=1e-12)


def test_the_most_inconsistent_judgement_is_the_one_contradicting_the_others() -> None:
    names = ("a", "b", "c", "d")
    w = dict(zip(names, (0.4, 0.3, 0.2, 0.1), strict=True))
    judgements = {x: {y: w[x] / w[y] for y in names[i + 1 :]} for i, x in enumerate(names)}
    judgements["b"]["c"] = 1 / 5  # the others say 1.5
    result = ahp_weights(names, judgements)
    assert result.cr > 0.1
    assert result.worst is not None
    assert (result.worst.row, result.worst.column, result.worst.value) == ("b", "c", 0.2)


def test_random_index_is_saatys_table() -> None:
    assert [RANDOM_INDEX[n] for n in range(3, 11)] == [
        0.58,
        0.90,
        1.12,
        1.24,
        1.32,
        1.41,
        1.45,
        1.49,
    ]


@pytest.mark.parametrize(
    ("judgements", "message", "loc"),
    [
        ({"a": {"b": 2}}, "missing judgement(s): a vs c, b vs c", ()),
        ({"a": {"b": 2, "c": 3}, "b": {"x": 2}}, "'x' is not a criterion", ("b", "x")),
        ({"a": {"b": 2, "c": 3}, "b": {"c": 12}}, "off Saaty's 1-9 scale", ("b", "c")),
        ({"a": {"b": 2, "c": 3, "a": 1}, "b": {"c": 1}}, "not compared with itself", ("a", "a")),
        ({"a": {"b": 2, "c": 3}, "b": {"c": 1, "a": 1 / 2}}, "a is judged twice", ("b", "a")),
    ],
)
def test_bad_judgements_are_named(judgements: dict, message: str, loc: tuple) -> None:
    with pytest.raises(AhpError) as info:
        pairwise_matrix(("a", "b", "c"), judgements)
    assert message in str(info.value)
    assert info.value.loc == loc


AHP_SECTION = """weights:
  ahp:
    freeway_access: {seismic: 2, members: 1, competition: 3}
    seismic: {members: 1/2, competition: 2}
    members: {competition: 3}
"""


def _ahp_config(folder: Path, section: str = AHP_SECTION, keep_weight: bool = False) -> Path:
    text = WORLD_CONFIG
    if not keep_weight:
        text = re.sub(r"\n    weight: \d+", "", text)
    path = folder / "ahp.yaml"
    path.write_text(text.replace("outputs:", section + "outputs:"), encoding="utf-8")
    return path


def test_config_ahp_weights_become_the_criteria_weights(tmp_path: Path) -> None:
    config = load_config(_ahp_config(tmp_path), check_files=False)
    weights = [
        config.criteria[n].weight for n in ("freeway_access", "seismic", "members", "competition")
    ]
    assert sum(weights) == pytest.approx(1.0)  # type: ignore[arg-type]
    assert weights[0] > weights[3]  # type: ignore[operator]
    assert config.weights is not None and config.weights.result is not None
    assert config.weights.result.cr < 0.1


def test_inconsistent_config_is_refused_naming_the_judgement_and_its_line(tmp_path: Path) -> None:
    section = AHP_SECTION.replace(
        "{members: 1/2, competition: 2}", "{members: 1/2, competition: 1/9}"
    )
    path = _ahp_config(tmp_path, section)
    with pytest.raises(ConfigError) as info:
        load_config(path, check_files=False)
    text = str(info.value)
    line = line_of(path, "seismic: {members")
    assert text.startswith(f"{path}:{line}: weights.ahp.seismic.competition: ")
    assert "consistency ratio" in text and "seismic vs competition = 1/9" in text
    assert "allow_inconsistent: true" in text
    allowed = _ahp_config(tmp_path, section + "  allow_inconsistent: true\n")
    config = load_config(allowed, check_files=False)
    assert config.weights.result.cr > 0.1  # type: ignore[union-attr]


def test_weight_and_ahp_are_mutually_exclusive(tmp_path: Path) -> None:
    path = _ahp_config(tmp_path, keep_weight=True)
    with pytest.raises(ConfigError) as info:
        load_config(path, check_files=False)
    line = line_of(path, "weight: 3")
    assert str(info.value) == (
        f"{path}:{line}: criteria.freeway_access.weight: give weights either on each criterion "
        "('weight:') or as 'weights: {ahp: ...}', not both; remove this weight or the weights "
        "section"
    )


def test_missing_pair_in_config_is_named(tmp_path: Path) -> None:
    path = _ahp_config(tmp_path, AHP_SECTION.replace("    members: {competition: 3}\n", ""))
    with pytest.raises(
        ConfigError, match=r"weights\.ahp: missing judgement\(s\): members vs competition"
    ):
        load_config(path, check_files=False)


def test_weights_command_prints_weights_and_cr(tmp_path: Path) -> None:
    result = invoke("weights", str(_ahp_config(tmp_path)))
    assert result.exit_code == 0, result.output
    assert "consistency ratio 0.0" in result.output
    assert "freeway_access" in result.output and "AHP" in result.output


def test_weights_command_direct_weights_are_normalised(tmp_path: Path) -> None:
    path = tmp_path / "direct.yaml"
    path.write_text(WORLD_CONFIG, encoding="utf-8")
    result = invoke("weights", str(path))
    assert result.exit_code == 0, result.output
    assert "0.375" in result.output and "0.125" in result.output  # 3/8 and 1/8
