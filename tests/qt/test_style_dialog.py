"""The style dialog builds the expected style objects and applies them undoably."""

from __future__ import annotations

import numpy as np
import pytest

from gis_desk.core.ramps import ramp_colors
from gis_desk.core.style import CategorisedStyle, GraduatedStyle, RasterStyle, SingleSymbolStyle
from gis_desk.qt.dialogs.style_dialog import StyleDialog


@pytest.fixture
def layer(session, squares):
    return session.open(squares)[0]


@pytest.fixture
def dialog(qtbot, session, layer):
    d = StyleDialog(session, layer)
    qtbot.addWidget(d)
    return d


def test_single_symbol(dialog, session, layer):
    p = dialog.panel
    p.renderer.setCurrentIndex(0)
    p.fill_button.set_color("#ff000080")
    p.stroke_button.set_color("#000000ff")
    p.stroke_width.setValue(2.5)
    style = dialog.build_style()
    assert isinstance(style, SingleSymbolStyle)
    assert (style.symbol.fill, style.symbol.stroke, style.symbol.stroke_width) == ("#ff000080", "#000000ff", 2.5)
    assert style.labels is None
    assert dialog.apply()
    assert layer.style == style
    session.undo_stack.undo()
    assert layer.style != style


def test_categorised_with_an_edited_colour(dialog, layer):
    p = dialog.panel
    p.renderer.setCurrentIndex(1)
    p.cat_field.setCurrentText("cat")
    p.cat_ramp.setCurrentText("Set1")
    p.classify_categories()
    assert p.cat_table.rowCount() == 3
    p.cat_table.set_fill(1, "#123456ff")
    p.cat_table.item(2, 2).setText("Category C")
    style = dialog.build_style()
    assert isinstance(style, CategorisedStyle)
    assert style.field == "cat" and style.ramp == "Set1"
    assert [c.value for c in style.categories] == ["A", "B", "C"]
    assert style.categories[0].symbol.fill.startswith(ramp_colors("Set1", 3)[0])
    assert style.categories[1].symbol.fill == "#123456ff"
    assert style.categories[2].label == "Category C"


def test_graduated_quantiles_inverted_viridis(dialog, layer):
    p = dialog.panel
    p.renderer.setCurrentIndex(2)
    p.grad_field.setCurrentText("value")
    p.grad_method.setCurrentIndex(p.grad_method.findData("equal_interval"))
    p.grad_classes.setValue(3)
    p.grad_ramp.setCurrentText("viridis")
    p.grad_invert.setChecked(True)
    style = dialog.build_style()  # classifies because the settings changed
    assert isinstance(style, GraduatedStyle)
    assert (style.field, style.method, style.n_classes, style.ramp, style.invert_ramp) == \
        ("value", "equal_interval", 3, "viridis", True)
    values = layer.dataset.frame["value"]
    assert [c.lower for c in style.classes] == pytest.approx(np.linspace(values.min(), values.max(), 4)[:-1])
    assert [c.symbol.fill[:7] for c in style.classes] == ramp_colors("viridis", 3, invert=True)


def test_labels(dialog):
    p = dialog.panel
    p.labels_box.setChecked(True)
    p.label_field.setCurrentText("name")
    p.label_size.setValue(12)
    style = dialog.build_style()
    assert style.labels.field == "name" and style.labels.size == 12 and style.labels.enabled


def test_graduated_on_text_field_reports_an_error(dialog, qtbot, layer):
    p = dialog.panel
    p.renderer.setCurrentIndex(2)
    p.grad_field.clear()
    p.grad_field.addItem("name")  # not numeric
    old = layer.style
    with qtbot.waitSignal(dialog.error) as blocker:
        assert not dialog.apply()
    assert "not numeric" in str(blocker.args[0])
    assert layer.style is old


def test_raster_singleband(qtbot, session, tmp_path):
    import rasterio
    from rasterio.transform import from_origin

    path = tmp_path / "dem.tif"
    data = np.arange(100, dtype="float32").reshape(10, 10) + 5
    with rasterio.open(path, "w", driver="GTiff", width=10, height=10, count=1, dtype="float32",
                       crs="EPSG:27700", transform=from_origin(380000, 396000, 10, 10)) as ds:
        ds.write(data, 1)
    raster = session.open(path)[0]
    d = StyleDialog(session, raster)
    qtbot.addWidget(d)
    p = d.panel
    p.mode.setCurrentIndex(p.mode.findData("singleband"))
    p.stretch.setCurrentIndex(p.stretch.findData("minmax"))
    p.ramp.setCurrentText("magma")
    style = d.build_style()
    assert isinstance(style, RasterStyle)
    assert (style.mode, style.bands, style.ramp) == ("singleband", (1,), "magma")
    assert style.vmin == [5.0] and style.vmax == [104.0]
    p.stretch.setCurrentIndex(p.stretch.findData("manual"))
    p.vmin.setValue(10)
    p.vmax.setValue(20)
    assert d.apply()
    assert raster.style.vmin == [10.0] and raster.style.vmax == [20.0] and raster.style.stretch == "manual"
