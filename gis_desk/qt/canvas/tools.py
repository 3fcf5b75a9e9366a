"""Map tools: what a mouse gesture on the canvas means.

One table (``TOOLS``) maps the tool names the main window uses to classes.  A tool receives
the canvas's mouse events (positions in widget pixels), turns them into map coordinates with
``canvas.to_map`` and acts through the canvas's view methods or on the model (identify,
measure, selection).  It never renders layers itself; it may paint temporary shapes.
"""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QMouseEvent, QPainter

from gis_desk.analysis.identify import identify
from gis_desk.analysis.measure import format_area, format_distance, measure_line, measure_polygon
from gis_desk.core.layer import VectorLayer
from gis_desk.qt.canvas.rubber_band import RubberBand, paint_box

CLICK_SLOP_PX = 4  # a press and release closer than this is a click, not a drag
IDENTIFY_TOLERANCE_PX = 4  # how near a point or line must be to the cursor to be found


def _pos(event: QMouseEvent) -> QPointF:
    return event.position()


def _moved(a: QPointF, b: QPointF) -> bool:
    return abs(a.x() - b.x()) >= CLICK_SLOP_PX or abs(a.y() - b.y()) >= CLICK_SLOP_PX


class MapTool:
    """Base class: every handler is optional.  ``cancel()`` returns True when it dropped
    something (so Esc can fall through to the canvas otherwise)."""

    name = ""
    cursor = Qt.CursorShape.ArrowCursor

    def __init__(self, canvas) -> None:
        self.canvas = canvas

    def activate(self) -> None:
        self.canvas.setCursor(self.cursor)

    def deactivate(self) -> None:
        self.cancel()

    def press(self, event: QMouseEvent) -> None: ...

    def move(self, event: QMouseEvent) -> None: ...

    def release(self, event: QMouseEvent) -> None: ...

    def double_click(self, event: QMouseEvent) -> None: ...

    def leave(self) -> None: ...

    def cancel(self) -> bool:
        return False

    def paint(self, painter: QPainter) -> None: ...


class PanTool(MapTool):
    """Drag to move the map; the cached image follows the cursor and the redraw follows release."""

    name = "pan"
    cursor = Qt.CursorShape.OpenHandCursor

    def __init__(self, canvas) -> None:
        super().__init__(canvas)
        self._origin: QPointF | None = None
        self._start_view = None
        self._dragged = False

    @property
    def dragging(self) -> bool:
        return self._origin is not None

    def press(self, event: QMouseEvent) -> None:
        if event.button() not in (Qt.MouseButton.LeftButton, Qt.MouseButton.MiddleButton):
            return
        self._origin = _pos(event)
        self._start_view = self.canvas.viewport
        self._dragged = False
        self.canvas.setCursor(Qt.CursorShape.ClosedHandCursor)

    def move(self, event: QMouseEvent) -> None:
        if self._origin is None:
            return
        pos = _pos(event)
        self._dragged = self._dragged or _moved(pos, self._origin)
        if self._dragged:
            dx, dy = pos.x() - self._origin.x(), pos.y() - self._origin.y()
            self.canvas.preview_view(self.canvas.shifted(self._start_view, dx, dy))

    def release(self, event: QMouseEvent) -> None:
        if self._origin is None:
            return
        self.move(event)
        dragged = self._dragged
        self._origin = None
        self.canvas.setCursor(self.cursor if self.canvas.tool is self else self.canvas.tool.cursor)
        if dragged:
            self.canvas.commit_view()

    def cancel(self) -> bool:
        if self._origin is None:
            return False
        start, self._origin = self._start_view, None
        self.canvas.preview_view(start)
        self.canvas.commit_view()
        return True


class _BoxTool(MapTool):
    """Shared by tools that drag a box: tracks the press point and the current rectangle."""

    def __init__(self, canvas) -> None:
        super().__init__(canvas)
        self._origin: QPointF | None = None
        self._rect: QRectF | None = None

    def press(self, event: QMouseEvent) -> None:
        if event.button() == Qt.MouseButton.LeftButton:
            self._origin = _pos(event)
            self._rect = None

    def move(self, event: QMouseEvent) -> None:
        if self._origin is not None and (self._rect is not None or _moved(_pos(event), self._origin)):
            self._rect = QRectF(self._origin, _pos(event)).normalized()
            self.canvas.update()

    def _finish(self, event: QMouseEvent) -> tuple[QPointF, QRectF | None] | None:
        """(press point, box or None for a click); None when no press started here."""
        if self._origin is None or event.button() != Qt.MouseButton.LeftButton:
            return None
        self.move(event)
        origin, rect = self._origin, self._rect
        self._origin = self._rect = None
        self.canvas.update()
        return origin, rect

    def box_extent(self, rect: QRectF) -> tuple[float, float, float, float]:
        x0, y0 = self.canvas.to_map(rect.topLeft())
        x1, y1 = self.canvas.to_map(rect.bottomRight())
        return min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1)

    def cancel(self) -> bool:
        had = self._origin is not None
        self._origin = self._rect = None
        self.canvas.update()
        return had

    def paint(self, painter: QPainter) -> None:
        if self._rect is not None:
            paint_box(painter, self._rect)


class ZoomBoxTool(_BoxTool):
    """Drag a box to zoom to it; a plain click zooms in two times about the click."""

    name = "zoom_in_box"
    cursor = Qt.CursorShape.CrossCursor

    def release(self, event: QMouseEvent) -> None:
        done = self._finish(event)
        if done is None:
            return
        origin, rect = done
        if rect is not None:
            self.canvas.set_extent(self.box_extent(rect))
        else:
            self.canvas.zoom_by(2.0, origin)


class IdentifyTool(MapTool):
    """Click: features and pixel values under the cursor in every visible layer, top first."""

    name = "identify"
    cursor = Qt.CursorShape.PointingHandCursor

    def __init__(self, canvas) -> None:
        super().__init__(canvas)
        self._origin: QPointF | None = None

    def press(self, event: QMouseEvent) -> None:
        if event.button() == Qt.MouseButton.LeftButton:
            self._origin = _pos(event)

    def release(self, event: QMouseEvent) -> None:
        origin, self._origin = self._origin, None
        if origin is None or event.button() != Qt.MouseButton.LeftButton or _moved(origin, _pos(event)):
            return
        self.identify_at(origin)

    def identify_at(self, pos: QPointF) -> list:
        x, y = self.canvas.to_map(pos)
        tolerance = IDENTIFY_TOLERANCE_PX * self.canvas.viewport.pixel_size
        results = identify(self.canvas.project, x, y, tolerance)
        self.canvas.set_highlight([(r.layer, r.geometry) for r in results if r.geometry is not None])
        self.canvas.identify_results.emit(results)
        return results

    def cancel(self) -> bool:
        self._origin = None
        return self.canvas.set_highlight([])


class MeasureTool(MapTool):
    """Click to add vertices; moving previews the next segment; double-click or right-click
    finishes; Esc clears.  Measures in the project CRS (planar for BNG, geodesic for lon/lat)."""

    cursor = Qt.CursorShape.CrossCursor

    def __init__(self, canvas, closed: bool) -> None:
        super().__init__(canvas)
        self.band = RubberBand(closed=closed)
        self.finished = False
        self.text = ""

    def press(self, event: QMouseEvent) -> None:
        if event.button() == Qt.MouseButton.RightButton:
            self.finish()
            return
        if event.button() != Qt.MouseButton.LeftButton:
            return
        if self.finished:
            self.band.clear()
            self.finished = False
        self._add_vertex(event)
        self._report()

    def _add_vertex(self, event: QMouseEvent) -> None:
        point = self.canvas.to_map(_pos(event))
        if not self.band.vertices or self.band.vertices[-1] != point:
            self.band.vertices.append(point)
        self.band.floating = None

    def move(self, event: QMouseEvent) -> None:
        if self.band.vertices and not self.finished:
            self.band.floating = self.canvas.to_map(_pos(event))
            self._report()

    def double_click(self, event: QMouseEvent) -> None:
        # the first click of a double-click already added this vertex; adding it here too
        # (without duplicates) also serves systems that deliver only the double-click
        if event.button() == Qt.MouseButton.LeftButton and not self.finished:
            self._add_vertex(event)
            self.finish()

    def leave(self) -> None:
        if self.band.floating is not None:
            self.band.floating = None
            self._report()

    def finish(self) -> None:
        if self.band.vertices and not self.finished:
            self.band.floating = None
            self.finished = True
            self._report()

    def cancel(self) -> bool:
        had = not self.band.is_empty
        self.band.clear()
        self.finished = False
        if had:
            self._emit("")
        return had

    def _report(self) -> None:
        self._emit(self.measurement_text())  # each subclass words its own result

    def _emit(self, text: str) -> None:
        self.text = text
        self.canvas.measure_changed.emit(text)
        self.canvas.update()

    def paint(self, painter: QPainter) -> None:
        self.band.paint(painter, self.canvas.viewport)


class MeasureDistanceTool(MeasureTool):
    name = "measure_distance"

    def __init__(self, canvas) -> None:
        super().__init__(canvas, closed=False)

    def measurement_text(self) -> str:
        crs = self.canvas.project.crs
        total = measure_line(self.band.points(), crs)
        text = f"Distance {format_distance(total)}"
        if self.band.floating is not None and self.band.vertices:
            segment = measure_line([self.band.vertices[-1], self.band.floating], crs)
            text += f" (segment {format_distance(segment)})"
        return text


class MeasureAreaTool(MeasureTool):
    name = "measure_area"

    def __init__(self, canvas) -> None:
        super().__init__(canvas, closed=True)

    def measurement_text(self) -> str:
        area, perimeter = measure_polygon(self.band.points(), self.canvas.project.crs)
        return f"Area {format_area(area)}, perimeter {format_distance(perimeter)}"


class SelectTool(_BoxTool):
    """Select features of the canvas's active vector layer.

    Click: the feature under the cursor (replacing the selection; an empty spot clears it).
    Drag: every feature touching the box.  Ctrl+click toggles one feature; Ctrl+drag adds.
    """

    name = "select"
    cursor = Qt.CursorShape.ArrowCursor

    def release(self, event: QMouseEvent) -> None:
        done = self._finish(event)
        if done is None:
            return
        origin, rect = done
        layer = self.canvas.active_layer
        if not isinstance(layer, VectorLayer) or layer.dataset is None:
            self.canvas.message.emit("info", "Choose a vector layer in the layer tree to select its features.")
            return
        additive = bool(event.modifiers() & Qt.KeyboardModifier.ControlModifier)
        current = set(layer.selection)
        if rect is not None:
            ids = self.canvas.features_in_extent(layer, self.box_extent(rect))
            layer.selection = current | ids if additive else ids
            return
        x, y = self.canvas.to_map(origin)
        tolerance = IDENTIFY_TOLERANCE_PX * self.canvas.viewport.pixel_size
        hits = identify(self.canvas.project, x, y, tolerance, layers=[layer])
        fid = hits[0].feature_id if hits else None
        if additive:
            if fid is not None:
                layer.selection = current ^ {fid}
        else:
            layer.selection = set() if fid is None else {fid}


TOOLS: dict[str, type[MapTool]] = {
    tool.name: tool
    for tool in (PanTool, ZoomBoxTool, IdentifyTool, MeasureDistanceTool, MeasureAreaTool, SelectTool)
}
