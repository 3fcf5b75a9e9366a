"""The Drone menu, the video player and the map overlay following playback."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QPointF, Qt
from PySide6.QtGui import QKeySequence

from drone_gui_fixtures import FPS, make_footage_layer, track_xy, wait_frame
from gis_desk.io.video import read_frame_number


def test_menu_and_docks(drone):
    w = drone.window
    menu = w.menus["Drone"]
    texts = [a.text().split("\t")[0].replace("&", "") for a in menu.actions() if a.text()]
    assert texts[:4] == ["Add drone footage…", "Add drone photos…", "Add a folder of drone photos…",
                         "Import OpenDroneMap project…"]
    assert "Flight summary…" in texts and "Video player" in texts
    assert drone.player_dock.toggleViewAction().shortcut() == QKeySequence("Ctrl+Shift+V")
    assert not drone.player_dock.isVisible()
    drone.player_dock.toggleViewAction().trigger()
    assert drone.player_dock.isVisible()
    assert {"seek", "photo"} <= set(w.canvas._tools)
    # the window's own Ctrl+B / Ctrl+Shift+S stay unique (no ambiguous shortcuts)
    keys = [s.toString() for a in w.findChildren(type(drone.actions["summary"])) for s in a.shortcuts()]
    assert keys.count("Ctrl+B") == 1 and keys.count("Ctrl+Shift+S") == 1


def test_player_shows_exact_frames(drone, footage, qtbot):
    player = drone.player
    assert player.layer is footage and player.decoder.frame_count == 75
    assert read_frame_number(player.current_rgb) == 0
    for index in (40, 7, 74, 13, 60):
        player.seek_index(index)
        wait_frame(qtbot, player, index)
        assert read_frame_number(player.current_rgb) == index
        assert player.slider.value() == index
    player.step(1)
    wait_frame(qtbot, player, 61)
    assert read_frame_number(player.current_rgb) == 61
    player.step(-5)
    wait_frame(qtbot, player, 56)
    assert read_frame_number(player.current_rgb) == 56
    player.seek_time(2.0)
    wait_frame(qtbot, player, 50)
    assert player.current_time == pytest.approx(2.0) and player.time_label.text().startswith("00:02.0")
    player.slider.setValue(30)  # dragging the slider seeks
    wait_frame(qtbot, player, 30)
    assert read_frame_number(player.current_rgb) == 30


def test_keys_in_the_player(drone, footage, qtbot):
    player = drone.player
    player.seek_index(10)
    wait_frame(qtbot, player, 10)
    player.view.setFocus()
    qtbot.keyClick(player.view, Qt.Key.Key_Period)
    wait_frame(qtbot, player, 11)
    qtbot.keyClick(player.view, Qt.Key.Key_Comma)
    qtbot.keyClick(player.view, Qt.Key.Key_Comma)
    wait_frame(qtbot, player, 9)
    assert read_frame_number(player.current_rgb) == 9
    qtbot.keyClick(player.view, Qt.Key.Key_Right)
    qtbot.keyClick(player.view, Qt.Key.Key_Right)
    wait_frame(qtbot, player, 11)
    qtbot.keyClick(player.slider, Qt.Key.Key_Left)  # the slider too: one frame, not its own step
    wait_frame(qtbot, player, 10)
    assert read_frame_number(player.current_rgb) == 10
    qtbot.keyClick(player.view, Qt.Key.Key_Space)
    assert player.playing
    qtbot.keyClick(player.view, Qt.Key.Key_Space)
    assert not player.playing


def test_playback_reaches_the_end(drone, footage, qtbot):
    player = drone.player
    player.set_speed(4.0)
    assert player.speed_box.currentText() == "4x"
    player.seek_index(50)
    wait_frame(qtbot, player, 50)
    shown, marker_x = [], []
    player.frame_shown.connect(lambda i, t: (shown.append(i), marker_x.append(drone.overlay.position["x"])))
    player.play()
    qtbot.waitUntil(lambda: not player.playing and player.current_index == 74, timeout=5000)
    assert shown == sorted(shown) and shown[-1] == 74  # forward only, ending on the last frame
    assert read_frame_number(player.current_rgb) == 74
    # the marker moved east along the track with the frames, to where the drone was at the end
    assert len(marker_x) >= 3 and np.all(np.diff(marker_x) > 0)
    assert marker_x[-1] == pytest.approx(float(track_xy(74 / FPS)[0]), abs=0.01)


def test_playback_at_normal_speed_advances(drone, footage, qtbot):
    player = drone.player
    shown = []
    player.frame_shown.connect(lambda i, t: shown.append(i))
    player.play()
    qtbot.waitUntil(lambda: player.current_index >= 10, timeout=5000)
    player.pause()
    assert not player.playing and shown == sorted(shown) and len(set(shown)) >= 2
    assert read_frame_number(player.current_rgb) == player.current_index


def test_marker_follows_position_at(drone, footage, qtbot):
    player, canvas = drone.player, drone.window.canvas
    for index in (0, 25, 62):
        player.seek_index(index)
        wait_frame(qtbot, player, index)
        t = index / FPS
        expected = footage.position_at(t)
        x, y = track_xy(t)
        assert drone.overlay.position["x"] == pytest.approx(expected["x"]) == pytest.approx(float(x), abs=0.01)
        assert drone.overlay.position["y"] == pytest.approx(float(y), abs=0.01)
        px, py = canvas.viewport.world_to_pixel(float(x), float(y))
        assert drone.overlay.marker_pixel(canvas.viewport) == pytest.approx((float(px), float(py)), abs=0.01)
        # nadir camera 50 + 10 t m up, 24 mm equivalent: the footprint is centred under the drone
        fp = drone.last_footprint
        assert fp is not None and fp.centroid.distance(__import__("shapely").Point(x, y)) < 0.5
        assert fp.area > 1000
    # the footprint grows with height (rel_alt 50 m at t=0, 80 m at t=3)
    player.seek_index(0)
    wait_frame(qtbot, player, 0)
    low = drone.last_footprint.area
    player.seek_index(74)
    wait_frame(qtbot, player, 74)
    assert drone.last_footprint.area / low == pytest.approx((79.6 / 50.0) ** 2, rel=0.02)
    # the overlay draws something red where the marker is
    image = canvas.grab().toImage()
    mx, my = drone.overlay.marker_pixel(canvas.viewport)
    colour = image.pixelColor(int(round(mx)), int(round(my)))
    assert colour.red() > 180 and colour.green() < 90


def test_sync_offset_moves_the_marker(drone, footage, qtbot):
    player = drone.player
    player.seek_index(50)
    wait_frame(qtbot, player, 50)
    player.offset_box.setValue(1.0)  # video time = telemetry time + 1 s
    assert footage.sync_offset_s == 1.0
    x, _ = track_xy(1.0)
    assert drone.overlay.position["x"] == pytest.approx(float(x), abs=0.01)
    other = make_footage_layer(None)
    other.sync_offset_s = -2.5
    drone.set_footage(other)  # telemetry only: no video, the box shows that layer's offset
    assert player.offset_box.value() == -2.5 and not player.has_video
    drone.set_footage(footage)
    wait_frame(qtbot, player, 0)
    assert player.offset_box.value() == 1.0


def test_click_on_track_seeks(drone, footage, qtbot):
    canvas = drone.window.canvas
    canvas.set_tool("seek")
    assert drone.actions["seek_tool"].isChecked()
    x, y = track_xy(2.2)
    px, py = canvas.viewport.world_to_pixel(float(x), float(y))
    t = drone.seek_tool.click_at(QPointF(float(px) + 3, float(py) - 2))  # a few pixels off the line
    assert t == pytest.approx(2.2, abs=0.05)
    wait_frame(qtbot, drone.player, int(round(t * FPS)))
    index = drone.player.current_index
    assert read_frame_number(drone.player.current_rgb) == index == int(round(t * FPS))
    assert abs(index - 55) <= 1  # 3 px off the line is about a metre along it
    # a real mouse click on the canvas does the same
    x, y = track_xy(0.4)
    px, py = canvas.viewport.world_to_pixel(float(x), float(y))
    qtbot.mouseClick(canvas, Qt.MouseButton.LeftButton, pos=QPointF(float(px), float(py)).toPoint())
    wait_frame(qtbot, drone.player)
    assert abs(drone.player.current_index - 10) <= 1  # the click lands on a whole pixel
    # far from the track: nothing happens
    far = canvas.viewport.world_to_pixel(X_FAR := float(track_xy(1.5)[0]), float(track_xy(1.5)[1]) + 400)
    assert drone.seek_tool.click_at(QPointF(float(far[0]), float(far[1]))) is None
    assert abs(drone.player.requested_index - 10) <= 1
    canvas.set_tool("pan")
    assert not drone.actions["seek_tool"].isChecked()
    assert X_FAR


def test_missing_video_is_reported_not_raised(drone, tmp_path, qtbot):
    layer = make_footage_layer(tmp_path / "gone.mp4")
    drone.window.session.add_layers([layer])
    drone.set_footage(layer)
    assert not drone.player.has_video
    assert "cannot be played" in drone.player.view.placeholder
    assert any("gone.mp4" in line for line in drone.window.message_log.lines()) \
        if hasattr(drone.window.message_log, "lines") else True


def test_removing_the_layer_empties_the_player(drone, footage):
    drone.window.session.remove_layers([footage])
    assert drone.player.layer is None and drone.player.decoder is None
    assert drone.overlay.position is None


def test_install_is_idempotent(drone):
    from gis_desk.qt.drone import install_drone

    w = drone.window
    assert install_drone(w) is drone
    assert [m for m in w.menuBar().actions() if m.text().replace("&", "") == "Drone"].__len__() == 1


def test_map_tools_share_the_window_tool_group(drone):
    w = drone.window
    seek, photo = drone.actions["seek_tool"], drone.actions["photo_tool"]
    assert w.findChild(type(drone.toolbar), "drone_toolbar") is drone.toolbar
    assert seek in drone.toolbar.actions() and photo in drone.toolbar.actions()
    seek.trigger()
    assert w.canvas.tool_name == "seek" and seek.isChecked() and not w.actions_.pan.isChecked()
    photo.trigger()
    assert w.canvas.tool_name == "photo" and photo.isChecked() and not seek.isChecked()
    w.actions_.identify.trigger()
    assert w.canvas.tool_name == "identify" and not photo.isChecked()
    w.canvas.set_tool("seek")
    assert seek.isChecked() and not w.actions_.identify.isChecked()
    w.actions_.pan.trigger()
    assert w.canvas.tool_name == "pan" and not seek.isChecked()
