"""Drawing raster layers: read the window in view, colour it by the style, warp when needed.

Same CRS as the viewport: the part of the view the raster covers is snapped to whole viewport
pixels and read at exactly that size (``RasterDataset.read_window`` picks the overview), so no
resampling happens here.  Other CRS: the view's extent is taken into the raster's CRS, read
there at about the view's resolution, coloured, and warped onto the viewport grid with
``rasterio.warp.reproject`` (premultiplied colours warp correctly with any resampling).

Style modes (``RasterStyle.mode``):
- ``rgb``: bands -> red, green, blue (and alpha for a 4th band), each stretched linearly from
  its vmin to vmax.  With no vmin/vmax set, 8-bit bands are drawn as they are (0..255) and
  other types are stretched by ``style.stretch`` (minmax or percent), computed once per band.
- ``singleband``: the first band through the ramp's 256-entry LUT between vmin and vmax.
- ``paletted``: the file's colour table (``dataset.colormap``, a dict value -> RGBA or a method
  taking the band).  Values with no entry are transparent.
- ``style.hillshade`` ("blend" / "only", single band only): the relief lit from an azimuth and
  altitude, computed from the heights AS READ for this view (numpy gradient at the rendered
  resolution, with the cell size in metres, so zooming out smooths it as a map should).
Masked cells (nodata, outside the raster) and ``style.nodata`` cells are fully transparent.
"""

from __future__ import annotations

import math
import threading
import weakref

import numpy as np

from gis_desk.core.classify import raster_stretch
from gis_desk.core.crs import same_crs, transform_bounds
from gis_desk.core.ramps import ramp_lut
from gis_desk.core.style import RasterStyle
from gis_desk.errors import CanceledError, DataError
from gis_desk.render import skia_util
from gis_desk.render.viewport import Viewport

_STRETCHES: "weakref.WeakKeyDictionary[object, dict]" = weakref.WeakKeyDictionary()
_STRETCH_LOCK = threading.Lock()
_MAX_SOURCE_FACTOR = 2.0  # never read more than twice the view's pixels for a warp


def _check(cancel) -> None:
    if cancel is not None and cancel():
        raise CanceledError()


def band_stretch(dataset, band: int, method: str) -> tuple[float, float]:
    """``raster_stretch`` of a band, computed once per dataset, band and method."""
    method = method if method in ("minmax", "percent") else "minmax"
    with _STRETCH_LOCK:
        cached = _STRETCHES.setdefault(dataset, {})
        if (band, method) not in cached:
            cached[(band, method)] = raster_stretch(dataset, band, method)
        return cached[(band, method)]


def bands_for(style: RasterStyle, dataset) -> list[int]:
    """The 1-based bands a style reads.  Raises ``DataError`` for a band the raster lacks."""
    count = int(getattr(dataset, "count", 1))
    if style.mode == "rgb":
        bands = list(style.bands) if count >= 3 else [1, 1, 1]
        if count >= 3 and len(bands) < 3:
            bands = [1, 2, 3]
    else:
        bands = [style.bands[0] if style.bands else 1]
    bad = [b for b in bands if not 1 <= b <= count]
    if bad:
        raise DataError(f"The style draws band {bad[0]} but the raster has {count} band(s)",
                        path=dataset.source.path, hint="choose existing bands in the layer's style")
    return bands


def _limits(style: RasterStyle, dataset, data: np.ndarray, index: int, band: int) -> tuple[float, float]:
    vmin = style.vmin[index] if style.vmin and len(style.vmin) > index else None
    vmax = style.vmax[index] if style.vmax and len(style.vmax) > index else None
    if vmin is None or vmax is None:
        if style.mode == "rgb" and data.dtype == np.uint8:
            auto = (0.0, 255.0)
        else:
            auto = band_stretch(dataset, band, style.stretch)
        vmin = auto[0] if vmin is None else vmin
        vmax = auto[1] if vmax is None else vmax
    return float(vmin), float(vmax)


def _scale_to_byte(values: np.ndarray, vmin: float, vmax: float) -> np.ndarray:
    if values.dtype == np.uint8 and vmin == 0.0 and vmax == 255.0:
        return values
    span = vmax - vmin
    if span == 0:
        return np.where(values >= vmax, 255, 0).astype(np.uint8)
    scaled = (values.astype(np.float32) - np.float32(vmin)) * np.float32(255.0 / span)
    return np.clip(scaled + 0.5, 0, 255).astype(np.uint8)


def _colormap(dataset, band: int) -> dict:
    cmap = getattr(dataset, "colormap", None)
    if callable(cmap):
        cmap = cmap(band)
    if not cmap:
        raise DataError("The raster has no colour table to draw it paletted", path=dataset.source.path,
                        hint="choose the single band or RGB style")
    return cmap


def cell_size_metres(crs, bounds, width: int, height: int) -> tuple[float, float]:
    """(x, y) size in metres of one cell of a ``width`` x ``height`` grid over ``bounds`` in
    ``crs``: degrees of a geographic CRS are converted at the grid's middle latitude, feet
    and other linear units by the CRS's unit factor."""
    from gis_desk.core.crs import to_crs

    dx = (bounds[2] - bounds[0]) / max(1, width)
    dy = (bounds[3] - bounds[1]) / max(1, height)
    c = to_crs(crs) if crs is not None else None
    if c is not None and c.is_geographic:
        lat = math.radians((bounds[1] + bounds[3]) / 2.0)
        return dx * 111_320.0 * max(math.cos(lat), 1e-6), dy * 110_574.0
    factor = 1.0
    if c is not None:
        try:
            factor = float(c.axis_info[0].unit_conversion_factor or 1.0)
        except (IndexError, AttributeError, TypeError):
            factor = 1.0
    return dx * factor, dy * factor


def hillshade(heights: np.ndarray, cell_x: float, cell_y: float, azimuth: float = 315.0,
              altitude: float = 45.0, z_factor: float = 1.0, invalid: np.ndarray | None = None) -> np.ndarray:
    """Illumination in [0, 1] of a height grid (rows north to south), Lambert's cosine law.

    ``cell_x``/``cell_y``: cell size in metres; the light comes FROM ``azimuth`` (degrees
    clockwise from north) at ``altitude`` degrees.  ``invalid`` cells are filled with their
    nearest valid height first so that nodata does not draw cliffs.
    """
    z = np.asarray(heights, dtype=np.float64)
    if invalid is not None and invalid.any():
        if invalid.all():
            return np.ones(z.shape, dtype=np.float32)
        from scipy.ndimage import distance_transform_edt

        idx = distance_transform_edt(invalid, return_distances=False, return_indices=True)
        z = z[tuple(idx)]
    if z.shape[0] < 2 or z.shape[1] < 2:
        return np.ones(z.shape, dtype=np.float32)
    d_row, d_col = np.gradient(z * z_factor, cell_y, cell_x)
    dzdx, dzdy = d_col, -d_row  # rows run south: north is minus the row direction
    az, alt = math.radians(azimuth), math.radians(altitude)
    lx, ly, lz = math.sin(az) * math.cos(alt), math.cos(az) * math.cos(alt), math.sin(alt)
    # surface normal (-dz/dx, -dz/dy, 1) / |.| dotted with the direction towards the light
    shade = (-dzdx * lx - dzdy * ly + lz) / np.sqrt(dzdx * dzdx + dzdy * dzdy + 1.0)
    return np.clip(shade, 0.0, 1.0).astype(np.float32)


def colorize(data, style: RasterStyle, dataset, bands: list[int],
             cell_size: tuple[float, float] | None = None) -> np.ndarray:
    """Premultiplied RGBA (rows, cols, 4) of a masked array (bands, rows, cols) read for
    ``bands`` under ``style``.  ``cell_size`` (metres) is needed for a hillshade; without it
    the style's hillshade is not drawn."""
    values = np.ma.getdata(data)
    invalid = np.ma.getmaskarray(data).any(axis=0)
    if style.nodata is not None:
        invalid |= (values == style.nodata).any(axis=0)
    if np.issubdtype(values.dtype, np.floating):
        invalid |= ~np.isfinite(values).all(axis=0)
    rows, cols = values.shape[1:]
    out = np.empty((rows, cols, 4), dtype=np.uint8)
    if style.mode == "singleband":
        vmin, vmax = _limits(style, dataset, values, 0, bands[0])
        lut = ramp_lut(style.ramp, style.invert_ramp)
        mode = getattr(style, "hillshade", "off")
        if mode in ("blend", "only") and cell_size is not None:
            shade = hillshade(values[0], cell_size[0], cell_size[1], style.hillshade_azimuth,
                              style.hillshade_altitude, style.hillshade_z_factor, invalid)
            if mode == "only":
                grey = np.clip(shade * 255.0 + 0.5, 0, 255).astype(np.uint8)
                out[..., 0] = out[..., 1] = out[..., 2] = grey
                out[..., 3] = 255
            else:
                out[:] = lut[_scale_to_byte(np.where(invalid, vmin, values[0]), vmin, vmax)]
                k = float(np.clip(style.hillshade_strength, 0.0, 1.0))
                factor = (1.0 - k) + k * shade
                out[..., :3] = np.clip(out[..., :3] * factor[..., None] + 0.5, 0, 255).astype(np.uint8)
        else:
            out[:] = lut[_scale_to_byte(np.where(invalid, vmin, values[0]), vmin, vmax)]
    elif style.mode == "paletted":
        table = _colormap(dataset, bands[0])
        keys = np.array([int(k) for k in table], dtype=np.int64)
        lut = np.zeros((int(keys.max()) + 2 if len(keys) else 1, 4), dtype=np.uint8)
        for key, color in table.items():
            if int(key) >= 0:
                lut[int(key)] = tuple(int(c) for c in (list(color) + [255])[:4])
        idx = values[0].astype(np.int64)
        missing = (idx < 0) | (idx >= len(lut) - 1)
        out[:] = lut[np.where(missing, len(lut) - 1, idx)]
    else:
        for i in range(3):
            vmin, vmax = _limits(style, dataset, values, i, bands[i])
            out[..., i] = _scale_to_byte(values[i], vmin, vmax)
        if len(bands) >= 4:
            out[..., 3] = _scale_to_byte(values[3], *_limits(style, dataset, values, 3, bands[3]))
        else:
            out[..., 3] = 255
    out[invalid] = 0
    if (out[..., 3] != 255).any():
        out = skia_util.premultiply(out)
    return out


def warp_rgba(rgba: np.ndarray, src_transform, src_crs, viewport: Viewport, resampling: str = "nearest") -> np.ndarray:
    """Warp a premultiplied RGBA image on the grid ``src_transform`` in ``src_crs`` onto the
    viewport's grid; areas the source does not cover are transparent."""
    from rasterio.warp import Resampling, reproject

    method = getattr(Resampling, resampling, Resampling.nearest)
    source = np.ascontiguousarray(np.moveaxis(rgba, -1, 0))
    dest = np.zeros((4, viewport.height, viewport.width), dtype=np.uint8)
    reproject(source=source, destination=dest, src_transform=src_transform, src_crs=src_crs,
              dst_transform=viewport.transform, dst_crs=viewport.crs, resampling=method,
              src_nodata=None, dst_nodata=None, init_dest_nodata=False, num_threads=1)
    return np.ascontiguousarray(np.moveaxis(dest, 0, -1))


def _intersection(a, b):
    box = (max(a[0], b[0]), max(a[1], b[1]), min(a[2], b[2]), min(a[3], b[3]))
    return box if box[2] > box[0] and box[3] > box[1] else None


def pixel_window(bounds, viewport: Viewport) -> tuple[int, int, int, int] | None:
    """(col0, row0, col1, row1) of the viewport pixels that ``bounds`` (viewport CRS) touches,
    clipped to the image; None when it is out of view."""
    px0, py0 = viewport.world_to_pixel(bounds[0], bounds[3])
    px1, py1 = viewport.world_to_pixel(bounds[2], bounds[1])
    c0, r0 = max(0, math.floor(px0 + 1e-6)), max(0, math.floor(py0 + 1e-6))
    c1, r1 = min(viewport.width, math.ceil(px1 - 1e-6)), min(viewport.height, math.ceil(py1 - 1e-6))
    if c1 <= c0 or r1 <= r0:
        return None
    return c0, r0, c1, r1


def render_raster_layer(layer, viewport: Viewport, cancel=None) -> np.ndarray | None:
    """Premultiplied RGBA image of a ``RasterLayer`` in ``viewport`` (None when out of view).
    Raises the dataset's ``ReaderError``, ``DataError`` for an impossible style, ``CanceledError``."""
    dataset = layer.dataset
    style = layer.style if isinstance(layer.style, RasterStyle) else RasterStyle()
    bands = bands_for(style, dataset)
    resampling = style.resampling if style.mode != "paletted" else "nearest"
    if style.mode == "singleband" and getattr(style, "hillshade", "off") in ("blend", "only") \
            and resampling == "nearest":
        # nearest-neighbour heights are flat steps when zoomed in: their gradient draws a
        # checkerboard.  A smooth surface (cubic) gives the slopes between the cells.
        resampling = "cubic"
    if same_crs(dataset.crs, viewport.crs):
        window = pixel_window(dataset.bounds, viewport)
        if window is None:
            return None
        c0, r0, c1, r1 = window
        x0, y1 = viewport.pixel_to_world(c0, r0)
        x1, y0 = viewport.pixel_to_world(c1, r1)
        data = dataset.read_window((float(x0), float(y0), float(x1), float(y1)), c1 - c0, r1 - r0,
                                   bands=bands, resampling=resampling)
        _check(cancel)
        out = skia_util.new_image(viewport.width, viewport.height)
        cell = cell_size_metres(dataset.crs, (x0, y0, x1, y1), c1 - c0, r1 - r0)
        out[r0:r1, c0:c1] = colorize(data, style, dataset, bands, cell)
        return out
    view_in_source = transform_bounds(viewport.crs, dataset.crs, viewport.extent)
    source_bounds = _intersection(view_in_source, dataset.bounds)
    if source_bounds is None:
        return None
    fx = (source_bounds[2] - source_bounds[0]) / (view_in_source[2] - view_in_source[0])
    fy = (source_bounds[3] - source_bounds[1]) / (view_in_source[3] - view_in_source[1])
    width = int(np.clip(round(viewport.width * fx * 1.25), 1, _MAX_SOURCE_FACTOR * viewport.width))
    height = int(np.clip(round(viewport.height * fy * 1.25), 1, _MAX_SOURCE_FACTOR * viewport.height))
    data = dataset.read_window(source_bounds, width, height, bands=bands, resampling=resampling)
    _check(cancel)
    rgba = colorize(data, style, dataset, bands, cell_size_metres(dataset.crs, source_bounds, width, height))
    _check(cancel)
    from rasterio.transform import from_bounds

    return warp_rgba(rgba, from_bounds(*source_bounds, width, height), dataset.crs, viewport, resampling)
