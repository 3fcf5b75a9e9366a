"""The comparison results dock: a summary, the per-element table (flagged rows highlighted),
the histogram of M3C2 distances and the buttons that export the report and open the files.

It only shows a ``ComparisonResult`` (``gis_desk.analysis.change``); the controller owns it.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QBrush, QColor, QPixmap
from PySide6.QtWidgets import (QHBoxLayout, QHeaderView, QLabel, QPushButton, QSizePolicy, QTableWidget,
                               QTableWidgetItem, QVBoxLayout, QWidget)

FLAG_COLOUR = "#f8d0cc"  # rows of elements that exceed the threshold
# (column, header, formatter) of the element table; lengths shown in mm
ZONE_COLUMNS: tuple[tuple[str, str, Any], ...] = (
    ("status", "Status", str),
    ("n_points", "Core points", lambda v: f"{int(v):,}"),
    ("share_significant", "Significant", lambda v: f"{v:.0%}"),
    ("median_change_m", "Median (mm)", lambda v: f"{v * 1000:+.1f}"),
    ("p95_abs_change_m", "P95 |Δ| (mm)", lambda v: f"{v * 1000:.1f}"),
    ("max_abs_change_m", "Max |Δ| (mm)", lambda v: f"{v * 1000:.1f}"),
    ("share_exceeding", "Beyond threshold", lambda v: f"{v:.0%}"),
    ("volume_change_m3", "Volume (m³)", lambda v: f"{v:+.3f}"),
    ("exceeds_reason", "Why flagged", str),
)


def _text(value: Any, fmt) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return ""
    try:
        return fmt(value)
    except (TypeError, ValueError):
        return str(value)


def summary_text(result) -> str:
    s = result.summary()
    e1, e2 = result.settings.epoch_labels
    parts = [f"<b>{e2}</b> against <b>{e1}</b>: {s['core_points']:,} core points, {s['defined']:,} with a "
             f"distance, {s['significant']:,} significant"
             + (f" ({s['share_significant']:.1%})" if math.isfinite(s["share_significant"]) else "") + "."]
    if math.isfinite(s["median_lod95_m"]):
        parts.append(f"Median LoD95 {s['median_lod95_m'] * 1000:.1f} mm; registration error "
                     f"{result.registration_error * 1000:.1f} mm ({result.registration_error_source}).")
    if result.registration is not None:
        reg = result.registration
        rms = f"{reg.rms * 1000:.1f} mm" if math.isfinite(reg.rms) else "n/a"
        parts.append(f"Registration: {reg.method}, RMS {rms}.")
    if result.dod is not None:
        d = result.dod
        parts.append(f"DEM of difference ({d.cell_size:g} m cells): loss {d.loss_m3:.3f} m³, "
                     f"gain {d.gain_m3:.3f} m³, "
                     f"net {d.net_m3:+.3f} m³.")
    if result.zones is not None:
        flagged = s["flagged_zones"]
        parts.append(f"<b>Flagged elements:</b> {', '.join(flagged)}." if flagged else
                     "No element exceeds the threshold.")
    return "<br>".join(parts)


class ScaledImage(QLabel):
    """An image that scales to the label's size, keeping its aspect ratio."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self._pixmap = QPixmap()
        self.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.setMinimumSize(160, 130)
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Ignored)

    def set_image(self, pixmap: QPixmap) -> None:
        self._pixmap = pixmap
        self._rescale()

    def image(self) -> QPixmap:
        return self._pixmap

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self._rescale()

    def _rescale(self) -> None:
        if self._pixmap.isNull():
            self.setPixmap(QPixmap())
            return
        self.setPixmap(self._pixmap.scaled(self.size(), Qt.AspectRatioMode.KeepAspectRatio,
                                           Qt.TransformationMode.SmoothTransformation))


class ResultsPanel(QWidget):
    export_report_requested = Signal()
    show_3d_requested = Signal()
    zone_activated = Signal(str)  # element name: the controller zooms to it

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.result = None
        self.paths: dict[str, Path] = {}
        layout = QVBoxLayout(self)
        self.summary = QLabel("Run Point clouds > Compare epochs… to see results here.")
        self.summary.setWordWrap(True)
        self.summary.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.table = QTableWidget(0, 0)
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QTableWidget.SelectionBehavior.SelectRows)
        self.table.verticalHeader().setVisible(False)
        self.table.cellDoubleClicked.connect(self._row_activated)
        self.table.setToolTip("Double-click an element to zoom the map to it")
        self.table.setMinimumHeight(190)  # seven elements without scrolling
        self.histogram = ScaledImage()
        buttons = QHBoxLayout()
        self.report_button = QPushButton("Export report PDF…")
        self.report_button.clicked.connect(self.export_report_requested.emit)
        self.report_button.setEnabled(False)
        self.folder = QLabel()
        self.folder.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.folder.setWordWrap(True)
        self.view3d_button = QPushButton("Show in 3D")
        self.view3d_button.setToolTip("The change cloud in the 3D View, coloured by M3C2 distance")
        self.view3d_button.clicked.connect(self.show_3d_requested.emit)
        self.view3d_button.setEnabled(False)
        buttons.addWidget(self.report_button)
        buttons.addWidget(self.view3d_button)
        buttons.addStretch(1)
        layout.addWidget(self.summary)
        layout.addWidget(self.table, 2)
        layout.addWidget(self.histogram, 1)
        layout.addWidget(self.folder)
        layout.addLayout(buttons)

    def show_result(self, result, paths: dict[str, Path]) -> None:
        self.result, self.paths = result, dict(paths)
        self.summary.setText(summary_text(result))
        self._fill_table(result)
        histogram = paths.get("histogram")
        pixmap = QPixmap(str(histogram)) if histogram else QPixmap()
        self.histogram.set_image(pixmap)
        if pixmap.isNull():
            self.histogram.setText("(no histogram)")
        folder = Path(paths["json"]).parent if "json" in paths else None
        self.folder.setText(f"Files in {folder}" if folder else "")
        self.report_button.setEnabled(True)
        self.view3d_button.setEnabled(True)

    def _fill_table(self, result) -> None:
        zones = result.zones
        self.table.clear()
        if zones is None:
            self.table.setRowCount(0)
            self.table.setColumnCount(0)
            return
        name_field = result.settings.zone_name_field
        columns = [(name_field, "Element", str)] + [c for c in ZONE_COLUMNS if c[0] in zones.columns]
        self.table.setColumnCount(len(columns))
        self.table.setRowCount(len(zones))
        self.table.setHorizontalHeaderLabels([c[1] for c in columns])
        flag = QBrush(QColor(FLAG_COLOUR))
        for r in range(len(zones)):
            row = zones.iloc[r]
            flagged = bool(row.get("exceeds", False))
            for c, (col, _header, fmt) in enumerate(columns):
                item = QTableWidgetItem(_text(row[col], fmt))
                if c > 0 and col not in ("status", "exceeds_reason"):
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                if flagged:
                    item.setBackground(flag)
                self.table.setItem(r, c, item)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)

    def flagged_rows(self) -> list[int]:
        """Rows drawn as flagged (tests and the report check these)."""
        rows = []
        for r in range(self.table.rowCount()):
            item = self.table.item(r, 0)
            if item is not None and item.background().color() == QColor(FLAG_COLOUR):
                rows.append(r)
        return rows

    def _row_activated(self, row: int, _column: int) -> None:
        item = self.table.item(row, 0)
        if item is not None:
            self.zone_activated.emit(item.text())
