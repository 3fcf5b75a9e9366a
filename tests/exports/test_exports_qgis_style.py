"""QML built from GIS Desk styles: well-formed, right renderer, symbol classes, colours, units."""

import xml.etree.ElementTree as ET

import pytest

from gis_desk.core.style import (
    Category,
    CategorisedStyle,
    ClassRange,
    GraduatedStyle,
    LabelSettings,
    RasterStyle,
    SingleSymbolStyle,
    Symbol,
)
from gis_desk.errors import DataError
from gis_desk.io.qgis_style import (
    MM_PER_PX,
    paletted_raster_qml,
    pseudocolor_raster_qml,
    qgis_color,
    raster_style_qml,
    vector_style_qml,
    write_qml,
)


def parse(qml: str) -> ET.Element:
    doctype, body = qml.split("\n", 1)
    assert doctype.startswith("<!DOCTYPE qgis")
    return ET.fromstring(body)


def props(layer: ET.Element) -> dict[str, str]:
    options = {o.get("name"): o.get("value") for o in layer.findall("Option/Option")}
    legacy = {p.get("k"): p.get("v") for p in layer.findall("prop")}
    assert options == legacy
    return options


def test_colour_conversion():
    assert qgis_color("#ff000080") == "255,0,0,128"
    assert qgis_color("#0a0b0c") == "10,11,12,255"
    with pytest.raises(DataError):
        qgis_color("not a colour")


@pytest.mark.parametrize("geometry, symbol_type, layer_class, geometry_code", [
    ("Polygon", "fill", "SimpleFill", "2"), ("MultiPolygon", "fill", "SimpleFill", "2"),
    ("LineString", "line", "SimpleLine", "1"), ("Point", "marker", "SimpleMarker", "0"),
])
def test_single_symbol_for_each_geometry(geometry, symbol_type, layer_class, geometry_code):
    symbol = Symbol(fill="#11223344", stroke="#556677ff", stroke_width=1.5, marker="square", size=9)
    root = parse(vector_style_qml(SingleSymbolStyle(symbol), geometry, opacity=0.5))
    assert root.tag == "qgis" and root.get("labelsEnabled") == "0"
    renderer = root.find("renderer-v2")
    assert renderer.get("type") == "singleSymbol"
    element = renderer.find("symbols/symbol")
    assert element.get("type") == symbol_type and element.get("name") == "0"
    layer = element.find("layer")
    assert layer.get("class") == layer_class
    p = props(layer)
    if symbol_type == "line":
        assert p["line_color"] == "85,102,119,255"
        assert float(p["line_width"]) == pytest.approx(1.5 * MM_PER_PX, rel=1e-3)
    else:
        assert p["color"] == "17,34,51,68" and p["outline_color"] == "85,102,119,255"
        assert float(p["outline_width"]) == pytest.approx(1.5 * MM_PER_PX, rel=1e-3)
    if symbol_type == "marker":
        assert p["name"] == "square" and float(p["size"]) == pytest.approx(9 * MM_PER_PX, rel=1e-3)
    assert root.findtext("layerGeometryType") == geometry_code
    assert root.findtext("layerOpacity") == "0.5"


def test_categorised_style_with_hidden_and_other_categories():
    style = CategorisedStyle(field="kind", categories=[
        Category("school", Symbol(fill="#ff0000ff"), "Schools"),
        Category(3, Symbol(fill="#00ff00ff")),
        Category("closed", Symbol(fill="#0000ffff"), visible=False),
    ], other=Symbol(fill="#bdbdbdff"))
    renderer = parse(vector_style_qml(style, "Point")).find("renderer-v2")
    cats = renderer.findall("categories/category")
    assert [(c.get("value"), c.get("label"), c.get("render")) for c in cats] == [
        ("school", "Schools", "true"), ("3", "3", "true"), ("closed", "closed", "false"),
        ("", "Other values", "true")]
    symbols = {s.get("name"): s for s in renderer.findall("symbols/symbol")}
    colours = [props(symbols[c.get("symbol")].find("layer"))["color"] for c in cats]
    assert colours == ["255,0,0,255", "0,255,0,255", "0,0,255,255", "189,189,189,255"]
    assert renderer.find("source-symbol/symbol") is not None


def test_graduated_style_ranges_and_labels():
    style = GraduatedStyle(field="rate", method="natural_breaks", classes=[
        ClassRange(0, 2.5, Symbol(fill="#ffffccff"), "low"), ClassRange(2.5, 10, Symbol(fill="#800026ff"))],
        labels=LabelSettings("name", size=8, halo=None))
    root = parse(vector_style_qml(style, "Polygon"))
    renderer = root.find("renderer-v2")
    assert renderer.get("type") == "graduatedSymbol" and renderer.get("graduatedMethod") == "GraduatedColor"
    ranges = renderer.findall("ranges/range")
    assert [(r.get("lower"), r.get("upper"), r.get("label")) for r in ranges] == [
        ("0", "2.5", "low"), ("2.5", "10", "2.5 – 10")]
    assert renderer.find("mode").get("name") == "jenks"
    assert root.get("labelsEnabled") == "1"
    text = root.find("labeling/settings/text-style")
    assert text.get("fieldName") == "name" and text.get("fontSize") == "8" and text.find("text-buffer") is None


def test_styles_that_cannot_be_written():
    with pytest.raises(DataError):
        vector_style_qml(CategorisedStyle(field=""), "Polygon")
    with pytest.raises(DataError):
        vector_style_qml(GraduatedStyle(field=""), "Polygon")
    with pytest.raises(DataError):
        vector_style_qml(RasterStyle(), "Polygon")
    with pytest.raises(DataError):
        raster_style_qml(RasterStyle(mode="rgb"))
    with pytest.raises(DataError):
        raster_style_qml(RasterStyle(mode="singleband"))  # no limits
    with pytest.raises(DataError):
        pseudocolor_raster_qml(float("nan"), 1.0)
    with pytest.raises(DataError):
        pseudocolor_raster_qml(0.0, 1.0, "NoSuchRamp")


def test_raster_styles(tmp_path):
    qml = raster_style_qml(RasterStyle(mode="singleband", bands=(2,), ramp="viridis", invert_ramp=True,
                                       vmin=[-5.0], vmax=[5.0]))
    renderer = parse(qml).find("pipe/rasterrenderer")
    assert renderer.get("band") == "2" and renderer.get("classificationMin") == "-5"
    items = renderer.findall("rastershader/colorrampshader/item")
    assert items[0].get("color") == "#fde725" and items[-1].get("color") == "#440154"  # inverted viridis
    assert renderer.find("minMaxOrigin/limits").text == "None"
    paletted = parse(paletted_raster_qml([(1, "#ff0000", "low"), (2, "#00ff0080", "high")]))
    entries = paletted.findall("pipe/rasterrenderer/colorPalette/paletteEntry")
    assert [(e.get("value"), e.get("color"), e.get("alpha"), e.get("label")) for e in entries] == [
        ("1", "#ff0000", "255", "low"), ("2", "#00ff00", "128", "high")]
    path = write_qml(tmp_path / "x.qml", qml)
    assert parse(path.read_text()) is not None
