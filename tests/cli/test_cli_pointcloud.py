"""``gis-desk pointcloud info|compare|register|section`` on the shipped seawall sample."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import pytest

SEAWALL = Path(__file__).resolve().parents[2] / "sample_surveys" / "seawall"
E1, E2 = SEAWALL / "seawall_epoch1_2024-04.laz", SEAWALL / "seawall_epoch2_2025-04.laz"

pytestmark = pytest.mark.skipif(not E1.exists(), reason="seawall sample not in this checkout")


def cli(argv: list[str]) -> int:
    """Through gis_desk.cli.main once 'pointcloud' is wired there, else the same parser and error
    handling around this module's add_parser."""
    from gis_desk.cli import main as cli_main

    if "pointcloud" in cli_main.SUBCOMMANDS:
        return cli_main.main(argv)
    from gis_desk.cli import pointcloud
    from gis_desk.errors import GisDeskError

    parser = argparse.ArgumentParser(prog="gis-desk")
    parser.add_argument("-v", "--verbose", action="store_true")
    pointcloud.add_parser(parser.add_subparsers(dest="command"))
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:
        return int(exc.code or 0)
    try:
        return int(args.handler(args) or 0)
    except GisDeskError as exc:
        return cli_main.report_error(exc)


def test_info(capsys):
    assert cli(["pointcloud", "info", str(E1), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["count"] == 198_126 and info["crs"] == "EPSG:27700" and info["driver"] == "LAZ"
    assert cli(["pointcloud", "info", str(E1)]) == 0
    out = capsys.readouterr().out
    assert "count: 198,126" in out and "classification (uint8)" in out


def test_info_of_a_missing_file(capsys, tmp_path):
    assert cli(["pointcloud", "info", str(tmp_path / "none.laz")]) == 1
    assert "does not exist" in capsys.readouterr().err


def test_compare_json_and_files(capsys, tmp_path):
    out = tmp_path / "cmp"
    code = cli(["pointcloud", "compare", str(E1), str(E2), "--stable-areas", str(SEAWALL / "stable_areas.gpkg"),
                "--zones", str(SEAWALL / "zones.gpkg"), "--sections", str(SEAWALL / "sections.gpkg"),
                "--params", str(SEAWALL / "m3c2_params.txt"), "--out", str(out), "--site", "seawall", "--json"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    record = json.loads(captured.out)
    assert sorted(record["summary"]["flagged_zones"]) == ["seawall bay 3", "seawall bay 5"]
    assert record["site"] == "seawall" and record["m3c2"]["params"]["cylinder_radius"] == 0.25
    assert record["registration"]["method"] and record["registration_error_m"] < 0.01
    assert Path(record["outputs"]["change_cloud"]).exists() and Path(record["outputs"]["dod"]).exists()
    for name in ("comparison.json", "zones_change.gpkg", "histogram.png", "sections.png", "registration_matrix.txt"):
        assert (out / name).exists(), name
    assert "progress" in captured.err or "%" in captured.err


def test_compare_text_table(capsys, tmp_path):
    code = cli(["pointcloud", "compare", str(E1), str(E2), "--stable-areas", str(SEAWALL / "stable_areas.gpkg"),
                "--zones", str(SEAWALL / "zones.gpkg"), "--params", str(SEAWALL / "m3c2_params.txt"),
                "--out", str(tmp_path / "c")])
    out = capsys.readouterr().out
    assert code == 0
    assert "registration error in the LoD" in out and "DoD (0.5 m cells)" in out
    bay5 = next(line for line in out.splitlines() if line.startswith("seawall bay 5"))
    assert "faces lean" in bay5
    bay4 = next(line for line in out.splitlines() if line.startswith("seawall bay 4"))
    assert "lean" not in bay4 and "M3C2" not in bay4


def test_compare_report_when_available(capsys, tmp_path):
    pytest.importorskip("gis_desk.report.change_report", reason="report package not there yet")
    pdf = tmp_path / "c" / "report.pdf"
    code = cli(["pointcloud", "compare", str(E1), str(E2), "--stable-areas", str(SEAWALL / "stable_areas.gpkg"),
                "--zones", str(SEAWALL / "zones.gpkg"), "--params", str(SEAWALL / "m3c2_params.txt"),
                "--out", str(tmp_path / "c"), "--report", str(pdf)])
    assert code == 0, capsys.readouterr().err
    assert pdf.read_bytes()[:5] == b"%PDF-"


def test_compare_refuses_different_crs(capsys, tmp_path):
    from gis_desk.io.pointcloud import read_pointcloud, write_pointcloud
    from gis_desk.core.crs import to_crs
    from gis_desk.core.pointcloud import PointCloud

    cloud = read_pointcloud(E2)[0].cloud
    other = tmp_path / "utm.laz"
    write_pointcloud(other, PointCloud(cloud.xyz[::20], {}, to_crs("EPSG:32630")))
    assert cli(["pointcloud", "compare", str(E1), str(other), "--out", str(tmp_path / "x")]) == 1
    err = capsys.readouterr().err
    assert "error:" in err and ("CRS" in err or "crs" in err)


def test_compare_refuses_epochs_that_do_not_overlap(capsys, tmp_path):
    from gis_desk.io.pointcloud import read_pointcloud, write_pointcloud
    from gis_desk.core.pointcloud import PointCloud

    cloud = read_pointcloud(E2)[0].cloud
    far = tmp_path / "far.laz"
    write_pointcloud(far, PointCloud(cloud.xyz[::20] + (10_000.0, 0, 0), {}, cloud.crs))
    assert cli(["pointcloud", "compare", str(E1), str(far), "--out", str(tmp_path / "x")]) == 1
    assert "do not overlap" in capsys.readouterr().err


def test_bad_params_file_is_exit_1_and_bad_option_exit_2(capsys, tmp_path):
    bad = tmp_path / "p.txt"
    bad.write_text("[General]\nNormalScale=1\n")
    assert cli(["pointcloud", "compare", str(E1), str(E2), "--params", str(bad), "--out", str(tmp_path / "x")]) == 1
    assert "M3C2VER" in capsys.readouterr().err
    assert cli(["pointcloud", "compare", str(E1), str(E2), "--out", str(tmp_path / "x"),
                "--report", str(tmp_path / "r.txt")]) == 2


def test_register_and_section(capsys, tmp_path):
    truth = json.loads((SEAWALL / "ground_truth.json").read_text())
    matrix = tmp_path / "m.txt"
    assert cli(["pointcloud", "register", str(E1), str(E2), "--stable-areas", str(SEAWALL / "stable_areas.gpkg"),
                "--out", str(matrix), "--json"]) == 0
    outputs = json.loads(capsys.readouterr().out)
    from gis_desk.analysis.registration import read_transform

    m = read_transform(matrix)
    want = np.asarray(truth["misregistration"]["registration_expected"])
    c = np.asarray(truth["misregistration"]["rotation_centre_bng"])
    assert np.linalg.norm((m[:3, :3] @ c + m[:3, 3]) - (want[:3, :3] @ c + want[:3, 3])) < 0.003
    assert outputs["output"] == str(matrix)

    png = tmp_path / "s.png"
    assert cli(["pointcloud", "section", str(E1), str(E2), "--lines", str(SEAWALL / "sections.gpkg"),
                "--out", str(png), "--json"]) == 0
    outputs = json.loads(capsys.readouterr().out)
    assert png.exists() and Path(outputs["output_csv"]).exists() and outputs["profiles"] >= 2
