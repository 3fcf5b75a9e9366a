"""Aggregating points to areas: known counts, boundary rule, outside and unlocated points,
weights, rates, decile summaries, and the real Trafford asset register on IMD 2019 LSOAs."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from gis_desk.analysis.aggregate import (
    aggregate_points,
    assign_points_to_areas,
    rate_column,
    share_in_most_deprived,
    summarise_by_decile,
)
from gis_desk.analysis.hexgrid import hex_grid
from gis_desk.errors import CrsError, DataError

BNG = "EPSG:27700"


def _squares(order=("A", "B", "C", "D", "E", "F")) -> gpd.GeoDataFrame:
    """Six 100 m squares in 3 columns x 2 rows from (0, 0); codes A-C bottom row, D-F top."""
    cells = {}
    for i, code in enumerate("ABCDEF"):
        col, row = i % 3, i // 3
        cells[code] = shapely.box(col * 100, row * 100, col * 100 + 100, row * 100 + 100)
    return gpd.GeoDataFrame({"code": list(order), "pop": [1000, 2000, 0, 500, np.nan, 250]},
                            geometry=[cells[c] for c in order], crs=BNG)


def _points(xy, **columns) -> gpd.GeoDataFrame:
    geoms = [None if p is None else shapely.Point(p) for p in xy]
    return gpd.GeoDataFrame(columns, geometry=gpd.GeoSeries(geoms, crs=BNG), crs=BNG)


def _known_points():
    """Interior points with a known count per square, boundary points, outside and unlocated."""
    rng = np.random.default_rng(7)
    expected = {"A": 5, "B": 3, "C": 0, "D": 7, "E": 1, "F": 2}
    xy: list = []
    for i, code in enumerate("ABCDEF"):
        col, row = i % 3, i // 3
        inner = rng.uniform(5, 95, size=(expected[code], 2)) + [col * 100, row * 100]
        xy += [tuple(p) for p in inner]
    boundary = [(100.0, 50.0),  # A|B edge -> A (sorts first)
                (250.0, 100.0),  # C|F edge -> C
                (200.0, 100.0),  # corner of B, C, E, F -> B
                (0.0, 150.0)]  # outer edge of D only -> D
    outside = [(-10.0, 50.0), (350.0, 350.0), (150.0, 200.5)]
    xy += boundary + outside + [None]
    expected.update(A=expected["A"] + 1, B=expected["B"] + 1, C=expected["C"] + 1, D=expected["D"] + 1)
    return xy, expected, len(outside)


def test_known_counts_with_boundary_outside_and_unlocated_points():
    xy, expected, n_outside = _known_points()
    points = _points(xy)
    points.loc[len(points)] = [shapely.Point()]  # an empty geometry counts as no location
    areas = _squares()
    result, report = aggregate_points(points, areas, area_id="code")
    assert dict(zip(result.code, result["count"])) == expected
    assert result["count"].dtype == np.int64
    assert report.points == len(points)
    assert report.outside == n_outside and report.no_geometry == 2
    assert report.assigned == sum(expected.values())
    assert report.assigned + report.outside + report.no_geometry == report.points
    assert report.on_boundary == 3 and report.in_overlap == 0  # the outer-edge point is in one area
    assert sorted(report.outside_index) == [len(xy) - 4, len(xy) - 3, len(xy) - 2]
    assert sorted(report.no_geometry_index) == [len(xy) - 1, len(xy)]
    assert any("outside every area" in line for line in report.lines())
    assert report.to_dict()["outside"] == n_outside
    # The areas come back whole: same rows, columns and geometries, plus the count.
    assert list(result.columns) == ["code", "pop", "geometry", "count"]
    assert result.geometry.equals(areas.geometry)
    assert "weighted_sum" not in result and rate_column(1000) not in result


def test_boundary_rule_follows_the_code_not_the_row_order():
    xy, expected, _ = _known_points()
    shuffled = _squares(order=("F", "E", "D", "C", "B", "A"))
    result, _ = aggregate_points(_points(xy), shuffled, area_id="code")
    assert dict(zip(result.code, result["count"])) == expected
    # Without a code, the first area in row order wins: the A|B point now goes to B.
    by_rows, report = aggregate_points(_points([(100.0, 50.0)]), shuffled)
    assert dict(zip(by_rows.code, by_rows["count"]))["B"] == 1
    assert "layer order" in report.boundary_rule


def test_points_in_another_crs_are_reprojected():
    rng = np.random.default_rng(11)
    base = gpd.GeoDataFrame(geometry=[shapely.box(380_000, 390_000, 381_000, 391_000),
                                      shapely.box(381_000, 390_000, 382_000, 391_000)], crs=BNG)
    xy = np.vstack([rng.uniform([380_010, 390_010], [380_990, 390_990], (40, 2)),
                    rng.uniform([381_010, 390_010], [381_990, 390_990], (25, 2))])
    wgs84 = _points([tuple(p) for p in xy]).to_crs("EPSG:4326")
    result, report = aggregate_points(wgs84, base)
    assert result["count"].tolist() == [40, 25]
    assert report.crs == BNG


def test_overlapping_areas_count_each_point_once():
    areas = gpd.GeoDataFrame({"code": ["X", "Y"]}, geometry=[shapely.box(0, 0, 10, 10), shapely.box(5, 0, 15, 10)],
                             crs=BNG)
    result, report = aggregate_points(_points([(7, 5), (2, 5), (12, 5)]), areas, area_id="code")
    assert result["count"].tolist() == [2, 1]
    assert report.in_overlap == 1 and report.on_boundary == 0


def test_weights_and_rates():
    xy = [(10, 10), (20, 20), (30, 30), (150, 50), (250, 50), (50, 150), (150, 150)]
    hours = [1.5, 2.0, np.nan, 4.0, 10.0, 0.25, 3.0]
    areas = _squares()
    result, report = aggregate_points(_points(xy, hours=hours), areas, area_id="code", weight="hours",
                                      population="pop", per=1000)
    by_code = result.set_index("code")
    assert by_code["count"].to_dict() == {"A": 3, "B": 1, "C": 1, "D": 1, "E": 1, "F": 0}
    assert by_code["weighted_sum"].to_dict() == pytest.approx({"A": 3.5, "B": 4.0, "C": 10.0, "D": 0.25,
                                                               "E": 3.0, "F": 0.0})
    rate = by_code["rate_per_1000"]
    assert rate["A"] == pytest.approx(3 / 1000 * 1000)
    assert rate["B"] == pytest.approx(1 / 2000 * 1000)
    assert rate["D"] == pytest.approx(1 / 500 * 1000)
    assert rate["F"] == 0.0
    assert np.isnan(rate["C"]) and np.isnan(rate["E"])  # population 0 and missing
    assert report.weight_missing == 1 and report.areas_without_population == 2
    # A rate of the weighted sum, per 100,000.
    per_100k, _ = aggregate_points(_points(xy, hours=hours), areas, area_id="code", weight="hours",
                                   population="pop", per=100_000, rate_of="weighted_sum")
    assert per_100k.set_index("code")["rate_per_100000"]["B"] == pytest.approx(4.0 / 2000 * 100_000)


def test_weight_given_as_text_numbers_is_read():
    result, _ = aggregate_points(_points([(10, 10), (20, 20)], w=["1.5", " 2 "]), _squares(), weight="w")
    assert result["weighted_sum"].iloc[0] == pytest.approx(3.5)


def test_points_on_a_hex_grid_over_their_extent_are_all_counted():
    rng = np.random.default_rng(5)
    xy = rng.uniform([380_000, 390_000], [384_000, 393_000], size=(2000, 2))
    xy[0] = (380_000.0, 390_000.0)  # on the extent's corner
    points = _points([tuple(p) for p in xy])
    grid = hex_grid(tuple(points.total_bounds), 300, BNG, size_is="width")
    result, report = aggregate_points(points, grid, area_id="hex_id")
    assert report.assigned == 2000 and report.outside == 0
    assert result["count"].sum() == 2000
    # Brute force: each point is in the cell whose centre is nearest.
    centres = np.column_stack([grid.geometry.centroid.x, grid.geometry.centroid.y])
    nearest = np.argmin(((xy[:, None, :] - centres[None, :, :]) ** 2).sum(axis=2), axis=1)
    assert np.array_equal(np.bincount(nearest, minlength=len(grid)), result["count"].to_numpy())


def test_assign_points_reports_positions():
    positions, info = assign_points_to_areas(_points([(50, 50), (-5, 0), None, (150, 150)]), _squares(),
                                             area_id="code")
    assert positions.tolist() == [0, -1, -2, 4]


@pytest.mark.parametrize("make, error, words", [
    (lambda: (_points([(1, 1)]).set_crs(None, allow_override=True), _squares(), {}), CrsError,
     "points layer has no coordinate"),
    (lambda: (_points([(1, 1)]), _squares().set_crs(None, allow_override=True), {}), CrsError,
     "area layer has no coordinate"),
    (lambda: (gpd.GeoDataFrame(geometry=[shapely.box(0, 0, 1, 1)], crs=BNG), _squares(), {}), DataError,
     "single points; it holds Polygon"),
    (lambda: (_points([(1, 1)]), _squares(), {"area_id": "nope"}), DataError, "no field 'nope'"),
    (lambda: (_points([(1, 1)], w=["x"]), _squares(), {"weight": "w"}), DataError, "not numeric"),
    (lambda: (_points([(1, 1)]), _squares(), {"weight": "missing"}), DataError, "no field 'missing'"),
    (lambda: (_points([(1, 1)]), _squares(order=tuple("AABCDE")), {"area_id": "code"}), DataError,
     "duplicate code"),
    (lambda: (_points([(1, 1)]), _squares(), {"per": 0}), DataError, "positive"),
    (lambda: (_points([(1, 1)]), _squares(), {"rate_of": "weighted_sum", "population": "pop"}), DataError,
     "weight field"),
])
def test_bad_input_gives_a_clear_error(make, error, words):
    points, areas, kwargs = make()
    with pytest.raises(error, match=words):
        aggregate_points(points, areas, **kwargs)


# --- deciles ----------------------------------------------------------------------------------


def _decile_areas():
    deciles = [1, 1, 2, 3, 5, 10, np.nan, 2]
    counts = [10, 5, 20, 0, 15, 40, 10, 0]
    return pd.DataFrame({"IMD_decile": deciles, "count": np.array(counts, dtype=np.int64)})


def test_decile_summary_has_known_shares():
    table = summarise_by_decile(_decile_areas())
    assert len(table) == 11  # ten deciles and one row for areas without a decile
    assert table["decile"].iloc[:10].tolist() == list(range(1, 11)) and pd.isna(table["decile"].iloc[10])
    assert table["count"].tolist() == [15, 20, 0, 0, 15, 0, 0, 0, 0, 40, 10]
    assert table["areas"].tolist() == [2, 2, 1, 0, 1, 0, 0, 0, 0, 1, 1]
    assert table["share"].iloc[0] == pytest.approx(15 / 100)
    assert table["cumulative_share"].iloc[1] == pytest.approx(35 / 100)
    assert table["cumulative_share"].iloc[9] == pytest.approx(90 / 100)
    assert np.isnan(table["cumulative_share"].iloc[10])
    assert table["area_share"].sum() == pytest.approx(1.0)
    assert share_in_most_deprived(_decile_areas(), 0.2) == pytest.approx(0.35)
    assert share_in_most_deprived(_decile_areas(), 0.1) == pytest.approx(0.15)
    assert share_in_most_deprived(_decile_areas(), 1.0) == pytest.approx(0.90)


def test_decile_summary_of_quintiles_and_weighted_values():
    frame = pd.DataFrame({"q": [1, 2, 2, 5], "weighted_sum": [1.0, 2.5, 0.5, 6.0]})
    table = summarise_by_decile(frame, decile_field="q", value="weighted_sum", n_classes=5)
    assert table["weighted_sum"].tolist() == pytest.approx([1.0, 3.0, 0.0, 0.0, 6.0])
    assert share_in_most_deprived(frame, 0.4, decile_field="q", value="weighted_sum", n_classes=5) \
        == pytest.approx(0.4)


def test_decile_summary_of_nothing_has_empty_shares():
    frame = pd.DataFrame({"IMD_decile": [1, 2], "count": [0, 0]})
    assert summarise_by_decile(frame)["share"].isna().all()
    assert np.isnan(share_in_most_deprived(frame))


@pytest.mark.parametrize("frame, kwargs, words", [
    (pd.DataFrame({"IMD_rank": [1, 30000], "count": [1, 2]}), {"decile_field": "IMD_rank"}, "whole numbers 1 to 10"),
    (pd.DataFrame({"IMD_decile": [1.5], "count": [1]}), {}, "whole numbers"),
    (pd.DataFrame({"count": [1]}), {}, "no field 'IMD_decile'"),
    (pd.DataFrame({"IMD_decile": [1], "count": ["many"]}), {}, "not numeric"),
])
def test_bad_deciles_give_clear_errors(frame, kwargs, words):
    with pytest.raises(DataError, match=words):
        summarise_by_decile(frame, **kwargs)


def test_share_needs_a_whole_number_of_deciles():
    with pytest.raises(DataError, match="whole number of 10 classes"):
        share_in_most_deprived(_decile_areas(), 0.25)


# --- real data --------------------------------------------------------------------------------


def test_trafford_assets_on_imd_2019_lsoas(real_data):
    from gis_desk.io.vector import read_vector

    assets_path = (real_data / "uk_trafford/council_open_data/transparency_code/local_authority_land/"
                   "trafford_land_and_building_assets.csv")
    assets = read_vector(assets_path)[0]
    lsoas = read_vector(real_data / "uk_boundaries/UK-GeoJSON/lsoa11_E08000009_Trafford.geojson")[0].frame
    imd = pd.read_csv(real_data / "uk_deprivation/humaniverse_IMD/imd2019_england_lsoa11.csv",
                      usecols=["lsoa11_code", "IMD_decile"])
    areas = lsoas.to_crs(BNG).merge(imd, left_on="LSOA11CD", right_on="lsoa11_code", how="left")
    assert len(areas) == 138 and areas["IMD_decile"].notna().all()

    points = assets.frame
    result, report = aggregate_points(points, areas, area_id="LSOA11CD", weight="BuildingSize")

    # Ground truth computed independently: located assets within the union of the LSOAs.
    located = ~(points.geometry.isna() | points.geometry.is_empty)
    trafford = areas.geometry.union_all()
    inside = points[located].to_crs(BNG).geometry.intersects(trafford)
    assert report.no_geometry == assets.skipped_geometry_rows == int((~located).sum()) > 100
    assert result["count"].sum() == report.assigned == int(inside.sum()) > 300
    assert report.outside == int((~inside).sum()) > 0
    assert set(report.outside_index) == set(inside.index[~inside])
    assert report.assigned + report.outside + report.no_geometry == len(points) == 608
    table = summarise_by_decile(result)
    assert table["count"].sum() == report.assigned and len(table) == 10
    assert table["cumulative_share"].iloc[-1] == pytest.approx(1.0)
    most = areas["IMD_decile"] <= 2
    assert share_in_most_deprived(result, 0.2) == pytest.approx(result["count"][most].sum() / report.assigned)


def test_single_part_multipoints_count_as_points_but_true_multipoints_are_refused():
    single = gpd.GeoDataFrame(geometry=[shapely.MultiPoint([(50, 50)]), shapely.Point(150, 50)], crs=BNG)
    result, report = aggregate_points(single, _squares(), area_id="code")
    assert result["count"].tolist()[:2] == [1, 1] and report.assigned == 2
    several = gpd.GeoDataFrame(geometry=[shapely.MultiPoint([(50, 50), (150, 50)])], crs=BNG)
    with pytest.raises(DataError, match="MultiPoint"):
        aggregate_points(several, _squares())
