"""The 2D map canvas, its map tools and its off-thread layer rendering."""

from gis_desk.qt.canvas.canvas import MapCanvas

__all__ = ["MapCanvas"]
