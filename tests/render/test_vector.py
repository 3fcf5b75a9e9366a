"""Vector drawing: exact pixels, holes, reprojection, styles, selection, labels."""

import numpy as np
import pyproj
import pytest
from shapely.geometry import LineString, MultiPolygon, Point, Polygon, box

from gis_desk.core.classify import categorised_style, graduated_style
from gis_desk.core.style import LabelSettings, SingleSymbolStyle, Symbol
from gis_desk.errors import CanceledError, DataError
from gis_desk.render.renderer import render_layer
from gis_desk.render.viewport import Viewport

from render_fakes import vector_layer

RED = Symbol(fill="#ff0000ff", stroke="#00000000", stroke_width=0)
VIEW = Viewport((0, 0, 100, 100), 100, 100, "EPSG:27700")  # 1 m per pixel, y up


def rgba(image, x, y):
    """Pixel at map coordinates (x, y) of VIEW."""
    col, row = VIEW.world_to_pixel(x, y)
    return tuple(image[int(row), int(col)])


def test_polygon_with_hole_fills_exactly_the_expected_pixels():
    shape = Polygon(box(10, 10, 90, 90).exterior.coords, [box(40, 40, 60, 60).exterior.coords[::-1]])
    image = render_layer(vector_layer([shape], style=SingleSymbolStyle(RED)), VIEW)
    assert image.shape == (100, 100, 4) and image.dtype == np.uint8 and image.flags.c_contiguous
    expected = np.zeros((100, 100), bool)
    expected[10:90, 10:90] = True  # rows 10..89 are y 90..10
    expected[40:60, 40:60] = False
    alpha = image[..., 3]
    assert np.array_equal(alpha == 255, expected)
    assert np.array_equal(alpha == 0, ~expected)
    assert rgba(image, 20, 20) == (255, 0, 0, 255)
    assert rgba(image, 50, 50) == (0, 0, 0, 0)  # in the hole
    assert rgba(image, 5, 50) == (0, 0, 0, 0)


def test_hole_stays_empty_whatever_the_ring_orientation_and_multipolygons_fill():
    # holes given with the same orientation as the shell, plus a second part far off
    shape = MultiPolygon([
        Polygon(box(10, 10, 50, 50).exterior.coords, [box(20, 20, 30, 30).exterior.coords]),
        box(60, 60, 80, 80),
    ])
    image = render_layer(vector_layer([shape], style=SingleSymbolStyle(RED)), VIEW)
    assert rgba(image, 15, 15)[3] == 255
    assert rgba(image, 25, 25)[3] == 0
    assert rgba(image, 70, 70)[3] == 255
    assert rgba(image, 55, 55)[3] == 0


def test_overlapping_features_of_one_class_do_not_cancel():
    image = render_layer(vector_layer([box(10, 10, 60, 60), box(40, 40, 90, 90)], style=SingleSymbolStyle(RED)), VIEW)
    assert rgba(image, 50, 50)[3] == 255


def test_layer_in_wgs84_lands_where_pyproj_says_in_bng_view():
    to_bng = pyproj.Transformer.from_crs(4326, 27700, always_xy=True)
    lon, lat = -2.32, 53.42
    e, n = to_bng.transform(lon, lat)
    view = Viewport((e - 500, n - 500, e + 500, n + 500), 200, 200, "EPSG:27700")
    d = 0.0015  # about 100 m
    image = render_layer(vector_layer([box(lon - d, lat - d / 1.6, lon + d, lat + d / 1.6)], crs="EPSG:4326",
                                      style=SingleSymbolStyle(RED)), view)
    rows, cols = np.nonzero(image[..., 3] > 127)
    centre = view.pixel_to_world(cols.mean() + 0.5, rows.mean() + 0.5)
    assert centre == pytest.approx((e, n), abs=view.pixel_size)
    corner = to_bng.transform(lon + d, lat + d / 1.6)
    px, py = view.world_to_pixel(*corner)
    assert image[int(py) + 2, int(px) - 2, 3] == 255 and image[int(py) - 2, int(px) + 2, 3] == 0


def test_categorised_and_graduated_colours_per_feature():
    cells = [box(10, 10, 30, 30), box(40, 10, 60, 30), box(70, 10, 90, 30)]
    layer = vector_layer(cells, kind=["a", "b", "a"], score=[1.0, 5.0, 9.0])
    layer.style = categorised_style(layer.dataset.frame, "kind", ramp="Set1")
    image = render_layer(layer, VIEW)
    red, blue = (228, 26, 28), (55, 126, 184)  # Set1's first two colours
    assert rgba(image, 20, 20)[:3] == red and rgba(image, 80, 20)[:3] == red
    assert rgba(image, 50, 20)[:3] == blue

    layer.style = graduated_style(layer.dataset.frame, "score", method="equal_interval", n=3, ramp="Greys")
    image = render_layer(layer, VIEW)
    greys = [rgba(image, x, 20)[0] for x in (20, 50, 80)]
    assert greys[0] > greys[1] > greys[2]  # Greys runs light to dark
    expected = [c.symbol.fill for c in layer.style.classes]
    assert [f"#{v:02x}" for v in greys] == [e[:3] for e in expected] or all(
        abs(v - int(e[1:3], 16)) <= 1 for v, e in zip(greys, expected))


def test_hidden_category_and_missing_field():
    layer = vector_layer([box(10, 10, 30, 30), box(40, 10, 60, 30)], kind=["a", "b"])
    style = categorised_style(layer.dataset.frame, "kind")
    style.categories[1].visible = False
    layer.style = style
    image = render_layer(layer, VIEW)
    assert rgba(image, 20, 20)[3] == 255 and rgba(image, 50, 20)[3] == 0
    style.field = "no_such_field"
    with pytest.raises(DataError, match="no_such_field"):
        render_layer(layer, VIEW)


def test_selection_drawn_on_top_in_yellow():
    layer = vector_layer([box(10, 10, 40, 40), box(60, 60, 90, 90)], style=SingleSymbolStyle(RED))
    layer.selection = {1}
    image = render_layer(layer, VIEW)
    r, g, b, a = rgba(image, 75, 75)
    assert r > 200 and g > 200 and b < 80 and a == 255
    assert rgba(image, 25, 25) == (255, 0, 0, 255)


def test_lines_and_point_markers():
    lines = vector_layer([LineString([(0, 50), (100, 50)])],
                         style=SingleSymbolStyle(Symbol(stroke="#0000ffff", stroke_width=3)))
    image = render_layer(lines, VIEW)
    assert image[50, 50, 2] == 255 and image[50, 50, 3] == 255 and image[40, 50, 3] == 0
    for marker in ("circle", "square", "triangle", "diamond"):
        pts = vector_layer([Point(20, 80), Point(70, 30)],
                           style=SingleSymbolStyle(Symbol(fill="#00ff00ff", stroke_width=0, marker=marker, size=10)))
        image = render_layer(pts, VIEW)
        assert rgba(image, 20, 80)[1::2] == (255, 255) and rgba(image, 70, 30)[3] == 255
        assert rgba(image, 50, 50)[3] == 0
        assert 30 < (image[..., 3] > 127).sum() < 2 * 110, marker


def test_labels_appear_near_their_anchor():
    cells = [box(5, 5, 45, 45), box(55, 55, 95, 95)]
    layer = vector_layer(cells, style=SingleSymbolStyle(Symbol(fill="#00000000", stroke_width=0)),
                         place=["Sale", "Hale"])
    plain = render_layer(layer, VIEW)
    layer.style = SingleSymbolStyle(Symbol(fill="#00000000", stroke_width=0), labels=LabelSettings("place"))
    labelled = render_layer(layer, VIEW)
    changed = np.any(labelled != plain, axis=2)
    for x, y in ((25, 25), (75, 75)):
        col, row = (int(v) for v in VIEW.world_to_pixel(x, y))
        assert changed[row - 8:row + 8, col - 20:col + 20].sum() > 20
    assert not changed[:, :3].any()  # nothing far from the anchors


def test_labels_do_not_overlap():
    pts = [Point(50, 50), Point(51, 50), Point(50, 51)]
    layer = vector_layer(pts, style=SingleSymbolStyle(Symbol(fill="#00000000", stroke_width=0, size=1),
                                                      labels=LabelSettings("t", halo=None)), t=["WWW"] * 3)
    from gis_desk.render import labels, vector

    prepared = vector.prepared_geometry(layer.dataset, VIEW.crs)
    import skia

    surface = skia.Surface(100, 100)
    with surface as canvas:
        drawn = labels.draw_layer_labels(canvas, layer.dataset.frame, prepared, VIEW, np.ones(3, bool),
                                         layer.style.labels)
    assert drawn == 1


def test_out_of_view_is_none_and_cancel_raises():
    layer = vector_layer([box(500, 500, 600, 600)], style=SingleSymbolStyle(RED))
    assert render_layer(layer, VIEW) is None
    layer = vector_layer([box(10, 10, 20, 20)], style=SingleSymbolStyle(RED))
    with pytest.raises(CanceledError):
        render_layer(layer, VIEW, cancel=lambda: True)


def test_zoomed_in_far_keeps_geometry_exact():
    # a 100 km polygon seen through a 10 m window: vertices are ~1e6 px away
    layer = vector_layer([Polygon([(0, 0), (100_000, 0), (100_000, 100_000)])], style=SingleSymbolStyle(RED))
    view = Viewport((50_000, 49_995, 50_010, 50_005), 100, 100, "EPSG:27700")  # diagonal through the middle
    image = render_layer(layer, view)
    cols, rows = np.meshgrid(np.arange(100) + 0.5, np.arange(100) + 0.5)
    x, y = view.pixel_to_world(cols, rows)
    distance_px = (x - y) / np.sqrt(2) / view.pixel_size
    alpha = image[..., 3]
    assert np.all(alpha[distance_px > 1] == 255) and np.all(alpha[distance_px < -1] == 0)
