"""Draw a drone flight track (``FootageLayer``): a line coloured along its length by time or by
height above take-off, a take-off symbol, optional dots and direction arrowheads; plus the
layer's legend and identify.

The current-position marker and camera footprint during playback are the drone GUI's overlay,
not part of the layer.  Qt-free (skia), like every renderer.

A one-hour per-frame track has ~108,000 points; drawing stays vectorised: the points are moved
to pixels, consecutive points falling in the same half-pixel are dropped, and the remaining
segments are grouped into a few dozen colour classes, one skia path of polylines each
(``skia_util.path_from_rings``), so no Python loop runs per point.
"""

from __future__ import annotations

import threading
from typing import Any

import numpy as np
import skia

from gis_desk.core.crs import crs_id, same_crs, transform_xy
from gis_desk.core.footage import FootageLayer, FootageStyle, timecode
from gis_desk.core.legend import LegendEntry, register_legend_builder
from gis_desk.core.ramps import ramp_lut
from gis_desk.errors import CanceledError
from gis_desk.render import skia_util
from gis_desk.render.renderer import register_layer_renderer
from gis_desk.render.viewport import Viewport

COLOUR_CLASSES = 48        # segments are drawn in this many colour steps along the ramp
_CACHE_LOCK = threading.Lock()


def _projected(dataset, target_crs) -> np.ndarray:
    """Track points (n, 2) in ``target_crs``, cached on the dataset per CRS."""
    key = crs_id(target_crs) or str(target_crs)
    with _CACHE_LOCK:
        cache = dataset.__dict__.setdefault("_footage_render_cache", {})
        if key in cache:
            return cache[key]
    xy = np.asarray(dataset.xy, float)
    if not same_crs(dataset.crs, target_crs):
        x, y = transform_xy(dataset.crs, target_crs, xy[:, 0], xy[:, 1])
        xy = np.column_stack([np.asarray(x, float), np.asarray(y, float)])
    with _CACHE_LOCK:
        cache[key] = xy
    return xy


def colour_values(layer: FootageLayer, style: FootageStyle) -> tuple[np.ndarray | None, str]:
    """The per-point values the ramp colours (None for a single colour) and what they are."""
    tel = layer.telemetry
    if style.colour_by == "time":
        return np.asarray(tel.time_s, float) + layer.sync_offset_s, "Video time (s)"
    if style.colour_by == "height":
        rel = np.asarray(tel.rel_alt, float)
        if np.isfinite(rel).any():
            return rel, "Height above take-off (m)"
        alt = np.asarray(tel.abs_alt, float)
        if np.isfinite(alt).any():
            return alt, "Altitude reported by the drone (m)"
        return None, "Track"
    return None, "Track"


def value_range(values: np.ndarray, style: FootageStyle) -> tuple[float, float]:
    """The ramp's (vmin, vmax): the style's when set, else the finite range of the values."""
    finite = values[np.isfinite(values)]
    lo = style.vmin if style.vmin is not None else (float(finite.min()) if len(finite) else 0.0)
    hi = style.vmax if style.vmax is not None else (float(finite.max()) if len(finite) else 1.0)
    if not hi > lo:
        hi = lo + 1.0
    return float(lo), float(hi)


def takeoff_xy(layer: FootageLayer) -> tuple[float, float] | None:
    """The take-off point in the layer CRS: the stated HOME point, else the first fix."""
    tel = layer.telemetry
    if tel.home:
        x, y = transform_xy("EPSG:4326", layer.crs, [tel.home[1]], [tel.home[0]])
        return float(np.asarray(x)[0]), float(np.asarray(y)[0])
    if len(layer.dataset.xy):
        return float(layer.dataset.xy[0, 0]), float(layer.dataset.xy[0, 1])
    return None


def _check(cancel) -> None:
    if cancel is not None and cancel():
        raise CanceledError()


def _thin(px: np.ndarray, py: np.ndarray) -> np.ndarray:
    """Indices of the points to keep: consecutive points in the same half-pixel are one point."""
    qx, qy = np.round(px * 2.0), np.round(py * 2.0)
    keep = np.ones(len(px), bool)
    keep[1:] = (qx[1:] != qx[:-1]) | (qy[1:] != qy[:-1])
    keep[-1] = True
    return np.flatnonzero(keep)


def _runs_path(p: np.ndarray, seg: np.ndarray) -> skia.Path:
    """One path of polylines through the segments ``seg`` (increasing indices; segment i joins
    points i and i + 1): consecutive segments make one polyline, so the stroke has joins, not
    a cap at every vertex (far cheaper to draw than separate segments)."""
    if len(seg) == 0:
        return skia.Path()
    brk = np.flatnonzero(np.diff(seg) != 1) + 1
    starts = np.concatenate([[0], brk])
    ends = np.concatenate([brk, [len(seg)]])
    first, last = seg[starts], seg[ends - 1]
    lengths = last - first + 2
    offsets = np.concatenate([[0], np.cumsum(lengths)])
    idx = np.repeat(first - offsets[:-1], lengths) + np.arange(offsets[-1])
    return skia_util.path_from_rings(p[idx], offsets, closed=False)


def _hex(rgba) -> str:
    return "#" + "".join(f"{int(v):02x}" for v in rgba[:4])


@register_layer_renderer(FootageLayer)
def render_footage_layer(layer: FootageLayer, viewport: Viewport, cancel=None) -> np.ndarray | None:
    """Premultiplied RGBA image of the flight track, or None when none of it is in view."""
    ds = layer.dataset
    if ds is None or len(ds.xy) == 0:
        return None
    style = layer.style if isinstance(layer.style, FootageStyle) else FootageStyle()
    xy = _projected(ds, viewport.crs)
    ok = np.isfinite(xy).all(axis=1)
    xmin, ymin, xmax, ymax = viewport.extent
    pad = (max(style.line_width, style.point_size) + 12.0) * viewport.pixel_size
    if not ok.any():
        return None
    pts = xy[ok]
    if (pts[:, 0].max() < xmin - pad or pts[:, 0].min() > xmax + pad
            or pts[:, 1].max() < ymin - pad or pts[:, 1].min() > ymax + pad):
        return None
    _check(cancel)
    values, _ = colour_values(layer, style)
    idx_all = np.flatnonzero(ok)
    px, py = viewport.world_to_pixel(pts[:, 0], pts[:, 1])
    keep = _thin(px, py)
    idx, px, py = idx_all[keep], px[keep], py[keep]
    p = np.column_stack([px, py])
    # Segments with at least one end near the view (skia clips the rest cheaply anyway, but
    # huge off-screen coordinates are best left out).
    inside = ((px >= -50) & (px <= viewport.width + 50) & (py >= -50) & (py <= viewport.height + 50))
    seg_vis = inside[:-1] | inside[1:] if len(p) > 1 else np.zeros(0, bool)
    if len(p) > 1:
        # a segment crossing the whole view with both ends outside
        sx0, sx1 = np.minimum(px[:-1], px[1:]), np.maximum(px[:-1], px[1:])
        sy0, sy1 = np.minimum(py[:-1], py[1:]), np.maximum(py[:-1], py[1:])
        seg_vis |= (sx1 >= 0) & (sx0 <= viewport.width) & (sy1 >= 0) & (sy0 <= viewport.height)
    image = skia_util.new_image(viewport.width, viewport.height)
    surface = skia_util.surface_for(image)
    with surface as canvas:
        seg = np.flatnonzero(seg_vis)
        if len(seg):
            if style.halo:
                canvas.drawPath(_runs_path(p, seg), skia_util.stroke_paint(style.halo, style.line_width + 2.5))
            _check(cancel)
            if values is None:
                canvas.drawPath(_runs_path(p, seg), skia_util.stroke_paint(style.colour, style.line_width))
            else:
                lo, hi = value_range(values, style)
                v = values[idx]
                sv = 0.5 * (v[seg] + v[seg + 1])
                sv = np.where(np.isfinite(sv), sv, np.where(np.isfinite(v[seg]), v[seg], v[seg + 1]))
                f = np.clip((sv - lo) / (hi - lo), 0.0, 1.0)
                cls = np.where(np.isfinite(f), np.minimum((f * COLOUR_CLASSES).astype(np.int64),
                                                          COLOUR_CLASSES - 1), -1)
                lut = ramp_lut(style.ramp)
                for k in np.unique(cls):
                    m = cls == k
                    colour = style.colour if k < 0 else _hex(lut[int(round((k + 0.5) / COLOUR_CLASSES * 255))])
                    canvas.drawPath(_runs_path(p, seg[m]), skia_util.stroke_paint(colour, style.line_width))
        _check(cancel)
        if style.show_points:
            vis = np.flatnonzero(inside)
            if len(vis):
                dots = skia.Path()
                r = style.point_size / 2.0
                for i in vis:
                    dots.addCircle(float(px[i]), float(py[i]), r)
                canvas.drawPath(dots, skia_util.fill_paint("#ffffffff"))
                canvas.drawPath(dots, skia_util.stroke_paint("#333333ff", 1.0))
        if style.direction_ticks and len(p) > 1:
            _draw_arrows(canvas, p, style)
        if style.takeoff_marker:
            home = takeoff_xy(layer)
            if home is not None:
                hx, hy = home
                if not same_crs(layer.crs, viewport.crs):
                    hx, hy = (float(np.asarray(v)[0]) for v in transform_xy(layer.crs, viewport.crs, [hx], [hy]))
                qx, qy = viewport.world_to_pixel(hx, hy)
                _draw_takeoff(canvas, float(qx), float(qy), style)
    return image


def _draw_arrows(canvas, p: np.ndarray, style: FootageStyle) -> None:
    """Arrowheads every ``tick_spacing_px`` along the drawn track, pointing the way it flew."""
    d = np.hypot(np.diff(p[:, 0]), np.diff(p[:, 1]))
    along = np.concatenate([[0.0], np.cumsum(d)])
    spacing = max(float(style.tick_spacing_px), 10.0)
    if along[-1] < spacing:
        return
    marks = np.arange(spacing / 2.0, along[-1], spacing)
    seg = np.clip(np.searchsorted(along, marks, side="right") - 1, 0, len(d) - 1)
    f = (marks - along[seg]) / np.where(d[seg] > 0, d[seg], 1.0)
    pos = p[seg] + (p[seg + 1] - p[seg]) * f[:, None]
    u = (p[seg + 1] - p[seg]) / np.where(d[seg] > 0, d[seg], 1.0)[:, None]
    size = max(style.line_width * 2.2, 6.0)
    path = skia.Path()
    for (x, y), (ux, uy) in zip(pos, u):
        if not (np.isfinite(ux) and (ux or uy)):
            continue
        nx, ny = -uy, ux
        path.moveTo(float(x + ux * size), float(y + uy * size))
        path.lineTo(float(x - ux * size * 0.6 + nx * size * 0.7), float(y - uy * size * 0.6 + ny * size * 0.7))
        path.lineTo(float(x - ux * size * 0.6 - nx * size * 0.7), float(y - uy * size * 0.6 - ny * size * 0.7))
        path.close()
    canvas.drawPath(path, skia_util.fill_paint("#ffffffff"))
    canvas.drawPath(path, skia_util.stroke_paint("#202020ff", 1.0))


def _draw_takeoff(canvas, x: float, y: float, style: FootageStyle) -> None:
    """A filled square with a white border and an 'H' (the helipad letter pilots know)."""
    half = max(7.0, style.line_width * 2.5)
    rect = skia.Rect.MakeLTRB(x - half, y - half, x + half, y + half)
    canvas.drawRect(rect, skia_util.fill_paint(style.takeoff_colour))
    canvas.drawRect(rect, skia_util.stroke_paint("#ffffffff", 2.0))
    font = skia_util.font(half * 1.1, bold=True)
    width = font.measureText("H")
    canvas.drawString("H", x - width / 2.0, y + half * 0.42, font, skia_util.fill_paint("#ffffffff"))


# --- legend --------------------------------------------------------------------------------


@register_legend_builder(FootageLayer)
def footage_legend(layer: FootageLayer) -> list[LegendEntry]:
    """The ramp (time or height) or the single line colour, then the take-off symbol."""
    style = layer.style if isinstance(layer.style, FootageStyle) else FootageStyle()
    if layer.dataset is None:
        return []
    values, label = colour_values(layer, style)
    entries: list[LegendEntry] = []
    if values is None:
        entries.append(LegendEntry(label="Flight track", stroke=style.colour, shape="line",
                                   stroke_width=style.line_width))
    else:
        lo, hi = value_range(values, style)
        entries.append(LegendEntry(label=label, shape="ramp", vmin=lo, vmax=hi, ramp=style.ramp))
    if style.takeoff_marker:
        entries.append(LegendEntry(label="Take-off", fill=style.takeoff_colour, stroke="#ffffffff", shape="point",
                                   marker="square", size=12.0, stroke_width=2.0))
    return entries


# --- identify ------------------------------------------------------------------------------


def _register_identifier() -> None:
    from shapely.geometry import Point

    from gis_desk.analysis.identify import IdentifyResult, _plain, register_identifier

    @register_identifier(FootageLayer)
    def identify_footage(layer: FootageLayer, x: float, y: float, tolerance: float) -> list:
        """The track point nearest (x, y) within ``tolerance`` (layer CRS): its video time and
        timecode, telemetry time, position, heights and camera/aircraft attitude."""
        ds = layer.dataset
        if ds is None or len(ds.xy) == 0:
            return []
        d = np.hypot(ds.xy[:, 0] - x, ds.xy[:, 1] - y)
        if not np.isfinite(d).any():
            return []
        i = int(np.nanargmin(d))
        if d[i] > tolerance:
            return []
        tel = layer.telemetry
        t = float(tel.time_s[i])
        attributes: dict[str, Any] = {
            "video_time_s": round(t + layer.sync_offset_s, 3),
            "timecode": timecode(t + layer.sync_offset_s),
            "telemetry_time_s": round(t, 3),
        }
        if tel.frame is not None:
            attributes["frame"] = int(tel.frame[i])
        for name in ("lat", "lon", "rel_alt", "abs_alt", "gimbal_yaw", "gimbal_pitch", "gimbal_roll",
                     "flight_yaw", "flight_pitch", "flight_roll"):
            attributes[name] = _plain(getattr(tel, name)[i])
        if tel.focal_len_35mm is not None:
            attributes["focal_len_35mm"] = _plain(tel.focal_len_35mm[i])
        attributes["height_above_takeoff_m"] = attributes["rel_alt"]
        attributes["video"] = layer.video_path
        return [IdentifyResult(layer=layer, feature_id=i, attributes=attributes,
                               geometry=Point(float(ds.xy[i, 0]), float(ds.xy[i, 1])), distance=float(d[i]))]


_register_identifier()

__all__ = ["render_footage_layer", "footage_legend", "colour_values", "value_range", "takeoff_xy"]
