"""Fixtures for the main-window and widget tests (pytest-qt, offscreen Qt).

``dialogs`` replaces modal message boxes by a recorder, so a test reads what the user would
have been told and chooses the answer (``dialogs.answer`` for questions, ``dialogs.click``
for a button by its text) instead of blocking.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QMessageBox


@pytest.fixture(autouse=True)
def _isolated_qsettings(tmp_path_factory):
    folder = tmp_path_factory.mktemp("qsettings")
    QSettings.setDefaultFormat(QSettings.Format.IniFormat)
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(folder))


@pytest.fixture(autouse=True)
def _no_blocking_message_boxes(request, monkeypatch):
    """A modal message box nobody answers would hang the suite until the timeout: record it,
    return at once, and fail the test (tests that expect boxes use ``dialogs``)."""
    shown: list[str] = []

    def unexpected_exec(box: QMessageBox) -> int:
        shown.append(f"{box.windowTitle()}: {box.text()} {box.informativeText()} {box.detailedText()}")
        return 0

    monkeypatch.setattr(QMessageBox, "exec", unexpected_exec)
    yield
    if shown and "dialogs" not in request.fixturenames:
        pytest.fail("unexpected modal message box(es): " + " | ".join(shown))


@dataclass
class DialogRecorder:
    boxes: list[dict] = field(default_factory=list)
    answer: QMessageBox.StandardButton = QMessageBox.StandardButton.Discard
    click: str | None = None  # text of the custom button to press in the next box

    def texts(self) -> list[str]:
        return [f"{b['title']}: {b['text']} {b['informative']}" for b in self.boxes]


@pytest.fixture
def dialogs(monkeypatch) -> DialogRecorder:
    rec = DialogRecorder()

    def fake_exec(box: QMessageBox) -> int:
        rec.boxes.append({"title": box.windowTitle(), "text": box.text(), "informative": box.informativeText(),
                          "details": box.detailedText()})
        if rec.click:
            for button in box.buttons():
                if button.text() == rec.click:
                    button.click()
                    break
        return 0

    def fake_question(parent, title, text, *args, **kwargs):
        rec.boxes.append({"title": title, "text": text, "informative": "", "details": ""})
        return rec.answer

    monkeypatch.setattr(QMessageBox, "exec", fake_exec)
    monkeypatch.setattr(QMessageBox, "question", staticmethod(fake_question))
    return rec


def write_squares(path: Path, n: int = 6, crs: str = "EPSG:27700", x0: float = 380000, y0: float = 395000):
    """``n`` 100 m squares in a row with fields name (a..), value (0.5, 1.5..), cat (A/B/C)."""
    import geopandas as gpd
    from shapely.geometry import box

    frame = gpd.GeoDataFrame(
        {"name": [chr(ord("a") + i) for i in range(n)],
         "value": np.arange(n) + 0.5,
         "cat": [("A", "B", "C")[i % 3] for i in range(n)]},
        geometry=[box(x0 + 150 * i, y0, x0 + 150 * i + 100, y0 + 100) for i in range(n)], crs=crs)
    frame.to_file(path)
    return path


@pytest.fixture
def make_squares():
    """``write_squares(path, n=6, crs=..., x0=..., y0=...)`` as a fixture."""
    return write_squares


@pytest.fixture
def squares(tmp_path) -> Path:
    return write_squares(tmp_path / "squares.geojson")


@pytest.fixture
def main_window(qtbot, dialogs):
    from gis_desk.qt.main_window import MainWindow
    from gis_desk.session import Session

    window = MainWindow(Session())
    qtbot.addWidget(window)
    window.resize(1200, 800)
    window.show()
    yield window
    window.tasks.wait(10000)
    window.session.project.mark_dirty(False)
    window.canvas.scheduler.shutdown(wait=True)
