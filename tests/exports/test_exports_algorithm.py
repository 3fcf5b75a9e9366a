"""The export_controlled processing algorithm and styles built from published values."""

import xml.etree.ElementTree as ET

import pandas as pd
import pyogrio
import pytest

from gis_desk.analysis.disclosure import NhsDigitalPolicy
from gis_desk.core.classify import graduated_style
from gis_desk.errors import ParameterError
from gis_desk.io.exports import export_geopackage
from gis_desk.processing.algorithms.exports import ExportControlled
from gis_desk.processing.run import run_algorithm


@pytest.fixture
def lsoa_file(tmp_path, lsoas):
    path = tmp_path / "raw.gpkg"
    lsoas["rate"] = lsoas["care"] / 1600 * 1000
    pyogrio.write_dataframe(lsoas, path, layer="raw")
    return path


def range_edges(path, layer):
    rows = pyogrio.read_dataframe(path, layer="layer_styles", read_geometry=False)
    qml = rows.loc[rows["f_table_name"] == layer, "styleQML"].iloc[0]
    ranges = ET.fromstring(qml.split("\n", 1)[1]).findall("renderer-v2/ranges/range")
    return {float(r.get(k)) for r in ranges for k in ("lower", "upper")}


def test_algorithm_exports_a_styled_geopackage(tmp_path, lsoa_file, lsoas):
    out = tmp_path / "shared.gpkg"
    result = run_algorithm(ExportControlled(), {"input": str(lsoa_file), "count_fields": "care", "policy": "nhs",
                                                "derived_fields": "rate", "output": str(out)})
    assert result["output"] == str(out) and result["count"] == 138 and result["policy"] == "NHS Digital"
    assert result["primary"] > 0
    back = pyogrio.read_dataframe(out, layer="shared")
    assert not back["care"].dropna().between(1, 7).any()
    assert back["rate"].isna().tolist() == back["care"].isna().tolist()
    edges = range_edges(out, "shared")
    assert all(e % 5 == 0 for e in edges)  # classes from published (rounded) values
    assert max(edges) == back["care"].max()


def test_algorithm_exports_csv(tmp_path, lsoa_file):
    out = tmp_path / "shared.csv"
    result = run_algorithm(ExportControlled(), {"input": str(lsoa_file), "count_fields": "care",
                                                "policy": "threshold:10", "output": str(out)})
    table = pd.read_csv(out, dtype=str, keep_default_na=False)
    assert (table["care"] == "[c]").sum() == result["primary"] + result["secondary"]
    assert (tmp_path / "shared_README.txt").exists()


@pytest.mark.parametrize("params, words", [
    ({"count_fields": "care", "policy": "gdpr"}, "policy"),
    ({"count_fields": " , ", "policy": "nhs"}, "count_fields"),
    ({"count_fields": "cares", "policy": "nhs"}, "no field 'cares'"),
    ({"count_fields": "care", "policy": "nhs", "derived_fields": "nope"}, "no field 'nope'"),
])
def test_algorithm_bad_parameters(tmp_path, lsoa_file, params, words):
    with pytest.raises(ParameterError, match=words):
        run_algorithm(ExportControlled(), {"input": str(lsoa_file), "output": str(tmp_path / "x.gpkg"), **params})
    assert not (tmp_path / "x.gpkg").exists()


def test_style_function_sees_only_published_values(tmp_path, lsoas):
    seen = []

    def style(controlled):
        seen.append(controlled["care"].copy())
        return graduated_style(controlled, "care", n=4)

    export_geopackage(lsoas, tmp_path / "s.gpkg", "s", style, NhsDigitalPolicy(), count_columns=["care"])
    shown = seen[0].dropna()
    assert len(seen) == 1 and seen[0].isna().any() and (shown % 5 == 0).all()
    assert all(e % 5 == 0 for e in range_edges(tmp_path / "s.gpkg", "s"))
