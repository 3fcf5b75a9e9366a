"""Point clouds in memory: the cloud, the dataset a reader returns, its map layer and style.

``PointCloud`` is plain numpy: ``xyz`` (n, 3) float64 plus one array per attribute in its native
dtype (LAS dimensions keep their LAS types, extra bytes their own).  Memory per point is
24 bytes of coordinates plus the attributes (about 26 bytes for LAS point format 3), plus the
level-of-detail index once drawn (8 bytes): a 50 million point LAS 1.2 cloud needs about 2.9 GB.

``PointCloudDataset.sample(budget, bounds)`` is what the 2D renderer and the 3D view call every
frame.  It reads from a level-of-detail index built once (lazily, thread-safe):

* points are shuffled, then given a *level*: the coarsest square grid level (1, 2, 4, 8 ... cells
  a side over the XY extent) at which they are the first point of their cell.  All points of
  levels <= L therefore cover the cloud at least one point per level-L cell, like an octree LoD;
* points are grouped by a coarse tile grid and, inside each tile, ordered by level (random within
  a level), with per-tile counts per level.

A query picks the tiles meeting the bounds, finds the deepest level whose expected count in view
fits the budget, and takes from each tile its prefix up to that level (plus an even share of the
next level), so the result is spatially even and costs time proportional to its size.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from gis_desk.core.datasets import Dataset, DataSource
from gis_desk.core.layer import Layer, register_layer_kind
from gis_desk.core.style import STYLE_KINDS

# Attribute names holding a signed change (distances between epochs): these default to a
# diverging ramp and a symmetric value range.
CHANGE_FIELD_HINTS = ("m3c2_distance", "distance", "change", "c2c", "dz", "difference")
DIVERGING_DEFAULT = "RdBu"


def is_change_field(name: str) -> bool:
    """True for attributes that hold signed change values (M3C2/C2C distances, dz...)."""
    low = name.lower()
    return any(h == low or low.startswith(h + "_") or low.endswith("_" + h) or h in low.split("_")
               for h in CHANGE_FIELD_HINTS)


@dataclass
class PointCloud:
    """Full-resolution points: ``xyz`` (n, 3) float64 in ``crs`` and per-point ``attributes``."""

    xyz: np.ndarray
    attributes: dict[str, np.ndarray] = field(default_factory=dict)
    crs: Any = None  # pyproj.CRS | None

    def __post_init__(self) -> None:
        xyz = np.asarray(self.xyz)
        if xyz.ndim != 2 or xyz.shape[1] != 3:
            raise ValueError(f"xyz must have shape (n, 3), got {xyz.shape}")
        if xyz.dtype != np.float64:
            xyz = xyz.astype(np.float64)
        self.xyz = xyz
        for name, values in list(self.attributes.items()):
            values = np.asarray(values)
            if values.shape[:1] != (len(xyz),):
                raise ValueError(f"attribute {name!r} has {values.shape[0] if values.ndim else 0} values "
                                 f"for {len(xyz)} points")
            self.attributes[name] = values

    def __len__(self) -> int:
        return int(self.xyz.shape[0])

    @property
    def fields(self) -> list[str]:
        return list(self.attributes)

    def subset(self, index) -> "PointCloud":
        """The points selected by ``index`` (a boolean mask or integer positions)."""
        index = np.asarray(index)
        return PointCloud(self.xyz[index], {k: v[index] for k, v in self.attributes.items()}, self.crs)

    def transformed(self, matrix: np.ndarray) -> "PointCloud":
        """A copy with the 4x4 (rigid) ``matrix`` applied to ``xyz``; attributes are shared."""
        return PointCloud(apply_transform(self.xyz, matrix), dict(self.attributes), self.crs)

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        if len(self) == 0:
            return (0.0, 0.0, 0.0, 0.0)
        lo, hi = self.xyz[:, :2].min(axis=0), self.xyz[:, :2].max(axis=0)
        return (float(lo[0]), float(lo[1]), float(hi[0]), float(hi[1]))

    @property
    def z_range(self) -> tuple[float, float]:
        if len(self) == 0:
            return (0.0, 0.0)
        return (float(self.xyz[:, 2].min()), float(self.xyz[:, 2].max()))

    @property
    def nbytes(self) -> int:
        return int(self.xyz.nbytes + sum(v.nbytes for v in self.attributes.values()))


def check_matrix(matrix) -> np.ndarray:
    """``matrix`` as a finite (4, 4) float64 array; ValueError otherwise."""
    m = np.asarray(matrix, dtype=np.float64)
    if m.shape == (16,):
        m = m.reshape(4, 4)
    if m.shape != (4, 4) or not np.all(np.isfinite(m)):
        raise ValueError(f"a transform must be a finite 4x4 matrix, got shape {m.shape}")
    return m


def apply_transform(xyz: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    """``xyz`` (n, 3) with the 4x4 ``matrix`` applied (new array; the input is untouched)."""
    m = check_matrix(matrix)
    out = xyz @ m[:3, :3].T
    out += m[:3, 3]
    return out


# --- level-of-detail index -----------------------------------------------------------------

_MAX_LEVEL = 12      # finest grid: 4096 x 4096 cells
_TILE_LEVEL = 6      # tiles: up to 64 x 64


def _numba():
    import numba

    return numba


_KERNELS: dict[str, Any] = {}


def _kernels():
    """Compile (once, cached on disk) the two loops of the index build."""
    if _KERNELS:
        return _KERNELS
    nb = _numba()

    @nb.njit(cache=True)
    def levels_of(x, y, perm, x0, y0, inv, top):
        # level[i] = coarsest level at which point i is the first (in ``perm`` order) in its cell
        n = perm.shape[0]
        side = 1 << top
        level = np.full(x.shape[0], top + 1, dtype=np.uint8)
        seen = np.full(side * side, -1, dtype=np.int8)
        cand = perm.copy()
        m = n
        for lev in range(top, -1, -1):
            shift = top - lev
            k = 0
            for j in range(m):
                i = cand[j]
                ix = min(max(int((x[i] - x0) * inv), 0), side - 1) >> shift
                iy = min(max(int((y[i] - y0) * inv), 0), side - 1) >> shift
                c = iy * (1 << lev) + ix
                if seen[c] != lev:
                    seen[c] = lev
                    level[i] = lev
                    cand[k] = i
                    k += 1
            m = k
        return level

    @nb.njit(cache=True)
    def group(x, y, perm, level, x0, y0, inv, top, tile_level, nlevels):
        # counting sort of points by (tile, level), keeping ``perm`` order inside a group
        side = 1 << top
        tshift = top - tile_level
        tside = 1 << tile_level
        n = perm.shape[0]
        key = np.empty(n, dtype=np.int32)
        counts = np.zeros(tside * tside * nlevels, dtype=np.int64)
        for j in range(n):
            i = perm[j]
            ix = min(max(int((x[i] - x0) * inv), 0), side - 1) >> tshift
            iy = min(max(int((y[i] - y0) * inv), 0), side - 1) >> tshift
            kk = (iy * tside + ix) * nlevels + level[i]
            key[j] = kk
            counts[kk] += 1
        start = np.zeros(counts.shape[0] + 1, dtype=np.int64)
        for k in range(counts.shape[0]):
            start[k + 1] = start[k] + counts[k]
        pos = start[:-1].copy()
        order = np.empty(n, dtype=perm.dtype)
        for j in range(n):
            kk = key[j]
            order[pos[kk]] = perm[j]
            pos[kk] += 1
        return order, counts

    _KERNELS["levels"] = levels_of
    _KERNELS["group"] = group
    return _KERNELS


class LodIndex:
    """The level-of-detail index of one cloud's XY positions (see the module docstring)."""

    def __init__(self, xyz: np.ndarray, seed: int = 0) -> None:
        n = len(xyz)
        self.n = n
        x, y = xyz[:, 0], xyz[:, 1]
        xmin, xmax, ymin, ymax = float(x.min()), float(x.max()), float(y.min()), float(y.max())
        size = max(xmax - xmin, ymax - ymin)
        size = size * (1 + 1e-9) if size > 0 else 1.0
        self.x0, self.y0, self.size = xmin, ymin, size
        # finest level with about one cell per point, capped
        top = int(np.clip(np.ceil(np.log2(max(n, 1)) / 2.0), 0, _MAX_LEVEL))
        self.top = top
        self.tile_level = min(_TILE_LEVEL, top)
        self.nlevels = top + 2
        dtype = np.int32 if n < 2**31 - 1 else np.int64
        perm = np.random.default_rng(seed).permutation(n).astype(dtype, copy=False)
        inv = float((1 << top) / size)
        k = _kernels()
        level = k["levels"](x, y, perm, xmin, ymin, inv, top)
        order, counts = k["group"](x, y, perm, level, xmin, ymin, inv, top, self.tile_level, self.nlevels)
        del perm, level
        self.order = order
        tside = 1 << self.tile_level
        self.tside = tside
        self.counts = counts.reshape(tside * tside, self.nlevels)
        self.cum = np.concatenate([np.zeros((len(self.counts), 1), np.int64), np.cumsum(self.counts, axis=1)], axis=1)
        self.tile_start = np.concatenate([[0], np.cumsum(self.counts.sum(axis=1))])[:-1]
        self.tile_size = size / tside

    def query(self, xyz: np.ndarray, budget: int, bounds=None) -> np.ndarray:
        """Indices (int64) of at most ``budget`` points inside ``bounds``, spatially even."""
        budget = int(budget)
        if budget <= 0 or self.n == 0:
            return np.zeros(0, dtype=np.int64)
        tside = self.tside
        if bounds is None:
            tiles = np.arange(tside * tside)
            frac = np.ones(len(tiles))
        else:
            bx0, by0, bx1, by1 = (float(v) for v in bounds)
            ts = self.tile_size
            c0 = int(np.clip(np.floor((bx0 - self.x0) / ts), 0, tside - 1))
            c1 = int(np.clip(np.floor((bx1 - self.x0) / ts), 0, tside - 1))
            r0 = int(np.clip(np.floor((by0 - self.y0) / ts), 0, tside - 1))
            r1 = int(np.clip(np.floor((by1 - self.y0) / ts), 0, tside - 1))
            if bx1 < self.x0 or by1 < self.y0 or bx0 > self.x0 + self.size or by0 > self.y0 + self.size:
                return np.zeros(0, dtype=np.int64)
            cols, rows = np.arange(c0, c1 + 1), np.arange(r0, r1 + 1)
            tiles = (rows[:, None] * tside + cols[None, :]).ravel()
            # share of each tile inside the bounds (to estimate counts in view)
            fx = (np.minimum(self.x0 + (cols + 1) * ts, bx1) - np.maximum(self.x0 + cols * ts, bx0)) / ts
            fy = (np.minimum(self.y0 + (rows + 1) * ts, by1) - np.maximum(self.y0 + rows * ts, by0)) / ts
            frac = (np.clip(fy, 0, 1)[:, None] * np.clip(fx, 0, 1)[None, :]).ravel()
        counts = self.counts[tiles]
        keep = counts.sum(axis=1) > 0
        tiles, frac, counts = tiles[keep], frac[keep], counts[keep]
        if len(tiles) == 0:
            return np.zeros(0, dtype=np.int64)
        expected = (counts * frac[:, None]).sum(axis=0)
        cum_expected = np.cumsum(expected)
        full = int(np.searchsorted(cum_expected, budget, side="right"))  # levels 0..full-1 fit
        if full >= self.nlevels:
            take = self.cum[tiles, -1]
        else:
            before = cum_expected[full - 1] if full > 0 else 0.0
            share = (budget - before) / expected[full] if expected[full] > 0 else 0.0
            # the partial level shared out by error diffusion over the tiles (a per-tile floor
            # would give nothing when tiles hold about one point of that level each)
            wanted = np.floor(np.cumsum(counts[:, full] * min(share, 1.0)))
            extra = np.diff(wanted, prepend=0.0).astype(np.int64)
            take = self.cum[tiles, full] + np.minimum(extra, counts[:, full])
        starts = self.tile_start[tiles]
        idx = _ranges(starts, take)
        idx = self.order[idx].astype(np.int64, copy=False)
        if bounds is not None:
            px, py = xyz[idx, 0], xyz[idx, 1]
            inside = (px >= bx0) & (px <= bx1) & (py >= by0) & (py <= by1)
            idx = idx[inside]
        if len(idx) > budget:  # estimates were low: thin evenly across the tiles
            idx = idx[np.linspace(0, len(idx) - 1, budget).astype(np.int64)]
        return idx


def _ranges(starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """Concatenation of arange(s, s + l) for each (s, l), without a Python loop."""
    lengths = np.asarray(lengths, dtype=np.int64)
    total = int(lengths.sum())
    if total == 0:
        return np.zeros(0, dtype=np.int64)
    nz = lengths > 0
    starts, lengths = np.asarray(starts, dtype=np.int64)[nz], lengths[nz]
    steps = np.ones(total, dtype=np.int64)
    ends = np.cumsum(lengths)
    steps[0] = starts[0]
    steps[ends[:-1]] = starts[1:] - (starts[:-1] + lengths[:-1] - 1)
    return np.cumsum(steps)


# --- dataset -------------------------------------------------------------------------------


class PointCloudDataset(Dataset):
    """A point cloud read from a file (or built in memory): the full ``cloud`` plus its
    summary (bounds, z range, count, fields) and the level-of-detail ``sample``."""

    def __init__(self, source: DataSource, cloud: PointCloud, driver: str = "",
                 metadata: dict[str, Any] | None = None) -> None:
        self.source = source
        self.cloud = cloud
        self.crs = cloud.crs
        self.driver = driver
        self.metadata = dict(metadata or {})
        self._bounds = cloud.bounds
        self._z_range = cloud.z_range
        self._index: LodIndex | None = None
        self._lock = threading.Lock()

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        return self._bounds

    @property
    def z_range(self) -> tuple[float, float]:
        return self._z_range

    @property
    def count(self) -> int:
        return len(self.cloud)

    def __len__(self) -> int:
        return len(self.cloud)

    @property
    def fields(self) -> list[str]:
        return self.cloud.fields

    def lod_index(self) -> LodIndex:
        """The level-of-detail index, built on first use (about 1 s per 10 M points)."""
        if self._index is None:
            with self._lock:
                if self._index is None:
                    self._index = LodIndex(self.cloud.xyz)
        return self._index

    def sample(self, budget: int, bounds=None) -> np.ndarray:
        """At most ``budget`` point indices (int64), spread evenly over ``bounds`` (xmin, ymin,
        xmax, ymax in the dataset CRS; None = the whole cloud).  Every point in view when they
        fit the budget."""
        if self.count == 0 or budget <= 0:
            return np.zeros(0, dtype=np.int64)
        return self.lod_index().query(self.cloud.xyz, budget, bounds)

    def info(self) -> dict[str, Any]:
        from gis_desk.core.crs import crs_id

        return {
            "kind": "pointcloud",
            "path": self.source.path,
            "driver": self.driver,
            "crs": crs_id(self.crs) if self.crs is not None else None,
            "extent": list(self.bounds),
            "z_range": list(self.z_range),
            "count": self.count,
            "fields": {k: str(v.dtype) for k, v in self.cloud.attributes.items()},
            "memory_mb": round(self.cloud.nbytes / 1e6, 1),
            **{k: v for k, v in self.metadata.items() if isinstance(v, (str, int, float, bool, list))},
        }


# --- style and layer -----------------------------------------------------------------------


@dataclass
class PointCloudStyle:
    """How a point cloud is coloured and drawn (plain JSON-able fields)."""

    kind: ClassVar[str] = "pointcloud"
    color_by: str = "elevation"   # 'elevation' | 'rgb' | 'intensity' | 'classification' | any attribute
    ramp: str = "viridis"
    value_range: list[float] | None = None  # None = automatic (2nd-98th percentile; symmetric for change)
    point_size: float = 2.0       # pixels
    budget: int = 1_000_000       # max points drawn in 2D


STYLE_KINDS[PointCloudStyle.kind] = PointCloudStyle


def default_style_for(fields: list[str]) -> PointCloudStyle:
    """RGB when the cloud has colours, a change field on a diverging ramp, else elevation."""
    change = [f for f in fields if is_change_field(f)]
    if change:
        preferred = "m3c2_distance" if "m3c2_distance" in change else change[0]
        return PointCloudStyle(color_by=preferred, ramp=DIVERGING_DEFAULT)
    if {"red", "green", "blue"} <= set(fields):
        return PointCloudStyle(color_by="rgb")
    return PointCloudStyle()


_IDENTITY = np.eye(4)


@register_layer_kind(PointCloudDataset)
class PointCloudLayer(Layer):
    """A point cloud on the map.  ``transform`` (4x4) places it (e.g. epoch 2 registered onto
    epoch 1) without ever rewriting the file; it and ``epoch_label`` are saved in the project."""

    kind = "pointcloud"

    def __init__(self, dataset: PointCloudDataset | None, *, transform=None, epoch_label: str = "", **kw) -> None:
        self._transform = check_matrix(transform) if transform is not None else _IDENTITY.copy()
        self._epoch_label = str(epoch_label)
        super().__init__(dataset, **kw)

    @property
    def transform(self) -> np.ndarray:
        return self._transform.copy()

    @transform.setter
    def transform(self, matrix) -> None:
        m = check_matrix(matrix)
        if np.array_equal(m, self._transform):
            return
        self._transform = m
        self.changed.emit("transform")

    @property
    def has_transform(self) -> bool:
        return not np.array_equal(self._transform, _IDENTITY)

    @property
    def epoch_label(self) -> str:
        return self._epoch_label

    @epoch_label.setter
    def epoch_label(self, value: str) -> None:
        self._set("epoch_label", str(value))

    @property
    def cloud(self) -> PointCloud | None:
        ds = self.dataset
        return ds.cloud if ds is not None else None

    def points(self, index=None) -> np.ndarray:
        """xyz (k, 3) with ``transform`` applied; all points, or those selected by ``index``."""
        cloud = self.cloud
        if cloud is None:
            return np.zeros((0, 3))
        xyz = cloud.xyz if index is None else cloud.xyz[np.asarray(index)]
        if not self.has_transform:
            return xyz.copy() if index is None else xyz
        return apply_transform(xyz, self._transform)

    def transformed_cloud(self) -> PointCloud | None:
        """The full cloud with ``transform`` applied (attributes shared)."""
        cloud = self.cloud
        if cloud is None:
            return None
        return cloud.transformed(self._transform) if self.has_transform else cloud

    @property
    def bounds(self) -> tuple[float, float, float, float] | None:
        ds = self.dataset
        if ds is None:
            return None
        if not self.has_transform:
            return ds.bounds
        xmin, ymin, xmax, ymax = ds.bounds
        zmin, zmax = ds.z_range
        corners = np.array([[x, y, z] for x in (xmin, xmax) for y in (ymin, ymax) for z in (zmin, zmax)])
        moved = apply_transform(corners, self._transform)
        lo, hi = moved[:, :2].min(axis=0), moved[:, :2].max(axis=0)
        return (float(lo[0]), float(lo[1]), float(hi[0]), float(hi[1]))

    def default_style(self) -> PointCloudStyle:
        ds = self.dataset
        return default_style_for(ds.fields if ds is not None else [])

    def to_dict(self) -> dict[str, Any]:
        d = super().to_dict()
        d["transform"] = [float(v) for v in self._transform.ravel()]
        d["epoch_label"] = self._epoch_label
        return d

    def restore_state(self, record: dict[str, Any]) -> None:
        """Apply the saved ``transform`` and ``epoch_label`` of a project layer record without
        firing events (called when a project is loaded).  A malformed transform is ignored."""
        matrix = record.get("transform")
        if matrix is not None:
            try:
                self._transform = check_matrix(matrix)
            except (ValueError, TypeError):
                pass
        if record.get("epoch_label") is not None:
            self._epoch_label = str(record["epoch_label"])
