"""Identify: what lies under a point of the map, layer by layer (Qt-free).

``identify(project, x, y, tolerance)`` takes a point and a search tolerance in the PROJECT
CRS, reprojects them into each layer's own CRS and asks that layer:

* vector layers: polygons that contain the point (or lie within the tolerance of it, so a
  click just outside a boundary still finds it), points and lines within the tolerance,
  nearest first;
* raster layers: the value of every band in the pixel under the point (``None`` where the
  pixel is nodata or masked); for an elevation model (DSM/DTM, see
  ``gis_desk.core.style.is_elevation_model``) also a ``height`` entry in metres.

New layer kinds join through ``register_identifier(LayerClass)``, the same one-table
pattern as the renderer.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable

import numpy as np

from gis_desk.core.crs import same_crs, transform_bounds, transform_xy
from gis_desk.core.layer import Layer, RasterLayerBase, VectorLayer
from gis_desk.errors import CrsError


@dataclass
class IdentifyResult:
    """One thing found under the point.

    ``feature_id`` is the row position in a vector layer (the id used for selection), None for
    rasters.  ``attributes`` holds the feature's fields (for rasters: one 'Band n' entry per
    band plus 'column'/'row' of the pixel).  ``geometry`` is the shapely geometry in the
    LAYER's CRS (None for rasters).  ``values`` maps 'Band n' to the pixel value (rasters only;
    None where masked).  ``distance`` is in layer CRS units from the point (0 inside polygons).
    """

    layer: Layer
    feature_id: int | None
    attributes: dict[str, Any] = field(default_factory=dict)
    geometry: Any = None
    values: dict[str, float | None] | None = None
    distance: float = 0.0


Identifier = Callable[[Layer, float, float, float], list[IdentifyResult]]
_IDENTIFIERS: dict[type, Identifier] = {}


def register_identifier(layer_type: type) -> Callable[[Identifier], Identifier]:
    """Decorator: ``fn(layer, x, y, tolerance)`` (layer CRS) identifies layers of ``layer_type``."""

    def deco(fn: Identifier) -> Identifier:
        _IDENTIFIERS[layer_type] = fn
        return fn

    return deco


def identifier_for(layer: Layer) -> Identifier | None:
    for klass in type(layer).__mro__:
        if klass in _IDENTIFIERS:
            return _IDENTIFIERS[klass]
    return None


def identify(project, x: float, y: float, tolerance: float,
             layers: Iterable[Layer] | None = None) -> list[IdentifyResult]:
    """Features and pixel values at (x, y), top layer first.

    ``x``, ``y`` and ``tolerance`` (>= 0) are in the project CRS (metres for BNG).  ``layers``
    defaults to the project's visible, non-broken layers; the order of the result follows the
    drawing order (top first) whatever order ``layers`` is given in.  Layers whose CRS cannot
    take the point (e.g. outside a projection's area) are skipped.
    """
    if tolerance < 0 or not math.isfinite(tolerance):
        raise ValueError(f"tolerance must be a finite number >= 0, not {tolerance!r}")
    stack = list(project.layers)
    wanted = stack if layers is None else [layer for layer in stack if any(layer is w for w in layers)]
    if layers is None:
        wanted = [layer for layer in wanted if layer.visible]
    results: list[IdentifyResult] = []
    for layer in reversed(wanted):  # index 0 is the bottom: report the top first
        fn = identifier_for(layer)
        if fn is None or layer.is_broken or layer.dataset is None:
            continue
        try:
            lx, ly, ltol = _to_layer(project.crs, layer.crs, x, y, tolerance)
        except CrsError:
            continue
        results.extend(fn(layer, lx, ly, ltol))
    return results


def _to_layer(project_crs, layer_crs, x: float, y: float, tolerance: float) -> tuple[float, float, float]:
    """Point and tolerance in the layer's CRS; the tolerance becomes the larger half-side of the
    reprojected tolerance square so nothing within reach is missed."""
    if same_crs(project_crs, layer_crs):
        return float(x), float(y), float(tolerance)
    lx, ly = transform_xy(project_crs, layer_crs, float(x), float(y))
    if not (math.isfinite(lx) and math.isfinite(ly)):
        raise CrsError(f"Point ({x}, {y}) has no position in the layer's CRS")
    reach = tolerance if tolerance > 0 else 1e-9 * max(1.0, abs(x), abs(y))
    b = transform_bounds(project_crs, layer_crs, (x - reach, y - reach, x + reach, y + reach), densify=5)
    ltol = max(b[2] - b[0], b[3] - b[1]) / 2.0 if tolerance > 0 else 0.0
    return float(lx), float(ly), float(ltol)


def _plain(value: Any) -> Any:
    """numpy scalars to Python ones; NaN/NaT to None (what a results panel wants to show)."""
    if value is None:
        return None
    if isinstance(value, np.generic):
        value = value.item()
    try:
        if value != value:  # NaN and pandas NA-likes
            return None
    except (TypeError, ValueError):
        pass
    return value


@register_identifier(VectorLayer)
def identify_vector(layer: VectorLayer, x: float, y: float, tolerance: float) -> list[IdentifyResult]:
    """Features of ``layer`` at (x, y) in the layer CRS: polygons containing the point or within
    ``tolerance``; points and lines within ``tolerance``.  Nearest first, then by feature id."""
    import shapely
    from shapely.geometry import Point

    frame = layer.dataset.frame
    if not len(frame):
        return []
    candidates = np.asarray(frame.sindex.query(shapely.box(x - tolerance, y - tolerance,
                                                           x + tolerance, y + tolerance)))
    if not len(candidates):
        return []
    geoms = frame.geometry.values[candidates]
    point = Point(x, y)
    distances = shapely.distance(np.asarray(geoms), point)
    hits = np.flatnonzero(np.isfinite(distances) & (distances <= tolerance))
    order = sorted(hits, key=lambda i: (distances[i], candidates[i]))
    fields = [c for c in frame.columns if c != frame.geometry.name]
    out = []
    for i in order:
        fid = int(candidates[i])
        row = frame.iloc[fid]
        out.append(IdentifyResult(layer=layer, feature_id=fid,
                                  attributes={c: _plain(row[c]) for c in fields},
                                  geometry=geoms[i], distance=float(distances[i])))
    return out


@register_identifier(RasterLayerBase)
def identify_raster(layer: RasterLayerBase, x: float, y: float, tolerance: float) -> list[IdentifyResult]:
    """The values of every band in the pixel of ``layer`` holding (x, y) (layer CRS); an empty
    list when the point is outside the raster.  ``tolerance`` is not used: a point is in
    exactly one pixel."""
    ds = layer.dataset
    transform = getattr(ds, "transform", None)
    if transform is None:
        return []
    colf, rowf = ~transform @ (x, y)
    if not (0 <= colf < ds.width and 0 <= rowf < ds.height):
        return []
    col, row = int(math.floor(colf)), int(math.floor(rowf))
    corners = [transform @ (col, row), transform @ (col + 1, row + 1)]
    xs, ys = [c[0] for c in corners], [c[1] for c in corners]
    bounds = (min(xs), min(ys), max(xs), max(ys))
    data = ds.read_window(bounds, 1, 1)
    values: dict[str, float | None] = {}
    mask = np.ma.getmaskarray(data)
    for band in range(data.shape[0]):
        values[f"Band {band + 1}"] = None if mask[band, 0, 0] else _plain(data[band, 0, 0])
    attributes: dict[str, Any] = dict(values)
    from gis_desk.core.style import is_elevation_model

    if is_elevation_model(ds, getattr(layer, "style", None)):  # a DSM/DTM: say what the number is
        h = values.get("Band 1")
        attributes["height"] = "no data" if h is None else f"{float(h):.2f} m"
    attributes.update(column=col, row=row)
    return [IdentifyResult(layer=layer, feature_id=None, attributes=attributes, values=values)]
