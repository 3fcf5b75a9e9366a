"""Gazetteer import and lookup on small synthetic files with known answers."""

from __future__ import annotations

import json

import numpy as np
import pytest

from gis_desk.errors import CanceledError, CorruptFileError, DataError, MissingCrsError, MissingFileError
from gis_desk.io import gazetteer as gz
from gis_desk.io.gazetteer import Gazetteer, import_gazetteer
from gis_desk.processing.feedback import Feedback

OS_HEADER = "UPRN,X_COORDINATE,Y_COORDINATE,LATITUDE,LONGITUDE\n"


def _os_csv(path, rows):
    path.write_text(OS_HEADER + "".join(f"{u},{x},{y},53.4,-2.3\n" for u, x, y in rows))
    return path


def test_os_open_uprn_import_and_lookup(tmp_path):
    rows = [(100012345678, 377000.5, 388000.25), (5, 1.0, 2.0), ("", 9.0, 9.0), (5, 7.0, 7.0),
            (10070461991, 380123.45, 390456.78), ("abc", 1.0, 1.0), (42, "", 3.0), (0, 1.0, 1.0)]
    csv = _os_csv(tmp_path / "osopenuprn.csv", rows)
    feedback = Feedback()
    stats = import_gazetteer(csv, tmp_path / "gb.uprn", feedback)
    assert stats.rows == 8
    assert stats.stored == 3
    assert stats.duplicates == 1  # second UPRN 5 dropped, the first kept
    assert stats.invalid_uprn == 3 and stats.invalid_by_status == {"blank": 1, "text": 1, "out_of_range": 1}
    assert stats.bad_coordinates == 1
    assert stats.rows == stats.stored + stats.invalid_uprn + stats.bad_coordinates + stats.duplicates
    assert stats.crs == "EPSG:27700"
    assert feedback.progress == 100

    gaz = Gazetteer.open(tmp_path / "gb.uprn")
    assert len(gaz) == 3 and gaz.crs.to_epsg() == 27700
    found, x, y = gaz.lookup(np.array([10070461991, 5, 6, 100012345678, 0, 42], dtype=np.int64))
    assert found.tolist() == [True, True, False, True, False, False]
    assert x[found].tolist() == [380123.45, 1.0, 377000.5]
    assert y[found].tolist() == [390456.78, 2.0, 388000.25]
    assert np.isnan(x[~found]).all()
    info = gaz.info()
    assert info["count"] == 3 and info["crs"] == "EPSG:27700"
    assert info["bounds"] == [1.0, 2.0, 380123.45, 390456.78]
    assert gaz.uprns.tolist() == [5, 10070461991, 100012345678]


def test_many_runs_are_merged_sorted_and_deduplicated(tmp_path, monkeypatch):
    """Small run and merge sizes force the external sort through many runs and merge steps."""
    monkeypatch.setattr(gz, "RUN_ROWS", 1000)
    monkeypatch.setattr(gz, "MERGE_BLOCK_ROWS", 700)
    monkeypatch.setattr(gz, "READ_BLOCK_BYTES", 4096)
    rng = np.random.default_rng(3)
    truth = np.unique(rng.integers(1, 10**12, size=20_000))
    order = rng.permutation(len(truth))
    repeat = rng.choice(len(truth), size=500, replace=False)
    lines = [f"{truth[i]},{truth[i] % 700000},{truth[i] % 1300000},0,0\n" for i in order]
    lines += [f"{truth[i]},-1,-1,0,0\n" for i in repeat]  # later repeats: must lose to the first row
    (tmp_path / "big.csv").write_text(OS_HEADER + "".join(lines))
    stats = import_gazetteer(tmp_path / "big.csv", tmp_path / "big.uprn")
    assert stats.stored == len(truth) and stats.duplicates == 500
    gaz = Gazetteer.open(tmp_path / "big.uprn")
    assert (np.asarray(gaz.uprns) == truth).all()
    found, x, y = gaz.lookup(truth[::-1])
    assert found.all()
    assert (x == (truth[::-1] % 700000)).all() and (y == (truth[::-1] % 1300000)).all()


def test_addressbase_style_with_lat_lon_only(tmp_path):
    csv = tmp_path / "ab.csv"
    csv.write_text("uprn;parent_uprn;latitude;longitude;class\n"
                   "10001;;53.41;-2.31;RD04\n10002;10001;53.42;-2.32;RD06\n")
    stats = import_gazetteer(csv, tmp_path / "ab.uprn")
    assert stats.columns == {"uprn": "uprn", "x": "longitude", "y": "latitude"}
    gaz = Gazetteer.open(tmp_path / "ab.uprn")
    assert gaz.crs.to_epsg() == 4326
    found, x, y = gaz.lookup([10002])
    assert found[0] and x[0] == -2.32 and y[0] == 53.42


def test_addressbase_columns_named_by_the_user_and_headerless_file(tmp_path):
    csv = tmp_path / "abp.csv"
    # AddressBase Plus order begins UPRN, UDPRN, CHANGE_TYPE, ... X, Y at positions 8, 9
    csv.write_text("10001,1,I,2,2008-01-01,RD04,,377001.5,388002.5\n10002,2,I,2,2008-01-01,RD04,,377003,388004\n")
    stats = import_gazetteer(csv, tmp_path / "abp.uprn", uprn="1", x="8", y="9", crs="EPSG:27700")
    assert stats.stored == 2
    found, x, y = Gazetteer.open(tmp_path / "abp.uprn").lookup([10001])
    assert (x[0], y[0]) == (377001.5, 388002.5)


def test_other_xy_names_need_a_crs(tmp_path):
    csv = tmp_path / "xy.csv"
    csv.write_text("UPRN,Easting,Northing\n1,377000,388000\n")
    with pytest.raises(MissingCrsError) as err:
        import_gazetteer(csv, tmp_path / "xy.uprn")
    assert "xy.csv" in str(err.value)
    assert import_gazetteer(csv, tmp_path / "xy.uprn", crs=27700).stored == 1


def test_missing_columns_name_the_file_and_the_columns_found(tmp_path):
    csv = tmp_path / "nouprn.csv"
    csv.write_text("ID,X_COORDINATE,Y_COORDINATE\n1,2,3\n")
    with pytest.raises(DataError) as err:
        import_gazetteer(csv, tmp_path / "s.uprn")
    assert "nouprn.csv" in str(err.value) and "ID, X_COORDINATE, Y_COORDINATE" in str(err.value)
    csv2 = tmp_path / "nocoords.csv"
    csv2.write_text("UPRN,Name\n1,a\n")
    with pytest.raises(DataError) as err:
        import_gazetteer(csv2, tmp_path / "s.uprn")
    assert "nocoords.csv" in str(err.value) and "UPRN, Name" in str(err.value)
    with pytest.raises(DataError) as err:
        import_gazetteer(csv2, tmp_path / "s.uprn", uprn="UPRN", x="East", y="North")
    assert "'East'" in str(err.value) and "UPRN, Name" in str(err.value)
    assert not (tmp_path / "s.uprn").exists()


def test_truncated_csv_is_a_corrupt_file_error(tmp_path):
    good = _os_csv(tmp_path / "t.csv", [(i, 1.5, 2.5) for i in range(1, 1000)]).read_text()
    (tmp_path / "t.csv").write_text(good + "1000,37")  # the download stopped part-way through a row
    with pytest.raises(CorruptFileError) as err:
        import_gazetteer(tmp_path / "t.csv", tmp_path / "t.uprn")
    assert "t.csv" in str(err.value) and "truncated" in str(err.value)
    assert not (tmp_path / "t.uprn").exists()
    assert [p.name for p in tmp_path.iterdir()] == ["t.csv"]  # no scratch left behind


def test_empty_header_only_binary_and_missing_files(tmp_path):
    (tmp_path / "empty.csv").write_bytes(b"")
    with pytest.raises(DataError, match="empty"):
        import_gazetteer(tmp_path / "empty.csv", tmp_path / "e.uprn")
    (tmp_path / "header.csv").write_text(OS_HEADER)
    with pytest.raises(DataError, match="no rows"):
        import_gazetteer(tmp_path / "header.csv", tmp_path / "e.uprn")
    (tmp_path / "zip.csv").write_bytes(b"PK\x03\x04\x00\x00binary")
    with pytest.raises(CorruptFileError, match="not a text"):
        import_gazetteer(tmp_path / "zip.csv", tmp_path / "e.uprn")
    with pytest.raises(MissingFileError):
        import_gazetteer(tmp_path / "nope.csv", tmp_path / "e.uprn")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["empty.csv", "header.csv", "zip.csv"]


def test_cancel_leaves_nothing_and_keeps_an_existing_store(tmp_path, monkeypatch):
    monkeypatch.setattr(gz, "READ_BLOCK_BYTES", 4096)
    csv = _os_csv(tmp_path / "c.csv", [(i, float(i), float(i)) for i in range(1, 5000)])
    old = _os_csv(tmp_path / "old.csv", [(7, 70.0, 700.0)])
    import_gazetteer(old, tmp_path / "store.uprn")

    feedback = Feedback(on_progress=lambda p: feedback.cancel() if p > 5 else None)
    with pytest.raises(CanceledError):
        import_gazetteer(csv, tmp_path / "store.uprn", feedback)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.csv", "old.csv", "store.uprn"]
    gaz = Gazetteer.open(tmp_path / "store.uprn")  # the old store, untouched
    assert len(gaz) == 1 and gaz.lookup([7])[1][0] == 70.0

    feedback = Feedback(on_progress=lambda p: feedback.cancel() if p > 80 else None)  # during the merge
    with pytest.raises(CanceledError):
        import_gazetteer(csv, tmp_path / "fresh.uprn", feedback)
    assert not (tmp_path / "fresh.uprn").exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_reimport_replaces_a_store(tmp_path):
    import_gazetteer(_os_csv(tmp_path / "a.csv", [(1, 1.0, 1.0)]), tmp_path / "s.uprn")
    import_gazetteer(_os_csv(tmp_path / "b.csv", [(2, 2.0, 2.0), (3, 3.0, 3.0)]), tmp_path / "s.uprn")
    gaz = Gazetteer.open(tmp_path / "s.uprn")
    assert gaz.uprns.tolist() == [2, 3]


def test_opening_something_that_is_not_a_store(tmp_path):
    with pytest.raises(MissingFileError):
        Gazetteer.open(tmp_path / "none.uprn")
    (tmp_path / "folder").mkdir()
    with pytest.raises(CorruptFileError, match="not a gazetteer store"):
        Gazetteer.open(tmp_path / "folder")
    import_gazetteer(_os_csv(tmp_path / "a.csv", [(1, 1.0, 1.0), (2, 2.0, 2.0)]), tmp_path / "s.uprn")
    with open(tmp_path / "s.uprn" / "x.f8", "r+b") as fh:
        fh.truncate(8)
    with pytest.raises(CorruptFileError, match="damaged"):
        Gazetteer.open(tmp_path / "s.uprn")
    meta = json.loads((tmp_path / "s.uprn" / "meta.json").read_text())
    assert meta["count"] == 2 and meta["crs"] == "EPSG:27700"


def test_pandas_reader_is_used_without_pyarrow(tmp_path, monkeypatch):
    """The fallback path (no pyarrow) gives the same answers."""
    csv = _os_csv(tmp_path / "p.csv", [(5, 1.0, 2.0), ("", 1, 1), (5, 3.0, 3.0), ("1.00012E+11", 1, 1),
                                       ("100012345678.0", 4.0, 4.0)])
    monkeypatch.setattr(gz, "arrow_available", lambda: False)
    monkeypatch.setattr(gz, "_arrow_blocks", None)  # would fail loudly if still used
    stats = import_gazetteer(csv, tmp_path / "p.uprn")
    assert (stats.stored, stats.duplicates, stats.invalid_by_status) == (2, 1, {"blank": 1, "lossy": 1})
    assert Gazetteer.open(tmp_path / "p.uprn").uprns.tolist() == [5, 100012345678]
