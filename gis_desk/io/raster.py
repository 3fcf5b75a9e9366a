"""Rasters through rasterio (GDAL): GeoTIFF/COG, VRT, ERDAS IMG, JPEG 2000, ASCII grids...

``RasterioDataset`` reads lazily, window by window, at the resolution the view needs: GDAL
picks the best overview (internal, or a sidecar ``.ovr`` from ``gis_desk.io.overviews``)
when a read is smaller than the window it covers.  The canvas reads from worker threads, so
each thread gets its own GDAL handle (GDAL handles must not be shared between threads).

The file is checked when opened, not when first drawn: a truncated or damaged file raises
``CorruptFileError`` from ``read_raster``.
"""

from __future__ import annotations

import logging
import math
import os
import threading
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from gis_desk.core.crs import crs_id, crs_name, to_crs
from gis_desk.core.datasets import DataSource, RasterDataset
from gis_desk.errors import CorruptFileError, MissingCrsError, MissingFileError

log = logging.getLogger(__name__)

#: Resampling names accepted by ``read_window`` (rasterio.enums.Resampling members).
RESAMPLING = ("nearest", "bilinear", "cubic", "average", "mode", "lanczos")
STRETCH_SAMPLE = 512  # max side of the decimated read used to find a min/max stretch


def _open(path: str):
    import rasterio
    from rasterio.errors import NotGeoreferencedWarning

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NotGeoreferencedWarning)
        return rasterio.open(path)


class RasterioDataset(RasterDataset):
    """A GDAL raster opened read-only.

    Attributes (see ``RasterDataset``): ``width``, ``height``, ``count``, ``dtypes`` (per
    band), ``nodata`` (per band, None where unset), ``transform`` (affine, pixel -> CRS),
    ``overview_factors`` (decimation factors of band 1, e.g. [2, 4, 8]; empty when none),
    ``colorinterp`` (names per band), ``colormap`` (band 1 colour table as
    {value: (r, g, b, a)} or None), ``driver``, ``bounds`` (xmin, ymin, xmax, ymax in
    ``crs``), ``crs`` (pyproj.CRS), ``mask_flags`` (GDAL mask flags per band).
    """

    def __init__(self, path: str | os.PathLike, *, crs: Any = None) -> None:
        self.path = str(Path(path).resolve())
        self._local = threading.local()
        self._handles: list[Any] = []
        self._handles_lock = threading.Lock()
        ds = self._handle()
        try:
            self._describe(ds, crs)
            self._check_readable(ds)
        except Exception:
            self.close()
            raise

    def _describe(self, ds, crs: Any) -> None:
        options: dict[str, Any] = {}
        self.driver = ds.driver
        self.width, self.height, self.count = ds.width, ds.height, ds.count
        self.dtypes = list(ds.dtypes)
        self.nodata = [None if v is None else float(v) for v in ds.nodatavals]
        self.transform = ds.transform
        self.colorinterp = [ci.name for ci in ds.colorinterp]
        self.mask_flags = [[f.name for f in flags] for flags in ds.mask_flag_enums]
        self.block_shapes = list(ds.block_shapes)
        self.compression = ds.compression.value if ds.compression else None
        self.colormap = None
        if self.colorinterp and self.colorinterp[0] == "palette":
            try:
                self.colormap = {int(k): tuple(int(c) for c in v) for k, v in ds.colormap(1).items()}
            except ValueError:
                self.colormap = None
        self.overview_factors = [int(f) for f in ds.overviews(1)] if self.count else []
        left, bottom, right, top = ds.bounds
        self.bounds = (min(left, right), min(bottom, top), max(left, right), max(bottom, top))
        if ds.crs is not None:
            self.crs = to_crs(ds.crs)
        elif crs is not None:
            self.crs = to_crs(crs)
            options["crs"] = crs_id(self.crs)
        else:
            raise MissingCrsError("The raster has no coordinate reference system", path=self.path,
                                  hint="choose the CRS it was made in (GUI prompt) or give --crs, "
                                       "e.g. --crs EPSG:27700 for British National Grid")
        self.source = DataSource(self.path, options=options)

    # -- handles -----------------------------------------------------------------------------
    def _handle(self):
        """This thread's open handle (opened on first use)."""
        ds = getattr(self._local, "ds", None)
        if ds is None or ds.closed:
            import rasterio.errors

            try:
                ds = _open(self.path)
            except rasterio.errors.RasterioIOError as exc:
                if not os.path.exists(self.path):
                    raise MissingFileError("The file does not exist", path=self.path) from exc
                raise CorruptFileError("The raster file cannot be opened: it is damaged or not a raster "
                                       "GDAL can read", path=self.path,
                                       hint="check the file is complete (copy it again) or export it again",
                                       details=str(exc)) from exc
            self._local.ds = ds
            with self._handles_lock:
                self._handles.append(ds)
        return ds

    def close(self) -> None:
        """Close every thread's handle; later reads reopen lazily."""
        with self._handles_lock:
            handles, self._handles = self._handles, []
        for ds in handles:
            ds.close()

    def _check_readable(self, ds) -> None:
        """Read the first and the last block of every band so a truncated file fails now."""
        import rasterio.errors
        from rasterio.windows import Window

        try:
            bh, bw = self.block_shapes[0] if self.block_shapes else (1, self.width)
            bw, bh = min(bw, self.width), min(bh, self.height)
            first = Window(0, 0, bw, bh)
            last = Window((self.width - 1) // bw * bw, (self.height - 1) // bh * bh, 0, 0)
            last = Window(last.col_off, last.row_off, self.width - last.col_off, self.height - last.row_off)
            for window in (first, last):
                ds.read(window=window)
        except rasterio.errors.RasterioError as exc:
            raise CorruptFileError("The raster file is truncated or damaged: its pixels cannot be read",
                                   path=self.path, hint="copy or download the file again; if it was being "
                                   "written, wait until it is complete", details=str(exc)) from exc

    # -- reading -----------------------------------------------------------------------------
    def read_window(self, bounds, out_width: int, out_height: int, bands=None, resampling: str = "nearest"):
        """Read ``bands`` (1-based list; default all) covering ``bounds`` (xmin, ymin, xmax, ymax
        in the dataset CRS) into ``out_height`` x ``out_width`` pixels.

        Returns a ``numpy.ma.MaskedArray`` of shape (bands, out_height, out_width) and the
        bands' dtype; cells outside the raster, nodata, alpha-transparent or masked by an
        internal mask are masked (and NaN in float rasters).  When the output is coarser
        than the file, GDAL reads from the best overview.  ``resampling``: one of
        ``RESAMPLING``.  Thread-safe.
        """
        from rasterio.enums import Resampling
        from rasterio.windows import Window

        if resampling not in RESAMPLING:
            raise ValueError(f"resampling must be one of {RESAMPLING}, not {resampling!r}")
        out_width, out_height = int(out_width), int(out_height)
        if out_width <= 0 or out_height <= 0:
            raise ValueError("out_width and out_height must be positive")
        band_list = list(bands) if bands is not None else list(range(1, self.count + 1))
        dtype = np.result_type(*[self.dtypes[b - 1] for b in band_list])
        data = np.zeros((len(band_list), out_height, out_width), dtype=dtype)
        mask = np.ones(data.shape, dtype=bool)

        # Requested area in (fractional) pixel coordinates of the full-resolution raster.
        xmin, ymin, xmax, ymax = (float(v) for v in bounds)
        inv = ~self.transform
        cols, rows = zip(*(inv @ (x, y) for x, y in ((xmin, ymax), (xmax, ymax), (xmin, ymin), (xmax, ymin))))
        c0, c1, r0, r1 = min(cols), max(cols), min(rows), max(rows)
        if c1 <= c0 or r1 <= r0:
            return np.ma.masked_array(data, mask)
        sx, sy = (c1 - c0) / out_width, (r1 - r0) / out_height  # source pixels per output pixel
        # Output pixels whose centres fall on the raster.
        oc0 = max(0, math.ceil((0 - c0) / sx - 0.5))
        oc1 = min(out_width, math.ceil((self.width - c0) / sx - 0.5))
        or0 = max(0, math.ceil((0 - r0) / sy - 0.5))
        or1 = min(out_height, math.ceil((self.height - r0) / sy - 0.5))
        if oc1 <= oc0 or or1 <= or0:
            return np.ma.masked_array(data, mask)
        # The exact source window behind those output pixels, clamped to the raster.
        wc0, wc1 = max(0.0, c0 + oc0 * sx), min(float(self.width), c0 + oc1 * sx)
        wr0, wr1 = max(0.0, r0 + or0 * sy), min(float(self.height), r0 + or1 * sy)
        window = Window(wc0, wr0, wc1 - wc0, wr1 - wr0)
        shape = (len(band_list), or1 - or0, oc1 - oc0)
        ds = self._handle()
        part = ds.read(band_list, window=window, out_shape=shape, resampling=Resampling[resampling],
                       masked=True)
        data[:, or0:or1, oc0:oc1] = np.ma.getdata(part)
        mask[:, or0:or1, oc0:oc1] = np.ma.getmaskarray(part)
        if dtype.kind == "f":
            mask |= np.isnan(data)
            data[mask] = np.nan
        return np.ma.masked_array(data, mask)

    def read_overview(self, level: int, bands=None):
        """The whole raster from overview ``level`` (0 = first overview), as a masked array.

        Raises ``IndexError`` when the raster has fewer overview levels."""
        if not 0 <= level < len(self.overview_factors):
            raise IndexError(f"{self.path} has {len(self.overview_factors)} overview levels, not {level + 1}")
        factor = self.overview_factors[level]
        return self.read_window(self.bounds, math.ceil(self.width / factor), math.ceil(self.height / factor),
                                bands=bands)

    # -- style and summary -------------------------------------------------------------------
    def _band_roles(self) -> dict[str, int]:
        return {name: i + 1 for i, name in reversed(list(enumerate(self.colorinterp)))}

    def _stretch(self, bands: list[int]) -> tuple[list[float] | None, list[float] | None]:
        """Min/max per band from a decimated read (the smallest fitting overview), ignoring masks."""
        scale = max(self.width, self.height) / STRETCH_SAMPLE
        w = max(1, round(self.width / max(scale, 1.0)))
        h = max(1, round(self.height / max(scale, 1.0)))
        sample = self.read_window(self.bounds, w, h, bands=bands)
        vmin, vmax = [], []
        for band in sample:
            values = band.compressed()
            values = values[np.isfinite(values)] if values.dtype.kind == "f" else values
            if values.size == 0:
                return None, None
            vmin.append(float(values.min()))
            vmax.append(float(values.max()))
        return vmin, vmax

    def default_style(self):
        """A sensible ``RasterStyle``: RGB(A) imagery as rgb (min/max stretch unless byte),
        a band with a colour table as paletted, any other single band (DSM/DTM...) as
        singleband with a min/max stretch ignoring nodata."""
        from gis_desk.core.style import RasterStyle

        roles = self._band_roles()
        if self.colormap and self.count <= 2:
            return RasterStyle(mode="paletted", bands=(1,), stretch="manual")
        if self.count >= 3 and "alpha" not in self.colorinterp[:3]:
            bands = tuple(roles[c] for c in ("red", "green", "blue")) if all(
                c in roles for c in ("red", "green", "blue")) else (1, 2, 3)
            if all(self.dtypes[b - 1] == "uint8" for b in bands):
                return RasterStyle(mode="rgb", bands=bands, stretch="manual", vmin=[0.0] * 3, vmax=[255.0] * 3)
            vmin, vmax = self._stretch(list(bands))
            return RasterStyle(mode="rgb", bands=bands, stretch="minmax", vmin=vmin, vmax=vmax)
        from gis_desk.core.style import is_elevation_model

        vmin, vmax = self._stretch([1])
        # surface models read best shaded by their relief (DSM/DTM named as such)
        shade = "blend" if is_elevation_model(self) else "off"
        return RasterStyle(mode="singleband", bands=(1,), stretch="minmax", vmin=vmin, vmax=vmax, hillshade=shade)

    def info(self) -> dict[str, Any]:
        xres, yres = abs(self.transform.a), abs(self.transform.e)
        return {
            "kind": "raster",
            "path": self.path,
            "driver": self.driver,
            "crs": crs_id(self.crs),
            "crs_name": crs_name(self.crs),
            "extent": list(self.bounds),
            "width": self.width,
            "height": self.height,
            "count": self.count,
            "pixel_size": [xres, yres],
            "bands": [
                {"band": i + 1, "dtype": self.dtypes[i], "nodata": _json_number(self.nodata[i]),
                 "colorinterp": self.colorinterp[i], "mask": self.mask_flags[i]}
                for i in range(self.count)
            ],
            "overviews": list(self.overview_factors),
            "compression": self.compression,
            "paletted": self.colormap is not None,
        }


def _json_number(value):
    if value is None:
        return None
    if math.isnan(value):
        return "nan"
    return value


def read_raster(path: str | os.PathLike, *, crs: Any = None, **options) -> list[RasterioDataset]:
    """Open a GDAL raster as one ``RasterioDataset``.

    ``crs`` is used only when the file has none (it is then kept in ``source.options``).
    Raises ``MissingFileError``, ``CorruptFileError`` (not a raster, truncated, damaged: the
    first and last blocks are read at open time), ``MissingCrsError`` (no CRS, no ``crs``).
    """
    path = Path(path).resolve()
    if not path.exists():
        raise MissingFileError("The file does not exist", path=path,
                               hint="it may have been moved, renamed or be on a drive that is not connected")
    if options:
        log.warning("%s: ignoring reader options %s", path, sorted(options))
    return [RasterioDataset(path, crs=crs)]
