"""Helpers for the file-reader tests: synthetic data with known ground truth."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest

_TRAFFORD_ASSETS = ("uk_trafford/council_open_data/transparency_code/local_authority_land/"
                   "trafford_land_and_building_assets.csv")
_TRAFFORD_LSOA = "uk_boundaries/UK-GeoJSON/lsoa11_E08000009_Trafford.geojson"
_ORTHOPHOTO = "odm_outputs/webodm_fixtures/orthophoto.tif"
_DSM = "odm_outputs/orthority/odm/odm_dem/dsm.tif"


def _write_tif(path: Path, array: np.ndarray, *, origin=(377000.0, 393000.0), pixel=2.0, crs="EPSG:27700",
              nodata=None, colormap=None, photometric=None, tiled=False, **profile) -> Path:
    """Write ``array`` (bands, rows, cols) or (rows, cols) as a GeoTIFF whose top-left corner is
    ``origin`` and pixels ``pixel`` CRS units wide; ``crs=None`` writes no CRS."""
    import rasterio
    from rasterio.errors import NotGeoreferencedWarning
    from affine import Affine

    array = array[None] if array.ndim == 2 else array
    kw = dict(driver="GTiff", width=array.shape[2], height=array.shape[1], count=array.shape[0],
              dtype=array.dtype, transform=Affine(pixel, 0.0, origin[0], 0.0, -pixel, origin[1]), nodata=nodata)
    if crs is not None:
        kw["crs"] = crs
    if photometric:
        kw["photometric"] = photometric
    if tiled:
        kw.update(tiled=True, blockxsize=256, blockysize=256)
    kw.update(profile)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NotGeoreferencedWarning)
        with rasterio.open(path, "w", **kw) as ds:
            ds.write(array)
            if colormap:
                ds.write_colormap(1, colormap)
    return path


@pytest.fixture
def write_tif():
    """``write_tif(path, array, origin=(x, y), pixel=2.0, crs='EPSG:27700', nodata=None,
    colormap=None, photometric=None, tiled=False, **profile)`` writes a GeoTIFF."""
    return _write_tif


@pytest.fixture
def trafford_lonlat() -> tuple[float, float, float, float]:
    """Trafford's extent in WGS84, a little generous (lon min, lat min, lon max, lat max)."""
    return (-2.49, 53.35, -2.24, 53.49)


@pytest.fixture
def trafford_assets(real_data) -> Path:
    return real_data / _TRAFFORD_ASSETS


@pytest.fixture
def trafford_lsoa(real_data) -> Path:
    return real_data / _TRAFFORD_LSOA


@pytest.fixture
def orthophoto(real_data) -> Path:
    return real_data / _ORTHOPHOTO


@pytest.fixture
def dsm(real_data) -> Path:
    return real_data / _DSM


@pytest.fixture
def float_dem(tmp_path) -> tuple[Path, np.ndarray]:
    """60 x 80 float32 DSM, value = 1000 + row * 100 + col, nodata -9999 in a 5 x 5 corner."""
    rows, cols = np.mgrid[0:60, 0:80]
    values = (1000 + rows * 100 + cols).astype("float32")
    values[:5, :5] = -9999
    return _write_tif(tmp_path / "dem.tif", values, nodata=-9999), values
