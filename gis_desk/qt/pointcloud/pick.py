"""Picking a survey point on the map, for registration point pairs.

``PickPointTool`` hands each left click (map coordinates, project CRS) to a callback.
``top_point_near`` finds, in one point-cloud layer, the highest point within a radius of a
plan position, which is the point the 2D map shows there (the renderer draws the top-most).
The layer's ``transform`` is honoured without transforming the whole cloud: the search box
is taken back to file coordinates and only the points inside it are moved.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtGui import QMouseEvent

from gis_desk.core.pointcloud import PointCloudLayer, apply_transform
from gis_desk.qt.canvas.tools import MapTool

TOOL_NAME = "pointcloud_pick"
PICK_RADIUS_PX = 6


class PickPointTool(MapTool):
    name = TOOL_NAME
    cursor = Qt.CursorShape.CrossCursor

    def __init__(self, canvas, on_pick=None) -> None:
        super().__init__(canvas)
        self.on_pick = on_pick

    def press(self, event: QMouseEvent) -> None:
        if event.button() == Qt.MouseButton.LeftButton and self.on_pick is not None:
            self.on_pick(*self.canvas.to_map(event.position()))


def top_point_near(layer: PointCloudLayer, x: float, y: float, radius: float, crs=None) -> int | None:
    """Index (into the layer's cloud) of the highest point within ``radius`` of (x, y) in plan
    as the layer is placed; (x, y) in ``crs`` (default the layer's).  None when there is none."""
    from gis_desk.core.crs import same_crs, transform_xy

    if crs is not None and layer.crs is not None and not same_crs(crs, layer.crs):
        x, y = (float(np.asarray(v).ravel()[0]) for v in transform_xy(crs, layer.crs, [x], [y]))
    xyz = layer.cloud.xyz
    if layer.has_transform:
        m = layer.transform
        zmin, zmax = layer.dataset.z_range
        corners = np.array([[x + dx, y + dy, z] for dx in (-radius, radius) for dy in (-radius, radius)
                            for z in (zmin, zmax)])
        raw = apply_transform(corners, np.linalg.inv(m))
        lo, hi = raw[:, :2].min(axis=0) - 0.01, raw[:, :2].max(axis=0) + 0.01
    else:
        lo, hi = np.array([x - radius, y - radius]), np.array([x + radius, y + radius])
    cand = np.flatnonzero((xyz[:, 0] >= lo[0]) & (xyz[:, 0] <= hi[0]) & (xyz[:, 1] >= lo[1]) & (xyz[:, 1] <= hi[1]))
    if len(cand) == 0:
        return None
    placed = apply_transform(xyz[cand], layer.transform) if layer.has_transform else xyz[cand]
    near = np.hypot(placed[:, 0] - x, placed[:, 1] - y) <= radius
    if not near.any():
        return None
    cand, placed = cand[near], placed[near]
    return int(cand[int(np.argmax(placed[:, 2]))])
