"""Install plugins offline, without admin rights, from a wheel or a zip the user was given.

Council laptops cannot run pip against the internet, and often not at all; a plugin arrives as a
file on a share or a memory stick.  Each installed plugin gets its own folder under the user's
plugin folder (``<config dir>/plugins/<name>/``), which is put on ``sys.path`` when plugins are
discovered, so nothing outside the user's profile is touched and removing a plugin is deleting
its folder.

Two archive layouts are accepted:

* a **wheel** (``*.whl``, pure Python): its ``*.dist-info/entry_points.txt`` names the manifest
  in the ``gis_desk.plugins`` group, exactly as for a pip-installed plugin;
* a **zip** holding a plugin package, i.e. a folder with ``__init__.py`` and ``gis_desk.yaml``,
  at the top or inside one wrapping folder.

The manifest is validated before anything is moved into place, members that would escape the
target folder are refused, and an upgrade replaces the old folder only once the new one is
complete.  ``install.json`` in each folder records where the plugin came from.
"""

from __future__ import annotations

import configparser
import hashlib
import json
import shutil
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path, PurePosixPath

from gis_desk.errors import CorruptFileError, GisDeskError, ManifestError, MissingFileError, PluginError
from gis_desk.plugin_api.manifest import Manifest, load_manifest

ENTRY_POINT_GROUP = "gis_desk.plugins"
RECORD_FILE = "install.json"
# A plugin archive is small; this refuses zip bombs before anything is written.
MAX_UNPACKED_BYTES = 512 * 1024 * 1024


@dataclass(frozen=True)
class InstalledPlugin:
    name: str
    version: str
    folder: Path          # goes on sys.path
    manifest_path: Path
    source: str           # the archive's file name
    archive_kind: str     # 'wheel' | 'zip'
    installed_at: str
    sha256: str


def user_plugins_dir() -> Path:
    from gis_desk.settings import config_dir

    path = config_dir() / "plugins"
    path.mkdir(parents=True, exist_ok=True)
    return path


def installed_plugins() -> list[InstalledPlugin]:
    """Plugins installed from archives, by name; folders without a readable record are skipped
    (a half-finished install never has one: the record is written before the folder is moved)."""
    found = []
    for folder in sorted(user_plugins_dir().iterdir()):
        if folder.name.startswith(".") or not (folder / RECORD_FILE).is_file():
            continue
        try:
            found.append(_read_record(folder))
        except (OSError, ValueError, KeyError, TypeError):
            continue
    return found


def add_to_import_path(plugin: InstalledPlugin) -> None:
    folder = str(plugin.folder)
    if folder not in sys.path:
        sys.path.append(folder)  # appended: a plugin can never shadow the app or the stdlib


def install_plugin(archive: str | Path, *, reserved: set[str] | frozenset[str] = frozenset()) -> InstalledPlugin:
    """Install (or upgrade) the plugin in ``archive``; ``reserved`` names cannot be taken
    (plugins installed by other means, such as the built-ins and first-party plugins)."""
    archive = Path(archive)
    if not archive.is_file():
        raise MissingFileError("The plugin file does not exist", path=archive)
    if not zipfile.is_zipfile(archive):
        raise CorruptFileError("This is not a plugin package: a plugin comes as a wheel (.whl) or a zip",
                               path=archive, hint="ask the plugin's author for the .whl or .zip file")
    root = user_plugins_dir()
    staging = Path(tempfile.mkdtemp(prefix=".installing-", dir=root))
    try:
        kind = _extract(archive, staging)
        site, manifest_path = _locate_manifest(staging, kind, archive)
        manifest = load_manifest(manifest_path)
        if manifest.name in reserved:
            raise PluginError(f"A plugin called {manifest.name!r} is already part of GIS Desk or installed "
                              "by your administrator; it cannot be replaced from a file", path=archive,
                              hint="disable that plugin in the plugin manager instead")
        _check_name(manifest, archive)
        record = {
            "name": manifest.name, "version": manifest.version, "source": archive.name,
            "archive_kind": kind, "manifest": manifest_path.relative_to(site).as_posix(),
            "installed_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "sha256": _sha256(archive),
        }
        (site / RECORD_FILE).write_text(json.dumps(record, indent=2), encoding="utf-8")
        target = root / manifest.name
        _replace(site, target)
        return _read_record(target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def uninstall_plugin(name: str) -> Path:
    """Delete an archive-installed plugin's folder (its code stays loaded until restart)."""
    folder = user_plugins_dir() / name
    if not (folder / RECORD_FILE).is_file():
        raise PluginError(f"No plugin called {name!r} was installed from a file",
                          hint="plugins installed with pip or bundled with GIS Desk can only be disabled")
    trash = folder.with_name(f".removing-{name}")
    shutil.rmtree(trash, ignore_errors=True)
    folder.rename(trash)
    shutil.rmtree(trash, ignore_errors=True)
    return folder


# -- steps --------------------------------------------------------------------------------------
def _extract(archive: Path, staging: Path) -> str:
    try:
        with zipfile.ZipFile(archive) as zf:
            members = zf.infolist()
            if sum(m.file_size for m in members) > MAX_UNPACKED_BYTES:
                raise CorruptFileError("The plugin package unpacks to more than 512 MB; refusing it", path=archive)
            for m in members:
                parts = PurePosixPath(m.filename.replace("\\", "/")).parts
                if m.filename.startswith(("/", "\\")) or ".." in parts or (parts and ":" in parts[0]):
                    raise CorruptFileError(f"The plugin package holds a file outside its folder: {m.filename}",
                                           path=archive, hint="the file may have been tampered with")
            zf.extractall(staging)
            is_wheel = archive.suffix.lower() == ".whl" or any(
                PurePosixPath(m.filename).parts[0].endswith(".dist-info") for m in members if m.filename)
    except zipfile.BadZipFile as exc:
        raise CorruptFileError(f"The plugin package is damaged: {exc}", path=archive) from exc
    except GisDeskError:
        raise
    except OSError as exc:
        raise CorruptFileError(f"The plugin package could not be unpacked: {exc}", path=archive) from exc
    return "wheel" if is_wheel else "zip"


def _locate_manifest(staging: Path, kind: str, archive: Path) -> tuple[Path, Path]:
    """(folder for sys.path, manifest path) inside the unpacked archive."""
    if kind == "wheel":
        infos = list(staging.glob("*.dist-info/entry_points.txt"))
        parser = configparser.ConfigParser()
        if infos:
            parser.read(infos[0], encoding="utf-8")
        if not infos or not parser.has_section(ENTRY_POINT_GROUP) or not parser.items(ENTRY_POINT_GROUP):
            raise ManifestError("The wheel declares no GIS Desk plugin (no 'gis_desk.plugins' entry point)",
                                path=archive, hint="it may be an ordinary Python package, not a plugin")
        entries = parser.items(ENTRY_POINT_GROUP)
        if len(entries) > 1:
            raise ManifestError("The wheel declares several GIS Desk plugins; install them one per file",
                                path=archive)
        package, _, filename = entries[0][1].strip().partition(":")
        manifest = staging.joinpath(*package.split("."), filename or "gis_desk.yaml")
        if not manifest.is_file():
            raise ManifestError(f"The wheel's entry point names {entries[0][1]}, which is not in the wheel",
                                path=archive)
        # Out of sight of importlib.metadata once the folder is on sys.path: the plugin is found
        # through install.json, and would otherwise be found twice.
        kept = staging / "wheel-metadata"
        kept.mkdir()
        for info in staging.glob("*.dist-info"):
            info.rename(kept / info.name)
        return staging, manifest
    manifests = [p for p in staging.glob("*/gis_desk.yaml")] or [p for p in staging.glob("*/*/gis_desk.yaml")]
    manifests = [p for p in manifests if (p.parent / "__init__.py").is_file()]
    if len(manifests) != 1:
        what = "no plugin package" if not manifests else f"{len(manifests)} plugin packages"
        raise ManifestError(f"The zip holds {what}: expected one folder with __init__.py and gis_desk.yaml",
                            path=archive, hint="zip the plugin's package folder itself")
    return manifests[0].parent.parent, manifests[0]


def _check_name(manifest: Manifest, archive: Path) -> None:
    if not manifest.name.isidentifier() or manifest.name.startswith("."):
        raise ManifestError(f"The plugin name {manifest.name!r} is not a valid identifier", path=archive)


def _replace(new: Path, target: Path) -> None:
    """Move the finished folder into place; an older version is removed only afterwards."""
    old = target.with_name(f".previous-{target.name}")
    shutil.rmtree(old, ignore_errors=True)
    if target.exists():
        target.rename(old)
    try:
        shutil.move(str(new), str(target))
    except OSError:
        if old.exists() and not target.exists():
            old.rename(target)  # put the working version back
        raise
    shutil.rmtree(old, ignore_errors=True)


def _read_record(folder: Path) -> InstalledPlugin:
    data = json.loads((folder / RECORD_FILE).read_text(encoding="utf-8"))
    return InstalledPlugin(name=data["name"], version=str(data["version"]), folder=folder,
                           manifest_path=folder / data["manifest"], source=data["source"],
                           archive_kind=data["archive_kind"], installed_at=data["installed_at"],
                           sha256=data["sha256"])


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
