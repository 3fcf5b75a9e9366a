"""Small skia helpers shared by the renderers: images, colours and array-built paths.

Images are numpy arrays (height, width, 4) uint8 holding PREMULTIPLIED RGBA, C-contiguous, the
layout Qt's ``QImage.Format_RGBA8888_Premultiplied`` wraps without copying.

Building a ``skia.Path`` vertex by vertex from Python costs about a microsecond per vertex, so
paths with many rings are instead assembled as skia's own serialised form with numpy and read
back with ``Path.readFromMemory`` (one C call per path, whatever the vertex count).
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import skia

from gis_desk.errors import DataError

_VERB_MOVE, _VERB_LINE, _VERB_CLOSE = 0, 1, 5
_SERIAL_VERSION = 5  # SkPath serialisation version written by this skia build (checked below)
_FILL_EVEN_ODD = 1 << 8


def new_image(width: int, height: int) -> np.ndarray:
    """A fully transparent premultiplied RGBA image."""
    return np.zeros((int(height), int(width), 4), dtype=np.uint8)


def surface_for(image: np.ndarray) -> skia.Surface:
    """A skia surface drawing straight into ``image`` (must be C-contiguous uint8 RGBA premul)."""
    if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 4 or not image.flags.c_contiguous:
        raise ValueError("image must be a C-contiguous (height, width, 4) uint8 array")
    return skia.Surface(image, colorType=skia.kRGBA_8888_ColorType, alphaType=skia.kPremul_AlphaType)


def skia_image(image: np.ndarray, copy: bool = False) -> skia.Image:
    """Wrap a premultiplied RGBA array as a ``skia.Image`` (no copy by default: keep the array alive)."""
    return skia.Image.fromarray(np.ascontiguousarray(image), colorType=skia.kRGBA_8888_ColorType,
                                alphaType=skia.kPremul_AlphaType, copy=copy)


@lru_cache(maxsize=1024)
def parse_color(text: str) -> tuple[float, float, float, float]:
    """'#rgb', '#rrggbb' or '#rrggbbaa' (or a matplotlib colour name) -> RGBA floats 0..1.

    Raises ``DataError`` for text that is not a colour."""
    value = str(text).strip()
    if value.startswith("#") and len(value) in (4, 7, 9):
        digits = value[1:]
        if len(digits) == 3:
            digits = "".join(c * 2 for c in digits)
        try:
            nums = [int(digits[i:i + 2], 16) / 255.0 for i in range(0, len(digits), 2)]
        except ValueError:
            nums = None
        if nums is not None:
            return tuple(nums + [1.0] * (4 - len(nums)))  # type: ignore[return-value]
    try:
        from matplotlib.colors import to_rgba

        return tuple(float(v) for v in to_rgba(value))  # type: ignore[return-value]
    except ValueError as exc:
        raise DataError(f"{text!r} is not a colour", hint="use #rrggbb or #rrggbbaa") from exc


def color4f(text: str, alpha: float = 1.0) -> skia.Color4f:
    r, g, b, a = parse_color(text)
    return skia.Color4f(r, g, b, a * alpha)


def fill_paint(color: str, antialias: bool = True) -> skia.Paint:
    return skia.Paint(Color4f=color4f(color), AntiAlias=antialias, Style=skia.Paint.kFill_Style)


def stroke_paint(color: str, width: float, antialias: bool = True, round_joins: bool = True) -> skia.Paint:
    paint = skia.Paint(Color4f=color4f(color), AntiAlias=antialias, Style=skia.Paint.kStroke_Style,
                       StrokeWidth=float(max(width, 0.0)))
    if round_joins:
        paint.setStrokeJoin(skia.Paint.kRound_Join)
        paint.setStrokeCap(skia.Paint.kRound_Cap)
    return paint


def path_from_rings(coords: np.ndarray, offsets: np.ndarray, closed: bool, even_odd: bool = False) -> skia.Path:
    """One ``skia.Path`` holding every ring/line given as pixel ``coords`` (N, 2) split at
    ``offsets`` (R + 1 increasing indices, offsets[0] == 0, offsets[-1] == N).

    ``closed`` closes each part (polygon rings: do not repeat the first vertex at the end).
    Parts with no vertex must have been removed.  The fill type is nonzero winding unless
    ``even_odd``.
    """
    offsets = np.asarray(offsets, dtype=np.int64)
    n_points = int(offsets[-1]) if len(offsets) else 0
    n_parts = len(offsets) - 1
    path = skia.Path()
    if n_points == 0 or n_parts <= 0:
        return path
    starts = offsets[:-1]
    if closed:
        part_of_point = np.repeat(np.arange(n_parts), np.diff(offsets))
        verbs = np.full(n_points + n_parts, _VERB_CLOSE, dtype=np.uint8)
        verbs[np.arange(n_points) + part_of_point] = _VERB_LINE
        verbs[starts + np.arange(n_parts)] = _VERB_MOVE
    else:
        verbs = np.full(n_points, _VERB_LINE, dtype=np.uint8)
        verbs[starts] = _VERB_MOVE
    header = np.array([_SERIAL_VERSION | (_FILL_EVEN_ODD if even_odd else 0), n_points, 0, len(verbs)],
                      dtype=np.int32)
    pad = (-len(verbs)) % 4
    buffer = b"".join((header.tobytes(), np.ascontiguousarray(coords, dtype=np.float32).tobytes(),
                       verbs.tobytes(), b"\0" * pad))
    if path.readFromMemory(buffer) == 0:
        raise RuntimeError("skia rejected an array-built path (serialisation format changed?)")
    return path


def _check_serial_format() -> None:
    # Guard the hand-built format against a skia upgrade: compare with skia's own output.
    probe = skia.Path()
    probe.moveTo(1, 2)
    probe.lineTo(3, 4)
    probe.lineTo(5, 6)
    probe.close()
    built = path_from_rings(np.array([[1, 2], [3, 4], [5, 6]], float), np.array([0, 3]), closed=True)
    if bytes(probe.serialize()) != bytes(built.serialize()):
        raise RuntimeError("skia's path serialisation differs from what gis_desk.render expects")


_check_serial_format()


@lru_cache(maxsize=8)
def typeface(bold: bool = False) -> skia.Typeface:
    """A sans-serif typeface (DejaVu Sans or the platform's default sans)."""
    style = skia.FontStyle.Bold() if bold else skia.FontStyle.Normal()
    for family in ("DejaVu Sans", "Liberation Sans", "Arial", "Helvetica", "sans-serif"):
        face = skia.Typeface(family, style)
        if face is not None and face.getFamilyName():
            return face
    return skia.Typeface("", style)


def font(size_pt: float, bold: bool = False) -> skia.Font:
    """A font of ``size_pt`` points at 96 dpi (1 pt = 96/72 px)."""
    f = skia.Font(typeface(bold), float(size_pt) * 96.0 / 72.0)
    f.setEdging(skia.Font.Edging.kAntiAlias)
    f.setSubpixel(True)
    return f


def unpremultiply(image: np.ndarray) -> np.ndarray:
    """Straight-alpha RGBA copy of a premultiplied image (for PNG writers)."""
    out = image.copy()
    alpha = image[..., 3:4].astype(np.uint16)
    nz = alpha[..., 0] > 0
    rgb = image[..., :3].astype(np.uint16)
    scaled = np.minimum((rgb * 255 + alpha // 2) // np.maximum(alpha, 1), 255).astype(np.uint8)
    out[..., :3] = np.where(nz[..., None], scaled, 0)
    return out


def premultiply(rgba: np.ndarray) -> np.ndarray:
    """Premultiplied copy of a straight-alpha RGBA uint8 array (rounded)."""
    out = np.array(rgba, dtype=np.uint8, copy=True, order="C")
    alpha = out[..., 3:4].astype(np.uint16)
    out[..., :3] = ((out[..., :3].astype(np.uint16) * alpha + 127) // 255).astype(np.uint8)
    return out
