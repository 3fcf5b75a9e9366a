"""``gis-desk algorithms list [--json] | help ID [--json] | run ID key=value ... [--json] [--crs]``.

``run`` parses each ``key=value`` with the algorithm's declared parameter, prints progress
and messages to stderr and the outputs to stdout (``name: value`` lines, or JSON).  Exit
codes: 0 done, 1 the algorithm failed, 2 bad parameters.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any, Sequence

from gis_desk.errors import ParameterError


def add_parser(commands) -> None:
    p = commands.add_parser("algorithms", help="list, describe and run processing algorithms",
                            description="Processing algorithms declared by the installed plugins.")
    sub = p.add_subparsers(dest="algorithms_command", metavar="ACTION")
    sub.required = True
    lst = sub.add_parser("list", help="every available algorithm")
    lst.add_argument("--json", action="store_true", help="print as JSON")
    lst.set_defaults(handler=run_list)
    hlp = sub.add_parser("help", help="an algorithm's parameters and outputs")
    hlp.add_argument("algorithm", metavar="ID", help="algorithm id, e.g. builtins.buffer")
    hlp.add_argument("--json", action="store_true", help="print the declaration as JSON")
    hlp.set_defaults(handler=run_help)
    run = sub.add_parser("run", help="run an algorithm",
                         description="Run an algorithm: gis-desk algorithms run builtins.buffer "
                                     "input=sites.gpkg distance_m=50 output=buffers.gpkg")
    run.add_argument("algorithm", metavar="ID", help="algorithm id, e.g. builtins.buffer")
    run.add_argument("assignments", nargs="*", metavar="key=value", help="parameter values")
    run.add_argument("--json", action="store_true", help="print the outputs as JSON")
    run.add_argument("--crs", metavar="EPSG:n", help="CRS to assume for input files that state none")
    run.set_defaults(handler=run_run)


def _plugins():
    from gis_desk.plugin_api.manager import PluginManager

    return PluginManager.from_entry_points()


def run_list(args: argparse.Namespace) -> int:
    from gis_desk.cli.main import print_json, print_table
    from gis_desk.processing.registry import algorithm_summaries

    rows = algorithm_summaries(_plugins())
    if args.json:
        print_json(rows)
    else:
        print_table([[r["id"], r["display_name"], r["group"], r["plugin"]] for r in rows],
                    ["ID", "NAME", "GROUP", "PLUGIN"])
    return 0


def run_help(args: argparse.Namespace) -> int:
    from gis_desk.cli.main import print_json
    from gis_desk.processing.registry import create_algorithm

    algorithm = create_algorithm(_plugins(), args.algorithm)
    if args.json:
        print_json(algorithm.to_dict())
    else:
        print(algorithm.help_text())
    return 0


def parse_assignments(algorithm, assignments: Sequence[str]) -> dict[str, Any]:
    """``['distance_m=50', ...]`` -> ``{'distance_m': 50.0, ...}`` parsed by the declared
    parameters.  Raises ``ParameterError`` for text without '=', an unknown or repeated name,
    or a value the parameter refuses."""
    declared = {p.name: p for p in algorithm.parameters()}
    values: dict[str, Any] = {}
    for item in assignments:
        key, sep, text = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise ParameterError(f"{item!r} is not key=value", hint=f"parameters: {', '.join(declared)}")
        if key not in declared:
            raise ParameterError(f"{algorithm.id} has no parameter {key!r}",
                                 hint=f"its parameters are: {', '.join(declared)}")
        if key in values:
            raise ParameterError(f"parameter {key!r} is given twice")
        values[key] = declared[key].parse(text)
    return values


class _StderrProgress:
    """Progress and messages on stderr: an updating line on a terminal, else every 10%."""

    def __init__(self) -> None:
        self.tty = sys.stderr.isatty()
        self.last_step = -1

    def progress(self, percent: float) -> None:
        if self.tty:
            print(f"\r{percent:5.1f}%", end="", file=sys.stderr, flush=True)
            return
        step = int(percent // 10)
        if step > self.last_step:
            self.last_step = step
            print(f"progress: {step * 10}%", file=sys.stderr)

    def message(self, level: str, text: str) -> None:
        print(f"{chr(13) if self.tty else ''}{level}: {text}", file=sys.stderr)

    def done(self) -> None:
        if self.tty:
            print(file=sys.stderr)


def run_run(args: argparse.Namespace) -> int:
    from gis_desk.cli.main import print_json, to_jsonable
    from gis_desk.processing.feedback import Feedback
    from gis_desk.processing.registry import create_algorithm
    from gis_desk.processing.run import run_algorithm

    algorithm = create_algorithm(_plugins(), args.algorithm)
    params = parse_assignments(algorithm, args.assignments)
    if args.crs:
        from gis_desk.processing.parameters import CrsParameter

        args.crs = CrsParameter("crs", "--crs").validate(args.crs)
    printer = _StderrProgress()
    feedback = Feedback(on_progress=printer.progress, on_message=printer.message)
    try:
        outputs = run_algorithm(algorithm, params, feedback, input_crs=args.crs)
    finally:
        printer.done()
    if args.json:
        print_json(outputs)
    else:
        for name, value in outputs.items():
            print(f"{name}: {to_jsonable(value)}")
    return 0
