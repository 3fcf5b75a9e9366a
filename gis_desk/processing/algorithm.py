"""The base class of processing algorithms, and helpers algorithm authors share.

An algorithm declares its parameters (``parameters()``) and outputs (``outputs()``) once; the
GUI builds its form from them, the CLI parses ``key=value`` text with them and
``gis_desk.processing.run.run_algorithm`` validates values with them before calling
``run(params, feedback)``.  ``run`` takes inputs and returns a dict of outputs; it never
touches the project or widgets, reports progress through ``feedback`` and calls
``feedback.check_canceled()`` at safe points.

Algorithms are declared in a plugin manifest (``algorithms: [{id, python_name}]``) and
instantiated with no arguments by ``gis_desk.processing.registry.create_algorithm``.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import textwrap
from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, ClassVar, Iterator

from gis_desk.errors import WriterError
from gis_desk.processing.feedback import Feedback
from gis_desk.processing.parameters import Parameter


@dataclass(frozen=True)
class OutputDefinition:
    """One entry of the dict ``run`` returns.  ``kind``: 'vector' or 'raster' (a file path),
    'number', 'integer', 'string' or 'file'."""

    name: str
    kind: str
    description: str = ""


class Algorithm(ABC):
    """Base class: set the class attributes and implement ``parameters`` and ``run``."""

    id: ClassVar[str] = ""  # e.g. 'builtins.buffer'; the manifest's id wins if they differ
    display_name: ClassVar[str] = ""
    group: ClassVar[str] = ""  # e.g. 'Vector geometry'
    description: ClassVar[str] = ""  # what it does, units, CRS handling; first line is a summary

    @abstractmethod
    def parameters(self) -> list[Parameter]:
        """The parameters, in form order."""

    def outputs(self) -> list[OutputDefinition]:
        """What ``run`` returns."""
        return []

    @abstractmethod
    def run(self, params: dict[str, Any], feedback: Feedback) -> dict[str, Any]:
        """Do the work on validated ``params`` (every declared name present); return outputs.

        Raise ``ParameterError`` for values only found bad once the data is read (e.g. a
        field name), other ``GisDeskError``s for data problems; ``CanceledError`` comes from
        ``feedback.check_canceled()``.
        """

    # -- introspection -------------------------------------------------------------------------
    def parameter(self, name: str) -> Parameter:
        for param in self.parameters():
            if param.name == name:
                return param
        raise KeyError(name)

    def help_text(self) -> str:
        """Plain-text help: summary, description, parameters and outputs."""
        lines = [f"{self.display_name or self.id} ({self.id})"]
        if self.group:
            lines.append(f"Group: {self.group}")
        if self.description:
            lines += ["", textwrap.dedent(self.description).strip()]
        lines += ["", "Parameters:"]
        for param in self.parameters():
            lines.append(textwrap.fill(param.usage(), width=100, initial_indent="  ",
                                       subsequent_indent="      "))
        if self.outputs():
            lines += ["", "Outputs:"]
            for out in self.outputs():
                lines.append(f"  {out.name} ({out.kind}): {out.description}")
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly declaration (``gis-desk algorithms help ID --json``)."""
        return {
            "id": self.id,
            "display_name": self.display_name,
            "group": self.group,
            "description": textwrap.dedent(self.description).strip(),
            "parameters": [p.to_dict() for p in self.parameters()],
            "outputs": [{"name": o.name, "kind": o.kind, "description": o.description} for o in self.outputs()],
        }

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.id}>"


# --- helpers for algorithm authors ---------------------------------------------------------

DEFAULT_CHUNK_ROWS = 5000


def iter_chunks(frame, feedback: Feedback, start: float = 0.0, end: float = 100.0,
                chunk_rows: int = DEFAULT_CHUNK_ROWS) -> Iterator[Any]:
    """Yield consecutive row slices of ``frame`` (at most ``chunk_rows`` rows each).

    Checks for cancellation before each chunk (raises ``CanceledError``) and sets progress
    from ``start`` to ``end`` percent as chunks complete.  An empty frame yields nothing.
    """
    total = len(frame)
    for first in range(0, total, chunk_rows):
        feedback.check_canceled()
        yield frame.iloc[first:first + chunk_rows]
        done = min(total, first + chunk_rows)
        feedback.set_progress(start + (end - start) * done / total)


def map_chunks(frame, func: Callable[[Any], Any], feedback: Feedback, start: float = 0.0,
               end: float = 100.0, chunk_rows: int = DEFAULT_CHUNK_ROWS) -> list[Any]:
    """``[func(chunk) for chunk in iter_chunks(...)]``: progress and cancellation included."""
    return [func(chunk) for chunk in iter_chunks(frame, feedback, start, end, chunk_rows)]


VECTOR_DRIVERS = {".gpkg": "GPKG", ".geojson": "GeoJSON", ".json": "GeoJSON",
                  ".shp": "ESRI Shapefile", ".fgb": "FlatGeobuf"}
VECTOR_OUTPUT_EXTENSIONS = [".gpkg", ".geojson", ".shp", ".fgb"]


def write_vector_output(frame, path: str | Path) -> str:
    """Write ``frame`` (a GeoDataFrame with a CRS) as the only layer of a new file at ``path``.

    The driver follows the extension (``VECTOR_DRIVERS``).  The file is written in a temporary
    folder beside the target and moved into place, so a failure or cancellation never leaves
    a half-written output and an existing file is replaced whole (every Shapefile part too).
    Returns the path as text; raises ``WriterError`` naming the file.
    """
    path = Path(path)
    driver = VECTOR_DRIVERS.get(path.suffix.lower())
    if driver is None:
        raise WriterError(f"Cannot write {path.suffix!r} vector files", path=path,
                          hint=f"use one of: {', '.join(VECTOR_OUTPUT_EXTENSIONS)}")
    try:
        staging = Path(tempfile.mkdtemp(prefix=f".{path.stem}.", dir=path.parent))
    except OSError as exc:
        raise WriterError(f"Cannot write in this folder: {exc.strerror or exc}", path=path,
                          hint="check the folder exists and is writable") from exc
    try:
        try:
            _write_frame(frame, staging / path.name, driver, layer=path.stem)
        except WriterError as exc:  # name the user's file, not the staging copy
            raise WriterError(exc.message, path=path, hint=exc.hint, details=exc.details) from exc
        for part in staging.iterdir():  # a Shapefile is several files with one stem
            os.replace(part, path.parent / part.name)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return str(path)


def _write_frame(frame, path: Path, driver: str, layer: str) -> None:
    from gis_desk.io.vector import write_vector

    write_vector(frame, str(path), driver=driver, layer=layer)
