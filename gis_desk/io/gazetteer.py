"""A local UPRN gazetteer: import a UPRN-with-coordinates CSV once, look UPRNs up fast.

Inputs: OS Open UPRN CSV (``UPRN,X_COORDINATE,Y_COORDINATE,LATITUDE,LONGITUDE``; British
National Grid, EPSG:27700), AddressBase-style CSVs, or any delimited table with a UPRN column
and coordinates.  Columns are found by name (case, spaces and underscores ignored) and can be
named by the caller; a file without a header row is read with columns named "1", "2", ...

The store is a folder (name it e.g. ``gb.uprn``) holding three little-endian binary arrays
sorted by UPRN, ``uprn.i8`` (int64), ``x.f8`` and ``y.f8`` (float64, in the store's CRS), and
``meta.json`` (CRS, counts, source).  ``Gazetteer.open`` memory-maps them, so opening is instant
and a lookup touches only the pages it needs: a binary search (``np.searchsorted``) per UPRN.

Import streams the CSV in blocks (Arrow's multi-threaded CSV reader when pyarrow is installed,
pandas chunks otherwise), so memory stays bounded whatever the file size:

1. each block's UPRNs are validated (whole numbers 1..999,999,999,999; rows with a blank or
   invalid UPRN or unusable coordinates are counted and left out); blocks are gathered into
   runs of at most ``RUN_ROWS`` rows, each sorted and written to a scratch folder;
2. the runs are merged (a vectorised k-way merge, ``MERGE_BLOCK_ROWS`` rows per run at a
   time) into the sorted store; a UPRN that occurs again is counted as a duplicate and only
   its first occurrence in the file is kept.

The store is built in a hidden folder beside the target and renamed into place at the end,
so a failed or cancelled import leaves no half store (and an existing store is kept until the
new one is complete).
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import shutil
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Iterator

import numpy as np

from gis_desk.analysis.uprn import UPRN_MAX, UPRN_MIN, parse_uprns
from gis_desk.core.crs import BNG, WGS84, crs_id, to_crs
from gis_desk.errors import (
    CorruptFileError,
    DataError,
    GisDeskError,
    MissingCrsError,
    MissingFileError,
    ReaderError,
    WriterError,
)
from gis_desk.io.csv_points import LAT_NAMES, LON_NAMES, X_NAMES, Y_NAMES
from gis_desk.processing.feedback import Feedback

STORE_VERSION = 1
RUN_ROWS = 4_000_000  # rows sorted in memory at once (96 MB of buffers, ~250 MB while sorting)
MERGE_BLOCK_ROWS = 2_000_000  # rows read from all runs together per merge step
READ_BLOCK_BYTES = 4 << 20  # CSV bytes per block (Arrow reads ahead ~40 blocks: ~160 MB)
_FILES = {"uprn": ("uprn.i8", "<i8"), "x": ("x.f8", "<f8"), "y": ("y.f8", "<f8")}
_NULL_VALUES = ["", "NULL", "null", "NA", "N/A", "n/a", "nan", "NaN", "None", "-"]
_UPRN_NAMES = ("uprn", "uprnnumber", "propertyuprn", "blpuuprn")
# Column names under which OS products (OS Open UPRN, AddressBase) publish BNG coordinates.
_OS_BNG_NAMES = {("xcoordinate", "ycoordinate")}
_INDEX_BITS = 23  # run-local row index packed under the UPRN (2**40 > UPRN_MAX) for one fast sort
assert RUN_ROWS <= 1 << _INDEX_BITS and UPRN_MAX < 1 << (63 - _INDEX_BITS)


@dataclass
class GazetteerStats:
    """What an import found.  Row counts exclude the header.

    ``rows``: data rows read; ``stored``: distinct UPRNs kept; ``invalid_uprn``: rows whose
    UPRN is blank or not a valid UPRN (by reason in ``invalid_by_status``, codes of
    ``gis_desk.analysis.uprn.STATUSES``); ``bad_coordinates``: rows with a valid UPRN but blank
    or non-numeric coordinates; ``duplicates``: rows whose UPRN had already been seen (the
    first occurrence is kept).  ``rows == stored + invalid_uprn + bad_coordinates +
    duplicates``.  ``seconds``: wall time; ``rows_per_second``.
    """

    source: str
    store: str
    crs: str
    columns: dict[str, str]
    rows: int = 0
    stored: int = 0
    invalid_uprn: int = 0
    invalid_by_status: dict[str, int] = field(default_factory=dict)
    bad_coordinates: int = 0
    duplicates: int = 0
    seconds: float = 0.0

    @property
    def rows_per_second(self) -> float:
        return self.rows / self.seconds if self.seconds > 0 else 0.0

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["rows_per_second"] = round(self.rows_per_second)
        return d

    def summary_text(self) -> str:
        lines = [f"Gazetteer {self.store}: {self.stored:,} UPRNs from {self.rows:,} rows of {self.source} "
                 f"({self.crs}; {self.seconds:.1f} s, {self.rows_per_second:,.0f} rows/s)"]
        if self.invalid_uprn:
            reasons = ", ".join(f"{k} {v:,}" for k, v in self.invalid_by_status.items() if v)
            lines.append(f"  rows without a valid UPRN: {self.invalid_uprn:,} ({reasons})")
        if self.bad_coordinates:
            lines.append(f"  rows with blank or unusable coordinates: {self.bad_coordinates:,}")
        if self.duplicates:
            lines.append(f"  duplicate UPRNs (first occurrence kept): {self.duplicates:,}")
        return "\n".join(lines)


# --- the store -----------------------------------------------------------------------------


class Gazetteer:
    """A read-only, memory-mapped UPRN -> (x, y) store made by ``import_gazetteer``.

    ``crs`` (pyproj CRS) is the CRS of every coordinate; ``len(g)`` the number of UPRNs.
    """

    def __init__(self, path: Path, meta: dict[str, Any], uprn: np.ndarray, x: np.ndarray, y: np.ndarray):
        self.path = path
        self.meta = meta
        self.crs = to_crs(meta["crs"])
        self._uprn, self._x, self._y = uprn, x, y

    @classmethod
    def open(cls, store_path: str | Path) -> "Gazetteer":
        """Open a store folder.  Raises ``MissingFileError`` (no such folder) or
        ``CorruptFileError`` (not a gazetteer store, or damaged: sizes disagree)."""
        path = Path(store_path).expanduser().resolve()
        if not path.exists():
            raise MissingFileError("The gazetteer store does not exist", path=path,
                                   hint="import a gazetteer CSV first (gis-desk uprn import-gazetteer)")
        meta_file = path / "meta.json"
        try:
            meta = json.loads(meta_file.read_text(encoding="utf-8"))
            count = int(meta["count"])
            meta["crs"]
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise CorruptFileError("This is not a gazetteer store (meta.json missing or unreadable)", path=path,
                                   hint="choose the folder an import made, or import the gazetteer again") from exc
        if int(meta.get("version", 0)) > STORE_VERSION:
            raise CorruptFileError(f"The gazetteer store is from a newer version ({meta.get('version')})",
                                   path=path, hint="update GIS Desk or import the gazetteer again")
        arrays = []
        for name, dtype in _FILES.values():
            file = path / name
            size = file.stat().st_size if file.exists() else -1
            if size != count * 8:
                raise CorruptFileError(f"The gazetteer store is damaged ({name} has {max(size, 0):,} bytes, "
                                       f"expected {count * 8:,})", path=path,
                                       hint="import the gazetteer again")
            arrays.append(np.memmap(file, dtype=dtype, mode="r", shape=(count,)) if count
                          else np.zeros(0, dtype=dtype))
        return cls(path, meta, *arrays)

    def __len__(self) -> int:
        return len(self._uprn)

    @property
    def uprns(self) -> np.ndarray:
        """Every stored UPRN, sorted ascending (read-only memory map; int64)."""
        return self._uprn

    def lookup(self, uprns) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Coordinates of ``uprns`` (int64 array-like; 0 or invalid values are simply not found).

        Returns ``(found bool, x float64, y float64)`` in the store's CRS, NaN where not found,
        in the order given.  Queries are sorted first so the binary searches walk the
        memory-mapped array in order (few page faults); 1,000,000 UPRNs take a fraction of a
        second once the store is in the page cache.
        """
        query = np.asarray(uprns, dtype=np.int64).ravel()
        found = np.zeros(len(query), dtype=bool)
        x = np.full(len(query), np.nan)
        y = np.full(len(query), np.nan)
        if not len(query) or not len(self):
            return found, x, y
        order = np.argsort(query, kind="stable")
        ordered = query[order]
        pos = np.searchsorted(self._uprn, ordered)
        inside = pos < len(self._uprn)
        hit = np.zeros(len(query), dtype=bool)
        hit[inside] = np.asarray(self._uprn[pos[inside]]) == ordered[inside]
        rows = order[hit]
        found[rows] = True
        x[rows] = self._x[pos[hit]]
        y[rows] = self._y[pos[hit]]
        return found, x, y

    def contains(self, uprns) -> np.ndarray:
        """Bool array: which of ``uprns`` the gazetteer holds."""
        return self.lookup(uprns)[0]

    def bounds(self) -> tuple[float, float, float, float]:
        """(xmin, ymin, xmax, ymax) of all points, recorded at import."""
        return tuple(self.meta.get("bounds") or (0.0, 0.0, 0.0, 0.0))

    def info(self) -> dict[str, Any]:
        """JSON-friendly summary: path, crs, count, bounds and the import statistics."""
        return {"kind": "uprn_gazetteer", "path": str(self.path), "crs": crs_id(self.crs), "count": len(self),
                "bounds": list(self.bounds()), "source": self.meta.get("source"),
                "columns": self.meta.get("columns"), "imported": self.meta.get("imported"),
                "stats": self.meta.get("stats")}

    def __repr__(self) -> str:
        return f"<Gazetteer {self.path} {len(self):,} UPRNs {crs_id(self.crs)}>"


# --- choosing columns ----------------------------------------------------------------------


def _norm(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", str(name).lower())


def _pick(columns: list[str], wanted: tuple[str, ...]) -> str | None:
    by_norm: dict[str, str] = {}
    for c in columns:
        by_norm.setdefault(_norm(c), c)
    return next((by_norm[w] for w in wanted if w in by_norm), None)


def _named(columns: list[str], name: str, role: str, path: Path) -> str:
    if name in columns:
        return name
    match = [c for c in columns if _norm(c) == _norm(name)]
    if match:
        return match[0]
    raise DataError(f"There is no column {name!r} (for the {role}) in the gazetteer CSV", path=path,
                    hint=f"columns found: {', '.join(columns)}")


def _uprn_column(columns: list[str]) -> str | None:
    exact = _pick(columns, _UPRN_NAMES)
    if exact:
        return exact
    # e.g. 'BLPU UPRN'; never a parent UPRN, which points at another property
    loose = [c for c in columns if "uprn" in _norm(c) and "parent" not in _norm(c)]
    return loose[0] if len(loose) == 1 else None


def choose_columns(columns: list[str], path: Path, uprn: str | None = None, x: str | None = None,
                   y: str | None = None, crs: Any = None) -> tuple[dict[str, str], Any, str]:
    """({'uprn','x','y'} -> column, CRS, where the CRS came from) for a gazetteer table.

    X/Y named like OS products (X_COORDINATE/Y_COORDINATE) are British National Grid unless
    ``crs`` says otherwise; other X/Y columns need ``crs``, or latitude/longitude columns are
    used (WGS84).  Raises ``DataError`` naming the file and listing the columns found, or
    ``MissingCrsError``.
    """
    found = ", ".join(columns)
    ucol = _named(columns, uprn, "UPRN", path) if uprn else _uprn_column(columns)
    if ucol is None:
        raise DataError(f"No UPRN column found in the gazetteer CSV (columns: {found})", path=path,
                        hint="name it with uprn=COLUMN")
    if (x is None) != (y is None):
        raise DataError("Give both the x= and y= columns", path=path, hint=f"columns found: {found}")
    if x is not None:
        xcol, ycol = _named(columns, x, "x coordinate", path), _named(columns, y, "y coordinate", path)
        if crs is not None:
            return {"uprn": ucol, "x": xcol, "y": ycol}, to_crs(crs), "crs option"
        if _norm(xcol) in LON_NAMES and _norm(ycol) in LAT_NAMES:
            return {"uprn": ucol, "x": xcol, "y": ycol}, to_crs(WGS84), "longitude/latitude columns"
        if (_norm(xcol), _norm(ycol)) in _OS_BNG_NAMES:
            return {"uprn": ucol, "x": xcol, "y": ycol}, to_crs(BNG), "OS column names (British National Grid)"
        raise MissingCrsError(f"The gazetteer CSV has coordinates in {xcol!r}/{ycol!r} but does not say which "
                              "coordinate reference system", path=path,
                              hint="give crs=, e.g. EPSG:27700 for British National Grid")
    xcol, ycol = _pick(columns, X_NAMES), _pick(columns, Y_NAMES)
    loncol, latcol = _pick(columns, LON_NAMES), _pick(columns, LAT_NAMES)
    if xcol and ycol and (crs is not None or (_norm(xcol), _norm(ycol)) in _OS_BNG_NAMES):
        origin = "crs option" if crs is not None else "OS column names (British National Grid)"
        return {"uprn": ucol, "x": xcol, "y": ycol}, to_crs(crs if crs is not None else BNG), origin
    if loncol and latcol:
        if crs is not None and not to_crs(crs).is_geographic:
            raise DataError(f"crs={crs_id(crs)} was given but the only coordinates are latitude/longitude "
                            f"({latcol}/{loncol})", path=path, hint="leave crs out, or name x= and y=")
        return {"uprn": ucol, "x": loncol, "y": latcol}, to_crs(crs if crs is not None else WGS84), \
            "longitude/latitude columns"
    if xcol and ycol:
        raise MissingCrsError(f"The gazetteer CSV has coordinates in {xcol!r}/{ycol!r} but does not say which "
                              "coordinate reference system", path=path,
                              hint="give crs=, e.g. EPSG:27700 for British National Grid")
    raise DataError(f"No coordinate columns found in the gazetteer CSV (columns: {found})", path=path,
                    hint="expected X_COORDINATE/Y_COORDINATE, easting/northing or latitude/longitude; "
                         "or name them with x= and y=")


# --- reading the CSV -----------------------------------------------------------------------


@dataclass
class _Layout:
    encoding: str
    delimiter: str
    columns: list[str]
    header: bool


def _layout(path: Path) -> _Layout:
    """Encoding, delimiter and column names from the first line (no header -> '1', '2', ...)."""
    with open(path, "rb") as fh:
        head = fh.read(65536)
    if not head.strip():
        raise DataError("The gazetteer CSV is empty", path=path, hint="check the download or export finished")
    if b"\x00" in head:
        raise CorruptFileError("The gazetteer file is not a text (CSV) file", path=path,
                               hint="unzip the download first, or export it as CSV")
    encoding = "utf-8"
    if head.startswith(b"\xef\xbb\xbf"):
        encoding, head = "utf-8-sig", head[3:]
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start < len(head) - 4:  # not just a character cut at the end of the sample
            encoding = "cp1252"
        text = head.decode(encoding.replace("-sig", ""), errors="replace")
    first = text.splitlines()[0] if text.splitlines() else ""
    try:
        delimiter = csv.Sniffer().sniff(first, delimiters=",;\t|").delimiter
    except csv.Error:
        delimiter = ","
    fields = next(csv.reader(io.StringIO(first), delimiter=delimiter))
    # A header names columns; a data row (AddressBase files have none) holds at least one number.
    header = not any(re.fullmatch(r"\s*[-+]?\d+(\.\d*)?\s*", f) for f in fields)
    columns = [f.strip() for f in fields] if header else [str(i + 1) for i in range(len(fields))]
    return _Layout(encoding, delimiter, columns, header)


def _arrow_blocks(path: Path, layout: _Layout, cols: dict[str, str], tolerant: bool
                  ) -> Iterator[tuple[Any, Any, Any, int]]:
    """(uprn, x, y, bytes read so far) per block via pyarrow.  Fast mode reads UPRNs as int64
    and coordinates as float64 (nulls for blanks); tolerant mode reads text for parse_uprns."""
    import pyarrow as pa
    import pyarrow.csv as pacsv

    names = [cols["uprn"], cols["x"], cols["y"]]
    types = {n: pa.string() for n in names} if tolerant else \
        {cols["uprn"]: pa.int64(), cols["x"]: pa.float64(), cols["y"]: pa.float64()}
    read = pacsv.ReadOptions(block_size=READ_BLOCK_BYTES, encoding=layout.encoding.replace("-sig", ""),
                             column_names=None if layout.header else layout.columns)
    parse = pacsv.ParseOptions(delimiter=layout.delimiter)
    convert = pacsv.ConvertOptions(include_columns=names, column_types=types, null_values=_NULL_VALUES,
                                   strings_can_be_null=True, quoted_strings_can_be_null=True)
    source = pa.OSFile(str(path))
    try:
        reader = pacsv.open_csv(source, read_options=read, parse_options=parse, convert_options=convert)
        for batch in reader:
            yield batch.column(names[0]), batch.column(names[1]), batch.column(names[2]), source.tell()
    finally:
        source.close()


def _pandas_blocks(path: Path, layout: _Layout, cols: dict[str, str], tolerant: bool
                   ) -> Iterator[tuple[Any, Any, Any, int]]:
    """The same blocks via pandas chunks (used when pyarrow is not installed): always text."""
    import pandas as pd

    names = [cols["uprn"], cols["x"], cols["y"]]
    with open(path, "rb") as fh:
        chunks = pd.read_csv(fh, sep=layout.delimiter, encoding=layout.encoding, usecols=names, dtype=str,
                             header=0 if layout.header else None,
                             names=None if layout.header else layout.columns,
                             keep_default_na=False, chunksize=1_000_000)
        for chunk in chunks:
            yield chunk[names[0]], chunk[names[1]], chunk[names[2]], fh.tell()


def _block_arrays(u, x, y) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, dict[str, int]]:
    """(uprn int64, x, y, valid-UPRN mask, invalid counts by status) for one block."""
    import pyarrow as pa  # only reached with Arrow columns

    if pa.types.is_integer(u.type):
        ints = u.fill_null(0).to_numpy()
        blank = u.is_null().to_numpy(zero_copy_only=False)
        bad = ~blank & ((ints < UPRN_MIN) | (ints > UPRN_MAX))
        valid = ~blank & ~bad
        counts = {"blank": int(blank.sum()), "out_of_range": int(bad.sum())}
        uprn = np.where(valid, ints, 0)
    else:
        parsed = parse_uprns(u.to_pandas() if hasattr(u, "to_pandas") else u)
        uprn, valid = parsed.uprn, parsed.valid
        counts = {k: v for k, v in parsed.counts().items() if k not in ("ok", "recovered")}
    return uprn, _floats(x), _floats(y), valid, counts


def _floats(column) -> np.ndarray:
    import pandas as pd

    if hasattr(column, "type"):
        import pyarrow as pa

        if pa.types.is_floating(column.type):
            return column.to_numpy(zero_copy_only=False).astype(np.float64, copy=False)
        column = column.to_pandas()
    return pd.to_numeric(pd.Series(column).str.strip(), errors="coerce").to_numpy(dtype=np.float64)


def _pandas_block_arrays(u, x, y):
    parsed = parse_uprns(u)
    counts = {k: v for k, v in parsed.counts().items() if k not in ("ok", "recovered")}
    return parsed.uprn, _floats(x), _floats(y), parsed.valid, counts


# --- sorted runs and the merge -------------------------------------------------------------


class _Runs:
    """Sorted runs of (uprn, x, y) in a scratch folder (three column files per run), merged
    into the store.  Rows are gathered in preallocated buffers of ``RUN_ROWS``, so memory
    stays bounded by the run size whatever the file size."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.runs: list[tuple[str, int]] = []  # (file stem, rows)
        self._buffers: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None
        self._rows = 0

    def add(self, uprn: np.ndarray, x: np.ndarray, y: np.ndarray) -> None:
        while len(uprn):
            if self._buffers is None:
                self._buffers = (np.empty(RUN_ROWS, np.int64), np.empty(RUN_ROWS), np.empty(RUN_ROWS))
            take = min(RUN_ROWS - self._rows, len(uprn))
            for buffer, values in zip(self._buffers, (uprn, x, y)):
                buffer[self._rows:self._rows + take] = values[:take]
            self._rows += take
            uprn, x, y = uprn[take:], x[take:], y[take:]
            if self._rows == RUN_ROWS:
                self.flush()

    def flush(self) -> None:
        if not self._rows or self._buffers is None:
            return
        n, self._rows = self._rows, 0
        uprn, x, y = (b[:n] for b in self._buffers)
        order = None
        if n > 1 and not (uprn[1:] >= uprn[:-1]).all():
            # One fast unstable sort of unique keys (UPRN << 23 | row) is a stable sort by UPRN.
            keys = np.sort((uprn << _INDEX_BITS) | np.arange(n, dtype=np.int64))
            order = keys & ((1 << _INDEX_BITS) - 1)
            keys >>= _INDEX_BITS
            uprn = keys
        stem = f"run{len(self.runs):04d}"
        try:
            uprn.tofile(self.folder / f"{stem}.u")
            (x if order is None else x[order]).tofile(self.folder / f"{stem}.x")
            (y if order is None else y[order]).tofile(self.folder / f"{stem}.y")
        except OSError as exc:
            raise WriterError(f"Cannot write scratch data for the import: {exc.strerror or exc}", path=self.folder,
                              hint="the disk may be full: the import needs about 50 bytes per row free") from exc
        self.runs.append((stem, n))

    def release(self) -> None:
        self._buffers = None

    def _read(self, stem: str, column: str, dtype: str, start: int, count: int) -> np.ndarray:
        return np.fromfile(self.folder / f"{stem}.{column}", dtype=dtype, count=count, offset=start * 8)

    def merge_into(self, store: Path, feedback: Feedback, start: float, end: float
                   ) -> tuple[int, int, list[float]]:
        """Write the merged, de-duplicated columns; returns (stored, duplicates, bounds).

        Each step reads the next block of every run; everything up to the smallest last key
        among blocks that do not end their run is final (no later block holds a smaller or
        equal key), so it is merged with one stable sort (run order = file order, which keeps
        the first occurrence of a repeated UPRN first) and appended to the store."""
        self.flush()
        self.release()
        runs = [(stem, n) for stem, n in self.runs if n]
        total = sum(n for _, n in runs)
        block = max(1, MERGE_BLOCK_ROWS // max(1, len(runs)))
        pos = [0] * len(runs)
        stored = duplicates = done = 0
        bounds = [np.inf, np.inf, -np.inf, -np.inf]
        outs = {k: open(store / name, "wb") for k, (name, _) in _FILES.items()}
        try:
            while True:
                feedback.check_canceled()
                live = [i for i, (_, n) in enumerate(runs) if pos[i] < n]
                if not live:
                    break
                keys = {i: self._read(runs[i][0], "u", "<i8", pos[i], block) for i in live}
                open_ends = [keys[i][-1] for i in live if pos[i] + len(keys[i]) < runs[i][1]]
                limit = min(open_ends) if open_ends else None
                parts = []
                for i in live:
                    n = len(keys[i]) if limit is None else int(np.searchsorted(keys[i], limit, side="right"))
                    if n:
                        stem = runs[i][0]
                        parts.append((keys[i][:n], self._read(stem, "x", "<f8", pos[i], n),
                                      self._read(stem, "y", "<f8", pos[i], n)))
                    pos[i] += n
                uprn, x, y = (np.concatenate([p[j] for p in parts]) for j in range(3))
                if len(parts) > 1:
                    order = np.argsort(uprn, kind="stable")
                    uprn, x, y = uprn[order], x[order], y[order]
                first = np.ones(len(uprn), dtype=bool)
                first[1:] = uprn[1:] != uprn[:-1]
                duplicates += int(len(uprn) - first.sum())
                done += len(uprn)
                if not first.all():
                    uprn, x, y = uprn[first], x[first], y[first]
                stored += len(uprn)
                if len(uprn):
                    for k, values in (("uprn", uprn), ("x", x), ("y", y)):
                        values.tofile(outs[k])
                    bounds = [min(bounds[0], float(x.min())), min(bounds[1], float(y.min())),
                              max(bounds[2], float(x.max())), max(bounds[3], float(y.max()))]
                feedback.set_progress(start + (end - start) * done / max(total, 1))
        except OSError as exc:
            raise WriterError(f"Cannot write the gazetteer store: {exc.strerror or exc}", path=store,
                              hint="the disk may be full") from exc
        finally:
            for fh in outs.values():
                fh.close()
        return stored, duplicates, bounds if stored else [0.0, 0.0, 0.0, 0.0]


# --- import --------------------------------------------------------------------------------


def import_gazetteer(csv_path: str | Path, store_path: str | Path, feedback: Feedback | None = None,
                     uprn: str | None = None, x: str | None = None, y: str | None = None,
                     crs: Any = None) -> GazetteerStats:
    """Import a UPRN CSV into a gazetteer store folder at ``store_path`` (see module docstring).

    ``uprn``/``x``/``y`` name the columns (default: found by name); ``crs`` is the CRS of the
    x/y columns (default EPSG:27700 for OS names X_COORDINATE/Y_COORDINATE, EPSG:4326 for
    latitude/longitude).  Progress 0..100 and cancellation through ``feedback``.  Replaces an
    existing store at ``store_path`` only once the new one is complete.

    Raises ``MissingFileError``; ``DataError`` (empty file, no rows, a missing column: the
    message names the file and lists the columns found); ``MissingCrsError``;
    ``CorruptFileError`` (binary file, rows with the wrong number of fields as in a truncated
    download); ``WriterError`` (store folder not writable); ``CanceledError`` (nothing is
    left behind).
    """
    feedback = feedback if feedback is not None else Feedback()
    started = time.perf_counter()
    source = Path(csv_path).expanduser().resolve()
    target = Path(store_path).expanduser().resolve()
    if not source.is_file():
        raise MissingFileError("The gazetteer CSV does not exist", path=source)
    layout = _layout(source)
    cols, crs_found, crs_origin = choose_columns(layout.columns, source, uprn, x, y, crs)
    feedback.info(f"Reading UPRNs from {cols['uprn']!r}, coordinates from {cols['x']!r}/{cols['y']!r} "
                  f"({crs_id(crs_found)}: {crs_origin})")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".importing", dir=target.parent))
    except OSError as exc:
        raise WriterError(f"Cannot create the gazetteer store here: {exc.strerror or exc}", path=target,
                          hint="choose a folder you can write to") from exc
    try:
        stats = GazetteerStats(source=str(source), store=str(target), crs=crs_id(crs_found), columns=cols)
        os.chmod(staging, 0o755)  # mkdtemp makes it private; a store is ordinary shared data
        scratch = staging / "runs"
        scratch.mkdir()
        try:
            runs = _read_runs(source, layout, cols, scratch, stats, feedback, tolerant=False)
        except _NeedsTolerantRead:
            feedback.info("Some values are not plain numbers: reading the file again value by value")
            shutil.rmtree(scratch)
            scratch.mkdir()
            stats = GazetteerStats(source=str(source), store=str(target), crs=crs_id(crs_found), columns=cols)
            runs = _read_runs(source, layout, cols, scratch, stats, feedback, tolerant=True)
        if stats.rows == 0:
            raise DataError("The gazetteer CSV has a header but no rows", path=source,
                            hint="check the download or export finished")
        stored, duplicates, bounds = runs.merge_into(staging, feedback, 70, 98)
        shutil.rmtree(scratch)
        stats.stored, stats.duplicates = stored, duplicates
        stats.seconds = time.perf_counter() - started
        meta = {"version": STORE_VERSION, "count": stored, "crs": crs_id(crs_found), "crs_origin": crs_origin,
                "bounds": bounds, "source": str(source), "columns": cols,
                "imported": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "stats": stats.to_dict()}
        (staging / "meta.json").write_text(json.dumps(meta, indent=2), encoding="utf-8")
        feedback.check_canceled()
        _replace_folder(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    stats.seconds = time.perf_counter() - started
    feedback.set_progress(100)
    feedback.info(stats.summary_text())
    return stats


def arrow_available() -> bool:
    """True when pyarrow is installed (its CSV reader is several times faster than pandas')."""
    try:
        import pyarrow.csv  # noqa: F401
    except ImportError:
        return False
    return True


class _NeedsTolerantRead(Exception):
    """The typed (fast) read met a value that is not a plain number."""


def _read_runs(source: Path, layout: _Layout, cols: dict[str, str], scratch: Path, stats: GazetteerStats,
               feedback: Feedback, tolerant: bool) -> _Runs:
    """Pass 1: validate blocks and write sorted runs; fills the row counts of ``stats``."""
    size = max(source.stat().st_size, 1)
    runs = _Runs(scratch)
    invalid: dict[str, int] = {}
    if arrow_available():
        blocks, to_arrays = _arrow_blocks(source, layout, cols, tolerant), _block_arrays
    else:
        blocks, to_arrays = _pandas_blocks(source, layout, cols, tolerant), _pandas_block_arrays
    iterator = iter(blocks)
    while True:
        feedback.check_canceled()
        try:
            u, xs, ys, read_bytes = next(iterator)
        except StopIteration:
            break
        except GisDeskError:
            raise
        except Exception as exc:  # the CSV parser's own errors, made typed
            _raise_read_error(exc, source, tolerant)
        uprn, xv, yv, valid, counts = to_arrays(u, xs, ys)
        good = valid & np.isfinite(xv) & np.isfinite(yv)
        stats.rows += len(uprn)
        stats.bad_coordinates += int((valid & ~good).sum())
        for k, v in counts.items():
            invalid[k] = invalid.get(k, 0) + v
        runs.add(uprn[good], xv[good], yv[good])
        feedback.set_progress(70 * min(1.0, read_bytes / size))
    stats.invalid_by_status = {k: v for k, v in invalid.items() if v}
    stats.invalid_uprn = sum(stats.invalid_by_status.values())
    return runs


def _raise_read_error(exc: Exception, source: Path, tolerant: bool) -> None:
    text = str(exc)
    if "conversion error" in text.lower() and not tolerant:
        raise _NeedsTolerantRead() from exc
    if "empty" in text.lower() and "csv" in text.lower():
        raise DataError("The gazetteer CSV is empty", path=source) from exc
    if "columns" in text.lower() or "row" in text.lower() or "tokeniz" in text.lower() or "eof" in text.lower():
        raise CorruptFileError("The gazetteer CSV has a row with the wrong number of fields", path=source,
                               hint="the file may be truncated (an incomplete download or copy); "
                                    "download or export it again", details=text) from exc
    if isinstance(exc, (UnicodeDecodeError, ValueError)):
        raise CorruptFileError("The gazetteer CSV cannot be read", path=source,
                               hint="check it is a delimited text file", details=text) from exc
    if isinstance(exc, OSError):
        raise ReaderError(f"The gazetteer CSV cannot be read: {exc}", path=source) from exc
    raise exc


def _replace_folder(staging: Path, target: Path) -> None:
    """Move the finished store into place; an old store is removed only after the swap."""
    old = None
    try:
        if target.exists():
            if not (target / "meta.json").exists() and any(target.iterdir()):
                raise WriterError("A folder that is not a gazetteer store is in the way", path=target,
                                  hint="choose a new folder name for the store")
            old = target.with_name(f".{target.name}.old-{os.getpid()}")
            os.replace(target, old)
        os.replace(staging, target)
    except OSError as exc:
        if old is not None and not target.exists():
            os.replace(old, target)
        raise WriterError(f"Cannot put the gazetteer store in place: {exc.strerror or exc}", path=target) from exc
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
