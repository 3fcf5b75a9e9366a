"""The deprivation panel: join an IMD/SIMD/IoD table to small-area boundaries, map it by decile
or quintile, and summarise council records by deprivation decile.

- "Join" loads the table (``load_deprivation_table``) and joins it to the chosen boundary layer
  (``join_deprivation``) in the background, then shows the ``JoinReport`` (matched and unmatched
  codes, vintage warnings).  The joined boundaries are written to the project's cache folder
  as a GeoPackage and added as a layer styled with ``deprivation_style`` (1 = most deprived,
  darkest).  Changing decile/quintile restyles that layer.
- "Summarise" counts a record point layer per area (``aggregate_points``) and totals the
  counts by decile (``summarise_by_decile``) with the share of records in the most deprived
  20% of areas (``share_in_most_deprived``).  The counts shown are raw; they leave the program
  only through the export dialog, under a disclosure policy.
"""

from __future__ import annotations

import math
import uuid

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (QComboBox, QFileDialog, QFormLayout, QGroupBox, QHBoxLayout, QLabel, QLineEdit,
                               QProgressBar, QPushButton, QToolButton, QVBoxLayout, QWidget)

from gis_desk.qt.uprn.common import (compact_combo, error_text, fit_columns, frame_view, FrameModel,
                                     install_scrolling_body, is_point_layer, is_polygon_layer, LayerCombo,
                                     project_cache_dir, safe_name)

SUMMARY_HEADINGS = {"areas": "Areas", "area_share": "% of areas", "count": "Records", "share": "% of records",
                    "cumulative_share": "Cumulative %"}
TABLE_FILTER = "Deprivation tables (*.csv *.txt *.xlsx *.xlsm *.xls *.ods);;All files (*)"


def _percent(value) -> str:
    try:
        value = float(value)
    except (TypeError, ValueError):
        return ""
    return "" if math.isnan(value) else f"{100 * value:.1f}%"


class DeprivationPanel(QWidget):
    """Dock contents.  ``layer_id``: the joined deprivation layer once made; ``join_report``,
    ``summary`` (DataFrame), ``areas_with_counts`` (GeoDataFrame), ``most_deprived_share``
    (0..1) after the steps that make them."""

    def __init__(self, session, tasks, presenter=None, open_export=None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session, self.tasks, self.presenter = session, tasks, presenter
        self.open_export = open_export
        self.task = None
        self.layer_id: str | None = None
        self.join_report = None
        self.summary = None
        self.areas_with_counts = None
        self.aggregate_report = None
        self.most_deprived_share: float | None = None
        project = session.project

        self.table_path = QLineEdit()
        self.table_path.setPlaceholderText("e.g. File_1_-_IMD2019_Index_of_Multiple_Deprivation.csv")
        browse = QToolButton()
        browse.setText("…")
        browse.setToolTip("Choose the deprivation table")
        browse.clicked.connect(self.browse_table)
        path_row = QHBoxLayout()
        path_row.setContentsMargins(0, 0, 0, 0)
        path_row.addWidget(self.table_path, 1)
        path_row.addWidget(browse)
        self.index = compact_combo(QComboBox())
        self.index.addItem("Detect from the file", None)
        from gis_desk.io.deprivation import GEOGRAPHY_LABELS, INDEXES

        for key, info in INDEXES.items():
            self.index.addItem(f"{info.label} ({GEOGRAPHY_LABELS.get(info.geography, info.geography)})", key)
        self.boundaries = LayerCombo(project, is_polygon_layer, "(add LSOA or data zone boundaries)")
        self.code_column = compact_combo(QComboBox())
        self.groups = compact_combo(QComboBox())
        self.groups.addItem("Deciles (10 groups)", "decile")
        self.groups.addItem("Quintiles (5 groups)", "quintile")
        self.join_button = QPushButton("Join and map")
        self.progress = QProgressBar()
        self.progress.setRange(0, 0)
        self.progress.setVisible(False)
        self.join_info = QLabel("Load the table published for the same areas as your boundaries: IMD 2019 for "
                                "2011 LSOAs, IoD2025 for 2021 LSOAs, SIMD 2020 for 2011 data zones.")
        self.join_info.setWordWrap(True)
        self.join_info.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        join_box = QGroupBox("Deprivation index")
        join_form = QFormLayout(join_box)
        path_widget = QWidget()
        path_widget.setLayout(path_row)
        join_form.addRow("Table", path_widget)
        join_form.addRow("Index", self.index)
        join_form.addRow("Boundaries", self.boundaries)
        join_form.addRow("Area code field", self.code_column)
        join_form.addRow("Map by", self.groups)
        join_form.addRow("", self.join_button)
        join_form.addRow(self.join_info)

        self.records = LayerCombo(project, is_point_layer, "(import council records first)")
        self.summarise_button = QPushButton("Summary by decile")
        self.headline = QLabel()
        self.headline.setWordWrap(True)
        self.headline.setStyleSheet("font-weight: bold;")
        self.summary_model = FrameModel(formats={SUMMARY_HEADINGS[c]: _percent
                                                 for c in ("share", "cumulative_share", "area_share")})
        self.summary_view = frame_view(self.summary_model, min_height=160)
        self.summary_view.verticalHeader().setVisible(False)
        self.summary_info = QLabel()
        self.summary_info.setWordWrap(True)
        self.summary_info.setStyleSheet("color: #555;")
        self.export_summary_button = QPushButton("Export summary…")
        self.export_areas_button = QPushButton("Export areas with counts…")
        self.export_layer_button = QPushButton("Export deprivation map…")
        for b in (self.export_summary_button, self.export_areas_button, self.export_layer_button):
            b.setEnabled(False)
        summary_box = QGroupBox("Records by deprivation")
        summary_layout = QVBoxLayout(summary_box)
        form = QFormLayout()
        form.addRow("Record layer", self.records)
        summary_layout.addLayout(form)
        summary_layout.addWidget(self.summarise_button)
        summary_layout.addWidget(self.headline)
        summary_layout.addWidget(self.summary_view, 1)
        summary_layout.addWidget(self.summary_info)
        export_row = QHBoxLayout()
        export_row.addWidget(self.export_summary_button)
        export_row.addWidget(self.export_areas_button)
        summary_layout.addLayout(export_row)
        summary_layout.addWidget(self.export_layer_button)

        inner = QWidget()
        layout = QVBoxLayout(inner)
        layout.addWidget(join_box)
        layout.addWidget(self.progress)
        layout.addWidget(summary_box, 1)
        install_scrolling_body(self, inner)

        self.boundaries.currentIndexChanged.connect(self._boundaries_changed)
        self.join_button.clicked.connect(self.join)
        self.groups.currentIndexChanged.connect(self._groups_changed)
        self.summarise_button.clicked.connect(self.summarise)
        self.export_summary_button.clicked.connect(self.export_summary)
        self.export_areas_button.clicked.connect(self.export_areas)
        self.export_layer_button.clicked.connect(self.export_layer)
        self.records.currentIndexChanged.connect(lambda *_: self._update_buttons())
        self.tasks.task_done.connect(self._task_finished)
        self._boundaries_changed()

    # -- state ----------------------------------------------------------------------------------
    def deprivation_layer(self):
        if self.layer_id is None:
            return None
        try:
            return self.session.project.layer_by_id(self.layer_id)
        except KeyError:
            return None

    def browse_table(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Deprivation table", self.table_path.text(), TABLE_FILTER)
        if path:
            self.table_path.setText(path)

    def _boundaries_changed(self, *_args) -> None:
        self.code_column.clear()
        self.code_column.addItem("Detect (LSOA11CD, LSOA21CD, DataZone…)", None)
        layer = self.boundaries.layer()
        if layer is not None:
            frame = layer.dataset.frame
            for name in layer.dataset.fields:
                if frame[name].dtype.kind in "OSU" or str(frame[name].dtype) == "string":
                    self.code_column.addItem(name, name)
        self._update_buttons()

    def _update_buttons(self) -> None:
        busy = self.task is not None
        self.join_button.setEnabled(not busy and self.boundaries.layer() is not None)
        self.summarise_button.setEnabled(not busy and self.deprivation_layer() is not None
                                         and self.records.layer() is not None)
        exporting = self.open_export is not None and not busy
        self.export_summary_button.setEnabled(exporting and self.summary is not None)
        self.export_areas_button.setEnabled(exporting and self.areas_with_counts is not None)
        self.export_layer_button.setEnabled(exporting and self.deprivation_layer() is not None)

    def _start(self, fn, title: str, on_done):
        self.progress.setVisible(True)
        self.task = self.tasks.start(fn, title, on_done=on_done)
        self._update_buttons()
        return self.task

    def _task_finished(self, task) -> None:
        if task is self.task:
            self.task = None
            self.progress.setVisible(False)
            if task.state == "failed":
                self.join_info.setText(f"<span style='color:#b00020'>Failed: "
                                       f"{error_text(task.error)}</span>")
            self._update_buttons()

    # -- join -----------------------------------------------------------------------------------
    def join(self):
        """Load the table and join it to the boundaries in the background; the joined layer is
        added (or replaced) when done.  Returns the task, or None when something is missing."""
        from gis_desk.io.deprivation import join_deprivation, load_deprivation_table
        from gis_desk.io.vector import write_vector

        boundaries = self.boundaries.layer()
        table_path = self.table_path.text().strip()
        if boundaries is None or self.task is not None:
            return None
        if not table_path:
            self.join_info.setText("<span style='color:#b00020'>Choose the deprivation table file.</span>")
            return None
        index, code_column = self.index.currentData(), self.code_column.currentData()
        target = project_cache_dir(self.session.project) / (
            f"deprivation-{safe_name(boundaries.name)}-{uuid.uuid4().hex[:8]}.gpkg")
        frame = boundaries.dataset.frame
        session = self.session

        def work(feedback):
            table = load_deprivation_table(table_path, index=index)
            feedback.set_progress(40)
            joined, report = join_deprivation(frame, table, area_code_column=code_column)
            feedback.set_progress(70)
            write_vector(joined, target, layer="deprivation")
            dataset = session.read(target)[0]
            return dataset, report

        self.join_info.setText("Joining…")
        return self._start(work, f"Joining deprivation to {boundaries.name}",
                           lambda out: self._joined(boundaries, *out))

    def _joined(self, boundaries, dataset, report) -> None:
        self.join_report = report
        style = self._style(dataset.frame)
        layer = self.deprivation_layer()
        name = f"{boundaries.name} — {report.index_label} {self.groups.currentData()}s"
        if layer is None:
            layer = self.session.layer_for(dataset, name=name, style=style)
            self.session.add_layers([layer])
            self.layer_id = layer.id
        else:
            layer.dataset = dataset
            layer.name = name
            layer.style = style
        self.join_info.setText(self.report_html(report))
        self._update_buttons()

    def _style(self, frame):
        from gis_desk.io.deprivation import deprivation_style

        return deprivation_style(frame, "IMD_decile", groups=self.groups.currentData())

    def _groups_changed(self, *_args) -> None:
        layer = self.deprivation_layer()
        if layer is None:
            return
        try:
            layer.style = self._style(layer.dataset.frame)
        except Exception as exc:  # noqa: BLE001 - shown, the layer keeps its style
            if self.presenter is not None:
                self.presenter.report(exc, context="Deprivation style")
            return
        if self.join_report is not None:
            layer.name = f"{layer.name.split(' — ')[0]} — {self.join_report.index_label} {self.groups.currentData()}s"

    @staticmethod
    def report_html(report) -> str:
        lines = [f"<b>{report.index_label}</b>: {report.matched_features:,} of {report.boundary_features:,} "
                 f"area(s) matched by <code>{report.area_code_column}</code>."]
        if report.unmatched_boundary_codes:
            codes = ", ".join(report.unmatched_boundary_codes[:8])
            more = f" and {len(report.unmatched_boundary_codes) - 8} more" if len(report.unmatched_boundary_codes) > 8 else ""
            lines.append(f"<span style='color:#b35900'>Not in the table ({len(report.unmatched_boundary_codes)}): "
                         f"{codes}{more}. They are shown grey.</span>")
        else:
            lines.append("Every area has a deprivation decile.")
        lines.append(f"{len(report.table_codes_without_boundary):,} table row(s) are for areas outside these "
                     "boundaries (normal for one council).")
        for warning in report.warnings:
            lines.append(f"<span style='color:#b35900'>⚠ {warning}</span>")
        return "<br>".join(lines)

    # -- summary by decile ----------------------------------------------------------------------
    def summarise(self):
        """Count the record layer per area and total by decile (background task)."""
        from gis_desk.analysis.aggregate import aggregate_points, share_in_most_deprived, summarise_by_decile

        records, layer = self.records.layer(), self.deprivation_layer()
        if records is None or layer is None or self.task is not None:
            return None
        points, areas = records.dataset.frame, layer.dataset.frame
        area_id = self.join_report.area_code_column if self.join_report is not None else None
        quintile = self.groups.currentData() == "quintile"
        field, n = ("IMD_quintile", 5) if quintile else ("IMD_decile", 10)

        def work(feedback):
            with_counts, report = aggregate_points(points, areas, area_id=area_id)
            feedback.set_progress(60)
            table = summarise_by_decile(with_counts, field, "count", n_classes=n)
            share = share_in_most_deprived(with_counts, 0.2, field, "count", n_classes=n)
            return with_counts, report, table, share

        return self._start(work, f"Summarising {records.name} by deprivation",
                           lambda out: self._summarised(records, *out))

    def _summarised(self, records, with_counts, report, table, share) -> None:
        self.areas_with_counts, self.aggregate_report, self.summary = with_counts, report, table
        self.most_deprived_share = share
        self.summary_records_name = records.name
        group = "quintile" if self.groups.currentData() == "quintile" else "decile"
        shown = table.rename(columns={"decile": group.capitalize(), **SUMMARY_HEADINGS})
        self.summary_model.set_frame(shown)
        fit_columns(self.summary_view)
        which = "quintile 1" if group == "quintile" else "deciles 1–2"
        self.headline.setText(f"{_percent(share) or 'No'} of the records placed in these areas are in the most "
                              f"deprived 20% of areas ({which}).")
        self.summary_info.setText(" · ".join(report.lines()) + ". Counts are raw: exports apply a disclosure "
                                  "policy.")
        self._update_buttons()

    # -- export ---------------------------------------------------------------------------------
    def export_summary(self):
        from gis_desk.qt.uprn.export_dialog import ExportSource

        if self.summary is None or self.open_export is None:
            return None
        name = f"{safe_name(self.summary_records_name)}_by_decile"
        source = ExportSource(title=f"Records of '{self.summary_records_name}' by deprivation decile "
                                    f"({self.join_report.index_label if self.join_report else ''})",
                              name=name, frame=self.summary, count_columns=["count"],
                              derived_columns=["share", "cumulative_share"])
        return self.open_export(source)

    def export_areas(self):
        from gis_desk.qt.uprn.export_dialog import ExportSource

        if self.areas_with_counts is None or self.open_export is None:
            return None
        layer = self.deprivation_layer()
        source = ExportSource(title=f"Records of '{self.summary_records_name}' counted per area",
                              name=f"{safe_name(self.summary_records_name)}_by_area", frame=self.areas_with_counts,
                              layer=layer, count_columns=["count"])
        return self.open_export(source)

    def export_layer(self):
        from gis_desk.qt.uprn.export_dialog import ExportSource

        layer = self.deprivation_layer()
        if layer is None or self.open_export is None:
            return None
        label = self.join_report.index_label if self.join_report else "deprivation index"
        source = ExportSource(title=f"{layer.name}: boundaries with {label} ranks and deciles (public data)",
                              name=safe_name(layer.name), layer=layer, about_people=False,
                              public_reason=f"public {label} ranks and deciles on published boundaries")
        return self.open_export(source)
