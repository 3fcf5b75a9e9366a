"""Run every YAML case in tests/processing/cases through one parametrized test."""

from pathlib import Path

import pytest

from gis_desk.plugin_api.manager import PluginManager
from gis_desk.processing.testcases import load_cases, run_case

CASES = load_cases(Path(__file__).parent / "cases")


@pytest.fixture(scope="module")
def plugins():
    return PluginManager.from_entry_points(disabled=set())


@pytest.mark.parametrize("case", CASES, ids=str)
def test_algorithm_case(case, plugins, tmp_path, request):
    # a case with no expectation would pass whatever the algorithm did
    assert case.expected or case.expected_error, f"{case.path} declares nothing to check"
    real = request.getfixturevalue("real_data") if case.needs_real_data else None
    outputs = run_case(case, plugins, tmp_path, real)  # raises AssertionError naming the case on a mismatch
    assert case.expected_error or set(case.expected) <= set(outputs)


def test_cases_were_found():
    assert len(CASES) >= 10
    assert {c.algorithm for c in CASES} >= {"builtins.buffer", "builtins.clip", "builtins.reproject"}
