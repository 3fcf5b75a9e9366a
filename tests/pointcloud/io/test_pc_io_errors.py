"""Bad input gives typed errors that name the file and say what is wrong."""

from __future__ import annotations

import numpy as np
import pytest

from gis_desk.errors import CorruptFileError, DataError, MissingFileError, NoReaderError
from gis_desk.io.pointcloud import read_pointcloud, write_pointcloud


def test_truncated_laz_says_how_many_points_were_readable(tmp_path, synthetic_cloud):
    big = synthetic_cloud.subset(np.tile(np.arange(len(synthetic_cloud)), 60))  # 120,000 points
    full = write_pointcloud(tmp_path / "full.laz", big).read_bytes()
    cut = tmp_path / "cut.laz"
    cut.write_bytes(full[: int(len(full) * 0.6)])
    with pytest.raises(CorruptFileError) as info:
        read_pointcloud(cut)
    err = info.value
    assert err.path == str(cut) and "truncated" in err.message and "of 120,000 points" in err.message
    readable = int(err.message.split(" of ")[0].split()[-1].replace(",", ""))
    # the cut falls in the second 50,000-point chunk: the first decodes whole, the second in part
    assert 50_000 < readable < 120_000
    assert err.hint


def test_truncated_las_and_wrong_header_count(tmp_path, synthetic_cloud):
    data = write_pointcloud(tmp_path / "ok.las", synthetic_cloud).read_bytes()
    cut = tmp_path / "cut.las"
    cut.write_bytes(data[: len(data) - 500 * 34])
    with pytest.raises(CorruptFileError, match=r"of 2,000 points could be read"):
        read_pointcloud(cut)
    # a header claiming more points than the file holds
    lying = bytearray(data)
    lying[247:255] = (5000).to_bytes(8, "little")  # LAS 1.4 64-bit point count
    lying[107:111] = (5000).to_bytes(4, "little")  # legacy count
    bad = tmp_path / "lying.las"
    bad.write_bytes(bytes(lying))
    with pytest.raises(CorruptFileError, match=r"2,000 of 5,000 points"):
        read_pointcloud(bad)


def test_empty_cloud(tmp_path, synthetic_cloud):
    data = bytearray(write_pointcloud(tmp_path / "ok.las", synthetic_cloud.subset([0])).read_bytes())
    data[247:255] = (0).to_bytes(8, "little")
    data[107:111] = (0).to_bytes(4, "little")
    empty = tmp_path / "empty.las"
    empty.write_bytes(bytes(data))
    with pytest.raises(DataError, match=r"no points \(0 points\)") as info:
        read_pointcloud(empty)
    assert info.value.path == str(empty)
    (tmp_path / "zero.laz").write_bytes(b"")
    with pytest.raises(DataError, match="empty"):
        read_pointcloud(tmp_path / "zero.laz")
    (tmp_path / "blank.xyz").write_text("\n\n")
    with pytest.raises(DataError, match="no points"):
        read_pointcloud(tmp_path / "blank.xyz", crs=27700)
    (tmp_path / "none.ply").write_text("ply\nformat ascii 1.0\nelement vertex 0\nproperty float x\nend_header\n")
    with pytest.raises(DataError, match="no points"):
        read_pointcloud(tmp_path / "none.ply", crs=27700)


def test_not_a_point_cloud(tmp_path):
    fake = tmp_path / "photo.las"
    fake.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 100)
    with pytest.raises(CorruptFileError, match="not a LAS file") as info:
        read_pointcloud(fake)
    assert info.value.path == str(fake)
    other = tmp_path / "notes.doc"
    other.write_text("hello")
    with pytest.raises(NoReaderError, match=".doc"):
        read_pointcloud(other)
    with pytest.raises(MissingFileError):
        read_pointcloud(tmp_path / "nowhere.laz")
    garbage = tmp_path / "bad.las"
    garbage.write_bytes(b"LASF" + b"\xff" * 50)
    with pytest.raises(CorruptFileError, match="header"):
        read_pointcloud(garbage)


def test_truncated_binary_ply(tmp_path):
    head = b"ply\nformat binary_little_endian 1.0\nelement vertex 100\nproperty float x\nproperty float y\n" \
           b"property float z\nend_header\n"
    (tmp_path / "t.ply").write_bytes(head + np.zeros(60 * 3, "<f4").tobytes())
    with pytest.raises(CorruptFileError, match="60 of 100"):
        read_pointcloud(tmp_path / "t.ply", crs=27700)


def test_text_without_numbers(tmp_path):
    (tmp_path / "t.xyz").write_text("x y z\na b c\nd e f\n")
    with pytest.raises(DataError, match="numeric"):
        read_pointcloud(tmp_path / "t.xyz", crs=27700)


def test_header_counting_fewer_points_than_the_data(tmp_path, synthetic_cloud):
    data = bytearray(write_pointcloud(tmp_path / "ok.las", synthetic_cloud).read_bytes())
    data[247:255] = (1500).to_bytes(8, "little")
    data[107:111] = (1500).to_bytes(4, "little")
    short = tmp_path / "short.las"
    short.write_bytes(bytes(data))
    with pytest.raises(CorruptFileError, match=r"holds 2,000 point records but its header counts 1,500") as info:
        read_pointcloud(short)
    assert info.value.path == str(short) and info.value.hint
