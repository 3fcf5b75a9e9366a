"""Feature labels: text from a field at a point on each feature, with a halo, without overlaps.

Placement is greedy: candidates are tried from the largest feature to the smallest, and a label
whose box (plus a small gap) would touch one already placed is skipped, as QGIS does by default.
Placed boxes are kept in a coarse grid of buckets so each test looks at a few neighbours only.
Sizes are in points at 96 dpi.
"""

from __future__ import annotations

import math

import numpy as np
import skia

from gis_desk.core.style import LabelSettings
from gis_desk.render import skia_util

MAX_CANDIDATES = 20_000  # beyond this many features in view, labels would be unreadable anyway
_GAP_PX = 2.0
_BUCKET_PX = 64.0


class LabelPlacer:
    """Collision bookkeeping in pixel space: ``try_place(box)`` returns True and keeps the box
    when it overlaps none already kept."""

    def __init__(self) -> None:
        self._buckets: dict[tuple[int, int], list[tuple[float, float, float, float]]] = {}

    def _cells(self, box):
        x0, y0, x1, y1 = box
        for i in range(int(math.floor(x0 / _BUCKET_PX)), int(math.floor(x1 / _BUCKET_PX)) + 1):
            for j in range(int(math.floor(y0 / _BUCKET_PX)), int(math.floor(y1 / _BUCKET_PX)) + 1):
                yield i, j

    def try_place(self, box) -> bool:
        x0, y0, x1, y1 = box
        cells = list(self._cells(box))
        for cell in cells:
            for a0, b0, a1, b1 in self._buckets.get(cell, ()):
                if x0 < a1 and a0 < x1 and y0 < b1 and b0 < y1:
                    return False
        for cell in cells:
            self._buckets.setdefault(cell, []).append(box)
        return True


def _text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        if math.isnan(value):
            return ""
        if value.is_integer():
            return str(int(value))
    return str(value)


def draw_labels(canvas: skia.Canvas, xs, ys, texts, settings: LabelSettings, width: int, height: int,
                placer: LabelPlacer | None = None) -> int:
    """Draw ``texts`` centred on pixel anchors (``xs``, ``ys``) in the given order, skipping
    empty texts, labels that would leave the image and labels colliding with placed ones.
    Returns how many were drawn."""
    placer = placer or LabelPlacer()
    font = skia_util.font(settings.size)
    metrics = font.getMetrics()
    ascent, descent = -metrics.fAscent, metrics.fDescent
    halo_px = max(1.5, font.getSize() * 0.18)
    fill = skia_util.fill_paint(settings.color)
    halo = None
    if settings.halo:
        halo = skia_util.stroke_paint(settings.halo, 2 * halo_px)
    drawn = 0
    for x, y, value in zip(xs, ys, texts):
        text = _text(value)
        if not text:
            continue
        w = font.measureText(text)
        left, baseline = x - w / 2.0, y + (ascent - descent) / 2.0
        box = (left - _GAP_PX, baseline - ascent - _GAP_PX, left + w + _GAP_PX, baseline + descent + _GAP_PX)
        if box[0] < 0 or box[1] < 0 or box[2] > width or box[3] > height:
            continue
        if not placer.try_place(box):
            continue
        blob = skia.TextBlob.MakeFromString(text, font)
        if halo is not None:
            canvas.drawTextBlob(blob, left, baseline, halo)
        canvas.drawTextBlob(blob, left, baseline, fill)
        drawn += 1
    return drawn


def draw_layer_labels(canvas: skia.Canvas, frame, prepared, viewport, rows: np.ndarray,
                      settings: LabelSettings) -> int:
    """Label the features where ``rows`` is set with ``settings.field``, biggest features first.
    A field the frame lacks draws nothing (the style dialog reports it)."""
    if settings.field not in frame.columns:
        return 0
    anchors = prepared.anchors()
    candidates = np.flatnonzero(rows & np.isfinite(anchors[:, 0]))
    if len(candidates) == 0:
        return 0
    b = prepared.bounds[candidates]
    size = np.nan_to_num((b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1]))
    candidates = candidates[np.argsort(-size, kind="stable")][:MAX_CANDIDATES]
    px, py = viewport.world_to_pixel(anchors[candidates, 0], anchors[candidates, 1])
    texts = frame[settings.field].to_numpy()[candidates]
    return draw_labels(canvas, px, py, texts, settings, viewport.width, viewport.height)
