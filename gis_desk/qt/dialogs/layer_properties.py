"""Layer Properties — Information: source, reader, CRS, extent, feature count or bands."""

from __future__ import annotations

import json

from PySide6.QtWidgets import QDialog, QDialogButtonBox, QFormLayout, QLabel, QPlainTextEdit, QVBoxLayout

from gis_desk.core.crs import crs_name


def layer_information(layer) -> list[tuple[str, str]]:
    """(label, text) rows describing ``layer``."""
    rows = [("Name", layer.name), ("Kind", layer.kind),
            ("Source", layer.source.path if layer.source else "")]
    if layer.source and layer.source.reader:
        rows.append(("Reader", layer.source.reader))
    if layer.is_broken:
        rows.append(("Problem", layer.error))
        return rows
    rows.append(("CRS", crs_name(layer.crs)))
    if layer.bounds:
        rows.append(("Extent", ", ".join(f"{v:,.2f}" for v in layer.bounds)))
    info = layer.dataset.info() if layer.dataset is not None else {}
    for key, label in (("driver", "Format"), ("count", "Features"), ("geometry_type", "Geometry"),
                       ("width", "Width (px)"), ("height", "Height (px)"), ("bands", "Bands")):
        if key in info and info[key] not in (None, ""):
            value = info[key]
            rows.append((label, f"{value:,}" if isinstance(value, int) else
                         (", ".join(map(str, value)) if isinstance(value, list) else str(value))))
    return rows


class LayerPropertiesDialog(QDialog):
    def __init__(self, layer, parent=None) -> None:
        super().__init__(parent)
        self.setWindowTitle(f"Layer Properties — {layer.name} — Information")
        self.resize(620, 420)
        form = QFormLayout()
        for label, text in layer_information(layer):
            value = QLabel(text)
            value.setWordWrap(True)
            value.setTextInteractionFlags(value.textInteractionFlags() | value.textInteractionFlags().TextSelectableByMouse)
            form.addRow(label, value)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        if layer.dataset is not None and "fields" in (info := layer.dataset.info()):
            fields = QPlainTextEdit(json.dumps(info["fields"], indent=1))
            fields.setReadOnly(True)
            layout.addWidget(QLabel("Fields"))
            layout.addWidget(fields, 1)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
