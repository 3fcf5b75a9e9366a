"""Layer styles as plain, serialisable data (no drawing code here).

Colours are hex strings, ``#rrggbb`` or ``#rrggbbaa``.  Sizes and widths are in
screen pixels at 96 dpi.  Each style round-trips through ``to_dict``/``style_from_dict``
so a project file stays human-readable.  Building classes from data (quantiles,
natural breaks...) lives in ``gis_desk.core.classify``; drawing in ``gis_desk.render``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from dataclasses import field as dc_field
from typing import Any, ClassVar


@dataclass
class Symbol:
    """How one feature is drawn: fill and outline for polygons, stroke for lines, marker for points."""

    fill: str = "#a6cee3cc"
    stroke: str = "#1f3b57ff"
    stroke_width: float = 0.8
    marker: str = "circle"  # circle | square | triangle | diamond
    size: float = 7.0  # marker diameter in px

    @classmethod
    def from_dict(cls, d: dict) -> "Symbol":
        return cls(**{k: v for k, v in d.items() if k in cls.__dataclass_fields__})


@dataclass
class LabelSettings:
    field: str
    size: float = 9.0  # points
    color: str = "#202020ff"
    halo: str | None = "#ffffffd0"
    enabled: bool = True


@dataclass
class Category:
    value: Any
    symbol: Symbol
    label: str = ""
    visible: bool = True


@dataclass
class ClassRange:
    lower: float
    upper: float
    symbol: Symbol
    label: str = ""


@dataclass
class SingleSymbolStyle:
    kind: ClassVar[str] = "single"
    symbol: Symbol = dc_field(default_factory=Symbol)
    labels: LabelSettings | None = None


@dataclass
class CategorisedStyle:
    """One symbol per distinct value of ``field``; ``other`` draws values not listed (None hides them)."""

    kind: ClassVar[str] = "categorised"
    field: str = ""
    categories: list[Category] = dc_field(default_factory=list)
    other: Symbol | None = None
    ramp: str = "Set2"
    labels: LabelSettings | None = None


@dataclass
class GraduatedStyle:
    """Numeric ``field`` split into ranges; ``method`` is how ``classes`` were built."""

    kind: ClassVar[str] = "graduated"
    field: str = ""
    method: str = "quantile"  # equal_interval | quantile | natural_breaks | manual
    n_classes: int = 5
    ramp: str = "YlOrRd"
    invert_ramp: bool = False
    classes: list[ClassRange] = dc_field(default_factory=list)
    labels: LabelSettings | None = None


@dataclass
class RasterStyle:
    """How a raster is drawn.

    ``mode``: ``rgb`` (bands -> R,G,B[,A]), ``singleband`` (band through ``ramp`` between
    ``vmin`` and ``vmax``), ``paletted`` (the file's colour table).  ``stretch`` is how
    vmin/vmax were found: ``minmax``, ``percent`` (2-98 %) or ``manual``.
    """

    kind: ClassVar[str] = "raster"
    mode: str = "rgb"
    bands: tuple[int, ...] = (1, 2, 3)
    stretch: str = "minmax"
    vmin: list[float] | None = None  # per band drawn
    vmax: list[float] | None = None
    ramp: str = "viridis"
    invert_ramp: bool = False
    nodata: float | None = None  # override of the file's nodata
    resampling: str = "nearest"  # nearest | bilinear | average
    # Hillshade of single-band elevation models (DSM/DTM): "off", "blend" (the ramp shaded by
    # the relief) or "only" (grey relief).  Light from ``hillshade_azimuth`` (degrees clockwise
    # from north) at ``hillshade_altitude`` degrees above the horizon; heights are multiplied by
    # ``hillshade_z_factor`` (exaggeration); ``hillshade_strength`` is how much the relief
    # darkens the ramp in "blend" (0 = ramp only, 1 = full shading).
    hillshade: str = "off"
    hillshade_azimuth: float = 315.0
    hillshade_altitude: float = 45.0
    hillshade_z_factor: float = 1.0
    hillshade_strength: float = 0.6


#: Words in a raster's file name that mark an elevation model (heights in metres).
_ELEVATION_WORDS = ("dsm", "dtm", "dem", "elev", "height", "terrain", "srtm", "lidar", "hgt", "nds")


def is_elevation_model(dataset, style=None) -> bool:
    """Whether a raster holds heights: one band of numbers and either a name that says so
    (dsm, dtm, dem, elevation, terrain, ...) or a style that draws it as hillshade."""
    if int(getattr(dataset, "count", 0) or 0) != 1:
        return False
    if isinstance(style, RasterStyle) and style.hillshade != "off":
        return True
    import re
    from pathlib import Path

    source = getattr(dataset, "source", None)
    name = Path(str(getattr(source, "path", "") or getattr(dataset, "path", ""))).stem.lower()
    return any(re.search(rf"(^|[^a-z]){w}", name) for w in _ELEVATION_WORDS)


STYLE_KINDS: dict[str, type] = {
    cls.kind: cls for cls in (SingleSymbolStyle, CategorisedStyle, GraduatedStyle, RasterStyle)
}


def style_to_dict(style) -> dict | None:
    if style is None:
        return None
    d = asdict(style)
    d["kind"] = style.kind
    if "bands" in d:
        d["bands"] = list(d["bands"])
    return d


def style_from_dict(d: dict | None):
    """Rebuild a style written by ``style_to_dict``; unknown keys are ignored."""
    if not d:
        return None
    d = dict(d)
    cls = STYLE_KINDS[d.pop("kind")]
    labels = d.pop("labels", None)
    kwargs: dict[str, Any] = {k: v for k, v in d.items() if k in cls.__dataclass_fields__}
    if "symbol" in kwargs:
        kwargs["symbol"] = Symbol.from_dict(kwargs["symbol"])
    if kwargs.get("other"):
        kwargs["other"] = Symbol.from_dict(kwargs["other"])
    if "categories" in kwargs:
        kwargs["categories"] = [
            Category(c["value"], Symbol.from_dict(c["symbol"]), c.get("label", ""), c.get("visible", True))
            for c in kwargs["categories"]
        ]
    if "classes" in kwargs:
        kwargs["classes"] = [
            ClassRange(c["lower"], c["upper"], Symbol.from_dict(c["symbol"]), c.get("label", ""))
            for c in kwargs["classes"]
        ]
    if "bands" in kwargs:
        kwargs["bands"] = tuple(kwargs["bands"])
    style = cls(**kwargs)
    if labels is not None and hasattr(style, "labels"):
        style.labels = LabelSettings(**labels)
    return style
