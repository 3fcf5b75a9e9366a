"""Geotagged photos on the map: metadata record, dataset (camera points + footprints), layer.

A ``PhotoDataset`` is a ``VectorDataset`` of camera points (one row per placed photo, row
position = photo id) with a ``footprints`` GeoSeries on the same index: the ground each photo
shows, from its attitude and field of view (``gis_desk.analysis.footprint``).  Photos that
cannot be placed are listed, never dropped silently: ``unplaced`` holds ``(path, reason)``.

Camera height rules (``build_photo_dataset``):

* no terrain (``ground=None``): the ground is flat at the take-off height and the camera is
  ``RelativeAltitude`` above it (DJI's relative altitude is above the take-off point);
* ``ground=<number>``: flat ground at that height; the camera at ``takeoff_height +
  RelativeAltitude`` when ``takeoff_height`` is given, else at ``AbsoluteAltitude``, else at the
  EXIF GPS altitude;
* ``ground=<terrain model>``: the camera at ``takeoff_height + RelativeAltitude`` when given,
  else at ``AbsoluteAltitude`` (or the GPS altitude) when that puts the take-off point
  (absolute - relative) within 100 m of the terrain's height range, else - an implausible
  absolute altitude, which some DJI models write - at the terrain height under the camera
  plus ``RelativeAltitude`` (a note says so).

No footprint (None, with the reason in the ``footprint`` column) when the photo has no gimbal
pitch, no usable height, or a camera whose field of view is unknown (add it to the user's
``cameras.yaml``: see ``gis_desk.analysis.footprint.user_camera_table``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from gis_desk.core.datasets import DataSource, VectorDataset
from gis_desk.core.layer import VectorLayer, register_layer_kind
from gis_desk.core.legend import LegendEntry, register_legend_builder
from gis_desk.core.style import STYLE_KINDS

READER_ID = "builtins.read_photos"
TAKEOFF_TOLERANCE_M = 100.0


@dataclass
class PhotoMeta:
    """What one photo's header says (None where it does not say).

    Angles in degrees (yaw clockwise from north, pitch -90 = straight down); heights in metres:
    ``gps_alt`` EXIF (negative below sea level), ``rel_alt`` above the take-off point,
    ``abs_alt`` DJI's absolute altitude.  ``calibrated_focal_px`` is DJI's
    CalibratedFocalLength (pixels of the full-size image, ``exif_width`` wide).  ``xmp``: every
    drone-dji property as text.  ``thermal``: FLIR / thermal band properties when present.
    """

    path: str
    name: str = ""
    width: int = 0
    height: int = 0
    exif_width: int | None = None
    exif_height: int | None = None
    make: str | None = None
    model: str | None = None
    time: str | None = None
    lat: float | None = None
    lon: float | None = None
    gps_alt: float | None = None
    rel_alt: float | None = None
    abs_alt: float | None = None
    gimbal_yaw: float | None = None
    gimbal_pitch: float | None = None
    gimbal_roll: float | None = None
    flight_yaw: float | None = None
    flight_pitch: float | None = None
    flight_roll: float | None = None
    focal_mm: float | None = None
    focal_35mm: float | None = None
    calibrated_focal_px: float | None = None
    optical_center: tuple[float, float] | None = None
    rtk_flag: int | None = None
    rtk_std: tuple[float | None, float | None, float | None] | None = None
    thermal: dict[str, str] = field(default_factory=dict)
    bands: dict[str, str] = field(default_factory=dict)
    xmp: dict[str, str] = field(default_factory=dict)
    unplaced_reason: str | None = None
    problems: list[str] = field(default_factory=list)

    @property
    def placed(self) -> bool:
        return self.lat is not None and self.lon is not None


# -- field of view ---------------------------------------------------------------------------


def photo_fov(meta: PhotoMeta, table=None) -> tuple[float | None, float | None, str]:
    """(hfov, vfov, source) of a photo: DJI CalibratedFocalLength, else the camera table, else
    the EXIF 35 mm equivalent; (None, None, reason) when none is known."""
    from gis_desk.analysis.footprint import find_camera, fov_from_focal_35mm

    w, h = meta.width, meta.height
    if not w or not h:
        return None, None, "image size unknown"
    aspect = w / h
    if meta.calibrated_focal_px:
        ref_w = w
        if meta.exif_width and meta.exif_height and abs(meta.exif_width / meta.exif_height - aspect) < 0.01:
            ref_w = meta.exif_width  # the calibration is for the full-size image; this may be a copy
        hf = math.degrees(2 * math.atan(ref_w / (2 * meta.calibrated_focal_px)))
        vf = math.degrees(2 * math.atan(math.tan(math.radians(hf) / 2) / aspect))
        return hf, vf, "DJI CalibratedFocalLength"
    spec = find_camera(meta.model, meta.exif_width or w, meta.exif_height or h, table)
    if spec is not None:
        fov = spec.fov(w, h, focal_mm=meta.focal_mm)
        if fov is not None:
            return fov[0], fov[1], f"camera table: {spec.key}"
    if meta.focal_35mm:
        hf, vf = fov_from_focal_35mm(meta.focal_35mm, aspect)
        return hf, vf, "EXIF 35 mm equivalent focal length"
    return None, None, f"unknown camera {meta.model or '(no model)'}: add it to cameras.yaml"


# -- dataset ---------------------------------------------------------------------------------


class PhotoDataset(VectorDataset):
    """Camera points (``frame``) plus ``footprints`` (GeoSeries, same index) and ``unplaced``
    (list of (path, reason)).  ``metas`` keeps each placed photo's full ``PhotoMeta`` by row."""

    def __init__(self, source: DataSource, frame, footprints, unplaced: list[tuple[str, str]],
                 metas: list[PhotoMeta], notes: list[str] | None = None) -> None:
        super().__init__(source, frame, driver="Photos")
        self.footprints = footprints.reset_index(drop=True)
        self.unplaced = list(unplaced)
        self.metas = list(metas)
        self.notes = list(notes or [])

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        if self._bounds is None:
            boxes = []
            for geoms in (self.frame.geometry, self.footprints):
                valid = geoms[~(geoms.isna() | geoms.is_empty)] if len(geoms) else geoms
                if len(valid):
                    boxes.append(valid.total_bounds)
            if boxes:
                b = np.array(boxes)
                self._bounds = (float(b[:, 0].min()), float(b[:, 1].min()), float(b[:, 2].max()), float(b[:, 3].max()))
            else:
                self._bounds = (0.0, 0.0, 0.0, 0.0)
        return self._bounds

    def photo_path(self, row: int) -> str:
        return str(self.frame["path"].iloc[int(row)])

    def info(self) -> dict[str, Any]:
        d = super().info()
        d.update(kind="photos", placed=len(self.frame), unplaced=len(self.unplaced),
                 footprints=int((~(self.footprints.isna())).sum()) if len(self.footprints) else 0,
                 unplaced_files=[f"{Path(p).name}: {why}" for p, why in self.unplaced], notes=self.notes)
        return d


def build_photo_dataset(root: str | Path, metas: list[PhotoMeta], *, crs: Any = None, ground: Any = None,
                        takeoff_height: float | None = None, max_range: float | None = None,
                        unreadable: list[tuple[str, str]] | None = None, recursive: bool = False,
                        feedback=None) -> PhotoDataset:
    """Place photos and compute their footprints (vectorised); see the module docstring."""
    import geopandas as gpd
    import pandas as pd
    import shapely

    from gis_desk.analysis.footprint import DEFAULT_MAX_RANGE, DtmSampler, footprints, user_camera_table
    from gis_desk.core.crs import BNG, WGS84, crs_id, to_crs, transform_xy

    out_crs = to_crs(crs or BNG)
    placed = [m for m in metas if m.placed]
    unplaced = [(m.path, m.unplaced_reason or "no position") for m in metas if not m.placed]
    unplaced += list(unreadable or [])
    notes: list[str] = []
    n = len(placed)
    lon = np.array([m.lon for m in placed], float)
    lat = np.array([m.lat for m in placed], float)
    # footprints need metres: a geographic output CRS gets them computed in the local UTM zone
    work_crs = out_crs
    if out_crs.is_geographic and n:
        from pyproj.aoi import AreaOfInterest
        from pyproj.database import query_utm_crs_info

        info = query_utm_crs_info(datum_name="WGS 84", area_of_interest=AreaOfInterest(
            float(lon.min()), float(lat.min()), float(lon.max()), float(lat.max())))
        work_crs = to_crs(f"EPSG:{info[0].code}") if info else to_crs("EPSG:3857")
    x, y = (np.asarray(v, float) for v in transform_xy(WGS84, work_crs, lon, lat)) if n else (np.zeros(0), np.zeros(0))

    def col(attr):
        return np.array([np.nan if getattr(m, attr) is None else getattr(m, attr) for m in placed], float)

    rel, absa, gps = col("rel_alt"), col("abs_alt"), col("gps_alt")
    yaw = np.where(np.isfinite(col("gimbal_yaw")), col("gimbal_yaw"), col("flight_yaw"))
    pitch, roll = col("gimbal_pitch"), np.nan_to_num(col("gimbal_roll"))
    table = user_camera_table()
    fovs = [photo_fov(m, table) for m in placed]
    hfov = np.array([f[0] if f[0] is not None else np.nan for f in fovs], float)
    vfov = np.array([f[1] if f[1] is not None else np.nan for f in fovs], float)

    # camera heights and the ground
    dtm = None
    ground_kind = "flat ground at take-off height"
    if ground is None:
        cam_z = rel.copy()
        ground_z: Any = 0.0
    elif isinstance(ground, (int, float)):
        ground_z = float(ground)
        ground_kind = f"flat ground at {ground_z:g} m"
        cam_z = (takeoff_height + rel) if takeoff_height is not None else np.where(np.isfinite(absa), absa, gps)
    else:
        pad = DEFAULT_MAX_RANGE if max_range is None else max_range
        bounds = (x.min() - pad, y.min() - pad, x.max() + pad, y.max() + pad) if n else None
        dtm = ground if isinstance(ground, DtmSampler) else DtmSampler(ground, crs=work_crs, bounds=bounds)
        ground_z = dtm
        ground_kind = "terrain " + Path(dtm.path).name
        if takeoff_height is not None:
            cam_z = takeoff_height + rel
        else:
            alt = np.where(np.isfinite(absa), absa, gps)
            takeoff = alt - np.nan_to_num(rel)
            ok = np.isfinite(alt) & (takeoff > dtm.min - TAKEOFF_TOLERANCE_M) & (takeoff < dtm.max + TAKEOFF_TOLERANCE_M)
            under = dtm.height(x, y) if n else np.zeros(0)
            cam_z = np.where(ok, alt, under + rel)
            if n and (~ok & np.isfinite(rel)).any():
                notes.append(f"{int((~ok & np.isfinite(rel)).sum())} photo(s): absolute altitude missing or "
                             "implausible for this terrain; camera placed RelativeAltitude above the "
                             "terrain under it")
    reasons = np.full(n, "", dtype=object)
    reasons[~np.isfinite(pitch)] = "no camera attitude (gimbal pitch) in the photo"
    reasons[~np.isfinite(yaw) & (reasons == "")] = "no camera heading (yaw) in the photo"
    reasons[~np.isfinite(cam_z) & (reasons == "")] = (
        "no height above take-off (RelativeAltitude) in the photo" if ground is None else "no camera height")
    for i in np.flatnonzero(~np.isfinite(hfov) & (reasons == "")):
        reasons[i] = fovs[i][2]
    ok = reasons == ""
    polys = np.full(n, None, dtype=object)
    truncated = np.zeros(n, bool)
    if ok.any():
        fp = footprints(x[ok], y[ok], cam_z[ok], yaw[ok], pitch[ok], roll[ok], hfov[ok], vfov[ok],
                        ground=ground_z, max_range=DEFAULT_MAX_RANGE if max_range is None else max_range)
        polys[ok] = np.array(fp.polygons + [None], dtype=object)[:-1]
        truncated[ok] = fp.truncated
        no_view = ok & np.array([p is None for p in polys])
        reasons[no_view] = "the camera does not look at the ground"
    reasons[ok & (reasons == "")] = np.where(truncated[ok & (reasons == "")],
                                              ground_kind + " (clipped at the horizon)", ground_kind)
    if n and not same_crs_id(work_crs, out_crs):
        x, y = transform_xy(work_crs, out_crs, x, y)
        polys = np.array([shapely.transform(p, lambda c: np.column_stack(transform_xy(work_crs, out_crs, c[:, 0], c[:, 1])))
                          if p is not None else None for p in polys] + [None], dtype=object)[:-1]

    frame = pd.DataFrame({
        "name": [m.name for m in placed], "path": [m.path for m in placed], "time": [m.time for m in placed],
        "make": [m.make for m in placed], "model": [m.model for m in placed],
        "lat": lat, "lon": lon, "gps_alt": gps, "rel_alt": rel, "abs_alt": absa,
        "yaw": yaw, "pitch": pitch, "roll": col("gimbal_roll"), "flight_yaw": col("flight_yaw"),
        "hfov": hfov, "vfov": vfov, "fov_source": [f[2] if f[0] is not None else None for f in fovs],
        "camera_z": cam_z if n else np.zeros(0), "footprint": list(reasons), "truncated": truncated,
        "width": [m.width for m in placed], "height": [m.height for m in placed],
        "rtk_flag": [m.rtk_flag for m in placed], "thermal": [bool(m.thermal) for m in placed],
        # the take-off ground in the altitude's datum: where "flat ground at take-off height" lies
        "takeoff_z": np.where(np.isfinite(absa), absa, gps) - rel if n else np.zeros(0),
        "problems": ["; ".join(m.problems) or None for m in placed],
    })
    notes += [f"{m.name}: {p}" for m in placed for p in m.problems if "truncated" in p or "damaged" in p
              or "not readable" in p]
    geo = gpd.GeoDataFrame(frame, geometry=gpd.points_from_xy(np.asarray(x, float), np.asarray(y, float)),
                           crs=out_crs)
    fps = gpd.GeoSeries(list(polys), crs=out_crs)
    options: dict[str, Any] = {"crs": crs_id(out_crs)}
    if ground is not None:
        options["ground"] = float(ground) if isinstance(ground, (int, float)) else str(
            getattr(ground, "path", None) or _ground_path(ground))
    if takeoff_height is not None:
        options["takeoff_height"] = float(takeoff_height)
    if recursive:
        options["recursive"] = True
    if max_range is not None:
        options["max_range"] = float(max_range)
    source = DataSource(str(Path(root).resolve()), READER_ID, options)
    if feedback is not None:
        feedback.set_progress(100.0)
    return PhotoDataset(source, geo, fps, unplaced, placed, notes)


def same_crs_id(a, b) -> bool:
    from gis_desk.core.crs import same_crs

    return same_crs(a, b)


def _ground_path(ground) -> str:
    src = getattr(ground, "source", None)
    return str(getattr(src, "path", ground))


# -- style, layer, legend, identify ------------------------------------------------------------


@dataclass
class PhotoStyle:
    """How photos are drawn: camera points with a view-direction tick, footprint outlines."""

    kind: ClassVar[str] = "photos"
    point_color: str = "#e8590c"
    point_size: float = 7.0          # px
    tick_length: float = 14.0        # px, towards the camera's heading
    show_footprints: bool = True
    footprint_color: str = "#1c7ed6"
    footprint_fill_opacity: float = 0.12
    footprint_width: float = 1.2     # px
    selected_color: str = "#fab005"


STYLE_KINDS[PhotoStyle.kind] = PhotoStyle


@register_layer_kind(PhotoDataset)
class PhotoLayer(VectorLayer):
    """Photos on the map (kind "photos"); selection = row ids, as for vector layers."""

    kind = "photos"

    def default_style(self):
        return PhotoStyle()


@register_legend_builder(PhotoLayer)
def photo_legend(layer: PhotoLayer) -> list[LegendEntry]:
    style = layer.style if isinstance(layer.style, PhotoStyle) else PhotoStyle()
    entries = [LegendEntry(label="Camera position", fill=style.point_color, stroke="#ffffff", shape="point",
                           size=style.point_size, stroke_width=1.0)]
    if style.show_footprints:
        alpha = f"{int(round(255 * style.footprint_fill_opacity)):02x}"
        entries.append(LegendEntry(label="Photo footprint", fill=style.footprint_color + alpha,
                                   stroke=style.footprint_color, stroke_width=style.footprint_width))
    return entries


def _register_identifier() -> None:
    from gis_desk.analysis.identify import IdentifyResult, _plain, register_identifier

    @register_identifier(PhotoLayer)
    def identify_photos(layer: PhotoLayer, x: float, y: float, tolerance: float) -> list[IdentifyResult]:
        """Camera points within ``tolerance`` (nearest first), then photos whose footprint
        holds the point (the one whose centre is nearest the point first).  Each result is
        the photo's row; ``attributes['hit']`` says 'camera' or 'footprint'."""
        import shapely

        ds: PhotoDataset = layer.dataset
        frame = ds.frame
        if not len(frame):
            return []
        pt = shapely.Point(x, y)
        fields = [c for c in frame.columns if c != frame.geometry.name]
        out: list[IdentifyResult] = []
        pts = np.asarray(frame.geometry.values)
        d = shapely.distance(pts, pt)
        seen = set()
        for i in np.argsort(d, kind="stable"):
            if not d[i] <= tolerance:
                break
            row = frame.iloc[int(i)]
            attrs = {c: _plain(row[c]) for c in fields}
            attrs["hit"] = "camera"
            out.append(IdentifyResult(layer=layer, feature_id=int(i), attributes=attrs, geometry=pts[i],
                                      distance=float(d[i])))
            seen.add(int(i))
        fps = np.asarray(ds.footprints.values, dtype=object)
        valid = np.array([g is not None for g in fps])
        if valid.any():
            inside = np.zeros(len(fps), bool)
            inside[valid] = shapely.intersects(np.asarray(list(fps[valid])), shapely.buffer(pt, max(tolerance, 0.0))
                                               if tolerance > 0 else pt)
            hits = [i for i in np.flatnonzero(inside) if i not in seen]
            centre_d = {i: fps[i].centroid.distance(pt) for i in hits}
            for i in sorted(hits, key=lambda i: (centre_d[i], i)):
                row = frame.iloc[int(i)]
                attrs = {c: _plain(row[c]) for c in fields}
                attrs["hit"] = "footprint"
                out.append(IdentifyResult(layer=layer, feature_id=int(i), attributes=attrs, geometry=fps[i],
                                          distance=0.0))
        return out


_register_identifier()
