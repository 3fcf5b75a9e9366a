"""QIcons from the SVGs in ``resources/icons`` (through ``gis_desk.resources``), cached."""

from __future__ import annotations

from functools import lru_cache

from PySide6.QtGui import QIcon

from gis_desk.errors import MissingFileError
from gis_desk.resources import icon_path


@lru_cache(maxsize=None)
def icon(name: str) -> QIcon:
    """The icon ``name`` (e.g. ``"zoom_in"``); an empty icon if the file is missing, so a
    damaged installation shows a blank button rather than failing to start."""
    try:
        return QIcon(str(icon_path(name)))
    except MissingFileError:
        return QIcon()
