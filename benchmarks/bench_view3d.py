"""Frames per second of the 3D view orbiting 10 million synthetic points (software rendering).

Run: ``xvfb-run -a -s "-screen 0 1600x1000x24" .venv/bin/python benchmarks/bench_view3d.py``
(Mesa llvmpipe; any Qt platform, the view renders off-screen).  Compares, in the same run, drawing every point each frame (the baseline)
with the level-of-detail budget used while the view moves, and the still frame at the
default budget; EDL on in all.  Each frame is read back (which waits for the GPU) before it
is timed; the read-back alone is measured last.
Options: ``--points N``, ``--frames F``, ``--size WxH``.
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np


def synthetic_bridge(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """A deck, two piers and ground, in BNG-sized coordinates, coloured by height."""
    rng = np.random.default_rng(seed)
    parts = rng.choice(3, n, p=[0.5, 0.2, 0.3])
    xyz = np.empty((n, 3))
    u = rng.random((n, 3))
    deck, pier, ground = parts == 0, parts == 1, parts == 2
    xyz[deck] = u[deck] * [60, 8, 0.8] + [0, 0, 8]
    xyz[pier] = u[pier] * [2, 6, 8] + [[20, 1, 0]] + (u[pier, :1] > 0.5) * np.array([18.0, 0, 0])
    xyz[ground] = u[ground] * [80, 40, 0.3] + [-10, -16, -0.3]
    xyz += [451_000.0, 207_000.0, 20.0]
    t = (xyz[:, 2] - xyz[:, 2].min()) / np.ptp(xyz[:, 2])
    colours = np.column_stack([255 * t, 80 + 120 * (1 - t), 255 * (1 - t), np.full(n, 255)]).astype(np.uint8)
    return xyz, colours


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=10_000_000)
    parser.add_argument("--frames", type=int, default=20)
    parser.add_argument("--size", default="1280x800")
    args = parser.parse_args(argv)
    w, h = (int(v) for v in args.size.split("x"))

    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication(sys.argv)
    from gis_desk.qt.view3d import View3DPanel, gl_status

    ok, info = gl_status()
    if not ok:
        print(f"no OpenGL 3.3: {info}; run under xvfb-run")
        return 1
    t0 = time.perf_counter()
    xyz, colours = synthetic_bridge(args.points)
    t_make = time.perf_counter() - t0
    panel = View3DPanel()
    panel.resize(w, h)
    panel.show()
    for _ in range(5):
        app.processEvents()
    view = panel.view
    t0 = time.perf_counter()
    view.set_layer("bench", xyz, colours)
    t_scene = time.perf_counter() - t0
    t0 = time.perf_counter()
    view.render_frame()  # first frame uploads the VBOs
    t_upload = time.perf_counter() - t0
    print(f"{args.points:,} points, {w}x{h}, {info}")
    print(f"make data {t_make:.2f} s, scene (shuffle + local origin) {t_scene:.2f} s, first frame + upload {t_upload:.2f} s")

    def orbit_fps(moving: bool, budget: int, moving_budget: int, adapt: bool = False) -> tuple[float, int]:
        view.budget, view.moving_budget, view.adapt = budget, moving_budget, adapt
        view.adaptive_budget = moving_budget
        for _ in range(5 if adapt else 0):  # let the adaptive budget settle
            view.camera.orbit(6.0, 0.5)
            view.moving = True
            view.render_frame()
        times = []
        for _ in range(args.frames):
            view.camera.orbit(6.0, 0.5)
            view.moving = moving
            times.append(view.render_frame())
        drawn = sum(view.last_counts.values())
        return 1000.0 / float(np.median(times)), drawn

    rows = [("all points every frame (baseline)", *orbit_fps(True, args.points, args.points))]
    rows.append(("LOD while orbiting, fixed 400k", *orbit_fps(True, 3_000_000, 400_000)))
    rows.append(("LOD while orbiting, adaptive <= 400k", *orbit_fps(True, 3_000_000, 400_000, adapt=True)))
    rows.append(("still frame, whole 3M budget at once", *orbit_fps(False, 3_000_000, 400_000)))
    base = rows[0][1]
    for label, fps, drawn in rows:
        print(f"{label:42s} {fps:7.1f} fps  ({drawn:>10,} points drawn)  x{fps / base:.1f} vs baseline")

    # what the user gets when the view stops: refinement steps over the last moving frame
    view.moving = False
    view.render_frame(full=True)
    view.camera.orbit(3.0, 0.0)
    steps = []
    while True:
        steps.append(view.render_frame(full=False))
        if not view.refining:
            break
    print(f"still view refines to 3M points in {len(steps)} steps of {view.refine_step:,}: "
          f"longest step {max(steps):.0f} ms (GUI thread), {sum(steps) / 1000:.2f} s in all")

    # the price of drawing off-screen (works on every Qt platform): reading the frame back
    view._make_current()
    ratio = view.devicePixelRatioF()
    fw, fh = view._fbo_size
    reads = []
    for _ in range(10):
        t0 = time.perf_counter()
        view._read_back(fw, fh, ratio)
        reads.append((time.perf_counter() - t0) * 1000)
    view._context.doneCurrent()
    print(f"read-back of one {fw}x{fh} frame: {float(np.median(reads)):.1f} ms (median of 10)")
    view.release_gl()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
