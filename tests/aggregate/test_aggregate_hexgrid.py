"""Hexagon grids: sizes, tiling without gaps or overlaps, shared edges, stable ids, coverage."""

from __future__ import annotations

import math

import geopandas as gpd
import numpy as np
import pytest
import shapely

from gis_desk.analysis.hexgrid import hex_grid, hexagon_area, side_from_size
from gis_desk.errors import CrsError, DataError

BNG = "EPSG:27700"


@pytest.mark.parametrize("orientation", ["pointy", "flat"])
@pytest.mark.parametrize("size, size_is, side", [
    (100.0, "side", 100.0),
    (100.0, "width", 100.0 / math.sqrt(3)),
    (10_000.0, "area", math.sqrt(2 * 10_000.0 / (3 * math.sqrt(3)))),
    (25.0, "hectares", math.sqrt(2 * 250_000.0 / (3 * math.sqrt(3)))),
])
def test_cell_area_and_shape_follow_the_size(orientation, size, size_is, side):
    grid = hex_grid((0, 0, 2000, 2000), size, BNG, orientation=orientation, size_is=size_is)
    expected_area = 3 * math.sqrt(3) / 2 * side ** 2
    assert np.allclose(grid.area, expected_area, rtol=1e-12)
    if size_is == "area":
        assert expected_area == pytest.approx(10_000.0)
    if size_is == "hectares":
        assert expected_area == pytest.approx(250_000.0)
    # Every vertex lies `side` from the centre, every edge has length `side`.
    cell = grid.geometry.iloc[len(grid) // 2]
    ring = np.asarray(cell.exterior.coords)
    assert len(ring) == 7
    centre = ring[:-1].mean(axis=0)
    assert np.allclose(np.hypot(*(ring[:-1] - centre).T), side, rtol=1e-12)
    assert np.allclose(np.hypot(*np.diff(ring, axis=0).T), side, rtol=1e-12)
    # Orientation: pointy cells have a vertex straight above the centre, flat ones a flat top.
    top = ring[:-1][np.argmax(ring[:-1, 1])]
    ys = ring[:-1, 1]
    if orientation == "pointy":
        assert top[0] == pytest.approx(centre[0]) and np.sum(np.isclose(ys, ys.max())) == 1
    else:
        assert np.sum(np.isclose(ys, ys.max())) == 2


@pytest.mark.parametrize("orientation", ["pointy", "flat"])
def test_cells_tile_the_extent_without_gaps_or_overlaps(orientation):
    rect = shapely.box(1234.5, -800.0, 6789.0, 4321.0)
    grid = hex_grid(rect.bounds, 150.0, BNG, orientation=orientation)
    union = shapely.union_all(grid.geometry.values)
    assert union.area == pytest.approx(grid.area.sum(), rel=1e-9)  # no overlaps
    assert union.geom_type == "Polygon" and len(union.interiors) == 0  # no holes
    assert rect.difference(union).area == pytest.approx(0.0, abs=1e-6)  # the extent is covered
    # Only cells whose interior meets the rectangle are kept.
    assert shapely.area(shapely.intersection(grid.geometry.values, rect)).min() > 0
    assert grid["hex_id"].is_unique


@pytest.mark.parametrize("orientation", ["pointy", "flat"])
def test_neighbours_share_whole_edges(orientation):
    side = 80.0
    grid = hex_grid((0, 0, 1500, 1500), side, BNG, orientation=orientation)
    geoms = grid.geometry.values
    left, right = shapely.STRtree(geoms).query(geoms, predicate="intersects")
    pairs = left != right
    left, right = left[pairs], right[pairs]
    shared = shapely.intersection(geoms[left], geoms[right])
    lengths = shapely.length(shared)
    edge = lengths > 0
    # Neighbours meet along exactly one full edge (no overlap: the shared part has no area).
    assert np.all(shapely.area(shared) == 0)
    assert np.allclose(lengths[edge], side, rtol=1e-12)
    assert set(shapely.get_type_id(shared[edge])) == {1}  # LineString
    # An interior cell has six edge neighbours.
    per_cell = np.bincount(left[edge], minlength=len(geoms))
    assert per_cell.max() == 6
    middle = grid.geometry.centroid.distance(shapely.Point(750, 750)).to_numpy().argmin()
    assert per_cell[middle] == 6


def test_ids_are_stable_between_extents():
    a = hex_grid((0, 0, 3000, 3000), 200, BNG, size_is="width")
    b = hex_grid((1500, 1000, 6000, 5000), 200, BNG, size_is="width")
    common = a.merge(b, on="hex_id", suffixes=("_a", "_b"))
    assert len(common) > 20
    assert shapely.equals_exact(common.geometry_a.values, common.geometry_b.values, tolerance=0).all()
    assert (common.col_a == common.col_b).all() and (common.row_a == common.row_b).all()
    # The cell with id 0_0 is centred on the origin.
    first = hex_grid((-10, -10, 10, 10), 200, BNG, size_is="width")
    cell = first.set_index("hex_id").geometry["0_0"]
    assert cell.centroid.distance(shapely.Point(0, 0)) < 1e-9
    assert first.geometry.contains(shapely.Point(0, 0)).sum() == 1


def test_polygon_layer_keeps_cells_meeting_its_interior():
    circle = shapely.Point(5000, 5000).buffer(1200)
    layer = gpd.GeoDataFrame(geometry=[circle], crs=BNG)
    grid = hex_grid(layer, 100, size_is="side")
    full = hex_grid(circle.bounds, 100, BNG, size_is="side")
    expected = full[shapely.area(shapely.intersection(full.geometry.values, circle)) > 0]
    assert set(grid.hex_id) == set(expected.hex_id)
    assert len(grid) < len(full)
    assert grid.crs == layer.crs


def test_polygon_touching_only_along_an_edge_is_not_covered():
    # A square cell edge lying exactly on a hexagon edge (flat orientation, side 100: the
    # cell centred at 0,0 spans x -100..100, its top edge is y = 86.60...).
    top = math.sqrt(3) / 2 * 100
    above = shapely.box(-50, top, 50, top + 10)
    grid = hex_grid(gpd.GeoDataFrame(geometry=[above], crs=BNG), 100, orientation="flat")
    assert "0_0" not in set(grid.hex_id)
    assert len(grid) == 1  # only the cell above


def test_layer_in_another_crs_is_reprojected_and_points_are_all_covered():
    rng = np.random.default_rng(3)
    xy = rng.uniform([380_000, 390_000], [385_000, 395_000], size=(500, 2))
    points = gpd.GeoDataFrame(geometry=gpd.points_from_xy(*xy.T), crs=BNG).to_crs("EPSG:4326")
    grid = hex_grid(points, 250, crs=BNG, size_is="width")
    back = points.to_crs(BNG)
    hits = grid.sindex.query(back.geometry.values, predicate="intersects")
    assert set(hits[0]) == set(range(len(back)))
    # A single point (a zero-size extent), even on a vertex, is covered.
    vertex = hex_grid((0, 0, 1, 1), 100, BNG).geometry.iloc[0].exterior.coords[0]
    one = hex_grid((vertex[0], vertex[1], vertex[0], vertex[1]), 100, BNG)
    assert len(one) >= 1 and one.geometry.intersects(shapely.Point(vertex)).all()


def test_hundred_thousand_cells():
    grid = hex_grid((0, 0, 60_000, 60_000), 200, BNG, size_is="width")
    assert 100_000 < len(grid) < 120_000
    assert grid.geometry.is_valid.all()


def test_size_helpers():
    assert side_from_size(1.0, "hectares") ** 2 * 1.5 * math.sqrt(3) == pytest.approx(10_000.0)
    assert hexagon_area(side_from_size(500.0, "area")) == pytest.approx(500.0)


@pytest.mark.parametrize("kwargs, error, words", [
    (dict(extent=(0, 0, 10, 10), size_m=0, crs=BNG), DataError, "positive"),
    (dict(extent=(0, 0, 10, 10), size_m=-5, crs=BNG), DataError, "positive"),
    (dict(extent=(0, 0, 10, 10), size_m=5, crs=BNG, size_is="radius"), DataError, "size meaning"),
    (dict(extent=(0, 0, 10, 10), size_m=5, crs=BNG, orientation="round"), DataError, "orientation"),
    (dict(extent=(0, 0, 10, 10), size_m=5, crs="EPSG:4326"), CrsError, "projected"),
    (dict(extent=(0, 0, 10, 10), size_m=5), CrsError, "coordinate reference system"),
    (dict(extent=(0, 0, 1e6, 1e6), size_m=1, crs=BNG), DataError, "larger hexagon size"),
    (dict(extent=(10, 0, 0, 10), size_m=5, crs=BNG), DataError, "xmin > xmax"),
])
def test_bad_input_gives_a_clear_error(kwargs, error, words):
    with pytest.raises(error, match=words):
        hex_grid(**kwargs)


def test_empty_layer_is_refused():
    empty = gpd.GeoDataFrame(geometry=gpd.GeoSeries([], crs=BNG), crs=BNG)
    with pytest.raises(DataError, match="empty"):
        hex_grid(empty, 100)
