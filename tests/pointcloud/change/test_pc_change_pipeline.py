"""compare_epochs on a synthetic scene with known change, its checks, settings and helpers."""

from __future__ import annotations

import math

import numpy as np
import pytest

from gis_desk.analysis.change import (ComparisonSettings, check_epochs, compare_epochs, face_lean, with_cell_lod)
from gis_desk.core.crs import to_crs
from gis_desk.core.pointcloud import PointCloud
from gis_desk.errors import CanceledError, CrsError, DataError, ParameterError
from gis_desk.processing.feedback import Feedback
from pc_change_scenes import MISREG, SPALL, X0, Y0, pit_volume


def test_registration_undoes_the_misregistration(epochs, comparison):
    xyz = epochs[1].xyz[::50]
    back = comparison.registration.matrix @ MISREG  # identity when registration is perfect
    moved = xyz @ back[:3, :3].T + back[:3, 3]
    assert np.linalg.norm(moved - xyz, axis=1).max() < 0.003
    assert comparison.registration_error < 0.005
    assert "stable areas" in comparison.registration_error_source
    assert any("refined from the first ICP" in n for n in comparison.registration.notes)


def test_spall_measured_and_wall_flagged(comparison):
    res = comparison.m3c2
    c = res.core - (X0, Y0, 0)
    m = (np.abs(c[:, 1] - 20) < 0.05) & (c[:, 0] > SPALL["x0"] + 0.4) & (c[:, 0] < SPALL["x1"] - 0.4) \
        & (c[:, 2] > SPALL["z0"] + 0.4) & (c[:, 2] < SPALL["z1"] - 0.4) & np.isfinite(res.distance)
    assert m.sum() > 30
    # normals look south (towards the viewpoint): a loss into the wall reads negative
    assert np.median(res.distance[m]) == pytest.approx(-SPALL["depth"], abs=float(np.median(res.lod95[m])))
    assert res.significant[m].mean() > 0.9
    zones = comparison.zones.set_index("name")
    assert zones.loc["wall", "exceeds"] and "M3C2" in zones.loc["wall", "exceeds_reason"]
    assert not zones.loc["block", "exceeds"]


def test_pit_volume_from_the_dod(comparison):
    zones = comparison.zones.set_index("name")
    loss = zones.loc["yard", "volume_loss_m3"]
    # the rim of the pit is shallower than the LoD, so a little of its volume is not counted
    assert 0.75 * pit_volume() < loss <= 1.02 * pit_volume()
    assert zones.loc["yard", "volume_gain_m3"] < 0.02
    assert comparison.dod.loss_m3 == pytest.approx(loss, rel=0.1)  # nothing else lost on the site
    assert "DoD volume" in zones.loc["yard", "exceeds_reason"]


def test_result_record_and_sections(comparison):
    d = comparison.to_dict()
    assert d["summary"]["flagged_zones"] == ["wall", "yard"]
    assert d["registration"]["method"]
    assert set(comparison.timings) >= {"checks", "registration", "m3c2", "dod", "zones", "sections", "total"}
    counts, edges = comparison.histogram
    assert counts.sum() == np.isfinite(comparison.m3c2.distance).sum() and len(edges) == len(counts) + 1
    assert [p.label for p in comparison.sections] == ["across the wall: Epoch 1", "across the wall: Epoch 2"]
    assert all(len(p.distance) > 50 for p in comparison.sections)
    assert comparison.n_points == (len(comparison.epoch1_preview), comparison.n_points[1])


def test_progress_and_cancel(epochs, settings_factory):
    seen = []
    fb = Feedback(on_progress=seen.append)
    small = [PointCloud(e.xyz[::4], {k: v[::4] for k, v in e.attributes.items()}, e.crs) for e in epochs]
    compare_epochs(*small, settings_factory(zones=None, section_lines=[], section_labels=[]), feedback=fb)
    assert seen[-1] == 100.0 and seen == sorted(seen)
    fb = Feedback()
    fb.cancel()
    with pytest.raises(CanceledError):
        compare_epochs(*small, settings_factory(), feedback=fb)


def test_given_registration_error_and_pairs(epochs, settings_factory):
    """A registration error in metres goes straight into LoD95 = 1.96 (... + reg); point pairs
    alone (no ICP) register the epochs."""
    e1, e2 = (PointCloud(e.xyz[::3], {k: v[::3] for k, v in e.attributes.items()}, e.crs) for e in epochs)
    true = np.linalg.inv(MISREG)
    src = np.array([[X0 + 5, Y0 + 5, 13], [X0 + 38, Y0 + 28, 13], [X0 + 3, Y0 + 26, 10], [X0 + 30, Y0 + 2, 10.0]])
    src2 = src @ MISREG[:3, :3].T + MISREG[:3, 3]  # where those points sit in epoch 2
    s = settings_factory(icp=False, point_pairs=(src2, src), registration_error=0.004, zones=None,
                         section_lines=[], section_labels=[])
    r = compare_epochs(e1, e2, s)
    assert np.allclose(r.registration.matrix[:3, :3], true[:3, :3], atol=1e-6)
    assert r.registration.method and r.registration_error == 0.004 and r.registration_error_source == "given"
    assert r.m3c2.params.registration_error == 0.004
    s0 = settings_factory(icp=False, point_pairs=(src2, src), registration_error=0.0, zones=None,
                          section_lines=[], section_labels=[])
    r0 = compare_epochs(e1, e2, s0)
    ok = np.isfinite(r0.m3c2.lod95)
    assert ok.sum() > 100 and np.array_equal(ok, np.isfinite(r.m3c2.lod95))
    assert np.allclose(r.m3c2.lod95[ok] - r0.m3c2.lod95[ok], 1.96 * 0.004)


# --- bad inputs -----------------------------------------------------------------------------------


def _cloud(xyz, crs="EPSG:27700"):
    return PointCloud(np.asarray(xyz, float), {}, None if crs is None else to_crs(crs))


def test_epochs_in_different_crs_are_refused(epochs):
    e1 = epochs[0]
    other = PointCloud(e1.xyz.copy(), {}, to_crs("EPSG:32630"))
    with pytest.raises(CrsError) as err:
        compare_epochs(e1, other, ComparisonSettings())
    assert "27700" in str(err.value) or "British" in str(err.value)


def test_epochs_that_do_not_overlap_are_refused(epochs):
    e1 = epochs[0]
    far = PointCloud(e1.xyz + (5000.0, 0, 0), {}, e1.crs)
    with pytest.raises(DataError, match="do not overlap"):
        compare_epochs(e1, far, ComparisonSettings())
    # a coarse matrix that brings it back is accepted by the check
    m = np.eye(4)
    m[0, 3] = -5000.0
    check_epochs(e1, far, matrix=m)


def test_empty_and_invalid_epochs():
    good = _cloud([[0, 0, 0], [1, 1, 1], [2, 0, 1]])
    with pytest.raises(DataError, match="no points"):
        check_epochs(good, _cloud(np.zeros((0, 3))))
    with pytest.raises(DataError, match="NaN"):
        check_epochs(good, _cloud([[0, 0, np.nan], [1, 1, 1]]))


@pytest.mark.parametrize("change", [
    {"dod_cell": 0}, {"icp_max_distance": -1.0}, {"threshold": math.nan}, {"registration_error": "guess"},
    {"registration_error": -0.1}, {"coarse_matrix": np.eye(3)}, {"section_labels": ["a", "b"]},
])
def test_bad_settings_are_parameter_errors(epochs, change):
    with pytest.raises(ParameterError):
        compare_epochs(*epochs, ComparisonSettings(**change))


# --- helpers ---------------------------------------------------------------------------------------


def _wall_points(rng, n, *, lean_rad=0.0, noise=0.002):
    """Both faces of a 10 m wall along x (normals -y and +y), 5 m high, leaning towards +y."""
    x, z = rng.uniform(0, 10, n), rng.uniform(0, 5, n)
    face = rng.integers(0, 2, n)
    normals = np.column_stack([np.zeros(n), np.where(face == 0, -1.0, 1.0), np.zeros(n)])
    core = np.column_stack([x, np.where(face == 0, 0.0, 0.6), z])
    move_y = lean_rad * z  # top moves +y
    d = move_y * normals[:, 1] + rng.normal(0, noise, n)
    return core, normals, d


def test_face_lean_of_a_wall_and_a_pier():
    rng = np.random.default_rng(3)
    core, normals, d = _wall_points(rng, 800, lean_rad=0.003)
    lean = face_lean(core, normals, d)
    assert lean["lean_mrad"] == pytest.approx(3.0, abs=3 * lean["lean_se_mrad"] + 0.05)
    assert abs(lean["lean_bearing_deg"] - 0.0) < 2 or abs(lean["lean_bearing_deg"] - 360) < 2  # towards +y: north
    still = face_lean(*_wall_points(rng, 800))
    assert still["lean_mrad"] < 3 * still["lean_se_mrad"] + 0.05
    # a square pier leaning east (+x) by 2 mrad: four faces
    n = 1200
    side = rng.integers(0, 4, n)
    nrm = np.array([[1, 0, 0], [-1, 0, 0], [0, 1, 0], [0, -1, 0]], float)[side]
    z = rng.uniform(0, 6, n)
    core = np.column_stack([rng.uniform(0, 2, n), rng.uniform(0, 2, n), z])
    d = 0.002 * z * nrm[:, 0] + rng.normal(0, 0.002, n)
    pier = face_lean(core, nrm, d)
    assert pier["lean_mrad"] == pytest.approx(2.0, abs=0.2)
    assert pier["lean_bearing_deg"] == pytest.approx(90.0, abs=5)
    # too few face points or too little height: no figure
    assert math.isnan(face_lean(core[:10], nrm[:10], d[:10])["lean_mrad"])
    flat = core.copy()
    flat[:, 2] = 1.0
    assert face_lean(flat, nrm, d)["lean_points"] == 0


def test_cell_lod_rejects_steep_ground_and_keeps_a_real_pit():
    """A 1:1 embankment resampled gives no volume; a 0.2 m deep flat-floored pit keeps its volume."""
    from gis_desk.analysis.dod import dem_of_difference

    rng = np.random.default_rng(5)

    def ground(n, pit):
        x, y = rng.uniform(0, 20, n), rng.uniform(0, 10, n)
        z = np.where(x < 10, 0.0, x - 10.0)  # flat, then a 1:1 bank
        if pit:
            z = z - np.where((x > 3) & (x < 6) & (y > 3) & (y < 6), 0.2, 0.0)
        return np.column_stack([x, y, z + rng.normal(0, 0.005, n)])

    a, b = ground(10_000, False), ground(10_000, True)  # ~12 points per 0.5 m cell
    raw = dem_of_difference(a, b, cell_size=0.5, lod=0.03, min_points=3)
    judged = with_cell_lod(raw, a, b)
    xs, _ = judged.cell_centres()
    bank = (xs > 10.5) & np.isfinite(judged.difference)
    # a fixed LoD passes most bank cells; their own LoD95 passes about the 5 % expected by chance
    assert raw.significant[bank].mean() > 0.3
    assert judged.significant[bank].mean() < 0.08
    loss, gain, net = judged.volumes(bank)
    assert loss + gain < 0.25 * sum(raw.volumes(bank)[:2])  # the chance 5 % still carry some volume...
    assert abs(net) < 0.5 * (loss + gain) + 0.05  # ...of both signs
    flat = ~(xs > 9.5)
    assert judged.volumes(flat)[0] == pytest.approx(9 * 0.2, rel=0.1)  # the 3 x 3 m x 0.2 m pit
    assert judged.volumes(flat)[1] < 0.01
    assert judged.cell_lod.shape == judged.shape and np.nanmin(judged.cell_lod) >= 0.03


def test_an_epoch_of_noise_only_is_refused(epochs):
    e1 = epochs[0]
    noise = PointCloud(e1.xyz[::10].copy(), {"classification": np.full(len(e1.xyz[::10]), 7, np.uint8)}, e1.crs)
    with pytest.raises(DataError, match="only noise"):
        compare_epochs(e1, noise, ComparisonSettings())


def test_icp_crop_keeps_every_stable_point(epochs):
    """Cropping to the stable areas' boxes before ICP loses no point ICP would use, with or
    without a coarse matrix (here a 0.8 mrad turn and 3 m shift)."""
    from gis_desk.analysis.change import _near_stable_areas
    from gis_desk.analysis.registration import apply_transform, stable_mask
    from pc_change_scenes import stable_areas

    s = ComparisonSettings(stable_areas=stable_areas())
    xyz = epochs[1].xyz
    for init in (None, MISREG @ np.array([[1, 0, 0, 3.0], [0, 1, 0, -2.0], [0, 0, 1, 0], [0, 0, 0, 1]])):
        moved = xyz if init is None else apply_transform(xyz, np.linalg.inv(init))
        cropped = _near_stable_areas(moved, init, s)
        placed = lambda p: p if init is None else apply_transform(p, init)  # noqa: E731
        assert len(cropped) < 0.6 * len(moved)
        assert stable_mask(placed(cropped), s.stable_areas).sum() == stable_mask(placed(moved), s.stable_areas).sum()
