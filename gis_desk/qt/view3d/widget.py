"""The 3D point view: a plain ``QWidget`` drawing point layers with OpenGL 3.3 (PyOpenGL).

Why not ``QOpenGLWidget``: it needs the platform's raster-GL surface, which the ``offscreen``
platform (tests, ``make test``, headless servers) does not have; there it warns "QOpenGLWidget
is not supported on this platform" and every draw fails with GL_INVALID_FRAMEBUFFER_OPERATION.
So the view owns a ``QOpenGLContext`` on a ``QOffscreenSurface``, renders into its own
framebuffers and reads the finished frame back into a ``QImage`` that ``paintEvent`` paints.
The same code runs on xcb, Wayland, Windows and ``offscreen`` (Mesa llvmpipe is enough); the
read-back costs a few milliseconds per frame, small next to drawing millions of points.

Interaction: left drag orbits, right/middle drag (or shift + left) pans, the wheel zooms
towards the cursor, a left click picks the nearest drawn point (``point_picked``).  Keys:
F fit, R / Home reset, + / - zoom.

Level of detail: each layer is uploaded once in a shuffled order (``scene.Scene``), so
drawing its first ``n`` points is an even random subset.  While the view moves at most
``moving_budget`` points are drawn, fewer if frames take longer than ``TARGET_FRAME_MS``
(the moving budget adapts to the measured frame time); ``STILL_DELAY_MS`` after the last
movement the view refines progressively towards the full ``budget``, ``REFINE_STEP`` more
points per frame drawn over the previous ones, so a large budget never blocks the GUI
thread for long and a new drag starts at once.  Points go to an off-screen framebuffer with
a depth texture, then a full-screen pass copies it or applies eye-dome lighting
(``edl_enabled``) into the output framebuffer that is read back.

Without OpenGL 3.3 use ``View3DPanel`` (panel.py), which shows a message instead of this
widget; a failure while starting or drawing is reported through ``gl_failed`` and the
widget then draws nothing.
"""

from __future__ import annotations

import ctypes
import logging
import sys
from typing import Any

import numpy as np
from PySide6.QtCore import QElapsedTimer, QPointF, Qt, QTimer, Signal
from PySide6.QtGui import (QColor, QImage, QKeyEvent, QMouseEvent, QOffscreenSurface, QOpenGLContext, QPainter,
                           QSurfaceFormat, QWheelEvent)
from PySide6.QtWidgets import QWidget

from gis_desk.qt.view3d.camera import OrbitCamera
from gis_desk.qt.view3d.legend_overlay import LegendOverlay
from gis_desk.qt.view3d.scene import Scene

log = logging.getLogger(__name__)

STILL_DELAY_MS = 180  # after this long without movement the full budget is drawn
CLICK_SLOP_PX = 4
DEFAULT_BUDGET = 3_000_000
DEFAULT_MOVING_BUDGET = 400_000
MIN_MOVING_BUDGET = 50_000
TARGET_FRAME_MS = 60.0  # ~16 fps while moving, also under software rendering
REFINE_STEP = 600_000


def gl_format() -> QSurfaceFormat:
    fmt = QSurfaceFormat()
    fmt.setVersion(3, 3)
    fmt.setProfile(QSurfaceFormat.OpenGLContextProfile.CoreProfile)
    fmt.setDepthBufferSize(24)
    return fmt


_GL_STATUS: tuple[bool, str] | None = None


def gl_status() -> tuple[bool, str]:
    """(available, description): can this process create an OpenGL 3.3 core context?
    Probed once with an off-screen surface (needs a ``QGuiApplication``)."""
    global _GL_STATUS
    if _GL_STATUS is None:
        from PySide6.QtGui import QGuiApplication, QOffscreenSurface, QOpenGLContext

        platform = QGuiApplication.platformName()
        ctx = QOpenGLContext()
        ctx.setFormat(gl_format())
        if not ctx.create():
            _GL_STATUS = (False, f"no OpenGL context on the '{platform}' display platform")
        else:
            got = ctx.format()
            surface = QOffscreenSurface()
            surface.setFormat(got)
            surface.create()
            if (got.majorVersion(), got.minorVersion()) < (3, 3):
                _GL_STATUS = (False, f"OpenGL {got.majorVersion()}.{got.minorVersion()} found, 3.3 needed")
            elif not ctx.makeCurrent(surface):
                _GL_STATUS = (False, f"the OpenGL context cannot be used on the '{platform}' platform")
            else:
                from OpenGL import GL

                renderer = GL.glGetString(GL.GL_RENDERER)
                version = GL.glGetString(GL.GL_VERSION)
                ctx.doneCurrent()
                _GL_STATUS = (True, f"{(version or b'').decode()} on {(renderer or b'').decode()}")
    return _GL_STATUS


class _LayerBuffers:
    def __init__(self) -> None:
        self.vao = 0
        self.vbos: list[int] = []
        self.version = -1
        self.colour_version = -1
        self.count = 0


class PointCloudView(QWidget):
    point_picked = Signal(object)  # dict: layer, layer_key, index, x, y, z, attributes...
    gl_failed = Signal(str)
    view_changed = Signal()

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)  # the frame covers every pixel
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setMinimumSize(200, 150)
        self.scene = Scene()
        self.camera = OrbitCamera()
        self.budget = DEFAULT_BUDGET
        self.moving_budget = DEFAULT_MOVING_BUDGET
        self.point_size = 2.0
        self.round_points = False
        self.edl_enabled = True
        self.edl_strength = 1.0
        self.edl_radius = 1.4
        self.background = QColor(38, 41, 46)
        self.error: str | None = None
        self.moving = False
        self.last_counts: dict[str, int] = {}
        self.last_frame_ms = 0.0
        self.adaptive_budget = DEFAULT_MOVING_BUDGET
        self.adapt = True  # lower the moving budget when frames are slow (off for benchmarks)
        self.refine_step = REFINE_STEP
        self._drawn: dict[str, int] = {}
        self._signature: tuple | None = None
        self._full_frame = False
        self._buffers: dict[str, _LayerBuffers] = {}
        self._programs: dict[str, int] = {}
        self._quad_vao = 0
        self._fbo = self._colour_tex = self._depth_tex = 0
        self._fbo_size = (0, 0)
        self._initialised = False
        self._context: QOpenGLContext | None = None
        self._surface: QOffscreenSurface | None = None
        self._out_fbo = self._out_tex = 0  # composited frame, read back into ``_image``
        self._image: QImage | None = None
        self._pixels: np.ndarray | None = None  # keeps ``_image``'s memory alive
        self._needs_render = True
        self._press: QPointF | None = None
        self._last: QPointF | None = None
        self._dragged = False
        self._drag_mode = ""
        self._fitted = False
        self._still_timer = QTimer(self, singleShot=True, interval=STILL_DELAY_MS, timeout=self._became_still)
        self.legend = LegendOverlay(self)
        self.legend.hide()

    # -- scene API ---------------------------------------------------------------------------
    def set_layer(self, key: str, xyz: np.ndarray, colours: np.ndarray | None = None, *, name: str = "",
                  attributes: dict[str, Any] | None = None, transform: np.ndarray | None = None,
                  visible: bool = True, prepared=None) -> None:
        """Add or replace layer ``key`` (see ``Scene.set_layer``; ``prepared`` from
        ``scene.prepare_points`` on a worker thread saves the GUI thread the shuffle)."""
        first = not self.scene.layers
        self.scene.set_layer(key, xyz, colours, name=name, attributes=attributes, transform=transform,
                             visible=visible, prepared=prepared)
        if first or not self._fitted:
            self.fit_view()
        self.request_frame()

    def set_colours(self, key: str, colours: np.ndarray | None) -> None:
        self.scene.set_colours(key, colours)
        self.request_frame()

    def set_visible(self, key: str, visible: bool) -> None:
        if key in self.scene.layers:
            self.scene.layers[key].visible = bool(visible)
            self.request_frame()

    def set_transform(self, key: str, matrix: np.ndarray) -> None:
        if key in self.scene.layers:
            self.scene.layers[key].transform = np.asarray(matrix, dtype=np.float64)
            self.request_frame()

    def remove_layer(self, key: str) -> None:
        self.scene.remove(key)
        self.request_frame()

    def clear(self) -> None:
        for key in list(self.scene.layers):
            self.scene.remove(key)
        self._fitted = False
        self.request_frame()

    def set_legend(self, title: str, entries: list) -> None:
        """Show ``entries`` (``gis_desk.core.legend.LegendEntry``) in the top-left corner."""
        self.legend.set_entries(title, entries)
        self.legend.setVisible(bool(entries))

    def set_budget(self, budget: int) -> None:
        self.budget = max(1000, int(budget))
        self.request_frame()

    def set_point_size(self, size: float) -> None:
        self.point_size = max(1.0, float(size))
        self.request_frame()

    def set_edl(self, enabled: bool, strength: float | None = None) -> None:
        self.edl_enabled = bool(enabled)
        if strength is not None:
            self.edl_strength = float(strength)
        self.request_frame()

    # -- view --------------------------------------------------------------------------------
    def _sync_camera_size(self) -> None:
        self.camera.width, self.camera.height = max(self.width(), 1), max(self.height(), 1)

    def fit_view(self) -> None:
        self._sync_camera_size()
        box = self.scene.bounds()
        if box is not None:
            self.camera.fit(*box)
            self._fitted = True
        self._view_moved(still=True)

    def reset_view(self) -> None:
        self._sync_camera_size()
        box = self.scene.bounds()
        if box is not None:
            self.camera.reset(*box)
        self._view_moved(still=True)

    def _view_moved(self, still: bool = False) -> None:
        if still:
            self.moving = False
            self._still_timer.stop()
        else:
            self.moving = True
            self._still_timer.start()
        self.view_changed.emit()
        self.request_frame()

    def _became_still(self) -> None:
        self.moving = False
        self.request_frame()

    def current_budget(self) -> int:
        if self.moving:
            return min(self.budget, self.moving_budget, self.adaptive_budget if self.adapt else self.moving_budget)
        return self.budget

    @property
    def refining(self) -> bool:
        """True while a still view is still adding points towards the full budget."""
        target = self.scene.draw_counts(self.current_budget())
        return any(self._drawn.get(k, 0) < n for k, n in target.items())

    def pick(self, x: float, y: float, tolerance_px: float = 5.0) -> dict | None:
        """The front-most point drawn (at the full budget) near window pixel (x, y)."""
        self._sync_camera_size()
        return self.scene.pick(self.camera, x, y, self.scene.draw_counts(self.budget), tolerance_px)

    def grab_snapshot(self) -> QImage:
        """The current frame at the full budget, with the legend painted on (for reports)."""
        was_moving, self.moving = self.moving, False
        try:
            self.render_frame(full=True)
        finally:
            self.moving = was_moving
        image = self._image.copy() if self._image is not None else QImage()
        if self.legend.isVisible() and not image.isNull():
            image = image.convertToFormat(QImage.Format.Format_ARGB32)
            painter = QPainter(image)
            self.legend.paint_on(painter)
            painter.end()
        return image

    # -- mouse and keys ----------------------------------------------------------------------
    def mousePressEvent(self, event: QMouseEvent) -> None:
        self._press = self._last = event.position()
        self._dragged = False
        button, shift = event.button(), bool(event.modifiers() & Qt.KeyboardModifier.ShiftModifier)
        if button == Qt.MouseButton.LeftButton and not shift:
            self._drag_mode = "orbit"
        elif button in (Qt.MouseButton.RightButton, Qt.MouseButton.MiddleButton) or shift:
            self._drag_mode = "pan"
        else:
            self._drag_mode = ""

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        if self._press is None or not self._drag_mode:
            return
        pos = event.position()
        if not self._dragged:
            d = pos - self._press
            self._dragged = abs(d.x()) >= CLICK_SLOP_PX or abs(d.y()) >= CLICK_SLOP_PX
            if not self._dragged:
                return
        dx, dy = pos.x() - self._last.x(), pos.y() - self._last.y()
        self._last = pos
        self._sync_camera_size()
        if self._drag_mode == "orbit":
            self.camera.orbit(dx, dy)
        else:
            self.camera.pan(dx, dy)
        self._view_moved()

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        if self._press is None:
            return
        clicked = not self._dragged and self._drag_mode == "orbit"
        self._press = None
        self._drag_mode = ""
        if clicked:
            pos = event.position()
            hit = self.pick(pos.x(), pos.y())
            if hit is not None:
                self.point_picked.emit(hit)

    def wheelEvent(self, event: QWheelEvent) -> None:
        steps = event.angleDelta().y() / 120.0
        if not steps:
            return
        self._sync_camera_size()
        pos = event.position()
        self.camera.zoom(0.85 ** steps, (pos.x(), pos.y()))
        self._view_moved()

    def keyPressEvent(self, event: QKeyEvent) -> None:
        key = event.key()
        if key == Qt.Key.Key_F:
            self.fit_view()
        elif key in (Qt.Key.Key_R, Qt.Key.Key_Home):
            self.reset_view()
        elif key in (Qt.Key.Key_Plus, Qt.Key.Key_Equal):
            self.camera.zoom(0.8)
            self._view_moved(still=True)
        elif key in (Qt.Key.Key_Minus, Qt.Key.Key_Underscore):
            self.camera.zoom(1.25)
            self._view_moved(still=True)
        else:
            super().keyPressEvent(event)

    # -- OpenGL ------------------------------------------------------------------------------
    def request_frame(self) -> None:
        """Ask for a new frame (drawn at the next paint event)."""
        self._needs_render = True
        self.update()

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self._sync_camera_size()
        self._needs_render = True

    def paintEvent(self, _event) -> None:
        ratio = self.devicePixelRatioF()
        size = (max(1, int(round(self.width() * ratio))), max(1, int(round(self.height() * ratio))))
        stale = self._image is None or (self._image.width(), self._image.height()) != size
        if (self._needs_render or stale) and not self.error:
            self._render(full=False)
        painter = QPainter(self)
        if self._image is not None and not self.error:
            painter.drawImage(0, 0, self._image)
        else:
            painter.fillRect(self.rect(), self.background)
        painter.end()

    def _make_current(self) -> bool:
        """Make this view's context current, creating it (and the shaders) the first time."""
        if self.error:
            return False
        if self._context is None:
            try:
                self._init_gl()
            except Exception as exc:  # noqa: BLE001 - any driver problem becomes a message, not a crash
                self._fail(f"OpenGL could not start the 3D view: {exc}")
                current = QOpenGLContext.currentContext()
                if current is not None and current.parent() is self:
                    current.doneCurrent()
                return False
            return True
        if not self._context.makeCurrent(self._surface):
            self._fail("the OpenGL context of the 3D view could not be made current")
            return False
        return True

    def _fail(self, message: str) -> None:
        self.error = message
        log.warning(message, exc_info=sys.exc_info()[0] is not None)
        self.gl_failed.emit(message)

    def _init_gl(self) -> None:
        from OpenGL import GL

        from gis_desk.qt.view3d import shaders

        context = QOpenGLContext(self)
        context.setFormat(gl_format())
        if not context.create():
            raise RuntimeError("no OpenGL context could be created")
        fmt = context.format()
        if (fmt.majorVersion(), fmt.minorVersion()) < (3, 3):
            raise RuntimeError(f"OpenGL 3.3 is needed, the driver gives {fmt.majorVersion()}.{fmt.minorVersion()}")
        surface = QOffscreenSurface(None, self)
        surface.setFormat(fmt)
        surface.create()
        if not surface.isValid() or not context.makeCurrent(surface):
            raise RuntimeError("the OpenGL context cannot be used off-screen")
        self._context, self._surface = context, surface
        self._programs["points"] = _program(shaders.POINT_VERTEX, shaders.POINT_FRAGMENT)
        self._programs["edl"] = _program(shaders.QUAD_VERTEX, shaders.EDL_FRAGMENT)
        self._quad_vao = int(GL.glGenVertexArrays(1))
        self._initialised = True

    def _render(self, full: bool) -> bool:
        """Draw a frame (``full``: the whole current budget, else one refinement step) and
        read it back into ``_image``.  False when OpenGL failed (``error`` says why)."""
        if not self._make_current():
            return False
        self._full_frame = full
        try:
            self._paint()
        except Exception as exc:  # noqa: BLE001
            self._fail(f"The 3D view stopped drawing: {exc}")
            return False
        finally:
            self._full_frame = False
            self._context.doneCurrent()
        self._needs_render = False
        return True

    def _ensure_fbo(self, w: int, h: int) -> None:
        from OpenGL import GL

        if self._fbo and self._fbo_size == (w, h):
            return
        if self._fbo:
            GL.glDeleteFramebuffers(2, [self._fbo, self._out_fbo])
            GL.glDeleteTextures(3, [self._colour_tex, self._depth_tex, self._out_tex])
        self._colour_tex, self._depth_tex, self._out_tex = (int(t) for t in GL.glGenTextures(3))
        for tex, internal, fmt, typ in ((self._colour_tex, GL.GL_RGBA8, GL.GL_RGBA, GL.GL_UNSIGNED_BYTE),
                                        (self._depth_tex, GL.GL_DEPTH_COMPONENT24, GL.GL_DEPTH_COMPONENT,
                                         GL.GL_UNSIGNED_INT),
                                        (self._out_tex, GL.GL_RGBA8, GL.GL_RGBA, GL.GL_UNSIGNED_BYTE)):
            GL.glBindTexture(GL.GL_TEXTURE_2D, tex)
            GL.glTexImage2D(GL.GL_TEXTURE_2D, 0, internal, w, h, 0, fmt, typ, None)
            for p in (GL.GL_TEXTURE_MIN_FILTER, GL.GL_TEXTURE_MAG_FILTER):
                GL.glTexParameteri(GL.GL_TEXTURE_2D, p, GL.GL_NEAREST)
            for p in (GL.GL_TEXTURE_WRAP_S, GL.GL_TEXTURE_WRAP_T):
                GL.glTexParameteri(GL.GL_TEXTURE_2D, p, GL.GL_CLAMP_TO_EDGE)
        self._fbo, self._out_fbo = (int(f) for f in GL.glGenFramebuffers(2))
        for fbo, colour, depth in ((self._fbo, self._colour_tex, self._depth_tex), (self._out_fbo, self._out_tex, 0)):
            GL.glBindFramebuffer(GL.GL_FRAMEBUFFER, fbo)
            GL.glFramebufferTexture2D(GL.GL_FRAMEBUFFER, GL.GL_COLOR_ATTACHMENT0, GL.GL_TEXTURE_2D, colour, 0)
            if depth:
                GL.glFramebufferTexture2D(GL.GL_FRAMEBUFFER, GL.GL_DEPTH_ATTACHMENT, GL.GL_TEXTURE_2D, depth, 0)
            status = GL.glCheckFramebufferStatus(GL.GL_FRAMEBUFFER)
            if status != GL.GL_FRAMEBUFFER_COMPLETE:
                raise RuntimeError(f"off-screen framebuffer incomplete (status 0x{int(status):x})")
        self._fbo_size = (w, h)
        self._signature = None  # new buffers hold nothing: start the frame again

    def _sync_buffers(self) -> None:
        from OpenGL import GL

        for key in [k for k in self._buffers if k not in self.scene.layers]:
            buf = self._buffers.pop(key)
            GL.glDeleteBuffers(len(buf.vbos), buf.vbos)
            GL.glDeleteVertexArrays(1, [buf.vao])
        for key, layer in self.scene.layers.items():
            buf = self._buffers.get(key)
            if buf is None:
                buf = self._buffers[key] = _LayerBuffers()
                buf.vao = int(GL.glGenVertexArrays(1))
                buf.vbos = [int(b) for b in GL.glGenBuffers(2)]
            if buf.version == layer.version and buf.colour_version == layer.colour_version:
                continue
            GL.glBindVertexArray(buf.vao)
            if buf.version != layer.version:
                GL.glBindBuffer(GL.GL_ARRAY_BUFFER, buf.vbos[0])
                GL.glBufferData(GL.GL_ARRAY_BUFFER, layer.xyz.nbytes, np.ascontiguousarray(layer.xyz),
                                GL.GL_STATIC_DRAW)
                GL.glEnableVertexAttribArray(0)
                GL.glVertexAttribPointer(0, 3, GL.GL_FLOAT, GL.GL_FALSE, 0, ctypes.c_void_p(0))
                buf.version = layer.version
                buf.count = len(layer)
            GL.glBindBuffer(GL.GL_ARRAY_BUFFER, buf.vbos[1])
            GL.glBufferData(GL.GL_ARRAY_BUFFER, layer.colours.nbytes, layer.colours, GL.GL_STATIC_DRAW)
            GL.glEnableVertexAttribArray(1)
            GL.glVertexAttribPointer(1, 4, GL.GL_UNSIGNED_BYTE, GL.GL_TRUE, 0, ctypes.c_void_p(0))
            buf.colour_version = layer.colour_version
            GL.glBindVertexArray(0)

    def _paint(self) -> None:
        from OpenGL import GL

        timer = QElapsedTimer()
        timer.start()
        self._sync_camera_size()
        ratio = self.devicePixelRatioF()
        w, h = max(1, int(round(self.width() * ratio))), max(1, int(round(self.height() * ratio)))
        self._sync_buffers()
        self._ensure_fbo(w, h)
        GL.glBindFramebuffer(GL.GL_FRAMEBUFFER, self._fbo)
        GL.glViewport(0, 0, w, h)
        target = self.scene.draw_counts(self.current_budget())
        signature = self._frame_signature(w, h)
        refine = not self.moving and not self._full_frame and signature == self._signature
        start = dict(self._drawn) if refine else {}
        if not refine:
            bg = self.background
            GL.glClearColor(bg.redF(), bg.greenF(), bg.blueF(), 1.0)
            GL.glClearDepth(1.0)
            GL.glClear(GL.GL_COLOR_BUFFER_BIT | GL.GL_DEPTH_BUFFER_BIT)
        end = dict(target)
        total = sum(target.values())
        if not self.moving and not self._full_frame and total > self.refine_step:
            for key, n in target.items():  # each layer advances by its share of the step
                end[key] = min(n, start.get(key, 0) + -(-n * self.refine_step // total))
        GL.glEnable(GL.GL_DEPTH_TEST)
        GL.glDepthFunc(GL.GL_LESS)
        GL.glEnable(GL.GL_PROGRAM_POINT_SIZE)
        GL.glDisable(GL.GL_BLEND)
        prog = self._programs["points"]
        GL.glUseProgram(prog)
        GL.glUniform1f(GL.glGetUniformLocation(prog, "point_size"), float(self.point_size * ratio))
        GL.glUniform1i(GL.glGetUniformLocation(prog, "round_points"), int(self.round_points))
        mvp_loc = GL.glGetUniformLocation(prog, "mvp")
        view_proj = self.camera.mvp()
        for layer in self.scene.visible_layers():
            first = start.get(layer.key, 0)
            n = min(end.get(layer.key, 0), self._buffers[layer.key].count) - first
            if n <= 0:
                continue
            mvp = (view_proj @ self.scene.model(layer)).astype(np.float32)
            GL.glUniformMatrix4fv(mvp_loc, 1, GL.GL_TRUE, mvp)
            GL.glBindVertexArray(self._buffers[layer.key].vao)
            GL.glDrawArrays(GL.GL_POINTS, first, n)
        GL.glBindVertexArray(0)
        self._drawn, self._signature = end, signature
        self.last_counts = end

        # composite (copy or EDL) into the output framebuffer, upside down so rows read back top first
        GL.glBindFramebuffer(GL.GL_FRAMEBUFFER, self._out_fbo)
        GL.glViewport(0, 0, w, h)
        GL.glDisable(GL.GL_DEPTH_TEST)
        edl = self._programs["edl"]
        GL.glUseProgram(edl)
        GL.glActiveTexture(GL.GL_TEXTURE0)
        GL.glBindTexture(GL.GL_TEXTURE_2D, self._colour_tex)
        GL.glActiveTexture(GL.GL_TEXTURE1)
        GL.glBindTexture(GL.GL_TEXTURE_2D, self._depth_tex)
        near, far = self.camera.near_far()
        for name, value in (("near_plane", near), ("far_plane", far), ("strength", self.edl_strength),
                            ("radius", self.edl_radius * ratio)):
            GL.glUniform1f(GL.glGetUniformLocation(edl, name), float(value))
        GL.glUniform1i(GL.glGetUniformLocation(edl, "colour_tex"), 0)
        GL.glUniform1i(GL.glGetUniformLocation(edl, "depth_tex"), 1)
        GL.glUniform1i(GL.glGetUniformLocation(edl, "edl_on"), int(self.edl_enabled))
        GL.glUniform2f(GL.glGetUniformLocation(edl, "texel"), 1.0 / w, 1.0 / h)
        GL.glUniform1f(GL.glGetUniformLocation(edl, "flip_y"), -1.0)
        GL.glBindVertexArray(self._quad_vao)
        GL.glDrawArrays(GL.GL_TRIANGLE_STRIP, 0, 4)
        GL.glBindVertexArray(0)
        GL.glActiveTexture(GL.GL_TEXTURE0)
        GL.glUseProgram(0)
        self._read_back(w, h, ratio)
        if self.moving and self.adapt:  # the read-back waited for the GPU: this is the real cost
            drawn = max(sum(end.values()), 1)
            ms = max(timer.nsecsElapsed() / 1e6, 1.0)
            scale = min(1.5, max(0.5, TARGET_FRAME_MS / ms))
            self.adaptive_budget = int(min(self.moving_budget, max(MIN_MOVING_BUDGET, drawn * scale)))
        self.last_frame_ms = timer.nsecsElapsed() / 1e6
        if any(end.get(k, 0) < n for k, n in target.items()):
            QTimer.singleShot(0, self.request_frame)  # keep refining after the event loop breathes


    def _read_back(self, w: int, h: int, ratio: float) -> None:
        """Copy the output framebuffer into ``_image`` (waits until drawing is done)."""
        from OpenGL import GL

        if self._pixels is None or self._pixels.shape != (h, w, 4):
            self._pixels = np.empty((h, w, 4), np.uint8)
        GL.glBindFramebuffer(GL.GL_FRAMEBUFFER, self._out_fbo)
        GL.glPixelStorei(GL.GL_PACK_ALIGNMENT, 4)
        GL.glReadPixels(0, 0, w, h, GL.GL_RGBA, GL.GL_UNSIGNED_BYTE, self._pixels)
        GL.glBindFramebuffer(GL.GL_FRAMEBUFFER, 0)
        image = QImage(self._pixels.data, w, h, 4 * w, QImage.Format.Format_RGBX8888)
        image.setDevicePixelRatio(ratio)
        self._image = image

    def _frame_signature(self, w: int, h: int) -> tuple:
        """Everything that, when it changes, means the frame must start again from scratch."""
        layers = tuple((la.key, la.version, la.colour_version, la.transform.tobytes())
                       for la in self.scene.visible_layers())
        return (w, h, self.camera.mvp().tobytes(), layers, self.point_size, self.round_points,
                self.background.rgb(), self.budget)


    def render_frame(self, finish: bool = True, full: bool = True) -> float:
        """Draw one frame now (for benchmarks, tests and snapshots); returns milliseconds
        including the read-back, which waits until the GPU (or llvmpipe) is done (``finish``
        is kept for callers; it always holds).  ``full`` draws the whole current budget at
        once instead of one refinement step."""
        timer = QElapsedTimer()
        timer.start()
        self._render(full=full)
        ms = timer.nsecsElapsed() / 1e6
        super().update()  # show it
        return ms

    def current_image(self) -> QImage | None:
        """The last frame drawn (without the legend)."""
        return self._image

    def release_gl(self) -> None:
        """Free the GPU buffers and framebuffers (the view uploads again when next drawn)."""
        if not self._initialised or self._context is None or not self._context.makeCurrent(self._surface):
            return
        from OpenGL import GL

        for buf in self._buffers.values():
            GL.glDeleteBuffers(len(buf.vbos), buf.vbos)
            GL.glDeleteVertexArrays(1, [buf.vao])
        self._buffers.clear()
        if self._fbo:
            GL.glDeleteFramebuffers(2, [self._fbo, self._out_fbo])
            GL.glDeleteTextures(3, [self._colour_tex, self._depth_tex, self._out_tex])
            self._fbo = self._out_fbo = 0
            self._fbo_size = (0, 0)
        self._context.doneCurrent()
        self._signature = None


def _program(vertex: str, fragment: str) -> int:
    from OpenGL.GL import GL_FRAGMENT_SHADER, GL_VERTEX_SHADER
    from OpenGL.GL.shaders import compileProgram, compileShader

    return int(compileProgram(compileShader(vertex, GL_VERTEX_SHADER), compileShader(fragment, GL_FRAGMENT_SHADER),
                              validate=False))
