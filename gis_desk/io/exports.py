"""Exports of record-derived data: every one goes through disclosure control.

Each function REQUIRES a ``DisclosurePolicy`` (``gis_desk.analysis.disclosure``); there is no
default that skips control.  Data not about people (boundaries, public IMD ranks) is exported
with an explicit ``NoDisclosureControl(reason)``, which is written into the file and the log.

- ``export_geopackage``: a layer with the policy applied to its count columns, its style in
  the QGIS ``layer_styles`` table (so QGIS opens it styled), the policy in the layer's GeoPackage
  metadata (``gpkg_metadata`` / ``gpkg_metadata_reference``, written by GDAL), in its
  ``gpkg_contents`` description and in the style's description.
- ``export_cog``: a Cloud Optimized GeoTIFF of a heat map with cells reached by fewer than k
  records set to nodata; float values with a QML sidecar for the colour ramp, or classes with
  a colour table (``paletted=True``); the policy in the GDAL metadata tags.
- ``export_csv``: a table after suppression, suppressed cells shown as ``[c]``, explained in a
  ``<name>_README.txt`` sidecar (a comment line would break CSV readers such as GDAL's).
- ``export_png_map``: a map image with legend, scale bar and an attribution line naming the
  policy; the policy also goes into the PNG's text chunks.

Each appends a ``gis_desk.core.project.ExportRecord`` (when, what, where, policy) to the
``export_log`` given: the project's ``export_log`` list, or the ``Project`` itself (then it
is also marked unsaved).  Files are written beside the target and moved over it only when
complete, so a failed export never leaves half a file.  GeoPackages are written as version 1.2
so that older GDAL (and QGIS builds on it) open them without a version warning.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import pandas as pd

from gis_desk.analysis.disclosure import (
    DisclosurePolicy,
    SuppressionReport,
    apply_policy,
    mask_raster,
    public_flags,
)
from gis_desk.core.project import ExportRecord
from gis_desk.errors import DataError, GisDeskError, MissingCrsError, ParameterError, WriterError

SUPPRESSED_MARKER = "[c]"  # "confidential", as ONS and NHS Digital tables mark suppressed cells
STYLE_TABLE = "layer_styles"
DEFAULT_NODATA = -9999.0


@dataclass
class ExportResult:
    """What an export wrote: the file, its sidecars, the log record and (for tables) the
    suppression report."""

    path: Path
    record: ExportRecord
    report: SuppressionReport | None = None
    sidecars: list[Path] = field(default_factory=list)


# -- shared helpers ---------------------------------------------------------------------------


def _require_policy(policy) -> DisclosurePolicy:
    if not isinstance(policy, DisclosurePolicy):
        raise ParameterError("Exports of record-derived data need a disclosure policy",
                             hint="use NhsDigitalPolicy(), ThresholdPolicy(k=10), or NoDisclosureControl(reason) "
                                  "for data that is not about people")
    return policy


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _software() -> str:
    from gis_desk import __version__

    return f"GIS Desk {__version__}"


def _append(export_log, record: ExportRecord) -> None:
    if export_log is None:
        return
    target = getattr(export_log, "export_log", export_log)
    target.append(record)
    mark_dirty = getattr(export_log, "mark_dirty", None)
    if callable(mark_dirty):
        mark_dirty()


def _record(what: str, path: Path, policy: DisclosurePolicy, report: SuppressionReport | None,
            export_log, **details) -> ExportRecord:
    details = {"policy": policy.to_dict(), "suppression": report.to_dict() if report else None, **details}
    record = ExportRecord(when=_now(), what=what, where=str(path), policy=policy.label, details=details)
    _append(export_log, record)
    return record


def _metadata(policy: DisclosurePolicy, report: SuppressionReport | None) -> dict[str, str]:
    """Metadata items naming the policy, for GeoPackage layer metadata and GeoTIFF tags."""
    items = {
        "DISCLOSURE_POLICY": policy.label,
        "DISCLOSURE_POLICY_JSON": json.dumps(policy.to_dict(), sort_keys=True),
        "DISCLOSURE_CONTROL": policy.describe(),
        "EXPORTED_BY": _software(),
        "EXPORTED_AT": _now(),
    }
    if report is not None:
        items["DISCLOSURE_SUMMARY"] = report.public_summary()
    return items


def _target(path, suffixes: tuple[str, ...], what: str) -> Path:
    out = Path(path).expanduser().resolve()
    if out.suffix.lower() not in suffixes:
        raise WriterError(f"A {what} must be written to a file ending in {' or '.join(suffixes)}", path=out,
                          hint=f"rename the output to {out.stem}{suffixes[0]}")
    if not out.parent.is_dir():
        raise WriterError("The folder to export into does not exist", path=out,
                          hint="create the folder or choose another one")
    return out


def _temp_beside(path: Path) -> Path:
    return path.with_name(f".{path.stem}.{uuid.uuid4().hex[:8]}.tmp{path.suffix}")


def _remove(*paths: Path) -> None:
    for p in paths:
        for candidate in (p, Path(str(p) + "-wal"), Path(str(p) + "-shm"), Path(str(p) + "-journal")):
            if candidate.exists():
                candidate.unlink()


def _umask() -> int:
    """The process umask without changing it (os.umask would race with other threads)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    return 0o022


def _shareable(*paths: Path) -> None:
    """Atomic writes create private (0600) files; exports are meant to be shared, so give
    them the permissions any new file would get."""
    for path in paths:
        try:
            os.chmod(path, 0o666 & ~_umask())
        except OSError:
            pass  # e.g. a file system without POSIX permissions: the file is written anyway


def _write_failed(path: Path, exc: Exception, what: str) -> WriterError:
    return WriterError(f"Could not write the {what}: {exc}", path=path,
                       hint="check the folder is writable, the file is not open in another program "
                            "and the disk is not full", details=repr(exc))


def _table_of(data):
    """A pandas/geopandas frame from a frame, a ``VectorDataset`` or a ``VectorLayer``."""
    import pandas as pd

    dataset = getattr(data, "dataset", data)
    frame = getattr(dataset, "frame", dataset)
    if not isinstance(frame, pd.DataFrame):
        raise ParameterError(f"Cannot export a {type(data).__name__} as a table",
                             hint="give a (Geo)DataFrame, a vector dataset or a vector layer")
    return frame.reset_index(drop=True)


def _controlled(frame, count_columns: Sequence[str], policy: DisclosurePolicy, totals: str,
                derived_columns: Sequence[str], flag_column: str):
    """Apply the policy; blank derived columns (rates, shares) in rows where a count is hidden."""
    columns = [str(c) for c in count_columns or ()]
    if not columns:
        if policy.controls:
            raise DataError(f"No count columns were named, so {policy.name} cannot be applied",
                            hint="aggregate the records first (counts per area or hexagon) and name the "
                                 "count columns; individual records are never exported under a policy")
        return frame, None
    out, report = apply_policy(frame, columns, policy, totals, flag_column=flag_column)
    out[flag_column] = public_flags(out, flag_column)  # never say which hidden cells are the small ones
    hidden = report.primary.to_numpy().any(axis=1) | report.secondary.to_numpy().any(axis=1)
    for name in derived_columns or ():
        if name not in out.columns:
            raise DataError(f"The table has no column {name!r} to treat as derived from the counts",
                            hint=f"choose from: {', '.join(map(str, out.columns))}")
        column = out[name]
        if column.dtype.kind in "iu" or str(column.dtype) in ("Int64", "Int32"):
            out[name] = column.astype("Int64").mask(hidden)  # nullable: written as NULL, not NaN
        elif column.dtype.kind == "f" or str(column.dtype) in ("Float64", "Float32"):
            out[name] = column.astype("Float64").mask(hidden)
        else:
            out[name] = column.astype(object).where(~hidden, None)
    return out, report


# -- GeoPackage -------------------------------------------------------------------------------


def _layer_style_rows(gpkg: Path, layer: str, geometry_column: str, qml: str, style_name: str,
                      description: str):
    """The layer_styles table with this layer's style replacing any earlier one."""
    import pandas as pd
    import pyogrio

    row = {
        "f_table_catalog": "", "f_table_schema": "", "f_table_name": layer,
        "f_geometry_column": geometry_column, "styleName": style_name[:30], "styleQML": qml, "styleSLD": "",
        "useAsDefault": True, "description": description, "owner": "", "ui": "",
        "update_time": pd.Timestamp.now(tz="UTC").floor("ms"),
    }
    frame = pd.DataFrame([row])
    names = [str(n) for n in pyogrio.list_layers(str(gpkg))[:, 0]]
    if STYLE_TABLE in names:
        old = pyogrio.read_dataframe(str(gpkg), layer=STYLE_TABLE, read_geometry=False)
        old = old[old.get("f_table_name", pd.Series(dtype=object)) != layer]
        if len(old):
            frame = pd.concat([old[[c for c in old.columns if c in row]], frame], ignore_index=True)
    frame["useAsDefault"] = frame["useAsDefault"].astype(bool)
    return frame


def export_geopackage(data, path, layer: str, style, policy: DisclosurePolicy, export_log=None, *,
                      count_columns: Sequence[str] = (), totals: str = "column",
                      derived_columns: Sequence[str] = (), flag_column: str = "suppression",
                      description: str = "", style_name: str | None = None, what: str | None = None) -> ExportResult:
    """Write ``data`` (GeoDataFrame, vector dataset or layer) as ``layer`` of the GeoPackage at
    ``path`` (created, or the layer added/replaced in an existing file) after applying
    ``policy`` to ``count_columns`` (totals as in ``apply_policy``; default: each column's
    total is assumed published).  ``derived_columns`` (rates, shares) are emptied in rows where
    a count is suppressed; under a rounding policy compute them from the published counts, or
    leave them out, since a rate of the raw count gives the raw count back.  ``style`` (single, categorised or graduated; None: the layer's own
    style, else a single symbol) is stored as the layer's default QGIS style.  ``style`` may
    also be a function of the controlled frame returning the style: use that for classes of a
    count field, because class edges computed from the raw counts would reveal the smallest
    and largest raw values (e.g. ``lambda f: graduated_style(f, "count")``).

    Raises ``ParameterError`` without a policy, ``DataError`` when a real policy is given no
    count columns (individual records are never exported) or counts are not whole numbers,
    ``WriterError`` naming the file when it cannot be written.
    """
    import pyogrio

    from gis_desk.core.style import SingleSymbolStyle
    from gis_desk.io.qgis_style import vector_style_qml

    policy = _require_policy(policy)
    out_path = _target(path, (".gpkg",), "GeoPackage")
    if not str(layer or "").strip():
        raise ParameterError("The GeoPackage layer needs a name", hint="e.g. care_packages_by_lsoa")
    frame = _table_of(data)
    if getattr(frame, "geometry", None) is None or not hasattr(frame, "crs"):
        raise DataError("Only layers with geometry can be exported to a GeoPackage here",
                        hint="use export_csv for a table without geometry")
    controlled, report = _controlled(frame, count_columns, policy, totals, derived_columns, flag_column)
    if callable(style):
        style = style(controlled)
    if style is None:
        # A layer's own style; never a DataFrame's ``.style`` (that is a pandas Styler for HTML).
        own = None if isinstance(data, pd.DataFrame) else getattr(data, "style", None)
        style = own or SingleSymbolStyle()
    geometry_type = getattr(getattr(data, "dataset", data), "geometry_type", None) or _geometry_type(frame)
    qml = vector_style_qml(style, geometry_type)
    metadata = _metadata(policy, report)
    summary = report.public_summary() if report else policy.describe()
    layer_description = " ".join(t for t in (description.strip(), f"Disclosure control: {policy.label}.", summary) if t)
    tmp = _temp_beside(out_path)
    try:
        if out_path.exists():
            shutil.copyfile(out_path, tmp)
            options = {}
        else:
            options = {"dataset_options": {"VERSION": "1.2"}}
        pyogrio.write_dataframe(controlled, str(tmp), layer=layer, driver="GPKG", layer_metadata=metadata,
                                layer_options={"DESCRIPTION": layer_description}, **options)
        geometry_column = pyogrio.read_info(str(tmp), layer=layer)["geometry_name"] or "geom"
        styles = _layer_style_rows(tmp, layer, geometry_column, qml, style_name or layer,
                                   f"{policy.describe()} {summary}".strip())
        pyogrio.write_dataframe(styles, str(tmp), layer=STYLE_TABLE, driver="GPKG",
                                layer_options={"FID": "id", "DESCRIPTION": "QGIS layer styles"})
        os.replace(tmp, out_path)
    except GisDeskError:
        raise
    except Exception as exc:
        raise _write_failed(out_path, exc, "GeoPackage") from exc
    finally:
        _remove(tmp)
    what = what or f"GeoPackage layer '{layer}' ({len(controlled)} features)"
    record = _record(what, out_path, policy, report, export_log, format="GPKG", layer=layer,
                     features=int(len(controlled)), count_columns=list(count_columns or ()))
    return ExportResult(out_path, record, report)


def _geometry_type(frame) -> str:
    types = {str(t).replace("Multi", "") for t in frame.geometry.geom_type.dropna().unique()}
    return types.pop() if len(types) == 1 else "Polygon"


# -- Cloud Optimized GeoTIFF ------------------------------------------------------------------


def _class_edges(vmin: float, vmax: float, classes) -> np.ndarray:
    if isinstance(classes, (int, np.integer)):
        if classes < 1 or classes > 254:
            raise ParameterError(f"A paletted raster needs 1 to 254 classes, not {classes}")
        return np.linspace(vmin, vmax, int(classes) + 1)
    edges = np.asarray(classes, dtype=float)
    if edges.ndim != 1 or edges.size < 2 or np.any(np.diff(edges) <= 0) or edges.size > 255:
        raise ParameterError("Class edges must be 2 to 255 increasing numbers")
    return edges


def export_cog(array, transform, crs, path, nodata: float | None, style, policy: DisclosurePolicy,
               counts=None, k: int | None = None, export_log=None, *, paletted: bool = False,
               classes: int | Sequence[float] = 10, band_name: str = "value", blocksize: int = 256,
               what: str | None = None) -> ExportResult:
    """Write a 2-D raster (e.g. a heat map) as a Cloud Optimized GeoTIFF at ``path``.

    ``transform``: affine.Affine from pixel to ``crs`` coordinates; ``crs``: anything
    ``pyproj`` understands; ``nodata``: the value marking empty cells, in ``array`` (cells
    equal to it, NaN and masked cells are empty) and in the float output.  Under a real
    policy ``counts`` (same shape: records contributing to each cell) is required and cells
    with fewer than ``k`` records (default ``policy.min_count``; a larger k is allowed, a
    smaller one is not) become nodata.
    Float output (default): Float32 with ``nodata`` (default -9999) and a ``.qml`` sidecar
    drawing ``style`` (a singleband ``RasterStyle``; None: YlOrRd over the published range).
    ``paletted=True``: values binned into ``classes`` (a count of equal classes between the
    style's limits, or explicit edges) as bytes 1..n with a colour table, 0 = nodata.
    The COG is deflate-compressed, tiled ``blocksize`` and has overviews when larger than a
    tile.  Raises ``ParameterError``/``DataError`` for bad inputs, ``WriterError`` naming
    the file when it cannot be written.
    """
    import rasterio
    from affine import Affine
    from rasterio.crs import CRS as RioCRS

    from gis_desk.core.crs import crs_id, to_crs
    from gis_desk.core.ramps import ramp_colors
    from gis_desk.core.style import RasterStyle
    from gis_desk.io.qgis_style import paletted_raster_qml, pseudocolor_raster_qml

    policy = _require_policy(policy)
    out_path = _target(path, (".tif", ".tiff"), "Cloud Optimized GeoTIFF")
    data = np.ma.masked_invalid(np.ma.asarray(array, dtype=np.float64))
    if data.ndim != 2 or data.size == 0:
        raise DataError(f"The raster to export must be a non-empty 2-D grid, got shape {np.shape(array)}")
    if nodata is not None:
        data = np.ma.masked_where(np.ma.getdata(data) == float(nodata), data)
    if policy.controls:
        if counts is None:
            raise DataError("The number of records reaching each cell is needed to apply disclosure control",
                            hint="pass counts=, or NoDisclosureControl(reason) for data not about people")
        k = policy.min_count if k is None else int(k)
        if k < policy.min_count:
            raise ParameterError(f"k = {k} is below the {policy.name} minimum of {policy.min_count} records",
                                 hint=f"use k >= {policy.min_count}")
        data = mask_raster(data, counts, k)
    published = data.compressed()
    style = style or RasterStyle(mode="singleband", ramp="YlOrRd")
    vmin = style.vmin[0] if style.vmin else (float(published.min()) if published.size else 0.0)
    vmax = style.vmax[0] if style.vmax else (float(published.max()) if published.size else 1.0)
    if not isinstance(transform, Affine):
        transform = Affine(*list(transform)[:6])
    if crs is None:
        raise MissingCrsError("The raster to export has no coordinate reference system",
                              path=out_path, hint="give the CRS of the grid, e.g. EPSG:27700")
    rio_crs = RioCRS.from_user_input(crs_id(to_crs(crs)) or to_crs(crs).to_wkt())
    qml_entries = None
    if paletted:
        edges = _class_edges(float(vmin), float(vmax), classes)
        n = len(edges) - 1
        values = np.clip(np.searchsorted(edges[1:-1], np.ma.getdata(data), side="right") + 1, 1, n).astype(np.uint8)
        values[np.ma.getmaskarray(data)] = 0
        colors = ramp_colors(style.ramp, n, invert=style.invert_ramp)
        colormap = {0: (0, 0, 0, 0)}
        qml_entries = []
        for i, color in enumerate(colors, start=1):
            rgb = tuple(int(color[j:j + 2], 16) for j in (1, 3, 5))
            colormap[i] = (*rgb, 255)
            qml_entries.append((i, color, f"{edges[i - 1]:.4g} – {edges[i]:.4g}"))
        dtype, fill, resampling = "uint8", 0, "nearest"
    else:
        fill = DEFAULT_NODATA if nodata is None else float(nodata)
        if np.any(published == fill):
            raise DataError(f"The nodata value {fill:g} also occurs as a real value in the raster",
                            hint="choose another nodata value")
        values = data.filled(fill).astype(np.float32)
        dtype, resampling = "float32", "average"
    tags = _metadata(policy, None)
    if policy.controls:
        tags["DISCLOSURE_MIN_RECORDS"] = str(k)
        tags["DISCLOSURE_MASKED_CELLS"] = str(int(np.ma.getmaskarray(data).sum()))
    if paletted:
        tags.update({f"CLASS_{v}": label for v, _, label in qml_entries})
    tmp = _temp_beside(out_path)
    sidecar = out_path.with_suffix(".qml")
    try:
        profile = dict(driver="COG", width=values.shape[1], height=values.shape[0], count=1, dtype=dtype,
                       crs=rio_crs, transform=transform, nodata=fill, compress="deflate",
                       blocksize=int(blocksize), overview_resampling=resampling, BIGTIFF="IF_SAFER")
        with rasterio.open(tmp, "w", **profile) as dst:
            dst.write(values, 1)
            dst.set_band_description(1, band_name)
            if paletted:
                dst.write_colormap(1, colormap)
            dst.update_tags(**tags)
        os.replace(tmp, out_path)
    except GisDeskError:
        raise
    except Exception as exc:
        raise _write_failed(out_path, exc, "Cloud Optimized GeoTIFF") from exc
    finally:
        _remove(tmp)
    from gis_desk.io.qgis_style import write_qml

    if paletted:
        write_qml(sidecar, paletted_raster_qml(qml_entries))
    else:
        write_qml(sidecar, pseudocolor_raster_qml(float(vmin), float(vmax), style.ramp, invert=style.invert_ramp))
    _shareable(sidecar)
    what = what or f"Cloud Optimized GeoTIFF {values.shape[1]} x {values.shape[0]} ({'classes' if paletted else 'values'})"
    record = _record(what, out_path, policy, None, export_log, format="COG", width=int(values.shape[1]),
                     height=int(values.shape[0]), min_records=k if policy.controls else None,
                     masked_cells=int(np.ma.getmaskarray(data).sum()), sidecars=[str(sidecar)])
    return ExportResult(out_path, record, None, [sidecar])


def export_heatmap(result, path, style, policy: DisclosurePolicy, export_log=None, *, k: int | None = None,
                   **options) -> ExportResult:
    """``export_cog`` for a ``gis_desk.analysis.kde.KdeResult`` (its array, grid, CRS, nodata
    and per-cell record counts; compute it with ``return_counts=True``).  ``options`` go to
    ``export_cog`` (``paletted``, ``classes``, ``what``...)."""
    return export_cog(result.array, result.transform, result.crs, path, result.nodata, style, policy,
                      counts=result.counts, k=k, export_log=export_log, **options)


# -- CSV --------------------------------------------------------------------------------------


def _cell_text(series, marker: str) -> list[str]:
    return [marker if _is_na(v) else str(v) for v in series]


def _is_na(value) -> bool:
    import pandas as pd

    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def export_csv(data, path, policy: DisclosurePolicy, count_columns: Sequence[str], export_log=None, *,
               totals: str = "column", derived_columns: Sequence[str] = (), marker: str = SUPPRESSED_MARKER,
               include_totals: bool = True, flag_column: str = "suppression", what: str | None = None) -> ExportResult:
    """Write a table (frame, vector dataset or layer; geometry left out) as UTF-8 CSV after
    applying ``policy`` to ``count_columns``.  Suppressed counts (and ``derived_columns`` in
    their rows) read ``marker``; with ``include_totals`` a last row holds the published
    column totals (and the grand total under ``totals='both'``).  A ``<name>_README.txt``
    beside the file explains the marker, the policy and how totals were made.

    Raises ``ParameterError`` without a policy or with a marker that looks like a number,
    ``DataError`` for a real policy without count columns or counts that are not whole numbers,
    ``WriterError`` naming the file.
    """
    import pandas as pd

    from gis_desk.io.atomic import atomic_write_text

    policy = _require_policy(policy)
    out_path = _target(path, (".csv",), "CSV table")
    if not str(marker).strip() or _looks_numeric(marker):
        raise ParameterError(f"The suppression marker {marker!r} must be non-empty text that is not a number",
                             hint=f"the usual marker is {SUPPRESSED_MARKER}")
    frame = _table_of(data)
    geometry = getattr(frame, "_geometry_column_name", None)
    if geometry is not None:
        frame = pd.DataFrame(frame.drop(columns=[geometry]))
    controlled, report = _controlled(frame, count_columns, policy, totals, derived_columns, flag_column)
    shown = pd.DataFrame(controlled)
    marked = [str(c) for c in count_columns or ()] + [str(c) for c in derived_columns or ()]
    if report is not None and report.row_totals is not None:
        marked.append(str(report.row_totals.name))
    for name in marked:
        shown[name] = _cell_text(shown[name], marker)
    if include_totals and report is not None and report.column_totals is not None:
        total_row = {c: "" for c in shown.columns}
        for name, value in report.column_totals.items():
            total_row[name] = marker if _is_na(value) else str(int(value))
        if report.row_totals is not None:
            g = report.grand_total
            total_row[str(report.row_totals.name)] = marker if _is_na(g) else str(int(g))
        label_column = next((c for c in shown.columns if c not in marked and c != flag_column), None)
        if label_column is not None:
            total_row[label_column] = "Total"
        shown = pd.concat([shown, pd.DataFrame([total_row])], ignore_index=True)
    text = shown.to_csv(index=False, lineterminator="\n", na_rep="")
    readme = out_path.with_name(f"{out_path.stem}_README.txt")
    atomic_write_text(out_path, text)
    atomic_write_text(readme, _csv_readme(out_path, policy, report, marker, derived_columns, flag_column,
                                          include_totals and report is not None and report.column_totals is not None))
    _shareable(out_path, readme)
    what = what or f"CSV table '{out_path.name}' ({len(controlled)} rows)"
    record = _record(what, out_path, policy, report, export_log, format="CSV", rows=int(len(controlled)),
                     marker=marker, sidecars=[str(readme)])
    return ExportResult(out_path, record, report, [readme])


def _looks_numeric(text: str) -> bool:
    try:
        float(str(text))
    except ValueError:
        return False
    return True


def _csv_readme(path: Path, policy: DisclosurePolicy, report, marker: str, derived, flag_column: str,
                totals_row: bool) -> str:
    lines = [
        f"{path.name}",
        "=" * len(path.name),
        "",
        f"Exported by {_software()} on {_now()}.",
        "",
        "Disclosure control",
        "------------------",
        policy.describe(),
        "",
    ]
    if report is not None:
        lines += [
            f"Cells shown as {marker} are suppressed: either the count is small, or it was hidden so that a",
            "small count cannot be worked out from the totals. The column "
            f"'{flag_column}' names the suppressed cells of each row.",
            f"Count columns: {', '.join(report.count_columns)}.",
            report.public_summary() + ".",
        ]
        if derived:
            lines.append(f"Columns derived from the counts ({', '.join(map(str, derived))}) are also shown as "
                         f"{marker} in rows where a count is suppressed.")
        if totals_row:
            lines.append("The last row holds the totals, computed from all records and then put through the same "
                         "rule, so the figures above need not add up to them.")
    lines.append("")
    return "\n".join(lines)


# -- PNG map ----------------------------------------------------------------------------------


def export_png_map(layers, viewport, path, *, policy: DisclosurePolicy, legend: bool = True,
                   attribution: str | None = None, title: str | None = None, scale_bar: bool = True,
                   north_arrow: bool = True, background: str = "#ffffff", export_log=None,
                   what: str | None = None) -> ExportResult:
    """Render ``layers`` (bottom first) in ``viewport`` (its size is the image size) to a PNG
    with legend, scale bar, north arrow, optional ``title`` and an attribution line that adds
    the disclosure policy to ``attribution``.  ``policy`` states the control under which the
    layers shown were made (build them with ``apply_policy``/``mask_raster``, and their
    legend classes from the published values, not the raw counts); it is also stored in the
    PNG's text chunks.  Raises ``ParameterError`` without a policy,
    ``WriterError`` naming the file.
    """
    from PIL import Image
    from PIL.PngImagePlugin import PngInfo

    from gis_desk.io.atomic import atomic_write_bytes
    from gis_desk.render.renderer import render_map
    from gis_desk.render.skia_util import unpremultiply

    policy = _require_policy(policy)
    out_path = _target(path, (".png",), "PNG map")
    layers = list(layers)
    note = f"Small numbers: {policy.label}" if policy.controls else ""
    credit = " · ".join(t for t in ((attribution or "").strip(), note) if t)
    decorations = {"layers": layers, "legend": legend, "scale_bar": scale_bar, "north_arrow": north_arrow,
                   "attribution": credit or None, "title": title}
    image = render_map(layers, viewport, background=background, decorations=decorations)
    info = PngInfo()
    info.add_text("Software", _software())
    info.add_text("Disclosure policy", policy.label)
    info.add_itxt("Disclosure control", policy.describe())
    if credit:
        info.add_itxt("Source", credit)
    if title:
        info.add_itxt("Title", title)
    buffer = io.BytesIO()
    Image.fromarray(unpremultiply(image), mode="RGBA").save(buffer, format="PNG", pnginfo=info)
    atomic_write_bytes(out_path, buffer.getvalue())
    _shareable(out_path)
    what = what or f"PNG map {viewport.width} x {viewport.height} ({len(layers)} layers)"
    record = _record(what, out_path, policy, None, export_log, format="PNG", width=int(viewport.width),
                     height=int(viewport.height), layers=[getattr(la, "name", "") for la in layers])
    return ExportResult(out_path, record)
