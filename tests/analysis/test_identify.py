"""Identify: features and pixel values under a point given in the project CRS."""

import geopandas as gpd
import numpy as np
import pyproj
import pytest
from affine import Affine
from shapely.geometry import LineString, Point, box

from gis_desk.analysis.identify import IdentifyResult, identify
from gis_desk.core.datasets import DataSource, RasterDataset, VectorDataset
from gis_desk.core.layer import RasterLayer, VectorLayer
from gis_desk.core.project import Project

TO_BNG = pyproj.Transformer.from_crs(4326, 27700, always_xy=True)


def vector_layer(geoms, crs, name, **columns):
    frame = gpd.GeoDataFrame(dict(columns), geometry=list(geoms), crs=crs)
    return VectorLayer(VectorDataset(DataSource(f"/data/{name}.gpkg"), frame), name=name)


class GridDataset(RasterDataset):
    """An in-memory raster honouring the RasterDataset contract (nearest sampling)."""

    def __init__(self, data, transform, crs, nodata=None):
        self.source = DataSource("/data/grid.tif")
        self.data = np.asarray(data)
        self.count, self.height, self.width = self.data.shape
        self.transform = transform
        self.crs = pyproj.CRS.from_user_input(crs)
        self.nodata = nodata
        x0, y1 = transform @ (0, 0)
        x1, y0 = transform @ (self.width, self.height)
        self.bounds = (x0, y0, x1, y1)

    def read_window(self, bounds, out_width, out_height, bands=None, resampling="nearest"):
        xmin, ymin, xmax, ymax = bounds
        xs = xmin + (np.arange(out_width) + 0.5) * (xmax - xmin) / out_width
        ys = ymax - (np.arange(out_height) + 0.5) * (ymax - ymin) / out_height
        gx, gy = np.meshgrid(xs, ys)
        cols, rows = ~self.transform @ (gx, gy)
        cols, rows = np.floor(cols).astype(int), np.floor(rows).astype(int)
        inside = (cols >= 0) & (cols < self.width) & (rows >= 0) & (rows < self.height)
        out = self.data[:, np.clip(rows, 0, self.height - 1), np.clip(cols, 0, self.width - 1)]
        mask = np.broadcast_to(~inside, out.shape).copy()
        if self.nodata is not None:
            mask |= out == self.nodata
        return np.ma.masked_array(out, mask=mask)

    def info(self):
        return {}


@pytest.fixture
def wgs84_polygons():
    # two side-by-side cells near Sale, Trafford, in lon/lat
    west = box(-2.33, 53.42, -2.32, 53.43)
    east = box(-2.32, 53.42, -2.31, 53.43)
    return vector_layer([west, east], "EPSG:4326", "cells", code=["W", "E"], score=[1.5, 2.5])


def test_polygon_layer_in_wgs84_identified_from_bng_project(wgs84_polygons):
    project = Project()  # EPSG:27700
    project.layers.append(wgs84_polygons)
    x, y = TO_BNG.transform(-2.3175, 53.425)  # inside the east cell
    results = identify(project, x, y, tolerance=2.0)
    assert [r.feature_id for r in results] == [1]
    hit = results[0]
    assert isinstance(hit, IdentifyResult)
    assert hit.layer is wgs84_polygons
    assert hit.attributes == {"code": "E", "score": 2.5}
    assert type(hit.attributes["score"]) is float  # numpy scalars become Python ones
    assert hit.geometry.equals(box(-2.32, 53.42, -2.31, 53.43))
    assert hit.distance == 0.0
    x, y = TO_BNG.transform(-2.3275, 53.425)
    assert [r.attributes["code"] for r in identify(project, x, y, 2.0)] == ["W"]
    x, y = TO_BNG.transform(-2.20, 53.425)  # well east of both
    assert identify(project, x, y, 2.0) == []


def test_points_and_lines_need_the_tolerance_and_come_nearest_first():
    pts = vector_layer([Point(100, 100), Point(104, 100), Point(130, 100)], "EPSG:27700", "pts", n=[0, 1, 2])
    line = vector_layer([LineString([(0, 90), (200, 90)])], "EPSG:27700", "line", n=[9])
    project = Project()
    project.layers.extend([line, pts])  # pts on top
    results = identify(project, 103, 100, tolerance=5)
    assert [(r.layer.name, r.feature_id) for r in results] == [("pts", 1), ("pts", 0)]
    assert results[0].distance == pytest.approx(1.0)
    results = identify(project, 103, 95, tolerance=5)
    assert [(r.layer.name, r.feature_id) for r in results] == [("line", 0)]
    assert identify(project, 103, 95, tolerance=4.9) == []


def test_top_layer_first_hidden_layers_skipped_explicit_layers_kept(wgs84_polygons):
    bng_cell = box(*TO_BNG.transform_bounds(-2.33, 53.42, -2.31, 53.43))
    upper = vector_layer([bng_cell], "EPSG:27700", "upper", code=["U"])
    project = Project()
    project.layers.extend([wgs84_polygons, upper])
    x, y = TO_BNG.transform(-2.3175, 53.425)
    assert [r.layer.name for r in identify(project, x, y, 1)] == ["upper", "cells"]
    upper.visible = False
    assert [r.layer.name for r in identify(project, x, y, 1)] == ["cells"]
    assert [r.layer.name for r in identify(project, x, y, 1, layers=[wgs84_polygons, upper])] == ["upper", "cells"]


def test_raster_identify_returns_the_known_pixel_values():
    data = np.arange(2 * 4 * 5, dtype="float32").reshape(2, 4, 5)  # 2 bands, 4 rows, 5 cols
    data[1, 2, 3] = -9999
    transform = Affine(10, 0, 380_000, 0, -10, 395_000)  # 10 m pixels
    layer = RasterLayer(GridDataset(data, transform, "EPSG:27700", nodata=-9999), name="grid")
    project = Project()
    project.layers.append(layer)
    x, y = 380_000 + 3 * 10 + 2.5, 395_000 - 2 * 10 - 7.5  # column 3, row 2
    [hit] = identify(project, x, y, tolerance=1)
    assert hit.feature_id is None and hit.geometry is None
    assert hit.values == {"Band 1": float(data[0, 2, 3]), "Band 2": None}
    assert hit.attributes["column"] == 3 and hit.attributes["row"] == 2
    assert identify(project, 380_000 - 1, y, tolerance=1) == []  # left of the raster


def test_raster_in_wgs84_from_bng_project():
    data = np.array([[[1, 2], [3, 4]]], dtype="uint8")
    transform = Affine(0.01, 0, -2.33, 0, -0.01, 53.43)
    layer = RasterLayer(GridDataset(data, transform, "EPSG:4326"), name="g")
    project = Project()
    project.layers.append(layer)
    x, y = TO_BNG.transform(-2.315, 53.415)  # column 1, row 1
    [hit] = identify(project, x, y, tolerance=1)
    assert hit.values == {"Band 1": 4}


def test_negative_tolerance_is_rejected(wgs84_polygons):
    project = Project()
    project.layers.append(wgs84_polygons)
    with pytest.raises(ValueError):
        identify(project, 0, 0, -1)


def test_real_trafford_lsoa_identify(real_data):
    path = real_data / "uk_boundaries/UK-GeoJSON/lsoa11_E08000009_Trafford.geojson"
    frame = gpd.read_file(path)
    layer = VectorLayer(VectorDataset(DataSource(str(path)), frame), name="lsoa")
    project = Project()
    project.layers.append(layer)
    target = 42
    inner = frame.to_crs(27700).geometry.iloc[target].representative_point()
    results = identify(project, inner.x, inner.y, tolerance=0.5)
    assert [r.feature_id for r in results] == [target]
    assert results[0].attributes == {c: frame[c].iloc[target] for c in frame.columns if c != "geometry"}


def test_geotiff_opened_by_the_session_identifies_known_pixels(tmp_path, session):
    import rasterio
    from rasterio.transform import from_origin

    data = np.arange(2 * 4 * 5, dtype="float32").reshape(2, 4, 5)
    data[1, 2, 3] = -9999
    path = tmp_path / "grid.tif"
    with rasterio.open(path, "w", driver="GTiff", width=5, height=4, count=2, dtype="float32",
                       crs="EPSG:27700", transform=from_origin(380_000, 395_000, 10, 10), nodata=-9999) as dst:
        dst.write(data)
    session.open(path)
    [hit] = identify(session.project, 380_000 + 32.5, 395_000 - 27.5, tolerance=1)
    assert hit.values == {"Band 1": 13.0, "Band 2": None}
    [hit] = identify(session.project, 380_000 + 0.5, 395_000 - 39.5, tolerance=1)  # last row, first column
    assert hit.values == {"Band 1": 15.0, "Band 2": 35.0}


def test_real_dsm_values_match_rasterio(real_data, session):
    import rasterio

    path = real_data / "odm_outputs/orthority/odm/odm_dem/dsm.tif"
    [layer] = session.open(path)
    with rasterio.open(path) as src:
        row, col = src.height // 3, src.width // 2
        x, y = src.xy(row, col)  # pixel centre, file CRS
        expected = float(src.read(1, window=((row, row + 1), (col, col + 1)))[0, 0])
        nodata = src.nodata
        from gis_desk.core.crs import transform_xy

        px, py = transform_xy(src.crs.to_wkt(), session.project.crs, x, y)
    [hit] = identify(session.project, px, py, tolerance=0.01)
    assert hit.layer is layer
    if nodata is not None and expected == nodata:
        assert hit.values["Band 1"] is None
    else:
        assert hit.values["Band 1"] == pytest.approx(expected)
    assert (hit.attributes["row"], hit.attributes["column"]) == (row, col)
