"""Plugin manifests (``gis_desk.yaml``): parsed and checked without importing plugin code.

Schema (all contribution lists optional)::

    name: planning                  # [a-z][a-z0-9_]*, unique
    display_name: Planning
    version: 0.1.0
    description: ...
    contributions:
      commands:    [{id: planning.open_app, title: ..., python_name: "pkg.mod:callable"}]
      readers:     [{command: <id>, filename_patterns: ["*.gpkg"], priority: 0,
                     accepts_directories: false}]
      writers:     [{command: <id>, layer_kinds: [vector], filename_extensions: [".gpkg"],
                     display_name: GeoPackage}]
      algorithms:  [{id: planning.site_report, python_name: "pkg.mod:AlgorithmClass"}]
      widgets:     [{command: <id>, display_name: ..., area: right|left|bottom}]
      menus:       [{menu: "Plugins/Planning", command: <id>}]
      sample_data: [{key: ..., display_name: ..., path: "relative/to/package"}]

Every ``id`` must start with ``<name>.``; ``command`` references must name a command of the
same manifest; ``python_name`` is ``module.path:attribute``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gis_desk.errors import ManifestError

_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
_PYTHON_NAME = re.compile(r"^[A-Za-z_][\w.]*:[A-Za-z_][\w.]*$")
CONTRIBUTION_KINDS = ("commands", "readers", "writers", "algorithms", "widgets", "menus", "sample_data")


@dataclass
class Manifest:
    name: str
    display_name: str
    version: str
    description: str
    contributions: dict[str, list[dict[str, Any]]]
    path: Path | None = None  # where it was read from
    package_dir: Path | None = None

    def command(self, command_id: str) -> dict[str, Any]:
        for cmd in self.contributions.get("commands", []):
            if cmd["id"] == command_id:
                return cmd
        raise KeyError(command_id)

    def summary(self) -> dict[str, int]:
        """Contribution counts by kind, for the plugin manager."""
        return {k: len(v) for k, v in self.contributions.items() if v}


@dataclass
class _Problems:
    source: str
    items: list[str] = field(default_factory=list)

    def add(self, where: str, what: str) -> None:
        self.items.append(f"{where}: {what}")


def _check(data: Any, source: str) -> list[str]:
    p = _Problems(source)
    if not isinstance(data, dict):
        return ["the manifest must be a YAML mapping"]
    name = data.get("name")
    if not isinstance(name, str) or not _NAME.match(name):
        p.add("name", "required, lower-case letters, digits and '_' starting with a letter")
        name = "?"
    for key in ("version",):
        if not isinstance(data.get(key), (str, int, float)):
            p.add(key, "required")
    contributions = data.get("contributions") or {}
    if not isinstance(contributions, dict):
        p.add("contributions", "must be a mapping")
        return p.items
    for kind in contributions:
        if kind not in CONTRIBUTION_KINDS:
            p.add(f"contributions.{kind}", f"unknown kind (known: {', '.join(CONTRIBUTION_KINDS)})")
    command_ids = set()
    for i, cmd in enumerate(contributions.get("commands") or []):
        where = f"commands[{i}]"
        if not isinstance(cmd, dict):
            p.add(where, "must be a mapping")
            continue
        cid = cmd.get("id", "")
        if not isinstance(cid, str) or not cid.startswith(f"{name}."):
            p.add(where, f"id {cid!r} must start with '{name}.'")
        if cid in command_ids:
            p.add(where, f"duplicate id {cid!r}")
        command_ids.add(cid)
        if not _PYTHON_NAME.match(str(cmd.get("python_name", ""))):
            p.add(where, "python_name must look like 'package.module:callable'")
    for kind in ("readers", "writers", "widgets", "menus"):
        for i, item in enumerate(contributions.get(kind) or []):
            where = f"{kind}[{i}]"
            if not isinstance(item, dict):
                p.add(where, "must be a mapping")
                continue
            if item.get("command") not in command_ids:
                p.add(where, f"command {item.get('command')!r} is not declared under commands")
            if kind == "readers" and not item.get("filename_patterns"):
                p.add(where, "filename_patterns is required")
            if kind == "writers" and not item.get("filename_extensions"):
                p.add(where, "filename_extensions is required")
            if kind == "menus" and not item.get("menu"):
                p.add(where, "menu is required")
    for i, alg in enumerate(contributions.get("algorithms") or []):
        where = f"algorithms[{i}]"
        if not isinstance(alg, dict):
            p.add(where, "must be a mapping")
            continue
        if not str(alg.get("id", "")).startswith(f"{name}."):
            p.add(where, f"id must start with '{name}.'")
        if not _PYTHON_NAME.match(str(alg.get("python_name", ""))):
            p.add(where, "python_name must look like 'package.module:AlgorithmClass'")
    for i, sample in enumerate(contributions.get("sample_data") or []):
        if not isinstance(sample, dict) or not sample.get("key") or not sample.get("path"):
            p.add(f"sample_data[{i}]", "key and path are required")
    return p.items


def parse_manifest(text: str, source: str = "<manifest>", package_dir: Path | None = None) -> Manifest:
    """Parse YAML text into a checked ``Manifest``; raises ``ManifestError`` listing every problem."""
    import yaml

    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ManifestError("The plugin manifest is not valid YAML", path=source, details=str(exc)) from exc
    problems = _check(data, source)
    if problems:
        raise ManifestError(
            f"The plugin manifest has {len(problems)} problem(s): " + "; ".join(problems),
            path=source,
            details="\n".join(problems),
        )
    contributions = {k: list(v or []) for k, v in (data.get("contributions") or {}).items()}
    return Manifest(
        name=data["name"],
        display_name=str(data.get("display_name") or data["name"]),
        version=str(data["version"]),
        description=str(data.get("description") or ""),
        contributions=contributions,
        path=Path(source) if source and not source.startswith("<") else None,
        package_dir=package_dir,
    )


def load_manifest(path: str | Path) -> Manifest:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ManifestError(f"Cannot read the plugin manifest: {exc.strerror or exc}", path=path) from exc
    return parse_manifest(text, str(path), package_dir=path.parent)


def validate_manifest_file(path: str | Path) -> list[str]:
    """Problems found in a manifest file (empty list when valid); never raises for bad content."""
    try:
        load_manifest(path)
    except ManifestError as exc:
        return (exc.details or exc.message).splitlines()
    return []
