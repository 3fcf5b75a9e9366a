"""Decorations: the scale bar is true to the viewport; legend, arrow, title draw."""

import numpy as np
import pytest
from shapely.geometry import box

from gis_desk.core.classify import categorised_style
from gis_desk.render.decorations import draw_decorations, nice_length, scale_bar_spec
from gis_desk.render.viewport import Viewport

from render_fakes import vector_layer


@pytest.mark.parametrize("pixel_size, label, metres", [(1.0, "200 m", 200), (10.0, "2 km", 2000),
                                                       (0.01, "2 m", 2), (37.0, "10 km", 10_000)])
def test_scale_bar_length_matches_label(pixel_size, label, metres):
    view = Viewport((0, 0, 1200 * pixel_size, 800 * pixel_size), 1200, 800, "EPSG:27700")
    bar = scale_bar_spec(view)
    assert bar.label == label and bar.length_m == metres
    assert bar.length_px == pytest.approx(metres / pixel_size)


def test_nice_lengths():
    assert [nice_length(v) for v in (1, 1.9, 2, 4.99, 5, 9.9, 730, 0.07)] == [1, 1, 2, 2, 5, 5, 500, 0.05]


def test_drawn_scale_bar_spans_its_length_in_pixels():
    view = Viewport((0, 0, 1000, 500), 1000, 500, "EPSG:27700")  # 1 m per px -> 200 m bar
    image = np.full((500, 1000, 4), 255, np.uint8)
    draw_decorations(image, view, scale_bar=True, north_arrow=False)
    bar = scale_bar_spec(view)
    # the bar's outline rows are the rows with the most inked (not white, not panel) pixels
    inked = image[..., 0] < 200
    counts = inked.sum(axis=1)
    rows = np.flatnonzero(counts >= 0.9 * counts.max())
    cols = np.flatnonzero(inked[rows].any(axis=0))
    assert cols.max() - cols.min() + 1 == pytest.approx(bar.length_px, abs=2)


def test_scale_bar_in_geographic_crs_uses_ground_distance():
    view = Viewport((-2.5, 53.3, -2.3, 53.4), 1000, 500, "EPSG:4326")
    metres_per_px = 0.2 / 1000 * 111_320 * np.cos(np.radians(53.35))
    bar = scale_bar_spec(view)
    assert bar.length_px == pytest.approx(bar.length_m / metres_per_px, rel=0.01)


def test_decorations_draw_legend_arrow_title_attribution():
    layer = vector_layer([box(0, 0, 10, 10), box(20, 0, 30, 10)], kind=["a", "b"], name="Zones")
    layer.style = categorised_style(layer.dataset.frame, "kind")
    view = Viewport((0, 0, 600, 400), 600, 400, "EPSG:27700")
    blank = np.zeros((400, 600, 4), np.uint8)
    arrow = draw_decorations(blank.copy(), view, scale_bar=False, north_arrow=True)
    assert arrow[:80, 500:].any() and not arrow[:, :400].any()
    legend = draw_decorations(blank.copy(), view, layers=[layer], scale_bar=False, north_arrow=False, legend=True)
    assert legend[200:, 450:].any() and not legend[:, :300].any()
    # the legend swatches carry the category colours
    colors = {tuple(c) for c in legend[legend[..., 3] == 255][:, :3].tolist()}
    for category in layer.style.categories:
        hexa = category.symbol.fill
        assert tuple(int(hexa[i:i + 2], 16) for i in (1, 3, 5)) in colors
    titled = draw_decorations(blank.copy(), view, scale_bar=False, north_arrow=False, title="Map",
                              attribution="© Crown copyright")
    assert titled[:50, 250:350].any() and titled[385:, 450:].any()
