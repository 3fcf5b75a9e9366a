"""What follows playback on the map, and the map tools of the Drone menu.

``FootageOverlay`` is a canvas overlay (``canvas.add_overlay``): the camera footprint of the
frame on screen, the drone's position with a heading arrow, and the layer's bookmarks as small
flags.  It is painted over the cached layer images, so moving it costs no layer re-render.

``SeekTool`` ("seek"): click near the flight track to jump the video to that moment.
``PhotoTool`` ("photo"): click a photo's camera point or footprint to open it in the viewer.
"""

from __future__ import annotations

import math
from typing import Any, Callable

import numpy as np
from PySide6.QtCore import QPointF, Qt
from PySide6.QtGui import QBrush, QColor, QMouseEvent, QPainter, QPainterPath, QPen, QPolygonF

from gis_desk.core.crs import same_crs, to_crs, transformer
from gis_desk.qt.canvas.tools import MapTool

DEFAULT_F35_MM = 24.0  # most DJI cameras film at about 24 mm equivalent (84 deg diagonal)
SEEK_TOLERANCE_PX = 12  # a click this close to the track seeks
MARKER = QColor("#e8202a")
FOOTPRINT_EDGE = QColor(255, 214, 0, 230)
FOOTPRINT_FILL = QColor(255, 214, 0, 60)


def _finite(value: Any, default: float | None = None) -> float | None:
    try:
        value = float(value)
    except (TypeError, ValueError):
        return default
    return value if math.isfinite(value) else default


def heading_of(position: dict) -> float | None:
    """Where the camera looks (degrees clockwise from north): gimbal yaw, else the aircraft's."""
    for key in ("gimbal_yaw", "yaw", "flight_yaw"):
        value = _finite(position.get(key))
        if value is not None:
            return value
    return None


def focal_35_of(layer, position: dict) -> float:
    """35 mm equivalent focal length for the frame: the telemetry's value at that moment, the
    clip's typical value, else a wide-angle default."""
    value = _finite(position.get("focal_len_35mm"))
    if value and value > 0:
        return value
    telemetry = getattr(getattr(layer, "dataset", None), "telemetry", None)
    f35 = getattr(telemetry, "focal_len_35mm", None)
    if f35 is not None:
        f35 = np.asarray(f35, float)
        f35 = f35[np.isfinite(f35) & (f35 > 0)]
        if f35.size:
            return float(np.median(f35))
    return DEFAULT_F35_MM


def frame_footprint(layer, position: dict, aspect: float, ground: Any = 0.0, camera_z: float | None = None):
    """The ground footprint (shapely Polygon, layer CRS) of the frame at ``position``, or None.

    Heights: without a terrain model the ground is the take-off plane and the camera is
    ``rel_alt`` above it (DJI's relative altitude is above take-off)."""
    from gis_desk.analysis.footprint import camera_footprint, fov_from_focal_35mm

    x, y = _finite(position.get("x")), _finite(position.get("y"))
    yaw = heading_of(position)
    pitch = _finite(position.get("gimbal_pitch"), _finite(position.get("pitch")))
    z = camera_z if camera_z is not None else _finite(position.get("rel_alt"))
    if None in (x, y, yaw, pitch, z) or to_crs(layer.crs).is_geographic:
        return None
    roll = _finite(position.get("gimbal_roll"), 0.0)
    hfov, vfov = fov_from_focal_35mm(focal_35_of(layer, position), aspect)
    try:
        return camera_footprint(x, y, z, yaw, pitch, roll, hfov, vfov, ground=ground)
    except (ValueError, ArithmeticError):
        return None


class FootageOverlay:
    """Marker, heading arrow, footprint and bookmark flags of the footage on the player."""

    def __init__(self, canvas) -> None:
        self.canvas = canvas
        self.layer = None
        self.position: dict | None = None
        self.footprint = None  # shapely Polygon in the layer CRS
        self.visible = True

    def set_state(self, layer, position: dict | None, footprint) -> None:
        self.layer, self.position, self.footprint = layer, position, footprint
        self.canvas.update()

    def clear(self) -> None:
        self.set_state(None, None, None)

    def _to_view(self, viewport) -> Callable:
        """f(x, y arrays in the layer CRS) -> pixel arrays in the widget."""
        if self.layer is None or same_crs(self.layer.crs, viewport.crs):
            return lambda x, y: viewport.world_to_pixel(np.asarray(x, float), np.asarray(y, float))
        t = transformer(self.layer.crs, viewport.crs)

        def convert(x, y):
            px, py = t.transform(np.asarray(x, float), np.asarray(y, float))
            return viewport.world_to_pixel(px, py)

        return convert

    def marker_pixel(self, viewport) -> tuple[float, float] | None:
        if self.position is None:
            return None
        x, y = _finite(self.position.get("x")), _finite(self.position.get("y"))
        if x is None or y is None:
            return None
        px, py = self._to_view(viewport)(x, y)
        return float(px), float(py)

    def paint(self, painter: QPainter, viewport) -> None:
        if not self.visible or self.layer is None or not getattr(self.layer, "visible", True):
            return
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        to_px = self._to_view(viewport)
        self._paint_bookmarks(painter, to_px)
        if self.footprint is not None and not self.footprint.is_empty:
            xs, ys = np.asarray(self.footprint.exterior.coords).T
            px, py = to_px(xs, ys)
            poly = QPolygonF([QPointF(float(a), float(b)) for a, b in zip(np.atleast_1d(px), np.atleast_1d(py))])
            painter.setPen(QPen(FOOTPRINT_EDGE, 2.0))
            painter.setBrush(QBrush(FOOTPRINT_FILL))
            painter.drawPolygon(poly)
        marker = self.marker_pixel(viewport)
        if marker is not None:
            self._paint_marker(painter, QPointF(*marker), heading_of(self.position), viewport)
        painter.restore()

    def _paint_marker(self, painter: QPainter, at: QPointF, heading: float | None, viewport) -> None:
        if heading is not None:
            # the arrow points along the heading in map space: grid north is up on a projected view
            a = math.radians(heading)
            tip = QPointF(at.x() + 26 * math.sin(a), at.y() - 26 * math.cos(a))
            side = math.radians(150)
            left = QPointF(tip.x() - 9 * math.sin(a - side), tip.y() + 9 * math.cos(a - side))
            right = QPointF(tip.x() - 9 * math.sin(a + side), tip.y() + 9 * math.cos(a + side))
            painter.setPen(QPen(QColor("white"), 5.0, Qt.PenStyle.SolidLine, Qt.PenCapStyle.RoundCap))
            painter.drawLine(at, tip)
            painter.setPen(QPen(MARKER, 2.5, Qt.PenStyle.SolidLine, Qt.PenCapStyle.RoundCap))
            painter.drawLine(at, tip)
            head = QPainterPath(tip)
            head.lineTo(left)
            head.lineTo(right)
            head.closeSubpath()
            painter.setPen(QPen(QColor("white"), 1.0))
            painter.setBrush(QBrush(MARKER))
            painter.drawPath(head)
        painter.setPen(QPen(QColor("white"), 2.0))
        painter.setBrush(QBrush(MARKER))
        painter.drawEllipse(at, 7.0, 7.0)

    def _paint_bookmarks(self, painter: QPainter, to_px) -> None:
        bookmarks = list(getattr(self.layer, "bookmarks", []) or [])
        if not bookmarks:
            return
        xs = np.array([_finite(getattr(b, "x", None), np.nan) for b in bookmarks], float)
        ys = np.array([_finite(getattr(b, "y", None), np.nan) for b in bookmarks], float)
        ok = np.isfinite(xs) & np.isfinite(ys)
        if not ok.any():
            return
        px, py = to_px(xs[ok], ys[ok])
        painter.setBrush(QBrush(QColor("#1f6fd1")))
        for x, y in zip(np.atleast_1d(px), np.atleast_1d(py)):
            painter.setPen(QPen(QColor("#1f3f8a"), 2.0))
            painter.drawLine(QPointF(x, y), QPointF(x, y - 16))
            painter.setPen(QPen(QColor("white"), 1.0))
            painter.drawRect(int(x), int(y - 16), 10, 7)


def nearest_track_point(layer, x: float, y: float, project_crs) -> tuple[int, float] | None:
    """(row, distance in project CRS units) of ``layer``'s track point nearest to (x, y)."""
    frame = getattr(getattr(layer, "dataset", None), "frame", None)
    if frame is None or len(frame) == 0:
        return None
    gx = np.asarray(frame.geometry.x, float)
    gy = np.asarray(frame.geometry.y, float)
    if not same_crs(layer.crs, project_crs):
        gx, gy = transformer(layer.crs, project_crs).transform(gx, gy)
    d = np.hypot(np.asarray(gx) - x, np.asarray(gy) - y)
    if not np.isfinite(d).any():
        return None
    i = int(np.nanargmin(d))
    return i, float(d[i])


class _ClickTool(MapTool):
    """A tool acting on plain clicks (not drags) at a map position."""

    cursor = Qt.CursorShape.CrossCursor

    def __init__(self, canvas, on_click: Callable[[float, float, float], Any]) -> None:
        super().__init__(canvas)
        self.on_click = on_click
        self._origin: QPointF | None = None

    def press(self, event: QMouseEvent) -> None:
        if event.button() == Qt.MouseButton.LeftButton:
            self._origin = event.position()

    def release(self, event: QMouseEvent) -> None:
        origin, self._origin = self._origin, None
        if origin is None or event.button() != Qt.MouseButton.LeftButton:
            return
        pos = event.position()
        if abs(pos.x() - origin.x()) >= 4 or abs(pos.y() - origin.y()) >= 4:
            return
        self.click_at(origin)

    def click_at(self, pos: QPointF):
        x, y = self.canvas.to_map(pos)
        return self.on_click(x, y, self.canvas.viewport.pixel_size)

    def cancel(self) -> bool:
        had = self._origin is not None
        self._origin = None
        return had


class SeekTool(_ClickTool):
    """Click the flight track: the video jumps to when the drone was there."""

    name = "seek"


class PhotoTool(_ClickTool):
    """Click a photo's camera point or footprint: the photo opens in the viewer."""

    name = "photo"
    cursor = Qt.CursorShape.PointingHandCursor
