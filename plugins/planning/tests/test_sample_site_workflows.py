"""The issue's "done when" on the shipped drone-site project: a planning officer opens an
application, sees the site footage, bookmarks it and exports a committee pack; an estates officer
filters the properties to let and produces a brochure with drone stills."""

from __future__ import annotations

import subprocess
import zipfile
from pathlib import Path

import pytest
from PySide6.QtWidgets import QDockWidget

SITE = Path(__file__).resolve().parents[3] / "sample_surveys" / "drone" / "site.gdesk"


@pytest.fixture
def window(qtbot, dialogs, tmp_path):
    import shutil

    from gis_desk.qt.main_window import MainWindow
    from gis_desk.session import Session

    # work on a copy: the officers' edits must not change the shipped sample
    copy = tmp_path / "drone"
    shutil.copytree(SITE.parent, copy)
    w = MainWindow(Session())
    qtbot.addWidget(w)
    w.resize(1400, 900)
    w.show()
    assert w.open_project(copy / "site.gdesk", ask_to_save=False)
    yield w
    w.tasks.wait(10000)
    w.session.project.mark_dirty(False)
    w.canvas.scheduler.shutdown(wait=True)


def dock(window, title):
    [widget] = [d.widget().widget() for d in window.findChildren(QDockWidget) if d.windowTitle() == title]  # in a scroll area
    return widget


def test_planning_officer_reviews_footage_and_exports_committee_pack(window, tmp_path):
    panel = dock(window, "Planning")
    assert panel.register is not None and "24/01234/FUL" in panel._refs
    panel.select("24/01234/FUL")
    items = [panel.media_list.item(i).text() for i in range(panel.media_list.count())]
    assert any(t.startswith("Footage site_flight.mp4") for t in items)
    assert sum(t.startswith("Photo ") for t in items) >= 5
    panel.media_list.setCurrentRow(0)
    start = panel.current_time
    for dt, note in ((2.0, "Tree belt along the north boundary"), (5.0, "Existing access from Moss Road")):
        panel.show_time(start + dt)
        panel.note.setText(note)
        assert panel.bookmark()
    panel.committee.setCurrentText("2025-03-12")
    pdf, bundle = panel.make_pack(tmp_path)
    text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True).stdout
    for needle in ("24/01234/FUL", "24/01301/FUL", "Tree belt along the north boundary",
                   "Existing access from Moss Road", "Flight: site_flight.mp4", "within the council"):
        assert needle.lower() in text.lower(), needle
    with zipfile.ZipFile(bundle) as zf:
        assert "clips/site_flight.mp4" in zf.namelist()


def test_estates_officer_filters_to_let_and_makes_a_brochure_with_drone_stills(window, tmp_path):
    panel = dock(window, "Estates")
    assert panel.portfolio is not None
    for status, box in panel.status_boxes.items():
        box.setChecked(status == "to_let")
    assert panel._codes == ["SYN0002"]
    panel.select("SYN0002")
    assert panel.media.count() >= 1  # drone photos showing the car park and its outlook
    pdf, bundle = panel.make_brochure(tmp_path)
    text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True).stdout
    assert "TO LET" in text and "Moss Road car park" in text and "£36,000 per annum" in text
    with zipfile.ZipFile(bundle) as zf:
        assert any(n.startswith("images/DJI_") for n in zf.namelist())
