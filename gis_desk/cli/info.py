"""``gis-desk info FILE [--json] [--crs EPSG:n]``: summarise any supported file."""

from __future__ import annotations

import argparse


def add_parser(commands) -> None:
    p = commands.add_parser("info", help="summarise a data file (driver, CRS, extent, fields or bands, count)",
                            description="Summarise a vector, raster or other supported file.")
    p.add_argument("file", help="the file to describe")
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    p.add_argument("--crs", metavar="EPSG:n", help="CRS to assume when the file states none")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from gis_desk.cli.main import print_json
    from gis_desk.io.info import describe, format_info

    summary = describe(args.file, crs=args.crs)
    if args.json:
        print_json(summary)
    else:
        print(format_info(summary))
    return 0
