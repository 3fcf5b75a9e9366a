"""M3C2 point-cloud distances (Lague, Brodu & Leroux 2013), fast and py4dgeo/CloudCompare compatible.

For each core point: a normal from a PCA of epoch-1 points within ``normal_radius`` (oriented by
``normal_orientation``); then, in each epoch, the points inside a cylinder of radius
``cylinder_radius`` whose axis is the normal through the core point and which extends
``max_depth`` on *both* sides (a half-length, like py4dgeo's ``max_distance`` and CloudCompare's
``SearchDepth``).  The points' positions along the normal are averaged per epoch (mean, or
median with ``use_median``), and

    distance = mean2 - mean1                      (positive = epoch 2 lies on the normal's side)
    LoD95    = 1.96 * (sqrt(s1^2/n1 + s2^2/n2) + registration_error)
    significant = |distance| > LoD95

with s the sample standard deviation (ddof=1) along the normal, or with ``use_median`` the
inter-quartile range, exactly as py4dgeo 1.2 computes them (its quartiles: the average of the
two middle values when the count divides by 4).  Where n1 or n2 is below ``min_points``
(CloudCompare's default 5; py4dgeo has no such floor) distance and LoD are nan.  Like py4dgeo,
a ``max_depth`` smaller than the cylinder radius is raised to the radius.

Speed comes from :mod:`gis_desk.analysis.normals`' column grid: the cylinder is intersected with
each XY column analytically and only a contiguous z-range of points is tested; core points are
processed in parallel numba kernels, in chunks (bounded memory, progress, cancellation).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

import numpy as np
from numba import njit, prange

from gis_desk.analysis.normals import build_grid, grid_normals, parse_orientation
from gis_desk.errors import DataError, ParameterError

_CHUNK = 20_000  # core points per kernel call: progress granularity and cancel latency


@dataclass
class M3C2Params:
    """M3C2 settings.  All lengths are metres and RADII (CloudCompare files hold diameters)."""

    normal_radius: float = 0.5
    cylinder_radius: float = 0.5
    max_depth: float = 3.0  # half-length of the search cylinder along the normal
    registration_error: float = 0.0
    use_median: bool = False
    min_points: int = 5
    # 'up' | (vx, vy, vz) | ('towards', (x, y, z)) | ('away', (x, y, z))
    # | 'away_from_barycentre' | 'towards_barycentre' (of the core points: CloudCompare's +/-Barycenter)
    normal_orientation: str | tuple = "up"

    def validate(self) -> "M3C2Params":
        for name in ("normal_radius", "cylinder_radius", "max_depth"):
            value = getattr(self, name)
            if not (isinstance(value, (int, float)) and math.isfinite(value) and value > 0):
                raise ParameterError(f"M3C2 {name} must be a positive number of metres, got {value!r}")
        if not (math.isfinite(self.registration_error) and self.registration_error >= 0):
            raise ParameterError(
                f"M3C2 registration_error must be >= 0 metres, got {self.registration_error!r}"
            )
        if int(self.min_points) < 1:
            raise ParameterError(f"M3C2 min_points must be at least 1, got {self.min_points!r}")
        try:
            parse_orientation(self.normal_orientation, barycentre=np.zeros(3))  # syntax only
        except (ValueError, TypeError) as exc:
            raise ParameterError(str(exc)) from None
        return self

    def to_dict(self) -> dict:
        d = asdict(self)
        if not isinstance(self.normal_orientation, str):
            d["normal_orientation"] = _jsonable(self.normal_orientation)
        return d

    @classmethod
    def from_dict(cls, data: dict) -> "M3C2Params":
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        ori = known.get("normal_orientation")
        if isinstance(ori, list):
            known["normal_orientation"] = (
                (ori[0], tuple(ori[1])) if ori and ori[0] in ("towards", "away") else tuple(ori)
            )
        return cls(**known)


def _jsonable(value):
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    return value


@dataclass
class M3C2Result:
    core: np.ndarray  # (k, 3)
    normals: np.ndarray  # (k, 3), nan where no plane could be fitted
    distance: np.ndarray  # (k,), nan where undefined
    lod95: np.ndarray  # (k,)
    significant: np.ndarray  # (k,) bool
    spread1: np.ndarray  # (k,) std (or IQR) along the normal, epoch 1
    spread2: np.ndarray
    n1: np.ndarray  # (k,) points in the cylinder, epoch 1
    n2: np.ndarray
    params: M3C2Params = field(default_factory=M3C2Params)

    def __len__(self) -> int:
        return len(self.core)

    def summary(self) -> dict:
        ok = np.isfinite(self.distance)
        d = self.distance[ok]
        return {
            "core_points": int(len(self.core)),
            "defined": int(ok.sum()),
            "significant": int(self.significant.sum()),
            "mean_distance": float(d.mean()) if len(d) else float("nan"),
            "median_lod95": float(np.median(self.lod95[ok])) if len(d) else float("nan"),
        }

    def as_pointcloud(self, crs=None):
        """Core points with the results as attributes (for a layer, LAZ extra bytes, the 3D view)."""
        from gis_desk.core.pointcloud import PointCloud

        attributes = {
            "m3c2_distance": self.distance.astype(np.float64),
            "lod95": self.lod95.astype(np.float64),
            "significant": self.significant.astype(np.uint8),
            "n1": self.n1.astype(np.int32),
            "n2": self.n2.astype(np.int32),
            "spread1": self.spread1.astype(np.float64),
            "spread2": self.spread2.astype(np.float64),
            "normal_x": self.normals[:, 0].astype(np.float32),
            "normal_y": self.normals[:, 1].astype(np.float32),
            "normal_z": self.normals[:, 2].astype(np.float32),
        }
        return PointCloud(np.array(self.core, dtype=np.float64), attributes, crs)


# --- core points ------------------------------------------------------------------------------


def core_points(xyz: np.ndarray, mode: str = "every_nth", n: int = 10, spacing: float = 0.1) -> np.ndarray:
    """Core points from a cloud.

    * ``every_nth``: every ``n``-th point, in file order (what py4dgeo users and the field facts do);
    * ``grid``: one per occupied 3D cell of side ``spacing``: the measured point nearest to the
      centroid of that cell's points (a real surface point, unlike the cell centre, so core points
      stay on the surface).  Cells are ordered by their index (deterministic);
    * ``all``: every point (a cloud given as core points, e.g. a CloudCompare core-point file,
      passes through unchanged; :func:`m3c2` also takes any (k, 3) array directly).

    ``xyz`` is an (n, 3) array or anything with an ``xyz`` attribute (a PointCloud).
    """
    xyz = _as_xyz(getattr(xyz, "xyz", xyz), "cloud")
    if mode == "all":
        return xyz.copy()
    if mode == "every_nth":
        if int(n) < 1:
            raise ParameterError(f"Core point step n must be >= 1, got {n!r}")
        return xyz[:: int(n)].copy()
    if mode == "grid":
        if not (spacing > 0 and math.isfinite(spacing)):
            raise ParameterError(f"Core point grid spacing must be > 0, got {spacing!r}")
        if len(xyz) == 0:
            return xyz.copy()
        cells = np.floor((xyz - xyz.min(axis=0)) / spacing).astype(np.int64)
        _, inverse = np.unique(cells, axis=0, return_inverse=True)
        inverse = inverse.reshape(-1)
        k = int(inverse.max()) + 1
        counts = np.bincount(inverse, minlength=k).astype(np.float64)
        centroid = np.stack([np.bincount(inverse, xyz[:, a], minlength=k) for a in range(3)], axis=1)
        centroid /= counts[:, None]
        d2 = ((xyz - centroid[inverse]) ** 2).sum(axis=1)
        # Nearest per cell: sort by (cell, distance) and take each cell's first.
        order = np.lexsort((d2, inverse))
        first = np.ones(len(order), bool)
        first[1:] = inverse[order][1:] != inverse[order][:-1]
        return xyz[order[first]].copy()
    raise ParameterError(f"Unknown core point mode {mode!r}: use 'every_nth', 'grid' or 'all'")


def _as_xyz(a, what: str) -> np.ndarray:
    arr = np.asarray(a, dtype=np.float64)
    if arr.ndim != 2 or arr.shape[1] != 3:
        raise DataError(f"The {what} must be an (n, 3) array of x, y, z; got shape {arr.shape}")
    return np.ascontiguousarray(arr)


# --- kernels -----------------------------------------------------------------------------------


@njit(cache=True)
def _cylinder_scan(pts, col_start, cell, nx, ny, cx, cy, cz, ux, uy, uz, radius, half, buf, store):
    """Points of ``pts`` in the cylinder (axis u through c, radius, half-length): count, sum t, sum t^2.

    t = (p - c).u, the signed position along the normal.  With ``store`` the t values go to buf.
    """
    r2 = radius * radius
    delta = cell * 0.7071067811865476  # half the diagonal of a column's cross-section
    rr = radius + delta
    hh = half + delta
    ex = half * abs(ux) + radius * math.sqrt(max(0.0, 1.0 - ux * ux)) + delta
    ey = half * abs(uy) + radius * math.sqrt(max(0.0, 1.0 - uy * uy)) + delta
    i0 = max(int(math.floor((cx - ex) / cell)), 0)
    i1 = min(int(math.floor((cx + ex) / cell)), nx - 1)
    j0 = max(int(math.floor((cy - ey) / cell)), 0)
    j1 = min(int(math.floor((cy + ey) / cell)), ny - 1)
    aa = 1.0 - uz * uz
    count = 0
    s1 = 0.0
    s2 = 0.0
    for i in range(i0, i1 + 1):
        vx = (i + 0.5) * cell - cx
        for j in range(j0, j1 + 1):
            c = i * ny + j
            a = col_start[c]
            b = col_start[c + 1]
            if a == b:
                continue
            vy = (j + 0.5) * cell - cy
            # z interval of the inflated cylinder above the column centre line.
            w = ux * vx + uy * vy
            q = vx * vx + vy * vy
            cc = q - w * w - rr * rr
            if aa < 1e-12:
                if cc > 0.0:
                    continue
                lo = -1e300
                hi = 1e300
            else:
                bb = -2.0 * uz * w
                disc = bb * bb - 4.0 * aa * cc
                if disc < 0.0:
                    continue
                sd = math.sqrt(disc)
                lo = (-bb - sd) / (2.0 * aa)
                hi = (-bb + sd) / (2.0 * aa)
            if abs(uz) < 1e-12:
                if abs(w) > hh:
                    continue
            else:
                s_lo = (-hh - w) / uz
                s_hi = (hh - w) / uz
                if s_lo > s_hi:
                    s_lo, s_hi = s_hi, s_lo
                lo = max(lo, s_lo)
                hi = min(hi, s_hi)
            if lo > hi:
                continue
            # binary search the column's z-sorted points
            lo_z = cz + lo
            hi_z = cz + hi
            lft = a
            rgt = b
            while lft < rgt:
                m = (lft + rgt) >> 1
                if pts[m, 2] < lo_z:
                    lft = m + 1
                else:
                    rgt = m
            start = lft
            rgt = b
            while lft < rgt:
                m = (lft + rgt) >> 1
                if pts[m, 2] <= hi_z:
                    lft = m + 1
                else:
                    rgt = m
            for p in range(start, lft):
                dx = pts[p, 0] - cx
                dy = pts[p, 1] - cy
                dz = pts[p, 2] - cz
                t = dx * ux + dy * uy + dz * uz
                if abs(t) > half:
                    continue
                if dx * dx + dy * dy + dz * dz - t * t <= r2:
                    if store:
                        buf[count] = t
                    count += 1
                    s1 += t
                    s2 += t * t
    return count, s1, s2


@njit(cache=True, inline="always")
def _average_pos(a, n, pos, div):
    """py4dgeo's quantile rule on the sorted a[:n]."""
    k = int(math.floor(pos * n))
    if n % div == 0:
        return 0.5 * (a[k] + a[k - 1])
    return a[k]


@njit(cache=True)
def _epoch_stats(pts, col_start, cell, nx, ny, cx, cy, cz, ux, uy, uz, radius, half, median):
    """(n, centre, spread) of one epoch in one cylinder: mean/std(ddof=1) or median/IQR."""
    dummy = np.empty(0, np.float64)
    n, s1, s2 = _cylinder_scan(pts, col_start, cell, nx, ny, cx, cy, cz, ux, uy, uz, radius, half,
                               dummy, False)
    if n == 0:
        return 0, np.nan, np.nan
    if not median:
        mean = s1 / n
        if n < 2:
            return n, mean, np.nan
        var = (s2 - s1 * mean) / (n - 1)
        return n, mean, math.sqrt(max(var, 0.0))
    buf = np.empty(n, np.float64)
    _cylinder_scan(pts, col_start, cell, nx, ny, cx, cy, cz, ux, uy, uz, radius, half, buf, True)
    buf.sort()
    med = _average_pos(buf, n, 0.5, 2)
    iqr = _average_pos(buf, n, 0.75, 4) - _average_pos(buf, n, 0.25, 4)
    return n, med, iqr


@njit(parallel=True, cache=True)
def _m3c2_kernel(p1, cs1, cell1, nx1, ny1, q1, p2, cs2, cell2, nx2, ny2, q2, normals,
                 radius, half, median, out_c1, out_c2, out_s1, out_s2, out_n1, out_n2):
    k = q1.shape[0]
    for t in prange(k):
        ux = normals[t, 0]
        uy = normals[t, 1]
        uz = normals[t, 2]
        if not (math.isfinite(ux) and math.isfinite(uy) and math.isfinite(uz)):
            out_c1[t] = np.nan
            out_c2[t] = np.nan
            out_s1[t] = np.nan
            out_s2[t] = np.nan
            out_n1[t] = 0
            out_n2[t] = 0
            continue
        n1, c1, s1 = _epoch_stats(p1, cs1, cell1, nx1, ny1, q1[t, 0], q1[t, 1], q1[t, 2],
                                  ux, uy, uz, radius, half, median)
        n2, c2, s2 = _epoch_stats(p2, cs2, cell2, nx2, ny2, q2[t, 0], q2[t, 1], q2[t, 2],
                                  ux, uy, uz, radius, half, median)
        out_c1[t] = c1
        out_c2[t] = c2
        out_s1[t] = s1
        out_s2[t] = s2
        out_n1[t] = n1
        out_n2[t] = n2


# --- driver ------------------------------------------------------------------------------------


def _check_cancel(feedback) -> None:
    if feedback is not None:
        feedback.check_canceled()


def _progress(feedback, pct: float) -> None:
    if feedback is not None:
        feedback.set_progress(pct)


def _spatial_order(points: np.ndarray, grid) -> np.ndarray:
    """Order of ``points`` by the grid's column (x-major), then z."""
    rel = points - grid.origin
    i = np.clip(np.floor(rel[:, 0] / grid.cell), 0, grid.nx - 1).astype(np.int64)
    j = np.clip(np.floor(rel[:, 1] / grid.cell), 0, grid.ny - 1).astype(np.int64)
    return np.lexsort((rel[:, 2], i * grid.ny + j))


def m3c2(
    epoch1: np.ndarray,
    epoch2: np.ndarray,
    core: np.ndarray,
    params: M3C2Params | None = None,
    feedback=None,
    *,
    normals: np.ndarray | None = None,
) -> M3C2Result:
    """M3C2 distances from ``epoch1`` to ``epoch2`` at ``core`` points (all (n, 3) float64).

    ``normals`` (k, 3) skips the normal estimation (e.g. CloudCompare's vertical mode).
    Raises ParameterError for bad settings, DataError for bad arrays, CanceledError if cancelled.
    """
    params = (params or M3C2Params()).validate()
    e1 = _as_xyz(epoch1, "epoch 1 cloud")
    e2 = _as_xyz(epoch2, "epoch 2 cloud")
    cp = _as_xyz(core, "core point array")
    for name, arr in (("epoch 1", e1), ("epoch 2", e2), ("core points", cp)):
        if len(arr) and not np.all(np.isfinite(arr)):
            raise DataError(f"The {name} contain NaN or infinite coordinates",
                            hint="remove invalid points before comparing")
    if len(e1) == 0 or len(e2) == 0:
        raise DataError("M3C2 needs points in both epochs; one of them is empty")

    r = float(params.cylinder_radius)
    half = max(float(params.max_depth), r)  # py4dgeo's rule: never shorter than the radius
    k = len(cp)
    if feedback is not None:
        feedback.info(f"M3C2: {len(e1):,} + {len(e2):,} points, {k:,} core points")

    cell = 0.5 * min(r, float(params.normal_radius))
    g1 = build_grid(e1, cell)
    _check_cancel(feedback)
    g2 = build_grid(e2, 0.5 * r)
    _check_cancel(feedback)
    _progress(feedback, 5)

    # Visit core points in grid order: neighbouring core points then share cached neighbourhoods
    # (in file or random order every cylinder is a fresh trip to memory, 3x slower).
    visit = _spatial_order(cp, g1)
    cp_sorted = np.ascontiguousarray(cp[visit])

    if normals is None:
        # Barycentre orientations use the core points' centroid, as CloudCompare does.
        barycentre = cp.mean(axis=0) if k else np.zeros(3)
        normals = np.empty((k, 3), np.float64)
        for a in range(0, k, _CHUNK):
            b = min(a + _CHUNK, k)
            normals[a:b], _ = grid_normals(g1, cp_sorted[a:b], params.normal_radius,
                                           params.normal_orientation, barycentre)
            _check_cancel(feedback)
            _progress(feedback, 5 + 25 * b / max(k, 1))
    else:
        normals = np.asarray(normals, dtype=np.float64)
        if normals.shape == (3,) or normals.shape == (1, 3):
            normals = np.repeat(normals.reshape(1, 3), k, axis=0)
        if normals.shape != (k, 3):
            raise DataError(f"Normals must have shape ({k}, 3) or (3,), got {normals.shape}")
        lengths = np.linalg.norm(normals, axis=1, keepdims=True)
        with np.errstate(invalid="ignore", divide="ignore"):
            normals = np.ascontiguousarray((normals / lengths)[visit])

    q1 = np.ascontiguousarray(cp_sorted - g1.origin)
    q2 = np.ascontiguousarray(cp_sorted - g2.origin)
    c1 = np.empty(k)
    c2 = np.empty(k)
    s1 = np.empty(k)
    s2 = np.empty(k)
    n1 = np.empty(k, np.int64)
    n2 = np.empty(k, np.int64)
    for a in range(0, k, _CHUNK):
        b = min(a + _CHUNK, k)
        _m3c2_kernel(g1.xyz, g1.col_start, g1.cell, g1.nx, g1.ny, q1[a:b],
                     g2.xyz, g2.col_start, g2.cell, g2.nx, g2.ny, q2[a:b], normals[a:b],
                     r, half, bool(params.use_median),
                     c1[a:b], c2[a:b], s1[a:b], s2[a:b], n1[a:b], n2[a:b])
        _check_cancel(feedback)
        _progress(feedback, 30 + 70 * b / max(k, 1))

    # Back to the caller's core point order.
    back = np.empty(k, np.int64)
    back[visit] = np.arange(k)
    normals, c1, c2, s1, s2, n1, n2 = (x[back] for x in (normals, c1, c2, s1, s2, n1, n2))

    # Positions along the normal are relative to each grid's origin-shifted core point, which is
    # the same physical point: the difference needs no correction.
    distance = c2 - c1
    with np.errstate(invalid="ignore"):
        lod = 1.96 * (np.sqrt(s1 * s1 / n1 + s2 * s2 / n2) + params.registration_error)
    undefined = (n1 < params.min_points) | (n2 < params.min_points) | ~np.isfinite(normals).all(axis=1)
    distance[undefined] = np.nan
    lod[undefined] = np.nan
    with np.errstate(invalid="ignore"):
        significant = np.abs(distance) > lod
    significant &= np.isfinite(distance) & np.isfinite(lod)
    _progress(feedback, 100)
    return M3C2Result(cp, normals, distance, lod, significant, s1, s2, n1, n2, params)
