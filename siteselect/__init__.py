"""siteselect: config-driven GIS multi-criteria site selection for hospitals."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("siteselect")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0.0.0+unknown"

__all__ = ["__version__"]
