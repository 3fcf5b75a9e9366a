"""Every real LAS/LAZ/COPC file of the shared data opens with the CRS its header documents,
the header's point count and its attributes."""

from __future__ import annotations

import laspy
import numpy as np
import pyproj
import pytest

from gis_desk.core.crs import to_crs
from gis_desk.errors import MissingCrsError
from gis_desk.io.pointcloud import read_pointcloud

PC = "pointclouds"
# file -> what the header documents: an EPSG code, or (name fragment, x-axis unit)
WITH_CRS = {
    "laspy/autzen_geo_proj.las": "EPSG:2994",          # Oregon GIC Lambert (ft), GeoTIFF keys
    "pdal/autzen/autzen.las": "EPSG:2994",
    "pdal/autzen/autzen-utm.las": "EPSG:26910",
    "pdal/las/spec_3.las": "EPSG:32617",
    "laspy/file_with_both_wkt_and_geotiff_vlrs.las": "EPSG:6880",
    "laspy/1_4_w_evlr.las": ("New Mexico Central (ftUS)", "US survey foot"),
    "laspy/1_4_w_evlr.laz": ("New Mexico Central (ftUS)", "US survey foot"),
    "pdal/las/test1_4.las": ("New Mexico Central (ftUS)", "US survey foot"),
    "pdal/copc/1.2-with-color.copc.laz": ("Oregon LCC (m) + NAVD88 height (ftUS)", "metre"),
    "pdal/laz/autzen_trim.laz": ("NAD_1983_HARN_Lambert_Conformal_Conic", "foot"),
    "laspy/simple1_4.las": "EPSG:4326",
}
WITHOUT_CRS = ["laspy/simple1_1.las", "laspy/simple1_3.las", "laspy/unregistered_extra_bytes.las",
               "laspy/vegetation_1_3.las", "pdal/autzen/autzen-thin.las", "pdal/las/1.2-with-color.las",
               "pdal/las/simple.las", "pdal/laz/simple.laz"]
USER_DEFINED_KEYS = ["laspy/plane.laz", "pdal/autzen/thin-1.las", "pdal/autzen/thin-2.las"]


def _header(path):
    with laspy.open(path) as reader:
        return reader.header


def _check_against_header(ds, path):
    header = _header(path)
    assert ds.count == header.point_count == len(ds.cloud.xyz)
    standard = [d for d in header.point_format.dimension_names if d not in ("X", "Y", "Z")]
    assert set(standard) <= set(ds.fields)
    las = laspy.read(path)
    np.testing.assert_allclose(ds.cloud.xyz, np.column_stack([las.x, las.y, las.z]))
    for name in standard:
        np.testing.assert_array_equal(ds.cloud.attributes[name], np.asarray(las[name]))
    # bounds from the data (simple1_3.las's header extent is written unscaled, so not from it)
    np.testing.assert_allclose(ds.bounds, [las.x.min(), las.y.min(), las.x.max(), las.y.max()])
    np.testing.assert_allclose(ds.z_range, [las.z.min(), las.z.max()])


@pytest.mark.parametrize("name", sorted(WITH_CRS))
def test_real_file_opens_with_its_documented_crs(real_data, name):
    path = real_data / PC / name
    ds = read_pointcloud(path)[0]
    expected = WITH_CRS[name]
    if isinstance(expected, str):
        want = to_crs(expected)
        # same CRS, or one that puts every coordinate in the same place (names may differ)
        x, y = ds.cloud.xyz[:5, 0], ds.cloud.xyz[:5, 1]
        same = ds.crs.equals(want, ignore_axis_order=True) or ds.crs.to_epsg(min_confidence=70) == want.to_epsg()
        if not same:
            tx, ty = pyproj.Transformer.from_crs(ds.crs, want, always_xy=True).transform(x, y)
            np.testing.assert_allclose(tx, x, atol=1e-3)
            np.testing.assert_allclose(ty, y, atol=1e-3)
    else:
        fragment, unit = expected
        assert fragment in ds.crs.name
        assert ds.crs.axis_info[0].unit_name == unit
    assert ds.source.options == {}  # the CRS came from the file
    assert ds.info()["crs"]
    _check_against_header(ds, path)


def test_autzen_state_plane_feet_matches_the_published_wkt(real_data):
    """autzen_trim.laz's WKT VLR is the Oregon HARN Lambert (ft) of autzen-srs.wkt and puts
    points where EPSG:2994 does."""
    ds = read_pointcloud(real_data / PC / "pdal/laz/autzen_trim.laz")[0]
    published = pyproj.CRS((real_data / PC / "pdal/autzen/autzen-srs.wkt").read_text())
    x, y = ds.cloud.xyz[:100, 0], ds.cloud.xyz[:100, 1]
    for other in (published, pyproj.CRS("EPSG:2994")):
        tx, ty = pyproj.Transformer.from_crs(ds.crs, other, always_xy=True).transform(x, y)
        np.testing.assert_allclose(np.c_[tx, ty], np.c_[x, y], atol=0.01)
    assert ds.driver == "LAZ"
    assert {"red", "green", "blue", "intensity", "classification", "gps_time"} <= set(ds.fields)


@pytest.mark.parametrize("name", WITHOUT_CRS + USER_DEFINED_KEYS)
def test_file_without_a_readable_crs_asks_for_one(real_data, name):
    path = real_data / PC / name
    with pytest.raises(MissingCrsError) as info:
        read_pointcloud(path)
    assert str(path) in str(info.value) and info.value.hint
    if name in USER_DEFINED_KEYS:
        assert "user-defined" in info.value.message
    ds = read_pointcloud(path, crs="EPSG:2994")[0]
    assert ds.crs == to_crs("EPSG:2994")
    assert ds.source.options == {"crs": "EPSG:2994"}
    _check_against_header(ds, path)


def test_extra_bytes_are_kept(real_data):
    ds = read_pointcloud(real_data / PC / "laspy/unregistered_extra_bytes.las", crs=27700)[0]
    assert ds.cloud.attributes["ExtraBytes"].shape == (4, 4)
    assert ds.metadata["extra_bytes"] == ["ExtraBytes"]


def test_copc_and_laz_drivers_and_colours(real_data):
    copc = read_pointcloud(real_data / PC / "pdal/copc/1.2-with-color.copc.laz")[0]
    assert copc.driver == "COPC" and copc.count == 1065
    assert copc.cloud.attributes["red"].dtype == np.uint16
    las = read_pointcloud(real_data / PC / "pdal/las/1.2-with-color.las", crs="EPSG:2994")[0]
    assert las.driver == "LAS 1.2"
    # the same survey: the COPC copy holds the same points (in another order)
    np.testing.assert_allclose(np.sort(copc.cloud.xyz[:, 2]), np.sort(las.cloud.xyz[:, 2]))


def test_drone_model_laz(real_data):
    path = real_data / "drone_photos/brighton_beach/model.laz"
    ds = read_pointcloud(path)[0]
    assert ds.crs.to_epsg() == 32615
    assert ds.count == _header(path).point_count == 940393
    assert {"red", "green", "blue"} <= set(ds.fields)
    idx = ds.sample(50_000)
    assert 0 < len(idx) <= 50_000 and len(np.unique(idx)) == len(idx)


def test_every_real_las_laz_copc_file_is_covered(real_data):
    """Each LAS/LAZ/COPC file of the shared data is checked above (new files must be added)."""
    found = {p.relative_to(real_data / PC).as_posix() for p in (real_data / PC).rglob("*")
             if p.suffix.lower() in (".las", ".laz")}
    covered = set(WITH_CRS) | set(WITHOUT_CRS) | set(USER_DEFINED_KEYS)
    assert found == covered
    others = {p.relative_to(real_data).as_posix() for p in real_data.rglob("*")
              if p.suffix.lower() in (".las", ".laz") and PC not in p.relative_to(real_data).parts}
    assert others == {"drone_photos/brighton_beach/model.laz"}  # test_drone_model_laz
