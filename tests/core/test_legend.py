"""Legend entries for every style kind."""

import geopandas as gpd
import numpy as np
from affine import Affine
from shapely.geometry import LineString, Point, box

from gis_desk.core.classify import categorised_style, graduated_style
from gis_desk.core.datasets import DataSource, RasterDataset, VectorDataset
from gis_desk.core.layer import BrokenLayer, RasterLayer, VectorLayer
from gis_desk.core.legend import legend_entries
from gis_desk.core.style import RasterStyle, SingleSymbolStyle, Symbol


def layer(geoms, **columns):
    frame = gpd.GeoDataFrame(columns, geometry=geoms, crs="EPSG:27700")
    return VectorLayer(VectorDataset(DataSource("/fake/a.gpkg"), frame))


def test_vector_styles():
    polys = layer([box(0, 0, 1, 1), box(2, 0, 3, 1)], kind=["a", "b"], v=[1.0, 2.0])
    polys.style = SingleSymbolStyle(Symbol(fill="#123456ff"))
    (single,) = legend_entries(polys)
    assert single.shape == "polygon" and single.fill == "#123456ff" and single.label == ""
    polys.style = categorised_style(polys.dataset.frame, "kind")
    polys.style.categories[1].visible = False
    entries = legend_entries(polys)
    assert [e.label for e in entries] == ["a"] and entries[0].fill == polys.style.categories[0].symbol.fill
    polys.style = graduated_style(polys.dataset.frame, "v", n=2)
    assert [e.label for e in legend_entries(polys)] == ["1", "2"]
    lines = layer([LineString([(0, 0), (1, 1)])])
    assert legend_entries(lines)[0].shape == "line"
    points = layer([Point(0, 0)])
    points.style = SingleSymbolStyle(Symbol(marker="triangle", size=9))
    entry = legend_entries(points)[0]
    assert (entry.shape, entry.marker, entry.size) == ("point", "triangle", 9)
    styled_with_nulls = layer([box(0, 0, 1, 1), box(2, 0, 3, 1)], kind=["a", None])
    styled_with_nulls.style = categorised_style(styled_with_nulls.dataset.frame, "kind")
    assert [e.label for e in legend_entries(styled_with_nulls)] == ["a", "Other values"]


class Grid(RasterDataset):
    def __init__(self, data, colormap=None):
        self.source = DataSource("/fake/g.tif")
        self.data = np.asarray(data, float)[None]
        self.count, self.height, self.width = self.data.shape
        self.bounds = (0, 0, self.width, self.height)
        self.transform = Affine(1, 0, 0, 0, -1, self.height)
        self.crs = None
        self.colormap = colormap

    def read_window(self, bounds, out_width, out_height, bands=None, resampling="nearest"):
        return np.ma.masked_array(self.data[:, :out_height, :out_width])

    def info(self):
        return {}


def test_raster_styles_and_broken():
    grid = RasterLayer(Grid(np.arange(16).reshape(4, 4)), style=RasterStyle(mode="singleband", ramp="magma"))
    (ramp,) = legend_entries(grid)
    assert (ramp.shape, ramp.ramp, ramp.vmin, ramp.vmax) == ("ramp", "magma", 0.0, 15.0)
    grid.style = RasterStyle(mode="singleband", vmin=[2.0], vmax=[3.0], ramp="viridis", invert_ramp=True)
    (ramp,) = legend_entries(grid)
    assert (ramp.vmin, ramp.vmax, ramp.invert) == (2.0, 3.0, True)
    grid.style = RasterStyle(mode="rgb", bands=(3, 2, 1))
    assert [e.label for e in legend_entries(grid)] == ["Red: band 3", "Green: band 2", "Blue: band 1"]
    paletted = RasterLayer(Grid(np.zeros((2, 2)), colormap={1: (255, 0, 0, 255), 0: (0, 0, 0, 0)}),
                           style=RasterStyle(mode="paletted", bands=(1,)))
    assert [(e.label, e.fill) for e in legend_entries(paletted)] == [("0", "#00000000"), ("1", "#ff0000ff")]
    broken = BrokenLayer({"name": "x", "kind": "vector", "source": {"path": "/gone"}}, "missing")
    assert legend_entries(broken) == []
