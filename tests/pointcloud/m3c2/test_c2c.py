"""Cloud-to-cloud distances against known geometry and brute force."""

from __future__ import annotations

import numpy as np
import pytest

import gis_desk.analysis.c2c as c2c_mod
from gis_desk.analysis.c2c import c2c
from gis_desk.errors import CanceledError, DataError, ParameterError
from gis_desk.processing.feedback import Feedback

from m3c2_reference import BNG


def grid_plane(spacing: float = 0.1, size: float = 4.0) -> np.ndarray:
    g = np.arange(0, size + 1e-9, spacing)
    x, y = np.meshgrid(g, g)
    return np.c_[x.ravel(), y.ravel(), np.zeros(x.size)] + BNG


def test_known_shift_of_each_point_nearest_model():
    ref = grid_plane()
    shift = np.array([0.01, -0.02, 0.03])  # smaller than half the spacing: the twin stays nearest
    res = c2c(ref, ref + shift)
    assert res.model == "nearest"
    np.testing.assert_allclose(res.distance, np.linalg.norm(shift), atol=1e-9)
    np.testing.assert_allclose(res.horizontal, np.hypot(0.01, 0.02), atol=1e-9)
    np.testing.assert_allclose(res.vertical, 0.03, atol=1e-9)
    np.testing.assert_array_equal(res.nearest, np.arange(len(ref)))


def test_plane_model_removes_the_sampling_bias():
    """A surface raised 5 cm, sampled elsewhere: nearest-point reads high, the plane reads 5 cm."""
    ref = grid_plane(spacing=0.1)
    rng = np.random.default_rng(0)
    cmp_ = np.c_[rng.uniform(0.5, 3.5, (3000, 2)), np.full(3000, 0.05)] + BNG
    near = c2c(ref, cmp_)
    plane = c2c(ref, cmp_, local_model="plane", k=6)
    assert near.distance.mean() > 0.055  # includes up to 7 cm of horizontal offset
    np.testing.assert_allclose(plane.distance, 0.05, atol=1e-9)
    np.testing.assert_allclose(plane.vertical, 0.05, atol=1e-9)
    np.testing.assert_allclose(plane.horizontal, 0.0, atol=1e-9)
    assert (near.horizontal > 0).mean() > 0.99
    assert (plane.distance <= near.distance + 1e-12).all()  # a model never makes it worse


def test_wall_moved_horizontally_and_ground_settled():
    rng = np.random.default_rng(1)
    x, z = rng.uniform(0, 4, 5000), rng.uniform(0, 3, 5000)
    wall = np.c_[x, np.zeros(5000), z] + BNG
    moved = np.c_[rng.uniform(0.5, 3.5, 2000), np.full(2000, 0.04), rng.uniform(0.5, 2.5, 2000)] + BNG
    res = c2c(wall, moved, local_model="plane", k=8)
    np.testing.assert_allclose(res.distance, 0.04, atol=1e-6)
    np.testing.assert_allclose(res.horizontal, 0.04, atol=1e-6)
    np.testing.assert_allclose(res.vertical, 0.0, atol=1e-6)
    settled = grid_plane()[::7] - [0, 0, 0.02]
    down = c2c(grid_plane(), settled, local_model="plane")
    np.testing.assert_allclose(down.vertical, -0.02, atol=1e-9)  # below the reference: negative


def test_nearest_matches_brute_force():
    rng = np.random.default_rng(2)
    ref = rng.uniform(0, 5, (800, 3)) + BNG
    cmp_ = rng.uniform(0, 5, (300, 3)) + BNG
    res = c2c(ref, cmp_)
    d = np.linalg.norm(cmp_[:, None, :] - ref[None, :, :], axis=2)
    np.testing.assert_allclose(res.distance, d.min(axis=1), rtol=1e-12)
    np.testing.assert_array_equal(res.nearest, d.argmin(axis=1))
    v = cmp_ - ref[d.argmin(axis=1)]
    np.testing.assert_allclose(res.vertical, v[:, 2], atol=1e-9)
    np.testing.assert_allclose(res.horizontal, np.hypot(v[:, 0], v[:, 1]), atol=1e-9)


def test_plane_matches_brute_force_fit():
    rng = np.random.default_rng(3)
    xy = rng.uniform(0, 3, (2000, 2))
    ref = np.c_[xy, 0.2 * np.sin(2 * xy[:, 0]) + rng.normal(0, 0.003, 2000)] + BNG
    cmp_ = ref[::37] + rng.normal(0, 0.02, (len(ref[::37]), 3))
    res = c2c(ref, cmp_, local_model="plane", k=10)
    for i in range(0, len(cmp_), 9):
        order = np.argsort(np.linalg.norm(ref - cmp_[i], axis=1))
        nb = ref[order[:10]]
        c = nb.mean(axis=0)
        _, _, vt = np.linalg.svd(nb - c)
        plane = abs((cmp_[i] - c) @ vt[2])
        nearest = np.linalg.norm(ref[order[0]] - cmp_[i])
        assert res.distance[i] == pytest.approx(min(plane, nearest), rel=1e-9, abs=1e-12)


def test_max_distance_leaves_unmatched_points_nan():
    ref = grid_plane()
    cmp_ = np.vstack([ref[:100] + [0, 0, 0.05], BNG + [2, 2, 5.0]])
    for model in (None, "plane"):
        res = c2c(ref, cmp_, local_model=model, max_distance=1.0)
        assert np.isnan(res.distance[-1]) and np.isnan(res.vertical[-1]) and res.nearest[-1] == -1
        np.testing.assert_allclose(res.distance[:-1], 0.05, atol=1e-9)
        assert res.summary()["matched"] == 100


def test_progress_and_cancel(monkeypatch):
    monkeypatch.setattr(c2c_mod, "_CHUNK", 500)
    ref = grid_plane()
    seen = []
    c2c(ref, ref + [0, 0, 0.01], feedback=Feedback(on_progress=seen.append))
    assert seen[-1] == 100 and len(seen) > 3 and seen == sorted(seen)

    class CancelAfterFirst(Feedback):
        def set_progress(self, pct):
            super().set_progress(pct)
            self.cancel()

    with pytest.raises(CanceledError):
        c2c(ref, ref, feedback=CancelAfterFirst())


def test_accepts_pointclouds_and_rejects_bad_input():
    from gis_desk.core.pointcloud import PointCloud

    ref = grid_plane()
    res = c2c(PointCloud(ref, {}), PointCloud(ref[:50] + [0, 0, 0.01], {}))
    np.testing.assert_allclose(res.distance, 0.01, atol=1e-9)
    with pytest.raises(ParameterError):
        c2c(ref, ref, local_model="quadric")
    with pytest.raises(ParameterError):
        c2c(ref, ref, local_model="plane", k=2)
    with pytest.raises(ParameterError):
        c2c(ref, ref, max_distance=-1)
    with pytest.raises(DataError, match="empty"):
        c2c(ref[:0], ref)
    with pytest.raises(DataError, match="shape"):
        c2c(ref[:, :2], ref)
    bad = ref.copy()
    bad[0, 0] = np.inf
    with pytest.raises(DataError, match="NaN or infinite"):
        c2c(ref, bad)
    assert len(c2c(ref, ref[:0])) == 0
