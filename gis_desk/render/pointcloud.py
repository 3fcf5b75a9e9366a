"""Colouring and 2D drawing of point clouds, plus their legend and identify.

``point_colours(layer_or_cloud, style, index)`` is THE colouring of points: the 2D renderer
here, the 3D view and the report snapshot all call it, so a point has the same colour
everywhere.  Modes: 'elevation' (z after the layer's transform), 'rgb' (LAS 16-bit colours,
8-bit values stored in 16-bit fields are recognised), 'classification' (ASPRS colours) or any
attribute on a ramp of ``gis_desk.core.ramps``.  Automatic value ranges are the 2nd-98th
percentiles of the WHOLE cloud (so colours do not shift while panning), symmetric about zero
for change fields (M3C2 / C2C distances).

The 2D renderer draws ``dataset.sample(style.budget, view bounds)`` (the level-of-detail
index), moved by the layer ``transform`` and reprojected to the viewport CRS, as round dots
of ``style.point_size`` pixels through a z-buffer: where dots overlap the higher point shows,
as seen from above.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from gis_desk.core.crs import same_crs, transform_bounds, transformer
from gis_desk.core.legend import LegendEntry, register_legend_builder
from gis_desk.core.pointcloud import (DIVERGING_DEFAULT, PointCloud, PointCloudDataset, PointCloudLayer,
                                      PointCloudStyle, apply_transform, is_change_field)
from gis_desk.core.ramps import ramp_lut
from gis_desk.errors import CanceledError, CrsError, DataError
from gis_desk.render.renderer import register_layer_renderer
from gis_desk.render.viewport import Viewport

# ASPRS LAS 1.4 standard classes: code -> (label, colour)
ASPRS_CLASSES: dict[int, tuple[str, str]] = {
    0: ("Created, never classified", "#bdbdbd"),
    1: ("Unclassified", "#9e9e9e"),
    2: ("Ground", "#a0522d"),
    3: ("Low vegetation", "#9acd32"),
    4: ("Medium vegetation", "#32cd32"),
    5: ("High vegetation", "#006400"),
    6: ("Building", "#e31a1c"),
    7: ("Low point (noise)", "#ff00ff"),
    8: ("Model key point", "#ffd700"),
    9: ("Water", "#1e90ff"),
    10: ("Rail", "#8b4513"),
    11: ("Road surface", "#505050"),
    12: ("Overlap", "#ffa500"),
    13: ("Wire - guard (shield)", "#ffff66"),
    14: ("Wire - conductor (phase)", "#ffcc00"),
    15: ("Transmission tower", "#8a2be2"),
    16: ("Wire-structure connector", "#da70d6"),
    17: ("Bridge deck", "#00ced1"),
    18: ("High noise", "#ff1493"),
}
OTHER_CLASS_COLOUR = "#c8c8c8"
NODATA_COLOUR = "#bdbdbd"  # points whose value is undefined (NaN), e.g. M3C2 without neighbours
_PERCENTILES = (2.0, 98.0)
_RANGE_SAMPLE = 500_000  # points used to estimate automatic ranges


def _rgba(hex_colour: str) -> np.ndarray:
    h = hex_colour.lstrip("#")
    return np.array([int(h[i:i + 2], 16) for i in (0, 2, 4)] + [255], dtype=np.uint8)


_CLASS_LUT = np.tile(_rgba(OTHER_CLASS_COLOUR), (256, 1))
for _code, (_label, _colour) in ASPRS_CLASSES.items():
    _CLASS_LUT[_code] = _rgba(_colour)
_CLASS_LUT.setflags(write=False)


# --- what is coloured ----------------------------------------------------------------------


def _parts(obj) -> tuple[PointCloud, np.ndarray | None]:
    """(cloud, 4x4 transform or None) of a layer, dataset or cloud."""
    if isinstance(obj, PointCloudLayer):
        cloud = obj.cloud
        if cloud is None:
            raise DataError("The point cloud layer has no data")
        return cloud, (obj.transform if obj.has_transform else None)
    if isinstance(obj, PointCloudDataset):
        return obj.cloud, None
    if isinstance(obj, PointCloud):
        return obj, None
    raise TypeError(f"expected a point cloud layer, dataset or cloud, got {type(obj).__name__}")


def mode_of(style: PointCloudStyle) -> str:
    """'elevation', 'rgb', 'classification' or 'field' (colour an attribute on a ramp)."""
    c = (style.color_by or "elevation").lower()
    if c in ("elevation", "z", "height"):
        return "elevation"
    if c in ("rgb", "colour", "color", "true colour"):
        return "rgb"
    if c == "classification":
        return "classification"
    return "field"


def _values(cloud: PointCloud, matrix, style: PointCloudStyle, index) -> np.ndarray:
    """The values ``style`` colours by, for ``index`` (None = all points)."""
    if mode_of(style) == "elevation":
        xyz = cloud.xyz if index is None else cloud.xyz[index]
        if matrix is None:
            return xyz[:, 2]
        m = np.asarray(matrix)
        return xyz @ m[2, :3] + m[2, 3]
    name = style.color_by
    if name not in cloud.attributes:
        raise DataError(f"The point cloud has no attribute {name!r}",
                        hint=f"colour by elevation, or one of: {', '.join(cloud.attributes) or 'none'}")
    values = cloud.attributes[name]
    return values if index is None else values[index]


def value_range(obj, style: PointCloudStyle) -> tuple[float, float]:
    """``style.value_range`` or the automatic range over the whole cloud: 2nd-98th percentile,
    symmetric about zero (+-98th percentile of |v|) for change fields.  Cached per cloud."""
    if style.value_range is not None and len(style.value_range) == 2:
        lo, hi = (float(v) for v in style.value_range)
        return (lo, hi) if hi > lo else (lo, lo + 1.0)
    cloud, matrix = _parts(obj)
    key = (style.color_by, None if matrix is None else tuple(np.asarray(matrix).ravel()))
    cache = cloud.__dict__.setdefault("_gd_ranges", {})
    if key not in cache:
        n = len(cloud)
        index = None
        if n > _RANGE_SAMPLE:
            index = np.random.default_rng(0).choice(n, _RANGE_SAMPLE, replace=False)
        values = np.asarray(_values(cloud, matrix, style, index), dtype=np.float64)
        cache[key] = _auto_range(values, is_change_field(style.color_by))
    return cache[key]


def _auto_range(values: np.ndarray, symmetric: bool) -> tuple[float, float]:
    finite = values[np.isfinite(values)]
    if len(finite) == 0:
        return (-1.0, 1.0) if symmetric else (0.0, 1.0)
    if symmetric:
        top = float(np.percentile(np.abs(finite), _PERCENTILES[1]))
        top = top if top > 0 else 1.0
        return (-top, top)
    lo, hi = (float(v) for v in np.percentile(finite, _PERCENTILES))
    if hi <= lo:
        lo, hi = float(finite.min()), float(finite.max())
        if hi <= lo:
            hi = lo + 1.0
    return (lo, hi)


def _rgb_shift(cloud: PointCloud) -> int:
    """8 for true 16-bit colours, 0 when 8-bit values were stored in the 16-bit fields."""
    cache = cloud.__dict__.setdefault("_gd_ranges", {})
    if "rgb_shift" not in cache:
        top = max(int(cloud.attributes[c].max()) if len(cloud) else 0 for c in ("red", "green", "blue"))
        cache["rgb_shift"] = 8 if top > 255 else 0
    return cache["rgb_shift"]


def point_colours(layer_or_cloud, style: PointCloudStyle, index=None, *, xyz: np.ndarray | None = None) -> np.ndarray:
    """Opaque RGBA uint8 (k, 4) colours of the points ``index`` (None = all) of a
    ``PointCloudLayer`` (its transform applies to elevation), ``PointCloudDataset`` or
    ``PointCloud`` under ``style``.  ``xyz``: the (transformed) coordinates of those points
    when the caller has them already (saves a gather).  Raises ``DataError`` for an
    attribute the cloud lacks."""
    cloud, matrix = _parts(layer_or_cloud)
    if index is not None:
        index = np.asarray(index)
    mode = mode_of(style)
    if mode == "rgb":
        missing = [c for c in ("red", "green", "blue") if c not in cloud.attributes]
        if missing:
            raise DataError("The point cloud has no RGB colours", hint="colour by elevation or intensity")
        shift = _rgb_shift(cloud)
        k = len(cloud) if index is None else len(index)
        out = np.empty((k, 4), dtype=np.uint8)
        for band, name in enumerate(("red", "green", "blue")):
            values = cloud.attributes[name]
            values = values if index is None else values[index]
            out[:, band] = np.right_shift(values.astype(np.uint16, copy=False), shift) if shift else values
        out[:, 3] = 255
        return out
    values = xyz[:, 2] if (xyz is not None and mode == "elevation") else _values(cloud, matrix, style, index)
    if mode == "classification":
        codes = np.asarray(values)
        return _CLASS_LUT[np.clip(codes, 0, 255).astype(np.uint8)]
    lo, hi = value_range(layer_or_cloud, style)
    lut = ramp_lut(style.ramp)
    v = np.asarray(values, dtype=np.float64)
    # 256 equal bins over [lo, hi]: hi itself falls in the last one, whatever the rounding
    scaled = (v - lo) / (hi - lo)
    scaled *= 256.0
    bad = ~np.isfinite(scaled)
    np.clip(scaled, 0, 255, out=scaled)
    if bad.any():
        scaled[bad] = 0
    out = lut[scaled.astype(np.uint8)]
    if bad.any():
        out[bad] = _rgba(NODATA_COLOUR)
    out[:, 3] = 255
    return out


def style_for_field(style: PointCloudStyle, color_by: str) -> PointCloudStyle:
    """A copy of ``style`` colouring by ``color_by``, with the ramp a user expects (a diverging
    ramp for change fields) and the automatic range."""
    from dataclasses import replace

    ramp = style.ramp
    if is_change_field(color_by):
        from gis_desk.core.ramps import ramp_kind

        ramp = ramp if ramp_kind(ramp) == "diverging" else DIVERGING_DEFAULT
    return replace(style, color_by=color_by, ramp=ramp, value_range=None)


# --- legend --------------------------------------------------------------------------------


def colour_legend(style: PointCloudStyle, values=None) -> list[LegendEntry]:
    """Legend entries for ``style``: a ramp (with its range) for elevation and attributes, one
    dot per class present in ``values`` for classification, one entry for RGB.  ``values``
    (the coloured values, e.g. the classification codes or distances) sets an automatic range
    and the classes shown; without it all ASPRS standard classes are listed."""
    mode = mode_of(style)
    if mode == "rgb":
        return [LegendEntry(label="True colour (RGB)", fill="#808080", shape="point", size=7.0)]
    if mode == "classification":
        codes = sorted(ASPRS_CLASSES) if values is None else sorted(int(c) for c in np.unique(np.asarray(values)))
        return [LegendEntry(label=f"{code} {ASPRS_CLASSES.get(code, ('Class ' + str(code), ''))[0]}",
                            fill=ASPRS_CLASSES.get(code, ("", OTHER_CLASS_COLOUR))[1],
                            shape="point", size=7.0) for code in codes]
    if style.value_range is not None and len(style.value_range) == 2:
        lo, hi = (float(v) for v in style.value_range)
    elif values is not None:
        lo, hi = _auto_range(np.asarray(values, dtype=np.float64).ravel(), is_change_field(style.color_by))
    else:
        lo, hi = None, None
    label = "Elevation" if mode == "elevation" else style.color_by
    return [LegendEntry(label=label, shape="ramp", vmin=lo, vmax=hi, ramp=style.ramp)]


@register_legend_builder(PointCloudLayer)
def pointcloud_legend(layer: PointCloudLayer) -> list[LegendEntry]:
    style = layer.style
    cloud = layer.cloud
    if cloud is None or not isinstance(style, PointCloudStyle):
        return []
    mode = mode_of(style)
    try:
        if mode == "classification":
            values = cloud.attributes.get("classification")
            return colour_legend(style, values if values is not None else np.zeros(0, np.uint8))
        if mode == "rgb":
            return colour_legend(style)
        lo, hi = value_range(layer, style)
    except DataError:
        return []
    label = "Elevation" if mode == "elevation" else style.color_by
    return [LegendEntry(label=label, shape="ramp", vmin=lo, vmax=hi, ramp=style.ramp)]


# --- 2D rendering --------------------------------------------------------------------------


def _dataset_bounds(layer: PointCloudLayer, bounds) -> tuple[float, float, float, float]:
    """``bounds`` (layer CRS, after the transform) as a box in the file's own coordinates."""
    if not layer.has_transform:
        return bounds
    ds = layer.dataset
    zmin, zmax = ds.z_range
    xmin, ymin, xmax, ymax = bounds
    corners = np.array([[x, y, z] for x in (xmin, xmax) for y in (ymin, ymax) for z in (zmin, zmax)])
    back = apply_transform(corners, np.linalg.inv(layer.transform))
    lo, hi = back[:, :2].min(axis=0), back[:, :2].max(axis=0)
    return (float(lo[0]), float(lo[1]), float(hi[0]), float(hi[1]))


def _kernel(size: float) -> list[tuple[int, int]]:
    """Pixel offsets of a dot ``size`` px wide: a square up to 3 px, a disc above."""
    s = max(1, int(round(size)))
    lo = -(s // 2)
    offs = [(dx, dy) for dy in range(lo, lo + s) for dx in range(lo, lo + s)]
    if s > 3:
        c = (s - 1) / 2.0 + lo
        r2 = (s / 2.0) ** 2
        offs = [(dx, dy) for dx, dy in offs if (dx - c) ** 2 + (dy - c) ** 2 <= r2]
    return offs


def _check(cancel: Callable[[], bool] | None) -> None:
    if cancel is not None and cancel():
        raise CanceledError()


@register_layer_renderer(PointCloudLayer)
def render_pointcloud_layer(layer: PointCloudLayer, viewport: Viewport,
                            cancel: Callable[[], bool] | None = None) -> np.ndarray | None:
    """The layer as a premultiplied RGBA image of the viewport (None when nothing is in view)."""
    ds = layer.dataset
    style = layer.style if isinstance(layer.style, PointCloudStyle) else PointCloudStyle()
    if ds is None or ds.count == 0:
        return None
    reproject = not same_crs(layer.crs, viewport.crs)
    if reproject:
        try:
            view = transform_bounds(viewport.crs, layer.crs, viewport.extent)
        except CrsError:
            return None
    else:
        view = viewport.extent
    lb = layer.bounds
    if lb[2] < view[0] or lb[0] > view[2] or lb[3] < view[1] or lb[1] > view[3]:
        return None
    index = ds.sample(style.budget, _dataset_bounds(layer, view))
    if len(index) == 0:
        return None
    _check(cancel)
    index = np.sort(index)  # memory order: the gathers below run several times faster
    xyz = layer.points(index)
    x, y = xyz[:, 0], xyz[:, 1]
    if reproject:
        x, y = transformer(layer.crs, viewport.crs).transform(x, y)
    px, py = viewport.world_to_pixel(np.asarray(x), np.asarray(y))
    colours = point_colours(layer, style, index, xyz=xyz)
    _check(cancel)
    return splat(viewport.width, viewport.height, px, py, xyz[:, 2], colours, style.point_size)


_SPLAT = []


def _splat_kernel():
    if not _SPLAT:
        import numba

        @numba.njit(cache=True)
        def kernel(image, zbuf, px, py, z, colours, offs):
            height, width = zbuf.shape
            for i in range(px.shape[0]):
                fx, fy = px[i], py[i]
                if not (np.isfinite(fx) and np.isfinite(fy)):
                    continue
                ix, iy = int(np.floor(fx)), int(np.floor(fy))
                zi = z[i]
                for k in range(offs.shape[0]):
                    cx, cy = ix + offs[k, 0], iy + offs[k, 1]
                    if cx < 0 or cy < 0 or cx >= width or cy >= height:
                        continue
                    if zi >= zbuf[cy, cx]:
                        zbuf[cy, cx] = zi
                        for c in range(4):
                            image[cy, cx, c] = colours[i, c]

        _SPLAT.append(kernel)
    return _SPLAT[0]


def splat(width: int, height: int, px: np.ndarray, py: np.ndarray, z: np.ndarray, colours: np.ndarray,
          size: float) -> np.ndarray:
    """Opaque dots of ``size`` px at pixel positions (px, py) into a new premultiplied image;
    where dots overlap the higher point (larger ``z``) wins, as seen from above."""
    image = np.zeros((int(height), int(width), 4), dtype=np.uint8)
    zbuf = np.full((int(height), int(width)), -np.inf)
    offs = np.array(_kernel(size), dtype=np.int64).reshape(-1, 2)
    _splat_kernel()(image, zbuf, np.ascontiguousarray(px, dtype=np.float64),
                    np.ascontiguousarray(py, dtype=np.float64), np.ascontiguousarray(z, dtype=np.float64),
                    np.ascontiguousarray(colours, dtype=np.uint8), offs)
    return image


# --- identify ------------------------------------------------------------------------------


def _register_identifier() -> None:
    from gis_desk.analysis.identify import IdentifyResult, _plain, register_identifier

    @register_identifier(PointCloudLayer)
    def identify_pointcloud(layer: PointCloudLayer, x: float, y: float, tolerance: float) -> list:
        """The point nearest to (x, y) in plan (layer CRS, after the transform) within
        ``tolerance``, with its coordinates and every attribute."""
        from shapely.geometry import Point

        ds = layer.dataset
        if ds is None or ds.count == 0:
            return []
        reach = max(float(tolerance), 1e-9)
        box = _dataset_bounds(layer, (x - reach, y - reach, x + reach, y + reach))
        candidates = ds.sample(ds.count, box)
        if len(candidates) == 0:
            return []
        pts = layer.points(candidates)
        d = np.hypot(pts[:, 0] - x, pts[:, 1] - y)
        best = int(np.argmin(d))
        if d[best] > tolerance:
            return []
        i = int(candidates[best])
        px, py, pz = (float(v) for v in pts[best])
        attributes: dict[str, Any] = {"x": px, "y": py, "z": pz}
        for name, values in ds.cloud.attributes.items():
            v = values[i]
            attributes[name] = _plain(v) if np.ndim(v) == 0 else [_plain(e) for e in np.asarray(v)]
        if layer.epoch_label:
            attributes["epoch"] = layer.epoch_label
        return [IdentifyResult(layer=layer, feature_id=i, attributes=attributes,
                               geometry=Point(px, py, pz), distance=float(d[best]))]


_register_identifier()
