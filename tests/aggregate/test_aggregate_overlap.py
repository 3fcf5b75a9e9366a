"""Multi-agency overlap by UPRN: known membership over three layers, damaged UPRNs, locations."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from gis_desk.analysis.overlap import multi_agency_overlap
from gis_desk.errors import CrsError, DataError

BNG = "EPSG:27700"
U1, U2, U3, U4, U5, U6 = 100012345678, 200000111222, 10070461991, 100012999001, 42, 100012000555


def _layers():
    """Three layers with known membership, written the ways real files damage UPRNs.

    U1: in all three (text, float-ish text, scientific notation with every digit).
    U2: social care and housing.  U3: housing and police (float from a column with blanks).
    U4: social care only.  U5: police only.  U6: social care twice (duplicate) and police.
    """
    care = gpd.GeoDataFrame(
        {"UPRN": ["100012345678", "200000111222", "100012999001", "100012000555", "100012000555.0", "",
                  "1.00012E+11"],
         "case": list("abcdefg")},
        geometry=[shapely.Point(1, 1), shapely.Point(2, 2), shapely.Point(4, 4), None,
                  shapely.Point(6, 6), shapely.Point(9, 9), shapely.Point(9, 9)], crs=BNG)
    housing = pd.DataFrame({"uprn": [100012345678.0, 200000111222.0, 10070461991.0, np.nan]})
    police = gpd.GeoDataFrame(
        {"Property UPRN": ["1.00012345678E+11", " 10070461991 ", "42", "100012000555", "not known"]},
        geometry=[shapely.Point(-2.3, 53.4), shapely.Point(-2.31, 53.41), shapely.Point(-2.32, 53.42),
                  shapely.Point(-2.33, 53.43), None], crs="EPSG:4326")
    return {"social_care": care, "housing": housing, "police": police}


COLUMNS = {"social_care": "UPRN", "housing": "UPRN", "police": "Property UPRN"}


def test_k2_lists_properties_in_two_or_more_layers():
    result, summary = multi_agency_overlap(_layers(), uprn_column=COLUMNS, k=2)
    assert isinstance(result, gpd.GeoDataFrame)
    assert result["UPRN"].tolist() == [U1, U3, U6, U2]  # by n_layers, then UPRN
    assert result["n_layers"].tolist() == [3, 2, 2, 2]
    member = result.set_index("UPRN")[["social_care", "housing", "police"]]
    assert member.loc[U1].tolist() == [True, True, True]
    assert member.loc[U2].tolist() == [True, True, False]
    assert member.loc[U3].tolist() == [False, True, True]
    assert member.loc[U6].tolist() == [True, False, True]
    assert result["social_care"].dtype == bool and result["n_layers"].dtype == np.int64
    # Geometry from the first layer that has one: U6 has none in its first care row, so the
    # later care row gives it; U3 is not in care and housing has no geometry, so police gives it.
    located = result.set_index("UPRN")
    assert located.geometry[U1].equals(shapely.Point(1, 1))
    assert located.geometry[U6].equals(shapely.Point(6, 6))
    assert located["location_from"][U6] == "social_care"
    assert located["location_from"][U3] == "police"
    expected = gpd.GeoSeries([shapely.Point(-2.31, 53.41)], crs="EPSG:4326").to_crs(BNG).iloc[0]
    assert located.geometry[U3].distance(expected) < 1e-6
    assert result.crs == BNG
    assert summary.selected == 4 and summary.located == 4


def test_k3_and_k1():
    result, _ = multi_agency_overlap(_layers(), uprn_column=COLUMNS, k=3)
    assert result["UPRN"].tolist() == [U1]
    everything, summary = multi_agency_overlap(_layers(), uprn_column=COLUMNS, k=1)
    assert sorted(everything["UPRN"]) == sorted([U1, U2, U3, U4, U5, U6])
    assert summary.by_n_layers["uprns"].tolist() == [2, 3, 1]
    assert summary.by_n_layers["at_least"].tolist() == [6, 4, 1]


def test_summary_tables():
    _, summary = multi_agency_overlap(_layers(), uprn_column=COLUMNS, k=2)
    pairwise = summary.pairwise
    assert pairwise.loc["social_care", "social_care"] == 4  # U1, U2, U4, U6
    assert pairwise.loc["housing", "housing"] == 3
    assert pairwise.loc["police", "police"] == 4  # U1, U3, U5, U6
    assert pairwise.loc["social_care", "housing"] == pairwise.loc["housing", "social_care"] == 2
    assert pairwise.loc["social_care", "police"] == 2  # U1, U6
    assert pairwise.loc["housing", "police"] == 2  # U1, U3
    per = summary.per_layer.set_index("layer")
    assert per.loc["social_care", "records"] == 7
    assert per.loc["social_care", "valid"] == 5 and per.loc["social_care", "blank"] == 1
    assert per.loc["social_care", "lossy"] == 1  # 1.00012E+11 is never matched
    assert per.loc["social_care", "duplicate_records"] == 2
    assert per.loc["housing", "recovered"] == 3 and per.loc["housing", "blank"] == 1
    assert per.loc["police", "text"] == 1 and per.loc["police", "uprn_column"] == "Property UPRN"
    assert per.loc["housing", "located"] == 0 and per.loc["police", "located"] == 4
    d = summary.to_dict()
    assert d["pairwise"]["housing"]["police"] == 2 and d["by_n_layers"][2] == {"n_layers": 3, "uprns": 1,
                                                                               "at_least": 1}
    assert any("lossy 1" in line for line in summary.lines())


def test_tables_without_geometry_give_a_plain_table_and_the_column_matches_case():
    layers = {"a": pd.DataFrame({"uprn": ["1", "2", "3"]}), "b": pd.DataFrame({"Uprn": [2, 3, 4]})}
    result, summary = multi_agency_overlap(layers, k=2)
    assert type(result) is pd.DataFrame and "geometry" not in result
    assert result["UPRN"].tolist() == [2, 3]
    assert summary.located == 0


def test_nothing_in_common():
    layers = {"a": pd.DataFrame({"UPRN": ["1"]}), "b": gpd.GeoDataFrame({"UPRN": ["2"]},
                                                                         geometry=[shapely.Point(0, 0)], crs=BNG)}
    result, summary = multi_agency_overlap(layers, k=2)
    assert len(result) == 0 and isinstance(result, gpd.GeoDataFrame)
    assert summary.by_n_layers["uprns"].tolist() == [2, 0]


@pytest.mark.parametrize("layers, kwargs, error, words", [
    ({"a": pd.DataFrame({"UPRN": [1]})}, {}, DataError, "at least two"),
    ({"a": pd.DataFrame({"UPRN": [1]}), "b": pd.DataFrame({"UPRN": [1]})}, {"k": 3}, DataError, "from 1 to 2"),
    ({"a": pd.DataFrame({"UPRN": [1]}), "b": pd.DataFrame({"UPRN": [1]})}, {"k": 0}, DataError, "from 1 to 2"),
    ({"a": pd.DataFrame({"UPRN": [1]}), "b": pd.DataFrame({"ref": [1]})}, {}, DataError,
     "'b' has no UPRN column 'UPRN'.*fields: ref"),
    ({"a": pd.DataFrame({"UPRN": [1]}), "A": pd.DataFrame({"UPRN": [1]})}, {}, DataError, "Two layers"),
    ({"a": pd.DataFrame({"UPRN": [1]}), "n_layers": pd.DataFrame({"UPRN": [1]})}, {}, DataError, "clashes"),
    ({"a": pd.DataFrame({"UPRN": [1]}), "b": [1, 2]}, {}, DataError, "not a table"),
    ({"a": gpd.GeoDataFrame({"UPRN": [1]}, geometry=[shapely.Point(0, 0)], crs=BNG),
      "b": gpd.GeoDataFrame({"UPRN": [1]}, geometry=[shapely.Point(0, 0)])}, {}, CrsError, "'b'"),
])
def test_bad_input_gives_a_clear_error(layers, kwargs, error, words):
    with pytest.raises(error, match=words):
        multi_agency_overlap(layers, **kwargs)


def test_real_trafford_asset_uprns_as_read_by_pandas(real_data):
    """The asset register's UPRN column has blanks, so pandas reads it as float: the overlap
    with the same file read as text must still be complete."""
    from gis_desk.io.vector import read_vector

    path = (real_data / "uk_trafford/council_open_data/transparency_code/local_authority_land/"
            "trafford_land_and_building_assets.csv")
    as_text = read_vector(path)[0].frame
    as_float = pd.read_csv(path, usecols=["UPRN"])
    assert as_float["UPRN"].dtype == np.float64
    result, summary = multi_agency_overlap({"assets": as_text, "assets_float": as_float}, k=2)
    per = summary.per_layer.set_index("layer")
    assert per.loc["assets", "distinct_uprns"] == per.loc["assets_float", "distinct_uprns"] == len(result) > 100
    assert result.geometry.notna().sum() == summary.located > 0
