"""``describe``/``format_info``: what ``gis-desk info FILE [--json]`` prints."""

from __future__ import annotations

import json

import numpy as np
import pytest

from gis_desk.errors import MissingCrsError, MissingFileError, NoReaderError
from gis_desk.io.info import describe, format_info


def test_describe_raster(session, float_dem):
    path, _ = float_dem
    d = describe(path, session)
    assert d["path"] == str(path)
    [ds] = d["datasets"]
    assert ds["kind"] == "raster" and ds["driver"] == "GTiff" and ds["crs"] == "EPSG:27700"
    assert (ds["width"], ds["height"], ds["count"]) == (80, 60, 1)
    assert ds["bands"][0] == {"band": 1, "dtype": "float32", "nodata": -9999.0, "colorinterp": "gray",
                              "mask": ["nodata"]}
    json.dumps(d)  # --json must work
    text = format_info(d)
    for expected in ("GTiff", "EPSG:27700 - OSGB36 / British National Grid", "80 x 60 pixels, 1 band(s)",
                     "Band 1: float32, gray, nodata -9999.0", "Overviews: none", "377000.00, 392880.00"):
        assert expected in text, expected


def test_describe_vector_csv_with_notes(session, trafford_assets):
    d = describe(trafford_assets, session)
    [ds] = d["datasets"]
    assert ds["count"] == 608 and ds["crs"] == "EPSG:4326" and ds["fields"]["UPRN"] == "str"
    json.dumps(d)
    text = format_info(d)
    assert "Features: 608 (Point)" in text and "UPRN: str" in text
    assert "Note: 235 of 608 rows have blank or unusable coordinates" in text


def test_describe_geopackage_layers_and_tiles(session, tmp_path):
    import geopandas as gpd
    from shapely.geometry import Point

    from gis_desk.io.tiles import TileGrid, write_gpkg_tiles
    from gis_desk.io.vector import write_vector

    path = tmp_path / "mixed.gpkg"
    grid = TileGrid.for_extent((0, 0, 5120, 5120), "EPSG:27700", finest_resolution=20.0)
    write_gpkg_tiles(path, grid, [(0, 0, 0, np.full((256, 256, 4), 255, np.uint8))], table="base")
    write_vector(gpd.GeoDataFrame({"n": [1, 2]}, geometry=[Point(1, 1), Point(2, 2)], crs="EPSG:27700"), path,
                 layer="sites")
    d = describe(path, session)
    kinds = {ds["kind"]: ds for ds in d["datasets"]}
    assert kinds["vector"]["layer"] == "sites" and kinds["tiles"]["zooms"] == [0]
    text = format_info(d)
    assert "Dataset 1: vector 'sites'" in text and "tiles 'base'" in text and "Zooms:   0" in text
    assert "256 x 256 pixels" in text


def test_describe_errors(session, tmp_path, write_tif):
    with pytest.raises(MissingFileError):
        describe(tmp_path / "nope.tif", session)
    odd = tmp_path / "file.xyz123"
    odd.write_text("?")
    with pytest.raises(NoReaderError):
        describe(odd, session)
    nocrs = write_tif(tmp_path / "nocrs.tif", np.zeros((4, 4), "uint8"), crs=None)
    with pytest.raises(MissingCrsError):
        describe(nocrs, session)
    assert describe(nocrs, session, crs="EPSG:27700")["datasets"][0]["crs"] == "EPSG:27700"
