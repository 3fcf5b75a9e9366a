"""Raster and tile drawing: ramps, nodata, stretches, palettes, warping, real GeoTIFFs."""

import numpy as np
import pyproj
import pytest
from affine import Affine

from gis_desk.core.ramps import ramp_lut
from gis_desk.core.style import RasterStyle
from gis_desk.errors import DataError
from gis_desk.render.renderer import render_layer
from gis_desk.render.viewport import Viewport

from render_fakes import ArrayRaster, ArrayTiles, raster_layer, tile_layer

VIEW = Viewport((0, 0, 100, 100), 100, 100, "EPSG:27700")


def test_singleband_ramp_gives_lut_colours_and_nodata_is_transparent(grid_transform):
    values = np.tile(np.linspace(0, 255, 100, dtype=np.float32), (100, 1))
    values[:10, :10] = -9999
    layer = raster_layer(ArrayRaster(values, grid_transform, nodata=-9999),
                         RasterStyle(mode="singleband", bands=(1,), vmin=[0.0], vmax=[255.0], ramp="viridis"))
    image = render_layer(layer, VIEW)
    lut = ramp_lut("viridis")
    expected = lut[np.clip(np.floor(values[50] + 0.5), 0, 255).astype(int)]
    np.testing.assert_array_equal(image[50], expected)
    assert (image[:10, :10] == 0).all()
    assert (image[10:, :, 3] == 255).all()


def test_singleband_clips_outside_vmin_vmax_and_inverts(grid_transform):
    values = np.full((100, 100), 50.0)
    values[:, 50:] = 500.0
    layer = raster_layer(ArrayRaster(values, grid_transform),
                         RasterStyle(mode="singleband", vmin=[100.0], vmax=[200.0], ramp="magma", invert_ramp=True))
    image = render_layer(layer, VIEW)
    lut = ramp_lut("magma")
    assert tuple(image[5, 5]) == tuple(lut[255]) and tuple(image[5, 95]) == tuple(lut[0])


def test_singleband_automatic_minmax_stretch(grid_transform):
    values = np.tile(np.linspace(1000, 2000, 100), (100, 1))
    layer = raster_layer(ArrayRaster(values, grid_transform), RasterStyle(mode="singleband", ramp="viridis"))
    image = render_layer(layer, VIEW)
    lut = ramp_lut("viridis")
    assert tuple(image[0, 0]) == tuple(lut[0]) and tuple(image[0, 99]) == tuple(lut[255])


def test_rgb_stretch_per_band(grid_transform):
    data = np.zeros((3, 100, 100), dtype=np.uint16)
    data[0] = 1000  # red at its vmin -> 0
    data[1] = 3000  # green at its vmax -> 255
    data[2] = 1500  # blue halfway -> 128
    style = RasterStyle(mode="rgb", bands=(1, 2, 3), vmin=[1000, 1000, 1000], vmax=[3000, 3000, 2000])
    image = render_layer(raster_layer(ArrayRaster(data, grid_transform), style), VIEW)
    assert tuple(image[50, 50]) == (0, 255, 128, 255)


def test_rgb_uint8_drawn_as_is_and_band_order(grid_transform):
    data = np.stack([np.full((100, 100), v, np.uint8) for v in (10, 20, 30)])
    image = render_layer(raster_layer(ArrayRaster(data, grid_transform), RasterStyle(bands=(3, 2, 1))), VIEW)
    assert tuple(image[1, 1]) == (30, 20, 10, 255)
    with pytest.raises(DataError, match="band 5"):
        render_layer(raster_layer(ArrayRaster(data, grid_transform), RasterStyle(bands=(5, 2, 1))), VIEW)


def test_paletted_uses_the_colour_table(grid_transform):
    values = np.zeros((100, 100), np.uint8)
    values[:, 50:] = 2
    values[:, 90:] = 7  # not in the table -> transparent
    table = {0: (255, 0, 0, 255), 2: (0, 0, 255, 255)}
    image = render_layer(raster_layer(ArrayRaster(values, grid_transform, colormap=table),
                                      RasterStyle(mode="paletted", bands=(1,))), VIEW)
    assert tuple(image[5, 5]) == (255, 0, 0, 255) and tuple(image[5, 60]) == (0, 0, 255, 255)
    assert tuple(image[5, 95]) == (0, 0, 0, 0)


def test_partial_cover_reads_only_the_covered_pixels():
    raster = ArrayRaster(np.ones((10, 10), np.float32), Affine(2.0, 0, 40.0, 0, -2.0, 60.0))  # 40..60
    image = render_layer(raster_layer(raster, RasterStyle(mode="singleband", vmin=[0.0], vmax=[1.0])), VIEW)
    alpha = image[..., 3]
    assert (alpha[40:60, 40:60] == 255).all() and alpha.sum() == 255 * 400
    assert raster.reads[-1][1:] == (20, 20)
    far = ArrayRaster(np.ones((10, 10)), Affine(1.0, 0, 500.0, 0, -1.0, 500.0))
    assert render_layer(raster_layer(far, RasterStyle(mode="singleband", vmin=[0.0], vmax=[1.0])), VIEW) is None


def test_raster_in_other_crs_is_warped_into_place():
    to_bng = pyproj.Transformer.from_crs(4326, 27700, always_xy=True)
    lon, lat = -2.32, 53.42
    step = 0.0001
    values = np.ones((20, 20), np.float32)
    raster = ArrayRaster(values, Affine(step, 0, lon - 10 * step, 0, -step, lat + 10 * step), crs="EPSG:4326")
    e, n = to_bng.transform(lon, lat)
    view = Viewport((e - 100, n - 100, e + 100, n + 100), 200, 200, "EPSG:27700")
    image = render_layer(raster_layer(raster, RasterStyle(mode="singleband", vmin=[0.0], vmax=[1.0])), view)
    rows, cols = np.nonzero(image[..., 3] == 255)
    assert len(rows) > 0
    centre = view.pixel_to_world(cols.mean() + 0.5, rows.mean() + 0.5)
    assert centre == pytest.approx((e, n), abs=2 * view.pixel_size)
    assert image[0, 0, 3] == 0


def test_real_geotiff_through_the_raster_reader(tmp_path):
    rasterio = pytest.importorskip("rasterio")
    read_raster = pytest.importorskip("gis_desk.io.raster").read_raster
    path = tmp_path / "known.tif"
    data = np.arange(100 * 100, dtype=np.float32).reshape(100, 100)
    data[0, 0] = -1
    with rasterio.open(path, "w", driver="GTiff", width=100, height=100, count=1, dtype="float32",
                       crs="EPSG:27700", transform=Affine(1, 0, 0, 0, -1, 100), nodata=-1) as dst:
        dst.write(data, 1)
    (dataset,) = read_raster(path)
    style = RasterStyle(mode="singleband", vmin=[0.0], vmax=[9999.0], ramp="Greys")
    image = render_layer(raster_layer(dataset, style), VIEW)
    lut = ramp_lut("Greys")
    assert tuple(image[0, 0]) == (0, 0, 0, 0)
    assert tuple(image[99, 99]) == tuple(lut[255])
    assert tuple(image[50, 50]) == tuple(lut[int(np.floor(data[50, 50] * 255 / 9999 + 0.5))])


def test_tiles_in_same_and_other_crs():
    rgba = np.zeros((8, 8, 4), np.uint8)
    rgba[..., 0] = 200
    rgba[..., 3] = 255
    rgba[:4, :4, 3] = 0  # top-left tile transparent
    tiles = ArrayTiles(rgba, origin=(0, 100), tile_size_units=50, tile_px=4)
    image = render_layer(tile_layer(tiles), VIEW)
    assert tuple(image[75, 75]) == (200, 0, 0, 255) and image[25, 25, 3] == 0
    # the same tiles seen from a Web Mercator view: warped, still red in the middle of a tile
    to_merc = pyproj.Transformer.from_crs(27700, 3857, always_xy=True)
    x0, y0 = to_merc.transform(400_000, 400_000)
    tiles = ArrayTiles(rgba, origin=(400_000 - 50, 400_000 + 50), tile_size_units=50, tile_px=4)
    view = Viewport((x0 - 100, y0 - 100, x0 + 100, y0 + 100), 100, 100, "EPSG:3857")
    image = render_layer(tile_layer(tiles), view)
    px, py = view.world_to_pixel(*to_merc.transform(400_000 + 25, 400_000 - 25))
    assert tuple(image[int(py), int(px)]) == (200, 0, 0, 255)
    assert image[0, 0, 3] == 0
