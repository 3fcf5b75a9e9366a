"""The .gdesk project file: round trip, relative paths, broken layers, bad files, migrations,
atomic writes.  Data are synthetic with known content (tmp_path) plus the real Trafford LSOAs."""

import json
import os
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest

from gis_desk.core.crs import crs_id, same_crs
from gis_desk.core.layer import BrokenLayer, RasterLayer, VectorLayer
from gis_desk.core.project import ExportRecord
from gis_desk.core.style import (
    CategorisedStyle,
    Category,
    ClassRange,
    GraduatedStyle,
    LabelSettings,
    RasterStyle,
    SingleSymbolStyle,
    Symbol,
    style_to_dict,
)
from gis_desk.errors import MissingFileError, ProjectFileError, WriterError
from gis_desk.io import project_file
from gis_desk.io.project_file import MIGRATIONS, SCHEMA_VERSION, read_project, save_project

DATA = Path(__file__).parent / "data"


@pytest.fixture
def readers(monkeypatch):
    monkeypatch.syspath_prepend(str(DATA))
    import gdesk_test_readers

    gdesk_test_readers.CALLS.clear()
    yield gdesk_test_readers
    sys.modules.pop("gdesk_test_readers", None)


@pytest.fixture
def survey(tmp_path, readers):
    """A styled three-layer project saved at tmp_path/survey/survey.gdesk; returns (session, path)."""
    folder = tmp_path / "survey"
    polygons, points, raster = readers.write_survey_data(folder / "data")
    session = readers.make_session()
    dem = session.open(raster)[0]
    lsoa = session.open(polygons)[0]
    assets = session.open(points)[0]
    lsoa.style = GraduatedStyle(
        field="decile", method="quantile", n_classes=2, ramp="viridis", invert_ramp=True,
        classes=[ClassRange(np.float64(1), np.float32(5.5), Symbol(fill="#440154ff"), "1 - 5.5"),
                 ClassRange(5.5, 10, Symbol(fill="#fde725ff", stroke_width=1.5), "5.5 - 10")],
        labels=LabelSettings("code", size=11))
    assets.style = CategorisedStyle(
        field="category", ramp="Set1",
        categories=[Category("school", Symbol(fill="#e41a1cff", marker="square", size=9), "School"),
                    Category(np.int64(7), Symbol(fill="#377eb8ff"), "seven", visible=False)],
        other=Symbol(fill="#999999ff"))
    dem.style = RasterStyle(mode="singleband", bands=(1,), stretch="manual", vmin=[0.0], vmax=[15.0],
                            ramp="terrain", nodata=-9999.0, resampling="bilinear")
    lsoa.name = "LSOA by decile"
    assets.opacity = 0.4
    dem.visible = False
    project = session.project
    project.title = "Known survey"
    project.add_bookmark("Stretford", (370000, 390000, 370200, 390100))
    project.add_bookmark("Wide", (-2.4, 53.4, -2.2, 53.5), crs="EPSG:4326")
    project.view_extent = (369900.0, 389900.0, 370500.0, 390200.0)
    project.export_log.append(ExportRecord("2024-05-01T10:00:00", "map.png", "/out/map.png", "OGL",
                                           {"dpi": 300}))
    project.plugin_data = {"planning": {"case": "23/0001/FUL", "nested": {"b": [1, 2], "a": None}},
                           "not_installed_plugin": {"keep": True}}
    path = session.save(folder / "survey.gdesk")
    return session, path


def layer_state(layer):
    return (layer.id, layer.kind, layer.name, layer.visible, layer.opacity, style_to_dict(layer.style))


def test_round_trip_keeps_everything(survey, readers):
    session, path = survey
    before = session.project
    loaded = read_project(path, readers.make_session())
    assert [layer_state(x) for x in loaded.layers] == [layer_state(x) for x in before.layers]
    assert [x.name for x in loaded.layers] == ["dem", "LSOA by decile", "assets"]  # bottom to top
    assert [type(x) for x in loaded.layers] == [RasterLayer, VectorLayer, VectorLayer]
    graduated = loaded.layers[1].style
    assert [(c.lower, c.upper, c.label) for c in graduated.classes] == [(1, 5.5, "1 - 5.5"), (5.5, 10, "5.5 - 10")]
    assert graduated.invert_ramp and graduated.labels.field == "code" and graduated.classes[1].symbol.stroke_width == 1.5
    categorised = loaded.layers[2].style
    assert [(c.value, c.label, c.visible) for c in categorised.categories] == [("school", "School", True),
                                                                              (7, "seven", False)]
    assert categorised.other.fill == "#999999ff" and categorised.categories[0].symbol.marker == "square"
    assert loaded.layers[0].style.bands == (1,) and loaded.layers[0].style.vmax == [15.0]
    assert loaded.layers[0].visible is False and loaded.layers[2].opacity == pytest.approx(0.4)
    assert loaded.title == "Known survey" and crs_id(loaded.crs) == "EPSG:27700"
    assert {n: (b.extent, b.crs) for n, b in loaded.bookmarks.items()} == {
        "Stretford": ((370000, 390000, 370200, 390100), "EPSG:27700"),
        "Wide": ((-2.4, 53.4, -2.2, 53.5), "EPSG:4326")}
    assert loaded.view_extent == (369900.0, 389900.0, 370500.0, 390200.0)
    assert loaded.export_log == before.export_log
    assert loaded.plugin_data == before.plugin_data
    assert len(loaded.layers[1].dataset) == 4 and loaded.layers[0].dataset.width == 4


def test_file_is_readable_stable_json_with_relative_paths(survey, readers):
    session, path = survey
    text = path.read_text(encoding="utf-8")
    doc = json.loads(text)
    assert list(doc)[:2] == ["format", "schema_version"]
    assert doc["format"] == "gis-desk-project" and doc["schema_version"] == SCHEMA_VERSION == 1
    assert doc["app_version"] and doc["crs"] == "EPSG:27700"
    assert [layer["source"]["path"] for layer in doc["layers"]] == ["data/dem.tif", "data/lsoa.geojson",
                                                                      "data/assets.geojson"]
    assert all("absolute_path" not in layer["source"] for layer in doc["layers"])
    assert str(path.parent) not in text  # nothing absolute about the project folder
    assert '\n  "layers": [\n    {\n      "id"' in text  # indent 2, sorted layer keys
    # Saving the reloaded project gives the very same text: stable for diffs.
    session2 = readers.make_session()
    session2.load(path)
    session2.save(path)
    assert path.read_text(encoding="utf-8") == text
    assert project_file.backup_path(path).read_text(encoding="utf-8") == text


def test_moved_folder_reopens_with_relative_paths(survey, readers, tmp_path):
    _, path = survey
    moved = tmp_path / "elsewhere" / "renamed survey"
    moved.parent.mkdir()
    shutil.move(str(path.parent), str(moved))
    session = readers.make_session()
    session.load(moved / "survey.gdesk")
    assert not any(layer.is_broken for layer in session.project.layers)
    assert all(Path(layer.source.path).parent == (moved / "data").resolve() for layer in session.project.layers)
    assert session.project.path == (moved / "survey.gdesk").resolve()


def test_data_outside_the_folder_keeps_an_absolute_fallback(tmp_path, readers):
    polygons, _, _ = readers.write_survey_data(tmp_path / "shared")
    session = readers.make_session()
    session.open(polygons)
    path = session.save(tmp_path / "projects" / "p.gdesk")
    source = json.loads(path.read_text())["layers"][0]["source"]
    assert source["path"] == "../shared/lsoa.geojson" and source["absolute_path"] == str(polygons.resolve())
    # Move the project alone: the relative path no longer works, the absolute one does.
    moved = tmp_path / "deeper" / "moved"
    moved.parent.mkdir()
    shutil.move(str(tmp_path / "projects"), str(moved))
    assert not (moved / source["path"]).exists()
    loaded = read_project(moved / "p.gdesk", readers.make_session())
    assert not loaded.layers[0].is_broken and loaded.layers[0].source.path == str(polygons.resolve())


def test_missing_file_becomes_broken_layer_kept_on_save_and_repointed(survey, readers, tmp_path):
    _, path = survey
    original = json.loads(path.read_text())["layers"][1]
    moved_data = tmp_path / "moved_lsoa.geojson"
    shutil.move(str(path.parent / "data" / "lsoa.geojson"), str(moved_data))
    session = readers.make_session()
    session.load(path)
    layers = session.project.layers
    assert [layer.name for layer in layers] == ["dem", "LSOA by decile", "assets"]
    broken = layers[1]
    assert isinstance(broken, BrokenLayer) and broken.intended_kind == "vector"
    assert "lsoa.geojson" in broken.error and "does not exist" in broken.error
    assert not layers[0].is_broken and not layers[2].is_broken
    # Saving again keeps the broken layer's record untouched.
    session.save()
    assert json.loads(path.read_text())["layers"][1] == original
    # Re-pointing restores the layer with its name, style, opacity and position.
    fixed = session.repoint_layer(broken, moved_data)
    assert session.project.layers[1] is fixed and not fixed.is_broken
    assert fixed.name == "LSOA by decile" and fixed.id == original["id"]
    assert style_to_dict(fixed.style) == original["style"] and len(fixed.dataset) == 4


def test_corrupt_data_and_unknown_reader_become_broken_layers(survey, readers):
    _, path = survey
    (path.parent / "data" / "assets.geojson").write_text('{"type": "FeatureCollection", "feat')
    doc = json.loads(path.read_text())
    doc["layers"][0]["source"]["reader"] = "uninstalled_plugin.read_dem"
    path.write_text(json.dumps(doc))
    loaded = read_project(path, readers.make_session())
    assert [layer.is_broken for layer in loaded.layers] == [True, False, True]
    assert "uninstalled_plugin" in loaded.layers[0].error
    assert "assets.geojson" in loaded.layers[2].error and "Not a readable GeoJSON" in loaded.layers[2].error
    assert loaded.layers[0].record["style"]["ramp"] == "terrain"


def test_saved_reader_and_options_are_used_to_reopen(tmp_path, readers):
    polygons, _, _ = readers.write_survey_data(tmp_path)
    session = readers.make_session()
    session.open(polygons, crs="EPSG:27700")
    path = session.save(tmp_path / "p.gdesk")
    readers.CALLS.clear()
    read_project(path, readers.make_session())
    assert readers.CALLS == [("geojson", str(polygons.resolve()), {"crs": "EPSG:27700"})]


def test_invalid_json_names_file_and_line_and_leaves_project_untouched(survey, readers):
    session, path = survey
    bad = path.with_name("bad.gdesk")
    bad.write_text('{\n  "format": "gis-desk-project",\n  "schema_version": 1,\n  "title": "x",,\n}\n')
    before = [layer_state(x) for x in session.project.layers]
    with pytest.raises(ProjectFileError) as err:
        session.load(bad)
    text = str(err.value)
    assert "bad.gdesk" in text and "line 4" in text and "column" in text and err.value.path == str(bad)
    assert [layer_state(x) for x in session.project.layers] == before
    assert session.project.path == path and session.project.title == "Known survey"


@pytest.mark.parametrize("content, words", [
    ("", "empty"),
    ("[1, 2]", "not a GIS Desk project"),
    ('{"format": "qgis", "layers": []}', "not a GIS Desk project"),
    ("<qgis version='3.22'></qgis>", "QGIS"),
    ('{"format": "gis-desk-project", "schema_version": 1, "layers": {"a": 1}}', '"layers" has the wrong type'),
    ('{"format": "gis-desk-project", "schema_version": 1, "layers": [3]}', "Layer 1 is not a JSON object"),
    ('{"format": "gis-desk-project", "schema_version": 1, "crs": "EPSG:999999"}', "CRS"),
    ('{"format": "gis-desk-project", "schema_version": "one"}', "not a whole number"),
])
def test_bad_project_files_raise_clear_errors(tmp_path, readers, content, words):
    path = tmp_path / "p.gdesk"
    path.write_text(content)
    with pytest.raises(ProjectFileError) as err:
        read_project(path, readers.make_session())
    assert words in str(err.value) and "p.gdesk" in str(err.value)


def test_binary_and_missing_project_files(tmp_path, readers):
    path = tmp_path / "p.gdesk"
    path.write_bytes(b"\x89PNG\r\n\x1a\n\xff\xfe")
    with pytest.raises(ProjectFileError, match="not text"):
        read_project(path, readers.make_session())
    with pytest.raises(MissingFileError, match="nowhere.gdesk"):
        read_project(tmp_path / "nowhere.gdesk", readers.make_session())


def test_newer_schema_version_is_refused(tmp_path, readers):
    path = tmp_path / "future.gdesk"
    path.write_text('{\n  "format": "gis-desk-project",\n  "schema_version": 7,\n  "layers": []\n}\n')
    with pytest.raises(ProjectFileError) as err:
        read_project(path, readers.make_session())
    text = str(err.value)
    assert "future.gdesk" in text and "schema version 7" in text and "0 to 1" in text and "line 3" in text
    assert "update GIS Desk" in text


def test_version_0_layout_is_migrated(tmp_path, readers):
    polygons, points, _ = readers.write_survey_data(tmp_path / "data")
    style = style_to_dict(SingleSymbolStyle(Symbol(fill="#123456ff")))
    v0 = {
        "format": "gis-desk-project",  # version 0 files carry no schema_version
        "name": "Old project",
        "crs": "EPSG:27700",
        "extent": [1, 2, 3, 4],
        "bookmarks": {"Home": [370000, 390000, 370400, 390100]},
        "layers": [
            {"id": "old1", "kind": "vector", "name": "Areas", "visible": False, "opacity": 0.5,
             "style": style, "file": str(polygons.resolve()), "reader": "gdesktest.read_geojson", "options": {}},
            {"id": "old2", "kind": "vector", "name": "Gone", "file": str(tmp_path / "gone.geojson")},
        ],
    }
    path = tmp_path / "old.gdesk"
    path.write_text(json.dumps(v0))
    loaded = read_project(path, readers.make_session())
    assert loaded.title == "Old project" and loaded.view_extent == (1, 2, 3, 4)
    assert loaded.bookmarks["Home"].extent == (370000, 390000, 370400, 390100)
    assert loaded.bookmarks["Home"].crs == "EPSG:27700"
    areas, gone = loaded.layers
    assert (areas.id, areas.name, areas.visible, areas.opacity) == ("old1", "Areas", False, 0.5)
    assert areas.style.symbol.fill == "#123456ff" and len(areas.dataset) == 4
    assert gone.is_broken and "gone.geojson" in gone.error
    migrated = project_file.migrate(dict(v0))
    assert migrated["schema_version"] == 1 and migrated["layers"][0]["source"] == {
        "path": str(polygons.resolve()), "reader": "gdesktest.read_geojson", "options": {}}


def test_migrations_run_in_sequence(monkeypatch):
    def one_to_two(doc):
        return {**doc, "title": doc["title"] + " (v2)"}

    monkeypatch.setattr(project_file, "SCHEMA_VERSION", 2)
    monkeypatch.setitem(MIGRATIONS, 1, one_to_two)
    doc = project_file.migrate({"format": "gis-desk-project", "name": "Old", "layers": []})
    assert doc["schema_version"] == 2 and doc["title"] == "Old (v2)"


def test_failed_write_leaves_the_old_file_and_no_temp_file(survey, monkeypatch):
    session, path = survey
    old = path.read_bytes()
    session.project.title = "Changed"

    def broken_replace(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(WriterError) as err:
        session.save()
    assert "survey.gdesk" in str(err.value)
    monkeypatch.undo()
    assert path.read_bytes() == old
    assert sorted(p.name for p in path.parent.iterdir()) == ["data", "survey.gdesk"]


def test_backup_holds_the_previous_version(survey):
    session, path = survey
    first = path.read_text()
    session.project.title = "Second"
    session.save()
    assert json.loads(path.read_text())["title"] == "Second"
    assert project_file.backup_path(path).name == "survey.gdesk.bak"
    assert project_file.backup_path(path).read_text() == first


def test_unknown_layer_keys_and_plugin_data_survive_a_round_trip(survey, readers):
    _, path = survey
    doc = json.loads(path.read_text())
    doc["layers"][1]["future_feature"] = {"blend": "multiply"}
    doc["plugin_data"]["estates"] = {"portfolio": [1, 2, 3]}
    path.write_text(json.dumps(doc))
    session = readers.make_session()
    session.load(path)
    session.save()
    again = json.loads(path.read_text())
    assert again["layers"][1]["future_feature"] == {"blend": "multiply"}
    assert again["plugin_data"]["estates"] == {"portfolio": [1, 2, 3]}
    assert again["plugin_data"]["not_installed_plugin"] == {"keep": True}


def test_duplicate_layer_ids_are_made_unique(survey, readers):
    _, path = survey
    doc = json.loads(path.read_text())
    doc["layers"][2]["id"] = doc["layers"][1]["id"]
    path.write_text(json.dumps(doc))
    loaded = read_project(path, readers.make_session())
    assert len({layer.id for layer in loaded.layers}) == 3
    assert loaded.layers[1].id == doc["layers"][1]["id"]


def test_crs_without_epsg_code_round_trips_as_wkt(tmp_path, readers):
    session = readers.make_session()
    custom = "+proj=tmerc +lat_0=50 +lon_0=-3 +k=1 +x_0=1000 +y_0=0 +ellps=GRS80 +units=m +no_defs"
    session.project.crs = custom
    path = session.save(tmp_path / "custom.gdesk")
    assert json.loads(path.read_text())["crs"].startswith(("PROJCRS", "PROJCS"))
    loaded = read_project(path, readers.make_session())
    assert same_crs(loaded.crs, session.project.crs)


def test_real_trafford_lsoas_round_trip(real_data, readers, tmp_path):
    lsoa = real_data / "uk_boundaries" / "UK-GeoJSON" / "lsoa11_E08000009_Trafford.geojson"
    session = readers.make_session()
    layer = session.open(lsoa)[0]
    layer.style = CategorisedStyle(field=layer.dataset.fields[0], categories=[
        Category(str(v), Symbol()) for v in layer.dataset.frame[layer.dataset.fields[0]].iloc[:3]])
    path = session.save(tmp_path / "trafford.gdesk")
    loaded = read_project(path, readers.make_session())
    assert len(loaded.layers[0].dataset) == len(layer.dataset) == 138  # Trafford's 2011 LSOAs
    assert style_to_dict(loaded.layers[0].style) == style_to_dict(layer.style)
    assert json.loads(path.read_text())["layers"][0]["source"]["absolute_path"] == str(lsoa.resolve())


def test_value_that_is_not_plain_data_fails_before_touching_the_file(survey):
    session, path = survey
    old = path.read_bytes()
    session.project.plugin_data["planning"] = {"handle": object()}
    with pytest.raises(WriterError, match="survey.gdesk.*cannot be written"):
        session.save()
    assert path.read_bytes() == old and not project_file.backup_path(path).exists()


def test_a_failing_upgrade_gives_a_project_file_error(tmp_path, readers, monkeypatch):
    path = tmp_path / "old.gdesk"
    path.write_text('{"format": "gis-desk-project", "name": "x", "layers": []}')
    monkeypatch.setitem(MIGRATIONS, 0, lambda doc: doc["a_key_the_upgrade_expected"])
    with pytest.raises(ProjectFileError, match="old.gdesk.*upgraded from schema version 0"):
        read_project(path, readers.make_session())


def test_round_trip_through_the_builtin_readers(tmp_path, readers):
    """The real readers (gis_desk.io.vector / raster) reopen layers with their saved options."""
    from gis_desk.session import Session

    polygons, _, raster = readers.write_survey_data(tmp_path / "data")
    csv = tmp_path / "data" / "sites.csv"
    csv.write_text("name,easting,northing\nDepot,370010,390010\nPark,370020,390020\n")
    session = Session()
    session.open(raster)
    session.open(polygons)[0].style = GraduatedStyle(field="decile", classes=[
        ClassRange(1, 5, Symbol(fill="#ff0000ff")), ClassRange(5, 10, Symbol(fill="#0000ffff"))])
    session.open(csv, crs="EPSG:27700")[0].visible = False
    path = session.save(tmp_path / "builtin.gdesk")
    doc = json.loads(path.read_text())
    assert [layer["source"]["reader"] for layer in doc["layers"]] == [
        "builtins.read_raster", "builtins.read_vector", "builtins.read_vector"]
    assert doc["layers"][2]["source"]["path"] == "data/sites.csv"
    loaded = Session()
    loaded.load(path)
    layers = loaded.project.layers
    assert [layer.is_broken for layer in layers] == [False, False, False], [getattr(x, "error", "") for x in layers]
    assert [layer_state(x) for x in layers] == [layer_state(x) for x in session.project.layers]
    assert len(layers[2].dataset) == 2 and crs_id(layers[2].crs) == "EPSG:27700"
    assert layers[0].dataset.width == 4 and len(layers[1].dataset) == 4
