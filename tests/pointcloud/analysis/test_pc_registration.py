"""Registration: typed matrices, point pairs, ICP on stable areas (synthetic scenes with known motion)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from pc_analysis_scenes import BNG_ORIGIN, STABLE_AREAS, apply, bridge_scene, rigid
from shapely.affinity import translate
from shapely.geometry import box

from gis_desk.analysis.registration import (
    RegistrationResult,
    check_same_crs,
    format_transform,
    icp,
    pairs_result,
    parse_transform,
    read_transform,
    rotation_angle,
    transform_from_pairs,
)
from gis_desk.errors import CrsError, DataError, MissingCrsError, ParameterError
from gis_desk.processing.feedback import Feedback

ROTVEC = [0.0012, -0.0008, 0.0014]  # |rotvec| = 2.0 mrad
SHIFT = [0.04, -0.03, 0.0]  # 5 cm


def _errors(found: np.ndarray, true: np.ndarray, pts: np.ndarray) -> tuple[float, float]:
    """Largest displacement (m) over ``pts`` and the rotation angle (rad) of found vs true."""
    resid = found @ np.linalg.inv(true)
    return float(np.abs(apply(pts, resid) - pts).max()), rotation_angle(resid)


# --- parse_transform ------------------------------------------------------------------------


def test_parse_cloudcompare_matrix_text():
    true = rigid(ROTVEC, [380_000.5, -12.25, 3.0])
    text = format_transform(true)
    assert np.allclose(parse_transform(text), true, atol=1e-9)
    commas = "; ".join(", ".join(f"{v:.10f}" for v in row) for row in true[:3])  # 12 numbers
    assert np.allclose(parse_transform(commas), true, atol=1e-8)
    numpy_print = "# from numpy\n" + np.array2string(true, precision=12, separator=" ")
    assert np.allclose(parse_transform(numpy_print), true, atol=1e-8)


def test_parse_rounded_matrix_is_made_exactly_rigid():
    true = rigid([0.0, 0.0, 0.3], [1.0, 2.0, 3.0])
    rounded = np.round(true, 4)  # what an engineer types from a printout
    m = parse_transform(format_transform(rounded))
    r = m[:3, :3]
    assert np.allclose(r.T @ r, np.eye(3), atol=1e-12)
    assert np.allclose(m, true, atol=1e-4)


@pytest.mark.parametrize(
    "text, words",
    [
        ("1 0 0 0 0 1 0 0 0 0 1", "found 11"),
        ("1 0 0 0 0 1 0 0 0 0 1 x", "not a number"),
        ("1.05 0 0 0 0 1.05 0 0 0 0 1.05 0", "not rigid"),
        ("-1 0 0 0 0 1 0 0 0 0 1 0", "mirrors"),
        ("1 0 0 0 0 1 0 0 0 0 0 0", "singular"),
        ("1 0 0 0 0 1 0 0 0 0 1 0 0.1 0 0 1", "projective"),
    ],
)
def test_parse_rejects_bad_matrices_with_reasons(text, words):
    with pytest.raises(ParameterError) as err:
        parse_transform(text)
    assert words in str(err.value)


def test_tolerance_is_adjustable():
    text = "1.0005 0 0 0  0 1 0 0  0 0 1 0"
    parse_transform(text)  # default tolerance 1e-3 accepts rounding of this size
    with pytest.raises(ParameterError):
        parse_transform(text, tolerance=1e-4)


def test_read_transform_names_the_file(tmp_path):
    p = tmp_path / "reg.txt"
    p.write_text("1 0 0\n")
    with pytest.raises(ParameterError) as err:
        read_transform(p)
    assert str(p) in str(err.value)
    p.write_text(format_transform(np.eye(4)))
    assert np.allclose(read_transform(p), np.eye(4))


# --- point pairs --------------------------------------------------------------------------


def test_pairs_recover_known_transform_exactly_in_bng_coordinates():
    true = rigid(ROTVEC, SHIFT, centre=BNG_ORIGIN)
    rng = np.random.default_rng(3)
    src = BNG_ORIGIN + rng.uniform(-20, 20, (6, 3))
    m, rms = transform_from_pairs(src, apply(src, true))
    disp, ang = _errors(m, true, src)
    assert disp < 1e-6 and ang < 1e-10  # exact to float64 at 400 km from the origin
    assert rms < 1e-6
    # Noisy picks: the RMS reports the picking error honestly.
    noisy = apply(src, true) + rng.normal(0, 0.01, src.shape)
    _, rms = transform_from_pairs(src, noisy)
    assert 0.003 < rms < 0.02


def test_pairs_need_three_non_collinear_points():
    a = np.array([[0, 0, 0], [1, 0, 0], [2, 0, 0], [3, 0, 0.0]])
    with pytest.raises(ParameterError, match="straight line"):
        transform_from_pairs(a, a + 1)
    with pytest.raises(ParameterError, match="at least 3"):
        transform_from_pairs(a[:2], a[:2])


def test_pairs_result_is_json_serialisable():
    a = np.array([[0, 0, 0], [1, 0, 0], [0, 1, 0.0], [0, 0, 1.0]])
    res = pairs_result(a, a + [1, 2, 3])
    back = RegistrationResult.from_dict(json.loads(json.dumps(res.to_dict())))
    assert np.allclose(back.matrix[:3, 3], [1, 2, 3])
    assert back.method == "point pairs"


# --- ICP ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def epochs():
    """Epoch 1 and the world positions of epoch 2 (independent sampling), local coordinates."""
    return bridge_scene(1), bridge_scene(2), bridge_scene(2, bulge=0.3)


def test_icp_recovers_small_motion_in_bng_coordinates(epochs):
    e1, e2, _ = epochs
    o = BNG_ORIGIN
    true = rigid(ROTVEC, SHIFT, centre=o + [15, 10, 0])
    source = apply(e2 + o, np.linalg.inv(true))  # epoch 2 as delivered: misaligned by `true`^-1
    areas = [translate(p, o[0], o[1]) for p in STABLE_AREAS]
    fb = Feedback()
    res = icp(source, e1 + o, stable_areas=areas, max_distance=0.5, feedback=fb)
    disp, ang = _errors(res.matrix, true, e1 + o)
    assert disp < 0.002 and ang < 0.0002, (disp, ang)
    assert res.overlap > 0.95 and res.n_correspondences > 5000
    assert 1 <= res.iterations < 50
    # Two independent 2 mm-noise epochs: the robust residual sigma is a few millimetres.
    assert 0.002 < res.registration_error < 0.008
    assert abs(res.median_residual) < 0.001
    assert fb.progress == 100.0
    json.dumps(res.to_dict())


def test_icp_local_origin_gives_same_answer_as_local_coordinates(epochs):
    """The same scene at the origin and at BNG coordinates gives the same relative motion."""
    e1, e2, _ = epochs
    out = []
    for o in (np.zeros(3), BNG_ORIGIN):
        true = rigid(ROTVEC, SHIFT, centre=o + [15, 10, 0])
        areas = [translate(p, o[0], o[1]) for p in STABLE_AREAS]
        res = icp(apply(e2 + o, np.linalg.inv(true)), e1 + o, stable_areas=areas)
        out.append(_errors(res.matrix, true, e1 + o)[0])
    assert abs(out[0] - out[1]) < 2e-5, out


def test_stable_areas_keep_a_changed_region_from_biasing_icp(epochs):
    """A 30 cm heave between the abutments: excluded by the stable areas the answer stays
    right; with all points ICP drags epoch 2 down to 'explain' the heave."""
    e1, _, heaved = epochs
    true = rigid(ROTVEC, SHIFT, centre=[15, 10, 0])
    source = apply(heaved, np.linalg.inv(true))
    good = icp(source, e1, stable_areas=STABLE_AREAS)
    disp_good, _ = _errors(good.matrix, true, e1)
    assert disp_good < 0.002
    bad = icp(source, e1, stable_areas=None)
    disp_bad, _ = _errors(bad.matrix, true, e1)
    assert disp_bad > 0.02, disp_bad  # biased by centimetres
    assert bad.registration_error > 5 * good.registration_error


def test_stable_area_inside_changed_region_biases_result(epochs):
    e1, _, heaved = epochs
    true = rigid(ROTVEC, SHIFT, centre=[15, 10, 0])
    wrong_areas = STABLE_AREAS + [box(9.0, 0.0, 21.0, 20.0)]  # engineer wrongly marks the heaved span
    res = icp(apply(heaved, np.linalg.inv(true)), e1, stable_areas=wrong_areas)
    assert _errors(res.matrix, true, e1)[0] > 0.01


def test_icp_with_coarse_init_and_voxel_thinning(epochs):
    e1, e2, _ = epochs
    true = rigid([0.0, 0.0, 0.05], [1.5, -0.8, 0.3], centre=[15, 10, 0])  # 3 degrees, 1.7 m: needs init
    source = apply(e2, np.linalg.inv(true))
    coarse = rigid([0.0, 0.0, 0.049], [1.45, -0.75, 0.28], centre=[15, 10, 0])  # from picked pairs
    res = icp(source, e1, init=coarse, stable_areas=STABLE_AREAS, voxel_size=0.1)
    disp, ang = _errors(res.matrix, true, e1)
    assert disp < 0.003 and ang < 0.0003
    assert any("voxel" in n for n in res.notes)


def test_icp_errors_are_clear(epochs):
    e1, e2, _ = epochs
    with pytest.raises(DataError, match="stable areas"):
        icp(e2, e1, stable_areas=[box(100, 100, 110, 110)])
    with pytest.raises(DataError) as err:
        icp(e2 + [50.0, 0.0, 0.0], e1, stable_areas=None, max_distance=0.5)  # no overlap
    assert "do not overlap" in err.value.message and "coarse" in err.value.hint
    with pytest.raises(ParameterError):
        icp(e2, e1, max_distance=0)


def test_icp_warns_when_stable_surfaces_are_only_ground(epochs):
    e1, e2, _ = epochs
    flat = [box(9.0, 0.0, 12.0, 7.0)]  # open ground only: horizontal shifts are unconstrained
    res = icp(e2, e1, stable_areas=flat)
    assert any("too few directions" in n for n in res.notes)


def test_icp_can_be_cancelled(epochs):
    from gis_desk.errors import CanceledError

    e1, e2, _ = epochs
    fb = Feedback()
    fb.cancel()
    with pytest.raises(CanceledError):
        icp(e2, e1, feedback=fb)


# --- CRS --------------------------------------------------------------------------------


def test_check_same_crs():
    check_same_crs("EPSG:27700", 27700)
    check_same_crs(None, None)
    check_same_crs("EPSG:27700", "EPSG:7405")  # BNG + ODN height: same horizontal, one vertical
    with pytest.raises(CrsError) as err:
        check_same_crs("EPSG:27700", "EPSG:32630", "e1.laz", "e2.laz")
    assert "e1.laz" in str(err.value) and "27700" in str(err.value) and "32630" in str(err.value)
    with pytest.raises(MissingCrsError):
        check_same_crs("EPSG:27700", None, "e1.laz", "e2.laz")
