"""The only place that decides how errors look in the GUI.

* ``GisDeskError``: a notification naming the file, the problem and the hint, with a
  "Details" button when there are details (message bar above the map; a warning box when
  no bar is attached).  Fixable ones get a choice first:
  ``MissingCrsError`` + ``retry_with_crs`` -> the CRS dialog, then the retry;
  ``MissingFileError`` + ``repoint`` -> "Re-point data source..." then the callback.
* ``CanceledError``: one quiet line in the message log.
* anything else: a non-modal dialog with the traceback (selectable, "Copy"), and the app
  keeps running.  ``install_exception_hooks`` routes ``sys.excepthook`` and
  ``threading.excepthook`` here; exceptions raised off the GUI thread are queued to it.

Everything also goes to the message log through ``ErrorPresenter.logged(level, text)``.
"""

from __future__ import annotations

import logging
import sys
import threading
import traceback
from typing import Any, Callable

from PySide6.QtCore import QObject, Qt, Signal, Slot
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (QDialog, QDialogButtonBox, QFileDialog, QLabel, QMessageBox,
                               QPlainTextEdit, QPushButton, QVBoxLayout, QWidget)

from gis_desk.errors import CanceledError, GisDeskError, MissingCrsError, MissingFileError

log = logging.getLogger(__name__)


def describe(exc: BaseException) -> tuple[str, str]:
    """(title, text) a user reads for ``exc``: for typed errors the file, problem and hint."""
    if isinstance(exc, GisDeskError):
        title = {
            "MissingCrsError": "No coordinate reference system",
            "MissingFileError": "File not found",
            "CorruptFileError": "Cannot read file",
            "NoReaderError": "Unsupported file",
            "ProjectFileError": "Cannot open project",
            "PluginError": "Plugin problem",
            "ManifestError": "Plugin problem",
            "ParameterError": "Invalid parameter",
            "AlgorithmError": "Processing failed",
            "WriterError": "Cannot write file",
        }.get(type(exc).__name__, "Problem")
        parts = []
        if exc.path:
            parts.append(f"{exc.path}:")
        parts.append(exc.message.rstrip(".") + ".")
        if exc.hint:
            parts.append(exc.hint[:1].upper() + exc.hint[1:].rstrip(".") + ".")
        return title, " ".join(parts)
    return "Unexpected error", f"{type(exc).__name__}: {exc}"


class DetailsDialog(QDialog):
    """Shows an error with its details or traceback in a selectable, copyable text box."""

    def __init__(self, title: str, text: str, details: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(title)
        self.resize(720, 420)
        layout = QVBoxLayout(self)
        summary = QLabel(text)
        summary.setWordWrap(True)
        summary.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.details = QPlainTextEdit(details)
        self.details.setReadOnly(True)
        self.details.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        font = self.details.font()
        font.setFamily("monospace")
        self.details.setFont(font)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        copy = QPushButton("Copy")
        buttons.addButton(copy, QDialogButtonBox.ButtonRole.ActionRole)
        copy.clicked.connect(self.copy_to_clipboard)
        buttons.rejected.connect(self.close)
        layout.addWidget(summary)
        layout.addWidget(self.details, 1)
        layout.addWidget(buttons)
        self.summary = text

    def copy_to_clipboard(self) -> None:
        QGuiApplication.clipboard().setText(f"{self.summary}\n\n{self.details.toPlainText()}")


class ErrorPresenter(QObject):
    """Shows errors for one main window (``parent``); ``message_bar`` may be attached later."""

    logged = Signal(str, str)  # level ('info'|'warning'|'critical'), text
    _unexpected = Signal(object, str)  # exception, formatted traceback (queued to the GUI thread)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.window = parent
        self.message_bar = None
        self.open_dialogs: list[DetailsDialog] = []
        self._unexpected.connect(self._show_unexpected, Qt.ConnectionType.QueuedConnection)

    # -- typed and unexpected errors -----------------------------------------------------------
    def report(self, exc: BaseException, *, context: str = "",
               retry_with_crs: Callable[[str], Any] | None = None,
               repoint: Callable[[str], Any] | None = None) -> None:
        """Show ``exc``; ``context`` (e.g. "Opening data") prefixes the log line.

        ``retry_with_crs(crs_text)`` is called after the user picks a CRS for a
        ``MissingCrsError``; ``repoint(new_path)`` after choosing a new file for a
        ``MissingFileError``.  Errors raised by those callbacks are reported in turn.
        """
        prefix = f"{context}: " if context else ""
        if isinstance(exc, CanceledError):
            self.logged.emit("info", f"{prefix}{exc.message}")
            return
        if not isinstance(exc, GisDeskError):
            self.show_unexpected(exc, "".join(traceback.format_exception(exc)))
            return
        title, text = describe(exc)
        self.logged.emit("warning", f"{prefix}{text}")
        if isinstance(exc, MissingCrsError) and retry_with_crs is not None:
            self._ask_crs_and_retry(exc, retry_with_crs, context)
            return
        if isinstance(exc, MissingFileError) and repoint is not None:
            self._offer_repoint(exc, text, repoint, context)
            return
        self.notify("warning", title, text, details=exc.details)

    def notify(self, level: str, title: str, text: str, details: str | None = None) -> None:
        """A non-blocking notification (message bar) or, without a bar, a message box."""
        if self.message_bar is not None:
            self.message_bar.push(level, title, text, details, timeout_s=None if level != "info" else 8)
            return
        box = QMessageBox(QMessageBox.Icon.Warning if level != "info" else QMessageBox.Icon.Information,
                          title, text, QMessageBox.StandardButton.Ok, self.window)
        if details:
            box.setDetailedText(details)
        box.exec()

    def show_details(self, title: str, details: str) -> DetailsDialog:
        dialog = DetailsDialog(title, title, details, self.window)
        self._keep(dialog)
        return dialog

    def show_unexpected(self, exc: BaseException, formatted: str | None = None) -> None:
        """Report an exception that is not a typed GIS Desk error (safe from any thread)."""
        self._unexpected.emit(exc, formatted or "".join(traceback.format_exception(exc)))

    @Slot(object, str)
    def _show_unexpected(self, exc: BaseException, formatted: str) -> None:
        if isinstance(exc, (GisDeskError,)):
            self.report(exc)
            return
        text = (f"GIS Desk hit an unexpected problem: {type(exc).__name__}: {exc}\n"
                "Your project is still open. If this keeps happening, copy the details below "
                "into a bug report.")
        self.logged.emit("critical", f"Unexpected error: {type(exc).__name__}: {exc}")
        log.error("unexpected error\n%s", formatted)
        self._keep(DetailsDialog("Unexpected error", text, formatted, self.window))

    def _keep(self, dialog: DetailsDialog) -> None:
        # Non-modal, so a failing slot never blocks the event loop behind a dialog.
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.open_dialogs.append(dialog)
        dialog.destroyed.connect(lambda *_: self.open_dialogs.remove(dialog) if dialog in self.open_dialogs else None)
        dialog.show()

    # -- fixable errors ------------------------------------------------------------------------
    def _ask_crs_and_retry(self, exc: MissingCrsError, retry: Callable[[str], Any], context: str) -> None:
        from gis_desk.qt.dialogs import crs_dialog

        crs = crs_dialog.ask_crs(self.window, title="Choose the CRS of this data",
                                 message=f"{exc.path or 'This data'} does not say which coordinate reference "
                                         "system it uses. Choose the one it was made in.")
        if not crs:
            self.logged.emit("info", f"Not opened (no CRS chosen): {exc.path}")
            return
        try:
            retry(crs)
        except Exception as again:  # noqa: BLE001 - every failure is reported, none lost
            self.report(again, context=context)

    def _offer_repoint(self, exc: MissingFileError, text: str, repoint: Callable[[str], Any],
                       context: str) -> None:
        box = QMessageBox(QMessageBox.Icon.Warning, "Data source not found", text,
                          QMessageBox.StandardButton.Cancel, self.window)
        choose = box.addButton("Re-point data source…", QMessageBox.ButtonRole.AcceptRole)
        box.exec()
        if box.clickedButton() is not choose:
            return
        path, _ = QFileDialog.getOpenFileName(self.window, "Re-point data source", exc.path or "")
        if not path:
            return
        try:
            repoint(path)
        except Exception as again:  # noqa: BLE001
            self.report(again, context=context)


# -- process-wide hooks ------------------------------------------------------------------------
_presenter: ErrorPresenter | None = None


def presenter() -> ErrorPresenter:
    """The installed presenter (one is created on first use, without a window)."""
    global _presenter
    if _presenter is None:
        _presenter = ErrorPresenter()
    return _presenter


def set_presenter(p: ErrorPresenter) -> None:
    global _presenter
    _presenter = p


def _excepthook(exc_type, exc, tb) -> None:
    if issubclass(exc_type, KeyboardInterrupt):
        sys.__excepthook__(exc_type, exc, tb)
        return
    formatted = "".join(traceback.format_exception(exc_type, exc, tb))
    sys.stderr.write(formatted)
    if isinstance(exc, GisDeskError):
        presenter()._unexpected.emit(exc, formatted)  # queued: typed errors shown as such
    else:
        presenter().show_unexpected(exc, formatted)


def _thread_excepthook(args) -> None:
    if args.exc_type is SystemExit:
        return
    _excepthook(args.exc_type, args.exc_value, args.exc_traceback)


def install_exception_hooks(p: ErrorPresenter | None = None) -> None:
    """Route uncaught exceptions (GUI thread, Qt slots, Python threads) to ``p``."""
    if p is not None:
        set_presenter(p)
    sys.excepthook = _excepthook
    threading.excepthook = _thread_excepthook
