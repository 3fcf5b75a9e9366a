"""The footage bookmarks panel: moments of the clip with a note, kept on the footage layer.

The list is the layer's ``bookmarks`` (saved with the project); every edit goes through the
layer (``add_bookmark``, ``remove_bookmark``, a note change followed by ``changed('bookmarks')``)
and the table is rebuilt from it when the layer says its bookmarks changed.  Double-click a row
(or press Enter) to jump the video there; the Note column is editable in place.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (QAbstractItemView, QFileDialog, QHBoxLayout, QHeaderView, QInputDialog, QLabel,
                               QPushButton, QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget)

from gis_desk.qt.drone.player import format_time

COLUMNS = ("Time", "Note", "Position")


class BookmarksPanel(QWidget):
    """Bookmarks of one footage layer.  ``jump_requested(video_time_s)`` asks the player to seek;
    ``current_time`` (a callable) gives the time to bookmark."""

    jump_requested = Signal(float)
    error = Signal(object)

    def __init__(self, current_time: Callable[[], float | None], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.current_time = current_time
        self.layer = None
        self._filling = False
        self.ask_note: Callable[[float], str | None] = self._ask_note  # tests replace it
        self.ask_export_path: Callable[[], str | None] = self._ask_export_path

        self.heading = QLabel("No footage layer selected")
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.verticalHeader().setVisible(False)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.EditKeyPressed
                                   | QAbstractItemView.EditTrigger.SelectedClicked)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.ResizeToContents)
        self.table.cellDoubleClicked.connect(lambda row, col: self.jump_to(row) if col != 1 else None)
        self.table.itemChanged.connect(self._item_changed)

        self.add_button = QPushButton("Add…")
        self.add_button.setToolTip("Bookmark the frame on screen with a note (Ctrl+B)")
        self.add_button.clicked.connect(lambda: self.add_bookmark())
        self.jump_button = QPushButton("Go to")
        self.jump_button.clicked.connect(lambda: self.jump_to(self.table.currentRow()))
        self.edit_button = QPushButton("Edit note")
        self.edit_button.clicked.connect(self._edit_current)
        self.delete_button = QPushButton("Delete")
        self.delete_button.clicked.connect(lambda: self.delete(self.table.currentRow()))
        self.export_button = QPushButton("Export…")
        self.export_button.setToolTip("Save the bookmarks as GeoJSON or CSV")
        self.export_button.clicked.connect(lambda: self.export())
        buttons = QHBoxLayout()
        for b in (self.add_button, self.jump_button, self.edit_button, self.delete_button):
            buttons.addWidget(b)
        buttons.addStretch(1)
        buttons.addWidget(self.export_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.heading)
        layout.addWidget(self.table, 1)
        layout.addLayout(buttons)
        self._update_buttons()
        self.table.itemSelectionChanged.connect(self._update_buttons)

    # -- the layer -------------------------------------------------------------------------------
    def set_layer(self, layer) -> None:
        if self.layer is not None:
            self.layer.changed.disconnect(self._layer_changed)
        self.layer = layer
        if layer is not None:
            layer.changed.connect(self._layer_changed)
            self.heading.setText(f"Bookmarks of <b>{layer.name}</b>")
        else:
            self.heading.setText("No footage layer selected")
        self.refresh()

    def _layer_changed(self, what: str) -> None:
        if what in ("bookmarks", "dataset"):
            self.refresh()

    def bookmarks(self) -> list:
        return list(getattr(self.layer, "bookmarks", []) or []) if self.layer is not None else []

    def refresh(self) -> None:
        self._filling = True
        try:
            marks = self.bookmarks()
            self.table.setRowCount(len(marks))
            for row, b in enumerate(marks):
                time_item = QTableWidgetItem(format_time(b.time_s))
                time_item.setData(Qt.ItemDataRole.UserRole, float(b.time_s))
                note_item = QTableWidgetItem(b.note or "")
                where = QTableWidgetItem(_position_text(b))
                for item in (time_item, where):
                    item.setFlags(item.flags() & ~Qt.ItemFlag.ItemIsEditable)
                self.table.setItem(row, 0, time_item)
                self.table.setItem(row, 1, note_item)
                self.table.setItem(row, 2, where)
        finally:
            self._filling = False
        self._update_buttons()

    def _update_buttons(self) -> None:
        has_layer = self.layer is not None
        row_ok = 0 <= self.table.currentRow() < self.table.rowCount() and bool(self.table.selectedItems())
        self.add_button.setEnabled(has_layer)
        self.export_button.setEnabled(has_layer and self.table.rowCount() > 0)
        for b in (self.jump_button, self.edit_button, self.delete_button):
            b.setEnabled(has_layer and row_ok)

    # -- edits -----------------------------------------------------------------------------------
    def add_bookmark(self, note: str | None = None):
        """Bookmark the current time; asks for the note when none is given.  Returns the bookmark
        (None when there is no layer or the user cancelled)."""
        if self.layer is None:
            return None
        t = self.current_time()
        if t is None:
            return None
        if note is None:
            note = self.ask_note(t)
            if note is None:
                return None
        try:
            bookmark = self.layer.add_bookmark(float(t), note)
        except Exception as exc:  # noqa: BLE001 - shown to the user
            self.error.emit(exc)
            return None
        self.refresh()  # in case the layer did not announce it
        rows = [i for i, b in enumerate(self.bookmarks()) if b is bookmark]
        if rows:
            self.table.selectRow(rows[0])
        return bookmark

    def _ask_note(self, t: float) -> str | None:
        text, ok = QInputDialog.getText(self, "Add bookmark", f"Note for the moment at {format_time(t)}:")
        return text if ok else None

    def set_note(self, row: int, note: str) -> None:
        marks = self.bookmarks()
        if not 0 <= row < len(marks) or marks[row].note == note:
            return
        if hasattr(self.layer, "update_bookmark"):
            self.layer.update_bookmark(row, note)
        else:
            marks[row].note = note
            self.layer.changed.emit("bookmarks")  # the project saves it and marks itself modified

    def _item_changed(self, item: QTableWidgetItem) -> None:
        if not self._filling and item.column() == 1:
            self.set_note(item.row(), item.text())

    def _edit_current(self) -> None:
        row = self.table.currentRow()
        if row >= 0:
            self.table.editItem(self.table.item(row, 1))

    def delete(self, row: int) -> None:
        if self.layer is None or not 0 <= row < len(self.bookmarks()):
            return
        self.layer.remove_bookmark(row)
        self.refresh()

    def jump_to(self, row: int) -> None:
        marks = self.bookmarks()
        if 0 <= row < len(marks):
            self.jump_requested.emit(float(marks[row].time_s))

    def keyPressEvent(self, event) -> None:
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and self.table.state() != \
                QAbstractItemView.State.EditingState:
            self.jump_to(self.table.currentRow())
            return
        if event.key() == Qt.Key.Key_Delete:
            self.delete(self.table.currentRow())
            return
        super().keyPressEvent(event)

    # -- export ----------------------------------------------------------------------------------
    def _ask_export_path(self) -> str | None:
        name = (self.layer.name if self.layer is not None else "bookmarks") + "_bookmarks.geojson"
        path, _ = QFileDialog.getSaveFileName(self, "Export bookmarks", name,
                                              "GeoJSON (*.geojson);;CSV (*.csv)")
        return path or None

    def export(self, path: str | Path | None = None) -> Path | None:
        """Write the bookmarks (.geojson or .csv by the name); returns the path written."""
        if self.layer is None:
            return None
        path = path or self.ask_export_path()
        if not path:
            return None
        path = Path(path)
        if path.suffix.lower() not in (".geojson", ".csv", ".json"):
            path = path.with_suffix(".geojson")
        try:
            self.layer.export_bookmarks(path)
        except Exception as exc:  # noqa: BLE001 - shown to the user
            self.error.emit(exc)
            return None
        return path


def _position_text(bookmark) -> str:
    x, y = getattr(bookmark, "x", None), getattr(bookmark, "y", None)
    try:
        return f"{float(x):,.1f}, {float(y):,.1f}"
    except (TypeError, ValueError):
        return ""
