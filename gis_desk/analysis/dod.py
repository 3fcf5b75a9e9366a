"""DEM of difference (DoD): grid both epochs on one raster, subtract, threshold, sum volumes.

Each epoch's points are binned into square cells of a common grid (aligned to multiples of
the cell size, so grids from separate runs line up) and reduced to one height per cell:
mean, min, max or median z.  ``difference = epoch2 - epoch1`` where both epochs have data.
A cell is *significant* when ``|difference| > lod``; volumes are the sums of significant
cell differences times the cell area: ``loss_m3`` (material removed, reported positive),
``gain_m3`` (added, positive) and ``net_m3 = gain_m3 - loss_m3``.

A DoD is a plan-view (2.5D) measure: right for decks, ground, scour and spoil; wrong for
walls and pier faces (use M3C2 there).  Where a scan sees both a deck and its soffit, use
``statistic="max"`` so each cell takes the top surface.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from affine import Affine

from gis_desk.errors import DataError, ParameterError, WriterError

STATISTICS = ("mean", "min", "max", "median")
MAX_CELLS = 100_000_000  # ~800 MB per float64 grid: beyond this the cell size is a mistake


@dataclass
class DodResult:
    difference: np.ndarray  # (rows, cols) float32, epoch2 - epoch1, nan where either epoch has no data
    significant: np.ndarray  # (rows, cols) bool, |difference| > lod
    transform: Affine  # pixel -> map (row 0 at the top)
    cell_size: float
    lod: float
    loss_m3: float  # positive volume removed (significant cells only)
    gain_m3: float  # positive volume added
    net_m3: float  # gain - loss
    bounds: tuple[float, float, float, float]  # grid extent xmin, ymin, xmax, ymax
    statistic: str = "mean"
    dem1: np.ndarray | None = None  # (rows, cols) float32 per-epoch heights, nan = empty
    dem2: np.ndarray | None = None

    @property
    def shape(self) -> tuple[int, int]:
        return self.difference.shape

    @property
    def cell_area(self) -> float:
        return self.cell_size * self.cell_size

    @property
    def n_compared(self) -> int:
        return int(np.isfinite(self.difference).sum())

    @property
    def n_significant(self) -> int:
        return int(self.significant.sum())

    def cell_centres(self) -> tuple[np.ndarray, np.ndarray]:
        """Map x, y of every cell centre, each (rows, cols)."""
        rows, cols = self.shape
        xs = self.bounds[0] + (np.arange(cols) + 0.5) * self.cell_size
        ys = self.bounds[3] - (np.arange(rows) + 0.5) * self.cell_size
        return np.meshgrid(xs, ys)

    def volumes(self, mask: np.ndarray | None = None) -> tuple[float, float, float]:
        """(loss_m3, gain_m3, net_m3) over significant cells, optionally within a bool mask."""
        sig = self.significant if mask is None else self.significant & mask
        d = self.difference[sig].astype(np.float64)
        loss = float(-d[d < 0].sum() * self.cell_area)
        gain = float(d[d > 0].sum() * self.cell_area)
        return loss, gain, gain - loss

    def summary(self) -> dict[str, Any]:
        """JSON-able figures for reports and comparison.json."""
        return {
            "cell_size_m": self.cell_size, "statistic": self.statistic, "lod_m": self.lod,
            "loss_m3": self.loss_m3, "gain_m3": self.gain_m3, "net_m3": self.net_m3,
            "rows": self.shape[0], "cols": self.shape[1], "bounds": list(self.bounds),
            "cells_compared": self.n_compared, "cells_significant": self.n_significant,
        }


def grid_for(bounds: tuple[float, float, float, float], cell_size: float, *, snap: bool = True):
    """(xmin, ymin, xmax, ymax, rows, cols) of a grid covering ``bounds``; snapped outwards to
    multiples of ``cell_size`` when ``snap``."""
    xmin, ymin, xmax, ymax = (float(v) for v in bounds)
    if not (xmax >= xmin and ymax >= ymin):
        raise ParameterError(f"Invalid DoD extent {bounds}")
    if snap:
        xmin = math.floor(xmin / cell_size) * cell_size
        ymin = math.floor(ymin / cell_size) * cell_size
    cols = max(1, math.ceil((xmax - xmin) / cell_size - 1e-9))
    rows = max(1, math.ceil((ymax - ymin) / cell_size - 1e-9))
    if snap and xmin + cols * cell_size <= xmax:  # a point exactly on the snapped max edge
        cols += 1
    if snap and ymin + rows * cell_size <= ymax:
        rows += 1
    if rows * cols > MAX_CELLS:
        raise ParameterError(f"A {cell_size:g} m DoD of this extent would have {rows * cols:,} cells",
                             hint="use a larger cell size or a smaller extent")
    return xmin, ymin, xmin + cols * cell_size, ymin + rows * cell_size, rows, cols


def rasterise(xyz: np.ndarray, bounds, cell_size: float, *, statistic: str = "mean",
              min_points: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """Grid of one height per cell (float64, nan where fewer than ``min_points``) and the
    per-cell point counts, both (rows, cols) with row 0 at ``bounds``' top edge.
    ``bounds`` is the grid extent (xmin, ymin, xmax, ymax), a whole number of cells."""
    if statistic not in STATISTICS:
        raise ParameterError(f"Unknown cell statistic {statistic!r}", hint=f"use one of {', '.join(STATISTICS)}")
    xmin, ymin, xmax, ymax = bounds
    cols = int(round((xmax - xmin) / cell_size))
    rows = int(round((ymax - ymin) / cell_size))
    xyz = np.asarray(xyz, dtype=np.float64)
    col = np.floor((xyz[:, 0] - xmin) / cell_size).astype(np.int64)
    row = np.floor((ymax - xyz[:, 1]) / cell_size).astype(np.int64)
    ok = (col >= 0) & (col < cols) & (row >= 0) & (row < rows) & np.isfinite(xyz[:, 2])
    cell = row[ok] * cols + col[ok]
    z = xyz[ok, 2]
    n_cells = rows * cols
    counts = np.bincount(cell, minlength=n_cells)
    out = np.full(n_cells, np.nan)
    if statistic == "mean":
        sums = np.bincount(cell, weights=z, minlength=n_cells)
        has = counts > 0
        out[has] = sums[has] / counts[has]
    elif len(z):
        order = np.lexsort((z, cell))  # by cell, then height within the cell
        cs, zs = cell[order], z[order]
        starts = np.flatnonzero(np.r_[True, cs[1:] != cs[:-1]])
        k = np.diff(np.r_[starts, len(cs)])
        ids = cs[starts]
        if statistic == "min":
            out[ids] = zs[starts]
        elif statistic == "max":
            out[ids] = zs[starts + k - 1]
        else:
            out[ids] = 0.5 * (zs[starts + (k - 1) // 2] + zs[starts + k // 2])
    out[counts < max(1, min_points)] = np.nan
    return out.reshape(rows, cols), counts.reshape(rows, cols)


def dem_of_difference(
    epoch1: np.ndarray,
    epoch2: np.ndarray,
    *,
    cell_size: float = 0.25,
    lod: float = 0.0,
    bounds: tuple[float, float, float, float] | None = None,
    statistic: str = "mean",
    min_points: int = 1,
    feedback=None,
) -> DodResult:
    """DEM of difference of two (n, 3) epochs (same CRS, epoch 2 already registered).

    ``bounds`` defaults to the union of both epochs' plan extents, snapped to the cell grid;
    given bounds are used as they are.  ``min_points`` leaves cells with fewer points empty.
    """
    if not cell_size > 0:
        raise ParameterError(f"The DoD cell size must be positive, not {cell_size}")
    if not lod >= 0:
        raise ParameterError(f"The level of detection must be zero or positive, not {lod}")
    e1, e2 = _xyz(epoch1, "epoch 1"), _xyz(epoch2, "epoch 2")
    if bounds is None:
        both = np.vstack([e1[:, :2].min(0), e1[:, :2].max(0), e2[:, :2].min(0), e2[:, :2].max(0)])
        ext = (both[:, 0].min(), both[:, 1].min(), both[:, 0].max(), both[:, 1].max())
        xmin, ymin, xmax, ymax, rows, cols = grid_for(ext, cell_size, snap=True)
    else:
        xmin, ymin, xmax, ymax, rows, cols = grid_for(bounds, cell_size, snap=False)
    grid_bounds = (xmin, ymin, xmax, ymax)
    if feedback is not None:
        feedback.check_canceled()
    dem1, _ = rasterise(e1, grid_bounds, cell_size, statistic=statistic, min_points=min_points)
    if feedback is not None:
        feedback.set_progress(45.0)
        feedback.check_canceled()
    dem2, _ = rasterise(e2, grid_bounds, cell_size, statistic=statistic, min_points=min_points)
    diff = dem2 - dem1  # nan wherever either is empty
    finite = np.isfinite(diff)
    if not finite.any():
        raise DataError("The two epochs share no DoD cell: they do not overlap in plan",
                        hint="check the registration and that both epochs are in the same CRS")
    significant = finite & (np.abs(np.where(finite, diff, 0.0)) > lod)
    result = DodResult(
        difference=diff.astype(np.float32), significant=significant,
        transform=Affine(cell_size, 0.0, xmin, 0.0, -cell_size, ymax), cell_size=float(cell_size),
        lod=float(lod), loss_m3=0.0, gain_m3=0.0, net_m3=0.0, bounds=grid_bounds, statistic=statistic,
        dem1=dem1.astype(np.float32), dem2=dem2.astype(np.float32),
    )
    # Volumes from the float64 differences, not the stored float32 copy.
    d = diff[significant]
    area = cell_size * cell_size
    result.loss_m3 = float(-d[d < 0].sum() * area)
    result.gain_m3 = float(d[d > 0].sum() * area)
    result.net_m3 = result.gain_m3 - result.loss_m3
    if feedback is not None:
        feedback.set_progress(100.0)
    return result


def write_dod_geotiff(path: str | Path, result: DodResult, crs: Any) -> Path:
    """Write the DoD as a 2-band Float32 GeoTIFF (nodata NaN), atomically.

    Band 1 ``difference`` (m, epoch 2 - epoch 1); band 2 ``significant_difference``: the
    difference where ``|difference| > lod``, 0 where compared but not significant.  Dataset
    tags carry LOD_M, LOSS_M3, GAIN_M3, NET_M3, CELL_SIZE_M, STATISTIC and cell counts.
    """
    import rasterio
    from rasterio.crs import CRS as RioCRS

    from gis_desk.core.crs import to_crs

    path = Path(path)
    rows, cols = result.shape
    diff = result.difference.astype(np.float32)
    sig = np.where(result.significant, diff, np.float32(0.0)).astype(np.float32)
    sig[~np.isfinite(diff)] = np.nan
    pcrs = to_crs(crs)
    profile = {
        "driver": "GTiff", "width": cols, "height": rows, "count": 2, "dtype": "float32",
        "nodata": float("nan"), "transform": result.transform,
        "crs": RioCRS.from_wkt(pcrs.to_wkt()) if pcrs is not None else None,
        "compress": "deflate", "predictor": 3,
    }
    if rows >= 256 and cols >= 256:
        profile.update(tiled=True, blockxsize=256, blockysize=256)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with rasterio.open(tmp, "w", **profile) as dst:
            dst.write(diff, 1)
            dst.write(sig, 2)
            dst.set_band_description(1, "difference")
            dst.set_band_description(2, "significant_difference")
            for b in (1, 2):
                dst.set_band_unit(b, "metre")
            s = result.summary()
            dst.update_tags(
                LOD_M=f"{result.lod:.6g}", LOSS_M3=f"{result.loss_m3:.6g}", GAIN_M3=f"{result.gain_m3:.6g}",
                NET_M3=f"{result.net_m3:.6g}", CELL_SIZE_M=f"{result.cell_size:.6g}", STATISTIC=result.statistic,
                CELLS_COMPARED=str(s["cells_compared"]), CELLS_SIGNIFICANT=str(s["cells_significant"]),
                DESCRIPTION="DEM of difference, epoch 2 minus epoch 1 (metres)",
            )
        os.replace(tmp, path)
    except (OSError, rasterio.errors.RasterioError) as exc:
        tmp.unlink(missing_ok=True)
        raise WriterError(f"The DoD GeoTIFF could not be written: {exc}", path=path) from exc
    return path


def _xyz(a: np.ndarray, which: str) -> np.ndarray:
    arr = np.asarray(a, dtype=np.float64)
    if arr.ndim != 2 or arr.shape[1] < 3:
        raise DataError(f"The {which} points must be an (n, 3) array, not {arr.shape}")
    arr = arr[np.all(np.isfinite(arr[:, :3]), axis=1), :3]
    if len(arr) == 0:
        raise DataError(f"The {which} cloud has no points for the DoD")
    return arr
