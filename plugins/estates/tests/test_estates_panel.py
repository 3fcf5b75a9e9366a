"""The Estates dock as an estates officer uses it, and the app with the plugin disabled."""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QDate
from PySide6.QtWidgets import QDockWidget

from gis_desk_estates.panel import EstatesPanel
from gis_desk_estates.portfolio import Portfolio

REGISTER = Path(__file__).resolve().parents[3] / "sample_surveys" / "trafford" / "trafford_land_and_building_assets.csv"


@pytest.fixture
def panel(qtbot, session, tmp_path):
    widget = EstatesPanel(session)
    qtbot.addWidget(widget)
    assert widget.import_register(REGISTER, tmp_path / "trafford.estates.gpkg")
    return widget


def test_import_shows_the_report_and_a_status_layer(panel, session):
    assert "608 properties read" in panel.message.text() and "235 have neither" in panel.message.text()
    assert panel.table.rowCount() == 608 and panel.count.text() == "608 of 608 properties shown"
    layer = panel.layer
    assert layer in session.project.layers and len(layer.dataset.frame) == 373
    assert layer.style.field == "status" and all(c.visible for c in layer.style.categories)


def test_status_filter_hides_statuses_on_the_map_and_in_the_table(panel):
    for status, box in panel.status_boxes.items():
        box.setChecked(status == "vacant")
    assert panel.table.rowCount() == 187  # TenureDetail "Vacant" rows in the register
    visible = {c.value for c in panel.layer.style.categories if c.visible}
    assert visible == {"vacant"}


def test_officer_lets_a_property_and_the_lease_view_finds_it(panel, qtbot, tmp_path):
    code = "TMBC0003"
    panel.select(code)
    assert panel.current_code() == code and panel.status_combo.isEnabled()
    panel.status_combo.setCurrentIndex(panel.status_combo.findData("to_let"))
    panel.has_lease.setChecked(True)
    panel.lease_date.setDate(QDate.currentDate().addMonths(6))
    panel.rent.setValue(18500)
    assert panel.save_status()

    panel.expiring.setChecked(True)
    assert panel._codes == [code]  # the only lease with an expiry date
    on_map = panel.layer.dataset.frame["asset_code"].to_numpy()
    assert [on_map[i] for i in panel.layer.selection] == [code]
    panel.expiring.setChecked(False)

    for status, box in panel.status_boxes.items():  # "properties to let"
        box.setChecked(status == "to_let")
    assert panel._codes == [code]
    reopened = Portfolio.open(panel.portfolio.path)
    row = reopened.properties.iloc[reopened.row(code)]
    assert row["status"] == "to_let" and row["annual_rent"] == 18500 and row["lease_expiry"]


def test_condition_surveys_keep_their_history(panel):
    code = "TMBC0001/T0000003"
    panel.select(code)
    for grade, note in (("B", "minor slipped slates"), ("C", "gutters failing")):
        panel.grade.setCurrentIndex(panel.grade.findData(grade))
        panel.notes.setPlainText(note)
        assert panel.add_survey()
    assert panel.history.count() == 2 and "grade C" in panel.history.item(1).text()
    frame = panel.layer.dataset.frame.set_index("asset_code")
    assert frame.loc[code, "condition"] == "C"


def test_brochure_with_drone_stills_of_the_property(panel, tmp_path, session):
    from gis_desk.core.crs import transform_xy
    from gis_desk.io.photos import write_dji_jpeg

    code = "TMBC0003"
    panel.select(code)
    panel.status_combo.setCurrentIndex(panel.status_combo.findData("for_sale"))
    panel.price.setValue(1_250_000)
    assert panel.save_status()
    geom = panel.portfolio.properties.geometry.iloc[panel.portfolio.row(code)]
    lon, lat = transform_xy("EPSG:27700", "EPSG:4326", [geom.x - 30], [geom.y - 30])
    photos = tmp_path / "photos"
    photos.mkdir()
    rng = np.random.default_rng(1)
    for i in range(2):
        write_dji_jpeg(photos / f"DJI_000{i}.JPG", rng.integers(0, 255, (300, 400, 3), dtype=np.uint8),
                       lat=float(lat[0]), lon=float(lon[0]), abs_alt=80.0, rel_alt=50.0,
                       gimbal_yaw=45.0, gimbal_pitch=-60.0, focal_35mm=24.0, model="FC7303")
    session.open(photos, reader="builtins.read_photos")  # added to the project
    panel.select("TMBC0001/T0000003")
    panel.select(code)  # the nearby photos are listed when the property is chosen
    assert panel.media.count() == 2
    pdf, bundle = panel.make_brochure(tmp_path)
    assert pdf.exists() and pdf.stat().st_size > 10_000
    with zipfile.ZipFile(bundle) as zf:
        assert {"brochure.pdf", "images/DJI_0000.JPG", "images/DJI_0001.JPG"} <= set(zf.namelist())


def test_brochure_refused_for_a_property_not_on_the_market(panel, tmp_path):
    panel.select("TMBC0001/T0000003")
    assert panel.make_brochure(tmp_path) is None
    assert "not for sale or to let" in panel.message.text()


def test_main_window_has_the_estates_dock_and_runs_without_it(qtbot, monkeypatch):
    from gis_desk.plugin_api.manager import PluginManager
    from gis_desk.qt.main_window import MainWindow
    from gis_desk.session import Session

    def docks(window):
        return [d.windowTitle() for d in window.findChildren(QDockWidget)]

    window = MainWindow(Session())
    qtbot.addWidget(window)
    assert "Estates" in docks(window)
    PluginManager.from_entry_points().set_enabled("estates", False)
    plain = MainWindow(Session())
    qtbot.addWidget(plain)
    assert "Estates" not in docks(plain)
    assert plain.session.plugins.readers_for(Path("x.estates.gpkg"))[0].plugin == "builtins"
    for w in (window, plain):
        w.session.project.mark_dirty(False)
        w.canvas.scheduler.shutdown(wait=True)
