"""Synthetic round trips: LAS/LAZ written and read back, PLY, E57 and text clouds read with
the values they were made with."""

from __future__ import annotations

import numpy as np
import pytest

from gis_desk.core.crs import to_crs
from gis_desk.core.pointcloud import PointCloud
from gis_desk.errors import DataError, WriterError
from gis_desk.io.pointcloud import read_pointcloud, write_pointcloud


@pytest.mark.parametrize("suffix", [".las", ".laz"])
def test_las_laz_round_trip_keeps_everything(tmp_path, synthetic_cloud, suffix):
    path = write_pointcloud(tmp_path / f"cloud{suffix}", synthetic_cloud)
    assert path.exists() and not list(tmp_path.glob(".*"))  # no temp file left
    ds = read_pointcloud(path)[0]
    assert ds.crs.to_epsg() == 27700 and ds.metadata["crs_source"] == "WKT VLR"
    assert ds.metadata["point_format"] == 3  # smallest format with gps_time and RGB
    np.testing.assert_allclose(ds.cloud.xyz, synthetic_cloud.xyz, atol=5e-4)
    for name, values in synthetic_cloud.attributes.items():
        got = ds.cloud.attributes[name]
        assert got.dtype == values.dtype, name
        np.testing.assert_array_equal(got, values)
    assert sorted(ds.metadata["extra_bytes"]) == ["m3c2_distance", "n1"]
    assert ds.driver == ("LAZ" if suffix == ".laz" else "LAS 1.4")


def test_point_format_follows_attributes(tmp_path):
    xyz = np.array([[0.0, 0.0, 0.0], [1.0, 2.0, 3.0]])
    plain = read_pointcloud(write_pointcloud(tmp_path / "a.las", PointCloud(xyz, {}, to_crs(27700))))[0]
    assert plain.metadata["point_format"] == 0
    wide = PointCloud(xyz, {"scan_angle": np.array([-100, 200], np.int16),
                            "classification": np.array([40, 2], np.uint8)}, to_crs(27700))
    back = read_pointcloud(write_pointcloud(tmp_path / "b.laz", wide))[0]
    assert back.metadata["point_format"] == 6
    np.testing.assert_array_equal(back.cloud.attributes["classification"], [40, 2])
    np.testing.assert_array_equal(back.cloud.attributes["scan_angle"], [-100, 200])


def test_geographic_cloud_keeps_sub_millimetre_degrees(tmp_path):
    xyz = np.array([[-0.1234567, 51.5012345, 10.0], [-0.1234568, 51.5012346, 11.0]])
    back = read_pointcloud(write_pointcloud(tmp_path / "g.las", PointCloud(xyz, {}, to_crs(4326))))[0]
    np.testing.assert_allclose(back.cloud.xyz, xyz, atol=1e-7)
    assert back.crs.to_epsg() == 4326


def test_large_extent_coarsens_scale_to_fit(tmp_path):
    xyz = np.array([[0.0, 0.0, 0.0], [5e6, 5e6, 1.0]])
    back = read_pointcloud(write_pointcloud(tmp_path / "big.las", PointCloud(xyz, {}, to_crs(3857))))[0]
    np.testing.assert_allclose(back.cloud.xyz, xyz, atol=0.01)


def test_write_refuses_bad_input(tmp_path, synthetic_cloud):
    with pytest.raises(WriterError, match="las or .laz"):
        write_pointcloud(tmp_path / "x.ply", synthetic_cloud)
    with pytest.raises(DataError, match="no points"):
        write_pointcloud(tmp_path / "x.las", PointCloud(np.zeros((0, 3)), {}, None))
    bad = PointCloud(np.array([[0.0, np.nan, 1.0]]), {}, None)
    with pytest.raises(DataError, match="not finite"):
        write_pointcloud(tmp_path / "x.las", bad)
    text = PointCloud(np.zeros((1, 3)), {"label": np.array(["a"])}, None)
    with pytest.raises(DataError, match="not numeric"):
        write_pointcloud(tmp_path / "x.las", text)
    assert not (tmp_path / "x.las").exists()


def test_failed_write_keeps_the_previous_file(tmp_path, synthetic_cloud, monkeypatch):
    import gis_desk.io.pointcloud as module

    target = write_pointcloud(tmp_path / "keep.laz", synthetic_cloud)
    before = target.read_bytes()

    def broken(*args, **kw):
        raise RuntimeError("disk went away")

    monkeypatch.setattr(module, "_record", broken)
    with pytest.raises(WriterError, match="disk went away") as info:
        write_pointcloud(target, synthetic_cloud.subset(np.arange(10)))
    assert info.value.path == str(target)
    assert target.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["keep.laz"]


def _write_ply(path, xyz, extra: dict, binary: bool):
    props = [("x", "double"), ("y", "double"), ("z", "double")] + [(k, t) for k, (t, _) in extra.items()]
    header = ["ply", f"format {'binary_little_endian' if binary else 'ascii'} 1.0", "comment test",
              f"element vertex {len(xyz)}"] + [f"property {t} {k}" for k, t in props]
    header += ["element face 0", "property list uchar int vertex_indices", "end_header"]
    np_types = {"double": "<f8", "float": "<f4", "uchar": "u1", "ushort": "<u2", "int": "<i4"}
    dtype = np.dtype([(k, np_types[t]) for k, t in props])
    table = np.zeros(len(xyz), dtype=dtype)
    table["x"], table["y"], table["z"] = xyz.T
    for k, (_, values) in extra.items():
        table[k] = values
    with open(path, "wb") as fh:
        fh.write(("\n".join(header) + "\n").encode())
        if binary:
            fh.write(table.tobytes())
        else:
            for row in table:
                fh.write((" ".join(repr(v.item()) for v in row) + "\n").encode())


@pytest.mark.parametrize("binary", [True, False])
def test_ply_keeps_colours_normals_and_scalars(tmp_path, binary):
    rng = np.random.default_rng(3)
    n = 300
    xyz = rng.uniform(0, 10, (n, 3))
    red = rng.integers(0, 256, n).astype(np.uint8)
    nz = rng.uniform(-1, 1, n).astype(np.float32)
    quality = rng.integers(0, 1000, n).astype(np.int32)
    path = tmp_path / "c.ply"
    _write_ply(path, xyz, {"red": ("uchar", red), "green": ("uchar", red), "blue": ("uchar", red),
                           "nx": ("float", nz), "ny": ("float", nz), "nz": ("float", nz),
                           "quality": ("int", quality)}, binary)
    ds = read_pointcloud(path, crs="EPSG:27700")[0]
    assert ds.driver == "PLY" and ds.count == n
    np.testing.assert_allclose(ds.cloud.xyz, xyz)
    np.testing.assert_array_equal(ds.cloud.attributes["red"], red.astype(np.uint16) * 257)
    np.testing.assert_allclose(ds.cloud.attributes["normal_z"], nz)
    np.testing.assert_array_equal(ds.cloud.attributes["quality"], quality)


def test_e57_scans_with_intensity_and_colour(tmp_path):
    pye57 = pytest.importorskip("pye57")
    rng = np.random.default_rng(5)
    path = tmp_path / "scan.e57"
    e57 = pye57.E57(str(path), mode="w")
    expected = []
    for i in range(2):
        n = 200 + i
        data = {"cartesianX": rng.uniform(0, 5, n), "cartesianY": rng.uniform(0, 5, n),
                "cartesianZ": rng.uniform(0, 2, n), "intensity": rng.uniform(0, 1, n),
                "colorRed": rng.integers(0, 256, n).astype(np.uint8),
                "colorGreen": rng.integers(0, 256, n).astype(np.uint8),
                "colorBlue": rng.integers(0, 256, n).astype(np.uint8)}
        e57.write_scan_raw(data, name=f"station {i + 1}")
        expected.append(data)
    e57.close()
    datasets = read_pointcloud(path, crs="EPSG:27700")
    assert [d.source.options["layer"] for d in datasets] == ["station 1", "station 2"]
    for ds, data in zip(datasets, expected):
        assert ds.driver == "E57"
        np.testing.assert_allclose(ds.cloud.xyz[:, 0], data["cartesianX"])
        np.testing.assert_allclose(ds.cloud.attributes["intensity"], data["intensity"], rtol=1e-6)
        np.testing.assert_array_equal(ds.cloud.attributes["red"], data["colorRed"].astype(np.uint16) * 257)
    only = read_pointcloud(path, crs="EPSG:27700", layer="station 2")
    assert len(only) == 1 and only[0].count == 201


def test_headerless_xyz_and_pts(tmp_path):
    rng = np.random.default_rng(1)
    xyz = rng.uniform(0, 100, (50, 3)).round(3)
    (tmp_path / "a.xyz").write_text("\n".join(" ".join(f"{v:.3f}" for v in row) for row in xyz) + "\n")
    ds = read_pointcloud(tmp_path / "a.xyz", crs=27700)[0]
    assert ds.driver == "XYZ" and ds.fields == []
    np.testing.assert_allclose(ds.cloud.xyz, xyz)
    lines = [str(len(xyz))] + [f"{x:.3f} {y:.3f} {z:.3f} {i} 10 20 255"
                               for (x, y, z), i in zip(xyz, range(50))]
    (tmp_path / "b.pts").write_text("\n".join(lines) + "\n")
    pts = read_pointcloud(tmp_path / "b.pts", crs=27700)[0]
    np.testing.assert_allclose(pts.cloud.xyz, xyz)
    np.testing.assert_array_equal(pts.cloud.attributes["intensity"], np.arange(50))
    assert pts.cloud.attributes["blue"][0] == 65535 and pts.cloud.attributes["red"][0] == 10 * 257


def test_csv_with_known_headers_and_with_a_mapping(tmp_path):
    text = "Easting,Northing,Elevation,Intensity,Class,temp\n" + "\n".join(
        f"{530000 + i},{180000 + 2 * i},{i / 10},{i * 3},{2 if i % 2 else 6},{i * 0.5}" for i in range(20))
    (tmp_path / "s.csv").write_text(text)
    ds = read_pointcloud(tmp_path / "s.csv", crs=27700)[0]
    np.testing.assert_allclose(ds.cloud.xyz[3], [530003, 180006, 0.3])
    assert ds.cloud.attributes["classification"].dtype == np.uint8
    assert ds.cloud.attributes["intensity"][4] == 12
    np.testing.assert_allclose(ds.cloud.attributes["temp"][2], 1.0)
    mapped = read_pointcloud(tmp_path / "s.csv", crs=27700,
                             columns={"x": "Northing", "y": "Easting", "z": "temp"})[0]
    np.testing.assert_allclose(mapped.cloud.xyz[3], [180006, 530003, 1.5])
    assert mapped.source.options["columns"] == {"x": "Northing", "y": "Easting", "z": "temp"}
    with pytest.raises(DataError, match="'Height'"):
        read_pointcloud(tmp_path / "s.csv", crs=27700, columns={"x": "Easting", "y": "Northing", "z": "Height"})
    (tmp_path / "u.txt").write_text("a;b;c\n1;2;3\n")
    with pytest.raises(DataError, match="columns hold x, y, z"):
        read_pointcloud(tmp_path / "u.txt", crs=27700)
