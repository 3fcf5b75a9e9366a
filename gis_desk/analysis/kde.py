"""Kernel density estimation (heat maps) of points onto a raster, QGIS-compatible.

Reproduces QGIS's "Heatmap (Kernel Density Estimation)" (``qgis:heatmapkerneldensityestimation``,
class ``QgsKernelDensityEstimation``) on the same inputs, and adds a Gaussian kernel, an exact
mode and a per-cell count of contributing records for disclosure control.

Grid (``kde_grid``), as QGIS builds it: the points' extent (or ``extent``) grown by the kernel
reach ``r`` on every side; origin (xmin - r, ymax + r); ``cols = ceil(W / px) + 1`` and
``rows = ceil(H / px) + 1`` where W and H are the width and height of the *grown* extent;
single band float32; cells no point reaches hold nodata -9999.  Distances, radius and pixel
size are in the CRS's units (metres in British National Grid, EPSG:27700).

Kernels, with ``u = d / r`` (d: distance from the point to a cell centre; cells with
``d <= r`` are reached) and QGIS's "Raw" values (peak 1 per unit weight):

==============  ================================  ===========================================
kernel          Raw value                         "Scaled" = Raw times (QGIS's constants)
==============  ================================  ===========================================
quartic         (1 - u^2)^2                       116/(5 pi r^2) * 15/16 = 21.75/(pi r^2)
triangular      1 - (1 - decay) u                 3/((1 + 2 decay) pi r^2) (decay >= 0; else 1)
uniform         1                                 2/(pi r) * 0.5/r = 1/(pi r^2)
triweight       (1 - u^2)^3                       128/(35 pi r^2) * 35/32 = 4/(pi r^2)
epanechnikov    1 - u^2                           8/(3 pi r^2) * 3/4 = 2/(pi r^2)
gaussian        exp(-d^2 / (2 s^2)), d <= 4 s     1 / (2 pi s^2 (1 - exp(-8)))
==============  ================================  ===========================================

Every Scaled kernel integrates to the point's weight over the plane, except QGIS's quartic,
whose constant (116 where 16 gives 3/(pi r^2)) integrates to 7.25 times the weight, and the
triangular kernel with a negative decay, which QGIS leaves Raw; both are kept so results
match QGIS.  Gaussian is not in QGIS: its ``radius_m`` is the bandwidth ``s`` (the
standard deviation, metres), the kernel is cut at 4 s (the grid is grown by 4 s) and Scaled
is renormalised so the cut kernel integrates to the weight exactly.

Positioning modes:

- QGIS-compatible (default for QGIS's kernels).  QGIS stamps each point into a block of
  ``2b + 1`` cells square around it (``b`` = radius in pixels, rounded up only when the
  remainder exceeds 0.5 *map units*), evaluating the kernel with rows counted from the bottom
  of the extent but writing them with rows counted from the top.  In effect each point is
  mirrored in y within its own cell (a shift of up to one pixel).  This mode reproduces that
  arithmetic step by step (same double-precision expressions, same ``d <= r`` test, same block)
  so the raster equals QGIS's to float32 rounding.  (Precisely: a point stays in its row, at
  the mirror image of its position within the row, moved on by the fraction of a pixel by
  which the grown height exceeds a whole number of pixels.)
- Exact: distances from the true point to the true cell centres, no block.  Use it when
  agreement with QGIS does not matter.  Gaussian always uses it.

Speed: each point's kernel is stamped row by row by a compiled (numba) loop: the reached
columns of a row are found with the exact ``d <= r`` test at the two ends only, and the
rows are split into bands computed in parallel threads.  1,000,000 points with r = 500 m on
10 m pixels take a few seconds (QGIS: about 100 s); see ``benchmarks/bench_kde.py``.
Identical points are merged first (weights summed), which is exact.
"""

from __future__ import annotations

import math
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from gis_desk.errors import CanceledError, DataError, ParameterError, WriterError

NODATA = -9999.0
KERNELS = ("quartic", "triangular", "uniform", "triweight", "epanechnikov", "gaussian")
QGIS_KERNELS = KERNELS[:5]
OUTPUT_VALUES = ("raw", "scaled")
BANDWIDTH_METHODS = ("silverman", "scott")
GAUSSIAN_CUTOFF = 4.0  # the Gaussian kernel is cut at this many bandwidths
MAX_CELLS = 400_000_000  # float32 values + int32 counts: 3.2 GB at this size
BAND_ROWS = 16  # rows per parallel band: its float64 sums stay in the processor's cache

_KERNEL_CODE = {name: i for i, name in enumerate(KERNELS)}


# --- grid ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class GridSpec:
    """The output grid: the extent grown by the kernel reach, and its rows and columns.

    ``xmin, ymin, xmax, ymax``: the grown extent (CRS units; QGIS's ``mBounds``).  The raster
    starts at (xmin, ymax) and, because of the ``+ 1`` in QGIS's sizes, reaches a little past
    xmax and below ymin (``raster_bounds``).  ``pixel_size``: cell side, CRS units.
    """

    xmin: float
    ymin: float
    xmax: float
    ymax: float
    pixel_size: float
    cols: int
    rows: int

    @property
    def shape(self) -> tuple[int, int]:
        return (self.rows, self.cols)

    @property
    def transform(self):
        """The ``affine.Affine`` from (col, row) to CRS coordinates (north up)."""
        from affine import Affine

        return Affine(self.pixel_size, 0.0, self.xmin, 0.0, -self.pixel_size, self.ymax)

    @property
    def raster_bounds(self) -> tuple[float, float, float, float]:
        px = self.pixel_size
        return (self.xmin, self.ymax - self.rows * px, self.xmin + self.cols * px, self.ymax)


def _check_positive(value: Any, name: str, unit: str = "m") -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ParameterError(f"{name} must be a number, got {value!r}") from None
    if not math.isfinite(number) or number <= 0:
        raise ParameterError(f"{name} must be a positive number of {unit}, got {value!r}",
                             hint=f"give a {name.replace('_', ' ')} above zero")
    return number


def _as_points(points_xy: Any) -> np.ndarray:
    pts = np.asarray(points_xy, dtype=np.float64)
    if pts.ndim != 2 or pts.shape[1] != 2:
        if pts.size == 0:
            return np.empty((0, 2))
        raise DataError(f"points must be an (N, 2) array of x, y coordinates, got shape {pts.shape}")
    return pts


def kde_grid(points_xy: Any, radius_m: float, pixel_size_m: float, extent=None) -> GridSpec:
    """The grid QGIS's heat map would use for these points.

    ``points_xy``: (N, 2) x, y in the CRS's units (metres for BNG); rows with NaN are ignored.
    ``radius_m``: how far the extent is grown (the kernel radius; 4 bandwidths for Gaussian).
    ``extent``: (xmin, ymin, xmax, ymax) to use instead of the points' bounds.
    Raises ``ParameterError`` for a radius or pixel size that is not positive or a grid above
    ``MAX_CELLS`` cells, ``DataError`` when there is no point and no extent.
    """
    r = _check_positive(radius_m, "radius_m")
    px = _check_positive(pixel_size_m, "pixel_size_m")
    if extent is not None:
        xmin, ymin, xmax, ymax = (float(v) for v in extent)
        if not (xmin <= xmax and ymin <= ymax) or not all(map(math.isfinite, (xmin, ymin, xmax, ymax))):
            raise ParameterError(f"extent must be finite xmin, ymin, xmax, ymax with min <= max, got {extent!r}")
    else:
        pts = _as_points(points_xy)
        pts = pts[np.isfinite(pts).all(axis=1)]
        if len(pts) == 0:
            raise DataError("There are no points to make a heat map from",
                            hint="the layer is empty or every point lacks coordinates")
        xmin, ymin = pts.min(axis=0)
        xmax, ymax = pts.max(axis=0)
    gx0, gy0, gx1, gy1 = xmin - r, ymin - r, xmax + r, ymax + r
    cols = int(max(math.ceil((gx1 - gx0) / px) + 1, 1))
    rows = int(max(math.ceil((gy1 - gy0) / px) + 1, 1))
    if rows * cols > MAX_CELLS:
        raise ParameterError(f"The heat map would have {rows:,} x {cols:,} cells, too many to hold in memory",
                             hint=f"use a larger pixel size than {px:g} (at most {MAX_CELLS:,} cells)")
    return GridSpec(float(gx0), float(gy0), float(gx1), float(gy1), px, cols, rows)


def qgis_block_radius(radius: float, pixel_size: float) -> int:
    """QGIS's stamp half-size ``b`` in pixels: ``int(r / px)``, plus one when the remainder
    ``r - px * b`` exceeds 0.5 (map units, not pixels: QGIS's rule)."""
    b = int(radius / pixel_size)
    if radius - pixel_size * b > 0.5:
        b += 1
    return b


# --- kernels -------------------------------------------------------------------------------


def _check_kernel(kernel: str) -> str:
    name = str(kernel).strip().lower()
    if name not in KERNELS:
        raise ParameterError(f"Unknown kernel {kernel!r}", hint=f"use one of: {', '.join(KERNELS)}")
    return name


def _check_output(output_values: str) -> str:
    name = str(output_values).strip().lower()
    if name not in OUTPUT_VALUES:
        raise ParameterError(f"Unknown output values {output_values!r}", hint="use 'raw' or 'scaled'")
    return name


def kernel_reach(kernel: str, radius_m: float) -> float:
    """How far a point's kernel reaches: the radius, or 4 bandwidths for Gaussian (m)."""
    return radius_m * GAUSSIAN_CUTOFF if _check_kernel(kernel) == "gaussian" else radius_m


def scale_constant(kernel: str, radius_m: float, decay: float = 0.0) -> float:
    """The factor from Raw to Scaled values (QGIS's constants; see the module table), per m^2."""
    kernel = _check_kernel(kernel)
    r = float(radius_m)
    if kernel == "quartic":
        return 116.0 / (5.0 * math.pi * r ** 2) * (15.0 / 16.0)
    if kernel == "triweight":
        return 128.0 / (35.0 * math.pi * r ** 2) * (35.0 / 32.0)
    if kernel == "epanechnikov":
        return 8.0 / (3.0 * math.pi * r ** 2) * (3.0 / 4.0)
    if kernel == "uniform":
        return 2.0 / (math.pi * r) * (0.5 / r)
    if kernel == "triangular":
        return 3.0 / ((1.0 + 2.0 * decay) * math.pi * r ** 2) if decay >= 0 else 1.0
    return 1.0 / (2.0 * math.pi * r ** 2 * (1.0 - math.exp(-GAUSSIAN_CUTOFF ** 2 / 2.0)))


def kernel_value(distance_m: Any, radius_m: float, kernel: str = "quartic", output_values: str = "raw",
                 decay: float = 0.0) -> np.ndarray:
    """The value one point of weight 1 gives a cell centre ``distance_m`` away (array-wise).

    0 beyond the reach (``radius_m``; 4 * ``radius_m`` for Gaussian, whose ``radius_m`` is the
    bandwidth).  ``decay`` is QGIS's decay ratio of the triangular kernel.
    """
    kernel, output_values = _check_kernel(kernel), _check_output(output_values)
    d = np.asarray(distance_m, dtype=np.float64)
    r = float(radius_m)
    u2 = (d / r) ** 2
    raw = {
        "quartic": lambda: (1.0 - u2) ** 2,
        "triweight": lambda: (1.0 - u2) ** 3,
        "epanechnikov": lambda: 1.0 - u2,
        "uniform": lambda: np.ones_like(d),
        "triangular": lambda: 1.0 - (1.0 - decay) * (d / r),
        "gaussian": lambda: np.exp(-0.5 * u2),
    }[kernel]()
    raw = np.where(d <= kernel_reach(kernel, r), raw, 0.0)
    return raw * scale_constant(kernel, r, decay) if output_values == "scaled" else raw


def _sd_per_radius(kernel: str, decay: float = 0.0) -> float:
    """Standard deviation along one axis of the kernel as a density, per unit radius.

    For profiles (1 - rho^2)^p it is sqrt(1 / (2 (p + 2))); for the triangular profile
    1 - a rho, E[rho^2] = (1/4 - a/5) / (1/2 - a/3).
    """
    powers = {"uniform": 0, "epanechnikov": 1, "quartic": 2, "triweight": 3}
    if kernel in powers:
        return math.sqrt(1.0 / (2.0 * (powers[kernel] + 2)))
    if kernel == "triangular":
        a = 1.0 - decay
        second_moment = (0.25 - a / 5.0) / (0.5 - a / 3.0) if abs(0.5 - a / 3.0) > 1e-9 else 0.3
        return math.sqrt(second_moment / 2.0) if 0.0 < second_moment < 1.0 else math.sqrt(0.15)
    return 1.0  # gaussian: radius_m is the standard deviation


def suggest_bandwidth(points_xy: Any, method: str = "silverman") -> float:
    """A Gaussian bandwidth (standard deviation of the kernel, in CRS units: metres for BNG)
    from the points' spread, by a rule of thumb for two dimensions.

    Both rules are the normal-reference rule ``h = (4 / ((d + 2) n))^(1 / (d + 4)) * sigma``,
    which for d = 2 is ``h = sigma * n^(-1/6)`` (n: number of points), with an isotropic
    ``sigma = sqrt((sx^2 + sy^2) / 2)``.  They differ in the per-axis spread:

    - ``'silverman'``: ``s = min(standard deviation, interquartile range / 1.349)``
      (Silverman 1986, robust to outliers and clusters);
    - ``'scott'``: ``s`` = standard deviation (Scott 1992).

    Use ``radius_for_bandwidth`` for the radius of another kernel.  Raises ``DataError`` with
    fewer than two distinct points, ``ParameterError`` for an unknown method.
    """
    method = str(method).strip().lower()
    if method not in BANDWIDTH_METHODS:
        raise ParameterError(f"Unknown bandwidth method {method!r}",
                             hint=f"use one of: {', '.join(BANDWIDTH_METHODS)}")
    pts = _as_points(points_xy)
    pts = pts[np.isfinite(pts).all(axis=1)]
    n = len(pts)
    if n < 2:
        raise DataError("At least two points are needed to choose a bandwidth automatically",
                        hint="give the radius yourself")
    spread = np.std(pts, axis=0, ddof=1)
    if method == "silverman":
        q75, q25 = np.percentile(pts, [75, 25], axis=0)
        iqr = (q75 - q25) / 1.349
        spread = np.where(iqr > 0, np.minimum(spread, iqr), spread)
    sigma = math.sqrt(float(spread[0] ** 2 + spread[1] ** 2) / 2.0)
    if not sigma > 0:
        raise DataError("All points are at the same place, so no bandwidth can be estimated",
                        hint="give the radius yourself")
    return sigma * n ** (-1.0 / 6.0)


def radius_for_bandwidth(bandwidth_m: float, kernel: str = "quartic", decay: float = 0.0) -> float:
    """The radius of ``kernel`` whose spread (standard deviation along an axis) equals that of
    a Gaussian of ``bandwidth_m``: e.g. quartic ``r = sqrt(8) h``, uniform ``r = 2 h``.
    For ``'gaussian'`` the bandwidth itself."""
    kernel = _check_kernel(kernel)
    return float(bandwidth_m) / _sd_per_radius(kernel, decay)


# --- result --------------------------------------------------------------------------------


@dataclass
class KdeResult:
    """A heat map: ``array`` float32 (rows, cols) with ``nodata`` where no point reaches,
    ``transform`` (affine, pixel -> CRS), ``crs`` (as given, may be None), ``counts`` (int32,
    number of input points whose kernel reaches each cell, or None) and ``params`` (what was
    used, including an automatic radius)."""

    array: np.ndarray
    transform: Any
    crs: Any
    nodata: float
    counts: np.ndarray | None = None
    params: dict[str, Any] = field(default_factory=dict)

    @property
    def grid(self) -> GridSpec:
        return self.params["grid"]

    def to_geotiff(self, path: str | Path) -> str:
        """Write ``array`` as a single-band float32 GeoTIFF (tiled, DEFLATE) with nodata -9999,
        the CRS and the parameters as metadata tags; written beside and moved into place.
        Returns the path; raises ``WriterError`` naming the file."""
        import rasterio

        path = Path(path)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
        rows, cols = self.array.shape
        profile = dict(driver="GTiff", width=cols, height=rows, count=1, dtype="float32",
                       nodata=self.nodata, transform=self.transform, compress="deflate", predictor=3,
                       tiled=rows >= 256 and cols >= 256, blockxsize=256, blockysize=256,
                       BIGTIFF="IF_SAFER")
        if self.crs is not None:
            from gis_desk.core.crs import to_crs

            profile["crs"] = rasterio.crs.CRS.from_wkt(to_crs(self.crs).to_wkt())
        tags = {f"KDE_{k.upper()}": str(v) for k, v in self.params.items() if k != "grid"}
        try:
            with rasterio.open(tmp, "w", **profile) as dst:
                dst.write(self.array.astype(np.float32, copy=False), 1)
                dst.update_tags(**tags)
            os.replace(tmp, path)
        except (OSError, rasterio.errors.RasterioError) as exc:
            raise WriterError(f"Could not write the heat map: {exc}", path=path,
                              hint="check the folder exists, is writable and the disk is not full") from exc
        finally:
            if tmp.exists():
                tmp.unlink()
        return str(path)


# --- the computation -----------------------------------------------------------------------


def kde(points_xy: Any, radius_m: float | None, pixel_size_m: float, *, weights: Any = None,
        kernel: str = "quartic", output_values: str = "raw", qgis_compatible: bool | None = None,
        decay: float = 0.0, extent=None, crs: Any = None, return_counts: bool = False,
        bandwidth_method: str = "silverman", feedback=None, threads: int | None = None) -> KdeResult:
    """Kernel density of ``points_xy`` on the QGIS grid (see the module docstring).

    ``points_xy``: (N, 2) x, y in a projected CRS (units: metres for BNG); rows with NaN are
    skipped.  ``radius_m``: kernel radius (Gaussian: bandwidth); ``None`` chooses it with
    ``suggest_bandwidth(points, bandwidth_method)`` and ``radius_for_bandwidth`` (the value used
    is in ``params['radius_m']``).  ``pixel_size_m``: cell side.  ``weights``: one per point
    (default 1; NaN counts as 0, as QGIS treats NULL).  ``kernel``: one of ``KERNELS``.
    ``output_values``: 'raw' or 'scaled'.  ``qgis_compatible``: reproduce QGIS's arithmetic
    (default: True for QGIS's kernels, False for Gaussian, which QGIS lacks).  ``decay``:
    triangular decay ratio.  ``extent``: (xmin, ymin, xmax, ymax) instead of the points'
    bounds (points outside it grown by the reach are skipped).  ``crs``: stored in the
    result.  ``return_counts``: also count, per cell, the points whose kernel reaches it
    (zero-weight points included: they reach the cell as in QGIS).  ``feedback``: a
    ``Feedback`` for progress and cancel.  ``threads``: default all cores.

    Raises ``ParameterError`` (bad radius, pixel size, kernel, output values, Gaussian with
    ``qgis_compatible=True``, grid too large), ``DataError`` (no points, weights that do not
    match the points or are infinite) and ``CanceledError``.
    """
    kernel, output_values = _check_kernel(kernel), _check_output(output_values)
    if qgis_compatible is None:
        qgis_compatible = kernel != "gaussian"
    if qgis_compatible and kernel == "gaussian":
        raise ParameterError("QGIS has no Gaussian kernel, so there is no QGIS-compatible Gaussian heat map",
                             hint="use qgis_compatible=False, or a QGIS kernel such as quartic")
    decay = float(decay)
    if not math.isfinite(decay):
        raise ParameterError(f"decay must be a finite number, got {decay!r}")
    _check_positive(pixel_size_m, "pixel_size_m")
    pts = _as_points(points_xy)
    n_input = len(pts)
    w = _weights(weights, n_input)
    finite = np.isfinite(pts).all(axis=1)
    pts, w = pts[finite], w[finite]
    if len(pts) == 0:
        raise DataError("There are no points to make a heat map from",
                        hint="the layer is empty or every point lacks coordinates")
    radius_auto = radius_m is None
    bandwidth = None
    if radius_auto:
        bandwidth = suggest_bandwidth(pts, bandwidth_method)
        radius_m = radius_for_bandwidth(bandwidth, kernel, decay)
    radius = _check_positive(radius_m, "radius_m")
    reach = kernel_reach(kernel, radius)
    grid = kde_grid(pts, reach, pixel_size_m, extent=extent)
    inside = ((pts[:, 0] >= grid.xmin) & (pts[:, 0] <= grid.xmax)
              & (pts[:, 1] >= grid.ymin) & (pts[:, 1] <= grid.ymax))
    pts, w = pts[inside], w[inside]
    scale = scale_constant(kernel, radius, decay) if output_values == "scaled" else 1.0
    params: dict[str, Any] = {
        "kernel": kernel, "radius_m": radius, "radius_auto": radius_auto, "pixel_size_m": grid.pixel_size,
        "output_values": output_values, "qgis_compatible": bool(qgis_compatible), "decay": decay,
        "reach_m": reach, "scale": scale, "n_input": n_input, "n_used": int(len(pts)),
        "n_without_coordinates": int((~finite).sum()), "n_outside_extent": int((~inside).sum()),
        "total_weight": float(w.sum()), "rows": grid.rows, "cols": grid.cols, "grid": grid,
    }
    if radius_auto:
        params.update(bandwidth_method=bandwidth_method, bandwidth_m=bandwidth)
    values, counts = _stamp(pts, w * scale, grid, kernel, radius, decay, bool(qgis_compatible),
                            feedback, threads)
    return KdeResult(values, grid.transform, crs, NODATA, counts if return_counts else None, params)


def _weights(weights: Any, n: int) -> np.ndarray:
    if weights is None:
        return np.ones(n, dtype=np.float64)
    try:
        w = np.asarray(weights, dtype=np.float64).reshape(-1)
    except (TypeError, ValueError) as exc:
        raise DataError(f"Weights must be numbers ({exc})", hint="choose a numeric weight field") from exc
    if len(w) != n:
        raise DataError(f"There are {len(w)} weights for {n} points", hint="give one weight per point")
    if np.isinf(w).any():
        raise DataError(f"{int(np.isinf(w).sum())} weight(s) are infinite", hint="fix or remove those records")
    return np.nan_to_num(w, nan=0.0)


def _stamp(pts, ws, grid: GridSpec, kernel: str, radius: float, decay: float, qgis: bool,
           feedback, threads: int | None):
    """(float32 values, nodata where no point reaches; int32 counts of points reaching)."""
    _progress(feedback, 1)
    x, y = pts[:, 0], pts[:, 1]
    px, reach = grid.pixel_size, kernel_reach(kernel, radius)
    if qgis:
        b = qgis_block_radius(radius, px)
        row_lo = _qgis_trunc((grid.ymax - y) / px - b)  # QGIS's yPositionIO: the block's top row
        half_rows = b
    else:
        half_rows = int(math.ceil(reach / px)) + 1
        row_lo = np.floor((grid.ymax - y) / px).astype(np.int64) - half_rows
    # Bands of rows are stamped in parallel.  Points are sorted by the band their first row
    # falls in, then west to east, so consecutive points touch the same cells (cache) and a
    # band's points are one slice; identical points end up side by side and are merged.
    threads = max(1, int(threads or os.cpu_count() or 1))
    band_rows = BAND_ROWS
    edges = np.append(np.arange(0, grid.rows, band_rows), grid.rows)
    tile = row_lo // band_rows
    order = np.lexsort((y, x, tile))
    x, y, ws, row_lo, tile = x[order], y[order], ws[order], row_lo[order], tile[order]
    first = np.ones(len(x), dtype=bool)
    first[1:] = (x[1:] != x[:-1]) | (y[1:] != y[:-1])
    starts = np.flatnonzero(first)
    mult = np.diff(np.append(starts, len(x))).astype(np.int32)
    x, y, row_lo, tile = x[starts], y[starts], row_lo[starts], tile[starts]
    ws = np.add.reduceat(ws, starts)
    row_hi = row_lo + 2 * half_rows
    if qgis:
        col_lo = _qgis_trunc((x - grid.xmin) / px - b)
        shift = _qgis_trunc((y - grid.ymin) / px - b) - row_lo  # rows evaluated from the bottom
    else:
        col_lo = np.floor((x - grid.xmin) / px).astype(np.int64) - half_rows
        shift = np.zeros(len(x), dtype=np.int64)
    col_hi = col_lo + 2 * half_rows
    np.clip(col_lo, 0, grid.cols - 1, out=col_lo)
    np.clip(col_hi, -1, grid.cols - 1, out=col_hi)
    values = np.empty(grid.shape, dtype=np.float32)
    counts = np.empty(grid.shape, dtype=np.int32)
    stamp = _band_function(feedback)
    cx = (np.arange(grid.cols, dtype=np.float64) + 0.5) * px + grid.xmin  # as QGIS computes them
    scalars = (cx, px, grid.xmin, grid.ymin, grid.ymax, reach, 1.0 / radius ** 2, 1.0 - decay, 1.0 / radius,
               _KERNEL_CODE[kernel], qgis, NODATA)
    _progress(feedback, 5)

    def run_band(band: int) -> None:
        r0, r1 = int(edges[band]), int(edges[band + 1])
        i0 = int(np.searchsorted(tile, (r0 - 2 * half_rows) // band_rows, side="left"))
        i1 = int(np.searchsorted(tile, band, side="right"))
        stamp(r0, r1, i0, i1, x, y, ws, mult, row_lo, row_hi, col_lo, col_hi, shift, *scalars,
              values, counts)

    _run_bands(run_band, len(edges) - 1, threads, feedback)
    return values, counts


def _qgis_trunc(v: np.ndarray) -> np.ndarray:
    """C++'s conversion of a double to ``unsigned int`` as QGIS relies on: truncation toward zero
    (so -0.5 gives 0).  Values at or below -1 are undefined in C++ and cannot occur for points
    inside the grown extent; they are floored here and the stamp is clipped to the raster."""
    return np.where(v > -1.0, np.trunc(v), np.floor(v)).astype(np.int64)


def _progress(feedback, percent: float) -> None:
    if feedback is not None:
        feedback.check_canceled()
        feedback.set_progress(percent)


def _run_bands(run_band, n_bands: int, threads: int, feedback) -> None:
    """Run the bands on a thread pool (the compiled loop releases the GIL), reporting progress
    from 5 to 99 % and cancelling outstanding bands when the user cancels."""
    if threads == 1:
        for band in range(n_bands):
            run_band(band)
            _progress(feedback, 5 + 94 * (band + 1) / n_bands)
        return
    with ThreadPoolExecutor(max_workers=threads, thread_name_prefix="kde") as pool:
        futures = [pool.submit(run_band, band) for band in range(n_bands)]
        try:
            for done, future in enumerate(futures, start=1):
                future.result()
                _progress(feedback, 5 + 94 * done / n_bands)
        except BaseException:
            for future in futures:
                future.cancel()
            raise


@lru_cache(maxsize=None)
def _compiled():
    """The band loop compiled with numba (cached on disk), or None when numba is missing."""
    try:
        import numba
    except ImportError:
        return None
    return numba.njit(nogil=True, cache=True)(_stamp_band)


def _band_function(feedback):
    """``_stamp_band``, compiled when numba is available."""
    compiled = _compiled()
    if compiled is None:
        if feedback is not None:
            feedback.warning("numba is not installed: the heat map is computed without compilation, "
                             "which is very much slower")
        return _stamp_band
    return compiled


# The loop below is compiled by numba; it is plain Python so it also runs (slowly) without it.
# Kernel codes follow KERNELS: 0 quartic, 1 triangular, 2 uniform, 3 triweight,
# 4 epanechnikov, 5 gaussian.


def _stamp_band(r0, r1, i0, i1, x, y, ws, mult, row_lo, row_hi, col_lo, col_hi, shift,
                cx, px, gx0, gymin, gymax, reach, inv_r2, tri_slope, inv_r, kernel, qgis, nodata,
                out_values, out_counts):
    """Add points ``i0:i1`` to raster rows ``r0:r1``: float64 sums, then float32 into
    ``out_values`` (``nodata`` where no point reaches) and reach counts into ``out_counts``.
    ``cx``: column centres, computed as QGIS does, ``(c + 0.5) * px + xmin``."""
    cols = out_values.shape[1]
    acc = np.zeros((r1 - r0, cols), dtype=np.float64)
    diff = np.zeros((r1 - r0, cols + 1), dtype=np.int32)
    reach2 = reach * reach
    reach2_lo = reach2 * (1.0 - 1e-12)
    reach2_hi = reach2 * (1.0 + 1e-12)

    def reached(c, xi, dy2):
        # QGIS's test in its arithmetic, sqrt((centre_x - x)^2 + dy^2) <= reach; the square
        # root is taken only when the squared distance is within rounding of reach^2
        dx = cx[c] - xi
        d2 = dx * dx + dy2
        if d2 < reach2_lo:
            return True
        if d2 > reach2_hi:
            return False
        return not (math.sqrt(d2) > reach)
    for i in range(i0, i1):
        ra = max(row_lo[i], r0)
        rb = min(row_hi[i], r1 - 1)
        wlo = col_lo[i]
        whi = col_hi[i]
        if ra > rb or wlo > whi:
            continue
        xi = x[i]
        yi = y[i]
        wi = ws[i]
        centre = (xi - gx0) / px - 0.5  # column whose centre is at the point, fractional
        for row in range(ra, rb + 1):
            if qgis:
                dy = ((row + shift[i]) + 0.5) * px + gymin - yi
            else:
                dy = (gymax - (row + 0.5) * px) - yi
            dy2 = dy * dy
            half = math.sqrt(max(reach2 - dy2, 0.0)) / px
            first_col = centre - half
            last_col = centre + half
            lo = int(math.ceil(first_col))
            hi = int(math.floor(last_col))
            # The estimate is exact unless an end falls within rounding of a cell centre (or
            # the chord is short, where rounding of the square root grows): then settle the
            # ends with the exact test, which moves them by at most a cell.
            settle = (half < 2.0 or lo - first_col < 1e-6 or first_col - (lo - 1) < 1e-6
                      or last_col - hi < 1e-6 or (hi + 1) - last_col < 1e-6)
            lo = max(lo, wlo)
            hi = min(hi, whi)
            if settle:
                if lo > hi:
                    lo = min(max(int(math.floor(centre + 0.5)), wlo), whi)
                    hi = lo
                while lo > wlo and reached(lo - 1, xi, dy2):
                    lo -= 1
                while hi < whi and reached(hi + 1, xi, dy2):
                    hi += 1
                while lo <= hi and not reached(lo, xi, dy2):
                    lo += 1
                while hi >= lo and not reached(hi, xi, dy2):
                    hi -= 1
            if lo > hi:
                continue
            # unsigned indices spare the loops numba's negative-index checks: they vectorise
            band_row = np.uint64(row - r0)
            first = np.uint64(lo)
            stop = np.uint64(hi + 1)
            base = 1.0 - dy2 * inv_r2
            if kernel == 0:
                for c in range(first, stop):
                    dx = cx[c] - xi
                    t = base - dx * dx * inv_r2
                    acc[band_row, c] += wi * (t * t)
            elif kernel == 1:
                for c in range(first, stop):
                    dx = cx[c] - xi
                    acc[band_row, c] += wi * (1.0 - tri_slope * math.sqrt(dx * dx + dy2) * inv_r)
            elif kernel == 2:
                for c in range(first, stop):
                    acc[band_row, c] += wi
            elif kernel == 3:
                for c in range(first, stop):
                    dx = cx[c] - xi
                    t = base - dx * dx * inv_r2
                    acc[band_row, c] += wi * (t * t * t)
            elif kernel == 4:
                for c in range(first, stop):
                    dx = cx[c] - xi
                    acc[band_row, c] += wi * (base - dx * dx * inv_r2)
            else:
                for c in range(first, stop):
                    dx = cx[c] - xi
                    acc[band_row, c] += wi * math.exp(-0.5 * (dx * dx + dy2) * inv_r2)
            diff[row - r0, lo] += mult[i]
            diff[row - r0, hi + 1] -= mult[i]
    for row in range(r1 - r0):
        running = 0
        for c in range(cols):
            running += diff[row, c]
            out_counts[r0 + row, c] = running
            out_values[r0 + row, c] = acc[row, c] if running > 0 else nodata
