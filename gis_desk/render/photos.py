"""Draw a photo layer: footprints (semi-transparent fill, outline) under camera points, each
point with a tick towards the camera's heading; selected photos highlighted.

Qt-free (skia), like every renderer: the canvas and ``gis-desk render`` share it.
"""

from __future__ import annotations

import threading

import numpy as np
import skia

from gis_desk.core.crs import crs_id, same_crs, transform_xy
from gis_desk.core.photos import PhotoLayer, PhotoStyle
from gis_desk.errors import CanceledError
from gis_desk.render import skia_util
from gis_desk.render.renderer import register_layer_renderer
from gis_desk.render.viewport import Viewport

_CACHE_LOCK = threading.Lock()


def _projected(dataset, target_crs):
    """(points (n, 2), footprint rings list[(k, 2) | None], heading unit vectors (n, 2)) in the
    target CRS, cached on the dataset per CRS (reprojection costs more than drawing)."""
    key = crs_id(target_crs)
    with _CACHE_LOCK:
        cache = dataset.__dict__.setdefault("_render_cache", {})
        if key in cache:
            return cache[key]
    frame = dataset.frame
    x = np.asarray(frame.geometry.x, float)
    y = np.asarray(frame.geometry.y, float)
    yaw = np.radians(np.nan_to_num(np.asarray(frame["yaw"], float)))
    has_yaw = np.isfinite(np.asarray(frame["yaw"], float))
    # a point 1 m ahead along the heading gives the direction in any target CRS
    ax, ay = x + np.sin(yaw), y + np.cos(yaw)
    rings = []
    for poly in dataset.footprints.values:
        rings.append(np.asarray(poly.exterior.coords)[:, :2] if poly is not None and not poly.is_empty else None)
    if not same_crs(dataset.crs, target_crs):
        x, y = (np.asarray(v, float) for v in transform_xy(dataset.crs, target_crs, x, y))
        ax, ay = (np.asarray(v, float) for v in transform_xy(dataset.crs, target_crs, ax, ay))
        rings = [None if r is None else np.column_stack(transform_xy(dataset.crs, target_crs, r[:, 0], r[:, 1]))
                 for r in rings]
    d = np.column_stack([ax - x, ay - y])
    norm = np.hypot(d[:, 0], d[:, 1])
    with np.errstate(invalid="ignore", divide="ignore"):
        heading = np.where((norm > 0)[:, None] & has_yaw[:, None], d / norm[:, None], np.nan)
    out = (np.column_stack([x, y]), rings, heading)
    with _CACHE_LOCK:
        cache[key] = out
    return out


def _check(cancel) -> None:
    if cancel is not None and cancel():
        raise CanceledError()


@register_layer_renderer(PhotoLayer)
def render_photo_layer(layer: PhotoLayer, viewport: Viewport, cancel=None) -> np.ndarray | None:
    """Premultiplied RGBA image of a photo layer, or None when nothing of it is in view."""
    ds = layer.dataset
    if ds is None or len(ds.frame) == 0:
        return None
    style = layer.style if isinstance(layer.style, PhotoStyle) else PhotoStyle()
    points, rings, heading = _projected(ds, viewport.crs)
    _check(cancel)
    xmin, ymin, xmax, ymax = viewport.extent
    pad = (style.point_size + style.tick_length) * viewport.pixel_size
    in_view = ((points[:, 0] >= xmin - pad) & (points[:, 0] <= xmax + pad)
               & (points[:, 1] >= ymin - pad) & (points[:, 1] <= ymax + pad))
    ring_in_view = np.array([r is not None and r[:, 0].max() >= xmin and r[:, 0].min() <= xmax
                             and r[:, 1].max() >= ymin and r[:, 1].min() <= ymax for r in rings], bool)
    if not style.show_footprints:
        ring_in_view[:] = False
    if not in_view.any() and not ring_in_view.any():
        return None
    selection = set(getattr(layer, "selection", ()) or ())
    image = skia_util.new_image(viewport.width, viewport.height)
    surface = skia_util.surface_for(image)
    with surface as canvas:
        if ring_in_view.any():
            path, chosen = skia.Path(), skia.Path()
            for i in np.flatnonzero(ring_in_view):
                px, py = viewport.world_to_pixel(rings[i][:, 0], rings[i][:, 1])
                target = chosen if i in selection else path
                target.addPoly([skia.Point(float(a), float(b)) for a, b in zip(px, py)], True)
            fill = skia_util.fill_paint(style.footprint_color)
            fill.setAlphaf(max(0.0, min(1.0, style.footprint_fill_opacity)))
            canvas.drawPath(path, fill)
            canvas.drawPath(path, skia_util.stroke_paint(style.footprint_color, style.footprint_width))
            if not chosen.isEmpty():
                fill = skia_util.fill_paint(style.selected_color)
                fill.setAlphaf(0.25)
                canvas.drawPath(chosen, fill)
                canvas.drawPath(chosen, skia_util.stroke_paint(style.selected_color, style.footprint_width * 2))
        _check(cancel)
        idx = np.flatnonzero(in_view)
        if len(idx):
            px, py = viewport.world_to_pixel(points[idx, 0], points[idx, 1])
            ticks = skia.Path()
            dots, chosen_dots = skia.Path(), skia.Path()
            r = style.point_size / 2.0
            for j, i in enumerate(idx):
                hx, hy = heading[i]
                if np.isfinite(hx):
                    ticks.moveTo(float(px[j]), float(py[j]))
                    ticks.lineTo(float(px[j] + hx * style.tick_length), float(py[j] - hy * style.tick_length))
                (chosen_dots if i in selection else dots).addCircle(float(px[j]), float(py[j]), r)
            canvas.drawPath(ticks, skia_util.stroke_paint("#ffffff", 3.5))
            canvas.drawPath(ticks, skia_util.stroke_paint(style.point_color, 1.8))
            canvas.drawPath(dots, skia_util.fill_paint(style.point_color))
            canvas.drawPath(dots, skia_util.stroke_paint("#ffffff", 1.2))
            if not chosen_dots.isEmpty():
                canvas.drawPath(chosen_dots, skia_util.fill_paint(style.selected_color))
                canvas.drawPath(chosen_dots, skia_util.stroke_paint("#000000", 1.5))
    return image
