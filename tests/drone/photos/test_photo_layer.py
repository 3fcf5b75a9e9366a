"""Photo folders with damaged files, footprints on flat take-off ground or a DTM, identify on a
camera point or a footprint, and the photo layer in a saved project."""

from __future__ import annotations

import math

import numpy as np
import pytest

from gis_desk.core.crs import transform_xy
from gis_desk.errors import CorruptFileError
from gis_desk.io.photos import read_photo_metadata, read_photos, write_dji_jpeg

E, N = 378200.0, 394000.0
W, H = 64, 48
HFOV = 60.0
FPX = (W / 2) / math.tan(math.radians(HFOV / 2))
VFOV = math.degrees(2 * math.atan((H / 2) / FPX))


def photo(path, x=E, y=N, *, rel=100.0, abs_alt=131.0, yaw=0.0, pitch=-90.0):
    lon, lat = transform_xy("EPSG:27700", "EPSG:4326", x, y)
    rgb = (np.arange(W * H * 3) % 251).astype(np.uint8).reshape(H, W, 3)
    return write_dji_jpeg(path, rgb, lat=float(lat), lon=float(lon), abs_alt=abs_alt, rel_alt=rel, gimbal_yaw=yaw,
                          gimbal_pitch=pitch, calibrated_focal_px=FPX, model="FC6310")


def nadir_area(height):
    return 4 * height ** 2 * math.tan(math.radians(HFOV / 2)) * math.tan(math.radians(VFOV / 2))


def test_damaged_files_are_listed_and_the_rest_loads(tmp_path):
    good = photo(tmp_path / "a_good.jpg")
    raw = good.read_bytes()
    (tmp_path / "b_cut_body.jpg").write_bytes(raw[: len(raw) - 200])   # picture cut short, header intact
    (tmp_path / "c_cut_header.jpg").write_bytes(raw[:300])              # cut inside the EXIF
    (tmp_path / "d_empty.jpg").write_bytes(b"")
    (tmp_path / "e_text.jpg").write_text("not a photo")
    ds = read_photos(tmp_path)[0]
    assert list(ds.frame["name"]) == ["a_good.jpg", "b_cut_body.jpg"]
    assert ds.footprints.notna().all()
    assert not isinstance(ds.frame["problems"].iloc[0], str)  # no problem: None / NaN
    assert "truncated" in ds.frame["problems"].iloc[1] and any("b_cut_body.jpg" in n for n in ds.notes)
    why = {p.split("/")[-1]: reason for p, reason in ds.unplaced}
    assert set(why) == {"c_cut_header.jpg", "d_empty.jpg", "e_text.jpg"}
    assert "truncated or damaged" in why["c_cut_header.jpg"] and "300 bytes" in why["c_cut_header.jpg"]
    assert why["d_empty.jpg"] == "The photo is empty (0 bytes)"
    assert "not an image" in why["e_text.jpg"]
    assert ds.info()["unplaced"] == 3
    # a single damaged file read alone raises the typed error, naming the file
    with pytest.raises(CorruptFileError) as err:
        read_photos(tmp_path / "c_cut_header.jpg")
    assert err.value.path.endswith("c_cut_header.jpg") and err.value.hint
    with pytest.raises(CorruptFileError, match="empty"):
        read_photo_metadata(tmp_path / "d_empty.jpg")


def test_flat_ground_at_takeoff_height(tmp_path):
    photo(tmp_path / "p.jpg", rel=100.0, abs_alt=131.0)
    ds = read_photos(tmp_path)[0]
    assert ds.frame["takeoff_z"].iloc[0] == pytest.approx(31.0)
    assert ds.frame["camera_z"].iloc[0] == pytest.approx(100.0)  # above the take-off plane
    assert ds.footprints.iloc[0].area == pytest.approx(nadir_area(100.0), rel=1e-6)
    # the same ground stated as a height in the altitude datum: camera at AbsoluteAltitude
    ds2 = read_photos(tmp_path, ground=31.0)[0]
    assert ds2.frame["camera_z"].iloc[0] == pytest.approx(131.0)
    assert ds2.footprints.iloc[0].area == pytest.approx(nadir_area(100.0), rel=1e-6)
    # ground 20 m higher than take-off (e.g. a roof level): the camera sees less
    ds3 = read_photos(tmp_path, ground=51.0)[0]
    assert ds3.footprints.iloc[0].area == pytest.approx(nadir_area(80.0), rel=1e-6)


def _dtm(path, height_fn):
    import rasterio
    from rasterio.transform import from_origin

    x0, y0, cell, n = E - 400, N + 400, 2.0, 400
    cols, rows = np.meshgrid(np.arange(n) + 0.5, np.arange(n) + 0.5)
    z = height_fn(x0 + cols * cell, y0 - rows * cell).astype("float32")
    with rasterio.open(path, "w", driver="GTiff", width=n, height=n, count=1, dtype="float32", crs="EPSG:27700",
                       transform=from_origin(x0, y0, cell, cell)) as ds:
        ds.write(z, 1)
    return path


def test_footprints_on_a_dtm(tmp_path):
    photos = tmp_path / "photos"
    photos.mkdir()
    photo(photos / "p.jpg", rel=100.0, abs_alt=131.0)
    # flat DTM 21 m: take-off (131 - 100 = 31) plausible, camera at 131 -> 110 m above this ground
    flat = _dtm(tmp_path / "flat_dtm.tif", lambda x, y: x * 0 + 21.0)
    ds = read_photos(photos, ground=flat)[0]
    assert ds.frame["camera_z"].iloc[0] == pytest.approx(131.0)
    assert ds.footprints.iloc[0].area == pytest.approx(nadir_area(110.0), rel=0.01)
    assert ds.frame["footprint"].iloc[0].startswith("terrain flat_dtm.tif")
    # ground rising to the north: the north edge of the footprint is nearer the camera
    slope = _dtm(tmp_path / "slope_dtm.tif", lambda x, y: 31.0 + 0.5 * (y - N))
    fp = read_photos(photos, ground=slope)[0].footprints.iloc[0]
    xs, ys = np.asarray(fp.exterior.coords).T
    north, south = ys.max() - N, N - ys.min()
    assert north < south
    # the north edge's ground height is on the DTM: tan(vfov/2) * (100 - rise) = reach
    assert north == pytest.approx(math.tan(math.radians(VFOV / 2)) * (100 - 0.5 * north), rel=0.02)
    # a wrong absolute altitude (-500, as some DJI models write): the camera goes rel_alt above the terrain
    photo(photos / "p.jpg", rel=100.0, abs_alt=-500.0)
    ds = read_photos(photos, ground=flat)[0]
    assert ds.frame["camera_z"].iloc[0] == pytest.approx(121.0) and ds.notes


def test_identify_camera_point_and_footprint(session, tmp_path):
    from gis_desk.analysis.identify import identify

    photo(tmp_path / "north.jpg", E, N + 300, rel=60.0, abs_alt=91.0)
    photo(tmp_path / "oblique.jpg", E, N, rel=60.0, abs_alt=91.0, yaw=90.0, pitch=-45.0)
    [layer] = session.open(tmp_path, reader="builtins.read_photos")
    assert layer.kind == "photos"
    hits = identify(session.project, E + 0.3, N, tolerance=1.0)
    assert hits[0].attributes["hit"] == "camera" and hits[0].attributes["name"] == "oblique.jpg"
    assert hits[0].attributes["path"] == str((tmp_path / "oblique.jpg").resolve())
    # 60 m east of the oblique camera is the middle of what it sees (pitch -45 from 60 m)
    hits = identify(session.project, E + 60.0, N, tolerance=1.0)
    assert [(h.attributes["name"], h.attributes["hit"]) for h in hits] == [("oblique.jpg", "footprint")]
    assert hits[0].feature_id == list(layer.dataset.frame["name"]).index("oblique.jpg")
    assert identify(session.project, E - 200.0, N - 200.0, tolerance=1.0) == []


def test_photo_layer_in_a_saved_project(session, tmp_path):
    photos = tmp_path / "photos"
    photos.mkdir()
    photo(photos / "a.jpg")
    photo(photos / "b.jpg", E + 50)
    (photos / "broken.jpg").write_bytes(b"\xff\xd8\xff" + b"\x00" * 10)
    [layer] = session.open(photos, reader="builtins.read_photos")
    path = session.save(tmp_path / "site.gdesk")
    from gis_desk.session import Session

    other = Session()
    other.load(path)
    [back] = other.project.layers
    assert back.kind == "photos" and len(back.dataset.frame) == 2 and len(back.dataset.unplaced) == 1
    assert back.dataset.footprints.iloc[1].equals_exact(layer.dataset.footprints.iloc[1], 1e-6)
