"""The Planning dock: applications, site review (footage, photos, notes), constraints, committee packs.

Contributed through the plugin manifest as a widget.  It works through the session it is given
and, for drawing a site boundary, through the map canvas's public extension points
(``register_tool``, ``set_tool``) when the host window has a canvas.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QImage, QPixmap
from PySide6.QtWidgets import (QComboBox, QFileDialog, QFormLayout, QHBoxLayout, QLabel, QLineEdit,
                               QListWidget, QListWidgetItem, QPlainTextEdit, QPushButton, QSlider, QTableWidget,
                               QTableWidgetItem, QTabWidget, QVBoxLayout, QWidget)

from gis_desk.errors import GisDeskError
from gis_desk.plugin_api.panels import follow_layers, select_row

from gis_desk_planning.applications import STATUSES, PlanningRegister, import_applications, status_style
from gis_desk_planning.review import SiteMedia, site_media

COLUMNS = ["Reference", "Address", "Status", "Committee", "Boundary"]
ALL_DATES = "All applications"


class PlanningPanel(QWidget):
    def __init__(self, session, parent=None) -> None:
        super().__init__(parent)
        self.session = session
        self.window = parent
        self.register: PlanningRegister | None = None
        self.layer = None
        self.media = SiteMedia()
        self._refs: list[str] = []
        self._reader = None
        self._reader_path = None
        self._footage = None  # the footage layer being reviewed
        self.current_time = 0.0

        self.message = QLabel("Open a planning register, or import applications (CSV, GeoPackage, GeoJSON).")
        self.message.setWordWrap(True)
        open_btn = QPushButton("Open register…")
        open_btn.clicked.connect(self._choose_register)
        import_btn = QPushButton("Import applications…")
        import_btn.clicked.connect(self._choose_import)
        top = QHBoxLayout()
        top.addWidget(open_btn)
        top.addWidget(import_btn)
        self.committee = QComboBox()
        self.committee.currentIndexChanged.connect(self.refresh_table)
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.setSelectionBehavior(QTableWidget.SelectionBehavior.SelectRows)
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.itemSelectionChanged.connect(self._application_changed)

        self.tabs = QTabWidget()
        self.tabs.addTab(self._details_tab(), "Details")
        self.tabs.addTab(self._review_tab(), "Site review")
        self.tabs.addTab(self._constraints_tab(), "Constraints")
        pack = QPushButton("Committee pack…")
        pack.setToolTip("PDF for this application, or for every application on the chosen committee date, "
                        "plus an offline bundle of the clips")
        pack.clicked.connect(self._choose_pack_folder)

        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.message)
        row = QHBoxLayout()
        row.addWidget(QLabel("Committee"))
        row.addWidget(self.committee, 1)
        layout.addLayout(row)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.tabs, 2)
        layout.addWidget(pack)
        self._timer = QTimer(self)
        self._timer.timeout.connect(self._tick)
        # a store saved in the project (or added from Add Data) is picked up by the panel
        follow_layers(session, "planning.read_register", self._adopt, self._forget)

    # -- tabs ------------------------------------------------------------------------------------
    def _details_tab(self) -> QWidget:
        w = QWidget()
        form = QFormLayout(w)
        self.proposal = QPlainTextEdit()
        self.proposal.setMaximumHeight(60)
        self.status_combo = QComboBox()
        self.status_combo.addItems(list(STATUSES))
        self.decision = QLineEdit()
        self.committee_date = QLineEdit()
        self.committee_date.setPlaceholderText("YYYY-MM-DD")
        save = QPushButton("Save details")
        save.clicked.connect(self.save_details)
        draw = QPushButton("Draw site boundary on the map")
        draw.setToolTip("Click the corners; double-click or right-click to finish; Esc to start again")
        draw.clicked.connect(self.start_boundary)
        form.addRow("Proposal", self.proposal)
        form.addRow("Status", self.status_combo)
        form.addRow("Decision", self.decision)
        form.addRow("Committee date", self.committee_date)
        form.addRow(save)
        form.addRow(draw)
        self._detail_widgets = (self.proposal, self.status_combo, self.decision, self.committee_date, save, draw)
        self._enable_details(False)
        return w

    def _enable_details(self, on: bool) -> None:
        for widget in self._detail_widgets:
            widget.setEnabled(on)

    def _review_tab(self) -> QWidget:
        w = QWidget()
        v = QVBoxLayout(w)
        self.media_list = QListWidget()
        self.media_list.setMaximumHeight(100)
        self.media_list.currentItemChanged.connect(self._media_chosen)
        self.viewer = QLabel("Footage and photos of the site appear here")
        self.viewer.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.viewer.setMinimumHeight(160)
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.valueChanged.connect(lambda v: self.show_time(v / 1000.0, from_slider=True))
        self.play_button = QPushButton("Play")
        self.play_button.clicked.connect(self.toggle_play)
        self.time_label = QLabel("")
        self.note = QLineEdit()
        self.note.setPlaceholderText("note for a bookmark or key frame caption")
        mark = QPushButton("Bookmark")
        mark.clicked.connect(self.bookmark)
        key = QPushButton("Use as key frame")
        key.clicked.connect(self.add_key_frame)
        controls = QHBoxLayout()
        for x in (self.play_button, self.slider, self.time_label):
            controls.addWidget(x)
        marks = QHBoxLayout()
        for x in (self.note, mark, key):
            marks.addWidget(x)
        self.notes_list = QListWidget()
        self.notes_list.setMaximumHeight(80)
        self.new_note = QPlainTextEdit()
        self.new_note.setMaximumHeight(50)
        add_note = QPushButton("Add officer note")
        add_note.clicked.connect(self.add_note)
        v.addWidget(QLabel("Site footage and photos"))
        v.addWidget(self.media_list)
        v.addWidget(self.viewer, 1)
        v.addLayout(controls)
        v.addLayout(marks)
        v.addWidget(QLabel("Officer notes"))
        v.addWidget(self.notes_list)
        v.addWidget(self.new_note)
        v.addWidget(add_note)
        return w

    def _constraints_tab(self) -> QWidget:
        w = QWidget()
        v = QVBoxLayout(w)
        self.designations = QListWidget()
        self.designations.setToolTip("Tick the designation layers to check (conservation areas, listed buildings…)")
        check = QPushButton("Check constraints")
        check.clicked.connect(self.check_constraints)
        self.constraints = QListWidget()
        v.addWidget(QLabel("Designation layers"))
        v.addWidget(self.designations)
        v.addWidget(check)
        v.addWidget(self.constraints, 1)
        return w

    # -- register --------------------------------------------------------------------------------
    def _choose_register(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open planning register", "", "Planning register (*.planning.gpkg)")
        if path:
            self.open_register(path)

    def _choose_import(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Import planning applications", "",
                                              "Applications (*.csv *.xlsx *.gpkg *.geojson *.json)")
        if not path:
            return
        target, _ = QFileDialog.getSaveFileName(self, "Save the register as", str(Path(path).with_suffix("")),
                                                "Planning register (*.planning.gpkg)")
        if target:
            self.import_applications(path, target, gazetteer=self._gazetteer())

    @staticmethod
    def _gazetteer():
        """The gazetteer the user imported for council records (issue 3), if any."""
        from gis_desk.settings import get_setting

        store = get_setting("uprn_gazetteer_store")
        if not store:
            return None
        try:
            from gis_desk.io.gazetteer import Gazetteer

            return Gazetteer.open(store)
        except GisDeskError:
            return None

    def import_applications(self, path, target, gazetteer=None) -> bool:
        try:
            frame, report = import_applications(path, gazetteer=gazetteer)
            register = PlanningRegister.create(target, frame)
        except GisDeskError as exc:
            self.message.setText(f"Not imported: {exc}")
            return False
        self.open_register(register.path)
        self.message.setText(" ".join(report.lines()))
        return True

    def open_register(self, path) -> bool:
        try:
            opened = PlanningRegister.open(path)
            [dataset] = self.session.read(path, reader="planning.read_register")
        except GisDeskError as exc:
            self.message.setText(f"Not opened: {exc}")
            return False
        for layer in list(self.session.project.layers):  # reopening replaces the old layer
            if layer.source and Path(layer.source.path) == Path(path).resolve():
                self.session.project.layers.remove(layer)
        self.register = opened
        self.layer = self.session.layer_for(dataset, name="Planning applications")
        self.layer.style = status_style()
        self.session.add_layers([self.layer])
        self.message.setText(f"{len(self.register.applications):,} applications.")
        self._fill_committees()
        self._fill_designations()
        return True

    def _adopt(self, layer) -> None:
        source = layer.source
        if self.register is not None or layer is self.layer:
            return
        try:
            self.register = PlanningRegister.open(source.path)
        except GisDeskError as exc:
            self.message.setText(f"Not opened: {exc}")
            return
        self.layer = layer
        self.message.setText(f"{len(self.register.applications):,} applications in {Path(source.path).name}.")
        self._fill_committees()
        self._fill_designations()

    def _forget(self, layer) -> None:
        if layer is self.layer:
            self.layer, self.register = None, None

    def _fill_committees(self) -> None:
        dates = sorted(d for d in self.register.applications["committee_date"].unique() if d)
        self.committee.blockSignals(True)
        self.committee.clear()
        self.committee.addItem(ALL_DATES)
        self.committee.addItems(dates)
        self.committee.blockSignals(False)
        self.refresh_table()

    def _fill_designations(self) -> None:
        from gis_desk.core.layer import VectorLayer

        self.designations.clear()
        for layer in self.session.project.layers:
            if isinstance(layer, VectorLayer) and layer is not self.layer and type(layer) is VectorLayer:
                item = QListWidgetItem(layer.name)
                item.setData(Qt.ItemDataRole.UserRole, layer.id)
                item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
                item.setCheckState(Qt.CheckState.Unchecked)
                self.designations.addItem(item)

    def refresh_table(self, *_) -> None:
        if self.register is None:
            return
        apps = self.register.applications
        date = self.committee.currentText()
        if date and date != ALL_DATES:
            apps = apps[apps["committee_date"] == date]
        self._refs = apps["reference"].tolist()
        self.table.setRowCount(len(apps))
        for r, (_, a) in enumerate(apps.iterrows()):
            boundary = "drawn" if a.geometry is not None and a.geometry.geom_type.endswith("Polygon") else (
                "point only" if a.geometry is not None else "not placed")
            for c, v in enumerate((a["reference"], a["address"], a["status"], a["committee_date"], boundary)):
                self.table.setItem(r, c, QTableWidgetItem(str(v)))

    def current_reference(self) -> str | None:
        rows = self.table.selectionModel().selectedRows() if self.table.selectionModel() else []
        return self._refs[rows[0].row()] if rows else None

    def select(self, reference: str) -> None:
        select_row(self.table, self._refs.index(reference))

    def _application_changed(self) -> None:
        ref = self.current_reference()
        self._enable_details(ref is not None and self.register is not None)
        if ref is None or self.register is None:
            return
        a = self.register.applications.iloc[self.register.row(ref)]
        self.proposal.setPlainText(str(a["proposal"]))
        self.status_combo.setCurrentText(str(a["status"]))
        self.decision.setText(str(a["decision"] or ""))
        self.committee_date.setText(str(a["committee_date"] or ""))
        self._show_notes(ref)
        self._list_media(a.geometry)
        if a.geometry is not None:
            b = a.geometry.buffer(80).bounds
            self.session.project.view_extent = b

    def save_details(self) -> bool:
        ref = self.current_reference()
        if ref is None:
            return False
        try:
            self.register.update(ref, proposal=self.proposal.toPlainText().strip(),
                                 status=self.status_combo.currentText(), decision=self.decision.text().strip(),
                                 committee_date=self.committee_date.text().strip())
            self.register.save()
        except (GisDeskError, ValueError) as exc:
            self.message.setText(f"Not saved: {exc}")
            return False
        self._reload(ref)
        self.message.setText(f"Saved {ref}.")
        return True

    def _reload(self, ref: str | None) -> None:
        [dataset] = self.session.read(self.register.path, reader="planning.read_register")
        self.layer.dataset = dataset
        current = self.committee.currentText()
        self._fill_committees()
        if current in [self.committee.itemText(i) for i in range(self.committee.count())]:
            self.committee.setCurrentText(current)
        if ref in self._refs:
            self.select(ref)
            self._application_changed()

    # -- boundary drawing --------------------------------------------------------------------------
    def start_boundary(self) -> bool:
        canvas = getattr(self.window, "canvas", None)
        if canvas is None or self.current_reference() is None:
            self.message.setText("Choose an application, in a window with a map, to draw its boundary.")
            return False
        from gis_desk_planning.boundary_tool import BoundaryTool

        tool = BoundaryTool(canvas, self.set_boundary_from_vertices)
        canvas.register_tool(tool)
        canvas.set_tool(tool.name)
        self.message.setText("Click the corners of the site; double-click to finish.")
        return True

    def set_boundary_from_vertices(self, vertices) -> bool:
        from shapely.geometry import Polygon

        ref = self.current_reference()
        if ref is None or len(vertices) < 3:
            self.message.setText("A site boundary needs at least three corners.")
            return False
        try:
            self.register.set_boundary(ref, Polygon(vertices))
            self.register.save()
        except GisDeskError as exc:
            self.message.setText(f"Boundary not saved: {exc}")
            return False
        self._reload(ref)
        self.message.setText(f"Site boundary of {ref} saved ({Polygon(vertices).area:,.0f} m²).")
        return True

    # -- review ------------------------------------------------------------------------------------
    def _list_media(self, site) -> None:
        self.media_list.clear()
        self.media = site_media(self.session.project.layers, site)
        for layer, intervals in self.media.footage:
            for iv in intervals:
                item = QListWidgetItem(f"Footage {Path(layer.video_path or layer.name).name}: "
                                       f"{iv.start_s:.1f}-{iv.end_s:.1f} s over the site")
                item.setData(Qt.ItemDataRole.UserRole, ("footage", layer, iv.start_s))
                self.media_list.addItem(item)
        for layer, hit in self.media.photos:
            item = QListWidgetItem(f"Photo {hit.name} ({hit.distance_m:.0f} m)")
            item.setData(Qt.ItemDataRole.UserRole, ("photo", layer, hit.path))
            self.media_list.addItem(item)
        if self.media_list.count() == 0:
            self.viewer.setText("No footage or photos of this site in the project")

    def _media_chosen(self, item, _previous=None) -> None:
        if item is None:
            return
        kind, layer, value = item.data(Qt.ItemDataRole.UserRole)
        if kind == "photo":
            self._set_image(QImage(str(value)))
            self._footage = None
        else:
            self.open_footage(layer, value)

    def open_footage(self, layer, time_s: float) -> bool:
        from gis_desk.io.video import VideoReader

        if not layer.video_path:
            self.message.setText(f"{layer.name} has no video linked")
            return False
        try:
            if self._reader is None or self._reader_path != layer.video_path:
                self._reader = VideoReader(layer.video_path)
                self._reader_path = layer.video_path
        except GisDeskError as exc:
            self.message.setText(f"The video cannot be played: {exc}")
            return False
        self._footage = layer
        self.slider.blockSignals(True)
        self.slider.setRange(0, int(self._reader.duration_s * 1000))
        self.slider.blockSignals(False)
        self.show_time(time_s)
        return True

    def show_time(self, t: float, from_slider: bool = False) -> None:
        if self._reader is None or self._footage is None:
            return
        t = min(max(0.0, t), max(0.0, self._reader.duration_s - 1e-3))
        index, rgb = self._reader.frame_at_time(t)
        self.current_time = self._reader.time_of(index)
        rgb = np.ascontiguousarray(rgb)
        h, w, _ = rgb.shape
        self._set_image(QImage(rgb.data, w, h, 3 * w, QImage.Format.Format_RGB888).copy())
        self.time_label.setText(f"{self.current_time:6.2f} s")
        if not from_slider:
            self.slider.blockSignals(True)
            self.slider.setValue(int(self.current_time * 1000))
            self.slider.blockSignals(False)

    def _set_image(self, image: QImage) -> None:
        pix = QPixmap.fromImage(image)
        self.viewer.setPixmap(pix.scaled(max(self.viewer.width(), 320), max(self.viewer.height(), 180),
                                         Qt.AspectRatioMode.KeepAspectRatio,
                                         Qt.TransformationMode.SmoothTransformation))

    def toggle_play(self) -> None:
        if self._timer.isActive():
            self._timer.stop()
            self.play_button.setText("Play")
        elif self._reader is not None:
            self._timer.start(int(1000 / max(self._reader.fps, 1)))
            self.play_button.setText("Pause")

    def _tick(self) -> None:
        if self._reader is None:
            self._timer.stop()
            return
        nxt = self.current_time + 1.0 / self._reader.fps
        if nxt >= self._reader.duration_s:
            self.toggle_play()
            return
        self.show_time(nxt)

    def bookmark(self) -> bool:
        if self._footage is None:
            return False
        self._footage.add_bookmark(self.current_time, self.note.text().strip() or "site")
        self.message.setText(f"Bookmarked {self.current_time:.1f} s of {Path(self._footage.video_path).name}.")
        return True

    def add_key_frame(self) -> bool:
        ref = self.current_reference()
        if self._footage is None or ref is None:
            return False
        pos = self._footage.position_at(self.current_time)
        self.register.add_key_frame(ref, self._footage.video_path, self.current_time,
                                    self.note.text().strip() or f"{self.current_time:.1f} s", pos["x"], pos["y"])
        self.register.save()
        self.message.setText(f"Key frame at {self.current_time:.1f} s added to {ref}.")
        return True

    def _show_notes(self, ref: str) -> None:
        self.notes_list.clear()
        for r in self.register.notes_for(ref).itertuples():
            self.notes_list.addItem(f"{r.written_at} {r.author}: {r.text}")

    def add_note(self) -> bool:
        ref = self.current_reference()
        if ref is None:
            return False
        try:
            self.register.add_note(ref, self.new_note.toPlainText())
            self.register.save()
        except GisDeskError as exc:
            self.message.setText(f"Note not added: {exc}")
            return False
        self.new_note.clear()
        self._show_notes(ref)
        return True

    # -- constraints --------------------------------------------------------------------------------
    def chosen_designations(self) -> dict:
        ids = {self.designations.item(i).data(Qt.ItemDataRole.UserRole) for i in range(self.designations.count())
               if self.designations.item(i).checkState() == Qt.CheckState.Checked}
        return {la.name: la.dataset.frame for la in self.session.project.layers if la.id in ids}

    def check_constraints(self) -> list[str]:
        from gis_desk_planning.applications import check_constraints

        ref = self.current_reference()
        self.constraints.clear()
        if ref is None:
            return []
        site = self.register.applications.geometry.iloc[self.register.row(ref)]
        if site is None:
            self.constraints.addItem("The application has no site on the map yet.")
            return []
        hits = check_constraints(site, self.chosen_designations())
        lines = [f"{h.layer}: {h.feature}, {h.relation}" for h in hits] or ["No designations meet the site."]
        self.constraints.addItems(lines)
        return lines

    # -- committee pack ------------------------------------------------------------------------------
    def _choose_pack_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Save the committee pack in")
        if folder:
            self.make_pack(folder)

    def make_pack(self, folder, *, whole_committee: bool | None = None):
        """Committee pack PDF and clip bundle in ``folder``: the chosen committee's applications
        when one is chosen in the list, else the current application."""
        from gis_desk_planning.committee import build_clip_bundle, build_committee_pack
        from gis_desk_planning.review import clip_bookmarks, pack_entry

        if self.register is None:
            return None
        date = self.committee.currentText()
        whole = (date != ALL_DATES) if whole_committee is None else whole_committee
        refs = list(self._refs) if whole else [r for r in [self.current_reference()] if r]
        if not refs:
            self.message.setText("Choose an application, or a committee date, first.")
            return None
        folder = Path(folder)
        work = Path(tempfile.mkdtemp(prefix="gis-desk-pack-"))
        try:
            entries = [pack_entry(self.register, r, self.session.project.layers, work,
                                  designations=self.chosen_designations()) for r in refs]
            name = f"committee_{date}" if whole else "".join(c if c.isalnum() else "_" for c in refs[0])
            pdf = build_committee_pack(entries, folder / f"{name}.pdf",
                                       title=f"Planning committee {date}" if whole else f"Application {refs[0]}",
                                       council=str(self.session.project.title or ""))
            medias = [site_media(self.session.project.layers, e.application.geometry) for e in entries]
            clips = clip_bookmarks(medias)
            bundle = build_clip_bundle(entries, clips, folder / f"{name}_bundle.zip", pdf) if clips else None
        except GisDeskError as exc:
            self.message.setText(f"No committee pack: {exc}")
            return None
        self.message.setText(f"Committee pack written: {pdf.name}" + (f" and {bundle.name}" if bundle else
                                                                       " (no clips of these sites)"))
        return pdf, bundle


def planning_panel(session, parent=None) -> PlanningPanel:
    """Widget contribution ``planning.panel``."""
    return PlanningPanel(session, parent)

