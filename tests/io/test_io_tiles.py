"""Tile pyramids: written by our writers, read back by our readers AND by GDAL (rasterio),
with the right tile at the right place."""

from __future__ import annotations

import sqlite3

import numpy as np
import pytest

from gis_desk.core.crs import crs_id, transform_bounds
from gis_desk.errors import CanceledError, CorruptFileError, DataError, MissingFileError
from gis_desk.io.tiles import (GpkgTilesDataset, MBTilesDataset, TileGrid, read_gpkg_tiles, read_mbtiles,
                               write_gpkg_tiles, write_mbtiles)
from gis_desk.io.vector import read_vector
from gis_desk.processing.feedback import Feedback

EXTENT_BNG = (370000.0, 390000.0, 380000.0, 398000.0)  # 10 x 8 km around Trafford, EPSG:27700


def colour_of(zoom: int, col: int, row: int) -> tuple[int, int, int]:
    """A colour that identifies a tile."""
    return (zoom * 30 % 256, col % 256, row % 256)


def painted(zoom, col, row, bounds=None, size=256):
    rgba = np.empty((size, size, 4), np.uint8)
    rgba[..., :3] = colour_of(zoom, col, row)
    rgba[..., 3] = 255
    return rgba


@pytest.fixture
def bng_gpkg(tmp_path):
    grid = TileGrid.for_extent(EXTENT_BNG, "EPSG:27700", finest_resolution=10.0)
    path = write_gpkg_tiles(tmp_path / "basemap.gpkg", grid, painted, table="basemap", data_extent=EXTENT_BNG)
    return path, grid


def test_grid_for_extent():
    grid = TileGrid.for_extent(EXTENT_BNG, "EPSG:27700", finest_resolution=10.0)
    assert grid.zooms == [0, 1, 2]
    assert [grid.matrices[z].resolution_x for z in grid.zooms] == [40.0, 20.0, 10.0]
    assert grid.tile_bounds(2, 1, 1) == (372560.0, 392880.0, 375120.0, 395440.0)
    x0, y0, x1, y1 = grid.extent
    assert x0 == 370000 and y1 == 398000 and x1 >= 380000 and y0 <= 390000
    assert grid.count_tiles() == 1 + 4 + 16
    assert grid.best_zoom(9.0) == 2 and grid.best_zoom(25.0) == 1 and grid.best_zoom(1000.0) == 0


def test_gpkg_tiles_read_back_right_tile_right_place(bng_gpkg):
    path, grid = bng_gpkg
    [ds] = read_gpkg_tiles(path)
    assert isinstance(ds, GpkgTilesDataset)
    assert crs_id(ds.crs) == "EPSG:27700" and ds.bounds == EXTENT_BNG
    assert ds.source.options == {"layer": "basemap"}
    tiles = list(ds.tiles_for((372000, 392000, 373000, 393000), pixel_size=10.0))
    assert len(tiles) == 4  # the view straddles the corner of four zoom-2 tiles
    for bounds, rgba in tiles:
        assert rgba.shape == (256, 256, 4) and rgba.dtype == np.uint8
        col = round((bounds[0] - 370000) / 2560)
        row = round((398000 - bounds[3]) / 2560)
        assert bounds == grid.tile_bounds(2, col, row)
        assert tuple(rgba[0, 0, :3]) == colour_of(2, col, row)
    coarse = list(ds.tiles_for(EXTENT_BNG, pixel_size=50.0))
    assert len(coarse) == 1 and tuple(coarse[0][1][5, 5, :3]) == colour_of(0, 0, 0)
    assert list(ds.tiles_for((0, 0, 10, 10), 10.0)) == []  # outside the data


def test_gpkg_tiles_open_in_gdal(bng_gpkg):
    import rasterio

    path, _ = bng_gpkg
    with rasterio.open(path) as src:
        assert src.crs.to_epsg() == 27700
        assert tuple(src.bounds) == EXTENT_BNG
        assert src.res == (10.0, 10.0)
        # the pixel at (373005, 394995): zoom 2, column 1 (x 372560..375120), row 1 (y 392880..395440)
        r, c = src.index(373005, 394995)
        assert tuple(src.read(window=((r, r + 1), (c, c + 1)))[:3, 0, 0]) == colour_of(2, 1, 1)


def test_gpkg_tiles_open_through_read_vector_and_session(bng_gpkg, session):
    path, _ = bng_gpkg
    [ds] = read_vector(path)
    assert isinstance(ds, GpkgTilesDataset)
    [layer] = session.open(path)
    assert layer.kind == "tiles"


def test_gpkg_with_features_and_tiles(bng_gpkg):
    import geopandas as gpd
    from shapely.geometry import Point

    from gis_desk.io.vector import write_vector

    path, _ = bng_gpkg
    write_vector(gpd.GeoDataFrame({"n": [1]}, geometry=[Point(375000, 394000)], crs="EPSG:27700"), path,
                 layer="sites")
    datasets = read_vector(path)
    assert sorted(type(d).__name__ for d in datasets) == ["GpkgTilesDataset", "VectorDataset"]
    [only_tiles] = read_vector(path, layer="basemap")
    assert isinstance(only_tiles, GpkgTilesDataset)


def test_mbtiles_round_trip_tms_rows(tmp_path):
    import rasterio

    extent = transform_bounds("EPSG:4326", "EPSG:3857", (-2.48, 53.35, -2.25, 53.48))
    grid = TileGrid.web_mercator(range(10, 13))
    path = write_mbtiles(tmp_path / "t.mbtiles", grid, painted, data_extent=extent, name="Trafford")
    with sqlite3.connect(path) as con:  # rows are stored bottom-up (TMS) in the file
        meta = dict(con.execute("SELECT name, value FROM metadata"))
        stored = con.execute("SELECT tile_row FROM tiles WHERE zoom_level = 12").fetchall()
    assert meta["minzoom"] == "10" and meta["maxzoom"] == "12" and meta["format"] == "png"
    cols, rows = grid.tile_range(12, extent)
    assert {r for (r,) in stored} == {2 ** 12 - 1 - r for r in rows}
    [ds] = read_mbtiles(path)
    assert isinstance(ds, MBTilesDataset) and crs_id(ds.crs) == "EPSG:3857"
    assert ds.bounds == pytest.approx(extent, abs=1e-3)
    got = list(ds.tiles_for(extent, pixel_size=38.0))
    assert len(got) == len(cols) * len(rows)
    for bounds, rgba in got:
        col = round((bounds[0] + 20037508.342789244) / grid.matrices[12].span_x)
        row = round((20037508.342789244 - bounds[3]) / grid.matrices[12].span_y)
        assert tuple(rgba[100, 100, :3]) == colour_of(12, col, row)
    with rasterio.open(path) as src:  # GDAL agrees on where the tiles are
        col, row = cols[len(cols) // 2], rows[len(rows) // 2]  # a tile inside the data extent
        x0, _, _, y1 = grid.tile_bounds(12, col, row)
        r, c = src.index(x0 + 50, y1 - 50)
        assert tuple(src.read(window=((r, r + 1), (c, c + 1)))[:3, 0, 0]) == colour_of(12, col, row)


def test_iterable_source_jpeg_and_empty_tiles(tmp_path):
    grid = TileGrid.for_extent(EXTENT_BNG, "EPSG:27700", finest_resolution=20.0, levels=1)  # 2 x 2 tiles
    blank = np.zeros((256, 256, 4), np.uint8)
    tiles = [(0, 0, 0, painted(0, 0, 0)), (0, 1, 0, blank)]
    path = write_gpkg_tiles(tmp_path / "j.gpkg", grid, tiles, image_format="jpeg")
    with sqlite3.connect(path) as con:
        assert con.execute("SELECT COUNT(*) FROM basemap").fetchone()[0] == 1  # transparent tile skipped
    [ds] = read_gpkg_tiles(path)
    assert ds.tile_format == "jpeg"
    [(bounds, rgba)] = list(ds.tiles_for(EXTENT_BNG, 20.0))
    assert np.abs(rgba[128, 128, :3].astype(int) - colour_of(0, 0, 0)).max() <= 3  # lossy


def test_writer_rejects_bad_tiles_and_can_be_cancelled(tmp_path):
    grid = TileGrid.for_extent(EXTENT_BNG, "EPSG:27700", finest_resolution=10.0)
    with pytest.raises(ValueError, match="outside"):
        write_gpkg_tiles(tmp_path / "a.gpkg", grid, [(2, 99, 0, painted(2, 99, 0))])
    with pytest.raises(ValueError, match="uint8"):
        write_gpkg_tiles(tmp_path / "b.gpkg", grid, [(0, 0, 0, np.zeros((10, 10, 4)))])
    with pytest.raises(ValueError, match="web mercator"):
        write_mbtiles(tmp_path / "c.mbtiles", grid, painted)
    feedback = Feedback()
    feedback._on_progress = lambda pct: feedback.cancel() if pct > 30 else None
    with pytest.raises(CanceledError):
        write_gpkg_tiles(tmp_path / "d.gpkg", grid, painted, feedback=feedback)
    assert not list(tmp_path.iterdir())  # nothing half-written is left


def test_cancelled_write_into_existing_geopackage_changes_nothing(bng_gpkg):
    path, grid = bng_gpkg
    before = path.read_bytes()
    feedback = Feedback()
    feedback._on_progress = lambda pct: feedback.cancel() if pct > 30 else None
    with pytest.raises(CanceledError):
        write_gpkg_tiles(path, grid, painted, table="basemap", feedback=feedback)
    assert path.read_bytes() == before
    [ds] = read_gpkg_tiles(path)
    assert len(list(ds.tiles_for(EXTENT_BNG, 10.0))) == 16


def test_lru_cache_decodes_each_tile_once(bng_gpkg, monkeypatch):
    import gis_desk.io.tiles as tiles_module

    path, _ = bng_gpkg
    [ds] = read_gpkg_tiles(path)
    calls = []
    real = tiles_module.decode_tile
    monkeypatch.setattr(tiles_module, "decode_tile", lambda blob: calls.append(1) or real(blob))
    view = (372000, 392000, 373000, 393000)
    first = list(ds.tiles_for(view, 10.0))
    second = list(ds.tiles_for(view, 10.0))
    assert len(calls) == 4 and len(second) == 4
    assert all(np.array_equal(a[1], b[1]) for a, b in zip(first, second))


def test_bad_tile_files(tmp_path):
    fake = tmp_path / "fake.mbtiles"
    fake.write_text("not sqlite")
    with pytest.raises(CorruptFileError, match="fake.mbtiles"):
        read_mbtiles(fake)
    other = tmp_path / "other.mbtiles"
    with sqlite3.connect(other) as con:
        con.execute("CREATE TABLE x (a)")
    with pytest.raises(CorruptFileError, match="other.mbtiles"):
        read_mbtiles(other)
    empty = write_mbtiles(tmp_path / "empty.mbtiles", TileGrid.web_mercator([3]), [])
    with pytest.raises(DataError, match="no tiles"):
        read_mbtiles(empty)
    with pytest.raises(MissingFileError):
        read_mbtiles(tmp_path / "none.mbtiles")
