"""The first algorithms against known ground truth, and the run/registry machinery."""

import math
import textwrap

import geopandas as gpd
import numpy as np
import pyproj
import pytest
from shapely.geometry import LineString, Point, box

from gis_desk.errors import AlgorithmError, CanceledError, MissingCrsError, ParameterError, PluginError
from gis_desk.plugin_api.manager import PluginManager
from gis_desk.plugin_api.manifest import parse_manifest
from gis_desk.processing.feedback import Feedback
from gis_desk.processing.registry import create_algorithm, list_algorithms
from gis_desk.processing.run import run_algorithm

MANCHESTER_BNG = (383000.0, 398000.0)


@pytest.fixture(scope="module")
def plugins():
    return PluginManager.from_entry_points(disabled=set())


def run(plugins, algorithm_id, feedback=None, **params):
    return run_algorithm(create_algorithm(plugins, algorithm_id), params, feedback)


def polygon_area(segments, radius):
    """Area of the regular 4n-gon inscribed in a circle of ``radius``."""
    return 2 * segments * radius**2 * math.sin(math.pi / (2 * segments))


# --- buffer --------------------------------------------------------------------------------


@pytest.mark.parametrize("segments", [2, 8, 32])
def test_buffer_of_a_point_is_pi_r_squared_within_the_segment_tolerance(plugins, tmp_path, segments):
    points = gpd.GeoDataFrame(geometry=[Point(*MANCHESTER_BNG)], crs="EPSG:27700")
    out = run(plugins, "builtins.buffer", input=points, distance_m=10, segments=segments,
              output=str(tmp_path / "b.gpkg"))
    area = gpd.read_file(out["output"]).area.sum()
    tolerance = 1 - polygon_area(segments, 1) / math.pi  # the inscribed polygon's shortfall
    assert abs(area - math.pi * 100) <= math.pi * 100 * tolerance + 1e-9
    assert area == pytest.approx(polygon_area(segments, 10), rel=1e-9)


def test_buffer_of_a_wgs84_layer_is_metric_on_the_ground(plugins, tmp_path):
    lonlat = gpd.GeoDataFrame({"site": ["A", "B"]}, geometry=[Point(-2.30, 53.45), Point(-2.25, 53.47)],
                              crs="EPSG:4326")
    out = run(plugins, "builtins.buffer", input=lonlat, distance_m=50, output=str(tmp_path / "b.geojson"))
    result = gpd.read_file(out["output"])
    assert result.crs.to_epsg() == 4326 and out["buffer_crs"] == "EPSG:27700"
    assert list(result["site"]) == ["A", "B"]
    geod = pyproj.Geod(ellps="WGS84")
    for polygon in result.geometry:
        ground_area = abs(geod.geometry_area_perimeter(polygon)[0])
        # BNG's scale factor near Manchester is within 0.1% of 1, so area within 0.2%
        assert ground_area == pytest.approx(polygon_area(8, 50), rel=0.002)
        assert polygon.bounds[3] - polygon.bounds[1] < 0.002  # ~100 m of latitude, not 100 degrees


def test_buffer_outside_great_britain_uses_a_utm_zone(plugins, tmp_path):
    sydney = gpd.GeoDataFrame(geometry=[Point(151.2, -33.87)], crs="EPSG:4326")
    out = run(plugins, "builtins.buffer", input=sydney, distance_m=100, output=str(tmp_path / "b.gpkg"))
    assert out["buffer_crs"] == "EPSG:32756"
    polygon = gpd.read_file(out["output"]).geometry[0]
    area = abs(pyproj.Geod(ellps="WGS84").geometry_area_perimeter(polygon)[0])
    assert area == pytest.approx(polygon_area(8, 100), rel=0.002)


def test_buffer_in_a_given_crs_and_negative_distance(plugins, tmp_path):
    square = gpd.GeoDataFrame({"id": [1, 2]}, geometry=[box(0, 0, 100, 100), box(500, 0, 504, 4)],
                              crs="EPSG:27700")
    fb = Feedback()
    out = run(plugins, "builtins.buffer", fb, input=square, distance_m=-10, buffer_crs="EPSG:3857",
              output=str(tmp_path / "b.gpkg"))
    assert out["buffer_crs"] == "EPSG:3857"
    result = gpd.read_file(out["output"])
    assert list(result["id"]) == [1]  # the 4 m square vanished
    # Web Mercator's scale at 53 N is ~1.66, so 10 m there is ~6 m on this BNG square
    assert 80 < result.geometry[0].bounds[2] - result.geometry[0].bounds[0] < 95
    assert any("Dropped 1" in text for _, text in fb.messages)


def test_buffer_reports_progress_and_honours_cancel(plugins, tmp_path):
    rng = np.random.default_rng(1)
    xy = rng.uniform(0, 10000, size=(12000, 2))
    many = gpd.GeoDataFrame(geometry=gpd.points_from_xy(xy[:, 0], xy[:, 1]), crs="EPSG:27700")
    seen = []
    out = run(plugins, "builtins.buffer", Feedback(on_progress=seen.append), input=many, distance_m=5,
              segments=2, output=str(tmp_path / "all.gpkg"))
    assert out["count"] == 12000 and seen[-1] == 100 and seen == sorted(seen) and len(seen) >= 4

    def cancel_after_first_chunk(percent):
        if percent > 10:
            feedback.cancel()

    feedback = Feedback(on_progress=cancel_after_first_chunk)
    target = tmp_path / "cancelled.gpkg"
    with pytest.raises(CanceledError):
        run(plugins, "builtins.buffer", feedback, input=many, distance_m=5, output=str(target))
    assert not target.exists() and list(tmp_path.iterdir()) == [tmp_path / "all.gpkg"]


# --- reproject -----------------------------------------------------------------------------


def test_reproject_bng_to_wgs84_matches_pyproj(plugins, tmp_path):
    xy = [(383000.0, 398000.0), (376000.0, 390000.0), (530000.0, 180000.0), (325000.0, 673000.0)]
    frame = gpd.GeoDataFrame({"name": ["manchester", "trafford", "london", "edinburgh"]},
                             geometry=[Point(x, y) for x, y in xy], crs="EPSG:27700")
    out = run(plugins, "builtins.reproject", input=frame, target_crs="EPSG:4326",
              output=str(tmp_path / "wgs84.gpkg"))
    result = gpd.read_file(out["output"])
    assert result.crs.to_epsg() == 4326 and list(result["name"]) == list(frame["name"])
    lon, lat = pyproj.Transformer.from_crs(27700, 4326, always_xy=True).transform(*zip(*xy))
    np.testing.assert_allclose(result.geometry.x, lon, atol=1e-9)
    np.testing.assert_allclose(result.geometry.y, lat, atol=1e-9)
    assert 53.4 < result.geometry.y[0] < 53.5 and -2.3 < result.geometry.x[0] < -2.2  # Manchester


def test_reproject_to_a_crs_that_cannot_hold_the_data_fails_clearly(plugins, tmp_path):
    from gis_desk.errors import CrsError

    far_side = gpd.GeoDataFrame(geometry=[Point(178, -53)], crs="EPSG:4326")  # behind the globe
    target = tmp_path / "x.gpkg"
    with pytest.raises(CrsError, match="cannot be expressed in"):
        run(plugins, "builtins.reproject", input=far_side, target_crs="+proj=ortho +lat_0=53 +lon_0=-2",
            output=str(target))
    assert not target.exists()


# --- clip ----------------------------------------------------------------------------------


def test_clip_square_by_square_gives_the_intersection(plugins, tmp_path):
    squares = gpd.GeoDataFrame({"name": ["a"], "value": [7]}, geometry=[box(0, 0, 10, 10)], crs="EPSG:27700")
    overlay = gpd.GeoDataFrame(geometry=[box(4, -5, 20, 6)], crs="EPSG:27700")
    out = run(plugins, "builtins.clip", input=squares, overlay=overlay, output=str(tmp_path / "c.gpkg"))
    result = gpd.read_file(out["output"])
    assert result.geometry[0].equals(box(4, 0, 10, 6))
    assert (result.loc[0, "name"], result.loc[0, "value"]) == ("a", 7)
    both = run(plugins, "builtins.clip", input=squares, overlay=overlay, extent="0,0,5,5",
               output=str(tmp_path / "both.gpkg"))
    assert gpd.read_file(both["output"]).geometry[0].equals(box(4, 0, 5, 5))


def test_clip_keeps_line_geometry_and_drops_features_outside(plugins, tmp_path):
    lines = gpd.GeoDataFrame({"id": [1, 2]}, geometry=[LineString([(-5, 5), (15, 5)]), LineString([(50, 50), (60, 60)])],
                             crs="EPSG:27700")
    out = run(plugins, "builtins.clip", input=lines, extent="0,0,10,10", output=str(tmp_path / "l.gpkg"))
    result = gpd.read_file(out["output"])
    assert out["count"] == 1 and result.geometry[0].length == pytest.approx(10)


def test_clip_with_an_empty_result_writes_an_empty_file(plugins, tmp_path):
    frame = gpd.GeoDataFrame({"id": [1]}, geometry=[box(0, 0, 1, 1)], crs="EPSG:27700")
    fb = Feedback()
    out = run(plugins, "builtins.clip", fb, input=frame, extent="100,100,200,200", output=str(tmp_path / "e.gpkg"))
    assert out["count"] == 0 and len(gpd.read_file(out["output"])) == 0
    assert any(level == "warning" for level, _ in fb.messages)


@pytest.mark.filterwarnings("ignore:'crs' was not provided")
def test_input_without_crs_needs_input_crs(plugins, tmp_path):
    frame = gpd.GeoDataFrame({"id": [1]}, geometry=[Point(380000, 395000)])
    path = tmp_path / "nocrs.shp"
    frame.to_file(path)
    algorithm = create_algorithm(plugins, "builtins.buffer")
    with pytest.raises(MissingCrsError):
        run_algorithm(algorithm, {"input": str(path), "output": str(tmp_path / "b.gpkg")})
    out = run_algorithm(algorithm, {"input": str(path), "output": str(tmp_path / "b.gpkg")}, input_crs="EPSG:27700")
    assert gpd.read_file(out["output"]).crs.to_epsg() == 27700


# --- registry and run ----------------------------------------------------------------------

TEST_PLUGIN = """
name: demo
version: 1.0
contributions:
  algorithms:
    - id: demo.double
      python_name: demo_algorithms_mod:Double
    - id: demo.not_an_algorithm
      python_name: demo_algorithms_mod:helper
"""


@pytest.fixture
def demo_plugins(tmp_path, monkeypatch):
    (tmp_path / "demo_algorithms_mod.py").write_text(textwrap.dedent("""
        from gis_desk.errors import DataError
        from gis_desk.processing.algorithm import Algorithm, OutputDefinition
        from gis_desk.processing.parameters import NumberParameter, StringParameter

        class Double(Algorithm):
            display_name = "Double a number"
            group = "Demo"
            def parameters(self):
                return [NumberParameter("value_m", "Value", unit="m"),
                        StringParameter("mode", "Mode", default="ok")]
            def outputs(self):
                return [OutputDefinition("result_m", "number", "twice the value")]
            def run(self, params, feedback):
                if params["mode"] == "bug":
                    return 1 / 0
                if params["mode"] == "data":
                    raise DataError("no rows")
                return {"result_m": 2 * params["value_m"]}

        def helper():
            pass
    """))
    monkeypatch.syspath_prepend(str(tmp_path))
    mgr = PluginManager()
    mgr.add_manifest(parse_manifest(TEST_PLUGIN, "demo.yaml"))
    return mgr


def test_registry_creates_declared_algorithms_and_lists_them(demo_plugins):
    algorithm = create_algorithm(demo_plugins, "demo.double")
    assert algorithm.id == "demo.double"  # the manifest's id
    assert run_algorithm(algorithm, {"value_m": "2.5"}) == {"result_m": 5.0}
    assert ("demo.double", "Double a number", "Demo", "demo") in list_algorithms(demo_plugins)
    assert "value_m (number, m, required)" in algorithm.help_text()
    assert algorithm.to_dict()["outputs"][0]["name"] == "result_m"


def test_registry_errors(demo_plugins, plugins):
    with pytest.raises(ParameterError, match="Unknown algorithm 'demo.doubel'") as err:
        create_algorithm(demo_plugins, "demo.doubel")
    assert "demo.double" in str(err.value)
    with pytest.raises(ParameterError, match="did you mean builtins.buffer"):
        create_algorithm(plugins, "bufer")
    assert create_algorithm(plugins, "buffer").id == "builtins.buffer"  # short name when unique
    with pytest.raises(PluginError, match="not an Algorithm"):
        create_algorithm(demo_plugins, "demo.not_an_algorithm")


def test_run_algorithm_checks_parameters_and_keeps_errors_typed(demo_plugins):
    from gis_desk.errors import DataError

    algorithm = create_algorithm(demo_plugins, "demo.double")
    with pytest.raises(ParameterError, match="value_m.*required"):
        run_algorithm(algorithm, {})
    with pytest.raises(ParameterError, match="no parameter 'valu'") as err:
        run_algorithm(algorithm, {"valu": 1})
    assert "value_m" in str(err.value)
    with pytest.raises(DataError, match="no rows"):
        run_algorithm(algorithm, {"value_m": 1, "mode": "data"})
    with pytest.raises(AlgorithmError, match="Double a number failed: ZeroDivisionError") as err:
        run_algorithm(algorithm, {"value_m": 1, "mode": "bug"})
    assert "Traceback" in err.value.details
    cancelled = Feedback()
    cancelled.cancel()
    with pytest.raises(CanceledError):
        run_algorithm(algorithm, {"value_m": 1}, cancelled)


def test_session_runs_an_algorithm_and_opens_its_output(session, tmp_path):
    points = gpd.GeoDataFrame({"n": [1]}, geometry=[Point(*MANCHESTER_BNG)], crs="EPSG:27700")
    src = tmp_path / "points.geojson"
    points.to_file(src)
    outputs = session.run_algorithm("builtins.buffer", {"input": str(src), "distance_m": 25,
                                                        "output": str(tmp_path / "buf.gpkg")}, add_outputs=True)
    assert outputs["count"] == 1
    (layer,) = session.project.layers
    assert layer.dataset.frame.area.sum() == pytest.approx(polygon_area(8, 25))


def test_an_existing_output_file_is_replaced_whole(plugins, tmp_path):
    import pyogrio

    target = tmp_path / "result.gpkg"
    pyogrio.write_dataframe(gpd.GeoDataFrame(geometry=[Point(0, 0)], crs="EPSG:27700"), target, layer="old")
    square = gpd.GeoDataFrame(geometry=[box(0, 0, 1, 1)], crs="EPSG:27700")
    run(plugins, "builtins.buffer", input=square, distance_m=1, output=str(target))
    assert [name for name, _ in pyogrio.list_layers(target)] == ["result"]


def test_dissolve_by_groups_equals_one_geos_union():
    import shapely

    from gis_desk.processing.algorithms.vector import dissolve_geometries

    rng = np.random.default_rng(7)
    circles = shapely.buffer(shapely.points(rng.uniform(0, 1000, size=(3000, 2))), 8, quad_segs=4)
    geoms = np.concatenate([circles, [shapely.LineString([(0, 0), (1000, 1000)]), shapely.Polygon()]])
    for candidate in (circles, geoms):
        merged = dissolve_geometries(candidate, Feedback())
        reference = shapely.union_all(candidate)
        assert merged.is_valid and merged.area == pytest.approx(reference.area, rel=1e-12)
        assert merged.symmetric_difference(reference).area < 1e-6
        assert merged.length == pytest.approx(reference.length, rel=1e-9)  # the line's outside parts too
    assert dissolve_geometries(np.array([shapely.Polygon()]), Feedback()).is_empty
