"""CloudCompare M3C2 parameter files: reading (diameters -> radii), writing, errors; orientations."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from gis_desk.analysis.m3c2 import M3C2Params, m3c2
from gis_desk.errors import CorruptFileError, MissingFileError
from gis_desk.io.m3c2_params import (read_cloudcompare_file, read_cloudcompare_params,
                                     write_cloudcompare_params)

from m3c2_reference import BNG, wall_pair

SAMPLES = Path(__file__).resolve().parents[3] / "sample_surveys"

# What CloudCompare 2.12's dialog writes (key order and values as saved by QSettings).
CC_FILE = """[General]
ExportDensityAtProjScale=false
ExportStdDevInfo=false
M3C2VER=1
MaxThreadCount=16
MinPoints4Stat=8
NormalMaxScale=0.283607
NormalMinScale=0.070902
NormalMode=0
NormalPreferedOri=3
NormalScale=0.8
NormalStep=0.070902
NormalUseCorePoints=false
PM1Scale=1
PM2Scale=1
PositiveSearchOnly=false
ProjDestIndex=1
RegistrationError=0.012
RegistrationErrorEnabled=true
SearchDepth=2.5
SearchScale=0.6
SubsampleEnabled=true
SubsampleRadius=0.15
UseMedian=true
UseMinPoints4Stat=true
UseOriginalCloud=false
UsePrecisionMaps=false
UseSinglePass4Depth=false
"""


def test_reads_cloudcompare_file_diameters_become_radii(tmp_path):
    path = tmp_path / "m3c2_params.txt"
    path.write_text(CC_FILE)
    got = read_cloudcompare_file(path)
    p = got.params
    assert p.normal_radius == pytest.approx(0.4)  # NormalScale 0.8 is a diameter
    assert p.cylinder_radius == pytest.approx(0.3)  # SearchScale 0.6 is a diameter
    assert p.max_depth == pytest.approx(2.5)  # SearchDepth is already the half-height
    assert p.registration_error == pytest.approx(0.012)
    assert p.use_median is True
    assert p.min_points == 8
    assert p.normal_orientation == (0.0, -1.0, 0.0)  # 3 = -Y
    assert got.core_subsample_radius == pytest.approx(0.15)
    assert got.vertical_normals is False
    assert got.notes == []  # every key known
    assert read_cloudcompare_params(path) == p


@pytest.mark.parametrize("sample, depth, point", [
    ("bridge", 0.3, (378902.648, 392606.271, 130.0)),
    ("seawall", 0.5, (330802.995, 436038.601, 108.5)),
])
def test_reads_the_sample_survey_files(sample, depth, point):
    path = SAMPLES / sample / "m3c2_params.txt"
    if not path.exists():
        pytest.skip(f"sample file {path} not generated")
    p = read_cloudcompare_params(path)
    assert (p.normal_radius, p.cylinder_radius, p.max_depth) == pytest.approx((0.5, 0.25, depth))
    assert p.normal_orientation == ("towards", point)
    assert p.registration_error == 0 and p.min_points == 5 and not p.use_median


def test_disabled_options_are_not_applied_and_unknown_keys_noted(tmp_path):
    text = (CC_FILE.replace("RegistrationErrorEnabled=true", "RegistrationErrorEnabled=false")
            .replace("UseMinPoints4Stat=true", "UseMinPoints4Stat=false")
            .replace("NormalMode=0", "NormalMode=2") + "FancyNewKey=7\n")
    path = tmp_path / "p.txt"
    path.write_text(text)
    got = read_cloudcompare_file(path)
    assert got.params.registration_error == 0.0
    assert got.params.min_points == 5  # CloudCompare's floor when the box is unticked
    assert any("FancyNewKey" in n for n in got.notes)
    assert any("RegistrationErrorEnabled=false" in n for n in got.notes)
    assert any("NormalMode=2" in n for n in got.notes)


@pytest.mark.parametrize("index, expected", [
    (0, (1.0, 0.0, 0.0)), (1, (-1.0, 0.0, 0.0)), (2, (0.0, 1.0, 0.0)), (4, "up"),
    (5, (0.0, 0.0, -1.0)), (6, "away_from_barycentre"), (7, "towards_barycentre"),
    (8, ("away", (0.0, 0.0, 0.0))), (9, ("towards", (0.0, 0.0, 0.0))),
])
def test_preferred_orientations(tmp_path, index, expected):
    path = tmp_path / "p.txt"
    path.write_text(CC_FILE.replace("NormalPreferedOri=3", f"NormalPreferedOri={index}"))
    assert read_cloudcompare_params(path).normal_orientation == expected


def test_vertical_mode_flagged(tmp_path):
    path = tmp_path / "p.txt"
    path.write_text(CC_FILE.replace("NormalMode=0", "NormalMode=3"))
    assert read_cloudcompare_file(path).vertical_normals is True


@pytest.mark.parametrize("params", [
    M3C2Params(),
    M3C2Params(0.35, 0.125, 1.75, 0.004, True, 9, (0.0, -1.0, 0.0)),
    M3C2Params(normal_orientation=("towards", (378902.648, 392606.271, 130.0))),
    M3C2Params(normal_orientation=("away", (1.5, 2.5, 3.5))),
    M3C2Params(normal_orientation="away_from_barycentre"),
    M3C2Params(normal_orientation=(-1.0, 0.0, 0.0)),
])
def test_write_then_read_round_trips(tmp_path, params):
    path = write_cloudcompare_params(tmp_path / "m3c2_params.txt", params)
    text = path.read_text()
    assert text.startswith("[General]\nM3C2VER=1\n")
    assert f"SearchScale={2 * params.cylinder_radius:.12g}" in text  # a diameter for CloudCompare
    back = read_cloudcompare_params(path)
    assert back == params
    assert read_cloudcompare_file(path).notes == []


def test_write_oblique_direction_picks_nearest_axis(tmp_path):
    p = M3C2Params(normal_orientation=(0.2, -0.9, 0.1))
    text = write_cloudcompare_params(tmp_path / "p.txt", p).read_text()
    assert "NormalPreferedOri=3" in text and "; GIS Desk" in text


@pytest.mark.parametrize("content, match", [
    ("NormalScale=1\nSearchScale=0.5\nSearchDepth=1\n", "M3C2VER"),
    ("[General]\nM3C2VER=1\nNormalScale=abc\nSearchScale=0.5\nSearchDepth=1\n", "not a number"),
    ("[General]\nM3C2VER=1\nSearchScale=0.5\nSearchDepth=1\n", "NormalScale"),
    ("[General]\nM3C2VER=1\nNormalScale=1\nSearchScale=-0.5\nSearchDepth=1\n", "positive"),
    ("[General]\nM3C2VER=1\nNormalScale=1\nSearchScale=0.5\nSearchDepth=1\nUseMedian=perhaps\n", "true or false"),
    ("[General]\nM3C2VER=1\nNormalScale=1\nSearchScale=0.5\nSearchDepth=1\nNormalPreferedOri=42\n", "0-9"),
    ("[General]\nM3C2VER=1\nNormalScale=1\nSearchScale=0.5\nSearchDepth=1\nNormalUsePoint=true\n", "NormalRefPoint"),
    ("[General\nM3C2VER=1\n", "M3C2VER|INI"),
])
def test_garbage_raises_corrupt_file_error_naming_the_file(tmp_path, content, match):
    path = tmp_path / "bad_params.txt"
    path.write_text(content)
    with pytest.raises(CorruptFileError, match=match) as info:
        read_cloudcompare_params(path)
    assert info.value.path == str(path)


def test_binary_and_missing_files(tmp_path):
    path = tmp_path / "cloud.laz"
    path.write_bytes(b"LASF\x00\xff\xfe\x80" * 20)
    with pytest.raises(CorruptFileError) as info:
        read_cloudcompare_params(path)
    assert info.value.path == str(path)
    with pytest.raises(MissingFileError) as info:
        read_cloudcompare_params(tmp_path / "nope.txt")
    assert "nope.txt" in str(info.value)


def test_barycentre_and_away_orientations_in_m3c2():
    """+Barycenter on a box-like scene: normals point out of the structure; 'away' from a point."""
    e1, e2 = wall_pair(shift=0.03, seed=21)
    # A second wall 6 m behind (y = +6) facing the other way makes the barycentre lie between.
    back1, back2 = wall_pair(shift=0.0, seed=22)
    back1[:, 1] += 6.0
    back2[:, 1] += 6.0
    a = np.vstack([e1, back1])
    b = np.vstack([e2, back2])
    core = a[::25]
    res = m3c2(a, b, core, M3C2Params(0.5, 0.4, 1.0, normal_orientation="away_from_barycentre"))
    front = core[:, 1] - BNG[1] < 3
    assert (res.normals[front, 1] < -0.99).all() and (res.normals[~front, 1] > 0.99).all()
    assert abs(np.nanmedian(res.distance[front]) - 0.03) < 0.003
    inward = m3c2(a, b, core, M3C2Params(0.5, 0.4, 1.0, normal_orientation="towards_barycentre"))
    np.testing.assert_allclose(inward.normals, -res.normals)
    away = m3c2(a, b, core, M3C2Params(0.5, 0.4, 1.0,
                                       normal_orientation=("away", tuple(BNG + [2, 3, 1.5]))))
    np.testing.assert_allclose(away.normals, res.normals)
