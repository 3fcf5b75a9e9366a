"""The main window's status bar.

Shows the cursor position in British National Grid (E, N to 1 m) and WGS84 (lat, lon to 5
decimals) whatever the project CRS, the map scale as an editable "1:N" combo box of common
scales, the project CRS as a button, the last render time, and a progress bar with a cancel
button while background tasks run.
"""

from __future__ import annotations

import math
import re

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (QComboBox, QLabel, QProgressBar, QStatusBar, QToolButton, QWidget)

from gis_desk.core.crs import BNG, WGS84, crs_id, transform_xy
from gis_desk.qt.icons import icon

COMMON_SCALES = (500, 1000, 1250, 2500, 5000, 10000, 25000, 50000, 100000, 250000, 500000, 1000000)


def parse_scale(text: str) -> float | None:
    """The denominator in '1:25,000', '1:25000', '25000' or '25k'; None if not a positive number."""
    t = text.strip().lower().replace(",", "").replace(" ", "")
    if ":" in t:
        t = t.split(":", 1)[1]
    m = re.fullmatch(r"(\d+(?:\.\d+)?)(k|m)?", t)
    if not m:
        return None
    value = float(m.group(1)) * {None: 1, "k": 1e3, "m": 1e6}[m.group(2)]
    return value if value > 0 else None


def format_scale(denominator: float) -> str:
    return f"1:{int(round(denominator)):,}"


def format_bng(e: float, n: float) -> str:
    return f"E {e:,.0f}  N {n:,.0f}"


def format_wgs84(lon: float, lat: float) -> str:
    return f"{lat:.5f}°, {lon:.5f}°"


class StatusBar(QStatusBar):
    scale_requested = Signal(float)  # denominator typed or chosen by the user
    crs_clicked = Signal()
    cancel_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.bng_label = QLabel("E —  N —")
        self.bng_label.setToolTip("Cursor position, British National Grid (EPSG:27700), metres")
        self.bng_label.setMinimumWidth(160)
        self.wgs_label = QLabel("—")
        self.wgs_label.setToolTip("Cursor position, WGS84 latitude, longitude")
        self.wgs_label.setMinimumWidth(150)
        self.scale_combo = QComboBox()
        self.scale_combo.setEditable(True)
        self.scale_combo.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
        self.scale_combo.setMinimumWidth(120)
        self.scale_combo.setToolTip("Map scale: pick one or type e.g. 1:2500")
        self.scale_combo.addItems([format_scale(s) for s in COMMON_SCALES])
        self.scale_combo.lineEdit().returnPressed.connect(self._scale_typed)
        self.scale_combo.activated.connect(lambda _i: self._scale_typed())
        self.render_label = QLabel("")
        self.render_label.setToolTip("Time of the last map redraw")
        self.task_label = QLabel("")
        self.progress = QProgressBar()
        self.progress.setRange(0, 100)
        self.progress.setMaximumWidth(160)
        self.cancel_button = QToolButton()
        self.cancel_button.setIcon(icon("cancel"))
        self.cancel_button.setToolTip("Cancel the running task")
        self.cancel_button.setAutoRaise(True)
        self.cancel_button.clicked.connect(self.cancel_requested.emit)
        self.crs_button = QToolButton()
        self.crs_button.setIcon(icon("crs"))
        self.crs_button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.crs_button.setAutoRaise(True)
        self.crs_button.setToolTip("Project coordinate reference system (click to change)")
        self.crs_button.clicked.connect(self.crs_clicked.emit)
        for w in (self.task_label, self.progress, self.cancel_button):
            self.addPermanentWidget(w)
            w.hide()
        self.addPermanentWidget(QLabel("Coordinate"))
        self.addPermanentWidget(self.bng_label)
        self.addPermanentWidget(self.wgs_label)
        self.addPermanentWidget(QLabel("Scale"))
        self.addPermanentWidget(self.scale_combo)
        self.addPermanentWidget(self.render_label)
        self.addPermanentWidget(self.crs_button)

    # -- updates from the canvas ---------------------------------------------------------------
    def set_cursor(self, x: float, y: float, crs) -> None:
        """Cursor at (x, y) in ``crs`` (the project CRS)."""
        try:
            e, n = transform_xy(crs, BNG, x, y)
            lon, lat = transform_xy(crs, WGS84, x, y)
        except Exception:  # noqa: BLE001 - a point outside a CRS's area just shows no figures
            e = n = lon = lat = math.nan
        ok = all(math.isfinite(v) for v in (e, n, lon, lat))
        self.bng_label.setText(format_bng(e, n) if ok else "E —  N —")
        self.wgs_label.setText(format_wgs84(lon, lat) if ok else "—")

    def set_scale(self, denominator: float) -> None:
        if denominator and math.isfinite(denominator) and not self.scale_combo.lineEdit().hasFocus():
            self.scale_combo.setEditText(format_scale(denominator))

    def set_crs(self, crs) -> None:
        self.crs_button.setText(crs_id(crs) or "no CRS")
        self.crs_button.setToolTip(f"Project CRS: {getattr(crs, 'name', crs)} (click to change)")

    def set_render_time(self, ms: float) -> None:
        self.render_label.setText(f"Rendered in {ms:.0f} ms")

    # -- background tasks ----------------------------------------------------------------------
    def set_busy(self, busy: bool, title: str = "") -> None:
        self.task_label.setText(title)
        for w in (self.task_label, self.progress, self.cancel_button):
            w.setVisible(busy)
        if not busy:
            self.progress.setValue(0)

    def set_progress(self, percent: float) -> None:
        self.progress.setValue(int(round(percent)))

    def _scale_typed(self) -> None:
        value = parse_scale(self.scale_combo.currentText())
        if value is None:
            self.showMessage("Type a scale such as 1:2500", 4000)
            return
        self.scale_requested.emit(value)
