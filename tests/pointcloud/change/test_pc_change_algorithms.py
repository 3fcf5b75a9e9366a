"""The point-cloud processing algorithms, run as the CLI and GUI run them (run_algorithm, files in)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from gis_desk.errors import ParameterError
from gis_desk.processing.algorithms.pointcloud import (CompareEpochs, DemOfDifference, M3C2, RegisterEpochs,
                                                        SectionProfiles, ZoneStatistics, parse_orientation)
from gis_desk.processing.feedback import Feedback
from gis_desk.processing.run import run_algorithm
from pc_change_scenes import MISREG, X0, Y0, section_line, stable_areas, zones

M3C2_ARGS = {"normal_radius": 0.4, "cylinder_radius": 0.3, "max_depth": 0.5,
             "orientation": f"towards:{X0 + 20},{Y0 - 50},30", "core_n": 5}


@pytest.fixture(scope="module")
def files(epochs, tmp_path_factory):
    import geopandas as gpd

    from gis_desk.io.pointcloud import write_pointcloud

    d = tmp_path_factory.mktemp("pc_alg")
    out = {"epoch1": d / "e1.laz", "epoch2": d / "e2.laz", "stable": d / "stable.gpkg", "zones": d / "zones.gpkg",
           "sections": d / "sections.gpkg", "dir": d}
    write_pointcloud(out["epoch1"], epochs[0])
    write_pointcloud(out["epoch2"], epochs[1])
    gpd.GeoDataFrame({"name": ["a", "b", "c"]}, geometry=stable_areas(), crs="EPSG:27700").to_file(out["stable"])
    zones().to_file(out["zones"])
    gpd.GeoDataFrame({"name": ["across the wall"]}, geometry=[section_line()], crs="EPSG:27700").to_file(
        out["sections"])
    return out


def _registered(epochs):
    return epochs[1].transformed(np.linalg.inv(MISREG))


def test_register_on_stable_areas(files, epochs, tmp_path):
    out = run_algorithm(RegisterEpochs(), {"epoch1": str(files["epoch1"]), "epoch2": str(files["epoch2"]),
                                           "stable_areas": str(files["stable"]), "output": str(tmp_path / "m.txt")})
    from gis_desk.analysis.registration import read_transform

    m = read_transform(out["output"])
    assert np.allclose(m.ravel(), [float(v) for v in out["matrix"].split()])
    pts = epochs[1].xyz[::100]
    back = m @ MISREG
    assert np.linalg.norm(pts @ back[:3, :3].T + back[:3, 3] - pts, axis=1).max() < 0.003
    assert out["rotation_mrad"] == pytest.approx(0.8, abs=0.1) and out["n_correspondences"] > 500


def test_register_needs_something_to_work_with(files):
    with pytest.raises(ParameterError, match="Nothing to register"):
        run_algorithm(RegisterEpochs(), {"epoch1": str(files["epoch1"]), "epoch2": str(files["epoch2"]),
                                         "icp": False})
    with pytest.raises(ParameterError, match="epoch1"):
        run_algorithm(RegisterEpochs(), {"epoch1": str(files["dir"] / "missing.laz"), "epoch2": str(files["epoch2"])})


def test_point_pairs_and_coarse_matrix(files, tmp_path):
    src = np.array([[X0 + 5, Y0 + 5, 13], [X0 + 38, Y0 + 28, 13], [X0 + 3, Y0 + 26, 10], [X0 + 30, Y0 + 2, 10.0]])
    src2 = src @ MISREG[:3, :3].T + MISREG[:3, 3]
    pairs = tmp_path / "pairs.csv"
    pairs.write_text("x2,y2,z2,x1,y1,z1\n" + "\n".join(",".join(f"{v:.4f}" for v in (*a, *b))
                                                         for a, b in zip(src2, src)))
    out = run_algorithm(RegisterEpochs(), {"epoch1": str(files["epoch1"]), "epoch2": str(files["epoch2"]),
                                           "point_pairs": str(pairs), "icp": False})
    assert out["method"] and out["rms"] < 1e-3
    text = " ".join(f"{v:.12g}" for v in np.linalg.inv(MISREG).ravel())
    out = run_algorithm(RegisterEpochs(), {"epoch1": str(files["epoch1"]), "epoch2": str(files["epoch2"]),
                                           "coarse_matrix": text, "icp": False})
    assert out["method"] == "coarse matrix"


def test_m3c2_dod_and_zone_statistics_chain(files, epochs, tmp_path):
    registered = _registered(epochs)
    m = run_algorithm(M3C2(), {"epoch1": epochs[0], "epoch2": registered, **M3C2_ARGS,
                               "output": str(tmp_path / "change.laz")})
    assert m["defined"] > 0.9 * m["core_points"] and m["significant"] > 50
    dod = run_algorithm(DemOfDifference(), {"epoch1": str(files["epoch1"]), "epoch2": registered,
                                            "output": str(tmp_path / "dod.tif")})
    assert 0.25 < dod["loss_m3"] < 0.42 and dod["gain_m3"] < 0.05
    z = run_algorithm(ZoneStatistics(), {"change": m["output"], "zones": str(files["zones"]), "dod": dod["output"],
                                         "output": str(tmp_path / "zones.gpkg")})
    assert z["flagged"] == "wall, yard" and z["zones"] == 3
    from gis_desk.io.vector import read_vector

    table = read_vector(z["output"])[0].frame.set_index("name")
    assert table.loc["yard", "volume_loss_m3"] == pytest.approx(dod["loss_m3"], rel=0.05)
    assert {"lean_mrad", "exceeds_reason", "share_exceeding"} <= set(table.columns)


def test_zone_statistics_refuses_a_cloud_without_m3c2_fields(files):
    from gis_desk.errors import DataError

    with pytest.raises(DataError, match="not an M3C2 output"):
        run_algorithm(ZoneStatistics(), {"change": str(files["epoch1"]), "zones": str(files["zones"])})


def test_compare_epochs_writes_the_folder(files, tmp_path):
    fb = Feedback()
    alg = CompareEpochs()
    out = run_algorithm(alg, {"epoch1": str(files["epoch1"]), "epoch2": str(files["epoch2"]),
                              "stable_areas": str(files["stable"]), "zones": str(files["zones"]),
                              "sections": str(files["sections"]), **M3C2_ARGS, "site": "yard",
                              "output_folder": str(tmp_path / "cmp")}, fb)
    assert out["flagged_zones"] == "wall, yard"
    assert out["registration_error_m"] < 0.005 and out["median_lod95_m"] < 0.02
    record = json.loads((tmp_path / "cmp" / "comparison.json").read_text())
    assert record["site"] == "yard" and record["summary"]["flagged_zones"] == ["wall", "yard"]
    for name in ("m3c2_change.laz", "dod.tif", "zones_change.gpkg", "histogram.png", "sections.png",
                 "sections.csv", "registration_matrix.txt"):
        assert (tmp_path / "cmp" / name).exists(), name
    assert fb.progress == 100.0 and any("Comparison: m3c2" in t for _, t in fb.messages)
    assert alg.last_result.zones is not None


def test_compare_bad_name_field(files):
    with pytest.raises(ParameterError, match="name_field"):
        run_algorithm(CompareEpochs(), {"epoch1": str(files["epoch1"]), "epoch2": str(files["epoch2"]),
                                        "zones": str(files["zones"]), "name_field": "element"})


def test_sections(files, epochs, tmp_path):
    out = run_algorithm(SectionProfiles(), {"epoch1": str(files["epoch1"]), "epoch2": _registered(epochs),
                                            "lines": str(files["sections"]), "output": str(tmp_path / "s.png"),
                                            "output_csv": str(tmp_path / "s.csv")})
    assert out["profiles"] == 2 and out["points"] > 100
    header = (tmp_path / "s.csv").read_text().splitlines()[0].lower()
    assert "distance" in header and (tmp_path / "s.png").stat().st_size > 1000


def test_layer_transform_is_applied(files):
    from gis_desk.core.pointcloud import PointCloudLayer
    from gis_desk.io.pointcloud import read_pointcloud

    ds = read_pointcloud(files["epoch2"])[0]
    layer = PointCloudLayer(ds, transform=np.linalg.inv(MISREG))
    cloud = M3C2().parameter("epoch2").validate(layer)
    assert np.allclose(cloud.xyz, layer.points())


def test_parse_orientation():
    assert parse_orientation("up") == "up"
    assert parse_orientation("towards:1,2,3") == ("towards", (1.0, 2.0, 3.0))
    assert parse_orientation("0,1,0") == (0.0, 1.0, 0.0)
    assert parse_orientation(None) is None
    with pytest.raises(ParameterError):
        parse_orientation("towards:1,2")
