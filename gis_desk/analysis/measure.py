"""Distances and areas as a surveyor expects them, in metres, whatever the CRS.

Coordinates are in the given CRS, traditional GIS order (x = easting or longitude,
y = northing or latitude).

* Projected CRSs (British National Grid, UTM...) are measured on the plane of the
  projection; coordinates in feet or other linear units are converted to metres with the
  CRS's own unit factor.  (BNG's scale factor is within 0.04 % of true across Great Britain,
  which is what council users expect to see: the same figure as QGIS's planar measure.)
* Geographic CRSs (WGS84, ETRS89...) are measured on the CRS's ellipsoid with
  ``pyproj.Geod``: geodesic lengths and areas.

Formatting helpers give the text the map canvas shows (``format_distance``, ``format_area``).
"""

from __future__ import annotations

from typing import Any, Iterable, Sequence

import numpy as np

from gis_desk.core.crs import to_crs
from gis_desk.errors import CrsError

SQUARE_METRES_PER_HECTARE = 10_000.0
METRES_PER_KILOMETRE = 1_000.0


def _as_xy(coords: Iterable[Sequence[float]]) -> np.ndarray:
    """(n, 2) float array of finite coordinates; raises ``ValueError`` otherwise."""
    arr = np.asarray(list(coords), dtype=float)
    if arr.size == 0:
        return np.empty((0, 2))
    if arr.ndim != 2 or arr.shape[1] < 2:
        raise ValueError("coordinates must be a sequence of (x, y) pairs")
    arr = arr[:, :2]
    if not np.all(np.isfinite(arr)):
        raise ValueError("coordinates must be finite numbers")
    return arr


def _method(crs: Any) -> tuple[str, Any]:
    """('planar', metres per CRS unit) or ('geodesic', pyproj.Geod); raises ``CrsError``."""
    parsed = to_crs(crs)
    if parsed is None:
        raise CrsError("Cannot measure without a coordinate reference system",
                       hint="set the project CRS, e.g. EPSG:27700")
    if parsed.is_geographic:
        return "geodesic", parsed.get_geod()
    if parsed.is_projected:
        axis = parsed.axis_info[0] if parsed.axis_info else None
        factor = float(axis.unit_conversion_factor) if axis is not None else 1.0
        return "planar", factor
    raise CrsError(f"Cannot measure in {parsed.name}: it is neither projected nor geographic",
                   hint="measure in a projected CRS such as EPSG:27700")


def _closed(arr: np.ndarray) -> np.ndarray:
    if len(arr) and not np.array_equal(arr[0], arr[-1]):
        return np.vstack([arr, arr[:1]])
    return arr


def measure_line(coords: Iterable[Sequence[float]], crs: Any) -> float:
    """Length in metres of the polyline through ``coords`` (in ``crs``).

    Planar for projected CRSs, geodesic on the CRS's ellipsoid for geographic ones.
    Fewer than two vertices give 0.0.  Raises ``CrsError`` for a missing or unusable CRS and
    ``ValueError`` for malformed coordinates.
    """
    arr = _as_xy(coords)
    kind, how = _method(crs)
    if len(arr) < 2:
        return 0.0
    if kind == "planar":
        steps = np.diff(arr, axis=0)
        return float(np.hypot(steps[:, 0], steps[:, 1]).sum() * how)
    return float(how.line_length(arr[:, 0], arr[:, 1]))


def measure_polygon(coords: Iterable[Sequence[float]], crs: Any) -> tuple[float, float]:
    """(area in m², perimeter in m) of the ring through ``coords`` (in ``crs``).

    The ring may be given open or closed; it is closed for the perimeter.  The area is
    unsigned (either winding).  Fewer than three distinct vertices give area 0.0.  Planar for
    projected CRSs, geodesic for geographic ones.  Raises like ``measure_line``.
    """
    arr = _as_xy(coords)
    kind, how = _method(crs)
    if len(arr) < 2:
        return 0.0, 0.0
    ring = _closed(arr)
    if kind == "planar":
        x, y = ring[:, 0], ring[:, 1]
        # shoelace on coordinates relative to the first vertex keeps precision at BNG magnitudes
        x0, y0 = x - x[0], y - y[0]
        area = 0.5 * abs(float(np.dot(x0[:-1], y0[1:]) - np.dot(x0[1:], y0[:-1])))
        steps = np.diff(ring, axis=0)
        perimeter = float(np.hypot(steps[:, 0], steps[:, 1]).sum())
        return area * how * how, perimeter * how
    if len(np.unique(arr, axis=0)) < 3:
        return 0.0, float(how.line_length(ring[:, 0], ring[:, 1]))
    area, perimeter = how.polygon_area_perimeter(ring[:, 0], ring[:, 1])
    return abs(float(area)), float(perimeter)


def format_distance(metres: float) -> str:
    """'612.3 m' below 10 km, '12.35 km' from there; thousands separators ('1,234.5 m')."""
    metres = float(metres)
    if abs(metres) < 10 * METRES_PER_KILOMETRE:
        return f"{metres:,.1f} m"
    return f"{metres / METRES_PER_KILOMETRE:,.2f} km"


def format_area(square_metres: float) -> str:
    """Area in hectares and square metres, the larger unit first.

    Below 1 ha: '456.0 m² (0.05 ha)'; from 1 ha: '2.35 ha (23,456 m²)'.
    """
    m2 = float(square_metres)
    ha = m2 / SQUARE_METRES_PER_HECTARE
    if abs(ha) < 1.0:
        return f"{m2:,.1f} m² ({ha:,.2f} ha)"
    return f"{ha:,.2f} ha ({m2:,.0f} m²)"
