"""QGIS layer styles (QML) built from GIS Desk styles, so exported files open in QGIS looking
as they do in GIS Desk.

Written from the QML format QGIS 3 reads (``<qgis>`` root; ``renderer-v2`` for vectors with
``singleSymbol``, ``categorizedSymbol`` and ``graduatedSymbol`` renderers; a raster ``pipe``
with a ``singlebandpseudocolor`` or ``paletted`` renderer).  Symbol-layer properties are given
both as the ``<Option type="Map">`` QGIS >= 3.16 reads and as the older ``<prop k v>`` pairs,
so QGIS 3.4 and later all read them.

Units: GIS Desk sizes and widths are screen pixels at 96 dpi; QML gets them in millimetres
(1 px = 25.4 / 96 mm), which QGIS draws at the same size on a 96 dpi screen.  Colours go to
QGIS as 'r,g,b,a' with 0..255 channels.  Everything here returns text; nothing touches files
except ``write_qml``.
"""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Iterable

import numpy as np

from gis_desk.core.ramps import ramp_colors
from gis_desk.core.style import (
    CategorisedStyle,
    GraduatedStyle,
    LabelSettings,
    RasterStyle,
    SingleSymbolStyle,
    Symbol,
)
from gis_desk.errors import DataError

QGIS_VERSION = "3.22.0-Białowieża"  # the oldest LTR whose reader we target; newer QGIS reads it too
MM_PER_PX = 25.4 / 96.0
_DOCTYPE = "<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>"
_MARKER_NAMES = {"circle": "circle", "square": "square", "triangle": "triangle", "diamond": "diamond"}
_GEOMETRY_SYMBOL = {"Point": "marker", "LineString": "line", "Polygon": "fill"}
_LAYER_GEOMETRY_TYPE = {"marker": "0", "line": "1", "fill": "2"}  # QgsWkbTypes::GeometryType


# -- values -----------------------------------------------------------------------------------


def _rgba(color: str) -> tuple[int, int, int, int]:
    from gis_desk.render.skia_util import parse_color  # also accepts matplotlib names

    return tuple(int(round(c * 255)) for c in parse_color(color))  # type: ignore[return-value]


def qgis_color(color: str) -> str:
    """'#rrggbb[aa]' -> QGIS's 'r,g,b,a' (0..255).  Raises ``DataError`` for a bad colour."""
    return ",".join(str(v) for v in _rgba(color))


def hex_rgb(color: str) -> str:
    """'#rrggbb' without alpha (raster ramp items carry alpha separately)."""
    r, g, b, _ = _rgba(color)
    return f"#{r:02x}{g:02x}{b:02x}"


def _mm(px: float) -> str:
    return f"{float(px) * MM_PER_PX:.4g}"


def _number(value: float) -> str:
    """Shortest text that reads back as the same float ('3', '0.25', '1e-05')."""
    value = float(value)
    if math.isfinite(value) and value == int(value) and abs(value) < 1e15:
        return str(int(value))
    return repr(value)


def _category_value(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, (int, float, np.integer, np.floating)):
        return _number(float(value))
    return str(value)


# -- symbols ----------------------------------------------------------------------------------


def _properties(layer: ET.Element, props: dict[str, str]) -> None:
    options = ET.SubElement(layer, "Option", type="Map")
    for key, value in props.items():
        ET.SubElement(options, "Option", type="QString", name=key, value=value)
    for key, value in props.items():
        ET.SubElement(layer, "prop", k=key, v=value)


def _symbol_layer_props(symbol: Symbol, symbol_type: str) -> tuple[str, dict[str, str]]:
    stroke_alpha = _rgba(symbol.stroke)[3]
    no_stroke = symbol.stroke_width <= 0 or stroke_alpha == 0
    if symbol_type == "fill":
        return "SimpleFill", {
            "color": qgis_color(symbol.fill), "style": "solid",
            "outline_color": qgis_color(symbol.stroke), "outline_style": "no" if no_stroke else "solid",
            "outline_width": _mm(symbol.stroke_width), "outline_width_unit": "MM",
            "joinstyle": "round", "offset": "0,0", "offset_unit": "MM",
        }
    if symbol_type == "line":
        return "SimpleLine", {
            "line_color": qgis_color(symbol.stroke), "line_style": "no" if no_stroke else "solid",
            "line_width": _mm(max(symbol.stroke_width, 0.0)), "line_width_unit": "MM",
            "capstyle": "round", "joinstyle": "round", "offset": "0", "offset_unit": "MM",
        }
    return "SimpleMarker", {
        "name": _MARKER_NAMES.get(symbol.marker, "circle"), "color": qgis_color(symbol.fill),
        "outline_color": qgis_color(symbol.stroke), "outline_style": "no" if no_stroke else "solid",
        "outline_width": _mm(symbol.stroke_width), "outline_width_unit": "MM",
        "size": _mm(symbol.size), "size_unit": "MM", "angle": "0", "joinstyle": "round",
        "offset": "0,0", "offset_unit": "MM", "scale_method": "diameter",
    }


def _symbol(parent: ET.Element, name: str, symbol: Symbol, symbol_type: str) -> ET.Element:
    element = ET.SubElement(parent, "symbol", type=symbol_type, name=name, alpha="1",
                            clip_to_extent="1", force_rhr="0")
    layer_class, props = _symbol_layer_props(symbol, symbol_type)
    layer = ET.SubElement(element, "layer", {"class": layer_class, "enabled": "1", "locked": "0", "pass": "0"})
    _properties(layer, props)
    return element


def symbol_type_for(geometry_type: str) -> str:
    """QGIS symbol type ('fill', 'line', 'marker') for a GIS Desk geometry type."""
    simple = str(geometry_type).replace("Multi", "")
    return _GEOMETRY_SYMBOL.get(simple, "fill")


# -- vector styles ----------------------------------------------------------------------------


def _renderer(style, symbol_type: str) -> ET.Element:
    common = {"symbollevels": "0", "enableorderby": "0", "forceraster": "0"}
    if isinstance(style, SingleSymbolStyle):
        renderer = ET.Element("renderer-v2", type="singleSymbol", **common)
        symbols = ET.SubElement(renderer, "symbols")
        _symbol(symbols, "0", style.symbol, symbol_type)
        return renderer
    if isinstance(style, CategorisedStyle):
        if not style.field:
            raise DataError("The categorised style names no field", hint="choose the field to colour by")
        renderer = ET.Element("renderer-v2", type="categorizedSymbol", attr=style.field, **common)
        categories = ET.SubElement(renderer, "categories")
        symbols = ET.SubElement(renderer, "symbols")
        entries = [(c.value, c.symbol, c.label or _category_value(c.value), c.visible) for c in style.categories]
        if style.other is not None:  # QGIS's "all other values" category has an empty value
            entries.append((None, style.other, "Other values", True))
        for i, (value, symbol, label, visible) in enumerate(entries):
            ET.SubElement(categories, "category", symbol=str(i), value=_category_value(value), label=label,
                          render="true" if visible else "false")
            _symbol(symbols, str(i), symbol, symbol_type)
        source = ET.SubElement(renderer, "source-symbol")
        _symbol(source, "0", Symbol(), symbol_type)
        return renderer
    if isinstance(style, GraduatedStyle):
        if not style.field:
            raise DataError("The graduated style names no field", hint="choose a numeric field")
        renderer = ET.Element("renderer-v2", type="graduatedSymbol", attr=style.field,
                              graduatedMethod="GraduatedColor", **common)
        ranges = ET.SubElement(renderer, "ranges")
        symbols = ET.SubElement(renderer, "symbols")
        for i, cls in enumerate(style.classes):
            label = cls.label or f"{cls.lower:g} – {cls.upper:g}"
            ET.SubElement(ranges, "range", symbol=str(i), lower=_number(cls.lower), upper=_number(cls.upper),
                          label=label, render="true")
            _symbol(symbols, str(i), cls.symbol, symbol_type)
        source = ET.SubElement(renderer, "source-symbol")
        _symbol(source, "0", Symbol(), symbol_type)
        mode = {"equal_interval": "equal", "quantile": "quantile", "natural_breaks": "jenks"}.get(style.method, "manual")
        ET.SubElement(renderer, "mode", name=mode)
        ET.SubElement(renderer, "classificationMethod",
                      id={"equal": "EqualInterval", "quantile": "Quantile", "jenks": "Jenks"}.get(mode, "Manual"))
        return renderer
    raise DataError(f"A {type(style).__name__} cannot be written as a QGIS vector style",
                    hint="use a single-symbol, categorised or graduated style")


def _labeling(root: ET.Element, labels: LabelSettings) -> None:
    labeling = ET.SubElement(root, "labeling", type="simple")
    settings = ET.SubElement(labeling, "settings", calloutType="simple")
    text = ET.SubElement(settings, "text-style", fieldName=labels.field, isExpression="0",
                         fontSize=_number(labels.size), fontSizeUnit="Point", textColor=qgis_color(labels.color),
                         textOpacity="1", fontWeight="50", fontItalic="0", namedStyle="Regular")
    if labels.halo:
        ET.SubElement(text, "text-buffer", bufferDraw="1", bufferSize="0.8", bufferSizeUnits="MM",
                      bufferColor=qgis_color(labels.halo), bufferOpacity="1", bufferNoFill="1",
                      bufferJoinStyle="128")
    ET.SubElement(settings, "placement", placement="1", dist="0", distUnits="MM")
    ET.SubElement(settings, "rendering", obstacle="1", displayAll="0", upsidedownLabels="0")


def _document(root: ET.Element) -> str:
    ET.indent(root, space="  ")
    return _DOCTYPE + "\n" + ET.tostring(root, encoding="unicode") + "\n"


def vector_style_qml(style, geometry_type: str = "Polygon", *, opacity: float = 1.0) -> str:
    """QML text for a vector layer drawn with ``style`` (``SingleSymbolStyle``,
    ``CategorisedStyle`` or ``GraduatedStyle``); ``geometry_type`` 'Point', 'LineString' or
    'Polygon' (multi-part names accepted) picks marker, line or fill symbols; ``opacity`` 0..1
    is the layer opacity.  Categories hidden in GIS Desk are written but not rendered.
    Raises ``DataError`` for other styles or a style without its field."""
    symbol_type = symbol_type_for(geometry_type)
    labels = getattr(style, "labels", None)
    labels_on = labels is not None and labels.enabled
    root = ET.Element("qgis", version=QGIS_VERSION, styleCategories="AllStyleCategories",
                      labelsEnabled="1" if labels_on else "0", hasScaleBasedVisibilityFlag="0")
    root.append(_renderer(style, symbol_type))
    if labels_on:
        _labeling(root, labels)
    ET.SubElement(root, "blendMode").text = "0"
    ET.SubElement(root, "featureBlendMode").text = "0"
    ET.SubElement(root, "layerOpacity").text = _number(min(1.0, max(0.0, opacity)))
    ET.SubElement(root, "layerGeometryType").text = _LAYER_GEOMETRY_TYPE[symbol_type]
    return _document(root)


# -- raster styles ----------------------------------------------------------------------------


def _raster_root() -> tuple[ET.Element, ET.Element]:
    root = ET.Element("qgis", version=QGIS_VERSION, styleCategories="AllStyleCategories",
                      hasScaleBasedVisibilityFlag="0")
    pipe = ET.SubElement(root, "pipe")
    return root, pipe


def _min_max_origin(parent: ET.Element) -> None:
    origin = ET.SubElement(parent, "minMaxOrigin")
    ET.SubElement(origin, "limits").text = "None"  # user-defined limits: QGIS keeps ours
    ET.SubElement(origin, "extent").text = "WholeRaster"
    ET.SubElement(origin, "statAccuracy").text = "Estimated"


def _finish_raster(root: ET.Element, pipe: ET.Element) -> str:
    ET.SubElement(pipe, "brightnesscontrast", brightness="0", contrast="0", gamma="1")
    ET.SubElement(pipe, "huesaturation", saturation="0", grayscaleMode="0", colorizeOn="0",
                  colorizeRed="255", colorizeGreen="128", colorizeBlue="128", colorizeStrength="100")
    ET.SubElement(pipe, "rasterresampler", maxOversampling="2")
    ET.SubElement(root, "blendMode").text = "0"
    return _document(root)


def pseudocolor_raster_qml(vmin: float, vmax: float, ramp: str = "viridis", *, invert: bool = False,
                           band: int = 1, stops: int = 9, opacity: float = 1.0,
                           label_format: str = "{:.4g}") -> str:
    """QML for a single band drawn through colour ramp ``ramp`` from ``vmin`` to ``vmax``
    (interpolated between ``stops`` evenly spaced colours; values outside are drawn in the end
    colours, as GIS Desk clamps them).  Nodata stays transparent.
    Raises ``DataError`` for an unknown ramp or limits that are not finite."""
    if not (math.isfinite(vmin) and math.isfinite(vmax)):
        raise DataError(f"The colour ramp limits {vmin!r}..{vmax!r} are not finite numbers",
                        hint="set the style's minimum and maximum")
    if vmax <= vmin:
        vmax = vmin + 1.0  # a constant raster: any span draws it in the first colour
    stops = max(2, int(stops))
    colors = ramp_colors(ramp, stops, invert=invert) if _sampled(ramp) else _sample_listed(ramp, stops, invert)
    root, pipe = _raster_root()
    renderer = ET.SubElement(pipe, "rasterrenderer", type="singlebandpseudocolor", band=str(band),
                             opacity=_number(opacity), alphaBand="-1", nodataColor="",
                             classificationMin=_number(vmin), classificationMax=_number(vmax))
    ET.SubElement(renderer, "rasterTransparency")
    _min_max_origin(renderer)
    shader = ET.SubElement(renderer, "rastershader")
    ramp_shader = ET.SubElement(shader, "colorrampshader", colorRampType="INTERPOLATED", classificationMode="1",
                                clip="0", minimumValue=_number(vmin), maximumValue=_number(vmax))
    for i, color in enumerate(colors):
        value = vmin + (vmax - vmin) * i / (len(colors) - 1)
        ET.SubElement(ramp_shader, "item", value=_number(value), color=hex_rgb(color),
                      alpha=str(_rgba(color)[3]), label=label_format.format(value))
    return _finish_raster(root, pipe)


def _sampled(ramp: str) -> bool:
    from gis_desk.core.ramps import ramp_kind

    return ramp_kind(ramp) != "qualitative"


def _sample_listed(ramp: str, n: int, invert: bool) -> list[str]:
    """Qualitative ramps hold listed colours; sample the matplotlib map evenly instead."""
    from gis_desk.core.ramps import ramp_lut

    lut = ramp_lut(ramp, invert)
    idx = [int(round(i * 255 / (n - 1))) for i in range(n)]
    return [f"#{lut[i][0]:02x}{lut[i][1]:02x}{lut[i][2]:02x}" for i in idx]


def paletted_raster_qml(entries: Iterable[tuple[int, str, str]], *, band: int = 1, opacity: float = 1.0) -> str:
    """QML for a paletted (classified) band: ``entries`` are (pixel value, '#rrggbb[aa]',
    label); values not listed (nodata) are not drawn."""
    root, pipe = _raster_root()
    renderer = ET.SubElement(pipe, "rasterrenderer", type="paletted", band=str(band), opacity=_number(opacity),
                             alphaBand="-1", nodataColor="")
    ET.SubElement(renderer, "rasterTransparency")
    _min_max_origin(renderer)
    palette = ET.SubElement(renderer, "colorPalette")
    for value, color, label in entries:
        ET.SubElement(palette, "paletteEntry", value=str(int(value)), color=hex_rgb(color),
                      alpha=str(_rgba(color)[3]), label=str(label))
    return _finish_raster(root, pipe)


def raster_style_qml(style: RasterStyle, vmin: float | None = None, vmax: float | None = None,
                     opacity: float = 1.0) -> str:
    """QML for a ``RasterStyle`` in ``singleband`` mode; ``vmin``/``vmax`` override the
    style's own limits (needed when the style computes them from the data).  Raises
    ``DataError`` for other modes or when no limits are known."""
    if style.mode != "singleband":
        raise DataError(f"Only single-band ramp styles can be written as QML here, not {style.mode!r}",
                        hint="paletted rasters carry their colour table in the file")
    lo = vmin if vmin is not None else (style.vmin[0] if style.vmin else None)
    hi = vmax if vmax is not None else (style.vmax[0] if style.vmax else None)
    if lo is None or hi is None:
        raise DataError("The raster style has no minimum and maximum to build the ramp from",
                        hint="give vmin and vmax")
    band = style.bands[0] if style.bands else 1
    return pseudocolor_raster_qml(float(lo), float(hi), style.ramp, invert=style.invert_ramp, band=band,
                                  opacity=opacity)


def write_qml(path: str | Path, qml: str) -> Path:
    """Write QML text atomically (QGIS loads '<data file stem>.qml' beside a raster or a
    Shapefile as its default style).  Raises ``WriterError``."""
    from gis_desk.io.atomic import atomic_write_text

    out = Path(path)
    atomic_write_text(out, qml)
    return out
