"""3D point-cloud view (OpenGL 3.3 core via PyOpenGL, drawn off-screen and painted by a QWidget).

``install_view3d(window)`` adds the "3D View" dock to a main window (View > Panels and the
View menu, Ctrl+Shift+3) showing the project's visible point-cloud layers.
``View3DPanel`` is what windows embed (it falls back to a message without OpenGL);
``PointCloudView`` is the GL widget; ``Scene`` and ``OrbitCamera`` are its GL-free parts.
"""

from __future__ import annotations

from gis_desk.qt.view3d.camera import OrbitCamera
from gis_desk.qt.view3d.panel import View3DPanel
from gis_desk.qt.view3d.scene import Scene
from gis_desk.qt.view3d.widget import PointCloudView, gl_status

DOCK_KEY = "view3d"
SHORTCUT = "Ctrl+Shift+3"
DOCK_WIDTH = 520  # px: enough for the controls row and a useful view
DOCK_HEIGHT = 360


def install_view3d(window):
    """Add the 3D View dock to ``window`` (a ``MainWindow``) once; returns its ``View3DDock``,
    also kept as ``window.view3d``.  The dock starts hidden and draws nothing until shown."""
    existing = getattr(window, "view3d", None)
    if existing is not None:
        return existing
    from PySide6.QtCore import Qt

    from gis_desk.qt.view3d.dock import View3DDock

    def show_identify(results) -> None:
        window.identify_panel.show_results(results)
        dock = window.docks.get("identify")
        if dock is not None:
            dock.show()

    content = View3DDock(window.session, window, identify=show_identify, tasks=getattr(window, "tasks", None))
    dock = window._dock(DOCK_KEY, "3D View", content, "right", SHORTCUT)
    toggle = dock.toggleViewAction()
    toggle.setText("&3D View")
    toggle.setStatusTip("Show the project's point clouds in 3D")
    view_menu = window.menus.get("View") if hasattr(window, "menus") else None
    if view_menu is not None:
        view_menu.addSeparator()
        view_menu.addAction(toggle)
    window.addAction(toggle)  # the shortcut works even when the menu bar is hidden

    def shown(visible: bool) -> None:
        if not visible or dock.isFloating():
            return
        if dock.width() < DOCK_WIDTH:
            window.resizeDocks([dock], [DOCK_WIDTH], Qt.Orientation.Horizontal)
        tall = max(DOCK_HEIGHT, window.height() // 2)
        if dock.height() < tall:  # other right-hand docks share the column: take half of it
            window.resizeDocks([dock], [tall], Qt.Orientation.Vertical)

    dock.visibilityChanged.connect(shown)
    dock.hide()
    window.view3d = content
    return content


__all__ = ["OrbitCamera", "PointCloudView", "Scene", "View3DPanel", "gl_status", "install_view3d"]
