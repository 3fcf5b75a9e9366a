"""The heat-map panel: kernel density of a point layer, shown live on the map under a
disclosure rule.

"Preview" computes the heat map at a coarse pixel size (at most ``PREVIEW_MAX_CELLS`` cells
across) and "Run" at the pixel size asked for, both as background tasks.  The result is
masked with ``gis_desk.analysis.disclosure.mask_raster`` (cells reached by fewer than k
records are left blank, k from the chosen policy), written as a GeoTIFF to the project's cache
folder (``config_dir()/cache/<project-id>/``) and shown as ONE raster layer: running again
replaces that layer's data, so its style, opacity and place in the layer list stay.
"Export..." opens the export dialog on the last full-resolution run.

Distances (radius, pixel size) are in metres: layers in a geographic CRS are reprojected to
the project's CRS, or to British National Grid when the project is geographic too.
"""

from __future__ import annotations

import dataclasses
import uuid
from pathlib import Path
from typing import Any

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtWidgets import (QCheckBox, QComboBox, QDoubleSpinBox, QFormLayout, QGridLayout, QGroupBox, QHBoxLayout,
                               QLabel,
                               QProgressBar, QPushButton, QVBoxLayout, QWidget)

from gis_desk.core.crs import BNG
from gis_desk.core.style import RasterStyle
from gis_desk.qt.uprn.common import (compact_combo, error_text, install_scrolling_body, is_point_layer,
                                     LayerCombo, PolicyChooser, project_cache_dir, RampLegend, safe_name)

PREVIEW_MAX_CELLS = 300  # a preview is at most this many cells along its longer side
KERNEL_LABELS = {"quartic": "Quartic (biweight)", "triangular": "Triangular", "uniform": "Uniform",
                 "triweight": "Triweight", "epanechnikov": "Epanechnikov", "gaussian": "Gaussian (not in QGIS)"}
RAMPS = ("YlOrRd", "magma", "inferno", "OrRd", "viridis")
_SKIP_WEIGHT_FIELDS = {"source_row", "UPRN"}


def layer_points(layer, project_crs) -> tuple[np.ndarray, Any, np.ndarray]:
    """(points (N, 2), CRS of the points, row positions) of a point layer's located features.

    Features without a location (unmatched records) are left out.  A geographic layer is
    reprojected to ``project_crs``, or to British National Grid when that is geographic too,
    so distances are in metres.
    """
    from gis_desk.core.crs import to_crs

    frame = layer.dataset.frame
    geoms = frame.geometry
    located = np.flatnonzero((~(geoms.isna() | geoms.is_empty)).to_numpy())
    located_geoms = geoms.iloc[located]
    crs = to_crs(layer.crs)
    if crs.is_geographic:
        target = to_crs(project_crs)
        target = target if not target.is_geographic else to_crs(BNG)
        located_geoms = located_geoms.to_crs(target)
        crs = target
    xy = np.column_stack([located_geoms.x.to_numpy(dtype=float), located_geoms.y.to_numpy(dtype=float)])
    return xy, crs, located


def display_raster(result, k: int):
    """(masked values, number of hidden cells): ``result``'s cells reached by fewer than ``k``
    records masked (``mask_raster``); empty cells (nodata) stay masked and are not counted."""
    from gis_desk.analysis.disclosure import mask_raster

    values = np.ma.masked_equal(result.array, result.nodata)
    masked = mask_raster(values, result.counts, k, nodata=result.nodata)
    hidden = int(((result.counts > 0) & (result.counts < k)).sum())
    return masked, hidden


class HeatmapPanel(QWidget):
    """Dock contents.  ``tasks``: the window's ``TaskManager``; ``open_export(source)``: opens
    the export dialog (the window's, so it gets the map view); ``layer_id`` is the id of the
    live heat-map layer once one exists; ``result`` the last full-resolution ``KdeResult``."""

    def __init__(self, session, tasks, presenter=None, open_export=None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session, self.tasks, self.presenter = session, tasks, presenter
        self.open_export = open_export
        self.layer_id: str | None = None
        self.result = None  # last full-resolution run (with counts), for export
        self.preview_result = None
        self.last_stats: dict[str, Any] = {}
        self.task = None
        self.suggest_task = None
        self._bandwidths: dict[tuple, float | str] = {}

        project = session.project
        self.points = LayerCombo(project, is_point_layer, "(add a point layer, e.g. imported records)")
        self.weight = compact_combo(QComboBox())
        self.kernel = compact_combo(QComboBox())
        for key, label in KERNEL_LABELS.items():
            self.kernel.addItem(label, key)
        self.radius = QDoubleSpinBox()
        self.radius.setRange(1, 100_000)
        self.radius.setDecimals(0)
        self.radius.setSingleStep(50)
        self.radius.setValue(500)
        self.radius.setSuffix(" m")
        self.auto_radius = QCheckBox("Automatic")
        self.auto_radius.setChecked(True)
        self.auto_radius.setToolTip("Choose the radius from the spread of the points (Silverman's rule)")
        self.suggested = QLabel("Suggested radius: choose a point layer")
        self.suggested.setStyleSheet("color: #555;")
        self.suggested.setWordWrap(True)
        self.pixel = QDoubleSpinBox()
        self.pixel.setRange(0.5, 10_000)
        self.pixel.setDecimals(1)
        self.pixel.setValue(25)
        self.pixel.setSuffix(" m")
        self.output = compact_combo(QComboBox())
        self.output.addItem("Raw (peak 1 per record, as QGIS)", "raw")
        self.output.addItem("Scaled (records per m²)", "scaled")
        self.qgis = QCheckBox("QGIS-compatible")
        self.qgis.setToolTip("Same grid and values as QGIS's Heatmap (Kernel Density Estimation) tool")
        self.qgis.setChecked(True)
        self.policy = PolicyChooser(required=False, allow_none=False, default=PolicyChooser.THRESHOLD, k=10,
                                    raster=True)
        self.ramp = QComboBox()
        for name in RAMPS:
            self.ramp.addItem(name, name)

        radius_row = QHBoxLayout()
        radius_row.setContentsMargins(0, 0, 0, 0)
        radius_row.addWidget(self.radius, 1)
        radius_row.addWidget(self.auto_radius)
        radius_widget = QWidget()
        radius_widget.setLayout(radius_row)

        data_box = QGroupBox("Records")
        data_form = QFormLayout(data_box)
        data_form.addRow("Point layer", self.points)
        data_form.addRow("Weight field", self.weight)
        kernel_box = QGroupBox("Kernel")
        kernel_form = QFormLayout(kernel_box)
        kernel_form.addRow("Shape", self.kernel)
        kernel_form.addRow("Radius", radius_widget)
        kernel_form.addRow("", self.suggested)
        kernel_form.addRow("Pixel size", self.pixel)
        kernel_form.addRow("Values", self.output)
        kernel_form.addRow("", self.qgis)
        policy_box = QGroupBox("Small numbers (applied to the map layer too)")
        policy_layout = QVBoxLayout(policy_box)
        policy_layout.addWidget(self.policy)

        self.preview_button = QPushButton("Preview")
        self.preview_button.setToolTip("A quick, coarse heat map on the map (runs in the background)")
        self.run_button = QPushButton("Run")
        self.run_button.setToolTip("The heat map at the pixel size chosen")
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setEnabled(False)
        self.export_button = QPushButton("Export…")
        self.export_button.setEnabled(False)
        self.export_button.setToolTip("Run at full resolution first")
        buttons = QGridLayout()
        for i, b in enumerate((self.preview_button, self.run_button, self.cancel_button, self.export_button)):
            buttons.addWidget(b, i // 2, i % 2)
        self.progress = QProgressBar()
        self.progress.setRange(0, 100)
        self.progress.setVisible(False)
        self.legend = RampLegend()
        legend_row = QHBoxLayout()
        legend_row.addWidget(QLabel("Colours"))
        legend_row.addWidget(self.ramp)
        legend_row.addStretch(1)
        self.status = QLabel("Choose a point layer and press Preview.")
        self.status.setWordWrap(True)
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        inner = QWidget()
        layout = QVBoxLayout(inner)
        layout.addWidget(data_box)
        layout.addWidget(kernel_box)
        layout.addWidget(policy_box)
        layout.addLayout(buttons)
        layout.addWidget(self.progress)
        layout.addLayout(legend_row)
        layout.addWidget(self.legend)
        layout.addWidget(self.status)
        layout.addStretch(1)
        install_scrolling_body(self, inner)

        self.points.currentIndexChanged.connect(self._layer_changed)
        self.kernel.currentIndexChanged.connect(self._kernel_changed)
        self.auto_radius.toggled.connect(self._show_suggestion)
        self.preview_button.clicked.connect(self.preview)
        self.run_button.clicked.connect(self.run)
        self.cancel_button.clicked.connect(self.cancel)
        self.export_button.clicked.connect(self.export)
        self.ramp.currentIndexChanged.connect(self._ramp_changed)
        self.tasks.task_done.connect(self._task_finished)
        self._layer_changed()

    # -- choices -----------------------------------------------------------------------------
    def kernel_name(self) -> str:
        return self.kernel.currentData()

    def heat_layer(self):
        if self.layer_id is None:
            return None
        try:
            return self.session.project.layer_by_id(self.layer_id)
        except KeyError:
            return None

    def _layer_changed(self, *_args) -> None:
        layer = self.points.layer()
        self.weight.clear()
        self.weight.addItem("(none: each record counts once)", None)
        if layer is not None:
            frame = layer.dataset.frame
            for name in layer.dataset.fields:
                if name not in _SKIP_WEIGHT_FIELDS and frame[name].dtype.kind in "iuf":
                    self.weight.addItem(name, name)
        self._update_buttons()
        self._request_suggestion()

    def _kernel_changed(self, *_args) -> None:
        gaussian = self.kernel_name() == "gaussian"
        self.qgis.setEnabled(not gaussian)
        if gaussian:
            self.qgis.setChecked(False)
        self._show_suggestion()

    def _request_suggestion(self) -> None:
        """Work out the automatic bandwidth of the chosen layer in the background (once per layer)."""
        layer = self.points.layer()
        if layer is None:
            self.suggested.setText("Suggested radius: choose a point layer")
            return
        key = (layer.id, len(layer.dataset))
        if key in self._bandwidths:
            self._show_suggestion()
            return
        from gis_desk.analysis.kde import suggest_bandwidth

        project_crs = self.session.project.crs
        self.suggested.setText("Suggested radius: working it out…")

        def work(feedback):
            xy, _crs, _rows = layer_points(layer, project_crs)
            try:
                return suggest_bandwidth(xy)
            except Exception as exc:  # noqa: BLE001 - shown as text beside the radius, not as an error
                return str(getattr(exc, "message", exc))

        def done(value) -> None:
            self._bandwidths[key] = value
            self._show_suggestion()

        self.suggest_task = self.tasks.start(work, f"Suggesting a heat-map radius for {layer.name}", on_done=done)

    def suggested_radius(self) -> float | None:
        """The automatic radius (metres) for the chosen layer and kernel, once known."""
        from gis_desk.analysis.kde import radius_for_bandwidth

        layer = self.points.layer()
        if layer is None:
            return None
        bandwidth = self._bandwidths.get((layer.id, len(layer.dataset)))
        if not isinstance(bandwidth, float):
            return None
        return radius_for_bandwidth(bandwidth, self.kernel_name())

    def _show_suggestion(self, *_args) -> None:
        auto = self.auto_radius.isChecked()
        self.radius.setEnabled(not auto)
        layer = self.points.layer()
        bandwidth = self._bandwidths.get((layer.id, len(layer.dataset))) if layer is not None else None
        radius = self.suggested_radius()
        if radius is not None:
            what = "bandwidth (standard deviation)" if self.kernel_name() == "gaussian" else "radius"
            self.suggested.setText(f"Suggested {what}: {radius:,.0f} m, from the spread of the points "
                                   f"(Silverman's rule; Gaussian bandwidth {bandwidth:,.0f} m)")
            if auto:
                self.radius.setValue(round(radius))
        elif isinstance(bandwidth, str):
            self.suggested.setText(f"No automatic radius: {bandwidth}. Give the radius yourself.")
            if auto:
                self.auto_radius.setChecked(False)

    def _update_buttons(self) -> None:
        busy = self.task is not None
        ready = self.points.layer() is not None
        self.preview_button.setEnabled(ready and not busy)
        self.run_button.setEnabled(ready and not busy)
        self.cancel_button.setEnabled(busy)
        self.export_button.setEnabled(self.result is not None and not busy and self.open_export is not None)

    # -- computing ---------------------------------------------------------------------------
    def preview(self):
        """A coarse heat map, shown on the map (background task).  Returns the task or None."""
        return self._start(preview=True)

    def run(self):
        """The heat map at the chosen pixel size, shown on the map and kept for export."""
        return self._start(preview=False)

    def cancel(self) -> None:
        if self.task is not None:
            self.task.cancel()

    def _start(self, preview: bool):
        from gis_desk.analysis.kde import kde, radius_for_bandwidth, suggest_bandwidth

        layer = self.points.layer()
        if layer is None or self.task is not None:
            return None
        policy = self.policy.policy()
        k = policy.min_count
        kernel, pixel = self.kernel_name(), float(self.pixel.value())
        radius = None if self.auto_radius.isChecked() else float(self.radius.value())
        weight_field = self.weight.currentData()
        output, qgis = self.output.currentData(), self.qgis.isChecked() and kernel != "gaussian"
        project_crs = self.session.project.crs
        folder = project_cache_dir(self.session.project)
        target = folder / f"heatmap-{safe_name(layer.name)}-{uuid.uuid4().hex[:8]}.tif"

        def work(feedback):
            from gis_desk.io.raster import read_raster
            from gis_desk.analysis.kde import KdeResult

            xy, crs, rows = layer_points(layer, project_crs)
            weights = None
            if weight_field:
                weights = layer.dataset.frame[weight_field].to_numpy(dtype=float)[rows]
            r = radius
            if r is None:
                r = radius_for_bandwidth(suggest_bandwidth(xy), kernel)
            px = pixel
            if preview and len(xy):
                reach = 4 * r if kernel == "gaussian" else r
                span = max(np.ptp(xy[:, 0]), np.ptp(xy[:, 1])) + 2 * reach
                px = max(pixel, span / PREVIEW_MAX_CELLS)
            result = kde(xy, r, px, weights=weights, kernel=kernel, output_values=output, qgis_compatible=qgis,
                         crs=crs, return_counts=True, feedback=feedback.child(0, 90))
            feedback.check_canceled()
            masked, hidden = display_raster(result, k)
            shown = KdeResult(masked.filled(result.nodata).astype(np.float32), result.transform, crs,
                              result.nodata, None, dict(result.params))
            shown.to_geotiff(target)
            dataset = read_raster(target)[0]
            published = masked.compressed()
            stats = {"preview": preview, "radius": r, "radius_auto": radius is None, "pixel": px, "k": k,
                     "policy": policy.label, "records": int(len(xy)), "unlocated": int(len(layer.dataset) - len(xy)),
                     "hidden": hidden, "shown": int(published.size), "rows": result.grid.rows,
                     "cols": result.grid.cols,
                     "vmin": float(published.min()) if published.size else None,
                     "vmax": float(published.max()) if published.size else None}
            feedback.set_progress(100)
            return result, dataset, stats

        title = f"{'Previewing' if preview else 'Computing'} heat map of {layer.name}"
        self.progress.setVisible(True)
        self.progress.setValue(0)
        self.task = self.tasks.start(work, title, on_done=lambda out: self._show(layer, *out))
        self.task.signals.progress.connect(lambda p: self.progress.setValue(int(p)))
        self.status.setText(f"{title}…")
        self._update_buttons()
        return self.task

    def _task_finished(self, task) -> None:
        if task is self.task:
            self.task = None
            self.progress.setVisible(False)
            if task.state == "canceled":
                self.status.setText("Heat map cancelled.")
            elif task.state == "failed":
                self.status.setText(f"The heat map failed: {error_text(task.error)}")
            self._update_buttons()

    def _show(self, points_layer, result, dataset, stats: dict) -> None:
        """Put the new raster on the map: replace the live layer's data, or add the layer."""
        self.last_stats = stats
        if stats["preview"]:
            self.preview_result = result
        else:
            self.result = result
        vmin, vmax = stats["vmin"], stats["vmax"]
        layer = self.heat_layer()
        if layer is None:
            style = RasterStyle(mode="singleband", bands=(1,), stretch="manual", ramp=self.ramp.currentData(),
                                vmin=[vmin if vmin is not None else 0.0], vmax=[vmax if vmax is not None else 1.0])
            layer = self.session.layer_for(dataset, name=f"Heat map — {points_layer.name}", style=style,
                                           opacity=0.8)
            self.session.add_layers([layer])
            self.layer_id = layer.id
        else:
            old = layer.dataset
            layer.dataset = dataset
            style = layer.style if isinstance(layer.style, RasterStyle) else RasterStyle(mode="singleband")
            if vmin is not None:
                layer.style = dataclasses.replace(style, mode="singleband", stretch="manual", vmin=[vmin],
                                                  vmax=[vmax])
            self._discard(old)
        style = layer.style
        caption = "records per m²" if self.output.currentData() == "scaled" else "kernel sum (raw)"
        self.legend.set_ramp(style.ramp, vmin, vmax, caption if stats["vmin"] is not None else "",
                             invert=style.invert_ramp)
        self.status.setText(self.describe(stats))
        self._update_buttons()

    @staticmethod
    def describe(stats: dict) -> str:
        kind = "Preview" if stats["preview"] else "Heat map"
        radius = f"{stats['radius']:,.0f} m" + (" (automatic)" if stats["radius_auto"] else "")
        lines = [f"{kind}: {stats['records']:,} located record(s), radius {radius}, "
                 f"{stats['cols']:,} × {stats['rows']:,} cells of {stats['pixel']:,.4g} m."]
        if stats["unlocated"]:
            lines.append(f"{stats['unlocated']:,} record(s) without a location are not on the map.")
        lines.append(f"{stats['policy']}: {stats['hidden']:,} cell(s) reached by fewer than {stats['k']} records "
                     f"are left blank; {stats['shown']:,} cell(s) shown.")
        if stats["preview"]:
            lines.append("Press Run for the full-resolution heat map.")
        return "\n".join(lines)

    def _discard(self, dataset) -> None:
        """Remove a replaced preview file from the cache (the layer now reads a new one)."""
        path = Path(getattr(dataset, "path", "") or "")
        cache = project_cache_dir(self.session.project)
        if path.parent == cache and path.name.startswith("heatmap-"):
            try:
                path.unlink()
            except OSError:
                pass  # still open elsewhere (Windows): left for the cache to be cleared later

    def _ramp_changed(self, *_args) -> None:
        layer = self.heat_layer()
        if layer is not None and isinstance(layer.style, RasterStyle):
            layer.style = dataclasses.replace(layer.style, ramp=self.ramp.currentData())
            self.legend.set_ramp(layer.style.ramp, self.legend.vmin, self.legend.vmax, self.legend.caption,
                                 invert=layer.style.invert_ramp)

    # -- export ------------------------------------------------------------------------------
    def export_source(self):
        from gis_desk.qt.uprn.export_dialog import ExportSource

        if self.result is None:
            return None
        layer = self.heat_layer()
        style = layer.style if layer is not None else RasterStyle(mode="singleband", ramp=self.ramp.currentData())
        style = dataclasses.replace(style, vmin=None, vmax=None)  # the range of the published cells
        name = layer.name if layer is not None else "heat map"
        return ExportSource(title=f"{name} (radius {self.result.params['radius_m']:,.0f} m, "
                                  f"{self.result.params['pixel_size_m']:,.4g} m cells)",
                            name=safe_name(name.replace("Heat map — ", "heatmap_")), heatmap=self.result,
                            heatmap_style=style)

    def export(self):
        """Open the export dialog on the last full-resolution run.  The dialog asks for its own
        policy choice (none is pre-selected); the panel's policy is named in its title."""
        source = self.export_source()
        if source is None or self.open_export is None:
            return None
        source.title += f". The map layer uses {self.policy.policy().label}."
        dialog = self.open_export(source)
        if dialog is not None:
            dialog.set_format("cog")
        return dialog
