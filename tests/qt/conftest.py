"""Fixtures for the main-window and widget tests (pytest-qt, offscreen Qt).

``dialogs`` (from ``gis_desk.testing.fixtures``, shared with the plugins' tests) replaces modal
message boxes by a recorder, so a test reads what the user would have been told and chooses
the answer instead of blocking.
"""

from __future__ import annotations

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
