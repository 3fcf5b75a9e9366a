"""Widgets shared by the council-data panels: a table view of a pandas frame, a layer combo
that follows the project, the disclosure-policy chooser, and the per-project cache folder.

Nothing here does analysis; it only shows data and gathers choices.  Identifier masking for
previews lives here too (``mask_identifier``): the import wizard shows the source file's
first rows with CHI/NHS columns masked, so raw numbers are never put on screen.
"""

from __future__ import annotations

import math
import numbers
import re
import uuid
from pathlib import Path
from typing import Any, Callable

from PySide6.QtCore import QAbstractTableModel, QModelIndex, Qt, Signal
from PySide6.QtGui import QColor, QLinearGradient, QPainter
from PySide6.QtWidgets import (QComboBox, QHBoxLayout, QHeaderView, QLabel, QLineEdit, QSizePolicy, QSpinBox,
                               QTableView, QVBoxLayout, QWidget)

from gis_desk.core.layer import Layer, VectorLayer

MASK_CHAR = "\u2022"
PLUGIN_KEY = "council_data"  # key of this package's state in ``project.plugin_data``


# -- identifiers on screen --------------------------------------------------------------------


def mask_identifier(value: Any, keep: int = 4) -> str:
    """'••••••7890' for '9434767890': all but the last ``keep`` characters hidden; blanks ''.

    Used for previews of a source file only; imported layers hold keyed pseudonyms instead.
    """
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    text = re.sub(r"\s+", "", str(value))
    if not text or text.lower() in ("nan", "none", "<na>"):
        return ""
    shown = text[-keep:] if len(text) > keep + 2 else ""
    return MASK_CHAR * (len(text) - len(shown)) + shown


def error_text(exc: BaseException) -> str:
    """The problem and the hint of an error, for a label inside a panel ('' parts left out)."""
    message = str(getattr(exc, "message", "") or exc).rstrip(".")
    hint = str(getattr(exc, "hint", "") or "").rstrip(".")
    return f"{message}." + (f" {hint[:1].upper()}{hint[1:]}." if hint else "")


# -- a pandas frame in a table view -----------------------------------------------------------


def _cell_text(value: Any) -> str:
    if value is None:
        return ""
    try:
        import pandas as pd

        if pd.isna(value):
            return ""
    except (TypeError, ValueError):
        pass
    if isinstance(value, float):
        return f"{value:,.4g}" if abs(value) < 1e6 else f"{value:,.0f}"
    if hasattr(value, "geom_type"):
        return value.geom_type
    return str(value)


class FrameModel(QAbstractTableModel):
    """A read-only view of the first ``max_rows`` rows of a DataFrame.

    ``masked``: columns whose values are shown through ``mask_identifier``; ``formats``:
    ``{column: callable(value) -> str}`` for columns that need their own text (percentages).
    """

    def __init__(self, frame=None, masked=(), formats: dict[str, Callable[[Any], str]] | None = None,
                 max_rows: int = 500, parent=None) -> None:
        super().__init__(parent)
        self.max_rows = max_rows
        self.masked: set[str] = set()
        self.formats: dict[str, Callable[[Any], str]] = {}
        self.highlight: dict[str, str] = {}  # column -> background colour
        self._frame = None
        self._columns: list[str] = []
        self.set_frame(frame, masked, formats or {})

    def set_frame(self, frame, masked=None, formats=None) -> None:
        """Show ``frame``; ``masked``/``formats`` replace the current ones when given."""
        self.beginResetModel()
        if frame is not None:
            geometry = getattr(getattr(frame, "geometry", None), "name", None) if hasattr(frame, "crs") else None
            self._columns = [str(c) for c in frame.columns if c != geometry]
            self._frame = frame.iloc[: self.max_rows]
        else:
            self._frame, self._columns = None, []
        if masked is not None:
            self.masked = set(masked)
        if formats is not None:
            self.formats = dict(formats)
        self.endResetModel()

    @property
    def columns(self) -> list[str]:
        return list(self._columns)

    def rowCount(self, parent=QModelIndex()) -> int:
        return 0 if parent.isValid() or self._frame is None else len(self._frame)

    def columnCount(self, parent=QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self._columns)

    def text(self, row: int, column: str) -> str:
        value = self._frame[column].iloc[row]
        if column in self.masked:
            return mask_identifier(value)
        if column in self.formats:
            return self.formats[column](value)
        return _cell_text(value)

    def data(self, index: QModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or self._frame is None:
            return None
        column = self._columns[index.column()]
        if role == Qt.ItemDataRole.DisplayRole:
            return self.text(index.row(), column)
        if role == Qt.ItemDataRole.BackgroundRole and column in self.highlight:
            return QColor(self.highlight[column])
        if role == Qt.ItemDataRole.TextAlignmentRole:
            value = self._frame[column].iloc[index.row()]
            if isinstance(value, numbers.Number) and not isinstance(value, bool) and column not in self.masked:
                return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if role != Qt.ItemDataRole.DisplayRole:
            return None
        if orientation == Qt.Orientation.Horizontal:
            return self._columns[section] if section < len(self._columns) else None
        return str(section + 1)


def frame_view(model: FrameModel, min_height: int = 120) -> QTableView:
    view = QTableView()
    view.setModel(model)
    view.setAlternatingRowColors(True)
    view.setEditTriggers(QTableView.EditTrigger.NoEditTriggers)
    view.setSelectionBehavior(QTableView.SelectionBehavior.SelectRows)
    view.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
    view.horizontalHeader().setStretchLastSection(True)
    view.verticalHeader().setDefaultSectionSize(22)
    view.setMinimumHeight(min_height)
    return view


def install_scrolling_body(panel: QWidget, inner: QWidget, min_width: int = 360) -> None:
    """Put a dock panel's contents in a vertical scroll area so a short dock never clips them."""
    from PySide6.QtWidgets import QScrollArea

    scroll = QScrollArea()
    scroll.setWidgetResizable(True)
    scroll.setWidget(inner)
    scroll.setFrameShape(QScrollArea.Shape.NoFrame)
    scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
    panel.setMinimumWidth(min_width)
    outer = QVBoxLayout(panel)
    outer.setContentsMargins(0, 0, 0, 0)
    outer.addWidget(scroll)


def fit_columns(view: QTableView, max_width: int = 220) -> None:
    view.resizeColumnsToContents()
    for i in range(view.model().columnCount()):
        if view.columnWidth(i) > max_width:
            view.setColumnWidth(i, max_width)


def compact_combo(combo: QComboBox, chars: int = 14) -> QComboBox:
    """Let a combo with long entries shrink to a narrow dock (the popup still shows them whole)."""
    combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
    combo.setMinimumContentsLength(chars)
    combo.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
    return combo


# -- layers of the project --------------------------------------------------------------------


class LayerCombo(QComboBox):
    """Layers of the project that pass ``accept(layer)``, top layer first; follows the project
    (layers added, removed or renamed).  ``layer()`` is the chosen Layer or None."""

    def __init__(self, project, accept: Callable[[Layer], bool], placeholder: str = "(no suitable layer)",
                 parent=None) -> None:
        super().__init__(parent)
        self.project = project
        self.accept = accept
        self.placeholder = placeholder
        compact_combo(self)
        self.refresh()
        events = project.layers.events
        for signal in (events.inserted, events.removed, events.changed):
            signal.connect(self._project_changed)

    def _project_changed(self, *_args) -> None:
        try:
            self.refresh()
        except RuntimeError:  # the widget is gone; psygnal still held the slot
            pass

    def refresh(self) -> None:
        current = self.layer()
        self.blockSignals(True)
        self.clear()
        layers = [la for la in reversed(self.project.layers) if not la.is_broken and self.accept(la)]
        for la in layers:
            self.addItem(la.name, la.id)
        if not layers:
            self.addItem(self.placeholder, None)
        if current is not None:
            i = self.findData(current.id)
            if i >= 0:
                self.setCurrentIndex(i)
        self.blockSignals(False)
        if self.layer() is not current:
            self.currentIndexChanged.emit(self.currentIndex())

    def showPopup(self) -> None:
        self.refresh()
        super().showPopup()

    def layer(self) -> Layer | None:
        layer_id = self.currentData()
        if layer_id is None:
            return None
        try:
            return self.project.layer_by_id(layer_id)
        except KeyError:
            return None

    def set_layer(self, layer: Layer) -> None:
        self.refresh()
        i = self.findData(layer.id)
        if i >= 0:
            self.setCurrentIndex(i)


def is_point_layer(layer: Layer) -> bool:
    return isinstance(layer, VectorLayer) and layer.dataset is not None and layer.dataset.geometry_type == "Point"


def is_polygon_layer(layer: Layer) -> bool:
    return isinstance(layer, VectorLayer) and layer.dataset is not None and layer.dataset.geometry_type == "Polygon"


# -- disclosure policy ------------------------------------------------------------------------


class PolicyChooser(QWidget):
    """Choose a disclosure policy: NHS Digital, threshold k, or (when ``allow_none``) an
    explicit "not about people" with a reason.  With ``required`` the first entry is "Choose a
    policy..." and ``policy()`` is None until the user picks one: exports cannot start by
    default.  ``changed`` fires on every edit."""

    changed = Signal()
    NHS, THRESHOLD, NONE = "nhs", "threshold", "none"

    def __init__(self, required: bool = True, allow_none: bool = True, default: str | None = None,
                 k: int = 10, raster: bool = False, parent=None) -> None:
        super().__init__(parent)
        self.raster = raster
        self.combo = compact_combo(QComboBox())
        if required:
            self.combo.addItem("Choose a disclosure policy…", None)
        self.combo.addItem("NHS Digital: hide counts of 1–7, round others to 5", self.NHS)
        self.combo.addItem("Threshold: hide counts below k", self.THRESHOLD)
        if allow_none:
            self.combo.addItem("Not about people: no disclosure control", self.NONE)
        self.k = QSpinBox()
        self.k.setRange(2, 1000)
        self.k.setValue(k)
        self.k.setPrefix("k = ")
        self.k.setToolTip("Counts below k are hidden; cells of a heat map reached by fewer than k records "
                          "are left blank")
        self.reason = QLineEdit()
        self.reason.setPlaceholderText("Why these data are not about people, e.g. public IMD 2019 ranks")
        self.explain = QLabel()
        self.explain.setWordWrap(True)
        self.explain.setStyleSheet("color: #555;")
        row = QHBoxLayout()
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.combo, 1)
        row.addWidget(self.k)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(row)
        layout.addWidget(self.reason)
        layout.addWidget(self.explain)
        if default is not None:
            self.combo.setCurrentIndex(max(0, self.combo.findData(default)))
        self.combo.currentIndexChanged.connect(self._update)
        self.k.valueChanged.connect(self._update)
        self.reason.textChanged.connect(self._update)
        self._update()

    def kind(self) -> str | None:
        return self.combo.currentData()

    def set_kind(self, kind: str | None, k: int | None = None, reason: str | None = None) -> None:
        self.combo.setCurrentIndex(max(0, self.combo.findData(kind)))
        if k is not None:
            self.k.setValue(int(k))
        if reason is not None:
            self.reason.setText(reason)

    def set_raster(self, raster: bool) -> None:
        """Explain the policy as it applies to heat-map cells (True) or to tables (False)."""
        self.raster = bool(raster)
        self._update()

    def policy(self):
        """The chosen ``DisclosurePolicy``, or None when none is chosen (or no reason given)."""
        from gis_desk.analysis.disclosure import NhsDigitalPolicy, NoDisclosureControl, ThresholdPolicy

        kind = self.kind()
        if kind == self.NHS:
            return NhsDigitalPolicy()
        if kind == self.THRESHOLD:
            return ThresholdPolicy(k=self.k.value())
        if kind == self.NONE and self.reason.text().strip():
            return NoDisclosureControl(self.reason.text().strip())
        return None

    def problem(self) -> str:
        """Why there is no policy yet ('' when there is one)."""
        kind = self.kind()
        if kind is None:
            return "Choose a disclosure policy: nothing is exported without one."
        if kind == self.NONE and not self.reason.text().strip():
            return "Say why these data are not about people."
        return ""

    def _update(self, *_args) -> None:
        kind = self.kind()
        self.k.setVisible(kind == self.THRESHOLD)
        self.reason.setVisible(kind == self.NONE)
        policy = self.policy()
        if policy is None:
            text = self.problem()
        elif self.raster:
            text = (f"Cells of the heat map reached by fewer than {policy.min_count} records are left blank, "
                    "on the map and in exports.")
        else:
            text = policy.describe()
        self.explain.setText(text)
        self.changed.emit()


# -- a colour ramp legend ---------------------------------------------------------------------


class RampLegend(QWidget):
    """A horizontal colour ramp with its low and high values and a caption below."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.ramp = "YlOrRd"
        self.invert = False
        self.vmin: float | None = None
        self.vmax: float | None = None
        self.caption = ""
        self.setMinimumHeight(46)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)

    def set_ramp(self, ramp: str, vmin: float | None, vmax: float | None, caption: str = "",
                 invert: bool = False) -> None:
        self.ramp, self.vmin, self.vmax, self.caption, self.invert = ramp, vmin, vmax, caption, invert
        self.update()

    def paintEvent(self, event) -> None:
        from gis_desk.core.ramps import ramp_colors

        painter = QPainter(self)
        rect = self.rect().adjusted(4, 2, -4, -26)
        if self.vmin is None or self.vmax is None:
            painter.setPen(QColor("#777"))
            painter.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter, "No heat map yet: press Preview")
            return
        gradient = QLinearGradient(rect.left(), 0, rect.right(), 0)
        colors = ramp_colors(self.ramp, 9, invert=self.invert)
        for i, c in enumerate(colors):
            gradient.setColorAt(i / (len(colors) - 1), QColor(c))
        painter.fillRect(rect, gradient)
        painter.setPen(QColor("#444"))
        painter.drawRect(rect)
        text_rect = self.rect().adjusted(4, rect.height() + 3, -4, 0)
        painter.drawText(text_rect, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop, f"{self.vmin:.3g}")
        painter.drawText(text_rect, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignTop, f"{self.vmax:.3g}")
        if self.caption:
            painter.drawText(text_rect, Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop, self.caption)


# -- per-project cache ------------------------------------------------------------------------


def project_cache_dir(project) -> Path:
    """``config_dir()/cache/<project-id>``: derived files (heat maps, joined boundaries) of this
    project.  The id is made once and kept in ``project.plugin_data`` so it survives saving."""
    from gis_desk.settings import config_dir

    state = project.plugin_data.setdefault(PLUGIN_KEY, {})
    cache_id = state.get("cache_id")
    if not isinstance(cache_id, str) or not re.fullmatch(r"[0-9a-f]{12}", cache_id):
        cache_id = state["cache_id"] = uuid.uuid4().hex[:12]
    folder = config_dir() / "cache" / cache_id
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def safe_name(text: str, limit: int = 40) -> str:
    """A file-name-safe version of a layer name."""
    name = re.sub(r"[^A-Za-z0-9._-]+", "_", str(text)).strip("._")
    return (name or "layer")[:limit]
