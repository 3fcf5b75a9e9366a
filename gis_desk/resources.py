"""The one accessor for files under ``resources/`` (icons, themes, app icon).

Qt-free: it returns paths and text; ``gis_desk.qt`` turns them into ``QIcon``s and style
sheets.  The folder is found, in order, from ``GIS_DESK_RESOURCES`` (a folder), a frozen
build's bundle (PyInstaller ``sys._MEIPASS/resources``) and the checkout (``<repo>/resources``).
"""

from __future__ import annotations

import os
import sys
from functools import lru_cache
from pathlib import Path

from gis_desk.errors import MissingFileError


@lru_cache(maxsize=1)
def resources_dir() -> Path:
    """The resources folder; raises ``MissingFileError`` when none of the places has it."""
    candidates = []
    if os.environ.get("GIS_DESK_RESOURCES"):
        candidates.append(Path(os.environ["GIS_DESK_RESOURCES"]))
    bundle = getattr(sys, "_MEIPASS", None)
    if bundle:
        candidates.append(Path(bundle) / "resources")
    candidates.append(Path(__file__).resolve().parents[1] / "resources")
    for folder in candidates:
        if (folder / "icons").is_dir():
            return folder
    raise MissingFileError("The GIS Desk resources folder (icons, themes) was not found",
                           path=candidates[-1], hint="reinstall GIS Desk or set GIS_DESK_RESOURCES")


def resource_path(relative: str) -> Path:
    """Absolute path of ``relative`` (e.g. ``"icons/pan.svg"``); raises ``MissingFileError``."""
    path = resources_dir() / relative
    if not path.exists():
        raise MissingFileError("A GIS Desk resource file is missing", path=path,
                               hint="reinstall GIS Desk")
    return path


def icon_path(name: str) -> Path:
    """Path of the SVG icon ``name`` (without extension), e.g. ``icon_path("zoom_in")``."""
    return resource_path(f"icons/{name}.svg")


def icon_names() -> list[str]:
    return sorted(p.stem for p in (resources_dir() / "icons").glob("*.svg"))


def theme_text(name: str = "light") -> str:
    """The Qt style sheet text of theme ``name`` (``resources/themes/<name>.qss``)."""
    return resource_path(f"themes/{name}.qss").read_text(encoding="utf-8")
