"""The heat-map panel: one live raster layer, automatic radius, disclosure masking."""

from __future__ import annotations

import numpy as np
import pytest

from gis_desk.core.layer import RasterLayer
from gis_desk.qt.uprn.heatmap_panel import HeatmapPanel

from uprn_gui_helpers import add_points, grab

# A cluster of 60 records within 150 m of (380000, 395000) and three lone records 3 km away.
CLUSTER = np.random.default_rng(7).uniform(-150, 150, size=(60, 2)) + [380_000.0, 395_000.0]
LONE = np.array([[383_000.0, 395_000.0], [383_000.0, 398_000.0], [377_000.0, 398_000.0]])


@pytest.fixture
def panel(qtbot, session, tasks):
    xy = np.vstack([CLUSTER, LONE])
    add_points(session, xy, name="care packages", hours=np.arange(len(xy)) % 4 + 1.0)
    widget = HeatmapPanel(session, tasks)
    qtbot.addWidget(widget)
    widget.resize(420, 900)
    widget.show()
    return widget


def _raster_layers(session):
    return [la for la in session.project.layers if isinstance(la, RasterLayer)]


def _finish(qtbot, panel, task):
    assert task is not None
    qtbot.waitUntil(lambda: panel.task is None, timeout=20000)


def test_automatic_radius_is_suggested_and_shown(qtbot, panel):
    from gis_desk.analysis.kde import radius_for_bandwidth, suggest_bandwidth

    qtbot.waitUntil(lambda: panel.suggested_radius() is not None, timeout=10000)
    expected = radius_for_bandwidth(suggest_bandwidth(np.vstack([CLUSTER, LONE])), "quartic")
    assert panel.suggested_radius() == pytest.approx(expected)
    assert f"{expected:,.0f} m" in panel.suggested.text()
    assert panel.radius.value() == round(expected) and not panel.radius.isEnabled()
    panel.kernel.setCurrentIndex(panel.kernel.findData("uniform"))  # another kernel, another radius
    assert panel.radius.value() == round(radius_for_bandwidth(suggest_bandwidth(np.vstack([CLUSTER, LONE])),
                                                              "uniform"))
    assert [panel.weight.itemData(i) for i in range(panel.weight.count())] == [None, "hours"]


def test_preview_adds_one_raster_layer_and_a_second_preview_replaces_its_data(qtbot, session, panel, tmp_path):
    from gis_desk.core.style import RasterStyle

    qtbot.waitUntil(lambda: panel.suggested_radius() is not None, timeout=10000)
    _finish(qtbot, panel, panel.preview())
    rasters = _raster_layers(session)
    assert len(rasters) == 1
    layer = rasters[0]
    first_path = layer.dataset.path
    assert isinstance(layer.style, RasterStyle) and layer.style.mode == "singleband"
    assert layer.style.vmax[0] > layer.style.vmin[0]
    assert "cache" in first_path and panel.legend.vmax == pytest.approx(layer.style.vmax[0])
    assert max(panel.preview_result.grid.shape) <= 300 + 2  # coarse
    grab(panel, tmp_path / "heatmap_panel.png")

    session.move_layer(1, 0)  # the user puts the heat map under the records
    layer.opacity = 0.5
    panel.auto_radius.setChecked(False)
    panel.radius.setValue(400)
    _finish(qtbot, panel, panel.preview())
    rasters = _raster_layers(session)
    assert rasters == [layer] and session.project.layers.index(layer) == 0 and layer.opacity == 0.5
    assert layer.dataset.path != first_path
    assert panel.last_stats["radius"] == 400


def test_cells_reached_by_fewer_than_k_records_are_masked(qtbot, session, panel):
    panel.auto_radius.setChecked(False)
    panel.radius.setValue(500)
    panel.pixel.setValue(100)
    panel.policy.set_kind(panel.policy.THRESHOLD, k=10)
    _finish(qtbot, panel, panel.run())
    result = panel.result
    layer = _raster_layers(session)[0]
    ds = layer.dataset
    shown = ~np.ma.getmaskarray(ds.read_window(ds.bounds, ds.width, ds.height)[0])
    counts = result.counts
    assert shown.shape == counts.shape
    assert shown.any() and (counts[shown] >= 10).all()
    assert not shown[(counts > 0) & (counts < 10)].any()
    lone_cells = (counts > 0) & (counts <= 3)
    assert lone_cells.sum() > 0 and panel.last_stats["hidden"] == int(((counts > 0) & (counts < 10)).sum())
    assert "left blank" in panel.status.text()
    # the raw result keeps every cell for export, where the policy is applied again
    assert (result.array[lone_cells] > 0).all()
    assert panel.export_button.isEnabled() is False  # no export dialog connected in this test

    panel.policy.set_kind(panel.policy.THRESHOLD, k=2)
    _finish(qtbot, panel, panel.run())
    ds = layer.dataset
    shown_k2 = ~np.ma.getmaskarray(ds.read_window(ds.bounds, ds.width, ds.height)[0])
    assert shown_k2.sum() > shown.sum()


def test_export_opens_the_dialog_on_the_full_resolution_run_without_choosing_a_policy(qtbot, session, tasks):
    from gis_desk.qt.uprn.export_dialog import ExportDialog

    add_points(session, np.vstack([CLUSTER, LONE]), name="visits")
    opened = []

    def open_export(source):
        dialog = ExportDialog(session, tasks, None, source)
        qtbot.addWidget(dialog)
        opened.append(dialog)
        return dialog

    panel = HeatmapPanel(session, tasks, open_export=open_export)
    qtbot.addWidget(panel)
    assert not panel.export_button.isEnabled()
    panel.auto_radius.setChecked(False)
    _finish(qtbot, panel, panel.preview())
    assert not panel.export_button.isEnabled()  # a preview is never exported
    _finish(qtbot, panel, panel.run())
    assert panel.export_button.isEnabled()
    dialog = panel.export()
    assert dialog is opened[0] and dialog.format_key() == "cog"
    assert dialog.source.heatmap is panel.result
    assert dialog.policy.policy() is None and "Threshold k=10" in dialog.source.title
