"""``gis-desk plugins list [--json] | validate MANIFEST``."""

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
