"""Legend entries of a layer, shared by the layer tree and the rendered legend.

``legend_entries(layer)`` turns a layer's style into a list of ``LegendEntry``: one per symbol
class for vector styles, a colour ramp (or one swatch per channel / palette entry) for rasters.
Layer kinds added later register their own builder with ``register_legend_builder``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from gis_desk.core.style import CategorisedStyle, GraduatedStyle, RasterStyle, SingleSymbolStyle, Symbol

MAX_PALETTE_ENTRIES = 64


@dataclass
class LegendEntry:
    """One line of a legend.

    ``shape``: 'polygon' (a filled box with outline), 'line', 'point' (a ``marker`` of ``size``
    px) or 'ramp' (a gradient of ``ramp`` from ``vmin`` to ``vmax``, ``invert`` flipped).
    Colours are hex '#rrggbb[aa]'; ``stroke_width`` in px.
    """

    label: str
    fill: str | None = None
    stroke: str | None = None
    shape: str = "polygon"
    stroke_width: float = 0.0
    marker: str = "circle"
    size: float = 7.0
    vmin: float | None = None
    vmax: float | None = None
    ramp: str | None = None
    invert: bool = False


LEGEND_BUILDERS: dict[type, Callable[[object], list[LegendEntry]]] = {}


def register_legend_builder(layer_cls: type):
    """Decorator: ``fn(layer) -> list[LegendEntry]`` for layers of ``layer_cls`` whose style
    is not one of the built-in style kinds."""

    def deco(fn):
        LEGEND_BUILDERS[layer_cls] = fn
        return fn

    return deco


def _shape_of(layer) -> str:
    geometry = getattr(layer.dataset, "geometry_type", "Polygon")
    return {"LineString": "line", "Point": "point"}.get(geometry, "polygon")


def _symbol_entry(label: str, symbol: Symbol, shape: str) -> LegendEntry:
    return LegendEntry(label=label, fill=symbol.fill, stroke=symbol.stroke, shape=shape,
                       stroke_width=symbol.stroke_width, marker=symbol.marker, size=symbol.size)


def _raster_entries(layer, style: RasterStyle) -> list[LegendEntry]:
    dataset = layer.dataset
    if style.mode == "singleband":
        band = style.bands[0] if style.bands else 1
        vmin = style.vmin[0] if style.vmin else None
        vmax = style.vmax[0] if style.vmax else None
        if (vmin is None or vmax is None) and dataset is not None:
            from gis_desk.core.classify import raster_stretch
            from gis_desk.errors import GisDeskError

            try:
                auto = raster_stretch(dataset, band, style.stretch if style.stretch in ("minmax", "percent") else "minmax")
            except (GisDeskError, ValueError):
                auto = (None, None)
            vmin = auto[0] if vmin is None else vmin
            vmax = auto[1] if vmax is None else vmax
        return [LegendEntry(label=f"Band {band}", shape="ramp", vmin=vmin, vmax=vmax, ramp=style.ramp,
                            invert=style.invert_ramp)]
    if style.mode == "paletted":
        table = getattr(dataset, "colormap", None)
        if callable(table):
            table = table(style.bands[0] if style.bands else 1)
        entries = []
        for value, color in sorted((table or {}).items())[:MAX_PALETTE_ENTRIES]:
            r, g, b, *a = (list(color) + [255])[:4]
            entries.append(LegendEntry(label=str(value), fill=f"#{int(r):02x}{int(g):02x}{int(b):02x}{int(a[0]):02x}",
                                       shape="polygon"))
        return entries
    names = (("Red", "#ff0000"), ("Green", "#00ff00"), ("Blue", "#0000ff"), ("Alpha", "#808080"))
    return [LegendEntry(label=f"{name}: band {band}", fill=color, shape="polygon")
            for (name, color), band in zip(names, style.bands)]


def legend_entries(layer) -> list[LegendEntry]:
    """The legend of ``layer`` under its current style; [] for broken layers, basemaps and
    kinds with nothing to explain.  Categories hidden by the user are left out."""
    if layer.is_broken:
        return []
    style = layer.style
    if isinstance(style, SingleSymbolStyle):
        return [_symbol_entry("", style.symbol, _shape_of(layer))]
    if isinstance(style, CategorisedStyle):
        shape = _shape_of(layer)
        entries = [_symbol_entry(c.label or str(c.value), c.symbol, shape) for c in style.categories if c.visible]
        if style.other is not None:
            entries.append(_symbol_entry("Other values", style.other, shape))
        return entries
    if isinstance(style, GraduatedStyle):
        shape = _shape_of(layer)
        return [_symbol_entry(c.label or f"{c.lower:g} – {c.upper:g}", c.symbol, shape) for c in style.classes]
    if isinstance(style, RasterStyle):
        return _raster_entries(layer, style)
    for klass in type(layer).__mro__:
        if klass in LEGEND_BUILDERS:
            return list(LEGEND_BUILDERS[klass](layer))
    return []
