"""The one wrapper around pyproj: parse CRSs and cache transformers.

All coordinates are handled in traditional GIS order (x=easting/longitude,
y=northing/latitude): every transformer is built with ``always_xy=True``.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import numpy as np

from gis_desk.errors import CrsError

BNG = "EPSG:27700"  # British National Grid, the default project CRS
WGS84 = "EPSG:4326"


@lru_cache(maxsize=256)
def _parse(text: str):
    import pyproj

    try:
        return pyproj.CRS.from_user_input(text)
    except pyproj.exceptions.CRSError as exc:
        raise CrsError(f"Unknown coordinate reference system {text!r}",
                       hint="give an EPSG code such as EPSG:27700", details=str(exc)) from exc


def to_crs(value: Any):
    """Return a ``pyproj.CRS`` from an EPSG code, 'EPSG:n' text, WKT, PROJ string or CRS.

    Raises ``CrsError`` when the value is not a CRS; ``None`` stays ``None``.
    """
    if value is None:
        return None
    import pyproj

    if isinstance(value, pyproj.CRS):
        return value
    if isinstance(value, int):
        value = f"EPSG:{value}"
    if hasattr(value, "to_wkt"):  # rasterio CRS and friends
        value = value.to_wkt()
    return _parse(str(value))


def crs_id(value: Any) -> str | None:
    """A short, stable text for a CRS: 'EPSG:n' when it has an authority code, else WKT."""
    crs = to_crs(value)
    if crs is None:
        return None
    auth = crs.to_authority(min_confidence=90)
    if auth:
        return f"{auth[0]}:{auth[1]}"
    return crs.to_wkt()


def crs_name(value: Any) -> str:
    """Human-readable CRS label such as 'EPSG:27700 - OSGB36 / British National Grid'."""
    crs = to_crs(value)
    if crs is None:
        return "no CRS"
    ident = crs_id(crs)
    return f"{ident} - {crs.name}" if ident and ident.startswith("EPSG") else crs.name


def same_crs(a: Any, b: Any) -> bool:
    if a is None or b is None:
        return a is b
    return crs_id(a) == crs_id(b)


@lru_cache(maxsize=128)
def _transformer(src: str, dst: str):
    import pyproj

    return pyproj.Transformer.from_crs(_parse(src), _parse(dst), always_xy=True)


def transformer(src: Any, dst: Any):
    """Cached ``pyproj.Transformer`` from ``src`` to ``dst`` (always_xy)."""
    return _transformer(crs_id(src), crs_id(dst))


def transform_xy(src: Any, dst: Any, x, y):
    """Transform coordinate arrays; returns numpy arrays (or floats for scalars)."""
    if same_crs(src, dst):
        return x, y
    return transformer(src, dst).transform(x, y)


def transform_bounds(src: Any, dst: Any, bounds, densify: int = 21) -> tuple[float, float, float, float]:
    """Transform (xmin, ymin, xmax, ymax), densifying the edges so curved edges are covered."""
    if same_crs(src, dst):
        return tuple(float(v) for v in bounds)
    xmin, ymin, xmax, ymax = bounds
    out = transformer(src, dst).transform_bounds(xmin, ymin, xmax, ymax, densify_pts=densify)
    if not np.all(np.isfinite(out)):
        raise CrsError(f"Extent {bounds} cannot be transformed from {crs_id(src)} to {crs_id(dst)}")
    return tuple(float(v) for v in out)
