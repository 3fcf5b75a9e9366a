"""CSV with X/Y, lat/lon or WKT columns; the real Trafford asset register; bad CSVs."""

from __future__ import annotations

import csv

import numpy as np
import pytest
import shapely

from gis_desk.core.crs import crs_id
from gis_desk.errors import CorruptFileError, DataError, MissingCrsError
from gis_desk.io.csv_points import convert_numeric_columns, is_identifier_column, read_csv_points
from gis_desk.io.vector import read_vector


def _write(path, header, rows, delimiter=","):
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh, delimiter=delimiter)
        w.writerow(header)
        w.writerows(rows)
    return path


def test_xy_with_crs_option(tmp_path):
    path = _write(tmp_path / "bng.csv", ["UPRN", "X_COORDINATE", "Y_COORDINATE", "Floors"],
                  [["010012797623", "377123.5", "393456.25", "3"], ["100012800714", "378000", "394000", "12"]])
    with pytest.raises(MissingCrsError) as err:
        read_vector(path)
    assert str(path) in str(err.value) and "--crs" in str(err.value)
    [ds] = read_vector(path, crs="EPSG:27700")
    assert crs_id(ds.crs) == "EPSG:27700"
    assert ds.frame.geometry[0].equals(shapely.Point(377123.5, 393456.25))
    assert ds.frame["UPRN"].tolist() == ["010012797623", "100012800714"]
    assert ds.frame["Floors"].dtype == np.int64
    assert ds.source.options == {"x": "X_COORDINATE", "y": "Y_COORDINATE", "crs": "EPSG:27700"}
    [again] = read_vector(ds.source.path, **ds.source.options)
    assert again.frame.geometry.geom_equals(ds.frame.geometry).all()


def test_easting_northing_semicolon_delimited(tmp_path):
    path = _write(tmp_path / "en.txt", ["Site", "Easting", "Northing"], [["A", "377000", "393000"]], ";")
    [ds] = read_vector(path, crs=27700)
    assert ds.frame.geometry[0].equals(shapely.Point(377000, 393000))


def test_latlon_means_wgs84(tmp_path):
    path = _write(tmp_path / "ll.csv", ["name", "Latitude", "Longitude"],
                  [["Town hall", "53.3879587", "-2.3520922"], ["bad", "not a number", ""], ["far", "95", "1"]])
    [ds] = read_vector(path)
    assert crs_id(ds.crs) == "EPSG:4326"
    assert ds.frame.geometry[0].equals(shapely.Point(-2.3520922, 53.3879587))  # x = longitude
    assert len(ds) == 3  # rows without usable coordinates are kept...
    assert ds.frame.geometry[1].is_empty and ds.frame.geometry[2].is_empty  # latitude 95 is impossible
    assert ds.skipped_geometry_rows == 2  # ...and counted
    assert "2 of 3 rows" in ds.info()["notes"][0]
    assert ds.frame["Latitude"].tolist()[1] == "not a number"  # a mixed column stays text


def test_latlon_preferred_over_xy_without_crs_but_xy_used_with_crs(tmp_path):
    path = _write(tmp_path / "uprn.csv", ["UPRN", "X_COORDINATE", "Y_COORDINATE", "LATITUDE", "LONGITUDE"],
                  [["100012797623", "377000.0", "393000.0", "53.38", "-2.35"]])
    [ll] = read_vector(path)
    assert crs_id(ll.crs) == "EPSG:4326" and ll.geometry_columns == {"x": "LONGITUDE", "y": "LATITUDE"}
    [xy] = read_vector(path, crs="EPSG:27700")
    assert crs_id(xy.crs) == "EPSG:27700" and xy.frame.geometry[0].equals(shapely.Point(377000, 393000))


def test_wkt_column_with_crs(tmp_path):
    path = _write(tmp_path / "wkt.csv", ["id", "WKT", "area_ha"],
                  [["1", "POLYGON ((0 0, 10 0, 10 10, 0 0))", "0.005"], ["2", "", "0"], ["3", "garbage", "1"]])
    with pytest.raises(MissingCrsError):
        read_vector(path)
    [ds] = read_vector(path, crs="EPSG:27700")
    assert ds.geometry_type == "Polygon"  # unparseable rows get an EMPTY polygon, not a mixed type
    assert ds.frame.geometry[0].equals(shapely.from_wkt("POLYGON ((0 0, 10 0, 10 10, 0 0))"))
    assert ds.skipped_geometry_rows == 2 and len(ds) == 3
    assert "WKT" not in ds.frame.columns  # it became the geometry
    assert ds.frame["id"].tolist() == ["1", "2", "3"]  # identifier stays text


def test_ewkt_srid_states_the_crs(tmp_path):
    path = _write(tmp_path / "ewkt.csv", ["geom"], [["SRID=27700;POINT (377000 393000)"]])
    [ds] = read_vector(path)
    assert crs_id(ds.crs) == "EPSG:27700"


def test_explicit_columns_override_detection(tmp_path):
    path = _write(tmp_path / "odd.csv", ["ref", "east_m", "north_m", "x"], [["A1", "377000", "393000", "junk"]])
    [ds] = read_vector(path, x="EAST_M", y="north_m", crs="EPSG:27700")  # case-insensitive
    assert ds.frame.geometry[0].equals(shapely.Point(377000, 393000))
    assert ds.source.options["x"] == "east_m"
    with pytest.raises(DataError, match="no column 'nope'"):
        read_vector(path, x="nope", y="north_m", crs="EPSG:27700")
    with pytest.raises(DataError, match="both"):
        read_vector(path, x="east_m")


def test_crs_column_with_bng_and_mixed_values(tmp_path):
    ok = _write(tmp_path / "ok.csv", ["x", "y", "crs"], [["377000", "393000", "EPSG:27700"], ["", "", ""]])
    [ds] = read_vector(ok)
    assert crs_id(ds.crs) == "EPSG:27700" and "CRS column" in ds.crs_origin
    mixed = _write(tmp_path / "mixed.csv", ["x", "y", "crs"],
                   [["377000", "393000", "EPSG:27700"], ["-2.3", "53.4", "WGS84"]])
    with pytest.raises(MissingCrsError):  # two CRSs stated: not used, never guessed
        read_vector(mixed)


def test_no_coordinate_columns(tmp_path):
    path = _write(tmp_path / "plain.csv", ["name", "ward", "value"], [["a", "b", "1"]])
    with pytest.raises(DataError) as err:
        read_vector(path)
    text = str(err.value)
    assert str(path) in text
    assert "name, ward, value" in text  # the columns found
    assert "easting" in text and "latitude" in text and "wkt" in text  # the names accepted


def test_binary_and_empty_files(tmp_path):
    binary = tmp_path / "sheet.csv"
    binary.write_bytes(b"PK\x03\x04\x00\x00binary spreadsheet")
    with pytest.raises(CorruptFileError, match="not a text"):
        read_vector(binary)
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    with pytest.raises(DataError, match="empty"):
        read_vector(empty)


def test_windows_1252_file(tmp_path):
    path = tmp_path / "cp.csv"
    path.write_bytes("name,lat,lon\nCaf\xe9 \xa3 shop,53.4,-2.3\n".encode("cp1252"))
    [ds] = read_vector(path)
    assert ds.frame["name"][0] == "Café £ shop"


def test_identifier_rules():
    for name in ("UPRN", "uprn_text", "AssetCode", "LSOA11CD", "PostCode", "CHI", "nhs_number", "FeatureID",
                 "id", "parcel_id"):
        assert is_identifier_column(name), name
    for name in ("Width", "Machine", "Architecture", "BuildingSize", "LandArea", "value"):
        assert not is_identifier_column(name), name


def test_numeric_conversion_keeps_codes_and_long_numbers():
    import pandas as pd

    frame = pd.DataFrame({"a": ["1", "2", ""], "b": ["1.5", "2", "3"], "c": ["007", "8", "9"],
                          "d": ["1234567890123456789", "1", "2"], "e": ["1", "x", "3"], "f": ["4", "5", "6"]},
                         dtype=str)
    convert_numeric_columns(frame)
    assert frame["a"].dtype == np.float64 and np.isnan(frame["a"][2])
    assert frame["b"].tolist() == [1.5, 2.0, 3.0]
    assert frame["c"].tolist() == ["007", "8", "9"]
    assert frame["d"][0] == "1234567890123456789"
    assert frame["e"].tolist() == ["1", "x", "3"]
    assert frame["f"].dtype == np.int64


def test_real_trafford_asset_register(trafford_assets, trafford_lonlat):
    with open(trafford_assets, newline="", encoding="utf-8") as fh:
        raw = list(csv.DictReader(fh))
    [ds] = read_csv_points(trafford_assets)
    assert len(ds) == 608 == len(raw)
    assert crs_id(ds.crs) == "EPSG:4326"
    assert ds.crs_origin == "CRS column 'CoordinateReferenceSystem' = 'WGS84'"  # stated by the data
    assert ds.geometry_columns == {"x": "GeoX", "y": "GeoY"}
    assert ds.frame["UPRN"].tolist() == [r["UPRN"] for r in raw]  # exactly as in the file, as text
    assert ds.frame["PostCode"].tolist() == [r["PostCode"] for r in raw]
    assert ds.frame["BuildingSize"].dtype == np.float64
    located = ds.frame[~ds.frame.geometry.is_empty]
    blank = sum(1 for r in raw if not r["GeoX"].strip())
    assert ds.skipped_geometry_rows == blank == 608 - len(located)
    lon0, lat0, lon1, lat1 = trafford_lonlat
    inside = located.geometry.x.between(lon0, lon1) & located.geometry.y.between(lat0, lat1)
    assert inside.sum() == 370
    # The three outside: two real council assets in Warrington and Wigan, and one row of the
    # published file with GeoX/GeoY transposed, which the reader keeps as stated (not guessed).
    outside = located[~inside].set_index("PropertyName")
    assert sorted(outside.index) == ["Davyhulme Youth Centre", "Sonova House", "The Fort"]
    assert outside.loc["Sonova House", "PostTown"] == "Warrington"
    assert outside.loc["The Fort", "PostTown"] == "Wigan"
    swapped = outside.loc["Davyhulme Youth Centre", "geometry"]
    assert (swapped.x, swapped.y) == pytest.approx((53.457484, -2.365856))
