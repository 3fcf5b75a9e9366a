"""The footage renderer draws the track where it is, coloured along the ramp by time or height,
with the take-off symbol; legend and identify of footage layers."""

from __future__ import annotations

import numpy as np
import pytest

import gis_desk.render.footage  # noqa: F401  (registers renderer, legend, identify)
from footage_fixtures import E0, N0, VE, VN, write_track_srt
from gis_desk.core.footage import FootageStyle
from gis_desk.core.legend import legend_entries
from gis_desk.core.ramps import ramp_lut
from gis_desk.render.renderer import render_layer
from gis_desk.render.viewport import Viewport


@pytest.fixture
def layer(session, tmp_path):
    [lyr] = session.open(write_track_srt(tmp_path / "DJI_0002.SRT"))
    return lyr


def view(width=400, height=300, crs="EPSG:27700"):
    # the track runs from (E0, N0) 40 m east and 30 m north; a 100 x 75 m view round it
    return Viewport((E0 - 30, N0 - 22.5, E0 + 70, N0 + 52.5), width, height, crs)


def pixel_at(img, vp, t):
    px, py = vp.world_to_pixel(E0 + VE * t, N0 + VN * t)
    return img[int(round(float(py))), int(round(float(px)))]


def near(rgb, expected, tol=40):
    return np.abs(rgb[:3].astype(int) - np.asarray(expected[:3], int)).max() <= tol


def test_track_drawn_along_its_path_coloured_by_time(layer):
    layer.style = FootageStyle(colour_by="time", ramp="viridis", takeoff_marker=False, halo=None, line_width=4)
    vp = view()
    img = render_layer(layer, vp)
    assert img is not None and img.shape == (300, 400, 4)
    lut = ramp_lut("viridis")
    for t in (1.0, 3.0, 5.0, 7.0, 9.0):
        rgba = pixel_at(img, vp, t)
        assert rgba[3] == 255
        assert near(rgba, lut[int(round(t / 10.0 * 255))]), (t, rgba)
    # nothing drawn away from the track: e.g. 15 m to the side of its middle
    px, py = vp.world_to_pixel(E0 + VE * 5 - 9, N0 + VN * 5 + 12)
    assert img[int(py), int(px), 3] == 0
    assert (img[..., 3] > 0).mean() < 0.05


def test_colour_by_height_and_sync_offset_in_legend(layer):
    layer.style = FootageStyle(colour_by="height", ramp="magma", takeoff_marker=False, halo=None)
    vp = view()
    img = render_layer(layer, vp)
    lut = ramp_lut("magma")
    # heights run 10 -> 30 m: t = 7.5 s is 25 m, 3/4 of the ramp
    assert near(pixel_at(img, vp, 7.5), lut[int(round(0.75 * 255))])
    [ramp, ] = legend_entries(layer)
    assert (ramp.shape, ramp.vmin, ramp.vmax, ramp.ramp) == ("ramp", 10.0, 30.0, "magma")
    assert "take-off" in ramp.label
    layer.style = FootageStyle(colour_by="time")
    layer.sync_offset_s = 2.0
    entries = legend_entries(layer)
    assert (entries[0].vmin, entries[0].vmax) == (2.0, 12.0) and "Video time" in entries[0].label
    assert entries[1].label == "Take-off" and entries[1].shape == "point"
    layer.style = FootageStyle(colour_by="none", colour="#00ff00ff")
    assert legend_entries(layer)[0].shape == "line"


def test_takeoff_symbol_and_single_colour(layer):
    layer.style = FootageStyle(colour_by="none", colour="#0000ffff", takeoff_marker=True, halo=None,
                               takeoff_colour="#ff0000ff")
    vp = view()
    img = render_layer(layer, vp)
    # the square's corner (5 px from the first fix, away from the track) is red; the mid track is blue
    px, py = vp.world_to_pixel(E0, N0)
    assert near(img[int(py) + 5, int(px) - 5], (255, 0, 0))
    assert near(pixel_at(img, vp, 6.0), (0, 0, 255))


def test_direction_ticks_and_points_draw_more(layer):
    vp = view()
    layer.style = FootageStyle(takeoff_marker=False)
    plain = (render_layer(layer, vp)[..., 3] > 0).sum()
    layer.style = FootageStyle(takeoff_marker=False, direction_ticks=True, tick_spacing_px=40, show_points=True,
                               point_size=6)
    assert (render_layer(layer, vp)[..., 3] > 0).sum() > plain


def test_other_crs_and_out_of_view(layer):
    from pyproj import Transformer
    to = Transformer.from_crs("EPSG:27700", "EPSG:3857", always_xy=True)
    x0, y0 = to.transform(E0 - 30, N0 - 22.5)
    x1, y1 = to.transform(E0 + 70, N0 + 52.5)
    vp = Viewport((x0, y0, x1, y1), 400, 300, "EPSG:3857")
    layer.style = FootageStyle(takeoff_marker=False, halo=None)
    img = render_layer(layer, vp)
    mx, my = to.transform(E0 + VE * 5, N0 + VN * 5)
    px, py = vp.world_to_pixel(mx, my)
    assert img[int(round(float(py))), int(round(float(px))), 3] == 255
    far = Viewport((E0 + 5000, N0, E0 + 5100, N0 + 75), 400, 300, "EPSG:27700")
    assert render_layer(layer, far) is None


def test_large_track_renders(tmp_path, session):
    # 3,000 points (5 min) in a small view: the thinning keeps the drawing sane and still complete
    [lyr] = session.open(write_track_srt(tmp_path / "long.SRT", n=3000))
    assert len(lyr.telemetry) == 3000 and lyr.telemetry.time_s[-1] == pytest.approx(299.9)
    vp = Viewport((E0 - 10, N0 - 10, E0 + 1300, N0 + 1000), 200, 150, "EPSG:27700")
    img = render_layer(lyr, vp)
    end = vp.world_to_pixel(E0 + VE * 299.9, N0 + VN * 299.9)
    assert img[int(round(float(end[1]))), int(round(float(end[0]))), 3] > 0


def test_identify_returns_time_height_attitude(session, layer):
    from gis_desk.analysis.identify import identify
    layer.sync_offset_s = 0.5
    [hit] = identify(session.project, E0 + VE * 4.0 + 0.3, N0 + VN * 4.0, 2.0, layers=[layer])
    a = hit.attributes
    assert hit.feature_id == 40 and a["frame"] == 41
    assert a["telemetry_time_s"] == 4.0 and a["video_time_s"] == 4.5 and a["timecode"] == "0:00:04.500"
    assert a["rel_alt"] == pytest.approx(18.0) and a["height_above_takeoff_m"] == pytest.approx(18.0)
    assert a["gimbal_pitch"] == -60.0 and a["gimbal_yaw"] == 53.1
    assert identify(session.project, E0 - 50, N0 - 50, 2.0, layers=[layer]) == []
