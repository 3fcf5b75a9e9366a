"""M3C2 API: core points, parameter checks, errors, progress and cancel, result as a LAZ."""

from __future__ import annotations

import numpy as np
import pytest

from gis_desk.analysis.m3c2 import M3C2Params, M3C2Result, core_points, m3c2
from gis_desk.errors import CanceledError, DataError, ParameterError
from gis_desk.processing.feedback import Feedback

from m3c2_reference import BNG, plane_pair, wall_pair


def test_core_points_every_nth_and_all():
    xyz = np.arange(30.0).reshape(10, 3)
    np.testing.assert_array_equal(core_points(xyz, "every_nth", n=3), xyz[[0, 3, 6, 9]])
    np.testing.assert_array_equal(core_points(xyz, "every_nth", n=1), xyz)
    everything = core_points(xyz, "all")
    np.testing.assert_array_equal(everything, xyz)
    assert everything is not xyz  # a copy: the caller may edit either


def test_core_points_from_a_pointcloud_object():
    from gis_desk.core.pointcloud import PointCloud

    xyz = np.random.default_rng(0).uniform(0, 1, (50, 3))
    cloud = PointCloud(xyz, {})
    np.testing.assert_array_equal(core_points(cloud, "every_nth", n=5), xyz[::5])


def test_core_points_grid_one_measured_point_per_cell():
    rng = np.random.default_rng(1)
    xyz = np.c_[rng.uniform(0, 2, (5000, 2)), rng.normal(0, 0.001, 5000)] + BNG
    core = core_points(xyz, "grid", spacing=0.25)
    # Every core point is a measured point ...
    as_rows = {tuple(r) for r in xyz}
    assert all(tuple(r) for r in core) and all(tuple(r) in as_rows for r in core)
    # ... one per occupied cell, each cell represented.
    cells = np.floor((core - xyz.min(axis=0)) / 0.25).astype(int)
    assert len(np.unique(cells, axis=0)) == len(core)
    all_cells = np.unique(np.floor((xyz - xyz.min(axis=0)) / 0.25).astype(int), axis=0)
    assert len(core) == len(all_cells) == 64
    # The chosen point is the nearest to its cell's centroid.
    c0 = np.all(np.floor((xyz - xyz.min(axis=0)) / 0.25).astype(int) == cells[0], axis=1)
    centroid = xyz[c0].mean(axis=0)
    assert np.linalg.norm(core[0] - centroid) == pytest.approx(np.linalg.norm(xyz[c0] - centroid, axis=1).min())
    # Deterministic.
    np.testing.assert_array_equal(core, core_points(xyz, "grid", spacing=0.25))


def test_core_points_rejects_bad_settings():
    xyz = np.zeros((5, 3))
    with pytest.raises(ParameterError, match="mode"):
        core_points(xyz, "random")
    with pytest.raises(ParameterError):
        core_points(xyz, "every_nth", n=0)
    with pytest.raises(ParameterError):
        core_points(xyz, "grid", spacing=0)
    with pytest.raises(DataError, match="shape"):
        core_points(np.zeros((5, 2)), "all")
    assert core_points(np.zeros((0, 3)), "grid", spacing=1.0).shape == (0, 3)


@pytest.mark.parametrize("kwargs", [
    dict(normal_radius=0), dict(cylinder_radius=-1), dict(max_depth=float("nan")),
    dict(registration_error=-0.01), dict(min_points=0), dict(normal_orientation="sideways"),
    dict(normal_orientation=(0, 0, 0)), dict(normal_orientation=("towards", (1, 2))),
])
def test_bad_parameters_raise_parameter_error(kwargs):
    e1, e2 = plane_pair(n=500)
    with pytest.raises(ParameterError):
        m3c2(e1, e2, e1[:10], M3C2Params(**kwargs))


def test_bad_arrays_raise_data_error():
    e1, e2 = plane_pair(n=500)
    with pytest.raises(DataError, match="empty"):
        m3c2(e1, e2[:0], e1[:10])
    with pytest.raises(DataError, match=r"\(n, 3\)"):
        m3c2(e1[:, :2], e2, e1[:10])
    bad = e2.copy()
    bad[3, 2] = np.nan
    with pytest.raises(DataError, match="NaN"):
        m3c2(e1, bad, e1[:10])
    with pytest.raises(DataError, match="Normals"):
        m3c2(e1, e2, e1[:10], normals=np.ones((3, 3)))


def test_params_dict_round_trip():
    for p in (M3C2Params(), M3C2Params(0.3, 0.4, 2.0, 0.01, True, 7, (0.0, -1.0, 0.0)),
              M3C2Params(normal_orientation=("towards", (1.0, 2.0, 3.0)))):
        import json

        back = M3C2Params.from_dict(json.loads(json.dumps(p.to_dict())))
        assert back == p


def test_progress_reaches_100_and_cancel_raises():
    import gis_desk.analysis.m3c2 as mod

    e1, e2 = plane_pair(n=4000)
    core = e1[::2]
    seen = []
    fb = Feedback(on_progress=seen.append)
    m3c2(e1, e2, core, M3C2Params(0.5, 0.4, 1.0), feedback=fb)
    assert seen[-1] == 100 and seen == sorted(seen)
    assert any("M3C2" in text for _, text in fb.messages)

    # Cancel once the normals are under way: the run stops with CanceledError.
    class CancelAt(Feedback):
        def set_progress(self, pct):
            super().set_progress(pct)
            if pct > 5:
                self.cancel()

    old = mod._CHUNK
    mod._CHUNK = 200  # several chunks, so a cancel lands between them
    try:
        fb = CancelAt()
        with pytest.raises(CanceledError):
            m3c2(e1, e2, core, M3C2Params(0.5, 0.4, 1.0), feedback=fb)
        assert fb.progress < 100
    finally:
        mod._CHUNK = old


def test_results_follow_the_callers_core_order():
    """Core points are processed in grid order internally; results come back in input order."""
    e1, e2 = wall_pair(n=3000)
    core = e1[::10]
    p = M3C2Params(0.5, 0.4, 1.0, normal_orientation=(0, -1, 0), min_points=1)
    forward = m3c2(e1, e2, core, p)
    perm = np.random.default_rng(3).permutation(len(core))
    shuffled = m3c2(e1, e2, core[perm], p)
    np.testing.assert_array_equal(shuffled.core, core[perm])
    for name in ("distance", "lod95", "n1", "n2", "spread1", "significant"):
        np.testing.assert_array_equal(getattr(shuffled, name), getattr(forward, name)[perm])
    np.testing.assert_array_equal(shuffled.normals, forward.normals[perm])


def _small_result() -> M3C2Result:
    e1, e2 = wall_pair(n=3000, shift=0.03)
    core = np.vstack([e1[::30], BNG + [2, 5, 1]])  # the last one is 5 m off the wall: undefined
    return m3c2(e1, e2, core, M3C2Params(0.5, 0.4, 1.0, normal_orientation=(0, -1, 0)))


def test_as_pointcloud_round_trips_through_laz_extra_bytes(tmp_path):
    from gis_desk.io.pointcloud import read_pointcloud, write_pointcloud

    res = _small_result()
    assert np.isnan(res.distance[-1]) and res.significant[:-1].any()
    cloud = res.as_pointcloud("EPSG:27700")
    assert set(cloud.attributes) == {"m3c2_distance", "lod95", "significant", "n1", "n2", "spread1",
                                     "spread2", "normal_x", "normal_y", "normal_z"}
    path = write_pointcloud(tmp_path / "change.laz", cloud)
    [ds] = read_pointcloud(path)
    back = ds.cloud
    assert len(back) == len(res)
    assert back.crs is not None and back.crs.to_epsg() == 27700
    np.testing.assert_allclose(back.xyz, res.core, atol=0.0011)  # LAS stores mm
    for name, ref in (("m3c2_distance", res.distance), ("lod95", res.lod95),
                      ("spread1", res.spread1), ("spread2", res.spread2)):
        np.testing.assert_array_equal(back.attributes[name], ref, err_msg=name)  # float64, nan kept
    np.testing.assert_array_equal(back.attributes["significant"].astype(bool), res.significant)
    np.testing.assert_array_equal(back.attributes["n1"], res.n1)
    np.testing.assert_array_equal(back.attributes["n2"], res.n2)
    for a, name in enumerate(("normal_x", "normal_y", "normal_z")):
        np.testing.assert_allclose(back.attributes[name], res.normals[:, a], atol=1e-6)


def test_summary_counts():
    res = _small_result()
    s = res.summary()
    assert s["core_points"] == len(res)
    assert s["defined"] == int(np.isfinite(res.distance).sum()) == len(res) - 1
    assert s["significant"] == int(res.significant.sum())
    assert s["mean_distance"] == pytest.approx(0.03, abs=0.003)


def test_no_core_points_gives_an_empty_result(recwarn):
    e1, e2 = plane_pair(n=500)
    res = m3c2(e1, e2, np.zeros((0, 3)))
    assert len(res) == 0 and res.summary()["defined"] == 0
    assert not [w for w in recwarn if issubclass(w.category, RuntimeWarning)]
