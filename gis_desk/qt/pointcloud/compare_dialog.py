"""Compare epochs: the form behind ``gis_desk.analysis.change.compare_epochs``.

Epoch 1 and epoch 2 layers; epoch 2's alignment (its current ``transform`` from Register
epochs, optionally refined by ICP on stable areas); M3C2 parameters (radii, depth, median,
minimum points, registration error pre-filled from the last registration, CloudCompare INI
import); core points; DoD cell; zones layer, name field and threshold; section lines; and an
output folder.  Running it writes the comparison's files there (``write_comparison_outputs``)
and hands the result to the controller, which adds the change layers and opens the results.
"""

from __future__ import annotations

import math
import re
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (QCheckBox, QComboBox, QDialog, QDialogButtonBox, QFileDialog,
                               QFormLayout, QGroupBox, QHBoxLayout, QLabel, QLineEdit, QPushButton, QScrollArea,
                               QSpinBox, QVBoxLayout, QWidget)

from gis_desk.errors import GisDeskError, ParameterError
from gis_desk.qt.pointcloud.common import (LayerChooser, frame_in_crs, is_line_layer, is_pointcloud,
                                           is_polygon_layer, lines_of, polygons_of)
from gis_desk.qt.pointcloud.register_dialog import _spin

REG_ERROR_MODES = ("auto", "registration", "given")


def _safe(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", text).strip("_") or "epoch"


class CompareDialog(QDialog):
    def __init__(self, controller, parent=None) -> None:
        super().__init__(parent)
        self.controller = controller
        window = controller.window
        self.session, self.tasks = window.session, window.tasks
        project = self.session.project
        self.setWindowTitle("Compare Epochs")
        self.resize(620, 820)
        self.task = None

        inner = QWidget()
        layout = QVBoxLayout(inner)

        epochs = QGroupBox("Epochs")
        ef = QFormLayout(epochs)
        self.epoch1 = LayerChooser(project, is_pointcloud)
        self.epoch2 = LayerChooser(project, is_pointcloud)
        self.alignment = QLabel()
        self.alignment.setWordWrap(True)
        ef.addRow("Epoch 1 (reference):", self.epoch1)
        ef.addRow("Epoch 2 (compared):", self.epoch2)
        ef.addRow(self.alignment)
        layout.addWidget(epochs)

        self.icp_box = QGroupBox("Refine epoch 2's alignment with ICP on stable areas")
        self.icp_box.setCheckable(True)
        rf = QFormLayout(self.icp_box)
        self.stable = LayerChooser(project, is_polygon_layer, optional=True,
                                   none_text="(none: the whole overlap)")
        self.icp_distance = _spin(0.3, 0.001, 100.0, 0.05)
        rf.addRow("Stable areas:", self.stable)
        rf.addRow("Search distance:", self.icp_distance)
        layout.addWidget(self.icp_box)

        m3c2 = QGroupBox("M3C2")
        mf = QFormLayout(m3c2)
        self.normal_radius = _spin(0.5, 0.001, 100.0, 0.05)
        self.cylinder_radius = _spin(0.5, 0.001, 100.0, 0.05)
        self.max_depth = _spin(3.0, 0.001, 1000.0, 0.1)
        self.use_median = QCheckBox("Median and interquartile range (robust to outliers)")
        self.min_points = QSpinBox()
        self.min_points.setRange(1, 10000)
        self.min_points.setValue(5)
        self.orientation_mode = QComboBox()
        self.orientation_mode.addItem("Up (+z)", "up")
        self.orientation_mode.addItem("Towards a point (x, y, z)", "towards")
        self.orientation_mode.addItem("Along a direction (x, y, z)", "direction")
        self.orientation_xyz = QLineEdit()
        self.orientation_xyz.setPlaceholderText("x, y, z")
        self.orientation_xyz.setToolTip("Walls and piers: a point in front of the faces (e.g. the scanner "
                                        "position), so losses read negative on every face")
        self.orientation_mode.currentIndexChanged.connect(
            lambda _i: self.orientation_xyz.setEnabled(self.orientation_mode.currentData() != "up"))
        self.orientation_xyz.setEnabled(False)
        self.orientation_row = QWidget()
        ori_row = QHBoxLayout(self.orientation_row)
        ori_row.setContentsMargins(0, 0, 0, 0)
        ori_row.addWidget(self.orientation_mode)
        ori_row.addWidget(self.orientation_xyz, 1)
        self.reg_mode = QComboBox()
        self.reg_mode.addItem("Auto: measured by M3C2 on the stable areas", "auto")
        self.reg_mode.addItem("From the registration", "registration")
        self.reg_mode.addItem("Given value", "given")
        self.reg_error = _spin(0.0, 0.0, 1000.0, 1.0, decimals=1, suffix=" mm")
        reg_row = QHBoxLayout()
        reg_row.addWidget(self.reg_mode, 1)
        reg_row.addWidget(self.reg_error)
        import_cc = QPushButton("Import CloudCompare parameters…")
        import_cc.clicked.connect(lambda: self.import_cloudcompare())
        for label, widget in (("Normal radius:", self.normal_radius), ("Cylinder radius:", self.cylinder_radius),
                              ("Max depth (half-length):", self.max_depth), ("", self.use_median),
                              ("Minimum points:", self.min_points), ("Normals orientation:", self.orientation_row)):
            mf.addRow(label, widget)
        mf.addRow("Registration error:", reg_row)
        mf.addRow(import_cc)
        layout.addWidget(m3c2)

        core = QGroupBox("Core points and DEM of difference")
        cf = QFormLayout(core)
        self.core_mode = QComboBox()
        self.core_mode.addItem("Every n-th point of epoch 1", "every_nth")
        self.core_mode.addItem("Regular grid (plan)", "grid")
        self.core_n = QSpinBox()
        self.core_n.setRange(1, 100000)
        self.core_n.setValue(10)
        self.core_spacing = _spin(0.25, 0.001, 100.0, 0.05)
        self.dod_cell = _spin(0.25, 0.01, 100.0, 0.05)
        cf.addRow("Core points:", self.core_mode)
        cf.addRow("Every n-th:", self.core_n)
        cf.addRow("Grid spacing:", self.core_spacing)
        cf.addRow("DoD cell size:", self.dod_cell)
        layout.addWidget(core)

        zones = QGroupBox("Structural elements")
        zf = QFormLayout(zones)
        self.zones = LayerChooser(project, is_polygon_layer, optional=True)
        self.zone_field = QComboBox()
        self.threshold = _spin(10.0, 0.0, 10000.0, 1.0, decimals=1, suffix=" mm")
        self.threshold.setToolTip("A change the engineer cares about; zones where enough points change "
                                  "significantly by more than this are flagged")
        self.sections = LayerChooser(project, is_line_layer, optional=True)
        self.section_width = _spin(0.5, 0.01, 100.0, 0.1)
        zf.addRow("Zones layer:", self.zones)
        zf.addRow("Name field:", self.zone_field)
        zf.addRow("Threshold:", self.threshold)
        zf.addRow("Section lines:", self.sections)
        zf.addRow("Section width:", self.section_width)
        layout.addWidget(zones)

        out = QGroupBox("Output")
        of = QHBoxLayout(out)
        self.out_dir = QLineEdit()
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse)
        of.addWidget(self.out_dir, 1)
        of.addWidget(browse)
        layout.addWidget(out)

        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        scroll.setWidget(inner)
        self.status = QLabel()
        self.status.setWordWrap(True)
        buttons = QDialogButtonBox()
        self.run_button = buttons.addButton("Run comparison", QDialogButtonBox.ButtonRole.AcceptRole)
        self.run_button.setDefault(True)
        close = buttons.addButton(QDialogButtonBox.StandardButton.Close)
        self.run_button.clicked.connect(self.run)
        close.clicked.connect(self.close)
        outer = QVBoxLayout(self)
        outer.addWidget(scroll, 1)
        outer.addWidget(self.status)
        outer.addWidget(buttons)

        self.zones.currentIndexChanged.connect(self._fill_zone_fields)
        self.epoch2.currentIndexChanged.connect(self._epochs_changed)
        self.epoch1.currentIndexChanged.connect(self._epochs_changed)
        self.core_mode.currentIndexChanged.connect(self._core_mode_changed)
        self.reg_mode.currentIndexChanged.connect(self._reg_mode_changed)
        self._defaults()

    # -- defaults and dependent fields -------------------------------------------------------------
    def _defaults(self) -> None:
        layers = sorted((l for l in self.session.project.layers if is_pointcloud(l) and not self._is_result(l)),
                        key=lambda l: (l.epoch_label or "~", l.name))
        if len(layers) >= 2:
            self.epoch1.set_layer(layers[0])
            self.epoch2.set_layer(layers[1])
        for chooser, word in ((self.stable, "stable"), (self.zones, "zone"), (self.sections, "section")):
            for i in range(chooser.count()):
                if word in chooser.itemText(i).lower():
                    chooser.setCurrentIndex(i)
                    break
        self._fill_zone_fields()
        self._core_mode_changed()
        self._epochs_changed()

    @staticmethod
    def _is_result(layer) -> bool:
        return "m3c2_distance" in (layer.dataset.fields if layer.dataset is not None else [])

    def _fill_zone_fields(self, *_) -> None:
        self.zone_field.clear()
        layer = self.zones.layer()
        if layer is None:
            return
        fields = [str(c) for c in layer.dataset.frame.columns if c != layer.dataset.frame.geometry.name]
        self.zone_field.addItems(fields)
        for preferred in ("name", "element", "zone", "label"):
            if preferred in fields:
                self.zone_field.setCurrentText(preferred)
                break

    def _core_mode_changed(self, *_) -> None:
        grid = self.core_mode.currentData() == "grid"
        self.core_n.setEnabled(not grid)
        self.core_spacing.setEnabled(grid)

    def _reg_mode_changed(self, *_) -> None:
        mode = self.reg_mode.currentData()
        self.reg_error.setEnabled(mode == "given")
        if mode == "registration":
            reg = self._registration()
            if reg is not None:
                self.reg_error.setValue(reg.registration_error * 1000)

    def _registration(self):
        layer = self.epoch2.layer()
        return None if layer is None else self.controller.registrations.get(layer.id)

    def _epochs_changed(self, *_) -> None:
        e1, e2 = self.epoch1.layer(), self.epoch2.layer()
        reg = self._registration()
        if e2 is None:
            self.alignment.setText("Open two epochs first (Point clouds > Open point cloud…).")
        elif reg is not None and e2.has_transform:
            self.alignment.setText(f"Epoch 2 is registered ({reg.method}; registration error "
                                   f"{reg.registration_error * 1000:.1f} mm). ICP refinement is optional.")
            self.reg_error.setValue(reg.registration_error * 1000)
        elif e2.has_transform:
            self.alignment.setText("Epoch 2 is placed by its layer transform; it is used as the start.")
        else:
            self.alignment.setText("Epoch 2 is not registered: ICP on stable areas is advised.")
        self.icp_box.setChecked(e2 is not None and reg is None)
        if e1 is not None and e2 is not None and not self.out_dir.text():
            base = Path(self.session.project.path).parent if self.session.project.path else \
                Path(e2.source.path).parent if e2.source and e2.source.path else Path.home()
            self.out_dir.setText(str(base / f"change_{_safe(e1.name)}_vs_{_safe(e2.name)}"))

    def _browse(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Output folder", self.out_dir.text())
        if path:
            self.out_dir.setText(path)

    # -- CloudCompare parameters -------------------------------------------------------------------
    def import_cloudcompare(self, path: str | None = None) -> bool:
        try:
            from gis_desk.io.m3c2_params import read_cloudcompare_params
        except ImportError:
            self.controller.notify("warning", "Not available yet",
                                   "Reading CloudCompare M3C2 parameter files is not installed in this build; "
                                   "type the radii instead (CloudCompare files hold diameters: halve them).")
            return False
        if path is None:
            path, _ = QFileDialog.getOpenFileName(self, "CloudCompare M3C2 parameters", "",
                                                  "Parameter files (*.txt *.ini);;All files (*)")
            if not path:
                return False
        try:
            params = read_cloudcompare_params(path)
        except GisDeskError as exc:
            self.controller.report(exc, "CloudCompare parameters")
            return False
        self.set_params(params)
        self.status.setText(f"Parameters read from {Path(path).name} (diameters converted to radii).")
        return True

    def set_params(self, params) -> None:
        self.normal_radius.setValue(params.normal_radius)
        self.cylinder_radius.setValue(params.cylinder_radius)
        self.max_depth.setValue(params.max_depth)
        self.use_median.setChecked(bool(params.use_median))
        self.min_points.setValue(int(params.min_points))
        self.set_orientation(params.normal_orientation)
        if params.registration_error:
            self.reg_mode.setCurrentIndex(REG_ERROR_MODES.index("given"))
            self.reg_error.setValue(params.registration_error * 1000)

    def set_orientation(self, ori) -> None:
        """Show an M3C2Params.normal_orientation: 'up', ('towards', (x, y, z)) or (vx, vy, vz)."""
        if isinstance(ori, str):
            self.orientation_mode.setCurrentIndex(self.orientation_mode.findData("up"))
            self.orientation_xyz.clear()
            return
        towards = len(ori) == 2 and ori[0] == "towards"
        values = ori[1] if towards else ori
        self.orientation_mode.setCurrentIndex(self.orientation_mode.findData("towards" if towards else "direction"))
        self.orientation_xyz.setText(", ".join(f"{float(v):.3f}" for v in values))

    def orientation(self):
        """The normal orientation as M3C2Params takes it; ParameterError for a bad x, y, z."""
        mode = self.orientation_mode.currentData()
        if mode == "up":
            return "up"
        text = self.orientation_xyz.text().replace(",", " ").split()
        try:
            values = tuple(float(v) for v in text)
        except ValueError:
            values = ()
        if len(values) != 3 or not all(math.isfinite(v) for v in values):
            raise ParameterError("The normals orientation needs three numbers (x, y, z), not "
                                 f"{self.orientation_xyz.text()!r}")
        if mode == "direction" and not any(values):
            raise ParameterError("The normals direction cannot be (0, 0, 0)")
        return ("towards", values) if mode == "towards" else values

    # -- settings ----------------------------------------------------------------------------------
    def params(self):
        from gis_desk.analysis.m3c2 import M3C2Params

        return M3C2Params(normal_radius=self.normal_radius.value(), cylinder_radius=self.cylinder_radius.value(),
                          max_depth=self.max_depth.value(), use_median=self.use_median.isChecked(),
                          min_points=self.min_points.value(), normal_orientation=self.orientation()).validate()

    def settings(self):
        """(epoch 1 cloud, epoch 2 cloud, ComparisonSettings, output folder); ParameterError if bad."""
        from gis_desk.analysis.change import ComparisonSettings

        e1, e2 = self.epoch1.layer(), self.epoch2.layer()
        if e1 is None or e2 is None:
            raise ParameterError("Choose two point-cloud layers to compare",
                                 hint="open both epochs first (Point clouds > Open point cloud...)")
        if e1 is e2:
            raise ParameterError("Epoch 1 and epoch 2 are the same layer")
        crs = e1.crs
        mode = self.reg_mode.currentData()
        if mode == "auto":
            reg_error: float | str = "auto"
        elif mode == "registration":
            reg = self._registration()
            reg_error = float(reg.registration_error) if reg is not None else "icp"
        else:
            reg_error = self.reg_error.value() / 1000.0
        use_icp = self.icp_box.isChecked()
        stable_layer = self.stable.layer()
        stable = polygons_of(stable_layer, crs) if stable_layer is not None else None
        zones_layer = self.zones.layer()
        zones, zone_field = None, "name"
        if zones_layer is not None:
            zone_field = self.zone_field.currentText()
            if not zone_field:
                raise ParameterError(f"Choose the field that names the elements of '{zones_layer.name}'")
            zones = frame_in_crs(zones_layer, crs)
        lines, labels = [], []
        if self.sections.layer() is not None:
            lines, labels = lines_of(self.sections.layer(), crs)
        out = self.out_dir.text().strip()
        if not out:
            raise ParameterError("Choose an output folder for the change layers and the figures")
        settings = ComparisonSettings(
            coarse_matrix=e2.transform if e2.has_transform else None, stable_areas=stable, icp=use_icp,
            icp_max_distance=self.icp_distance.value(), m3c2=self.params(), registration_error=reg_error,
            core_mode=self.core_mode.currentData(), core_n=self.core_n.value(),
            core_spacing=self.core_spacing.value(), dod_cell=self.dod_cell.value(), zones=zones,
            zone_name_field=zone_field, threshold=self.threshold.value() / 1000.0, section_lines=lines,
            section_labels=labels, section_width=self.section_width.value(),
            epoch_labels=(e1.epoch_label or e1.name, e2.epoch_label or e2.name),
            site=self.site_name(e1, e2))
        return e1, e2, settings, Path(out)

    def site_name(self, e1, e2) -> str:
        """The project's name, else what both epochs' file names start with ('bridge')."""
        project = self.session.project
        if project.path:
            return Path(project.path).stem
        if project.title and project.title.lower() != "untitled":
            return project.title
        first = [re.split(r"[_\-\s.]+", layer.name)[0] for layer in (e1, e2)]
        return first[0] if first[0] == first[1] and not first[0].lower().startswith("epoch") else ""

    def run(self):
        """Start the comparison in the background; returns the task (None when inputs are bad)."""
        try:
            e1, e2, settings, out = self.settings()
        except GisDeskError as exc:
            self.controller.report(exc, "Compare epochs")
            return None
        self.run_button.setEnabled(False)
        self.status.setText("Comparing… (progress in the status bar; Esc there cancels)")
        self.task = self.controller.run_comparison(e1, e2, settings, out)
        self.task.signals.done.connect(self._task_done)
        return self.task

    def _task_done(self) -> None:
        self.run_button.setEnabled(True)
        state = self.task.state if self.task is not None else ""
        self.status.setText({"finished": "Done: the change layers are in the project and the results are open.",
                             "canceled": "Cancelled.", "failed": "The comparison failed (see the message)."
                             }.get(state, ""))
        if state == "finished":
            self.close()
