"""DJI telemetry subtitles (``.SRT``) of every generation into one ``Telemetry``.

DJI drones write a subtitle file beside each video with one cue per frame (or per second on
older models).  The layouts handled:

``dji-per-frame``
    ``FrameCnt: n, DiffTime: 33ms`` + a date line + bracketed ``[key: value]`` groups:
    ``[latitude: ..] [longitude: ..] [rel_alt: .. abs_alt: ..]``, gimbal ``[gb_yaw .. gb_pitch ..
    gb_roll ..]``, ``[drone_yaw ..]``, ``[focal_len: 24.00]`` (Mini/Air/Mavic 3, M30, M300...).
``dji-bracketed``
    The older bracketed style with DJI's ``[longtitude : ..]`` spelling, ``[altitude: ..]`` or
    ``[rel_alt .. abs_alt ..]``, ``[Drone: Yaw:.., Pitch:.., Roll:..]``, ``fnum : 280`` meaning
    f/2.8 and ``focal_len : 240`` meaning 24 mm (Mavic 2, Mavic 2 Enterprise, Mavic Air).
``dji-legacy-gps``
    ``GPS(a, b, n)`` (or ``RTK(a, b, n)``) with ``HOME(a, b)``, ``BAROMETER: h`` or ``D ..m, H ..m`` (Phantom 3/4,
    Mavic Pro, Inspire).  These write longitude first, but not every firmware did: the order is
    decided from the values (a number beyond +-90 can only be a longitude; a pair that reads as
    a place in Great Britain/Ireland one way round only is taken that way; a "latitude" beyond
    +-75 is implausible), then from the HOME pair, and only then from the format's default.
``p4rtk``
    Phantom 4 RTK / Pro V2 style with ``F.PRY (p, r, y)`` and ``G.PRY (p, r, y)`` attitude.

Speed: a one-hour per-frame file is ~108,000 cues.  Each field is pulled out of the whole text
with one compiled regular expression (``findall``); when every field occurs exactly once per cue
the i-th match belongs to the i-th cue, otherwise (damaged files) matches are assigned to cues by
their text position (``finditer`` + ``searchsorted``).  Damaged or truncated files keep every
valid cue and list what was skipped in ``Telemetry.problems``; a file with no valid position
raises ``DataError`` naming it.
"""

from __future__ import annotations

import re
from operator import itemgetter
from pathlib import Path

import numpy as np

from gis_desk.core.footage import Telemetry
from gis_desk.errors import CorruptFileError, DataError, MissingFileError, ReaderError

NUM = r"([-+]?\d+(?:\.\d*)?)"
_S = r"\s*:\s*"

# Cue timing line (the line before it is the cue number, possibly missing).
_TIMING = re.compile(r"\n[ \t]*(\d+):(\d\d):(\d\d)[,.](\d+)[ \t]*-->[ \t]*(\d+):(\d\d):(\d\d)[,.](\d+)")

# field name -> (pattern, number of numeric groups)
_FIELDS: dict[str, re.Pattern] = {
    "frame": re.compile(r"(?:FrameCnt|SrtCnt)" + _S + r"(\d+)"),
    "diff_ms": re.compile(r"DiffTime" + _S + r"(\d+(?:\.\d+)?)\s*ms"),
    "lat": re.compile(r"\[latitude" + _S + NUM),
    "lon": re.compile(r"\[longt?itude" + _S + NUM),
    "rel_alt": re.compile(r"rel_alt" + _S + NUM),
    "abs_alt": re.compile(r"abs_alt" + _S + NUM),
    "altitude": re.compile(r"\[altitude" + _S + NUM),
    "gimbal_yaw": re.compile(r"gb_yaw" + _S + NUM),
    "gimbal_pitch": re.compile(r"gb_pitch" + _S + NUM),
    "gimbal_roll": re.compile(r"gb_roll" + _S + NUM),
    "flight_yaw": re.compile(r"drone_yaw" + _S + NUM),
    "flight_pitch": re.compile(r"drone_pitch" + _S + NUM),
    "flight_roll": re.compile(r"drone_roll" + _S + NUM),
    "focal_len": re.compile(r"\[focal_len" + _S + NUM),
    "fnum": re.compile(r"\[fnum" + _S + NUM),
    "iso": re.compile(r"\[iso" + _S + NUM),
    "ev": re.compile(r"\[ev" + _S + NUM),
    "ct": re.compile(r"\[ct" + _S + NUM),
    "dzoom": re.compile(r"\[dzoom(?:_ratio)?" + _S + NUM),
    "speed_x": re.compile(r"drone_speedx" + _S + NUM),
    "speed_y": re.compile(r"drone_speedy" + _S + NUM),
    "speed_z": re.compile(r"drone_speedz" + _S + NUM),
}
_SHUTTER = re.compile(r"\[shutter" + _S + r"1/" + NUM)
_DRONE_YPR = re.compile(r"Drone:\s*Yaw:\s*" + NUM + r",\s*Pitch:\s*" + NUM + r",\s*Roll:\s*" + NUM)
_DATETIME = re.compile(r"\n[ \t]*(?:<[^>\n]*>)?(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d)(?:[.,](\d{1,3}))?(?:,(\d{1,3}))?")
# Legacy styles.
_GPS = re.compile(r"(?:GPS|RTK)\s*\(\s*" + NUM + r"\s*,\s*" + NUM + r"\s*(?:,\s*" + NUM + r"\s*)?\)")
_HOME = re.compile(r"HOME\s*\(\s*" + NUM + r"\s*,\s*" + NUM)
_LEGACY_DATE = re.compile(r"(\d{4})[.-](\d\d)[.-](\d\d) (\d\d:\d\d:\d\d)")
_BARO = re.compile(r"BAROMETER" + _S + NUM)
_H = re.compile(r"(?:^|[\s,])H\s+" + NUM + r"\s*m\b", re.M)
_D = re.compile(r"(?:^|[\s,])D\s+" + NUM + r"\s*m\b", re.M)
_HS = re.compile(r"H\.S\s+" + NUM)
_VS = re.compile(r"V\.S\s+" + NUM)
_FPRY = re.compile(r"F\.PRY\s*\(\s*" + NUM + r"\s*°?\s*,\s*" + NUM + r"\s*°?\s*,\s*" + NUM)
_GPRY = re.compile(r"G\.PRY\s*\(\s*" + NUM + r"\s*°?\s*,\s*" + NUM + r"\s*°?\s*,\s*" + NUM)
_LEGACY_FNUM = re.compile(r"(?:\bF/|\bFnum\s*:\s*)" + NUM)
_LEGACY_ISO = re.compile(r"\bISO\s*:?\s*" + NUM)
_LEGACY_SHUTTER = re.compile(r"(?:\bSS\s+|\bShutter\s*:\s*)" + NUM)   # 'SS 206.14' / 'Shutter:60' = 1/x s

_ALL_PATTERNS = (*_FIELDS.values(), _SHUTTER, _DRONE_YPR, _GPS, _BARO, _H, _D, _HS, _VS, _FPRY, _GPRY,
                 _LEGACY_FNUM, _LEGACY_ISO, _LEGACY_SHUTTER)

# Great Britain and Ireland, for the coordinate-order check of legacy GPS(...) pairs.
_BRITISH_ISLES = (-11.0, 49.0, 2.5, 61.5)   # lon min, lat min, lon max, lat max


def _to_float(values) -> np.ndarray:
    return np.array(values, dtype=np.float64) if len(values) else np.empty(0)


_FAST_MIN_CUES = 200          # below this the per-field scan is as quick
_FAST_CHUNK_CHARS = 8_000_000  # text tokenised at a time (bounds the memory of the fast path)


class _Cues:
    """Cue boundaries in the text and the assignment of field matches to cues.

    Fast path for long files (``build_fast``): DJI writes every cue with the same words and
    only the numbers changing, so after splitting the text at white space each cue is the same
    number of tokens ``T`` and a field is the token at the same place in every cue (where it is
    in the first cue).  The text is split in chunks; each chunk is checked (a whole number of
    cues, every word-only token of the first cue repeated in each cue) and the known fields'
    tokens are converted to numbers.  Any mismatch abandons the fast path and every field is
    scanned for on its own (``column``: one regex ``findall`` over the text)."""

    def __init__(self, text: str):
        self.text = text
        self._starts: np.ndarray | None = None
        self.n = 0
        self._first = ""                          # text of the first cue, when the fast path holds
        self._fast: dict[tuple, np.ndarray] = {}  # (token index, prefix len, suffix len) -> values

    # -- fast path --------------------------------------------------------------------------
    def _cue_start(self, timing_pos: int) -> int | None:
        """Start of the cue whose timing line begins at ``timing_pos`` (its number line)."""
        line = self.text.rfind("\n", 0, timing_pos) + 1
        return line if self.text[line:timing_pos].strip().isdigit() else None

    def build_fast(self, patterns) -> bool:
        """Prepare every field of ``patterns`` by the token layout; True when it holds."""
        text = self.text
        if self.n < _FAST_MIN_CUES:
            return False
        it = _TIMING.finditer(text)
        try:
            a, b = next(it).start(), next(it).start()
        except StopIteration:
            return False
        s0, s1 = self._cue_start(a), self._cue_start(b)
        if s0 is None or s1 is None or text[:s0].strip():
            return False
        first = text[s0:s1]
        spans = [(m.start(), m.end()) for m in re.finditer(r"\S+", first)]
        T = len(spans)
        words = first.split()
        literal = [(k, w) for k, w in enumerate(words) if not any(c.isdigit() for c in w)]
        wanted: set[tuple] = set()
        for pattern in patterns:
            m = pattern.search(first)
            if m is None:
                continue
            for g in range(1, (pattern.groups or 0) + 1):
                if m.group(g) is None:
                    continue
                c0, c1 = m.span(g)
                k = next((k for k, (t0, t1) in enumerate(spans) if t0 <= c0 and c1 <= t1), None)
                if k is None:
                    return False
                wanted.add((k, c0 - spans[k][0], spans[k][1] - c1))
        parts: dict[tuple, list[np.ndarray]] = {key: [] for key in wanted}
        total, pos = 0, s0
        while pos < len(text):
            end = len(text)
            if pos + _FAST_CHUNK_CHARS < len(text):
                m = _TIMING.search(text, pos + _FAST_CHUNK_CHARS)
                if m is not None:
                    end = self._cue_start(m.start())
                    if end is None or end <= pos:
                        return False
            tokens = text[pos:end].split()
            cues, rest = divmod(len(tokens), T)
            if rest or any(tokens[k::T].count(w) != cues for k, w in literal):
                return False
            for key in wanted:
                k, pre, suf = key
                col = tokens[k::T]
                if pre or suf:
                    col = [v[pre:-suf] for v in col] if suf else [v[pre:] for v in col]
                try:
                    parts[key].append(np.array(col, dtype=np.float64))
                except ValueError:
                    return False
            total += cues
            pos = end
        if total != self.n:
            return False
        self._fast = {key: np.concatenate(v) if v else np.empty(0) for key, v in parts.items()}
        self._first = first
        return True

    def _from_fast(self, pattern: re.Pattern, groups: int) -> list[np.ndarray] | None:
        if not self._first:
            return None
        m = pattern.search(self._first)
        out = []
        for g in range(1, groups + 1):
            if m is None or m.group(g) is None:
                out.append(np.full(self.n, np.nan))     # every cue has the first cue's words
                continue
            c0, c1 = m.span(g)
            key = next((key for key in self._fast if self._key_span(key) == (c0, c1)), None)
            if key is None:
                return None
            out.append(self._fast[key])
        return out

    def _key_span(self, key: tuple) -> tuple[int, int]:
        k, pre, suf = key
        spans = self.__dict__.setdefault("_spans", [(m.start(), m.end()) for m in re.finditer(r"\S+", self._first)])
        return spans[k][0] + pre, spans[k][1] - suf

    def starts(self) -> np.ndarray:
        if self._starts is None:
            self._starts = np.fromiter((m.start() for m in _TIMING.finditer(self.text)), dtype=np.int64)
        return self._starts

    def column(self, pattern: re.Pattern, groups: int = 1) -> list[np.ndarray]:
        """One float array per numeric group, NaN where a cue lacks the field; first match wins."""
        fast = self._from_fast(pattern, groups)
        if fast is not None:
            return fast
        found = pattern.findall(self.text)
        n = self.n
        if len(found) == n:
            if groups == 1:
                return [_to_float(found)]
            return [_to_float([g[k] for g in found]) for k in range(groups)]
        out = [np.full(n, np.nan) for _ in range(groups)]
        if not found:
            return out
        pos, vals = [], []
        for m in pattern.finditer(self.text):
            pos.append(m.start())
            vals.append(m.groups()[:groups])
        cue = np.searchsorted(self.starts(), np.asarray(pos), side="right") - 1
        ok = cue >= 0
        cue_ok = cue[ok]
        first = np.ones(len(cue_ok), dtype=bool)
        first[1:] = cue_ok[1:] != cue_ok[:-1]
        rows = np.flatnonzero(ok)[first]
        for k in range(groups):
            col = np.array([vals[r][k] if vals[r][k] not in (None, "") else "nan" for r in rows], dtype=np.float64)
            out[k][cue_ok[first]] = col
        return out

    def present(self, pattern: re.Pattern) -> bool:
        if self._first:
            return pattern.search(self._first) is not None
        return pattern.search(self.text) is not None


def _times(found) -> tuple[np.ndarray, np.ndarray]:
    a = np.array(found, dtype=object) if found else np.empty((0, 8), dtype=object)

    def secs(h, m, s, frac):
        fr = np.array([int(f) / (10 ** len(f)) for f in frac], dtype=np.float64)
        return (np.array(h, dtype=np.float64) * 3600 + np.array(m, dtype=np.float64) * 60
                + np.array(s, dtype=np.float64) + fr)

    return secs(a[:, 0], a[:, 1], a[:, 2], a[:, 3]), secs(a[:, 4], a[:, 5], a[:, 6], a[:, 7])


def _ranges(idx: np.ndarray) -> str:
    """'5, 9-12, 40' for sorted cue numbers (at most a few groups shown)."""
    if len(idx) == 0:
        return ""
    groups, start, prev = [], int(idx[0]), int(idx[0])
    for v in idx[1:]:
        v = int(v)
        if v == prev + 1:
            prev = v
            continue
        groups.append((start, prev))
        start = prev = v
    groups.append((start, prev))
    text = ", ".join(f"{a}" if a == b else f"{a}-{b}" for a, b in groups[:8])
    return text + (f" and {len(groups) - 8} more ranges" if len(groups) > 8 else "")


def decide_lon_first(a: np.ndarray, b: np.ndarray, home: tuple[float, float] | None = None,
                     default_lon_first: bool = True) -> tuple[bool, str]:
    """Whether the pairs (a, b) are (longitude, latitude), and why."""
    ok = np.isfinite(a) & np.isfinite(b) & ~((a == 0) & (b == 0))
    a, b = a[ok], b[ok]
    if len(a) == 0:
        return default_lon_first, "no usable pairs; format default"
    if np.any(np.abs(a) > 90) and not np.any(np.abs(b) > 90):
        return True, "the first number exceeds 90 degrees, so it is the longitude"
    if np.any(np.abs(b) > 90) and not np.any(np.abs(a) > 90):
        return False, "the second number exceeds 90 degrees, so it is the longitude"
    ma, mb = float(np.median(a)), float(np.median(b))
    x0, y0, x1, y1 = _BRITISH_ISLES
    uk_lat_first = y0 <= ma <= y1 and x0 <= mb <= x1
    uk_lon_first = y0 <= mb <= y1 and x0 <= ma <= x1
    if uk_lat_first != uk_lon_first:
        return uk_lon_first, ("read as longitude, latitude the track lies in Great Britain/Ireland"
                              if uk_lon_first else
                              "read as latitude, longitude the track lies in Great Britain/Ireland")
    polar_a, polar_b = abs(ma) > 75, abs(mb) > 75
    if polar_a != polar_b:
        return polar_a, "the other order puts the drone beyond 75 degrees latitude"
    if home is not None:
        ha, hb = home
        if abs(ha) > 90 >= abs(hb):
            return True, "the HOME pair's first number exceeds 90 degrees"
        if abs(hb) > 90 >= abs(ha):
            return False, "the HOME pair's second number exceeds 90 degrees"
    return default_lon_first, ("longitude first, as this SRT style writes it (values fit either order)"
                               if default_lon_first else "latitude first (values fit either order)")


def parse_srt_text(text: str, source: str = "<srt>") -> Telemetry:
    """Parse the text of a DJI SRT; see the module docstring.  Raises ``DataError``."""
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = "\n" + text.lstrip("\ufeff")
    timing = _TIMING.findall(text)
    cues = _Cues(text)
    cues.n = n = len(timing)
    if n == 0:
        what = "is empty" if not text.strip() else "has no subtitle cues (no 'hh:mm:ss,mmm --> hh:mm:ss,mmm' lines)"
        raise DataError(f"The SRT file {what}", path=source,
                        hint="choose the .SRT written by the drone beside the video")
    t_start, t_end = _times(timing)
    cues.build_fast(_ALL_PATTERNS)
    problems: list[str] = []
    notes: list[str] = []
    extras: dict[str, np.ndarray] = {}
    col = cues.column
    home = None

    bracketed = cues.present(_FIELDS["lat"])
    legacy = cues.present(_GPS)
    if bracketed:
        lat, = col(_FIELDS["lat"])
        lon, = col(_FIELDS["lon"])
        fmt = "dji-per-frame" if re.search(r"\[longitude", text) else "dji-bracketed"
        if fmt == "dji-bracketed":
            notes.append("DJI spells longitude 'longtitude' in this SRT style")
    elif legacy:
        a, b, third = col(_GPS, 3)
        hm = _HOME.search(text)
        if hm:
            home_pair = (float(hm.group(1)), float(hm.group(2)))
        else:
            home_pair = None
        lon_first, why = decide_lon_first(a, b, home_pair)
        lon, lat = (a, b) if lon_first else (b, a)
        notes.append(f"GPS(...) pairs read as {'longitude, latitude' if lon_first else 'latitude, longitude'}: {why}")
        if home_pair is not None:
            home = (home_pair[1], home_pair[0]) if lon_first else home_pair
        fmt = "p4rtk" if cues.present(_FPRY) or cues.present(_GPRY) else "dji-legacy-gps"
        if np.isfinite(third).any():
            # Satellites (small whole numbers) on most firmware, altitude on a few.
            whole = np.all(np.mod(third[np.isfinite(third)], 1) == 0) and np.nanmax(third) <= 40
            extras["satellites" if whole else "gps_alt"] = third
    else:
        raise DataError("The SRT file has cues but none gives a position (no [latitude]/[longitude] or GPS(...))",
                        path=source, hint="this drone or camera may not record GPS in its subtitles")

    # Heights.
    rel_alt, = col(_FIELDS["rel_alt"])
    abs_alt, = col(_FIELDS["abs_alt"])
    if not np.isfinite(abs_alt).any():
        alt, = col(_FIELDS["altitude"])
        if np.isfinite(alt).any():
            abs_alt = alt
            notes.append("[altitude] is the drone's reported altitude, not height above take-off")
    if legacy:
        baro, = col(_BARO)
        h, = col(_H)
        if np.isfinite(baro).any():
            rel_alt = baro
        elif np.isfinite(h).any():
            rel_alt = h
        d, = col(_D)
        if np.isfinite(d).any():
            extras["distance_from_home"] = d
        for name, pat in (("h_speed", _HS), ("v_speed", _VS)):
            v, = col(pat)
            if np.isfinite(v).any():
                extras[name] = v

    # Attitude.
    ang = {name: col(_FIELDS[name])[0] for name in ("gimbal_yaw", "gimbal_pitch", "gimbal_roll",
                                                    "flight_yaw", "flight_pitch", "flight_roll")}
    if not np.isfinite(ang["flight_yaw"]).any() and cues.present(_DRONE_YPR):
        ang["flight_yaw"], ang["flight_pitch"], ang["flight_roll"] = col(_DRONE_YPR, 3)
    if cues.present(_FPRY):
        ang["flight_pitch"], ang["flight_roll"], ang["flight_yaw"] = col(_FPRY, 3)
    if cues.present(_GPRY):
        ang["gimbal_pitch"], ang["gimbal_roll"], ang["gimbal_yaw"] = col(_GPRY, 3)

    # Camera.
    frame_no, = col(_FIELDS["frame"])
    frame = np.where(np.isfinite(frame_no), frame_no, np.arange(1, n + 1)).astype(np.int64)
    fnum, = col(_FIELDS["fnum"])
    if not np.isfinite(fnum).any() and legacy:
        fnum, = col(_LEGACY_FNUM)
    focal = None
    if cues.present(_FIELDS["focal_len"]):
        focal, = col(_FIELDS["focal_len"])
        if np.nanmax(np.where(np.isfinite(fnum), fnum, 0), initial=0) >= 50:
            # 'fnum : 280' / 'focal_len : 240' style: tenths of f-stops and millimetres.
            focal = focal / 10.0
            fnum = fnum / 100.0
    extras["fnum"] = fnum
    iso, = col(_FIELDS["iso"])
    if not np.isfinite(iso).any() and legacy:
        iso, = col(_LEGACY_ISO)
    extras["iso"] = iso
    shutter, = col(_SHUTTER)
    if not np.isfinite(shutter).any() and legacy:
        shutter, = col(_LEGACY_SHUTTER)
    extras["shutter_s"] = np.where(shutter > 0, 1.0 / np.where(shutter > 0, shutter, 1.0), np.nan)
    for name in ("ev", "ct", "dzoom", "speed_x", "speed_y", "speed_z"):
        v, = col(_FIELDS[name])
        if np.isfinite(v).any():
            extras[name] = v
    diff, = col(_FIELDS["diff_ms"])
    if np.isfinite(diff).any():
        extras["diff_ms"] = diff
    extras["end_time_s"] = t_end
    extras = {k: v for k, v in extras.items() if np.isfinite(v).any()}

    # Wall-clock time of the first cue, as the drone wrote it (local time, no zone).
    start_time = None
    dm = _DATETIME.search(text)
    if dm:
        ms = dm.group(2) or ""
        start_time = dm.group(1).replace(" ", "T") + (f".{ms.ljust(3, '0')}" if ms else "")
    else:
        lm = _LEGACY_DATE.search(text)
        if lm:
            start_time = f"{lm.group(1)}-{lm.group(2)}-{lm.group(3)}T{lm.group(4)}"

    tel = Telemetry(source=source, format=fmt, time_s=t_start, lat=lat, lon=lon, rel_alt=rel_alt,
                    abs_alt=abs_alt, **ang, frame=frame, focal_len_35mm=focal, extras=extras, home=home,
                    problems=problems, notes=notes, start_time=start_time)

    # Keep the cues with a usable position; say which were dropped.
    valid = (np.isfinite(lat) & np.isfinite(lon) & (np.abs(lat) <= 90) & (np.abs(lon) <= 180)
             & ~((lat == 0) & (lon == 0)))
    bad = np.flatnonzero(~valid)
    if len(bad):
        truncated_last = bad[-1] == n - 1 and _looks_truncated(text)
        mid = bad[:-1] if truncated_last else bad
        if len(mid):
            zero = (lat[mid] == 0) & (lon[mid] == 0)
            if zero.any():
                problems.append(f"cue{'s' if zero.sum() > 1 else ''} {_ranges(frame[mid][zero])}: no GPS fix "
                                f"(position 0, 0), skipped")
            if (~zero).any():
                problems.append(f"cue{'s' if (~zero).sum() > 1 else ''} {_ranges(frame[mid][~zero])}: "
                                f"no valid position, skipped")
        if truncated_last:
            problems.append(f"the file ends mid-cue {int(frame[-1])}: that cue was skipped")
    if n > 1 and valid[-1]:
        # a last cue that kept its position but lost fields every other cue has: cut short
        lost = [what for what, values in (("height", rel_alt), ("altitude", abs_alt),
                                          ("gimbal angles", ang["gimbal_pitch"]), ("heading", ang["flight_yaw"]))
                if np.isfinite(values[:-1]).all() and not np.isfinite(values[-1])]
        if lost:
            problems.append(f"the file ends mid-cue {int(frame[-1])}: its position was kept, "
                            f"its {' and '.join(lost)} missing")
    if not valid.any():
        raise DataError(f"The SRT file has {n:,} cue{'s' if n != 1 else ''} but no valid position",
                        path=source, hint="the drone may have had no GPS fix while recording"
                        + (f" ({problems[0]})" if problems else ""))
    if len(bad):
        tel = tel.subset(valid)
    return tel.sorted_by_time()


def _looks_truncated(text: str) -> bool:
    """True when the text stops inside a cue (no blank line / closing tag after the last cue)."""
    tail = text.rstrip(" \t")
    last = tail.rfind("-->")
    body = tail[last:]
    return not (body.endswith("\n\n") or body.rstrip().endswith("</font>"))


def read_srt(path) -> Telemetry:
    """Read a DJI ``.SRT`` telemetry file (any generation) into ``Telemetry``.

    Raises ``MissingFileError``, ``ReaderError`` (unreadable), ``CorruptFileError`` (binary, not
    text) or ``DataError`` (no cue, no valid position), each naming the file."""
    p = Path(path)
    if not p.exists():
        raise MissingFileError("The SRT file does not exist", path=p)
    try:
        raw = p.read_bytes()
    except OSError as exc:
        raise ReaderError(f"Could not read the SRT file: {exc.strerror or exc}", path=p) from exc
    if b"\x00" in raw[:4096]:
        if raw[:2] in (b"\xff\xfe", b"\xfe\xff"):
            text = raw.decode("utf-16", errors="replace")
        else:
            raise CorruptFileError("This is not an SRT subtitle file (it holds binary data)", path=p,
                                   hint="choose the .SRT written by the drone beside the video")
    else:
        text = raw.decode("utf-8", errors="replace")
    return parse_srt_text(text, str(p))
