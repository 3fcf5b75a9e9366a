"""Registration and DoD on a real airborne lidar tile (PDAL's autzen_trim.laz, Oregon Lambert, feet).

The tile is split into two interleaved halves (independent samples of the same terrain,
buildings and trees), one is moved by a known rigid motion, and ICP must undo it; the DoD of
the ground-only halves must find no systematic change.  Units are feet throughout.
"""

from __future__ import annotations

import numpy as np
import pytest
from pc_analysis_scenes import apply, rigid

from gis_desk.analysis.dod import dem_of_difference
from gis_desk.analysis.registration import icp, rotation_angle


@pytest.fixture
def autzen(real_data):
    import laspy

    path = real_data / "pointclouds" / "pdal" / "laz" / "autzen_trim.laz"
    if not path.exists():
        pytest.skip(f"real lidar sample not found at {path}")
    las = laspy.read(path)
    return np.c_[las.x, las.y, las.z], np.asarray(las.classification)


def test_icp_undoes_known_motion_on_real_lidar(autzen):
    xyz, _ = autzen
    e1, e2 = xyz[0::2], xyz[1::2]
    true = rigid([0.001, -0.0005, 0.0015], [0.5, -0.3, 0.2], centre=xyz.mean(0))  # 1.9 mrad, 0.6 ft
    res = icp(apply(e2, np.linalg.inv(true)), e1, max_distance=5.0)
    resid = res.matrix @ np.linalg.inv(true)
    disp = np.abs(apply(e1, resid) - e1).max()  # worst point of a 1,200 x 560 ft tile
    assert disp < 0.25 and rotation_angle(resid) < 0.0003, (disp, rotation_angle(resid))
    assert res.overlap > 0.9
    # Trees and roof edges make the residual spread far larger than on a synthetic wall.
    assert 0.05 < res.registration_error < 0.5


def test_dod_of_real_ground_finds_no_systematic_change(autzen):
    xyz, cls = autzen
    ground = xyz[cls == 2]
    dod = dem_of_difference(ground[0::2], ground[1::2], cell_size=10.0, lod=0.5, min_points=3)
    assert dod.n_compared > 1000
    assert dod.n_significant / dod.n_compared < 0.05
    compared_area = dod.n_compared * dod.cell_area
    assert abs(dod.net_m3) / compared_area < 0.01  # mean level change under 0.01 ft
