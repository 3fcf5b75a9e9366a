"""Every real DJI SRT in the shared data parses with the right positions.

Expected values were read by eye from the raw file text (first and last cue), or from what the
source repository documents about its own fixture (telemetry-studio's SRT format notes quote
the first cue: latitude 51.118062, longitude 88.083302, rel_alt 20.000, abs_alt 864.309; ODM's
SRT parser documents the WebODM fixture line ``GPS (-82.6669, 27.7716, 10)`` as longitude,
latitude), never from this parser's output.
"""

from __future__ import annotations

import numpy as np
import pytest

from gis_desk.io.srt import read_srt
from gis_desk.io.telemetry import read_footage

# file -> (format, cues, last cue start s, first (lat, lon, rel_alt, abs_alt), last (...))
NAN = float("nan")
EXPECTED = {
    "dji_srt/dji_srt2gpx/DJI.SRT": (
        "dji-per-frame", 7, 0.200, (49.379442, 15.032166, 43.225, 758.949), (49.379443, 15.032166, 43.220, 758.943)),
    "dji_srt/dji_srt2gpx/DJI_M300RTK.SRT": (
        "dji-per-frame", 7, 0.200, (49.125749, 14.634775, 54.821, 535.407), (49.125749, 14.634775, 54.876, 535.462)),
    "dji_srt/dji_srt2gpx/DJI_MAVIC.SRT": (
        "dji-bracketed", 16, 0.500, (49.100000, 15.100000, 0.0, 752.222), (49.100015, 15.100000, 0.0, 752.222)),
    "dji_srt/dji_srt2gpx/DJI_MAVIC_2_ZOOM.SRT": (
        "dji-bracketed", 10, 0.300, (49.128078, 14.635573, NAN, 457.871002), (49.128078, 14.635573, NAN, 457.871002)),
    "dji_srt/dji_srt2gpx/DJI_MAVIC_3T.SRT": (
        "dji-per-frame", 12, 0.466, (50.106373, 14.495168, 80.504, 327.094), (50.106374, 14.495168, 80.503, 327.093)),
    "dji_srt/dji_srt2gpx/DJI_MAVIC_ENTERPRISE.SRT": (
        "dji-bracketed", 10, 0.359, (49.129338, 14.637413, NAN, 499.411011), (49.129337, 14.637423, NAN, 499.329010)),
    "dji_srt/dji_srt2gpx/DJI_MAVIC_ENTERPRISE_ADVANCED.SRT": (
        "dji-bracketed", 10, 0.300, (49.128048, 14.635630, 4.134, 485.386), (49.128048, 14.635630, 4.130, 485.382)),
    "dji_srt/telemetry-studio/DJI_20250723102139_0001_D.SRT": (
        "dji-per-frame", 93, 3.069, (51.118062, 88.083302, 20.0, 864.309), (51.118062, 88.083304, 20.0, 864.309)),
    "odm_outputs/webodm_fixtures/video.srt": (
        "dji-legacy-gps", 3, 2.0, (27.7716, -82.6669, 0.0, NAN), (27.7716, -82.6669, 0.0, NAN)),
}


def _check_row(tel, i, expected):
    lat, lon, rel, alt = expected
    assert tel.lat[i] == pytest.approx(lat, abs=1e-9)
    assert tel.lon[i] == pytest.approx(lon, abs=1e-9)
    for got, want in ((tel.rel_alt[i], rel), (tel.abs_alt[i], alt)):
        if np.isnan(want):
            assert np.isnan(got)
        else:
            assert got == pytest.approx(want, abs=1e-6)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_real_srt_positions(real_data, name):
    path = real_data / name
    if not path.exists():
        pytest.skip(f"{path} is not in the shared real data")
    fmt, n, last_t, first, last = EXPECTED[name]
    raw = path.read_text(encoding="utf-8", errors="replace")
    assert raw.count("-->") == n                      # cue count straight from the text
    tel = read_srt(path)
    assert tel.format == fmt
    assert len(tel) == n and tel.problems == []
    assert tel.time_s[0] == 0.0 and tel.time_s[-1] == pytest.approx(last_t, abs=1e-9)
    assert np.all(np.diff(tel.time_s) > 0)
    _check_row(tel, 0, first)
    _check_row(tel, -1, last)
    assert list(tel.frame) == list(range(1, n + 1))


def test_real_srt_attitude_and_camera(real_data):
    folder = real_data / "dji_srt" / "dji_srt2gpx"
    if not folder.exists():
        pytest.skip("dji_srt2gpx SRTs not in the shared real data")
    dji = read_srt(folder / "DJI.SRT")
    # first cue: [drone_yaw: -0.7 drone_pitch: -1.2 drone_roll: 2.7] [gb_yaw: -8.6 gb_pitch: -86.7 gb_roll: 0.0]
    assert (dji.flight_yaw[0], dji.flight_pitch[0], dji.flight_roll[0]) == (-0.7, -1.2, 2.7)
    assert (dji.gimbal_yaw[0], dji.gimbal_pitch[0], dji.gimbal_roll[0]) == (-8.6, -86.7, 0.0)
    assert dji.focal_len_35mm[0] == 24.0 and dji.extras["fnum"][0] == 2.8 and dji.extras["iso"][0] == 110
    assert dji.extras["shutter_s"][0] == pytest.approx(1 / 200)
    assert dji.start_time == "2024-04-23T14:04:07.002"
    # Mavic 2 style: [Drone: Yaw:30.6, Pitch:3.0, Roll:-0.5], fnum : 280 = f/2.8, focal_len : 240 = 24 mm
    mavic = read_srt(folder / "DJI_MAVIC.SRT")
    assert (mavic.flight_yaw[0], mavic.flight_pitch[0], mavic.flight_roll[0]) == (30.6, 3.0, -0.5)
    assert mavic.extras["fnum"][0] == pytest.approx(2.8) and mavic.focal_len_35mm[0] == pytest.approx(24.0)
    assert any("longtitude" in n for n in mavic.notes)
    # M300 RTK: gimbal tilted -12.5 (oblique), focal_len 47.00
    m300 = read_srt(folder / "DJI_M300RTK.SRT")
    assert m300.gimbal_pitch[0] == -12.5 and m300.gimbal_yaw[0] == -75.6 and m300.focal_len_35mm[0] == 47.0
    # Mavic Enterprise: DiffTime 39/40 ms cues, timing 0.039 s apart
    ent = read_srt(folder / "DJI_MAVIC_ENTERPRISE.SRT")
    assert ent.time_s[1] == pytest.approx(0.039) and ent.extras["diff_ms"][1] == 40.0


def test_real_legacy_srt_reads_longitude_first(real_data):
    path = real_data / "odm_outputs" / "webodm_fixtures" / "video.srt"
    if not path.exists():
        pytest.skip("WebODM video.srt not in the shared real data")
    tel = read_srt(path)
    # GPS (-82.6669, 27.7716, 10): St Petersburg, Florida; never (lat -82.67, lon 27.77) in Antarctica
    assert tel.lat[0] == pytest.approx(27.7716) and tel.lon[0] == pytest.approx(-82.6669)
    assert any("longitude, latitude" in n for n in tel.notes)
    assert list(tel.extras["distance_from_home"]) == [2.80, 2.84, 2.84]     # D 2.80m, D 2.84m
    assert tel.extras["fnum"][0] == 2.8 and tel.extras["iso"][0] == 150


@pytest.mark.parametrize("name,epsg", [("dji_srt/dji_srt2gpx/DJI.SRT", 32633),
                                       ("dji_srt/telemetry-studio/DJI_20250723102139_0001_D.SRT", 32645)])
def test_real_srt_as_footage_layer_data(real_data, name, epsg):
    path = real_data / name
    if not path.exists():
        pytest.skip(f"{path} is not in the shared real data")
    [ds] = read_footage(path)
    # outside Great Britain the track goes to its UTM zone (metric, for footprints/distances)
    assert ds.crs.to_epsg() == epsg
    assert len(ds.frame) == len(ds.telemetry)
    assert ds.video_path is None        # the repositories ship the SRT without its video
    from pyproj import Transformer
    back = Transformer.from_crs(ds.crs, "EPSG:4326", always_xy=True)
    lon, lat = back.transform(ds.xy[0, 0], ds.xy[0, 1])
    assert lat == pytest.approx(ds.telemetry.lat[0], abs=1e-8) and lon == pytest.approx(ds.telemetry.lon[0], abs=1e-8)
