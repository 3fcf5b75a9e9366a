"""Personal identifiers in council records: CHI and NHS numbers, and keyed pseudonyms.

Two national patient identifiers turn up in social-care and health extracts:

- **CHI number** (Community Health Index, Scotland): 10 digits ``DDMMYYSSSC``.  The first six are
  the date of birth (DDMMYY, a real calendar date), the 9th digit gives the sex (odd: male,
  even: female) and the 10th is a modulus-11 check digit.
- **NHS number** (England, Wales, Isle of Man): 10 digits, the 10th a modulus-11 check digit.

The check digit of both: multiply digits 1..9 by the weights 10, 9, ..., 2, add the products,
take the remainder modulo 11 and subtract it from 11.  A result of 11 means check digit 0; a
result of 10 means the number is never issued, so any number that would need it is invalid.

Identifiers must be kept as text.  A CHI number read as a number loses its leading zero (a
person born on the 1st to the 9th of a month: ``0101501234`` becomes ``101501234``), so a
9-digit value in a CHI column is damage done by a spreadsheet or a CSV reader, not a valid
number; it is reported (status ``'lost_leading_zero'``), never silently accepted.  Whole numbers
of 10 digits (``9434765919`` or ``9434765919.0``) lost nothing and are read as their digits.

Pseudonyms are a keyed hash (HMAC-SHA256) of the normalised identifier, with a per-user secret
key kept in the user's configuration folder (``user_pseudonym_key``), never in a project.  An
unkeyed hash (plain SHA-256 of the number) would not protect anyone: there are only 10^10
ten-digit numbers, and far fewer valid CHI numbers (about 36,500 dates x 1,000 serials), so
hashing all of them takes seconds and reverses every such "pseudonym".  Without the key that
search is impossible; with the same key the same person gets the same token in every import,
so records can still be linked.

Everything here is vectorised over numpy/pandas arrays and never logs or reports raw values.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import re
import secrets
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

import numpy as np

from gis_desk.errors import DataError, ReaderError, WriterError

log = logging.getLogger(__name__)

WEIGHTS = np.arange(10, 1, -1, dtype=np.int64)  # 10, 9, ..., 2 for digits 1..9
PSEUDONYM_PREFIX = "p_"
PSEUDONYM_HEX_CHARS = 16  # 64 bits: ~3e-8 chance of any collision among a million people
KEY_FILE_NAME = "pseudonym.key"
KEY_BYTES = 32
DETECTION_SHARE = 0.8  # share of non-blank values that must be valid to call a column CHI/NHS
DETECTION_SAMPLE = 20_000

# Status codes, per value.  'valid' is the only good one.
VALID = "valid"
BLANK = "blank"
NOT_DIGITS = "not_digits"  # letters, '1.23457E+09', a fraction...
WRONG_LENGTH = "wrong_length"  # digits, but not 10 (nor 9 from a lost leading zero)
LOST_LEADING_ZERO = "lost_leading_zero"  # 9 digits: read as a number somewhere on the way
BAD_DATE = "bad_date"  # CHI only: DDMMYY is not a calendar date
BAD_CHECK_DIGIT = "bad_check_digit"
CHECK_DIGIT_10 = "check_digit_10"  # the weighted sum needs check digit 10: never issued
STATUSES = (VALID, BLANK, NOT_DIGITS, WRONG_LENGTH, LOST_LEADING_ZERO, BAD_DATE, BAD_CHECK_DIGIT,
            CHECK_DIGIT_10)

_SEPARATORS = re.compile(r"[\s\-\u00a0\u2010-\u2015]+")  # spaces, dashes, NBSP, unicode dashes
_WHOLE_FLOAT_TEXT = re.compile(r"^(\d+)\.0*$")  # '9434765919.0' as pandas writes a float column


# --- normalising ---------------------------------------------------------------------------


def _as_array(values: Iterable[Any]) -> np.ndarray:
    """Any sequence, numpy array or pandas Series as a 1-D numpy array: numeric columns keep
    their dtype (NaN for missing), everything else becomes an object array."""
    if hasattr(values, "to_numpy"):
        kind = getattr(getattr(values, "dtype", None), "kind", "O")
        if kind in "iuf" and not getattr(values, "hasnans", False) or kind == "f":
            values = values.to_numpy()
        else:  # nullable ints with <NA>, strings, objects
            values = values.to_numpy(dtype=object, na_value=None)
    # a plain list keeps each value's own type (numpy would turn [9434765919.0, 'x'] into text)
    arr = values if isinstance(values, np.ndarray) else np.asarray(values, dtype=object)
    if arr.dtype.kind not in "iuf":
        arr = arr.astype(object)
    return arr.reshape(-1) if arr.ndim != 1 else arr


def _as_object_array(values: Iterable[Any]) -> np.ndarray:
    arr = _as_array(values)
    return arr if arr.dtype == object else arr.astype(object)


def normalise_identifiers(values: Iterable[Any]) -> tuple[np.ndarray, np.ndarray]:
    """The digits of each value and a first status, before any check digit or date test.

    Accepts text with spaces or dashes ('943 476 5919', '943-476-5919'), whole numbers (int, or
    float with no fraction, as pandas reads a numeric column) and text of a whole float
    ('9434765919.0').  Returns ``(digits, status)``: ``digits`` a str array holding the
    digit string ('' when blank or not digits) and ``status`` one of ``'ok'`` (10 digits),
    ``BLANK``, ``NOT_DIGITS``, ``WRONG_LENGTH`` or ``LOST_LEADING_ZERO`` (9 digits).
    """
    raw = _as_array(values)
    n = len(raw)
    if raw.dtype.kind in "iuf":  # a numeric column: no per-value type test needed
        blank = np.isnan(raw) if raw.dtype.kind == "f" else np.zeros(n, dtype=bool)
        is_str = np.zeros(n, dtype=bool)
        is_number = ~blank
    else:
        blank = np.asarray(_isna(raw), dtype=bool).copy()
        is_str = np.fromiter((isinstance(v, str) for v in raw), dtype=bool, count=n)
        is_number = ~blank & ~is_str
        others = np.flatnonzero(is_number)
        is_number[others] = np.fromiter(
            (isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool)
             for v in raw[others]), dtype=bool, count=len(others))
    not_digits = ~blank & ~is_str & ~is_number  # dates, booleans, other objects
    parts: list[tuple[np.ndarray, np.ndarray]] = []  # (row positions, text) from each source
    if is_number.any():
        where = np.flatnonzero(is_number)
        numbers = raw[where].astype(float)
        whole = np.isfinite(numbers) & (numbers == np.round(numbers)) & (numbers >= 0) & (numbers < 1e15)
        parts.append((where[whole], numbers[whole].astype(np.int64).astype(str)))
        not_digits[where[~whole]] = True
    if is_str.any():
        where = np.flatnonzero(is_str)
        strings = raw[where].astype(str)
        dirty = np.flatnonzero(~_ascii_digits(strings))  # clean text is the usual case
        if len(dirty):
            cleaned = np.array([_WHOLE_FLOAT_TEXT.sub(r"\1", _SEPARATORS.sub("", s)) for s in strings[dirty]],
                               dtype=str)
            width = max(strings.dtype.itemsize, cleaned.dtype.itemsize) // 4
            strings = strings.astype(f"<U{max(width, 1)}")
            strings[dirty] = cleaned
        parts.append((where, strings))
        blank[where[strings == ""]] = True
    width = max([1] + [p.dtype.itemsize // 4 for _, p in parts])
    digits = np.full(n, "", dtype=f"<U{width}")
    for where, part in parts:
        digits[where] = part
    digits[blank | not_digits] = ""
    all_digits = _ascii_digits(digits)  # False for ''
    not_digits |= ~blank & ~all_digits
    lengths = np.strings.str_len(digits)
    status = np.full(n, "ok", dtype="<U17")
    status[all_digits & (lengths == 9)] = LOST_LEADING_ZERO
    status[all_digits & (lengths != 9) & (lengths != 10)] = WRONG_LENGTH
    status[not_digits] = NOT_DIGITS
    status[blank] = BLANK
    digits[(status == BLANK) | (status == NOT_DIGITS)] = ""
    return digits, status


def _ascii_digits(strings: np.ndarray) -> np.ndarray:
    """True where a str array element is non-empty and only '0'-'9' (not other scripts' digits)."""
    if strings.dtype.itemsize == 0 or len(strings) == 0:
        return np.zeros(len(strings), dtype=bool)
    codes = strings.view(np.uint32).reshape(len(strings), -1)
    return np.strings.isdigit(strings) & (codes < 128).all(axis=1)


def _isna(values: np.ndarray) -> np.ndarray:
    import pandas as pd

    return pd.isna(values)


def _digit_matrix(digits: np.ndarray, usable: np.ndarray) -> np.ndarray:
    """(n, 10) int matrix of the digits of 10-digit strings; zeros for rows not ``usable``."""
    if digits.dtype.itemsize < 40:  # narrower than 10 characters: nothing is usable
        return np.zeros((len(digits), 10), dtype=np.int64)
    codes = np.ascontiguousarray(digits).view(np.uint32).reshape(len(digits), -1)[:, :10]
    return np.where(usable[:, None], codes.astype(np.int64) - ord("0"), 0)


def _check_status(matrix: np.ndarray) -> np.ndarray:
    """Modulus-11 verdict per row: VALID, BAD_CHECK_DIGIT or CHECK_DIGIT_10."""
    expected = 11 - (matrix[:, :9] @ WEIGHTS) % 11
    expected[expected == 11] = 0
    status = np.where(expected == matrix[:, 9], VALID, BAD_CHECK_DIGIT).astype("<U17")
    status[expected == 10] = CHECK_DIGIT_10
    return status


def _valid_date(matrix: np.ndarray) -> np.ndarray:
    """DDMMYY is a calendar date in 19YY or 20YY (29 February needs a leap year in either)."""
    day = matrix[:, 0] * 10 + matrix[:, 1]
    month = matrix[:, 2] * 10 + matrix[:, 3]
    year = matrix[:, 4] * 10 + matrix[:, 5]
    month_days = np.array([0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31])
    month_ok = (month >= 1) & (month <= 12)
    days = month_days[np.where(month_ok, month, 0)]
    days = np.where((month == 2) & (year % 4 != 0), 28, days)  # 00 counts: 2000 was a leap year
    return month_ok & (day >= 1) & (day <= days)


def nhs_status(values: Iterable[Any]) -> np.ndarray:
    """Per value, why it is or is not a valid NHS number: one of ``STATUSES`` (no ``BAD_DATE``)."""
    digits, status = normalise_identifiers(values)
    ok = status == "ok"
    status[ok] = _check_status(_digit_matrix(digits, ok))[ok]
    return status


def chi_status(values: Iterable[Any]) -> np.ndarray:
    """Per value, why it is or is not a valid CHI number: one of ``STATUSES``.

    The date is tested before the check digit, so a value with both wrong reads ``BAD_DATE``.
    9-digit values read ``LOST_LEADING_ZERO``: damaged, see the module docstring.
    """
    digits, status = normalise_identifiers(values)
    ok = status == "ok"
    matrix = _digit_matrix(digits, ok)
    verdict = np.where(_valid_date(matrix), _check_status(matrix), BAD_DATE)
    status[ok] = verdict[ok]
    return status


def validate_nhs(values: Iterable[Any]) -> np.ndarray:
    """Boolean array: True where the value is a valid NHS number (10 digits, modulus 11).

    Text may hold spaces or dashes ('943 476 5919'); blanks, 9-digit values and anything
    else are False.  Use ``nhs_status`` to know why a value failed.
    """
    return nhs_status(values) == VALID


def validate_chi(values: Iterable[Any]) -> np.ndarray:
    """Boolean array: True where the value is a valid CHI number.

    Valid: 10 digits (spaces/dashes allowed in text), DDMMYY a calendar date, modulus-11 check
    digit right (a number needing check digit 10 is never issued, so invalid).  A CHI number
    read as a number loses its leading zero; such 9-digit values are False (``chi_status``
    says ``'lost_leading_zero'``) because the file was damaged on the way.
    """
    return chi_status(values) == VALID


def chi_sex(values: Iterable[Any]) -> np.ndarray:
    """'M' (9th digit odd) or 'F' (even) for each valid CHI number, '' for any other value."""
    digits, _ = normalise_identifiers(values)
    valid = validate_chi(values)
    matrix = _digit_matrix(digits, valid)
    sex = np.where(matrix[:, 8] % 2 == 1, "M", "F").astype("<U1")
    sex[~valid] = ""
    return sex


# --- finding identifier and personal columns -------------------------------------------------


def _name_tokens(name: Any) -> list[str]:
    """'NHS_Number' -> ['nhs', 'number']; 'dateOfBirth' -> ['date', 'of', 'birth']."""
    text = re.sub(r"([a-z])([A-Z])", r"\1 \2", str(name))
    return [t for t in re.split(r"[^a-z0-9]+", text.lower()) if t]


def _identifier_kind_by_name(name: Any) -> str | None:
    tokens = _name_tokens(name)
    joined = "".join(tokens)
    if "chi" in tokens or joined.startswith(("chinumber", "chino")) or "communityhealthindex" in joined:
        return "chi"
    if "nhs" in tokens or joined.startswith(("nhsnumber", "nhsno", "nhsnum")):
        return "nhs"
    return None


def _sample(column) -> np.ndarray:
    values = _as_object_array(column)
    if len(values) > DETECTION_SAMPLE:  # evenly spaced, so the answer never varies between runs
        values = values[np.linspace(0, len(values) - 1, DETECTION_SAMPLE).astype(int)]
    return values


def _identifier_kind_by_content(column) -> str | None:
    """'chi' or 'nhs' when at least ``DETECTION_SHARE`` of the non-blank values are valid.

    For CHI, 9-digit values whose restored leading zero makes a valid CHI count as evidence: a
    CHI column read as numbers has lost the zero of about a third of its values.
    """
    values = _sample(column)
    digits, status = normalise_identifiers(values)
    present = int((status != BLANK).sum())
    if present == 0:
        return None
    chi = chi_status(values) == VALID
    damaged = status == LOST_LEADING_ZERO
    if damaged.any():
        chi[damaged] = validate_chi(np.char.add("0", digits[damaged]))
    if chi.sum() >= DETECTION_SHARE * present:
        return "chi"
    if (nhs_status(values) == VALID).sum() >= DETECTION_SHARE * present:
        return "nhs"
    return None


def detect_identifier_columns(frame) -> dict[str, str]:
    """Columns of ``frame`` (a DataFrame) that hold CHI or NHS numbers: ``{column: 'chi'|'nhs'}``.

    A column qualifies by its name ('CHI', 'chi_number', 'NHS No', 'nhsNumber'...) or by its
    content (at least 80% of non-blank values valid; a sample of 20,000 evenly spaced rows is
    tested in long tables).  Content decides between the two when it is clear: English NHS
    numbers never have a valid CHI date, while every valid CHI number also passes the NHS
    check, so CHI is tested first.  A named column is reported even when its values are
    damaged, so the damage shows in the report.  Geometry columns are skipped.
    """
    geometry = getattr(getattr(frame, "geometry", None), "name", None)
    found: dict[str, str] = {}
    for column in frame.columns:
        if column == geometry:
            continue
        series = frame[column]
        if series.dtype.kind in "bMmc" or str(series.dtype) == "category":
            continue  # booleans, dates, durations, categories
        by_content = _identifier_kind_by_content(series)
        kind = by_content or _identifier_kind_by_name(column)
        if kind:
            found[str(column)] = kind
    return found


_NAME_WORDS = {"forename", "forenames", "firstname", "surname", "surnames", "lastname", "givenname",
               "givennames", "familyname", "fullname", "middlename", "middlenames", "maidenname",
               "initials", "nickname"}
_NAME_OWNERS = {"client", "patient", "person", "resident", "tenant", "customer", "applicant", "user",
                "contact", "carer", "first", "last", "given", "family", "full", "middle", "maiden",
                "preferred", "sur", "fore", "child", "parent", "mother", "father", "guardian", "occupier"}
_ADDRESS_WORDS = {"address", "addr", "street", "flat", "housenumber", "houseno", "buildingname"}
_CONTACT_WORDS = {"email", "phone", "telephone", "tel", "mobile", "phonenumber"}


def _is_personal_name(name: Any) -> bool:
    tokens = _name_tokens(name)
    joined = "".join(tokens)
    if not tokens:
        return False
    if tokens == ["name"] or joined in _NAME_WORDS or any(t in _NAME_WORDS for t in tokens):
        return True
    return "name" in tokens and tokens.index("name") > 0 and tokens[tokens.index("name") - 1] in _NAME_OWNERS


def _is_birth_date(name: Any) -> bool:
    tokens = _name_tokens(name)
    joined = "".join(tokens)
    return ("dob" in tokens or "birth" in tokens or joined in ("dob", "birthdate", "dateofbirth", "birthday")
            or joined.startswith("dateofbirth"))


def _is_address(name: Any) -> bool:
    tokens = _name_tokens(name)
    joined = "".join(tokens)
    if "postcode" in joined or "uprn" in tokens:  # the user decides on postcodes; UPRNs are the join key
        return False
    return (any(t.startswith(("address", "addr")) for t in tokens) or "street" in tokens
            or joined in _ADDRESS_WORDS or any(t in _CONTACT_WORDS for t in tokens))


def suggest_personal_columns(frame) -> list[str]:
    """Names of columns that look like names, dates of birth, addresses or contact details,
    judged by column name only ('Forename', 'Client Name', 'DOB', 'date_of_birth',
    'Address Line 1', 'Telephone'...), in frame order.  Suggestions for the import wizard's
    "drop these columns" list; postcodes and UPRNs are left for the user to choose (both are
    needed for mapping), and area names such as 'ward_name' are not suggested.
    """
    return [str(c) for c in frame.columns
            if _is_personal_name(c) or _is_birth_date(c) or _is_address(c)]


# --- pseudonyms ------------------------------------------------------------------------------


def _pseudonym_input(values: Iterable[Any]) -> tuple[np.ndarray, np.ndarray]:
    """(normalised text, blank mask): the digits of number-like values, else the value's text
    without spaces and upper-cased, so '943 476 5919', '9434765919' and 9434765919.0 agree."""
    raw = _as_object_array(values)
    digits, status = normalise_identifiers(raw)
    text = digits.astype(object)
    for i in np.flatnonzero(status == NOT_DIGITS):
        text[i] = _SEPARATORS.sub("", str(raw[i])).upper()
    return text, status == BLANK


def pseudonymise(values: Iterable[Any], key: bytes) -> np.ndarray:
    """Keyed pseudonyms of identifiers: 'p_' + the first 16 hex digits of HMAC-SHA256(key, id).

    ``id`` is the normalised identifier (digits without spaces or dashes for numbers, so every
    spelling of one NHS/CHI number gets one token; other text stripped of spaces and
    upper-cased).  The same key always gives the same token, so imports can be linked; another
    key gives unrelated tokens; blanks stay '' (so missing values remain visible).  A CHI
    number damaged to 9 digits gets a token of its 9 digits, not of the true number.

    Why keyed: a plain hash of a 10-digit number is reversed by hashing all 10^10 candidates
    (seconds for valid CHI numbers); without the key (``user_pseudonym_key``) it cannot be.
    Raises ``ValueError`` for an empty or non-bytes key.  Returns an object array of str.
    """
    if not isinstance(key, (bytes, bytearray)) or len(key) < 16:
        raise ValueError("The pseudonymisation key must be at least 16 bytes")
    import pandas as pd

    text, blank = _pseudonym_input(values)
    out = np.full(len(text), "", dtype=object)
    present = np.flatnonzero(~blank)
    codes, distinct = pd.factorize(text[present])  # one hash per person, however many rows
    keyed = hmac.new(bytes(key), digestmod=hashlib.sha256)  # copies skip the key set-up per value

    def token(ident: str) -> str:
        mac = keyed.copy()
        mac.update(ident.encode("utf-8"))
        return PSEUDONYM_PREFIX + mac.hexdigest()[:PSEUDONYM_HEX_CHARS]

    tokens = np.array([token(str(ident)) for ident in distinct], dtype=object)
    if len(present):
        out[present] = tokens[codes]
    return out


def key_fingerprint(key: bytes) -> str:
    """A short public label of a key (8 hex digits of HMAC(key, 'fingerprint')) to record which
    key made a project's pseudonyms without revealing the key."""
    return hmac.new(bytes(key), b"gis-desk pseudonym key fingerprint", hashlib.sha256).hexdigest()[:8]


def pseudonym_key_path() -> Path:
    """Where the user's key lives: ``gis_desk.settings.config_dir() / 'pseudonym.key'``."""
    from gis_desk.settings import config_dir

    return config_dir() / KEY_FILE_NAME


def _read_key(path: Path) -> bytes:
    try:
        text = path.read_text(encoding="ascii").strip()
        key = bytes.fromhex(text)
    except (OSError, ValueError, UnicodeDecodeError) as exc:
        raise ReaderError("The pseudonymisation key file is unreadable or damaged", path=path,
                          hint="restore it from a backup; deleting it makes a new key, and then new "
                               "imports get pseudonyms that no longer match earlier ones") from exc
    if len(key) != KEY_BYTES:
        raise ReaderError(f"The pseudonymisation key file holds {len(key)} bytes, not {KEY_BYTES}",
                          path=path, hint="restore it from a backup; deleting it makes a new key, and "
                                          "then new pseudonyms no longer match earlier ones")
    return key


def _restrict_permissions(path: Path) -> None:
    """User read/write only (0600) where the OS has POSIX permissions."""
    if os.name != "posix":
        return
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        log.warning("%s was readable by other users; restricting it to its owner", path)
        os.chmod(path, 0o600)


def user_pseudonym_key() -> bytes:
    """The user's 32-byte pseudonymisation key, created on first use.

    Kept as hex text in ``config_dir()/pseudonym.key`` (``GIS_DESK_CONFIG_DIR`` overrides the
    folder) with user-only permissions (0600 on POSIX), never in a project, so projects,
    caches and exports hold tokens that nobody without this file can reverse.  Created once
    with ``secrets.token_bytes(32)`` and an exclusive create, so two processes starting at
    once agree on one key.  Raises ``ReaderError`` for a damaged key file (never replaced
    silently: a new key would break every earlier pseudonym) and ``WriterError`` when the
    configuration folder is not writable.
    """
    path = pseudonym_key_path()
    if path.exists():
        _restrict_permissions(path)
        return _read_key(path)
    key = secrets.token_bytes(KEY_BYTES)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o600)
    except FileExistsError:  # another process made it first: use theirs
        return _read_key(path)
    except OSError as exc:
        raise WriterError(f"Could not create the pseudonymisation key: {exc.strerror or exc}", path=path,
                          hint="check the configuration folder is writable") from exc
    try:
        with os.fdopen(fd, "w", encoding="ascii") as fh:
            fh.write(key.hex() + "\n")
            fh.flush()
            os.fsync(fh.fileno())
    except OSError as exc:
        path.unlink(missing_ok=True)
        raise WriterError(f"Could not write the pseudonymisation key: {exc.strerror or exc}", path=path,
                          hint="check the disk is not full") from exc
    _restrict_permissions(path)
    log.info("Created a new pseudonymisation key in %s", path)
    return key


# --- reports ---------------------------------------------------------------------------------


@dataclass
class IdentifierColumnReport:
    """Counts for one identifier column; ``invalid_rows`` are 0-based row positions (blanks are
    counted apart and are not invalid).  Holds no identifier values."""

    column: str
    kind: str  # 'chi' | 'nhs'
    total: int
    valid: int
    blank: int
    invalid: int
    status_counts: dict[str, int]
    invalid_rows: list[int] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"column": self.column, "kind": self.kind, "total": self.total, "valid": self.valid,
                "blank": self.blank, "invalid": self.invalid, "status_counts": dict(self.status_counts),
                "invalid_rows": list(self.invalid_rows)}


@dataclass
class IdentifierReport:
    """Validation of every identifier column of an import, for its match report."""

    columns: list[IdentifierColumnReport] = field(default_factory=list)

    def __getitem__(self, column: str) -> IdentifierColumnReport:
        for report in self.columns:
            if report.column == column:
                return report
        raise KeyError(column)

    @property
    def invalid_total(self) -> int:
        return sum(c.invalid for c in self.columns)

    def to_dict(self) -> dict[str, Any]:
        return {"columns": [c.to_dict() for c in self.columns], "invalid_total": self.invalid_total}

    def summary(self) -> str:
        """One line per column, e.g. 'CHI (CHI numbers): 980 valid, 15 invalid, 5 blank; 9 lost
        leading zero, 6 bad check digit'."""
        lines = []
        for c in self.columns:
            problems = [f"{n} {s.replace('_', ' ')}" for s, n in c.status_counts.items()
                        if n and s not in (VALID, BLANK)]
            line = f"{c.column} ({c.kind.upper()} numbers): {c.valid} valid, {c.invalid} invalid, {c.blank} blank"
            lines.append(line + (f"; {', '.join(problems)}" if problems else ""))
        return "\n".join(lines)


def identifier_report(frame, columns: dict[str, str] | None = None) -> IdentifierReport:
    """Validate the identifier columns of ``frame``: ``columns`` maps column -> 'chi'|'nhs'
    (default: ``detect_identifier_columns(frame)``).  Raises ``DataError`` for a column the
    frame lacks or an unknown kind."""
    columns = detect_identifier_columns(frame) if columns is None else columns
    reports = []
    for column, kind in columns.items():
        if column not in frame.columns:
            raise DataError(f"There is no column {column!r} to check for identifiers",
                            hint=f"columns are: {', '.join(map(str, frame.columns))}")
        if kind not in ("chi", "nhs"):
            raise DataError(f"Unknown identifier kind {kind!r} for column {column!r}", hint="use 'chi' or 'nhs'")
        status = chi_status(frame[column]) if kind == "chi" else nhs_status(frame[column])
        names, counts = np.unique(status, return_counts=True)
        status_counts = {s: 0 for s in STATUSES if kind == "chi" or s != BAD_DATE}
        status_counts.update({str(s): int(n) for s, n in zip(names, counts)})
        invalid = (status != VALID) & (status != BLANK)
        reports.append(IdentifierColumnReport(
            column=str(column), kind=kind, total=len(status), valid=status_counts[VALID],
            blank=status_counts[BLANK], invalid=int(invalid.sum()),
            status_counts=status_counts, invalid_rows=np.flatnonzero(invalid).tolist()))
    return IdentifierReport(reports)
