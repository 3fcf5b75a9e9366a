"""Algorithm test cases written as YAML and run by one parametrized test (QGIS-processing style).

A case file (one case per file, or several under a top-level ``cases:`` list)::

    algorithm: builtins.buffer
    description: a point buffered by 10 m
    inputs:                       # files made for the case, then referred to as {name}
      point:
        crs: EPSG:27700
        wkt: ["POINT (380000 395000)"]
        attributes: {name: [a]}   # optional, one list per field
        format: .gpkg             # optional (default .gpkg)
      lsoa:
        real: uk_boundaries/UK-GeoJSON/lsoa11_E08000009_Trafford.geojson   # under the real-data folder
    params:                       # strings may use {tmp}, {real} and the input names
      input: "{point}"
      distance_m: 10
      output: "{tmp}/out.gpkg"
    expected:                     # per output; vector outputs get file checks
      count: 1
      output:
        count: 1
        crs: EPSG:27700
        geometry_type: Polygon
        fields: [name]
        measure_crs: EPSG:27700                 # optional: measure the next four after reprojecting
        area: {value: 312.14, rel: 0.001}       # total area, in CRS units
        length: {min: 0}                        # total length (perimeter for polygons)
        bounds: {value: [379990, 394990, 380010, 395010], abs: 0.001}
        inside: [379000, 394000, 381000, 396000]   # every feature within this rectangle
        valid: true
        values: {name: [a]}                      # field values in feature order
    expected_error: {type: ParameterError, contains: distance_m}   # instead of expected

Numbers compare exactly (to 1e-9) unless given as ``{value, rel}``, ``{value, abs}`` or
``{min, max}``.  Plugins reuse this module for their own case folders.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gis_desk.processing.feedback import Feedback


@dataclass
class AlgorithmCase:
    """One case: what to run and what to expect (see the module docstring for the format)."""

    name: str
    path: Path
    algorithm: str
    params: dict[str, Any]
    inputs: dict[str, dict[str, Any]] = field(default_factory=dict)
    expected: dict[str, Any] = field(default_factory=dict)
    expected_error: dict[str, Any] | None = None
    description: str = ""

    @property
    def needs_real_data(self) -> bool:
        """True when an input or parameter refers to the shared real-data folder."""
        return any("real" in spec for spec in self.inputs.values()) or "{real}" in repr(self.params)

    def __str__(self) -> str:  # readable pytest ids
        return self.name


def load_cases(folder: str | Path) -> list[AlgorithmCase]:
    """Every case in ``folder/*.yaml``, sorted by file name; raises ``ValueError`` naming the
    file for a case without ``algorithm`` or ``params`` or with neither expectation."""
    import yaml

    cases: list[AlgorithmCase] = []
    for path in sorted(Path(folder).glob("*.yaml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        entries = data["cases"] if isinstance(data, dict) and "cases" in data else [data]
        for i, entry in enumerate(entries):
            name = entry.get("name") or (path.stem if len(entries) == 1 else f"{path.stem}[{i}]")
            missing = [k for k in ("algorithm", "params") if k not in entry]
            if missing or ("expected" not in entry and "expected_error" not in entry):
                raise ValueError(f"{path}: case {name!r} needs algorithm, params and expected or "
                                 f"expected_error (missing: {', '.join(missing) or 'expectations'})")
            cases.append(AlgorithmCase(
                name=name, path=path, algorithm=entry["algorithm"], params=dict(entry["params"]),
                inputs=dict(entry.get("inputs") or {}), expected=dict(entry.get("expected") or {}),
                expected_error=entry.get("expected_error"), description=str(entry.get("description", "")),
            ))
    return cases


# --- preparing and running -----------------------------------------------------------------


def make_input(name: str, spec: dict[str, Any], folder: Path, real_data: Path | None) -> str:
    """Create (synthetic) or locate (``real``) one input file; returns its path."""
    if "real" in spec:
        if real_data is None:
            raise ValueError(f"input {name!r} needs the real-data folder")
        path = Path(real_data) / spec["real"]
        if not path.exists():
            raise FileNotFoundError(f"input {name!r}: {path} does not exist")
        return str(path)
    import geopandas as gpd
    from shapely import wkt

    from gis_desk.processing.algorithm import write_vector_output

    geoms = [wkt.loads(text) for text in spec["wkt"]]
    frame = gpd.GeoDataFrame(dict(spec.get("attributes") or {}), geometry=geoms, crs=spec.get("crs"))
    return write_vector_output(frame, folder / f"{name}{spec.get('format', '.gpkg')}")


def _substitute(value: Any, names: dict[str, str]) -> Any:
    if isinstance(value, str):
        return value.format_map(names)
    if isinstance(value, list):
        return [_substitute(v, names) for v in value]
    return value


def run_case(case: AlgorithmCase, plugins, tmp_path: str | Path, real_data: str | Path | None = None) -> dict:
    """Prepare the inputs, run the algorithm and check the expectations.

    Returns the outputs (or ``{}`` for an expected error).  Raises ``AssertionError`` naming
    the case file when an expectation fails.
    """
    from gis_desk.processing.registry import create_algorithm
    from gis_desk.processing.run import run_algorithm

    tmp_path = Path(tmp_path)
    names = {"tmp": str(tmp_path), "real": str(real_data) if real_data else "{real}"}
    for name, spec in case.inputs.items():
        names[name] = make_input(name, spec, tmp_path, Path(real_data) if real_data else None)
    params = {key: _substitute(value, names) for key, value in case.params.items()}
    algorithm = create_algorithm(plugins, case.algorithm)
    if case.expected_error:
        return _expect_error(case, lambda: run_algorithm(algorithm, params, Feedback()))
    outputs = run_algorithm(algorithm, params, Feedback())
    check_outputs(case, algorithm, outputs)
    return outputs


def _expect_error(case: AlgorithmCase, call) -> dict:
    import gis_desk.errors as errors

    wanted = case.expected_error or {}
    kind = getattr(errors, wanted.get("type", "GisDeskError"))
    try:
        call()
    except kind as exc:
        text = wanted.get("contains")
        if text and text.lower() not in str(exc).lower():
            raise AssertionError(f"{case.path}: error {str(exc)!r} does not mention {text!r}") from exc
        return {}
    raise AssertionError(f"{case.path}: expected {kind.__name__}, but the algorithm succeeded")


# --- checking ------------------------------------------------------------------------------


def check_outputs(case: AlgorithmCase, algorithm, outputs: dict[str, Any]) -> None:
    """Compare ``outputs`` with ``case.expected``; vector outputs are opened and measured."""
    kinds = {o.name: o.kind for o in algorithm.outputs()}
    for name, expected in case.expected.items():
        where = f"{case.path.name}: output {name!r}"
        if name not in outputs:
            raise AssertionError(f"{where} is missing (outputs: {', '.join(outputs)})")
        if kinds.get(name) == "vector" and isinstance(expected, dict):
            check_vector_file(outputs[name], expected, where)
        else:
            check_value(outputs[name], expected, where)


def check_value(actual: Any, expected: Any, where: str) -> None:
    """Exact equality, number tolerance (``{value, rel|abs}``) or range (``{min, max}``)."""
    if isinstance(expected, dict) and ({"min", "max"} & set(expected)):
        if "min" in expected and actual < expected["min"]:
            raise AssertionError(f"{where}: {actual} is below the minimum {expected['min']}")
        if "max" in expected and actual > expected["max"]:
            raise AssertionError(f"{where}: {actual} is above the maximum {expected['max']}")
        return
    if isinstance(expected, dict) and "value" in expected:
        target, rel, tol = expected["value"], expected.get("rel", 0.0), expected.get("abs", 0.0)
        pairs = zip(actual, target) if isinstance(target, list) else [(actual, target)]
        if isinstance(target, list) and len(actual) != len(target):
            raise AssertionError(f"{where}: {actual} has {len(actual)} values, expected {len(target)}")
        for a, t in pairs:
            if not math.isclose(float(a), float(t), rel_tol=rel or 1e-9, abs_tol=tol or 1e-9):
                raise AssertionError(f"{where}: {actual} differs from {target} (rel {rel}, abs {tol})")
        return
    if isinstance(expected, float) or (isinstance(expected, int) and isinstance(actual, float)):
        if not math.isclose(float(actual), float(expected), rel_tol=1e-9, abs_tol=1e-9):
            raise AssertionError(f"{where}: {actual} != {expected}")
        return
    if actual != expected:
        raise AssertionError(f"{where}: {actual!r} != {expected!r}")


def check_vector_file(path: str, checks: dict[str, Any], where: str) -> None:
    """Open the vector file at ``path`` and apply ``checks`` (see the module docstring)."""
    import geopandas as gpd

    from gis_desk.core.crs import crs_id, to_crs

    frame = gpd.read_file(path)
    known = {"count", "crs", "geometry_type", "fields", "area", "length", "measure_crs", "bounds",
             "inside", "valid", "values"}
    unknown = set(checks) - known
    if unknown:
        raise AssertionError(f"{where}: unknown checks {sorted(unknown)} (known: {sorted(known)})")
    if "count" in checks:
        check_value(len(frame), checks["count"], f"{where} feature count")
    if "crs" in checks:
        check_value(crs_id(frame.crs), crs_id(to_crs(checks["crs"])), f"{where} CRS")
    if "geometry_type" in checks:
        types = sorted({t.replace("Multi", "") for t in frame.geom_type.dropna().unique()})
        check_value(types, [checks["geometry_type"]], f"{where} geometry types")
    if "fields" in checks:
        missing = [f for f in checks["fields"] if f not in frame.columns]
        if missing:
            raise AssertionError(f"{where}: fields {missing} missing (has {list(frame.columns)})")
    measured = frame.to_crs(checks["measure_crs"]) if "measure_crs" in checks else frame
    if "area" in checks:
        check_value(float(measured.area.sum()), checks["area"], f"{where} total area")
    if "length" in checks:
        check_value(float(measured.length.sum()), checks["length"], f"{where} total length")
    if "bounds" in checks:
        check_value([float(v) for v in measured.total_bounds], checks["bounds"], f"{where} bounds")
    if "inside" in checks and len(frame):
        xmin, ymin, xmax, ymax = measured.total_bounds
        bx0, by0, bx1, by1 = checks["inside"]
        if xmin < bx0 or ymin < by0 or xmax > bx1 or ymax > by1:
            raise AssertionError(f"{where}: bounds {list(measured.total_bounds)} not inside {checks['inside']}")
    if checks.get("valid"):
        invalid = int((~frame.is_valid).sum())
        if invalid:
            raise AssertionError(f"{where}: {invalid} invalid geometries")
    for name, values in (checks.get("values") or {}).items():
        check_value(frame[name].tolist(), values, f"{where} values of {name!r}")
