"""Reading and writing point clouds: LAS 1.0-1.4, LAZ, COPC, PLY, E57 and XYZ/CSV/TXT/PTS.

``read_pointcloud(path, crs=None, columns=None)`` returns ``[PointCloudDataset]`` (one per scan
for E57).  Every attribute is kept in its native dtype: LAS dimensions (intensity,
classification, return numbers, GPS time, RGB as uint16...) and extra bytes under their own
names; PLY normals become ``normal_x/y/z`` and 8-bit colours are widened to LAS's 16 bits
(v * 257) so colour code treats every source alike.

LAS/LAZ are read chunk by chunk into preallocated arrays (no full-file copy), LAZ decoded by
lazrs on all cores.  Memory: 24 bytes per point of coordinates plus the attributes (about 26
bytes for point format 3, 30 for format 7).

The CRS comes from the file (LAS WKT VLR or GeoTIFF keys); ``crs=`` is used only when the
file has none; without either, ``MissingCrsError``.  Damaged input gives typed errors naming
the file: ``CorruptFileError`` (truncated, counts that disagree), ``DataError`` (no points,
missing columns), ``NoReaderError`` (not a point cloud).

``write_pointcloud(path, cloud)`` writes LAS 1.4 or LAZ (by suffix) atomically, attributes
that are not dimensions of the chosen point format as extra bytes, the CRS as a WKT VLR.
"""

from __future__ import annotations

import io
import logging
import os
import re
import struct
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

import numpy as np

from gis_desk.core.crs import crs_id, to_crs
from gis_desk.core.datasets import DataSource
from gis_desk.core.pointcloud import PointCloud, PointCloudDataset
from gis_desk.errors import (CorruptFileError, CrsError, DataError, MissingCrsError, MissingFileError,
                             NoReaderError, ReaderError, WriterError)

log = logging.getLogger(__name__)

LAS_SUFFIXES = (".las", ".laz")
TEXT_SUFFIXES = (".xyz", ".csv", ".txt", ".pts")
CHUNK_POINTS = 2_000_000  # points decoded per step: big enough for parallel LAZ, small in memory
_CRS_HINT = "give the CRS when opening it: the GUI asks, the CLI takes --crs, Python crs='EPSG:27700'"


# --- entry point ---------------------------------------------------------------------------


def read_pointcloud(path: str | Path, *, crs: Any = None, columns: dict[str, str] | None = None,
                    feedback=None, **options) -> list[PointCloudDataset]:
    """Datasets of the point cloud file ``path`` (see the module docstring).

    ``columns`` maps x, y, z (and optionally intensity, classification, red, green, blue or
    any attribute name) to column names or 0-based positions of a text file.  ``layer``
    picks one scan of an E57 file.  ``feedback`` reports progress and cancels.
    """
    path = Path(path)
    if not path.exists():
        raise MissingFileError("The point cloud file does not exist", path=path,
                               hint="it may have been moved or renamed")
    if path.is_dir():
        raise NoReaderError("This is a folder, not a point cloud file", path=path)
    kind = _kind_of(path)
    if kind == "las":
        return [_read_las(path, crs, feedback)]
    if kind == "ply":
        return [_read_ply(path, crs)]
    if kind == "e57":
        return _read_e57(path, crs, options.get("layer"))
    if kind == "text":
        return [_read_text(path, crs, columns)]
    raise NoReaderError(f"{path.suffix or 'This file'} is not a point cloud format GIS Desk reads", path=path,
                        hint="point clouds are read from .las, .laz, .ply, .e57, .xyz, .pts, .csv or .txt")


def _kind_of(path: Path) -> str | None:
    try:
        with open(path, "rb") as fh:
            magic = fh.read(8)
    except OSError as exc:
        raise ReaderError(f"Could not read the file: {exc.strerror or exc}", path=path) from exc
    suffix = path.suffix.lower()
    if magic.startswith(b"LASF"):
        return "las"
    if magic.startswith(b"ply"):
        return "ply"
    if magic.startswith(b"ASTM-E57"):
        return "e57"
    if suffix in LAS_SUFFIXES + (".ply", ".e57"):
        if not magic:
            raise DataError("The file is empty (0 bytes): it holds no points", path=path,
                            hint="it may have been cut short while copying")
        raise CorruptFileError(f"This is not a {suffix[1:].upper()} file (its first bytes are not a "
                               f"{suffix[1:].upper()} signature)", path=path,
                               hint="the file is damaged or has the wrong extension")
    if suffix in TEXT_SUFFIXES:
        return "text"
    return None


def _resolve_crs(file_crs, given, path: Path):
    """(crs, options to record) from the file's CRS, else the one the user gave."""
    if file_crs is not None:
        return file_crs, {}
    if given is not None:
        value = to_crs(given)
        return value, {"crs": crs_id(value)}
    raise MissingCrsError("The point cloud has no coordinate reference system", path=path, hint=_CRS_HINT)


def _empty_error(path: Path, what: str = "point cloud") -> DataError:
    return DataError(f"The {what} holds no points (0 points)", path=path,
                     hint="check the export that made it; an empty cloud cannot be shown or compared")


def _progress(feedback, pct: float) -> None:
    if feedback is not None:
        feedback.check_canceled()
        feedback.set_progress(pct)


# --- LAS / LAZ / COPC ----------------------------------------------------------------------


def _laz_backend(parallel: bool = True):
    import laspy

    if parallel and laspy.LazBackend.LazrsParallel.is_available():
        return laspy.LazBackend.LazrsParallel
    return laspy.LazBackend.Lazrs


def _las_crs(header, path: Path):
    """(crs or None, where it came from) from WKT or GeoTIFF VLRs."""
    try:
        crs = header.parse_crs()
    except Exception as exc:  # malformed WKT / keys: report as no CRS, say why in the log
        log.warning("%s: the CRS records could not be parsed: %s", path, exc)
        crs = None
    if crs is not None:
        names = {type(v).__name__ for v in list(header.vlrs) + list(getattr(header, "evlrs", None) or [])}
        return crs, ("WKT VLR" if "WktCoordinateSystemVlr" in names else "GeoTIFF keys")
    if _has_user_defined_geokeys(header):
        return None, "user-defined GeoTIFF keys"
    return None, None


def _has_user_defined_geokeys(header) -> bool:
    """True when the GeoTIFF keys describe a projection by parameters (code 32767) rather than
    an EPSG code: laspy/pyproj cannot turn those into a CRS."""
    for vlr in header.vlrs:
        if type(vlr).__name__ == "GeoKeyDirectoryVlr":
            return any(k.id in (2048, 3072, 3074) and k.value_offset == 32767 for k in vlr.geo_keys)
    return False


def _read_las(path: Path, crs: Any, feedback=None) -> PointCloudDataset:
    import laspy

    is_laz = path.suffix.lower() == ".laz"
    try:
        reader = laspy.open(path, laz_backend=_laz_backend())
    except Exception as exc:  # laspy raises LaspyException, ValueError, lazrs errors...
        raise CorruptFileError(f"The LAS header could not be read: {exc}", path=path,
                               hint="the file is damaged or not a LAS/LAZ file") from exc
    with reader:
        header = reader.header
        total = int(header.point_count)
        is_laz = is_laz or header.are_points_compressed
        file_crs, crs_source = _las_crs(header, path)
        if file_crs is None and crs is None and crs_source == "user-defined GeoTIFF keys":
            raise MissingCrsError("The point cloud's GeoTIFF keys describe a user-defined projection "
                                  "(no EPSG code) that GIS Desk cannot read", path=path,
                                  hint="give the CRS when opening it (the EPSG code of the survey's "
                                       "projection): the GUI asks, the CLI takes --crs")
        used_crs, crs_options = _resolve_crs(file_crs, crs, path)
        if total == 0:
            raise _empty_error(path, "LAS file")
        names = [d for d in header.point_format.dimension_names if d not in ("X", "Y", "Z")]
        xyz = np.empty((total, 3), dtype=np.float64)
        attrs: dict[str, np.ndarray] = {}
        scales, offsets = np.asarray(header.scales, float), np.asarray(header.offsets, float)
        done = 0
        try:
            for chunk in reader.chunk_iterator(CHUNK_POINTS):
                k = len(chunk)
                if k == 0:
                    break
                if done + k > total:
                    raise CorruptFileError(f"The file holds more points than its header says ({total:,})",
                                           path=path, hint="the header is damaged")
                for axis, raw in enumerate((chunk.X, chunk.Y, chunk.Z)):
                    col = xyz[done:done + k, axis]
                    np.multiply(raw, scales[axis], out=col)
                    col += offsets[axis]
                for name in names:
                    values = np.asarray(chunk[name])
                    if name not in attrs:
                        attrs[name] = np.empty((total,) + values.shape[1:], dtype=values.dtype)
                    attrs[name][done:done + k] = values
                done += k
                _progress(feedback, 100.0 * done / total)
        except CorruptFileError:
            raise
        except Exception as exc:  # truncated data: lazrs IoError, numpy buffer errors
            if feedback is not None and feedback.is_canceled:
                raise
            readable = _decodable_points(path, total) if is_laz and done == 0 else done
            raise _truncated(path, readable, total, is_laz, exc) from exc
        if done < total:
            raise _truncated(path, done, total, is_laz, None)
        if not is_laz:
            _check_no_uncounted_points(path, header, total)
        version = f"{header.version.major}.{header.version.minor}"
        names_vlr = {type(v).__name__ for v in header.vlrs}
        copc = "CopcInfoVlr" in names_vlr or path.name.lower().endswith(".copc.laz")
        driver = "COPC" if copc else ("LAZ" if is_laz else f"LAS {version}")
        metadata = {
            "las_version": version, "point_format": int(header.point_format.id),
            "header_point_count": total, "scales": [float(v) for v in scales],
            "offsets": [float(v) for v in offsets], "crs_source": crs_source if file_crs is not None else "user",
            "generating_software": str(getattr(header, "generating_software", "") or "").strip("\x00 "),
            "system_identifier": str(getattr(header, "system_identifier", "") or "").strip("\x00 "),
            "extra_bytes": list(header.point_format.extra_dimension_names),
        }
    cloud = PointCloud(xyz, attrs, used_crs)
    source = DataSource(str(path.absolute()), options=crs_options)
    return PointCloudDataset(source, cloud, driver, metadata)


def _check_no_uncounted_points(path: Path, header, total: int) -> None:
    """CorruptFileError when an uncompressed LAS holds whole point records beyond its header's
    count (the header was not updated when points were appended: they would be silently lost)."""
    size = int(header.point_format.size)
    end = os.path.getsize(path)
    for start in (getattr(header, "start_of_first_evlr", 0), getattr(header, "start_of_waveform_data_packet_record", 0)):
        if start and int(header.offset_to_point_data) < int(start) < end:
            end = int(start)
    extra = (end - int(header.offset_to_point_data)) // size - total
    if extra > 0:
        raise CorruptFileError(f"The LAS file holds {total + extra:,} point records but its header counts {total:,}",
                               path=path, hint="the header's point count is wrong (the file was appended to or "
                                               "badly written); rewrite it with the writing software or LAStools")


def _decodable_points(path: Path, total: int) -> int:
    """How many points of a damaged LAZ still decode.

    A LAZ file ends with its chunk table, and lazrs reads that table before decoding anything,
    so a file cut short decodes nothing through laspy.  Fixed-size chunks decode in order
    without the table's byte counts, so the file is read through a view that points the table
    offset at a stand-in table appended after the surviving bytes, then decoded sequentially
    until the data runs out (in steps of ``_PROBE_STEP`` points)."""
    import laspy
    import lazrs

    try:
        with laspy.open(path) as reader:
            header = reader.header
            offset = int(header.offset_to_point_data)
            record = header.vlrs.get("LasZipVlr")[0].record_data_bytes()
        vlr = lazrs.LazVlr(record)
        if vlr.uses_variable_size_chunks():
            return 0  # chunk sizes live only in the lost table
        table = io.BytesIO()
        n_chunks = -(-total // vlr.chunk_size())
        lazrs.write_chunk_table(table, [(vlr.chunk_size(), 1)] * n_chunks, vlr)
        with open(path, "rb") as fh:
            stream = _PatchedLaz(fh, offset, table.getvalue())
            stream.seek(offset)
            decoder = lazrs.LasZipDecompressor(stream, record)
            out = bytearray(header.point_format.size * _PROBE_STEP)
            done = 0
            while done < total:
                if total - done < _PROBE_STEP:
                    out = bytearray(header.point_format.size * (total - done))
                try:
                    decoder.decompress_many(out)
                except Exception:
                    break
                done += len(out) // header.point_format.size
    except Exception:  # the probe is best effort: the error message still says the file is damaged
        return 0
    return min(done, total)


_PROBE_STEP = 1000


class _PatchedLaz(io.RawIOBase):
    """A read-only view of a LAZ file whose chunk-table offset (the first 8 bytes of the point
    data) points at ``table``, served after the file's real bytes."""

    def __init__(self, fh, offset: int, table: bytes) -> None:
        super().__init__()
        self._fh, self._offset, self._table = fh, offset, table
        self._size = os.fstat(fh.fileno()).st_size
        self._pos = 0
        self._patch = struct.pack("<q", self._size)

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, pos: int, whence: int = 0) -> int:
        end = self._size + len(self._table)
        self._pos = pos if whence == 0 else (self._pos + pos if whence == 1 else end + pos)
        return self._pos

    def readinto(self, buffer) -> int:
        view = memoryview(buffer).cast("B")
        want, filled = len(view), 0
        while filled < want:
            pos = self._pos
            if pos < self._size:
                self._fh.seek(pos)
                got = self._fh.readinto(view[filled:filled + min(want - filled, self._size - pos)])
                if not got:
                    break
                # the table offset itself, wherever the read covers it
                lo, hi = max(pos, self._offset), min(pos + got, self._offset + 8)
                if lo < hi:
                    view[filled + lo - pos:filled + hi - pos] = self._patch[lo - self._offset:hi - self._offset]
            else:
                j = pos - self._size
                chunk = self._table[j:j + want - filled]
                if not chunk:
                    break
                got = len(chunk)
                view[filled:filled + got] = chunk
            filled += got
            self._pos += got
        return filled


def _truncated(path: Path, done: int, total: int, is_laz: bool, exc) -> CorruptFileError:
    what = "LAZ" if is_laz else "LAS"
    return CorruptFileError(
        f"The {what} file is truncated or its header point count is wrong: {done:,} of {total:,} points "
        f"could be read", path=path,
        hint="the file was probably cut short while copying or downloading; copy it again",
        details=str(exc) if exc is not None else None)


# --- PLY -----------------------------------------------------------------------------------

_PLY_TYPES = {"char": "i1", "int8": "i1", "uchar": "u1", "uint8": "u1", "short": "i2", "int16": "i2",
              "ushort": "u2", "uint16": "u2", "int": "i4", "int32": "i4", "uint": "u4", "uint32": "u4",
              "float": "f4", "float32": "f4", "double": "f8", "float64": "f8"}
_PLY_RENAME = {"nx": "normal_x", "ny": "normal_y", "nz": "normal_z", "r": "red", "g": "green", "b": "blue",
               "diffuse_red": "red", "diffuse_green": "green", "diffuse_blue": "blue",
               "scalar_intensity": "intensity", "scalar_classification": "classification"}


def _ply_header(path: Path, fh) -> tuple[str, list[tuple[str, int, list]], int]:
    """(format, [(element, count, [(prop, type or ('list', ..))])], data offset)."""
    fmt, elements = None, []
    for _ in range(10_000):
        line = fh.readline()
        if not line:
            break
        text = line.decode("ascii", "replace").strip()
        parts = text.split()
        if not parts or parts[0] in ("comment", "obj_info"):
            continue
        if parts[0] == "format":
            fmt = parts[1]
        elif parts[0] == "element":
            elements.append((parts[1], int(parts[2]), []))
        elif parts[0] == "property" and elements:
            if parts[1] == "list":
                elements[-1][2].append((parts[-1], ("list", parts[2], parts[3])))
            else:
                if parts[1] not in _PLY_TYPES:
                    raise CorruptFileError(f"Unknown PLY property type {parts[1]!r}", path=path)
                elements[-1][2].append((parts[2], _PLY_TYPES[parts[1]]))
        elif parts[0] == "end_header":
            return fmt or "", elements, fh.tell()
    raise CorruptFileError("The PLY header has no end_header line", path=path, hint="the file is damaged")


def _read_ply(path: Path, crs: Any) -> PointCloudDataset:
    try:
        with open(path, "rb") as fh:
            fmt, elements, offset = _ply_header(path, fh)
    except ValueError as exc:
        raise CorruptFileError(f"The PLY header could not be read: {exc}", path=path) from exc
    vertex = next((e for e in elements if e[0] == "vertex"), None)
    if vertex is None or vertex[1] == 0:
        raise _empty_error(path, "PLY file")
    before = elements[:elements.index(vertex)]
    if any(e[1] for e in before) or any(isinstance(t, tuple) for _, t in vertex[2]):
        raise CorruptFileError("This PLY layout is not supported (vertex properties must be plain numbers "
                               "and come first)", path=path, hint="export the cloud as LAS/LAZ or a simple PLY")
    names = [n for n, _ in vertex[2]]
    count = vertex[1]
    if fmt == "ascii":
        dtype = np.dtype([(n, t) for n, t in vertex[2]])
        try:
            table = _ply_ascii(path, offset, count, len(names))
        except ValueError as exc:
            raise CorruptFileError(f"The PLY values could not be read: {exc}", path=path) from exc
        data = {n: table[:, i].astype(dtype[n]) for i, n in enumerate(names)}
    elif fmt in ("binary_little_endian", "binary_big_endian"):
        end = "<" if fmt == "binary_little_endian" else ">"
        dtype = np.dtype([(n, end + t) for n, t in vertex[2]])
        available = (path.stat().st_size - offset) // dtype.itemsize
        if available < count:
            raise CorruptFileError(f"The PLY file is truncated: {available:,} of {count:,} points could be read",
                                   path=path, hint="copy the file again")
        raw = np.fromfile(path, dtype=dtype, count=count, offset=offset)
        data = {n: raw[n].astype(raw[n].dtype.newbyteorder("="), copy=False) for n in names}
    else:
        raise CorruptFileError(f"Unknown PLY format {fmt!r}", path=path)
    for axis in "xyz":
        if axis not in data:
            raise DataError(f"The PLY vertices have no {axis!r} property", path=path)
    xyz = np.column_stack([data.pop(a).astype(np.float64) for a in "xyz"])
    attrs = {}
    for name, values in data.items():
        key = _PLY_RENAME.get(name, name)
        if key in ("red", "green", "blue"):
            values = _to_uint16_colour(values)
        attrs[key] = values
    used_crs, crs_options = _resolve_crs(None, crs, path)
    return PointCloudDataset(DataSource(str(path.absolute()), options=crs_options),
                             PointCloud(xyz, attrs, used_crs), "PLY", {"ply_format": fmt})


def _ply_ascii(path: Path, offset: int, count: int, ncols: int) -> np.ndarray:
    import pandas as pd

    with open(path, "rb") as fh:
        fh.seek(offset)
        table = pd.read_csv(fh, sep=r"\s+", header=None, nrows=count, usecols=range(ncols),
                            engine="c", dtype=np.float64).to_numpy()
    if len(table) < count:
        raise ValueError(f"only {len(table):,} of {count:,} vertices are present")
    return table


def _to_uint16_colour(values: np.ndarray) -> np.ndarray:
    """Colours as LAS uint16: 8-bit values (and floats 0..1) are widened to 0..65535."""
    values = np.asarray(values)
    if values.dtype.kind == "f":
        top = float(np.nanmax(values)) if len(values) else 0.0
        scale = 65535.0 if top <= 1.0 else (257.0 if top <= 255.0 else 1.0)
        return np.clip(np.nan_to_num(values) * scale, 0, 65535).round().astype(np.uint16)
    if values.dtype.itemsize == 1 or (len(values) and int(values.max()) <= 255):
        return values.astype(np.uint16) * np.uint16(257)
    return values.astype(np.uint16)


# --- E57 -----------------------------------------------------------------------------------


def _read_e57(path: Path, crs: Any, layer: str | None) -> list[PointCloudDataset]:
    import pye57

    try:
        e57 = pye57.E57(str(path))
    except Exception as exc:
        raise CorruptFileError(f"The E57 file could not be opened: {exc}", path=path,
                               hint="the file is damaged or not an E57 file") from exc
    used_crs = None
    datasets = []
    try:
        scans = range(e57.scan_count)
        if e57.scan_count == 0:
            raise _empty_error(path, "E57 file")
        for i in scans:
            header = e57.get_header(i)
            name = _e57_scan_name(header, i)
            if layer is not None and str(layer) != name:
                continue
            fields = set(header.point_fields)
            data = e57.read_scan(i, intensity="intensity" in fields,
                                 colors={"colorRed", "colorGreen", "colorBlue"} <= fields,
                                 ignore_missing_fields=True, transform=True)
            xyz = np.column_stack([np.asarray(data.pop(k), dtype=np.float64)
                                   for k in ("cartesianX", "cartesianY", "cartesianZ")])
            if len(xyz) == 0:
                continue
            attrs: dict[str, np.ndarray] = {}
            for key, values in data.items():
                target = {"colorRed": "red", "colorGreen": "green", "colorBlue": "blue"}.get(key, key)
                values = np.asarray(values)
                attrs[target] = _to_uint16_colour(values) if target in ("red", "green", "blue") else values
            if used_crs is None:
                used_crs, crs_options = _resolve_crs(None, crs, path)
            options = dict(crs_options)
            if e57.scan_count > 1:
                options["layer"] = name
            datasets.append(PointCloudDataset(DataSource(str(path.absolute()), options=options),
                                              PointCloud(xyz, attrs, used_crs), "E57",
                                              {"scan": name, "scan_count": e57.scan_count}))
    except (MissingCrsError, DataError):
        raise
    except Exception as exc:
        raise CorruptFileError(f"The E57 scans could not be read: {exc}", path=path) from exc
    finally:
        e57.close()
    if not datasets:
        if layer is not None:
            raise DataError(f"The E57 file has no scan named {layer!r}", path=path)
        raise _empty_error(path, "E57 file")
    return datasets


def _e57_scan_name(header, index: int) -> str:
    try:
        name = str(header["name"].value()).strip()
    except Exception:
        name = ""
    return name or f"scan {index + 1}"


# --- XYZ / CSV / TXT / PTS -----------------------------------------------------------------

_AUTO_COLUMNS = {
    "x": ("x", "easting", "east", "e", "//x", "lon", "longitude"),
    "y": ("y", "northing", "north", "n", "lat", "latitude"),
    "z": ("z", "elevation", "height", "h", "alt", "altitude", "elev"),
    "intensity": ("intensity", "i", "int", "scalar_intensity"),
    "classification": ("classification", "class", "cls", "scalar_classification"),
    "red": ("red", "r"), "green": ("green", "g"), "blue": ("blue", "b"),
    "normal_x": ("nx", "normal_x"), "normal_y": ("ny", "normal_y"), "normal_z": ("nz", "normal_z"),
}
_HEADERLESS = {3: ["x", "y", "z"], 4: ["x", "y", "z", "intensity"], 6: ["x", "y", "z", "red", "green", "blue"],
               7: ["x", "y", "z", "intensity", "red", "green", "blue"]}
_NUMBER = re.compile(r"^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$")


def _sniff_text(path: Path) -> tuple[str, bool, int]:
    """(separator regex, has header, lines to skip before the table)."""
    lines = []
    with open(path, "r", encoding="utf-8-sig", errors="replace") as fh:
        for line in fh:
            if line.strip():
                lines.append(line.rstrip("\n"))
            if len(lines) >= 5:
                break
    if not lines:
        raise _empty_error(path, "text file")
    skip = 0
    first = lines[0].strip()
    if _NUMBER.match(first) and len(lines) > 1 and len(lines[1].split()) >= 3:  # PTS: count line
        skip, lines = 1, lines[1:]
    sample = lines[1] if len(lines) > 1 else lines[0]
    sep = next((s for s in (",", ";", "\t") if s in sample), r"\s+")
    cells = [c.strip().strip('"') for c in re.split(sep, lines[0].strip())]
    has_header = not all(_NUMBER.match(c) for c in cells if c)
    return sep, has_header, skip


def _read_text(path: Path, crs: Any, columns: dict[str, Any] | None) -> PointCloudDataset:
    import pandas as pd

    sep, has_header, skip = _sniff_text(path)
    try:
        frame = pd.read_csv(path, sep=sep, header=0 if has_header else None, skiprows=skip, engine="c",
                            skipinitialspace=True, comment=None)
    except (ValueError, pd.errors.ParserError) as exc:
        raise CorruptFileError(f"The text point cloud could not be parsed: {exc}", path=path,
                               hint="each line should hold x y z (and optional values) separated by "
                                    "commas, tabs or spaces") from exc
    if len(frame) == 0:
        raise _empty_error(path, "text file")
    mapping = _column_mapping(frame, columns, has_header, path)
    data = {}
    for target, column in mapping.items():
        values = pd.to_numeric(frame[column], errors="coerce").to_numpy()
        data[target] = values
    xyz = np.column_stack([data.pop(a).astype(np.float64) for a in "xyz"])
    bad = ~np.isfinite(xyz).all(axis=1)
    if bad.all():
        raise DataError("No line holds numeric x, y and z", path=path, hint="check the column mapping")
    attrs = {}
    for name, values in data.items():
        values = values[~bad] if bad.any() else values
        if name in ("red", "green", "blue"):
            values = _to_uint16_colour(values)
        elif name == "classification":
            values = np.nan_to_num(values).astype(np.uint8)
        elif name == "intensity" and np.all(np.isfinite(values)) and np.all(values == np.round(values)) \
                and values.min() >= 0 and values.max() <= 65535:
            values = values.astype(np.uint16)
        attrs[name] = values
    if bad.any():
        log.warning("%s: %d lines without numeric x, y, z were skipped", path, int(bad.sum()))
        xyz = xyz[~bad]
    used_crs, crs_options = _resolve_crs(None, crs, path)
    options = dict(crs_options)
    if columns:
        options["columns"] = {str(k): (v if isinstance(v, (int, str)) else str(v)) for k, v in columns.items()}
    return PointCloudDataset(DataSource(str(path.absolute()), options=options), PointCloud(xyz, attrs, used_crs),
                             "XYZ", {"skipped_lines": int(bad.sum())})


def _column_mapping(frame, columns: dict[str, Any] | None, has_header: bool, path: Path) -> dict[str, Any]:
    """Target attribute -> frame column, from ``columns``, known header names or position."""
    available = list(frame.columns)
    if columns:
        mapping = {}
        for target, col in columns.items():
            if isinstance(col, int) and not has_header:
                col = available[col] if 0 <= col < len(available) else None
            elif isinstance(col, int):
                col = available[col] if 0 <= col < len(available) else None
            if col is None or col not in available:
                raise DataError(f"The column {columns[target]!r} given for {target!r} is not in the file",
                                path=path, hint=f"columns found: {', '.join(map(str, available))}")
            mapping[str(target)] = col
        missing = [a for a in "xyz" if a not in mapping]
        if missing:
            raise DataError(f"The column mapping gives no column for {', '.join(missing)}", path=path,
                            hint="columns={'x': ..., 'y': ..., 'z': ...}")
        return mapping
    if not has_header:
        names = _HEADERLESS.get(len(available)) or (["x", "y", "z"] + [f"field_{i + 1}" for i in
                                                                       range(3, len(available))])
        if len(available) < 3:
            raise DataError(f"Each line has {len(available)} values; x, y and z are needed", path=path)
        return dict(zip(names, available))
    lowered = {str(c).strip().lower(): c for c in available}
    mapping, used = {}, set()
    for target, aliases in _AUTO_COLUMNS.items():
        for alias in aliases:
            if alias in lowered and lowered[alias] not in used:
                mapping[target] = lowered[alias]
                used.add(lowered[alias])
                break
    missing = [a for a in "xyz" if a not in mapping]
    if missing:
        raise DataError(f"Could not tell which columns hold {', '.join(missing)}", path=path,
                        hint=f"give columns={{'x': ..., 'y': ..., 'z': ...}}; columns found: "
                             f"{', '.join(map(str, available))}")
    for col in available:  # keep every other numeric column under its own name
        if col not in used and frame[col].dtype.kind in "biuf":
            mapping[str(col).strip()] = col
    return mapping


# --- writing LAS / LAZ ---------------------------------------------------------------------

_RGB = ("red", "green", "blue")


def _format_dims(pf_id: int) -> set[str]:
    import laspy

    return set(laspy.PointFormat(pf_id).dimension_names) - {"X", "Y", "Z"}


def _choose_point_format(attrs: dict[str, np.ndarray]) -> int:
    """The smallest of formats 0-3 and 6-8 whose dimensions hold the standard attributes present."""
    standard = set().union(*(_format_dims(i) for i in (0, 1, 2, 3, 6, 7, 8)))
    wanted = set(attrs) & standard
    best, best_missing = 8, None
    for pf in (0, 1, 2, 3, 6, 7, 8):
        missing = len(wanted - _format_dims(pf))
        if missing == 0:
            return pf
        if best_missing is None or missing < best_missing:
            best, best_missing = pf, missing
    return best


def _scales_offsets(xyz: np.ndarray, crs, scale: float | None) -> tuple[np.ndarray, np.ndarray]:
    geographic = crs is not None and to_crs(crs).is_geographic
    s = float(scale) if scale else (1e-7 if geographic else 0.001)
    lo, hi = xyz.min(axis=0), xyz.max(axis=0)
    offsets = np.floor(lo)
    scales = np.full(3, s)
    for axis in range(3):
        while (hi[axis] - offsets[axis]) / scales[axis] > 2**31 - 2:  # keep within int32
            scales[axis] *= 10
    return scales, offsets


@contextmanager
def _atomic_target(path: Path) -> Iterator[Path]:
    """A temporary file beside ``path`` that replaces it only when the block succeeds.

    (Streams large clouds to disk; ``gis_desk.io.atomic`` writes whole byte strings.)"""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=path.suffix, dir=path.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        with open(tmp_path, "rb+") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp_path, path)
    finally:
        if tmp_path.exists():
            tmp_path.unlink()


def write_pointcloud(path: str | Path, cloud: PointCloud, *, scale: float | None = None,
                     feedback=None) -> Path:
    """Write ``cloud`` to ``path`` (.las or .laz) atomically and return the path.

    Point format: the smallest of 0-3 / 6-8 holding the standard attributes present (LAS 1.4);
    every other attribute becomes an extra-bytes dimension with its own name.  Coordinates are
    stored at ``scale`` (default 1 mm, 1e-7 degree for geographic CRSs).  The CRS is written as
    a WKT VLR.  Raises ``WriterError`` naming the file, ``DataError`` for an empty cloud.
    """
    import laspy

    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in LAS_SUFFIXES:
        raise WriterError(f"Point clouds are written as .las or .laz, not {suffix or 'no extension'}", path=path)
    n = len(cloud)
    if n == 0:
        raise DataError("There are no points to write", path=path)
    if not np.all(np.isfinite(cloud.xyz)):
        raise DataError("Some coordinates are not finite numbers (NaN or infinity)", path=path,
                        hint="remove those points before writing")
    pf = _choose_point_format(cloud.attributes)
    dims = _format_dims(pf)
    header = laspy.LasHeader(point_format=pf, version="1.4")
    extras = [name for name in cloud.attributes if name not in dims]
    for name in extras:
        header.add_extra_dim(_extra_params(name, cloud.attributes[name], path))
    header.scales, header.offsets = _scales_offsets(cloud.xyz, cloud.crs, scale)
    if cloud.crs is not None:
        try:
            header.add_crs(to_crs(cloud.crs), keep_compatibility=False)
        except Exception as exc:
            raise WriterError(f"The CRS could not be written: {exc}", path=path) from exc
    header.generating_software = "GIS Desk"
    try:
        with _atomic_target(path) as tmp:
            with laspy.open(tmp, mode="w", header=header,
                            laz_backend=_laz_backend() if suffix == ".laz" else None) as writer:
                for start in range(0, n, CHUNK_POINTS):
                    stop = min(n, start + CHUNK_POINTS)
                    writer.write_points(_record(header, cloud, start, stop, dims, extras))
                    _progress(feedback, 100.0 * stop / n)
    except (WriterError, DataError):
        raise
    except OSError as exc:
        raise WriterError(f"Could not write the point cloud: {exc.strerror or exc}", path=path,
                          hint="check the folder is writable and the disk is not full") from exc
    except Exception as exc:
        if feedback is not None and feedback.is_canceled:
            raise
        raise WriterError(f"Could not write the point cloud: {exc}", path=path) from exc
    return path


def _extra_params(name: str, values: np.ndarray, path: Path):
    import laspy

    values = np.asarray(values)
    dtype = np.dtype(np.uint8) if values.dtype == bool else values.dtype
    if dtype.kind not in "biuf":
        raise DataError(f"The attribute {name!r} ({dtype}) is not numeric and cannot be written to LAS",
                        path=path)
    if len(name.encode()) > 32:
        raise DataError(f"The attribute name {name!r} is longer than the 32 bytes LAS allows", path=path)
    type_str = dtype.str.lstrip("<>=|")
    if values.ndim == 2:
        type_str = f"{values.shape[1]}{type_str}"
    return laspy.ExtraBytesParams(name=name, type=type_str, description=name[:32])


def _record(header, cloud: PointCloud, start: int, stop: int, dims: set[str], extras: list[str]):
    import laspy

    rec = laspy.ScaleAwarePointRecord.zeros(stop - start, header=header)
    xyz = cloud.xyz[start:stop]
    for axis, dim in enumerate("XYZ"):
        rec[dim] = np.round((xyz[:, axis] - header.offsets[axis]) / header.scales[axis]).astype(np.int32)
    for name, values in cloud.attributes.items():
        part = values[start:stop]
        if part.dtype == bool:
            part = part.astype(np.uint8)
        rec[name] = part
    return rec
