"""``View3DPanel``: the 3D view, or a clear message when OpenGL is not available.

The OpenGL widget is only created when ``gl_status()`` says a 3.3 context works, so headless
(``offscreen``) sessions and machines without a usable driver get a readable panel instead
of a crash; a failure later inside the widget (shader compile, framebuffer) switches to the
same message.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QLabel, QStackedLayout, QWidget

from gis_desk.qt.view3d.widget import PointCloudView, gl_status


class View3DPanel(QWidget):
    gl_unavailable = Signal(str)

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.stack = QStackedLayout(self)
        self.message = QLabel()
        self.message.setWordWrap(True)
        self.message.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.message.setMargin(16)
        self.stack.addWidget(self.message)
        self.view: PointCloudView | None = None
        ok, info = gl_status()
        self.gl_info = info
        if ok:
            self.view = PointCloudView(self)
            self.view.gl_failed.connect(self._failed)
            self.stack.addWidget(self.view)
            self.stack.setCurrentWidget(self.view)
        else:
            self._failed(f"OpenGL 3.3 is not available ({info}).")

    @property
    def available(self) -> bool:
        return self.view is not None and not self.view.error

    def _failed(self, reason: str) -> None:
        self.message.setText(
            "The 3D view cannot be shown: " + reason.rstrip(".") + ".\n\n"
            "Point clouds still draw on the map, and comparisons, sections and reports work "
            "without it. Run GIS Desk on a display with an OpenGL 3.3 driver (Mesa llvmpipe is enough) "
            "to see the 3D view.")
        self.stack.setCurrentWidget(self.message)
        self.gl_unavailable.emit(reason)
