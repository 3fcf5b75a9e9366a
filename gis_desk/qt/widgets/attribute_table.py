"""The attribute table of a vector layer, virtualised for millions of rows.

``AttributeTableModel`` keeps no per-row Python objects: it holds the layer's GeoDataFrame,
one numpy array of row positions (``rows``: which features are shown, in which order) and
converts a column to numpy only when a cell of it is first drawn.  Qt asks ``data()`` only
for the visible cells, so opening a 1,000,000-row layer costs a few milliseconds.

Sorting keeps an ``argsort`` index array; filtering builds a boolean mask with vectorised
pandas operations; "show selected only" intersects with ``layer.selection``.  Feature ids
are row positions in the layer's frame (the ids used by ``layer.selection`` and identify).

``AttributeTable`` is the dock content: filter box, "selected only" toggle, "zoom to
selection", the table, and a footer with the row and selected counts.  Its selection is
synced both ways with ``layer.selection``.
"""

from __future__ import annotations

import math
import operator
import re
from typing import Any

import numpy as np
import pandas as pd
from PySide6.QtCore import QAbstractTableModel, QItemSelection, QItemSelectionModel, QModelIndex, Qt, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (QAbstractItemView, QCheckBox, QHBoxLayout, QLabel, QLineEdit, QTableView,
                               QToolButton, QVBoxLayout, QWidget)

from gis_desk.core.layer import VectorLayer
from gis_desk.errors import DataError
from gis_desk.qt.icons import icon

NULL_TEXT = "NULL"  # as QGIS shows missing values
_OPS = {"=": operator.eq, "==": operator.eq, "!=": operator.ne, "<>": operator.ne, "<": operator.lt,
        "<=": operator.le, ">": operator.gt, ">=": operator.ge}
_EXPR = re.compile(r'^\s*"?([^"<>=!~]+?)"?\s*(==|=|!=|<>|<=|>=|<|>|contains|like|~)\s*(.+?)\s*$', re.IGNORECASE)


def filter_mask(frame: pd.DataFrame, text: str, columns: list[str]) -> np.ndarray | None:
    """Boolean mask of rows matching ``text``, or None for an empty filter (all rows).

    ``text`` is either ``field op value`` (ops ``= != < <= > >= contains``; quote the value
    to compare as text) or plain text found, case-insensitively, in any column.  Raises
    ``DataError`` when the field does not exist or a number is compared with text.
    """
    text = text.strip()
    if not text:
        return None
    m = _EXPR.match(text)
    if m and m.group(1).strip() in columns:
        field, op, raw = m.group(1).strip(), m.group(2).lower(), m.group(3).strip()
        series = frame[field]
        quoted = len(raw) >= 2 and raw[0] == raw[-1] and raw[0] in "'\""
        value: Any = raw[1:-1] if quoted else raw
        if op in ("contains", "like", "~"):
            return series.astype("string").str.contains(value, case=False, regex=False).fillna(False).to_numpy(bool)
        if pd.api.types.is_numeric_dtype(series) and not quoted:
            try:
                value = float(value)
            except ValueError as exc:
                raise DataError(f"{field!r} holds numbers; {raw!r} is not a number",
                                hint='compare with a number, e.g. population > 1500') from exc
        else:
            series = series.astype("string")
            value = str(value)
        return _OPS[op](series, value).fillna(False).to_numpy(bool)
    if m and _looks_like_expression(text):
        raise DataError(f"No field called {m.group(1).strip()!r}",
                        hint=f"fields: {', '.join(columns[:12])}{'…' if len(columns) > 12 else ''}")
    mask = np.zeros(len(frame), dtype=bool)
    for col in columns:
        mask |= frame[col].astype("string").str.contains(text, case=False, regex=False).fillna(False).to_numpy(bool)
    return mask


def _looks_like_expression(text: str) -> bool:
    return bool(re.search(r"(==|!=|<>|<=|>=|[<>=])", text))


def format_value(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA or value is pd.NaT:
        return NULL_TEXT
    if isinstance(value, (float, np.floating)):
        return f"{value:.10g}"
    return str(value)


class AttributeTableModel(QAbstractTableModel):
    """Rows of ``layer.dataset.frame`` (no geometry column) as a read-only table."""

    rows_changed = Signal()  # the set or order of shown rows changed

    def __init__(self, layer: VectorLayer, parent=None) -> None:
        super().__init__(parent)
        self.layer = layer
        self.frame = layer.dataset.frame
        geom = self.frame.geometry.name if hasattr(self.frame, "geometry") else None
        self.columns: list[str] = [c for c in self.frame.columns if c != geom]
        self.n_features = len(self.frame)
        self._order: np.ndarray | None = None  # argsort of the sort column, None = file order
        self._mask: np.ndarray | None = None  # filter, None = all
        self.selected_only = False
        self.sort_column: int | None = None
        self.sort_order = Qt.SortOrder.AscendingOrder
        self.filter_text = ""
        self._arrays: dict[int, np.ndarray] = {}
        self.rows = np.arange(self.n_features, dtype=np.int64)
        self._inverse: np.ndarray | None = None

    # -- Qt model API ---------------------------------------------------------------------------
    def rowCount(self, parent=QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self.rows)

    def columnCount(self, parent=QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self.columns)

    def data(self, index: QModelIndex, role=Qt.ItemDataRole.DisplayRole):
        if role == Qt.ItemDataRole.DisplayRole or role == Qt.ItemDataRole.ToolTipRole:
            return format_value(self._column(index.column())[self.rows[index.row()]])
        if role == Qt.ItemDataRole.ForegroundRole:
            if format_value(self._column(index.column())[self.rows[index.row()]]) == NULL_TEXT:
                return QColor("#9aa1aa")
            return None
        if role == Qt.ItemDataRole.TextAlignmentRole:
            if self._column(index.column()).dtype.kind in "iuf":
                return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None

    def headerData(self, section: int, orientation, role=Qt.ItemDataRole.DisplayRole):
        if role != Qt.ItemDataRole.DisplayRole:
            return None
        if orientation == Qt.Orientation.Horizontal:
            return self.columns[section]
        return str(int(self.rows[section]))  # the feature id, as QGIS numbers rows

    def sort(self, column: int, order=Qt.SortOrder.AscendingOrder) -> None:
        self.layoutAboutToBeChanged.emit()
        if column < 0:
            self._order, self.sort_column = None, None
        else:
            series = self.frame[self.columns[column]].reset_index(drop=True)
            ascending = order == Qt.SortOrder.AscendingOrder
            self._order = series.sort_values(ascending=ascending, kind="stable", na_position="last").index.to_numpy()
            self.sort_column, self.sort_order = column, order
        self._rebuild_rows()
        self.layoutChanged.emit()

    # -- filtering and the shown rows -----------------------------------------------------------
    def set_filter(self, text: str) -> None:
        """Show only rows matching ``text`` (see ``filter_mask``); raises ``DataError``."""
        mask = filter_mask(self.frame, text, self.columns)
        self.beginResetModel()
        self._mask, self.filter_text = mask, text
        self._rebuild_rows()
        self.endResetModel()

    def set_selected_only(self, on: bool) -> None:
        self.beginResetModel()
        self.selected_only = bool(on)
        self._rebuild_rows()
        self.endResetModel()

    def refresh_selection_filter(self) -> None:
        if self.selected_only:
            self.set_selected_only(True)

    def _rebuild_rows(self) -> None:
        rows = self._order if self._order is not None else np.arange(self.n_features, dtype=np.int64)
        keep = self._mask
        if self.selected_only:
            sel = np.zeros(self.n_features, dtype=bool)
            ids = np.fromiter(self.layer.selection, dtype=np.int64, count=len(self.layer.selection))
            sel[ids[(ids >= 0) & (ids < self.n_features)]] = True
            keep = sel if keep is None else (keep & sel)
        self.rows = rows[keep[rows]] if keep is not None else rows
        self._inverse = None
        self.rows_changed.emit()

    # -- mapping between table rows and feature ids ---------------------------------------------
    def feature_ids(self, table_rows) -> np.ndarray:
        return self.rows[np.asarray(table_rows, dtype=np.int64)]

    def table_rows(self, feature_ids) -> np.ndarray:
        """Table rows showing ``feature_ids`` (features hidden by the filter are left out)."""
        if self._inverse is None:
            self._inverse = np.full(self.n_features, -1, dtype=np.int64)
            self._inverse[self.rows] = np.arange(len(self.rows), dtype=np.int64)
        ids = np.asarray(list(feature_ids), dtype=np.int64)
        ids = ids[(ids >= 0) & (ids < self.n_features)]
        out = self._inverse[ids]
        return np.sort(out[out >= 0])

    def _column(self, col: int) -> np.ndarray:
        arr = self._arrays.get(col)
        if arr is None:
            arr = self.frame[self.columns[col]].to_numpy()
            self._arrays[col] = arr
        return arr


def _runs(sorted_rows: np.ndarray) -> list[tuple[int, int]]:
    """Contiguous (first, last) runs of a sorted int array, vectorised."""
    if len(sorted_rows) == 0:
        return []
    breaks = np.flatnonzero(np.diff(sorted_rows) != 1)
    starts = np.concatenate(([0], breaks + 1))
    ends = np.concatenate((breaks, [len(sorted_rows) - 1]))
    return list(zip(sorted_rows[starts].tolist(), sorted_rows[ends].tolist()))


class AttributeTable(QWidget):
    """Filter bar + table + footer for one vector layer."""

    zoom_to_selection_requested = Signal(object)  # the layer
    error = Signal(object)  # a DataError from a bad filter, for gis_desk.qt.errors

    def __init__(self, layer: VectorLayer, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.layer = layer
        self.model = AttributeTableModel(layer, self)
        self.view = QTableView()
        self.view.setModel(self.model)
        self.view.setSortingEnabled(True)
        self.view.horizontalHeader().setSortIndicatorShown(True)
        self.view.horizontalHeader().setSortIndicator(-1, Qt.SortOrder.AscendingOrder)
        self.view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.view.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.view.setAlternatingRowColors(True)
        self.view.setWordWrap(False)
        self.view.verticalHeader().setDefaultSectionSize(22)
        # the row-number column's width is measured on a sample of rows, never all of them
        self.view.verticalHeader().setResizeContentsPrecision(50)
        self.view.verticalHeader().setSectionResizeMode(self.view.verticalHeader().ResizeMode.Fixed)
        self.view.horizontalHeader().setDefaultSectionSize(120)
        self.view.horizontalHeader().setStretchLastSection(True)
        self.view.horizontalHeader().setResizeContentsPrecision(100)  # measure the first rows only
        self.view.resizeColumnsToContents()
        for col in range(self.model.columnCount()):
            self.view.setColumnWidth(col, min(max(self.view.columnWidth(col), 70), 260))
        self.filter_edit = QLineEdit()
        self.filter_edit.setPlaceholderText('Filter: text, or field op value (e.g. "population > 1500")')
        self.filter_edit.setClearButtonEnabled(True)
        self.filter_edit.returnPressed.connect(self.apply_filter)
        self.filter_edit.textChanged.connect(lambda t: self.apply_filter() if not t else None)
        self.selected_only = QCheckBox("Show selected only")
        self.selected_only.toggled.connect(self.model.set_selected_only)
        zoom = QToolButton()
        zoom.setIcon(icon("zoom_selection"))
        zoom.setToolTip("Zoom map to selection (Ctrl+J)")
        zoom.clicked.connect(lambda: self.zoom_to_selection_requested.emit(self.layer))
        clear = QToolButton()
        clear.setText("Deselect all")
        clear.clicked.connect(lambda: setattr(self.layer, "selection", ()))
        self.footer = QLabel()
        bar = QHBoxLayout()
        bar.addWidget(self.filter_edit, 1)
        bar.addWidget(self.selected_only)
        bar.addWidget(zoom)
        bar.addWidget(clear)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addLayout(bar)
        layout.addWidget(self.view, 1)
        layout.addWidget(self.footer)

        self._syncing = False
        self.view.selectionModel().selectionChanged.connect(self._table_selection_changed)
        # a new filter starts at the top; keeping a far scroll position made Qt measure every
        # row header of the new row set (seconds for a million rows)
        self.model.modelAboutToBeReset.connect(self.view.scrollToTop)
        self.model.modelReset.connect(self._select_from_layer)
        self.model.layoutChanged.connect(self._select_from_layer)
        self.model.rows_changed.connect(self._update_footer)
        layer.selection_changed.connect(self._layer_selection_changed)
        self.destroyed.connect(lambda *_: self._disconnect())
        self._select_from_layer()
        self._update_footer()

    def _disconnect(self) -> None:
        try:
            self.layer.selection_changed.disconnect(self._layer_selection_changed)
        except (TypeError, ValueError, RuntimeError):
            pass

    def apply_filter(self) -> None:
        try:
            self.model.set_filter(self.filter_edit.text())
        except Exception as exc:  # noqa: BLE001 - shown by gis_desk.qt.errors
            self.error.emit(exc)

    # -- selection sync -------------------------------------------------------------------------
    def _table_selection_changed(self, *_: Any) -> None:
        if self._syncing:
            return
        parts = [np.arange(r.top(), r.bottom() + 1) for r in self.view.selectionModel().selection()]
        shown = self.model.feature_ids(np.concatenate(parts)) if parts else np.empty(0, np.int64)
        # features hidden by the filter keep their selection state
        hidden_selected = set(self.layer.selection) - set(self.model.rows[self.model.table_rows(self.layer.selection)].tolist())
        self._syncing = True
        try:
            self.layer.selection = hidden_selected | set(shown.tolist())
        finally:
            self._syncing = False
        self._update_footer()

    def _layer_selection_changed(self) -> None:
        if self._syncing:
            return
        if self.model.selected_only:
            self.model.refresh_selection_filter()  # resets and reselects
        else:
            self._select_from_layer()
        self._update_footer()

    def _select_from_layer(self) -> None:
        selection = QItemSelection()
        last_col = self.model.columnCount() - 1
        for first, last in _runs(self.model.table_rows(self.layer.selection)):
            selection.select(self.model.index(first, 0), self.model.index(last, max(0, last_col)))
        self._syncing = True
        try:
            self.view.selectionModel().select(selection, QItemSelectionModel.SelectionFlag.ClearAndSelect)
        finally:
            self._syncing = False

    def _update_footer(self) -> None:
        m = self.model
        filtered = f", {len(m.rows):,} shown" if len(m.rows) != m.n_features else ""
        self.footer.setText(f"{m.n_features:,} features{filtered}, {len(self.layer.selection):,} selected")
