"""Sections across point clouds: a map tool to draw the line, a canvas overlay showing it with
its strip width, and a dock plotting the profile of every visible point-cloud layer.

Click the start, click the end (Esc or a right click drops it).  The profile of each layer is
cut from its points *as placed* (its ``transform`` applied) in a strip ``width`` wide; only the
points near the line are transformed, so a section through a large cloud stays cheap.  The plot
is matplotlib in the dock (QtAgg canvas; a PNG image when that backend is unavailable) and
exports to PNG, SVG, PDF and CSV (``gis_desk.analysis.section``).
"""

from __future__ import annotations

import math
import tempfile
from pathlib import Path

import numpy as np
from PySide6.QtCore import QPointF, Qt, Signal
from PySide6.QtGui import QColor, QMouseEvent, QPainter, QPen, QPixmap, QPolygonF
from PySide6.QtWidgets import (QCheckBox, QComboBox, QDoubleSpinBox, QFileDialog, QHBoxLayout, QLabel,
                               QPushButton, QVBoxLayout, QWidget)

from gis_desk.core.pointcloud import PointCloudLayer
from gis_desk.errors import ParameterError
from gis_desk.qt.canvas.tools import MapTool

TOOL_NAME = "pointcloud_section"
EXPORT_FILTER = "PNG image (*.png);;SVG drawing (*.svg);;PDF document (*.pdf);;CSV table (*.csv)"


# -- cutting profiles ------------------------------------------------------------------------


def _line_in_crs(line, src, dst):
    from shapely.geometry import LineString

    from gis_desk.core.crs import same_crs, transform_xy

    if src is None or dst is None or same_crs(src, dst):
        return line
    xy = np.asarray(line.coords)[:, :2]
    x, y = transform_xy(src, dst, xy[:, 0], xy[:, 1])
    return LineString(np.column_stack([x, y]))


def layer_profile(layer: PointCloudLayer, line, width: float, line_crs=None, label: str = ""):
    """The section of ``layer`` along ``line`` (in ``line_crs``; default the layer's), with the
    layer's transform applied; ``Profile.index`` indexes the layer's cloud."""
    from gis_desk.analysis.section import section_profile
    from gis_desk.core.pointcloud import apply_transform

    line = _line_in_crs(line, line_crs, layer.crs)
    xyz = layer.cloud.xyz
    half = width / 2.0
    xmin, ymin, xmax, ymax = line.bounds
    if layer.has_transform:
        # the strip's box in file coordinates: corners taken back through the inverse transform,
        # grown for the tilt a small rotation gives over the cloud's height range
        m = layer.transform
        zmin, zmax = layer.dataset.z_range
        corners = np.array([[x, y, z] for x in (xmin - half, xmax + half) for y in (ymin - half, ymax + half)
                            for z in (zmin, zmax)])
        raw = apply_transform(corners, np.linalg.inv(m))
        tilt = np.linalg.norm(m[:3, :3] - np.eye(3)) * (zmax - zmin + 1.0)
        grow = half + tilt + 0.01
        lo, hi = raw[:, :2].min(axis=0) - grow, raw[:, :2].max(axis=0) + grow
    else:
        lo, hi = np.array([xmin - half, ymin - half]), np.array([xmax + half, ymax + half])
    cand = np.flatnonzero((xyz[:, 0] >= lo[0]) & (xyz[:, 0] <= hi[0]) & (xyz[:, 1] >= lo[1]) & (xyz[:, 1] <= hi[1]))
    pts = apply_transform(xyz[cand], layer.transform) if layer.has_transform else xyz[cand]
    profile = section_profile(pts, line, width, label=label or layer.epoch_label or layer.name)
    profile.index = cand[profile.index]
    return profile


# -- map tool and overlay ----------------------------------------------------------------------


class SectionOverlay:
    """Draws the section line (A to B) and its strip on the canvas (project CRS)."""

    def __init__(self) -> None:
        self.vertices: list[tuple[float, float]] = []
        self.floating: tuple[float, float] | None = None
        self.width = 0.5

    def clear(self) -> None:
        self.vertices, self.floating = [], None

    def points(self) -> list[tuple[float, float]]:
        pts = list(self.vertices)
        if self.floating is not None and len(pts) == 1:
            pts.append(self.floating)
        return pts

    def paint(self, painter: QPainter, viewport) -> None:
        pts = self.points()
        if not pts:
            return
        px = [QPointF(*viewport.world_to_pixel(x, y)) for x, y in pts]
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        if len(pts) >= 2:
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(QColor(255, 140, 0, 60))
            for (x0, y0), (x1, y1) in zip(pts[:-1], pts[1:]):  # the strip, segment by segment
                length = math.hypot(x1 - x0, y1 - y0)
                if length == 0:
                    continue
                nx, ny = -(y1 - y0) / length * self.width / 2, (x1 - x0) / length * self.width / 2
                strip = [(x0 + nx, y0 + ny), (x1 + nx, y1 + ny), (x1 - nx, y1 - ny), (x0 - nx, y0 - ny)]
                painter.drawPolygon(QPolygonF([QPointF(*viewport.world_to_pixel(x, y)) for x, y in strip]))
            pen = QPen(QColor(230, 80, 0), 2.0)
            if self.floating is not None and len(self.vertices) == 1:
                pen.setStyle(Qt.PenStyle.DashLine)
            painter.setPen(pen)
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.drawPolyline(QPolygonF(px))
        painter.setPen(QPen(QColor(40, 40, 40), 1.0))
        painter.setBrush(QColor(255, 255, 255))
        for p, name in ((px[0], "A"), (px[-1], "B")) if len(px) > 1 else ((px[0], "A"),):
            painter.drawEllipse(p, 4, 4)
            painter.drawText(p + QPointF(6, -6), name)
        painter.restore()


class SectionTool(MapTool):
    """Click the start and the end of a section line; ``on_line(LineString)`` gets it."""

    name = TOOL_NAME
    cursor = Qt.CursorShape.CrossCursor

    def __init__(self, canvas, overlay: SectionOverlay, on_line) -> None:
        super().__init__(canvas)
        self.overlay, self.on_line = overlay, on_line
        self.finished = False

    def press(self, event: QMouseEvent) -> None:
        if event.button() == Qt.MouseButton.RightButton:
            self.cancel()
            return
        if event.button() != Qt.MouseButton.LeftButton:
            return
        point = self.canvas.to_map(event.position())
        if self.finished or not self.overlay.vertices:
            self.overlay.clear()
            self.overlay.vertices.append(point)
            self.finished = False
        elif point != self.overlay.vertices[0]:
            self.overlay.vertices.append(point)
            self.overlay.floating = None
            self.finished = True
            self.canvas.update()
            self.on_line(self.line())
        self.canvas.update()

    def move(self, event: QMouseEvent) -> None:
        if len(self.overlay.vertices) == 1 and not self.finished:
            self.overlay.floating = self.canvas.to_map(event.position())
            self.canvas.update()

    def line(self):
        from shapely.geometry import LineString

        return LineString(self.overlay.vertices) if len(self.overlay.vertices) >= 2 else None

    def deactivate(self) -> None:
        if not self.finished:  # keep a finished line on the map; drop a half-drawn one
            self.cancel()

    def cancel(self) -> bool:
        had = bool(self.overlay.vertices) and not self.finished
        if had:
            self.overlay.clear()
            self.canvas.update()
        return had


# -- the dock ----------------------------------------------------------------------------------


class SectionPanel(QWidget):
    """Profile plot with width, true-shape and export controls."""

    draw_requested = Signal()
    width_changed = Signal(float)
    line_chosen = Signal(object, str)  # LineString (project CRS), label

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.profiles: list = []
        self.title = ""
        layout = QVBoxLayout(self)
        controls = QHBoxLayout()
        self.draw_button = QPushButton("Draw section line")
        self.draw_button.setToolTip("Click the start and the end of the section on the map")
        self.draw_button.clicked.connect(self.draw_requested.emit)
        self.width = QDoubleSpinBox()
        self.width.setRange(0.01, 100.0)
        self.width.setDecimals(2)
        self.width.setSingleStep(0.1)
        self.width.setValue(0.5)
        self.width.setSuffix(" m")
        self.width.setToolTip("Width of the strip of points either side of the line (total)")
        self.width.valueChanged.connect(self.width_changed.emit)
        self.equal = QCheckBox("True shape")
        self.equal.setToolTip("Same scale across and up (off: heights stretched so small changes show)")
        self.equal.toggled.connect(lambda _on: self.redraw())
        self.saved = QComboBox()
        self.saved.setToolTip("Cut along a line of a line layer in the project (e.g. planned sections)")
        self.saved.setMinimumContentsLength(18)
        self.saved.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.saved.activated.connect(self._saved_chosen)
        self.set_saved_lines([])
        controls.addWidget(self.draw_button)
        controls.addWidget(self.saved)
        controls.addWidget(QLabel("Width:"))
        controls.addWidget(self.width)
        controls.addWidget(self.equal)
        controls.addStretch(1)
        self.export_button = QPushButton("Export…")
        self.export_button.setToolTip("PNG, SVG or PDF of the plot, or CSV of the points")
        self.export_button.clicked.connect(lambda: self.export())
        self.export_button.setEnabled(False)
        controls.addWidget(self.export_button)
        layout.addLayout(controls)
        self.info = QLabel("Draw a line across the structure to see its profile.")
        self.info.setWordWrap(True)
        layout.addWidget(self.info)
        self.figure = None
        self.plot_canvas = None
        self.image = None
        try:
            from matplotlib.backends.backend_qtagg import FigureCanvasQTAgg
            from matplotlib.figure import Figure

            self.figure = Figure(figsize=(6, 3), layout="constrained")
            self.plot_canvas = FigureCanvasQTAgg(self.figure)
            self.plot_canvas.setMinimumHeight(220)
            layout.addWidget(self.plot_canvas, 1)
        except ImportError:  # no Qt backend for matplotlib: show a rendered PNG instead
            self.image = QLabel()
            self.image.setAlignment(Qt.AlignmentFlag.AlignCenter)
            self.image.setMinimumHeight(220)
            layout.addWidget(self.image, 1)

    def set_saved_lines(self, lines: list[tuple[str, object]]) -> None:
        """(label, LineString in the project CRS) of the project's line layers."""
        self.saved.blockSignals(True)
        self.saved.clear()
        self.saved.addItem("Lines of a layer…" if lines else "(no line layers)", None)
        for label, line in lines:
            self.saved.addItem(label, line)
        self.saved.setEnabled(bool(lines))
        self.saved.blockSignals(False)

    def _saved_chosen(self, index: int) -> None:
        line = self.saved.itemData(index)
        if line is not None:
            self.line_chosen.emit(line, self.saved.itemText(index))

    def set_profiles(self, profiles: list, title: str = "") -> None:
        self.profiles, self.title = list(profiles), title
        n = sum(len(p) for p in profiles)
        if profiles:
            length = profiles[0].length
            self.info.setText(f"{title}: {length:.2f} m long, {self.width.value():g} m wide; "
                              + "; ".join(f"{p.label}: {len(p):,} points" for p in profiles))
        else:
            self.info.setText("No visible point-cloud layer to cut.")
        self.export_button.setEnabled(n > 0)
        self.redraw()

    def redraw(self) -> None:
        from gis_desk.analysis.section import plot_sections

        if self.figure is not None:
            self.figure.clear()
            if self.profiles:
                plot_sections(self.profiles, self.figure.add_subplot(), self.title,
                              equal_aspect=self.equal.isChecked())
            self.plot_canvas.draw_idle()
        elif self.image is not None:
            if not self.profiles:
                self.image.clear()
                return
            with tempfile.TemporaryDirectory() as tmp:
                path = plot_sections(self.profiles, Path(tmp) / "section.png", self.title,
                                     equal_aspect=self.equal.isChecked(), dpi=100)
                self.image.setPixmap(QPixmap(str(path)))

    def export(self, path: str | Path | None = None) -> Path | None:
        """Write the plot (.png/.svg/.pdf) or the points (.csv); errors are raised typed."""
        from gis_desk.analysis.section import export_sections_csv, plot_sections

        if not self.profiles:
            raise ParameterError("There is no section to export", hint="draw a section line first")
        if path is None:
            chosen, _ = QFileDialog.getSaveFileName(self, "Export section", "section.png", EXPORT_FILTER)
            if not chosen:
                return None
            path = chosen
        path = Path(path)
        if path.suffix.lower() == ".csv":
            return export_sections_csv(self.profiles, path)
        return plot_sections(self.profiles, path, self.title, equal_aspect=self.equal.isChecked())


def profiles_for(layers, line, width: float, line_crs) -> list:
    """One profile per layer (visible point-cloud layers, bottom to top); layers without points
    in the strip still give an (empty) profile so the legend says so."""
    return [layer_profile(layer, line, width, line_crs) for layer in layers]
