"""Discover plugins through the ``gis_desk.plugins`` entry point group and resolve them lazily.

An entry point's value is ``"<package>:<manifest file>"``.  The manifest is located with
``importlib.util.find_spec`` (for a top-level package this does not run its code) and read
as YAML; plugin code is imported only when one of its contributions is first used.  A plugin
whose manifest is bad, or whose code fails to import or raises, is disabled and recorded in
``PluginInfo.error``; ``plugin_failed(name, message)`` fires once and the app keeps running.
The built-in readers, writers and algorithms come through this same door (``builtins``).
"""

from __future__ import annotations

import fnmatch
import importlib
import importlib.util
import logging
import os
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from psygnal import Signal

from gis_desk.errors import GisDeskError, ManifestError, PluginError
from gis_desk.plugin_api.manifest import Manifest, load_manifest

log = logging.getLogger(__name__)
ENTRY_POINT_GROUP = "gis_desk.plugins"
CORE_PLUGIN = "builtins"  # cannot be disabled


@dataclass
class PluginInfo:
    name: str
    manifest: Manifest | None
    distribution: str = ""
    enabled: bool = True
    error: str | None = None
    error_details: str | None = None
    installed_from_file: bool = False  # by ``install_from_file``: removable from the app

    @property
    def version(self) -> str:
        return self.manifest.version if self.manifest else "?"

    @property
    def display_name(self) -> str:
        return self.manifest.display_name if self.manifest else self.name

    @property
    def active(self) -> bool:
        return self.enabled and self.error is None and self.manifest is not None


@dataclass
class Contribution:
    plugin: str
    kind: str
    data: dict[str, Any]


def _manifest_path_for(entry_value: str) -> tuple[Path, Path]:
    package, _, filename = entry_value.partition(":")
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise ManifestError(f"Plugin package {package!r} is not installed or is not a package")
    package_dir = Path(list(spec.submodule_search_locations)[0])
    return package_dir / (filename or "gis_desk.yaml"), package_dir


class PluginManager:
    plugin_failed = Signal(str, str)  # plugin name, message
    changed = Signal()  # a plugin was added, enabled or disabled

    def __init__(self, disabled: set[str] | None = None) -> None:
        self.plugins: dict[str, PluginInfo] = {}
        self._disabled_at_start = set(disabled or ())
        self._resolved: dict[str, Any] = {}

    # -- discovery -----------------------------------------------------------------------------
    @classmethod
    def from_entry_points(cls, disabled: set[str] | None = None) -> "PluginManager":
        """A manager with every installed plugin; ``disabled`` defaults to the user's settings."""
        if disabled is None:
            from gis_desk.settings import get_setting

            disabled = set(get_setting("disabled_plugins", []))
        mgr = cls(disabled)
        mgr.discover()
        return mgr

    def discover(self) -> None:
        from importlib.metadata import entry_points

        for ep in entry_points(group=ENTRY_POINT_GROUP):
            dist = ep.dist.name if ep.dist else ""
            try:
                path, package_dir = _manifest_path_for(ep.value)
                manifest = load_manifest(path)
                if manifest.name != ep.name:
                    raise ManifestError(
                        f"manifest name {manifest.name!r} differs from entry point name {ep.name!r}", path=path
                    )
                self.add_manifest(manifest, distribution=dist)
            except GisDeskError as exc:
                self._record_broken(ep.name, dist, exc.message if not exc.path else str(exc), exc.details)
            except Exception as exc:  # a broken installation must not stop the app
                self._record_broken(ep.name, dist, f"could not read the manifest: {exc}", traceback.format_exc())
        self._discover_installed_from_files()
        extra = os.environ.get("GIS_DESK_PLUGIN_PATH")  # folders of manifests, for development
        for folder in filter(None, (extra or "").split(os.pathsep)):
            for path in sorted(Path(folder).glob("*/gis_desk.yaml")):
                try:
                    self.add_manifest(load_manifest(path), distribution=str(path.parent))
                except GisDeskError as exc:
                    self._record_broken(path.parent.name, str(path.parent), str(exc), exc.details)

    def _discover_installed_from_files(self) -> None:
        from gis_desk.plugin_api.install import installed_plugins

        for plugin in installed_plugins():
            if plugin.name in self.plugins:
                log.warning("plugin %s installed from %s is shadowed by an installed package of the same name",
                            plugin.name, plugin.source)
                continue
            self._add_installed(plugin)

    def _add_installed(self, plugin) -> PluginInfo | None:
        from gis_desk.plugin_api.install import add_to_import_path

        where = f"{plugin.source} (installed from a file into {plugin.folder})"
        try:
            manifest = load_manifest(plugin.manifest_path)
        except GisDeskError as exc:
            self._record_broken(plugin.name, where, str(exc), exc.details)
            return None
        add_to_import_path(plugin)
        info = self.add_manifest(manifest, distribution=where)
        info.installed_from_file = True
        return info

    # -- installing from files -----------------------------------------------------------------
    def install_from_file(self, archive: str | Path) -> PluginInfo:
        """Install or upgrade a plugin from a wheel or zip and make it available at once.
        Code of an older version already imported stays in use until GIS Desk restarts."""
        from gis_desk.plugin_api.install import install_plugin

        reserved = {n for n, i in self.plugins.items() if not i.installed_from_file}
        plugin = install_plugin(archive, reserved=reserved)
        self.plugins.pop(plugin.name, None)
        self._resolved.clear()  # cheap: modules stay in sys.modules
        info = self._add_installed(plugin)
        if info is None:
            raise PluginError(f"Plugin {plugin.name!r} was installed but its manifest cannot be read",
                              path=plugin.manifest_path)
        return info

    def uninstall(self, name: str) -> None:
        """Remove a plugin installed from a file (its contributions disappear at once)."""
        from gis_desk.plugin_api.install import uninstall_plugin

        info = self.plugins.get(name)
        if info is None or not info.installed_from_file:
            raise PluginError(f"Plugin {name!r} was not installed from a file, so it cannot be removed here",
                              hint="plugins bundled with GIS Desk or installed with pip can be disabled")
        uninstall_plugin(name)
        del self.plugins[name]
        self.changed.emit()

    def add_manifest(self, manifest: Manifest, distribution: str = "") -> PluginInfo:
        """Register a parsed manifest (the door every plugin goes through)."""
        if manifest.name in self.plugins and self.plugins[manifest.name].manifest is not None:
            raise PluginError(f"Two plugins are called {manifest.name!r}", details=distribution)
        info = PluginInfo(
            manifest.name,
            manifest,
            distribution,
            enabled=manifest.name == CORE_PLUGIN or manifest.name not in self._disabled_at_start,
        )
        self.plugins[manifest.name] = info
        self.changed.emit()
        return info

    def _record_broken(self, name: str, dist: str, message: str, details: str | None) -> None:
        log.warning("plugin %s disabled: %s", name, message)
        self.plugins[name] = PluginInfo(name, None, dist, enabled=False, error=message, error_details=details)
        self.plugin_failed.emit(name, message)

    # -- enabling ------------------------------------------------------------------------------
    def set_enabled(self, name: str, enabled: bool, persist: bool = True) -> None:
        info = self.plugins[name]
        if name == CORE_PLUGIN and not enabled:
            raise PluginError("The built-in plugin cannot be disabled")
        info.enabled = enabled
        if enabled:
            info.error = info.error if info.manifest is None else None
        if persist:
            from gis_desk.settings import get_setting, set_setting

            disabled = set(get_setting("disabled_plugins", []))
            (disabled.discard if enabled else disabled.add)(name)
            set_setting("disabled_plugins", sorted(disabled))
        self.changed.emit()

    def report_failure(self, name: str, exc: BaseException) -> None:
        """Disable a plugin whose code raised; fire ``plugin_failed`` once."""
        info = self.plugins.get(name)
        if info is None or info.error is not None:
            return
        info.error = f"{type(exc).__name__}: {exc}"
        info.error_details = "".join(traceback.format_exception(exc))
        log.warning("plugin %s disabled after an error: %s", name, info.error)
        self.plugin_failed.emit(name, info.error)
        self.changed.emit()

    # -- contributions -------------------------------------------------------------------------
    def contributions(self, kind: str) -> list[Contribution]:
        out = []
        for info in self.plugins.values():
            if info.active:
                for item in info.manifest.contributions.get(kind, []):
                    out.append(Contribution(info.name, kind, item))
        return out

    def resolve_python_name(self, plugin: str, python_name: str) -> Any:
        """Import ``module:attr`` on first use; failures disable the plugin and raise PluginError."""
        key = python_name
        if key in self._resolved:
            return self._resolved[key]
        module_name, _, attr = python_name.partition(":")
        try:
            obj: Any = importlib.import_module(module_name)
            for part in attr.split("."):
                obj = getattr(obj, part)
        except Exception as exc:
            self.report_failure(plugin, exc)
            raise PluginError(
                f"Plugin {plugin!r} could not load {python_name}", hint="it has been disabled",
                details=traceback.format_exc(),
            ) from exc
        self._resolved[key] = obj
        return obj

    def command(self, command_id: str) -> Callable:
        plugin = command_id.split(".", 1)[0]
        info = self.plugins.get(plugin)
        if info is None or not info.active:
            raise PluginError(f"Command {command_id!r} is not available (plugin {plugin!r} not active)")
        return self.resolve_python_name(plugin, info.manifest.command(command_id)["python_name"])

    def call(self, command_id: str, *args, **kwargs) -> Any:
        """Run a command; typed GIS Desk errors pass through, anything else disables the plugin."""
        func = self.command(command_id)
        plugin = command_id.split(".", 1)[0]
        try:
            return func(*args, **kwargs)
        except GisDeskError:
            raise
        except Exception as exc:
            if plugin == CORE_PLUGIN:
                raise
            self.report_failure(plugin, exc)
            raise PluginError(f"Plugin {plugin!r} failed in {command_id}: {exc}",
                              hint="it has been disabled", details=traceback.format_exc()) from exc

    def readers_for(self, path: str | Path) -> list[Contribution]:
        """Reader contributions whose patterns match ``path``, best priority first."""
        path = Path(path)
        name = path.name.lower()
        found = []
        for c in self.contributions("readers"):
            if path.is_dir() and not c.data.get("accepts_directories", False):
                continue
            if any(fnmatch.fnmatch(name, pat.lower()) for pat in c.data["filename_patterns"]):
                found.append(c)
        return sorted(found, key=lambda c: -int(c.data.get("priority", 0)))

    def algorithm_classes(self) -> dict[str, tuple[str, str]]:
        """Algorithm id -> (plugin, python_name) for every active plugin."""
        return {c.data["id"]: (c.plugin, c.data["python_name"]) for c in self.contributions("algorithms")}
