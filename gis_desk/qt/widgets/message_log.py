"""The message log dock: every notice, warning and error of the session, newest last.

``add(level, text)`` appends a line (levels ``info``, ``warning``, ``critical``); a level
filter and "Clear" sit above the list.  ``LogBridge`` forwards Python ``logging`` records
(WARNING and above from ``gis_desk``) into it from any thread through a queued signal.
"""

from __future__ import annotations

import logging
import time

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import (QComboBox, QHBoxLayout, QPushButton, QTreeWidget, QTreeWidgetItem,
                               QVBoxLayout, QWidget)

from gis_desk.qt.icons import icon

LEVELS = ("info", "warning", "critical")
_LEVEL_ICON = {"info": "info", "warning": "warning", "critical": "error"}


class MessageLog(QWidget):
    def __init__(self, parent: QWidget | None = None, max_lines: int = 5000) -> None:
        super().__init__(parent)
        self.max_lines = max_lines
        self.tree = QTreeWidget()
        self.tree.setHeaderLabels(["Time", "Message"])
        self.tree.setRootIsDecorated(False)
        self.tree.setAlternatingRowColors(True)
        self.tree.setUniformRowHeights(True)
        self.tree.setColumnWidth(0, 90)
        self.level_filter = QComboBox()
        self.level_filter.addItems(["All messages", "Warnings and errors", "Errors only"])
        self.level_filter.currentIndexChanged.connect(self._apply_filter)
        clear = QPushButton("Clear")
        clear.clicked.connect(self.tree.clear)
        top = QHBoxLayout()
        top.addWidget(self.level_filter)
        top.addStretch(1)
        top.addWidget(clear)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addLayout(top)
        layout.addWidget(self.tree)

    def add(self, level: str, text: str) -> None:
        level = level if level in LEVELS else ("critical" if level in ("error", "fatal") else "info")
        item = QTreeWidgetItem([time.strftime("%H:%M:%S"), text])
        item.setIcon(0, icon(_LEVEL_ICON[level]))
        item.setData(0, Qt.ItemDataRole.UserRole, level)
        item.setToolTip(1, text)
        self.tree.addTopLevelItem(item)
        while self.tree.topLevelItemCount() > self.max_lines:
            self.tree.takeTopLevelItem(0)
        item.setHidden(not self._passes(level))
        self.tree.scrollToItem(item)

    def lines(self, level: str | None = None) -> list[str]:
        """Texts logged so far (optionally of one level), oldest first."""
        out = []
        for i in range(self.tree.topLevelItemCount()):
            item = self.tree.topLevelItem(i)
            if level is None or item.data(0, Qt.ItemDataRole.UserRole) == level:
                out.append(item.text(1))
        return out

    def _passes(self, level: str) -> bool:
        return LEVELS.index(level) >= self.level_filter.currentIndex()

    def _apply_filter(self) -> None:
        for i in range(self.tree.topLevelItemCount()):
            item = self.tree.topLevelItem(i)
            item.setHidden(not self._passes(item.data(0, Qt.ItemDataRole.UserRole)))


class _Relay(QObject):
    record = Signal(str, str)


class LogBridge(logging.Handler):
    """A ``logging.Handler`` whose records reach a ``MessageLog`` on the GUI thread.

    ``attach(logger)`` adds it to ``logger``; it removes itself when the log widget goes away.
    """

    def __init__(self, log_widget: MessageLog, level: int = logging.WARNING) -> None:
        super().__init__(level)
        self._relay = _Relay(log_widget)  # lives in the GUI thread: cross-thread emits queue
        self._relay.record.connect(log_widget.add, Qt.ConnectionType.QueuedConnection)
        self._loggers: list[logging.Logger] = []
        self._alive = True
        log_widget.destroyed.connect(lambda *_: self.detach())

    def attach(self, logger: logging.Logger) -> "LogBridge":
        logger.addHandler(self)
        self._loggers.append(logger)
        return self

    def detach(self) -> None:
        self._alive = False
        for logger in self._loggers:
            logger.removeHandler(self)
        self._loggers.clear()

    def emit(self, rec: logging.LogRecord) -> None:  # logging API (any thread)
        if not self._alive:
            return
        level = "critical" if rec.levelno >= logging.ERROR else "warning" if rec.levelno >= logging.WARNING else "info"
        message = rec.getMessage()
        try:
            self._relay.record.emit(level, message.splitlines()[0] if message else rec.name)
        except RuntimeError:  # the widget was deleted between the check and the emit
            self._alive = False
