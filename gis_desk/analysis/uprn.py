"""UPRN validation: whole numbers 1..999,999,999,999, with spreadsheet damage undone where lossless.

A Unique Property Reference Number (UPRN) is a whole number of up to 12 digits.  Files that
passed through a spreadsheet or through pandas often carry it damaged; ``parse_uprns`` reads
any column (text, integers, floats, or a mix as read from XLSX) and gives, for every value:

- ``uprn``: the exact UPRN as int64, 0 where the value is not a valid UPRN;
- ``status``: one code of ``STATUSES``:

  ``'ok'``            a plain whole number in range (``100012345678``, ``'100012345678'``,
                      quoted or with an Excel leading apostrophe);
  ``'recovered'``     stored as something else but the exact value is certain: ``'100012345678.0'``,
                      ``'100012345678.00'``, ``'100,012,345,678'``, scientific notation that
                      writes every digit (``'1.00012345678E+11'``), or a float (pandas turns an
                      integer column with blanks into float64) that is integral and exactly
                      representable (below 2**53 for float64, 2**24 for float32);
  ``'blank'``         empty, NaN/None, or a placeholder (``NULL``, ``N/A``, ``-``...);
  ``'text'``          not a whole number (``'ABC'``, ``'12.5'``, ``'1.5E-1'``, booleans);
  ``'out_of_range'``  a whole number below 1 or above 999,999,999,999;
  ``'lossy'``         scientific notation with fewer digits than the number has
                      (``'1.00012E+11'`` could be anything from 100011500000 to 100012499999):
                      the true UPRN cannot be known and the value must never be matched;

- ``duplicate``: True for every row whose valid UPRN occurs more than once in the input.

Everything is vectorised (numpy, and pandas string methods, which run in Arrow's C++ kernels
when pyarrow is installed): a million text values take well under a second.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import numpy as np

UPRN_MIN = 1
UPRN_MAX = 999_999_999_999
UPRN_MAX_DIGITS = 12

OK = "ok"
RECOVERED = "recovered"
BLANK = "blank"
TEXT = "text"
OUT_OF_RANGE = "out_of_range"
LOSSY = "lossy"
STATUSES = (OK, RECOVERED, BLANK, TEXT, OUT_OF_RANGE, LOSSY)
VALID_STATUSES = (OK, RECOVERED)
INVALID_STATUSES = (BLANK, TEXT, OUT_OF_RANGE, LOSSY)
STATUS_DESCRIPTIONS = {
    OK: "valid UPRN",
    RECOVERED: "exact UPRN restored from spreadsheet or float damage",
    BLANK: "no UPRN (blank or placeholder)",
    TEXT: "not a whole number",
    OUT_OF_RANGE: f"whole number outside {UPRN_MIN}..{UPRN_MAX:,}",
    LOSSY: "scientific notation that lost digits (e.g. 1.00012E+11): exact UPRN unknown",
}

_STATUS_DTYPE = "<U12"
# Placeholders people type (or software writes) for "no value"; compared in lower case.
BLANK_TOKENS = ("", "nan", "none", "null", "n/a", "na", "#n/a", "-", "--", "nil", "<na>", "nat")
# Characters trimmed from both ends of text: whitespace (with no-break space), CSV quotes, and
# the apostrophe Excel uses to force a cell to text.
_TRIM = " \t\r\n\u00a0\"'"

_DIGITS = r"\+?\d+"
_NEGATIVE = r"-\d+"
_ZERO_DECIMAL = r"\+?\d+\.0*"
_THOUSANDS = r"\+?\d{1,3}(?:,\d{3})+(?:\.0*)?"
_SCIENTIFIC = re.compile(r"^\+?(\d*)(?:\.(\d*))?[eE]([+-]?\d+)$")


@dataclass
class UprnParse:
    """The result of ``parse_uprns``: three arrays of the input's length (see module docstring)."""

    uprn: np.ndarray  # int64, 0 where invalid
    status: np.ndarray  # str codes from STATUSES
    duplicate: np.ndarray  # bool

    def __len__(self) -> int:
        return len(self.uprn)

    @property
    def valid(self) -> np.ndarray:
        """Bool mask of rows with a usable UPRN ('ok' or 'recovered')."""
        return (self.status == OK) | (self.status == RECOVERED)

    def counts(self) -> dict[str, int]:
        """Rows per status code, every code present (zeros included)."""
        codes, n = np.unique(self.status, return_counts=True)
        found = dict(zip(codes.tolist(), n.tolist()))
        return {code: int(found.get(code, 0)) for code in STATUSES}

    @property
    def duplicate_rows(self) -> int:
        """Rows whose valid UPRN occurs more than once."""
        return int(self.duplicate.sum())

    @property
    def duplicate_uprns(self) -> int:
        """Distinct valid UPRNs that occur more than once."""
        return int(len(np.unique(self.uprn[self.duplicate])))


def parse_uprns(values: Any) -> UprnParse:
    """Validate a column of UPRNs and undo spreadsheet damage where that is lossless.

    ``values``: a pandas Series, numpy array, Index or any sequence (text, ints, floats, None,
    or a mix).  Returns ``UprnParse`` with ``uprn`` (int64, 0 where invalid), ``status`` (codes
    of ``STATUSES``) and ``duplicate`` (bool), in input order.  Never raises for bad values:
    they get a status.
    """
    import pandas as pd

    series = values.reset_index(drop=True) if isinstance(values, pd.Series) else pd.Series(values)
    n = len(series)
    uprn = np.zeros(n, dtype=np.int64)
    status = np.full(n, TEXT, dtype=_STATUS_DTYPE)
    if n:
        _parse_any(series, np.arange(n), uprn, status)
    uprn[(status != OK) & (status != RECOVERED)] = 0
    return UprnParse(uprn=uprn, status=status, duplicate=_duplicates(uprn, status))


def uprn_likeness(values: Any, sample: int = 2000) -> float:
    """Share (0..1) of the non-blank values that are valid UPRNs, for finding the UPRN column.

    Looks at up to ``sample`` non-blank values.  Text with a leading zero ('0161...', phone
    numbers) does not count: a UPRN is never written with one.  0.0 for an empty column.
    """
    import pandas as pd

    series = values.reset_index(drop=True) if isinstance(values, pd.Series) else pd.Series(values)
    parsed = parse_uprns(series)
    keep = np.flatnonzero(parsed.status != BLANK)[:sample]
    if not len(keep):
        return 0.0
    good = parsed.valid[keep]
    head = series.iloc[keep]
    if head.dtype == object or pd.api.types.is_string_dtype(head.dtype):
        good &= ~head.astype(str).str.strip(_TRIM).str.match(r"0\d").to_numpy(dtype=bool)
    return float(good.mean())


# --- dispatch by kind of value ---------------------------------------------------------------


def _parse_any(series, rows: np.ndarray, uprn: np.ndarray, status: np.ndarray) -> None:
    """Fill ``uprn``/``status`` at positions ``rows`` from ``series`` (aligned with ``rows``)."""
    import pandas as pd

    dtype = series.dtype
    if pd.api.types.is_bool_dtype(dtype):
        status[rows] = TEXT
    elif pd.api.types.is_integer_dtype(dtype):
        missing = series.isna().to_numpy(dtype=bool)
        status[rows[missing]] = BLANK
        if pd.api.types.is_unsigned_integer_dtype(dtype):
            ints = series[~missing].to_numpy(dtype=np.uint64)
            big = ints > UPRN_MAX
            ints = np.where(big, 0, ints).astype(np.int64)
        else:
            ints = series[~missing].to_numpy(dtype=np.int64)
            big = ints > UPRN_MAX
        _set_ints(rows[~missing], ints, OK, uprn, status, out_of_range=big)
    elif pd.api.types.is_float_dtype(dtype):
        _parse_floats(series.to_numpy(dtype=_float_dtype(dtype), na_value=np.nan), rows, uprn, status)
    elif dtype == object:
        _parse_objects(series.to_numpy(dtype=object), rows, uprn, status)
    else:  # str / string / categorical and anything else: read its text
        _parse_text(series.astype("str"), rows, uprn, status)


def _float_dtype(dtype) -> np.dtype:
    numpy_dtype = getattr(dtype, "numpy_dtype", dtype)  # nullable Float32/Float64
    return np.dtype(numpy_dtype) if np.dtype(numpy_dtype).itemsize <= 8 else np.dtype(np.float64)


def _set_ints(rows, ints, ok_status, uprn, status, out_of_range=None) -> None:
    """Whole numbers: ``ok_status`` in range, 'out_of_range' otherwise."""
    bad = (ints < UPRN_MIN) | (ints > UPRN_MAX)
    if out_of_range is not None:
        bad |= out_of_range
    uprn[rows] = np.where(bad, 0, ints)
    status[rows] = np.where(bad, OUT_OF_RANGE, ok_status)


def _parse_floats(floats: np.ndarray, rows, uprn, status) -> None:
    """Floats: NaN blank; integral ones 'recovered' while the float holds every digit exactly."""
    exact_below = 2.0 ** (np.finfo(floats.dtype).nmant + 1)
    nan = np.isnan(floats)
    finite = np.isfinite(floats)
    whole = finite & (np.floor(floats) == floats)
    in_range = whole & (floats >= UPRN_MIN) & (floats <= UPRN_MAX)
    exact = in_range & (np.abs(floats) < exact_below)
    codes = np.full(len(floats), TEXT, dtype=_STATUS_DTYPE)
    codes[nan] = BLANK
    codes[(whole & ~in_range) | (~finite & ~nan)] = OUT_OF_RANGE
    codes[in_range & ~exact] = LOSSY
    codes[exact] = RECOVERED
    status[rows] = codes
    uprn[rows] = np.where(exact, floats.astype(np.float64), 0).astype(np.int64)


def _parse_objects(objects: np.ndarray, rows, uprn, status) -> None:
    """A mix (as read from XLSX or JSON): split by Python type, each part parsed as its kind."""
    import decimal

    import pandas as pd

    kinds = np.fromiter((_kind_of(v) for v in objects), dtype=np.int8, count=len(objects))
    status[rows[kinds == 0]] = BLANK
    status[rows[kinds == 4]] = TEXT
    ints = kinds == 1
    if ints.any():
        values = objects[ints]
        big = np.fromiter((abs(int(v)) > UPRN_MAX for v in values), dtype=bool, count=len(values))
        safe = np.array([0 if b else int(v) for v, b in zip(values, big)], dtype=np.int64)
        _set_ints(rows[ints], safe, OK, uprn, status, out_of_range=big)
    floats = kinds == 2
    if floats.any():
        _parse_floats(objects[floats].astype(np.float64), rows[floats], uprn, status)
    texts = kinds == 3
    if texts.any():
        text = [str(v) if isinstance(v, (str, decimal.Decimal)) else v for v in objects[texts]]
        _parse_text(pd.Series(text, dtype="str"), rows[texts], uprn, status)


def _kind_of(value: Any) -> int:
    """0 blank, 1 integer, 2 float, 3 text (str or Decimal), 4 anything else (bool, dates...)."""
    import decimal
    import numbers

    if value is None:
        return 0
    if isinstance(value, (bool, np.bool_)):
        return 4
    if isinstance(value, numbers.Integral):
        return 1
    if isinstance(value, float | np.floating):
        return 0 if value != value else 2
    if isinstance(value, (str, decimal.Decimal)):
        return 3
    try:
        import pandas as pd

        if value is pd.NA or value is pd.NaT:
            return 0
    except ImportError:  # pandas is a dependency; keep the classifier total anyway
        pass
    return 4


# --- text ------------------------------------------------------------------------------------


def _parse_text(text, rows: np.ndarray, uprn: np.ndarray, status: np.ndarray) -> None:
    """Text values (a pandas string Series aligned with ``rows``)."""
    clean = text.fillna("").str.strip(_TRIM)
    blank = clean.str.lower().isin(BLANK_TOKENS).to_numpy(dtype=bool)
    status[rows[blank]] = BLANK
    # The common case first: plain digits (one Arrow kernel for the whole column).
    digits = clean.str.fullmatch(_DIGITS).to_numpy(dtype=bool) & ~blank
    if digits.any():
        _set_digit_strings(clean[digits].str.lstrip("+"), rows[digits], OK, uprn, status)
    rest = np.flatnonzero(~digits & ~blank)
    if len(rest):
        _parse_damaged_text(clean.iloc[rest].reset_index(drop=True), rows[rest], uprn, status)


def _set_digit_strings(digits, rows, ok_status, uprn, status) -> None:
    """Strings of 0-9 only: parsed exactly; more than 12 significant digits is out of range."""
    significant = digits.str.lstrip("0")
    too_long = (significant.str.len() > UPRN_MAX_DIGITS).to_numpy(dtype=bool)
    ints = _to_int64(significant.where(~too_long, "0").replace("", "0"))
    _set_ints(rows, ints, ok_status, uprn, status, out_of_range=too_long)


def _to_int64(text) -> np.ndarray:
    """int64 from a Series of digit strings (optionally signed), via Arrow's cast when present."""
    try:
        import pyarrow as pa
        import pyarrow.compute as pc
    except ImportError:
        return text.astype("int64").to_numpy(dtype=np.int64)
    return pc.cast(pa.array(text, type=pa.string()), pa.int64()).to_numpy(zero_copy_only=False)


def _parse_damaged_text(clean, rows, uprn, status) -> None:
    """Everything that is not plain digits: decimals, thousands separators, scientific, junk."""
    status[rows] = TEXT  # unless one of the shapes below matches
    negative = clean.str.fullmatch(_NEGATIVE).to_numpy(dtype=bool)
    status[rows[negative]] = OUT_OF_RANGE
    zero_decimal = clean.str.fullmatch(_ZERO_DECIMAL).to_numpy(dtype=bool)
    if zero_decimal.any():
        whole = clean[zero_decimal].str.replace(r"\..*$", "", regex=True).str.lstrip("+")
        _set_digit_strings(whole, rows[zero_decimal], RECOVERED, uprn, status)
    thousands = clean.str.fullmatch(_THOUSANDS).to_numpy(dtype=bool)
    if thousands.any():
        whole = clean[thousands].str.replace(r"\..*$", "", regex=True).str.replace(",", "").str.lstrip("+")
        _set_digit_strings(whole, rows[thousands], RECOVERED, uprn, status)
    scientific = clean.str.fullmatch(_SCIENTIFIC.pattern[1:-1]).to_numpy(dtype=bool)
    if scientific.any():
        _parse_scientific(clean[scientific], rows[scientific], uprn, status)


def _parse_scientific(text, rows, uprn, status) -> None:
    """'1.00012345678E+11' -> 100012345678 (recovered); '1.00012E+11' -> lossy.

    The value is known exactly only when the mantissa writes at least as many decimals as the
    exponent shifts (``len(fraction) >= exponent``): otherwise the digits beyond the mantissa
    were rounded away by the spreadsheet.  Extra written decimals must then be zeros, or the
    value is not a whole number.
    """
    # One regex replace per group: Arrow runs these in C++, unlike str.extract.
    integer, fraction, exponent_text = (text.str.replace(_SCIENTIFIC.pattern, rf"\{g}", regex=True)
                                        for g in (1, 2, 3))
    exponent = _to_int64(exponent_text.str.lstrip("+"))
    has_digits = ((integer.str.len() + fraction.str.len()) > 0).to_numpy(dtype=bool)  # not 'E5'
    written = fraction.str.len().to_numpy(dtype=np.int64)
    lead = integer.str.lstrip("0").str.len().to_numpy(dtype=np.int64)
    # 14+ digits is out of range however it was rounded; 13 may round down into range (lossy).
    huge = has_digits & (lead > 0) & (lead + exponent > UPRN_MAX_DIGITS + 1)
    status[rows[huge]] = OUT_OF_RANGE
    lossy = has_digits & ~huge & (exponent > written)
    status[rows[lossy]] = LOSSY
    # Trailing zeros of the fraction change nothing; after dropping them the value is whole
    # when no more decimals remain than the exponent shifts.
    kept_fraction = fraction.str.rstrip("0")
    kept = kept_fraction.str.len().to_numpy(dtype=np.int64)
    whole = has_digits & ~huge & ~lossy & (exponent >= kept)
    if not whole.any():
        return
    mantissa = (integer + kept_fraction)[whole].str.lstrip("0")
    zeros = exponent[whole] - kept[whole]  # zeros to append after the mantissa digits
    length = mantissa.str.len().to_numpy(dtype=np.int64)
    too_long = (length > 0) & (length + zeros > UPRN_MAX_DIGITS)
    safe = _to_int64(mantissa.where(~too_long, "0").replace("", "0"))
    scale = np.power(np.int64(10), np.where(too_long, 0, zeros))
    _set_ints(rows[whole], safe * scale, RECOVERED, uprn, status, out_of_range=too_long)


# --- duplicates ------------------------------------------------------------------------------


def _duplicates(uprn: np.ndarray, status: np.ndarray) -> np.ndarray:
    """True for every row whose valid UPRN occurs more than once."""
    import pandas as pd

    valid = (status == OK) | (status == RECOVERED)
    duplicate = np.zeros(len(uprn), dtype=bool)
    if valid.any():
        duplicate[valid] = pd.Series(uprn[valid]).duplicated(keep=False).to_numpy(dtype=bool)
    return duplicate
