"""Re-scoring from the criteria cache: new weights without measuring anything again.

``siteselect rescore CONFIG --weight members=6`` takes the candidates and every
raw measurement from the criteria cache a previous ``siteselect run CONFIG``
left (:mod:`siteselect.criteria.cache`), then goes through the very scoring
path of ``run`` (:func:`siteselect.pipeline.run` with ``from_cache=True``:
transforms, constraint bounds, exclusions and their accounting, weights,
aggregation, ranking): with the config's own weights it reproduces ``run``'s
results; with other weights it equals a full run with those weights in the
config. A cache entry that is missing or stale (an input file or a measurement
parameter changed since the run) is a one-line :class:`CacheError`.

Weights come from the config, then a weights file (YAML ``weights: {criterion:
number}``, the format the map's "copy weights as YAML" button writes), then
``--weight NAME=VALUE`` options, each overriding the previous.
"""

from __future__ import annotations

import difflib
import logging
import math
from pathlib import Path
from typing import Any

from siteselect._errors import ConfigError
from siteselect.config import Config
from siteselect.config.yaml_doc import load_yaml
from siteselect.decision.results import RunResult
from siteselect.pipeline import Reporter
from siteselect.pipeline import run as run_pipeline

logger = logging.getLogger(__name__)

__all__ = ["parse_weight_options", "read_weights_file", "rescore", "with_weights"]


def _unknown(name: str, config: Config) -> str:
    names = list(config.criteria)
    close = difflib.get_close_matches(name, names, n=1)
    hint = f"did you mean {close[0]!r}? " if close else ""
    return f"no criterion named {name!r} ({hint}criteria: {', '.join(names)})"


def _number(value: Any) -> float | None:
    """``value`` as a finite number >= 0, else None (booleans and strings are not numbers)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    number = float(value)
    return number if math.isfinite(number) and number >= 0 else None


def parse_weight_options(options: tuple[str, ...] | list[str], config: Config) -> dict[str, float]:
    """``("members=6", "seismic=2.5")`` -> ``{"members": 6.0, "seismic": 2.5}``.

    Raises
    ------
    ConfigError
        An option that is not ``NAME=VALUE``, an unknown criterion, or a value
        that is not a finite number >= 0: one line naming the option.
    """
    weights: dict[str, float] = {}
    for option in options:
        name, sep, text = option.partition("=")
        name = name.strip()
        if not sep or not name:
            raise ConfigError(f"--weight {option}: expected NAME=VALUE, e.g. --weight members=6")
        if name not in config.criteria:
            raise ConfigError(f"--weight {option}: {_unknown(name, config)}")
        try:
            value = _number(float(text))
        except ValueError:
            value = None
        if value is None:
            raise ConfigError(f"--weight {option}: the weight must be a finite number >= 0")
        weights[name] = value
    return weights


def read_weights_file(path: Path, config: Config) -> dict[str, float]:
    """The weights of a YAML weights file: ``weights: {criterion_name: number, ...}``.

    Raises
    ------
    ConfigError
        Not such a mapping, an unknown criterion name or a value that is not a
        finite number >= 0: one line with the file and YAML line.
    """
    doc = load_yaml(Path(path))
    data = doc.data
    if not isinstance(data, dict) or not isinstance(data.get("weights"), dict):
        first = next(iter(data), None) if isinstance(data, dict) else None
        raise doc.error(
            () if first is None or "weights" in data else (first,),
            "expected 'weights:' with one number per criterion, e.g. "
            "weights: {members: 6, seismic: 2}",
        )
    for key in data:
        if key != "weights":
            raise doc.error((key,), f"unknown key {key!r} (a weights file holds only 'weights:')")
    weights: dict[str, float] = {}
    for name, value in data["weights"].items():
        if name not in config.criteria:
            raise doc.error(("weights", name), _unknown(str(name), config))
        number = _number(value)
        if number is None:
            raise doc.error(("weights", name), f"must be a finite number >= 0 (got {value!r})")
        weights[str(name)] = number
    return weights


def with_weights(config: Config, weights: dict[str, float], where: str = "--weight") -> Config:
    """A copy of ``config`` whose criteria have the given weights (others unchanged).

    Raises
    ------
    ConfigError
        Every weight would be 0.
    """
    if not weights:
        return config
    criteria = {
        name: spec.model_copy(update={"weight": weights[name]}) if name in weights else spec
        for name, spec in config.criteria.items()
    }
    if all((spec.weight or 0) == 0 for spec in criteria.values()):
        raise ConfigError(
            f"{where}: every weight would be 0; give at least one criterion a weight > 0"
        )
    update: dict[str, object] = {"criteria": criteria}
    if config.weights is not None:  # the given weights replace the AHP ones: not recorded as AHP
        logger.info("%s: replaces the weights derived from the AHP judgements", where)
        update["weights"] = None
    return config.model_copy(update=update)


def rescore(
    config: Config,
    weights: dict[str, float] | None = None,
    reporter: Reporter | None = None,
    weights_from: str = "--weight",
) -> RunResult:
    """Score and rank ``config``'s candidates from the criteria cache, with ``weights``.

    Raises
    ------
    CacheError
        The cache has no up-to-date candidates or measurement for an entry (the
        message names them and says to run ``siteselect run CONFIG`` first).
    """
    return run_pipeline(
        with_weights(config, weights or {}, weights_from), reporter, from_cache=True
    )


def describe_weights(config: Config, weights: dict[str, float]) -> str:
    """``members 4 -> 6`` for each changed weight (for the log and the console)."""
    parts = [
        f"{name} {config.criteria[name].weight:g} -> {value:g}"
        for name, value in weights.items()
        if config.criteria[name].weight != value
    ]
    return ", ".join(parts) or "the config's weights"
