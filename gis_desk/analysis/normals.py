"""Column grid spatial index and PCA normals, shared by M3C2 (and anything else that needs normals).

Why not a KD-tree: M3C2 asks, per core point, for every point inside a long thin cylinder (0.5 m
radius, 6 m long) in two clouds.  A KD-tree answers that with one big ball (mostly empty space) or a
chain of balls (duplicates to remove), and ``cKDTree.query_ball_point`` returns Python lists,
far too slow for 100k x 1,000 neighbours.  Here points are bucketed into square XY *columns* of
side ``cell`` and, inside each column, sorted by z.  For any convex query (ball or cylinder) we
visit the columns the shape's XY footprint covers, work out analytically the z interval the
shape spans above that column, binary-search it, and test the few points in that contiguous range
exactly.  Everything runs in numba kernels, in parallel over query points.

Normals follow py4dgeo / CloudCompare: the eigenvector of the smallest eigenvalue of the
covariance of the points within ``radius`` of the query point, then flipped so that it agrees
with an orientation (a direction, towards or away from a point, or CloudCompare's
+/-barycentre of the cloud).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numba import njit, prange

# Columns beyond this many (per point) make the dense column table wasteful: the cell grows.
_MAX_COLUMNS_PER_POINT = 4
_MIN_COLUMN_BUDGET = 1 << 20


@dataclass
class ColumnGrid:
    """Points sorted by XY column, then by z, with a dense table of column starts.

    Coordinates are stored relative to ``origin`` (float64) so that national-grid eastings do not
    eat into precision.
    """

    origin: np.ndarray  # (3,) float64
    cell: float
    nx: int
    ny: int
    xyz: np.ndarray  # (n, 3) float64, relative to origin, sorted by column then z
    order: np.ndarray  # (n,) int64: xyz[i] is the input point order[i]
    col_start: np.ndarray  # (nx * ny + 1,) int64

    def __len__(self) -> int:
        return len(self.xyz)


def build_grid(xyz: np.ndarray, cell: float, origin: np.ndarray | None = None) -> ColumnGrid:
    """Bucket ``xyz`` into XY columns of side ``cell`` (grown if the extent would need too many)."""
    xyz = np.ascontiguousarray(xyz, dtype=np.float64)
    if xyz.ndim != 2 or xyz.shape[1] != 3:
        raise ValueError(f"points must have shape (n, 3), got {xyz.shape}")
    if origin is None:
        origin = xyz.min(axis=0) if len(xyz) else np.zeros(3)
    origin = np.asarray(origin, dtype=np.float64)
    rel = xyz - origin
    if len(rel):
        lo = rel[:, :2].min(axis=0)
        hi = rel[:, :2].max(axis=0)
    else:
        lo = hi = np.zeros(2)
    # Columns are indexed from the origin; a cloud not starting at the origin just leaves
    # some leading columns empty (queries may come from another cloud sharing the origin).
    lo = np.minimum(lo, 0.0)
    budget = max(_MAX_COLUMNS_PER_POINT * len(rel), _MIN_COLUMN_BUDGET)
    span = np.maximum(hi - lo, 1e-9)
    cell = float(cell)
    while (math.floor(span[0] / cell) + 1) * (math.floor(span[1] / cell) + 1) > budget:
        cell *= 1.5
    origin = origin + np.array([lo[0], lo[1], 0.0])
    rel = rel - np.array([lo[0], lo[1], 0.0])
    nx = int(math.floor(span[0] / cell)) + 1
    ny = int(math.floor(span[1] / cell)) + 1
    order, col_start, sorted_xyz = _sort_into_columns(rel, cell, nx, ny)
    return ColumnGrid(origin, cell, nx, ny, sorted_xyz, order, col_start)


@njit(cache=True)
def _column_keys(rel, cell, nx, ny):
    n = rel.shape[0]
    keys = np.empty(n, np.int64)
    for p in range(n):
        i = int(math.floor(rel[p, 0] / cell))
        j = int(math.floor(rel[p, 1] / cell))
        i = min(max(i, 0), nx - 1)
        j = min(max(j, 0), ny - 1)
        keys[p] = i * ny + j
    return keys


@njit(cache=True)
def _counting_sort(keys, ncols):
    counts = np.zeros(ncols + 1, np.int64)
    for k in keys:
        counts[k + 1] += 1
    for c in range(ncols):
        counts[c + 1] += counts[c]
    start = counts.copy()
    order = np.empty(keys.shape[0], np.int64)
    for p in range(keys.shape[0]):
        k = keys[p]
        order[start[k]] = p
        start[k] += 1
    return order, counts


@njit(parallel=True, cache=True)
def _sort_columns_by_z(rel, order, col_start):
    ncols = col_start.shape[0] - 1
    out = np.empty((order.shape[0], 3), np.float64)
    for c in prange(ncols):
        a = col_start[c]
        b = col_start[c + 1]
        if b - a > 1:
            idx = order[a:b]
            zs = np.empty(b - a, np.float64)
            for q in range(b - a):
                zs[q] = rel[idx[q], 2]
            local = np.argsort(zs, kind="mergesort")
            tmp = idx.copy()
            for q in range(b - a):
                order[a + q] = tmp[local[q]]
        for q in range(a, b):
            src = order[q]
            out[q, 0] = rel[src, 0]
            out[q, 1] = rel[src, 1]
            out[q, 2] = rel[src, 2]
    return out


def _sort_into_columns(rel, cell, nx, ny):
    keys = _column_keys(rel, cell, nx, ny)
    order, col_start = _counting_sort(keys, nx * ny)
    sorted_xyz = _sort_columns_by_z(rel, order, col_start)
    return order, col_start, sorted_xyz


@njit(cache=True, inline="always")
def _lower_bound(z, a, b, value):
    """First index in [a, b) with z[index, 2] >= value (z sorted ascending on that range)."""
    while a < b:
        m = (a + b) >> 1
        if z[m, 2] < value:
            a = m + 1
        else:
            b = m
    return a


@njit(cache=True, inline="always")
def _upper_bound(z, a, b, value):
    """First index in [a, b) with z[index, 2] > value."""
    while a < b:
        m = (a + b) >> 1
        if z[m, 2] <= value:
            a = m + 1
        else:
            b = m
    return a


@njit(cache=True)
def _ball_moments(pts, col_start, cell, nx, ny, cx, cy, cz, radius, acc):
    """Sum count, first and second moments (relative to the centre) of points within radius.

    acc (10,): n, sx, sy, sz, sxx, sxy, sxz, syy, syz, szz.
    """
    for q in range(10):
        acc[q] = 0.0
    r2 = radius * radius
    i0 = max(int(math.floor((cx - radius) / cell)), 0)
    i1 = min(int(math.floor((cx + radius) / cell)), nx - 1)
    j0 = max(int(math.floor((cy - radius) / cell)), 0)
    j1 = min(int(math.floor((cy + radius) / cell)), ny - 1)
    for i in range(i0, i1 + 1):
        for j in range(j0, j1 + 1):
            c = i * ny + j
            a = col_start[c]
            b = col_start[c + 1]
            if a == b:
                continue
            a = _lower_bound(pts, a, b, cz - radius)
            b = _upper_bound(pts, a, b, cz + radius)
            for p in range(a, b):
                dx = pts[p, 0] - cx
                dy = pts[p, 1] - cy
                dz = pts[p, 2] - cz
                if dx * dx + dy * dy + dz * dz <= r2:
                    acc[0] += 1.0
                    acc[1] += dx
                    acc[2] += dy
                    acc[3] += dz
                    acc[4] += dx * dx
                    acc[5] += dx * dy
                    acc[6] += dx * dz
                    acc[7] += dy * dy
                    acc[8] += dy * dz
                    acc[9] += dz * dz


@njit(parallel=True, cache=True)
def _normals_kernel(pts, col_start, cell, nx, ny, query, radius, orient, towards, out, counts):
    """PCA normal per query point; nan where fewer than 3 neighbours or a degenerate spread."""
    k = query.shape[0]
    for t in prange(k):
        acc = np.empty(10, np.float64)
        cx = query[t, 0]
        cy = query[t, 1]
        cz = query[t, 2]
        _ball_moments(pts, col_start, cell, nx, ny, cx, cy, cz, radius, acc)
        n = acc[0]
        counts[t] = int(n)
        if n < 3:
            out[t, 0] = np.nan
            out[t, 1] = np.nan
            out[t, 2] = np.nan
            continue
        mx = acc[1] / n
        my = acc[2] / n
        mz = acc[3] / n
        cov = np.empty((3, 3), np.float64)
        cov[0, 0] = acc[4] / n - mx * mx
        cov[0, 1] = acc[5] / n - mx * my
        cov[0, 2] = acc[6] / n - mx * mz
        cov[1, 1] = acc[7] / n - my * my
        cov[1, 2] = acc[8] / n - my * mz
        cov[2, 2] = acc[9] / n - mz * mz
        cov[1, 0] = cov[0, 1]
        cov[2, 0] = cov[0, 2]
        cov[2, 1] = cov[1, 2]
        w, v = np.linalg.eigh(cov)
        if not (w[2] > 0.0) or not (w[1] - w[0] > 0.0):
            # All points on a line or one spot: no plane, no normal (py4dgeo leaves it unset).
            out[t, 0] = np.nan
            out[t, 1] = np.nan
            out[t, 2] = np.nan
            continue
        nxv = v[0, 0]
        nyv = v[1, 0]
        nzv = v[2, 0]
        if towards:
            ox = orient[0] - cx
            oy = orient[1] - cy
            oz = orient[2] - cz
        else:
            ox = orient[0]
            oy = orient[1]
            oz = orient[2]
        if nxv * ox + nyv * oy + nzv * oz < 0.0:
            nxv = -nxv
            nyv = -nyv
            nzv = -nzv
        out[t, 0] = nxv
        out[t, 1] = nyv
        out[t, 2] = nzv


# CloudCompare's "preferred orientation" choices that refer to a point of the cloud itself.
BARYCENTRE_ORIENTATIONS = {"away_from_barycentre": "away", "towards_barycentre": "towards"}


def parse_orientation(orientation, barycentre=None) -> tuple[np.ndarray, int]:
    """Orientation -> (vector or point, mode): mode 0 = direction, 1 = towards point, -1 = away.

    Accepted: 'up' (and '+x', '-z', ...), (vx, vy, vz), ('towards', (x, y, z)),
    ('away', (x, y, z)), 'away_from_barycentre' / 'towards_barycentre' (CloudCompare's
    +/-Barycenter; need ``barycentre``, the centroid of the cloud the normals come from).
    """
    if isinstance(orientation, str):
        key = orientation.strip().lower().replace("barycenter", "barycentre")
        if key in BARYCENTRE_ORIENTATIONS:
            if barycentre is None:
                raise ValueError(f"Normal orientation {orientation!r} needs the cloud's barycentre")
            mode = 1 if BARYCENTRE_ORIENTATIONS[key] == "towards" else -1
            return np.asarray(barycentre, dtype=np.float64).reshape(3), mode
        named = {
            "up": (0, 0, 1), "+z": (0, 0, 1), "down": (0, 0, -1), "-z": (0, 0, -1),
            "+x": (1, 0, 0), "-x": (-1, 0, 0), "+y": (0, 1, 0), "-y": (0, -1, 0),
        }
        if key not in named:
            raise ValueError(
                f"Unknown normal orientation {orientation!r}: use 'up', a direction (vx, vy, vz), "
                "('towards', (x, y, z)), ('away', (x, y, z)) or 'away_from_barycentre'"
            )
        return np.asarray(named[key], dtype=np.float64), 0
    seq = list(orientation)
    if len(seq) == 2 and isinstance(seq[0], str) and seq[0].lower() in ("towards", "away"):
        point = np.asarray(seq[1], dtype=np.float64).reshape(-1)
        if point.shape != (3,) or not np.all(np.isfinite(point)):
            raise ValueError(f"'{seq[0]}' needs a point (x, y, z), got {seq[1]!r}")
        return point, (1 if seq[0].lower() == "towards" else -1)
    vec = np.asarray(seq, dtype=np.float64).reshape(-1)
    if vec.shape != (3,) or not np.all(np.isfinite(vec)) or not np.any(vec):
        raise ValueError(f"Normal orientation must be a non-zero (vx, vy, vz), got {orientation!r}")
    return vec / np.linalg.norm(vec), 0


def grid_normals(
    grid: ColumnGrid, query: np.ndarray, radius: float, orientation="up", barycentre=None
) -> tuple[np.ndarray, np.ndarray]:
    """Normals at ``query`` (absolute coordinates) from the points of ``grid``.

    Returns (normals (k, 3) nan where undefined, neighbour counts (k,)).
    """
    q = np.ascontiguousarray(np.asarray(query, dtype=np.float64) - grid.origin)
    orient, mode = parse_orientation(orientation, barycentre)
    if mode:
        orient = orient - grid.origin
    out = np.empty((len(q), 3), np.float64)
    counts = np.empty(len(q), np.int64)
    if len(q):
        _normals_kernel(grid.xyz, grid.col_start, grid.cell, grid.nx, grid.ny, q, float(radius),
                        orient, mode != 0, out, counts)
        if mode < 0:  # away from the point: the opposite of towards it
            np.negative(out, out=out)
    return out, counts


def estimate_normals(
    xyz: np.ndarray, query: np.ndarray | None = None, *, radius: float, orientation="up"
) -> np.ndarray:
    """PCA normals of ``xyz`` at ``query`` (default: every point), oriented as asked."""
    grid = build_grid(xyz, max(radius, 1e-6))
    barycentre = np.asarray(xyz, dtype=np.float64).mean(axis=0) if len(xyz) else None
    normals, _ = grid_normals(grid, xyz if query is None else query, radius, orientation, barycentre)
    return normals
