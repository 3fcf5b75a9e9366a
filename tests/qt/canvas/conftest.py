"""Fixtures for map canvas tests (the scene is described in ``_canvas_scene``)."""

from __future__ import annotations

import pytest

from _canvas_scene import EXTENT, HEIGHT, WIDTH, RenderCounter, build_scene, settle


@pytest.fixture
def scene(session):
    return build_scene(session)


@pytest.fixture
def render_counter(monkeypatch):
    from gis_desk.render import renderer

    counter = RenderCounter(renderer.render_layer)
    monkeypatch.setattr(renderer, "render_layer", counter)
    return counter


@pytest.fixture
def canvas(qtbot, scene):
    from gis_desk.qt.canvas import MapCanvas

    widget = MapCanvas(scene)
    qtbot.addWidget(widget)
    widget.resize(WIDTH, HEIGHT)
    widget.show()
    qtbot.waitExposed(widget)
    widget.set_extent(EXTENT)
    settle(qtbot, widget)
    return widget
