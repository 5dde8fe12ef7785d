"""Shared fixtures."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import settings

from tests._world import write_world

# Hypothesis: derandomized (the same examples on every run) unless asked otherwise, so that
# CI cannot go red on an unrelated change. `HYPOTHESIS_PROFILE=explore pytest` searches
# with fresh random examples locally (and keeps failures in .hypothesis/ to replay).
settings.register_profile("ci", derandomize=True, database=None, deadline=None, print_blob=True)
settings.register_profile("explore", deadline=None, print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

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
