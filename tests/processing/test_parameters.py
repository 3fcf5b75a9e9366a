"""Declared parameters: parsing CLI text, validation with errors naming the parameter."""

import math
from pathlib import Path

import geopandas as gpd
import pyproj
import pytest
from shapely.geometry import Point

from gis_desk.errors import MissingCrsError, ParameterError
from gis_desk.processing.parameters import (
    BoolParameter,
    CrsParameter,
    EnumParameter,
    Extent,
    ExtentParameter,
    FieldParameter,
    IntegerParameter,
    NumberParameter,
    OutputFileParameter,
    StringParameter,
    VectorLayerParameter,
)


def test_kinds_are_the_short_strings_forms_use():
    kinds = [VectorLayerParameter("a", "A").kind, NumberParameter("b", "B").kind, IntegerParameter("c", "C").kind,
             EnumParameter("d", "D", ["x"]).kind, BoolParameter("e", "E").kind, CrsParameter("f", "F").kind,
             ExtentParameter("g", "G").kind, FieldParameter("h", "H", parent="a").kind,
             StringParameter("i", "I").kind, OutputFileParameter("j", "J").kind]
    assert kinds == ["vector", "number", "integer", "enum", "bool", "crs", "extent", "field", "string",
                     "output_file"]


def test_required_optional_and_default():
    assert NumberParameter("d", "D", default=10).validate(None) == 10.0
    assert NumberParameter("d", "D", optional=True).validate("") is None
    with pytest.raises(ParameterError, match="'distance_m'.*required"):
        NumberParameter("distance_m", "Distance").validate(None)


def test_number_range_unit_and_bad_text():
    p = NumberParameter("distance_m", "Distance", minimum=0, maximum=1000, unit="m")
    assert p.parse(" 12.5 ") == 12.5
    with pytest.raises(ParameterError, match=r"distance_m.*-1 m is below the minimum 0 m"):
        p.parse("-1")
    with pytest.raises(ParameterError, match="distance_m.*above the maximum"):
        p.validate(5000)
    for bad in ("ten", "nan", "inf", True):
        with pytest.raises(ParameterError, match="distance_m"):
            p.validate(bad)
    assert p.to_dict()["unit"] == "m" and p.to_dict()["minimum"] == 0


def test_integer_refuses_fractions():
    p = IntegerParameter("segments", "Segments", minimum=1)
    assert p.parse("8") == 8 and isinstance(p.parse("8"), int)
    assert p.validate(4.0) == 4
    with pytest.raises(ParameterError, match="whole number"):
        p.parse("2.5")
    with pytest.raises(ParameterError, match="minimum"):
        p.parse("0")


def test_enum_bool_string():
    e = EnumParameter("method", "Method", ["Quantile", "Equal interval"])
    assert e.parse("quantile") == "Quantile"
    with pytest.raises(ParameterError, match="'method'.*Quantile, Equal interval"):
        e.parse("jenks")
    b = BoolParameter("dissolve", "Dissolve")
    assert [b.parse(t) for t in ("yes", "TRUE", "1", "off", "no")] == [True, True, True, False, False]
    assert b.validate(None) is False  # default False
    with pytest.raises(ParameterError, match="dissolve"):
        b.parse("maybe")
    assert StringParameter("title", "Title").parse("Site 4") == "Site 4"


def test_crs_parameter():
    p = CrsParameter("target_crs", "Target CRS")
    assert p.parse("EPSG:27700") == pyproj.CRS("EPSG:27700")
    assert p.parse("4326").to_epsg() == 4326
    assert p.validate(27700).to_epsg() == 27700
    with pytest.raises(ParameterError, match="target_crs.*not a known"):
        p.parse("EPSG:999999")


def test_extent_parameter_with_and_without_crs():
    p = ExtentParameter("extent", "Extent")
    plain = p.parse("0, 1, 10, 11")
    assert plain == Extent(0, 1, 10, 11) and plain.crs is None
    with_crs = p.parse("-2.4,53.4,-2.3,53.5,EPSG:4326")
    assert with_crs.crs.to_epsg() == 4326 and with_crs.bounds == (-2.4, 53.4, -2.3, 53.5)
    assert p.parse("0,0,1,1 [EPSG:27700]").crs.to_epsg() == 27700
    assert p.validate([0, 0, 2, 2]).bounds == (0, 0, 2, 2)
    for bad, why in [("1,2,3", "4 numbers"), ("a,b,c,d", "numbers"), ("5,0,1,1", "xmin"), ("0,0,1,1,EPSG:0", "extent")]:
        with pytest.raises(ParameterError, match=why):
            p.parse(bad)


def test_extent_polygon_follows_curved_edges_in_another_crs():
    extent = Extent(372000, 388000, 374000, 390000, pyproj.CRS("EPSG:27700"))
    lonlat = extent.polygon_in("EPSG:4326")
    assert len(lonlat.exterior.coords) > 5  # densified, not 4 corners
    back = Extent(*lonlat.bounds, crs=pyproj.CRS("EPSG:4326")).polygon_in("EPSG:27700")
    assert back.contains(extent.polygon_in(None).buffer(-1))


def test_output_file_parameter(tmp_path):
    p = OutputFileParameter("output", "Output", extensions=[".gpkg", ".geojson"])
    assert p.parse(str(tmp_path / "out")) == str(tmp_path / "out.gpkg")
    assert p.parse(str(tmp_path / "out.GeoJSON")).endswith("out.GeoJSON")
    with pytest.raises(ParameterError, match="output.*'.txt'") as err:
        p.parse(str(tmp_path / "out.txt"))
    assert ".gpkg" in str(err.value)
    with pytest.raises(ParameterError, match="folder does not exist") as err:
        p.parse(str(tmp_path / "missing" / "out.gpkg"))
    assert "missing" in str(err.value)
    optional = OutputFileParameter("output", "Output", optional=True)
    first, second = optional.validate(None), optional.validate("")
    assert first != second and first.endswith(".gpkg") and Path(first).parent.is_dir()


def test_vector_parameter_values_and_load(tmp_path):
    frame = gpd.GeoDataFrame({"n": [1]}, geometry=[Point(1, 2)], crs="EPSG:27700")
    path = tmp_path / "pts.geojson"
    frame.to_file(path)
    p = VectorLayerParameter("input", "Input", geometry_types=["Point"])
    assert p.parse(str(path)) == str(path)
    loaded = p.load(str(path))
    assert len(loaded) == 1 and loaded.crs.to_epsg() == 27700
    assert p.load(frame).geometry[0] == Point(1, 2)
    with pytest.raises(ParameterError, match="input.*does not exist") as err:
        p.parse(str(tmp_path / "gone.gpkg"))
    assert "gone.gpkg" in str(err.value)
    with pytest.raises(ParameterError, match="expected a vector"):
        p.validate(42)
    no_crs = frame.set_crs(None, allow_override=True)
    with pytest.raises(MissingCrsError, match="input"):
        p.load(no_crs)
    assert p.load(no_crs, crs="EPSG:27700").crs.to_epsg() == 27700
    polygons_only = VectorLayerParameter("overlay", "Overlay", geometry_types=["Polygon"])
    with pytest.raises(ParameterError, match="overlay.*Polygon.*Point"):
        polygons_only.load(frame)


def test_vector_parameter_accepts_layers_and_datasets():
    from gis_desk.core.datasets import DataSource, VectorDataset
    from gis_desk.session import Session

    frame = gpd.GeoDataFrame({"n": [1, 2]}, geometry=[Point(0, 0), Point(1, 1)], crs="EPSG:27700")
    dataset = VectorDataset(DataSource("/nowhere/pts.gpkg"), frame)
    layer = Session.layer_for(dataset)
    p = VectorLayerParameter("input", "Input")
    assert p.validate(layer) is dataset
    assert len(p.load(layer)) == 2
    assert p.load(dataset) is not frame  # a copy the algorithm may change


def test_field_parameter_checks_against_the_loaded_layer():
    frame = gpd.GeoDataFrame({"name": ["a"], "pop": [3]}, geometry=[Point(0, 0)], crs="EPSG:27700")
    p = FieldParameter("weight_field", "Weight", parent="input", numeric_only=True)
    assert p.to_dict()["parent"] == "input"
    assert p.check_in(frame, "pop") == "pop"
    with pytest.raises(ParameterError, match="weight_field.*not numeric") as err:
        p.check_in(frame, "name")
    assert "pop" in str(err.value)
    with pytest.raises(ParameterError, match="no field 'popn'"):
        p.check_in(frame, "popn")


def test_declarations_are_json_friendly():
    import json

    params = [CrsParameter("target_crs", "Target", default="EPSG:27700"),
              OutputFileParameter("output", "Output", extensions=[".gpkg", ".shp"])]
    text = json.dumps([p.to_dict() for p in params])
    assert '"default": "EPSG:27700"' in text and '"extensions": [".gpkg", ".shp"]' in text
    assert not math.isnan(NumberParameter("x", "X", default=1).to_dict()["default"])


def test_a_multi_layer_geopackage_needs_a_layer_name(tmp_path):
    import pyogrio

    path = tmp_path / "survey.gpkg"
    for name, geom in (("roads", Point(0, 0)), ("sites", Point(5, 5))):
        pyogrio.write_dataframe(gpd.GeoDataFrame(geometry=[geom], crs="EPSG:27700"), path, layer=name)
    p = VectorLayerParameter("input", "Input")
    with pytest.raises(ParameterError, match="2 vector layers") as err:
        p.load(str(path))
    assert "layername=" in str(err.value)
    assert p.load(f"{path}|layername=sites").geometry[0] == Point(5, 5)


def test_raster_parameter(tmp_path, real_data):
    from gis_desk.io.raster import read_raster
    from gis_desk.processing.parameters import RasterLayerParameter

    tif = real_data / "odm_outputs/webodm_fixtures/orthophoto.tif"
    p = RasterLayerParameter("dem", "Surface model")
    assert p.kind == "raster" and p.path(str(tif)) == str(tif)
    (dataset,) = read_raster(str(tif))
    assert p.path(dataset) == dataset.source.path
    assert p.load(str(tif)).width == 212 and p.load(dataset) is dataset
    with pytest.raises(ParameterError, match="dem.*does not exist"):
        p.parse(str(tmp_path / "none.tif"))
    with pytest.raises(ParameterError, match="expected a raster"):
        p.validate(gpd.GeoDataFrame(geometry=[Point(0, 0)]))
