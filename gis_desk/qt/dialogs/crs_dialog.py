"""Choose a coordinate reference system: common UK ones first, a search over the whole EPSG
registry (pyproj's database, offline), or a free "EPSG:n" / WKT / PROJ entry.

``ask_crs(parent, title, message, current)`` returns the chosen CRS as text ('EPSG:27700')
or None when cancelled; the main window uses it for data without a CRS and for the project
CRS button, ``gis_desk.qt.errors`` for ``MissingCrsError``.
"""

from __future__ import annotations

from functools import lru_cache

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (QDialog, QDialogButtonBox, QLabel, QLineEdit, QTreeWidget, QTreeWidgetItem,
                               QVBoxLayout)

from gis_desk.core.crs import crs_id, to_crs
from gis_desk.errors import CrsError

COMMON_UK_CRS: list[tuple[str, str]] = [
    ("EPSG:27700", "OSGB36 / British National Grid"),
    ("EPSG:4326", "WGS 84 (latitude, longitude; GPS)"),
    ("EPSG:3857", "WGS 84 / Pseudo-Mercator (web maps)"),
    ("EPSG:29903", "TM75 / Irish Grid"),
    ("EPSG:2157", "IRENET95 / Irish Transverse Mercator"),
    ("EPSG:7405", "OSGB36 / British National Grid + ODN height"),
    ("EPSG:4258", "ETRS89 (geographic)"),
    ("EPSG:4277", "OSGB36 (geographic)"),
    ("EPSG:32630", "WGS 84 / UTM zone 30N"),
    ("EPSG:25830", "ETRS89 / UTM zone 30N"),
]
MAX_SEARCH_RESULTS = 300


@lru_cache(maxsize=1)
def _epsg_registry() -> list[tuple[str, str]]:
    from pyproj.database import query_crs_info

    return [(f"EPSG:{info.code}", info.name) for info in query_crs_info(auth_name="EPSG")
            if not info.deprecated]


def search_crs(text: str) -> list[tuple[str, str]]:
    """(code, name) pairs whose code or name contains every word of ``text`` (case-insensitive)."""
    words = text.lower().replace("epsg:", "").split()
    if not words:
        return list(COMMON_UK_CRS)
    common = [c for c in COMMON_UK_CRS if all(w in f"{c[0]} {c[1]}".lower() for w in words)]
    seen = {c[0] for c in common}
    found = [c for c in _epsg_registry() if c[0] not in seen and all(w in f"{c[0]} {c[1]}".lower() for w in words)]
    return common + found[: MAX_SEARCH_RESULTS]


class CrsDialog(QDialog):
    def __init__(self, parent=None, title: str = "Coordinate Reference System", message: str = "",
                 current=None) -> None:
        super().__init__(parent)
        self.setWindowTitle(title)
        self.resize(560, 460)
        layout = QVBoxLayout(self)
        if message:
            label = QLabel(message)
            label.setWordWrap(True)
            layout.addWidget(label)
        self.search = QLineEdit()
        self.search.setPlaceholderText("Search: name or EPSG code, e.g. 'british', 'irish', '27700'; "
                                       "or type EPSG:n / WKT / PROJ and press OK")
        self.search.setClearButtonEnabled(True)
        self.search.textChanged.connect(self._refresh)
        self.list = QTreeWidget()
        self.list.setHeaderLabels(["Code", "Name"])
        self.list.setRootIsDecorated(False)
        self.list.setColumnWidth(0, 110)
        self.list.itemDoubleClicked.connect(lambda *_: self.accept())
        self.selected_label = QLabel()
        self.selected_label.setWordWrap(True)
        self.list.currentItemChanged.connect(self._show_selected)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout.addWidget(self.search)
        layout.addWidget(self.list, 1)
        layout.addWidget(self.selected_label)
        layout.addWidget(self.buttons)
        self._refresh("")
        if current is not None:
            self.select(crs_id(current) or "")

    def _refresh(self, text: str) -> None:
        self.list.clear()
        for code, name in search_crs(text):
            item = QTreeWidgetItem([code, name])
            item.setData(0, Qt.ItemDataRole.UserRole, code)
            self.list.addTopLevelItem(item)
        if self.list.topLevelItemCount():
            self.list.setCurrentItem(self.list.topLevelItem(0))

    def _show_selected(self, item, _previous=None) -> None:
        self.selected_label.setText(f"Selected: {item.text(0)} — {item.text(1)}" if item else "")

    def select(self, code: str) -> None:
        for i in range(self.list.topLevelItemCount()):
            item = self.list.topLevelItem(i)
            if item.text(0) == code:
                self.list.setCurrentItem(item)
                return
        self.search.setText(code)

    def chosen_crs(self) -> str | None:
        """The CRS text: the highlighted entry, or what was typed if it parses as a CRS."""
        typed = self.search.text().strip()
        item = self.list.currentItem()
        if item is not None:
            return item.data(0, Qt.ItemDataRole.UserRole)
        if typed:
            try:
                return crs_id(to_crs(int(typed) if typed.isdigit() else typed))
            except CrsError:
                return None
        return None

    def accept(self) -> None:
        if self.chosen_crs() is None:
            self.selected_label.setText("Not a coordinate reference system: give an EPSG code such as 27700.")
            return
        super().accept()


def ask_crs(parent=None, title: str = "Coordinate Reference System", message: str = "",
            current=None) -> str | None:
    """Show the dialog modally; the chosen CRS text or None when cancelled."""
    dialog = CrsDialog(parent, title, message, current)
    return dialog.chosen_crs() if dialog.exec() == QDialog.DialogCode.Accepted else None
