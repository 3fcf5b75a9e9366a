"""The processing form, built from an algorithm's declared parameters, and the toolbox.

``AlgorithmDialog`` maps each ``Parameter.kind`` to a widget (layer combos with a file
browser, spin boxes with units and limits, choice lists, CRS picker, extent with "use map
extent", field list following its parent layer, output file chooser).  "Run" validates
nothing itself (the algorithm's parameters do, raising ``ParameterError``): it starts the
algorithm as a background task through the ``TaskManager`` and, when it finishes, asks
``open_output(path)`` to add each vector/raster output as a layer.

``ProcessingToolbox`` lists the algorithms of the active plugins by group, with a search box.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (QCheckBox, QComboBox, QDialog, QDialogButtonBox, QDoubleSpinBox, QFileDialog,
                               QFormLayout, QHBoxLayout, QLabel, QLineEdit, QPlainTextEdit, QProgressBar,
                               QPushButton, QSpinBox, QSplitter, QTextBrowser, QToolButton, QTreeWidget,
                               QTreeWidgetItem, QVBoxLayout, QWidget)

from gis_desk.core.crs import crs_id
from gis_desk.core.layer import RasterLayerBase, VectorLayer
from gis_desk.qt.icons import icon

_BIG = 1e12


class _PathCombo(QWidget):
    """An editable combo of project layers plus a browse button; value is a Layer or a path."""

    changed = Signal()

    def __init__(self, layers: list, file_filter: str, save: bool = False, parent=None) -> None:
        super().__init__(parent)
        self.combo = QComboBox()
        self.combo.setEditable(True)
        self.combo.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
        for layer in layers:
            self.combo.addItem(layer.name, layer)
        browse = QToolButton()
        browse.setText("…")
        browse.setToolTip("Choose a file")
        browse.clicked.connect(lambda: self._browse(file_filter, save))
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.combo, 1)
        layout.addWidget(browse)
        self.combo.currentIndexChanged.connect(lambda _i: self.changed.emit())
        self.combo.editTextChanged.connect(lambda _t: self.changed.emit())

    def _browse(self, file_filter: str, save: bool) -> None:
        fn = QFileDialog.getSaveFileName if save else QFileDialog.getOpenFileName
        path, _ = fn(self, "Choose file", "", file_filter)
        if path:
            self.combo.setEditText(path)

    def value(self) -> Any:
        text = self.combo.currentText().strip()
        index = self.combo.currentIndex()
        if index >= 0 and self.combo.itemText(index) == text:
            return self.combo.itemData(index)
        return text or None


class AlgorithmDialog(QDialog):
    """Run one algorithm.  ``open_output(path)`` adds an output file to the project."""

    def __init__(self, session, algorithm_id: str, tasks, open_output: Callable[[str], Any],
                 map_extent: Callable[[], tuple] | None = None, parent=None) -> None:
        super().__init__(parent)
        self.session, self.tasks, self.open_output = session, tasks, open_output
        self.algorithm_id = algorithm_id
        self.algorithm = session.algorithm(algorithm_id)
        self.map_extent = map_extent
        self.setWindowTitle(self.algorithm.display_name or algorithm_id)
        self.resize(780, 520)
        self.widgets: dict[str, Any] = {}
        self.getters: dict[str, Callable[[], Any]] = {}
        form_widget = QWidget()
        form = QFormLayout(form_widget)
        for param in self.algorithm.parameters():
            widget, getter = self._widget_for(param)
            self.widgets[param.name], self.getters[param.name] = widget, getter
            label = QLabel(param.label + ("" if not param.optional else " [optional]"))
            label.setToolTip(param.description)
            widget.setToolTip(param.description)
            form.addRow(label, widget)
        self._link_fields()
        help_view = QTextBrowser()
        help_view.setPlainText(self.algorithm.help_text())
        splitter = QSplitter()
        splitter.addWidget(form_widget)
        splitter.addWidget(help_view)
        splitter.setSizes([460, 300])
        self.progress = QProgressBar()
        self.progress.setRange(0, 100)
        self.log = QPlainTextEdit()
        self.log.setReadOnly(True)
        self.log.setMaximumHeight(110)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        self.run_button = QPushButton("Run")
        self.run_button.setDefault(True)
        self.buttons.addButton(self.run_button, QDialogButtonBox.ButtonRole.ActionRole)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setEnabled(False)
        self.buttons.addButton(self.cancel_button, QDialogButtonBox.ButtonRole.ActionRole)
        self.buttons.rejected.connect(self.reject)
        self.run_button.clicked.connect(self.run)
        layout = QVBoxLayout(self)
        layout.addWidget(splitter, 1)
        layout.addWidget(self.log)
        layout.addWidget(self.progress)
        layout.addWidget(self.buttons)
        self.task = None
        self.outputs: dict[str, Any] | None = None

    # -- widgets per parameter kind ------------------------------------------------------------
    def _widget_for(self, p) -> tuple[QWidget, Callable[[], Any]]:
        kind = p.kind
        layers = list(reversed(self.session.project.layers))
        if kind in ("vector", "raster"):
            wanted = VectorLayer if kind == "vector" else RasterLayerBase
            combo = _PathCombo([l for l in layers if isinstance(l, wanted) and not l.is_broken],
                               "Vector data (*.gpkg *.shp *.geojson *.fgb *.csv *.kml);;All files (*)"
                               if kind == "vector" else "Rasters (*.tif *.tiff *.vrt *.img);;All files (*)")
            if p.optional:
                combo.combo.insertItem(0, "", None)
                combo.combo.setCurrentIndex(0)
            return combo, combo.value
        if kind in ("number", "integer"):
            box = QSpinBox() if kind == "integer" else QDoubleSpinBox(decimals=4)
            lo, hi = getattr(p, "minimum", None), getattr(p, "maximum", None)
            if kind == "integer":
                box.setRange(-2**31 + 1 if lo is None else int(lo), 2**31 - 1 if hi is None else int(hi))
            else:
                box.setRange(-_BIG if lo is None else float(lo), _BIG if hi is None else float(hi))
            if getattr(p, "unit", None):
                box.setSuffix(f" {p.unit}")
            if p.default is not None:
                box.setValue(p.default)
            return box, box.value
        if kind == "enum":
            combo = QComboBox()
            combo.addItems(list(p.choices))
            if p.default is not None:
                combo.setCurrentText(str(p.default))
            return combo, combo.currentText
        if kind == "bool":
            check = QCheckBox()
            check.setChecked(bool(p.default))
            return check, check.isChecked
        if kind == "crs":
            edit = QLineEdit(str(p.default) if p.default else crs_id(self.session.project.crs) or "")
            return self._with_button(edit, "…", self._pick_crs(edit)), lambda: edit.text().strip() or None
        if kind == "extent":
            edit = QLineEdit(str(p.default) if p.default else "")
            edit.setPlaceholderText("xmin, ymin, xmax, ymax (project CRS)")
            return (self._with_button(edit, "Map extent", lambda: self._use_map_extent(edit)),
                    lambda: edit.text().strip() or None)
        if kind == "field":
            combo = QComboBox()
            combo.setEditable(True)
            if p.default:
                combo.setEditText(str(p.default))
            return combo, lambda: combo.currentText().strip() or None
        if kind == "output_file":
            exts = getattr(p, "extensions", []) or []
            filt = ";;".join(f"{e[1:].upper()} (*{e})" for e in exts) or "All files (*)"
            combo = _PathCombo([], filt, save=True)
            combo.combo.lineEdit().setPlaceholderText("[Save to temporary file]")
            if p.default:
                combo.combo.setEditText(str(p.default))
            return combo, combo.value
        edit = QLineEdit("" if p.default is None else str(p.default))
        return edit, lambda: edit.text() or None

    @staticmethod
    def _with_button(edit: QLineEdit, text: str, slot) -> QWidget:
        box = QWidget()
        layout = QHBoxLayout(box)
        layout.setContentsMargins(0, 0, 0, 0)
        button = QToolButton()
        button.setText(text)
        button.clicked.connect(slot)
        layout.addWidget(edit, 1)
        layout.addWidget(button)
        box.edit = edit
        return box

    def _pick_crs(self, edit: QLineEdit):
        def pick() -> None:
            from gis_desk.qt.dialogs import crs_dialog

            chosen = crs_dialog.ask_crs(self, current=edit.text() or None)
            if chosen:
                edit.setText(chosen)
        return pick

    def _use_map_extent(self, edit: QLineEdit) -> None:
        if self.map_extent is not None:
            extent = self.map_extent()
            if extent:
                edit.setText(", ".join(f"{v:.2f}" for v in extent))

    def _link_fields(self) -> None:
        """Field combos list the fields of their parent layer and follow it."""
        for p in self.algorithm.parameters():
            parent = getattr(p, "parent", None)
            if p.kind != "field" or parent not in self.widgets:
                continue
            combo, source = self.widgets[p.name], self.widgets[parent]

            def refill(combo=combo, getter=self.getters[parent], numeric=getattr(p, "numeric_only", False)):
                current = combo.currentText()
                combo.clear()
                layer = getter()
                frame = getattr(getattr(layer, "dataset", None), "frame", None)
                if frame is not None:
                    combo.addItems([c for c in layer.dataset.fields
                                    if not numeric or frame[c].dtype.kind in "iuf"])
                if current:
                    combo.setEditText(current)

            if isinstance(source, _PathCombo):
                source.changed.connect(refill)
            refill()

    # -- running -------------------------------------------------------------------------------
    def values(self) -> dict[str, Any]:
        return {name: getter() for name, getter in self.getters.items()}

    def run(self) -> None:
        params = self.values()
        self.log.appendPlainText(f"Running {self.algorithm_id}…")
        self.run_button.setEnabled(False)
        self.cancel_button.setEnabled(True)
        self.progress.setValue(0)
        session, alg_id = self.session, self.algorithm_id
        self.task = self.tasks.start(lambda fb: session.run_algorithm(alg_id, params, fb, add_outputs=False),
                                     self.algorithm.display_name or alg_id, on_done=self._finished)
        self.task.signals.progress.connect(lambda v: self.progress.setValue(int(v)))
        self.task.signals.message.connect(lambda level, text: self.log.appendPlainText(f"{level}: {text}"))
        self.task.signals.done.connect(self._ended)
        self.cancel_button.clicked.connect(self.task.cancel)

    def _finished(self, outputs: dict[str, Any]) -> None:
        self.outputs = outputs
        self.progress.setValue(100)
        kinds = {o.name: o.kind for o in self.algorithm.outputs()}
        for name, value in outputs.items():
            self.log.appendPlainText(f"{name}: {value}")
            if kinds.get(name, "vector") in ("vector", "raster") and isinstance(value, str) and Path(value).exists():
                self.open_output(value)

    def _ended(self) -> None:
        self.run_button.setEnabled(True)
        self.cancel_button.setEnabled(False)
        try:
            self.cancel_button.clicked.disconnect()
        except (RuntimeError, TypeError):
            pass
        if self.task is not None and self.task.state in ("failed", "canceled"):
            self.log.appendPlainText(f"{self.task.state}: {self.task.error or 'cancelled by the user'}")


class ProcessingToolbox(QWidget):
    """Algorithms by group; double-click (or Enter) asks to open one."""

    run_requested = Signal(str)  # algorithm id

    def __init__(self, session, parent=None) -> None:
        super().__init__(parent)
        self.session = session
        self.search = QLineEdit()
        self.search.setPlaceholderText("Search…")
        self.search.setClearButtonEnabled(True)
        self.search.textChanged.connect(self.refresh)
        self.tree = QTreeWidget()
        self.tree.setHeaderHidden(True)
        self.tree.itemActivated.connect(self._activated)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addWidget(self.search)
        layout.addWidget(self.tree, 1)
        session.plugins.changed.connect(self.refresh)
        self.refresh()

    def refresh(self, *_: Any) -> None:
        from gis_desk.processing.registry import list_algorithms

        words = self.search.text().lower().split()
        self.tree.clear()
        groups: dict[str, QTreeWidgetItem] = {}
        for alg_id, name, group, plugin in list_algorithms(self.session.plugins):
            if words and not all(w in f"{alg_id} {name} {group}".lower() for w in words):
                continue
            key = group or plugin
            if key not in groups:
                groups[key] = QTreeWidgetItem([key])
                groups[key].setIcon(0, icon("toolbox"))
                self.tree.addTopLevelItem(groups[key])
            item = QTreeWidgetItem([name])
            item.setToolTip(0, alg_id)
            item.setData(0, Qt.ItemDataRole.UserRole, alg_id)
            groups[key].addChild(item)
        self.tree.expandAll()

    def algorithm_ids(self) -> list[str]:
        out = []
        for i in range(self.tree.topLevelItemCount()):
            group = self.tree.topLevelItem(i)
            out += [group.child(j).data(0, Qt.ItemDataRole.UserRole) for j in range(group.childCount())]
        return out

    def _activated(self, item: QTreeWidgetItem, _column: int) -> None:
        alg_id = item.data(0, Qt.ItemDataRole.UserRole)
        if alg_id:
            self.run_requested.emit(alg_id)
