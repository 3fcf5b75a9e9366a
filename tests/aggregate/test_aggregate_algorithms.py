"""The processing algorithms builtins.aggregate, builtins.overlap and builtins.hex_grid, run as
the CLI and the GUI run them (run_algorithm with text parameters)."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from gis_desk.errors import ParameterError
from gis_desk.processing.algorithms.aggregate import Aggregate, HexGrid, Overlap, find_decile_field
from gis_desk.processing.feedback import Feedback
from gis_desk.processing.run import run_algorithm

BNG = "EPSG:27700"
X0, Y0 = 380_000.0, 390_000.0


def _areas(tmp_path):
    """Four 1 km squares in a row with codes, populations and deciles."""
    frame = gpd.GeoDataFrame(
        {"code": ["E1", "E2", "E3", "E4"], "pop": [1000, 2000, 500, 4000], "IMD_decile": [1, 2, 5, 10]},
        geometry=[shapely.box(X0 + i * 1000, Y0, X0 + (i + 1) * 1000, Y0 + 1000) for i in range(4)], crs=BNG)
    path = tmp_path / "areas.gpkg"
    frame.to_file(path)
    return path


def _points_csv(tmp_path):
    """A CSV of records: 3 / 1 / 0 / 4 points in the squares, one on the E1|E2 edge, one
    outside, one without coordinates."""
    rows = [(X0 + 100, Y0 + 100), (X0 + 500, Y0 + 500), (X0 + 900, Y0 + 900),
            (X0 + 1500, Y0 + 500),
            (X0 + 3100, Y0 + 10), (X0 + 3200, Y0 + 20), (X0 + 3300, Y0 + 30), (X0 + 3400, Y0 + 40),
            (X0 + 1000, Y0 + 500),  # shared edge -> E1
            (X0 - 500, Y0 - 500),  # outside
            (None, None)]
    lines = ["id,hours,easting,northing"]
    for i, (x, y) in enumerate(rows):
        lines.append(f"r{i},{i + 1},{'' if x is None else x},{'' if y is None else y}")
    path = tmp_path / "records.csv"
    path.write_text("\n".join(lines) + "\n")
    return path


def test_aggregate_to_an_area_file_writes_counts_rates_and_a_decile_summary(tmp_path):
    feedback = Feedback()
    out = run_algorithm(Aggregate(), {
        "points": str(_points_csv(tmp_path)), "areas": str(_areas(tmp_path)), "area_id": "code",
        "weight": "hours", "population": "pop", "per": "1000", "output": str(tmp_path / "agg.gpkg"),
    }, feedback, input_crs=BNG)
    result = gpd.read_file(out["output"]).set_index("code")
    assert result["count"].to_dict() == {"E1": 4, "E2": 1, "E3": 0, "E4": 4}
    assert result["weighted_sum"].to_dict() == {"E1": 1 + 2 + 3 + 9, "E2": 4, "E3": 0, "E4": 5 + 6 + 7 + 8}
    assert result["rate_per_1000"]["E2"] == pytest.approx(1 / 2000 * 1000)
    assert (out["points"], out["assigned"], out["outside"], out["no_geometry"], out["on_boundary"]) == (11, 9, 1, 1, 1)
    deciles = pd.read_csv(out["decile_summary"])
    assert out["decile_summary"].endswith("agg_deciles.csv")
    assert deciles["count"].tolist() == [4, 1, 0, 0, 0, 0, 0, 0, 0, 4]
    assert out["share_most_deprived_20"] == pytest.approx(5 / 9, abs=1e-6)
    warnings = [text for level, text in feedback.messages if level == "warning"]
    assert any("outside every area" in t for t in warnings) and any("no location" in t for t in warnings)


def test_aggregate_to_hexagons(tmp_path):
    rng = np.random.default_rng(2)
    xy = rng.uniform([X0, Y0], [X0 + 5000, Y0 + 3000], size=(300, 2))
    points = gpd.GeoDataFrame({"n": np.ones(300)}, geometry=gpd.points_from_xy(*xy.T), crs=BNG).to_crs("EPSG:4326")
    out = run_algorithm(Aggregate(), {"points": points, "areas": "hex:400", "hex_size_is": "width",
                                      "output": str(tmp_path / "hex.gpkg")})
    grid = gpd.read_file(out["output"])
    assert grid.crs.to_epsg() == 27700 and grid["hex_id"].is_unique
    assert grid["count"].sum() == 300 == out["assigned"] and out["outside"] == 0
    assert out["decile_summary"] is None
    assert grid.area.iloc[0] == pytest.approx(np.sqrt(3) / 2 * 400 ** 2)


def test_aggregate_hexagons_over_a_given_extent_reports_points_outside(tmp_path):
    points = gpd.GeoDataFrame(geometry=[shapely.Point(X0 + 10, Y0 + 10), shapely.Point(X0 + 9000, Y0)], crs=BNG)
    out = run_algorithm(Aggregate(), {"points": points, "areas": "hex:100",
                                      "hex_extent": f"{X0},{Y0},{X0 + 500},{Y0 + 500}",
                                      "output": str(tmp_path / "hex.gpkg")})
    assert out["assigned"] == 1 and out["outside"] == 1


@pytest.mark.parametrize("params, words", [
    ({"areas": "hex:abc"}, "hex:<size>"),
    ({"areas": "hex:-5"}, "positive"),
    ({"weight": "nope"}, "no field 'nope'"),
    ({"population": "missing"}, "no field 'missing'"),
])
def test_aggregate_bad_parameters(tmp_path, params, words):
    base = {"points": str(_points_csv(tmp_path)), "areas": str(_areas(tmp_path)),
            "output": str(tmp_path / "o.gpkg")}
    with pytest.raises(ParameterError, match=words):
        run_algorithm(Aggregate(), {**base, **params}, input_crs=BNG)


def test_aggregate_of_polygons_is_refused(tmp_path):
    with pytest.raises(ParameterError, match="Point"):
        run_algorithm(Aggregate(), {"points": str(_areas(tmp_path)), "areas": str(_areas(tmp_path))})


def test_decile_field_detection():
    assert find_decile_field(pd.DataFrame(columns=["code", "IMD_decile", "Income_decile"])) == "IMD_decile"
    assert find_decile_field(pd.DataFrame(columns=["DataZone", "SIMD2020v2_Decile"])) == "SIMD2020v2_Decile"
    assert find_decile_field(pd.DataFrame(columns=["LSOA21CD", "IMDDecil", "IMDRank"])) == "IMDDecil"
    assert find_decile_field(pd.DataFrame(columns=["code", "IMD_rank", "IMD_quintile"])) is None


def _record_files(tmp_path):
    care = gpd.GeoDataFrame({"UPRN": ["100012345678", "200000111222", "300000000001"]},
                            geometry=[shapely.Point(X0, Y0), shapely.Point(X0 + 1, Y0), None], crs=BNG)
    care.to_file(tmp_path / "care.gpkg")
    (tmp_path / "housing.csv").write_text("uprn,tenancy\n100012345678.0,a\n300000000001,b\n,c\n")
    police = pd.DataFrame({"Property UPRN": ["1.00012345678E+11", "200000111222", "300000000001"]})
    return care, police


def test_overlap_of_three_files(tmp_path):
    _, police = _record_files(tmp_path)
    police_path = tmp_path / "police.csv"
    police.to_csv(police_path, index=False)
    out = run_algorithm(Overlap(), {
        "layers": f"{tmp_path / 'care.gpkg'}, {tmp_path / 'housing.csv'}, {police_path}",
        "uprn_column": "UPRN,uprn,Property UPRN", "k": "2",
        "output": str(tmp_path / "overlap.gpkg"), "table": str(tmp_path / "overlap.csv")})
    table = pd.read_csv(out["table"], dtype={"UPRN": "int64"})
    assert table["UPRN"].tolist() == [100012345678, 300000000001, 200000111222]
    assert table["n_layers"].tolist() == [3, 3, 2]
    assert table[["care", "housing", "police"]].values.tolist() == [[True] * 3, [True] * 3, [True, False, True]]
    layer = gpd.read_file(out["output"])
    assert layer.crs.to_epsg() == 27700 and len(layer) == 3
    assert out["count"] == 3 and out["located"] == 2
    by_n = pd.read_csv(out["by_n_layers"])
    assert by_n["uprns"].tolist() == [0, 1, 2]
    pairwise = pd.read_csv(out["pairwise"]).set_index("layer")
    assert pairwise.loc["care", "housing"] == 2 and pairwise.loc["housing", "housing"] == 2


def test_overlap_of_tables_only_writes_the_table(tmp_path):
    pytest.importorskip("openpyxl")
    _, police = _record_files(tmp_path)
    police.to_excel(tmp_path / "police.xlsx", index=False)
    feedback = Feedback()
    out = run_algorithm(Overlap(), {
        "layers": [str(tmp_path / "housing.csv"), str(tmp_path / "police.xlsx")],
        "names": "housing_team,police_team", "uprn_column": "uprn,Property UPRN", "k": 2,
        "table": str(tmp_path / "t.csv")}, feedback)
    assert out["output"] is None and out["count"] == 2
    assert list(pd.read_csv(out["table"]).columns) == ["UPRN", "housing_team", "police_team", "n_layers"]
    assert any("only the table" in text for level, text in feedback.messages if level == "warning")


@pytest.mark.parametrize("params, words", [
    ({"k": 4}, "more than the 3 layers"),
    ({"uprn_column": "a,b"}, "one column name or 3"),
    ({"names": "x,y"}, "2 name"),
])
def test_overlap_bad_parameters(tmp_path, params, words):
    _record_files(tmp_path)
    paths = [str(tmp_path / "care.gpkg"), str(tmp_path / "housing.csv"), str(tmp_path / "care.gpkg")]
    with pytest.raises(ParameterError, match=words):
        run_algorithm(Overlap(), {"layers": paths, **params, "table": str(tmp_path / "t.csv")})


def test_overlap_needs_two_existing_files(tmp_path):
    _record_files(tmp_path)
    with pytest.raises(ParameterError, match="at least 2"):
        run_algorithm(Overlap(), {"layers": str(tmp_path / "care.gpkg")})
    with pytest.raises(ParameterError, match="does not exist") as info:
        run_algorithm(Overlap(), {"layers": f"{tmp_path / 'care.gpkg'},{tmp_path / 'gone.csv'}"})
    assert "gone.csv" in str(info.value)


def test_same_file_twice_gets_distinct_names(tmp_path):
    _record_files(tmp_path)
    out = run_algorithm(Overlap(), {"layers": [str(tmp_path / "care.gpkg")] * 2, "k": 2,
                                    "table": str(tmp_path / "t.csv")})
    assert list(pd.read_csv(out["table"]).columns)[:3] == ["UPRN", "care", "care_2"]


def test_hex_grid_algorithm(tmp_path):
    from gis_desk.analysis.hexgrid import hex_grid

    out = run_algorithm(HexGrid(), {"extent": f"{X0},{Y0},{X0 + 3000},{Y0 + 2000}", "size": "2",
                                    "size_is": "hectares", "output": str(tmp_path / "h.gpkg")})
    grid = gpd.read_file(out["output"])
    expected = hex_grid((X0, Y0, X0 + 3000, Y0 + 2000), 2, BNG, size_is="hectares")
    assert out["count"] == len(grid) == len(expected)
    assert grid.area.to_numpy() == pytest.approx(20_000.0)
    with pytest.raises(ParameterError, match="either an extent or a layer"):
        run_algorithm(HexGrid(), {"size": 10})


def test_trafford_assets_csv_on_imd_lsoas(real_data, tmp_path):
    lsoas = gpd.read_file(real_data / "uk_boundaries/UK-GeoJSON/lsoa11_E08000009_Trafford.geojson")
    imd = pd.read_csv(real_data / "uk_deprivation/humaniverse_IMD/imd2019_england_lsoa11.csv",
                      usecols=["lsoa11_code", "IMD_decile"])
    areas = lsoas.to_crs(BNG).merge(imd, left_on="LSOA11CD", right_on="lsoa11_code")
    areas.to_file(tmp_path / "lsoa_imd.gpkg")
    assets = (real_data / "uk_trafford/council_open_data/transparency_code/local_authority_land/"
              "trafford_land_and_building_assets.csv")
    out = run_algorithm(Aggregate(), {"points": str(assets), "areas": str(tmp_path / "lsoa_imd.gpkg"),
                                      "area_id": "LSOA11CD", "output": str(tmp_path / "assets.gpkg")})
    assert out["assigned"] + out["outside"] + out["no_geometry"] == out["points"] == 608
    assert out["outside"] > 0 and out["no_geometry"] > 100
    deciles = pd.read_csv(out["decile_summary"])
    assert deciles["count"].sum() == out["assigned"] == gpd.read_file(out["output"])["count"].sum()
    assert 0 < out["share_most_deprived_20"] < 1


def test_overlap_reads_csv_coordinates_with_the_cli_crs(tmp_path):
    _record_files(tmp_path)
    (tmp_path / "visits.csv").write_text(f"UPRN,easting,northing\n300000000001,{X0 + 5},{Y0 + 5}\n")
    layers = f"{tmp_path / 'care.gpkg'},{tmp_path / 'visits.csv'}"
    out = run_algorithm(Overlap(), {"layers": layers, "output": str(tmp_path / "o.gpkg"),
                                    "table": str(tmp_path / "t.csv")}, input_crs=BNG)
    layer = gpd.read_file(out["output"])
    assert layer["UPRN"].tolist() == [300000000001]
    assert layer["location_from"].tolist() == ["visits"]  # care has no point for it
    assert layer.geometry.iloc[0].equals(shapely.Point(X0 + 5, Y0 + 5))
    from gis_desk.errors import MissingCrsError

    with pytest.raises(MissingCrsError):
        run_algorithm(Overlap(), {"layers": layers, "table": str(tmp_path / "t.csv")})


def test_aggregate_with_a_disclosure_policy_writes_exports_without_revealing_columns(tmp_path):
    import pyogrio

    rng = np.random.default_rng(1)
    sizes = [23, 3, 0, 12]
    xy = np.vstack([rng.uniform([X0 + i * 1000 + 10, Y0 + 10], [X0 + i * 1000 + 990, Y0 + 990], (n, 2))
                    for i, n in enumerate(sizes)])
    points = gpd.GeoDataFrame({"hours": np.ones(len(xy))}, geometry=gpd.points_from_xy(*xy.T), crs=BNG)
    feedback = Feedback()
    out = run_algorithm(Aggregate(), {"points": points, "areas": str(_areas(tmp_path)), "area_id": "code",
                                      "weight": "hours", "population": "pop", "policy": "nhs",
                                      "output": str(tmp_path / "shared.gpkg")}, feedback)
    layer = gpd.read_file(out["output"], layer="shared").set_index("code")
    assert "rate_per_1000" not in layer and "weighted_sum" not in layer
    published = layer["count"]
    assert pd.isna(published["E2"])  # 3 is suppressed
    assert published.dropna().mod(5).eq(0).all() and published["E1"] == 25  # 23 rounded to 5
    metadata = pyogrio.read_info(out["output"], layer="shared")["layer_metadata"]
    assert metadata["DISCLOSURE_POLICY"] == "NHS Digital"
    text = open(out["decile_summary"]).read()
    header = text.splitlines()[0].split(",")
    assert "[c]" in text and "share" not in header and "cumulative_share" not in header
    assert ",23," not in text and ",3," not in text
    assert out["share_most_deprived_20"] is None
    assert any("Left out of the export" in t for level, t in feedback.messages if level == "warning")


def test_aggregate_policy_needs_a_geopackage_and_a_known_policy(tmp_path):
    base = {"points": str(_points_csv(tmp_path)), "areas": str(_areas(tmp_path))}
    with pytest.raises(ParameterError, match="GeoPackages"):
        run_algorithm(Aggregate(), {**base, "policy": "nhs", "output": str(tmp_path / "o.geojson")}, input_crs=BNG)
    with pytest.raises(ParameterError, match="policy"):
        run_algorithm(Aggregate(), {**base, "policy": "secret", "output": str(tmp_path / "o.gpkg")}, input_crs=BNG)
