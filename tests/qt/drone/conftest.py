"""Fixtures for the Drone GUI tests: a numbered clip (each frame shows its index), the installed
Drone controller, and a footage layer on that clip shown in the player (helpers live in
``drone_gui_fixtures``)."""

from __future__ import annotations

from pathlib import Path

import pytest

from drone_gui_fixtures import FPS, SECONDS, make_footage_layer, wait_frame
from gis_desk.io.video import write_numbered_clip


@pytest.fixture(scope="session")
def numbered_clip(tmp_path_factory) -> Path:
    return write_numbered_clip(tmp_path_factory.mktemp("drone_clip") / "flight.mp4", seconds=SECONDS, fps=FPS,
                               width=320, height=180, gop=12)


@pytest.fixture
def drone(main_window):
    from gis_desk.qt.drone import install_drone

    d = getattr(main_window, "drone", None) or install_drone(main_window)
    yield d
    d.close()


@pytest.fixture
def footage(drone, numbered_clip, qtbot):
    """The footage layer added to the window and shown in the player at frame 0."""
    layer = make_footage_layer(numbered_clip)
    drone.window.session.add_layers([layer])
    drone.window.layer_tree.set_current_layer(layer)
    drone.show_player()
    drone.window.canvas.zoom_to_layer(layer)
    wait_frame(qtbot, drone.player, 0)
    return layer
