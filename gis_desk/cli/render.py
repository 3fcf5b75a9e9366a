"""``gis-desk render PROJECT --out map.png --size 1920x1080 [--extent ...]``: headless map image."""

from __future__ import annotations

import argparse


def parse_size(text: str) -> tuple[int, int]:
    """'1920x1080' -> (1920, 1080); both between 1 and 20000 pixels."""
    try:
        width, height = (int(v) for v in text.lower().replace("*", "x").split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected WIDTHxHEIGHT in pixels such as 1920x1080, got {text!r}") from None
    if not (0 < width <= 20000 and 0 < height <= 20000):
        raise argparse.ArgumentTypeError(f"width and height must be 1..20000 pixels, got {text!r}")
    return width, height


def parse_extent(text: str) -> tuple[float, float, float, float]:
    """'xmin,ymin,xmax,ymax' (project CRS) -> floats, with xmin < xmax and ymin < ymax."""
    try:
        xmin, ymin, xmax, ymax = (float(v) for v in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected xmin,ymin,xmax,ymax, got {text!r}") from None
    if xmin >= xmax or ymin >= ymax:
        raise argparse.ArgumentTypeError(f"xmin must be below xmax and ymin below ymax, got {text!r}")
    return xmin, ymin, xmax, ymax


def add_parser(commands) -> None:
    p = commands.add_parser("render", help="render a project to an image without a window",
                            description="Draw a .gdesk project with the map canvas's own renderer.")
    p.add_argument("project", help="the project file (.gdesk)")
    p.add_argument("--out", required=True, help="image to write (.png)")
    p.add_argument("--size", type=parse_size, default=(1920, 1080), metavar="WxH",
                   help="image size in pixels (default 1920x1080)")
    p.add_argument("--extent", type=parse_extent, metavar="xmin,ymin,xmax,ymax",
                   help="area to draw in the project CRS (default: the project's saved view, else all layers)")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from gis_desk.render.headless import render_project_file

    width, height = args.size
    written = render_project_file(args.project, args.out, width, height, extent=args.extent)
    print(f"wrote {written or args.out} ({width}x{height})")
    return 0
