"""The 2D map canvas: a view of ``session.project`` drawn by the Qt-free renderer.

How drawing works
-----------------
* Every visible layer is rendered by ``gis_desk.render.renderer.render_layer`` in a worker
  thread (``RenderScheduler``) into its own cached image, tagged with the viewport it was
  drawn for.  A new view cancels the stale jobs.
* ``paintEvent`` only composes: cached layer images bottom to top, each with the layer's
  opacity, placed where their viewport's extent falls in the CURRENT viewport.  So a drag
  shows the last images shifted, a wheel zoom shows them scaled at once, and the redraw
  replaces them when it arrives.  Decorations (scale bar, north arrow) come from the same
  renderer's ``draw_decorations`` on a transparent overlay, so the canvas and
  ``gis-desk render`` look alike.
* Model events decide what to redo: visibility and opacity only recompose; style, dataset
  and selection changes re-render that one layer; view changes re-render all visible layers.

Coordinates: widget pixels have (0, 0) at the top-left; map coordinates are in the project
CRS (``project.crs``; metres for British National Grid).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from functools import partial
from typing import Any

import numpy as np
from PySide6.QtCore import QPointF, QRectF, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QImage, QKeyEvent, QMouseEvent, QPainter, QWheelEvent
from PySide6.QtWidgets import QWidget

from gis_desk.core.crs import WGS84, crs_id, same_crs, transform_bounds
from gis_desk.core.layer import Layer, VectorLayer
from gis_desk.errors import CrsError, GisDeskError
from gis_desk.qt.canvas.render_job import RenderResult, RenderScheduler, rgba_to_qimage
from gis_desk.qt.canvas.rubber_band import paint_highlight
from gis_desk.qt.canvas.tools import TOOLS, MapTool, PanTool
from gis_desk.render.viewport import Viewport

log = logging.getLogger(__name__)

# Great Britain in lon/lat: what an empty project shows
DEFAULT_EXTENT_WGS84 = (-8.7, 49.8, 1.9, 60.9)
BACKGROUND = QColor("white")


@dataclass
class LayerImage:
    """A layer's last rendered image and the viewport it was drawn for; ``fresh`` is False once
    the layer changed so the image is only a placeholder until the redraw arrives."""

    viewport: Viewport
    image: QImage | None
    fresh: bool = True


class _ModelLink:
    """The canvas's connections to psygnal model signals, undone when the widget goes away
    (psygnal would otherwise call into a deleted C++ widget)."""

    def __init__(self) -> None:
        self._project: list[tuple[Any, Any]] = []
        self._layers: dict[str, list[tuple[Any, Any]]] = {}

    def connect(self, signal, callback, layer_id: str | None = None) -> None:
        signal.connect(callback)
        (self._project if layer_id is None else self._layers.setdefault(layer_id, [])).append((signal, callback))

    def disconnect_layer(self, layer_id: str) -> None:
        for signal, callback in self._layers.pop(layer_id, []):
            signal.disconnect(callback, missing_ok=True)

    def close(self, scheduler_tokens=None) -> None:
        for lid in list(self._layers):
            self.disconnect_layer(lid)
        for signal, callback in self._project:
            signal.disconnect(callback, missing_ok=True)
        self._project.clear()
        for _serial, token in list((scheduler_tokens or {}).values()):
            token.cancel()


def _close_link(link: _ModelLink, tokens: dict, *_args) -> None:
    link.close(tokens)


class MapCanvas(QWidget):
    """The map view of ``session.project`` with navigation, identify, measure and select tools.

    Signals: ``cursor_moved(x, y)`` project CRS; ``extent_changed(extent)`` (xmin, ymin, xmax,
    ymax) in the project CRS once a view settles; ``scale_changed(denominator)`` at 96 dpi;
    ``identify_results(list[IdentifyResult])``; ``measure_changed(text)`` ('' when cleared);
    ``render_started()``; ``render_finished(ms)``; ``message(level, text)`` with level 'info',
    'warning' or 'error'; ``tool_changed(name)``.
    """

    cursor_moved = Signal(float, float)
    extent_changed = Signal(object)
    scale_changed = Signal(float)
    identify_results = Signal(object)
    measure_changed = Signal(str)
    render_started = Signal()
    render_finished = Signal(float)
    message = Signal(str, str)
    tool_changed = Signal(str)

    WHEEL_ZOOM_PER_NOTCH = 2 ** 0.5  # two wheel notches double the scale
    KEY_PAN_FRACTION = 0.25  # arrow keys move the view by a quarter of its size
    RENDER_DEBOUNCE_MS = 150  # wheel/keys/resize: wait for the gesture to pause before redrawing
    ZOOM_MARGIN = 0.03  # zoom to layer/selection/full leaves this fraction free on each side

    def __init__(self, session, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setMouseTracking(True)
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)
        self.setMinimumSize(64, 64)

        self._cache: dict[str, LayerImage] = {}
        self._reported_errors: set[tuple[str, str]] = set()
        self._highlight: list[tuple[Layer, Any]] = []
        self._active_layer: Layer | None = None
        self._has_view = False  # False until a view was chosen (then layers no longer refit)
        self._fit_pending = False  # a fit to newly added first layers waits for the event loop
        self._saved_view = None  # the view saved with a project being loaded, until that fit
        # (extent, margin) of a view chosen automatically (initial, first layers, loaded project):
        # until the user navigates, a resize fits it again instead of keeping the scale
        self._auto_extent: tuple[tuple[float, ...], float] | None = None
        self._overlay: QImage | None = None
        self._overlay_view: tuple | None = None  # the _decoration_key it was drawn for

        self._scheduler = RenderScheduler(self)
        self._scheduler.layer_rendered.connect(self._on_layer_rendered)
        self._scheduler.batch_started.connect(self.render_started)
        self._scheduler.batch_finished.connect(self.render_finished)
        self._debounce = QTimer(self)
        self._debounce.setSingleShot(True)
        self._debounce.setInterval(self.RENDER_DEBOUNCE_MS)
        self._debounce.timeout.connect(self._render_all)

        self._tools: dict[str, MapTool] = {name: cls(self) for name, cls in TOOLS.items()}
        self._tool: MapTool = self._tools["pan"]
        self._overlays: list = []
        self._middle_pan = PanTool(self)  # middle-button drag pans whatever tool is active
        self._tool.activate()

        self._viewport = self._initial_viewport()
        self._link = _ModelLink()
        self._connect_project()
        self.destroyed.connect(partial(_close_link, self._link, self._scheduler._live))

    # -- public API ----------------------------------------------------------------------------
    @property
    def project(self):
        return self.session.project

    @property
    def viewport(self) -> Viewport:
        """The current view (project CRS, widget size)."""
        return self._viewport

    @property
    def tool(self) -> MapTool:
        return self._tool

    @property
    def tool_name(self) -> str:
        return self._tool.name

    @property
    def active_layer(self) -> Layer | None:
        """The layer the select tool acts on (set by the main window's layer tree)."""
        return self._active_layer

    @active_layer.setter
    def active_layer(self, layer: Layer | None) -> None:
        self._active_layer = layer

    @property
    def scheduler(self) -> RenderScheduler:
        return self._scheduler

    @property
    def is_rendering(self) -> bool:
        """True while a redraw is waiting for a gesture to pause or is running."""
        return self._debounce.isActive() or self._scheduler.busy

    def set_tool(self, name: str) -> None:
        """Activate 'pan', 'zoom_in_box', 'identify', 'measure_distance', 'measure_area' or
        'select'.  Raises ``ValueError`` for another name."""
        if name not in self._tools:
            raise ValueError(f"Unknown map tool {name!r}; choose one of {', '.join(self._tools)}")
        if self._tool.name == name:
            return
        self._tool.deactivate()
        self._tool = self._tools[name]
        self._tool.activate()
        self.update()
        self.tool_changed.emit(name)

    def set_extent(self, extent) -> None:
        """Show ``extent`` (xmin, ymin, xmax, ymax in the project CRS), grown to the widget's
        aspect.  Raises ``ValueError`` for a non-finite extent."""
        values = [float(v) for v in extent]
        if len(values) != 4 or not np.all(np.isfinite(values)):
            raise ValueError(f"An extent needs four finite numbers, got {extent!r}")
        self._set_view(Viewport.fit(values, *self._size(), self.project.crs))

    def zoom_full(self) -> None:
        """Show every (non-broken) layer of the project."""
        extent = self.project.full_extent()
        if extent is None:
            self.message.emit("info", "The project has no layers to zoom to.")
            return
        self._fit(extent)

    def zoom_to_layer(self, layer: Layer) -> None:
        """Show all of ``layer``; a message when it has no extent (broken or empty)."""
        try:
            extent = self.project.layer_extent(layer)
        except CrsError as exc:
            self.message.emit("warning", f"Cannot zoom to '{layer.name}': {exc}")
            return
        if extent is None:
            self.message.emit("info", f"Layer '{layer.name}' has no extent to zoom to.")
            return
        self._fit(extent)

    def zoom_to_selection(self, layer: Layer | None = None) -> None:
        """Show the selected features of ``layer`` (default: the active layer)."""
        layer = layer if layer is not None else self._active_layer
        if not isinstance(layer, VectorLayer) or layer.dataset is None or not layer.selection:
            name = f"'{layer.name}'" if layer is not None else "the active layer"
            self.message.emit("info", f"No features are selected in {name}.")
            return
        frame = layer.dataset.frame
        ids = sorted(i for i in layer.selection if 0 <= i < len(frame))
        bounds = frame.geometry.iloc[ids].total_bounds
        self._fit(transform_bounds(layer.crs, self.project.crs, bounds))

    def zoom_in(self) -> None:
        self.zoom_by(2.0)

    def zoom_out(self) -> None:
        self.zoom_by(0.5)

    def zoom_by(self, factor: float, about_px: QPointF | None = None, debounce: bool = False) -> None:
        """Zoom by ``factor`` (> 1 in) keeping the map point under ``about_px`` still
        (default the centre); ``debounce`` delays the redraw while a gesture goes on."""
        about = None if about_px is None else (about_px.x(), about_px.y())
        self._set_view(self._viewport.zoomed(factor, about), debounce=debounce)

    def refresh(self, layer: Layer | None = None) -> None:
        """Redraw ``layer`` (or every visible layer) from its data."""
        if layer is None:
            self._render_all(force=True)
        else:
            self._render_layer(layer)

    def grab_map_image(self) -> QImage:
        """The map as shown now (layers with opacity plus decorations), without tool shapes."""
        image = QImage(self.width(), self.height(), QImage.Format.Format_ARGB32_Premultiplied)
        painter = QPainter(image)
        try:
            self._paint_map(painter)
        finally:
            painter.end()
        return image

    # -- helpers the tools use -------------------------------------------------------------------
    def to_map(self, pos: QPointF) -> tuple[float, float]:
        """Widget pixel position to map coordinates (project CRS)."""
        x, y = self._viewport.pixel_to_world(pos.x(), pos.y())
        return float(x), float(y)

    def shifted(self, viewport: Viewport, dx_px: float, dy_px: float) -> Viewport:
        """``viewport`` with the map moved by (dx, dy) pixels, as a drag of that size moves it."""
        return viewport.panned(-dx_px, -dy_px)

    def preview_view(self, viewport: Viewport) -> None:
        """Show ``viewport`` from the cached images without redrawing (during a drag)."""
        self._viewport = viewport
        self.update()

    def commit_view(self) -> None:
        """End a drag: announce the view and redraw it."""
        self._set_view(self._viewport)

    def set_highlight(self, items: list[tuple[Layer, Any]]) -> bool:
        """Outline (layer, geometry in the layer CRS) pairs; returns True if it cleared any."""
        had = bool(self._highlight)
        self._highlight = list(items)
        self.update()
        return had and not items

    def features_in_extent(self, layer: VectorLayer, extent) -> set[int]:
        """Ids of ``layer``'s features touching ``extent`` (project CRS)."""
        import shapely

        region = shapely.box(*extent)
        if not same_crs(self.project.crs, layer.crs):
            from gis_desk.core.crs import transformer

            step = max(extent[2] - extent[0], extent[3] - extent[1]) / 32
            region = shapely.segmentize(region, step) if step > 0 else region
            region = shapely.transform(region, lambda xy: np.column_stack(
                transformer(self.project.crs, layer.crs).transform(xy[:, 0], xy[:, 1])))
        hits = layer.dataset.frame.sindex.query(region, predicate="intersects")
        return {int(i) for i in np.asarray(hits)}

    # -- view state ------------------------------------------------------------------------------
    def _size(self) -> tuple[int, int]:
        return max(1, self.width()), max(1, self.height())

    def _initial_viewport(self) -> Viewport:
        project = self.project
        extent = project.view_extent or project.full_extent()
        if extent is None:
            try:
                extent = transform_bounds(WGS84, project.crs, DEFAULT_EXTENT_WGS84)
            except CrsError:
                extent = (0.0, 0.0, 1.0, 1.0)
        else:
            self._has_view = True
        self._auto_extent = (tuple(extent), 0.0)
        return Viewport.fit(extent, *self._size(), project.crs)

    def _fit(self, extent, margin: float | None = None, auto: bool = False) -> None:
        margin = self.ZOOM_MARGIN if margin is None else margin
        self._set_view(Viewport.fit(extent, *self._size(), self.project.crs, margin=margin),
                       auto_extent=(tuple(extent), margin) if auto else None)

    def _set_view(self, viewport: Viewport, debounce: bool = False, auto_extent=None) -> None:
        old_scale = self._viewport.scale_denominator() if self._viewport is not None else None
        self._viewport = viewport
        self._has_view = True
        self._auto_extent = auto_extent
        self.project.view_extent = viewport.extent
        self.update()
        self.extent_changed.emit(viewport.extent)
        scale = viewport.scale_denominator()
        if old_scale is None or not np.isclose(scale, old_scale, rtol=1e-9):
            self.scale_changed.emit(scale)
        if debounce:
            self._debounce.start()
        else:
            self._render_all()

    # -- rendering -------------------------------------------------------------------------------
    def _drawable(self, layer: Layer) -> bool:
        return layer.visible and not layer.is_broken and layer.dataset is not None

    def _render_all(self, force: bool = False) -> None:
        self._debounce.stop()
        view = self._viewport
        for layer in self.project.layers:
            entry = self._cache.get(layer.id)
            if not self._drawable(layer):
                self._scheduler.cancel(layer.id)
            elif force or entry is None or not entry.fresh or entry.viewport != view:
                self._scheduler.render(layer, view)

    def _render_layer(self, layer: Layer) -> None:
        entry = self._cache.get(layer.id)
        if entry is not None:
            entry.fresh = False
        if self._drawable(layer):
            self._scheduler.render(layer, self._viewport)

    def _on_layer_rendered(self, result: RenderResult) -> None:
        layer = self._layer_by_id(result.layer_id)
        if layer is None:
            return
        if result.error is not None:
            self._report_error(layer, result)
        self._cache[result.layer_id] = LayerImage(result.viewport, result.image, fresh=True)
        self.update()

    def _report_error(self, layer: Layer, result: RenderResult) -> None:
        key = (layer.id, str(result.error))
        if key in self._reported_errors:
            return  # once per layer and problem, not on every redraw
        self._reported_errors.add(key)
        if isinstance(result.error, GisDeskError):
            self.message.emit("warning", f"Layer '{layer.name}' could not be drawn: {result.error}")
        else:
            log.error("Drawing layer %r failed:\n%s", layer.name, result.traceback)
            self.message.emit("error", f"Layer '{layer.name}' could not be drawn because of an internal "
                                       f"error ({type(result.error).__name__}: {result.error}).")

    def _layer_by_id(self, layer_id: str) -> Layer | None:
        for layer in self.project.layers:
            if layer.id == layer_id:
                return layer
        return None

    # -- composing -------------------------------------------------------------------------------
    def _placement(self, drawn_for: Viewport) -> QRectF | None:
        """Where an image drawn for ``drawn_for`` falls in the current view (pixels)."""
        view = self._viewport
        if drawn_for == view:
            return QRectF(0, 0, view.width, view.height)
        if drawn_for.crs != view.crs:
            return None
        xmin, ymin, xmax, ymax = drawn_for.extent
        x0, y0 = view.world_to_pixel(xmin, ymax)
        x1, y1 = view.world_to_pixel(xmax, ymin)
        return QRectF(QPointF(float(x0), float(y0)), QPointF(float(x1), float(y1)))

    def _decorations(self) -> QImage | None:
        """Scale bar and north arrow for the current view, drawn by the Qt-free renderer."""
        view = self._viewport
        if self._overlay_view != self._decoration_key(view):
            from gis_desk.render.decorations import draw_decorations

            canvas = np.zeros((view.height, view.width, 4), dtype=np.uint8)
            try:
                drawn = draw_decorations(canvas, view, scale_bar=True, north_arrow=True, legend=False)
                self._overlay = rgba_to_qimage(drawn if drawn is not None else canvas)
            except GisDeskError as exc:
                log.warning("Map decorations not drawn: %s", exc)
                self._overlay = None
            self._overlay_view = self._decoration_key(view)
        return self._overlay

    @staticmethod
    def _decoration_key(view: Viewport) -> tuple:
        """What the scale bar and north arrow depend on: not the extent, so a drag reuses them
        (in degrees the scale bar also depends on latitude)."""
        from gis_desk.core.crs import to_crs

        latitude = round(view.center[1], 3) if to_crs(view.crs).is_geographic else None
        return view.width, view.height, view.crs, view.pixel_size, latitude

    def _paint_map(self, painter: QPainter) -> None:
        painter.fillRect(QRectF(0, 0, self.width(), self.height()), BACKGROUND)
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, True)
        for layer in self.project.layers:  # index 0 is the bottom
            entry = self._cache.get(layer.id)
            if entry is None or entry.image is None or not self._drawable(layer):
                continue
            target = self._placement(entry.viewport)
            if target is None:
                continue
            painter.setOpacity(layer.opacity)
            painter.drawImage(target, entry.image)
        painter.setOpacity(1.0)
        overlay = self._decorations()
        if overlay is not None:
            painter.drawImage(0, 0, overlay)

    def paintEvent(self, event) -> None:
        painter = QPainter(self)
        try:
            self._paint_map(painter)
            if self._highlight:
                paint_highlight(painter, self._highlight_in_project_crs(),
                                lambda x, y: self._viewport.world_to_pixel(x, y))
            for overlay in list(self._overlays):
                overlay.paint(painter, self._viewport)
            self._tool.paint(painter)
        finally:
            painter.end()

    # -- overlays and tools contributed by features --------------------------------------------
    def add_overlay(self, overlay) -> None:
        """Draw ``overlay.paint(painter, viewport)`` over the map on every paint, in widget
        pixels (``viewport.world_to_pixel`` places project-CRS coordinates).  For things that
        move often (a playback marker, a section line): no layer re-render is needed; call
        ``canvas.update()`` when the overlay changes."""
        if overlay not in self._overlays:
            self._overlays.append(overlay)
            self.update()

    def remove_overlay(self, overlay) -> None:
        if overlay in self._overlays:
            self._overlays.remove(overlay)
            self.update()

    def register_tool(self, tool) -> None:
        """Add a ``MapTool`` instance (with a unique ``name``) so ``set_tool(tool.name)``
        activates it, e.g. a section-line tool or a click-to-seek tool."""
        self._tools[tool.name] = tool

    def _highlight_in_project_crs(self):
        import shapely

        from gis_desk.core.crs import transformer

        for layer, geom in self._highlight:
            if same_crs(layer.crs, self.project.crs):
                yield geom
            else:
                t = transformer(layer.crs, self.project.crs)
                yield shapely.transform(geom, lambda xy, t=t: np.column_stack(t.transform(xy[:, 0], xy[:, 1])))

    # -- model events ----------------------------------------------------------------------------
    def _connect_project(self) -> None:
        events = self.project.layers.events
        self._link.connect(events.inserted, self._on_layer_inserted)
        self._link.connect(events.removed, self._on_layer_removed)
        self._link.connect(events.changed, self._on_layer_replaced)
        self._link.connect(events.moved, self._on_layers_reordered)
        self._link.connect(events.reordered, self._on_layers_reordered)
        self._link.connect(self.project.events.crs, self._on_crs_changed)
        self._link.connect(self.project.events.path, self._on_project_path)
        self._link.connect(self.project.events.view_extent, self._on_view_extent_requested)
        for layer in self.project.layers:
            self._watch(layer)

    def _watch(self, layer: Layer) -> None:
        self._link.connect(layer.changed, partial(self._on_layer_changed, layer), layer.id)
        if isinstance(layer, VectorLayer):
            self._link.connect(layer.selection_changed, partial(self._render_layer, layer), layer.id)

    def _forget(self, layer: Layer) -> None:
        self._link.disconnect_layer(layer.id)
        self._scheduler.cancel(layer.id)
        self._cache.pop(layer.id, None)
        self._highlight = [(lay, g) for lay, g in self._highlight if lay is not layer]
        if self._active_layer is layer:
            self._active_layer = None

    def _on_layer_inserted(self, index: int, layer: Layer) -> None:
        self._watch(layer)
        first = all(other is layer for other in self.project.layers)
        if first or not self._has_view or self._fit_pending:
            # choose the view once the whole batch is in (a file may bring several layers)
            if not self._has_view and self._saved_view is None:
                # a resize before the fit would overwrite project.view_extent: keep the view
                # saved with a project being loaded now
                self._saved_view = self.project.view_extent
            if not self._fit_pending:
                self._fit_pending = True
                QTimer.singleShot(0, self._fit_new_layers)
            return
        self._render_layer(layer)

    def _fit_new_layers(self) -> None:
        """The first layers of a project choose the view: the view saved with a loaded project,
        otherwise all of the layers."""
        if not self._fit_pending:
            return
        self._fit_pending = False
        saved, self._saved_view = self._saved_view, None
        if saved is not None:
            self._fit(saved, margin=0.0, auto=True)
            return
        extent = self.project.full_extent()
        if extent is not None:
            self._fit(extent, auto=True)
        else:
            self._render_all()

    def _on_layer_removed(self, index: int, layer: Layer) -> None:
        self._forget(layer)
        if not len(self.project.layers):
            self._has_view = False  # a new or reloaded project fits its first layers again
            self._saved_view = None
        self.update()

    def _on_layer_replaced(self, index, old, new) -> None:
        """``layers[i] = layer`` (e.g. a re-pointed broken layer); slices give lists."""
        for layer in old if isinstance(old, (list, tuple)) else [old]:
            if isinstance(layer, Layer):
                self._forget(layer)
        for layer in new if isinstance(new, (list, tuple)) else [new]:
            if isinstance(layer, Layer):
                self._watch(layer)
                self._render_layer(layer)
        self.update()

    def _on_project_path(self, path) -> None:
        # the path is cleared when the project is reset (new project, or loading one): its
        # first layers then choose the view, from the saved ``view_extent`` when there is one
        if path is None:
            self._has_view = False

    def _on_view_extent_requested(self, extent) -> None:
        """``project.events.view_extent.emit(extent)`` asks every view to show ``extent``."""
        if extent is not None and tuple(extent) != tuple(self._viewport.extent):
            self.set_extent(extent)

    def _on_layers_reordered(self, *args) -> None:
        self.update()

    def _on_layer_changed(self, layer: Layer, what: str) -> None:
        if what in ("opacity", "name"):
            self.update()
        elif what == "visible":
            if not layer.visible:
                self._scheduler.cancel(layer.id)
            else:
                entry = self._cache.get(layer.id)
                if entry is None or not entry.fresh or entry.viewport != self._viewport:
                    self._render_layer(layer)
            self.update()
        else:  # style, dataset, or a property added later: redraw this layer only
            self._render_layer(layer)

    def _on_crs_changed(self, new_crs) -> None:
        old = self._viewport
        try:
            extent = transform_bounds(old.crs, new_crs, old.extent)
            view = Viewport.fit(extent, *self._size(), crs_id(new_crs))
        except (CrsError, ValueError):
            view = None
        self._scheduler.cancel()
        self._cache.clear()  # images in the old CRS cannot be placed in the new one
        if view is None:
            extent = self.project.full_extent()
            view = Viewport.fit(extent or transform_bounds(WGS84, new_crs, DEFAULT_EXTENT_WGS84),
                                *self._size(), new_crs)
        self._set_view(view)

    # -- Qt events -------------------------------------------------------------------------------
    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        w, h = self._size()
        if (w, h) == (self._viewport.width, self._viewport.height):
            return
        if self._auto_extent is not None:  # nobody navigated yet: keep showing the same area
            extent, margin = self._auto_extent
            view = Viewport.fit(extent, w, h, self.project.crs, margin=margin)
            self._set_view(view, debounce=True, auto_extent=self._auto_extent)
        else:  # keep centre and scale, as QGIS does
            self._set_view(self._viewport.resized(w, h), debounce=True)

    def mousePressEvent(self, event: QMouseEvent) -> None:
        self.setFocus(Qt.FocusReason.MouseFocusReason)
        if event.button() == Qt.MouseButton.MiddleButton:
            self._middle_pan.press(event)
        else:
            self._tool.press(event)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        x, y = self.to_map(event.position())
        self.cursor_moved.emit(x, y)
        if self._middle_pan.dragging:
            self._middle_pan.move(event)
        else:
            self._tool.move(event)

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        if event.button() == Qt.MouseButton.MiddleButton:
            self._middle_pan.release(event)
        else:
            self._tool.release(event)

    def mouseDoubleClickEvent(self, event: QMouseEvent) -> None:
        self._tool.double_click(event)

    def leaveEvent(self, event) -> None:
        self._tool.leave()
        super().leaveEvent(event)

    def wheelEvent(self, event: QWheelEvent) -> None:
        notches = event.angleDelta().y() / 120.0
        if notches:
            self.zoom_by(self.WHEEL_ZOOM_PER_NOTCH ** notches, event.position(), debounce=True)
        event.accept()

    def keyPressEvent(self, event: QKeyEvent) -> None:
        key = event.key()
        step_x = self._viewport.width * self.KEY_PAN_FRACTION
        step_y = self._viewport.height * self.KEY_PAN_FRACTION
        pans = {Qt.Key.Key_Left: (-step_x, 0), Qt.Key.Key_Right: (step_x, 0),
                Qt.Key.Key_Up: (0, -step_y), Qt.Key.Key_Down: (0, step_y)}
        if key in pans:  # the arrow shows what lies that way
            self._set_view(self._viewport.panned(*pans[key]), debounce=True)
        elif key in (Qt.Key.Key_Plus, Qt.Key.Key_Equal):
            self.zoom_by(2.0, debounce=True)
        elif key in (Qt.Key.Key_Minus, Qt.Key.Key_Underscore):
            self.zoom_by(0.5, debounce=True)
        elif key == Qt.Key.Key_Escape:
            if not (self._middle_pan.cancel() or self._tool.cancel()):
                self.set_highlight([])
        else:
            super().keyPressEvent(event)

    def closeEvent(self, event) -> None:
        self._scheduler.shutdown(wait=False)  # never block the GUI on a slow renderer
        # model links stay until the widget is destroyed: a closed canvas may be shown again
        super().closeEvent(event)
