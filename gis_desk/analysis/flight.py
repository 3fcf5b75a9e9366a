"""A drone flight in figures: how long, how far, how high and how far out it went, and whether it
kept to a height / distance policy.

Planning and enforcement officers reviewing footage want the figures a permission or the drone
code turns on (the UK limit is 120 m above the surface; a site condition may cap the distance from
the take-off point).  Heights come from ``rel_alt`` (above take-off: the figure the drone itself
measures well; ``abs_alt`` is often barometric and wrong).  Distances are geodesic on the WGS84
ellipsoid (``pyproj.Geod``), so they do not depend on any map projection.  Qt-free.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

import numpy as np

from gis_desk.core.footage import Telemetry
from gis_desk.errors import DataError

DEFAULT_MAX_HEIGHT_M = 120.0


@dataclass
class FlightSummary:
    """Figures of one flight; NaN where the track does not say (e.g. no height recorded).

    ``takeoff`` is (lat, lon): the HOME point when the file states one, else the first fix.
    ``exceeds`` holds one sentence per broken policy; ``notes`` what could not be checked."""

    duration_s: float
    distance_m: float
    max_height_m: float
    max_distance_from_takeoff_m: float
    takeoff: tuple[float, float] | None
    exceeds: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    points: int = 0
    max_height_time_s: float = math.nan
    max_distance_time_s: float = math.nan
    min_height_m: float = math.nan
    max_abs_alt_m: float = math.nan
    max_speed_m_s: float = math.nan
    policy: dict = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.exceeds

    def to_dict(self) -> dict:
        d = asdict(self)
        d["takeoff"] = list(self.takeoff) if self.takeoff else None
        return {k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in d.items()}


def _nanmax_at(values: np.ndarray, times: np.ndarray) -> tuple[float, float]:
    ok = np.isfinite(values)
    if not ok.any():
        return math.nan, math.nan
    i = int(np.flatnonzero(ok)[np.argmax(values[ok])])
    return float(values[i]), float(times[i])


def flight_summary(telemetry: Telemetry, *, max_height_m: float | None = DEFAULT_MAX_HEIGHT_M,
                   max_distance_m: float | None = None) -> FlightSummary:
    """The summary of ``telemetry``; ``max_height_m`` (above take-off) and ``max_distance_m``
    (horizontal, from take-off) are the policy limits to check (None: not checked).  Raises
    ``DataError`` when the telemetry holds no position."""
    from pyproj import Geod

    lat = np.asarray(telemetry.lat, float)
    lon = np.asarray(telemetry.lon, float)
    t = np.asarray(telemetry.time_s, float)
    ok = np.isfinite(lat) & np.isfinite(lon)
    if not ok.any():
        raise DataError("The flight track has no position to summarise", path=telemetry.source or None)
    geod = Geod(ellps="WGS84")
    la, lo, tt = lat[ok], lon[ok], t[ok]
    if len(la) > 1:
        _, _, seg = geod.inv(lo[:-1], la[:-1], lo[1:], la[1:])
        seg = np.asarray(seg, float)
        distance = float(seg.sum())
        dt = np.diff(tt)
        with np.errstate(invalid="ignore", divide="ignore"):
            speed = np.where(dt > 0, seg / np.where(dt > 0, dt, 1.0), np.nan)
        max_speed = float(np.nanmax(speed)) if np.isfinite(speed).any() else math.nan
    else:
        distance, max_speed = 0.0, math.nan
    takeoff = tuple(float(v) for v in telemetry.home) if telemetry.home else (float(la[0]), float(lo[0]))
    _, _, out = geod.inv(np.full(len(la), takeoff[1]), np.full(len(la), takeoff[0]), lo, la)
    max_dist, max_dist_t = _nanmax_at(np.asarray(out, float), tt)
    rel = np.asarray(telemetry.rel_alt, float)
    max_h, max_h_t = _nanmax_at(rel, t)
    min_h = float(np.nanmin(rel)) if np.isfinite(rel).any() else math.nan
    abs_alt = np.asarray(telemetry.abs_alt, float)
    max_abs = float(np.nanmax(abs_alt)) if np.isfinite(abs_alt).any() else math.nan

    exceeds: list[str] = []
    notes: list[str] = []
    if not telemetry.home:
        notes.append("take-off taken as the first position of the track (the file states no home point)")
    if max_height_m is not None:
        if not math.isfinite(max_h):
            notes.append("the track records no height above take-off: the height policy could not be checked")
        elif max_h > max_height_m:
            exceeds.append(f"Maximum height {max_h:.0f} m above take-off exceeds the {max_height_m:g} m policy "
                           f"(at {max_h_t:.1f} s)")
    if max_distance_m is not None and math.isfinite(max_dist) and max_dist > max_distance_m:
        exceeds.append(f"Maximum distance {max_dist:.0f} m from take-off exceeds the {max_distance_m:g} m policy "
                       f"(at {max_dist_t:.1f} s)")
    return FlightSummary(duration_s=float(tt[-1] - tt[0]) if len(tt) else 0.0, distance_m=distance,
                         max_height_m=max_h, max_distance_from_takeoff_m=max_dist, takeoff=takeoff,
                         exceeds=exceeds, notes=notes, points=int(ok.sum()), max_height_time_s=max_h_t,
                         max_distance_time_s=max_dist_t, min_height_m=min_h, max_abs_alt_m=max_abs,
                         max_speed_m_s=max_speed,
                         policy={"max_height_m": max_height_m, "max_distance_m": max_distance_m})
