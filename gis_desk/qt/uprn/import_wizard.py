"""Import council records keyed by UPRN: a wizard from file to point layer with a match report.

Pages:

1. Records file: CSV, XLSX or GeoPackage.  Its first rows are read in the background to
   detect the UPRN column, CHI/NHS identifier columns and columns that look personal.
2. Gazetteer: an existing store folder, or an OS Open UPRN CSV imported into a new store
   (``gis_desk.io.gazetteer.import_gazetteer``, a background task with progress and cancel).
   The last store used is remembered in the user's settings (``SETTING_STORE``).
3. Columns: the UPRN column (detected, overridable) with a preview of the first rows in which
   identifier columns are masked ('••••••7890'); identifier columns are listed as "will be
   pseudonymised"; personal columns are suggested for dropping, with checkboxes.
4. Match report: ``gis_desk.io.records.import_records`` runs in the background, then the page
   shows matched / not in the gazetteer / invalid (by kind) / duplicate counts, identifier
   validity, and the unmatched and invalid rows (pseudonymised), which can be exported.

Finish adds the point layer to the project (undoable).  Raw identifier values never reach
the layer, the report or the screen beyond the masked preview.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (QButtonGroup, QComboBox, QFileDialog, QFormLayout, QGridLayout, QGroupBox,
                               QHBoxLayout, QLabel, QLineEdit, QListWidget, QListWidgetItem, QProgressBar,
                               QPushButton, QRadioButton, QSplitter, QToolButton, QVBoxLayout, QWidget, QWizard,
                               QWizardPage)

from gis_desk.core.style import SingleSymbolStyle, Symbol
from gis_desk.errors import DataError, GisDeskError
from gis_desk.qt.uprn.common import FrameModel, error_text, fit_columns, frame_view

SETTING_STORE = "uprn_gazetteer_store"
PREVIEW_ROWS = 200
RECORDS_FILTER = "Council records (*.csv *.txt *.xlsx *.xlsm *.gpkg);;All files (*)"
RECORD_SYMBOL = Symbol(fill="#d7301fdd", stroke="#ffffffff", stroke_width=0.7, marker="circle", size=6.0)
_STATUS_LABELS = {"blank": "blank", "text": "text, not a number", "out_of_range": "out of range",
                  "lossy": "damaged by a spreadsheet (e.g. 1.00012E+11)"}


def _path_row(edit: QLineEdit, on_browse) -> QHBoxLayout:
    button = QToolButton()
    button.setText("…")
    button.setToolTip("Browse")
    button.clicked.connect(on_browse)
    row = QHBoxLayout()
    row.setContentsMargins(0, 0, 0, 0)
    row.addWidget(edit, 1)
    row.addWidget(button)
    return row


def read_preview(path: str | Path, rows: int = PREVIEW_ROWS):
    """The first ``rows`` rows of a records file as text (CSV), or as stored (XLSX, GeoPackage).

    Raises ``MissingFileError``, ``DataError`` (unsupported kind, empty file) or
    ``CorruptFileError`` naming the file.
    """
    import pandas as pd

    from gis_desk.errors import CorruptFileError, MissingFileError

    path = Path(path).expanduser()
    if not path.is_file():
        raise MissingFileError("The records file does not exist", path=path)
    suffix = path.suffix.lower()
    try:
        if suffix in (".csv", ".txt", ".tsv", ".tab"):
            from gis_desk.io.csv_points import _sniff

            encoding, sep = _sniff(path, None, None)
            frame = pd.read_csv(path, sep=sep, encoding=encoding, dtype=str, keep_default_na=False,
                                na_filter=False, nrows=rows)
        elif suffix in (".xlsx", ".xlsm"):
            frame = pd.read_excel(path, dtype=object, nrows=rows, engine="openpyxl")
        elif suffix == ".gpkg":
            import pyogrio

            frame = pyogrio.read_dataframe(path, read_geometry=False, max_features=rows)
        else:
            raise DataError(f"Cannot read records from {suffix or 'this kind of'} files", path=path,
                            hint="use CSV, XLSX or a GeoPackage table")
    except GisDeskError:
        raise
    except pd.errors.EmptyDataError as exc:
        raise DataError("The records file is empty", path=path) from exc
    except Exception as exc:  # parser errors of pandas, openpyxl or GDAL
        raise CorruptFileError("The records file cannot be read", path=path, details=str(exc),
                               hint="check it is a CSV, XLSX or GeoPackage and not open in another program") from exc
    frame.columns = [str(c) for c in frame.columns]
    if not len(frame.columns):
        raise DataError("The records file has no columns", path=path)
    return frame


def inspect_records(frame) -> dict[str, Any]:
    """What the wizard proposes for a preview frame: the UPRN column and how it was found,
    identifier columns ``{column: 'chi'|'nhs'}`` (the UPRN column excluded) and columns that
    look personal."""
    from gis_desk.analysis.identifiers import detect_identifier_columns, suggest_personal_columns
    from gis_desk.io.records import find_uprn_column

    identifiers = detect_identifier_columns(frame)
    column, found_by = find_uprn_column(frame, exclude=identifiers)
    identifiers.pop(column, None)
    personal = [c for c in suggest_personal_columns(frame) if c not in identifiers and c != column]
    return {"uprn_column": column, "found_by": found_by, "identifiers": identifiers, "personal": personal}


# -- pages ----------------------------------------------------------------------------------------


class RecordsPage(QWizardPage):
    def __init__(self, wizard: "ImportWizard") -> None:
        super().__init__()
        self.w = wizard
        self.setTitle("Council records")
        self.setSubTitle("Choose the file of records to place on the map by their UPRN (CSV, Excel XLSX or "
                         "a GeoPackage table). Personal identifiers in it are pseudonymised on import.")
        self.path = QLineEdit()
        self.path.setPlaceholderText("e.g. care_packages_2024.csv")
        self.info = QLabel("No file chosen yet.")
        self.info.setWordWrap(True)
        self.loaded: str | None = None
        form = QFormLayout(self)
        form.addRow("Records file", _path_row(self.path, self.browse))
        form.addRow("", self.info)
        self.path.editingFinished.connect(self.load)

    def browse(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Council records", self.path.text(), RECORDS_FILTER)
        if path:
            self.path.setText(path)
            self.load()

    def load(self):
        """Read the first rows in the background; the page completes when they are in."""
        text = self.path.text().strip()
        if not text or text == self.loaded:
            return None
        self.loaded = None
        self.w.preview = None
        self.info.setText("Reading the first rows…")
        self.completeChanged.emit()

        def work(feedback):
            frame = read_preview(text)
            return frame, inspect_records(frame)

        def done(out) -> None:
            frame, found = out
            if self.path.text().strip() != text:
                return
            self.w.preview, self.w.found = frame, found
            self.loaded = text
            column = found["uprn_column"]
            ids = ", ".join(f"{c} ({k.upper()})" for c, k in found["identifiers"].items()) or "none"
            self.info.setText(
                f"{len(frame.columns)} columns. UPRN column: "
                f"{repr(column) + ' (found by ' + found['found_by'] + ')' if column else 'not found: choose it on the next pages'}. "
                f"Identifier columns: {ids}.")
            self.completeChanged.emit()

        def failed(exc) -> bool:
            self.info.setText(f"Cannot read this file: {error_text(exc)}")
            return False

        return self.w.tasks.start(work, f"Reading {Path(text).name}", on_done=done, on_error=failed)

    def isComplete(self) -> bool:
        return self.loaded is not None and self.loaded == self.path.text().strip()


class GazetteerPage(QWizardPage):
    def __init__(self, wizard: "ImportWizard") -> None:
        super().__init__()
        from gis_desk.settings import get_setting

        self.w = wizard
        self.task = None
        self.setTitle("UPRN gazetteer")
        self.setSubTitle("The gazetteer gives each UPRN its location. Use a store imported before, or import "
                         "OS Open UPRN (a free CSV download) once: it takes a few minutes for Great Britain.")
        self.use_existing = QRadioButton("Use an existing gazetteer store (a folder)")
        self.use_import = QRadioButton("Import an OS Open UPRN CSV into a new store")
        group = QButtonGroup(self)
        group.addButton(self.use_existing)
        group.addButton(self.use_import)
        self.store = QLineEdit(str(get_setting(SETTING_STORE, "") or ""))
        self.store.setPlaceholderText("e.g. D:/gis/osopenuprn.uprn")
        self.store_info = QLabel()
        self.store_info.setWordWrap(True)
        self.csv = QLineEdit()
        self.csv.setPlaceholderText("osopenuprn_202501.csv")
        self.new_store = QLineEdit()
        self.new_store.setPlaceholderText("folder to create, e.g. D:/gis/osopenuprn.uprn")
        self.import_button = QPushButton("Import gazetteer")
        self.cancel_button = QPushButton("Cancel import")
        self.cancel_button.setEnabled(False)
        self.progress = QProgressBar()
        self.progress.setRange(0, 100)
        self.progress.setVisible(False)
        self.import_info = QLabel()
        self.import_info.setWordWrap(True)

        existing = QWidget()
        existing_form = QFormLayout(existing)
        existing_form.addRow("Store folder", _path_row(self.store, self.browse_store))
        existing_form.addRow("", self.store_info)
        importing = QWidget()
        import_form = QFormLayout(importing)
        import_form.addRow("OS Open UPRN CSV", _path_row(self.csv, self.browse_csv))
        import_form.addRow("New store folder", _path_row(self.new_store, self.browse_new_store))
        buttons = QHBoxLayout()
        buttons.addWidget(self.import_button)
        buttons.addWidget(self.cancel_button)
        buttons.addStretch(1)
        import_form.addRow("", buttons)
        import_form.addRow("", self.progress)
        import_form.addRow("", self.import_info)
        self.existing_widget, self.import_widget = existing, importing
        layout = QVBoxLayout(self)
        layout.addWidget(self.use_existing)
        layout.addWidget(existing)
        layout.addWidget(self.use_import)
        layout.addWidget(importing)
        layout.addStretch(1)

        self.use_existing.toggled.connect(self._mode_changed)
        self.store.textChanged.connect(self.check_store)
        self.csv.textChanged.connect(self._suggest_store_name)
        self.import_button.clicked.connect(self.start_import)
        self.cancel_button.clicked.connect(self.cancel_import)
        self.w.tasks.task_done.connect(self._task_finished)
        self.use_existing.setChecked(True)
        self.check_store()

    def _mode_changed(self, *_args) -> None:
        self.existing_widget.setEnabled(self.use_existing.isChecked())
        self.import_widget.setEnabled(self.use_import.isChecked() or self.task is not None)

    def browse_store(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Gazetteer store folder", self.store.text())
        if path:
            self.store.setText(path)

    def browse_csv(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "OS Open UPRN CSV", self.csv.text(),
                                              "CSV (*.csv *.txt);;All files (*)")
        if path:
            self.csv.setText(path)

    def browse_new_store(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "New gazetteer store folder", self.new_store.text())
        if path:
            self.new_store.setText(path)

    def _suggest_store_name(self, text: str) -> None:
        if text.strip() and not self.new_store.text().strip():
            source = Path(text.strip())
            self.new_store.setText(str(source.with_name(source.stem + ".uprn")))

    def check_store(self, *_args) -> bool:
        """Open the store named in the box (instant: memory-mapped); show what it holds."""
        from gis_desk.core.crs import crs_id
        from gis_desk.io.gazetteer import Gazetteer

        text = self.store.text().strip()
        self.w.gazetteer = None
        if not text:
            self.store_info.setText("Choose the folder of a gazetteer store, or import one below.")
        else:
            try:
                gazetteer = Gazetteer.open(text)
            except GisDeskError as exc:
                self.store_info.setText(f"Not usable: {error_text(exc)}")
            else:
                self.w.gazetteer = gazetteer
                source = Path(str(gazetteer.meta.get("source") or "")).name or "unknown source"
                imported = str(gazetteer.meta.get("imported") or "")[:10]
                self.store_info.setText(f"{len(gazetteer):,} UPRNs in {crs_id(gazetteer.crs)}, imported "
                                        f"{imported or 'at an unknown date'} from {source}.")
        self.completeChanged.emit()
        return self.w.gazetteer is not None

    def start_import(self):
        from gis_desk.io.gazetteer import import_gazetteer

        csv_path, store = self.csv.text().strip(), self.new_store.text().strip()
        if not csv_path or not store or self.task is not None:
            self.import_info.setText("Choose the CSV and the folder for the new store.")
            return None
        self.progress.setVisible(True)
        self.progress.setValue(0)
        self.import_info.setText("Importing… you can keep working; the map stays usable.")
        self.task = self.w.tasks.start(lambda fb: import_gazetteer(csv_path, store, fb),
                                       f"Importing gazetteer {Path(csv_path).name}", on_done=self._imported,
                                       on_error=self._import_failed)
        self.task.signals.progress.connect(lambda p: self.progress.setValue(int(p)))
        self.import_button.setEnabled(False)
        self.cancel_button.setEnabled(True)
        self.completeChanged.emit()
        return self.task

    def cancel_import(self) -> None:
        if self.task is not None:
            self.task.cancel()

    def _imported(self, stats) -> None:
        self.import_info.setText(stats.summary_text())
        self.use_existing.setChecked(True)
        self.store.setText(stats.store)

    def _import_failed(self, exc) -> bool:
        self.import_info.setText(f"The import failed: {error_text(exc)}")
        return False

    def _task_finished(self, task) -> None:
        if task is self.task:
            self.task = None
            self.progress.setVisible(False)
            self.import_button.setEnabled(True)
            self.cancel_button.setEnabled(False)
            if task.state == "canceled":
                self.import_info.setText("Import cancelled; nothing was written.")
            self._mode_changed()
            self.completeChanged.emit()

    def isComplete(self) -> bool:
        return self.task is None and self.w.gazetteer is not None

    def validatePage(self) -> bool:
        from gis_desk.settings import set_setting

        if self.w.gazetteer is None:
            return False
        set_setting(SETTING_STORE, str(self.w.gazetteer.path))
        return True


class ColumnsPage(QWizardPage):
    def __init__(self, wizard: "ImportWizard") -> None:
        super().__init__()
        self.w = wizard
        self.setTitle("Columns")
        self.setSubTitle("Check the UPRN column. Identifier columns are replaced by pseudonyms made with your own "
                         "key; tick the columns to leave out of the layer (names, dates of birth, addresses).")
        self.uprn = QComboBox()
        self.uprn_note = QLabel()
        self.uprn_note.setStyleSheet("color: #555;")
        self.identifiers = QLabel()
        self.identifiers.setWordWrap(True)
        self.drop = QListWidget()
        self.drop.setMinimumHeight(90)
        self.model = FrameModel(max_rows=20)
        self.table = frame_view(self.model, min_height=150)
        uprn_row = QHBoxLayout()
        uprn_row.addWidget(self.uprn)
        uprn_row.addWidget(self.uprn_note, 1)
        top = QWidget()
        form = QFormLayout(top)
        form.setContentsMargins(0, 0, 0, 0)
        form.addRow("UPRN column", uprn_row)
        form.addRow("Will be pseudonymised", self.identifiers)
        drop_box = QGroupBox("Leave out of the layer")
        QVBoxLayout(drop_box).addWidget(self.drop)
        preview_box = QGroupBox("First rows of the file (identifiers masked)")
        QVBoxLayout(preview_box).addWidget(self.table)
        splitter = QSplitter(Qt.Orientation.Vertical)
        splitter.addWidget(drop_box)
        splitter.addWidget(preview_box)
        splitter.setSizes([120, 220])
        layout = QVBoxLayout(self)
        layout.addWidget(top)
        layout.addWidget(splitter, 1)
        self.uprn.currentIndexChanged.connect(self._uprn_changed)

    def initializePage(self) -> None:
        frame, found = self.w.preview, self.w.found
        ids = found["identifiers"]
        self.uprn.blockSignals(True)
        self.uprn.clear()
        self.uprn.addItem("(choose the column holding UPRNs)", None)
        for column in frame.columns:
            self.uprn.addItem(column, column)
        if found["uprn_column"]:
            self.uprn.setCurrentIndex(self.uprn.findData(found["uprn_column"]))
        self.uprn.blockSignals(False)
        self.identifiers.setText(
            "<br>".join(f"<b>{c}</b>: {k.upper()} numbers → keyed pseudonyms (p_…)" for c, k in ids.items())
            or "No CHI or NHS number columns found.")
        self.drop.clear()
        for column in frame.columns:
            if column in ids:
                continue
            item = QListWidgetItem(column + ("   (looks personal)" if column in found["personal"] else ""))
            item.setData(Qt.ItemDataRole.UserRole, column)
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(Qt.CheckState.Checked if column in found["personal"] else Qt.CheckState.Unchecked)
            self.drop.addItem(item)
        self.model.set_frame(frame, masked=ids)
        self.model.highlight = {c: "#fff3cd" for c in ids}
        fit_columns(self.table)
        self._uprn_changed()

    def uprn_column(self) -> str | None:
        return self.uprn.currentData()

    def drop_columns(self) -> list[str]:
        out = []
        for i in range(self.drop.count()):
            item = self.drop.item(i)
            column = item.data(Qt.ItemDataRole.UserRole)
            if item.checkState() == Qt.CheckState.Checked and column != self.uprn_column():
                out.append(column)
        return out

    def set_dropped(self, columns) -> None:
        wanted = set(columns)
        for i in range(self.drop.count()):
            item = self.drop.item(i)
            item.setCheckState(Qt.CheckState.Checked if item.data(Qt.ItemDataRole.UserRole) in wanted
                               else Qt.CheckState.Unchecked)

    def _uprn_changed(self, *_args) -> None:
        from gis_desk.analysis.uprn import uprn_likeness

        column = self.uprn_column()
        found = self.w.found or {}
        if column is None:
            self.uprn_note.setText("")
        else:
            share = uprn_likeness(self.w.preview[column])
            how = {"name": "found by its name", "content": "found by its values"}.get(found.get("found_by"), "")
            how = how if column == found.get("uprn_column") else "chosen by you"
            self.uprn_note.setText(f"{how}; {share:.0%} of the first rows are valid UPRNs")
        for i in range(self.drop.count()):  # the UPRN column is the join key: it cannot be left out
            item = self.drop.item(i)
            item.setHidden(item.data(Qt.ItemDataRole.UserRole) == column)
        self.model.highlight = {c: "#fff3cd" for c in found.get("identifiers", {})}
        if column is not None:
            self.model.highlight[column] = "#dbeafe"
        self.model.layoutChanged.emit()
        self.completeChanged.emit()

    def isComplete(self) -> bool:
        return self.uprn_column() is not None


class ReportPage(QWizardPage):
    def __init__(self, wizard: "ImportWizard") -> None:
        super().__init__()
        self.w = wizard
        self.task = None
        self.setTitle("Match report")
        self.setSubTitle("How the records matched the gazetteer. Rows that did not match stay in the layer "
                         "without a location; fix them at source and import again.")
        self.progress = QProgressBar()
        self.progress.setRange(0, 100)
        self.cancel_button = QPushButton("Cancel import")
        self.cancel_button.clicked.connect(self.cancel)
        self.status = QLabel()
        self.status.setWordWrap(True)
        self.counts: dict[str, QLabel] = {}
        grid_box = QGroupBox("Records")
        grid = QGridLayout(grid_box)
        rows = [("total", "Records in the file", "#222"), ("matched", "Placed on the map (matched)", "#1a7f37"),
                ("unmatched", "Valid UPRN not in the gazetteer", "#b35900"),
                ("invalid", "No usable UPRN", "#b00020"), ("invalid_kinds", "  of which", "#555"),
                ("recovered", "UPRNs repaired from spreadsheet damage", "#222"),
                ("duplicates", "Rows sharing a UPRN (all kept)", "#222")]
        for i, (key, text, color) in enumerate(rows):
            label = QLabel(text)
            value = QLabel("–")
            value.setStyleSheet(f"color: {color}; font-weight: bold;")
            value.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            grid.addWidget(label, i, 0)
            grid.addWidget(value, i, 1)
            self.counts[key] = value
        grid.setColumnStretch(1, 1)
        self.identifiers = QLabel()
        self.identifiers.setWordWrap(True)
        id_box = QGroupBox("Personal identifiers")
        QVBoxLayout(id_box).addWidget(self.identifiers)
        self.model = FrameModel(max_rows=1000)
        self.model.highlight = {"problem": "#fde2e1"}
        self.table = frame_view(self.model, min_height=140)
        self.export_button = QPushButton("Export unmatched rows…")
        self.export_button.setEnabled(False)
        self.export_button.clicked.connect(self.export_unmatched)
        table_box = QGroupBox("Unmatched and invalid rows (pseudonymised)")
        table_layout = QVBoxLayout(table_box)
        table_layout.addWidget(self.table)
        export_row = QHBoxLayout()
        export_row.addStretch(1)
        export_row.addWidget(self.export_button)
        table_layout.addLayout(export_row)
        run_row = QHBoxLayout()
        run_row.addWidget(self.progress, 1)
        run_row.addWidget(self.cancel_button)
        top = QHBoxLayout()
        top.addWidget(grid_box, 1)
        top.addWidget(id_box, 1)
        layout = QVBoxLayout(self)
        layout.addLayout(run_row)
        layout.addWidget(self.status)
        layout.addLayout(top)
        layout.addWidget(table_box, 1)
        self.w.tasks.task_done.connect(self._task_finished)

    def initializePage(self) -> None:
        self.start()

    def cleanupPage(self) -> None:  # going Back: stop a running import, forget the result
        self.cancel()
        self.w.dataset = self.w.report = None

    def start(self):
        from gis_desk.io.records import import_records

        if self.task is not None:
            return None
        self.w.dataset = self.w.report = None
        path = self.w.records_page.loaded
        gazetteer = self.w.gazetteer
        column, drop = self.w.columns_page.uprn_column(), self.w.columns_page.drop_columns()
        for value in self.counts.values():
            value.setText("–")
        self.model.set_frame(None)
        self.identifiers.setText("")
        self.export_button.setEnabled(False)
        self.progress.setVisible(True)
        self.progress.setValue(0)
        self.cancel_button.setVisible(True)
        self.status.setText(f"Importing {Path(path).name}…")
        self.task = self.w.tasks.start(
            lambda fb: import_records(path, gazetteer, uprn_column=column, pseudonymise=True, drop_columns=drop,
                                      feedback=fb),
            f"Importing records {Path(path).name}", on_done=self._imported, on_error=self._failed)
        self.task.signals.progress.connect(lambda p: self.progress.setValue(int(p)))
        self.completeChanged.emit()
        return self.task

    def cancel(self) -> None:
        if self.task is not None:
            self.task.cancel()

    def _failed(self, exc) -> bool:
        self.status.setText(f"The import failed: {error_text(exc)} Go Back to change the choices.")
        return False

    def _task_finished(self, task) -> None:
        if task is self.task:
            self.task = None
            self.progress.setVisible(False)
            self.cancel_button.setVisible(False)
            if task.state == "canceled":
                self.status.setText("Import cancelled. Go Back to change the choices, or Cancel.")
            self.completeChanged.emit()

    def _imported(self, out) -> None:
        dataset, report = out
        self.w.dataset, self.w.report = dataset, report
        self.show_report(report)
        self.completeChanged.emit()

    def show_report(self, report) -> None:
        total = report.total_rows

        def pct(n: int) -> str:
            return f"{n:,}  ({100.0 * n / total:.1f}%)" if total else f"{n:,}"

        c = self.counts
        c["total"].setText(f"{total:,}")
        c["matched"].setText(pct(report.matched))
        c["unmatched"].setText(pct(report.unmatched))
        c["invalid"].setText(pct(report.invalid))
        kinds = [f"{_STATUS_LABELS.get(s, s)}: {n:,}" for s, n in report.invalid_by_status.items() if n]
        c["invalid_kinds"].setText("; ".join(kinds) or "none")
        c["recovered"].setText(f"{report.recovered:,}")
        c["duplicates"].setText(f"{report.duplicate_rows:,} rows at {report.duplicate_uprns:,} UPRN(s)")
        lines = []
        for col in report.identifiers.get("columns", []):
            problems = [f"{n:,} {s.replace('_', ' ')}" for s, n in col["status_counts"].items()
                        if n and s not in ("valid", "blank")]
            lines.append(f"<b>{col['column']}</b> ({col['kind'].upper()} numbers, pseudonymised): "
                         f"{col['valid']:,} valid, {col['invalid']:,} invalid, {col['blank']:,} blank"
                         + (f" — {', '.join(problems)}" if problems else ""))
        if report.dropped_columns:
            lines.append(f"Left out: {', '.join(report.dropped_columns)}")
        kept_personal = [c for c in report.suggested_personal_columns if c not in report.dropped_columns]
        if kept_personal:
            lines.append(f"<span style='color:#b35900'>Kept although they look personal: "
                         f"{', '.join(kept_personal)}</span>")
        self.identifiers.setText("<br>".join(lines) or "No CHI or NHS numbers in this file.")
        rows = report.unmatched_rows
        self.model.set_frame(rows)
        if rows is not None and len(rows):
            fit_columns(self.table)
        self.export_button.setEnabled(rows is not None and len(rows) > 0)
        self.status.setText(f"{report.matched:,} of {total:,} records will be placed on the map. Press Finish to "
                            "add the layer.")

    def export_unmatched(self, path: str | None = None):
        """Write the unmatched and invalid rows (pseudonymised) as CSV in the background."""
        report = self.w.report
        if report is None:
            return None
        if path is None:
            start = str(Path(report.source).with_name(Path(report.source).stem + "_unmatched.csv"))
            path, _ = QFileDialog.getSaveFileName(self, "Export unmatched rows", start, "CSV (*.csv)")
            if not path:
                return None
        target = path

        def done(written) -> None:
            self.status.setText(f"Unmatched rows written to {written}")

        return self.w.tasks.start(lambda fb: report.write_unmatched(target), f"Writing {Path(target).name}",
                                  on_done=done)

    def isComplete(self) -> bool:
        return self.task is None and self.w.dataset is not None


class ImportWizard(QWizard):
    """The records import.  ``session``: where Finish adds the layer; ``tasks``: the window's
    ``TaskManager``.  After Finish ``layer`` is the layer added."""

    def __init__(self, session, tasks, presenter=None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session, self.tasks, self.presenter = session, tasks, presenter
        self.preview = None
        self.found: dict[str, Any] | None = None
        self.gazetteer = None
        self.dataset = None
        self.report = None
        self.layer = None
        self.setWindowTitle("Import council records by UPRN")
        self.setWizardStyle(QWizard.WizardStyle.ClassicStyle)
        self.setOption(QWizard.WizardOption.NoBackButtonOnLastPage, False)
        self.resize(900, 680)
        self.records_page = RecordsPage(self)
        self.gazetteer_page = GazetteerPage(self)
        self.columns_page = ColumnsPage(self)
        self.report_page = ReportPage(self)
        for page in (self.records_page, self.gazetteer_page, self.columns_page, self.report_page):
            self.addPage(page)
        self.setButtonText(QWizard.WizardButton.FinishButton, "Add layer")

    def accept(self) -> None:
        if self.dataset is None:
            return
        name = f"{Path(self.dataset.source.path).stem} (records by UPRN)"
        self.layer = self.session.layer_for(self.dataset, name=name,
                                            style=SingleSymbolStyle(symbol=Symbol(**vars(RECORD_SYMBOL))))
        self.session.add_layers([self.layer])
        super().accept()

    def reject(self) -> None:
        for page in (self.gazetteer_page, self.report_page):
            page.cancel_import() if page is self.gazetteer_page else page.cancel()
        super().reject()
