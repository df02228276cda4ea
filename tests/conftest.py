"""Shared fixtures: tiny real files written on the fly, and the real data set."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from atlas.config import load_programme

REAL_DATA = Path(os.environ.get("ATLAS_REAL_DATA", Path(__file__).resolve().parents[2] / "shared" / "data" / "real"))


@pytest.fixture(scope="session")
def real_data() -> Path:
    """The shared real data set (../shared/data/real); skips with a reason where absent."""
    if not (REAL_DATA / "SOURCES.md").is_file():
        pytest.skip(f"real data set not found at {REAL_DATA} (set ATLAS_REAL_DATA to its folder)")
    return REAL_DATA


@pytest.fixture
def programme(tmp_path):
    """The default programme with its data folders under tmp_path."""
    return load_programme().with_root(tmp_path)


@pytest.fixture(scope="session")
def prefect_harness(tmp_path_factory):
    """A throwaway Prefect database and server for flow runs in tests."""
    os.environ.setdefault("PREFECT_HOME", str(tmp_path_factory.mktemp("prefect_home")))
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        yield
