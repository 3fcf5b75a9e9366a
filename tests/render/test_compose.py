"""Compositing order and opacity; the layer-renderer table; render_map."""

import numpy as np
import pytest
from shapely.geometry import box

from gis_desk.core.layer import BrokenLayer, Layer
from gis_desk.core.style import SingleSymbolStyle, Symbol
from gis_desk.render.renderer import (LAYER_RENDERERS, compose, register_layer_renderer, render_layer,
                                      render_map)
from gis_desk.render.viewport import Viewport

from render_fakes import vector_layer

VIEW = Viewport((0, 0, 10, 10), 10, 10, "EPSG:27700")


def solid(color, alpha=255):
    image = np.zeros((10, 10, 4), np.uint8)
    image[...] = [c * alpha // 255 for c in color] + [alpha]
    return image


def test_compose_bottom_to_top_with_opacity():
    red, blue = solid((255, 0, 0)), solid((0, 0, 255))
    assert tuple(compose([(red, 1.0), (blue, 1.0)], 10, 10)[0, 0]) == (0, 0, 255, 255)
    assert tuple(compose([(blue, 1.0), (red, 1.0)], 10, 10)[0, 0]) == (255, 0, 0, 255)
    half = compose([(red, 1.0), (blue, 0.5)], 10, 10)[0, 0]
    assert half[3] == 255 and abs(int(half[0]) - 128) <= 1 and abs(int(half[2]) - 128) <= 1
    over_white = compose([(blue, 0.25)], 10, 10, background="#ffffff")[0, 0]
    assert abs(int(over_white[0]) - 191) <= 1 and over_white[2] == 255
    transparent = compose([(None, 1.0), (red, 0.0)], 10, 10)
    assert not transparent.any()
    premul = compose([(solid((255, 0, 0), alpha=128), 1.0)], 10, 10)[0, 0]
    assert tuple(premul) == (128, 0, 0, 128)  # premultiplied stays premultiplied
    with pytest.raises(ValueError):
        compose([(np.zeros((5, 5, 4), np.uint8), 1.0)], 10, 10)


def test_render_map_draws_visible_layers_in_order_with_opacity():
    red = vector_layer([box(0, 0, 10, 10)], style=SingleSymbolStyle(Symbol(fill="#ff0000ff", stroke_width=0)))
    blue = vector_layer([box(0, 0, 5, 10)], style=SingleSymbolStyle(Symbol(fill="#0000ffff", stroke_width=0)))
    image = render_map([red, blue], VIEW)
    assert tuple(image[5, 2]) == (0, 0, 255, 255) and tuple(image[5, 8]) == (255, 0, 0, 255)
    blue.opacity = 0.5
    mixed = render_map([red, blue], VIEW)[5, 2]
    assert abs(int(mixed[0]) - 128) <= 1 and abs(int(mixed[2]) - 128) <= 1
    blue.visible = False
    assert tuple(render_map([red, blue], VIEW)[5, 2]) == (255, 0, 0, 255)
    red.visible = False
    assert tuple(render_map([red, blue], VIEW, background="#00ff00")[5, 2]) == (0, 255, 0, 255)


def test_broken_layer_is_none_and_bad_style_is_left_out(caplog):
    broken = BrokenLayer({"name": "gone", "kind": "vector", "source": {"path": "/nowhere.gpkg"}}, "missing")
    assert render_layer(broken, VIEW) is None
    bad = vector_layer([box(0, 0, 10, 10)], v=[1])
    from gis_desk.core.classify import categorised_style

    style = categorised_style(bad.dataset.frame, "v")
    style.field = "gone"
    bad.style = style
    image = render_map([broken, bad], VIEW)
    assert tuple(image[5, 5]) == (255, 255, 255, 255)
    assert "gone" in caplog.text


def test_new_layer_kinds_plug_into_the_one_table():
    class CloudLayer(Layer):
        kind = "test-cloud"

    class FakeData:
        crs = None
        bounds = (0, 0, 1, 1)
        source = None

    calls = []

    @register_layer_renderer(CloudLayer)
    def draw(layer, viewport, cancel):
        calls.append(viewport)
        return np.full((viewport.height, viewport.width, 4), 255, np.uint8)

    try:
        image = render_map([CloudLayer(FakeData(), name="cloud")], VIEW, background=None)
        assert calls == [VIEW] and (image == 255).all()
    finally:
        LAYER_RENDERERS.pop(CloudLayer)
