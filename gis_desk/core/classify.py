"""Build styles from data: class breaks, graduated and categorised styles, raster stretches.

Methods for numeric classes (``class_breaks``): ``equal_interval`` (equal-width ranges from min to
max), ``quantile`` (about the same number of features per class) and ``natural_breaks`` (Fisher-Jenks
optimal breaks from mapclassify; arrays over ``NATURAL_BREAKS_SAMPLE`` (500) values are first reduced to
a deterministic, evenly spaced sample of the sorted values so results never vary between runs).

Integer data with no more distinct values than classes (IMD deciles 1..10 in 10 classes, ratings
1..5...) gets one class per value, labelled with the value itself, whatever the method.
"""

from __future__ import annotations

import math
import warnings

import numpy as np

from gis_desk.core.ramps import ramp_colors
from gis_desk.core.style import Category, CategorisedStyle, ClassRange, GraduatedStyle, Symbol
from gis_desk.errors import DataError

METHODS = ("equal_interval", "quantile", "natural_breaks")
NATURAL_BREAKS_SAMPLE = 500  # mapclassify's pure-Python path (no numba) is O(n^2 k): ~0.4 s here
MAX_CATEGORIES = 1000
DEFAULT_OUTLINE = "#505050ff"


def _numeric(values, what: str = "values") -> np.ndarray:
    try:
        arr = np.asarray(values, dtype=float).ravel()
    except (TypeError, ValueError) as exc:
        raise DataError(f"The {what} are not numbers", hint="choose a numeric field or a categorised style") from exc
    return arr[np.isfinite(arr)]


def class_breaks(values, method: str = "quantile", n: int = 5) -> list[float]:
    """Class edges for numeric ``values`` (NaN ignored): ``k + 1`` increasing numbers, the first
    the minimum and the last the maximum, with ``k <= n`` (fewer when the data has fewer
    distinct values or duplicate quantiles).

    Raises ``DataError`` when there is no finite value, ``ValueError`` for an unknown method or
    ``n < 1``.
    """
    if method not in METHODS:
        raise ValueError(f"Unknown classification method {method!r}; use one of {', '.join(METHODS)}")
    if n < 1:
        raise ValueError(f"Number of classes must be at least 1, got {n}")
    data = _numeric(values)
    if data.size == 0:
        raise DataError("There are no numeric values to classify", hint="check the field has numbers")
    lo, hi = float(data.min()), float(data.max())
    if lo == hi:
        return [lo, hi]
    if method == "equal_interval":
        edges = np.linspace(lo, hi, n + 1)
    elif method == "quantile":
        edges = np.unique(np.quantile(data, np.linspace(0.0, 1.0, n + 1)))
    else:  # no more classes than distinct values
        edges = _natural_breaks(data, min(n, len(np.unique(data))), lo, hi)
    edges = [float(v) for v in edges]
    edges[0], edges[-1] = lo, hi
    return edges


def _natural_breaks(data: np.ndarray, n: int, lo: float, hi: float) -> np.ndarray:
    import mapclassify

    if data.size > NATURAL_BREAKS_SAMPLE:
        ordered = np.sort(data)
        data = ordered[np.linspace(0, ordered.size - 1, NATURAL_BREAKS_SAMPLE).round().astype(int)]
    if n < 2:
        return np.array([lo, hi])
    with warnings.catch_warnings():  # "Numba not installed": only slower, nothing to tell the user
        warnings.simplefilter("ignore", UserWarning)
        bins = np.asarray(mapclassify.FisherJenks(data, k=n).bins, dtype=float)
    return np.unique(np.concatenate([[lo], bins, [hi]]))


# -- labels ---------------------------------------------------------------------------------


def _decimals(edges) -> int:
    span = max(edges) - min(edges)
    if span <= 0:
        return 2
    return int(min(6, max(0, 2 - math.floor(math.log10(span)))))


def format_number(value: float, decimals: int) -> str:
    """'1,234.5' style: thousands separators, fixed decimals, integers without '.0'."""
    if float(value).is_integer() and decimals == 0:
        return f"{int(value):,}"
    return f"{value:,.{decimals}f}"


def range_labels(edges) -> list[str]:
    """'lo – hi' labels for consecutive edges, at a precision that tells the classes apart."""
    decimals = _decimals(edges)
    while decimals < 6 and len({format_number(e, decimals) for e in edges}) < len(set(edges)):
        decimals += 1
    return [f"{format_number(a, decimals)} – {format_number(b, decimals)}" for a, b in zip(edges[:-1], edges[1:])]


# -- styles ---------------------------------------------------------------------------------


def _geometry_kind(frame) -> str:
    try:
        types = {t.replace("Multi", "") for t in frame.geometry.geom_type.dropna().unique()}
    except AttributeError:
        return "Polygon"
    return types.pop() if len(types) == 1 else "Polygon"


def symbol_for(color: str, geometry: str) -> Symbol:
    """The default symbol of a class coloured ``color`` for a geometry kind."""
    if geometry == "LineString":
        return Symbol(fill="#00000000", stroke=color + "ff", stroke_width=1.5)
    if geometry == "Point":
        return Symbol(fill=color + "ff", stroke="#333333ff", stroke_width=0.6)
    return Symbol(fill=color + "ff", stroke=DEFAULT_OUTLINE, stroke_width=0.4)


def _column(frame, field: str):
    if field not in frame.columns:
        geometry = frame.geometry.name if hasattr(frame, "geometry") else None
        fields = [c for c in frame.columns if c != geometry]
        raise DataError(f"There is no field {field!r}", hint=f"fields are: {', '.join(map(str, fields))}")
    return frame[field]


def graduated_style(frame, field: str, method: str = "quantile", n: int = 5, ramp: str = "YlOrRd",
                    invert: bool = False) -> GraduatedStyle:
    """A graduated style of the numeric ``field`` of ``frame`` (a (Geo)DataFrame) in ``n``
    classes by ``method``, coloured along ``ramp`` (``invert`` flips it), labelled 'lo – hi'.

    Integer data with at most ``n`` distinct values gets one class per value (labels '1', '2'...).
    Raises ``DataError`` for a missing or non-numeric field or one without values.
    """
    column = _column(frame, field)
    try:
        values = _numeric(column, f"values of {field!r}")
    except DataError as exc:
        raise DataError(f"Field {field!r} is not numeric", hint="use a categorised style instead") from exc
    if values.size == 0:
        raise DataError(f"Field {field!r} has no numeric values to classify")
    geometry = _geometry_kind(frame)
    distinct = np.unique(values)
    if np.all(distinct == np.round(distinct)) and len(distinct) <= n:
        colors = ramp_colors(ramp, len(distinct), invert)
        classes = [ClassRange(float(v), float(v), symbol_for(c, geometry), format_number(float(v), 0))
                   for v, c in zip(distinct, colors)]
    else:
        edges = class_breaks(values, method, n)
        colors = ramp_colors(ramp, len(edges) - 1, invert)
        classes = [ClassRange(a, b, symbol_for(c, geometry), label)
                   for a, b, c, label in zip(edges[:-1], edges[1:], colors, range_labels(edges))]
    return GraduatedStyle(field=field, method=method, n_classes=n, ramp=ramp, invert_ramp=invert,
                          classes=classes)


def _sort_key(value):
    return (0, float(value), "") if isinstance(value, (int, float, np.integer, np.floating)) else (1, 0.0, str(value))


def _plain(value):
    """numpy scalars -> Python; whole floats (1.0 from a CSV) -> int so labels read '1'."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def categorised_style(frame, field: str, ramp: str = "Set2", invert: bool = False) -> CategorisedStyle:
    """One category per distinct value of ``field`` (numbers sorted numerically, then text),
    coloured from ``ramp``.  Features with no value are drawn grey ('no value').

    Raises ``DataError`` for a missing field or more than ``MAX_CATEGORIES`` distinct values.
    """
    column = _column(frame, field)
    present = column.dropna()
    uniques = sorted({_plain(v) for v in present.unique()}, key=_sort_key)
    if len(uniques) > MAX_CATEGORIES:
        raise DataError(f"Field {field!r} has {len(uniques)} different values, too many to categorise",
                        hint="use a graduated style or a field with fewer values")
    geometry = _geometry_kind(frame)
    colors = ramp_colors(ramp, len(uniques), invert)
    categories = [Category(v, symbol_for(c, geometry), str(v)) for v, c in zip(uniques, colors)]
    other = symbol_for("#bdbdbd", geometry) if len(present) < len(column) else None
    return CategorisedStyle(field=field, categories=categories, other=other, ramp=ramp)


# -- rasters --------------------------------------------------------------------------------

STRETCH_PERCENT = (2.0, 98.0)
_STRETCH_SAMPLE_PX = 1024


def raster_stretch(dataset, band: int = 1, method: str = "minmax") -> tuple[float, float]:
    """(vmin, vmax) of ``band`` (1-based) of a ``RasterDataset`` for drawing: ``minmax`` or
    ``percent`` (the 2nd and 98th percentiles), computed on a view of the whole raster at most
    1024 px on its longer side (read from an overview when there is one).

    Raises ``DataError`` if the band has no valid cell, ``ValueError`` for an unknown method or
    a band outside 1..count.
    """
    if method not in ("minmax", "percent"):
        raise ValueError(f"Unknown stretch {method!r}; use 'minmax' or 'percent'")
    count = int(getattr(dataset, "count", band))
    if not 1 <= band <= count:
        raise ValueError(f"Band {band} does not exist; the raster has {count} band(s)")
    scale = min(1.0, _STRETCH_SAMPLE_PX / max(dataset.width, dataset.height))
    out_w, out_h = max(1, round(dataset.width * scale)), max(1, round(dataset.height * scale))
    data = dataset.read_window(dataset.bounds, out_w, out_h, bands=[band])
    valid = np.ma.compressed(np.ma.masked_invalid(data)).astype(float)
    if valid.size == 0:
        raise DataError(f"Band {band} has no valid cells to stretch", path=dataset.source.path,
                        hint="check the nodata value")
    if method == "minmax":
        return float(valid.min()), float(valid.max())
    lo, hi = np.percentile(valid, STRETCH_PERCENT)
    return float(lo), float(hi)
