"""The SYNTHETIC care-records sample (sample_surveys/trafford/synthetic): deterministic rebuild,
points inside the real LSOAs, and the planted problems reported by GIS Desk exactly as planted.

The LSOA geometry and IMD deciles come from the committed lsoa11_imd2019.gpkg (real data);
the counts the generator says it planted are compared with what ``import_records`` and the
identifier checks find, and re-derived here where that is cheap (CHI rule, UPRN forms).
"""

from __future__ import annotations

import csv
import importlib.util
import json
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[1]
SYNTHETIC = ROOT / "sample_surveys" / "trafford" / "synthetic"
LSOA = ROOT / "sample_surveys" / "trafford" / "lsoa11_imd2019.gpkg"
REBUILD_HINT = "the committed synthetic sample is out of date: run sample_surveys/make_care_samples.py and commit it"


def _generator():
    spec = importlib.util.spec_from_file_location("make_care_samples", ROOT / "sample_surveys" / "make_care_samples.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


GEN = _generator()
GAZETTEER = SYNTHETIC / GEN.GAZETTEER_FILE
CARE = SYNTHETIC / GEN.CARE_FILE
TRUTH = json.loads((SYNTHETIC / GEN.TRUTH_FILE).read_text())


@pytest.fixture(scope="module")
def gazetteer() -> pd.DataFrame:
    return pd.read_csv(GAZETTEER, dtype={"UPRN": np.int64})


@pytest.fixture(scope="module")
def care() -> pd.DataFrame:
    return pd.read_csv(CARE, dtype=str, keep_default_na=False)


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> Path:
    from gis_desk.io.gazetteer import import_gazetteer

    path = tmp_path_factory.mktemp("gazetteer") / "synthetic.uprn"
    stats = import_gazetteer(GAZETTEER, path)
    assert (stats.stored, stats.invalid_uprn, stats.duplicates) == (TRUTH["gazetteer"]["rows"], 0, 0)
    return path


@pytest.fixture(scope="module")
def imported(store, tmp_path_factory):
    """(records dataset, match report) imported with a key of the test's own."""
    from gis_desk.io.records import import_records

    return import_records(CARE, store, drop_columns=["client_name", "date_of_birth"], key=b"k" * 32)


def test_rebuild_is_identical(tmp_path):
    GEN.build(tmp_path, LSOA)
    for name in (GEN.CARE_FILE, GEN.TRUTH_FILE):
        assert (tmp_path / name).read_bytes() == (SYNTHETIC / name).read_bytes(), REBUILD_HINT
    rebuilt = pd.read_csv(tmp_path / GEN.GAZETTEER_FILE, dtype=str)
    committed = pd.read_csv(GAZETTEER, dtype=str)
    pd.testing.assert_frame_equal(rebuilt[["UPRN", "X_COORDINATE", "Y_COORDINATE"]],
                                  committed[["UPRN", "X_COORDINATE", "Y_COORDINATE"]], obj=REBUILD_HINT)
    # WGS84 comes from PROJ, which may use the OSTN15 grid where installed: allow ~0.2 m
    for column in ("LATITUDE", "LONGITUDE"):
        assert np.abs(rebuilt[column].astype(float) - committed[column].astype(float)).max() < 2e-6


def test_everything_is_labelled_synthetic(care):
    assert all(name.startswith("SYNTHETIC_") for name in GEN.FILES)
    assert care["client_name"].str.startswith("SYNTHETIC Client ").all()
    assert care["record_id"].str.match(r"^SYN-\d{5}$").all()
    assert "no real UPRN" in TRUTH["SYNTHETIC"]
    readme = (ROOT / "sample_surveys" / "README.md").read_text()
    assert "SYNTHETIC" in readme and "not real UPRNs" in readme


def test_gazetteer_layout_and_synthetic_uprns(gazetteer):
    assert GAZETTEER.read_text().splitlines()[0] == "UPRN,X_COORDINATE,Y_COORDINATE,LATITUDE,LONGITUDE"
    assert len(gazetteer) == TRUTH["gazetteer"]["rows"]
    uprns = gazetteer["UPRN"].to_numpy()
    assert (np.diff(uprns) > 0).all()  # sorted and unique
    assert uprns.min() >= 999_000_000_000 and uprns.max() <= 999_099_999_999  # 12 digits, 9990...
    assert GAZETTEER.stat().st_size < 5 * 1024 * 1024


def test_every_address_lies_inside_its_lsoa_and_counts_follow_population(gazetteer):
    import geopandas as gpd
    import shapely
    from pyproj import Transformer

    lsoas = gpd.read_file(LSOA, layer="lsoa11_imd2019")
    lsoas["geometry"] = shapely.make_valid(lsoas.geometry.values)
    points = gpd.GeoDataFrame(geometry=gpd.points_from_xy(gazetteer["X_COORDINATE"], gazetteer["Y_COORDINATE"]),
                              crs="EPSG:27700")
    hits = gpd.sjoin(points, lsoas[["LSOA11CD", "geometry"]], predicate="within", how="left")
    assert not hits["LSOA11CD"].isna().any()  # every point is strictly inside an LSOA...
    assert not hits.index.duplicated().any()  # ...and inside only one
    per_lsoa = hits["LSOA11CD"].value_counts().to_dict()
    assert per_lsoa == TRUTH["gazetteer"]["addresses_per_lsoa"]
    assert set(per_lsoa) == set(lsoas["LSOA11CD"])  # every one of the 138 LSOAs has addresses
    counts = np.array(list(per_lsoa.values()))
    # LSOAs hold similar populations (about 1,500 residents): similar address counts
    assert 500 <= counts.mean() <= 650 and counts.min() >= GEN.ADDRESSES_MIN and counts.max() <= GEN.ADDRESSES_MAX
    # LATITUDE/LONGITUDE are the same places (within 1 m) and not swapped
    x, y = Transformer.from_crs("EPSG:4326", "EPSG:27700", always_xy=True).transform(
        gazetteer["LONGITUDE"].to_numpy(), gazetteer["LATITUDE"].to_numpy())
    assert np.hypot(x - gazetteer["X_COORDINATE"], y - gazetteer["Y_COORDINATE"]).max() < 1.0


def _chi_status(value: str) -> str:
    """The CHI rule read independently: 10 digits, DDMMYY a date, modulus-11 check digit."""
    if value == "":
        return "blank"
    if len(value) == 9 and value.isdigit():
        return "lost_leading_zero"
    day, month, year = int(value[:2]), int(value[2:4]), int(value[4:6])
    try:
        date(2000 + year, month, day)
    except ValueError:
        return "bad_date"
    total = sum(int(d) * w for d, w in zip(value[:9], range(10, 1, -1)))
    check = (11 - total % 11) % 11
    return "valid" if check != 10 and check == int(value[9]) else "bad_check_digit"


def test_planted_problems_are_what_the_truth_file_says(care):
    truth = TRUTH["care_records"]
    assert len(care) == truth["rows"]
    statuses = care["CHI"].map(_chi_status).value_counts().to_dict()
    assert {k: v for k, v in truth["chi"].items() if v} == statuses
    assert truth["chi"]["bad_check_digit"] >= GEN.BAD_CHECK_DIGIT_CHI and truth["chi"]["lost_leading_zero"] > 0
    uprn = care["UPRN"]
    assert (uprn.str.fullmatch(r"\d{12}\.0")).sum() == truth["recovered"]
    assert (uprn.str.fullmatch(r"\d\.\d{5}E\+11")).sum() == truth["invalid_by_status"]["lossy"]
    assert uprn.isin(["", "N/A"]).sum() == truth["invalid_by_status"]["blank"]
    plain = uprn[uprn.str.fullmatch(r"\d{12}")]
    assert plain.duplicated(keep=False).sum() == truth["duplicate_rows"]


def test_match_report_equals_the_planted_truth(imported):
    truth = TRUTH["care_records"]
    dataset, report = imported
    counts = report.to_dict()
    for key in ("matched", "unmatched", "invalid", "invalid_by_status", "recovered", "duplicate_rows",
                "duplicate_uprns"):
        assert counts[key] == truth[key], key
    assert counts["total_rows"] == truth["rows"] == len(dataset.frame)
    (chi,) = counts["identifiers"]["columns"]
    assert chi["column"] == "CHI" and chi["kind"] == "chi"
    found = {k: v for k, v in chi["status_counts"].items() if v}
    assert found == {k: v for k, v in truth["chi"].items() if v}
    assert chi["invalid"] == truth["chi_invalid"]
    assert counts["dropped_columns"] == ["client_name", "date_of_birth"]
    assert len(report.unmatched_rows) == truth["unmatched"] + truth["invalid"]


def test_care_records_concentrate_in_deprived_lsoas(imported):
    import geopandas as gpd

    from gis_desk.analysis.aggregate import aggregate_points, summarise_by_decile

    dataset, _ = imported
    lsoas = gpd.read_file(LSOA, layer="lsoa11_imd2019")
    with_counts, report = aggregate_points(dataset.frame, lsoas, area_id="LSOA11CD")
    assert report.assigned == TRUTH["care_records"]["matched"] and report.outside == 0
    table = summarise_by_decile(with_counts, decile_field="IMD_decile").dropna(subset=["decile"])
    by_decile = {str(int(d)): int(c) for d, c in zip(table["decile"], table["count"])}
    assert by_decile == TRUTH["care_records"]["located_by_imd_decile"]
    addresses = TRUTH["gazetteer"]["addresses_per_imd_decile"]
    rate = {d: by_decile[d] / addresses[d] for d in by_decile}  # records per address
    most = (by_decile["1"] + by_decile["2"]) / (addresses["1"] + addresses["2"])
    least = (by_decile["9"] + by_decile["10"]) / (addresses["9"] + addresses["10"])
    assert most > 4 * least
    assert rate["1"] == max(rate.values()) and rate["10"] == min(rate.values())


def test_care_file_is_plain_utf8_csv_with_text_identifiers():
    with open(CARE, newline="", encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    assert tuple(rows[0]) == GEN.CARE_COLUMNS
    chi = [r[1] for r in rows[1:]]
    assert any(len(v) == 10 and v.startswith("0") for v in chi)  # leading zeros kept as text
