"""Loading the config a ``run.json`` records, to run it again.

``siteselect run OUTDIR/run.json`` re-runs exactly the config that run used
(the config as loaded, stored under ``config``), its paths resolved relative to
the run.json's folder, as they were written: an output folder moved together
with its inputs still re-runs. Inputs whose SHA-256 differs from the recorded
one are named in a warning (the run goes on with the files as they are now);
a file that is not a siteselect run.json, or a damaged one, is one
:class:`~siteselect._errors.ConfigError` line.
"""

from __future__ import annotations

import importlib.metadata
import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from siteselect._errors import ConfigError
from siteselect.config.errors import first_error
from siteselect.config.load import _check_references
from siteselect.config.model import Config, ensure_kinds
from siteselect.config.yaml_doc import YamlDocument, display_path
from siteselect.hashing import sha256_file

logger = logging.getLogger(__name__)

FORMATS = (2,)
"""``siteselect_run`` values this version re-runs (1 recorded every default, so it
 could not tell the settings written from the defaults)."""


@dataclass
class Rerun:
    """A run.json made ready to run again.

    Attributes
    ----------
    config : Config
        The recorded config, its paths resolved relative to the run.json.
    run_json : Path
        The run.json (absolute).
    changed_inputs : list of str
        ``name (path)`` of every input whose SHA-256 differs from the recorded one.
    recorded : dict
        The whole run.json.
    """

    config: Config
    run_json: Path
    changed_inputs: list[str] = field(default_factory=list)
    recorded: dict[str, Any] = field(default_factory=dict)

    def record(self) -> dict[str, Any]:
        """What the new run.json says about this one (``rerun_of``; the path made relative)."""
        return {
            "run_json": str(self.run_json),
            "created_utc": self.recorded.get("created_utc"),
            "changed_inputs": self.changed_inputs,
        }


def is_run_json(path: Path) -> bool:
    """Whether ``siteselect run PATH`` should read PATH as a run.json (by its suffix)."""
    return path.suffix.lower() == ".json"


def _read(path: Path) -> dict[str, Any]:
    shown = display_path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{shown}: file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{shown}: cannot read it ({exc})") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(
            f"{shown}:{exc.lineno}: not valid JSON ({exc.msg}); the file is damaged: "
            "re-run the YAML config instead"
        ) from None
    if not isinstance(data, dict) or "siteselect_run" not in data or "config" not in data:
        raise ConfigError(
            f"{shown}: not a run.json written by siteselect (no 'siteselect_run' and 'config'); "
            "give a YAML config or the run.json of an output folder"
        )
    if data["siteselect_run"] not in FORMATS or not isinstance(data["config"], dict):
        raise ConfigError(
            f"{shown}: run.json format {data['siteselect_run']!r} is not one this siteselect "
            f"re-runs ({', '.join(map(str, FORMATS))}); re-run the YAML config instead"
        )
    return data


def _changed_inputs(data: dict[str, Any], folder: Path) -> list[str]:
    """Recorded inputs (the stored config apart) whose file now has another SHA-256."""
    changed = []
    for name, entry in (data.get("inputs") or {}).items():
        if name == "config" or not isinstance(entry, dict) or "path" not in entry:
            continue
        path = folder / str(entry["path"])
        if path.is_file() and sha256_file(path) != entry.get("sha256"):
            changed.append(f"{name} ({entry['path']})")
    return changed


def _check_files(config: Config, doc: YamlDocument) -> None:
    for name, spec in config.all_layer_specs().items():
        if not spec.source.exists():
            raise doc.error(
                (*name.split("."), "source"),
                f"file not found: {spec.source} (run.json's paths are relative to its folder: "
                "keep the inputs where they were relative to the output folder)",
            )
    network = config.network
    online = network is None or network.is_online
    if network is not None and not online and network.source and not network.source.exists():
        raise doc.error(("network", "source"), f"file not found: {network.source}")


def load_rerun(path: str | Path) -> Rerun:
    """Read ``path`` (a run.json) and rebuild its config.

    Raises
    ------
    ConfigError
        The file is missing, not JSON, not a siteselect run.json, of an unknown
        format, its config no longer validates, or an input file is missing:
        one line naming the file and what to do.
    """
    path = Path(path).resolve()
    data = _read(path)
    folder = path.parent
    doc = YamlDocument(path=path, data=data["config"])
    ensure_kinds()
    try:
        config = Config.model_validate(data["config"], context={"base_dir": folder})
    except ValidationError as exc:
        raise first_error(exc, doc, Config) from None
    config.source_path = path
    config._doc = doc
    if config.outputs.dir is None:
        config.outputs.dir = folder
    _check_references(config, doc)
    _check_files(config, doc)
    rerun = Rerun(config, path, _changed_inputs(data, folder), data)
    shown = display_path(path)
    if rerun.changed_inputs:
        logger.warning(
            "%s: inputs changed since that run (SHA-256 differs): %s; re-running with the "
            "files as they are now, so the results may differ",
            shown,
            ", ".join(rerun.changed_inputs),
        )
    recorded = (data.get("siteselect") or {}).get("version")
    try:
        current = importlib.metadata.version("siteselect")
    except importlib.metadata.PackageNotFoundError:
        current = None
    if recorded and current and recorded != current:
        logger.warning(
            "%s was written by siteselect %s and this is %s: the results may differ",
            shown,
            recorded,
            current,
        )
    return rerun
