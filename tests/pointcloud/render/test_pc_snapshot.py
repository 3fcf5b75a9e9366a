"""The Qt-free 3D snapshot: camera geometry, z-buffer, framing, colours shared with the map, and
the PNG with its legend."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from gis_desk.core.crs import to_crs
from gis_desk.core.datasets import DataSource
from gis_desk.core.pointcloud import PointCloud, PointCloudDataset, PointCloudLayer, PointCloudStyle
from gis_desk.errors import DataError
from gis_desk.render.pointcloud import point_colours
from gis_desk.render.pointcloud_snapshot import (crop_to_content, fit_camera, render_points, snapshot,
                                                 write_snapshot)

BNG = to_crs("EPSG:27700")


def _box(n: int = 20_000, seed: int = 0) -> PointCloud:
    """Points on the top and sides of a 40 x 10 x 5 m block, long axis east-west."""
    rng = np.random.default_rng(seed)
    x, y = rng.uniform(0, 40, n), rng.uniform(0, 10, n)
    z = np.where(rng.random(n) < 0.7, 5.0, rng.uniform(0, 5, n))
    side = z < 5.0
    y[side] = np.where(rng.random(side.sum()) < 0.5, 0.0, 10.0)
    xyz = np.column_stack([530_000 + x, 180_000 + y, z])
    cls = np.where(side, 6, 2).astype(np.uint8)
    return PointCloud(xyz, {"classification": cls, "dz": rng.normal(0, 0.01, n)}, BNG)


def test_camera_looking_north_puts_east_right_and_up_up():
    xyz = np.array([[0.0, 0.0, 0.0], [10.0, 0.0, 0.0], [0.0, 0.0, 10.0], [-10.0, 0.0, 0.0]])
    cam = fit_camera(xyz, 400, 300, azimuth=0.0, elevation=0.0)
    px, py, depth = cam.project(xyz)
    assert (depth > 0).all()
    assert px[1] > px[0] > px[3]   # east is right
    assert py[2] < py[0]           # higher is up (smaller row)
    assert ((px >= 0) & (px < 400) & (py >= 0) & (py < 300)).all()
    behind = cam.project(cam.eye[None, :] - cam.forward[None, :])[2]
    assert behind[0] < 0


def test_fit_camera_frames_the_cloud():
    cloud = _box()
    for azimuth, elevation in ((None, 25.0), (90.0, 60.0), (200.0, 10.0)):
        cam = fit_camera(cloud.xyz, 800, 500, azimuth=azimuth, elevation=elevation)
        px, py, depth = cam.project(cloud.xyz)
        inside = (px >= 0) & (px < 800) & (py >= 0) & (py < 500) & (depth > 0)
        assert inside.mean() > 0.99
        # and fills the picture: the projected extent spans most of one dimension
        assert max(np.ptp(px[inside]) / 800, np.ptp(py[inside]) / 500) > 0.8


def test_auto_view_looks_across_the_long_axis():
    cam = fit_camera(_box().xyz, 800, 500, azimuth=None)
    # the block runs east-west: the camera looks mostly north or south, not along it
    assert abs(cam.forward[1]) > abs(cam.forward[0])


def test_nearest_point_wins_and_colours_are_kept():
    xyz = np.array([[0.0, 5.0, 0.0], [0.0, 10.0, 0.0], [3.0, 10.0, 0.0]])  # first is nearer a camera at y < 0
    colours = np.array([[255, 0, 0, 255], [0, 0, 255, 255], [0, 255, 0, 255]], np.uint8)
    cam = fit_camera(xyz, 200, 100, azimuth=0.0, elevation=0.0)
    image = render_points(xyz, colours, cam, point_size=1, edl=0.0)
    px, py, _ = cam.project(xyz)
    assert tuple(image[int(py[2]), int(px[2])]) == (0, 255, 0)
    # the red and blue points lie on one line of sight only if aligned; put blue exactly behind red
    xyz2 = np.array([[0.0, 5.0, 0.0], cam.eye + 2 * (np.array([0.0, 5.0, 0.0]) - cam.eye)])
    image = render_points(xyz2, colours[:2], cam, point_size=3, edl=0.0)
    px, py, _ = cam.project(xyz2)
    assert abs(px[0] - px[1]) < 1e-6 and abs(py[0] - py[1]) < 1e-6
    assert tuple(image[int(py[0]), int(px[0])]) == (255, 0, 0)
    assert (image == 255).all(axis=2).sum() == 200 * 100 - 9  # one 3x3 dot on white


def test_eye_dome_lighting_darkens_edges_only():
    cloud = _box()
    style = PointCloudStyle(color_by="classification", point_size=3)
    flat, cam = snapshot(cloud, style, width=600, height=400, edl=0.0)
    shaded, _ = snapshot(cloud, style, width=600, height=400, edl=1.0, camera=cam)
    assert shaded.shape == flat.shape == (400, 600, 3)
    darker = (shaded.astype(int).sum(axis=2) < flat.astype(int).sum(axis=2) - 30)
    drawn = (flat != 255).any(axis=2)
    assert 0.005 < darker[drawn].mean() < 0.5  # some pixels (edges) are shaded, most keep their colour
    assert not darker[~drawn].any()  # the background is untouched


def test_snapshot_uses_the_shared_colouring_and_the_layer_transform():
    cloud = _box(3000)
    style = PointCloudStyle(color_by="classification", point_size=1)
    image, cam = snapshot(cloud, style, width=500, height=300, edl=0.0)
    colours = point_colours(cloud, style)
    px, py, _ = cam.project(cloud.xyz)
    seen = {tuple(c) for c in image.reshape(-1, 3)} - {(255, 255, 255)}
    assert seen <= {tuple(c[:3]) for c in colours}
    ds = PointCloudDataset(DataSource("/tmp/x.laz"), cloud, "LAZ")
    up = np.eye(4)
    up[2, 3] = 100.0
    layer = PointCloudLayer(ds, transform=up)
    moved, cam2 = snapshot(layer, style, width=500, height=300, edl=0.0)
    assert cam2.eye[2] == pytest.approx(cam.eye[2] + 100.0, abs=1.0)  # framed on the moved points
    with pytest.raises(DataError):
        snapshot(cloud.subset(np.zeros(0, int)), style)


def test_budget_thins_evenly():
    cloud = _box(50_000)
    style = PointCloudStyle(color_by="classification", point_size=1)
    few, cam = snapshot(cloud, style, budget=2_000, width=400, height=250, edl=0.0)
    many, _ = snapshot(cloud, style, width=400, height=250, edl=0.0, camera=cam)
    assert 0 < (few != 255).any(axis=2).sum() < (many != 255).any(axis=2).sum()


def test_write_snapshot_png_with_colour_bar_and_class_legend(tmp_path):
    cloud = _box()
    path = write_snapshot(cloud, PointCloudStyle(color_by="dz", ramp="RdBu"), tmp_path / "a" / "dz.png",
                          width=600, height=300, title="Change", crop=True)
    img = Image.open(path)
    assert img.format == "PNG" and img.size[0] > 600 * 0.8  # picture plus the legend column
    rgb = np.asarray(img.convert("RGB")).astype(int)
    # the colour bar holds both ends of the diverging ramp: deep blue and deep red
    assert ((rgb[..., 2] > 150) & (rgb[..., 0] < 60)).sum() > 50
    assert ((rgb[..., 0] > 150) & (rgb[..., 2] < 60)).sum() > 50
    path2 = write_snapshot(cloud, PointCloudStyle(color_by="classification"), tmp_path / "cls.png",
                           width=600, height=300)
    assert Image.open(path2).size[0] > 600
    assert sorted(p.name for p in tmp_path.rglob("*.png")) == ["cls.png", "dz.png"]  # no temp files


def test_crop_to_content():
    image = np.full((50, 80, 3), 255, np.uint8)
    image[10:20, 30:35] = 0
    out = crop_to_content(image, margin=2)
    assert out.shape == (14, 9, 3)
    blank = np.full((5, 5, 3), 255, np.uint8)
    assert crop_to_content(blank).shape == (5, 5, 3)
