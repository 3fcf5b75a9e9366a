"""Camera ground footprints: where a photo or a video frame sees the ground.

Used for drone photos (``gis_desk.io.photos``) and for video frames (the footage player), so
both draw the same outline from the same attitude.

Conventions (all angles in degrees):

* World: ``x`` east, ``y`` north, ``z`` up, in a metric CRS (e.g. EPSG:27700); ``camera_z``
  and the ground heights are in the same vertical datum (e.g. metres above ODN, or simply
  "relative to take-off" when the ground is the plane ``z = 0``).
* ``yaw``: direction the camera looks, clockwise from grid north (0 = north, 90 = east).
* ``pitch``: 0 = looking at the horizon, -90 = straight down (nadir), positive = up.
* ``roll``: about the optical axis, positive = right side of the image down.
* Image orientation: the top of the image is "forward/up"; at nadir with yaw 0 the top of the
  image points north, so a nadir photo with yaw 90 has its top edge facing east.

The footprint is the polygon where the rays through points of the image border (the 4 corners
plus ``edge_samples - 1`` points along each edge) meet the ground: a flat plane (``ground``
is a height) or a terrain model (``ground`` is a ``DtmSampler``; each ray is marched against the
DTM and the crossing refined by bisection).

Rays that point at or above the horizon, or that meet the ground further than ``max_range``
metres away horizontally, are clipped at ``max_range`` along their horizontal direction: the
footprint is then a truncated polygon and ``Footprints.truncated`` is True for that camera.
A view where no ray reaches the ground (camera pointing up) has no footprint (None).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np

#: Default horizontal distance (m) at which rays that miss the ground are clipped.
DEFAULT_MAX_RANGE = 1000.0
#: Half the diagonal of a 36 x 24 mm frame: the reference of "35 mm equivalent" focal lengths.
_HALF_DIAG_35 = math.hypot(36.0, 24.0) / 2.0


# -- fields of view --------------------------------------------------------------------------


def fov_from_focal_35mm(f35: float, aspect: float = 4.0 / 3.0, basis: str = "diagonal") -> tuple[float, float]:
    """(hfov, vfov) in degrees from a 35 mm equivalent focal length and the image aspect (w/h).

    ``basis="diagonal"`` (default): the crop-factor convention EXIF FocalLengthIn35mmFilm and
    DJI's spec sheets use (24 mm equivalent <-> 84 deg diagonal): the diagonal FOV is
    ``2 atan(21.63 / f35)``, split between width and height by the aspect ratio.
    ``basis="width"``: the image width is taken as the 36 mm frame width, ``hfov = 2 atan(18 /
    f35)`` (the convention of the synthetic sample clip, ``sample_surveys/make_drone_site.py``).
    Both agree for 3:2 images.
    """
    if not f35 or f35 <= 0:
        raise ValueError(f"35 mm equivalent focal length must be positive, not {f35!r}")
    if basis == "width":
        h = math.degrees(2 * math.atan(18.0 / f35))
        return h, math.degrees(2 * math.atan(math.tan(math.radians(h) / 2) / aspect))
    if basis != "diagonal":
        raise ValueError(f"basis must be 'diagonal' or 'width', not {basis!r}")
    return fov_from_diagonal(math.degrees(2 * math.atan(_HALF_DIAG_35 / f35)), aspect)


def fov_from_diagonal(dfov_deg: float, aspect: float = 4.0 / 3.0) -> tuple[float, float]:
    """(hfov, vfov) in degrees from a diagonal field of view and the image aspect (w/h)."""
    t = math.tan(math.radians(dfov_deg) / 2.0)
    norm = math.hypot(aspect, 1.0)
    return (math.degrees(2 * math.atan(t * aspect / norm)), math.degrees(2 * math.atan(t / norm)))


def fov_from_sensor(focal_mm: float, sensor_w_mm: float, sensor_h_mm: float) -> tuple[float, float]:
    """(hfov, vfov) in degrees of a pinhole camera from its real focal length and sensor size."""
    if not focal_mm or focal_mm <= 0:
        raise ValueError(f"focal length must be positive, not {focal_mm!r}")
    return (math.degrees(2 * math.atan(sensor_w_mm / (2 * focal_mm))),
            math.degrees(2 * math.atan(sensor_h_mm / (2 * focal_mm))))


def fov_from_pixels(focal_px: float, width_px: float, height_px: float) -> tuple[float, float]:
    """(hfov, vfov) from a focal length in pixels (e.g. DJI ``CalibratedFocalLength``)."""
    return fov_from_sensor(focal_px, width_px, height_px)


# -- camera geometry -------------------------------------------------------------------------


def camera_axes(yaw, pitch, roll) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """World unit vectors (forward, right, up) of the camera, each shaped (..., 3).

    Built as: start looking north at the horizon (forward +y, right +x, up +z), roll about
    forward (right side down for positive roll), pitch about right, then yaw clockwise about z.
    """
    y, p, r = (np.radians(np.asarray(a, dtype=float)) for a in (yaw, pitch, roll))
    y, p, r = np.broadcast_arrays(y, p, r)
    cr, sr, cp, sp = np.cos(r), np.sin(r), np.cos(p), np.sin(p)
    # roll: right = (cos r, 0, -sin r), up = (sin r, 0, cos r); forward stays +y
    # pitch (rotation about x by p): (x, y, z) -> (x, y cos p - z sin p, y sin p + z cos p)
    fwd = np.stack([np.zeros_like(p), cp, sp], axis=-1)
    right = np.stack([cr, sr * sp, -sr * cp], axis=-1)
    up = np.stack([sr, -cr * sp, cr * cp], axis=-1)
    cy, sy = np.cos(y)[..., None], np.sin(y)[..., None]

    def yawed(v):  # clockwise about z: x' = x cos + y sin, y' = -x sin + y cos
        return np.stack([v[..., 0] * cy[..., 0] + v[..., 1] * sy[..., 0],
                         -v[..., 0] * sy[..., 0] + v[..., 1] * cy[..., 0], v[..., 2]], axis=-1)

    return yawed(fwd), yawed(right), yawed(up)


def image_rays(yaw, pitch, roll, hfov_deg, vfov_deg, u, v) -> np.ndarray:
    """World ray directions (n, k, 3) through normalised image points.

    ``u`` in [-1, 1] left to right, ``v`` in [-1, 1] bottom to top (k points, shared by all n
    cameras); angles broadcast to n cameras.  Directions are not normalised (forward has
    length 1): a point at ``origin + t * ray`` is ``t`` metres along the optical axis.
    """
    fwd, right, up = camera_axes(yaw, pitch, roll)
    fwd, right, up = (np.atleast_2d(a) for a in (fwd, right, up))
    th = np.tan(np.radians(np.atleast_1d(np.asarray(hfov_deg, float))) / 2.0)
    tv = np.tan(np.radians(np.atleast_1d(np.asarray(vfov_deg, float))) / 2.0)
    th = np.broadcast_to(th, fwd.shape[:1])[:, None, None]
    tv = np.broadcast_to(tv, fwd.shape[:1])[:, None, None]
    u = np.asarray(u, float)[None, :, None]
    v = np.asarray(v, float)[None, :, None]
    return fwd[:, None, :] + u * th * right[:, None, :] + v * tv * up[:, None, :]


def border_uv(edge_samples: int = 4) -> tuple[np.ndarray, np.ndarray]:
    """Normalised image points around the frame border, clockwise from the top-left corner.

    ``edge_samples`` segments per edge: 4 * edge_samples points; index 0, s, 2s, 3s are the
    top-left, top-right, bottom-right and bottom-left corners.
    """
    s = max(1, int(edge_samples))
    t = np.linspace(-1.0, 1.0, s + 1)[:-1]
    u = np.concatenate([t, np.ones(s), -t, -np.ones(s)])
    v = np.concatenate([np.ones(s), -t, -np.ones(s), t])
    return u, v


# -- ground ----------------------------------------------------------------------------------


class DtmSampler:
    """Heights of a terrain model (first band), bilinear, in memory.

    ``source``: a ``RasterDataset`` of gis_desk (anything with ``path``/``source.path``) or a
    path.  ``crs``: the CRS query coordinates are given in (default: the raster's own).
    ``bounds`` (in the query CRS) limits what is read; rasters larger than ``max_cells`` are
    read decimated (GDAL picks the overview).  Cells that are nodata read as NaN; queries
    outside the raster or on nodata return ``fill`` (default: the median height).
    """

    def __init__(self, source: Any, *, crs: Any = None, bounds=None, max_cells: int = 16_000_000,
                 fill: float | None = None) -> None:
        import rasterio
        from rasterio.windows import from_bounds

        from gis_desk.core.crs import to_crs, transform_bounds
        from gis_desk.errors import CorruptFileError, MissingFileError

        path = _raster_path(source)
        if not Path(path).exists():
            raise MissingFileError("The terrain model does not exist", path=path)
        try:
            ds = rasterio.open(path)
        except rasterio.errors.RasterioIOError as exc:
            raise CorruptFileError("The terrain model cannot be opened as a raster", path=path,
                                   details=str(exc)) from exc
        with ds:
            if ds.crs is None and crs is None:
                from gis_desk.errors import MissingCrsError

                raise MissingCrsError("The terrain model has no coordinate reference system", path=path)
            self.crs = to_crs(ds.crs) if ds.crs is not None else to_crs(crs)
            self.query_crs = to_crs(crs) if crs is not None else self.crs
            window = None
            if bounds is not None:
                b = transform_bounds(self.query_crs, self.crs, bounds)
                window = from_bounds(*b, transform=ds.transform).round_offsets().round_lengths()
                window = window.intersection(rasterio.windows.Window(0, 0, ds.width, ds.height))
            w = int(window.width) if window is not None else ds.width
            h = int(window.height) if window is not None else ds.height
            scale = max(1.0, math.sqrt(w * h / max_cells))
            out_shape = (max(1, int(round(h / scale))), max(1, int(round(w / scale))))
            data = ds.read(1, window=window, out_shape=out_shape, masked=True,
                           resampling=rasterio.enums.Resampling.bilinear if scale > 1 else
                           rasterio.enums.Resampling.nearest)
            base = ds.window_transform(window) if window is not None else ds.transform
            from affine import Affine

            self.transform = base @ Affine.scale(w / out_shape[1], h / out_shape[0])
        self.heights = np.ma.filled(data.astype("float64"), np.nan)
        finite = self.heights[np.isfinite(self.heights)]
        if finite.size == 0:
            from gis_desk.errors import DataError

            raise DataError("The terrain model has no valid heights here", path=path)
        self.min = float(finite.min())
        self.max = float(finite.max())
        self.fill = float(np.median(finite)) if fill is None else float(fill)
        self._inv = ~self.transform
        self.path = path

    def height(self, x, y) -> np.ndarray:
        """Ground heights at query-CRS coordinates (bilinear; ``fill`` outside / on nodata)."""
        from scipy.ndimage import map_coordinates

        from gis_desk.core.crs import transform_xy

        x = np.asarray(x, float)
        y = np.asarray(y, float)
        if self.query_crs is not self.crs:
            x, y = (np.asarray(a, float) for a in transform_xy(self.query_crs, self.crs, x, y))
        inv = self._inv
        col = inv.a * x + inv.b * y + inv.c
        row = inv.d * x + inv.e * y + inv.f
        # pixel centres sit at +0.5: shift so map_coordinates interpolates between centres
        coords = np.stack([np.ravel(row) - 0.5, np.ravel(col) - 0.5])
        z = map_coordinates(self.heights, coords, order=1, mode="nearest")
        inside = ((coords[0] >= -0.5) & (coords[0] <= self.heights.shape[0] - 0.5)
                  & (coords[1] >= -0.5) & (coords[1] <= self.heights.shape[1] - 0.5))
        z = np.where(inside & np.isfinite(z), z, self.fill)
        return z.reshape(np.shape(x))

    __call__ = height


def _raster_path(source: Any) -> str:
    if isinstance(source, (str, Path)):
        return str(source)
    for attr in ("path",):
        if isinstance(getattr(source, attr, None), str):
            return getattr(source, attr)
    src = getattr(source, "source", None)
    if src is not None and getattr(src, "path", None):
        return str(src.path)
    raise TypeError(f"Cannot use {type(source).__name__} as a terrain model: give a raster path or dataset")


def intersect_ground(origins: np.ndarray, rays: np.ndarray, ground: float | DtmSampler = 0.0,
                     max_range: float = DEFAULT_MAX_RANGE, march_steps: int = 96,
                     refine_steps: int = 14) -> tuple[np.ndarray, np.ndarray]:
    """Ground points (n, k, 3) where rays (n, k, 3) from origins (n, 3) meet the ground.

    Returns ``(points, hit)``; where ``hit`` is False the point is the ray's clip at
    ``max_range`` horizontal metres (at its horizontal direction, on the ground height there),
    or NaN when the ray is vertical and misses.
    """
    origins = np.asarray(origins, float)[:, None, :]
    rays = np.asarray(rays, float)
    ox, oy, oz = origins[..., 0], origins[..., 1], origins[..., 2]
    dx, dy, dz = rays[..., 0], rays[..., 1], rays[..., 2]
    horiz = np.hypot(dx, dy)
    with np.errstate(divide="ignore", invalid="ignore"):
        t_range = np.where(horiz > 1e-12, max_range / horiz, np.inf)
    if isinstance(ground, DtmSampler):
        t, hit = _march(ox, oy, oz, dx, dy, dz, t_range, ground, march_steps, refine_steps)
    else:
        g = float(ground)
        with np.errstate(divide="ignore", invalid="ignore"):
            t = np.where(dz < 0, (g - oz) / dz, np.inf)
        hit = (dz < 0) & (t >= 0) & (t <= t_range)
    t_use = np.where(hit, t, t_range)
    px, py = ox + t_use * dx, oy + t_use * dy
    if isinstance(ground, DtmSampler):
        pz = np.where(hit, oz + t_use * dz, ground.height(px, py))
    else:
        pz = np.where(hit, oz + t_use * dz, float(ground))
    pts = np.stack([px, py, pz], axis=-1)
    pts[~np.isfinite(t_use)] = np.nan
    return pts, hit


def _march(ox, oy, oz, dx, dy, dz, t_range, dtm: DtmSampler, steps: int, refine: int):
    """First crossing of each ray with the DTM: coarse march, then bisection."""
    # march only as far as the ray can still be above the lowest ground and within range
    with np.errstate(divide="ignore", invalid="ignore"):
        t_floor = np.where(dz < 0, (dtm.min - 1.0 - oz) / dz, np.inf)
    t_end = np.minimum(t_range, t_floor)
    finite = np.isfinite(t_end)
    t_end = np.where(finite, t_end, 0.0)
    frac = np.linspace(0.0, 1.0, steps + 1)
    ts = t_end[..., None] * frac  # (n, k, s)
    zs = oz[..., None] + ts * dz[..., None]
    hs = dtm.height(ox[..., None] + ts * dx[..., None], oy[..., None] + ts * dy[..., None])
    below = zs <= hs
    any_below = below.any(axis=-1) & finite
    first = np.argmax(below, axis=-1)
    started_below = any_below & (first == 0)  # camera under the terrain: treat as a hit at t=0
    i1 = np.clip(first, 1, steps)
    lo = np.take_along_axis(ts, (i1 - 1)[..., None], -1)[..., 0]
    hi = np.take_along_axis(ts, i1[..., None], -1)[..., 0]
    for _ in range(refine):
        mid = 0.5 * (lo + hi)
        zm = oz + mid * dz
        hm = dtm.height(ox + mid * dx, oy + mid * dy)
        under = zm <= hm
        hi = np.where(under, mid, hi)
        lo = np.where(under, lo, mid)
    t = np.where(started_below, 0.0, hi)
    return t, any_below


# -- footprints ------------------------------------------------------------------------------


@dataclass
class Footprints:
    """Footprints of n cameras; iterates and indexes like a list of polygons (None = no view).

    ``truncated[i]``: some border rays of camera i missed the ground within ``max_range`` (the
    polygon's far side is the clip line).  ``points``: the (n, 4 * edge_samples, 3) ground
    points of the border rays, clockwise from the image's top-left corner; ``hit``: which of
    them really met the ground.
    """

    polygons: list
    truncated: np.ndarray
    points: np.ndarray
    hit: np.ndarray
    edge_samples: int = 4
    notes: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.polygons)

    def __iter__(self):
        return iter(self.polygons)

    def __getitem__(self, i):
        return self.polygons[i]

    @property
    def corners(self) -> np.ndarray:
        """(n, 4, 3) ground points of the image corners: top-left, top-right, bottom-right,
        bottom-left."""
        s = self.edge_samples
        return self.points[:, [0, s, 2 * s, 3 * s], :]


def footprints(x, y, camera_z, yaw, pitch, roll, hfov_deg, vfov_deg, *,
               ground: float | DtmSampler = 0.0, max_range: float = DEFAULT_MAX_RANGE,
               edge_samples: int | None = None) -> Footprints:
    """Footprints of many cameras at once (all arguments broadcast to n cameras).

    ``edge_samples``: border segments per image edge.  On a flat plane straight image edges
    stay straight on the ground, so 4 suffice to follow the clip line of a view that crosses
    the horizon; on a DTM the default is 8 so the outline follows the terrain.
    """
    import shapely

    arrays = np.broadcast_arrays(*(np.atleast_1d(np.asarray(a, float)) for a in
                                   (x, y, camera_z, yaw, pitch, roll, hfov_deg, vfov_deg)))
    x, y, z, yaw, pitch, roll, hfov, vfov = arrays
    n = x.shape[0]
    if edge_samples is None:
        edge_samples = 8 if isinstance(ground, DtmSampler) else 4
    u, v = border_uv(edge_samples)
    rays = image_rays(yaw, pitch, roll, hfov, vfov, u, v)
    pts, hit = intersect_ground(np.stack([x, y, z], axis=-1), rays, ground, max_range)
    any_hit = hit.any(axis=1)
    valid = any_hit & np.isfinite(pts[..., :2]).all(axis=(1, 2))
    polys: list = [None] * n
    if valid.any():
        made = _rings_to_polygons(pts[valid][..., :2])
        bad = ~shapely.is_valid(made)
        if bad.any():
            made[bad] = shapely.make_valid(made[bad])
        for i, poly in zip(np.flatnonzero(valid), made):
            polys[i] = _as_polygon(poly)
    truncated = valid & ~hit.all(axis=1)
    return Footprints(polys, truncated, pts, hit, int(edge_samples))


def _rings_to_polygons(rings: np.ndarray) -> np.ndarray:
    """Polygons from (m, k, 2) closed-by-implication rings, dropping vertices where the outline
    runs straight on (edge samples on a flat plane) and repeated points (clipped rays)."""
    import shapely

    prev = np.roll(rings, 1, axis=1)
    nxt = np.roll(rings, -1, axis=1)
    a, b = rings - prev, nxt - rings
    cross = a[..., 0] * b[..., 1] - a[..., 1] * b[..., 0]
    la, lb = np.hypot(a[..., 0], a[..., 1]), np.hypot(b[..., 0], b[..., 1])
    keep = (np.abs(cross) > 1e-9 * la * lb) & (la > 1e-9)
    keep[keep.sum(axis=1) < 3] = True  # degenerate: leave to make_valid
    owner = np.broadcast_to(np.arange(rings.shape[0])[:, None], keep.shape)[keep]
    return shapely.polygons(shapely.linearrings(rings[keep], indices=owner))


def _as_polygon(geom):
    """make_valid may give a collection; keep the largest polygon (a self-touching outline)."""
    if geom is None or geom.is_empty:
        return None
    if geom.geom_type == "Polygon":
        return geom
    parts = [g for g in getattr(geom, "geoms", []) if g.geom_type in ("Polygon", "MultiPolygon")]
    flat = []
    for g in parts:
        flat.extend(g.geoms if g.geom_type == "MultiPolygon" else [g])
    return max(flat, key=lambda g: g.area) if flat else None


def camera_footprint(x: float, y: float, camera_z: float, yaw: float, pitch: float, roll: float,
                     hfov_deg: float, vfov_deg: float, *, ground: float | DtmSampler = 0.0,
                     max_range: float = DEFAULT_MAX_RANGE, edge_samples: int | None = None):
    """The ground polygon one camera sees (shapely Polygon), or None when it sees no ground.

    See the module docstring for the conventions; use ``footprints`` for many cameras and for
    the ``truncated`` flag.
    """
    return footprints(x, y, camera_z, yaw, pitch, roll, hfov_deg, vfov_deg, ground=ground,
                      max_range=max_range, edge_samples=edge_samples)[0]


def ground_to_image(x, y, z, cam_x, cam_y, cam_z, yaw, pitch, roll, hfov_deg, vfov_deg):
    """Normalised image coordinates (u right, v up, in [-1, 1] inside the frame) of world points
    seen by one camera; ``in_front`` is False for points behind it.  The inverse of
    ``image_rays`` + ``intersect_ground``: used to check that rendered photos match footprints.
    """
    fwd, right, up = (a.reshape(3) for a in camera_axes(yaw, pitch, roll))
    d = np.stack([np.asarray(x, float) - cam_x, np.asarray(y, float) - cam_y,
                  np.asarray(z, float) - cam_z], axis=-1)
    depth = d @ fwd
    with np.errstate(divide="ignore", invalid="ignore"):
        u = (d @ right) / depth / math.tan(math.radians(hfov_deg) / 2)
        v = (d @ up) / depth / math.tan(math.radians(vfov_deg) / 2)
    return u, v, depth > 0


# -- camera table ----------------------------------------------------------------------------


@dataclass
class CameraSpec:
    """One camera of the table (``gis_desk/data/cameras.yaml`` + the user's ``cameras.yaml``)."""

    key: str
    name: str = ""
    sensor_mm: tuple[float, float] | None = None
    focal_mm: float | None = None
    focal_35mm: float | None = None
    image_px: tuple[int, int] | None = None
    dfov_deg: float | None = None
    hfov_deg: float | None = None
    vfov_deg: float | None = None
    video_hfov_deg: float | None = None
    aliases: tuple[str, ...] = ()

    def fov(self, width: int | None = None, height: int | None = None,
            focal_mm: float | None = None) -> tuple[float, float] | None:
        """(hfov, vfov) of an image ``width`` x ``height`` (default: the table's stills size).

        The horizontal FOV comes from the sensor width and focal length when known (the
        table's focal, else ``focal_mm`` from the photo's EXIF), else from the stated FOVs;
        the vertical one is the stated ``vfov_deg`` for a full-size still, else follows from
        the image's own aspect (square pixels), so a 16:9 still cut from a 4:3 sensor gets the
        narrower vertical view it really has.
        """
        if width is None or height is None:
            width, height = self.image_px or (4, 3)
        aspect = float(width) / float(height)
        table_aspect = (self.image_px[0] / self.image_px[1]) if self.image_px else aspect
        focal = self.focal_mm or focal_mm
        if self.sensor_mm and focal:
            h, _ = fov_from_sensor(focal, self.sensor_mm[0], self.sensor_mm[1])
        elif self.hfov_deg:
            h = self.hfov_deg
        elif self.dfov_deg:
            h, _ = fov_from_diagonal(self.dfov_deg, table_aspect)
        elif self.focal_35mm:
            h, _ = fov_from_focal_35mm(self.focal_35mm, table_aspect)
        else:
            return None
        if self.vfov_deg and self.hfov_deg and abs(aspect - table_aspect) < 0.01:
            return h, self.vfov_deg
        v = math.degrees(2 * math.atan(math.tan(math.radians(h) / 2) / aspect))
        return h, v

    def video_fov(self, aspect: float = 16 / 9) -> tuple[float, float] | None:
        """(hfov, vfov) of video frames: ``video_hfov_deg`` when stated, else the stills' width."""
        h = self.video_hfov_deg
        if h is None:
            still = self.fov()
            if still is None:
                return None
            h = still[0]
        return h, math.degrees(2 * math.atan(math.tan(math.radians(h) / 2) / aspect))


_SPEC_FIELDS = {"name", "sensor_mm", "focal_mm", "focal_35mm", "image_px", "dfov_deg", "hfov_deg",
                "vfov_deg", "video_hfov_deg", "aliases"}


def _load_table_text(text: str, origin: str) -> dict[str, dict]:
    import yaml

    from gis_desk.errors import DataError

    try:
        data = yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        raise DataError("The camera table is not valid YAML", path=origin, details=str(exc),
                        hint="fix or delete the file; see gis_desk/data/cameras.yaml for the layout") from exc
    if not isinstance(data, dict):
        raise DataError("The camera table must map camera model names to their facts", path=origin)
    out: dict[str, dict] = {}
    for key, entry in data.items():
        if not isinstance(entry, dict):
            raise DataError(f"Camera {key!r}: expected a mapping of facts, got {type(entry).__name__}",
                            path=origin)
        unknown = set(entry) - _SPEC_FIELDS
        if unknown:
            raise DataError(f"Camera {key!r}: unknown field(s) {', '.join(sorted(unknown))}", path=origin,
                            hint="allowed: " + ", ".join(sorted(_SPEC_FIELDS)))
        out[str(key)] = dict(entry)
    return out


def builtin_camera_table() -> dict[str, dict]:
    """The shipped table (``gis_desk/data/cameras.yaml``) as plain dicts keyed by model."""
    from importlib.resources import files

    res = files("gis_desk.data").joinpath("cameras.yaml")
    return _load_table_text(res.read_text(encoding="utf-8"), str(res))


def user_camera_table_path() -> Path:
    """Where the user's own camera table lives (``cameras.yaml`` in the config folder)."""
    from gis_desk.settings import config_dir

    return config_dir() / "cameras.yaml"


def user_camera_table() -> dict[str, CameraSpec]:
    """The shipped table merged with the user's ``cameras.yaml`` (user fields win, per field).

    The user file is optional; a damaged one raises ``DataError`` naming it.
    """
    table = builtin_camera_table()
    path = user_camera_table_path()
    if path.exists():
        for key, entry in _load_table_text(path.read_text(encoding="utf-8"), str(path)).items():
            match = next((k for k in table if k.lower() == key.lower()), key)
            table.setdefault(match, {}).update(entry)
    return {key: _spec(key, entry) for key, entry in table.items()}


def _spec(key: str, e: dict) -> CameraSpec:
    def pair(v, cast=float):
        return tuple(cast(a) for a in v) if v else None

    def num(v):
        return float(v) if v is not None else None

    return CameraSpec(key=key, name=str(e.get("name") or key), sensor_mm=pair(e.get("sensor_mm")),
                      focal_mm=num(e.get("focal_mm")), focal_35mm=num(e.get("focal_35mm")),
                      image_px=pair(e.get("image_px"), int), dfov_deg=num(e.get("dfov_deg")),
                      hfov_deg=num(e.get("hfov_deg")), vfov_deg=num(e.get("vfov_deg")),
                      video_hfov_deg=num(e.get("video_hfov_deg")),
                      aliases=tuple(str(a) for a in e.get("aliases") or ()))


def find_camera(model: str | None, width: int | None = None, height: int | None = None,
                table: dict[str, CameraSpec] | None = None) -> CameraSpec | None:
    """The table entry for an EXIF ``Model`` (case-insensitive, aliases too).

    One model string can name several cameras of one payload (the XT2 writes "XT2" on both its
    thermal TIFFs and its visual JPEGs): entries keyed "<model> <variant>" are candidates too,
    and the one whose stills size matches ``width`` x ``height`` wins.
    """
    if not model:
        return None
    table = user_camera_table() if table is None else table
    m = model.replace("\x00", "").strip().lower()
    candidates = [spec for key, spec in table.items()
                  if key.lower() == m or key.lower().startswith(m + " ")
                  or m in (a.lower() for a in spec.aliases)]
    if not candidates:
        return None
    if width and height:
        for spec in candidates:
            if spec.image_px and {int(width), int(height)} == set(spec.image_px):
                return spec
        for spec in candidates:  # same aspect (e.g. a reduced-size copy)
            if spec.image_px and abs(spec.image_px[0] / spec.image_px[1] - max(width, height) / min(width, height)) < 0.01:
                return spec
    exact = [s for s in candidates if s.key.lower() == m or m in (a.lower() for a in s.aliases)]
    return (exact or candidates)[0]


__all__: Sequence[str] = (
    "CameraSpec", "DEFAULT_MAX_RANGE", "DtmSampler", "builtin_camera_table", "find_camera",
    "user_camera_table", "user_camera_table_path", "Footprints", "border_uv", "camera_axes", "camera_footprint",
    "footprints", "fov_from_diagonal", "fov_from_focal_35mm", "fov_from_pixels", "fov_from_sensor",
    "ground_to_image", "image_rays", "intersect_ground",
)
