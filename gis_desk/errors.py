"""Typed errors raised by the Qt-free core.

Each error carries a message a user understands (``message``), optionally the
file it concerns (``path``), what to do about it (``hint``) and technical
``details``.  Each also inherits the builtin that fits, so generic callers can
catch ``OSError`` or ``ValueError`` as usual.  Only ``gis_desk.qt.errors``
decides how an error is shown; the CLI prints ``error: <str(err)>``.
"""

from __future__ import annotations

from pathlib import Path


class GisDeskError(Exception):
    """Base of every error GIS Desk raises on purpose."""

    def __init__(
        self,
        message: str,
        *,
        path: str | Path | None = None,
        hint: str | None = None,
        details: str | None = None,
    ) -> None:
        self.message = message
        self.path = str(path) if path is not None else None
        self.hint = hint
        self.details = details
        super().__init__(self.__str__())

    def __str__(self) -> str:
        text = f"{self.path}: {self.message}" if self.path else self.message
        if self.hint:
            text += f" ({self.hint})"
        return text

    def __reduce__(self):  # keep pickling (worker processes) working
        return (_rebuild, (type(self), self.message, self.path, self.hint, self.details))


def _rebuild(cls, message, path, hint, details):
    return cls(message, path=path, hint=hint, details=details)


# --- reading and writing files -------------------------------------------------------------


class ReaderError(GisDeskError, OSError):
    """A file could not be read."""


class NoReaderError(ReaderError):
    """No reader claims the file (unknown extension or format)."""


class MultipleReadersError(ReaderError):
    """More than one reader claims the file and none was chosen."""

    def __init__(self, message: str, *, candidates: list[str] | None = None, **kw) -> None:
        self.candidates = list(candidates or [])
        super().__init__(message, **kw)


class CorruptFileError(ReaderError):
    """The file exists but is damaged, truncated or not what its name says."""


class MissingFileError(ReaderError, FileNotFoundError):
    """A file the user or the project refers to does not exist."""


class WriterError(GisDeskError, OSError):
    """A file could not be written."""


# --- data and coordinate reference systems -------------------------------------------------


class CrsError(GisDeskError, ValueError):
    """A CRS is unknown, invalid, or cannot be transformed."""


class MissingCrsError(CrsError):
    """A dataset has no CRS; the user must give one (GUI prompt, CLI ``--crs``)."""


class DataError(GisDeskError, ValueError):
    """Data is readable but unusable: missing columns, wrong types, empty."""


# --- projects ------------------------------------------------------------------------------


class ProjectFileError(GisDeskError, ValueError):
    """A project file is invalid JSON, from a newer version, or inconsistent."""


# --- processing ----------------------------------------------------------------------------


class ParameterError(GisDeskError, ValueError):
    """An algorithm parameter is missing or invalid (CLI exit code 2)."""


class AlgorithmError(GisDeskError, RuntimeError):
    """An algorithm failed while running (CLI exit code 1)."""


class CanceledError(GisDeskError):
    """The user cancelled a long operation; not a failure."""

    def __init__(self, message: str = "Cancelled by the user", **kw) -> None:
        super().__init__(message, **kw)


# --- plugins -------------------------------------------------------------------------------


class PluginError(GisDeskError, RuntimeError):
    """A plugin failed to load or raised while contributing."""


class ManifestError(PluginError, ValueError):
    """A plugin manifest is missing, is not YAML, or breaks the schema."""
