"""GPX tracks and DJI flight-record CSV exports as telemetry, with time offsets to the video."""

from __future__ import annotations

import numpy as np
import pytest

from gis_desk.errors import CorruptFileError, DataError
from gis_desk.io.telemetry import read_flight_csv, read_footage, read_gpx, read_telemetry

GPX11 = """<?xml version="1.0" encoding="UTF-8"?>
<gpx version="1.1" creator="test" xmlns="http://www.topografix.com/GPX/1/1">
 <trk><name>flight</name><trkseg>
  <trkpt lat="53.4500" lon="-2.3100"><ele>40.0</ele><time>2024-06-05T13:00:00Z</time></trkpt>
  <trkpt lat="53.4501" lon="-2.3101"><ele>45.5</ele><time>2024-06-05T13:00:02Z</time></trkpt>
  <trkpt lat="not a number" lon="-2.3102"><ele>46.0</ele><time>2024-06-05T13:00:03Z</time></trkpt>
  <trkpt lat="53.4503" lon="-2.3103"><ele>50.0</ele></trkpt>
  <trkpt lat="53.4504" lon="-2.3104"><ele>52.0</ele><time>2024-06-05T14:00:08+01:00</time></trkpt>
 </trkseg></trk>
</gpx>
"""


def test_gpx_track_points(tmp_path):
    p = tmp_path / "flight.gpx"
    p.write_text(GPX11)
    tel = read_gpx(p)
    assert tel.format == "gpx" and len(tel) == 4
    np.testing.assert_allclose(tel.lat, [53.45, 53.4501, 53.4503, 53.4504])
    np.testing.assert_allclose(tel.lon, [-2.31, -2.3101, -2.3103, -2.3104])
    np.testing.assert_allclose(tel.abs_alt, [40.0, 45.5, 50.0, 52.0])     # <ele> is an altitude, not rel_alt
    assert np.isnan(tel.rel_alt).all()
    # 14:00:08+01:00 is 13:00:08Z: 8 s after the first point; the timeless point is interpolated
    np.testing.assert_allclose(tel.time_s, [0.0, 2.0, 5.0, 8.0])
    assert tel.start_time == "2024-06-05T13:00:00Z"
    assert any("without a valid lat/lon" in x for x in tel.problems)
    assert any("without a time" in x for x in tel.problems)
    shifted = read_gpx(p, time_offset_s=2.0)          # the video started 2 s into the log
    np.testing.assert_allclose(shifted.time_s, [-2.0, 0.0, 3.0, 6.0])


def test_gpx_route_points_and_no_times(tmp_path):
    p = tmp_path / "route.gpx"
    p.write_text('<gpx version="1.0"><rte><rtept lat="51.5" lon="-0.1"/><rtept lat="51.6" lon="-0.2"/></rte></gpx>')
    tel = read_gpx(p)
    np.testing.assert_allclose(tel.lat, [51.5, 51.6])
    np.testing.assert_allclose(tel.time_s, [0.0, 1.0])
    assert any("no times" in n for n in tel.notes)


def test_gpx_errors_name_the_file(tmp_path):
    broken = tmp_path / "broken.gpx"
    broken.write_text(GPX11[: len(GPX11) // 2])
    with pytest.raises(CorruptFileError) as e:
        read_gpx(broken)
    assert e.value.path == str(broken)
    other = tmp_path / "other.gpx"
    other.write_text("<kml><Placemark/></kml>")
    with pytest.raises(DataError, match="not a GPX"):
        read_gpx(other)
    empty = tmp_path / "empty.gpx"
    empty.write_text('<gpx xmlns="http://www.topografix.com/GPX/1/1"><wpt lat="1" lon="2"/></gpx>')
    with pytest.raises(DataError, match="no track or route points"):
        read_gpx(empty)
    bad = tmp_path / "bad.gpx"
    bad.write_text('<gpx><trk><trkseg><trkpt lat="x" lon="y"/></trkseg></trk></gpx>')
    with pytest.raises(DataError, match="valid position") as e:
        read_gpx(bad)
    assert e.value.path == str(bad)


AIRDATA = """time(millisecond),datetime(utc),latitude,longitude,height_above_takeoff(feet),altitude_above_seaLevel(feet),compass_heading(degrees),pitch(degrees),roll(degrees),gimbal_heading(degrees),gimbal_pitch(degrees),isVideo
0,2024-06-05 13:00:00,0,0,0,100,0,0,0,0,0,0
100,2024-06-05 13:00:00,53.45,-2.31,0,100,10,0,0,10,0,0
1100,2024-06-05 13:00:01,53.4501,-2.3101,32.8084,132.8084,20,-2,1,200,-45,1
2100,2024-06-05 13:00:02,53.4502,-2.3102,65.6168,165.6168,30,-3,2,350,-90,1
"""


def test_airdata_csv_feet_and_time_offset(tmp_path):
    p = tmp_path / "airdata.csv"
    p.write_text(AIRDATA)
    tel = read_flight_csv(p)
    assert tel.format == "dji-flightrecord-csv" and len(tel) == 3     # the 0,0 row before a fix is skipped
    assert any("1 of 4 rows" in x for x in tel.problems)
    np.testing.assert_allclose(tel.lat, [53.45, 53.4501, 53.4502])
    np.testing.assert_allclose(tel.rel_alt, [0.0, 10.0, 20.0], atol=1e-4)             # feet -> metres
    np.testing.assert_allclose(tel.abs_alt, [30.48, 40.48, 50.48], atol=1e-3)
    np.testing.assert_allclose(tel.time_s, [0.0, 1.0, 2.0])
    np.testing.assert_allclose(tel.gimbal_yaw, [10.0, -160.0, -10.0])   # 0..360 headings to -180..180
    np.testing.assert_allclose(tel.gimbal_pitch, [0.0, -45.0, -90.0])
    np.testing.assert_allclose(tel.flight_yaw, [10.0, 20.0, 30.0])
    # the video started 1 s into the log: video time = log time - 1
    np.testing.assert_allclose(read_flight_csv(p, time_offset_s=1.0).time_s, [-1.0, 0.0, 1.0])
    auto = read_flight_csv(p, time_offset_s="auto")                     # first isVideo row
    np.testing.assert_allclose(auto.time_s, [-1.0, 0.0, 1.0])
    assert any("isVideo" in n for n in auto.notes)


def test_dji_flight_record_osd_columns(tmp_path):
    p = tmp_path / "DJIFlightRecord_2024-06-05.csv"
    p.write_text("OSD.flyTime [s],OSD.latitude,OSD.longitude,OSD.height [m],OSD.altitude [m],"
                 "GIMBAL.pitch,GIMBAL.yaw,HOME.latitude,HOME.longitude\n"
                 "0.0,53.45,-2.31,0.0,31.0,0,5,53.45,-2.31\n"
                 "0.1,53.4500,-2.3100,0.5,31.5,-10,5,53.45,-2.31\n"
                 "0.2,53.4501,-2.3101,1.0,32.0,-20,5,53.45,-2.31\n")
    tel = read_telemetry(p, time_offset_s=0.1)
    np.testing.assert_allclose(tel.time_s, [-0.1, 0.0, 0.1])
    np.testing.assert_allclose(tel.rel_alt, [0.0, 0.5, 1.0])
    np.testing.assert_allclose(tel.gimbal_pitch, [0, -10, -20])
    assert tel.home == (53.45, -2.31)


def test_csv_without_positions_is_a_clear_error(tmp_path):
    p = tmp_path / "table.csv"
    p.write_text("a,b\n1,2\n")
    with pytest.raises(DataError, match="latitude/longitude") as e:
        read_flight_csv(p)
    assert e.value.path == str(p)
    q = tmp_path / "nofix.csv"
    q.write_text("latitude,longitude\n0,0\n0,0\n")
    with pytest.raises(DataError, match="No row"):
        read_flight_csv(q)


def test_read_footage_csv_with_video_and_offset(tmp_path):
    p = tmp_path / "log.csv"
    p.write_text(AIRDATA)
    video = tmp_path / "elsewhere.mp4"
    video.write_bytes(b"not decoded here")
    [ds] = read_footage(p, video=str(video), time_offset_s=1.0)
    assert ds.video_path == str(video.resolve())
    assert ds.source.options == {"video": str(video.resolve()), "time_offset_s": 1.0}
    assert ds.crs.to_epsg() == 27700 and len(ds.frame) == 3
    np.testing.assert_allclose(ds.frame["time_s"], [-1.0, 0.0, 1.0])


def test_gpx_auto_offset_means_none(tmp_path):
    p = tmp_path / "flight.gpx"
    p.write_text(GPX11)
    [ds] = read_footage(p, time_offset_s="auto")
    assert ds.telemetry.time_s[0] == 0.0
