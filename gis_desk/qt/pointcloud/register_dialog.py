"""Register epochs: place a moving point-cloud layer onto a reference one.

Coarse alignment by a typed or pasted 4x4/3x4 matrix (CloudCompare ``.txt`` style) or by three
or more point pairs, then optional point-to-plane ICP restricted to stable-area polygons.  The
fit runs in the window's task manager; the dialog shows RMS, overlap, correspondences, the
registration error and the matrix.  *Apply* sets the moving layer's ``transform`` through the
undo stack (the file is never rewritten); *Reset* puts it back where its file says;
*Export aligned cloud...* writes a new LAZ with the transform applied.

The matrix found maps the moving layer's *file* coordinates onto the reference layer as shown,
so applying it replaces (never compounds) an earlier registration.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (QComboBox, QDialog, QDialogButtonBox, QDoubleSpinBox, QFileDialog, QFormLayout,
                               QGroupBox, QHBoxLayout, QHeaderView, QLabel, QPlainTextEdit, QPushButton,
                               QSizePolicy, QSpinBox, QStackedWidget, QTableWidget, QTableWidgetItem, QVBoxLayout,
                               QWidget)

from gis_desk.errors import GisDeskError, ParameterError
from gis_desk.qt.pointcloud.common import (LayerChooser, SetTransform, format_matrix, is_pointcloud,
                                           is_polygon_layer, polygons_of)

COARSE_MODES = ("none", "matrix", "pairs")
PAIR_COLUMNS = ("Moving X", "Moving Y", "Moving Z", "Reference X", "Reference Y", "Reference Z")


def _spin(value: float, lo: float, hi: float, step: float, decimals: int = 3, suffix: str = " m") -> QDoubleSpinBox:
    box = QDoubleSpinBox()
    box.setRange(lo, hi)
    box.setDecimals(decimals)
    box.setSingleStep(step)
    box.setValue(value)
    box.setSuffix(suffix)
    return box


def describe_registration(result, centre=None) -> str:
    """The figures an engineer checks before accepting a registration.  ``centre`` (x, y, z):
    where to report the shift (the matrix's own translation is about the CRS origin, hundreds
    of metres for a small rotation in British National Grid)."""
    def mm(v: float) -> str:
        return "n/a" if v is None or not math.isfinite(v) else f"{v * 1000:.1f} mm"

    lines = [f"Method: {result.method}",
             f"RMS: {mm(result.rms)}",
             "Overlap: " + ("n/a" if not math.isfinite(result.overlap) else f"{result.overlap:.0%}"),
             f"Correspondences: {result.n_correspondences:,}",
             f"Registration error: {mm(result.registration_error)}",
             f"Iterations: {result.iterations}",
             _shift_text(result.matrix, centre),
             f"Rotation: {result.rotation_angle * 1000:.3f} mrad",
             "", "Matrix (moving file coordinates → reference):", format_matrix(result.matrix)]
    if result.notes:
        lines += ["", "Notes:"] + [f"• {n}" for n in result.notes]
    return "\n".join(lines)


def _shift_text(matrix: np.ndarray, centre) -> str:
    if centre is None:
        return "Translation: " + ", ".join(f"{v:+.3f}" for v in np.asarray(matrix)[:3, 3]) + " m"
    c = np.asarray(centre, dtype=float)
    moved = np.asarray(matrix)[:3, :3] @ c + np.asarray(matrix)[:3, 3]
    d = (moved - c) * 1000
    return f"Shift at the cloud centre: dE {d[0]:+.1f}, dN {d[1]:+.1f}, dZ {d[2]:+.1f} mm"


class RegisterDialog(QDialog):
    """Non-modal; ``result`` holds the last fit, ``task`` the last background task."""

    applied = Signal(object, object)  # layer, RegistrationResult

    def __init__(self, controller, parent=None) -> None:
        super().__init__(parent)
        self.controller = controller
        window = controller.window
        self.session, self.tasks = window.session, window.tasks
        self.setWindowTitle("Register Epochs")
        self.resize(640, 720)
        self.result = None
        self.result_layer_id: str | None = None
        self.task = None
        project = self.session.project

        layers = QFormLayout()
        self.moving = LayerChooser(project, is_pointcloud)
        self.reference = LayerChooser(project, is_pointcloud)
        self._default_layers()
        layers.addRow("Moving layer (epoch to move):", self.moving)
        layers.addRow("Reference layer (stays put):", self.reference)

        coarse = QGroupBox("Coarse alignment")
        cl = QVBoxLayout(coarse)
        self.coarse_mode = QComboBox()
        self.coarse_mode.addItem("None: start from the moving layer's current position", "none")
        self.coarse_mode.addItem("Matrix: typed or pasted 4×4 / 3×4 (CloudCompare .txt)", "matrix")
        self.coarse_mode.addItem("Point pairs: 3 or more matching points", "pairs")
        self.pages = QStackedWidget()
        self.pages.addWidget(QLabel("ICP starts from where the moving layer is now."))
        self.pages.addWidget(self._matrix_page())
        self.pages.addWidget(self._pairs_page())
        self.coarse_mode.currentIndexChanged.connect(self._show_page)
        self._show_page(0)
        cl.addWidget(self.coarse_mode)
        cl.addWidget(self.pages)

        self.icp_box = QGroupBox("Fine registration: ICP on stable areas")
        self.icp_box.setCheckable(True)
        self.icp_box.setChecked(True)
        fl = QFormLayout(self.icp_box)
        self.stable = LayerChooser(project, is_polygon_layer, optional=True,
                                   none_text="(none: the whole overlap; not advised for a moving structure)")
        load = QPushButton("Load…")
        load.setToolTip("Add a polygon file (GeoPackage, shapefile, GeoJSON) of stable areas to the project")
        load.clicked.connect(self.load_stable_areas)
        row = QHBoxLayout()
        row.addWidget(self.stable, 1)
        row.addWidget(load)
        fl.addRow("Stable areas:", row)
        self.max_distance = _spin(0.3, 0.001, 100.0, 0.05)
        self.max_distance.setToolTip("Pairs of points further apart than this are ignored")
        self.voxel = _spin(0.05, 0.0, 10.0, 0.01)
        self.voxel.setSpecialValueText("off")
        self.voxel.setToolTip("Thin both clouds to one point per voxel first (faster on dense scans)")
        self.iterations = QSpinBox()
        self.iterations.setRange(1, 500)
        self.iterations.setValue(50)
        fl.addRow("Search distance:", self.max_distance)
        fl.addRow("Voxel thinning:", self.voxel)
        fl.addRow("Iterations (max):", self.iterations)
        self._pick_stable_default()

        self.run_button = QPushButton("Run registration")
        self.run_button.setDefault(True)
        self.run_button.clicked.connect(self.run)
        self.report = QPlainTextEdit()
        self.report.setReadOnly(True)
        self.report.setPlaceholderText("Results appear here: RMS, overlap, correspondences, registration error, "
                                       "matrix.")
        font = self.report.font()
        font.setFamily("monospace")
        self.report.setFont(font)

        buttons = QDialogButtonBox()
        self.apply_button = buttons.addButton("Apply", QDialogButtonBox.ButtonRole.ApplyRole)
        self.apply_button.setToolTip("Move the layer (undoable); the file is not changed")
        self.reset_button = buttons.addButton("Reset position", QDialogButtonBox.ButtonRole.ResetRole)
        self.reset_button.setToolTip("Put the moving layer back where its file says (undoable)")
        self.export_button = buttons.addButton("Export aligned cloud…", QDialogButtonBox.ButtonRole.ActionRole)
        self.copy_button = buttons.addButton("Copy matrix", QDialogButtonBox.ButtonRole.ActionRole)
        close = buttons.addButton(QDialogButtonBox.StandardButton.Close)
        close.clicked.connect(self.close)
        self.apply_button.clicked.connect(self.apply)
        self.reset_button.clicked.connect(self.reset)
        self.export_button.clicked.connect(lambda: self.export_aligned())
        self.copy_button.clicked.connect(self.copy_matrix)
        self.apply_button.setEnabled(False)
        self.copy_button.setEnabled(False)

        window.canvas.tool_changed.connect(self._tool_changed)
        layout = QVBoxLayout(self)
        layout.addLayout(layers)
        layout.addWidget(coarse)
        layout.addWidget(self.icp_box)
        layout.addWidget(self.run_button)
        layout.addWidget(self.report, 1)
        self.status = QLabel()
        self.status.setWordWrap(True)
        layout.addWidget(self.status)
        layout.addWidget(buttons)

    # -- construction ----------------------------------------------------------------------------
    def _matrix_page(self) -> QWidget:
        page = QWidget()
        lay = QVBoxLayout(page)
        lay.setContentsMargins(0, 0, 0, 0)
        self.matrix_text = QPlainTextEdit()
        self.matrix_text.setPlaceholderText("1 0 0 0\n0 1 0 0\n0 0 1 0\n0 0 0 1\n"
                                            "(16 or 12 numbers; commas, spaces or new lines)")
        self.matrix_text.setMaximumHeight(110)
        load = QPushButton("Load matrix file…")
        load.clicked.connect(lambda: self.load_matrix())
        lay.addWidget(self.matrix_text)
        lay.addWidget(load, 0, Qt.AlignmentFlag.AlignLeft)
        return page

    def _pairs_page(self) -> QWidget:
        page = QWidget()
        lay = QVBoxLayout(page)
        lay.setContentsMargins(0, 0, 0, 0)
        self.pairs_table = QTableWidget(3, len(PAIR_COLUMNS))
        self.pairs_table.setHorizontalHeaderLabels(list(PAIR_COLUMNS))
        self.pairs_table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.pairs_table.setMinimumHeight(140)
        row = QHBoxLayout()
        for text, slot in (("Add pair", self.add_pair_row), ("Remove pair", self.remove_pair_row),
                           ("Paste rows", self.paste_pairs)):
            button = QPushButton(text)
            button.clicked.connect(lambda _c=False, s=slot: s())
            row.addWidget(button)
        self.pick_button = QPushButton("Pick on map")
        self.pick_button.setCheckable(True)
        self.pick_button.setToolTip("Click a point of the moving layer, then the same point of the reference, "
                                    "and so on; the highest point under the cursor is taken")
        self.pick_button.toggled.connect(self.set_picking)
        row.addWidget(self.pick_button)
        row.addStretch(1)
        self._pick_side: str | None = None
        lay.addWidget(QLabel("Each row: a point in the moving layer's file and the same point in the reference."))
        lay.addWidget(self.pairs_table)
        lay.addLayout(row)
        return page

    def _show_page(self, index: int) -> None:
        # a stacked widget is as tall as its tallest page: let hidden pages take no room
        for i in range(self.pages.count()):
            policy = QSizePolicy.Policy.Preferred if i == index else QSizePolicy.Policy.Ignored
            self.pages.widget(i).setSizePolicy(policy, policy)
        self.pages.setCurrentIndex(index)
        self.pages.adjustSize()

    def _default_layers(self) -> None:
        """Reference = the earliest epoch, moving = the next (by epoch label, else layer order)."""
        layers = [l for l in reversed(list(self.session.project.layers)) if is_pointcloud(l)]
        if len(layers) < 2:
            return
        labelled = sorted(layers, key=lambda l: (l.epoch_label or "~", l.name))
        self.reference.set_layer(labelled[0])
        self.moving.set_layer(labelled[1])

    def _pick_stable_default(self) -> None:
        for i in range(self.stable.count()):
            if "stable" in self.stable.itemText(i).lower():
                self.stable.setCurrentIndex(i)
                return

    # -- coarse inputs ---------------------------------------------------------------------------
    def set_coarse_mode(self, mode: str) -> None:
        self.coarse_mode.setCurrentIndex(COARSE_MODES.index(mode))

    def load_matrix(self, path: str | None = None) -> None:
        if path is None:
            path, _ = QFileDialog.getOpenFileName(self, "Load transformation matrix", "",
                                                  "Matrix files (*.txt *.mat *.csv);;All files (*)")
            if not path:
                return
        try:
            text = Path(path).read_text(encoding="utf-8", errors="replace")
        except OSError as exc:
            self.controller.report(GisDeskError(f"Cannot read the matrix file: {exc.strerror or exc}", path=path))
            return
        self.matrix_text.setPlainText(text)
        self.set_coarse_mode("matrix")

    def add_pair_row(self) -> None:
        self.pairs_table.insertRow(self.pairs_table.rowCount())

    def remove_pair_row(self) -> None:
        row = self.pairs_table.currentRow()
        self.pairs_table.removeRow(row if row >= 0 else self.pairs_table.rowCount() - 1)

    def set_pairs(self, moving: np.ndarray, reference: np.ndarray) -> None:
        moving, reference = np.asarray(moving, float), np.asarray(reference, float)
        self.pairs_table.setRowCount(len(moving))
        for r, values in enumerate(np.hstack([moving, reference])):
            for c, v in enumerate(values):
                self.pairs_table.setItem(r, c, QTableWidgetItem(f"{v:.4f}"))
        self.set_coarse_mode("pairs")

    def paste_pairs(self, text: str | None = None) -> None:
        """Rows of six numbers (moving xyz, reference xyz) from the clipboard or ``text``."""
        text = QGuiApplication.clipboard().text() if text is None else text
        rows = []
        for line in text.splitlines():
            cells = [c for c in line.replace(",", " ").replace(";", " ").replace("\t", " ").split() if c]
            try:
                values = [float(c) for c in cells]
            except ValueError:
                continue  # a header line
            if len(values) == 6:
                rows.append(values)
        if not rows:
            self.status.setText("Nothing to paste: each row needs six numbers (moving x y z, reference x y z).")
            return
        a = np.asarray(rows)
        self.set_pairs(a[:, :3], a[:, 3:])

    # -- picking pairs on the map -----------------------------------------------------------------
    def set_picking(self, on: bool) -> None:
        if bool(on) != self.pick_button.isChecked():
            self.pick_button.setChecked(on)  # re-enters through toggled
            return
        if on:
            self._pick_side = "moving"
            self.controller.start_pick(self.pick_at)
            self._say_next_pick()
        else:
            self._pick_side = None
            self.controller.stop_pick()
            self.status.setText("")

    def _tool_changed(self, name: str) -> None:
        from gis_desk.qt.pointcloud.pick import TOOL_NAME

        if name != TOOL_NAME and self._pick_side is not None:  # the user took another map tool
            self._pick_side = None
            self.pick_button.blockSignals(True)
            self.pick_button.setChecked(False)
            self.pick_button.blockSignals(False)

    def _say_next_pick(self) -> None:
        layer = self.moving.layer() if self._pick_side == "moving" else self.reference.layer()
        name = layer.name if layer is not None else "?"
        self.status.setText(f"Click a point of the {self._pick_side} layer ('{name}') on the map.")

    def pick_at(self, x: float, y: float) -> bool:
        """Take the highest point of the layer being picked near (x, y) (project CRS) into the
        pairs table; False when there is none near."""
        from gis_desk.qt.pointcloud.pick import PICK_RADIUS_PX, top_point_near

        side = self._pick_side or "moving"
        layer = self.moving.layer() if side == "moving" else self.reference.layer()
        if layer is None:
            return False
        canvas = self.controller.window.canvas
        radius = PICK_RADIUS_PX * canvas.viewport.pixel_size
        index = top_point_near(layer, x, y, radius, self.session.project.crs)
        if index is None:
            self.status.setText(f"No point of '{layer.name}' there: click on the cloud.")
            return False
        # moving: file coordinates (the fit replaces its transform); reference: as placed
        xyz = layer.cloud.xyz[index] if side == "moving" else layer.points([index])[0]
        row = self._pick_row(side)
        first = 0 if side == "moving" else 3
        for c in range(3):
            self.pairs_table.setItem(row, first + c, QTableWidgetItem(f"{xyz[c]:.4f}"))
        self.set_coarse_mode("pairs")
        self._pick_side = "reference" if side == "moving" else "moving"
        self._say_next_pick()
        return True

    def _pick_row(self, side: str) -> int:
        first = 0 if side == "moving" else 3
        for r in range(self.pairs_table.rowCount()):
            cells = [self.pairs_table.item(r, first + c) for c in range(3)]
            if all(c is None or not c.text().strip() for c in cells):
                return r
        self.add_pair_row()
        return self.pairs_table.rowCount() - 1

    def closeEvent(self, event) -> None:
        if self._pick_side is not None:
            self.set_picking(False)
        super().closeEvent(event)

    def pairs(self) -> tuple[np.ndarray, np.ndarray]:
        rows = []
        for r in range(self.pairs_table.rowCount()):
            cells = [self.pairs_table.item(r, c) for c in range(len(PAIR_COLUMNS))]
            texts = [c.text().strip() if c is not None else "" for c in cells]
            if not any(texts):
                continue
            try:
                rows.append([float(t.replace(",", "")) for t in texts])
            except ValueError:
                raise ParameterError(f"Point pair {r + 1} has a cell that is not a number",
                                     hint="give six coordinates per pair") from None
        if len(rows) < 3:
            raise ParameterError(f"A rigid transform needs at least 3 point pairs; {len(rows)} given",
                                 hint="pick 3 or more well-spread points visible in both epochs")
        a = np.asarray(rows)
        return a[:, :3], a[:, 3:]

    def coarse(self):
        """('none', None) | ('matrix', 4x4) | ('pairs', (moving, reference)); ParameterError if bad."""
        from gis_desk.analysis.registration import parse_transform

        mode = self.coarse_mode.currentData()
        if mode == "matrix":
            text = self.matrix_text.toPlainText().strip()
            if not text:
                raise ParameterError("No matrix given", hint="type or paste 16 (or 12) numbers, or load a file")
            return mode, parse_transform(text)
        if mode == "pairs":
            return mode, self.pairs()
        return "none", None

    # -- stable areas ----------------------------------------------------------------------------
    def load_stable_areas(self, path: str | None = None) -> None:
        if path is None:
            path, _ = QFileDialog.getOpenFileName(self, "Load stable areas", "",
                                                  "Vector files (*.gpkg *.shp *.geojson *.json *.kml);;All files (*)")
            if not path:
                return
        layers = self.controller.window.open_path(path)
        polygons = [l for l in layers or [] if is_polygon_layer(l)]
        if polygons:
            self.stable.set_layer(polygons[0])
        elif layers:
            self.status.setText(f"{Path(path).name} holds no polygons: stable areas must be polygons.")

    # -- running ---------------------------------------------------------------------------------
    def run(self):
        """Start the fit in the background; returns the task (None when inputs are invalid)."""
        from gis_desk.analysis import registration as reg

        try:
            moving, reference = self.moving.layer(), self.reference.layer()
            if moving is None or reference is None:
                raise ParameterError("Choose a moving and a reference point-cloud layer",
                                     hint="open both epochs first (Point clouds > Open point cloud...)")
            if moving is reference:
                raise ParameterError("The moving and the reference layer are the same layer")
            reg.check_same_crs(moving.crs, reference.crs, moving.name, reference.name)
            mode, coarse = self.coarse()
            use_icp = self.icp_box.isChecked()
            stable_layer = self.stable.layer() if use_icp else None
            stable = polygons_of(stable_layer, reference.crs) if stable_layer is not None else None
            if mode == "none" and not use_icp:
                raise ParameterError("Nothing to do: choose a coarse alignment, ICP, or both")
        except GisDeskError as exc:
            self.controller.report(exc, "Registration")
            return None
        source = moving.cloud.xyz  # file coordinates: the result replaces the current transform
        target = reference.points()
        init = moving.transform if mode == "none" else None
        max_distance, voxel = self.max_distance.value(), (self.voxel.value() or None)
        iterations = self.iterations.value()

        def work(feedback):
            result = None
            start = init
            if mode == "matrix":
                start = coarse
                result = reg.RegistrationResult(matrix=coarse, rms=math.nan, overlap=math.nan, n_correspondences=0,
                                                registration_error=0.0, method="coarse matrix", iterations=0,
                                                notes=["matrix given by the user"])
            elif mode == "pairs":
                result = reg.pairs_result(coarse[0], coarse[1])
                start = result.matrix
            if use_icp:
                fine = reg.icp(source, target, init=start, stable_areas=stable, max_distance=max_distance,
                               voxel_size=voxel, max_iterations=iterations, feedback=feedback)
                if result is not None:
                    fine.notes.insert(0, f"coarse alignment: {result.method}")
                result = fine
            return result

        self.run_button.setEnabled(False)
        self.status.setText("Registering…")
        self.task = self.tasks.start(work, f"Registering {moving.name} onto {reference.name}",
                                     on_done=lambda r, lid=moving.id: self._done(r, lid))
        self.task.signals.done.connect(lambda: self.run_button.setEnabled(True))
        self.task.signals.failed.connect(lambda *_: self.status.setText("Registration failed (see the message)."))
        return self.task

    def _done(self, result, layer_id: str) -> None:
        self.result, self.result_layer_id = result, layer_id
        layer = self._result_layer()
        centre = None
        if layer is not None and layer.dataset is not None:
            xmin, ymin, xmax, ymax = layer.dataset.bounds
            zmin, zmax = layer.dataset.z_range
            centre = ((xmin + xmax) / 2, (ymin + ymax) / 2, (zmin + zmax) / 2)
        self.report.setPlainText(describe_registration(result, centre))
        self.apply_button.setEnabled(True)
        self.copy_button.setEnabled(True)
        self.status.setText("Check the figures, then Apply to move the layer.")

    # -- results ---------------------------------------------------------------------------------
    def _result_layer(self):
        return next((l for l in self.session.project.layers if l.id == self.result_layer_id), None)

    def apply(self) -> bool:
        layer = self._result_layer()
        if self.result is None or layer is None:
            return False
        self.session.undo_stack.push(SetTransform(layer, self.result.matrix, f"Register {layer.name}"))
        self.controller.registrations[layer.id] = self.result
        self.controller.window.canvas.refresh(layer)
        self.status.setText(f"'{layer.name}' moved (Edit > Undo puts it back). The file is unchanged.")
        self.applied.emit(layer, self.result)
        return True

    def reset(self) -> None:
        layer = self.moving.layer()
        if layer is None or not layer.has_transform:
            return
        self.session.undo_stack.push(SetTransform(layer, np.eye(4), f"Reset position of {layer.name}"))
        self.controller.registrations.pop(layer.id, None)
        self.controller.window.canvas.refresh(layer)
        self.status.setText(f"'{layer.name}' is back where its file places it.")

    def copy_matrix(self) -> None:
        if self.result is not None:
            QGuiApplication.clipboard().setText(format_matrix(self.result.matrix))

    def export_aligned(self, path: str | None = None):
        return self.controller.export_aligned(self.moving.layer(), path)
