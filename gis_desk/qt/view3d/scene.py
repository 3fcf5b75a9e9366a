"""What the 3D view draws, kept Qt- and GL-free: layers of points in scene-local coordinates.

Projected coordinates (British National Grid eastings ~ 500 000 m) lose centimetres in
float32, so every layer is stored relative to one scene ``origin`` (float64) and its
4x4 ``transform`` (e.g. a registration) is re-expressed about that origin as a local
model matrix.  Each layer's points are kept in a shuffled order, fixed at upload: drawing the
first ``n`` of them is an unbiased random subset, which is the level of detail (LOD).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

_SHUFFLE_SEED = 20240301


@dataclass
class SceneLayer:
    key: str
    name: str
    xyz: np.ndarray  # (n, 3) float32, local, in draw order
    colours: np.ndarray  # (n, 4) uint8 RGBA, in draw order
    order: np.ndarray  # (n,) int: draw position -> index into the caller's arrays
    transform: np.ndarray  # (4, 4) float64 in world coordinates
    attributes: dict[str, np.ndarray] = field(default_factory=dict)  # caller's order
    world_xyz: np.ndarray | None = None  # caller's order, untransformed (for pick readouts)
    visible: bool = True
    version: int = 0  # bumped when points change (re-upload); colours have their own
    colour_version: int = 0

    def __len__(self) -> int:
        return len(self.xyz)


@dataclass
class PreparedPoints:
    """A layer's points in draw order, ready to upload: what ``prepare_points`` computes (the
    costly part of adding a layer, safe to run on a worker thread)."""

    order: np.ndarray  # (n,) int: draw position -> index into the caller's arrays
    local: np.ndarray  # (n, 3) float32, relative to ``origin``
    colours: np.ndarray | None  # (n, 4) uint8 in draw order, or None (grey)
    origin: np.ndarray


def scene_origin(xyz: np.ndarray) -> np.ndarray:
    """The local origin a scene takes from its first layer: the box centre, floored to metres."""
    return np.floor((xyz.min(axis=0) + xyz.max(axis=0)) / 2.0)


def prepare_points(xyz: np.ndarray, colours: np.ndarray | None, origin: np.ndarray) -> PreparedPoints:
    """Shuffle (fixed seed) and localise ``xyz`` (n, 3) world float64, reorder ``colours``."""
    xyz = np.asarray(xyz, dtype=np.float64).reshape(-1, 3)
    n = len(xyz)
    order = np.random.default_rng(_SHUFFLE_SEED).permutation(n)
    local = np.empty((n, 3), np.float32)
    np.subtract(xyz[order], origin, out=local, casting="same_kind")
    return PreparedPoints(order=order, local=local, colours=_rgba(colours, n, order), origin=np.asarray(origin))


def _rgba(colours: np.ndarray | None, n: int, order: np.ndarray) -> np.ndarray | None:
    """(n, 4) uint8 in draw order, or None for the default grey."""
    if colours is None:
        return None
    c = np.asarray(colours)
    if c.shape[0] != n:
        raise ValueError(f"{c.shape[0]} colours for {n} points")
    if c.dtype != np.uint8:
        c = np.clip(np.round(c), 0, 255).astype(np.uint8)
    rgba = c if c.shape[1] == 4 else np.column_stack([c, np.full(n, 255, np.uint8)])
    return np.ascontiguousarray(rgba[order])


def local_model(transform: np.ndarray, origin: np.ndarray) -> np.ndarray:
    """T(-origin) @ transform @ T(origin): the world transform acting on local coordinates."""
    to_local, to_world = np.eye(4), np.eye(4)
    to_local[:3, 3] = -origin
    to_world[:3, 3] = origin
    return to_local @ np.asarray(transform, dtype=np.float64) @ to_world


class Scene:
    """Layers keyed by id, one shared origin (set by the first layer added)."""

    def __init__(self) -> None:
        self.layers: dict[str, SceneLayer] = {}
        self.origin: np.ndarray | None = None

    def set_layer(self, key: str, xyz: np.ndarray, colours: np.ndarray | None = None, *,
                  name: str = "", attributes: dict[str, Any] | None = None,
                  transform: np.ndarray | None = None, visible: bool = True,
                  prepared: PreparedPoints | None = None) -> SceneLayer:
        """Add or replace a layer.  ``xyz`` (n, 3) world coordinates (float64); ``colours``
        (n, 4) or (n, 3) uint8, grey when None.  ``prepared``: ``prepare_points`` of the same
        points already done (on a worker thread) about this scene's ``origin``; then
        ``colours`` is ignored for ``prepared.colours``."""
        xyz = np.asarray(xyz, dtype=np.float64).reshape(-1, 3)
        n = len(xyz)
        if self.origin is None and n:
            self.origin = prepared.origin if prepared is not None else scene_origin(xyz)
        origin = self.origin if self.origin is not None else np.zeros(3)
        if prepared is None or len(prepared.order) != n or not np.array_equal(prepared.origin, origin):
            prepared = prepare_points(xyz, colours, origin)
        old = self.layers.get(key)
        layer = SceneLayer(key=key, name=name or key, xyz=prepared.local, colours=np.empty((n, 4), np.uint8),
                           order=prepared.order,
                           transform=np.eye(4) if transform is None else np.asarray(transform, float),
                           attributes=dict(attributes or {}), world_xyz=xyz, visible=visible,
                           version=(old.version + 1) if old else 0)
        self.layers[key] = layer
        self._store_colours(layer, prepared.colours)
        return layer

    def set_colours(self, key: str, colours: np.ndarray | None) -> None:
        """New colours (caller's order, (n, 4) or (n, 3) uint8; None = grey) for a layer."""
        layer = self.layers[key]
        self._store_colours(layer, _rgba(colours, len(layer), layer.order))

    @staticmethod
    def _store_colours(layer: SceneLayer, rgba: np.ndarray | None) -> None:
        if rgba is None:
            rgba = np.full((len(layer), 4), 200, np.uint8)
            rgba[:, 3] = 255
        layer.colours = rgba
        layer.colour_version += 1

    def remove(self, key: str) -> None:
        self.layers.pop(key, None)
        if not self.layers:
            self.origin = None

    def model(self, layer: SceneLayer) -> np.ndarray:
        return local_model(layer.transform, self.origin if self.origin is not None else np.zeros(3))

    def visible_layers(self) -> list[SceneLayer]:
        return [la for la in self.layers.values() if la.visible and len(la)]

    def bounds(self) -> tuple[np.ndarray, np.ndarray] | None:
        """Local bounding box of the visible layers (transforms applied), or None."""
        boxes = []
        for la in self.visible_layers():
            lo, hi = la.xyz.min(axis=0).astype(float), la.xyz.max(axis=0).astype(float)
            corners = np.array([[x, y, z] for x in (lo[0], hi[0]) for y in (lo[1], hi[1]) for z in (lo[2], hi[2])])
            m = self.model(la)
            moved = corners @ m[:3, :3].T + m[:3, 3]
            boxes.append((moved.min(axis=0), moved.max(axis=0)))
        if not boxes:
            return None
        return np.min([b[0] for b in boxes], axis=0), np.max([b[1] for b in boxes], axis=0)

    def draw_counts(self, budget: int) -> dict[str, int]:
        """Points drawn per visible layer for a total ``budget``, shared in proportion to size."""
        layers = self.visible_layers()
        total = sum(len(la) for la in layers)
        if total <= budget:
            return {la.key: len(la) for la in layers}
        return {la.key: int(len(la) * budget / total) for la in layers}

    def pick(self, camera, x_px: float, y_px: float, counts: dict[str, int],
             tolerance_px: float = 5.0) -> dict[str, Any] | None:
        """The front-most drawn point within ``tolerance_px`` of the window pixel, as a dict
        with layer, index (into the caller's arrays), world x/y/z (transform applied) and the
        attribute values; None if nothing is that close."""
        best = None
        for la in self.visible_layers():
            n = counts.get(la.key, 0)
            if not n:
                continue
            model = self.model(la)
            cand = _near_pixel(la.xyz[:n], camera.mvp(model), camera, x_px, y_px, tolerance_px + 1.0)
            if not len(cand):
                continue
            px, depth = camera.project(la.xyz[cand], model)  # exact, float64, on the few candidates
            d2 = (px[:, 0] - x_px) ** 2 + (px[:, 1] - y_px) ** 2
            near = np.flatnonzero((d2 <= tolerance_px ** 2) & (np.abs(depth) <= 1.0))
            if not len(near):
                continue
            j = near[np.argmin(depth[near])]
            if best is None or depth[j] < best[0]:
                best = (float(depth[j]), la, int(cand[j]))
        if best is None:
            return None
        _, la, i = best
        index = int(la.order[i])
        world = la.world_xyz[index] if la.world_xyz is not None else la.xyz[i] + self.origin
        world = la.transform[:3, :3] @ world + la.transform[:3, 3]
        out: dict[str, Any] = {"layer": la.name, "layer_key": la.key, "index": index,
                               "x": float(world[0]), "y": float(world[1]), "z": float(world[2])}
        for name, values in la.attributes.items():
            v = values[index]
            out[name] = v.item() if hasattr(v, "item") else v
        return out


_PICK_CHUNK = 1_000_000


def _near_pixel(local: np.ndarray, mvp: np.ndarray, camera, x_px: float, y_px: float,
                tolerance_px: float) -> np.ndarray:
    """Indices of the points of ``local`` (float32) projecting within a ``tolerance_px`` box
    of the window pixel: a float32 pre-filter in chunks (few temporaries), so a click on
    millions of points costs a few matrix-vector products instead of full projections."""
    m = mvp.astype(np.float32)
    nx = 2.0 * x_px / camera.width - 1.0
    ny = 1.0 - 2.0 * y_px / camera.height
    tx = 2.0 * tolerance_px / camera.width
    ty = 2.0 * tolerance_px / camera.height
    found = []
    for start in range(0, len(local), _PICK_CHUNK):
        p = local[start:start + _PICK_CHUNK]
        w = p @ m[3, :3] + m[3, 3]
        cx = p @ m[0, :3] + m[0, 3]
        idx = np.flatnonzero(np.abs(cx - nx * w) <= tx * w)  # false behind the eye (w <= 0)
        if len(idx):
            cy = p[idx] @ m[1, :3] + m[1, 3]
            wi = w[idx]
            found.append(idx[np.abs(cy - ny * wi) <= ty * wi] + start)
    return np.concatenate(found) if found else np.zeros(0, np.int64)
