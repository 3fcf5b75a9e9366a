"""Rasters: windowed reads with known values (full, reduced, outside), masks, overviews,
default styles, the real ODM orthophoto and DSM, and bad rasters."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from gis_desk.core.crs import crs_id
from gis_desk.errors import CorruptFileError, MissingCrsError, MissingFileError
from gis_desk.io.raster import RasterioDataset, read_raster


def _rgb(rows=30, cols=40) -> np.ndarray:
    r, c = np.mgrid[0:rows, 0:cols]
    return np.stack([c * 5, r * 5, np.full_like(r, 77)]).astype("uint8")


def test_rgb_byte_full_resolution_and_style(tmp_path, write_tif):
    data = _rgb()
    path = write_tif(tmp_path / "rgb.tif", data, photometric="RGB")
    [ds] = read_raster(path)
    assert (ds.width, ds.height, ds.count) == (40, 30, 3)
    assert ds.bounds == (377000.0, 392940.0, 377080.0, 393000.0)
    assert crs_id(ds.crs) == "EPSG:27700"
    out = ds.read_window(ds.bounds, 40, 30)
    assert isinstance(out, np.ma.MaskedArray) and out.shape == (3, 30, 40) and out.dtype == np.uint8
    assert not out.mask.any()
    assert np.array_equal(out.data, data)
    style = ds.default_style()
    assert style.mode == "rgb" and style.bands == (1, 2, 3)
    # one band, a sub-window
    sub = ds.read_window((377010, 392980, 377020, 392990), 5, 5, bands=[2])
    assert np.array_equal(sub.data[0], data[1, 5:10, 5:10])


def test_float_nodata_full_reduced_and_partly_outside(float_dem):
    path, values = float_dem
    [ds] = read_raster(path)
    assert ds.nodata == [-9999.0]
    full = ds.read_window(ds.bounds, 80, 60)
    assert full.mask[0, :5, :5].all() and full.mask.sum() == 25  # nodata is masked
    assert np.array_equal(full.data[0, 5:, 5:], values[5:, 5:])
    half = ds.read_window(ds.bounds, 40, 30)  # nearest: the pixel under each output centre
    assert np.array_equal(half[0].filled(-1)[3:, 3:], values[1::2, 1::2][3:, 3:])
    # 10 pixels (20 m) beyond the left edge and 6 below the bottom: masked there
    xmin, ymin, xmax, ymax = ds.bounds
    out = ds.read_window((xmin - 20, ymin - 12, xmax - 20, ymax - 12), 80, 60)
    assert out.mask[0, :, :10].all() and out.mask[0, -6:, :].all()
    assert np.array_equal(out.data[0, 6:-6, 10:], values[12:, :70])
    assert np.isnan(out.data[0, 0, 0])  # float cells outside hold NaN as well as the mask
    # fully outside
    assert ds.read_window((0, 0, 10, 10), 4, 4).mask.all()
    style = ds.default_style()
    assert style.mode == "singleband" and style.vmin == [1005.0] and style.vmax == [1000 + 59 * 100 + 79]


def test_average_resampling(float_dem):
    path, values = float_dem
    [ds] = read_raster(path)
    xmin, ymin, xmax, ymax = ds.bounds
    out = ds.read_window((xmin + 20, ymin, xmax, ymax - 20), 35, 25, resampling="average")
    expected = values[10:, 10:].reshape(25, 2, 35, 2).mean(axis=(1, 3))
    assert np.allclose(out.data[0], expected)
    with pytest.raises(ValueError):
        ds.read_window(ds.bounds, 10, 10, resampling="magic")


def test_reads_come_from_the_overview(tmp_path, write_tif):
    """The base holds 1 everywhere and its .ovr holds 200: which one a read returns shows
    whether GDAL used the overview."""
    path = write_tif(tmp_path / "base.tif", np.ones((512, 512), "uint8"), tiled=True)
    write_tif(tmp_path / "base.tif.ovr", np.full((256, 256), 200, "uint8"), crs=None, tiled=True)
    [ds] = read_raster(path)
    assert ds.overview_factors == [2]
    assert (ds.read_window(ds.bounds, 512, 512) == 1).all()
    assert (ds.read_window(ds.bounds, 256, 256) == 200).all()
    assert (ds.read_window(ds.bounds, 100, 100) == 200).all()  # still the overview, then resampled
    assert (ds.read_overview(0) == 200).all()
    with pytest.raises(IndexError):
        ds.read_overview(1)


def test_paletted(tmp_path, write_tif):
    classes = np.arange(60, dtype="uint8").reshape(6, 10) % 3
    cmap = {0: (255, 0, 0, 255), 1: (0, 255, 0, 255), 2: (0, 0, 255, 255)}
    path = write_tif(tmp_path / "classes.tif", classes, colormap=cmap, photometric="palette")
    [ds] = read_raster(path)
    assert ds.colorinterp == ["palette"]
    assert ds.colormap[1] == (0, 255, 0, 255)
    assert ds.default_style().mode == "paletted"
    assert np.array_equal(ds.read_window(ds.bounds, 10, 6).data[0], classes)


def test_alpha_and_internal_masks(tmp_path, write_tif):
    import rasterio

    rgba = np.concatenate([_rgb(), np.full((1, 30, 40), 255, "uint8")])
    rgba[3, :, :20] = 0  # left half transparent
    path = write_tif(tmp_path / "rgba.tif", rgba, photometric="RGB", alpha="yes")
    [ds] = read_raster(path)
    out = ds.read_window(ds.bounds, 40, 30, bands=[1, 2, 3])
    assert out.mask[:, :, :20].all() and not out.mask[:, :, 20:].any()
    assert ds.default_style().bands == (1, 2, 3)

    masked = tmp_path / "masked.tif"
    write_tif(masked, _rgb(), photometric="RGB")
    with rasterio.Env(GDAL_TIFF_INTERNAL_MASK=True):
        with rasterio.open(masked, "r+") as dst:
            m = np.full((30, 40), 255, "uint8")
            m[:10] = 0
            dst.write_mask(m)
    [ds] = read_raster(masked)
    out = ds.read_window(ds.bounds, 40, 30)
    assert out.mask[:, :10].all() and not out.mask[:, 10:].any()


def test_concurrent_reads_from_worker_threads(float_dem):
    path, values = float_dem
    [ds] = read_raster(path)
    xmin, ymin, xmax, ymax = ds.bounds
    windows = [(xmin + i * 4, ymin, xmin + i * 4 + 40, ymin + 40) for i in range(16)]
    expected = [ds.read_window(w, 20, 20).filled(-1) for w in windows]
    results: dict[int, np.ndarray] = {}
    errors = []

    def work(k):
        try:
            for _ in range(20):
                for i, w in enumerate(windows):
                    got = ds.read_window(w, 20, 20).filled(-1)
                    if not np.array_equal(got, expected[i]):
                        results[k] = got
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and not results
    assert len(ds._handles) >= 2  # one GDAL handle per thread
    ds.close()
    assert ds.read_window(windows[0], 20, 20).filled(-1).tolist() == expected[0].tolist()  # reopens


def test_real_orthophoto(orthophoto):
    import rasterio

    [ds] = read_raster(orthophoto)
    assert ds.driver == "GTiff" and crs_id(ds.crs) == "EPSG:32615"
    assert (ds.width, ds.height, ds.count) == (212, 212, 4)
    assert ds.colorinterp == ["red", "green", "blue", "alpha"]
    style = ds.default_style()
    assert style.mode == "rgb" and style.bands == (1, 2, 3)
    out = ds.read_window(ds.bounds, 212, 212, bands=[1, 2, 3])
    with rasterio.open(orthophoto) as src:
        rgb, alpha = src.read([1, 2, 3]), src.read(4)
    assert np.array_equal(out.data[:, alpha > 0], rgb[:, alpha > 0])
    assert np.array_equal(out.mask[0], alpha == 0)
    assert 0 < (alpha == 0).sum() < alpha.size  # the real file has transparent borders
    small = ds.read_window(ds.bounds, 53, 53)  # a quarter resolution read still works
    assert small.shape == (4, 53, 53)


def test_real_dsm(dsm):
    import rasterio

    [ds] = read_raster(dsm)
    assert crs_id(ds.crs) == "EPSG:32651" and ds.dtypes == ["float32"]
    with rasterio.open(dsm) as src:
        values = src.read(1)
    style = ds.default_style()
    assert style.mode == "singleband"
    assert style.vmin[0] == pytest.approx(float(np.nanmin(values)))
    assert style.vmax[0] == pytest.approx(float(np.nanmax(values)))
    out = ds.read_window(ds.bounds, ds.width, ds.height)
    assert np.array_equal(out.mask[0], np.isnan(values))
    info = ds.info()
    assert info["bands"][0]["nodata"] == "nan" and info["overviews"] == []


def test_truncated_geotiff_fails_at_open(tmp_path, write_tif):
    rng = np.random.default_rng(1)
    good = write_tif(tmp_path / "good.tif", rng.integers(0, 255, (3, 512, 512), dtype="uint8"), tiled=True,
                     compress="deflate")
    cut = tmp_path / "cut.tif"
    blob = good.read_bytes()
    cut.write_bytes(blob[: len(blob) // 2])
    with pytest.raises(CorruptFileError) as err:
        read_raster(cut)
    assert str(cut) in str(err.value)
    # a striped (untiled) file cut in half
    striped = write_tif(tmp_path / "striped.tif", rng.random((300, 300)).astype("float32"))
    cut2 = tmp_path / "cut2.tif"
    cut2.write_bytes(striped.read_bytes()[: striped.stat().st_size // 2])
    with pytest.raises(CorruptFileError, match="cut2.tif"):
        read_raster(cut2)


def test_not_a_raster_and_missing_file(tmp_path):
    fake = tmp_path / "notes.tif"
    fake.write_text("this is not a GeoTIFF")
    with pytest.raises(CorruptFileError, match="notes.tif"):
        read_raster(fake)
    with pytest.raises(MissingFileError, match="nowhere.tif"):
        read_raster(tmp_path / "nowhere.tif")


def test_raster_without_crs(tmp_path, write_tif):
    path = write_tif(tmp_path / "nocrs.tif", np.zeros((10, 10), "uint8"), crs=None)
    with pytest.raises(MissingCrsError) as err:
        read_raster(path)
    assert str(path) in str(err.value) and "--crs" in str(err.value)
    [ds] = read_raster(path, crs="EPSG:27700")
    assert crs_id(ds.crs) == "EPSG:27700" and ds.source.options == {"crs": "EPSG:27700"}
    [kept] = read_raster(write_tif(tmp_path / "bng.tif", np.zeros((4, 4), "uint8")), crs="EPSG:4326")
    assert crs_id(kept.crs) == "EPSG:27700" and kept.source.options == {}


def test_session_opens_raster_layer(session, float_dem):
    from gis_desk.core.layer import RasterLayer

    path, _ = float_dem
    [layer] = session.open(path)
    assert isinstance(layer, RasterLayer) and isinstance(layer.dataset, RasterioDataset)
    assert layer.style.mode == "singleband"
    assert layer.dataset.source.reader == "builtins.read_raster"
