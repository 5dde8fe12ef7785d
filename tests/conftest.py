"""Shared fixtures."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests._world import write_world

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("SITESELECT_SHARED_DATA", REPO.parent / "shared" / "data"))


@pytest.fixture(scope="session")
def world_config(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Config path of the tiny synthetic world (written once per session)."""
    return write_world(tmp_path_factory.mktemp("world"))


@pytest.fixture
def shared_data() -> Path:
    """../shared/data, or skip where it is absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real data not available at {SHARED_DATA}")
    return SHARED_DATA
