"""Small pieces the point-cloud dialogs share: layer choosers that follow the project, the
undoable "set transform" command, epoch labels from file names, and geometry look-ups
(stable areas, zones, section lines) reprojected into the clouds' CRS.

Nothing here measures anything; it gathers the user's choices for ``gis_desk.analysis``.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Callable

import numpy as np
from PySide6.QtWidgets import QComboBox

from gis_desk.core.commands import Command
from gis_desk.core.layer import Layer, VectorLayer
from gis_desk.core.pointcloud import PointCloudLayer
from gis_desk.errors import CrsError, ParameterError

POLYGON_TYPES = ("Polygon", "MultiPolygon")
LINE_TYPES = ("LineString", "MultiLineString")


# -- epoch labels ------------------------------------------------------------------------------

_EPOCH = re.compile(r"(?<![A-Za-z])(?:epoch|ep|e)[ _-]?(\d{1,2})(?!\d)", re.IGNORECASE)
_DATE_DASHED = re.compile(r"(?<!\d)((?:19|20)\d{2})[-_.]([01]\d)(?:[-_.]([0-3]\d))?(?!\d)")
_DATE_COMPACT = re.compile(r"(?<!\d)((?:19|20)\d{2})([01]\d)([0-3]\d)(?!\d)")


def epoch_label_from_name(path: str | Path) -> str:
    """'Epoch 1 (2024-03)' for 'bridge_epoch1_2024-03.laz'; the date alone ('2024-03-12') or
    the file stem when the name says no epoch number or no date."""
    stem = Path(str(path)).name.split(".")[0]
    date = ""
    m = _DATE_DASHED.search(stem)
    if m and 1 <= int(m.group(2)) <= 12:
        date = f"{m.group(1)}-{m.group(2)}" + (f"-{m.group(3)}" if m.group(3) else "")
    else:
        m = _DATE_COMPACT.search(stem)
        if m and 1 <= int(m.group(2)) <= 12 and 1 <= int(m.group(3)) <= 31:
            date = f"{m.group(1)}-{m.group(2)}-{m.group(3)}"
    # strip the date first so its digits are not taken for an epoch number
    rest = _DATE_COMPACT.sub(" ", _DATE_DASHED.sub(" ", stem))
    e = _EPOCH.search(rest)
    if e:
        return f"Epoch {int(e.group(1))}" + (f" ({date})" if date else "")
    return date or stem


def layer_label(layer: Layer) -> str:
    """What a chooser shows: the name, and the epoch when the layer has one."""
    epoch = getattr(layer, "epoch_label", "")
    return f"{layer.name} — {epoch}" if epoch and epoch not in layer.name else layer.name


# -- layer choosers ----------------------------------------------------------------------------


def is_pointcloud(layer: Layer) -> bool:
    return isinstance(layer, PointCloudLayer) and layer.dataset is not None


def geometry_types(layer: Layer) -> set[str]:
    if not isinstance(layer, VectorLayer) or layer.dataset is None:
        return set()
    return set(layer.dataset.frame.geom_type.dropna().unique())


def is_polygon_layer(layer: Layer) -> bool:
    types = geometry_types(layer)
    return bool(types) and types <= set(POLYGON_TYPES)


def is_line_layer(layer: Layer) -> bool:
    types = geometry_types(layer)
    return bool(types) and types <= set(LINE_TYPES)


class LayerChooser(QComboBox):
    """The project's layers that pass ``accept``, kept current as layers come and go.
    ``optional`` adds a first '(none)' entry whose layer is None."""

    def __init__(self, project, accept: Callable[[Layer], bool], optional: bool = False,
                 none_text: str = "(none)", parent=None) -> None:
        super().__init__(parent)
        self.project, self.accept, self.optional, self.none_text = project, accept, optional, none_text
        self.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.setMinimumContentsLength(24)
        self.refill()
        events = project.layers.events
        for signal in (events.inserted, events.removed, events.changed):
            signal.connect(self._layers_changed)
        self.destroyed.connect(lambda *_: self._disconnect(events))

    def _disconnect(self, events) -> None:
        for signal in (events.inserted, events.removed, events.changed):
            try:
                signal.disconnect(self._layers_changed)
            except (ValueError, RuntimeError):
                pass

    def _layers_changed(self, *_: Any) -> None:
        try:
            self.refill()
        except RuntimeError:  # the C++ combo is already gone
            pass

    def refill(self) -> None:
        current = self.layer()
        self.blockSignals(True)
        self.clear()
        if self.optional:
            self.addItem(self.none_text, None)
        for layer in reversed(list(self.project.layers)):  # top of the layer tree first
            if self.accept(layer):
                self.addItem(layer_label(layer), layer.id)
        self.blockSignals(False)
        if current is not None:
            self.set_layer(current)
        self.currentIndexChanged.emit(self.currentIndex())

    def layer(self) -> Layer | None:
        layer_id = self.currentData()
        if layer_id is None:
            return None
        return next((l for l in self.project.layers if l.id == layer_id), None)

    def set_layer(self, layer: Layer | None) -> bool:
        index = self.findData(layer.id) if layer is not None else (0 if self.optional else -1)
        if index >= 0:
            self.setCurrentIndex(index)
        return index >= 0

    def layers(self) -> list[Layer]:
        return [l for l in (self.itemData(i) for i in range(self.count())) if l is not None]


# -- undoable transform ------------------------------------------------------------------------


class SetTransform(Command):
    """Place a point-cloud layer with a new 4x4 ``transform`` (the file is never rewritten)."""

    def __init__(self, layer: PointCloudLayer, matrix: np.ndarray, text: str = "") -> None:
        self.layer = layer
        self.new = np.asarray(matrix, dtype=np.float64).copy()
        self.old = layer.transform
        self.text = text or f"Register {layer.name}"

    def redo(self) -> None:
        self.layer.transform = self.new

    def undo(self) -> None:
        self.layer.transform = self.old


# -- geometries in the clouds' CRS -------------------------------------------------------------


def frame_in_crs(layer: VectorLayer, crs: Any):
    """The layer's GeoDataFrame in ``crs`` (the clouds'), reprojected when they differ."""
    from gis_desk.core.crs import same_crs

    frame = layer.dataset.frame
    if crs is None or frame.crs is None or same_crs(frame.crs, crs):
        return frame
    try:
        return frame.to_crs(crs)
    except Exception as exc:  # noqa: BLE001 - pyproj raises several kinds
        raise CrsError(f"Layer '{layer.name}' cannot be reprojected to the point clouds' CRS: {exc}") from exc


def polygons_of(layer: VectorLayer, crs: Any) -> list:
    """Every polygon of ``layer`` in ``crs`` (multi-polygons split), for ICP stable areas."""
    frame = frame_in_crs(layer, crs)
    polys = []
    for geom in frame.geometry:
        if geom is None or geom.is_empty:
            continue
        polys.extend(getattr(geom, "geoms", [geom]))
    if not polys:
        raise ParameterError(f"Layer '{layer.name}' has no polygons",
                             hint="draw the stable areas (abutments, banks) as polygons")
    return polys


def lines_of(layer: VectorLayer, crs: Any, label_field: str | None = None) -> tuple[list, list[str]]:
    """(LineStrings, labels) of ``layer`` in ``crs``; labels from ``label_field`` or numbered."""
    frame = frame_in_crs(layer, crs)
    lines, labels = [], []
    field = label_field if label_field in frame.columns else next(
        (c for c in ("name", "label", "id") if c in frame.columns), None)
    for i, geom in enumerate(frame.geometry):
        if geom is None or geom.is_empty:
            continue
        parts = list(getattr(geom, "geoms", [geom]))
        base = str(frame[field].iloc[i]) if field else f"Section {len(labels) + 1}"
        for j, part in enumerate(parts):
            lines.append(part)
            labels.append(base if len(parts) == 1 else f"{base} ({j + 1})")
    return lines, labels


def format_matrix(matrix: np.ndarray) -> str:
    from gis_desk.analysis.registration import format_transform

    return format_transform(np.asarray(matrix))


# -- registrations saved with the project ------------------------------------------------------

PLUGIN_KEY = "pointclouds"  # key of this package's state in ``project.plugin_data``


class RegistrationStore:
    """The registration applied to each layer (by layer id), kept in the project file so the
    registration error is still known to Compare epochs after the project is reopened."""

    def __init__(self, session) -> None:
        self.session = session

    def _table(self, create: bool = False) -> dict:
        data = self.session.project.plugin_data
        if create:
            return data.setdefault(PLUGIN_KEY, {}).setdefault("registrations", {})
        return (data.get(PLUGIN_KEY) or {}).get("registrations") or {}

    def get(self, layer_id: str, default=None):
        from gis_desk.analysis.registration import RegistrationResult

        record = self._table().get(layer_id)
        if record is None:
            return default
        record = {k: (float("nan") if v is None and k in ("rms", "overlap") else v) for k, v in record.items()}
        try:
            return RegistrationResult.from_dict(record)
        except (KeyError, TypeError, ValueError):  # a hand-edited project: ignore the record
            return default

    def __contains__(self, layer_id: str) -> bool:
        return layer_id in self._table()

    def __getitem__(self, layer_id: str):
        result = self.get(layer_id)
        if result is None:
            raise KeyError(layer_id)
        return result

    def __setitem__(self, layer_id: str, result) -> None:
        from gis_desk.analysis.change import json_safe  # project files are strict JSON: NaN -> null

        self._table(create=True)[layer_id] = json_safe(result.to_dict())

    def pop(self, layer_id: str, default=None):
        result = self.get(layer_id, default)
        self._table(create=True).pop(layer_id, None)
        return result

