"""PointCloud (subset, transformed), the level-of-detail sample, the layer's transform and epoch
label, and their round trip through a saved project."""

from __future__ import annotations

import numpy as np
import pytest

from gis_desk.core.crs import to_crs
from gis_desk.core.datasets import DataSource
from gis_desk.core.pointcloud import (PointCloud, PointCloudDataset, PointCloudLayer, PointCloudStyle,
                                      default_style_for, is_change_field)
from gis_desk.io.pointcloud import write_pointcloud

BNG = to_crs("EPSG:27700")


def _uniform(n: int, size: float = 100.0, seed: int = 0) -> PointCloud:
    rng = np.random.default_rng(seed)
    xyz = np.column_stack([rng.uniform(0, size, n), rng.uniform(0, size, n), rng.uniform(0, 5, n)])
    return PointCloud(xyz, {"intensity": rng.integers(0, 1000, n).astype(np.uint16)}, BNG)


def _dataset(cloud: PointCloud) -> PointCloudDataset:
    return PointCloudDataset(DataSource("/tmp/mem.laz"), cloud, "LAZ")


def _rotation_z(deg: float, t=(0.0, 0.0, 0.0)) -> np.ndarray:
    a = np.radians(deg)
    m = np.eye(4)
    m[:2, :2] = [[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]]
    m[:3, 3] = t
    return m


# --- PointCloud ------------------------------------------------------------------------------


def test_subset_by_mask_and_index_keeps_attributes_aligned():
    cloud = _uniform(100)
    mask = cloud.xyz[:, 0] < 50
    part = cloud.subset(mask)
    assert len(part) == mask.sum() and part.crs is cloud.crs
    np.testing.assert_array_equal(part.attributes["intensity"], cloud.attributes["intensity"][mask])
    picked = cloud.subset(np.array([5, 2, 5]))
    np.testing.assert_array_equal(picked.xyz, cloud.xyz[[5, 2, 5]])
    np.testing.assert_array_equal(picked.attributes["intensity"], cloud.attributes["intensity"][[5, 2, 5]])


def test_transformed_applies_a_rigid_matrix_and_leaves_the_original():
    cloud = PointCloud(np.array([[1.0, 0.0, 2.0], [0.0, 3.0, 0.0]]), {"a": np.array([1, 2])}, BNG)
    moved = cloud.transformed(_rotation_z(90, (10, 20, 1)))
    np.testing.assert_allclose(moved.xyz, [[10.0, 21.0, 3.0], [7.0, 20.0, 1.0]], atol=1e-12)
    np.testing.assert_array_equal(cloud.xyz, [[1.0, 0.0, 2.0], [0.0, 3.0, 0.0]])
    np.testing.assert_array_equal(moved.attributes["a"], [1, 2])
    with pytest.raises(ValueError, match="4x4"):
        cloud.transformed(np.eye(3))
    with pytest.raises(ValueError, match="4x4"):
        cloud.transformed(np.full((4, 4), np.nan))


def test_shapes_are_checked():
    with pytest.raises(ValueError, match=r"\(n, 3\)"):
        PointCloud(np.zeros((4, 2)))
    with pytest.raises(ValueError, match="'i' has 3 values for 4 points"):
        PointCloud(np.zeros((4, 3)), {"i": np.zeros(3)})
    assert PointCloud(np.zeros((2, 3), np.float32)).xyz.dtype == np.float64


# --- level-of-detail sample ------------------------------------------------------------------


def test_sample_fits_the_budget_without_duplicates_and_returns_all_when_it_can():
    ds = _dataset(_uniform(50_000))
    for budget in (1, 100, 5_000, 49_999):
        idx = ds.sample(budget)
        assert 0 < len(idx) <= budget and len(np.unique(idx)) == len(idx)
        assert idx.dtype == np.int64 and idx.min() >= 0 and idx.max() < 50_000
    assert np.array_equal(np.sort(ds.sample(50_000)), np.arange(50_000))
    assert np.array_equal(np.sort(ds.sample(10**9)), np.arange(50_000))
    assert len(ds.sample(0)) == 0
    assert len(ds.sample(4_000)) > 0.8 * 4_000  # the budget is used, not wasted


def test_sample_is_spatially_even():
    """A sample of 2% covers every 10 m cell of a 100 m square, about equally."""
    ds = _dataset(_uniform(200_000))
    idx = ds.sample(4_000)
    cells = np.floor(ds.cloud.xyz[idx, :2] / 10).astype(int)
    counts = np.bincount(cells[:, 0] * 10 + cells[:, 1], minlength=100)
    assert counts.min() > 0 and counts.max() < 3 * counts.mean()


def test_sample_within_bounds_only_and_denser_when_zoomed_in():
    ds = _dataset(_uniform(200_000))
    box = (20.0, 30.0, 40.0, 45.0)
    idx = ds.sample(2_000, box)
    pts = ds.cloud.xyz[idx]
    assert 0.7 * 2_000 < len(idx) <= 2_000
    assert (pts[:, 0] >= 20).all() and (pts[:, 0] <= 40).all() and (pts[:, 1] >= 30).all() and (pts[:, 1] <= 45).all()
    # all 6,000-odd points of the box fit a large budget
    inside = ((ds.cloud.xyz[:, 0] >= 20) & (ds.cloud.xyz[:, 0] <= 40) & (ds.cloud.xyz[:, 1] >= 30)
              & (ds.cloud.xyz[:, 1] <= 45))
    assert np.array_equal(np.sort(ds.sample(100_000, box)), np.flatnonzero(inside))
    assert len(ds.sample(1000, (500.0, 500.0, 600.0, 600.0))) == 0  # far away


def test_sample_of_a_clustered_cloud_still_shows_the_sparse_part():
    rng = np.random.default_rng(4)
    dense = rng.normal(10, 0.5, (100_000, 3))
    sparse = np.column_stack([rng.uniform(50, 100, 200), rng.uniform(50, 100, 200), np.zeros(200)])
    ds = _dataset(PointCloud(np.vstack([dense, sparse]), {}, BNG))
    idx = ds.sample(1_000)
    assert (idx >= 100_000).sum() > 50  # a random 1% would keep about 2 of the 200


# --- layer -----------------------------------------------------------------------------------


def test_layer_transform_moves_points_and_bounds_and_emits():
    cloud = PointCloud(np.array([[0.0, 0.0, 0.0], [10.0, 0.0, 1.0]]), {}, BNG)
    layer = PointCloudLayer(_dataset(cloud), epoch_label="Epoch 1")
    events = []
    layer.changed.connect(events.append)
    assert layer.bounds == (0.0, 0.0, 10.0, 0.0) and not layer.has_transform
    layer.transform = _rotation_z(90, (100, 0, 0))
    assert events == ["transform"]
    layer.transform = _rotation_z(90, (100, 0, 0))  # unchanged: no event
    assert events == ["transform"]
    np.testing.assert_allclose(layer.points(), [[100.0, 0.0, 0.0], [100.0, 10.0, 1.0]], atol=1e-9)
    np.testing.assert_allclose(layer.points([1]), [[100.0, 10.0, 1.0]], atol=1e-9)
    np.testing.assert_allclose(layer.bounds, (100.0, 0.0, 100.0, 10.0), atol=1e-9)
    np.testing.assert_array_equal(cloud.xyz[1], [10.0, 0.0, 1.0])  # the data are never changed
    layer.epoch_label = "Epoch 2"
    assert events[-1] == "epoch_label"
    with pytest.raises(ValueError):
        layer.transform = np.eye(2)


def test_default_style_follows_the_fields():
    assert default_style_for(["intensity"]).color_by == "elevation"
    assert default_style_for(["red", "green", "blue"]).color_by == "rgb"
    change = default_style_for(["lod95", "m3c2_distance", "significant"])
    assert change.color_by == "m3c2_distance" and change.ramp == "RdBu"
    assert is_change_field("c2c_distance") and is_change_field("dz") and not is_change_field("intensity")


def test_transform_epoch_and_style_survive_a_saved_project(tmp_path, session):
    path = write_pointcloud(tmp_path / "epoch2.laz", _uniform(500))
    (layer,) = session.open(path)
    assert isinstance(layer, PointCloudLayer)
    matrix = _rotation_z(1.5, (0.25, -0.1, 0.02))
    layer.transform = matrix
    layer.epoch_label = "Epoch 2 (2025-03)"
    session.set_layer_property(layer, "style", PointCloudStyle(color_by="intensity", ramp="magma",
                                                                value_range=[0.0, 900.0], point_size=3.0))
    before = path.read_bytes()
    saved = session.save(tmp_path / "survey")
    assert path.read_bytes() == before  # registration never rewrites the file
    session.new_project()
    session.load(saved)
    (back,) = session.project.layers
    assert isinstance(back, PointCloudLayer) and not back.is_broken
    np.testing.assert_allclose(back.transform, matrix)
    assert back.epoch_label == "Epoch 2 (2025-03)"
    assert back.style == PointCloudStyle(color_by="intensity", ramp="magma", value_range=[0.0, 900.0],
                                         point_size=3.0)
    np.testing.assert_allclose(back.points(), layer.points(), atol=1e-3)
