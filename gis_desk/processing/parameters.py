"""Algorithm parameters, declared once and read by the GUI form, the CLI and the tests.

Every parameter has a ``name`` (a Python identifier with units in it: ``distance_m``), a
``label`` for forms, a ``description`` for help, a ``default`` and ``optional``.  Its
``kind`` is a short string ('vector', 'raster', 'number', 'integer', 'enum', 'bool', 'crs',
'extent', 'field', 'string', 'output_file') the GUI maps to a widget.

- ``parse(text)`` turns CLI ``key=value`` text into a value;
- ``validate(value)`` checks a value (text is parsed first) and returns the value the
  algorithm receives; ``None`` becomes the default, or ``None`` when optional.
Both raise ``gis_desk.errors.ParameterError`` with a message naming the parameter.
"""

from __future__ import annotations

import math
import os
import tempfile
import uuid
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Sequence

from gis_desk.errors import CrsError, ParameterError

_TRUE = {"1", "true", "yes", "y", "on"}
_FALSE = {"0", "false", "no", "n", "off"}


class Parameter:
    """Base parameter: a value of any type, required unless ``optional`` or defaulted."""

    kind = "string"

    def __init__(self, name: str, label: str, description: str = "", default: Any = None,
                 optional: bool = False) -> None:
        if not name.isidentifier():
            raise ValueError(f"parameter name {name!r} must be a Python identifier")
        self.name = name
        self.label = label
        self.description = description
        self.default = default
        self.optional = bool(optional)

    # -- the API every form and command line uses ---------------------------------------------
    def parse(self, text: str) -> Any:
        """Value from command-line text (``key=value``); raises ``ParameterError``."""
        return self.validate(text)

    def validate(self, value: Any) -> Any:
        """Checked value; ``None`` gives the default (or ``None`` if optional).

        Raises ``ParameterError`` naming the parameter when the value is missing or invalid.
        """
        if _is_missing(value):
            if self.default is not None:
                return self._check(self.default)
            if self.optional:
                return None
            raise self.error("a value is required")
        return self._check(value)

    def _check(self, value: Any) -> Any:
        """Subclasses check and convert a present value."""
        return value

    # -- helpers -------------------------------------------------------------------------------
    def error(self, problem: str, hint: str | None = None, path: str | Path | None = None) -> ParameterError:
        """A ``ParameterError`` whose message starts with the parameter name."""
        return ParameterError(f"parameter '{self.name}' ({self.label}): {problem}", hint=hint, path=path)

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly declaration (for ``algorithms help --json`` and form builders)."""
        return {
            "name": self.name,
            "kind": self.kind,
            "label": self.label,
            "description": self.description,
            "default": _jsonable(self.default),
            "optional": self.optional,
            **{k: _jsonable(v) for k, v in self._extra().items()},
        }

    def _extra(self) -> dict[str, Any]:
        return {}

    def usage(self) -> str:
        """One line for help text: ``name (kind, optional, default 10): description``."""
        bits = [self.kind]
        extra = self._extra()
        if extra.get("unit"):
            bits.append(extra["unit"])
        if self.default is not None:
            bits.append(f"default {_jsonable(self.default)}")
        elif self.optional:
            bits.append("optional")
        else:
            bits.append("required")
        text = f"{self.name} ({', '.join(bits)}): {self.label}"
        if "choices" in extra:
            text += f" [{' | '.join(extra['choices'])}]"
        return text + (f". {self.description}" if self.description else "")

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name!r})"


def _is_missing(value: Any) -> bool:
    return value is None or (isinstance(value, str) and value.strip() == "")


def _jsonable(value: Any) -> Any:
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, Path):
        return str(value)
    if hasattr(value, "to_epsg") or hasattr(value, "to_wkt"):
        from gis_desk.core.crs import crs_id

        return crs_id(value)
    return str(value)


# --- layers --------------------------------------------------------------------------------


def _split_layer_name(text: str) -> tuple[str, str | None]:
    """'data.gpkg|layername=roads' -> ('data.gpkg', 'roads') (the QGIS source convention)."""
    if "|layername=" in text:
        path, _, layer = text.partition("|layername=")
        return path, layer or None
    return text, None


class _LayerParameter(Parameter):
    """A layer given as a file path (str or Path), a ``Layer`` or a dataset."""

    dataset_type: type | None = None
    kind_word = "layer"

    def _check(self, value: Any) -> Any:
        from gis_desk.core.layer import Layer

        if isinstance(value, Path):
            value = str(value)
        if isinstance(value, str):
            value = os.path.expanduser(value.strip())  # '~' after 'key=' is not expanded by shells
            path, _ = _split_layer_name(value)
            if not Path(path).exists():
                raise self.error("the file does not exist", path=path,
                                 hint="check the path; it may have been moved or renamed")
            return value
        if isinstance(value, Layer):
            if value.is_broken or value.dataset is None:
                raise self.error(f"layer '{value.name}' has no data (its file is missing)",
                                 hint="re-point the layer to its file first")
            value = value.dataset
        if self._accepts(value):
            return value
        raise self.error(f"expected a {self.kind_word} file or layer, got {type(value).__name__}")

    def _accepts(self, value: Any) -> bool:
        return self.dataset_type is not None and isinstance(value, self.dataset_type)


class VectorLayerParameter(_LayerParameter):
    """A vector layer: a file path ('file.gpkg' or 'file.gpkg|layername=roads'), a
    ``VectorLayer``, a ``VectorDataset`` or a ``GeoDataFrame``.

    ``geometry_types`` (e.g. ``["Polygon"]``) limits what ``load`` accepts; multi-part types
    count as their single-part kind.
    """

    kind = "vector"
    kind_word = "vector"

    def __init__(self, name: str, label: str, description: str = "", default: Any = None,
                 optional: bool = False, geometry_types: Sequence[str] | None = None) -> None:
        super().__init__(name, label, description, default, optional)
        self.geometry_types = list(geometry_types) if geometry_types else None

    def _extra(self) -> dict[str, Any]:
        return {"geometry_types": self.geometry_types} if self.geometry_types else {}

    def _accepts(self, value: Any) -> bool:
        from gis_desk.core.datasets import VectorDataset

        return isinstance(value, VectorDataset) or _is_geodataframe(value)

    def load(self, value: Any, crs: Any = None):
        """The features as a ``GeoDataFrame`` with a CRS (a copy the caller may change).

        ``crs`` is used only when a file has none.  Raises ``ParameterError`` (bad value,
        wrong geometry type), ``MissingCrsError`` (no CRS and none given) or the reader's error.
        """
        from gis_desk.core.datasets import VectorDataset
        from gis_desk.errors import MissingCrsError

        value = self.validate(value)
        if value is None:
            return None
        if isinstance(value, str):
            path, layer = _split_layer_name(value)
            frame = read_vector_frame(path, layer=layer, crs=crs)
            source = path
        elif isinstance(value, VectorDataset):
            frame, source = value.frame.copy(), value.source.path
        else:
            frame, source = value.copy(), None
        if frame.crs is None:
            if crs is None:
                raise MissingCrsError(f"parameter '{self.name}': the data has no coordinate reference system",
                                      path=source, hint="give one, e.g. --crs EPSG:27700")
            frame = frame.set_crs(crs)
        if self.geometry_types and len(frame):
            found = {t.replace("Multi", "") for t in frame.geometry.geom_type.dropna().unique()}
            wrong = found - set(self.geometry_types)
            if wrong:
                raise self.error(f"expected {' or '.join(self.geometry_types)} geometries, found "
                                 f"{', '.join(sorted(wrong))}", path=source)
        return frame


def _is_geodataframe(value: Any) -> bool:
    return type(value).__name__ == "GeoDataFrame" and hasattr(value, "geometry")


def read_vector_frame(path: str | Path, layer: str | None = None, crs: Any = None):
    """Read one vector layer into a ``GeoDataFrame`` through the built-in vector reader.

    ``crs`` applies only when the file states none.  Raises ``ParameterError`` when the file
    holds several layers and none was named, and the reader's ``ReaderError`` subclasses,
    ``MissingCrsError`` or ``DataError`` for unreadable files.
    """
    from gis_desk.core.datasets import VectorDataset
    from gis_desk.io.vector import read_vector

    options: dict[str, Any] = {"layer": layer} if layer else {}
    found = read_vector(str(path), crs=crs, **options)
    datasets = [ds for ds in found if isinstance(ds, VectorDataset)]  # not GeoPackage tiles
    if len(datasets) != 1:
        names = ", ".join(str(ds.source.options.get("layer", "?")) for ds in datasets)
        raise ParameterError(f"the file holds {len(datasets)} vector layers ({names or 'none'})", path=path,
                             hint=f"name one as '{path}|layername=NAME'")
    return datasets[0].frame.copy()


class RasterLayerParameter(_LayerParameter):
    """A raster layer: a file path, a ``RasterLayer`` or a ``RasterDataset``."""

    kind = "raster"
    kind_word = "raster"

    def _accepts(self, value: Any) -> bool:
        from gis_desk.core.datasets import RasterDataset

        return isinstance(value, RasterDataset)

    def path(self, value: Any) -> str:
        """The file to open with rasterio (the dataset's source path for layers)."""
        value = self.validate(value)
        return value if isinstance(value, str) else value.source.path

    def load(self, value: Any, crs: Any = None):
        """The raster as a ``RasterDataset`` (read lazily, window by window).

        ``crs`` applies only when the file has none.  Raises ``ParameterError`` for a bad
        value and the reader's errors (``CorruptFileError``, ``MissingCrsError``...).
        """
        value = self.validate(value)
        if value is None or not isinstance(value, str):
            return value
        from gis_desk.io.raster import read_raster

        (dataset,) = read_raster(value, crs=crs)
        return dataset


# --- numbers and choices -------------------------------------------------------------------


class NumberParameter(Parameter):
    """A finite real number within [``minimum``, ``maximum``]; ``unit`` such as 'm' or 'ha'."""

    kind = "number"

    def __init__(self, name: str, label: str, description: str = "", default: Any = None,
                 optional: bool = False, minimum: float | None = None, maximum: float | None = None,
                 unit: str = "") -> None:
        super().__init__(name, label, description, default, optional)
        self.minimum = minimum
        self.maximum = maximum
        self.unit = unit

    def _extra(self) -> dict[str, Any]:
        return {"minimum": self.minimum, "maximum": self.maximum, "unit": self.unit}

    def _convert(self, value: Any) -> float:
        if isinstance(value, bool):
            raise self.error("expected a number, got true/false")
        try:
            number = float(value.strip() if isinstance(value, str) else value)
        except (TypeError, ValueError):
            raise self.error(f"expected a number, got {value!r}") from None
        if not math.isfinite(number):
            raise self.error(f"expected a finite number, got {value!r}")
        return number

    def _check(self, value: Any) -> Any:
        number = self._convert(value)
        unit = f" {self.unit}" if self.unit else ""
        if self.minimum is not None and number < self.minimum:
            raise self.error(f"{number:g}{unit} is below the minimum {self.minimum:g}{unit}")
        if self.maximum is not None and number > self.maximum:
            raise self.error(f"{number:g}{unit} is above the maximum {self.maximum:g}{unit}")
        return number


class IntegerParameter(NumberParameter):
    """A whole number within [``minimum``, ``maximum``]."""

    kind = "integer"

    def _check(self, value: Any) -> Any:
        number = super()._check(value)
        if number != int(number):
            raise self.error(f"expected a whole number, got {value!r}")
        return int(number)


class EnumParameter(Parameter):
    """One of ``choices`` (strings); text matches case-insensitively."""

    kind = "enum"

    def __init__(self, name: str, label: str, choices: Sequence[str], description: str = "",
                 default: Any = None, optional: bool = False) -> None:
        super().__init__(name, label, description, default, optional)
        if not choices:
            raise ValueError("EnumParameter needs at least one choice")
        self.choices = [str(c) for c in choices]

    def _extra(self) -> dict[str, Any]:
        return {"choices": self.choices}

    def _check(self, value: Any) -> Any:
        text = str(value).strip()
        for choice in self.choices:
            if choice.lower() == text.lower():
                return choice
        raise self.error(f"{text!r} is not one of: {', '.join(self.choices)}")


class BoolParameter(Parameter):
    """True or false; text accepts true/false, yes/no, on/off, 1/0."""

    kind = "bool"

    def __init__(self, name: str, label: str, description: str = "", default: Any = False,
                 optional: bool = False) -> None:
        super().__init__(name, label, description, default, optional)

    def _check(self, value: Any) -> Any:
        if isinstance(value, bool):
            return value
        if isinstance(value, (int, float)) and value in (0, 1):
            return bool(value)
        text = str(value).strip().lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
        raise self.error(f"expected true or false (yes/no, 1/0), got {value!r}")


class StringParameter(Parameter):
    """Free text."""

    kind = "string"

    def _check(self, value: Any) -> Any:
        return str(value)


# --- georeference --------------------------------------------------------------------------


class CrsParameter(Parameter):
    """A coordinate reference system: 'EPSG:27700', 27700, WKT, a PROJ string or a CRS object.

    The validated value is a ``pyproj.CRS``.
    """

    kind = "crs"

    def _check(self, value: Any) -> Any:
        from gis_desk.core.crs import to_crs

        if isinstance(value, str) and value.strip().isdigit():
            value = int(value)
        try:
            return to_crs(value)
        except CrsError as exc:
            raise self.error(f"{value!r} is not a known coordinate reference system",
                             hint="give an EPSG code such as EPSG:27700 (British National Grid) "
                                  "or EPSG:4326 (WGS84)") from exc
        except Exception as exc:  # pyproj raises several types for odd input
            raise self.error(f"{value!r} is not a coordinate reference system ({exc})") from exc


@dataclass(frozen=True)
class Extent:
    """A rectangle (xmin, ymin, xmax, ymax) in ``crs`` (a ``pyproj.CRS``, or None: the layer's)."""

    xmin: float
    ymin: float
    xmax: float
    ymax: float
    crs: Any = None

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        return (self.xmin, self.ymin, self.xmax, self.ymax)

    def polygon_in(self, target_crs: Any, densify: int = 64):
        """The rectangle as a shapely polygon in ``target_crs``; edges are densified first so a
        rectangle in one CRS keeps its true shape (curved edges) in another."""
        import shapely
        from shapely.geometry import box

        from gis_desk.core.crs import same_crs, transformer

        rect = box(*self.bounds)
        if self.crs is None or target_crs is None or same_crs(self.crs, target_crs):
            return rect
        step = max(self.xmax - self.xmin, self.ymax - self.ymin) / densify
        moved = shapely.transform(shapely.segmentize(rect, step), transformer(self.crs, target_crs).transform,
                                  interleaved=False)
        return moved if moved.is_valid else moved.buffer(0)

    def __str__(self) -> str:
        from gis_desk.core.crs import crs_id

        text = ",".join(f"{v:g}" for v in self.bounds)
        return f"{text},{crs_id(self.crs)}" if self.crs is not None else text


class ExtentParameter(Parameter):
    """A rectangle as text 'xmin,ymin,xmax,ymax[,EPSG:n]' (or a 4/5-sequence, or ``Extent``).

    Without a CRS the extent is taken in the CRS of the layer it applies to.
    """

    kind = "extent"

    def _check(self, value: Any) -> Any:
        if isinstance(value, Extent):
            parts: list[Any] = [*value.bounds, value.crs]
        elif isinstance(value, str):
            text = value.replace("[", ",").replace("]", "").replace(";", ",")
            parts = [p.strip() for p in text.split(",") if p.strip()]
        elif isinstance(value, (list, tuple)):
            parts = list(value)
        else:
            raise self.error(f"expected 'xmin,ymin,xmax,ymax[,EPSG:n]', got {value!r}")
        if len(parts) not in (4, 5):
            raise self.error(f"expected 4 numbers and an optional CRS, "
                             f"'xmin,ymin,xmax,ymax[,EPSG:n]', got {value!r}")
        try:
            xmin, ymin, xmax, ymax = (float(p) for p in parts[:4])
        except (TypeError, ValueError):
            raise self.error(f"the first four values must be numbers, got {value!r}") from None
        if not all(math.isfinite(v) for v in (xmin, ymin, xmax, ymax)):
            raise self.error("the extent must be finite")
        if xmin >= xmax or ymin >= ymax:
            raise self.error(f"xmin must be below xmax and ymin below ymax, got {xmin:g},{ymin:g},{xmax:g},{ymax:g}")
        crs = None
        if len(parts) == 5 and parts[4] is not None:
            crs = CrsParameter(self.name, self.label).validate(parts[4])
        return Extent(xmin, ymin, xmax, ymax, crs)


class FieldParameter(Parameter):
    """The name of an attribute field of the layer given in parameter ``parent``.

    ``validate`` checks the text only; ``check_in(frame, value)`` checks the field exists (and
    is numeric when ``numeric_only``) once the layer is loaded.
    """

    kind = "field"

    def __init__(self, name: str, label: str, parent: str, description: str = "", default: Any = None,
                 optional: bool = False, numeric_only: bool = False) -> None:
        super().__init__(name, label, description, default, optional)
        self.parent = parent
        self.numeric_only = bool(numeric_only)

    def _extra(self) -> dict[str, Any]:
        return {"parent": self.parent, "numeric_only": self.numeric_only}

    def _check(self, value: Any) -> Any:
        return str(value).strip()

    def check_in(self, frame, value: str | None) -> str | None:
        """``value`` if it is a field of ``frame`` (of numeric type when required)."""
        if value is None:
            return None
        import pandas as pd

        fields = [c for c in frame.columns if c != frame.geometry.name]
        if value not in fields:
            raise self.error(f"the layer has no field {value!r}",
                             hint=f"fields: {', '.join(fields) or '(none)'}")
        if self.numeric_only and not pd.api.types.is_numeric_dtype(frame[value]):
            numeric = [c for c in fields if pd.api.types.is_numeric_dtype(frame[c])]
            raise self.error(f"field {value!r} is not numeric",
                             hint=f"numeric fields: {', '.join(numeric) or '(none)'}")
        return value


@lru_cache(maxsize=1)
def _temporary_output_folder() -> Path:
    """One folder per process for outputs the user did not name (like QGIS's temporary outputs)."""
    return Path(tempfile.mkdtemp(prefix="gis-desk-outputs-"))


class OutputFileParameter(Parameter):
    """A file to write.  A name without extension gets ``default_extension``; other extensions
    than ``extensions`` are refused; the folder must exist.  When optional and not given, a new
    uniquely named file in a per-process temporary folder is used.  Value: a path (str).
    """

    kind = "output_file"

    def __init__(self, name: str, label: str, description: str = "", default: Any = None,
                 optional: bool = False, extensions: Sequence[str] = (".gpkg",),
                 default_extension: str | None = None) -> None:
        super().__init__(name, label, description, default, optional)
        self.extensions = [e.lower() if e.startswith(".") else "." + e.lower() for e in extensions]
        self.default_extension = (default_extension or self.extensions[0]).lower()

    def _extra(self) -> dict[str, Any]:
        return {"extensions": self.extensions, "default_extension": self.default_extension}

    def validate(self, value: Any) -> Any:
        if _is_missing(value) and self.default is None and self.optional:
            unique = uuid.uuid4().hex[:8]
            return str(_temporary_output_folder() / f"{self.name}_{unique}{self.default_extension}")
        return super().validate(value)

    def _check(self, value: Any) -> Any:
        path = Path(os.path.expanduser(str(value).strip()))
        if not path.suffix:
            path = path.with_suffix(self.default_extension)
        if path.suffix.lower() not in self.extensions:
            raise self.error(f"cannot write {path.suffix!r} files", path=path,
                             hint=f"use one of: {', '.join(self.extensions)}")
        if path.is_dir():
            raise self.error("this is a folder, not a file name", path=path)
        if not path.parent.is_dir():
            raise self.error("the folder does not exist", path=path.parent,
                             hint="create it first or choose another folder")
        return str(path)
