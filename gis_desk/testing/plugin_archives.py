"""Plugin archives for tests: a small reader plugin packed as a wheel or a zip, the way a
build backend or a plugin author would pack it (used by the plugin-installer tests)."""

from __future__ import annotations

import zipfile
from pathlib import Path

MANIFEST = """name: {name}
display_name: Tree survey
version: {version}
description: Reads tree survey point files.
contributions:
  commands:
    - id: {name}.read_trees
      title: Read a tree survey
      python_name: {package}.reader:read_trees
  readers:
    - command: {name}.read_trees
      filename_patterns: ["*.trees"]
"""

READER = '''
from pathlib import Path

VERSION = "{version}"


def read_trees(path, **options):
    return [Path(path).read_text().strip() + " read by v" + VERSION]
'''


def plugin_files(name: str, version: str, package: str) -> dict[str, str]:
    return {
        f"{package}/__init__.py": "",
        f"{package}/gis_desk.yaml": MANIFEST.format(name=name, version=version, package=package),
        f"{package}/reader.py": READER.format(version=version),
    }


def write_wheel(folder: Path, name: str = "trees", version: str = "1.0.0", package: str | None = None,
                entry_point: bool = True) -> Path:
    """A pure-Python wheel as a build backend would write it (dist-info with entry points)."""
    package = package or f"gis_desk_{name}_{version.replace('.', '_')}"
    dist = f"gis_desk_{name}-{version}"
    path = folder / f"{dist}-py3-none-any.whl"
    with zipfile.ZipFile(path, "w") as zf:
        for member, text in plugin_files(name, version, package).items():
            zf.writestr(member, text)
        zf.writestr(f"{dist}.dist-info/METADATA", f"Metadata-Version: 2.1\nName: gis-desk-{name}\nVersion: {version}\n")
        zf.writestr(f"{dist}.dist-info/WHEEL", "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n")
        if entry_point:
            zf.writestr(f"{dist}.dist-info/entry_points.txt", f"[gis_desk.plugins]\n{name} = {package}:gis_desk.yaml\n")
        zf.writestr(f"{dist}.dist-info/RECORD", "")
    return path


def write_zip(folder: Path, name: str = "trees", version: str = "1.0.0", wrapper: str = "") -> Path:
    package = f"gis_desk_{name}_zip_{version.replace('.', '_')}"
    path = folder / f"{name}-{version}.zip"
    with zipfile.ZipFile(path, "w") as zf:
        for member, text in plugin_files(name, version, package).items():
            zf.writestr(f"{wrapper}{member}", text)
    return path
