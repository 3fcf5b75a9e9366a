"""Viewport: transforms, aspect, navigation, scale."""

import numpy as np
import pytest

from gis_desk.render.viewport import Viewport


def test_extent_grown_to_aspect_about_centre():
    vp = Viewport((0, 0, 100, 100), 200, 100, "EPSG:27700")
    assert vp.extent == pytest.approx((-50, 0, 150, 100))
    assert vp.pixel_size == pytest.approx(1.0)
    assert vp.center == pytest.approx((50, 50))
    fitted = Viewport.fit((0, 0, 100, 10), 100, 100, "EPSG:27700", margin=0.1)
    assert fitted.extent == pytest.approx((-10, -55, 110, 65))


def test_pixel_origin_is_top_left_corner_and_round_trip():
    vp = Viewport((1000, 2000, 1400, 2300), 400, 300, "EPSG:27700")
    assert vp.world_to_pixel(1000, 2300) == pytest.approx((0, 0))
    assert vp.world_to_pixel(1400, 2000) == pytest.approx((400, 300))
    assert vp.pixel_to_world(0.5, 0.5) == pytest.approx((1000.5, 2299.5))
    xs, ys = np.random.default_rng(1).uniform(0, 400, 50), np.random.default_rng(2).uniform(0, 300, 50)
    wx, wy = vp.pixel_to_world(xs, ys)
    back = vp.world_to_pixel(wx, wy)
    np.testing.assert_allclose(back[0], xs)
    np.testing.assert_allclose(back[1], ys)


def test_navigation():
    vp = Viewport((0, 0, 100, 50), 200, 100, "EPSG:27700")
    moved = vp.panned(10, 20)  # shows what lay right and below
    assert moved.extent == pytest.approx((5, -10, 105, 40))
    zoom = vp.zoomed(2.0, about_px=(0, 0))  # top-left corner stays put
    assert zoom.extent == pytest.approx((0, 25, 50, 50))
    assert zoom.pixel_to_world(0, 0) == pytest.approx(vp.pixel_to_world(0, 0))
    assert vp.zoomed(0.5).extent == pytest.approx((-50, -25, 150, 75))
    bigger = vp.resized(400, 100)
    assert bigger.pixel_size == pytest.approx(vp.pixel_size) and bigger.center == pytest.approx(vp.center)
    assert vp.with_extent((0, 0, 10, 10)).extent == pytest.approx((-5, 0, 15, 10))
    with pytest.raises(ValueError):
        vp.zoomed(0)
    with pytest.raises(ValueError):
        Viewport((0, 0, 0, 10), 10, 10, "EPSG:27700")
    with pytest.raises(ValueError):
        Viewport((0, 0, 10, 10), 0, 10, "EPSG:27700")


def test_scale_denominator_metres_and_degrees():
    vp = Viewport((0, 0, 1920, 1080), 1920, 1080, "EPSG:27700")  # 1 m per px
    assert vp.scale_denominator(96) == pytest.approx(1 / (0.0254 / 96))
    # 1 degree of longitude at 53.4 N is ~66.5 km
    geo = Viewport((-2.5, 53.3, -1.5, 53.5), 1000, 200, "EPSG:4326")
    metres_per_px = geo.scale_denominator(96) * 0.0254 / 96
    assert metres_per_px == pytest.approx(111_320 * np.cos(np.radians(53.4)) / 1000, rel=0.01)
