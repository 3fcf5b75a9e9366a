"""Which drone photos and stretches of footage show a site (a planning application, a property).

A photo belongs to a site when its ground footprint meets the site grown by ``distance`` metres,
or, without a footprint, when the camera stands within ``distance``.  Footage is split into the
time intervals during which the track is within ``distance`` of the site (or its footprint meets
it), so an officer can jump straight to the moments that matter.  Everything is in the site's
metric CRS (British National Grid by default); layers in other CRSs are transformed first.
"""

from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import shapely


@dataclass(frozen=True)
class PhotoHit:
    row: int           # row of the photo dataset
    path: str
    name: str
    time: str
    distance_m: float  # camera to site (0 inside)
    footprint_overlaps: bool


@dataclass(frozen=True)
class FootageInterval:
    start_s: float     # video time
    end_s: float
    closest_m: float   # nearest approach of the camera position to the site

    @property
    def duration_s(self) -> float:
        return self.end_s - self.start_s


def _in_crs(series: gpd.GeoSeries, crs) -> gpd.GeoSeries:
    if series.crs is None or crs is None or series.crs == crs:
        return series
    return series.to_crs(crs)


def photos_near(dataset, site, distance: float = 25.0, *, crs="EPSG:27700") -> list[PhotoHit]:
    """Photos of a ``PhotoDataset`` that show or stand near ``site`` (a shapely geometry in ``crs``)."""
    frame = dataset.frame
    if not len(frame):
        return []
    cameras = _in_crs(frame.geometry, crs)
    prints = _in_crs(gpd.GeoSeries(dataset.footprints, crs=frame.crs), crs)
    grown = site.buffer(distance) if distance > 0 else site
    dist = cameras.distance(site).to_numpy()
    overlaps = np.array([g is not None and not g.is_empty and g.intersects(grown) for g in prints], bool)
    near = overlaps | (dist <= distance)
    hits = []
    for i in np.flatnonzero(near):
        row = frame.iloc[i]
        hits.append(PhotoHit(int(i), str(dataset.photo_path(int(i))), str(row.get("name", "")),
                             str(row.get("time", "")), float(dist[i]), bool(overlaps[i])))
    return sorted(hits, key=lambda h: (h.time, h.name))


def footage_near(layer, site, distance: float = 50.0, *, crs="EPSG:27700", min_gap_s: float = 2.0,
                 footprints: list | None = None) -> list[FootageInterval]:
    """Video-time intervals of a ``FootageLayer`` during which the camera is within ``distance``
    of ``site`` (or, given per-fix ``footprints``, sees it).  Gaps shorter than ``min_gap_s``
    are bridged so a wobble at the edge does not split a pass in two."""
    frame = layer.dataset.frame
    if not len(frame):
        return []
    points = _in_crs(frame.geometry, crs)
    dist = points.distance(site).to_numpy()
    inside = dist <= distance
    if footprints is not None:
        grown = site.buffer(distance)
        inside |= np.array([f is not None and f.intersects(grown) for f in footprints], bool)
    times = frame["time_s"].to_numpy(float) + float(getattr(layer, "sync_offset_s", 0.0))
    intervals: list[list[float]] = []
    for i in np.flatnonzero(inside):
        t = times[i]
        if intervals and t - intervals[-1][1] <= min_gap_s:
            intervals[-1][1] = t
            intervals[-1][2] = min(intervals[-1][2], dist[i])
        else:
            intervals.append([t, t, dist[i]])
    return [FootageInterval(float(a), float(b), float(c)) for a, b, c in intervals]


def site_geometry(value) -> shapely.Geometry:
    """A site from WKT, a shapely geometry or a GeoSeries/GeoDataFrame (their union)."""
    if isinstance(value, str):
        return shapely.from_wkt(value)
    if hasattr(value, "union_all"):
        return value.union_all()
    if hasattr(value, "geometry") and hasattr(value.geometry, "union_all"):
        return value.geometry.union_all()
    return value
