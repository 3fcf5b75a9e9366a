"""Legend drawn over the 3D view (a translucent child widget) and onto snapshots.

Takes ``gis_desk.core.legend.LegendEntry`` items: 'ramp' entries become a vertical gradient
with the low and high values, any other entry a swatch with its label.
"""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QFontMetrics, QLinearGradient, QPainter
from PySide6.QtWidgets import QWidget

PAD = 8
SWATCH = 12
RAMP_HEIGHT = 120


def _fmt(v) -> str:
    if v is None:
        return ""
    v = float(v)
    return f"{v:.3g}" if abs(v) < 1000 else f"{v:,.0f}"


class LegendOverlay(QWidget):
    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        self.title = ""
        self.entries: list = []
        self.move(PAD, PAD)

    def set_entries(self, title: str, entries: list) -> None:
        self.title, self.entries = title, list(entries)
        self.resize(self.size_hint_for(self.fontMetrics()))
        self.update()

    def size_hint_for(self, fm: QFontMetrics):
        from PySide6.QtCore import QSize

        width = fm.horizontalAdvance(self.title) + 2 * PAD
        height = PAD + (fm.height() + 4 if self.title else 0)
        for e in self.entries:
            if e.shape == "ramp":
                labels = [_fmt(e.vmin), _fmt(e.vmax), e.label]
                width = max(width, 2 * PAD + SWATCH * 2 + 6 + max(fm.horizontalAdvance(t) for t in labels))
                height += RAMP_HEIGHT + 4
            else:
                width = max(width, 2 * PAD + SWATCH + 6 + fm.horizontalAdvance(e.label))
                height += max(SWATCH, fm.height()) + 3
        return QSize(min(width, 320), height + PAD)

    def paintEvent(self, _event) -> None:
        painter = QPainter(self)
        self._paint(painter, QPointF(0, 0))
        painter.end()

    def paint_on(self, painter: QPainter) -> None:
        """Paint at this widget's place in its parent (snapshot images)."""
        self._paint(painter, QPointF(self.x(), self.y()))

    def _paint(self, painter: QPainter, at: QPointF) -> None:
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.translate(at)
        fm = QFontMetrics(self.font())
        painter.setFont(self.font())
        size = self.size_hint_for(fm)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(QColor(255, 255, 255, 215))
        painter.drawRoundedRect(QRectF(0, 0, size.width(), size.height()), 4, 4)
        painter.setPen(QColor(20, 20, 20))
        y = PAD
        if self.title:
            painter.drawText(QPointF(PAD, y + fm.ascent()), self.title)
            y += fm.height() + 4
        for e in self.entries:
            if e.shape == "ramp":
                y = self._ramp(painter, e, y, fm)
            else:
                painter.setBrush(QColor(e.fill or e.stroke or "#888888"))
                painter.setPen(QColor(e.stroke) if e.stroke else Qt.PenStyle.NoPen)
                painter.drawRect(QRectF(PAD, y, SWATCH, SWATCH))
                painter.setPen(QColor(20, 20, 20))
                painter.drawText(QPointF(PAD + SWATCH + 6, y + (SWATCH + fm.ascent() - fm.descent()) / 2), e.label)
                y += max(SWATCH, fm.height()) + 3
        painter.restore()

    def _ramp(self, painter: QPainter, e, y: float, fm: QFontMetrics) -> float:
        from gis_desk.core.ramps import ramp_colors

        colours = ramp_colors(e.ramp or "viridis", 16, invert=bool(e.invert))
        grad = QLinearGradient(0, y + RAMP_HEIGHT, 0, y)  # low at the bottom
        for i, c in enumerate(colours):
            grad.setColorAt(i / (len(colours) - 1), QColor(c))
        painter.setPen(QColor(90, 90, 90))
        painter.setBrush(grad)
        painter.drawRect(QRectF(PAD, y, SWATCH * 2, RAMP_HEIGHT))
        painter.setPen(QColor(20, 20, 20))
        x = PAD + SWATCH * 2 + 6
        painter.drawText(QPointF(x, y + fm.ascent()), _fmt(e.vmax))
        painter.drawText(QPointF(x, y + RAMP_HEIGHT / 2 + fm.ascent() / 2), e.label)
        painter.drawText(QPointF(x, y + RAMP_HEIGHT - fm.descent()), _fmt(e.vmin))
        return y + RAMP_HEIGHT + 4
