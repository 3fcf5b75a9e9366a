"""parse_uprns: every kind of damage with known answers."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from gis_desk.analysis.uprn import UPRN_MAX, parse_uprns, uprn_likeness

CASES = [
    # (value, expected uprn, expected status)
    ("100012345678", 100012345678, "ok"),
    ("  100012345678 ", 100012345678, "ok"),
    ("'100012345678", 100012345678, "ok"),  # Excel's text apostrophe
    ('"100012345678"', 100012345678, "ok"),
    ("1", 1, "ok"),
    ("999999999999", 999_999_999_999, "ok"),
    ("100012345678.0", 100012345678, "recovered"),
    ('"100012345678.00"', 100012345678, "recovered"),
    ("100,012,345,678", 100012345678, "recovered"),
    ("1.00012345678E+11", 100012345678, "recovered"),
    ("1.00012345678e11", 100012345678, "recovered"),
    ("1.000123456780E+11", 100012345678, "recovered"),  # extra decimals, all zero
    ("1.00012E+11", 0, "lossy"),  # 100011500000..100012499999: unknowable
    ("2.00000E+11", 0, "lossy"),  # even when the digits shown are zeros
    ("1.2E+3", 0, "lossy"),
    ("1.00000E+12", 0, "lossy"),  # could have been 999,999,500,000 (in range)
    ("9.9E+20", 0, "out_of_range"),
    ("", 0, "blank"),
    ("   ", 0, "blank"),
    ("NULL", 0, "blank"),
    ("N/A", 0, "blank"),
    ("abc", 0, "text"),
    ("12.5", 0, "text"),
    ("1.5E-1", 0, "text"),
    ("1000123456 78", 0, "text"),
    ("0", 0, "out_of_range"),
    ("-5", 0, "out_of_range"),
    ("1000000000000", 0, "out_of_range"),
    ("99999999999999999999999", 0, "out_of_range"),  # beyond int64: no overflow
]


@pytest.mark.parametrize("value,uprn,status", CASES)
def test_each_kind_of_text(value, uprn, status):
    parsed = parse_uprns([value])
    assert parsed.status[0] == status
    assert parsed.uprn[0] == uprn


def test_column_of_text_in_one_call_keeps_order():
    values = [c[0] for c in CASES]
    parsed = parse_uprns(pd.Series(values, index=np.arange(100, 100 + len(values))))
    assert parsed.uprn.tolist() == [c[1] for c in CASES]
    assert parsed.status.tolist() == [c[2] for c in CASES]
    assert parsed.uprn.dtype == np.int64


def test_duplicates_flag_every_row_of_a_repeated_valid_uprn():
    parsed = parse_uprns(["100012345678", "100012345678.0", "5", "", "", "abc", "abc", "7"])
    assert parsed.duplicate.tolist() == [True, True, False, False, False, False, False, False]
    assert parsed.duplicate_rows == 2
    assert parsed.duplicate_uprns == 1
    assert parsed.counts() == {"ok": 3, "recovered": 1, "blank": 2, "text": 2, "out_of_range": 0, "lossy": 0}


def test_float_column_from_pandas_with_blanks():
    values = pd.Series([100012797623.0, np.nan, 10070461991.0, 2.5, 0.0, 1e13, np.inf])
    parsed = parse_uprns(values)
    assert parsed.status.tolist() == ["recovered", "blank", "recovered", "text", "out_of_range",
                                      "out_of_range", "out_of_range"]
    assert parsed.uprn.tolist() == [100012797623, 0, 10070461991, 0, 0, 0, 0]


def test_float32_cannot_hold_a_12_digit_uprn_exactly():
    parsed = parse_uprns(np.array([100012345678.0, 12345.0], dtype=np.float32))
    assert parsed.status.tolist() == ["lossy", "recovered"]
    assert parsed.uprn.tolist() == [0, 12345]


def test_integer_and_nullable_integer_columns():
    assert parse_uprns(np.array([5, 0, -1, UPRN_MAX, UPRN_MAX + 1])).status.tolist() == \
        ["ok", "out_of_range", "out_of_range", "ok", "out_of_range"]
    nullable = parse_uprns(pd.Series([5, None, 7], dtype="Int64"))
    assert nullable.status.tolist() == ["ok", "blank", "ok"]
    assert nullable.uprn.tolist() == [5, 0, 7]
    unsigned = parse_uprns(np.array([3, 2**63 + 5], dtype=np.uint64))
    assert unsigned.status.tolist() == ["ok", "out_of_range"]


def test_mixed_objects_as_read_from_a_spreadsheet():
    import decimal

    values = [100012345678, 100012345678.0, "1.00012E+11", None, float("nan"), True, decimal.Decimal("42"),
              10**20, "100012345679"]
    parsed = parse_uprns(pd.Series(values, dtype=object))
    assert parsed.status.tolist() == ["ok", "recovered", "lossy", "blank", "blank", "text", "ok",
                                      "out_of_range", "ok"]
    assert parsed.uprn.tolist() == [100012345678, 100012345678, 0, 0, 0, 0, 42, 0, 100012345679]
    assert parsed.duplicate.tolist()[:2] == [True, True]


def test_empty_input():
    parsed = parse_uprns([])
    assert len(parsed) == 0 and parsed.counts()["ok"] == 0


def test_large_random_column_round_trips_exactly():
    rng = np.random.default_rng(7)
    truth = rng.integers(1, UPRN_MAX + 1, size=200_000)
    text = pd.Series(truth.astype(str))
    assert (parse_uprns(text).uprn == truth).all()
    sci = pd.Series([f"{v:.11E}" for v in truth[:20_000]])  # 12 significant digits: lossless
    parsed = parse_uprns(sci)
    exact = truth[:20_000] >= 10**11  # 12-digit values need all 12 digits; shorter ones have spare
    assert (parsed.uprn[parsed.valid] == truth[:20_000][parsed.valid]).all()
    assert parsed.valid[exact].all()


def test_uprn_likeness_prefers_real_uprns_over_phone_numbers():
    assert uprn_likeness(["100012345678", "10070461991", ""]) == 1.0
    assert uprn_likeness(["01619121234", "07700900123"]) == 0.0  # leading zero: never a UPRN
    assert uprn_likeness(["x", "y"]) == 0.0
    assert uprn_likeness([]) == 0.0
