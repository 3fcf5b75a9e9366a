"""The ``.gdesk`` project file: human-readable JSON with a schema version and migrations.

Layout (schema version 1)::

    {
      "format": "gis-desk-project",
      "schema_version": 1,
      "app_version": "0.1.0",
      "title": "Trafford survey",
      "crs": "EPSG:27700",                 # 'AUTH:code' when the CRS has one, else WKT
      "view_extent": [xmin, ymin, xmax, ymax] | null,   # project CRS units
      "layers": [ Layer.to_dict(), ... ],  # bottom to top (index 0 is drawn first)
      "bookmarks": [{"name": ..., "extent": [...], "crs": "EPSG:27700"}, ...],
      "export_log": [{"when": ..., "what": ..., "where": ..., "policy": ..., "details": {}}],
      "plugin_data": {"<plugin>": {...}}
    }

Nested objects are written with sorted keys and two-space indents so a project under version
control diffs cleanly.  A layer's ``source.path`` is written relative to the project file's
folder (forward slashes) whenever it can be, so a project folder can be moved or zipped; a
file outside the folder also keeps ``source.absolute_path`` as a fallback for when the project
is moved without its data; a file on another drive stays absolute.

Files are written atomically (temp file in the same folder, fsync, rename) and the previous
file is kept as ``<name>.gdesk.bak``.  Older layouts are upgraded on reading by ``MIGRATIONS``
(version n -> n + 1, applied in sequence); a file from a newer schema is refused.
"""

from __future__ import annotations

import json
import logging
import os
import re
import uuid
import weakref
from pathlib import Path
from typing import Any, Callable

from gis_desk.core.crs import BNG, crs_id, to_crs
from gis_desk.core.layer import BrokenLayer, Layer, restore_style
from gis_desk.core.project import Bookmark, ExportRecord, Project
from gis_desk.errors import CrsError, GisDeskError, MissingFileError, ProjectFileError, ReaderError, WriterError
from gis_desk.io.atomic import atomic_write_bytes, atomic_write_text

log = logging.getLogger(__name__)

FORMAT = "gis-desk-project"
SCHEMA_VERSION = 1
PROJECT_SUFFIX = ".gdesk"
BACKUP_SUFFIX = ".bak"

# Keys this module writes at the top level (others are ignored on reading).
_TOP_LEVEL_ORDER = ("format", "schema_version", "app_version", "title", "crs", "view_extent",
                    "layers", "bookmarks", "export_log", "plugin_data")

# Unknown keys found in a layer record on reading, re-written when that layer is saved again
# (a newer app or a plugin may have added them).  Weak so closed layers are forgotten.
_LAYER_EXTRAS: "weakref.WeakKeyDictionary[Layer, dict[str, Any]]" = weakref.WeakKeyDictionary()


# --- migrations ----------------------------------------------------------------------------


def _migrate_0_to_1(data: dict) -> dict:
    """Version 0: the pre-release layout.

    Differences from version 1: ``name`` instead of ``title``; ``extent`` instead of
    ``view_extent``; each layer names its data as an absolute ``file`` with ``reader`` and
    ``options`` beside it (no ``source`` object); ``bookmarks`` is a mapping of name to extent
    in the project CRS; there is no export log or plugin data.
    """
    out = {k: v for k, v in data.items() if k not in {"name", "extent", "layers", "bookmarks"}}
    out["title"] = data.get("name", "Untitled")
    out["view_extent"] = data.get("extent")
    project_crs = data.get("crs")
    layers = []
    for layer in data.get("layers") or []:
        if not isinstance(layer, dict):
            layers.append(layer)  # let the version-1 checks report it
            continue
        new = {k: v for k, v in layer.items() if k not in {"file", "reader", "options"}}
        new["source"] = {"path": layer.get("file") or "", "reader": layer.get("reader", ""),
                         "options": layer.get("options") or {}}
        layers.append(new)
    out["layers"] = layers
    bookmarks = data.get("bookmarks") or {}
    out["bookmarks"] = [{"name": name, "extent": extent, "crs": project_crs}
                        for name, extent in (bookmarks.items() if isinstance(bookmarks, dict) else [])]
    out.setdefault("export_log", [])
    out.setdefault("plugin_data", {})
    out["schema_version"] = 1
    return out


MIGRATIONS: dict[int, Callable[[dict], dict]] = {0: _migrate_0_to_1}
"""Upgrade functions: ``MIGRATIONS[n]`` turns a version-n document into version n + 1."""


def migrate(data: dict, path: str | Path = "<project>") -> dict:
    """Upgrade a parsed project document to ``SCHEMA_VERSION``.

    A document without ``schema_version`` is taken as version 0 (files written before the
    version was recorded).  Raises ``ProjectFileError`` for a newer or unknown version.
    """
    version = data.get("schema_version", 0)
    if isinstance(version, bool) or not isinstance(version, int) or version < 0:
        raise ProjectFileError(f"The schema_version {version!r} is not a whole number",
                               path=path, hint="the file may have been edited by hand; check that field")
    if version > SCHEMA_VERSION:
        raise ProjectFileError(
            f"The project was saved by a newer GIS Desk (project schema version {version}); this version "
            f"reads schema versions 0 to {SCHEMA_VERSION}",
            path=path, hint="update GIS Desk to open this project")
    while version < SCHEMA_VERSION:
        step = MIGRATIONS.get(version)
        if step is None:
            raise ProjectFileError(f"No upgrade from project schema version {version} is known", path=path)
        try:
            data = step(dict(data))
        except Exception as exc:  # an old file laid out in a way the upgrade did not expect
            raise ProjectFileError(f"The project could not be upgraded from schema version {version}: {exc}",
                                   path=path, hint="the file may have been edited by hand") from exc
        version += 1
        data["schema_version"] = version
    return data


# --- paths ---------------------------------------------------------------------------------

_URI_LIKE = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]+:")  # 'PG:...', 'https:...'; not 'C:'


def _is_local_path(text: str) -> bool:
    """True for file-system paths; False for URLs, GDAL virtual paths and connection strings."""
    return bool(text) and not text.startswith("/vsi") and not _URI_LIKE.match(text)


def _stored_path(path: str, base: Path | None) -> dict[str, str]:
    """``{"path": ...}`` as written to the file, plus ``absolute_path`` for files outside ``base``."""
    if base is None or not _is_local_path(path) or not os.path.isabs(path):
        return {"path": path}
    try:
        rel = os.path.relpath(path, base)
    except ValueError:  # another drive (Windows): a relative path cannot exist
        return {"path": path}
    rel = Path(rel).as_posix()
    if rel == ".." or rel.startswith("../"):
        return {"path": rel, "absolute_path": path}
    return {"path": rel}


def _resolved_path(source: dict, base: Path) -> str:
    """The absolute path a stored source refers to, tried relative first, then absolute."""
    stored = str(source.get("path") or "")
    if not _is_local_path(stored) or os.path.isabs(stored):
        return stored
    candidate = os.path.normpath(base / stored)
    fallback = source.get("absolute_path")
    if not os.path.exists(candidate) and isinstance(fallback, str) and os.path.exists(fallback):
        return fallback
    return candidate


# --- writing -------------------------------------------------------------------------------


def _sorted(value: Any) -> Any:
    """Recursively sort mapping keys so the same project always gives the same text."""
    if isinstance(value, dict):
        return {k: _sorted(value[k]) for k in sorted(value, key=str)}
    if isinstance(value, (list, tuple)):
        return [_sorted(v) for v in value]
    return value


def _json_default(value: Any) -> Any:
    if hasattr(value, "item") and callable(value.item):  # numpy scalars from classification
        return value.item()
    if isinstance(value, (set, frozenset)):
        return sorted(value, key=str)
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    raise TypeError(f"{type(value).__name__} {value!r} cannot be written to a project file")


_INLINE_WIDTH = 100  # a list of plain values shorter than this stays on one line


def _encode(value: Any, level: int = 0) -> str:
    """JSON text with two-space indents; short lists of plain values (extents, bands) inline."""
    if value is not None and not isinstance(value, (str, int, float, bool, dict, list, tuple)):
        return _encode(_json_default(value), level)
    pad, end = "  " * (level + 1), "  " * level
    if isinstance(value, dict):
        if not value:
            return "{}"
        items = [f"{pad}{json.dumps(str(k), ensure_ascii=False)}: {_encode(v, level + 1)}" for k, v in value.items()]
        return "{\n" + ",\n".join(items) + "\n" + end + "}"
    if isinstance(value, (list, tuple)):
        if not value:
            return "[]"
        if not any(isinstance(v, (dict, list, tuple)) for v in value):
            inline = "[" + ", ".join(_encode(v) for v in value) + "]"
            if len(pad) + len(inline) <= _INLINE_WIDTH:
                return inline
        return "[\n" + ",\n".join(pad + _encode(v, level + 1) for v in value) + "\n" + end + "]"
    return json.dumps(value, ensure_ascii=False)


def layer_record(layer: Layer, base: Path | None) -> dict[str, Any]:
    """A layer as written to a project whose folder is ``base`` (None: absolute paths)."""
    record = layer.to_dict()
    for key, value in _LAYER_EXTRAS.get(layer, {}).items():
        record.setdefault(key, value)
    source = dict(record.get("source") or {})
    source.pop("absolute_path", None)
    source.update(_stored_path(str(source.get("path") or ""), base))
    record["source"] = source
    return record


def project_to_dict(project: Project, base: Path | None) -> dict[str, Any]:
    """The project as a version-``SCHEMA_VERSION`` document; paths relative to ``base``."""
    from gis_desk import __version__

    base = Path(base).resolve() if base is not None else None
    doc: dict[str, Any] = {
        "format": FORMAT,
        "schema_version": SCHEMA_VERSION,
        "app_version": __version__,
        "title": project.title,
        "crs": crs_id(project.crs),
        "view_extent": list(project.view_extent) if project.view_extent is not None else None,
        "layers": [layer_record(layer, base) for layer in project.layers],
        "bookmarks": [{"name": bm.name, "extent": list(bm.extent), "crs": bm.crs}
                      for bm in project.bookmarks.values()],
        "export_log": [{"when": r.when, "what": r.what, "where": r.where, "policy": r.policy,
                        "details": r.details} for r in project.export_log],
        "plugin_data": project.plugin_data,
    }
    # Top level in a fixed, readable order; everything below it sorted.
    return {key: _sorted(doc[key]) for key in _TOP_LEVEL_ORDER}


def project_to_text(project: Project, base: Path | None, path: str | Path = "<project>",
                    extra: dict[str, Any] | None = None) -> str:
    """JSON text of the project (``extra`` top-level keys appended, e.g. autosave details).

    Raises ``WriterError`` naming ``path`` when a value cannot be written as JSON.
    """
    doc = project_to_dict(project, base)
    if extra:
        doc.update(_sorted(extra))
    try:
        return _encode(doc) + "\n"
    except (TypeError, ValueError) as exc:
        raise WriterError(f"The project could not be written: {exc}", path=path,
                          hint="a plugin or style holds a value that is not plain data") from exc


def backup_path(path: str | Path) -> Path:
    """Where ``save_project`` keeps the previous version of ``path`` (``name.gdesk.bak``)."""
    path = Path(path)
    return path.with_name(path.name + BACKUP_SUFFIX)


def save_project(project: Project, path: str | Path) -> Path:
    """Write ``project`` to ``path`` atomically, keeping the previous file as ``.gdesk.bak``.

    Data paths are written relative to ``path``'s folder where possible.  After a successful
    write, the autosave of this project (beside ``path``, beside its previous path, or the
    untitled one) is removed.  Does not change ``project.path`` or the dirty flag (the session
    does).  Raises ``WriterError`` naming the file if it cannot be written; the existing file
    is then left as it was.
    """
    path = Path(path).absolute()
    text = project_to_text(project, path.parent, path)  # fails before any file is touched
    if path.is_file():
        try:
            atomic_write_bytes(backup_path(path), path.read_bytes())
        except OSError as exc:  # includes WriterError
            reason = exc.message if isinstance(exc, WriterError) else (exc.strerror or str(exc))
            raise WriterError(f"Could not keep a backup of the previous project file: {reason}", path=path,
                              hint="check the folder is writable and the disk is not full") from exc
    atomic_write_text(path, text)
    from gis_desk.core.autosave import autosave_file_for, discard_autosave

    discard_autosave(project)
    _unlink_quietly(autosave_file_for(path))
    return path


def _unlink_quietly(path: Path) -> None:
    try:
        path.unlink(missing_ok=True)
    except OSError as exc:  # a stale autosave must not make a good save fail
        log.warning("could not remove %s: %s", path, exc)


# --- reading -------------------------------------------------------------------------------


def _line_of(text: str, key: str) -> str:
    """' (line n)' where ``"key"`` first appears in ``text``, to point the user at it."""
    at = text.find(f'"{key}"')
    return f" (line {text.count(chr(10), 0, at) + 1})" if at >= 0 else ""


def load_project_document(path: str | Path) -> dict[str, Any]:
    """Read, check and migrate a project file to a version-``SCHEMA_VERSION`` document.

    Raises ``MissingFileError`` if it does not exist, ``ReaderError`` if it cannot be read,
    ``ProjectFileError`` (naming the file, with line and column for JSON syntax errors) if it
    is not valid JSON, not a GIS Desk project, or from a newer schema version.
    """
    path = Path(path)
    if not path.exists():
        raise MissingFileError("The project file does not exist", path=path,
                               hint="it may have been moved, renamed or be on a drive that is not connected")
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ReaderError(f"Could not read the project file: {exc.strerror or exc}", path=path,
                          hint="check it is a file you are allowed to read") from exc
    backup = backup_path(path)
    backup_hint = f"the previous version is kept in {backup.name}" if backup.exists() else None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ProjectFileError("This is not a GIS Desk project file (it is not text)", path=path,
                               hint=backup_hint or "choose a .gdesk file", details=str(exc)) from exc
    if not text.strip():
        raise ProjectFileError("The project file is empty", path=path,
                               hint=backup_hint or "it may have been cut short while copying")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        looks_xml = text.lstrip().startswith("<")
        raise ProjectFileError(
            f"The project file is not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}",
            path=path,
            hint=("this looks like XML, perhaps a QGIS project; GIS Desk opens .gdesk files" if looks_xml
                  else backup_hint or "the file is damaged or was edited by hand; fix that line"),
            details=str(exc)) from exc
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise ProjectFileError("This is not a GIS Desk project file (no \"format\": \"gis-desk-project\")",
                               path=path, hint="choose a .gdesk file saved by GIS Desk")
    try:
        data = migrate(data, path)
    except ProjectFileError as exc:
        raise ProjectFileError(exc.message + _line_of(text, "schema_version"), path=path, hint=exc.hint,
                               details=exc.details) from exc
    _check_document(data, path, text)
    return data


_EXPECTED_TYPES = {"title": (str,), "crs": (str, int), "layers": (list,), "bookmarks": (list,),
                   "export_log": (list,), "plugin_data": (dict,), "view_extent": (list, type(None))}


def _check_document(data: dict, path: Path, text: str) -> None:
    for key, types in _EXPECTED_TYPES.items():
        if key in data and not isinstance(data[key], types):
            raise ProjectFileError(f"\"{key}\" has the wrong type ({type(data[key]).__name__})"
                                   f"{_line_of(text, key)}", path=path,
                                   hint="the file may have been edited by hand; fix or remove that entry")
    for i, record in enumerate(data.get("layers", [])):
        if not isinstance(record, dict):
            raise ProjectFileError(f"Layer {i + 1} is not a JSON object{_line_of(text, 'layers')}",
                                   path=path, hint="the file may have been edited by hand")
    extent = data.get("view_extent")
    if extent is not None and not _is_box(extent):
        raise ProjectFileError(f"\"view_extent\" must be four numbers{_line_of(text, 'view_extent')}",
                               path=path)
    for bm in data.get("bookmarks", []):
        if not isinstance(bm, dict) or not isinstance(bm.get("name"), str) or not _is_box(bm.get("extent")):
            raise ProjectFileError(f"A bookmark needs a name and four numbers{_line_of(text, 'bookmarks')}",
                                   path=path, hint="fix or remove that bookmark")


def _is_box(value: Any) -> bool:
    return (isinstance(value, list) and len(value) == 4
            and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value))


def read_project(path: str | Path, session) -> Project:
    """A NEW ``Project`` (not attached to ``session``) read from ``path``.

    Each layer's data is reopened through ``session.read`` with its saved reader and options;
    relative paths resolve against the project file's folder.  A layer whose file is missing,
    corrupt or whose reader fails becomes a ``BrokenLayer`` in the same position, keeping its
    whole record.  Raises what ``load_project_document`` raises, and ``ProjectFileError`` for
    an unknown project CRS; nothing in ``session`` changes on error.
    """
    path = Path(path)
    data = load_project_document(path)
    base = path.resolve().parent
    try:
        crs = to_crs(data.get("crs") or BNG)
    except CrsError as exc:
        raise ProjectFileError(f"The project CRS {data.get('crs')!r} is not known", path=path,
                               hint="set \"crs\" to an EPSG code such as \"EPSG:27700\"") from exc
    project = Project(crs=crs, title=str(data.get("title") or "Untitled"))
    seen_ids: set[str] = set()
    layers = []
    for record in data.get("layers", []):
        layer = _open_layer(record, session, base)
        if layer.id in seen_ids:  # a hand-edited file; ids must stay unique for lookups
            layer.id = uuid.uuid4().hex[:12]
        seen_ids.add(layer.id)
        layers.append(layer)
    project.layers.extend(layers)
    for bm in data.get("bookmarks", []):
        project.bookmarks[bm["name"]] = Bookmark(bm["name"], tuple(float(v) for v in bm["extent"]),
                                                 str(bm.get("crs") or crs_id(crs)))
    extent = data.get("view_extent")
    project.view_extent = tuple(float(v) for v in extent) if extent is not None else None
    project.export_log = [_export_record(r) for r in data.get("export_log", []) if isinstance(r, dict)]
    project.plugin_data = dict(data.get("plugin_data") or {})
    project.mark_dirty(False)
    return project


def _export_record(record: dict) -> ExportRecord:
    return ExportRecord(str(record.get("when", "")), str(record.get("what", "")), str(record.get("where", "")),
                        str(record.get("policy", "")), dict(record.get("details") or {}))


def _open_layer(record: dict, session, base: Path) -> Layer:
    """Reopen one layer record, or a ``BrokenLayer`` saying why it could not be opened."""
    source = record.get("source")
    if not isinstance(source, dict) or not source.get("path"):
        return BrokenLayer(record, "The project file gives no data file for this layer")
    data_path = _resolved_path(source, base)
    kept = dict(record)
    kept["source"] = {"path": data_path, "reader": source.get("reader", ""),
                      "options": dict(source.get("options") or {})}
    options = dict(kept["source"]["options"])
    crs = options.pop("crs", None)
    try:
        datasets = session.read(data_path, crs=crs, reader=source.get("reader") or None, **options)
        if not datasets:
            raise ReaderError("The file holds no layers", path=data_path)
        dataset = _matching_dataset(datasets, options)
        layer = session.layer_for(
            dataset, name=record.get("name"), visible=bool(record.get("visible", True)),
            opacity=min(1.0, max(0.0, float(record.get("opacity", 1.0)))), layer_id=record.get("id"))
        if record.get("kind") == layer.kind:
            layer.restore_state(record)
        if record.get("style") is not None:
            if record.get("kind") == layer.kind:
                restore_style(layer, record["style"])
            else:
                log.warning("%s: saved as a %s layer but now opens as %s; its style was not applied",
                            data_path, record.get("kind"), layer.kind)
    except Exception as exc:  # one bad layer must never stop the project opening
        log.warning("layer %r is broken: %s", record.get("name"), exc)
        return BrokenLayer(kept, _describe(exc, data_path))
    extras = {k: v for k, v in record.items() if k not in layer.to_dict()}
    if extras:
        _LAYER_EXTRAS[layer] = extras
    return layer


def _matching_dataset(datasets: list, options: dict):
    """The dataset whose sub-layer option matches the saved one (GeoPackage layers...)."""
    wanted = options.get("layer")
    if wanted is not None:
        for ds in datasets:
            if ds.source.options.get("layer") == wanted:
                return ds
    return datasets[0]


def _describe(exc: BaseException, data_path: str) -> str:
    if isinstance(exc, GisDeskError):
        return str(exc)
    text = str(exc) or type(exc).__name__
    return text if data_path in text else f"{data_path}: {text}"
