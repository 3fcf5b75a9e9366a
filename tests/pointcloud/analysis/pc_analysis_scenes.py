"""Synthetic survey scenes with known ground truth for the registration/DoD/zone/section tests.

A 30 x 20 m site: gently undulating ground, two abutment blocks at the ends (the stable
areas) and a pier in the middle, sampled independently per epoch with scanner-like noise.
"""

from __future__ import annotations

import numpy as np
from shapely.geometry import box

BNG_ORIGIN = np.array([380_000.0, 390_000.0, 50.0])
SITE = (0.0, 0.0, 30.0, 20.0)
ABUTMENTS = [(2.0, 5.0, 6.0, 15.0), (24.0, 5.0, 28.0, 15.0)]  # xmin, ymin, xmax, ymax; 3 m high
PIER = (13.0, 8.0, 17.0, 12.0)
STABLE_AREAS = [box(0.0, 0.0, 8.0, 20.0), box(22.0, 0.0, 30.0, 20.0)]


def ground_z(x, y):
    return 0.05 * np.sin(x / 3.0) + 0.03 * np.cos(y / 4.0)


def _box_faces(rng, b, height, n):
    """Points on the four walls and the top of a block standing on the ground."""
    x0, y0, x1, y1 = b
    areas = np.array([(x1 - x0) * height, (x1 - x0) * height, (y1 - y0) * height, (y1 - y0) * height,
                      (x1 - x0) * (y1 - y0)])
    counts = rng.multinomial(n, areas / areas.sum())
    parts = []
    for face, k in enumerate(counts):
        u, v = rng.random(k), rng.random(k)
        if face == 0:
            p = np.c_[x0 + u * (x1 - x0), np.full(k, y0), v * height]
        elif face == 1:
            p = np.c_[x0 + u * (x1 - x0), np.full(k, y1), v * height]
        elif face == 2:
            p = np.c_[np.full(k, x0), y0 + u * (y1 - y0), v * height]
        elif face == 3:
            p = np.c_[np.full(k, x1), y0 + u * (y1 - y0), v * height]
        else:
            p = np.c_[x0 + u * (x1 - x0), y0 + v * (y1 - y0), np.full(k, height)]
        parts.append(p)
    return np.vstack(parts)


def bridge_scene(seed: int, *, n_ground: int = 15_000, n_block: int = 5_000, noise: float = 0.002,
                 bulge: float = 0.0) -> np.ndarray:
    """One epoch, local coordinates. ``bulge`` raises the ground between the abutments
    (x 9..21 m) by a smooth hump of that height (a changed region)."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(SITE[0], SITE[2], n_ground)
    y = rng.uniform(SITE[1], SITE[3], n_ground)
    # Ground under the blocks is hidden: drop it.
    hidden = np.zeros(n_ground, bool)
    for b in ABUTMENTS + [PIER]:
        hidden |= (x > b[0]) & (x < b[2]) & (y > b[1]) & (y < b[3])
    x, y = x[~hidden], y[~hidden]
    z = ground_z(x, y)
    if bulge:
        t = np.clip((x - 9.0) / 12.0, 0.0, 1.0)
        z = z + bulge * np.sin(np.pi * t) ** 2
    pts = [np.c_[x, y, z]]
    for b in ABUTMENTS:
        pts.append(_box_faces(rng, b, 3.0, n_block))
    pts.append(_box_faces(rng, PIER, 4.0, n_block))
    xyz = np.vstack(pts)
    return xyz + rng.normal(0.0, noise, xyz.shape)


def rigid(rotvec, translation, centre=(0.0, 0.0, 0.0)) -> np.ndarray:
    """4x4 rotation by ``rotvec`` (radians, axis*angle) about ``centre``, then ``translation``."""
    from scipy.spatial.transform import Rotation

    m = np.eye(4)
    r = Rotation.from_rotvec(rotvec).as_matrix()
    c = np.asarray(centre, float)
    m[:3, :3] = r
    m[:3, 3] = c - r @ c + np.asarray(translation, float)
    return m


def apply(xyz, m):
    return xyz @ m[:3, :3].T + m[:3, 3]
