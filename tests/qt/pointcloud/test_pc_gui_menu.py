"""The Point clouds menu in the main window: open (CRS and column prompts), register (matrix,
point pairs typed, pasted or picked on the map, ICP on stable areas, undo, export aligned,
saved with the project) and sections (map tool, profiles, exports).

Synthetic two-epoch scene with known truth (``test_pc_gui_scene``).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QPointF, Qt

from test_pc_gui_scene import (MISREG, X0, Y0, apply, epochs, open_both, pc, sag,  # noqa: F401 (fixtures)
                               scene, wait_task)


# -- menu and opening -----------------------------------------------------------------------------


def test_install_adds_menu_once(main_window):
    from gis_desk.qt.pointcloud import install_pointcloud

    pc = install_pointcloud(main_window)
    assert install_pointcloud(main_window) is pc
    menu = main_window.menus["Point clouds"]
    texts = [a.text().replace("&", "") for a in menu.actions() if not a.isSeparator()]
    assert texts[:3] == ["Open point cloud…", "Register epochs…", "Compare epochs…"]
    assert "Export change report PDF…" in texts
    assert pc.actions["open"].shortcut().toString() == "Ctrl+Shift+L"
    titles = [m.title().replace("&", "") for m in main_window.menuBar().findChildren(type(menu))]
    assert titles.count("Point clouds") == 1
    assert main_window.canvas._tools["pointcloud_section"] is pc.section_tool


def test_open_laz_sets_epoch_label_and_builds_index(qtbot, pc, epochs):
    layers = wait_task(qtbot, pc.window, pc.open_pointcloud(epochs["e1"]))
    layer = pc.window.session.project.layers[-1]
    assert layer.epoch_label == "Epoch 1 (2024-03)"
    assert layer.dataset.count == len(epochs["xyz1"]) and layers[0] is layer.dataset
    assert layer.dataset._index is not None  # built in the task, not on the first redraw
    assert layer.source.reader == "builtins.read_pointcloud"


def test_clouds_added_with_add_data_get_an_epoch_label(qtbot, pc, epochs):
    layers = pc.window.open_path(epochs["e2"])  # the generic Add Data path, not the menu
    assert layers and layers[0].epoch_label == "Epoch 2 (2025-03)"


def test_open_without_crs_asks_and_reopens(qtbot, pc, epochs, tmp_path, monkeypatch):
    from gis_desk.core.crs import crs_id
    from gis_desk.core.pointcloud import PointCloud
    from gis_desk.io.pointcloud import write_pointcloud
    from gis_desk.qt.dialogs import crs_dialog

    path = write_pointcloud(tmp_path / "nocrs_20240312.laz", PointCloud(epochs["xyz1"][:5000], {}, None))
    asked = []
    monkeypatch.setattr(crs_dialog, "ask_crs", lambda *a, **k: asked.append(a) or "EPSG:27700")
    first = pc.open_pointcloud(path)
    qtbot.waitUntil(lambda: first.state == "failed" and first not in pc.window.tasks.tasks)
    assert len(asked) == 1
    wait_task(qtbot, pc.window, pc.last_task)  # the reopen with the chosen CRS
    layer = pc.window.session.project.layers[-1]
    assert crs_id(layer.crs) == "EPSG:27700"
    assert layer.source.options.get("crs") == "EPSG:27700"  # recorded, so the project reopens it
    assert layer.epoch_label == "2024-03-12"


def test_open_without_crs_cancelled_adds_nothing(qtbot, pc, epochs, tmp_path, monkeypatch):
    from gis_desk.core.pointcloud import PointCloud
    from gis_desk.io.pointcloud import write_pointcloud
    from gis_desk.qt.dialogs import crs_dialog

    path = write_pointcloud(tmp_path / "nocrs.laz", PointCloud(epochs["xyz1"][:2000], {}, None))
    monkeypatch.setattr(crs_dialog, "ask_crs", lambda *a, **k: None)
    task = pc.open_pointcloud(path)
    qtbot.waitUntil(lambda: task.state == "failed" and task not in pc.window.tasks.tasks)
    assert len(pc.window.session.project.layers) == 0
    assert pc.last_task is task


def test_open_csv_asks_for_columns(qtbot, pc, tmp_path, monkeypatch):
    from gis_desk.qt.pointcloud import columns_dialog

    rng = np.random.default_rng(3)
    xyz = np.column_stack([X0 + rng.uniform(0, 10, 200), Y0 + rng.uniform(0, 10, 200), rng.uniform(5, 6, 200)])
    path = tmp_path / "survey_2023-06.csv"
    # columns in an unusual order and names the reader cannot guess: Z first
    lines = ["height_m,east_m,north_m,refl"] + [f"{z:.3f},{x:.3f},{y:.3f},{i}" for (x, y, z), i in
                                               zip(xyz, range(200))]
    path.write_text("\n".join(lines) + "\n")
    frame, has_header = columns_dialog.preview(path)
    assert has_header and list(frame.columns) == ["height_m", "east_m", "north_m", "refl"]
    dialog = columns_dialog.ColumnsDialog(path)
    dialog.combos["x"].setCurrentIndex(dialog.combos["x"].findData("east_m"))
    dialog.combos["y"].setCurrentIndex(dialog.combos["y"].findData("north_m"))
    dialog.combos["z"].setCurrentIndex(dialog.combos["z"].findData("height_m"))
    dialog.combos["intensity"].setCurrentIndex(dialog.combos["intensity"].findData("refl"))
    mapping = dialog.mapping()
    assert mapping == {"x": "east_m", "y": "north_m", "z": "height_m", "intensity": "refl"}
    dialog._accept()
    assert dialog.result() == dialog.DialogCode.Accepted

    asked = []
    monkeypatch.setattr(columns_dialog, "ask_columns", lambda parent, p: asked.append(p) or mapping)
    wait_task(qtbot, pc.window, pc.open_pointcloud(path, crs="EPSG:27700"))
    layer = pc.window.session.project.layers[-1]
    assert asked == [path]
    np.testing.assert_allclose(layer.cloud.xyz, xyz, atol=1e-3)
    assert "intensity" in layer.cloud.attributes
    assert layer.epoch_label == "2023-06"


def test_columns_dialog_refuses_missing_and_repeated_columns(tmp_path):
    from gis_desk.qt.pointcloud import columns_dialog

    path = tmp_path / "plain.xyz"
    path.write_text("1 2 3 4\n5 6 7 8\n9 10 11 12\n")
    dialog = columns_dialog.ColumnsDialog(path)
    assert dialog.mapping() == {"x": 0, "y": 1, "z": 2}  # headerless: positions
    dialog.combos["y"].setCurrentIndex(dialog.combos["y"].findData(0))
    dialog._accept()
    assert dialog.result() != dialog.DialogCode.Accepted and "only one" in dialog.error.text()


# -- registration -----------------------------------------------------------------------------------


def _angle(m):
    return math.acos(max(-1.0, min(1.0, (np.trace(m[:3, :3]) - 1) / 2)))


def test_register_with_typed_matrix_apply_undo_reset(qtbot, pc, epochs):
    from gis_desk.analysis.registration import format_transform

    e1, e2 = open_both(qtbot, pc, epochs)
    dialog = pc.register_epochs()
    assert dialog.moving.layer() is e2 and dialog.reference.layer() is e1
    truth = np.linalg.inv(MISREG)
    dialog.set_coarse_mode("matrix")
    dialog.matrix_text.setPlainText(format_transform(truth))
    dialog.icp_box.setChecked(False)
    result = wait_task(qtbot, pc.window, dialog.run())
    np.testing.assert_allclose(result.matrix, truth, atol=1e-9)
    assert "Matrix" in dialog.report.toPlainText() and dialog.apply_button.isEnabled()
    assert dialog.apply()
    np.testing.assert_allclose(e2.transform, truth)
    undo = pc.window.session.undo_stack
    assert undo.undo_text.startswith("Register")
    undo.undo()
    assert not e2.has_transform
    undo.redo()
    np.testing.assert_allclose(e2.transform, truth)
    dialog.reset()
    assert not e2.has_transform
    undo.undo()  # undoing the reset brings the registration back
    np.testing.assert_allclose(e2.transform, truth)


def test_register_with_point_pairs(qtbot, pc, epochs):
    e1, e2 = open_both(qtbot, pc, epochs)
    dialog = pc.register_epochs()
    true_pts = np.array([[X0 + 1, Y0 + 5, 14.0], [X0 + 39, Y0 + 5, 14.0], [X0 + 20, Y0 + 12, 14.0],
                         [X0 + 3, Y0 + 15, 10.5]])
    moving = apply(MISREG, true_pts)  # where the picked points are in epoch 2's file
    text = "moving x, y, z, ref x, y, z\n" + "\n".join(
        ", ".join(f"{v:.4f}" for v in np.hstack([m, t])) for m, t in zip(moving, true_pts))
    dialog.paste_pairs(text)
    assert dialog.coarse_mode.currentData() == "pairs" and dialog.pairs_table.rowCount() == 4
    dialog.icp_box.setChecked(False)
    result = wait_task(qtbot, pc.window, dialog.run())
    assert result.method == "point pairs" and result.rms < 1e-3
    # compare where the matrices put the site (entries differ: BNG lever arms magnify rounding)
    probe = apply(MISREG, scene(5, changed=False)[::50])
    np.testing.assert_allclose(apply(result.matrix, probe), apply(np.linalg.inv(MISREG), probe), atol=5e-4)


def test_register_two_pairs_is_refused(qtbot, pc, epochs, dialogs):
    open_both(qtbot, pc, epochs)
    dialog = pc.register_epochs()
    dialog.set_coarse_mode("pairs")
    dialog.pairs_table.setRowCount(2)
    for r in range(2):
        for c in range(6):
            from PySide6.QtWidgets import QTableWidgetItem

            dialog.pairs_table.setItem(r, c, QTableWidgetItem(str(r + c)))
    assert dialog.run() is None
    assert "at least 3 point pairs" in pc.window.message_bar.text


def test_register_icp_on_stable_areas_and_export_aligned(qtbot, pc, epochs, tmp_path):
    from gis_desk.io.pointcloud import read_pointcloud

    e1, e2 = open_both(qtbot, pc, epochs)
    dialog = pc.register_epochs()
    dialog.load_stable_areas(str(epochs["stable"]))
    assert dialog.stable.layer() is not None and dialog.stable.layer().name.startswith("stable")
    assert dialog.coarse_mode.currentData() == "none" and dialog.icp_box.isChecked()
    result = wait_task(qtbot, pc.window, dialog.run(), timeout=90000)
    truth = np.linalg.inv(MISREG)
    # the planted sag is outside the stable areas, so ICP recovers the misregistration
    probe = np.array([[X0 + 20, Y0 + 10, 14.0], [X0, Y0, 10.0], [X0 + 40, Y0 + 20, 10.0]])
    err = np.linalg.norm(apply(result.matrix, probe) - apply(truth, probe), axis=1)
    assert err.max() < 0.005, err
    assert result.overlap > 0.8 and result.n_correspondences > 1000
    assert 0 < result.registration_error < 0.01
    text = dialog.report.toPlainText()
    for word in ("RMS", "Overlap", "Correspondences", "Registration error"):
        assert word in text
    dialog.apply()
    saved = pc.registrations[e2.id]  # kept in the project for Compare epochs
    np.testing.assert_allclose(saved.matrix, result.matrix)
    assert saved.registration_error == pytest.approx(result.registration_error)
    assert pc.window.session.project.plugin_data["pointclouds"]["registrations"][e2.id]["method"] == result.method

    out = tmp_path / "aligned.laz"
    wait_task(qtbot, pc.window, dialog.export_aligned(str(out)))
    aligned = read_pointcloud(out)[0].cloud
    np.testing.assert_allclose(aligned.xyz, e2.points(), atol=2e-3)  # LAZ keeps mm
    original = read_pointcloud(epochs["e2"])[0].cloud
    np.testing.assert_allclose(original.xyz, epochs["xyz2"], atol=1e-3)  # the source is untouched


def test_export_aligned_refuses_to_overwrite_source(qtbot, pc, epochs, dialogs):
    e1, e2 = open_both(qtbot, pc, epochs)
    assert pc.export_aligned(e2, epochs["e2"]) is None
    assert "new file" in pc.window.message_bar.text


# -- sections --------------------------------------------------------------------------------------


def test_section_tool_draws_and_exports(qtbot, pc, epochs, tmp_path):
    from shapely.geometry import LineString, Point

    e1, e2 = open_both(qtbot, pc, epochs)
    w = pc.window
    w.canvas.set_extent((X0 - 2, Y0 - 2, X0 + 42, Y0 + 22))
    pc.section_panel.width.setValue(0.4)
    pc.start_section()
    assert w.canvas.tool_name == "pointcloud_section" and pc.section_dock.isVisible()
    view = w.canvas.viewport
    a = QPointF(*view.world_to_pixel(X0 + 20, Y0 + 1))
    b = QPointF(*view.world_to_pixel(X0 + 20, Y0 + 19))
    qtbot.mouseClick(w.canvas, Qt.MouseButton.LeftButton, pos=a.toPoint())
    qtbot.mouseMove(w.canvas, pos=((a + b) / 2).toPoint())
    assert pc.overlay.floating is not None
    qtbot.mouseClick(w.canvas, Qt.MouseButton.LeftButton, pos=b.toPoint())
    line = pc.section_line
    assert isinstance(line, LineString) and line.length == pytest.approx(18, abs=0.5)
    profiles = pc.section_panel.profiles
    assert [p.label for p in profiles] == ["Epoch 1 (2024-03)", "Epoch 2 (2025-03)"]
    for profile, layer in zip(profiles, (e1, e2)):
        assert len(profile) > 100
        pts = layer.points(profile.index)
        assert max(line.distance(Point(x, y)) for x, y in pts[:, :2]) <= 0.2 + 1e-9
        # the deck top (z ~ 14) is in the strip
        assert profile.z.max() > 13.9
    # exports
    for suffix in (".png", ".svg", ".pdf", ".csv"):
        out = pc.section_panel.export(tmp_path / f"section{suffix}")
        assert Path(out).stat().st_size > 0
    assert (tmp_path / "section.csv").read_text().count("\n") > 200
    # a wider strip takes more points
    n = sum(len(p) for p in profiles)
    pc.section_panel.width.setValue(1.0)
    assert sum(len(p) for p in pc.section_panel.profiles) > 1.8 * n
    # Esc (cancel) keeps a finished line; a right click starts over
    assert pc.section_tool.cancel() is False


def test_section_of_a_registered_layer_uses_its_transform(qtbot, pc, epochs):
    from shapely.geometry import LineString

    e1, e2 = open_both(qtbot, pc, epochs)
    from gis_desk.qt.pointcloud.common import SetTransform

    pc.window.session.undo_stack.push(SetTransform(e2, np.linalg.inv(MISREG)))
    line = LineString([(X0 + 3, Y0 + 1), (X0 + 3, Y0 + 19)])  # across the west abutment: unchanged
    p1, p2 = pc.set_section_line(line)
    # after registration, the abutment top of both epochs is at the same height (within noise)
    top1, top2 = p1.z[p1.z > 13.5], p2.z[p2.z > 13.5]
    assert len(top1) > 50 and len(top2) > 50
    assert abs(np.median(top1) - np.median(top2)) < 0.004
    # and the kept epoch-2 points, transformed, are within the strip
    from shapely.geometry import Point

    pts = e2.points(p2.index)
    assert max(line.distance(Point(x, y)) for x, y in pts[:, :2]) <= 0.25 + 1e-9


# -- picking, persistence, results interaction --------------------------------------------------------


def test_pick_pairs_on_map_fills_the_table(qtbot, pc, epochs):
    from gis_desk.qt.pointcloud.pick import TOOL_NAME

    e1, e2 = open_both(qtbot, pc, epochs)
    w = pc.window
    w.canvas.set_extent((X0 - 2, Y0 - 2, X0 + 42, Y0 + 22))
    dialog = pc.register_epochs()
    dialog.pairs_table.setRowCount(0)
    dialog.pick_button.setChecked(True)
    assert w.canvas.tool_name == TOOL_NAME
    view = w.canvas.viewport
    radius = 6 * view.pixel_size
    targets = [(X0 + 2, Y0 + 6), (X0 + 37, Y0 + 6), (X0 + 20, Y0 + 10), (X0 + 4, Y0 + 14)]
    for tx, ty in targets:
        moving_xy = apply(MISREG, np.array([[tx, ty, 14.0]]))[0, :2]
        for x, y in (moving_xy, (tx, ty)):
            qtbot.mouseClick(w.canvas, Qt.MouseButton.LeftButton, pos=QPointF(*view.world_to_pixel(x, y)).toPoint())
    assert dialog.pairs_table.rowCount() == 4
    moving, reference = dialog.pairs()
    for (tx, ty), m, r in zip(targets, moving, reference):
        true_m = apply(MISREG, np.array([[tx, ty, 14.0]]))[0]
        assert np.hypot(*(m[:2] - true_m[:2])) <= radius + view.pixel_size  # a click lands within a pixel
        assert np.hypot(r[0] - tx, r[1] - ty) <= radius + view.pixel_size
        # the top (deck or abutment) is taken; epoch 2's deck sags at mid-span
        assert abs(m[2] - (true_m[2] + sag(np.array([tx - X0]))[0])) < 0.02 and abs(r[2] - 14.0) < 0.02
    # a click away from any point of the layer adds nothing
    assert dialog.pick_at(X0 + 500, Y0 + 500) is False
    dialog.icp_box.setChecked(False)
    result = wait_task(qtbot, w, dialog.run())
    probe = apply(MISREG, scene(5, changed=False)[::50])
    err = np.linalg.norm(apply(result.matrix, probe) - apply(np.linalg.inv(MISREG), probe), axis=1)
    assert err.max() < 0.5  # picking precision: a few pixels
    w.canvas.set_tool("pan")  # another tool ends picking
    assert not dialog.pick_button.isChecked()


def test_registration_is_saved_with_the_project(qtbot, pc, epochs, tmp_path):
    from gis_desk.analysis.registration import format_transform

    e1, e2 = open_both(qtbot, pc, epochs)
    dialog = pc.register_epochs()
    dialog.set_coarse_mode("matrix")
    dialog.matrix_text.setPlainText(format_transform(np.linalg.inv(MISREG)))
    dialog.icp_box.setChecked(False)
    wait_task(qtbot, pc.window, dialog.run())
    dialog.apply()
    dialog.close()
    w = pc.window
    assert w._save_to(tmp_path / "site.gdesk")
    w.session.new_project()
    assert pc.registrations.get(e2.id) is None
    w.open_project(tmp_path / "site.gdesk", ask_to_save=False)
    reopened = next(l for l in w.session.project.layers if l.id == e2.id)
    np.testing.assert_allclose(reopened.transform, np.linalg.inv(MISREG), atol=1e-9)
    saved = pc.registrations.get(e2.id)
    assert saved is not None and saved.method == "coarse matrix"
    compare = pc.compare_epochs()
    assert "registered" in compare.alignment.text() and not compare.icp_box.isChecked()


def test_section_line_in_another_crs_and_picking_a_moved_layer(qtbot, pc, epochs):
    from shapely.geometry import LineString

    from gis_desk.core.crs import transform_xy
    from gis_desk.qt.pointcloud.common import SetTransform
    from gis_desk.qt.pointcloud.pick import top_point_near
    from gis_desk.qt.pointcloud.section import layer_profile

    e1, e2 = open_both(qtbot, pc, epochs)
    bng = LineString([(X0 + 20, Y0 + 1), (X0 + 20, Y0 + 19)])
    lon, lat = transform_xy("EPSG:27700", "EPSG:4326", [X0 + 20, X0 + 20], [Y0 + 1, Y0 + 19])
    wgs = LineString(zip(np.ravel(lon), np.ravel(lat)))
    a = layer_profile(e1, bng, 0.4)
    b = layer_profile(e1, wgs, 0.4, line_crs="EPSG:4326")
    assert len(a) > 100 and set(a.index) == set(b.index)  # the same strip, whichever CRS the line is in

    pc.window.session.undo_stack.push(SetTransform(e2, np.linalg.inv(MISREG)))
    i = top_point_near(e2, X0 + 3, Y0 + 10, 0.3)  # on the west abutment top, as placed
    placed = e2.points([i])[0]
    assert np.hypot(placed[0] - (X0 + 3), placed[1] - (Y0 + 10)) <= 0.3 and abs(placed[2] - 14.0) < 0.02
    assert top_point_near(e2, X0 + 300, Y0 + 10, 0.3) is None


def test_section_along_a_line_of_a_layer(qtbot, pc, epochs, tmp_path):
    import geopandas as gpd
    from shapely.geometry import LineString

    e1, e2 = open_both(qtbot, pc, epochs)
    lines = gpd.GeoDataFrame({"name": ["deck crossing", "along the deck"]},
                             geometry=[LineString([(X0 + 20, Y0 + 2), (X0 + 20, Y0 + 18)]),
                                       LineString([(X0 + 1, Y0 + 10), (X0 + 20, Y0 + 10.5), (X0 + 39, Y0 + 10)])],
                             crs="EPSG:27700")
    lines.to_file(tmp_path / "planned_sections.gpkg")
    pc.window.open_path(tmp_path / "planned_sections.gpkg")
    combo = pc.section_panel.saved
    assert [combo.itemText(i) for i in range(1, combo.count())] == \
        ["planned_sections: deck crossing", "planned_sections: along the deck"]
    combo.activated.emit(2)  # the user picks the polyline along the deck
    profiles = pc.section_panel.profiles
    assert pc.section_panel.title == "planned_sections: along the deck"
    assert len(pc.overlay.vertices) == 3 and profiles[0].length == pytest.approx(38.0, abs=0.05)
    # along the deck: epoch 2 is misregistered (not yet registered) but both epochs give points
    assert all(len(p) > 200 for p in profiles)
    w = pc.window
    w.canvas.set_extent((X0 - 2, Y0 - 2, X0 + 42, Y0 + 22))
    image = w.canvas.grab()  # the overlay paints without error, polyline and strip
    assert not image.isNull()
