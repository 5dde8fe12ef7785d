"""How a config names a raster band: a 1-based index or a band name."""

from __future__ import annotations

from typing import Annotated

from pydantic import BeforeValidator


def _check_band(value: object) -> object:
    """Pydantic before-validator of a band reference: an index >= 1 or a non-empty name."""
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise ValueError(f"must be a band index (1, 2...) or a band name (got {value!r})")
    if isinstance(value, int) and value < 1:
        raise ValueError(f"must be >= 1 (got {value})")
    if isinstance(value, str) and not value.strip():
        raise ValueError("must be a band index (1, 2...) or a band name (got '')")
    return value


BandRef = Annotated[int | str, BeforeValidator(_check_band)]
"""A raster band in the config: a 1-based index or a band name (description or name tag)."""
