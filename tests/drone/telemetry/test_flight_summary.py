"""flight_summary: known geometry (a straight climb in BNG, a real SRT flown due north) and the
height / distance policy messages."""

from __future__ import annotations

import math

import numpy as np
import pytest

from footage_fixtures import write_track_srt
from gis_desk.analysis.flight import flight_summary
from gis_desk.core.footage import Telemetry
from gis_desk.errors import DataError
from gis_desk.io.srt import read_srt

# BNG grid distances are true distances times the local scale factor (0.99961 near E 378 km)
BNG_SCALE = 0.9996013 * (1 + (378200 - 400000) ** 2 / (2 * 6381000.0 ** 2))


def test_straight_climb(tmp_path):
    tel = read_srt(write_track_srt(tmp_path / "t.SRT"))       # 10 s at 5 m/s, 10 m -> 30 m
    s = flight_summary(tel)
    assert s.points == 101 and s.duration_s == pytest.approx(10.0)
    assert s.distance_m == pytest.approx(50.0 / BNG_SCALE, rel=2e-4)
    assert s.max_distance_from_takeoff_m == pytest.approx(50.0 / BNG_SCALE, rel=2e-4)
    assert s.max_height_m == pytest.approx(30.0) and s.max_height_time_s == pytest.approx(10.0)
    assert s.min_height_m == pytest.approx(10.0)
    assert s.max_speed_m_s == pytest.approx(5.0 / BNG_SCALE, rel=2e-3)
    assert s.takeoff == (pytest.approx(tel.lat[0]), pytest.approx(tel.lon[0]))
    assert s.exceeds == [] and s.ok
    assert any("first position" in n for n in s.notes)
    strict = flight_summary(tel, max_height_m=25.0, max_distance_m=40.0)
    assert strict.exceeds == ["Maximum height 30 m above take-off exceeds the 25 m policy (at 10.0 s)",
                              "Maximum distance 50 m from take-off exceeds the 40 m policy (at 10.0 s)"]
    assert not strict.ok
    d = strict.to_dict()
    assert d["policy"] == {"max_height_m": 25.0, "max_distance_m": 40.0} and d["takeoff"] == list(strict.takeoff)


def test_home_point_and_out_and_back():
    # 0.001 deg north and back from a stated home 0.001 deg south of the first fix
    lat = np.array([53.001, 53.002, 53.001])
    lon = np.array([-2.0, -2.0, -2.0])
    tel = Telemetry.empty_like("x", "test", 3, time_s=[0.0, 10.0, 20.0], lat=lat, lon=lon,
                               rel_alt=[131.2, 140.0, 20.0], home=(53.0, -2.0))
    s = flight_summary(tel)
    from pyproj import Geod
    g = Geod(ellps="WGS84")
    leg = g.inv(-2.0, 53.001, -2.0, 53.002)[2]
    assert s.distance_m == pytest.approx(2 * leg)
    assert s.max_distance_from_takeoff_m == pytest.approx(g.inv(-2.0, 53.0, -2.0, 53.002)[2])
    assert s.takeoff == (53.0, -2.0) and not any("first position" in n for n in s.notes)
    assert s.exceeds == ["Maximum height 140 m above take-off exceeds the 120 m policy (at 10.0 s)"]


def test_unknown_height_is_noted_not_failed():
    tel = Telemetry.empty_like("x", "gpx", 2, time_s=[0, 1], lat=[53.0, 53.0001], lon=[-2.0, -2.0],
                               abs_alt=[500.0, 510.0])
    s = flight_summary(tel)
    assert math.isnan(s.max_height_m) and s.exceeds == [] and s.max_abs_alt_m == 510.0
    assert any("could not be checked" in n for n in s.notes)
    assert s.to_dict()["max_height_m"] is None


def test_no_position_is_an_error():
    tel = Telemetry.empty_like("empty.srt", "test", 2, time_s=[0, 1])
    with pytest.raises(DataError):
        flight_summary(tel)


def test_real_srt_flown_due_north(real_data):
    path = real_data / "dji_srt" / "dji_srt2gpx" / "DJI_MAVIC.SRT"
    if not path.exists():
        pytest.skip("DJI_MAVIC.SRT not in the shared real data")
    # the raw file: 16 cues, latitude 49.100000 -> 49.100015 one step of 1e-6 per cue, longitude
    # 15.100000 throughout, rel_alt 0.000, cues 0.000 -> 0.500 s
    s = flight_summary(read_srt(path))
    metres_per_degree = 111132.95 - 559.82 * math.cos(math.radians(2 * 49.1)) + 1.175 * math.cos(math.radians(4 * 49.1))
    assert s.distance_m == pytest.approx(15e-6 * metres_per_degree, rel=1e-3)
    assert s.max_distance_from_takeoff_m == pytest.approx(s.distance_m, rel=1e-6)
    assert s.duration_s == pytest.approx(0.5) and s.max_height_m == 0.0 and s.exceeds == []
