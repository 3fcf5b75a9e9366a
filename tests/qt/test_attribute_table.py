"""The attribute table against its model: counts, sort, filter, selection both ways, laziness."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QItemSelection, QItemSelectionModel, Qt

from gis_desk.core.datasets import DataSource, VectorDataset
from gis_desk.core.layer import VectorLayer
from gis_desk.errors import DataError
from gis_desk.qt.widgets.attribute_table import AttributeTable, AttributeTableModel


def make_layer(n: int, with_nulls: bool = True) -> VectorLayer:
    import geopandas as gpd

    rng = np.random.default_rng(7)
    values = rng.permutation(n).astype(float)
    names = np.array([f"lsoa {i:07d}" for i in range(n)], dtype=object) if n <= 10_000 else None
    data = {"value": values, "code": np.arange(n) % 10}
    if names is not None:
        data["name"] = names
    frame = gpd.GeoDataFrame(data, geometry=gpd.points_from_xy(np.arange(n, dtype=float), np.zeros(n)),
                             crs="EPSG:27700")
    if with_nulls and n > 3:
        frame.loc[3, "value"] = np.nan
    return VectorLayer(VectorDataset(DataSource("/synthetic.gpkg"), frame))


def cell(model, row, col) -> str:
    return model.data(model.index(row, col))


@pytest.fixture
def table(qtbot):
    widget = AttributeTable(make_layer(20))
    qtbot.addWidget(widget)
    widget.resize(600, 400)
    widget.show()
    return widget


def test_counts_headers_and_values(table):
    m = table.model
    assert m.rowCount() == 20 and m.columnCount() == 3
    assert [m.headerData(c, Qt.Orientation.Horizontal) for c in range(3)] == ["value", "code", "name"]
    frame = table.layer.dataset.frame
    assert cell(m, 5, 0) == f"{frame.loc[5, 'value']:.10g}"
    assert cell(m, 3, 0) == "NULL"  # missing values read as QGIS shows them
    assert cell(m, 7, 2) == "lsoa 0000007"
    assert table.footer.text() == "20 features, 0 selected"


def test_sort_keeps_an_index_array(table):
    m = table.model
    frame = table.layer.dataset.frame
    m.sort(0, Qt.SortOrder.AscendingOrder)
    shown = [float(cell(m, r, 0)) for r in range(m.rowCount() - 1)]
    assert shown == sorted(frame["value"].dropna())
    assert cell(m, m.rowCount() - 1, 0) == "NULL"  # missing values last
    m.sort(0, Qt.SortOrder.DescendingOrder)
    assert float(cell(m, 0, 0)) == frame["value"].max()
    assert m.headerData(0, Qt.Orientation.Vertical) == str(int(frame["value"].idxmax()))  # feature id
    m.sort(-1)
    assert cell(m, 0, 2) == "lsoa 0000000"


def test_filter_expressions_and_text(table):
    m = table.model
    frame = table.layer.dataset.frame
    m.set_filter("value >= 10")
    assert m.rowCount() == int((frame["value"] >= 10).sum()) > 0
    m.set_filter("code = 3")
    assert m.rowCount() == 2 and {cell(m, r, 1) for r in range(2)} == {"3"}
    m.set_filter("name = 'lsoa 0000004'")
    assert m.rowCount() == 1
    m.set_filter("0000011")  # plain text: contains, in any column
    assert m.rowCount() == 1 and cell(m, 0, 2) == "lsoa 0000011"
    m.set_filter("name contains 00001")
    assert m.rowCount() == 11  # lsoa 0000001 and lsoa 0000010..19
    m.set_filter("")
    assert m.rowCount() == 20
    with pytest.raises(DataError, match="No field called 'population'"):
        m.set_filter("population > 5")
    with pytest.raises(DataError, match="not a number"):
        m.set_filter("value > lots")


def test_bad_filter_reaches_the_error_signal(table, qtbot):
    table.filter_edit.setText("nosuchfield = 3")
    with qtbot.waitSignal(table.error) as blocker:
        table.filter_edit.returnPressed.emit()
    assert isinstance(blocker.args[0], DataError)
    assert table.model.rowCount() == 20  # the table is unchanged


def selected_rows(table) -> list[int]:
    return sorted(i.row() for i in table.view.selectionModel().selectedRows())


def test_selection_table_to_layer(table):
    m = table.model
    m.sort(0, Qt.SortOrder.AscendingOrder)
    sel = QItemSelection(m.index(0, 0), m.index(2, m.columnCount() - 1))
    table.view.selectionModel().select(sel, QItemSelectionModel.SelectionFlag.ClearAndSelect)
    frame = table.layer.dataset.frame
    expected = set(frame["value"].sort_values().index[:3])
    assert table.layer.selection == expected
    assert table.footer.text().endswith("3 selected")


def test_selection_layer_to_table(table):
    m = table.model
    table.layer.selection = {2, 3, 4, 10}
    assert selected_rows(table) == [2, 3, 4, 10]
    m.set_filter("code >= 3")  # rows 3, 4 and 10 stay selected where they now are
    assert [int(m.feature_ids([r])[0]) for r in selected_rows(table)] == [3, 4]
    table.layer.selection = set()
    assert selected_rows(table) == []


def test_filtered_out_selection_is_kept(table):
    table.layer.selection = {0, 15}
    table.model.set_filter("value < 0")  # nothing shown
    table.view.selectionModel().clearSelection()
    assert table.layer.selection == {0, 15}


def test_show_selected_only(table):
    table.layer.selection = {1, 5}
    table.selected_only.setChecked(True)
    assert table.model.rowCount() == 2
    assert table.footer.text() == "20 features, 2 shown, 2 selected"
    table.layer.selection = {1, 5, 6}
    assert table.model.rowCount() == 3
    table.selected_only.setChecked(False)
    assert table.model.rowCount() == 20


def test_zoom_to_selection_button_asks(table, qtbot):
    from PySide6.QtWidgets import QToolButton

    button = next(b for b in table.findChildren(QToolButton) if "Zoom" in b.toolTip())
    with qtbot.waitSignal(table.zoom_to_selection_requested) as blocker:
        button.click()
    assert blocker.args[0] is table.layer


class CountingModel(AttributeTableModel):
    calls = 0

    def data(self, index, role=Qt.ItemDataRole.DisplayRole):
        if role == Qt.ItemDataRole.DisplayRole:
            CountingModel.calls += 1
        return super().data(index, role)


def test_million_rows_are_lazy(qtbot):
    from PySide6.QtWidgets import QTableView

    layer = make_layer(1_000_000, with_nulls=False)
    model = CountingModel(layer)
    assert model._arrays == {}  # no column converted before it is drawn
    assert model.rowCount() == 1_000_000
    view = QTableView()
    qtbot.addWidget(view)
    view.resize(500, 300)
    view.setModel(model)
    view.show()
    qtbot.waitExposed(view)
    qtbot.wait(50)
    visible_rows = view.rowAt(view.viewport().height() - 1) - view.rowAt(0) + 1
    assert 0 < CountingModel.calls <= 4 * visible_rows * model.columnCount()
    before = CountingModel.calls
    view.scrollTo(model.index(900_000, 0))
    qtbot.wait(50)
    assert view.rowAt(0) > 899_000
    assert CountingModel.calls - before <= 4 * visible_rows * model.columnCount()
    model.sort(0, Qt.SortOrder.DescendingOrder)
    assert model.data(model.index(0, 0)) == "999999"
