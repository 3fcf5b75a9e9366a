"""The video player dock: the current footage layer's clip, frame-exact, in step with the map.

Playback is clock-driven: a 10 ms QTimer works out which frame the wall clock (times the
speed) has reached and asks the ``FrameDecoder`` for it; the decoder thread drops frames it
cannot reach in time, so 4x playback skips frames instead of drifting.  Whatever is on screen
is ``current_index`` / ``current_time``; ``frame_shown(index, time_s)`` tells the map overlay
and the bookmarks panel.  The sync offset spin box edits ``layer.sync_offset_s``
(video time = telemetry time + offset), which the project saves with the layer.
"""

from __future__ import annotations

import time

from PySide6.QtCore import QRectF, QSize, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QImage, QPainter
from PySide6.QtWidgets import (QComboBox, QDoubleSpinBox, QHBoxLayout, QLabel, QSizePolicy, QSlider,
                               QStyle, QToolButton, QVBoxLayout, QWidget)

SPEEDS = (0.25, 0.5, 1.0, 2.0, 4.0)
TICK_MS = 10


def format_time(seconds: float) -> str:
    """mm:ss.s (h:mm:ss.s past an hour)."""
    seconds = max(0.0, float(seconds))
    minutes, sec = divmod(seconds, 60.0)
    if minutes >= 60:
        hours, minutes = divmod(int(minutes), 60)
        return f"{hours}:{minutes:02d}:{sec:04.1f}"
    return f"{int(minutes):02d}:{sec:04.1f}"


class FrameView(QWidget):
    """Draws the current frame scaled to fit, aspect kept, on black."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.image: QImage | None = None
        self.placeholder = "No footage layer selected"
        self.setMinimumSize(160, 90)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)
        self.paint_ms = 0.0

    def sizeHint(self) -> QSize:
        return QSize(480, 270)

    def set_image(self, image: QImage | None) -> None:
        self.image = image
        self.update()

    def image_rect(self) -> QRectF:
        """Where the frame is drawn (widget pixels)."""
        if self.image is None or self.image.isNull():
            return QRectF()
        iw, ih = self.image.width(), self.image.height()
        scale = min(self.width() / iw, self.height() / ih)
        w, h = iw * scale, ih * scale
        return QRectF((self.width() - w) / 2, (self.height() - h) / 2, w, h)

    def paintEvent(self, event) -> None:
        start = time.perf_counter()
        painter = QPainter(self)
        painter.fillRect(self.rect(), QColor("black"))
        if self.image is None or self.image.isNull():
            painter.setPen(QColor("#bbbbbb"))
            painter.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter, self.placeholder)
        else:
            painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, True)
            painter.drawImage(self.image_rect(), self.image)
        painter.end()
        self.paint_ms = (time.perf_counter() - start) * 1000.0


class VideoPlayer(QWidget):
    """Player for one footage layer at a time (``set_layer``)."""

    frame_shown = Signal(int, float)  # index, video time (s) of the frame now on screen
    layer_changed = Signal(object)
    error = Signal(object)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.layer = None
        self.decoder = None
        self.current_index = -1
        self.current_image: QImage | None = None
        self.current_rgb = None
        self.requested_index: int | None = None
        self.speed = 1.0
        self._play_origin: tuple[float, float] | None = None  # (wall clock, video time) at play
        self._timer = QTimer(self, interval=TICK_MS, timeout=self._tick)
        self._timer.setTimerType(Qt.TimerType.PreciseTimer)

        self.title = QLabel("")
        self.title.setWordWrap(True)
        self.view = FrameView()
        style = self.style()
        self.play_button = self._button(style.standardIcon(QStyle.StandardPixmap.SP_MediaPlay),
                                        "Play / pause (Space)", self.toggle_play)
        self.back_button = self._button(style.standardIcon(QStyle.StandardPixmap.SP_MediaSeekBackward),
                                        "One frame back (, or Left)", lambda: self.step(-1))
        self.forward_button = self._button(style.standardIcon(QStyle.StandardPixmap.SP_MediaSeekForward),
                                           "One frame forward (. or Right)", lambda: self.step(1))
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setToolTip("Position in the video")
        self.slider.valueChanged.connect(self._slider_moved)
        self.time_label = QLabel(format_time(0) + " / " + format_time(0))
        self.time_label.setMinimumWidth(120)
        self.speed_box = QComboBox()
        for s in SPEEDS:
            self.speed_box.addItem(f"{s:g}x", s)
        self.speed_box.setCurrentIndex(SPEEDS.index(1.0))
        self.speed_box.setToolTip("Playback speed")
        self.speed_box.currentIndexChanged.connect(lambda i: self.set_speed(self.speed_box.itemData(i)))
        self.offset_box = QDoubleSpinBox()
        self.offset_box.setRange(-3600.0, 3600.0)
        self.offset_box.setDecimals(2)
        self.offset_box.setSingleStep(0.1)
        self.offset_box.setSuffix(" s")
        self.offset_box.setToolTip("Sync offset: video time = telemetry time + offset (saved with the layer)")
        self.offset_box.valueChanged.connect(self._offset_edited)
        self.status = QLabel("")
        self.status.setStyleSheet("color: #555;")

        controls = QHBoxLayout()
        controls.setContentsMargins(0, 0, 0, 0)
        for w in (self.back_button, self.play_button, self.forward_button):
            controls.addWidget(w)
        controls.addWidget(self.slider, 1)
        controls.addWidget(self.time_label)
        options = QHBoxLayout()
        options.setContentsMargins(0, 0, 0, 0)
        options.addWidget(QLabel("Speed"))
        options.addWidget(self.speed_box)
        options.addSpacing(12)
        options.addWidget(QLabel("Sync offset"))
        options.addWidget(self.offset_box)
        options.addStretch(1)
        options.addWidget(self.status)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.title)
        layout.addWidget(self.view, 1)
        layout.addLayout(controls)
        layout.addLayout(options)
        self._enable(False)

    def _button(self, icon, tip: str, slot) -> QToolButton:
        button = QToolButton()
        button.setIcon(icon)
        button.setToolTip(tip)
        button.setAutoRaise(True)
        button.clicked.connect(lambda _=False: slot())
        return button

    def _enable(self, on: bool) -> None:
        for w in (self.play_button, self.back_button, self.forward_button, self.slider, self.speed_box,
                  self.offset_box):
            w.setEnabled(on)

    # -- the layer ---------------------------------------------------------------------------------
    @property
    def fps(self) -> float:
        return self.decoder.fps if self.decoder is not None else 25.0

    @property
    def current_time(self) -> float:
        """Video time (s) of the frame on screen (0 before the first frame)."""
        return self.current_index / self.fps if self.current_index >= 0 else 0.0

    def set_layer(self, layer) -> None:
        """Show ``layer``'s video (None: nothing).  A missing or unreadable video is reported
        through ``error`` and leaves the player empty with the reason shown."""
        if layer is self.layer and (self.decoder is not None or layer is None):
            return
        self.pause()
        self._close_decoder()
        self.layer = layer
        self.current_index, self.current_image, self.current_rgb = -1, None, None
        self.requested_index = None
        self.view.set_image(None)
        if layer is None:
            self.title.setText("")
            self.view.placeholder = "No footage layer selected"
            self._enable(False)
            self.layer_changed.emit(None)
            return
        self.offset_box.blockSignals(True)
        self.offset_box.setValue(float(getattr(layer, "sync_offset_s", 0.0) or 0.0))
        self.offset_box.blockSignals(False)
        video = getattr(layer, "video_path", None)
        self.title.setText(f"<b>{layer.name}</b>" + (f" — {_name(video)}" if video else ""))
        from gis_desk.qt.drone.decoder import FrameDecoder

        decoder, why = None, "No video for this footage: telemetry only (play moves the marker)"
        if video:
            try:
                decoder = FrameDecoder(video)  # no Qt parent: closed by us, never deleted under its thread
            except Exception as exc:  # noqa: BLE001 - shown to the user; the track still plays
                why = f"The video cannot be played:\n{getattr(exc, 'message', exc)}"
                self.error.emit(exc)
        if decoder is None:
            decoder = self._timeline(layer)
            self.view.placeholder = why
            self.view.update()
        self.decoder = decoder
        self.decoder.frame_ready.connect(self._on_frame)
        self.decoder.failed.connect(self._on_failed)
        self._set_range()
        r = self.decoder.reader
        self.status.setText(f"{r.width}x{r.height}, {r.fps:g} fps" if r is not None
                            else f"track only, {self.decoder.fps:g} fixes/s")
        self._enable(True)
        self.layer_changed.emit(layer)
        self.seek_index(0)

    @staticmethod
    def _timeline(layer):
        from gis_desk.qt.drone.decoder import TimelineClock

        telemetry = getattr(getattr(layer, "dataset", None), "telemetry", None)
        times = getattr(telemetry, "time_s", None)
        return TimelineClock.for_telemetry(times if times is not None else [],
                                           float(getattr(layer, "sync_offset_s", 0.0) or 0.0))

    def _set_range(self) -> None:
        self.slider.blockSignals(True)
        self.slider.setRange(0, self.decoder.frame_count - 1)
        self.slider.blockSignals(False)

    @property
    def has_video(self) -> bool:
        """A video is playing (not just the track's timeline)."""
        return self.decoder is not None and self.decoder.reader is not None

    def _close_decoder(self) -> None:
        if self.decoder is not None:
            self.decoder.frame_ready.disconnect(self._on_frame)
            self.decoder.failed.disconnect(self._on_failed)
            self.decoder.close()
            self.decoder = None

    def close_video(self) -> None:
        self.set_layer(None)

    # -- navigation --------------------------------------------------------------------------------
    def seek_index(self, index: int) -> None:
        """Show frame ``index`` (clamped)."""
        if self.decoder is None:
            return
        index = min(max(int(index), 0), self.decoder.frame_count - 1)
        self.requested_index = index
        self.decoder.request(index)
        if self._play_origin is not None:  # keep playing from the new place
            self._play_origin = (time.monotonic(), index / self.fps)

    def seek_time(self, video_time_s: float) -> None:
        """Show the frame on screen at ``video_time_s`` seconds."""
        if self.decoder is None:
            return
        self.seek_index(self.decoder.index_at_time(video_time_s))

    def step(self, frames: int) -> None:
        """Pause and move ``frames`` frames (negative: back) from the frame asked for last."""
        if self.decoder is None:
            return
        self.pause()
        base = self.requested_index if self.requested_index is not None else max(self.current_index, 0)
        self.seek_index(base + frames)

    def set_speed(self, speed: float) -> None:
        speed = float(speed)
        if self._play_origin is not None:  # re-anchor so the picture does not jump
            self._play_origin = (time.monotonic(), self._clock_time())
        self.speed = speed
        i = SPEEDS.index(speed) if speed in SPEEDS else -1
        if i >= 0 and self.speed_box.currentIndex() != i:
            self.speed_box.setCurrentIndex(i)

    @property
    def playing(self) -> bool:
        return self._play_origin is not None

    def play(self) -> None:
        if self.decoder is None or self.playing:
            return
        start = self.current_index if self.current_index >= 0 else 0
        if start >= self.decoder.frame_count - 1:
            start = 0  # at the end: play again from the start
            self.seek_index(0)
        self._play_origin = (time.monotonic(), start / self.fps)
        self._timer.start()
        self.play_button.setIcon(self.style().standardIcon(QStyle.StandardPixmap.SP_MediaPause))

    def pause(self) -> None:
        self._play_origin = None
        self._timer.stop()
        self.play_button.setIcon(self.style().standardIcon(QStyle.StandardPixmap.SP_MediaPlay))

    def toggle_play(self) -> None:
        self.pause() if self.playing else self.play()

    def _clock_time(self) -> float:
        wall0, video0 = self._play_origin
        return video0 + (time.monotonic() - wall0) * self.speed

    def _tick(self) -> None:
        if self._play_origin is None or self.decoder is None:
            return
        index = int(self._clock_time() * self.fps + 1e-6)
        last = self.decoder.frame_count - 1
        if index >= last:
            index = last
        if index != self.requested_index:
            self.requested_index = index
            self.decoder.request(index)
        if index == last:
            self.pause()

    # -- frames arriving ---------------------------------------------------------------------------
    def _on_frame(self, index: int, image: QImage, rgb) -> None:
        if self.decoder is None:
            return
        self.current_index, self.current_image, self.current_rgb = index, image, rgb
        self.view.set_image(image)
        self.slider.blockSignals(True)
        self.slider.setValue(index)
        self.slider.blockSignals(False)
        t = index / self.fps
        self.time_label.setText(f"{format_time(t)} / {format_time(self.decoder.duration_s)}")
        self.frame_shown.emit(index, t)

    def _on_failed(self, exc) -> None:
        self.pause()
        self.error.emit(exc)

    def _slider_moved(self, value: int) -> None:
        self.seek_index(value)

    def _offset_edited(self, value: float) -> None:
        if self.layer is not None:
            self.layer.sync_offset_s = float(value)
            if self.decoder is not None and not self.has_video:  # the track's timeline moved
                clock = self._timeline(self.layer)
                self.decoder.frame_count = clock.frame_count
                self._set_range()
            if self.current_index >= 0:  # the map position of the frame on screen moved
                self.frame_shown.emit(self.current_index, self.current_time)

    def wait_idle(self) -> bool:
        """True when no frame is pending (tests and benchmarks poll this)."""
        return self.decoder is None or (self.decoder.idle and self.requested_index in (None, self.current_index))


def _name(path) -> str:
    from pathlib import Path

    return Path(str(path)).name
