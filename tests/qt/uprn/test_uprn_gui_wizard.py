"""The records import wizard on synthetic records and a gazetteer with known counts."""

from __future__ import annotations

import pytest

from gis_desk.qt.uprn.common import MASK_CHAR, mask_identifier
from gis_desk.qt.uprn.import_wizard import SETTING_STORE, ImportWizard, read_preview

from uprn_gui_helpers import grab


def _wait_complete(qtbot, page, timeout=15000):
    qtbot.waitUntil(page.isComplete, timeout=timeout)


def test_mask_identifier_hides_all_but_the_last_digits():
    assert mask_identifier("943 476 5919") == MASK_CHAR * 6 + "5919"
    assert mask_identifier(None) == "" and mask_identifier("") == ""
    assert "9434765919"[:6] not in mask_identifier("9434765919")


def test_wizard_imports_gazetteer_and_records_with_a_true_match_report(qtbot, session, tasks, records_files,
                                                                      tmp_path):
    from gis_desk.settings import get_setting

    wizard = ImportWizard(session, tasks)
    qtbot.addWidget(wizard)
    wizard.show()

    # 1. records file: the first rows are read in the background
    page = wizard.records_page
    page.path.setText(str(records_files.records_csv))
    page.load()
    _wait_complete(qtbot, page)
    assert wizard.found["uprn_column"] == "UPRN"
    assert wizard.found["identifiers"] == {"NHS Number": "nhs"}
    assert "Client Forename" in wizard.found["personal"]
    wizard.next()

    # 2. gazetteer: none yet, so import the OS Open UPRN CSV with progress
    gpage = wizard.gazetteer_page
    assert not gpage.isComplete()
    gpage.use_import.setChecked(True)
    gpage.csv.setText(str(records_files.gazetteer_csv))
    store = tmp_path / "test.uprn"
    gpage.new_store.setText(str(store))
    assert gpage.start_import() is not None
    qtbot.waitUntil(lambda: gpage.task is None, timeout=20000)
    _wait_complete(qtbot, gpage)
    assert len(wizard.gazetteer) == 30 and "30 UPRNs" in gpage.store_info.text()
    wizard.next()
    assert get_setting(SETTING_STORE) == str(store.resolve())  # remembered for next time

    # 3. columns: UPRN detected, NHS numbers masked in the preview, forename suggested for dropping
    cpage = wizard.columns_page
    assert cpage.uprn_column() == "UPRN"
    assert cpage.drop_columns() == ["Client Forename"]
    model = cpage.model
    shown = [model.text(r, "NHS Number") for r in range(model.rowCount())]
    assert all(s.startswith(MASK_CHAR * 6) for s in shown)
    assert not set(shown) & set(records_files.nhs_numbers)
    grab(wizard, tmp_path / "wizard_columns.png")
    wizard.next()

    # 4. match report
    rpage = wizard.report_page
    _wait_complete(qtbot, rpage, 20000)
    report = wizard.report
    f = records_files
    assert (report.total_rows, report.matched, report.unmatched, report.invalid) == \
        (f.total, f.matched, f.unmatched, f.invalid)
    assert (report.duplicate_rows, report.duplicate_uprns) == (f.duplicate_rows, f.duplicate_uprns)
    assert rpage.counts["total"].text() == "17"
    assert rpage.counts["matched"].text().startswith("12 ")
    assert rpage.counts["unmatched"].text().startswith("3 ")
    assert rpage.counts["invalid"].text().startswith("2 ")
    assert "blank: 1" in rpage.counts["invalid_kinds"].text()
    assert "text, not a number: 1" in rpage.counts["invalid_kinds"].text()
    assert rpage.counts["duplicates"].text() == "3 rows at 1 UPRN(s)"
    assert "17 valid" in rpage.identifiers.text() and "pseudonymised" in rpage.identifiers.text()
    assert rpage.model.rowCount() == f.unmatched + f.invalid
    table_text = {rpage.model.text(r, c) for r in range(rpage.model.rowCount()) for c in rpage.model.columns}
    assert not table_text & set(f.nhs_numbers)
    grab(wizard, tmp_path / "wizard_report.png")

    unmatched_csv = tmp_path / "unmatched.csv"
    assert rpage.export_unmatched(str(unmatched_csv)) is not None
    qtbot.waitUntil(unmatched_csv.exists, timeout=5000)
    text = unmatched_csv.read_text(encoding="utf-8")
    assert "99990002" in text and not any(n in text for n in f.nhs_numbers)

    # Finish: one point layer, pseudonyms only
    wizard.accept()
    layers = list(session.project.layers)
    assert len(layers) == 1 and layers[0] is wizard.layer
    frame = layers[0].dataset.frame
    assert "Client Forename" not in frame.columns
    assert frame["NHS Number"].str.startswith("p_").all()
    every_value = set(frame.astype(str).to_numpy().ravel())
    assert not every_value & set(f.nhs_numbers)
    assert int((~(frame.geometry.isna() | frame.geometry.is_empty)).sum()) == f.matched
    assert session.undo_stack.can_undo


def test_wizard_uses_the_remembered_store_and_reports_a_bad_file(qtbot, session, tasks, records_files, tmp_path,
                                                                 dialogs):
    from gis_desk.io.gazetteer import import_gazetteer
    from gis_desk.settings import set_setting

    store = tmp_path / "known.uprn"
    import_gazetteer(records_files.gazetteer_csv, store)
    set_setting(SETTING_STORE, str(store))
    wizard = ImportWizard(session, tasks)
    qtbot.addWidget(wizard)
    assert wizard.gazetteer_page.isComplete() and len(wizard.gazetteer) == 30

    bad = tmp_path / "notes.docx"
    bad.write_bytes(b"PK\x03\x04 not a table")
    page = wizard.records_page
    page.path.setText(str(bad))
    page.load()
    qtbot.waitUntil(lambda: "Cannot read" in page.info.text(), timeout=5000)
    assert not page.isComplete()
    assert "CSV, XLSX or a GeoPackage" in page.info.text()
    qtbot.waitUntil(lambda: bool(dialogs.boxes), timeout=5000)  # and through the error presenter
    assert "notes.docx" in dialogs.texts()[0]


def test_read_preview_errors_name_the_file(tmp_path):
    from gis_desk.errors import DataError, MissingFileError

    with pytest.raises(MissingFileError):
        read_preview(tmp_path / "missing.csv")
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    with pytest.raises(DataError) as info:
        read_preview(empty)
    assert "empty.csv" in str(info.value.path)
