"""Deprivation tables and joins on the real files: IMD 2019, SIMD 2020 and Trafford's LSOAs."""

import csv

import geopandas as gpd
import numpy as np
import pytest

from gis_desk.io.deprivation import join_deprivation, load_deprivation_table


@pytest.fixture(scope="module")
def paths():
    from gis_desk.testing.fixtures import SHARED_REAL_DATA as real

    if not real.exists():
        pytest.skip("shared real data not found")
    return {
        "imd": real / "uk_deprivation/humaniverse_IMD/imd2019_england_lsoa11.csv",
        "simd": real / "uk_deprivation/humaniverse_IMD/imd2020_scotland_dz11.csv",
        "lsoa11": real / "uk_boundaries/UK-GeoJSON/lsoa11_E08000009_Trafford.geojson",
        "lsoa21": real / "uk_trafford/council_open_data/boundaries/lsoa.geojson",
    }


@pytest.fixture(scope="module")
def imd(paths):
    return load_deprivation_table(paths["imd"])


def test_imd_2019_table(imd, paths):
    assert imd.index == "IMD2019" and len(imd) == 32844 and imd.notes == []
    frame = imd.frame
    assert list(frame.columns[:4]) == ["area_code", "IMD_rank", "IMD_decile", "IMD_quintile"]
    assert frame["area_code"].is_unique
    # this copy has 26 pairs of tied ranks (32,818 distinct), so only the range is exact
    assert frame["IMD_rank"].min() == 1 and frame["IMD_rank"].max() == 32844
    assert frame["IMD_rank"].nunique() == 32818
    assert frame.loc[frame["IMD_rank"] == 1, "IMD_decile"].item() == 1
    assert set(frame["IMD_decile"]) == set(range(1, 11))
    assert (frame["IMD_quintile"] == (frame["IMD_decile"] + 1) // 2).all()
    assert "Income_decile" in frame.columns and "Environment_rank" in frame.columns
    with open(paths["imd"], newline="") as fh:  # spot-check rows against the raw file
        rows = {r["lsoa11_code"]: r for r in csv.DictReader(fh)}
    for code in ("E01000001", "E01006074", "E01033768"):
        mine = frame.set_index("area_code").loc[code]
        assert mine["IMD_rank"] == float(rows[code]["IMD_rank"])
        assert mine["IMD_decile"] == float(rows[code]["IMD_decile"])


def test_simd_2020_table(paths):
    simd = load_deprivation_table(paths["simd"])
    assert simd.index == "SIMD2020" and len(simd) == 6976
    frame = simd.frame
    assert sorted(frame["IMD_rank"]) == list(range(1, 6977))
    assert frame.loc[frame["IMD_rank"] == 1, "IMD_decile"].item() == 1
    assert frame.loc[frame["IMD_rank"] == 6976, "IMD_decile"].item() == 10
    counts = frame["IMD_decile"].value_counts().sort_index().tolist()
    assert counts == [698, 698, 697, 698, 697, 698, 698, 697, 698, 697]
    assert frame["area_code"].str.startswith("S01").all()


@pytest.mark.parametrize("which", ["imd", "simd"])
def test_deciles_derived_from_ranks_match_the_published_ones(paths, which):
    """A table with ranks only gets the deciles the publisher would have given."""
    full = load_deprivation_table(paths[which])
    ranks_only = full.frame[["area_code", "IMD_rank"]].rename(columns={"area_code": "lsoa11_code" if
                                                              which == "imd" else "dz11_code"})
    derived = load_deprivation_table(ranks_only, index=full.index)
    assert any("derived from ranks" in n for n in derived.notes)
    assert (derived.frame["IMD_decile"].to_numpy() == full.frame["IMD_decile"].to_numpy()).all()


def test_imd_joins_every_2011_trafford_lsoa(imd, paths):
    boundaries = gpd.read_file(paths["lsoa11"])
    joined, report = join_deprivation(boundaries, imd)
    assert len(joined) == 138 and joined.crs == boundaries.crs
    assert report.area_code_column == "LSOA11CD" and report.boundary_geography == "LSOA2011"
    assert report.matched_features == 138 and report.unmatched_features == 0
    assert report.unmatched_boundary_codes == [] and report.warnings == []
    assert len(report.table_codes_without_boundary) == 32844 - 138
    assert joined["IMD_decile"].notna().all()
    assert (joined["LSOA11CD"].to_numpy() == boundaries["LSOA11CD"].to_numpy()).all()  # order kept
    expected = imd.frame.set_index("area_code").loc[boundaries["LSOA11CD"], "IMD_rank"].to_numpy()
    assert (joined["IMD_rank"].to_numpy() == expected).all()


def test_imd_on_2021_lsoas_reports_the_split_area_and_warns(imd, paths):
    boundaries = gpd.read_file(paths["lsoa21"])  # Trafford's own file, column 'area_code'
    joined, report = join_deprivation(boundaries, imd)
    assert len(joined) == 139
    assert report.area_code_column == "area_code" and report.boundary_geography == "LSOA2021"
    assert report.matched_features == 137
    assert report.unmatched_boundary_codes == ["E01034000", "E01034001"]
    assert joined.loc[joined["area_code"].isin(["E01034000", "E01034001"]), "IMD_decile"].isna().all()
    assert len(report.warnings) == 1
    assert "2021 LSOAs" in report.warnings[0] and "2011 LSOAs" in report.warnings[0]
    # the 2011 LSOA they were split from is in the table but not in these boundaries
    assert "E01006185" in report.table_codes_without_boundary
    assert "E01034000" in report.summary()


def test_simd_on_english_lsoas_is_refused(paths):
    from gis_desk.errors import DataError

    boundaries = gpd.read_file(paths["lsoa11"])
    with pytest.raises(DataError) as info:
        join_deprivation(boundaries, paths["simd"])
    text = str(info.value)
    assert "SIMD 2020" in text and "2011 LSOAs" in text and "imd2020_scotland_dz11.csv" in text


def test_a_data_zone_join_by_dz_column(paths):
    """Synthetic data zone squares carrying the first real SIMD codes, joined by 'DataZone'."""
    from shapely.geometry import box

    simd = load_deprivation_table(paths["simd"])
    codes = simd.frame["area_code"].iloc[:20].tolist() + ["S01099999"]  # a 2022 data zone code
    zones = gpd.GeoDataFrame({"DataZone": codes}, geometry=[box(i, 0, i + 1, 1) for i in range(21)],
                             crs="EPSG:27700")
    joined, report = join_deprivation(zones, simd)
    assert report.area_code_column == "DataZone" and report.matched_features == 20
    assert report.unmatched_boundary_codes == ["S01099999"]
    assert report.boundary_geography == "DZ2022"
    assert any("2022 data zones" in w for w in report.warnings)
    assert np.array_equal(joined["IMD_rank"].iloc[:20].to_numpy(), simd.frame["IMD_rank"].iloc[:20].to_numpy())
