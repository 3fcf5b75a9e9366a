"""The main window: bad inputs give clear messages with the project intact, CRS prompt and retry,
title and unsaved changes, autosave recovery, drag and drop, plugins, processing."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDropEvent
from PySide6.QtWidgets import QMessageBox

from gis_desk.core.layer import VectorLayer


@pytest.fixture
def window(main_window, squares):
    main_window.open_path(squares)
    main_window.session.project.mark_dirty(False)
    return main_window


def layer_names(window) -> list[str]:
    return [l.name for l in window.session.project.layers]


def truncated_geotiff(folder: Path) -> Path:
    import rasterio
    from rasterio.transform import from_origin

    good = folder / "good.tif"
    with rasterio.open(good, "w", driver="GTiff", width=300, height=300, count=1, dtype="uint8",
                       crs="EPSG:27700", transform=from_origin(380000, 396000, 1, 1)) as ds:
        ds.write(np.random.default_rng(1).integers(0, 255, (1, 300, 300), dtype="uint8"))
    data = good.read_bytes()
    bad = folder / "orthophoto.tif"
    bad.write_bytes(data[: len(data) // 3])
    return bad


BAD_INPUTS = {
    "truncated GeoTIFF": (truncated_geotiff, "truncated"),
    "text named .gpkg": (lambda d: (d / "parcels.gpkg").write_text("not a database") and d / "parcels.gpkg",
                         "not a valid GeoPackage"),
    "CSV without coordinates": (lambda d: (d / "assets.csv").write_text("name,value\na,1\n") and d / "assets.csv",
                                "No coordinate columns"),
    "invalid JSON project": (lambda d: (d / "broken.gdesk").write_text('{"format": ') and d / "broken.gdesk",
                             "not valid JSON"),
    "missing path": (lambda d: d / "gone" / "survey.geojson", "does not exist"),
}


@pytest.mark.parametrize("case", BAD_INPUTS)
def test_bad_input_gives_a_message_naming_the_file(window, tmp_path, case, dialogs, make_squares):
    make, problem = BAD_INPUTS[case]
    path = make(tmp_path)
    before = list(window.session.project.layers)
    assert window.open_path(path) is None
    bar = window.message_bar
    assert bar.isVisible() and path.name in bar.text and problem in bar.text
    assert any(path.name in line for line in window.message_log.lines("warning"))
    assert list(window.session.project.layers) == before  # the project is intact
    assert dialogs.boxes == []  # a notification, not a blocking box
    window.canvas.zoom_full()  # and the window still works
    assert window.open_path(make_squares(tmp_path / "after.geojson", n=2))
    assert layer_names(window)[-1] == "after"


def test_shapefile_without_shx(window, tmp_path):
    import geopandas as gpd
    from shapely.geometry import Point

    gpd.GeoDataFrame({"a": [1]}, geometry=[Point(380000, 395000)], crs="EPSG:27700").to_file(tmp_path / "sites.shp")
    (tmp_path / "sites.shx").unlink()
    assert window.open_path(tmp_path / "sites.shp") is None
    assert "sites.shp" in window.message_bar.text and ".shx" in window.message_bar.text


def test_missing_crs_prompts_and_retries(window, tmp_path, monkeypatch):
    from gis_desk.qt.dialogs import crs_dialog

    csv = tmp_path / "points.csv"
    csv.write_text("name,x,y\na,380000,395000\nb,380100,395100\n")
    monkeypatch.setattr(crs_dialog, "ask_crs", lambda *a, **k: "EPSG:27700")
    window.open_path(csv)
    added = window.session.project.layers[-1]
    assert added.name == "points" and added.crs.to_epsg() == 27700
    assert added.source.options.get("crs") in ("EPSG:27700", 27700)


def test_crs_dialog_search_and_free_entry(qtbot):
    from gis_desk.qt.dialogs.crs_dialog import CrsDialog, search_crs

    assert search_crs("")[0][0] == "EPSG:27700"
    assert ("EPSG:29903", "TM75 / Irish Grid") in search_crs("irish grid")
    assert any(code == "EPSG:32631" for code, _ in search_crs("utm zone 31n"))
    d = CrsDialog()
    qtbot.addWidget(d)
    d.search.setText("3857")
    assert d.chosen_crs() == "EPSG:3857"
    d.search.setText("+proj=longlat +datum=WGS84 +no_defs")  # nothing listed: the text itself
    from gis_desk.core.crs import to_crs

    assert to_crs(d.chosen_crs()).is_geographic
    d.search.setText("not a crs at all")
    assert d.chosen_crs() is None


def test_title_shows_name_and_unsaved_changes(window, tmp_path, dialogs):
    assert window.windowTitle() == "Untitled — GIS Desk"
    layer = window.session.project.layers[0]
    window.session.set_layer_property(layer, "name", "Sites")
    assert window.windowTitle() == "*Untitled — GIS Desk"
    assert window._save_to(tmp_path / "survey.gdesk")
    assert window.windowTitle() == "survey — GIS Desk"
    from gis_desk.settings import recent_projects

    assert recent_projects() == [str((tmp_path / "survey.gdesk").resolve())]
    window.fill_recent_menu()
    assert [a.text() for a in window.recent_menu.actions()] == ["survey.gdesk"]


@pytest.mark.parametrize("answer, closes, saved", [
    (QMessageBox.StandardButton.Cancel, False, False),
    (QMessageBox.StandardButton.Discard, True, False),
    (QMessageBox.StandardButton.Save, True, True),
])
def test_close_with_unsaved_changes_asks(window, dialogs, tmp_path, answer, closes, saved):
    window._save_to(tmp_path / "p.gdesk")
    window.session.set_layer_property(window.session.project.layers[0], "visible", False)
    dialogs.answer = answer
    assert window.close() is closes
    assert "unsaved changes" in dialogs.boxes[-1]["text"]
    from gis_desk.io.project_file import load_project_document

    doc = load_project_document(tmp_path / "p.gdesk")
    assert doc["layers"][0]["visible"] is (not saved)


def test_undo_redo_actions_follow_the_stack(window):
    a = window.actions_
    layer = window.session.project.layers[0]
    window.session.set_layer_property(layer, "name", "Renamed")
    assert a.undo.isEnabled() and "Renamed" not in a.undo.text() and "name" in a.undo.text()
    a.undo.trigger()
    assert layer.name == "squares" and a.redo.isEnabled()
    a.redo.trigger()
    assert layer.name == "Renamed"


def test_autosave_and_recovery(window, tmp_path, dialogs):
    project_path = tmp_path / "work.gdesk"
    window._save_to(project_path)
    layer = window.session.project.layers[0]
    window.session.set_layer_property(layer, "name", "Unsaved name")
    window.autosave()
    from gis_desk.core.autosave import autosave_file_for, find_recovery

    auto = autosave_file_for(project_path)
    assert auto.exists()
    os.utime(project_path, (1, 1))  # the autosave is newer than the saved file
    window.session.load(project_path)
    assert layer_names(window) == ["squares"]
    dialogs.click = "Recover"
    assert window.offer_recovery(project_path)
    assert "Recover unsaved work" in dialogs.boxes[-1]["title"]
    assert layer_names(window) == ["Unsaved name"] and window.session.project.dirty
    assert window.session.project.path == project_path.resolve()
    # discarding removes the autosave and keeps the project as it is
    window.autosave()
    os.utime(project_path, (1, 1))
    dialogs.click = "Discard"
    assert not window.offer_recovery(project_path)
    assert find_recovery(project_path) is None


def test_drop_files_and_projects(window, tmp_path, make_squares):
    extra = make_squares(tmp_path / "dropped.geojson", n=2)
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(extra))])
    event = QDropEvent(QPointF(10, 10), Qt.DropAction.CopyAction, mime, Qt.MouseButton.NoButton,
                       Qt.KeyboardModifier.NoModifier)
    window.dropEvent(event)
    assert layer_names(window) == ["squares", "dropped"]
    window._save_to(tmp_path / "dropped.gdesk")
    window.session.new_project()
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(tmp_path / "dropped.gdesk"))])
    window.dropEvent(QDropEvent(QPointF(10, 10), Qt.DropAction.CopyAction, mime, Qt.MouseButton.NoButton,
                                Qt.KeyboardModifier.NoModifier))
    assert layer_names(window) == ["squares", "dropped"]


def test_tree_selection_sets_active_layer_and_opens_attribute_table(window):
    layer = window.session.project.layers[0]
    window.layer_tree.set_current_layer(layer)
    assert window.canvas.active_layer is layer
    window.actions_.attribute_table.trigger()
    dock = window.attribute_docks[layer.id]
    assert dock.widget().model.rowCount() == len(layer.dataset.frame)
    window.session.remove_layers([layer])  # its table goes with it
    assert layer.id not in window.attribute_docks


def test_broken_layer_repoint_from_the_window(window, tmp_path, make_squares):
    path = make_squares(tmp_path / "parcels.geojson", n=4)
    window.open_path(path)
    window._save_to(tmp_path / "p.gdesk")
    moved = tmp_path / "moved"
    moved.mkdir()
    path.rename(moved / "parcels.geojson")
    window.open_project(tmp_path / "p.gdesk")
    broken = window.session.project.layer_by_name("parcels")
    assert broken.is_broken
    assert "could not be opened" in window.message_bar.text
    fixed = window.repoint_layer(broken, str(moved / "parcels.geojson"))
    assert isinstance(fixed, VectorLayer) and len(fixed.dataset.frame) == 4
    assert window.session.project.layer_by_name("parcels") is fixed


def test_plugin_manager_enables_and_disables(qtbot, session):
    from gis_desk.qt.dialogs.plugin_manager import PluginManagerDialog
    from gis_desk.settings import get_setting

    d = PluginManagerDialog(session.plugins)
    qtbot.addWidget(d)
    item = d.item_for("planning")
    assert item.text(2) == "Active"
    assert not (d.item_for("builtins").flags() & Qt.ItemFlag.ItemIsUserCheckable)
    item.setCheckState(0, Qt.CheckState.Unchecked)
    assert not session.plugins.plugins["planning"].enabled
    assert "planning" in get_setting("disabled_plugins")
    assert d.item_for("planning").text(2) == "Disabled"
    d.item_for("planning").setCheckState(0, Qt.CheckState.Checked)
    assert session.plugins.plugins["planning"].active


def test_failing_plugin_panel_is_skipped(qtbot, dialogs):
    from gis_desk.plugin_api.manager import PluginManager
    from gis_desk.plugin_api.manifest import parse_manifest
    from gis_desk.qt.main_window import MainWindow
    from gis_desk.session import Session

    plugins = PluginManager.from_entry_points()
    plugins.add_manifest(parse_manifest(
        "name: flaky\nversion: 1\ncontributions:\n  commands:\n"
        "    - {id: flaky.panel, title: Panel, python_name: 'gis_desk_no_such_module:make'}\n"
        "  widgets:\n    - {command: flaky.panel, display_name: Flaky panel, area: right}\n"))
    w = MainWindow(Session(plugins=plugins))
    qtbot.addWidget(w)
    assert any("Flaky panel" in line and "skipped" in line for line in w.message_log.lines("warning"))
    assert not plugins.plugins["flaky"].active
    assert "plugin_flaky.panel" not in w.docks


def test_processing_buffer_runs_in_the_background_and_adds_the_output(window, qtbot, tmp_path):
    assert "builtins.buffer" in window.toolbox.algorithm_ids()
    dialog = window.run_algorithm_dialog("builtins.buffer")
    params = {p.name: p for p in dialog.algorithm.parameters()}
    out = tmp_path / "buffered.gpkg"
    for name, p in params.items():
        if p.kind == "output_file":
            dialog.widgets[name].combo.setEditText(str(out))
        elif p.kind == "number":
            dialog.widgets[name].setValue(25)
    with qtbot.waitSignal(window.tasks.task_done, timeout=20000):
        dialog.run()
    assert dialog.task.state == "finished", dialog.log.toPlainText()
    assert out.exists()
    assert layer_names(window)[-1].startswith("buffered")
    dialog.close()


def test_export_map_image(window, tmp_path):
    out = tmp_path / "map.png"
    assert window.export_map_image(str(out))
    from PySide6.QtGui import QImage

    image = QImage(str(out))
    assert image.width() == window.canvas.width() and image.height() == window.canvas.height()


def test_status_bar_coordinates_and_scale(window):
    from gis_desk.qt.widgets.status_bar import format_scale, parse_scale

    window.canvas.cursor_moved.emit(383_500.4, 398_000.6)
    assert window.status.bng_label.text() == "E 383,500  N 398,001"
    lat, lon = (float(v.strip(" °")) for v in window.status.wgs_label.text().split(","))
    assert lat == pytest.approx(53.48, abs=0.01) and lon == pytest.approx(-2.25, abs=0.01)
    assert parse_scale("1:2,500") == 2500 and parse_scale("25k") == 25000 and parse_scale("abc") is None
    window.status.scale_combo.setEditText("1:5000")
    window.status.scale_combo.lineEdit().returnPressed.emit()
    assert window.canvas.viewport.scale_denominator() == pytest.approx(5000, rel=1e-6)
    assert format_scale(5000) == "1:5,000"


def test_bookmarks(window, monkeypatch):
    from PySide6.QtWidgets import QInputDialog

    monkeypatch.setattr(QInputDialog, "getText", staticmethod(lambda *a, **k: ("Town hall", True)))
    extent = window.canvas.viewport.extent
    window.actions_.bookmark_new.trigger()
    assert window.session.project.bookmarks["Town hall"].extent == pytest.approx(extent)
    window.canvas.zoom_in()
    window.fill_bookmarks_menu()
    next(a for a in window.bookmarks_menu.actions() if a.text() == "Town hall").trigger()
    got = window.canvas.viewport.extent
    assert got[0] <= extent[0] + 1 and got[2] >= extent[2] - 1


def test_large_raster_without_overviews_offers_to_build_them(window, tmp_path, dialogs, qtbot):
    import rasterio
    from rasterio.transform import from_origin

    path = tmp_path / "long_strip.tif"
    with rasterio.open(path, "w", driver="GTiff", width=5000, height=64, count=1, dtype="uint8",
                       crs="EPSG:27700", transform=from_origin(380000, 396000, 0.1, 0.1)) as ds:
        ds.write(np.full((1, 64, 5000), 7, dtype="uint8"))
    dialogs.answer = QMessageBox.StandardButton.Yes
    with qtbot.waitSignal(window.tasks.task_done, timeout=20000) as blocker:
        layer = window.open_path(path)[0]
    assert "Build overviews?" in dialogs.boxes[-1]["title"] and "5,000" in dialogs.boxes[-1]["text"]
    assert blocker.args[0].state == "finished"
    assert Path(str(path) + ".ovr").exists()
    assert layer.dataset.overview_factors  # reopened with the new overviews
