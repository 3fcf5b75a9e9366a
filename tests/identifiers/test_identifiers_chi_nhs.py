"""CHI and NHS number validation against numbers built here from the published rule.

The check digit is computed in this file independently of the implementation: digits 1..9 times
weights 10..2, summed; 11 minus the remainder modulo 11; 11 -> 0; 10 -> never issued.
"""

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from gis_desk.analysis.identifiers import (
    BAD_CHECK_DIGIT,
    BAD_DATE,
    BLANK,
    CHECK_DIGIT_10,
    LOST_LEADING_ZERO,
    NOT_DIGITS,
    VALID,
    WRONG_LENGTH,
    chi_sex,
    chi_status,
    nhs_status,
    validate_chi,
    validate_nhs,
)


def check_digit(first_nine: str):
    """Published modulus-11 rule; None when the result is 10 (number never issued)."""
    total = sum(int(d) * w for d, w in zip(first_nine, range(10, 1, -1)))
    result = 11 - total % 11
    if result == 11:
        return 0
    return None if result == 10 else result


def make_chi(date: dt.date, serial: int) -> str | None:
    """A CHI number for ``date`` with 3-digit ``serial`` (its last digit gives the sex)."""
    nine = date.strftime("%d%m%y") + f"{serial:03d}"
    digit = check_digit(nine)
    return None if digit is None else nine + str(digit)


def first_serial(date: dt.date, *, sex_odd: bool, need_check_10: bool = False) -> tuple[str, int]:
    """(first nine digits, serial) for the first serial of the wanted sex and check outcome."""
    for serial in range(1000):
        if (serial % 2 == 1) != sex_odd:
            continue
        nine = date.strftime("%d%m%y") + f"{serial:03d}"
        if (check_digit(nine) is None) == need_check_10:
            return nine, serial
    raise AssertionError("no serial found")


JAN_5_1950 = dt.date(1950, 1, 5)  # a day below 10: the CHI starts with 0


@pytest.fixture
def chi_male():
    nine, _ = first_serial(JAN_5_1950, sex_odd=True)
    return nine + str(check_digit(nine))


@pytest.fixture
def chi_female():
    nine, _ = first_serial(dt.date(1987, 11, 23), sex_odd=False)
    return nine + str(check_digit(nine))


def test_valid_chi_numbers_built_from_the_rule(chi_male, chi_female):
    assert chi_male.startswith("0")
    assert validate_chi([chi_male, chi_female]).tolist() == [True, True]
    assert chi_sex([chi_male, chi_female]).tolist() == ["M", "F"]


def test_many_random_chi_numbers_agree_with_the_rule():
    rng = np.random.default_rng(7)
    dates = [dt.date(1920, 1, 1) + dt.timedelta(days=int(d)) for d in rng.integers(0, 36000, 400)]
    numbers = [make_chi(d, int(s)) for d, s in zip(dates, rng.integers(0, 1000, 400))]
    numbers = [n for n in numbers if n is not None]
    assert len(numbers) > 300
    assert validate_chi(numbers).all()
    # one wrong final digit is always caught by modulus 11
    wrong = [n[:9] + str((int(n[9]) + 1 + k % 8) % 10) for k, n in enumerate(numbers)]
    assert not validate_chi(wrong).any()


def test_check_digit_10_is_invalid():
    nine, _ = first_serial(dt.date(1975, 6, 14), sex_odd=True, need_check_10=True)
    assert check_digit(nine) is None
    candidates = [nine + str(d) for d in range(10)]  # no final digit can make it valid
    assert not validate_chi(candidates).any()
    assert set(chi_status(candidates)) == {CHECK_DIGIT_10}
    assert set(nhs_status(candidates)) == {CHECK_DIGIT_10}


def test_bad_dates_are_invalid_even_with_the_right_check_digit():
    bad = []
    for ddmmyy in ("310488", "290201", "000190", "011390", "321289"):  # 31 Apr, 29 Feb 2001, day 0, month 13, day 32
        for serial in range(100):
            nine = ddmmyy + f"{serial:03d}"
            if check_digit(nine) is not None:
                bad.append(nine + str(check_digit(nine)))
                break
    assert len(bad) == 5
    assert chi_status(bad).tolist() == [BAD_DATE] * 5
    assert validate_nhs(bad).all()  # an NHS number has no date: the same digits pass there


def test_29_february_in_a_leap_year_is_a_date():
    chi = make_chi(dt.date(1996, 2, 29), 10) or make_chi(dt.date(1996, 2, 29), 12)
    assert validate_chi([chi]).tolist() == [True]
    y2000 = make_chi(dt.date(2000, 2, 29), 10) or make_chi(dt.date(2000, 2, 29), 12)
    assert validate_chi([y2000]).tolist() == [True]  # '00' may be 2000, a leap year


def test_spaces_and_dashes_are_accepted(chi_male):
    spaced = f"{chi_male[:6]} {chi_male[6:]}"
    dashed = f"{chi_male[:3]}-{chi_male[3:6]}-{chi_male[6:]}"
    assert validate_chi([spaced, dashed, f"  {chi_male}\t"]).all()
    assert validate_nhs(["943 476 5919", "943-476-5919", "9434765919"]).all()  # NHS Digital's example


def test_lost_leading_zero_is_reported_as_damage(chi_male):
    as_number = int(chi_male)  # what a spreadsheet or pandas makes of it
    as_float = float(chi_male)
    assert len(str(as_number)) == 9
    status = chi_status([as_number, as_float, str(as_number), pd.NA])
    assert status.tolist() == [LOST_LEADING_ZERO, LOST_LEADING_ZERO, LOST_LEADING_ZERO, BLANK]
    assert not validate_chi([as_number, as_float]).any()
    series = pd.Series([as_float, np.nan])  # the column as pandas reads it
    assert chi_status(series).tolist() == [LOST_LEADING_ZERO, BLANK]


def test_whole_numbers_with_ten_digits_lost_nothing(chi_female):
    assert validate_chi([int(chi_female), float(chi_female), chi_female + ".0"]).all()
    assert validate_nhs(np.array([9434765919.0, np.nan])).tolist() == [True, False]
    assert validate_nhs(pd.Series([9434765919, None], dtype="Int64")).tolist() == [True, False]


def test_other_invalid_values():
    values = ["9434765918", "", "   ", None, np.nan, "94347659", "943476591900", "ABC1234567", "1.23457E+09",
              9434765919.5, True, "٩٤٣٤٧٦٥٩١٩"]
    status = nhs_status(values).tolist()
    assert status == [BAD_CHECK_DIGIT, BLANK, BLANK, BLANK, BLANK, WRONG_LENGTH, WRONG_LENGTH, NOT_DIGITS,
                      NOT_DIGITS, NOT_DIGITS, NOT_DIGITS, NOT_DIGITS]
    assert not validate_nhs(values).any()
    assert chi_sex(values).tolist() == [""] * len(values)


def test_empty_input():
    assert validate_chi([]).shape == (0,)
    assert validate_nhs(pd.Series([], dtype=object)).shape == (0,)


def test_valid_status_is_the_only_true_one(chi_male):
    assert chi_status([chi_male]).tolist() == [VALID]
