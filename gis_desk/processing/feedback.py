"""How long work reports progress and hears cancellation, without knowing about widgets.

The GUI passes a subclass whose ``on_progress``/``on_message`` forward to Qt signals; the
CLI prints; tests collect.  Workers call ``check_canceled()`` at safe points, which raises
``CanceledError``.
"""

from __future__ import annotations

import threading
from typing import Callable

from gis_desk.errors import CanceledError


class Feedback:
    def __init__(
        self,
        on_progress: Callable[[float], None] | None = None,
        on_message: Callable[[str, str], None] | None = None,
    ) -> None:
        self._cancel = threading.Event()
        self._on_progress = on_progress
        self._on_message = on_message
        self.progress = 0.0  # percent, 0..100
        self.messages: list[tuple[str, str]] = []  # (level, text)

    def set_progress(self, percent: float) -> None:
        self.progress = max(0.0, min(100.0, float(percent)))
        if self._on_progress:
            self._on_progress(self.progress)

    def info(self, text: str) -> None:
        self._message("info", text)

    def warning(self, text: str) -> None:
        self._message("warning", text)

    def _message(self, level: str, text: str) -> None:
        self.messages.append((level, text))
        if self._on_message:
            self._on_message(level, text)

    def cancel(self) -> None:
        self._cancel.set()

    @property
    def is_canceled(self) -> bool:
        return self._cancel.is_set()

    def check_canceled(self) -> None:
        if self._cancel.is_set():
            raise CanceledError()

    def child(self, start: float, end: float) -> "Feedback":
        """A feedback mapping 0..100 of a sub-step onto ``start``..``end`` of this one."""
        parent = self
        sub = Feedback(lambda p: parent.set_progress(start + (end - start) * p / 100.0), parent._message)
        sub._cancel = self._cancel
        return sub
