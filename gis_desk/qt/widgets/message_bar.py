"""A non-blocking notification strip above the map (like QGIS's message bar).

``push(level, title, text, details=None, timeout_s=None)`` shows one notification; a newer
one replaces the older.  Levels: ``info``, ``success``, ``warning``, ``critical``.  With
``details`` a "Details" button opens the copyable details dialog (``gis_desk.qt.errors``).
"""

from __future__ import annotations

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QToolButton, QWidget

from gis_desk.qt.icons import icon

_COLOURS = {  # background, border
    "info": ("#e3f0fc", "#7fb0e6"),
    "success": ("#e6f4e7", "#81c784"),
    "warning": ("#fff4d6", "#f0b400"),
    "critical": ("#fde4e4", "#e57373"),
}
_ICONS = {"info": "info", "success": "info", "warning": "warning", "critical": "error"}


class MessageBar(QFrame):
    details_requested = Signal(str, str)  # title, details

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("MessageBar")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(8, 4, 4, 4)
        self._icon = QLabel()
        self._text = QLabel()
        self._text.setWordWrap(True)
        self._text.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self._details_button = QPushButton("Details…")
        self._details_button.clicked.connect(self._emit_details)
        close = QToolButton()
        close.setText("✕")
        close.setAutoRaise(True)
        close.setToolTip("Close")
        close.clicked.connect(self.hide)
        layout.addWidget(self._icon)
        layout.addWidget(self._text, 1)
        layout.addWidget(self._details_button)
        layout.addWidget(close)
        self._timer = QTimer(self, singleShot=True, timeout=self.hide)
        self.level = ""
        self.title = ""
        self.details: str | None = None
        self.hide()

    @property
    def text(self) -> str:
        """The plain text currently shown (title and message)."""
        return self._text.text().replace("<b>", "").replace("</b>", "")

    def push(self, level: str, title: str, text: str, details: str | None = None,
             timeout_s: float | None = None) -> None:
        from html import escape

        bg, border = _COLOURS.get(level, _COLOURS["info"])
        self.setStyleSheet(f"#MessageBar {{ background: {bg}; border: 1px solid {border}; border-radius: 3px; }}")
        self._icon.setPixmap(icon(_ICONS.get(level, "info")).pixmap(18, 18))
        self.level, self.title, self.details = level, title, details
        self._text.setText(f"<b>{escape(title)}</b>  {escape(text)}" if title else escape(text))
        self._details_button.setVisible(bool(details))
        self.show()
        if timeout_s:
            self._timer.start(int(timeout_s * 1000))
        else:
            self._timer.stop()

    def _emit_details(self) -> None:
        self.details_requested.emit(self.title, self.details or "")
