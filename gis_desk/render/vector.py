"""Drawing vector layers: reprojection, spatial query, simplification, batched skia paths.

Per (dataset, target CRS) the geometries are reprojected once and flattened into numpy arrays
(every polygon ring, line part and point with the row of its feature) next to an STRtree; the
cache lives as long as the dataset.  A redraw then does no per-feature Python work:

1. the STRtree gives the rows whose envelope meets the view;
2. each row gets a symbol class from the style (single, categorised, graduated);
3. for each class the vertices of its visible parts are gathered, moved to pixels and
   simplified by snapping to a half-pixel grid and dropping consecutive repeats;
4. one skia path per class is built from the arrays (``path_from_rings``) and filled, then all
   outlines are stroked, so outlines are never covered by a neighbour's fill.

Polygons are oriented (exterior counter-clockwise, holes clockwise) and filled with the nonzero
winding rule, so holes stay empty while overlapping features of one class do not cancel out.
Selected rows are redrawn on top in the highlight colour, then labels are placed.
"""

from __future__ import annotations

import threading
import weakref
from dataclasses import dataclass, field

import numpy as np
import shapely

from gis_desk.core.crs import crs_id, same_crs, transformer
from gis_desk.core.style import CategorisedStyle, GraduatedStyle, SingleSymbolStyle, Symbol
from gis_desk.errors import CanceledError, DataError
from gis_desk.render import skia_util
from gis_desk.render.viewport import Viewport

HIGHLIGHT = Symbol(fill="#ffff00ff", stroke="#c8a000ff", stroke_width=1.2, size=9.0)
OUTLINE_HIDES_EDGES_PX = 0.3  # outlines at least this wide (and half opaque) cover fill edges
_POINT, _LINE, _RING, _POLYGON = 0, 1, 2, 3
_COLLECTIONS = (4, 5, 6, 7)  # multi-point, multi-line, multi-polygon, geometry collection


@dataclass
class FlatParts:
    """Vertices of many parts (rings or lines) in one array: part i is
    ``coords[offsets[i]:offsets[i + 1]]`` and belongs to feature row ``feature[i]``."""

    coords: np.ndarray
    offsets: np.ndarray
    feature: np.ndarray

    @classmethod
    def empty(cls) -> "FlatParts":
        return cls(np.zeros((0, 2)), np.zeros(1, dtype=np.int64), np.zeros(0, dtype=np.int64))


def _flat(parts, feature_of_part, drop_closing: bool) -> FlatParts:
    if len(parts) == 0:
        return FlatParts.empty()
    coords, part_index = shapely.get_coordinates(parts, return_index=True)
    counts = np.bincount(part_index, minlength=len(parts))
    if drop_closing:  # skia closes rings itself; the repeated first vertex is dropped
        ends = np.cumsum(counts) - 1
        keep = np.ones(len(coords), dtype=bool)
        keep[ends[counts > 0]] = False
        coords, part_index = coords[keep], part_index[keep]
        counts = np.maximum(counts - 1, 0)
    nonempty = counts > 0
    offsets = np.concatenate([[0], np.cumsum(counts[nonempty])]).astype(np.int64)
    return FlatParts(coords, offsets, np.asarray(feature_of_part)[nonempty].astype(np.int64))


def flatten(geoms: np.ndarray) -> tuple[FlatParts, FlatParts, FlatParts]:
    """(polygon rings, line parts, points) of an array of shapely geometries; multi-part
    geometries and collections are split, each part remembering its position in ``geoms``."""
    parts, index = shapely.get_parts(geoms, return_index=True)
    types = shapely.get_type_id(parts)
    while np.isin(types, _COLLECTIONS).any():  # nested collections
        nested = np.isin(types, _COLLECTIONS)
        sub, sub_index = shapely.get_parts(parts[nested], return_index=True)
        parts = np.concatenate([parts[~nested], sub])
        index = np.concatenate([index[~nested], index[nested][sub_index]])
        types = shapely.get_type_id(parts)
    order = np.argsort(index, kind="stable")  # keep parts in feature order
    parts, index, types = parts[order], index[order], types[order]
    polys = types == _POLYGON
    rings, ring_poly = shapely.get_rings(parts[polys], return_index=True)
    lines = (types == _LINE) | (types == _RING)
    points = types == _POINT
    return (_flat(rings, index[polys][ring_poly], drop_closing=True),
            _flat(parts[lines], index[lines], drop_closing=False),
            _flat(parts[points], index[points], drop_closing=False))


@dataclass
class PreparedGeometry:
    """A dataset's geometries in one target CRS, flattened and indexed (see module doc)."""

    geoms: np.ndarray
    bounds: np.ndarray
    tree: shapely.STRtree
    rings: FlatParts
    lines: FlatParts
    points: FlatParts
    _anchors: np.ndarray | None = field(default=None, repr=False)
    _simplified: dict = field(default_factory=dict, repr=False)
    _segment: float | None = field(default=None, repr=False)

    def rings_for(self, pixel_size: float) -> FlatParts:
        """Polygon rings simplified (Douglas-Peucker, topology kept) to the largest power of two
        not above half a pixel, cached per such level; the original rings when simplifying
        would remove little (the tolerance is under a third of the median edge length)."""
        if self._segment is None:
            steps = np.diff(self.rings.coords[: 200_000], axis=0)
            self._segment = float(np.median(np.hypot(steps[:, 0], steps[:, 1]))) if len(steps) else 0.0
        level = int(np.floor(np.log2(pixel_size / 2.0)))
        tolerance = 2.0 ** level
        if tolerance < self._segment / 3.0 or len(self.rings.feature) == 0:
            return self.rings
        found = self._simplified.get(level)
        if found is None:
            if len(self._simplified) >= 6:  # keep a few zoom levels only
                self._simplified.pop(next(iter(self._simplified)))
            simple = shapely.simplify(self.geoms, tolerance, preserve_topology=True)
            simple = shapely.orient_polygons(simple, exterior_cw=False)
            found = self._simplified[level] = flatten(simple)[0]
        return found

    def anchors(self) -> np.ndarray:
        """(n, 2) label anchor per feature (a point on the surface; NaN for empty rows)."""
        if self._anchors is None:
            pts = shapely.point_on_surface(self.geoms)
            anchors = np.full((len(self.geoms), 2), np.nan)
            ok = ~shapely.is_empty(pts) & ~shapely.is_missing(pts)
            anchors[ok] = shapely.get_coordinates(pts[ok])
            self._anchors = anchors
        return self._anchors


_CACHE: "weakref.WeakKeyDictionary[object, dict]" = weakref.WeakKeyDictionary()
_CACHE_LOCK = threading.Lock()


def _reproject(geoms: np.ndarray, src, dst) -> np.ndarray:
    tr = transformer(src, dst)

    def move(coords: np.ndarray) -> np.ndarray:
        x, y = tr.transform(coords[:, 0], coords[:, 1])
        return np.column_stack([x, y])

    moved = shapely.transform(geoms, move)
    bad = ~np.isfinite(shapely.bounds(moved)).all(axis=1) & ~shapely.is_empty(moved) & ~shapely.is_missing(moved)
    if bad.any():  # outside the target CRS's area of use: not drawable there
        moved[bad] = None
    return moved


def prepared_geometry(dataset, target_crs) -> PreparedGeometry:
    """The cached ``PreparedGeometry`` of a ``VectorDataset`` in ``target_crs`` (built on first
    use; rebuilt if the dataset's frame object is replaced).  Thread-safe."""
    frame = dataset.frame
    key = (crs_id(target_crs), id(frame), len(frame))
    with _CACHE_LOCK:
        per_dataset = _CACHE.setdefault(dataset, {})
        found = per_dataset.get(key)
        if found is not None:
            return found
        geoms = np.asarray(frame.geometry.values, dtype=object)
        if dataset.crs is not None and not same_crs(dataset.crs, target_crs):
            geoms = _reproject(geoms, dataset.crs, target_crs)
        geoms = shapely.orient_polygons(geoms, exterior_cw=False)
        rings, lines, points = flatten(geoms)
        prepared = PreparedGeometry(geoms, shapely.bounds(geoms), shapely.STRtree(geoms), rings, lines, points)
        for old in [k for k in per_dataset if k[0] == key[0]]:
            del per_dataset[old]
        per_dataset[key] = prepared
        return prepared


# -- styles -> symbol class per feature -----------------------------------------------------


def _key(value):
    """Category matching key: numbers compare as floats ('1', 1 and 1.0 from a CSV all match
    the number 1 only when numeric), text as text, missing as None."""
    if value is None:
        return None
    if isinstance(value, (bool, np.bool_)):
        return float(value)
    if isinstance(value, (int, float, np.integer, np.floating)):
        return None if np.isnan(value) else float(value)
    return str(value)


def _field(frame, name: str):
    if name not in frame.columns:
        raise DataError(f"The style uses a field {name!r} that the layer does not have",
                        hint="choose another field in the layer's style")
    return frame[name]


def feature_classes(frame, style) -> tuple[np.ndarray, list[Symbol]]:
    """(class index per row, -1 for rows not drawn; symbol per class) for a vector style.

    Raises ``DataError`` if the style refers to a field the frame lacks."""
    n = len(frame)
    if isinstance(style, CategorisedStyle):
        column = _field(frame, style.field)
        symbols = [c.symbol for c in style.categories]
        lookup = {_key(c.value): (i if c.visible else -1) for i, c in enumerate(style.categories)}
        other = -1
        if style.other is not None:
            other = len(symbols)
            symbols.append(style.other)
        if column.dtype.kind in "biuf":
            keys = column.astype(float).map(lookup)
        elif all(isinstance(k, str) for k in lookup):  # text categories: one hashed lookup
            keys = column.map(lookup)
            unmatched = keys.isna() & column.notna()
            if unmatched.any():  # other values, or numbers in a text column: match one by one
                keys[unmatched] = column[unmatched].map(lambda v: lookup.get(_key(v), other))
        else:
            keys = column.map(lambda v: lookup.get(_key(v), other))
        return keys.fillna(other).to_numpy(dtype=np.int32), symbols
    if isinstance(style, GraduatedStyle):
        column = _field(frame, style.field)
        try:
            values = column.astype(float).to_numpy()
        except (TypeError, ValueError) as exc:
            raise DataError(f"Field {style.field!r} is not numeric", hint="use a categorised style") from exc
        if not style.classes:
            return np.full(n, -1, dtype=np.int32), []
        order = sorted(range(len(style.classes)), key=lambda i: (style.classes[i].upper, style.classes[i].lower))
        uppers = np.array([style.classes[i].upper for i in order])
        lowers = np.array([style.classes[i].lower for i in order])
        pos = np.searchsorted(uppers, values, side="left")
        inside = pos < len(order)
        pos_c = np.minimum(pos, len(order) - 1)
        inside &= values >= lowers[pos_c]
        classes = np.where(inside, np.asarray(order)[pos_c], -1).astype(np.int32)
        return classes, [c.symbol for c in style.classes]
    symbol = style.symbol if isinstance(style, SingleSymbolStyle) else Symbol()
    return np.zeros(n, dtype=np.int32), [symbol]


# -- geometry to pixels ---------------------------------------------------------------------


def _gather(flat: FlatParts, part_mask: np.ndarray, viewport: Viewport, simplify: bool):
    """Pixel coordinates and offsets of the parts in ``part_mask``, snapped to half pixels."""
    sel = np.flatnonzero(part_mask)
    if len(sel) == 0:
        return None, None
    starts = flat.offsets[sel]
    lengths = flat.offsets[sel + 1] - starts
    out_starts = np.cumsum(lengths) - lengths
    index = np.arange(int(lengths.sum())) + np.repeat(starts - out_starts, lengths)
    coords = flat.coords[index]
    xmin, _, _, ymax = viewport.extent
    inv = 1.0 / viewport.pixel_size
    px = np.empty(coords.shape, dtype=np.float64)
    px[:, 0] = (coords[:, 0] - xmin) * inv
    px[:, 1] = (ymax - coords[:, 1]) * inv
    if simplify and len(px) > 1:
        snapped = np.round(px * 2.0)
        keep = np.empty(len(px), dtype=bool)
        keep[0] = True
        keep[1:] = (snapped[1:] != snapped[:-1]).any(axis=1)
        keep[out_starts] = True
        if not np.all(keep):
            part_of_point = np.repeat(np.arange(len(sel)), lengths)
            px = px[keep]
            lengths = np.bincount(part_of_point[keep], minlength=len(sel))
    offsets = np.concatenate([[0], np.cumsum(lengths)])
    return px, offsets


_MARKERS = {
    "square": np.array([[-1, -1], [1, -1], [1, 1], [-1, 1]], float) * 0.5,
    "triangle": np.array([[0, -0.5], [0.5, 0.366], [-0.5, 0.366]], float) * 1.15,
    "diamond": np.array([[0, -0.5], [0.5, 0], [0, 0.5], [-0.5, 0]], float) * 1.2,
}


def marker_template(marker: str, size: float) -> np.ndarray:
    """Vertices (k, 2) of a marker of ``size`` px around (0, 0), pixel axes (y down)."""
    if marker in _MARKERS:
        return _MARKERS[marker] * size
    k = int(np.clip(size * 1.5, 12, 64))  # a circle: enough sides to look round at this size
    angle = np.linspace(0, 2 * np.pi, k, endpoint=False)
    return np.column_stack([np.cos(angle), -np.sin(angle)]) * size / 2.0


def _marker_path(centres: np.ndarray, symbol: Symbol):
    template = marker_template(symbol.marker, symbol.size)
    coords = (centres[:, None, :] + template[None, :, :]).reshape(-1, 2)
    offsets = np.arange(len(centres) + 1, dtype=np.int64) * len(template)
    return skia_util.path_from_rings(coords, offsets, closed=True)


def _check(cancel) -> None:
    if cancel is not None and cancel():
        raise CanceledError()


def draw_features(canvas, prepared: PreparedGeometry, viewport: Viewport, rows: np.ndarray,
                  classes: np.ndarray, symbols: list[Symbol], cancel=None, highlight: bool = False) -> None:
    """Draw features where ``rows`` (bool per feature) is set, class ``classes[row]`` using
    ``symbols[class]``: polygon fills, then polygon outlines, then lines, then point markers.
    ``highlight`` draws lines in the symbol's fill colour (the selection look)."""
    feature_class = np.where(rows, classes, -1)
    present = [c for c in np.unique(feature_class) if c >= 0]
    outlines = []
    rings = prepared.rings_for(viewport.pixel_size)
    ring_class = feature_class[rings.feature]
    for c in present:
        _check(cancel)
        px, offsets = _gather(rings, ring_class == c, viewport, simplify=True)
        if px is None:
            continue
        symbol = symbols[c]
        path = skia_util.path_from_rings(px, offsets, closed=True)
        outlined = symbol.stroke_width >= OUTLINE_HIDES_EDGES_PX and skia_util.parse_color(symbol.stroke)[3] >= 0.5
        if skia_util.parse_color(symbol.fill)[3] > 0:
            # an outline drawn over the edge hides aliasing, and aliased fills cost a third
            canvas.drawPath(path, skia_util.fill_paint(symbol.fill, antialias=not outlined))
        if symbol.stroke_width > 0 and skia_util.parse_color(symbol.stroke)[3] > 0:
            outlines.append((path, symbol))
    for path, symbol in outlines:
        canvas.drawPath(path, skia_util.stroke_paint(symbol.stroke, symbol.stroke_width))
    line_class = feature_class[prepared.lines.feature]
    for c in present:
        _check(cancel)
        px, offsets = _gather(prepared.lines, line_class == c, viewport, simplify=True)
        if px is None:
            continue
        symbol = symbols[c]
        color = symbol.fill if highlight else symbol.stroke
        width = max(symbol.stroke_width, 1.0) + (1.5 if highlight else 0.0)
        canvas.drawPath(skia_util.path_from_rings(px, offsets, closed=False), skia_util.stroke_paint(color, width))
    point_class = feature_class[prepared.points.feature]
    for c in present:
        _check(cancel)
        centres, _ = _gather(prepared.points, point_class == c, viewport, simplify=False)
        if centres is None:
            continue
        symbol = symbols[c]
        path = _marker_path(centres, symbol)
        canvas.drawPath(path, skia_util.fill_paint(symbol.fill))
        if symbol.stroke_width > 0:
            canvas.drawPath(path, skia_util.stroke_paint(symbol.stroke, symbol.stroke_width))


def _max_symbol_px(symbols: list[Symbol]) -> float:
    return max([max(s.size, s.stroke_width) for s in symbols] + [HIGHLIGHT.size])


def render_vector_layer(layer, viewport: Viewport, cancel=None) -> np.ndarray | None:
    """Premultiplied RGBA image of a ``VectorLayer`` in ``viewport``, or None when nothing of it
    is in view.  Raises ``DataError`` for a style naming a missing field, ``CanceledError``."""
    from gis_desk.render.labels import draw_layer_labels

    dataset = layer.dataset
    if dataset is None or len(dataset) == 0:
        return None
    prepared = prepared_geometry(dataset, viewport.crs)
    _check(cancel)
    classes, symbols = feature_classes(dataset.frame, layer.style)
    margin = _max_symbol_px(symbols) * viewport.pixel_size
    xmin, ymin, xmax, ymax = viewport.extent
    hits = prepared.tree.query(shapely.box(xmin - margin, ymin - margin, xmax + margin, ymax + margin))
    if len(hits) == 0:
        return None
    in_view = np.zeros(len(dataset), dtype=bool)
    in_view[hits] = True
    image = skia_util.new_image(viewport.width, viewport.height)
    surface = skia_util.surface_for(image)
    with surface as canvas:
        draw_features(canvas, prepared, viewport, in_view, classes, symbols, cancel)
        selection = getattr(layer, "selection", None)
        if selection:
            chosen = np.fromiter((i for i in selection if 0 <= i < len(dataset)), dtype=np.int64)
            selected = np.zeros(len(dataset), dtype=bool)
            selected[chosen] = True
            selected &= in_view
            if selected.any():
                draw_features(canvas, prepared, viewport, selected, np.zeros(len(dataset), dtype=np.int32),
                              [HIGHLIGHT], cancel, highlight=True)
        labels = getattr(layer.style, "labels", None)
        if labels is not None and labels.enabled and labels.field:
            _check(cancel)
            draw_layer_labels(canvas, dataset.frame, prepared, viewport, in_view & (classes >= 0), labels)
    return image
