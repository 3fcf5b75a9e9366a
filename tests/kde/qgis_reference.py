"""Slow, direct reference implementations for the heat-map tests, written independently of
gis_desk.analysis.kde from the definition of QGIS's QgsKernelDensityEstimation (3.22):

- grid: the layer extent grown by the radius; rows = ceil(height / px) + 1, cols likewise;
- per point: a (2b + 1)-cell square block read at column ``xPosition`` and row ``yPositionIO``
  (counted from the top); the kernel is evaluated at cell centres whose y is counted from the
  bottom (``yPosition``) but written to the rows counted from the top;
- a cell is reached when the distance is <= the radius; values accumulate in float32.

Plain Python loops over points and cells: use small inputs only.
"""

from __future__ import annotations

import math

import numpy as np

NO_DATA = -9999.0


def _unsigned(value: float) -> int:
    # C++ converts double -> unsigned int by truncation toward zero
    assert value > -1.0, "outside what QGIS can do"
    return int(value)


def qgis_kernel(distance: float, bandwidth: float, shape: str, scaled: bool, decay: float = 0.0) -> float:
    """QGIS's kernel functions (Wand and Jones 1995 p. 175 as QGIS writes them)."""
    u = distance / bandwidth
    if shape == "uniform":
        return (2.0 / (math.pi * bandwidth)) * (0.5 / bandwidth) if scaled else 1.0
    if shape == "quartic":
        raw = (1.0 - u ** 2) ** 2
        return 116.0 / (5.0 * math.pi * bandwidth ** 2) * (15.0 / 16.0) * raw if scaled else raw
    if shape == "triweight":
        raw = (1.0 - u ** 2) ** 3
        return 128.0 / (35.0 * math.pi * bandwidth ** 2) * (35.0 / 32.0) * raw if scaled else raw
    if shape == "epanechnikov":
        raw = 1.0 - u ** 2
        return 8.0 / (3.0 * math.pi * bandwidth ** 2) * (3.0 / 4.0) * raw if scaled else raw
    if shape == "triangular":
        raw = 1.0 - (1.0 - decay) * u
        if scaled and decay >= 0:
            return 3.0 / ((1.0 + 2.0 * decay) * math.pi * bandwidth ** 2) * raw
        return raw
    raise ValueError(shape)


def qgis_heatmap(points, weights, radius, pixel, shape="quartic", scaled=False, decay=0.0):
    """(float32 raster with -9999 nodata, int reach counts, (xmin, ymax) origin)."""
    points = np.asarray(points, dtype=float)
    weights = np.ones(len(points)) if weights is None else np.asarray(weights, dtype=float)
    xmin = float(points[:, 0].min()) - radius
    ymin = float(points[:, 1].min()) - radius
    xmax = float(points[:, 0].max()) + radius
    ymax = float(points[:, 1].max()) + radius
    rows = int(max(math.ceil((ymax - ymin) / pixel) + 1, 1.0))
    cols = int(max(math.ceil((xmax - xmin) / pixel) + 1, 1.0))
    raster = np.full((rows, cols), NO_DATA, dtype=np.float32)
    counts = np.zeros((rows, cols), dtype=np.int64)
    buffer = int(radius / pixel)
    if radius - pixel * buffer > 0.5:
        buffer += 1
    block = 2 * buffer + 1
    for (x, y), weight in zip(points, weights):
        x_position = _unsigned((x - xmin) / pixel - buffer)
        y_position = _unsigned((y - ymin) / pixel - buffer)
        y_position_io = _unsigned((ymax - y) / pixel - buffer)
        assert x_position + block <= cols and y_position_io + block <= rows, "GDAL would refuse this block"
        for xp in range(block):
            for yp in range(block):
                centre_x = (x_position + xp + 0.5) * pixel + xmin
                centre_y = (y_position + yp + 0.5) * pixel + ymin
                distance = math.sqrt((centre_x - x) ** 2 + (centre_y - y) ** 2)
                if distance > radius:
                    continue
                value = weight * qgis_kernel(distance, radius, shape, scaled, decay)
                row, col = y_position_io + yp, x_position + xp
                if raster[row, col] == NO_DATA:
                    raster[row, col] = 0.0
                raster[row, col] = np.float32(float(raster[row, col]) + value)  # float += double
                counts[row, col] += 1
    return raster, counts, (xmin, ymax)


def exact_heatmap(points, weights, radius, pixel, kernel_fn, reach=None):
    """Exact KDE on the same grid: each point adds ``w * kernel_fn(d)`` to every cell whose true
    centre lies within ``reach`` (default ``radius``).  float64 sums, nodata where unreached."""
    points = np.asarray(points, dtype=float)
    weights = np.ones(len(points)) if weights is None else np.asarray(weights, dtype=float)
    reach = radius if reach is None else reach
    xmin = points[:, 0].min() - reach
    ymax = points[:, 1].max() + reach
    cols = int(max(math.ceil((points[:, 0].max() + reach - xmin) / pixel) + 1, 1))
    rows = int(max(math.ceil((ymax - (points[:, 1].min() - reach)) / pixel) + 1, 1))
    centre_x = xmin + (np.arange(cols) + 0.5) * pixel
    centre_y = ymax - (np.arange(rows) + 0.5) * pixel
    total = np.zeros((rows, cols))
    counts = np.zeros((rows, cols), dtype=np.int64)
    for (x, y), weight in zip(points, weights):
        d = np.hypot(centre_x[None, :] - x, centre_y[:, None] - y)
        near = d <= reach
        total[near] += weight * kernel_fn(d[near])
        counts += near
    return np.where(counts > 0, total, NO_DATA).astype(np.float32), counts, (xmin, ymax)
