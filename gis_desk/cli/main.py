"""``gis-desk`` command line: argparse, no Qt (not even indirectly).

Subcommands: ``info``, ``render``, ``algorithms list|help|run``, ``plugins list|validate``, and the
shortcuts of ``gis_desk.cli.shortcuts`` (``uprn``, ``heatmap``, ``aggregate``, ``overlap``).
Errors print ``error: <message>`` (and ``hint: ...``) to stderr, never a traceback for a
``GisDeskError``.  Exit codes: 0 success, 1 error (algorithm, data, files), 2 bad parameters
or usage, 130 interrupted.
"""

from __future__ import annotations

import argparse
import json
import sys
import traceback
from pathlib import Path
from typing import Any, Sequence

from gis_desk import __version__
from gis_desk.errors import CanceledError, GisDeskError, MissingCrsError, ParameterError

SUBCOMMANDS = ("info", "render", "algorithms", "plugins", "uprn", "heatmap", "aggregate", "overlap", "pointcloud")
EXIT_OK, EXIT_ERROR, EXIT_BAD_PARAMETERS, EXIT_INTERRUPTED = 0, 1, 2, 130


def is_cli_invocation(argv: Sequence[str]) -> bool:
    """True when ``argv`` (without the program name) is for the CLI rather than paths for the
    GUI: a known subcommand or an option first."""
    return bool(argv) and (argv[0] in SUBCOMMANDS or argv[0].startswith("-"))


def build_parser() -> argparse.ArgumentParser:
    from gis_desk.cli import algorithms, info, plugins, pointcloud, render, shortcuts

    parser = argparse.ArgumentParser(
        prog="gis-desk",
        description="GIS Desk: offline desktop GIS. Without a command, opens the desktop "
                    "application (on the given project or data files, if any).",
        epilog="Run 'gis-desk COMMAND --help' for a command's options.",
    )
    parser.add_argument("--version", action="version", version=f"gis-desk {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="print error details")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands.required = True
    for module in (info, render, algorithms, plugins, shortcuts, pointcloud):
        module.add_parser(commands)
    return parser


# Options whose value may start with '-' (western longitudes, negative coordinates), which
# argparse would otherwise take for an option: '--extent -2.4,53.3,...' -> '--extent=-2.4,...'.
_NUMERIC_VALUE_OPTIONS = ("--extent", "--hex-extent")


def _join_numeric_values(argv: list[str]) -> list[str]:
    out: list[str] = []
    items = iter(argv)
    for item in items:
        if item in _NUMERIC_VALUE_OPTIONS:
            value = next(items, None)
            out.append(item if value is None else f"{item}={value}")
        else:
            out.append(item)
    return out


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI on ``argv`` (default ``sys.argv[1:]``); returns the exit code."""
    parser = build_parser()
    try:
        args = parser.parse_args(_join_numeric_values(list(sys.argv[1:] if argv is None else argv)))
    except SystemExit as exc:  # argparse: --help/--version (0) or usage errors (2)
        return int(exc.code or 0) if not isinstance(exc.code, str) else EXIT_BAD_PARAMETERS
    try:
        return int(args.handler(args) or 0)
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except CanceledError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        return EXIT_INTERRUPTED
    except GisDeskError as exc:
        return report_error(exc, verbose=args.verbose)
    except Exception as exc:  # a bug: say so plainly, with the traceback to report it
        print(f"error: internal error: {type(exc).__name__}: {exc}", file=sys.stderr)
        traceback.print_exc(file=sys.stderr)
        return EXIT_ERROR


def report_error(exc: GisDeskError, verbose: bool = False) -> int:
    """Print ``exc`` for a person and return the exit code it deserves."""
    where = f"{exc.path}: " if exc.path else ""
    print(f"error: {where}{exc.message}", file=sys.stderr)
    hint = exc.hint
    if isinstance(exc, MissingCrsError) and (not hint or "--crs" not in hint):
        hint = (hint + "; " if hint else "") + "give the CRS with --crs, e.g. --crs EPSG:27700"
    if hint:
        print(f"hint: {hint}", file=sys.stderr)
    if verbose and exc.details:
        print(exc.details, file=sys.stderr)
    return EXIT_BAD_PARAMETERS if isinstance(exc, ParameterError) else EXIT_ERROR


# --- helpers shared by the subcommands -----------------------------------------------------


def to_jsonable(value: Any) -> Any:
    """Values made JSON-friendly: CRSs as 'EPSG:n', paths as text, numpy scalars as numbers."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set)):
        return [to_jsonable(v) for v in value]
    if isinstance(value, Path):
        return str(value)
    if hasattr(value, "item") and callable(value.item):  # numpy scalar
        return value.item()
    if hasattr(value, "tolist"):  # numpy array
        return value.tolist()
    if hasattr(value, "to_wkt"):
        from gis_desk.core.crs import crs_id

        return crs_id(value)
    return str(value)


def print_json(value: Any) -> None:
    print(json.dumps(to_jsonable(value), indent=2))


def print_table(rows: list[list[str]], header: list[str]) -> None:
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    for row in [header, ["-" * w for w in widths], *rows]:
        print("  ".join(str(cell).ljust(w) for cell, w in zip(row, widths)).rstrip())
