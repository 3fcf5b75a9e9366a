"""Render layers and whole maps into premultiplied RGBA numpy arrays (height, width, 4) uint8.

ONE table, ``LAYER_RENDERERS``, maps a layer class to the function drawing it; later layer kinds
(point clouds, photos...) add theirs with ``@register_layer_renderer(TheirLayer)``.  A renderer
is called as ``fn(layer, viewport, cancel)`` and returns an image the size of the viewport (or
None when nothing of the layer is in view).  Layer opacity is NOT applied by renderers: the
compositor applies it, so the canvas can change opacity without redrawing.

Everything here is Qt-free and thread-safe: the Qt canvas calls it from worker threads and the
CLI (``gis-desk render``) calls it directly, so both draw exactly the same map.
"""

from __future__ import annotations

import logging
from typing import Callable, Iterable

import numpy as np
import skia

from gis_desk.core.layer import Layer, RasterLayer, TileLayer, VectorLayer
from gis_desk.errors import CanceledError, GisDeskError
from gis_desk.render import skia_util
from gis_desk.render.viewport import Viewport

log = logging.getLogger(__name__)

LayerRenderer = Callable[[Layer, Viewport, Callable[[], bool] | None], np.ndarray | None]
LAYER_RENDERERS: dict[type[Layer], LayerRenderer] = {}


def register_layer_renderer(layer_cls: type[Layer]):
    """Decorator: ``fn(layer, viewport, cancel) -> image | None`` draws layers of ``layer_cls``
    (and its subclasses, unless they register their own)."""

    def deco(fn: LayerRenderer) -> LayerRenderer:
        LAYER_RENDERERS[layer_cls] = fn
        return fn

    return deco


def renderer_for(layer: Layer) -> LayerRenderer | None:
    """The registered renderer of the layer's class or its nearest base class, else None."""
    for klass in type(layer).__mro__:
        if klass in LAYER_RENDERERS:
            return LAYER_RENDERERS[klass]
    return None


def render_layer(layer: Layer, viewport: Viewport, cancel: Callable[[], bool] | None = None) -> np.ndarray | None:
    """One layer as a premultiplied RGBA image (viewport.height, viewport.width, 4), opacity
    NOT applied; None for a broken layer, a kind nobody draws, or nothing in view.

    ``cancel()`` returning True stops the work with ``CanceledError``.  Reading or style
    problems raise the typed error (``ReaderError``, ``DataError``, ``CrsError``).
    """
    if layer.is_broken or layer.dataset is None:
        return None
    fn = renderer_for(layer)
    if fn is None:
        log.debug("no renderer registered for %s", type(layer).__name__)
        return None
    if cancel is not None and cancel():
        raise CanceledError()
    image = fn(layer, viewport, cancel)
    if image is not None and (image.shape != (viewport.height, viewport.width, 4) or image.dtype != np.uint8):
        raise ValueError(f"renderer for {type(layer).__name__} returned {image.shape} {image.dtype}")
    return image


def compose(images_with_opacity: Iterable[tuple[np.ndarray | None, float]], width: int, height: int,
            background: str | None = None) -> np.ndarray:
    """Composite premultiplied RGBA images bottom (first) to top with source-over, each at its
    opacity (0..1); ``background`` ('#rrggbb[aa]' or None for transparent) goes underneath.
    None images are skipped.  Returns a new (height, width, 4) uint8 premultiplied image."""
    out = skia_util.new_image(width, height)
    surface = skia_util.surface_for(out)
    with surface as canvas:
        if background:
            canvas.clear(skia_util.color4f(background))
        for image, opacity in images_with_opacity:
            if image is None or opacity <= 0:
                continue
            if image.shape[:2] != (height, width):
                raise ValueError(f"image of {image.shape[1]}x{image.shape[0]} cannot be composed at {width}x{height}")
            paint = skia.Paint(Alphaf=float(min(opacity, 1.0)))
            canvas.drawImage(skia_util.skia_image(image), 0, 0, skia.SamplingOptions(), paint)
    return out


def render_map(layers: Iterable[Layer], viewport: Viewport, background: str | None = "#ffffff",
               decorations: dict | bool | None = None, cancel: Callable[[], bool] | None = None) -> np.ndarray:
    """The map of the visible ``layers`` (index 0 at the bottom) in ``viewport``, composed with
    their opacities over ``background``, with optional decorations on top (True for a scale
    bar and north arrow, or a dict of ``draw_decorations`` keyword arguments).

    A layer failing with a ``GisDeskError`` is logged and left out so one bad file never blanks
    the whole map; ``CanceledError`` propagates.
    """
    layers = list(layers)
    drawn = []
    for layer in layers:
        if not layer.visible or layer.opacity <= 0:
            continue
        try:
            image = render_layer(layer, viewport, cancel)
        except CanceledError:
            raise
        except GisDeskError as exc:
            log.warning("layer %r not drawn: %s", layer.name, exc)
            continue
        drawn.append((image, layer.opacity))
    out = compose(drawn, viewport.width, viewport.height, background)
    if decorations:
        from gis_desk.render.decorations import draw_decorations

        options = dict(decorations) if isinstance(decorations, dict) else {}
        options.setdefault("layers", layers)
        draw_decorations(out, viewport, **options)
    return out


def _register_builtin_renderers() -> None:
    from gis_desk.render.raster import render_raster_layer
    from gis_desk.render.tiles import render_tile_layer
    from gis_desk.render.vector import render_vector_layer

    register_layer_renderer(VectorLayer)(render_vector_layer)
    register_layer_renderer(RasterLayer)(render_raster_layer)
    register_layer_renderer(TileLayer)(render_tile_layer)
    # Later layer kinds register themselves on import; importing them here means any map
    # (canvas, CLI render, report) can draw a project holding them.
    import gis_desk.render.footage  # noqa: F401
    import gis_desk.render.photos  # noqa: F401
    import gis_desk.render.pointcloud  # noqa: F401


_register_builtin_renderers()
