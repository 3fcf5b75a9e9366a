"""Compare epochs from the Point clouds menu: result layers, flagged elements, the results dock
(table, histogram, zoom to an element, 3D), normals orientation, CloudCompare parameters and
the report export.  Synthetic two-epoch scene with known truth (``test_pc_gui_scene``).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from test_pc_gui_scene import X0, Y0, _compare_dialog, epochs, pc, wait_task  # noqa: F401 (fixtures)


def test_compare_adds_change_layers_and_flags_the_sagging_deck(qtbot, pc, epochs, tmp_path, dialogs):
    from gis_desk.core.layer import RasterLayerBase, VectorLayer
    from gis_desk.core.pointcloud import PointCloudLayer

    e1, e2, dialog = _compare_dialog(qtbot, pc, epochs, tmp_path)
    before = len(pc.window.session.project.layers)
    wait_task(qtbot, pc.window, dialog.run(), timeout=120000)
    result = pc.comparison
    assert result is not None
    added = list(pc.window.session.project.layers)[before:]
    kinds = {type(l) for l in added}
    assert PointCloudLayer in kinds and VectorLayer in kinds and any(issubclass(k, RasterLayerBase) for k in kinds)
    change = next(l for l in added if isinstance(l, PointCloudLayer))
    assert change.style.color_by == "m3c2_distance" and change.style.ramp == "RdBu"
    assert Path(change.source.path).name == "m3c2_change.laz"
    zones_layer = next(l for l in added if isinstance(l, VectorLayer))
    assert zones_layer.style.kind == "categorised" and zones_layer.style.field == "status"

    flagged = result.summary()["flagged_zones"]
    assert flagged == ["deck middle"]
    panel = pc.results
    assert panel.table.rowCount() == 3
    rows = panel.flagged_rows()
    assert [panel.table.item(r, 0).text() for r in rows] == ["deck middle"]
    assert not panel.histogram.image().isNull()
    assert pc.results_dock.isVisible()
    # the deck sag is measured: median change in the middle zone is tens of mm downwards
    zones = result.zones.set_index("name")
    assert -0.06 < zones.loc["deck middle", "median_change_m"] < -0.015
    assert abs(zones.loc["abutment west", "median_change_m"]) < 0.005
    for name in ("m3c2_change.laz", "comparison.json", "histogram.png", "zones_change.gpkg"):
        assert (tmp_path / "out" / name).stat().st_size > 0


def test_report_export_uses_last_comparison(qtbot, pc, epochs, tmp_path, dialogs):
    assert pc.export_report(tmp_path / "none.pdf") is None  # nothing compared yet: a notice
    _e1, _e2, dialog = _compare_dialog(qtbot, pc, epochs, tmp_path)
    wait_task(qtbot, pc.window, dialog.run(), timeout=120000)
    try:
        import gis_desk.report.change_report  # noqa: F401
    except ImportError:
        assert pc.export_report(tmp_path / "r.pdf") is None
        assert not (tmp_path / "r.pdf").exists()
        return
    out = tmp_path / "report.pdf"
    wait_task(qtbot, pc.window, pc.export_report(out), timeout=120000)
    assert out.read_bytes()[:5] == b"%PDF-"


def test_normals_orientation_entry(qtbot, pc, epochs, tmp_path, dialogs):
    from gis_desk.errors import ParameterError

    _e1, _e2, dialog = _compare_dialog(qtbot, pc, epochs, tmp_path)
    assert dialog.params().normal_orientation == "up"
    dialog.orientation_mode.setCurrentIndex(dialog.orientation_mode.findData("towards"))
    dialog.orientation_xyz.setText("378820, 392700.5, 50")
    assert dialog.params().normal_orientation == ("towards", (378820.0, 392700.5, 50.0))
    dialog.orientation_mode.setCurrentIndex(dialog.orientation_mode.findData("direction"))
    dialog.orientation_xyz.setText("0 1")
    with pytest.raises(ParameterError):
        dialog.params()
    assert dialog.run() is None and "three numbers" in pc.window.message_bar.text
    dialog.set_orientation((0.0, -1.0, 0.0))
    assert dialog.params().normal_orientation == (0.0, -1.0, 0.0)
    dialog.set_orientation("up")
    assert not dialog.orientation_xyz.isEnabled()


def test_import_cloudcompare_params(qtbot, pc, epochs, tmp_path, dialogs):
    _e1, _e2, dialog = _compare_dialog(qtbot, pc, epochs, tmp_path)
    try:
        from gis_desk.io.m3c2_params import read_cloudcompare_params
    except ImportError:
        assert dialog.import_cloudcompare(str(tmp_path / "x.txt")) is False
        return
    sample = Path(__file__).resolve().parents[3] / "sample_surveys" / "bridge" / "m3c2_params.txt"
    if not sample.exists():
        pytest.skip("sample_surveys/bridge/m3c2_params.txt is not in this checkout")
    expected = read_cloudcompare_params(sample)
    assert dialog.import_cloudcompare(str(sample))
    assert dialog.params().cylinder_radius == pytest.approx(expected.cylinder_radius)
    assert dialog.params().normal_orientation == expected.normal_orientation


def test_results_zoom_to_element_and_show_in_3d(qtbot, pc, epochs, tmp_path, dialogs):
    _e1, _e2, dialog = _compare_dialog(qtbot, pc, epochs, tmp_path)
    wait_task(qtbot, pc.window, dialog.run(), timeout=120000)
    panel = pc.results
    row = next(r for r in range(panel.table.rowCount()) if panel.table.item(r, 0).text() == "deck middle")
    panel.table.cellDoubleClicked.emit(row, 0)
    xmin, ymin, xmax, ymax = pc.window.canvas.viewport.extent
    assert xmin <= X0 + 14 and xmax >= X0 + 26 and ymin <= Y0 + 8 and ymax >= Y0 + 12
    assert xmax - xmin < 40  # zoomed in on the element, not the whole site
    assert panel.view3d_button.isEnabled()
    assert pc.show_in_3d()  # the 3D View dock (its GL-less fallback offscreen)
    assert pc.window.docks["view3d"].isVisible()
    from gis_desk.core.pointcloud import PointCloudLayer

    shown = [l.name for l in pc.window.session.project.layers if isinstance(l, PointCloudLayer) and l.visible]
    assert len(shown) == 1 and shown[0].startswith("M3C2 change")
    pc.window.session.undo_stack.undo()  # the epochs come back one by one
    assert len([l for l in pc.window.session.project.layers
                if isinstance(l, PointCloudLayer) and l.visible]) == 2
