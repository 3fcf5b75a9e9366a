"""Autosave and crash recovery: written only when dirty, found after a crash, ignored when older
than the project, removed by a normal save, and recovered with the real project path."""

import json
import os
import sys
from pathlib import Path

import pytest

from gis_desk.core import autosave
from gis_desk.core.autosave import (
    autosave_path,
    discard_autosave,
    find_recovery,
    load_recovery,
    write_autosave,
)
from gis_desk.errors import ProjectFileError
from gis_desk.settings import config_dir

DATA = Path(__file__).parent / "data"


@pytest.fixture
def readers(monkeypatch):
    monkeypatch.syspath_prepend(str(DATA))
    import gdesk_test_readers

    yield gdesk_test_readers
    sys.modules.pop("gdesk_test_readers", None)


@pytest.fixture
def saved(tmp_path, readers):
    """A session with a two-layer project saved at tmp_path/p/survey.gdesk (clean)."""
    polygons, points, _ = readers.write_survey_data(tmp_path / "p" / "data")
    session = readers.make_session()
    session.open(polygons)
    session.open(points)
    session.save(tmp_path / "p" / "survey.gdesk")
    return session


def age(path: Path, seconds: float) -> None:
    """Make a file look ``seconds`` older (mtime resolution differs between file systems)."""
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns - int(seconds * 1e9)))


def test_autosave_paths(saved, readers):
    project = saved.project
    assert autosave_path(project) == project.path.with_name(".survey.gdesk.autosave")
    untitled = readers.make_session().project
    path = autosave_path(untitled)
    assert path.parent == config_dir() / "autosave"
    assert path.name == f"untitled-{os.getpid()}.gdesk.autosave"


def test_written_only_when_dirty_and_holds_the_changes(saved):
    project = saved.project
    assert write_autosave(project) is None and not autosave_path(project).exists()
    project.layers[0].name = "Renamed while editing"
    assert project.dirty
    written = write_autosave(project)
    assert written == autosave_path(project)
    doc = json.loads(written.read_text())
    assert doc["layers"][0]["name"] == "Renamed while editing"
    assert doc["layers"][0]["source"]["path"] == "data/lsoa.geojson"  # relative, like the project
    assert doc["autosave"]["of"] == str(project.path) and doc["autosave"]["pid"] == os.getpid()
    assert project.dirty  # autosaving does not clear the dirty flag
    assert json.loads(project.path.read_text())["layers"][0]["name"] == "lsoa"  # project file untouched
    assert [p.name for p in project.path.parent.iterdir() if p.suffix == ".tmp"] == []


def test_found_after_a_crash_and_recovered_with_the_real_path(saved, readers):
    project = saved.project
    real_path = project.path
    project.layers[1].opacity = 0.25
    project.add_bookmark("Site", (370000, 390000, 370100, 390100))
    write_autosave(project)
    age(real_path, 5)  # the project was saved before the edits
    # "Crash": the session is dropped without saving.  Next start:
    found = find_recovery(real_path)
    assert found == real_path.with_name(".survey.gdesk.autosave")
    session = readers.make_session()
    recovered = load_recovery(session, found, real_path)
    assert recovered is session.project
    assert recovered.path == real_path.resolve() and recovered.dirty
    assert recovered.layers[1].opacity == 0.25 and "Site" in recovered.bookmarks
    assert not any(layer.is_broken for layer in recovered.layers)
    assert found.exists()  # kept until the user saves
    session.save()
    assert not found.exists() and find_recovery(real_path) is None
    assert json.loads(real_path.read_text())["layers"][1]["opacity"] == 0.25


def test_ignored_when_older_than_the_project(saved):
    project = saved.project
    project.layers[0].visible = False
    written = write_autosave(project)
    age(written, 10)  # the project file was saved (elsewhere) after the autosave
    assert find_recovery(project.path) is None


def test_autosave_of_a_deleted_project_is_still_offered(saved):
    project = saved.project
    project.layers[0].visible = False
    written = write_autosave(project)
    project.path.unlink()
    assert find_recovery(project.path) == written


def test_normal_save_removes_the_autosave(saved):
    project = saved.project
    project.layers[0].visible = False
    written = write_autosave(project)
    saved.save()
    assert not written.exists() and not project.dirty
    assert write_autosave(project) is None


def test_save_as_removes_the_untitled_autosave(tmp_path, readers):
    polygons, _, _ = readers.write_survey_data(tmp_path / "data")
    session = readers.make_session()
    session.open(polygons)
    written = write_autosave(session.project)
    assert written.parent == config_dir() / "autosave"
    assert json.loads(written.read_text())["layers"][0]["source"]["path"] == str(polygons.resolve())
    session.save(tmp_path / "named.gdesk")
    assert not written.exists()


def test_untitled_crash_leftover_is_found_but_live_autosaves_are_not(tmp_path, readers):
    polygons, _, _ = readers.write_survey_data(tmp_path / "data")
    session = readers.make_session()
    session.open(polygons)
    mine = write_autosave(session.project)  # this (running) process holds its lock
    assert find_recovery() is None
    # A crashed window left an autosave and a lock file that nobody holds any more.
    crashed = mine.with_name("untitled-999999991.gdesk.autosave")
    crashed.write_bytes(mine.read_bytes())
    crashed.with_name("untitled-999999991.lock").touch()
    # Another window still running holds its lock: its autosave is not offered.
    live = mine.with_name("untitled-999999992.gdesk.autosave")
    live.write_bytes(mine.read_bytes())
    live_lock = open(live.with_name("untitled-999999992.lock"), "a+b")
    try:
        assert autosave._try_lock(live_lock)
        age(live, -5)  # newest of all, still not offered
        assert find_recovery() == crashed
    finally:
        live_lock.close()
    assert find_recovery() == live  # once that window is gone, it is the newest leftover


def test_untitled_recovery_moves_the_autosave_to_this_process(tmp_path, readers):
    polygons, _, _ = readers.write_survey_data(tmp_path / "data")
    donor = readers.make_session()
    donor.open(polygons)
    donor.project.title = "Lost work"  # a plain attribute: adding the layer made it dirty
    text = write_autosave(donor.project).read_text()
    autosave_path(donor.project).unlink()
    crashed = config_dir() / "autosave" / "untitled-999999993.gdesk.autosave"
    crashed.write_text(text)
    assert find_recovery() == crashed
    session = readers.make_session()
    project = load_recovery(session, crashed, None)
    assert project.path is None and project.dirty and project.title == "Lost work"
    assert len(project.layers) == 1 and not project.layers[0].is_broken
    assert not crashed.exists() and autosave_path(project).exists()
    assert find_recovery() is None  # not offered twice
    discard_autosave(project)
    assert not autosave_path(project).exists()


def test_damaged_autosave_raises_and_leaves_the_session_alone(saved, readers):
    project = saved.project
    bad = autosave.autosave_file_for(project.path)
    bad.write_text('{"format": "gis-desk-project", "schema_version": 1, "layers": [')
    names = [layer.name for layer in project.layers]
    with pytest.raises(ProjectFileError, match="survey.gdesk.autosave"):
        load_recovery(saved, bad, project.path)
    assert [layer.name for layer in saved.project.layers] == names and not saved.project.dirty
