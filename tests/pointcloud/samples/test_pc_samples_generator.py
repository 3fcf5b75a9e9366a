"""The shipped samples are exactly what the generator makes (deterministic), and their truth is coherent."""

from __future__ import annotations

import json
import sys

import numpy as np
import pytest

from pc_sample_sites import SAMPLES


@pytest.fixture(scope="module")
def generator():
    sys.path.insert(0, str(SAMPLES))
    try:
        import make_pointcloud_samples
    finally:
        sys.path.remove(str(SAMPLES))
    return make_pointcloud_samples


@pytest.mark.parametrize("site", ["bridge", "seawall"])
def test_regenerated_files_are_identical(generator, site, tmp_path):
    if not (SAMPLES / site / "ground_truth.json").exists():
        pytest.skip(f"sample {site} not in this checkout")
    assert generator.main(["--site", site, "--out", str(tmp_path)]) == 0
    shipped = json.loads((SAMPLES / site / "ground_truth.json").read_text())
    for name in [*shipped["files"].values(), "ground_truth.json", "README.md"]:
        assert (tmp_path / site / name).read_bytes() == (SAMPLES / site / name).read_bytes(), name


def test_larger_sample_has_the_requested_size(generator, tmp_path):
    from gis_desk.io.pointcloud import read_pointcloud

    assert generator.main(["--site", "seawall", "--points", "400000", "--out", str(tmp_path)]) == 0
    truth = json.loads((tmp_path / "seawall" / "ground_truth.json").read_text())
    for epoch in truth["epochs"]:
        ds = read_pointcloud(tmp_path / "seawall" / epoch["file"])[0]
        assert ds.count == epoch["points"] and 0.9 * 400_000 < ds.count <= 400_000


def test_truth_is_coherent(bridge_site):
    truth = bridge_site.truth
    names = set(bridge_site.zones["name"])
    assert set(truth["zones_expected_flagged"]) | set(truth["zones_expected_unchanged"]) == names
    assert not set(truth["zones_expected_flagged"]) & set(truth["zones_expected_unchanged"])
    spall = next(c for c in truth["changes"] if c["id"] == "pier1_spalling")
    assert spall["expected_volume_m3"] == pytest.approx(spall["magnitude_m"] * spall["face_area_m2"])
    m = np.asarray(truth["misregistration"]["matrix"])
    assert np.allclose(m @ np.asarray(truth["misregistration"]["registration_expected"]), np.eye(4), atol=1e-6)
    assert len(bridge_site.epoch1) == truth["epochs"][0]["points"]
