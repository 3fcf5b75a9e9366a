"""builtins.heatmap: layer in, GeoTIFF out, equal to the library's result on the same points."""

import math

import geopandas as gpd
import numpy as np
import pytest
import rasterio
from shapely.geometry import LineString, MultiPoint, Point

from gis_desk.analysis.kde import NODATA, kde, suggest_bandwidth
from gis_desk.errors import DataError, MissingCrsError, ParameterError
from gis_desk.processing.algorithms.heatmap import Heatmap, points_and_weights
from gis_desk.processing.feedback import Feedback
from gis_desk.processing.run import run_algorithm

CCTV = "uk_trafford/council_open_data/assets/cctv/trafford_cctv_cameras.geojson"


def _points_file(tmp_path, n=200, seed=0, crs="EPSG:27700"):
    rng = np.random.default_rng(seed)
    xy = np.array([383_000.0, 396_000.0]) + rng.normal(0, 300, (n, 2))
    frame = gpd.GeoDataFrame({"care_hours": rng.integers(0, 40, n).astype(float)},
                             geometry=gpd.points_from_xy(xy[:, 0], xy[:, 1]), crs="EPSG:27700")
    path = tmp_path / "records.gpkg"
    frame.to_crs(crs).to_file(path)
    return path, xy, frame["care_hours"].to_numpy()


def _read(path):
    with rasterio.open(path) as ds:
        return ds.read(1), ds.transform, ds.crs, ds.nodata


def test_writes_the_same_raster_as_the_library(tmp_path):
    path, xy, hours = _points_file(tmp_path)
    out = run_algorithm(Heatmap(), {"input": str(path), "weight_field": "care_hours", "radius_m": 150,
                                    "pixel_size_m": 20, "output_values": "scaled",
                                    "output": str(tmp_path / "heat.tif")})
    array, transform, crs, nodata = _read(out["output"])
    expected = kde(xy, 150, 20, weights=hours, output_values="scaled")
    np.testing.assert_array_equal(array, expected.array)
    assert transform == expected.transform and crs.to_epsg() == 27700 and nodata == NODATA
    assert (out["rows"], out["cols"], out["points"]) == (*array.shape, 200)
    assert out["radius_m"] == 150 and out["radius_auto"] == "no" and out["crs"] == "EPSG:27700"
    assert out["max_value"] == pytest.approx(float(array.max()))


def test_automatic_radius_is_reported(tmp_path):
    path, xy, _ = _points_file(tmp_path)
    feedback = Feedback()
    out = run_algorithm(Heatmap(), {"input": str(path), "pixel_size_m": 25}, feedback)
    h = suggest_bandwidth(xy)
    assert out["radius_auto"] == "yes"
    assert out["radius_m"] == pytest.approx(math.sqrt(8) * h)
    assert any("Automatic radius" in text for _, text in feedback.messages)
    assert out["output"].endswith(".tif")


def test_real_cctv_cameras_in_wgs84_are_mapped_in_metres(tmp_path, real_data):
    """Trafford's 163 CCTV cameras (WGS84): projected to BNG, 250 m radius, 25 m cells."""
    out = run_algorithm(Heatmap(), {"input": str(real_data / CCTV), "radius_m": 250, "pixel_size_m": 25,
                                    "output": str(tmp_path / "cctv.tif")})
    array, transform, crs, _ = _read(out["output"])
    assert crs.to_epsg() == 27700 and out["crs"] == "EPSG:27700"
    cameras = gpd.read_file(real_data / CCTV).to_crs(27700)
    xy = np.column_stack([cameras.geometry.x, cameras.geometry.y])
    expected = kde(xy, 250, 25)
    np.testing.assert_array_equal(array, expected.array)
    assert transform.a == 25 and out["points"] == len(cameras) == 163
    # camera clusters: the busiest cell sees several cameras within 250 m
    assert array.max() > 3


def test_gaussian_is_exact_and_multipoints_count_each_part(tmp_path):
    frame = gpd.GeoDataFrame({"w": [2.0, 1.0, None]}, geometry=[
        MultiPoint([(383_000, 396_000), (383_100, 396_000)]), Point(383_050, 396_080), None], crs="EPSG:27700")
    xy, weights, unlocated = points_and_weights(frame, "w")
    np.testing.assert_array_equal(xy, [[383_000, 396_000], [383_100, 396_000], [383_050, 396_080]])
    np.testing.assert_array_equal(weights, [2.0, 2.0, 1.0])
    assert unlocated == 1
    feedback = Feedback()
    out = run_algorithm(Heatmap(), {"input": frame, "weight_field": "w", "kernel": "gaussian", "radius_m": 30,
                                    "pixel_size_m": 5, "output": str(tmp_path / "g.tif")}, feedback)
    array, *_ = _read(out["output"])
    np.testing.assert_array_equal(array, kde(xy, 30, 5, weights=weights, kernel="gaussian").array)
    assert any("no Gaussian" in text for _, text in feedback.messages)
    assert any("no point" in text for level, text in feedback.messages if level == "warning")


def test_bad_inputs(tmp_path):
    path, _, _ = _points_file(tmp_path)
    with pytest.raises(ParameterError, match="no field 'hours'"):
        run_algorithm(Heatmap(), {"input": str(path), "weight_field": "hours", "radius_m": 100})
    with pytest.raises(ParameterError, match="radius_m"):
        run_algorithm(Heatmap(), {"input": str(path), "radius_m": 0})
    with pytest.raises(ParameterError, match="kernel"):
        run_algorithm(Heatmap(), {"input": str(path), "kernel": "cosine"})
    with pytest.raises(ParameterError, match=".png"):
        run_algorithm(Heatmap(), {"input": str(path), "output": str(tmp_path / "heat.png")})
    lines = gpd.GeoDataFrame(geometry=[LineString([(0, 0), (1, 1)])], crs="EPSG:27700")
    with pytest.raises(ParameterError, match="Point"):
        run_algorithm(Heatmap(), {"input": lines, "radius_m": 100})
    empty = gpd.GeoDataFrame(geometry=gpd.GeoSeries([], crs="EPSG:27700"))
    with pytest.raises(DataError, match="no points"):
        run_algorithm(Heatmap(), {"input": empty, "radius_m": 100})
    no_crs = tmp_path / "no_crs.geojson"
    no_crs.write_text('{"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {}, '
                      '"geometry": {"type": "Point", "coordinates": [383000, 396000]}}]}')
    with pytest.raises((MissingCrsError, ParameterError, DataError)) as info:
        run_algorithm(Heatmap(), {"input": str(no_crs), "radius_m": 100})
    assert "no_crs.geojson" in str(info.value)


def test_declaration_is_complete():
    algorithm = Heatmap()
    declared = algorithm.to_dict()
    names = [p["name"] for p in declared["parameters"]]
    assert names == ["input", "weight_field", "kernel", "radius_m", "pixel_size_m", "output_values", "decay",
                     "qgis_compatible", "bandwidth_method", "policy", "output"]
    assert "QGIS" in algorithm.help_text()
