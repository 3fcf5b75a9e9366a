"""Council records keyed by UPRN -> a point layer located through a UPRN gazetteer.

``import_records`` reads a CSV, XLSX or GeoPackage table, finds its UPRN column, pseudonymises
personal identifiers (CHI and NHS numbers) straight after reading, validates the UPRNs
(``gis_desk.analysis.uprn.parse_uprns``: spreadsheet damage is undone only where lossless)
and looks them up in a ``Gazetteer``.  Every input row becomes one feature: rows whose UPRN is
invalid or not in the gazetteer are kept with an empty point geometry, so no row is ever
silently dropped.  A ``MatchReport`` tells how many rows matched and why the others did not.

Fields added to the layer (the UPRN column of the file is kept unchanged, renamed to
``UPRN_as_given`` when it is itself called 'UPRN'):

- ``source_row``: the row's line in the file as a spreadsheet shows it (header = row 1);
- ``UPRN``: the validated UPRN (int64; 0 where the value is not a valid UPRN);
- ``uprn_status``: 'ok', 'recovered', 'blank', 'text', 'out_of_range' or 'lossy';
- ``uprn_duplicate``: True when another row has the same UPRN (several records at one
  property are normal, e.g. several care packages: they are kept and counted);
- ``matched``: True when the UPRN was found in the gazetteer (the row has a location).

Personal identifiers: columns that hold CHI or NHS numbers (found by
``gis_desk.analysis.identifiers.detect_identifier_columns``) are replaced by keyed pseudonyms
(HMAC with the user's key, ``user_pseudonym_key``) before anything else happens, so the
dataset, the match report and everything written from them hold tokens, never the numbers.
``drop_columns`` removes columns such as names and dates of birth
(``suggest_personal_columns`` proposes them; they are listed in the report, not dropped,
unless the caller asks).
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Iterable

import numpy as np

from gis_desk.analysis.uprn import INVALID_STATUSES, RECOVERED, STATUS_DESCRIPTIONS, parse_uprns, uprn_likeness
from gis_desk.core.datasets import DataSource, VectorDataset
from gis_desk.errors import CorruptFileError, DataError, MissingFileError, ReaderError
from gis_desk.io.atomic import atomic_write_text
from gis_desk.processing.feedback import Feedback

READER_ID = "builtins.read_uprn_records"
UPRN_FIELD = "UPRN"
SOURCE_ROW_FIELD = "source_row"
STATUS_FIELD = "uprn_status"
DUPLICATE_FIELD = "uprn_duplicate"
MATCHED_FIELD = "matched"
GIVEN_SUFFIX = "_as_given"
PROBLEM_FIELD = "problem"
ADDED_FIELDS = (SOURCE_ROW_FIELD, UPRN_FIELD, STATUS_FIELD, DUPLICATE_FIELD, MATCHED_FIELD)
NOT_IN_GAZETTEER = "not in the gazetteer"
UPRN_CONTENT_SHARE = 0.8  # share of non-blank values that must be UPRNs to find the column by content
_CSV_SUFFIXES = {".csv", ".txt", ".tsv", ".tab"}
_EXCEL_SUFFIXES = {".xlsx", ".xlsm"}


@dataclass
class MatchReport:
    """How the records of one import matched the gazetteer.  Holds no raw identifier.

    ``total_rows == matched + unmatched + invalid``: ``matched`` rows have a valid UPRN found
    in the gazetteer; ``unmatched`` rows a valid UPRN that is not in it; ``invalid`` rows no
    usable UPRN (``invalid_by_status``: 'blank', 'text', 'out_of_range', 'lossy').
    ``recovered``: rows whose UPRN was restored from spreadsheet damage (counted in matched or
    unmatched).  ``duplicate_rows``/``duplicate_uprns``: rows sharing a UPRN with another row,
    and how many UPRNs that is.  ``identifiers``: per identifier column, its kind and counts of
    valid/invalid/blank values (``IdentifierReport.to_dict``).  ``unmatched_rows``: the
    unmatched and invalid rows (pseudonymised attributes, ``source_row``, the UPRN as given,
    ``uprn_status`` and ``problem``), without geometry.
    """

    source: str
    gazetteer: str
    uprn_column: str
    uprn_column_found_by: str  # 'user', 'name' or 'content'
    total_rows: int = 0
    matched: int = 0
    unmatched: int = 0
    invalid: int = 0
    invalid_by_status: dict[str, int] = field(default_factory=dict)
    recovered: int = 0
    duplicate_rows: int = 0
    duplicate_uprns: int = 0
    pseudonymised: bool = True
    identifier_columns: dict[str, str] = field(default_factory=dict)
    identifiers: dict[str, Any] = field(default_factory=dict)
    dropped_columns: list[str] = field(default_factory=list)
    suggested_personal_columns: list[str] = field(default_factory=list)
    unmatched_rows: Any = field(default=None, repr=False)  # pandas.DataFrame

    def to_dict(self, include_rows: bool = False) -> dict[str, Any]:
        """JSON-friendly counts (``--json``); with ``include_rows`` also the unmatched rows as
        a list of records (pseudonymised)."""
        d = asdict(self)
        d.pop("unmatched_rows")
        d["match_rate"] = round(self.matched / self.total_rows, 6) if self.total_rows else 0.0
        if include_rows and self.unmatched_rows is not None:
            d["unmatched_rows"] = _jsonable_records(self.unmatched_rows)
        return d

    def summary_text(self) -> str:
        """A few lines for the CLI and the import wizard."""
        pct = (lambda n: f" ({100.0 * n / self.total_rows:.1f}%)") if self.total_rows else (lambda n: "")
        lines = [f"{self.total_rows:,} record(s) from {Path(self.source).name}, UPRNs in column "
                 f"{self.uprn_column!r} (found by {self.uprn_column_found_by})",
                 f"  matched to the gazetteer: {self.matched:,}{pct(self.matched)}",
                 f"  valid UPRN not in the gazetteer: {self.unmatched:,}{pct(self.unmatched)}",
                 f"  no usable UPRN: {self.invalid:,}{pct(self.invalid)}"]
        for status, n in self.invalid_by_status.items():
            if n:
                lines.append(f"    {status}: {n:,} ({STATUS_DESCRIPTIONS[status]})")
        if self.recovered:
            lines.append(f"  UPRNs restored from spreadsheet damage: {self.recovered:,}")
        if self.duplicate_rows:
            lines.append(f"  rows sharing a UPRN with another row: {self.duplicate_rows:,} "
                         f"({self.duplicate_uprns:,} UPRNs; all kept)")
        for column in self.identifiers.get("columns", []):
            action = "pseudonymised" if self.pseudonymised else "NOT pseudonymised"
            lines.append(f"  {column['column']}: {column['kind'].upper()} numbers {action}; "
                         f"{column['valid']:,} valid, {column['invalid']:,} invalid, {column['blank']:,} blank")
        if self.dropped_columns:
            lines.append(f"  columns dropped: {', '.join(self.dropped_columns)}")
        if self.suggested_personal_columns:
            lines.append(f"  columns that look personal (consider dropping): "
                         f"{', '.join(self.suggested_personal_columns)}")
        return "\n".join(lines)

    def write_unmatched(self, path: str | Path) -> Path:
        """Write the unmatched and invalid rows as CSV (UTF-8, atomic).  Returns the path.
        Raises ``WriterError`` naming the file."""
        path = Path(path)
        frame = self.unmatched_rows
        if frame is None:
            import pandas as pd

            frame = pd.DataFrame(columns=[SOURCE_ROW_FIELD, STATUS_FIELD, PROBLEM_FIELD])
        atomic_write_text(path, frame.to_csv(index=False))
        return path


class RecordsDataset(VectorDataset):
    """The point layer ``import_records`` returns; ``report`` is its ``MatchReport``.

    Reopening: ``source.reader`` is ``READER_ID`` and ``source.options`` hold what the import
    needs (gazetteer store, UPRN column, dropped columns, sheet or layer) but never a key or an
    identifier.  Reopening re-imports the original file through ``read_uprn_records``, which
    always pseudonymises with the user's own key; no reader opens the file's raw identifiers
    into a project behind the user's back.  To share the layer, export it (its file holds the
    pseudonyms only).
    """

    def __init__(self, source: DataSource, frame, report: MatchReport) -> None:
        super().__init__(source, frame, driver="UPRN records")
        self.report = report

    def info(self) -> dict[str, Any]:
        d = super().info()
        d["match"] = self.report.to_dict()
        return d


# --- reading -------------------------------------------------------------------------------


def _read_table(path: Path, sheet: str | int | None, layer: str | None, feedback: Feedback):
    """(DataFrame, line number of the first data row, options to reopen, read as text?)."""
    suffix = path.suffix.lower()
    if suffix in _CSV_SUFFIXES:
        from gis_desk.io.csv_points import _read_text_table

        frame, _enc, _sep = _read_text_table(path, None, None)
        return frame, 2, {}, True
    if suffix in _EXCEL_SUFFIXES:
        return _read_excel(path, sheet), 2, ({"sheet": sheet} if sheet is not None else {}), False
    if suffix == ".gpkg":
        return _read_geopackage(path, layer, feedback)
    if suffix == ".xls":
        raise DataError("Old Excel .xls workbooks cannot be read", path=path,
                        hint="open it in a spreadsheet and save it as .xlsx or CSV")
    raise DataError(f"Cannot read records from {suffix or 'this'} files", path=path,
                    hint="use CSV, XLSX or a GeoPackage table")


def _read_excel(path: Path, sheet: str | int | None):
    import pandas as pd

    try:
        frame = pd.read_excel(path, sheet_name=0 if sheet is None else sheet, dtype=object, engine="openpyxl")
    except ImportError as exc:
        raise ReaderError("Reading XLSX needs the openpyxl package", path=path,
                          hint="install it (pip install openpyxl) or save the sheet as CSV") from exc
    except (ValueError, KeyError) as exc:
        if "worksheet" in str(exc).lower() or "sheet" in str(exc).lower():
            raise DataError(f"The workbook has no sheet {sheet!r}", path=path,
                            hint=f"sheets: {', '.join(_sheet_names(path))}") from exc
        raise CorruptFileError("The workbook cannot be read", path=path, details=str(exc),
                               hint="open and re-save it in a spreadsheet, or save the sheet as CSV") from exc
    except Exception as exc:  # zipfile.BadZipFile, openpyxl's own errors for damaged files
        raise CorruptFileError("The file is not a readable XLSX workbook", path=path, details=str(exc),
                               hint="open and re-save it in a spreadsheet, or save the sheet as CSV") from exc
    frame.columns = [str(c) for c in frame.columns]
    return frame


def _sheet_names(path: Path) -> list[str]:
    try:
        import openpyxl

        return list(openpyxl.load_workbook(path, read_only=True).sheetnames)
    except Exception:  # the names only improve a hint
        return []


def _read_geopackage(path: Path, layer: str | None, feedback: Feedback):
    import pyogrio

    try:
        layers = [str(name) for name, _geom in pyogrio.list_layers(path)]
    except Exception as exc:
        raise CorruptFileError("The GeoPackage cannot be opened", path=path, details=str(exc),
                               hint="check it is a GeoPackage (.gpkg) and not damaged") from exc
    if layer is None:
        with_uprn = [n for n in layers if any("uprn" in _norm(c) for c in _layer_fields(path, n))]
        if len(layers) == 1 or len(with_uprn) == 1:
            layer = layers[0] if len(layers) == 1 else with_uprn[0]
        else:
            raise DataError("The GeoPackage has several tables; choose one", path=path,
                            hint=f"tables: {', '.join(layers)} (give layer=NAME)")
    if layer not in layers:
        raise DataError(f"The GeoPackage has no table {layer!r}", path=path, hint=f"tables: {', '.join(layers)}")
    frame = pyogrio.read_dataframe(path, layer=layer, read_geometry=False)
    if "geometry" in frame.columns:
        frame = frame.drop(columns=["geometry"])
    feedback.info(f"Reading table {layer!r} of {path.name}; any geometry it has is replaced by gazetteer points")
    return frame, 1, {"layer": layer}, False


def _layer_fields(path: Path, layer: str) -> list[str]:
    import pyogrio

    try:
        return [str(f) for f in pyogrio.read_info(path, layer=layer)["fields"]]
    except Exception:  # an unreadable table simply has no UPRN column to offer
        return []


def _norm(name: Any) -> str:
    return re.sub(r"[^a-z0-9]", "", str(name).lower())


# --- choosing the UPRN column --------------------------------------------------------------


def find_uprn_column(frame, exclude: Iterable[str] = ()) -> tuple[str | None, str]:
    """(column, 'name'|'content') holding the UPRNs of ``frame``, or (None, '') when none does.

    By name first: 'UPRN' exactly, else a single column whose name contains 'uprn' (a
    'parent UPRN' points at another property and is never chosen), the one with more valid
    values when several do.  Else by content: the column whose non-blank values are mostly
    (>= 80%) valid UPRNs, excluding ``exclude`` (identifier columns: CHI and NHS numbers are
    10-digit whole numbers too) and columns whose values are small counters (all below
    1,000,000 and consecutive, like row numbers).
    """
    columns = [str(c) for c in frame.columns]
    exact = [c for c in columns if _norm(c) == "uprn"]
    if len(exact) == 1:
        return exact[0], "name"
    named = [c for c in columns if "uprn" in _norm(c) and "parent" not in _norm(c)]
    if named:
        return max(named, key=lambda c: uprn_likeness(frame[c])), "name"
    best, best_share = None, 0.0
    for column in columns:
        if column in set(exclude) or _looks_like_counter(frame[column]):
            continue
        share = uprn_likeness(frame[column])
        if share >= UPRN_CONTENT_SHARE and share > best_share:
            best, best_share = column, share
    return (best, "content") if best else (None, "")


def _looks_like_counter(series) -> bool:
    """Row numbers and small ids (1, 2, 3...) parse as UPRNs but are not."""
    parsed = parse_uprns(series.iloc[:2000])
    values = parsed.uprn[parsed.valid]
    if not len(values):
        return False
    return bool(values.max() < 1_000_000 and len(values) > 1 and (np.abs(np.diff(values)) <= 1).mean() > 0.9)


# --- identifiers -----------------------------------------------------------------------------


def _pseudonymise_identifiers(frame, found: dict[str, str], key: bytes | None, pseudonymise: bool,
                              feedback: Feedback) -> tuple[Any, dict[str, Any]]:
    """(frame with the ``found`` identifier columns replaced by tokens, identifier report)."""
    from gis_desk.analysis import identifiers

    if not found:
        return frame, {}
    report = identifiers.identifier_report(frame, found).to_dict()
    if pseudonymise:
        key = key if key is not None else identifiers.user_pseudonym_key()
        frame = frame.copy()
        for column in found:
            frame[column] = identifiers.pseudonymise(frame[column], key)
        feedback.info(f"Pseudonymised {', '.join(found)} ({', '.join(k.upper() for k in found.values())} numbers)")
    else:
        feedback.warning(f"Identifier columns {', '.join(found)} were NOT pseudonymised: the layer holds raw "
                         "personal identifiers; do not save or export it")
    return frame, report


def _suggest_personal(frame) -> list[str]:
    from gis_desk.analysis import identifiers

    suggest = getattr(identifiers, "suggest_personal_columns", None)
    return list(suggest(frame)) if suggest else []


def _drop(frame, drop_columns: Iterable[str], path: Path) -> tuple[Any, list[str]]:
    wanted = [str(c) for c in drop_columns]
    if not wanted:
        return frame, []
    by_norm = {str(c).lower(): str(c) for c in frame.columns}
    missing = [c for c in wanted if c not in frame.columns and c.lower() not in by_norm]
    if missing:
        raise DataError(f"Cannot drop {', '.join(repr(c) for c in missing)}: no such column", path=path,
                        hint=f"columns found: {', '.join(map(str, frame.columns))}")
    names = [c if c in frame.columns else by_norm[c.lower()] for c in wanted]
    return frame.drop(columns=names), names


# --- the import ----------------------------------------------------------------------------


def import_records(path: str | Path, gazetteer, uprn_column: str | None = None, pseudonymise: bool = True,
                   drop_columns: Iterable[str] = (), key: bytes | None = None, feedback: Feedback | None = None,
                   *, sheet: str | int | None = None, layer: str | None = None):
    """Read council records and place them at their UPRNs: ``(RecordsDataset, MatchReport)``.

    ``path``: CSV/TXT (text kept exact, then numeric columns converted), XLSX (``sheet``: name
    or 0-based index, default the first) or GeoPackage (``layer``: the table; default the only
    one, or the only one with a UPRN column).  ``gazetteer``: a ``Gazetteer`` or the path of
    its store.  ``uprn_column``: default found by name, else by content (see
    ``find_uprn_column``).  ``pseudonymise``: replace CHI/NHS columns by keyed tokens (default;
    ``key`` defaults to the user's key from their configuration, never the project's).
    ``drop_columns``: columns to leave out (names, dates of birth...).

    The layer is in the gazetteer's CRS, one feature per input row in input order (see the
    module docstring for the fields added).  Raises ``MissingFileError``, ``CorruptFileError``
    (unreadable file), ``DataError`` (empty table; no UPRN column found or a named column
    missing: the message lists the columns found), ``CanceledError``.
    """
    import geopandas as gpd
    import shapely

    from gis_desk.io.gazetteer import Gazetteer

    feedback = feedback if feedback is not None else Feedback()
    path = Path(path).expanduser().resolve()
    if not path.is_file():
        raise MissingFileError("The records file does not exist", path=path)
    gaz = gazetteer if isinstance(gazetteer, Gazetteer) else Gazetteer.open(gazetteer)
    frame, first_line, reopen, is_text = _read_table(path, sheet, layer, feedback)
    frame.columns = [str(c) for c in frame.columns]
    feedback.set_progress(30)
    feedback.check_canceled()
    if len(frame.columns) == 0:
        raise DataError("The records file has no columns", path=path)

    # Identifiers first: nothing below sees a raw CHI/NHS number when pseudonymising.
    from gis_desk.analysis import identifiers

    id_columns = identifiers.detect_identifier_columns(frame)
    if uprn_column is not None:
        column, found_by = _column_named(frame, uprn_column, path), "user"
    else:
        column, found_by = find_uprn_column(frame, exclude=id_columns)
        if column is None:
            raise DataError(f"No UPRN column found in the records (columns: {', '.join(frame.columns)})",
                            path=path, hint="choose the column that holds the UPRNs (uprn_column=NAME)")
    id_columns.pop(column, None)  # the join key is a property's number, not a person's
    frame, id_report = _pseudonymise_identifiers(frame, id_columns, key, pseudonymise, feedback)
    frame, dropped = _drop(frame, drop_columns, path)
    if column in dropped:
        raise DataError(f"The UPRN column {column!r} cannot be dropped", path=path)
    feedback.set_progress(45)
    feedback.check_canceled()

    parsed = parse_uprns(frame[column])
    found, xs, ys = gaz.lookup(parsed.uprn)
    matched = parsed.valid & found
    feedback.set_progress(65)
    feedback.check_canceled()

    frame = _typed_columns(frame, keep_text={column, *id_columns}, is_text=is_text)
    frame[column] = _as_text(frame[column])
    given = column + GIVEN_SUFFIX if column.lower() in {f.lower() for f in ADDED_FIELDS} else column
    attributes = frame.rename(columns={column: given}) if given != column else frame
    attributes = _avoid_clashes(attributes, given)
    added = {
        SOURCE_ROW_FIELD: np.arange(first_line, first_line + len(frame), dtype=np.int64),
        UPRN_FIELD: parsed.uprn,
        STATUS_FIELD: parsed.status.astype(object),
        DUPLICATE_FIELD: parsed.duplicate,
        MATCHED_FIELD: matched,
    }
    import pandas as pd

    table = pd.concat([pd.DataFrame(added), attributes.reset_index(drop=True)], axis=1)
    points = shapely.points(np.where(matched, xs, np.nan), np.where(matched, ys, np.nan), handle_nan="skip")
    layer_frame = gpd.GeoDataFrame(table, geometry=gpd.GeoSeries(points, crs=gaz.crs), crs=gaz.crs)
    feedback.set_progress(90)

    counts = parsed.counts()
    problem = ~matched
    rows = table.loc[problem].copy()
    rows[PROBLEM_FIELD] = np.where(parsed.valid[problem], NOT_IN_GAZETTEER,
                                   [STATUS_DESCRIPTIONS.get(s, s) for s in parsed.status[problem]])
    report = MatchReport(
        source=str(path), gazetteer=str(gaz.path), uprn_column=column, uprn_column_found_by=found_by,
        total_rows=len(frame), matched=int(matched.sum()), unmatched=int((parsed.valid & ~found).sum()),
        invalid=int((~parsed.valid).sum()),
        invalid_by_status={s: counts[s] for s in INVALID_STATUSES}, recovered=counts[RECOVERED],
        duplicate_rows=parsed.duplicate_rows, duplicate_uprns=parsed.duplicate_uprns,
        pseudonymised=bool(pseudonymise or not id_columns), identifier_columns=dict(id_columns),
        identifiers=id_report, dropped_columns=dropped, suggested_personal_columns=_suggest_personal(attributes),
        unmatched_rows=rows.drop(columns=[MATCHED_FIELD]).reset_index(drop=True))
    assert report.total_rows == report.matched + report.unmatched + report.invalid
    options = {"gazetteer": str(gaz.path), "uprn_column": column, "drop_columns": dropped, **reopen}
    dataset = RecordsDataset(DataSource(str(path), reader=READER_ID, options=options), layer_frame, report)
    feedback.info(report.summary_text())
    feedback.set_progress(100)
    return dataset, report


def read_uprn_records(path: str | Path, gazetteer: str | None = None, uprn_column: str | None = None,
                      drop_columns: Iterable[str] = (), sheet: str | int | None = None,
                      layer: str | None = None, **ignored) -> list[RecordsDataset]:
    """Reader (``READER_ID``) that reopens a records layer saved in a project.

    Re-imports ``path`` against the ``gazetteer`` store with the saved options, ALWAYS
    pseudonymising identifiers with the user's own key (an option asking otherwise is
    ignored), so a project never brings raw CHI/NHS numbers back silently.  Raises
    ``DataError`` when the options do not name a gazetteer, else as ``import_records``.
    """
    if not gazetteer:
        raise DataError("This records layer does not say which gazetteer it was matched with", path=path,
                        hint="import the records again (UPRN join)")
    dataset, _report = import_records(path, gazetteer, uprn_column=uprn_column, pseudonymise=True,
                                      drop_columns=drop_columns, sheet=sheet, layer=layer)
    return [dataset]


def _typed_columns(frame, keep_text: set[str], is_text: bool):
    """Numbers as numbers: CSV text columns that are all numeric are converted (identifier-like
    names stay text); spreadsheet/GeoPackage columns keep their types, and columns that mix
    numbers with text become text so every file format can store them."""
    from gis_desk.io.csv_points import convert_numeric_columns

    if is_text:
        convert_numeric_columns(frame, keep_text=keep_text)
        return frame
    for column in frame.columns:
        if column in keep_text or frame[column].dtype != object:
            continue
        inferred = frame[column].infer_objects()
        frame[column] = inferred if inferred.dtype != object else _as_text(inferred)
    return frame


def _as_text(series):
    """Text, blanks as '' (a whole-number float keeps its '.0': it is shown as it was read)."""
    if series.dtype != object:
        return series.astype(str) if not str(series.dtype) in ("str", "string") else series
    return series.map(lambda v: "" if v is None or (isinstance(v, float) and v != v) else str(v)).astype(object)


def _column_named(frame, name: str, path: Path) -> str:
    if name in frame.columns:
        return name
    match = [c for c in frame.columns if c.lower() == str(name).lower()]
    if match:
        return match[0]
    raise DataError(f"There is no column {name!r} in the records", path=path,
                    hint=f"columns found: {', '.join(frame.columns)}")


def _avoid_clashes(frame, given: str):
    """Rename file columns whose names the layer's added fields use (case-insensitively, as
    GeoPackage column names are)."""
    reserved = {f.lower() for f in ADDED_FIELDS} | {"geometry", PROBLEM_FIELD}
    renames = {c: f"{c}_original" for c in frame.columns if c != given and c.lower() in reserved}
    return frame.rename(columns=renames) if renames else frame


def _jsonable_records(frame) -> list[dict[str, Any]]:
    import json

    return json.loads(frame.to_json(orient="records", date_format="iso"))

