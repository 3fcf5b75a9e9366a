"""The Planning dock as an officer uses it: open an application, see the site footage, bookmark
it, add notes, check constraints, draw a boundary, export a committee pack; and the app without it."""

from __future__ import annotations

import subprocess
import zipfile

import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import QPointF, Qt
from PySide6.QtWidgets import QDockWidget

from gis_desk.io.video import read_frame_number
from gis_desk_planning.applications import PlanningRegister
from gis_desk_planning.panel import PlanningPanel
from planning_data import FPS, GAZETTEER, designations, write_applications_csv, write_boundaries, write_flight


@pytest.fixture
def window(qtbot, dialogs):
    from gis_desk.qt.main_window import MainWindow
    from gis_desk.session import Session

    w = MainWindow(Session())
    qtbot.addWidget(w)
    w.resize(1300, 900)
    w.show()
    yield w
    w.tasks.wait(10000)
    w.session.project.mark_dirty(False)
    w.canvas.scheduler.shutdown(wait=True)


def planning_panel(window) -> PlanningPanel:
    [panel] = [d.widget().widget() for d in window.findChildren(QDockWidget) if d.windowTitle() == "Planning"]
    return panel


@pytest.fixture
def ready(window, tmp_path):
    """Sample-like project: applications with boundaries, a flight over site A, designations."""
    import geopandas as gpd

    session = window.session
    video, srt = write_flight(tmp_path)
    session.open(srt)
    for title, frame in designations().items():
        path = tmp_path / f"{title.replace(' ', '_')}.gpkg"
        frame.to_file(path)
        [layer] = session.open(path)
        layer.name = title
    panel = planning_panel(window)
    boundaries = gpd.read_file(write_boundaries(tmp_path / "sites.geojson"))
    boundaries["committee_date"] = ["2025-02-12", "2025-02-12"]
    boundaries.to_file(tmp_path / "sites.gpkg")
    assert panel.import_applications(tmp_path / "sites.gpkg", tmp_path / "sale.planning.gpkg")
    return panel


def test_officer_reviews_site_footage_bookmarks_and_exports_a_committee_pack(ready, tmp_path, window):
    panel = ready
    assert "2 applications read" in panel.message.text()
    panel.select("24/0001/FUL")
    footage = [panel.media_list.item(i).text() for i in range(panel.media_list.count())]
    assert len(footage) == 1 and "over the site" in footage[0]
    panel.media_list.setCurrentRow(0)
    assert panel._footage is not None
    start = panel.current_time
    assert 2.1 < start < 2.4  # within 30 m of the site from y = 391970, i.e. 2.24 s into the flight
    panel.show_time(4.0)
    panel.note.setText("North edge trees")
    assert panel.bookmark()
    panel.show_time(4.6)
    panel.note.setText("Access from Mill Lane")
    assert panel.bookmark()
    assert [b.note for b in panel._footage.bookmarks] == ["North edge trees", "Access from Mill Lane"]
    panel.new_note.setPlainText("Trees on the north edge should be protected.")
    assert panel.add_note() and panel.notes_list.count() == 1

    for i in range(panel.designations.count()):
        panel.designations.item(i).setCheckState(Qt.CheckState.Checked)
    lines = panel.check_constraints()
    assert lines[0] == "Conservation areas: Sale Town Centre CA, the site lies within it"

    panel.committee.setCurrentText("2025-02-12")
    pdf, bundle = panel.make_pack(tmp_path)
    assert pdf.name == "committee_2025-02-12.pdf"
    text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True).stdout
    for needle in ("24/0001/FUL", "24/0002/HHA", "North edge trees", "Access from Mill Lane",
                   "Trees on the north edge should be protected", "Sale Town Centre CA"):
        assert needle in text, needle
    with zipfile.ZipFile(bundle) as zf:
        assert "clips/DJI_0001.MP4" in zf.namelist()
        key = sorted(n for n in zf.namelist() if n.startswith("key_frames/"))[0]
        zf.extract(key, tmp_path / "x")
    image = np.asarray(Image.open(tmp_path / "x" / key).convert("RGB"))
    assert read_frame_number(image) == round(4.0 * FPS)


def test_key_frames_and_details_are_saved_in_the_register(ready):
    panel = ready
    panel.select("24/0002/HHA")
    panel.status_combo.setCurrentText("decided")
    panel.decision.setText("Refused")
    assert panel.save_details()
    panel.select("24/0001/FUL")
    panel.media_list.setCurrentRow(0)
    panel.show_time(4.2)
    panel.note.setText("Tree belt")
    assert panel.add_key_frame()
    reg = PlanningRegister.open(panel.register.path)
    assert reg.applications.iloc[reg.row("24/0002/HHA")]["decision"] == "Refused"
    frames = reg.key_frames_for("24/0001/FUL")
    assert list(frames["caption"]) == ["Tree belt"] and frames.loc[0, "time_s"] == pytest.approx(4.2, abs=0.05)


def test_officer_draws_a_boundary_for_an_application_placed_by_uprn(window, tmp_path, qtbot):
    panel = planning_panel(window)
    assert panel.import_applications(write_applications_csv(tmp_path / "apps.csv"), tmp_path / "apps.planning.gpkg",
                                     gazetteer=GAZETTEER)
    panel.select("24/0001/FUL")
    assert panel.table.item(0, 4).text() == "point only"
    canvas = window.canvas
    canvas.set_extent((377900, 391900, 378200, 392100))
    qtbot.wait(50)
    assert panel.start_boundary()
    corners = [(377990, 391990), (378070, 391990), (378070, 392060), (377990, 392060)]
    for x, y in corners:
        px, py = canvas.viewport.world_to_pixel(x, y)
        qtbot.mouseClick(canvas, Qt.MouseButton.LeftButton, pos=QPointF(px, py).toPoint())
    px, py = canvas.viewport.world_to_pixel(*corners[-1])
    qtbot.mouseDClick(canvas, Qt.MouseButton.LeftButton, pos=QPointF(px, py).toPoint())
    reg = PlanningRegister.open(panel.register.path)
    site = reg.applications.geometry.iloc[reg.row("24/0001/FUL")]
    assert site.geom_type == "Polygon" and site.area == pytest.approx(80 * 70, rel=0.05)
    assert panel.table.item(panel._refs.index("24/0001/FUL"), 4).text() == "drawn"


def test_the_app_runs_without_the_planning_plugin(qtbot):
    from gis_desk.plugin_api.manager import PluginManager
    from gis_desk.qt.main_window import MainWindow
    from gis_desk.session import Session

    PluginManager.from_entry_points().set_enabled("planning", False)
    w = MainWindow(Session())
    qtbot.addWidget(w)
    assert "Planning" not in [d.windowTitle() for d in w.findChildren(QDockWidget)]
    with pytest.raises(Exception):
        w.session.read("x.planning.gpkg", reader="planning.read_register")
    w.session.project.mark_dirty(False)
    w.canvas.scheduler.shutdown(wait=True)
