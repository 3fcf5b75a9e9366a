"""Photo viewer: one drone photo of a photo layer, its metadata, and the photos before/after it.

Opened from the map (the "photo" tool, or an identify hit on a photo point or footprint).  The
order for previous/next is the flight order: by capture time (the layer's ``time`` column), then
by file name, so stepping walks along the flight.  The picture zooms with the mouse wheel about
the cursor and "Fit" shows it whole again; images are read with Qt's own JPEG reader, EXIF
orientation applied.
"""

from __future__ import annotations

import math
import re
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor, QImageReader, QPainter, QPixmap
from PySide6.QtWidgets import (QGraphicsPixmapItem, QGraphicsScene, QGraphicsView, QHBoxLayout, QHeaderView,
                               QLabel, QPushButton, QSplitter, QTableWidget, QTableWidgetItem, QVBoxLayout,
                               QWidget)

TIME_COLUMNS = ("time", "datetime", "timestamp", "DateTimeOriginal")
ZOOM_STEP = 1.25


class ImageView(QGraphicsView):
    """A picture with wheel zoom (about the cursor), drag to pan, and fit-to-window."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setScene(QGraphicsScene(self))
        self._item = QGraphicsPixmapItem()
        self._item.setTransformationMode(Qt.TransformationMode.SmoothTransformation)
        self.scene().addItem(self._item)
        self.setDragMode(QGraphicsView.DragMode.ScrollHandDrag)
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.AnchorUnderMouse)
        self.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, True)
        self.setBackgroundBrush(QColor("#202020"))
        self.fitting = True
        self.message = ""

    def set_pixmap(self, pixmap: QPixmap | None, message: str = "") -> None:
        self._item.setPixmap(pixmap if pixmap is not None else QPixmap())
        self.message = message
        self.scene().setSceneRect(self._item.boundingRect())
        self.fit()

    def has_image(self) -> bool:
        return not self._item.pixmap().isNull()

    @property
    def zoom(self) -> float:
        return self.transform().m11()

    def fit(self) -> None:
        self.fitting = True
        if self.has_image():
            self.fitInView(self._item, Qt.AspectRatioMode.KeepAspectRatio)
        self.viewport().update()

    def zoom_by(self, factor: float) -> None:
        self.fitting = False
        self.scale(factor, factor)

    def wheelEvent(self, event) -> None:
        notches = event.angleDelta().y() / 120.0
        if notches and self.has_image():
            self.zoom_by(ZOOM_STEP ** notches)
            event.accept()

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        if self.fitting:
            self.fit()

    def drawForeground(self, painter: QPainter, rect) -> None:
        if self.message and not self.has_image():
            painter.save()
            painter.resetTransform()
            painter.setPen(QColor("#dddddd"))
            painter.drawText(self.viewport().rect(), Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap,
                             self.message)
            painter.restore()


def _time_key(value) -> float:
    """Seconds since the epoch of a capture time: ISO text, EXIF "YYYY:MM:DD HH:MM:SS" text or a
    datetime; inf when unknown (those photos go last).  Naive times are taken as UTC: only the
    order matters, and one flight's photos share a clock."""
    from datetime import datetime, timezone

    if value is None:
        return math.inf
    if hasattr(value, "to_pydatetime"):
        value = value.to_pydatetime()
    if not isinstance(value, datetime):
        text = str(value).strip()
        if re.match(r"^\d{4}:\d\d:\d\d", text):
            text = text.replace(":", "-", 2)
        try:
            value = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            return math.inf
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return value.timestamp()


def flight_order(frame) -> list[int]:
    """Row positions of a photo frame in flight order (capture time, then name/path)."""
    n = len(frame)
    names = [""] * n
    for col in ("name", "path"):
        if col in frame.columns:
            names = frame[col].astype(str).tolist()
            break
    times = [0.0] * n
    for col in TIME_COLUMNS:
        if col in frame.columns:
            parsed = [_time_key(v) for v in frame[col].tolist()]
            if any(math.isfinite(t) for t in parsed):
                times = parsed
                break
    return sorted(range(n), key=lambda i: (times[i], names[i], i))


def _format(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        if not math.isfinite(value):
            return ""
        return f"{value:,.6f}".rstrip("0").rstrip(".") if abs(value) < 1000 else f"{value:,.2f}"
    return str(value)


class PhotoViewer(QWidget):
    """Shows one photo of ``layer`` at a time; ``photo_changed(layer, row)`` when it moves."""

    photo_changed = Signal(object, int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.layer = None
        self.order: list[int] = []
        self.position = -1  # index into order
        self.image = ImageView()
        self.caption = QLabel("Click a photo's camera point or footprint on the map")
        self.caption.setWordWrap(True)
        self.prev_button = QPushButton("◀ Previous")
        self.prev_button.setToolTip("The photo taken before this one (Page Up)")
        self.prev_button.clicked.connect(self.previous)
        self.next_button = QPushButton("Next ▶")
        self.next_button.setToolTip("The photo taken after this one (Page Down)")
        self.next_button.clicked.connect(self.next)
        self.fit_button = QPushButton("Fit")
        self.fit_button.setToolTip("Show the whole photo (mouse wheel zooms)")
        self.fit_button.clicked.connect(self.image.fit)
        self.table = QTableWidget(0, 2)
        self.table.setHorizontalHeaderLabels(["Field", "Value"])
        self.table.verticalHeader().setVisible(False)
        self.table.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        self.table.horizontalHeader().setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        buttons = QHBoxLayout()
        buttons.addWidget(self.prev_button)
        buttons.addWidget(self.next_button)
        buttons.addStretch(1)
        buttons.addWidget(self.fit_button)
        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(self.image)
        split.addWidget(self.table)
        split.setStretchFactor(0, 3)
        split.setStretchFactor(1, 2)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.caption)
        layout.addWidget(split, 1)
        layout.addLayout(buttons)
        self._update_buttons()

    # -- navigation ------------------------------------------------------------------------------
    @property
    def current_row(self) -> int | None:
        return self.order[self.position] if 0 <= self.position < len(self.order) else None

    def show_photo(self, layer, row: int) -> None:
        """Show row ``row`` (position in the layer's table) of photo layer ``layer``."""
        if layer is not self.layer or len(self.order) != len(layer.dataset.frame):
            self.layer = layer
            self.order = flight_order(layer.dataset.frame)
        self.position = self.order.index(int(row))
        self._load()

    def next(self) -> None:
        if self.position + 1 < len(self.order):
            self.position += 1
            self._load()

    def previous(self) -> None:
        if self.position > 0:
            self.position -= 1
            self._load()

    def keyPressEvent(self, event) -> None:
        if event.key() in (Qt.Key.Key_PageDown, Qt.Key.Key_Right):
            self.next()
        elif event.key() in (Qt.Key.Key_PageUp, Qt.Key.Key_Left):
            self.previous()
        else:
            super().keyPressEvent(event)

    def _update_buttons(self) -> None:
        self.prev_button.setEnabled(self.position > 0)
        self.next_button.setEnabled(0 <= self.position < len(self.order) - 1)
        self.fit_button.setEnabled(self.position >= 0)

    # -- display ---------------------------------------------------------------------------------
    def _load(self) -> None:
        row = self.current_row
        frame = self.layer.dataset.frame
        record = {k: v for k, v in frame.iloc[row].items() if k != frame.geometry.name}
        path = record.get("path")
        name = record.get("name") or (Path(str(path)).name if path else f"photo {row + 1}")
        self.caption.setText(f"<b>{name}</b> — photo {self.position + 1} of {len(self.order)} "
                             f"in flight order ({self.layer.name})")
        pixmap, message = _read_pixmap(path)
        self.image.set_pixmap(pixmap, message)
        self.table.setRowCount(len(record))
        for i, (key, value) in enumerate(record.items()):
            self.table.setItem(i, 0, QTableWidgetItem(str(key)))
            self.table.setItem(i, 1, QTableWidgetItem(_format(value)))
        self._update_buttons()
        self.photo_changed.emit(self.layer, row)


def _read_pixmap(path) -> tuple[QPixmap | None, str]:
    if not path:
        return None, "This photo has no file path"
    if not Path(str(path)).exists():
        return None, f"The photo file is missing:\n{path}"
    reader = QImageReader(str(path))
    reader.setAutoTransform(True)  # EXIF orientation
    image = reader.read()
    if image.isNull():
        return None, f"The photo cannot be read ({reader.errorString()}):\n{path}"
    return QPixmap.fromImage(image), ""
