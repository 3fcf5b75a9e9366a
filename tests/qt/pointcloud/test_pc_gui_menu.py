"""The Point clouds menu in the main window: open (CRS and column prompts), register (matrix,
point pairs, ICP on stable areas, undo, export aligned), compare (result layers, flagged
elements, histogram, report), sections (map tool, profiles, exports).

Synthetic two-epoch scene with known truth: a terrain with two abutment blocks and a deck;
epoch 2 is the same surfaces resampled, misregistered by a known rigid motion, with the middle
of the deck sagging 60 mm.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QPointF, Qt

X0, Y0 = 378_800.0, 392_600.0
SAG = 0.06  # m at mid-span


def _rotation_z(angle: float, centre) -> np.ndarray:
    c, s = math.cos(angle), math.sin(angle)
    m = np.eye(4)
    m[:2, :2] = [[c, -s], [s, c]]
    centre = np.asarray(centre, float)
    m[:3, 3] = centre - m[:3, :3] @ centre
    return m


# epoch 2 file coordinates = MISREG applied to the true positions
MISREG = _rotation_z(0.0015, (X0 + 20, Y0 + 10, 12.0))
MISREG[:3, 3] += (0.04, -0.03, 0.02)


def _surface(rng, n, u0, u1, v0, v1, z_fn):
    u, v = rng.uniform(u0, u1, n), rng.uniform(v0, v1, n)
    return np.column_stack([u, v, z_fn(u, v)])


def _wall(rng, n, a, b, z0, z1):
    """Vertical face between plan points a and b from z0 to z1."""
    t, z = rng.uniform(0, 1, n), rng.uniform(z0, z1, n)
    a, b = np.asarray(a, float), np.asarray(b, float)
    xy = a + t[:, None] * (b - a)
    return np.column_stack([xy, z])


def _box(rng, density, u0, u1, v0, v1, z0, z1):
    parts = [_surface(rng, int(density * (u1 - u0) * (v1 - v0)), u0, u1, v0, v1, lambda u, v: np.full_like(u, z1))]
    for a, b in (((u0, v0), (u1, v0)), ((u1, v0), (u1, v1)), ((u1, v1), (u0, v1)), ((u0, v1), (u0, v0))):
        length = math.dist(a, b)
        parts.append(_wall(rng, int(density * length * (z1 - z0)), a, b, z0, z1))
    return np.vstack(parts)


def ground_z(u, v):
    return 10.0 + 0.3 * np.sin(u / 5.0) + 0.2 * np.cos(v / 4.0)


def sag(u):
    inside = (u > 14) & (u < 26)
    return np.where(inside, -SAG * np.sin(np.pi * (np.clip(u, 14, 26) - 14) / 12), 0.0)


def scene(seed: int, changed: bool, density: float = 30.0, with_classes: bool = False):
    """True positions (BNG) of one epoch; with ``with_classes`` also ASPRS classes (2 ground,
    17 bridge) so the DEM of difference is built from the ground only."""
    rng = np.random.default_rng(seed)
    ground = _surface(rng, int(density * 40 * 20), 0, 40, 0, 20, ground_z)
    parts = [_box(rng, density, 0, 6, 4, 16, 10.5, 14.0), _box(rng, density, 34, 40, 4, 16, 10.5, 14.0)]
    deck = _box(rng, density, 6, 34, 8, 12, 13.2, 14.0)
    if changed:
        deck[:, 2] += sag(deck[:, 0])
    parts.append(deck)
    xyz = np.vstack([ground] + parts)
    classes = np.r_[np.full(len(ground), 2, np.uint8), np.full(len(xyz) - len(ground), 17, np.uint8)]
    xyz += rng.normal(0, 0.003, xyz.shape)
    xyz[:, 0] += X0
    xyz[:, 1] += Y0
    return (xyz, classes) if with_classes else xyz


def apply(m, xyz):
    return xyz @ m[:3, :3].T + m[:3, 3]


@pytest.fixture(scope="module")
def epochs(tmp_path_factory):
    """Two LAZ epochs (epoch 2 misregistered and sagging) with a CRS, plus the polygon files."""
    import geopandas as gpd
    from shapely.geometry import box

    from gis_desk.core.pointcloud import PointCloud
    from gis_desk.io.pointcloud import write_pointcloud

    folder = tmp_path_factory.mktemp("pcgui")
    e1, c1 = scene(1, changed=False, with_classes=True)
    e2, c2 = scene(2, changed=True, with_classes=True)
    e2 = apply(MISREG, e2)
    p1 = write_pointcloud(folder / "span_epoch1_2024-03.laz", PointCloud(e1, {"classification": c1}, "EPSG:27700"))
    p2 = write_pointcloud(folder / "span_epoch2_2025-03.laz", PointCloud(e2, {"classification": c2}, "EPSG:27700"))

    def b(u0, v0, u1, v1):
        return box(X0 + u0, Y0 + v0, X0 + u1, Y0 + v1)

    stable = gpd.GeoDataFrame({"name": ["west", "east"]}, geometry=[b(-1, -1, 7, 21), b(33, -1, 41, 21)],
                               crs="EPSG:27700")
    stable.to_file(folder / "stable_areas.gpkg")
    zones = gpd.GeoDataFrame({"name": ["abutment west", "deck middle", "deck east"],
                              "zmin": [None, 13.0, 13.0]},
                             geometry=[b(0, 4, 6, 16), b(14, 8, 26, 12), b(26.5, 8, 34, 12)], crs="EPSG:27700")
    zones.to_file(folder / "zones.gpkg")
    return {"folder": folder, "e1": Path(p1), "e2": Path(p2), "stable": folder / "stable_areas.gpkg",
            "zones": folder / "zones.gpkg", "xyz1": e1, "xyz2": e2}


@pytest.fixture
def pc(main_window):
    from gis_desk.qt.pointcloud import install_pointcloud

    return install_pointcloud(main_window)


def wait_task(qtbot, window, task, timeout: int = 60000):
    assert task is not None
    qtbot.waitUntil(lambda: task.state not in ("pending", "running") and task not in window.tasks.tasks,
                    timeout=timeout)
    assert task.state == "finished", f"{task.title}: {task.state} {task.error!r}"
    return task.result


def open_both(qtbot, pc, epochs):
    w = pc.window
    for key in ("e1", "e2"):
        wait_task(qtbot, w, pc.open_pointcloud(epochs[key]))
    layers = {l.epoch_label: l for l in w.session.project.layers}
    return layers["Epoch 1 (2024-03)"], layers["Epoch 2 (2025-03)"]


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
    assert layer.source.options.get("crs") in ("EPSG:27700", layer.source.options.get("crs"))
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


# -- comparison ------------------------------------------------------------------------------------


def _compare_dialog(qtbot, pc, epochs, tmp_path):
    e1, e2 = open_both(qtbot, pc, epochs)
    for key in ("stable", "zones"):
        pc.window.open_path(epochs[key])
    dialog = pc.compare_epochs()
    assert dialog.epoch1.layer() is e1 and dialog.epoch2.layer() is e2
    assert dialog.stable.layer().name.startswith("stable") and dialog.zones.layer().name.startswith("zones")
    assert dialog.zone_field.currentText() == "name" and dialog.icp_box.isChecked()
    dialog.out_dir.setText(str(tmp_path / "out"))
    dialog.normal_radius.setValue(0.6)
    dialog.cylinder_radius.setValue(0.4)
    dialog.max_depth.setValue(0.5)
    dialog.threshold.setValue(20.0)
    dialog.dod_cell.setValue(0.5)
    return e1, e2, dialog


def test_compare_adds_change_layers_and_flags_the_sagging_deck(qtbot, pc, epochs, tmp_path, dialogs):
    from gis_desk.core.layer import RasterLayerBase, VectorLayer
    from gis_desk.core.pointcloud import PointCloudLayer

    e1, e2, dialog = _compare_dialog(qtbot, pc, epochs, tmp_path)
    before = len(pc.window.session.project.layers)
    wait_task(qtbot, pc.window, dialog.run(), timeout=120000)
    result = pc.comparison
    assert result is not None
    added = list(pc.window.session.project.layers)[before:]
    kinds = {type(l) for l in added}
    assert PointCloudLayer in kinds and VectorLayer in kinds and any(issubclass(k, RasterLayerBase) for k in kinds)
    change = next(l for l in added if isinstance(l, PointCloudLayer))
    assert change.style.color_by == "m3c2_distance" and change.style.ramp == "RdBu"
    assert Path(change.source.path).name == "m3c2_change.laz"
    zones_layer = next(l for l in added if isinstance(l, VectorLayer))
    assert zones_layer.style.kind == "categorised" and zones_layer.style.field == "status"

    flagged = result.summary()["flagged_zones"]
    assert flagged == ["deck middle"]
    panel = pc.results
    assert panel.table.rowCount() == 3
    rows = panel.flagged_rows()
    assert [panel.table.item(r, 0).text() for r in rows] == ["deck middle"]
    assert not panel.histogram.image().isNull()
    assert pc.results_dock.isVisible()
    # the deck sag is measured: median change in the middle zone is tens of mm downwards
    zones = result.zones.set_index("name")
    assert -0.06 < zones.loc["deck middle", "median_change_m"] < -0.015
    assert abs(zones.loc["abutment west", "median_change_m"]) < 0.005
    for name in ("m3c2_change.laz", "comparison.json", "histogram.png", "zones_change.gpkg"):
        assert (tmp_path / "out" / name).stat().st_size > 0


def test_report_export_uses_last_comparison(qtbot, pc, epochs, tmp_path, dialogs):
    assert pc.export_report(tmp_path / "none.pdf") is None  # nothing compared yet: a notice
    _e1, _e2, dialog = _compare_dialog(qtbot, pc, epochs, tmp_path)
    wait_task(qtbot, pc.window, dialog.run(), timeout=120000)
    try:
        import gis_desk.report.change_report  # noqa: F401
    except ImportError:
        assert pc.export_report(tmp_path / "r.pdf") is None
        assert not (tmp_path / "r.pdf").exists()
        return
    out = tmp_path / "report.pdf"
    wait_task(qtbot, pc.window, pc.export_report(out), timeout=120000)
    assert out.read_bytes()[:5] == b"%PDF-"


def test_normals_orientation_entry(qtbot, pc, epochs, tmp_path, dialogs):
    from gis_desk.errors import ParameterError

    _e1, _e2, dialog = _compare_dialog(qtbot, pc, epochs, tmp_path)
    assert dialog.params().normal_orientation == "up"
    dialog.orientation_mode.setCurrentIndex(dialog.orientation_mode.findData("towards"))
    dialog.orientation_xyz.setText("378820, 392700.5, 50")
    assert dialog.params().normal_orientation == ("towards", (378820.0, 392700.5, 50.0))
    dialog.orientation_mode.setCurrentIndex(dialog.orientation_mode.findData("direction"))
    dialog.orientation_xyz.setText("0 1")
    with pytest.raises(ParameterError):
        dialog.params()
    assert dialog.run() is None and "three numbers" in pc.window.message_bar.text
    dialog.set_orientation((0.0, -1.0, 0.0))
    assert dialog.params().normal_orientation == (0.0, -1.0, 0.0)
    dialog.set_orientation("up")
    assert not dialog.orientation_xyz.isEnabled()


def test_import_cloudcompare_params(qtbot, pc, epochs, tmp_path, dialogs):
    _e1, _e2, dialog = _compare_dialog(qtbot, pc, epochs, tmp_path)
    try:
        from gis_desk.io.m3c2_params import read_cloudcompare_params
    except ImportError:
        assert dialog.import_cloudcompare(str(tmp_path / "x.txt")) is False
        return
    sample = Path(__file__).resolve().parents[3] / "sample_surveys" / "bridge" / "m3c2_params.txt"
    if not sample.exists():
        pytest.skip("sample_surveys/bridge/m3c2_params.txt is not in this checkout")
    expected = read_cloudcompare_params(sample)
    assert dialog.import_cloudcompare(str(sample))
    assert dialog.params().cylinder_radius == pytest.approx(expected.cylinder_radius)
    assert dialog.params().normal_orientation == expected.normal_orientation


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


def test_results_zoom_to_element_and_show_in_3d(qtbot, pc, epochs, tmp_path, dialogs):
    _e1, _e2, dialog = _compare_dialog(qtbot, pc, epochs, tmp_path)
    wait_task(qtbot, pc.window, dialog.run(), timeout=120000)
    panel = pc.results
    row = next(r for r in range(panel.table.rowCount()) if panel.table.item(r, 0).text() == "deck middle")
    panel.table.cellDoubleClicked.emit(row, 0)
    xmin, ymin, xmax, ymax = pc.window.canvas.viewport.extent
    assert xmin <= X0 + 14 and xmax >= X0 + 26 and ymin <= Y0 + 8 and ymax >= Y0 + 12
    assert xmax - xmin < 40  # zoomed in on the element, not the whole site
    assert panel.view3d_button.isEnabled()
    if pc.show_in_3d():
        assert pc.window.docks["view3d"].isVisible()
