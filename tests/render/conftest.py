"""Fixtures of the render tests."""

import pytest
from affine import Affine


@pytest.fixture
def grid_transform():
    """1 m cells, top-left corner at (0, 100) in BNG."""
    return Affine(1.0, 0.0, 0.0, 0.0, -1.0, 100.0)
