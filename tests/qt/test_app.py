"""``gis_desk.qt.app``: the no-display message, the application set-up, recovery on start."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from gis_desk.qt.app import EXIT_NO_DISPLAY, has_display


def _env_without_display(tmp_path) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    env["GIS_DESK_CONFIG_DIR"] = str(tmp_path)
    return env


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="display detection is for X11/Wayland")
def test_no_display_message_instead_of_a_qt_crash(tmp_path):
    code = ("import sys\nfrom gis_desk.qt.app import main\nrc = main(['survey.gdesk'])\n"
            "assert 'PySide6' not in sys.modules, 'Qt was imported before the display check'\n"
            "sys.exit(rc)")
    done = subprocess.run([sys.executable, "-c", code], env=_env_without_display(tmp_path),
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == EXIT_NO_DISPLAY, done.stderr
    assert "needs a display" in done.stderr
    assert "xvfb-run -a gis-desk survey.gdesk" in done.stderr
    assert "QT_QPA_PLATFORM=offscreen" in done.stderr


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="display detection is for X11/Wayland")
def test_module_entry_point_says_the_same(tmp_path):
    done = subprocess.run([sys.executable, "-m", "gis_desk", "map.geojson"], env=_env_without_display(tmp_path),
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == EXIT_NO_DISPLAY and "xvfb-run" in done.stderr


def test_has_display_rules():
    if sys.platform.startswith("linux"):
        assert not has_display({})
        assert has_display({"DISPLAY": ":0"})
        assert has_display({"WAYLAND_DISPLAY": "wayland-0"})
        assert has_display({"QT_QPA_PLATFORM": "offscreen"})


def test_application_is_configured(qapp):
    from gis_desk.qt.app import create_application

    app = create_application()
    assert app is qapp
    assert app.applicationName() == "GIS Desk" and app.organizationName() == "GIS Desk"
    assert "QMenuBar" in app.styleSheet()
    assert not app.windowIcon().isNull()
    app.setStyleSheet("")


def test_main_opens_files_and_offers_recovery(qapp, monkeypatch, tmp_path, make_squares, dialogs):
    """``main`` builds the window, offers the autosave of a crashed untitled session, opens the
    files given, and runs the loop (replaced here so the test does not block)."""
    from gis_desk.core import autosave
    from gis_desk.qt import app as app_module
    from gis_desk.qt.main_window import MainWindow

    data = make_squares(tmp_path / "parcels.geojson", n=3)
    leftover = autosave.autosave_dir() / "untitled-999999.gdesk.autosave"
    from gis_desk.session import Session

    crashed = Session()
    crashed.open(data)
    crashed.project.title = "Crashed work"
    from gis_desk.io.project_file import project_to_text

    leftover.parent.mkdir(parents=True, exist_ok=True)
    leftover.write_text(project_to_text(crashed.project, None, leftover))
    windows = []
    monkeypatch.setattr(MainWindow, "show", lambda self: windows.append(self))
    monkeypatch.setattr(MainWindow, "showMaximized", lambda self: windows.append(self))
    monkeypatch.setattr(type(qapp), "exec", lambda self: 0)
    dialogs.click = "Recover"
    assert app_module.main([str(data)]) == 0
    window = windows[0]
    assert any("Recover unsaved work" in b["title"] for b in dialogs.boxes)
    assert [l.name for l in window.session.project.layers] == ["parcels", "parcels"]  # recovered + opened
    window.session.project.mark_dirty(False)
    window.canvas.scheduler.shutdown(wait=True)
    window.close()
    window.deleteLater()
