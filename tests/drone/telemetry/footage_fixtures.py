"""A synthetic DJI per-frame SRT with a known straight track in British National Grid, shared by
the footage-layer, flight-summary and rendering tests."""

from __future__ import annotations

from pathlib import Path

import numpy as np

FPS = 10
E0, N0 = 378200.0, 394000.0          # take-off, Trafford
VE, VN = 4.0, 3.0                    # m/s east, north (5 m/s)
CLIMB = 2.0                          # m/s


def track(n: int = 101):
    """(t, easting, northing, rel_alt) of the synthetic flight: n frames at FPS."""
    t = np.arange(n) / FPS
    return t, E0 + VE * t, N0 + VN * t, 10.0 + CLIMB * t


def write_track_srt(path: Path, n: int = 101) -> Path:
    from pyproj import Transformer
    t, e, nn, h = track(n)
    lon, lat = Transformer.from_crs("EPSG:27700", "EPSG:4326", always_xy=True).transform(e, nn)
    parts = []
    for i in range(n):
        t0, t1 = int(round(1000 * t[i])), int(round(1000 * (t[i] + 1 / FPS)))
        tc = [f"{ms // 3600000:02d}:{ms // 60000 % 60:02d}:{ms // 1000 % 60:02d},{ms % 1000:03d}" for ms in (t0, t1)]
        parts.append(f"{i + 1}\n{tc[0]} --> {tc[1]}\n<font size=\"28\">FrameCnt: {i + 1}, DiffTime: 100ms\n"
                     f"2024-06-05 14:{t0 // 60000:02d}:{t0 // 1000 % 60:02d}.{t0 % 1000:03d}\n"
                     f"[focal_len: 24.00] [latitude: {lat[i]:.8f}] [longitude: {lon[i]:.8f}] "
                     f"[rel_alt: {h[i]:.3f} abs_alt: {31.0 + h[i]:.3f}] "
                     f"[gb_yaw: 53.1 gb_pitch: -60.0 gb_roll: 0.0] </font>\n\n")
    path.write_text("".join(parts), encoding="utf-8")
    return path
