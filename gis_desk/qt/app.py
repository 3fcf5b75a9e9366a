"""Start the desktop application: ``main(paths) -> exit code``.

Checks there is a display before Qt is imported (Linux without ``DISPLAY`` or
``WAYLAND_DISPLAY`` and no ``QT_QPA_PLATFORM``: a clear message and exit code 3 instead of a
Qt abort), creates the ``QApplication`` (names for ``QSettings``, icon, light theme), routes
uncaught exceptions to ``gis_desk.qt.errors``, builds the main window on a new ``Session``,
offers to recover autosaved work, opens the given projects and data files, and runs the
event loop.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Sequence

EXIT_NO_DISPLAY = 3
NO_DISPLAY_MESSAGE = """\
error: GIS Desk needs a display, and none was found (DISPLAY and WAYLAND_DISPLAY are not set).
hint: run it inside a desktop session, or on a machine without a screen:
  xvfb-run -a gis-desk {args}        (a virtual display; install it with: sudo apt-get install xvfb)
  QT_QPA_PLATFORM=offscreen gis-desk {args}   (headless checks only: nothing is shown)
The command line works without a display: gis-desk --help
"""


def has_display(environ=None) -> bool:
    """False on Linux/BSD when no display server is reachable and no Qt platform is forced."""
    env = os.environ if environ is None else environ
    if sys.platform.startswith(("win", "darwin")):
        return True
    return bool(env.get("DISPLAY") or env.get("WAYLAND_DISPLAY") or env.get("QT_QPA_PLATFORM"))


def create_application(argv: Sequence[str] | None = None):
    """The QApplication, configured once (names, icon, theme); reused if it exists."""
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance()
    if app is None:
        app = QApplication(list(argv) if argv else [sys.argv[0] if sys.argv else "gis-desk"])
    import gis_desk
    from gis_desk.errors import GisDeskError
    from gis_desk.qt.icons import icon
    from gis_desk.resources import theme_text

    app.setApplicationName("GIS Desk")
    app.setOrganizationName("GIS Desk")
    app.setOrganizationDomain("gis-desk.local")
    app.setApplicationVersion(gis_desk.__version__)
    app.setDesktopFileName("gis-desk")
    app.setWindowIcon(icon("app"))
    app.setStyle("Fusion")
    try:
        app.setStyleSheet(theme_text("light"))
    except GisDeskError as exc:  # a missing theme only costs looks
        print(f"warning: {exc}", file=sys.stderr)
    return app


def main(paths: Sequence[str] | None = None) -> int:
    """Run the GUI on ``paths`` (``.gdesk`` projects and data files); returns the exit code."""
    paths = [str(p) for p in (paths or [])]
    if not has_display():
        sys.stderr.write(NO_DISPLAY_MESSAGE.format(args=" ".join(paths) or "[FILES]"))
        return EXIT_NO_DISPLAY
    app = create_application()
    from gis_desk.qt.errors import install_exception_hooks
    from gis_desk.qt.main_window import MainWindow
    from gis_desk.session import PROJECT_SUFFIX, Session

    window = MainWindow(Session())
    install_exception_hooks(window.presenter)
    if window.has_saved_geometry:
        window.show()
    else:  # first start: use the whole screen, as desktop GIS users expect
        window.showMaximized()
    projects = [p for p in paths if Path(p).suffix.lower() == PROJECT_SUFFIX]
    data = [p for p in paths if Path(p).suffix.lower() != PROJECT_SUFFIX]
    recovered = window.offer_recovery(Path(projects[0]).resolve() if projects else None)
    if projects and not recovered:
        window.open_project(projects[0], ask_to_save=False)
    window.open_paths(data)
    return app.exec()
