"""write_comparison_outputs: every file is written and reopens with GIS Desk's own readers."""

from __future__ import annotations

import json

import numpy as np
import pytest

from gis_desk.analysis.change import load_lines, load_m3c2_params, load_polygons, load_zones, write_comparison_outputs
from gis_desk.errors import CorruptFileError, DataError, MissingFileError


def _strict(text: str):
    def refuse(token):
        raise ValueError(f"non-standard JSON constant {token}")

    return json.loads(text, parse_constant=refuse)


def test_outputs_reopen(comparison, tmp_path):
    from gis_desk.io.pointcloud import read_pointcloud
    from gis_desk.io.raster import read_raster
    from gis_desk.io.vector import read_vector

    paths = write_comparison_outputs(comparison, tmp_path / "out")
    assert {"change_laz", "dod", "zones", "histogram", "json", "sections_png", "sections_csv",
            "registration_matrix"} <= set(paths)
    assert all(p.exists() and p.stat().st_size > 0 for p in paths.values())

    change = read_pointcloud(paths["change_laz"])[0]
    finite = np.isfinite(comparison.m3c2.core).all(axis=1)
    assert change.count == int(finite.sum())
    for name in ("m3c2_distance", "lod95", "significant", "n1", "n2", "normal_z"):
        assert name in change.cloud.attributes, name
    got = change.cloud.attributes["m3c2_distance"]
    want = comparison.m3c2.distance[finite]
    assert np.array_equal(np.isnan(got), np.isnan(want))
    assert np.allclose(got[~np.isnan(got)], want[~np.isnan(want)], atol=1e-6)
    assert change.cloud.attributes["significant"].sum() == comparison.m3c2.significant[finite].sum()
    assert "27700" in change.crs.to_string()

    dod = read_raster(paths["dod"])[0]
    assert dod.count == 2 and (dod.height, dod.width) == comparison.dod.shape
    assert "27700" in dod.crs.to_string()

    zones = read_vector(paths["zones"])[0].frame
    assert list(zones["name"]) == list(comparison.zones["name"])
    assert list(zones["exceeds"].astype(bool)) == list(comparison.zones["exceeds"])
    assert np.allclose(zones["lean_mrad"].fillna(-1), comparison.zones["lean_mrad"].fillna(-1))

    from PIL import Image

    with Image.open(paths["histogram"]) as im:
        assert im.size[0] > 300 and im.size[1] > 200

    record = _strict(paths["json"].read_text(encoding="utf-8"))
    assert record["summary"]["flagged_zones"] == ["wall", "yard"]
    assert record["files"]["dod"] == "dod.tif"
    assert record["registration_error_m"] == pytest.approx(comparison.registration_error)
    assert record["m3c2"]["params"]["cylinder_radius"] == 0.3
    assert len(record["histogram"]["counts"]) == len(comparison.histogram[0])

    from gis_desk.analysis.registration import read_transform

    assert np.allclose(read_transform(paths["registration_matrix"]), comparison.registration.matrix, atol=1e-9)


def test_unwritable_output_folder_is_a_writer_error(comparison, tmp_path):
    from gis_desk.errors import WriterError

    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(WriterError):
        write_comparison_outputs(comparison, blocker / "out")


def test_param_and_vector_loaders(tmp_path):
    import geopandas as gpd
    from shapely.geometry import LineString, Point, box

    p = tmp_path / "p.json"
    p.write_text(json.dumps({"normal_radius": 0.4, "cylinder_radius": 0.2, "max_depth": 1.0,
                             "normal_orientation": ["towards", [1, 2, 3]]}))
    params, notes, spacing = load_m3c2_params(p)
    assert params.cylinder_radius == 0.2 and params.normal_orientation == ("towards", (1, 2, 3)) and spacing is None
    p.write_text('{"normal_radius": -1}')
    with pytest.raises(CorruptFileError):
        load_m3c2_params(p)
    with pytest.raises(MissingFileError):
        load_m3c2_params(tmp_path / "none.txt")

    gpkg = tmp_path / "z.gpkg"
    gpd.GeoDataFrame({"label": ["a"]}, geometry=[box(0, 0, 1, 1)], crs="EPSG:27700").to_file(gpkg)
    assert len(load_polygons(gpkg, "EPSG:27700")) == 1
    with pytest.raises(DataError, match="no field 'name'"):
        load_zones(gpkg, "EPSG:27700")
    assert list(load_zones(gpkg, "EPSG:27700", name_field="label")["label"]) == ["a"]
    with pytest.raises(DataError, match="LineString"):
        load_lines(gpkg)
    lines = tmp_path / "l.gpkg"
    gpd.GeoDataFrame({"name": ["x"]}, geometry=[LineString([(0, 0), (1, 1)])], crs="EPSG:27700").to_file(lines)
    assert load_lines(lines, "EPSG:27700")[1] == ["x"]
    pts = tmp_path / "p.gpkg"
    gpd.GeoDataFrame({"name": ["x"]}, geometry=[Point(0, 0)], crs="EPSG:27700").to_file(pts)
    with pytest.raises(DataError, match="not Point"):
        load_polygons(pts)


def test_cloudcompare_params_of_the_samples():
    from pathlib import Path

    pytest.importorskip("gis_desk.io.m3c2_params")
    f = Path(__file__).resolve().parents[3] / "sample_surveys" / "seawall" / "m3c2_params.txt"
    if not f.exists():
        pytest.skip("seawall sample absent")
    params, notes, spacing = load_m3c2_params(f)
    assert (params.normal_radius, params.cylinder_radius, params.max_depth) == (0.5, 0.25, 0.5)
    assert params.normal_orientation[0] == "towards" and spacing == pytest.approx(0.1)
