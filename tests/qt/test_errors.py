"""How errors look: typed messages, CRS retry, quiet cancellations, and the traceback dialog for
unexpected exceptions raised in a Qt slot, a Python thread or a background task."""

from __future__ import annotations

import sys
import threading
import traceback

import pytest
from PySide6.QtCore import QTimer

from gis_desk.errors import CanceledError, CorruptFileError, MissingCrsError, MissingFileError
from gis_desk.qt import errors
from gis_desk.qt.errors import ErrorPresenter, describe
from gis_desk.qt.widgets.message_bar import MessageBar


@pytest.fixture
def presenter(qtbot):
    p = ErrorPresenter()
    p.message_bar = MessageBar()
    qtbot.addWidget(p.message_bar)
    p.lines = []
    p.logged.connect(lambda level, text: p.lines.append((level, text)))
    yield p
    for d in list(p.open_dialogs):
        d.close()


def test_describe_names_file_problem_and_hint():
    title, text = describe(CorruptFileError("The file is truncated", path="/data/ortho.tif",
                                            hint="download it again"))
    assert title == "Cannot read file"
    assert text == "/data/ortho.tif: The file is truncated. Download it again."


def test_typed_error_goes_to_the_bar_and_log(presenter):
    presenter.report(CorruptFileError("Not a GeoPackage", path="/x/parcels.gpkg", details="sqlite: bad header"),
                     context="Adding parcels.gpkg")
    bar = presenter.message_bar
    assert bar.isVisibleTo(bar.parentWidget() or bar) and bar.level == "warning"
    assert "/x/parcels.gpkg" in bar.text and bar.details == "sqlite: bad header"
    assert presenter.lines == [("warning", "Adding parcels.gpkg: /x/parcels.gpkg: Not a GeoPackage.")]


def test_cancel_is_a_quiet_log_line(presenter):
    presenter.report(CanceledError("Building overviews: cancelled"))
    assert not presenter.message_bar.isVisibleTo(presenter.message_bar)
    assert presenter.lines == [("info", "Building overviews: cancelled")]
    assert presenter.open_dialogs == []


def test_missing_crs_asks_and_retries(presenter, monkeypatch):
    from gis_desk.qt.dialogs import crs_dialog

    asked = []
    monkeypatch.setattr(crs_dialog, "ask_crs", lambda *a, **k: asked.append(k) or "EPSG:27700")
    retried = []
    presenter.report(MissingCrsError("No CRS", path="/x/points.csv"), retry_with_crs=retried.append)
    assert retried == ["EPSG:27700"]
    assert "/x/points.csv" in asked[0]["message"]
    # a retry that fails again is reported, not raised
    presenter.report(MissingCrsError("No CRS", path="/x/p.csv"),
                     retry_with_crs=lambda c: (_ for _ in ()).throw(CorruptFileError("bad", path="/x/p.csv")))
    assert "/x/p.csv: bad." in presenter.message_bar.text


def test_missing_file_offers_repoint(presenter, dialogs, monkeypatch, tmp_path):
    from PySide6.QtWidgets import QFileDialog

    new = tmp_path / "moved.gpkg"
    monkeypatch.setattr(QFileDialog, "getOpenFileName", staticmethod(lambda *a, **k: (str(new), "")))
    dialogs.click = "Re-point data source…"
    chosen = []
    presenter.report(MissingFileError("The file does not exist", path="/old/parcels.gpkg"), repoint=chosen.append)
    assert "/old/parcels.gpkg" in dialogs.boxes[0]["text"]
    assert chosen == [str(new)]


def test_unexpected_error_shows_traceback(presenter, qtbot):
    try:
        {}["missing"]
    except KeyError as exc:
        presenter.report(exc)
    qtbot.waitUntil(lambda: len(presenter.open_dialogs) == 1)
    dialog = presenter.open_dialogs[0]
    assert "KeyError" in dialog.details.toPlainText() and "Traceback" in dialog.details.toPlainText()
    dialog.copy_to_clipboard()
    from PySide6.QtGui import QGuiApplication

    assert "KeyError" in QGuiApplication.clipboard().text()
    assert presenter.lines[-1][0] == "critical"


@pytest.fixture
def hooks(presenter):
    saved = sys.excepthook, threading.excepthook, errors._presenter
    errors.install_exception_hooks(presenter)
    yield presenter
    sys.excepthook, threading.excepthook, errors._presenter = saved


@pytest.mark.qt_no_exception_capture
def test_exception_in_a_slot_opens_the_dialog_and_the_app_keeps_running(hooks, qtbot, capsys):
    def broken_slot():
        raise ZeroDivisionError("division by zero in a slot")

    QTimer.singleShot(0, broken_slot)
    qtbot.waitUntil(lambda: len(hooks.open_dialogs) == 1, timeout=3000)
    assert "ZeroDivisionError" in hooks.open_dialogs[0].details.toPlainText()
    later = []
    QTimer.singleShot(0, lambda: later.append("still running"))
    qtbot.waitUntil(lambda: later == ["still running"])


def test_exception_in_a_thread_reaches_the_gui(hooks, qtbot):
    def work():
        raise RuntimeError("worker thread failed")

    t = threading.Thread(target=work)
    t.start()
    t.join()
    qtbot.waitUntil(lambda: len(hooks.open_dialogs) == 1, timeout=3000)
    assert "worker thread failed" in hooks.open_dialogs[0].details.toPlainText()


def test_typed_error_through_the_hook_is_shown_as_typed(hooks, qtbot):
    try:
        raise CorruptFileError("damaged", path="/x/a.tif")
    except CorruptFileError:
        errors._excepthook(*sys.exc_info())
    qtbot.waitUntil(lambda: "/x/a.tif" in hooks.message_bar.text)
    assert hooks.open_dialogs == []
