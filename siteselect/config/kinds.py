"""Criterion kinds as the config sees them: the spec base class and the registry of specs.

A *kind* (``network_time``, ``distance``...) is one measurement of the
candidates; its config model is a :class:`KindSpec` subclass. The kinds live in
:mod:`siteselect.criteria` (one module per kind) and register their spec here
when imported, through :func:`siteselect.criteria.base.register`. The config
never imports the kinds by name: :func:`load_kinds` imports the built-in kinds
package and any installed package that declares kinds under the
``siteselect.kinds`` entry-point group, e.g. in its ``pyproject.toml``::

    [project.entry-points."siteselect.kinds"]
    traffic_noise = "my_health_system.noise"

so that the data flow stays one way (config -> study -> criteria -> decision
-> outputs) and a kind is added without touching the config code.
"""

from __future__ import annotations

import importlib
import logging
from importlib.metadata import entry_points
from typing import ClassVar

from pydantic import BaseModel, ConfigDict, Field

from siteselect.decision.transforms import Transform

logger = logging.getLogger(__name__)

BUILTIN_KINDS = "siteselect.criteria"
"""The package whose import registers the built-in kinds."""

ENTRY_POINT_GROUP = "siteselect.kinds"
"""Entry-point group of third-party kinds (each entry names a module to import)."""

SPECS: dict[str, type[KindSpec]] = {}
"""Registered kinds: name -> spec class, in registration order."""


class KindSpec(BaseModel):
    """Fields common to every criterion or constraint entry.

    Subclasses add their own parameters, declare ``kind`` as a ``Literal`` and
    override :meth:`bounds` when they support constraint bounds. Every number
    must be finite (``.inf`` and ``.nan`` are config errors); ``weight`` must be
    a YAML number (a quoted ``"2"`` or ``yes`` is an error, not silently 2 or 1).
    """

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    kind: str
    weight: float | None = Field(
        default=None,
        ge=0,
        strict=True,
        description="Relative importance (criteria only); a finite number >= 0.",
    )
    transform: Transform | None = Field(
        default=None, description="Value function mapping the raw value to [0, 1] (criteria only)."
    )
    label: str | None = Field(default=None, description="Human label for maps and reports.")

    bound_fields: ClassVar[tuple[str, ...]] = ()
    """Names of the fields that act as constraint bounds (lower, upper)."""

    def bounds(self) -> tuple[float | None, float | None]:
        """Return (lower, upper) bounds in the raw unit; None where unbounded."""
        return (None, None)

    def layer_names(self) -> list[str]:
        """Names of the ``layers:`` entries this spec reads."""
        name = getattr(self, "layer", None)
        return [name] if isinstance(name, str) else []

    def uses_network(self) -> bool:
        """Whether evaluating this spec needs the road network."""
        return False


def register_spec(spec_class: type[KindSpec]) -> str:
    """Add ``spec_class`` to :data:`SPECS` and return its kind name.

    The name is the single value of the spec's ``kind`` Literal.

    Raises
    ------
    TypeError
        When ``kind`` is not a Literal of one string.
    ValueError
        When another spec class already registered that name.
    """
    annotation = spec_class.model_fields["kind"].annotation
    (name,) = getattr(annotation, "__args__", (None,))
    if not isinstance(name, str):
        raise TypeError(f"{spec_class.__name__}.kind must be a Literal of one string")
    if SPECS.get(name, spec_class) is not spec_class:
        raise ValueError(f"criterion kind {name!r} registered twice")
    SPECS[name] = spec_class
    return name


def load_kinds() -> dict[str, type[KindSpec]]:
    """Import the built-in kinds and every ``siteselect.kinds`` entry point; return :data:`SPECS`.

    Importing is idempotent (Python caches modules), so this is cheap after the
    first call. A third-party kind that fails to import is logged and skipped:
    a config that uses it then fails with "unknown kind", naming the kinds known.
    """
    importlib.import_module(BUILTIN_KINDS)
    for entry in entry_points(group=ENTRY_POINT_GROUP):
        try:
            importlib.import_module(entry.value.split(":")[0])
        except Exception as exc:  # a broken plug-in must not stop the built-in kinds
            logger.warning("criterion kinds %r (%s) not loaded: %s", entry.name, entry.value, exc)
    return SPECS
