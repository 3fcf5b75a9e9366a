"""The layer tree against its model (the project's layer list) and the session's undo."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QModelIndex, Qt

from gis_desk.core.layer import BrokenLayer
from gis_desk.core.style import CategorisedStyle
from gis_desk.qt.widgets.layer_tree import LayerTreeView


@pytest.fixture
def tree(qtbot, session, tmp_path, make_squares):
    for name in ("bottom", "middle", "top"):
        session.open(make_squares(tmp_path / f"{name}.geojson", n=3))
    view = LayerTreeView(session)
    qtbot.addWidget(view)
    return view


def names(model) -> list[str]:
    return [model.data(model.index(r, 0)) for r in range(model.rowCount())]


def test_top_layer_first_and_follows_inserts(tree, session, tmp_path, make_squares):
    model = tree.layer_model
    assert names(model) == ["top", "middle", "bottom"]
    session.open(make_squares(tmp_path / "newest.geojson", n=2))
    assert names(model) == ["newest", "top", "middle", "bottom"]
    assert tree.current_layer().name == "newest"  # a new layer becomes current, as in QGIS


def test_checkbox_toggles_visibility_undoably(tree, session):
    model = tree.layer_model
    top = session.project.layer_by_name("top")
    index = model.index(0, 0)
    assert model.data(index, Qt.ItemDataRole.CheckStateRole) == Qt.CheckState.Checked
    assert model.setData(index, Qt.CheckState.Unchecked.value, Qt.ItemDataRole.CheckStateRole)
    assert top.visible is False
    assert model.data(index, Qt.ItemDataRole.CheckStateRole) == Qt.CheckState.Unchecked
    session.undo_stack.undo()
    assert top.visible is True
    assert model.data(index, Qt.ItemDataRole.CheckStateRole) == Qt.CheckState.Checked


def test_drag_and_drop_reorders_through_the_session(tree, session):
    model = tree.layer_model
    data = model.mimeData([model.index(2, 0)])  # drag 'bottom'
    model.dropMimeData(data, Qt.DropAction.MoveAction, 0, 0, QModelIndex())  # drop above 'top'
    assert names(model) == ["bottom", "top", "middle"]
    assert [l.name for l in session.project.layers] == ["middle", "top", "bottom"]
    session.undo_stack.undo()
    assert names(model) == ["top", "middle", "bottom"]
    assert [l.name for l in session.project.layers] == ["bottom", "middle", "top"]
    # dropping onto an item places the dragged layer above it
    model.dropMimeData(model.mimeData([model.index(0, 0)]), Qt.DropAction.MoveAction, -1, -1, model.index(2, 0))
    assert names(model) == ["middle", "top", "bottom"]


def test_rename_in_place_and_undo(tree, session):
    model = tree.layer_model
    assert model.flags(model.index(1, 0)) & Qt.ItemFlag.ItemIsEditable
    assert model.setData(model.index(1, 0), "Parcels", Qt.ItemDataRole.EditRole)
    assert session.project.layers[1].name == "Parcels"
    assert names(model)[1] == "Parcels"
    assert not model.setData(model.index(1, 0), "   ", Qt.ItemDataRole.EditRole)  # empty names refused
    session.undo_stack.undo()
    assert names(model)[1] == "middle"


def test_remove_and_undo(tree, session):
    model = tree.layer_model
    tree.setCurrentIndex(model.index(1, 0))
    tree.remove_selected()
    assert names(model) == ["top", "bottom"]
    assert len(session.project.layers) == 2
    session.undo_stack.undo()
    assert names(model) == ["top", "middle", "bottom"]


def test_current_layer_signal(tree, session, qtbot):
    with qtbot.waitSignal(tree.current_layer_changed) as blocker:
        tree.setCurrentIndex(tree.layer_model.index(2, 0))
    assert blocker.args[0] is session.project.layer_by_name("bottom")


def test_legend_children_follow_the_style(tree, session):
    from gis_desk.core.classify import categorised_style

    model = tree.layer_model
    top = session.project.layer_by_name("top")
    assert model.rowCount(model.index(0, 0)) == 0  # a single symbol needs no legend rows
    style = categorised_style(top.dataset.frame, "cat")
    session.set_layer_property(top, "style", style)
    parent = model.index(0, 0)
    labels = [model.data(model.index(r, 0, parent)) for r in range(model.rowCount(parent))]
    assert labels == [c.label for c in style.categories] == ["A", "B", "C"]
    assert model.data(model.index(0, 0, parent), Qt.ItemDataRole.DecorationRole) is not None
    assert model.parent(model.index(1, 0, parent)) == parent
    session.undo_stack.undo()
    assert model.rowCount(model.index(0, 0)) == 0
    assert isinstance(style, CategorisedStyle)


def test_context_menu_and_opacity_slider(tree, session):
    top = session.project.layer_by_name("top")
    menu = tree.context_menu_for(top)
    texts = [a.text() for a in menu.actions() if a.text()]
    for expected in ("Zoom to Layer", "Open Attribute Table", "Style…", "Rename Layer", "Remove Layer…",
                     "Properties…"):
        assert expected in texts
    menu.opacity_slider.setValue(40)
    assert top.opacity == pytest.approx(0.4)  # live while dragging
    menu.aboutToHide.emit()
    assert top.opacity == pytest.approx(0.4)
    session.undo_stack.undo()  # one undo step for the whole drag
    assert top.opacity == pytest.approx(1.0)


def test_broken_layer_offers_repoint(qtbot, session, tmp_path):
    record = {"id": "b1", "kind": "vector", "name": "gone", "visible": True, "opacity": 1.0,
              "source": {"path": str(tmp_path / "gone.geojson"), "reader": "builtins.read_vector", "options": {}}}
    session.project.layers.append(BrokenLayer(record, "The file does not exist"))
    view = LayerTreeView(session)
    qtbot.addWidget(view)
    model = view.layer_model
    assert "Re-point" in model.data(model.index(0, 0), Qt.ItemDataRole.ToolTipRole)
    menu = view.context_menu_for(session.project.layers[0])
    assert "Re-point data source…" in [a.text() for a in menu.actions()]
    with qtbot.waitSignal(view.repoint_requested) as blocker:
        next(a for a in menu.actions() if a.text() == "Re-point data source…").trigger()
    assert blocker.args[0].is_broken


def test_point_legend_swatches_use_the_marker_shape(qapp):
    """A square marker must not be shown as a circle in the layer tree (the map draws squares)."""
    from types import SimpleNamespace

    from gis_desk.qt.widgets.layer_tree import swatch

    def corner_alpha(marker):
        entry = SimpleNamespace(fill="#ff0000ff", stroke="#000000ff", shape="point", marker=marker)
        image = swatch(entry, 16).pixmap(16, 16).toImage()
        return image.pixelColor(3, 3).alpha()

    assert corner_alpha("square") > 150  # a square fills its corner
    assert corner_alpha("circle") < 60  # a circle leaves it empty
