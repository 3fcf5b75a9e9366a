"""Plugins dialog: install from a file, see it listed with its contributions, remove it."""

from __future__ import annotations

import sys

from PySide6.QtCore import Qt

from gis_desk.plugin_api.manager import PluginManager
from gis_desk.qt.dialogs.plugin_manager import PluginManagerDialog
from gis_desk.testing.plugin_archives import write_wheel


def test_install_then_remove_from_the_dialog(qtbot, tmp_path, dialogs):
    manager = PluginManager.from_entry_points()
    dialog = PluginManagerDialog(manager)
    qtbot.addWidget(dialog)
    before = dialog.tree.topLevelItemCount()
    assert dialog.install(str(write_wheel(tmp_path, name="ponds", package="gis_desk_ponds_gui")))
    assert dialog.tree.topLevelItemCount() == before + 1
    item = dialog.item_for("ponds")
    assert item.text(1) == "1.0.0" and item.text(2) == "Active" and "1 readers" in item.text(3)
    assert dialog.tree.currentItem() is item and dialog.remove_button.isEnabled()
    assert "Installed Tree survey 1.0.0" in dialog.status.text()

    dialog.tree.setCurrentItem(dialog.item_for("planning"))
    assert not dialog.remove_button.isEnabled()  # first-party: disable only

    dialog.tree.setCurrentItem(dialog.item_for("ponds"))
    dialogs.answer = dialogs.answer.Yes
    dialog.remove_button.click()
    assert dialog.item_for("ponds") is None and "Removed" in dialog.status.text()
    assert "ponds" not in PluginManager.from_entry_points().plugins
    sys.modules.pop("gis_desk_ponds_gui", None)


def test_a_bad_file_is_named_and_nothing_changes(qtbot, tmp_path):
    manager = PluginManager.from_entry_points()
    dialog = PluginManagerDialog(manager)
    qtbot.addWidget(dialog)
    bad = tmp_path / "survey.zip"
    bad.write_bytes(b"PK\x03\x04 cut short")
    count = dialog.tree.topLevelItemCount()
    assert not dialog.install(str(bad))
    assert "survey.zip" in dialog.status.text() and dialog.status.text().startswith("Not installed")
    assert dialog.tree.topLevelItemCount() == count
    assert dialog.item_for("planning").checkState(0) in (Qt.CheckState.Checked, Qt.CheckState.Unchecked)
