"""Plugins > Manage Plugins…: every installed plugin, its version, state and contributions.

Ticking or unticking a plugin calls ``PluginManager.set_enabled`` (persisted in the user's
settings).  Readers and algorithms follow at once; dock panels and menus of a plugin appear
or disappear after a restart, which the dialog says.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (QDialog, QDialogButtonBox, QLabel, QPlainTextEdit, QTreeWidget, QTreeWidgetItem,
                               QVBoxLayout)

from gis_desk.plugin_api.manager import CORE_PLUGIN, PluginInfo
from gis_desk.qt.icons import icon


def plugin_status(info: PluginInfo) -> str:
    if info.error:
        return f"Failed: {info.error}"
    return "Active" if info.active else "Disabled"


def contributions_text(info: PluginInfo) -> str:
    if info.manifest is None:
        return ""
    return ", ".join(f"{n} {kind}" for kind, n in info.manifest.summary().items())


class PluginManagerDialog(QDialog):
    def __init__(self, plugins, parent=None) -> None:
        super().__init__(parent)
        self.plugins = plugins
        self.setWindowTitle("Plugins")
        self.resize(760, 440)
        self.tree = QTreeWidget()
        self.tree.setHeaderLabels(["Plugin", "Version", "Status", "Contributions"])
        self.tree.setRootIsDecorated(False)
        self.tree.setColumnWidth(0, 220)
        self.tree.setColumnWidth(2, 160)
        self.details = QPlainTextEdit()
        self.details.setReadOnly(True)
        self.details.setMaximumHeight(130)
        note = QLabel("Enabling or disabling a plugin takes effect at once for readers and algorithms; "
                      "its panels and menus change after GIS Desk is restarted.")
        note.setWordWrap(True)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.tree, 1)
        layout.addWidget(self.details)
        layout.addWidget(note)
        layout.addWidget(buttons)
        self._filling = False
        self.tree.itemChanged.connect(self._item_changed)
        self.tree.currentItemChanged.connect(self._show_details)
        self.refresh()

    def refresh(self) -> None:
        self._filling = True
        self.tree.clear()
        for name, info in sorted(self.plugins.plugins.items(), key=lambda kv: (kv[0] != CORE_PLUGIN, kv[0])):
            item = QTreeWidgetItem([info.display_name, info.version, plugin_status(info), contributions_text(info)])
            item.setData(0, Qt.ItemDataRole.UserRole, name)
            item.setIcon(0, icon("error" if info.error else "plugins"))
            flags = Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable
            if name != CORE_PLUGIN and info.manifest is not None:
                flags |= Qt.ItemFlag.ItemIsUserCheckable
            item.setFlags(flags)
            item.setCheckState(0, Qt.CheckState.Checked if info.enabled else Qt.CheckState.Unchecked)
            item.setToolTip(2, info.error or "")
            self.tree.addTopLevelItem(item)
        self._filling = False

    def item_for(self, name: str) -> QTreeWidgetItem | None:
        for i in range(self.tree.topLevelItemCount()):
            item = self.tree.topLevelItem(i)
            if item.data(0, Qt.ItemDataRole.UserRole) == name:
                return item
        return None

    def _item_changed(self, item: QTreeWidgetItem, column: int) -> None:
        if self._filling or column != 0:
            return
        name = item.data(0, Qt.ItemDataRole.UserRole)
        enabled = item.checkState(0) == Qt.CheckState.Checked
        if self.plugins.plugins[name].enabled != enabled:
            self.plugins.set_enabled(name, enabled)
            self.refresh()
            self.tree.setCurrentItem(self.item_for(name))

    def _show_details(self, item, _previous=None) -> None:
        if item is None:
            self.details.clear()
            return
        info = self.plugins.plugins[item.data(0, Qt.ItemDataRole.UserRole)]
        lines = [f"{info.display_name} {info.version}  ({info.name})"]
        if info.manifest is not None and info.manifest.description:
            lines.append(info.manifest.description)
        if info.distribution:
            lines.append(f"Installed from: {info.distribution}")
        if info.error:
            lines += ["", f"Error: {info.error}", info.error_details or ""]
        self.details.setPlainText("\n".join(lines))
