"""The layer tree ("Layers" panel): the project's layers, top layer first, as QGIS shows them.

``LayerTreeModel`` is a Qt model over ``session.project.layers`` (index 0 = bottom, so tree
row ``r`` is project index ``n - 1 - r``).  It follows the list's events with proper
insert/remove/move notifications, and every edit goes through the ``Session`` so it is
undoable: the visibility checkbox and rename use ``Session.set_layer_property``, drag and
drop uses ``Session.move_layer``.  Under each layer sit its legend entries
(``gis_desk.core.legend.legend_entries``: a symbol swatch and a label).

``LayerTreeView`` adds the context menu (zoom to layer, attribute table, style, opacity,
rename, remove, properties, and "Re-point data source…" for broken layers) and reports the
current layer with ``current_layer_changed``.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from PySide6.QtCore import QAbstractItemModel, QMimeData, QModelIndex, QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QBrush, QColor, QIcon, QPainter, QPainterPath, QPen, QPixmap, QPolygonF
from PySide6.QtWidgets import (QAbstractItemView, QHBoxLayout, QLabel, QMenu, QSlider, QTreeView, QWidget,
                               QWidgetAction)

from gis_desk.core.layer import Layer, VectorLayer
from gis_desk.qt.icons import icon

log = logging.getLogger(__name__)
LAYER_MIME = "application/x-gisdesk-layer-ids"
LAYER_ROLE = Qt.ItemDataRole.UserRole + 1
_TOP = 0  # internalId of layer rows; legend rows store parent row + 1


def qcolor(text: str | None) -> QColor:
    """QColor from '#rrggbb' or '#rrggbbaa' (Qt reads '#aarrggbb', so reorder)."""
    if not text:
        return QColor(0, 0, 0, 0)
    t = text.strip()
    if t.startswith("#") and len(t) == 9:
        c = QColor(t[:7])
        c.setAlpha(int(t[7:9], 16))
        return c
    return QColor(t)


def swatch(entry: Any, size: int = 16) -> QIcon:
    """A small picture of a legend entry: polygon box, line stroke, point marker or ramp."""
    pix = QPixmap(size, size)
    pix.fill(Qt.GlobalColor.transparent)
    p = QPainter(pix)
    p.setRenderHint(QPainter.RenderHint.Antialiasing)
    fill = qcolor(getattr(entry, "fill", None))
    stroke = qcolor(getattr(entry, "stroke", None))
    shape = str(getattr(entry, "shape", "polygon") or "polygon").lower()
    pen = QPen(stroke, 1.2) if stroke.alpha() else Qt.PenStyle.NoPen
    if shape in ("line", "linestring"):
        p.setPen(QPen(stroke if stroke.alpha() else fill, 2.2))
        path = QPainterPath()
        path.moveTo(1, size - 4)
        path.cubicTo(size * 0.4, 2, size * 0.6, size - 2, size - 1, 4)
        p.drawPath(path)
    elif shape in ("point", "marker", "circle"):
        p.setPen(pen)
        p.setBrush(QBrush(fill))
        _draw_marker(p, str(getattr(entry, "marker", "circle") or "circle"), size)
    elif shape in ("ramp", "raster", "gradient") and getattr(entry, "colors", None):
        colors = list(entry.colors)
        w = size / len(colors)
        for i, c in enumerate(colors):
            p.fillRect(int(i * w), 1, int(w + 1), size - 2, qcolor(c))
    else:
        p.setPen(pen)
        p.setBrush(QBrush(fill))
        p.drawRect(1, 2, size - 3, size - 5)
    p.end()
    return QIcon(pix)


def _draw_marker(p: QPainter, marker: str, size: int) -> None:
    """The same marker shapes the renderer draws (circle, square, triangle, diamond)."""
    lo, hi, mid = 3.0, size - 3.0, size / 2.0
    if marker == "square":
        p.drawRect(QRectF(lo, lo, hi - lo, hi - lo))
    elif marker in ("triangle", "diamond"):
        points = ([QPointF(mid, lo), QPointF(hi, hi), QPointF(lo, hi)] if marker == "triangle"
                  else [QPointF(mid, lo - 1), QPointF(hi + 1, mid), QPointF(mid, hi + 1), QPointF(lo - 1, mid)])
        p.drawPolygon(QPolygonF(points))
    else:
        p.drawEllipse(QRectF(lo, lo, hi - lo, hi - lo))


def layer_icon(layer: Layer) -> QIcon:
    if layer.is_broken:
        return icon("layer_broken")
    if isinstance(layer, VectorLayer):
        geom = getattr(layer.dataset, "geometry_type", "Polygon")
        return icon({"Point": "layer_point", "LineString": "layer_line"}.get(geom, "layer_polygon"))
    return icon({"tiles": "layer_tiles"}.get(layer.kind, "layer_raster"))


class LayerTreeModel(QAbstractItemModel):
    """Layers (top first) with checkable visibility, editable names and legend children."""

    def __init__(self, session, parent=None) -> None:
        super().__init__(parent)
        self.session = session
        self.layers = session.project.layers
        self._legend: dict[str, list] = {}
        self._watched: set[str] = set()
        self._moving = False
        ev = self.layers.events
        ev.inserting.connect(self._on_inserting)
        ev.inserted.connect(self._on_inserted)
        ev.removing.connect(self._on_removing)
        ev.removed.connect(self._on_removed)
        ev.moving.connect(self._on_moving)
        ev.moved.connect(self._on_moved)
        ev.changed.connect(self._on_replaced)
        for layer in self.layers:
            self._watch(layer)

    # -- mapping ------------------------------------------------------------------------------
    def layer_at(self, row: int) -> Layer:
        return self.layers[len(self.layers) - 1 - row]

    def row_of(self, layer: Layer) -> int:
        return len(self.layers) - 1 - self.layers.index(layer)

    def index_of(self, layer: Layer) -> QModelIndex:
        return self.index(self.row_of(layer), 0)

    def layer_for_index(self, index: QModelIndex) -> Layer | None:
        if not index.isValid():
            return None
        row = index.row() if index.internalId() == _TOP else index.internalId() - 1
        return self.layer_at(row) if 0 <= row < len(self.layers) else None

    def legend(self, layer: Layer) -> list:
        if layer.id not in self._legend:
            entries: list = []
            if not layer.is_broken:
                try:
                    from gis_desk.core.legend import legend_entries

                    entries = list(legend_entries(layer))
                except Exception as exc:  # noqa: BLE001 - a legend must never break the tree
                    log.warning("no legend for %s: %s", layer.name, exc)
            # a single-entry legend adds nothing to the layer row itself (as in QGIS)
            self._legend[layer.id] = entries if len(entries) > 1 else []
        return self._legend[layer.id]

    # -- Qt model API -------------------------------------------------------------------------
    def index(self, row: int, column: int, parent=QModelIndex()) -> QModelIndex:
        if column != 0 or row < 0:
            return QModelIndex()
        if not parent.isValid():
            return self.createIndex(row, 0, _TOP) if row < len(self.layers) else QModelIndex()
        if parent.internalId() != _TOP:
            return QModelIndex()
        if row >= len(self.legend(self.layer_at(parent.row()))):
            return QModelIndex()
        return self.createIndex(row, 0, parent.row() + 1)

    def parent(self, index: QModelIndex = QModelIndex()) -> QModelIndex:  # type: ignore[override]
        if not index.isValid() or index.internalId() == _TOP:
            return QModelIndex()
        return self.createIndex(index.internalId() - 1, 0, _TOP)

    def rowCount(self, parent=QModelIndex()) -> int:
        if not parent.isValid():
            return len(self.layers)
        if parent.internalId() == _TOP and parent.row() < len(self.layers):
            return len(self.legend(self.layer_at(parent.row())))
        return 0

    def columnCount(self, parent=QModelIndex()) -> int:
        return 1

    def flags(self, index: QModelIndex):
        if not index.isValid():
            return Qt.ItemFlag.ItemIsDropEnabled
        if index.internalId() != _TOP:
            return Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsDropEnabled
        return (Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable | Qt.ItemFlag.ItemIsUserCheckable
                | Qt.ItemFlag.ItemIsEditable | Qt.ItemFlag.ItemIsDragEnabled | Qt.ItemFlag.ItemIsDropEnabled)

    def data(self, index: QModelIndex, role=Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        if index.internalId() != _TOP:
            entries = self.legend(self.layer_at(index.internalId() - 1))
            if index.row() >= len(entries):
                return None
            entry = entries[index.row()]
            if role == Qt.ItemDataRole.DisplayRole:
                return str(getattr(entry, "label", ""))
            if role == Qt.ItemDataRole.DecorationRole:
                return swatch(entry)
            return None
        layer = self.layer_at(index.row())
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.EditRole):
            return layer.name
        if role == Qt.ItemDataRole.CheckStateRole:
            return Qt.CheckState.Checked if layer.visible else Qt.CheckState.Unchecked
        if role == Qt.ItemDataRole.DecorationRole:
            return layer_icon(layer)
        if role == Qt.ItemDataRole.ToolTipRole:
            if layer.is_broken:
                return f"{layer.name}\nData source not available: {layer.error}\nRight-click > Re-point data source…"
            return f"{layer.name}\n{layer.source.path if layer.source else ''}"
        if role == Qt.ItemDataRole.ForegroundRole and layer.is_broken:
            return QColor("#b26a00")
        if role == LAYER_ROLE:
            return layer
        return None

    def setData(self, index: QModelIndex, value, role=Qt.ItemDataRole.EditRole) -> bool:
        layer = self.layer_for_index(index)
        if layer is None or index.internalId() != _TOP:
            return False
        if role == Qt.ItemDataRole.CheckStateRole:
            visible = Qt.CheckState(value) == Qt.CheckState.Checked if not isinstance(value, bool) else value
            if visible != layer.visible:
                self.session.set_layer_property(layer, "visible", visible)
            return True
        if role == Qt.ItemDataRole.EditRole:
            name = str(value).strip()
            if name and name != layer.name:
                self.session.set_layer_property(layer, "name", name)
            return bool(name)
        return False

    # -- drag and drop (moves go through the session's undo stack) ------------------------------
    def supportedDropActions(self):
        return Qt.DropAction.MoveAction

    def mimeTypes(self) -> list[str]:
        return [LAYER_MIME]

    def mimeData(self, indexes) -> QMimeData:
        ids = []
        for index in sorted((i for i in indexes if i.isValid() and i.internalId() == _TOP), key=lambda i: i.row()):
            layer = self.layer_at(index.row())
            if layer.id not in ids:
                ids.append(layer.id)
        data = QMimeData()
        data.setData(LAYER_MIME, json.dumps(ids).encode())
        return data

    def dropMimeData(self, data: QMimeData, action, row: int, column: int, parent: QModelIndex) -> bool:
        if action != Qt.DropAction.MoveAction or not data.hasFormat(LAYER_MIME):
            return False
        if parent.isValid():  # dropped onto an item: place above it
            target = parent.row() if parent.internalId() == _TOP else parent.internalId() - 1
        else:
            target = row if row >= 0 else len(self.layers)
        ids = json.loads(bytes(data.data(LAYER_MIME)).decode())
        self.move_layers([self.session.project.layer_by_id(i) for i in ids], target)
        return False  # the session did the move; the view must not remove any rows

    def move_layers(self, layers: list[Layer], target_row: int) -> None:
        """Move ``layers`` (in this order) so they sit just above tree row ``target_row``."""
        for layer in layers:
            n = len(self.layers)
            src_row = self.row_of(layer)
            final = target_row - 1 if target_row > src_row else target_row
            final = max(0, min(n - 1, final))
            if final != src_row:
                self.session.move_layer(n - 1 - src_row, n - 1 - final)
            target_row = final + 1

    # -- following the project ----------------------------------------------------------------
    def _watch(self, layer: Layer) -> None:
        if layer.id not in self._watched:
            self._watched.add(layer.id)
            layer.changed.connect(self._on_layer_changed)

    def _on_inserting(self, index: int) -> None:
        row = len(self.layers) - index
        self.beginInsertRows(QModelIndex(), row, row)

    def _on_inserted(self, index: int, layer: Layer) -> None:
        self._watch(layer)
        self.endInsertRows()

    def _on_removing(self, index: int) -> None:
        row = len(self.layers) - 1 - index
        self.beginRemoveRows(QModelIndex(), row, row)

    def _on_removed(self, index: int, layer: Layer) -> None:
        self._legend.pop(layer.id, None)
        self.endRemoveRows()

    def _on_moving(self, index: int, new_index: int) -> None:
        n = len(self.layers)
        src, dest = n - 1 - index, n - new_index  # insert-before in project order -> in tree order
        self._moving = self.beginMoveRows(QModelIndex(), src, src, QModelIndex(), dest)
        if not self._moving:
            self.beginResetModel()

    def _on_moved(self, *args) -> None:
        if self._moving:
            self.endMoveRows()
        else:
            self.endResetModel()

    def _on_replaced(self, index, old, new) -> None:
        self.beginResetModel()
        for layer in (old if isinstance(old, list) else [old]):
            self._legend.pop(getattr(layer, "id", None), None)
        for layer in (new if isinstance(new, list) else [new]):
            self._watch(layer)
        self.endResetModel()

    def _on_layer_changed(self, prop: str) -> None:
        from psygnal import Signal

        layer = Signal.sender()
        if layer not in self.layers:
            return
        if prop in ("style", "dataset"):
            # children change: remove the old legend rows, then insert the new ones
            index = self.index_of(layer)
            old = self._legend.get(layer.id, [])
            if old:
                self.beginRemoveRows(index, 0, len(old) - 1)
                self._legend[layer.id] = []
                self.endRemoveRows()
            self._legend.pop(layer.id, None)
            new = self.legend(layer)
            if new:
                self.beginInsertRows(index, 0, len(new) - 1)
                self.endInsertRows()
        index = self.index_of(layer)
        self.dataChanged.emit(index, index)


class _OpacitySlider(QWidget):
    def __init__(self, value: float, parent=None) -> None:
        super().__init__(parent)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(26, 2, 10, 2)
        layout.addWidget(QLabel("Opacity"))
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setRange(0, 100)
        self.slider.setValue(int(round(value * 100)))
        self.slider.setMinimumWidth(120)
        self.label = QLabel(f"{self.slider.value()} %")
        self.label.setMinimumWidth(40)
        self.slider.valueChanged.connect(lambda v: self.label.setText(f"{v} %"))
        layout.addWidget(self.slider)
        layout.addWidget(self.label)


class LayerTreeView(QTreeView):
    """The tree view with QGIS-like interaction; it asks the main window for bigger jobs."""

    current_layer_changed = Signal(object)  # Layer | None
    zoom_to_layer_requested = Signal(object)
    attribute_table_requested = Signal(object)
    style_requested = Signal(object)
    properties_requested = Signal(object)
    repoint_requested = Signal(object)

    def __init__(self, session, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.layer_model = LayerTreeModel(session, self)
        self.setModel(self.layer_model)
        self.setHeaderHidden(True)
        self.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.setDragDropMode(QAbstractItemView.DragDropMode.InternalMove)
        self.setDefaultDropAction(Qt.DropAction.MoveAction)
        self.setDragEnabled(True)
        self.setAcceptDrops(True)
        self.setDropIndicatorShown(True)
        self.setEditTriggers(QAbstractItemView.EditTrigger.EditKeyPressed | QAbstractItemView.EditTrigger.SelectedClicked)
        self.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.customContextMenuRequested.connect(self._context_menu)
        self.selectionModel().currentChanged.connect(self._current_changed)
        self.doubleClicked.connect(self._double_clicked)
        self.layer_model.rowsInserted.connect(self._rows_inserted)

    def current_layer(self) -> Layer | None:
        return self.layer_model.layer_for_index(self.currentIndex())

    def selected_layers(self) -> list[Layer]:
        out = []
        for index in self.selectionModel().selectedRows():
            layer = self.layer_model.layer_for_index(index)
            if layer is not None and layer not in out:
                out.append(layer)
        return out or ([self.current_layer()] if self.current_layer() else [])

    def set_current_layer(self, layer: Layer) -> None:
        self.setCurrentIndex(self.layer_model.index_of(layer))

    def remove_selected(self) -> None:
        layers = self.selected_layers()
        if layers:
            self.session.remove_layers(layers)

    def rename_current(self) -> None:
        layer = self.current_layer()
        if layer is not None:
            self.edit(self.layer_model.index_of(layer))

    def _rows_inserted(self, parent: QModelIndex, first: int, last: int) -> None:
        if not parent.isValid():
            self.expand(self.layer_model.index(first, 0))
            self.setCurrentIndex(self.layer_model.index(first, 0))

    def _current_changed(self, current: QModelIndex, _previous: QModelIndex) -> None:
        self.current_layer_changed.emit(self.layer_model.layer_for_index(current))

    def _double_clicked(self, index: QModelIndex) -> None:
        layer = self.layer_model.layer_for_index(index)
        if layer is not None and index.internalId() != _TOP:
            self.style_requested.emit(layer)

    def context_menu_for(self, layer: Layer) -> QMenu:
        """The context menu of ``layer`` (built, not shown: tests inspect it)."""
        menu = QMenu(self)
        if layer.is_broken:
            menu.addAction(icon("layer_broken"), "Re-point data source…", lambda: self.repoint_requested.emit(layer))
            menu.addSeparator()
        else:
            menu.addAction(icon("zoom_layer"), "Zoom to Layer", lambda: self.zoom_to_layer_requested.emit(layer))
            if isinstance(layer, VectorLayer):
                act = menu.addAction(icon("attribute_table"), "Open Attribute Table",
                                     lambda: self.attribute_table_requested.emit(layer))
                act.setShortcut("F6")
            if layer.style is not None:
                menu.addAction(icon("style"), "Style…", lambda: self.style_requested.emit(layer))
            menu.addSeparator()
            slider = _OpacitySlider(layer.opacity, menu)
            start = layer.opacity
            slider.slider.valueChanged.connect(lambda v: setattr(layer, "opacity", v / 100.0))

            def commit() -> None:
                final = slider.slider.value() / 100.0
                if abs(final - start) > 1e-9:
                    layer.opacity = start  # so the undo command records the value before the drag
                    self.session.set_layer_property(layer, "opacity", final)

            menu.aboutToHide.connect(commit)
            action = QWidgetAction(menu)
            action.setDefaultWidget(slider)
            menu.addAction(action)
            menu.opacity_slider = slider.slider  # for tests
        menu.addSeparator()
        menu.addAction("Rename Layer", lambda: self.edit(self.layer_model.index_of(layer)))
        menu.addAction(icon("remove_layer"), "Remove Layer…", lambda: self.session.remove_layers([layer]))
        menu.addSeparator()
        menu.addAction(icon("properties"), "Properties…", lambda: self.properties_requested.emit(layer))
        return menu

    def _context_menu(self, pos) -> None:
        layer = self.layer_model.layer_for_index(self.indexAt(pos))
        if layer is not None:
            self.context_menu_for(layer).exec(self.viewport().mapToGlobal(pos))
