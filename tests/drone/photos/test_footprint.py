"""Camera footprints against geometry worked out by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest

from gis_desk.analysis.footprint import (
    DtmSampler, camera_axes, camera_footprint, footprints, fov_from_diagonal, fov_from_focal_35mm,
    fov_from_sensor, ground_to_image,
)


def _bbox(poly):
    return tuple(round(v, 3) for v in poly.bounds)


def test_fov_helpers():
    h, v = fov_from_diagonal(84.0, 4 / 3)
    # diagonal half-tan split 4:3:5
    t = math.tan(math.radians(42))
    assert math.isclose(math.tan(math.radians(h / 2)), t * 0.8, rel_tol=1e-12)
    assert math.isclose(math.tan(math.radians(v / 2)), t * 0.6, rel_tol=1e-12)
    # 24 mm equivalent is ~84 deg diagonal (the Phantom 4 Pro spec sheet pairing)
    h2, v2 = fov_from_focal_35mm(24.0, 4 / 3)
    d = 2 * math.degrees(math.atan(math.hypot(math.tan(math.radians(h2 / 2)), math.tan(math.radians(v2 / 2)))))
    assert 83.5 < d < 84.2
    hs, vs = fov_from_sensor(4.4, 13.2, 8.8)
    assert math.isclose(hs, 2 * math.degrees(math.atan(13.2 / 8.8)))
    assert math.isclose(vs, 90.0)
    with pytest.raises(ValueError):
        fov_from_focal_35mm(0)


def test_nadir_rectangle_size():
    hfov, vfov = fov_from_diagonal(84.0, 4 / 3)
    poly = camera_footprint(1000.0, 2000.0, 100.0, 0.0, -90.0, 0.0, hfov, vfov, ground=0.0)
    diag = 2 * 100 * math.tan(math.radians(42))  # 180.08 m
    w, h = diag * 0.8, diag * 0.6
    assert math.isclose(poly.area, w * h, rel_tol=1e-9)
    assert _bbox(poly) == _bbox(type(poly)([(1000 - w / 2, 2000 - h / 2), (1000 + w / 2, 2000 - h / 2),
                                           (1000 + w / 2, 2000 + h / 2), (1000 - w / 2, 2000 + h / 2)]))
    assert len(poly.exterior.coords) == 5  # collinear edge samples dropped


def test_ground_height_and_yaw_rotation():
    hfov, vfov = 60.0, 40.0
    a = camera_footprint(0, 0, 150.0, 0.0, -90.0, 0.0, hfov, vfov, ground=50.0)
    b = camera_footprint(0, 0, 150.0, 90.0, -90.0, 0.0, hfov, vfov, ground=50.0)
    half_w = 100 * math.tan(math.radians(30))
    half_h = 100 * math.tan(math.radians(20))
    minx, miny, maxx, maxy = a.bounds
    assert math.isclose(maxx, half_w) and math.isclose(maxy, half_h)
    # yaw 90: the long image axis now runs north-south
    minx, miny, maxx, maxy = b.bounds
    assert math.isclose(maxx, half_h) and math.isclose(maxy, half_w)
    # the image top faces the yaw direction: top-left corner of an east-facing nadir photo is NE
    fp = footprints(0, 0, 150.0, 90.0, -90.0, 0.0, hfov, vfov, ground=50.0)
    tl = fp.corners[0, 0]
    assert tl[0] > 0 and tl[1] > 0


def test_oblique_trapezoid():
    hfov, vfov = 60.0, 40.0
    z = 100.0
    fp = footprints(0, 0, z, 0.0, -45.0, 0.0, hfov, vfov, ground=0.0)
    poly = fp[0]
    assert not fp.truncated[0]
    c = fp.corners[0]
    # near (bottom) edge at depression 65 deg, far (top) edge at 25 deg
    near_y = z / math.tan(math.radians(65))
    far_y = z / math.tan(math.radians(25))
    assert math.isclose(c[2, 1], near_y, rel_tol=1e-9) and math.isclose(c[3, 1], near_y, rel_tol=1e-9)
    assert math.isclose(c[0, 1], far_y, rel_tol=1e-9) and math.isclose(c[1, 1], far_y, rel_tol=1e-9)
    near_w = c[2, 0] - c[3, 0]
    far_w = c[1, 0] - c[0, 0]
    assert far_w > near_w > 0  # a trapezoid widening away from the camera
    # the far corner's slant distance along the axis sets the width: x = tan(30) * depth
    depth = math.hypot(far_y, z) * math.cos(math.radians(20))
    assert math.isclose(far_w / 2, math.tan(math.radians(30)) * depth, rel_tol=1e-9)
    assert poly.is_valid and len(poly.exterior.coords) == 5


def test_horizon_is_clipped_and_flagged():
    fp = footprints(0, 0, 50.0, 0.0, -10.0, 0.0, 60.0, 40.0, ground=0.0, max_range=500.0)
    assert fp.truncated[0]
    poly = fp[0]
    assert poly is not None and poly.is_valid
    assert poly.bounds[3] == pytest.approx(500.0, rel=1e-6)  # far side on the clip line
    assert poly.bounds[1] > 0
    # pointing up: nothing
    up = footprints(0, 0, 50.0, 0.0, 30.0, 0.0, 60.0, 40.0, ground=0.0)
    assert up[0] is None and not up.truncated[0]


def test_roll_right_side_down():
    _, right, _ = camera_axes(0.0, 0.0, 10.0)
    assert right[2] < 0  # right wing down
    # oblique, looking north: the right half of the image now looks at nearer ground
    fp = footprints(0, 0, 100, 0.0, -30.0, 10.0, 40, 30)
    c = fp.corners[0]
    assert np.hypot(*c[1, :2]) < np.hypot(*c[0, :2])  # top-right nearer than top-left
    level = footprints(0, 0, 100, 0.0, -30.0, 0.0, 40, 30).corners[0]
    assert np.hypot(*level[1, :2]) == pytest.approx(np.hypot(*level[0, :2]))
    # at nadir a roll turns the rectangle about the vertical: same area, other bounds
    a = camera_footprint(0, 0, 100, 0.0, -90.0, 0.0, 40, 30)
    b = camera_footprint(0, 0, 100, 0.0, -90.0, 10.0, 40, 30)
    assert b.area == pytest.approx(a.area) and b.bounds != pytest.approx(a.bounds)


def test_vectorised_matches_single():
    rng = np.random.default_rng(1)
    n = 50
    args = (rng.uniform(0, 100, n), rng.uniform(0, 100, n), rng.uniform(60, 120, n),
            rng.uniform(0, 360, n), rng.uniform(-90, -30, n), np.zeros(n))
    fp = footprints(*args, 70.0, 50.0)
    for i in range(0, n, 7):
        one = camera_footprint(*(a[i] for a in args), 70.0, 50.0)
        assert one.equals_exact(fp[i], 1e-9)


def test_round_trip_ground_to_image():
    fp = footprints(10, 20, 80, 33.0, -60.0, 2.0, 70.0, 50.0)
    c = fp.corners[0]
    u, v, front = ground_to_image(c[:, 0], c[:, 1], c[:, 2], 10, 20, 80, 33.0, -60.0, 2.0, 70.0, 50.0)
    assert front.all()
    np.testing.assert_allclose(u, [-1, 1, 1, -1], atol=1e-9)
    np.testing.assert_allclose(v, [1, 1, -1, -1], atol=1e-9)


@pytest.fixture
def slope_dtm(tmp_path):
    """A plane rising 0.2 m per m to the east: z = 0.2 * x, 1 m cells, EPSG:27700."""
    import rasterio
    from rasterio.transform import from_origin

    xs = np.arange(-300, 300) + 0.5
    z = np.tile(0.2 * xs, (600, 1)).astype("float32")
    path = tmp_path / "slope.tif"
    with rasterio.open(path, "w", driver="GTiff", width=600, height=600, count=1, dtype="float32",
                       crs="EPSG:27700", transform=from_origin(-300, 300, 1, 1), nodata=-9999) as ds:
        ds.write(z, 1)
    return path


def test_dtm_slope(slope_dtm):
    dtm = DtmSampler(slope_dtm)
    assert dtm.height(np.array([10.0]), np.array([0.0]))[0] == pytest.approx(2.0, abs=1e-4)
    fp = footprints(0, 0, 100.0, 0.0, -90.0, 0.0, 60.0, 60.0, ground=dtm)
    c = fp.corners[0]
    # each corner ray: x = s * t, z = 100 - t (s = +-tan 30); meets z = 0.2 x at t = 100 / (1 + 0.2 s)
    s = math.tan(math.radians(30))
    x_east = s * 100 / (1 + 0.2 * s)
    x_west = -s * 100 / (1 - 0.2 * s)
    assert c[1, 0] == pytest.approx(x_east, abs=0.02)   # top-right
    assert c[0, 0] == pytest.approx(x_west, abs=0.02)   # top-left
    assert c[1, 2] == pytest.approx(0.2 * x_east, abs=0.02)
    assert fp.hit.all()
    # uphill side shorter than downhill side: footprint narrower to the east than flat ground
    flat = camera_footprint(0, 0, 100.0, 0.0, -90.0, 0.0, 60.0, 60.0, ground=0.0)
    assert fp[0].bounds[2] < flat.bounds[2] and fp[0].bounds[0] < flat.bounds[0]


def test_dtm_outside_uses_fill(slope_dtm):
    dtm = DtmSampler(slope_dtm, fill=-5.0)
    assert dtm.height(np.array([1000.0]), np.array([0.0]))[0] == -5.0


def test_35mm_bases_agree_for_3_2():
    d = fov_from_focal_35mm(24.0, 1.5)
    w = fov_from_focal_35mm(24.0, 1.5, basis="width")
    assert d == pytest.approx(w)
    assert fov_from_focal_35mm(24.0, 16 / 9, basis="width")[0] == pytest.approx(2 * math.degrees(math.atan(0.75)))


def test_camera_table_lookup_and_user_override(tmp_path, monkeypatch):
    from gis_desk.analysis.footprint import find_camera, user_camera_table, user_camera_table_path

    table = user_camera_table()
    p3 = find_camera("FC300S\x00\x00", 4000, 2250, table)
    assert p3.key == "FC300S"
    h, v = p3.fov(4000, 2250)
    assert h == pytest.approx(2 * math.degrees(math.atan(6.17 / (2 * 3.61))))
    assert math.tan(math.radians(v / 2)) == pytest.approx(math.tan(math.radians(h / 2)) * 2250 / 4000)
    assert find_camera("fc300x", table=table).key == "FC300S"  # alias, any case
    # the XT2 writes "XT2" on thermal TIFFs and visual JPEGs: the image size picks the camera
    assert find_camera("XT2", 640, 512, table).key == "XT2"
    assert find_camera("XT2", 4000, 3000, table).key == "XT2 visual"
    h, v = find_camera("XT2", 640, 512, table).fov(640, 512)
    assert h == pytest.approx(45.4, abs=0.1) and v == pytest.approx(37.0, abs=0.1)
    assert find_camera("No Such Cam", table=table) is None
    # the user's own table adds cameras and overrides fields
    user_camera_table_path().write_text("MyCam:\n  focal_35mm: 35\n  image_px: [3000, 2000]\n"
                                        "fc300s:\n  focal_mm: 4.0\n", encoding="utf-8")
    table = user_camera_table()
    assert find_camera("MyCam", table=table).fov()[0] == pytest.approx(2 * math.degrees(math.atan(18 / 35)))
    assert find_camera("FC300S", table=table).focal_mm == 4.0
    assert find_camera("FC300S", table=table).sensor_mm == (6.17, 4.55)
    user_camera_table_path().write_text("MyCam: [1, 2]\n", encoding="utf-8")
    from gis_desk.errors import DataError

    with pytest.raises(DataError, match="cameras.yaml"):
        user_camera_table()
