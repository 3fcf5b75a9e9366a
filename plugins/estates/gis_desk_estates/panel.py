"""The Estates dock: property register, status and lease views, condition surveys, brochures.

Contributed through the plugin manifest as a widget; it talks to the app only through the
session it is given (project layers, styles, selection, view extent), like any plugin.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from PySide6.QtCore import QDate, Qt
from PySide6.QtWidgets import (QCheckBox, QComboBox, QDateEdit, QDoubleSpinBox, QFileDialog, QFormLayout,
                               QGroupBox, QHBoxLayout, QLabel, QLineEdit, QListWidget, QListWidgetItem,
                               QPlainTextEdit, QPushButton, QSpinBox, QTableWidget, QTableWidgetItem,
                               QVBoxLayout, QWidget)

from gis_desk.errors import GisDeskError
from gis_desk.plugin_api.panels import follow_layers, select_row

from gis_desk_estates.portfolio import (GRADES, ConditionSurvey, Portfolio, filter_mask, lease_expiry_days,
                                        status_style)
from gis_desk_estates.register import STATUS_LABELS, STATUSES

COLUMNS = ["Code", "Name", "Status", "Lease expiry", "Days", "Condition", "Placed"]


class EstatesPanel(QWidget):
    def __init__(self, session, parent=None) -> None:
        super().__init__(parent)
        self.session = session
        self.portfolio: Portfolio | None = None
        self.layer = None
        self._codes: list[str] = []

        self.message = QLabel("Open an estates portfolio, or import the council's asset register.")
        self.message.setWordWrap(True)
        open_btn = QPushButton("Open portfolio…")
        open_btn.clicked.connect(self._choose_portfolio)
        import_btn = QPushButton("Import register…")
        import_btn.clicked.connect(self._choose_register)
        top = QHBoxLayout()
        top.addWidget(open_btn)
        top.addWidget(import_btn)

        self.status_boxes = {s: QCheckBox(STATUS_LABELS[s]) for s in STATUSES}
        filters = QGroupBox("Show")
        grid = QVBoxLayout(filters)
        row = QHBoxLayout()
        for i, box in enumerate(self.status_boxes.values()):
            box.setChecked(True)
            box.toggled.connect(self.apply_filters)
            row.addWidget(box)
            if i == 2:
                grid.addLayout(row)
                row = QHBoxLayout()
        grid.addLayout(row)
        self.expiring = QCheckBox("Leases expiring within")
        self.expiring_months = QSpinBox()
        self.expiring_months.setRange(1, 120)
        self.expiring_months.setValue(12)
        self.expiring_months.setSuffix(" months")
        self.disposal = QCheckBox("Disposal candidates (vacant or for sale)")
        for w in (self.expiring, self.disposal):
            w.toggled.connect(self.apply_filters)
        self.expiring_months.valueChanged.connect(self.apply_filters)
        lease_row = QHBoxLayout()
        lease_row.addWidget(self.expiring)
        lease_row.addWidget(self.expiring_months)
        lease_row.addStretch(1)
        grid.addLayout(lease_row)
        grid.addWidget(self.disposal)

        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.setSelectionBehavior(QTableWidget.SelectionBehavior.SelectRows)
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.itemSelectionChanged.connect(self._selection_changed)
        self.table.doubleClicked.connect(lambda *_: self.zoom_to_current())
        self.count = QLabel()

        # status and lease of the current property
        self.status_combo = QComboBox()
        for s in STATUSES:
            self.status_combo.addItem(STATUS_LABELS[s], s)
        self.lease_date = QDateEdit(calendarPopup=True)
        self.lease_date.setDisplayFormat("yyyy-MM-dd")
        self.has_lease = QCheckBox("Lease ends")
        self.tenant = QLineEdit()
        self.price = QDoubleSpinBox(maximum=1e10, decimals=0, prefix="£", singleStep=1000)
        self.rent = QDoubleSpinBox(maximum=1e9, decimals=0, prefix="£", suffix=" pa", singleStep=500)
        save_status = QPushButton("Save status")
        save_status.clicked.connect(self.save_status)
        status_box = QGroupBox("Status and lease")
        form = QFormLayout(status_box)
        form.addRow("Status", self.status_combo)
        lease = QHBoxLayout()
        lease.addWidget(self.has_lease)
        lease.addWidget(self.lease_date)
        form.addRow(lease)
        form.addRow("Tenant", self.tenant)
        form.addRow("Guide price", self.price)
        form.addRow("Rent", self.rent)
        form.addRow(save_status)

        # condition surveys
        self.grade = QComboBox()
        for g, text in GRADES.items():
            self.grade.addItem(f"{g}: {text.split(':')[0]}", g)
        self.survey_date = QDateEdit(QDate.currentDate(), calendarPopup=True)
        self.survey_date.setDisplayFormat("yyyy-MM-dd")
        self.surveyor = QLineEdit()
        self.notes = QPlainTextEdit()
        self.notes.setMaximumHeight(60)
        self.comparison = QLineEdit()
        self.comparison.setPlaceholderText("folder of a point-cloud comparison (optional)")
        self.media = QListWidget()
        self.media.setMaximumHeight(90)
        add_survey = QPushButton("Add condition survey")
        add_survey.clicked.connect(self.add_survey)
        self.history = QListWidget()
        self.history.setMaximumHeight(90)
        survey_box = QGroupBox("Condition")
        sform = QFormLayout(survey_box)
        sform.addRow("Grade", self.grade)
        sform.addRow("Date", self.survey_date)
        sform.addRow("Surveyor", self.surveyor)
        sform.addRow("Notes", self.notes)
        sform.addRow("Photos nearby", self.media)
        sform.addRow("Comparison", self.comparison)
        sform.addRow(add_survey)
        sform.addRow("History", self.history)

        brochure = QPushButton("Brochure and bundle…")
        brochure.setToolTip("Sale or lease particulars PDF with a location map and the ticked drone photos, "
                            "plus a zip to share offline")
        brochure.clicked.connect(self._choose_brochure_folder)

        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.message)
        layout.addWidget(filters)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.count)
        layout.addWidget(status_box)
        layout.addWidget(survey_box)
        layout.addWidget(brochure)
        self._set_detail_enabled(False)
        # a store saved in the project (or added from Add Data) is picked up by the panel
        follow_layers(session, "estates.read_portfolio", self._adopt, self._forget)

    # -- opening ---------------------------------------------------------------------------------
    def _choose_portfolio(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open estates portfolio", "", "Estates portfolio (*.estates.gpkg)")
        if path:
            self.open_portfolio(path)

    def _choose_register(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Import asset register", "", "Tables (*.csv *.xlsx)")
        if not path:
            return
        target, _ = QFileDialog.getSaveFileName(self, "Save the portfolio as", str(Path(path).with_suffix("")),
                                                "Estates portfolio (*.estates.gpkg)")
        if target:
            self.import_register(path, target)

    def import_register(self, csv_path: str | Path, target: str | Path, gazetteer=None) -> bool:
        from gis_desk_estates.register import import_register

        try:
            frame, report = import_register(csv_path, gazetteer=gazetteer, area_bounds=self._area_bounds())
            portfolio = Portfolio.create(target, frame, report)
        except GisDeskError as exc:
            self.message.setText(f"Not imported: {exc}")
            return False
        self.open_portfolio(portfolio.path)
        self.message.setText(" ".join(report.lines()))
        return True

    def _area_bounds(self):
        """The extent of the project's area layers (LSOAs, boundaries) to flag strays; None if none."""
        for layer in self.session.project.layers:
            name = (layer.name or "").lower()
            if any(k in name for k in ("lsoa", "boundary", "ward", "data zone")) and layer.bounds:
                return layer.bounds
        return None

    def open_portfolio(self, path: str | Path) -> bool:
        try:
            opened = Portfolio.open(path)
            [dataset] = self.session.read(path, reader="estates.read_portfolio")
        except GisDeskError as exc:
            self.message.setText(f"Not opened: {exc}")
            return False
        for layer in list(self.session.project.layers):  # reopening replaces the old layer
            if layer.source and Path(layer.source.path) == Path(path).resolve():
                self.session.project.layers.remove(layer)
        self.portfolio = opened
        self.layer = self.session.layer_for(dataset, name="Council property")
        self.layer.style = status_style()
        self.session.add_layers([self.layer])
        r = self.portfolio.report
        self.message.setText(f"{len(self.portfolio.properties):,} properties ({len(dataset.frame):,} on the map)"
                             + (f"; {len(r.get('unplaced', [])):,} unplaced: see the table" if r else ""))
        self.apply_filters()
        return True

    def _adopt(self, layer) -> None:
        source = layer.source
        if self.portfolio is not None or layer is self.layer:
            return
        try:
            self.portfolio = Portfolio.open(source.path)
        except GisDeskError as exc:
            self.message.setText(f"Not opened: {exc}")
            return
        self.layer = layer
        self.message.setText(f"{len(self.portfolio.properties):,} properties in {Path(source.path).name}.")
        self.apply_filters()

    def _forget(self, layer) -> None:
        if layer is self.layer:
            self.layer, self.portfolio = None, None

    # -- filters -----------------------------------------------------------------------------------
    def statuses(self) -> list[str]:
        return [s for s, box in self.status_boxes.items() if box.isChecked()]

    def apply_filters(self, *_) -> None:
        if self.portfolio is None:
            return
        props = self.portfolio.properties
        mask = filter_mask(props, statuses=self.statuses(),
                           expiring_within_days=int(self.expiring_months.value() * 30.44) if self.expiring.isChecked() else None,
                           disposal=self.disposal.isChecked())
        shown = props[mask]
        days = lease_expiry_days(shown)
        grades = self.portfolio.latest_grades()
        self._codes = shown["asset_code"].tolist()
        self.table.setSortingEnabled(False)
        self.table.setRowCount(len(shown))
        for r, (i, row) in enumerate(shown.iterrows()):
            values = [row["asset_code"], row["name"], STATUS_LABELS.get(row["status"], row["status"]),
                      row["lease_expiry"], "" if days.isna()[i] else f"{int(days[i])}",
                      grades.get(row["asset_code"], ""), "yes" if row.geometry is not None else "no"]
            for c, v in enumerate(values):
                self.table.setItem(r, c, QTableWidgetItem(str(v)))
        self.count.setText(f"{len(shown):,} of {len(props):,} properties shown")
        if self.layer is not None:  # the map follows: hidden statuses, matching rows selected
            self.layer.style = status_style(self.statuses())
            on_map = self.layer.dataset.frame["asset_code"].isin(self._codes).to_numpy()
            filtered = self.expiring.isChecked() or self.disposal.isChecked()
            self.layer.selection = frozenset(int(i) for i in on_map.nonzero()[0]) if filtered else frozenset()

    # -- the current property ------------------------------------------------------------------------
    def current_code(self) -> str | None:
        rows = self.table.selectionModel().selectedRows() if self.table.selectionModel() else []
        return self._codes[rows[0].row()] if rows else None

    def select(self, code: str) -> None:
        select_row(self.table, self._codes.index(code))

    def _set_detail_enabled(self, on: bool) -> None:
        for w in (self.status_combo, self.lease_date, self.has_lease, self.tenant, self.price, self.rent,
                  self.grade, self.survey_date, self.surveyor, self.notes, self.comparison):
            w.setEnabled(on)

    def _selection_changed(self) -> None:
        code = self.current_code()
        self._set_detail_enabled(code is not None)
        if code is None or self.portfolio is None:
            return
        row = self.portfolio.properties.iloc[self.portfolio.row(code)]
        self.status_combo.setCurrentIndex(STATUSES.index(row["status"]) if row["status"] in STATUSES else 0)
        expiry = QDate.fromString(str(row["lease_expiry"]), "yyyy-MM-dd")
        self.has_lease.setChecked(expiry.isValid())
        self.lease_date.setDate(expiry if expiry.isValid() else QDate.currentDate().addYears(5))
        self.tenant.setText(str(row["tenant"] or ""))
        self.price.setValue(float(row["asking_price"]) if row["asking_price"] == row["asking_price"] else 0)
        self.rent.setValue(float(row["annual_rent"]) if row["annual_rent"] == row["annual_rent"] else 0)
        self.history.clear()
        for _, s in self.portfolio.history(code).iterrows():
            self.history.addItem(f"{s['survey_date']}  grade {s['grade']}  {s['surveyor']}: {s['notes']}"
                                 + (f"  [{len(s['photos'])} photos]" if s["photos"] else ""))
        self._list_media(row)

    def _list_media(self, row) -> None:
        from gis_desk.analysis.site_media import photos_near
        from gis_desk.core.photos import PhotoLayer

        self.media.clear()
        if row.geometry is None:
            return
        site = row.geometry.buffer(30.0)
        for layer in self.session.project.layers:
            if isinstance(layer, PhotoLayer) and layer.dataset is not None:
                for hit in photos_near(layer.dataset, site, 20.0):
                    item = QListWidgetItem(f"{hit.name} ({hit.distance_m:.0f} m)")
                    item.setData(Qt.ItemDataRole.UserRole, hit.path)
                    item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
                    item.setCheckState(Qt.CheckState.Checked)
                    self.media.addItem(item)

    def checked_media(self) -> list[str]:
        items = [self.media.item(i) for i in range(self.media.count())]
        return [i.data(Qt.ItemDataRole.UserRole) for i in items if i.checkState() == Qt.CheckState.Checked]

    def zoom_to_current(self) -> None:
        code = self.current_code()
        if code is None or self.portfolio is None:
            return
        geom = self.portfolio.properties.geometry.iloc[self.portfolio.row(code)]
        if geom is not None:
            self.session.project.view_extent = (geom.x - 150, geom.y - 100, geom.x + 150, geom.y + 100)

    def save_status(self) -> bool:
        code = self.current_code()
        if code is None:
            return False
        try:
            self.portfolio.set_status(
                code, self.status_combo.currentData(),
                lease_expiry=self.lease_date.date().toString("yyyy-MM-dd") if self.has_lease.isChecked() else "",
                tenant=self.tenant.text().strip(), asking_price=self.price.value() or float("nan"),
                annual_rent=self.rent.value() or float("nan"))
            self.portfolio.save()
        except GisDeskError as exc:
            self.message.setText(f"Not saved: {exc}")
            return False
        self._reload_layer()
        self.message.setText(f"Saved {code}: {STATUS_LABELS[self.status_combo.currentData()]}.")
        return True

    def add_survey(self) -> bool:
        code = self.current_code()
        if code is None:
            return False
        try:
            self.portfolio.add_condition_survey(ConditionSurvey(
                code, self.survey_date.date().toString("yyyy-MM-dd"), self.grade.currentData(),
                self.notes.toPlainText().strip(), self.surveyor.text().strip(), tuple(self.checked_media()),
                self.comparison.text().strip()))
            self.portfolio.save()
        except GisDeskError as exc:
            self.message.setText(f"Survey not added: {exc}")
            return False
        self.notes.clear()
        self._reload_layer()
        self.message.setText(f"Condition survey added for {code}.")
        return True

    def _reload_layer(self) -> None:
        code = self.current_code()
        if self.layer is not None:
            [dataset] = self.session.read(self.portfolio.path, reader="estates.read_portfolio")
            self.layer.dataset = dataset
        self.apply_filters()
        if code in self._codes:
            self.select(code)
        self._selection_changed()  # the same row stays selected: refresh its details anyway

    # -- brochure --------------------------------------------------------------------------------
    def _choose_brochure_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Save the brochure and bundle in")
        if folder:
            self.make_brochure(folder)

    def make_brochure(self, folder: str | Path) -> tuple[Path, Path] | None:
        from gis_desk_estates.brochure import build_brochure, build_bundle, location_map_png

        code = self.current_code()
        if code is None or self.portfolio is None:
            self.message.setText("Choose a property in the table first.")
            return None
        prop = self.portfolio.properties.iloc[self.portfolio.row(code)]
        stills = self.checked_media()
        safe = "".join(ch if ch.isalnum() else "_" for ch in str(prop["name"]))[:60] or "property"
        folder = Path(folder)
        try:
            map_png = None
            if prop.geometry is not None:
                layers = [la for la in self.session.project.layers if la.visible and not la.is_broken]
                map_png = location_map_png(layers, prop.geometry, Path(tempfile.mkdtemp()) / "location.png")
            pdf = build_brochure(prop, folder / f"{safe}.pdf", map_png=map_png, stills=stills,
                                 council=str(self.session.project.title or ""))
            bundle = build_bundle(prop, pdf, stills, folder / f"{safe}_bundle.zip")
        except GisDeskError as exc:
            self.message.setText(f"No brochure: {exc}")
            return None
        self.message.setText(f"Brochure written: {pdf.name} and {bundle.name} ({len(stills)} photos).")
        return pdf, bundle


def estates_panel(session, parent=None) -> EstatesPanel:
    """Widget contribution ``estates.panel``."""
    return EstatesPanel(session, parent)
