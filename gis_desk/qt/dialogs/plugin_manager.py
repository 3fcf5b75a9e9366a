"""Plugins > Manage Plugins…: every installed plugin, its version, state and contributions.

Ticking or unticking a plugin calls ``PluginManager.set_enabled`` (persisted in the user's
settings).  Readers and algorithms follow at once; dock panels and menus of a plugin appear
or disappear after a restart, which the dialog says.  "Install from file…" installs a plugin
offline from a wheel or zip into the user's own plugin folder (no admin rights needed), and
"Remove" deletes one installed that way.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (QDialog, QDialogButtonBox, QFileDialog, QHBoxLayout, QLabel, QMessageBox,
                               QPlainTextEdit, QPushButton, QTreeWidget, QTreeWidgetItem, QVBoxLayout)

from gis_desk.errors import GisDeskError

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
        self.status = QLabel()
        self.status.setWordWrap(True)
        self.install_button = QPushButton(icon("add_data"), "Install from file…")
        self.install_button.setToolTip("Install or upgrade a plugin from a .whl or .zip file, offline")
        self.install_button.clicked.connect(self._choose_archive)
        self.remove_button = QPushButton("Remove")
        self.remove_button.setToolTip("Remove a plugin that was installed from a file")
        self.remove_button.setEnabled(False)
        self.remove_button.clicked.connect(self._remove_current)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        row = QHBoxLayout()
        row.addWidget(self.install_button)
        row.addWidget(self.remove_button)
        row.addStretch(1)
        row.addWidget(buttons)
        layout = QVBoxLayout(self)
        layout.addWidget(self.tree, 1)
        layout.addWidget(self.details)
        layout.addWidget(note)
        layout.addWidget(self.status)
        layout.addLayout(row)
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

    # -- installing and removing -------------------------------------------------------------
    def _choose_archive(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Install a plugin", "", "Plugin packages (*.whl *.zip)")
        if path:
            self.install(path)

    def install(self, path: str) -> bool:
        """Install ``path``; the outcome (or the problem, naming the file) shows in the dialog."""
        try:
            info = self.plugins.install_from_file(path)
        except GisDeskError as exc:
            self.status.setText(f"Not installed: {exc}" + (f" ({exc.hint})" if exc.hint else ""))
            return False
        self.refresh()
        self.tree.setCurrentItem(self.item_for(info.name))
        counts = contributions_text(info) or "no contributions"
        self.status.setText(f"Installed {info.display_name} {info.version}: {counts}. Its panels and menus "
                            "appear after GIS Desk is restarted.")
        return True

    def _remove_current(self) -> None:
        item = self.tree.currentItem()
        if item is None:
            return
        name = item.data(0, Qt.ItemDataRole.UserRole)
        answer = QMessageBox.question(self, "Remove plugin",
                                      f"Remove the plugin {self.plugins.plugins[name].display_name}? "
                                      "Projects keep their data; what the plugin added stops working.")
        if answer == QMessageBox.StandardButton.Yes:
            self.remove(name)

    def remove(self, name: str) -> bool:
        try:
            self.plugins.uninstall(name)
        except GisDeskError as exc:
            self.status.setText(f"Not removed: {exc}")
            return False
        self.refresh()
        self.status.setText(f"Removed the plugin {name!r}.")
        return True

    def _show_details(self, item, _previous=None) -> None:
        if item is None:
            self.details.clear()
            self.remove_button.setEnabled(False)
            return
        info = self.plugins.plugins[item.data(0, Qt.ItemDataRole.UserRole)]
        self.remove_button.setEnabled(info.installed_from_file)
        lines = [f"{info.display_name} {info.version}  ({info.name})"]
        if info.manifest is not None and info.manifest.description:
            lines.append(info.manifest.description)
        if info.distribution:
            lines.append(f"Installed from: {info.distribution}")
        if info.error:
            lines += ["", f"Error: {info.error}", info.error_details or ""]
        self.details.setPlainText("\n".join(lines))
