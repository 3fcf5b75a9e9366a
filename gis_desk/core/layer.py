"""Layers: a dataset reference plus style, visibility, opacity and name.

New layer kinds (point clouds, media...) plug in through ONE table: decorate the
subclass with ``@register_layer_kind`` naming its dataset type.  The session uses
``layer_class_for(dataset)``; the project file uses ``LAYER_KINDS[kind]``; the renderer
keeps its own table from layer class to drawing function (``gis_desk.render``).

Events (psygnal): ``layer.changed(name)`` fires after a property changes, with the
property name ('name', 'visible', 'opacity', 'style', 'dataset'); vector layers also
fire ``selection_changed()``.
"""

from __future__ import annotations

import uuid
from typing import Any, ClassVar

from psygnal import Signal

from gis_desk.core.datasets import Dataset, DataSource, RasterDataset, TileDataset, VectorDataset
from gis_desk.core.style import RasterStyle, SingleSymbolStyle, style_from_dict, style_to_dict

LAYER_KINDS: dict[str, type["Layer"]] = {}
_LAYER_FOR_DATASET: dict[type, type["Layer"]] = {}


def register_layer_kind(dataset_type: type | None):
    """Class decorator: record a Layer subclass under its ``kind`` and dataset type."""

    def deco(cls: type[Layer]) -> type[Layer]:
        LAYER_KINDS[cls.kind] = cls
        if dataset_type is not None:
            _LAYER_FOR_DATASET[dataset_type] = cls
        return cls

    return deco


def layer_class_for(dataset: Dataset) -> type["Layer"]:
    for klass in type(dataset).__mro__:
        if klass in _LAYER_FOR_DATASET:
            return _LAYER_FOR_DATASET[klass]
    raise TypeError(f"No layer kind registered for {type(dataset).__name__}")


class Layer:
    kind: ClassVar[str] = "layer"
    changed = Signal(str)

    def __init__(
        self,
        dataset: Dataset | None,
        *,
        name: str | None = None,
        style: Any = None,
        visible: bool = True,
        opacity: float = 1.0,
        layer_id: str | None = None,
        source: DataSource | None = None,
    ) -> None:
        self.id = layer_id or uuid.uuid4().hex[:12]
        self._dataset = dataset
        self.source = source or (dataset.source if dataset is not None else None)
        self._name = name or (self.source.name if self.source else self.kind)
        self._style = style if style is not None else self.default_style()
        self._visible = bool(visible)
        self._opacity = float(opacity)

    # -- properties that fire ``changed`` ------------------------------------------------------
    def _set(self, attr: str, value: Any) -> None:
        if getattr(self, "_" + attr) == value and attr != "style":
            return
        setattr(self, "_" + attr, value)
        self.changed.emit(attr)

    @property
    def name(self) -> str:
        return self._name

    @name.setter
    def name(self, value: str) -> None:
        self._set("name", str(value))

    @property
    def visible(self) -> bool:
        return self._visible

    @visible.setter
    def visible(self, value: bool) -> None:
        self._set("visible", bool(value))

    @property
    def opacity(self) -> float:
        return self._opacity

    @opacity.setter
    def opacity(self, value: float) -> None:
        self._set("opacity", min(1.0, max(0.0, float(value))))

    @property
    def style(self):
        return self._style

    @style.setter
    def style(self, value) -> None:
        self._set("style", value)

    @property
    def dataset(self) -> Dataset | None:
        return self._dataset

    @dataset.setter
    def dataset(self, value: Dataset) -> None:
        self._dataset = value
        self.source = value.source
        self.changed.emit("dataset")

    # -- georeference --------------------------------------------------------------------------
    @property
    def crs(self):
        return self._dataset.crs if self._dataset is not None else None

    @property
    def bounds(self) -> tuple[float, float, float, float] | None:
        """Extent in the layer's own CRS, or None for a layer without data."""
        return self._dataset.bounds if self._dataset is not None else None

    @property
    def is_broken(self) -> bool:
        return False

    def default_style(self):
        return None

    # -- persistence ---------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind,
            "name": self.name,
            "visible": self.visible,
            "opacity": self.opacity,
            "source": {
                "path": self.source.path if self.source else None,
                "reader": self.source.reader if self.source else "",
                "options": dict(self.source.options) if self.source else {},
            },
            "style": style_to_dict(self.style),
        }

    def restore_state(self, record: dict[str, Any]) -> None:
        """Read back, without firing events, what a kind saves in ``to_dict`` beyond the
        common fields and the style (a point cloud's transform, a footage layer's bookmarks).
        Called while a project loads; the base layer has nothing more."""

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name!r} id={self.id}>"


@register_layer_kind(VectorDataset)
class VectorLayer(Layer):
    kind = "vector"
    selection_changed = Signal()

    def __init__(self, dataset: VectorDataset | None, **kw) -> None:
        super().__init__(dataset, **kw)
        self._selection: frozenset[int] = frozenset()

    def default_style(self):
        return SingleSymbolStyle()

    @property
    def selection(self) -> frozenset[int]:
        """Selected feature ids (row positions)."""
        return self._selection

    @selection.setter
    def selection(self, ids) -> None:
        ids = frozenset(int(i) for i in ids)
        if ids != self._selection:
            self._selection = ids
            self.selection_changed.emit()


class RasterLayerBase(Layer):
    """Shared by raster-like layers; concrete kinds register with their dataset type."""

    def default_style(self):
        ds = self.dataset
        default = getattr(ds, "default_style", None)
        return default() if callable(default) else RasterStyle()


@register_layer_kind(None)
class BrokenLayer(Layer):
    """A layer whose data could not be opened (missing file, corrupt, moved).

    Keeps everything the project file said about it so saving again loses nothing and the
    user can re-point it (``Session.repoint_layer``).  ``error`` says why it is broken.
    """

    kind = "broken"

    def __init__(self, record: dict[str, Any], error: str) -> None:
        src = record.get("source") or {}
        super().__init__(
            None,
            name=record.get("name"),
            visible=record.get("visible", True),
            opacity=record.get("opacity", 1.0),
            layer_id=record.get("id"),
            source=DataSource(src.get("path") or "", src.get("reader", ""), src.get("options", {})),
            style=None,
        )
        self.record = dict(record)
        self.error = error

    @property
    def intended_kind(self) -> str:
        return self.record.get("kind", "unknown")

    @property
    def is_broken(self) -> bool:
        return True

    def to_dict(self) -> dict[str, Any]:
        d = dict(self.record)
        d.update(name=self.name, visible=self.visible, opacity=self.opacity)
        d["source"] = {"path": self.source.path, "reader": self.source.reader, "options": dict(self.source.options)}
        return d


def restore_style(layer: Layer, style_dict: dict | None) -> None:
    """Apply a saved style without firing events (used while loading a project)."""
    style = style_from_dict(style_dict)
    if style is not None:
        layer._style = style


@register_layer_kind(RasterDataset)
class RasterLayer(RasterLayerBase):
    kind = "raster"


@register_layer_kind(TileDataset)
class TileLayer(Layer):
    """An offline basemap; not styled, only visibility and opacity."""

    kind = "tiles"
