"""``gis-desk`` / ``python -m gis_desk``: no arguments opens the desktop application, a known
subcommand (``info``, ``render``, ``algorithms``, ``plugins``) or an option runs the CLI,
anything else is a list of project or data files to open in the application."""

from __future__ import annotations

import sys
from typing import Sequence


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``gis-desk`` console script; returns the exit code."""
    args = list(sys.argv[1:] if argv is None else argv)
    from gis_desk.cli.main import is_cli_invocation

    if is_cli_invocation(args):
        from gis_desk.cli.main import main as cli_main

        return cli_main(args)
    return _open_gui(args)


def _open_gui(paths: list[str]) -> int:
    try:  # Qt is imported only here, so the CLI never loads it
        from gis_desk.qt.app import main as gui_main
    except ImportError as exc:
        print(f"error: the desktop application cannot start: {exc}", file=sys.stderr)
        print("hint: install GIS Desk with its Qt dependencies (PySide6); the command line "
              "works without them: gis-desk --help", file=sys.stderr)
        return 1
    return int(gui_main(paths) or 0)


if __name__ == "__main__":
    sys.exit(main())
