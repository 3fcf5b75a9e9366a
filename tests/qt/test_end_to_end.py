"""End to end on real Trafford data: open, toggle, reorder, identify, measure, restyle, save,
reload, and find the same state.  Data: ONS LSOA 2011 boundaries (OGL) and Trafford Council's
land and building asset register (OGL), from the shared real-data folder."""

from __future__ import annotations

import re

import pytest
from PySide6.QtCore import QPoint, Qt

from gis_desk.core.crs import BNG, transform_xy
from gis_desk.core.style import CategorisedStyle, GraduatedStyle
from gis_desk.qt.dialogs.style_dialog import StyleDialog

LSOA = "uk_boundaries/UK-GeoJSON/lsoa11_E08000009_Trafford.geojson"
ASSETS = "uk_trafford/council_open_data/transparency_code/local_authority_land/trafford_land_and_building_assets.csv"


def wait_rendered(qtbot, canvas) -> None:
    qtbot.waitUntil(lambda: not canvas.is_rendering, timeout=20000)


def pixel_of(canvas, x, y) -> QPoint:
    px, py = canvas.viewport.world_to_pixel(x, y)
    return QPoint(int(round(float(px))), int(round(float(py))))


def test_trafford_session(main_window, real_data, qtbot, tmp_path):
    w = main_window
    session = w.session
    lsoa = w.open_path(real_data / LSOA)[0]
    assets = w.open_path(real_data / ASSETS)[0]
    assert len(lsoa.dataset.frame) == 138 and len(assets.dataset.frame) > 500
    model = w.layer_tree.layer_model
    assert [model.data(model.index(r, 0)) for r in range(2)] == [assets.name, lsoa.name]

    # toggle and reorder from the layer tree
    model.setData(model.index(0, 0), Qt.CheckState.Unchecked.value, Qt.ItemDataRole.CheckStateRole)
    assert not assets.visible
    model.setData(model.index(0, 0), Qt.CheckState.Checked.value, Qt.ItemDataRole.CheckStateRole)
    model.move_layers([lsoa], 0)
    assert list(session.project.layers) == [assets, lsoa]
    session.undo_stack.undo()
    assert list(session.project.layers) == [lsoa, assets]
    assets.visible = False  # kept hidden: saved and restored below
    session.set_layer_property(lsoa, "opacity", 0.8)

    # identify a known LSOA by clicking inside it on the canvas
    qtbot.wait(20)  # let the window settle its layout before choosing the view
    w.canvas.zoom_to_layer(lsoa)
    wait_rendered(qtbot, w.canvas)
    target = lsoa.dataset.frame.iloc[40]
    inside = target.geometry.representative_point()
    x, y = transform_xy(lsoa.crs, session.project.crs, inside.x, inside.y)
    w.actions_.identify.trigger()
    assert w.canvas.tool_name == "identify"
    with qtbot.waitSignal(w.canvas.identify_results, timeout=5000) as blocker:
        qtbot.mouseClick(w.canvas, Qt.MouseButton.LeftButton, pos=pixel_of(w.canvas, x, y))
    found = [r for r in blocker.args[0] if r.layer is lsoa]
    assert [r.attributes["LSOA11CD"] for r in found] == [target["LSOA11CD"]]
    assert w.identify_panel.value_of("LSOA11CD") == target["LSOA11CD"]

    # measure 2 km east-west in British National Grid
    e, n = transform_xy(session.project.crs, BNG, x, y)
    ends = [transform_xy(BNG, session.project.crs, e + dx, n) for dx in (-1000.0, 1000.0)]
    w.actions_.measure_line.trigger()
    for end in ends:
        qtbot.mouseClick(w.canvas, Qt.MouseButton.LeftButton, pos=pixel_of(w.canvas, *end))
    qtbot.mouseClick(w.canvas, Qt.MouseButton.RightButton, pos=pixel_of(w.canvas, *ends[1]))
    number = float(re.search(r"([\d,.]+)\s*(k?m)\b", w.last_measure).group(1).replace(",", ""))
    unit = re.search(r"([\d,.]+)\s*(k?m)\b", w.last_measure).group(2)
    metres = number * (1000 if unit == "km" else 1)
    pixel_m = w.canvas.viewport.pixel_size * 2  # clicks land on whole pixels
    assert metres == pytest.approx(2000, abs=max(pixel_m, 10))

    # restyle: categorised tenure for the assets, from the style dialog
    dialog = StyleDialog(session, assets, w)
    qtbot.addWidget(dialog)
    dialog.panel.renderer.setCurrentIndex(1)
    dialog.panel.cat_field.setCurrentText("TenureType")
    dialog.panel.cat_ramp.setCurrentText("Dark2")
    assert dialog.apply()
    assert isinstance(assets.style, CategorisedStyle) and assets.style.field == "TenureType"
    assert {"Freehold", "Leasehold"} <= {c.value for c in assets.style.categories}
    lsoa.name = "Trafford LSOAs"

    # save, reload in a fresh window, and find the same state
    path = tmp_path / "trafford.gdesk"
    assert w._save_to(path)
    assert not session.project.dirty and w.windowTitle() == "trafford — GIS Desk"
    view = w.canvas.viewport.extent
    w.session.new_project()
    assert len(session.project.layers) == 0
    w.open_project(path)
    layers = list(session.project.layers)
    assert [l.name for l in layers] == ["Trafford LSOAs", assets.name]
    assert [l.visible for l in layers] == [True, False]
    assert layers[0].opacity == pytest.approx(0.8)
    style = layers[1].style
    assert isinstance(style, CategorisedStyle) and style.field == "TenureType" and style.ramp == "Dark2"
    assert [c.value for c in style.categories] == [c.value for c in assets.style.categories]
    assert [model.data(model.index(r, 0)) for r in range(2)] == [assets.name, "Trafford LSOAs"]
    assert w.canvas.viewport.extent == pytest.approx(view, rel=1e-6)
    wait_rendered(qtbot, w.canvas)
    assert not isinstance(style, GraduatedStyle)
