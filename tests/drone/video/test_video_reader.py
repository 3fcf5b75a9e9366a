"""VideoReader: frame-exact access on a synthetic clip whose frames show their own number."""

from __future__ import annotations

import json
import threading

import numpy as np
import pytest

from gis_desk.errors import CorruptFileError, MissingFileError, ReaderError
from gis_desk.io.video import (VideoReader, export_snapshot, find_video_for, numbered_frame, read_frame_number,
                               write_numbered_clip)

FPS, SECONDS = 25, 3.0


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    return write_numbered_clip(tmp_path_factory.mktemp("video") / "clip.mp4", seconds=SECONDS, fps=FPS)


@pytest.fixture(scope="module")
def faststart_clip(tmp_path_factory):
    return write_numbered_clip(tmp_path_factory.mktemp("video") / "fast.mp4", seconds=SECONDS, fps=FPS,
                               faststart=True)


def test_numbered_frames_round_trip():
    for i in (0, 1, 74, 1000, 4095):
        assert read_frame_number(numbered_frame(i)) == i


def test_facts(clip):
    with VideoReader(clip) as r:
        assert r.fps == FPS and r.frame_count == 75 and r.duration_s == pytest.approx(3.0)
        assert (r.width, r.height) == (320, 180)
        assert r.codec == "h264"


def test_random_order_seeks_are_frame_exact(clip):
    rng = np.random.default_rng(7)
    with VideoReader(clip, cache_frames=2) as r:
        order = rng.permutation(r.frame_count)
        got = [read_frame_number(r.frame(int(i))) for i in order]
        assert got == [int(i) for i in order]
        assert r.seeks > 10  # random access really seeks (not one pass from the start)
        # stepping forward continues decoding instead of seeking every frame
        seeks = r.seeks
        for i in range(30, 45):
            assert read_frame_number(r.frame(i)) == i
        assert r.seeks - seeks <= 1


def test_stepping_back_after_a_seek_needs_no_new_seek(clip):
    with VideoReader(clip) as r:
        assert read_frame_number(r.frame(58)) == 58  # keyframes every 12 frames: 48 .. 58 decoded
        seeks, decoded = r.seeks, r.decoded
        for i in range(57, 49, -1):  # the 8 frames before the target were kept
            assert read_frame_number(r.frame(i)) == i
        assert (r.seeks, r.decoded) == (seeks, decoded)
        assert read_frame_number(r.frame(40)) == 40 and r.seeks == seeks + 1


def test_cache_is_a_memory_budget(clip):
    from gis_desk.io import video

    with VideoReader(clip) as r:  # 320x180: small frames, many kept (capped)
        assert r._cache_frames == video.CACHE_MAX_FRAMES
    four_k = video.cache_frames_for(3840, 2160)
    assert 2 <= four_k < 10 and four_k * 3840 * 2160 * 3 <= video.CACHE_MB * 1_000_000
    assert video.cache_frames_for(640, 360) == video.CACHE_MAX_FRAMES
    assert video.cache_frames_for(20000, 20000) == 2  # never fewer than two


def test_frame_is_rgb_of_right_shape(clip):
    with VideoReader(clip) as r:
        rgb = r.frame(10)
        assert rgb.shape == (180, 320, 3) and rgb.dtype == np.uint8
        # the gradient survives compression: red grows left to right
        assert rgb[150, 300, 0] > rgb[150, 10, 0] + 150


def test_last_frame_and_beyond_the_end(clip):
    with VideoReader(clip) as r:
        assert read_frame_number(r.frame(74)) == 74
        with pytest.raises(IndexError, match="frame 75 is outside the video"):
            r.frame(75)
        with pytest.raises(IndexError):
            r.frame(-1)
        assert r.frame_at_time(99.0)[0] == 74  # past the end: the last frame
        index, rgb = r.frame_at_time(2.999)
        assert index == 74 and read_frame_number(rgb) == 74
        index, rgb = r.frame_at_time(1.0)
        assert index == 25 and read_frame_number(rgb) == 25
        assert r.frame_at_time(-3)[0] == 0


def test_threads_share_a_reader(clip):
    errors = []
    with VideoReader(clip, cache_frames=1) as r:
        def work(seed):
            rng = np.random.default_rng(seed)
            for i in rng.integers(0, r.frame_count, 25):
                if read_frame_number(r.frame(int(i))) != i:
                    errors.append((seed, int(i)))
        threads = [threading.Thread(target=work, args=(s,)) for s in range(3)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert errors == []


def test_truncated_file_moov_at_end(clip, tmp_path):
    data = clip.read_bytes()
    bad = tmp_path / "cut.mp4"
    bad.write_bytes(data[: len(data) // 2])  # the index (moov) is lost: nothing can be read
    with pytest.raises(CorruptFileError) as info:
        VideoReader(bad)
    assert "cut.mp4" in str(info.value)


def test_truncated_file_frames_missing(faststart_clip, tmp_path):
    data = faststart_clip.read_bytes()
    bad = tmp_path / "half.mp4"
    bad.write_bytes(data[: int(len(data) * 0.6)])  # index first, so it opens; later frames are gone
    with VideoReader(bad) as r:
        assert r.frame_count == 75  # the index still promises every frame
        assert read_frame_number(r.frame(5)) == 5
        with pytest.raises(CorruptFileError) as info:
            r.frame(74)
        assert "half.mp4" in str(info.value) and "truncated" in str(info.value)


def test_missing_and_not_a_video(tmp_path):
    with pytest.raises(MissingFileError):
        VideoReader(tmp_path / "nothing.mp4")
    text = tmp_path / "notes.mp4"
    text.write_text("this is not a video\n" * 50)
    with pytest.raises(CorruptFileError, match="notes.mp4"):
        VideoReader(text)
    with pytest.raises(ReaderError, match="folder"):
        VideoReader(tmp_path)


def test_audio_only_file_is_refused(tmp_path):
    import av

    path = tmp_path / "sound.mp4"
    with av.open(str(path), "w") as out:
        stream = out.add_stream("aac", rate=8000)
        frame = av.AudioFrame.from_ndarray(np.zeros((1, 1024), np.float32), format="fltp", layout="mono")
        frame.sample_rate = 8000
        for packet in stream.encode(frame):
            out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    with pytest.raises(ReaderError, match="no video stream"):
        VideoReader(path)


def test_find_video_by_stem(tmp_path):
    srt = tmp_path / "DJI_0001.SRT"
    srt.write_text("1\n")
    assert find_video_for(srt) is None
    (tmp_path / "DJI_0001.MP4").write_bytes(b"x")
    assert find_video_for(srt).name == "DJI_0001.MP4"


def test_export_snapshot(clip, tmp_path):
    from PIL import Image

    with VideoReader(clip) as r:
        index, rgb = r.frame_at_time(1.2)
        position = {"x": 378200.5, "y": 394000.25, "lon": -2.33, "lat": 53.44, "rel_alt": 61.2,
                    "gimbal_yaw": 45.0, "gimbal_pitch": -90.0, "abs_alt": float("nan")}
        png, gj = r.export_snapshot(tmp_path / "snap", rgb, time_s=1.2, position=position, crs="EPSG:27700")
    assert png.name == "snap.png" and gj.name == "snap.geojson"
    back = np.asarray(Image.open(png).convert("RGB"))
    assert np.array_equal(back, rgb)  # PNG is lossless
    record = json.loads(gj.read_text())
    feature = record["features"][0]
    assert feature["geometry"] == {"type": "Point", "coordinates": [-2.33, 53.44]}
    props = feature["properties"]
    assert props["frame_index"] == index == 30 and props["time_s"] == 1.2
    assert props["x"] == 378200.5 and props["crs"] == "EPSG:27700" and props["rel_alt"] == 61.2
    assert props["abs_alt"] is None  # NaN is not JSON
    assert props["video"].endswith("clip.mp4")


def test_snapshot_without_position(tmp_path):
    png, gj = export_snapshot(tmp_path / "a.png", numbered_frame(3), time_s=0.1, position=None, crs=None)
    assert png.exists() and json.loads(gj.read_text())["features"][0]["geometry"] is None
