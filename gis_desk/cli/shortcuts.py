"""Shortcut subcommands for the records, deprivation and heat-map algorithms.

Each shortcut is a thin layer over one processing algorithm: its positional arguments and
options are turned into the same ``key=value`` assignments ``gis-desk algorithms run ID``
takes, parsed by the algorithm's own parameters and run by ``run_algorithm``; nothing is
computed here.  Any parameter without an option of its own can be given with
``--param NAME=VALUE`` (repeatable).

    gis-desk uprn import-gazetteer CSV STORE [--uprn-column C --x-column C --y-column C --crs EPSG:n]
    gis-desk uprn join RECORDS --gazetteer STORE --out OUT [--uprn-column C --drop COLS ...]
    gis-desk heatmap POINTS --out OUT.tif [--radius-m R --pixel-size-m P --kernel K --weight F --policy P]
    gis-desk aggregate POINTS AREAS|hex:SIZE --out OUT [--area-id F --population F --policy P]
    gis-desk overlap A B C... --k 2 --out OUT [--table T.csv --names a,b,c]   (table default: OUT.csv)

``--json`` prints the outputs as JSON on stdout: the match report (``uprn join``), the
aggregate report with the decile summary rows, the overlap summary tables.  Progress and
messages go to stderr.  Exit codes as the rest of the CLI: 0 done, 1 error, 2 bad parameters.
"""

from __future__ import annotations

import argparse
import csv
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gis_desk.errors import ParameterError

# Option kinds: 'value' (--x VALUE), 'true' (a flag setting the parameter true), 'false' (a
# flag setting it false), 'append' (repeatable; values joined with commas).
_KINDS = ("value", "true", "false", "append")


@dataclass(frozen=True)
class Option:
    """A command-line option (or positional argument) standing for an algorithm parameter."""

    flags: tuple[str, ...]  # ('--radius-m',); a positional: ('points',)
    param: str  # the algorithm parameter it sets
    help: str
    kind: str = "value"
    metavar: str | None = None
    nargs: str | None = None  # positionals only: '+' for several files

    @property
    def positional(self) -> bool:
        return not self.flags[0].startswith("-")

    @property
    def dest(self) -> str:
        return "arg_" + self.flags[0].lstrip("-").replace("-", "_")


@dataclass(frozen=True)
class Shortcut:
    """A subcommand (``words``: ('uprn', 'join')) running algorithm ``algorithm``."""

    words: tuple[str, ...]
    algorithm: str
    help: str
    options: tuple[Option, ...]
    input_crs: bool = False  # --crs means "CRS of input files without one" (run_algorithm's input_crs)
    tables: tuple[str, ...] = ()  # output names of CSV files whose rows --json includes
    # (parameter, from parameter, suffix): when not given, put it beside that one with this suffix
    beside: tuple[tuple[str, str, str], ...] = ()


def _out(description: str) -> Option:
    return Option(("--out", "-o"), "output", description, metavar="FILE")


SHORTCUTS: tuple[Shortcut, ...] = (
    Shortcut(
        ("uprn", "import-gazetteer"), "builtins.uprn_import_gazetteer",
        "import a UPRN CSV (OS Open UPRN, AddressBase-style) into a gazetteer store folder",
        (Option(("csv",), "input", "the gazetteer CSV", metavar="CSV"),
         Option(("store",), "store", "the store folder to create (e.g. trafford.uprn)", metavar="STORE"),
         Option(("--uprn-column",), "uprn_column", "UPRN column (default: the column named UPRN)", metavar="COL"),
         Option(("--x-column",), "x_column", "X / easting / longitude column", metavar="COL"),
         Option(("--y-column",), "y_column", "Y / northing / latitude column", metavar="COL"),
         Option(("--crs",), "crs", "CRS of the X/Y columns when their names do not say it", metavar="EPSG:n")),
    ),
    Shortcut(
        ("uprn", "join"), "builtins.uprn_join",
        "place council records at their UPRNs; writes a point layer and the match report",
        (Option(("records",), "input", "CSV, XLSX or GeoPackage table with a UPRN column", metavar="RECORDS"),
         Option(("--gazetteer", "-g"), "gazetteer", "the gazetteer store folder", metavar="STORE"),
         _out("point layer to write (.gpkg by default)"),
         Option(("--uprn-column",), "uprn_column", "UPRN column (default: found by name or content)",
                metavar="COL"),
         Option(("--drop",), "drop_columns", "columns to leave out (names, dates of birth); comma-separated, "
                "repeatable", kind="append", metavar="COLS"),
         Option(("--no-pseudonymise",), "pseudonymise", "keep raw CHI/NHS numbers (not recommended)",
                kind="false"),
         Option(("--sheet",), "sheet", "XLSX: sheet name or 0-based index", metavar="SHEET"),
         Option(("--layer",), "layer", "GeoPackage: the table to read", metavar="TABLE"),
         Option(("--report",), "report", "match report JSON (default <out>_match.json)", metavar="FILE"),
         Option(("--unmatched",), "unmatched", "unmatched rows CSV (default <out>_unmatched.csv)",
                metavar="FILE")),
    ),
    Shortcut(
        ("heatmap",), "builtins.heatmap",
        "kernel density heat map of points to a raster (QGIS-compatible kernels)",
        (Option(("points",), "input", "point layer", metavar="POINTS"),
         _out("GeoTIFF to write (.tif)"),
         Option(("--radius-m",), "radius_m", "kernel radius in metres, Gaussian: bandwidth (default: automatic)",
                metavar="M"),
         Option(("--pixel-size-m",), "pixel_size_m", "cell side in metres (default 10)", metavar="M"),
         Option(("--kernel",), "kernel", "quartic (default), triangular, uniform, triweight, epanechnikov or "
                "gaussian"),
         Option(("--weight",), "weight_field", "numeric field weighting each point", metavar="FIELD"),
         Option(("--output-values",), "output_values", "raw (default) or scaled (QGIS's density)"),
         Option(("--decay",), "decay", "triangular kernel's decay ratio", metavar="RATIO"),
         Option(("--exact",), "qgis_compatible", "exact distances instead of QGIS's arithmetic", kind="false"),
         Option(("--bandwidth-method",), "bandwidth_method", "silverman (default) or scott, without --radius-m"),
         Option(("--policy",), "policy", "disclosure control for sharing: nhs or threshold:K (masked COG); "
                "without it the raster is a raw working file", metavar="POLICY")),
        input_crs=True,
    ),
    Shortcut(
        ("aggregate",), "builtins.aggregate",
        "count point records per area (polygons or hex:SIZE) with a deprivation decile summary",
        (Option(("points",), "points", "point records", metavar="POINTS"),
         Option(("areas",), "areas", "polygon layer of areas, or hex:SIZE (e.g. hex:500)", metavar="AREAS"),
         _out("areas to write (.gpkg by default); the decile summary goes beside it"),
         Option(("--area-id",), "area_id", "unique area code field (e.g. LSOA11CD)", metavar="FIELD"),
         Option(("--weight",), "weight", "numeric field summed per area", metavar="FIELD"),
         Option(("--population",), "population", "population field, for rates", metavar="FIELD"),
         Option(("--per",), "per", "rate base (default per 1,000)", metavar="N"),
         Option(("--rate-of",), "rate_of", "count or weighted_sum"),
         Option(("--decile-field",), "decile_field", "deprivation decile field (default: detected)",
                metavar="FIELD"),
         Option(("--hex-size-is",), "hex_size_is", "side, width, area or hectares"),
         Option(("--hex-orientation",), "hex_orientation", "pointy or flat"),
         Option(("--hex-extent",), "hex_extent", "xmin,ymin,xmax,ymax[,EPSG:n] to cover with hexagons",
                metavar="EXTENT"),
         Option(("--policy",), "policy", "export with disclosure control: nhs or threshold:K[,zero]")),
        input_crs=True, tables=("decile_summary",),
    ),
    Shortcut(
        ("overlap",), "builtins.overlap",
        "properties (UPRNs) present in at least k of several record layers",
        (Option(("layers",), "layers", "two or more record files", metavar="LAYER", nargs="+"),
         Option(("--k", "-k"), "k", "minimum number of layers a property must be in (default 2)", metavar="K"),
         _out("point layer of the properties (.gpkg by default)"),
         Option(("--table",), "table", "CSV table of the properties", metavar="CSV"),
         Option(("--names",), "names", "names for the layers' columns, comma-separated", metavar="NAMES"),
         Option(("--uprn-column",), "uprn_column", "UPRN column, one for all or one per layer (commas)",
                metavar="COL"),
         Option(("--crs",), "crs", "CRS of input files that state none", metavar="EPSG:n")),
        tables=("by_n_layers", "pairwise"), beside=(("table", "output", ".csv"),),
    ),
)

GROUP_HELP = {"uprn": "UPRN gazetteer import and joins of council records"}
SUBCOMMANDS = tuple(dict.fromkeys(s.words[0] for s in SHORTCUTS))  # ('uprn', 'heatmap', ...)


# --- parser --------------------------------------------------------------------------------


def add_parser(commands) -> None:
    """Register every shortcut on the CLI's subcommand parsers."""
    groups: dict[str, Any] = {}
    for shortcut in SHORTCUTS:
        if len(shortcut.words) == 1:
            parser = commands.add_parser(shortcut.words[0], help=shortcut.help, description=_description(shortcut))
        else:
            group = groups.get(shortcut.words[0])
            if group is None:
                about = GROUP_HELP.get(shortcut.words[0], f"{shortcut.words[0]} tools")
                top = commands.add_parser(shortcut.words[0], help=about, description=about[0].upper() + about[1:] + ".")
                group = groups[shortcut.words[0]] = top.add_subparsers(dest=f"{shortcut.words[0]}_command",
                                                                       metavar="ACTION")
                group.required = True
            parser = group.add_parser(shortcut.words[1], help=shortcut.help, description=_description(shortcut))
        _add_options(parser, shortcut)
        parser.set_defaults(handler=run_shortcut, shortcut=shortcut)


def _description(shortcut: Shortcut) -> str:
    return (f"{shortcut.help[0].upper()}{shortcut.help[1:]}.  Runs the algorithm {shortcut.algorithm} "
            f"(see 'gis-desk algorithms help {shortcut.algorithm}' for every parameter).")


def _add_options(parser: argparse.ArgumentParser, shortcut: Shortcut) -> None:
    for option in shortcut.options:
        metavar = option.metavar or option.flags[0].lstrip("-").replace("-", "_").upper()
        if option.positional:
            parser.add_argument(option.dest, metavar=metavar, nargs=option.nargs, help=option.help)
        elif option.kind in ("true", "false"):
            parser.add_argument(*option.flags, dest=option.dest, action="store_true", help=option.help)
        elif option.kind == "append":
            parser.add_argument(*option.flags, dest=option.dest, action="append", metavar=metavar,
                                help=option.help)
        else:
            parser.add_argument(*option.flags, dest=option.dest, metavar=metavar, help=option.help)
    parser.add_argument("--param", "-P", dest="extra_params", action="append", default=[], metavar="NAME=VALUE",
                        help="any other parameter of the algorithm (repeatable)")
    if shortcut.input_crs:
        parser.add_argument("--crs", metavar="EPSG:n", help="CRS to assume for input files that state none")
    parser.add_argument("--json", action="store_true", help="print the outputs (and reports) as JSON")


# --- running -------------------------------------------------------------------------------


def assignments_for(shortcut: Shortcut, args: argparse.Namespace) -> list[str]:
    """The ``key=value`` assignments the parsed ``args`` stand for (the same text that
    ``gis-desk algorithms run`` takes); ``--param`` ones last.  Raises ``ParameterError`` when
    a ``--param`` sets a parameter that an option of this command already set."""
    out: list[str] = []
    for option in shortcut.options:
        value = getattr(args, option.dest, None)
        if value is None or value is False or value == []:
            continue
        if option.kind == "true":
            text = "true"
        elif option.kind == "false":
            text = "false"
        elif isinstance(value, list):  # nargs='+' positionals and repeatable options
            text = ",".join(str(v) for v in value)
        else:
            text = str(value)
        out.append(f"{option.param}={text}")
    given = {item.partition("=")[0] for item in out}
    extra = {item.partition("=")[0].strip() for item in args.extra_params}
    for param, source, suffix in shortcut.beside:
        values = dict(item.split("=", 1) for item in out)
        if param not in given and param not in extra and values.get(source):
            out.append(f"{param}={Path(values[source]).with_suffix(suffix)}")
    for item in args.extra_params:
        key = item.partition("=")[0].strip()
        if key in given:
            flag = next(o for o in shortcut.options if o.param == key)
            where = flag.flags[0] if not flag.positional else f"the {flag.metavar} argument"
            raise ParameterError(f"parameter {key!r} is given twice (by {where} and by --param)")
        out.append(item)
    return out


def run_shortcut(args: argparse.Namespace) -> int:
    from gis_desk.cli.algorithms import _plugins, _StderrProgress, parse_assignments
    from gis_desk.cli.main import print_json, to_jsonable
    from gis_desk.processing.feedback import Feedback
    from gis_desk.processing.registry import create_algorithm
    from gis_desk.processing.run import run_algorithm

    shortcut: Shortcut = args.shortcut
    algorithm = create_algorithm(_plugins(), shortcut.algorithm)
    params = parse_assignments(algorithm, assignments_for(shortcut, args))
    input_crs = None
    if shortcut.input_crs and args.crs:
        from gis_desk.processing.parameters import CrsParameter

        input_crs = CrsParameter("crs", "--crs").validate(args.crs)
    printer = _StderrProgress()
    feedback = Feedback(on_progress=printer.progress, on_message=printer.message)
    try:
        outputs = run_algorithm(algorithm, params, feedback, input_crs=input_crs)
    finally:
        printer.done()
    if args.json:
        report = dict(outputs)
        for name in shortcut.tables:
            if outputs.get(name):
                report[f"{name}_rows"] = read_csv_rows(outputs[name])
        print_json(report)
    else:
        for name, value in outputs.items():
            if not isinstance(value, dict):  # nested reports are in the files and on stderr
                print(f"{name}: {to_jsonable(value)}")
    return 0


def read_csv_rows(path: str | Path) -> list[dict[str, Any]]:
    """The rows of a small CSV the algorithm wrote, numbers as numbers ('[c]' and other text
    stay text)."""
    with open(path, newline="", encoding="utf-8-sig") as fh:
        return [{key: _number(value) for key, value in row.items()} for row in csv.DictReader(fh)]


def _number(text: str | None) -> Any:
    if text is None or text == "":
        return None
    for kind in (int, float):
        try:
            number = kind(text)
        except ValueError:
            continue
        return number if math.isfinite(number) else text  # JSON has no NaN or Infinity
    return text


def declared_parameters(shortcut: Shortcut, plugins=None) -> set[str]:
    """The parameter names of the shortcut's algorithm (for checks and tests)."""
    from gis_desk.cli.algorithms import _plugins
    from gis_desk.processing.registry import create_algorithm

    algorithm = create_algorithm(plugins if plugins is not None else _plugins(), shortcut.algorithm)
    return {p.name for p in algorithm.parameters()}
