"""The planning officer's walk-through on the sample drone site (sample_surveys/drone): open the
footage, play, watch the marker and footprint, click the track, and check that the footprint
drawn on the map is the ground the video frame really shows (the clip was rendered from the
ortho with the camera the SRT describes)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QPointF

from drone_gui_fixtures import wait_frame

SITE = Path(__file__).resolve().parents[3] / "sample_surveys" / "drone"


@pytest.fixture
def site_footage(drone, qtbot):
    srt, video = SITE / "site_flight.SRT", SITE / "site_flight.mp4"
    if not (srt.exists() and video.exists()):
        pytest.skip(f"the sample clip is not built yet ({srt.name} + {video.name} in {SITE})")
    [layer] = drone.window.session.open(srt, reader="builtins.read_footage")
    assert Path(layer.video_path) == video
    drone.set_footage(layer)
    drone.show_player()
    drone.window.canvas.zoom_to_layer(layer)
    wait_frame(qtbot, drone.player, 0)
    return layer


def _ortho_rgb_at(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    import rasterio

    with rasterio.open(SITE / "site_ortho.tif") as src:
        rows, cols = rasterio.transform.rowcol(src.transform, x, y)
        data = src.read()
    rows, cols = np.clip(rows, 0, data.shape[1] - 1), np.clip(cols, 0, data.shape[2] - 1)
    return data[:, rows, cols].T.astype(float)


def _footprint_matches_frame(drone, layer, rgb: np.ndarray, position: dict, fp) -> float:
    """Correlation between the frame's pixels and the ortho at the ground points the overlay's
    camera model puts under them (points spread over the footprint)."""
    from gis_desk.analysis.footprint import fov_from_focal_35mm, ground_to_image
    from gis_desk.qt.drone.overlay import focal_35_of, heading_of

    h, w = rgb.shape[:2]
    hfov, vfov = fov_from_focal_35mm(focal_35_of(layer, position), w / h)
    xmin, ymin, xmax, ymax = fp.bounds
    gx, gy = np.meshgrid(np.linspace(xmin, xmax, 60), np.linspace(ymin, ymax, 60))
    gx, gy = gx.ravel(), gy.ravel()
    u, v, front = ground_to_image(gx, gy, np.zeros_like(gx), position["x"], position["y"], position["rel_alt"],
                                  heading_of(position), position["gimbal_pitch"], position.get("gimbal_roll") or 0.0,
                                  hfov, vfov)
    inside = front & (np.abs(u) < 0.95) & (np.abs(v) < 0.95)
    cols = ((u[inside] + 1) / 2 * w).astype(int).clip(0, w - 1)
    rows = ((1 - v[inside]) / 2 * h).astype(int).clip(0, h - 1)
    seen = rgb[rows, cols].astype(float).mean(axis=1)
    truth = _ortho_rgb_at(gx[inside], gy[inside]).mean(axis=1)
    return float(np.corrcoef(seen, truth)[0, 1])


def test_sample_clip_marker_footprint_and_seek(drone, site_footage, qtbot):
    player, canvas = drone.player, drone.window.canvas
    assert player.has_video and player.decoder.reader.width == 640
    # the take-off climb (straight up, camera nadir): the footprint grows with the height squared
    area0, alt0 = drone.last_footprint.area, drone.overlay.position["rel_alt"]
    player.seek_index(60)
    wait_frame(qtbot, player, 60)
    ratio = drone.last_footprint.area / area0
    assert ratio == pytest.approx((drone.overlay.position["rel_alt"] / alt0) ** 2, rel=0.02) and ratio > 4
    # play a moment at 4x once it flies off: frames advance and the marker moves along the track
    player.seek_index(180)
    wait_frame(qtbot, player, 180)
    start = drone.overlay.position["x"], drone.overlay.position["y"]
    player.set_speed(4.0)
    player.play()
    qtbot.waitUntil(lambda: player.current_index >= 260, timeout=10000)
    player.pause()
    moved = np.hypot(drone.overlay.position["x"] - start[0], drone.overlay.position["y"] - start[1])
    assert moved > 10.0
    # click the track two thirds of the way along: the video jumps to that moment
    frame = site_footage.dataset.frame
    k = 2 * len(frame) // 3
    x, y = float(frame.geometry.x.iloc[k]), float(frame.geometry.y.iloc[k])
    px, py = canvas.viewport.world_to_pixel(x, y)
    t = drone.seek_tool.click_at(QPointF(float(px), float(py)))
    assert t is not None
    wait_frame(qtbot, player)
    position = drone.overlay.position
    assert np.hypot(position["x"] - x, position["y"] - y) < 3 * canvas.viewport.pixel_size + 0.5
    # the footprint on the map is what the frame shows; a footprint turned 90 degrees is not
    fp = drone.last_footprint
    assert fp is not None and fp.area > 100
    score = _footprint_matches_frame(drone, site_footage, player.current_rgb, position, fp)
    turned = dict(position, gimbal_yaw=(position.get("gimbal_yaw") or 0.0) + 90.0)
    wrong = _footprint_matches_frame(drone, site_footage, player.current_rgb, turned, fp)
    assert score > 0.6 and score > wrong + 0.3, (score, wrong)


def test_sample_clip_footprint_on_the_site_dtm(drone, site_footage, qtbot):
    dtm = SITE / "site_dtm.tif"
    flat = drone.last_footprint
    drone.window.session.open(dtm)
    assert drone.terrain_layer() is not None
    drone.player.seek_index(1)
    wait_frame(qtbot, drone.player, 1)
    drone.player.seek_index(0)
    wait_frame(qtbot, drone.player, 0)
    on_dtm = drone.last_footprint
    # Trafford is flat: laid on its terrain model the footprint barely changes
    assert on_dtm is not None and on_dtm.intersection(flat).area / on_dtm.union(flat).area > 0.8
