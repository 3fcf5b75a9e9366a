"""Map tools on the canvas: zoom box, identify, measure distance and area, select."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QPoint, Qt

from _canvas_scene import PIXEL_M, settle, to_px


def at(x, y):
    """Widget pixel of map point (x, y) in the default test view."""
    px, py = to_px(x, y)
    return QPoint(round(px), round(py))


def drag(qtbot, canvas, start: QPoint, end: QPoint, modifier=Qt.KeyboardModifier.NoModifier):
    qtbot.mousePress(canvas, Qt.MouseButton.LeftButton, modifier, start)
    mid = QPoint((start.x() + end.x()) // 2, (start.y() + end.y()) // 2)
    qtbot.mouseMove(canvas, mid)
    qtbot.mouseMove(canvas, end)
    qtbot.mouseRelease(canvas, Qt.MouseButton.LeftButton, modifier, end)


def test_zoom_box_shows_the_dragged_box(qtbot, canvas):
    canvas.set_tool("zoom_in_box")
    drag(qtbot, canvas, at(1000, 2000), at(2000, 1000))  # a 1000 m square
    vp = canvas.viewport
    assert vp.center == pytest.approx((1500, 1500))
    assert vp.extent[3] - vp.extent[1] == pytest.approx(1000)  # height fits, width grows to 4:3
    assert vp.extent[2] - vp.extent[0] == pytest.approx(1000 * 4 / 3)
    settle(qtbot, canvas)
    # a plain click zooms in two times about the click
    ps = vp.pixel_size
    qtbot.mouseClick(canvas, Qt.MouseButton.LeftButton, pos=QPoint(100, 100))
    assert canvas.viewport.pixel_size == pytest.approx(ps / 2)


def test_identify_click_emits_the_feature_under_the_cursor_top_first(qtbot, canvas, scene):
    canvas.set_tool("identify")
    with qtbot.waitSignal(canvas.identify_results, timeout=2000) as blocker:
        qtbot.mouseClick(canvas, Qt.MouseButton.LeftButton, pos=at(1700, 1700))
    results = blocker.args[0]
    assert [(r.layer.name, r.feature_id) for r in results] == [("blue", 0), ("red", 0)]
    assert results[0].attributes == {"name": "blue0"}
    # a point is found within a few pixels of the click
    with qtbot.waitSignal(canvas.identify_results, timeout=2000) as blocker:
        qtbot.mouseClick(canvas, Qt.MouseButton.LeftButton, pos=at(3200 + 2 * PIXEL_M, 500))
    assert [(r.layer.name, r.feature_id) for r in blocker.args[0]] == [("pts", 1)]
    with qtbot.waitSignal(canvas.identify_results, timeout=2000) as blocker:
        qtbot.mouseClick(canvas, Qt.MouseButton.LeftButton, pos=at(3200 + 10 * PIXEL_M, 500))
    assert blocker.args[0] == []


def test_measure_distance_clicks_running_segment_finish_and_escape(qtbot, canvas):
    canvas.set_tool("measure_distance")
    texts = []
    canvas.measure_changed.connect(texts.append)
    qtbot.mouseClick(canvas, Qt.MouseButton.LeftButton, pos=QPoint(100, 100))
    qtbot.mouseClick(canvas, Qt.MouseButton.LeftButton, pos=QPoint(130, 140))  # 50 px = 500 m
    assert texts[-1] == "Distance 500.0 m"
    qtbot.mouseMove(canvas, QPoint(130, 240))  # running segment of 100 px
    assert texts[-1] == "Distance 1,500.0 m (segment 1,000.0 m)"
    qtbot.mouseDClick(canvas, Qt.MouseButton.LeftButton, pos=QPoint(130, 240))
    assert texts[-1] == "Distance 1,500.0 m"
    qtbot.mouseMove(canvas, QPoint(300, 10))  # finished: moving changes nothing
    assert texts[-1] == "Distance 1,500.0 m"
    # the next click starts a new measurement; Esc clears it
    qtbot.mouseClick(canvas, Qt.MouseButton.LeftButton, pos=QPoint(10, 10))
    assert texts[-1] == "Distance 0.0 m"
    qtbot.keyClick(canvas, Qt.Key.Key_Escape)
    assert texts[-1] == ""


def test_measure_area_right_click_finishes(qtbot, canvas):
    canvas.set_tool("measure_area")
    texts = []
    canvas.measure_changed.connect(texts.append)
    for pos in (QPoint(100, 100), QPoint(200, 100), QPoint(200, 200)):
        qtbot.mouseClick(canvas, Qt.MouseButton.LeftButton, pos=pos)
    # right triangle with 1 km legs: 50 ha, perimeter 2 km + 1.414 km
    assert texts[-1] == "Area 50.00 ha (500,000 m²), perimeter 3,414.2 m"
    qtbot.mouseMove(canvas, QPoint(100, 200))  # the floating vertex makes it a 1 km square
    assert texts[-1] == "Area 100.00 ha (1,000,000 m²), perimeter 4,000.0 m"
    qtbot.mouseClick(canvas, Qt.MouseButton.RightButton, pos=QPoint(100, 200))
    assert texts[-1] == "Area 50.00 ha (500,000 m²), perimeter 3,414.2 m"
    image = canvas.grab(canvas.rect()).toImage()  # the measured polygon is drawn on screen
    assert image.pixelColor(180, 130) != canvas.grab_map_image().pixelColor(180, 130)


def test_select_by_click_box_ctrl_and_empty_click(qtbot, canvas, scene):
    red = scene.project.layer_by_name("red")
    pts = scene.project.layer_by_name("pts")
    canvas.set_tool("select")
    messages = []
    canvas.message.connect(lambda level, text: messages.append(level))
    qtbot.mouseClick(canvas, Qt.MouseButton.LeftButton, pos=at(1200, 1200))
    assert messages == ["info"]  # no active layer chosen yet
    canvas.active_layer = red
    qtbot.mouseClick(canvas, Qt.MouseButton.LeftButton, pos=at(1200, 1200))
    assert red.selection == {0}
    qtbot.mouseClick(canvas, Qt.MouseButton.LeftButton, pos=at(500, 2500))
    assert red.selection == set()
    canvas.active_layer = pts
    drag(qtbot, canvas, at(2900, 700), at(3300, 300))  # box around the two low points
    assert pts.selection == {0, 1}
    qtbot.mouseClick(canvas, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.ControlModifier, at(3000, 500))
    assert pts.selection == {1}  # ctrl+click toggles
    drag(qtbot, canvas, at(3400, 2600), at(3600, 2400), Qt.KeyboardModifier.ControlModifier)
    assert pts.selection == {1, 2}  # ctrl+box adds
    drag(qtbot, canvas, at(3400, 2600), at(3600, 2400))
    assert pts.selection == {2}  # a plain box replaces
    settle(qtbot, canvas)


def test_select_box_on_a_layer_in_another_crs(qtbot, canvas, scene):
    from shapely.geometry import Point

    from _canvas_scene import vector_layer
    from gis_desk.core.crs import transform_xy

    lonlat = [transform_xy("EPSG:27700", "EPSG:4326", x, y) for x, y in [(500, 500), (500, 2500)]]
    wgs = vector_layer("wgs", [Point(*p) for p in lonlat], "#000000ff", crs="EPSG:4326")
    scene.project.layers.append(wgs)
    canvas.active_layer = wgs
    canvas.set_tool("select")
    drag(qtbot, canvas, at(300, 700), at(700, 300))
    assert wgs.selection == {0}


def test_middle_button_pans_in_any_tool(qtbot, canvas):
    canvas.set_tool("measure_distance")
    before = canvas.viewport.extent
    qtbot.mousePress(canvas, Qt.MouseButton.MiddleButton, pos=QPoint(100, 100))
    qtbot.mouseMove(canvas, QPoint(110, 100))
    qtbot.mouseRelease(canvas, Qt.MouseButton.MiddleButton, pos=QPoint(120, 100))
    assert canvas.viewport.extent[0] - before[0] == pytest.approx(-20 * PIXEL_M)
