"""Summaries of any file GIS Desk can read (``gis-desk info FILE [--json]``).

``describe`` opens the file through ``Session.read``, so every active plugin's readers
count, and returns plain JSON-serialisable data; ``format_info`` turns it into text.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any


def describe(path: str | os.PathLike, session=None, crs: Any = None) -> dict[str, Any]:
    """``{"path": absolute path, "datasets": [dataset.info(), ...]}`` for ``path``.

    ``session`` defaults to a new ``Session`` with every installed plugin; ``crs`` is used
    only for data without one.  Raises what the reader raises (``MissingFileError``,
    ``NoReaderError``, ``CorruptFileError``, ``MissingCrsError``...).
    """
    if session is None:
        from gis_desk.session import Session

        session = Session()
    if Path(path).suffix.lower() == ".gdesk":
        return _describe_project(path, session)
    datasets = session.read(path, crs=crs)
    try:
        infos = []
        for ds in datasets:
            info = ds.info()
            if ds.source.options.get("layer") and "layer" not in info:
                info["layer"] = ds.source.options["layer"]
            infos.append(info)
        return {"path": str(Path(path).resolve()), "datasets": infos}
    finally:
        for ds in datasets:
            ds.close()


def _describe_project(path, session) -> dict[str, Any]:
    """A project's CRS, extent, bookmarks and layers (top first), broken ones with their error."""
    from gis_desk.core.crs import crs_id
    from gis_desk.io.project_file import read_project

    project = read_project(path, session)
    layers = []
    for layer in reversed(list(project.layers)):
        entry = {"name": layer.name, "kind": layer.kind, "visible": layer.visible,
                 "opacity": layer.opacity, "source": layer.source.path if layer.source else None}
        if layer.is_broken:
            entry["error"] = layer.error
        layers.append(entry)
    extent = project.full_extent()
    return {
        "path": str(Path(path).resolve()),
        "kind": "project",
        "title": project.title,
        "crs": crs_id(project.crs),
        "extent": list(extent) if extent else None,
        "bookmarks": sorted(project.bookmarks),
        "layers": layers,
        "datasets": [],
    }


def _num(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.6g}" if abs(v) < 1e5 else f"{v:.2f}"
    return str(v)


def _extent(e) -> str:
    return ", ".join(_num(float(v)) for v in e) if e else "none"


def format_info(d: dict[str, Any]) -> str:
    """Human-readable text for the result of ``describe``: per dataset its driver, CRS,
    extent and either size/bands (rasters), zooms (tiles) or feature count/fields (vectors)."""
    lines = [f"File: {d['path']}"]
    if d.get("kind") == "project":
        lines.append(f"GIS Desk project '{d['title']}', CRS {d['crs']}, extent {_extent(d['extent'])}")
        if d["bookmarks"]:
            lines.append(f"Bookmarks: {', '.join(d['bookmarks'])}")
        lines.append(f"Layers ({len(d['layers'])}, top first):")
        for layer in d["layers"]:
            state = "" if layer["visible"] else " (hidden)"
            broken = f"  BROKEN: {layer['error']}" if layer.get("error") else ""
            lines.append(f"  {layer['name']} [{layer['kind']}]{state} <- {layer['source']}{broken}")
    for i, ds in enumerate(d.get("datasets", []), 1):
        kind = ds.get("kind", "?")
        title = ds.get("table") or ds.get("layer") or ""
        lines.append("")
        lines.append(f"Dataset {i}: {kind}" + (f" '{title}'" if title else ""))
        lines.append(f"  Driver:  {ds.get('driver') or '?'}")
        lines.append(f"  CRS:     {ds.get('crs_name') or ds.get('crs') or 'none'}")
        lines.append(f"  Extent:  {_extent(ds.get('extent'))}  (xmin, ymin, xmax, ymax)")
        if kind == "raster":
            px = ds.get("pixel_size") or []
            lines.append(f"  Size:    {ds['width']} x {ds['height']} pixels, {ds['count']} band(s)"
                         + (f", pixel {_num(px[0])} x {_num(px[1])}" if px else ""))
            for b in ds.get("bands", []):
                nodata = "" if b.get("nodata") is None else f", nodata {b['nodata']}"
                lines.append(f"    Band {b['band']}: {b['dtype']}, {b.get('colorinterp', '')}{nodata}")
            ovr = ds.get("overviews") or []
            lines.append(f"  Overviews: {', '.join(str(f) for f in ovr) if ovr else 'none'}")
        elif kind == "tiles":
            lines.append(f"  Zooms:   {', '.join(str(z) for z in ds.get('zooms', []))}")
            size = ds.get("tile_size") or ["?", "?"]
            lines.append(f"  Tiles:   {ds.get('tile_format', '?')}, {size[0]} x {size[1]} pixels")
        else:
            lines.append(f"  Features: {ds.get('count', 0)} ({ds.get('geometry_type', '?')})")
            fields = ds.get("fields") or {}
            lines.append(f"  Fields ({len(fields)}):")
            for name, dtype in fields.items():
                lines.append(f"    {name}: {dtype}")
        for note in ds.get("notes", []):
            lines.append(f"  Note: {note}")
    return "\n".join(lines)
