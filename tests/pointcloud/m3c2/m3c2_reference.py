"""Synthetic M3C2 scenes with known geometry, and py4dgeo as the reference implementation.

Shared by the tests in this folder (imported by module name; the basename is unique in tests/).
"""

from __future__ import annotations

import numpy as np

from gis_desk.analysis.m3c2 import M3C2Params

BNG = np.array([378_900.0, 392_600.0, 20.0])  # national-grid offsets: precision must survive them


def plane_pair(n: int = 6000, size: float = 4.0, shift: float = 0.02, noise: float = 0.002,
               seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Two independent scans of a horizontal plane; epoch 2 raised by ``shift`` metres."""
    rng = np.random.default_rng(seed)
    a = np.c_[rng.uniform(0, size, (n, 2)), rng.normal(0, noise, n)]
    b = np.c_[rng.uniform(0, size, (n, 2)), shift + rng.normal(0, noise, n)]
    return a + BNG, b + BNG


def rough_pair(n: int = 6000, size: float = 4.0, seed: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """A bumpy surface (10 cm waves + 1 cm noise), epoch 2 lowered 5 cm in one half."""
    rng = np.random.default_rng(seed)

    def scan(s):
        xy = rng.uniform(0, size, (n, 2))
        z = 0.1 * np.sin(3 * xy[:, 0]) * np.cos(2 * xy[:, 1]) + rng.normal(0, 0.01, n)
        if s:
            z = z - 0.05 * (xy[:, 0] > size / 2)
        return np.c_[xy, z] + BNG

    return scan(0), scan(1)


def wall_pair(n: int = 6000, shift: float = 0.03, seed: int = 2) -> tuple[np.ndarray, np.ndarray]:
    """A vertical wall in the x-z plane at y=0 (4 m long, 3 m high); epoch 2 moved -y by ``shift``."""
    rng = np.random.default_rng(seed)

    def scan(dy):
        x = rng.uniform(0, 4, n)
        z = rng.uniform(0, 3, n)
        return np.c_[x, dy + rng.normal(0, 0.002, n), z] + BNG

    return scan(0.0), scan(-shift)


def quiet_py4dgeo() -> None:
    """py4dgeo logs every KD-tree build to stdout and appends to ./py4dgeo.log: keep only warnings."""
    import logging

    log = logging.getLogger("py4dgeo")
    for handler in list(log.handlers):
        if isinstance(handler, logging.FileHandler):
            log.removeHandler(handler)
            handler.close()
    log.setLevel(logging.WARNING)


def run_py4dgeo(e1: np.ndarray, e2: np.ndarray, core: np.ndarray, p: M3C2Params,
                normals: np.ndarray | None = None) -> dict:
    """py4dgeo 1.2 M3C2 with our parameters (radii; it has no min_points floor)."""
    import py4dgeo

    quiet_py4dgeo()
    kw = dict(
        epochs=(py4dgeo.Epoch(e1), py4dgeo.Epoch(e2)), corepoints=core,
        cyl_radius=p.cylinder_radius, max_distance=p.max_depth,
        registration_error=p.registration_error, robust_aggr=p.use_median,
    )
    if normals is not None:
        algo = py4dgeo.M3C2(corepoint_normals=np.ascontiguousarray(normals, dtype=float), **kw)
    else:
        algo = py4dgeo.M3C2(normal_radii=(p.normal_radius,),
                            orientation_vector=np.asarray(p.normal_orientation, dtype=float)
                            if not isinstance(p.normal_orientation, str) else np.array([0.0, 0, 1]),
                            **kw)
    d, u = algo.run()
    return {
        "distance": d, "lod95": u["lodetection"], "spread1": u["spread1"], "spread2": u["spread2"],
        "n1": u["num_samples1"], "n2": u["num_samples2"], "normals": algo.corepoint_normals,
    }


def off_cloud(core: np.ndarray) -> np.ndarray:
    """Core points nudged 0.5 mm off the measured points they were taken from.

    py4dgeo 1.2 counts a neighbour lying exactly on its core point 0 or 2 times for some radii
    (its slab boundaries pass through the core point), so exact agreement is checked on core
    points that are not themselves cloud points; the quirk has its own test.
    """
    return core + np.array([0.0004, -0.0003, 0.0])
