"""Delimited text (CSV/TXT) with coordinate columns -> a point (or WKT geometry) dataset.

Geometry comes from, in this order:

1. the columns the caller names: ``wkt=`` or ``x=`` and ``y=``;
2. a WKT column (``wkt``, ``geometry``, ``geom``...) whose values parse as WKT;
3. X/Y columns (``x``/``y``, ``easting``/``northing``, ``X_COORDINATE``/``Y_COORDINATE``,
   ``GeoX``/``GeoY``...) when a CRS is known;
4. latitude/longitude columns (``lat``/``latitude``, ``lon``/``lng``/``long``/``longitude``),
   which mean WGS84 (EPSG:4326);
5. X/Y columns without a CRS -> ``MissingCrsError``.

Names match case-insensitively, ignoring spaces, underscores and hyphens.  X/Y CRS, never
guessed: stated by the file (a CRS column with one known value such as ``WGS84`` or
``EPSG:27700``, an EWKT ``SRID=n;`` prefix, or a ``.prj`` sidecar), else the ``crs`` option,
else ``MissingCrsError``.

Every column is read as text first so identifiers keep their exact characters (UPRNs,
postcodes, CHI numbers with leading zeros); then columns whose every value is a number are
converted, except identifier-like ones (names with uprn, id, code, postcode, chi, nhs...).
Rows with blank or unusable coordinates are KEPT with an empty geometry and counted in
``skipped_geometry_rows``; no row is ever dropped.
"""

from __future__ import annotations

import csv
import logging
import re
from pathlib import Path
from typing import Any

import numpy as np

from gis_desk.core.crs import WGS84, crs_id, to_crs
from gis_desk.core.datasets import DataSource, VectorDataset
from gis_desk.errors import CorruptFileError, CrsError, DataError, MissingCrsError

log = logging.getLogger(__name__)

# Normalised names (lower case, letters and digits only), most specific first.
X_NAMES = ("x", "xcoordinate", "xcoord", "geox", "easting", "eastings", "pointx", "coordx", "bngx", "east")
Y_NAMES = ("y", "ycoordinate", "ycoord", "geoy", "northing", "northings", "pointy", "coordy", "bngy", "north")
LON_NAMES = ("longitude", "lon", "lng", "long", "geolongitude", "geolon")
LAT_NAMES = ("latitude", "lat", "geolatitude", "geolat")
WKT_NAMES = ("wkt", "geometry", "geom", "thegeom", "wktgeom", "geometrywkt", "shape")
CRS_COLUMN_NAMES = ("crs", "coordinatereferencesystem", "srs", "srid", "epsg", "spatialreference",
                    "coordinatesystem", "projection")
# Values a CRS column may hold -> CRS (normalised like the column names).
KNOWN_CRS_VALUES = {
    **dict.fromkeys(("wgs84", "wgs1984", "epsg4326", "4326", "crs84", "ogccrs84", "latlong", "latlon"), WGS84),
    **dict.fromkeys(("osgb36", "osgb1936", "bng", "britishnationalgrid", "osgb1936britishnationalgrid",
                     "osgb36britishnationalgrid", "epsg27700", "27700", "osnationalgrid", "nationalgrid"),
                    "EPSG:27700"),
    **dict.fromkeys(("etrs89", "epsg4258", "4258"), "EPSG:4258"),
    **dict.fromkeys(("irishgrid", "tm65irishgrid", "epsg29903", "29903"), "EPSG:29903"),
    **dict.fromkeys(("itm", "irishtransversemercator", "epsg2157", "2157"), "EPSG:2157"),
    **dict.fromkeys(("webmercator", "epsg3857", "3857"), "EPSG:3857"),
}
# Identifier-like columns always stay text (word tokens of the column name, or substrings).
ID_TOKENS = {"id", "ids", "uprn", "usrn", "toid", "code", "codes", "cd", "postcode", "pc", "chi", "nhs",
             "ref", "fid", "objectid", "gid"}
ID_SUBSTRINGS = ("uprn", "postcode", "nhs", "usrn")
_EWKT_SRID = re.compile(r"^\s*SRID=(\d+);", re.IGNORECASE)


def _norm(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", str(name).lower())


def _tokens(name: str) -> list[str]:
    """'AssetCode' -> ['asset', 'code']; 'LSOA11CD' -> ['lsoa', '11', 'cd']; 'nhs_no' -> ['nhs', 'no']."""
    return [t.lower() for t in re.findall(r"[A-Z]+(?=[A-Z][a-z]|\d|\b|_)|[A-Z]?[a-z]+|[A-Z]+|\d+", str(name))]


def is_identifier_column(name: str) -> bool:
    """True for columns that must stay text even when every value looks like a number."""
    low = str(name).lower()
    return any(s in low for s in ID_SUBSTRINGS) or any(t in ID_TOKENS for t in _tokens(name))


class CsvPointsDataset(VectorDataset):
    """A ``VectorDataset`` read from delimited text.

    ``skipped_geometry_rows``: rows kept with an empty geometry because their coordinates were
    blank or unusable.  ``geometry_columns``: the columns the geometry came from.
    ``crs_origin``: where the CRS came from ('lat/lon columns', 'CRS column ...', ...).
    """

    def __init__(self, source: DataSource, frame, *, skipped_geometry_rows: int,
                 geometry_columns: dict[str, str], crs_origin: str) -> None:
        super().__init__(source, frame, driver="CSV")
        self.skipped_geometry_rows = int(skipped_geometry_rows)
        self.geometry_columns = dict(geometry_columns)
        self.crs_origin = crs_origin

    def info(self) -> dict[str, Any]:
        d = super().info()
        d["geometry_columns"] = dict(self.geometry_columns)
        d["crs_origin"] = self.crs_origin
        d["skipped_geometry_rows"] = self.skipped_geometry_rows
        if self.skipped_geometry_rows:
            d["notes"] = [f"{self.skipped_geometry_rows} of {len(self)} rows have blank or unusable "
                          "coordinates: kept in the table without a location"]
        return d


# --- reading text ----------------------------------------------------------------------------


def _sniff(path: Path, encoding: str | None, delimiter: str | None) -> tuple[str, str]:
    """(encoding, delimiter) for the file; UTF-8 (with or without BOM), else Windows-1252."""
    with open(path, "rb") as fh:
        sample = fh.read(65536)
    if b"\x00" in sample:
        raise CorruptFileError("The file is not a text (CSV) file", path=path,
                               hint="it may be a spreadsheet or another format renamed to .csv; "
                                    "save it as CSV from the program that made it")
    if not encoding:
        encoding = "utf-8-sig"
        try:
            sample.decode(encoding)
        except UnicodeDecodeError as exc:
            # A cut at the end of the sample can split a multi-byte character; anything else
            # means the file is not UTF-8 (spreadsheet exports in the UK are often cp1252).
            if exc.start < len(sample) - 4:
                encoding = "cp1252"
    if not delimiter:
        text = sample.decode(encoding, errors="replace")
        try:
            delimiter = csv.Sniffer().sniff(text.split("\n", 20)[0] if text else ",", delimiters=",;\t|").delimiter
        except csv.Error:
            delimiter = ","
    return encoding, delimiter


def _read_text_table(path: Path, encoding: str | None, delimiter: str | None):
    import pandas as pd

    enc, sep = _sniff(path, encoding, delimiter)
    kw = dict(sep=sep, dtype=str, keep_default_na=False, na_filter=False, skip_blank_lines=True)
    try:
        try:
            frame = pd.read_csv(path, encoding=enc, **kw)
        except UnicodeDecodeError:
            if encoding:  # the caller's encoding is wrong: say so rather than second-guess it
                raise
            enc = "cp1252"
            frame = pd.read_csv(path, encoding=enc, **kw)
    except pd.errors.EmptyDataError as exc:
        raise DataError("The CSV file is empty", path=path) from exc
    except (pd.errors.ParserError, UnicodeDecodeError, ValueError) as exc:
        raise CorruptFileError("The CSV file cannot be read as a table", path=path,
                               hint="check the delimiter and quoting, or open and re-save it as CSV",
                               details=str(exc)) from exc
    return frame, enc, sep


# --- choosing columns ------------------------------------------------------------------------


def _find(columns: list[str], wanted: tuple[str, ...]) -> str | None:
    by_norm: dict[str, str] = {}
    for c in columns:
        by_norm.setdefault(_norm(c), c)
    for name in wanted:
        if name in by_norm:
            return by_norm[name]
    return None


def _require(columns: list[str], name: str, path: Path) -> str:
    if name in columns:
        return name
    match = [c for c in columns if c.lower() == str(name).lower()]
    if match:
        return match[0]
    raise DataError(f"There is no column {name!r} in the CSV", path=path,
                    hint=f"columns found: {', '.join(columns)}")


def _crs_from_file(frame, path: Path) -> tuple[Any, str] | None:
    """The CRS the file itself states: one known value in a CRS column, or a .prj sidecar."""
    col = _find(list(frame.columns), CRS_COLUMN_NAMES)
    if col is not None:
        values = {v.strip() for v in frame[col].tolist() if v and v.strip()}
        if len(values) == 1:
            value = values.pop()
            known = KNOWN_CRS_VALUES.get(_norm(value))
            try:
                crs = to_crs(known or value)
            except CrsError:
                crs = None
            if crs is not None:
                return crs, f"CRS column {col!r} = {value!r}"
            log.warning("%s: CRS column %r holds %r, which is not a known CRS", path, col, value)
        elif len(values) > 1:
            log.warning("%s: CRS column %r holds several values %s; not used", path, col, sorted(values))
    for prj in (path.with_suffix(".prj"), path.with_suffix(".PRJ")):
        if prj.exists():
            try:
                return to_crs(prj.read_text(errors="replace")), f"{prj.name} sidecar"
            except CrsError:
                log.warning("%s: %s is not a valid CRS definition; ignored", path, prj.name)
    return None


def _parse_wkt(values, path: Path):
    """(geometries with empty ones where unparseable, number unparseable, SRIDs seen)."""
    import shapely

    texts = np.array([v.strip() for v in values], dtype=object)
    srids = set()
    for i, t in enumerate(texts):
        m = _EWKT_SRID.match(t)
        if m:
            srids.add(int(m.group(1)))
            texts[i] = t[m.end():]
    geoms = shapely.from_wkt(np.where(texts == "", None, texts), on_invalid="ignore")
    ok = ~shapely.is_missing(geoms)
    if ok.any():
        types, counts = np.unique(shapely.get_type_id(geoms[ok]), return_counts=True)
        empty = shapely.from_wkt(f"{shapely.GeometryType(types[np.argmax(counts)]).name} EMPTY")
    else:
        empty = shapely.from_wkt("POINT EMPTY")
    geoms[~ok] = empty
    return geoms, int((~ok).sum()), srids


def _points(xs, ys, geographic: bool):
    """Points from text columns; blank, non-numeric, infinite (or out-of-range lat/lon) -> empty."""
    import pandas as pd
    import shapely

    x = pd.to_numeric(pd.Series(xs).str.strip(), errors="coerce").to_numpy(dtype="float64")
    y = pd.to_numeric(pd.Series(ys).str.strip(), errors="coerce").to_numpy(dtype="float64")
    ok = np.isfinite(x) & np.isfinite(y)
    if geographic:
        ok &= (np.abs(x) <= 180) & (np.abs(y) <= 90)
    geoms = np.empty(len(x), dtype=object)
    geoms[ok] = shapely.points(x[ok], y[ok])
    geoms[~ok] = shapely.Point()
    return geoms, int((~ok).sum())


def _accepted_names_hint() -> str:
    return ("accepted: X/Y columns (" + ", ".join(X_NAMES[:5]) + " / " + ", ".join(Y_NAMES[:5]) +
            "...), latitude/longitude (" + ", ".join(LAT_NAMES[:2] + LON_NAMES[:4]) +
            ") or WKT (" + ", ".join(WKT_NAMES[:3]) + "); or choose the columns (x=, y= or wkt=)")


# --- numbers ---------------------------------------------------------------------------------


def convert_numeric_columns(frame, keep_text: set[str] = frozenset()) -> None:
    """In place: text columns whose every non-blank value is a number become int64 (all
    integers, none blank) or float64 (blanks -> NaN).  Identifier-like columns, columns with
    leading zeros ('007') and integers too long for a float stay text."""
    import pandas as pd

    for col in frame.columns:
        if col in keep_text or is_identifier_column(col):
            continue
        text = frame[col].astype(str).str.strip()
        blank = text == ""
        values = text[~blank]
        if values.empty or values.str.match(r"^[+-]?0\d").any():
            continue
        numbers = pd.to_numeric(values, errors="coerce")
        if numbers.isna().any() or not np.isfinite(numbers.to_numpy(dtype="float64")).all():
            continue
        integer = values.str.fullmatch(r"[+-]?\d+").all()
        if integer and values.str.len().max() > 15:  # beyond float precision: keep digits
            continue
        if integer and not blank.any():
            frame[col] = numbers.astype("int64").to_numpy()
        else:
            frame[col] = pd.to_numeric(text.where(~blank), errors="coerce").astype("float64").to_numpy()


# --- the reader ------------------------------------------------------------------------------


def read_csv_points(path, *, crs: Any = None, x: str | None = None, y: str | None = None,
                    wkt: str | None = None, delimiter: str | None = None, encoding: str | None = None,
                    **ignored) -> list[CsvPointsDataset]:
    """Read a CSV/TXT file with coordinate columns as one dataset (see the module docstring).

    ``crs`` is used only when the file states none.  ``x``/``y`` or ``wkt`` name the geometry
    columns (case-insensitive); ``delimiter`` and ``encoding`` override detection.

    Raises ``MissingFileError``, ``CorruptFileError`` (binary or unparseable), ``DataError``
    (no coordinate columns: the message lists the columns found and the names accepted; a
    named column that does not exist), ``MissingCrsError`` (X/Y or WKT without a CRS).
    """
    import geopandas as gpd

    from gis_desk.errors import MissingFileError

    path = Path(path).resolve()
    if not path.exists():
        raise MissingFileError("The file does not exist", path=path)
    if ignored:
        log.warning("%s: ignoring reader options %s", path, sorted(ignored))
    frame, _enc, _sep = _read_text_table(path, encoding, delimiter)
    columns = [str(c) for c in frame.columns]
    if (x is None) != (y is None):
        raise DataError("Give both the x= and y= columns", path=path, hint=f"columns found: {', '.join(columns)}")

    def stated_crs():
        return _crs_from_file(frame, path)

    geoms = None
    srids: set[int] = set()
    used: dict[str, str] = {}
    crs_found: tuple[Any, str] | None = None
    if wkt is not None:
        used = {"wkt": _require(columns, wkt, path)}
    elif x is not None:
        xcol, ycol = _require(columns, x, path), _require(columns, y, path)
        used = {"x": xcol, "y": ycol}
        if _norm(xcol) in LON_NAMES and _norm(ycol) in LAT_NAMES:
            crs_found = (to_crs(WGS84), "latitude/longitude columns")
    else:
        wkt_col = _find(columns, WKT_NAMES)
        if wkt_col is not None:
            parsed = _parse_wkt(frame[wkt_col].tolist(), path)
            if parsed[1] < len(frame):  # at least one value is WKT: it is a geometry column
                used, (geoms, skipped, srids) = {"wkt": wkt_col}, parsed
        if not used:
            xcol, ycol = _find(columns, X_NAMES), _find(columns, Y_NAMES)
            loncol, latcol = _find(columns, LON_NAMES), _find(columns, LAT_NAMES)
            has_xy = xcol is not None and ycol is not None
            crs_found = stated_crs() if has_xy else None
            if has_xy and (crs_found or crs is not None or loncol is None or latcol is None):
                used = {"x": xcol, "y": ycol}
            elif loncol is not None and latcol is not None:
                used = {"x": loncol, "y": latcol}
                crs_found = (to_crs(WGS84), "latitude/longitude columns")
            else:
                raise DataError(
                    "No coordinate columns found in the CSV (columns: " + ", ".join(columns) + ")",
                    path=path, hint=_accepted_names_hint())

    if "wkt" in used and geoms is None:
        geoms, skipped, srids = _parse_wkt(frame[used["wkt"]].tolist(), path)
    if "wkt" in used and len(srids) == 1:
        crs_found = (to_crs(f"EPSG:{srids.pop()}"), "EWKT SRID")
    if crs_found is None:
        crs_found = stated_crs()
    options: dict[str, Any] = dict(used)
    if crs_found is None:
        if crs is None:
            cols = "/".join(used.values())
            raise MissingCrsError(
                f"The CSV has coordinates in {cols!r} but does not say which coordinate reference system",
                path=path, hint="choose the CRS (GUI prompt) or give --crs, e.g. --crs EPSG:27700 for "
                                "British National Grid eastings/northings")
        crs_found = (to_crs(crs), "crs option")
        options["crs"] = crs_id(crs_found[0])
    if "x" in used:
        geographic = bool(crs_found[0].is_geographic)
        geoms, skipped = _points(frame[used["x"]].tolist(), frame[used["y"]].tolist(), geographic)
    if "wkt" in used:
        frame = frame.drop(columns=[used["wkt"]])  # it becomes the geometry
    convert_numeric_columns(frame)
    geometry_name = "geometry" if "geometry" not in frame.columns else "_geometry"
    frame[geometry_name] = gpd.GeoSeries(geoms, index=frame.index, crs=crs_found[0])
    gdf = gpd.GeoDataFrame(frame, geometry=geometry_name, crs=crs_found[0])
    if delimiter:
        options["delimiter"] = delimiter
    if encoding:
        options["encoding"] = encoding
    if skipped:
        log.info("%s: %d rows without usable coordinates kept without a location", path, skipped)
    return [CsvPointsDataset(DataSource(str(path), options=options), gdf, skipped_geometry_rows=skipped,
                             geometry_columns=used, crs_origin=crs_found[1])]
