"""Vector formats: synthetic round trips with known features, real Trafford data, bad inputs."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
from shapely.geometry import LineString, Polygon

from gis_desk.core.crs import crs_id
from gis_desk.core.datasets import VectorDataset
from gis_desk.errors import CorruptFileError, DataError, MissingCrsError, MissingFileError, WriterError
from gis_desk.io.vector import read_vector, write_vector


@pytest.fixture
def parcels() -> gpd.GeoDataFrame:
    """Three polygons in British National Grid with text, integer, float and UPRN fields."""
    shapes = [Polygon([(0, 0), (10, 0), (10, 10)]), Polygon([(20, 0), (30, 0), (30, 10), (20, 10)]),
              Polygon([(5, 20), (15, 20), (10, 30)])]
    frame = gpd.GeoDataFrame(
        {"name": ["Altrincham", "Sale", "Stretford"], "count": [3, 1, 4], "value": [1.5, 2.25, -3.0],
         "uprn": ["010012797623", "100012800714", "100012702108"]},
        geometry=shapes, crs="EPSG:27700")
    frame["geometry"] = frame.geometry.translate(377000, 393000)
    return frame


@pytest.mark.parametrize("ext", ["gpkg", "shp", "geojson", "fgb", "gml", "csv"])
def test_round_trip_keeps_geometry_attributes_and_crs(tmp_path, parcels, ext):
    path = write_vector(parcels, tmp_path / f"parcels.{ext}")
    [ds] = read_vector(path)
    assert isinstance(ds, VectorDataset)
    assert crs_id(ds.crs) == "EPSG:27700"
    assert len(ds) == 3
    # FlatGeobuf stores features in spatial-index order: compare feature by feature by name
    back = ds.frame.set_index("name").loc[parcels["name"]].reset_index()
    # topological equality: Shapefile and FlatGeobuf may reverse ring order
    assert back.geometry.geom_equals(parcels.geometry).all()
    assert back["count"].astype(int).tolist() == [3, 1, 4]
    assert np.allclose(back["value"].astype(float), [1.5, 2.25, -3.0])
    assert back["uprn"].tolist() == parcels["uprn"].tolist()  # leading zero kept
    assert ds.bounds == pytest.approx(tuple(parcels.total_bounds))
    assert ds.source.path == str(path)


def test_kml_round_trip_in_wgs84(tmp_path, parcels):
    lonlat = parcels.to_crs("EPSG:4326")
    path = write_vector(parcels, tmp_path / "parcels.kml")  # reprojected to WGS84 on write
    [ds] = read_vector(path)
    assert crs_id(ds.crs) == "EPSG:4326"
    assert ds.frame.geometry.geom_equals_exact(lonlat.geometry, tolerance=1e-7).all()
    assert ds.frame["Name"].tolist() == ["Altrincham", "Sale", "Stretford"]  # KML's own name field
    assert np.allclose(ds.frame["value"].astype(float), [1.5, 2.25, -3.0])


def test_geopackage_every_layer_and_one_layer(tmp_path, parcels):
    path = tmp_path / "council.gpkg"
    write_vector(parcels, path, layer="parcels")
    roads = gpd.GeoDataFrame({"road": ["A56"]}, geometry=[LineString([(377000, 393000), (378000, 394000)])],
                             crs="EPSG:27700")
    write_vector(roads, path, layer="roads")  # added to the same GeoPackage
    datasets = read_vector(path)
    assert {d.source.options["layer"] for d in datasets} == {"parcels", "roads"}
    by_layer = {d.source.options["layer"]: d for d in datasets}
    assert by_layer["roads"].geometry_type == "LineString"
    assert by_layer["parcels"].source.name == "council — parcels"
    # the source options reopen exactly the same layer
    [again] = read_vector(by_layer["roads"].source.path, **by_layer["roads"].source.options)
    assert again.frame["road"].tolist() == ["A56"]
    with pytest.raises(DataError, match="no layer 'nope'"):
        read_vector(path, layer="nope")


def test_write_accepts_layer_dataset_and_frame(tmp_path, parcels):
    from gis_desk.core.layer import VectorLayer

    [ds] = read_vector(write_vector(parcels, tmp_path / "a.fgb"))
    layer = VectorLayer(ds)
    for i, data in enumerate((layer, ds, parcels)):
        [back] = read_vector(write_vector(data, tmp_path / f"out{i}.geojson"))
        assert len(back) == 3
    with pytest.raises(TypeError):
        write_vector([1, 2], tmp_path / "x.gpkg")
    with pytest.raises(WriterError, match="extension"):
        write_vector(parcels, tmp_path / "x.unknown")


def test_overwriting_a_shapefile_replaces_every_part(tmp_path, parcels):
    path = tmp_path / "p.shp"
    write_vector(parcels, path)
    write_vector(parcels.iloc[:1], path)
    [ds] = read_vector(path)
    assert len(ds) == 1
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temp folder left


@pytest.mark.filterwarnings("ignore:'crs' was not provided")
def test_missing_crs_needs_the_crs_option(tmp_path, parcels):
    path = tmp_path / "nocrs.shp"
    write_vector(parcels.set_crs(None, allow_override=True), path)
    assert not path.with_suffix(".prj").exists()
    with pytest.raises(MissingCrsError) as err:
        read_vector(path)
    assert str(path) in str(err.value) and "--crs" in str(err.value)
    [ds] = read_vector(path, crs="EPSG:27700")
    assert crs_id(ds.crs) == "EPSG:27700"
    assert ds.source.options == {"crs": "EPSG:27700"}  # reopening needs the user's choice
    # a file that states its CRS keeps it: the option never overrides
    [kept] = read_vector(write_vector(parcels, tmp_path / "withcrs.gpkg"), crs="EPSG:4326")
    assert crs_id(kept.crs) == "EPSG:27700" and "crs" not in kept.source.options


def test_geojson_with_eastings_is_not_taken_as_degrees(tmp_path):
    import json

    path = tmp_path / "bng.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"name": "Town hall"},
         "geometry": {"type": "Point", "coordinates": [376830.0, 387760.0]}}]}))
    with pytest.raises(MissingCrsError) as err:
        read_vector(path)
    assert str(path) in str(err.value) and "not degrees" in str(err.value) and "--crs" in str(err.value)
    [ds] = read_vector(path, crs="EPSG:27700")
    assert crs_id(ds.crs) == "EPSG:27700" and ds.source.options == {"crs": "EPSG:27700"}
    assert ds.bounds == (376830.0, 387760.0, 376830.0, 387760.0)


def test_missing_file(tmp_path):
    path = tmp_path / "gone.gpkg"
    with pytest.raises(MissingFileError) as err:
        read_vector(path)
    assert str(path) in str(err.value)
    assert isinstance(err.value, FileNotFoundError)


def test_text_file_named_gpkg(tmp_path):
    path = tmp_path / "fake.gpkg"
    path.write_text("name,x,y\nA,1,2\n")
    with pytest.raises(CorruptFileError) as err:
        read_vector(path)
    assert "is not a valid GeoPackage" in str(err.value)
    assert str(path) in str(err.value)


def test_sqlite_file_that_is_not_a_geopackage(tmp_path):
    import sqlite3

    path = tmp_path / "plain.gpkg"
    with sqlite3.connect(path) as con:
        con.execute("CREATE TABLE t (a INTEGER)")
    with pytest.raises(CorruptFileError, match="not a valid GeoPackage"):
        read_vector(path)


def test_shapefile_without_shx(tmp_path, parcels):
    path = tmp_path / "parcels.shp"
    write_vector(parcels, path)
    path.with_suffix(".shx").unlink()
    with pytest.raises(CorruptFileError) as err:
        read_vector(path)
    text = str(err.value)
    assert str(path) in text and ".shx index file is missing" in text and "parcels.shx" in text
    assert not path.with_suffix(".shx").exists()  # never silently rebuilt


def test_damaged_geojson(tmp_path):
    path = tmp_path / "broken.geojson"
    path.write_text('{"type": "FeatureCollection", "features": [{"type": "Feat')
    with pytest.raises(CorruptFileError) as err:
        read_vector(path)
    assert str(path) in str(err.value) and "GeoJSON" in str(err.value)


def test_real_trafford_lsoa_geojson(trafford_lsoa, trafford_lonlat):
    [ds] = read_vector(trafford_lsoa)
    assert len(ds) == 138
    assert crs_id(ds.crs) == "EPSG:4326"  # CRS84 in the file: same axes as EPSG:4326 here
    assert ds.geometry_type == "Polygon"
    assert ds.frame["LSOA11CD"].str.startswith("E0100").all()
    assert ds.frame["LSOA11CD"].is_unique
    xmin, ymin, xmax, ymax = ds.bounds
    lon0, lat0, lon1, lat1 = trafford_lonlat
    assert lon0 < xmin < xmax < lon1 and lat0 < ymin < ymax < lat1


def test_session_reads_through_the_plugin_manager(session, tmp_path, parcels):
    path = write_vector(parcels, tmp_path / "p.gpkg", layer="parcels")
    [layer] = session.open(path)
    assert layer.dataset.source.reader == "builtins.read_vector"
    assert layer.source.options == {"layer": "parcels"}
    assert len(session.project.layers) == 1
