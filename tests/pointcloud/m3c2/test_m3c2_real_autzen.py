"""M3C2 on real airborne lidar (PDAL's autzen-thin, Oregon, US survey feet) against py4dgeo.

Real terrain with buildings and trees, split into two interleaved "epochs" of the same survey:
no change happened, so distances centre on zero and few core points are significant, and our
figures must equal py4dgeo's on every core point defined in both.
"""

from __future__ import annotations

import numpy as np
import pytest

from gis_desk.analysis.c2c import c2c
from gis_desk.analysis.m3c2 import M3C2Params, core_points, m3c2

from m3c2_reference import off_cloud, run_py4dgeo

pytest.importorskip("py4dgeo")


@pytest.fixture
def autzen(real_data):
    path = real_data / "pointclouds" / "pdal" / "autzen" / "autzen-thin.las"
    if not path.exists():
        pytest.skip(f"{path} not in the shared real data")
    from gis_desk.io.pointcloud import read_pointcloud

    # The file carries no CRS; PDAL ships it beside the file (Oregon Lambert, US feet).
    [ds] = read_pointcloud(path, crs=(path.parent / "autzen-srs.wkt").read_text())
    xyz = ds.cloud.xyz
    assert len(xyz) == 10653
    return xyz[0::2], xyz[1::2]


@pytest.mark.parametrize("use_median", [False, True], ids=["mean", "median"])
def test_autzen_split_matches_py4dgeo_and_shows_no_change(autzen, use_median):
    e1, e2 = autzen
    core = off_cloud(core_points(e1, "every_nth", n=3))
    # Sparse (about one point per 1,500 sq ft): radii in feet, to match the density.
    p = M3C2Params(normal_radius=100, cylinder_radius=60, max_depth=50, min_points=5,
                   use_median=use_median)
    ours = m3c2(e1, e2, core, p)
    ref = run_py4dgeo(e1, e2, core, p)
    ok = np.isfinite(ours.distance)
    ref_ok = np.isfinite(ref["distance"]) & (ref["n1"] >= 5) & (ref["n2"] >= 5)
    np.testing.assert_array_equal(ok, ref_ok)
    assert ok.sum() > 300
    assert (np.abs(ours.distance[ok] - ref["distance"][ok]) <= 0.001 / 0.3048).mean() >= 0.999
    np.testing.assert_allclose(ours.lod95[ok], ref["lod95"][ok], rtol=1e-6)
    np.testing.assert_array_equal(ours.n1[ok], ref["n1"][ok])
    np.testing.assert_array_equal(ours.n2[ok], ref["n2"][ok])
    # Same survey both times: centred on zero relative to the LoD, rarely significant.
    assert abs(np.median(ours.distance[ok])) < 0.1 * np.median(ours.lod95[ok])
    assert ours.significant.mean() < 0.1


def test_autzen_c2c_nearest_is_the_point_spacing(autzen):
    """Unsigned C2C on two samplings of one survey reads the spacing, not change (why M3C2)."""
    e1, e2 = autzen
    res = c2c(e1, e2)
    assert np.isfinite(res.distance).all()
    spacing = np.sqrt((np.ptp(e1[:, 0]) * np.ptp(e1[:, 1])) / len(e1))
    assert 0.2 * spacing < np.median(res.horizontal) < 2 * spacing
    assert abs(np.median(res.vertical)) < np.median(res.distance)
