"""Heat-map benchmark (standalone: ``python benchmarks/bench_kde.py [--points N] [--qgis]``).

1,000,000 clustered points over 30 x 30 km of British National Grid (a few Gaussian clusters
of different sizes plus a uniform background, like records of a town), quartic kernel,
r = 500 m, 10 m pixels (a ~3100 x 3100 grid), QGIS-compatible mode.

- Fast path: ``gis_desk.analysis.kde.kde`` with all cores and with one thread, after a warm-up
  that compiles (or loads from numba's cache) the stamping loop; the warm-up time is shown.
- Baseline in the same run: a direct per-point implementation of QGIS's formula (numpy
  vectorised over each point's block, float32 accumulation, QGIS's row quirk), timed on a
  random subset of points and extrapolated linearly to all points (its cost per point is
  constant); both the measured and the extrapolated figures are printed.
- Accuracy: the fast path on that subset against the baseline: same nodata cells, largest
  difference relative to the raster's maximum.
- For comparison, the approach the fast path does not take: bin points to cells and convolve
  with the kernel by FFT (scipy.signal.fftconvolve).  Quick, but each point moves to its cell
  centre: its time and its error against the baseline are printed.
- ``--qgis``: also run QGIS's own algorithm (qgis_process.bin, offscreen) on all the points and
  compare (takes a couple of minutes).
"""

from __future__ import annotations

import argparse
import math
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from gis_desk.analysis.kde import NODATA, kde, kde_grid, qgis_block_radius

RADIUS, PIXEL = 500.0, 10.0
ORIGIN = np.array([370_000.0, 380_000.0])  # south-west corner, around Trafford
SIZE = 30_000.0


def clustered_points(n: int, seed: int = 1) -> np.ndarray:
    """``n`` points in the 30 x 30 km square: 80% in 7 Gaussian clusters (sd 300 m to 3 km),
    20% uniform."""
    rng = np.random.default_rng(seed)
    centres = rng.uniform(3_000, SIZE - 3_000, (7, 2))
    spreads = np.array([300, 600, 900, 1_200, 1_800, 2_400, 3_000], dtype=float)
    n_clustered = int(n * 0.8)
    which = rng.integers(0, 7, n_clustered)
    clustered = centres[which] + rng.normal(0, 1, (n_clustered, 2)) * spreads[which, None]
    background = rng.uniform(0, SIZE, (n - n_clustered, 2))
    pts = np.vstack([clustered, background])
    pts = np.clip(pts, 0, SIZE)  # keep the study area 30 x 30 km
    return ORIGIN + pts[rng.permutation(n)]


def direct_qgis(points: np.ndarray, radius: float, pixel: float) -> np.ndarray:
    """QGIS's algorithm point by point (quartic, Raw, weight 1), numpy over each block."""
    grid = kde_grid(points, radius, pixel)
    raster = np.full(grid.shape, NODATA, dtype=np.float32)
    b = qgis_block_radius(radius, pixel)
    offsets = np.arange(2 * b + 1)
    for x, y in points:
        x_pos = int((x - grid.xmin) / pixel - b)  # C++ double -> unsigned: truncation
        y_pos = int((y - grid.ymin) / pixel - b)
        y_pos_io = int((grid.ymax - y) / pixel - b)
        cx = (x_pos + offsets + 0.5) * pixel + grid.xmin
        cy = (y_pos + offsets + 0.5) * pixel + grid.ymin  # evaluated from the bottom...
        d = np.sqrt((cx[None, :] - x) ** 2 + (cy[:, None] - y) ** 2)
        reached = d <= radius
        block = raster[y_pos_io:y_pos_io + 2 * b + 1, x_pos:x_pos + 2 * b + 1]  # ...written from the top
        old = block[reached].astype(np.float64)
        old[old == NODATA] = 0.0
        block[reached] = (old + (1.0 - (d[reached] / radius) ** 2) ** 2).astype(np.float32)
    return raster


def binned_fft(points: np.ndarray, radius: float, pixel: float) -> np.ndarray:
    """Points counted per cell, convolved with the quartic sampled at cell offsets."""
    from scipy.signal import fftconvolve

    grid = kde_grid(points, radius, pixel)
    cols = np.floor((points[:, 0] - grid.xmin) / pixel).astype(int)
    rows = np.floor((grid.ymax - points[:, 1]) / pixel).astype(int)
    binned = np.bincount(rows * grid.cols + cols, minlength=grid.rows * grid.cols).reshape(grid.shape)
    b = int(math.ceil(radius / pixel))
    offsets = np.arange(-b, b + 1) * pixel
    d = np.hypot(offsets[None, :], offsets[:, None])
    kernel = np.where(d <= radius, (1 - (d / radius) ** 2) ** 2, 0.0)
    density = fftconvolve(binned.astype(float), kernel, mode="same")
    reached = fftconvolve(binned.astype(float), (d <= radius).astype(float), mode="same") > 0.5
    return np.where(reached, density, NODATA).astype(np.float32)


def compare(ours: np.ndarray, reference: np.ndarray) -> tuple[int, float]:
    """(cells whose nodata differs, max |difference| / max |reference| over valid cells)."""
    mismatched = int(((ours == NODATA) != (reference == NODATA)).sum())
    valid = (reference != NODATA) & (ours != NODATA)
    peak = float(np.abs(reference[valid]).max())
    return mismatched, float(np.abs(ours[valid].astype(float) - reference[valid]).max() / peak)


def timed(fn):
    start = time.perf_counter()
    value = fn()
    return time.perf_counter() - start, value


def run_qgis(points: np.ndarray, reference: np.ndarray) -> None:
    exe = shutil.which("qgis_process.bin") or "/usr/bin/qgis_process.bin"
    if not os.path.exists(exe):
        print("QGIS: qgis_process.bin not found, skipped")
        return
    import geopandas as gpd
    import rasterio
    from shapely import points as make_points

    with tempfile.TemporaryDirectory() as folder:
        layer, out = Path(folder) / "points.gpkg", Path(folder) / "qgis.tif"
        gpd.GeoDataFrame(geometry=make_points(points), crs="EPSG:27700").to_file(layer)
        args = [exe, "run", "qgis:heatmapkerneldensityestimation", "--", f"INPUT={layer}",
                f"RADIUS={RADIUS}", f"PIXEL_SIZE={PIXEL}", "KERNEL=0", "OUTPUT_VALUE=0", f"OUTPUT={out}"]
        seconds, done = timed(lambda: subprocess.run(args, env={**os.environ, "QT_QPA_PLATFORM": "offscreen"},
                                                     capture_output=True, text=True))
        if done.returncode != 0:
            print("QGIS failed:", done.stderr[-500:])
            return
        with rasterio.open(out) as ds:
            qgis = ds.read(1)
    mismatched, rel = compare(reference, qgis)
    print(f"QGIS 3 qgis_process on {len(points):,} points: {seconds:.1f} s (includes start-up); "
          f"ours vs QGIS: {mismatched} nodata mismatches, max relative difference {rel:.2e}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--points", type=int, default=1_000_000)
    parser.add_argument("--subset", type=int, default=10_000, help="points for the direct baseline")
    parser.add_argument("--qgis", action="store_true", help="also run QGIS itself on all points")
    args = parser.parse_args()

    points = clustered_points(args.points)
    grid = kde_grid(points, RADIUS, PIXEL)
    cores = os.cpu_count() or 1
    print(f"{len(points):,} clustered points over {SIZE / 1000:.0f} x {SIZE / 1000:.0f} km, quartic, "
          f"r = {RADIUS:g} m, {PIXEL:g} m pixels: grid {grid.cols} x {grid.rows}, {cores} core(s)")

    warm, _ = timed(lambda: kde(points[:100], RADIUS, PIXEL))
    print(f"warm-up (numba compile or cache load): {warm:.2f} s")

    runs = [timed(lambda: kde(points, RADIUS, PIXEL, return_counts=True)) for _ in range(2)]
    fast = min(seconds for seconds, _ in runs)
    full = runs[0][1]
    print(f"fast path, {cores} thread(s): {', '.join(f'{s:.2f}' for s, _ in runs)} s (best {fast:.2f} s); "
          f"max value {full.array.max():.1f}, max count {full.counts.max():,}")
    single, _ = timed(lambda: kde(points, RADIUS, PIXEL, threads=1))
    print(f"fast path, 1 thread: {single:.2f} s")

    rng = np.random.default_rng(2)
    subset = points[rng.choice(len(points), size=min(args.subset, len(points)), replace=False)]
    direct_seconds, reference = timed(lambda: direct_qgis(subset, RADIUS, PIXEL))
    per_point = direct_seconds / len(subset)
    extrapolated = per_point * len(points)
    print(f"direct per-point baseline: measured {direct_seconds:.2f} s on {len(subset):,} points "
          f"({per_point * 1e6:.0f} us per point); extrapolated to {len(points):,}: {extrapolated:.0f} s")
    print(f"ratio baseline / fast path: {extrapolated / fast:.0f}x ({cores} threads), "
          f"{extrapolated / single:.0f}x (1 thread)")

    ours = kde(subset, RADIUS, PIXEL)
    mismatched, rel = compare(ours.array, reference)
    print(f"accuracy on the subset: {mismatched} nodata mismatches, max |fast - direct| / max = {rel:.2e} "
          f"(requirement 1e-4)")
    fft_seconds, _ = timed(lambda: binned_fft(points, RADIUS, PIXEL))
    mismatched_fft, rel_fft = compare(binned_fft(subset, RADIUS, PIXEL), reference)
    print(f"not taken: cell binning + FFT convolution: {fft_seconds:.2f} s on {len(points):,} points, but on the "
          f"subset {mismatched_fft} nodata mismatches and max relative difference {rel_fft:.1e}")
    if args.qgis:
        run_qgis(points, full.array)
    return 0 if mismatched == 0 and rel < 1e-4 and math.isfinite(fast) else 1


if __name__ == "__main__":
    sys.exit(main())
