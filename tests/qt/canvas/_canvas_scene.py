"""Shared helpers for map canvas tests: a BNG project with two known squares, and a canvas on it.

Scene (EPSG:27700, metres): 'red' square 1000..2000 both axes (bottom layer), 'blue' square
1500..2500 (top layer), 'pts' three points.  The canvas is 400 x 300 px showing 0..4000 x
0..3000, so one pixel is 10 m and map (x, y) is pixel (x / 10, 300 - y / 10).
"""

from __future__ import annotations

import threading
from collections import Counter

import geopandas as gpd
from shapely.geometry import Point, box

from gis_desk.core.datasets import DataSource, VectorDataset
from gis_desk.core.layer import VectorLayer
from gis_desk.core.style import SingleSymbolStyle, Symbol

WIDTH, HEIGHT = 400, 300
EXTENT = (0.0, 0.0, 4000.0, 3000.0)
PIXEL_M = 10.0


def to_px(x, y):
    """Map point of the test scene to widget pixels (for the default view)."""
    return x / PIXEL_M, HEIGHT - y / PIXEL_M


def vector_layer(name, geoms, fill, crs="EPSG:27700", **columns):
    frame = gpd.GeoDataFrame(dict(columns) or {"name": [f"{name}{i}" for i in range(len(geoms))]},
                             geometry=list(geoms), crs=crs)
    style = SingleSymbolStyle(Symbol(fill=fill, stroke=fill, stroke_width=1.0, size=8))
    return VectorLayer(VectorDataset(DataSource(f"/synthetic/{name}.gpkg"), frame), name=name, style=style)


def build_scene(session):
    red = vector_layer("red", [box(1000, 1000, 2000, 2000)], "#ff0000ff")
    blue = vector_layer("blue", [box(1500, 1500, 2500, 2500)], "#0000ffff")
    pts = vector_layer("pts", [Point(3000, 500), Point(3200, 500), Point(3500, 2500)], "#00aa00ff")
    session.project.layers.extend([red, blue, pts])
    return session


class RenderCounter:
    """Wraps the real ``render_layer`` to count calls per layer name (thread-safe)."""

    def __init__(self, real):
        self.real = real
        self.calls = Counter()
        self._lock = threading.Lock()

    def __call__(self, layer, viewport, cancel=None):
        with self._lock:
            self.calls[layer.name] += 1
        return self.real(layer, viewport, cancel=cancel)


def settle(qtbot, canvas, timeout=10_000):
    """Wait until no redraw is pending or running."""
    qtbot.waitUntil(lambda: not canvas.is_rendering, timeout=timeout)
