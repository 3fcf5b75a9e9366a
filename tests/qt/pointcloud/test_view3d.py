"""3D view: camera and scene maths (no GL), the offscreen fallback, and real rendering checked
by reading pixels back (``-m gl``, under xvfb-run with any Qt platform)."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QPointF, Qt

from gis_desk.qt.view3d.camera import OrbitCamera
from gis_desk.qt.view3d.scene import Scene

E0, N0 = 451_234.567, 207_654.321  # BNG-sized coordinates: float32 alone would lose centimetres


def test_camera_projects_target_to_centre_and_fit_keeps_box_in_view():
    cam = OrbitCamera(width=800, height=500)
    lo, hi = np.array([-20.0, -5.0, 0.0]), np.array([30.0, 5.0, 8.0])
    cam.fit(lo, hi)
    px, depth = cam.project(((lo + hi) / 2)[None])
    assert px[0] == pytest.approx([400, 250], abs=1e-6)
    corners = np.array([[x, y, z] for x in (lo[0], hi[0]) for y in (lo[1], hi[1]) for z in (lo[2], hi[2])])
    px, depth = cam.project(corners)
    assert (px[:, 0] > 0).all() and (px[:, 0] < 800).all() and (px[:, 1] > 0).all() and (px[:, 1] < 500).all()
    assert (np.abs(depth) < 1).all()


def test_camera_zoom_keeps_point_under_cursor_and_pan_follows_mouse():
    cam = OrbitCamera(width=640, height=480, distance=50.0, yaw=10.0, pitch=40.0)
    cam.scene_radius = 30
    # a point on the target's plane under pixel (500, 120)
    right, up = cam.view_matrix()[0, :3], cam.view_matrix()[1, :3]
    k = cam.world_per_pixel()
    p = cam.target + right * (500 - 320) * k + up * (240 - 120) * k
    assert cam.project(p[None])[0][0] == pytest.approx([500, 120], abs=1e-6)
    cam.zoom(0.5, (500, 120))
    assert cam.distance == pytest.approx(25.0)
    assert cam.project(p[None])[0][0] == pytest.approx([500, 120], abs=1e-6)
    before = cam.project(cam.target[None])[0][0]
    target = cam.target.copy()
    cam.pan(30, -12)
    assert cam.project(target[None])[0][0] == pytest.approx(before + [30, -12], abs=1e-6)


def test_camera_orbit_clamps_pitch():
    cam = OrbitCamera()
    cam.orbit(0, 10_000)
    assert cam.pitch == 89.0
    cam.orbit(100, 0)
    assert cam.yaw == pytest.approx((-50.0 - 40.0) % 360)


def test_scene_local_origin_keeps_millimetres_and_picks_with_attributes():
    scene = Scene()
    xyz = np.array([[E0, N0, 12.345], [E0 + 0.003, N0, 12.345], [E0 + 5, N0 + 5, 14.0]])
    scene.set_layer("e1", xyz, name="Epoch 1", attributes={"intensity": np.array([10, 20, 30])})
    layer = scene.layers["e1"]
    back = layer.xyz.astype(np.float64)[np.argsort(layer.order)] + scene.origin
    assert np.abs(back - xyz).max() < 1e-3  # 3 mm apart stays 3 mm apart
    assert abs(float(np.float32(E0)) - E0) > 1e-3  # (what plain float32 would have lost)

    cam = OrbitCamera(width=400, height=400)
    cam.fit(*scene.bounds())
    counts = scene.draw_counts(10)
    px, _ = cam.project((xyz[2] - scene.origin)[None])
    hit = scene.pick(cam, px[0, 0] + 2, px[0, 1] - 1, counts)
    assert hit["index"] == 2 and hit["intensity"] == 30 and hit["layer"] == "Epoch 1"
    assert hit["x"] == pytest.approx(E0 + 5) and hit["z"] == pytest.approx(14.0)
    assert scene.pick(cam, 2, 2, counts) is None

    # a registration transform moves the drawn points and the readout alike
    shift = np.eye(4)
    shift[:3, 3] = [1.0, 0.0, 0.5]
    scene.layers["e1"].transform = shift
    px2, _ = cam.project((xyz[2] - scene.origin)[None], scene.model(scene.layers["e1"]))
    hit = scene.pick(cam, *px2[0], counts)
    assert hit["index"] == 2 and hit["x"] == pytest.approx(E0 + 6) and hit["z"] == pytest.approx(14.5)


def test_scene_budget_is_shared_in_proportion_and_shuffled_prefix_is_even():
    scene = Scene()
    rng = np.random.default_rng(1)
    grid = np.stack(np.meshgrid(np.arange(300.0), np.arange(100.0), [0.0]), -1).reshape(-1, 3)
    scene.set_layer("a", grid)
    scene.set_layer("b", rng.uniform(0, 10, (10_000, 3)))
    counts = scene.draw_counts(8_000)
    assert counts == {"a": 6_000, "b": 2_000}
    # the first 6 000 of 30 000 grid points cover the whole grid: every 30 x 10 block gets some
    first = scene.layers["a"].xyz[:6_000] + 0  # local coordinates
    first = first - first.min(axis=0)
    blocks = np.unique((first[:, 0] // 30).astype(int) * 100 + (first[:, 1] // 10).astype(int))
    assert len(blocks) == 100
    scene.layers["b"].visible = False
    assert scene.draw_counts(8_000) == {"a": 8_000}


def test_panel_without_opengl_shows_a_message(qtbot, monkeypatch):
    from gis_desk.qt.view3d import View3DPanel, panel as panel_mod

    # what a machine without a usable driver reports (probed for real in gl_status)
    monkeypatch.setattr(panel_mod, "gl_status", lambda: (False, "no OpenGL context on the 'offscreen' display platform"))
    panel = View3DPanel()
    qtbot.addWidget(panel)
    panel.show()
    assert panel.view is None and not panel.available
    assert panel.stack.currentWidget() is panel.message
    text = panel.message.text()
    assert "3D view cannot be shown" in text and "OpenGL 3.3" in text and "'offscreen'" in text


def test_gl_status_is_a_real_probe(qtbot):
    from gis_desk.qt.view3d import gl_status

    ok, info = gl_status()
    assert isinstance(ok, bool) and info
    if ok:
        assert any(word in info for word in ("Mesa", "llvmpipe", "OpenGL", "NVIDIA", "AMD", "Intel")), info


@pytest.mark.gl
def test_failure_while_starting_gl_switches_to_the_message(qtbot, monkeypatch):
    from gis_desk.qt.view3d import View3DPanel, gl_status
    from gis_desk.qt.view3d.widget import PointCloudView

    if not gl_status()[0]:
        pytest.skip("no OpenGL 3.3 here; the GL tests need a display: run under xvfb-run")

    def broken(self):
        raise RuntimeError("shader compile failed: 0:3(1): error")

    monkeypatch.setattr(PointCloudView, "_init_gl", broken)
    panel = View3DPanel()
    qtbot.addWidget(panel)
    panel.resize(300, 200)
    panel.show()
    with qtbot.waitSignal(panel.gl_unavailable, timeout=3000):
        panel.view.render_frame()
    assert not panel.available and panel.stack.currentWidget() is panel.message
    assert "shader compile failed" in panel.message.text()
    assert panel.view.grab_snapshot().isNull()


# ---------------------------------------------------------------------------------------------
# real rendering

def _gl_panel(qtbot, w=400, h=300):
    from gis_desk.qt.view3d import View3DPanel, gl_status

    ok, info = gl_status()
    if not ok:
        pytest.skip(f"no OpenGL 3.3 here ({info}); the GL tests need a display: run under xvfb-run")
    panel = View3DPanel()
    qtbot.addWidget(panel)
    panel.resize(w, h)
    panel.show()
    qtbot.waitExposed(panel)
    return panel, panel.view


def _array(image) -> np.ndarray:
    from PySide6.QtGui import QImage

    rgb = image.convertToFormat(QImage.Format.Format_RGB888)
    data = np.frombuffer(rgb.constBits(), np.uint8, rgb.bytesPerLine() * rgb.height())
    return data.reshape(rgb.height(), rgb.bytesPerLine())[:, :rgb.width() * 3].reshape(rgb.height(), rgb.width(), 3)


def _rgb(image, x, y):
    c = image.pixelColor(int(x), int(y))
    return c.red(), c.green(), c.blue()


@pytest.mark.gl
def test_red_cloud_draws_red_pixels_where_projected(qtbot):
    panel, view = _gl_panel(qtbot)
    rng = np.random.default_rng(2)
    xyz = rng.uniform(-1, 1, (40_000, 3)) * [5, 5, 0.01] + [E0, N0, 30]
    red = np.tile(np.array([[230, 20, 20, 255]], np.uint8), (len(xyz), 1))
    view.set_layer("red", xyz, red)
    blue_spot = np.array([[E0 + 30, N0 + 30, 30.0]])  # a second layer far to one side
    view.set_layer("blue", np.repeat(blue_spot, 50, axis=0), np.tile([[20, 20, 230, 255]], (50, 1)))
    view.set_edl(False)
    view.set_point_size(3)
    view.fit_view()
    image = view.grab_snapshot()
    assert view.error is None
    s = image.width() / view.width()
    cx, cy = view.camera.project((np.array([[E0, N0, 30.0]]) - view.scene.origin))[0][0]
    r, g, b = _rgb(image, cx * s, cy * s)
    assert r > 180 and g < 60 and b < 60
    bx, by = view.camera.project(blue_spot - view.scene.origin)[0][0]
    assert _rgb(image, bx * s, by * s)[2] > 180
    assert _rgb(image, 2, image.height() - 3) == (38, 41, 46)  # background in a corner

    view.set_visible("red", False)
    image = view.grab_snapshot()
    assert _rgb(image, cx * s, cy * s) == (38, 41, 46)


@pytest.mark.gl
def test_eye_dome_lighting_darkens_depth_edges(qtbot):
    panel, view = _gl_panel(qtbot)
    # a flat plate with a raised block in the middle: EDL shades the block's rim
    g = np.stack(np.meshgrid(np.linspace(-10, 10, 400), np.linspace(-10, 10, 400)), -1).reshape(-1, 2)
    z = np.where((np.abs(g[:, 0]) < 3) & (np.abs(g[:, 1]) < 3), 2.0, 0.0)
    xyz = np.column_stack([g + [E0, N0], z])
    grey = np.full((len(xyz), 4), 200, np.uint8)
    view.set_layer("plate", xyz, grey)
    view.set_point_size(3)
    view.camera.yaw, view.camera.pitch = -90.0, 60.0
    view.fit_view()
    view.set_edl(False)
    flat = view.grab_snapshot()
    view.set_edl(True, 1.0)
    shaded = view.grab_snapshot()
    a = _array(flat)[:, :, 0].astype(float)
    b = _array(shaded)[:, :, 0].astype(float)
    on_cloud = a >= 190
    assert on_cloud.mean() > 0.2
    darker = (b < 0.5 * a) & on_cloud  # strongly shaded: depth steps
    assert darker.sum() > 50  # the block's rim
    assert np.median(b[on_cloud]) > 120  # flat areas stay light
    # the darkening sits around the block's outline, not everywhere
    px, _ = view.camera.project(np.array([[E0 - 3, N0 - 3, 2.0], [E0 + 3, N0 + 3, 2.0]]) - view.scene.origin)
    ys, xs = np.nonzero(darker)
    near_block = (xs >= px[:, 0].min() - 10) & (xs <= px[:, 0].max() + 10)
    assert near_block.mean() > 0.8


@pytest.mark.gl
def test_lod_budget_draws_fewer_points_while_moving(qtbot):
    panel, view = _gl_panel(qtbot)
    rng = np.random.default_rng(3)
    view.set_layer("big", rng.uniform(0, 50, (300_000, 3)) + [E0, N0, 0])
    view.budget, view.moving_budget = 200_000, 20_000
    view.render_frame()
    assert view.last_counts == {"big": 200_000}
    yaw = view.camera.yaw
    qtbot.mousePress(view, Qt.MouseButton.LeftButton, pos=QPointF(100, 100).toPoint())
    for x in (110, 130, 160):
        qtbot.mouseMove(view, QPointF(x, 100).toPoint())
    assert view.moving
    view.render_frame()
    assert view.last_counts == {"big": 20_000}
    qtbot.mouseRelease(view, Qt.MouseButton.LeftButton, pos=QPointF(160, 100).toPoint())
    assert view.camera.yaw != yaw
    qtbot.waitUntil(lambda: not view.moving, timeout=2000)
    view.render_frame()
    assert view.last_counts == {"big": 200_000}


@pytest.mark.gl
def test_click_picks_point_and_keys_fit_and_reset(qtbot):
    panel, view = _gl_panel(qtbot)
    xyz = np.array([[E0, N0, 5.0], [E0 + 10, N0, 5.0], [E0, N0 + 10, 6.0]])
    view.set_layer("few", xyz, name="Few", attributes={"m3c2_distance": np.array([0.1, -0.2, 0.3])})
    view.render_frame()
    px, _ = view.camera.project(xyz[1:2] - view.scene.origin)
    with qtbot.waitSignal(view.point_picked, timeout=2000) as blocker:
        qtbot.mouseClick(view, Qt.MouseButton.LeftButton, pos=QPointF(*px[0]).toPoint())
    hit = blocker.args[0]
    assert hit["index"] == 1 and hit["m3c2_distance"] == pytest.approx(-0.2) and hit["x"] == pytest.approx(E0 + 10)

    distance = view.camera.distance
    view.setFocus()
    qtbot.keyClick(view, Qt.Key.Key_Plus)
    assert view.camera.distance < distance
    view.camera.orbit(200, 50)
    qtbot.keyClick(view, Qt.Key.Key_R)
    assert view.camera.yaw == pytest.approx(-50.0) and view.camera.distance == pytest.approx(distance)
    view.camera.orbit(-120, 30)
    qtbot.keyClick(view, Qt.Key.Key_Home)
    assert view.camera.yaw == pytest.approx(-50.0) and view.camera.pitch == pytest.approx(30.0)


@pytest.mark.gl
def test_snapshot_carries_the_legend(qtbot):
    from gis_desk.core.legend import LegendEntry

    panel, view = _gl_panel(qtbot)
    view.set_layer("a", np.array([[E0, N0, 0.0], [E0 + 1, N0 + 1, 1.0]]))
    plain = view.grab_snapshot()
    view.set_legend("M3C2 distance", [LegendEntry("m", shape="ramp", vmin=-0.1, vmax=0.1, ramp="RdBu")])
    with_legend = view.grab_snapshot()
    assert with_legend.size() == plain.size()
    # the legend box (white, translucent) is in the top-left corner
    assert sum(_rgb(with_legend, 12, 12)) > sum(_rgb(plain, 12, 12)) + 300


def test_pick_prefilter_finds_the_same_point_as_projecting_everything():
    scene = Scene()
    rng = np.random.default_rng(5)
    scene.set_layer("a", rng.uniform(0, 40, (60_000, 3)) + [E0, N0, 0])
    scene.set_layer("b", rng.uniform(10, 30, (20_000, 3)) + [E0, N0, 5])
    cam = OrbitCamera(width=640, height=480, yaw=20.0, pitch=35.0)
    cam.fit(*scene.bounds())
    cam.zoom(0.6)  # some points now lie outside the view or behind the near plane
    counts = scene.draw_counts(70_000)
    hits = 0
    for x, y in rng.uniform([0, 0], [640, 480], (40, 2)):
        best = None
        for la in scene.visible_layers():
            n = counts[la.key]
            px, depth = cam.project(la.xyz[:n], scene.model(la))
            ok = np.flatnonzero((((px - [x, y]) ** 2).sum(axis=1) <= 9.0) & (np.abs(depth) <= 1))
            if len(ok):
                j = ok[np.argmin(depth[ok])]
                if best is None or depth[j] < best[0]:
                    best = (depth[j], la.key, int(la.order[j]))
        hit = scene.pick(cam, x, y, counts, tolerance_px=3.0)
        if best is None:
            assert hit is None
        else:
            hits += 1
            assert (hit["layer_key"], hit["index"]) == best[1:]
    assert hits > 10
