"""Synthetic council data with known answers for the council-data GUI tests.

``records_files`` writes, in tmp_path, an OS Open UPRN-style gazetteer CSV (30 UPRNs on a
100 m grid in Trafford, EPSG:27700) and a records CSV of 17 rows whose outcome is known:

- 12 rows matched: UPRNs 10001..10010, with 10001 on three rows (3 duplicate rows, 1 UPRN);
- 3 rows with a valid UPRN that is not in the gazetteer (99990001..3);
- 2 rows without a usable UPRN: one blank, one text ('unknown');

and NHS numbers that pass the modulus-11 check (the column 'NHS Number'), a 'Client Forename'
column (suggested for dropping) and a numeric 'hours' column.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from gis_desk.qt.workers import TaskManager

X0, Y0 = 378_000.0, 394_000.0


def nhs_number(seed: int) -> str:
    """A valid 10-digit NHS number (check digit by the published modulus-11 rule)."""
    rng = np.random.default_rng(seed)
    while True:
        digits = [int(d) for d in rng.integers(0, 10, 9)]
        digits[0] = digits[0] or 4
        check = 11 - sum(d * w for d, w in zip(digits, range(10, 1, -1))) % 11
        check = 0 if check == 11 else check
        if check != 10:
            return "".join(map(str, digits)) + str(check)


@dataclass
class RecordsFiles:
    gazetteer_csv: Path
    records_csv: Path
    nhs_numbers: list[str]
    total: int = 17
    matched: int = 12
    unmatched: int = 3
    invalid: int = 2
    duplicate_rows: int = 3
    duplicate_uprns: int = 1


@pytest.fixture
def records_files(tmp_path) -> RecordsFiles:
    import pandas as pd

    uprns = np.arange(10001, 10031)
    gaz = pd.DataFrame({"UPRN": uprns, "X_COORDINATE": X0 + 100.0 * (uprns % 6),
                        "Y_COORDINATE": Y0 + 100.0 * (uprns // 6 % 5), "LATITUDE": 53.4, "LONGITUDE": -2.3})
    gaz_csv = tmp_path / "osopenuprn_test.csv"
    gaz.to_csv(gaz_csv, index=False)
    record_uprns = [str(u) for u in range(10001, 10011)] + ["10001", "10001"] + \
                   ["99990001", "99990002", "99990003"] + ["", "unknown"]
    nhs = [nhs_number(i) for i in range(len(record_uprns))]
    records = pd.DataFrame({"Client Forename": [f"Name{i}" for i in range(len(record_uprns))],
                            "NHS Number": nhs, "UPRN": record_uprns,
                            "hours": np.arange(len(record_uprns)) % 5 + 1})
    records_csv = tmp_path / "care_packages.csv"
    records.to_csv(records_csv, index=False)
    return RecordsFiles(gaz_csv, records_csv, nhs)


@pytest.fixture
def tasks(qtbot):
    """A task manager reporting to its own presenter (message boxes: use ``dialogs`` where a task fails)."""
    from gis_desk.qt.errors import ErrorPresenter

    manager = TaskManager(ErrorPresenter(), max_workers=2)
    yield manager
    manager.wait(10000)
