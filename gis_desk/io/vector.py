"""Vector files in and out through pyogrio (GDAL/OGR).

Read: GeoPackage (every vector layer, plus tile pyramids as ``TileDataset``s so a .gpkg
basemap opens too), Shapefile, GeoJSON, KML, FlatGeobuf, GML, MapInfo TAB, and CSV/TXT
(delegated to ``gis_desk.io.csv_points``).  Write: the same formats, chosen by extension.

CRS rule (never guessed): a dataset keeps the CRS its file states.  The ``crs`` option is
used only when the file states none; a file without a CRS and no ``crs`` option raises
``MissingCrsError``.  A geographic CRS whose coordinates are not degrees (a GeoJSON holding
eastings/northings, which GDAL labels WGS84 by the format's definition) counts as none.  Features stay in the file's CRS; reprojection happens on the fly.
"""

from __future__ import annotations

import importlib.util
import logging
import os
import shutil
import sqlite3
import tempfile
from pathlib import Path
from typing import Any

from gis_desk.core.crs import crs_id, to_crs
from gis_desk.core.datasets import DataSource, Dataset, VectorDataset
from gis_desk.errors import (CorruptFileError, DataError, GisDeskError, MissingCrsError,
                             MissingFileError, WriterError)

log = logging.getLogger(__name__)

SQLITE_MAGIC = b"SQLite format 3\x00"

#: File extension -> (OGR driver for writing, name the user knows).
FORMATS: dict[str, tuple[str, str]] = {
    ".gpkg": ("GPKG", "GeoPackage"),
    ".shp": ("ESRI Shapefile", "Shapefile"),
    ".geojson": ("GeoJSON", "GeoJSON"),
    ".json": ("GeoJSON", "GeoJSON"),
    ".kml": ("KML", "KML"),
    ".fgb": ("FlatGeobuf", "FlatGeobuf"),
    ".gml": ("GML", "GML"),
    ".tab": ("MapInfo File", "MapInfo TAB"),
    ".csv": ("CSV", "CSV"),
}
CSV_SUFFIXES = {".csv", ".txt"}
_USE_ARROW = importlib.util.find_spec("pyarrow") is not None


def _format_name(path: Path) -> str:
    return FORMATS.get(path.suffix.lower(), ("", path.suffix.lstrip(".").upper() or "vector"))[1]


# --- reading ---------------------------------------------------------------------------------


def read_vector(path: str | os.PathLike, *, crs: Any = None, layer: str | None = None,
                **options) -> list[Dataset]:
    """Read every vector layer of ``path`` (or only ``layer``) as datasets.

    ``crs`` (EPSG code, 'EPSG:n', WKT...) is applied only to layers whose file states no CRS.
    ``layer`` picks one layer of a multi-layer file (GeoPackage table, KML folder...).
    ``encoding`` overrides the attribute text encoding (e.g. 'cp1252' for an old Shapefile).
    CSV/TXT options (``x``, ``y``, ``wkt``, ``delimiter``...) go to ``read_csv_points``.

    Returns ``VectorDataset``s (GeoPackage tile tables: ``TileDataset``s) whose ``source``
    holds the absolute path and every option needed to reopen the same data.

    Raises ``MissingFileError`` (no such file), ``CorruptFileError`` (not that format, damaged,
    Shapefile without .shx), ``MissingCrsError`` (no CRS in the file and no ``crs``),
    ``DataError`` (no such layer, no vector layer in the file).
    """
    path = Path(path).resolve()
    if not path.exists():
        raise MissingFileError("The file does not exist", path=path,
                               hint="it may have been moved, renamed or be on a drive that is not connected")
    suffix = path.suffix.lower()
    if suffix in CSV_SUFFIXES:
        from gis_desk.io.csv_points import read_csv_points

        return read_csv_points(path, crs=crs, **options)
    encoding = options.pop("encoding", None)
    if options:
        log.warning("%s: ignoring reader options %s", path, sorted(options))
    if suffix == ".gpkg":
        return _read_geopackage(path, crs=crs, layer=layer, encoding=encoding)
    if suffix == ".shp":
        _check_shapefile_parts(path)
    all_names = _vector_layer_names(path)
    names = all_names
    if layer is not None:
        if layer not in names:
            raise DataError(f"There is no layer {layer!r} in this file", path=path,
                            hint=f"layers found: {', '.join(names) or 'none'}")
        names = [layer]
    if not names:
        raise DataError(f"The {_format_name(path)} file contains no vector layer", path=path)
    # A single-layer file reopens without naming the layer; multi-layer files need it.
    keep_layer_name = len(all_names) > 1
    return [_read_layer(path, name, crs, encoding, keep_layer_name) for name in names]


def _check_shapefile_parts(path: Path) -> None:
    """A Shapefile is several files; without the .shx index GDAL cannot read it safely."""
    siblings = {p.suffix.lower(): p for p in path.parent.glob(path.stem + ".*") if p.stem == path.stem}
    if ".shx" not in siblings:
        raise CorruptFileError(
            "The Shapefile's .shx index file is missing",
            path=path,
            hint=f"copy {path.stem}.shx from where the Shapefile came from into the same folder "
                 "(a Shapefile needs its .shp, .shx and .dbf together), or rebuild the index in a "
                 "GIS and reopen it",
        )


def _vector_layer_names(path: Path) -> list[str]:
    """Names of layers with geometry (attribute-only tables are skipped)."""
    import pyogrio

    try:
        layers = pyogrio.list_layers(str(path))
    except Exception as exc:  # pyogrio.errors.DataSourceError and GDAL I/O errors
        raise _corrupt(path, exc) from exc
    return [str(name) for name, geom_type in layers if geom_type is not None]


def _corrupt(path: Path, exc: Exception) -> CorruptFileError:
    fmt = _format_name(path)
    return CorruptFileError(f"The file is not a valid {fmt} file or is damaged", path=path,
                            hint=f"check it opens in the program that made it, or export it again as {fmt}",
                            details=str(exc))


def _read_layer(path: Path, layer: str, crs: Any, encoding: str | None, keep_layer_name: bool) -> VectorDataset:
    import geopandas as gpd
    import pyogrio

    kw: dict[str, Any] = {"layer": layer, "use_arrow": _USE_ARROW}
    if encoding:
        kw["encoding"] = encoding
    try:
        info = pyogrio.read_info(str(path), layer=layer)
        frame = pyogrio.read_dataframe(str(path), **kw)
    except GisDeskError:
        raise
    except Exception as exc:
        raise _corrupt(path, exc) from exc
    if not isinstance(frame, gpd.GeoDataFrame):  # a layer without geometry
        frame = gpd.GeoDataFrame(frame, geometry=gpd.GeoSeries([None] * len(frame)), crs=None)
    options: dict[str, Any] = {}
    if keep_layer_name:
        options["layer"] = layer
    if encoding:
        options["encoding"] = encoding
    where = f" (layer {layer!r})" if keep_layer_name else ""
    if frame.crs is not None and not _fits_degrees(frame):
        # GeoJSON/KML are WGS84 by definition, so GDAL reports EPSG:4326 even for a file that
        # holds eastings/northings: such coordinates are not degrees, so the CRS is not known.
        if crs is None:
            raise MissingCrsError(
                f"The data{where} claims longitude/latitude in degrees but its coordinates "
                f"(extent {_extent_text(frame)}) are not degrees", path=path,
                hint="the file was probably written in a projected CRS without saying so: choose "
                     "that CRS (GUI prompt) or give --crs, e.g. --crs EPSG:27700 for British National Grid")
        frame = frame.set_crs(None, allow_override=True)
    if frame.crs is None:
        if crs is None:
            raise MissingCrsError(f"The data{where} has no coordinate reference system", path=path,
                                  hint="choose the CRS it was made in (GUI prompt) or give --crs, "
                                       "e.g. --crs EPSG:27700 for British National Grid")
        frame = frame.set_crs(to_crs(crs), allow_override=True)
        options["crs"] = crs_id(frame.crs)
    return VectorDataset(DataSource(str(path), options=options), frame, driver=str(info.get("driver", "")))


def _fits_degrees(frame) -> bool:
    """False when a geographic CRS holds coordinates outside +-180 / +-90 degrees."""
    if not frame.crs.is_geographic or frame.empty or frame.geometry.is_empty.all():
        return True
    xmin, ymin, xmax, ymax = frame.geometry.total_bounds
    return bool(-180.000001 <= xmin and xmax <= 360.000001 and -90.000001 <= ymin and ymax <= 90.000001)


def _extent_text(frame) -> str:
    return ", ".join(f"{v:.0f}" for v in frame.geometry.total_bounds)


def _read_geopackage(path: Path, *, crs: Any, layer: str | None, encoding: str | None) -> list[Dataset]:
    with open(path, "rb") as fh:
        head = fh.read(len(SQLITE_MAGIC))
    if head != SQLITE_MAGIC:
        raise CorruptFileError("The file is not a valid GeoPackage", path=path,
                               hint="it may be another kind of file renamed to .gpkg, or damaged; "
                                    "export it again from the program that made it")
    from gis_desk.io.tiles import geopackage_tile_tables, read_gpkg_tiles

    try:
        tile_tables = geopackage_tile_tables(path)
    except sqlite3.DatabaseError as exc:
        raise CorruptFileError("The file is not a valid GeoPackage (damaged database)", path=path,
                               details=str(exc)) from exc
    try:
        vector_names = _geopackage_feature_tables(path)
    except sqlite3.DatabaseError as exc:
        raise CorruptFileError("The file is not a valid GeoPackage (damaged database)", path=path,
                               details=str(exc)) from exc
    if layer is not None:
        if layer in tile_tables:
            return read_gpkg_tiles(path, table=layer, crs=crs)
        if layer not in vector_names:
            raise DataError(f"There is no layer {layer!r} in this GeoPackage", path=path,
                            hint=f"layers found: {', '.join(vector_names + tile_tables) or 'none'}")
        return [_read_layer(path, layer, crs, encoding, True)]
    if not vector_names and not tile_tables:
        raise DataError("The GeoPackage contains no vector layer or tile pyramid", path=path)
    datasets: list[Dataset] = [_read_layer(path, name, crs, encoding, True) for name in vector_names]
    for table in tile_tables:
        datasets.extend(read_gpkg_tiles(path, table=table, crs=crs))
    return datasets


def _geopackage_feature_tables(path: Path) -> list[str]:
    """Feature tables registered in gpkg_contents (GDAL lists none when a GeoPackage holds
    only tiles, so ask the database directly)."""
    with sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True) as con:
        if not con.execute("SELECT 1 FROM sqlite_master WHERE name = 'gpkg_contents'").fetchone():
            raise sqlite3.DatabaseError("no gpkg_contents table")
        return [r[0] for r in con.execute("SELECT table_name FROM gpkg_contents WHERE data_type = 'features' "
                                          "ORDER BY table_name")]


# --- writing ---------------------------------------------------------------------------------


def _frame_of(data):
    """The GeoDataFrame behind a VectorLayer, a VectorDataset or a GeoDataFrame."""
    import geopandas as gpd

    dataset = getattr(data, "dataset", None)
    if isinstance(dataset, VectorDataset):
        return dataset.frame
    if isinstance(data, VectorDataset):
        return data.frame
    if isinstance(data, gpd.GeoDataFrame):
        return data
    raise TypeError(f"Cannot write {type(data).__name__} as vector data: give a VectorLayer, "
                    "VectorDataset or GeoDataFrame")


def write_vector(data, path: str | os.PathLike, *, driver: str | None = None, layer: str | None = None) -> str:
    """Write features to ``path`` and return the absolute path written.

    ``data``: a ``VectorLayer``, ``VectorDataset`` or ``geopandas.GeoDataFrame``.
    ``driver``: an OGR driver name; by default from the extension (see ``FORMATS``).
    ``layer``: layer name (GeoPackage: written into an existing GeoPackage as a new layer,
    replacing a layer of that name; default: the file name).  KML is always written in
    WGS84 (EPSG:4326) as the format requires; a CSV gets a ``WKT`` geometry column and a
    ``.prj`` sidecar so the CRS survives.  Single-file outputs are replaced atomically.

    Raises ``WriterError`` naming the file (unknown format, folder not writable, disk full).
    """
    import pyogrio

    frame = _frame_of(data)
    path = Path(path).resolve()
    suffix = path.suffix.lower()
    if driver is None:
        if suffix not in FORMATS:
            raise WriterError(f"Cannot tell the vector format from the extension {suffix or '(none)'!r}",
                              path=path, hint=f"use one of {', '.join(sorted(FORMATS))}")
        driver = FORMATS[suffix][0]
    layer_options: dict[str, Any] = {}
    if driver == "KML" and frame.crs is not None and crs_id(frame.crs) != "EPSG:4326":
        frame = frame.to_crs("EPSG:4326")
    if driver == "CSV":
        layer_options["GEOMETRY"] = "AS_WKT"
    layer_name = layer or path.stem
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        if driver == "GPKG" and path.exists():
            # Add or replace one layer inside an existing GeoPackage (GDAL works transactionally).
            pyogrio.write_dataframe(frame, str(path), layer=layer_name, driver=driver)
        else:
            _write_via_temp_folder(frame, path, driver, layer_name, layer_options)
        if driver == "CSV" and frame.crs is not None:
            from gis_desk.io.atomic import atomic_write_text

            atomic_write_text(path.with_suffix(".prj"), to_crs(frame.crs).to_wkt("WKT1_ESRI"))
    except GisDeskError:
        raise
    except Exception as exc:
        raise WriterError(f"Could not write the {_format_name(path)} file: {exc}", path=path,
                          hint="check the folder exists and is writable, the file is not open in "
                               "another program and the disk is not full", details=repr(exc)) from exc
    return str(path)


def _write_via_temp_folder(frame, path: Path, driver: str, layer: str, layer_options: dict) -> None:
    """Write into a temporary folder beside ``path``, then move every produced file (a
    Shapefile is several) over the target, so a failed write leaves the old file intact."""
    import pyogrio

    tmp_dir = Path(tempfile.mkdtemp(prefix=f".{path.stem}.", dir=path.parent))
    try:
        tmp_path = tmp_dir / path.name
        pyogrio.write_dataframe(frame, str(tmp_path), layer=layer, driver=driver,
                                layer_options=layer_options or None)
        if driver == "ESRI Shapefile":  # drop stale parts of an older Shapefile of the same name
            for old in path.parent.glob(path.stem + ".*"):
                if old.stem == path.stem and old.is_file():
                    old.unlink()
        for produced in tmp_dir.iterdir():
            os.replace(produced, path.parent / produced.name)
    finally:
        shutil.rmtree(tmp_dir, ignore_errors=True)
