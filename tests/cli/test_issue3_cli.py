"""The issue-3 CLI shortcuts (uprn import-gazetteer / join, heatmap, aggregate, overlap) end to
end on small synthetic inputs whose answers are known, in-process (``main(argv)`` + capsys)."""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pytest
from shapely.geometry import box

from gis_desk.cli.main import main
from gis_desk.cli.shortcuts import SHORTCUTS, declared_parameters

ISSUE3_ALGORITHMS = {"builtins.uprn_import_gazetteer", "builtins.uprn_join", "builtins.deprivation_join",
                     "builtins.aggregate", "builtins.overlap", "builtins.hex_grid", "builtins.heatmap",
                     "builtins.export_controlled"}

# Two 1 km squares side by side in British National Grid: A (IMD decile 1), B (decile 10).
AREA_A = box(380000, 390000, 381000, 391000)
AREA_B = box(381000, 390000, 382000, 391000)
UPRN0 = 100_000_000_000
IN_A = list(range(1, 13))  # UPRN0 + 1..12 lie in A, UPRN0 + 13..20 in B
IN_B = list(range(13, 21))


def cli(capsys, *argv):
    """Run the CLI; returns (exit code, stdout, stderr)."""
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def chi_for(day: int, serial: int) -> str:
    """A valid CHI number (born on ``day`` March 1950) by the published modulus-11 rule."""
    while True:
        first9 = f"{day:02d}0350{serial % 1000:03d}"
        check = 11 - sum(int(d) * w for d, w in zip(first9, range(10, 1, -1))) % 11
        if check != 10:
            return first9 + str(0 if check == 11 else check)
        serial += 1


@pytest.fixture
def gazetteer_csv(tmp_path):
    """20 UPRNs at known places, plus a blank UPRN and a repeated one (OS Open UPRN layout)."""
    lines = ["UPRN,X_COORDINATE,Y_COORDINATE,LATITUDE,LONGITUDE"]
    for i in IN_A:
        lines.append(f"{UPRN0 + i},{380050 + 80 * (i - 1)},{390500 + (i % 3) * 100},53.4,-2.3")
    for i in IN_B:
        lines.append(f"{UPRN0 + i},{381050 + 100 * (i - 13)},{390500},53.4,-2.3")
    lines += [",380500,390500,53.4,-2.3", f"{UPRN0 + 1},1,1,0,0"]
    path = tmp_path / "open_uprn.csv"
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture
def store(tmp_path, gazetteer_csv, capsys):
    code, out, err = cli(capsys, "uprn", "import-gazetteer", gazetteer_csv, tmp_path / "test.uprn", "--json")
    assert code == 0, err
    return json.loads(out)["store"]


def records_frame() -> pd.DataFrame:
    """18 care records: 13 matched (10 in A, one written '...003.0'; 3 in B, one UPRN twice),
    2 valid UPRNs not in the gazetteer, 3 without a usable UPRN (blank, text, lossy)."""
    uprns = [str(UPRN0 + i) for i in range(1, 11)]
    uprns[2] = f"{UPRN0 + 3}.0"
    uprns += [str(UPRN0 + 13), str(UPRN0 + 14), str(UPRN0 + 14)]
    uprns += [str(UPRN0 + 99), str(UPRN0 + 98), "", "TBC", "1.00000E+11"]
    return pd.DataFrame({"CHI": [chi_for(i + 1, 100 + 7 * i) for i in range(len(uprns))],
                         "client_name": [f"SYNTHETIC Client {i}" for i in range(len(uprns))],
                         "weekly_hours": np.arange(len(uprns), dtype=float) + 0.5, "UPRN": uprns})


@pytest.fixture
def records(tmp_path):
    path = tmp_path / "care.csv"
    records_frame().to_csv(path, index=False)
    return path


@pytest.fixture
def joined(tmp_path, records, store, capsys):
    out_path = tmp_path / "care_points.gpkg"
    code, out, err = cli(capsys, "uprn", "join", records, "--gazetteer", store, "--out", out_path,
                         "--drop", "client_name", "--json")
    assert code == 0, err
    return out_path, json.loads(out)


@pytest.fixture
def areas(tmp_path):
    path = tmp_path / "areas.gpkg"
    gpd.GeoDataFrame({"code": ["A", "B"], "IMD_decile": [1, 10], "population": [1500, 1600]},
                     geometry=[AREA_A, AREA_B], crs="EPSG:27700").to_file(path)
    return path


# --- the manifest and the shortcuts' declarations ---------------------------------------------


def test_algorithms_list_shows_every_issue3_algorithm(capsys):
    code, out, err = cli(capsys, "algorithms", "list", "--json")
    assert code == 0, err
    assert ISSUE3_ALGORITHMS <= {row["id"] for row in json.loads(out)}


def test_every_shortcut_option_is_a_parameter_of_its_algorithm():
    for shortcut in SHORTCUTS:
        declared = declared_parameters(shortcut)
        for option in shortcut.options:
            assert option.param in declared, (shortcut.words, option.flags)
        for param, source, _ in shortcut.beside:
            assert {param, source} <= declared


# --- uprn ----------------------------------------------------------------------------------------


def test_import_gazetteer_reports_counts(tmp_path, gazetteer_csv, capsys):
    code, out, err = cli(capsys, "uprn", "import-gazetteer", gazetteer_csv, tmp_path / "g.uprn", "--json")
    assert code == 0, err
    stats = json.loads(out)
    assert (stats["stored"], stats["rows"], stats["invalid_uprn"], stats["duplicates"]) == (20, 22, 1, 1)
    assert stats["crs"] == "EPSG:27700" and Path(stats["store"]).is_dir()
    code, text, err = cli(capsys, "uprn", "import-gazetteer", gazetteer_csv, tmp_path / "h.uprn")
    assert code == 0 and "stored: 20" in text.splitlines()


def test_uprn_join_json_is_the_match_report(joined):
    out_path, report = joined
    assert (report["count"], report["matched"], report["unmatched_count"], report["invalid"]) == (18, 13, 2, 3)
    match = report["match"]
    assert match["invalid_by_status"] == {"blank": 1, "text": 1, "out_of_range": 0, "lossy": 1}
    assert (match["recovered"], match["duplicate_rows"], match["duplicate_uprns"]) == (1, 2, 1)
    assert match["identifier_columns"] == {"CHI": "chi"} and match["dropped_columns"] == ["client_name"]
    layer = pyogrio.read_dataframe(out_path)
    assert len(layer) == 18 and int(layer["matched"].sum()) == 13
    assert "client_name" not in layer.columns
    raw = set(records_frame()["CHI"])
    assert not raw & set(layer["CHI"]) and layer["CHI"].str.startswith("p_").all()
    unmatched = pd.read_csv(report["unmatched"], dtype=str, keep_default_na=False)
    assert len(unmatched) == 5 and not raw & set(unmatched["CHI"])
    assert json.loads(Path(report["report"]).read_text())["matched"] == 13


def test_uprn_join_text_output_and_no_pseudonymise_warning(tmp_path, records, store, capsys):
    code, out, err = cli(capsys, "uprn", "join", records, "-g", store, "-o", tmp_path / "raw.gpkg",
                         "--no-pseudonymise", "--report", tmp_path / "r.json")
    assert code == 0, err
    assert "matched: 13" in out.splitlines() and "NOT pseudonymised" in err
    assert json.loads((tmp_path / "r.json").read_text())["pseudonymised"] is False


def test_uprn_errors_have_the_cli_exit_codes(tmp_path, records, store, capsys):
    code, _, err = cli(capsys, "uprn", "join", records, "--gazetteer", tmp_path / "missing.uprn")
    assert code == 2 and "missing.uprn" in err  # bad parameter: the store does not exist
    no_uprn = tmp_path / "no_uprn.csv"
    no_uprn.write_text("name,notes\nx,y\n")
    code, _, err = cli(capsys, "uprn", "join", no_uprn, "--gazetteer", store, "--out", tmp_path / "x.gpkg")
    assert code == 1 and "no_uprn.csv" in err and "UPRN" in err  # a data problem
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    code, _, err = cli(capsys, "uprn", "import-gazetteer", empty, tmp_path / "e.uprn")
    assert code == 1 and "empty" in err
    code, _, err = cli(capsys, "uprn", "join", records, "-g", store, "--out", tmp_path / "a.gpkg",
                       "--param", "output=b.gpkg")
    assert code == 2 and "twice" in err
    code, _, err = cli(capsys, "uprn", "join", records, "-g", store, "--param", "colour=red")
    assert code == 2 and "colour" in err
    code, _, _ = cli(capsys, "uprn", "join", records)  # argparse: --gazetteer is needed by the algorithm
    assert code == 2


# --- aggregate -----------------------------------------------------------------------------------


def test_aggregate_to_areas_with_decile_summary(tmp_path, joined, areas, capsys):
    points, _ = joined
    out_path = tmp_path / "by_area.gpkg"
    code, out, err = cli(capsys, "aggregate", points, areas, "--out", out_path, "--area-id", "code",
                         "--population", "population", "--json")
    assert code == 0, err
    report = json.loads(out)
    assert (report["points"], report["assigned"], report["outside"], report["no_geometry"]) == (18, 13, 0, 5)
    assert report["share_most_deprived_20"] == pytest.approx(10 / 13, abs=1e-6)
    deciles = {row["decile"]: row["count"] for row in report["decile_summary_rows"]}
    assert deciles[1] == 10 and deciles[10] == 3 and sum(deciles.values()) == 13
    layer = pyogrio.read_dataframe(out_path).set_index("code")
    assert layer.loc["A", "count"] == 10 and layer.loc["B", "count"] == 3
    assert layer.loc["A", "rate_per_1000"] == pytest.approx(10 / 1500 * 1000)


def test_aggregate_to_hexagons_and_under_a_policy(tmp_path, joined, areas, capsys):
    points, _ = joined
    code, out, err = cli(capsys, "aggregate", points, "hex:250", "--out", tmp_path / "hex.gpkg", "--json")
    assert code == 0, err
    report = json.loads(out)
    assert report["assigned"] == 13 and report["no_geometry"] == 5 and report["decile_summary"] is None
    assert int(pyogrio.read_dataframe(tmp_path / "hex.gpkg")["count"].sum()) == 13

    code, out, err = cli(capsys, "aggregate", points, areas, "--out", tmp_path / "safe.gpkg", "--area-id", "code",
                         "--policy", "nhs", "--json")
    assert code == 0, err
    published = pyogrio.read_dataframe(tmp_path / "safe.gpkg", layer="safe")["count"]
    values = published.dropna().astype(int)
    assert not values.between(1, 7).any() and (values % 5 == 0).all() and published.isna().any()
    rows = json.loads(out)["decile_summary_rows"]
    assert all(not (isinstance(r["count"], int) and 1 <= r["count"] <= 7) for r in rows)

    code, _, err = cli(capsys, "aggregate", points, "hex:abc", "--out", tmp_path / "bad.gpkg")
    assert code == 2 and "hex" in err
    code, _, err = cli(capsys, "aggregate", points, areas, "--area-id", "nope", "--out", tmp_path / "bad.gpkg")
    assert code == 2 and "nope" in err


# --- heatmap -------------------------------------------------------------------------------------


def test_heatmap_of_the_joined_records(tmp_path, joined, capsys):
    import rasterio

    points, _ = joined
    out_path = tmp_path / "heat.tif"
    code, out, err = cli(capsys, "heatmap", points, "--out", out_path, "--radius-m", 300, "--pixel-size-m", 50,
                         "--json")
    assert code == 0, err
    result = json.loads(out)
    assert result["points"] == 13 and result["radius_m"] == 300 and result["radius_auto"] == "no"
    assert "5 feature(s) have no point" in err
    # QGIS's grid: the points' extent (x 380050..381150, y 390500..390700) grown by the radius
    assert (result["cols"], result["rows"]) == (35, 17)
    with rasterio.open(out_path) as src:
        assert (src.width, src.height, src.crs.to_epsg(), src.nodata) == (35, 17, 27700, -9999)
        assert src.bounds.left == 380050 - 300 and src.bounds.top == 390700 + 300
        assert src.read(1).max() == pytest.approx(result["max_value"])

    code, out, err = cli(capsys, "heatmap", points, "--out", tmp_path / "auto.tif", "--kernel", "gaussian",
                         "--weight", "weekly_hours", "--json")
    assert code == 0, err
    assert json.loads(out)["radius_auto"] == "yes" and "Automatic radius" in err
    code, _, err = cli(capsys, "heatmap", points, "--out", tmp_path / "bad.tif", "--kernel", "cosine")
    assert code == 2 and "cosine" in err
    code, _, err = cli(capsys, "heatmap", points, "--out", tmp_path / "bad.png")
    assert code == 2 and ".png" in err


def test_heatmap_under_a_policy_masks_cells_reached_by_few_records(tmp_path, joined, capsys):
    import rasterio

    points, _ = joined
    raw_path, safe_path = tmp_path / "raw.tif", tmp_path / "safe.tif"
    args = ("--radius-m", 300, "--pixel-size-m", 50)
    code, _, err = cli(capsys, "heatmap", points, "--out", raw_path, *args)
    assert code == 0 and "RAW" in err
    code, _, err = cli(capsys, "heatmap", points, "--out", safe_path, *args, "--policy", "threshold:3")
    assert code == 0, err
    with rasterio.open(raw_path) as raw, rasterio.open(safe_path) as safe:
        raw_valid = raw.read(1) != raw.nodata
        safe_valid = safe.read(1) != safe.nodata
        assert safe.tags()["DISCLOSURE_MIN_RECORDS"] == "3"
        assert safe.tags(ns="IMAGE_STRUCTURE").get("LAYOUT") == "COG"
    assert safe_valid.sum() < raw_valid.sum()  # cells reached by 1-2 records are gone
    assert not (safe_valid & ~raw_valid).any()
    code, _, err = cli(capsys, "heatmap", points, "--out", tmp_path / "x.tif", *args, "--policy", "sometimes")
    assert code == 2 and "policy" in err


# --- overlap -------------------------------------------------------------------------------------


def test_overlap_of_three_tables(tmp_path, capsys):
    files = []
    for name, members in (("social_care", [1, 2, 3, 4]), ("housing", [3, 4, 5]), ("police", [4, 5, 6])):
        path = tmp_path / f"{name}.csv"
        pd.DataFrame({"UPRN": [str(UPRN0 + m) for m in members] + ["TBC"]}).to_csv(path, index=False)
        files.append(path)
    out_path = tmp_path / "overlap.gpkg"
    code, out, err = cli(capsys, "overlap", *files, "--k", "2", "--out", out_path, "--json")
    assert code == 0, err
    summary = json.loads(out)
    assert summary["count"] == 3 and summary["located"] == 0 and summary["output"] is None
    assert summary["table"] == str(tmp_path / "overlap.csv")  # beside --out by default
    table = pd.read_csv(summary["table"], dtype={"UPRN": str})
    assert sorted(table["UPRN"]) == [str(UPRN0 + m) for m in (3, 4, 5)]
    by_n = {row["n_layers"]: row for row in summary["by_n_layers_rows"]}
    assert (by_n[3]["uprns"], by_n[2]["uprns"], by_n[2]["at_least"], by_n[1]["at_least"]) == (1, 2, 3, 6)
    assert summary["pairwise_rows"]

    code, out, err = cli(capsys, "overlap", *files, "-k", "3", "--table", tmp_path / "t3.csv")
    assert code == 0 and "count: 1" in out.splitlines()
    code, _, err = cli(capsys, "overlap", *files, "--k", "4")
    assert code == 2 and "k" in err
