"""C2C as the Processing Toolbox and ``gis-desk algorithms run builtins.pc_c2c`` run it."""

from __future__ import annotations

import numpy as np
import pytest

from gis_desk.core.pointcloud import PointCloud
from gis_desk.io.pointcloud import read_pointcloud, write_pointcloud
from gis_desk.processing.algorithms.pointcloud import CloudToCloud
from gis_desk.processing.run import run_algorithm


def _plane(n: int, z: float, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    xy = rng.uniform(0, 20, (n, 2)) + (378000.0, 392000.0)
    return np.column_stack([xy, np.full(n, z)])


def test_c2c_of_a_raised_plane_is_the_rise_and_all_vertical(tmp_path):
    ref, cmp_ = tmp_path / "ref.laz", tmp_path / "cmp.laz"
    write_pointcloud(ref, PointCloud(_plane(40_000, 30.0, 1), {}, "EPSG:27700"))
    write_pointcloud(cmp_, PointCloud(_plane(20_000, 30.05, 2), {}, "EPSG:27700"))
    out = run_algorithm(CloudToCloud(), {"reference": str(ref), "compared": str(cmp_), "model": "plane",
                                         "output": str(tmp_path / "c2c.laz")})
    assert out["matched"] == 20_000
    assert out["median_distance_m"] == pytest.approx(0.05, abs=0.002)  # plane model: spacing does not add
    [ds] = read_pointcloud(out["output"])
    vertical = ds.cloud.attributes["c2c_vertical"]
    assert np.median(vertical) == pytest.approx(0.05, abs=0.002)
    assert np.median(ds.cloud.attributes["c2c_horizontal"]) < 0.01

    nearest = run_algorithm(CloudToCloud(), {"reference": str(ref), "compared": str(cmp_), "model": "nearest"})
    assert nearest["median_distance_m"] > out["median_distance_m"]  # point spacing inflates nearest-point C2C
