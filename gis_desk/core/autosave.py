"""Autosave and crash recovery (Qt-free; the GUI calls ``write_autosave`` from a timer).

Where the autosave goes:

- a saved project ``survey.gdesk`` autosaves beside itself as ``.survey.gdesk.autosave``, with
  data paths relative to that same folder, so recovery resolves them exactly as the project;
- an untitled project autosaves to ``<config dir>/autosave/untitled-<pid>.gdesk.autosave``
  with absolute paths.  While this process runs it holds an OS lock on
  ``untitled-<pid>.lock``; the OS drops the lock when the process dies, which is how
  ``find_recovery`` tells a crash's leftover from the autosave of another running window.

A normal save (``gis_desk.io.project_file.save_project``) removes the autosave.  On start the
GUI asks ``find_recovery(path)`` (or ``find_recovery()`` for untitled work) and, if the user
agrees, calls ``load_recovery``; otherwise ``discard_recovery``.
"""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path
from typing import IO

from gis_desk.core.project import Project
from gis_desk.io.atomic import atomic_write_text

log = logging.getLogger(__name__)

AUTOSAVE_SUFFIX = ".autosave"
UNTITLED_PREFIX = "untitled-"
_UNTITLED_GLOB = f"{UNTITLED_PREFIX}*.gdesk{AUTOSAVE_SUFFIX}"

# The lock this process holds while it has untitled autosaves (kept open for its lifetime).
_instance_lock: IO[bytes] | None = None


# --- where ---------------------------------------------------------------------------------


def autosave_dir() -> Path:
    """The folder for untitled projects' autosaves (inside the user config dir)."""
    from gis_desk.settings import config_dir

    return config_dir() / "autosave"


def autosave_file_for(project_path: str | Path) -> Path:
    """The autosave beside a project file: ``folder/.name.gdesk.autosave``."""
    project_path = Path(project_path)
    return project_path.with_name(f".{project_path.name}{AUTOSAVE_SUFFIX}")


def _untitled_file(pid: int | None = None) -> Path:
    return autosave_dir() / f"{UNTITLED_PREFIX}{pid or os.getpid()}.gdesk{AUTOSAVE_SUFFIX}"


def _lock_file(autosave_file: Path) -> Path:
    return autosave_file.with_name(autosave_file.name.split(".", 1)[0] + ".lock")


def autosave_path(project: Project) -> Path:
    """Where ``project`` autosaves: beside its file, or in the config dir when untitled."""
    return autosave_file_for(project.path) if project.path else _untitled_file()


# --- process locks (tell crashed leftovers from live windows) ------------------------------


def _try_lock(handle: IO[bytes]) -> bool:
    """Take an exclusive, non-blocking lock on ``handle``; False if another holder has it."""
    try:
        if os.name == "nt":
            import msvcrt

            msvcrt.locking(handle.fileno(), msvcrt.LK_NBLCK, 1)
        else:
            import fcntl

            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return False
    return True


def _hold_instance_lock() -> None:
    global _instance_lock
    path = _lock_file(_untitled_file())
    if _instance_lock is not None and not _instance_lock.closed:
        if Path(_instance_lock.name) == path:
            return
        _instance_lock.close()  # the config dir moved (tests, a changed setting): lock anew there
        _instance_lock = None
    path.parent.mkdir(parents=True, exist_ok=True)
    handle = open(path, "a+b")
    if _try_lock(handle):
        _instance_lock = handle
    else:  # cannot happen for our own pid unless a previous holder is alive; keep going unlocked
        handle.close()
        log.warning("could not lock %s; another window may offer to recover this autosave", path)


def _owner_alive(autosave_file: Path) -> bool:
    """True when a running process holds the lock of an untitled autosave."""
    lock = _lock_file(autosave_file)
    if not lock.exists():
        return False
    if _instance_lock is not None and not _instance_lock.closed and Path(_instance_lock.name) == lock:
        return True  # our own (flock would grant it to us again on some systems)
    try:
        with open(lock, "a+b") as handle:
            return not _try_lock(handle)  # closing the handle releases a lock we took
    except OSError:
        return True  # cannot tell: do not offer another window's work


# --- writing and finding -------------------------------------------------------------------


def write_autosave(project: Project) -> Path | None:
    """Write the project to its autosave file if it has unsaved changes.

    Returns the autosave path, or None when the project is not dirty (nothing written).  The
    write is atomic.  Raises ``WriterError`` naming the file if it cannot be written.
    """
    if not project.dirty:
        return None
    from gis_desk.io.project_file import project_to_text

    target = autosave_path(project)
    if project.path is None:
        _hold_instance_lock()
    base = project.path.resolve().parent if project.path else None
    extra = {"autosave": {"of": str(project.path) if project.path else None, "pid": os.getpid(),
                          "written": time.strftime("%Y-%m-%dT%H:%M:%S%z")}}
    atomic_write_text(target, project_to_text(project, base, target, extra=extra))
    return target


def find_recovery(project_path: str | Path | None = None) -> Path | None:
    """An autosave worth offering to recover, or None.

    With ``project_path``: its autosave when that is newer than the project file (or the project
    file is gone).  Without: the newest untitled autosave whose process is no longer running
    (left by a crash).  Never raises for unreadable folders; returns None instead.
    """
    if project_path is not None:
        candidate = autosave_file_for(project_path)
        try:
            auto_time = candidate.stat().st_mtime_ns
        except OSError:
            return None
        try:
            return candidate if auto_time > Path(project_path).stat().st_mtime_ns else None
        except OSError:  # the project file itself is gone: the autosave is all there is
            return candidate
    found = []
    try:
        for path in autosave_dir().glob(_UNTITLED_GLOB):
            if not _owner_alive(path):
                found.append((path.stat().st_mtime_ns, path))
    except OSError as exc:
        log.warning("could not look for autosaves: %s", exc)
        return None
    return max(found)[1] if found else None


def discard_autosave(project: Project) -> None:
    """Remove the project's autosave if there is one (after a save, or when closing unsaved)."""
    discard_recovery(autosave_path(project))


def discard_recovery(autosave_file: str | Path) -> None:
    """Remove an autosave the user chose not to recover (and its lock file, when unowned)."""
    autosave_file = Path(autosave_file)
    try:
        autosave_file.unlink(missing_ok=True)
        if autosave_file.name.startswith(UNTITLED_PREFIX) and not _owner_alive(autosave_file):
            _lock_file(autosave_file).unlink(missing_ok=True)
    except OSError as exc:
        log.warning("could not remove autosave %s: %s", autosave_file, exc)


def load_recovery(session, autosave_file: str | Path, original_path: str | Path | None = None) -> Project:
    """Load an autosave into ``session`` as the current project.

    ``project.path`` then points at ``original_path`` (the real project, or None for untitled
    work) and the project is marked dirty, so the next save writes the real file.  A recovered
    untitled autosave is moved to this process's own autosave name so it stays recoverable and
    is not offered twice.  Raises ``ProjectFileError`` (the session's project is then untouched)
    if the autosave is damaged.
    """
    autosave_file = Path(autosave_file)
    project = session.load(autosave_file)
    project.path = Path(original_path).resolve() if original_path else None
    project.mark_dirty(True)
    if project.path is None and autosave_file.resolve() != autosave_path(project).resolve():
        write_autosave(project)
        discard_recovery(autosave_file)
    return project
