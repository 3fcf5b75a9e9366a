"""Drone menu dialogs: the flight summary and the OpenDroneMap import (found / missing first)."""

from __future__ import annotations

import math
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (QDialog, QDialogButtonBox, QFileDialog, QFormLayout, QHBoxLayout, QLabel,
                               QLineEdit, QPushButton, QTextBrowser, QVBoxLayout, QWidget)

HEIGHT_CEILING_M = 120.0  # UK CAA open category: 120 m above the take-off/surface


def _duration(seconds: float) -> str:
    if seconds is None or not math.isfinite(seconds):
        return "unknown"
    minutes, sec = divmod(int(round(seconds)), 60)
    return f"{minutes} min {sec:02d} s" if minutes else f"{sec} s"


def _metres(value) -> str:
    try:
        value = float(value)
    except (TypeError, ValueError):
        return "unknown"
    return f"{value:,.1f} m" if math.isfinite(value) else "unknown"


class FlightSummaryDialog(QDialog):
    """Duration, distance, highest point above take-off, furthest from take-off; the height
    ceiling check is shown in red when it fails."""

    def __init__(self, layer, summary, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(f"Flight summary — {layer.name}")
        self.summary = summary
        form = QFormLayout()
        self.values: dict[str, QLabel] = {}
        takeoff = getattr(summary, "takeoff", None)
        speed = getattr(summary, "max_speed_m_s", None)
        rows = (("duration", "Duration", _duration(summary.duration_s)),
                ("distance", "Distance flown", _metres(summary.distance_m)),
                ("height", "Highest above take-off", _metres(summary.max_height_m)),
                ("range", "Furthest from take-off", _metres(summary.max_distance_from_takeoff_m)),
                ("speed", "Fastest ground speed",
                 f"{speed:.1f} m/s" if isinstance(speed, (int, float)) and math.isfinite(speed) else "unknown"),
                ("takeoff", "Take-off (lat, lon)",
                 f"{takeoff[0]:.6f}, {takeoff[1]:.6f}" if takeoff else "unknown"))
        for key, label, text in rows:
            value = QLabel(text)
            value.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            self.values[key] = value
            form.addRow(label, value)
        exceeds = list(getattr(summary, "exceeds", []) or [])
        ceiling = (getattr(summary, "policy", None) or {}).get("max_height_m", HEIGHT_CEILING_M) or HEIGHT_CEILING_M
        self.ceiling = float(ceiling)
        height = getattr(summary, "max_height_m", float("nan"))
        over = (height is not None and math.isfinite(height) and height > self.ceiling)
        if over and not any("height" in e.lower() for e in exceeds):
            exceeds.insert(0, f"Height {height:.1f} m is above the {self.ceiling:.0f} m ceiling")
        self.exceeds = exceeds
        if exceeds:
            self.values["height"].setStyleSheet("color: #b00020; font-weight: bold;")
            check = QLabel("<b>Check failed:</b><br>" + "<br>".join(exceeds))
            check.setStyleSheet("color: #b00020; background: #fde8ea; padding: 6px; border-radius: 3px;")
        else:
            check = QLabel(f"Within the {self.ceiling:g} m height ceiling")
            check.setStyleSheet("color: #1b5e20; background: #e6f4ea; padding: 6px; border-radius: 3px;")
        check.setWordWrap(True)
        self.check_label = check
        problems = list(getattr(getattr(layer.dataset, "telemetry", None), "problems", []) or [])
        notes = list(getattr(summary, "notes", []) or [])
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        buttons.accepted.connect(self.accept)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(check)
        if notes:
            self.notes_label = QLabel("Not checked or assumed: " + "; ".join(notes))
            self.notes_label.setWordWrap(True)
            self.notes_label.setStyleSheet("color: #555;")
            layout.addWidget(self.notes_label)
        if problems:
            note = QLabel(f"{len(problems)} telemetry record(s) skipped: " + "; ".join(problems[:3])
                          + (" …" if len(problems) > 3 else ""))
            note.setWordWrap(True)
            note.setStyleSheet("color: #555;")
            layout.addWidget(note)
        layout.addWidget(buttons)
        self.setMinimumWidth(380)


class OdmImportDialog(QDialog):
    """Choose an OpenDroneMap project folder or zip; what was found and what is missing is shown
    before anything is added."""

    def __init__(self, parent: QWidget | None = None, path: str | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Import OpenDroneMap project")
        self.project = None
        self.path_edit = QLineEdit()
        self.path_edit.setPlaceholderText("An ODM/WebODM project folder or its zip download")
        self.path_edit.editingFinished.connect(lambda: self.inspect(self.path_edit.text()))
        folder = QPushButton("Folder…")
        folder.clicked.connect(self._choose_folder)
        archive = QPushButton("Zip…")
        archive.clicked.connect(self._choose_zip)
        row = QHBoxLayout()
        row.addWidget(self.path_edit, 1)
        row.addWidget(folder)
        row.addWidget(archive)
        self.report = QTextBrowser()
        self.report.setMinimumHeight(160)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Add layers")
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(row)
        layout.addWidget(self.report, 1)
        layout.addWidget(self.buttons)
        self.resize(560, 340)
        self._set_ok(False)
        if path:
            self.path_edit.setText(str(path))
            self.inspect(path)

    def _set_ok(self, on: bool) -> None:
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setEnabled(on)

    def _choose_folder(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "OpenDroneMap project folder")
        if path:
            self.path_edit.setText(path)
            self.inspect(path)

    def _choose_zip(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "OpenDroneMap project zip", "", "Zip archives (*.zip)")
        if path:
            self.path_edit.setText(path)
            self.inspect(path)

    def inspect(self, path) -> object | None:
        """Look into ``path`` and show what it holds; enables "Add layers" when something usable
        was found.  Returns the ``OdmProject`` (None when it could not be read)."""
        from gis_desk.io.odm import inspect_odm_project

        self.project = None
        path = str(path).strip()
        if not path:
            self.report.setHtml("")
            self._set_ok(False)
            return None
        try:
            project = inspect_odm_project(path)
        except Exception as exc:  # noqa: BLE001 - the reason is the report
            self.report.setHtml(f"<p style='color:#b00020'><b>Cannot read this project:</b> "
                                f"{_esc(getattr(exc, 'message', str(exc)))}</p>"
                                + (f"<p>{_esc(exc.hint)}</p>" if getattr(exc, "hint", None) else ""))
            self._set_ok(False)
            return None
        self.project = project
        self.report.setHtml(odm_report_html(project))
        self._set_ok(bool(project.found))
        return project

    def selected_path(self) -> str:
        return self.path_edit.text().strip()


def odm_report_html(project) -> str:
    found = dict(getattr(project, "found", {}) or {})
    missing = list(getattr(project, "missing", []) or [])
    notes = getattr(project, "notes", None) or []
    if isinstance(notes, str):
        notes = [notes]
    parts = []
    if found:
        parts.append("<p><b>Found</b></p><ul>" + "".join(
            f"<li>{_esc(k)}: <code>{_esc(Path(str(v)).name)}</code></li>" for k, v in found.items()) + "</ul>")
    else:
        parts.append("<p style='color:#b00020'><b>Nothing usable was found.</b></p>")
    if missing:
        parts.append("<p style='color:#8a5300'><b>Missing</b></p><ul>"
                     + "".join(f"<li>{_esc(m)}</li>" for m in missing) + "</ul>")
    if notes:
        parts.append("<p>" + "<br>".join(_esc(n) for n in notes) + "</p>")
    return "".join(parts)


def _esc(text) -> str:
    import html

    return html.escape(str(text))
