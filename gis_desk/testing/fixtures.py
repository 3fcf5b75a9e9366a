"""Shared pytest fixtures (plugin ``gis_desk`` via the pytest11 entry point).

Every test gets its own user configuration folder so settings, recent projects and plugin
state never leak between tests or into the developer's real configuration.
"""

from __future__ import annotations

from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
SAMPLE_DIR = REPO_ROOT / "sample_surveys"
SHARED_REAL_DATA = REPO_ROOT.parent / "shared" / "data" / "real"


@pytest.fixture(autouse=True)
def _isolated_user_config(tmp_path_factory, monkeypatch):
    monkeypatch.setenv("GIS_DESK_CONFIG_DIR", str(tmp_path_factory.mktemp("config")))


@pytest.fixture
def real_data() -> Path:
    """The shared folder of real public data (skips when it is not beside the checkout)."""
    if not SHARED_REAL_DATA.exists():
        pytest.skip(f"shared real data not found at {SHARED_REAL_DATA}")
    return SHARED_REAL_DATA


@pytest.fixture
def session():
    """A Session with every installed plugin and an empty project."""
    from gis_desk.session import Session

    return Session()
