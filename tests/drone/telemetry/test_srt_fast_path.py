"""Long SRTs take a token-layout fast path; it must give exactly what the per-field regex scan
gives, and fall back to that scan whenever a cue departs from the first cue's layout."""

from __future__ import annotations

import numpy as np
import pytest

import gis_desk.io.srt as srt
from gis_desk.core.footage import VALUE_FIELDS


def m300_like(n: int, *, damage: int | None = None) -> str:
    """Cues in the M300 RTK layout (multi-line, an internal blank line, vsync padding)."""
    out = []
    for i in range(1, n + 1):
        t0, t1 = (i - 1) * 33, i * 33
        tc = [f"00:{ms // 60000:02d}:{ms // 1000 % 60:02d},{ms % 1000:03d}" for ms in (t0, t1)]
        lat = f"[latitude: {49.125749 + i * 1e-6:.6f}] [longitude: {14.634775 - i * 2e-6:.6f}]"
        if i == damage:
            lat = "[latitude: 49.1] [longitude: 14.6] [extra: 1]"          # one more token
        out.append(
            f"{i}\n{tc[0]} --> {tc[1]}\n<font size=\"28\">FrameCnt: {i}, DiffTime: 33ms\n"
            f"2024-05-20 15:06:{t0 // 1000 % 60:02d}.{t0 % 1000:03d}\n"
            f"[iso: 100] [shutter: 1/400.0] [fnum: 2.8] [ev: -0.3] [focal_len: 47.00] [dzoom: 1.00] \n"
            f"{lat} [rel_alt: {54.8 + i / 100:.3f} abs_alt: {535.4 + i / 100:.3f}] \n"
            f"[drone_speedx: 0.0 drone_speedy: 0.0 drone_speedz: -0.1] \n"
            f"[drone_yaw: {-88.3 + i / 10:.1f} drone_pitch: 6.0 drone_roll: 0.7] \n"
            f"[gb_yaw: -75.6 gb_pitch: -12.5 gb_roll: 0.0] \n\n0\n"
            f"[ae_meter_md : 2] [dzoom_ratio: 10000, delta:0] [color_md : default] [ct : {5534 + i % 7}] \n"
            f"vsync[{' ' * (1 + i % 3)}{15560 + i}] target[-0.7850 0.0673 0.0866 0.6097]</font>\n\n")
    return "".join(out)


def both_ways(text, monkeypatch):
    fast = srt.parse_srt_text(text, "fast.SRT")
    monkeypatch.setattr(srt, "_FAST_MIN_CUES", 10 ** 9)
    slow = srt.parse_srt_text(text, "slow.SRT")
    monkeypatch.undo()
    return fast, slow


def same(a, b):
    for name in ("time_s",) + VALUE_FIELDS:
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name), err_msg=name)
    np.testing.assert_array_equal(a.frame, b.frame)
    np.testing.assert_array_equal(a.focal_len_35mm, b.focal_len_35mm)
    assert sorted(a.extras) == sorted(b.extras)
    for k in a.extras:
        np.testing.assert_array_equal(a.extras[k], b.extras[k], err_msg=k)
    assert (a.format, a.problems, a.start_time) == (b.format, b.problems, b.start_time)


def test_fast_path_taken_and_identical(monkeypatch):
    text = m300_like(1500)
    cues = srt._Cues("\n" + text)
    cues.n = 1500
    assert cues.build_fast(srt._ALL_PATTERNS)            # the layout holds: fast path used
    fast, slow = both_ways(text, monkeypatch)
    same(fast, slow)
    assert len(fast) == 1500 and fast.lat[-1] == pytest.approx(49.125749 + 1500e-6)
    assert fast.flight_yaw[9] == pytest.approx(-87.3) and fast.extras["ct"][3] == 5538     # cue 4: 5534 + 4 % 7


def test_fast_path_small_chunks(monkeypatch):
    # chunk boundaries inside the text must fall on cue starts
    monkeypatch.setattr(srt, "_FAST_CHUNK_CHARS", 5000)
    text = m300_like(700)
    fast = srt.parse_srt_text(text)
    monkeypatch.setattr(srt, "_FAST_MIN_CUES", 10 ** 9)
    same(fast, srt.parse_srt_text(text))
    assert len(fast) == 700 and not fast.problems


def test_a_cue_off_the_layout_falls_back(monkeypatch):
    text = m300_like(600, damage=333)
    cues = srt._Cues("\n" + text)
    cues.n = 600
    assert not cues.build_fast(srt._ALL_PATTERNS)
    fast, slow = both_ways(text, monkeypatch)
    same(fast, slow)
    assert fast.lat[332] == 49.1 and fast.lon[332] == 14.6


def test_a_missing_cue_line_falls_back(monkeypatch):
    text = m300_like(400)
    broken = text.replace("[gb_yaw: -75.6 gb_pitch: -12.5 gb_roll: 0.0] \n\n0\n", "\n\n0\n", 1)
    fast, slow = both_ways(broken, monkeypatch)
    same(fast, slow)
    assert np.isnan(fast.gimbal_yaw[0]) and fast.gimbal_yaw[1] == -75.6


def test_sample_clip_srt_both_ways(monkeypatch):
    from pathlib import Path
    p = Path(__file__).resolve().parents[3] / "sample_surveys" / "drone" / "site_flight.SRT"
    if not p.exists():
        pytest.skip("sample clip SRT not built")
    fast, slow = both_ways(p.read_text(encoding="utf-8"), monkeypatch)
    same(fast, slow)
    assert len(fast) == 720  # one cue per frame of the 24 s, 30 fps clip


def test_long_truncated_file_keeps_the_complete_cues(monkeypatch):
    text = m300_like(600)
    cut = text[:text.rindex("[rel_alt")]                 # the recording stopped inside cue 600
    fast, slow = both_ways(cut, monkeypatch)
    same(fast, slow)
    assert len(fast) == 600 and np.isnan(fast.rel_alt[-1]) and fast.lat[-1] == pytest.approx(49.125749 + 600e-6)
    assert fast.problems == ["the file ends mid-cue 600: its position was kept, its height and altitude and "
                             "gimbal angles and heading missing"]
