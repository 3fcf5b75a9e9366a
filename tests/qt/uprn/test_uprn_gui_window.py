"""The Council data menu and docks in the main window."""

from __future__ import annotations

import numpy as np
from PySide6.QtGui import QKeySequence

from uprn_gui_helpers import add_points, grab


def test_council_data_menu_and_docks(qtbot, main_window, tmp_path):
    w = main_window
    menu = w.menus["Council data"]
    texts = [a.text().replace("&", "") for a in menu.actions() if a.text()]
    assert texts == ["Import council records…", "Heat map…", "Deprivation…", "Export with disclosure control…"]
    council = w.council_data
    assert council.actions["import"].shortcut() == QKeySequence("Ctrl+Shift+U")
    assert not council.heatmap_dock.isVisible()
    council.actions["heatmap"].trigger()
    assert council.heatmap_dock.isVisible()
    council.actions["deprivation"].trigger()
    assert council.deprivation_dock.isVisible()

    council.actions["import"].trigger()
    assert council.wizard is not None and council.wizard.isVisible()
    council.wizard.reject()

    layer = add_points(w.session, np.array([[380_000.0, 395_000.0], [380_100.0, 395_050.0]]), name="visits",
                       count=np.array([4, 20]))
    assert council.heatmap_panel.points.layer() is layer  # the panels follow the project
    w.layer_tree.set_current_layer(layer)
    dialog = council.export_current()
    assert dialog.isVisible() and dialog.format_key() == "gpkg" and dialog.count_columns() == ["count"]
    assert dialog.policy.policy() is None  # never a default policy
    dialog.close()
    grab(w, tmp_path / "window.png")
