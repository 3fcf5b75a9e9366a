"""Click-to-frame latency of the drone video player (standalone, offscreen:
``QT_QPA_PLATFORM=offscreen python benchmarks/bench_seek.py [--seconds 60] [--gop 50] [--clicks 20]``).

What is timed: the whole GUI path of "click the flight track, see the frame": the seek map tool
turns the click into a video time (``FootageLayer.time_at``), the player asks its decoder thread
for that frame (``VideoReader.frame``: seek to the keyframe before it, decode forward), the frame
comes back to the GUI thread as a QImage and the video view is repainted.  The clock stops when
the frame is painted; every frame shown is checked to be the one asked for (the synthetic clip
draws its frame number).

Baseline in the same run: decoding the clip from the start up to the same frame with PyAV and
no seeking (what a player without keyframe seeking does), plus converting that frame to RGB.

The clip is SYNTHETIC (``gis_desk.io.video.write_numbered_clip``: 640x360 H.264, 25 fps, a
keyframe every ``--gop`` frames, B-frames), written once to benchmarks/out/.  Figures are
printed and saved to benchmarks/out/bench_seek.json; nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "benchmarks" / "out"
FPS = 25
X0, Y0, VX, VY = 378_000.0, 394_000.0, 12.0, 3.0  # a straight track in BNG, m and m/s


def make_clip(seconds: float, gop: int) -> Path:
    from gis_desk.io.video import write_numbered_clip

    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / f"seek_clip_{int(seconds)}s_gop{gop}.mp4"
    if not path.exists():
        started = time.perf_counter()
        write_numbered_clip(path, seconds=seconds, fps=FPS, width=640, height=360, gop=gop)
        print(f"clip written: {path.name} in {time.perf_counter() - started:.1f} s")
    return path


def footage_layer(video: Path, frames: int):
    """One telemetry row per frame along the straight track (no SRT parsing in the timing)."""
    from gis_desk.core.crs import transform_xy
    from gis_desk.core.datasets import DataSource
    from gis_desk.core.footage import FootageDataset, FootageLayer, Telemetry

    t = np.arange(frames) / FPS
    x, y = X0 + VX * t, Y0 + VY * t
    lon, lat = (np.asarray(a) for a in transform_xy("EPSG:27700", "EPSG:4326", x, y))
    tel = Telemetry.empty_like(str(video.with_suffix(".SRT")), "dji-per-frame", frames, time_s=t, lat=lat, lon=lon,
                               rel_alt=np.full(frames, 60.0), abs_alt=np.full(frames, 90.0),
                               gimbal_yaw=np.full(frames, 76.0), gimbal_pitch=np.full(frames, -60.0),
                               gimbal_roll=np.zeros(frames), focal_len_35mm=np.full(frames, 24.0))
    ds = FootageDataset(DataSource(str(video.with_suffix(".SRT")), "builtins.read_footage", {}), tel,
                        crs="EPSG:27700", video_path=str(video))
    return FootageLayer(ds, name="bench flight")


def baseline_ms(video: Path, index: int) -> float:
    """Sequential decode from the first frame to ``index`` (fresh container, no seek)."""
    import av

    started = time.perf_counter()
    with av.open(str(video)) as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        tb, start = float(stream.time_base), int(stream.start_time or 0)
        for frame in container.decode(stream):
            if int(round((frame.pts - start) * tb * FPS)) == index:
                frame.to_ndarray(format="rgb24")
                break
    return (time.perf_counter() - started) * 1000.0


def run(seconds: float, gop: int, clicks: int, seed: int) -> dict:
    from PySide6.QtCore import QPointF
    from PySide6.QtWidgets import QApplication

    from gis_desk.io.video import read_frame_number
    from gis_desk.qt.drone import install_drone
    from gis_desk.qt.main_window import MainWindow
    from gis_desk.session import Session

    video = make_clip(seconds, gop)
    app = QApplication.instance() or QApplication(sys.argv)
    window = MainWindow(Session())
    window.resize(1400, 900)
    window.show()
    drone = install_drone(window)
    frames = int(round(seconds * FPS))
    layer = footage_layer(video, frames)
    window.session.add_layers([layer])
    drone.set_footage(layer)
    drone.show_player()
    window.canvas.zoom_to_layer(layer)
    window.canvas.set_tool("seek")
    player = drone.player
    _wait(app, lambda: player.current_index == 0 and player.wait_idle())

    rng = np.random.default_rng(seed)
    # random moments, never the first second (a seek to frame 0 is free)
    times = rng.uniform(1.0, seconds - 0.1, size=clicks)
    rows = []
    for t_click in times:
        x, y = X0 + VX * t_click, Y0 + VY * t_click
        px, py = window.canvas.viewport.world_to_pixel(float(x), float(y))
        player.decoder.reader.clear_cache()  # no help from frames decoded earlier
        started = time.perf_counter()
        t = drone.seek_tool.click_at(QPointF(float(px), float(py)))
        target = int(round(t * FPS))
        _wait(app, lambda: player.current_index == target and player.wait_idle())
        player.view.repaint()  # on screen: the paint of the new frame is part of the latency
        gui = (time.perf_counter() - started) * 1000.0
        got = read_frame_number(player.current_rgb)
        if got != target:
            raise SystemExit(f"frame check failed: asked {target}, the player shows frame {got}")
        base = baseline_ms(video, target)
        rows.append({"time_s": round(t, 3), "frame": target, "gui_ms": gui, "decode_ms": player.decoder.last_ms,
                     "paint_ms": player.view.paint_ms, "baseline_ms": base})
    # stepping one frame forward after a seek: the decoder continues instead of seeking again
    step_ms = []
    for _ in range(10):
        target = player.current_index + 1
        started = time.perf_counter()
        player.step(1)
        _wait(app, lambda: player.current_index == target and player.wait_idle())
        player.view.repaint()
        step_ms.append((time.perf_counter() - started) * 1000.0)
    # stepping back after a seek: the frames just before the target were kept while decoding
    back_ms = []
    for t_click in times[:5]:
        player.seek_time(float(t_click))
        _wait(app, lambda: player.current_index == player.requested_index and player.wait_idle())
        for _ in range(3):
            target = player.current_index - 1
            started = time.perf_counter()
            player.step(-1)
            _wait(app, lambda: player.current_index == target and player.wait_idle())
            player.view.repaint()
            back_ms.append((time.perf_counter() - started) * 1000.0)
            if read_frame_number(player.current_rgb) != target:
                raise SystemExit(f"frame check failed stepping back to {target}")
    drone.close()
    window.session.project.mark_dirty(False)
    window.canvas.scheduler.shutdown(wait=True)
    window.close()
    return {"clip": video.name, "frames": frames, "gop": gop, "clicks": rows, "step_ms": step_ms,
            "step_back_ms": back_ms}


def _wait(app, done, timeout_s: float = 30.0) -> None:
    end = time.perf_counter() + timeout_s
    while not done():
        if time.perf_counter() > end:
            raise SystemExit("timed out waiting for the player")
        app.processEvents()
        time.sleep(0.0005)


def report(result: dict) -> None:
    rows = result["clicks"]
    gui = [r["gui_ms"] for r in rows]
    base = [r["baseline_ms"] for r in rows]
    ratio = [b / g for g, b in zip(gui, base)]
    print(f"\n{result['clip']}: {result['frames']} frames, keyframe every {result['gop']} frames")
    print(f"{'time s':>8} {'frame':>6} {'click->screen ms':>17} {'decode ms':>10} {'paint ms':>9} "
          f"{'baseline ms':>12} {'x faster':>9}")
    for r, k in zip(rows, ratio):
        print(f"{r['time_s']:8.2f} {r['frame']:6d} {r['gui_ms']:17.1f} {r['decode_ms']:10.1f} {r['paint_ms']:9.1f} "
              f"{r['baseline_ms']:12.1f} {k:9.1f}")
    q = statistics.quantiles(gui, n=20) if len(gui) >= 2 else gui * 19
    print(f"\nclick -> frame on screen: median {statistics.median(gui):.1f} ms, p95 {q[-1]:.1f} ms, "
          f"max {max(gui):.1f} ms")
    print(f"baseline (decode from start): median {statistics.median(base):.1f} ms, max {max(base):.1f} ms")
    print(f"speed-up over the baseline: median {statistics.median(ratio):.1f}x")
    print(f"one-frame step after a seek: median {statistics.median(result['step_ms']):.1f} ms")
    print(f"one-frame step back after a seek: median {statistics.median(result['step_back_ms']):.1f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--gop", type=int, default=50)
    parser.add_argument("--clicks", type=int, default=20)
    parser.add_argument("--seed", type=int, default=5)
    args = parser.parse_args()
    result = run(args.seconds, args.gop, args.clicks, args.seed)
    report(result)
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "bench_seek.json").write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
