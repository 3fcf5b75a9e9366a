"""Class breaks, graduated/categorised styles, ramps and raster stretches on known data."""

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from affine import Affine
from shapely.geometry import Point

from gis_desk.core.classify import (categorised_style, class_breaks, graduated_style, range_labels,
                                    raster_stretch)
from gis_desk.core.datasets import DataSource, RasterDataset
from gis_desk.core.ramps import RAMP_NAMES, ramp_colors, ramp_lut
from gis_desk.errors import DataError


def test_equal_interval_is_exact():
    assert class_breaks([0, 3, 7, 10], "equal_interval", 5) == [0, 2, 4, 6, 8, 10]
    assert class_breaks([-1.5, 0, 1.5], "equal_interval", 3) == [-1.5, -0.5, 0.5, 1.5]


def test_quantile_puts_equal_counts_in_classes():
    values = np.arange(1000.0)
    edges = class_breaks(values, "quantile", 4)
    assert len(edges) == 5 and edges[0] == 0 and edges[-1] == 999
    counts = np.histogram(values, bins=edges)[0]
    assert counts.tolist() == [250, 250, 250, 250]
    assert class_breaks([1, 1, 1, 1, 2], "quantile", 4) == [1, 2]  # duplicate quantiles merge


def test_natural_breaks_separate_obvious_clusters():
    rng = np.random.default_rng(0)
    low, mid, high = rng.normal(10, 1, 60), rng.normal(50, 1, 60), rng.normal(90, 1, 60)
    edges = class_breaks(np.concatenate([mid, high, low]), "natural_breaks", 3)
    assert low.max() <= edges[1] < mid.min() and mid.max() <= edges[2] < high.min()
    big = np.concatenate([rng.normal(10, 1, 5_000), rng.normal(100, 1, 5_000)])
    first = class_breaks(big, "natural_breaks", 2)  # sampled (evenly spaced order statistics)
    assert 12 < first[1] < 90 and len(first) == 3  # upper bound of the low cluster


def test_bad_input():
    with pytest.raises(DataError):
        class_breaks([np.nan, np.nan], "quantile", 3)
    with pytest.raises(ValueError):
        class_breaks([1, 2], "jenks-ish", 3)
    with pytest.raises(DataError, match="not numbers"):
        class_breaks(["a", "b"], "quantile", 3)
    assert class_breaks([4, 4, 4], "quantile", 5) == [4, 4]


def frame(**columns):
    n = len(next(iter(columns.values())))
    return gpd.GeoDataFrame(columns, geometry=[Point(i, i).buffer(0.4) for i in range(n)], crs="EPSG:27700")


def test_graduated_style_classes_and_labels():
    style = graduated_style(frame(v=[0.0, 2.5, 5.0, 7.5, 10.0]), "v", method="equal_interval", n=4, ramp="Blues")
    assert [(c.lower, c.upper) for c in style.classes] == [(0, 2.5), (2.5, 5), (5, 7.5), (7.5, 10)]
    assert [c.label for c in style.classes] == ["0.0 – 2.5", "2.5 – 5.0", "5.0 – 7.5", "7.5 – 10.0"]
    assert [c.symbol.fill[:7] for c in style.classes] == ramp_colors("Blues", 4)
    assert range_labels([0, 1500, 250_000]) == ["0 – 1,500", "1,500 – 250,000"]
    with pytest.raises(DataError, match="not numeric"):
        graduated_style(frame(v=["a", "b"]), "v")
    with pytest.raises(DataError, match="no field"):
        graduated_style(frame(v=[1.0]), "nope")


def test_deciles_get_one_class_each_dark_to_light():
    deciles = frame(d=[float(v) for v in list(range(1, 11)) * 3])
    style = graduated_style(deciles, "d", method="quantile", n=10, ramp="YlGnBu", invert=True)
    assert [c.label for c in style.classes] == [str(i) for i in range(1, 11)]
    assert [(c.lower, c.upper) for c in style.classes] == [(float(i), float(i)) for i in range(1, 11)]

    def lightness(hexa):
        return sum(int(hexa[i:i + 2], 16) for i in (1, 3, 5))

    light = [lightness(c.symbol.fill) for c in style.classes]
    assert light == sorted(light) and light[0] < light[-1]  # 1 = most deprived is darkest
    cats = categorised_style(deciles, "d", ramp="RdYlBu")
    assert [c.value for c in cats.categories] == list(range(1, 11))
    assert [c.label for c in cats.categories] == [str(i) for i in range(1, 11)]


def test_categorised_style_sorts_and_marks_missing_values():
    style = categorised_style(frame(k=["b", "a", None, "b"]), "k", ramp="Set2")
    assert [c.value for c in style.categories] == ["a", "b"]
    assert [c.symbol.fill[:7] for c in style.categories] == ramp_colors("Set2", 2)
    assert style.other is not None
    assert categorised_style(frame(k=["x"]), "k").other is None
    with pytest.raises(DataError, match="too many"):
        categorised_style(frame(k=[str(i) for i in range(1001)]), "k")


def test_ramps():
    assert {"viridis", "magma", "plasma", "cividis", "YlOrRd", "RdYlBu", "Set2"} <= set(RAMP_NAMES)
    colors = ramp_colors("viridis", 3)
    assert colors[0] == "#440154" and colors[-1] == "#fde725"
    assert ramp_colors("viridis", 3, invert=True) == colors[::-1]
    assert ramp_colors("Set2", 10)[8] == ramp_colors("Set2", 10)[0]  # qualitative ramps repeat
    lut = ramp_lut("viridis")
    assert lut.shape == (256, 4) and lut.dtype == np.uint8
    assert "#%02x%02x%02x" % tuple(lut[0, :3]) == "#440154"
    assert np.array_equal(ramp_lut("viridis", invert=True), lut[::-1])
    with pytest.raises(DataError, match="Unknown colour ramp"):
        ramp_colors("rainbow-ish", 3)


class ConstantRaster(RasterDataset):
    def __init__(self, data, nodata=None):
        self.source = DataSource("/fake/r.tif")
        self.data = np.ma.masked_equal(data, nodata) if nodata is not None else np.ma.masked_array(data)
        self.count, self.height, self.width = 1, *data.shape
        self.bounds = (0, 0, self.width, self.height)
        self.crs = None

    def read_window(self, bounds, out_width, out_height, bands=None, resampling="nearest"):
        rows = np.linspace(0, self.height - 1, out_height).round().astype(int)
        cols = np.linspace(0, self.width - 1, out_width).round().astype(int)
        return self.data[np.ix_(rows, cols)][None]

    def info(self):
        return {}


def test_raster_stretch():
    data = np.arange(10000, dtype=float).reshape(100, 100)
    data[0, 0] = -9999
    raster = ConstantRaster(data, nodata=-9999)
    assert raster_stretch(raster, 1, "minmax") == (1.0, 9999.0)
    lo, hi = raster_stretch(raster, 1, "percent")
    assert lo == pytest.approx(200, abs=5) and hi == pytest.approx(9800, abs=5)
    with pytest.raises(DataError):
        raster_stretch(ConstantRaster(np.full((4, 4), -1.0), nodata=-1.0), 1)
    with pytest.raises(ValueError):
        raster_stretch(raster, 2)
