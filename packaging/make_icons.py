"""Render the app icon (resources/icons/app.svg) into the files packagers need.

    .venv/bin/python packaging/make_icons.py

Writes ``packaging/icons/gis-desk.ico`` (Windows: the PyInstaller exe and the Inno Setup
installer; 16-256 px) and ``packaging/icons/gis-desk-256.png`` (Linux desktop entry, beside the
scalable SVG).  Uses skia's SVG renderer and Pillow, both already dependencies; no Qt.
"""

from __future__ import annotations

import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
SVG = ROOT / "resources" / "icons" / "app.svg"
OUT = ROOT / "packaging" / "icons"
ICO_SIZES = (16, 24, 32, 48, 64, 128, 256)


def render_svg(path: Path, size: int) -> np.ndarray:
    """The SVG at ``path`` drawn into a ``size`` x ``size`` straight-alpha RGBA array."""
    import skia

    dom = skia.SVGDOM.MakeFromStream(skia.Stream.MakeFromFile(str(path)))
    if dom is None:
        raise SystemExit(f"make_icons: {path} is not an SVG skia can read")
    image = np.zeros((size, size, 4), dtype=np.uint8)
    surface = skia.Surface(image, colorType=skia.kRGBA_8888_ColorType, alphaType=skia.kUnpremul_AlphaType)
    natural = float(ET.parse(path).getroot().get("width", "64").removesuffix("px"))
    with surface as canvas:
        dom.setContainerSize(skia.Size(natural, natural))
        canvas.scale(size / natural, size / natural)
        dom.render(canvas)
    return image


def main() -> int:
    from PIL import Image

    OUT.mkdir(exist_ok=True)
    big = Image.fromarray(render_svg(SVG, 256), "RGBA")
    big.save(OUT / "gis-desk-256.png", optimize=True)
    big.save(OUT / "gis-desk.ico", sizes=[(s, s) for s in ICO_SIZES])
    print(f"wrote {OUT / 'gis-desk-256.png'} and {OUT / 'gis-desk.ico'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
