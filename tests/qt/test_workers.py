"""Background tasks: progress and messages reach the GUI thread, cancel, results, failures."""

from __future__ import annotations

import threading
import time

import pytest

from gis_desk.errors import AlgorithmError
from gis_desk.qt.errors import ErrorPresenter
from gis_desk.qt.widgets.message_bar import MessageBar
from gis_desk.qt.widgets.status_bar import StatusBar
from gis_desk.qt.workers import TaskManager


@pytest.fixture
def manager(qtbot):
    presenter = ErrorPresenter()
    presenter.message_bar = MessageBar()
    qtbot.addWidget(presenter.message_bar)
    presenter.lines = []
    presenter.logged.connect(lambda level, text: presenter.lines.append((level, text)))
    m = TaskManager(presenter)
    bar = StatusBar()
    qtbot.addWidget(bar)
    m.busy_changed.connect(bar.set_busy)
    m.progress.connect(bar.set_progress)
    bar.cancel_requested.connect(m.cancel_all)
    m.bar, m.presenter_ = bar, presenter
    yield m
    m.cancel_all()
    m.wait(5000)
    for d in list(presenter.open_dialogs):
        d.close()


def test_progress_messages_and_result(manager, qtbot):
    gui_thread = threading.get_ident()
    seen, threads = [], []

    def work(feedback):
        threads.append(threading.get_ident())
        for i in range(1, 5):
            feedback.set_progress(i * 25)
            feedback.info(f"step {i}")
        return 42

    results = []
    manager.progress.connect(seen.append)
    with qtbot.waitSignal(manager.task_done, timeout=5000) as blocker:
        task = manager.start(work, "Counting", on_done=results.append)
        assert manager.bar.progress.isVisibleTo(manager.bar)
    assert blocker.args[0] is task and task.state == "finished"
    assert results == [42]
    assert threads[0] != gui_thread  # the work ran off the GUI thread
    assert 100.0 in seen or seen[-1] == 0.0  # last progress report, then idle
    assert not manager.bar.progress.isVisibleTo(manager.bar) and not manager.busy


def test_cancel_from_the_status_bar(manager, qtbot):
    started = threading.Event()

    def slow(feedback):
        started.set()
        for _ in range(500):
            feedback.check_canceled()
            time.sleep(0.01)
        return "never"

    results = []
    task = manager.start(slow, "Slow job", on_done=results.append)
    assert started.wait(5)
    with qtbot.waitSignal(manager.task_done, timeout=5000):
        manager.bar.cancel_button.click()
    assert task.state == "canceled" and results == []
    assert ("info", "Slow job: cancelled") in manager.presenter_.lines
    assert manager.presenter_.open_dialogs == []


def test_typed_failure_is_reported(manager, qtbot):
    def fails(feedback):
        raise AlgorithmError("Buffer failed: empty input", path="/x/in.gpkg")

    with qtbot.waitSignal(manager.task_done, timeout=5000):
        manager.start(fails, "Buffer")
    assert any("/x/in.gpkg" in text for _, text in manager.presenter_.lines)
    assert "/x/in.gpkg" in manager.presenter_.message_bar.text


def test_unexpected_failure_opens_the_details_dialog(manager, qtbot):
    def crashes(feedback):
        return 1 / 0

    with qtbot.waitSignal(manager.task_done, timeout=5000):
        manager.start(crashes, "Crash")
    qtbot.waitUntil(lambda: len(manager.presenter_.open_dialogs) == 1)
    assert "ZeroDivisionError" in manager.presenter_.open_dialogs[0].details.toPlainText()


def test_on_error_can_handle_a_failure(manager, qtbot):
    handled = []
    with qtbot.waitSignal(manager.task_done, timeout=5000):
        manager.start(lambda fb: 1 / 0, "Handled", on_error=lambda exc: handled.append(exc) or True)
    assert isinstance(handled[0], ZeroDivisionError)
    assert manager.presenter_.open_dialogs == []


def test_parallel_tasks_can_use_pyproj(manager, qtbot):
    """Several tasks creating CRSs at once must not crash PROJ (it did on QThreadPool threads)."""
    import pyproj

    def reproject(feedback):
        for k in range(100):
            transformer = pyproj.Transformer.from_crs(4326, 27700 if k % 2 else 3857, always_xy=True)
            x, _ = transformer.transform(-2.3, 53.4)
        return x

    done = []
    manager.task_done.connect(done.append)
    for i in range(4):
        manager.start(reproject, f"Reproject {i}")
    qtbot.waitUntil(lambda: len(done) == 4, timeout=30000)
    assert all(task.state == "finished" for task in done)
