"""Offline basemaps: tile pyramids in MBTiles and GeoPackage files, read and written.

Reading: ``MBTilesDataset`` (EPSG:3857, TMS row order in the file) and ``GpkgTilesDataset``
(``gpkg_tile_matrix_set``/``gpkg_tile_matrix``, any CRS such as EPSG:27700).  Both decode
PNG/JPEG/WebP tiles with Pillow, only for tiles in view, and keep recently decoded tiles in a
small LRU cache.  Thread-safe: one SQLite connection per thread.

Writing a generated basemap (e.g. rendered with the project renderer)::

    grid = TileGrid.for_extent((xmin, ymin, xmax, ymax), "EPSG:27700", finest_resolution=2.0)
    def render(zoom, col, row, bounds):          # bounds in grid CRS; return (256, 256, 4) uint8
        return my_renderer.render(bounds, 256, 256)
    write_gpkg_tiles("basemap.gpkg", grid, render, table="basemap")

    web = TileGrid.web_mercator(range(10, 16))  # MBTiles must use the web mercator grid
    write_mbtiles("basemap.mbtiles", web, render, data_extent=extent_in_3857, name="Trafford")

``tiles`` may also be an iterable of ``(zoom, col, row, rgba)``.  Rows count from the TOP
(row 0 at the grid's north edge) in every API here; the MBTiles writer flips them to TMS.
Fully transparent tiles are not stored (a reader treats missing tiles as transparent).
"""

from __future__ import annotations

import io
import logging
import math
import os
import sqlite3
import tempfile
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

import numpy as np

from gis_desk.core.crs import crs_id, crs_name, to_crs, transform_bounds
from gis_desk.core.datasets import DataSource, TileDataset
from gis_desk.errors import CorruptFileError, CrsError, DataError, MissingCrsError, MissingFileError, WriterError

log = logging.getLogger(__name__)

WEB_MERCATOR = "EPSG:3857"
WEB_MERCATOR_HALF = 20037508.342789244  # half the width of the EPSG:3857 world, metres
SQLITE_MAGIC = b"SQLite format 3\x00"
GPKG_APPLICATION_ID = 0x47504B47  # 'GPKG'
FORMATS = {"png": "PNG", "jpeg": "JPEG", "jpg": "JPEG", "webp": "WEBP"}

Bounds = tuple[float, float, float, float]


# --- the grid -------------------------------------------------------------------------------


@dataclass(frozen=True)
class TileMatrix:
    """One zoom level: ``resolution`` in CRS units per pixel (x and y), matrix size in tiles."""

    zoom: int
    resolution_x: float
    resolution_y: float
    matrix_width: int
    matrix_height: int
    tile_width: int = 256
    tile_height: int = 256

    @property
    def span_x(self) -> float:
        return self.resolution_x * self.tile_width

    @property
    def span_y(self) -> float:
        return self.resolution_y * self.tile_height


@dataclass
class TileGrid:
    """A tile pyramid layout: top-left ``origin`` in ``crs`` and one ``TileMatrix`` per zoom.

    Tile (col, row) of zoom z covers x from origin_x + col*span_x, y down from
    origin_y - row*span_y (row 0 at the top).
    """

    crs: Any
    origin_x: float
    origin_y: float
    matrices: dict[int, TileMatrix] = field(default_factory=dict)

    @classmethod
    def for_extent(cls, extent: Bounds, crs: Any, finest_resolution: float, levels: int | None = None,
                   tile_size: int = 256) -> "TileGrid":
        """A grid over ``extent`` (xmin, ymin, xmax, ymax in ``crs``) whose finest zoom has
        ``finest_resolution`` CRS units per pixel and each coarser zoom twice that, down to
        zoom 0 (default: as many levels as needed for zoom 0 to be about one tile).  The
        grid's top-left is the extent's top-left; it may reach beyond the bottom/right."""
        xmin, ymin, xmax, ymax = (float(v) for v in extent)
        if not (xmax > xmin and ymax > ymin and finest_resolution > 0):
            raise ValueError(f"extent {extent} must have xmax > xmin, ymax > ymin and a positive resolution")
        if levels is None:
            tiles_across = max(xmax - xmin, ymax - ymin) / (finest_resolution * tile_size)
            levels = max(1, math.ceil(math.log2(max(tiles_across, 1.0))) + 1)
        coarsest = finest_resolution * 2 ** (levels - 1)
        n_w = max(1, math.ceil((xmax - xmin) / (coarsest * tile_size) - 1e-9))
        n_h = max(1, math.ceil((ymax - ymin) / (coarsest * tile_size) - 1e-9))
        matrices = {z: TileMatrix(z, coarsest / 2 ** z, coarsest / 2 ** z, n_w * 2 ** z, n_h * 2 ** z,
                                  tile_size, tile_size) for z in range(levels)}
        return cls(to_crs(crs), xmin, ymax, matrices)

    @classmethod
    def web_mercator(cls, zooms: Iterable[int], tile_size: int = 256) -> "TileGrid":
        """The EPSG:3857 'XYZ' grid used by MBTiles and web maps, for the given zooms."""
        matrices = {}
        for z in zooms:
            res = 2 * WEB_MERCATOR_HALF / (tile_size * 2 ** z)
            matrices[int(z)] = TileMatrix(int(z), res, res, 2 ** z, 2 ** z, tile_size, tile_size)
        return cls(to_crs(WEB_MERCATOR), -WEB_MERCATOR_HALF, WEB_MERCATOR_HALF, matrices)

    @property
    def zooms(self) -> list[int]:
        return sorted(self.matrices)

    @property
    def extent(self) -> Bounds:
        """The grid's full extent (from the coarsest zoom)."""
        m = self.matrices[self.zooms[0]]
        return (self.origin_x, self.origin_y - m.matrix_height * m.span_y,
                self.origin_x + m.matrix_width * m.span_x, self.origin_y)

    def tile_bounds(self, zoom: int, col: int, row: int) -> Bounds:
        m = self.matrices[zoom]
        x0 = self.origin_x + col * m.span_x
        y1 = self.origin_y - row * m.span_y
        return (x0, y1 - m.span_y, x0 + m.span_x, y1)

    def tile_range(self, zoom: int, bounds: Bounds) -> tuple[range, range]:
        """Columns and rows of ``zoom`` whose tiles intersect ``bounds`` (may be empty)."""
        m = self.matrices[zoom]
        xmin, ymin, xmax, ymax = bounds
        eps = 1e-9
        c0 = max(0, math.floor((xmin - self.origin_x) / m.span_x + eps))
        c1 = min(m.matrix_width - 1, math.ceil((xmax - self.origin_x) / m.span_x - eps) - 1)
        r0 = max(0, math.floor((self.origin_y - ymax) / m.span_y + eps))
        r1 = min(m.matrix_height - 1, math.ceil((self.origin_y - ymin) / m.span_y - eps) - 1)
        return range(c0, c1 + 1), range(r0, r1 + 1)

    def iter_tiles(self, bounds: Bounds | None = None, zooms: Iterable[int] | None = None
                   ) -> Iterator[tuple[int, int, int, Bounds]]:
        """``(zoom, col, row, tile_bounds)`` for every tile meeting ``bounds`` (default: all)."""
        for z in (sorted(zooms) if zooms is not None else self.zooms):
            cols, rows = self.tile_range(z, bounds or self.extent)
            for row in rows:
                for col in cols:
                    yield z, col, row, self.tile_bounds(z, col, row)

    def count_tiles(self, bounds: Bounds | None = None) -> int:
        total = 0
        for z in self.zooms:
            cols, rows = self.tile_range(z, bounds or self.extent)
            total += len(cols) * len(rows)
        return total

    def best_zoom(self, pixel_size: float) -> int:
        """The zoom whose resolution is closest (in ratio) to ``pixel_size``; finer on a tie."""
        return min(self.zooms, key=lambda z: (abs(math.log(self.matrices[z].resolution_x / pixel_size)), -z))


# --- reading --------------------------------------------------------------------------------


def decode_tile(blob: bytes) -> np.ndarray:
    """PNG/JPEG/WebP bytes -> RGBA uint8 array (h, w, 4).  Raises ``OSError``/``ValueError``."""
    from PIL import Image

    with Image.open(io.BytesIO(blob)) as img:
        return np.asarray(img.convert("RGBA"), dtype=np.uint8)


class SqliteTileDataset(TileDataset):
    """Shared by MBTiles and GeoPackage tiles: a ``TileGrid`` plus a SQLite table of tiles."""

    table: str
    tms_rows = False  # MBTiles store rows counted from the bottom
    cache_size = 256  # decoded tiles kept (256 x 256 x 4 bytes each: 64 MB at most)

    def __init__(self, path: Path, grid: TileGrid, data_bounds: Bounds, source: DataSource,
                 tile_format: str) -> None:
        self.path = str(path)
        self.grid = grid
        self.crs = grid.crs
        self.bounds = tuple(float(v) for v in data_bounds)
        self.source = source
        self.tile_format = tile_format
        self._local = threading.local()
        self._connections: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        self._cache: OrderedDict[tuple[int, int, int], np.ndarray | None] = OrderedDict()

    def _connection(self) -> sqlite3.Connection:
        con = getattr(self._local, "con", None)
        if con is None:
            con = sqlite3.connect(f"{Path(self.path).as_uri()}?mode=ro", uri=True, check_same_thread=False)
            self._local.con = con
            with self._lock:
                self._connections.append(con)
        return con

    def close(self) -> None:
        with self._lock:
            cons, self._connections = self._connections, []
            self._cache.clear()
        for con in cons:
            con.close()
        self._local = threading.local()

    def _file_row(self, zoom: int, row: int) -> int:
        return self.grid.matrices[zoom].matrix_height - 1 - row if self.tms_rows else row

    def _fetch(self, zoom: int, cols: range, rows: range) -> dict[tuple[int, int], bytes]:
        r_a, r_b = self._file_row(zoom, rows.start), self._file_row(zoom, rows[-1])
        sql = (f'SELECT tile_column, tile_row, tile_data FROM "{self.table}" WHERE zoom_level = ? '
               "AND tile_column BETWEEN ? AND ? AND tile_row BETWEEN ? AND ?")
        found = self._connection().execute(sql, (zoom, cols.start, cols[-1], min(r_a, r_b), max(r_a, r_b)))
        return {(int(c), self._file_row(zoom, int(r))): blob for c, r, blob in found}

    def tiles_for(self, bounds: Bounds, pixel_size: float):
        """Tiles covering ``bounds`` (dataset CRS) at the zoom closest to ``pixel_size`` (CRS
        units per screen pixel).  Yields ``(tile_bounds, rgba uint8 (h, w, 4))``; tiles absent
        from the file (transparent) or undecodable (logged) are skipped."""
        xmin, ymin, xmax, ymax = bounds
        dx0, dy0, dx1, dy1 = self.bounds
        view = (max(xmin, dx0), max(ymin, dy0), min(xmax, dx1), min(ymax, dy1))
        if view[2] <= view[0] or view[3] <= view[1] or not pixel_size > 0:
            return
        zoom = self.grid.best_zoom(pixel_size)
        cols, rows = self.grid.tile_range(zoom, view)
        if not cols or not rows:
            return
        wanted = [(zoom, c, r) for r in rows for c in cols]
        with self._lock:
            cached = {k: self._cache[k] for k in wanted if k in self._cache}
            for k in cached:
                self._cache.move_to_end(k)
        blobs = self._fetch(zoom, cols, rows) if len(cached) < len(wanted) else {}
        for key in wanted:
            if key in cached:
                rgba = cached[key]
            else:
                blob = blobs.get(key[1:])
                rgba = None
                if blob is not None:
                    try:
                        rgba = decode_tile(blob)
                    except (OSError, ValueError) as exc:
                        log.warning("%s: tile %s cannot be decoded: %s", self.path, key, exc)
                self._remember(key, rgba)
            if rgba is not None:
                yield self.grid.tile_bounds(*key), rgba

    def _remember(self, key, rgba) -> None:
        with self._lock:
            self._cache[key] = rgba
            while len(self._cache) > self.cache_size:
                self._cache.popitem(last=False)

    def info(self) -> dict[str, Any]:
        zooms = self.grid.zooms
        m = self.grid.matrices
        return {
            "kind": "tiles",
            "path": self.path,
            "driver": self.driver,
            "table": self.table if isinstance(self, GpkgTilesDataset) else None,
            "crs": crs_id(self.crs),
            "crs_name": crs_name(self.crs),
            "extent": list(self.bounds),
            "zooms": zooms,
            "tile_size": [m[zooms[-1]].tile_width, m[zooms[-1]].tile_height] if zooms else None,
            "resolutions": [m[z].resolution_x for z in zooms],
            "tile_format": self.tile_format,
        }


def _check_sqlite(path: Path, kind: str) -> None:
    if not path.exists():
        raise MissingFileError("The file does not exist", path=path,
                               hint="it may have been moved, renamed or be on a drive that is not connected")
    with open(path, "rb") as fh:
        if fh.read(len(SQLITE_MAGIC)) != SQLITE_MAGIC:
            raise CorruptFileError(f"The file is not a valid {kind}", path=path,
                                   hint=f"it may be another kind of file renamed, or damaged; export the {kind} again")


def _open_ro(path: Path) -> sqlite3.Connection:
    return sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True)


def _sniff_format(blob: bytes | None) -> str:
    if not blob:
        return "unknown"
    if blob.startswith(b"\x89PNG"):
        return "png"
    if blob.startswith(b"\xff\xd8"):
        return "jpeg"
    if blob[:4] == b"RIFF" and blob[8:12] == b"WEBP":
        return "webp"
    return "unknown"


class MBTilesDataset(SqliteTileDataset):
    """An MBTiles file (EPSG:3857, TMS rows).  Zooms present are read from the tiles table."""

    driver = "MBTiles"
    table = "tiles"
    tms_rows = True


def read_mbtiles(path: str | os.PathLike, **options) -> list[MBTilesDataset]:
    """Open an MBTiles basemap (always EPSG:3857, so a ``crs`` option is never needed).
    Raises ``MissingFileError``, ``CorruptFileError`` (not SQLite, no tiles table, first tile
    undecodable), ``DataError`` (no tiles)."""
    path = Path(path).resolve()
    _check_sqlite(path, "MBTiles file")
    options.pop("crs", None)
    if options:
        log.warning("%s: ignoring reader options %s", path, sorted(options))
    try:
        with _open_ro(path) as con:
            meta = dict(con.execute("SELECT name, value FROM metadata").fetchall())
            zooms = _distinct_zooms(con, "tiles")
            first = con.execute("SELECT tile_data FROM tiles LIMIT 1").fetchone()
            if zooms:
                top = zooms[-1]
                c0, c1, r0, r1 = con.execute("SELECT MIN(tile_column), MAX(tile_column), MIN(tile_row), "
                                             "MAX(tile_row) FROM tiles WHERE zoom_level = ?", (top,)).fetchone()
    except sqlite3.DatabaseError as exc:
        raise CorruptFileError("The file is not a valid MBTiles file (no tiles/metadata tables)", path=path,
                               details=str(exc)) from exc
    if not zooms or first is None:
        raise DataError("The MBTiles file contains no tiles", path=path)
    try:
        size = decode_tile(first[0]).shape
    except (OSError, ValueError) as exc:
        raise CorruptFileError("The MBTiles tiles cannot be decoded as images", path=path, details=str(exc)) from exc
    grid = TileGrid.web_mercator(zooms, tile_size=size[1])
    bounds = None
    if "bounds" in meta:
        try:
            w, s, e, n = (float(v) for v in str(meta["bounds"]).split(","))
            s, n = max(s, -85.0511287798), min(n, 85.0511287798)
            bounds = transform_bounds("EPSG:4326", WEB_MERCATOR, (w, s, e, n))
        except (ValueError, CrsError) as exc:  # a bad metadata value must not stop the basemap
            log.warning("%s: metadata bounds %r unusable (%s); using the tiles' extent", path, meta["bounds"], exc)
    if bounds is None:  # the extent of the tiles at the finest zoom
        n = grid.matrices[top].matrix_height
        x0, _, _, y1 = grid.tile_bounds(top, c0, n - 1 - r1)
        _, y0, x1, _ = grid.tile_bounds(top, c1, n - 1 - r0)
        bounds = (x0, y0, x1, y1)
    fmt = str(meta.get("format") or _sniff_format(first[0])).lower()
    return [MBTilesDataset(path, grid, bounds, DataSource(str(path)), fmt)]


def _distinct_zooms(con: sqlite3.Connection, table: str) -> list[int]:
    """Zoom levels present, found with index seeks (cheap even for millions of tiles)."""
    zooms: list[int] = []
    z = con.execute(f'SELECT MIN(zoom_level) FROM "{table}"').fetchone()[0]
    while z is not None:
        zooms.append(int(z))
        z = con.execute(f'SELECT MIN(zoom_level) FROM "{table}" WHERE zoom_level > ?', (z,)).fetchone()[0]
    return zooms


class GpkgTilesDataset(SqliteTileDataset):
    """A tile pyramid table of a GeoPackage (any CRS)."""

    driver = "GPKG"

    def __init__(self, *args, table: str, **kw) -> None:
        self.table = table
        super().__init__(*args, **kw)


def geopackage_tile_tables(path: str | os.PathLike) -> list[str]:
    """Names of the tile pyramid tables of a GeoPackage (``gpkg_contents.data_type = 'tiles'``).
    Raises ``sqlite3.DatabaseError`` when the file is not an SQLite database."""
    with _open_ro(Path(path).resolve()) as con:
        has = con.execute("SELECT 1 FROM sqlite_master WHERE name = 'gpkg_contents'").fetchone()
        if not has:
            return []
        return [r[0] for r in con.execute("SELECT table_name FROM gpkg_contents WHERE data_type = 'tiles' "
                                          "ORDER BY table_name")]


def _gpkg_crs(con: sqlite3.Connection, srs_id: int):
    row = con.execute("SELECT organization, organization_coordsys_id, definition FROM gpkg_spatial_ref_sys "
                      "WHERE srs_id = ?", (srs_id,)).fetchone()
    if row is None or srs_id in (-1, 0) or str(row[2]).strip().lower() == "undefined":
        return None
    org, code, definition = row
    if str(org).upper() == "EPSG":
        return to_crs(f"EPSG:{int(code)}")
    return to_crs(definition)


def read_gpkg_tiles(path: str | os.PathLike, table: str | None = None, crs: Any = None) -> list[GpkgTilesDataset]:
    """Open the tile pyramid ``table`` of a GeoPackage (default: every tile table).

    ``crs`` is used only when the tile matrix set's CRS is undefined.  Raises
    ``MissingFileError``, ``CorruptFileError``, ``DataError`` (no such table or no zoom
    levels), ``MissingCrsError``."""
    path = Path(path).resolve()
    _check_sqlite(path, "GeoPackage")
    try:
        tables = geopackage_tile_tables(path)
        if table is not None:
            if table not in tables:
                raise DataError(f"There is no tile table {table!r} in this GeoPackage", path=path,
                                hint=f"tile tables: {', '.join(tables) or 'none'}")
            tables = [table]
        datasets = []
        with _open_ro(path) as con:
            for name in tables:
                datasets.append(_gpkg_tile_dataset(con, path, name, crs))
        return datasets
    except sqlite3.DatabaseError as exc:
        raise CorruptFileError("The GeoPackage tile tables are damaged", path=path, details=str(exc)) from exc


def _gpkg_tile_dataset(con, path: Path, table: str, crs: Any) -> GpkgTilesDataset:
    srs_id, min_x, min_y, max_x, max_y = con.execute(
        "SELECT srs_id, min_x, min_y, max_x, max_y FROM gpkg_tile_matrix_set WHERE table_name = ?",
        (table,)).fetchone()
    options: dict[str, Any] = {"layer": table}
    tile_crs = _gpkg_crs(con, srs_id)
    if tile_crs is None:
        if crs is None:
            raise MissingCrsError(f"The tile table {table!r} has no coordinate reference system", path=path,
                                  hint="choose the CRS (GUI prompt) or give --crs")
        tile_crs = to_crs(crs)
        options["crs"] = crs_id(tile_crs)
    present = set(_distinct_zooms(con, table))
    matrices = {}
    for z, mw, mh, tw, th, px, py in con.execute(
            "SELECT zoom_level, matrix_width, matrix_height, tile_width, tile_height, pixel_x_size, "
            "pixel_y_size FROM gpkg_tile_matrix WHERE table_name = ? ORDER BY zoom_level", (table,)):
        if int(z) in present:
            matrices[int(z)] = TileMatrix(int(z), float(px), float(py), int(mw), int(mh), int(tw), int(th))
    if not matrices:
        raise DataError(f"The tile table {table!r} holds no tiles", path=path)
    grid = TileGrid(tile_crs, float(min_x), float(max_y), matrices)
    contents = con.execute("SELECT min_x, min_y, max_x, max_y, srs_id FROM gpkg_contents WHERE table_name = ?",
                           (table,)).fetchone()
    bounds = (min_x, min_y, max_x, max_y)
    if contents and None not in contents[:4] and contents[4] == srs_id:
        bounds = tuple(contents[:4])
    first = con.execute(f'SELECT tile_data FROM "{table}" LIMIT 1').fetchone()
    fmt = _sniff_format(first[0] if first else None)
    return GpkgTilesDataset(path, grid, bounds, DataSource(str(path), options=options), fmt, table=table)


# --- writing --------------------------------------------------------------------------------

TileSource = Callable[[int, int, int, Bounds], "np.ndarray | None"] | Iterable[tuple[int, int, int, np.ndarray]]


def encode_tile(rgba: np.ndarray, image_format: str = "png", quality: int = 85) -> bytes:
    """RGBA uint8 (h, w, 4) -> PNG/JPEG/WebP bytes.  JPEG has no alpha: transparent areas
    become white."""
    from PIL import Image

    fmt = FORMATS[image_format.lower()]
    img = Image.fromarray(np.ascontiguousarray(rgba, dtype=np.uint8), "RGBA")
    if fmt == "JPEG":
        background = Image.new("RGBA", img.size, (255, 255, 255, 255))
        img = Image.alpha_composite(background, img).convert("RGB")
    out = io.BytesIO()
    img.save(out, fmt, **({"quality": quality} if fmt in ("JPEG", "WEBP") else {}))
    return out.getvalue()


def _iter_source(grid: TileGrid, tiles: TileSource, data_extent: Bounds | None):
    if callable(tiles):
        for z, col, row, b in grid.iter_tiles(data_extent):
            yield z, col, row, tiles(z, col, row, b)
    else:
        yield from tiles


def _write_tiles(con: sqlite3.Connection, sql: str, grid: TileGrid, tiles: TileSource, data_extent,
                 image_format: str, quality: int, skip_empty: bool, feedback, row_of) -> int:
    total = grid.count_tiles(data_extent) if callable(tiles) else 0
    written = done = 0
    for z, col, row, rgba in _iter_source(grid, tiles, data_extent):
        done += 1
        if feedback is not None:
            feedback.check_canceled()
            if total:
                feedback.set_progress(100.0 * done / total)
        if rgba is None:
            continue
        m = grid.matrices.get(z)
        if m is None or not (0 <= col < m.matrix_width and 0 <= row < m.matrix_height):
            raise ValueError(f"tile ({z}, {col}, {row}) is outside the tile grid")
        rgba = np.asarray(rgba)
        if rgba.shape != (m.tile_height, m.tile_width, 4) or rgba.dtype != np.uint8:
            raise ValueError(f"tile ({z}, {col}, {row}) must be uint8 ({m.tile_height}, {m.tile_width}, 4), "
                             f"not {rgba.dtype} {rgba.shape}")
        if skip_empty and not rgba[..., 3].any():
            continue
        con.execute(sql, (z, col, row_of(z, row), encode_tile(rgba, image_format, quality)))
        written += 1
    return written


def _in_transaction(path: str | Path, build: Callable[[sqlite3.Connection], None]) -> None:
    """Run ``build`` on the SQLite file ``path`` in ONE transaction (DDL included): all or nothing."""
    con = sqlite3.connect(path, isolation_level=None)
    try:
        con.execute("BEGIN")
        try:
            build(con)
        except BaseException:
            con.execute("ROLLBACK")
            raise
        con.execute("COMMIT")
    finally:
        con.close()


def _new_file_atomically(path: Path, build: Callable[[sqlite3.Connection], None]) -> None:
    """Build an SQLite file in a temporary file beside ``path`` and rename it over ``path``."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        _in_transaction(tmp, build)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def _writer_errors(path: Path, kind: str):
    class _Guard:
        def __enter__(self):
            return self

        def __exit__(self, et, exc, tb):
            if isinstance(exc, (OSError, sqlite3.Error)) and not isinstance(exc, WriterError):
                raise WriterError(f"Could not write the {kind}: {exc}", path=path,
                                  hint="check the folder is writable and the disk is not full") from exc
            return False

    return _Guard()


_GPKG_SCHEMA = """
CREATE TABLE IF NOT EXISTS gpkg_spatial_ref_sys (srs_name TEXT NOT NULL, srs_id INTEGER PRIMARY KEY,
  organization TEXT NOT NULL, organization_coordsys_id INTEGER NOT NULL, definition TEXT NOT NULL,
  description TEXT);
CREATE TABLE IF NOT EXISTS gpkg_contents (table_name TEXT NOT NULL PRIMARY KEY, data_type TEXT NOT NULL,
  identifier TEXT UNIQUE, description TEXT DEFAULT '',
  last_change DATETIME NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
  min_x DOUBLE, min_y DOUBLE, max_x DOUBLE, max_y DOUBLE, srs_id INTEGER,
  CONSTRAINT fk_gc_r_srs_id FOREIGN KEY (srs_id) REFERENCES gpkg_spatial_ref_sys(srs_id));
CREATE TABLE IF NOT EXISTS gpkg_tile_matrix_set (table_name TEXT NOT NULL PRIMARY KEY,
  srs_id INTEGER NOT NULL, min_x DOUBLE NOT NULL, min_y DOUBLE NOT NULL, max_x DOUBLE NOT NULL,
  max_y DOUBLE NOT NULL,
  CONSTRAINT fk_gtms_table_name FOREIGN KEY (table_name) REFERENCES gpkg_contents(table_name),
  CONSTRAINT fk_gtms_srs FOREIGN KEY (srs_id) REFERENCES gpkg_spatial_ref_sys (srs_id));
CREATE TABLE IF NOT EXISTS gpkg_tile_matrix (table_name TEXT NOT NULL, zoom_level INTEGER NOT NULL,
  matrix_width INTEGER NOT NULL, matrix_height INTEGER NOT NULL, tile_width INTEGER NOT NULL,
  tile_height INTEGER NOT NULL, pixel_x_size DOUBLE NOT NULL, pixel_y_size DOUBLE NOT NULL,
  CONSTRAINT pk_ttm PRIMARY KEY (table_name, zoom_level),
  CONSTRAINT fk_tmm_table_name FOREIGN KEY (table_name) REFERENCES gpkg_contents(table_name));
CREATE TABLE IF NOT EXISTS gpkg_extensions (table_name TEXT, column_name TEXT, extension_name TEXT NOT NULL,
  definition TEXT NOT NULL, scope TEXT NOT NULL,
  CONSTRAINT ge_tce UNIQUE (table_name, column_name, extension_name));
"""


def _gpkg_srs_id(con: sqlite3.Connection, crs) -> int:
    """Register ``crs`` in gpkg_spatial_ref_sys (EPSG code as srs_id when it has one)."""
    ident = crs_id(crs)
    if ident and ident.startswith("EPSG:"):
        srs_id, org, code = int(ident[5:]), "EPSG", int(ident[5:])
    else:
        row = con.execute("SELECT srs_id FROM gpkg_spatial_ref_sys WHERE definition = ?",
                          (crs.to_wkt("WKT1_GDAL"),)).fetchone()
        if row:
            return int(row[0])
        srs_id = max(100000, (con.execute("SELECT MAX(srs_id) FROM gpkg_spatial_ref_sys").fetchone()[0] or 0) + 1)
        org, code = "NONE", srs_id
    con.execute("INSERT OR IGNORE INTO gpkg_spatial_ref_sys VALUES (?, ?, ?, ?, ?, ?)",
                (crs.name, srs_id, org, code, crs.to_wkt("WKT1_GDAL"), ""))
    return srs_id


def write_gpkg_tiles(path: str | os.PathLike, grid: TileGrid, tiles: TileSource, *, table: str = "basemap",
                     data_extent: Bounds | None = None, image_format: str = "png", quality: int = 85,
                     description: str = "", skip_empty: bool = True, feedback=None) -> Path:
    """Write a tile pyramid into the GeoPackage ``path`` as table ``table``; return the path.

    ``grid``: the layout (``TileGrid.for_extent``; its CRS is stored, e.g. EPSG:27700).
    ``tiles``: a callable ``(zoom, col, row, tile_bounds) -> rgba uint8 (h, w, 4) or None``,
    called for every tile meeting ``data_extent``; or an iterable of ``(zoom, col, row, rgba)``
    (rows from the top).  ``data_extent`` (grid CRS; default the grid extent) is stored as the
    layer extent.  ``image_format``: png (default, keeps transparency), jpeg or webp.
    A new file is built in a temporary file and renamed into place; an existing GeoPackage
    gets the table added (replacing a table of the same name) in one transaction.
    ``feedback`` (``Feedback``) gets progress for a callable source and may cancel.

    Raises ``ValueError`` (tile outside the grid, wrong shape), ``WriterError``,
    ``CanceledError`` (nothing is changed then).
    """
    path = Path(path).resolve()
    if image_format.lower() not in FORMATS:
        raise ValueError(f"image_format must be one of {sorted(FORMATS)}")
    crs = to_crs(grid.crs)
    extent = tuple(float(v) for v in (data_extent or grid.extent))
    gx0, gy0, gx1, gy1 = grid.extent

    def build(con: sqlite3.Connection) -> None:
        con.execute(f"PRAGMA application_id = {GPKG_APPLICATION_ID}")
        con.execute("PRAGMA user_version = 10300")
        for statement in filter(str.strip, _GPKG_SCHEMA.split(";")):
            con.execute(statement)
        for row in ((" Undefined cartesian SRS", -1, "NONE", -1, "undefined", ""),
                    ("Undefined geographic SRS", 0, "NONE", 0, "undefined", ""),
                    ("WGS 84 geodetic", 4326, "EPSG", 4326, to_crs("EPSG:4326").to_wkt("WKT1_GDAL"), "")):
            con.execute("INSERT OR IGNORE INTO gpkg_spatial_ref_sys VALUES (?, ?, ?, ?, ?, ?)",
                        (row[0].strip(),) + row[1:])
        srs_id = _gpkg_srs_id(con, crs)
        for t in ("gpkg_tile_matrix", "gpkg_tile_matrix_set", "gpkg_extensions", "gpkg_contents"):
            con.execute(f"DELETE FROM {t} WHERE table_name = ?", (table,))
        con.execute(f'DROP TABLE IF EXISTS "{table}"')
        con.execute(f'CREATE TABLE "{table}" (id INTEGER PRIMARY KEY AUTOINCREMENT, zoom_level INTEGER NOT NULL, '
                    "tile_column INTEGER NOT NULL, tile_row INTEGER NOT NULL, tile_data BLOB NOT NULL, "
                    "UNIQUE (zoom_level, tile_column, tile_row))")
        con.execute("INSERT INTO gpkg_contents (table_name, data_type, identifier, description, min_x, min_y, "
                    "max_x, max_y, srs_id) VALUES (?, 'tiles', ?, ?, ?, ?, ?, ?, ?)",
                    (table, table, description, *extent, srs_id))
        con.execute("INSERT INTO gpkg_tile_matrix_set VALUES (?, ?, ?, ?, ?, ?)", (table, srs_id, gx0, gy0, gx1, gy1))
        for m in grid.matrices.values():
            con.execute("INSERT INTO gpkg_tile_matrix VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                        (table, m.zoom, m.matrix_width, m.matrix_height, m.tile_width, m.tile_height,
                         m.resolution_x, m.resolution_y))
        if image_format.lower() == "webp":
            con.execute("INSERT INTO gpkg_extensions VALUES (?, 'tile_data', 'gpkg_webp', "
                        "'http://www.geopackage.org/spec/#extension_webp', 'read-write')", (table,))
        sql = f'INSERT INTO "{table}" (zoom_level, tile_column, tile_row, tile_data) VALUES (?, ?, ?, ?)'
        _write_tiles(con, sql, grid, tiles, data_extent, image_format, quality, skip_empty, feedback,
                     lambda z, r: r)

    with _writer_errors(path, "GeoPackage"):
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.exists():
            _check_sqlite(path, "GeoPackage")
            _in_transaction(path, build)
        else:
            _new_file_atomically(path, build)
    return path


def write_mbtiles(path: str | os.PathLike, grid: TileGrid, tiles: TileSource, *,
                  data_extent: Bounds | None = None, name: str = "", description: str = "",
                  attribution: str = "", image_format: str = "png", quality: int = 85,
                  skip_empty: bool = True, feedback=None) -> Path:
    """Write an MBTiles file (replacing ``path`` atomically); return the path.

    ``grid`` must be ``TileGrid.web_mercator(zooms)``.  ``tiles`` as for ``write_gpkg_tiles``
    (rows counted from the top, 'XYZ'; flipped to MBTiles' TMS rows here).  ``data_extent``
    is in EPSG:3857 (default: the world) and becomes the ``bounds`` metadata in degrees.
    Raises ``ValueError`` (not a web mercator grid, bad tiles), ``WriterError``, ``CanceledError``.
    """
    path = Path(path).resolve()
    reference = TileGrid.web_mercator(grid.zooms, grid.matrices[grid.zooms[0]].tile_width)
    if crs_id(grid.crs) != WEB_MERCATOR or (grid.origin_x, grid.origin_y) != (reference.origin_x,
                                                                              reference.origin_y):
        raise ValueError("MBTiles use the web mercator grid: build it with TileGrid.web_mercator(zooms)")
    if image_format.lower() not in FORMATS:
        raise ValueError(f"image_format must be one of {sorted(FORMATS)}")
    extent = data_extent or reference.extent
    w, s, e, n = transform_bounds(WEB_MERCATOR, "EPSG:4326", extent)
    meta = {"name": name or path.stem, "format": "jpg" if FORMATS[image_format.lower()] == "JPEG"
            else image_format.lower(), "bounds": f"{w:.8f},{s:.8f},{e:.8f},{n:.8f}",
            "center": f"{(w + e) / 2:.8f},{(s + n) / 2:.8f},{grid.zooms[0]}", "minzoom": str(grid.zooms[0]),
            "maxzoom": str(grid.zooms[-1]), "type": "baselayer", "version": "1.0",
            "description": description, "attribution": attribution}

    def build(con: sqlite3.Connection) -> None:
        con.execute("CREATE TABLE metadata (name TEXT, value TEXT)")
        con.execute("CREATE UNIQUE INDEX metadata_name ON metadata (name)")
        con.execute("CREATE TABLE tiles (zoom_level INTEGER, tile_column INTEGER, tile_row INTEGER, tile_data BLOB)")
        con.execute("CREATE UNIQUE INDEX tile_index ON tiles (zoom_level, tile_column, tile_row)")
        con.executemany("INSERT INTO metadata VALUES (?, ?)", list(meta.items()))
        sql = "INSERT INTO tiles (zoom_level, tile_column, tile_row, tile_data) VALUES (?, ?, ?, ?)"
        _write_tiles(con, sql, grid, tiles, data_extent, image_format, quality, skip_empty, feedback,
                     lambda z, r: grid.matrices[z].matrix_height - 1 - r)

    with _writer_errors(path, "MBTiles file"):
        path.parent.mkdir(parents=True, exist_ok=True)
        _new_file_atomically(path, build)
    return path
