"""Video frames decoded off the GUI thread and handed to Qt as images (and a picture-less
timeline for footage whose video is absent).

A ``FrameDecoder`` owns one ``VideoReader`` and one Python thread (not QThreadPool, see
``gis_desk.qt.workers``).  ``request(index)`` replaces whatever was asked before (latest wins):
while scrubbing the slider or playing faster than the decoder can go, stale frames are skipped
rather than queued, so the picture never lags behind the hand.  Each decoded frame comes back
through ``frame_ready(index, QImage, rgb ndarray)``, queued to the GUI thread by Qt.
"""

from __future__ import annotations

import math
import threading
import time

import numpy as np
from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QImage

from gis_desk.io.video import VideoReader


def rgb_to_qimage(rgb: np.ndarray) -> QImage:
    """An RGB888 QImage owning a copy of ``rgb`` (height, width, 3) uint8."""
    rgb = np.ascontiguousarray(rgb)
    height, width = rgb.shape[:2]
    return QImage(rgb.data, width, height, 3 * width, QImage.Format.Format_RGB888).copy()


class FrameDecoder(QObject):
    """Decodes requested frames of ``path`` in a background thread.

    Signals: ``frame_ready(index, QImage, rgb)``; ``failed(exception)`` when a frame cannot be
    decoded (the thread keeps serving later requests).  ``last_ms`` is how long the last frame
    took (decode + convert), for the status line and benchmarks.
    """

    frame_ready = Signal(int, object, object)
    failed = Signal(object)

    def __init__(self, path, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.reader = VideoReader(path)  # opened here so a bad file is reported to the caller at once
        self._cond = threading.Condition()
        self._wanted: int | None = None
        self._stop = False
        self.busy = False
        self.last_ms = 0.0
        self._thread = threading.Thread(target=self._run, name=f"video:{self.reader.path.name}", daemon=True)
        self._thread.start()

    @property
    def fps(self) -> float:
        return self.reader.fps

    @property
    def frame_count(self) -> int:
        return self.reader.frame_count

    @property
    def duration_s(self) -> float:
        return self.reader.duration_s

    def index_at_time(self, t: float) -> int:
        return self.reader.index_at_time(t)

    def request(self, index: int) -> None:
        """Decode frame ``index`` (clamped into the video) next, dropping an older request."""
        index = min(max(int(index), 0), self.reader.frame_count - 1)
        with self._cond:
            self._wanted = index
            self._cond.notify()

    @property
    def idle(self) -> bool:
        """Nothing asked for and nothing being decoded."""
        with self._cond:
            return self._wanted is None and not self.busy

    def _run(self) -> None:
        while True:
            with self._cond:
                while self._wanted is None and not self._stop:
                    self._cond.wait()
                if self._stop:
                    return
                index, self._wanted = self._wanted, None
                self.busy = True
            try:
                start = time.perf_counter()
                rgb = self.reader.frame(index)
                image = rgb_to_qimage(rgb)
                self.last_ms = (time.perf_counter() - start) * 1000.0
            except Exception as exc:  # noqa: BLE001 - reported to the GUI, the thread lives on
                with self._cond:
                    self.busy = False
                self.failed.emit(exc)
                continue
            with self._cond:
                self.busy = False
                stale = self._stop
            if not stale:
                self.frame_ready.emit(index, image, rgb)

    def close(self) -> None:
        """Stop the thread and close the file (waits for a frame being decoded)."""
        with self._cond:
            self._stop = True
            self._cond.notify()
        self._thread.join(timeout=5.0)
        self.reader.close()


class TimelineClock(QObject):
    """Stands in for a ``FrameDecoder`` when footage has no playable video (telemetry only, or
    the video is missing): a timeline of virtual frames at the telemetry's own rate, so the
    marker and footprint can still be played, stepped, sought and bookmarked.  ``request``
    answers at once with no picture (``frame_ready(index, None, None)``)."""

    frame_ready = Signal(int, object, object)
    failed = Signal(object)
    reader = None
    idle = True
    last_ms = 0.0

    def __init__(self, duration_s: float, fps: float, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.fps = float(fps)
        self.frame_count = max(1, int(math.floor(max(0.0, duration_s) * self.fps + 1e-6)) + 1)

    @classmethod
    def for_telemetry(cls, time_s, offset_s: float = 0.0) -> "TimelineClock":
        """Video time 0 to the last fix (telemetry time + offset), at the fixes' median rate
        (1 to 60 per second; 10 when the times say nothing)."""
        t = np.asarray(time_s, float)
        t = t[np.isfinite(t)]
        steps = np.diff(np.unique(t)) if t.size > 1 else np.array([])
        fps = 1.0 / float(np.median(steps)) if steps.size else 10.0
        fps = min(max(fps, 1.0), 60.0)
        end = float(t.max()) + float(offset_s) if t.size else 0.0
        return cls(end, fps)

    @property
    def duration_s(self) -> float:
        return self.frame_count / self.fps

    def index_at_time(self, t: float) -> int:
        return int(min(max(math.floor(float(t) * self.fps + 1e-6), 0), self.frame_count - 1))

    def request(self, index: int) -> None:
        self.frame_ready.emit(min(max(int(index), 0), self.frame_count - 1), None, None)

    def close(self) -> None:
        pass
