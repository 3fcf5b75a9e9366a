"""Atomic file writes: temp file in the same folder, fsync, rename over the target."""

from __future__ import annotations

import os
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from gis_desk.errors import WriterError


def atomic_write_bytes(path: str | Path, data: bytes) -> None:
    """Write ``data`` so that ``path`` holds either the old or the new content, never half.

    Raises ``WriterError`` naming the file when the folder is not writable or the disk is full.
    """
    path = Path(path)
    fd = None
    tmp = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        with os.fdopen(fd, "wb") as fh:
            fd = None
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
        tmp = None
        if hasattr(os, "O_DIRECTORY"):  # make the rename itself durable (POSIX)
            dir_fd = os.open(path.parent, os.O_DIRECTORY)
            try:
                os.fsync(dir_fd)
            finally:
                os.close(dir_fd)
    except OSError as exc:
        raise WriterError(f"Could not write the file: {exc.strerror or exc}", path=path,
                          hint="check the folder exists, is writable and the disk is not full") from exc
    finally:
        if fd is not None:
            os.close(fd)
        if tmp is not None and os.path.exists(tmp):
            os.unlink(tmp)


def atomic_write_text(path: str | Path, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


@contextmanager
def atomic_path(path: str | Path, what: str = "the file") -> Iterator[Path]:
    """For writers that need a file name (GDAL, reportlab, matplotlib, zipfile): yields a
    temporary path beside ``path`` with the same suffix; when the block ends without error it
    replaces ``path``, otherwise it is removed and ``path`` keeps its old content.  ``OSError``
    becomes a ``WriterError`` naming ``path`` (``what`` words the message)."""
    path = Path(path)
    hint = "check the folder exists, is writable and the disk is not full"
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=path.suffix, dir=path.parent)
        os.close(fd)
        os.unlink(name)  # writers such as GDAL create the file themselves
    except OSError as exc:
        raise WriterError(f"Could not write {what}: {exc.strerror or exc}", path=path, hint=hint) from exc
    tmp = Path(name)
    try:
        yield tmp
        os.replace(tmp, path)
    except OSError as exc:
        raise WriterError(f"Could not write {what}: {exc.strerror or exc}", path=path, hint=hint) from exc
    finally:
        try:
            tmp.unlink(missing_ok=True)
        except OSError:
            pass
