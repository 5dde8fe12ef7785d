"""The configuration: pydantic models, YAML with line numbers, error wording, JSON schema.

The first step of the data flow (config -> study -> criteria -> decision ->
outputs). Nothing here imports the later steps: the criterion kinds register
their config models in :mod:`siteselect.config.kinds`, and :func:`load_config`
discovers them on first use.
"""

from siteselect.config.load import config_schema, load_config
from siteselect.config.model import CandidatesSpec, Config, LayerSpec, NetworkSpec

__all__ = [
    "CandidatesSpec",
    "Config",
    "LayerSpec",
    "NetworkSpec",
    "config_schema",
    "load_config",
]
