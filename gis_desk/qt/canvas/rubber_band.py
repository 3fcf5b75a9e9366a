"""Temporary shapes drawn over the map by the tools: zoom/select boxes, measured lines and
polygons, identify highlights.

Shapes keep their vertices in MAP coordinates (project CRS) so they stay put while the view
pans or zooms; they are converted to pixels with the current viewport at paint time.
"""

from __future__ import annotations

from typing import Iterable, Sequence

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QBrush, QColor, QPainter, QPainterPath, QPen, QPolygonF

BAND_STROKE = QColor(220, 30, 30, 230)
BAND_FILL = QColor(220, 30, 30, 50)
BOX_STROKE = QColor(20, 90, 200, 230)
BOX_FILL = QColor(20, 90, 200, 40)
HIGHLIGHT_STROKE = QColor(255, 140, 0, 240)
HIGHLIGHT_FILL = QColor(255, 200, 0, 70)


class RubberBand:
    """A line or polygon being digitised (measure tools).

    ``vertices`` are fixed map points; ``floating`` is the map point under the cursor that
    previews the next segment (None when the shape is finished or the cursor left).
    """

    def __init__(self, closed: bool = False) -> None:
        self.closed = closed
        self.vertices: list[tuple[float, float]] = []
        self.floating: tuple[float, float] | None = None

    def clear(self) -> None:
        self.vertices.clear()
        self.floating = None

    @property
    def is_empty(self) -> bool:
        return not self.vertices

    def points(self, include_floating: bool = True) -> list[tuple[float, float]]:
        pts = list(self.vertices)
        if include_floating and self.floating is not None:
            pts.append(self.floating)
        return pts

    def paint(self, painter: QPainter, viewport) -> None:
        pts = [QPointF(*viewport.world_to_pixel(x, y)) for x, y in self.points()]
        if not pts:
            return
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        pen = QPen(BAND_STROKE, 2)
        pen.setCosmetic(True)
        painter.setPen(pen)
        if self.closed and len(pts) >= 3:
            painter.setBrush(QBrush(BAND_FILL))
            painter.drawPolygon(QPolygonF(pts))
        elif len(pts) >= 2:
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.drawPolyline(QPolygonF(pts))
        painter.setBrush(QBrush(QColor("white")))
        for p in pts[: len(self.vertices)]:
            painter.drawEllipse(p, 3.0, 3.0)
        painter.restore()


def paint_box(painter: QPainter, rect: QRectF) -> None:
    """The dashed box of a zoom or select drag (``rect`` in widget pixels)."""
    painter.save()
    pen = QPen(BOX_STROKE, 1, Qt.PenStyle.DashLine)
    pen.setCosmetic(True)
    painter.setPen(pen)
    painter.setBrush(QBrush(BOX_FILL))
    painter.drawRect(rect.normalized())
    painter.restore()


def _ring_path(path: QPainterPath, ring: Sequence[Sequence[float]], to_px) -> None:
    pts = [QPointF(*to_px(c[0], c[1])) for c in ring]
    if pts:
        path.addPolygon(QPolygonF(pts))
        path.closeSubpath()


def geometry_path(geometry, to_px) -> QPainterPath:
    """A QPainterPath (pixels) for a shapely geometry in map coordinates; ``to_px(x, y)``
    maps a map point to widget pixels."""
    path = QPainterPath()
    path.setFillRule(Qt.FillRule.OddEvenFill)
    gtype = geometry.geom_type
    if gtype in ("MultiPolygon", "MultiLineString", "MultiPoint", "GeometryCollection"):
        for part in geometry.geoms:
            path.addPath(geometry_path(part, to_px))
    elif gtype == "Polygon":
        _ring_path(path, geometry.exterior.coords, to_px)
        for hole in geometry.interiors:
            _ring_path(path, hole.coords, to_px)
    elif gtype in ("LineString", "LinearRing"):
        pts = [QPointF(*to_px(c[0], c[1])) for c in geometry.coords]
        if pts:
            path.moveTo(pts[0])
            for p in pts[1:]:
                path.lineTo(p)
    elif gtype == "Point" and not geometry.is_empty:
        x, y = to_px(geometry.x, geometry.y)
        path.addEllipse(QPointF(x, y), 6.0, 6.0)
    return path


def paint_highlight(painter: QPainter, geometries: Iterable, to_px) -> None:
    """Outline and tint identified features (geometries in map coordinates)."""
    painter.save()
    painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
    pen = QPen(HIGHLIGHT_STROKE, 2.5)
    pen.setCosmetic(True)
    painter.setPen(pen)
    painter.setBrush(QBrush(HIGHLIGHT_FILL))
    for geom in geometries:
        if geom is not None and not geom.is_empty:
            painter.drawPath(geometry_path(geom, to_px))
    painter.restore()
