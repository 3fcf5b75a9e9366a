"""Regular hexagon grids in a projected CRS, for aggregating records to cells of equal area.

What ``size`` means (``size_is``), with ``s`` the side of the hexagon:

- ``'side'``: ``size`` is the side length ``s``, which is also the distance from the centre to
  each vertex (circumradius).  Cell area = ``3 * sqrt(3) / 2 * s**2`` (~2.598 s^2).
- ``'width'``: ``size`` is the distance across flats (between two opposite sides), which is
  also the distance between the centres of neighbouring cells; ``s = size / sqrt(3)``.  This
  is what QGIS's "Create grid" calls the hexagon spacing.
- ``'area'``: ``size`` is the cell area in square metres; ``s = sqrt(2 * size / (3 sqrt 3))``.
- ``'hectares'``: ``size`` is the cell area in hectares (1 ha = 10,000 m^2).

Orientation: ``'pointy'`` cells have a vertex at the top and bottom and rows of cells offset by
half a cell; ``'flat'`` cells have a flat top and bottom and columns offset by half a cell.

The lattice is anchored at ``origin`` (default the CRS origin 0,0, where a cell is centred), so
the same cell has the same ``hex_id`` ('<col>_<row>') in every grid of that size, orientation
and origin, whatever extent it was built for: grids made at different times join by id.
Vertices are computed from integer lattice indices, so neighbouring cells share bit-identical
vertices: the grid tiles the plane without slivers or overlaps.

Lengths are metres; a projected CRS in other linear units (e.g. US feet) is handled by
converting; a geographic CRS is refused (``CrsError``), because cells in degrees have neither
equal areas nor a size in metres.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from gis_desk.errors import CrsError, DataError

SQRT3 = math.sqrt(3.0)
SIZE_MEANINGS = ("side", "width", "area", "hectares")
ORIENTATIONS = ("pointy", "flat")
#: Refuse grids beyond this many candidate cells (memory: ~1 kB per cell with its polygon).
MAX_CELLS = 5_000_000


def side_from_size(size: float, size_is: str = "side") -> float:
    """The hexagon side length ``s`` (metres) for ``size`` read as ``size_is`` (see the module).

    Raises ``DataError`` for a size that is not a positive finite number or an unknown meaning.
    """
    if size_is not in SIZE_MEANINGS:
        raise DataError(f"Unknown hexagon size meaning {size_is!r}",
                        hint=f"use one of: {', '.join(SIZE_MEANINGS)}")
    try:
        size = float(size)
    except (TypeError, ValueError):
        raise DataError(f"The hexagon size must be a number, got {size!r}") from None
    if not math.isfinite(size) or size <= 0:
        raise DataError(f"The hexagon size must be a positive number, got {size!r}",
                        hint="e.g. 500 (metres) or size_is='hectares' with 25")
    if size_is == "side":
        return size
    if size_is == "width":
        return size / SQRT3
    area = size * 10_000.0 if size_is == "hectares" else size
    return math.sqrt(2.0 * area / (3.0 * SQRT3))


def hexagon_area(side: float) -> float:
    """Area (square units of ``side``) of a regular hexagon of side ``side``."""
    return 1.5 * SQRT3 * side * side


def hex_grid(extent: Any, size_m: float, crs: Any = None, orientation: str = "pointy",
             size_is: str = "side", origin: tuple[float, float] = (0.0, 0.0)):
    """Regular hexagons covering ``extent``, as a GeoDataFrame in ``crs``.

    ``extent``: a rectangle ``(xmin, ymin, xmax, ymax)`` or a
    ``gis_desk.processing.parameters.Extent`` (in ``crs``; an ``Extent`` with its own CRS is
    transformed), a shapely geometry (in ``crs``), or a GeoDataFrame/GeoSeries (reprojected to
    ``crs`` when given, else its own CRS is used).
    ``size_m`` and ``size_is``: the cell size and what it measures ('side', 'width', 'area' in
    m^2, 'hectares'); see the module docstring.  ``orientation``: 'pointy' or 'flat'.
    ``origin``: (x, y) in CRS units where one cell is centred; it fixes the lattice and ids.

    Kept cells: for a rectangle or polygons, those whose interior overlaps the rectangle or a
    polygon's interior (cells that only touch along an edge or at a corner are left out); for
    lines and points, every cell they touch, boundary included, so every point lies in a cell;
    a zero-width rectangle is treated as a line.  Cells are whole hexagons, not cut at the
    boundary.

    Columns: ``hex_id`` (text '<col>_<row>', stable as described above), ``col`` and ``row``
    (int64 lattice indices; rows grow northwards), ``geometry``.  Rows are sorted by
    (row, col).  Raises ``CrsError`` (no CRS, geographic CRS), ``DataError`` (bad size or
    orientation, empty extent, more than ``MAX_CELLS`` cells: choose a larger size).
    """
    import geopandas as gpd
    import shapely

    if orientation not in ORIENTATIONS:
        raise DataError(f"Unknown hexagon orientation {orientation!r}", hint="use 'pointy' or 'flat'")
    target, crs = _extent_geometries(extent, crs)
    units_per_metre = _units_per_metre(crs)
    side = side_from_size(size_m, size_is) * units_per_metre
    target = target[~(shapely.is_missing(target) | shapely.is_empty(target))]
    if len(target) == 0:
        raise DataError("Nothing to cover: the extent or layer is empty",
                        hint="give a layer with geometries or a rectangle xmin,ymin,xmax,ymax")
    bounds = shapely.total_bounds(target)
    if not np.isfinite(bounds).all():
        raise DataError("The extent to cover is not finite", hint="check the layer's coordinates")
    cols, rows = _candidate_indices(bounds, side, orientation, origin)
    cells = _hexagons(cols, rows, side, orientation, origin)
    keep = _cells_meeting(cells, target)
    cols, rows, cells = cols[keep], rows[keep], cells[keep]
    order = np.lexsort((cols, rows))
    cols, rows, cells = cols[order], rows[order], cells[order]
    ids = np.char.add(np.char.add(cols.astype(str), "_"), rows.astype(str))
    return gpd.GeoDataFrame({"hex_id": ids.astype(object), "col": cols, "row": rows},
                            geometry=gpd.GeoSeries(cells, crs=crs), crs=crs)


def _extent_geometries(extent: Any, crs: Any):
    """(array of shapely geometries to cover, CRS) from any accepted ``extent``."""
    import shapely
    from shapely.geometry import box

    from gis_desk.core.crs import same_crs, to_crs

    if hasattr(extent, "geometry") and hasattr(extent, "crs") and hasattr(extent, "to_crs"):
        # GeoDataFrame or GeoSeries
        if extent.crs is None and crs is None:
            raise CrsError("The layer to cover has no coordinate reference system",
                           hint="set the layer's CRS, or pass crs=")
        if extent.crs is None:
            extent = extent.set_crs(crs)
        elif crs is not None and not same_crs(extent.crs, crs):
            extent = extent.to_crs(crs)
        geoms = extent.geometry.values if hasattr(extent, "columns") else extent.values
        return np.asarray(shapely.make_valid(np.asarray(geoms, dtype=object)), dtype=object), to_crs(extent.crs)
    if crs is None and getattr(extent, "crs", None) is None:
        raise CrsError("A hexagon grid needs a coordinate reference system",
                       hint="pass crs=, e.g. 'EPSG:27700' (British National Grid)")
    crs = to_crs(crs if crs is not None else extent.crs)
    if isinstance(extent, shapely.Geometry):
        return np.asarray([shapely.make_valid(extent)], dtype=object), crs
    if hasattr(extent, "polygon_in"):  # gis_desk.processing.parameters.Extent
        return np.asarray([extent.polygon_in(crs)], dtype=object), crs
    try:
        xmin, ymin, xmax, ymax = (float(v) for v in extent)
    except (TypeError, ValueError):
        raise DataError(f"Cannot read an extent from {extent!r}",
                        hint="give (xmin, ymin, xmax, ymax), a geometry or a layer") from None
    if not (xmin <= xmax and ymin <= ymax):
        raise DataError(f"The extent {xmin:g},{ymin:g},{xmax:g},{ymax:g} has xmin > xmax or ymin > ymax")
    rect = box(xmin, ymin, xmax, ymax)
    if rect.area == 0:  # a line or a point (e.g. the extent of one point): cover it all the same
        rect = shapely.LineString([(xmin, ymin), (xmax, ymax)]) if (xmin, ymin) != (xmax, ymax) \
            else shapely.Point(xmin, ymin)
    return np.asarray([rect], dtype=object), crs


def _units_per_metre(crs) -> float:
    from gis_desk.core.crs import crs_id

    if crs.is_geographic or not crs.is_projected:
        raise CrsError(f"Hexagon grids need a projected CRS in metres; {crs_id(crs)} is not projected",
                       hint="reproject the layer first, e.g. to EPSG:27700 (British National Grid)")
    factor = crs.axis_info[0].unit_conversion_factor if crs.axis_info else 1.0
    return 1.0 / factor


def _lattice_steps(side: float, orientation: str) -> tuple[float, float]:
    """(half-step in x, half-step in y): vertices lie on multiples of these from the origin.

    Pointy: x half-step = half the width (sqrt3 s / 2), y half-step = s / 2.  Flat: swapped.
    """
    if orientation == "pointy":
        return SQRT3 * side / 2.0, side / 2.0
    return side / 2.0, SQRT3 * side / 2.0


# Vertex offsets in lattice half-steps, counter-clockwise from the right-most / lower-right vertex.
# Pointy: centre (2c + r%2, 3r); vertices at (+-1, +-1) and (0, +-2).
_POINTY_OFFSETS = np.array([[1, -1], [1, 1], [0, 2], [-1, 1], [-1, -1], [0, -2]], dtype=np.int64)
# Flat: centre (3c, 2r + c%2); vertices at (+-2, 0) and (+-1, +-1).
_FLAT_OFFSETS = np.array([[2, 0], [1, 1], [-1, 1], [-2, 0], [-1, -1], [1, -1]], dtype=np.int64)


def _centres_in_steps(cols: np.ndarray, rows: np.ndarray, orientation: str) -> tuple[np.ndarray, np.ndarray]:
    if orientation == "pointy":
        return 2 * cols + np.mod(rows, 2), 3 * rows
    return 3 * cols, 2 * rows + np.mod(cols, 2)


def _candidate_indices(bounds, side: float, orientation: str, origin) -> tuple[np.ndarray, np.ndarray]:
    """Every (col, row) whose cell's bounding box may meet ``bounds`` (a few spare cells)."""
    hx, hy = _lattice_steps(side, orientation)
    xmin, ymin, xmax, ymax = bounds
    ox, oy = origin
    if orientation == "pointy":  # centre x = (2c + r%2) hx, y = 3 r hy; cell reaches +-hx, +-2hy
        c0, c1 = math.floor((xmin - ox) / (2 * hx)) - 1, math.ceil((xmax - ox) / (2 * hx)) + 1
        r0, r1 = math.floor((ymin - oy) / (3 * hy)) - 1, math.ceil((ymax - oy) / (3 * hy)) + 1
    else:  # centre x = 3 c hx, y = (2r + c%2) hy; cell reaches +-2hx, +-hy
        c0, c1 = math.floor((xmin - ox) / (3 * hx)) - 1, math.ceil((xmax - ox) / (3 * hx)) + 1
        r0, r1 = math.floor((ymin - oy) / (2 * hy)) - 1, math.ceil((ymax - oy) / (2 * hy)) + 1
    n = (c1 - c0 + 1) * (r1 - r0 + 1)
    if n > MAX_CELLS:
        raise DataError(f"The grid would have about {n:,} cells, more than the {MAX_CELLS:,} allowed",
                        hint="choose a larger hexagon size or a smaller extent")
    cols, rows = np.meshgrid(np.arange(c0, c1 + 1, dtype=np.int64), np.arange(r0, r1 + 1, dtype=np.int64))
    return cols.ravel(), rows.ravel()


def _hexagons(cols: np.ndarray, rows: np.ndarray, side: float, orientation: str, origin) -> np.ndarray:
    """Closed hexagon polygons for the cells (vectorised: one ``shapely.polygons`` call)."""
    import shapely

    hx, hy = _lattice_steps(side, orientation)
    cx, cy = _centres_in_steps(cols, rows, orientation)
    offsets = _POINTY_OFFSETS if orientation == "pointy" else _FLAT_OFFSETS
    ring = np.concatenate([offsets, offsets[:1]])  # closed ring of 7 points
    kx = cx[:, None] + ring[None, :, 0]  # integer half-steps: shared vertices are bit-identical
    ky = cy[:, None] + ring[None, :, 1]
    coords = np.stack([origin[0] + kx * hx, origin[1] + ky * hy], axis=-1)
    return shapely.polygons(coords)


def _cells_meeting(cells: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Boolean mask of cells to keep (see ``hex_grid``: interiors for areas, contact otherwise)."""
    import shapely

    cell_idx, target_idx = shapely.STRtree(target).query(cells, predicate="intersects")
    if len(cell_idx) == 0:
        return np.zeros(len(cells), dtype=bool)
    has_area = shapely.area(target) > 0
    # For polygons, contact along an edge or at a corner does not count: the interiors must meet.
    area_pairs = has_area[target_idx]
    touching = np.zeros(len(cell_idx), dtype=bool)
    if area_pairs.any():
        touching[area_pairs] = shapely.touches(cells[cell_idx[area_pairs]], target[target_idx[area_pairs]])
    keep = np.zeros(len(cells), dtype=bool)
    keep[cell_idx[~touching]] = True
    return keep
