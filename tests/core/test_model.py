"""Project model: layers, events, order, extents, bookmarks, undo."""

import geopandas as gpd
import pytest
from shapely.geometry import Point, box

from gis_desk.core.commands import UndoStack
from gis_desk.core.crs import BNG, crs_id, transform_bounds
from gis_desk.core.datasets import DataSource, VectorDataset
from gis_desk.core.layer import LAYER_KINDS, BrokenLayer, VectorLayer, layer_class_for
from gis_desk.core.project import Project
from gis_desk.core.style import (
    CategorisedStyle,
    Category,
    ClassRange,
    GraduatedStyle,
    LabelSettings,
    RasterStyle,
    SingleSymbolStyle,
    Symbol,
    style_from_dict,
    style_to_dict,
)
from gis_desk.session import Session


def vector_layer(name, bounds=(0, 0, 10, 10), crs=BNG):
    frame = gpd.GeoDataFrame({"v": [1, 2]}, geometry=[box(*bounds), Point(bounds[:2])], crs=crs)
    return VectorLayer(VectorDataset(DataSource(f"/data/{name}.gpkg"), frame), name=name)


def test_layer_events_fire_once_per_real_change():
    layer = vector_layer("a")
    seen = []
    layer.changed.connect(seen.append)
    layer.visible = False
    layer.visible = False  # no change, no event
    layer.opacity = 0.5
    layer.opacity = 1.7  # clamped to 1
    layer.name = "renamed"
    assert seen == ["visible", "opacity", "opacity", "name"]
    assert layer.opacity == 1.0


def test_selection_event_and_ids():
    layer = vector_layer("a")
    fired = []
    layer.selection_changed.connect(lambda: fired.append(True))
    layer.selection = [1, 0, 1]
    assert layer.selection == {0, 1}
    layer.selection = {0, 1}
    assert len(fired) == 1


def test_layer_kind_table_maps_dataset_types():
    layer = vector_layer("a")
    assert layer_class_for(layer.dataset) is VectorLayer
    assert {"vector", "raster", "tiles", "broken"} <= set(LAYER_KINDS)


def test_project_full_extent_reprojects_to_project_crs():
    project = Project()
    project.layers.append(vector_layer("bng", (400000, 300000, 401000, 301000)))
    wgs = vector_layer("wgs", (-2.4, 53.4, -2.3, 53.5), crs="EPSG:4326")
    project.layers.append(wgs)
    ext = project.full_extent()
    wgs_in_bng = transform_bounds("EPSG:4326", BNG, (-2.4, 53.4, -2.3, 53.5))
    assert ext[0] == pytest.approx(min(400000, wgs_in_bng[0]))
    assert ext[3] == pytest.approx(max(301000, wgs_in_bng[3]))
    # a sensible BNG easting for Trafford (about 370-380 km)
    assert 360000 < wgs_in_bng[0] < 390000


def test_project_dirty_tracking_and_reset_keeps_event_connections():
    project = Project()
    dirty = []
    project.events.dirty.connect(dirty.append)
    layer = vector_layer("a")
    project.layers.append(layer)
    assert project.dirty
    project.mark_dirty(False)
    layer.opacity = 0.5
    assert project.dirty
    project.reset()
    assert len(project.layers) == 0 and not project.dirty
    project.layers.append(vector_layer("b"))
    assert dirty[-1] is True  # still connected after reset


def test_bookmarks_in_their_own_crs():
    project = Project()
    project.add_bookmark("wgs", (-2.4, 53.4, -2.3, 53.5), crs="EPSG:4326")
    ext = project.bookmark_extent("wgs")
    assert ext == pytest.approx(transform_bounds("EPSG:4326", BNG, (-2.4, 53.4, -2.3, 53.5)))
    project.remove_bookmark("wgs")
    assert not project.bookmarks


def test_project_crs_default_is_british_national_grid():
    assert crs_id(Project().crs) == "EPSG:27700"


@pytest.mark.parametrize(
    "style",
    [
        SingleSymbolStyle(Symbol(fill="#ff000080"), labels=LabelSettings("name", size=11)),
        CategorisedStyle("kind", [Category("a", Symbol(fill="#112233ff"), "A"), Category(3, Symbol(), "three")]),
        GraduatedStyle("imd", "natural_breaks", 3, "Blues", True,
                       [ClassRange(0, 1.5, Symbol(fill="#000000ff"), "low"), ClassRange(1.5, 9, Symbol(), "high")]),
        RasterStyle(mode="singleband", bands=(2,), vmin=[0.0], vmax=[12.5], ramp="terrain", nodata=-9999.0),
    ],
)
def test_styles_round_trip_through_dicts(style):
    import json

    text = json.dumps(style_to_dict(style))
    assert style_from_dict(json.loads(text)) == style


def test_undo_stack_add_remove_move_property():
    session = Session(plugins=_no_plugins())
    a, b, c = vector_layer("a"), vector_layer("b"), vector_layer("c")
    session.add_layers([a, b, c])
    session.move_layer(0, 2)  # a to the top
    assert [l.name for l in session.project.layers] == ["b", "c", "a"]
    session.move_layer(2, 0)
    assert [l.name for l in session.project.layers] == ["a", "b", "c"]
    session.undo_stack.undo()
    assert [l.name for l in session.project.layers] == ["b", "c", "a"]
    session.undo_stack.undo()
    assert [l.name for l in session.project.layers] == ["a", "b", "c"]
    session.remove_layers([b])
    assert [l.name for l in session.project.layers] == ["a", "c"]
    session.set_layer_property(c, "opacity", 0.25)
    session.undo_stack.undo()
    assert c.opacity == 1.0
    session.undo_stack.undo()
    assert [l.name for l in session.project.layers] == ["a", "b", "c"]
    session.undo_stack.redo()
    assert [l.name for l in session.project.layers] == ["a", "c"]
    with pytest.raises(ValueError):
        session.set_layer_property(c, "dataset", None)


def test_undo_stack_limit_and_texts():
    stack = UndoStack(limit=2)
    values = []

    class Append:
        text = "append"

        def __init__(self, v):
            self.v = v

        def redo(self):
            values.append(self.v)

        def undo(self):
            values.remove(self.v)

    for v in range(4):
        stack.push(Append(v))
    assert stack.undo() == "append" and stack.undo() == "append"
    assert stack.undo() is None  # only two kept
    assert values == [0, 1]


def test_broken_layer_keeps_its_record():
    record = {"id": "x1", "kind": "vector", "name": "Parcels", "visible": False, "opacity": 0.4,
              "source": {"path": "/gone.gpkg", "reader": "builtins.read_vector", "options": {"layer": "p"}},
              "style": {"kind": "single", "symbol": {"fill": "#ff0000ff"}}, "extra": 1}
    layer = BrokenLayer(record, "missing")
    assert layer.is_broken and layer.intended_kind == "vector" and layer.bounds is None
    layer.name = "Parcels 2"
    out = layer.to_dict()
    assert out["name"] == "Parcels 2" and out["style"] == record["style"] and out["extra"] == 1


def _no_plugins():
    from gis_desk.plugin_api.manager import PluginManager

    return PluginManager()
