"""OpenDroneMap project folders and WebODM task zips: what is found, what is missing, layers."""

from __future__ import annotations

import json
import zipfile

import numpy as np
import pytest

from gis_desk.errors import CorruptFileError, DataError, MissingFileError
from gis_desk.io.odm import extract_zip, inspect_odm_project, read_odm_project

E0, N0 = 378100.0, 394100.0  # BNG, Trafford


@pytest.fixture(autouse=True)
def _cache(tmp_path, monkeypatch):
    monkeypatch.setenv("GIS_DESK_CACHE_DIR", str(tmp_path / "cache"))


def write_raster(path, bands=1, value=None):
    import rasterio
    from rasterio.transform import from_origin

    path.parent.mkdir(parents=True, exist_ok=True)
    yy, xx = np.mgrid[0:20, 0:30]
    data = np.stack([(value if value is not None else 30.0 + 0.1 * xx + 0.05 * yy)] * bands).astype("float32")
    if np.ndim(data) == 1:
        data = np.full((bands, 20, 30), value, "float32")
    with rasterio.open(path, "w", driver="GTiff", width=30, height=20, count=bands, dtype="float32",
                       crs="EPSG:27700", transform=from_origin(E0, N0, 1.0, 1.0)) as ds:
        ds.write(data)


def write_laz(path):
    import laspy

    path.parent.mkdir(parents=True, exist_ok=True)
    header = laspy.LasHeader(point_format=3, version="1.4")
    header.offsets = [E0, N0 - 20, 0]
    header.scales = [0.01, 0.01, 0.01]
    header.add_crs(__import__("pyproj").CRS("EPSG:27700"))
    las = laspy.LasData(header)
    rng = np.random.default_rng(1)
    las.x = E0 + rng.uniform(0, 30, 100)
    las.y = N0 - rng.uniform(0, 20, 100)
    las.z = rng.uniform(30, 35, 100)
    las.write(str(path))


def write_shots(path):
    from gis_desk.core.crs import transform_xy

    lon, lat = transform_xy("EPSG:27700", "EPSG:4326", np.array([E0 + 5, E0 + 15]), np.array([N0 - 5, N0 - 10]))
    feats = [{"type": "Feature", "geometry": {"type": "Point", "coordinates": [float(lo), float(la), 80.0 + i]},
              "properties": {"filename": f"DJI_000{i}.JPG", "focal": 0.85}} for i, (lo, la) in enumerate(zip(lon, lat))]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"type": "FeatureCollection", "features": feats}))


def make_project(root, dtm=True):
    write_raster(root / "odm_orthophoto" / "odm_orthophoto.tif", bands=3, value=100.0)
    write_raster(root / "odm_dem" / "dsm.tif")
    if dtm:
        write_raster(root / "odm_dem" / "dtm.tif", value=30.0)
    write_laz(root / "odm_georeferencing" / "odm_georeferenced_model.laz")
    write_shots(root / "odm_report" / "shots.geojson")
    (root / "odm_report" / "report.pdf").write_bytes(b"%PDF-1.4\n%%EOF\n")
    return root


def zip_folder(folder, zpath, prefix=""):
    with zipfile.ZipFile(zpath, "w") as zf:
        for f in sorted(folder.rglob("*")):
            if f.is_file():
                zf.write(f, prefix + f.relative_to(folder).as_posix())
    return zpath


def test_full_folder_found_and_read(tmp_path):
    root = make_project(tmp_path / "proj")
    p = inspect_odm_project(root)
    assert set(p.found) == {"orthophoto", "dsm", "dtm", "point_cloud", "shots", "report"}
    assert p.missing == [] and p.usable and not p.is_zip
    ds = read_odm_project(root)
    kinds = [type(d).__name__ for d in ds]
    assert kinds == ["RasterioDataset", "RasterioDataset", "RasterioDataset", "PointCloudDataset", "VectorDataset"]
    assert [d.source.options["odm_part"] for d in ds] == ["orthophoto", "dsm", "dtm", "point_cloud", "shots"]
    shots = ds[-1]
    # elevation models open shaded by their relief; the orthophoto stays RGB
    assert ds[1].default_style().hillshade == "blend" and ds[2].default_style().hillshade == "blend"
    assert ds[0].default_style().hillshade == "off"
    assert list(shots.frame["filename"]) == ["DJI_0000.JPG", "DJI_0001.JPG"]
    assert list(shots.frame["z"]) == [80.0, 81.0]
    # the camera positions come back where they were written (WGS84 -> BNG)
    from gis_desk.core.crs import transform_xy

    x, y = transform_xy(shots.crs, "EPSG:27700", shots.frame.geometry.x.values, shots.frame.geometry.y.values)
    assert np.allclose(x, [E0 + 5, E0 + 15], atol=0.01) and np.allclose(y, [N0 - 5, N0 - 10], atol=0.01)


def test_missing_parts_are_named(tmp_path):
    root = make_project(tmp_path / "proj", dtm=False)
    (root / "odm_report" / "report.pdf").unlink()
    p = inspect_odm_project(root)
    assert "dtm" not in p.found and "report" not in p.found
    assert any(m.startswith("Terrain model (DTM)") and "--dtm" in m for m in p.missing)
    assert any(m.startswith("Processing report") for m in p.missing)
    assert len(read_odm_project(root)) == 4


def test_not_a_project(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "notes.txt").write_text("hello")
    p = inspect_odm_project(empty)
    assert not p.usable and len(p.missing) == 6 and "OpenDroneMap" in p.notes[-1]
    with pytest.raises(DataError, match="No OpenDroneMap outputs"):
        read_odm_project(empty)
    with pytest.raises(MissingFileError):
        inspect_odm_project(tmp_path / "nope")
    txt = tmp_path / "x.txt"
    txt.write_text("not a zip")
    with pytest.raises(DataError, match="neither"):
        inspect_odm_project(txt)


def test_task_zip_with_top_folder_extracted_once(tmp_path):
    src = make_project(tmp_path / "proj")
    z = zip_folder(src, tmp_path / "all.zip", prefix="my-task/")
    p = inspect_odm_project(z)
    assert p.is_zip and p.found["dsm"].as_posix() == "my-task/odm_dem/dsm.tif" and p.missing == []
    ds = read_odm_project(z)
    assert len(ds) == 5
    cache = tmp_path / "cache" / "odm"
    assert all(str(d.source.path).startswith(str(cache)) for d in ds)
    dsm = next(d for d in ds if d.source.options["odm_part"] == "dsm")
    stamp = (cache.glob("*/my-task/odm_dem/dsm.tif").__next__()).stat().st_mtime_ns
    again = read_odm_project(z)  # the cached extraction is reused, not redone
    assert (cache.glob("*/my-task/odm_dem/dsm.tif").__next__()).stat().st_mtime_ns == stamp
    assert again[1].source.path == dsm.source.path
    # a saved project reopens the extracted file alone through the same reader
    re = read_odm_project(dsm.source.path, **dsm.source.options)
    assert len(re) == 1 and re[0].source.options["odm_part"] == "dsm"


def test_webodm_short_asset_names_zip(tmp_path):
    flat = tmp_path / "flat"
    write_raster(flat / "orthophoto.tif", bands=3, value=50.0)
    write_raster(flat / "dsm.tif")
    write_laz(flat / "georeferenced_model.laz")
    z = zip_folder(flat, tmp_path / "assets.zip")
    p = inspect_odm_project(z)
    assert set(p.found) == {"orthophoto", "dsm", "point_cloud"}
    assert [d.source.options["odm_part"] for d in read_odm_project(z)] == ["orthophoto", "dsm", "point_cloud"]


def test_bad_zips(tmp_path):
    broken = tmp_path / "broken.zip"
    good = zip_folder(make_project(tmp_path / "proj"), tmp_path / "good.zip")
    data = good.read_bytes()
    broken.write_bytes(data[: len(data) // 2])  # the central directory is gone
    with pytest.raises(CorruptFileError, match="damaged or incomplete"):
        inspect_odm_project(broken)
    # a zip whose member data is damaged: listing works, extraction fails with a typed error
    damaged = tmp_path / "damaged.zip"
    with zipfile.ZipFile(damaged, "w", compression=zipfile.ZIP_STORED) as zf:
        zf.writestr("odm_dem/dsm.tif", b"x" * 50000)
    raw = bytearray(damaged.read_bytes())
    raw[1000:1200] = b"\xff" * 200  # inside the stored data: the CRC check fails
    damaged.write_bytes(bytes(raw))
    with pytest.raises(CorruptFileError, match="damaged"):
        read_odm_project(damaged)
    assert not any((tmp_path / "cache" / "odm").glob("damaged-*/.complete"))


def test_zip_slip_is_refused(tmp_path):
    z = tmp_path / "evil.zip"
    with zipfile.ZipFile(z, "w") as zf:
        zf.writestr("../../odm_dem/dsm.tif", b"nope")
    p = inspect_odm_project(z)
    with pytest.raises(CorruptFileError, match="unsafe"):
        extract_zip(p)
    assert not (tmp_path / "odm_dem").exists()


def test_real_orthority_odm_folder(real_data):
    root = real_data / "odm_outputs" / "orthority" / "odm"
    p = inspect_odm_project(root)
    assert set(p.found) == {"dsm", "photos"}
    assert any("4 source photo(s)" in n for n in p.notes) and any("reconstruction.json" in n for n in p.notes)
    ds = read_odm_project(root)
    assert [d.source.options["odm_part"] for d in ds] == ["dsm", "photos"]
    photos = ds[1]
    # photos are placed in the DSM's CRS (UTM 51N), with footprints (gimbal attitude in the XMP)
    assert photos.crs.to_epsg() == 32651 and len(photos.frame) == 4 and photos.footprints.notna().all()
    dsm_bounds = ds[0].bounds
    cx, cy = photos.frame.geometry.x.mean(), photos.frame.geometry.y.mean()
    assert dsm_bounds[0] - 500 < cx < dsm_bounds[2] + 500 and dsm_bounds[1] - 500 < cy < dsm_bounds[3] + 500


def test_real_webodm_fixture_folder(real_data):
    p = inspect_odm_project(real_data / "odm_outputs" / "webodm_fixtures")
    assert set(p.found) == {"orthophoto"} and len(p.missing) == 5
    ds = read_odm_project(real_data / "odm_outputs" / "webodm_fixtures")
    assert len(ds) == 1 and ds[0].source.options["odm_part"] == "orthophoto"


def test_odm_layers_in_a_saved_project(session, tmp_path):
    try:
        session.plugins.command("builtins.read_odm")
    except Exception:  # noqa: BLE001
        pytest.skip("builtins.read_odm is not declared in gis_desk/builtins/gis_desk.yaml yet")
    z = zip_folder(make_project(tmp_path / "proj"), tmp_path / "all.zip")
    layers = session.open(z, reader="builtins.read_odm")
    assert [layer.kind for layer in layers][:3] == ["raster", "raster", "raster"] and len(layers) == 5
    assert layers[1].style.hillshade == "blend"
    path = session.save(tmp_path / "odm.gdesk")
    from gis_desk.session import Session

    other = Session()
    other.load(path)
    back = other.project.layers
    assert len(back) == 5 and not any(layer.is_broken for layer in back)
    assert [layer.dataset.source.options["odm_part"] for layer in back] == ["orthophoto", "dsm", "dtm",
                                                                             "point_cloud", "shots"]
    assert back[1].style.hillshade == "blend"
