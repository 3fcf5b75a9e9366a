"""Installing plugins offline from a wheel or zip into the user's plugin folder."""

from __future__ import annotations

import sys
import zipfile
from pathlib import Path

import pytest

from gis_desk.errors import CorruptFileError, ManifestError, MissingFileError, PluginError
from gis_desk.plugin_api.install import installed_plugins, user_plugins_dir
from gis_desk.plugin_api.manager import PluginManager
from gis_desk.testing.plugin_archives import write_wheel, write_zip


@pytest.fixture
def manager():
    return PluginManager.from_entry_points()


def test_wheel_installs_into_the_user_folder_and_its_reader_works(manager, tmp_path):
    wheel = write_wheel(tmp_path)
    info = manager.install_from_file(wheel)
    assert info.name == "trees" and info.version == "1.0.0" and info.installed_from_file and info.active
    assert [p.name for p in installed_plugins()] == ["trees"]
    assert installed_plugins()[0].folder.parent == user_plugins_dir()
    survey = tmp_path / "park.trees"
    survey.write_text("12 oaks")
    [reader] = manager.readers_for(survey)
    assert reader.plugin == "trees"
    assert manager.call(reader.data["command"], survey) == ["12 oaks read by v1.0.0"]

    # a fresh start (another session) finds it again
    again = PluginManager.from_entry_points()
    assert again.plugins["trees"].active and again.plugins["trees"].installed_from_file


def test_zip_with_a_wrapping_folder_installs_too(manager, tmp_path):
    info = manager.install_from_file(write_zip(tmp_path, wrapper="trees-plugin/"))
    assert info.active and info.manifest.summary() == {"commands": 1, "readers": 1}
    assert manager.readers_for(tmp_path / "x.trees")[0].plugin == "trees"


def test_upgrade_replaces_the_old_version(manager, tmp_path):
    manager.install_from_file(write_wheel(tmp_path, version="1.0.0"))
    info = manager.install_from_file(write_wheel(tmp_path, version="1.1.0"))
    assert info.version == "1.1.0"
    assert [(p.name, p.version) for p in installed_plugins()] == [("trees", "1.1.0")]
    survey = tmp_path / "a.trees"
    survey.write_text("3 elms")
    assert manager.call("trees.read_trees", survey) == ["3 elms read by v1.1.0"]


def test_disable_and_remove(manager, tmp_path):
    manager.install_from_file(write_wheel(tmp_path))
    manager.set_enabled("trees", False)
    assert not manager.readers_for(tmp_path / "x.trees")
    assert not PluginManager.from_entry_points().plugins["trees"].enabled  # persisted
    manager.uninstall("trees")
    assert "trees" not in manager.plugins and installed_plugins() == []
    assert "trees" not in PluginManager.from_entry_points().plugins


def test_first_party_plugins_cannot_be_replaced_or_removed(manager, tmp_path):
    with pytest.raises(PluginError, match="already part of GIS Desk"):
        manager.install_from_file(write_wheel(tmp_path, name="planning"))
    with pytest.raises(PluginError, match="cannot be removed"):
        manager.uninstall("planning")
    assert installed_plugins() == []


@pytest.mark.parametrize("make, error, words", [
    (lambda d: d / "missing.whl", MissingFileError, "does not exist"),
    (lambda d: (d / "notes.zip").write_text("not a zip") and d / "notes.zip", CorruptFileError, "not a plugin package"),
    (lambda d: write_wheel(d, entry_point=False), ManifestError, "declares no GIS Desk plugin"),
])
def test_bad_archives_are_refused_with_the_file_named(manager, tmp_path, make, error, words):
    path = make(tmp_path)
    with pytest.raises(error, match=words) as caught:
        manager.install_from_file(path)
    assert caught.value.path and Path(caught.value.path).name == path.name
    assert installed_plugins() == [] and not [p for p in user_plugins_dir().iterdir()]


def test_zip_without_a_plugin_package_and_zip_slip(manager, tmp_path):
    empty = tmp_path / "readme.zip"
    with zipfile.ZipFile(empty, "w") as zf:
        zf.writestr("README.txt", "hello")
    with pytest.raises(ManifestError, match="no plugin package"):
        manager.install_from_file(empty)
    evil = tmp_path / "evil.zip"
    with zipfile.ZipFile(evil, "w") as zf:
        zf.writestr("../../outside.py", "print('x')")
    with pytest.raises(CorruptFileError, match="outside its folder"):
        manager.install_from_file(evil)
    assert not (user_plugins_dir().parent.parent / "outside.py").exists()
    assert not [p for p in user_plugins_dir().iterdir()]


def test_a_broken_manifest_in_the_archive_names_the_problem(manager, tmp_path):
    path = tmp_path / "broken.zip"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("pkg_broken/__init__.py", "")
        zf.writestr("pkg_broken/gis_desk.yaml", "name: broken\nversion: 1\ncontributions: {commands: [{id: x}]}\n")
    with pytest.raises(ManifestError):
        manager.install_from_file(path)
    assert installed_plugins() == []


def test_cli_install_list_disable_remove(tmp_path, capsys):
    from gis_desk.cli.main import main

    wheel = write_wheel(tmp_path, name="hedges", package="gis_desk_hedges_cli")
    assert main(["plugins", "install", str(wheel)]) == 0
    assert "installed plugin 'hedges' 1.0.0: 1 commands, 1 readers" in capsys.readouterr().out
    assert main(["plugins", "disable", "hedges"]) == 0
    assert main(["plugins", "list"]) == 0
    assert any(line.split()[:3] == ["hedges", "1.0.0", "disabled"] for line in capsys.readouterr().out.splitlines())
    assert main(["plugins", "remove", "hedges"]) == 0
    assert main(["plugins", "remove", "hedges"]) == 1
    assert "was not installed from a file" in capsys.readouterr().err
    assert main(["plugins", "install", str(tmp_path / "nothing.whl")]) == 1
    assert "nothing.whl" in capsys.readouterr().err


@pytest.fixture(autouse=True)
def _forget_imported_test_plugins():
    before = set(sys.modules)
    path = list(sys.path)
    yield
    for name in set(sys.modules) - before:
        if name.startswith("gis_desk_trees") or name.startswith("gis_desk_hedges"):
            del sys.modules[name]
    sys.path[:] = path
