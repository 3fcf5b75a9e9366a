"""import_records: CSV, XLSX and GeoPackage records joined to a synthetic gazetteer, with known
matched / unmatched / invalid / duplicate counts; pseudonymisation; the real Trafford assets."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from gis_desk.analysis.uprn import parse_uprns
from gis_desk.errors import CorruptFileError, DataError, MissingFileError
from gis_desk.io.gazetteer import Gazetteer, import_gazetteer
from gis_desk.io.records import READER_ID, find_uprn_column, import_records, read_uprn_records

KEY = b"k" * 32
TRAFFORD_ASSETS = ("uk_trafford/council_open_data/transparency_code/local_authority_land/"
                   "trafford_land_and_building_assets.csv")
# Valid CHI numbers (DDMMYY, check digit by modulus 11) and one with a wrong check digit.
CHI_VALID = ["0101011237", "1503856542", "2207924564"]
CHI_BAD = "0101011236"


def _gazetteer(tmp_path, rows):
    csv = tmp_path / "gaz.csv"
    csv.write_text("UPRN,X_COORDINATE,Y_COORDINATE,LATITUDE,LONGITUDE\n" +
                   "".join(f"{u},{x},{y},0,0\n" for u, x, y in rows))
    import_gazetteer(csv, tmp_path / "gaz.uprn")
    return Gazetteer.open(tmp_path / "gaz.uprn")


@pytest.fixture
def gazetteer(tmp_path):
    return _gazetteer(tmp_path, [(100012345678, 377000.5, 388000.25), (10070461991, 378000.0, 389000.0),
                                 (200000333839, 379000.0, 390000.0)])


# 10 rows: 5 matched (one recovered from '.0', two at one UPRN), 2 unmatched, 3 invalid.
RECORDS = [
    ("100012345678", "home care", 10),
    ("100012345678", "meals", 3),  # duplicate of row 1
    ("10070461991.0", "day centre", 5),  # recovered
    ("200000333839", "home care", 12),
    ("1.00012E+11", "meals", 2),  # lossy: invalid
    ("", "home care", 7),  # blank: invalid
    ("not known", "meals", 1),  # text: invalid
    ("999999999", "home care", 4),  # valid, not in gazetteer
    ("10070461991", "meals", 6),  # duplicate of row 3
    ("123", "home care", 8),  # valid, not in gazetteer
]


def _check_counts(report, dataset, first_row=2):
    assert report.total_rows == 10 and len(dataset) == 10
    assert (report.matched, report.unmatched, report.invalid) == (5, 2, 3)
    assert report.invalid_by_status == {"blank": 1, "text": 1, "out_of_range": 0, "lossy": 1}
    assert report.recovered == 1
    assert (report.duplicate_rows, report.duplicate_uprns) == (4, 2)
    frame = dataset.frame
    assert frame["matched"].tolist() == [True, True, True, True, False, False, False, False, True, False]
    assert frame["UPRN"].tolist() == [100012345678, 100012345678, 10070461991, 200000333839, 0, 0, 0,
                                      999999999, 10070461991, 123]
    assert frame["uprn_status"].tolist()[:5] == ["ok", "ok", "recovered", "ok", "lossy"]
    assert (frame.geometry.x[0], frame.geometry.y[0]) == (377000.5, 388000.25)
    assert frame.geometry.is_empty.tolist() == (~frame["matched"]).tolist()
    assert dataset.crs.to_epsg() == 27700
    problem = report.unmatched_rows
    assert problem["source_row"].tolist() == [r + first_row for r in (4, 5, 6, 7, 9)]
    assert problem["problem"].tolist()[-1] == "not in the gazetteer"


def test_csv_records_with_known_counts(tmp_path, gazetteer):
    path = tmp_path / "care.csv"
    pd.DataFrame(RECORDS, columns=["Property UPRN", "service", "hours"]).to_csv(path, index=False)
    dataset, report = import_records(path, gazetteer, key=KEY)
    assert report.uprn_column == "Property UPRN" and report.uprn_column_found_by == "name"
    _check_counts(report, dataset)
    assert dataset.frame["hours"].dtype == np.int64  # numbers became numbers
    assert dataset.frame["Property UPRN"].tolist()[4] == "1.00012E+11"  # as given, for the audit
    assert dataset.frame["source_row"].tolist() == list(range(2, 12))
    assert dataset.source.reader == READER_ID

    out = report.write_unmatched(tmp_path / "unmatched.csv")
    back = pd.read_csv(out, dtype=str, keep_default_na=False)
    assert len(back) == 5 and back["Property UPRN"].tolist()[0] == "1.00012E+11"
    summary = report.summary_text()
    assert "matched to the gazetteer: 5 (50.0%)" in summary and "lossy: 1" in summary
    d = report.to_dict()
    json.dumps(d)
    assert d["matched"] == 5 and "unmatched_rows" not in d
    assert len(report.to_dict(include_rows=True)["unmatched_rows"]) == 5


def test_xlsx_records_with_numbers_as_spreadsheets_store_them(tmp_path, gazetteer):
    path = tmp_path / "care.xlsx"
    frame = pd.DataFrame(RECORDS, columns=["UPRN", "service", "hours"]).astype(object)
    frame.loc[0, "UPRN"] = 100012345678  # a number cell: exact
    frame.loc[3, "UPRN"] = 200000333839.0  # a float cell: exact, recovered
    frame.loc[5, "UPRN"] = None  # empty cell
    frame.to_excel(path, index=False, sheet_name="Packages")
    dataset, report = import_records(path, gazetteer, key=KEY)
    assert (report.matched, report.unmatched, report.invalid) == (5, 2, 3)
    assert report.invalid_by_status["blank"] == 1 and report.invalid_by_status["lossy"] == 1
    assert dataset.frame["UPRN"].tolist()[3] == 200000333839
    assert "UPRN_as_given" in dataset.frame.columns  # the file's own UPRN column, renamed
    assert dataset.frame["hours"].dtype.kind == "i"
    with pytest.raises(DataError, match="no sheet 'Nope'") as err:
        import_records(path, gazetteer, sheet="Nope")
    assert "Packages" in str(err.value)


def test_geopackage_table_records(tmp_path, gazetteer):
    import pyogrio

    path = tmp_path / "care.gpkg"
    frame = pd.DataFrame(RECORDS, columns=["uprn", "service", "hours"])
    pyogrio.write_dataframe(frame, path, layer="packages")
    dataset, report = import_records(path, gazetteer, key=KEY)
    _check_counts(report, dataset, first_row=1)  # a table's rows count from 1 (no header row)
    assert dataset.source.options["layer"] == "packages"


def test_pseudonymised_identifiers_and_dropped_columns(tmp_path, gazetteer):
    path = tmp_path / "chi.csv"
    chis = CHI_VALID + [CHI_BAD, ""]
    frame = pd.DataFrame({"CHI": chis, "Forename": ["A", "B", "C", "D", "E"], "DOB": ["x"] * 5,
                          "uprn": ["100012345678", "10070461991", "5", "", "200000333839"]})
    frame.to_csv(path, index=False)
    dataset, report = import_records(path, gazetteer, key=KEY, drop_columns=["forename", "DOB"])
    assert report.identifier_columns == {"CHI": "chi"}
    assert report.identifiers["columns"][0]["invalid"] == 1
    assert report.dropped_columns == ["Forename", "DOB"]
    tokens = dataset.frame["CHI"].tolist()
    assert all(t.startswith("p_") for t in tokens[:4]) and tokens[4] == ""
    text = dataset.frame.to_csv() + report.unmatched_rows.to_csv() + json.dumps(report.to_dict(True))
    for chi in CHI_VALID + [CHI_BAD]:
        assert chi not in text
    assert "Forename" not in dataset.frame.columns
    # The same key gives the same tokens (records can be linked); another key does not.
    again, _ = import_records(path, gazetteer, key=KEY)
    other, _ = import_records(path, gazetteer, key=b"z" * 32)
    assert again.frame["CHI"].tolist() == tokens and other.frame["CHI"].tolist() != tokens
    assert report.suggested_personal_columns == [] and "Forename" in again.report.suggested_personal_columns
    # Written out, no raw CHI number reaches the disk.
    from gis_desk.processing.algorithm import write_vector_output

    written = write_vector_output(dataset.frame, tmp_path / "layer.gpkg")
    report.write_unmatched(tmp_path / "u.csv")
    for file in (written, tmp_path / "u.csv"):
        blob = open(file, "rb").read()
        assert not any(chi.encode() in blob for chi in CHI_VALID)


def test_reopening_re_imports_with_pseudonymisation(tmp_path, gazetteer):
    path = tmp_path / "chi.csv"
    pd.DataFrame({"chi_number": CHI_VALID, "uprn": ["100012345678", "1", "2"]}).to_csv(path, index=False)
    dataset, _ = import_records(path, gazetteer, pseudonymise=False)
    assert dataset.frame["chi_number"].tolist() == CHI_VALID  # the caller asked for raw values...
    assert "pseudonymise" not in dataset.source.options  # ...but the project cannot ask for them back
    reopened = read_uprn_records(dataset.source.path, **dataset.source.options)[0]
    assert all(t.startswith("p_") for t in reopened.frame["chi_number"])
    with pytest.raises(DataError, match="gazetteer"):
        read_uprn_records(path)


def test_uprn_column_found_by_content_and_overridden(tmp_path, gazetteer):
    frame = pd.DataFrame({"row": [1, 2, 3, 4], "ref": ["100012345678", "10070461991", "200000333839", "7"],
                          "phone": ["01612345678", "01619876543", "07700900123", "01610000000"]})
    assert find_uprn_column(frame) == ("ref", "content")
    path = tmp_path / "noname.csv"
    frame.to_csv(path, index=False)
    _, report = import_records(path, gazetteer, key=KEY)
    assert report.uprn_column == "ref" and report.uprn_column_found_by == "content" and report.matched == 3
    _, report = import_records(path, gazetteer, uprn_column="ROW", key=KEY)
    assert report.uprn_column == "row" and report.uprn_column_found_by == "user" and report.matched == 0


def test_bad_inputs_give_typed_errors_naming_the_file(tmp_path, gazetteer):
    nouprn = tmp_path / "nouprn.csv"
    nouprn.write_text("name,service\nA,meals\n")
    with pytest.raises(DataError) as err:
        import_records(nouprn, gazetteer)
    assert "nouprn.csv" in str(err.value) and "name, service" in str(err.value)
    with pytest.raises(DataError, match="'UPRN_X'"):
        import_records(nouprn, gazetteer, uprn_column="UPRN_X")
    with pytest.raises(DataError, match="Cannot drop 'nope'"):
        pd.DataFrame(RECORDS, columns=["uprn", "s", "h"]).to_csv(tmp_path / "r.csv", index=False)
        import_records(tmp_path / "r.csv", gazetteer, drop_columns=["nope"], key=KEY)
    (tmp_path / "empty.csv").write_text("")
    with pytest.raises(DataError, match="empty"):
        import_records(tmp_path / "empty.csv", gazetteer)
    (tmp_path / "bad.xlsx").write_bytes(b"not a zip")
    with pytest.raises(CorruptFileError) as err:
        import_records(tmp_path / "bad.xlsx", gazetteer)
    assert "bad.xlsx" in str(err.value)
    (tmp_path / "old.xls").write_bytes(b"\xd0\xcf\x11\xe0")
    with pytest.raises(DataError, match="xlsx"):
        import_records(tmp_path / "old.xls", gazetteer)
    with pytest.raises(MissingFileError):
        import_records(tmp_path / "none.csv", gazetteer)
    with pytest.raises(MissingFileError):
        import_records(nouprn, tmp_path / "no_store.uprn")


def test_real_trafford_asset_register(real_data, tmp_path):
    """608 rows, 336 without a UPRN; pandas reads the column as float64.  A synthetic
    gazetteer holds every other distinct UPRN of the register."""
    path = real_data / TRAFFORD_ASSETS
    raw = pd.read_csv(path)
    assert raw["UPRN"].dtype == np.float64
    parsed = parse_uprns(raw["UPRN"])
    assert parsed.counts()["blank"] == int(raw["UPRN"].isna().sum()) == 336
    assert parsed.valid.sum() == 272 and parsed.counts()["recovered"] == 272  # exact floats
    text = pd.read_csv(path, dtype=str, keep_default_na=False)["UPRN"]
    assert (parsed.uprn[parsed.valid] == text[parsed.valid].astype("int64").to_numpy()).all()
    assert parse_uprns(text).uprn.tolist() == parsed.uprn.tolist()

    distinct = np.unique(parsed.uprn[parsed.valid])
    inside = distinct[::2]
    gaz = _gazetteer(tmp_path, [(u, 370000 + i, 390000 + i) for i, u in enumerate(inside)])
    dataset, report = import_records(path, gaz, key=KEY)
    assert report.total_rows == len(dataset) == 608  # no row lost
    assert report.invalid_by_status["blank"] == 336 and report.invalid == 336
    expected_matched = int(np.isin(parsed.uprn[parsed.valid], inside).sum())
    assert report.matched == expected_matched and report.unmatched == 272 - expected_matched
    assert dataset.frame["UPRN"].tolist() == parsed.uprn.tolist()  # UPRNs exact, in file order
    assert dataset.frame["PropertyName"].tolist() == raw["PropertyName"].fillna("").tolist()
    assert report.duplicate_rows == int(pd.Series(parsed.uprn[parsed.valid]).duplicated(keep=False).sum())
