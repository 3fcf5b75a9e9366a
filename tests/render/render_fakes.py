"""Fakes honouring the dataset contracts over numpy arrays, and small layer builders
(imported by the render tests as ``render_fakes``)."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pyproj
from affine import Affine

from gis_desk.core.datasets import DataSource, RasterDataset, TileDataset, VectorDataset
from gis_desk.core.layer import RasterLayer, TileLayer, VectorLayer


class ArrayRaster(RasterDataset):
    """An in-memory raster: nearest sampling of cell centres, outside and nodata masked."""

    def __init__(self, data, transform, crs="EPSG:27700", nodata=None, colormap=None):
        self.source = DataSource("/fake/array.tif")
        self.data = np.asarray(data)
        if self.data.ndim == 2:
            self.data = self.data[None]
        self.count, self.height, self.width = self.data.shape
        self.transform = transform
        self.crs = pyproj.CRS.from_user_input(crs)
        self.nodata = nodata
        self.colormap = colormap
        self.dtypes = [str(self.data.dtype)] * self.count
        self.overview_factors = []
        x0, y1 = transform @ (0, 0)
        x1, y0 = transform @ (self.width, self.height)
        self.bounds = (x0, y0, x1, y1)
        self.reads = []

    def read_window(self, bounds, out_width, out_height, bands=None, resampling="nearest"):
        self.reads.append((tuple(bounds), out_width, out_height))
        xmin, ymin, xmax, ymax = bounds
        xs = xmin + (np.arange(out_width) + 0.5) * (xmax - xmin) / out_width
        ys = ymax - (np.arange(out_height) + 0.5) * (ymax - ymin) / out_height
        gx, gy = np.meshgrid(xs, ys)
        cols, rows = ~self.transform @ (gx, gy)
        cols, rows = np.floor(cols).astype(int), np.floor(rows).astype(int)
        inside = (cols >= 0) & (cols < self.width) & (rows >= 0) & (rows < self.height)
        idx = [b - 1 for b in (bands or range(1, self.count + 1))]
        out = self.data[idx][:, np.clip(rows, 0, self.height - 1), np.clip(cols, 0, self.width - 1)]
        mask = np.broadcast_to(~inside, out.shape).copy()
        if self.nodata is not None:
            mask |= out == self.nodata
        return np.ma.masked_array(out, mask=mask)

    def info(self):
        return {"kind": "raster"}


class ArrayTiles(TileDataset):
    """One zoom level of square tiles cut from an RGBA array."""

    def __init__(self, rgba, origin, tile_size_units, crs="EPSG:27700", tile_px=4):
        self.source = DataSource("/fake/tiles.mbtiles")
        self.rgba = np.asarray(rgba, dtype=np.uint8)
        self.crs = pyproj.CRS.from_user_input(crs)
        self.x0, self.y1 = origin
        self.unit = tile_size_units
        self.tile_px = tile_px
        rows, cols = self.rgba.shape[0] // tile_px, self.rgba.shape[1] // tile_px
        self.bounds = (self.x0, self.y1 - rows * tile_size_units, self.x0 + cols * tile_size_units, self.y1)
        self.grid = (rows, cols)

    def tiles_for(self, bounds, pixel_size):
        rows, cols = self.grid
        for r in range(rows):
            for c in range(cols):
                tb = (self.x0 + c * self.unit, self.y1 - (r + 1) * self.unit,
                      self.x0 + (c + 1) * self.unit, self.y1 - r * self.unit)
                if tb[2] <= bounds[0] or tb[0] >= bounds[2] or tb[3] <= bounds[1] or tb[1] >= bounds[3]:
                    continue
                p = self.tile_px
                yield tb, self.rgba[r * p:(r + 1) * p, c * p:(c + 1) * p]

    def info(self):
        return {"kind": "tiles"}


def vector_layer(geoms, crs="EPSG:27700", name="layer", style=None, **columns) -> VectorLayer:
    frame = gpd.GeoDataFrame(dict(columns), geometry=list(geoms), crs=crs)
    return VectorLayer(VectorDataset(DataSource(f"/fake/{name}.gpkg"), frame), name=name, style=style)


def raster_layer(dataset, style=None) -> RasterLayer:
    return RasterLayer(dataset, style=style)


def tile_layer(dataset) -> TileLayer:
    return TileLayer(dataset)


