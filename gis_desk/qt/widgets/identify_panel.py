"""Identify Results panel: what the identify tool found, layer > feature > attribute = value.

``show_results(results)`` takes the canvas's list of ``IdentifyResult`` (``.layer``,
``.feature_id``, ``.attributes`` dict, ``.values`` for raster bands).
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QTreeWidget, QTreeWidgetItem, QVBoxLayout, QWidget

from gis_desk.qt.widgets.attribute_table import format_value
from gis_desk.qt.widgets.layer_tree import layer_icon


class IdentifyPanel(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.summary = QLabel("Click the map with the Identify tool (Ctrl+Shift+I).")
        self.summary.setWordWrap(True)
        self.tree = QTreeWidget()
        self.tree.setHeaderLabels(["Feature", "Value"])
        self.tree.setColumnWidth(0, 170)
        self.tree.setAlternatingRowColors(True)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addWidget(self.summary)
        layout.addWidget(self.tree, 1)
        self.results: list[Any] = []

    def show_results(self, results) -> None:
        self.results = list(results or [])
        self.tree.clear()
        if not self.results:
            self.summary.setText("Nothing found at that point.")
            return
        self.summary.setText(f"{len(self.results)} result(s)")
        by_layer: dict[str, QTreeWidgetItem] = {}
        for res in self.results:
            layer = res.layer
            top = by_layer.get(layer.id)
            if top is None:
                top = QTreeWidgetItem([layer.name, ""])
                top.setIcon(0, layer_icon(layer))
                self.tree.addTopLevelItem(top)
                by_layer[layer.id] = top
            title = f"Feature {res.feature_id}" if res.feature_id is not None else "Pixel"
            feature = QTreeWidgetItem([title, ""])
            feature.setData(0, Qt.ItemDataRole.UserRole, res.feature_id)
            top.addChild(feature)
            values = dict(res.attributes or {})
            for key, value in (res.values or {}).items():
                values.setdefault(key, value)
            for key, value in values.items():
                feature.addChild(QTreeWidgetItem([str(key), format_value(value)]))
        self.tree.expandAll()

    def value_of(self, field: str) -> str | None:
        """The shown value of ``field`` in the first result (for tests and copy)."""
        it = self.tree.topLevelItem(0)
        if it is None or not it.childCount():
            return None
        feature = it.child(0)
        for i in range(feature.childCount()):
            if feature.child(i).text(0) == field:
                return feature.child(i).text(1)
        return None
