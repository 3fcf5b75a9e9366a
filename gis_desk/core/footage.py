"""Drone footage as map data: the telemetry track of a video, its layer, and video bookmarks.

``Telemetry`` holds one row per SRT cue / GPX fix / flight-log row, sorted by time, with
``time_s`` in seconds from the start of the video (or of the log).  ``FootageDataset`` turns it
into a point layer (one point per row, in a metric CRS) that remembers the video it belongs to.
``FootageLayer`` adds what a planning officer does while watching: a sync offset between the
video clock and the telemetry clock (``video time = telemetry time + sync_offset_s``), bookmarks
with notes, and the look-ups the player needs (where was the drone at this video time, which
video time is nearest this map point).  Everything is Qt-free; the layer state goes into the
project file through ``to_dict`` / ``restore_state``.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from gis_desk.core.datasets import DataSource, VectorDataset
from gis_desk.core.layer import VectorLayer, register_layer_kind
from gis_desk.core.style import STYLE_KINDS

# Columns of Telemetry that hold angles (interpolated the short way round for yaws).
ANGLE_FIELDS = ("gimbal_yaw", "gimbal_pitch", "gimbal_roll", "flight_yaw", "flight_pitch", "flight_roll")
VALUE_FIELDS = ("lat", "lon", "rel_alt", "abs_alt") + ANGLE_FIELDS
_YAWS = {"gimbal_yaw", "flight_yaw"}


def _nan(n: int) -> np.ndarray:
    return np.full(n, np.nan)


@dataclass
class Telemetry:
    """A time series of drone positions and attitudes (WGS84 degrees, metres, degrees).

    ``rel_alt`` is height above the take-off point; ``abs_alt`` the altitude the drone reported
    (often barometric and wrong in absolute terms).  Unknown values are NaN.  ``problems`` lists
    what the reader skipped and why; ``notes`` how it interpreted the file (e.g. coordinate order).
    """

    source: str
    format: str
    time_s: np.ndarray
    lat: np.ndarray
    lon: np.ndarray
    rel_alt: np.ndarray
    abs_alt: np.ndarray
    gimbal_yaw: np.ndarray
    gimbal_pitch: np.ndarray
    gimbal_roll: np.ndarray
    flight_yaw: np.ndarray
    flight_pitch: np.ndarray
    flight_roll: np.ndarray
    frame: np.ndarray | None = None
    focal_len_35mm: np.ndarray | None = None
    extras: dict[str, np.ndarray] = field(default_factory=dict)
    home: tuple[float, float] | None = None
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    start_time: str | None = None      # wall-clock time of the first row as written in the file

    @classmethod
    def empty_like(cls, source: str, fmt: str, n: int, **values) -> "Telemetry":
        """A telemetry of ``n`` rows with every array NaN unless given in ``values``."""
        arrays = {name: np.asarray(values.pop(name), dtype=np.float64) if name in values else _nan(n)
                  for name in ("time_s",) + VALUE_FIELDS}
        return cls(source=source, format=fmt, **arrays, **values)

    def __len__(self) -> int:
        return int(self.time_s.shape[0])

    @property
    def duration_s(self) -> float:
        return float(self.time_s[-1] - self.time_s[0]) if len(self) else 0.0

    def subset(self, keep: np.ndarray) -> "Telemetry":
        """The rows selected by a boolean mask or index array (same metadata)."""
        def pick(a):
            return None if a is None else np.asarray(a)[keep]
        arrays = {name: getattr(self, name)[keep] for name in ("time_s",) + VALUE_FIELDS}
        return Telemetry(source=self.source, format=self.format, **arrays, frame=pick(self.frame),
                         focal_len_35mm=pick(self.focal_len_35mm),
                         extras={k: np.asarray(v)[keep] for k, v in self.extras.items()},
                         home=self.home, problems=list(self.problems), notes=list(self.notes),
                         start_time=self.start_time)

    def sorted_by_time(self) -> "Telemetry":
        if len(self) < 2 or np.all(np.diff(self.time_s) >= 0):
            return self
        out = self.subset(np.argsort(self.time_s, kind="stable"))
        out.notes.append("rows were not in time order; sorted by time")
        return out

    def sample_at(self, t: float) -> dict[str, Any]:
        """Values at telemetry time ``t`` (s), linearly interpolated between the two rows around
        it (yaws the short way round); clamped to the first/last row outside the track, with
        ``in_range`` False.  Each value is interpolated over the rows where it is known."""
        n = len(self)
        if n == 0:
            raise ValueError("empty telemetry")
        t = float(t)
        ts = self.time_s
        out: dict[str, Any] = {"time_s": t, "in_range": bool(ts[0] <= t <= ts[-1])}
        i = int(np.clip(np.searchsorted(ts, t, side="right") - 1, 0, n - 1))
        out["index"] = i
        for name in VALUE_FIELDS:
            out[name] = _interp_value(ts, getattr(self, name), t, yaw=name in _YAWS)
        if self.focal_len_35mm is not None:
            out["focal_len_35mm"] = _interp_value(ts, self.focal_len_35mm, t, yaw=False)
        if self.frame is not None:
            out["frame"] = int(self.frame[i])
        return out


def _interp_value(ts: np.ndarray, values: np.ndarray, t: float, *, yaw: bool) -> float:
    ok = np.isfinite(values)
    if not ok.any():
        return math.nan
    if not ok.all():
        ts, values = ts[ok], values[ok]
    j = int(np.searchsorted(ts, t, side="right"))
    if j <= 0:
        return float(values[0])
    if j >= len(ts):
        return float(values[-1])
    t0, t1 = ts[j - 1], ts[j]
    v0, v1 = float(values[j - 1]), float(values[j])
    if t1 <= t0:
        return v1
    f = (t - t0) / (t1 - t0)
    if yaw:
        d = (v1 - v0 + 180.0) % 360.0 - 180.0
        v = v0 + f * d
        return float((v + 180.0) % 360.0 - 180.0)
    return float(v0 + f * (v1 - v0))


@dataclass
class VideoBookmark:
    """A moment of the video with a note, placed where the drone was (x, y in the layer CRS)."""

    time_s: float
    note: str
    lon: float
    lat: float
    x: float
    y: float

    def to_dict(self) -> dict[str, Any]:
        return {"time_s": float(self.time_s), "note": str(self.note), "lon": float(self.lon),
                "lat": float(self.lat), "x": float(self.x), "y": float(self.y)}

    @classmethod
    def from_dict(cls, d: dict) -> "VideoBookmark":
        return cls(float(d["time_s"]), str(d.get("note", "")), float(d.get("lon", math.nan)),
                   float(d.get("lat", math.nan)), float(d.get("x", math.nan)), float(d.get("y", math.nan)))


@dataclass
class FootageStyle:
    """How a flight track is drawn: a line coloured along its length by ``colour_by`` ('time',
    'height' above take-off, or 'none' for a single ``colour``) through the colour ``ramp``,
    with a take-off marker and, optionally, a dot per telemetry row and arrowheads showing the
    direction of flight."""

    kind: ClassVar[str] = "footage"
    colour_by: str = "time"          # time | height | none
    ramp: str = "viridis"
    colour: str = "#e6550dff"
    line_width: float = 3.0
    halo: str | None = "#ffffffb0"   # drawn under the line so it reads on imagery
    show_points: bool = False
    point_size: float = 3.0
    takeoff_marker: bool = True
    takeoff_colour: str = "#d7191cff"
    direction_ticks: bool = False    # arrowheads along the track showing the direction of flight
    tick_spacing_px: float = 80.0
    vmin: float | None = None        # ramp range; None = the track's own range
    vmax: float | None = None


STYLE_KINDS[FootageStyle.kind] = FootageStyle


def default_crs_for(lon: np.ndarray, lat: np.ndarray):
    """British National Grid for tracks in Great Britain, else the WGS84 UTM zone of the track
    (a metric CRS either way, so distances and camera footprints work)."""
    from pyproj import CRS
    lon0, lat0 = float(np.nanmedian(lon)), float(np.nanmedian(lat))
    if -9.0 <= lon0 <= 2.5 and 49.5 <= lat0 <= 61.0:
        return CRS.from_epsg(27700)
    zone = int((lon0 + 180.0) // 6.0) + 1
    return CRS.from_epsg((32600 if lat0 >= 0 else 32700) + min(max(zone, 1), 60))


class FootageDataset(VectorDataset):
    """The telemetry track as points (one per row, same order) in a metric CRS, plus the video."""

    def __init__(self, source: DataSource, telemetry: Telemetry, *, crs=None, video_path: str | None = None):
        import geopandas as gpd

        from gis_desk.core.crs import to_crs, transform_xy
        tel = telemetry
        crs = to_crs(crs) if crs is not None else default_crs_for(tel.lon, tel.lat)
        x, y = transform_xy("EPSG:4326", crs, tel.lon, tel.lat)
        columns: dict[str, Any] = {"time_s": tel.time_s}
        if tel.frame is not None:
            columns["frame"] = tel.frame
        columns.update(lat=tel.lat, lon=tel.lon, rel_alt=tel.rel_alt, abs_alt=tel.abs_alt)
        for name in ANGLE_FIELDS:
            columns[name] = getattr(tel, name)
        if tel.focal_len_35mm is not None:
            columns["focal_len_35mm"] = tel.focal_len_35mm
        frame = gpd.GeoDataFrame(columns, geometry=gpd.points_from_xy(x, y), crs=crs)
        super().__init__(source, frame, driver=f"Drone telemetry ({tel.format})")
        self.telemetry = tel
        self.video_path = video_path
        self.xy = np.column_stack([np.asarray(x, float), np.asarray(y, float)])

    def info(self) -> dict[str, Any]:
        d = super().info()
        tel = self.telemetry
        d.update(kind="footage", format=tel.format, duration_s=round(tel.duration_s, 3),
                 video=self.video_path, problems=list(tel.problems), notes=list(tel.notes),
                 home=list(tel.home) if tel.home else None, start_time=tel.start_time)
        return d


@register_layer_kind(FootageDataset)
class FootageLayer(VectorLayer):
    """A drone flight track linked to its video: sync offset, bookmarks, time/position look-ups.

    Events: ``changed("sync_offset_s")``, ``changed("bookmarks")``, ``changed("video_path")``.
    """

    kind: ClassVar[str] = "footage"

    def __init__(self, dataset: FootageDataset | None, **kw) -> None:
        super().__init__(dataset, **kw)
        self._sync_offset_s = 0.0
        self._bookmarks: list[VideoBookmark] = []
        self._video_path = getattr(dataset, "video_path", None)

    def default_style(self):
        return FootageStyle()

    # -- state ------------------------------------------------------------------------------
    @property
    def telemetry(self) -> Telemetry:
        return self.dataset.telemetry

    @property
    def sync_offset_s(self) -> float:
        return self._sync_offset_s

    @sync_offset_s.setter
    def sync_offset_s(self, value: float) -> None:
        value = float(value)
        if not math.isfinite(value):
            raise ValueError("the sync offset must be a finite number of seconds")
        self._set("sync_offset_s", value)

    @property
    def video_path(self) -> str | None:
        return self._video_path

    @video_path.setter
    def video_path(self, value: str | os.PathLike | None) -> None:
        value = os.path.abspath(os.fspath(value)) if value else None
        if value == self._video_path:
            return
        self._video_path = value
        if self.dataset is not None:
            self.dataset.video_path = value
        self.changed.emit("video_path")

    @property
    def bookmarks(self) -> list[VideoBookmark]:
        return list(self._bookmarks)

    # -- look-ups ---------------------------------------------------------------------------
    def position_at(self, video_time_s: float) -> dict[str, Any]:
        """Where the drone was and how the camera pointed at ``video_time_s``: x, y (layer CRS),
        lon, lat, rel_alt, abs_alt, gimbal/flight angles, focal_len_35mm, ``time_s`` (telemetry
        clock), ``video_time_s`` and ``in_range`` (False when clamped to the track ends)."""
        from gis_desk.core.crs import transform_xy
        s = self.telemetry.sample_at(float(video_time_s) - self._sync_offset_s)
        x, y = transform_xy("EPSG:4326", self.crs, [s["lon"]], [s["lat"]])
        s.update(x=float(np.asarray(x)[0]), y=float(np.asarray(y)[0]), video_time_s=float(video_time_s))
        return s

    def time_at(self, x: float, y: float) -> float:
        """The VIDEO time of the track point nearest (x, y) in the layer CRS: the nearest point
        on the track line, its time interpolated between the two rows it lies between."""
        xy = self.dataset.xy
        t = self.telemetry.time_s
        p = np.array([float(x), float(y)])
        if len(xy) == 1:
            return float(t[0] + self._sync_offset_s)
        a, b = xy[:-1], xy[1:]
        ab = b - a
        L2 = np.einsum("ij,ij->i", ab, ab)
        f = np.where(L2 > 0, np.einsum("ij,ij->i", p - a, ab) / np.where(L2 > 0, L2, 1.0), 0.0)
        f = np.clip(f, 0.0, 1.0)
        closest = a + ab * f[:, None]
        d2 = np.einsum("ij,ij->i", closest - p, closest - p)
        k = int(np.nanargmin(d2))
        return float(t[k] + f[k] * (t[k + 1] - t[k]) + self._sync_offset_s)

    # -- bookmarks --------------------------------------------------------------------------
    def add_bookmark(self, video_time_s: float, note: str = "") -> VideoBookmark:
        pos = self.position_at(video_time_s)
        bm = VideoBookmark(float(video_time_s), str(note), pos["lon"], pos["lat"], pos["x"], pos["y"])
        self._bookmarks.append(bm)
        self._bookmarks.sort(key=lambda b: b.time_s)
        self.changed.emit("bookmarks")
        return bm

    def remove_bookmark(self, index: int) -> VideoBookmark:
        bm = self._bookmarks.pop(int(index))
        self.changed.emit("bookmarks")
        return bm

    def update_bookmark(self, index: int, note: str) -> VideoBookmark:
        bm = self._bookmarks[int(index)]
        bm.note = str(note)
        self.changed.emit("bookmarks")
        return bm

    def export_bookmarks(self, path: str | os.PathLike) -> Path:
        """Write the bookmarks as GeoJSON (WGS84 points) or CSV, chosen by the file suffix."""
        from gis_desk.core.crs import crs_id
        from gis_desk.errors import WriterError
        from gis_desk.io.atomic import atomic_write_text
        path = Path(path)
        video = os.path.basename(self._video_path) if self._video_path else None
        suffix = path.suffix.lower()
        if suffix in (".geojson", ".json"):
            feats = [{"type": "Feature",
                      "geometry": {"type": "Point", "coordinates": [round(b.lon, 8), round(b.lat, 8)]},
                      "properties": {"index": i + 1, "video_time_s": round(b.time_s, 3), "note": b.note,
                                     "x": round(b.x, 3), "y": round(b.y, 3), "crs": crs_id(self.crs),
                                     "video": video, "track": os.path.basename(self.source.path)}}
                     for i, b in enumerate(self._bookmarks)]
            text = json.dumps({"type": "FeatureCollection", "features": feats}, indent=2, ensure_ascii=False)
        elif suffix == ".csv":
            buf = io.StringIO()
            w = csv.writer(buf, lineterminator="\n")
            w.writerow(["index", "video_time_s", "timecode", "note", "lat", "lon", "x", "y", "crs", "video"])
            for i, b in enumerate(self._bookmarks):
                w.writerow([i + 1, f"{b.time_s:.3f}", timecode(b.time_s), b.note, f"{b.lat:.8f}", f"{b.lon:.8f}",
                            f"{b.x:.3f}", f"{b.y:.3f}", crs_id(self.crs), video or ""])
            text = buf.getvalue()
        else:
            raise WriterError(f"Bookmarks can be exported as .geojson or .csv, not {path.suffix or 'no suffix'}",
                              path=path, hint="choose a file name ending in .geojson or .csv")
        atomic_write_text(path, text)
        return path

    # -- persistence ------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        d = super().to_dict()
        d["sync_offset_s"] = self._sync_offset_s
        d["bookmarks"] = [b.to_dict() for b in self._bookmarks]
        d["video_path"] = self._video_path
        return d

    def restore_state(self, record: dict[str, Any]) -> None:
        """Apply saved ``sync_offset_s``, ``bookmarks`` and ``video_path`` without firing events
        (called when a project is loaded).  Malformed entries are skipped.  A saved video that no
        longer exists is looked for beside the track file (a moved project folder)."""
        try:
            off = float(record.get("sync_offset_s", 0.0) or 0.0)
            if math.isfinite(off):
                self._sync_offset_s = off
        except (TypeError, ValueError):
            pass
        marks = []
        for b in record.get("bookmarks") or []:
            try:
                marks.append(VideoBookmark.from_dict(b))
            except (TypeError, ValueError, KeyError):
                continue
        self._bookmarks = sorted(marks, key=lambda b: b.time_s)
        video = record.get("video_path")
        if isinstance(video, str) and video:
            if not os.path.exists(video) and self.source is not None:
                beside = os.path.join(os.path.dirname(self.source.path), os.path.basename(video))
                if os.path.exists(beside):
                    video = beside
            if os.path.exists(video) or self._video_path is None:
                self._video_path = video
                if self.dataset is not None:
                    self.dataset.video_path = video


def timecode(t: float) -> str:
    """'h:mm:ss.mmm' for a time in seconds."""
    t = max(0.0, float(t))
    h, rem = divmod(t, 3600.0)
    m, s = divmod(rem, 60.0)
    return f"{int(h)}:{int(m):02d}:{s:06.3f}"
