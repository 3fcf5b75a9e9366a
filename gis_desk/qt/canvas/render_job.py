"""Rendering layers off the GUI thread.

Each visible layer is drawn by the Qt-free renderer (``gis_desk.render.renderer.render_layer``)
in a worker thread into its own image.  Every job carries a ``CancelToken``; asking
for a new view cancels the stale jobs, and the renderer stops at its next check (it raises
``CanceledError``).  Results travel back to the GUI thread through a queued Qt signal, so the
widget only ever touches them on its own thread.

Why Python threads (``concurrent.futures``) and not ``QThreadPool``: pyproj 3.7 / PROJ 9.5
crash (segmentation fault) when several ``QThreadPool`` threads create or query CRSs at
once, while Python-created threads are safe (pyproj keeps one PROJ context per Python
thread).  Rendering reprojects, so it must run on Python threads.
"""

from __future__ import annotations

import itertools
import logging
import os
import threading
import time
import weakref
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import shiboken6
from PySide6.QtCore import QObject, Qt, Signal, Slot
from PySide6.QtGui import QImage

from gis_desk.errors import CanceledError

log = logging.getLogger(__name__)


class CancelToken:
    """A thread-safe flag; calling the token answers "should I stop?" (the renderer's ``cancel``)."""

    def __init__(self) -> None:
        self._event = threading.Event()

    def cancel(self) -> None:
        self._event.set()

    @property
    def canceled(self) -> bool:
        return self._event.is_set()

    def __call__(self) -> bool:
        return self._event.is_set()


@dataclass
class RenderResult:
    """What one job produced.  ``image`` is None when the layer draws nothing or failed;
    ``error`` holds the exception of a failed job; ``canceled`` is True for a stale job."""

    layer_id: str
    serial: int
    viewport: Any
    scheduler_key: int = 0
    image: QImage | None = None
    error: BaseException | None = None
    canceled: bool = False
    elapsed_ms: float = 0.0
    traceback: str = field(default="", repr=False)


def rgba_to_qimage(rgba: np.ndarray) -> QImage:
    """A deep-copied ``QImage`` (premultiplied RGBA8888) from a (h, w, 4) uint8 array."""
    rgba = np.ascontiguousarray(rgba, dtype=np.uint8)
    if rgba.ndim != 3 or rgba.shape[2] != 4:
        raise ValueError(f"render_layer must return an (h, w, 4) array, got shape {rgba.shape}")
    h, w = rgba.shape[:2]
    image = QImage(rgba.data, w, h, 4 * w, QImage.Format.Format_RGBA8888_Premultiplied)
    return image.copy()  # the array's memory is released when this job ends


def qimage_to_rgba(image: QImage) -> np.ndarray:
    """A (h, w, 4) uint8 copy of ``image`` as premultiplied RGBA (for tests and exports)."""
    img = image.convertToFormat(QImage.Format.Format_RGBA8888_Premultiplied)
    h, w = img.height(), img.width()
    buf = np.frombuffer(img.constBits(), dtype=np.uint8, count=img.bytesPerLine() * h)
    return buf.reshape(h, img.bytesPerLine())[:, : 4 * w].reshape(h, w, 4).copy()


class _Mailbox(QObject):
    """Lives in the GUI thread for the whole session; workers emit ``delivered`` and Qt queues
    it across threads.  It is shared and never deleted because a worker may still be emitting
    when a canvas is destroyed (emitting on a QObject being deleted by another thread
    crashes); results then find their scheduler gone and are dropped."""

    delivered = Signal(object)

    def __init__(self) -> None:
        super().__init__()
        self.schedulers: weakref.WeakValueDictionary[int, RenderScheduler] = weakref.WeakValueDictionary()
        self.delivered.connect(self._dispatch, Qt.ConnectionType.QueuedConnection)

    @Slot(object)
    def _dispatch(self, result: "RenderResult") -> None:
        scheduler = self.schedulers.get(result.scheduler_key)
        if scheduler is not None and shiboken6.isValid(scheduler):
            scheduler._on_delivered(result)


_MAILBOX: _Mailbox | None = None


def _shared_mailbox() -> _Mailbox:
    """The one mailbox, created on first use (from the GUI thread, by a scheduler)."""
    global _MAILBOX
    if _MAILBOX is None or not shiboken6.isValid(_MAILBOX):
        _MAILBOX = _Mailbox()
    return _MAILBOX


class LayerRenderJob:
    """Render one layer for one viewport; post a ``RenderResult`` to ``mailbox``."""

    def __init__(self, layer, viewport, serial: int, token: CancelToken, mailbox: _Mailbox,
                 scheduler_key: int) -> None:
        self.scheduler_key = scheduler_key
        self.layer = layer
        self.viewport = viewport
        self.serial = serial
        self.token = token
        self.mailbox = mailbox

    def run(self) -> None:
        result = RenderResult(self.layer.id, self.serial, self.viewport, self.scheduler_key)
        start = time.perf_counter()
        try:
            if self.token():
                raise CanceledError()
            # looked up at call time so plugins (and tests) can register or patch renderers
            from gis_desk.render import renderer

            rgba = renderer.render_layer(self.layer, self.viewport, cancel=self.token)
            if self.token():
                raise CanceledError()
            result.image = None if rgba is None else rgba_to_qimage(rgba)
        except CanceledError:
            result.canceled = True
        except Exception as exc:  # reported on the GUI thread by the canvas
            import traceback

            result.error = exc
            result.traceback = traceback.format_exc()
        result.elapsed_ms = (time.perf_counter() - start) * 1000.0
        self.mailbox.delivered.emit(result)


_SCHEDULER_KEYS = itertools.count(1)


class RenderScheduler(QObject):
    """At most one live job per layer; starting a layer's job cancels its previous one.

    Signals (GUI thread): ``layer_rendered(RenderResult)`` for every current (not stale)
    result, ``batch_started()`` when work starts from idle, ``batch_finished(float ms)`` when
    the last current job is done.
    """

    layer_rendered = Signal(object)
    batch_started = Signal()
    batch_finished = Signal(float)

    def __init__(self, parent: QObject | None = None, max_threads: int | None = None) -> None:
        super().__init__(parent)
        self.max_threads = max_threads or max(2, os.cpu_count() or 2)
        self._pool: ThreadPoolExecutor | None = None
        self._mailbox = _shared_mailbox()
        self._key = next(_SCHEDULER_KEYS)
        self._mailbox.schedulers[self._key] = self
        self._serial = 0
        self._live: dict[str, tuple[int, CancelToken]] = {}  # layer id -> current job
        self._batch_start: float | None = None
        self.jobs_started = 0
        self.jobs_canceled = 0

    @property
    def busy(self) -> bool:
        return bool(self._live)

    def is_rendering(self, layer_id: str) -> bool:
        return layer_id in self._live

    def render(self, layer, viewport) -> None:
        """Start rendering ``layer`` for ``viewport``, cancelling its stale job."""
        self._drop(layer.id)
        if not self._live and self._batch_start is None:
            self._batch_start = time.perf_counter()
            self.batch_started.emit()
        self._serial += 1
        token = CancelToken()
        self._live[layer.id] = (self._serial, token)
        self.jobs_started += 1
        if self._pool is None:
            self._pool = ThreadPoolExecutor(self.max_threads, thread_name_prefix="gis-desk-render")
        self._pool.submit(LayerRenderJob(layer, viewport, self._serial, token, self._mailbox, self._key).run)

    def cancel(self, layer_id: str | None = None) -> None:
        """Cancel the job of one layer, or every job (``None``)."""
        for lid in list(self._live) if layer_id is None else [layer_id]:
            self._drop(lid)
        self._maybe_finish()

    def _drop(self, layer_id: str) -> None:
        live = self._live.pop(layer_id, None)
        if live is not None:
            live[1].cancel()
            self.jobs_canceled += 1

    def shutdown(self, wait: bool = True) -> None:
        """Cancel everything and stop the workers (a later ``render`` starts new ones).
        With ``wait``, block until running jobs have seen their cancel token."""
        self.cancel()
        pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=wait, cancel_futures=True)

    def _on_delivered(self, result: RenderResult) -> None:
        live = self._live.get(result.layer_id)
        if live is None or live[0] != result.serial:
            return  # a stale job: a newer one for the layer is running or it was dropped
        del self._live[result.layer_id]
        if not result.canceled:
            self.layer_rendered.emit(result)
        self._maybe_finish()

    def _maybe_finish(self) -> None:
        if not self._live and self._batch_start is not None:
            elapsed = (time.perf_counter() - self._batch_start) * 1000.0
            self._batch_start = None
            self.batch_finished.emit(elapsed)
