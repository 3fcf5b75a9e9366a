"""Background tasks: run a callable off the GUI thread with a ``Feedback`` that talks to Qt.

``Task(fn, title)`` wraps ``fn(feedback) -> result``.  The feedback's progress and messages
reach the GUI thread through queued signals; the result, a cancellation (``CanceledError``)
or an exception come back the same way.  ``TaskManager`` starts tasks on a thread pool,
tracks them, drives the status bar (``busy_changed``, ``progress``), cancels them, and
hands failures to ``gis_desk.qt.errors``.

The pool is Python's ``ThreadPoolExecutor``, not ``QThreadPool``: pyproj 3.7 / PROJ 9.5
segfault when several QThreadPool threads create CRSs at once, while Python-created
threads each get their own PROJ context (tests/qt/test_workers.py runs reprojections in
parallel tasks to keep it that way).
"""

from __future__ import annotations

import concurrent.futures
import os
import traceback
from typing import Any, Callable

from PySide6.QtCore import QObject, Signal

from gis_desk.errors import CanceledError
from gis_desk.processing.feedback import Feedback


class TaskSignals(QObject):
    """Emitted from the worker thread; connections from GUI objects are queued by Qt."""

    progress = Signal(float)  # percent 0..100
    message = Signal(str, str)  # level, text
    finished = Signal(object)  # the callable's result
    canceled = Signal()
    failed = Signal(object, str)  # exception, formatted traceback
    done = Signal()  # always last, whatever the outcome


class Task:
    """One unit of background work.  ``state`` is 'pending', 'running', 'finished',
    'canceled' or 'failed' (set on the worker thread before the matching signal)."""

    def __init__(self, fn: Callable[[Feedback], Any], title: str) -> None:
        self.fn = fn
        self.title = title
        self.signals = TaskSignals()
        self.feedback = Feedback(on_progress=self.signals.progress.emit, on_message=self.signals.message.emit)
        self.state = "pending"
        self.result: Any = None
        self.error: BaseException | None = None

    def cancel(self) -> None:
        self.feedback.cancel()

    def run(self) -> None:
        self.state = "running"
        try:
            self.result = self.fn(self.feedback)
        except CanceledError:
            self.state = "canceled"
            self.signals.canceled.emit()
        except BaseException as exc:  # noqa: BLE001 - every failure goes to the error presenter
            self.error = exc
            self.state = "failed"
            self.signals.failed.emit(exc, "".join(traceback.format_exception(exc)))
        else:
            self.state = "finished"
            self.signals.finished.emit(self.result)
        self.signals.done.emit()


class TaskManager(QObject):
    """Starts and tracks tasks; one progress figure for the status bar (mean of running tasks)."""

    busy_changed = Signal(bool, str)  # any task running?, title of the newest
    progress = Signal(float)
    message = Signal(str, str)  # level, text (to the message log)
    task_done = Signal(object)  # the Task

    def __init__(self, presenter=None, max_workers: int | None = None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.pool = concurrent.futures.ThreadPoolExecutor(
            max_workers=max_workers or max(2, os.cpu_count() or 2), thread_name_prefix="gis-desk-task")
        self._futures: set[concurrent.futures.Future] = set()
        self._presenter = presenter
        self.tasks: list[Task] = []

    def start(self, fn: Callable[[Feedback], Any], title: str,
              on_done: Callable[[Any], None] | None = None,
              on_error: Callable[[BaseException], bool] | None = None) -> Task:
        """Run ``fn(feedback)`` in the pool.  ``on_done(result)`` runs on the GUI thread after
        success; ``on_error(exc)`` may handle a failure (return True) before it is reported."""
        task = Task(fn, title)
        s = task.signals
        s.progress.connect(lambda _p: self.progress.emit(self._overall_progress()))
        s.message.connect(self.message.emit)
        if on_done is not None:
            s.finished.connect(on_done)
        s.canceled.connect(lambda: self._report(CanceledError(f"{title}: cancelled")))
        s.failed.connect(lambda exc, tb: self._failed(task, exc, tb, on_error))
        s.done.connect(lambda: self._finish(task))
        self.tasks.append(task)
        self.message.emit("info", f"Started: {title}")
        self.busy_changed.emit(True, title)
        self.progress.emit(self._overall_progress())
        future = self.pool.submit(task.run)
        self._futures.add(future)
        future.add_done_callback(self._futures.discard)
        return task

    def _overall_progress(self) -> float:
        running = [t.feedback.progress for t in self.tasks]
        return sum(running) / len(running) if running else 0.0

    def _failed(self, task: Task, exc: BaseException, formatted: str, on_error) -> None:
        if on_error is not None and on_error(exc):
            return
        self._report(exc, formatted)

    def _report(self, exc: BaseException, formatted: str | None = None) -> None:
        from gis_desk.qt import errors

        p = self._presenter or errors.presenter()
        if formatted and not hasattr(exc, "message"):
            p.show_unexpected(exc, formatted)
        else:
            p.report(exc)

    def _finish(self, task: Task) -> None:
        if task in self.tasks:
            self.tasks.remove(task)
        if task.state == "finished":
            self.message.emit("info", f"Finished: {task.title}")
        self.task_done.emit(task)
        self.busy_changed.emit(bool(self.tasks), self.tasks[-1].title if self.tasks else "")
        self.progress.emit(self._overall_progress())

    def cancel_all(self) -> None:
        for task in list(self.tasks):
            task.cancel()

    @property
    def busy(self) -> bool:
        return bool(self.tasks)

    def wait(self, timeout_ms: int = 30000) -> bool:
        """Block until the pool is idle (used at shutdown); queued signals arrive afterwards."""
        _, pending = concurrent.futures.wait(list(self._futures), timeout=timeout_ms / 1000.0)
        return not pending
