"""Synthetic SRTs of each DJI generation with known values, coordinate-order detection, and
damaged files (keep what is valid, list the rest; nothing valid -> a typed error naming the file)."""

from __future__ import annotations

import numpy as np
import pytest

from gis_desk.errors import CorruptFileError, DataError, MissingFileError
from gis_desk.io.srt import decide_lon_first, parse_srt_text, read_srt


def cue(i: int, body: str, step_ms: int = 1000) -> str:
    def tc(ms):
        return f"{ms // 3600000:02d}:{ms // 60000 % 60:02d}:{ms // 1000 % 60:02d},{ms % 1000:03d}"
    return f"{i}\n{tc((i - 1) * step_ms)} --> {tc(i * step_ms)}\n{body}\n\n"


def write(tmp_path, text: str, name: str = "DJI_0001.SRT"):
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


def test_legacy_gps_lon_first_with_home_and_barometer(tmp_path):
    # Phantom 3 style, the first pair > 90 so it can only be a longitude (eastern Australia).
    text = "".join(cue(i, f"HOME(149.0251,-20.2532) 2017.08.05 14:12:0{i}\nGPS(149.{251 + i:04d},-20.2532,27) "
                          f"BAROMETER:{10.0 + i:.1f}\nISO:100 Shutter:60 EV: Fnum:2.2") for i in range(1, 4))
    tel = read_srt(write(tmp_path, text))
    assert tel.format == "dji-legacy-gps" and len(tel) == 3
    np.testing.assert_allclose(tel.lon, [149.0252, 149.0253, 149.0254])
    np.testing.assert_allclose(tel.lat, [-20.2532] * 3)
    np.testing.assert_allclose(tel.rel_alt, [11.0, 12.0, 13.0])          # BAROMETER = height above take-off
    np.testing.assert_allclose(tel.time_s, [0.0, 1.0, 2.0])
    assert tel.home == (-20.2532, 149.0251)                              # (lat, lon)
    assert tel.start_time == "2017-08-05T14:12:01"
    assert tel.extras["fnum"][0] == 2.2 and tel.extras["iso"][0] == 100
    assert "satellites" in tel.extras                                  # ',27)' is a count, not a height


def test_legacy_gps_order_in_great_britain(tmp_path):
    # Trafford: lon -2.31, lat 53.45; both numbers < 90 so only the place decides.
    lon_first = "".join(cue(i, f"F/2.8, SS 206.14, ISO 150, EV 0, GPS (-2.{3100 + i}, 53.4500, 15), D {i}.00m, "
                               f"H {5 * i}.00m, H.S 1.00m/s, V.S 0.50m/s") for i in range(1, 5))
    tel = parse_srt_text(lon_first, "lon_first.srt")
    np.testing.assert_allclose(tel.lat, [53.45] * 4)
    np.testing.assert_allclose(tel.lon, [-2.3101, -2.3102, -2.3103, -2.3104])
    np.testing.assert_allclose(tel.rel_alt, [5, 10, 15, 20])            # 'H 5.00m'
    np.testing.assert_allclose(tel.extras["distance_from_home"], [1, 2, 3, 4])
    np.testing.assert_allclose(tel.extras["h_speed"], [1.0] * 4)
    assert any("Great Britain" in n for n in tel.notes)
    lat_first = lon_first.replace("GPS (-2.31", "GPS (53.4500, -2.31").replace(", 53.4500, 15)", ", 15)")
    tel2 = parse_srt_text(lat_first, "lat_first.srt")
    np.testing.assert_allclose(tel2.lat, tel.lat)
    np.testing.assert_allclose(tel2.lon, tel.lon)
    assert any("latitude, longitude" in n for n in tel2.notes)


def test_decide_lon_first_rules():
    a, b = np.array([-82.6669]), np.array([27.7716])
    assert decide_lon_first(a, b)[0] is True          # 'latitude' -82.7 would be Antarctica
    assert decide_lon_first(b, a)[0] is False
    assert decide_lon_first(np.array([120.1]), np.array([30.2]))[0] is True
    assert decide_lon_first(np.array([30.2]), np.array([120.1]))[0] is False
    # values fit either order (lat 10, lon 20 / lat 20, lon 10): HOME breaks the tie, then the default
    assert decide_lon_first(np.array([10.0]), np.array([20.0]), home=(10.0, 95.0))[0] is False
    assert decide_lon_first(np.array([10.0]), np.array([20.0]))[0] is True


def test_p4rtk_attitude(tmp_path):
    body = ("F/2.8, SS 500, ISO 100, EV 0, DZOOM 1.000, GPS (8.6533, 47.3512, 21), D 1.20m, H {h}m, "
            "H.S 0.00m/s, V.S 0.00m/s, F.PRY (-1.8°, 1.4°, {fy}°), G.PRY (-90.0°, 0.0°, {gy}°)")
    text = "".join(cue(i, body.format(h=f"{1.4 * i:.2f}", fy=140.0 + i, gy=141.0 + i), step_ms=33) for i in (1, 2))
    tel = read_srt(write(tmp_path, text))
    assert tel.format == "p4rtk"
    assert tel.lat[0] == pytest.approx(47.3512) and tel.lon[0] == pytest.approx(8.6533)
    np.testing.assert_allclose(tel.flight_yaw, [141.0, 142.0])
    np.testing.assert_allclose(tel.flight_pitch, [-1.8, -1.8])
    np.testing.assert_allclose(tel.flight_roll, [1.4, 1.4])
    np.testing.assert_allclose(tel.gimbal_pitch, [-90.0, -90.0])        # straight down
    np.testing.assert_allclose(tel.gimbal_yaw, [142.0, 143.0])
    np.testing.assert_allclose(tel.rel_alt, [1.4, 2.8])
    np.testing.assert_allclose(tel.time_s, [0.0, 0.033])


def test_bracketed_longtitude_and_altitude(tmp_path):
    body = ('<font size="36">SrtCnt : {i}, DiffTime : 33ms\n2023-01-06 18:56:48,{ms:03d},821\n'
            "[iso : 3200] [shutter : 1/60.0] [fnum : 280] [ev : 0] [ct : 3925] [color_md : default] "
            "[focal_len : 240] [latitude : 53.4{i}] [longtitude : -2.3{i}] [altitude: 4{i}.5] </font>")
    text = "".join(cue(i, body.format(i=i, ms=33 * i), step_ms=33) for i in (1, 2, 3))
    tel = read_srt(write(tmp_path, text))
    assert tel.format == "dji-bracketed"
    np.testing.assert_allclose(tel.lat, [53.41, 53.42, 53.43])
    np.testing.assert_allclose(tel.lon, [-2.31, -2.32, -2.33])
    np.testing.assert_allclose(tel.abs_alt, [41.5, 42.5, 43.5])
    assert np.isnan(tel.rel_alt).all()          # [altitude] is not height above take-off
    assert list(tel.frame) == [1, 2, 3]         # SrtCnt
    assert tel.focal_len_35mm[0] == pytest.approx(24.0) and tel.extras["fnum"][0] == pytest.approx(2.8)


def test_per_frame_gimbal_and_heights():
    body = ('<font size="28">FrameCnt: {i}, DiffTime: 33ms\n2024-06-05 14:23:10.{ms:03d}\n'
            "[iso: 100] [shutter: 1/500.0] [fnum: 2.8] [ev: 0] [focal_len: 24.00] [latitude: 53.4450{i}] "
            "[longitude: -2.3050{i}] [rel_alt: {r:.3f} abs_alt: {a:.3f}] [gb_yaw: {gy} gb_pitch: -45.5 gb_roll: 0.1] "
            "</font>")
    text = "".join(cue(i, body.format(i=i, ms=33 * (i - 1), r=50 + i, a=81 + i, gy=170 + 5 * i), step_ms=33)
                   for i in (1, 2, 3))
    tel = parse_srt_text(text)
    assert tel.format == "dji-per-frame"
    np.testing.assert_allclose(tel.rel_alt, [51, 52, 53])
    np.testing.assert_allclose(tel.abs_alt, [82, 83, 84])
    np.testing.assert_allclose(tel.gimbal_yaw, [175, 180, 185])
    np.testing.assert_allclose(tel.gimbal_pitch, [-45.5] * 3)
    # yaw interpolated the short way round across +-180
    s = tel.sample_at(0.033 * 1.5)
    assert abs(s["gimbal_yaw"]) == pytest.approx(177.5) or s["gimbal_yaw"] == pytest.approx(-177.5)
    assert s["rel_alt"] == pytest.approx(52.5)
    assert s["lat"] == pytest.approx((53.44502 + 53.44503) / 2)


def test_crlf_bom_and_utf16(tmp_path):
    body = "[latitude: 53.1] [longitude: -2.1] [rel_alt: 10.000 abs_alt: 40.000]"
    text = "\ufeff" + "".join(cue(i, body) for i in (1, 2)).replace("\n", "\r\n")
    p = tmp_path / "crlf.SRT"
    p.write_bytes(text.encode("utf-8"))
    assert len(read_srt(p)) == 2
    p16 = tmp_path / "utf16.SRT"
    p16.write_bytes(text.encode("utf-16"))
    assert read_srt(p16).lat[1] == pytest.approx(53.1)


# --- damaged files --------------------------------------------------------------------------

BODY = "[latitude: 53.{i:04d}] [longitude: -2.{i:04d}] [rel_alt: {i}.000 abs_alt: 3{i}.000]"


def test_missing_and_zero_positions_are_skipped_and_listed(tmp_path):
    cues = []
    for i in range(1, 11):
        if i == 4:
            body = "[rel_alt: 4.000 abs_alt: 34.000]"                              # no position
        elif i in (6, 7):
            body = "[latitude: 0.000000] [longitude: 0.000000] [rel_alt: 0.0 abs_alt: 0.0]"   # no fix
        else:
            body = BODY.format(i=i)
        cues.append(cue(i, f"FrameCnt: {i}, DiffTime: 33ms\n{body}", step_ms=33))
    tel = read_srt(write(tmp_path, "".join(cues)))
    assert list(tel.frame) == [1, 2, 3, 5, 8, 9, 10]
    np.testing.assert_allclose(tel.lat, [53.0001, 53.0002, 53.0003, 53.0005, 53.0008, 53.0009, 53.0010])
    np.testing.assert_allclose(tel.rel_alt, [1, 2, 3, 5, 8, 9, 10])
    text = " | ".join(tel.problems)
    assert "cues 6-7: no GPS fix" in text and "cue 4: no valid position" in text


def test_truncated_file_keeps_the_complete_cues(tmp_path):
    full = "".join(cue(i, f"FrameCnt: {i}, DiffTime: 33ms\n" + BODY.format(i=i), step_ms=33) for i in range(1, 6))
    cut = full[:full.rindex("[latitude") + len("[latitude: 53.00")]     # stops inside cue 5's position
    tel = read_srt(write(tmp_path, cut))
    assert list(tel.frame) == [1, 2, 3, 4]
    assert any("ends mid-cue 5" in p for p in tel.problems)
    # a cut inside the last timing line: cues 1-4 are still read
    cut2 = full[:full.rindex("00:00:00,1")]
    assert len(read_srt(write(tmp_path, cut2, "cut2.SRT"))) == 4


def test_nothing_valid_raises_typed_errors_naming_the_file(tmp_path):
    empty = write(tmp_path, "", "empty.SRT")
    with pytest.raises(DataError) as e:
        read_srt(empty)
    assert e.value.path == str(empty) and "empty" in e.value.message
    no_cues = write(tmp_path, "hello\nworld\n", "words.SRT")
    with pytest.raises(DataError, match="no subtitle cues"):
        read_srt(no_cues)
    no_pos = write(tmp_path, "".join(cue(i, "[iso: 100] [shutter: 1/50.0]") for i in (1, 2)), "nopos.SRT")
    with pytest.raises(DataError, match="none gives a position") as e:
        read_srt(no_pos)
    assert e.value.path == str(no_pos)
    zeros = write(tmp_path, "".join(cue(i, "[latitude: 0.000000] [longitude: 0.000000]") for i in (1, 2)), "z.SRT")
    with pytest.raises(DataError, match="no valid position") as e:
        read_srt(zeros)
    assert "GPS fix" in (e.value.hint or "")
    binary = tmp_path / "video.SRT"
    binary.write_bytes(b"\x00\x00\x00\x18ftypmp42" + bytes(200))
    with pytest.raises(CorruptFileError):
        read_srt(binary)
    with pytest.raises(MissingFileError):
        read_srt(tmp_path / "absent.SRT")


def test_legacy_camera_fields():
    text = cue(1, "F/2.8, SS 206.14, ISO 150, EV 0, GPS (-2.5927, 52.0035, 15), D 0.61m, H 1.00m, H.S 0.00m/s, V.S 0.00m/s")
    tel = parse_srt_text(text)
    # ODM documents this line: longitude -2.5927, latitude 52.0035 (Herefordshire)
    assert (tel.lat[0], tel.lon[0]) == (52.0035, -2.5927)
    assert tel.extras["fnum"][0] == 2.8 and tel.extras["iso"][0] == 150
    assert tel.extras["shutter_s"][0] == pytest.approx(1 / 206.14)
    assert tel.rel_alt[0] == 1.0


def test_rtk_tuple_is_read_like_gps():
    # ODM documents 'RTK (lon, lat, alt)' as the RTK variant of the legacy line
    text = "".join(cue(i, f"F/2.8, SS 500, ISO 100, EV 0, RTK (-2.30{i}0, 53.4450, 45), D 1.00m, H 2.00m")
                   for i in (1, 2))
    tel = parse_srt_text(text)
    assert tel.lat[0] == 53.445 and tel.lon[1] == -2.302
