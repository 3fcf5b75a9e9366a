"""Datasets: data plus georeference, as returned by readers (no style, no widgets).

A reader (``gis_desk.io``) returns one or more datasets for a file.  The session wraps each
in the ``Layer`` subclass registered for its type (``gis_desk.core.layer.layer_class_for``).

Every dataset knows its ``source`` (what to reopen it from), its ``crs`` (a ``pyproj.CRS``,
never None once opened: readers raise ``MissingCrsError`` instead) and its ``bounds``
(xmin, ymin, xmax, ymax) in that CRS.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class DataSource:
    """Where a dataset comes from: an absolute path plus reader options.

    ``options`` holds what is needed to reopen the same data, e.g. ``{"layer": "parcels"}``
    for one layer of a GeoPackage, ``{"x": "GeoX", "y": "GeoY", "crs": "EPSG:4326"}`` for a
    CSV, or ``{"crs": "EPSG:27700"}`` when the user supplied a missing CRS.
    ``reader`` is the id of the reader contribution that opened it.
    """

    path: str
    reader: str = ""
    options: dict[str, Any] = field(default_factory=dict)

    @property
    def name(self) -> str:
        stem = Path(self.path).stem
        sub = self.options.get("layer")
        return f"{stem} — {sub}" if sub and sub != stem else stem


class Dataset(ABC):
    """Base class; subclasses document their own data access."""

    source: DataSource
    crs: Any  # pyproj.CRS
    bounds: tuple[float, float, float, float]
    driver: str = ""

    @abstractmethod
    def info(self) -> dict[str, Any]:
        """A JSON-serialisable summary (driver, crs, extent, count, fields or bands)."""

    def close(self) -> None:
        """Release file handles; the dataset may be reopened lazily afterwards."""


class VectorDataset(Dataset):
    """Features held in memory as a ``geopandas.GeoDataFrame`` with a spatial index.

    Row position (0..n-1) is the feature id used for selection and identify.
    """

    def __init__(self, source: DataSource, frame, driver: str = "") -> None:
        self.source = source
        self.frame = frame.reset_index(drop=True)
        self.crs = frame.crs
        self.driver = driver
        self._bounds: tuple[float, float, float, float] | None = None

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        if self._bounds is None:
            geoms = self.frame.geometry
            b = geoms.total_bounds if len(geoms) and not geoms.is_empty.all() else (0.0, 0.0, 0.0, 0.0)
            self._bounds = tuple(float(v) for v in b)
        return self._bounds

    @property
    def geometry_type(self) -> str:
        """'Point', 'LineString', 'Polygon' (multi-part types folded in) or 'Unknown'."""
        types = self.frame.geometry.geom_type.dropna().unique()
        simple = {t.replace("Multi", "") for t in types}
        return simple.pop() if len(simple) == 1 else ("Mixed" if simple else "Unknown")

    @property
    def fields(self) -> list[str]:
        return [c for c in self.frame.columns if c != self.frame.geometry.name]

    def __len__(self) -> int:
        return len(self.frame)

    def query_bounds(self, bounds) -> Any:
        """Row positions whose envelope intersects ``bounds`` (numpy int array)."""
        from shapely.geometry import box

        return self.frame.sindex.query(box(*bounds))

    def info(self) -> dict[str, Any]:
        from gis_desk.core.crs import crs_id

        return {
            "kind": "vector",
            "path": self.source.path,
            "driver": self.driver,
            "crs": crs_id(self.crs),
            "extent": list(self.bounds),
            "count": len(self),
            "geometry_type": self.geometry_type,
            "fields": {c: str(self.frame[c].dtype) for c in self.fields},
        }


class RasterDataset(Dataset):
    """A georeferenced grid read lazily, window by window (implemented in ``gis_desk.io.raster``).

    Attributes: ``width``, ``height``, ``count`` (bands), ``dtypes``, ``nodata``,
    ``transform`` (affine.Affine, pixel -> CRS), ``overview_factors`` (list of ints, may be
    empty), ``colorinterp`` (list of names such as 'red', 'gray', 'palette').
    """

    width: int
    height: int
    count: int

    @abstractmethod
    def read_window(self, bounds, out_width: int, out_height: int, bands=None, resampling: str = "nearest"):
        """Read ``bands`` (1-based; default all) covering ``bounds`` (dataset CRS) resampled to
        ``out_height`` x ``out_width``, from the best overview.  Returns a numpy masked array
        (bands, rows, cols); cells outside the raster or nodata are masked.  Thread-safe."""

    def default_style(self):
        from gis_desk.core.style import RasterStyle

        return RasterStyle()


class TileDataset(Dataset):
    """A pyramid of pre-rendered image tiles (MBTiles, GeoPackage tiles): an offline basemap.

    Implemented in ``gis_desk.io.tiles``.  ``crs`` is the tile matrix CRS.
    """

    @abstractmethod
    def tiles_for(self, bounds, pixel_size: float):
        """Tiles covering ``bounds`` (dataset CRS) at the zoom level closest to ``pixel_size``
        (CRS units per screen pixel).  Yields ``(tile_bounds, rgba uint8 array (h, w, 4))``."""
