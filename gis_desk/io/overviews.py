"""Sidecar overviews (``<raster>.ovr``) so large rasters draw fast, never touching the source.

GDAL looks for ``<file>.ovr`` beside any raster and uses it for reduced-resolution reads.  An
``.ovr`` is a TIFF whose main image is the first overview level and whose own internal
overviews are the further levels.  We write it in two steps, both reading the source
read-only: (1) the first level (factor 2) strip by strip from the source, averaging, with
progress and cancellation between strips; (2) the further levels cascaded from that first
level inside the new file.  The work goes to a temporary file renamed to ``.ovr`` at the end,
so a cancelled or failed build leaves no partial ``.ovr`` (and keeps an older one).
"""

from __future__ import annotations

import math
import os
import warnings
from pathlib import Path

from gis_desk.errors import CanceledError, GisDeskError, WriterError

LARGE_RASTER_PIXELS = 4096  # max(width, height) above which a raster without overviews is slow to draw
SMALLEST_OVERVIEW = 256  # stop adding levels once the overview fits this many pixels


def needs_overviews(dataset, threshold: int = LARGE_RASTER_PIXELS) -> bool:
    """True when ``dataset`` (a ``RasterDataset``) is large (max(width, height) > ``threshold``
    pixels) and has no internal or external overviews."""
    return max(dataset.width, dataset.height) > threshold and not list(dataset.overview_factors)


def default_factors(width: int, height: int) -> list[int]:
    """Powers of two (2, 4, 8...) until the overview fits in ``SMALLEST_OVERVIEW`` pixels."""
    factors, f = [], 2
    while True:
        factors.append(f)
        if max(width, height) / f <= SMALLEST_OVERVIEW:
            return factors
        f *= 2


def overview_path(path: str | os.PathLike) -> Path:
    return Path(str(Path(path).resolve()) + ".ovr")


def build_overviews(path: str | os.PathLike, feedback=None, factors: list[int] | None = None,
                    resampling: str | None = None) -> Path:
    """Write ``<path>.ovr`` and return its path; the source file is only read.

    ``factors``: decimation factors, powers of two starting at 2 (default: 2, 4, ... until
    the smallest level fits in 256 pixels).  ``resampling``: 'average' (imagery, DSMs),
    'nearest' (classes), 'mode', 'bilinear', 'cubic'; default 'average', or 'nearest' for
    a paletted raster (averaging colour-table indices would invent colours).  ``feedback``: a
    ``gis_desk.processing.feedback.Feedback``; progress goes 0..100 and ``cancel()`` stops
    the build between strips, raising ``CanceledError`` with no ``.ovr`` left behind.

    Raises ``MissingFileError``/``CorruptFileError`` (source unreadable), ``ValueError`` (bad
    factors), ``WriterError`` (folder not writable, disk full), ``CanceledError``.
    """
    import rasterio
    from rasterio.enums import Resampling
    from rasterio.errors import NotGeoreferencedWarning, RasterioError
    from rasterio.windows import Window

    from gis_desk.io.raster import read_raster

    path = Path(path).resolve()
    # read_raster checks the file; the CRS is irrelevant to overviews, so do not require one.
    probe = read_raster(path, crs="EPSG:4326")[0]
    width, height, count = probe.width, probe.height, probe.count
    paletted = probe.colormap is not None
    probe.close()
    resampling = resampling or ("nearest" if paletted else "average")
    factors = sorted(factors or default_factors(width, height))
    if factors[0] != 2 or any(b != a * 2 for a, b in zip(factors, factors[1:])):
        raise ValueError(f"overview factors must be consecutive powers of two from 2, not {factors}")
    method = Resampling[resampling]
    target = overview_path(path)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    level_w, level_h = math.ceil(width / 2), math.ceil(height / 2)
    strip_rows = max(1, min(level_h, 4 * 1024 * 1024 // max(1, level_w * count)))  # ~4 M values per read
    n_strips = math.ceil(level_h / strip_rows)

    def progress(pct: float) -> None:
        if feedback is not None:
            feedback.set_progress(pct)
            feedback.check_canceled()

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", NotGeoreferencedWarning)
            with rasterio.open(path) as src:
                profile = dict(driver="GTiff", width=level_w, height=level_h, count=count,
                               dtype=src.dtypes[0], nodata=src.nodata, tiled=True, blockxsize=256,
                               blockysize=256, compress="deflate", BIGTIFF="IF_SAFER")
                if count >= 3 and src.dtypes[0] == "uint8":
                    profile["photometric"] = "RGB"
                with rasterio.open(tmp, "w", **profile) as ovr:
                    if not paletted:
                        ovr.colorinterp = src.colorinterp
                    for i in range(n_strips):
                        progress(80.0 * i / n_strips)
                        row = i * strip_rows
                        rows = min(strip_rows, level_h - row)
                        src_rows = min(2 * rows, height - 2 * row)
                        data = src.read(window=Window(0, 2 * row, width, src_rows),
                                        out_shape=(count, rows, level_w), resampling=method)
                        ovr.write(data, window=Window(0, row, level_w, rows))
            progress(80.0)
            if len(factors) > 1:  # further levels, relative to the first level
                with rasterio.open(tmp, "r+") as ovr:
                    ovr.build_overviews([f // 2 for f in factors[1:]], method)
            progress(100.0)
        os.replace(tmp, target)
    except CanceledError:
        _remove(tmp)
        raise
    except GisDeskError:
        _remove(tmp)
        raise
    except (OSError, RasterioError) as exc:
        _remove(tmp)
        raise WriterError("Could not write the overview file", path=target,
                          hint="the folder must be writable with room for about a third of the "
                               "raster's size; copy the raster to a writable folder if it is read-only",
                          details=str(exc)) from exc
    return target


def _remove(path: Path) -> None:
    for p in (path, Path(str(path) + ".aux.xml")):
        try:
            p.unlink()
        except FileNotFoundError:
            pass
