"""CloudCompare M3C2 parameter files (the plugin's "Load/Save parameters" INI) <-> M3C2Params.

Why: engineers already tune M3C2 in CloudCompare and keep the ``m3c2_params.txt`` with the job;
reading it gives the same cylinder here, writing ours lets them check a result in CloudCompare.

The file is a Qt INI with a ``[General]`` section and ``M3C2VER=1`` (CloudCompare refuses a file
without it).  Conversions that matter:

* ``NormalScale`` and ``SearchScale`` are DIAMETERS: radius = value / 2.
* ``SearchDepth`` is the cylinder's HALF-height (CloudCompare's "max depth"): max_depth as is.
* ``RegistrationError`` counts only with ``RegistrationErrorEnabled=true``.
* ``MinPoints4Stat`` counts only with ``UseMinPoints4Stat=true``; otherwise CloudCompare uses 5.
* ``NormalMode``: 0 default (one scale), 1 cloud #1's own normals, 2 multi-scale, 3 vertical,
  4 horizontal, 5 core points' normals.  We compute single-scale normals; 3 maps to straight-up
  normals (flagged ``vertical``); the others fall back to single-scale with a note.
* ``NormalPreferedOri`` (sic): 0..5 = +X -X +Y -Y +Z -Z, 6/7 = away from / towards the
  barycentre, 8/9 = away from / towards the origin (CloudCompare's origin is after its own
  global shift, so this is noted as unreliable in national-grid coordinates).
* GIS Desk extension (CloudCompare ignores keys it does not know): ``NormalUsePoint=true`` with
  ``NormalRefPointX/Y/Z`` orients normals towards that point (e.g. the scanner's or viewer's
  position; away from it with ``NormalRefPointAway=true``), which none of CloudCompare's
  choices can express.

Keys we do not use (subsampling, export options, precision maps...) are kept in ``notes`` so the
dialog can show what was ignored.
"""

from __future__ import annotations

import configparser
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from gis_desk.analysis.m3c2 import M3C2Params
from gis_desk.errors import CorruptFileError, MissingFileError, ParameterError, WriterError
from gis_desk.io.atomic import atomic_write_text

# NormalPreferedOri index -> our orientation (None: needs the origin, handled below).
_AXES = {0: (1.0, 0.0, 0.0), 1: (-1.0, 0.0, 0.0), 2: (0.0, 1.0, 0.0), 3: (0.0, -1.0, 0.0),
         4: "up", 5: (0.0, 0.0, -1.0)}
_NORMAL_MODES = {0: "default", 1: "cloud #1 normals", 2: "multi-scale", 3: "vertical",
                 4: "horizontal", 5: "core point normals"}
# Keys whose meaning we apply; everything else is reported as ignored.
_USED = {"m3c2ver", "normalscale", "normalmode", "normalpreferedori", "normalusepoint",
         "normalrefpointx", "normalrefpointy", "normalrefpointz", "normalrefpointaway", "searchscale", "searchdepth",
         "registrationerror", "registrationerrorenabled", "usemedian", "useminpoints4stat",
         "minpoints4stat"}
# Keys that are only outputs or performance knobs: ignoring them changes no distance.
_HARMLESS = {"exportstddevinfo", "exportdensityatprojscale", "maxthreadcount", "projdestindex",
             "useoriginalcloud", "normalminscale", "normalstep", "normalmaxscale",
             "normalusecorepoints", "subsampleenabled", "subsampleradius", "useprecisionmaps",
             "pm1scale", "pm2scale"}


@dataclass
class CloudCompareM3C2:
    """What a CloudCompare parameter file says, in our terms."""

    params: M3C2Params
    vertical_normals: bool = False  # NormalMode=3: pass normals=(0, 0, 1) to m3c2()
    core_subsample_radius: float | None = None  # SubsampleEnabled: CloudCompare's core spacing
    notes: list[str] = field(default_factory=list)  # ignored keys and approximations
    raw: dict[str, str] = field(default_factory=dict)


def read_cloudcompare_params(path: str | Path) -> M3C2Params:
    """M3C2Params from a CloudCompare M3C2 parameter file (see :func:`read_cloudcompare_file`)."""
    return read_cloudcompare_file(path).params


def read_cloudcompare_file(path: str | Path) -> CloudCompareM3C2:
    """Parse a CloudCompare M3C2 parameter file; typed errors name the file and the problem."""
    path = Path(path)
    if not path.is_file():
        raise MissingFileError("The M3C2 parameter file does not exist", path=path,
                               hint="save one from CloudCompare's M3C2 dialog ('Save parameters')")
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError:
        raise CorruptFileError("This is not a text file, so not a CloudCompare M3C2 parameter file",
                               path=path) from None
    except OSError as exc:
        raise CorruptFileError(f"The M3C2 parameter file could not be read: {exc}", path=path) from None
    parser = configparser.ConfigParser(interpolation=None, strict=False,
                                       comment_prefixes=(";", "#"), inline_comment_prefixes=None)
    parser.optionxform = str  # keep CloudCompare's key case for messages
    try:
        parser.read_string(text if text.lstrip().startswith("[") else "[General]\n" + text)
    except configparser.Error as exc:
        raise CorruptFileError(f"The M3C2 parameter file is not a valid INI file: {exc.message}",
                               path=path) from None
    raw: dict[str, str] = {}
    for section in parser.sections():
        for key, value in parser.items(section):
            raw.setdefault(key, value.strip())
    values = {k.lower(): v for k, v in raw.items()}
    if "m3c2ver" not in values:
        raise CorruptFileError(
            "This is not a CloudCompare M3C2 parameter file: the M3C2VER key is missing", path=path,
            hint="CloudCompare writes M3C2VER=1 at the top of every M3C2 parameter file")

    def number(key: str, default: float | None = None) -> float:
        if key.lower() not in values:
            if default is None:
                raise CorruptFileError(f"The M3C2 parameter file has no {key}", path=path,
                                       hint=f"add {key}=... (metres)")
            return default
        try:
            v = float(values[key.lower()])
        except ValueError:
            raise CorruptFileError(f"{key}={values[key.lower()]!r} is not a number", path=path) from None
        if not math.isfinite(v):
            raise CorruptFileError(f"{key}={values[key.lower()]!r} is not a finite number", path=path)
        return v

    def flag(key: str, default: bool = False) -> bool:
        v = values.get(key.lower())
        if v is None:
            return default
        low = v.strip().lower()
        if low in ("true", "1", "yes", "on"):
            return True
        if low in ("false", "0", "no", "off", ""):
            return False
        raise CorruptFileError(f"{key}={v!r} is not true or false", path=path)

    notes: list[str] = []
    normal_d = number("NormalScale")
    search_d = number("SearchScale")
    depth = number("SearchDepth")
    for key, v in (("NormalScale", normal_d), ("SearchScale", search_d), ("SearchDepth", depth)):
        if v <= 0:
            raise CorruptFileError(f"{key}={v:g} must be a positive length in metres", path=path)

    registration = number("RegistrationError", 0.0) if flag("RegistrationErrorEnabled") else 0.0
    if registration < 0:
        raise CorruptFileError(f"RegistrationError={registration:g} must be >= 0", path=path)
    if not flag("RegistrationErrorEnabled") and number("RegistrationError", 0.0):
        notes.append("RegistrationError is set but RegistrationErrorEnabled=false: not added to the LoD")
    min_points = int(number("MinPoints4Stat", 5)) if flag("UseMinPoints4Stat") else 5

    mode = int(number("NormalMode", 0))
    vertical = mode == 3
    if mode not in (0, 3):
        notes.append(f"NormalMode={mode} ({_NORMAL_MODES.get(mode, 'unknown')}) is not supported: "
                     "single-scale normals of radius NormalScale/2 are used")
    if flag("NormalUseCorePoints"):
        notes.append("NormalUseCorePoints=true: normals are computed from epoch 1, not the core points")

    orientation = _orientation(values, number, flag, notes, path)
    params = M3C2Params(
        normal_radius=normal_d / 2.0, cylinder_radius=search_d / 2.0, max_depth=depth,
        registration_error=registration, use_median=flag("UseMedian"), min_points=max(min_points, 1),
        normal_orientation=orientation,
    )
    try:
        params.validate()
    except ParameterError as exc:
        raise CorruptFileError(f"Unusable M3C2 parameters: {exc.message}", path=path) from None

    subsample = number("SubsampleRadius", 0.0) if flag("SubsampleEnabled") else None
    if flag("PositiveSearchOnly"):
        notes.append("PositiveSearchOnly=true is not supported: the cylinder extends both ways")
    if flag("UseSinglePass4Depth"):
        notes.append("UseSinglePass4Depth=true is a CloudCompare speed option: ignored")
    for key in raw:
        k = key.lower()
        if k in _USED or k in _HARMLESS or k in ("positivesearchonly", "usesinglepass4depth"):
            continue
        notes.append(f"Unknown key {key} ignored")
    return CloudCompareM3C2(params, vertical, subsample or None, notes, raw)


def _orientation(values, number, flag, notes, path):
    if flag("NormalUsePoint"):
        try:
            point = tuple(number(f"NormalRefPoint{a}") for a in "XYZ")
        except CorruptFileError:
            raise CorruptFileError("NormalUsePoint=true needs NormalRefPointX, Y and Z", path=path) from None
        return ("away" if flag("NormalRefPointAway") else "towards", point)
    ori = int(number("NormalPreferedOri", 4))
    if ori in _AXES:
        return _AXES[ori]
    if ori == 6:
        return "away_from_barycentre"
    if ori == 7:
        return "towards_barycentre"
    if ori in (8, 9):
        notes.append("Normals oriented by CloudCompare's origin, which is after its global shift: "
                     "the true coordinate origin (0, 0, 0) is used; give a direction or point instead")
        return ("away" if ori == 8 else "towards", (0.0, 0.0, 0.0))
    raise CorruptFileError(f"NormalPreferedOri={ori} is not one of CloudCompare's orientations (0-9)",
                           path=path)


def write_cloudcompare_params(path: str | Path, params: M3C2Params, *,
                              core_subsample_radius: float | None = None,
                              vertical_normals: bool = False) -> Path:
    """Write ``params`` as a CloudCompare M3C2 parameter file (diameters) that CloudCompare loads.

    A 'towards/away from a point' orientation has no CloudCompare equivalent: the point goes in
    GIS Desk's NormalUsePoint keys (read back exactly here) and CloudCompare gets the nearest of
    its own choices (+/-Barycenter), which a comment line in the file explains.
    """
    params = params.validate()
    path = Path(path)
    comments: list[str] = []
    ori = params.normal_orientation
    use_point: tuple[float, float, float] | None = None
    if isinstance(ori, str):
        key = ori.strip().lower().replace("barycenter", "barycentre")
        named = {"up": 4, "+z": 4, "down": 5, "-z": 5, "+x": 0, "-x": 1, "+y": 2, "-y": 3,
                 "away_from_barycentre": 6, "towards_barycentre": 7}
        pref = named[key]
    elif len(ori) == 2 and isinstance(ori[0], str):
        use_point = tuple(float(v) for v in ori[1])
        # A viewpoint outside the structure looks at its outside faces, whose normals point away
        # from the barycentre; a point inside (a tank's centre) matches "towards the barycentre".
        pref = 6 if ori[0] == "towards" else 7
        comments.append(f"; GIS Desk: normals {ori[0]} the point NormalRefPoint*; "
                        "CloudCompare ignores these keys and uses NormalPreferedOri")
    else:
        vec = np.asarray(ori, dtype=float)
        vec = vec / np.linalg.norm(vec)
        axis = int(np.argmax(np.abs(vec)))
        pref = 2 * axis + (0 if vec[axis] > 0 else 1)
        if abs(vec[axis]) < 1 - 1e-9:
            comments.append(f"; GIS Desk: normals oriented along {tuple(round(v, 6) for v in vec)}; "
                            "CloudCompare only offers axes, the nearest is used")

    def g(v: float) -> str:
        return f"{float(v):.12g}"

    lines = ["[General]", "M3C2VER=1", *comments,
             f"NormalScale={g(2 * params.normal_radius)}",
             f"NormalMode={3 if vertical_normals else 0}",
             "NormalUseCorePoints=false",
             f"NormalPreferedOri={pref}"]
    if use_point is not None:
        lines += ["NormalUsePoint=true", *(f"NormalRefPoint{a}={g(v)}" for a, v in zip("XYZ", use_point))]
        if ori[0] == "away":
            lines.append("NormalRefPointAway=true")
    lines += [
        f"SearchScale={g(2 * params.cylinder_radius)}",
        f"SearchDepth={g(params.max_depth)}",
        f"SubsampleEnabled={'true' if core_subsample_radius else 'false'}",
        f"SubsampleRadius={g(core_subsample_radius or params.cylinder_radius)}",
        f"RegistrationErrorEnabled={'true' if params.registration_error > 0 else 'false'}",
        f"RegistrationError={g(params.registration_error)}",
        "UseSinglePass4Depth=false",
        "PositiveSearchOnly=false",
        f"UseMedian={'true' if params.use_median else 'false'}",
        f"UseMinPoints4Stat={'true' if int(params.min_points) != 5 else 'false'}",
        f"MinPoints4Stat={int(params.min_points)}",
        "ExportStdDevInfo=true",
        "ExportDensityAtProjScale=false",
        "MaxThreadCount=0",
        "",
    ]
    try:
        atomic_write_text(path, "\n".join(lines))
    except OSError as exc:
        raise WriterError(f"The M3C2 parameter file could not be written: {exc}", path=path) from None
    return path
