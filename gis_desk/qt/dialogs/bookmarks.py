"""Spatial bookmarks: save the current view under a name, list, go to, delete.

Bookmarks live in the project (``Project.add_bookmark`` / ``remove_bookmark`` /
``bookmark_extent``), so they are saved with it.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (QDialog, QDialogButtonBox, QHBoxLayout, QInputDialog, QPushButton, QTreeWidget,
                               QTreeWidgetItem, QVBoxLayout)

from gis_desk.core.crs import crs_id


def new_bookmark(parent, project, extent) -> str | None:
    """Ask for a name and store ``extent`` (project CRS); the name, or None if cancelled."""
    default = f"Bookmark {len(project.bookmarks) + 1}"
    name, ok = QInputDialog.getText(parent, "New Spatial Bookmark", "Name:", text=default)
    name = name.strip()
    if not ok or not name:
        return None
    project.add_bookmark(name, extent, crs_id(project.crs))
    return name


class BookmarksDialog(QDialog):
    """The project's bookmarks; "Zoom to" calls ``go_to(extent)`` with the project-CRS extent."""

    def __init__(self, project, go_to, parent=None) -> None:
        super().__init__(parent)
        self.project, self.go_to = project, go_to
        self.setWindowTitle("Spatial Bookmarks")
        self.resize(520, 320)
        self.tree = QTreeWidget()
        self.tree.setHeaderLabels(["Name", "Extent", "CRS"])
        self.tree.setRootIsDecorated(False)
        self.tree.setColumnWidth(0, 160)
        self.tree.itemDoubleClicked.connect(lambda *_: self.zoom_to_current())
        zoom = QPushButton("Zoom to")
        zoom.clicked.connect(self.zoom_to_current)
        delete = QPushButton("Delete")
        delete.clicked.connect(self.delete_current)
        row = QHBoxLayout()
        row.addWidget(zoom)
        row.addWidget(delete)
        row.addStretch(1)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.tree, 1)
        layout.addLayout(row)
        layout.addWidget(buttons)
        project.events.bookmarks.connect(self.refresh)
        self.finished.connect(lambda *_: project.events.bookmarks.disconnect(self.refresh))
        self.refresh()

    def refresh(self) -> None:
        self.tree.clear()
        for name, bm in self.project.bookmarks.items():
            item = QTreeWidgetItem([name, ", ".join(f"{v:.0f}" for v in bm.extent), bm.crs])
            item.setData(0, Qt.ItemDataRole.UserRole, name)
            self.tree.addTopLevelItem(item)

    def _current(self) -> str | None:
        item = self.tree.currentItem()
        return item.data(0, Qt.ItemDataRole.UserRole) if item else None

    def zoom_to_current(self) -> None:
        name = self._current()
        if name:
            self.go_to(self.project.bookmark_extent(name))

    def delete_current(self) -> None:
        name = self._current()
        if name:
            self.project.remove_bookmark(name)
