"""The export dialog: no export without a policy; exports are logged with the project."""

from __future__ import annotations

import numpy as np
import pytest

from gis_desk.qt.uprn.export_dialog import ExportDialog, ExportSource

from uprn_gui_helpers import grab


@pytest.fixture
def counts_by_area():
    """Six 100 m squares with record counts 0, 3, 12, 25, 8, 40 (two small ones: 3 and 8)."""
    import geopandas as gpd
    from shapely.geometry import box

    counts = [0, 3, 12, 25, 8, 40]
    return gpd.GeoDataFrame({"area_code": [f"E0100000{i}" for i in range(6)], "count": np.array(counts, np.int64),
                             "rate": np.array(counts) / 100.0},
                            geometry=[box(380_000 + 150 * i, 395_000, 380_100 + 150 * i, 395_100) for i in range(6)],
                            crs="EPSG:27700")


def _dialog(qtbot, session, tasks, source):
    dialog = ExportDialog(session, tasks, None, source)
    qtbot.addWidget(dialog)
    dialog.show()
    return dialog


def test_no_export_without_a_policy(qtbot, session, tasks, counts_by_area, tmp_path):
    source = ExportSource(title="Care packages per area", name="packages_by_area", frame=counts_by_area,
                          count_columns=["count"], derived_columns=["rate"])
    dialog = _dialog(qtbot, session, tasks, source)
    target = tmp_path / "packages.gpkg"
    dialog.set_format("gpkg")
    dialog.path.setText(str(target))
    assert dialog.policy.policy() is None
    assert not dialog.export_button.isEnabled()
    assert dialog.export() is None
    assert "disclosure policy" in dialog.status.text()
    dialog.policy.set_kind(dialog.policy.NONE)  # "not about people" needs a reason too
    assert dialog.export() is None and "not about people" in dialog.status.text()
    qtbot.wait(50)
    assert not target.exists() and session.project.export_log == []


def test_geopackage_export_suppresses_small_counts_and_is_logged(qtbot, session, tasks, counts_by_area, tmp_path):
    import pyogrio

    source = ExportSource(title="Care packages per area", name="packages_by_area", frame=counts_by_area,
                          count_columns=["count"], derived_columns=["rate"])
    dialog = _dialog(qtbot, session, tasks, source)
    target = tmp_path / "packages.gpkg"
    dialog.set_format("gpkg")
    dialog.path.setText(str(target))
    dialog.policy.set_kind(dialog.policy.THRESHOLD, k=10)
    assert dialog.count_columns() == ["count"]
    assert dialog.export_button.isEnabled()
    session.project.mark_dirty(False)
    assert dialog.export() is not None
    qtbot.waitUntil(lambda: dialog.task is None, timeout=20000)
    assert target.exists()
    log = session.project.export_log
    assert len(log) == 1 and log[0].policy == "Threshold k=10" and log[0].where == str(target)
    assert session.project.dirty
    written = pyogrio.read_dataframe(target, layer="packages_by_area")
    published = written["count"].tolist()
    assert published[0] == 0 and published[3] == 25 and published[5] == 40
    assert np.isnan(published[1]) and np.isnan(published[4])  # 3 and 8 are below k = 10
    assert "layer_styles" in [str(n) for n in pyogrio.list_layers(target)[:, 0]]
    html = dialog.result_view.toPlainText()
    assert "Threshold k=10" in html and "suppressed" in html and "export log" in html
    grab(dialog, tmp_path / "export_dialog.png")

    # the log is saved with the project
    saved = session.save(tmp_path / "project.gdesk")
    from gis_desk.session import Session

    again = Session()
    again.load(saved)
    assert [r.policy for r in again.project.export_log] == ["Threshold k=10"]


def test_records_are_never_exported_under_a_policy(qtbot, session, tasks, counts_by_area, tmp_path):
    source = ExportSource(title="Records", name="records", frame=counts_by_area.drop(columns=["count"]))
    dialog = _dialog(qtbot, session, tasks, source)
    dialog.set_format("csv")
    dialog.path.setText(str(tmp_path / "records.csv"))
    dialog.policy.set_kind(dialog.policy.NHS)
    assert dialog.export() is None
    assert "individual records are never exported" in dialog.status.text()


def test_heatmap_exports_as_a_masked_cog(qtbot, session, tasks, tmp_path):
    import rasterio

    from gis_desk.analysis.kde import kde
    from gis_desk.core.style import RasterStyle

    xy = np.vstack([np.random.default_rng(3).uniform(-100, 100, (40, 2)) + 380_000, [[383_000.0, 383_000.0]]])
    result = kde(xy, 300, 50, crs="EPSG:27700", return_counts=True)
    source = ExportSource(title="Heat map", name="heatmap", heatmap=result,
                          heatmap_style=RasterStyle(mode="singleband", ramp="YlOrRd"))
    dialog = _dialog(qtbot, session, tasks, source)
    assert dialog.format_key() == "cog"
    dialog.path.setText(str(tmp_path / "heat.tif"))
    dialog.policy.set_kind(dialog.policy.NHS)
    dialog.export()
    qtbot.waitUntil(lambda: dialog.task is None, timeout=20000)
    with rasterio.open(tmp_path / "heat.tif") as ds:
        values = ds.read(1, masked=True)
    assert not np.ma.getmaskarray(values)[(result.counts >= 8)].any()
    assert np.ma.getmaskarray(values)[(result.counts > 0) & (result.counts < 8)].all()
    assert "left blank" in dialog.result_view.toPlainText()
    assert session.project.export_log[-1].policy == "NHS Digital"
