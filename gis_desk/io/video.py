"""Frame-exact video access with PyAV, and snapshot export (Qt-free).

Why not a media framework: the review workflow needs *the* frame at a given time (to match
telemetry, bookmark a moment, export a snapshot), not "roughly there".  FFmpeg seeks land on a
keyframe, so ``VideoReader.frame(i)`` seeks to the keyframe at or before frame ``i`` and
decodes forward until the frame whose presentation time is frame ``i``'s.  Sequential reads
(playback, stepping forward) continue decoding from where the decoder stands instead of seeking
again, and an LRU cache (a memory budget, so 4K footage keeps fewer frames) holds the frames
shown lately plus the few decoded just before a seek target, so stepping back is free too.

Frame ``i`` is the frame shown from ``i / fps`` to ``(i + 1) / fps`` seconds after the first
frame (constant frame rate, which drone cameras record); a frame's index comes from its
presentation timestamp, so B-frame reordering does not matter.

Errors: ``MissingFileError`` (no file), ``CorruptFileError`` (not a video FFmpeg can read, a
damaged or truncated file; both name the file), ``ReaderError`` (no video stream / codec).
One ``VideoReader`` may be shared by threads: every decode holds the reader's lock.
"""

from __future__ import annotations

import json
import math
import threading
from collections import OrderedDict
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

from gis_desk.errors import CorruptFileError, DataError, MissingFileError, ReaderError

VIDEO_SUFFIXES = (".mp4", ".MP4", ".mov", ".MOV", ".m4v", ".avi", ".mkv")
CACHE_MB = 192  # decoded RGB frames kept, in MB (640x360 = 0.7 MB a frame, 4K = 25 MB)
CACHE_MAX_FRAMES = 120
KEEP_BEHIND = 8  # frames just before a seek target kept too, so stepping back is free
FORWARD_DECODE_LIMIT = 60  # a target this many frames ahead is reached by decoding on, not seeking


def _av():
    import av  # deferred: only video users pay for importing FFmpeg

    return av


class VideoReader:
    """Exact frames of the first video stream of ``path``.

    ``fps`` (from the stream's average rate), ``frame_count``, ``duration_s`` (frame_count /
    fps), ``width``, ``height``; ``frame(index)`` -> RGB uint8 (height, width, 3);
    ``frame_at_time(t)`` -> (index, RGB).  Call ``close()`` (or use ``with``) when done.
    """

    def __init__(self, path: str | Path, *, cache_frames: int | None = None) -> None:
        av = _av()
        self.path = Path(path)
        if not self.path.exists():
            raise MissingFileError("The video file does not exist", path=self.path,
                                   hint="re-point the footage layer to the video's new location")
        if self.path.is_dir():
            raise ReaderError("This is a folder, not a video file", path=self.path)
        try:
            self._container = av.open(str(self.path))
        except av.error.FFmpegError as exc:
            raise CorruptFileError(f"Not a video file that can be read ({_why(exc)})", path=self.path,
                                   hint="the file may be damaged, incomplete (copy interrupted) or not a video")
        streams = self._container.streams.video
        if not streams:
            self._container.close()
            raise ReaderError("The file has no video stream", path=self.path,
                              hint="choose the camera's video file (.MP4 or .MOV)")
        self._stream = stream = streams[0]
        stream.thread_type = "AUTO"  # frame + slice threads: decoding is the cost of a seek
        rate = stream.average_rate or stream.guessed_rate or stream.base_rate
        if not rate or float(rate) <= 0:
            self._container.close()
            raise CorruptFileError("The video stream states no frame rate", path=self.path)
        self.fps = float(rate)
        self._time_base = float(stream.time_base)
        self._start_pts = int(stream.start_time or 0)
        ctx = stream.codec_context
        self.width, self.height = int(ctx.width), int(ctx.height)
        if self.width <= 0 or self.height <= 0:
            self._container.close()
            raise CorruptFileError("The video stream has no picture size", path=self.path)
        self.codec = ctx.name
        self.frame_count = self._count_frames()
        if self.frame_count <= 0:
            self._container.close()
            raise CorruptFileError("The video holds no frames", path=self.path)
        self._lock = threading.RLock()
        self._cache: OrderedDict[int, np.ndarray] = OrderedDict()
        self._cache_frames = max(2, int(cache_frames if cache_frames is not None
                                        else cache_frames_for(self.width, self.height)))
        self._keep_behind = min(KEEP_BEHIND, self._cache_frames - 1)
        self._frames_iter = None  # live decode iterator after the last decoded frame
        self._last_index: int | None = None  # index of the frame the iterator produced last
        self.decoded = 0  # frames decoded so far (benchmarks and tests read it)
        self.seeks = 0

    # -- facts -----------------------------------------------------------------------------------
    def _count_frames(self) -> int:
        if self._stream.frames and self._stream.frames > 0:
            return int(self._stream.frames)
        if self._stream.duration:
            seconds = self._stream.duration * self._time_base
        elif self._container.duration:
            seconds = self._container.duration / 1_000_000
        else:
            return 0
        return int(round(seconds * self.fps))

    @property
    def duration_s(self) -> float:
        return self.frame_count / self.fps

    def time_of(self, index: int) -> float:
        """Start time of frame ``index`` in seconds from the first frame."""
        return index / self.fps

    def index_at_time(self, t: float) -> int:
        """The frame shown at ``t`` seconds, clamped to the first/last frame."""
        if not math.isfinite(t):
            raise DataError(f"A video time must be a finite number of seconds, got {t!r}", path=self.path)
        return int(min(max(math.floor(t * self.fps + 1e-6), 0), self.frame_count - 1))

    def _index_of(self, frame) -> int:
        if frame.pts is None:
            return -1
        return int(round((frame.pts - self._start_pts) * self._time_base * self.fps))

    def _pts_of(self, index: int) -> int:
        return self._start_pts + int(round(index / self.fps / self._time_base))

    # -- frames ----------------------------------------------------------------------------------
    def frame_at_time(self, t: float) -> tuple[int, np.ndarray]:
        """(index, RGB frame) shown at ``t`` seconds; times past the end give the last frame."""
        index = self.index_at_time(t)
        return index, self.frame(index)

    def frame(self, index: int) -> np.ndarray:
        """The exact frame ``index`` (0-based) as RGB uint8 (height, width, 3); read-only.

        Raises ``IndexError`` outside 0..frame_count-1 and ``CorruptFileError`` when the file
        cannot deliver it (damaged or truncated)."""
        index = int(index)
        if not 0 <= index < self.frame_count:
            raise IndexError(f"{self.path.name}: frame {index} is outside the video "
                             f"(frames 0 to {self.frame_count - 1})")
        with self._lock:
            cached = self._cache.get(index)
            if cached is not None:
                self._cache.move_to_end(index)
                return cached
            last = self._last_index
            if self._frames_iter is None or last is None or not 0 < index - last <= FORWARD_DECODE_LIMIT:
                self._seek(index)
            return self._decode_until(index)

    def _seek(self, index: int) -> None:
        av = _av()
        try:
            # backward=True lands on the keyframe at or before the target's pts
            self._container.seek(self._pts_of(index), stream=self._stream, backward=True, any_frame=False)
        except av.error.FFmpegError as exc:
            raise CorruptFileError(f"Could not seek to frame {index} ({_why(exc)})", path=self.path) from exc
        self.seeks += 1
        self._frames_iter = self._container.decode(self._stream)
        self._last_index = None

    def _decode_until(self, index: int) -> np.ndarray:
        av = _av()
        best: tuple[int, Any] | None = None  # latest frame at or before the target
        try:
            for frame in self._frames_iter:
                self.decoded += 1
                got = self._index_of(frame)
                self._last_index = got
                if got < index:
                    best = (got, frame)
                    if index - got <= self._keep_behind and got >= 0 and got not in self._cache:
                        self._keep(got, frame)  # stepping back from the target needs no new seek
                    continue
                if got == index or best is None:
                    return self._keep(index, frame)
                # the stream skipped the target (a dropped frame): the frame on screen at that time
                # is the previous one; the decoder now stands past it, so a later request re-seeks
                self._frames_iter = None
                return self._keep(index, best[1])
        except av.error.FFmpegError as exc:
            self._frames_iter = None
            raise CorruptFileError(f"Frame {index} could not be decoded ({_why(exc)})", path=self.path,
                                   hint="the video file is damaged") from exc
        self._frames_iter = None
        self._last_index = None
        if best is not None and index - best[0] <= 1 and index == self.frame_count - 1:
            return self._keep(index, best[1])  # containers sometimes count one frame too many
        reached = "no frame" if best is None else f"frame {best[0]}"
        raise CorruptFileError(f"The video ends early: frame {index} of {self.frame_count} was asked for but "
                               f"decoding stopped at {reached}", path=self.path,
                               hint="the file looks truncated (an interrupted copy or recording)")

    def _keep(self, index: int, frame) -> np.ndarray:
        rgb = frame.to_ndarray(format="rgb24")
        rgb.flags.writeable = False
        self._cache[index] = rgb
        while len(self._cache) > self._cache_frames:
            self._cache.popitem(last=False)
        return rgb

    def clear_cache(self) -> None:
        with self._lock:
            self._cache.clear()

    # -- lifetime --------------------------------------------------------------------------------
    def close(self) -> None:
        with self._lock:
            self._frames_iter = None
            self._cache.clear()
            self._container.close()

    def __enter__(self) -> VideoReader:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __repr__(self) -> str:
        return (f"VideoReader({self.path.name!r}, {self.width}x{self.height}, {self.fps:g} fps, "
                f"{self.frame_count} frames)")

    def export_snapshot(self, png_path: str | Path, image: np.ndarray, *, time_s: float,
                        position: dict | None, crs: Any, frame_index: int | None = None) -> tuple[Path, Path]:
        """``export_snapshot`` with this reader's video as the source."""
        if frame_index is None:
            frame_index = self.index_at_time(time_s)
        return export_snapshot(png_path, image, time_s=time_s, position=position, crs=crs,
                               video_path=self.path, frame_index=frame_index)


def cache_frames_for(width: int, height: int) -> int:
    """How many decoded frames of this size the cache keeps: a memory budget (``CACHE_MB``),
    not a frame count, since a 4K frame is 36 times a 640x360 one; at least 2, at most
    ``CACHE_MAX_FRAMES``."""
    return int(max(2, min(CACHE_MAX_FRAMES, CACHE_MB * 1_000_000 // max(1, width * height * 3))))


def _why(exc: Exception) -> str:
    text = getattr(exc, "strerror", None) or str(exc)
    return text.split(":")[-1].strip() if ": '" in text else text


def find_video_for(path: str | Path) -> Path | None:
    """The video next to ``path`` with the same stem (DJI writes DJI_0001.MP4 + DJI_0001.SRT)."""
    path = Path(path)
    for suffix in VIDEO_SUFFIXES:
        candidate = path.with_suffix(suffix)
        if candidate.exists() and candidate != path:
            return candidate
    return None


# -- snapshots -------------------------------------------------------------------------------------
_RECORD_KEYS = ("rel_alt", "abs_alt", "gimbal_yaw", "gimbal_pitch", "gimbal_roll", "flight_yaw",
                "flight_pitch", "flight_roll", "telemetry_time_s")


def _number(value: Any) -> float | None:
    try:
        value = float(value)
    except (TypeError, ValueError):
        return None
    return value if math.isfinite(value) else None


def export_snapshot(png_path: str | Path, image: np.ndarray, *, time_s: float, position: dict | None,
                    crs: Any, video_path: str | Path | None = None,
                    frame_index: int | None = None, note: str | None = None) -> tuple[Path, Path]:
    """Write ``image`` (RGB or RGBA uint8) as ``png_path`` and a GeoJSON Point record beside it
    (same stem, ``.geojson``); returns (png, geojson).

    The point is the camera position at the frame: RFC 7946 lon/lat geometry, with the map
    position (``x``, ``y`` in ``crs``), time, height and attitude as properties.  Without a
    position the record has a null geometry (the frame is still worth keeping).
    """
    from PIL import Image

    from gis_desk.core.crs import crs_id
    from gis_desk.io.atomic import atomic_write_bytes, atomic_write_text

    png_path = Path(png_path)
    if png_path.suffix.lower() != ".png":
        png_path = png_path.with_suffix(".png")
    array = np.ascontiguousarray(image)
    if array.dtype != np.uint8 or array.ndim != 3 or array.shape[2] not in (3, 4):
        raise DataError(f"A snapshot needs an RGB(A) uint8 image, got {array.dtype} {array.shape}",
                        path=png_path)
    import io

    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="PNG")
    atomic_write_bytes(png_path, buffer.getvalue())

    position = dict(position or {})
    lon, lat = _number(position.get("lon")), _number(position.get("lat"))
    geometry = {"type": "Point", "coordinates": [lon, lat]} if lon is not None and lat is not None else None
    props: dict[str, Any] = {
        "image": png_path.name,
        "video": str(video_path) if video_path is not None else None,
        "frame_index": int(frame_index) if frame_index is not None else None,
        "time_s": round(float(time_s), 4),
        "lon": lon, "lat": lat,
        "x": _number(position.get("x")), "y": _number(position.get("y")),
        "crs": crs_id(crs) if crs is not None else None,
        "exported": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }
    for key in _RECORD_KEYS:
        if key in position:
            props[key] = _number(position[key])
    if note:
        props["note"] = note
    record = {"type": "FeatureCollection",
              "features": [{"type": "Feature", "geometry": geometry, "properties": props}]}
    geojson = png_path.with_suffix(".geojson")
    atomic_write_text(geojson, json.dumps(record, indent=2))
    return png_path, geojson


# -- synthetic clips with known frames (tests, benchmarks) -----------------------------------------
CODE_BITS = 12  # frame numbers up to 4095 drawn as blocks


def numbered_frame(index: int, width: int = 320, height: int = 180) -> np.ndarray:
    """An RGB frame whose top band shows ``index`` in binary as white/black blocks (robust to
    lossy compression) over a colour gradient that changes with the index."""
    rgb = np.zeros((height, width, 3), np.uint8)
    rgb[..., 0] = np.linspace(0, 255, width, dtype=np.uint8)[None, :]
    rgb[..., 1] = (index * 37) % 256
    rgb[..., 2] = np.linspace(0, 255, height, dtype=np.uint8)[:, None]
    block = width // CODE_BITS
    band = height // 3
    for bit in range(CODE_BITS):
        rgb[:band, bit * block:(bit + 1) * block] = 255 if (index >> bit) & 1 else 0
    return rgb


def read_frame_number(rgb: np.ndarray) -> int:
    """The index drawn by ``numbered_frame`` (sampled at block centres, so scaling is fine)."""
    height, width = rgb.shape[:2]
    block = width / CODE_BITS
    y = int(height / 6)
    value = 0
    for bit in range(CODE_BITS):
        x = int((bit + 0.5) * block)
        if rgb[y, x, :3].mean() > 127:
            value |= 1 << bit
    return value


def write_numbered_clip(path: str | Path, *, seconds: float = 3.0, fps: int = 25, width: int = 320,
                        height: int = 180, gop: int = 12, faststart: bool = False) -> Path:
    """Write an H.264 MP4 of numbered frames (``numbered_frame``) with a keyframe every ``gop``
    frames and B-frames, so exact seeking has to decode forward from a keyframe."""
    av = _av()
    path = Path(path)
    options = {"movflags": "faststart"} if faststart else {}
    with av.open(str(path), "w", options=options) as out:
        stream = out.add_stream("libx264", rate=fps)
        stream.width, stream.height = width, height
        stream.pix_fmt = "yuv420p"
        stream.codec_context.gop_size = gop
        stream.options = {"bf": "2", "g": str(gop), "keyint_min": str(gop), "sc_threshold": "0",
                          "crf": "18", "preset": "veryfast"}
        for i in range(int(round(seconds * fps))):
            frame = av.VideoFrame.from_ndarray(numbered_frame(i, width, height), format="rgb24")
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return path
