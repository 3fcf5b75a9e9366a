"""The 3D View dock in a MainWindow: installed once, follows the project's point-cloud layers
(add, remove, visibility, style, registration transform, also from worker threads), colours by
any field on a shared scale, picks points into the Identify Results panel.  Pixels are read
back from the real OpenGL frame (``-m gl``, under xvfb-run)."""

from __future__ import annotations

import threading

import numpy as np
import pytest
from PySide6.QtCore import QPointF, Qt

E0, N0 = 451_200.0, 207_600.0
BACKGROUND = (38, 41, 46)


def _plate(tmp_path, name="plate.laz", *, rgb=(230, 20, 20), change=None, side=4.0, n=160):
    """A flat ``side`` m plate of n x n points at BNG coordinates, 8-bit colour ``rgb`` stored in
    LAS 16-bit fields; ``change`` (v_west, v_east) adds an m3c2_distance attribute."""
    from gis_desk.core.pointcloud import PointCloud
    from gis_desk.io.pointcloud import write_pointcloud

    g = np.stack(np.meshgrid(np.linspace(-side / 2, side / 2, n), np.linspace(-side / 2, side / 2, n)), -1)
    g = g.reshape(-1, 2)
    xyz = np.column_stack([g[:, 0] + E0, g[:, 1] + N0, np.full(len(g), 25.0) + 0.05 * g[:, 1]])
    attrs = {name: np.full(len(g), v * 257, np.uint16) for name, v in zip(("red", "green", "blue"), rgb)}
    attrs["intensity"] = np.arange(len(g), dtype=np.uint16)
    attrs["classification"] = np.where(g[:, 0] < 0, 2, 6).astype(np.uint8)
    if change is not None:
        attrs["m3c2_distance"] = np.where(g[:, 0] < 0, change[0], change[1]).astype(np.float64)
    path = write_pointcloud(tmp_path / name, PointCloud(xyz, attrs, crs="EPSG:27700"))
    return path, xyz


def _install(main_window):
    from gis_desk.qt.view3d import install_view3d

    return install_view3d(main_window)


def _gl_dock(main_window, qtbot):
    from gis_desk.qt.view3d import gl_status

    ok, info = gl_status()
    if not ok:
        pytest.skip(f"no OpenGL 3.3 here ({info}); the GL tests need a display: run under xvfb-run")
    dock = _install(main_window)
    qdock = main_window.docks["view3d"]
    qdock.setFloating(True)  # a known size, whatever the docks around it
    qdock.resize(640, 480)
    qdock.show()
    qtbot.waitExposed(dock)
    assert dock.view is not None
    return dock


def _wait_synced(qtbot, dock):
    qtbot.waitUntil(lambda: not dock._stale, timeout=5000)


def _pixel(dock, world_xyz):
    """RGB of the frame at the projection of world point(s) (with a fresh full frame)."""
    view = dock.view
    image = view.grab_snapshot()
    s = image.width() / view.width()
    px, _ = view.camera.project(np.atleast_2d(world_xyz) - view.scene.origin)
    out = []
    for x, y in px:
        c = image.pixelColor(int(x * s), int(y * s))
        out.append((c.red(), c.green(), c.blue()))
    return out if len(out) > 1 else out[0]


def test_install_is_idempotent_with_a_view_menu_toggle(main_window):
    from gis_desk.qt.view3d.dock import View3DDock

    dock = _install(main_window)
    assert isinstance(dock, View3DDock) and _install(main_window) is dock
    qdock = main_window.docks["view3d"]
    assert qdock.widget() is dock and not qdock.isVisible()
    toggle = qdock.toggleViewAction()
    assert toggle.shortcut().toString() == "Ctrl+Shift+3"
    assert toggle in main_window.menus["View"].actions()
    assert sum(a is toggle for a in main_window.menus["View"].actions()) == 1  # not added twice
    toggle.trigger()
    assert qdock.isVisible()


def test_colour_by_lists_every_field_of_the_project_clouds(main_window, tmp_path, qtbot):
    path, _ = _plate(tmp_path, change=(0.1, -0.1))
    dock = _install(main_window)
    main_window.session.open(path)
    dock.sync()
    items = [dock.colour_by.itemData(i) for i in range(dock.colour_by.count())]
    assert items[:5] == ["", "elevation", "rgb", "classification", "intensity"]
    assert "m3c2_distance" in items and "red" not in items
    dock.colour_by.setCurrentIndex(items.index("m3c2_distance"))
    style = dock.override_style()
    assert style.color_by == "m3c2_distance" and style.ramp == "RdBu"
    assert style.value_range == pytest.approx([-0.1, 0.1])  # symmetric about zero
    with pytest.raises(ValueError, match="no_such_field"):
        dock.set_colour_by("no_such_field")


@pytest.mark.gl
def test_dock_draws_layers_and_follows_visibility_transform_style_and_removal(main_window, tmp_path, qtbot):
    from gis_desk.core.pointcloud import PointCloudLayer, PointCloudStyle

    dock = _gl_dock(main_window, qtbot)
    path, xyz = _plate(tmp_path)
    [layer] = main_window.session.open(path)
    assert isinstance(layer, PointCloudLayer)
    _wait_synced(qtbot, dock)
    assert list(dock.view.scene.layers) == [layer.id]
    dock.edl.setChecked(False)
    dock.point_size.setValue(3)
    centre = np.array([E0, N0, 25.0])
    r, g, b = _pixel(dock, centre)
    assert r > 180 and g < 60 and b < 60  # its RGB style, as on the map

    layer.visible = False
    _wait_synced(qtbot, dock)
    assert _pixel(dock, centre) == BACKGROUND
    layer.visible = True
    _wait_synced(qtbot, dock)
    assert _pixel(dock, centre)[0] > 180

    # a registration moves it by 6 m east: drawn there, and the old place is empty
    shift = np.eye(4)
    shift[0, 3] = 6.0
    layer.transform = shift
    _wait_synced(qtbot, dock)
    assert np.array_equal(dock.view.scene.layers[layer.id].transform, shift)
    dock.view.fit_view()
    old, new = _pixel(dock, [centre, centre + [6.0, 0, 0]])
    assert old == BACKGROUND and new[0] > 180

    # restyled on the map = restyled in 3D (classification: ground brown / building red-orange)
    main_window.session.set_layer_property(layer, "style", PointCloudStyle(color_by="classification"))
    _wait_synced(qtbot, dock)
    west, east = _pixel(dock, [centre + [6.0 - 1.5, 0, 0], centre + [6.0 + 1.5, 0, 0]])
    from gis_desk.render.pointcloud import point_colours

    expected = point_colours(layer, layer.style, np.array([0, len(xyz) - 1]))[:, :3]
    assert np.abs(np.array(west) - expected[0]).max() <= 3 and np.abs(np.array(east) - expected[1]).max() <= 3
    assert west != east
    assert dock.view.legend.isVisible() and any("Ground" in e.label for e in dock.view.legend.entries)

    main_window.session.remove_layers([layer])
    _wait_synced(qtbot, dock)
    assert dock.view.scene.layers == {}


@pytest.mark.gl
def test_change_field_on_a_diverging_shared_scale_and_events_from_threads(main_window, tmp_path, qtbot):
    dock = _gl_dock(main_window, qtbot)
    p1, _ = _plate(tmp_path, "e1.laz", rgb=(200, 200, 200))
    p2, _ = _plate(tmp_path, "e2.laz", rgb=(200, 200, 200), change=(0.08, -0.08))
    [e1] = main_window.session.open(p1)
    [e2] = main_window.session.open(p2)
    e2.epoch_label = "Epoch 2"
    _wait_synced(qtbot, dock)
    dock.edl.setChecked(False)
    dock.set_colour_by("m3c2_distance")
    legend = dock.view.legend.entries
    assert legend[0].shape == "ramp" and legend[0].vmin == pytest.approx(-legend[0].vmax)
    # epoch 1 has no m3c2_distance: hide it to see epoch 2 (drawn on top of the same place)
    e1.visible = False
    _wait_synced(qtbot, dock)
    west, east = _pixel(dock, [[E0 - 1.5, N0, 25.0], [E0 + 1.5, N0, 25.0]])
    assert west[2] > west[0] + 60  # +0.08 (gain) at the blue end of RdBu
    assert east[0] > east[2] + 60  # -0.08 (loss) at the red end

    # a worker thread re-registers epoch 2: the view follows on the GUI thread
    shift = np.eye(4)
    shift[2, 3] = 1.0
    worker = threading.Thread(target=lambda: setattr(e2, "transform", shift))
    worker.start()
    worker.join()
    qtbot.waitUntil(lambda: np.array_equal(dock.view.scene.layers[e2.id].transform, shift), timeout=5000)


@pytest.mark.gl
def test_click_shows_point_values_in_dock_and_identify_panel(main_window, tmp_path, qtbot):
    dock = _gl_dock(main_window, qtbot)
    path, xyz = _plate(tmp_path, change=(0.25, -0.25), n=12)
    [layer] = main_window.session.open(path)
    layer.epoch_label = "Epoch 2 (2025-03)"
    _wait_synced(qtbot, dock)
    view = dock.view
    view.render_frame()
    target = xyz[0]  # south-west corner: m3c2_distance +0.25, class 2
    px, _ = view.camera.project((target - view.scene.origin)[None])
    with qtbot.waitSignal(view.point_picked, timeout=3000):
        qtbot.mouseClick(view, Qt.MouseButton.LeftButton, pos=QPointF(*px[0]).toPoint())
    hit = dock.last_pick
    assert hit["layer_key"] == layer.id and hit["x"] == pytest.approx(target[0], abs=1e-3)
    assert hit["m3c2_distance"] == pytest.approx(0.25)
    assert "m3c2_distance = 0.250" in dock.readout.text()
    panel = main_window.identify_panel
    assert panel.results and panel.results[0].layer is layer
    assert panel.value_of("m3c2_distance") is not None and panel.value_of("epoch") == "Epoch 2 (2025-03)"
    assert panel.value_of("classification") == "2"


@pytest.mark.gl
def test_real_lidar_draws_and_picks_real_points(main_window, qtbot, real_data):
    """autzen_trim.laz (110 000 real airborne lidar points, Oregon): drawn in its RGB, the
    classification legend lists the classes in the file, a click returns one of its points."""
    from gis_desk.io.pointcloud import read_pointcloud

    path = real_data / "pointclouds" / "pdal" / "laz" / "autzen_trim.laz"
    if not path.exists():
        pytest.skip(f"{path} not in the shared real data")
    dock = _gl_dock(main_window, qtbot)
    [dataset] = read_pointcloud(path, crs="EPSG:2992")  # the file carries no CRS
    layer = main_window.session.layer_for(dataset)
    main_window.session.add_layers([layer])
    _wait_synced(qtbot, dock)
    view = dock.view
    image = view.grab_snapshot()
    from PySide6.QtGui import QImage

    rgb = image.convertToFormat(QImage.Format.Format_RGB888)
    pixels = np.frombuffer(rgb.constBits(), np.uint8, rgb.bytesPerLine() * rgb.height())
    pixels = pixels.reshape(rgb.height(), rgb.bytesPerLine())[:, :rgb.width() * 3].reshape(rgb.height(), -1, 3)
    drawn = (np.abs(pixels.astype(int) - BACKGROUND).sum(axis=2) > 30)
    assert drawn.mean() > 0.05  # the strip (1.2 km x 0.6 km, trees and a bridge) is in view
    colours = pixels[drawn].astype(float)
    assert colours.std(axis=0).mean() > 10  # real colours (grass, paths, trees), not one grey
    assert colours[:, 1].mean() > colours[:, 2].mean()  # green over blue: vegetation and fields

    dock.set_colour_by("classification")
    codes = {int(e.label.split()[0]) for e in view.legend.entries}
    assert codes == set(np.unique(dataset.cloud.attributes["classification"]).tolist())

    # click the point drawn nearest the centre of the view
    cloud = dataset.cloud
    px, depth = view.camera.project(cloud.xyz - view.scene.origin)
    centre = np.array([view.width() / 2, view.height() / 2])
    i = int(np.argmin(np.hypot(*(px - centre).T) + 1e3 * (np.abs(depth) > 1)))
    with qtbot.waitSignal(view.point_picked, timeout=3000):
        qtbot.mouseClick(view, Qt.MouseButton.LeftButton, pos=QPointF(*px[i]).toPoint())
    hit = dock.last_pick
    k = hit["index"]
    assert np.allclose([hit["x"], hit["y"], hit["z"]], cloud.xyz[k], atol=1e-6)
    assert np.hypot(*(px[k] - px[i])) <= 6  # within the pick tolerance of the click
    assert hit["classification"] == int(cloud.attributes["classification"][k])


@pytest.mark.gl
def test_big_clouds_are_prepared_on_a_worker_thread(main_window, tmp_path, qtbot):
    dock = _gl_dock(main_window, qtbot)
    dock.background_points = 1_000  # this small plate counts as big here
    path, xyz = _plate(tmp_path, rgb=(20, 200, 20))
    [layer] = main_window.session.open(path)
    qtbot.waitUntil(lambda: dock.preparing, timeout=5000)  # handed to window.tasks, not drawn yet
    qtbot.waitUntil(lambda: layer.id in dock.view.scene.layers and not dock.preparing and not dock._stale,
                    timeout=10000)
    from gis_desk.render.pointcloud import point_colours

    scene_layer = dock.view.scene.layers[layer.id]
    expected = point_colours(layer, layer.style)[scene_layer.order]
    assert np.array_equal(scene_layer.colours, expected)
    back = scene_layer.xyz.astype(np.float64)[np.argsort(scene_layer.order)] + dock.view.scene.origin
    assert np.abs(back - xyz).max() < 2e-3  # file stores millimetres
    dock.edl.setChecked(False)
    r, g, b = _pixel(dock, [E0, N0, 25.0])
    assert g > 150 and r < 60


@pytest.mark.gl
def test_hidden_dock_uploads_nothing_until_shown_by_its_shortcut(main_window, tmp_path, qtbot):
    from gis_desk.qt.view3d import gl_status

    if not gl_status()[0]:
        pytest.skip("no OpenGL 3.3 here; the GL tests need a display: run under xvfb-run")
    dock = _install(main_window)
    path, _ = _plate(tmp_path)
    [layer] = main_window.session.open(path)
    qtbot.wait(50)
    assert dock.view.scene.layers == {} and dock._stale  # hidden: nothing prepared or uploaded
    qdock = main_window.docks["view3d"]
    main_window.activateWindow()
    qtbot.keyClick(main_window, Qt.Key.Key_3, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    assert qdock.isVisible()
    qtbot.waitUntil(lambda: layer.id in dock.view.scene.layers, timeout=5000)
    assert len(dock.view.scene.layers[layer.id]) == 160 * 160
