"""Loading a config: YAML with line numbers, validation, cross-references, files.

``load_config(path)`` reads the YAML (:mod:`siteselect.config.yaml_doc`),
validates it against :class:`~siteselect.config.model.Config` (every model
forbids unknown keys), resolves every file path relative to the config file,
and checks what pydantic cannot: cross-references (a criterion's ``layer`` must
name an entry of ``layers:``), expressions, the decision and land sections, and
that the files exist. Any problem raises
:class:`~siteselect._errors.ConfigError` with a one-line message such as::

    configs/demo.yaml:14: criteria.seismic.weight: must be >= 0
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from pydantic import (
    ValidationError,
)

from siteselect.config.aggregation import check_order_weights
from siteselect.config.candidates import check_grid
from siteselect.config.errors import first_error
from siteselect.config.expressions import ExpressionError, parse
from siteselect.config.kinds import KindSpec
from siteselect.config.land import check_buildable
from siteselect.config.model import Config, ensure_kinds
from siteselect.config.weights import apply_weights
from siteselect.config.yaml_doc import PathKey, YamlDocument, load_yaml

logger = logging.getLogger(__name__)


def _check_references(config: Config, doc: YamlDocument) -> None:
    """Cross-field checks pydantic cannot express with a useful location."""
    for section in ("criteria", "constraints"):
        entries: dict[str, KindSpec] = getattr(config, section)
        for name, spec in entries.items():
            loc: PathKey = (section, name)
            for layer in spec.layer_names():
                if layer not in config.layers:
                    known = ", ".join(sorted(config.layers)) or "none defined"
                    raise doc.error(
                        (*loc, "layer"),
                        f"unknown layer {layer!r}; add it under 'layers:' (known: {known})",
                    )
            if spec.uses_network() and config.network is None:
                raise doc.error((*loc, "kind"), "needs a road network: add a 'network:' section")
            if section == "criteria":
                if spec.weight is None:
                    raise doc.error(loc, "missing 'weight' (a number >= 0)")
                if spec.transform is None:
                    raise doc.error(
                        loc, "missing 'transform' (e.g. {fn: linear, best: .., worst: ..})"
                    )
                if spec.transform.fn == "categories" and spec.kind != "attribute":
                    raise doc.error(
                        (*loc, "transform", "fn"),
                        "categories scores a candidate's own column: use it with kind: attribute",
                    )
            else:
                if spec.bounds() == (None, None) and not getattr(spec, "excludes_by_itself", 0):
                    fields = " or ".join(spec.bound_fields) or "a bound"
                    raise doc.error(loc, f"a constraint needs {fields}")
                for extra in ("weight", "transform"):
                    if getattr(spec, extra) is not None:
                        raise doc.error(
                            (*loc, extra), f"'{extra}' belongs under criteria, not constraints"
                        )
    _check_expressions(config, doc)
    if config.buildable is not None:
        check_buildable(config.buildable, config.constraints, config.layers, doc)
    check_grid(config.candidates.grid, config.study_area is not None, config.layers, doc)
    for index, layer in enumerate(config.outputs.context_layers):
        if layer not in config.layers:
            raise doc.error(("outputs", "context_layers", index), f"unknown layer {layer!r}")
    if config.criteria and all((s.weight or 0) == 0 for s in config.criteria.values()):
        raise doc.error(
            ("criteria",), "all weights are 0; give at least one criterion a weight > 0"
        )


def _check_decision(config: Config, doc: YamlDocument) -> None:
    """AHP weights onto the criteria; owa order weights, one per criterion."""
    apply_weights(config.weights, config.criteria, doc)
    problem = check_order_weights(config.aggregation, len(config.criteria))
    if problem is not None:
        raise doc.error(("aggregation", "order_weights"), problem)


def _check_expressions(config: Config, doc: YamlDocument) -> None:
    """Population expressions must parse (columns are checked when the layer is read)."""
    for section in ("criteria", "constraints"):
        for name, spec in getattr(config, section).items():
            text = getattr(spec, "population", None)
            if not isinstance(text, str):
                continue
            try:
                parse(text)
            except ExpressionError as exc:
                raise doc.error(
                    (section, name, "population"),
                    f"{exc}; write arithmetic (+ - * /, parentheses, numbers) over column names",
                ) from None


def _check_files(config: Config, doc: YamlDocument) -> None:
    """Every referenced input file must exist."""
    checks: list[tuple[PathKey, Path]] = []
    if config.candidates.source is not None:
        checks.append((("candidates", "source"), config.candidates.source))
    if config.study_area is not None:
        checks.append((("study_area", "source"), config.study_area.source))
    if config.network is not None and not config.network.is_online:
        assert config.network.source is not None  # set by NetworkSpec._choose_input
        checks.append((("network", "source"), config.network.source))
    checks += [(("layers", k, "source"), v.source) for k, v in config.layers.items()]
    for loc, path in checks:
        if not path.exists():
            raise doc.error(loc, f"file not found: {path} (paths are relative to the config file)")


def load_config(path: str | Path, *, check_files: bool = True) -> Config:
    """Load, validate and resolve a YAML config.

    Parameters
    ----------
    path : str or Path
        The YAML file.
    check_files : bool
        Also check that every referenced input file exists.

    Returns
    -------
    Config
        With every path absolute.

    Raises
    ------
    ConfigError
        One-line message ``file:line: field.path: problem``.
    """
    path = Path(path)
    doc = load_yaml(path)
    if not isinstance(doc.data, dict):
        if doc.data is None:
            raise doc.error((), "the file is empty; start from configs/demo.yaml")
        raise doc.error(
            (),
            f"expected a mapping of settings at the top level (found a {type(doc.data).__name__}); "
            "start from configs/demo.yaml",
        )
    context = {"base_dir": path.resolve().parent}
    ensure_kinds()
    try:
        config = Config.model_validate(doc.data, context=context)
    except ValidationError as exc:
        raise first_error(exc, doc, Config) from None
    config.source_path = path.resolve()
    config._doc = doc
    if config.outputs.dir is None:
        config.outputs.dir = _default_output_dir(path)
    _check_decision(config, doc)
    _check_references(config, doc)
    if check_files:
        _check_files(config, doc)
    logger.debug(
        "loaded config %s (%d criteria, %d constraints)",
        path,
        len(config.criteria),
        len(config.constraints),
    )
    return config


def _default_output_dir(config_path: Path) -> Path:
    folder = config_path.resolve().parent
    root = folder.parent if folder.name == "configs" else folder
    return root / "outputs" / config_path.stem


def config_schema() -> dict[str, Any]:
    """JSON schema of the config file (what ``siteselect schema`` prints)."""
    ensure_kinds()
    schema = Config.model_json_schema(mode="validation")
    schema.get("properties", {}).pop("source_path", None)
    schema["title"] = "siteselect configuration"
    return schema
