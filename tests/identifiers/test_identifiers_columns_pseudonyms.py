"""Column detection, personal-column suggestions, keyed pseudonyms, the user's key and reports."""

import datetime as dt
import json
import os
import stat

import numpy as np
import pandas as pd
import pytest

from gis_desk.analysis.identifiers import (
    LOST_LEADING_ZERO,
    detect_identifier_columns,
    identifier_report,
    key_fingerprint,
    pseudonym_key_path,
    pseudonymise,
    suggest_personal_columns,
    user_pseudonym_key,
)
from gis_desk.errors import ReaderError


def _check(nine: str):
    r = 11 - sum(int(d) * w for d, w in zip(nine, range(10, 1, -1))) % 11
    return 0 if r == 11 else (None if r == 10 else r)


def synthetic_chis(n: int, seed: int = 1) -> list[str]:
    rng = np.random.default_rng(seed)
    out = []
    while len(out) < n:
        day = dt.date(1930, 1, 1) + dt.timedelta(days=int(rng.integers(0, 30000)))
        nine = day.strftime("%d%m%y") + f"{int(rng.integers(0, 1000)):03d}"
        if _check(nine) is not None:
            out.append(nine + str(_check(nine)))
    return out


def synthetic_nhs(n: int, seed: int = 2) -> list[str]:
    rng = np.random.default_rng(seed)
    out = []
    while len(out) < n:
        nine = str(int(rng.integers(400_000_000, 499_999_999)))
        if _check(nine) is not None:
            out.append(nine + str(_check(nine)))
    return out


@pytest.fixture
def records():
    n = 200
    chis = synthetic_chis(n)
    rng = np.random.default_rng(3)
    return pd.DataFrame({
        "ref": chis,  # CHI by content only
        "NHS_Number": synthetic_nhs(n),
        "phone_ish": [f"{v:010d}" for v in rng.integers(0, 10**10, n)],  # random 10 digits
        "UPRN": rng.integers(10**9, 10**11, n),
        "chi_as_read": [float(c) for c in chis],  # CHI read as numbers: some lost their zero
        "CHI No": ["junk"] * n,  # named CHI, damaged content: still reported
        "visits": rng.integers(0, 20, n),
        "when": pd.date_range("2024-01-01", periods=n),
    })


def test_detect_identifier_columns(records):
    found = detect_identifier_columns(records)
    assert found == {"ref": "chi", "NHS_Number": "nhs", "chi_as_read": "chi", "CHI No": "chi"}


def test_detection_by_content_wins_over_a_misleading_name(records):
    frame = pd.DataFrame({"nhs_no": records["ref"]})  # Scottish numbers under an NHS heading
    assert detect_identifier_columns(frame) == {"nhs_no": "chi"}


def test_suggest_personal_columns():
    frame = pd.DataFrame(columns=[
        "Forename", "Surname", "Client Name", "name", "DOB", "date_of_birth", "BirthDate", "Address Line 1",
        "address2", "Street", "Telephone", "email", "Postcode", "UPRN", "ward_name", "area_name", "LSOA11NM",
        "care_package", "Start Date", "household_size"])
    assert suggest_personal_columns(frame) == [
        "Forename", "Surname", "Client Name", "name", "DOB", "date_of_birth", "BirthDate", "Address Line 1",
        "address2", "Street", "Telephone", "email"]


def test_pseudonyms_are_stable_and_keyed():
    key_a, key_b = b"a" * 32, b"b" * 32
    values = ["943 476 5919", "9434765919", 9434765919.0, "4010232137", None, "", np.nan]
    a1, a2, b = pseudonymise(values, key_a), pseudonymise(list(values), key_a), pseudonymise(values, key_b)
    assert a1.tolist() == a2.tolist()
    assert a1[0] == a1[1] == a1[2] != a1[3]  # one person, however the number was written
    assert a1[4:].tolist() == ["", "", ""]  # blanks stay blank
    assert all(t.startswith("p_") and len(t) == 18 for t in a1[:4])
    assert set(a1[:4]).isdisjoint(b[:4])  # another key, unrelated tokens


def test_pseudonyms_never_contain_the_identifier():
    chis = synthetic_chis(500, seed=9)
    tokens = pseudonymise(chis, b"k" * 32)
    assert len(set(tokens)) == len(set(chis))
    for chi, token in zip(chis, tokens):
        assert chi not in token and chi[:6] not in token  # not even the date of birth
    text = json.dumps(tokens.tolist())
    assert not any(c in text for c in chis)


def test_pseudonymise_refuses_a_weak_key():
    with pytest.raises(ValueError):
        pseudonymise(["9434765919"], b"short")


def test_user_key_created_once_in_the_config_dir(tmp_path, monkeypatch):
    config = tmp_path / "cfg"
    monkeypatch.setenv("GIS_DESK_CONFIG_DIR", str(config))
    path = pseudonym_key_path()
    assert not path.exists()
    key = user_pseudonym_key()
    assert path.parent == config and path.name == "pseudonym.key" and path.exists()
    assert len(key) == 32
    content = path.read_bytes()
    assert user_pseudonym_key() == key  # the second call reads, never replaces
    assert path.read_bytes() == content
    if os.name == "posix":
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert len(key_fingerprint(key)) == 8 and key.hex() not in key_fingerprint(key)


def test_each_user_gets_a_different_key(tmp_path, monkeypatch):
    monkeypatch.setenv("GIS_DESK_CONFIG_DIR", str(tmp_path / "one"))
    one = user_pseudonym_key()
    monkeypatch.setenv("GIS_DESK_CONFIG_DIR", str(tmp_path / "two"))
    assert user_pseudonym_key() != one


@pytest.mark.skipif(os.name != "posix", reason="POSIX permissions")
def test_loose_key_permissions_are_tightened(tmp_path, monkeypatch):
    monkeypatch.setenv("GIS_DESK_CONFIG_DIR", str(tmp_path))
    key = user_pseudonym_key()
    os.chmod(pseudonym_key_path(), 0o644)
    assert user_pseudonym_key() == key
    assert stat.S_IMODE(pseudonym_key_path().stat().st_mode) == 0o600


def test_damaged_key_file_is_an_error_not_replaced(tmp_path, monkeypatch):
    monkeypatch.setenv("GIS_DESK_CONFIG_DIR", str(tmp_path))
    pseudonym_key_path().write_text("not a key")
    with pytest.raises(ReaderError) as info:
        user_pseudonym_key()
    assert "pseudonym.key" in str(info.value)
    assert pseudonym_key_path().read_text() == "not a key"


def test_identifier_report(records):
    frame = records[["ref", "NHS_Number", "chi_as_read"]].copy()
    frame.loc[3, "ref"] = frame.loc[3, "ref"][:9] + str((int(frame.loc[3, "ref"][9]) + 1) % 10)
    frame.loc[5, "ref"] = None
    report = identifier_report(frame)
    ref = report["ref"]
    assert (ref.total, ref.valid, ref.invalid, ref.blank) == (200, 198, 1, 1)
    assert ref.invalid_rows == [3]
    lost = report["chi_as_read"]
    starts_with_zero = [i for i, c in enumerate(records["ref"]) if c.startswith("0")]
    assert lost.status_counts[LOST_LEADING_ZERO] == len(starts_with_zero) > 0
    assert lost.invalid_rows == starts_with_zero
    assert report["NHS_Number"].invalid == 0
    assert "ref (CHI numbers): 198 valid, 1 invalid, 1 blank" in report.summary()
    as_json = json.dumps(report.to_dict())
    assert not any(c in as_json for c in records["ref"])  # counts and positions, never values
