"""OpenDroneMap / WebODM outputs: find what a project folder or task zip holds and open it.

ODM writes a fixed layout (``odm_orthophoto/odm_orthophoto.tif``, ``odm_dem/dsm.tif``,
``odm_dem/dtm.tif``, ``odm_georeferencing/odm_georeferenced_model.laz``,
``odm_report/shots.geojson``, ``odm_report/report.pdf``); WebODM's "download assets" zip keeps
that layout ("all.zip"), while its single-asset downloads use short names (``orthophoto.tif``,
``dsm.tif``, ``dtm.tif``, ``georeferenced_model.laz``, ``shots.geojson``, ``report.pdf``).
Folders and zips may wrap everything in one extra top folder (the project's name).

``inspect_odm_project`` only lists (fast, nothing extracted: safe on the GUI thread);
``read_odm_project`` opens what was found through the ordinary readers (rasters, point cloud,
camera positions, the source photos) and extracts a zip's useful members once into the user
cache folder.  Each dataset's ``source`` points at the extracted file with
``options["odm_part"]`` so that a saved project reopens it through this reader.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from gis_desk.errors import CorruptFileError, DataError, MissingFileError

READER_ID = "builtins.read_odm"

#: What ODM / WebODM produce, in the order layers are added (bottom first), each with the
#: relative paths that hold it (first match wins) and why it may be absent.
PARTS: dict[str, tuple[str, tuple[str, ...], str]] = {
    "orthophoto": ("Orthophoto", ("odm_orthophoto/odm_orthophoto.tif", "orthophoto.tif", "odm_orthophoto.tif"),
                   "ODM skips it with --skip-orthophoto"),
    "dsm": ("Surface model (DSM)", ("odm_dem/dsm.tif", "dsm.tif"), "ODM makes it only with --dsm"),
    "dtm": ("Terrain model (DTM)", ("odm_dem/dtm.tif", "dtm.tif"), "ODM makes it only with --dtm"),
    "point_cloud": ("Point cloud", ("odm_georeferencing/odm_georeferenced_model.laz", "georeferenced_model.laz",
                                    "odm_georeferenced_model.laz", "odm_georeferencing/odm_georeferenced_model.las",
                                    "georeferenced_model.las"), "not georeferenced, or not included in the download"),
    "shots": ("Camera positions", ("odm_report/shots.geojson", "shots.geojson"),
              "older ODM versions do not write it"),
    "report": ("Processing report", ("odm_report/report.pdf", "report.pdf"), "ODM skips it with --skip-report"),
}
#: Parts that become layers (the report is only listed, for the user to open).
LAYER_PARTS = ("orthophoto", "dsm", "dtm", "point_cloud", "shots")
_PHOTO_SUFFIXES = (".jpg", ".jpeg", ".tif", ".tiff")


@dataclass
class OdmProject:
    """What an ODM project folder or task zip holds.

    ``found``: part -> path (inside ``root`` for a folder; the member name for a zip);
    ``missing``: readable lines for the expected parts that are absent; ``notes``: other
    remarks (photos found, OpenSfM reconstruction, unexpected layout...).
    """

    path: Path
    found: dict[str, Path] = field(default_factory=dict)
    missing: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    is_zip: bool = False
    images: Path | None = None       # folder (or zip folder) of the source photos, if any

    @property
    def usable(self) -> bool:
        return any(k in self.found for k in LAYER_PARTS)


def _match(names: list[str], candidates: tuple[str, ...]) -> str | None:
    """The shortest relative name that is, or ends with ``/``, a candidate (first candidate first)."""
    lower = [(n.lower(), n) for n in names]
    for cand in candidates:
        hits = [orig for low, orig in lower if low == cand or low.endswith("/" + cand)]
        if hits:
            return min(hits, key=lambda n: (n.count("/"), len(n)))
    return None


def _images_folder(names: list[str]) -> str | None:
    """The shallowest folder named ``images`` that holds photos (relative, posix)."""
    folders = {}
    for n in names:
        parts = PurePosixPath(n).parts
        if len(parts) >= 2 and parts[-2].lower() == "images" and n.lower().endswith(_PHOTO_SUFFIXES):
            folders.setdefault(str(PurePosixPath(*parts[:-1])), 0)
            folders[str(PurePosixPath(*parts[:-1]))] += 1
    if not folders:
        return None
    return min(folders, key=lambda f: (f.count("/"), f))


def _classify(project: OdmProject, names: list[str]) -> OdmProject:
    for key, (title, candidates, why) in PARTS.items():
        hit = _match(names, candidates)
        if hit is None:
            project.missing.append(f"{title} ({candidates[0]}): {why}")
        else:
            project.found[key] = Path(hit)
    images = _images_folder(names)
    if images is not None:
        n = sum(1 for x in names if x.startswith(images + "/") and x.lower().endswith(_PHOTO_SUFFIXES)
                and "/" not in x[len(images) + 1:])
        project.images = Path(images)
        project.found["photos"] = Path(images)
        project.notes.append(f"{n} source photo(s) in {images}/ (opened as a photo layer with footprints)")
    if _match(names, ("opensfm/reconstruction.json",)):
        project.notes.append("OpenSfM reconstruction present (opensfm/reconstruction.json); not used as a layer")
    if not project.usable:
        project.notes.append("No orthophoto, elevation model, point cloud or camera positions were found: "
                             "is this an OpenDroneMap project folder or a WebODM task zip?")
    return project


def inspect_odm_project(folder_or_zip: str | os.PathLike) -> OdmProject:
    """List what an ODM project folder or WebODM task zip holds (nothing is extracted).

    Raises ``MissingFileError`` (no such path), ``CorruptFileError`` (a zip that cannot be
    read) and ``DataError`` (a file that is neither a folder nor a zip).
    """
    path = Path(folder_or_zip).expanduser()
    if not path.exists():
        raise MissingFileError("The OpenDroneMap project does not exist", path=path)
    if path.is_dir():
        names = [p.relative_to(path).as_posix() for p in path.rglob("*") if p.is_file()]
        return _classify(OdmProject(path=path.resolve()), names)
    if not zipfile.is_zipfile(path):
        if path.suffix.lower() == ".zip":
            raise CorruptFileError("The zip file is damaged or incomplete (no zip directory at its end)",
                                   path=path, hint="download the task's assets again")
        raise DataError("This is neither an OpenDroneMap project folder nor a zip of one", path=path,
                        hint="choose the project folder, or the task's 'all.zip' downloaded from WebODM")
    try:
        with zipfile.ZipFile(path) as zf:
            names = [i.filename for i in zf.infolist() if not i.is_dir()]
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise CorruptFileError("The zip file is damaged and cannot be listed", path=path, details=str(exc),
                               hint="download the task's assets again") from exc
    return _classify(OdmProject(path=path.resolve(), is_zip=True), names)


# -- zip extraction ------------------------------------------------------------------------


def cache_root() -> Path:
    """Where task zips are extracted: ``GIS_DESK_CACHE_DIR`` or the platform's user cache folder."""
    override = os.environ.get("GIS_DESK_CACHE_DIR")
    if override:
        root = Path(override)
    else:
        import platformdirs

        root = Path(platformdirs.user_cache_dir("gis-desk", appauthor=False))
    return root / "odm"


def _zip_cache_folder(path: Path) -> Path:
    st = path.stat()
    key = hashlib.sha1(f"{path.resolve()}|{st.st_size}|{st.st_mtime_ns}".encode()).hexdigest()[:16]
    return cache_root() / f"{path.stem}-{key}"


def extract_zip(project: OdmProject, feedback=None) -> Path:
    """Extract the members ``project.found`` names (and the photos) once; returns the folder.

    A folder already extracted from the same zip (same path, size and time) is reused; an
    interrupted extraction is redone (a ``.complete`` marker is written last).
    """
    target = _zip_cache_folder(project.path)
    marker = target / ".complete"
    if marker.exists():
        return target
    if target.exists():
        shutil.rmtree(target, ignore_errors=True)
    target.mkdir(parents=True, exist_ok=True)
    wanted = {str(p.as_posix()) for k, p in project.found.items() if k != "photos"}
    images = project.images.as_posix() + "/" if project.images is not None else None
    try:
        with zipfile.ZipFile(project.path) as zf:
            members = [i for i in zf.infolist() if not i.is_dir() and (
                i.filename in wanted or (images and i.filename.startswith(images)
                                         and "/" not in i.filename[len(images):]
                                         and i.filename.lower().endswith(_PHOTO_SUFFIXES)))]
            total = sum(i.file_size for i in members) or 1
            done = 0
            for info in members:
                if feedback is not None:
                    feedback.check_canceled()
                rel = PurePosixPath(info.filename)
                if rel.is_absolute() or ".." in rel.parts:  # zip-slip: never write outside the cache
                    raise CorruptFileError(f"The zip holds an unsafe path: {info.filename}", path=project.path)
                out = target.joinpath(*rel.parts)
                out.parent.mkdir(parents=True, exist_ok=True)
                with zf.open(info) as src, open(out, "wb") as dst:
                    shutil.copyfileobj(src, dst, 1 << 20)
                done += info.file_size
                if feedback is not None:
                    feedback.set_progress(50.0 * done / total)
    except (zipfile.BadZipFile, EOFError, zlib_error(), ValueError) as exc:
        shutil.rmtree(target, ignore_errors=True)
        raise CorruptFileError("The zip file is damaged: a file in it cannot be extracted", path=project.path,
                               details=str(exc), hint="download the task's assets again") from exc
    except BaseException:
        shutil.rmtree(target, ignore_errors=True)
        raise
    marker.write_text(str(project.path))
    return target


def zlib_error() -> type[Exception]:
    import zlib

    return zlib.error


# -- reading -------------------------------------------------------------------------------


def _read_part(part: str, path: Path, crs: Any = None, options: dict | None = None) -> list:
    """Open one ODM output with the reader made for it."""
    options = dict(options or {})
    if part in ("orthophoto", "dsm", "dtm", "raster"):
        from gis_desk.io.raster import read_raster

        datasets = read_raster(path, crs=crs)
        if part in ("dsm", "dtm") or (part == "raster" and _is_dem_name(path)):
            for ds in datasets:
                _shade_by_default(ds)
    elif part == "point_cloud":
        from gis_desk.io.pointcloud import read_pointcloud

        datasets = read_pointcloud(path, crs=crs)
    elif part == "shots":
        datasets = [_read_shots(path, crs)]
    elif part == "photos":
        from gis_desk.io.photos import read_photos

        datasets = read_photos(path, crs=crs, **{k: v for k, v in options.items() if k in (
            "ground", "takeoff_height", "max_range", "recursive")})
    else:
        raise DataError(f"Unknown OpenDroneMap part {part!r}", path=path)
    for ds in datasets:
        ds.source.options = {**ds.source.options, "odm_part": part}
        ds.source.reader = READER_ID
    return datasets


def _is_dem_name(path: Path) -> bool:
    return path.stem.lower() in ("dsm", "dtm", "dem")


def _shade_by_default(dataset) -> None:
    """Elevation models open as the ramp shaded by their relief (hillshade "blend")."""
    import dataclasses

    base = dataset.default_style

    def default_style():
        style = base()
        if getattr(style, "mode", None) == "singleband":
            style = dataclasses.replace(style, hillshade="blend", ramp="viridis")
        return style

    dataset.default_style = default_style


def _read_shots(path: Path, crs: Any = None):
    """ODM's camera positions (``shots.geojson``) as points; z (height) kept as a column."""
    import numpy as np

    from gis_desk.core.datasets import DataSource, VectorDataset
    from gis_desk.io.vector import read_vector

    ds = read_vector(path, crs=crs)[0]
    frame = ds.frame
    geoms = frame.geometry
    if len(frame) and geoms.has_z.any():
        frame = frame.copy()
        frame["z"] = np.array([g.coords[0][2] if g is not None and g.has_z and g.geom_type == "Point" else np.nan
                               for g in geoms], float)
    return VectorDataset(DataSource(str(Path(path).resolve()), READER_ID, dict(ds.source.options)), frame,
                         driver="ODM shots")


def _suffix_part(path: Path) -> str | None:
    s = path.suffix.lower()
    if s in (".tif", ".tiff"):
        return "raster"
    if s in (".laz", ".las"):
        return "point_cloud"
    if s in (".geojson", ".json"):
        return "shots"
    return None


def read_odm_project(path: str | os.PathLike, *, crs: Any = None, photos: bool = True, feedback=None,
                     odm_part: str | None = None, **options) -> list:
    """Layers of an ODM project folder or WebODM task zip (reader ``builtins.read_odm``).

    Orthophoto, DSM, DTM (rasters), the georeferenced point cloud, the camera positions of
    ``shots.geojson`` and - with ``photos`` - the source photos (with footprints, on the DTM
    when there is one).  Returns them bottom layer first.  A single output file (what a saved
    project points at, with ``odm_part``) is opened alone.  Raises ``DataError`` when nothing
    usable is found (the message lists what is missing).
    """
    p = Path(path).expanduser()
    if odm_part is not None or (p.is_file() and not zipfile.is_zipfile(p) and _suffix_part(p)):
        part = odm_part or _suffix_part(p)
        return _read_part(part, p, crs, options)
    project = inspect_odm_project(p)
    if not project.usable and "photos" not in project.found:
        raise DataError("No OpenDroneMap outputs were found here", path=p,
                        hint="missing: " + "; ".join(project.missing))
    root = extract_zip(project, feedback) if project.is_zip else project.path
    out: list = []
    wanted = [k for k in LAYER_PARTS if k in project.found] + (["photos"] if photos and "photos" in project.found
                                                               else [])
    for i, key in enumerate(wanted):
        if feedback is not None:
            feedback.check_canceled()
            feedback.set_progress(50.0 + 50.0 * i / len(wanted))
            feedback.push_info(f"Opening {PARTS[key][0] if key in PARTS else 'photos'}")
        opts = dict(options)
        part_crs = crs
        if key == "photos":
            if "dtm" in project.found and "ground" not in opts:
                opts["ground"] = str(root / project.found["dtm"])
            if crs is None and out and getattr(out[0], "crs", None) is not None:
                from gis_desk.core.crs import crs_id

                part_crs = crs_id(out[0].crs)  # the photos in the project's own CRS, not the default
        out.extend(_read_part(key, root / project.found[key], part_crs, opts))
    if feedback is not None:
        feedback.set_progress(100.0)
    return out


__all__ = ["OdmProject", "PARTS", "cache_root", "extract_zip", "inspect_odm_project", "read_odm_project"]
