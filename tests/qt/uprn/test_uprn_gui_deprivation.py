"""The deprivation panel on real data: IMD 2019 joined to Trafford's 2011 LSOAs."""

from __future__ import annotations

import numpy as np
import pytest

from gis_desk.core.style import CategorisedStyle, GraduatedStyle
from gis_desk.qt.uprn.deprivation_panel import DeprivationPanel

from uprn_gui_helpers import add_points, grab


@pytest.fixture
def trafford(real_data):
    boundaries = real_data / "uk_boundaries" / "UK-GeoJSON" / "lsoa11_E08000009_Trafford.geojson"
    imd = real_data / "uk_deprivation" / "humaniverse_IMD" / "imd2019_england_lsoa11.csv"
    return boundaries, imd


def _lightness(hex_colour: str) -> float:
    r, g, b = (int(hex_colour[i:i + 2], 16) for i in (1, 3, 5))
    return 0.299 * r + 0.587 * g + 0.114 * b


def test_join_imd2019_to_trafford_lsoas_and_summarise_records(qtbot, session, tasks, trafford, tmp_path):
    boundaries_path, imd_path = trafford
    [lsoas] = session.open(boundaries_path)
    panel = DeprivationPanel(session, tasks)
    qtbot.addWidget(panel)
    panel.resize(440, 900)
    panel.show()
    assert panel.boundaries.layer() is lsoas

    panel.table_path.setText(str(imd_path))
    assert panel.join() is not None
    qtbot.waitUntil(lambda: panel.task is None, timeout=30000)
    report = panel.join_report
    assert report is not None and report.index == "IMD2019"
    assert report.matched_features == 138 and report.unmatched_boundary_codes == []
    assert "138 of 138" in panel.join_info.text()
    layer = panel.deprivation_layer()
    assert layer is not None and layer in session.project.layers and len(layer.dataset) == 138
    style = layer.style
    assert isinstance(style, CategorisedStyle) and style.field == "IMD_decile"
    assert [c.value for c in style.categories] == list(range(1, 11))
    assert style.categories[0].label.startswith("1 (most deprived")
    fills = [c.symbol.fill[:7] for c in style.categories]
    assert _lightness(fills[0]) < _lightness(fills[4]) < _lightness(fills[9])  # 1 = darkest
    assert str(layer.dataset.source.path).endswith(".gpkg")  # saved in the project cache, reopenable

    panel.groups.setCurrentIndex(panel.groups.findData("quintile"))
    assert isinstance(layer.style, GraduatedStyle) and len(layer.style.classes) == 5
    assert layer.name.endswith("quintiles")
    panel.groups.setCurrentIndex(panel.groups.findData("decile"))

    # one record at a point inside each LSOA: the decile summary equals the count of LSOAs per decile
    frame = layer.dataset.frame
    inside = frame.to_crs("EPSG:27700").representative_point()
    xy = np.column_stack([inside.x, inside.y])
    records = add_points(session, xy, name="one per area")
    panel.records.set_layer(records)
    assert panel.summarise() is not None
    qtbot.waitUntil(lambda: panel.task is None, timeout=30000)
    summary = panel.summary
    expected = frame["IMD_decile"].value_counts().reindex(range(1, 11), fill_value=0)
    assert summary["count"].tolist() == expected.tolist()
    assert panel.summary_model.columns[:4] == ["Decile", "Areas", "% of areas", "Records"]
    assert int(summary["count"].sum()) == 138
    most = float(expected.loc[[1, 2]].sum() / 138)
    assert panel.most_deprived_share == pytest.approx(most)
    assert f"{100 * most:.1f}%" in panel.headline.text()
    assert panel.summary_model.rowCount() == 10
    assert panel.summary_model.text(0, "% of records").endswith("%")
    grab(panel, tmp_path / "deprivation_panel.png")


def test_join_of_the_wrong_vintage_is_reported(qtbot, session, tasks, trafford, tmp_path, dialogs):
    import geopandas as gpd

    boundaries_path, _imd = trafford
    frame = gpd.read_file(boundaries_path).iloc[:5]
    frame["LSOA11CD"] = ["E01035000", "E01035001", "E01035002", "E01035003", "E01035004"]  # 2021-only codes
    path = tmp_path / "lsoa21.geojson"
    frame.to_file(path)
    session.open(path)
    panel = DeprivationPanel(session, tasks)
    qtbot.addWidget(panel)
    panel.table_path.setText(str(_imd))
    panel.join()
    qtbot.waitUntil(lambda: panel.task is None, timeout=30000)
    assert panel.deprivation_layer() is None
    assert "Failed" in panel.join_info.text() and "IMD 2019" in panel.join_info.text()
