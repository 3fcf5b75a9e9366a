"""Synthetic clouds with known content for the point-cloud I/O tests."""

from __future__ import annotations

import numpy as np
import pytest

from gis_desk.core.crs import to_crs
from gis_desk.core.pointcloud import PointCloud


@pytest.fixture
def synthetic_cloud() -> PointCloud:
    """2,000 points over 100 m x 50 m of BNG with LAS and change attributes (mm coordinates)."""
    rng = np.random.default_rng(7)
    n = 2000
    xyz = np.column_stack([rng.uniform(530_000, 530_100, n), rng.uniform(180_000, 180_050, n),
                           rng.uniform(2, 12, n)]).round(3)
    attrs = {
        "intensity": rng.integers(0, 65535, n).astype(np.uint16),
        "classification": rng.choice([1, 2, 6, 17], n).astype(np.uint8),
        "return_number": rng.integers(1, 4, n).astype(np.uint8),
        "gps_time": rng.uniform(0, 1e5, n),
        "red": rng.integers(0, 65535, n).astype(np.uint16),
        "green": rng.integers(0, 65535, n).astype(np.uint16),
        "blue": rng.integers(0, 65535, n).astype(np.uint16),
        "m3c2_distance": rng.normal(0, 0.02, n).astype(np.float32),
        "n1": rng.integers(0, 500, n).astype(np.int32),
    }
    return PointCloud(xyz, attrs, to_crs("EPSG:27700"))
