"""``gis-desk plugins list [--json] | validate MANIFEST | install FILE | remove NAME | enable|disable NAME``."""

from __future__ import annotations

import argparse
import sys


def add_parser(commands) -> None:
    p = commands.add_parser("plugins", help="list installed plugins or check a plugin manifest",
                            description="Plugins are found through the 'gis_desk.plugins' entry point group.")
    sub = p.add_subparsers(dest="plugins_command", metavar="ACTION")
    sub.required = True
    lst = sub.add_parser("list", help="installed plugins, their state and contributions")
    lst.add_argument("--json", action="store_true", help="print as JSON")
    lst.set_defaults(handler=run_list)
    val = sub.add_parser("validate", help="check a plugin manifest (gis_desk.yaml) without importing code")
    val.add_argument("manifest", help="path to the manifest file")
    val.set_defaults(handler=run_validate)
    ins = sub.add_parser("install", help="install or upgrade a plugin offline from a wheel (.whl) or zip")
    ins.add_argument("file", help="the plugin's .whl or .zip")
    ins.add_argument("--json", action="store_true", help="print the installed plugin as JSON")
    ins.set_defaults(handler=run_install)
    rem = sub.add_parser("remove", help="remove a plugin that was installed from a file")
    rem.add_argument("name")
    rem.set_defaults(handler=run_remove)
    for action in ("enable", "disable"):
        sw = sub.add_parser(action, help=f"{action} an installed plugin (kept in your settings)")
        sw.add_argument("name")
        sw.set_defaults(handler=run_switch, enabled=action == "enable")


def _state(info) -> str:
    if info.error:
        return "failed"
    return "enabled" if info.enabled else "disabled"


def run_list(args: argparse.Namespace) -> int:
    from gis_desk.cli.main import print_json, print_table
    from gis_desk.plugin_api.manager import PluginManager

    manager = PluginManager.from_entry_points()
    rows = [{
        "name": info.name,
        "display_name": info.display_name,
        "version": info.version,
        "state": _state(info),
        "distribution": info.distribution,
        "contributions": info.manifest.summary() if info.manifest else {},
        "error": info.error,
    } for info in sorted(manager.plugins.values(), key=lambda i: i.name)]
    if args.json:
        print_json(rows)
        return 0
    table = [[r["name"], r["version"], r["state"],
              ", ".join(f"{n} {k}" for k, n in r["contributions"].items()) or "-"] for r in rows]
    print_table(table, ["NAME", "VERSION", "STATE", "CONTRIBUTIONS"])
    for r in rows:
        if r["error"]:
            print(f"warning: plugin {r['name']!r} failed: {r['error']}", file=sys.stderr)
    return 0


def run_validate(args: argparse.Namespace) -> int:
    from gis_desk.plugin_api.manifest import load_manifest, validate_manifest_file

    problems = validate_manifest_file(args.manifest)
    if problems:
        print(f"error: {args.manifest}: the manifest has {len(problems)} problem(s)", file=sys.stderr)
        for problem in problems:
            print(f"  - {problem}", file=sys.stderr)
        return 1
    manifest = load_manifest(args.manifest)
    counts = ", ".join(f"{n} {k}" for k, n in manifest.summary().items()) or "no contributions"
    print(f"{args.manifest}: valid manifest for plugin {manifest.name!r} {manifest.version} ({counts})")
    return 0


def run_install(args: argparse.Namespace) -> int:
    from gis_desk.cli.main import print_json
    from gis_desk.plugin_api.manager import PluginManager

    manager = PluginManager.from_entry_points()
    info = manager.install_from_file(args.file)
    summary = info.manifest.summary()
    if args.json:
        print_json({"name": info.name, "version": info.version, "contributions": summary,
                    "enabled": info.enabled, "location": info.distribution})
        return 0
    counts = ", ".join(f"{n} {k}" for k, n in summary.items()) or "no contributions"
    state = "" if info.enabled else " (disabled in your settings: 'gis-desk plugins enable' turns it on)"
    print(f"installed plugin {info.name!r} {info.version}: {counts}{state}")
    return 0


def run_remove(args: argparse.Namespace) -> int:
    from gis_desk.plugin_api.manager import PluginManager

    manager = PluginManager.from_entry_points()
    manager.uninstall(args.name)
    print(f"removed plugin {args.name!r}")
    return 0


def run_switch(args: argparse.Namespace) -> int:
    from gis_desk.errors import PluginError
    from gis_desk.plugin_api.manager import PluginManager

    manager = PluginManager.from_entry_points()
    if args.name not in manager.plugins:
        raise PluginError(f"No plugin called {args.name!r} is installed",
                          hint="'gis-desk plugins list' shows the installed plugins")
    manager.set_enabled(args.name, args.enabled)
    print(f"plugin {args.name!r} {'enabled' if args.enabled else 'disabled'}")
    return 0
