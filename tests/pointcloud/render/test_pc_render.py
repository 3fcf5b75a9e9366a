"""Point-cloud colouring (one colouring for 2D, 3D and the report), the 2D renderer, legend and
identify, on small synthetic clouds whose right answers are known."""

from __future__ import annotations

import numpy as np
import pytest

from gis_desk.analysis.identify import identify
from gis_desk.core.crs import to_crs
from gis_desk.core.datasets import DataSource
from gis_desk.core.legend import legend_entries
from gis_desk.core.pointcloud import PointCloud, PointCloudDataset, PointCloudLayer, PointCloudStyle
from gis_desk.core.project import Project
from gis_desk.core.ramps import ramp_lut
from gis_desk.errors import CanceledError, DataError
from gis_desk.render.pointcloud import (ASPRS_CLASSES, NODATA_COLOUR, colour_legend, point_colours,
                                        render_pointcloud_layer, style_for_field, value_range)
from gis_desk.render.renderer import render_layer
from gis_desk.render.viewport import Viewport

BNG = to_crs("EPSG:27700")


def _layer(cloud: PointCloud, **kw) -> PointCloudLayer:
    return PointCloudLayer(PointCloudDataset(DataSource("/tmp/synthetic.laz"), cloud, "LAZ"), **kw)


def _line_cloud(n: int = 101) -> PointCloud:
    """z = 0..100 along x; a change field from -0.05 to +0.05."""
    x = np.linspace(0, 100, n)
    xyz = np.column_stack([530_000 + x, np.full(n, 180_000.0), x])
    return PointCloud(xyz, {"m3c2_distance": np.linspace(-0.05, 0.05, n),
                            "intensity": np.arange(n, dtype=np.uint16) * 100,
                            "classification": np.array([2, 6, 17, 9, 77] * (n // 5) + [2] * (n % 5), np.uint8)},
                      BNG)


# --- point_colours ---------------------------------------------------------------------------


def test_elevation_follows_the_ramp_and_the_2_98_percentiles():
    cloud = _line_cloud()
    style = PointCloudStyle(color_by="elevation", ramp="viridis")
    lo, hi = value_range(cloud, style)
    assert lo == pytest.approx(2.0) and hi == pytest.approx(98.0)
    colours = point_colours(cloud, style)
    lut = ramp_lut("viridis")
    assert colours.shape == (101, 4) and colours.dtype == np.uint8 and (colours[:, 3] == 255).all()
    np.testing.assert_array_equal(colours[0], lut[0])        # below the range: clamped to the low end
    np.testing.assert_array_equal(colours[100], lut[255])    # above: the high end
    np.testing.assert_array_equal(colours[50], lut[int((50 - 2) * 256 / 96)])  # 256 equal bins
    # only the selected points, in the order given
    np.testing.assert_array_equal(point_colours(cloud, style, [100, 0]), colours[[100, 0]])


def test_elevation_uses_the_layer_transform():
    cloud = _line_cloud()
    style = PointCloudStyle(color_by="elevation", value_range=[0.0, 100.0])
    lifted = np.eye(4)
    lifted[2, 3] = 50.0
    plain = point_colours(_layer(cloud), style)
    moved = point_colours(_layer(cloud, transform=lifted), style)
    np.testing.assert_array_equal(moved[0], plain[50])  # z 0 lifted to 50 looks like z 50
    np.testing.assert_array_equal(moved[100], plain[100])


def test_change_field_is_symmetric_on_a_diverging_ramp():
    cloud = _line_cloud()
    style = style_for_field(PointCloudStyle(ramp="viridis"), "m3c2_distance")
    assert style.ramp == "RdBu" and style.value_range is None
    lo, hi = value_range(cloud, style)
    assert lo == pytest.approx(-hi) and hi == pytest.approx(np.percentile(np.abs(np.linspace(-0.05, 0.05, 101)), 98))
    colours = point_colours(cloud, style)
    lut = ramp_lut("RdBu")
    np.testing.assert_array_equal(colours[50], lut[128])  # zero change: the neutral middle
    np.testing.assert_array_equal(colours[0], lut[0])
    np.testing.assert_array_equal(colours[100], lut[255])
    # undefined distances (M3C2 without neighbours) are grey, not an end of the ramp
    cloud.attributes["m3c2_distance"][10] = np.nan
    grey = point_colours(cloud, style, [10])[0]
    assert "#%02x%02x%02x" % tuple(grey[:3]) == NODATA_COLOUR


def test_rgb_16_bit_and_8_bit_in_16():
    xyz = np.zeros((2, 3))
    wide = PointCloud(xyz, {"red": np.array([65535, 256], np.uint16), "green": np.array([0, 512], np.uint16),
                            "blue": np.array([32768, 0], np.uint16)})
    np.testing.assert_array_equal(point_colours(wide, PointCloudStyle(color_by="rgb")),
                                  [[255, 0, 128, 255], [1, 2, 0, 255]])
    narrow = PointCloud(xyz, {"red": np.array([255, 10], np.uint16), "green": np.array([0, 20], np.uint16),
                              "blue": np.array([128, 30], np.uint16)})
    np.testing.assert_array_equal(point_colours(narrow, PointCloudStyle(color_by="rgb")),
                                  [[255, 0, 128, 255], [10, 20, 30, 255]])
    with pytest.raises(DataError, match="no RGB"):
        point_colours(_line_cloud(), PointCloudStyle(color_by="rgb"))


def test_intensity_and_classification():
    cloud = _line_cloud()
    style = PointCloudStyle(color_by="intensity", ramp="Greys", value_range=[0, 10_000])
    colours = point_colours(cloud, style)
    lut = ramp_lut("Greys")
    np.testing.assert_array_equal(colours[0], lut[0])
    np.testing.assert_array_equal(colours[100], lut[255])
    classes = point_colours(cloud, PointCloudStyle(color_by="classification"), [0, 1, 2, 3, 4])
    hexes = ["#%02x%02x%02x" % tuple(c[:3]) for c in classes]
    assert hexes[:4] == [ASPRS_CLASSES[c][1] for c in (2, 6, 17, 9)]
    assert hexes[4] == "#c8c8c8"  # a code outside the standard table
    with pytest.raises(DataError, match="no attribute 'nope'"):
        point_colours(cloud, PointCloudStyle(color_by="nope"))


# --- legend ----------------------------------------------------------------------------------


def test_legends():
    cloud = _line_cloud()
    layer = _layer(cloud)
    layer.style = PointCloudStyle(color_by="classification")
    labels = [e.label for e in legend_entries(layer)]
    assert labels == ["2 Ground", "6 Building", "9 Water", "17 Bridge deck", "77 Class 77"]
    layer.style = style_for_field(PointCloudStyle(), "m3c2_distance")
    (ramp,) = legend_entries(layer)
    assert ramp.shape == "ramp" and ramp.ramp == "RdBu" and ramp.vmin == pytest.approx(-ramp.vmax)
    (elev,) = colour_legend(PointCloudStyle(value_range=[1.0, 5.0]))
    assert (elev.label, elev.vmin, elev.vmax) == ("Elevation", 1.0, 5.0)
    (auto,) = colour_legend(PointCloudStyle(color_by="dz"), np.array([-3.0, 1.0, 2.0]))
    assert auto.vmin < 0 < auto.vmax and auto.vmin == pytest.approx(-auto.vmax)
    assert colour_legend(PointCloudStyle(color_by="rgb"))[0].label.startswith("True colour")


# --- 2D renderer -----------------------------------------------------------------------------


def _grid_cloud() -> PointCloud:
    """Four points at known places of a 100 m square, each with its own colour class."""
    xyz = np.array([[530_010.0, 180_010.0, 1.0], [530_090.0, 180_010.0, 2.0],
                    [530_010.0, 180_090.0, 3.0], [530_090.0, 180_090.0, 4.0]])
    return PointCloud(xyz, {"classification": np.array([2, 6, 9, 17], np.uint8)}, BNG)


def test_renderer_draws_points_where_they_are():
    layer = _layer(_grid_cloud())
    layer.style = PointCloudStyle(color_by="classification", point_size=3)
    vp = Viewport((530_000, 180_000, 530_100, 180_100), 100, 100, "EPSG:27700")
    image = render_layer(layer, vp)
    assert image.shape == (100, 100, 4)
    drawn = np.argwhere(image[:, :, 3] > 0)
    assert len(drawn) == 4 * 9  # four 3x3 dots
    for (x, y, _), code in zip(_grid_cloud().xyz, (2, 6, 9, 17)):
        px, py = vp.world_to_pixel(x, y)
        pixel = image[int(py), int(px)]
        assert "#%02x%02x%02x" % tuple(pixel[:3]) == ASPRS_CLASSES[code][1]
    # the top-left point of the map (north-west) is at the top-left of the image
    assert image[10, 10, 3] == 255 and image[90, 10, 3] == 255 and image[10, 50, 3] == 0


def test_renderer_applies_transform_reprojects_and_culls():
    layer = _layer(_grid_cloud(), transform=np.array([[1, 0, 0, 20], [0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1.0]]))
    layer.style = PointCloudStyle(color_by="elevation", point_size=1)
    vp = Viewport((530_000, 180_000, 530_100, 180_100), 100, 100, "EPSG:27700")
    image = render_pointcloud_layer(layer, vp)
    # moved 20 m east: x 30 and 110 -> only the western pair is in view
    assert image[90, 30, 3] == 255 and image[10, 30, 3] == 255 and (image[:, :, 3] > 0).sum() == 2
    # far away: nothing drawn
    assert render_pointcloud_layer(layer, Viewport((0, 0, 100, 100), 50, 50, "EPSG:27700")) is None
    # into Web Mercator: each moved point lands on the pixel pyproj puts it at
    from gis_desk.core.crs import transform_bounds, transformer

    merc = transform_bounds("EPSG:27700", "EPSG:3857", (530_000, 180_000, 530_140, 180_100))
    vp = Viewport(merc, 200, 200, "EPSG:3857")
    image = render_pointcloud_layer(layer, vp)
    moved = _grid_cloud().xyz[:, :2] + [20.0, 0.0]
    mx, my = transformer("EPSG:27700", "EPSG:3857").transform(moved[:, 0], moved[:, 1])
    px, py = vp.world_to_pixel(np.asarray(mx), np.asarray(my))
    expected = sorted(zip(np.floor(py).astype(int), np.floor(px).astype(int)))
    assert sorted(map(tuple, np.argwhere(image[:, :, 3] > 0))) == expected


def test_higher_points_win_where_dots_overlap():
    xyz = np.array([[530_050.0, 180_050.0, 5.0], [530_050.2, 180_050.2, 9.0], [530_050.1, 180_050.1, 1.0]])
    layer = _layer(PointCloud(xyz, {"classification": np.array([2, 6, 9], np.uint8)}, BNG))
    layer.style = PointCloudStyle(color_by="classification", point_size=5)
    image = render_layer(layer, Viewport((530_000, 180_000, 530_100, 180_100), 100, 100, "EPSG:27700"))
    assert "#%02x%02x%02x" % tuple(image[49, 50, :3]) == ASPRS_CLASSES[6][1]


def test_renderer_respects_the_budget_and_cancel():
    rng = np.random.default_rng(2)
    xyz = np.column_stack([rng.uniform(0, 100, 20_000), rng.uniform(0, 100, 20_000), rng.uniform(0, 1, 20_000)])
    layer = _layer(PointCloud(xyz, {}, BNG))
    layer.style = PointCloudStyle(budget=500, point_size=1)
    image = render_pointcloud_layer(layer, Viewport((0, 0, 100, 100), 400, 400, "EPSG:27700"))
    assert 0 < (image[:, :, 3] > 0).sum() <= 500
    with pytest.raises(CanceledError):
        render_pointcloud_layer(layer, Viewport((0, 0, 100, 100), 400, 400, "EPSG:27700"), cancel=lambda: True)


# --- identify --------------------------------------------------------------------------------


def test_identify_nearest_point_with_attributes_after_transform():
    cloud = _line_cloud()
    shift = np.eye(4)
    shift[1, 3] = 10.0
    layer = _layer(cloud, transform=shift, epoch_label="Epoch 2 (2025-03)", name="e2")
    project = Project(crs="EPSG:27700")
    project.layers.append(layer)
    (hit,) = identify(project, 530_030.2, 180_010.1, 0.5)
    assert hit.layer is layer and hit.feature_id == 30
    assert hit.attributes["x"] == pytest.approx(530_030.0) and hit.attributes["y"] == pytest.approx(180_010.0)
    assert hit.attributes["m3c2_distance"] == pytest.approx(-0.02)
    assert hit.attributes["classification"] == 2 and hit.attributes["epoch"] == "Epoch 2 (2025-03)"
    assert hit.distance == pytest.approx(np.hypot(0.2, 0.1))
    assert identify(project, 530_030.2, 180_000.0, 0.5) == []  # where the points were before the shift
