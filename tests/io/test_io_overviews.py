"""Sidecar overviews: built beside the source without touching it, reported afterwards,
cancellable with nothing left behind."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest

from gis_desk.errors import CanceledError, WriterError
from gis_desk.io.overviews import build_overviews, default_factors, needs_overviews, overview_path
from gis_desk.io.raster import read_raster
from gis_desk.processing.feedback import Feedback


@pytest.fixture(scope="module")
def big_raster(tmp_path_factory):
    """5000 x 5000 single-band uint8 whose 2 x 2 blocks average to a known value."""
    import rasterio
    from affine import Affine

    path = tmp_path_factory.mktemp("big") / "big.tif"
    block = np.arange(5000, dtype=np.uint16) // 16
    data = ((block[:, None] + block[None, :]) % 200).astype("uint8")  # constant over 16 x 16 blocks
    with rasterio.open(path, "w", driver="GTiff", width=5000, height=5000, count=1, dtype="uint8",
                       crs="EPSG:27700", transform=Affine(0.5, 0, 377000, 0, -0.5, 395000),
                       tiled=True, blockxsize=512, blockysize=512, compress="deflate", zlevel=1) as ds:
        ds.write(data, 1)
    return path, data


def _fingerprint(path):
    st = path.stat()
    return hashlib.sha256(path.read_bytes()).hexdigest(), st.st_mtime_ns, st.st_size


def test_build_overviews_leaves_source_unchanged(big_raster, tmp_path):
    path, data = big_raster
    before = _fingerprint(path)
    [ds] = read_raster(path)
    assert needs_overviews(ds)
    ds.close()
    progress = []
    feedback = Feedback(on_progress=progress.append)
    try:
        ovr = build_overviews(path, feedback)
        assert ovr == overview_path(path) and ovr.exists()
        assert _fingerprint(path) == before  # the source is only read
        assert progress[-1] == 100.0 and len(progress) > 3 and progress == sorted(progress)
        [again] = read_raster(path)
        assert again.overview_factors == default_factors(5000, 5000) == [2, 4, 8, 16, 32]
        assert not needs_overviews(again)
        # the overview holds block averages (blocks are constant, so exact) and is used
        quarter = again.read_window(again.bounds, 1250, 1250)
        assert np.array_equal(quarter.data[0], data[::4, ::4])
        tiny = again.read_overview(4)  # 157 x 157
        assert tiny.shape == (1, 157, 157)
        assert abs(float(tiny.mean()) - float(data.mean())) < 1.0
        assert not [p for p in path.parent.iterdir() if p.name.startswith(".")]  # no temp file left
    finally:
        overview_path(path).unlink(missing_ok=True)


def test_cancellation_removes_the_partial_file(big_raster):
    path, _ = big_raster
    before = _fingerprint(path)
    feedback = Feedback()
    feedback._on_progress = lambda pct: feedback.cancel() if pct > 10 else None
    with pytest.raises(CanceledError):
        build_overviews(path, feedback)
    assert not overview_path(path).exists()
    assert not [p for p in path.parent.iterdir() if p.name.startswith(".")]
    assert _fingerprint(path) == before


def test_small_or_already_overviewed_rasters_need_none(tmp_path, write_tif):
    [small] = read_raster(write_tif(tmp_path / "small.tif", np.zeros((100, 100), "uint8")))
    assert not needs_overviews(small)
    path = write_tif(tmp_path / "wide.tif", np.zeros((2, 5000), "uint8"))
    [wide] = read_raster(path)
    assert needs_overviews(wide)
    build_overviews(path, factors=[2, 4])
    [wide] = read_raster(path)
    assert wide.overview_factors == [2, 4]


def test_rgb_and_nodata_overviews(tmp_path, write_tif):
    rgb = np.stack([np.full((600, 800), v, "uint8") for v in (10, 20, 30)])
    path = write_tif(tmp_path / "rgb.tif", rgb, photometric="RGB")
    build_overviews(path)
    [ds] = read_raster(path)
    assert ds.overview_factors == [2, 4]
    assert ds.read_overview(0).data[:, 0, 0].tolist() == [10, 20, 30]
    dem = np.full((400, 400), 5.0, "float32")
    dem[:, :200] = -9999
    path = write_tif(tmp_path / "dem.tif", dem, nodata=-9999)
    build_overviews(path)
    [ds] = read_raster(path)
    ovr = ds.read_overview(0)
    assert ovr.mask[0, :, :100].all() and (ovr[0, :, 100:] == 5.0).all()


def test_bad_factors_and_unwritable_target(tmp_path, write_tif):
    path = write_tif(tmp_path / "a.tif", np.zeros((600, 600), "uint8"))
    with pytest.raises(ValueError):
        build_overviews(path, factors=[3, 9])
    overview_path(path).mkdir()  # the .ovr cannot be written (works even for root, unlike chmod)
    with pytest.raises(WriterError) as err:
        build_overviews(path)
    assert "a.tif.ovr" in str(err.value)
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]
