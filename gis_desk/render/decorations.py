"""Map decorations drawn with skia on top of a rendered map image: scale bar, north arrow,
legend box, attribution and title.

The scale bar's ground length comes from ``Viewport.pixel_size`` and the CRS's units (metres,
feet, or degrees measured along the parallel through the view centre), rounded down to a nice
1, 2 or 5 x 10^n metres, labelled in m below 1 km and in km above.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import skia

from gis_desk.core.legend import LegendEntry, legend_entries
from gis_desk.core.ramps import ramp_lut
from gis_desk.render import skia_util
from gis_desk.render.labels import _text
from gis_desk.render.vector import marker_template
from gis_desk.render.viewport import Viewport, metres_per_unit

MARGIN_PX = 16
_INK = "#202020ff"
_PANEL = "#ffffffe0"
_PANEL_EDGE = "#80808080"


@dataclass(frozen=True)
class ScaleBar:
    """A scale bar: ``length_m`` of ground drawn as ``length_px`` pixels, labelled ``label``."""

    length_m: float
    length_px: float
    label: str


def nice_length(metres: float) -> float:
    """The largest 1, 2 or 5 x 10^n not above ``metres`` (> 0)."""
    exponent = math.floor(math.log10(metres))
    for step in (5, 2, 1):
        value = step * 10.0 ** exponent
        if value <= metres * (1 + 1e-9):
            return value
    return 10.0 ** exponent


def format_distance(metres: float) -> str:
    """'500 m', '2 km', '0.5 m'."""
    if metres >= 1000:
        return f"{metres / 1000:g} km"
    return f"{metres:g} m"


def scale_bar_spec(viewport: Viewport, max_px: float | None = None) -> ScaleBar:
    """The scale bar for ``viewport``: the nicest round length no longer than ``max_px`` pixels
    (default a quarter of the width, at most 300 px)."""
    if max_px is None:
        max_px = min(300.0, viewport.width / 4.0)
    metres_per_px = viewport.pixel_size * metres_per_unit(viewport.crs, latitude=viewport.center[1])
    length = nice_length(max_px * metres_per_px)
    return ScaleBar(length, length / metres_per_px, format_distance(length))


def _panel(canvas, rect: skia.Rect) -> None:
    canvas.drawRoundRect(rect, 4, 4, skia_util.fill_paint(_PANEL))
    canvas.drawRoundRect(rect, 4, 4, skia_util.stroke_paint(_PANEL_EDGE, 1.0))


def draw_scale_bar(canvas, viewport: Viewport) -> ScaleBar:
    """Bottom-left: four alternating segments, '0' at the start and the length at the end."""
    bar = scale_bar_spec(viewport)
    font = skia_util.font(8.5)
    x0, height = float(MARGIN_PX + 8), 6.0
    y0 = viewport.height - MARGIN_PX - 8 - height
    label_w = font.measureText(bar.label)
    _panel(canvas, skia.Rect(x0 - 8, y0 - 22, x0 + bar.length_px + label_w / 2 + 8, y0 + height + 8))
    seg = bar.length_px / 4
    for i in range(4):
        rect = skia.Rect(x0 + i * seg, y0, x0 + (i + 1) * seg, y0 + height)
        canvas.drawRect(rect, skia_util.fill_paint(_INK if i % 2 == 0 else "#ffffffff", antialias=False))
    canvas.drawRect(skia.Rect(x0, y0, x0 + bar.length_px, y0 + height), skia_util.stroke_paint(_INK, 1.0))
    ink = skia_util.fill_paint(_INK)
    canvas.drawString("0", x0 - font.measureText("0") / 2, y0 - 5, font, ink)
    canvas.drawString(bar.label, x0 + bar.length_px - label_w / 2, y0 - 5, font, ink)
    return bar


def draw_north_arrow(canvas, viewport: Viewport, size: float = 34.0) -> None:
    """Top-right: an arrow pointing to grid north (up) with an 'N' above it."""
    cx = viewport.width - MARGIN_PX - size / 2
    top = MARGIN_PX + 16.0
    left = skia.Path()
    left.moveTo(cx, top)
    left.lineTo(cx - size * 0.32, top + size)
    left.lineTo(cx, top + size * 0.72)
    left.close()
    right = skia.Path()
    right.moveTo(cx, top)
    right.lineTo(cx + size * 0.32, top + size)
    right.lineTo(cx, top + size * 0.72)
    right.close()
    canvas.drawPath(left, skia_util.fill_paint(_INK))
    canvas.drawPath(right, skia_util.fill_paint("#ffffffff"))
    for path in (left, right):
        canvas.drawPath(path, skia_util.stroke_paint(_INK, 1.2))
    font = skia_util.font(11, bold=True)
    halo = skia_util.stroke_paint("#ffffffd0", 3.0)
    x = cx - font.measureText("N") / 2
    canvas.drawString("N", x, top - 3, font, halo)
    canvas.drawString("N", x, top - 3, font, skia_util.fill_paint(_INK))


def _swatch(canvas, entry: LegendEntry, x: float, y: float, w: float, h: float) -> None:
    if entry.shape == "line":
        stroke = entry.stroke or _INK
        path = skia.Path()
        path.moveTo(x, y + h * 0.7)
        path.lineTo(x + w * 0.4, y + h * 0.3)
        path.lineTo(x + w, y + h * 0.5)
        canvas.drawPath(path, skia_util.stroke_paint(stroke, max(1.5, entry.stroke_width)))
    elif entry.shape == "point":
        template = marker_template(entry.marker, min(entry.size, h)) + (x + w / 2, y + h / 2)
        path = skia_util.path_from_rings(template, np.array([0, len(template)]), closed=True)
        canvas.drawPath(path, skia_util.fill_paint(entry.fill or "#808080"))
        if entry.stroke and entry.stroke_width > 0:
            canvas.drawPath(path, skia_util.stroke_paint(entry.stroke, entry.stroke_width))
    elif entry.shape == "ramp":
        lut = ramp_lut(entry.ramp or "viridis", entry.invert)
        colors = [skia.Color(*(int(v) for v in lut[i])) for i in (0, 32, 64, 96, 128, 160, 192, 224, 255)]
        shader = skia.GradientShader.MakeLinear([skia.Point(x, y), skia.Point(x + w, y)], colors)
        canvas.drawRect(skia.Rect(x, y, x + w, y + h), skia.Paint(Shader=shader, AntiAlias=True))
        canvas.drawRect(skia.Rect(x, y, x + w, y + h), skia_util.stroke_paint(_PANEL_EDGE, 1.0))
    else:
        rect = skia.Rect(x, y, x + w, y + h)
        canvas.drawRect(rect, skia_util.fill_paint(entry.fill or "#00000000"))
        if entry.stroke and entry.stroke_width > 0:
            canvas.drawRect(rect, skia_util.stroke_paint(entry.stroke, max(0.8, entry.stroke_width)))


def _entry_text(entry: LegendEntry) -> str:
    if entry.shape == "ramp" and entry.vmin is not None and entry.vmax is not None:
        return f"{entry.label}: {entry.vmin:.4g} – {entry.vmax:.4g}".lstrip(": ")
    return entry.label


def draw_legend(canvas, viewport: Viewport, layers, bottom: float | None = None) -> int:
    """Bottom-right legend box: for each visible layer (top layer first) its name then its
    entries.  Lines that do not fit the image height are left out.  Returns entries drawn."""
    rows: list[tuple[str, LegendEntry | None]] = []
    for layer in reversed(list(layers)):
        if not layer.visible or layer.is_broken:
            continue
        entries = legend_entries(layer)
        if not entries:
            continue
        if len(entries) == 1 and not entries[0].label:
            rows.append((layer.name, entries[0]))
            continue
        rows.append((layer.name, None))
        rows.extend((_entry_text(e), e) for e in entries)
    if not rows:
        return 0
    font, bold = skia_util.font(8.5), skia_util.font(9, bold=True)
    line_h, sw, sh, pad = 18.0, 22.0, 12.0, 8.0
    bottom = viewport.height - MARGIN_PX if bottom is None else bottom
    max_rows = int((bottom - MARGIN_PX - 2 * pad) // line_h)
    if max_rows < 1:
        return 0
    rows = rows[:max_rows]
    text_w = max((bold if e is None else font).measureText(t) + (0 if e is None else sw + 6) for t, e in rows)
    width, height = text_w + 2 * pad, len(rows) * line_h + 2 * pad
    x0, y0 = viewport.width - MARGIN_PX - width, bottom - height
    _panel(canvas, skia.Rect(x0, y0, x0 + width, y0 + height))
    ink = skia_util.fill_paint(_INK)
    drawn = 0
    for i, (text, entry) in enumerate(rows):
        top = y0 + pad + i * line_h
        baseline = top + line_h / 2 + 4
        if entry is None:
            canvas.drawString(text, x0 + pad, baseline, bold, ink)
            continue
        _swatch(canvas, entry, x0 + pad, top + (line_h - sh) / 2, sw, sh)
        canvas.drawString(text, x0 + pad + sw + 6, baseline, font, ink)
        drawn += 1
    return drawn


def draw_attribution(canvas, viewport: Viewport, text: str) -> float:
    """Small text at the bottom-right corner on a light band; returns the band's top (px)."""
    font = skia_util.font(7.5)
    w = font.measureText(text)
    x1, y1 = viewport.width - 4.0, viewport.height - 3.0
    top = y1 - 13
    canvas.drawRect(skia.Rect(x1 - w - 6, top, viewport.width, viewport.height), skia_util.fill_paint("#ffffffb0"))
    canvas.drawString(text, x1 - w - 3, y1 - 3, font, skia_util.fill_paint("#404040ff"))
    return top


def draw_title(canvas, viewport: Viewport, title: str) -> None:
    font = skia_util.font(16, bold=True)
    w = font.measureText(title)
    x, y = (viewport.width - w) / 2, MARGIN_PX + 18.0
    canvas.drawString(title, x, y, font, skia_util.stroke_paint("#ffffffe0", 4.0))
    canvas.drawString(title, x, y, font, skia_util.fill_paint(_INK))


def draw_decorations(image: np.ndarray, viewport: Viewport, layers=None, scale_bar: bool = True,
                     north_arrow: bool = True, legend: bool = False, attribution: str | None = None,
                     title: str | None = None) -> np.ndarray:
    """Draw the chosen decorations onto ``image`` (premultiplied RGBA, the viewport's size) in
    place and return it.  ``legend`` needs ``layers`` (the project's, bottom first)."""
    if image.shape[:2] != (viewport.height, viewport.width):
        raise ValueError("the image and the viewport differ in size")
    with skia_util.surface_for(image) as canvas:
        bottom = viewport.height - MARGIN_PX
        if attribution:
            bottom = min(bottom, draw_attribution(canvas, viewport, _text(attribution)) - 6)
        if scale_bar:
            draw_scale_bar(canvas, viewport)
        if north_arrow:
            draw_north_arrow(canvas, viewport)
        if legend and layers:
            draw_legend(canvas, viewport, layers, bottom=bottom)
        if title:
            draw_title(canvas, viewport, title)
    return image
