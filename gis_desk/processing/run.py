"""Run an algorithm: check and complete its parameters, run it, keep errors typed.

The GUI (in a worker thread), the CLI, the session and the tests all call ``run_algorithm``.
"""

from __future__ import annotations

import traceback
from typing import Any, Mapping

from gis_desk.errors import AlgorithmError, CanceledError, GisDeskError, ParameterError
from gis_desk.processing.algorithm import Algorithm
from gis_desk.processing.feedback import Feedback
from gis_desk.processing.parameters import VectorLayerParameter


def validate_parameters(algorithm: Algorithm, params: Mapping[str, Any]) -> dict[str, Any]:
    """Every declared parameter checked, defaults filled in (absent optional ones -> None).

    Raises ``ParameterError`` for a name the algorithm does not declare (listing those it
    does) and for the first missing or invalid value.
    """
    declared = algorithm.parameters()
    names = [p.name for p in declared]
    unknown = [key for key in params if key not in names]
    if unknown:
        raise ParameterError(f"{algorithm.id} has no parameter {', '.join(repr(k) for k in unknown)}",
                             hint=f"its parameters are: {', '.join(names)}")
    return {p.name: p.validate(params.get(p.name)) for p in declared}


def _open_inputs_with_crs(algorithm: Algorithm, values: dict[str, Any], input_crs: Any) -> None:
    """Read vector file inputs now so ``input_crs`` applies to files that have no CRS."""
    for param in algorithm.parameters():
        value = values.get(param.name)
        if isinstance(param, VectorLayerParameter) and isinstance(value, str):
            values[param.name] = param.load(value, crs=input_crs)


def run_algorithm(algorithm: Algorithm, params: Mapping[str, Any], feedback: Feedback | None = None,
                  *, input_crs: Any = None) -> dict[str, Any]:
    """Validate ``params``, run ``algorithm`` and return its outputs dict.

    ``input_crs`` (e.g. 'EPSG:27700') is assumed for vector input files that have no CRS;
    without it such files raise ``MissingCrsError``.  ``ParameterError``, ``CanceledError``
    and every other ``GisDeskError`` pass through unchanged; any other exception is wrapped
    in ``AlgorithmError`` whose ``details`` hold the traceback.  Progress reaches 100 on
    success.
    """
    feedback = feedback if feedback is not None else Feedback()
    values = validate_parameters(algorithm, params)
    try:
        if input_crs is not None:
            _open_inputs_with_crs(algorithm, values, input_crs)
        feedback.check_canceled()
        outputs = algorithm.run(values, feedback)
    except (CanceledError, GisDeskError):
        raise
    except Exception as exc:
        raise AlgorithmError(f"{algorithm.display_name or algorithm.id} failed: {type(exc).__name__}: {exc}",
                             hint="this is likely a bug; the details hold the traceback",
                             details=traceback.format_exc()) from exc
    if not isinstance(outputs, dict):
        raise AlgorithmError(f"{algorithm.id} returned {type(outputs).__name__} instead of a dict of outputs")
    feedback.set_progress(100.0)
    return outputs
