"""The shipped sample photos (sample_surveys/drone/photos): placed over the application site,
the GPS-less one listed, and each photo's pixels match the view its metadata describes."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest

from gis_desk.io.photos import read_photo_metadata, read_photos

ROOT = Path(__file__).resolve().parents[3] / "sample_surveys"
PHOTOS = ROOT / "drone" / "photos"
ORTHO = ROOT / "drone" / "site_ortho.tif"

pytestmark = pytest.mark.skipif(not PHOTOS.is_dir() or not ORTHO.exists(),
                                reason="sample photos not built (sample_surveys/make_drone_photos.py)")


def _module(name):
    spec = importlib.util.spec_from_file_location(name, ROOT / f"{name}.py")
    mod = importlib.util.module_from_spec(spec)
    sys.modules.setdefault(name, mod)
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope="module")
def gen():
    return _module("make_drone_photos")


def test_folder_placed_over_the_application_site(gen):
    import shapely

    ds = read_photos(PHOTOS)[0]
    site = gen.site.SITE
    app = shapely.box(*site["application_site"])
    assert len(ds.frame) == 7 and [Path(p).name for p, _ in ds.unplaced] == ["DJI_0108.JPG"]
    assert ds.unplaced[0][1] == "no GPS position in the photo"
    assert ds.footprints.notna().all() and ds.crs.to_epsg() == 27700
    for name, poly in zip(ds.frame["name"], ds.footprints):
        assert poly.intersects(app), name
    # camera positions within 1 cm of where the generator put them (EXIF DMS to 1e-4 s)
    by_name = ds.frame.set_index("name")
    for name, lx, ly, rel, yaw, pitch, has_gps in gen.SHOTS:
        if not has_gps:
            continue
        row = by_name.loc[name]
        assert row.geometry.x == pytest.approx(site["bounds"][0] + lx, abs=0.01)
        assert row.geometry.y == pytest.approx(site["bounds"][1] + ly, abs=0.01)
        assert (row["rel_alt"], row["yaw"], row["pitch"]) == (pytest.approx(rel), pytest.approx(yaw), pytest.approx(pitch))
    # the nadir photos: 2 x 50 x tan(fov / 2) on each side, centred under the camera
    hfov, vfov = gen.camera_fov()
    fp = ds.footprints.iloc[2]
    assert fp.area == pytest.approx(4 * 50 ** 2 * np.tan(np.radians(hfov / 2)) * np.tan(np.radians(vfov / 2)), rel=1e-3)
    assert fp.centroid.distance(ds.frame.geometry.iloc[2]) < 0.01
    total = sum(p.stat().st_size for p in PHOTOS.glob("*.JPG"))
    assert 6 <= len(list(PHOTOS.glob("*.JPG"))) <= 10 and total <= 1_500_000


def test_metadata_is_dji_style(gen):
    m = read_photo_metadata(PHOTOS / "DJI_0106.JPG")
    assert m.make == "DJI" and m.model == gen.MODEL and (m.width, m.height) == (800, 600)
    assert m.abs_alt == pytest.approx(gen.site.GROUND_Z + 55.0) and m.rel_alt == pytest.approx(55.0)
    assert m.gps_alt == pytest.approx(gen.site.GROUND_Z + 55.0) and m.focal_35mm == 24
    assert m.xmp["GimbalPitchDegree"] == "-40.00" and m.calibrated_focal_px == pytest.approx(400 / np.tan(np.radians(gen.camera_fov()[0] / 2)), abs=1e-5)
    lost = read_photo_metadata(PHOTOS / "DJI_0108.JPG")
    assert lost.lat is None and lost.gimbal_pitch == -90.0 and lost.rel_alt == 50.0


@pytest.mark.parametrize("name", ["DJI_0103.JPG", "DJI_0106.JPG", "DJI_0107.JPG"])
def test_pixels_match_the_described_view(gen, name):
    """Sample the ortho where GIS Desk's own camera model says each pixel looks: the photo
    must match (a wrong yaw, pitch, FOV or position would not)."""
    import rasterio
    from PIL import Image

    from gis_desk.analysis.footprint import image_rays

    ds = read_photos(PHOTOS)[0]
    row = ds.frame.set_index("name").loc[name]
    img = np.asarray(Image.open(PHOTOS / name).convert("L"), float)
    cols, rows = np.meshgrid(np.arange(20, 800, 40) + 0.5, np.arange(15, 600, 30) + 0.5)
    u, v = (cols / 800) * 2 - 1, 1 - (rows / 600) * 2
    rays = image_rays(row["yaw"], row["pitch"], 0.0, row["hfov"], row["vfov"], u.ravel(), v.ravel())[0]
    t = row["camera_z"] / -rays[:, 2]
    gx, gy = row.geometry.x + t * rays[:, 0], row.geometry.y + t * rays[:, 1]
    with rasterio.open(ORTHO) as src:
        inside = (gx > src.bounds.left + 2) & (gx < src.bounds.right - 2) & (gy > src.bounds.bottom + 2) & (gy < src.bounds.top - 2)
        r, c = rasterio.transform.rowcol(src.transform, gx[inside], gy[inside])
        ortho = src.read(out_dtype="float32").mean(axis=0)
    got = np.array([img[int(rr), int(cc)] for rr, cc in zip(rows.ravel()[inside], cols.ravel()[inside])])
    want = ortho[np.asarray(r), np.asarray(c)]
    assert inside.sum() > 200
    corr = np.corrcoef(got, want)[0, 1]
    assert corr > 0.8, corr
    # and a view turned by 90 degrees does not match
    rays90 = image_rays(row["yaw"] + 90, row["pitch"], 0.0, row["hfov"], row["vfov"], u.ravel(), v.ravel())[0]
    t = row["camera_z"] / -rays90[:, 2]
    gx, gy = row.geometry.x + t * rays90[:, 0], row.geometry.y + t * rays90[:, 1]
    ok = inside & (gx > src.bounds.left + 2) & (gx < src.bounds.right - 2) & (gy > src.bounds.bottom + 2) & (gy < src.bounds.top - 2)
    r90, c90 = rasterio.transform.rowcol(src.transform, gx[ok], gy[ok])
    got90 = np.array([img[int(rr), int(cc)] for rr, cc in zip(rows.ravel()[ok], cols.ravel()[ok])])
    c90_ = np.corrcoef(got90, ortho[np.asarray(r90), np.asarray(c90)])[0, 1]
    assert c90_ < corr - 0.3


def test_generator_is_deterministic(gen, tmp_path):
    paths = gen.make_photos(tmp_path)
    from PIL import Image

    for p in paths:
        a = np.asarray(Image.open(p), np.int16)
        b = np.asarray(Image.open(PHOTOS / p.name), np.int16)
        assert np.abs(a - b).max() <= 2, p.name  # same pixels (JPEG codec versions aside)
        assert read_photo_metadata(p).lat == read_photo_metadata(PHOTOS / p.name).lat
