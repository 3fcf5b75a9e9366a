"""Export with disclosure control: GeoPackage, Cloud Optimized GeoTIFF, CSV or PNG map.

Every export goes through ``gis_desk.io.exports`` and needs a disclosure policy chosen in the
dialog; there is no default, so nothing leaves GIS Desk by accident.  The export runs as a
background task; when it is done its ``ExportRecord`` is appended to the project's export log
(saved with the project) and the dialog shows the policy and what was suppressed.

The caller describes what is exported with an ``ExportSource`` (a table or layer with its
count columns, or a heat map), so one dialog serves the heat-map and deprivation panels and
the "Council data" menu.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (QComboBox, QDialog, QDialogButtonBox, QFileDialog, QFormLayout, QGroupBox,
                               QHBoxLayout, QLabel, QLineEdit, QListWidget, QListWidgetItem, QProgressBar,
                               QPushButton, QTextBrowser, QToolButton, QVBoxLayout, QWidget)

from gis_desk.qt.uprn.common import PolicyChooser, error_text, safe_name

FORMATS = {  # key: (label, suffix, file filter)
    "gpkg": ("GeoPackage (styled for QGIS)", ".gpkg", "GeoPackage (*.gpkg)"),
    "cog": ("Cloud Optimized GeoTIFF", ".tif", "GeoTIFF (*.tif *.tiff)"),
    "csv": ("CSV table (suppressed cells as [c])", ".csv", "CSV (*.csv)"),
    "png": ("PNG map with legend", ".png", "PNG image (*.png)"),
}


@dataclass
class ExportSource:
    """What the dialog exports.

    ``frame``: a (Geo)DataFrame; ``layer``: a vector layer (its frame and style are used);
    ``heatmap``: a ``KdeResult`` with per-cell counts, drawn with ``heatmap_style``.
    ``count_columns``: the columns holding counts of records (checked by default);
    ``derived_columns``: rates and shares emptied where a count is hidden.  ``name``: the
    default file and layer name; ``title``: what the user is told is being exported.
    ``about_people``: False for public data (IMD ranks, boundaries): the dialog then proposes
    "not about people" with ``public_reason``.
    """

    title: str
    name: str
    frame: Any = None
    layer: Any = None
    heatmap: Any = None
    heatmap_style: Any = None
    count_columns: list[str] = field(default_factory=list)
    derived_columns: list[str] = field(default_factory=list)
    about_people: bool = True
    public_reason: str = ""

    def table(self):
        if self.frame is not None:
            return self.frame
        if self.layer is not None and self.layer.dataset is not None:
            return self.layer.dataset.frame
        return None

    def formats(self) -> list[str]:
        table = self.table()
        out = []
        if table is not None and hasattr(table, "crs") and getattr(table, "geometry", None) is not None:
            out.append("gpkg")
        if self.heatmap is not None:
            out.append("cog")
        if table is not None:
            out.append("csv")
        out.append("png")
        return out


def _integer_columns(frame) -> list[str]:
    geometry = getattr(getattr(frame, "geometry", None), "name", None) if hasattr(frame, "crs") else None
    out = []
    for c in frame.columns:
        if c == geometry:
            continue
        dtype = frame[c].dtype
        if dtype.kind in "iu" or str(dtype) in ("Int64", "Int32", "UInt32", "UInt64"):
            out.append(str(c))
    return out


class ExportDialog(QDialog):
    """Export ``source`` after the user chooses a format, a policy and a file.

    ``tasks``: the window's ``TaskManager``; ``presenter``: its ``ErrorPresenter``;
    ``viewport_fn()``: the ``Viewport`` a PNG map shows (default: the whole project).
    ``last_result`` is the ``ExportResult`` of the last export.
    """

    def __init__(self, session, tasks, presenter, source: ExportSource,
                 viewport_fn: Callable[[], Any] | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session, self.tasks, self.presenter, self.source = session, tasks, presenter, source
        self.viewport_fn = viewport_fn
        self.task = None
        self.last_result = None
        self.setWindowTitle("Export with disclosure control")
        self.resize(620, 640)

        heading = QLabel(f"<b>{source.title}</b>")
        heading.setWordWrap(True)
        self.format = QComboBox()
        for key in source.formats():
            self.format.addItem(FORMATS[key][0], key)
        self.policy = PolicyChooser(required=True, allow_none=True)
        if not source.about_people and source.public_reason:
            self.policy.reason.setText(source.public_reason)
        self.path = QLineEdit()
        self.path.setPlaceholderText("Where to write the file")
        browse = QToolButton()
        browse.setText("…")
        browse.setToolTip("Choose the output file")
        browse.clicked.connect(self.browse)
        path_row = QHBoxLayout()
        path_row.addWidget(self.path, 1)
        path_row.addWidget(browse)

        self.counts_box = QGroupBox("Count columns (disclosure control applies to these)")
        self.counts = QListWidget()
        self.counts.setMaximumHeight(120)
        self.counts_note = QLabel()
        self.counts_note.setWordWrap(True)
        self.counts_note.setStyleSheet("color: #8a4b00;")
        counts_layout = QVBoxLayout(self.counts_box)
        counts_layout.addWidget(self.counts)
        counts_layout.addWidget(self.counts_note)
        table = source.table()
        if table is not None:
            candidates = _integer_columns(table)
            for name in dict.fromkeys([*source.count_columns, *candidates]):
                item = QListWidgetItem(name)
                item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
                item.setCheckState(Qt.CheckState.Checked if name in source.count_columns else Qt.CheckState.Unchecked)
                self.counts.addItem(item)

        self.png_box = QGroupBox("Map")
        self.map_title = QLineEdit()
        self.map_title.setPlaceholderText("Optional title drawn on the map")
        self.attribution = QLineEdit()
        self.attribution.setPlaceholderText("e.g. Contains OS data © Crown copyright and database right 2025")
        png_form = QFormLayout(self.png_box)
        png_form.addRow("Title", self.map_title)
        png_form.addRow("Attribution", self.attribution)

        form = QFormLayout()
        form.addRow("Format", self.format)
        form.addRow("Disclosure policy", self.policy)
        form.addRow("File", path_row)

        self.progress = QProgressBar()
        self.progress.setRange(0, 100)
        self.progress.setVisible(False)
        self.status = QLabel()
        self.status.setWordWrap(True)
        self.result_view = QTextBrowser()
        self.result_view.setMinimumHeight(110)
        self.result_view.setPlaceholderText("After the export, the policy and what was suppressed are shown here.")

        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        self.export_button = QPushButton("Export")
        self.export_button.setDefault(True)
        self.buttons.addButton(self.export_button, QDialogButtonBox.ButtonRole.ActionRole)
        self.cancel_button = QPushButton("Cancel export")
        self.cancel_button.setEnabled(False)
        self.buttons.addButton(self.cancel_button, QDialogButtonBox.ButtonRole.ActionRole)
        self.buttons.rejected.connect(self.reject)
        self.export_button.clicked.connect(self.export)
        self.cancel_button.clicked.connect(self.cancel)

        layout = QVBoxLayout(self)
        layout.addWidget(heading)
        layout.addLayout(form)
        layout.addWidget(self.counts_box)
        layout.addWidget(self.png_box)
        layout.addWidget(self.status)
        layout.addWidget(self.progress)
        layout.addWidget(self.result_view, 1)
        layout.addWidget(self.buttons)

        self.tasks.task_done.connect(self._task_over)
        self.format.currentIndexChanged.connect(self._format_changed)
        self.policy.changed.connect(self._update)
        self.path.textChanged.connect(self._update)
        self.counts.itemChanged.connect(self._update)
        self._format_changed()

    # -- state ---------------------------------------------------------------------------------
    def format_key(self) -> str:
        return self.format.currentData()

    def set_format(self, key: str) -> None:
        self.format.setCurrentIndex(self.format.findData(key))

    def count_columns(self) -> list[str]:
        return [self.counts.item(i).text() for i in range(self.counts.count())
                if self.counts.item(i).checkState() == Qt.CheckState.Checked]

    def _default_path(self, key: str) -> str:
        project = self.session.project
        folder = project.path.parent if project.path else Path.home()
        return str(folder / f"{safe_name(self.source.name)}{FORMATS[key][1]}")

    def _format_changed(self, *_args) -> None:
        key = self.format_key()
        text = self.path.text().strip()
        if not text or Path(text).suffix.lower() in {f[1] for f in FORMATS.values()}:
            self.path.setText(str(Path(text).with_suffix(FORMATS[key][1])) if text else self._default_path(key))
        self.policy.set_raster(key == "cog")
        self.counts_box.setVisible(key in ("gpkg", "csv"))
        self.png_box.setVisible(key == "png")
        self._update()

    def problems(self) -> list[str]:
        """What stops the export (empty when it can run)."""
        out = []
        if self.policy.problem():
            out.append(self.policy.problem())
        if not self.path.text().strip():
            out.append("Choose the file to write.")
        policy = self.policy.policy()
        if (self.format_key() in ("gpkg", "csv") and policy is not None and policy.controls
                and not self.count_columns()):
            out.append("Tick the count columns: individual records are never exported under a disclosure "
                       "policy (aggregate them first, e.g. Summary by decile).")
        return out

    def _update(self, *_args) -> None:
        problems = self.problems()
        busy = self.task is not None
        self.export_button.setEnabled(not problems and not busy)
        self.status.setText(" ".join(problems))
        self.status.setStyleSheet("color: #a40000;" if problems else "")
        self.counts_note.setText("" if self.counts.count() else
                                 "This table has no count columns; only 'Not about people' exports are possible.")

    def browse(self) -> None:
        key = self.format_key()
        path, _ = QFileDialog.getSaveFileName(self, "Export to", self.path.text() or self._default_path(key),
                                              FORMATS[key][2])
        if path:
            if Path(path).suffix.lower() != FORMATS[key][1] and not (key == "cog" and path.lower().endswith(".tiff")):
                path = str(Path(path).with_suffix(FORMATS[key][1]))
            self.path.setText(path)

    # -- exporting -----------------------------------------------------------------------------
    def export(self):
        """Start the export as a background task; None (nothing written) while something is
        missing, notably the policy."""
        problems = self.problems()
        if problems or self.task is not None:
            self._update()
            return None
        work = self._work(self.format_key(), self.policy.policy(), Path(self.path.text().strip()))
        self.progress.setVisible(True)
        self.progress.setRange(0, 0)
        self.result_view.clear()
        self.task = self.tasks.start(work, f"Exporting {Path(self.path.text()).name}",
                                     on_done=self._done, on_error=self._failed)
        self.cancel_button.setEnabled(True)
        self._update()
        return self.task

    def cancel(self) -> None:
        if self.task is not None:
            self.task.cancel()

    def _work(self, key: str, policy, path: Path):
        """The export as ``fn(feedback)``; the log record is appended on the GUI thread."""
        from gis_desk.io import exports

        source = self.source
        counts = self.count_columns() if policy.controls else []
        derived = [c for c in source.derived_columns if counts]
        viewport = self._viewport() if key == "png" else None
        layers = [la for la in self.session.project.layers if not la.is_broken] if key == "png" else None
        title, attribution = self.map_title.text().strip() or None, self.attribution.text().strip() or None
        layer_name = safe_name(source.name)

        def run(feedback):
            feedback.check_canceled()
            if key == "gpkg":
                data = source.layer if source.layer is not None and source.frame is None else source.frame
                style = getattr(source.layer, "style", None)
                return exports.export_geopackage(data, path, layer_name, style, policy, None,
                                                 count_columns=counts, derived_columns=derived,
                                                 description=source.title)
            if key == "csv":
                return exports.export_csv(source.table(), path, policy, counts, None, derived_columns=derived)
            if key == "cog":
                return exports.export_heatmap(source.heatmap, path, source.heatmap_style, policy, None)
            return exports.export_png_map(layers, viewport, path, policy=policy, title=title,
                                          attribution=attribution)

        return run

    def _viewport(self):
        if self.viewport_fn is not None:
            return self.viewport_fn()
        from gis_desk.render.headless import project_viewport

        return project_viewport(self.session.project, 1600, 1130)

    def _done(self, result) -> None:
        project = self.session.project
        project.export_log.append(result.record)
        project.mark_dirty()
        self.last_result = result
        self.result_view.setHtml(self.summary_html(result))

    @staticmethod
    def summary_html(result) -> str:
        record = result.record
        details = record.details or {}
        lines = [f"<b>Exported</b> {record.what}", f"to <code>{result.path}</code>",
                 f"<b>Disclosure policy:</b> {record.policy}"]
        if result.report is not None:
            lines.append(f"<b>Suppressed:</b> {result.report.summary()}")
        elif details.get("masked_cells") is not None and details.get("min_records") is not None:
            lines.append(f"<b>Suppressed:</b> {details['masked_cells']:,} cell(s) left blank because fewer than "
                         f"{details['min_records']} records reach them")
        if result.sidecars:
            lines.append("Also written: " + ", ".join(Path(p).name for p in result.sidecars))
        lines.append("The export is recorded in the project's export log (saved with the project).")
        return "<br>".join(lines)

    def _failed(self, exc: BaseException) -> bool:
        self.status.setText(f"The export failed: {error_text(exc)}")
        self.status.setStyleSheet("color: #a40000;")
        return False  # the presenter shows it as well

    def _task_over(self, task) -> None:
        if task is not self.task:
            return
        self.task = None
        self.progress.setVisible(False)
        self.progress.setRange(0, 100)
        self.cancel_button.setEnabled(False)
        self._update()
