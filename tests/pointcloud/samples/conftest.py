"""Session fixtures: each shipped sample loaded and compared once (helpers in pc_sample_sites.py)."""

from __future__ import annotations

import pytest

from pc_sample_sites import load_site


@pytest.fixture(scope="session")
def bridge_site() :
    return load_site("bridge")


@pytest.fixture(scope="session")
def seawall_site() :
    return load_site("seawall")


@pytest.fixture(scope="session")
def bridge_result(bridge_site):
    from gis_desk.analysis.change import compare_epochs

    return compare_epochs(bridge_site.epoch1, bridge_site.epoch2, bridge_site.settings())


@pytest.fixture(scope="session")
def seawall_result(seawall_site):
    from gis_desk.analysis.change import compare_epochs

    return compare_epochs(seawall_site.epoch1, seawall_site.epoch2, seawall_site.settings())
