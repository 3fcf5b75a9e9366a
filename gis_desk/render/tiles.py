"""Drawing tile layers (offline basemaps from MBTiles or GeoPackage tiles).

In the tiles' own CRS each tile image is drawn into its pixel rectangle with bilinear
sampling.  When the viewport has another CRS (a Web Mercator basemap under a British National
Grid project), the tiles are first drawn onto a grid in their CRS covering the view, then that
image is warped onto the viewport like a raster.
"""

from __future__ import annotations

import numpy as np
import skia

from gis_desk.core.crs import same_crs, transform_bounds
from gis_desk.errors import CanceledError
from gis_desk.render import skia_util
from gis_desk.render.viewport import Viewport


def draw_tiles(dataset, viewport: Viewport, cancel=None) -> np.ndarray | None:
    """Tiles of ``dataset`` (same CRS as ``viewport``) drawn at the zoom closest to the view's
    pixel size; None when no tile covers the view."""
    image = skia_util.new_image(viewport.width, viewport.height)
    sampling = skia.SamplingOptions(skia.FilterMode.kLinear)
    drawn = 0
    with skia_util.surface_for(image) as canvas:
        for tile_bounds, rgba in dataset.tiles_for(viewport.extent, viewport.pixel_size):
            if cancel is not None and cancel():
                raise CanceledError()
            x0, y0 = viewport.world_to_pixel(tile_bounds[0], tile_bounds[3])
            x1, y1 = viewport.world_to_pixel(tile_bounds[2], tile_bounds[1])
            rgba = np.ascontiguousarray(rgba, dtype=np.uint8)
            if rgba.shape[-1] == 3:
                rgba = np.dstack([rgba, np.full(rgba.shape[:2], 255, np.uint8)])
            elif (rgba[..., 3] != 255).any():
                rgba = skia_util.premultiply(rgba)
            tile = skia_util.skia_image(rgba, copy=True)
            canvas.drawImageRect(tile, skia.Rect(float(x0), float(y0), float(x1), float(y1)), sampling)
            drawn += 1
    return image if drawn else None


def render_tile_layer(layer, viewport: Viewport, cancel=None) -> np.ndarray | None:
    """Premultiplied RGBA image of a ``TileLayer`` in ``viewport`` (None when out of view)."""
    from gis_desk.render.raster import _intersection, warp_rgba

    dataset = layer.dataset
    if same_crs(dataset.crs, viewport.crs):
        return draw_tiles(dataset, viewport, cancel)
    view_in_source = transform_bounds(viewport.crs, dataset.crs, viewport.extent)
    source_bounds = _intersection(view_in_source, dataset.bounds)
    if source_bounds is None:
        return None
    fx = (source_bounds[2] - source_bounds[0]) / (view_in_source[2] - view_in_source[0])
    fy = (source_bounds[3] - source_bounds[1]) / (view_in_source[3] - view_in_source[1])
    width = max(1, int(round(viewport.width * fx * 1.25)))
    height = max(1, int(round(viewport.height * fy * 1.25)))
    source_view = Viewport.fit(source_bounds, width, height, dataset.crs)
    image = draw_tiles(dataset, source_view, cancel)
    if image is None:
        return None
    return warp_rgba(image, source_view.transform, dataset.crs, viewport, "bilinear")
