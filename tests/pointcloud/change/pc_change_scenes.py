"""A small synthetic two-epoch scene with known change, for the comparison-pipeline tests.

Plan (BNG-sized coordinates, metres from X0, Y0): ground 40 x 30 m at z = 10; three stable
reference blocks (4 x 4 x 3 m, ``BLOCKS``) with stable areas around them; a wall 12 m long, 0.6 m thick and 4 m high along
y = 20 (x 20..32) whose south face (y = 20) has a 4 x 2 m patch that loses 25 mm in epoch 2;
a 0.3 m deep pit in the ground at (30, 8) in epoch 2.  Epoch 2 is resampled (new noise and
positions) and misregistered by ``MISREG``.
"""

from __future__ import annotations

import numpy as np
from shapely.geometry import LineString, Polygon, box

from gis_desk.core.crs import to_crs
from gis_desk.core.pointcloud import PointCloud

X0, Y0 = 400_000.0, 300_000.0
BNG = to_crs("EPSG:27700")
SPALL = dict(x0=23.0, x1=27.0, z0=11.0, z1=13.0, depth=0.025)
PIT = dict(x=30.0, y=8.0, r=1.2, depth=0.3)
BLOCKS = ((5.0, 5.0), (3.0, 22.0), (34.0, 24.0))  # south-west corners of 4 x 4 x 3 m stable blocks


def _misreg() -> np.ndarray:
    a = 0.0008  # rad about z through the scene centre, then a translation
    c = np.array([X0 + 20, Y0 + 15, 10.0])
    r = np.array([[np.cos(a), -np.sin(a), 0], [np.sin(a), np.cos(a), 0], [0, 0, 1]])
    m = np.eye(4)
    m[:3, :3] = r
    m[:3, 3] = c - r @ c + np.array([0.02, -0.015, 0.01])
    return m


MISREG = _misreg()  # applied to epoch 2; registration should find its inverse


def _plane(rng, n, origin, e1, e2):
    s, t = rng.random(n), rng.random(n)
    return np.asarray(origin) + np.outer(s, e1) + np.outer(t, e2)


def scene(seed: int, *, changed: bool, density: float = 40.0, noise: float = 0.004) -> PointCloud:
    """One epoch: ``changed`` plants the spall and the pit and applies ``MISREG``."""
    rng = np.random.default_rng(seed)
    parts, cls = [], []

    def add(origin, e1, e2, code):
        area = np.linalg.norm(np.cross(e1, e2))
        pts = _plane(rng, int(area * density), origin, np.asarray(e1, float), np.asarray(e2, float))
        parts.append(pts)
        cls.append(np.full(len(pts), code, np.uint8))

    add((0, 0, 10), (40, 0, 0), (0, 30, 0), 2)  # ground
    for bx, by in BLOCKS:
        for (o, e1, e2) in (((bx, by, 10), (4, 0, 0), (0, 0, 3)), ((bx, by + 4, 10), (4, 0, 0), (0, 0, 3)),
                            ((bx, by, 10), (0, 4, 0), (0, 0, 3)), ((bx + 4, by, 10), (0, 4, 0), (0, 0, 3)),
                            ((bx, by, 13), (4, 0, 0), (0, 4, 0))):
            add(o, e1, e2, 6)  # stable reference blocks
    for (o, e1, e2) in (((20, 20, 10), (12, 0, 0), (0, 0, 4)), ((20, 20.6, 10), (12, 0, 0), (0, 0, 4)),
                        ((20, 20, 14), (12, 0, 0), (0, 0.6, 0))):
        add(o, e1, e2, 6)  # wall
    xyz = np.vstack(parts)
    code = np.concatenate(cls)
    # ground under the block and wall is not seen
    under = np.zeros(len(xyz), bool)
    for bx, by in BLOCKS:
        under |= (xyz[:, 0] > bx) & (xyz[:, 0] < bx + 4) & (xyz[:, 1] > by) & (xyz[:, 1] < by + 4)
    hidden = (code == 2) & (under | ((xyz[:, 0] > 20) & (xyz[:, 0] < 32) & (xyz[:, 1] > 20) & (xyz[:, 1] < 20.6)))
    xyz, code = xyz[~hidden], code[~hidden]
    if changed:
        face = (np.abs(xyz[:, 1] - 20) < 1e-9) & (xyz[:, 0] > SPALL["x0"]) & (xyz[:, 0] < SPALL["x1"]) \
            & (xyz[:, 2] > SPALL["z0"]) & (xyz[:, 2] < SPALL["z1"])
        xyz[face, 1] += SPALL["depth"]  # into the wall (its south face looks towards -y)
        r = np.hypot(xyz[:, 0] - PIT["x"], xyz[:, 1] - PIT["y"])
        pit = (code == 2) & (r < PIT["r"])
        xyz[pit, 2] -= PIT["depth"] * (1 + np.cos(np.pi * r[pit] / PIT["r"])) / 2
    xyz = xyz + rng.normal(0, noise, xyz.shape)
    xyz += (X0, Y0, 0.0)
    if changed:
        xyz = xyz @ MISREG[:3, :3].T + MISREG[:3, 3]
    return PointCloud(xyz, {"classification": code, "intensity": rng.integers(0, 4000, len(xyz)).astype(np.uint16)},
                      BNG)


def pit_volume() -> float:
    """Volume of the cosine pit: pi depth r^2 (1/2 - 2/pi^2)."""
    return float(np.pi * PIT["depth"] * PIT["r"] ** 2 * (0.5 - 2 / np.pi ** 2))


def stable_areas() -> list[Polygon]:
    return [box(X0 + bx - 2, Y0 + by - 2, X0 + bx + 6, Y0 + by + 6) for bx, by in BLOCKS]


def zones():
    import geopandas as gpd

    return gpd.GeoDataFrame(
        {"name": ["wall", "block", "yard"], "zmin": [None, None, None], "zmax": [None, None, None]},
        geometry=[box(X0 + 19, Y0 + 19, X0 + 33, Y0 + 21.6), box(X0 + 4, Y0 + 4, X0 + 10, Y0 + 10),
                  box(X0 + 26, Y0 + 4, X0 + 34, Y0 + 12)], crs="EPSG:27700")


def section_line() -> LineString:
    return LineString([(X0 + 25, Y0 + 17), (X0 + 25, Y0 + 23)])
