"""Column mapping for text point clouds (XYZ, PTS, CSV, TXT): which column holds x, y, z and,
optionally, intensity, classification and colours.  Shows the file's first rows so the user
sees what each column holds; pre-selects columns by header name or by position.

``ask_columns(parent, path)`` returns the mapping for ``read_pointcloud(columns=...)`` (column
names, or 0-based positions for files without a header) or None when cancelled.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import (QComboBox, QDialog, QDialogButtonBox, QFormLayout, QLabel, QTableWidget,
                               QTableWidgetItem, QVBoxLayout)

from gis_desk.errors import CorruptFileError, DataError

REQUIRED = ("x", "y", "z")
OPTIONAL = ("intensity", "classification", "red", "green", "blue")
_ALIASES = {"x": ("x", "easting", "e", "east", "//x"), "y": ("y", "northing", "n", "north"),
            "z": ("z", "elevation", "height", "h", "alt"), "intensity": ("intensity", "i", "int"),
            "classification": ("classification", "class", "cls"), "red": ("red", "r"),
            "green": ("green", "g"), "blue": ("blue", "b")}
PREVIEW_ROWS = 8


def preview(path: str | Path, rows: int = PREVIEW_ROWS):
    """(DataFrame of the first rows, has_header) of a text point cloud."""
    import pandas as pd

    path = Path(path)
    try:
        with open(path, "r", encoding="utf-8-sig", errors="replace") as fh:
            lines = [line for line in (fh.readline() for _ in range(rows + 2)) if line.strip()]
    except OSError as exc:
        raise CorruptFileError(f"Cannot read the file: {exc.strerror or exc}", path=path) from exc
    if not lines:
        raise DataError("The text file is empty", path=path)
    # a PTS file starts with a lone point count
    if len(lines) > 1 and len(lines[0].split()) == 1 and len(lines[1].split()) >= 3:
        lines = lines[1:]
    sample = lines[1] if len(lines) > 1 else lines[0]
    sep = next((s for s in (",", ";", "\t") if s in sample), r"\s+")
    import io
    import re

    first = [c.strip().strip('"') for c in re.split(sep, lines[0].strip())]

    def numeric(c: str) -> bool:
        try:
            float(c)
            return True
        except ValueError:
            return False

    has_header = not all(numeric(c) for c in first if c)
    frame = pd.read_csv(io.StringIO("".join(lines)), sep=sep, header=0 if has_header else None,
                        engine="python", skipinitialspace=True)
    return frame, has_header


def guess_mapping(columns: list, has_header: bool) -> dict[str, object]:
    """x, y, z (and what else the header names) -> column name or position."""
    mapping: dict[str, object] = {}
    if has_header:
        lowered = {str(c).strip().lower(): c for c in columns}
        for target, aliases in _ALIASES.items():
            for alias in aliases:
                if alias in lowered and lowered[alias] not in mapping.values():
                    mapping[target] = lowered[alias]
                    break
    for i, target in enumerate(REQUIRED):
        if target not in mapping and i < len(columns):
            mapping[target] = columns[i] if has_header else i
    return mapping


class ColumnsDialog(QDialog):
    def __init__(self, path: str | Path, parent=None) -> None:
        super().__init__(parent)
        self.path = Path(path)
        self.setWindowTitle(f"Columns of {self.path.name}")
        self.resize(620, 460)
        self.frame, self.has_header = preview(path)
        columns = list(self.frame.columns)
        self.keys = columns if self.has_header else list(range(len(columns)))
        labels = [str(c) for c in columns] if self.has_header else [f"column {i + 1}" for i in range(len(columns))]
        guess = guess_mapping(columns, self.has_header)

        layout = QVBoxLayout(self)
        layout.addWidget(QLabel("Choose which column holds each value (x, y and z are needed)."))
        table = QTableWidget(len(self.frame), len(columns))
        table.setHorizontalHeaderLabels(labels)
        for r in range(len(self.frame)):
            for c in range(len(columns)):
                table.setItem(r, c, QTableWidgetItem(str(self.frame.iat[r, c])))
        table.setMaximumHeight(200)
        layout.addWidget(table)
        form = QFormLayout()
        self.combos: dict[str, QComboBox] = {}
        for target in REQUIRED + OPTIONAL:
            combo = QComboBox()
            if target not in REQUIRED:
                combo.addItem("(none)", None)
            for key, label in zip(self.keys, labels):
                combo.addItem(label, key)
            chosen = guess.get(target)
            if chosen is not None:
                combo.setCurrentIndex(combo.findData(chosen))
            form.addRow(f"{target}:", combo)
            self.combos[target] = combo
        layout.addLayout(form)
        self.error = QLabel()
        self.error.setStyleSheet("color: #b00020")
        layout.addWidget(self.error)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self._accept)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)

    def mapping(self) -> dict[str, object]:
        out = {}
        for target, combo in self.combos.items():
            key = combo.currentData()
            if key is not None:
                out[target] = key
        return out

    def _accept(self) -> None:
        mapping = self.mapping()
        used = [v for v in mapping.values()]
        if any(t not in mapping for t in REQUIRED):
            self.error.setText("Choose the columns of x, y and z.")
            return
        if len(set(map(str, used))) != len(used):
            self.error.setText("Each column can hold only one value.")
            return
        self.accept()


def ask_columns(parent, path: str | Path) -> dict[str, object] | None:
    """The column mapping the user chooses for ``path``, or None when cancelled."""
    dialog = ColumnsDialog(path, parent)
    if dialog.exec() != QDialog.DialogCode.Accepted:
        return None
    return dialog.mapping()
