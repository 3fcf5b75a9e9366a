"""Council data in the main window: records by UPRN, heat maps, deprivation and safe exports.

``install_council_data(window)`` adds the "Council data" menu (Import council records...
Ctrl+Shift+U, Heat map..., Deprivation..., Export with disclosure control...) and the
Heat map and Deprivation docks (hidden until asked for), and returns the ``CouncilData``
controller, also kept as ``window.council_data``.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QDockWidget

PANEL_WIDTH = 420  # px: room for the forms and the decile table without a horizontal scroll bar


class CouncilData:
    """Owns the council-data panels of one main window and opens their dialogs."""

    def __init__(self, window) -> None:
        from gis_desk.qt.uprn.deprivation_panel import DeprivationPanel
        from gis_desk.qt.uprn.heatmap_panel import HeatmapPanel

        self.window = window
        session, tasks, presenter = window.session, window.tasks, window.presenter
        self.heatmap_panel = HeatmapPanel(session, tasks, presenter, open_export=self.open_export)
        self.deprivation_panel = DeprivationPanel(session, tasks, presenter, open_export=self.open_export)
        self.heatmap_dock = self._dock("heatmap", "Heat Map", self.heatmap_panel)
        self.deprivation_dock = self._dock("deprivation", "Deprivation", self.deprivation_panel)
        if "toolbox" in window.docks:
            window.tabifyDockWidget(window.docks["toolbox"], self.heatmap_dock)
            window.tabifyDockWidget(self.heatmap_dock, self.deprivation_dock)
        self.heatmap_dock.hide()
        self.deprivation_dock.hide()
        self.wizard = None
        self.export_dialog = None
        self.actions = self._menu()

    def _dock(self, key: str, title: str, widget) -> QDockWidget:
        w = self.window
        dock = QDockWidget(title, w)
        dock.setObjectName(f"{key}_dock")
        dock.setWidget(widget)
        w.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, dock)
        w.panels_menu.addAction(dock.toggleViewAction())
        w.docks[key] = dock
        return dock

    def _menu(self) -> dict[str, QAction]:
        w = self.window
        processing = w.menus.get("Processing")
        menu = w.menuBar().addMenu("Co&uncil data")
        if processing is not None:  # beside Processing rather than after Help
            w.menuBar().insertMenu(processing.menuAction(), menu)
        w.menus["Council data"] = menu
        actions = {}
        for key, text, slot, shortcut, tip in (
                ("import", "&Import council records…", self.import_records, "Ctrl+Shift+U",
                 "Place records keyed by UPRN on the map, with identifiers pseudonymised"),
                ("heatmap", "&Heat map…", self.show_heatmap, None, "Kernel density of a point layer"),
                ("deprivation", "&Deprivation…", self.show_deprivation, None,
                 "Join IMD/SIMD deciles to boundaries and summarise records by decile"),
                ("export", "&Export with disclosure control…", self.export_current, None,
                 "Export the current layer under a disclosure policy")):
            action = QAction(text, w)
            if shortcut:
                action.setShortcut(QKeySequence(shortcut))
            action.setStatusTip(tip)
            action.setToolTip(tip)
            action.triggered.connect(lambda _checked=False, s=slot: s())
            w.addAction(action)
            menu.addAction(action)
            if key == "import":
                menu.addSeparator()
            if key == "deprivation":
                menu.addSeparator()
            actions[key] = action
        return actions

    # -- actions --------------------------------------------------------------------------------
    def import_records(self):
        from gis_desk.qt.uprn.import_wizard import ImportWizard

        w = self.window
        wizard = ImportWizard(w.session, w.tasks, w.presenter, w)
        wizard.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        wizard.accepted.connect(lambda: self._records_added(wizard))
        wizard.show()
        self.wizard = wizard
        return wizard

    def _records_added(self, wizard) -> None:
        layer = wizard.layer
        if layer is None:
            return
        report = wizard.report
        self.window.message_log.add("info", f"Added layer '{layer.name}': {report.matched:,} of "
                                            f"{report.total_rows:,} records matched")
        self.heatmap_panel.points.set_layer(layer)
        self.deprivation_panel.records.set_layer(layer)

    def _show(self, dock: QDockWidget) -> None:
        dock.show()
        dock.raise_()
        if dock.width() < PANEL_WIDTH and not dock.isFloating():
            self.window.resizeDocks([dock], [PANEL_WIDTH], Qt.Orientation.Horizontal)

    def show_heatmap(self) -> None:
        self._show(self.heatmap_dock)

    def show_deprivation(self) -> None:
        self._show(self.deprivation_dock)

    def _viewport(self):
        from gis_desk.render.viewport import Viewport

        view = self.window.canvas.viewport
        return Viewport.fit(view.extent, 1600, 1130, view.crs, margin=0.0)

    def open_export(self, source) -> Any:
        """Show the export dialog for an ``ExportSource`` (non-modal); returns the dialog."""
        from gis_desk.qt.uprn.export_dialog import ExportDialog

        w = self.window
        dialog = ExportDialog(w.session, w.tasks, w.presenter, source, self._viewport, w)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.show()
        self.export_dialog = dialog
        return dialog

    def export_current(self):
        """Export the current layer (vector: table/GeoPackage; otherwise the map as PNG)."""
        from gis_desk.core.layer import VectorLayer
        from gis_desk.qt.uprn.common import safe_name
        from gis_desk.qt.uprn.export_dialog import ExportSource

        layer = self.window.current_layer()
        if isinstance(layer, VectorLayer) and layer.dataset is not None:
            counts = [c for c in ("count",) if c in layer.dataset.fields]
            source = ExportSource(title=f"Layer '{layer.name}'", name=safe_name(layer.name), layer=layer,
                                  count_columns=counts)
        else:
            source = ExportSource(title="The map as shown (PNG with legend)",
                                  name=safe_name(self.window.project_name()))
        return self.open_export(source)


def install_council_data(window) -> CouncilData:
    """Add the Council data menu and docks to ``window`` (a ``MainWindow``)."""
    window.council_data = CouncilData(window)
    return window.council_data
