"""Colour ramps by name: ColorBrewer sequential, diverging and qualitative, plus the perceptually
uniform matplotlib maps (viridis, magma, plasma, inferno, cividis...).

Colours come from matplotlib's colormaps, imported only when a ramp is first used so that
``import gis_desk.core.ramps`` stays cheap.  Hex colours are '#rrggbb' (opaque).
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from gis_desk.errors import DataError

SEQUENTIAL = (
    "Blues", "BuGn", "BuPu", "GnBu", "Greens", "Greys", "Oranges", "OrRd", "PuBu", "PuBuGn", "PuRd",
    "Purples", "RdPu", "Reds", "YlGn", "YlGnBu", "YlOrBr", "YlOrRd",
)
DIVERGING = ("BrBG", "PiYG", "PRGn", "PuOr", "RdBu", "RdGy", "RdYlBu", "RdYlGn", "Spectral")
QUALITATIVE = ("Accent", "Dark2", "Paired", "Pastel1", "Pastel2", "Set1", "Set2", "Set3", "tab10", "tab20")
PERCEPTUAL = ("viridis", "magma", "plasma", "inferno", "cividis", "turbo", "Greys_r")
RAMP_NAMES: tuple[str, ...] = SEQUENTIAL + DIVERGING + QUALITATIVE + PERCEPTUAL


def ramp_kind(name: str) -> str:
    """'sequential', 'diverging', 'qualitative' or 'perceptual'; raises ``DataError`` if unknown."""
    for kind, names in (("sequential", SEQUENTIAL), ("diverging", DIVERGING),
                        ("qualitative", QUALITATIVE), ("perceptual", PERCEPTUAL)):
        if name in names:
            return kind
    raise DataError(f"Unknown colour ramp {name!r}", hint=f"choose one of: {', '.join(RAMP_NAMES)}")


@lru_cache(maxsize=64)
def _colormap(name: str):
    ramp_kind(name)
    from matplotlib import colormaps

    return colormaps[name]


def _hex(rgb) -> str:
    r, g, b = (int(round(float(v) * 255)) for v in rgb[:3])
    return f"#{r:02x}{g:02x}{b:02x}"


def ramp_colors(name: str, n: int, invert: bool = False) -> list[str]:
    """``n`` hex colours from ramp ``name``.

    Qualitative ramps give their listed colours in order (repeating after the last one);
    the others are sampled evenly from one end to the other.  ``invert`` reverses the order.
    Raises ``DataError`` for an unknown ramp, ``ValueError`` if n < 0.
    """
    if n < 0:
        raise ValueError(f"Number of colours must be >= 0, got {n}")
    cmap = _colormap(name)
    if n == 0:
        return []
    if ramp_kind(name) == "qualitative":
        listed = list(cmap.colors)
        colors = [_hex(listed[i % len(listed)]) for i in range(n)]
    else:
        positions = [0.5] if n == 1 else np.linspace(0.0, 1.0, n)
        colors = [_hex(cmap(float(p))) for p in positions]
    return colors[::-1] if invert else colors


@lru_cache(maxsize=128)
def _lut(name: str, invert: bool) -> np.ndarray:
    cmap = _colormap(name)
    positions = np.linspace(0.0, 1.0, 256)
    if invert:
        positions = positions[::-1]
    lut = np.round(np.asarray(cmap(positions)) * 255).astype(np.uint8)
    lut.setflags(write=False)
    return lut


def ramp_lut(name: str, invert: bool = False) -> np.ndarray:
    """A (256, 4) uint8 straight-alpha RGBA look-up table: entry 0 is the ramp's start (its end
    when ``invert``).  Read-only and shared.  Raises ``DataError`` for an unknown ramp."""
    return _lut(name, bool(invert))
