"""The sample clip (sample_surveys/drone/site_flight.mp4 + .SRT): the SRT reads as one cue per
video frame, the track lies over the ortho, and each decoded frame shows the ground the SRT's
camera points at (checked with an independent pinhole calculation, not the generator's code)."""

from __future__ import annotations

import importlib.util
import math
import sys
from pathlib import Path

import numpy as np
import pytest

from gis_desk.io.telemetry import read_footage

SAMPLES = Path(__file__).resolve().parents[3] / "sample_surveys"
SITE = SAMPLES / "drone"
APP_SITE_LOCAL = (165.0, 160.0, 255.0, 245.0)     # the fenced plot, metres from the SW corner
X0, Y0 = 378050.0, 393850.0


@pytest.fixture(scope="module")
def clip():
    srt, mp4 = SITE / "site_flight.SRT", SITE / "site_flight.mp4"
    if not (srt.exists() and mp4.exists()):
        pytest.skip(f"sample clip not built: run sample_surveys/make_drone_site.py ({SITE})")
    [ds] = read_footage(srt)
    return ds


def _generator():
    spec = importlib.util.spec_from_file_location("make_drone_site_for_tests", SAMPLES / "make_drone_site.py")
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod            # dataclasses look their module up while building
    try:
        spec.loader.exec_module(mod)
    finally:
        sys.modules.pop(spec.name, None)
    return mod


def _ortho():
    ortho = SITE / "site_ortho.tif"
    if not ortho.exists():
        pytest.skip(f"{ortho} not built (git-ignored): run sample_surveys/make_drone_site.py --only site")
    return ortho


def test_one_cue_per_frame_over_the_site(clip):
    from gis_desk.io.video import VideoReader
    tel = clip.telemetry
    assert clip.video_path == str(SITE / "site_flight.mp4")
    with VideoReader(clip.video_path) as video:
        assert video.fps == pytest.approx(30.0) and (video.width, video.height) == (640, 360)
        assert len(tel) == video.frame_count == 720
        assert video.duration_s == pytest.approx(24.0)
    assert list(tel.frame) == list(range(1, 721)) and tel.problems == []
    assert np.diff(tel.time_s).mean() == pytest.approx(1 / 30, rel=1e-3)
    assert tel.format == "dji-per-frame" and tel.start_time == "2024-06-05T14:23:10.000"
    x, y = clip.xy[:, 0], clip.xy[:, 1]                   # the 300 m square the ortho covers
    assert (x > X0).all() and (x < X0 + 300).all() and (y > Y0).all() and (y < Y0 + 300).all()
    assert clip.crs.to_epsg() == 27700
    np.testing.assert_allclose(tel.abs_alt - tel.rel_alt, 31.0, atol=2e-3)   # take-off ground 31 m ODN
    assert np.nanmax(tel.rel_alt) <= 120.0 and np.nanmin(tel.gimbal_pitch) >= -90.0


def test_committed_srt_is_what_the_generator_writes(clip):
    gen = _generator()
    text = "".join(gen._srt_cue(r["frame"], r["t0_ms"], r["t1_ms"], r["when"], r["lat"], r["lon"], r["rel_alt"],
                                r["yaw"], r["pitch"], r["roll"]) for r in gen.flight_rows())
    assert text == (SITE / "site_flight.SRT").read_text(encoding="utf-8")


def _centre_ground(ds, k: int) -> tuple[float, float]:
    """Where the optical axis of frame k meets the flat ground rel_alt below the camera."""
    tel = ds.telemetry
    x, y = ds.xy[k]
    yaw, pitch = math.radians(tel.gimbal_yaw[k]), math.radians(tel.gimbal_pitch[k])
    reach = tel.rel_alt[k] / math.tan(-pitch)
    return x + reach * math.sin(yaw), y + reach * math.cos(yaw)


def test_frames_show_what_the_srt_camera_looks_at(clip):
    import rasterio

    from gis_desk.io.video import VideoReader
    with rasterio.open(_ortho()) as src:
        assert tuple(src.bounds) == (X0, Y0, X0 + 300, Y0 + 300)
        ortho = src.read().astype(float)
        index = src.index
    errors, shifted = [], []
    with VideoReader(clip.video_path) as video:
        for t in (9.0, 12.0, 14.0, 16.0, 18.0, 20.0, 22.0, 23.5):
            k, rgb = video.frame_at_time(t)
            assert k == int(round(t * 30))
            seen = rgb[176:185, 316:325].reshape(-1, 3).astype(float).mean(axis=0)
            gx, gy = _centre_ground(clip, k)
            for dx, out in ((0.0, errors), (-20.0, shifted)):   # the truth, and 28 m off it
                r, c = index(gx + dx, gy + dx)
                truth = ortho[:, r - 3:r + 4, c - 3:c + 4].reshape(3, -1).mean(axis=1)
                out.append(np.abs(seen - truth).max())
            if 12.0 <= t <= 22.0:
                # the orbit: the camera looks at the application site, bare earth fills the frame centre
                lx, ly = gx - X0, gy - Y0
                ax0, ay0, ax1, ay1 = APP_SITE_LOCAL
                assert ax0 < lx < ax1 and ay0 < ly < ay1, (t, lx, ly)
                assert seen[0] > seen[1] > seen[2], (t, seen)
    assert max(errors) < 20.0, errors
    assert np.median(shifted) > 2 * np.median(errors)
