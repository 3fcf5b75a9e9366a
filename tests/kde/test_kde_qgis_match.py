"""The fast heat map against slow, independent implementations of QGIS's formula (and of the
exact definition): same grid, same nodata cells, same reach counts, values within 1e-4 of the
raster's maximum."""

import math

import numpy as np
import pytest
from qgis_reference import NO_DATA, exact_heatmap, qgis_heatmap, qgis_kernel

from gis_desk.analysis.kde import kde, kernel_value

ORIGIN = np.array([383_000.0, 396_000.0])  # Trafford, British National Grid


def _assert_same(result, reference, counts, origin, rel=1e-4):
    assert result.array.shape == reference.shape
    assert result.array.dtype == np.float32
    assert (result.transform.c, result.transform.f) == pytest.approx(origin, abs=1e-9)
    ours_nodata = result.array == NO_DATA
    ref_nodata = reference == NO_DATA
    np.testing.assert_array_equal(ours_nodata, ref_nodata)
    np.testing.assert_array_equal(result.counts, counts)
    valid = ~ref_nodata
    peak = np.abs(reference[valid]).max()
    worst = np.abs(result.array[valid].astype(float) - reference[valid].astype(float)).max()
    assert worst <= rel * peak, f"max difference {worst:g} vs peak {peak:g}"


def _random_points(seed, n, size):
    rng = np.random.default_rng(seed)
    return ORIGIN + rng.uniform(0, size, (n, 2))


CASES = {
    # name: (points, weights, radius, pixel, kernel, scaled, decay)
    "quartic raw": (_random_points(1, 150, 300), None, 50.0, 10.0, "quartic", False, 0.0),
    "quartic scaled, weights": (_random_points(2, 120, 250), np.random.default_rng(2).uniform(-1, 5, 120),
                                40.0, 10.0, "quartic", True, 0.0),
    "odd pixel size": (_random_points(3, 100, 200), None, 33.0, 7.3, "quartic", False, 0.0),
    "block cuts the disk (remainder <= 0.5 map units)": (_random_points(4, 100, 200), None, 50.3, 10.0,
                                                          "quartic", False, 0.0),
    "tiny radius rounded up": (_random_points(5, 200, 200), None, 3.0, 10.0, "epanechnikov", False, 0.0),
    "radius under half a pixel": (_random_points(6, 200, 40), None, 0.4, 1.0, "uniform", False, 0.0),
    "large radius": (_random_points(7, 12, 600), np.arange(1, 13, dtype=float), 400.0, 10.0, "triweight",
                     True, 0.0),
    "triangular decay": (_random_points(8, 100, 200), None, 45.0, 10.0, "triangular", True, 0.5),
    "triangular negative decay": (_random_points(9, 100, 200), None, 45.0, 10.0, "triangular", True, -0.5),
    "uniform scaled": (_random_points(10, 100, 200), None, 30.0, 10.0, "uniform", True, 0.0),
    "epanechnikov scaled": (_random_points(11, 100, 200), None, 30.0, 5.0, "epanechnikov", True, 0.0),
}


@pytest.mark.parametrize("name", list(CASES))
def test_matches_qgis_formula(name):
    points, weights, radius, pixel, kernel, scaled, decay = CASES[name]
    reference, counts, origin = qgis_heatmap(points, weights, radius, pixel, kernel, scaled, decay)
    result = kde(points, radius, pixel, weights=weights, kernel=kernel, decay=decay,
                 output_values="scaled" if scaled else "raw", return_counts=True)
    assert result.params["qgis_compatible"] is True
    _assert_same(result, reference, counts, origin)


def test_points_on_cell_edges_centres_and_duplicates():
    """Points exactly on cell edges, corners and centres put cell centres exactly at d = r:
    QGIS reaches them (value 0, not nodata); duplicates count once each."""
    rng = np.random.default_rng(12)
    grid_steps = rng.integers(0, 40, (150, 2)) * 5.0  # multiples of half a pixel
    points = np.vstack([ORIGIN + grid_steps, ORIGIN + grid_steps[:10]])
    for radius in (30.0, 25.0, 50.0):
        reference, counts, origin = qgis_heatmap(points, None, radius, 10.0, "quartic", False)
        result = kde(points, radius, 10.0, return_counts=True)
        _assert_same(result, reference, counts, origin)
        # cells reached exactly at the radius carry 0, not nodata
        assert np.any(result.array == 0.0)


def test_quirk_mirrors_point_within_its_cell():
    """A point a quarter pixel below a row's top edge: QGIS centres its kernel a quarter pixel
    above that row's bottom edge instead, i.e. mirrors the stamp in y about the row."""
    x0, y0 = ORIGIN
    points = np.array([[x0, y0], [x0, y0 - 300.0], [x0 + 200.0, y0 - 102.5]])  # the last: row 15.25
    qgis = kde(points, 50.0, 10.0)
    exact = kde(points, 50.0, 10.0, qgis_compatible=False)
    assert qgis.array.shape == exact.array.shape == (41, 31)
    cols = slice(19, 31)  # around x0 + 200: columns 20 to 29
    ours = qgis.array[9:22, cols]
    mirrored = exact.array[21:8:-1, cols]  # rows 15 + k <-> 15 - k
    assert not np.allclose(ours, exact.array[9:22, cols])
    np.testing.assert_allclose(ours, mirrored, rtol=1e-6, atol=1e-7)
    reference, _, _ = qgis_heatmap(points, None, 50.0, 10.0)
    np.testing.assert_allclose(qgis.array, reference, rtol=1e-6)


@pytest.mark.parametrize("kernel", ["quartic", "triangular", "uniform", "triweight", "epanechnikov"])
def test_exact_mode_against_exact_direct(kernel):
    points = _random_points(20, 80, 250)
    weights = np.random.default_rng(21).uniform(0.5, 2, 80)
    radius = 37.0
    reference, counts, origin = exact_heatmap(
        points, weights, radius, 6.0, lambda d: np.array([qgis_kernel(v, radius, kernel, True) for v in d]))
    result = kde(points, radius, 6.0, weights=weights, kernel=kernel, output_values="scaled",
                 qgis_compatible=False, return_counts=True)
    assert result.params["qgis_compatible"] is False
    _assert_same(result, reference, counts, origin)


def test_gaussian_exact_and_integrates_to_weight():
    points = _random_points(30, 60, 400)
    weights = np.random.default_rng(31).uniform(1, 3, 60)
    sigma, pixel = 20.0, 5.0
    result = kde(points, sigma, pixel, weights=weights, kernel="gaussian", output_values="scaled",
                 return_counts=True)
    assert result.params["qgis_compatible"] is False
    assert result.params["reach_m"] == 4 * sigma
    norm = 1.0 / (2 * math.pi * sigma ** 2 * (1 - math.exp(-8)))
    reference, counts, origin = exact_heatmap(points, weights, sigma, pixel,
                                              lambda d: norm * np.exp(-0.5 * (d / sigma) ** 2), reach=4 * sigma)
    _assert_same(result, reference, counts, origin)
    valid = result.array != NO_DATA
    integral = result.array[valid].astype(float).sum() * pixel ** 2
    assert integral == pytest.approx(weights.sum(), rel=0.01)


def test_single_point_peak_and_profile():
    """A point at a cell centre: the peak is w, and values follow the kernel by distance."""
    point = np.array([[ORIGIN[0], ORIGIN[1]]])
    result = kde(point, 100.0, 10.0, weights=[3.0])
    arr = result.array
    row, col = np.unravel_index(np.argmax(arr), arr.shape)
    assert arr[row, col] == pytest.approx(3.0 * kernel_value(5 * math.sqrt(2), 100.0), rel=1e-6)
    t = result.transform
    cx = t.c + (np.arange(arr.shape[1]) + 0.5) * t.a
    cy = t.f + (np.arange(arr.shape[0]) + 0.5) * t.e
    # with the extent grown by 100 m on a 10 m grid the point sits on a cell corner; QGIS's
    # mirror keeps a corner a corner, so the exact profile applies
    d = np.hypot(cx[None, :] - point[0, 0], cy[:, None] - point[0, 1])
    expected = np.where(d <= 100.0, 3.0 * kernel_value(d, 100.0), NO_DATA)
    np.testing.assert_allclose(arr, expected, rtol=1e-6, atol=1e-6)
