"""Every real drone photo in the shared data is read with the right position and attitude.

Expected values are the ones stored in the files (EXIF GPS rationals, DJI XMP), converted by
hand; the ODM images are cross-checked against orthority's own table of the same images
(odm_outputs/orthority/io/odm_lla_rpy.csv, which the orthority repository ships for them).
"""

from __future__ import annotations

import csv

import pytest

from gis_desk.io.photos import read_photo_metadata, read_photos


def dms(d, m, s):
    return d + m / 60 + s / 3600


BRIGHTON = {  # file: (lat N, lon W as DMS), gps alt, rel alt, gimbal yaw, gimbal pitch
    "DJI_0018.JPG": ((46, 50, 33.3855), (91, 59, 40.4156), 198.309, 39.80, 45.00, -89.90),
    "DJI_0019.JPG": ((46, 50, 33.6864), (91, 59, 39.9382), 198.609, 40.10, 42.80, -89.90),
    "DJI_0020.JPG": ((46, 50, 33.9993), (91, 59, 39.4778), 198.609, 40.10, 44.20, -89.90),
    "DJI_0021.JPG": ((46, 50, 34.3145), (91, 59, 39.0359), 198.609, 40.10, 45.00, -90.00),
    "DJI_0022.JPG": ((46, 50, 34.6257), (91, 59, 38.5862), 198.509, 40.00, 45.30, -90.00),
    "DJI_0023.JPG": ((46, 50, 34.9370), (91, 59, 38.1230), 198.509, 40.00, 43.80, -89.90),
}


@pytest.mark.parametrize("name", sorted(BRIGHTON))
def test_brighton_beach_phantom3(real_data, name):
    (la, lo, alt, rel, yaw, pitch) = BRIGHTON[name]
    m = read_photo_metadata(real_data / "drone_photos" / "brighton_beach" / name)
    assert m.lat == pytest.approx(dms(*la), abs=1e-9)
    assert m.lon == pytest.approx(-dms(*lo), abs=1e-5)
    assert m.gps_alt == pytest.approx(alt)
    assert m.rel_alt == pytest.approx(rel)
    assert m.gimbal_yaw == pytest.approx(yaw) and m.gimbal_pitch == pytest.approx(pitch)
    assert m.model == "FC300S" and (m.width, m.height) == (4000, 2250)
    assert m.focal_mm == pytest.approx(3.61) and m.focal_35mm == 20


def test_brighton_folder_footprints(real_data):
    ds = read_photos(real_data / "drone_photos" / "brighton_beach", crs="EPSG:32615")[0]
    assert len(ds.frame) == 6 and ds.unplaced == []
    # the flight runs north-east: about 13.6 m between shots (7 s apart), along yaw ~45 deg
    xy = list(zip(ds.frame.geometry.x, ds.frame.geometry.y))
    (x0, y0), (x5, y5) = xy[0], xy[-1]
    assert 65 < ((x5 - x0) ** 2 + (y5 - y0) ** 2) ** 0.5 < 72
    assert x5 > x0 and y5 > y0
    # nadir at ~40 m with the Phantom 3 camera (hfov 81.0 deg, 16:9 still): ~68.6 x 38.6 m
    fp = ds.footprints.iloc[3]
    assert fp.area == pytest.approx(2 * 40.1 * 6.17 / (2 * 3.61) * 2 * 40.1 * 6.17 / (2 * 3.61) * 9 / 16, rel=1e-3)
    assert fp.contains(ds.frame.geometry.iloc[3])
    assert ds.frame["fov_source"].iloc[0] == "camera table: FC300S"


def test_sitemark_exifr_files(real_data):
    d = real_data / "drone_photos" / "sitemark_exifr"
    x3 = read_photo_metadata(d / "DJI_Zenmuse_X3.JPG")
    assert (x3.lat, x3.lon) == (pytest.approx(dms(50, 51, 32.5779)), pytest.approx(dms(4, 40, 43.3816)))
    assert x3.gps_alt == pytest.approx(-116.63)  # GPSAltitudeRef 1: below sea level (a wrong fix, kept as is)
    assert x3.abs_alt == pytest.approx(-116.63) and x3.rel_alt == pytest.approx(29.4)
    assert x3.model == "FC350"

    vis = read_photo_metadata(d / "DJI_Zenmuse_XT2_640_R_13mm.jpg")  # XMP inside the EXIF XMLPacket tag
    assert vis.lat == pytest.approx(dms(39, 55, 3.4927368)) and vis.lon == pytest.approx(-dms(2, 49, 22.7140048))
    assert vis.gps_alt == pytest.approx(881.609) and vis.rel_alt == pytest.approx(34.400002)
    assert vis.gimbal_yaw == pytest.approx(89.300003) and vis.rtk_flag == 0 and not vis.thermal

    tiff = read_photo_metadata(d / "DJI_Zenmuse_XT2_640_R_13mm.tiff")
    assert tiff.lat == pytest.approx(dms(39, 55, 3.493)) and tiff.lon == pytest.approx(-dms(2, 49, 22.714))
    assert tiff.abs_alt == pytest.approx(881.609192) and tiff.gimbal_pitch == pytest.approx(-89.900002)
    assert tiff.thermal["BandName"] == "LWIR" and tiff.thermal["TlinearGain"] == "0.04"
    assert (tiff.width, tiff.height) == (640, 512) and tiff.focal_mm == 13

    flir = read_photo_metadata(d / "001.tif")
    assert flir.lat == pytest.approx(dms(50, 51, 45.3561)) and flir.lon == pytest.approx(dms(4, 40, 21.1517))
    assert flir.gps_alt == pytest.approx(-8.0) and flir.abs_alt == pytest.approx(-8.074252)
    assert flir.rel_alt == pytest.approx(32.099998) and flir.gimbal_yaw == pytest.approx(-115.300003)
    assert flir.thermal["CentralTemperature"] == "1" and flir.time == "2017-11-07T18:56:07.890"

    ds = read_photos(d)[0]
    assert len(ds.frame) == 4 and not ds.unplaced
    assert ds.footprints.notna().all()
    row = ds.frame.set_index("name").loc["DJI_Zenmuse_XT2_640_R_13mm.tiff"]
    assert row["hfov"] == pytest.approx(45.4, abs=0.1) and row["vfov"] == pytest.approx(37.0, abs=0.1)


def test_webodm_fixture_images(real_data):
    d = real_data / "odm_outputs" / "webodm_fixtures"
    a = read_photo_metadata(d / "tiny_drone_image.jpg")
    b = read_photo_metadata(d / "tiny_drone_image_2.jpg")
    assert a.lat == pytest.approx(dms(41, 13, 34.93181999840141)) and a.lon == pytest.approx(-dms(81, 42, 19.803924003476965))
    assert a.gps_alt == pytest.approx(438.18859649122805) and a.model == "Canon PowerShot S110"
    assert b.lat == pytest.approx(41.22654322, abs=1e-8) and b.lon == pytest.approx(-81.70597351, abs=1e-8)
    ms = read_photo_metadata(d / "tiny_drone_image_multispec.tif")
    assert ms.lat == pytest.approx(dms(50, 58, 53.02416)) and ms.lon == pytest.approx(dms(21, 25, 48.03168))
    assert ms.bands["BandName"] == "Blue" and ms.model == "RedEdge-M"
    ds = read_photos(d)[0]
    # placed without attitude (a compact camera, no gimbal record): no footprint, and says why
    assert set(ds.frame["name"]) == {"tiny_drone_image.jpg", "tiny_drone_image_2.jpg", "tiny_drone_image_multispec.tif"}
    assert ds.footprints.isna().all()
    assert set(ds.frame["footprint"]) == {"no camera attitude (gimbal pitch) in the photo"}
    # the orthophoto in the same folder is a raster, listed (not placed) with the reason
    assert [(p.split("/")[-1], why) for p, why in ds.unplaced] == [
        ("orthophoto.tif", "a georeferenced raster (open it as a raster layer), not a photo")]


def test_odm_images_match_orthority_table(real_data):
    d = real_data / "odm_outputs" / "orthority"
    with open(d / "io" / "odm_lla_rpy.csv", newline="") as fh:
        rows = list(csv.DictReader(fh, delimiter=" "))
    assert len(rows) == 4
    for row in rows:
        m = read_photo_metadata(d / "odm" / "images" / row["filename"])
        assert m.lat == pytest.approx(float(row["latitude"]), abs=1e-7)  # EXIF seconds have 4 decimals (3 mm)
        assert m.lon == pytest.approx(float(row["longitude"]), abs=1e-7)  # EXIF seconds have 4 decimals (3 mm)
        assert m.gps_alt == pytest.approx(float(row["altitude"]), abs=0.01)
        assert m.gimbal_yaw == pytest.approx(float(row["yaw"]))
        assert m.gimbal_pitch == pytest.approx(float(row["pitch"]) - 90)  # orthority: 0 = nadir
        assert m.model == "FC6310R" and m.rtk_flag == 50
        assert m.calibrated_focal_px == pytest.approx(3666.666504)
        assert m.exif_width == 5472 and (m.width, m.height) == (1368, 912)  # a reduced copy
    ds = read_photos(d / "odm" / "images")[0]
    # full-size calibration scaled to the copy: hfov = 2 atan(5472 / (2 x 3666.67))
    assert ds.frame["hfov"].iloc[0] == pytest.approx(73.46, abs=0.01)
    assert ds.frame["fov_source"].iloc[0] == "DJI CalibratedFocalLength"


def test_sitemark_files_match_exifr_own_test_expectations(real_data):
    """The values Sitemark/exifr's own parser tests assert for these very files ('cameras' and
    'issues' sections of its test suite), compared with what GIS Desk reads."""
    d = real_data / "drone_photos" / "sitemark_exifr"
    x3 = read_photo_metadata(d / "DJI_Zenmuse_X3.JPG")
    assert x3.lat == pytest.approx(50.85904941666667, abs=1e-12) and x3.lon == pytest.approx(4.678717111111111, abs=1e-12)
    assert (x3.gimbal_roll, x3.gimbal_yaw, x3.gimbal_pitch) == (0.0, 46.6, -90.0)
    assert (x3.flight_roll, x3.flight_yaw, x3.flight_pitch) == (-8.7, 44.7, 0.2)
    assert (x3.exif_width, x3.exif_height, x3.width, x3.height) == (4000, 2250, 4000, 2250)
    assert x3.focal_mm == 3.61 and x3.focal_35mm == 20 and x3.time == "2017-03-14T14:15:40"

    rgb = read_photo_metadata(d / "DJI_Zenmuse_XT2_640_R_13mm.jpg")
    assert rgb.lat == pytest.approx(39.91763687133333, abs=1e-12)
    assert rgb.lon == pytest.approx(-2.822976112444444, abs=1e-12)
    assert rgb.abs_alt == 881.609192 and rgb.rel_alt == 34.400002 and rgb.gimbal_pitch == -89.900002
    assert (rgb.flight_roll, rgb.flight_yaw, rgb.flight_pitch) == (-6.5, 90.0, -2.4)
    assert rgb.model == "XT2" and (rgb.exif_width, rgb.exif_height) == (4000, 3000) and rgb.focal_mm == 8

    trm = read_photo_metadata(d / "DJI_Zenmuse_XT2_640_R_13mm.tiff")
    assert trm.lat == pytest.approx(39.91763694444444, abs=1e-12)
    assert trm.lon == pytest.approx(-2.8229761111111107, abs=1e-12)
    assert trm.time == "2019-05-24T15:24:01.52" and trm.focal_mm == 13 and trm.rel_alt == 34.400002
    assert trm.thermal["CentralWavelength"] == "10000" and trm.thermal["WavelengthFWHM"] == "4500"

    issue2 = read_photo_metadata(d / "001.tif")  # exifr issue #2: a TIFF starting with 49 49
    assert issue2.make == "DJI" and issue2.width == 640
    assert issue2.lat == pytest.approx(50.86259891666667, abs=1e-12)
