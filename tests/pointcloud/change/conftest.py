"""Fixtures for the comparison-pipeline tests: the synthetic scene of pc_change_scenes.py, compared once."""

from __future__ import annotations

import pytest

from pc_change_scenes import X0, Y0, scene, section_line, stable_areas, zones


def scene_settings(**overrides):
    from gis_desk.analysis.change import ComparisonSettings
    from gis_desk.analysis.m3c2 import M3C2Params

    base = dict(stable_areas=stable_areas(), zones=zones(), core_n=5, threshold=0.01,
                m3c2=M3C2Params(normal_radius=0.4, cylinder_radius=0.3, max_depth=0.5,
                                normal_orientation=("towards", (X0 + 20, Y0 - 50, 30.0))),
                section_lines=[section_line()], section_labels=["across the wall"], site="synthetic yard")
    base.update(overrides)
    return ComparisonSettings(**base)


@pytest.fixture(scope="session")
def epochs():
    return scene(1, changed=False), scene(2, changed=True)


@pytest.fixture(scope="session")
def settings_factory():
    return scene_settings


@pytest.fixture(scope="session")
def comparison(epochs):
    from gis_desk.analysis.change import compare_epochs

    return compare_epochs(*epochs, scene_settings())
