"""Point clouds in the main window: open, register, compare, sections and the change report.

``install_pointcloud(window)`` adds the "Point clouds" menu (Open point cloud... Ctrl+Shift+L,
Register epochs..., Compare epochs..., Section tool, Comparison results, Export change
report PDF..., Export aligned cloud...), the Change Results and Section docks (hidden until
used), the section map tool and its overlay, and returns the ``PointClouds`` controller, also
kept as ``window.pointclouds``.  Calling it again returns the existing controller.

Every long step (reading, registration, comparison, report) runs in ``window.tasks`` with
progress and cancel; errors go to ``window.presenter``.  Registration moves a layer through its
``transform`` on the undo stack; files are never rewritten.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QDockWidget, QFileDialog

from gis_desk.errors import GisDeskError, MissingCrsError, ParameterError

READER_ID = "builtins.read_pointcloud"
TEXT_SUFFIXES = (".xyz", ".pts", ".csv", ".txt")
OPEN_FILTER = ("Point clouds (*.las *.laz *.ply *.e57 *.xyz *.pts *.csv *.txt);;LAS/LAZ/COPC (*.las *.laz);;"
               "PLY (*.ply);;E57 (*.e57);;Text XYZ/PTS/CSV (*.xyz *.pts *.csv *.txt);;All files (*)")
PANEL_WIDTH = 520
PANEL_HEIGHT = 480


class PointClouds:
    """Owns the point-cloud menu, docks, dialogs and the last comparison of one main window."""

    def __init__(self, window) -> None:
        from gis_desk.qt.pointcloud.results_panel import ResultsPanel
        from gis_desk.qt.pointcloud.section import SectionOverlay, SectionPanel, SectionTool

        self.window = window
        from gis_desk.qt.pointcloud.common import RegistrationStore

        self.registrations = RegistrationStore(window.session)  # layer id -> RegistrationResult applied
        self.comparison = None  # the last ComparisonResult
        self.comparison_paths: dict[str, Path] = {}
        self.comparison_layers: list = []
        self.register_dialog = None
        self.compare_dialog = None
        self.last_task = None
        self.opened_layers: list = []

        self.results = ResultsPanel()
        self.results.export_report_requested.connect(lambda: self.export_report())
        self.results.zone_activated.connect(self.zoom_to_zone)
        self.results.show_3d_requested.connect(lambda: self.show_in_3d())
        self.section_panel = SectionPanel()
        self.section_panel.draw_requested.connect(self.start_section)
        self.section_panel.width_changed.connect(self._width_changed)
        self.section_panel.line_chosen.connect(lambda line, label: self.set_section_line(line, label))
        self.section_title = "Section A–B"
        self.results_dock = self._dock("pointcloud_results", "Change Results", self.results,
                                       Qt.DockWidgetArea.RightDockWidgetArea)
        self.section_dock = self._dock("pointcloud_section", "Section", self.section_panel,
                                       Qt.DockWidgetArea.BottomDockWidgetArea)
        if "log" in window.docks:
            window.tabifyDockWidget(window.docks["log"], self.section_dock)
        if "identify" in window.docks:  # the whole right-hand column, not a sliver under other panels
            window.tabifyDockWidget(window.docks["identify"], self.results_dock)
        self.results_dock.hide()
        self.section_dock.hide()

        self.overlay = SectionOverlay()
        self.section_tool = SectionTool(window.canvas, self.overlay, self.set_section_line)
        window.canvas.add_overlay(self.overlay)
        window.canvas.register_tool(self.section_tool)
        from gis_desk.qt.pointcloud.pick import PickPointTool

        self.pick_tool = PickPointTool(window.canvas)
        window.canvas.register_tool(self.pick_tool)
        self.section_line = None
        self.actions = self._menu()
        # clouds added any other way (Add Data, drag and drop) get their epoch from the file name too
        window.session.project.layers.events.inserted.connect(self._layer_inserted)
        window.session.project.layers.events.inserted.connect(self._refresh_saved_lines)
        window.session.project.layers.events.removed.connect(self._refresh_saved_lines)

    def _layer_inserted(self, _index: int, layer) -> None:
        from gis_desk.core.pointcloud import PointCloudLayer
        from gis_desk.qt.pointcloud.common import epoch_label_from_name

        if not isinstance(layer, PointCloudLayer) or layer.epoch_label or not (layer.source and layer.source.path):
            return
        label = epoch_label_from_name(layer.source.path)
        if label != Path(layer.source.path).name.split(".")[0]:  # the name says an epoch or a date
            layer.restore_state({"epoch_label": label})  # quietly: no undo step, no unsaved change

    # -- construction ------------------------------------------------------------------------------
    def _dock(self, key: str, title: str, widget, area) -> QDockWidget:
        w = self.window
        dock = QDockWidget(title, w)
        dock.setObjectName(f"{key}_dock")
        dock.setWidget(widget)
        w.addDockWidget(area, dock)
        w.panels_menu.addAction(dock.toggleViewAction())
        w.docks[key] = dock
        return dock

    def _menu(self) -> dict[str, QAction]:
        w = self.window
        menu = w.menuBar().addMenu("Point c&louds")
        processing = w.menus.get("Processing")
        if processing is not None:  # beside Processing rather than after Help
            w.menuBar().insertMenu(processing.menuAction(), menu)
        w.menus["Point clouds"] = menu
        actions: dict[str, QAction] = {}
        for key, text, slot, shortcut, tip in (
                ("open", "&Open point cloud…", self.open_pointcloud, "Ctrl+Shift+L",
                 "Add a LAS/LAZ/COPC, PLY, E57 or XYZ/CSV point cloud (one survey epoch)"),
                ("register", "&Register epochs…", self.register_epochs, None,
                 "Align one epoch onto another: matrix or point pairs, then ICP on stable areas"),
                ("compare", "&Compare epochs…", self.compare_epochs, None,
                 "M3C2 and DEM of difference between two epochs, per structural element"),
                ("section", "&Section tool", self.start_section, None,
                 "Draw a line on the map to see the profile of every visible point cloud"),
                ("results", "Comparison &results", self.show_results, None, "Show the last comparison"),
                ("report", "Export change &report PDF…", self.export_report, None,
                 "A PDF report of the last comparison"),
                ("export_aligned", "Export &aligned cloud…", self.export_aligned, None,
                 "Write the current point-cloud layer as placed (its registration applied) to a new LAZ")):
            action = QAction(text, w)
            if shortcut:
                action.setShortcut(QKeySequence(shortcut))
            action.setStatusTip(tip)
            action.setToolTip(tip)
            action.triggered.connect(lambda _checked=False, s=slot: s())
            w.addAction(action)
            menu.addAction(action)
            if key in ("open", "compare", "results"):
                menu.addSeparator()
            actions[key] = action
        return actions

    # -- messages ----------------------------------------------------------------------------------
    def report(self, exc: BaseException, context: str = "") -> None:
        self.window.presenter.report(exc, context=context)

    def notify(self, level: str, title: str, text: str) -> None:
        self.window.presenter.notify(level, title, text)

    def _log(self, text: str) -> None:
        self.window.message_log.add("info", text)

    def _layer(self, layer_id: str):
        return next((l for l in self.window.session.project.layers if l.id == layer_id), None)

    # -- opening -----------------------------------------------------------------------------------
    def open_pointcloud(self, path: str | Path | None = None, crs: Any = None, columns: dict | None = None):
        """Read a point cloud in the background and add it as a layer; returns the task, or None
        when the user cancelled a question.  Without a CRS in the file the user is asked for one."""
        w = self.window
        if path is None:
            chosen, _ = QFileDialog.getOpenFileName(w, "Open point cloud", w._last_folder(), OPEN_FILTER)
            if not chosen:
                return None
            w._remember_folder(chosen)
            path = chosen
        path = Path(path)
        if path.suffix.lower() in TEXT_SUFFIXES and columns is None:
            from gis_desk.qt.pointcloud import columns_dialog

            try:
                columns = columns_dialog.ask_columns(w, path)
            except GisDeskError as exc:
                self.report(exc, f"Opening {path.name}")
                return None
            if columns is None:
                return None
        session = w.session

        def work(feedback):
            options = {"columns": columns} if columns else {}
            datasets = session.read(path, crs=crs, reader=READER_ID, feedback=feedback, **options)
            for ds in datasets:
                feedback.check_canceled()
                ds.lod_index()  # built here, not on the first redraw
            return datasets

        def failed(exc: BaseException) -> bool:
            if isinstance(exc, MissingCrsError) and crs is None:
                self._ask_crs_and_reopen(path, columns, exc)
                return True
            return False

        self.last_task = w.tasks.start(work, f"Opening {path.name}", on_done=lambda ds: self._opened(path, ds),
                                       on_error=failed)
        return self.last_task

    def _ask_crs_and_reopen(self, path: Path, columns, exc: MissingCrsError) -> None:
        from gis_desk.qt.dialogs import crs_dialog

        chosen = crs_dialog.ask_crs(self.window, "Choose the CRS of this point cloud",
                                    f"{path.name} does not say which coordinate reference system it uses. "
                                    "Choose the one it was surveyed in (British National Grid for most UK surveys).",
                                    current=self.window.session.project.crs)
        if not chosen:
            self._log(f"Not opened (no CRS chosen): {path}")
            return
        self.open_pointcloud(path, crs=chosen, columns=columns)

    def _opened(self, path: Path, datasets) -> None:
        from gis_desk.qt.pointcloud.common import epoch_label_from_name

        session = self.window.session
        layers = []
        label = epoch_label_from_name(path)
        for ds in datasets:
            layer = session.layer_for(ds)
            layer.epoch_label = label
            layers.append(layer)
        session.add_layers(layers)
        for layer in layers:
            self._log(f"Added point cloud '{layer.name}' ({layer.epoch_label}): {layer.dataset.count:,} points, "
                      f"{layer.dataset.driver}")
        if len(session.project.layers) == len(layers):  # the first data: show it
            self.window.canvas.zoom_full()
        self.opened_layers = layers

    # -- registration ------------------------------------------------------------------------------
    def register_epochs(self):
        from gis_desk.qt.pointcloud.register_dialog import RegisterDialog

        dialog = RegisterDialog(self, self.window)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.show()
        self.register_dialog = dialog
        return dialog

    def start_pick(self, on_pick) -> None:
        """Send map clicks to ``on_pick(x, y)`` (registration point pairs) until ``stop_pick``."""
        self.pick_tool.on_pick = on_pick
        self.window.canvas.set_tool(self.pick_tool.name)

    def stop_pick(self) -> None:
        self.pick_tool.on_pick = None
        if self.window.canvas.tool is self.pick_tool:
            self.window.canvas.set_tool("pan")

    def export_aligned(self, layer=None, path: str | Path | None = None):
        """Write ``layer`` (default: the current layer) with its transform applied to a new LAS/LAZ
        in the background; returns the task.  The layer's own file is never touched."""
        from gis_desk.core.pointcloud import PointCloudLayer
        from gis_desk.qt.pointcloud.common import layer_label

        w = self.window
        layer = layer if layer is not None else w.current_layer()
        if not isinstance(layer, PointCloudLayer) or layer.dataset is None:
            self.report(ParameterError("Choose a point-cloud layer to export",
                                       hint="select it in the Layers panel first"), "Export aligned cloud")
            return None
        if path is None:
            src = Path(layer.source.path) if layer.source and layer.source.path else Path.home() / layer.name
            start = str(src.with_name(f"{src.name.split('.')[0]}_aligned.laz"))
            chosen, _ = QFileDialog.getSaveFileName(w, f"Export aligned {layer_label(layer)}", start,
                                                    "LAZ (*.laz);;LAS (*.las)")
            if not chosen:
                return None
            path = chosen
        path = Path(path)
        if layer.source and layer.source.path and path.resolve() == Path(layer.source.path).resolve():
            self.report(ParameterError("The aligned cloud must go to a new file, not over the layer's own file",
                                       path=path, hint="choose another name"), "Export aligned cloud")
            return None
        cloud = layer.transformed_cloud()

        def work(feedback):
            from gis_desk.io.pointcloud import write_pointcloud

            feedback.set_progress(5)
            return write_pointcloud(path, cloud)

        self.last_task = w.tasks.start(work, f"Exporting {layer.name} aligned",
                                       on_done=lambda p: self._log(f"Wrote the aligned cloud {p}"))
        return self.last_task

    # -- comparison --------------------------------------------------------------------------------
    def compare_epochs(self):
        from gis_desk.qt.pointcloud.compare_dialog import CompareDialog

        dialog = CompareDialog(self, self.window)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.show()
        self.compare_dialog = dialog
        return dialog

    def run_comparison(self, epoch1, epoch2, settings, out_dir: Path):
        """Compare two layers in the background, write the outputs to ``out_dir`` and read the
        change layers back; returns the task."""
        from gis_desk.analysis.change import compare_epochs, write_comparison_outputs

        session = self.window.session
        crs = epoch1.crs

        def work(feedback):
            cloud1 = epoch1.transformed_cloud()  # a copy only when epoch 1 itself was moved
            cloud2 = epoch2.cloud  # raw: the comparison applies epoch 2's transform as its coarse matrix
            result = compare_epochs(cloud1, cloud2, settings, feedback=feedback.child(0, 90))
            if applied is not None:
                result.registration = applied
            feedback.info("Writing the change layers")
            paths = write_comparison_outputs(result, out_dir, crs)
            datasets = {}
            for key in ("change_laz", "dod", "zones"):
                if key in paths:
                    datasets[key] = session.read(paths[key])
            feedback.set_progress(100)
            return result, paths, datasets

        stored = self.registrations.get(epoch2.id)
        if stored is not None and settings.icp is False and settings.coarse_matrix is not None \
                and np.allclose(stored.matrix, settings.coarse_matrix):
            applied = stored  # report the registration that placed epoch 2, not "coarse matrix"
        else:
            applied = None
        names = (epoch1.name, epoch2.name)
        self.last_task = self.window.tasks.start(
            work, f"Comparing {names[1]} with {names[0]}",
            on_done=lambda out: self._compared(*out))
        return self.last_task

    def _compared(self, result, paths: dict[str, Path], datasets: dict[str, list]) -> None:
        session = self.window.session
        e1, e2 = result.settings.epoch_labels
        names = {"change_laz": f"M3C2 change {e2} − {e1}", "dod": f"DEM of difference {e2} − {e1}",
                 "zones": "Element change"}
        layers = []
        for key in ("dod", "change_laz", "zones"):  # the change cloud above the DoD, elements on top
            for ds in datasets.get(key, []):
                layer = session.layer_for(ds, name=names[key])
                if key == "zones":
                    layer.style = _zones_style(layer)
                layers.append(layer)
        session.add_layers(layers)
        self.comparison, self.comparison_paths, self.comparison_layers = result, paths, layers
        self.results.show_result(result, paths)
        self.show_results()
        flagged = result.summary()["flagged_zones"]
        self._log(f"Comparison finished: {len(result.m3c2.distance):,} core points; outputs in "
                  f"{Path(paths['json']).parent}" + (f"; flagged: {', '.join(flagged)}" if flagged else ""))

    def show_results(self) -> None:
        dock = self.results_dock
        dock.show()
        dock.raise_()
        if dock.isFloating():
            return
        if dock.width() < PANEL_WIDTH:
            self.window.resizeDocks([dock], [PANEL_WIDTH], Qt.Orientation.Horizontal)
        tall = max(PANEL_HEIGHT, self.window.height() // 2)
        if dock.height() < tall:  # room for the element table and the histogram
            self.window.resizeDocks([dock], [tall], Qt.Orientation.Vertical)

    def show_in_3d(self) -> bool:
        """Show the change cloud in the 3D View (installed on first use); False without it."""
        from gis_desk.core.pointcloud import PointCloudLayer

        try:
            from gis_desk.qt.view3d import install_view3d
        except ImportError:
            self.notify("warning", "3D view not available", "The 3D view is not installed in this build.")
            return False
        install_view3d(self.window)
        dock = self.window.docks.get("view3d")
        if dock is None:
            return False
        session = self.window.session
        change = [l for l in self.comparison_layers if isinstance(l, PointCloudLayer) and l in session.project.layers]
        for layer in change:
            if not layer.visible:
                session.set_layer_property(layer, "visible", True)
        if change:  # the epochs' own points would hide the coloured core points they sit among
            hidden = [l for l in session.project.layers if isinstance(l, PointCloudLayer) and l.visible
                      and l not in change]
            for layer in hidden:
                session.set_layer_property(layer, "visible", False)
            if hidden:
                self._log("Hid " + ", ".join(f"'{l.name}'" for l in hidden) + " so the change cloud shows in 3D "
                          "(tick them in Layers, or Edit > Undo, to show them again)")
        dock.show()
        dock.raise_()
        return True

    def zoom_to_zone(self, name: str) -> None:
        result = self.comparison
        if result is None or result.zones is None:
            return
        zones = result.zones
        rows = zones[zones[result.settings.zone_name_field].astype(str) == name]
        if len(rows):
            from gis_desk.core.crs import transform_bounds

            bounds = rows.total_bounds
            try:
                bounds = transform_bounds(zones.crs, self.window.session.project.crs, bounds)
                pad = max(bounds[2] - bounds[0], bounds[3] - bounds[1]) * 0.3 + 1.0
                self.window.canvas.set_extent((bounds[0] - pad, bounds[1] - pad, bounds[2] + pad, bounds[3] + pad))
            except (GisDeskError, ValueError) as exc:
                self.report(exc if isinstance(exc, GisDeskError) else GisDeskError(str(exc)), "Zoom to element")

    # -- report ------------------------------------------------------------------------------------
    def export_report(self, path: str | Path | None = None):
        """Build the change report PDF of the last comparison in the background; returns the task."""
        w = self.window
        if self.comparison is None:
            self.notify("info", "No comparison yet", "Run Point clouds > Compare epochs… first; the report "
                                                     "describes the last comparison.")
            return None
        try:
            from gis_desk.report.change_report import build_change_report
        except ImportError:
            self.notify("warning", "Report not available",
                        "The change report module is not installed in this build. The comparison's files "
                        f"(change LAZ, DoD GeoTIFF, zones, histogram, comparison.json) are in "
                        f"{Path(self.comparison_paths.get('json', '.')).parent}.")
            return None
        result = self.comparison
        if path is None:
            start = Path(self.comparison_paths.get("json", Path.home() / "x")).parent / "change_report.pdf"
            chosen, _ = QFileDialog.getSaveFileName(w, "Export change report", str(start), "PDF (*.pdf)")
            if not chosen:
                return None
            path = chosen
        path = Path(path)
        labels = tuple(result.settings.epoch_labels)
        title = f"Structural change: {result.settings.site}" if result.settings.site else None

        import inspect

        accepted = inspect.signature(build_change_report).parameters
        extra = {k: v for k, v in (("title", title), ("epoch_names", labels)) if k in accepted and v is not None}

        def work(feedback):
            feedback.set_progress(5)
            if "feedback" in accepted:
                extra["feedback"] = feedback
            # the report draws its own site plan and 3D view, with captions that describe them
            return build_change_report(result, path, **extra)

        self.last_task = w.tasks.start(work, f"Writing the change report {path.name}",
                                       on_done=lambda p: self._log(f"Wrote the change report {p}"))
        return self.last_task

    # -- sections ----------------------------------------------------------------------------------
    def _refresh_saved_lines(self, *_: Any) -> None:
        """Offer every line of the project's line layers (in the project CRS) in the Section dock."""
        from gis_desk.qt.pointcloud.common import is_line_layer, lines_of

        entries = []
        project = self.window.session.project
        for layer in reversed(list(project.layers)):
            if not is_line_layer(layer):
                continue
            try:
                lines, labels = lines_of(layer, project.crs)
            except GisDeskError:
                continue
            entries += [(f"{layer.name}: {label}", line) for line, label in zip(lines, labels)]
        try:
            self.section_panel.set_saved_lines(entries)
        except RuntimeError:  # the window is closing
            pass

    def start_section(self) -> None:
        self.overlay.width = self.section_panel.width.value()
        self.window.canvas.set_tool(self.section_tool.name)
        self.window.status.showMessage("Section: click the start, then the end of the line (Esc cancels)", 8000)
        self.section_dock.show()
        self.section_dock.raise_()

    def set_section_line(self, line, label: str | None = None) -> list:
        """Cut every visible point-cloud layer along ``line`` (project CRS) and plot it."""
        from gis_desk.core.pointcloud import PointCloudLayer
        from gis_desk.qt.pointcloud.section import profiles_for

        if line is not self.section_line:
            self.section_title = label or "Section A–B"
        self.section_line = line
        if line is None:
            return []
        coords = [tuple(c[:2]) for c in line.coords]
        if self.overlay.vertices != coords[:2] or len(coords) > 2:  # given, not drawn: show it too
            self.overlay.vertices = coords
            self.overlay.floating = None
            self.section_tool.finished = True
        width = self.section_panel.width.value()
        self.overlay.width = width
        self.window.canvas.update()
        layers = [l for l in self.window.session.project.layers
                  if isinstance(l, PointCloudLayer) and l.visible and l.dataset is not None
                  and "m3c2_distance" not in l.dataset.fields]
        try:
            profiles = profiles_for(layers, line, width, self.window.session.project.crs)
        except GisDeskError as exc:
            self.report(exc, "Section")
            return []
        self.section_panel.set_profiles(profiles, self.section_title)
        self.section_dock.show()
        self.section_dock.raise_()
        return profiles

    def _width_changed(self, width: float) -> None:
        self.overlay.width = width
        if self.section_line is not None:
            self.set_section_line(self.section_line)


def _zones_style(layer):
    """Flagged elements red, the others green, from the 'status' field."""
    from gis_desk.core.style import CategorisedStyle, Category, Symbol

    frame = layer.dataset.frame if layer.dataset is not None else None
    if frame is None or "status" not in frame.columns:
        return layer.style
    colours = {"exceeds": ("#e3413380", "#b00020ff"), "within": ("#4caf5050", "#2e7d32ff"),
               "no data": ("#9e9e9e40", "#616161ff")}
    categories = []
    for value in sorted(frame["status"].dropna().astype(str).unique()):
        fill, stroke = colours.get(value, ("#ffb30050", "#a07000ff"))
        categories.append(Category(value, Symbol(fill=fill, stroke=stroke, stroke_width=1.6), label=value))
    return CategorisedStyle(field="status", categories=categories)


def install_pointcloud(window) -> PointClouds:
    """Add the Point clouds menu, docks and section tool to ``window`` (once)."""
    existing = getattr(window, "pointclouds", None)
    if isinstance(existing, PointClouds):
        return existing
    window.pointclouds = PointClouds(window)
    return window.pointclouds
