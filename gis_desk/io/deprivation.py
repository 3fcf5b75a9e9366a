"""Deprivation indices: read SIMD 2020, IMD 2019 and IoD2025 tables and join them to boundaries.

Three indices are supported, each published for one vintage of small areas:

======== ==================================== ================= ======= ==========================
key      index                                areas             rows    decile from rank
======== ==================================== ================= ======= ==========================
SIMD2020 Scottish Index of Multiple            2011 data zones   6,976   floor((r-1)*10/N)+1
         Deprivation 2020 (v2)                 (S01006506..)
IMD2019  English Index of Multiple Deprivation 2011 LSOAs        32,844  ceil(r*10/N)
IoD2025  English Indices of Deprivation 2025   2021 LSOAs        33,755  ceil(r*10/N)
======== ==================================== ================= ======= ==========================

In all of them rank 1 and decile 1 are the most deprived.  The decile rules were checked against
the published files (each publisher rounds the boundaries between deciles its own way); a table
without a decile column gets deciles from its ranks by that rule.

Tables are recognised from their columns: the layouts of the GOV.UK files ('LSOA code (2011)',
'Index of Multiple Deprivation (IMD) Decile (where 1 is most deprived 10% of LSOAs)'; IoD2025
File 1 with 'LSOA code (2021)'), GIS extracts ('LSOA21CD', 'IMDDecil', 'IMDRank'), the Scottish
Government's SIMD files ('Data_Zone', 'SIMD2020v2_Decile', 'SIMD2020v2_Rank') and tidy CSVs
('lsoa11_code', 'dz11_code', 'IMD_decile', 'IMD_rank').  Whatever the layout, a loaded table has
the columns ``area_code``, ``IMD_rank``, ``IMD_decile`` and ``IMD_quintile`` (deciles 1-2 -> 1,
..., 9-10 -> 5; nullable integers), then every other column with a short name (for SIMD too:
one set of names lets one style serve every index).

Area codes also tell their vintage: English LSOA codes above E01033768 exist only since 2021,
Scottish data zone codes above S01013481 are 2022 data zones and below S01006506 2001 ones.  A
join warns when boundaries and table are of different vintages (e.g. Trafford's own 2021 LSOA
file has 139 areas: two of them, split from one 2011 LSOA, have no row in IMD 2019).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from gis_desk.errors import CorruptFileError, DataError, MissingFileError, ReaderError


@dataclass(frozen=True)
class IndexInfo:
    key: str
    label: str
    geography: str  # 'DZ2011' | 'LSOA2011' | 'LSOA2021'
    country: str
    national_count: int
    decile_rule: str  # 'ceil' (England) or 'floor' (Scotland), see the module docstring


INDEXES: dict[str, IndexInfo] = {
    "SIMD2020": IndexInfo("SIMD2020", "SIMD 2020", "DZ2011", "Scotland", 6976, "floor"),
    "IMD2019": IndexInfo("IMD2019", "IMD 2019", "LSOA2011", "England", 32844, "ceil"),
    "IoD2025": IndexInfo("IoD2025", "IoD2025", "LSOA2021", "England", 33755, "ceil"),
}
GEOGRAPHY_LABELS = {
    "LSOA2011": "2011 LSOAs", "LSOA2021": "2021 LSOAs", "LSOA": "LSOAs (vintage not known)",
    "DZ2001": "2001 data zones", "DZ2011": "2011 data zones", "DZ2022": "2022 data zones",
    "DZ": "data zones (vintage not known)", "WALES": "Welsh LSOAs",
}
INDEX_FIELDS = ("IMD_rank", "IMD_decile", "IMD_quintile")

LAST_LSOA2011_NUMBER = 33768  # E01033768: codes above it were created for the 2021 LSOAs
FIRST_DZ2011_NUMBER, LAST_DZ2011_NUMBER = 6506, 13481  # S01006506..S01013481
CODE_PATTERN = re.compile(r"^[EWS]01\d{6}$")
CODE_SHARE = 0.9  # share of non-blank values that must look like area codes
TABLE_SUFFIXES = {".csv", ".txt", ".xlsx", ".xlsm", ".xls", ".ods"}


# --- names and codes -------------------------------------------------------------------------


def _norm(name: Any) -> str:
    """'LSOA code (2011)' -> 'lsoacode2011'; 'IMD_decile' -> 'imddecile'."""
    return re.sub(r"[^0-9a-z]", "", str(name).lower())


def _normalise_codes(values) -> np.ndarray:
    """Codes as stripped upper-case text; missing values become ''."""
    import pandas as pd

    series = pd.Series(values, dtype=object)
    return series.where(series.notna(), "").astype(str).str.strip().str.upper().to_numpy(dtype=object)


def _geography_from_name(name: Any) -> str | None:
    """The geography a column's name states, e.g. 'LSOA11CD' -> 'LSOA2011', 'DataZone' -> 'DZ'."""
    text = _norm(name)
    if "lsoa" in text:
        rest = text.split("lsoa", 1)[1]
        if re.search(r"(^|\D)(20)?21($|\D)|^21|2021", rest):
            return "LSOA2021"
        if re.search(r"(^|\D)(20)?11($|\D)|^11|2011", rest):
            return "LSOA2011"
        return "LSOA"
    if "datazone" in text or re.match(r"^dz(\d|code|cd|$)", text):
        rest = text.replace("datazone", "dz", 1).split("dz", 1)[1]
        for digits, geography in (("22", "DZ2022"), ("11", "DZ2011"), ("01", "DZ2001")):
            if rest.startswith((digits, "20" + digits)):
                return geography
        return "DZ"
    return None


_CODE_NAMES = ("areacode", "areacd", "code", "geographycode", "geogcode", "featurecode", "zonecode")


def _looks_like_code_name(name: Any) -> bool:
    text = _norm(name)
    return _geography_from_name(name) is not None or text in _CODE_NAMES


def _code_share(column) -> float:
    codes = _normalise_codes(column)
    present = codes[codes != ""]
    if len(present) == 0:
        return 0.0
    sample = present[np.linspace(0, len(present) - 1, min(len(present), 5000)).astype(int)]
    return float(np.mean([bool(CODE_PATTERN.match(c)) for c in sample]))


def find_area_code_column(frame, preferred: str | None = None, what: str = "layer",
                          path: str | None = None) -> str:
    """The column of ``frame`` holding LSOA or data zone codes.

    ``preferred`` wins if it exists.  Otherwise columns named like codes (LSOA11CD, LSOA21CD,
    'LSOA code (2011)', DataZone, DZ2011, dz11_code, area_code...) are preferred over others;
    the column must hold at least 90% values shaped like E01006074 / S01006506 / W01000001.
    Raises ``DataError`` (naming ``path`` and the columns) when there is none.
    """
    columns = [c for c in frame.columns if c != getattr(getattr(frame, "geometry", None), "name", None)]
    if preferred:
        if preferred not in frame.columns:
            raise DataError(f"The {what} has no column {preferred!r}", path=path,
                            hint=f"columns are: {', '.join(map(str, columns))}")
        return preferred
    text_columns = [c for c in columns if frame[c].dtype.kind in "OSU" or str(frame[c].dtype) in ("str", "string")]
    scored = [(c, _code_share(frame[c])) for c in text_columns]
    good = [(c, s) for c, s in scored if s >= CODE_SHARE]
    named = [(c, s) for c, s in good if _looks_like_code_name(c)]
    pick = max(named or good, key=lambda cs: cs[1], default=None)
    if pick is None:
        raise DataError(f"No column of the {what} holds LSOA or data zone codes (like E01006074 or S01006506)",
                        path=path, hint=f"columns are: {', '.join(map(str, columns))}; name the code column")
    return pick[0]


def code_geography(codes) -> dict[str, int]:
    """How many codes fall in each vintage-telling range: 'LSOA2011_or_2021' (E01 up to
    E01033768), 'LSOA2021' (E01 above), 'WALES' (W01), 'DZ2001', 'DZ2011', 'DZ2022' (by S01
    number) and 'other'.  Blank codes are not counted."""
    codes = np.asarray([c for c in _normalise_codes(codes) if c])
    counts = dict.fromkeys(("LSOA2011_or_2021", "LSOA2021", "WALES", "DZ2001", "DZ2011", "DZ2022", "other"), 0)
    if len(codes) == 0:
        return counts
    shaped = np.array([bool(CODE_PATTERN.match(c)) for c in codes])
    counts["other"] = int((~shaped).sum())
    codes = codes[shaped]
    prefix = np.array([c[:3] for c in codes])
    number = np.array([int(c[3:]) for c in codes], dtype=np.int64)
    eng, sco = prefix == "E01", prefix == "S01"
    counts["LSOA2011_or_2021"] = int((eng & (number <= LAST_LSOA2011_NUMBER)).sum())
    counts["LSOA2021"] = int((eng & (number > LAST_LSOA2011_NUMBER)).sum())
    counts["WALES"] = int((prefix == "W01").sum())
    counts["DZ2001"] = int((sco & (number < FIRST_DZ2011_NUMBER)).sum())
    counts["DZ2011"] = int((sco & (number >= FIRST_DZ2011_NUMBER) & (number <= LAST_DZ2011_NUMBER)).sum())
    counts["DZ2022"] = int((sco & (number > LAST_DZ2011_NUMBER)).sum())
    return counts


def infer_geography(codes, column_name: Any = None) -> str | None:
    """The geography of a set of codes: content that can only be one vintage wins ('LSOA2021',
    'DZ2022', 'DZ2001', 'WALES'), then the column's name ('LSOA11CD' -> 'LSOA2011'), then the
    kind alone ('LSOA', 'DZ2011' for data zones all in the 2011 range); None if no codes."""
    counts = code_geography(codes)
    for certain in ("LSOA2021", "DZ2022", "DZ2001", "WALES"):
        if counts[certain]:
            return certain
    named = _geography_from_name(column_name) if column_name is not None else None
    if counts["LSOA2011_or_2021"]:
        return named if named in ("LSOA2011", "LSOA2021") else "LSOA"
    if counts["DZ2011"]:
        return "DZ2011"  # 2022 data zones reuse no 2011 codes, so the range is proof
    return named


# --- tables ----------------------------------------------------------------------------------


@dataclass
class DeprivationTable:
    """A deprivation index table in a common layout (see the module docstring).

    ``frame`` has ``area_code``, ``IMD_rank``, ``IMD_decile``, ``IMD_quintile`` and the other
    columns renamed; ``columns`` maps each original column to its new name; ``notes`` say what
    was derived or looks unusual (e.g. a subset of the national table).
    """

    index: str
    frame: Any  # pandas.DataFrame
    source: str | None = None
    code_column: str = ""
    columns: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    @property
    def info(self) -> IndexInfo:
        return INDEXES[self.index]

    @property
    def label(self) -> str:
        return self.info.label

    def __len__(self) -> int:
        return len(self.frame)


def _read_table_file(path: Path):
    import pandas as pd

    if not path.exists():
        raise MissingFileError("The deprivation table does not exist", path=path,
                               hint="check the path; it may have been moved or renamed")
    suffix = path.suffix.lower()
    if suffix not in TABLE_SUFFIXES:
        raise ReaderError(f"Cannot read {suffix or 'extension-less'} files as a deprivation table", path=path,
                          hint="give the CSV or Excel file as published (.csv, .xlsx, .xls, .ods)")
    try:
        if suffix in (".csv", ".txt"):
            try:
                return pd.read_csv(path, encoding="utf-8-sig", sep=None, engine="python")
            except UnicodeDecodeError:
                return pd.read_csv(path, encoding="cp1252", sep=None, engine="python")
        return _read_workbook(path)
    except ImportError as exc:
        raise ReaderError(f"Reading {suffix} spreadsheets needs a package that is not installed ({exc})",
                          path=path, hint="save the sheet as CSV (or .xlsx with openpyxl installed)") from exc
    except (ValueError, OSError, pd.errors.ParserError) as exc:
        if isinstance(exc, DataError):
            raise
        raise CorruptFileError("The deprivation table is damaged or not a table", path=path,
                               hint="check it opens in a spreadsheet program", details=str(exc)) from exc


def _read_workbook(path: Path):
    """The first sheet with an area code column (GOV.UK files start with a 'Notes' sheet)."""
    import pandas as pd

    sheets = pd.read_excel(path, sheet_name=None)
    for frame in sheets.values():
        try:
            find_area_code_column(frame)
            return frame
        except DataError:
            continue
    raise DataError(f"No sheet of the workbook holds LSOA or data zone codes (sheets: {', '.join(sheets)})",
                    path=path, hint="check this is the deprivation file as published")


_DECILE_NAMES = {"imddecile", "imddecil", "imddec", "imddec0", "simddecile", "decile"}
_RANK_NAMES = {"imdrank", "imdrank0", "simdrank", "rank"}
_SCORE_NAMES = {"imdscore", "simdscore"}


def _role(name: Any) -> str | None:
    """'IMD_decile', 'IMD_rank' or 'IMD_score' when the column holds the overall index."""
    text = _norm(name)
    simd = re.match(r"^simd_?\d{4}(v\d)?_?(rank|decile|score)$", text)
    if simd:
        return "IMD_" + simd.group(2)
    if text in _DECILE_NAMES or text.startswith("indexofmultipledeprivationimddecile"):
        return "IMD_decile"
    if text in _RANK_NAMES or text.startswith("indexofmultipledeprivationimdrank"):
        return "IMD_rank"
    if text in _SCORE_NAMES or text.startswith("indexofmultipledeprivationimdscore"):
        return "IMD_score"
    return None


def _short_name(name: Any) -> str:
    """'Income Rank (where 1 is most deprived)' -> 'Income_Rank'."""
    text = re.sub(r"\(.*?\)", "", str(name)).strip()
    return re.sub(r"[^0-9A-Za-z]+", "_", text).strip("_") or "field"


def _detect_index(frame, code_column: str, geography: str | None, path: str | None) -> str:
    """The index key from the table's geography, then hints in column and file names."""
    if geography == "WALES":
        raise DataError("The table holds Welsh LSOA codes (W01...): the Welsh index (WIMD) is not supported",
                        path=path, hint="use SIMD 2020, IMD 2019 or IoD2025 tables")
    if geography in ("DZ2022", "DZ2001"):
        raise DataError(f"The table holds {GEOGRAPHY_LABELS[geography]}; SIMD 2020 is published for 2011 data zones",
                        path=path, hint="use the SIMD 2020v2 file as published")
    if geography and geography.startswith("DZ"):
        return "SIMD2020"
    if geography == "LSOA2021":
        return "IoD2025"
    if geography == "LSOA2011":
        return "IMD2019"
    hints = " ".join(map(str, frame.columns)) + " " + (Path(path).name if path else "")
    if re.search(r"2025|iod25|\(2024\)", hints, re.IGNORECASE):
        return "IoD2025"
    if re.search(r"2019|imd19", hints, re.IGNORECASE):
        return "IMD2019"
    raise DataError("Cannot tell whether the table is IMD 2019 (2011 LSOAs) or IoD2025 (2021 LSOAs)", path=path,
                    hint=f"the code column {code_column!r} does not say; choose the index explicitly")


def _check_geography(index: str, geography: str | None, path: str | None) -> None:
    expected = INDEXES[index].geography
    if geography in (None, "LSOA") and expected.startswith("LSOA"):
        return
    if geography == "DZ" and expected.startswith("DZ"):
        return
    if geography != expected:
        raise DataError(f"The table holds {GEOGRAPHY_LABELS.get(geography, 'unknown areas')} but "
                        f"{INDEXES[index].label} is published for {GEOGRAPHY_LABELS[expected]}", path=path,
                        hint="choose the index that matches the file, or check it is the right file")


def _deciles_from_ranks(ranks, info: IndexInfo):
    n = info.national_count
    if info.decile_rule == "floor":
        return np.floor((ranks - 1) * 10 / n) + 1
    return np.ceil(ranks * 10 / n)


def _whole_numbers(series, name: str, low: int, high: int, path: str | None):
    import pandas as pd

    numbers = pd.to_numeric(series, errors="coerce")
    bad = series.notna() & (numbers.isna() | (numbers != np.round(numbers)) | (numbers < low) | (numbers > high))
    if bad.any():
        example = series[bad].iloc[0]
        raise DataError(f"Column {name!r} has {int(bad.sum())} value(s) that are not whole numbers from "
                        f"{low} to {high:,} (e.g. {example!r})", path=path,
                        hint="check this is the deprivation file as published")
    return numbers.round().astype("Int64")


def _tidy_numbers(series, name: str):
    """Domain ranks and deciles read as floats (9.0) become nullable integers; others unchanged."""
    import pandas as pd

    if re.search(r"decile|rank|quintile|vigintile|percentile", name, re.IGNORECASE) \
            and pd.api.types.is_float_dtype(series):
        finite = series.dropna()
        if (finite == np.round(finite)).all():
            return series.round().astype("Int64").array
    return series.array


def load_deprivation_table(source, index: str | None = None, code_column: str | None = None) -> DeprivationTable:
    """Read a deprivation table (a CSV/Excel path or a pandas DataFrame) into the common layout.

    ``index`` ('SIMD2020', 'IMD2019', 'IoD2025'; default: detected from the area codes, the
    column names and the file name) and ``code_column`` (default: detected) override detection.
    Raises ``MissingFileError``/``ReaderError``/``CorruptFileError`` for unreadable files and
    ``DataError`` (naming the file) when the table has no area codes, no decile or rank column,
    duplicate codes, deciles outside 1-10, or areas of another vintage than the index.
    """
    import pandas as pd

    path = None
    if isinstance(source, (str, Path)):
        path = str(Path(source).resolve())
        frame = _read_table_file(Path(path))
    else:
        frame = pd.DataFrame(source).copy()
    if index is not None and index not in INDEXES:
        raise DataError(f"Unknown deprivation index {index!r}", hint=f"use one of: {', '.join(INDEXES)}")
    code_column = find_area_code_column(frame, code_column, what="table", path=path)
    codes = _normalise_codes(frame[code_column])
    geography = infer_geography(codes, code_column)
    index = index or _detect_index(frame, code_column, geography, path)
    _check_geography(index, geography, path)
    info = INDEXES[index]

    present = codes != ""
    duplicated = pd.Series(codes[present]).duplicated(keep=False)
    if duplicated.any():
        repeated = sorted(set(pd.Series(codes[present])[duplicated]))
        raise DataError(f"The table has {len(repeated)} area code(s) on more than one row "
                        f"(e.g. {', '.join(repeated[:5])})", path=path,
                        hint="a deprivation table has one row per area; check it was not appended to itself")
    notes: list[str] = []
    named = _geography_from_name(code_column)
    if named in GEOGRAPHY_LABELS and geography in GEOGRAPHY_LABELS and named != geography \
            and named not in ("LSOA", "DZ") and geography not in ("LSOA", "DZ"):
        notes.append(f"column {code_column!r} is named for {GEOGRAPHY_LABELS[named]} but holds codes of "
                     f"{GEOGRAPHY_LABELS[geography]}")
    if (~present).any():
        notes.append(f"{int((~present).sum())} row(s) without an area code were skipped")
        frame, codes = frame[present].reset_index(drop=True), codes[present]

    roles: dict[str, str] = {}
    for column in frame.columns:
        role = _role(column)
        if column != code_column and role and role not in roles.values():
            roles[column] = role
    if "IMD_decile" not in roles.values() and "IMD_rank" not in roles.values():
        raise DataError(f"The table has no decile or rank column of {info.label}", path=path,
                        hint="expected e.g. 'IMD_decile', 'IMD_rank', 'SIMD2020v2_Decile' or "
                             "'Index of Multiple Deprivation (IMD) Decile'")
    out = pd.DataFrame({"area_code": codes})
    names: dict[str, str] = {code_column: "area_code"}
    by_role = {role: column for column, role in roles.items()}
    if "IMD_rank" in by_role:
        out["IMD_rank"] = _whole_numbers(frame[by_role["IMD_rank"]], str(by_role["IMD_rank"]), 1,
                                         info.national_count, path)
        names[by_role["IMD_rank"]] = "IMD_rank"
    if "IMD_decile" in by_role:
        out["IMD_decile"] = _whole_numbers(frame[by_role["IMD_decile"]], str(by_role["IMD_decile"]), 1, 10, path)
        names[by_role["IMD_decile"]] = "IMD_decile"
    else:
        out["IMD_decile"] = _deciles_from_ranks(out["IMD_rank"].astype(float), info).astype("Int64")
        notes.append(f"deciles derived from ranks by the {info.label} rule (no decile column)")
    if "IMD_rank" not in out:
        out.insert(1, "IMD_rank", pd.array([pd.NA] * len(out), dtype="Int64"))
        notes.append("the table has no rank column")
    out["IMD_quintile"] = (out["IMD_decile"] + 1) // 2
    if "IMD_score" in by_role:
        out["IMD_score"] = pd.to_numeric(frame[by_role["IMD_score"]], errors="coerce")
        names[by_role["IMD_score"]] = "IMD_score"
    taken = set(out.columns)
    for column in frame.columns:
        if column in names:
            continue
        name = _short_name(column)
        base, k = name, 2
        while name in taken:
            name, k = f"{base}_{k}", k + 1
        taken.add(name)
        names[column] = name
        out[name] = _tidy_numbers(frame[column], name)
    if len(out) != info.national_count:
        notes.append(f"the table has {len(out):,} areas; the full {info.label} has {info.national_count:,}")
    return DeprivationTable(index=index, frame=out, source=path, code_column=str(code_column),
                            columns={str(k): v for k, v in names.items()}, notes=notes)


# --- joining ---------------------------------------------------------------------------------


@dataclass
class JoinReport:
    """What a join of a deprivation table to a boundary layer matched, and what it did not.

    ``unmatched_boundary_codes``: codes in the boundaries with no row in the table (their index
    fields are empty); ``table_codes_without_boundary``: table rows no boundary has (usual when
    the boundaries cover one council); ``duplicate_boundary_codes``: codes on several features.
    """

    index: str
    index_label: str
    table_geography: str
    area_code_column: str
    boundary_geography: str | None
    boundary_features: int
    table_rows: int
    matched_features: int
    unmatched_boundary_codes: list[str] = field(default_factory=list)
    blank_boundary_codes: int = 0
    table_codes_without_boundary: list[str] = field(default_factory=list)
    duplicate_boundary_codes: list[str] = field(default_factory=list)
    renamed_columns: dict[str, str] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def unmatched_features(self) -> int:
        return self.boundary_features - self.matched_features

    def to_dict(self) -> dict[str, Any]:
        return {
            "index": self.index, "index_label": self.index_label,
            "table_geography": self.table_geography, "area_code_column": self.area_code_column,
            "boundary_geography": self.boundary_geography, "boundary_features": self.boundary_features,
            "table_rows": self.table_rows, "matched_features": self.matched_features,
            "unmatched_features": self.unmatched_features,
            "unmatched_boundary_codes": list(self.unmatched_boundary_codes),
            "blank_boundary_codes": self.blank_boundary_codes,
            "table_codes_without_boundary_count": len(self.table_codes_without_boundary),
            "table_codes_without_boundary": list(self.table_codes_without_boundary),
            "duplicate_boundary_codes": list(self.duplicate_boundary_codes),
            "renamed_columns": dict(self.renamed_columns),
            "warnings": list(self.warnings), "notes": list(self.notes),
        }

    def summary(self) -> str:
        lines = [f"{self.index_label} ({GEOGRAPHY_LABELS[self.table_geography]}): "
                 f"{self.matched_features} of {self.boundary_features} feature(s) matched by "
                 f"{self.area_code_column!r}"]
        if self.unmatched_boundary_codes:
            shown = ", ".join(self.unmatched_boundary_codes[:10])
            more = "..." if len(self.unmatched_boundary_codes) > 10 else ""
            lines.append(f"{len(self.unmatched_boundary_codes)} boundary code(s) not in the table: {shown}{more}")
        if self.blank_boundary_codes:
            lines.append(f"{self.blank_boundary_codes} feature(s) have no area code")
        lines.append(f"{len(self.table_codes_without_boundary):,} table row(s) have no boundary")
        return "\n".join(lines + [f"warning: {w}" for w in self.warnings])


def _vintage_warnings(table: DeprivationTable, boundary_geography: str | None, column: str,
                      named: str | None, unmatched: int) -> list[str]:
    """Explain a boundary/table vintage mismatch in words a user can act on."""
    info = table.info
    expected = GEOGRAPHY_LABELS[info.geography]
    warnings = []
    if named and boundary_geography and named not in (boundary_geography, "LSOA", "DZ") \
            and boundary_geography not in ("LSOA", "DZ"):
        warnings.append(f"column {column!r} is named for {GEOGRAPHY_LABELS[named]} but holds codes of "
                        f"{GEOGRAPHY_LABELS[boundary_geography]}")
    if boundary_geography in (None, "LSOA", "DZ"):
        if unmatched:
            warnings.append(f"{unmatched} boundary code(s) are not in {info.label}, which is published for "
                            f"{expected}: check the boundaries are {expected}")
        return warnings
    if boundary_geography != info.geography:
        advice = {
            "LSOA2021": "use IoD2025 (2021 LSOAs), or 2011 LSOA boundaries for IMD 2019",
            "LSOA2011": "use IMD 2019 with 2011 LSOA boundaries, or 2021 LSOA boundaries for IoD2025",
            "WALES": "Welsh areas are in the Welsh index (WIMD), not in the English indices",
        }.get(boundary_geography, f"use boundaries of {expected}")
        warnings.append(f"the boundaries are {GEOGRAPHY_LABELS[boundary_geography]} but {info.label} is "
                        f"published for {expected}; {unmatched} boundary code(s) have no row ({advice})")
    return warnings


def join_deprivation(area_frame, table, area_code_column: str | None = None, index: str | None = None):
    """Join a deprivation table to boundaries by area code: ``(GeoDataFrame, JoinReport)``.

    ``area_frame``: a GeoDataFrame of LSOAs or data zones (any CRS; kept).  ``table``: a
    ``DeprivationTable``, a path or a DataFrame (read with ``load_deprivation_table(table,
    index)``).  ``area_code_column``: the boundaries' code column (default: detected, e.g.
    LSOA11CD, LSOA21CD, DataZone, DZ2011, area_code).  Every feature is kept, in order; the
    table's fields are added (empty where a code has no row) and a boundary column of the same
    name as one of them is renamed '<name>_boundary' (listed in the report).

    Raises ``DataError`` when no code column is found or when no feature matches (the message
    says which vintage or country the boundaries and the table are).
    """
    import geopandas as gpd
    import pandas as pd

    if not isinstance(table, DeprivationTable):
        table = load_deprivation_table(table, index=index)
    column = find_area_code_column(area_frame, area_code_column, what="boundary layer")
    codes = _normalise_codes(area_frame[column])
    present = codes != ""
    boundary_geography = infer_geography(codes[present], column)
    table_codes = table.frame["area_code"].to_numpy(dtype=object)
    in_table = pd.Series(codes).isin(set(table_codes)).to_numpy() & present
    matched = int(in_table.sum())
    unmatched_codes = sorted(set(codes[present & ~in_table]))
    if matched == 0 and present.any():
        where = GEOGRAPHY_LABELS.get(boundary_geography, "unknown areas") if boundary_geography else "unknown areas"
        raise DataError(f"None of the {int(present.sum())} boundary codes in {column!r} is in {table.label} "
                        f"(the boundaries look like {where}; {table.label} covers "
                        f"{GEOGRAPHY_LABELS[table.info.geography]} in {table.info.country})",
                        path=table.source, hint="choose the boundary layer and the index of the same country and "
                                                "vintage, or name the right code column")

    frame = area_frame.copy()
    renamed: dict[str, str] = {}
    fields = [c for c in table.frame.columns if c != "area_code"]
    for name in fields:
        if name in frame.columns and name != column:
            renamed[name] = f"{name}_boundary"
    frame = frame.rename(columns=renamed)
    key = "__deprivation_key__"
    frame[key] = codes
    joined = frame.merge(table.frame.rename(columns={"area_code": key}), on=key, how="left",
                         validate="many_to_one").drop(columns=[key])
    joined = gpd.GeoDataFrame(joined, geometry=area_frame.geometry.name, crs=area_frame.crs)

    counts = pd.Series(codes[present]).value_counts()
    named = _geography_from_name(column)
    report = JoinReport(
        index=table.index, index_label=table.label, table_geography=table.info.geography,
        area_code_column=str(column), boundary_geography=boundary_geography,
        boundary_features=len(area_frame), table_rows=len(table), matched_features=matched,
        unmatched_boundary_codes=unmatched_codes, blank_boundary_codes=int((~present).sum()),
        table_codes_without_boundary=sorted(set(table_codes) - set(codes[present])),
        duplicate_boundary_codes=sorted(counts[counts > 1].index.tolist()),
        renamed_columns=renamed, notes=list(table.notes))
    report.warnings = _vintage_warnings(table, boundary_geography, str(column), named, len(unmatched_codes))
    if renamed:
        report.warnings.append("boundary column(s) renamed to keep the index fields: "
                               + ", ".join(f"{a} -> {b}" for a, b in renamed.items()))
    if report.blank_boundary_codes:
        report.warnings.append(f"{report.blank_boundary_codes} boundary feature(s) have no area code")
    return joined, report


# --- styling ---------------------------------------------------------------------------------

DEFAULT_RAMP = "YlGnBu"  # sequential, dark navy for the most deprived, as the MHCLG maps


def deprivation_group_labels(groups: str = "decile") -> list[str]:
    """['1 (most deprived 10%)', '2', ..., '10 (least deprived 10%)'] or the five quintiles."""
    n, share = (10, 10) if groups == "decile" else (5, 20)
    labels = [str(i) for i in range(1, n + 1)]
    labels[0] = f"1 (most deprived {share}%)"
    labels[-1] = f"{n} (least deprived {share}%)"
    return labels


def deprivation_style(frame, field: str = "IMD_decile", groups: str = "decile", ramp: str = DEFAULT_RAMP):
    """A choropleth style for deprivation deciles or quintiles, 1 (most deprived) darkest.

    ``groups='decile'``: a ``CategorisedStyle`` with all ten deciles (colours never depend on
    which deciles a council happens to have), labelled '1 (most deprived 10%)' ...
    '10 (least deprived 10%)'; areas without a value are grey.  ``groups='quintile'`` from a
    decile field: a ``GraduatedStyle`` of the ranges 1-2, 3-4, ..., 9-10 (quintiles 1..5); from a
    quintile field (values 1-5, name containing 'quintile'): a ``CategorisedStyle`` of 1..5.
    ``ramp``: a sequential ramp of ``gis_desk.core.ramps``, applied dark-to-light.

    Raises ``DataError`` for a missing field or values that are not whole numbers 1-10 (1-5
    for a quintile field), ``ValueError`` for another ``groups``.
    """
    import pandas as pd

    from gis_desk.core.classify import _geometry_kind, symbol_for
    from gis_desk.core.ramps import ramp_colors
    from gis_desk.core.style import Category, CategorisedStyle, ClassRange, GraduatedStyle

    if groups not in ("decile", "quintile"):
        raise ValueError(f"groups must be 'decile' or 'quintile', got {groups!r}")
    if field not in frame.columns:
        raise DataError(f"There is no field {field!r} to style by deprivation",
                        hint=f"fields are: {', '.join(map(str, frame.columns))}")
    quintile_field = "quintile" in field.lower()
    if quintile_field and groups == "decile":
        raise DataError(f"Field {field!r} holds quintiles; it cannot be shown as deciles",
                        hint="choose groups='quintile' or a decile field")
    top = 5 if quintile_field else 10
    values = pd.to_numeric(frame[field], errors="coerce")
    bad = frame[field].notna() & (values.isna() | (values != np.round(values)) | (values < 1) | (values > top))
    if bad.any():
        raise DataError(f"Field {field!r} is not a deprivation {'quintile' if quintile_field else 'decile'} "
                        f"(whole numbers 1 to {top}); e.g. {frame[field][bad].iloc[0]!r}",
                        hint="choose the decile field the deprivation join added, e.g. IMD_decile")
    geometry = _geometry_kind(frame)
    n = 10 if groups == "decile" else 5
    colors = ramp_colors(ramp, n, invert=True)  # the ramp's dark end first: 1 = most deprived
    labels = deprivation_group_labels(groups)
    if groups == "decile" or quintile_field:
        categories = [Category(i + 1, symbol_for(c, geometry), label)
                      for i, (c, label) in enumerate(zip(colors, labels))]
        other = symbol_for("#bdbdbd", geometry) if frame[field].isna().any() else None
        return CategorisedStyle(field=field, categories=categories, other=other, ramp=ramp)
    classes = [ClassRange(float(2 * i + 1), float(2 * i + 2), symbol_for(c, geometry), label)
               for i, (c, label) in enumerate(zip(colors, labels))]
    return GraduatedStyle(field=field, method="manual", n_classes=5, ramp=ramp, invert_ramp=True,
                          classes=classes)


def decile_to_quintile(deciles):
    """Quintiles of deciles: (1, 2) -> 1, (3, 4) -> 2, ..., (9, 10) -> 5; NaN stays NaN."""
    values = np.asarray(deciles, dtype=float)
    return np.where(np.isnan(values), np.nan, np.ceil(values / 2))


__all__ = [
    "INDEXES", "IndexInfo", "DeprivationTable", "JoinReport", "load_deprivation_table", "join_deprivation",
    "deprivation_style", "deprivation_group_labels", "decile_to_quintile", "find_area_code_column",
    "infer_geography", "code_geography",
]
