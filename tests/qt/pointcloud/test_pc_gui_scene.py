"""Shared synthetic scene and fixtures of the point-cloud GUI tests (no tests here; imported by
``test_pc_gui_menu`` and ``test_pc_gui_compare``).

A terrain with two abutment blocks and a deck, in British National Grid; epoch 2 is the same
surfaces resampled, misregistered by the known rigid motion ``MISREG`` and with the middle of
the deck sagging ``SAG`` at mid-span.  Points carry ASPRS classes (2 ground, 17 bridge) so the
DEM of difference is built from the ground.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

X0, Y0 = 378_800.0, 392_600.0
SAG = 0.06  # m at mid-span


def _rotation_z(angle: float, centre) -> np.ndarray:
    c, s = math.cos(angle), math.sin(angle)
    m = np.eye(4)
    m[:2, :2] = [[c, -s], [s, c]]
    centre = np.asarray(centre, float)
    m[:3, 3] = centre - m[:3, :3] @ centre
    return m


# epoch 2 file coordinates = MISREG applied to the true positions
MISREG = _rotation_z(0.0015, (X0 + 20, Y0 + 10, 12.0))
MISREG[:3, 3] += (0.04, -0.03, 0.02)


def _surface(rng, n, u0, u1, v0, v1, z_fn):
    u, v = rng.uniform(u0, u1, n), rng.uniform(v0, v1, n)
    return np.column_stack([u, v, z_fn(u, v)])


def _wall(rng, n, a, b, z0, z1):
    """Vertical face between plan points a and b from z0 to z1."""
    t, z = rng.uniform(0, 1, n), rng.uniform(z0, z1, n)
    a, b = np.asarray(a, float), np.asarray(b, float)
    xy = a + t[:, None] * (b - a)
    return np.column_stack([xy, z])


def _box(rng, density, u0, u1, v0, v1, z0, z1):
    parts = [_surface(rng, int(density * (u1 - u0) * (v1 - v0)), u0, u1, v0, v1, lambda u, v: np.full_like(u, z1))]
    for a, b in (((u0, v0), (u1, v0)), ((u1, v0), (u1, v1)), ((u1, v1), (u0, v1)), ((u0, v1), (u0, v0))):
        length = math.dist(a, b)
        parts.append(_wall(rng, int(density * length * (z1 - z0)), a, b, z0, z1))
    return np.vstack(parts)


def ground_z(u, v):
    return 10.0 + 0.3 * np.sin(u / 5.0) + 0.2 * np.cos(v / 4.0)


def sag(u):
    inside = (u > 14) & (u < 26)
    return np.where(inside, -SAG * np.sin(np.pi * (np.clip(u, 14, 26) - 14) / 12), 0.0)


def scene(seed: int, changed: bool, density: float = 30.0, with_classes: bool = False):
    """True positions (BNG) of one epoch; with ``with_classes`` also ASPRS classes (2 ground,
    17 bridge) so the DEM of difference is built from the ground only."""
    rng = np.random.default_rng(seed)
    ground = _surface(rng, int(density * 40 * 20), 0, 40, 0, 20, ground_z)
    parts = [_box(rng, density, 0, 6, 4, 16, 10.5, 14.0), _box(rng, density, 34, 40, 4, 16, 10.5, 14.0)]
    deck = _box(rng, density, 6, 34, 8, 12, 13.2, 14.0)
    if changed:
        deck[:, 2] += sag(deck[:, 0])
    parts.append(deck)
    xyz = np.vstack([ground] + parts)
    classes = np.r_[np.full(len(ground), 2, np.uint8), np.full(len(xyz) - len(ground), 17, np.uint8)]
    xyz += rng.normal(0, 0.003, xyz.shape)
    xyz[:, 0] += X0
    xyz[:, 1] += Y0
    return (xyz, classes) if with_classes else xyz


def apply(m, xyz):
    return xyz @ m[:3, :3].T + m[:3, 3]


@pytest.fixture(scope="module")
def epochs(tmp_path_factory):
    """Two LAZ epochs (epoch 2 misregistered and sagging) with a CRS, plus the polygon files."""
    import geopandas as gpd
    from shapely.geometry import box

    from gis_desk.core.pointcloud import PointCloud
    from gis_desk.io.pointcloud import write_pointcloud

    folder = tmp_path_factory.mktemp("pcgui")
    e1, c1 = scene(1, changed=False, with_classes=True)
    e2, c2 = scene(2, changed=True, with_classes=True)
    e2 = apply(MISREG, e2)
    p1 = write_pointcloud(folder / "span_epoch1_2024-03.laz", PointCloud(e1, {"classification": c1}, "EPSG:27700"))
    p2 = write_pointcloud(folder / "span_epoch2_2025-03.laz", PointCloud(e2, {"classification": c2}, "EPSG:27700"))

    def b(u0, v0, u1, v1):
        return box(X0 + u0, Y0 + v0, X0 + u1, Y0 + v1)

    stable = gpd.GeoDataFrame({"name": ["west", "east"]}, geometry=[b(-1, -1, 7, 21), b(33, -1, 41, 21)],
                               crs="EPSG:27700")
    stable.to_file(folder / "stable_areas.gpkg")
    zones = gpd.GeoDataFrame({"name": ["abutment west", "deck middle", "deck east"],
                              "zmin": [None, 13.0, 13.0]},
                             geometry=[b(0, 4, 6, 16), b(14, 8, 26, 12), b(26.5, 8, 34, 12)], crs="EPSG:27700")
    zones.to_file(folder / "zones.gpkg")
    return {"folder": folder, "e1": Path(p1), "e2": Path(p2), "stable": folder / "stable_areas.gpkg",
            "zones": folder / "zones.gpkg", "xyz1": e1, "xyz2": e2}


@pytest.fixture
def pc(main_window):
    from gis_desk.qt.pointcloud import install_pointcloud

    return install_pointcloud(main_window)


def wait_task(qtbot, window, task, timeout: int = 60000):
    assert task is not None
    qtbot.waitUntil(lambda: task.state not in ("pending", "running") and task not in window.tasks.tasks,
                    timeout=timeout)
    assert task.state == "finished", f"{task.title}: {task.state} {task.error!r}"
    return task.result


def open_both(qtbot, pc, epochs):
    w = pc.window
    for key in ("e1", "e2"):
        wait_task(qtbot, w, pc.open_pointcloud(epochs[key]))
    layers = {l.epoch_label: l for l in w.session.project.layers}
    return layers["Epoch 1 (2024-03)"], layers["Epoch 2 (2025-03)"]


def _compare_dialog(qtbot, pc, epochs, tmp_path):
    e1, e2 = open_both(qtbot, pc, epochs)
    for key in ("stable", "zones"):
        pc.window.open_path(epochs[key])
    dialog = pc.compare_epochs()
    assert dialog.epoch1.layer() is e1 and dialog.epoch2.layer() is e2
    assert dialog.stable.layer().name.startswith("stable") and dialog.zones.layer().name.startswith("zones")
    assert dialog.zone_field.currentText() == "name" and dialog.icp_box.isChecked()
    dialog.out_dir.setText(str(tmp_path / "out"))
    dialog.normal_radius.setValue(0.6)
    dialog.cylinder_radius.setValue(0.4)
    dialog.max_depth.setValue(0.5)
    dialog.threshold.setValue(20.0)
    dialog.dod_cell.setValue(0.5)
    return e1, e2, dialog
