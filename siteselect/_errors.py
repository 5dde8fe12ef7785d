"""Exception hierarchy of siteselect.

Every error a user can cause derives from :class:`SiteSelectError` and carries a
message that says what is wrong, where (file, YAML line, field or feature) and
what to do about it. The CLI prints ``error: <message>`` on one line and exits
with code 2; library users catch the builtin base class they expect
(``ValueError`` for bad configuration, ``OSError`` for unreadable layers).
"""

from __future__ import annotations


class SiteSelectError(Exception):
    """Root of every error siteselect raises on purpose."""


class ConfigError(SiteSelectError, ValueError):
    """The YAML configuration is malformed or inconsistent."""


class LayerError(SiteSelectError, OSError):
    """An input layer is missing, unreadable, empty or unusable."""


class NetworkError(SiteSelectError, ValueError):
    """The road network cannot answer the question asked of it."""


class CriterionError(SiteSelectError, ValueError):
    """A criterion or constraint cannot be evaluated on the given data.

    ``field`` names the entry's key at fault (``population``), so that the
    message can point at that YAML line rather than at the entry's.
    """

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class OutputError(SiteSelectError, OSError):
    """Results could not be written."""


class EngineError(SiteSelectError, RuntimeError):
    """The compute cluster (``--engine dask``) cannot be reached, or lost a worker."""
