"""The UPRN processing algorithms run end to end through run_algorithm."""

from __future__ import annotations

import json

import pandas as pd
import pyogrio
import pytest

from gis_desk.errors import CanceledError, ParameterError
from gis_desk.processing.algorithms.uprn import ImportGazetteer, JoinRecords
from gis_desk.processing.feedback import Feedback
from gis_desk.processing.run import run_algorithm


@pytest.fixture
def store(tmp_path):
    csv = tmp_path / "open_uprn.csv"
    csv.write_text("UPRN,X_COORDINATE,Y_COORDINATE,LATITUDE,LONGITUDE\n"
                   "100012345678,377000.5,388000.25,53.4,-2.3\n10070461991,378000,389000,53.4,-2.3\n"
                   ",1,1,0,0\n10070461991,5,5,0,0\n")
    out = run_algorithm(ImportGazetteer(), {"input": str(csv), "store": str(tmp_path / "gb.uprn")})
    assert (out["stored"], out["rows"], out["invalid_uprn"], out["duplicates"]) == (2, 4, 1, 1)
    assert out["crs"] == "EPSG:27700" and out["invalid_by_status"] == {"blank": 1}
    return out["store"]


def test_join_writes_layer_report_and_unmatched(tmp_path, store):
    records = tmp_path / "care.csv"
    pd.DataFrame({"UPRN": ["100012345678", "100012345678.0", "1.00012E+11", "", "42"],
                  "hours": [1, 2, 3, 4, 5]}).to_csv(records, index=False)
    out = run_algorithm(JoinRecords(), {"input": str(records), "gazetteer": store,
                                        "output": str(tmp_path / "care_points.gpkg")})
    assert (out["count"], out["matched"], out["unmatched_count"], out["invalid"]) == (5, 2, 1, 2)
    layer = pyogrio.read_dataframe(out["output"])
    assert len(layer) == 5 and layer.crs.to_epsg() == 27700
    assert layer["matched"].tolist() == [True, True, False, False, False]
    assert layer["UPRN"].tolist()[:2] == [100012345678, 100012345678]
    report = json.loads(open(out["report"]).read())
    assert out["report"].endswith("care_points_match.json")
    assert report["invalid_by_status"]["lossy"] == 1 and report["duplicate_rows"] == 2
    unmatched = pd.read_csv(out["unmatched"], dtype=str, keep_default_na=False)
    assert unmatched["UPRN_as_given"].tolist() == ["1.00012E+11", "", "42"]


def test_parameters_are_checked(tmp_path, store):
    with pytest.raises(ParameterError, match="does not exist"):
        run_algorithm(JoinRecords(), {"input": str(tmp_path / "none.csv"), "gazetteer": store})
    (tmp_path / "r.csv").write_text("UPRN\n1\n")
    with pytest.raises(ParameterError, match="folder"):
        run_algorithm(JoinRecords(), {"input": str(tmp_path / "r.csv"), "gazetteer": str(tmp_path / "r.csv")})
    with pytest.raises(ParameterError, match="both"):
        run_algorithm(ImportGazetteer(), {"input": str(tmp_path / "r.csv"), "store": str(tmp_path / "s.uprn"),
                                          "x_column": "X"})
    with pytest.raises(ParameterError, match="does not exist"):
        run_algorithm(ImportGazetteer(), {"input": str(tmp_path / "r.csv"),
                                          "store": str(tmp_path / "no" / "s.uprn")})


def test_cancelled_join_writes_nothing(tmp_path, store):
    records = tmp_path / "care.csv"
    pd.DataFrame({"UPRN": ["100012345678"] * 10}).to_csv(records, index=False)
    feedback = Feedback(on_progress=lambda p: feedback.cancel() if p >= 40 else None)
    with pytest.raises(CanceledError):
        run_algorithm(JoinRecords(), {"input": str(records), "gazetteer": store,
                                      "output": str(tmp_path / "out.gpkg")}, feedback)
    assert not (tmp_path / "out.gpkg").exists() and not (tmp_path / "out_match.json").exists()


def test_algorithms_describe_themselves():
    for algorithm in (ImportGazetteer(), JoinRecords()):
        d = algorithm.to_dict()
        assert d["id"].startswith("builtins.uprn_") and d["parameters"]
        assert algorithm.help_text()
