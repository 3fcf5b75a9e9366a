"""Map canvas: drawing, caching, navigation and responsiveness (offscreen, pytest-qt)."""

from __future__ import annotations

import threading
import time

import pytest
from PySide6.QtCore import QPoint, QPointF, Qt, QTimer
from PySide6.QtGui import QWheelEvent
from PySide6.QtWidgets import QApplication

from gis_desk.errors import CanceledError, DataError

from _canvas_scene import EXTENT, HEIGHT, PIXEL_M, WIDTH, settle, to_px, vector_layer


def color_at(canvas, x, y):
    """RGB of the composed map image at map point (x, y)."""
    px, py = canvas.viewport.world_to_pixel(x, y)
    c = canvas.grab_map_image().pixelColor(int(px), int(py))
    return c.red(), c.green(), c.blue()


def close(rgb, expected, tol=3):
    return all(abs(a - b) <= tol for a, b in zip(rgb, expected))


def layer(session, name):
    return session.project.layer_by_name(name)


def test_canvas_composes_layers_bottom_to_top(canvas):
    assert canvas.viewport.extent == pytest.approx(EXTENT)
    assert close(color_at(canvas, 1200, 1200), (255, 0, 0))  # red only
    assert close(color_at(canvas, 2200, 2200), (0, 0, 255))  # blue only
    assert close(color_at(canvas, 1700, 1700), (0, 0, 255))  # blue is on top
    assert close(color_at(canvas, 500, 2500), (255, 255, 255))  # background


def test_visibility_and_opacity_recompose_without_rerendering(qtbot, canvas, render_counter, scene):
    blue = layer(scene, "blue")
    blue.opacity = 0.5
    assert close(color_at(canvas, 1700, 1700), (128, 0, 128), tol=4)
    blue.visible = False
    assert close(color_at(canvas, 1700, 1700), (255, 0, 0))
    blue.visible = True
    blue.opacity = 1.0
    assert close(color_at(canvas, 1700, 1700), (0, 0, 255))
    settle(qtbot, canvas)
    assert sum(render_counter.calls.values()) == 0
    # reordering only recomposes too
    scene.move_layer(0, 1)  # red above blue
    assert close(color_at(canvas, 1700, 1700), (255, 0, 0))
    settle(qtbot, canvas)
    assert sum(render_counter.calls.values()) == 0


def test_style_and_selection_changes_rerender_only_that_layer(qtbot, canvas, render_counter, scene):
    from gis_desk.core.style import SingleSymbolStyle, Symbol

    red = layer(scene, "red")
    with qtbot.waitSignal(canvas.render_finished, timeout=5000):
        red.style = SingleSymbolStyle(Symbol(fill="#00ff00ff", stroke="#00ff00ff"))
    assert dict(render_counter.calls) == {"red": 1}
    assert close(color_at(canvas, 1200, 1200), (0, 255, 0))
    with qtbot.waitSignal(canvas.render_finished, timeout=5000):
        layer(scene, "blue").selection = {0}
    assert dict(render_counter.calls) == {"red": 1, "blue": 1}


def test_hidden_layer_renders_when_shown_after_the_view_changed(qtbot, canvas, render_counter, scene):
    blue = layer(scene, "blue")
    blue.visible = False
    canvas.zoom_in()
    settle(qtbot, canvas)
    assert "blue" not in render_counter.calls and render_counter.calls["red"] == 1
    blue.visible = True
    settle(qtbot, canvas)
    assert render_counter.calls["blue"] == 1


def test_pan_drag_moves_extent_by_dragged_distance_and_renders_on_release(qtbot, canvas, render_counter):
    before = canvas.viewport.extent
    extents = []
    canvas.extent_changed.connect(extents.append)
    qtbot.mousePress(canvas, Qt.MouseButton.LeftButton, pos=QPoint(100, 100))
    qtbot.mouseMove(canvas, QPoint(130, 110))
    qtbot.mouseMove(canvas, QPoint(150, 130))
    QApplication.processEvents()
    assert sum(render_counter.calls.values()) == 0  # the cache is shifted, nothing redrawn yet
    shifted = canvas.grab_map_image()
    assert close(tuple(shifted.pixelColor(int(120 + 50), int(180 + 30)).getRgb()[:3]), (255, 0, 0))
    with qtbot.waitSignal(canvas.render_finished, timeout=5000):
        qtbot.mouseRelease(canvas, Qt.MouseButton.LeftButton, pos=QPoint(150, 130))
    after = canvas.viewport.extent
    # dragged 50 px right and 30 px down: the view moved 500 m west and 300 m north
    assert after[0] - before[0] == pytest.approx(-50 * PIXEL_M)
    assert after[1] - before[1] == pytest.approx(30 * PIXEL_M)
    assert after[2] - before[2] == pytest.approx(-50 * PIXEL_M)
    assert extents and extents[-1] == pytest.approx(after)
    assert set(render_counter.calls) == {"red", "blue", "pts"}
    assert close(color_at(canvas, 1200, 1200), (255, 0, 0))


def wheel(canvas, pos: QPointF, notches: int):
    event = QWheelEvent(pos, canvas.mapToGlobal(pos), QPoint(0, 0), QPoint(0, 120 * notches),
                        Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier,
                        Qt.ScrollPhase.NoScrollPhase, False)
    QApplication.sendEvent(canvas, event)


def test_wheel_zoom_about_cursor_previews_then_redraws_after_pause(qtbot, canvas, render_counter):
    scale0 = canvas.viewport.scale_denominator()
    pos = QPointF(*to_px(1200, 1200))
    scales = []
    canvas.scale_changed.connect(scales.append)
    wheel(canvas, pos, 2)  # two notches: twice the scale
    assert canvas.viewport.scale_denominator() == pytest.approx(scale0 / 2)
    assert scales == [pytest.approx(scale0 / 2)]
    x, y = canvas.to_map(pos)
    assert (x, y) == pytest.approx((1200, 1200))  # the point under the cursor stays put
    # the previous images are shown scaled at once, before any redraw
    assert sum(render_counter.calls.values()) == 0
    assert close(color_at(canvas, 1100, 1900), (255, 0, 0))
    assert close(color_at(canvas, 900, 1200), (255, 255, 255))
    wheel(canvas, pos, -1)
    assert canvas.viewport.scale_denominator() == pytest.approx(scale0 / 2 ** 0.5)
    settle(qtbot, canvas)
    assert render_counter.calls["red"] == 1  # one redraw after the gesture, not one per notch


def test_zoom_full_in_out_layer_and_selection(qtbot, canvas, scene):
    canvas.zoom_full()
    full = scene.project.full_extent()
    ext = canvas.viewport.extent
    assert ext[0] <= full[0] and ext[1] <= full[1] and ext[2] >= full[2] and ext[3] >= full[3]
    assert canvas.viewport.pixel_size < 3500 / WIDTH * 1.2  # close fit, not far out
    canvas.zoom_to_layer(layer(scene, "red"))
    ext = canvas.viewport.extent
    assert canvas.viewport.center == pytest.approx((1500, 1500))
    assert ext[3] - ext[1] == pytest.approx(1000 * (1 + 2 * canvas.ZOOM_MARGIN))
    ps = canvas.viewport.pixel_size
    canvas.zoom_in()
    assert canvas.viewport.pixel_size == pytest.approx(ps / 2)
    canvas.zoom_out()
    assert canvas.viewport.pixel_size == pytest.approx(ps)
    pts = layer(scene, "pts")
    pts.selection = {0, 1}
    canvas.zoom_to_selection(pts)
    assert canvas.viewport.center == pytest.approx((3100, 500))
    messages = []
    canvas.message.connect(lambda level, text: messages.append((level, text)))
    canvas.zoom_to_selection()  # no active layer
    assert messages and messages[-1][0] == "info"


def test_keyboard_pans_and_zooms(qtbot, canvas):
    before = canvas.viewport
    qtbot.keyClick(canvas, Qt.Key.Key_Right)
    assert canvas.viewport.center[0] - before.center[0] == pytest.approx(0.25 * 4000)
    qtbot.keyClick(canvas, Qt.Key.Key_Up)
    assert canvas.viewport.center[1] - before.center[1] == pytest.approx(0.25 * 3000)
    qtbot.keyClick(canvas, Qt.Key.Key_Plus)
    assert canvas.viewport.pixel_size == pytest.approx(before.pixel_size / 2)
    qtbot.keyClick(canvas, Qt.Key.Key_Minus)
    assert canvas.viewport.pixel_size == pytest.approx(before.pixel_size)


def test_cursor_moved_reports_project_coordinates(qtbot, canvas):
    with qtbot.waitSignal(canvas.cursor_moved, timeout=2000) as blocker:
        qtbot.mouseMove(canvas, QPoint(120, 180))
    assert blocker.args == pytest.approx([1200.0, 1200.0])


def test_first_layer_added_fits_the_view_and_crs_change_keeps_the_area(qtbot, session):
    from gis_desk.qt.canvas import MapCanvas

    widget = MapCanvas(session)
    qtbot.addWidget(widget)
    widget.resize(WIDTH, HEIGHT)
    widget.show()
    with qtbot.waitSignal(widget.render_finished, timeout=5000):
        session.project.layers.append(vector_layer("wgs", [__import__("shapely").box(-2.4, 53.4, -2.3, 53.45)],
                                                   "#ff0000ff", crs="EPSG:4326"))
    ext = widget.viewport.extent
    full = session.project.full_extent()
    assert ext[0] <= full[0] < full[2] <= ext[2]
    center = widget.viewport.center
    with qtbot.waitSignal(widget.render_finished, timeout=5000):
        session.project.crs = "EPSG:4326"
    assert widget.viewport.crs == "EPSG:4326"
    from gis_desk.core.crs import transform_xy

    lon, lat = transform_xy("EPSG:27700", "EPSG:4326", *center)
    assert widget.viewport.center == pytest.approx((lon, lat), abs=1e-3)
    assert close(color_at(widget, -2.35, 53.425), (255, 0, 0))


def test_grab_map_image_matches_widget_size_and_has_decorations(qtbot, canvas, monkeypatch):
    from gis_desk.qt.canvas.render_job import qimage_to_rgba
    from gis_desk.render import decorations

    image = canvas.grab_map_image()
    assert (image.width(), image.height()) == (WIDTH, HEIGHT)
    calls = []
    real = decorations.draw_decorations
    monkeypatch.setattr(decorations, "draw_decorations", lambda *a, **k: calls.append(k) or real(*a, **k))
    # dragging does not redraw decorations (they do not depend on the extent) ...
    canvas.preview_view(canvas.shifted(canvas.viewport, 30, 20))
    with_decor = qimage_to_rgba(canvas.grab_map_image())
    assert calls == []
    # ... a new scale does, through the Qt-free renderer
    canvas.zoom_in()
    canvas.grab_map_image()
    assert calls and calls[-1]["scale_bar"] and calls[-1]["north_arrow"]
    # and they are really drawn: without the overlay the image differs
    monkeypatch.setattr(decorations, "draw_decorations", lambda image, *a, **k: image)
    canvas._overlay_view = None
    without = qimage_to_rgba(canvas.grab_map_image())
    assert (with_decor != without).any()
    settle(qtbot, canvas)


def test_slow_layer_never_freezes_the_window_and_stale_jobs_are_cancelled(qtbot, canvas, scene, monkeypatch):
    from gis_desk.render import renderer

    real = renderer.render_layer
    started = threading.Event()
    saw_cancel = threading.Event()
    release = threading.Event()
    slow_views = []

    def slow_render(layer, viewport, cancel=None):
        if layer.name != "slow":
            return real(layer, viewport, cancel=cancel)
        slow_views.append(viewport)
        started.set()
        deadline = time.monotonic() + 20
        while not release.is_set() and time.monotonic() < deadline:
            if cancel is not None and cancel():
                saw_cancel.set()
                raise CanceledError()
            time.sleep(0.005)
        return real(layer, viewport, cancel=cancel)

    monkeypatch.setattr(renderer, "render_layer", slow_render)
    ticks = []
    timer = QTimer()
    timer.setInterval(10)
    timer.timeout.connect(lambda: ticks.append(time.monotonic()))
    timer.start()
    try:
        slow = vector_layer("slow", [__import__("shapely").box(3000, 2000, 3800, 2800)], "#00ffffff")
        scene.project.layers.append(slow)
        qtbot.waitUntil(started.is_set, timeout=5000)
        # the GUI thread keeps processing events while the slow layer renders
        n = len(ticks)
        qtbot.waitUntil(lambda: len(ticks) >= n + 20, timeout=5000)
        assert canvas.scheduler.is_rendering(slow.id)
        # other layers still redraw meanwhile
        with qtbot.waitSignal(canvas.scheduler.layer_rendered, timeout=5000):
            layer(scene, "red").style = layer(scene, "red").style
        # a new view makes the slow job stale: it is cancelled and a new one starts
        canvas.zoom_out()
        qtbot.waitUntil(saw_cancel.is_set, timeout=5000)
        qtbot.waitUntil(lambda: len(slow_views) == 2, timeout=5000)
        assert slow_views[-1] == canvas.viewport
        release.set()
        settle(qtbot, canvas)
        assert close(color_at(canvas, 3400, 2400), (0, 255, 255))
    finally:
        release.set()
        timer.stop()


def test_render_errors_become_one_message(qtbot, canvas, scene, monkeypatch):
    from gis_desk.render import renderer

    real = renderer.render_layer

    def failing(layer, viewport, cancel=None):
        if layer.name == "red":
            raise DataError("The geometry column is unreadable", path="/synthetic/red.gpkg")
        return real(layer, viewport, cancel=cancel)

    monkeypatch.setattr(renderer, "render_layer", failing)
    messages = []
    canvas.message.connect(lambda level, text: messages.append((level, text)))
    canvas.refresh()
    settle(qtbot, canvas)
    canvas.zoom_in()
    settle(qtbot, canvas)
    assert len(messages) == 1
    level, text = messages[0]
    assert level == "warning" and "red" in text and "unreadable" in text
    assert close(color_at(canvas, 2200, 2200), (0, 0, 255))  # other layers unaffected


def test_render_signals_and_set_tool(qtbot, canvas):
    with qtbot.waitSignals([canvas.render_started, canvas.render_finished], timeout=5000):
        canvas.refresh()
    with qtbot.waitSignal(canvas.tool_changed) as blocker:
        canvas.set_tool("identify")
    assert blocker.args == ["identify"]
    with pytest.raises(ValueError):
        canvas.set_tool("lasso")


def test_removing_layer_drops_its_image(qtbot, canvas, scene):
    scene.remove_layers([layer(scene, "blue")])
    assert close(color_at(canvas, 1700, 1700), (255, 0, 0))
    scene.undo_stack.undo()
    settle(qtbot, canvas)
    assert close(color_at(canvas, 1700, 1700), (0, 0, 255))


def test_real_trafford_lsoas_drawn_and_identified(qtbot, session, real_data):
    from gis_desk.qt.canvas import MapCanvas

    path = real_data / "uk_boundaries/UK-GeoJSON/lsoa11_E08000009_Trafford.geojson"
    widget = MapCanvas(session)
    qtbot.addWidget(widget)
    widget.resize(600, 450)
    widget.show()
    with qtbot.waitSignal(widget.render_finished, timeout=10_000) as blocker:
        [lsoa] = session.open(path)
    assert blocker.args[0] > 0
    full = session.project.full_extent()
    ext = widget.viewport.extent
    assert ext[0] <= full[0] and ext[2] >= full[2] and ext[1] <= full[1] and ext[3] >= full[3]
    target = 42
    inner = lsoa.dataset.frame.to_crs(27700).geometry.iloc[target].representative_point()
    fill = lsoa.style.symbol.fill  # '#rrggbbaa', drawn over white
    r, g, b, a = (int(fill[i:i + 2], 16) for i in (1, 3, 5, 7))
    expected = tuple(round(c * a / 255 + 255 * (1 - a / 255)) for c in (r, g, b))
    assert close(color_at(widget, inner.x, inner.y), expected, tol=6)
    widget.set_tool("identify")
    px, py = widget.viewport.world_to_pixel(inner.x, inner.y)
    with qtbot.waitSignal(widget.identify_results, timeout=2000) as found:
        qtbot.mouseClick(widget, Qt.MouseButton.LeftButton, pos=QPoint(int(px), int(py)))
    hits = found.args[0]
    assert hits[0].feature_id == target and hits[0].distance == 0.0  # the containing polygon first
    assert hits[0].attributes["LSOA11CD"] == lsoa.dataset.frame["LSOA11CD"].iloc[target]


def test_saved_view_comes_back_when_the_project_is_reloaded(qtbot, canvas, scene, tmp_path):
    scene.new_project()  # the synthetic layers have no files: use a real GeoPackage
    assert not canvas.is_rendering
    red = vector_layer("red", [__import__("shapely").box(1000, 1000, 2000, 2000)], "#ff0000ff")
    red.dataset.frame.to_file(tmp_path / "red.gpkg")
    with qtbot.waitSignal(canvas.render_finished, timeout=5000):
        [opened] = scene.open(tmp_path / "red.gpkg")
    opened.style = red.style
    canvas.zoom_to_layer(opened)
    canvas.zoom_out()
    saved = canvas.viewport.extent
    settle(qtbot, canvas)
    target = scene.save(tmp_path / "view.gdesk")
    scene.new_project()
    assert canvas.grab_map_image().pixelColor(200, 150).getRgb()[:3] == (255, 255, 255)
    canvas.set_extent((0, 0, 100, 100))  # the user looks elsewhere, then reopens
    with qtbot.waitSignal(canvas.render_finished, timeout=5000):
        scene.load(target)
    assert canvas.viewport.extent == pytest.approx(saved, abs=1e-6)
    assert close(color_at(canvas, 1200, 1200), (255, 0, 0))


def test_saved_view_survives_a_resize_during_loading(qtbot, canvas, scene, tmp_path):
    """A window whose layout settles while a project loads must still show the saved view."""
    import shapely

    scene.new_project()
    vector_layer("a", [shapely.box(0, 0, 10, 10)], "#ff0000ff").dataset.frame.to_file(tmp_path / "a.gpkg")
    scene.open(tmp_path / "a.gpkg")
    settle(qtbot, canvas)
    canvas.set_extent((2.0, 2.0, 4.0, 4.0))
    saved = canvas.viewport.center
    target = scene.save(tmp_path / "small.gdesk")
    scene.new_project()
    settle(qtbot, canvas)
    scene.load(target)
    canvas.resize(canvas.width() + 40, canvas.height() + 30)  # before the event loop runs
    qtbot.waitUntil(lambda: not canvas._fit_pending, timeout=5000)
    assert canvas.viewport.center == pytest.approx(saved, abs=1e-6)
    assert canvas.viewport.extent[2] - canvas.viewport.extent[0] < 5


def test_replacing_a_layer_in_place_redraws_it(qtbot, canvas, scene):
    import shapely

    index = scene.project.layers.index(layer(scene, "red"))
    green = vector_layer("green", [shapely.box(1000, 1000, 2000, 2000)], "#00ff00ff")
    with qtbot.waitSignal(canvas.render_finished, timeout=5000):
        scene.project.layers[index] = green
    assert close(color_at(canvas, 1200, 1200), (0, 255, 0))


def test_first_layers_of_an_empty_project_are_all_fitted(qtbot, canvas, scene):
    import shapely

    scene.new_project()
    canvas.set_extent((0, 0, 10, 10))  # the user wanders about the empty project
    a = vector_layer("a", [shapely.box(0, 0, 100, 100)], "#ff0000ff")
    b = vector_layer("b", [shapely.box(5000, 5000, 5100, 5100)], "#0000ffff")
    with qtbot.waitSignal(canvas.render_finished, timeout=5000):
        scene.add_layers([a, b])  # one file bringing two layers
    ext = canvas.viewport.extent
    assert ext[0] <= 0 and ext[1] <= 0 and ext[2] >= 5100 and ext[3] >= 5100
    c = vector_layer("c", [shapely.box(9000, 9000, 9100, 9100)], "#00ff00ff")
    scene.add_layers([c])  # later layers do not move the view
    assert canvas.viewport.extent == ext


def test_canvas_destroyed_while_a_layer_renders(qtbot, session, monkeypatch):
    import gc

    import shapely
    from shiboken6 import isValid

    from gis_desk.qt.canvas import MapCanvas
    from gis_desk.render import renderer

    real = renderer.render_layer
    started, release, finished = threading.Event(), threading.Event(), threading.Event()

    def held(layer, viewport, cancel=None):
        started.set()
        release.wait(5)
        try:
            return real(layer, viewport, cancel=cancel)
        finally:
            finished.set()

    monkeypatch.setattr(renderer, "render_layer", held)
    widget = MapCanvas(session)
    widget.resize(200, 150)
    session.project.layers.append(vector_layer("a", [shapely.box(0, 0, 10, 10)], "#ff0000ff"))
    qtbot.waitUntil(started.is_set, timeout=5000)
    widget.deleteLater()
    qtbot.waitUntil(lambda: not isValid(widget), timeout=5000)
    del widget
    gc.collect()
    release.set()
    qtbot.waitUntil(finished.is_set, timeout=5000)
    qtbot.wait(50)  # the late result is delivered to nobody
    session.project.layers[0].opacity = 0.5  # the model no longer calls into the dead widget
    session.project.layers[0].selection = {0}


def test_escape_cancels_a_zoom_box_drag(qtbot, canvas):
    canvas.set_tool("zoom_in_box")
    before = canvas.viewport
    qtbot.mousePress(canvas, Qt.MouseButton.LeftButton, pos=QPoint(50, 50))
    qtbot.mouseMove(canvas, QPoint(150, 120))
    qtbot.keyClick(canvas, Qt.Key.Key_Escape)
    qtbot.mouseRelease(canvas, Qt.MouseButton.LeftButton, pos=QPoint(150, 120))
    assert canvas.viewport == before


def test_resize_refits_an_automatic_view_but_keeps_a_chosen_scale(qtbot, scene):
    from gis_desk.qt.canvas import MapCanvas

    widget = MapCanvas(scene)  # made before the window lays it out (default size)
    qtbot.addWidget(widget)
    widget.resize(800, 400)
    widget.show()
    full = scene.project.full_extent()
    vp = widget.viewport
    assert vp.extent[3] - vp.extent[1] == pytest.approx(full[3] - full[1])  # tight fit at 800x400
    assert vp.center == pytest.approx(((full[0] + full[2]) / 2, (full[1] + full[3]) / 2))
    widget.zoom_in()  # the user chose a scale: a resize keeps it
    ps = widget.viewport.pixel_size
    widget.resize(600, 400)
    assert widget.viewport.pixel_size == pytest.approx(ps)
    settle(qtbot, widget)
