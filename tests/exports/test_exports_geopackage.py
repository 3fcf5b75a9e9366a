"""GeoPackage export: controlled counts, QGIS layer_styles row, policy metadata, GDAL clean."""

import sqlite3
import xml.etree.ElementTree as ET

import numpy as np
import pandas as pd
import pyogrio
import pytest

from gis_desk.analysis.disclosure import NhsDigitalPolicy, NoDisclosureControl, ThresholdPolicy
from gis_desk.core.classify import categorised_style, graduated_style
from gis_desk.core.project import Project
from gis_desk.errors import DataError, ParameterError, WriterError
from gis_desk.io.exports import export_geopackage
from gis_desk.io.qgis_style import qgis_color


def style_rows(path):
    return pyogrio.read_dataframe(path, layer="layer_styles", read_geometry=False)


def test_geopackage_holds_controlled_counts(tmp_path, lsoas):
    path = tmp_path / "care.gpkg"
    style = graduated_style(lsoas, "care", n=5)
    result = export_geopackage(lsoas, path, "care_by_lsoa", style, NhsDigitalPolicy(), count_columns=["care"])
    back = pyogrio.read_dataframe(path, layer="care_by_lsoa")
    assert len(back) == 138 == len(lsoas)
    assert {"LSOA11CD", "care", "IMD_decile", "suppression"} <= set(back.columns)
    assert back.crs.to_epsg() == 27700
    assert back["LSOA11CD"].tolist() == lsoas["LSOA11CD"].tolist()
    shown = back["care"].dropna().astype(int)
    assert not shown.between(1, 7).any()
    assert (shown % 5 == 0).all()
    hidden = back["care"].isna()
    expected = result.report.primary["care"] | result.report.secondary["care"]
    assert hidden.tolist() == expected.tolist()
    # the published flag names hidden cells without saying which are the small ones
    assert set(back.loc[hidden, "suppression"]) == {"care"} and set(back.loc[~hidden, "suppression"]) == {""}
    assert result.report.n_secondary > 0 or lsoas.loc[hidden, "care"].between(1, 7).all()
    assert hidden.sum() == result.report.n_primary + result.report.n_secondary - len(result.report.total_flags)
    assert lsoas["care"].between(1, 7).sum() > 5  # the data did exercise suppression


def test_layer_styles_row_matches_the_graduated_style(tmp_path, lsoas):
    path = tmp_path / "care.gpkg"
    style = graduated_style(lsoas, "care", n=5, ramp="YlOrRd")
    export_geopackage(lsoas, path, "care_by_lsoa", style, NhsDigitalPolicy(), count_columns=["care"])
    rows = style_rows(path)
    assert len(rows) == 1
    row = rows.iloc[0]
    assert row["f_table_name"] == "care_by_lsoa" and row["f_geometry_column"] == "geom"
    assert row["f_table_catalog"] == "" and row["f_table_schema"] == ""
    assert bool(row["useAsDefault"]) is True
    assert "NHS Digital" in row["description"]
    root = ET.fromstring(row["styleQML"].split("\n", 1)[1])  # after the DOCTYPE line
    renderer = root.find("renderer-v2")
    assert renderer.get("type") == "graduatedSymbol" and renderer.get("attr") == "care"
    ranges = renderer.findall("ranges/range")
    assert len(ranges) == len(style.classes)
    symbols = {s.get("name"): s for s in renderer.findall("symbols/symbol")}
    for rng, cls in zip(ranges, style.classes):
        assert float(rng.get("lower")) == pytest.approx(cls.lower)
        assert float(rng.get("upper")) == pytest.approx(cls.upper)
        layer = symbols[rng.get("symbol")].find("layer")
        assert layer.get("class") == "SimpleFill"
        color = layer.find("Option/Option[@name='color']").get("value")
        assert color == qgis_color(cls.symbol.fill)
        assert layer.find("prop[@k='color']").get("v") == color


def test_categorised_style_of_imd_deciles(tmp_path, lsoas):
    path = tmp_path / "imd.gpkg"
    style = categorised_style(lsoas, "IMD_decile", ramp="RdYlBu")
    export_geopackage(lsoas, path, "imd", style, NoDisclosureControl("public IMD 2019 deciles"))
    qml = style_rows(path).iloc[0]["styleQML"]
    renderer = ET.fromstring(qml.split("\n", 1)[1]).find("renderer-v2")
    assert renderer.get("type") == "categorizedSymbol" and renderer.get("attr") == "IMD_decile"
    categories = renderer.findall("categories/category")
    values = [c.get("value") for c in categories if c.get("value")]
    assert values == [str(c.value) for c in style.categories]
    assert set(values) <= {str(v) for v in range(1, 11)} and len(values) >= 5
    symbols = {s.get("name"): s for s in renderer.findall("symbols/symbol")}
    for element, category in zip(categories, style.categories):
        fill = symbols[element.get("symbol")].find("layer/prop[@k='color']").get("v")
        assert fill == qgis_color(category.symbol.fill)
    back = pyogrio.read_dataframe(path, layer="imd")
    assert back["IMD_decile"].tolist() == lsoas["IMD_decile"].tolist()  # nothing controlled


def test_policy_is_in_the_geopackage_metadata(tmp_path, lsoas):
    path = tmp_path / "care.gpkg"
    export_geopackage(lsoas, path, "care", None, ThresholdPolicy(k=10), count_columns=["care"],
                      description="Synthetic care packages per LSOA")
    info = pyogrio.read_info(path, layer="care")
    assert info["layer_metadata"]["DISCLOSURE_POLICY"] == "Threshold k=10"
    assert '"k": 10' in info["layer_metadata"]["DISCLOSURE_POLICY_JSON"]
    with sqlite3.connect(path) as db:
        description = db.execute("SELECT description FROM gpkg_contents WHERE table_name = 'care'").fetchone()[0]
        metadata = db.execute(
            "SELECT m.metadata FROM gpkg_metadata m JOIN gpkg_metadata_reference r ON r.md_file_id = m.id "
            "WHERE r.reference_scope = 'table' AND r.table_name = 'care'").fetchall()
        kinds = dict(db.execute("SELECT table_name, data_type FROM gpkg_contents").fetchall())
        version = db.execute("PRAGMA user_version").fetchone()[0]
    assert description.startswith("Synthetic care packages per LSOA") and "Threshold k=10" in description
    assert len(metadata) == 1 and "DISCLOSURE_POLICY" in metadata[0][0] and "Threshold k=10" in metadata[0][0]
    assert kinds == {"care": "features", "layer_styles": "attributes"}
    assert version == 10200  # GeoPackage 1.2: older GDAL opens it without a version warning


def test_gdal_opens_the_geopackage_without_warnings(tmp_path, lsoas, gdal):
    path = tmp_path / "care.gpkg"
    export_geopackage(lsoas, path, "care", graduated_style(lsoas, "care"), NhsDigitalPolicy(), count_columns=["care"])
    run = gdal("ogrinfo", "-al", "-so", str(path))
    if run is None:
        pytest.skip("ogrinfo is not installed")
    assert run.returncode == 0, run.stderr
    assert "Warning" not in run.stderr and "ERROR" not in run.stderr, run.stderr
    assert "Feature Count: 138" in run.stdout and "DISCLOSURE_POLICY=NHS Digital" in run.stdout


def test_second_layer_keeps_the_first_layers_style(tmp_path, lsoas):
    path = tmp_path / "both.gpkg"
    export_geopackage(lsoas, path, "care", graduated_style(lsoas, "care"), NhsDigitalPolicy(), count_columns=["care"])
    export_geopackage(lsoas, path, "imd", categorised_style(lsoas, "IMD_decile"), NoDisclosureControl("public IMD"))
    export_geopackage(lsoas, path, "care", graduated_style(lsoas, "care", n=3), NhsDigitalPolicy(),
                      count_columns=["care"])  # replaced, not duplicated
    rows = style_rows(path)
    assert sorted(rows["f_table_name"]) == ["care", "imd"]
    care_qml = rows.loc[rows["f_table_name"] == "care", "styleQML"].iloc[0]
    assert care_qml.count("<range ") == 3
    assert sorted(pyogrio.list_layers(path)[:, 0]) == ["care", "imd", "layer_styles"]
    assert not list(tmp_path.glob(".*tmp*"))  # no temporary file left behind


def test_derived_columns_are_blanked_where_counts_are_hidden(tmp_path, lsoas):
    lsoas["rate"] = lsoas["care"] / 1500.0 * 1000
    result = export_geopackage(lsoas, tmp_path / "r.gpkg", "r", None, ThresholdPolicy(), count_columns=["care"],
                               derived_columns=["rate"])
    back = pyogrio.read_dataframe(tmp_path / "r.gpkg", layer="r")
    assert back["rate"].isna().tolist() == back["care"].isna().tolist()
    assert back["rate"].dtype.kind == "f"  # still numeric, NULL where hidden
    assert result.report.n_primary > 0


def test_export_records_are_kept_with_the_project(tmp_path, lsoas):
    from gis_desk.io.project_file import read_project, save_project
    from gis_desk.session import Session

    project = Project()
    project.mark_dirty(False)
    export_geopackage(lsoas, tmp_path / "a.gpkg", "care", None, NhsDigitalPolicy(), project, count_columns=["care"])
    log = []
    export_geopackage(lsoas, tmp_path / "b.gpkg", "care", None, ThresholdPolicy(k=5), log, count_columns=["care"])
    assert project.dirty and len(project.export_log) == 1 and len(log) == 1
    record = project.export_log[0]
    assert record.where == str((tmp_path / "a.gpkg").resolve())
    assert record.policy == "NHS Digital" and "care" in record.what and record.when
    assert record.details["policy"] == {"kind": "nhs_digital", "suppress_zero": False}
    assert record.details["suppression"]["primary"] > 0
    assert log[0].policy == "Threshold k=5"
    saved = save_project(project, tmp_path / "p.gdesk")
    reopened = read_project(saved, Session())
    assert [(r.what, r.where, r.policy) for r in reopened.export_log] == [(record.what, record.where, record.policy)]


def test_bad_exports_raise_clear_errors(tmp_path, lsoas):
    with pytest.raises(ParameterError, match="disclosure policy"):
        export_geopackage(lsoas, tmp_path / "x.gpkg", "x", None, None, count_columns=["care"])
    with pytest.raises(DataError, match="individual records are never exported"):
        export_geopackage(lsoas, tmp_path / "x.gpkg", "x", None, NhsDigitalPolicy())
    with pytest.raises(WriterError, match="does not exist") as err:
        export_geopackage(lsoas, tmp_path / "missing" / "x.gpkg", "x", None, NhsDigitalPolicy(), count_columns=["care"])
    assert "missing" in str(err.value)
    with pytest.raises(WriterError, match=".gpkg"):
        export_geopackage(lsoas, tmp_path / "x.shp", "x", None, NhsDigitalPolicy(), count_columns=["care"])
    with pytest.raises(DataError, match="no count column"):
        export_geopackage(lsoas, tmp_path / "x.gpkg", "x", None, NhsDigitalPolicy(), count_columns=["nope"])
    with pytest.raises(ParameterError, match="name"):
        export_geopackage(lsoas, tmp_path / "x.gpkg", "", None, NhsDigitalPolicy(), count_columns=["care"])
    assert not (tmp_path / "x.gpkg").exists()


def test_a_failed_write_leaves_the_old_file(tmp_path, lsoas, monkeypatch):
    path = tmp_path / "keep.gpkg"
    export_geopackage(lsoas, path, "care", None, NhsDigitalPolicy(), count_columns=["care"])
    before = path.read_bytes()

    def broken(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(pyogrio, "write_dataframe", broken)
    with pytest.raises(WriterError, match="disk full"):
        export_geopackage(lsoas, path, "care", None, NhsDigitalPolicy(), count_columns=["care"])
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keep.gpkg"]


def test_synthetic_points_aggregated_then_exported(tmp_path, lsoas):
    """End to end with the aggregation module: points -> counts per LSOA -> controlled export."""
    import geopandas as gpd

    from gis_desk.analysis.aggregate import aggregate_points

    rng = np.random.default_rng(5)
    areas = lsoas[["LSOA11CD", "geometry"]]
    centres = areas.geometry.representative_point()
    picks = rng.integers(0, len(areas), 900)
    picks = picks[picks % 3 != 0]  # leave some areas with few or no records
    points = gpd.GeoDataFrame(geometry=centres.iloc[picks].to_numpy(), crs=areas.crs)
    counted, _ = aggregate_points(points, areas, area_id="LSOA11CD")
    assert counted["count"].sum() == len(points)
    result = export_geopackage(counted, tmp_path / "agg.gpkg", "agg", graduated_style(counted, "count"),
                               NhsDigitalPolicy(), count_columns=["count"])
    back = pyogrio.read_dataframe(tmp_path / "agg.gpkg", layer="agg")
    assert not back["count"].dropna().astype(int).between(1, 7).any()
    assert result.report.column_totals["count"] == int(np.round(len(points) / 5) * 5)
    pd.testing.assert_series_equal(back["LSOA11CD"], counted["LSOA11CD"], check_names=False)
