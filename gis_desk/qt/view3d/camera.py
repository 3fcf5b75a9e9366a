"""Orbit camera for the 3D point view: pure numpy, so it is testable without OpenGL.

The camera orbits a ``target`` (scene-local coordinates, z up) at ``distance``, turned by
``yaw`` about z and tilted by ``pitch`` above the horizon (degrees).  Matrices are
column-vector OpenGL convention (``clip = proj @ view @ [x, y, z, 1]``), float64 here and
cast to float32 only when handed to GL.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

DEFAULT_YAW = -50.0
DEFAULT_PITCH = 30.0
MIN_PITCH, MAX_PITCH = -89.0, 89.0
FIT_MARGIN = 0.04  # share of the view left free on each side by ``fit``


def perspective(fov_y_deg: float, aspect: float, near: float, far: float) -> np.ndarray:
    f = 1.0 / math.tan(math.radians(fov_y_deg) / 2.0)
    m = np.zeros((4, 4))
    m[0, 0] = f / max(aspect, 1e-9)
    m[1, 1] = f
    m[2, 2] = (far + near) / (near - far)
    m[2, 3] = 2.0 * far * near / (near - far)
    m[3, 2] = -1.0
    return m


def look_at(eye: np.ndarray, target: np.ndarray, up: np.ndarray) -> np.ndarray:
    f = target - eye
    f = f / np.linalg.norm(f)
    s = np.cross(f, up)
    s = s / np.linalg.norm(s)
    u = np.cross(s, f)
    m = np.eye(4)
    m[0, :3], m[1, :3], m[2, :3] = s, u, -f
    m[:3, 3] = -m[:3, :3] @ eye
    return m


@dataclass
class OrbitCamera:
    target: np.ndarray = field(default_factory=lambda: np.zeros(3))
    distance: float = 10.0
    yaw: float = DEFAULT_YAW
    pitch: float = DEFAULT_PITCH
    fov: float = 45.0
    width: int = 1
    height: int = 1
    scene_radius: float = 10.0  # sets the near/far planes so depth precision follows the scene

    # -- matrices ---------------------------------------------------------------------------------
    def forward(self) -> np.ndarray:
        """Unit vector from the eye towards the target."""
        yaw, pitch = math.radians(self.yaw), math.radians(self.pitch)
        return -np.array([math.cos(pitch) * math.cos(yaw), math.cos(pitch) * math.sin(yaw), math.sin(pitch)])

    def eye(self) -> np.ndarray:
        return self.target - self.forward() * self.distance

    def view_matrix(self) -> np.ndarray:
        return look_at(self.eye(), self.target, np.array([0.0, 0.0, 1.0]))

    def near_far(self) -> tuple[float, float]:
        far = self.distance + 2.5 * self.scene_radius
        near = max(far * 1e-4, self.distance - 2.5 * self.scene_radius, 1e-3)
        return near, far

    def projection_matrix(self) -> np.ndarray:
        near, far = self.near_far()
        return perspective(self.fov, self.width / max(self.height, 1), near, far)

    def mvp(self, model: np.ndarray | None = None) -> np.ndarray:
        m = self.projection_matrix() @ self.view_matrix()
        return m @ model if model is not None else m

    def project(self, points: np.ndarray, model: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Window pixels (k, 2) (origin top left, y down) and NDC depth (k,) of local points;
        points behind the eye get depth +inf."""
        m = self.mvp(model)
        p = np.asarray(points, dtype=np.float64)
        clip = p @ m[:3, :3].T + m[:3, 3]
        w = p @ m[3, :3] + m[3, 3]
        with np.errstate(divide="ignore", invalid="ignore"):
            ndc = clip / w[:, None]
        px = (ndc[:, 0] + 1.0) * 0.5 * self.width
        py = (1.0 - ndc[:, 1]) * 0.5 * self.height
        depth = np.where(w > 0, ndc[:, 2], np.inf)
        return np.column_stack([px, py]), depth

    # -- interaction ------------------------------------------------------------------------------
    def orbit(self, dx_px: float, dy_px: float) -> None:
        self.yaw = (self.yaw - dx_px * 0.4) % 360.0
        self.pitch = float(np.clip(self.pitch + dy_px * 0.3, MIN_PITCH, MAX_PITCH))

    def _screen_axes(self) -> tuple[np.ndarray, np.ndarray]:
        v = self.view_matrix()
        return v[0, :3], v[1, :3]  # right, up in world

    def world_per_pixel(self) -> float:
        return 2.0 * self.distance * math.tan(math.radians(self.fov) / 2.0) / max(self.height, 1)

    def pan(self, dx_px: float, dy_px: float) -> None:
        """Move so the scene follows the cursor (at the target's depth)."""
        right, up = self._screen_axes()
        k = self.world_per_pixel()
        self.target = self.target - right * dx_px * k + up * dy_px * k

    def zoom(self, factor: float, at_px: tuple[float, float] | None = None) -> None:
        """Scale the distance by ``factor`` (<1 zooms in); with ``at_px`` the point under the
        cursor on the target's plane stays under the cursor."""
        if at_px is not None:
            right, up = self._screen_axes()
            k = self.world_per_pixel()
            ox = (at_px[0] - self.width / 2.0) * k
            oy = (self.height / 2.0 - at_px[1]) * k
            under = self.target + right * ox + up * oy
            self.target = under + (self.target - under) * factor
        self.distance = max(self.distance * factor, 1e-3)

    def fit(self, lo: np.ndarray, hi: np.ndarray) -> None:
        """Centre on the box ``lo``..``hi`` (local) and back off until it fills the view."""
        lo, hi = np.asarray(lo, float), np.asarray(hi, float)
        self.target = (lo + hi) / 2.0
        radius = max(float(np.linalg.norm(hi - lo)) / 2.0, 1e-3)
        self.scene_radius = radius
        half = math.radians(self.fov) / 2.0
        aspect = self.width / max(self.height, 1)
        half_min = min(half, math.atan(math.tan(half) * aspect))
        self.distance = radius / math.sin(half_min) * 1.05  # the bounding sphere: always fits
        # then come closer while the box's corners still fit (a long deck fills the view)
        corners = np.array([[x, y, z] for x in (lo[0], hi[0]) for y in (lo[1], hi[1]) for z in (lo[2], hi[2])])
        near, far = 0.0, self.distance
        for _ in range(30):
            mid = (near + far) / 2.0
            self.distance = mid
            px, depth = self.project(corners)
            inside = (np.isfinite(depth).all() and (np.abs(depth) < 1).all()
                      and (px[:, 0] >= self.width * FIT_MARGIN).all()
                      and (px[:, 0] <= self.width * (1 - FIT_MARGIN)).all()
                      and (px[:, 1] >= self.height * FIT_MARGIN).all()
                      and (px[:, 1] <= self.height * (1 - FIT_MARGIN)).all())
            near, far = (near, mid) if inside else (mid, far)
        self.distance = far

    def reset(self, lo: np.ndarray, hi: np.ndarray) -> None:
        self.yaw, self.pitch = DEFAULT_YAW, DEFAULT_PITCH
        self.fit(lo, hi)
