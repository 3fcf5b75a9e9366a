"""Guards against a broken Qt binding build (PySide6 6.12.0 on Python 3.11 released a
reference to None on every void call, and the interpreter aborted minutes later)."""

import sys

from PySide6.QtCore import QCoreApplication


def test_void_qt_calls_keep_none_alive(qapp):
    before = sys.getrefcount(None)
    for _ in range(500):
        QCoreApplication.processEvents()
    assert sys.getrefcount(None) >= before - 5
