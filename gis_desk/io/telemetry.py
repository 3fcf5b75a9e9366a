"""Drone flight telemetry readers: DJI SRT, GPX tracks and flight-record CSV exports.

``read_srt`` (in ``gis_desk.io.srt``), ``read_gpx`` and ``read_flight_csv`` each return a
``Telemetry``; ``read_footage`` is the reader the session uses (manifest id
``builtins.read_footage``): it returns one ``FootageDataset`` and finds the video beside the
track by its stem (``.mp4 .MP4 .mov .MOV``).

Times: ``time_s`` is seconds from the video start.  SRT cue times already are; GPX and CSV
logs count from their first row, and ``time_offset_s`` says how many seconds into the log the
video started (``time_s = log time - time_offset_s``).  For a CSV with an ``isVideo`` column,
``time_offset_s="auto"`` takes the first row where recording is on.
"""

from __future__ import annotations

import math
import os
import re
from pathlib import Path
from typing import Any

import numpy as np

from gis_desk.core.datasets import DataSource
from gis_desk.core.footage import FootageDataset, Telemetry
from gis_desk.errors import CorruptFileError, DataError, MissingFileError, ReaderError
from gis_desk.io.srt import parse_srt_text, read_srt

__all__ = ["read_srt", "parse_srt_text", "read_gpx", "read_flight_csv", "read_telemetry", "read_footage",
           "find_video"]

VIDEO_SUFFIXES = (".mp4", ".MP4", ".mov", ".MOV")
FEET = 0.3048


def _check_file(path) -> Path:
    p = Path(path)
    if not p.exists():
        raise MissingFileError("The telemetry file does not exist", path=p)
    if p.is_dir():
        raise ReaderError("This is a folder, not a telemetry file", path=p)
    return p


# --- GPX -----------------------------------------------------------------------------------


def _iso_seconds(text: str) -> float:
    """Seconds since the epoch of an ISO 8601 time (GPX writes UTC 'Z' or an offset)."""
    from datetime import datetime, timezone
    t = text.strip().replace("Z", "+00:00")
    dt = datetime.fromisoformat(t)
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=timezone.utc)
    return dt.timestamp()


def read_gpx(path, time_offset_s: float = 0.0) -> Telemetry:
    """Track points (``trk/trkseg/trkpt``; route points when there is no track) of a GPX 1.0 or
    1.1 file, with ``ele`` as ``abs_alt`` and ``time``.  Points without a valid position are
    skipped (listed in ``problems``); points without a time get none interpolated from their
    neighbours.  Raises ``DataError`` when no point has a position."""
    from defusedxml import ElementTree as ET
    p = _check_file(path)
    try:
        root = ET.parse(str(p)).getroot()
    except ET.ParseError as exc:
        raise CorruptFileError(f"This GPX file is not valid XML: {exc}", path=p,
                               hint="the file may be truncated; re-export it") from exc
    except Exception as exc:  # defusedxml refuses entity tricks
        raise CorruptFileError(f"This GPX file could not be read: {exc}", path=p) from exc
    ns = root.tag[1:root.tag.index("}")] if root.tag.startswith("{") else ""
    q = (lambda tag: f"{{{ns}}}{tag}") if ns else (lambda tag: tag)
    if root.tag != q("gpx"):
        raise DataError("This is XML but not a GPX file (no <gpx> root element)", path=p)
    points = root.findall(f".//{q('trkpt')}") or root.findall(f".//{q('rtept')}")
    if not points:
        raise DataError("The GPX file holds no track or route points", path=p,
                        hint="waypoints alone do not make a flight track")
    lat, lon, ele, times = [], [], [], []
    problems: list[str] = []
    bad = 0
    for i, pt in enumerate(points):
        try:
            la, lo = float(pt.get("lat")), float(pt.get("lon"))
        except (TypeError, ValueError):
            bad += 1
            continue
        if not (abs(la) <= 90 and abs(lo) <= 180):
            bad += 1
            continue
        e = pt.find(q("ele"))
        tm = pt.find(q("time"))
        try:
            ev = float(e.text) if e is not None and e.text else math.nan
        except ValueError:
            ev = math.nan
        try:
            tv = _iso_seconds(tm.text) if tm is not None and tm.text else math.nan
        except ValueError:
            tv = math.nan
            problems.append(f"point {i + 1}: unreadable time {tm.text!r}")
        lat.append(la), lon.append(lo), ele.append(ev), times.append(tv)
    if bad:
        problems.append(f"{bad} point{'s' if bad != 1 else ''} without a valid lat/lon skipped")
    if not lat:
        raise DataError("No GPX point has a valid position", path=p)
    t = np.array(times)
    notes = []
    start_time = None
    if np.isfinite(t).any():
        ok = np.isfinite(t)
        if not ok.all():
            idx = np.arange(len(t))
            t = np.interp(idx, idx[ok], t[ok])
            problems.append(f"{int((~ok).sum())} point(s) without a time: times interpolated")
        from datetime import datetime, timezone
        start_time = datetime.fromtimestamp(float(t[0]), tz=timezone.utc).isoformat().replace("+00:00", "Z")
        t = t - t[0]
    else:
        t = np.arange(len(lat), dtype=float)
        notes.append("the GPX points carry no times: one second apart assumed")
    tel = Telemetry.empty_like(str(p), "gpx", len(lat), time_s=t - float(time_offset_s), lat=lat, lon=lon,
                               abs_alt=ele, problems=problems, notes=notes, start_time=start_time)
    tel.frame = None
    return tel.sorted_by_time()


# --- flight-record CSV ---------------------------------------------------------------------

# Normalised column name (lower case, units and spaces removed) -> telemetry field.
_CSV_COLUMNS: dict[str, tuple[str, ...]] = {
    "time": ("time(millisecond)", "time(ms)", "osd.flytime", "flytime", "time_s", "time(s)", "time",
             "offsettime", "elapsed_time"),
    "lat": ("latitude", "osd.latitude", "lat", "gps.latitude"),
    "lon": ("longitude", "osd.longitude", "lon", "lng", "long", "gps.longitude"),
    "rel_alt": ("height_above_takeoff", "osd.height", "relative_altitude", "rel_alt", "height", "altitude",
                "osd.vpsheight_not"),
    "abs_alt": ("altitude_above_sealevel", "osd.altitude", "abs_alt", "gps.altitude", "altitude_msl"),
    "gimbal_yaw": ("gimbal_heading", "gimbal.yaw", "gimbal_yaw", "gimbal.yaw360"),
    "gimbal_pitch": ("gimbal_pitch", "gimbal.pitch"),
    "gimbal_roll": ("gimbal_roll", "gimbal.roll"),
    "flight_yaw": ("compass_heading", "osd.yaw", "yaw", "osd.yaw360", "heading"),
    "flight_pitch": ("pitch", "osd.pitch"),
    "flight_roll": ("roll", "osd.roll"),
    "is_video": ("isvideo", "camera.isvideo", "is_video"),
    "home_lat": ("home.latitude", "home_latitude"),
    "home_lon": ("home.longitude", "home_longitude"),
    "datetime": ("datetime(utc)", "custom.updatetime", "datetime", "custom.datetime"),
}


def _column_key(name: str) -> tuple[str, float, str]:
    """(normalised name, unit factor to metres / seconds, unit text) of a CSV header."""
    raw = name.strip().lower()
    unit = ""
    m = re.search(r"[\[(]([^\])]+)[\])]\s*$", raw)
    if m:
        unit = m.group(1).strip()
    base = re.sub(r"\s*[\[(][^\])]*[\])]\s*$", "", raw).strip().replace(" ", "_")
    factor = 1.0
    if unit in ("feet", "ft", "foot"):
        factor = FEET
    elif unit in ("millisecond", "milliseconds", "ms"):
        factor = 0.001
    if raw in ("time(millisecond)", "time(ms)"):
        return raw, 0.001, unit
    return base, factor, unit


def _flytime_seconds(series) -> np.ndarray:
    """Numbers, or DJI's '1m 2.3s' / '12.5s' / 'mm:ss' fly-time text, in seconds."""
    import pandas as pd
    num = pd.to_numeric(series, errors="coerce").to_numpy(dtype=float)
    if np.isfinite(num).mean() > 0.5:
        return num
    out = np.full(len(series), np.nan)
    for i, v in enumerate(series.astype(str)):
        m = re.fullmatch(r"\s*(?:(\d+)\s*m)?\s*(?:([\d.]+)\s*s)?\s*", v)
        if m and (m.group(1) or m.group(2)):
            out[i] = int(m.group(1) or 0) * 60 + float(m.group(2) or 0)
            continue
        m = re.fullmatch(r"\s*(\d+):(\d\d(?:\.\d+)?)\s*", v)
        if m:
            out[i] = int(m.group(1)) * 60 + float(m.group(2))
    return out


def read_flight_csv(path, time_offset_s: float | str = 0.0) -> Telemetry:
    """A DJI flight record exported as CSV (Airdata, DJI flight-record / PhantomHelp ``OSD.*``
    columns, Litchi-style logs).  Recognised columns (case, units and spacing ignored): time
    (``time(millisecond)`` or ``OSD.flyTime [s]``), ``latitude``/``OSD.latitude``,
    ``longitude``/``OSD.longitude``, height above take-off (``height_above_takeoff(feet)``,
    ``OSD.height [m]``, ``altitude(m)``), ``altitude_above_seaLevel``/``OSD.altitude``, gimbal
    and aircraft heading/pitch/roll, ``isVideo``.  Feet are converted to metres.  Rows without a
    position (or at 0, 0 before a GPS fix) are skipped and counted in ``problems``."""
    import pandas as pd
    p = _check_file(path)
    try:
        df = pd.read_csv(p, sep=None, engine="python", encoding="utf-8-sig", on_bad_lines="skip")
    except UnicodeDecodeError:
        df = pd.read_csv(p, sep=None, engine="python", encoding="latin-1", on_bad_lines="skip")
    except (pd.errors.EmptyDataError, pd.errors.ParserError) as exc:
        raise DataError(f"The CSV file could not be read as a table: {exc}", path=p) from exc
    cols: dict[str, tuple[str, float]] = {}
    keyed = {}
    for c in df.columns:
        key, factor, unit = _column_key(str(c))
        keyed.setdefault(key, (c, factor))
    for field, names in _CSV_COLUMNS.items():
        for n in names:
            if n in keyed:
                cols[field] = keyed[n]
                break
    if "lat" not in cols or "lon" not in cols:
        raise DataError("The CSV has no latitude/longitude columns of a drone flight log", path=p,
                        hint="expected columns such as latitude, longitude, time(millisecond) "
                             "(Airdata) or OSD.latitude, OSD.longitude, OSD.flyTime (DJI flight record)")
    n = len(df)

    def num(field: str) -> np.ndarray:
        if field not in cols:
            return np.full(n, np.nan)
        c, factor = cols[field]
        return pd.to_numeric(df[c], errors="coerce").to_numpy(dtype=float) * factor

    lat, lon = num("lat"), num("lon")
    problems: list[str] = []
    notes: list[str] = []
    if "time" in cols:
        c, factor = cols["time"]
        t = _flytime_seconds(df[c]) * factor
        notes.append(f"time from column {c!r}")
    else:
        t = np.arange(n, dtype=float) * 0.1
        notes.append("no time column: rows taken 0.1 s apart (DJI flight records log at 10 Hz)")
    valid = (np.isfinite(lat) & np.isfinite(lon) & (np.abs(lat) <= 90) & (np.abs(lon) <= 180)
             & ~((lat == 0) & (lon == 0)) & np.isfinite(t))
    if not valid.any():
        raise DataError("No row of the flight log has a position and time", path=p)
    if (~valid).sum():
        problems.append(f"{int((~valid).sum()):,} of {n:,} rows without a position or time skipped")
    is_video = num("is_video")
    if time_offset_s == "auto":
        rec = np.flatnonzero(valid & (is_video > 0))
        if len(rec):
            time_offset_s = float(t[rec[0]] - t[np.flatnonzero(valid)[0]])
            notes.append(f"video start taken from the first isVideo row: {time_offset_s:.1f} s into the log")
        else:
            time_offset_s = 0.0
            notes.append("no isVideo row: the video is assumed to start with the log")
    t0 = t[np.flatnonzero(valid)[0]]
    values = {f: num(f)[valid] for f in ("rel_alt", "abs_alt", "gimbal_yaw", "gimbal_pitch", "gimbal_roll",
                                         "flight_yaw", "flight_pitch", "flight_roll")}
    for f in ("gimbal_yaw", "flight_yaw"):   # some exports write 0..360
        values[f] = (values[f] + 180.0) % 360.0 - 180.0
    home = None
    hl, ho = num("home_lat"), num("home_lon")
    ok = np.isfinite(hl) & np.isfinite(ho) & (hl != 0)
    if ok.any():
        home = (float(hl[ok][0]), float(ho[ok][0]))
    extras = {}
    if np.isfinite(is_video).any():
        extras["is_video"] = is_video[valid]
    start_time = None
    if "datetime" in cols:
        start_time = str(df[cols["datetime"][0]].iloc[int(np.flatnonzero(valid)[0])])
    tel = Telemetry.empty_like(str(p), "dji-flightrecord-csv", int(valid.sum()),
                               time_s=t[valid] - t0 - float(time_offset_s), lat=lat[valid], lon=lon[valid],
                               **values, extras=extras, home=home, problems=problems, notes=notes,
                               start_time=start_time)
    return tel.sorted_by_time()


# --- the reader ----------------------------------------------------------------------------


def read_telemetry(path, time_offset_s: float | str = 0.0) -> Telemetry:
    """SRT, GPX or flight-log CSV, chosen by the file suffix."""
    p = _check_file(path)
    suffix = p.suffix.lower()
    if suffix == ".gpx":
        # a GPX has no recording flag: "auto" means the video started with the log
        return read_gpx(p, 0.0 if time_offset_s in ("auto", None) else float(time_offset_s))
    if suffix in (".csv", ".txt"):
        return read_flight_csv(p, time_offset_s)
    tel = read_srt(p)
    if time_offset_s not in (0, 0.0, "auto", None):
        tel.time_s = tel.time_s - float(time_offset_s)
    return tel


def find_video(track_path) -> str | None:
    """The video beside a track file with the same stem (``DJI_0001.SRT`` -> ``DJI_0001.MP4``)."""
    p = Path(track_path)
    for suffix in VIDEO_SUFFIXES:
        candidate = p.with_suffix(suffix)
        if candidate.is_file():
            return str(candidate.resolve())
    return None


def read_footage(path, *, crs=None, video: str | None = None, time_offset_s: float | str = 0.0,
                 **options: Any) -> list[FootageDataset]:
    """Reader ``builtins.read_footage``: a drone track (SRT, GPX or flight CSV) as one
    ``FootageDataset`` of points (British National Grid in Great Britain, else the UTM zone of
    the track, unless ``crs`` is given), linked to ``video`` or the video found beside it."""
    p = _check_file(path)
    tel = read_telemetry(p, time_offset_s)
    if video:
        video_path = os.path.abspath(video)
    else:
        video_path = find_video(p)
    opts: dict[str, Any] = {}
    if crs is not None:
        from gis_desk.core.crs import crs_id
        opts["crs"] = crs_id(crs)
    if video:
        opts["video"] = video_path
    if time_offset_s not in (0, 0.0, None):
        opts["time_offset_s"] = time_offset_s
    source = DataSource(str(p.resolve()), "builtins.read_footage", opts)
    return [FootageDataset(source, tel, crs=crs, video_path=video_path)]
