"""Plugin manifests and the manager: discovery, validation, lazy loading, failure isolation."""

import sys
import textwrap

import pytest

from gis_desk.errors import ManifestError, MissingFileError, MultipleReadersError, NoReaderError, PluginError
from gis_desk.plugin_api.manager import PluginManager
from gis_desk.plugin_api.manifest import parse_manifest, validate_manifest_file
from gis_desk.session import Session

GOOD = """
name: demo
version: 1.0
contributions:
  commands:
    - id: demo.read
      python_name: demo_plugin_mod:read
    - id: demo.boom
      python_name: demo_plugin_mod:boom
    - id: demo.missing
      python_name: demo_plugin_missing_module:read
  readers:
    - command: demo.read
      filename_patterns: ["*.demo"]
"""


@pytest.fixture
def demo_module(tmp_path, monkeypatch):
    (tmp_path / "demo_plugin_mod.py").write_text(textwrap.dedent("""
        import geopandas as gpd
        from shapely.geometry import Point
        from gis_desk.core.datasets import DataSource, VectorDataset
        LOADED = True
        def read(path, **options):
            frame = gpd.GeoDataFrame({"n": [1]}, geometry=[Point(1, 2)], crs="EPSG:27700")
            return [VectorDataset(DataSource(path, options=options), frame, driver="demo")]
        def boom(*a, **k):
            raise ZeroDivisionError("plugin bug")
    """))
    monkeypatch.syspath_prepend(str(tmp_path))
    yield
    sys.modules.pop("demo_plugin_mod", None)


def test_installed_plugins_are_discovered_through_entry_points():
    mgr = PluginManager.from_entry_points()
    assert {"builtins", "planning", "estates"} <= set(mgr.plugins)
    assert all(info.error is None for info in mgr.plugins.values())
    readers = mgr.readers_for("parcels.GPKG")
    assert readers and readers[0].data["command"] == "builtins.read_vector"


def test_reading_manifests_imports_no_plugin_code():
    sys.modules.pop("gis_desk_planning", None)
    PluginManager.from_entry_points()
    assert "gis_desk_planning" not in sys.modules


def test_manifest_problems_are_all_listed():
    bad = "name: Bad-Name\ncontributions:\n  commands:\n    - id: other.x\n      python_name: nope\n  readers:\n    - command: bad.y\n"
    with pytest.raises(ManifestError) as err:
        parse_manifest(bad, "bad.yaml")
    text = str(err.value)
    assert "bad.yaml" in text and "name" in text and "python_name" in text and "filename_patterns" in text


def test_validate_manifest_file_reports_yaml_errors(tmp_path):
    path = tmp_path / "gis_desk.yaml"
    path.write_text("name: [unclosed\n")
    assert validate_manifest_file(path)
    path.write_text(GOOD)
    assert validate_manifest_file(path) == []


def test_plugin_reader_used_by_session_and_code_loaded_lazily(tmp_path, demo_module):
    mgr = PluginManager()
    mgr.add_manifest(parse_manifest(GOOD, "demo.yaml"))
    assert "demo_plugin_mod" not in sys.modules
    data = tmp_path / "x.demo"
    data.write_text("")
    session = Session(plugins=mgr)
    layers = session.open(data)
    assert layers[0].dataset.driver == "demo" and layers[0].source.reader == "demo.read"
    assert "demo_plugin_mod" in sys.modules


def test_failing_plugin_is_disabled_and_reported_once(demo_module):
    mgr = PluginManager()
    mgr.add_manifest(parse_manifest(GOOD, "demo.yaml"))
    failures = []
    mgr.plugin_failed.connect(lambda name, msg: failures.append((name, msg)))
    with pytest.raises(PluginError):
        mgr.call("demo.boom")
    assert not mgr.plugins["demo"].active and "ZeroDivisionError" in mgr.plugins["demo"].error
    with pytest.raises(PluginError):
        mgr.call("demo.read", "x")  # disabled now
    assert len(failures) == 1


def test_missing_module_disables_plugin():
    mgr = PluginManager()
    mgr.add_manifest(parse_manifest(GOOD, "demo.yaml"))
    with pytest.raises(PluginError):
        mgr.command("demo.missing")
    assert mgr.plugins["demo"].error


def test_enable_disable_persists_in_user_settings():
    mgr = PluginManager.from_entry_points()
    mgr.set_enabled("planning", False)
    assert not PluginManager.from_entry_points().plugins["planning"].enabled
    with pytest.raises(PluginError):
        mgr.set_enabled("builtins", False)
    mgr.set_enabled("planning", True)
    assert PluginManager.from_entry_points().plugins["planning"].enabled


def test_reader_choice_errors(tmp_path):
    mgr = PluginManager()
    mgr.add_manifest(parse_manifest(GOOD, "demo.yaml"))
    second = GOOD.replace("name: demo", "name: demo2").replace("id: demo.", "id: demo2.").replace(
        "command: demo.", "command: demo2.")
    mgr.add_manifest(parse_manifest(second, "demo2.yaml"))
    session = Session(plugins=mgr)
    with pytest.raises(MissingFileError) as err:
        session.open(tmp_path / "nowhere.demo")
    assert "nowhere.demo" in str(err.value)
    unknown = tmp_path / "x.unknown"
    unknown.write_text("")
    with pytest.raises(NoReaderError):
        session.open(unknown)
    both = tmp_path / "x.demo"
    both.write_text("")
    with pytest.raises(MultipleReadersError) as err:
        session.open(both)
    assert set(err.value.candidates) == {"demo.read", "demo2.read"}


def test_broken_installed_manifest_does_not_stop_discovery(tmp_path, monkeypatch):
    folder = tmp_path / "plugins" / "broken"
    folder.mkdir(parents=True)
    (folder / "gis_desk.yaml").write_text("name: broken\nversion: 1\ncontributions: [1, 2]\n")
    monkeypatch.setenv("GIS_DESK_PLUGIN_PATH", str(tmp_path / "plugins"))
    mgr = PluginManager.from_entry_points()
    assert mgr.plugins["broken"].error and not mgr.plugins["broken"].active
    assert mgr.plugins["builtins"].active
