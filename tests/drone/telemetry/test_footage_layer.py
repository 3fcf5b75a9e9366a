"""FootageLayer: sync offset, position/time look-ups, bookmarks (add/remove/export) and the
project round trip through ``gis_desk.session``."""

from __future__ import annotations

import csv
import json
import shutil

import numpy as np
import pytest

from footage_fixtures import CLIMB, E0, N0, VE, VN, write_track_srt
from gis_desk.core.footage import FootageLayer, FootageStyle
from gis_desk.errors import WriterError


@pytest.fixture
def srt(tmp_path):
    folder = tmp_path / "flight"
    folder.mkdir()
    p = write_track_srt(folder / "DJI_0001.SRT")
    (folder / "DJI_0001.MP4").write_bytes(b"placeholder video")       # found beside the SRT by stem
    return p


@pytest.fixture
def layer(session, srt):
    [lyr] = session.open(srt)
    return lyr


def test_reader_and_layer_kind(layer, srt):
    assert isinstance(layer, FootageLayer) and layer.kind == "footage"
    assert layer.source.reader == "builtins.read_footage"
    assert layer.video_path == str((srt.parent / "DJI_0001.MP4").resolve())
    assert layer.crs.to_epsg() == 27700 and len(layer.dataset.frame) == 101
    # the reprojected track is where the SRT says (to a few mm after 8-decimal lat/lon)
    np.testing.assert_allclose(layer.dataset.xy[10], [E0 + VE * 1.0, N0 + VN * 1.0], atol=0.01)
    assert isinstance(layer.style, FootageStyle)


def test_position_at_with_sync_offset(layer):
    p = layer.position_at(2.55)
    assert p["x"] == pytest.approx(E0 + VE * 2.55, abs=0.01) and p["y"] == pytest.approx(N0 + VN * 2.55, abs=0.01)
    assert p["rel_alt"] == pytest.approx(10 + CLIMB * 2.55, abs=1e-6) and p["in_range"]
    assert p["gimbal_pitch"] == -60.0 and p["focal_len_35mm"] == 24.0
    events = []
    layer.changed.connect(events.append)
    layer.sync_offset_s = 1.5                  # the video runs 1.5 s behind the telemetry clock
    assert events == ["sync_offset_s"]
    q = layer.position_at(2.55 + 1.5)
    assert q["x"] == pytest.approx(p["x"], abs=1e-6) and q["time_s"] == pytest.approx(2.55)
    assert not layer.position_at(0.5)["in_range"]          # before the track: clamped to its start
    with pytest.raises(ValueError):
        layer.sync_offset_s = float("nan")


def test_time_at_is_the_nearest_track_time(layer):
    # a click 3 m off the track, level with t = 4.27 s
    t = 4.27
    x, y = E0 + VE * t, N0 + VN * t
    nx, ny = -VN / 5, VE / 5                   # unit normal to the track
    assert layer.time_at(x + 3 * nx, y + 3 * ny) == pytest.approx(t, abs=0.005)
    layer.sync_offset_s = -0.5
    assert layer.time_at(x, y) == pytest.approx(t - 0.5, abs=0.005)
    assert layer.time_at(E0 - 100, N0 - 100) == pytest.approx(-0.5)      # beyond the start


def test_bookmarks_add_remove_export(layer, tmp_path):
    events = []
    layer.changed.connect(events.append)
    b2 = layer.add_bookmark(7.0, "spoil heap by the fence")
    b1 = layer.add_bookmark(2.0, "site entrance, café")
    assert events == ["bookmarks", "bookmarks"]
    assert [b.time_s for b in layer.bookmarks] == [2.0, 7.0]          # kept in time order
    assert b1.x == pytest.approx(E0 + VE * 2, abs=0.01) and b2.y == pytest.approx(N0 + VN * 7, abs=0.01)
    assert b1.lat == pytest.approx(layer.position_at(2.0)["lat"])
    layer.update_bookmark(1, "spoil heap")
    gj = layer.export_bookmarks(tmp_path / "marks.geojson")
    data = json.loads(gj.read_text(encoding="utf-8"))
    assert [f["properties"]["note"] for f in data["features"]] == ["site entrance, café", "spoil heap"]
    assert data["features"][0]["geometry"]["coordinates"] == [pytest.approx(b1.lon), pytest.approx(b1.lat)]
    assert data["features"][1]["properties"]["video"] == "DJI_0001.MP4"
    with layer.export_bookmarks(tmp_path / "marks.csv").open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert [r["timecode"] for r in rows] == ["0:00:02.000", "0:00:07.000"]
    assert float(rows[1]["x"]) == pytest.approx(b2.x, abs=0.001) and rows[0]["crs"] == "EPSG:27700"
    with pytest.raises(WriterError, match=r"\.geojson or \.csv"):
        layer.export_bookmarks(tmp_path / "marks.kml")
    removed = layer.remove_bookmark(0)
    assert removed.note == "site entrance, café" and len(layer.bookmarks) == 1 and events[-1] == "bookmarks"


def test_project_round_trip(session, layer, srt, tmp_path):
    from gis_desk.session import Session

    layer.sync_offset_s = 0.8
    layer.add_bookmark(3.0, "first")
    layer.add_bookmark(9.5, "second")
    layer.style = FootageStyle(colour_by="height", ramp="magma", direction_ticks=True)
    project = session.save(tmp_path / "flight.gdesk")
    other = Session()
    [back] = other.open(project)
    assert isinstance(back, FootageLayer)
    assert back.sync_offset_s == 0.8
    assert [(b.time_s, b.note) for b in back.bookmarks] == [(3.0, "first"), (9.5, "second")]
    assert back.bookmarks[1].x == pytest.approx(layer.bookmarks[1].x)
    assert back.video_path == layer.video_path
    assert isinstance(back.style, FootageStyle)
    assert (back.style.colour_by, back.style.ramp, back.style.direction_ticks) == ("height", "magma", True)
    assert back.position_at(3.8)["x"] == pytest.approx(layer.position_at(3.8)["x"])


def test_moved_project_finds_its_video_beside_the_track(session, layer, srt, tmp_path):
    from gis_desk.session import Session

    layer.add_bookmark(1.0, "kept")
    session.save(srt.parent / "flight.gdesk")
    moved = tmp_path / "moved"
    shutil.copytree(srt.parent, moved)
    shutil.rmtree(srt.parent)
    [back] = Session().open(moved / "flight.gdesk")
    if back.is_broken:
        pytest.skip("project files store absolute data paths: the moved track is a broken layer")
    assert back.video_path == str(moved / "DJI_0001.MP4")
    assert back.bookmarks[0].note == "kept"
