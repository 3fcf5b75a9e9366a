"""The viewport: which part of the map (extent, CRS) is drawn onto how many pixels.

A ``Viewport`` is immutable; every navigation method returns a new one, so a render running in
a worker thread never sees its view change underneath it.  Pixel coordinates have (0, 0) at
the top-left CORNER of the top-left pixel; x grows to the right and y grows DOWN, while map y
grows up.  The centre of pixel (col, row) is therefore (col + 0.5, row + 0.5).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from gis_desk.core.crs import crs_id, to_crs

_METRES_PER_DEGREE = 111_319.490_793_273_6  # one degree of longitude at the equator on WGS84
_INCH_M = 0.0254


@lru_cache(maxsize=64)
def _crs_units(crs_text: str) -> tuple[bool, float]:
    """(is_geographic, metres per CRS unit along x) for a CRS given as text."""
    crs = to_crs(crs_text)
    if crs.is_geographic:
        return True, _METRES_PER_DEGREE
    axis = crs.axis_info[0] if crs.axis_info else None
    factor = float(axis.unit_conversion_factor) if axis is not None and axis.unit_conversion_factor else 1.0
    return False, factor


def metres_per_unit(crs, latitude: float = 0.0) -> float:
    """Ground metres per CRS unit along x: 1 for metre CRSs, 0.3048 for feet, and for a
    geographic CRS the length of one degree of longitude at ``latitude`` (degrees)."""
    geographic, factor = _crs_units(crs_id(crs) or str(crs))
    if geographic:
        return factor * max(np.cos(np.radians(latitude)), 1e-6)
    return factor


@dataclass(frozen=True)
class Viewport:
    """``extent`` (xmin, ymin, xmax, ymax) in ``crs`` drawn onto ``width`` x ``height`` pixels.

    The extent always has the aspect of width/height (square pixels): an extent of another
    aspect is grown about its centre on construction, as ``Viewport.fit`` does.  ``crs`` is
    kept as text ('EPSG:27700' or WKT).  Raises ``ValueError`` for non-positive sizes or an
    empty/non-finite extent, ``CrsError`` for an unknown CRS.
    """

    extent: tuple[float, float, float, float]
    width: int
    height: int
    crs: str

    def __post_init__(self) -> None:
        width, height = int(self.width), int(self.height)
        if width <= 0 or height <= 0:
            raise ValueError(f"Viewport size must be positive, got {self.width} x {self.height}")
        xmin, ymin, xmax, ymax = (float(v) for v in self.extent)
        if not np.all(np.isfinite([xmin, ymin, xmax, ymax])) or xmax <= xmin or ymax <= ymin:
            raise ValueError(f"Viewport extent must be finite and non-empty, got {self.extent}")
        object.__setattr__(self, "width", width)
        object.__setattr__(self, "height", height)
        object.__setattr__(self, "extent", _grow_to_aspect((xmin, ymin, xmax, ymax), width, height))
        object.__setattr__(self, "crs", crs_id(self.crs) or str(self.crs))

    # -- construction --------------------------------------------------------------------------
    @classmethod
    def fit(cls, extent, width: int, height: int, crs, margin: float = 0.0) -> "Viewport":
        """The smallest viewport showing all of ``extent`` (centred), grown by ``margin``
        (a fraction of the extent's size on each side, e.g. 0.05).  A degenerate extent (a
        single point) is given a size of 1 CRS unit."""
        xmin, ymin, xmax, ymax = (float(v) for v in extent)
        w, h = xmax - xmin, ymax - ymin
        if w <= 0 and h <= 0:
            w = h = 1.0
        elif w <= 0:
            w = h * width / height
        elif h <= 0:
            h = w * height / width
        cx, cy = (xmin + xmax) / 2, (ymin + ymax) / 2
        w, h = w * (1 + 2 * margin), h * (1 + 2 * margin)
        return cls((cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2), width, height, crs)

    # -- geometry ------------------------------------------------------------------------------
    @property
    def pixel_size(self) -> float:
        """Map units (of ``crs``) per pixel; identical along x and y."""
        return (self.extent[2] - self.extent[0]) / self.width

    @property
    def center(self) -> tuple[float, float]:
        xmin, ymin, xmax, ymax = self.extent
        return (xmin + xmax) / 2, (ymin + ymax) / 2

    def world_to_pixel(self, x, y):
        """Map coordinates (``crs``) to pixel coordinates; scalars or numpy arrays."""
        ps = self.pixel_size
        return (np.subtract(x, self.extent[0]) / ps, np.subtract(self.extent[3], y) / ps)

    def pixel_to_world(self, px, py):
        """Pixel coordinates to map coordinates (``crs``); scalars or numpy arrays."""
        ps = self.pixel_size
        return (self.extent[0] + np.multiply(px, ps), self.extent[3] - np.multiply(py, ps))

    def scale_denominator(self, dpi: float = 96.0) -> float:
        """N of the map scale 1:N on a screen of ``dpi`` dots per inch.

        Exact for projected CRSs (metres or feet); for geographic CRSs the degree is measured
        along the parallel through the viewport centre (an approximation, as in QGIS).
        """
        metres_per_px = self.pixel_size * metres_per_unit(self.crs, latitude=self.center[1])
        return metres_per_px / (_INCH_M / dpi)

    @property
    def transform(self):
        """The ``affine.Affine`` from pixel (col, row) to map coordinates, as rasterio uses."""
        from affine import Affine

        ps = self.pixel_size
        return Affine(ps, 0.0, self.extent[0], 0.0, -ps, self.extent[3])

    # -- navigation (each returns a new Viewport) ----------------------------------------------
    def panned(self, dx_px: float, dy_px: float) -> "Viewport":
        """Move the view window by (dx_px, dy_px) pixels: positive dx shows what lay to the
        right, positive dy what lay below.  For a mouse drag of (mx, my) use ``panned(-mx, -my)``."""
        ps = self.pixel_size
        dx, dy = dx_px * ps, -dy_px * ps
        xmin, ymin, xmax, ymax = self.extent
        return self.with_extent((xmin + dx, ymin + dy, xmax + dx, ymax + dy))

    def zoomed(self, factor: float, about_px=None) -> "Viewport":
        """Zoom by ``factor`` (> 1 zooms in, < 1 out) keeping the map point under pixel
        ``about_px`` (px, py) still; default the centre.  Raises ``ValueError`` if factor <= 0."""
        if not factor > 0:
            raise ValueError(f"Zoom factor must be positive, got {factor}")
        if about_px is None:
            ax, ay = self.center
        else:
            ax, ay = (float(v) for v in self.pixel_to_world(*about_px))
        xmin, ymin, xmax, ymax = self.extent
        return self.with_extent((ax + (xmin - ax) / factor, ay + (ymin - ay) / factor,
                                 ax + (xmax - ax) / factor, ay + (ymax - ay) / factor))

    def resized(self, width: int, height: int) -> "Viewport":
        """Same centre and pixel size on a widget of a new size (what a window resize shows)."""
        cx, cy = self.center
        ps = self.pixel_size
        hw, hh = width * ps / 2, height * ps / 2
        return Viewport((cx - hw, cy - hh, cx + hw, cy + hh), width, height, self.crs)

    def with_extent(self, extent) -> "Viewport":
        """Same size and CRS showing ``extent`` (grown to the aspect about its centre)."""
        return Viewport(tuple(extent), self.width, self.height, self.crs)

    def contains_extent(self, bounds) -> bool:
        """True if ``bounds`` (in ``crs``) intersects the viewport extent."""
        xmin, ymin, xmax, ymax = self.extent
        return not (bounds[2] < xmin or bounds[0] > xmax or bounds[3] < ymin or bounds[1] > ymax)


def _grow_to_aspect(extent, width: int, height: int) -> tuple[float, float, float, float]:
    xmin, ymin, xmax, ymax = extent
    w, h = xmax - xmin, ymax - ymin
    target = width / height
    if np.isclose(w / h, target, rtol=1e-12, atol=0.0):
        return extent
    cx, cy = (xmin + xmax) / 2, (ymin + ymax) / 2
    if w / h < target:
        w = h * target
    else:
        h = w / target
    return (cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2)
