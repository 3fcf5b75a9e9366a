"""Published table layouts (synthetic files with known values), bad tables, styles, the algorithm."""

import json

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import box

from gis_desk.errors import DataError, MissingFileError, ParameterError, ReaderError
from gis_desk.io.deprivation import (
    decile_to_quintile,
    deprivation_style,
    join_deprivation,
    load_deprivation_table,
)

IOD_DECILE = "Index of Multiple Deprivation (IMD) Decile (where 1 is most deprived 10% of LSOAs)"
IOD_RANK = "Index of Multiple Deprivation (IMD) Rank (where 1 is most deprived)"

# A 2011 LSOA split in 2021 (Trafford), kept codes, and the two new codes.
OLD = ["E01006074", "E01006075", "E01006076", "E01006185"]
NEW = ["E01006074", "E01006075", "E01006076", "E01034000", "E01034001"]


def squares(codes, column):
    return gpd.GeoDataFrame({column: codes, "name": [f"area {i}" for i in range(len(codes))]},
                            geometry=[box(i * 100, 0, i * 100 + 100, 100) for i in range(len(codes))],
                            crs="EPSG:27700")


def iod2025_file1(path, codes=NEW):
    """A small table in the layout of MHCLG's IoD2025 File 1 (synthetic values, known here)."""
    ranks = [101 + 1000 * i for i in range(len(codes))]
    frame = pd.DataFrame({
        "LSOA code (2021)": codes,
        "LSOA name (2021)": [f"Trafford 0{i:02d}A" for i in range(len(codes))],
        "Local Authority District code (2024)": ["E08000009"] * len(codes),
        "Local Authority District name (2024)": ["Trafford"] * len(codes),
        IOD_RANK: ranks,
        IOD_DECILE: [int(np.ceil(r * 10 / 33755)) for r in ranks],
    })
    frame.to_csv(path, index=False)
    return frame


def test_iod2025_file1_layout(tmp_path):
    source = iod2025_file1(tmp_path / "File_1_IoD2025_Index_of_Multiple_Deprivation.csv")
    table = load_deprivation_table(tmp_path / "File_1_IoD2025_Index_of_Multiple_Deprivation.csv")
    assert table.index == "IoD2025" and table.code_column == "LSOA code (2021)"
    assert table.frame["area_code"].tolist() == NEW
    assert table.frame["IMD_rank"].tolist() == source[IOD_RANK].tolist()
    assert table.frame["IMD_decile"].tolist() == [1, 1, 1, 1, 2]
    assert table.columns[IOD_DECILE] == "IMD_decile"
    assert "LSOA_name" in table.frame.columns and "Local_Authority_District_code" in table.frame.columns
    assert any("33,755" in n for n in table.notes)  # a subset of the national table

    joined, report = join_deprivation(squares(NEW, "LSOA21CD"), table)
    assert report.matched_features == 5 and report.warnings == []
    joined, report = join_deprivation(squares(OLD, "LSOA11CD"), table)
    assert report.unmatched_boundary_codes == ["E01006185"]
    assert report.boundary_geography == "LSOA2011"
    assert any("2011 LSOAs" in w and "IoD2025" in w for w in report.warnings)


def test_iod2025_subset_without_new_codes_is_told_by_its_column_name(tmp_path):
    iod2025_file1(tmp_path / "extract.csv", codes=OLD[:3])
    assert load_deprivation_table(tmp_path / "extract.csv").index == "IoD2025"


def test_iod2019_file1_layout(tmp_path):
    frame = pd.DataFrame({
        "LSOA code (2011)": OLD, "LSOA name (2011)": ["a", "b", "c", "d"],
        "Local Authority District code (2019)": ["E08000009"] * 4,
        "Local Authority District name (2019)": ["Trafford"] * 4,
        IOD_RANK: [5, 4000, 20000, 32844], IOD_DECILE: [1, 2, 7, 10]})
    frame.to_csv(tmp_path / "File_1_-_IMD2019_Index_of_Multiple_Deprivation.csv", index=False)
    table = load_deprivation_table(tmp_path / "File_1_-_IMD2019_Index_of_Multiple_Deprivation.csv")
    assert table.index == "IMD2019"
    assert table.frame["IMD_quintile"].tolist() == [1, 1, 4, 5]


def test_excel_workbook_with_a_notes_sheet(tmp_path):
    pytest.importorskip("openpyxl")
    path = tmp_path / "File_1_IoD2025.xlsx"
    iod2025_file1(tmp_path / "tmp.csv")
    with pd.ExcelWriter(path) as writer:
        notes = pd.DataFrame({"Notes": ["Synthetic test file, not real data"]})
        notes.to_excel(writer, sheet_name="Notes", index=False)
        pd.read_csv(tmp_path / "tmp.csv").to_excel(writer, sheet_name="IoD2025 IMD", index=False)
    table = load_deprivation_table(path)
    assert table.index == "IoD2025" and len(table) == 5


def test_gis_extract_and_simd_layouts():
    gis = pd.DataFrame({"LSOA21CD": NEW, "LSOA21NM": list("abcde"), "IMDRank": [1, 2, 3, 4, 33755],
                        "IMDDecil": [1, 1, 1, 1, 10]})
    table = load_deprivation_table(gis)
    assert table.index == "IoD2025" and table.frame["IMD_decile"].tolist() == [1, 1, 1, 1, 10]
    simd = pd.DataFrame({"Data_Zone": ["S01006506", "S01006507", "S01013481"],
                         "Council_area": ["Aberdeen City"] * 3, "SIMD2020v2_Rank": [1, 698, 6976],
                         "SIMD_2020v2_Percentile": [1, 11, 100]})
    table = load_deprivation_table(simd)
    assert table.index == "SIMD2020"
    assert table.frame["IMD_decile"].tolist() == [1, 1, 10]  # from ranks: rank 698 is still decile 1
    assert "SIMD_2020v2_Percentile" in table.frame.columns


@pytest.mark.parametrize("frame, words", [
    (pd.DataFrame({"lsoa11_code": ["E01000001", "E01000001"], "IMD_decile": [1, 2]}), "more than one row"),
    (pd.DataFrame({"lsoa11_code": ["E01000001", "E01000002"], "IMD_decile": [1, 11]}), "1 to 10"),
    (pd.DataFrame({"lsoa11_code": ["E01000001", "E01000002"], "population": [1, 2]}), "no decile or rank"),
    (pd.DataFrame({"name": ["x", "y"], "IMD_decile": [1, 2]}), "holds LSOA or data zone codes"),
    (pd.DataFrame({"lsoa_code": ["W01000001", "W01000002"], "IMD_decile": [1, 2]}), "Welsh"),
    (pd.DataFrame({"lsoa_code": ["E01000001", "E01000002"], "IMD_decile": [1, 2]}), "IMD 2019"),
])
def test_bad_tables(frame, words):
    with pytest.raises(DataError) as info:
        load_deprivation_table(frame)
    assert words in str(info.value)


def test_codes_of_another_vintage_than_the_index_or_the_name():
    frame = pd.DataFrame({"lsoa11_code": ["E01034000", "E01000002"], "IMD_decile": [1, 2]})
    with pytest.raises(DataError) as info:
        load_deprivation_table(frame, index="IMD2019")
    assert "2021 LSOAs" in str(info.value) and "IMD 2019" in str(info.value)
    table = load_deprivation_table(frame)  # the codes decide, and the odd name is noted
    assert table.index == "IoD2025"
    assert any("named for 2011 LSOAs" in n for n in table.notes)


def test_ambiguous_table_loads_when_the_index_is_given():
    frame = pd.DataFrame({"lsoa_code": ["E01000001", "E01000002"], "IMD_decile": [1, 2]})
    assert load_deprivation_table(frame, index="IMD2019").index == "IMD2019"


def test_file_errors_name_the_file(tmp_path):
    with pytest.raises(MissingFileError):
        load_deprivation_table(tmp_path / "missing.csv")
    (tmp_path / "table.pdf").write_bytes(b"%PDF")
    with pytest.raises(ReaderError) as info:
        load_deprivation_table(tmp_path / "table.pdf")
    assert "table.pdf" in str(info.value)
    bad = tmp_path / "dupes.csv"
    bad.write_text("lsoa11_code,IMD_decile\nE01000001,1\nE01000001,2\n")
    with pytest.raises(DataError) as info:
        load_deprivation_table(bad)
    assert "dupes.csv" in str(info.value)


def test_boundary_columns_are_kept_and_clashes_renamed():
    table = load_deprivation_table(pd.DataFrame({"LSOA11CD": OLD, "IMD_decile": [1, 2, 3, 4]}))
    areas = squares(OLD + [None], "code")
    areas["IMD_decile"] = 99  # the boundaries already had such a field
    joined, report = join_deprivation(areas, table, area_code_column="code")
    assert joined["IMD_decile_boundary"].tolist() == [99] * 5
    assert joined["IMD_decile"].tolist()[:4] == [1, 2, 3, 4] and pd.isna(joined["IMD_decile"].iloc[4])
    assert report.renamed_columns == {"IMD_decile": "IMD_decile_boundary"}
    assert report.blank_boundary_codes == 1 and report.unmatched_features == 1
    with pytest.raises(DataError):
        join_deprivation(areas, table, area_code_column="nope")


def _luminance(hex_color: str) -> float:
    r, g, b = (int(hex_color[i:i + 2], 16) / 255 for i in (1, 3, 5))
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def test_decile_style_darkest_for_the_most_deprived():
    frame = squares(OLD, "LSOA11CD")
    frame["IMD_decile"] = pd.array([1, 3, 10, None], dtype="Int64")
    style = deprivation_style(frame)
    assert style.kind == "categorised" and style.field == "IMD_decile"
    assert [c.value for c in style.categories] == list(range(1, 11))  # all ten, whatever is present
    assert style.categories[0].label == "1 (most deprived 10%)"
    assert style.categories[9].label == "10 (least deprived 10%)"
    light = [_luminance(c.symbol.fill) for c in style.categories]
    assert all(a < b for a, b in zip(light, light[1:]))
    assert style.other is not None  # the area with no decile is drawn grey


def test_quintile_style_groups_pairs_of_deciles():
    from gis_desk.render.vector import feature_classes

    frame = squares([f"E010000{i:02d}" for i in range(1, 11)], "LSOA11CD")
    frame["IMD_decile"] = list(range(1, 11))
    style = deprivation_style(frame, groups="quintile")
    assert style.kind == "graduated"
    assert [(c.lower, c.upper) for c in style.classes] == [(1, 2), (3, 4), (5, 6), (7, 8), (9, 10)]
    assert style.classes[0].label == "1 (most deprived 20%)"
    classes, _ = feature_classes(frame, style)
    assert classes.tolist() == [0, 0, 1, 1, 2, 2, 3, 3, 4, 4]
    assert decile_to_quintile(frame["IMD_decile"]).tolist() == [1, 1, 2, 2, 3, 3, 4, 4, 5, 5]
    frame["IMD_quintile"] = (frame["IMD_decile"] + 1) // 2
    by_field = deprivation_style(frame, field="IMD_quintile", groups="quintile")
    assert by_field.kind == "categorised" and len(by_field.categories) == 5
    light = [_luminance(c.symbol.fill) for c in by_field.categories]
    assert all(a < b for a, b in zip(light, light[1:]))


def test_style_refuses_a_field_that_is_not_a_decile():
    frame = squares(OLD, "LSOA11CD")
    frame["IMD_rank"] = [5, 300, 2000, 30000]
    with pytest.raises(DataError):
        deprivation_style(frame, field="IMD_rank")
    with pytest.raises(DataError):
        deprivation_style(frame, field="missing")


def test_deprivation_join_algorithm(tmp_path):
    import pyogrio

    from gis_desk.processing.algorithms.deprivation import DeprivationJoin
    from gis_desk.processing.run import run_algorithm

    iod2025_file1(tmp_path / "iod.csv")
    squares(OLD, "LSOA11CD").to_file(tmp_path / "lsoa11.gpkg")
    outputs = run_algorithm(DeprivationJoin(), {"boundaries": str(tmp_path / "lsoa11.gpkg"),
                                                "table": str(tmp_path / "iod.csv"),
                                                "output": str(tmp_path / "joined.gpkg")})
    assert outputs["index"] == "IoD2025" and outputs["count"] == 4
    assert (outputs["matched"], outputs["unmatched"]) == (3, 1)
    assert outputs["report"] == str(tmp_path / "joined.report.json")
    report = json.loads((tmp_path / "joined.report.json").read_text())
    assert report["unmatched_boundary_codes"] == ["E01006185"]
    assert report["table_codes_without_boundary"] == ["E01034000", "E01034001"]
    assert report["warnings"]
    written = pyogrio.read_dataframe(tmp_path / "joined.gpkg")
    assert written["IMD_decile"].tolist()[:3] == [1, 1, 1] and np.isnan(written["IMD_decile"].iloc[3])
    assert written.crs.to_epsg() == 27700

    with pytest.raises(ParameterError):
        run_algorithm(DeprivationJoin(), {"boundaries": str(tmp_path / "lsoa11.gpkg"),
                                          "table": str(tmp_path / "lsoa11.gpkg")})
    with pytest.raises(DataError):  # Scottish index on English boundaries: nothing matches
        run_algorithm(DeprivationJoin(), {"boundaries": str(tmp_path / "lsoa11.gpkg"),
                                          "table": str(tmp_path / "iod.csv"), "index": "SIMD2020"})


def test_algorithm_declaration_and_cancel(tmp_path):
    from gis_desk.errors import CanceledError
    from gis_desk.processing.algorithms.deprivation import DeprivationJoin
    from gis_desk.processing.feedback import Feedback
    from gis_desk.processing.run import run_algorithm

    declared = json.loads(json.dumps(DeprivationJoin().to_dict()))
    assert declared["id"] == "builtins.deprivation_join"
    assert [p["name"] for p in declared["parameters"]] == ["boundaries", "table", "index", "area_code_column",
                                                           "output", "report"]
    iod2025_file1(tmp_path / "iod.csv")
    squares(NEW, "LSOA21CD").to_file(tmp_path / "lsoa21.gpkg")
    feedback = Feedback()
    feedback.cancel()
    with pytest.raises(CanceledError):
        run_algorithm(DeprivationJoin(), {"boundaries": str(tmp_path / "lsoa21.gpkg"),
                                          "table": str(tmp_path / "iod.csv"),
                                          "output": str(tmp_path / "out.gpkg")}, feedback)
    assert not (tmp_path / "out.gpkg").exists()
    outputs = run_algorithm(DeprivationJoin(), {"boundaries": str(tmp_path / "lsoa21.gpkg"),
                                                "table": str(tmp_path / "iod.csv"),
                                                "report": str(tmp_path / "r.json")})
    assert outputs["report"] == str(tmp_path / "r.json") and outputs["matched"] == 5
