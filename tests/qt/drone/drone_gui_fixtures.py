"""Shared helpers for the Drone GUI tests (imported by name: conftest modules collide across
folders): a footage layer whose track is known exactly (straight line in British National Grid,
one row per frame), waiting for a frame, and drone photos with known positions and footprints."""

from __future__ import annotations

from pathlib import Path

import numpy as np

FPS, SECONDS = 25, 3.0
X0, Y0 = 378_100.0, 394_000.0
VX, VY = 40.0, 10.0  # m/s along the track


def track_xy(t):
    return X0 + VX * np.asarray(t, float), Y0 + VY * np.asarray(t, float)


def make_footage_layer(video: Path | None, n: int = int(FPS * SECONDS)):
    from gis_desk.core.crs import transform_xy
    from gis_desk.core.datasets import DataSource
    from gis_desk.core.footage import FootageDataset, FootageLayer, Telemetry

    t = np.arange(n) / FPS
    x, y = track_xy(t)
    lon, lat = transform_xy("EPSG:27700", "EPSG:4326", x, y)
    tel = Telemetry.empty_like("flight.SRT", "dji-per-frame", n, time_s=t, lat=np.asarray(lat), lon=np.asarray(lon),
                               rel_alt=np.full(n, 50.0) + t * 10, abs_alt=np.full(n, 80.0),
                               gimbal_yaw=np.full(n, 90.0), gimbal_pitch=np.full(n, -90.0),
                               gimbal_roll=np.zeros(n), flight_yaw=np.full(n, 76.0),
                               frame=np.arange(1, n + 1), focal_len_35mm=np.full(n, 24.0))
    path = str(video.with_suffix(".SRT")) if video is not None else "/memory/flight.SRT"
    ds = FootageDataset(DataSource(path, "builtins.read_footage", {}), tel, crs="EPSG:27700",
                        video_path=str(video) if video is not None else None)
    return FootageLayer(ds, name="flight")


def wait_frame(qtbot, player, index: int | None = None, timeout: int = 5000) -> None:
    """Wait until the player shows ``index`` (or whatever it was asked for last)."""
    def shown():
        target = player.requested_index if index is None else index
        assert player.current_index == target and player.wait_idle()
    qtbot.waitUntil(shown, timeout=timeout)


def write_photos(folder: Path, n: int = 5):
    """``n`` JPEGs (numbered like the clip frames) along the track, taken in REVERSE file-name
    order in time, so flight order differs from name order; returns a PhotoLayer."""
    import geopandas as gpd
    import pandas as pd
    import shapely
    from PIL import Image

    from gis_desk.core.datasets import DataSource
    from gis_desk.core.photos import PhotoDataset, PhotoLayer
    from gis_desk.io.video import numbered_frame

    folder.mkdir(parents=True, exist_ok=True)
    rows, fps = [], []
    for i in range(n):
        path = folder / f"DJI_{i:04d}.JPG"
        Image.fromarray(numbered_frame(i, 400, 300)).save(path, quality=92)
        x, y = X0 + 60.0 * i, Y0 - 80.0
        rows.append({"name": path.name, "path": str(path), "time": f"2024:05:01 10:00:{50 - 10 * i:02d}",
                     "rel_alt": 60.0, "yaw": 0.0, "pitch": -90.0, "x": x, "y": y})
        fps.append(shapely.box(x - 20, y - 15, x + 20, y + 15))
    frame = pd.DataFrame(rows)
    geo = gpd.GeoDataFrame(frame.drop(columns=["x", "y"]), geometry=gpd.points_from_xy(frame.x, frame.y),
                           crs="EPSG:27700")
    ds = PhotoDataset(DataSource(str(folder), "builtins.read_photos", {}), geo,
                      gpd.GeoSeries(fps, crs="EPSG:27700"), [], [])
    return PhotoLayer(ds, name="photos")


def write_srt(path: Path, n: int = int(FPS * SECONDS), fps: int = FPS) -> Path:
    """A DJI per-frame SRT for the numbered clip: frame i at i / fps on the ``track_xy`` line,
    rel_alt 50 + 10 t m, nadir gimbal looking east, 24 mm equivalent."""
    from gis_desk.core.crs import transform_xy

    t = np.arange(n) / fps
    x, y = track_xy(t)
    lon, lat = (np.asarray(a) for a in transform_xy("EPSG:27700", "EPSG:4326", x, y))

    def tc(ms: int) -> str:
        h, rem = divmod(ms, 3_600_000)
        m, rem = divmod(rem, 60_000)
        s, ms = divmod(rem, 1000)
        return f"{h:02d}:{m:02d}:{s:02d},{ms:03d}"

    cues = []
    for i in range(n):
        t0, t1 = round(i * 1000 / fps), round((i + 1) * 1000 / fps)
        cues.append(f"{i + 1}\n{tc(t0)} --> {tc(t1)}\n<font size=\"28\">FrameCnt: {i + 1}, DiffTime: {t1 - t0}ms\n"
                    f"2024-05-01 10:00:00.000\n[iso: 100] [focal_len: 24.00] [latitude: {lat[i]:.7f}] "
                    f"[longitude: {lon[i]:.7f}] [rel_alt: {50 + 10 * t[i]:.3f} abs_alt: {80 + 10 * t[i]:.3f}] "
                    f"[gb_yaw: 90.0 gb_pitch: -90.0 gb_roll: 0.0] </font>\n\n")
    path.write_text("".join(cues), encoding="utf-8")
    return path
