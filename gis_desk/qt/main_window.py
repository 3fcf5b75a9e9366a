"""The GIS Desk main window: the map canvas with QGIS-like panels, menus and toolbars.

Layout: the map in the centre under a message bar; Layers (left); Identify Results and the
Processing Toolbox (right); the Log and one Attribute Table per opened layer (bottom, tabbed);
plugin panels where their manifest says.  Everything the window does to the project goes
through ``self.session`` (undoable where it edits layers); errors go to ``self.presenter``
(``gis_desk.qt.errors``); long work to ``self.tasks`` (``gis_desk.qt.workers``).

Plugin contributions: a ``widgets`` entry's command is called as ``command(session=...,
parent=window)`` and must return a ``QWidget`` (docked at its ``area``); a ``menus`` entry's
command is called the same way when its menu item is chosen.  A failing one is logged and
skipped.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from PySide6.QtCore import QSettings, Qt, QTimer
from PySide6.QtGui import QCloseEvent, QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import (QApplication, QDockWidget, QFileDialog, QMainWindow, QMessageBox, QVBoxLayout,
                               QWidget)

from gis_desk.core.layer import BrokenLayer, Layer, RasterLayerBase, VectorLayer
from gis_desk.errors import GisDeskError, MissingFileError, PluginError
from gis_desk.qt import actions as actions_mod
from gis_desk.qt.canvas.canvas import MapCanvas
from gis_desk.qt.errors import ErrorPresenter
from gis_desk.qt.icons import icon
from gis_desk.qt.widgets.identify_panel import IdentifyPanel
from gis_desk.qt.widgets.layer_tree import LayerTreeView
from gis_desk.qt.widgets.message_bar import MessageBar
from gis_desk.qt.widgets.message_log import LogBridge, MessageLog
from gis_desk.qt.widgets.status_bar import StatusBar
from gis_desk.qt.workers import TaskManager
from gis_desk.session import PROJECT_SUFFIX

log = logging.getLogger(__name__)
AUTOSAVE_INTERVAL_MS = 2 * 60 * 1000
_AREAS = {"left": Qt.DockWidgetArea.LeftDockWidgetArea, "right": Qt.DockWidgetArea.RightDockWidgetArea,
          "bottom": Qt.DockWidgetArea.BottomDockWidgetArea, "top": Qt.DockWidgetArea.TopDockWidgetArea}


class MainWindow(QMainWindow):
    def __init__(self, session, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.setWindowIcon(icon("app"))
        self.setAcceptDrops(True)
        self.setDockNestingEnabled(True)
        self._fit_to_screen(1400, 880)

        self.presenter = ErrorPresenter(self)
        self.message_bar = MessageBar()
        self.presenter.message_bar = self.message_bar
        self.message_bar.details_requested.connect(self.presenter.show_details)
        self.tasks = TaskManager(self.presenter, parent=self)
        self.canvas = MapCanvas(session, self)
        central = QWidget()
        central_layout = QVBoxLayout(central)
        central_layout.setContentsMargins(0, 0, 0, 0)
        central_layout.setSpacing(2)
        central_layout.addWidget(self.message_bar)
        central_layout.addWidget(self.canvas, 1)
        self.setCentralWidget(central)

        self.layer_tree = LayerTreeView(session)
        self.message_log = MessageLog()
        self.identify_panel = IdentifyPanel()
        self.status = StatusBar()
        self.setStatusBar(self.status)
        self.docks: dict[str, QDockWidget] = {}
        self.attribute_docks: dict[str, QDockWidget] = {}
        self.last_measure = ""

        self.actions_ = actions_mod.build_actions(self)
        self.menus = actions_mod.build_menus(self, self.actions_)
        self._build_docks()
        self.toolbars = actions_mod.build_toolbars(self, self.actions_)
        self._connect()
        self._log_bridge = LogBridge(self.message_log).attach(logging.getLogger("gis_desk"))
        self._add_plugin_contributions()
        # Feature areas, each a menu with its docks and tools: council data (issue 3), the 3D
        # view and point-cloud change detection (issue 4), drone footage and photos (issue 5).
        from gis_desk.qt.drone import install_drone
        from gis_desk.qt.pointcloud import install_pointcloud
        from gis_desk.qt.uprn import install_council_data
        from gis_desk.qt.view3d import install_view3d

        install_council_data(self)
        install_view3d(self)
        install_pointcloud(self)
        install_drone(self)
        # the map keeps most of the window: panels added above start narrow (saved layouts win)
        self.resizeDocks([self.docks["layers"], self.docks["identify"]], [270, 320], Qt.Orientation.Horizontal)
        self.resizeDocks([self.docks["log"]], [140], Qt.Orientation.Vertical)
        self.docks["identify"].raise_()  # the tab shown first on the right, whatever was tabbed onto it

        self.autosave_timer = QTimer(self, interval=AUTOSAVE_INTERVAL_MS, timeout=self.autosave)
        self.autosave_timer.start()
        self.status.set_crs(session.project.crs)
        self._update_title()
        self._update_undo_actions()
        self._restore_geometry()

    # -- construction ------------------------------------------------------------------------

    def _fit_to_screen(self, width: int, height: int) -> None:
        """Open at the preferred size, shrunk to 95% of the screen's free area when smaller."""
        screen = self.screen() or QApplication.primaryScreen()
        if screen is not None:
            free = screen.availableGeometry()
            width, height = min(width, int(free.width() * 0.95)), min(height, int(free.height() * 0.95))
        self.resize(width, height)

    def _dock(self, key: str, title: str, widget: QWidget, area: str, shortcut: str | None = None) -> QDockWidget:
        dock = QDockWidget(title, self)
        dock.setObjectName(f"{key}_dock")
        dock.setWidget(widget)
        self.addDockWidget(_AREAS[area], dock)
        toggle = dock.toggleViewAction()
        if shortcut:
            toggle.setShortcut(shortcut)
        self.panels_menu.addAction(toggle)
        self.docks[key] = dock
        return dock

    def _build_docks(self) -> None:
        from gis_desk.qt.dialogs.algorithm_dialog import ProcessingToolbox

        self._dock("layers", "Layers", self.layer_tree, "left", "Ctrl+1")
        self._dock("identify", "Identify Results", self.identify_panel, "right", "Ctrl+2")
        self.toolbox = ProcessingToolbox(self.session)
        toolbox_dock = self._dock("toolbox", "Processing Toolbox", self.toolbox, "right")
        self.tabifyDockWidget(self.docks["identify"], toolbox_dock)
        self.docks["identify"].raise_()
        self.toolbox.run_requested.connect(self.run_algorithm_dialog)
        self.actions_.toolbox.triggered.connect(self.show_toolbox)
        self._dock("log", "Log Messages", self.message_log, "bottom", "Ctrl+3")
        self.resizeDocks([self.docks["layers"], self.docks["identify"]], [290, 300], Qt.Orientation.Horizontal)
        self.resizeDocks([self.docks["log"]], [170], Qt.Orientation.Vertical)

    def _connect(self) -> None:
        c, s, p = self.canvas, self.status, self.session.project
        c.cursor_moved.connect(lambda x, y: s.set_cursor(x, y, self.session.project.crs))
        c.scale_changed.connect(s.set_scale)
        c.render_finished.connect(s.set_render_time)
        c.identify_results.connect(self._show_identify)
        c.measure_changed.connect(self._show_measure)
        c.message.connect(self._canvas_message)
        c.tool_changed.connect(self._tool_changed)
        s.scale_requested.connect(self._zoom_to_scale)
        s.crs_clicked.connect(self.choose_project_crs)
        s.cancel_requested.connect(self.tasks.cancel_all)
        self.tasks.busy_changed.connect(s.set_busy)
        self.tasks.progress.connect(s.set_progress)
        self.tasks.message.connect(self.message_log.add)
        self.presenter.logged.connect(self.message_log.add)
        t = self.layer_tree
        t.current_layer_changed.connect(self._current_layer_changed)
        t.zoom_to_layer_requested.connect(c.zoom_to_layer)
        t.attribute_table_requested.connect(self.open_attribute_table)
        t.style_requested.connect(self.open_style_dialog)
        t.properties_requested.connect(self.show_layer_properties)
        t.repoint_requested.connect(self.repoint_layer)
        # psygnal -> Qt: these fire on the GUI thread (the project is only edited there)
        p.events.dirty.connect(self._update_title)
        p.events.path.connect(self._update_title)
        p.events.crs.connect(self.status.set_crs)
        p.layers.events.removed.connect(self._layer_removed)
        self.session.undo_stack.changed.connect(self._update_undo_actions)
        self.session.plugins.plugin_failed.connect(
            lambda name, msg: self.presenter.notify("warning", "Plugin disabled", f"{name}: {msg}"))

    def _add_plugin_contributions(self) -> None:
        plugins = self.session.plugins
        for c in plugins.contributions("widgets"):
            title = c.data.get("display_name") or c.data["command"]
            try:
                widget = plugins.command(c.data["command"])(session=self.session, parent=self)
                if not isinstance(widget, QWidget):
                    raise PluginError(f"{c.data['command']} returned {type(widget).__name__}, not a widget")
            except Exception as exc:  # noqa: BLE001 - one bad plugin must not stop the window
                if not isinstance(exc, PluginError):
                    plugins.report_failure(c.plugin, exc)
                self.message_log.add("warning", f"Plugin panel '{title}' ({c.plugin}) skipped: {exc}")
                continue
            dock = self._dock(f"plugin_{c.data['command']}", title, _scrolling(widget), c.data.get("area", "right"))
            if c.data.get("area", "right") == "right":  # tabbed, so several plugins fit on a laptop screen
                self.tabifyDockWidget(self.docks["identify"], dock)
                self.docks["identify"].raise_()
        for c in plugins.contributions("menus"):
            path = [p for p in str(c.data["menu"]).split("/") if p]
            menu = self.menus.get(path[0]) or self.menuBar().addMenu(path[0])
            self.menus.setdefault(path[0], menu)
            for part in path[1:]:
                menu = menu.addMenu(part)
            info = plugins.plugins[c.plugin].manifest
            title = info.command(c.data["command"]).get("title", c.data["command"])
            menu.addAction(title, lambda cmd=c.data["command"]: self._run_plugin_command(cmd))

    def _run_plugin_command(self, command_id: str) -> None:
        try:
            self.session.plugins.call(command_id, session=self.session, parent=self)
        except Exception as exc:  # noqa: BLE001
            self.presenter.report(exc, context=command_id)

    # -- title, undo and settings ------------------------------------------------------------
    def project_name(self) -> str:
        p = self.session.project
        return p.path.stem if p.path else (p.title or "Untitled")

    def _update_title(self, *_: Any) -> None:
        star = "*" if self.session.project.dirty else ""
        self.setWindowTitle(f"{star}{self.project_name()} — GIS Desk")

    def _update_undo_actions(self) -> None:
        u, a = self.session.undo_stack, self.actions_
        a.undo.setEnabled(u.can_undo)
        a.redo.setEnabled(u.can_redo)
        a.undo.setText(f"&Undo {u.undo_text}" if u.can_undo else "&Undo")
        a.redo.setText(f"&Redo {u.redo_text}" if u.can_redo else "&Redo")

    def _restore_geometry(self) -> None:
        settings = QSettings()
        geometry, state = settings.value("main_window/geometry"), settings.value("main_window/state")
        self.has_saved_geometry = geometry is not None
        if geometry is not None:
            self.restoreGeometry(geometry)
        if state is not None:
            self.restoreState(state)

    # -- opening data and projects ------------------------------------------------------------
    def open_paths(self, paths) -> None:
        """Open each path: a ``.gdesk`` project replaces the project, data files add layers."""
        for path in paths:
            self.open_path(path)

    def open_path(self, path, crs: Any = None) -> list[Layer] | None:
        """Open a project or add a data file's layers; errors are shown, never raised.

        Returns the layers added, or None when nothing was opened.
        """
        path = Path(path)
        if path.suffix.lower() == PROJECT_SUFFIX:
            return self.open_project(path)
        try:
            layers = self.session.open(path, crs=crs)
        except GisDeskError as exc:
            self.presenter.report(exc, context=f"Adding {path.name}",
                                  retry_with_crs=lambda chosen: self._open_data_or_raise(path, chosen))
            return None
        self._after_adding(layers)
        return layers

    def _open_data_or_raise(self, path: Path, crs: str) -> list[Layer]:
        layers = self.session.open(path, crs=crs)
        self._after_adding(layers)
        return layers

    def _after_adding(self, layers: list[Layer]) -> None:
        for layer in layers:
            self.message_log.add("info", f"Added layer '{layer.name}' ({layer.source.path})")
            if isinstance(layer, RasterLayerBase):
                self._offer_overviews(layer)

    def open_project(self, path, ask_to_save: bool = True) -> list[Layer] | None:
        if ask_to_save and not self.maybe_save():
            return None
        try:
            self.session.load(path)
        except GisDeskError as exc:
            self.presenter.report(exc, context=f"Opening project {Path(path).name}")
            return None
        self._project_loaded()
        return list(self.session.project.layers)

    def _project_loaded(self) -> None:
        from gis_desk.settings import add_recent_project

        project = self.session.project
        if project.path is not None:
            add_recent_project(project.path)
        self.status.set_crs(project.crs)
        self._update_title()
        self.message_log.add("info", f"Opened project {project.path}")
        broken = [layer for layer in project.layers if layer.is_broken]
        for layer in broken:
            self.message_log.add("warning", f"Layer '{layer.name}' is unavailable: {layer.error}")
        if broken:
            names = ", ".join(f"'{l.name}'" for l in broken[:3]) + ("…" if len(broken) > 3 else "")
            self.presenter.notify("warning", "Layers unavailable",
                                  f"{len(broken)} layer(s) could not be opened ({names}). "
                                  "Right-click a layer marked ⚠ and choose Re-point data source…")
        if project.view_extent is None:
            self.canvas.zoom_full()

    def add_data_dialog(self) -> None:
        from gis_desk.qt.dialogs.about import file_filters

        paths, _ = QFileDialog.getOpenFileNames(self, "Add Data", self._last_folder(), file_filters(self.session.plugins))
        if paths:
            self._remember_folder(paths[0])
            self.open_paths(paths)

    def open_project_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open Project", self._last_folder(),
                                              "GIS Desk projects (*.gdesk);;All files (*)")
        if path:
            self._remember_folder(path)
            self.open_project(path)

    def _last_folder(self) -> str:
        return str(QSettings().value("paths/last_folder", str(Path.home())))

    def _remember_folder(self, path: str) -> None:
        QSettings().setValue("paths/last_folder", str(Path(path).parent))

    def fill_recent_menu(self) -> None:
        from gis_desk.settings import recent_projects

        self.recent_menu.clear()
        recent = recent_projects()
        for path in recent:
            action = self.recent_menu.addAction(Path(path).name, lambda p=path: self.open_project(p))
            action.setToolTip(path)
            action.setEnabled(Path(path).exists())
        if not recent:
            self.recent_menu.addAction("(no recent projects)").setEnabled(False)

    # -- saving, closing, autosave and recovery ------------------------------------------------
    def new_project(self) -> None:
        if self.maybe_save():
            from gis_desk.core.autosave import discard_autosave

            discard_autosave(self.session.project)
            self._close_attribute_tables()
            self.session.new_project()
            self._update_title()

    def save(self) -> bool:
        if self.session.project.path is None:
            return self.save_as()
        return self._save_to(self.session.project.path)

    def save_as(self) -> bool:
        start = str(self.session.project.path or Path(self._last_folder()) / "project.gdesk")
        path, _ = QFileDialog.getSaveFileName(self, "Save Project As", start, "GIS Desk projects (*.gdesk)")
        if not path:
            return False
        self._remember_folder(path)
        return self._save_to(path)

    def _save_to(self, path) -> bool:
        from gis_desk.settings import add_recent_project

        try:
            target = self.session.save(path)
        except (GisDeskError, OSError, ValueError) as exc:
            self.presenter.report(exc, context="Saving the project")
            return False
        add_recent_project(target)
        self.message_log.add("info", f"Saved project {target}")
        self.status.showMessage(f"Saved {target}", 5000)
        self._update_title()
        return True

    def maybe_save(self) -> bool:
        """Ask Save / Discard / Cancel when there are unsaved changes; False means stop."""
        project = self.session.project
        if not project.dirty:
            return True
        answer = QMessageBox.question(
            self, "Unsaved changes", f"The project '{self.project_name()}' has unsaved changes. Save them?",
            QMessageBox.StandardButton.Save | QMessageBox.StandardButton.Discard | QMessageBox.StandardButton.Cancel,
            QMessageBox.StandardButton.Save)
        if answer == QMessageBox.StandardButton.Save:
            return self.save()
        return answer == QMessageBox.StandardButton.Discard

    def autosave(self) -> None:
        from gis_desk.core.autosave import write_autosave

        try:
            written = write_autosave(self.session.project)
        except GisDeskError as exc:
            self.presenter.report(exc, context="Autosave")
            return
        if written:
            self.status.showMessage(f"Autosaved to {written}", 3000)

    def offer_recovery(self, project_path=None) -> bool:
        """If an autosave newer than ``project_path`` (or an orphaned untitled one) exists, ask
        Recover / Discard.  True if the project was recovered."""
        from gis_desk.core.autosave import discard_recovery, find_recovery, load_recovery

        found = find_recovery(project_path)
        if found is None:
            return False
        what = f"'{Path(project_path).name}'" if project_path else "an unsaved project"
        box = QMessageBox(QMessageBox.Icon.Question, "Recover unsaved work",
                          f"GIS Desk found changes to {what} that were not saved (autosaved {found.name}).",
                          QMessageBox.StandardButton.NoButton, self)
        recover = box.addButton("Recover", QMessageBox.ButtonRole.AcceptRole)
        box.addButton("Discard", QMessageBox.ButtonRole.DestructiveRole)
        box.exec()
        if box.clickedButton() is not recover:
            discard_recovery(found)
            self.message_log.add("info", f"Discarded autosave {found}")
            return False
        try:
            load_recovery(self.session, found, project_path)
        except GisDeskError as exc:
            self.presenter.report(exc, context="Recovering autosave")
            return False
        self._project_loaded()
        self.message_log.add("info", f"Recovered unsaved work from {found}")
        return True

    def closeEvent(self, event: QCloseEvent) -> None:
        if not self.maybe_save():
            event.ignore()
            return
        from gis_desk.core.autosave import discard_autosave

        self.autosave_timer.stop()
        for feature in ("drone", "view3d"):  # stop decoder threads, free GPU memory
            closer = getattr(getattr(self, feature, None), "close" if feature == "drone" else "shutdown", None)
            if closer is not None:
                closer()
        self.tasks.cancel_all()
        self.tasks.wait(5000)
        try:
            discard_autosave(self.session.project)
        except OSError as exc:
            log.warning("could not remove the autosave: %s", exc)
        settings = QSettings()
        settings.setValue("main_window/geometry", self.saveGeometry())
        settings.setValue("main_window/state", self.saveState())
        event.accept()

    # -- drag and drop -----------------------------------------------------------------------
    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if event.mimeData().hasUrls() and any(u.isLocalFile() for u in event.mimeData().urls()):
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:
        paths = [u.toLocalFile() for u in event.mimeData().urls() if u.isLocalFile()]
        event.acceptProposedAction()
        projects = [p for p in paths if p.lower().endswith(PROJECT_SUFFIX)]
        if projects:
            self.open_project(projects[0])
        self.open_paths([p for p in paths if not p.lower().endswith(PROJECT_SUFFIX)])

    # -- layers -------------------------------------------------------------------------------
    def current_layer(self) -> Layer | None:
        return self.layer_tree.current_layer()

    def _current_layer_changed(self, layer: Layer | None) -> None:
        self.canvas.active_layer = layer
        a = self.actions_
        a.attribute_table.setEnabled(isinstance(layer, VectorLayer))
        a.style.setEnabled(layer is not None and not layer.is_broken and layer.style is not None)

    def zoom_to_current_layer(self) -> None:
        layer = self.current_layer()
        if layer is not None:
            self.canvas.zoom_to_layer(layer)

    def zoom_to_selection(self) -> None:
        self.canvas.zoom_to_selection(self.current_layer())

    def open_attribute_table_current(self) -> None:
        layer = self.current_layer()
        if isinstance(layer, VectorLayer):
            self.open_attribute_table(layer)

    def open_attribute_table(self, layer: VectorLayer) -> QDockWidget:
        from gis_desk.qt.widgets.attribute_table import AttributeTable

        dock = self.attribute_docks.get(layer.id)
        if dock is None:
            table = AttributeTable(layer)
            table.zoom_to_selection_requested.connect(self.canvas.zoom_to_selection)
            table.error.connect(lambda exc: self.presenter.report(exc, context="Filter"))
            dock = QDockWidget(f"Attribute Table — {layer.name}", self)
            dock.setObjectName(f"attributes_{layer.id}")
            dock.setWidget(table)
            dock.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
            dock.destroyed.connect(lambda *_, lid=layer.id: self.attribute_docks.pop(lid, None))
            self.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, dock)
            self.tabifyDockWidget(self.docks["log"], dock)
            self.attribute_docks[layer.id] = dock
        dock.show()
        dock.raise_()
        if dock.height() < 260:  # room for a useful number of rows
            self.resizeDocks([dock], [300], Qt.Orientation.Vertical)
        return dock

    def _layer_removed(self, index: int, layer: Layer) -> None:
        dock = self.attribute_docks.pop(layer.id, None)
        if dock is not None:
            dock.close()

    def _close_attribute_tables(self) -> None:
        for dock in list(self.attribute_docks.values()):
            dock.close()
        self.attribute_docks.clear()

    def style_current_layer(self) -> None:
        layer = self.current_layer()
        if layer is not None:
            self.open_style_dialog(layer)

    def open_style_dialog(self, layer: Layer, modal: bool = True):
        from gis_desk.qt.dialogs.style_dialog import StyleDialog

        try:
            dialog = StyleDialog(self.session, layer, self)
        except (TypeError, GisDeskError) as exc:
            self.presenter.report(exc if isinstance(exc, GisDeskError) else GisDeskError(str(exc)))
            return None
        dialog.error.connect(lambda exc: self.presenter.report(exc, context=f"Styling {layer.name}"))
        if modal:
            dialog.exec()
        return dialog

    def show_layer_properties(self, layer: Layer) -> None:
        from gis_desk.qt.dialogs.layer_properties import LayerPropertiesDialog

        LayerPropertiesDialog(layer, self).exec()

    def repoint_layer(self, layer: BrokenLayer, new_path: str | None = None, crs: Any = None) -> Layer | None:
        """Ask for (or use) a new file for a broken layer; errors are shown."""
        if new_path is None:
            start = str(Path(layer.source.path).parent) if layer.source and layer.source.path else ""
            new_path, _ = QFileDialog.getOpenFileName(self, f"Re-point '{layer.name}'", start,
                                                      "All files (*)")
            if not new_path:
                return None
        try:
            fixed = self.session.repoint_layer(layer, new_path, crs=crs)
        except GisDeskError as exc:
            self.presenter.report(exc, context=f"Re-pointing {layer.name}",
                                  retry_with_crs=lambda c: self.session.repoint_layer(layer, new_path, crs=c),
                                  repoint=lambda p: self.repoint_layer(layer, p))
            return None
        self.message_log.add("info", f"Layer '{fixed.name}' now reads {new_path}")
        return fixed

    def _offer_overviews(self, layer: RasterLayerBase) -> None:
        from gis_desk.io.overviews import needs_overviews

        try:
            if layer.dataset is None or not needs_overviews(layer.dataset):
                return
        except Exception as exc:  # noqa: BLE001 - the offer is optional
            log.warning("could not check overviews of %s: %s", layer.name, exc)
            return
        ds = layer.dataset
        answer = QMessageBox.question(
            self, "Build overviews?",
            f"'{layer.name}' is a large raster ({ds.width:,} × {ds.height:,} pixels) without overviews, so it "
            "will draw slowly when zoomed out. Build overviews now? They are written beside it as a .ovr file; "
            "the original is not changed.",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No, QMessageBox.StandardButton.Yes)
        if answer == QMessageBox.StandardButton.Yes:
            self.build_overviews(layer)

    def build_overviews(self, layer: RasterLayerBase):
        """Build a sidecar .ovr in the background; the layer is reopened and redrawn after."""
        from gis_desk.io.overviews import build_overviews

        path = layer.source.path

        def reopen(_result: Any) -> None:
            try:
                options = dict(layer.source.options)
                layer.dataset = self.session.read(path, **options)[0]
            except GisDeskError as exc:
                self.presenter.report(exc, context="Reopening after building overviews")
                return
            self.canvas.refresh(layer)

        return self.tasks.start(lambda fb: build_overviews(path, fb), f"Building overviews for {layer.name}",
                                on_done=reopen)

    # -- canvas feedback ----------------------------------------------------------------------
    def _show_identify(self, results) -> None:
        self.identify_panel.show_results(results)
        self.docks["identify"].show()
        self.docks["identify"].raise_()

    def _show_measure(self, text: str) -> None:
        self.last_measure = text
        self.status.showMessage(text)

    def _canvas_message(self, level: str, text: str) -> None:
        self.message_log.add(level if level != "error" else "critical", text)
        if level in ("warning", "error", "critical"):
            self.presenter.notify("warning" if level == "warning" else "critical", "Map", text)
        else:
            self.status.showMessage(text, 5000)

    def _tool_changed(self, name: str) -> None:
        action = self.actions_.tool_actions.get(name)
        if action is not None and not action.isChecked():
            action.setChecked(True)
        if name not in ("measure_distance", "measure_area"):
            self.status.clearMessage()

    def _zoom_to_scale(self, denominator: float) -> None:
        current = self.canvas.viewport.scale_denominator()
        if current > 0 and denominator > 0:
            self.canvas.zoom_by(current / denominator)

    # -- dialogs ------------------------------------------------------------------------------
    def choose_project_crs(self) -> None:
        from gis_desk.qt.dialogs import crs_dialog

        chosen = crs_dialog.ask_crs(self, "Project Coordinate Reference System",
                                    "Layers in other CRSs are reprojected on the fly.",
                                    current=self.session.project.crs)
        if chosen:
            try:
                self.session.project.crs = chosen
            except GisDeskError as exc:
                self.presenter.report(exc)

    def new_bookmark(self) -> None:
        from gis_desk.qt.dialogs.bookmarks import new_bookmark

        name = new_bookmark(self, self.session.project, self.canvas.viewport.extent)
        if name:
            self.message_log.add("info", f"Bookmark '{name}' added")

    def show_bookmarks(self) -> None:
        from gis_desk.qt.dialogs.bookmarks import BookmarksDialog

        BookmarksDialog(self.session.project, self.canvas.set_extent, self).exec()

    def fill_bookmarks_menu(self) -> None:
        self.bookmarks_menu.clear()
        project = self.session.project
        for name in project.bookmarks:
            self.bookmarks_menu.addAction(name, lambda n=name: self.canvas.set_extent(project.bookmark_extent(n)))
        if not project.bookmarks:
            self.bookmarks_menu.addAction("(no bookmarks)").setEnabled(False)

    def show_toolbox(self) -> None:
        self.docks["toolbox"].show()
        self.docks["toolbox"].raise_()

    def run_algorithm_dialog(self, algorithm_id: str):
        from gis_desk.qt.dialogs.algorithm_dialog import AlgorithmDialog

        try:
            dialog = AlgorithmDialog(self.session, algorithm_id, self.tasks, self.open_path,
                                     lambda: self.canvas.viewport.extent, self)
        except GisDeskError as exc:
            self.presenter.report(exc, context=f"Opening {algorithm_id}")
            return None
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.show()
        return dialog

    def show_plugin_manager(self) -> None:
        from gis_desk.qt.dialogs.plugin_manager import PluginManagerDialog

        PluginManagerDialog(self.session.plugins, self).exec()

    def show_about(self) -> None:
        from gis_desk.qt.dialogs.about import AboutDialog

        AboutDialog(self).exec()

    def show_formats(self) -> None:
        from gis_desk.qt.dialogs.about import FormatsDialog

        FormatsDialog(self.session.plugins, self).exec()

    def export_map_image(self, path: str | None = None) -> bool:
        if path is None:
            start = str(Path(self._last_folder()) / f"{self.project_name()}.png")
            path, _ = QFileDialog.getSaveFileName(self, "Export Map to Image", start,
                                                  "PNG image (*.png);;JPEG image (*.jpg)")
            if not path:
                return False
        if not self.canvas.grab_map_image().save(path):
            from gis_desk.errors import WriterError

            self.presenter.report(WriterError("Could not write the image", path=path,
                                              hint="check the folder exists and you may write to it"))
            return False
        self.message_log.add("info", f"Exported map image {path}")
        return True


def _scrolling(widget: QWidget) -> QWidget:
    """``widget`` in a scroll area, so a tall plugin panel never forces the window taller
    than a laptop screen."""
    from PySide6.QtWidgets import QFrame, QScrollArea

    area = QScrollArea()
    area.setWidget(widget)
    area.setWidgetResizable(True)
    area.setFrameShape(QFrame.Shape.NoFrame)
    return area
