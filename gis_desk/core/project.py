"""The project: ordered layers, CRS, bookmarks, view, export log.

``project.layers`` is a psygnal ``EventedList``: index 0 is the BOTTOM layer (drawn first),
the last is the top; the layer tree shows them reversed, as QGIS does.  Its events:
``inserted(index, layer)``, ``removed(index, layer)``, ``moved((old, new), layer)``,
``reordered()``.  ``project.events`` carries the project-level signals below.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from psygnal import Signal, SignalGroup
from psygnal.containers import EventedList

from gis_desk.core.crs import BNG, crs_id, to_crs, transform_bounds
from gis_desk.core.layer import Layer


@dataclass
class Bookmark:
    name: str
    extent: tuple[float, float, float, float]  # in ``crs``
    crs: str = BNG


class ProjectEvents(SignalGroup):
    crs = Signal(object)  # new pyproj.CRS
    bookmarks = Signal()
    dirty = Signal(bool)
    path = Signal(object)  # Path | None
    view_extent = Signal(object)


@dataclass
class ExportRecord:
    """One line of the export log kept with the project (when, what, where, policy)."""

    when: str
    what: str
    where: str
    policy: str = ""
    details: dict[str, Any] = field(default_factory=dict)


class Project:
    def __init__(self, crs: Any = BNG, title: str = "Untitled") -> None:
        self.events = ProjectEvents()
        self.layers: EventedList[Layer] = EventedList()
        self._title = title
        self._crs = to_crs(crs)
        self._path: Path | None = None
        self._dirty = False
        self.bookmarks: dict[str, Bookmark] = {}
        self.view_extent: tuple[float, float, float, float] | None = None
        self.export_log: list[ExportRecord] = []
        self.plugin_data: dict[str, Any] = {}  # per-plugin state saved with the project
        self.layers.events.inserted.connect(self._on_layer_inserted)
        self.layers.events.removed.connect(lambda *_: self.mark_dirty())
        self.layers.events.moved.connect(lambda *_: self.mark_dirty())

    def reset(self, crs: Any = BNG, title: str = "Untitled") -> None:
        """Empty the project in place, keeping this object and its event connections."""
        self.layers.clear()
        self.title = title
        self.crs = crs
        self.path = None
        self.bookmarks = {}
        self.events.bookmarks.emit()
        self.view_extent = None
        self.export_log = []
        self.plugin_data = {}
        self.mark_dirty(False)

    # -- state ---------------------------------------------------------------------------------
    @property
    def title(self) -> str:
        return self._title

    @title.setter
    def title(self, value: str) -> None:
        if value != self._title:
            self._title = str(value)
            self.mark_dirty()

    @property
    def crs(self):
        return self._crs

    @crs.setter
    def crs(self, value) -> None:
        new = to_crs(value)
        if crs_id(new) != crs_id(self._crs):
            self._crs = new
            self.events.crs.emit(new)
            self.mark_dirty()

    @property
    def path(self) -> Path | None:
        return self._path

    @path.setter
    def path(self, value) -> None:
        self._path = Path(value) if value else None
        self.events.path.emit(self._path)

    @property
    def dirty(self) -> bool:
        return self._dirty

    def mark_dirty(self, dirty: bool = True) -> None:
        if dirty != self._dirty:
            self._dirty = dirty
            self.events.dirty.emit(dirty)

    def _on_layer_inserted(self, index: int, layer: Layer) -> None:
        layer.changed.connect(lambda *_: self.mark_dirty())
        self.mark_dirty()

    # -- queries -------------------------------------------------------------------------------
    def layer_by_id(self, layer_id: str) -> Layer:
        for layer in self.layers:
            if layer.id == layer_id:
                return layer
        raise KeyError(layer_id)

    def layer_by_name(self, name: str) -> Layer:
        for layer in self.layers:
            if layer.name == name:
                return layer
        raise KeyError(name)

    def layer_extent(self, layer: Layer) -> tuple[float, float, float, float] | None:
        """A layer's extent in the project CRS (None for broken or empty layers)."""
        if layer.bounds is None or layer.crs is None:
            return None
        return transform_bounds(layer.crs, self.crs, layer.bounds)

    def full_extent(self, visible_only: bool = False) -> tuple[float, float, float, float] | None:
        """Union of layer extents in the project CRS."""
        boxes = [
            self.layer_extent(layer)
            for layer in self.layers
            if (layer.visible or not visible_only) and not layer.is_broken
        ]
        boxes = [b for b in boxes if b is not None]
        if not boxes:
            return None
        return (
            min(b[0] for b in boxes),
            min(b[1] for b in boxes),
            max(b[2] for b in boxes),
            max(b[3] for b in boxes),
        )

    # -- bookmarks -----------------------------------------------------------------------------
    def add_bookmark(self, name: str, extent, crs: Any = None) -> Bookmark:
        bm = Bookmark(name, tuple(float(v) for v in extent), crs_id(crs or self.crs))
        self.bookmarks[name] = bm
        self.events.bookmarks.emit()
        self.mark_dirty()
        return bm

    def remove_bookmark(self, name: str) -> None:
        self.bookmarks.pop(name)
        self.events.bookmarks.emit()
        self.mark_dirty()

    def bookmark_extent(self, name: str) -> tuple[float, float, float, float]:
        bm = self.bookmarks[name]
        return transform_bounds(bm.crs, self.crs, bm.extent)
