"""Layer styling ("Symbology"): builds a style object and applies it through the session.

Vector layers: single symbol (fill, outline colour and width, marker shape and size),
categorised (field, ramp, Classify, editable colour per category), graduated (field, method
equal interval / quantile / natural breaks, number of classes, ramp, invert), and labels
(field, size, on/off).  Rasters: RGB, single band with a ramp, or paletted; band(s);
stretch min/max (min/max, 2-98 %, manual).

``StyleDialog.build_style()`` returns the style the controls describe (classes are built by
``gis_desk.core.classify``); Apply and OK call ``Session.set_layer_property(layer, 'style',
style)`` so every change is undoable.
"""

from __future__ import annotations

import copy
import dataclasses

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QColor, QIcon, QLinearGradient, QPainter, QPixmap
from PySide6.QtWidgets import (QAbstractItemView, QCheckBox, QColorDialog, QComboBox, QDialog, QDialogButtonBox,
                               QDoubleSpinBox, QFormLayout, QGroupBox, QHBoxLayout, QHeaderView, QLabel,
                               QPushButton, QSpinBox, QStackedWidget, QTableWidget, QTableWidgetItem,
                               QVBoxLayout, QWidget)

from gis_desk.core import classify
from gis_desk.core.layer import Layer, RasterLayerBase, VectorLayer
from gis_desk.core.ramps import RAMP_NAMES, ramp_colors
from gis_desk.core.style import (CategorisedStyle, GraduatedStyle, LabelSettings, RasterStyle, SingleSymbolStyle,
                                 Symbol)
from gis_desk.qt.widgets.layer_tree import qcolor, swatch

METHOD_LABELS = {"equal_interval": "Equal interval", "quantile": "Quantile (equal count)",
                 "natural_breaks": "Natural breaks (Jenks)"}


def hex_rgba(color: QColor) -> str:
    """'#rrggbbaa' as GIS Desk styles store colours."""
    return f"#{color.red():02x}{color.green():02x}{color.blue():02x}{color.alpha():02x}"


def ramp_icon(name: str, width: int = 80, height: int = 14) -> QIcon:
    pix = QPixmap(width, height)
    p = QPainter(pix)
    colors = ramp_colors(name, 12)
    grad = QLinearGradient(0, 0, width, 0)
    for i, c in enumerate(colors):
        grad.setColorAt(i / (len(colors) - 1), QColor(c))
    p.fillRect(0, 0, width, height, grad)
    p.end()
    return QIcon(pix)


class ColorButton(QPushButton):
    """A button showing a colour; clicking opens a colour chooser (with alpha)."""

    color_changed = Signal(str)

    def __init__(self, color: str = "#000000ff", parent=None) -> None:
        super().__init__(parent)
        self.setMinimumWidth(70)
        self.clicked.connect(self._choose)
        self.set_color(color)

    def set_color(self, color: str) -> None:
        self.color = color
        q = qcolor(color)
        pix = QPixmap(40, 14)
        pix.fill(q)
        self.setIcon(QIcon(pix))
        self.setIconSize(pix.size())
        self.setToolTip(color)

    def _choose(self) -> None:
        chosen = QColorDialog.getColor(qcolor(self.color), self, "Choose colour",
                                       QColorDialog.ColorDialogOption.ShowAlphaChannel)
        if chosen.isValid():
            self.set_color(hex_rgba(chosen))
            self.color_changed.emit(self.color)


def ramp_combo(current: str) -> QComboBox:
    combo = QComboBox()
    combo.setIconSize(QSize(80, 14))
    for name in RAMP_NAMES:
        combo.addItem(ramp_icon(name), name)
    combo.setCurrentText(current if current in RAMP_NAMES else "viridis")
    return combo


class _ClassTable(QTableWidget):
    """Symbol | Value or range | Label; double-click the symbol to change its colour."""

    def __init__(self, second_header: str) -> None:
        super().__init__(0, 3)
        self.setHorizontalHeaderLabels(["Symbol", second_header, "Legend"])
        self.horizontalHeader().setSectionResizeMode(2, QHeaderView.ResizeMode.Stretch)
        self.verticalHeader().hide()
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setEditTriggers(QAbstractItemView.EditTrigger.DoubleClicked)
        self.cellDoubleClicked.connect(self._edit_colour)
        self.symbols: list[Symbol] = []

    def show_classes(self, rows: list[tuple[Symbol, str, str]]) -> None:
        self.setRowCount(0)
        self.symbols = [copy.deepcopy(s) for s, _, _ in rows]
        for i, (sym, value, label) in enumerate(rows):
            self.insertRow(i)
            item = QTableWidgetItem()
            item.setFlags(Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable)
            self.setItem(i, 0, item)
            value_item = QTableWidgetItem(value)
            value_item.setFlags(Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable)
            self.setItem(i, 1, value_item)
            self.setItem(i, 2, QTableWidgetItem(label))
            self._paint(i)

    def set_fill(self, row: int, color: str) -> None:
        self.symbols[row].fill = color
        self._paint(row)

    def labels(self) -> list[str]:
        return [self.item(i, 2).text() for i in range(self.rowCount())]

    def _paint(self, row: int) -> None:
        s = self.symbols[row]
        self.item(row, 0).setIcon(swatch(type("E", (), {"fill": s.fill, "stroke": s.stroke, "shape": "polygon"})))

    def _edit_colour(self, row: int, column: int) -> None:
        if column != 0:
            return
        chosen = QColorDialog.getColor(qcolor(self.symbols[row].fill), self, "Class colour",
                                       QColorDialog.ColorDialogOption.ShowAlphaChannel)
        if chosen.isValid():
            self.set_fill(row, hex_rgba(chosen))


class VectorStylePanel(QWidget):
    def __init__(self, layer: VectorLayer, parent=None) -> None:
        super().__init__(parent)
        self.layer = layer
        frame = layer.dataset.frame
        self.frame = frame
        self.fields = list(layer.dataset.fields)
        self.numeric_fields = [f for f in self.fields if frame[f].dtype.kind in "iuf"]
        style = layer.style
        self.renderer = QComboBox()
        self.renderer.addItems(["Single symbol", "Categorised", "Graduated"])
        self.pages = QStackedWidget()
        self.pages.addWidget(self._single_page(style.symbol if isinstance(style, SingleSymbolStyle) else Symbol()))
        self.pages.addWidget(self._categorised_page(style if isinstance(style, CategorisedStyle) else None))
        self.pages.addWidget(self._graduated_page(style if isinstance(style, GraduatedStyle) else None))
        self.renderer.currentIndexChanged.connect(self.pages.setCurrentIndex)
        self.renderer.setCurrentIndex({"single": 0, "categorised": 1, "graduated": 2}.get(style.kind, 0))
        self.labels_box = self._labels_group(getattr(style, "labels", None))
        layout = QVBoxLayout(self)
        top = QHBoxLayout()
        top.addWidget(QLabel("Renderer"))
        top.addWidget(self.renderer, 1)
        layout.addLayout(top)
        layout.addWidget(self.pages, 1)
        layout.addWidget(self.labels_box)

    # -- pages ---------------------------------------------------------------------------------
    def _single_page(self, sym: Symbol) -> QWidget:
        page = QWidget()
        form = QFormLayout(page)
        self.fill_button = ColorButton(sym.fill)
        self.stroke_button = ColorButton(sym.stroke)
        self.stroke_width = QDoubleSpinBox(decimals=2, minimum=0.0, maximum=20.0, singleStep=0.2, value=sym.stroke_width)
        self.stroke_width.setSuffix(" px")
        self.marker = QComboBox()
        self.marker.addItems(["circle", "square", "triangle", "diamond"])
        self.marker.setCurrentText(sym.marker)
        self.marker_size = QDoubleSpinBox(decimals=1, minimum=1.0, maximum=64.0, value=sym.size)
        self.marker_size.setSuffix(" px")
        form.addRow("Fill colour", self.fill_button)
        form.addRow("Outline colour", self.stroke_button)
        form.addRow("Outline width", self.stroke_width)
        form.addRow("Marker", self.marker)
        form.addRow("Marker size", self.marker_size)
        return page

    def _categorised_page(self, style: CategorisedStyle | None) -> QWidget:
        page = QWidget()
        form = QFormLayout()
        self.cat_field = QComboBox()
        self.cat_field.addItems(self.fields)
        self.cat_ramp = ramp_combo(style.ramp if style else "Set2")
        form.addRow("Value", self.cat_field)
        form.addRow("Colour ramp", self.cat_ramp)
        self.cat_table = _ClassTable("Value")
        classify_button = QPushButton("Classify")
        classify_button.clicked.connect(self.classify_categories)
        layout = QVBoxLayout(page)
        layout.addLayout(form)
        layout.addWidget(self.cat_table, 1)
        layout.addWidget(classify_button, 0, Qt.AlignmentFlag.AlignLeft)
        self._categorised: CategorisedStyle | None = None
        if style and style.field in self.fields:
            self.cat_field.setCurrentText(style.field)
            self._show_categories(copy.deepcopy(style))
        return page

    def _graduated_page(self, style: GraduatedStyle | None) -> QWidget:
        page = QWidget()
        form = QFormLayout()
        self.grad_field = QComboBox()
        self.grad_field.addItems(self.numeric_fields)
        self.grad_method = QComboBox()
        for key, label in METHOD_LABELS.items():
            self.grad_method.addItem(label, key)
        self.grad_classes = QSpinBox(minimum=2, maximum=20, value=style.n_classes if style else 5)
        self.grad_ramp = ramp_combo(style.ramp if style else "YlOrRd")
        self.grad_invert = QCheckBox("Invert colour ramp")
        form.addRow("Value", self.grad_field)
        form.addRow("Mode", self.grad_method)
        form.addRow("Classes", self.grad_classes)
        form.addRow("Colour ramp", self.grad_ramp)
        form.addRow("", self.grad_invert)
        self.grad_table = _ClassTable("Values")
        classify_button = QPushButton("Classify")
        classify_button.clicked.connect(self.classify_ranges)
        layout = QVBoxLayout(page)
        layout.addLayout(form)
        layout.addWidget(self.grad_table, 1)
        layout.addWidget(classify_button, 0, Qt.AlignmentFlag.AlignLeft)
        self._graduated: GraduatedStyle | None = None
        if style and style.field in self.numeric_fields:
            self.grad_field.setCurrentText(style.field)
            self.grad_method.setCurrentIndex(max(0, self.grad_method.findData(style.method)))
            self.grad_invert.setChecked(style.invert_ramp)
            self._show_ranges(copy.deepcopy(style))
        return page

    def _labels_group(self, labels: LabelSettings | None) -> QGroupBox:
        box = QGroupBox("Labels")
        box.setCheckable(True)
        box.setChecked(bool(labels and labels.enabled))
        form = QFormLayout(box)
        self.label_field = QComboBox()
        self.label_field.addItems(self.fields)
        if labels and labels.field in self.fields:
            self.label_field.setCurrentText(labels.field)
        self.label_size = QDoubleSpinBox(decimals=1, minimum=4.0, maximum=72.0, value=labels.size if labels else 9.0)
        self.label_size.setSuffix(" pt")
        self.label_colour = ColorButton(labels.color if labels else "#202020ff")
        form.addRow("Label with", self.label_field)
        form.addRow("Size", self.label_size)
        form.addRow("Colour", self.label_colour)
        self._label_halo = labels.halo if labels else "#ffffffd0"
        return box

    # -- classification ------------------------------------------------------------------------
    def _cat_key(self) -> tuple:
        return (self.cat_field.currentText(), self.cat_ramp.currentText())

    def _grad_key(self) -> tuple:
        return (self.grad_field.currentText(), self.grad_method.currentData(), self.grad_classes.value(),
                self.grad_ramp.currentText(), self.grad_invert.isChecked())

    def classify_categories(self) -> None:
        """Raises ``DataError`` (shown by the dialog's owner) for unusable fields."""
        style = classify.categorised_style(self.frame, self.cat_field.currentText(), self.cat_ramp.currentText())
        self._show_categories(style)

    def _show_categories(self, style: CategorisedStyle) -> None:
        self._categorised, self._cat_classified_for = style, self._cat_key()
        self.cat_table.show_classes([(c.symbol, str(c.value), c.label) for c in style.categories])

    def classify_ranges(self) -> None:
        style = classify.graduated_style(self.frame, self.grad_field.currentText(), self.grad_method.currentData(),
                                         self.grad_classes.value(), self.grad_ramp.currentText(),
                                         self.grad_invert.isChecked())
        self._show_ranges(style)

    def _show_ranges(self, style: GraduatedStyle) -> None:
        self._graduated, self._grad_classified_for = style, self._grad_key()
        self.grad_table.show_classes([(c.symbol, f"{c.lower:g}" if c.lower == c.upper else f"{c.lower:g} – {c.upper:g}",
                                       c.label) for c in style.classes])

    # -- result --------------------------------------------------------------------------------
    def labels(self) -> LabelSettings | None:
        if not self.labels_box.isChecked() or not self.label_field.currentText():
            return None
        return LabelSettings(field=self.label_field.currentText(), size=self.label_size.value(),
                             color=self.label_colour.color, halo=self._label_halo, enabled=True)

    def build_style(self):
        kind = self.renderer.currentIndex()
        if kind == 0:
            sym = Symbol(fill=self.fill_button.color, stroke=self.stroke_button.color,
                         stroke_width=self.stroke_width.value(), marker=self.marker.currentText(),
                         size=self.marker_size.value())
            return SingleSymbolStyle(symbol=sym, labels=self.labels())
        if kind == 1:
            if self._categorised is None or self._cat_classified_for != self._cat_key():
                self.classify_categories()
            style = copy.deepcopy(self._categorised)
            for cat, sym, label in zip(style.categories, self.cat_table.symbols, self.cat_table.labels()):
                cat.symbol, cat.label = copy.deepcopy(sym), label
            style.labels = self.labels()
            return style
        if self._graduated is None or self._grad_classified_for != self._grad_key():
            self.classify_ranges()
        style = copy.deepcopy(self._graduated)
        for cls, sym, label in zip(style.classes, self.grad_table.symbols, self.grad_table.labels()):
            cls.symbol, cls.label = copy.deepcopy(sym), label
        style.labels = self.labels()
        return style


class RasterStylePanel(QWidget):
    def __init__(self, layer: RasterLayerBase, parent=None) -> None:
        super().__init__(parent)
        self.layer = layer
        ds = layer.dataset
        self.band_count = int(getattr(ds, "count", 1))
        style = layer.style if isinstance(layer.style, RasterStyle) else RasterStyle()
        self.mode = QComboBox()
        self.mode.addItem("Multiband colour (RGB)", "rgb")
        self.mode.addItem("Singleband pseudocolour", "singleband")
        self.mode.addItem("Paletted (colour table)", "paletted")
        self.mode.setCurrentIndex(max(0, self.mode.findData(style.mode)))
        bands = list(style.bands) + [1, 2, 3]
        self.band_boxes = [QSpinBox(minimum=1, maximum=self.band_count, value=min(b, self.band_count))
                           for b in bands[:3]]
        self.stretch = QComboBox()
        self.stretch.addItem("Min / max", "minmax")
        self.stretch.addItem("Cumulative count cut 2–98 %", "percent")
        self.stretch.addItem("Manual", "manual")
        self.stretch.setCurrentIndex(max(0, self.stretch.findData(style.stretch)))
        self.vmin = QDoubleSpinBox(decimals=4, minimum=-1e12, maximum=1e12)
        self.vmax = QDoubleSpinBox(decimals=4, minimum=-1e12, maximum=1e12)
        if style.vmin:
            self.vmin.setValue(style.vmin[0])
        if style.vmax:
            self.vmax.setValue(style.vmax[0])
        load = QPushButton("Load min/max from data")
        load.clicked.connect(self.load_min_max)
        self.ramp = ramp_combo(style.ramp)
        self.invert = QCheckBox("Invert colour ramp")
        self.invert.setChecked(style.invert_ramp)
        self.resampling = QComboBox()
        self.resampling.addItems(["nearest", "bilinear", "average"])
        self.resampling.setCurrentText(style.resampling)
        self.hillshade = QComboBox()
        self.hillshade.addItem("Off", "off")
        self.hillshade.addItem("Blended with the colours", "blend")
        self.hillshade.addItem("Relief only (grey)", "only")
        self.hillshade.setCurrentIndex(max(0, self.hillshade.findData(style.hillshade)))
        self.hillshade.setToolTip("Shade a surface model (DSM/DTM) by its relief")
        self.azimuth = QDoubleSpinBox(minimum=0, maximum=360, decimals=0, suffix="°", value=style.hillshade_azimuth)
        self.altitude = QDoubleSpinBox(minimum=1, maximum=90, decimals=0, suffix="°", value=style.hillshade_altitude)
        self.z_factor = QDoubleSpinBox(minimum=0.1, maximum=100, decimals=1, value=style.hillshade_z_factor)
        self._style = style
        form = QFormLayout(self)
        form.addRow("Render type", self.mode)
        for name, box in zip(("Red band / Band", "Green band", "Blue band"), self.band_boxes):
            form.addRow(name, box)
        form.addRow("Min / max", self.stretch)
        row = QHBoxLayout()
        row.addWidget(QLabel("Min"))
        row.addWidget(self.vmin)
        row.addWidget(QLabel("Max"))
        row.addWidget(self.vmax)
        form.addRow("", row)
        form.addRow("", load)
        form.addRow("Colour ramp", self.ramp)
        form.addRow("", self.invert)
        form.addRow("Resampling", self.resampling)
        if self.band_count == 1:
            form.addRow("Hillshade", self.hillshade)
            light = QHBoxLayout()
            for label, box in (("Sun azimuth", self.azimuth), ("altitude", self.altitude), ("Z factor", self.z_factor)):
                light.addWidget(QLabel(label))
                light.addWidget(box)
            form.addRow("", light)

    def _bands(self) -> tuple[int, ...]:
        mode = self.mode.currentData()
        if mode == "rgb":
            return tuple(b.value() for b in self.band_boxes)
        return (self.band_boxes[0].value(),)

    def load_min_max(self) -> None:
        method = self.stretch.currentData()
        if method == "manual":
            method = "minmax"
        lo, hi = classify.raster_stretch(self.layer.dataset, self._bands()[0], method)
        self.vmin.setValue(lo)
        self.vmax.setValue(hi)

    def build_style(self) -> RasterStyle:
        mode, stretch = self.mode.currentData(), self.stretch.currentData()
        bands = self._bands()
        if stretch == "manual":
            vmin, vmax = [self.vmin.value()] * len(bands), [self.vmax.value()] * len(bands)
        elif mode == "paletted":
            vmin = vmax = None
        else:  # computed per band drawn, so RGB bands each get their own range
            pairs = [classify.raster_stretch(self.layer.dataset, b, stretch) for b in bands]
            vmin, vmax = [p[0] for p in pairs], [p[1] for p in pairs]
        # replace(): fields this panel does not show (e.g. hillshade strength) are kept
        return dataclasses.replace(
            self._style, mode=mode, bands=bands, stretch=stretch, vmin=vmin, vmax=vmax,
            ramp=self.ramp.currentText(), invert_ramp=self.invert.isChecked(), resampling=self.resampling.currentText(),
            hillshade=self.hillshade.currentData() if mode == "singleband" else "off",
            hillshade_azimuth=self.azimuth.value(), hillshade_altitude=self.altitude.value(),
            hillshade_z_factor=self.z_factor.value())


class StyleDialog(QDialog):
    """Layer Properties — Symbology.  ``error`` carries classification errors to the presenter."""

    error = Signal(object)

    def __init__(self, session, layer: Layer, parent=None) -> None:
        super().__init__(parent)
        self.session, self.layer = session, layer
        self.setWindowTitle(f"Layer Properties — {layer.name} — Symbology")
        self.resize(560, 600)
        if isinstance(layer, VectorLayer):
            self.panel: VectorStylePanel | RasterStylePanel = VectorStylePanel(layer)
        elif isinstance(layer, RasterLayerBase):
            self.panel = RasterStylePanel(layer)
        else:
            raise TypeError(f"{type(layer).__name__} layers have no style to edit")
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
                                   | QDialogButtonBox.StandardButton.Apply)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        buttons.button(QDialogButtonBox.StandardButton.Apply).clicked.connect(self.apply)
        self.buttons = buttons
        layout = QVBoxLayout(self)
        layout.addWidget(self.panel, 1)
        layout.addWidget(buttons)

    def build_style(self):
        return self.panel.build_style()

    def apply(self) -> bool:
        """Apply the style through the session (undoable); False if it could not be built."""
        try:
            style = self.build_style()
        except Exception as exc:  # noqa: BLE001 - DataError and friends go to gis_desk.qt.errors
            self.error.emit(exc)
            return False
        self.session.set_layer_property(self.layer, "style", style)
        return True

    def accept(self) -> None:
        if self.apply():
            super().accept()
